/* install.h - installing wheels (the binary distribution format)
 *
 * A wheel is unpacked once, into the cache (unpack.h). Installing it into
 * an environment then links (reflink, hardlink or copy) the unpacked
 * files into the scheme's folders, rewrites #!python scripts, writes
 * console_scripts and gui_scripts launchers, INSTALLER, REQUESTED and a
 * RECORD that lists every installed file with its hash.
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
#include "unpack.h"  /* the trees em_wheel_install installs */

/* Limits of one wheel beyond unpack.h's (EM_ELIMIT beyond). */
#define EM_WHEEL_MAX_ENTRY_POINTS 4096u /* console and gui scripts */

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
EM_MUST_USE
int em_wheel_install(const char *unpacked_dir, const char *wheel_name,
		     const struct em_install_opts *o, struct em_install_result *out,
		     struct em_error *e);

#endif
