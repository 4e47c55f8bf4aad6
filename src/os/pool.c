/* pool.c - worker threads, POSIX (pool.h)
 *
 * Submissions wait in a queue. A thread that runs tasks (a worker, or a
 * caller of em_pool_wait that helps) joins the submission at the head,
 * takes indices from its atomic counter until they run out, then leaves
 * it; the first to find it used up takes it off the queue, and the last
 * to leave it, once it is off the queue, has run the last of its tasks:
 * the submission is finished and freed. Threads join and leave under the
 * pool's mutex, so a submission is never freed while a thread may still
 * take an index from it.
 */
#include "os/pool.h"
#include "os/sys.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

struct submission {
	em_pool_task *fn;
	void *ctx;
	size_t n;
	size_t next;     /* the next index to hand out (atomic) */
	unsigned users;  /* threads in it (under mu) */
	bool queued;     /* still in the queue (under mu) */
	struct submission *link;
};

struct em_pool {
	pthread_mutex_t mu;
	pthread_cond_t work;    /* a submission came, or quit */
	pthread_cond_t idle;    /* a submission finished */
	struct submission *head, *tail;
	size_t pending;         /* submitted, not finished */
	bool quit;
	unsigned started;
	pthread_t th[];
};

unsigned em_pool_cpus(void)
{
	long n = em_os_cpu_count();
	return n > 0 ? (unsigned)n : 1;
}

/* Run tasks of s until its indices run out; called with mu held, returns
 * with it held. */
static void run_submission(struct em_pool *p, struct submission *s)
{
	s->users++;
	pthread_mutex_unlock(&p->mu);
	for (;;) {
		size_t i = __atomic_fetch_add(&s->next, 1, __ATOMIC_RELAXED);
		if (i >= s->n)
			break;
		s->fn(s->ctx, i);
	}
	pthread_mutex_lock(&p->mu);
	if (s->queued) { /* used up: only the head is ever joined */
		p->head = s->link;
		if (!p->head)
			p->tail = NULL;
		s->queued = false;
	}
	if (--s->users == 0) {
		free(s);
		p->pending--;
		pthread_cond_broadcast(&p->idle);
	}
}

static void *worker(void *arg)
{
	struct em_pool *p = arg;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->head && !p->quit)
			pthread_cond_wait(&p->work, &p->mu);
		if (!p->head)
			break;
		run_submission(p, p->head);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

int em_pool_start(unsigned threads, struct em_pool **out, struct em_error *e)
{
	*out = NULL;
	struct em_pool *p = calloc(1, sizeof *p + threads * sizeof p->th[0]);
	if (!p)
		return em_err_nomem(e);
	int set = 0; /* 1: the mutex, 2: and work, 3: and idle */
	if (pthread_mutex_init(&p->mu, NULL) == 0) {
		set = 1;
		if (pthread_cond_init(&p->work, NULL) == 0) {
			set = 2;
			if (pthread_cond_init(&p->idle, NULL) == 0)
				set = 3;
		}
	}
	if (set < 3) {
		if (set >= 2)
			pthread_cond_destroy(&p->work);
		if (set >= 1)
			pthread_mutex_destroy(&p->mu);
		free(p);
		return em_err(e, EM_EIO, NULL, "cannot set up worker threads");
	}
	for (unsigned i = 0; i < threads; i++) {
		if (pthread_create(&p->th[p->started], NULL, worker, p) != 0)
			break;
		p->started++;
	}
	*out = p;
	return 0;
}

unsigned em_pool_threads(const struct em_pool *p)
{
	return p->started;
}

void em_pool_submit(struct em_pool *p, em_pool_task *fn, void *ctx, size_t n)
{
	struct submission *s = n && p && p->started ? calloc(1, sizeof *s) : NULL;
	if (!s) {
		for (size_t i = 0; i < n; i++)
			fn(ctx, i);
		return;
	}
	s->fn = fn;
	s->ctx = ctx;
	s->n = n;
	s->queued = true;
	pthread_mutex_lock(&p->mu);
	if (p->tail)
		p->tail->link = s;
	else
		p->head = s;
	p->tail = s;
	p->pending++;
	if (n == 1)
		pthread_cond_signal(&p->work);
	else
		pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
}

void em_pool_wait(struct em_pool *p, bool help)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	while (help && p->head)
		run_submission(p, p->head);
	while (p->pending)
		pthread_cond_wait(&p->idle, &p->mu);
	pthread_mutex_unlock(&p->mu);
}

void em_pool_stop(struct em_pool *p)
{
	if (!p)
		return;
	em_pool_wait(p, false);
	pthread_mutex_lock(&p->mu);
	p->quit = true;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->started; i++)
		pthread_join(p->th[i], NULL);
	pthread_cond_destroy(&p->idle);
	pthread_cond_destroy(&p->work);
	pthread_mutex_destroy(&p->mu);
	free(p);
}
