/* test_build.c - the pure and local parts of building from source:
 * [build-system] as pip reads it (defaults, the legacy backend, bad
 * values), and unpacking sdists with the member checks (archives written
 * here with libarchive: a good one, '..', absolute names, links out, hard
 * links to nothing earlier, two top folders, a zip). The builds themselves
 * run in tests/cli/test_build.sh with real interpreters and backends. */
#include "testutil.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build.h"
#include "os/fs.h"

struct ctx {
	struct em_arena a;
	struct em_error e;
	char dir[64];
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof *c);
	if (!c)
		return -1;
	em_arena_init(&c->a);
	strcpy(c->dir, "/tmp/em-test-build.XXXXXX");
	if (!mkdtemp(c->dir)) {
		free(c);
		return -1;
	}
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;
	em_remove_tree(c->dir, NULL);
	em_arena_release(&c->a);
	free(c);
	return 0;
}

static int read_bs(struct ctx *c, const char *text, struct em_build_system *bs)
{
	em_error_clear(&c->e);
	return em_build_system_read(&c->a, text, text ? strlen(text) : 0, "pyproject.toml", bs,
				    &c->e);
}

static void test_build_system(void **state)
{
	struct ctx *c = *state;
	struct em_build_system bs;

	/* no file, no table: pip's defaults */
	assert_int_equal(read_bs(c, NULL, &bs), 0);
	assert_true(bs.legacy);
	assert_int_equal(bs.nrequires, 1);
	assert_string_equal(bs.requires[0], "setuptools>=40.8.0");
	assert_string_equal(bs.backend, "setuptools.build_meta:__legacy__");
	assert_int_equal(read_bs(c, "[project]\nname = \"x\"\n", &bs), 0);
	assert_true(bs.legacy);
	assert_string_equal(bs.backend, "setuptools.build_meta:__legacy__");

	/* requires without a backend: the legacy backend with those requires */
	assert_int_equal(read_bs(c, "[build-system]\nrequires = [\"setuptools>=61\", \"wheel\"]\n", &bs), 0);
	assert_int_equal(bs.nrequires, 2);
	assert_string_equal(bs.requires[1], "wheel");
	assert_string_equal(bs.backend, "setuptools.build_meta:__legacy__");

	/* everything */
	assert_int_equal(read_bs(c, "[build-system]\nrequires = []\n"
				    "build-backend = \"backend.sub:obj.inner\"\n"
				    "backend-path = [\".\", \"tools/backend\"]\n", &bs), 0);
	assert_false(bs.legacy);
	assert_int_equal(bs.nrequires, 0);
	assert_string_equal(bs.backend, "backend.sub:obj.inner");
	assert_int_equal(bs.nbackend_path, 2);
	assert_string_equal(bs.backend_path[1], "tools/backend");

	/* mistakes, each naming the line */
	static const char *const bad[][2] = {
		{ "[build-system]\nrequires = \"setuptools\"\n", "line 2: build-system.requires is a string" },
		{ "[build-system]\nrequires = [1]\n", "holds an integer" },
		{ "[build-system]\nrequires = []\nbuild-backend = \"a b\"\n", "line 3: build-system.build-backend" },
		{ "[build-system]\nrequires = []\nbuild-backend = \"a:b:c\"\n", "module[:object]" },
		{ "[build-system]\nrequires = []\nbuild-backend = \".a\"\n", "module[:object]" },
		{ "[build-system]\nrequires = []\nbackend-path = [\"../up\"]\n", "inside the source tree" },
		{ "[build-system]\nrequires = []\nbackend-path = [\"/abs\"]\n", "inside the source tree" },
		{ "[build-system]\nrequires = []\nbackend-path = \"x\"\n", "not an array" },
		{ "build-system = 3\n", "not a table" },
		{ "[build-system\n", "" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int rc = read_bs(c, bad[i][0], &bs);
		if (rc != EM_EINVAL || !strstr(c->e.msg, bad[i][1]))
			fail_msg("'%s': rc %d, message '%s' (want '%s')", bad[i][0], rc, c->e.msg,
				 bad[i][1]);
	}
}

/* members: "f:NAME" a file, "d:NAME" a folder, "l:NAME>TARGET" a symbolic
 * link, "h:NAME>TARGET" a hard link */
static void write_archive(const char *path, bool zip, const char *const *members, size_t n)
{
	struct archive *w = archive_write_new();
	assert_non_null(w);
	if (zip) {
		archive_write_set_format_zip(w);
	} else {
		archive_write_set_format_pax_restricted(w);
		archive_write_add_filter_gzip(w);
	}
	assert_int_equal(archive_write_open_filename(w, path), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *ent = archive_entry_new();
		char name[256];
		snprintf(name, sizeof name, "%s", members[i] + 2);
		char *gt = strchr(name, '>');
		if (gt)
			*gt++ = '\0';
		archive_entry_set_pathname(ent, name);
		archive_entry_set_perm(ent, 0644);
		const char *data = "x = 1\n";
		switch (members[i][0]) {
		case 'f':
			archive_entry_set_filetype(ent, AE_IFREG);
			archive_entry_set_size(ent, (la_int64_t)strlen(data));
			break;
		case 'd':
			archive_entry_set_filetype(ent, AE_IFDIR);
			break;
		case 'l':
			archive_entry_set_filetype(ent, AE_IFLNK);
			archive_entry_set_symlink(ent, gt);
			break;
		case 'h':
			archive_entry_set_filetype(ent, AE_IFREG);
			archive_entry_set_hardlink(ent, gt);
			break;
		}
		assert_true(archive_write_header(w, ent) >= ARCHIVE_WARN);
		if (members[i][0] == 'f')
			archive_write_data(w, data, strlen(data));
		archive_entry_free(ent);
	}
	archive_write_close(w);
	archive_write_free(w);
}

static int unpack(struct ctx *c, const char *name, bool zip, const char *const *members,
		  size_t n, const char **top)
{
	char path[128], dest[128];
	snprintf(path, sizeof path, "%s/%s", c->dir, name);
	snprintf(dest, sizeof dest, "%s/%s.out", c->dir, name);
	write_archive(path, zip, members, n);
	em_error_clear(&c->e);
	return em_sdist_unpack(&c->a, path, dest, top, &c->e);
}

#define N(x) (sizeof(x) / sizeof(x)[0])

static void test_unpack(void **state)
{
	struct ctx *c = *state;
	const char *top;
	struct stat st;
	char p[256];

	static const char *const good[] = { "d:pkg-1.0/", "f:pkg-1.0/pyproject.toml",
					    "f:pkg-1.0/src/pkg/__init__.py",
					    "l:pkg-1.0/link.py>src/pkg/__init__.py",
					    "h:pkg-1.0/again.py>pkg-1.0/pyproject.toml" };
	assert_int_equal(unpack(c, "good.tar.gz", false, good, N(good), &top), 0);
	snprintf(p, sizeof p, "%s/good.tar.gz.out/pkg-1.0", c->dir);
	assert_string_equal(top, p);
	snprintf(p, sizeof p, "%s/src/pkg/__init__.py", top);
	assert_int_equal(stat(p, &st), 0);
	snprintf(p, sizeof p, "%s/link.py", top);
	assert_int_equal(stat(p, &st), 0);
	snprintf(p, sizeof p, "%s/again.py", top);
	assert_int_equal(stat(p, &st), 0);

	static const char *const zipped[] = { "f:pkg-2.0/setup.py", "f:pkg-2.0/pkg.py" };
	assert_int_equal(unpack(c, "good.zip", true, zipped, N(zipped), &top), 0);
	assert_non_null(strstr(top, "/pkg-2.0"));

	static const struct {
		const char *name;
		const char *members[3];
		const char *msg;
	} bad[] = {
		{ "dotdot.tar.gz", { "f:pkg-1.0/a", "f:pkg-1.0/../../escaped" }, "'..' segment" },
		{ "abs.tar.gz", { "f:/etc/escaped" }, "escaped" },
		{ "linkout.tar.gz", { "l:pkg-1.0/x>../../etc/passwd" }, "outside the archive's tree" },
		{ "linkabs.tar.gz", { "l:pkg-1.0/x>/etc/passwd" }, "outside the archive's tree" },
		{ "hard.tar.gz", { "h:pkg-1.0/x>pkg-1.0/nothing" }, "not an earlier file" },
		{ "through.tar.gz", { "l:pkg-1.0/d>.", "f:pkg-1.0/d/x" }, "not a folder" },
		{ "two.tar.gz", { "f:a-1.0/x", "f:b-1.0/y" }, "exactly one top folder" },
		{ "flat.tar.gz", { "f:setup.py" }, "exactly one top folder" },
	};
	for (size_t i = 0; i < N(bad); i++) {
		size_t n = 0;
		while (n < 3 && bad[i].members[n])
			n++;
		int rc = unpack(c, bad[i].name, false, bad[i].members, n, &top);
		if (rc == 0 || !strstr(c->e.msg, bad[i].msg))
			fail_msg("%s: rc %d, '%s: %s' (want '%s')", bad[i].name, rc, c->e.where,
				 c->e.msg, bad[i].msg);
	}
	/* nothing escaped */
	snprintf(p, sizeof p, "%s/escaped", c->dir);
	assert_int_not_equal(stat(p, &st), 0);
	assert_int_not_equal(stat("/tmp/escaped", &st), 0);
}

static void test_driver_embedded(void **state)
{
	(void)state;
	/* the driver is the file, byte for byte */
	size_t len;
	char *src = tu_read_file(EM_SRCDIR "/src/data/pep517_driver.py", &len);
	assert_non_null(src);
	assert_int_equal(strlen(em_build_driver_py), len);
	assert_memory_equal(em_build_driver_py, src, len);
	free(src);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_build_system, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unpack, setup, teardown),
		cmocka_unit_test(test_driver_embedded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
