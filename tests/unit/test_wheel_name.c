/* test_wheel_name.c - wheel file names against pypa/packaging, and ranking */
#include "testutil.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envmatrix/envmatrix.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/str.h"
#include "spec/name.h"
#include "spec/pep440.h"
#include "spec/pep508.h"
#include "spec/target.h"
#include "spec/tags.h"
#include "spec/metadata.h"
#include "host.h"
#include "util/sha256.h"
#include "os/fs.h"
#include "archive.h"
#include "spec/index.h"
#include "source.h"
#include "os/proc.h"
#include "interp.h"
#include "spec/matrix.h"
#include "spec/lock.h"
#include "lockname.h"
#include "spec/candidates.h"
#include "spec/resolve.h"
#include "gpu.h"
#include "plan.h"
#include "install.h"
#include "venv.h"
#include "http.h"
#include "cache.h"
#include "install_set.h"
#include "swap.h"
#include "apply_lock.h"
#include "apply.h"
#include "mirror.h"
#include "doctor.h"
#include "verify.h"
#include "history.h"
#include "rev.h"

/* "name version build tags" as the conformance file writes them */
static void render(const struct em_wheel_name *w, struct em_buf *b)
{
	em_buf_reset(b);
	em_buf_addf(b, "%s\t%s\t", w->name, w->version.str);
	if (w->has_build)
		em_buf_addf(b, "%" PRIu64 "%s", w->build_num, w->build_suffix);
	em_buf_addc(b, '\t');
	for (uint32_t i = 0; i < w->ntags; i++)
		em_buf_addf(b, "%s%s", i ? "," : "", w->tags[i]);
}

static void test_conformance(void **state)
{
	(void)state;
	struct tu_tsv t;
	assert_int_equal(tu_tsv_open(&t, tu_fixture("conformance/wheel-filenames.tsv")), 0);
	struct tu_report r;
	tu_report_init(&r, "wheel-filenames.tsv", 20);
	struct em_buf got = EM_BUF_INIT, want = EM_BUF_INIT;
	unsigned errors = 0;
	while (tu_tsv_next(&t)) {
		if (t.nf != 5) {
			tu_report_fail(&r, "line %u: %d fields", t.lineno, t.nf);
			continue;
		}
		r.total++;
		struct em_arena a;
		em_arena_init(&a);
		struct em_wheel_name w;
		struct em_error e;
		em_error_clear(&e);
		int rc = em_wheel_name_parse(&a, t.f[0], t.flen[0], &w, &e);
		bool want_error = !strcmp(t.f[1], "error");
		errors += want_error;
		if (want_error) {
			if (rc == 0)
				tu_report_fail(&r, "line %u: '%s' parsed, packaging rejects it",
					       t.lineno, t.f[0]);
			else if (rc != EM_EINVAL || !e.msg[0] || !strstr(e.msg, "wheel file name"))
				tu_report_fail(&r, "line %u: '%s': rc %d, message '%s'", t.lineno,
					       t.f[0], rc, e.msg);
		} else if (rc) {
			tu_report_fail(&r, "line %u: '%s': %s", t.lineno, t.f[0], e.msg);
		} else {
			render(&w, &got);
			em_buf_reset(&want);
			em_buf_addf(&want, "%s\t%s\t%s\t%s", t.f[1], t.f[2], t.f[3], t.f[4]);
			if (strcmp(got.ptr, want.ptr))
				tu_report_fail(&r, "line %u: '%s':\n    got  %s\n    want %s", t.lineno,
					       t.f[0], got.ptr, want.ptr);
		}
		em_arena_release(&a);
	}
	assert_int_equal(r.total, 107);
	assert_int_equal(errors, 37);
	em_buf_release(&got);
	em_buf_release(&want);
	tu_tsv_close(&t);
	tu_report_done(&r);
}

static int parse(struct em_arena *a, const char *s, struct em_wheel_name *w, struct em_error *e)
{
	em_error_clear(e);
	return em_wheel_name_parse(a, s, strlen(s), w, e);
}

