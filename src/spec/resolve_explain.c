/* resolve_explain.c - why a workload cannot be resolved, in words
 *
 * A failure is an incompatibility derived from others; the derivation is a
 * graph whose leaves are facts (requirements, dependencies, versions that
 * cannot be used). It is told as pub's solver.md describes: one sentence a
 * derived incompatibility, causes before conclusions, "And because" when a
 * sentence follows from the one before, and a number on every sentence
 * cited later. The error record gets a one-line summary of the clash.
 */
#include "spec/resolve_int.h"
#include "util/grow.h"

#include <stdlib.h>
#include <string.h>

/* ---- explanations ---- */

static void put_set(struct solver *s, struct em_buf *b, uint32_t id, struct vset set)
{
	const struct pkg *p = &s->pkgs[id];
	const struct pkg *base = &s->pkgs[p->base];
	if (p->root) {
		em_buf_addstr(b, s->in->label);
		return;
	}
	em_buf_addstr(b, p->name);
	if (p->extra)
		em_buf_addf(b, "[%s]", p->extra);
	uint32_t n = base->n;
	if (set.n == 1 && set.iv[0] == 0 && set.iv[1] == n && n > 1)
		return; /* any version */
	if (set.n == 0) {
		em_buf_addstr(b, " (no version)");
		return;
	}
	em_buf_addc(b, ' ');
	for (uint32_t k = 0; k < set.n; k++) {
		uint32_t lo = set.iv[2 * k], hi = set.iv[2 * k + 1];
		if (k)
			em_buf_addstr(b, " or ");
		if (hi == lo + 1)
			em_buf_addstr(b, base->cands[lo].version->str);
		else if (lo == 0)
			em_buf_addf(b, "<%s", base->cands[hi].version->str);
		else if (hi == n)
			em_buf_addf(b, ">=%s", base->cands[lo].version->str);
		else
			em_buf_addf(b, ">=%s,<%s", base->cands[lo].version->str,
				    base->cands[hi].version->str);
	}
}

/* Why nothing in set can be used, in parentheses: the reasons, newest
 * version first, at most three (a single version needs no name). */
static void put_reasons(struct solver *s, struct em_buf *b, uint32_t id, struct vset set)
{
	const struct pkg *base = &s->pkgs[s->pkgs[id].base];
	if (base->missing) {
		em_buf_addf(b, " (%s)", base->missing);
		return;
	}
	bool single = vs_count(set) == 1;
	const char *seen[3];
	uint32_t nseen = 0, more = 0;
	for (uint32_t k = set.n; k-- > 0;) {
		for (uint32_t i = set.iv[2 * k + 1]; i-- > set.iv[2 * k];) {
			const char *w = base->why[i];
			if (!w)
				continue;
			bool dup = false;
			for (uint32_t j = 0; j < nseen; j++)
				dup |= !strcmp(seen[j], w);
			if (dup)
				continue;
			if (nseen == 3) {
				more++;
				continue;
			}
			em_buf_addstr(b, nseen ? "; " : " (");
			if (!single)
				em_buf_addf(b, "%s: ", base->cands[i].version->str);
			em_buf_addstr(b, w);
			seen[nseen++] = w;
		}
	}
	if (more)
		em_buf_addf(b, "; %u more reason%s", more, more > 1 ? "s" : "");
	if (nseen)
		em_buf_addc(b, ')');
	else if (vs_count(set) == 0)
		em_buf_addstr(b, " (no version matches)");
}

static const struct term *term_for_root(struct solver *s, const struct incompat *inc, bool root)
{
	for (uint32_t i = 0; i < inc->nterms; i++)
		if (s->pkgs[inc->terms[i].pkg].root == root)
			return &inc->terms[i];
	return NULL;
}

