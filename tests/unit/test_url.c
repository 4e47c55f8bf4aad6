/* test_url.c - URL resolution (RFC 3986), percent-encoding, file URLs */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "spec/index.h"

struct rcase {
	const char *ref, *want;
};

/* RFC 3986 section 5.4: every example, base "http://a/b/c/d;p?q" */
static const struct rcase rfc_normal[] = {
	{ "g:h", "g:h" },
	{ "g", "http://a/b/c/g" },
	{ "./g", "http://a/b/c/g" },
	{ "g/", "http://a/b/c/g/" },
	{ "/g", "http://a/g" },
	{ "//g", "http://g" },
	{ "?y", "http://a/b/c/d;p?y" },
	{ "g?y", "http://a/b/c/g?y" },
	{ "#s", "http://a/b/c/d;p?q#s" },
	{ "g#s", "http://a/b/c/g#s" },
	{ "g?y#s", "http://a/b/c/g?y#s" },
	{ ";x", "http://a/b/c/;x" },
	{ "g;x", "http://a/b/c/g;x" },
	{ "g;x?y#s", "http://a/b/c/g;x?y#s" },
	{ "", "http://a/b/c/d;p?q" },
	{ ".", "http://a/b/c/" },
	{ "./", "http://a/b/c/" },
	{ "..", "http://a/b/" },
	{ "../", "http://a/b/" },
	{ "../g", "http://a/b/g" },
	{ "../..", "http://a/" },
	{ "../../", "http://a/" },
	{ "../../g", "http://a/g" },
};

static const struct rcase rfc_abnormal[] = {
	{ "../../../g", "http://a/g" },
	{ "../../../../g", "http://a/g" },
	{ "/./g", "http://a/g" },
	{ "/../g", "http://a/g" },
	{ "g.", "http://a/b/c/g." },
	{ ".g", "http://a/b/c/.g" },
	{ "g..", "http://a/b/c/g.." },
	{ "..g", "http://a/b/c/..g" },
	{ "./../g", "http://a/b/g" },
	{ "./g/.", "http://a/b/c/g/" },
	{ "g/./h", "http://a/b/c/g/h" },
	{ "g/../h", "http://a/b/c/h" },
	{ "g;x=1/./y", "http://a/b/c/g;x=1/y" },
	{ "g;x=1/../y", "http://a/b/c/y" },
	{ "g?y/./x", "http://a/b/c/g?y/./x" },
	{ "g?y/../x", "http://a/b/c/g?y/../x" },
	{ "g#s/./x", "http://a/b/c/g#s/./x" },
	{ "g#s/../x", "http://a/b/c/g#s/../x" },
	{ "http:g", "http:g" }, /* strict parser */
};

static void check_table(const char *base, const struct rcase *t, size_t n, const char *what)
{
	struct em_arena a;
	em_arena_init(&a);
	struct tu_report r;
	tu_report_init(&r, what, 20);
	for (size_t i = 0; i < n; i++) {
		r.total++;
		char *out = NULL;
		struct em_error e;
		em_error_clear(&e);
		int rc = em_url_resolve(&a, base, t[i].ref, &out, &e);
		if (rc)
			tu_report_fail(&r, "'%s' against '%s': error %d %s", t[i].ref, base, rc,
				       e.msg);
		else if (strcmp(out, t[i].want))
			tu_report_fail(&r, "'%s' against '%s': got '%s', want '%s'", t[i].ref,
				       base, out, t[i].want);
	}
	tu_report_done(&r);
	em_arena_release(&a);
}

static void test_rfc3986_normal(void **state)
{
	(void)state;
	check_table("http://a/b/c/d;p?q", rfc_normal, sizeof rfc_normal / sizeof rfc_normal[0],
		    "rfc 3986 5.4.1");
}

