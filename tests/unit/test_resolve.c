/* test_resolve.c - resolver scenarios (tests/resolver/NAME.test)
 *
 * Each scenario is a spec (tests/tools/spec.h) with the index inline, plus:
 *   target PLATFORM PYTHON          the target (default linux-x86_64 3.12.10)
 *   request                         requirement lines, as a matrix would give
 *   prefer NAME==VERSION            a preference (an existing lock's pin)
 *   allow-pre NAME                  pre-releases allowed for NAME ("*": all)
 *   budget DECISIONS                the most decisions + conflicts allowed
 *   expect-resolution               "name version" lines, sorted by name
 *   expect-error                    the summary line, then the explanation
 * The provider is the planner's own logic (src/candidates.c) over the
 * spec's files and METADATA (spec_metadata), without writing any file, so
 * the scenarios test resolution, wheel choice and markers together.
 */
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec/candidates.h"
#include "spec/name.h"
#include "spec/pep508.h"
#include "spec/resolve.h"
#include "spec.h"

struct origin {
	const struct spec_package *pkg;
	const struct spec_version *ver;
	const struct spec_wheel *wheel; /* NULL: the sdist */
};

struct project {
	const char *name; /* canonical */
	struct em_dist_file *files;
	struct origin *origins;
	uint32_t nfiles;
	struct em_candidate *cands;
	uint32_t ncands;
	bool built;
};

struct scenario {
	struct em_arena *a;
	struct spec spec;
	struct em_target target;
	struct em_tagset tags;
	struct project *projects;
	uint32_t nprojects;
};

static struct project *find_project(struct scenario *sc, const char *name)
{
	for (uint32_t i = 0; i < sc->nprojects; i++)
		if (!strcmp(sc->projects[i].name, name))
			return &sc->projects[i];
	return NULL;
}

/* Gather every file the spec's indexes hold, per project. */
static void collect_files(struct scenario *sc)
{
	uint32_t cap = 0;
	for (size_t i = 0; i < sc->spec.nindexes; i++)
		cap += (uint32_t)sc->spec.indexes[i].npackages;
	sc->projects = em_arena_zalloc(sc->a, (cap ? cap : 1) * sizeof *sc->projects);
	for (size_t i = 0; i < sc->spec.nindexes; i++) {
		const struct spec_index *ix = &sc->spec.indexes[i];
		for (size_t k = 0; k < ix->npackages; k++) {
			const struct spec_package *p = ix->packages[k];
			struct project *pr = find_project(sc, p->canonical);
			if (!pr) {
				pr = &sc->projects[sc->nprojects++];
				pr->name = p->canonical;
			}
			uint32_t add = 0;
			for (size_t v = 0; v < p->nversions; v++)
				add += (uint32_t)p->versions[v].nwheels + p->versions[v].sdist;
			struct em_dist_file *nf =
				em_arena_zalloc(sc->a, (pr->nfiles + add + 1) * sizeof *nf);
			struct origin *no = em_arena_zalloc(sc->a, (pr->nfiles + add + 1) * sizeof *no);
			if (pr->nfiles) {
				memcpy(nf, pr->files, pr->nfiles * sizeof *nf);
				memcpy(no, pr->origins, pr->nfiles * sizeof *no);
			}
			pr->files = nf;
			pr->origins = no;
			for (size_t v = 0; v < p->nversions; v++) {
				const struct spec_version *sv = &p->versions[v];
				for (size_t w = 0; w <= sv->nwheels; w++) {
					const char *fn = w < sv->nwheels ? sv->wheels[w].filename
									 : sv->sdist_filename;
					if (!fn)
						continue;
					struct em_dist_file *f = &pr->files[pr->nfiles];
					f->filename = fn;
					f->url = em_arena_printf(sc->a, "spec:%s/%s", ix->name, fn);
					f->index = ix->name;
					f->size = -1;
					f->requires_python = ix->requires_python ? sv->requires_python : NULL;
					f->yanked = sv->yanked;
					f->yank_reason = sv->yank_reason;
					pr->origins[pr->nfiles] = (struct origin){
						p, sv, w < sv->nwheels ? &sv->wheels[w] : NULL
					};
					pr->nfiles++;
				}
			}
		}
	}
}

