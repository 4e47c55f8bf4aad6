/* apply.h - from locks to environments, and back to the previous ones
 *
 * Applying a workload plans it (or reads its lock), builds its environment
 * in a staging folder beside the target with the packages of its install
 * set (install_set.h), verifies it (verify.h), then swaps it in (swap.h)
 * under the apply lock (apply_lock.h) the caller holds. The environment
 * that was there becomes the snapshot <venv>-original; rolling back swaps
 * the two. docs/safety.md lists every folder envmatrix touches.
 */
#ifndef ENVMATRIX_APPLY_H
#define ENVMATRIX_APPLY_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "envmatrix/error.h"
#include "install.h"
#include "spec/matrix.h"
#include "plan.h"
#include "source.h"
#include "swap.h"
#include "verify.h"

enum em_apply_outcome {
	EM_APPLY_UNCHANGED,   /* the environment already matches its lock */
	EM_APPLY_BUILT,       /* built and swapped in */
	EM_APPLY_WOULD_BUILD, /* --dry-run */
	EM_APPLY_STALE,       /* --locked and the lock is out of date */
	EM_APPLY_FAILED,
	EM_APPLY_SKIPPED      /* not tried: an earlier failure (--fail-fast, --locked) */
};
const char *em_apply_outcome_name(enum em_apply_outcome o);

enum em_apply_event_kind {
	EM_EV_RECOVERED, /* detail: what was done to an interrupted swap */
	EM_EV_BUILD,     /* a workload's build starts (total: packages) */
	EM_EV_PACKAGE,   /* detail: a package being installed (done of total) */
	EM_EV_SWAPPED,   /* detail: the new environment's path */
	EM_EV_FINISHED,  /* a workload is done (any outcome) */
	EM_EV_VERIFY,    /* detail: the staging folder being verified */
	EM_EV_KEPT,      /* detail: a snapshot envmatrix did not make, and where it
			  * was kept (a warning) */
	EM_EV_HEALED,    /* detail: an unpacked wheel in the cache was damaged (a
			  * file differs from its RECORD) and is unpacked again */
	EM_EV_BUILD_SDIST /* detail: "NAME VERSION", a package without a wheel for
			   * the target being built from its sdist (done of total:
			   * among the sdists of the workload) */
};

struct em_apply_event {
	enum em_apply_event_kind kind;
	const char *workload;
	const char *detail;
	uint32_t done, total;
};

struct em_apply_options {
	struct em_plan_options plan; /* matrix_path, only, upgrade, driver_env, host,
				      * interps */
	bool frozen;    /* install the locks as they are, without planning */
	bool locked;    /* plan, and fail (EM_APPLY_STALE) when a lock would change;
			 * nothing is planned with frozen, so it does nothing then (the
			 * front end refuses the two together) */
	bool dry_run;   /* change nothing; say what would be built */
	bool force;     /* rebuild even environments that match their locks, after
			 * checking the cache's unpacked wheels they use against
			 * their RECORDs (damaged ones are unpacked again) */
	bool fail_fast; /* stop at the first failed workload */
	bool keep_locks; /* write no lock files (apply --rev leaves the work tree alone) */
	/* frozen: install this lock text for workload lock_for instead of its
	 * lock file (rollback --to N: a recorded generation's lock) */
	const char *lock_for;
	const char *lock_text;
	size_t lock_len;
	volatile sig_atomic_t *cancel; /* set (by a signal handler) to stop */
	/* verification of each new environment before the swap (verify.h): a
	 * failed one is not swapped in (the workload FAILS) unless no_verify,
	 * which skips it */
	bool no_verify;
	struct em_host_gpu gpu;  /* the host's GPU, for the checks */
	int verify_timeout_ms;   /* 0: EM_VERIFY_TIMEOUT_MS */
	void (*event)(void *ctx, const struct em_apply_event *ev);
	void *ctx;
};