static void put_inc(struct solver *s, struct em_buf *b, uint32_t id)
{
	const struct incompat *inc = &s->incs[id];
	switch (inc->kind) {
	case INC_ROOT:
		em_buf_addf(b, "%s is requested", s->in->label);
		return;
	case INC_DEP: {
		const struct term *who = NULL, *dep = NULL;
		for (uint32_t i = 0; i < inc->nterms; i++) {
			if (inc->terms[i].pos && !who)
				who = &inc->terms[i];
			else
				dep = &inc->terms[i];
		}
		if (!who)
			return;
		put_set(s, b, who->pkg, who->set);
		em_buf_addstr(b, s->pkgs[who->pkg].root ? " requires " : " depends on ");
		if (inc->text)
			em_buf_addstr(b, inc->text);
		else if (dep)
			put_set(s, b, dep->pkg, dep->set);
		if (inc->where)
			em_buf_addf(b, " (%s)", inc->where);
		if (!dep && inc->dep >= 0) {
			/* nothing matches: the dependency's term was always true */
			const struct pkg *db = &s->pkgs[s->pkgs[inc->dep].base];
			if (db->missing)
				em_buf_addf(b, " (%s)", db->missing);
			else if (db->n)
				em_buf_addf(b, " (no version of %s matches; it has %s%s)", db->name,
					    db->cands[db->n - 1].version->str,
					    db->n > 1 ? " and older" : "");
			else
				em_buf_addf(b, " (%s has no release)", db->name);
		}
		return;
	}
	case INC_NO_VERSIONS:
		if (vs_count(inc->terms[0].set) == 1) {
			put_set(s, b, inc->terms[0].pkg, inc->terms[0].set);
			em_buf_addstr(b, " cannot be used");
		} else {
			em_buf_addstr(b, "no version of ");
			put_set(s, b, inc->terms[0].pkg, inc->terms[0].set);
			em_buf_addstr(b, " can be used");
		}
		put_reasons(s, b, inc->terms[0].pkg, inc->terms[0].set);
		return;
	case INC_UNAVAILABLE:
		put_set(s, b, inc->terms[0].pkg, inc->terms[0].set);
		em_buf_addf(b, " cannot be used (%s)", inc->text);
		return;
	case INC_DERIVED:
		break;
	}
	const struct term *rt = term_for_root(s, inc, true);
	if (inc->nterms == 0 || (inc->nterms == 1 && rt && rt->pos)) {
		em_buf_addf(b, "%s cannot be resolved", s->in->label);
		return;
	}
	if (inc->nterms == 1) {
		const struct term *t = &inc->terms[0];
		put_set(s, b, t->pkg, t->set);
		em_buf_addstr(b, t->pos ? " cannot be used" : " is required");
		return;
	}
	if (inc->nterms == 2) {
		const struct term *a = &inc->terms[0], *c = &inc->terms[1];
		if (!a->pos && c->pos) {
			const struct term *x = a;
			a = c;
			c = x;
		}
		if (s->pkgs[c->pkg].root && c->pos) {
			const struct term *x = a;
			a = c;
			c = x;
		}
		put_set(s, b, a->pkg, a->set);
		if (a->pos && !c->pos) {
			em_buf_addstr(b, s->pkgs[a->pkg].root ? " requires " : " requires ");
			put_set(s, b, c->pkg, c->set);
		} else if (a->pos && c->pos) {
			em_buf_addstr(b, s->pkgs[a->pkg].root ? " cannot use " : " is incompatible with ");
			put_set(s, b, c->pkg, c->set);
		} else {
			em_buf_addstr(b, " or ");
			put_set(s, b, c->pkg, c->set);
			em_buf_addstr(b, " is required");
		}
		return;
	}
	for (uint32_t i = 0; i < inc->nterms; i++) {
		if (i)
			em_buf_addstr(b, i + 1 == inc->nterms ? " and " : ", ");
		if (!inc->terms[i].pos)
			em_buf_addstr(b, "not ");
		put_set(s, b, inc->terms[i].pkg, inc->terms[i].set);
	}
	em_buf_addstr(b, " are incompatible");
}

struct line {
	size_t start, len; /* in the text buffer */
	uint32_t inc;
	uint32_t number;   /* 0: none */
};

struct explainer {
	struct solver *s;
	struct em_buf text;   /* all sentences, back to back */
	struct line *lines;
	uint32_t nlines, cap;
	uint32_t *uses;       /* per incompatibility: references in the tree */
	int32_t *line_of;     /* per incompatibility: its sentence, -1 */
	uint32_t next_number;
};

/* Number the sentence that concluded inc (so later sentences can cite it). */
static uint32_t cite(struct explainer *x, uint32_t inc)
{
	struct line *l = &x->lines[x->line_of[inc]];
	if (!l->number)
		l->number = ++x->next_number;
	return l->number;
}

static void put_cause(struct explainer *x, struct em_buf *b, uint32_t c)
{
	put_inc(x->s, b, c);
	if (x->s->incs[c].kind == INC_DERIVED && x->line_of[c] >= 0)
		em_buf_addf(b, " (%u)", cite(x, c));
}