static int sc_candidates(void *ctx, const char *name, const struct em_candidate **out,
			 uint32_t *n, struct em_error *e)
{
	struct scenario *sc = ctx;
	struct project *pr = find_project(sc, name);
	if (!pr)
		return em_err(e, EM_ENOTFOUND, NULL, "'%s' is not on the index", name);
	if (!pr->built) {
		int rc = em_candidates_build(sc->a, name, pr->files, pr->nfiles, &sc->target,
					     &sc->tags, &pr->cands, &pr->ncands, e);
		if (rc)
			return rc;
		pr->built = true;
	}
	*out = pr->cands;
	*n = pr->ncands;
	return 0;
}

static int sc_dependencies(void *ctx, const char *name, uint32_t idx, const char *extra,
			   const struct em_dependency **out, uint32_t *n, const char **unusable,
			   struct em_error *e)
{
	struct scenario *sc = ctx;
	struct project *pr = find_project(sc, name);
	const struct em_choice *ch = pr->cands[idx].data;
	const struct origin *o = &pr->origins[ch->file - pr->files];
	struct em_buf md = EM_BUF_INIT;
	int rc = spec_metadata(&sc->spec, o->pkg, o->ver, o->wheel, &md, e);
	if (rc) {
		em_buf_release(&md);
		return rc;
	}
	struct em_dependency *deps;
	rc = em_deps_from_metadata(sc->a, md.ptr, md.len, ch->file->filename, &sc->target, name,
				   pr->cands[idx].version, extra, &deps, n, unusable, e);
	em_buf_release(&md);
	*out = deps;
	return rc;
}

static char *trim_right(char *s)
{
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = '\0';
	return s;
}

