/* resolve.c - PubGrub: conflict-driven version solving with explanations
 *
 * The algorithm is the one pub documents (doc/solver.md in dart-lang/pub):
 * unit propagation over incompatibilities, decisions, and conflict
 * resolution that learns a new incompatibility and backjumps. Sets of
 * versions are sets of indices into a project's sorted candidate array,
 * stored as sorted half-open intervals, so every PEP 440 subtlety (local
 * labels, wildcards, pre-releases) stays inside em_spec_match() and set
 * operations are linear merges.
 *
 * Vocabulary:
 *   term            "p is selected at a version in S" (positive) or "p is
 *                   not selected at a version in S" (negative)
 *   incompatibility terms that must not all hold at once
 *   assignment      a decision (p = v) or a derivation (a term forced by an
 *                   incompatibility), with the decision level it was made at
 *
 * Extras are virtual projects "p[x]" that share p's candidates: p[x] at v
 * depends on p at exactly v plus the lines of p's METADATA that apply with
 * the extra active.
 *
 * The state is declared in resolve_int.h; when there is no solution,
 * resolve_explain.c tells why.
 */
#include "spec/resolve_int.h"
#include "spec/name.h"
#include "util/grow.h"
#include "util/str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_STEPS 200000u

/* ---- version sets (struct vset: resolve_int.h) ---- */

static uint32_t *scratch_iv(struct solver *s, uint32_t n);

static struct vset vs_make(struct solver *s, const uint32_t *iv, uint32_t n)
{
	struct vset v = { 0, NULL };
	if (!n)
		return v;
	uint32_t *m = scratch_iv(s, n);
	if (!m)
		return v;
	memcpy(m, iv, 2 * n * sizeof *m);
	v.n = n;
	v.iv = m;
	return v;
}

static struct vset vs_range(struct solver *s, uint32_t lo, uint32_t hi)
{
	uint32_t iv[2] = { lo, hi };
	return lo < hi ? vs_make(s, iv, 1) : (struct vset){ 0, NULL };
}

static bool vs_contains(struct vset a, uint32_t i)
{
	for (uint32_t k = 0; k < a.n; k++)
		if (i >= a.iv[2 * k] && i < a.iv[2 * k + 1])
			return true;
	return false;
}

/* Combine a and b point by point with op (0 and, 1 or, 2 a-and-not-b),
 * walking the boundaries of both in order. */
static struct vset vs_combine(struct solver *s, struct vset a, struct vset b, int op)
{
	uint32_t cap = 2 * (a.n + b.n) + 2;
	uint32_t *out = malloc(cap * sizeof *out);
	if (!out)
		return (struct vset){ 0, NULL };
	uint32_t n = 0, ia = 0, ib = 0, na = 2 * a.n, nb = 2 * b.n;
	bool ina = false, inb = false, in = false;
	while (ia < na || ib < nb) {
		uint32_t xa = ia < na ? a.iv[ia] : UINT32_MAX;
		uint32_t xb = ib < nb ? b.iv[ib] : UINT32_MAX;
		uint32_t x = xa < xb ? xa : xb;
		if (xa == x) {
			ina = !ina;
			ia++;
		}
		if (xb == x) {
			inb = !inb;
			ib++;
		}
		bool now = op == 0 ? (ina && inb) : op == 1 ? (ina || inb) : (ina && !inb);
		if (now != in) {
			out[n++] = x;
			in = now;
		}
	}
	struct vset r = vs_make(s, out, n / 2);
	free(out);
	return r;
}

static struct vset vs_intersect(struct solver *s, struct vset a, struct vset b)
{
	return vs_combine(s, a, b, 0);
}

static struct vset vs_union(struct solver *s, struct vset a, struct vset b)
{
	return vs_combine(s, a, b, 1);
}

static struct vset vs_minus(struct solver *s, struct vset a, struct vset b)
{
	return vs_combine(s, a, b, 2);
}

static bool vs_subset(struct solver *s, struct vset a, struct vset b)
{
	return vs_empty(vs_minus(s, a, b));
}

bool em_rs_disjoint(struct solver *s, struct vset a, struct vset b)
{
	return vs_empty(vs_intersect(s, a, b));
}

static bool vs_equal(struct vset a, struct vset b)
{
	return a.n == b.n && (!a.n || !memcmp(a.iv, b.iv, 2 * a.n * sizeof *a.iv));
}

static uint32_t *scratch_iv(struct solver *s, uint32_t n)
{
	uint32_t *p = em_arena_array(&s->work, 2 * (size_t)n, sizeof *p);
	if (!p)
		s->oom = 1;
	return p;
}

/* ---- packages ---- */

static uint32_t hash_key(const char *name, const char *extra)
{
	uint32_t h = 2166136261u;
	for (const char *c = name; *c; c++)
		h = (h ^ (uint8_t)*c) * 16777619u;
	h = (h ^ '[') * 16777619u;
	if (extra)
		for (const char *c = extra; *c; c++)
			h = (h ^ (uint8_t)*c) * 16777619u;
	return h;
}

static bool same_key(const struct pkg *p, const char *name, const char *extra)
{
	if (strcmp(p->name, name))
		return false;
	if (!p->extra || !extra)
		return !p->extra && !extra;
	return !strcmp(p->extra, extra);
}

