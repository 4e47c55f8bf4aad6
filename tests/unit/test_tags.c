/* test_tags.c - supported tag lists against pypa/packaging, and spot checks */
#include "testutil.h"

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

/* Tags for a target given by names; fails the test on a parse error. */
static void tags_for(struct em_arena *a, const char *plat, const char *py, struct em_tagset *ts)
{
	struct em_target t;
	struct em_error e;
	em_error_clear(&e);
	memset(&t, 0, sizeof t);
	if (em_platform_parse(plat, &t.plat, &e) || em_python_parse(py, &t.py, &e) ||
	    em_tags_for_target(a, &t, ts, &e))
		fail_msg("%s / %s: %s", plat, py, e.msg);
}

static long rank_of(const struct em_tagset *ts, const char *tag)
{
	return em_tags_rank(ts, tag, strlen(tag));
}

/* ---- conformance: every row of tags.tsv ---- */

struct group {
	char python[16];
	char platform[64];
	struct em_tagset ts;
	size_t rows;
};

static void finish_group(struct tu_report *r, const struct group *g)
{
	if (g->rows != g->ts.n)
		tu_report_fail(r, "%s %s: %zu tags, packaging has %zu", g->python, g->platform,
			       g->ts.n, g->rows);
}

static void test_conformance(void **state)
{
	(void)state;
	struct tu_tsv t;
	assert_int_equal(tu_tsv_open(&t, tu_fixture("conformance/tags.tsv")), 0);
	struct em_arena a;
	em_arena_init(&a);
	struct tu_report r;
	tu_report_init(&r, "tags.tsv", 20);
	struct group g;
	memset(&g, 0, sizeof g);
	bool have = false;
	while (tu_tsv_next(&t)) {
		if (t.nf != 4) {
			tu_report_fail(&r, "line %u: %d fields", t.lineno, t.nf);
			continue;
		}
		r.total++;
		const char *py = t.f[0], *plat = t.f[1], *tag = t.f[3];
		long rank = strtol(t.f[2], NULL, 10);
		if (!have || strcmp(g.python, py) || strcmp(g.platform, plat)) {
			if (have)
				finish_group(&r, &g);
			memset(&g, 0, sizeof g);
			snprintf(g.python, sizeof g.python, "%s", py);
			snprintf(g.platform, sizeof g.platform, "%s", plat);
			tags_for(&a, plat, py, &g.ts);
			have = true;
		}
		g.rows++;
		if ((size_t)rank >= g.ts.n || strcmp(g.ts.tags[rank], tag)) {
			tu_report_fail(&r, "line %u: %s %s rank %ld: got '%s', want '%s'", t.lineno, py,
				       plat, rank, (size_t)rank < g.ts.n ? g.ts.tags[rank] : "(none)",
				       tag);
			continue;
		}
		if (rank_of(&g.ts, tag) != rank)
			tu_report_fail(&r, "line %u: em_tags_rank('%s') = %ld, want %ld", t.lineno, tag,
				       rank_of(&g.ts, tag), rank);
	}
	if (have)
		finish_group(&r, &g);
	assert_true(r.total == 4744);
	tu_tsv_close(&t);
	em_arena_release(&a);
	tu_report_done(&r);
}

/* ---- spot checks against packaging's rules ---- */

/* The platform part of the first cpXY-cpXY tags: the target's platform list. */
static void expect_platforms(const char *plat, const char *const *want, size_t nwant)
{
	struct em_arena a;
	em_arena_init(&a);
	struct em_platform p;
	struct em_error e;
	em_error_clear(&e);
	assert_int_equal(em_platform_parse(plat, &p, &e), 0);
	const char **v;
	size_t n;
	assert_int_equal(em_platform_tags(&a, &p, &v, &n, &e), 0);
	for (size_t i = 0; i < nwant; i++) {
		if (i >= n)
			fail_msg("%s: only %zu platform tags, want '%s' at %zu", plat, n, want[i], i);
		if (strcmp(v[i], want[i]))
			fail_msg("%s: platform %zu is '%s', want '%s'", plat, i, v[i], want[i]);
	}
	if (n != nwant)
		fail_msg("%s: %zu platform tags, want %zu (last '%s')", plat, n, nwant, v[n - 1]);
	em_arena_release(&a);
}

