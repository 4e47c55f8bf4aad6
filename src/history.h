/* history.h - the history of applied generations: a git repository
 * (state.c)
 *
 * Every apply that changes an environment records one commit in a bare
 * git repository (libgit2), by default <matrix dir>/.envmatrix/history.git
 * (the matrix's 'history' key or ENVMATRIX_HISTORY name another folder;
 * 'off' turns it off). Each workload it changed gets the next generation
 * number of that workload (1, 2, 3... like nix's). The commit's tree:
 *
 *   matrix.ini                       the matrix as applied
 *   host.json                        the host facts the caller gave
 *   sequence                         commits so far, this one included
 *   workloads/<name>/pylock.toml     the lock the environment was built from
 *   workloads/<name>/verify.json     the verify results, when given
 *   workloads/<name>/generations     the workload's generation index
 *
 * The generation index has one line per generation, oldest first:
 *
 *   NUMBER TAB SEQUENCE TAB COMMIT TAB TIME TAB KIND TAB TO TAB REV TAB AUTHOR TAB SUMMARY
 *
 * COMMIT is '-' for the generation the commit itself records (its id is
 * not known while its tree is written; it is HEAD~(head sequence -
 * SEQUENCE)); TIME is seconds since the epoch; KIND is apply, frozen or
 * rollback (TO the generation rolled back to, else 0); REV the matrix's
 * commit for apply --rev, else '-'; SUMMARY the change in plain words
 * ("torch 2.7.1+cu118 → 2.8.0+cu126, +12 packages, -3"), written once at
 * record time so that listing never reads a lock. The commit message
 * carries the same summaries as trailers for people using git log.
 *
 * Objects are written first and the branch moves last, by libgit2's
 * atomic reference update (checked against the parent it was built on),
 * so a crash leaves the history as it was. The caller holds the apply
 * lock (apply_lock.h), which serializes writers.
 */
#ifndef ENVMATRIX_HISTORY_H
#define ENVMATRIX_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "envmatrix/error.h"
#include "spec/lock.h"
#include "spec/matrix.h"
#include "plan.h"

#define EM_HISTORY_DIR ".envmatrix/history.git" /* beside the matrix */
#define EM_HISTORY_BRANCH "refs/heads/main"

enum em_gen_kind {
	EM_GEN_APPLY,    /* apply, planned */
	EM_GEN_FROZEN,   /* apply --frozen: the locks as they were */
	EM_GEN_ROLLBACK  /* rollback --to N */
};
const char *em_gen_kind_name(enum em_gen_kind k); /* "apply", "frozen", "rollback" */

/* Where the history of the matrix at matrix_path lives: env (the value of
 * ENVMATRIX_HISTORY, may be NULL) when set, else the matrix's 'history'
 * key (relative to the matrix), else <matrix dir>/.envmatrix/history.git,
 * or .envmatrix/STEM/history.git for a matrix STEM.ini beside another
 * matrix (em_matrix_history_dir, lockname.h).
 * *out is an absolute path, or NULL when the history is off ('off'). */
EM_MUST_USE
int em_history_path(struct em_arena *a, const char *matrix_path, const struct em_matrix *m,
		    const char *env, const char **out, struct em_error *e);

struct git_repository;
struct em_history {
	const char *path;
	struct git_repository *repo;
};

/* Open the repository at path; with create, make it (and its parents)
 * when it does not exist. EM_ENOTFOUND without create when there is none.
 * A damaged repository (a broken HEAD, an unreadable object) or one
 * locked by a git process is an error naming the path and what to do. */
EM_MUST_USE
int em_history_open(struct em_history *h, struct em_arena *a, const char *path, bool create,
		    struct em_error *e);
void em_history_close(struct em_history *h);

/* ---- recording ---- */

struct em_record_workload {
	const char *name;
	const char *lock_text;   /* the lock the new environment was built from */
	size_t lock_len;
	const char *verify_json; /* NULL: none */
	enum em_gen_kind kind;
	uint32_t rollback_to;    /* EM_GEN_ROLLBACK: the generation rolled back to */
};

