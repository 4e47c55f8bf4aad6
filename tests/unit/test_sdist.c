/* test_sdist.c - planning with sdists: static PKG-INFO (PEP 643), the
 * candidates' sdist fallback under a policy, the matrix's no-build,
 * only-binary and no-binary keys */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#include "spec/candidates.h"
#include "spec/matrix.h"
#include "spec/tags.h"
#include "spec/target.h"

/* ---- PKG-INFO: static or dynamic ---- */

static void check_static(const char *text, bool trust_old, bool want, const char *why_has)
{
	struct em_arena a;
	em_arena_init(&a);
	struct em_error e;
	em_error_clear(&e);
	bool st = !want;
	const char *why = NULL;
	assert_int_equal(em_metadata_static(&a, text, strlen(text), "PKG-INFO", trust_old, &st, &why,
					    &e),
			 0);
	if (st != want)
		fail_msg("static: want %d for\n%s", want, text);
	if (want)
		assert_null(why);
	else if (!why || !strstr(why, why_has))
		fail_msg("why '%s' lacks '%s'", why ? why : "(null)", why_has);
	em_arena_release(&a);
}

static void test_pkg_info_static(void **state)
{
	(void)state;
	check_static("Metadata-Version: 2.2\nName: a\nVersion: 1\nRequires-Dist: b\n\n", false, true,
		     NULL);
	/* Dynamic fields the plan does not read do not matter */
	check_static("Metadata-Version: 2.4\nName: a\nVersion: 1\nDynamic: Summary\n"
		     "Dynamic: license-file\n\n", false, true, NULL);
	check_static("Metadata-Version: 2.2\nName: a\nVersion: 1\nDynamic: Requires-Dist\n\n", false,
		     false, "Requires-Dist");
	check_static("Metadata-Version: 2.3\nName: a\nVersion: 1\ndynamic: requires-python\n\n",
		     false, false, "Requires-Python");
	check_static("Metadata-Version: 2.2\nName: a\nVersion: 1\nDynamic: Provides-Extra\n\n", false,
		     false, "Provides-Extra");
	check_static("Metadata-Version: 2.1\nName: a\nVersion: 1\nRequires-Dist: b\n\n", false, false,
		     "older than 2.2");
	check_static("Metadata-Version: 1.2\nName: a\nVersion: 1\n\n", false, false, "older than 2.2");
	/* an index's PEP 658 file is taken as it is, unless it says dynamic */
	check_static("Metadata-Version: 2.1\nName: a\nVersion: 1\nRequires-Dist: b\n\n", true, true,
		     NULL);
	check_static("Metadata-Version: 2.2\nName: a\nVersion: 1\nDynamic: Requires-Dist\n\n", true,
		     false, "Requires-Dist");
	/* broken metadata is an error, not "dynamic" */
	struct em_arena a;
	em_arena_init(&a);
	struct em_error e;
	em_error_clear(&e);
	bool st;
	const char *why;
	const char bad[] = "Name: a\nVersion: 1\n\n";
	assert_int_equal(em_metadata_static(&a, bad, strlen(bad), "PKG-INFO", false, &st, &why, &e),
			 EM_EINVAL);
	em_arena_release(&a);
}

/* ---- candidates under a policy ---- */

struct cands {
	struct em_arena a;
	struct em_target t;
	struct em_tagset tags;
	struct em_candidate *c;
	uint32_t n;
};

static void build(struct cands *x, const struct em_dist_file *f, uint32_t nf,
		  const struct em_dist_policy *pol)
{
	em_arena_init(&x->a);
	memset(&x->t, 0, sizeof x->t);
	struct em_error e;
	em_error_clear(&e);
	assert_int_equal(em_platform_parse("linux-x86_64", &x->t.plat, &e), 0);
	assert_int_equal(em_python_parse("3.12.10", &x->t.py, &e), 0);
	assert_int_equal(em_tags_for_target(&x->a, &x->t, &x->tags, &e), 0);
	assert_int_equal(em_candidates_build_policy(&x->a, "pkg", f, nf, &x->t, &x->tags, pol, &x->c,
						    &x->n, &e),
			 0);
}

#define FILE_(fn) { fn, "file:///i/" fn, "file:///i/", NULL, -1, NULL, false, NULL, false, NULL, NULL }

