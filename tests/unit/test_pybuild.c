/* test_pybuild.c - python-build-standalone: archive names, the catalogue
 * (SHA256SUMS and JSON), the triple of a platform, the choice of a build,
 * and the minor-version link (pybuild.h)
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spec/matrix.h"
#include "pybuild.h"

#define H1 "1111111111111111111111111111111111111111111111111111111111111111"
#define H2 "2222222222222222222222222222222222222222222222222222222222222222"
#define HA "ABCDEF0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789"

static void test_names(void **state)
{
	(void)state;
	struct em_arena a;
	em_arena_init(&a);
	struct em_error e;
	struct em_pybuild b;
	assert_int_equal(em_pybuild_parse_name(
				 &a, "cpython-3.12.10+20250409-x86_64-unknown-linux-gnu-install_only.tar.gz",
				 &b, &e),
			 0);
	assert_string_equal(b.version, "3.12.10");
	assert_string_equal(b.triple, "x86_64-unknown-linux-gnu");
	assert_string_equal(b.build, "20250409");
	assert_false(b.stripped);
	assert_false(b.zst);
	assert_false(b.py.freethreaded);
	assert_int_equal(em_pybuild_parse_name(
				 &a,
				 "cpython-3.13.3+20250409-aarch64-unknown-linux-musl-install_only_stripped.tar.zst",
				 &b, &e),
			 0);
	assert_string_equal(b.triple, "aarch64-unknown-linux-musl");
	assert_true(b.stripped);
	assert_true(b.zst);
	assert_int_equal(em_pybuild_parse_name(
				 &a, "cpython-3.13.3+20250409-x86_64-pc-windows-msvc-freethreaded+pgo-install_only.tar.gz",
				 &b, &e),
			 0);
	assert_string_equal(b.triple, "x86_64-pc-windows-msvc");
	assert_true(b.py.freethreaded);
	assert_string_equal(b.version, "3.13.3t");
	assert_int_equal(em_pybuild_parse_name(
				 &a, "cpython-3.11.9+20240415-x86_64-pc-windows-msvc-shared-install_only.tar.gz",
				 &b, &e),
			 0);
	assert_string_equal(b.triple, "x86_64-pc-windows-msvc");
	assert_int_equal(em_pybuild_parse_name(&a, "cpython-3.14.0rc1+20250808-aarch64-apple-darwin-install_only.tar.gz", &b, &e), 0);
	assert_string_equal(b.version, "3.14.0rc1");
	assert_string_equal(b.triple, "aarch64-apple-darwin");
	/* not usable */
	static const char *const bad[] = {
		"cpython-3.12.10+20250409-x86_64-unknown-linux-gnu-pgo+lto-full.tar.zst",
		"cpython-3.12.10+20250409-x86_64-unknown-linux-gnu-debug-install_only.tar.gz",
		"cpython-3.12+20250409-x86_64-unknown-linux-gnu-install_only.tar.gz",
		"pypy-3.10.14-x86_64-unknown-linux-gnu-install_only.tar.gz",
		"cpython-3.12.10+20250409-x86_64-unknown-linux-gnu-install_only.zip",
		"cpython-3.12.10+20250409-x86_64-somewhere-install_only.tar.gz",
		"SHA256SUMS",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		em_error_clear(&e);
		assert_int_equal(em_pybuild_parse_name(&a, bad[i], &b, &e), EM_EINVAL);
		assert_non_null(strstr(e.msg, "'"));
	}
	em_arena_release(&a);
}

