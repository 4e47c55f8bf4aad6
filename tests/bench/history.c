/* history.c - `make bench`: `envmatrix history` on 1,000 generations
 *
 *   history ENVMATRIX [GENERATIONS]
 *
 * Records GENERATIONS (default 1,000) generations of two workloads (every
 * apply changes one package, every tenth both workloads) into a fresh
 * history repository with the library, as apply does, then times, each as
 * the median of seven runs in the same process tree:
 *   (a) `git log --oneline` on the same repository (the baseline),
 *   (b) `envmatrix history` of one workload, and of every workload,
 *   (c) em_history_list in process (the library alone).
 * Goal: (b) well under 100 ms.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"
#include "os/fs.h"
#include "history.h"

#define ROUNDS 7

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_d(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return a < b ? -1 : a > b;
}

/* Median wall time of running argv with stdout to /dev/null. */
static double time_cmd(char *const argv[])
{
	double t[ROUNDS];
	for (int r = 0; r < ROUNDS; r++) {
		double t0 = now();
		pid_t pid = fork();
		if (pid == 0) {
			if (!freopen("/dev/null", "w", stdout))
				_exit(127);
			execvp(argv[0], argv);
			_exit(127);
		}
		int st;
		waitpid(pid, &st, 0);
		t[r] = now() - t0;
		if (!WIFEXITED(st) || WEXITSTATUS(st)) {
			fprintf(stderr, "bench: '%s' failed\n", argv[0]);
			exit(1);
		}
	}
	qsort(t, ROUNDS, sizeof t[0], cmp_d);
	return t[ROUNDS / 2];
}

static char *lock_text(struct em_arena *a, uint32_t gen, uint32_t pkgs)
{
	struct em_buf b = EM_BUF_INIT;
	em_buf_addstr(&b, "lock-version = \"1.0\"\ncreated-by = \"envmatrix\"\n");
	for (uint32_t i = 0; i < pkgs; i++) {
		/* package i is at version gen for one of every pkgs generations */
		uint32_t v = i == gen % pkgs ? gen : i;
		char sha[65];
		for (int k = 0; k < 64; k++)
			sha[k] = "0123456789abcdef"[(i * 7 + v * 13 + (uint32_t)k * 3) % 16];
		sha[64] = '\0';
		em_buf_addf(&b, "\n[[packages]]\nname = \"pkg%u\"\nversion = \"%u.0\"\n\n"
				"[[packages.wheels]]\nname = \"pkg%u-%u.0-py3-none-any.whl\"\n"
				"url = \"https://example.com/pkg%u-%u.0-py3-none-any.whl\"\n"
				"hashes = { sha256 = \"%s\" }\n",
			    i, v, i, v, i, v, sha);
	}
	em_buf_addstr(&b, "\n[tool.envmatrix]\npython = \"3.12.10\"\n");
	char *s = em_arena_strdup(a, b.ptr);
	em_buf_release(&b);
	return s;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: history ENVMATRIX [GENERATIONS]\n");
		return 2;
	}
	uint32_t ngen = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 1000;
	char tpl[] = "/tmp/envmatrix-bench-history.XXXXXX";
	char *dir = mkdtemp(tpl);
	if (!dir)
		return 1;
	struct em_arena a;
	em_arena_init(&a);
	struct em_error e;
	em_error_clear(&e);
	char *matrix = em_arena_printf(&a, "%s/matrix.ini", dir);
	const char *mtext = "[matrix]\n\n[vlm]\npath = vlm\npython = 3.12.10\n\n[asr]\npath = asr\npython = 3.12.10\n";
	const char *hpath;
	struct em_history h;
	if (em_write_file_atomic(matrix, mtext, strlen(mtext), 0644, &e) ||
	    em_history_path(&a, matrix, NULL, NULL, &hpath, &e) ||
	    em_history_open(&h, &a, hpath, true, &e)) {
		fprintf(stderr, "bench: %s: %s\n", e.where, e.msg);
		return 1;
	}
	double t0 = now();
	uint32_t made = 0, commits = 0;
	for (uint32_t g = 1; made < ngen; g++) {
		struct em_arena_mark mk = em_arena_mark(&a);
		char *l = lock_text(&a, g, 40);
		struct em_record_workload w[2] = {
			{ "vlm", l, strlen(l), "{}", EM_GEN_APPLY, 0 },
			{ "asr", l, strlen(l), NULL, EM_GEN_APPLY, 0 },
		};
		uint32_t n = g % 10 == 0 && made + 2 <= ngen ? 2 : 1;
		struct em_record r = { mtext, strlen(mtext), "{\"platform\": \"linux-x86_64\"}", NULL,
				       n, w };
		if (em_history_record(&a, &h, &r, NULL, &e)) {
			fprintf(stderr, "bench: %s: %s\n", e.where, e.msg);
			return 1;
		}
		made += n;
		commits++;
		em_arena_rewind(&a, mk);
	}
	double trec = now() - t0;

	double tl[ROUNDS];
	uint32_t listed = 0;
	for (int r = 0; r < ROUNDS; r++) {
		struct em_arena_mark mk = em_arena_mark(&a);
		struct em_generation *g;
		double s = now();
		if (em_history_list(&a, &h, NULL, &g, &listed, &e)) {
			fprintf(stderr, "bench: %s: %s\n", e.where, e.msg);
			return 1;
		}
		tl[r] = now() - s;
		em_arena_rewind(&a, mk);
	}
	qsort(tl, ROUNDS, sizeof tl[0], cmp_d);
	em_history_close(&h);

	char gitdir[600];
	snprintf(gitdir, sizeof gitdir, "--git-dir=%s", hpath);
	char *git[] = { "git", gitdir, "log", "--oneline", NULL };
	char *hist_one[] = { argv[1], "history", "-f", matrix, "vlm", NULL };
	char *hist_all[] = { argv[1], "history", "-f", matrix, NULL };
	double tg = time_cmd(git);
	double t1 = time_cmd(hist_one);
	double ta = time_cmd(hist_all);
	printf("history: %u generations of 2 workloads in %u commits, recorded in %.2f s "
	       "(%.2f ms each)\n", listed, commits, trec, trec * 1e3 / commits);
	printf("  git log --oneline (baseline)   %7.1f ms\n", tg * 1e3);
	printf("  envmatrix history vlm          %7.1f ms   %5.2fx baseline\n", t1 * 1e3, t1 / tg);
	printf("  envmatrix history (all)        %7.1f ms   %5.2fx baseline   (goal: well under 100 ms)\n",
	       ta * 1e3, ta / tg);
	printf("  em_history_list (in process)   %7.2f ms\n", tl[ROUNDS / 2] * 1e3);
	char *cmd = em_arena_printf(&a, "rm -rf '%s'", dir);
	int rc = system(cmd);
	em_arena_release(&a);
	return rc ? 1 : ta < 0.1 ? 0 : 1;
}