static void test_candidates_policy(void **state)
{
	(void)state;
	static const struct em_dist_file files[] = {
		FILE_("pkg-1.0.zip"),
		FILE_("pkg-1.0.tar.gz"),
		FILE_("pkg-2.0-py3-none-any.whl"),
		FILE_("pkg-2.0.tar.gz"),
		FILE_("pkg-3.0-cp312-cp312-win_amd64.whl"),
		FILE_("pkg-3.0.tar.gz"),
		FILE_("pkg-4.0-py3-none-any.whl"),
	};
	struct cands x;
	const struct em_choice *ch;

	/* the default: sdists when no wheel fits, wheels first */
	struct em_dist_policy allow = { true, false, NULL };
	build(&x, files, 7, &allow);
	assert_int_equal(x.n, 4);
	ch = x.c[0].data;
	assert_non_null(ch);
	assert_true(ch->sdist);
	assert_string_equal(ch->file->filename, "pkg-1.0.tar.gz"); /* .tar.gz before .zip */
	ch = x.c[1].data;
	assert_false(ch->sdist);
	assert_string_equal(ch->file->filename, "pkg-2.0-py3-none-any.whl");
	ch = x.c[2].data;
	assert_true(ch->sdist); /* the only wheel is for Windows */
	ch = x.c[3].data;
	assert_false(ch->sdist);
	em_arena_release(&x.a);

	/* no-build: refused, and the reason names the key */
	struct em_dist_policy refuse = { false, false, "no-build (matrix.ini:3)" };
	build(&x, files, 7, &refuse);
	assert_null(x.c[0].data);
	assert_non_null(strstr(x.c[0].unusable, "only a source distribution, which no-build "
						 "(matrix.ini:3) refuses"));
	assert_non_null(x.c[1].data);
	assert_null(x.c[2].data);
	assert_non_null(strstr(x.c[2].unusable, "no wheel for"));
	assert_non_null(strstr(x.c[2].unusable, "refused by no-build (matrix.ini:3)"));
	em_arena_release(&x.a);

	/* no-binary: the sdist even beside a wheel; a version without one
	 * cannot be used */
	struct em_dist_policy prefer = { true, true, "no-binary (matrix.ini:4)" };
	build(&x, files, 7, &prefer);
	ch = x.c[1].data;
	assert_non_null(ch);
	assert_true(ch->sdist);
	assert_string_equal(ch->file->filename, "pkg-2.0.tar.gz");
	assert_null(x.c[3].data);
	assert_non_null(strstr(x.c[3].unusable, "no-binary (matrix.ini:4) refuses its wheels"));
	em_arena_release(&x.a);

	/* the old entry point: wheels only, the old reason */
	struct em_error e;
	em_error_clear(&e);
	em_arena_init(&x.a);
	struct em_target t;
	memset(&t, 0, sizeof t);
	struct em_tagset tags;
	assert_int_equal(em_platform_parse("linux-x86_64", &t.plat, &e), 0);
	assert_int_equal(em_python_parse("3.12.10", &t.py, &e), 0);
	assert_int_equal(em_tags_for_target(&x.a, &t, &tags, &e), 0);
	assert_int_equal(em_candidates_build(&x.a, "pkg", files, 2, &t, &tags, &x.c, &x.n, &e), 0);
	assert_null(x.c[0].data);
	assert_string_equal(x.c[0].unusable,
			    "it has only a source distribution, and envmatrix installs wheels only");
	em_arena_release(&x.a);
}

/* ---- matrix keys ---- */

static void expect_error(const char *text, const char *where, const char *needle)
{
	struct em_arena a;
	em_arena_init(&a);
	struct em_error e;
	em_error_clear(&e);
	struct em_matrix m;
	int rc = em_matrix_parse(&a, text, strlen(text), "matrix.ini", &m, &e);
	if (rc != EM_EINVAL)
		fail_msg("want EM_EINVAL, got %d (%s: %s)\n%s", rc, e.where, e.msg, text);
	if (strcmp(e.where, where) || !strstr(e.msg, needle))
		fail_msg("want %s: ...%s..., got %s: %s", where, needle, e.where, e.msg);
	em_arena_release(&a);
}

