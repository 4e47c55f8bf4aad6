/* bench.c - speed of the standards engine's hot paths (`make bench`)
 *
 * Machines running this are shared and noisy, so every figure is also given
 * as a ratio to a baseline measured in the same run: the cost of copying
 * and strcmp-sorting the same input strings. A ratio that grows between
 * commits is a regression whatever the machine.
 *
 * usage: bench FIXTURES_DIR
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "envmatrix/envmatrix.h"
#include "envmatrix/resolve.h"

#include "cu130.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	struct em_buf b = EM_BUF_INIT;
	char chunk[65536];
	size_t got;
	while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
		em_buf_add(&b, chunk, got);
	fclose(f);
	return em_buf_detach(&b, len);
}

/* First column of a conformance TSV (no escapes needed for these rows). */
static size_t load_column(const char *path, char ***out, char **storage)
{
	size_t len;
	char *data = read_file(path, &len);
	if (!data) {
		fprintf(stderr, "bench: cannot read '%s'\n", path);
		exit(1);
	}
	size_t cap = 1024, n = 0;
	char **rows = malloc(cap * sizeof *rows);
	char *p = strchr(data, '\n');
	p = p ? p + 1 : data + len;
	while (p < data + len) {
		char *nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		char *tab = strchr(p, '\t');
		if (tab)
			*tab = '\0';
		if (!strchr(p, '\\')) {
			if (n == cap)
				rows = realloc(rows, (cap *= 2) * sizeof *rows);
			rows[n++] = p;
		}
		p = nl ? nl + 1 : data + len;
	}
	*out = rows;
	*storage = data;
	return n;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static volatile size_t sink;

/* the baseline: copy the strings and sort them with strcmp */
static double baseline(char **strs, size_t n, int rounds)
{
	char **copy = malloc(n * sizeof *copy);
	double t0 = now();
	for (int r = 0; r < rounds; r++) {
		for (size_t i = 0; i < n; i++)
			copy[i] = strdup(strs[i]);
		qsort(copy, n, sizeof *copy, cmp_str);
		for (size_t i = 0; i < n; i++) {
			sink += (size_t)copy[i][0];
			free(copy[i]);
		}
	}
	double t = now() - t0;
	free(copy);
	return t / rounds;
}

static int cmp_ver(const void *a, const void *b)
{
	return em_version_cmp(*(const struct em_version *const *)a,
			      *(const struct em_version *const *)b);
}

static void bench_versions(const char *fixtures)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/conformance/versions-valid.tsv", fixtures);
	char **strs, *storage;
	size_t n = load_column(path, &strs, &storage);
	int rounds = 200;
	double base = baseline(strs, n, rounds);

	struct em_arena a;
	em_arena_init(&a);
	struct em_version *vs = malloc(n * sizeof *vs);
	const struct em_version **pv = malloc(n * sizeof *pv);
	double t0 = now();
	for (int r = 0; r < rounds; r++) {
		em_arena_release(&a);
		for (size_t i = 0; i < n; i++)
			if (em_version_parse(&a, strs[i], strlen(strs[i]), &vs[i], NULL))
				abort();
	}
	double parse = (now() - t0) / rounds;

	for (size_t i = 0; i < n; i++)
		pv[i] = &vs[i];
	t0 = now();
	for (int r = 0; r < rounds; r++) {
		for (size_t i = 0; i < n; i++)
			pv[i] = &vs[(i * 7919) % n];
		qsort(pv, n, sizeof *pv, cmp_ver);
	}
	double sort = (now() - t0) / rounds;

	printf("versions: %zu strings, baseline (copy + strcmp sort) %.1f us\n", n, base * 1e6);
	printf("  parse          %10.0f versions/s   %5.2fx baseline\n", n / parse, parse / base);
	printf("  sort           %10.0f versions/s   %5.2fx baseline\n", n / sort, sort / base);
	em_arena_release(&a);
	free(vs);
	free(pv);
	free(strs);
	free(storage);
}

