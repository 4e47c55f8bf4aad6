/* bench.c - speed of the standards engine's hot paths (`make bench`)
 *
 * Machines running this are shared and noisy, so every figure is also given
 * as a ratio to a baseline measured in the same run: the cost of copying
 * and strcmp-sorting the same input strings. A ratio that grows between
 * commits is a regression whatever the machine.
 *
 * usage: bench FIXTURES_DIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "envmatrix/envmatrix.h"

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

int main(int argc, char **argv)
{
	const char *fixtures = argc > 1 ? argv[1] : "tests/fixtures";
	printf("envmatrix %s benchmarks (lower ratios are better)\n\n", EM_VERSION);
	bench_versions(fixtures);
	bench_specifiers(fixtures);
	return 0;
}
