/* pybuild.h - Python interpreters downloaded from python-build-standalone
 *
 * python-build-standalone (the builds uv installs) publishes, per release,
 * archives named
 *
 *     cpython-3.12.10+20250409-x86_64-unknown-linux-gnu-install_only.tar.gz
 *     cpython-VERSION+BUILD-TRIPLE[-VARIANT]-install_only[_stripped].tar.(gz|zst)
 *
 * and a SHA256SUMS file ("<sha256>  <file name>" per line). An install_only
 * archive holds one folder, python/, with the installation: bin/python3.12
 * and lib/python3.12/ on POSIX, python.exe, Lib\ and
 * Lib\venv\scripts\nt\venvlauncher.exe on Windows.
 *
 * The catalogue comes from a mirror (the matrix's python-mirror, else
 * the settings' python_mirror, else EM_PYBUILD_DEFAULT_MIRROR):
 *   - a URL or path ending in ".json": a JSON catalogue, either an array
 *     or {"builds": [...]}, each entry
 *       {"version": "3.12.10", "triple": "x86_64-unknown-linux-gnu",
 *        "url": "cpython-...tar.gz", "sha256": "<64 hex>", "size": 31000000,
 *        "flavor": "install_only" (default) | "install_only_stripped",
 *        "freethreaded": false}
 *     url may be relative to the catalogue; size may be left out;
 *   - a URL or path ending in "SHA256SUMS": that file, the archives beside it;
 *   - any other URL or folder: the folder holding SHA256SUMS and the archives.
 * file:// URLs and plain paths are read in place.
 *
 * Installed builds live in the managed folder (em_interp_managed_dir,
 * interp.h: the settings' python_dir, else xdg_data_home/envmatrix/python,
 * else ~/.local/share/envmatrix/python; on Windows
 * local_app_data\envmatrix\python):
 *
 *     cpython-3.12.10-x86_64-unknown-linux-gnu/   an installation (complete:
 *                                                 it appears by rename and
 *                                                 holds EM_PYBUILD_MARK)
 *     cpython-3.12-x86_64-unknown-linux-gnu -> cpython-3.12.10-...
 *                                                 the newest installed patch
 *     .cpython-3.12.10-x86_64-unknown-linux-gnu.lock   flock(2) while installing
 *
 * A venv whose base interpreter is named through the minor-version link
 * follows patch upgrades.
 */
#ifndef ENVMATRIX_PYBUILD_H
#define ENVMATRIX_PYBUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "envmatrix/error.h"
#include "spec/pep440.h"
#include "spec/target.h"

#define EM_PYBUILD_DEFAULT_MIRROR \
	"https://github.com/astral-sh/python-build-standalone/releases/latest/download/SHA256SUMS"
#define EM_PYBUILD_MARK ".envmatrix-pybuild" /* inside an installation: url, sha256 */
#define EM_PYBUILD_CATALOGUE_MAX (16u << 20)

struct em_pybuild {
	const char *filename;   /* the archive's name */
	const char *url;        /* absolute URL or path */
	const char *sha256;     /* lower-case hex */
	int64_t size;           /* -1 when not known */
	struct em_python py;    /* exact version; freethreaded from the variant */
	char version[EM_PYTHON_NAME_MAX]; /* "3.12.10", "3.13.3t" */
	const char *triple;     /* "x86_64-unknown-linux-gnu" */
	const char *build;      /* release tag ("20250409"), "" when not known */
	bool stripped;          /* install_only_stripped */
	bool zst;               /* .tar.zst (else .tar.gz) */
};

struct em_pybuild_catalogue {
	uint32_t n;
	struct em_pybuild *items; /* in file order */
	uint32_t nskipped;        /* lines or entries that are not install_only
				   * CPython archives (full builds, other files) */
};

/* Parse an archive name (no I/O). EM_EINVAL when it is not a CPython
 * install_only archive of python-build-standalone's naming; url, sha256
 * and size are left for the caller. */
EM_MUST_USE
int em_pybuild_parse_name(struct em_arena *a, const char *filename, struct em_pybuild *out,
			  struct em_error *e);

/* Parse a SHA256SUMS file (no I/O): base is the URL or folder the archives
 * are relative to; where names the file in errors ("where:LINE: ..."). A
 * line that is not "<64 hex>  <name>" is EM_EINVAL naming its line; names
 * that are not install_only CPython archives are counted in nskipped. */
EM_MUST_USE
int em_pybuild_parse_sums(struct em_arena *a, const char *base, const char *text, size_t len,
			  const char *where, struct em_pybuild_catalogue *out, struct em_error *e);
/* The JSON catalogue (format above). Entries are checked: a bad one is
 * EM_EINVAL naming its index. */
EM_MUST_USE
int em_pybuild_parse_json(struct em_arena *a, const char *base, const char *text, size_t len,
			  const char *where, struct em_pybuild_catalogue *out, struct em_error *e);

/* python-build-standalone's triple for a platform, NULL when it has none:
 * x86_64/aarch64/i686 Linux (-unknown-linux-gnu, -musl by libc), Windows
 * (x86_64-pc-windows-msvc, aarch64-pc-windows-msvc, i686-pc-windows-msvc),
 * macOS (x86_64-apple-darwin, aarch64-apple-darwin). */