static int rehash(struct solver *s)
{
	uint32_t ncap = s->hcap ? s->hcap * 2 : 256;
	uint32_t *t = calloc(ncap, sizeof *t);
	if (!t)
		return -1;
	for (uint32_t i = 0; i < s->npkgs; i++) {
		uint32_t j = hash_key(s->pkgs[i].name, s->pkgs[i].extra) & (ncap - 1);
		while (t[j])
			j = (j + 1) & (ncap - 1);
		t[j] = i + 1;
	}
	free(s->htab);
	s->htab = t;
	s->hcap = ncap;
	return 0;
}

static int32_t find_pkg(struct solver *s, const char *name, const char *extra)
{
	if (!s->hcap)
		return -1;
	uint32_t j = hash_key(name, extra) & (s->hcap - 1);
	while (s->htab[j]) {
		if (same_key(&s->pkgs[s->htab[j] - 1], name, extra))
			return (int32_t)s->htab[j] - 1;
		j = (j + 1) & (s->hcap - 1);
	}
	return -1;
}

/* The id of name[extra], created in discovery order when new. */
static int32_t intern_pkg(struct solver *s, const char *name, const char *extra)
{
	int32_t id = find_pkg(s, name, extra);
	if (id >= 0)
		return id;
	if (extra) {
		int32_t base = intern_pkg(s, name, NULL);
		if (base < 0)
			return -1;
	}
	if (em_grow(&s->pkgs, &s->cappkgs, s->npkgs, sizeof *s->pkgs))
		return -1;
	if ((s->npkgs + 1) * 2 > s->hcap && rehash(s))
		return -1;
	struct pkg *p = &s->pkgs[s->npkgs];
	memset(p, 0, sizeof *p);
	p->name = em_arena_strdup(&s->work, name);
	p->extra = extra ? em_arena_strdup(&s->work, extra) : NULL;
	if (!p->name || (extra && !p->extra))
		return -1;
	p->base = extra ? (uint32_t)find_pkg(s, name, NULL) : s->npkgs;
	p->last = p->decision = p->pref = p->culprit = -1;
	uint32_t j = hash_key(name, extra) & (s->hcap - 1);
	while (s->htab[j])
		j = (j + 1) & (s->hcap - 1);
	s->htab[j] = s->npkgs + 1;
	s->st.projects += !extra;
	return (int32_t)s->npkgs++;
}

/* ---- usability: the provider's reasons plus pre-release and yank policy ---- */

static bool root_names_prerelease(struct solver *s, const char *name)
{
	for (uint32_t i = 0; i < s->in->nreqs; i++) {
		const struct em_dependency *d = &s->in->reqs[i].dep;
		if (!strcmp(d->name, name) && d->spec && em_specset_names_prerelease(d->spec))
			return true;
	}
	for (uint32_t i = 0; i < s->in->nallow_pre; i++)
		if (!strcmp(s->in->allow_pre[i], "*") || !strcmp(s->in->allow_pre[i], name))
			return true;
	return false;
}

/* A root requirement pins exactly this version (== without wildcard, or ===). */
static bool root_pins(struct solver *s, const char *name, const struct em_version *v)
{
	for (uint32_t i = 0; i < s->in->nreqs; i++) {
		const struct em_dependency *d = &s->in->reqs[i].dep;
		if (strcmp(d->name, name) || !d->spec)
			continue;
		for (uint32_t k = 0; k < d->spec->n; k++) {
			const struct em_spec *sp = &d->spec->specs[k];
			if ((sp->op == EM_OP_EQ && !sp->wildcard) || sp->op == EM_OP_ARBITRARY)
				if (em_spec_match(sp, v))
					return true;
		}
	}
	return false;
}

static int load_pkg(struct solver *s, uint32_t id)
{
	struct pkg *p = &s->pkgs[s->pkgs[id].base];
	if (p->loaded || p->root)
		return 0;
	p->loaded = true;
	s->st.candidate_calls++;
	struct em_error pe;
	em_error_clear(&pe);
	const struct em_candidate *c = NULL;
	uint32_t n = 0;
	int rc = s->p->candidates(s->p->ctx, p->name, &c, &n, &pe);
	if (rc == EM_ENOTFOUND) {
		p->missing = em_arena_strdup(&s->work, pe.msg[0] ? pe.msg : "not found on its index");
		p->n = 0;
		p->why = em_arena_array(&s->work, 1, sizeof *p->why);
		return p->missing && p->why ? 0 : EM_ENOMEM;
	}
	if (rc) {
		if (s->e)
			*s->e = pe;
		return rc;
	}
	p->cands = c;
	p->n = n;
	p->why = em_arena_array(&s->work, n ? n : 1, sizeof *p->why);
	if (!p->why)
		return EM_ENOMEM;
	bool allow_pre = root_names_prerelease(s, p->name);
	bool any_final = false;
	for (uint32_t i = 0; i < n; i++)
		if (!c[i].unusable && !em_version_is_prerelease(c[i].version))
			any_final = true;
	for (uint32_t i = 0; i < n; i++) {
		p->why[i] = c[i].unusable;
		if (p->why[i])
			continue;
		if (em_version_is_prerelease(c[i].version) && any_final && !allow_pre)
			p->why[i] = em_arena_printf(&s->work, "it is a pre-release; to allow it, "
						    "name it in the matrix: %s==%s", p->name,
						    c[i].version->str);
		else if (c[i].yanked && !root_pins(s, p->name, c[i].version))
			p->why[i] = (c[i].yank_reason && *c[i].yank_reason)
					    ? em_arena_printf(&s->work, "it was yanked: %s", c[i].yank_reason)
					    : "it was yanked (pin it with == to use it anyway)";
	}
	for (uint32_t i = 0; i < s->in->nprefs; i++) {
		if (strcmp(s->in->prefs[i].name, p->name))
			continue;
		struct em_arena tmp;
		char mem[1024];
		em_arena_init_buf(&tmp, mem, sizeof mem);
		struct em_version pv;
		const char *t = s->in->prefs[i].version;
		if (!em_version_parse(&tmp, t, strlen(t), &pv, NULL)) {
			for (uint32_t k = n; k-- > 0;)
				if (em_version_cmp(c[k].version, &pv) == 0 &&
				    !strcmp(c[k].version->str, pv.str)) {
					p->pref = (int32_t)k;
					break;
				}
		}
		em_arena_release(&tmp);
	}
	return 0;
}

