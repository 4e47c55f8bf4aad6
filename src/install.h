/* install.h - installing wheels (the binary distribution format)
 *
 * A wheel is unpacked once, into the cache, with every member checked
 * against the wheel's RECORD (hash and size) and every member name checked
 * before it touches the disk. Installing it into an environment then
 * links (reflink, hardlink or copy) the unpacked files into the scheme's
 * folders, rewrites #!python scripts, writes console_scripts and
 * gui_scripts launchers, INSTALLER, REQUESTED and a RECORD that lists
 * every installed file with its hash.
 */
#ifndef ENVMATRIX_INSTALL_H
#define ENVMATRIX_INSTALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "envmatrix/error.h"
#include "spec/target.h"
#include "os/link.h" /* enum em_link_mode, the link API */

/* ---- unpacking ---- */

/* The file an unpacked tree carries when it is complete (written last;
 * it holds the wheel's file name and its .dist-info folder, one a line). A
 * wheel member of that name is refused. */
#define EM_UNPACKED_MARK ".envmatrix-unpacked"

/* Limits of one wheel (EM_ELIMIT beyond). */
#define EM_WHEEL_MAX_FILES 1000000u                  /* members, RECORD rows */
#define EM_WHEEL_MAX_RECORD (64u << 20)               /* bytes of RECORD */
#define EM_WHEEL_MAX_MEMBER_SIZE ((uint64_t)16 << 30) /* one member */
#define EM_WHEEL_MAX_SIZE ((uint64_t)64 << 30)        /* all members together */
#define EM_WHEEL_MAX_ENTRY_POINTS 4096u               /* console and gui scripts */

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
int em_wheel_unpack(const char *wheel_path, const char *dir, struct em_error *e);

/* em_wheel_unpack in two steps, so that many wheels unpacked at once need
 * one sync rather than one each: staged unpacks and checks into a
 * temporary folder beside dir and gives its path (malloc'd; 1 and no path
 * when dir is already complete); the caller makes the data durable
 * (syncfs) and publishes, which renames it to dir (or discards it when
 * another process was first) and syncs dir's parent. */
int em_wheel_unpack_staged(const char *wheel_path, const char *dir, char **staged,
			   struct em_error *e);
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
int em_wheel_unpacked_check(const char *dir, struct em_error *e);

/* ---- installing ---- */

/* The folders a wheel's parts go to (absolute paths). */
struct em_scheme {
	const char *purelib;
	const char *platlib;
	const char *scripts;
	const char *headers; /* the include folder (include/site/pythonX.Y); a wheel's
			      * headers go to its NAME folder under it, NAME as in
			      * the wheel's file name */
	const char *data;
};

struct em_install_opts {
	const struct em_scheme *dest; /* where to write now (the staging folder) */
	const char *python;           /* the interpreter scripts must run, as it will be
				       * at its final place (<venv>/bin/python) */
	enum em_os os;                /* launcher style: POSIX scripts or Windows */
	enum em_link_mode link;
	bool requested;               /* write REQUESTED (the matrix names it) */
	unsigned jobs;                /* worker threads; 0: one per core */
};

struct em_install_result {
	uint64_t files;     /* installed, RECORD included */
	uint64_t bytes;
	uint32_t launchers; /* console and GUI scripts written */
	enum em_link_mode link_used; /* the costliest way any file was linked
				      * (copy > hardlink > clone); o->link when
				      * none was */
};

/* Install the unpacked wheel (a tree made by em_wheel_unpack) named
 * wheel_name (its file name, for messages and the dist-info folder) into
 * o->dest. Errors name the wheel and the file; what was written is left
 * for the caller to discard with the staging folder.
 *
 * The root goes to purelib or platlib (WHEEL's Root-Is-Purelib), with the
 * .dist-info folder; NAME.data/KEY/ to the scheme's KEY folder (headers to
 * headers/NAME; headers and data must be given when a wheel has some). Files are linked
 * with o->link from the unpacked tree (so they are read-only); a file
 * another wheel installed before is replaced. Scripts in .data/scripts
 * that start with "#!python" (or "#!pythonw") are copies with o->python's
 * shebang, mode 0755; other scripts are made executable; setuptools'
 * wrappers for entry points (NAME, NAME.exe, NAME-script.py) give way to
 * the launchers. Launchers: POSIX, a Python script NAME (0755) whose
 * shebang is "#!<python>", or a /bin/sh line running python when the path
 * has a space or the line would pass 127 bytes; Windows, NAME.cmd running
 * python.exe (pythonw.exe) beside it on NAME-script.py (there is no .exe
 * launcher yet). The .dist-info gets INSTALLER ("envmatrix"), REQUESTED
 * when o->requested, and a new RECORD: every installed file with its
 * sha256 and size (the wheel's RECORD for linked files, computed for
 * written ones), paths relative to the root folder ("../../../bin/x"),
 * written through a temporary file. The wheel's RECORD.jws / RECORD.p7s
 * (they sign a RECORD no longer there), INSTALLER and REQUESTED are not
 * installed. Nothing is byte-compiled and nothing is synced: the caller
 * syncs the staging folder once. */
int em_wheel_install(const char *unpacked_dir, const char *wheel_name,
		     const struct em_install_opts *o, struct em_install_result *out,
		     struct em_error *e);

#endif
