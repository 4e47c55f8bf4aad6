/* test_corpus.c - a real environment's metadata through the whole standards
 * engine: METADATA parsing, PEP 508 requirements and markers, PEP 440
 * versions and specifiers, PEP 503 names.
 *
 * tests/fixtures/cu130-stack holds the .dist-info folders of a CUDA 13.0
 * PyTorch environment (CPython 3.12, Linux x86_64): 197 distributions,
 * 2,812 Requires-Dist lines, 2,462 of them with a marker.
 */
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec/metadata.h"
#include "spec/name.h"
#include "spec/pep440.h"
#include "spec/pep508.h"
#include "spec/target.h"

#define CORPUS_DISTS 197
#define CORPUS_REQUIRES_DIST 2812
#define CORPUS_WITH_MARKER 2462
/* (requirement, extra) pairs that apply on linux-x86_64 / windows-x86_64 with
 * Python 3.12, as pypa/packaging 24.1 evaluates them (extra "" for none) */
#define CORPUS_APPLY_NO_EXTRA_LINUX 365
#define CORPUS_APPLY_NO_EXTRA_WINDOWS 363
#define CORPUS_APPLY_ALL_LINUX 4425
#define CORPUS_APPLY_ALL_WINDOWS 4412

struct dist {
	char *folder; /* "torch-2.11.0.dist-info" */
	char *data;
	size_t len;
	struct em_metadata m;
	struct em_requirement *reqs; /* parsed, NULL entries when they failed */
	bool *req_ok;
};

struct corpus {
	struct em_arena a;
	struct dist *d;
	size_t n;
	bool loaded; /* every METADATA file parsed */
	struct em_target_env env[2];
	const char *env_name[2];
};

static int cmp_dist(const void *x, const void *y)
{
	return strcmp(((const struct dist *)x)->folder, ((const struct dist *)y)->folder);
}

static int setup(void **state)
{
	struct corpus *c = calloc(1, sizeof *c);
	if (!c)
		return -1;
	em_arena_init(&c->a);
	*state = c;

	char dir[4096];
	snprintf(dir, sizeof dir, "%s", tu_fixture("cu130-stack"));
	DIR *dh = opendir(dir);
	if (!dh) {
		fprintf(stderr, "cannot open %s\n", dir);
		return 0; /* the tests then fail with a message */
	}
	size_t cap = 256;
	c->d = calloc(cap, sizeof *c->d);
	if (!c->d) {
		closedir(dh);
		return -1;
	}
	struct dirent *de;
	while ((de = readdir(dh)) != NULL) {
		size_t dl = strlen(de->d_name);
		if (dl < 10 || strcmp(de->d_name + dl - 10, ".dist-info"))
			continue;
		if (c->n == cap) {
			struct dist *nd = realloc(c->d, cap * 2 * sizeof *nd);
			if (!nd) {
				closedir(dh);
				return -1;
			}
			memset(nd + cap, 0, cap * sizeof *nd);
			c->d = nd;
			cap *= 2;
		}
		struct dist *d = &c->d[c->n++];
		d->folder = em_arena_strdup(&c->a, de->d_name);
		char path[8192];
		snprintf(path, sizeof path, "%s/%s/METADATA", dir, de->d_name);
		d->data = tu_read_file(path, &d->len);
		if (!d->folder) {
			closedir(dh);
			return -1;
		}
	}
	closedir(dh);
	qsort(c->d, c->n, sizeof *c->d, cmp_dist);

	c->loaded = true;
	for (size_t i = 0; i < c->n; i++) {
		struct dist *d = &c->d[i];
		struct em_error e = { 0 };
		if (!d->data) {
			fprintf(stderr, "  cannot read %s/METADATA\n", d->folder);
			c->loaded = false;
			continue;
		}
		char where[300];
		snprintf(where, sizeof where, "%s/METADATA", d->folder);
		if (em_metadata_parse(&c->a, d->data, d->len, where, &d->m, &e)) {
			fprintf(stderr, "  %s: %s\n", e.where, e.msg);
			c->loaded = false;
		}
	}

	static const char *const plats[2] = { "linux-x86_64", "windows-x86_64" };
	for (int i = 0; i < 2; i++) {
		struct em_target t;
		struct em_error e = { 0 };
		memset(&t, 0, sizeof t);
		if (em_platform_parse(plats[i], &t.plat, &e) || em_python_parse("3.12", &t.py, &e)) {
			fprintf(stderr, "target %s: %s\n", plats[i], e.msg);
			return -1;
		}
		em_target_marker_env(&t, &c->env[i]);
		c->env_name[i] = plats[i];
	}
	return 0;
}

