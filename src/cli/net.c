/* net.c - the network and the cache for commands that read indexes:
 * options, set-up, and the download progress display
 *
 * On a terminal: one bar per active download and a total line (bytes,
 * speed, time left), redrawn at most ten times a second. Elsewhere: one
 * line per finished file. Nothing with -q.
 */
#include "cli.h"

#include "cache.h"
#include "cli/env.h"
#include "envmatrix/error.h"
#include "http.h"
#include "os/fs.h"
#include "settings.h"
#include "source.h"
#include "spec/matrix.h"
#include "util/arena.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

volatile sig_atomic_t cli_stop;
static struct sigaction old_int, old_term;
static bool catching;

static void on_stop_signal(int sig)
{
	(void)sig;
	cli_stop = 1;
}

void cli_catch_stop(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	cli_stop = 0;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	catching = true;
}

void cli_release_stop(void)
{
	if (!catching)
		return;
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	catching = false;
}

int cli_net_offline, cli_net_refresh;
const char *cli_net_jobs;

void cli_net_reset_opts(void)
{
	cli_net_offline = cli_net_refresh = 0;
	cli_net_jobs = NULL;
}

#define MAX_SLOTS 256
#define MAX_BARS 8

struct slot {
	char label[96];
	int64_t done, total;
	bool active, finished, failed;
};

struct cli_progress {
	bool tty;
	int lines;            /* lines drawn last time */
	double last_draw;
	double started;
	int64_t bytes_at_start; /* for the speed */
	double speed;         /* bytes per second, smoothed */
	double speed_t;
	int64_t speed_bytes;
	uint32_t n;
	struct slot s[MAX_SLOTS];
};

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void cli_human_bytes(char *buf, size_t cap, double b)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int u = 0;
	while (b >= 1024 && u < 4) {
		b /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, cap, "%.0f %s", b, unit[u]);
	else
		snprintf(buf, cap, "%.1f %s", b, unit[u]);
}

static void erase(struct cli_progress *p)
{
	if (!p->lines)
		return;
	/* the cursor is at the start of the last line drawn */
	for (int i = 0; i < p->lines; i++)
		fprintf(stderr, "\r\033[K%s", i + 1 < p->lines ? "\033[A" : "");
	p->lines = 0;
}

static void bar(char *out, size_t cap, int64_t done, int64_t total, int width)
{
	int fill = total > 0 ? (int)((double)done / (double)total * width) : 0;
	if (fill > width)
		fill = width;
	size_t o = 0;
	out[o++] = '[';
	for (int i = 0; i < width && o + 2 < cap; i++)
		out[o++] = i < fill ? '#' : '.';
	out[o++] = ']';
	out[o] = '\0';
}

static void draw(struct cli_progress *p, bool force)
{
	double now = mono();
	if (!force && now - p->last_draw < 0.1)
		return;
	p->last_draw = now;
	int64_t done = 0, total = 0;
	uint32_t nfin = 0;
	bool total_known = true;
	for (uint32_t i = 0; i < p->n; i++) {
		done += p->s[i].done;
		if (p->s[i].total >= 0)
			total += p->s[i].total;
		else
			total_known = false;
		nfin += p->s[i].finished;
	}
	if (now - p->speed_t >= 0.5) {
		double inst = (double)(done - p->speed_bytes) / (now - p->speed_t);
		p->speed = p->speed > 0 ? 0.7 * p->speed + 0.3 * inst : inst;
		p->speed_t = now;
		p->speed_bytes = done;
	}
	erase(p);
	int lines = 0;
	uint32_t shown = 0;
	for (uint32_t i = 0; i < p->n && shown < MAX_BARS; i++) {
		struct slot *s = &p->s[i];
		if (!s->active || s->finished)
			continue;
		char b[40], d[32], t[32];
		bar(b, sizeof b, s->done, s->total, 24);
		cli_human_bytes(d, sizeof d, (double)s->done);
		if (s->total >= 0)
			cli_human_bytes(t, sizeof t, (double)s->total);
		else
			snprintf(t, sizeof t, "?");
		fprintf(stderr, "  %-40.40s %s %s / %s\n", s->label, b, d, t);
		lines++;
		shown++;
	}
	char d[32], t[32], sp[32], eta[32] = "";
	cli_human_bytes(d, sizeof d, (double)done);
	cli_human_bytes(t, sizeof t, (double)total);
	cli_human_bytes(sp, sizeof sp, p->speed > 0 ? p->speed : 0);
	if (total_known && p->speed > 1 && total > done) {
		long s = (long)((double)(total - done) / p->speed);
		snprintf(eta, sizeof eta, ", %ld:%02ld left", s / 60, s % 60);
	}
	fprintf(stderr, "downloading: %u of %u files, %s of %s, %s/s%s", nfin, p->n, d,
		total_known ? t : "?", sp, eta);
	p->lines = lines + 1;
	fflush(stderr);
}