const char *em_pybuild_triple(const struct em_platform *p);

/* The build for a request: an exact version (py.has_micro), the newest
 * patch of a minor (the newest build tag when several releases list it),
 * or the newest version a specifier admits (spec not NULL; final releases
 * only). Free-threaded builds only when py.freethreaded. install_only is
 * preferred to install_only_stripped, .tar.gz to .tar.zst. NULL when
 * none fits. */
const struct em_pybuild *em_pybuild_choose(const struct em_pybuild_catalogue *c,
					   const char *triple, const struct em_python *py,
					   const struct em_specset *spec);

/* The mirror to read: python_mirror (a matrix value, relative to mdir)
 * when set, else the settings' python_mirror (relative to the working
 * folder), else EM_PYBUILD_DEFAULT_MIRROR. *explicit says whether one of
 * the first two gave it. */
const char *em_pybuild_mirror(struct em_arena *a, const char *python_mirror, const char *mdir,
			      bool *explicit_mirror);

struct em_source;
/* Read and parse the catalogue at mirror (see the top) through src (its
 * kept pages serve --offline). Errors name the catalogue's URL. */
EM_MUST_USE
int em_pybuild_catalogue_load(struct em_arena *a, struct em_source *src, const char *mirror,
			      struct em_pybuild_catalogue *out, struct em_error *e);

/* The build for platform p and the request (py, spec as em_pybuild_choose
 * takes them; asked: the request as the user wrote it, for messages) in
 * the catalogue at mirror. Errors, without a place: EM_EUNSUPPORTED when
 * python-build-standalone has no builds for p, EM_ENOTFOUND (EM_EOFFLINE
 * offline) when the catalogue cannot be read, EM_ENOTFOUND naming the
 * catalogue and the triple when it lists no such build. */
EM_MUST_USE
int em_pybuild_find(struct em_arena *a, struct em_source *src, const char *mirror,
		    const struct em_platform *p, const struct em_python *py,
		    const struct em_specset *spec, const char *asked,
		    const struct em_pybuild **out, struct em_error *e);

/* "cpython-3.12.10-TRIPLE" and the minor link's "cpython-3.12-TRIPLE". */
char *em_pybuild_install_name(struct em_arena *a, const struct em_python *py, const char *triple,
			      bool minor);

/* An installation of the managed folder: where it is, and what its mark
 * says (url, sha256 and size of the archive it came from). */
struct em_pybuild_installed {
	const char *root;        /* <dir>/cpython-3.12.10-TRIPLE */
	const char *via_minor;   /* <dir>/cpython-3.12-TRIPLE when that link points
				  * here, else NULL */
	const char *executable;  /* bin/python3.12 (Windows: python.exe) under
				  * via_minor when set, else under root */
	struct em_pybuild build; /* from the mark: url, sha256, size, version, triple */
};

/* The installation of version py (exact) for triple in dir: 0, or
 * EM_ENOTFOUND. */
EM_MUST_USE
int em_pybuild_find_installed(struct em_arena *a, const char *dir, const struct em_python *py,
			      const char *triple, struct em_pybuild_installed *out,
			      struct em_error *e);
/* Every installation in dir, newest first. */
EM_MUST_USE
int em_pybuild_list_installed(struct em_arena *a, const char *dir,
			      struct em_pybuild_installed **out, uint32_t *n, struct em_error *e);
/* The installation holding executable (a realpath under dir), or
 * EM_ENOTFOUND. */
EM_MUST_USE
int em_pybuild_installed_for(struct em_arena *a, const char *dir, const char *executable,
			     struct em_pybuild_installed *out, struct em_error *e);

struct em_cache;
struct em_http;
struct em_pybuild_install_opts {
	const char *dir;              /* the managed folder (created when missing) */
	const struct em_platform *platform; /* the build's platform: its interpreter
				       * is run to check it only when run is set */
	bool run;                     /* ask the interpreter (em_interp_query) that it
				       * is the promised version; else check its
				       * executable exists */
	const char *const *creds;     /* URLs whose credentials serve the build's URL */
	uint32_t ncreds;
};

/* Install build b into o->dir unless it is there: fetch the archive
 * through the cache (verified against b->sha256 before anything is
 * unpacked; a local file is read in place), unpack it into a staging
 * folder (every member name checked, symbolic links only to inside the
 * tree, hard links only to earlier members, nothing else but files and
 * folders), check the interpreter, rewrite bin/ scripts whose #! names
 * another prefix, write EM_PYBUILD_MARK, rename it into place, and point
 * the minor-version link at the newest installed patch. A lock file per
 * version keeps concurrent installs apart. *fresh says whether this call
 * installed it. Errors name the archive's URL (redacted). */
EM_MUST_USE
int em_pybuild_install(struct em_arena *a, struct em_cache *c, struct em_http *h,
		       const struct em_pybuild *b, const struct em_pybuild_install_opts *o,
		       struct em_pybuild_installed *out, bool *fresh, struct em_error *e);

/* Point dir's cpython-X.Y-TRIPLE link at the newest installed patch of
 * X.Y for triple (atomically, by rename). */
EM_MUST_USE
int em_pybuild_update_minor_link(struct em_arena *a, const char *dir, const struct em_python *py,
				 const char *triple, struct em_error *e);

#endif
