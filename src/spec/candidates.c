/* candidates.c - a project's files and METADATA, seen from one target */
#include "spec/candidates.h"
#include "util/buf.h"
#include "spec/metadata.h"
#include "spec/name.h"
#include "spec/pep508.h"
#include "util/str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- the torch family ---- */

/* What download.pytorch.org's variant indexes serve, as uv routes them
 * (astral-sh/uv crates/uv-torch), sorted for bsearch. */
static const char *const torch_family[] = {
	"fbgemm-gpu",        "fbgemm-gpu-genai", "pytorch-triton", "pytorch-triton-rocm",
	"pytorch-triton-xpu", "torch",           "torch-tensorrt", "torchao",
	"torcharrow",        "torchaudio",       "torchcodec",     "torchcsprng",
	"torchdistx",        "torchrec",         "torchserve",     "torchtext",
	"torchtune",         "torchvision",      "triton",         "triton-rocm",
	"triton-xpu",        "xformers",
};

static int cmp_name(const void *key, const void *elem)
{
	return strcmp(key, *(const char *const *)elem);
}

bool em_is_torch_family(const char *name)
{
	return bsearch(name, torch_family, sizeof torch_family / sizeof torch_family[0],
		       sizeof torch_family[0], cmp_name) != NULL;
}

/* ---- files to candidates ---- */

struct entry {
	const struct em_dist_file *file;
	struct em_version version;
	bool wheel;
	struct em_wheel_name wn;
	uint32_t order;
};

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && !strcmp(s + n - m, suffix);
}

/* "name-1.0.tar.gz": the version of an sdist of project name, or false. */
static bool sdist_version(struct em_arena *a, const char *fn, const char *name,
			  struct em_version *v)
{
	static const char *const exts[] = { ".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar.xz", ".tar" };
	size_t len = strlen(fn);
	size_t stem = 0;
	for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++)
		if (ends_with(fn, exts[i])) {
			stem = len - strlen(exts[i]);
			break;
		}
	if (!stem)
		return false;
	/* the version starts after a '-' whose prefix is the project's name */
	for (size_t i = stem; i-- > 0;) {
		if (fn[i] != '-')
			continue;
		if (em_name_eq(fn, i, name, strlen(name)))
			return !em_version_parse(a, fn + i + 1, stem - i - 1, v, NULL);
	}
	return false;
}

static int cmp_entry(const void *x, const void *y)
{
	const struct entry *a = x, *b = y;
	int r = em_version_cmp(&a->version, &b->version);
	if (r)
		return r;
	return (a->order > b->order) - (a->order < b->order);
}

static bool python_ok(struct em_arena *a, const char *requires_python, const char *pyver)
{
	if (!requires_python || !*requires_python)
		return true;
	struct em_arena_mark m = em_arena_mark(a);
	struct em_specset set;
	bool ok = true;
	/* an invalid Requires-Python is ignored, as pip does */
	if (!em_specset_parse(a, requires_python, strlen(requires_python), &set, NULL))
		ok = em_specset_contains_str(&set, pyver, strlen(pyver), EM_PRE_ALLOW);
	em_arena_rewind(a, m);
	return ok;
}

static bool in_list(const char **list, uint32_t n, const char *s)
{
	for (uint32_t i = 0; i < n; i++)
		if (!strcmp(list[i], s))
			return true;
	return false;
}

/* "no wheel for Python 3.14 on win_amd64; wheels exist for cp310-cp310,
 * cp311-cp311" or "no wheel for win_amd64; wheels exist for ...". */