static void test_platform_lists(void **state)
{
	(void)state;
	static const char *const win64[] = { "win_amd64" };
	expect_platforms("windows-x86_64", win64, 1);
	static const char *const winarm[] = { "win_arm64" };
	expect_platforms("windows-arm64", winarm, 1);
	static const char *const win32[] = { "win32" };
	expect_platforms("windows-x86", win32, 1);

	static const char *const musl[] = {
		"linux_aarch64", "musllinux_1_2_aarch64", "musllinux_1_1_aarch64",
		"musllinux_1_0_aarch64",
	};
	expect_platforms("linux-aarch64-musl1.2", musl, 4);
	expect_platforms("musllinux_1_2_aarch64", musl, 4);

	/* aarch64 stops at 2.17 with the manylinux2014 alias */
	static const char *const arm[] = {
		"linux_aarch64", "manylinux_2_28_aarch64", "manylinux_2_27_aarch64",
		"manylinux_2_26_aarch64", "manylinux_2_25_aarch64", "manylinux_2_24_aarch64",
		"manylinux_2_23_aarch64", "manylinux_2_22_aarch64", "manylinux_2_21_aarch64",
		"manylinux_2_20_aarch64", "manylinux_2_19_aarch64", "manylinux_2_18_aarch64",
		"manylinux_2_17_aarch64", "manylinux2014_aarch64",
	};
	expect_platforms("linux-aarch64", arm, 14);

	/* i686 goes down to 2.5 like x86_64 */
	static const char *const i686[] = {
		"linux_i686", "manylinux_2_17_i686", "manylinux2014_i686", "manylinux_2_16_i686",
		"manylinux_2_15_i686", "manylinux_2_14_i686", "manylinux_2_13_i686",
		"manylinux_2_12_i686", "manylinux2010_i686", "manylinux_2_11_i686",
		"manylinux_2_10_i686", "manylinux_2_9_i686", "manylinux_2_8_i686",
		"manylinux_2_7_i686", "manylinux_2_6_i686", "manylinux_2_5_i686",
		"manylinux1_i686",
	};
	expect_platforms("manylinux2014_i686", i686, 17);

	/* an old glibc below the floor: only the native tag */
	static const char *const old[] = { "linux_riscv64" };
	expect_platforms("linux-riscv64-glibc2.16", old, 1);

	/* macOS x86_64 12.x: six formats per release, then 10.16 .. 10.4 */
	static const char *const fmts[] = { "x86_64", "intel", "fat64", "fat3", "universal2",
					    "universal" };
	const char *mac[6 * (2 + 13)];
	char store[6 * 15][48];
	size_t k = 0;
	unsigned majors[] = { 12, 11 };
	for (size_t m = 0; m < 2; m++)
		for (size_t f = 0; f < 6; f++, k++) {
			snprintf(store[k], sizeof store[k], "macosx_%u_0_%s", majors[m], fmts[f]);
			mac[k] = store[k];
		}
	for (unsigned minor = 16; minor >= 4; minor--)
		for (size_t f = 0; f < 6; f++, k++) {
			snprintf(store[k], sizeof store[k], "macosx_10_%u_%s", minor, fmts[f]);
			mac[k] = store[k];
		}
	expect_platforms("macos-x86_64-12.3", mac, k);

	/* macOS 10.x: each minor down to 10.4 (earlier ones have no formats) */
	static const char *const mac105[] = {
		"macosx_10_5_x86_64", "macosx_10_5_intel", "macosx_10_5_fat64",
		"macosx_10_5_fat3", "macosx_10_5_universal2", "macosx_10_5_universal",
		"macosx_10_4_x86_64", "macosx_10_4_intel", "macosx_10_4_fat64",
		"macosx_10_4_fat3", "macosx_10_4_universal2", "macosx_10_4_universal",
	};
	expect_platforms("macosx_10_5_x86_64", mac105, 12);
	expect_platforms("macos-x86_64-10.3", NULL, 0);
}

static void test_freethreaded(void **state)
{
	(void)state;
	struct em_arena a;
	em_arena_init(&a);
	struct em_tagset ts;
	tags_for(&a, "linux-x86_64-glibc2.28", "3.13t", &ts);
	size_t np = 28; /* linux_x86_64 + 2.28..2.5 + 3 aliases */
	assert_string_equal(ts.tags[0], "cp313-cp313t-linux_x86_64");
	assert_string_equal(ts.tags[1], "cp313-cp313t-manylinux_2_28_x86_64");
	assert_string_equal(ts.tags[np], "cp313-abi3t-linux_x86_64");
	assert_string_equal(ts.tags[2 * np], "cp313-none-linux_x86_64");
	assert_string_equal(ts.tags[3 * np], "cp312-abi3t-linux_x86_64");
	/* cp312 .. cp32 abi3t, then py313 ... */
	assert_string_equal(ts.tags[3 * np + 11 * np], "py313-none-linux_x86_64");
	assert_int_equal(rank_of(&ts, "cp32-abi3t-manylinux1_x86_64"), 3 * np + 11 * np - 1);
	/* plain abi3 and the GIL ABI do not load in a free-threaded build */
	assert_int_equal(rank_of(&ts, "cp313-abi3-manylinux_2_28_x86_64"), -1);
	assert_int_equal(rank_of(&ts, "cp39-abi3-manylinux_2_28_x86_64"), -1);
	assert_int_equal(rank_of(&ts, "cp313-cp313-manylinux_2_28_x86_64"), -1);
	assert_true(rank_of(&ts, "cp313-none-any") > 0);
	assert_true(rank_of(&ts, "py3-none-any") > 0);
	for (size_t i = 0; i < ts.n; i++)
		if (strstr(ts.tags[i], "-abi3-"))
			fail_msg("abi3 tag '%s' in a free-threaded list", ts.tags[i]);
	assert_int_equal(ts.n, (3 + 11 + 15) * np + 1 + 15);

	/* the GIL build of the same version has abi3, not abi3t */
	tags_for(&a, "linux-x86_64-glibc2.28", "3.13", &ts);
	assert_int_equal(rank_of(&ts, "cp313-abi3t-linux_x86_64"), -1);
	assert_int_equal(rank_of(&ts, "cp313-abi3-linux_x86_64"), (long)np);
	em_arena_release(&a);
}