static void bench_specifiers(const char *fixtures)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/conformance/specifiers.tsv", fixtures);
	size_t len;
	char *data = read_file(path, &len);
	if (!data)
		exit(1);
	/* rows: spec TAB version TAB mode TAB expected; keep unescaped ones */
	size_t cap = 32768, n = 0;
	char **specs = malloc(cap * sizeof *specs), **vers = malloc(cap * sizeof *vers);
	char *p = strchr(data, '\n') + 1;
	while (p < data + len && n < cap) {
		char *nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		char *t1 = strchr(p, '\t');
		char *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
		if (t1 && t2 && !strchr(p, '\\') && !strstr(t2, "error")) {
			*t1 = *t2 = '\0';
			specs[n] = p;
			vers[n] = t1 + 1;
			n++;
		}
		p = nl ? nl + 1 : data + len;
	}
	int rounds = 5;
	double base = baseline(specs, n, rounds);

	struct em_arena a;
	em_arena_init(&a);
	struct em_specset *sets = malloc(n * sizeof *sets);
	struct em_version *vs = malloc(n * sizeof *vs);
	bool *ok = malloc(n);
	double t0 = now();
	for (int r = 0; r < rounds; r++) {
		em_arena_release(&a);
		for (size_t i = 0; i < n; i++) {
			em_specset_parse(&a, specs[i], strlen(specs[i]), &sets[i], NULL);
			ok[i] = !em_version_parse(&a, vers[i], strlen(vers[i]), &vs[i], NULL);
		}
	}
	double parse = (now() - t0) / rounds;
	t0 = now();
	size_t yes = 0;
	for (int r = 0; r < rounds * 10; r++)
		for (size_t i = 0; i < n; i++)
			yes += em_specset_contains(&sets[i], vers[i], strlen(vers[i]),
						   ok[i] ? &vs[i] : NULL, EM_PRE_DEFAULT);
	double contains = (now() - t0) / (rounds * 10);
	sink += yes;
	printf("specifiers: %zu (set, version) pairs, baseline %.1f us\n", n, base * 1e6);
	printf("  parse set+ver  %10.0f pairs/s      %5.2fx baseline\n", n / parse, parse / base);
	printf("  contains       %10.0f checks/s     %5.2fx baseline\n", n / contains,
	       contains / base);
	em_arena_release(&a);
	free(sets);
	free(vs);
	free(ok);
	free(specs);
	free(vers);
	free(data);
}

/* Every Requires-Dist line of the real 197-package CUDA environment. */
static size_t load_corpus(const char *fixtures, char ***out, struct em_arena *a)
{
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/cu130-stack", fixtures);
	DIR *d = opendir(dir);
	if (!d) {
		fprintf(stderr, "bench: cannot open '%s'\n", dir);
		exit(1);
	}
	size_t cap = 4096, n = 0;
	char **lines = malloc(cap * sizeof *lines);
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char path[8192];
		snprintf(path, sizeof path, "%s/%s/METADATA", dir, de->d_name);
		size_t len;
		char *data = read_file(path, &len);
		if (!data)
			continue;
		struct em_metadata md;
		struct em_error e = { 0 };
		if (em_metadata_parse(a, data, len, path, &md, &e)) {
			fprintf(stderr, "bench: %s: %s\n", e.where, e.msg);
			exit(1);
		}
		for (uint32_t i = 0; i < md.nrequires_dist; i++) {
			if (n == cap)
				lines = realloc(lines, (cap *= 2) * sizeof *lines);
			lines[n++] = (char *)md.requires_dist[i];
		}
		free(data);
	}
	closedir(d);
	*out = lines;
	return n;
}

static void bench_markers(const char *fixtures)
{
	struct em_arena keep;
	em_arena_init(&keep);
	char **lines;
	size_t n = load_corpus(fixtures, &lines, &keep);
	int rounds = 50;
	double base = baseline(lines, n, rounds);

	struct em_target lin, win;
	if (em_platform_parse("linux-x86_64", &lin.plat, NULL) ||
	    em_platform_parse("windows-x86_64", &win.plat, NULL) ||
	    em_python_parse("3.12.10", &lin.py, NULL))
		abort();
	win.py = lin.py;
	struct em_target_env lenv, wenv;
	em_target_marker_env(&lin, &lenv);
	em_target_marker_env(&win, &wenv);

	struct em_arena a;
	em_arena_init(&a);
	struct em_requirement *reqs = malloc(n * sizeof *reqs);
	size_t applies = 0;
	double t0 = now();
	for (int r = 0; r < rounds; r++) {
		em_arena_release(&a);
		for (size_t i = 0; i < n; i++) {
			if (em_requirement_parse(&a, lines[i], strlen(lines[i]), &reqs[i], NULL))
				abort();
			bool yes;
			if (em_requirement_applies(&reqs[i], &lenv.env, NULL, &yes, NULL))
				abort();
			applies += yes;
			if (em_requirement_applies(&reqs[i], &wenv.env, NULL, &yes, NULL))
				abort();
			applies += yes;
		}
	}
	double full = (now() - t0) / rounds;
	t0 = now();
	for (int r = 0; r < rounds * 10; r++) {
		for (size_t i = 0; i < n; i++) {
			bool yes;
			em_requirement_applies(&reqs[i], &lenv.env, "cuda", &yes, NULL);
			applies += yes;
		}
	}
	double eval = (now() - t0) / (rounds * 10);
	sink += applies;
	printf("requires-dist corpus: %zu real lines (cu130 stack), baseline %.1f us\n", n,
	       base * 1e6);
	printf("  parse + eval linux and windows  %7.3f ms     %5.2fx baseline   (target: well under 10 ms)\n",
	       full * 1e3, full / base);
	printf("  evaluate one target (parsed)    %7.3f ms     %5.2fx baseline\n", eval * 1e3,
	       eval / base);
	em_arena_release(&a);
	em_arena_release(&keep);
	free(reqs);
	free(lines);
}

