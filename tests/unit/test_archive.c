/* test_archive.c - member names, reading zip members and wheel METADATA
 *
 * The zips are built here with libarchive (or byte by byte, for what a zip
 * writer will not produce), in memory and on disk.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "archive.h"
#include "util/buf.h"
#include "spec/metadata.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- building zips ---- */

struct zent {
	const char *name;
	const char *data; /* NULL: "" */
	size_t len;       /* 0: strlen(data) */
	unsigned type;    /* 0: a regular file; AE_IFLNK, AE_IFDIR */
};

static la_ssize_t to_buf(struct archive *ar, void *client, const void *data, size_t n)
{
	(void)ar;
	struct em_buf *b = client;
	em_buf_add(b, data, n);
	return b->err ? -1 : (la_ssize_t)n;
}

static void make_zip(struct em_buf *out, const struct zent *ents, size_t n)
{
	em_buf_reset(out);
	struct archive *ar = archive_write_new();
	assert_non_null(ar);
	assert_int_equal(archive_write_set_format_zip(ar), ARCHIVE_OK);
	assert_int_equal(archive_write_set_bytes_per_block(ar, 0), ARCHIVE_OK);
	assert_int_equal(archive_write_open(ar, out, NULL, to_buf, NULL), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		const char *data = ents[i].data ? ents[i].data : "";
		size_t len = ents[i].len ? ents[i].len : strlen(data);
		struct archive_entry *ent = archive_entry_new();
		archive_entry_set_pathname(ent, ents[i].name);
		archive_entry_set_filetype(ent, ents[i].type ? ents[i].type : AE_IFREG);
		archive_entry_set_perm(ent, 0644);
		archive_entry_set_mtime(ent, 1735689600, 0);
		if (ents[i].type == AE_IFLNK) {
			archive_entry_set_symlink(ent, data);
			len = 0;
		}
		if (ents[i].type == AE_IFDIR)
			len = 0;
		archive_entry_set_size(ent, (la_int64_t)len);
		assert_int_equal(archive_write_header(ar, ent), ARCHIVE_OK);
		if (len)
			assert_int_equal(archive_write_data(ar, data, len), (la_ssize_t)len);
		archive_entry_free(ent);
	}
	assert_int_equal(archive_write_close(ar), ARCHIVE_OK);
	archive_write_free(ar);
	assert_int_equal(out->err, 0);
}

static void le16(struct em_buf *b, unsigned v)
{
	em_buf_addc(b, (char)(v & 0xff));
	em_buf_addc(b, (char)(v >> 8 & 0xff));
}

static void le32(struct em_buf *b, uint32_t v)
{
	le16(b, v & 0xffff);
	le16(b, v >> 16);
}

/* A one-member zip written by hand: method 8 (deflate) with the given
 * compressed bytes, and whatever sizes and CRC the caller claims. */
static void craft_zip(struct em_buf *b, const char *name, const void *cdata, uint32_t csize,
		      uint32_t usize, uint32_t crc)
{
	em_buf_reset(b);
	size_t nl = strlen(name);
	le32(b, 0x04034b50); /* local file header */
	le16(b, 20);         /* version needed */
	le16(b, 0);          /* flags */
	le16(b, 8);          /* deflate */
	le16(b, 0);          /* time */
	le16(b, 0x5a21);     /* date */
	le32(b, crc);
	le32(b, csize);
	le32(b, usize);
	le16(b, (unsigned)nl);
	le16(b, 0);
	em_buf_add(b, name, nl);
	em_buf_add(b, cdata, csize);
	uint32_t cd = (uint32_t)b->len;
	le32(b, 0x02014b50); /* central directory header */
	le16(b, 0x031e);     /* made by: unix */
	le16(b, 20);
	le16(b, 0);
	le16(b, 8);
	le16(b, 0);
	le16(b, 0x5a21);
	le32(b, crc);
	le32(b, csize);
	le32(b, usize);
	le16(b, (unsigned)nl);
	le16(b, 0); /* extra */
	le16(b, 0); /* comment */
	le16(b, 0); /* disk */
	le16(b, 0); /* internal attributes */
	le32(b, 0100644u << 16);
	le32(b, 0); /* local header offset */
	em_buf_add(b, name, nl);
	uint32_t cdlen = (uint32_t)b->len - cd;
	le32(b, 0x06054b50); /* end of central directory */
	le16(b, 0);
	le16(b, 0);
	le16(b, 1);
	le16(b, 1);
	le32(b, cdlen);
	le32(b, cd);
	le16(b, 0);
	assert_int_equal(b->err, 0);
}

