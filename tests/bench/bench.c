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
#include "spec/resolve.h"

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

/* ---- installing wheels (install.h) ----
 *
 * Synthetic wheels with the file counts and layout of the real cu130
 * environment (tests/fixtures/cu130-files.tsv.gz: 197 distributions,
 * 49,405 installed files, 7.2 GB), each file's size divided by
 * INSTALL_SCALE; their WHEEL (Root-Is-Purelib) and entry_points.txt are
 * the real ones from cu130-stack. Files the environment had in bin/ that
 * are not entry points go to NAME.data/scripts (as "#!python" scripts),
 * share/ to NAME.data/data; INSTALLER, REQUESTED and RECORD are left to
 * the installer. The wheels and their unpacked trees are made once under
 * BUILD/bench/install-cache and reused, so what is timed is a warm cache:
 *   (a) cp -al of the whole unpacked tree (the floor: one link per file)
 *   (b) em_wheel_install of every wheel, hard links, one thread per core
 *   (c) pip install --no-index --no-deps --no-compile of the same wheels
 *       into a fresh venv of the newest python3 with pip
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#define INSTALL_SCALE 64
#define INSTALL_CACHE_VERSION "envmatrix-bench-install-2 scale=64\n"

struct bfile {
	const char *path; /* member name in the wheel */
	uint64_t size;
	const char *data; /* NULL: generated */
	unsigned mode;
};

struct bdist {
	const char *di, *stem, *wheel; /* dist-info, NAME-VER, file name */
	struct bfile *files;
	size_t n, cap;
	uint64_t bytes;
};

static void bfile_add(struct em_arena *a, struct bdist *d, const char *path, uint64_t size,
		      const char *data, unsigned mode)
{
	if (d->n == d->cap) {
		size_t nc = d->cap ? d->cap * 2 : 64;
		struct bfile *nf = em_arena_array(a, nc, sizeof *nf);
		if (d->n)
			memcpy(nf, d->files, d->n * sizeof *nf);
		d->files = nf;
		d->cap = nc;
	}
	d->files[d->n++] = (struct bfile){ path, size, data, mode };
	d->bytes += size;
}

static char *gunzip_file(const char *path, size_t *len)
{
	struct archive *ar = archive_read_new();
	archive_read_support_filter_gzip(ar);
	archive_read_support_format_raw(ar);
	struct archive_entry *ent;
	if (archive_read_open_filename(ar, path, 1 << 16) != ARCHIVE_OK ||
	    archive_read_next_header(ar, &ent) != ARCHIVE_OK) {
		archive_read_free(ar);
		return NULL;
	}
	struct em_buf b = EM_BUF_INIT;
	char chunk[1 << 16];
	la_ssize_t got;
	while ((got = archive_read_data(ar, chunk, sizeof chunk)) > 0)
		em_buf_add(&b, chunk, (size_t)got);
	archive_read_free(ar);
	return em_buf_detach(&b, len);
}

/* the names of entry_points.txt's console and gui scripts, "\n"-joined */
static char *script_names(struct em_arena *a, const char *text)
{
	struct em_buf b = EM_BUF_INIT;
	em_buf_addc(&b, '\n');
	bool in = false;
	for (const char *p = text; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		while (n && (p[n - 1] == '\r' || p[n - 1] == ' '))
			n--;
		if (n && p[0] == '[')
			in = (n == 17 && !memcmp(p, "[console_scripts]", 17)) ||
			     (n == 13 && !memcmp(p, "[gui_scripts]", 13));
		else if (in && memchr(p, '=', n)) {
			const char *eq = memchr(p, '=', n);
			const char *s = p;
			while (*s == ' ')
				s++;
			while (eq > s && eq[-1] == ' ')
				eq--;
			em_buf_add(&b, s, (size_t)(eq - s));
			em_buf_addc(&b, '\n');
		}
		p = nl ? nl + 1 : NULL;
	}
	char *out = em_arena_strdup(a, b.ptr);
	em_buf_release(&b);
	return out;
}

