/* apply_lock.h - one apply at a time per matrix
 *
 * The apply lock is a file in the matrix's state folder,
 * <matrix dir>/.envmatrix/apply.lock, held with flock(2) by apply and
 * rollback (exclusive) and verify (shared). Implemented in swap.c.
 */
#ifndef ENVMATRIX_APPLY_LOCK_H
#define ENVMATRIX_APPLY_LOCK_H

#include <stdbool.h>

#include "util/arena.h"
#include "envmatrix/error.h"

#define EM_STATE_DIR ".envmatrix"       /* beside the matrix */

struct em_state_lock {
	int fd; /* -1 when not held */
};

/* Take <matrix dir>/.envmatrix/apply.lock for command ("apply",
 * "rollback"). Without block, a lock held by another process is EM_EBUSY
 * with a message naming its process and command; with block, wait for it.
 * The lock goes with the process, so a crash never leaves it held. */
EM_MUST_USE
int em_state_lock_take(struct em_arena *a, const char *matrix_path, const char *command,
		       bool block, struct em_state_lock *out, struct em_error *e);
/* For a command that only reads the environments (verify): the same lock
 * held shared, so no apply or rollback swaps while it reads and readers do
 * not exclude each other. An existing lock file is opened read-only; a
 * missing one is created as em_state_lock_take does, and when the folder
 * is read-only (EROFS, EACCES, EPERM) nothing is taken (out->fd stays -1):
 * no apply can hold a lock that does not exist. EM_EBUSY without block. */
EM_MUST_USE
int em_state_lock_take_shared(struct em_arena *a, const char *matrix_path, bool block,
			      struct em_state_lock *out, struct em_error *e);
void em_state_lock_release(struct em_state_lock *l);

#endif
