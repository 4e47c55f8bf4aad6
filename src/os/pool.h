/* pool.h - worker threads
 *
 * A pool runs tasks on its own threads. em_pool_submit(p, fn, ctx, n)
 * asks for fn(ctx, 0) ... fn(ctx, n - 1), each called once, on any of the
 * pool's threads, in any order and at the same time, and returns at once;
 * submissions are started in the order they come. em_pool_wait returns
 * when every task submitted before it has returned; with help, the caller
 * runs tasks itself meanwhile rather than sleep. A task must not call
 * em_pool_wait or em_pool_stop on its own pool.
 *
 * Only the platform layer makes threads: the POSIX implementation uses
 * pthreads, hands out a submission's tasks with an atomic counter (a task
 * costs no lock) and sleeps on condition variables. The interface hides
 * how threads are made and woken, so a Windows implementation can map a
 * submission onto the system thread pool (a TP_WORK submitted once per
 * thread wanted, em_pool_wait on WaitForThreadpoolWorkCallbacks) or keep
 * threads of its own (_beginthreadex, CONDITION_VARIABLE).
 */
#ifndef ENVMATRIX_POOL_H
#define ENVMATRIX_POOL_H

#include <stdbool.h>
#include <stddef.h>

#include "envmatrix/error.h"

struct em_pool;

/* One task: i is its index in the submission. */
typedef void em_pool_task(void *ctx, size_t i);

/* The processors this process may run on now (at least 1): what "one
 * thread per core" means. */
unsigned em_pool_cpus(void);

/* A pool of at most threads workers (0 allowed: then every task runs in
 * em_pool_submit's caller). Fewer start when the system refuses more
 * threads; em_pool_threads says how many did. EM_ENOMEM, or EM_EIO when
 * the pool cannot be set up at all. */
EM_MUST_USE
int em_pool_start(unsigned threads, struct em_pool **out, struct em_error *e);

/* The workers that started. */
unsigned em_pool_threads(const struct em_pool *p);

/* Queue n tasks. A pool without workers (p NULL included), or without
 * the memory to queue them, runs them in this thread before returning. */
void em_pool_submit(struct em_pool *p, em_pool_task *fn, void *ctx, size_t n);

/* Wait until every task submitted so far has returned; with help, run
 * queued tasks in this thread meanwhile. p may be NULL. */
void em_pool_wait(struct em_pool *p, bool help);

/* Wait (without helping), end the workers and free the pool; NULL is
 * allowed. */
void em_pool_stop(struct em_pool *p);

#endif
