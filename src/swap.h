/* swap.h - a workload's environment on disk: putting a new one in place
 * and back (swap.c)
 *
 * Apply (apply.h) builds an environment in a staging folder beside the
 * target, then swaps it in: the environment that was there (whoever
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
 *   <matrix dir>/.envmatrix/     state: the apply lock (apply_lock.h)
 */
#ifndef ENVMATRIX_SWAP_H
#define ENVMATRIX_SWAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "envmatrix/error.h"
#include "spec/matrix.h"

#define EM_VENV_LOCK_NAME "pylock.toml" /* inside the environment */

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
EM_MUST_USE
int em_venv_paths(struct em_arena *a, const char *matrix_path, const struct em_workload *w,
		  struct em_venv_paths *out, struct em_error *e);

/* Finish a swap that a crash interrupted after the new environment was in
 * place, or undo one interrupted before, then remove leftovers (a staging
 * folder, a trash folder). *what (may be NULL) gets a short description
 * of what was done, or NULL when there was nothing to do. */
EM_MUST_USE
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
EM_MUST_USE
int em_venv_swap_in(struct em_arena *a, const struct em_venv_paths *p, const char **kept,
		    struct em_error *e);

/* Swap root and snapshot (a second rollback undoes the first).
 * EM_ENOTFOUND with a message naming the snapshot when there is none;
 * EM_EINVAL, nothing moved, when the snapshot is not an environment or
 * root exists and is not one (an empty root is removed). */
EM_MUST_USE
int em_venv_rollback(const struct em_venv_paths *p, struct em_error *e);

/* 0 when root may be replaced by an environment: it does not exist, it
 * has pyvenv.cfg, or it is an empty folder (*empty, may be NULL); else
 * EM_EINVAL, "'<root>' exists and is not a Python environment (no
 * pyvenv.cfg)..." (a file, a link to nothing) without a place. */
EM_MUST_USE
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
EM_MUST_USE
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

/* Never fails (returns 0): what cannot be read is left NULL/false; not
 * EM_MUST_USE for that reason. */
int em_venv_state_read(struct em_arena *a, const struct em_venv_paths *p,
		       struct em_venv_state *out, struct em_error *e);

#endif
