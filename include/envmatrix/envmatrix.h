/* envmatrix.h - the public interface of libenvmatrix
 *
 * What a front end needs to manage a matrix (docs/matrix.md) the way the
 * envmatrix command does: open it as a project, then plan, apply, roll
 * back, and read status, history and verification results.
 *
 *     struct em_project *p;
 *     struct em_error e;
 *     const struct em_apply_result *r;
 *     if (em_project_open("matrix.ini", NULL, &p, &e) ||
 *         em_project_apply(p, NULL, 0, 0, &r, &e))
 *             fprintf(stderr, "%s: %s\n", e.where, e.msg);
 *     em_project_close(p);
 *
 * Every call returns 0 or a negative EM_E* code (error.h) and then fills
 * the caller's struct em_error (which may be NULL). A call on several
 * workloads records each workload's own failure in its result and goes on
 * with the others; it then returns the first failed workload's code with
 * the record naming the workload. Results are read-only and belong to the
 * project: each stays valid until the next call of the same kind on the
 * project, or em_project_close. A project is used by one thread at a time.
 *
 * The library never prints and never exits; settings come from struct
 * em_options, not from environment variables (the envmatrix command maps
 * ENVMATRIX_* onto them).
 *
 * Link with `pkg-config --libs --static envmatrix` (libenvmatrix.a).
 */
#ifndef ENVMATRIX_H
#define ENVMATRIX_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envmatrix/version.h"
#include "envmatrix/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The library's version (EM_VERSION of the library linked, which may differ
 * from the header's). */
const char *em_library_version(void);

/* ---- settings ---- */

/* What happens during apply and rollback, for a progress display. */
enum em_event_kind {
	EM_EVENT_RECOVERED,   /* detail: what was done to an interrupted swap */
	EM_EVENT_BUILD,       /* a workload's build starts (total: packages) */
	EM_EVENT_PACKAGE,     /* detail: a package being installed (done of total) */
	EM_EVENT_SWAPPED,     /* detail: the new environment's path */
	EM_EVENT_FINISHED,    /* a workload is done (any outcome) */
	EM_EVENT_VERIFY,      /* detail: the new environment being verified */
	EM_EVENT_KEPT,        /* detail: a snapshot envmatrix did not make, and where
			       * it was kept (worth telling the user) */
	EM_EVENT_HEALED,      /* detail: a damaged wheel in the cache, unpacked again */
	EM_EVENT_BUILD_SDIST  /* detail: "NAME VERSION" built from its sdist
			       * (done of total sdists) */
};

struct em_event {
	enum em_event_kind kind;
	const char *workload;
	const char *detail;
	uint32_t done, total;
};

/* Zero (or NULL options) is the default for every field. Strings are
 * copied by em_project_open. In parentheses: the variable the envmatrix
 * command reads for the field. */
struct em_options {
	const char *cache_dir;      /* downloads and unpacked wheels, shared by every
				     * matrix (ENVMATRIX_CACHE_DIR); a matrix's own
				     * cache-dir wins. NULL: $XDG_CACHE_HOME/envmatrix */
	const char *python_dir;     /* where downloaded interpreters are installed
				     * (ENVMATRIX_PYTHON_DIR) */
	const char *python_mirror;  /* where python-build-standalone is downloaded
				     * from (ENVMATRIX_PYTHON_MIRROR) */
	const char *cuda_driver;    /* plan for this NVIDIA driver ("580.65.06")
				     * instead of the detected one, when the matrix
				     * names none (ENVMATRIX_CUDA_DRIVER) */
	const char *history;        /* the history repository, or "off"
				     * (ENVMATRIX_HISTORY). NULL: the matrix's */
	const char *gpu_sysroot;    /* read the NVIDIA driver's /proc and /sys files
				     * under this folder, not the real ones; NVML is
				     * then not loaded (ENVMATRIX_SYSROOT) */
	const char *nvidia_smi;     /* the nvidia-smi to run; "" runs none
				     * (ENVMATRIX_NVIDIA_SMI) */
	bool offline;               /* only what the cache holds, never the network */
	bool refresh;               /* fetch index pages whole again */
	unsigned jobs;              /* downloads at once, 1 to 256; 0: the matrix's
				     * jobs, else 8 */
	int verify_timeout_ms;      /* each verification run; 0: 300 s
				     * (ENVMATRIX_VERIFY_TIMEOUT) */
	unsigned build_timeout_s;   /* each build from source; 0: the default
				     * (ENVMATRIX_BUILD_TIMEOUT) */
	/* set to non-zero (from a signal handler) to stop a running call:
	 * it returns EM_ECANCELED, every environment complete, old or new */
	volatile sig_atomic_t *cancel;
	void (*event)(void *ctx, const struct em_event *ev);
	void *event_ctx;
};

/* ---- a project: one matrix file ---- */

struct em_project;