static const char *no_wheel_reason(struct em_arena *a, const struct entry *group, uint32_t n,
				   const struct em_target *t, const char **plats, size_t nplats)
{
	const char *pyabi[16], *other[16];
	uint32_t npa = 0, nother = 0;
	bool more = false;
	for (uint32_t i = 0; i < n; i++) {
		if (!group[i].wheel)
			continue;
		const struct em_wheel_name *w = &group[i].wn;
		bool plat_ok = false;
		for (uint32_t k = 0; k < w->nplat && !plat_ok; k++)
			for (size_t j = 0; j < nplats && !plat_ok; j++)
				plat_ok = !strcmp(w->plat[k], plats[j]) || !strcmp(w->plat[k], "any");
		for (uint32_t pi = 0; pi < w->npy; pi++) {
			char buf[160];
			if (plat_ok)
				snprintf(buf, sizeof buf, "%s-%s", w->py[pi], w->abi[0]);
			else
				snprintf(buf, sizeof buf, "%s", w->plat[0]);
			const char **list = plat_ok ? pyabi : other;
			uint32_t *cnt = plat_ok ? &npa : &nother;
			if (in_list(list, *cnt, buf))
				continue;
			const char *kept = *cnt < 16 ? em_arena_strdup(a, buf) : NULL;
			if (!kept) {
				more = true; /* 16 named already, or out of memory */
				continue;
			}
			list[(*cnt)++] = kept;
		}
	}
	struct em_buf b = EM_BUF_INIT;
	char py[48], plat[64];
	/* the counts are not needed: the longest names, 46 and 40 bytes, fit */
	(void)em_python_name(&t->py, py, sizeof py);
	(void)em_platform_name(&t->plat, plat, sizeof plat);
	if (npa) {
		em_buf_addf(&b, "no wheel for Python %s on %s; wheels exist for ", py, plat);
		for (uint32_t i = 0; i < npa; i++)
			em_buf_addf(&b, "%s%s", i ? ", " : "", pyabi[i]);
	} else {
		em_buf_addf(&b, "no wheel for %s; wheels exist for ", plat);
		for (uint32_t i = 0; i < nother; i++)
			em_buf_addf(&b, "%s%s", i ? ", " : "", other[i]);
	}
	if (more)
		em_buf_addstr(&b, " and more");
	const char *r = b.err ? "no compatible wheel" : em_arena_strdup(a, b.ptr);
	em_buf_release(&b);
	return r;
}

int em_candidates_build(struct em_arena *a, const char *name, const struct em_dist_file *files,
			uint32_t nfiles, const struct em_target *t, const struct em_tagset *tags,
			struct em_candidate **out, uint32_t *n, struct em_error *e)
{
	static const struct em_dist_policy wheels_only = { false, false, NULL };
	return em_candidates_build_policy(a, name, files, nfiles, t, tags, &wheels_only, out, n, e);
}

/* The version's sdist to use: non-yanked first, .tar.gz first, else the
 * first listed. */
static const struct entry *pick_sdist(struct em_arena *a, const struct entry *g, uint32_t n,
				      const char *pyver)
{
	const struct entry *best = NULL;
	int best_score = -1;
	for (uint32_t k = 0; k < n; k++) {
		if (g[k].wheel || !python_ok(a, g[k].file->requires_python, pyver))
			continue;
		int score = (g[k].file->yanked ? 0 : 2) + (ends_with(g[k].file->filename, ".tar.gz") ? 1 : 0);
		if (score > best_score) {
			best = &g[k];
			best_score = score;
		}
	}
	return best;
}

/* What is fixed while one project's versions are looked at. */
struct ctx {
	struct em_arena *a;
	const struct em_target *t;
	const struct em_tagset *tags;
	const struct em_dist_policy *pol;
	const char **plats; /* the target's platform tags */
	size_t nplats;
	char pyver[48];     /* the target's Python, for Requires-Python */
};

/* What the files of one version offer the target. */
struct offer {
	const struct entry *best;        /* the best-ranked usable wheel */
	const struct entry *best_yanked; /* the same among yanked wheels */
	const struct entry *sdist;       /* pick_sdist's choice */
	const char *py_excluded;         /* the Requires-Python that rules out
					  * every file of the version, or NULL */
	bool has_wheel;
};

/* The files of project name that are wheels or sdists of it, with their
 * versions, sorted by version (files of a version in their given order).
 * Returns how many; ents has room for nfiles. */
static uint32_t collect_entries(struct em_arena *a, const char *name,
				const struct em_dist_file *files, uint32_t nfiles, struct entry *ents)
{
	uint32_t ne = 0;
	for (uint32_t i = 0; i < nfiles; i++) {
		const struct em_dist_file *f = &files[i];
		struct entry *x = &ents[ne];
		x->file = f;
		x->order = i;
		if (ends_with(f->filename, ".whl")) {
			if (em_wheel_name_parse(a, f->filename, strlen(f->filename), &x->wn, NULL))
				continue;
			if (strcmp(x->wn.name, name))
				continue;
			x->version = x->wn.version;
			x->wheel = true;
		} else if (!sdist_version(a, f->filename, name, &x->version)) {
			continue;
		}
		ne++;
	}
	qsort(ents, ne, sizeof *ents, cmp_entry);
	return ne;
}