static void test_rfc3986_abnormal(void **state)
{
	(void)state;
	check_table("http://a/b/c/d;p?q", rfc_abnormal,
		    sizeof rfc_abnormal / sizeof rfc_abnormal[0], "rfc 3986 5.4.2");
}

/* Index shapes: PyTorch, PyPI, find-links, file trees */
static void test_index_shapes(void **state)
{
	(void)state;
	static const struct {
		const char *base, *ref, *want;
	} t[] = {
		{ "https://download.pytorch.org/whl/cu126/torch/",
		  "/whl/cu126/torch-2.6.0%2Bcu126-cp312-cp312-manylinux_2_28_x86_64.whl#sha256=ab",
		  "https://download.pytorch.org/whl/cu126/"
		  "torch-2.6.0%2Bcu126-cp312-cp312-manylinux_2_28_x86_64.whl#sha256=ab" },
		{ "https://download.pytorch.org/whl/cu126/torch/",
		  "https://download-r2.pytorch.org/whl/cu126/torch-2.9.0%2Bcu126-cp312-cp312-"
		  "manylinux_2_28_x86_64.whl",
		  "https://download-r2.pytorch.org/whl/cu126/torch-2.9.0%2Bcu126-cp312-cp312-"
		  "manylinux_2_28_x86_64.whl" },
		{ "https://pypi.org/simple/numpy/",
		  "../../packages/ab/cd/numpy-2.0.0.tar.gz#sha256=00",
		  "https://pypi.org/packages/ab/cd/numpy-2.0.0.tar.gz#sha256=00" },
		{ "https://pypi.org/simple/numpy/", "//files.pythonhosted.org/packages/x.whl",
		  "https://files.pythonhosted.org/packages/x.whl" },
		{ "https://pypi.org/simple/numpy/", "?page=2", "https://pypi.org/simple/numpy/?page=2" },
		{ "https://pypi.org/simple/numpy/", "#frag", "https://pypi.org/simple/numpy/#frag" },
		{ "https://pypi.org/simple/numpy/#old", "a.whl", "https://pypi.org/simple/numpy/a.whl" },
		{ "file:///srv/index/simple/torch/", "../../files/torch-2.8.0.whl",
		  "file:///srv/index/files/torch-2.8.0.whl" },
		{ "file:///srv/index/simple/torch/", "/other/x.whl", "file:///other/x.whl" },
		{ "file:///srv/index/simple/torch/index.html", "x.whl",
		  "file:///srv/index/simple/torch/x.whl" },
		{ "file:/srv/a/", "b.whl", "file:/srv/a/b.whl" },
		{ "file://localhost/srv/a/", "b.whl", "file://localhost/srv/a/b.whl" },
		{ "https://h", "a.whl", "https://h/a.whl" },          /* empty base path */
		{ "https://h?q", "?r", "https://h?r" },
		{ "HTTPS://H/x/", "y", "HTTPS://H/x/y" },              /* kept as written */
		{ "https://user:pw@h/x/", "y", "https://user:pw@h/x/y" },
		{ "https://h/a/b", "c d.whl", "https://h/a/c%20d.whl" }, /* space encoded */
		{ "https://h/a/", "caf\xc3\xa9.whl", "https://h/a/caf%C3%A9.whl" },
		{ "https://h/a/", "x\\y|z", "https://h/a/x%5Cy%7Cz" },
		{ "https://h/a/", "a%zz%2B.whl", "https://h/a/a%zz%2B.whl" }, /* kept */
		{ "https://h/a/", "1a:b.whl", "https://h/a/1a:b.whl" }, /* no scheme: digit */
		{ "https://h/a/", "mailto:x@y", "mailto:x@y" },
		/* a path that would start with "//" without an authority */
		{ "file:/a", "..//evil/x", "file:/.//evil/x" },
		{ "foo:a/b", "../../..//x", "foo:/.//x" },
		{ "https://h/a/", "g/../../../..", "https://h/" },
	};
	struct em_arena a;
	em_arena_init(&a);
	struct tu_report r;
	tu_report_init(&r, "index-shaped references", 20);
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		r.total++;
		char *out = NULL;
		struct em_error e;
		int rc = em_url_resolve(&a, t[i].base, t[i].ref, &out, &e);
		if (rc)
			tu_report_fail(&r, "'%s' against '%s': %s", t[i].ref, t[i].base, e.msg);
		else if (strcmp(out, t[i].want))
			tu_report_fail(&r, "'%s' against '%s': got '%s', want '%s'", t[i].ref,
				       t[i].base, out, t[i].want);
	}
	tu_report_done(&r);
	em_arena_release(&a);
}