/* Read and check the matrix at path (its syntax, its workloads' folders).
 * EM_ENOTFOUND when there is no such file, EM_EINVAL with "file:line" in
 * where for a matrix that is not valid. *out is NULL on failure. */
EM_MUST_USE int em_project_open(const char *path, const struct em_options *o,
				struct em_project **out, struct em_error *e);
void em_project_close(struct em_project *p); /* NULL is fine */

const char *em_project_path(const struct em_project *p);
/* The matrix's workloads, in the file's order. */
size_t em_project_workload_count(const struct em_project *p);
const char *em_project_workload_name(const struct em_project *p, size_t i);

/* The calls below take the workloads to work on as names (n of them);
 * n == 0 means every workload. A name the matrix lacks is EM_ENOTFOUND,
 * naming the workloads it has, before anything is done. */

/* ---- plan: resolve each workload and write its lock ---- */

#define EM_PLAN_UPGRADE 0x1u /* ignore the versions in the existing locks */
#define EM_PLAN_CHECK 0x2u   /* write no lock, only compare (lock_state says) */

enum em_lock_state {
	EM_LOCK_NEW,       /* there was no lock */
	EM_LOCK_CHANGED,   /* the lock differs from the one on disk */
	EM_LOCK_UNCHANGED
};

struct em_planned {
	const char *workload;
	int code;                   /* 0, or what stopped this workload */
	struct em_error error;      /* when code != 0 */
	const char *explanation;    /* why the requirements conflict, NULL */
	const char *platform;       /* "linux-x86_64"; NULL when not settled */
	const char *python;         /* "3.12.10"; NULL when not settled */
	const char *torch;          /* "2.8.0+cu126"; NULL without torch */
	const char *variant;        /* "cu126", "cpu"; NULL without torch */
	const char *lock_path;      /* pylock.<workload>.toml */
	enum em_lock_state lock_state;
	uint32_t packages;
	int64_t download_bytes;
	size_t nwarnings;           /* what may go wrong although planning worked */
	const char *const *warnings;
};

struct em_plan_result {
	size_t n;
	const struct em_planned *w;
	size_t nfailed;
	size_t nchanged;            /* locks written (EM_PLAN_CHECK: out of date) */
};

EM_MUST_USE int em_project_plan(struct em_project *p, const char *const *workloads, size_t n,
				unsigned flags, const struct em_plan_result **out,
				struct em_error *e);

/* ---- verification results ---- */

enum em_verdict { EM_VERDICT_OK, EM_VERDICT_FAILED, EM_VERDICT_SKIPPED };

struct em_check_result {
	const char *name;           /* "import torch", "torch.version.cuda" */
	enum em_verdict verdict;
	const char *expected;       /* NULL: nothing particular */
	const char *got;            /* NULL: nothing to show */
	const char *detail;         /* why it failed or was skipped, NULL */
	double seconds;
};

struct em_verified {
	const char *when;           /* UTC, "2026-11-27T01:30:12Z" */
	const char *python;         /* the version that ran, NULL */
	double seconds;
	uint32_t passed, failed, skipped;
	size_t n;
	const struct em_check_result *checks;
};

/* ---- apply: make each environment match its lock ---- */

#define EM_APPLY_FROZEN 0x01u    /* install the locks as they are, without planning */
#define EM_APPLY_LOCKED 0x02u    /* plan; a lock out of date is EM_OUTCOME_STALE */
#define EM_APPLY_DRY_RUN 0x04u   /* change nothing; say what would be built */
#define EM_APPLY_FORCE 0x08u     /* rebuild environments that match their locks */
#define EM_APPLY_FAIL_FAST 0x10u /* stop at the first workload that fails */
#define EM_APPLY_UPGRADE 0x20u   /* ignore the versions in the existing locks */
#define EM_APPLY_NO_VERIFY 0x40u /* swap new environments in unverified */
#define EM_APPLY_WAIT 0x80u      /* wait for another apply of the matrix (else EM_EBUSY) */

enum em_outcome {
	EM_OUTCOME_UNCHANGED,   /* the environment already matched its lock */
	EM_OUTCOME_BUILT,       /* built, verified and swapped in */
	EM_OUTCOME_WOULD_BUILD, /* EM_APPLY_DRY_RUN */
	EM_OUTCOME_STALE,       /* EM_APPLY_LOCKED and the lock is out of date */
	EM_OUTCOME_FAILED,
	EM_OUTCOME_SKIPPED      /* not tried after an earlier failure */
};
/* "unchanged", "built", "would build", "stale", "failed", "skipped" */
const char *em_outcome_name(enum em_outcome o);

