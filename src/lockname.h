/* lockname.h - which lock file, and which history, belong to which matrix
 *
 * A folder may hold several matrices (rtx3090-linux.ini and
 * rtx3090-windows.ini naming the same workloads). One rule names the lock
 * of a workload (docs/matrix.md, "Several matrices in one folder"):
 *
 *   matrix.ini                  pylock.<workload>.toml, always
 *   any other matrix STEM.ini   pylock.<workload>.toml when no other *.ini
 *                               file in its folder has a [<workload>]
 *                               section, else pylock.<STEM>-<workload>.toml
 *                               (characters a PEP 751 name cannot hold in
 *                               STEM, such as '.', become '-')
 *
 * Every lock envmatrix writes records the matrix file it was planned from
 * ([tool.envmatrix] matrix = "linux.ini"); a lock recorded for another
 * matrix is never read or replaced (em_lock_check_matrix).
 *
 * The history (history.h) follows the same idea: matrix.ini, and a matrix
 * alone in its folder, keep .envmatrix/history.git; another matrix STEM.ini
 * beside a second matrix gets .envmatrix/STEM/history.git. A second matrix
 * is another *.ini file with a [matrix] section or a section named like one
 * of this matrix's workloads (so pytest.ini or tox.ini do not count).
 *
 * Looking at the folder reads only the section headers of the other *.ini
 * files (at most EM_LOCKNAME_MAX_READ bytes of each); a file that cannot be
 * read claims nothing.
 */
#ifndef ENVMATRIX_LOCKNAME_H
#define ENVMATRIX_LOCKNAME_H

#include <stdbool.h>

#include "util/arena.h"
#include "envmatrix/error.h"
#include "spec/lock.h"

#define EM_DEFAULT_MATRIX "matrix.ini"
#define EM_LOCKNAME_MAX_READ (4u << 20)

/* The last component of a matrix path ("linux.ini"). */
const char *em_matrix_file_name(const char *matrix_path);

/* The lock file of workload in the matrix at matrix_path, beside it (a
 * path in the arena, relative when matrix_path is). EM_EINVAL (where:
 * matrix_path) when the workload cannot name a lock file. */
EM_MUST_USE
int em_matrix_lock_path(struct em_arena *a, const char *matrix_path, const char *workload,
			char **out, struct em_error *e);

/* Whether another *.ini file in matrix_path's folder has a section named
 * workload (unreadable files claim nothing). */
bool em_matrix_workload_claimed(struct em_arena *a, const char *matrix_path,
				const char *workload);

/* 0 when lock l (read from lock_path) may be used by the matrix at
 * matrix_path: it records no matrix (an older lock, or another tool's) or
 * this matrix's file name; else EM_EINVAL naming both matrix files. */
EM_MUST_USE
int em_lock_check_matrix(const struct em_lock *l, const char *lock_path, const char *matrix_path,
			 struct em_error *e);

/* The default history folder of matrix m read from matrix_path, relative
 * to its folder: ".envmatrix/history.git" or ".envmatrix/STEM/history.git"
 * (see above); NULL when out of memory. */
struct em_matrix;
const char *em_matrix_history_dir(struct em_arena *a, const char *matrix_path,
				  const struct em_matrix *m);

#endif
