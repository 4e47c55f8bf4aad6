/* test_pep440.c - versions and specifiers against pypa/packaging 26.x */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec/pep440.h"

static void test_versions_valid(void **state)
{
	(void)state;
	struct tu_tsv t;
	assert_int_equal(tu_tsv_open(&t, tu_fixture("conformance/versions-valid.tsv")), 0);
	struct tu_report r;
	tu_report_init(&r, "versions-valid", 20);
	struct em_arena a;
	em_arena_init(&a);
	while (tu_tsv_next(&t)) {
		r.total++;
		struct em_version v;
		struct em_error e = { 0 };
		if (em_version_parse(&a, t.f[0], t.flen[0], &v, &e)) {
			tu_report_fail(&r, "line %u: '%s' rejected: %s", t.lineno, t.f[0], e.msg);
			continue;
		}
		if (strcmp(v.str, t.f[1]))
			tu_report_fail(&r, "line %u: '%s' normalized to '%s', want '%s'", t.lineno,
				       t.f[0], v.str, t.f[1]);
	}
	em_arena_release(&a);
	tu_tsv_close(&t);
	tu_report_done(&r);
}

static void test_versions_invalid(void **state)
{
	(void)state;
	struct tu_tsv t;
	assert_int_equal(tu_tsv_open(&t, tu_fixture("conformance/versions-invalid.tsv")), 0);
	struct tu_report r;
	tu_report_init(&r, "versions-invalid", 20);
	struct em_arena a;
	em_arena_init(&a);
	while (tu_tsv_next(&t)) {
		r.total++;
		struct em_version v;
		struct em_error e = { 0 };
		int rc = em_version_parse(&a, t.f[0], t.flen[0], &v, &e);
		if (rc == 0)
			tu_report_fail(&r, "line %u: '%s' accepted as '%s'", t.lineno, t.f[0], v.str);
		else if (!strstr(e.msg, "invalid version"))
			tu_report_fail(&r, "line %u: message '%s'", t.lineno, e.msg);
	}
	em_arena_release(&a);
	tu_tsv_close(&t);
	tu_report_done(&r);
}

static void test_versions_order(void **state)
{
	(void)state;
	struct tu_tsv t;
	assert_int_equal(tu_tsv_open(&t, tu_fixture("conformance/versions-order.tsv")), 0);
	struct tu_report r;
	tu_report_init(&r, "versions-order", 20);
	struct em_arena a;
	em_arena_init(&a);
	struct em_version ordered[256];
	size_t n = 0;
	while (tu_tsv_next(&t)) {
		struct em_error e = { 0 };
		if (t.nf == 1) {
			assert_true(n < 256);
			if (em_version_parse(&a, t.f[0], t.flen[0], &ordered[n], &e)) {
				tu_report_fail(&r, "'%s': %s", t.f[0], e.msg);
				continue;
			}
			n++;
			continue;
		}
		r.total++;
		struct em_version x, y;
		if (em_version_parse(&a, t.f[0], t.flen[0], &x, &e) ||
		    em_version_parse(&a, t.f[1], t.flen[1], &y, &e)) {
			tu_report_fail(&r, "line %u: %s", t.lineno, e.msg);
			continue;
		}
		if (em_version_cmp(&x, &y) != 0 || em_version_cmp(&y, &x) != 0)
			tu_report_fail(&r, "line %u: '%s' != '%s'", t.lineno, t.f[0], t.f[1]);
	}
	assert_int_equal(n, 92);
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < n; j++) {
			r.total++;
			int want = i < j ? -1 : i > j ? 1 : 0;
			int got = em_version_cmp(&ordered[i], &ordered[j]);
			got = got < 0 ? -1 : got > 0;
			if (got != want)
				tu_report_fail(&r, "cmp('%s', '%s') = %d, want %d", ordered[i].str,
					       ordered[j].str, got, want);
		}
	}
	em_arena_release(&a);
	tu_tsv_close(&t);
	tu_report_done(&r);
}