static void test_resolve_errors(void **state)
{
	(void)state;
	struct em_arena a;
	em_arena_init(&a);
	struct em_error e;
	char *out = (char *)"x";
	assert_int_equal(em_url_resolve(&a, "relative/path", "x", &out, &e), EM_EINVAL);
	assert_null(out);
	assert_non_null(strstr(e.msg, "is not absolute"));
	/* credentials never reach a message */
	assert_int_equal(em_url_resolve(&a, "//user:secret@h/x", "y", &out, &e), EM_EINVAL);
	assert_null(strstr(e.msg, "secret"));
	assert_int_equal(em_url_resolve(&a, "https://h/", "a\nb", &out, &e), EM_EINVAL);
	assert_non_null(strstr(e.msg, "control character"));
	assert_non_null(strstr(e.msg, "\\x0a"));
	assert_int_equal(em_url_resolve(&a, "https://h/\x7f", "a", &out, &e), EM_EINVAL);
	assert_int_equal(em_url_resolve(&a, "https://h/", "a\tb", &out, &e), EM_EINVAL);
	assert_int_equal(em_url_resolve(NULL, "https://h/", "a", &out, &e), EM_EUSAGE);
	assert_int_equal(em_url_resolve(&a, "https://h/", NULL, &out, &e), EM_EUSAGE);

	/* length limits: input and result */
	size_t big = EM_URL_MAX_LEN + 1;
	char *s = malloc(big + 1);
	assert_non_null(s);
	memset(s, 'a', big);
	s[big] = '\0';
	assert_int_equal(em_url_resolve(&a, "https://h/", s, &out, &e), EM_ELIMIT);
	memcpy(s, "https://h/", 10);
	assert_int_equal(em_url_resolve(&a, s, "x", &out, &e), EM_ELIMIT);
	/* each piece fits, the result does not */
	s[EM_URL_MAX_LEN - 101] = '/';
	s[EM_URL_MAX_LEN - 100] = '\0';
	char ref[200];
	memset(ref, 'b', sizeof ref - 1);
	ref[sizeof ref - 1] = '\0';
	assert_int_equal(em_url_resolve(&a, s, ref, &out, &e), EM_ELIMIT);
	/* percent-encoding that overflows the limit */
	memset(s, 0xff, EM_URL_MAX_LEN / 2);
	s[EM_URL_MAX_LEN / 2] = '\0';
	assert_int_equal(em_url_resolve(&a, "https://h/", s, &out, &e), EM_ELIMIT);
	free(s);

	/* many dot segments: linear and correct */
	struct em_buf b = EM_BUF_INIT;
	for (int i = 0; i < 2000; i++)
		em_buf_addstr(&b, "../");
	em_buf_addstr(&b, "g");
	assert_int_equal(em_url_resolve(&a, "http://a/b/c/d", b.ptr, &out, &e), 0);
	assert_string_equal(out, "http://a/g");
	em_buf_reset(&b);
	for (int i = 0; i < 1000; i++)
		em_buf_addstr(&b, "x/");
	for (int i = 0; i < 999; i++)
		em_buf_addstr(&b, "../");
	assert_int_equal(em_url_resolve(&a, "http://a/", b.ptr, &out, &e), 0);
	assert_string_equal(out, "http://a/x/");
	em_buf_release(&b);
	em_arena_release(&a);
}