static void test_matrix_keys(void **state)
{
	(void)state;
	static const char text[] =
		"[matrix]\n"
		"python = 3.12.10\n"
		"no-build = true\n"                           /* 3 */
		"no-binary = Foo_Bar, baz\n"                  /* 4 */
		"\n"
		"[a]\n"
		"path = a\n"
		"\n"
		"[b]\n"
		"path = b\n"
		"no-build = false\n"                          /* 11 */
		"only-binary = Numpy  Open.CV\n"              /* 12 */
		"no-binary = :none:\n"                        /* 13 */
		"\n"
		"[c]\n"
		"path = c\n"
		"no-build = torch\n"                          /* 17 */
		"no-binary = :all:\n";                        /* 18 */
	struct em_arena a;
	em_arena_init(&a);
	struct em_matrix m;
	struct em_error e;
	em_error_clear(&e);
	if (em_matrix_parse(&a, text, strlen(text), "matrix.ini", &m, &e))
		fail_msg("%s: %s", e.where, e.msg);
	const struct em_workload *wa = em_matrix_find(&m, "a");
	const struct em_workload *wb = em_matrix_find(&m, "b");
	const struct em_workload *wc = em_matrix_find(&m, "c");
	const struct em_pkg_set *by;
	/* a: [matrix]'s */
	assert_true(wa->no_build.all);
	assert_int_equal(wa->no_build.setting.line, 3);
	assert_int_equal(wa->no_binary.n, 2);
	assert_string_equal(wa->no_binary.names[0], "foo-bar");
	assert_int_equal(em_workload_sdist_rule(wa, "foo-bar", &by), EM_SDIST_PREFER);
	assert_string_equal(by->key, "no-binary");
	assert_int_equal(em_workload_sdist_rule(wa, "other", &by), EM_SDIST_REFUSE);
	assert_string_equal(by->key, "no-build");
	assert_int_equal(by->setting.line, 3);
	/* b: its own keys override [matrix]'s */
	assert_false(wb->no_build.all);
	assert_int_equal(wb->no_build.setting.line, 11);
	assert_int_equal(wb->only_binary.n, 2);
	assert_string_equal(wb->only_binary.names[1], "open-cv");
	assert_int_equal(wb->no_binary.n, 0);
	assert_int_equal(em_workload_sdist_rule(wb, "foo-bar", &by), EM_SDIST_ALLOW);
	assert_null(by);
	assert_int_equal(em_workload_sdist_rule(wb, "numpy", &by), EM_SDIST_REFUSE);
	assert_string_equal(by->key, "only-binary");
	assert_int_equal(by->setting.line, 12);
	/* c: a named package beats :all: of the other key */
	assert_int_equal(em_workload_sdist_rule(wc, "torch", &by), EM_SDIST_REFUSE);
	assert_int_equal(em_workload_sdist_rule(wc, "numpy", &by), EM_SDIST_PREFER);
	assert_int_equal(by->setting.line, 18);
	em_arena_release(&a);

	expect_error("[w]\npython = 3.12.1\nno-build = on!\n", "matrix.ini:3",
		     "no-build in [w]: 'on!' is not a package name; write true, false or "
		     "package names");
	expect_error("[w]\npython = 3.12.1\nonly-binary = true\n", "matrix.ini:3",
		     "only-binary in [w]: 'true' stands alone; write :all:, :none: or package "
		     "names");
	expect_error("[w]\npython = 3.12.1\nno-binary = a :all:\n", "matrix.ini:3",
		     "':all:' stands alone");
	expect_error("[w]\npython = 3.12.1\nno-binary = a/b\n", "matrix.ini:3",
		     "'a/b' is not a package name");
	expect_error("[w]\npython = 3.12.1\nno-build =\n", "matrix.ini:3", "empty value");
	expect_error("[w]\npython = 3.12.1\nno-build = a\nno-build = b\n", "matrix.ini:4",
		     "duplicate key 'no-build'");
	expect_error("[matrix]\nno-binary = x\n[w]\npython = 3.12.1\nno-build = X\n",
		     "matrix.ini:5",
		     "workload [w]: no-build (line 5) refuses the sdist of x, and no-binary "
		     "(line 2) its wheels; name the package in only one");
	expect_error("[w]\npython = 3.12.1\nonly-binary = :all:\nno-binary = :all:\n",
		     "matrix.ini:4", "refuses the sdist of every package");
}

/* build-requires.PKG, config-settings.PKG, no-build-isolation,
 * build-constraints: parsed, inherited per package, bad values named */