/* The candidates of dependency d that its specifier allows. */
static struct vset spec_set(struct solver *s, uint32_t id, const struct em_specset *spec)
{
	const struct pkg *b = &s->pkgs[s->pkgs[id].base];
	if (!spec || spec->n == 0)
		return vs_range(s, 0, b->n);
	uint32_t *iv = malloc(((size_t)b->n + 1) * 2 * sizeof *iv);
	if (!iv) {
		s->oom = 1;
		return (struct vset){ 0, NULL };
	}
	uint32_t k = 0;
	bool in = false;
	for (uint32_t i = 0; i < b->n; i++) {
		const struct em_version *v = b->cands[i].version;
		bool m = em_specset_contains(spec, v->str, strlen(v->str), v, EM_PRE_ALLOW);
		if (m != in) {
			iv[k++] = i;
			in = m;
		}
	}
	if (in)
		iv[k++] = b->n;
	struct vset r = vs_make(s, iv, k / 2);
	free(iv);
	return r;
}

/* ---- terms ---- */

enum rel { SATISFIED, CONTRADICTED, INCONCLUSIVE };

/* The accumulated term of a package: what its assignments say so far
 * ("anything", a negative term with the empty set, when none). */
static struct term accum_of(struct solver *s, uint32_t pkg)
{
	int32_t a = s->pkgs[pkg].last;
	if (a < 0)
		return (struct term){ pkg, false, { 0, NULL } };
	return s->as[a].accum;
}

/* Does T imply t (T is a subset of t)? */
static bool term_satisfies(struct solver *s, struct term T, struct term t)
{
	if (T.pos)
		return t.pos ? vs_subset(s, T.set, t.set) : em_rs_disjoint(s, T.set, t.set);
	return t.pos ? false : vs_subset(s, t.set, T.set);
}

/* Are T and t disjoint? */
static bool term_contradicts(struct solver *s, struct term T, struct term t)
{
	if (T.pos)
		return t.pos ? em_rs_disjoint(s, T.set, t.set) : vs_subset(s, T.set, t.set);
	return t.pos ? vs_subset(s, t.set, T.set) : false;
}

static enum rel relation(struct solver *s, struct term T, struct term t)
{
	if (term_satisfies(s, T, t))
		return SATISFIED;
	if (term_contradicts(s, T, t))
		return CONTRADICTED;
	return INCONCLUSIVE;
}

static struct term term_intersect(struct solver *s, struct term a, struct term b)
{
	struct term r = { a.pkg, true, { 0, NULL } };
	if (a.pos && b.pos) {
		r.set = vs_intersect(s, a.set, b.set);
	} else if (a.pos) {
		r.set = vs_minus(s, a.set, b.set);
	} else if (b.pos) {
		r.set = vs_minus(s, b.set, a.set);
	} else {
		r.pos = false;
		r.set = vs_union(s, a.set, b.set);
	}
	return r;
}

static struct term term_negate(struct term t)
{
	t.pos = !t.pos;
	return t;
}

/* ---- incompatibilities ---- */

/* Add an incompatibility; terms for one package are merged (intersected),
 * and always-true terms (not in the empty set) are dropped. */
