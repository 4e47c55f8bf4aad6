/* test_markers.c - PEP 508 environment markers against pypa/packaging 26.x */
#include "testutil.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec/pep508.h"

/* ---- environments from markers.tsv's JSON ---- */

#define MAX_SET 16
#define MAX_OTHER 8

struct json_env {
	json_t *root;
	struct em_marker_env env;
	const char *extras[MAX_SET];
	const char *groups[MAX_SET];
	struct em_marker_kv other[MAX_OTHER];
};

static int var_by_name(const char *name)
{
	for (int v = 0; v < EM_MV_COUNT; v++)
		if (!strcmp(em_marker_var_name((enum em_marker_var)v), name))
			return v;
	return -1;
}

static size_t load_set(json_t *arr, const char **out)
{
	size_t i, n = 0;
	json_t *it;
	json_array_foreach(arr, i, it) {
		assert_true(n < MAX_SET);
		out[n++] = json_string_value(it);
	}
	return n;
}

static int json_env_load(struct json_env *je, const char *text, size_t len)
{
	memset(je, 0, sizeof *je);
	json_error_t err;
	je->root = json_loadb(text, len, 0, &err);
	if (!je->root || !json_is_object(je->root))
		return -1;
	const char *key;
	json_t *val;
	json_object_foreach(je->root, key, val) {
		int v = var_by_name(key);
		if (v >= 0) {
			je->env.var[v] = json_string_value(val);
		} else if (!strcmp(key, "extras")) {
			je->env.extras_defined = true;
			je->env.extras = je->extras;
			je->env.nextras = load_set(val, je->extras);
		} else if (!strcmp(key, "dependency_groups")) {
			je->env.groups_defined = true;
			je->env.dependency_groups = je->groups;
			je->env.ngroups = load_set(val, je->groups);
		} else {
			assert_true(je->env.nother < MAX_OTHER);
			je->other[je->env.nother].name = key;
			je->other[je->env.nother].value = json_string_value(val);
			je->env.nother++;
		}
	}
	je->env.other = je->other;
	return 0;
}

static void json_env_free(struct json_env *je)
{
	json_decref(je->root);
}

static void test_conformance(void **state)
{
	(void)state;
	struct tu_tsv t;
	assert_int_equal(tu_tsv_open(&t, tu_fixture("conformance/markers.tsv")), 0);
	struct tu_report r;
	tu_report_init(&r, "markers", 30);
	struct em_arena a;
	em_arena_init(&a);
	unsigned n1 = 0, n0 = 0, nerr = 0;
	while (tu_tsv_next(&t)) {
		r.total++;
		assert_int_equal(t.nf, 3);
		struct json_env je;
		if (json_env_load(&je, t.f[1], t.flen[1])) {
			tu_report_fail(&r, "line %u: bad environment JSON", t.lineno);
			continue;
		}
		const char *want = t.f[2];
		struct em_marker *m;
		struct em_error e = { 0 };
		int rc = em_marker_parse(&a, t.f[0], t.flen[0], &m, &e);
		const char *got;
		if (rc) {
			got = "error";
		} else {
			bool res;
			rc = em_marker_eval(m, &je.env, &res, &e);
			got = rc ? "error" : res ? "1" : "0";
		}
		if (strcmp(got, want))
			tu_report_fail(&r, "line %u: '%s' gave %s, want %s%s%s", t.lineno, t.f[0], got,
				       want, rc ? ": " : "", rc ? e.msg : "");
		else if (!strcmp(got, "1"))
			n1++;
		else if (!strcmp(got, "0"))
			n0++;
		else
			nerr++;
		json_env_free(&je);
	}
	fprintf(stderr, "  markers.tsv: %u rows (%u true, %u false, %u error), %u failed\n", r.total,
		n1, n0, nerr, r.failed);
	em_arena_release(&a);
	tu_tsv_close(&t);
	tu_report_done(&r);
}

/* ---- a fixed environment for the hand-written cases ---- */

static const char *const linux_extras[] = { "Foo_Bar", "gpu" };
static const struct em_marker_kv linux_other[] = { { "a", "x" } };

