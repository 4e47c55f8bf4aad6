/* apply.h - from locks to environments, and back to the previous ones
 *
 * Applying a workload builds its environment in a staging folder beside
 * the target, then swaps it in: the environment that was there (whoever
 * made it) becomes the snapshot <venv>-original, replacing an older one
 * that envmatrix made (an older one that it did not make is kept as
 * <venv>-original.N). Only Python environments (folders with pyvenv.cfg)
 * are ever moved; docs/safety.md lists every folder envmatrix touches.
 * A journal written before the swap lets the next run finish or undo a
 * swap that a crash interrupted, so the target is always a complete old or
 * new environment. Rolling back swaps the environment and its snapshot.
 *
 *   <root>                       the environment
 *   <root>-original              the snapshot (the previous environment)
 *   <root>-original/.envmatrix-snapshot  marks a snapshot envmatrix filed
 *   <root>-original.N            a snapshot envmatrix did not make, kept
 *   <root>.envmatrix-staging     the next environment, being built
 *   <root>.envmatrix-trash       an old snapshot on its way out
 *   <root>.envmatrix-swap        the journal of a swap in progress
 *   <root>/pylock.toml           the lock the environment was built from
 *   <root>/envmatrix-verify.json the last verification's results (verify.h)
 *   <matrix dir>/.envmatrix/     state: the apply lock (one apply at a time)
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
#include "spec/lock.h"
#include "spec/matrix.h"
#include "plan.h"
#include "source.h"
#include "spec/tags.h"
#include "spec/target.h"
#include "verify.h"

/* ---- what a lock installs on a target (no I/O) ---- */

struct em_install_item {
	const struct em_lock_package *pkg;
	const struct em_lock_file *wheel; /* the best wheel for the target; NULL when
					   * the package is built from its sdist */
	const char *location;             /* its URL, or an absolute path (the sdist's
					   * when wheel is NULL) */
	const struct em_lock_file *sdist; /* the sdist to build when no wheel fits the
					   * target, else NULL; apply builds it
					   * (build.h) and installs the built wheel */
};

/* The packages of l that apply to target t (markers evaluated, PEP 751:
 * extras empty, dependency groups the lock's default-groups) with the best
 * wheel of each for tags, or, when none fits, its sdist (to build). The
 * lock's requires-python and environments must admit the target. Errors
 * name the lock file (lock_path, for messages and relative paths) and line
 * and the package: one without a compatible wheel or an sdist, only
 * another source (VCS, directory, a non-wheel archive), a wheel or sdist
 * without sha256, a wheel whose name is another project's, a package
 * listed twice. */
int em_lock_install_set(struct em_arena *a, const struct em_lock *l, const char *lock_path,
			const struct em_target *t, const struct em_tagset *tags,
			struct em_install_item **items, uint32_t *n, struct em_error *e);

/* The packages of an environment's lock (the pylock.toml apply writes into
 * it: text, len; lock_path for relative paths) that apply built from their
 * sdists: those without a wheel for the lock's own target (its platform
 * and python), in the lock's order. *n is 0 when the lock cannot be read
 * or names no target (a lock envmatrix did not write). For status and
 * verify. Returns 0, or EM_ENOMEM. */
int em_lock_built_from_source(struct em_arena *a, const char *text, size_t len,
			      const char *lock_path, const char ***names, uint32_t *n);

/* ---- a workload's environment on disk ---- */

#define EM_VENV_LOCK_NAME "pylock.toml" /* inside the environment */
#define EM_STATE_DIR ".envmatrix"       /* beside the matrix */

struct em_venv_paths {
	const char *workload; /* its name (for the snapshot's marker) */
	const char *root;
	const char *snapshot;
	const char *staging;
	const char *trash;
	const char *journal;
};

/* The paths of workload w of the matrix at matrix_path: root is
 * <matrix dir>/<path>/<venv> (path may be absolute), made absolute. */
int em_venv_paths(struct em_arena *a, const char *matrix_path, const struct em_workload *w,
		  struct em_venv_paths *out, struct em_error *e);

/* Finish a swap that a crash interrupted after the new environment was in
 * place, or undo one interrupted before, then remove leftovers (a staging
 * folder, a trash folder). *what (may be NULL) gets a short description
 * of what was done, or NULL when there was nothing to do. */
int em_venv_recover(struct em_arena *a, const struct em_venv_paths *p, const char **what,
		    struct em_error *e);

/* Whether a swap of this environment was interrupted and is not finished
 * or undone yet (em_venv_recover does that). */
bool em_venv_swap_interrupted(const struct em_venv_paths *p);

