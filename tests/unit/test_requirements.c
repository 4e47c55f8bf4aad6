/* test_requirements.c - PEP 508 requirements against pypa/packaging 26.x */
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "spec/name.h"
#include "spec/pep508.h"

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The parts the way requirements.tsv writes them. */
static void describe(const struct em_requirement *r, struct em_buf *extras, struct em_buf *spec,
		     struct em_buf *marker)
{
	const char *sorted[256];
	assert_true(r->nextras <= 256);
	if (r->nextras) {
		memcpy(sorted, r->extras, r->nextras * sizeof *sorted);
		qsort(sorted, r->nextras, sizeof *sorted, cmp_str);
	}
	for (uint32_t i = 0; i < r->nextras; i++) {
		if (i)
			em_buf_addc(extras, ',');
		em_buf_addstr(extras, sorted[i]);
	}
	assert_int_equal(em_specset_format(&r->spec, spec), 0);
	if (r->marker)
		assert_int_equal(em_marker_format(r->marker, marker), 0);
}

static void test_conformance(void **state)
{
	(void)state;
	struct tu_tsv t;
	assert_int_equal(tu_tsv_open(&t, tu_fixture("conformance/requirements.tsv")), 0);
	struct tu_report r;
	tu_report_init(&r, "requirements", 30);
	struct em_arena a;
	em_arena_init(&a);
	struct em_buf extras = EM_BUF_INIT, spec = EM_BUF_INIT, marker = EM_BUF_INIT;
	struct em_buf str = EM_BUF_INIT, again = EM_BUF_INIT;
	unsigned nvalid = 0, nerror = 0;
	while (tu_tsv_next(&t)) {
		r.total++;
		assert_int_equal(t.nf, 6);
		struct em_requirement req;
		struct em_error e = { 0 };
		int rc = em_requirement_parse(&a, t.f[0], t.flen[0], &req, &e);
		bool want_error = !strcmp(t.f[1], "error");
		if (rc || want_error) {
			if (!rc)
				tu_report_fail(&r, "line %u: '%s' accepted, want an error", t.lineno,
					       t.f[0]);
			else if (!want_error)
				tu_report_fail(&r, "line %u: '%s' rejected: %s", t.lineno, t.f[0],
					       e.msg);
			else
				nerror++;
			continue;
		}
		em_buf_reset(&extras);
		em_buf_reset(&spec);
		em_buf_reset(&marker);
		describe(&req, &extras, &spec, &marker);
		const char *url = req.url ? req.url : "";
		if (strcmp(req.name, t.f[1]) || strcmp(extras.ptr, t.f[2]) ||
		    strcmp(spec.ptr, t.f[3]) || strcmp(marker.ptr, t.f[4]) || strcmp(url, t.f[5])) {
			tu_report_fail(&r, "line %u: '%s' gave name '%s' extras '%s' spec '%s' "
					   "marker '%s' url '%s', want '%s' '%s' '%s' '%s' '%s'",
				       t.lineno, t.f[0], req.name, extras.ptr, spec.ptr, marker.ptr,
				       url, t.f[1], t.f[2], t.f[3], t.f[4], t.f[5]);
			continue;
		}
		/* str(Requirement) is put together from the same parts */
		em_buf_reset(&str);
		assert_int_equal(em_requirement_format(&req, &str), 0);
		struct em_buf want = EM_BUF_INIT;
		em_buf_addstr(&want, t.f[1]);
		if (extras.len)
			em_buf_addf(&want, "[%s]", extras.ptr);
		em_buf_addstr(&want, spec.ptr);
		if (t.f[5][0])
			em_buf_addf(&want, " @ %s%s", t.f[5], t.f[4][0] ? " " : "");
		if (t.f[4][0])
			em_buf_addf(&want, "; %s", t.f[4]);
		if (strcmp(str.ptr, want.ptr))
			tu_report_fail(&r, "line %u: '%s' formatted as '%s', want '%s'", t.lineno,
				       t.f[0], str.ptr, want.ptr);
		em_buf_release(&want);
		/* and reads back as itself */
		struct em_requirement req2;
		if (em_requirement_parse(&a, str.ptr, str.len, &req2, &e)) {
			tu_report_fail(&r, "line %u: '%s' does not parse back: %s", t.lineno,
				       str.ptr, e.msg);
			continue;
		}
		em_buf_reset(&again);
		assert_int_equal(em_requirement_format(&req2, &again), 0);
		if (strcmp(str.ptr, again.ptr))
			tu_report_fail(&r, "line %u: '%s' reformatted as '%s'", t.lineno, str.ptr,
				       again.ptr);
		nvalid++;
	}
	fprintf(stderr, "  requirements.tsv: %u rows (%u valid, %u rejected), %u failed\n",
		r.total, nvalid, nerror, r.failed);
	em_buf_release(&extras);
	em_buf_release(&spec);
	em_buf_release(&marker);
	em_buf_release(&str);
	em_buf_release(&again);
	em_arena_release(&a);
	tu_tsv_close(&t);
	tu_report_done(&r);
}

