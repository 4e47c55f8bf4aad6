/* build.h - building wheels from source distributions (PEP 517/518)
 *
 * An sdist (.tar.gz, .tgz, .tar.bz2, .tar.xz, .zip) is unpacked into a
 * temporary folder with the member checks wheels get (archive.h: no
 * absolute paths, no '..', no links out of the tree, size caps), its
 * [build-system] table is read from pyproject.toml, and the backend's
 * hooks run through a small Python driver that envmatrix embeds
 * (src/data/pep517_driver.py), in an isolated build environment: a venv
 * made by apply's own installer (em_apply_install_lock) from a lock that
 * the planner resolves for the requirements. The backend is trusted code
 * that the user asked for; envmatrix confines only what it writes itself.
 *
 * The cache (cache.h) keeps:
 *
 *   <root>/build-envs/<sha256>/    a build environment: a venv holding a
 *                                  lock's packages, named by the sha256 of
 *                                  the lock's text (the same set of
 *                                  requirements shares one); complete when
 *                                  it holds EM_BUILD_ENV_MARK
 *   <root>/built/<key>/NAME.whl    a built wheel, key = sha256 of the sdist's
 *                                  sha256, the Python (X.Y, free-threading),
 *                                  the platform, the build environment's
 *                                  hash and the config settings (key.txt
 *                                  says which: "sdist SHA", "build-env HASH"
 *                                  lines); wheel.sha256 records the wheel's
 *                                  hash ("HEX  NAME.whl", as sha256sum);
 *                                  build.log beside it
 *   <root>/build-metadata/<key>/METADATA  prepared metadata, key = sha256
 *                                  of the sdist's sha256 and the Python
 *                                  (key.txt beside it)
 *   <root>/build-logs/<project>.<key>.log  the full log of the last failed
 *                                  build of an sdist (project: its
 *                                  normalised name; key: 16 hex digits)
 *
 * cache prune keeps the built wheels of the sdists a kept lock holds,
 * the build environments a kept built wheel names, and the newest log of
 * each project (cache_admin.c).
 *
 * Every entry appears by rename from <root>/tmp/, so concurrent builds of
 * the same sdist both succeed and the first one wins.
 */
#ifndef ENVMATRIX_BUILD_H
#define ENVMATRIX_BUILD_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "cache.h"
#include "envmatrix/error.h"
#include "interp.h"
#include "source.h"
#include "spec/target.h"

struct em_matrix;
struct em_plan_options;
struct em_workload_plan;

#define EM_BUILD_ENV_MARK ".envmatrix-build-env"
#define EM_BUILT_KEY_NAME "key.txt"         /* in built/<key>/, build-metadata/<key>/ */
#define EM_BUILT_SHA256_NAME "wheel.sha256" /* in built/<key>/ */
#define EM_BUILD_TIMEOUT_MS (2 * 3600 * 1000) /* per hook, by default */
#define EM_BUILD_MAX_FILES 200000             /* members of an sdist */
#define EM_BUILD_MAX_BYTES (8ull << 30)       /* unpacked bytes of an sdist */
#define EM_BUILD_MAX_REQUIRES 256             /* build requirements */
#define EM_BUILD_LOG_TAIL 10                  /* log lines an error quotes */

/* ---- [build-system] (no I/O) ---- */

struct em_build_system {
	uint32_t nrequires;
	const char **requires;     /* PEP 508 strings, as written */
	const char *backend;       /* "module.sub:object" */
	uint32_t nbackend_path;
	const char **backend_path; /* relative to the source tree, checked to stay in it */
	bool legacy;               /* no pyproject.toml or no [build-system]: pip's
				    * defaults (setuptools>=40.8.0, __legacy__) */
};

/* Read [build-system] from pyproject.toml's text (text NULL: no file).
 * Absent table: requires setuptools>=40.8.0 with the legacy backend
 * setuptools.build_meta:__legacy__; a table without build-backend keeps
 * its requires with that backend (as pip does). Errors (EM_EINVAL, where
 * "WHERE:LINE"): requires not an array of strings, build-backend not a
 * string of the form module[:object], backend-path not an array of
 * relative paths without '..'; EM_ELIMIT past EM_BUILD_MAX_REQUIRES. */
EM_MUST_USE
int em_build_system_read(struct em_arena *a, const char *text, size_t len, const char *where,
			 struct em_build_system *out, struct em_error *e);

/* ---- unpacking ---- */

/* Unpack the sdist at path into the folder dest (created; must not
 * exist) and give its single top folder in *top (absolute). Every member
 * name is checked (em_archive_check_name), links must stay inside the
 * tree, hard links must name earlier files, devices and FIFOs are
 * refused, and at most EM_BUILD_MAX_FILES members and EM_BUILD_MAX_BYTES
 * bytes are written. EM_EINVAL names the archive and the member. */
EM_MUST_USE
int em_sdist_unpack(struct em_arena *a, const char *path, const char *dest, const char **top,
		    struct em_error *e);

/* ---- building ---- */