static int run_scenario(const char *path, struct tu_report *r)
{
	struct em_arena a;
	em_arena_init(&a);
	struct scenario sc;
	memset(&sc, 0, sizeof sc);
	sc.a = &a;
	struct em_error e = { 0 };
	int failed = 0;
	if (spec_load(&a, path, &sc.spec, &e)) {
		tu_report_fail(r, "%s: %s: %s", path, e.where, e.msg);
		em_arena_release(&a);
		return 1;
	}
	const char *plat = "linux-x86_64", *py = "3.12.10";
	const struct spec_node *tn = spec_find(&sc.spec, "target");
	char **w = NULL;
	size_t *wl, nw = 0;
	if (tn && !spec_words(&a, tn, path, &w, &wl, &nw, &e) && nw == 2) {
		plat = w[0];
		py = w[1];
	}
	if (em_platform_parse(plat, &sc.target.plat, &e) || em_python_parse(py, &sc.target.py, &e) ||
	    em_tags_for_target(&a, &sc.target, &sc.tags, &e)) {
		tu_report_fail(r, "%s: bad target: %s", path, e.msg);
		em_arena_release(&a);
		return 1;
	}
	collect_files(&sc);

	/* the request */
	struct em_root_req reqs[64];
	uint32_t nreqs = 0;
	const struct spec_node *rq = spec_find(&sc.spec, "request");
	for (const struct spec_node *l = rq ? rq->child : NULL; l && nreqs < 64; l = l->next) {
		struct em_requirement req;
		if (em_requirement_parse(&a, l->text, strlen(l->text), &req, &e)) {
			tu_report_fail(r, "%s:%u: %s", path, l->line, e.msg);
			em_arena_release(&a);
			return 1;
		}
		struct em_dependency *d = &reqs[nreqs].dep;
		d->name = em_name_canonical(&a, req.name, strlen(req.name));
		d->nextras = req.nextras;
		const char **ex = em_arena_array(&a, req.nextras + 1, sizeof *ex);
		for (uint32_t k = 0; k < req.nextras; k++)
			ex[k] = em_name_canonical(&a, req.extras[k], strlen(req.extras[k]));
		d->extras = ex;
		struct em_specset *sp = em_arena_alloc(&a, sizeof *sp);
		*sp = req.spec;
		d->spec = sp;
		d->text = em_arena_strdup(&a, l->text);
		reqs[nreqs].where = em_arena_printf(&a, "request:%u", l->line);
		nreqs++;
	}
	struct em_preference prefs[32];
	uint32_t nprefs = 0;
	for (const struct spec_node *p = spec_find(&sc.spec, "prefer"); p && nprefs < 32;
	     p = spec_find_next(p, "prefer")) {
		const char *eq = strstr(p->args, "==");
		if (!eq)
			continue;
		prefs[nprefs].name = em_name_canonical(&a, p->args, (size_t)(eq - p->args));
		prefs[nprefs].version = eq + 2;
		nprefs++;
	}
	const char *allow[16];
	uint32_t nallow = 0;
	for (const struct spec_node *p = spec_find(&sc.spec, "allow-pre"); p && nallow < 16;
	     p = spec_find_next(p, "allow-pre"))
		allow[nallow++] = p->args;
	uint32_t budget = 0;
	const struct spec_node *bn = spec_find(&sc.spec, "budget");
	if (bn)
		budget = (uint32_t)strtoul(bn->args, NULL, 10);

	struct em_resolve_in in = { "scenario", nreqs, reqs, nprefs, prefs, nallow, allow, 0 };
	struct em_provider prov = { &sc, sc_candidates, sc_dependencies };
	struct em_resolution res;
	struct em_buf why = EM_BUF_INIT;
	int rc = em_resolve(&a, &in, &prov, &res, &why, &e);

	const struct spec_node *want_ok = spec_find(&sc.spec, "expect-resolution");
	const struct spec_node *want_err = spec_find(&sc.spec, "expect-error");
	struct em_buf got = EM_BUF_INIT, want = EM_BUF_INIT;
	if (rc == 0) {
		for (uint32_t i = 0; i < res.n; i++)
			em_buf_addf(&got, "%s %s\n", res.pkgs[i].name, res.pkgs[i].cand->version->str);
	} else {
		em_buf_addf(&got, "%s\n%s", e.msg, why.ptr);
	}
	if (want_ok)
		spec_block_text(want_ok, &want);
	else if (want_err)
		spec_block_text(want_err, &want);
	trim_right(got.ptr);
	trim_right(want.ptr);
	if ((want_ok && rc != 0) || (want_err && rc == 0) || strcmp(got.ptr, want.ptr)) {
		tu_report_fail(r, "%s: got (rc %d):\n%s\n--- want:\n%s\n---", path, rc, got.ptr,
			       want.ptr);
		failed = 1;
	}
	if (budget && res.stats.decisions + res.stats.conflicts > budget) {
		tu_report_fail(r, "%s: %u decisions and %u conflicts, budget %u", path,
			       res.stats.decisions, res.stats.conflicts, budget);
		failed = 1;
	}
	em_buf_release(&got);
	em_buf_release(&want);
	em_buf_release(&why);
	em_arena_release(&a);
	return failed;
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

static void test_scenarios(void **state)
{
	(void)state;
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/tests/resolver", EM_SRCDIR);
	DIR *d = opendir(dir);
	assert_non_null(d);
	char *names[512];
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)) && n < 512) {
		size_t l = strlen(de->d_name);
		if (l > 5 && !strcmp(de->d_name + l - 5, ".test"))
			names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof *names, cmp_str);
	assert_true(n >= 10);
	struct tu_report r;
	tu_report_init(&r, "resolver scenario", 50);
	const char *only = getenv("SCENARIO");
	for (size_t i = 0; i < n; i++) {
		if (!only || strstr(names[i], only)) {
			char path[8192];
			snprintf(path, sizeof path, "%s/%s", dir, names[i]);
			r.total++;
			run_scenario(path, &r);
		}
		free(names[i]);
	}
	tu_report_done(&r);
}