static void test_decode_encode(void **state)
{
	(void)state;
	struct em_arena a;
	em_arena_init(&a);
	assert_string_equal(em_url_decode(&a, "torch-2.6.0%2Bcu126", 19), "torch-2.6.0+cu126");
	assert_string_equal(em_url_decode(&a, "a%2bb%20c", 9), "a+b c");
	/* invalid escapes and %00 stay as written */
	assert_string_equal(em_url_decode(&a, "%zz%2%", 6), "%zz%2%");
	assert_string_equal(em_url_decode(&a, "a%00b", 5), "a%00b");
	assert_string_equal(em_url_decode(&a, "%", 1), "%");
	assert_string_equal(em_url_decode(&a, "%C3%A9", 6), "\xc3\xa9");
	/* a slice: the length counts, not a NUL */
	assert_string_equal(em_url_decode(&a, "ab%41zz", 5), "abA");

	assert_string_equal(em_url_encode_segment(&a, "torch-2.6.0+cu126.whl", 21),
			    "torch-2.6.0%2Bcu126.whl");
	assert_string_equal(em_url_encode_segment(&a, "a b/c?d#e%f:g@h", 15),
			    "a%20b%2Fc%3Fd%23e%25f%3Ag%40h");
	assert_string_equal(em_url_encode_segment(&a, "!$&'()*,;=~_.-", 14), "!$&'()*,;=~_.-");
	assert_string_equal(em_url_encode_segment(&a, "\xc3\xa9\x01", 3), "%C3%A9%01");
	assert_string_equal(em_url_encode_segment(&a, "", 0), "");

	/* round trips over every byte but NUL */
	struct tu_report r;
	tu_report_init(&r, "encode/decode round trips", 10);
	char s[256];
	for (int len = 1; len <= 255; len++) {
		for (int i = 0; i < len; i++)
			s[i] = (char)(1 + (i * 37 + len) % 255);
		r.total++;
		char *enc = em_url_encode_segment(&a, s, (size_t)len);
		for (char *p = enc; *p; p++)
			if (*p == '/' || *p == '?' || *p == '#' || *p == '+' ||
			    (unsigned char)*p >= 0x80 || (unsigned char)*p <= 0x20)
				tu_report_fail(&r, "encoded segment holds '%c'", *p);
		char *dec = em_url_decode(&a, enc, strlen(enc));
		if ((size_t)len != strlen(dec) || memcmp(dec, s, (size_t)len))
			tu_report_fail(&r, "length %d does not round-trip", len);
	}
	tu_report_done(&r);
	em_arena_release(&a);
}

static void test_basename_redact_join(void **state)
{
	(void)state;
	struct em_arena a;
	em_arena_init(&a);
	assert_string_equal(em_url_basename(&a, "https://h/whl/torch-2.6.0%2Bcu126-cp312-cp312-"
						 "win_amd64.whl#sha256=00?x"),
			    "torch-2.6.0+cu126-cp312-cp312-win_amd64.whl");
	assert_string_equal(em_url_basename(&a, "https://h/a/b.tar.gz?x=1/2#y/z"), "b.tar.gz");
	assert_string_equal(em_url_basename(&a, "https://h/simple/torch/"), "");
	assert_string_equal(em_url_basename(&a, "https://h"), "");
	assert_string_equal(em_url_basename(&a, "file:///a/b%20c"), "b c");
	assert_string_equal(em_url_basename(&a, "x.whl"), "x.whl");

	assert_string_equal(em_url_redact(&a, "https://user:pw@h:8080/simple/"),
			    "https://h:8080/simple/");
	assert_string_equal(em_url_redact(&a, "https://token@h/"), "https://h/");
	assert_string_equal(em_url_redact(&a, "https://a@b:c@h/x@y"), "https://h/x@y");
	assert_string_equal(em_url_redact(&a, "https://h/x@y"), "https://h/x@y");
	assert_string_equal(em_url_redact(&a, "mailto:x@y"), "mailto:x@y");

	assert_string_equal(em_url_join(&a, "https://x/simple", "torch", true),
			    "https://x/simple/torch/");
	assert_string_equal(em_url_join(&a, "https://x/simple/", "/torch", true),
			    "https://x/simple/torch/");
	assert_string_equal(em_url_join(&a, "https://x/simple//", "torch/", true),
			    "https://x/simple/torch/");
	assert_string_equal(em_url_join(&a, "https://download.pytorch.org/whl", "cu126", false),
			    "https://download.pytorch.org/whl/cu126");
	assert_string_equal(em_url_join(&a, "https://x/simple", "", true), "https://x/simple/");
	assert_string_equal(em_url_join(&a, "https://x/simple/", "", false), "https://x/simple");
	em_arena_release(&a);
}

