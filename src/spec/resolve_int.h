/* resolve_int.h - what the files of the resolver share (private)
 *
 *   resolve.c          PubGrub: version sets, incompatibilities, the partial
 *                      solution, propagation, conflict resolution, decisions
 *   resolve_explain.c  the explanation of a failure, from the derivation
 *                      graph of the incompatibility that proved it
 */
#ifndef ENVMATRIX_RESOLVE_INT_H
#define ENVMATRIX_RESOLVE_INT_H

#include "spec/resolve.h"

/* ---- version sets: sorted, disjoint, non-adjacent [lo, hi) intervals ---- */

struct vset {
	uint32_t n;         /* intervals */
	const uint32_t *iv; /* iv[2k] = lo, iv[2k+1] = hi */
};

static inline bool vs_empty(struct vset a)
{
	return a.n == 0;
}

static inline uint32_t vs_count(struct vset a)
{
	uint32_t c = 0;
	for (uint32_t k = 0; k < a.n; k++)
		c += a.iv[2 * k + 1] - a.iv[2 * k];
	return c;
}

/* ---- solver state ---- */

struct term {
	uint32_t pkg;
	bool pos;
	struct vset set;
};

enum inc_kind {
	INC_ROOT,        /* {not root}: the workload must be resolved */
	INC_DEP,         /* {p in R, not q in S}: p R depends on q S */
	INC_NO_VERSIONS, /* {p in S}: nothing in S can be used */
	INC_UNAVAILABLE, /* {p in {v}}: v turned out unusable (its METADATA) */
	INC_DERIVED      /* learned from two causes */
};

struct incompat {
	enum inc_kind kind;
	uint32_t nterms;
	struct term *terms;
	int32_t cause1, cause2; /* INC_DERIVED */
	const char *text;       /* INC_DEP: the requirement as written; INC_UNAVAILABLE: why */
	const char *where;      /* INC_DEP from the root: matrix.ini:LINE */
	int32_t dep;            /* INC_DEP: the project depended on (its term may be gone
				 * when nothing matches) */
};

struct assign {
	uint32_t pkg;
	struct term term;  /* this assignment */
	struct term accum; /* the package's assignments up to here, intersected */
	uint32_t level;
	int32_t cause;     /* -1 for a decision */
	int32_t prev;      /* the package's previous assignment, -1 */
};

struct pkg {
	const char *name;  /* normalized project name */
	const char *extra; /* NULL, or the extra of a virtual project */
	uint32_t base;     /* the base project's id (itself for a base) */
	bool root;
	bool loaded;       /* candidates fetched (base projects) */
	const char *missing; /* why the project has no candidates at all */
	const struct em_candidate *cands;
	uint32_t n;
	const char **why;  /* per candidate: NULL when usable (base projects) */
	uint8_t *deps_done;/* per candidate: dependency incompatibilities added */
	const struct em_dependency **depsv; /* per candidate: its dependencies */
	uint32_t *ndepsv;
	int32_t pref;      /* preferred candidate, -1 */
	bool requested;
	/* decision order: a project whose versions keep being ruled out by
	 * another's decision is moved before it (once) */
	int boost;
	int32_t culprit;
	uint32_t culprit_count;
	bool swapped;
	int32_t last;      /* newest assignment, -1 */
	int32_t decision;  /* its decision's assignment, -1 */
	uint32_t *incs;    /* incompatibilities that mention it */
	uint32_t ninc, capinc;
};

struct solver {
	const struct em_resolve_in *in;
	const struct em_provider *p;
	struct em_arena work;  /* sets, terms, names: freed at the end */
	struct em_error *e;
	int oom;
	struct pkg *pkgs;
	uint32_t npkgs, cappkgs;
	uint32_t *htab;        /* name[extra] -> pkg id + 1 */
	uint32_t hcap;
	struct incompat *incs;
	uint32_t nincs, capincs;
	struct assign *as;
	uint32_t nas, capas;
	uint32_t level;
	struct em_resolve_stats st;
	uint32_t max_steps;
};

/* resolve.c: whether a and b have no version in common */
bool em_rs_disjoint(struct solver *s, struct vset a, struct vset b);

/* resolve_explain.c: fill e with a one-line summary of why root (an
 * incompatibility) proves there is no solution, and out (when not NULL)
 * with the whole derivation, a sentence a line; returns EM_ECONFLICT, or
 * EM_ENOMEM */
int em_rs_explain(struct solver *s, uint32_t root, struct em_buf *out, struct em_error *e);

#endif