static void test_fields(void **state)
{
	(void)state;
	struct em_arena a;
	em_arena_init(&a);
	struct em_wheel_name w;
	struct em_error e;
	assert_int_equal(parse(&a, "Foo.Bar-1.0-007_final-CP312.Py3-NONE-Win_AMD64.any.whl", &w, &e), 0);
	assert_string_equal(w.name, "foo-bar");
	assert_string_equal(w.name_raw, "Foo.Bar");
	assert_true(w.has_build);
	assert_int_equal(w.build_num, 7);
	assert_string_equal(w.build_suffix, "_final");
	assert_int_equal(w.npy, 2);
	assert_string_equal(w.py[0], "cp312");
	assert_string_equal(w.py[1], "py3");
	assert_int_equal(w.nabi, 1);
	assert_string_equal(w.abi[0], "none");
	assert_int_equal(w.nplat, 2);
	assert_string_equal(w.plat[0], "win_amd64");
	assert_string_equal(w.plat[1], "any");
	assert_int_equal(w.ntags, 4);
	assert_string_equal(w.tags[0], "cp312-none-any");
	assert_string_equal(w.tags[3], "py3-none-win_amd64");

	/* no build tag */
	assert_int_equal(parse(&a, "pkg-1.0-py3-none-any.whl", &w, &e), 0);
	assert_false(w.has_build);
	assert_string_equal(w.build_suffix, "");
	/* duplicate parts after lower-casing collapse in the set */
	assert_int_equal(parse(&a, "pkg-1.0-py3.PY3-none-any.whl", &w, &e), 0);
	assert_int_equal(w.ntags, 1);
	/* a build suffix stops at a newline, like packaging's regex */
	assert_int_equal(parse(&a, "pkg-1.0-12ab\ncd-py3-none-any.whl", &w, &e), 0);
	assert_int_equal(w.build_num, 12);
	assert_string_equal(w.build_suffix, "ab");
	/* leading zeros do not count against the 64-bit build number */
	assert_int_equal(parse(&a, "pkg-1.0-000000000000000000000000042-py3-none-any.whl", &w, &e), 0);
	assert_int_equal(w.build_num, 42);
	assert_int_equal(parse(&a, "pkg-1.0-18446744073709551615-py3-none-any.whl", &w, &e), 0);
	assert_int_equal(parse(&a, "pkg-1.0-18446744073709551616-py3-none-any.whl", &w, &e), EM_ELIMIT);
	/* the version may carry whitespace, which Version() strips */
	assert_int_equal(parse(&a, "pkg- 1.0 -py3-none-any.whl", &w, &e), 0);
	assert_string_equal(w.version.str, "1.0");
	/* Unicode names: \w letters, lower-cased like str.lower() */
	assert_int_equal(parse(&a, "FOO_B\xc3\x81R-1.0-py3-none-any.whl", &w, &e), 0);
	assert_string_equal(w.name, "foo-b\xc3\xa1r");
	assert_int_equal(parse(&a, "\xc4\xb0x-1.0-py3-none-any.whl", &w, &e), 0);
	assert_string_equal(w.name, "i\xcc\x87x");
	assert_int_equal(parse(&a, "\xce\xa3\xce\xa3-1.0-py3-none-any.whl", &w, &e), 0);
	assert_string_equal(w.name, "\xcf\x83\xcf\x82"); /* final sigma */
	/* Arabic-Indic digits are \w too */
	assert_int_equal(parse(&a, "x\xd9\xa1-1.0-py3-none-any.whl", &w, &e), 0);
	/* punctuation and spaces are not */
	assert_int_equal(parse(&a, "x\xc2\xa0y-1.0-py3-none-any.whl", &w, &e), EM_EINVAL);
	assert_int_equal(parse(&a, "x\xe2\x80\x94y-1.0-py3-none-any.whl", &w, &e), EM_EINVAL);
	assert_int_equal(parse(&a, "x y-1.0-py3-none-any.whl", &w, &e), EM_EINVAL);
	em_arena_release(&a);
}

static void test_errors(void **state)
{
	(void)state;
	struct em_arena a;
	em_arena_init(&a);
	struct em_wheel_name w;
	struct em_error e;
	/* the message quotes the file name */
	assert_int_equal(parse(&a, "pkg-1.0-py3-none.whl", &w, &e), EM_EINVAL);
	assert_non_null(strstr(e.msg, "'pkg-1.0-py3-none.whl'"));
	assert_int_equal(parse(&a, "pkg-1.x-py3-none-any.whl", &w, &e), EM_EINVAL);
	assert_non_null(strstr(e.msg, "version '1.x'"));
	/* control bytes are shown escaped */
	assert_int_equal(parse(&a, "pkg\x1b-1.0-py3-none-any.whl", &w, &e), EM_EINVAL);
	assert_non_null(strstr(e.msg, "\\x1b"));
	/* NUL and invalid UTF-8 */
	assert_int_equal(em_wheel_name_parse(&a, "pkg-1.0-py3-none-a\0y.whl", 24, &w, &e), EM_EINVAL);
	assert_non_null(strstr(e.msg, "\\x00"));
	assert_int_equal(parse(&a, "pkg-1.0-py3-none-\xff.whl", &w, &e), EM_EINVAL);
	assert_int_equal(parse(&a, "pkg-1.0-py3-none-\xc3.whl", &w, &e), EM_EINVAL);
	/* interpreter parts are identifiers; ABI and platform parts need not be */
	assert_int_equal(parse(&a, "pkg-1.0-3py-none-any.whl", &w, &e), EM_EINVAL);
	assert_int_equal(parse(&a, "pkg-1.0-py3-1none-9any.whl", &w, &e), 0);
	assert_int_equal(parse(&a, "pkg-1.0-py3.-none-any.whl", &w, &e), EM_EINVAL);
	assert_int_equal(parse(&a, "pkg-1.0-py3-.none-any.whl", &w, &e), EM_EINVAL);
	assert_int_equal(parse(&a, ".whl", &w, &e), EM_EINVAL);
	assert_int_equal(parse(&a, "", &w, &e), EM_EINVAL);
	assert_int_equal(parse(&a, "whl", &w, &e), EM_EINVAL);
	assert_int_equal(parse(&a, "----.whl", &w, &e), EM_EINVAL);
	assert_int_equal(parse(&a, "-----.whl", &w, &e), EM_EINVAL);
	assert_int_equal(parse(&a, "a-1-b-c-d-e-f.whl", &w, &e), EM_EINVAL);
	assert_int_equal(parse(&a, "a__b-1-py3-none-any.whl", &w, &e), EM_EINVAL);

	/* limits: the length, and the size of the expanded tag set */
	char big[EM_WHEEL_NAME_MAX_LEN + 2];
	memset(big, 'a', sizeof big);
	memcpy(big, "pkg-1.0-py3-none-", 17);
	memcpy(big + sizeof big - 4, ".whl", 4);
	assert_int_equal(em_wheel_name_parse(&a, big, sizeof big, &w, &e), EM_ELIMIT);
	assert_int_equal(em_wheel_name_parse(&a, big, sizeof big - 1, &w, &e), EM_ELIMIT);
	memmove(big + EM_WHEEL_NAME_MAX_LEN - 4, ".whl", 4);
	assert_int_equal(em_wheel_name_parse(&a, big, EM_WHEEL_NAME_MAX_LEN, &w, &e), 0);
	struct em_buf b = EM_BUF_INIT;
	em_buf_addstr(&b, "pkg-1.0-");
	for (int i = 0; i < 65; i++)
		em_buf_addf(&b, "%sp%d", i ? "." : "", i);
	em_buf_addstr(&b, "-");
	for (int i = 0; i < 64; i++)
		em_buf_addf(&b, "%sa%d", i ? "." : "", i);
	em_buf_addstr(&b, "-any.whl");
	assert_int_equal(em_wheel_name_parse(&a, b.ptr, b.len, &w, &e), EM_ELIMIT);
	em_buf_release(&b);
	em_arena_release(&a);
}