struct em_record {
	const char *matrix_text; /* the matrix as applied */
	size_t matrix_len;
	const char *host_json;   /* host facts, a JSON object (NULL: "{}") */
	const char *rev;         /* apply --rev: the matrix's commit id, else NULL */
	uint32_t n;
	const struct em_record_workload *w;
};

/* Record one apply as one commit. Each workload's summary compares its
 * lock with its previous generation's. numbers (may be NULL) gets each
 * workload's new generation number. Author: git's user.name/user.email,
 * else $USER@hostname; date: now. */
EM_MUST_USE
int em_history_record(struct em_arena *a, struct em_history *h, const struct em_record *r,
		      uint32_t *numbers, struct em_error *e);

/* ---- what an apply records ---- */

struct em_apply;

/* Whether apply result r has an unchanged workload with a lock: one the
 * history may have missed (open the history for em_history_applied). */
bool em_history_may_miss(const struct em_apply *r);

/* The workloads of r one commit records, into w and which (room for r->n
 * each; which[k] is w[k]'s index in r), of kind frozen or apply: every
 * built workload, and every unchanged one whose newest generation in h
 * (NULL: no history open) holds another lock than its own, an environment
 * applied while the history could not record it (damaged or locked at
 * the time). Workloads without generations are not caught up: the history
 * starts with their next change. Returns how many. */
uint32_t em_history_applied(struct em_arena *a, struct em_history *h, const struct em_apply *r,
			    bool frozen, struct em_record_workload *w, uint32_t *which);

/* ---- reading ---- */

struct em_generation {
	const char *workload;
	uint32_t number;
	uint32_t sequence;   /* the commit's place in the history (1 = first) */
	char commit[41];     /* hex id */
	int64_t time;        /* seconds since the epoch */
	enum em_gen_kind kind;
	uint32_t rollback_to;
	const char *rev;     /* NULL unless apply --rev */
	const char *author;
	const char *summary;
};

/* The workloads with a history, sorted. */
EM_MUST_USE
int em_history_workloads(struct em_arena *a, struct em_history *h, const char ***names,
			 uint32_t *n, struct em_error *e);

/* The generations of workload (NULL: every workload), newest first. An
 * empty history is 0 generations. Reads one index per workload, not the
 * commits. */
EM_MUST_USE
int em_history_list(struct em_arena *a, struct em_history *h, const char *workload,
		    struct em_generation **out, uint32_t *n, struct em_error *e);

/* Generation number of workload and the lock it recorded. EM_ENOTFOUND
 * naming the generations there are when there is no such generation. */
EM_MUST_USE
int em_history_lock(struct em_arena *a, struct em_history *h, const char *workload,
		    uint32_t number, struct em_generation *gen, char **text, size_t *len,
		    struct em_error *e);

/* The sha256 of every wheel and sdist the newest keep generations of each
 * workload (keep 0: all of them) recorded, sorted and unique, for cache
 * prune (an sdist's keeps its download and the wheels built from it). */
EM_MUST_USE
int em_history_wheels(struct em_arena *a, struct em_history *h, uint32_t keep,
		      const char ***sha256, size_t *n, struct em_error *e);

/* ---- summaries ---- */

/* The change from lock old (NULL for a first generation) to lock nw in
 * plain words: "python 3.13.5 → 3.12.10, torch 2.7.1+cu118 → 2.8.0+cu126,
 * numpy 1.26.4 → 2.2.6, +12 packages, -3"; changed packages are named
 * (torch first, at most EM_SUMMARY_NAMED), added and removed ones counted.
 * A first generation: "python 3.12.10, torch 2.8.0+cu126, 14 packages". */
#define EM_SUMMARY_NAMED 4
char *em_change_summary(struct em_arena *a, const struct em_lock *old, const struct em_lock *nw,
			const struct em_change *c, uint32_t n);

#endif