static size_t load_cu130_files(struct em_arena *a, const char *fixtures, struct bdist **out,
			       uint64_t *real_bytes, size_t *real_files)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/cu130-files.tsv.gz", fixtures);
	size_t len;
	char *tsv = gunzip_file(path, &len);
	if (!tsv) {
		fprintf(stderr, "bench: cannot read '%s'\n", path);
		exit(1);
	}
	struct bdist *ds = em_arena_array(a, 512, sizeof *ds);
	size_t nd = 0;
	*real_bytes = 0;
	*real_files = 0;
	struct bdist *d = NULL;
	char *scripts = NULL;
	for (char *line = tsv; line < tsv + len;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		char *t1 = strchr(line, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
		if (!t2)
			goto next;
		*t1 = *t2 = '\0';
		const char *di = line, *file = t1 + 1;
		uint64_t size = strtoull(t2 + 1, NULL, 10);
		*real_bytes += size;
		(*real_files)++;
		if (!d || strcmp(d->di, di)) {
			if (nd == 512)
				abort();
			d = &ds[nd++];
			memset(d, 0, sizeof *d);
			d->di = em_arena_strdup(a, di);
			d->stem = em_arena_strndup(a, di, strlen(di) - strlen(".dist-info"));
			d->wheel = em_arena_printf(a, "%s-py3-none-any.whl", d->stem);
			/* the real WHEEL's Root-Is-Purelib, the real entry points */
			snprintf(path, sizeof path, "%s/cu130-stack/%s/WHEEL", fixtures, di);
			size_t wl;
			char *wheel = read_file(path, &wl);
			bool purelib = !wheel || strstr(wheel, "Root-Is-Purelib: true");
			free(wheel);
			char *wf = em_arena_printf(a,
						   "Wheel-Version: 1.0\nGenerator: envmatrix-bench\n"
						   "Root-Is-Purelib: %s\nTag: py3-none-any\n",
						   purelib ? "true" : "false");
			bfile_add(a, d, em_arena_printf(a, "%s/WHEEL", di), strlen(wf), wf, 0644);
			const char *dash = strrchr(d->stem, '-');
			char *meta = em_arena_printf(a, "Metadata-Version: 2.1\nName: %.*s\nVersion: %s\n",
						     (int)(dash - d->stem), d->stem, dash + 1);
			bfile_add(a, d, em_arena_printf(a, "%s/METADATA", di), strlen(meta), meta,
				  0644);
			snprintf(path, sizeof path, "%s/cu130-stack/%s/entry_points.txt", fixtures, di);
			size_t el;
			char *ep = read_file(path, &el);
			scripts = script_names(a, ep);
			if (ep) {
				bfile_add(a, d, em_arena_printf(a, "%s/entry_points.txt", di), el,
					  em_arena_strdup(a, ep), 0644);
				free(ep);
			}
		}
		size_t dl = strlen(di);
		uint64_t scaled = (size + INSTALL_SCALE - 1) / INSTALL_SCALE;
		if (!strncmp(file, di, dl) && file[dl] == '/') {
			const char *f = file + dl + 1;
			if (!strcmp(f, "RECORD") || !strcmp(f, "INSTALLER") || !strcmp(f, "REQUESTED") ||
			    !strcmp(f, "direct_url.json") || !strcmp(f, "WHEEL") ||
			    !strcmp(f, "METADATA") || !strcmp(f, "entry_points.txt"))
				goto next;
			bfile_add(a, d, em_arena_strdup(a, file), scaled, NULL, 0644);
		} else if (!strncmp(file, "../../../bin/", 13)) {
			char key[600];
			snprintf(key, sizeof key, "\n%s\n", file + 13);
			if (scripts && strstr(scripts, key))
				goto next; /* a launcher */
			bfile_add(a, d, em_arena_printf(a, "%s.data/scripts/%s", d->stem, file + 13),
				  scaled, NULL, 0755);
		} else if (!strncmp(file, "../../../", 9)) {
			bfile_add(a, d, em_arena_printf(a, "%s.data/data/%s", d->stem, file + 9),
				  scaled, NULL, 0644);
		} else {
			size_t fl = strlen(file);
			bool so = fl > 3 && (!strcmp(file + fl - 3, ".so") || strstr(file, ".so."));
			bfile_add(a, d, em_arena_strdup(a, file), scaled, NULL, so ? 0755 : 0644);
		}
	next:
		line = nl ? nl + 1 : tsv + len;
	}
	free(tsv);
	*out = ds;
	return nd;
}

static uint64_t xs_state = 88172645463325252ull;