static void test_build_keys(void **state)
{
	(void)state;
	static const char text[] =
		"[matrix]\n"
		"python = 3.12.10\n"
		"build-requires.Flash_Attn = torch>=2\n"        /* 3 */
		"    ninja\n"
		"config-settings.cfgpkg = mode=fast 'opt=a b'\n" /* 5 */
		"build-constraints = cons.txt\n"                 /* 6 */
		"no-build-isolation = flash-attn\n"              /* 7 */
		"\n"
		"[a]\n"
		"path = a\n"
		"\n"
		"[b]\n"
		"path = b\n"
		"build-requires.flash-attn =\n"                  /* 14 */
		"build-requires.other = helper==1.0\n"           /* 15 */
		"config-settings.cfgpkg =\n"
		"    x=1\n"
		"    x=2\n"
		"no-build-isolation = false\n";
	struct em_arena a;
	em_arena_init(&a);
	struct em_error e;
	em_error_clear(&e);
	struct em_matrix m;
	int rc = em_matrix_parse(&a, text, strlen(text), "matrix.ini", &m, &e);
	if (rc)
		fail_msg("%s: %s", e.where, e.msg);
	const struct em_workload *wa = em_matrix_find(&m, "a"), *wb = em_matrix_find(&m, "b");
	const struct em_pkg_values *br = em_workload_build_requires(wa, "flash-attn");
	assert_non_null(br);
	assert_int_equal(br->n, 2);
	assert_string_equal(br->values[0], "torch>=2");
	assert_string_equal(br->values[1], "ninja");
	assert_int_equal(br->line, 3);
	const struct em_pkg_values *cs = em_workload_config_settings(wa, "cfgpkg");
	assert_non_null(cs);
	assert_int_equal(cs->n, 2);
	assert_string_equal(cs->values[0], "mode=fast");
	assert_string_equal(cs->values[1], "opt=a b");
	assert_true(em_workload_no_isolation(wa, "flash-attn"));
	assert_string_equal(wa->build_constraints.value, "cons.txt");
	assert_int_equal(wa->build_constraints.line, 6);
	/* b: its own entries replace [matrix]'s for the same package */
	br = em_workload_build_requires(wb, "flash-attn");
	assert_non_null(br);
	assert_int_equal(br->n, 0);
	assert_int_equal(br->line, 14);
	assert_non_null(em_workload_build_requires(wb, "other"));
	assert_null(em_workload_build_requires(wa, "other"));
	cs = em_workload_config_settings(wb, "cfgpkg");
	assert_int_equal(cs->n, 2);
	assert_string_equal(cs->values[1], "x=2");
	assert_false(em_workload_no_isolation(wb, "flash-attn"));
	assert_string_equal(wb->build_constraints.value, "cons.txt");
	em_arena_release(&a);

	expect_error("[w]\npython = 3.12.1\nbuild-requires.x = not a req!\n", "matrix.ini:3",
		     "build-requires.x in [w]: invalid requirement 'not a req!'");
	expect_error("[w]\npython = 3.12.1\nbuild-requires.x =\n    ok\n    bad req\n",
		     "matrix.ini:5", "build-requires.x in [w]: invalid requirement");
	expect_error("[w]\npython = 3.12.1\nbuild-requires.a/b = x\n", "matrix.ini:3",
		     "'build-requires.a/b = x' in [w] is not a key = value line");
	expect_error("[w]\npython = 3.12.1\nbuild-requires. = x\n", "matrix.ini:3",
		     "'build-requires.' in [w]: '' is not a package name");
	expect_error("[w]\npython = 3.12.1\nbuild-requires.A_b = x\nbuild-requires.a-b = y\n",
		     "matrix.ini:4", "duplicate key 'build-requires.a-b' in [w] (first set on "
		     "line 3 as 'build-requires.A_b'");
	expect_error("[w]\npython = 3.12.1\nconfig-settings.x = novalue\n", "matrix.ini:3",
		     "config-settings.x in [w]: 'novalue' is not KEY=VALUE");
	expect_error("[w]\npython = 3.12.1\nconfig-settings.x = =v\n", "matrix.ini:3",
		     "'=v' is not KEY=VALUE");
	expect_error("[w]\npython = 3.12.1\nconfig-settings.x = 'k=v\n", "matrix.ini:3",
		     "config-settings.x in [w]: ''k=v'");
	expect_error("[w]\npython = 3.12.1\nno-build-isolation = true\n", "matrix.ini:3",
		     "no-build-isolation in [w]: name the packages");
	expect_error("[w]\npython = 3.12.1\nno-build-isolation = a b!\n", "matrix.ini:3",
		     "no-build-isolation in [w]: 'b!' is not a package name; write false or "
		     "package names");
	expect_error("[w]\npython = 3.12.1\nbuild-constraints =\n", "matrix.ini:3",
		     "empty value");
	expect_error("[w]\npython = 3.12.1\nbuild-constraints = https://x/c.txt\n",
		     "matrix.ini:3", "build-constraints in [w]: 'https://x/c.txt' is a URL");
	expect_error("[w]\npython = 3.12.1\nno-build = x\nno-build-isolation = X\n",
		     "matrix.ini:4", "workload [w]: no-build (line 3) refuses the sdist of x, "
		     "which no-build-isolation (line 4) builds");
	expect_error("[w]\npython = 3.12.1\nconfig-setting.x = a=b\n", "matrix.ini:3",
		     "unknown key 'config-setting.x'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pkg_info_static),
		cmocka_unit_test(test_candidates_policy),
		cmocka_unit_test(test_matrix_keys),
		cmocka_unit_test(test_build_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