struct fixture {
	struct em_arena a;
	struct em_buf zip;
	struct em_error e;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	if (!f)
		return -1;
	em_arena_init(&f->a);
	em_buf_init(&f->zip, 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	em_arena_release(&f->a);
	em_buf_release(&f->zip);
	free(f);
	return 0;
}

static int read_mem(struct fixture *f, const char *member, size_t max, char **out, size_t *len)
{
	em_error_clear(&f->e);
	return em_zip_read_member_mem(&f->a, f->zip.ptr, f->zip.len, "test.zip", member, max, out,
				      len, &f->e);
}

static int wheel_mem(struct fixture *f, const char *wheel, char **out, size_t *len)
{
	em_error_clear(&f->e);
	return em_wheel_read_metadata_mem(&f->a, f->zip.ptr, f->zip.len, wheel, out, len, &f->e);
}

/* ---- names ---- */

static void test_check_name(void **state)
{
	(void)state;
	static const char *const good[] = {
		"a", "a/b", "a/b/", "pkg/__init__.py", "demo-1.0.dist-info/METADATA",
		"demo-1.0.data/scripts/run", "a/.hidden", "a/..b", "a/b..", "..a", "a.", ". a",
		"caf\xc3\xa9/x.txt", "a b/c d", "ab:c", "x/C:", "a/b/c/d/e/f/",
	};
	static const struct {
		const char *name;
		size_t n; /* 0: strlen */
		const char *why;
	} bad[] = {
		{ "/etc/passwd", 0, "absolute" },
		{ "/", 0, "absolute" },
		{ "//server/share/x", 0, "absolute" },
		{ "../x", 0, "'..'" },
		{ "..", 0, "'..'" },
		{ "../", 0, "'..'" },
		{ "a/../b", 0, "'..'" },
		{ "a/..", 0, "'..'" },
		{ "a/../", 0, "'..'" },
		{ "../../etc/passwd", 0, "'..'" },
		{ "C:\\Windows\\x", 0, "backslash" },
		{ "C:/Windows/x", 0, "drive letter" },
		{ "c:x", 0, "drive letter" },
		{ "z:", 0, "drive letter" },
		{ "a:b", 0, "drive letter" },
		{ "a\\b", 0, "backslash" },
		{ "..\\..\\evil", 0, "backslash" },
		{ "a//b", 0, "empty" },
		{ "a//", 0, "empty" },
		{ "a/./b", 0, "'.'" },
		{ "./a", 0, "'.'" },
		{ ".", 0, "'.'" },
		{ "a/...", 0, "dots and spaces" },
		{ "a/.. /b", 0, "dots and spaces" },
		{ " ", 0, "dots and spaces" },
		{ "a\0b", 3, "NUL" },
		{ "a/\0", 3, "NUL" },
	};
	struct em_error e;
	for (size_t i = 0; i < COUNT(good); i++) {
		em_error_clear(&e);
		int rc = em_archive_check_name(good[i], strlen(good[i]), &e);
		if (rc)
			fail_msg("'%s' rejected: %s", good[i], e.msg);
	}
	for (size_t i = 0; i < COUNT(bad); i++) {
		size_t n = bad[i].n ? bad[i].n : strlen(bad[i].name);
		em_error_clear(&e);
		int rc = em_archive_check_name(bad[i].name, n, &e);
		if (rc != EM_EINVAL || !strstr(e.msg, bad[i].why) ||
		    strncmp(e.msg, "unsafe member name '", 20))
			fail_msg("entry %zu: rc %d, message '%s' (want '%s')", i, rc, e.msg,
				 bad[i].why);
		assert_null(memchr(e.msg, '\0', strlen(e.msg))); /* no raw NUL shown */
	}
	/* the NUL is shown escaped */
	EM_IGNORE(em_archive_check_name("a\0b", 3, &e)); /* only the message is checked */
	assert_non_null(strstr(e.msg, "'a\\x00b'"));

	em_error_clear(&e);
	assert_int_equal(em_archive_check_name("", 0, &e), EM_EINVAL);
	assert_string_equal(e.msg, "empty member name");

	char *longname = malloc(EM_ARCHIVE_MAX_MEMBER_NAME + 2);
	assert_non_null(longname);
	memset(longname, 'x', EM_ARCHIVE_MAX_MEMBER_NAME + 1);
	longname[EM_ARCHIVE_MAX_MEMBER_NAME + 1] = '\0';
	assert_int_equal(em_archive_check_name(longname, EM_ARCHIVE_MAX_MEMBER_NAME, &e), 0);
	assert_int_equal(em_archive_check_name(longname, EM_ARCHIVE_MAX_MEMBER_NAME + 1, &e),
			 EM_ELIMIT);
	assert_non_null(strstr(e.msg, "longer than 4096 bytes"));
	free(longname);
	assert_int_equal(em_archive_check_name("/x", 2, NULL), EM_EINVAL);
}

/* ---- members ---- */

/* link targets read from the member's folder: inside the tree or not */
static void test_link_inside(void **state)
{
	(void)state;
	assert_true(em_archive_link_inside("a", "b"));
	assert_true(em_archive_link_inside("d/a", "../b"));
	assert_true(em_archive_link_inside("d/e/a", "./../../b"));
	assert_true(em_archive_link_inside("d/a", "x/../../b"));
	assert_false(em_archive_link_inside("a", "../b"));
	assert_false(em_archive_link_inside("d/a", "../../b"));
	assert_false(em_archive_link_inside("d/a", "x/../../../b"));
	assert_false(em_archive_link_inside("a", "/etc/passwd"));
	assert_false(em_archive_link_inside("a", "C:/x"));
	assert_false(em_archive_link_inside("a", "x\\..\\..\\y"));
	assert_false(em_archive_link_inside("a", ""));
}

static void test_read_member(void **state)
{
	struct fixture *f = *state;
	static const char bin[] = { 'a', '\0', 'b', '\n', '\xff' };
	const struct zent ents[] = {
		{ "pkg/__init__.py", "print('hi')\n", 0, 0 },
		{ "pkg/", NULL, 0, AE_IFDIR },
		{ "pkg/data.bin", bin, sizeof bin, 0 },
		{ "pkg/empty.txt", "", 0, 0 },
		{ "caf\xc3\xa9/x.txt", "utf-8 name", 0, 0 },
		{ "pkg/link", "__init__.py", 0, AE_IFLNK },
	};
	make_zip(&f->zip, ents, COUNT(ents));
	char *out;
	size_t len;
	assert_int_equal(read_mem(f, "pkg/__init__.py", 1 << 20, &out, &len), 0);
	assert_int_equal(len, 12);
	assert_string_equal(out, "print('hi')\n");
	assert_int_equal(read_mem(f, "pkg/data.bin", 1 << 20, &out, &len), 0);
	assert_int_equal(len, sizeof bin);
	assert_memory_equal(out, bin, sizeof bin);
	assert_int_equal(out[len], '\0');
	assert_int_equal(read_mem(f, "pkg/empty.txt", 0, &out, &len), 0);
	assert_int_equal(len, 0);
	assert_string_equal(out, "");
	/* a non-ASCII name, whatever the locale */
	assert_int_equal(read_mem(f, "caf\xc3\xa9/x.txt", 100, &out, &len), 0);
	assert_string_equal(out, "utf-8 name");

	/* exactly max is fine, one byte less is a limit */
	assert_int_equal(read_mem(f, "pkg/__init__.py", 12, &out, &len), 0);
	assert_int_equal(read_mem(f, "pkg/__init__.py", 11, &out, &len), EM_ELIMIT);
	assert_string_equal(f->e.where, "test.zip");
	assert_non_null(strstr(f->e.msg, "'pkg/__init__.py' is larger than 11 bytes"));

	assert_int_equal(read_mem(f, "pkg/missing.py", 100, &out, &len), EM_ENOTFOUND);
	assert_string_equal(f->e.msg, "no member 'pkg/missing.py'");
	assert_null(out);
	assert_int_equal(len, 0);
	assert_int_equal(read_mem(f, "pkg", 100, &out, &len), EM_ENOTFOUND);
	assert_int_equal(read_mem(f, "pkg/", 100, &out, &len), EM_EINVAL);
	assert_non_null(strstr(f->e.msg, "not a regular file"));
	assert_int_equal(read_mem(f, "pkg/link", 100, &out, &len), EM_EINVAL);
	assert_non_null(strstr(f->e.msg, "'pkg/link' is not a regular file"));
	assert_int_equal(read_mem(f, NULL, 100, &out, &len), EM_EUSAGE);
}

static void test_read_member_file(void **state)
{
	struct fixture *f = *state;
	const struct zent ents[] = { { "a/b.txt", "from a file", 0, 0 } };
	make_zip(&f->zip, ents, COUNT(ents));
	char path[] = "/tmp/envmatrix-zip-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, f->zip.ptr, f->zip.len), (ssize_t)f->zip.len);
	close(fd);
	char *out;
	size_t len;
	struct em_error e;
	assert_int_equal(em_zip_read_member(&f->a, path, "a/b.txt", 100, &out, &len, &e), 0);
	assert_string_equal(out, "from a file");
	assert_int_equal(em_zip_read_member(&f->a, path, "a/c.txt", 100, &out, &len, &e),
			 EM_ENOTFOUND);
	assert_string_equal(e.where, path);
	unlink(path);
	assert_int_equal(em_zip_read_member(&f->a, path, "a/b.txt", 100, &out, &len, &e),
			 EM_ENOTFOUND);
	assert_string_equal(e.msg, "no such file");
	assert_int_equal(em_zip_read_member(&f->a, "/tmp", "a/b.txt", 100, &out, &len, &e),
			 EM_EINVAL);
	assert_string_equal(e.msg, "not a regular file");
}

static void test_unsafe_members(void **state)
{
	struct fixture *f = *state;
	char *out;
	size_t len;
	/* a traversal name anywhere fails the whole archive, also when the
	 * member asked for comes first */
	const struct zent evil[] = {
		{ "demo-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n",
		  0, 0 },
		{ "../../etc/passwd", "root::0:0::/:/bin/sh\n", 0, 0 },
	};
	make_zip(&f->zip, evil, COUNT(evil));
	assert_int_equal(read_mem(f, "../../etc/passwd", 1000, &out, &len), EM_EINVAL);
	assert_string_equal(f->e.where, "test.zip");
	assert_non_null(strstr(f->e.msg, "unsafe member name '../../etc/passwd'"));
	assert_int_equal(read_mem(f, "demo-1.0.dist-info/METADATA", 1000, &out, &len), EM_EINVAL);
	assert_int_equal(wheel_mem(f, "demo-1.0-py3-none-any.whl", &out, &len), EM_EINVAL);
	assert_string_equal(f->e.where, "demo-1.0-py3-none-any.whl");
	assert_non_null(strstr(f->e.msg, "'..' segment"));

	static const char *const names[] = { "/etc/passwd", "a/../../x", "C:/x.txt", "a//b",
					     "./x" };
	for (size_t i = 0; i < COUNT(names); i++) {
		const struct zent one[] = { { "ok.txt", "ok", 0, 0 }, { names[i], "x", 0, 0 } };
		make_zip(&f->zip, one, COUNT(one));
		int rc = read_mem(f, "ok.txt", 100, &out, &len);
		if (rc != EM_EINVAL || !strstr(f->e.msg, "unsafe member name"))
			fail_msg("'%s': rc %d, '%s'", names[i], rc, f->e.msg);
	}
	/* libarchive turns backslashes into '/', so "..\..\x" is caught as '..' */
	const struct zent bs[] = { { "..\\..\\x.txt", "x", 0, 0 } };
	make_zip(&f->zip, bs, COUNT(bs));
	assert_int_equal(read_mem(f, "x.txt", 100, &out, &len), EM_EINVAL);
	assert_non_null(strstr(f->e.msg, "unsafe member name"));

	/* the same name twice: which one a reader takes is up to the reader */
	const struct zent dup[] = { { "a.txt", "one", 0, 0 }, { "a.txt", "two", 0, 0 } };
	make_zip(&f->zip, dup, COUNT(dup));
	assert_int_equal(read_mem(f, "a.txt", 100, &out, &len), EM_EINVAL);
	assert_non_null(strstr(f->e.msg, "'a.txt' appears more than once"));
}

/* ---- wheels ---- */

#define MD "Metadata-Version: 2.1\nName: Foo.Bar\nVersion: 1.0\n"

static void test_wheel_metadata(void **state)
{
	struct fixture *f = *state;
	char *out;
	size_t len;
	const struct zent ok[] = {
		{ "foo_bar/__init__.py", "", 0, 0 },
		{ "foo_bar-1.0.dist-info/METADATA", MD, 0, 0 },
		{ "foo_bar-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\n", 0, 0 },
		{ "foo_bar-1.0.dist-info/RECORD", "", 0, 0 },
		{ "foo_bar-1.0.data/scripts/x", "#!python\n", 0, 0 },
		/* a nested .dist-info is not the wheel's */
		{ "foo_bar/_vendor/six-1.0.dist-info/METADATA", "x", 0, 0 },
	};
	make_zip(&f->zip, ok, COUNT(ok));
	assert_int_equal(wheel_mem(f, "foo_bar-1.0-py3-none-any.whl", &out, &len), 0);
	assert_string_equal(out, MD);
	assert_int_equal(len, strlen(MD));
	/* names and versions compare normalized; a directory in front is ignored */
	assert_int_equal(wheel_mem(f, "Foo.Bar-1.0.0-py3-none-any.whl", &out, &len), 0);
	assert_int_equal(wheel_mem(f, "/srv/wheels/FOO_BAR-1.0-2-cp312-cp312-win_amd64.whl", &out,
				   &len), 0);
	assert_string_equal(out, MD);

	/* another name or version */
	assert_int_equal(wheel_mem(f, "foo_baz-1.0-py3-none-any.whl", &out, &len), EM_EINVAL);
	assert_string_equal(f->e.where, "foo_baz-1.0-py3-none-any.whl");
	assert_string_equal(f->e.msg, "the wheel's .dist-info folder 'foo_bar-1.0.dist-info' does "
				      "not match its name 'foo-baz' and version '1.0'");
	assert_int_equal(wheel_mem(f, "foo_bar-1.1-py3-none-any.whl", &out, &len), EM_EINVAL);
	/* not a wheel name */
	assert_int_equal(wheel_mem(f, "foo_bar-1.0.zip", &out, &len), EM_EINVAL);
	assert_int_equal(wheel_mem(f, NULL, &out, &len), EM_EUSAGE);

	/* local versions and '-' in the folder's name part */
	const struct zent torch[] = {
		{ "torch-2.8.0+cu126.dist-info/METADATA", "m", 0, 0 },
	};
	make_zip(&f->zip, torch, COUNT(torch));
	assert_int_equal(
		wheel_mem(f, "torch-2.8.0+cu126-cp312-cp312-manylinux_2_28_x86_64.whl", &out, &len), 0);
	assert_string_equal(out, "m");
	assert_int_equal(
		wheel_mem(f, "torch-2.8.0+cu128-cp312-cp312-manylinux_2_28_x86_64.whl", &out, &len),
		EM_EINVAL);
	assert_int_equal(wheel_mem(f, "torch-2.8.0-cp312-cp312-manylinux_2_28_x86_64.whl", &out,
				   &len), EM_EINVAL);
	const struct zent dashed[] = { { "typing-extensions-4.12.2.dist-info/METADATA", "m", 0, 0 } };
	make_zip(&f->zip, dashed, COUNT(dashed));
	assert_int_equal(wheel_mem(f, "typing_extensions-4.12.2-py3-none-any.whl", &out, &len), 0);
}

static void test_wheel_bad_shapes(void **state)
{
	struct fixture *f = *state;
	char *out;
	size_t len;
	const char *wheel = "demo-1.0-py3-none-any.whl";

	const struct zent two[] = {
		{ "demo-1.0.dist-info/METADATA", "a", 0, 0 },
		{ "other-2.0.dist-info/METADATA", "b", 0, 0 },
	};
	make_zip(&f->zip, two, COUNT(two));
	assert_int_equal(wheel_mem(f, wheel, &out, &len), EM_EINVAL);
	assert_string_equal(f->e.where, wheel);
	assert_string_equal(f->e.msg, "the wheel has more than one .dist-info folder "
				      "('demo-1.0.dist-info', 'other-2.0.dist-info')");
	/* both spell the wheel's name: still two folders */
	const struct zent twins[] = {
		{ "demo-1.0.dist-info/METADATA", "a", 0, 0 },
		{ "Demo-1.0.0.dist-info/METADATA", "b", 0, 0 },
		{ "x-1.dist-info/RECORD", "", 0, 0 },
	};
	make_zip(&f->zip, twins, COUNT(twins));
	assert_int_equal(wheel_mem(f, wheel, &out, &len), EM_EINVAL);
	assert_non_null(strstr(f->e.msg, "more than one .dist-info folder"));
	assert_non_null(strstr(f->e.msg, ", ...)"));

	const struct zent none[] = { { "demo/__init__.py", "", 0, 0 } };
	make_zip(&f->zip, none, COUNT(none));
	assert_int_equal(wheel_mem(f, wheel, &out, &len), EM_EINVAL);
	assert_string_equal(f->e.msg, "the wheel has no .dist-info folder");

	const struct zent nomd[] = { { "demo-1.0.dist-info/RECORD", "", 0, 0 },
				     { "demo-1.0.dist-info/sub/METADATA", "x", 0, 0 } };
	make_zip(&f->zip, nomd, COUNT(nomd));
	assert_int_equal(wheel_mem(f, wheel, &out, &len), EM_EINVAL);
	assert_string_equal(f->e.msg, "the wheel has no member 'demo-1.0.dist-info/METADATA'");

	const struct zent dup[] = { { "demo-1.0.dist-info/METADATA", "a", 0, 0 },
				    { "demo-1.0.dist-info/METADATA", "b", 0, 0 } };
	make_zip(&f->zip, dup, COUNT(dup));
	assert_int_equal(wheel_mem(f, wheel, &out, &len), EM_EINVAL);
	assert_non_null(strstr(f->e.msg, "appears more than once"));

	const struct zent link[] = { { "demo-1.0.dist-info/METADATA", "/etc/passwd", 0,
				       AE_IFLNK } };
	make_zip(&f->zip, link, COUNT(link));
	assert_int_equal(wheel_mem(f, wheel, &out, &len), EM_EINVAL);
	assert_non_null(strstr(f->e.msg, "not a regular file"));

	/* a wheel on disk */
	const struct zent good[] = { { "demo-1.0.dist-info/METADATA", "on disk", 0, 0 } };
	make_zip(&f->zip, good, COUNT(good));
	char dir[] = "/tmp/envmatrix-wheel-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof path, "%s/%s", dir, wheel);
	FILE *fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(f->zip.ptr, 1, f->zip.len, fp), f->zip.len);
	fclose(fp);
	struct em_error e;
	assert_int_equal(em_wheel_read_metadata(&f->a, path, &out, &len, &e), 0);
	assert_string_equal(out, "on disk");
	unlink(path);
	assert_int_equal(em_wheel_read_metadata(&f->a, path, &out, &len, &e), EM_ENOTFOUND);
	assert_string_equal(e.where, path);
	rmdir(dir);
}