static int teardown(void **state)
{
	struct corpus *c = *state;
	for (size_t i = 0; i < c->n; i++)
		free(c->d[i].data);
	free(c->d);
	em_arena_release(&c->a);
	free(c);
	return 0;
}

static void test_load(void **state)
{
	struct corpus *c = *state;
	assert_int_equal(c->n, CORPUS_DISTS);
	assert_true(c->loaded);
	unsigned n = 0;
	for (size_t i = 0; i < c->n; i++)
		n += c->d[i].m.nrequires_dist;
	print_message("%zu distributions, %u Requires-Dist lines\n", c->n, n);
	assert_int_equal(n, CORPUS_REQUIRES_DIST);
}

/* NAME-VERSION.dist-info: the name is escaped (no '-'), so split at the first '-'. */
static void test_folder_names(void **state)
{
	struct corpus *c = *state;
	assert_true(c->loaded);
	struct tu_report r;
	tu_report_init(&r, "folder names", 20);
	struct em_arena a;
	em_arena_init(&a);
	for (size_t i = 0; i < c->n; i++) {
		const struct dist *d = &c->d[i];
		r.total++;
		const char *dash = strchr(d->folder, '-');
		size_t flen = strlen(d->folder) - 10;
		if (!dash || (size_t)(dash - d->folder) >= flen) {
			tu_report_fail(&r, "%s: no NAME-VERSION", d->folder);
			continue;
		}
		size_t nlen = (size_t)(dash - d->folder);
		if (!em_name_eq(d->folder, nlen, d->m.name, strlen(d->m.name))) {
			tu_report_fail(&r, "%s: Name '%s' does not match", d->folder, d->m.name);
			continue;
		}
		struct em_version fv, mv;
		struct em_error e = { 0 };
		if (em_version_parse(&a, dash + 1, flen - nlen - 1, &fv, &e) ||
		    em_version_parse(&a, d->m.version, strlen(d->m.version), &mv, &e)) {
			tu_report_fail(&r, "%s: %s", d->folder, e.msg);
			continue;
		}
		if (em_version_cmp(&fv, &mv))
			tu_report_fail(&r, "%s: Version '%s' does not match", d->folder,
				       d->m.version);
	}
	em_arena_release(&a);
	tu_report_done(&r);
}

static void test_requires_python(void **state)
{
	struct corpus *c = *state;
	assert_true(c->loaded);
	struct tu_report r;
	tu_report_init(&r, "Requires-Python", 20);
	struct em_arena a;
	em_arena_init(&a);
	unsigned with = 0, allow312 = 0;
	for (size_t i = 0; i < c->n; i++) {
		const struct dist *d = &c->d[i];
		if (!d->m.requires_python)
			continue;
		with++;
		r.total++;
		struct em_specset s;
		struct em_error e = { 0 };
		if (em_specset_parse(&a, d->m.requires_python, strlen(d->m.requires_python), &s, &e)) {
			tu_report_fail(&r, "%s: '%s': %s", d->folder, d->m.requires_python, e.msg);
			continue;
		}
		/* the environment ran on 3.12, so every one of them allows it */
		if (em_specset_contains_str(&s, "3.12.10", 7, EM_PRE_DEFAULT))
			allow312++;
		else
			tu_report_fail(&r, "%s: '%s' excludes 3.12.10", d->folder,
				       d->m.requires_python);
	}
	em_arena_release(&a);
	print_message("%u Requires-Python fields, %u allow 3.12.10\n", with, allow312);
	tu_report_done(&r);
}