/* Weigh the n files of one version, g. */
static void weigh_files(struct ctx *c, const struct entry *g, uint32_t n, struct offer *o)
{
	struct em_arena *a = c->a;
	const struct entry *best = NULL, *best_yanked = NULL;
	const char *py_excluded = NULL;
	bool has_wheel = false;
	/* Requires-Python first: when it rules out every file of the
	 * version, that is the reason to give, whatever the tags say */
	bool all_py_excluded = true;
	for (uint32_t k = 0; k < n && all_py_excluded; k++) {
		if (python_ok(a, g[k].file->requires_python, c->pyver))
			all_py_excluded = false;
		else
			py_excluded = g[k].file->requires_python;
	}
	if (!all_py_excluded)
		py_excluded = NULL;
	for (uint32_t k = 0; k < n && !all_py_excluded; k++) {
		const struct entry *x = &g[k];
		if (!x->wheel)
			continue;
		has_wheel = true;
		long r = em_wheel_rank(c->tags, &x->wn, NULL);
		if (r < 0)
			continue;
		if (!python_ok(a, x->file->requires_python, c->pyver))
			continue;
		const struct entry **slot = x->file->yanked ? &best_yanked : &best;
		if (!*slot || r < em_wheel_rank(c->tags, &(*slot)->wn, NULL))
			*slot = x;
	}
	o->best = best;
	o->best_yanked = best_yanked;
	o->sdist = all_py_excluded ? NULL : pick_sdist(a, g, n, c->pyver);
	o->py_excluded = py_excluded;
	o->has_wheel = has_wheel;
}

/* cd uses file x: a wheel, ranked among the target's tags, or an sdist
 * (rank -1). */
static int choose(struct ctx *c, struct em_candidate *cd, const struct entry *x)
{
	struct em_choice *ch = em_arena_zalloc(c->a, sizeof *ch);
	struct em_version *v = em_arena_alloc(c->a, sizeof *v);
	if (!ch || !v)
		return EM_ENOMEM;
	*v = x->version;
	cd->version = v;
	ch->file = x->file;
	if (x->wheel) {
		ch->wheel = x->wn;
		ch->rank = em_wheel_rank(c->tags, &x->wn, NULL);
	} else {
		ch->rank = -1;
		ch->sdist = true;
	}
	cd->data = ch;
	if (x->file->yanked) {
		cd->yanked = true;
		cd->yank_reason = x->file->yank_reason;
	}
	return 0;
}

/* cd cannot be used: say why. */
static int refuse(struct ctx *c, struct em_candidate *cd, const struct entry *g, uint32_t n,
		  const struct offer *o)
{
	struct em_arena *a = c->a;
	const struct em_dist_policy *pol = c->pol;
	const struct entry *sd = o->sdist;
	struct em_version *v = em_arena_alloc(a, sizeof *v);
	if (!v)
		return EM_ENOMEM;
	*v = g[0].version;
	cd->version = v;
	if (o->py_excluded)
		cd->unusable = em_arena_printf(a, "it requires Python %s", o->py_excluded);
	else if (pol->sdist_first && !sd)
		cd->unusable = em_arena_printf(a, "%s refuses its wheels, and it has no "
					       "source distribution", pol->why);
	else if (o->has_wheel && sd && pol->why)
		cd->unusable = em_arena_printf(
			a, "%s; its source distribution is refused by %s",
			no_wheel_reason(a, g, n, c->t, c->plats, c->nplats), pol->why);
	else if (o->has_wheel)
		cd->unusable = no_wheel_reason(a, g, n, c->t, c->plats, c->nplats);
	else if (pol->why)
		cd->unusable = em_arena_printf(a, "it has only a source distribution, "
					       "which %s refuses to build", pol->why);
	else
		cd->unusable = "it has only a source distribution, and envmatrix installs wheels only";
	return cd->unusable ? 0 : EM_ENOMEM;
}