static int32_t add_inc(struct solver *s, enum inc_kind kind, const struct term *terms,
		       uint32_t n, int32_t c1, int32_t c2, const char *text, const char *where,
		       int32_t dep)
{
	struct term *t = em_arena_array(&s->work, n ? n : 1, sizeof *t);
	if (!t || em_grow(&s->incs, &s->capincs, s->nincs, sizeof *s->incs)) {
		s->oom = 1;
		return -1;
	}
	uint32_t m = 0;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t j = 0;
		while (j < m && t[j].pkg != terms[i].pkg)
			j++;
		if (j < m)
			t[j] = term_intersect(s, t[j], terms[i]);
		else
			t[m++] = terms[i];
	}
	uint32_t k = 0;
	for (uint32_t i = 0; i < m; i++)
		if (t[i].pos || !vs_empty(t[i].set))
			t[k++] = t[i];
	uint32_t id = s->nincs++;
	struct incompat *inc = &s->incs[id];
	inc->kind = kind;
	inc->nterms = k;
	inc->terms = t;
	inc->cause1 = c1;
	inc->cause2 = c2;
	inc->text = text;
	inc->where = where;
	inc->dep = dep;
	for (uint32_t i = 0; i < k; i++) {
		struct pkg *p = &s->pkgs[t[i].pkg];
		if (em_grow(&p->incs, &p->capinc, p->ninc, sizeof *p->incs)) {
			s->oom = 1;
			return -1;
		}
		p->incs[p->ninc++] = id;
	}
	s->st.incompatibilities++;
	return (int32_t)id;
}

/* ---- the partial solution ---- */

static int assign(struct solver *s, struct term t, int32_t cause)
{
	if (em_grow(&s->as, &s->capas, s->nas, sizeof *s->as)) {
		s->oom = 1;
		return -1;
	}
	struct pkg *p = &s->pkgs[t.pkg];
	struct assign *a = &s->as[s->nas];
	a->pkg = t.pkg;
	a->term = t;
	a->accum = p->last >= 0 ? term_intersect(s, s->as[p->last].accum, t) : t;
	a->level = s->level;
	a->cause = cause;
	a->prev = p->last;
	p->last = (int32_t)s->nas;
	if (cause < 0)
		p->decision = (int32_t)s->nas;
	s->nas++;
	return 0;
}

static void backtrack(struct solver *s, uint32_t level)
{
	if (level > s->level)
		level = s->level;
	while (s->nas && s->as[s->nas - 1].level > level) {
		struct assign *a = &s->as[--s->nas];
		struct pkg *p = &s->pkgs[a->pkg];
		p->last = a->prev;
		if (p->decision == (int32_t)s->nas)
			p->decision = -1;
	}
	s->level = level;
	s->st.backjumps++;
}

/* The index of the earliest assignment after which the package's
 * accumulated term satisfies t, or -1. */
static int32_t earliest_satisfier(struct solver *s, struct term t)
{
	int32_t found = -1;
	for (int32_t a = s->pkgs[t.pkg].last; a >= 0; a = s->as[a].prev) {
		if (term_satisfies(s, s->as[a].accum, t))
			found = a;
		else
			break; /* older accumulations are weaker */
	}
	return found;
}

/* ---- propagation and conflict resolution ---- */

enum prop { P_NONE, P_CONFLICT, P_DERIVED };

static enum prop propagate_one(struct solver *s, uint32_t id, uint32_t *derived)
{
	const struct incompat *inc = &s->incs[id];
	int32_t open = -1;
	for (uint32_t i = 0; i < inc->nterms; i++) {
		struct term t = inc->terms[i];
		enum rel r = relation(s, accum_of(s, t.pkg), t);
		if (r == CONTRADICTED)
			return P_NONE;
		if (r == INCONCLUSIVE) {
			if (open >= 0)
				return P_NONE;
			open = (int32_t)i;
		}
	}
	if (open < 0)
		return P_CONFLICT;
	struct term t = inc->terms[open];
	if (assign(s, term_negate(t), (int32_t)id))
		return P_NONE;
	*derived = t.pkg;
	return P_DERIVED;
}

static bool is_failure(struct solver *s, const struct incompat *inc)
{
	return inc->nterms == 0 ||
	       (inc->nterms == 1 && inc->terms[0].pos && s->pkgs[inc->terms[0].pkg].root);
}

/* Returns the learned incompatibility to propagate, or -(id+1) when the
 * incompatibility id proves there is no solution. */
static int64_t resolve_conflict(struct solver *s, uint32_t id)
{
	s->st.conflicts++;
	for (;;) {
		const struct incompat *inc = &s->incs[id];
		if (is_failure(s, inc))
			return -(int64_t)id - 1;
		/* the satisfier: the assignment after which inc holds */
		int32_t sat = -1;
		uint32_t sat_term = 0;
		int32_t earliest[64];
		int32_t *ea = inc->nterms <= 64 ? earliest : malloc(inc->nterms * sizeof *ea);
		if (!ea) {
			s->oom = 1;
			return -1;
		}
		for (uint32_t i = 0; i < inc->nterms; i++) {
			ea[i] = earliest_satisfier(s, inc->terms[i]);
			if (ea[i] > sat) {
				sat = ea[i];
				sat_term = i;
			}
		}
		const struct assign *sa = &s->as[sat];
		struct term tS = inc->terms[sat_term];
		/* the previous satisfier: what else inc needs before sat */
		int32_t prev = -1;
		for (uint32_t i = 0; i < inc->nterms; i++)
			if (i != sat_term && ea[i] > prev)
				prev = ea[i];
		if (ea != earliest)
			free(ea);
		bool alone = term_satisfies(s, sa->term, tS);
		if (!alone) {
			/* the satisfier's own package needs earlier assignments too */
			int32_t j = -1;
			for (int32_t a = sa->prev; a >= 0; a = s->as[a].prev) {
				struct term both = term_intersect(s, s->as[a].accum, sa->term);
				if (term_satisfies(s, both, tS))
					j = a;
				else
					break;
			}
			if (j > prev)
				prev = j;
		}
		/* the root decision is level 1; never backjump past it */
		uint32_t prev_level = prev >= 0 ? s->as[prev].level : (sa->level < 1 ? sa->level : 1);
		if (sa->cause < 0 || prev_level != sa->level) {
			backtrack(s, prev_level);
			return id;
		}
		/* resolve with the satisfier's cause and loop */
		const struct incompat *cause = &s->incs[sa->cause];
		uint32_t cap = inc->nterms + cause->nterms + 1;
		struct term *terms = malloc(cap * sizeof *terms);
		if (!terms) {
			s->oom = 1;
			return -1;
		}
		uint32_t n = 0;
		for (uint32_t i = 0; i < inc->nterms; i++)
			if (inc->terms[i].pkg != tS.pkg)
				terms[n++] = inc->terms[i];
		for (uint32_t i = 0; i < cause->nterms; i++)
			if (cause->terms[i].pkg != tS.pkg)
				terms[n++] = cause->terms[i];
		if (!alone) {
			struct term diff = term_intersect(s, sa->term, term_negate(tS));
			terms[n++] = term_negate(diff);
		}
		int32_t nid = add_inc(s, INC_DERIVED, terms, n, (int32_t)id, sa->cause, NULL, NULL, -1);
		free(terms);
		if (nid < 0)
			return -1;
		id = (uint32_t)nid;
	}
}