static void test_file_urls(void **state)
{
	(void)state;
	struct em_arena a;
	em_arena_init(&a);
	assert_string_equal(em_url_to_path(&a, "file:///a/b%20c"), "/a/b c");
	assert_string_equal(em_url_to_path(&a, "file://localhost/a/b"), "/a/b");
	assert_string_equal(em_url_to_path(&a, "FILE:///a/x%2Bcu126.whl"), "/a/x+cu126.whl");
	assert_string_equal(em_url_to_path(&a, "file:/a/b"), "/a/b");
	assert_string_equal(em_url_to_path(&a, "file:///a/b#frag"), "/a/b");
	assert_string_equal(em_url_to_path(&a, "file:///a/b?q"), "/a/b");
	assert_null(em_url_to_path(&a, "file://host/a/b"));
	assert_null(em_url_to_path(&a, "https://h/a"));
	assert_null(em_url_to_path(&a, "file:a/b"));
	assert_null(em_url_to_path(&a, "file://"));
	assert_null(em_url_to_path(&a, "file:///a%00b"));
	assert_null(em_url_to_path(&a, "/a/b"));

	assert_string_equal(em_path_to_url(&a, "/a/b c"), "file:///a/b%20c");
	assert_string_equal(em_path_to_url(&a, "/srv/whl/torch-2.6.0+cu126.whl"),
			    "file:///srv/whl/torch-2.6.0%2Bcu126.whl");
	assert_string_equal(em_path_to_url(&a, "/"), "file:///");
	assert_string_equal(em_path_to_url(&a, "/x/%?#"), "file:///x/%25%3F%23");
	assert_null(em_path_to_url(&a, "relative"));
	assert_null(em_path_to_url(&a, ""));

	/* round trips, and resolution inside a file tree */
	static const char *const paths[] = { "/", "/a", "/a b/c%d/e?f#g", "/caf\xc3\xa9/x.whl",
					     "/x/y+z/./../w", "/tmp/idx/simple/torch/" };
	for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
		char *u = em_path_to_url(&a, paths[i]);
		assert_non_null(u);
		char *p = em_url_to_path(&a, u);
		assert_non_null(p);
		assert_string_equal(p, paths[i]);
	}
	char *base = em_path_to_url(&a, "/tmp/my index/simple/torch/");
	char *out;
	struct em_error e;
	assert_int_equal(em_url_resolve(&a, base, "../../files/t%2B1.whl", &out, &e), 0);
	assert_string_equal(out, "file:///tmp/my%20index/files/t%2B1.whl");
	assert_string_equal(em_url_to_path(&a, out), "/tmp/my index/files/t+1.whl");
	em_arena_release(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc3986_normal),
		cmocka_unit_test(test_rfc3986_abnormal),
		cmocka_unit_test(test_index_shapes),
		cmocka_unit_test(test_resolve_errors),
		cmocka_unit_test(test_decode_encode),
		cmocka_unit_test(test_basename_redact_join),
		cmocka_unit_test(test_file_urls),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