/* The candidate for the version whose files are g[0..n). */
static int make_candidate(struct ctx *c, struct em_candidate *cd, const struct entry *g,
			  uint32_t n)
{
	const struct em_dist_policy *pol = c->pol;
	struct offer o;
	weigh_files(c, g, n, &o);
	memset(cd, 0, sizeof *cd);
	cd->version = &g[0].version;
	const struct entry *pick = o.best ? o.best : o.best_yanked;
	const struct entry *sd = o.sdist;
	bool use_sdist = false;
	if (sd && pol->sdist_first)
		use_sdist = true;
	else if (sd && pol->sdist_ok && (!pick || (!o.best && !sd->file->yanked)))
		use_sdist = true;
	if (pol->sdist_first && !sd)
		pick = NULL;
	if (use_sdist)
		return choose(c, cd, sd);
	if (pick)
		return choose(c, cd, pick);
	return refuse(c, cd, g, n, &o);
}

int em_candidates_build_policy(struct em_arena *a, const char *name,
			       const struct em_dist_file *files, uint32_t nfiles,
			       const struct em_target *t, const struct em_tagset *tags,
			       const struct em_dist_policy *pol, struct em_candidate **out,
			       uint32_t *n, struct em_error *e)
{
	*out = NULL;
	*n = 0;
	struct entry *ents = calloc(nfiles ? nfiles : 1, sizeof *ents);
	if (!ents)
		return em_err_nomem(e);
	uint32_t ne = collect_entries(a, name, files, nfiles, ents);

	struct ctx c = { .a = a, .t = t, .tags = tags, .pol = pol };
	int rc = em_platform_tags(a, &t->plat, &c.plats, &c.nplats, e);
	if (rc) {
		free(ents);
		return rc;
	}
	snprintf(c.pyver, sizeof c.pyver, "%u.%u.%u%s", t->py.major, t->py.minor,
		 t->py.has_micro ? t->py.micro : 0, t->py.has_micro ? t->py.pre : "");

	struct em_candidate *cands = em_arena_array(a, ne ? ne : 1, sizeof *cands);
	if (!cands) {
		free(ents);
		return em_err_nomem(e);
	}
	uint32_t nc = 0;
	for (uint32_t i = 0; i < ne;) {
		uint32_t j = i + 1;
		while (j < ne && em_version_cmp(&ents[j].version, &ents[i].version) == 0)
			j++;
		if (make_candidate(&c, &cands[nc++], ents + i, j - i)) {
			free(ents);
			return em_err_nomem(e);
		}
		i = j;
	}
	free(ents);
	*out = cands;
	*n = nc;
	return 0;
}

/* ---- static sdist metadata (PEP 643) ---- */

int em_metadata_static(struct em_arena *a, const char *buf, size_t len, const char *where,
		       bool trust_old, bool *is_static, const char **why, struct em_error *e)
{
	static const char *const needed[] = { "Requires-Dist", "Requires-Python", "Provides-Extra" };
	*is_static = false;
	*why = NULL;
	struct em_metadata md;
	int rc = em_metadata_parse(a, buf, len, where, &md, e);
	if (rc)
		return rc;
	if (!trust_old &&
	    (md.metadata_major < 2 || (md.metadata_major == 2 && md.metadata_minor < 2))) {
		*why = em_arena_printf(a, "its Metadata-Version %s is older than 2.2, so nothing "
				       "in it is known to be static", md.metadata_version);
		return *why ? 0 : em_err_nomem(e);
	}
	for (uint32_t i = 0; i < md.ndynamic; i++)
		for (size_t k = 0; k < sizeof needed / sizeof needed[0]; k++)
			if (!strcasecmp(md.dynamic[i], needed[k])) {
				*why = em_arena_printf(a, "its metadata lists %s as Dynamic", needed[k]);
				return *why ? 0 : em_err_nomem(e);
			}
	*is_static = true;
	return 0;
}

/* ---- METADATA to dependencies ---- */

static int applies(const struct em_requirement *r, const struct em_marker_env *env,
		   const char *extra, bool *yes, const char *where, struct em_error *e)
{
	int rc = em_requirement_applies(r, env, extra, yes, e);
	if (rc)
		em_err_prefix_where(e, "%s", where);
	return rc;
}

