/* plan.h - from a matrix to one resolved lock per workload
 *
 * For each workload the planner settles the target (platform and exact
 * Python), the PyTorch variant and its index, gathers the root
 * requirements, resolves them against the workload's indexes (the torch
 * family only from the variant index, everything else only from
 * index-url and find-links), and builds the PEP 751 lock, comparing it
 * with the one already on disk. Nothing is downloaded beyond index pages
 * and METADATA.
 */
#ifndef ENVMATRIX_PLAN_H
#define ENVMATRIX_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/buf.h"
#include "envmatrix/error.h"
#include "gpu.h"
#include "interp.h"
#include "spec/lock.h"
#include "spec/matrix.h"
#include "pybuild.h"
#include "spec/resolve.h"
#include "source.h"
#include "spec/target.h"

/* em_driver_parse, em_driver_cmp, em_driver_minimum: gpu.h */

enum em_change_kind {
	EM_CHANGE_ADDED,
	EM_CHANGE_REMOVED,
	EM_CHANGE_UPGRADED,
	EM_CHANGE_DOWNGRADED,
	EM_CHANGE_SWITCHED, /* same public version, another local label (+cpu -> +cu126) */
	EM_CHANGE_REBUILT   /* same version, another file */
};
#define EM_CHANGE_KINDS 6
/* "added", "removed", "upgraded", "downgraded", "switched", "rebuilt" */
const char *em_change_kind_name(enum em_change_kind k);

struct em_change {
	enum em_change_kind kind;
	const char *name;
	const char *from, *to; /* versions; NULL when absent */
};

#define EM_PLAN_MAX_WARNINGS 8
/* The package changes from lock old to lock nw, sorted by name (what the
 * planner reports; the history's summaries use it too). EM_ENOMEM only. */
EM_MUST_USE
int em_lock_diff(struct em_arena *a, const struct em_lock *old, const struct em_lock *nw,
		 struct em_change **out, uint32_t *n);

struct em_workload_plan {
	const struct em_workload *w;
	int status;                 /* 0, or the error that stopped this workload */
	struct em_error err;
	char *explain;              /* the resolver's explanation when it failed */
	struct em_target target;
	char platform_name[64];
	char python_name[32];
	const char *python_from;    /* "matrix" (exact), "download" (python_build)
				     * or the interpreter's path */
	const struct em_pybuild *python_build; /* the python-build-standalone
				     * archive the interpreter comes from (a
				     * download, or an installation of the managed
				     * folder); recorded in the lock */
	bool host_target;           /* the platform is this machine's */
	const char *variant;        /* "cu126", "cpu", NULL without torch */
	const char *variant_why;    /* how it was chosen, for --verbose */
	const char *torch_index;    /* the variant index URL, NULL without torch */
	const char *torch_version;  /* resolved, NULL without torch */
	struct em_resolution res;
	struct em_lock lock;
	char *lock_text;
	size_t lock_len;
	char *lock_path;
	bool had_lock;
	bool lock_changed;          /* lock_text differs from the file on disk */
	uint32_t npackages;
	int64_t download;           /* bytes; sizes the index did not give are read */
	uint32_t nchanges;
	struct em_change *changes;
	struct em_resolve_stats stats;
	/* what may go wrong although planning succeeded (a driver older than
	 * the variant's toolkit, a variant skipped for the GPU), one line each */
	uint32_t nwarnings;
	const char *warnings[EM_PLAN_MAX_WARNINGS];
};

struct em_plan_options {
	const char *matrix_path;          /* the matrix file, for locks beside it */
	uint32_t nonly;                   /* plan only these workloads (0: all) */
	const char *const *only;
	bool upgrade;                     /* ignore the existing locks' versions */
	const char *driver_env;           /* ENVMATRIX_CUDA_DRIVER, or NULL */
	/* this machine's driver and GPUs (em_gpu_detect), for workloads whose
	 * platform is this machine's: the driver when neither cuda-driver nor
	 * driver_env names one, and each GPU's compute capability against the
	 * torch build; NULL: not known (no checks) */
	const struct em_gpu_info *gpu;
	const struct em_platform *host;   /* this machine ("auto") */
	/* interpreters for python = 3.12 / a specifier; discovered on first
	 * need when NULL */
	const struct em_interp_list *interps;
	/* where the python-build-standalone catalogue is read (pybuild.h);
	 * NULL: downloads are not considered (em_plan_build uses its src) */
	struct em_source *python_src;
	/* reads the requirements files and the existing locks (as
	 * em_read_file does, EM_ENOTFOUND when absent); NULL: the disk.
	 * apply --rev reads them from a git revision (rev.h em_rev_read) */
	int (*read_file)(void *ctx, struct em_arena *a, const char *path, size_t max, char **out,
			 size_t *len, struct em_error *e);
	void *read_ctx;
	/* The core metadata of a release planned from its sdist when neither
	 * the index (PEP 658) nor the sdist's PKG-INFO has it statically (PEP
	 * 643): the build module prepares it (prepare_metadata_for_build_wheel,
	 * or a build) from the sdist at sdist_path, a verified file whose
	 * sha256 is given (to cache by), for the workload wp is planning (its
	 * w, target, host_target, python_from and python_name are settled).
	 * The METADATA text goes in *metadata (allocated in a), its length in
	 * *len; *warning (or NULL) is added to the plan's warnings (metadata
	 * prepared for another platform with this machine's Python). 0, or a
	 * negative EM_E* code with e filled (the workload fails with it).
	 * NULL: such a release cannot be used, and the plan says it needs a
	 * build. apply.h's em_apply_sdist_metadata is the real one. */
	int (*sdist_metadata)(void *ctx, struct em_arena *a, const char *sdist_path,
			      const char *sha256, const struct em_workload_plan *wp,
			      char **metadata, size_t *len, const char **warning,
			      struct em_error *e);
	void *sdist_ctx;
};

struct em_plan {
	const struct em_matrix *m;
	uint32_t n;
	struct em_workload_plan *w;
	uint32_t nfailed;
	/* the interpreters discovered while planning (n = 0 when none were
	 * needed or o->interps was given), for reuse by the caller */
	struct em_interp_list found;
};

/* Plan every (selected) workload. A workload's own problems are recorded in
 * its plan (status, err, explain) and the others go on; the return value
 * is for problems with the matrix as a whole (an unknown workload name in
 * only, out of memory). */
EM_MUST_USE
int em_plan_build(struct em_arena *a, struct em_source *src, const struct em_matrix *m,
		  const struct em_plan_options *o, struct em_plan *out, struct em_error *e);

/* Write the changed locks (atomically). */
EM_MUST_USE
int em_plan_write_locks(const struct em_plan *p, struct em_error *e);

#endif
