/* fs.h - files: whole-file reads with a size cap, atomic writes
 *
 * Every write envmatrix makes is atomic: the data goes to a temporary file
 * beside the target, is flushed to disk, and is renamed over it, so a crash
 * leaves either the old file or the new one, never a mix.
 */
#ifndef ENVMATRIX_FS_H
#define ENVMATRIX_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envmatrix/arena.h"
#include "envmatrix/error.h"

/* Read a whole file (at most max bytes: EM_ELIMIT beyond) into the arena,
 * NUL-terminated. EM_ENOTFOUND when it does not exist. */
int em_read_file(struct em_arena *a, const char *path, size_t max, char **out, size_t *len,
		 struct em_error *e);

/* Write data to path atomically (temporary file beside it, fsync, rename,
 * fsync of the folder). mode is the new file's permission bits. */
int em_write_file_atomic(const char *path, const void *data, size_t len, unsigned mode,
			 struct em_error *e);

/* The folder part of a path ("." when there is none), and a path joined to
 * a folder (rel unchanged when it is absolute). */
char *em_path_dir(struct em_arena *a, const char *path);
char *em_path_join(struct em_arena *a, const char *dir, const char *rel);
/* An absolute, lexically normalized version of path (no I/O beyond
 * getcwd): "." and ".." segments and repeated '/' removed. */
char *em_path_absolute(struct em_arena *a, const char *path);
bool em_path_is_absolute(const char *path);

#endif
