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

#include "util/arena.h"
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

/* Create a folder and its missing parents (mode 0755); an existing folder
 * is fine. */
int em_mkdir_p(const char *path, struct em_error *e);

/* Remove a file or a whole tree without following symbolic links (a link
 * is removed, never what it points to). Read-only folders are made
 * writable first. A path that does not exist is not an error. e may be
 * NULL for best-effort cleanup. */
int em_remove_tree(const char *path, struct em_error *e);

/* Write all n bytes to fd (retrying short writes and EINTR): 0, or the
 * errno of the failed write. */
int em_write_all(int fd, const void *data, size_t n);

/* fsync the folder holding path, so a rename into it is durable. */
void em_fsync_parent(const char *path);

#endif