struct em_workload_apply {
	const struct em_workload *w;
	enum em_apply_outcome outcome;
	const char *reason;          /* why it is (or would be) built */
	struct em_error err;         /* FAILED, STALE */
	struct em_workload_plan *plan; /* target, lock and changes (frozen: from the lock) */
	struct em_venv_paths paths;
	bool replaced;               /* an existing environment became the snapshot */
	const char *kept;            /* where a snapshot envmatrix did not make went
				      * (<snapshot>.N), NULL when none */
	uint32_t npackages;
	uint32_t nunpacked;          /* wheels unpacked into the cache by this run */
	uint64_t files, bytes;
	enum em_link_mode link_used;
	double seconds;
	struct em_verify_result *verify; /* the new environment's checks, NULL when it
					  * was not verified (not built, --no-verify,
					  * another platform's) */
};

struct em_apply {
	const struct em_matrix *m;
	uint32_t n;
	struct em_workload_apply *w;
	uint32_t nfailed, nstale, nbuilt;
};

/* Apply every selected workload. Per-workload problems are recorded in
 * out->w[i] and the others go on (unless fail_fast); the return value is
 * for problems with the run as a whole (an unknown workload, no cache,
 * out of memory, EM_ECANCELED when *cancel was set). The caller holds the
 * state lock. */
EM_MUST_USE
int em_apply_run(struct em_arena *a, struct em_source *src, const struct em_matrix *m,
		 const struct em_apply_options *o, struct em_apply *out, struct em_error *e);

/* The planner's sdist metadata hook (plan.h em_plan_options.sdist_metadata)
 * for plans that are made for real (plan, apply): ctx is a struct
 * em_sdist_hook. The METADATA of an sdist whose metadata is dynamic is
 * prepared by the build module (em_build_metadata: cached by the sdist's
 * sha256 and the Python) with the workload's index, find-links and env.*,
 * for the Python the plan chose; for a workload of another platform with
 * this machine's Python of the same minor version, assuming the metadata
 * does not depend on the platform (as uv does), which *warning says.
 * em_apply_run sets it itself when the caller's plan options have none. */
struct em_sdist_hook {
	struct em_source *src;        /* its disk is the cache builds use */
	const struct em_matrix *m;
	const char *matrix_path;      /* NULL: m->file */
	const struct em_platform *host;
	const struct em_interp_list *interps; /* NULL: discovered */
	volatile sig_atomic_t *cancel;
};
EM_MUST_USE
int em_apply_sdist_metadata(void *ctx, struct em_arena *a, const char *sdist_path,
			    const char *sha256, const struct em_workload_plan *wp,
			    char **metadata, size_t *len, const char **warning,
			    struct em_error *e);

/* Build options (build.h) for a build for workload w of the matrix at
 * matrix_path: w's index and find-links for the build requirements
 * (paths made absolute against the matrix's folder), its env.* for the
 * hooks, python (an interpreter's path or a matrix python value),
 * the settings' build_timeout (seconds) when set; for project package (PEP
 * 503 normalized; NULL: none) its build-requires.PKG as extra_requires
 * and config-settings.PKG as config; build-constraints read (errors name
 * the matrix's file:line for a missing file, the file's own line for a
 * bad one). Apply, the plan's metadata hook and 'envmatrix build -f' use
 * it. no_isolation_python is left for the caller. */
struct em_build_options;
EM_MUST_USE
int em_workload_build_options(struct em_arena *a, const char *matrix_path,
			      const struct em_workload *w, const char *package, const char *python,
			      const struct em_platform *host, const struct em_interp_list *interps,
			      volatile sig_atomic_t *cancel, struct em_build_options *o,
			      struct em_error *e);

/* Make at dest (an absolute path, replaced) the environment of the
 * planned workload wp of m (em_plan_build with po), as apply makes a
 * staging folder: a venv for final_root (where it will be renamed to;
 * may equal dest) with every package of wp's lock installed from the
 * cache (downloaded first when missing) and the lock as pylock.toml,
 * without verifying it and without swapping anything. dest is removed on
 * failure. Build environments (build.h) are made this way, so a package
 * with only an sdist is refused here (build requirements are not built
 * from source). */
EM_MUST_USE
int em_apply_install_lock(struct em_arena *a, struct em_source *src, const struct em_matrix *m,
			  const struct em_plan_options *po, struct em_workload_plan *wp,
			  const char *dest, const char *final_root, volatile sig_atomic_t *cancel,
			  struct em_error *e);

#endif