/* ---- hostile and broken zips ---- */

static void test_truncated_and_corrupt(void **state)
{
	struct fixture *f = *state;
	const struct zent ents[] = {
		{ "demo/__init__.py", "x = 1\n", 0, 0 },
		{ "demo-1.0.dist-info/METADATA", MD MD MD, 0, 0 },
		{ "demo-1.0.dist-info/RECORD", "", 0, 0 },
	};
	make_zip(&f->zip, ents, COUNT(ents));
	char *copy = malloc(f->zip.len);
	assert_non_null(copy);
	memcpy(copy, f->zip.ptr, f->zip.len);
	size_t full = f->zip.len;
	char *out;
	size_t len;
	struct em_error e;

	/* cut anywhere: no central directory, not a zip */
	for (size_t n = 0; n < full; n++) {
		int rc = em_zip_read_member_mem(&f->a, copy, n, "cut.zip",
						"demo-1.0.dist-info/METADATA", 1 << 20, &out, &len,
						&e);
		if (rc == 0)
			fail_msg("cut at %zu of %zu bytes: read", n, full);
		assert_string_equal(e.where, "cut.zip");
	}
	assert_int_equal(em_zip_read_member_mem(&f->a, copy, 0, NULL, "x", 10, &out, &len, &e),
			 EM_EINVAL);
	assert_string_equal(e.where, "zip");
	assert_non_null(strstr(e.msg, "not a readable zip file"));

	/* flip each byte: an error, or the right data (CRC-32 catches the rest) */
	for (size_t i = 0; i < full; i++) {
		copy[i] ^= 0x5a;
		int rc = em_zip_read_member_mem(&f->a, copy, full, "bad.zip",
						"demo-1.0.dist-info/METADATA", 1 << 20, &out, &len,
						&e);
		if (rc == 0 && strcmp(out, MD MD MD))
			fail_msg("byte %zu changed: read different data", i);
		if (rc && (!e.msg[0] || rc != e.code))
			fail_msg("byte %zu changed: rc %d without a message", i, rc);
		/* any result will do: the point is no crash and no leak */
		EM_IGNORE(em_wheel_read_metadata_mem(&f->a, copy, full, "demo-1.0-py3-none-any.whl",
						     &out, &len, &e));
		copy[i] ^= 0x5a;
	}
	/* garbage */
	assert_int_equal(em_zip_read_member_mem(&f->a, "PK\x05\x06 not really", 17, "junk",
						"x", 10, &out, &len, &e),
			 EM_EINVAL);
	free(copy);
}