/* ---- the oracle: random small registries against brute force ---- */

#define OR_PKGS 5
#define OR_VERS 4
#define OR_DEPS 2

struct or_dep {
	int pkg, lo, hi; /* needs pkg at a version in [lo, hi) (1-based numbers) */
};

struct or_reg {
	int nvers[OR_PKGS];
	int ndeps[OR_PKGS][OR_VERS];
	struct or_dep deps[OR_PKGS][OR_VERS][OR_DEPS];
	int nroot;
	struct or_dep root[2];
	/* what the provider hands out */
	struct em_arena *a;
	struct em_candidate cands[OR_PKGS][OR_VERS];
	struct em_dependency edeps[OR_PKGS][OR_VERS][OR_DEPS];
};

static uint32_t or_rand(uint32_t *state)
{
	*state = *state * 1103515245u + 12345u;
	return (*state >> 16) & 0x7fff;
}

static const char *or_name(int i)
{
	static const char *const names[] = { "p0", "p1", "p2", "p3", "p4" };
	return names[i];
}

static struct em_specset *or_spec(struct em_arena *a, int lo, int hi)
{
	char text[64];
	snprintf(text, sizeof text, ">=%d,<%d", lo, hi);
	struct em_specset *sp = em_arena_alloc(a, sizeof *sp);
	if (em_specset_parse(a, text, strlen(text), sp, NULL))
		return NULL;
	return sp;
}

static int or_candidates(void *ctx, const char *name, const struct em_candidate **out,
			 uint32_t *n, struct em_error *e)
{
	struct or_reg *r = ctx;
	(void)e;
	int p = name[1] - '0';
	*out = r->cands[p];
	*n = (uint32_t)r->nvers[p];
	return 0;
}

static int or_dependencies(void *ctx, const char *name, uint32_t idx, const char *extra,
			   const struct em_dependency **out, uint32_t *n, const char **unusable,
			   struct em_error *e)
{
	struct or_reg *r = ctx;
	(void)extra;
	(void)unusable;
	(void)e;
	int p = name[1] - '0';
	*out = r->edeps[p][idx];
	*n = (uint32_t)r->ndeps[p][idx];
	return 0;
}

/* sel[p] = 0 (not selected) or a version number 1..nvers */
static bool or_valid(const struct or_reg *r, const int *sel)
{
	for (int i = 0; i < r->nroot; i++) {
		const struct or_dep *d = &r->root[i];
		if (sel[d->pkg] < d->lo || sel[d->pkg] >= d->hi)
			return false;
	}
	for (int p = 0; p < OR_PKGS; p++) {
		if (!sel[p])
			continue;
		int v = sel[p] - 1;
		for (int k = 0; k < r->ndeps[p][v]; k++) {
			const struct or_dep *d = &r->deps[p][v][k];
			if (sel[d->pkg] < d->lo || sel[d->pkg] >= d->hi)
				return false;
		}
	}
	return true;
}

static bool or_brute(const struct or_reg *r)
{
	int sel[OR_PKGS] = { 0 };
	for (;;) {
		if (or_valid(r, sel))
			return true;
		int p = 0;
		while (p < OR_PKGS && ++sel[p] > r->nvers[p])
			sel[p++] = 0;
		if (p == OR_PKGS)
			return false;
	}
}

