/* test_install.c - linking files, unpacking wheels, installing them
 *
 * Real wheels: every pip, setuptools and wheel .whl bundled with the
 * machine's Pythons (pyenv's ensurepip/_bundled folders and Debian's
 * /usr/share/python-wheels) is unpacked and installed into a POSIX scheme,
 * and the result checked file by file against its RECORD. Then, for every
 * interpreter em_interp_discover finds, a venv is made by hand, pip and
 * setuptools are installed into it, and pip itself runs (`-m pip
 * --version`, `check`, the `pip` launcher, `uninstall -y setuptools`).
 * Each of these skips with a message where the machine has none.
 *
 * Made-up wheels (a small zip writer below, so any name, mode or
 * duplicate can be written): a wheel using every part of the format, a
 * big one (worker threads), and broken ones (RECORD lies, unsafe names,
 * links, duplicates, cut short, unknown .data folders, Wheel-Version 2.0)
 * that must fail with a clear error and leave nothing behind. A full disk
 * is a 256 KiB tmpfs, when the test runs as root and may mount one.
 */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/buf.h"
#include "os/fs.h"
#include "install.h"
#include "interp.h"
#include "os/proc.h"
#include "util/sha256.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static char root[4096]; /* this run's temporary folder */
static unsigned seq;

/* a fresh folder name under root */
static char *fresh(struct em_arena *a, const char *what)
{
	return em_arena_printf(a, "%s/%s-%u", root, what, ++seq);
}

static bool exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

static char *slurp(struct em_arena *a, const char *path, size_t *len)
{
	char *out = NULL;
	size_t n = 0;
	struct em_error e = { 0 };
	if (em_read_file(a, path, 64u << 20, &out, &n, &e))
		return NULL;
	if (len)
		*len = n;
	return out;
}