static struct em_marker_env linux_env(void)
{
	struct em_marker_env env;
	memset(&env, 0, sizeof env);
	env.var[EM_MV_IMPLEMENTATION_NAME] = "cpython";
	env.var[EM_MV_IMPLEMENTATION_VERSION] = "3.12.4";
	env.var[EM_MV_OS_NAME] = "posix";
	env.var[EM_MV_PLATFORM_MACHINE] = "x86_64";
	env.var[EM_MV_PLATFORM_PYTHON_IMPLEMENTATION] = "CPython";
	env.var[EM_MV_PLATFORM_RELEASE] = "6.8.0-45-generic";
	env.var[EM_MV_PLATFORM_SYSTEM] = "Linux";
	env.var[EM_MV_PLATFORM_VERSION] = "#45-Ubuntu SMP";
	env.var[EM_MV_PYTHON_FULL_VERSION] = "3.12.4";
	env.var[EM_MV_PYTHON_VERSION] = "3.12";
	env.var[EM_MV_SYS_PLATFORM] = "linux";
	env.var[EM_MV_EXTRA] = "";
	env.extras_defined = true;
	env.extras = linux_extras;
	env.nextras = 2;
	env.other = linux_other;
	env.nother = 1;
	return env;
}

/* Parse s (NUL-terminated); returns the code and fills e. */
static int parse(struct em_arena *a, const char *s, struct em_marker **m, struct em_error *e)
{
	em_error_clear(e);
	return em_marker_parse(a, s, strlen(s), m, e);
}

static void expect_eval(const char *s, const struct em_marker_env *env, int want)
{
	struct em_arena a;
	em_arena_init(&a);
	struct em_marker *m;
	struct em_error e;
	int rc = parse(&a, s, &m, &e);
	if (rc)
		fail_msg("'%s': %s", s, e.msg);
	bool res;
	rc = em_marker_eval(m, env, &res, &e);
	if (rc)
		fail_msg("'%s': evaluation failed: %s", s, e.msg);
	if ((int)res != want)
		fail_msg("'%s' gave %d, want %d", s, (int)res, want);
	em_arena_release(&a);
}

static void expect_format(const char *s, const char *want)
{
	struct em_arena a;
	em_arena_init(&a);
	struct em_marker *m;
	struct em_error e;
	if (parse(&a, s, &m, &e))
		fail_msg("'%s': %s", s, e.msg);
	struct em_buf b = EM_BUF_INIT;
	assert_int_equal(em_marker_format(m, &b), 0);
	if (strcmp(b.ptr, want))
		fail_msg("'%s' formatted as '%s', want '%s'", s, b.ptr, want);
	em_buf_release(&b);
	em_arena_release(&a);
}

static void expect_parse_error(const char *s, size_t n, int code, const char *pattern)
{
	struct em_arena a;
	em_arena_init(&a);
	struct em_marker *m = (struct em_marker *)&a; /* must be reset */
	struct em_error e;
	em_error_clear(&e);
	int rc = em_marker_parse(&a, s, n, &m, &e);
	if (rc != code)
		fail_msg("'%.60s': code %d, want %d (%s)", s, rc, code, e.msg);
	assert_null(m);
	assert_int_equal(e.code, code);
	if (pattern && !strstr(e.msg, pattern))
		fail_msg("'%.60s': message '%s' lacks '%s'", s, e.msg, pattern);
	/* messages are one line, lower case at the start, no final period */
	assert_null(strchr(e.msg, '\n'));
	assert_false(e.msg[0] >= 'A' && e.msg[0] <= 'Z');
	assert_true(e.msg[strlen(e.msg) - 1] != '.');
	em_arena_release(&a);
}

static void expect_eval_error(const char *s, const struct em_marker_env *env, int code,
			      const char *pattern)
{
	struct em_arena a;
	em_arena_init(&a);
	struct em_marker *m;
	struct em_error e;
	if (parse(&a, s, &m, &e))
		fail_msg("'%s': %s", s, e.msg);
	bool res;
	int rc = em_marker_eval(m, env, &res, &e);
	if (rc != code)
		fail_msg("'%s': code %d, want %d (%s)", s, rc, code, e.msg);
	if (pattern && !strstr(e.msg, pattern))
		fail_msg("'%s': message '%s' lacks '%s'", s, e.msg, pattern);
	em_arena_release(&a);
}