static struct em_marker_env linux_env(void)
{
	struct em_marker_env env;
	memset(&env, 0, sizeof env);
	env.var[EM_MV_IMPLEMENTATION_NAME] = "cpython";
	env.var[EM_MV_IMPLEMENTATION_VERSION] = "3.12.10";
	env.var[EM_MV_OS_NAME] = "posix";
	env.var[EM_MV_PLATFORM_MACHINE] = "x86_64";
	env.var[EM_MV_PLATFORM_PYTHON_IMPLEMENTATION] = "CPython";
	env.var[EM_MV_PLATFORM_RELEASE] = "6.8.0-45-generic";
	env.var[EM_MV_PLATFORM_SYSTEM] = "Linux";
	env.var[EM_MV_PLATFORM_VERSION] = "#45-Ubuntu SMP";
	env.var[EM_MV_PYTHON_FULL_VERSION] = "3.12.10";
	env.var[EM_MV_PYTHON_VERSION] = "3.12";
	env.var[EM_MV_SYS_PLATFORM] = "linux";
	return env;
}

static void expect_req(const char *s, const char *want)
{
	struct em_arena a;
	em_arena_init(&a);
	struct em_requirement r;
	struct em_error e;
	em_error_clear(&e);
	if (em_requirement_parse(&a, s, strlen(s), &r, &e))
		fail_msg("'%s': %s", s, e.msg);
	struct em_buf b = EM_BUF_INIT;
	assert_int_equal(em_requirement_format(&r, &b), 0);
	if (strcmp(b.ptr, want))
		fail_msg("'%s' formatted as '%s', want '%s'", s, b.ptr, want);
	em_buf_release(&b);
	em_arena_release(&a);
}

static void expect_req_error(const char *s, size_t n, int code, const char *pattern)
{
	struct em_arena a;
	em_arena_init(&a);
	struct em_requirement r;
	struct em_error e;
	em_error_clear(&e);
	int rc = em_requirement_parse(&a, s, n, &r, &e);
	if (rc != code)
		fail_msg("'%.60s': code %d, want %d (%s)", s, rc, code, e.msg);
	assert_null(r.name);
	assert_null(r.marker);
	if (pattern && !strstr(e.msg, pattern))
		fail_msg("'%.60s': message '%s' lacks '%s'", s, e.msg, pattern);
	assert_null(strchr(e.msg, '\n'));
	em_arena_release(&a);
}

static void test_parts(void **state)
{
	(void)state;
	struct em_arena a;
	em_arena_init(&a);
	struct em_requirement r;
	struct em_error e;
	const char *s = "Torch [ cuda , CPU,cuda ] (>= 2.8.0 , < 3) ; sys_platform == 'linux'";
	assert_int_equal(em_requirement_parse(&a, s, strlen(s), &r, &e), 0);
	assert_string_equal(r.name, "Torch");
	assert_int_equal(r.nextras, 2);
	assert_string_equal(r.extras[0], "cuda");
	assert_string_equal(r.extras[1], "CPU");
	assert_int_equal(r.spec.n, 2);
	assert_null(r.url);
	assert_non_null(r.marker);
	assert_int_equal(em_marker_vars(r.marker), 1u << EM_MV_SYS_PLATFORM);

	struct em_marker_env env = linux_env();
	bool res = false;
	assert_int_equal(em_requirement_applies(&r, &env, NULL, &res, &e), 0);
	assert_true(res);
	env.var[EM_MV_SYS_PLATFORM] = "win32";
	assert_int_equal(em_requirement_applies(&r, &env, NULL, &res, &e), 0);
	assert_false(res);

	s = "nvidia-cudnn-cu12 ; extra == 'CUDA_12' and platform_system == 'Linux'";
	assert_int_equal(em_requirement_parse(&a, s, strlen(s), &r, &e), 0);
	env = linux_env();
	env.var[EM_MV_EXTRA] = "must-not-be-used";
	assert_int_equal(em_requirement_applies(&r, &env, NULL, &res, &e), 0);
	assert_false(res);
	assert_int_equal(em_requirement_applies(&r, &env, "Cuda.12", &res, &e), 0);
	assert_true(res);
	assert_string_equal(env.var[EM_MV_EXTRA], "must-not-be-used");

	s = "pip @ file:///tmp/pip-24.2-py3-none-any.whl";
	assert_int_equal(em_requirement_parse(&a, s, strlen(s), &r, &e), 0);
	assert_string_equal(r.url, "file:///tmp/pip-24.2-py3-none-any.whl");
	assert_int_equal(r.spec.n, 0);
	assert_null(r.marker);
	assert_int_equal(em_requirement_applies(&r, &env, NULL, &res, &e), 0);
	assert_true(res);

	/* undefined variables surface from applies */
	s = "x; platform_release >= '5'";
	assert_int_equal(em_requirement_parse(&a, s, strlen(s), &r, &e), 0);
	env.var[EM_MV_PLATFORM_RELEASE] = NULL;
	assert_int_equal(em_requirement_applies(&r, &env, NULL, &res, &e), EM_EUNDEFINED);
	em_arena_release(&a);
}