/* Parse every Requires-Dist line and evaluate it for both targets, with no
 * extra and with each extra the distribution provides. */
static void test_requirements(void **state)
{
	struct corpus *c = *state;
	assert_true(c->loaded);
	struct tu_report r;
	tu_report_init(&r, "Requires-Dist", 30);
	unsigned lines = 0, parsed = 0, with_marker = 0, evals = 0;
	unsigned applies[2] = { 0, 0 }, applies_all[2] = { 0, 0 };
	for (size_t i = 0; i < c->n; i++) {
		struct dist *d = &c->d[i];
		const struct em_metadata *m = &d->m;
		d->reqs = em_arena_array(&c->a, m->nrequires_dist + 1, sizeof *d->reqs);
		d->req_ok = em_arena_zalloc(&c->a, m->nrequires_dist + 1);
		assert_non_null(d->reqs);
		assert_non_null(d->req_ok);
		for (uint32_t j = 0; j < m->nrequires_dist; j++) {
			const char *s = m->requires_dist[j];
			struct em_requirement *req = &d->reqs[j];
			struct em_error e = { 0 };
			lines++;
			r.total++;
			if (em_requirement_parse(&c->a, s, strlen(s), req, &e)) {
				tu_report_fail(&r, "%s/METADATA:%u: '%s': %s", d->folder,
					       m->requires_dist_line[j], s, e.msg);
				continue;
			}
			d->req_ok[j] = true;
			parsed++;
			if (req->marker)
				with_marker++;
			for (int t = 0; t < 2; t++) {
				for (uint32_t x = 0; x <= m->nprovides_extra; x++) {
					const char *extra = x ? m->provides_extra[x - 1] : NULL;
					bool res;
					evals++;
					if (em_requirement_applies(req, &c->env[t].env, extra, &res, &e)) {
						tu_report_fail(&r, "%s/METADATA:%u: '%s' on %s, extra %s: %s",
							       d->folder, m->requires_dist_line[j], s,
							       c->env_name[t], extra ? extra : "(none)",
							       e.msg);
						continue;
					}
					if (res)
						applies_all[t]++;
					if (!extra && res)
						applies[t]++;
				}
				/* the marker alone, as packaging evaluates it with no extra */
				if (req->marker) {
					struct em_marker_env env = c->env[t].env;
					env.var[EM_MV_EXTRA] = "";
					bool res, res2;
					if (em_marker_eval(req->marker, &env, &res, &e) ||
					    em_requirement_applies(req, &c->env[t].env, NULL, &res2, &e))
						tu_report_fail(&r, "%s: '%s' on %s: %s", d->folder, s,
							       c->env_name[t], e.msg);
					else if (res != res2)
						tu_report_fail(&r, "%s: '%s' on %s: marker %d, requirement %d",
							       d->folder, s, c->env_name[t], res, res2);
				}
			}
		}
	}
	print_message("%u lines, %u parsed, %u with a marker, %u evaluations; "
		      "with no extra %u apply on linux, %u on windows; with each extra too "
		      "%u and %u\n",
		      lines, parsed, with_marker, evals, applies[0], applies[1], applies_all[0],
		      applies_all[1]);
	tu_report_done(&r);
	assert_int_equal(lines, CORPUS_REQUIRES_DIST);
	assert_int_equal(with_marker, CORPUS_WITH_MARKER);
	assert_int_equal(applies[0], CORPUS_APPLY_NO_EXTRA_LINUX);
	assert_int_equal(applies[1], CORPUS_APPLY_NO_EXTRA_WINDOWS);
	assert_int_equal(applies_all[0], CORPUS_APPLY_ALL_LINUX);
	assert_int_equal(applies_all[1], CORPUS_APPLY_ALL_WINDOWS);
}