static void test_rank(void **state)
{
	(void)state;
	struct em_arena a;
	em_arena_init(&a);
	struct em_target t;
	struct em_error e;
	em_error_clear(&e);
	memset(&t, 0, sizeof t);
	assert_int_equal(em_platform_parse("windows-x86_64", &t.plat, &e), 0);
	assert_int_equal(em_python_parse("3.12.10", &t.py, &e), 0);
	struct em_tagset win;
	assert_int_equal(em_tags_for_target(&a, &t, &win, &e), 0);
	assert_int_equal(em_platform_parse("linux-x86_64-glibc2.28", &t.plat, &e), 0);
	struct em_tagset lin;
	assert_int_equal(em_tags_for_target(&a, &t, &lin, &e), 0);

	struct em_wheel_name w;
	const char *best;
	assert_int_equal(parse(&a, "torch-2.8.0+cu126-cp312-cp312-win_amd64.whl", &w, &e), 0);
	assert_int_equal(em_wheel_rank(&win, &w, &best), 0);
	assert_string_equal(best, "cp312-cp312-win_amd64");
	assert_int_equal(em_wheel_rank(&lin, &w, &best), -1);
	assert_null(best);

	/* a dual-tagged manylinux wheel ranks by its better tag */
	assert_int_equal(parse(&a, "numpy-1.26.4-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
			       &w, &e), 0);
	long r = em_wheel_rank(&lin, &w, &best);
	assert_int_equal(r, em_tags_rank(&lin, "cp312-cp312-manylinux_2_17_x86_64", 33));
	assert_string_equal(best, "cp312-cp312-manylinux_2_17_x86_64");
	assert_int_equal(em_wheel_rank(&lin, &w, NULL), r);

	/* abi3 from an older CPython, and pure wheels */
	assert_int_equal(parse(&a, "cryptography-43.0.1-cp39-abi3-manylinux_2_28_x86_64.whl", &w, &e), 0);
	assert_true(em_wheel_rank(&lin, &w, &best) > r);
	assert_string_equal(best, "cp39-abi3-manylinux_2_28_x86_64");
	assert_int_equal(parse(&a, "six-1.16.0-py2.py3-none-any.whl", &w, &e), 0);
	assert_int_equal(em_wheel_rank(&win, &w, &best), 29);
	assert_string_equal(best, "py3-none-any");
	/* a newer glibc than the target's is incompatible */
	assert_int_equal(parse(&a, "pkg-1.0-cp312-cp312-manylinux_2_39_x86_64.whl", &w, &e), 0);
	assert_int_equal(em_wheel_rank(&lin, &w, NULL), -1);
	/* free-threaded wheels only fit free-threaded targets */
	assert_int_equal(parse(&a, "pkg-1.0-cp313-cp313t-manylinux_2_28_x86_64.whl", &w, &e), 0);
	assert_int_equal(em_wheel_rank(&lin, &w, NULL), -1);
	assert_int_equal(em_python_parse("3.13t", &t.py, &e), 0);
	struct em_tagset ft;
	assert_int_equal(em_tags_for_target(&a, &t, &ft, &e), 0);
	assert_int_equal(em_wheel_rank(&ft, &w, &best), 1);
	em_arena_release(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conformance),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_rank),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
