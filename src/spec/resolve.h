/* resolve.h - the dependency resolver (PubGrub), pure: no I/O of its own
 *
 * One workload, one target: every marker has already been evaluated by the
 * provider, so the solver sees projects, their candidate versions (sorted,
 * with the reason a candidate cannot be used) and the dependencies of a
 * chosen candidate. It backtracks with learned facts (PubGrub's conflict
 * driven clause learning), is deterministic for a given provider, and when
 * there is no solution explains why in plain words.
 *
 * Policies applied by the solver (docs/resolver.md):
 *   - the newest usable version wins, unless a preference (the existing
 *     lock) names one that is still allowed;
 *   - a pre-release is used only when a root requirement of that project
 *     names a pre-release, or the project has no final release at all;
 *   - a yanked file is used only when a root requirement pins it with == or
 *     ===;
 *   - extras are virtual projects tied to their base project's version.
 */
#ifndef ENVMATRIX_RESOLVE_H
#define ENVMATRIX_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/buf.h"
#include "envmatrix/error.h"
#include "spec/pep440.h"

/* One version of a project as the provider sees it for the target. */
struct em_candidate {
	const struct em_version *version;
	const char *unusable; /* NULL, or why it can never be chosen here
			       * ("no wheel for cp311-win_amd64 ...") */
	bool yanked;
	const char *yank_reason;
	void *data;           /* the provider's (the chosen file) */
};

struct em_dependency {
	const char *name;            /* normalized (PEP 503) */
	uint32_t nextras;
	const char *const *extras;   /* normalized (PEP 685) */
	const struct em_specset *spec; /* NULL or empty: any version */
	const char *text;            /* as written, for explanations */
};

struct em_provider {
	void *ctx;
	/* The candidates of a project, ascending by version. Called once per
	 * project. *n = 0 is allowed (nothing usable on its index); a project
	 * the index does not know is EM_ENOTFOUND with e filled (the message
	 * is used in the explanation, the solve goes on). Other errors stop the
	 * solve. */
	int (*candidates)(void *ctx, const char *name, const struct em_candidate **out,
			  uint32_t *n, struct em_error *e);
	/* The dependencies of candidate idx, markers evaluated with extra
	 * active (NULL: none). When the candidate turns out to be unusable
	 * (Requires-Python read from its METADATA, say) set *unusable to the
	 * reason and return 0. Called at most once per (project, idx, extra). */
	int (*dependencies)(void *ctx, const char *name, uint32_t idx, const char *extra,
			    const struct em_dependency **out, uint32_t *n, const char **unusable,
			    struct em_error *e);
};

struct em_root_req {
	struct em_dependency dep;
	const char *where;   /* "matrix.ini:14", for explanations */
};

struct em_preference {
	const char *name;    /* normalized */
	const char *version; /* exact text, compared as a version */
};

struct em_resolve_in {
	const char *label;   /* the workload's name, used in explanations */
	uint32_t nreqs;
	const struct em_root_req *reqs;
	uint32_t nprefs;
	const struct em_preference *prefs;
	uint32_t nallow_pre;          /* projects whose pre-releases may be used */
	const char *const *allow_pre; /* normalized names; "*" for all */
	uint32_t max_steps;           /* 0: a default budget */
};

struct em_resolved {
	const char *name;              /* normalized */
	uint32_t idx;                  /* into the project's candidates */
	const struct em_candidate *cand;
	bool requested;                /* named by a root requirement */
	uint32_t nextras;              /* extras that were needed */
	const char **extras;
	uint32_t ndeps;                /* names it depends on (with the extras active) */
	const char **deps;
};

struct em_resolve_stats {
	uint32_t projects, decisions, conflicts, backjumps, incompatibilities;
	uint32_t candidate_calls, dependency_calls;
};

struct em_resolution {
	uint32_t n;
	struct em_resolved *pkgs;      /* sorted by name */
	struct em_resolve_stats stats;
};

/* Resolve. On EM_ECONFLICT, e->msg holds the one-line summary
 * ("lvface needs numpy==1.26.4, but opencv-python 4.12.0.88 needs
 * numpy<2.3.0,>=2") and explain (when given) the numbered chain of
 * reasons, one sentence per line. Provider errors are passed through. */
EM_MUST_USE
int em_resolve(struct em_arena *a, const struct em_resolve_in *in, const struct em_provider *p,
	       struct em_resolution *out, struct em_buf *explain, struct em_error *e);

#endif