static void test_specifiers(void **state)
{
	(void)state;
	struct tu_tsv t;
	assert_int_equal(tu_tsv_open(&t, tu_fixture("conformance/specifiers.tsv")), 0);
	struct tu_report r;
	tu_report_init(&r, "specifiers", 30);
	struct em_arena a;
	em_arena_init(&a);
	unsigned rows = 0;
	while (tu_tsv_next(&t)) {
		r.total++;
		rows++;
		struct em_specset set;
		struct em_error e = { 0 };
		int rc = em_specset_parse(&a, t.f[0], t.flen[0], &set, &e);
		const char *want = t.f[3];
		if (!strcmp(want, "error")) {
			if (rc == 0)
				tu_report_fail(&r, "line %u: '%s' accepted", t.lineno, t.f[0]);
			continue;
		}
		if (rc) {
			tu_report_fail(&r, "line %u: '%s' rejected: %s", t.lineno, t.f[0], e.msg);
			continue;
		}
		enum em_pre_mode mode = !strcmp(t.f[2], "true")    ? EM_PRE_ALLOW
					: !strcmp(t.f[2], "false") ? EM_PRE_DENY
								   : EM_PRE_DEFAULT;
		bool got = em_specset_contains_str(&set, t.f[1], t.flen[1], mode);
		if (got != (want[0] == '1'))
			tu_report_fail(&r, "line %u: '%s' contains '%s' (%s) = %d, want %s", t.lineno,
				       t.f[0], t.f[1], t.f[2], got, want);
		if (rows % 4096 == 0)
			em_arena_release(&a);
	}
	assert_true(rows > 24000);
	em_arena_release(&a);
	tu_tsv_close(&t);
	tu_report_done(&r);
}

/* the requirement file's specifier column is packaging's canonical text */
static void test_specifier_format(void **state)
{
	(void)state;
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ ">=2.0,<3.0", "<3.0,>=2.0" },
		{ "==1.0,==1.0.0", "==1.0" },
		{ "==1.0.0, ==1.0", "==1.0" },
		{ "~=1.0,~=1.0.0", "~=1.0,~=1.0.0" },
		{ ">= 1.0 , != 1.5.*", "!=1.5.*,>=1.0" },
		{ "", "" },
		{ "==2.8.0 ,", "==2.8.0" },
		{ "===foo,===FOO", "===FOO,===foo" },
		{ "  ~=  v1.0 ", "~=v1.0" },
	};
	struct em_arena a;
	em_arena_init(&a);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct em_specset set;
		struct em_error e = { 0 };
		assert_int_equal(em_specset_parse(&a, cases[i].in, strlen(cases[i].in), &set, &e), 0);
		struct em_buf b = EM_BUF_INIT;
		assert_int_equal(em_specset_format(&set, &b), 0);
		assert_string_equal(b.ptr, cases[i].want);
		em_buf_release(&b);
	}
	em_arena_release(&a);
}