static int emit_sentence(struct explainer *x, uint32_t id)
{
	const struct incompat *inc = &x->s->incs[id];
	uint32_t c1 = (uint32_t)inc->cause1, c2 = (uint32_t)inc->cause2;
	bool d1 = x->s->incs[c1].kind == INC_DERIVED, d2 = x->s->incs[c2].kind == INC_DERIVED;
	int32_t last_inc = x->nlines ? (int32_t)x->lines[x->nlines - 1].inc : -1;
	struct em_buf sb = EM_BUF_INIT;
	/* "And because X, Y." when one cause was the sentence just before
	 * and nothing else needs to cite it */
	if (d1 && (int32_t)c1 == last_inc && x->uses[c1] <= 1) {
		em_buf_addstr(&sb, "And because ");
		put_cause(x, &sb, c2);
	} else if (d2 && (int32_t)c2 == last_inc && x->uses[c2] <= 1) {
		em_buf_addstr(&sb, "And because ");
		put_cause(x, &sb, c1);
	} else {
		em_buf_addstr(&sb, "Because ");
		put_cause(x, &sb, c1);
		em_buf_addstr(&sb, " and ");
		put_cause(x, &sb, c2);
	}
	em_buf_addstr(&sb, ", ");
	put_inc(x->s, &sb, id);
	em_buf_addc(&sb, '.');
	if (em_grow(&x->lines, &x->cap, x->nlines, sizeof *x->lines)) {
		em_buf_release(&sb);
		return -1;
	}
	struct line *l = &x->lines[x->nlines];
	l->start = x->text.len;
	l->len = sb.len;
	l->inc = id;
	l->number = 0;
	x->line_of[id] = (int32_t)x->nlines++;
	/* the line points into text: it must be there in full */
	int rc = sb.err ? sb.err : em_buf_add(&x->text, sb.ptr, sb.len);
	em_buf_release(&sb);
	return rc;
}

/* Sentences in post order (causes before what they prove), iteratively. */
static int explain_tree(struct explainer *x, uint32_t root)
{
	struct solver *s = x->s;
	/* count references of derived incompatibilities */
	uint32_t *stack = malloc(sizeof *stack * (s->nincs + 1));
	if (!stack)
		return -1;
	uint8_t *seen = calloc(s->nincs, 1);
	if (!seen) {
		free(stack);
		return -1;
	}
	uint32_t n = 0;
	stack[n++] = root;
	seen[root] = 1;
	while (n) {
		const struct incompat *inc = &s->incs[stack[--n]];
		if (inc->kind != INC_DERIVED)
			continue;
		uint32_t cs[2] = { (uint32_t)inc->cause1, (uint32_t)inc->cause2 };
		for (int k = 0; k < 2; k++) {
			x->uses[cs[k]]++;
			if (!seen[cs[k]]) {
				seen[cs[k]] = 1;
				stack[n++] = cs[k];
			}
		}
	}
	/* post order: a node is emitted once both derived causes are */
	memset(seen, 0, s->nincs);
	n = 0;
	stack[n++] = root;
	int rc = 0;
	while (n && !rc) {
		uint32_t id = stack[n - 1];
		const struct incompat *inc = &s->incs[id];
		if (inc->kind != INC_DERIVED || x->line_of[id] >= 0) {
			n--;
			continue;
		}
		if (!seen[id]) {
			seen[id] = 1;
			/* push cause2 first so cause1's sentences come first */
			uint32_t cs[2] = { (uint32_t)inc->cause2, (uint32_t)inc->cause1 };
			for (int k = 0; k < 2; k++)
				if (s->incs[cs[k]].kind == INC_DERIVED && x->line_of[cs[k]] < 0 &&
				    !seen[cs[k]])
					stack[n++] = cs[k];
			continue;
		}
		n--;
		rc = emit_sentence(x, id);
	}
	free(stack);
	free(seen);
	return rc;
}

/* The leaves (external facts) of the proof, in tree order. */
static uint32_t leaves(struct solver *s, uint32_t root, uint32_t *out, uint32_t max)
{
	uint32_t *stack = malloc(sizeof *stack * (s->nincs + 1));
	uint8_t *seen = calloc(s->nincs, 1);
	uint32_t n = 0, m = 0;
	if (!stack || !seen) {
		free(stack);
		free(seen);
		return 0;
	}
	stack[n++] = root;
	while (n) {
		uint32_t id = stack[--n];
		if (seen[id])
			continue;
		seen[id] = 1;
		const struct incompat *inc = &s->incs[id];
		if (inc->kind == INC_DERIVED) {
			stack[n++] = (uint32_t)inc->cause2;
			stack[n++] = (uint32_t)inc->cause1;
		} else if (m < max) {
			out[m++] = id;
		}
	}
	free(stack);
	free(seen);
	return m;
}

/* One line that names the clash: "lvface needs numpy==1.26.4, but
 * opencv-python 4.12.0.88 needs numpy<2.3.0,>=2". */
