/* test_mirror.c - index pages written by index_write.h read back by
 * index.h, their exact bytes, and em_mirror_run on hand-made locks (an
 * sdist, a VCS package, mistakes); tests/cli/test_mirror.sh runs mirrors of
 * whole matrices */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "os/fs.h"
#include "spec/index.h"
#include "index_write.h"
#include "spec/matrix.h"
#include "mirror.h"
#include "util/sha256.h"

#define PAGE "https://mirror.example/simple/demo/"
#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static const struct em_index_write_file files[] = {
	{ .filename = "demo-1.0+cu126-py3-none-any.whl",
	  .url = "demo-1.0%2Bcu126-py3-none-any.whl",
	  .sha256 = SHA_A,
	  .requires_python = "<4,>=3.9",
	  .has_metadata = true,
	  .metadata_sha256 = SHA_B,
	  .size = 1234,
	  .upload_time = "2025-01-01T00:00:00Z" },
	{ .filename = "demo-0.9.tar.gz",
	  .url = "../../files/demo-0.9.tar.gz",
	  .yanked = true,
	  .yank_reason = "broken \"build\" & <more>",
	  .size = -1 },
	{ .filename = "demo-0.8-py3-none-any.whl",
	  .url = "demo-0.8-py3-none-any.whl",
	  .sha256 = SHA_B,
	  .has_metadata = true,
	  .yanked = true,
	  .size = 0 },
};
#define NFILES (sizeof files / sizeof files[0])

static const struct em_index_file *find(const struct em_index_page *p, const char *name)
{
	for (uint32_t i = 0; i < p->nfiles; i++)
		if (!strcmp(p->files[i].filename, name))
			return &p->files[i];
	fail_msg("no file '%s' among %u", name, p->nfiles);
	return NULL;
}

static void check_page(const struct em_index_page *p, bool json)
{
	assert_int_equal(p->nfiles, NFILES);
	assert_int_equal(p->nskipped, 0);
	const struct em_index_file *f = find(p, "demo-1.0+cu126-py3-none-any.whl");
	assert_string_equal(f->url, PAGE "demo-1.0%2Bcu126-py3-none-any.whl");
	assert_string_equal(f->sha256, SHA_A);
	assert_string_equal(f->requires_python, "<4,>=3.9");
	assert_true(f->has_metadata);
	assert_string_equal(f->metadata_sha256, SHA_B);
	assert_false(f->yanked);
	if (json) {
		assert_int_equal(f->size, 1234);
		assert_string_equal(f->upload_time, "2025-01-01T00:00:00Z");
	}
	f = find(p, "demo-0.9.tar.gz");
	assert_string_equal(f->url, "https://mirror.example/files/demo-0.9.tar.gz");
	assert_null(f->sha256);
	assert_null(f->requires_python);
	assert_false(f->has_metadata);
	assert_true(f->yanked);
	assert_string_equal(f->yank_reason, "broken \"build\" & <more>");
	assert_int_equal(f->size, -1);
	f = find(p, "demo-0.8-py3-none-any.whl");
	assert_true(f->has_metadata);
	assert_null(f->metadata_sha256);
	assert_true(f->yanked);
	assert_string_equal(f->yank_reason, "");
	if (json)
		assert_int_equal(f->size, 0);
}

static void test_round_trip(void **state)
{
	(void)state;
	struct em_arena a;
	em_arena_init(&a);
	struct em_error e;
	struct em_buf b = EM_BUF_INIT;
	struct em_index_page p;
	assert_int_equal(em_index_write_project_html(&b, "demo", files, NFILES, &e), 0);
	assert_int_equal(em_index_parse_html(&a, PAGE, b.ptr, b.len, &p, &e), 0);
	check_page(&p, false);
	em_buf_reset(&b);
	const char *versions[] = { "0.8", "0.9", "1.0+cu126" };
	assert_int_equal(em_index_write_project_json(&b, "demo", versions, 3, files, NFILES, &e), 0);
	assert_int_equal(em_index_parse_json(&a, PAGE, b.ptr, b.len, &p, &e), 0);
	check_page(&p, true);
	assert_non_null(strstr(b.ptr, "\"versions\": [\n  \"0.8\",\n  \"0.9\",\n  \"1.0+cu126\"\n ]"));
	assert_null(strstr(b.ptr, "upload-time\": null"));
	em_buf_release(&b);
	em_arena_release(&a);
}

/* The exact bytes: mkindex's committed demo pages are made by the same
 * functions, so a change here shows up in `make demo-index` too. */