static const char sums[] =
	H1 "  cpython-3.12.10+20250409-x86_64-unknown-linux-gnu-install_only.tar.gz\n"
	H2 "  cpython-3.12.10+20250409-x86_64-unknown-linux-gnu-install_only_stripped.tar.gz\n"
	H1 "  cpython-3.12.10+20250409-x86_64-unknown-linux-gnu-pgo+lto-full.tar.zst\n"
	H2 " *cpython-3.12.9+20250311-x86_64-unknown-linux-gnu-install_only.tar.zst\n"
	HA "  cpython-3.12.9+20250311-x86_64-unknown-linux-gnu-install_only.tar.gz\n"
	"\n"
	H1 "  cpython-3.11.12+20250409-x86_64-unknown-linux-gnu-install_only_stripped.tar.gz\n"
	H1 "  cpython-3.13.3+20250409-x86_64-unknown-linux-gnu-install_only.tar.gz\n"
	H2 "  cpython-3.13.3+20250409-x86_64-unknown-linux-gnu-freethreaded-install_only.tar.gz\n"
	H1 "  cpython-3.14.0rc1+20250409-x86_64-unknown-linux-gnu-install_only.tar.gz\n"
	H1 "  cpython-3.12.10+20250409-x86_64-unknown-linux-musl-install_only.tar.gz\n"
	H1 "  cpython-3.12.10+20250409-x86_64-pc-windows-msvc-install_only.tar.gz\n"
	H1 "  cpython-3.12.10+20250409-aarch64-apple-darwin-install_only.tar.gz\n";