static const struct dist *find_dist(const struct corpus *c, const char *name)
{
	for (size_t i = 0; i < c->n; i++)
		if (em_name_eq(c->d[i].m.name, strlen(c->d[i].m.name), name, strlen(name)))
			return &c->d[i];
	return NULL;
}

/* Does the line of dist that starts with prefix apply on target t? */
static bool applies(const struct corpus *c, const char *dist, const char *prefix, int t,
		    const char *extra)
{
	const struct dist *d = find_dist(c, dist);
	if (!d)
		fail_msg("no distribution '%s'", dist);
	for (uint32_t j = 0; j < d->m.nrequires_dist; j++) {
		if (strncmp(d->m.requires_dist[j], prefix, strlen(prefix)))
			continue;
		struct em_requirement req;
		struct em_error e = { 0 };
		struct em_arena a;
		em_arena_init(&a);
		bool res = false;
		if (em_requirement_parse(&a, d->m.requires_dist[j], strlen(d->m.requires_dist[j]),
					 &req, &e) ||
		    em_requirement_applies(&req, &c->env[t].env, extra, &res, &e)) {
			em_arena_release(&a);
			fail_msg("%s: '%s': %s", dist, d->m.requires_dist[j], e.msg);
		}
		em_arena_release(&a);
		return res;
	}
	fail_msg("%s has no requirement starting '%s'", dist, prefix);
	return false;
}

enum { LINUX = 0, WINDOWS = 1 };

static void test_known_facts(void **state)
{
	struct corpus *c = *state;
	assert_true(c->loaded);
	const struct dist *torch = find_dist(c, "torch");
	assert_non_null(torch);
	assert_string_equal(torch->m.version, "2.11.0");
	assert_string_equal(torch->m.requires_python, ">=3.10");

	/* torch's Triton is Linux only */
	assert_true(applies(c, "torch", "triton==3.6.0; platform_system == \"Linux\"", LINUX, NULL));
	assert_false(applies(c, "torch", "triton==3.6.0; platform_system == \"Linux\"", WINDOWS, NULL));
	/* and so are its CUDA libraries */
	assert_true(applies(c, "torch", "nvidia-cudnn-cu13", LINUX, NULL));
	assert_false(applies(c, "torch", "nvidia-cudnn-cu13", WINDOWS, NULL));
	/* unconditional */
	assert_true(applies(c, "torch", "filelock", WINDOWS, NULL));
	/* extras: only when asked for, on both systems; the name is normalized */
	assert_false(applies(c, "torch", "optree", LINUX, NULL));
	assert_true(applies(c, "torch", "optree", LINUX, "optree"));
	assert_true(applies(c, "torch", "optree", WINDOWS, "OpTree"));
	assert_false(applies(c, "torch", "optree", WINDOWS, "opt-einsum"));
	/* tqdm needs colorama on Windows only */
	assert_true(applies(c, "tqdm", "colorama", WINDOWS, NULL));
	assert_false(applies(c, "tqdm", "colorama", LINUX, NULL));
	/* Python 3.12 */
	assert_false(applies(c, "aiohttp", "async-timeout", LINUX, NULL));
	assert_true(applies(c, "aiohttp", "typing_extensions", WINDOWS, NULL));
	/* a platform test combined with an extra */
	assert_true(applies(c, "cuda-toolkit", "nvidia-cublas==13.1.0.3.*; (sys_platform == 'linux' "
					       "or sys_platform == 'win32') and extra == 'cublas'",
			    WINDOWS, "cublas"));
	assert_false(applies(c, "cuda-toolkit", "nvidia-cublas==13.1.0.3.*; (sys_platform == 'linux' "
						"or sys_platform == 'win32') and extra == 'cublas'",
			     LINUX, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_folder_names),
		cmocka_unit_test(test_requires_python),
		cmocka_unit_test(test_requirements),
		cmocka_unit_test(test_known_facts),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