static void test_shapes(void **state)
{
	(void)state;
	struct em_arena a;
	em_arena_init(&a);
	struct em_tagset ts;

	tags_for(&a, "windows-arm64", "3.11", &ts);
	assert_int_equal(ts.n, 39);
	assert_string_equal(ts.tags[0], "cp311-cp311-win_arm64");
	assert_string_equal(ts.tags[ts.n - 1], "py30-none-any");
	assert_int_equal(rank_of(&ts, "cp311-cp311-win_amd64"), -1);

	tags_for(&a, "windows-x86", "3.8", &ts);
	assert_string_equal(ts.tags[0], "cp38-cp38-win32");
	assert_int_equal(rank_of(&ts, "cp38-none-any"), 3 + 6 + 10);

	tags_for(&a, "linux-aarch64-musl1.2", "3.12", &ts);
	assert_string_equal(ts.tags[0], "cp312-cp312-linux_aarch64");
	assert_string_equal(ts.tags[1], "cp312-cp312-musllinux_1_2_aarch64");
	assert_int_equal(rank_of(&ts, "cp312-cp312-manylinux_2_17_aarch64"), -1);
	assert_int_equal(ts.n, (3 + 10 + 14) * 4 + 1 + 14);

	tags_for(&a, "macos-x86_64-12.3", "3.12", &ts);
	assert_string_equal(ts.tags[0], "cp312-cp312-macosx_12_0_x86_64");
	assert_string_equal(ts.tags[1], "cp312-cp312-macosx_12_0_intel");
	assert_true(rank_of(&ts, "cp312-cp312-macosx_10_9_x86_64") > 0);
	assert_int_equal(rank_of(&ts, "cp312-cp312-macosx_13_0_x86_64"), -1);
	assert_int_equal(rank_of(&ts, "cp312-cp312-macosx_11_0_arm64"), -1);

	/* a platform with no platform tags still takes pure wheels */
	tags_for(&a, "macos-x86_64-10.3", "3.12", &ts);
	assert_int_equal(ts.n, 1 + 14);
	assert_string_equal(ts.tags[0], "cp312-none-any");

	/* torch's manylinux_2_28 wheel outranks manylinux2014 on a 2.28 target,
	 * and the native linux tag outranks both (packaging 26.3) */
	tags_for(&a, "linux-x86_64", "3.12", &ts);
	long r228 = rank_of(&ts, "cp312-cp312-manylinux_2_28_x86_64");
	long r2014 = rank_of(&ts, "cp312-cp312-manylinux2014_x86_64");
	long rlin = rank_of(&ts, "cp312-cp312-linux_x86_64");
	assert_true(rlin == 0 && r228 == 1 && r2014 > r228);
	assert_int_equal(rank_of(&ts, "cp312-cp312-manylinux_2_29_x86_64"), -1);
	em_arena_release(&a);
}

static void test_rank_lookup(void **state)
{
	(void)state;
	struct em_arena a;
	em_arena_init(&a);
	struct em_tagset ts;
	tags_for(&a, "win_amd64", "3.12", &ts);
	assert_int_equal(rank_of(&ts, "cp312-cp312-win_amd64"), 0);
	assert_int_equal(rank_of(&ts, "CP312-CP312-WIN_AMD64"), 0);
	assert_int_equal(rank_of(&ts, "py3-none-any"), 29);
	assert_int_equal(em_tags_rank(&ts, "py3-none-anyx", 12), 29);
	assert_int_equal(rank_of(&ts, "py3-none-an"), -1);
	assert_int_equal(rank_of(&ts, ""), -1);
	assert_int_equal(em_tags_rank(&ts, "py3-none-any\0", 13), -1);
	/* an empty set ranks nothing */
	struct em_tagset empty;
	memset(&empty, 0, sizeof empty);
	assert_int_equal(rank_of(&empty, "py3-none-any"), -1);
	em_arena_release(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conformance),
		cmocka_unit_test(test_platform_lists),
		cmocka_unit_test(test_freethreaded),
		cmocka_unit_test(test_shapes),
		cmocka_unit_test(test_rank_lookup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