/* Put the complete staging folder in place: root (when it exists) becomes
 * the snapshot, replacing an older snapshot. Journaled; the old snapshot
 * is deleted last. A root that is not an environment is refused (as
 * em_venv_check_target), an empty one removed. An old snapshot that
 * envmatrix did not make (em_venv_snapshot_ours) is moved to the first
 * free name <snapshot>.N instead, which *kept (may be NULL) gets, even
 * when the swap then fails. */
int em_venv_swap_in(struct em_arena *a, const struct em_venv_paths *p, const char **kept,
		    struct em_error *e);

/* Swap root and snapshot (a second rollback undoes the first).
 * EM_ENOTFOUND with a message naming the snapshot when there is none;
 * EM_EINVAL, nothing moved, when the snapshot is not an environment or
 * root exists and is not one (an empty root is removed). */
int em_venv_rollback(const struct em_venv_paths *p, struct em_error *e);

/* 0 when root may be replaced by an environment: it does not exist, it
 * has pyvenv.cfg, or it is an empty folder (*empty, may be NULL); else
 * EM_EINVAL, "'<root>' exists and is not a Python environment (no
 * pyvenv.cfg)..." (a file, a link to nothing) without a place. */
int em_venv_check_target(const char *root, bool *empty, struct em_error *e);

/* Whether the folder dir is a snapshot envmatrix filed: it has the marker
 * and its pyvenv.cfg has envmatrix's keys. Only such a snapshot is ever
 * deleted. */
bool em_venv_snapshot_ours(const char *dir);

/* The line of the key that places workload w's environment (venv set in
 * its section, else path, else an inherited venv, else its header). */
uint32_t em_workload_folder_line(const struct em_workload *w);

/* The folders of the matrix at matrix_path, compared on disk (links and
 * '..' resolved, the same device and inode): no workload's environment,
 * snapshot, staging, trash or journal is, contains or is inside the state
 * folder or the history repository (em_history_path with history_env),
 * no two workloads' environments are the same folder or nested, and none
 * is another's snapshot, staging or trash. EM_EINVAL with the matrix's
 * file:line. Every command that reads the matrix checks this. */
int em_matrix_check_folders(struct em_arena *a, const char *matrix_path,
			    const struct em_matrix *m, const char *history_env, struct em_error *e);

/* What is at root, read without running anything. */
struct em_venv_state {
	bool exists;          /* root exists */
	bool has_snapshot;
	bool by_envmatrix;    /* pyvenv.cfg has envmatrix's keys */
	const char *lock_text;/* root/pylock.toml, NULL when absent */
	size_t lock_len;
	const char *python;   /* pyvenv.cfg version_info (or version), NULL */
	const char *home;     /* pyvenv.cfg home, NULL */
	const char *torch;    /* the installed torch version, NULL without */
	const char *variant;  /* cu126, cpu... from the lock or torch's local label */
	const char *snapshot_python;
	const char *snapshot_torch;
	bool snapshot_ours;   /* the snapshot is envmatrix's (em_venv_snapshot_ours) */
	uint32_t nkept;       /* snapshots envmatrix did not make, kept beside it */
	const char **kept;    /* (<snapshot>.N, in order of N) */
};

int em_venv_state_read(struct em_arena *a, const struct em_venv_paths *p,
		       struct em_venv_state *out, struct em_error *e);

/* ---- one apply at a time per matrix ---- */

struct em_state_lock {
	int fd; /* -1 when not held */
};

/* Take <matrix dir>/.envmatrix/apply.lock for command ("apply",
 * "rollback"). Without block, a lock held by another process is EM_EBUSY
 * with a message naming its process and command; with block, wait for it.
 * The lock goes with the process, so a crash never leaves it held. */
int em_state_lock_take(struct em_arena *a, const char *matrix_path, const char *command,
		       bool block, struct em_state_lock *out, struct em_error *e);
/* For a command that only reads the environments (verify): the same lock
 * held shared, so no apply or rollback swaps while it reads and readers do
 * not exclude each other. An existing lock file is opened read-only; a
 * missing one is created as em_state_lock_take does, and when the folder
 * is read-only (EROFS, EACCES, EPERM) nothing is taken (out->fd stays -1):
 * no apply can hold a lock that does not exist. EM_EBUSY without block. */
int em_state_lock_take_shared(struct em_arena *a, const char *matrix_path, bool block,
			      struct em_state_lock *out, struct em_error *e);
void em_state_lock_release(struct em_state_lock *l);

/* ---- apply ---- */

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
int em_apply_install_lock(struct em_arena *a, struct em_source *src, const struct em_matrix *m,
			  const struct em_plan_options *po, struct em_workload_plan *wp,
			  const char *dest, const char *final_root, volatile sig_atomic_t *cancel,
			  struct em_error *e);

#endif
