/* interp.h - Python interpreters on this machine
 *
 * Discovery looks in PATH (python3, python3.X, python3.Xt), in pyenv's
 * versions folder (pyenv_root or ~/.pyenv), in envmatrix's managed folder
 * (pybuild.h), in uv's (uv_python_dir, else xdg_data_home/uv/python or
 * ~/.local/share/uv/python; settings.h) and, on Windows,
 * in what the py launcher lists and the PEP 514 registry keys. Each
 * interpreter is asked once for what it is; the answers are kept in the
 * cache folder (interpreters.json), keyed by realpath, mtime and size, so
 * a later discovery runs no interpreter that has not changed.
 */
#ifndef ENVMATRIX_INTERP_H
#define ENVMATRIX_INTERP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "envmatrix/error.h"
#include "spec/target.h"

struct em_interp {
	const char *path;           /* as found (absolute) */
	const char *realpath;       /* symlinks resolved; duplicates are dropped by it */
	struct em_python py;        /* exact version, pre-release and free-threading */
	const char *implementation; /* sys.implementation.name: "cpython", "pypy" */
	const char *source;         /* "PATH", "pyenv", "envmatrix", "uv", "py" or
				     * "registry" ("" from em_interp_query) */
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
EM_MUST_USE
int em_interp_query(struct em_arena *a, const char *path, struct em_interp *out,
		    struct em_error *e);

/* Where to look. */
struct em_interp_search {
	const char *path;       /* a PATH-style list; NULL: none. Empty and
				   relative entries and "shims" folders (pyenv's
				   wrappers) are skipped */
	const char *pyenv_root; /* NULL: no pyenv; else versions/NAME/bin */
	int timeout_ms;         /* per interpreter; 0: EM_INTERP_TIMEOUT_MS */
	const char *managed_dir; /* envmatrix's installations (pybuild.h): NAME/bin
				    for every cpython-* entry; NULL: none */
	const char *uv_dir;      /* uv's, the same layout; NULL: none */
	const char *cache_file;  /* the answers kept between runs (JSON, written
				    atomically); NULL: none */
	bool windows_sources;    /* Windows only: the py launcher and the registry */
	unsigned queried;        /* out: interpreters actually run */
};

/* Every CPython 3 interpreter in PATH, pyenv and the other folders of s:
 * executables named
 * python3, python3.N and python3.Nt; those in a virtual environment (a
 * pyvenv.cfg beside or above the executable) are skipped, so are broken
 * links and interpreters that fail to answer, are not CPython or not 3.x.
 * One query per realpath. Order: newest version first (a final release
 * before its pre-releases, the default build before the free-threaded
 * one), then PATH, pyenv, envmatrix, uv, py, registry, then the order
 * found. s->queried is set to the count of interpreters run (not answered
 * from cache_file). */
EM_MUST_USE
int em_interp_discover_in(struct em_arena *a, struct em_interp_search *s,
			  struct em_interp_list *out, struct em_error *e);
/* envmatrix's managed folder of Python installations (pybuild.h installs
 * into it; not created): the settings' python_dir, else
 * xdg_data_home/envmatrix/python, else ~/.local/share/envmatrix/python
 * (local_app_data\envmatrix\python on Windows; settings.h). NULL with e
 * filled when there is no home to put it in. Discovery looks there; it
 * lives here so that interp.c does not depend on pybuild.c (which queries
 * what it installs with em_interp_query). */
char *em_interp_managed_dir(struct em_arena *a, struct em_error *e);

/* The same with the settings' path, pyenv_root (or ~/.pyenv), the managed
 * folder, uv's folder and the answer cache in the cache folder (cache.h). */
EM_MUST_USE
int em_interp_discover(struct em_arena *a, struct em_interp_list *out, struct em_error *e);

/* One line of `py --list-paths` (the Windows py launcher): both the
 * current form " -V:3.12 *        C:\...\python.exe" and the older
 * " -3.12-64        C:\...\python.exe *". */
struct em_py_launcher_entry {
	const char *tag;  /* "3.12", "3.13t", "Astral/CPython3.12.3", "3.9-64" */
	const char *path;
	bool is_default;  /* marked with '*' */
};
/* Parse the output of `py --list-paths` (no I/O): lines that are not an
 * entry (a heading, blank lines) are skipped. */
EM_MUST_USE
int em_interp_parse_py_list(struct em_arena *a, const char *text, size_t len,
			    struct em_py_launcher_entry **out, uint32_t *n, struct em_error *e);

#endif
