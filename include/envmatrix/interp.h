/* interp.h - Python interpreters on this machine
 *
 * Discovery looks in PATH (python3, python3.X, python3.Xt) and in pyenv's
 * versions folder ($PYENV_ROOT or ~/.pyenv), and asks each interpreter
 * once for what it is. Later sources (python-build-standalone downloads,
 * the Windows py launcher) plug in behind the same list.
 */
#ifndef ENVMATRIX_INTERP_H
#define ENVMATRIX_INTERP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envmatrix/arena.h"
#include "envmatrix/error.h"
#include "envmatrix/target.h"

struct em_interp {
	const char *path;           /* as found (absolute) */
	const char *realpath;       /* symlinks resolved; duplicates are dropped by it */
	struct em_python py;        /* exact version, pre-release and free-threading */
	const char *implementation; /* sys.implementation.name: "cpython", "pypy" */
	const char *source;         /* "PATH" or "pyenv" ("" from em_interp_query) */
};

struct em_interp_list {
	uint32_t n;
	struct em_interp *items; /* newest version first, then PATH before pyenv */
};

#define EM_INTERP_TIMEOUT_MS 5000 /* for one interpreter to answer */
#define EM_INTERP_MAX 256         /* candidates looked at by one discovery */

/* Ask one interpreter what it is: runs `path -I -S -c SCRIPT` (isolated,
 * without site, so neither the environment nor site-packages change the
 * answer) within EM_INTERP_TIMEOUT_MS. Any Python 3 answers (check
 * implementation for CPython); Python 2 fails (it has no -I). Errors:
 * EM_ENOTFOUND (no such file), EM_EIO (cannot run), EM_EINVAL (failed,
 * timed out or answered something else), EM_EUNSUPPORTED (a Python 2
 * that answered), each naming the path. */
int em_interp_query(struct em_arena *a, const char *path, struct em_interp *out,
		    struct em_error *e);

/* Where to look. */
struct em_interp_search {
	const char *path;       /* a PATH-style list; NULL: none. Empty and
				   relative entries and "shims" folders (pyenv's
				   wrappers) are skipped */
	const char *pyenv_root; /* NULL: no pyenv; else versions/NAME/bin */
	int timeout_ms;         /* per interpreter; 0: EM_INTERP_TIMEOUT_MS */
};

/* Every CPython 3 interpreter in PATH and pyenv: executables named
 * python3, python3.N and python3.Nt; those in a virtual environment (a
 * pyvenv.cfg beside or above the executable) are skipped, so are broken
 * links and interpreters that fail to answer, are not CPython or not 3.x.
 * One query per realpath. Order: newest version first (a final release
 * before its pre-releases, the default build before the free-threaded
 * one), then PATH before pyenv, then the order found. */
int em_interp_discover_in(struct em_arena *a, const struct em_interp_search *s,
			  struct em_interp_list *out, struct em_error *e);
/* The same with $PATH and $PYENV_ROOT (or ~/.pyenv). */
int em_interp_discover(struct em_arena *a, struct em_interp_list *out, struct em_error *e);

#endif