static void test_format(void **state)
{
	(void)state;
	expect_format("os_name=='nt'", "os_name == \"nt\"");
	expect_format("  os.name\t==\t'nt'  ", "os_name == \"nt\"");
	expect_format("python_implementation == 'CPython'",
		      "platform_python_implementation == \"CPython\"");
	expect_format("platform.python_implementation=='PyPy'",
		      "platform_python_implementation == \"PyPy\"");
	expect_format("'3.8'<=python_version", "\"3.8\" <= python_version");
	expect_format("'win32' not  in sys_platform", "\"win32\" not in sys_platform");
	expect_format("os_name == 'a' and (os_name == 'b' or os_name == 'c')",
		      "os_name == \"a\" and (os_name == \"b\" or os_name == \"c\")");
	/* a one-atom group loses its parentheses, even nested */
	expect_format("(os_name == 'a')", "os_name == \"a\"");
	expect_format("((os_name == 'a'))", "os_name == \"a\"");
	expect_format("(os_name == 'a') and os_name == 'b'",
		      "os_name == \"a\" and os_name == \"b\"");
	/* packaging's quirk: a group that is the only atom of a group prints bare */
	expect_format("((os_name == 'a' or os_name == 'b')) and os_name == 'c'",
		      "os_name == \"a\" or os_name == \"b\" and os_name == \"c\"");
	/* PEP 685: extra names normalized next to the extra variable only */
	expect_format("extra == 'Foo_Bar.baz'", "extra == \"foo-bar-baz\"");
	expect_format("'Foo__Bar' == extra", "\"foo-bar\" == extra");
	expect_format("'Foo_Bar' in extras", "\"foo-bar\" in extras");
	expect_format("'S_P__A_M' not in dependency_groups", "\"s-p-a-m\" not in dependency_groups");
	expect_format("extras == 'Foo_Bar'", "extras == \"Foo_Bar\"");
	expect_format("extra == os_name", "extra == os_name");
	expect_format("'Foo_Bar' == 'extra'", "\"Foo_Bar\" == \"extra\"");
	/* Python string escapes are decoded; the value is printed raw */
	expect_format("os_name == '\\x41\\u00e9\\101'", "os_name == \"A\xc3\xa9" "A\"");
	/* a value holding a double quote is written in single quotes */
	expect_format("os_name == 'a\"b'", "os_name == 'a\"b'");
	expect_format("os_name == \"a'b\"", "os_name == \"a'b\"");
	expect_format("os_name == 'a\\qb'", "os_name == \"a\\qb\"");
	expect_format("os_name == 'a\\\nb'", "os_name == \"ab\"");
}

static void test_format_both_quotes(void **state)
{
	(void)state;
	struct em_arena a;
	em_arena_init(&a);
	struct em_marker *m;
	struct em_error e;
	/* valid and evaluable, but packaging cannot print it either */
	assert_int_equal(parse(&a, "os_name == 'nt' or os_name == \"a'b\\x22c\"", &m, &e), 0);
	struct em_buf b = EM_BUF_INIT;
	assert_int_equal(em_marker_format(m, &b), EM_EINVAL);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.err, 0);
	struct em_marker_env env = linux_env();
	bool res = true;
	assert_int_equal(em_marker_eval(m, &env, &res, &e), 0);
	assert_false(res);
	/* an escaped NUL stays part of the value, also through PEP 685 */
	assert_int_equal(parse(&a, "extra == 'A\\x00__B'", &m, &e), 0);
	assert_int_equal(em_marker_format(m, &b), 0);
	assert_int_equal(b.len, 15);
	assert_memory_equal(b.ptr, "extra == \"a\0-b\"", 15);
	em_buf_release(&b);
	em_arena_release(&a);
}