/* the installer's choice among candidates, apart from contains() */
static void test_filter_policy(void **state)
{
	(void)state;
	static const struct {
		const char *spec;
		const char *versions; /* space separated */
		enum em_pre_mode mode;
		const char *want;     /* the kept ones */
	} cases[] = {
		{ ">=1.0", "0.9 1.0 1.1a1 1.1", EM_PRE_DEFAULT, "1.0 1.1" },
		{ ">=1.0", "0.9 1.1a1 1.2rc1", EM_PRE_DEFAULT, "1.1a1 1.2rc1" },
		{ ">=1.0", "1.0 1.1a1", EM_PRE_ALLOW, "1.0 1.1a1" },
		{ ">=1.0", "1.1a1", EM_PRE_DENY, "" },
		{ ">=1.1a1", "1.0 1.1a1 1.1", EM_PRE_DEFAULT, "1.1a1 1.1" },
		{ "==2.8.*", "2.7.1 2.8.0+cu126 2.8.0 2.8.1rc1 2.9.0", EM_PRE_DEFAULT, "2.8.0+cu126 2.8.0" },
		{ "<2", "1.26.4 2.0.0rc1 2.0.0", EM_PRE_DEFAULT, "1.26.4" },
		{ "", "1.0 2.0b1", EM_PRE_DEFAULT, "1.0" },
		{ "", "2.0b1", EM_PRE_DEFAULT, "2.0b1" },
		{ "!=2.0b1", "1.0 2.0b1 2.0b2", EM_PRE_DEFAULT, "1.0" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct em_arena a;
		em_arena_init(&a);
		struct em_specset set;
		assert_int_equal(em_specset_parse(&a, cases[i].spec, strlen(cases[i].spec), &set, NULL), 0);
		struct em_version vs[16];
		const struct em_version *pv[16];
		size_t n = 0;
		char tmp[256];
		snprintf(tmp, sizeof tmp, "%s", cases[i].versions);
		for (char *tok = strtok(tmp, " "); tok; tok = strtok(NULL, " ")) {
			assert_int_equal(em_version_parse(&a, tok, strlen(tok), &vs[n], NULL), 0);
			pv[n] = &vs[n];
			n++;
		}
		bool keep[16];
		size_t kept = em_specset_filter(&set, pv, n, cases[i].mode, keep);
		struct em_buf b = EM_BUF_INIT;
		size_t count = 0;
		for (size_t k = 0; k < n; k++) {
			if (!keep[k])
				continue;
			if (count++)
				em_buf_addc(&b, ' ');
			em_buf_addstr(&b, vs[k].str);
		}
		assert_int_equal(kept, count);
		if (strcmp(b.ptr, cases[i].want))
			fail_msg("'%s' over '%s': kept '%s', want '%s'", cases[i].spec,
				 cases[i].versions, b.ptr, cases[i].want);
		em_buf_release(&b);
		em_arena_release(&a);
	}
}

static void test_torch_cases(void **state)
{
	(void)state;
	static const struct {
		const char *spec, *version;
		bool want;
	} cases[] = {
		{ "==2.8.0", "2.8.0+cu126", true },   { "==2.8.0+cu126", "2.8.0+cu126", true },
		{ "==2.8.0+cu126", "2.8.0", false },  { "==2.8.0+cu126", "2.8.0+cu128", false },
		{ "==2.8.*", "2.8.0+cu126", true },   { ">2.8.0", "2.8.0+cu126", false },
		{ ">2.8.0", "2.8.0.post1", false },   { ">=2.8.0", "2.8.0+cu126", true },
		{ "<=2.8.0", "2.8.0+cu126", true },   { "<2.8.1", "2.8.0+cu126", true },
		{ "~=2.8.0", "2.8.0+cu126", true },   { "!=2.8.0", "2.8.0+cu126", false },
		{ "===2.8.0", "2.8.0+cu126", false }, { "<2.9", "2.9.0rc1", false },
		{ ">=2.8", "2.9.0rc1", true },        { "==2.8.0", "2.8", true },
	};
	struct em_arena a;
	em_arena_init(&a);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct em_specset set;
		assert_int_equal(em_specset_parse(&a, cases[i].spec, strlen(cases[i].spec), &set, NULL), 0);
		bool got = em_specset_contains_str(&set, cases[i].version, strlen(cases[i].version),
						   EM_PRE_DEFAULT);
		if (got != cases[i].want)
			fail_msg("'%s' contains '%s' = %d", cases[i].spec, cases[i].version, got);
	}
	em_arena_release(&a);
}

static void test_normalization_examples(void **state)
{
	(void)state;
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "2.8.0-RC.1", "2.8.0rc1" }, { "2.8.0+CU126-1", "2.8.0+cu126.1" },
		{ "v1.0", "1.0" },            { "1.0-1", "1.0.post1" },
		{ "1.0.PREVIEW", "1.0rc0" },  { "1!2.0-dev_3", "1!2.0.dev3" },
		{ "01.002", "1.2" },          { "1.0+Ubuntu_1.00", "1.0+ubuntu.1.0" },
	};
	struct em_arena a;
	em_arena_init(&a);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct em_version v;
		assert_int_equal(em_version_parse(&a, cases[i].in, strlen(cases[i].in), &v, NULL), 0);
		assert_string_equal(v.str, cases[i].want);
	}
	em_arena_release(&a);
}

