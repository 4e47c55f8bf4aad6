/* test_state.c - the history repository (history.h): summaries in plain
 * words, generation numbers per workload, listing newest first with every
 * commit resolved, recorded locks read back, the keep-set for cache prune,
 * where the history lives, and damaged or locked repositories */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "os/fs.h"
#include "history.h"

/* A lock for python with packages "name version name version ..."; each
 * wheel's sha256 is made from its name, version and salt. */
static char *mklock(struct em_arena *a, const char *python, const char *pkgs, int salt)
{
	struct em_buf b = EM_BUF_INIT;
	em_buf_addf(&b, "lock-version = \"1.0\"\ncreated-by = \"envmatrix\"\n");
	char *list = strdup(pkgs), *save = NULL;
	for (char *n = strtok_r(list, " ", &save); n; n = strtok_r(NULL, " ", &save)) {
		char *v = strtok_r(NULL, " ", &save);
		assert_non_null(v);
		char sha[65];
		snprintf(sha, sizeof sha, "%08x", (unsigned)(strlen(n) * 131 + salt));
		for (size_t i = strlen(sha); i < 64; i++)
			sha[i] = "0123456789abcdef"[(n[i % strlen(n)] + v[i % strlen(v)] + i) % 16];
		sha[64] = '\0';
		em_buf_addf(&b, "\n[[packages]]\nname = \"%s\"\nversion = \"%s\"\n\n"
				"[[packages.wheels]]\nname = \"%s-%s-py3-none-any.whl\"\n"
				"url = \"https://example.com/%s-%s-py3-none-any.whl\"\n"
				"hashes = { sha256 = \"%s\" }\n",
			    n, v, n, v, n, v, sha);
	}
	free(list);
	em_buf_addf(&b, "\n[tool.envmatrix]\npython = \"%s\"\n", python);
	char *s = em_arena_strdup(a, b.ptr);
	em_buf_release(&b);
	return s;
}

static const char *summary(struct em_arena *a, const char *old, const char *nw)
{
	struct em_lock lo, ln;
	assert_int_equal(em_lock_parse(a, nw, strlen(nw), "new", &ln, NULL), 0);
	if (!old)
		return em_change_summary(a, NULL, &ln, NULL, 0);
	assert_int_equal(em_lock_parse(a, old, strlen(old), "old", &lo, NULL), 0);
	struct em_change *c;
	uint32_t n;
	assert_int_equal(em_lock_diff(a, &lo, &ln, &c, &n), 0);
	return em_change_summary(a, &lo, &ln, c, n);
}

static void test_summaries(void **state)
{
	(void)state;
	struct em_arena a;
	em_arena_init(&a);
	const char *g1 = mklock(&a, "3.13.5", "numpy 1.26.4 torch 2.7.1+cu118", 0);
	assert_string_equal(summary(&a, NULL, g1), "python 3.13.5, torch 2.7.1+cu118, 2 packages");
	const char *g2 = mklock(&a, "3.12.10", "aa 1 bb 1 cc 1 numpy 1.26.4 torch 2.8.0+cu126", 0);
	assert_string_equal(summary(&a, g1, g2),
			    "python 3.13.5 \xe2\x86\x92 3.12.10, torch 2.7.1+cu118 \xe2\x86\x92 "
			    "2.8.0+cu126, +3 packages");
	const char *g3 = mklock(&a, "3.12.10", "dd 1 numpy 2.2.6 torch 2.8.0+cu126", 0);
	assert_string_equal(summary(&a, g2, g3), "numpy 1.26.4 \xe2\x86\x92 2.2.6, +1 package, -3");
	const char *g4 = mklock(&a, "3.12.10", "numpy 2.2.6 torch 2.8.0+cu126", 0);
	assert_string_equal(summary(&a, g3, g4), "-1 package");
	const char *g5 = mklock(&a, "3.12.10", "numpy 2.2.6 torch 2.8.0+cu126", 7);
	assert_string_equal(summary(&a, g4, g5), "torch 2.8.0+cu126 rebuilt, numpy 2.2.6 rebuilt");
	assert_string_equal(summary(&a, g5, g5), "same packages (the lock changed)");
	const char *many1 = mklock(&a, "3.12.10", "a 1 b 1 c 1 d 1 e 1 f 1", 0);
	const char *many2 = mklock(&a, "3.12.10", "a 2 b 2 c 2 d 0.5 e 2 f 2", 0);
	assert_string_equal(summary(&a, many1, many2),
			    "a 1 \xe2\x86\x92 2, b 1 \xe2\x86\x92 2, c 1 \xe2\x86\x92 2, d 1 "
			    "\xe2\x86\x92 0.5, 2 more changed");
	em_arena_release(&a);
}

