/* test_pool.c - the worker pool: every task runs exactly once, whether
 * the pool has workers, none, or is NULL, whether the caller helps or
 * not, and with submissions queued behind each other */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "os/pool.h"

#define SLOTS 20000

static unsigned runs[SLOTS];

static void count(void *ctx, size_t i)
{
	unsigned *v = ctx;
	__atomic_add_fetch(&v[i], 1, __ATOMIC_RELAXED);
}

static void expect_once(size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (runs[i] != 1)
			fail_msg("task %zu ran %u times", i, runs[i]);
	memset(runs, 0, sizeof runs);
}

static void test_every_task_once(void **state)
{
	(void)state;
	for (unsigned threads = 0; threads <= 8; threads++) {
		struct em_pool *p;
		assert_int_equal(em_pool_start(threads, &p, NULL), 0);
		assert_true(em_pool_threads(p) <= threads);
		size_t total = 0;
		for (int k = 0; k < 40; k++) {
			size_t n = (size_t)(k * 37 % 301);
			em_pool_submit(p, count, runs + total, n);
			total += n;
			if (k % 7 == 0)
				em_pool_wait(p, k % 2 == 0);
		}
		em_pool_wait(p, threads % 2 == 0);
		expect_once(total);
		/* stop waits for what is queued */
		em_pool_submit(p, count, runs, 500);
		em_pool_stop(p);
		expect_once(500);
	}
}

static void test_no_pool(void **state)
{
	(void)state;
	/* NULL: the caller runs the tasks in em_pool_submit */
	em_pool_submit(NULL, count, runs, 100);
	expect_once(100);
	em_pool_wait(NULL, true);
	em_pool_stop(NULL);
	assert_true(em_pool_cpus() >= 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_task_once),
		cmocka_unit_test(test_no_pool),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