static void write_bytes(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* ---- a small zip writer: stored members, any name and mode ---- */

static uint32_t crc32_of(const void *data, size_t n)
{
	static uint32_t table[256];
	if (!table[1]) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;
			for (int k = 0; k < 8; k++)
				c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
	}
	const unsigned char *p = data;
	uint32_t c = 0xffffffffu;
	for (size_t i = 0; i < n; i++)
		c = table[(c ^ p[i]) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffu;
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

struct zipw {
	struct em_buf body, cd;
	unsigned count;
};

/* mode is a full st_mode (S_IFREG | 0644, S_IFLNK | 0777, S_IFDIR | 0755) */
static void zip_add(struct zipw *z, const char *name, const void *data, size_t len, unsigned mode)
{
	size_t nl = strlen(name);
	uint32_t crc = crc32_of(data, len), off = (uint32_t)z->body.len;
	struct em_buf *b = &z->body;
	le32(b, 0x04034b50);
	le16(b, 20);
	le16(b, 0x0800); /* UTF-8 names */
	le16(b, 0);      /* stored */
	le16(b, 0);
	le16(b, 0x5a21);
	le32(b, crc);
	le32(b, (uint32_t)len);
	le32(b, (uint32_t)len);
	le16(b, (unsigned)nl);
	le16(b, 0);
	em_buf_add(b, name, nl);
	em_buf_add(b, data, len);
	b = &z->cd;
	le32(b, 0x02014b50);
	le16(b, 0x0314); /* made by: unix */
	le16(b, 20);
	le16(b, 0x0800);
	le16(b, 0);
	le16(b, 0);
	le16(b, 0x5a21);
	le32(b, crc);
	le32(b, (uint32_t)len);
	le32(b, (uint32_t)len);
	le16(b, (unsigned)nl);
	le16(b, 0);
	le16(b, 0);
	le16(b, 0);
	le16(b, 0);
	le32(b, (uint32_t)mode << 16);
	le32(b, off);
	em_buf_add(b, name, nl);
	z->count++;
}

static void zip_finish(struct zipw *z, const char *path)
{
	struct em_buf out = EM_BUF_INIT;
	em_buf_add(&out, z->body.ptr, z->body.len);
	em_buf_add(&out, z->cd.ptr, z->cd.len);
	le32(&out, 0x06054b50);
	le16(&out, 0);
	le16(&out, 0);
	le16(&out, z->count);
	le16(&out, z->count);
	le32(&out, (uint32_t)z->cd.len);
	le32(&out, (uint32_t)z->body.len);
	le16(&out, 0);
	assert_int_equal(out.err, 0);
	write_bytes(path, out.ptr, out.len);
	em_buf_release(&out);
	em_buf_release(&z->body);
	em_buf_release(&z->cd);
	z->count = 0;
}

/* ---- made-up wheels ---- */

struct wf {
	const char *name;
	const char *data; /* NULL: a line naming the file */
	unsigned mode;    /* 0: S_IFREG | 0644 */
	size_t len;       /* 0: strlen(data) */
};

enum {
	NO_RECORD_ROW_FIRST = 1 << 0, /* RECORD misses the first file */
	LIE_HASH_FIRST = 1 << 1,
	LIE_SIZE_FIRST = 1 << 2,
	EXTRA_ROW = 1 << 3,           /* RECORD lists a file the wheel lacks */
	SHA512_FIRST = 1 << 4,
	DUP_FIRST = 1 << 5,           /* the first file twice in the zip */
	NO_RECORD = 1 << 6,
	TRUNCATE = 1 << 7,
	ROW_FOR_ALL = 1 << 8,         /* rows for links and folders too */
	CSV_QUOTED = 1 << 9           /* every path quoted, CRLF line ends */
};

/* a RECORD path field, quoted as Python's csv module may write it */
static void add_path(struct em_buf *rec, const char *path, unsigned flags)
{
	if (!(flags & CSV_QUOTED)) {
		em_buf_addstr(rec, path);
		return;
	}
	em_buf_addc(rec, '"');
	for (const char *p = path; *p; p++) {
		em_buf_addc(rec, *p);
		if (*p == '"')
			em_buf_addc(rec, '"');
	}
	em_buf_addc(rec, '"');
}

static void b64_hash(const void *data, size_t len, char out[64])
{
	char hex[EM_SHA256_HEX_LEN + 1];
	em_sha256_buf(data, len, hex);
	unsigned char d[32];
	for (int i = 0; i < 32; i++) {
		unsigned v;
		sscanf(hex + 2 * i, "%2x", &v);
		d[i] = (unsigned char)v;
	}
	static const char al[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (int i = 0; i < 32; i++) {
		acc = acc << 8 | d[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = al[(acc >> bits) & 63];
		}
	}
	if (bits)
		out[o++] = al[(acc << (6 - bits)) & 63];
	out[o] = '\0';
}

static const char *wf_data(const struct wf *f, size_t *len, char *tmp, size_t tmpsize)
{
	const char *d = f->data;
	if (!d) {
		snprintf(tmp, tmpsize, "# %s\n", f->name);
		d = tmp;
	}
	*len = f->len ? f->len : strlen(d);
	return d;
}

/* Write a wheel: files, then dist-info (METADATA and WHEEL unless the
 * files hold them) and RECORD, shaped by flags. */
static void make_wheel(const char *path, const char *di, const struct wf *files, size_t n,
		       const char *wheel_file, unsigned flags)
{
	struct zipw z = { EM_BUF_INIT, EM_BUF_INIT, 0 };
	struct em_buf rec = EM_BUF_INIT;
	char tmp[512], name[512];
	for (size_t i = 0; i < n; i++) {
		size_t len;
		const char *d = wf_data(&files[i], &len, tmp, sizeof tmp);
		unsigned mode = files[i].mode ? files[i].mode : (S_IFREG | 0644);
		zip_add(&z, files[i].name, d, len, mode);
		if (i == 0 && (flags & DUP_FIRST))
			zip_add(&z, files[i].name, d, len, mode);
		if (!S_ISREG(mode) && !(flags & ROW_FOR_ALL))
			continue;
		if (i == 0 && (flags & NO_RECORD_ROW_FIRST))
			continue;
		char h[64];
		b64_hash(d, len, h);
		if (i == 0 && (flags & LIE_HASH_FIRST))
			h[0] = h[0] == 'A' ? 'B' : 'A';
		add_path(&rec, files[i].name, flags);
		if (i == 0 && (flags & SHA512_FIRST))
			em_buf_addf(&rec, ",sha512=%s,%zu", h, len);
		else
			em_buf_addf(&rec, ",sha256=%s,%zu", h,
				    len + (i == 0 && (flags & LIE_SIZE_FIRST) ? 1 : 0));
		em_buf_addstr(&rec, flags & CSV_QUOTED ? "\r\n" : "\n");
	}
	const char *meta = "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n";
	const char *wheel = wheel_file ? wheel_file
				       : "Wheel-Version: 1.0\nGenerator: test\n"
					 "Root-Is-Purelib: true\nTag: py3-none-any\n";
	const char *gen[2][2] = { { "METADATA", meta }, { "WHEEL", wheel } };
	for (int k = 0; k < 2; k++) {
		snprintf(name, sizeof name, "%s/%s", di, gen[k][0]);
		bool given = false;
		for (size_t i = 0; i < n; i++)
			given = given || !strcmp(files[i].name, name);
		if (given)
			continue;
		zip_add(&z, name, gen[k][1], strlen(gen[k][1]), S_IFREG | 0644);
		char h[64];
		b64_hash(gen[k][1], strlen(gen[k][1]), h);
		add_path(&rec, name, flags);
		em_buf_addf(&rec, ",sha256=%s,%zu%s", h, strlen(gen[k][1]),
			    flags & CSV_QUOTED ? "\r\n" : "\n");
	}
	if (flags & EXTRA_ROW)
		em_buf_addstr(&rec, "demo/missing.py,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0\n");
	em_buf_addf(&rec, "%s/RECORD,,\n", di);
	snprintf(name, sizeof name, "%s/RECORD", di);
	if (!(flags & NO_RECORD))
		zip_add(&z, name, rec.ptr, rec.len, S_IFREG | 0644);
	em_buf_release(&rec);
	if (flags & TRUNCATE) {
		/* the central directory never written */
		write_bytes(path, z.body.ptr, z.body.len / 2);
		em_buf_release(&z.body);
		em_buf_release(&z.cd);
		return;
	}
	zip_finish(&z, path);
}

/* ---- checking an installed tree against its RECORD ---- */

struct walk {
	char **paths;
	size_t n, cap;
};

static struct walk *walk_now;

static int walk_cb(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)ftw;
	if (type == FTW_F || type == FTW_SL) {
		if (!S_ISREG(st->st_mode))
			fail_msg("'%s' is not a regular file", path);
		if (walk_now->n == walk_now->cap) {
			walk_now->cap = walk_now->cap ? walk_now->cap * 2 : 256;
			walk_now->paths = realloc(walk_now->paths, walk_now->cap * sizeof(char *));
			assert_non_null(walk_now->paths);
		}
		walk_now->paths[walk_now->n++] = strdup(path);
	}
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void walk_files(const char *dir, struct walk *w)
{
	memset(w, 0, sizeof *w);
	walk_now = w;
	assert_int_equal(nftw(dir, walk_cb, 32, FTW_PHYS), 0);
	qsort(w->paths, w->n, sizeof *w->paths, cmp_str);
}

static void walk_free(struct walk *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->paths[i]);
	free(w->paths);
}

/* Every file under top must be listed by the RECORD of the dist-info
 * folder di in site (and only those), each hash and size right. Returns
 * the number of rows. */
static size_t check_record(struct em_arena *a, const char *top, const char *site, const char *di)
{
	char *rp = em_arena_printf(a, "%s/%s/RECORD", site, di);
	size_t len;
	char *rec = slurp(a, rp, &len);
	if (!rec)
		fail_msg("no RECORD at '%s'", rp);
	struct walk w;
	walk_files(top, &w);
	char **listed = calloc(len / 2 + 2, sizeof *listed);
	size_t nl = 0;
	bool record_row = false;
	for (char *line = rec; *line;) {
		char *end = strchr(line, '\n');
		assert_non_null(end);
		*end = '\0';
		char *c2 = strrchr(line, ',');
		assert_non_null(c2);
		*c2 = '\0';
		char *c1 = strrchr(line, ',');
		assert_non_null(c1);
		*c1 = '\0';
		const char *path = line, *hash = c1 + 1, *size = c2 + 1;
		assert_true(path[0] != '"'); /* no file here needs quoting */
		char *abs = em_path_absolute(a, em_arena_printf(a, "%s/%s", site, path));
		if (!strcmp(path + strlen(path) - 7, "/RECORD") && !*hash) {
			assert_string_equal(size, "");
			record_row = true;
		} else {
			char hex[EM_SHA256_HEX_LEN + 1];
			int64_t sz;
			struct em_error e = { 0 };
			if (em_sha256_file(abs, hex, &sz, &e))
				fail_msg("RECORD lists '%s', which is not there: %s", path, e.msg);
			size_t flen = 0;
			char *data = slurp(a, abs, &flen);
			assert_non_null(data);
			char h[64];
			b64_hash(data, flen, h);
			if (strncmp(hash, "sha256=", 7) || strcmp(hash + 7, h))
				fail_msg("'%s': RECORD says %s, the file has sha256=%s", path, hash, h);
			if ((int64_t)strtoll(size, NULL, 10) != sz)
				fail_msg("'%s': RECORD says %s bytes, the file has %lld", path, size,
					 (long long)sz);
		}
		listed[nl++] = abs;
		line = end + 1;
	}
	assert_true(record_row);
	qsort(listed, nl, sizeof *listed, cmp_str);
	for (size_t i = 0; i + 1 < nl; i++)
		if (!strcmp(listed[i], listed[i + 1]))
			fail_msg("RECORD lists '%s' twice", listed[i]);
	size_t i = 0, j = 0;
	while (i < w.n || j < nl) {
		int c = i == w.n ? 1 : j == nl ? -1 : strcmp(w.paths[i], listed[j]);
		if (c < 0)
			fail_msg("'%s' is installed but not in RECORD", w.paths[i]);
		if (c > 0)
			fail_msg("RECORD lists '%s', which is not installed", listed[j]);
		i++;
		j++;
	}
	walk_free(&w);
	free(listed);
	return nl;
}

/* ---- schemes ---- */

struct layout {
	char *top, *site, *bin, *include, *python;
	struct em_scheme s;
};

static void posix_layout(struct em_arena *a, const char *top, const char *pyver,
			 const char *python, struct layout *l)
{
	l->top = em_arena_strdup(a, top);
	l->site = em_arena_printf(a, "%s/lib/python%s/site-packages", top, pyver);
	l->bin = em_arena_printf(a, "%s/bin", top);
	l->include = em_arena_printf(a, "%s/include/site/python%s", top, pyver);
	l->python = python ? em_arena_strdup(a, python) : em_arena_printf(a, "%s/bin/python", top);
	l->s.purelib = l->site;
	l->s.platlib = l->site;
	l->s.scripts = l->bin;
	l->s.headers = l->include;
	l->s.data = l->top;
}

static int install(const char *unpacked, const char *wheel, const struct layout *l,
		   enum em_os os, enum em_link_mode mode, bool requested, unsigned jobs,
		   struct em_install_result *r, struct em_error *e)
{
	struct em_install_opts o = { &l->s, l->python, os, mode, requested, jobs };
	return em_wheel_install(unpacked, wheel, &o, r, e);
}

/* ---- link modes ---- */

static void test_link_modes(void **state)
{
	(void)state;
	struct em_arena a;
	em_arena_init(&a);
	struct em_error e = { 0 };
	enum em_link_mode m;
	static const char *const names[] = { "auto", "clone", "hardlink", "copy" };
	for (int i = 0; i < 4; i++) {
		assert_int_equal(em_link_mode_parse(names[i], &m, &e), 0);
		assert_int_equal((int)m, i);
		assert_string_equal(em_link_mode_name(m), names[i]);
	}
	assert_int_equal(em_link_mode_parse("symlink", &m, &e), EM_EINVAL);
	assert_non_null(strstr(e.msg, "'symlink'"));
	assert_non_null(strstr(e.msg, "auto, clone, hardlink or copy"));

	char *dir = fresh(&a, "link");
	assert_int_equal(mkdir(dir, 0755), 0);
	char *src = em_arena_printf(&a, "%s/src", dir);
	write_bytes(src, "hello\n", 6);
	assert_int_equal(chmod(src, 0751), 0);
	struct stat s0, st;
	assert_int_equal(stat(src, &s0), 0);

	for (int i = 0; i < 4; i++) {
		char *dst = em_arena_printf(&a, "%s/dst-%s", dir, names[i]);
		enum em_link_mode used = (enum em_link_mode)-1;
		int rc = em_link_file(src, dst, (enum em_link_mode)i, &used, &e);
		if (i == EM_LINK_CLONE && rc) {
			/* ext4 and tmpfs cannot clone: a clear error, nothing left */
			assert_int_equal(rc, EM_EUNSUPPORTED);
			assert_non_null(strstr(e.msg, "cannot clone"));
			assert_false(exists(dst));
			print_message("note: this filesystem cannot clone (%s); auto falls back\n",
				      e.msg);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_int_equal(stat(dst, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0751);
		size_t len;
		char *got = slurp(&a, dst, &len);
		assert_non_null(got);
		assert_string_equal(got, "hello\n");
		switch (i) {
		case EM_LINK_AUTO:
			assert_true(used == EM_LINK_CLONE || used == EM_LINK_HARDLINK);
			break;
		case EM_LINK_HARDLINK:
			assert_int_equal(used, EM_LINK_HARDLINK);
			assert_true(st.st_ino == s0.st_ino);
			break;
		case EM_LINK_COPY:
			assert_int_equal(used, EM_LINK_COPY);
			assert_true(st.st_ino != s0.st_ino);
			break;
		default:
			assert_int_equal(used, EM_LINK_CLONE);
			assert_true(st.st_ino != s0.st_ino);
		}
		/* dst exists: an error, errno EEXIST, the file untouched */
		rc = em_link_file(src, dst, (enum em_link_mode)i, NULL, &e);
		assert_int_equal(rc, EM_EIO);
		assert_int_equal(errno, EEXIST);
		assert_non_null(strstr(e.msg, "already exists"));
	}
	/* a missing source */
	char *nowhere = em_arena_printf(&a, "%s/nothing", dir);
	assert_int_equal(em_link_file(nowhere, em_arena_printf(&a, "%s/x", dir), EM_LINK_COPY,
				      NULL, &e),
			 EM_ENOTFOUND);
	assert_false(exists(em_arena_printf(&a, "%s/x", dir)));
	/* a folder is not a file */
	assert_int_equal(em_link_file(dir, em_arena_printf(&a, "%s/y", dir), EM_LINK_COPY, NULL,
				      &e),
			 EM_EIO);
	assert_false(exists(em_arena_printf(&a, "%s/y", dir)));

	/* the state remembers what the filesystem cannot do */
	struct em_link_state ls = { 0 };
	struct em_dir *dd = em_dir_open(dir, 0);
	assert_non_null(dd);
	for (int k = 0; k < 3; k++) {
		enum em_link_mode used;
		char *dst = em_arena_printf(&a, "dst-state-%d", k);
		assert_int_equal(em_link_at(NULL, src, dd, dst, EM_LINK_AUTO, &ls, &used, &e),
				 0);
		assert_int_equal((int)used, ls.mode == EM_LINK_AUTO ? EM_LINK_CLONE : ls.mode);
	}
	em_dir_close(dd);

	/* across filesystems (when /dev/shm is another one): hard links
	 * fail with EXDEV, auto copies */
	struct stat shm;
	if (stat("/dev/shm", &shm) == 0 && shm.st_dev != s0.st_dev &&
	    access("/dev/shm", W_OK) == 0) {
		char *x = em_arena_printf(&a, "/dev/shm/envmatrix-test-%ld", (long)getpid());
		unlink(x);
		assert_int_equal(em_link_file(src, x, EM_LINK_HARDLINK, NULL, &e), EM_EIO);
		assert_false(exists(x));
		enum em_link_mode used;
		assert_int_equal(em_link_file(src, x, EM_LINK_AUTO, &used, &e), 0);
		assert_int_equal(used, EM_LINK_COPY);
		assert_int_equal(stat(x, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0751);
		unlink(x);
	}
	em_arena_release(&a);
}

/* ---- real wheels ---- */

struct found {
	char **paths;
	size_t n;
};

static bool seen_hash(char hashes[][EM_SHA256_HEX_LEN + 1], size_t n, const char *h)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(hashes[i], h))
			return true;
	return false;
}

/* pip, setuptools and wheel .whl files of the machine (each content once
 * when dedup) */
static void find_real_wheels(struct em_arena *a, struct found *f, bool dedup)
{
	static char hashes[256][EM_SHA256_HEX_LEN + 1];
	f->n = 0;
	f->paths = em_arena_array(a, 256, sizeof *f->paths);
	const char *pyenv = getenv("PYENV_ROOT");
	char *pyroot = pyenv && *pyenv ? em_arena_strdup(a, pyenv)
					: em_arena_printf(a, "%s/.pyenv", getenv("HOME") ? getenv("HOME") : "/");
	char *dirs[128];
	size_t nd = 0;
	char *versions = em_arena_printf(a, "%s/versions", pyroot);
	DIR *d = opendir(versions);
	if (d) {
		struct dirent *de;
		while ((de = readdir(d)) && nd < 100) {
			if (de->d_name[0] == '.')
				continue;
			char *lib = em_arena_printf(a, "%s/%s/lib", versions, de->d_name);
			DIR *l = opendir(lib);
			if (!l)
				continue;
			struct dirent *le;
			while ((le = readdir(l)) && nd < 100)
				if (!strncmp(le->d_name, "python3", 7))
					dirs[nd++] = em_arena_printf(a, "%s/%s/ensurepip/_bundled", lib,
								     le->d_name);
			closedir(l);
		}
		closedir(d);
	}
	dirs[nd++] = em_arena_strdup(a, "/usr/share/python-wheels");
	for (size_t i = 0; i < nd; i++) {
		DIR *w = opendir(dirs[i]);
		if (!w)
			continue;
		struct dirent *de;
		while ((de = readdir(w)) && f->n < 256) {
			const char *n = de->d_name;
			size_t l = strlen(n);
			if (l < 4 || strcmp(n + l - 4, ".whl"))
				continue;
			if (strncmp(n, "pip-", 4) && strncmp(n, "setuptools-", 11) &&
			    strncmp(n, "wheel-", 6))
				continue;
			char *p = em_arena_printf(a, "%s/%s", dirs[i], n);
			char hex[EM_SHA256_HEX_LEN + 1];
			struct em_error e = { 0 };
			if (em_sha256_file(p, hex, NULL, &e) ||
			    (dedup && seen_hash(hashes, f->n, hex)))
				continue;
			strcpy(hashes[f->n], hex);
			f->paths[f->n++] = p;
		}
		closedir(w);
	}
}

/* "pip-23.0.1-py3-none-any.whl" -> "pip-23.0.1.dist-info" */
static char *dist_info_of(struct em_arena *a, const char *wheel_path)
{
	const char *base = strrchr(wheel_path, '/');
	base = base ? base + 1 : wheel_path;
	const char *d1 = strchr(base, '-');
	const char *d2 = d1 ? strchr(d1 + 1, '-') : NULL;
	assert_non_null(d2);
	return em_arena_printf(a, "%.*s.dist-info", (int)(d2 - base), base);
}

/* console_scripts names of an installed dist-info's entry_points.txt */
static size_t console_scripts(struct em_arena *a, const char *di_path, char **names, size_t max)
{
	char *t = slurp(a, em_arena_printf(a, "%s/entry_points.txt", di_path), NULL);
	size_t n = 0;
	bool in = false;
	for (char *line = t; line && *line && n < max;) {
		char *end = strchr(line, '\n');
		if (end)
			*end = '\0';
		while (*line == ' ')
			line++;
		if (*line == '[')
			in = !strncmp(line, "[console_scripts]", 17);
		else if (in && *line && strchr(line, '=')) {
			char *eq = strchr(line, '=');
			while (eq > line && eq[-1] == ' ')
				eq--;
			names[n++] = em_arena_strndup(a, line, (size_t)(eq - line));
		}
		line = end ? end + 1 : line + strlen(line);
	}
	return n;
}

static void test_real_wheels(void **state)
{
	(void)state;
	struct em_arena a;
	em_arena_init(&a);
	struct found f;
	find_real_wheels(&a, &f, true);
	if (f.n == 0) {
		print_message("SKIP: no pip, setuptools or wheel .whl under pyenv's ensurepip "
			      "folders or /usr/share/python-wheels (apt-get install python3-pip-whl)\n");
		em_arena_release(&a);
		skip();
	}
	size_t rows = 0;
	for (size_t i = 0; i < f.n; i++) {
		struct em_error e = { 0 };
		const char *wheel = strrchr(f.paths[i], '/') + 1;
		char *cache = fresh(&a, "cache");
		char *unpacked = em_arena_printf(&a, "%s/%s", cache, wheel);
		if (em_wheel_unpack(f.paths[i], unpacked, &e))
			fail_msg("unpacking '%s': %s: %s", f.paths[i], e.where, e.msg);
		/* a second unpacker finds it done */
		assert_int_equal(em_wheel_unpack(f.paths[i], unpacked, &e), 0);
		struct layout l;
		posix_layout(&a, fresh(&a, "venv"), "3.99", "/opt/envmatrix test/bin/python", &l);
		bool requested = i % 2 == 0;
		struct em_install_result r;
		if (install(unpacked, wheel, &l, EM_OS_LINUX, EM_LINK_AUTO, requested, 0, &r, &e))
			fail_msg("installing '%s': %s: %s", f.paths[i], e.where, e.msg);
		char *di = dist_info_of(&a, f.paths[i]);
		size_t n = check_record(&a, l.top, l.site, di);
		assert_int_equal(n, r.files);
		rows += n;
		char *dip = em_arena_printf(&a, "%s/%s", l.site, di);
		char *inst = slurp(&a, em_arena_printf(&a, "%s/INSTALLER", dip), NULL);
		assert_non_null(inst);
		assert_string_equal(inst, "envmatrix\n");
		assert_int_equal(exists(em_arena_printf(&a, "%s/REQUESTED", dip)), requested);
		/* no .data folder, nothing outside the scheme */
		char *names[16];
		size_t nc = console_scripts(&a, dip, names, 16);
		assert_int_equal(r.launchers >= nc, true);
		for (size_t k = 0; k < nc; k++) {
			char *lp = em_arena_printf(&a, "%s/%s", l.bin, names[k]);
			struct stat st;
			if (stat(lp, &st) != 0)
				fail_msg("'%s': no launcher '%s'", wheel, lp);
			assert_true((st.st_mode & 0111) == 0111);
			char *body = slurp(&a, lp, NULL);
			/* the path has a space: the /bin/sh form */
			static const char sh[] = "#!/bin/sh\n'''exec' '/opt/envmatrix test/bin/python' "
						 "\"$0\" \"$@\"\n' '''\n";
			assert_true(body && !strncmp(body, sh, sizeof sh - 1));
		}
		print_message("ok: %s: %u files, %u launchers, %s\n", wheel, (unsigned)r.files,
			      r.launchers, em_link_mode_name(r.link_used));
	}
	print_message("%zu real wheels unpacked and installed, %zu RECORD rows checked\n", f.n,
		      rows);
	em_arena_release(&a);
}

/* ---- real interpreters ---- */

static void setenv_for_pip(void)
{
	setenv("PIP_DISABLE_PIP_VERSION_CHECK", "1", 1);
	setenv("PIP_NO_INDEX", "1", 1);
	setenv("PIP_NO_INPUT", "1", 1);
	setenv("PYTHONNOUSERSITE", "1", 1);
	setenv("PYTHONDONTWRITEBYTECODE", "1", 1);
	unsetenv("PYTHONPATH");
	unsetenv("PYTHONHOME");
	unsetenv("VIRTUAL_ENV");
	unsetenv("PIP_REQUIRE_VIRTUALENV");
	unsetenv("PIP_TARGET");
	unsetenv("PIP_PREFIX");
	unsetenv("PIP_USER");
}

static int run(struct em_arena *a, const char *const argv[], struct em_proc_result *r)
{
	struct em_error e = { 0 };
	int rc = em_proc_run(a, argv, NULL, 1 << 20, 180000, r, &e);
	if (rc)
		fail_msg("cannot run '%s': %s", argv[0], e.msg);
	return r->status;
}

/* the pip or setuptools wheel for an interpreter: from its own bundle,
 * else (setuptools) the newest found, else Debian's */
static char *pick_wheel(struct em_arena *a, const struct em_interp *it, const char *project,
			const struct found *all)
{
	char *bundle = em_path_absolute(
		a, em_arena_printf(a, "%s/../lib/python%u.%u%s/ensurepip/_bundled",
				   em_path_dir(a, it->realpath), it->py.major, it->py.minor,
				   it->py.freethreaded ? "t" : ""));
	bundle = em_arena_printf(a, "%s/", bundle);
	char *best = NULL;
	size_t pl = strlen(project);
	for (int pass = 0; pass < 2 && !best; pass++) {
		for (size_t i = 0; i < all->n; i++) {
			const char *base = strrchr(all->paths[i], '/') + 1;
			if (strncmp(base, project, pl) || base[pl] != '-')
				continue;
			bool own = !strncmp(all->paths[i], bundle, strlen(bundle)) ||
				   (!strncmp(it->realpath, "/usr/bin/", 9) &&
				    !strncmp(all->paths[i], "/usr/share/python-wheels/", 25));
			if (pass == 0 && !own)
				continue;
			/* pip 18 (py2.py3) and old setuptools only for old Pythons */
			if (pass == 1 && strstr(base, "py2.py3") && it->py.minor >= 10)
				continue;
			if (!best || strcmp(strrchr(best, '/'), strrchr(all->paths[i], '/')) < 0)
				best = all->paths[i];
		}
	}
	return best;
}

static void test_real_interpreters(void **state)
{
	(void)state;
	struct em_arena a;
	em_arena_init(&a);
	struct em_error e = { 0 };
	struct em_interp_list list;
	if (em_interp_discover(&a, &list, &e) || list.n == 0) {
		print_message("SKIP: no CPython 3 interpreter found (%s; apt-get install python3)\n", e.msg);
		em_arena_release(&a);
		skip();
	}
	struct found all;
	find_real_wheels(&a, &all, false);
	setenv_for_pip();
	unsigned tried = 0;
	for (uint32_t i = 0; i < list.n; i++) {
		const struct em_interp *it = &list.items[i];
		char *pip = pick_wheel(&a, it, "pip", &all);
		char *st = pick_wheel(&a, it, "setuptools", &all);
		if (!pip || !st) {
			print_message("skip: %s (%u.%u): no pip or setuptools wheel for it\n",
				      it->path, it->py.major, it->py.minor);
			continue;
		}
		char ver[16];
		snprintf(ver, sizeof ver, "%u.%u%s", it->py.major, it->py.minor,
			 it->py.freethreaded ? "t" : "");
		/* every other venv has a space in its path: the /bin/sh launchers */
		char *top = fresh(&a, tried % 2 ? "venv with space" : "venv");
		struct layout l;
		posix_layout(&a, top, ver, NULL, &l);
		assert_int_equal(em_mkdir_p(l.bin, &e), 0);
		assert_int_equal(em_mkdir_p(l.site, &e), 0);
		char *cfg = em_arena_printf(&a,
					    "home = %s\ninclude-system-site-packages = false\n"
					    "version = %u.%u.%u\n",
					    em_path_dir(&a, it->path), it->py.major, it->py.minor,
					    it->py.micro);
		write_bytes(em_arena_printf(&a, "%s/pyvenv.cfg", top), cfg, strlen(cfg));
		assert_int_equal(symlink(it->realpath, l.python), 0);
		const char *wheels[2] = { pip, st };
		for (int k = 0; k < 2; k++) {
			const char *wn = strrchr(wheels[k], '/') + 1;
			char *unpacked = em_arena_printf(&a, "%s/%s", fresh(&a, "cache"), wn);
			struct em_install_result r;
			if (em_wheel_unpack(wheels[k], unpacked, &e) ||
			    install(unpacked, wn, &l, EM_OS_LINUX, EM_LINK_AUTO, true, 0, &r, &e))
				fail_msg("%s: %s: %s", wn, e.where, e.msg);
		}
		struct em_proc_result pr;
		const char *v[] = { l.python, "-m", "pip", "--version", NULL };
		if (run(&a, v, &pr) != 0 || !strstr(pr.out, l.site))
			fail_msg("%s -m pip --version: status %d\n%s%s", l.python, pr.status, pr.out,
				 pr.err);
		const char *check[] = { l.python, "-m", "pip", "check", NULL };
		if (run(&a, check, &pr) != 0)
			fail_msg("%s -m pip check: status %d\n%s%s", l.python, pr.status, pr.out,
				 pr.err);
		char *launcher = em_arena_printf(&a, "%s/pip", l.bin);
		const char *lv[] = { launcher, "--version", NULL };
		if (run(&a, lv, &pr) != 0 || !strstr(pr.out, l.site))
			fail_msg("%s --version: status %d\n%s%s", launcher, pr.status, pr.out,
				 pr.err);
		/* what setuptools installed, from its RECORD */
		char *sdi = em_arena_printf(&a, "%s/%s", l.site, dist_info_of(&a, st));
		char *rec = slurp(&a, em_arena_printf(&a, "%s/RECORD", sdi), NULL);
		assert_non_null(rec);
		const char *un[] = { l.python, "-m", "pip", "uninstall", "-y", "setuptools", NULL };
		if (run(&a, un, &pr) != 0)
			fail_msg("pip uninstall -y setuptools: status %d\n%s%s", pr.status, pr.out,
				 pr.err);
		size_t nfiles = 0;
		for (char *line = rec; *line;) {
			char *end = strchr(line, '\n');
			*end = '\0';
			*strrchr(line, ',') = '\0';
			*strrchr(line, ',') = '\0';
			char *p = em_arena_printf(&a, "%s/%s", l.site, line);
			if (exists(p))
				fail_msg("pip uninstall left '%s' behind", p);
			nfiles++;
			line = end + 1;
		}
		assert_false(exists(sdi));
		tried++;
		print_message("ok: %s %s: %s and %s installed, pip ran, uninstalling setuptools "
			      "removed all %zu of its files\n",
			      it->path, ver, strrchr(pip, '/') + 1, strrchr(st, '/') + 1, nfiles);
	}
	if (!tried) {
		print_message("SKIP: no interpreter with pip and setuptools wheels (apt-get install "
			      "python3-pip-whl)\n");
		em_arena_release(&a);
		skip();
	}
	em_arena_release(&a);
}

/* ---- a made-up wheel using every part of the format ---- */

#define DI "demo-1.0.dist-info"
#define DD "demo-1.0.data"

static const struct wf full_wheel[] = {
	{ "demo/__init__.py", "", 0, 0 },
	{ "demo/mod.py", "def main():\n    return 0\n", 0, 0 },
	{ "demo/sub/deep/x.bin", "\x00\x01\x02", 0, 3 },
	{ "demo/run.sh", "#!/bin/sh\necho run\n", S_IFREG | 0755, 0 },
	{ DD "/scripts/tool", "#!python\nprint('tool')\n", S_IFREG | 0644, 0 },
	{ DD "/scripts/guitool", "#!pythonw -E\nprint('gui')\n", S_IFREG | 0755, 0 },
	{ DD "/scripts/plain.sh", "#!/bin/sh\necho plain\n", S_IFREG | 0644, 0 },
	{ DD "/scripts/democli", "#!python\n# a setuptools wrapper\n", 0, 0 },
	{ DD "/scripts/democli-script.py", "# another\n", 0, 0 },
	{ DD "/headers/demo.h", "int demo;\n", 0, 0 },
	{ DD "/data/share/demo/readme.txt", "data\n", 0, 0 },
	{ DD "/purelib/demo_pure.py", "X = 1\n", 0, 0 },
	{ DD "/platlib/demo_plat.py", "Y = 2\n", 0, 0 },
	{ DI "/entry_points.txt",
	  "[console_scripts]\n"
	  "democli = demo.mod:main\n"
	  "  demo-two=demo.mod : main [extra1, extra2]\n"
	  "; a comment\n"
	  "[gui_scripts]\n"
	  "demogui = demo.mod:Gui.run\n"
	  "[other.group]\n"
	  "not a launcher = whatever\n",
	  0, 0 },
	{ DI "/licenses/LICENSE", "MIT\n", 0, 0 },
	{ "demo-1.0.dist-info/INSTALLER", "pip\n", 0, 0 },
};

static char *unpack_new(struct em_arena *a, const struct wf *files, size_t n,
			const char *wheel_file, unsigned flags, const char *wheel_name)
{
	char *dir = fresh(a, "made");
	assert_int_equal(mkdir(dir, 0755), 0);
	char *path = em_arena_printf(a, "%s/%s", dir, wheel_name);
	make_wheel(path, DI, files, n, wheel_file, flags);
	char *unpacked = em_arena_printf(a, "%s/cache/%s", dir, wheel_name);
	struct em_error e = { 0 };
	if (em_wheel_unpack(path, unpacked, &e))
		fail_msg("%s: %s", e.where, e.msg);
	return unpacked;
}

static void test_made_wheel(void **state)
{
	(void)state;
	struct em_arena a;
	em_arena_init(&a);
	struct em_error e = { 0 };
	const char *wn = "demo-1.0-py3-none-any.whl";
	char *unpacked = unpack_new(&a, full_wheel, COUNT(full_wheel), NULL, 0, wn);
	/* the unpacked tree: read-only files, executable bits from the zip */
	struct stat st;
	assert_int_equal(stat(em_arena_printf(&a, "%s/demo/mod.py", unpacked), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0444);
	assert_int_equal(stat(em_arena_printf(&a, "%s/demo/run.sh", unpacked), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0555);
	char *mark = slurp(&a, em_arena_printf(&a, "%s/" EM_UNPACKED_MARK, unpacked), NULL);
	assert_non_null(mark);
	assert_string_equal(mark, "demo-1.0-py3-none-any.whl\n" DI "\n");

	struct layout l;
	posix_layout(&a, fresh(&a, "venv"), "3.12", "/opt/venv/bin/python", &l);
	struct em_install_result r;
	if (install(unpacked, wn, &l, EM_OS_LINUX, EM_LINK_HARDLINK, true, 1, &r, &e))
		fail_msg("%s: %s", e.where, e.msg);
	assert_int_equal(r.launchers, 3);
	assert_int_equal(r.link_used, EM_LINK_HARDLINK);
	size_t rows = check_record(&a, l.top, l.site, DI);
	assert_int_equal(rows, r.files);
	/* 15 files linked or written (METADATA and WHEEL among them), 3
	 * launchers, INSTALLER, REQUESTED, RECORD; the two setuptools
	 * wrappers and the wheel's INSTALLER are not */
	assert_int_equal(r.files, 15 + 3 + 3);

	/* scripts: #!python and #!pythonw rewritten (copies), others executable */
	char *tool = slurp(&a, em_arena_printf(&a, "%s/tool", l.bin), NULL);
	assert_string_equal(tool, "#!/opt/venv/bin/python\nprint('tool')\n");
	char *gui = slurp(&a, em_arena_printf(&a, "%s/guitool", l.bin), NULL);
	assert_string_equal(gui, "#!/opt/venv/bin/python\nprint('gui')\n");
	struct stat su;
	assert_int_equal(stat(em_arena_printf(&a, "%s/tool", l.bin), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(st.st_nlink, 1);
	assert_int_equal(stat(em_arena_printf(&a, "%s/plain.sh", l.bin), &st), 0);
	assert_true(st.st_mode & 0100);
	assert_int_equal(stat(em_arena_printf(&a, "%s/" DD "/scripts/plain.sh", unpacked), &su), 0);
	assert_int_equal(su.st_mode & 07777, 0444); /* the cache is untouched */
	/* linked files share the cache's inode */
	assert_int_equal(stat(em_arena_printf(&a, "%s/demo/mod.py", l.site), &st), 0);
	assert_int_equal(stat(em_arena_printf(&a, "%s/demo/mod.py", unpacked), &su), 0);
	assert_true(st.st_ino == su.st_ino);
	/* the scheme's folders */
	assert_true(exists(em_arena_printf(&a, "%s/demo/demo.h", l.include)));
	assert_true(exists(em_arena_printf(&a, "%s/share/demo/readme.txt", l.top)));
	assert_true(exists(em_arena_printf(&a, "%s/demo_pure.py", l.site)));
	assert_true(exists(em_arena_printf(&a, "%s/demo_plat.py", l.site)));
	assert_true(exists(em_arena_printf(&a, "%s/" DI "/licenses/LICENSE", l.site)));
	assert_false(exists(em_arena_printf(&a, "%s/" DD, l.site)));
	assert_false(exists(em_arena_printf(&a, "%s/democli-script.py", l.bin)));
	/* launchers */
	char *cli = slurp(&a, em_arena_printf(&a, "%s/democli", l.bin), NULL);
	assert_non_null(strstr(cli, "#!/opt/venv/bin/python\n"));
	assert_non_null(strstr(cli, "from demo.mod import main\n"));
	assert_non_null(strstr(cli, "sys.exit(main())\n"));
	char *two = slurp(&a, em_arena_printf(&a, "%s/demo-two", l.bin), NULL);
	assert_non_null(strstr(two, "from demo.mod import main\n"));
	char *g = slurp(&a, em_arena_printf(&a, "%s/demogui", l.bin), NULL);
	assert_non_null(strstr(g, "from demo.mod import Gui\n"));
	assert_non_null(strstr(g, "sys.exit(Gui.run())\n"));
	assert_false(exists(em_arena_printf(&a, "%s/not a launcher", l.bin)));
	/* RECORD rows for files outside site-packages */
	char *rec = slurp(&a, em_arena_printf(&a, "%s/" DI "/RECORD", l.site), NULL);
	assert_non_null(strstr(rec, "\n../../../bin/tool,sha256="));
	assert_non_null(strstr(rec, "\n../../../include/site/python3.12/demo/demo.h,sha256="));
	assert_non_null(strstr(rec, "\n../../../share/demo/readme.txt,sha256="));
	assert_non_null(strstr(rec, "\n" DI "/INSTALLER,sha256="));
	assert_non_null(strstr(rec, "\n" DI "/RECORD,,\n"));
	assert_string_equal(slurp(&a, em_arena_printf(&a, "%s/" DI "/INSTALLER", l.site), NULL),
			    "envmatrix\n");

	/* the same wheel again over it (another wheel with these files): the
	 * files are replaced */
	if (install(unpacked, wn, &l, EM_OS_LINUX, EM_LINK_COPY, false, 2, &r, &e))
		fail_msg("%s: %s", e.where, e.msg);
	assert_int_equal(r.link_used, EM_LINK_COPY);
	assert_int_equal(stat(em_arena_printf(&a, "%s/demo/mod.py", l.site), &st), 0);
	assert_true(st.st_ino != su.st_ino);

	/* clone only: works where the filesystem can, else a clear error */
	posix_layout(&a, fresh(&a, "venv"), "3.12", "/opt/venv/bin/python", &l);
	int rc = install(unpacked, wn, &l, EM_OS_LINUX, EM_LINK_CLONE, false, 0, &r, &e);
	if (rc == 0) {
		assert_int_equal(r.link_used, EM_LINK_CLONE);
		check_record(&a, l.top, l.site, DI);
	} else {
		assert_int_equal(rc, EM_EUNSUPPORTED);
		assert_non_null(strstr(e.where, wn));
		assert_non_null(strstr(e.msg, "cannot clone"));
	}

	/* an interpreter path with a space, or too long for a shebang */
	static const char *const pys[] = {
		"/opt/my venv/bin/python",
		"/opt/a-very-long-folder-name-for-a-virtual-environment/that-goes-on/and-on/"
		"and-on-past-the-kernel-limit-for-shebang-lines/bin/python",
	};
	for (size_t k = 0; k < COUNT(pys); k++) {
		posix_layout(&a, fresh(&a, "venv"), "3.12", pys[k], &l);
		if (install(unpacked, wn, &l, EM_OS_LINUX, EM_LINK_AUTO, false, 0, &r, &e))
			fail_msg("%s: %s", e.where, e.msg);
		char *want = em_arena_printf(&a, "#!/bin/sh\n'''exec' '%s' \"$0\" \"$@\"\n' '''\n",
					     pys[k]);
		cli = slurp(&a, em_arena_printf(&a, "%s/democli", l.bin), NULL);
		assert_true(!strncmp(cli, want, strlen(want)));
		tool = slurp(&a, em_arena_printf(&a, "%s/tool", l.bin), NULL);
		assert_string_equal(tool, em_arena_printf(&a, "%sprint('tool')\n", want));
		check_record(&a, l.top, l.site, DI);
	}
	/* a path that cannot be put in the /bin/sh form */
	posix_layout(&a, fresh(&a, "venv"), "3.12", "/opt/it's here/bin/python", &l);
	assert_int_equal(install(unpacked, wn, &l, EM_OS_LINUX, EM_LINK_AUTO, false, 0, &r, &e),
			 EM_EUNSUPPORTED);
	assert_non_null(strstr(e.where, wn));

	/* Windows: NAME.cmd and NAME-script.py */
	struct layout w;
	char *wtop = fresh(&a, "winvenv");
	w.top = wtop;
	w.site = em_arena_printf(&a, "%s/Lib/site-packages", wtop);
	w.bin = em_arena_printf(&a, "%s/Scripts", wtop);
	w.include = em_arena_printf(&a, "%s/Include", wtop);
	w.python = em_arena_strdup(&a, "C:\\envs\\demo\\Scripts\\python.exe");
	w.s = (struct em_scheme){ w.site, w.site, w.bin, w.include, wtop };
	if (install(unpacked, wn, &w, EM_OS_WINDOWS, EM_LINK_AUTO, true, 0, &r, &e))
		fail_msg("%s: %s", e.where, e.msg);
	assert_int_equal(r.launchers, 3);
	char *cmd = slurp(&a, em_arena_printf(&a, "%s/democli.cmd", w.bin), NULL);
	assert_string_equal(cmd, "@\"%~dp0python.exe\" \"%~dp0democli-script.py\" %*\r\n");
	cmd = slurp(&a, em_arena_printf(&a, "%s/demogui.cmd", w.bin), NULL);
	assert_string_equal(cmd, "@\"%~dp0pythonw.exe\" \"%~dp0demogui-script.py\" %*\r\n");
	char *sp = slurp(&a, em_arena_printf(&a, "%s/democli-script.py", w.bin), NULL);
	assert_true(!strncmp(sp, "#!C:\\envs\\demo\\Scripts\\python.exe\n", 34));
	assert_non_null(strstr(sp, "sys.argv[0][:-10]"));
	rec = slurp(&a, em_arena_printf(&a, "%s/" DI "/RECORD", w.site), NULL);
	assert_non_null(strstr(rec, "\n../../Scripts/democli.cmd,sha256="));
	check_record(&a, w.top, w.site, DI);

	/* not an unpacked wheel */
	assert_int_equal(install(l.top, wn, &l, EM_OS_LINUX, EM_LINK_AUTO, false, 0, &r, &e),
			 EM_EINVAL);
	assert_non_null(strstr(e.msg, "not a finished unpacked wheel"));
	em_arena_release(&a);
}

/* RECORD as CSV: quoted fields, "" inside, a newline in a name, CRLF */
static void test_record_csv(void **state)
{
	(void)state;
	struct em_arena a;
	em_arena_init(&a);
	static const struct wf files[] = {
		{ "demo/a,b.py", "1\n", 0, 0 },
		{ "demo/q\"uote.py", "2\n", 0, 0 },
		{ "demo/new\nline.py", "3\n", 0, 0 },
		{ "demo/plain.py", "4\n", 0, 0 },
	};
	const char *wn = "demo-1.0-py3-none-any.whl";
	char *unpacked = unpack_new(&a, files, COUNT(files), NULL, CSV_QUOTED, wn);
	struct layout l;
	posix_layout(&a, fresh(&a, "venv"), "3.12", "/opt/venv/bin/python", &l);
	struct em_install_result r;
	struct em_error e = { 0 };
	if (install(unpacked, wn, &l, EM_OS_LINUX, EM_LINK_AUTO, false, 0, &r, &e))
		fail_msg("%s: %s", e.where, e.msg);
	assert_true(exists(em_arena_printf(&a, "%s/demo/a,b.py", l.site)));
	assert_true(exists(em_arena_printf(&a, "%s/demo/q\"uote.py", l.site)));
	assert_true(exists(em_arena_printf(&a, "%s/demo/new\nline.py", l.site)));
	char *rec = slurp(&a, em_arena_printf(&a, "%s/" DI "/RECORD", l.site), NULL);
	char h[64];
	b64_hash("1\n", 2, h);
	assert_non_null(strstr(rec, em_arena_printf(&a, "\"demo/a,b.py\",sha256=%s,2\n", h)));
	b64_hash("2\n", 2, h);
	assert_non_null(strstr(rec, em_arena_printf(&a, "\"demo/q\"\"uote.py\",sha256=%s,2\n", h)));
	b64_hash("3\n", 2, h);
	assert_non_null(strstr(rec, em_arena_printf(&a, "\"demo/new\nline.py\",sha256=%s,2\n", h)));
	b64_hash("4\n", 2, h);
	assert_non_null(strstr(rec, em_arena_printf(&a, "\ndemo/plain.py,sha256=%s,2\n", h)));
	/* a quoted field that never closes */
	char *dir = fresh(&a, "csv");
	assert_int_equal(mkdir(dir, 0755), 0);
	char *path = em_arena_printf(&a, "%s/%s", dir, wn);
	struct zipw z = { EM_BUF_INIT, EM_BUF_INIT, 0 };
	static const char meta[] = "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n";
	static const char wheel[] = "Wheel-Version: 1.0\nRoot-Is-Purelib: true\n";
	static const char bad[] = "\"" DI "/METADATA,sha256=x,1\n";
	zip_add(&z, DI "/METADATA", meta, strlen(meta), S_IFREG | 0644);
	zip_add(&z, DI "/WHEEL", wheel, strlen(wheel), S_IFREG | 0644);
	zip_add(&z, DI "/RECORD", bad, strlen(bad), S_IFREG | 0644);
	zip_finish(&z, path);
	assert_int_equal(em_wheel_unpack(path, em_arena_printf(&a, "%s/x", dir), &e), EM_EINVAL);
	assert_non_null(strstr(e.msg, "a quoted field is not closed"));
	em_arena_release(&a);
}

/* Entry points that cannot become launchers. */
static void test_bad_entry_points(void **state)
{
	(void)state;
	struct em_arena a;
	em_arena_init(&a);
	static const struct {
		const char *text, *msg;
	} cases[] = {
		{ "[console_scripts]\nx = demo.mod\n", "names a module, not a callable" },
		{ "[console_scripts]\nx = demo.mod:main; rm -rf /\n", "invalid object reference" },
		{ "[console_scripts]\nx = demo..mod:main\n", "invalid object reference" },
		{ "[console_scripts]\nx = 1demo:main\n", "invalid object reference" },
		{ "[console_scripts]\n../x = demo:main\n", "cannot be the name of a launcher" },
		{ "[console_scripts]\n.. = demo:main\n", "cannot be the name of a launcher" },
		{ "[console_scripts]\nx\n", "expected 'name = object'" },
		{ "[console_scripts]\nx = a:b\n[gui_scripts]\nx = a:c\n", "defined twice" },
		{ "[console_scripts\nx = a:b\n", "invalid section header" },
	};
	for (size_t i = 0; i < COUNT(cases); i++) {
		struct wf files[] = { { "demo/__init__.py", "", 0, 0 },
				      { DI "/entry_points.txt", cases[i].text, 0, 0 } };
		const char *wn = "demo-1.0-py3-none-any.whl";
		char *unpacked = unpack_new(&a, files, COUNT(files), NULL, 0, wn);
		struct layout l;
		posix_layout(&a, fresh(&a, "venv"), "3.12", "/opt/venv/bin/python", &l);
		struct em_install_result r;
		struct em_error e = { 0 };
		int rc = install(unpacked, wn, &l, EM_OS_LINUX, EM_LINK_AUTO, false, 0, &r, &e);
		if (rc != EM_EINVAL || !strstr(e.msg, cases[i].msg) ||
		    !strstr(e.where, "entry_points.txt:"))
			fail_msg("case %zu: rc %d, %s: %s", i, rc, e.where, e.msg);
	}
	em_arena_release(&a);
}

/* An unpacked tree checked against its RECORD: intact, a file changed in
 * place (same size, other bytes), one of another size, one removed, a mark
 * that names no dist-info folder, no mark. */
static void rewrite(struct em_arena *a, const char *dir, const char *rel, const char *text)
{
	char *p = em_arena_printf(a, "%s/%s", dir, rel);
	assert_int_equal(chmod(p, 0644), 0);
	FILE *f = fopen(p, "r+");
	assert_non_null(f);
	assert_int_equal(ftruncate(fileno(f), 0), 0);
	fputs(text, f);
	fclose(f);
}

static void test_unpacked_check(void **state)
{
	(void)state;
	struct em_arena a;
	em_arena_init(&a);
	static const struct wf files[] = { { "demo/__init__.py", "X = 1\n", 0, 0 },
					   { "demo/b.py", "Y = 2\n", 0, 0 } };
	const char *wn = "demo-1.0-py3-none-any.whl";
	char *dir = unpack_new(&a, files, COUNT(files), NULL, 0, wn);
	struct em_error e = { 0 };
	assert_int_equal(em_wheel_unpacked_check(dir, &e), 0);

	rewrite(&a, dir, "demo/__init__.py", "X = 9\n");
	assert_int_equal(em_wheel_unpacked_check(dir, &e), 1);
	assert_string_equal(e.where, dir);
	assert_non_null(strstr(e.msg, "'demo/__init__.py' was changed: its hash is sha256="));
	rewrite(&a, dir, "demo/__init__.py", "X = 1000\n");
	assert_int_equal(em_wheel_unpacked_check(dir, &e), 1);
	assert_non_null(strstr(e.msg, "'demo/__init__.py' is 9 bytes, but the wheel's RECORD says 6"));
	rewrite(&a, dir, "demo/__init__.py", "X = 1\n");
	assert_int_equal(em_wheel_unpacked_check(dir, &e), 0);
	char *b = em_arena_printf(&a, "%s/demo/b.py", dir);
	assert_int_equal(chmod(em_arena_printf(&a, "%s/demo", dir), 0755), 0);
	assert_int_equal(unlink(b), 0);
	assert_int_equal(em_wheel_unpacked_check(dir, &e), 1);
	assert_non_null(strstr(e.msg, "'demo/b.py' is missing"));

	/* not checkable: no error that says damaged */
	char *mark = em_arena_printf(&a, "%s/" EM_UNPACKED_MARK, dir);
	assert_int_equal(chmod(mark, 0644), 0);
	FILE *f = fopen(mark, "w");
	assert_non_null(f);
	fputs("foo\n", f);
	fclose(f);
	assert_true(em_wheel_unpacked_check(dir, &e) < 0);
	assert_int_equal(unlink(mark), 0);
	assert_int_equal(em_wheel_unpacked_check(dir, &e), EM_ENOTFOUND);
	em_arena_release(&a);
}

/* ---- broken wheels ---- */

struct bad {
	const char *what;
	struct wf files[3];
	size_t n;
	unsigned flags;
	const char *wheel_file;
	const char *msg;
	int code;
};

static const struct bad bad_wheels[] = {
	{ "RECORD lies about a hash", { { "demo/a.py", NULL, 0, 0 } }, 1, LIE_HASH_FIRST, NULL,
	  "member 'demo/a.py' does not match RECORD", EM_EINVAL },
	{ "RECORD lies about a size", { { "demo/a.py", NULL, 0, 0 } }, 1, LIE_SIZE_FIRST, NULL,
	  "member 'demo/a.py' is 12 bytes, but RECORD says 13", EM_EINVAL },
	{ "RECORD lists a missing file", { { "demo/a.py", NULL, 0, 0 } }, 1, EXTRA_ROW, NULL,
	  "RECORD lists 'demo/missing.py', but the wheel has no such member", EM_EINVAL },
	{ "RECORD misses a file", { { "demo/a.py", NULL, 0, 0 } }, 1, NO_RECORD_ROW_FIRST, NULL,
	  "member 'demo/a.py' is not listed in RECORD", EM_EINVAL },
	{ "no RECORD", { { "demo/a.py", NULL, 0, 0 } }, 1, NO_RECORD, NULL,
	  "no member 'demo-1.0.dist-info/RECORD'", EM_EINVAL },
	{ "sha512 in RECORD", { { "demo/a.py", NULL, 0, 0 } }, 1, SHA512_FIRST, NULL,
	  "unsupported kind", EM_EUNSUPPORTED },
	{ "../x", { { "../x", NULL, 0, 0 } }, 1, 0, NULL, "unsafe member name '../x'", EM_EINVAL },
	{ "/etc/x", { { "/etc/x", NULL, 0, 0 } }, 1, 0, NULL, "unsafe member name '/etc/x'",
	  EM_EINVAL },
	/* libarchive turns the backslashes into slashes: "a/../x" */
	{ "a\\..\\x", { { "a\\..\\x", NULL, 0, 0 } }, 1, 0, NULL, "unsafe member name", EM_EINVAL },
	{ "C:x", { { "C:x", NULL, 0, 0 } }, 1, 0, NULL, "it starts with a drive letter", EM_EINVAL },
	{ "demo/../../x", { { "demo/../../x", NULL, 0, 0 } }, 1, 0, NULL, "a '..' segment",
	  EM_EINVAL },
	{ "a symlink", { { "demo/link", "target", S_IFLNK | 0777, 0 } }, 1, ROW_FOR_ALL, NULL,
	  "member 'demo/link' is a symbolic link", EM_EINVAL },
	{ "a symlink outside",
	  { { "demo/link", "../../../../../../etc/passwd", S_IFLNK | 0777, 0 },
	    { "demo/link/x", NULL, 0, 0 } },
	  2, ROW_FOR_ALL, NULL, "member 'demo/link' is a symbolic link", EM_EINVAL },
	{ "a duplicate member", { { "demo/a.py", NULL, 0, 0 } }, 1, DUP_FIRST, NULL,
	  "member 'demo/a.py' appears more than once", EM_EINVAL },
	{ "a truncated zip", { { "demo/a.py", NULL, 0, 0 } }, 1, TRUNCATE, NULL,
	  "not a readable zip file", EM_EINVAL },
	{ "an unknown .data folder", { { DD "/unknown/x", NULL, 0, 0 } }, 1, 0, NULL,
	  "'demo-1.0.data/unknown/x' is in an unknown folder 'unknown' of 'demo-1.0.data'",
	  EM_EINVAL },
	{ "a file right in .data/scripts' parent", { { DD "/scripts", NULL, 0, 0 } }, 1, 0, NULL,
	  "is not inside a scheme folder", EM_EINVAL },
	{ "Wheel-Version 2.0", { { "demo/a.py", NULL, 0, 0 } }, 1, 0,
	  "Wheel-Version: 2.0\nRoot-Is-Purelib: true\n", "Wheel-Version '2.0' is not supported",
	  EM_EUNSUPPORTED },
	{ "no Wheel-Version", { { "demo/a.py", NULL, 0, 0 } }, 1, 0, "Root-Is-Purelib: true\n",
	  "has no Wheel-Version", EM_EINVAL },
	{ "two dist-info folders",
	  { { "demo/a.py", NULL, 0, 0 }, { "other-1.0.dist-info/METADATA", NULL, 0, 0 } }, 2, 0,
	  NULL, "more than one .dist-info folder", EM_EINVAL },
	{ "the mark file", { { EM_UNPACKED_MARK, NULL, 0, 0 } }, 1, 0, NULL,
	  "has a name envmatrix keeps", EM_EINVAL },
	{ "a file and a folder of one name",
	  { { "demo/a", NULL, 0, 0 }, { "demo/a/b", NULL, 0, 0 } }, 2, 0, NULL,
	  "cannot create", EM_EIO },
};

/* Only the wheel (and an empty cache folder) may be left in dir. */
static void assert_only_wheel(struct em_arena *a, const char *dir, const char *what)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *n = de->d_name;
		if (!strcmp(n, ".") || !strcmp(n, "..") || !strcmp(n, "w") ||
		    !strcmp(n, "demo-1.0-py3-none-any.whl"))
			continue;
		if (!strcmp(n, "cache")) {
			DIR *c = opendir(em_arena_printf(a, "%s/cache", dir));
			struct dirent *ce;
			while ((ce = readdir(c)))
				if (strcmp(ce->d_name, ".") && strcmp(ce->d_name, ".."))
					fail_msg("%s: '%s' left in the cache", what, ce->d_name);
			closedir(c);
			continue;
		}
		fail_msg("%s: '%s' written outside the target folder", what, n);
	}
	closedir(d);
}

static void test_bad_wheels(void **state)
{
	(void)state;
	struct em_arena a;
	em_arena_init(&a);
	for (size_t i = 0; i < COUNT(bad_wheels); i++) {
		const struct bad *b = &bad_wheels[i];
		/* the wheel sits in dir/w/, the target is dir/w/cache/x, so
		 * "../x" and deeper escapes would land in dir/w or dir */
		char *dir = fresh(&a, "bad");
		assert_int_equal(mkdir(dir, 0755), 0);
		char *wdir = em_arena_printf(&a, "%s/w", dir);
		assert_int_equal(mkdir(wdir, 0755), 0);
		char *path = em_arena_printf(&a, "%s/demo-1.0-py3-none-any.whl", wdir);
		make_wheel(path, DI, b->files, b->n, b->wheel_file, b->flags);
		char *target = em_arena_printf(&a, "%s/cache/x", wdir);
		struct em_error e = { 0 };
		int rc = em_wheel_unpack(path, target, &e);
		if (rc != b->code || !strstr(e.msg, b->msg) || strncmp(e.where, path, strlen(path)))
			fail_msg("%s: rc %d, '%s: %s' (expected %d, '%s')", b->what, rc, e.where,
				 e.msg, b->code, b->msg);
		assert_false(exists(target));
		assert_only_wheel(&a, wdir, b->what);
		assert_only_wheel(&a, dir, b->what);
		assert_false(exists("/etc/x"));
	}
	/* a FIFO or a device: libarchive's zip reader knows only files,
	 * folders and links and reports them as files, so a regular file is
	 * what comes out - never a FIFO or a device node */
	char *dir = fresh(&a, "fifo");
	assert_int_equal(mkdir(dir, 0755), 0);
	char *path = em_arena_printf(&a, "%s/demo-1.0-py3-none-any.whl", dir);
	static const struct wf odd_types[] = { { "demo/fifo", "", S_IFIFO | 0644, 0 },
					       { "demo/dev", "", S_IFCHR | 0644, 0 } };
	make_wheel(path, DI, odd_types, 2, NULL, ROW_FOR_ALL);
	struct em_error e = { 0 };
	char *target = em_arena_printf(&a, "%s/cache/x", dir);
	if (em_wheel_unpack(path, target, &e) == 0) {
		struct stat st;
		assert_int_equal(lstat(em_arena_printf(&a, "%s/demo/fifo", target), &st), 0);
		assert_true(S_ISREG(st.st_mode));
		assert_int_equal(lstat(em_arena_printf(&a, "%s/demo/dev", target), &st), 0);
		assert_true(S_ISREG(st.st_mode));
	} else {
		assert_non_null(strstr(e.msg, "is not a regular file or a folder"));
	}

	/* a zip with corrupt data (its CRC-32 fails) */
	dir = fresh(&a, "bad");
	assert_int_equal(mkdir(dir, 0755), 0);
	path = em_arena_printf(&a, "%s/demo-1.0-py3-none-any.whl", dir);
	static const struct wf one[] = { { "demo/a.py", "print('hello, world')\n", 0, 0 } };
	make_wheel(path, DI, one, 1, NULL, 0);
	size_t len = 0;
	char *zip = slurp(&a, path, &len);
	char *hit = memmem(zip, len, "hello", 5);
	assert_non_null(hit);
	hit[0] = 'j';
	write_bytes(path, zip, len);
	target = em_arena_printf(&a, "%s/cache/x", dir);
	assert_int_equal(em_wheel_unpack(path, target, &e), EM_EINVAL);
	assert_non_null(strstr(e.msg, "demo/a.py"));
	assert_false(exists(target));
	assert_only_wheel(&a, dir, "corrupt data");
	/* the wheel's own name must parse */
	char *odd = em_arena_printf(&a, "%s/not-a-wheel.zip", dir);
	write_bytes(odd, zip, len);
	assert_int_equal(em_wheel_unpack(odd, target, &e), EM_EINVAL);
	assert_false(exists(target));
	/* a dist-info of another project */
	char *other = em_arena_printf(&a, "%s/other-1.0-py3-none-any.whl", dir);
	make_wheel(other, DI, one, 1, NULL, 0);
	assert_int_equal(em_wheel_unpack(other, target, &e), EM_EINVAL);
	assert_non_null(strstr(e.msg, "does not match its name"));
	/* a target that exists and is not an unpacked wheel */
	assert_int_equal(em_mkdir_p(target, &e), 0);
	make_wheel(path, DI, one, 1, NULL, 0);
	assert_int_equal(em_wheel_unpack(path, target, &e), EM_EINVAL);
	assert_non_null(strstr(e.msg, "not an unpacked wheel"));
	em_arena_release(&a);
}

/* ---- many files, threads, concurrent unpackers ---- */

struct unpack_arg {
	const char *wheel, *dir;
	int rc;
	struct em_error e;
};

static void *unpack_thread(void *p)
{
	struct unpack_arg *u = p;
	u->rc = em_wheel_unpack(u->wheel, u->dir, &u->e);
	return NULL;
}

static void test_big_wheel(void **state)
{
	(void)state;
	struct em_arena a;
	em_arena_init(&a);
	enum { N = 3000 };
	struct wf *files = em_arena_array(&a, N, sizeof *files);
	for (size_t i = 0; i < N; i++) {
		files[i].name = em_arena_printf(&a, "big/d%zu/e%zu/f%zu.py", i % 37, i % 5, i);
		files[i].data = NULL;
		files[i].mode = i % 11 ? 0 : (S_IFREG | 0755);
		files[i].len = 0;
	}
	char *dir = fresh(&a, "big");
	assert_int_equal(mkdir(dir, 0755), 0);
	const char *wn = "demo-1.0-cp312-cp312-linux_x86_64.whl";
	char *path = em_arena_printf(&a, "%s/%s", dir, wn);
	make_wheel(path, DI, files, N, "Wheel-Version: 1.0\nRoot-Is-Purelib: false\n", 0);
	/* four unpackers of one wheel at once: all succeed, one tree stays */
	char *unpacked = em_arena_printf(&a, "%s/cache/%s", dir, wn);
	struct unpack_arg u[4];
	pthread_t th[4];
	for (int k = 0; k < 4; k++) {
		u[k] = (struct unpack_arg){ path, unpacked, -1, { 0 } };
		assert_int_equal(pthread_create(&th[k], NULL, unpack_thread, &u[k]), 0);
	}
	for (int k = 0; k < 4; k++) {
		pthread_join(th[k], NULL);
		if (u[k].rc)
			fail_msg("unpacker %d: %s: %s", k, u[k].e.where, u[k].e.msg);
	}
	DIR *d = opendir(em_arena_printf(&a, "%s/cache", dir));
	struct dirent *de;
	size_t entries = 0;
	while ((de = readdir(d)))
		entries += de->d_name[0] != '.';
	closedir(d);
	assert_int_equal(entries, 1); /* no temporary folder left */

	for (unsigned jobs = 1; jobs <= 8; jobs *= 8) {
		struct layout l;
		posix_layout(&a, fresh(&a, "venv"), "3.12", "/opt/venv/bin/python", &l);
		l.s.purelib = em_arena_printf(&a, "%s/lib/python3.12/site-packages", l.top);
		l.s.platlib = em_arena_printf(&a, "%s/lib64/python3.12/site-packages", l.top);
		struct em_install_result r;
		struct em_error e = { 0 };
		if (install(unpacked, wn, &l, EM_OS_LINUX, EM_LINK_AUTO, false, jobs, &r, &e))
			fail_msg("%s: %s", e.where, e.msg);
		assert_int_equal(r.files, N + 2 + 2); /* METADATA, WHEEL, INSTALLER, RECORD */
		/* Root-Is-Purelib false: the root goes to platlib */
		assert_true(exists(em_arena_printf(&a, "%s/big/d0/e0/f0.py", l.s.platlib)));
		assert_false(exists(l.s.purelib));
		assert_int_equal(check_record(&a, l.top, l.s.platlib, DI), r.files);
		struct stat st;
		assert_int_equal(stat(em_arena_printf(&a, "%s/big/d0/e0/f0.py", l.s.platlib), &st), 0);
		assert_int_equal(st.st_mode & 07777, 0555);
	}
	em_arena_release(&a);
}

/* ---- a full disk ---- */

static void test_full_disk(void **state)
{
	(void)state;
	struct em_arena a;
	em_arena_init(&a);
	char *mnt = fresh(&a, "tmpfs");
	assert_int_equal(mkdir(mnt, 0755), 0);
	struct em_proc_result pr;
	struct em_error e = { 0 };
	const char *mount_argv[] = { "mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", mnt, NULL };
	if (geteuid() != 0 || em_proc_run(&a, mount_argv, NULL, 4096, 20000, &pr, &e) ||
	    pr.status != 0) {
		print_message("SKIP: cannot mount a small tmpfs here (%s)\n",
			      geteuid() ? "not root" : (pr.err && *pr.err ? pr.err : e.msg));
		em_arena_release(&a);
		skip();
	}
	/* 1 MiB of data in a wheel (stored: the wheel itself is 1 MiB) */
	size_t big = 1u << 20;
	char *data = malloc(big);
	assert_non_null(data);
	for (size_t i = 0; i < big; i++)
		data[i] = (char)('a' + (i * 7919 % 26));
	struct wf files[] = { { "demo/big.bin", data, 0, big } };
	char *wdir = fresh(&a, "fullw");
	assert_int_equal(mkdir(wdir, 0755), 0);
	const char *wn = "demo-1.0-py3-none-any.whl";
	char *path = em_arena_printf(&a, "%s/%s", wdir, wn);
	make_wheel(path, DI, files, 1, NULL, 0);
	free(data);
	/* unpacking onto the full disk */
	char *target = em_arena_printf(&a, "%s/cache/demo", mnt);
	int rc = em_wheel_unpack(path, target, &e);
	bool ok = rc == EM_EIO && strstr(e.msg, "no space left");
	char msg[2048];
	snprintf(msg, sizeof msg, "%s: %s", e.where, e.msg);
	bool left = exists(target);
	DIR *d = opendir(em_arena_printf(&a, "%s/cache", mnt));
	size_t n = 0;
	struct dirent *de;
	while (d && (de = readdir(d)))
		n += de->d_name[0] != '.';
	if (d)
		closedir(d);
	/* installing onto it: hard links cannot cross, auto copies, no space */
	char *unpacked = em_arena_printf(&a, "%s/cache/demo", wdir);
	assert_int_equal(em_wheel_unpack(path, unpacked, &e), 0);
	struct layout l;
	posix_layout(&a, em_arena_printf(&a, "%s/venv", mnt), "3.12", "/opt/venv/bin/python", &l);
	struct em_install_result r;
	int rc2 = install(unpacked, wn, &l, EM_OS_LINUX, EM_LINK_AUTO, false, 0, &r, &e);
	char msg2[2048];
	snprintf(msg2, sizeof msg2, "%s: %s", e.where, e.msg);
	const char *umount_argv[] = { "umount", mnt, NULL };
	EM_IGNORE(em_proc_run(&a, umount_argv, NULL, 4096, 20000, &pr, &e)); /* cleanup */
	if (!ok)
		fail_msg("unpacking onto a full disk: rc %d, %s", rc, msg);
	assert_false(left);
	assert_int_equal(n, 0);
	if (rc2 != EM_EIO || !strstr(msg2, "no space left") || !strstr(msg2, wn))
		fail_msg("installing onto a full disk: rc %d, %s", rc2, msg2);
	print_message("ok: %s\nok: %s\n", msg, msg2);
	em_arena_release(&a);
}

static int setup_root(void **state)
{
	(void)state;
	const char *t = getenv("TMPDIR");
	snprintf(root, sizeof root, "%s/envmatrix-install.XXXXXX", t && *t ? t : "/tmp");
	return mkdtemp(root) ? 0 : -1;
}

static int teardown_root(void **state)
{
	(void)state;
	return em_remove_tree(root, NULL) ? -1 : 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_link_modes),
		cmocka_unit_test(test_made_wheel),
		cmocka_unit_test(test_record_csv),
		cmocka_unit_test(test_bad_entry_points),
		cmocka_unit_test(test_bad_wheels),
		cmocka_unit_test(test_unpacked_check),
		cmocka_unit_test(test_big_wheel),
		cmocka_unit_test(test_real_wheels),
		cmocka_unit_test(test_real_interpreters),
		cmocka_unit_test(test_full_disk),
	};
	return cmocka_run_group_tests(tests, setup_root, teardown_root);
}
