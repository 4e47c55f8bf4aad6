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

#include "util/arena.h"
#include "envmatrix/error.h"

#define EM_ARCHIVE_MAX_MEMBER_NAME 4096

/* 0 when name is a safe relative member path, else EM_EINVAL naming it
 * (EM_ELIMIT past EM_ARCHIVE_MAX_MEMBER_NAME bytes). Rejected: an empty
 * name, a NUL byte, a backslash, a leading '/', a drive letter ("C:..."),
 * and empty, "." or ".." segments or segments of only dots and spaces
 * (Windows strips trailing dots and spaces, so "... " would be ".."). A
 * trailing '/' (a directory entry) is allowed. */
EM_MUST_USE
int em_archive_check_name(const char *name, size_t n, struct em_error *e);

/* Unpacking a checked member into a tree on disk (sdists, interpreter
 * archives): */
/* Whether a symbolic link's target, read from the folder of the member rel
 * (a name em_archive_check_name accepted), stays inside the tree: no
 * absolute path, drive letter or backslash, and no '..' above the root. */
bool em_archive_link_inside(const char *rel, const char *target);
/* Create the folders on the way to root/rel, refusing a way through
 * anything that is not a folder (such as a link an earlier member made).
 * Errors name where (the archive) and the member. */
EM_MUST_USE
int em_archive_make_parents(const char *root, const char *rel, const char *where,
			    struct em_error *e);

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
EM_MUST_USE
int em_zip_read_member(struct em_arena *a, const char *path, const char *member, size_t max,
		       char **out, size_t *len, struct em_error *e);
EM_MUST_USE
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
EM_MUST_USE
int em_wheel_read_metadata(struct em_arena *a, const char *wheel_path, char **out, size_t *len,
			   struct em_error *e);
EM_MUST_USE
int em_wheel_read_metadata_mem(struct em_arena *a, const void *zip, size_t ziplen,
			       const char *wheel_name, char **out, size_t *len, struct em_error *e);

/* The PKG-INFO of a source distribution (a .tar.gz, .tar.bz2, .tar.xz,
 * .tar or .zip file at path; where names it in errors, NULL: path): the
 * one member "TOP/PKG-INFO" (TOP a single folder, as PEP 517 sdists have
 * it), a regular file of at most EM_METADATA_MAX_LEN bytes. Every member
 * name is checked with em_archive_check_name as it is met, and one bad
 * name fails the call (EM_EINVAL): an sdist holding "../PKG-INFO" or
 * "/PKG-INFO" is not read at all. EM_ENOTFOUND when there is no such
 * member, EM_EINVAL for two, a link, or a file that is not an archive;
 * EM_ELIMIT past 2^20 members. Nothing is unpacked. */
EM_MUST_USE
int em_sdist_read_pkg_info(struct em_arena *a, const char *path, const char *where, char **out,
			   size_t *len, struct em_error *e);

/* ---- streaming through a zip (additive: the wheel unpacker) ----
 *
 * Members come in the central directory's order, each name checked with
 * em_archive_check_name as it is met (a bad name is an error, as above).
 * While a reader is open its thread uses the C.UTF-8 locale (see
 * archive.c); close readers in the reverse order of opening. Duplicate
 * names are not detected here: the caller sees every member. */
struct em_zip_reader;

enum em_zip_type {
	EM_ZIP_FILE = 1,
	EM_ZIP_DIR,
	EM_ZIP_SYMLINK,
	EM_ZIP_OTHER /* a device, a FIFO, a socket */
};

struct em_zip_member {
	const char *name;      /* checked; valid until the next em_zip_next or em_zip_close */
	size_t namelen;
	enum em_zip_type type;
	unsigned mode;         /* permission bits from the external attributes */
	bool encrypted;
	bool size_known;
	uint64_t size;         /* the declared uncompressed size, when known */
};

/* Open a zip file or a zip in memory; where names it in errors (NULL: the
 * path, or "zip"). Errors as em_zip_read_member's. */
EM_MUST_USE
int em_zip_open(const char *path, const char *where, struct em_zip_reader **out,
		struct em_error *e);
EM_MUST_USE
int em_zip_open_mem(const void *zip, size_t ziplen, const char *where,
		    struct em_zip_reader **out, struct em_error *e);
/* The next member: 0, 1 at the end, or an error (EM_EINVAL for a corrupt
 * archive or an unsafe name). */
EM_MUST_USE
int em_zip_next(struct em_zip_reader *z, struct em_zip_member *m, struct em_error *e);
/* Read the current member's data: the count of bytes read (at most n), 0
 * at its end (reading to the end checks the CRC-32), or a negative EM_E*
 * code (EM_EINVAL: corrupt or cut short; EM_EUNSUPPORTED: encrypted). */
int64_t em_zip_read(struct em_zip_reader *z, void *buf, size_t n, struct em_error *e);
void em_zip_close(struct em_zip_reader *z);

/* Whether the folder "<stem>.dist-info" (stem is n bytes) belongs to the
 * wheel w: some '-' splits stem into a name equal to w's after PEP 503
 * normalisation and a version equal to w's as a PEP 440 version. tmp is
 * scratch space, rewound before returning. */
struct em_wheel_name;
bool em_wheel_dist_info_matches(struct em_arena *tmp, const char *stem, size_t n,
				const struct em_wheel_name *w);

/* When the member name (n bytes) lies inside a top-level "*.dist-info"
 * folder, the length of that folder's name; 0 otherwise. */
size_t em_wheel_dist_info_prefix(const char *name, size_t n);

/* Parse the wheel file name that ends path (what follows its last '/'),
 * into the arena. Errors are em_wheel_name_parse's, without a place. */
EM_MUST_USE
int em_wheel_name_of_path(struct em_arena *a, const char *path, struct em_wheel_name *w,
			  struct em_error *e);

#endif