enum em_build_event_kind {
	EM_BUILD_EV_ENV,    /* detail: a build environment is being made (its folder) */
	EM_BUILD_EV_HOOK,   /* detail: a hook starts (its name) */
	EM_BUILD_EV_CACHED  /* detail: the result came from the cache (its path) */
};

struct em_build_options {
	/* where build requirements come from (as a workload's keys) */
	const char *index_url;        /* NULL: https://pypi.org/simple, unless no_index */
	bool no_index;                /* only find_links */
	uint32_t nfind_links;
	const char *const *find_links; /* absolute folders or URLs */
	/* the Python: a matrix python value ("3.12", "3.12.3", ">=3.10") or an
	 * interpreter's path; NULL: the newest on this machine */
	const char *python;
	const struct em_platform *host;       /* this machine (builds run here) */
	const struct em_interp_list *interps; /* NULL: discovered on first need */
	/* build without isolation: run the hooks with this interpreter (an
	 * environment that already has the backend and its requirements); no
	 * build environment is made and the wheel is not cached */
	const char *no_isolation_python;
	uint32_t nconfig;
	const char *const *config;    /* config settings, "KEY=VALUE" (a repeated key
				       * becomes a list, as pip passes it) */
	uint32_t nextra_requires;
	const char *const *extra_requires; /* added to [build-system] requires */
	/* constraints (PEP 508: a name, a specifier, a marker) on the build
	 * environment: the planner has no constraints of its own, so the
	 * environment is resolved, then each constraint whose project is in
	 * the resolution is added as a requirement and it is resolved again,
	 * until none is added (a constrained project is then installed even
	 * if the new resolution would drop it). Not used without isolation. */
	uint32_t nconstraints;
	const char *const *constraints;
	uint32_t nenv;                /* extra environment variables for the hooks */
	const char *const *env_names;
	const char *const *env_values;
	int timeout_ms;               /* per hook; 0: EM_BUILD_TIMEOUT_MS */
	volatile sig_atomic_t *cancel;
	void (*event)(void *ctx, enum em_build_event_kind k, const char *detail);
	void *ctx;
	/* installs a build environment's lock into dest (apply.h's
	 * em_apply_install_lock, which front ends and em_workload_build_options
	 * set): a hook, so that this module does not depend on apply.c, which
	 * builds sdists through it. Needed unless no_isolation_python. */
	int (*install_lock)(struct em_arena *a, struct em_source *src, const struct em_matrix *m,
			    const struct em_plan_options *po, struct em_workload_plan *wp,
			    const char *dest, const char *final_root,
			    volatile sig_atomic_t *cancel, struct em_error *e);
};

struct em_build_result {
	const char *wheel;     /* the built wheel (absolute; in the cache) */
	const char *filename;  /* its file name */
	char sha256[65];
	int64_t size;
	const char *name;      /* project (PEP 503 normalised) and version, from */
	const char *version;   /* the wheel's name (checked against the sdist's) */
	bool cached;           /* no hook ran: the cache had it */
	bool temporary;        /* not cached (a folder's build, or one without
				* isolation): the wheel lies in the cache's tmp/ and
				* is the caller's to move or remove */
	const char *env_dir;   /* the build environment (NULL without isolation) */
	const char *log;       /* the build log kept beside the wheel (NULL when cached
				* before logs were kept) */
};

/* Build a wheel from source: an sdist file or a source folder (a folder
 * is copied first, so the build never writes into it). sha256 is the
 * sdist's (NULL: computed); the wheel is cached only for sdists. The
 * sdist's name must be NAME-VERSION.tar.gz (or .zip...) and the wheel's
 * project and version must match it. Errors name the package
 * (NAME-VERSION or the folder), the hook, the last EM_BUILD_LOG_TAIL lines
 * of the log and where the full log was kept (EM_EINVAL; EM_EIO "timed
 * out after N s" for a hook past the timeout, whose process group is
 * killed; EM_ECANCELED when *cancel was set); a backend that cannot be
 * imported is EM_EINVAL naming it. The temporary folder is always
 * removed. c is the open cache (its root is used; nothing is locked
 * beyond what em_apply_install_lock does). */
EM_MUST_USE
int em_build_wheel(struct em_arena *a, struct em_source *src, struct em_cache *c,
		   const char *source, const char *sha256, const struct em_build_options *o,
		   struct em_build_result *out, struct em_error *e);

/* The METADATA of the wheel an sdist would build, for planning sdists
 * whose PKG-INFO marks fields Dynamic: from the cache (by the sdist's
 * sha256 and the Python), else prepare_metadata_for_build_wheel in a
 * build environment, else (a backend without that hook) a full build
 * through em_build_wheel, reading the wheel's METADATA. *built says a
 * wheel was built (and cached) on the way. */
EM_MUST_USE
int em_build_metadata(struct em_arena *a, struct em_source *src, struct em_cache *c,
		      const char *sdist, const char *sha256, const struct em_build_options *o,
		      const char **metadata, size_t *len, bool *built, struct em_error *e);

/* The embedded driver's source (for tests and 'envmatrix build -v'). */
extern const char em_build_driver_py[];

#endif