static void bench_tags(void)
{
	static const char *const wheels[] = {
		"torch-2.8.0+cu126-cp312-cp312-manylinux_2_28_x86_64.whl",
		"numpy-2.2.6-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
		"torch-2.8.0+cu126-cp312-cp312-win_amd64.whl",
		"typing_extensions-4.12.2-py3-none-any.whl",
		"onnxruntime_gpu-1.19.2-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
		"cryptography-44.0.0-cp39-abi3-manylinux_2_34_x86_64.whl",
	};
	size_t nw = sizeof wheels / sizeof wheels[0];
	char *copies[sizeof wheels / sizeof wheels[0]];
	for (size_t i = 0; i < nw; i++)
		copies[i] = (char *)wheels[i];
	int rounds = 20000;
	double base = baseline(copies, nw, rounds);

	struct em_target t;
	if (em_platform_parse("linux-x86_64-glibc2.39", &t.plat, NULL) ||
	    em_python_parse("3.12.10", &t.py, NULL))
		abort();
	struct em_arena a;
	em_arena_init(&a);
	struct em_tagset ts;
	int trounds = 200;
	double t0 = now();
	for (int r = 0; r < trounds; r++) {
		em_arena_release(&a);
		if (em_tags_for_target(&a, &t, &ts, NULL))
			abort();
	}
	double gen = (now() - t0) / trounds;

	struct em_arena w;
	em_arena_init(&w);
	long best = 0;
	t0 = now();
	for (int r = 0; r < rounds; r++) {
		struct em_arena_mark m = em_arena_mark(&w);
		for (size_t i = 0; i < nw; i++) {
			struct em_wheel_name wn;
			if (em_wheel_name_parse(&w, wheels[i], strlen(wheels[i]), &wn, NULL))
				abort();
			best += em_wheel_rank(&ts, &wn, NULL);
		}
		em_arena_rewind(&w, m);
	}
	double rank = (now() - t0) / rounds;
	sink += (size_t)best;
	printf("tags: cp312 on linux-x86_64-glibc2.39 (%zu tags)\n", ts.n);
	printf("  build the tag list               %7.3f ms\n", gen * 1e3);
	printf("  parse + rank a wheel name       %10.0f names/s   %5.2fx baseline\n", nw / rank,
	       rank / base);
	em_arena_release(&w);
	em_arena_release(&a);
}

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The real cu130 environment (197 projects, 5 decoys each) resolved from
 * memory: index pages and METADATA are already read, so this is the
 * resolver plus candidate building and METADATA parsing. */
static void bench_resolve(const char *fixtures)
{
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/cu130-stack", fixtures);
	struct em_arena a;
	em_arena_init(&a);
	struct cu130 cu;
	struct em_error e = { 0 };
	if (cu130_load(&cu, &a, dir, &e)) {
		fprintf(stderr, "bench: %s: %s\n", e.where, e.msg);
		exit(1);
	}
	char **names = malloc(cu.n * sizeof *names);
	for (uint32_t i = 0; i < cu.n; i++)
		names[i] = (char *)cu.projects[i].name;
	int rounds = 20;
	double base = baseline(names, cu.n, rounds * 10);
	size_t before = a.total, peak = 0;
	struct em_resolve_stats st = { 0 };
	uint32_t npkgs = 0;
	double t0 = cpu_now();
	for (int r = 0; r < rounds; r++) {
		struct em_arena_mark m = em_arena_mark(&a);
		if (cu130_target(&cu, "linux-x86_64-glibc2.39", "3.12.3", &e))
			abort();
		struct em_resolve_in in = { "cu130", cu.nroots, cu.roots, 0, NULL, 0, NULL, 0 };
		struct em_provider p = cu130_provider(&cu);
		struct em_resolution res;
		if (em_resolve(&a, &in, &p, &res, NULL, &e)) {
			fprintf(stderr, "bench: %s\n", e.msg);
			exit(1);
		}
		st = res.stats;
		npkgs = res.n;
		if (a.total - before > peak)
			peak = a.total - before;
		em_arena_rewind(&a, m);
	}
	double t = (cpu_now() - t0) / rounds;
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("resolve cu130 (%u projects, %u resolved, 5 decoys each), baseline %.1f us\n",
	       cu.n, npkgs, base * 1e6);
	printf("  cpu per resolution               %7.3f ms   %7.2fx baseline   (target: under 50 ms)\n",
	       t * 1e3, t / base);
	printf("  %u decisions, %u conflicts, %u dependency reads\n", st.decisions, st.conflicts,
	       st.dependency_calls);
	printf("  memory: %.1f MiB for one resolution (arena), process peak %.1f MiB\n",
	       (double)peak / (1 << 20), (double)ru.ru_maxrss / 1024);
	free(names);
	em_arena_release(&a);
}

int main(int argc, char **argv)
{
	const char *fixtures = argc > 1 ? argv[1] : "tests/fixtures";
	printf("envmatrix %s benchmarks (lower ratios are better)\n\n", EM_VERSION);
	bench_versions(fixtures);
	bench_specifiers(fixtures);
	bench_markers(fixtures);
	bench_tags();
	bench_resolve(fixtures);
	return 0;
}
