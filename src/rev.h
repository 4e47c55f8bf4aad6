/* rev.h - a matrix as it was at a git revision (apply --rev; state.c)
 *
 * The matrix's own git repository (not the history, history.h) is read
 * with libgit2: the planner reads the matrix and the files it names
 * (requirements, constraints, projects) from the revision's tree instead
 * of the work tree.
 */
#ifndef ENVMATRIX_REV_H
#define ENVMATRIX_REV_H

#include <stddef.h>

#include "util/arena.h"
#include "envmatrix/error.h"

struct git_repository;
struct git_tree;
struct em_rev {
	struct git_repository *repo;
	struct git_tree *tree;
	char commit[41];       /* the revision's commit id */
	const char *workdir;   /* the work tree, absolute (as the matrix path spells it) */
	const char *matrix_rel;/* the matrix's path in the repository */
};

/* Find the git repository holding the matrix at matrix_path (from its
 * folder upwards) and resolve rev (anything git rev-parse takes: HEAD~2,
 * a tag, a commit id) to a commit. Reads nothing from the work tree but
 * the repository itself. */
EM_MUST_USE
int em_rev_open(struct em_rev *r, struct em_arena *a, const char *matrix_path, const char *rev,
		struct em_error *e);
void em_rev_close(struct em_rev *r);

/* A file of the work tree (path as the planner builds it, relative to the
 * current folder or absolute) as it was at the revision: the reader for
 * em_plan_options.read_file (ctx: the struct em_rev). EM_ENOTFOUND when
 * the revision has no such file; EM_EINVAL for a path outside the work
 * tree. */
EM_MUST_USE
int em_rev_read(void *ctx, struct em_arena *a, const char *path, size_t max, char **out,
		size_t *len, struct em_error *e);

#endif
