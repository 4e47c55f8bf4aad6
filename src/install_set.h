/* install_set.h - what a lock installs on a target (no I/O)
 *
 * The packages of a lock (spec/lock.h) that apply to one target, each with
 * the wheel to install or the sdist to build. Apply (apply.h) installs
 * this set; status and verify read which packages were built from source.
 */
#ifndef ENVMATRIX_INSTALL_SET_H
#define ENVMATRIX_INSTALL_SET_H

#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "envmatrix/error.h"
#include "spec/lock.h"
#include "spec/tags.h"
#include "spec/target.h"

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
EM_MUST_USE
int em_lock_install_set(struct em_arena *a, const struct em_lock *l, const char *lock_path,
			const struct em_target *t, const struct em_tagset *tags,
			struct em_install_item **items, uint32_t *n, struct em_error *e);

/* The packages of an environment's lock (the pylock.toml apply writes into
 * it: text, len; lock_path for relative paths) that apply built from their
 * sdists: those without a wheel for the lock's own target (its platform
 * and python), in the lock's order. *n is 0 when the lock cannot be read
 * or names no target (a lock envmatrix did not write). For status and
 * verify. Returns 0, or EM_ENOMEM. */
EM_MUST_USE
int em_lock_built_from_source(struct em_arena *a, const char *text, size_t len,
			      const char *lock_path, const char ***names, uint32_t *n);

#endif