int em_deps_from_metadata(struct em_arena *a, const char *buf, size_t len, const char *where,
			  const struct em_target *t, const char *name,
			  const struct em_version *version, const char *extra,
			  struct em_dependency **out, uint32_t *n, const char **unusable,
			  struct em_error *e)
{
	*out = NULL;
	*n = 0;
	*unusable = NULL;
	struct em_metadata md;
	int rc = em_metadata_parse(a, buf, len, where, &md, e);
	if (rc)
		return rc;
	if (!em_name_eq(md.name, strlen(md.name), name, strlen(name)))
		return em_err(e, EM_EINVAL, where, "the metadata is for '%s', not '%s'", md.name, name);
	struct em_version mv;
	if (em_version_parse(a, md.version, strlen(md.version), &mv, NULL) ||
	    em_version_cmp_public(&mv, version) != 0)
		return em_err(e, EM_EINVAL, where, "the metadata is for %s %s, not %s", md.name,
			      md.version, version->str);
	char pyver[48];
	snprintf(pyver, sizeof pyver, "%u.%u.%u%s", t->py.major, t->py.minor,
		 t->py.has_micro ? t->py.micro : 0, t->py.has_micro ? t->py.pre : "");
	if (!python_ok(a, md.requires_python, pyver)) {
		*unusable = em_arena_printf(a, "it requires Python %s", md.requires_python);
		return *unusable ? 0 : em_err_nomem(e);
	}
	struct em_target_env tenv;
	em_target_marker_env(t, &tenv);
	const char *extra_norm = NULL;
	if (extra && !(extra_norm = em_name_canonical(a, extra, strlen(extra))))
		return em_err_nomem(e);

	struct em_dependency *deps = em_arena_array(a, md.nrequires_dist ? md.nrequires_dist : 1,
						    sizeof *deps);
	if (!deps)
		return em_err_nomem(e);
	uint32_t nd = 0;
	for (uint32_t i = 0; i < md.nrequires_dist; i++) {
		char place[EM_ERROR_WHERE_MAX];
		snprintf(place, sizeof place, "%s:%u", where, (unsigned)md.requires_dist_line[i]);
		const char *text = md.requires_dist[i];
		struct em_requirement r;
		rc = em_requirement_parse(a, text, strlen(text), &r, e);
		if (rc) {
			em_err_prefix_where(e, "%s", place);
			return rc;
		}
		bool with = false, without = false;
		rc = applies(&r, &tenv.env, extra_norm, &with, place, e);
		if (rc)
			return rc;
		if (!with)
			continue;
		if (extra) {
			rc = applies(&r, &tenv.env, NULL, &without, place, e);
			if (rc)
				return rc;
			if (without)
				continue; /* the base project has it already */
		}
		if (r.url) {
			*unusable = em_arena_printf(a, "it depends on '%s', a direct URL, which an "
						       "index package may not do", text);
			return *unusable ? 0 : em_err_nomem(e);
		}
		struct em_dependency *d = &deps[nd++];
		d->name = em_name_canonical(a, r.name, strlen(r.name));
		d->nextras = r.nextras;
		const char **ex = em_arena_array(a, r.nextras ? r.nextras : 1, sizeof *ex);
		if (!d->name || !ex)
			return em_err_nomem(e);
		for (uint32_t k = 0; k < r.nextras; k++) {
			ex[k] = em_name_canonical(a, r.extras[k], strlen(r.extras[k]));
			if (!ex[k])
				return em_err_nomem(e);
		}
		d->extras = ex;
		struct em_specset *spec = em_arena_alloc(a, sizeof *spec);
		if (!spec)
			return em_err_nomem(e);
		*spec = r.spec;
		d->spec = spec;
		/* the requirement without its marker, for explanations */
		struct em_buf tb = EM_BUF_INIT;
		em_buf_addstr(&tb, r.name);
		for (uint32_t k = 0; k < r.nextras; k++)
			em_buf_addf(&tb, "%s%s", k ? "," : "[", r.extras[k]);
		if (r.nextras)
			em_buf_addc(&tb, ']');
		em_specset_format(&r.spec, &tb);
		d->text = tb.err ? NULL : em_arena_strdup(a, tb.ptr);
		em_buf_release(&tb);
		if (!d->text)
			return em_err_nomem(e);
	}
	*out = deps;
	*n = nd;
	return 0;
}