static void fill(char *p, size_t n, bool script)
{
	static const char al[] = "abcdefghijklmnopqrstuvwxyz_ ()=:.\n0123456789ABCDEFGHIJKLMNOPQRST";
	size_t i = 0;
	if (script) {
		static const char sb[] = "#!python\n";
		for (; i < n && i < sizeof sb - 1; i++)
			p[i] = sb[i];
	}
	for (; i < n; i++) {
		xs_state ^= xs_state << 13;
		xs_state ^= xs_state >> 7;
		xs_state ^= xs_state << 17;
		p[i] = al[(xs_state >> 32) & 63];
	}
}

static void b64_sha256(const void *data, size_t n, char out[64])
{
	char hex[EM_SHA256_HEX_LEN + 1];
	em_sha256_buf(data, n, hex);
	static const char al[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (int i = 0; i < 32; i++) {
		unsigned v;
		sscanf(hex + 2 * i, "%2x", &v);
		acc = acc << 8 | v;
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = al[(acc >> bits) & 63];
		}
	}
	if (bits)
		out[o++] = al[(acc << (6 - bits)) & 63];
	out[o] = '\0';
}

static void write_bench_wheel(const struct bdist *d, const char *path)
{
	struct archive *ar = archive_write_new();
	archive_write_set_format_zip(ar);
	char tmp[4200];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	if (archive_write_open_filename(ar, tmp) != ARCHIVE_OK) {
		fprintf(stderr, "bench: cannot write '%s'\n", tmp);
		exit(1);
	}
	struct em_buf rec = EM_BUF_INIT, data = EM_BUF_INIT;
	for (size_t i = 0; i <= d->n; i++) {
		const char *name, *p;
		size_t n;
		unsigned mode = 0644;
		char record_name[1024];
		if (i < d->n) {
			const struct bfile *f = &d->files[i];
			name = f->path;
			mode = f->mode;
			if (f->data) {
				p = f->data;
				n = (size_t)f->size;
			} else {
				em_buf_reset(&data);
				em_buf_grow(&data, (size_t)f->size + 1);
				fill(data.ptr, (size_t)f->size, strstr(name, ".data/scripts/") != NULL);
				data.len = (size_t)f->size;
				p = data.ptr;
				n = data.len;
			}
			char h[64];
			b64_sha256(p, n, h);
			em_buf_addf(&rec, "%s,sha256=%s,%zu\n", name, h, n);
		} else {
			snprintf(record_name, sizeof record_name, "%s/RECORD", d->di);
			em_buf_addf(&rec, "%s,,\n", record_name);
			name = record_name;
			p = rec.ptr;
			n = rec.len;
		}
		struct archive_entry *ent = archive_entry_new();
		archive_entry_set_pathname(ent, name);
		archive_entry_set_filetype(ent, AE_IFREG);
		archive_entry_set_perm(ent, mode);
		archive_entry_set_mtime(ent, 1735689600, 0);
		archive_entry_set_size(ent, (la_int64_t)n);
		if (archive_write_header(ar, ent) != ARCHIVE_OK ||
		    (n && archive_write_data(ar, p, n) != (la_ssize_t)n)) {
			fprintf(stderr, "bench: writing '%s': %s\n", tmp, archive_error_string(ar));
			exit(1);
		}
		archive_entry_free(ent);
	}
	if (archive_write_close(ar) != ARCHIVE_OK || rename(tmp, path) != 0) {
		fprintf(stderr, "bench: cannot finish '%s'\n", path);
		exit(1);
	}
	archive_write_free(ar);
	em_buf_release(&rec);
	em_buf_release(&data);
}

static double run_timed(const char *const argv[], int *status)
{
	struct em_arena a;
	em_arena_init(&a);
	struct em_proc_result r;
	struct em_error e = { 0 };
	double t0 = now();
	int rc = em_proc_run(&a, argv, NULL, 1 << 20, 0, &r, &e);
	double t = now() - t0;
	*status = rc ? -1 : r.status;
	if (rc || r.status)
		fprintf(stderr, "bench: '%s' failed (%d): %s%s\n", argv[0], r.status,
			rc ? e.msg : r.err, rc ? "" : "");
	em_arena_release(&a);
	return t;
}

static void rm_rf(const char *path)
{
	const char *argv[] = { "rm", "-rf", path, NULL };
	int st;
	run_timed(argv, &st);
}

static long vm_hwm_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, "VmHWM:", 6))
			v = strtol(line + 6, NULL, 10);
	if (f)
		fclose(f);
	return v;
}