static void test_eval(void **state)
{
	(void)state;
	struct em_marker_env env = linux_env();
	expect_eval("python_version >= '3.8'", &env, 1);
	expect_eval("python_version < '3.12'", &env, 0);
	expect_eval("python_version == '3.*'", &env, 1);
	expect_eval("python_full_version ~= '3.12.0'", &env, 1);
	expect_eval("'3.7' < python_version", &env, 1);
	expect_eval("sys_platform == 'linux' and platform_machine == 'x86_64'", &env, 1);
	expect_eval("sys_platform == 'win32' or os_name == 'posix' and platform_system == 'Linux'",
		    &env, 1);
	expect_eval("(sys_platform == 'win32' or os_name == 'posix') and platform_system == 'x'",
		    &env, 0);
	expect_eval("'lin' in sys_platform", &env, 1);
	expect_eval("'' in sys_platform", &env, 1);
	expect_eval("'win' not in sys_platform", &env, 1);
	/* strings: <= and >= are equality, < and > never hold */
	expect_eval("os_name <= 'posix'", &env, 1);
	expect_eval("os_name < 'zzz'", &env, 0);
	/* a version variable whose text is not a specifier compares as a string */
	expect_eval("python_version == 'x'", &env, 0);
	expect_eval("python_version in '3.11 3.12'", &env, 1);
	/* === is an exact (case-insensitive) text match */
	expect_eval("platform_release === '6.8.0-45-GENERIC'", &env, 1);
	/* a bare === (empty arbitrary version) matches only the empty string */
	expect_eval("platform_release === ''", &env, 0);
	expect_eval("'' === python_version", &env, 0);
	env.var[EM_MV_PLATFORM_RELEASE] = "";
	expect_eval("platform_release === ' '", &env, 1);
	expect_eval("'' === 'platform_release'", &env, 1);
	env.var[EM_MV_PLATFORM_RELEASE] = "6.8.0-45-generic";
	/* an unparsable left side never matches a specifier */
	expect_eval("platform_release >= '5'", &env, 0);
	/* extras: PEP 503 names in a set */
	expect_eval("'foo-bar' in extras", &env, 1);
	expect_eval("'FOO.BAR' in extras and 'GPU' in extras", &env, 1);
	expect_eval("'cpu' in extras", &env, 0);
	expect_eval("'cpu' == extras", &env, 0);
	expect_eval("'cpu' != extras", &env, 1);
	/* extra: normalized on both sides */
	env.var[EM_MV_EXTRA] = "Cuda_12";
	expect_eval("extra == 'cuda-12'", &env, 1);
	expect_eval("extra == 'CUDA.12'", &env, 1);
	expect_eval("'Cuda_12' == 'extra'", &env, 0); /* quoted name: left not normalized */
	expect_eval("'cuda-12' == 'extra'", &env, 1);
	env.var[EM_MV_EXTRA] = "";
	expect_eval("extra == ''", &env, 1);
	/* a literal on the left makes the right side a name to look up */
	expect_eval("'x' == 'a'", &env, 1);
	expect_eval("'3.12' == 'python_version'", &env, 1);
	/* python_full_version "3.13.0+" reads as "3.13.0+local" */
	env.var[EM_MV_PYTHON_FULL_VERSION] = "3.13.0+";
	expect_eval("python_full_version == '3.13.0+local'", &env, 1);
	expect_eval("python_full_version >= '3.13'", &env, 1);
	/* pre-releases match (prereleases=True) */
	env.var[EM_MV_PYTHON_FULL_VERSION] = "3.14.0rc1";
	expect_eval("python_full_version >= '3.13'", &env, 1);
	/* no short circuit, but a true result still needs every atom valid */
	expect_eval("os_name == 'posix' or os_name == 'nt'", &env, 1);
}

static void test_eval_errors(void **state)
{
	(void)state;
	struct em_marker_env env = linux_env();
	env.var[EM_MV_PLATFORM_RELEASE] = NULL;
	expect_eval_error("platform_release >= '5'", &env, EM_EUNDEFINED,
			  "undefined marker variable 'platform_release'");
	/* packaging evaluates every atom: an error wins over a true result */
	expect_eval_error("os_name == 'posix' or platform_release == '5'", &env, EM_EUNDEFINED,
			  "platform_release");
	expect_eval_error("'x' == 'nosuch'", &env, EM_EUNDEFINED, "'nosuch'");
	expect_eval_error("os_name ~= 'nt'", &env, EM_EINVAL, "undefined comparison");
	expect_eval_error("os_name === 'nt'", &env, EM_EINVAL, "undefined comparison");
	expect_eval_error("python_version ~= '3'", &env, EM_EINVAL, "undefined comparison");
	expect_eval_error("extras == 'foo'", &env, EM_EINVAL, "extras");
	expect_eval_error("'a' ~= extras", &env, EM_EINVAL, "undefined comparison");
	env.extras_defined = false;
	expect_eval_error("'a' in extras", &env, EM_EUNDEFINED, "'extras'");
	expect_eval_error("'a' in dependency_groups", &env, EM_EUNDEFINED, "'dependency_groups'");
	env = linux_env();
	env.var[EM_MV_EXTRA] = NULL;
	expect_eval_error("extra == 'gpu'", &env, EM_EUNDEFINED, "'extra'");
}