static void summarize(struct solver *s, uint32_t root, struct em_buf *b)
{
	uint32_t lv[512];
	uint32_t n = leaves(s, root, lv, 512);
	/* two dependencies on the same project that cannot both hold; a pair
	 * with a root requirement in it reads best */
	int32_t bi = -1, bj = -1;
	for (int pass = 0; pass < 2 && bi < 0; pass++) {
		for (uint32_t i = 0; i < n && bi < 0; i++) {
			const struct incompat *x = &s->incs[lv[i]];
			if (x->kind != INC_DEP || !x->text || x->dep < 0 || x->nterms != 2)
				continue;
			const struct term *xw = x->terms[0].pos ? &x->terms[0] : &x->terms[1];
			const struct term *xd = x->terms[0].pos ? &x->terms[1] : &x->terms[0];
			if (pass == 0 && !s->pkgs[xw->pkg].root)
				continue;
			for (uint32_t j = 0; j < n; j++) {
				const struct incompat *y = &s->incs[lv[j]];
				if (j == i || y->kind != INC_DEP || !y->text || y->dep < 0 ||
				    y->nterms != 2)
					continue;
				const struct term *yw = y->terms[0].pos ? &y->terms[0] : &y->terms[1];
				const struct term *yd = y->terms[0].pos ? &y->terms[1] : &y->terms[0];
				if (s->pkgs[xd->pkg].base != s->pkgs[yd->pkg].base ||
				    s->pkgs[yw->pkg].root || !em_rs_disjoint(s, xd->set, yd->set))
					continue;
				bi = (int32_t)i;
				bj = (int32_t)j;
				break;
			}
		}
	}
	if (bi >= 0) {
		const struct incompat *x = &s->incs[lv[bi]], *y = &s->incs[lv[bj]];
		const struct term *xw = x->terms[0].pos ? &x->terms[0] : &x->terms[1];
		const struct term *yw = y->terms[0].pos ? &y->terms[0] : &y->terms[1];
		put_set(s, b, xw->pkg, xw->set);
		em_buf_addf(b, " needs %s, but ", x->text);
		put_set(s, b, yw->pkg, yw->set);
		em_buf_addf(b, " needs %s", y->text);
		return;
	}
	/* something nothing can satisfy */
	for (uint32_t i = 0; i < n; i++) {
		const struct incompat *inc = &s->incs[lv[i]];
		if (inc->kind == INC_NO_VERSIONS || inc->kind == INC_UNAVAILABLE ||
		    (inc->kind == INC_DEP && inc->nterms == 1)) {
			em_buf_addf(b, "%s cannot be resolved: ", s->in->label);
			put_inc(s, b, lv[i]);
			return;
		}
	}
	em_buf_addf(b, "%s cannot be resolved", s->in->label);
}

int em_rs_explain(struct solver *s, uint32_t root, struct em_buf *out, struct em_error *e)
{
	struct em_buf sum = EM_BUF_INIT;
	summarize(s, root, &sum);
	/* sum is cut short only when out of memory; the code is what counts */
	em_err(e, EM_ECONFLICT, NULL, "%s", sum.ptr);
	em_buf_release(&sum);
	if (!out)
		return EM_ECONFLICT;
	struct explainer x;
	memset(&x, 0, sizeof x);
	x.s = s;
	em_buf_init(&x.text, 0);
	x.uses = calloc(s->nincs, sizeof *x.uses);
	x.line_of = malloc(s->nincs * sizeof *x.line_of);
	int rc = (!x.uses || !x.line_of) ? -1 : 0;
	if (!rc) {
		for (uint32_t i = 0; i < s->nincs; i++)
			x.line_of[i] = -1;
		if (s->incs[root].kind == INC_DERIVED) {
			rc = explain_tree(&x, root);
		} else {
			em_buf_addstr(&x.text, "Because ");
			put_inc(s, &x.text, root);
			em_buf_addf(&x.text, ", %s cannot be resolved.", s->in->label);
			rc = em_grow(&x.lines, &x.cap, x.nlines, sizeof *x.lines);
			if (!rc) {
				x.lines[0] = (struct line){ 0, x.text.len, root, 0 };
				x.nlines = 1;
			}
		}
	}
	/* numbered sentences carry their number in front */
	uint32_t width = x.next_number >= 10 ? 5 : 4;
	for (uint32_t i = 0; !rc && i < x.nlines; i++) {
		const struct line *l = &x.lines[i];
		if (x.next_number) {
			if (l->number)
				em_buf_addf(out, "(%u)%*s", l->number,
					    (int)(width - 2 - (l->number >= 10)), "");
			else
				em_buf_addf(out, "%*s", (int)width, "");
		}
		em_buf_add(out, x.text.ptr + l->start, l->len);
		em_buf_addc(out, '\n');
	}
	free(x.uses);
	free(x.line_of);
	free(x.lines);
	em_buf_release(&x.text);
	if (rc)
		return em_err_nomem(e);
	return EM_ECONFLICT;
}
