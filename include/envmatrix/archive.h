/* archive.h - reading archives safely (libarchive)
 *
 * Every member name is checked before anything is done with it: no absolute
 * paths, drive letters, backslashes, ".." segments, NUL bytes or empty
 * names, so an archive can never write or be read outside its folder.
 * Sizes are bounded by the caller, and nothing is allocated on a size an
 * archive merely claims.
 */
#ifndef ENVMATRIX_ARCHIVE_H
#define ENVMATRIX_ARCHIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envmatrix/arena.h"
#include "envmatrix/error.h"

#define EM_ARCHIVE_MAX_MEMBER_NAME 4096

/* 0 when name is a safe relative member path, else EM_EINVAL naming it
 * (EM_ELIMIT past EM_ARCHIVE_MAX_MEMBER_NAME bytes). Rejected: an empty
 * name, a NUL byte, a backslash, a leading '/', a drive letter ("C:..."),
 * and empty, "." or ".." segments or segments of only dots and spaces
 * (Windows strips trailing dots and spaces, so "... " would be ".."). A
 * trailing '/' (a directory entry) is allowed. */
int em_archive_check_name(const char *name, size_t n, struct em_error *e);

/* Reading zip files (the central directory, as pip's zipfile does).
 *
 * Every member name in the archive is checked with em_archive_check_name
 * as it is met, and one bad name fails the call (EM_EINVAL): an archive
 * holding "../../etc/passwd" is not read at all. A member name that appears
 * twice fails too. Errors name the archive in where (the path, or the name
 * given for memory) and the member in the message.
 *
 * Read the member named exactly member from a zip file (path) or a zip in
 * memory (where names it in errors; NULL gives "zip"), at most max bytes:
 * EM_ELIMIT when its declared size is over max (before anything is read or
 * allocated) or when its data turns out to be. EM_ENOTFOUND when there is
 * no such member, or no such file; EM_EINVAL for a file that is not a zip,
 * a corrupt member (bad CRC-32, cut short) or a member that is not a
 * regular file (a directory, a symbolic link); EM_EUNSUPPORTED for an
 * encrypted one. The data is NUL-terminated for convenience; *len excludes
 * the NUL. On error *out is NULL and *len 0. */
int em_zip_read_member(struct em_arena *a, const char *path, const char *member, size_t max,
		       char **out, size_t *len, struct em_error *e);
int em_zip_read_member_mem(struct em_arena *a, const void *zip, size_t ziplen, const char *where,
			   const char *member, size_t max, char **out, size_t *len,
			   struct em_error *e);

/* The METADATA of a wheel (at most EM_METADATA_MAX_LEN bytes, metadata.h).
 * The wheel's file name (wheel_path's last segment, or wheel_name) is
 * parsed with em_wheel_name_parse; the wheel must have exactly one
 * top-level "<name>-<version>.dist-info/" folder, whose name matches the
 * file name's after PEP 503 normalisation and whose version equals it as a
 * PEP 440 version ("Foo.Bar-1.0.0.dist-info" in "foo_bar-1.0-...whl"), and
 * that folder must hold METADATA. Otherwise EM_EINVAL, with where naming the
 * wheel: no .dist-info folder, more than one, one that does not match, no
 * METADATA. *out is NUL-terminated as above. */
int em_wheel_read_metadata(struct em_arena *a, const char *wheel_path, char **out, size_t *len,
			   struct em_error *e);
int em_wheel_read_metadata_mem(struct em_arena *a, const void *zip, size_t ziplen,
			       const char *wheel_name, char **out, size_t *len, struct em_error *e);

#endif