static void test_sums(void **state)
{
	(void)state;
	struct em_arena a;
	em_arena_init(&a);
	struct em_error e;
	struct em_pybuild_catalogue c;
	assert_int_equal(em_pybuild_parse_sums(&a, "https://m.example/rel/SHA256SUMS", sums,
					       strlen(sums), "SHA256SUMS", &c, &e),
			 0);
	assert_int_equal(c.n, 11);
	assert_int_equal(c.nskipped, 1);
	assert_string_equal(c.items[0].url,
			    "https://m.example/rel/cpython-3.12.10+20250409-x86_64-unknown-linux-gnu-"
			    "install_only.tar.gz");
	assert_string_equal(c.items[0].sha256, H1);
	assert_int_equal(c.items[0].size, -1);
	/* upper-case hex is made lower case */
	assert_string_equal(c.items[3].sha256,
			    "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
	/* a folder on disk */
	assert_int_equal(em_pybuild_parse_sums(&a, "/srv/py/SHA256SUMS", sums, strlen(sums), "x", &c,
					       &e),
			 0);
	assert_string_equal(c.items[0].url, "/srv/py/cpython-3.12.10+20250409-x86_64-unknown-linux-gnu-"
					    "install_only.tar.gz");

	/* bad lines are named by number */
	static const struct {
		const char *text;
		const char *want;
	} bad[] = {
		{ H1 "  ok-but-skipped.txt\nnot a line\n", "SUMS:2: 'not a line' is not '<sha256>  <file name>'" },
		{ "\n\n" H1 "x-no-space.tar.gz\n", "SUMS:3:" },
		{ "zz" H1 "  a.tar.gz\n", "SUMS:1:" },
		{ H1 "  ../evil.tar.gz\n", "SUMS:1: bad file name '../evil.tar.gz'" },
		{ H1 "  \n", "SUMS:1:" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		em_error_clear(&e);
		assert_int_equal(em_pybuild_parse_sums(&a, "/x/SHA256SUMS", bad[i].text,
						       strlen(bad[i].text), "SUMS", &c, &e),
				 EM_EINVAL);
		if (!strstr(e.msg, bad[i].want))
			fail_msg("case %zu: '%s' lacks '%s'", i, e.msg, bad[i].want);
		assert_int_equal(c.n, 0);
	}
	em_arena_release(&a);
}

static void test_json(void **state)
{
	(void)state;
	struct em_arena a;
	em_arena_init(&a);
	struct em_error e;
	struct em_pybuild_catalogue c;
	static const char good[] =
		"[{\"version\": \"3.12.1\", \"triple\": \"x86_64-unknown-linux-gnu\", "
		"\"url\": \"cpython-3.12.1+20250101-x86_64-unknown-linux-gnu-install_only.tar.zst\", "
		"\"sha256\": \"" H1 "\", \"size\": 1234},"
		" {\"version\": \"3.13.0\", \"triple\": \"x86_64-unknown-linux-gnu\", "
		"\"url\": \"https://other.example/b/py313.tar.gz\", \"sha256\": \"" H2 "\", "
		"\"freethreaded\": true, \"flavor\": \"install_only_stripped\"},"
		" {\"version\": \"3.13.0\", \"triple\": \"x86_64-unknown-linux-gnu\", "
		"\"url\": \"full.tar.zst\", \"sha256\": \"" H2 "\", \"flavor\": \"full\"}]";
	assert_int_equal(em_pybuild_parse_json(&a, "https://m.example/py/cat.json", good,
					       strlen(good), "cat.json", &c, &e),
			 0);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.nskipped, 1);
	assert_string_equal(c.items[0].url, "https://m.example/py/cpython-3.12.1+20250101-x86_64-"
					    "unknown-linux-gnu-install_only.tar.zst");
	assert_int_equal(c.items[0].size, 1234);
	assert_true(c.items[0].zst);
	assert_string_equal(c.items[0].build, "20250101");
	assert_string_equal(c.items[1].version, "3.13.0t");
	assert_true(c.items[1].py.freethreaded);
	assert_true(c.items[1].stripped);
	assert_string_equal(c.items[1].filename, "py313.tar.gz");
	/* {"builds": [...]} */
	static const char wrapped[] = "{\"builds\": []}";
	assert_int_equal(em_pybuild_parse_json(&a, "/x/c.json", wrapped, strlen(wrapped), "c", &c, &e),
			 0);
	assert_int_equal(c.n, 0);
	static const struct {
		const char *text, *want;
	} bad[] = {
		{ "[{\"version\": \"3.12\", \"triple\": \"t\", \"url\": \"u.tar.gz\", \"sha256\": \"" H1 "\"}]",
		  "c.json: build 0: version '3.12' is not X.Y.Z" },
		{ "[{}, {}]", "c.json: build 0: needs a string 'version'" },
		{ "[{\"version\": \"3.12.1\", \"triple\": \"t\", \"url\": \"u.tar.gz\", \"sha256\": \"abc\"}]",
		  "needs a 'sha256' of 64 hex digits" },
		{ "[{\"version\": \"3.12.1\", \"triple\": \"t\", \"url\": \"u.tar.gz\", \"sha256\": \"" H1
		  "\", \"size\": -1}]",
		  "needs a non-negative integer 'size'" },
		{ "[{\"version\": \"3.12.1\", \"triple\": \"t\", \"url\": \"u.zip\", \"sha256\": \"" H1 "\"}]",
		  "'u.zip' is not a .tar.gz or .tar.zst archive" },
		{ "{\"x\": 1}", "expected an array of builds" },
		{ "[1,", "c.json:1: not JSON" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		em_error_clear(&e);
		assert_int_equal(em_pybuild_parse_json(&a, "/x/c.json", bad[i].text, strlen(bad[i].text),
						       "c.json", &c, &e),
				 EM_EINVAL);
		if (!strstr(e.msg, bad[i].want))
			fail_msg("case %zu: '%s' lacks '%s'", i, e.msg, bad[i].want);
	}
	em_arena_release(&a);
}

static void test_triples(void **state)
{
	(void)state;
	static const struct {
		const char *platform, *triple;
	} cases[] = {
		{ "linux-x86_64", "x86_64-unknown-linux-gnu" },
		{ "linux-x86_64-glibc2.17", "x86_64-unknown-linux-gnu" },
		{ "linux-aarch64", "aarch64-unknown-linux-gnu" },
		{ "linux-x86_64-musl", "x86_64-unknown-linux-musl" },
		{ "linux-aarch64-musl1.2", "aarch64-unknown-linux-musl" },
		{ "windows-x86_64", "x86_64-pc-windows-msvc" },
		{ "win_amd64", "x86_64-pc-windows-msvc" },
		{ "windows-arm64", "aarch64-pc-windows-msvc" },
		{ "macos-arm64", "aarch64-apple-darwin" },
		{ "macos-x86_64", "x86_64-apple-darwin" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct em_platform p;
		struct em_error e;
		assert_int_equal(em_platform_parse(cases[i].platform, &p, &e), 0);
		const char *t = em_pybuild_triple(&p);
		assert_non_null(t);
		assert_string_equal(t, cases[i].triple);
	}
}

static void test_choose(void **state)
{
	(void)state;
	struct em_arena a;
	em_arena_init(&a);
	struct em_error e;
	struct em_pybuild_catalogue c;
	assert_int_equal(em_pybuild_parse_sums(&a, "/m/SHA256SUMS", sums, strlen(sums), "S", &c, &e), 0);
	const char *lx = "x86_64-unknown-linux-gnu";
	struct em_python py;
	const struct em_pybuild *b;
	/* exact: the non-stripped install_only */
	assert_int_equal(em_python_parse("3.12.10", &py, &e), 0);
	b = em_pybuild_choose(&c, lx, &py, NULL);
	assert_non_null(b);
	assert_false(b->stripped);
	assert_string_equal(b->sha256, H1);
	/* minor: the newest patch */
	assert_int_equal(em_python_parse("3.12", &py, &e), 0);
	b = em_pybuild_choose(&c, lx, &py, NULL);
	assert_string_equal(b->version, "3.12.10");
	/* .tar.gz before .tar.zst */
	assert_int_equal(em_python_parse("3.12.9", &py, &e), 0);
	b = em_pybuild_choose(&c, lx, &py, NULL);
	assert_false(b->zst);
	/* only a stripped build: taken */
	assert_int_equal(em_python_parse("3.11", &py, &e), 0);
	b = em_pybuild_choose(&c, lx, &py, NULL);
	assert_non_null(b);
	assert_true(b->stripped);
	/* free-threaded only when asked */
	assert_int_equal(em_python_parse("3.13", &py, &e), 0);
	b = em_pybuild_choose(&c, lx, &py, NULL);
	assert_false(b->py.freethreaded);
	assert_int_equal(em_python_parse("3.13t", &py, &e), 0);
	b = em_pybuild_choose(&c, lx, &py, NULL);
	assert_true(b->py.freethreaded);
	/* a minor skips pre-releases; the exact pre-release is found */
	assert_int_equal(em_python_parse("3.14", &py, &e), 0);
	assert_null(em_pybuild_choose(&c, lx, &py, NULL));
	assert_int_equal(em_python_parse("3.14.0rc1", &py, &e), 0);
	assert_non_null(em_pybuild_choose(&c, lx, &py, NULL));
	/* the triple decides */
	assert_int_equal(em_python_parse("3.12", &py, &e), 0);
	b = em_pybuild_choose(&c, "x86_64-unknown-linux-musl", &py, NULL);
	assert_string_equal(b->triple, "x86_64-unknown-linux-musl");
	b = em_pybuild_choose(&c, "x86_64-pc-windows-msvc", &py, NULL);
	assert_string_equal(b->triple, "x86_64-pc-windows-msvc");
	assert_null(em_pybuild_choose(&c, "aarch64-unknown-linux-gnu", &py, NULL));
	/* a specifier: the newest final it admits */
	struct em_python_req req;
	assert_int_equal(em_python_req_parse(&a, ">=3.11,<3.13", strlen(">=3.11,<3.13"), &req, &e), 0);
	b = em_pybuild_choose(&c, lx, &req.version, &req.spec);
	assert_string_equal(b->version, "3.12.10");
	assert_int_equal(em_python_req_parse(&a, ">=3.13", 6, &req, &e), 0);
	b = em_pybuild_choose(&c, lx, &req.version, &req.spec);
	assert_string_equal(b->version, "3.13.3");
	em_arena_release(&a);
}

/* fake installations: the minor link follows the newest patch */
static void put_install(const char *dir, const char *version, const char *file)
{
	char p[1024];
	snprintf(p, sizeof p, "%s/cpython-%s-x86_64-unknown-linux-gnu", dir, version);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof p, "%s/cpython-%s-x86_64-unknown-linux-gnu/" EM_PYBUILD_MARK, dir, version);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fprintf(f, "url /m/%s\nsha256 %s\nsize 10\nfile %s\n", file, H1, file);
	fclose(f);
}

static void test_minor_link(void **state)
{
	(void)state;
	char dir[256];
	snprintf(dir, sizeof dir, "%s/envmatrix-pybuild.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(dir));
	struct em_arena a;
	em_arena_init(&a);
	struct em_error e;
	struct em_python py;
	assert_int_equal(em_python_parse("3.12", &py, &e), 0);
	const char *t = "x86_64-unknown-linux-gnu";
	put_install(dir, "3.12.9", "cpython-3.12.9+1-x86_64-unknown-linux-gnu-install_only.tar.gz");
	assert_int_equal(em_pybuild_update_minor_link(&a, dir, &py, t, &e), 0);
	char link[512], got[256];
	snprintf(link, sizeof link, "%s/cpython-3.12-x86_64-unknown-linux-gnu", dir);
	ssize_t n = readlink(link, got, sizeof got - 1);
	assert_true(n > 0);
	got[n] = '\0';
	assert_string_equal(got, "cpython-3.12.9-x86_64-unknown-linux-gnu");
	put_install(dir, "3.12.10", "cpython-3.12.10+1-x86_64-unknown-linux-gnu-install_only.tar.gz");
	/* a folder named for another version than its mark is not counted */
	put_install(dir, "3.12.11", "cpython-3.12.2+1-x86_64-unknown-linux-gnu-install_only.tar.gz");
	assert_int_equal(em_pybuild_update_minor_link(&a, dir, &py, t, &e), 0);
	n = readlink(link, got, sizeof got - 1);
	got[n] = '\0';
	assert_string_equal(got, "cpython-3.12.10-x86_64-unknown-linux-gnu");
	struct em_pybuild_installed *v;
	uint32_t k;
	assert_int_equal(em_pybuild_list_installed(&a, dir, &v, &k, &e), 0);
	assert_int_equal(k, 2);
	assert_string_equal(v[0].build.version, "3.12.10");
	assert_non_null(v[0].via_minor);
	assert_null(v[1].via_minor);
	assert_non_null(strstr(v[0].executable, "/cpython-3.12-x86_64-unknown-linux-gnu/bin/python3.12"));
	struct em_pybuild_installed inst;
	assert_int_equal(em_python_parse("3.12.9", &py, &e), 0);
	assert_int_equal(em_pybuild_find_installed(&a, dir, &py, t, &inst, &e), 0);
	assert_string_equal(inst.build.sha256, H1);
	assert_int_equal(inst.build.size, 10);
	assert_int_equal(em_python_parse("3.12.1", &py, &e), 0);
	assert_int_equal(em_pybuild_find_installed(&a, dir, &py, t, &inst, &e), EM_ENOTFOUND);
	char cmd[400];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	em_arena_release(&a);
}

static void test_mirror(void **state)
{
	(void)state;
	struct em_arena a;
	em_arena_init(&a);
	bool ex;
	unsetenv("ENVMATRIX_PYTHON_MIRROR");
	tu_settings_from_env();
	assert_string_equal(em_pybuild_mirror(&a, NULL, "/m", &ex), EM_PYBUILD_DEFAULT_MIRROR);
	assert_false(ex);
	setenv("ENVMATRIX_PYTHON_MIRROR", "https://env.example/py/", 1);
	tu_settings_from_env();
	assert_string_equal(em_pybuild_mirror(&a, NULL, "/m", &ex), "https://env.example/py/");
	assert_true(ex);
	assert_string_equal(em_pybuild_mirror(&a, "builds", "/m", &ex), "/m/builds");
	assert_string_equal(em_pybuild_mirror(&a, "file:///srv/b", "/m", &ex), "file:///srv/b");
	unsetenv("ENVMATRIX_PYTHON_MIRROR");
	tu_settings_from_env();
	em_arena_release(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),   cmocka_unit_test(test_sums),
		cmocka_unit_test(test_json),    cmocka_unit_test(test_triples),
		cmocka_unit_test(test_choose),  cmocka_unit_test(test_minor_link),
		cmocka_unit_test(test_mirror),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