static void test_format(void **state)
{
	(void)state;
	expect_req("name", "name");
	expect_req("  name  ", "name");
	expect_req("name[b,a,b]", "name[a,b]");
	expect_req("name[]", "name");
	expect_req("name ()", "name");
	expect_req("name (>=1.0, <2)", "name<2,>=1.0");
	expect_req("name==2.8.0 ,", "name==2.8.0");
	expect_req("torch==2.8.0+cu126", "torch==2.8.0+cu126");
	expect_req("name===x ; os_name=='nt'", "name===x; os_name == \"nt\"");
	expect_req("name@http://x/y.whl;os_name=='nt'", "name @ http://x/y.whl;os_name=='nt'");
	expect_req("name @ http://x/y.whl ;os_name=='nt'",
		   "name @ http://x/y.whl ; os_name == \"nt\"");
	expect_req("name>=1;extra=='Foo_Bar'", "name>=1; extra == \"foo-bar\"");
	expect_req("name_", "name_");
}

static void test_errors(void **state)
{
	(void)state;
	expect_req_error("", 0, EM_EINVAL, "expected a package name at the start of the "
					   "requirement at position 1");
	expect_req_error("-pkg", 4, EM_EINVAL, "package name");
	expect_req_error("pkg-", 4, EM_EINVAL, "after 'pkg' at position 1");
	expect_req_error("name[bar baz]", 13, EM_EINVAL, "a comma between extra names");
	expect_req_error("name[bar,]", 10, EM_EINVAL, "an extra name after ',' at position 9");
	expect_req_error("name[bar", 8, EM_EINVAL, "expected ']' to close the '[' at position 5");
	expect_req_error("name (>= 1.0", 12, EM_EINVAL, "expected ')' to close the '('");
	expect_req_error("name @ ", 7, EM_EINVAL, "expected a URL after '@' at position 6");
	expect_req_error("name @ https://x/; extra == 'a'", 31, EM_EINVAL, "';'");
	expect_req_error("name==1.0.*.*", 13, EM_EINVAL, NULL);
	expect_req_error("name>=1.0.*", 11, EM_EINVAL, "'.*' suffix can only be used");
	expect_req_error("name==1.0a1.*", 13, EM_EINVAL, "'.*' suffix cannot be used");
	expect_req_error("name>=1.0+local", 15, EM_EINVAL, "local version label");
	expect_req_error("demo===x,y", 10, EM_EINVAL, "in requirement 'demo===x,y'");
	expect_req_error("pkg>=1.0,,<2", 12, EM_EINVAL, NULL);
	expect_req_error("name; os_name", 13, EM_EINVAL, "marker operator");
	expect_req_error("name>=1\n", 8, EM_EINVAL, NULL);
	expect_req_error("name\0", 5, EM_EINVAL, "NUL byte");
	expect_req_error("name @ http://x/\xc3", 17, EM_EINVAL, "UTF-8");
	expect_req_error("name; os_name == 'a' )", 22, EM_EINVAL, "the end of the requirement");
}