static void on_progress(void *ctx, const struct em_http_progress *ev)
{
	struct cli_progress *p = ctx;
	if (cli.quiet)
		return;
	const char *label = ev->label ? ev->label : "?";
	struct slot *s = NULL;
	for (uint32_t i = 0; i < p->n; i++)
		if (!strncmp(p->s[i].label, label, sizeof p->s[i].label - 1) && !p->s[i].finished) {
			s = &p->s[i];
			break;
		}
	if (!s) {
		if (p->n == MAX_SLOTS) {
			/* a long batch: forget the finished ones */
			uint32_t k = 0;
			for (uint32_t i = 0; i < p->n; i++)
				if (!p->s[i].finished)
					p->s[k++] = p->s[i];
			p->n = k;
			if (p->n == MAX_SLOTS)
				return;
		}
		if (p->n == 0) {
			p->started = p->speed_t = mono();
			p->speed_bytes = 0;
			p->speed = 0;
		}
		s = &p->s[p->n++];
		memset(s, 0, sizeof *s);
		snprintf(s->label, sizeof s->label, "%s", label);
	}
	s->active = true;
	s->done = ev->done;
	s->total = ev->total;
	if (ev->finished) {
		s->finished = true;
		s->failed = ev->rc != 0;
		if (!p->tty && !ev->rc && !ev->from_cache) {
			char d[32];
			cli_human_bytes(d, sizeof d, (double)ev->done);
			fprintf(stderr, "envmatrix: downloaded %s (%s)\n", label, d);
		}
	}
	if (p->tty)
		draw(p, ev->finished);
	bool all = true;
	for (uint32_t i = 0; i < p->n && all; i++)
		all = p->s[i].finished;
	if (all) {
		if (p->tty)
			erase(p);
		p->n = 0;
	}
}

/* Leave the terminal clean (after an interrupted batch). */
static void progress_end(struct cli_progress *p)
{
	if (p && p->tty)
		erase(p);
	if (p)
		p->n = 0;
}

void cli_net_init(struct cli_net *n)
{
	memset(n, 0, sizeof *n);
	em_source_init(&n->src);
	n->cache.lock_fd = -1;
}

int cli_net_open(struct em_arena *a, const struct em_matrix *m, const char *file,
		 volatile sig_atomic_t *cancel, struct cli_net *n)
{
	struct em_source *src = &n->src;
	struct em_error e;
	em_error_clear(&e);
	unsigned jobs = m->njobs;
	if (cli_net_jobs) {
		char *end;
		long v = strtol(cli_net_jobs, &end, 10);
		if (end == cli_net_jobs || *end || v < 1 || v > 256) {
			cli_error("--jobs: '%s' is not a number from 1 to 256", cli_net_jobs);
			return EXIT_USAGE;
		}
		jobs = (unsigned)v;
	}
	char *mdir = em_path_dir(a, file);
	if (!mdir) {
		cli_error("out of memory");
		return EXIT_FAIL;
	}
	const char *cache_dir = m->cache_dir.value ? em_path_join(a, mdir, m->cache_dir.value)
						   : NULL;
	if (em_cache_open(&n->cache, a, cache_dir, &e)) {
		if (m->cache_dir.value)
			em_err_prefix_where(&e, "cache-dir, %s:%u", m->file, (unsigned)m->cache_dir.line);
		return cli_report(&e);
	}
	n->cache_open = true;
	n->progress = calloc(1, sizeof *n->progress);
	if (!n->progress) {
		cli_error("out of memory");
		return EXIT_FAIL;
	}
	n->progress->tty = isatty(2) && !cli.quiet && cli_env()->term && strcmp(cli_env()->term, "dumb");
	struct em_http_config c = { 0 };
	c.jobs = jobs;
	c.offline = cli_net_offline;
	c.cancel = cancel;
	c.progress = on_progress;
	c.ctx = n->progress;
	if (m->ca_file.value)
		c.ca_file = em_path_join(a, mdir, m->ca_file.value);
	const char *env;
	if ((env = em_settings()->http_stall_s) && atoi(env) > 0)
		c.stall_s = (unsigned)atoi(env);
	if ((env = em_settings()->http_retries) && *env) {
		int v = atoi(env);
		c.retries = v <= 0 ? EM_HTTP_NO_RETRY : (unsigned)v;
	}
	if ((env = em_settings()->http_backoff_ms) && atoi(env) > 0)
		c.backoff_ms = (unsigned)atoi(env);
	if (em_http_open(&n->http, &c, &e)) {
		if (m->ca_file.value)
			em_err_prefix_where(&e, "ca-file, %s:%u", m->file, (unsigned)m->ca_file.line);
		return cli_report(&e);
	}
	src->http = n->http;
	src->disk = &n->cache;
	src->offline = cli_net_offline;
	src->refresh = cli_net_refresh;
	return EXIT_OK;
}

void cli_net_close(struct cli_net *n)
{
	progress_end(n->progress);
	free(n->progress);
	n->progress = NULL;
	em_http_close(n->http);
	n->http = NULL;
	if (n->cache_open)
		em_cache_close(&n->cache);
	n->cache_open = false;
	em_source_release(&n->src);
}