static char *tmpdir(void)
{
	char tpl[] = "/tmp/envmatrix-state.XXXXXX";
	char *d = mkdtemp(tpl);
	assert_non_null(d);
	return strdup(d);
}

static void record(struct em_arena *a, struct em_history *h, const char *name, const char *lock,
		   enum em_gen_kind kind, uint32_t to, uint32_t want)
{
	struct em_record_workload w = { name, lock, strlen(lock), NULL, kind, to };
	struct em_record r = { "[matrix]\n", 9, "{}", NULL, 1, &w };
	uint32_t num = 0;
	struct em_error e;
	em_error_clear(&e);
	int rc = em_history_record(a, h, &r, &num, &e);
	if (rc)
		fail_msg("record: %s: %s", e.where, e.msg);
	assert_int_equal(num, want);
}

static void test_record_and_list(void **state)
{
	(void)state;
	struct em_arena a;
	em_arena_init(&a);
	char *dir = tmpdir();
	char *path = em_arena_printf(&a, "%s/h.git", dir);
	struct em_history h;
	struct em_error e;
	em_error_clear(&e);
	assert_int_equal(em_history_open(&h, &a, path, false, &e), EM_ENOTFOUND);
	assert_int_equal(em_history_open(&h, &a, path, true, &e), 0);

	struct em_generation *g;
	uint32_t n;
	assert_int_equal(em_history_list(&a, &h, NULL, &g, &n, &e), 0);
	assert_int_equal(n, 0);

	const char *l1 = mklock(&a, "3.12.1", "alpha 1.0", 0);
	const char *l2 = mklock(&a, "3.12.1", "alpha 2.0 beta 1.0", 0);
	const char *l3 = mklock(&a, "3.12.1", "alpha 2.0", 0);
	record(&a, &h, "a", l1, EM_GEN_APPLY, 0, 1);
	record(&a, &h, "b", l1, EM_GEN_FROZEN, 0, 1);
	record(&a, &h, "a", l2, EM_GEN_APPLY, 0, 2);
	/* two workloads in one commit */
	struct em_record_workload two[2] = {
		{ "a", l3, strlen(l3), "{\"ok\": true}", EM_GEN_APPLY, 0 },
		{ "b", l2, strlen(l2), NULL, EM_GEN_APPLY, 0 },
	};
	struct em_record r = { "m", 1, NULL, "0123456789abcdef0123456789abcdef01234567", 2, two };
	uint32_t nums[2];
	assert_int_equal(em_history_record(&a, &h, &r, nums, &e), 0);
	assert_int_equal(nums[0], 3);
	assert_int_equal(nums[1], 2);
	record(&a, &h, "a", l1, EM_GEN_ROLLBACK, 1, 4);

	assert_int_equal(em_history_list(&a, &h, "a", &g, &n, &e), 0);
	assert_int_equal(n, 4);
	for (uint32_t i = 0; i < n; i++) {
		assert_int_equal(g[i].number, 4 - i);
		assert_string_equal(g[i].workload, "a");
		assert_int_equal(strlen(g[i].commit), 40);
	}
	assert_int_equal(g[0].kind, EM_GEN_ROLLBACK);
	assert_int_equal(g[0].rollback_to, 1);
	assert_string_equal(g[0].summary, "alpha 2.0 \xe2\x86\x92 1.0");
	assert_string_equal(g[1].summary, "-1 package");
	assert_string_equal(g[1].rev, "0123456789abcdef0123456789abcdef01234567");
	assert_null(g[2].rev);
	assert_string_equal(g[2].summary, "alpha 1.0 \xe2\x86\x92 2.0, +1 package");
	assert_string_equal(g[3].summary, "python 3.12.1, 1 package");
	assert_int_equal(g[3].sequence, 1);
	assert_int_equal(g[0].sequence, 5);
	assert_string_not_equal(g[0].commit, g[1].commit);

	/* every workload, newest first; one commit's two generations together */
	assert_int_equal(em_history_list(&a, &h, NULL, &g, &n, &e), 0);
	assert_int_equal(n, 6);
	const char *order[6] = { "a4", "a3", "b2", "a2", "b1", "a1" };
	for (uint32_t i = 0; i < n; i++) {
		char got[16];
		snprintf(got, sizeof got, "%s%u", g[i].workload, g[i].number);
		assert_string_equal(got, order[i]);
	}
	assert_string_equal(g[1].commit, g[2].commit);
	assert_int_equal(g[5].kind, EM_GEN_APPLY);
	assert_int_equal(g[4].kind, EM_GEN_FROZEN);

	const char **names;
	uint32_t nn;
	assert_int_equal(em_history_workloads(&a, &h, &names, &nn, &e), 0);
	assert_int_equal(nn, 2);
	assert_string_equal(names[0], "a");
	assert_string_equal(names[1], "b");

	/* the recorded locks come back byte for byte */
	char *text;
	size_t len;
	struct em_generation one;
	assert_int_equal(em_history_lock(&a, &h, "a", 2, &one, &text, &len, &e), 0);
	assert_int_equal(len, strlen(l2));
	assert_memory_equal(text, l2, len);
	assert_int_equal(one.number, 2);
	assert_int_equal(em_history_lock(&a, &h, "a", 9, NULL, &text, &len, &e), EM_ENOTFOUND);
	assert_non_null(strstr(e.msg, "no generation 9 (it has 1 to 4"));
	assert_int_equal(em_history_lock(&a, &h, "zz", 1, NULL, &text, &len, &e), EM_ENOTFOUND);

	/* the keep-set: all generations, or the newest of each workload */
	const char **sha;
	size_t ns;
	assert_int_equal(em_history_wheels(&a, &h, 0, &sha, &ns, &e), 0);
	assert_int_equal(ns, 3); /* alpha 1.0, alpha 2.0, beta 1.0 */
	for (size_t i = 1; i < ns; i++)
		assert_true(strcmp(sha[i - 1], sha[i]) < 0);
	assert_int_equal(em_history_wheels(&a, &h, 1, &sha, &ns, &e), 0);
	assert_int_equal(ns, 3); /* a: alpha 1.0; b: alpha 2.0, beta 1.0 */
	em_history_close(&h);

	/* a lock file left by git: the record names it, the list still works */
	char *lockf = em_arena_printf(&a, "%s/refs/heads/main.lock", path);
	assert_int_equal(em_write_file_atomic(lockf, "", 0, 0644, &e), 0);
	assert_int_equal(em_history_open(&h, &a, path, false, &e), 0);
	struct em_record_workload w = { "a", l2, strlen(l2), NULL, EM_GEN_APPLY, 0 };
	struct em_record r1 = { "m", 1, NULL, NULL, 1, &w };
	assert_int_equal(em_history_record(&a, &h, &r1, NULL, &e), EM_EBUSY);
	assert_string_equal(e.where, lockf);
	assert_non_null(strstr(e.msg, "remove this file"));
	assert_int_equal(em_history_list(&a, &h, "a", &g, &n, &e), 0);
	assert_int_equal(n, 4);
	em_history_close(&h);
	unlink(lockf);

	/* a garbage HEAD: the error names the repository and what to do */
	char *head = em_arena_printf(&a, "%s/HEAD", path);
	assert_int_equal(em_write_file_atomic(head, "garbage\n", 8, 0644, &e), 0);
	em_error_clear(&e);
	int rc = em_history_open(&h, &a, path, false, &e);
	if (rc == 0) {
		rc = em_history_list(&a, &h, "a", &g, &n, &e);
		em_history_close(&h);
	}
	assert_int_not_equal(rc, 0);
	assert_string_equal(e.where, path);
	assert_non_null(strstr(e.msg, "damaged"));

	char *cmd = em_arena_printf(&a, "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	free(dir);
	em_arena_release(&a);
}

static void test_path(void **state)
{
	(void)state;
	struct em_arena a;
	em_arena_init(&a);
	struct em_matrix m;
	memset(&m, 0, sizeof m);
	const char *p;
	assert_int_equal(em_history_path(&a, "/x/y/matrix.ini", &m, NULL, &p, NULL), 0);
	assert_string_equal(p, "/x/y/.envmatrix/history.git");
	m.history.value = "../h.git";
	assert_int_equal(em_history_path(&a, "/x/y/matrix.ini", &m, NULL, &p, NULL), 0);
	assert_string_equal(p, "/x/h.git");
	assert_int_equal(em_history_path(&a, "/x/y/matrix.ini", &m, "/elsewhere", &p, NULL), 0);
	assert_string_equal(p, "/elsewhere");
	assert_int_equal(em_history_path(&a, "/x/y/matrix.ini", &m, "off", &p, NULL), 0);
	assert_null(p);
	m.history.value = "off";
	assert_int_equal(em_history_path(&a, "/x/y/matrix.ini", &m, "", &p, NULL), 0);
	assert_null(p);
	em_arena_release(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_summaries),
		cmocka_unit_test(test_record_and_list),
		cmocka_unit_test(test_path),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