static void test_garbage(void **state)
{
	(void)state;
	size_t big = (size_t)10 << 20;
	char *s = malloc(big + 1);
	assert_non_null(s);
	memset(s, 'a', big);
	expect_req_error(s, big, EM_ELIMIT, "longer than 65536");
	/* the longest allowed name */
	struct em_arena a;
	em_arena_init(&a);
	struct em_requirement r;
	struct em_error e;
	assert_int_equal(em_requirement_parse(&a, s, EM_REQUIREMENT_MAX_LEN, &r, &e), 0);
	assert_int_equal(strlen(r.name), EM_REQUIREMENT_MAX_LEN);
	/* many extras, many of them repeated */
	size_t k = (size_t)sprintf(s, "x[");
	for (int i = 0; i < 10000; i++)
		k += (size_t)sprintf(s + k, "%se%d", i ? "," : "", i % 2500);
	s[k++] = ']';
	assert_int_equal(em_requirement_parse(&a, s, k, &r, &e), 0);
	assert_true(k <= EM_REQUIREMENT_MAX_LEN);
	assert_int_equal(r.nextras, 2500);
	assert_string_equal(r.extras[2499], "e2499");
	/* deep parentheses in the marker part */
	k = (size_t)sprintf(s, "x; ");
	memset(s + k, '(', 60000);
	expect_req_error(s, k + 60000, EM_ELIMIT, "deeper than 64");
	/* a version with 10,000 segments */
	k = (size_t)sprintf(s, "x==");
	for (int i = 0; i < 10000; i++)
		k += (size_t)sprintf(s + k, "%s1", i ? "." : "");
	expect_req_error(s, k, EM_ELIMIT, NULL);
	/* unbalanced */
	expect_req_error("x (((", 5, EM_EINVAL, NULL);
	expect_req_error("x; ((os_name == 'a')", 20, EM_EINVAL, "to close the '('");
	em_arena_release(&a);
	free(s);
}

/* Every Requires-Dist line of a real CUDA PyTorch stack: all parse, and
 * parsing plus evaluating them stays cheap. */
static void test_real_metadata(void **state)
{
	(void)state;
	const char *dir = tu_fixture("cu130-stack");
	char dirpath[4096];
	snprintf(dirpath, sizeof dirpath, "%s", dir);
	DIR *d = opendir(dirpath);
	assert_non_null(d);
	size_t cap = 4096, n = 0;
	char **lines = malloc(cap * sizeof *lines);
	size_t *lens = malloc(cap * sizeof *lens);
	char **files = malloc(512 * sizeof *files);
	size_t nfiles = 0;
	assert_true(lines && lens && files);
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		char path[8192];
		snprintf(path, sizeof path, "%s/%s/METADATA", dirpath, de->d_name);
		size_t len;
		char *data = tu_read_file(path, &len);
		if (!data)
			continue;
		assert_true(nfiles < 512);
		files[nfiles++] = data;
		char *p = data;
		while (p < data + len) {
			char *nl = memchr(p, '\n', (size_t)(data + len - p));
			char *end = nl ? nl : data + len;
			if (end == p) /* the body starts */
				break;
			static const char key[] = "Requires-Dist:";
			if ((size_t)(end - p) > sizeof key && !memcmp(p, key, sizeof key - 1)) {
				char *v = p + sizeof key - 1;
				while (*v == ' ')
					v++;
				char *ve = end;
				if (ve > v && ve[-1] == '\r')
					ve--;
				assert_true(n < cap);
				lines[n] = v;
				lens[n++] = (size_t)(ve - v);
			}
			p = end + 1;
		}
	}
	closedir(d);
	assert_true(n > 2000);

	struct em_marker_env env = linux_env();
	struct tu_report r;
	tu_report_init(&r, "Requires-Dist", 20);
	struct em_arena a;
	em_arena_init(&a);
	unsigned applies = 0;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t i = 0; i < n; i++) {
		r.total++;
		struct em_requirement req;
		struct em_error e;
		if (em_requirement_parse(&a, lines[i], lens[i], &req, &e)) {
			tu_report_fail(&r, "'%.*s': %s", (int)lens[i], lines[i], e.msg);
			continue;
		}
		bool res;
		if (em_requirement_applies(&req, &env, NULL, &res, &e)) {
			tu_report_fail(&r, "'%.*s': %s", (int)lens[i], lines[i], e.msg);
			continue;
		}
		applies += res;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	fprintf(stderr, "  %zu Requires-Dist lines parsed and evaluated in %.2f ms (%u apply)\n", n,
		ms, applies);
	/* generous: sanitizer builds run this too */
	assert_true(ms < 500);
	em_arena_release(&a);
	tu_report_done(&r);
	for (size_t i = 0; i < nfiles; i++)
		free(files[i]);
	free(files);
	free(lines);
	free(lens);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conformance),
		cmocka_unit_test(test_parts),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_real_metadata),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