/* Unit propagation from pkg. Returns 0, 1 when a failure was proven (its
 * incompatibility in *fail), or -1 on an internal error. */
static int propagate(struct solver *s, uint32_t start, uint32_t *fail)
{
	uint32_t *stack = NULL;
	uint32_t n = 0, cap = 0;
	if (em_grow(&stack, &cap, n, sizeof *stack))
		return -1;
	stack[n++] = start;
	while (n) {
		uint32_t pkg = stack[--n];
		for (uint32_t k = s->pkgs[pkg].ninc; k-- > 0;) {
			if (k >= s->pkgs[pkg].ninc)
				continue;
			uint32_t id = s->pkgs[pkg].incs[k];
			uint32_t derived;
			enum prop r = propagate_one(s, id, &derived);
			if (s->oom) {
				free(stack);
				return -1;
			}
			if (r == P_CONFLICT) {
				int64_t learned = resolve_conflict(s, id);
				if (s->oom) {
					free(stack);
					return -1;
				}
				if (learned < 0) {
					*fail = (uint32_t)(-learned - 1);
					free(stack);
					return 1;
				}
				enum prop r2 = propagate_one(s, (uint32_t)learned, &derived);
				if (s->oom) {
					free(stack);
					return -1;
				}
				n = 0;
				if (r2 == P_DERIVED)
					stack[n++] = derived;
				goto next;
			}
			if (r == P_DERIVED) {
				if (em_grow(&stack, &cap, n, sizeof *stack)) {
					free(stack);
					return -1;
				}
				stack[n++] = derived;
			}
		}
next:;
	}
	free(stack);
	return 0;
}

/* ---- decisions ---- */

/* The next package to decide: one with a positive derivation and no
 * decision. The root first; then projects moved forward by maybe_swap();
 * then singletons (one candidate left); then discovery order. */
static int32_t pick_package(struct solver *s)
{
	int32_t best = -1;
	int best_class = 3, best_boost = 0;
	for (uint32_t i = 0; i < s->npkgs; i++) {
		const struct pkg *p = &s->pkgs[i];
		if (p->decision >= 0 || p->last < 0)
			continue;
		struct term t = s->as[p->last].accum;
		if (!t.pos)
			continue;
		int cls = p->root ? 0 : vs_count(t.set) <= 1 ? 1 : 2;
		int boost = s->pkgs[p->base].boost + p->boost;
		if (best < 0 || cls == 0 || (best_class != 0 && (boost > best_boost ||
		    (boost == best_boost && cls < best_class)))) {
			best = (int32_t)i;
			best_class = cls;
			best_boost = boost;
		}
	}
	return best;
}

static int32_t pick_version(struct solver *s, uint32_t id, struct vset allowed)
{
	const struct pkg *p = &s->pkgs[id];
	const struct pkg *b = &s->pkgs[p->base];
	/* an extra follows its project's decision */
	if (p->extra && b->decision >= 0) {
		uint32_t bi = s->as[b->decision].term.set.iv[0];
		if (vs_contains(allowed, bi) && !b->why[bi])
			return (int32_t)bi;
	}
	if (b->pref >= 0 && !b->why[b->pref] && vs_contains(allowed, (uint32_t)b->pref))
		return b->pref;
	for (uint32_t k = allowed.n; k-- > 0;)
		for (uint32_t i = allowed.iv[2 * k + 1]; i-- > allowed.iv[2 * k];)
			if (!b->why[i])
				return (int32_t)i;
	return -1;
}