/* raw deflate: one final stored block holding "hello" */
static const char HELLO_DEFLATE[] = { 0x01, 0x05, 0x00, (char)0xfa, (char)0xff,
				      'h',  'e',  'l',  'l',        'o' };
#define HELLO_CRC 0x3610a686u

static void test_declared_size(void **state)
{
	struct fixture *f = *state;
	char *out;
	size_t len;
	/* honest sizes read fine (the crafted zip is a real one) */
	craft_zip(&f->zip, "hello.txt", HELLO_DEFLATE, sizeof HELLO_DEFLATE, 5, HELLO_CRC);
	assert_int_equal(read_mem(f, "hello.txt", 100, &out, &len), 0);
	assert_string_equal(out, "hello");

	/* a member that claims 1 GB: refused on the claim, before reading */
	craft_zip(&f->zip, "bomb.bin", HELLO_DEFLATE, sizeof HELLO_DEFLATE, 1u << 30, HELLO_CRC);
#if !defined(__SANITIZE_ADDRESS__)
	/* and nothing near that size is allocated: 256 MB of address space more
	 * than now is all there is */
	struct rlimit old, lim;
	assert_int_equal(getrlimit(RLIMIT_AS, &old), 0);
	long pages = 0;
	FILE *st = fopen("/proc/self/statm", "r");
	if (st) {
		if (fscanf(st, "%ld", &pages) != 1)
			pages = 0;
		fclose(st);
	}
	lim = old;
	if (pages > 0)
		lim.rlim_cur = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + (256u << 20);
	if (pages > 0 && (old.rlim_cur == RLIM_INFINITY || lim.rlim_cur < old.rlim_cur))
		assert_int_equal(setrlimit(RLIMIT_AS, &lim), 0);
#endif
	int rc = read_mem(f, "bomb.bin", 1 << 20, &out, &len);
	int rc2 = read_mem(f, "bomb.bin", 5, &out, &len);
#if !defined(__SANITIZE_ADDRESS__)
	setrlimit(RLIMIT_AS, &old);
#endif
	assert_int_equal(rc, EM_ELIMIT);
	assert_int_equal(rc2, EM_ELIMIT);
	assert_non_null(strstr(f->e.msg, "'bomb.bin' is larger than 5 bytes (it declares "
					 "1073741824)"));

	/* a member that says 5 bytes but inflates to more: stopped at max */
	char big[64];
	size_t bl = 0;
	big[bl++] = 0x01;
	big[bl++] = 40;
	big[bl++] = 0;
	big[bl++] = (char)~40;
	big[bl++] = (char)0xff;
	memset(big + bl, 'z', 40);
	bl += 40;
	craft_zip(&f->zip, "liar.txt", big, (uint32_t)bl, 5, 0);
	rc = read_mem(f, "liar.txt", 10, &out, &len);
	assert_true(rc == EM_ELIMIT || rc == EM_EINVAL);
	/* a wrong CRC-32 is an error */
	craft_zip(&f->zip, "hello.txt", HELLO_DEFLATE, sizeof HELLO_DEFLATE, 5, HELLO_CRC ^ 1);
	assert_int_equal(read_mem(f, "hello.txt", 100, &out, &len), EM_EINVAL);
	assert_non_null(strstr(f->e.msg, "cannot read member 'hello.txt'"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_name),
		cmocka_unit_test(test_link_inside),
		cmocka_unit_test_setup_teardown(test_read_member, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_member_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unsafe_members, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wheel_metadata, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wheel_bad_shapes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_and_corrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_declared_size, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