struct em_applied {
	const char *workload;
	enum em_outcome outcome;
	const char *reason;         /* why it was (or would be) built, NULL */
	struct em_error error;      /* FAILED, STALE */
	const char *venv;           /* the environment's folder */
	const char *snapshot;       /* the environment it replaced, now kept
				     * there; NULL when none was replaced */
	const char *python, *torch, *variant; /* NULL when not known */
	uint32_t packages;
	double seconds;
	uint32_t generation;        /* recorded in the history; 0: none */
	const struct em_verified *verify; /* NULL when not verified */
};

struct em_apply_result {
	size_t n;
	const struct em_applied *w;
	size_t nfailed, nstale, nbuilt;
};

/* Plans (unless EM_APPLY_FROZEN), builds each environment that differs
 * from its lock in a staging folder, verifies it (unless
 * EM_APPLY_NO_VERIFY), swaps it in (the old one becomes its snapshot) and
 * records a generation per built workload in the history. The history
 * failing to record is an error after the environments are in place. */
EM_MUST_USE int em_project_apply(struct em_project *p, const char *const *workloads, size_t n,
				 unsigned flags, const struct em_apply_result **out,
				 struct em_error *e);

/* ---- rollback ---- */

#define EM_ROLLBACK_WAIT 0x1u    /* wait for an apply of the matrix (else EM_EBUSY) */

/* generation 0: swap the workload's environment and its snapshot
 * (EM_ENOTFOUND when it has none). generation N: rebuild the workload's
 * generation N from the lock the history recorded, make that lock the
 * workload's lock and record a new generation. */
EM_MUST_USE int em_project_rollback(struct em_project *p, const char *workload,
				    uint32_t generation, unsigned flags, struct em_error *e);

/* ---- status: what each environment holds (nothing is run or changed) ---- */

enum em_env_state {
	EM_ENV_CURRENT,     /* built from the workload's lock */
	EM_ENV_OUTDATED,    /* built from another lock */
	EM_ENV_FOREIGN,     /* not made by envmatrix */
	EM_ENV_MISSING,     /* no environment yet */
	EM_ENV_UNPLANNED,   /* no lock yet */
	EM_ENV_INTERRUPTED  /* an apply was interrupted; the next apply or
			     * rollback finishes or undoes it */
};
/* "current", "outdated", "foreign", "missing", "unplanned", "interrupted" */
const char *em_env_state_name(enum em_env_state s);

struct em_status_entry {
	const char *workload;
	enum em_env_state state;
	struct em_error error;      /* a lock of another matrix was found, or the
				     * code 0 */
	const char *venv;
	const char *python, *torch, *variant; /* installed; NULL when not known */
	const char *snapshot;       /* its folder when there is one, else NULL */
	const char *snapshot_python, *snapshot_torch;
	size_t nkept;               /* snapshots envmatrix did not make, kept */
	const char *const *kept;
	size_t nbuilt;              /* packages built from their sdists */
	const char *const *built;
	const struct em_verified *verify; /* the last verification, NULL */
};

struct em_status_result {
	size_t n;
	const struct em_status_entry *w;
};

EM_MUST_USE int em_project_status(struct em_project *p, const char *const *workloads, size_t n,
				  const struct em_status_result **out, struct em_error *e);

/* ---- history: the generations applied, newest first ---- */

struct em_history_entry {
	const char *workload;
	uint32_t generation;
	int64_t time;               /* seconds since the epoch */
	const char *commit;         /* the history commit's id (hex) */
	const char *kind;           /* "apply", "frozen" or "rollback" */
	uint32_t rollback_to;       /* kind "rollback": the generation rebuilt */
	const char *rev;            /* the matrix's commit it was applied from, NULL */
	const char *author;
	const char *summary;        /* what changed, in plain words */
};

struct em_history_result {
	const char *path;           /* the history repository */
	size_t n;
	const struct em_history_entry *g;
};

/* workload NULL: every workload; limit 0: every generation. No history
 * yet is n == 0; a history that is off is EM_ENOTFOUND. */
EM_MUST_USE int em_project_history(struct em_project *p, const char *workload, size_t limit,
				   const struct em_history_result **out, struct em_error *e);

/* ---- verify: run each environment's checks and keep the results ---- */

#define EM_VERIFY_WAIT 0x1u /* wait for an apply of the matrix (else EM_EBUSY) */

struct em_verify_entry {
	const char *workload;
	const char *venv;
	int code;                   /* 0, or why it could not be verified */
	struct em_error error;
	const struct em_verified *result; /* NULL when not verified */
};

struct em_verify_report {
	size_t n;
	const struct em_verify_entry *w;
	size_t nfailed;             /* workloads with a failed check */
};

/* A failed check is a result (nfailed), not an error; an environment that
 * cannot be verified (missing, interrupted) is its entry's code. */
EM_MUST_USE int em_project_verify(struct em_project *p, const char *const *workloads, size_t n,
				  unsigned flags, const struct em_verify_report **out,
				  struct em_error *e);

#ifdef __cplusplus
}
#endif

#endif