static void reset_hwm(void)
{
	FILE *f = fopen("/proc/self/clear_refs", "w");
	if (f) {
		fputs("5", f);
		fclose(f);
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void bench_install(const char *fixtures, const char *argv0)
{
	struct em_arena a;
	em_arena_init(&a);
	struct em_error e = { 0 };
	/* BUILD/bench/bench -> BUILD/bench/install-cache */
	char *bdir = em_path_absolute(&a, em_path_dir(&a, argv0));
	char *cache = em_arena_printf(&a, "%s/install-cache", bdir);
	char *wheels = em_arena_printf(&a, "%s/wheels", cache);
	char *unpacked = em_arena_printf(&a, "%s/unpacked", cache);
	char *work = em_arena_printf(&a, "%s/install-work-%ld", bdir, (long)getpid());
	char *stamp = em_arena_printf(&a, "%s/complete", cache);

	struct bdist *ds;
	uint64_t real_bytes;
	size_t real_files;
	size_t nd = load_cu130_files(&a, fixtures, &ds, &real_bytes, &real_files);
	size_t members = 0;
	uint64_t bytes = 0;
	for (size_t i = 0; i < nd; i++) {
		members += ds[i].n + 1;
		bytes += ds[i].bytes;
	}
	size_t sl;
	char *st = read_file(stamp, &sl);
	bool reuse = st && !strcmp(st, INSTALL_CACHE_VERSION);
	free(st);
	double t_make = 0, t_unpack = 0;
	if (!reuse) {
		rm_rf(cache);
		if (em_mkdir_p(wheels, &e)) {
			fprintf(stderr, "bench: %s: %s\n", e.where, e.msg);
			exit(1);
		}
		double t0 = now();
		for (size_t i = 0; i < nd; i++)
			write_bench_wheel(&ds[i], em_arena_printf(&a, "%s/%s", wheels, ds[i].wheel));
		t_make = now() - t0;
		t0 = now();
		for (size_t i = 0; i < nd; i++) {
			char *w = em_arena_printf(&a, "%s/%s", wheels, ds[i].wheel);
			char *u = em_arena_printf(&a, "%s/%s", unpacked, ds[i].wheel);
			if (em_wheel_unpack(w, u, &e)) {
				fprintf(stderr, "bench: unpack: %s: %s\n", e.where, e.msg);
				exit(1);
			}
		}
		t_unpack = now() - t0;
		FILE *f = fopen(stamp, "w");
		if (f) {
			fputs(INSTALL_CACHE_VERSION, f);
			fclose(f);
		}
	}
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	printf("install cu130 (%zu wheels, %zu members; the environment: %zu files, %.1f GB), "
	       "%ld cores\n",
	       nd, members, real_files, (double)real_bytes / 1e9, ncpu);
	printf("  synthetic wheels, every file's size divided by %d: %.0f MiB unpacked%s\n",
	       INSTALL_SCALE, (double)bytes / (1 << 20),
	       reuse ? " (cache reused)" : "");
	if (!reuse)
		printf("  made the wheels in %.1f s, em_wheel_unpack of all in %.2f s (cold)\n", t_make,
		       t_unpack);

	/* Nothing is removed between the timed runs: on ext4 without a journal
	 * (this machine's) a mass removal makes every new inode for the next
	 * 30 s scan past the recently freed ones (recently_deleted() in
	 * ext4's inode allocator), which would time the removal instead of
	 * the install. Each run gets its own folder; all go at the end. */
	enum { ROUNDS = 5 };
	double ta[ROUNDS], tb[ROUNDS];
	long hwm = 0, before = 0;
	uint64_t files_b = 0;
	em_mkdir_p(work, &e);
	sync();
	for (int r = 0; r < ROUNDS; r++) {
		/* (a) cp -al */
		char *dst = em_arena_printf(&a, "%s/cp-%d", work, r);
		const char *cp[] = { "cp", "-al", unpacked, dst, NULL };
		int status;
		ta[r] = run_timed(cp, &status);
		if (status)
			exit(1);
		sync();
		/* (b) em_wheel_install, hard links, all cores */
		char *top = em_arena_printf(&a, "%s/venv-%d", work, r);
		char *site = em_arena_printf(&a, "%s/lib/python3.12/site-packages", top);
		char *bin = em_arena_printf(&a, "%s/bin", top);
		char *py = em_arena_printf(&a, "%s/bin/python", top);
		before = vm_hwm_kib();
		reset_hwm();
		long base = vm_hwm_kib();
		double t0 = now();
		files_b = 0;
		for (size_t i = 0; i < nd; i++) {
			char inc[4200];
			snprintf(inc, sizeof inc, "%s/include/site/python3.12", top);
			struct em_scheme s = { site, site, bin, inc, top };
			struct em_install_opts o = { &s, py, EM_OS_LINUX, EM_LINK_HARDLINK, true, 0 };
			struct em_install_result res;
			char *u = em_arena_printf(&a, "%s/%s", unpacked, ds[i].wheel);
			if (em_wheel_install(u, ds[i].wheel, &o, &res, &e)) {
				fprintf(stderr, "bench: install: %s: %s\n", e.where, e.msg);
				exit(1);
			}
			files_b += res.files;
		}
		tb[r] = now() - t0;
		long peak = vm_hwm_kib();
		if (peak - base > hwm)
			hwm = peak - base;
		before = base;
		sync();
	}
	qsort(ta, ROUNDS, sizeof *ta, cmp_double);
	qsort(tb, ROUNDS, sizeof *tb, cmp_double);
	double a_med = ta[ROUNDS / 2], b_med = tb[ROUNDS / 2];
	printf("  (a) cp -al of the unpacked tree          %7.3f s  (median of %d, best %.3f)\n",
	       a_med, ROUNDS, ta[0]);
	printf("  (b) em_wheel_install, hardlink, %2ld jobs   %7.3f s  (median of %d, best %.3f)"
	       "   %5.2fx (a)   (goal: at most 1.20x)\n",
	       ncpu, b_med, ROUNDS, tb[0], b_med / a_med);
	printf("      %llu files installed, %.1f us per file; peak RSS %.1f MiB (%.1f MiB above the "
	       "%.1f MiB before)\n",
	       (unsigned long long)files_b, b_med / (double)files_b * 1e6,
	       (double)(before + hwm) / 1024, (double)hwm / 1024, (double)before / 1024);

	/* (c) pip, from the newest python3 that has it */
	struct em_interp_list list;
	const char *pybin = NULL;
	char pipver[128] = "";
	if (em_interp_discover(&a, &list, &e) == 0) {
		for (uint32_t i = 0; i < list.n && !pybin; i++) {
			const char *v[] = { list.items[i].path, "-m", "pip", "--version", NULL };
			struct em_proc_result r;
			if (em_proc_run(&a, v, NULL, 4096, 60000, &r, &e) == 0 && r.status == 0) {
				pybin = list.items[i].path;
				sscanf(r.out, "pip %100s", pipver);
			}
		}
	}
	if (!pybin) {
		printf("  (c) pip: skipped, no python3 with pip found\n\n");
		rm_rf(work);
		em_arena_release(&a);
		return;
	}
	char *venv = em_arena_printf(&a, "%s/pip-venv", work);
	const char *mk[] = { pybin, "-m", "venv", venv, NULL };
	int status;
	run_timed(mk, &status);
	if (status) {
		printf("  (c) pip: skipped, '%s -m venv' failed\n\n", pybin);
		rm_rf(work);
		em_arena_release(&a);
		return;
	}
	const char **pip = em_arena_array(&a, nd + 16, sizeof *pip);
	size_t k = 0;
	pip[k++] = em_arena_printf(&a, "%s/bin/python", venv);
	static const char *const flags[] = { "-m", "pip", "install", "--no-index", "--no-deps",
					     "--no-compile", "--disable-pip-version-check",
					     "--ignore-requires-python", "-q" };
	for (size_t i = 0; i < sizeof flags / sizeof *flags; i++)
		pip[k++] = flags[i];
	for (size_t i = 0; i < nd; i++)
		pip[k++] = em_arena_printf(&a, "%s/%s", wheels, ds[i].wheel);
	pip[k] = NULL;
	double tc = run_timed(pip, &status);
	if (status)
		printf("  (c) pip install failed (status %d)\n", status);
	else
		printf("  (c) pip %s install --no-index --no-deps --no-compile (%s)  %7.3f s  "
		       "%5.1fx (b)   (goal: at least 15x)\n",
		       pipver, pybin, tc, tc / b_med);
	printf("\n");
	rm_rf(work);
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
	bench_install(fixtures, argv[0]);
	return 0;
}
