/* untar.h - writing a tar archive's members into a tree on disk
 *
 * What the sdist unpacker (build.c) and the interpreter installer
 * (pybuild.c) share once a member's name has been checked
 * (em_archive_check_name) and its folders made (em_archive_make_parents):
 * creating the member itself. Nothing is ever written through an existing
 * file or link. Errors name where (the archive) and name (the member as
 * the caller shows it).
 */
#ifndef ENVMATRIX_UNTAR_H
#define ENVMATRIX_UNTAR_H

#include <stdint.h>

#include "envmatrix/error.h"

struct archive;

/* The current member's data (ar, libarchive) as a new file at path, 0755
 * when mode has an execute bit, else 0644. *bytes counts the bytes
 * written; past max (0: no limit) EM_ELIMIT "member 'NAME': the archive
 * unpacks to more than MAX bytes". */
EM_MUST_USE
int em_untar_file(struct archive *ar, const char *path, unsigned mode, uint64_t *bytes,
		  uint64_t max, const char *name, const char *where, struct em_error *e);

/* A folder at path (an existing folder is fine; anything else there is
 * EM_EINVAL "cannot create folder 'NAME'"). */
EM_MUST_USE
int em_untar_dir(const char *path, const char *name, const char *where, struct em_error *e);

/* A symbolic link at path to target, which must stay inside the tree when
 * read from the folder of rel (em_archive_link_inside); else EM_EINVAL
 * "member 'NAME' is a symbolic link to 'TARGET', outside TREE". */
EM_MUST_USE
int em_untar_symlink(const char *rel, const char *target, const char *path, const char *name,
		     const char *tree, const char *where, struct em_error *e);

#endif