/* garbage in: an error, never a crash or a hang */
static void test_garbage(void **state)
{
	(void)state;
	struct em_arena a;
	em_arena_init(&a);
	struct em_version v;
	struct em_error e = { 0 };
	assert_int_equal(em_version_parse(&a, "", 0, &v, &e), EM_EINVAL);
	assert_non_null(strstr(e.msg, "empty"));
	assert_int_equal(em_version_parse(&a, "1.0\0", 4, &v, &e), EM_EINVAL);
	assert_non_null(strstr(e.msg, "\\x00"));
	assert_int_equal(em_version_parse(&a, "1.\0" "0", 4, &v, &e), EM_EINVAL);

	/* 10,000 release segments */
	size_t n = 20000;
	char *big = malloc(n);
	assert_non_null(big);
	for (size_t i = 0; i < n; i += 2) {
		big[i] = '1';
		big[i + 1] = '.';
	}
	assert_int_equal(em_version_parse(&a, big, n - 1, &v, &e), EM_ELIMIT);
	/* 32 segments is the limit, and fine */
	assert_int_equal(em_version_parse(&a, big, 63, &v, &e), 0);
	assert_int_equal(v.nrelease, 32);
	assert_int_equal(em_version_parse(&a, big, 65, &v, &e), EM_ELIMIT);
	free(big);

	/* a 10 MB line */
	n = 10u << 20;
	big = malloc(n);
	assert_non_null(big);
	memset(big, '1', n);
	assert_int_equal(em_version_parse(&a, big, n, &v, &e), EM_ELIMIT);
	struct em_specset set;
	assert_int_equal(em_specset_parse(&a, big, n, &set, &e), EM_ELIMIT);
	memset(big, ',', n);
	assert_int_equal(em_specset_parse(&a, big, n, &set, &e), EM_ELIMIT);
	memset(big, ' ', n);
	assert_int_equal(em_version_parse(&a, big, n, &v, &e), EM_EINVAL);
	free(big);

	/* accepted versions normalize to text that parses again: "0A" grows to
	 * "0a0", so 256 bytes that normalize to 257 are refused (fuzz finding) */
	char edge[EM_VERSION_MAX_LEN + 1];
	memcpy(edge, "0A+", 3);
	memset(edge + 3, 'x', sizeof edge - 3);
	assert_int_equal(em_version_parse(&a, edge, EM_VERSION_MAX_LEN, &v, &e), EM_ELIMIT);
	assert_int_equal(em_version_parse(&a, edge + 1, EM_VERSION_MAX_LEN - 1, &v, &e), EM_EINVAL);
	edge[1] = 'a';
	edge[2] = '0';
	edge[3] = '+';
	assert_int_equal(em_version_parse(&a, edge, EM_VERSION_MAX_LEN, &v, &e), 0);
	assert_int_equal(strlen(v.str), EM_VERSION_MAX_LEN);

	/* numbers past 64 bits are refused, not wrapped */
	const char *huge = "1.18446744073709551616";
	assert_int_equal(em_version_parse(&a, huge, strlen(huge), &v, &e), EM_ELIMIT);
	const char *max = "18446744073709551615.18446744073709551615";
	assert_int_equal(em_version_parse(&a, max, strlen(max), &v, &e), 0);
	assert_int_equal(em_specset_parse(&a, "==18446744073709551615.*", 24, &set, &e), 0);
	assert_true(em_specset_contains_str(&set, max, strlen(max), EM_PRE_DEFAULT));
	const char *compat = "~=18446744073709551615.0";
	assert_int_equal(em_specset_parse(&a, compat, strlen(compat), &set, &e), 0);
	assert_true(em_specset_contains_str(&set, max, strlen(max), EM_PRE_DEFAULT));
	assert_false(em_specset_contains_str(&set, "5.0", 3, EM_PRE_DEFAULT));

	/* local numbers of any length compare as numbers */
	struct em_version x, y;
	const char *l1 = "1.0+123456789012345678901234567890", *l2 = "1.0+99999999999999999999999999999";
	assert_int_equal(em_version_parse(&a, l1, strlen(l1), &x, &e), 0);
	assert_int_equal(em_version_parse(&a, l2, strlen(l2), &y, &e), 0);
	assert_true(em_version_cmp(&x, &y) > 0);

	/* specifier errors name the problem */
	assert_int_equal(em_specset_parse(&a, ">=1.0+local", 11, &set, &e), EM_EINVAL);
	assert_non_null(strstr(e.msg, "local"));
	assert_int_equal(em_specset_parse(&a, "~=1", 3, &set, &e), EM_EINVAL);
	assert_non_null(strstr(e.msg, "two release"));
	assert_int_equal(em_specset_parse(&a, "==1.0a1.*", 9, &set, &e), EM_EINVAL);
	assert_int_equal(em_specset_parse(&a, "1.0", 3, &set, &e), EM_EINVAL);
	assert_non_null(strstr(e.msg, "operator"));
	em_arena_release(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_versions_valid),    cmocka_unit_test(test_versions_invalid),
		cmocka_unit_test(test_versions_order),    cmocka_unit_test(test_specifiers),
		cmocka_unit_test(test_specifier_format),  cmocka_unit_test(test_filter_policy),
		cmocka_unit_test(test_torch_cases),       cmocka_unit_test(test_normalization_examples),
		cmocka_unit_test(test_garbage),
	};
	return cmocka_run_group_tests_name("pep440", tests, NULL, NULL);
}