static void test_exact_bytes(void **state)
{
	(void)state;
	struct em_error e;
	struct em_buf b = EM_BUF_INIT;
	assert_int_equal(em_index_write_project_html(&b, "demo", files, 1, &e), 0);
	assert_string_equal(
		b.ptr,
		"<!DOCTYPE html>\n<html>\n  <head>\n"
		"    <meta name=\"pypi:repository-version\" content=\"1.1\">\n"
		"    <title>Links for demo</title>\n  </head>\n  <body>\n"
		"    <h1>Links for demo</h1>\n"
		"    <a href=\"demo-1.0%2Bcu126-py3-none-any.whl#sha256=" SHA_A "\""
		" data-requires-python=\"&lt;4,&gt;=3.9\""
		" data-dist-info-metadata=\"sha256=" SHA_B "\""
		" data-core-metadata=\"sha256=" SHA_B "\">demo-1.0+cu126-py3-none-any.whl</a><br/>\n"
		"  </body>\n</html>\n");
	em_buf_reset(&b);
	const struct em_index_write_project pr[] = { { "Demo_Pkg", "demo-pkg" }, { "x", "x" } };
	assert_int_equal(em_index_write_root_html(&b, pr, 2, &e), 0);
	assert_string_equal(
		b.ptr,
		"<!DOCTYPE html>\n<html>\n  <head>\n"
		"    <meta name=\"pypi:repository-version\" content=\"1.1\">\n"
		"    <title>Simple index</title>\n  </head>\n  <body>\n"
		"    <a href=\"demo-pkg/\">Demo_Pkg</a><br/>\n"
		"    <a href=\"x/\">x</a><br/>\n"
		"  </body>\n</html>\n");
	em_buf_reset(&b);
	assert_int_equal(em_index_write_root_json(&b, pr, 2, &e), 0);
	assert_string_equal(b.ptr, "{\n \"meta\": {\n  \"api-version\": \"1.1\"\n },\n"
				   " \"projects\": [\n  {\n   \"name\": \"Demo_Pkg\"\n  },\n"
				   "  {\n   \"name\": \"x\"\n  }\n ]\n}\n");
	em_buf_reset(&b);
	assert_int_equal(em_index_write_root_json(&b, NULL, 0, &e), 0);
	assert_string_equal(b.ptr, "{\n \"meta\": {\n  \"api-version\": \"1.1\"\n },\n"
				   " \"projects\": []\n}\n");
	em_buf_release(&b);
}

static void test_limit(void **state)
{
	(void)state;
	struct em_error e;
	struct em_buf b;
	em_buf_init(&b, 64);
	assert_int_equal(em_index_write_project_html(&b, "demo", files, NFILES, &e), EM_ELIMIT);
	em_buf_release(&b);
}

/* ---- em_mirror_run on hand-made locks ---- */

struct fx {
	char root[64];
	struct em_arena a;
	struct em_matrix m;
	char *matrix;
	char sdist_sha[EM_SHA256_HEX_LEN + 1];
};

static void put(const char *path, const char *text)
{
	struct em_error e;
	assert_int_equal(em_write_file_atomic(path, text, strlen(text), 0644, &e), 0);
}

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	if (!f)
		return -1;
	snprintf(f->root, sizeof f->root, "/tmp/envmatrix-mirror.XXXXXX");
	if (!mkdtemp(f->root))
		return -1;
	em_arena_init(&f->a);
	char *cache = em_arena_printf(&f->a, "%s/cache", f->root);
	setenv("ENVMATRIX_CACHE_DIR", cache, 1);
	tu_settings_from_env();
	f->matrix = em_arena_printf(&f->a, "%s/matrix.ini", f->root);
	const char *text = "[matrix]\nindex-url = simple\n\n[hand]\npython = 3.12.10\n"
			   "platform = linux-x86_64\n\n[other]\npython = 3.12.10\n"
			   "platform = linux-x86_64\npath = other\n";
	put(f->matrix, text);
	struct em_error e;
	assert_int_equal(em_matrix_parse(&f->a, text, strlen(text), f->matrix, &f->m, &e), 0);
	/* a stand-in sdist: the mirror checks hashes, not contents */
	const char *sd = "not really a tarball\n";
	put(em_arena_printf(&f->a, "%s/demo-1.0.tar.gz", f->root), sd);
	em_sha256_buf(sd, strlen(sd), f->sdist_sha);
	char *lock = em_arena_printf(
		&f->a,
		"lock-version = \"1.0\"\ncreated-by = \"a hand\"\n\n"
		"[[packages]]\nname = \"demo\"\nversion = \"1.0\"\n"
		"sdist = { path = \"demo-1.0.tar.gz\", size = %zu, upload-time = "
		"2025-01-02T03:04:05Z, hashes = { sha256 = \"%s\" } }\n\n"
		"[[packages]]\nname = \"gitpkg\"\nversion = \"2.0\"\n"
		"vcs = { type = \"git\", url = \"https://example.invalid/g.git\", commit-id = "
		"\"0123456789abcdef0123456789abcdef01234567\" }\n",
		strlen(sd), f->sdist_sha);
	put(em_arena_printf(&f->a, "%s/pylock.hand.toml", f->root), lock);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;
	em_remove_tree(f->root, NULL);
	em_arena_release(&f->a);
	free(f);
	return 0;
}