static void test_vars(void **state)
{
	(void)state;
	struct em_arena a;
	em_arena_init(&a);
	struct em_marker *m;
	struct em_error e;
	assert_int_equal(parse(&a, "os_name == 'nt' and ('a' in extras or 'x' == 'python_version')"
				   " or 'q' == 'zz'", &m, &e), 0);
	assert_int_equal(em_marker_vars(m), (1u << EM_MV_OS_NAME) | (1u << EM_MV_PYTHON_VERSION) |
						    EM_MARKER_VAR_EXTRAS | EM_MARKER_VAR_OTHER);
	assert_int_equal(parse(&a, "python_version == platform_release", &m, &e), 0);
	assert_int_equal(em_marker_vars(m), 1u << EM_MV_PYTHON_VERSION);
	assert_string_equal(em_marker_var_name(EM_MV_PLATFORM_PYTHON_IMPLEMENTATION),
			    "platform_python_implementation");
	assert_null(em_marker_var_name(EM_MV_COUNT));
	em_arena_release(&a);
	/* every name reads and prints as itself, on either side */
	static const char *const names[] = { "extras", "dependency_groups" };
	for (int v = 0; v < EM_MV_COUNT + 2; v++) {
		const char *name = v < EM_MV_COUNT ? em_marker_var_name((enum em_marker_var)v)
						   : names[v - EM_MV_COUNT];
		char in[80], want[80];
		snprintf(in, sizeof in, "%s == 'x' or 'y' in %s", name, name);
		snprintf(want, sizeof want, "%s == \"x\" or \"y\" in %s", name, name);
		expect_format(in, want);
	}
}

static void test_parse_errors(void **state)
{
	(void)state;
	const char *s = "os_name == \"nt\" and";
	expect_parse_error(s, strlen(s), EM_EINVAL,
			   "expected a marker variable or quoted string after 'and' at position 17 "
			   "in 'os_name == \"nt\" and'");
	expect_parse_error("", 0, EM_EINVAL, "expected a marker variable or quoted string at "
					     "position 1");
	expect_parse_error("   ", 3, EM_EINVAL, "expected a marker variable");
	expect_parse_error("os_name", 7, EM_EINVAL, "expected a marker operator");
	expect_parse_error("os_name = 'nt'", 14, EM_EINVAL, "expected a marker operator");
	expect_parse_error("'3.7' notin python_version", 26, EM_EINVAL, "marker operator");
	expect_parse_error("'3.7' not python_version", 24, EM_EINVAL,
			   "expected 'in' after 'not' at position 7");
	expect_parse_error("'3.6'inpython_version", 21, EM_EINVAL, NULL);
	expect_parse_error("invalid_name == 'x'", 19, EM_EINVAL, NULL);
	expect_parse_error("os_name == 'nt' xor", 19, EM_EINVAL, "after ''nt''");
	expect_parse_error("os_name == 'nt' AND os_name == 'a'", 35, EM_EINVAL, NULL);
	expect_parse_error("os_name == 'nt", 14, EM_EINVAL, NULL);
	expect_parse_error("os_name == 'C:\\'", 16, EM_EINVAL, "invalid quoted string");
	expect_parse_error("os_name == '\\x'", 15, EM_EINVAL, "invalid quoted string");
	expect_parse_error("os_name == '\\N{DIGIT ONE}'", 26, EM_EINVAL, "not supported");
	expect_parse_error("os_name == '\\ud800'", 19, EM_EINVAL, "surrogate");
	expect_parse_error("os_name == 'a\nb'", 16, EM_EINVAL, "line break");
	expect_parse_error("python_version >= '3'\n", 22, EM_EINVAL, NULL);
	/* unbalanced parentheses */
	expect_parse_error("(os_name == 'nt'", 16, EM_EINVAL, "expected ')' to close the '(' at "
							       "position 1");
	expect_parse_error("os_name == 'nt')", 16, EM_EINVAL, NULL);
	expect_parse_error("()", 2, EM_EINVAL, NULL);
	expect_parse_error(")(", 2, EM_EINVAL, NULL);
	/* NUL bytes, bad UTF-8 */
	expect_parse_error("os_name == 'n\0t'", 16, EM_EINVAL, "NUL byte");
	expect_parse_error("\0", 1, EM_EINVAL, "NUL byte");
	expect_parse_error("os_name == '\xff'", 14, EM_EINVAL, "UTF-8");
	expect_parse_error("os_name == '\xed\xa0\x80'", 16, EM_EINVAL, "UTF-8");
}