static void test_oracle(void **state)
{
	(void)state;
	uint32_t seed = 20261126;
	struct tu_report rep;
	tu_report_init(&rep, "resolver oracle", 10);
	unsigned solvable = 0;
	for (int round = 0; round < 20000; round++) {
		struct em_arena a;
		em_arena_init(&a);
		struct or_reg *r = calloc(1, sizeof *r);
		r->a = &a;
		for (int p = 0; p < OR_PKGS; p++) {
			r->nvers[p] = 1 + (int)(or_rand(&seed) % OR_VERS);
			for (int v = 0; v < r->nvers[p]; v++) {
				struct em_version *ver = em_arena_alloc(&a, sizeof *ver);
				char t[16];
				snprintf(t, sizeof t, "%d", v + 1);
				assert_int_equal(em_version_parse(&a, t, strlen(t), ver, NULL), 0);
				r->cands[p][v].version = ver;
				r->ndeps[p][v] = (int)(or_rand(&seed) % (OR_DEPS + 1));
				for (int k = 0; k < r->ndeps[p][v]; k++) {
					struct or_dep *d = &r->deps[p][v][k];
					d->pkg = (int)(or_rand(&seed) % OR_PKGS);
					d->lo = 1 + (int)(or_rand(&seed) % OR_VERS);
					d->hi = d->lo + 1 + (int)(or_rand(&seed) % 3);
					struct em_dependency *ed = &r->edeps[p][v][k];
					ed->name = or_name(d->pkg);
					ed->spec = or_spec(&a, d->lo, d->hi);
					ed->text = em_arena_printf(&a, "%s>=%d,<%d", ed->name, d->lo, d->hi);
				}
			}
		}
		r->nroot = 1 + (int)(or_rand(&seed) % 2);
		struct em_root_req roots[2];
		for (int i = 0; i < r->nroot; i++) {
			struct or_dep *d = &r->root[i];
			d->pkg = i == 0 ? 0 : 1 + (int)(or_rand(&seed) % (OR_PKGS - 1));
			d->lo = 1 + (int)(or_rand(&seed) % 2);
			d->hi = d->lo + 1 + (int)(or_rand(&seed) % OR_VERS);
			memset(&roots[i], 0, sizeof roots[i]);
			roots[i].dep.name = or_name(d->pkg);
			roots[i].dep.spec = or_spec(&a, d->lo, d->hi);
			roots[i].dep.text = "root";
			roots[i].where = "oracle";
		}
		struct em_resolve_in in = { "oracle", (uint32_t)r->nroot, roots, 0, NULL, 0, NULL, 0 };
		struct em_provider prov = { r, or_candidates, or_dependencies };
		struct em_resolution res;
		struct em_buf why = EM_BUF_INIT;
		struct em_error e = { 0 };
		int rc = em_resolve(&a, &in, &prov, &res, &why, &e);
		bool want = or_brute(r);
		solvable += want;
		rep.total++;
		if (rc != 0 && rc != EM_ECONFLICT) {
			tu_report_fail(&rep, "round %d: error %d: %s", round, rc, e.msg);
		} else if ((rc == 0) != want) {
			tu_report_fail(&rep, "round %d: resolver says %s, brute force says %s (%s)",
				       round, rc ? "no solution" : "solved", want ? "solvable" : "not",
				       rc ? why.ptr : "");
		} else if (rc == 0) {
			int sel[OR_PKGS] = { 0 };
			for (uint32_t i = 0; i < res.n; i++)
				sel[res.pkgs[i].name[1] - '0'] = (int)res.pkgs[i].idx + 1;
			if (!or_valid(r, sel))
				tu_report_fail(&rep, "round %d: the resolution breaks a requirement", round);
		}
		em_buf_release(&why);
		free(r);
		em_arena_release(&a);
	}
	/* the generator must give both kinds */
	assert_true(solvable > 2000 && solvable < 18000);
	tu_report_done(&rep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scenarios),
		cmocka_unit_test(test_oracle),
	};
	return cmocka_run_group_tests_name("resolve", tests, NULL, NULL);
}