static void test_run_sdist(void **state)
{
	struct fx *f = *state;
	struct em_error e;
	em_error_clear(&e);
	const char *only[] = { "hand" };
	char *dir = em_arena_printf(&f->a, "%s/out", f->root);
	struct em_mirror_options o = { .matrix_path = f->matrix, .nonly = 1, .only = only,
				       .dir = dir };
	struct em_mirror_result r;
	int rc = em_mirror_run(&f->a, &f->m, &o, &r, &e);
	assert_int_equal(rc, 0);
	assert_int_equal(r.nlocks, 1);
	assert_int_equal(r.nfiles, 1);
	assert_int_equal(r.nplaced, 1);
	assert_int_equal(r.npresent, 0);
	assert_int_equal(r.nprojects, 1);
	assert_string_equal(r.projects[0].name, "demo");
	assert_string_equal(r.projects[0].index, "simple");
	assert_int_equal(r.projects[0].nversions, 1);
	assert_string_equal(r.projects[0].versions[0], "1.0");
	assert_int_equal(r.nvariants, 0);
	assert_null(r.torch_index_url);
	assert_int_equal(r.nskipped, 1);
	assert_non_null(strstr(r.skipped[0], "gitpkg 2.0"));
	char *want = em_arena_printf(&f->a, "file://%s/simple", dir);
	assert_string_equal(r.index_url, want);

	char *page;
	size_t len;
	assert_int_equal(em_read_file(&f->a, em_arena_printf(&f->a, "%s/simple/demo/index.json", dir),
				      1 << 20, &page, &len, &e), 0);
	struct em_index_page p;
	assert_int_equal(em_index_parse_json(&f->a, PAGE, page, len, &p, &e), 0);
	assert_int_equal(p.nfiles, 1);
	assert_string_equal(p.files[0].sha256, f->sdist_sha);
	assert_false(p.files[0].has_metadata);
	assert_int_equal(p.files[0].size, 21);
	assert_string_equal(p.files[0].upload_time, "2025-01-02T03:04:05Z");
	struct stat st;
	assert_int_equal(stat(em_arena_printf(&f->a, "%s/simple/demo/demo-1.0.tar.gz", dir), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);

	/* again: nothing to do */
	rc = em_mirror_run(&f->a, &f->m, &o, &r, &e);
	assert_int_equal(rc, 0);
	assert_int_equal(r.nplaced, 0);
	assert_int_equal(r.npresent, 1);
	assert_int_equal(r.npages, 0);
}

static void test_run_errors(void **state)
{
	struct fx *f = *state;
	struct em_error e;
	char *dir = em_arena_printf(&f->a, "%s/out", f->root);
	struct em_mirror_options o = { .matrix_path = f->matrix, .dir = dir };
	struct em_mirror_result r;

	/* every workload: 'other' has no lock */
	em_error_clear(&e);
	assert_int_equal(em_mirror_run(&f->a, &f->m, &o, &r, &e), EM_ENOTFOUND);
	assert_string_equal(e.where, em_arena_printf(&f->a, "%s/pylock.other.toml", f->root));
	assert_string_equal(e.msg, "workload 'other' has no lock; run 'envmatrix plan' first");
	struct stat st;
	assert_int_not_equal(stat(dir, &st), 0); /* nothing written */

	const char *only[] = { "nope" };
	o.nonly = 1;
	o.only = only;
	em_error_clear(&e);
	assert_int_equal(em_mirror_run(&f->a, &f->m, &o, &r, &e), EM_ENOTFOUND);
	assert_non_null(strstr(e.msg, "no workload 'nope'"));

	/* the sdist's bytes are not the lock's */
	only[0] = "hand";
	put(em_arena_printf(&f->a, "%s/demo-1.0.tar.gz", f->root), "not really a tarbalL\n");
	em_error_clear(&e);
	int rc = em_mirror_run(&f->a, &f->m, &o, &r, &e);
	assert_int_not_equal(rc, 0);
	assert_non_null(strstr(e.where, "pylock.hand.toml:"));
	assert_non_null(strstr(e.msg, f->sdist_sha));
	assert_int_not_equal(stat(em_arena_printf(&f->a, "%s/simple/demo/demo-1.0.tar.gz", dir), &st),
			     0);
	assert_int_not_equal(stat(em_arena_printf(&f->a, "%s/simple/index.html", dir), &st), 0);

	/* no folder */
	o.dir = "";
	em_error_clear(&e);
	assert_int_equal(em_mirror_run(&f->a, &f->m, &o, &r, &e), EM_EUSAGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_exact_bytes),
		cmocka_unit_test(test_limit),
		cmocka_unit_test_setup_teardown(test_run_sdist, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_run_errors, fx_setup, fx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