static void test_garbage(void **state)
{
	(void)state;
	/* 10 MB */
	size_t big = (size_t)10 << 20;
	char *s = malloc(big);
	assert_non_null(s);
	memset(s, '(', big);
	expect_parse_error(s, big, EM_ELIMIT, "longer than");
	/* 100,000 nested parentheses inside the length limit is impossible;
	 * 60,000 of them are, and must fail at the depth limit */
	size_t n = 60000;
	memset(s, '(', n);
	expect_parse_error(s, n, EM_ELIMIT, "deeper than 64");
	/* exactly at the limit parses; one more does not */
	size_t k = 0;
	for (int i = 0; i < EM_MARKER_MAX_DEPTH; i++)
		s[k++] = '(';
	memcpy(s + k, "os_name == 'posix'", 18);
	k += 18;
	for (int i = 0; i < EM_MARKER_MAX_DEPTH; i++)
		s[k++] = ')';
	s[k] = '\0';
	struct em_arena a;
	em_arena_init(&a);
	struct em_marker *m;
	struct em_error e;
	assert_int_equal(em_marker_parse(&a, s, k, &m, &e), 0);
	struct em_marker_env env = linux_env();
	bool res = false;
	assert_int_equal(em_marker_eval(m, &env, &res, &e), 0);
	assert_true(res);
	struct em_buf b = EM_BUF_INIT;
	assert_int_equal(em_marker_format(m, &b), 0);
	assert_string_equal(b.ptr, "os_name == \"posix\"");
	em_buf_release(&b);
	memmove(s + 1, s, k + 1);
	s[0] = '(';
	memcpy(s + k + 1, ")", 2);
	expect_parse_error(s, k + 2, EM_ELIMIT, "deeper than 64");
	/* a 100,000-deep nest is refused by its length, not by recursion */
	memset(s, '(', 100000);
	expect_parse_error(s, 100000, EM_ELIMIT, NULL);

	/* a version with 10,000 segments: parses, and comparing it is an error */
	k = 0;
	k += (size_t)sprintf(s, "python_version >= '");
	for (int i = 0; i < 10000; i++) {
		memcpy(s + k, "1.", 2);
		k += 2;
	}
	s[k - 1] = '\'';
	s[k] = '\0';
	assert_int_equal(em_marker_parse(&a, s, k, &m, &e), 0);
	int rc = em_marker_eval(m, &env, &res, &e);
	assert_int_equal(rc, EM_ELIMIT);
	/* ... also from the left, and in the environment */
	memmove(s, s + 18, k - 18 + 1);
	k -= 18;
	memcpy(s + k, " <= python_version", 19);
	k += 18;
	assert_int_equal(em_marker_parse(&a, s, k, &m, &e), 0);
	assert_int_equal(em_marker_eval(m, &env, &res, &e), EM_ELIMIT);
	env.var[EM_MV_PYTHON_VERSION] = s + 1;
	s[k - 19] = '\0';
	assert_int_equal(parse(&a, "python_version >= '3.8'", &m, &e), 0);
	assert_int_equal(em_marker_eval(m, &env, &res, &e), EM_ELIMIT);
	/* ... but as a string it is just a string */
	assert_int_equal(parse(&a, "python_version in 'abc'", &m, &e), 0);
	assert_int_equal(em_marker_eval(m, &env, &res, &e), 0);
	assert_false(res);

	/* a long flat chain */
	k = 0;
	for (int i = 0; i < 3000; i++)
		k += (size_t)sprintf(s + k, "%sos_name == 'x%d'", i ? " or " : "", i);
	assert_int_equal(em_marker_parse(&a, s, k, &m, &e), 0);
	env = linux_env();
	assert_int_equal(em_marker_eval(m, &env, &res, &e), 0);
	assert_false(res);
	assert_int_equal(em_marker_format(m, &b), 0);
	assert_int_equal(b.len, k);
	em_buf_release(&b);
	em_arena_release(&a);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conformance),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_format_both_quotes),
		cmocka_unit_test(test_eval),
		cmocka_unit_test(test_eval_errors),
		cmocka_unit_test(test_vars),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_garbage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