static bool same_text(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* Extend an earlier "p at an adjacent version depends on the same thing"
 * instead of adding another: the versions of a project mostly share their
 * dependencies, and one fact over a range explains a ladder of versions in
 * one sentence (pubgrub-rs merges the same way). */
static bool merge_dep_inc(struct solver *s, uint32_t id, struct vset self, uint32_t dep,
			  struct vset depset, const char *text, const char *where)
{
	if (s->pkgs[id].root || self.n != 1 || self.iv[1] != self.iv[0] + 1)
		return false;
	uint32_t idx = self.iv[0];
	const struct pkg *p = &s->pkgs[id];
	uint32_t looked = 0;
	for (uint32_t k = p->ninc; k-- > 0 && looked < 64; looked++) {
		struct incompat *x = &s->incs[p->incs[k]];
		if (x->kind != INC_DEP || x->dep != (int32_t)dep || !same_text(x->text, text) ||
		    !same_text(x->where, where))
			continue;
		struct term *mine = NULL, *theirs = NULL;
		for (uint32_t i = 0; i < x->nterms; i++) {
			if (x->terms[i].pkg == id && x->terms[i].pos)
				mine = &x->terms[i];
			else if (x->terms[i].pkg == dep && !x->terms[i].pos)
				theirs = &x->terms[i];
		}
		if (!mine || mine->set.n != 1 || x->nterms != (vs_empty(depset) ? 1u : 2u))
			continue;
		if (!vs_empty(depset) && (!theirs || !vs_equal(theirs->set, depset)))
			continue;
		uint32_t lo = mine->set.iv[0], hi = mine->set.iv[1];
		if (idx + 1 == lo)
			lo = idx;
		else if (idx == hi)
			hi = idx + 1;
		else
			continue;
		mine->set = vs_range(s, lo, hi);
		return true;
	}
	return false;
}

static int add_dep_inc(struct solver *s, uint32_t id, struct vset self, uint32_t dep,
		       struct vset depset, const char *text, const char *where)
{
	if (merge_dep_inc(s, id, self, dep, depset, text, where))
		return s->oom ? EM_ENOMEM : 0;
	struct term t[2] = { { id, true, self }, { dep, false, depset } };
	return add_inc(s, INC_DEP, t, 2, -1, -1, text, where, (int32_t)dep) < 0 ? EM_ENOMEM : 0;
}

/* Add the incompatibilities "id at idx depends on ..." for one dependency,
 * its base project and each extra. */
static int add_one_dependency(struct solver *s, uint32_t id, struct vset self,
			      const struct em_dependency *d, const char *where)
{
	int32_t did = intern_pkg(s, d->name, NULL);
	if (did < 0)
		return EM_ENOMEM;
	int rc = load_pkg(s, (uint32_t)did);
	if (rc)
		return rc;
	/* a project that depends on itself rules out its own versions outside
	 * the range (the two terms merge into one) */
	if (add_dep_inc(s, id, self, (uint32_t)did, spec_set(s, (uint32_t)did, d->spec), d->text,
			where))
		return EM_ENOMEM;
	for (uint32_t x = 0; x < d->nextras; x++) {
		int32_t dx = intern_pkg(s, d->name, d->extras[x]);
		if (dx < 0)
			return EM_ENOMEM;
		if ((uint32_t)dx == id)
			continue;
		if (add_dep_inc(s, id, self, (uint32_t)dx, spec_set(s, (uint32_t)dx, d->spec), d->text,
				where))
			return EM_ENOMEM;
	}
	return 0;
}

/* Add the dependency incompatibilities of id at idx (once per pair);
 * returns 0, 1 when the candidate turned out unusable, or a negative code. */
static int add_dependencies(struct solver *s, uint32_t id, uint32_t idx)
{
	struct pkg *p = &s->pkgs[id];
	if (!p->deps_done) {
		uint32_t n = p->root ? 1 : s->pkgs[p->base].n;
		p->deps_done = em_arena_zalloc(&s->work, n ? n : 1);
		p->depsv = em_arena_zalloc(&s->work, (n ? n : 1) * sizeof *p->depsv);
		p->ndepsv = em_arena_zalloc(&s->work, (n ? n : 1) * sizeof *p->ndepsv);
		if (!p->deps_done || !p->depsv || !p->ndepsv)
			return EM_ENOMEM;
	}
	if (p->deps_done[idx])
		return 0;
	static const uint32_t root_iv[2] = { 0, 1 };
	struct vset self = p->root ? (struct vset){ 1, root_iv } : vs_range(s, idx, idx + 1);

	if (p->root) {
		for (uint32_t i = 0; i < s->in->nreqs; i++) {
			const struct em_root_req *r = &s->in->reqs[i];
			int rc = add_one_dependency(s, id, self, &r->dep, r->where);
			if (rc)
				return rc;
			int32_t d = find_pkg(s, r->dep.name, NULL);
			s->pkgs[d].requested = true;
		}
		s->pkgs[id].deps_done[0] = 1;
		return 0;
	}

	const struct em_dependency *deps = NULL;
	uint32_t ndeps = 0;
	const char *unusable = NULL;
	struct em_error pe;
	em_error_clear(&pe);
	s->st.dependency_calls++;
	struct pkg *b = &s->pkgs[p->base];
	int rc = s->p->dependencies(s->p->ctx, b->name, idx, p->extra, &deps, &ndeps, &unusable, &pe);
	if (rc) {
		if (s->e)
			*s->e = pe;
		return rc;
	}
	if (unusable) {
		b->why[idx] = em_arena_strdup(&s->work, unusable);
		struct term t = { p->base, true, vs_range(s, idx, idx + 1) };
		if (!b->why[idx] || add_inc(s, INC_UNAVAILABLE, &t, 1, -1, -1, b->why[idx], NULL, -1) < 0)
			return EM_ENOMEM;
		return 1;
	}
	/* p[x] at idx needs p at exactly idx */
	if (p->extra && add_dep_inc(s, id, self, p->base, self, NULL, NULL))
		return EM_ENOMEM;
	for (uint32_t i = 0; i < ndeps; i++) {
		rc = add_one_dependency(s, id, self, &deps[i], NULL);
		if (rc)
			return rc;
	}
	p = &s->pkgs[id]; /* interning may have moved the array */
	p->deps_done[idx] = 1;
	p->depsv[idx] = deps;
	p->ndepsv[idx] = ndeps;
	return 0;
}

/* Would deciding id = idx satisfy one of its dependency incompatibilities
 * at once (a dependency already known to be outside what it needs)? The
 * project whose assignments rule it out, or -1. */
static int32_t decision_conflicts(struct solver *s, uint32_t id, uint32_t idx)
{
	const struct pkg *p = &s->pkgs[id];
	for (uint32_t k = 0; k < p->ninc; k++) {
		const struct incompat *inc = &s->incs[p->incs[k]];
		if (inc->kind != INC_DEP || inc->nterms != 2)
			continue;
		const struct term *self = inc->terms[0].pkg == id ? &inc->terms[0] : &inc->terms[1];
		const struct term *other = self == &inc->terms[0] ? &inc->terms[1] : &inc->terms[0];
		if (!self->pos || !vs_contains(self->set, p->root ? 0 : idx))
			continue;
		if (relation(s, accum_of(s, other->pkg), *other) == SATISFIED)
			return (int32_t)s->pkgs[other->pkg].base;
	}
	return -1;
}

/* The assignment at which id first had to be selected, or -1. */
static int32_t first_positive(struct solver *s, uint32_t id)
{
	int32_t first = -1;
	for (int32_t a = s->pkgs[id].last; a >= 0; a = s->as[a].prev)
		if (s->as[a].accum.pos)
			first = a;
	return first;
}

/* uv's answer to "backtracking the wrong package" (astral-sh/uv#8157):
 * when the decision of culprit has ruled out versions of id three times,
 * decide id first and go back to before culprit's decision. Done once per
 * project, so the order cannot flip back and forth. */
static bool maybe_swap(struct solver *s, uint32_t id, int32_t culprit)
{
	struct pkg *p = &s->pkgs[id];
	if (culprit < 0 || (uint32_t)culprit == id)
		return false;
	if (p->culprit == culprit) {
		p->culprit_count++;
	} else {
		p->culprit = culprit;
		p->culprit_count = 1;
	}
	struct pkg *c = &s->pkgs[culprit];
	if (p->swapped || p->culprit_count < 3 || c->root || c->decision < 0)
		return false;
	int32_t need = first_positive(s, id);
	if (need < 0 || need > c->decision)
		return false;
	uint32_t level = s->as[c->decision].level;
	if (level <= 1)
		return false;
	p->boost = c->boost + 1;
	p->swapped = true;
	p->culprit_count = 0;
	backtrack(s, level - 1);
	return true;
}

/* ---- results ---- */

static int cmp_resolved(const void *a, const void *b)
{
	return strcmp(((const struct em_resolved *)a)->name, ((const struct em_resolved *)b)->name);
}

static int collect(struct solver *s, struct em_arena *a, struct em_resolution *out)
{
	uint32_t count = 0;
	for (uint32_t i = 0; i < s->npkgs; i++)
		count += !s->pkgs[i].root && !s->pkgs[i].extra && s->pkgs[i].decision >= 0;
	struct em_resolved *r = em_arena_array(a, count ? count : 1, sizeof *r);
	if (!r)
		return -1;
	uint32_t k = 0;
	for (uint32_t i = 0; i < s->npkgs; i++) {
		const struct pkg *p = &s->pkgs[i];
		if (p->root || p->extra || p->decision < 0)
			continue;
		struct em_resolved *x = &r[k++];
		memset(x, 0, sizeof *x);
		uint32_t idx = vs_count(s->as[p->decision].term.set) ? s->as[p->decision].term.set.iv[0] : 0;
		x->name = em_arena_strdup(a, p->name);
		x->idx = idx;
		x->cand = &p->cands[idx];
		x->requested = p->requested;
		/* extras decided for this project, and every dependency name */
		uint32_t ne = 0, nd = 0;
		for (uint32_t j = 0; j < s->npkgs; j++) {
			const struct pkg *q = &s->pkgs[j];
			if (q->base != i || q->decision < 0)
				continue;
			ne += q->extra != NULL;
			uint32_t qi = q->root ? 0 : s->as[q->decision].term.set.iv[0];
			nd += q->ndepsv ? q->ndepsv[qi] : 0;
		}
		x->extras = em_arena_array(a, ne ? ne : 1, sizeof *x->extras);
		x->deps = em_arena_array(a, nd ? nd : 1, sizeof *x->deps);
		if (!x->name || !x->extras || !x->deps)
			return -1;
		for (uint32_t j = 0; j < s->npkgs; j++) {
			const struct pkg *q = &s->pkgs[j];
			if (q->base != i || q->decision < 0)
				continue;
			if (q->extra)
				x->extras[x->nextras++] = em_arena_strdup(a, q->extra);
			uint32_t qi = s->as[q->decision].term.set.iv[0];
			uint32_t qn = q->ndepsv ? q->ndepsv[qi] : 0;
			for (uint32_t d = 0; d < qn; d++) {
				const char *dn = q->depsv[qi][d].name;
				if (!strcmp(dn, p->name))
					continue;
				/* only dependencies that ended up selected (markers
				 * were evaluated already, so all of them are) */
				bool dup = false;
				for (uint32_t m = 0; m < x->ndeps && !dup; m++)
					dup = !strcmp(x->deps[m], dn);
				if (!dup)
					x->deps[x->ndeps++] = em_arena_strdup(a, dn);
			}
		}
	}
	qsort(r, k, sizeof *r, cmp_resolved);
	out->n = k;
	out->pkgs = r;
	return 0;
}

/* ---- the main loop ---- */

static void solver_free(struct solver *s)
{
	for (uint32_t i = 0; i < s->npkgs; i++)
		free(s->pkgs[i].incs);
	free(s->pkgs);
	free(s->htab);
	free(s->incs);
	free(s->as);
	em_arena_release(&s->work);
}

int em_resolve(struct em_arena *a, const struct em_resolve_in *in, const struct em_provider *p,
	       struct em_resolution *out, struct em_buf *explain_out, struct em_error *e)
{
	struct solver s;
	memset(&s, 0, sizeof s);
	memset(out, 0, sizeof *out);
	s.in = in;
	s.p = p;
	s.e = e;
	s.max_steps = in->max_steps ? in->max_steps : DEFAULT_MAX_STEPS;
	em_arena_init(&s.work);
	int rc = 0;

	int32_t root = intern_pkg(&s, "", NULL);
	if (root < 0) {
		solver_free(&s);
		return em_err_nomem(e);
	}
	s.pkgs[root].root = true;
	s.pkgs[root].n = 1;
	s.st.projects = 0;
	static const uint32_t root_iv[2] = { 0, 1 };
	struct term nr = { (uint32_t)root, false, { 1, root_iv } };
	if (add_inc(&s, INC_ROOT, &nr, 1, -1, -1, NULL, NULL, -1) < 0) {
		solver_free(&s);
		return em_err_nomem(e);
	}
	uint32_t next = (uint32_t)root;
	for (;;) {
		uint32_t fail;
		int pr = propagate(&s, next, &fail);
		if (pr < 0 || s.oom) {
			rc = em_err_nomem(e);
			break;
		}
		if (pr == 1) {
			rc = em_rs_explain(&s, fail, explain_out, e);
			break;
		}
		if (s.st.decisions + s.st.conflicts > s.max_steps) {
			rc = em_err(e, EM_ELIMIT, NULL,
				    "%s: gave up after %u steps (%u decisions, %u conflicts); pin "
				    "some versions in the matrix to narrow the search",
				    in->label, s.max_steps, s.st.decisions, s.st.conflicts);
			break;
		}
		int32_t id = pick_package(&s);
		if (id < 0)
			break; /* every required project is decided */
		int lr = load_pkg(&s, (uint32_t)id);
		if (lr) {
			rc = lr == EM_ENOMEM ? em_err_nomem(e) : lr;
			break;
		}
		struct vset allowed = s.as[s.pkgs[id].last].accum.set;
		int32_t idx = s.pkgs[id].root ? 0 : pick_version(&s, (uint32_t)id, allowed);
		next = (uint32_t)id;
		if (idx < 0) {
			struct term t = { (uint32_t)id, true, allowed };
			if (add_inc(&s, INC_NO_VERSIONS, &t, 1, -1, -1, NULL, NULL, -1) < 0) {
				rc = em_err_nomem(e);
				break;
			}
			continue;
		}
		int ar = add_dependencies(&s, (uint32_t)id, (uint32_t)idx);
		if (ar < 0 || s.oom) {
			rc = (s.oom || ar == EM_ENOMEM) ? em_err_nomem(e) : ar;
			break;
		}
		if (ar > 0)
			continue; /* unusable: propagation rules it out */
		int32_t culprit = decision_conflicts(&s, (uint32_t)id, (uint32_t)idx);
		if (culprit >= 0) {
			maybe_swap(&s, (uint32_t)id, culprit);
			continue; /* propagation rules the version out */
		}
		s.level++;
		struct term t = { (uint32_t)id, true,
				  s.pkgs[id].root ? (struct vset){ 1, root_iv }
						  : vs_range(&s, (uint32_t)idx, (uint32_t)idx + 1) };
		if (assign(&s, t, -1)) {
			rc = em_err_nomem(e);
			break;
		}
		s.st.decisions++;
	}
	if (!rc && collect(&s, a, out))
		rc = em_err_nomem(e);
	out->stats = s.st;
	solver_free(&s);
	return rc;
}
