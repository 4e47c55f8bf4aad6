/* unpack.h - unpacking wheels into the cache, checked against RECORD
 *
 * A wheel is unpacked once, into the cache, with every member checked
 * against the wheel's RECORD (hash and size) and every member name checked
 * before it touches the disk. install.h installs such a tree into an
 * environment.
 */
#ifndef ENVMATRIX_UNPACK_H
#define ENVMATRIX_UNPACK_H

#include <stddef.h>
#include <stdint.h>

#include "envmatrix/error.h"
#include "util/buf.h"

struct em_dir;

/* The file an unpacked tree carries when it is complete (written last;
 * it holds the wheel's file name and its .dist-info folder, one a line). A
 * wheel member of that name is refused. */
#define EM_UNPACKED_MARK ".envmatrix-unpacked"

/* Limits of one wheel (EM_ELIMIT beyond). */
#define EM_WHEEL_MAX_FILES 1000000u                  /* members, RECORD rows */
#define EM_WHEEL_MAX_RECORD (64u << 20)               /* bytes of RECORD */
#define EM_WHEEL_MAX_MEMBER_SIZE ((uint64_t)16 << 30) /* one member */
#define EM_WHEEL_MAX_SIZE ((uint64_t)64 << 30)        /* all members together */

/* Unpack the wheel at wheel_path into dir (created with its parents; it
 * must not exist), verifying every member against the wheel's RECORD: a
 * member missing from RECORD, with another hash or size, a RECORD entry
 * without its member, an unsafe name, a symlink (or any member libarchive
 * reports as neither a file nor a folder; it reports a zip's FIFOs and
 * devices as files, and they are written as such), a duplicate, a WHEEL
 * whose Wheel-Version is not 1.x or a
 * NAME.data/ folder other than purelib, platlib, headers, scripts and data
 * is an error naming the wheel and the member, and nothing is left behind.
 * RECORD rows need "sha256=" hashes and sizes (RECORD, RECORD.jws and
 * RECORD.p7s excepted; another hash algorithm is EM_EUNSUPPORTED).
 *
 * The tree is written into "dir.tmp-PID-N", files read-only (0444; 0555
 * when the zip marks them executable), then synced and renamed to dir, so
 * dir is either absent or complete. When dir already holds a finished tree
 * (another process unpacked the same wheel, before or meanwhile) that tree
 * is kept and 0 returned; any other dir is an error. */
EM_MUST_USE
int em_wheel_unpack(const char *wheel_path, const char *dir, struct em_error *e);

/* em_wheel_unpack in two steps, so that many wheels unpacked at once need
 * one sync rather than one each: staged unpacks and checks into a
 * temporary folder beside dir and gives its path (malloc'd; 1 and no path
 * when dir is already complete); the caller makes the data durable
 * (syncfs) and publishes, which renames it to dir (or discards it when
 * another process was first) and syncs dir's parent. */
EM_MUST_USE
int em_wheel_unpack_staged(const char *wheel_path, const char *dir, char **staged,
			   struct em_error *e);
EM_MUST_USE
int em_wheel_unpack_publish(const char *staged, const char *dir, struct em_error *e);

/* Check an unpacked tree (em_wheel_unpack) against its wheel's RECORD:
 * every file RECORD lists with a hash is there, a regular file, of the
 * size and sha256 RECORD gives. Installed files are hard links into this
 * tree under the default link mode, so an edit in one environment changes
 * it. 0: intact; 1: damaged, and e (where: dir) names the first file that
 * differs and how; a negative code when it cannot be checked (no complete
 * tree, a mark without the dist-info folder, a read error). Reads every
 * byte: for apply --force, a failed verification and 'cache verify', not
 * for every apply. */
EM_MUST_USE
int em_wheel_unpacked_check(const char *dir, struct em_error *e);

/* ---- shared with the installer ---- */

/* Create the folder rel (n bytes) under the folder d and every folder
 * above it: 0, or -1 and the errno in *err. last remembers the folder made
 * before, which most files share. */
EM_MUST_USE
int em_wheel_mkdirs(struct em_dir *d, const char *rel, size_t n, struct em_buf *last, int *err);

/* An EM_EIO error "cannot WHAT 'NAME': why" for errno err (a full disk
 * said as such). */
int em_wheel_sys_err(struct em_error *e, int err, const char *where, const char *what,
		     const char *name);

#endif
