/* mirror.h - a static package index holding exactly what the locks need
 *
 * `envmatrix mirror DIR` reads the lock of every workload (pylock.<workload>
 * .toml beside the matrix) and writes a package index that any web server,
 * or a plain folder, serves; pointing the matrix's index-url and
 * torch-index-url at it plans and applies the same environments without
 * the internet. The layout follows the planner's routing (plan.c): the
 * torch family of a workload with torch comes from <torch-index-url>/
 * <variant>/<name>/, everything else from <index-url>/<name>/:
 *
 *   DIR/simple/index.html, index.json         the projects (PEP 503, PEP 691)
 *   DIR/simple/<name>/index.html, index.json  the project's locked files
 *   DIR/simple/<name>/<file>                  the file itself
 *   DIR/simple/<name>/<wheel>.metadata        its METADATA (PEP 658/714)
 *   DIR/torch/<variant>/...                   the same, for the torch family
 *                                             of the workloads on <variant>
 *   DIR/.envmatrix-mirror.lock                one mirror run at a time
 *
 * so index-url = DIR/simple and torch-index-url = DIR/torch (or their
 * http:// URLs). Pages link their files by relative URLs, so the folder can
 * be moved or served under any path. Every file of every locked package is
 * mirrored (all the wheels a lock lists, for every platform, and sdists),
 * verified by sha256 and size, and deduplicated by sha256: each is fetched
 * once, and placed by reflink, hard link (from the cache) or copy. Every
 * write is atomic (a temporary file beside it, then rename), so a server
 * never sees half a file or half a page, and pages are written after the
 * files they list.
 *
 * Running it again is incremental: a file already in place with the
 * locked size is kept (with verify, only when its sha256 matches too),
 * pages are rewritten only when they change, and nothing else is removed
 * unless prune is set: then files, sidecars and projects (and variants)
 * the locks no longer name are removed from DIR/simple and DIR/torch;
 * nothing outside those two folders is ever touched.
 */
#ifndef ENVMATRIX_MIRROR_H
#define ENVMATRIX_MIRROR_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/arena.h"
#include "cache.h"
#include "envmatrix/error.h"
#include "spec/matrix.h"

struct em_http;

enum em_mirror_event_kind {
	EM_MIRROR_EV_LOCK,   /* detail: a lock read (done of total) */
	EM_MIRROR_EV_FETCH,  /* total: files to fetch (local or downloaded) */
	EM_MIRROR_EV_FILE,   /* detail: a file placed in DIR (done of total) */
	EM_MIRROR_EV_REMOVED /* detail: a path prune removed */
};

struct em_mirror_event {
	enum em_mirror_event_kind kind;
	const char *detail;
	uint32_t done, total;
};

struct em_mirror_options {
	const char *matrix_path;      /* the locks are beside it */
	uint32_t nonly;               /* workloads to mirror; none: all */
	const char *const *only;
	const char *dir;              /* the mirror's root (created when missing) */
	bool prune;                   /* remove what the locks no longer name */
	bool verify;                  /* rehash files already in DIR */
	struct em_cache *cache;       /* open cache for downloads; NULL: opened
				       * here (the matrix's cache-dir) when a file
				       * has to be fetched */
	struct em_http *http;         /* downloads; NULL: local files only (a
				       * remote one fails with EM_EUNSUPPORTED) */
	volatile sig_atomic_t *cancel; /* set (by a signal handler) to stop */
	void (*event)(void *ctx, const struct em_mirror_event *ev);
	void *ctx;
};

struct em_mirror_project {
	const char *name;      /* normalized */
	const char *index;     /* "simple" or "torch/<variant>" (relative to DIR) */
	uint32_t nversions;
	const char **versions; /* PEP 440 order */
	uint32_t nfiles;
	uint64_t bytes;
};

struct em_mirror_result {
	const char *dir;             /* absolute */
	const char *index_url;       /* file:// URL of DIR/simple */
	const char *torch_index_url; /* file:// URL of DIR/torch (NULL: no variant) */
	uint32_t nlocks;
	const char **locks;          /* the lock files read */
	uint32_t nprojects;          /* by index, then name */
	struct em_mirror_project *projects;
	uint32_t nvariants;
	const char **variants;       /* cu126, cpu... sorted */
	uint32_t nfiles;             /* distinct files (by sha256) */
	uint64_t bytes;              /* their size */
	uint32_t nplaced;            /* files written into DIR by this run */
	uint32_t npresent;           /* files already there */
	uint32_t ndownloaded;        /* fetched over the network by this run */
	uint64_t bytes_downloaded;
	uint32_t npages;             /* pages and sidecars written (changed) */
	uint32_t nremoved;           /* paths removed by prune */
	uint32_t nskipped;           /* packages with no file an index can serve */
	const char **skipped;        /* "name (vcs, directory or archive)" */
};

/* Mirror the locks of the selected workloads of m into o->dir. Errors name
 * the place: a workload without a lock (EM_ENOTFOUND, "run 'envmatrix
 * plan' first"), a lock that does not parse (its file:line), a file whose
 * sha256 or size differs from its lock (the URL and both hashes), two
 * locks that give one file name two hashes (EM_ECONFLICT), a DIR that
 * cannot be written, another mirror run writing DIR (EM_EBUSY),
 * EM_ECANCELED when *cancel was set. Files placed before an error stay
 * (the next run keeps them); pages are only written when every file is in
 * place. */
EM_MUST_USE
int em_mirror_run(struct em_arena *a, const struct em_matrix *m,
		  const struct em_mirror_options *o, struct em_mirror_result *out,
		  struct em_error *e);

#endif
