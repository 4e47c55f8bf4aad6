/* cache.h - the content-addressed cache shared by every workload and matrix
 *
 *   <root>/wheels/<sha256>/NAME    a downloaded file, complete and verified
 *                                  (it appears by rename)
 *   <root>/wheels/<sha256>/NAME.part  a download in progress or cut short,
 *                                  resumed by the next fetch
 *   <root>/wheels/<sha256>/.lock   flock(2)ed by the process downloading it
 *   <root>/unpacked/<sha256>/      a wheel unpacked and verified (install.h),
 *                                  complete when it holds EM_UNPACKED_MARK
 *   <root>/pages/<xx>/<sha256>     an index page with its validators, named
 *                                  by the sha256 of its URL (xx: the first
 *                                  two hex digits); see source.h
 *   <root>/build-envs/, built/, build-metadata/, build-logs/
 *                                  builds from source (build.h); prune and
 *                                  info know them (cache_admin.c)
 *   <root>/tmp/                    work in progress, renamed into place
 *   <root>/.lock                   flock(2): shared by every process using
 *                                  the cache, exclusive for clean and prune
 *
 * Entries are immutable and named by the sha256 of the file they come
 * from, so four workloads that share torch share one download and one
 * unpacked copy, and the venvs link to it. Several envmatrix processes may
 * fill the cache at once: every entry appears by rename, the first one
 * wins, and a download is made by one process while the others wait for
 * it.
 */
#ifndef ENVMATRIX_CACHE_H
#define ENVMATRIX_CACHE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/arena.h"
#include "envmatrix/error.h"

struct em_http;

struct em_cache {
	const char *root;
	int lock_fd; /* <root>/.lock, held shared (or exclusive); -1 when not */
};

/* The cache folder's absolute path, as em_cache_open finds it (creating
 * nothing); NULL with e filled when there is none. */
char *em_cache_path(struct em_arena *a, const char *configured, struct em_error *e);

/* The cache folder: configured (the matrix's cache-dir) when not NULL, else
 * the settings' cache_dir, else xdg_cache_home/envmatrix, else
 * home/.cache/envmatrix (settings.h). The folders are created and <root>/.lock is held
 * shared until em_cache_close, waiting while a clean or prune runs. */
EM_MUST_USE
int em_cache_open(struct em_cache *c, struct em_arena *a, const char *configured,
		  struct em_error *e);
/* The same folder, held exclusively (for clean and prune): EM_EBUSY when
 * another process uses it and block is false. */
EM_MUST_USE
int em_cache_open_exclusive(struct em_cache *c, struct em_arena *a, const char *configured,
			    bool block, struct em_error *e);
void em_cache_close(struct em_cache *c);

/* ---- files ---- */
struct em_cache_file {
	const char *const *urls; /* where it can be had: mirrors in order; local
				  * paths and file:// URLs are read in place */
	uint32_t nurls;
	const char *filename;    /* its name (a wheel's file name) */
	const char *sha256;      /* the lock's hash; required */
	int64_t size;            /* the lock's size, or -1 */

	/* the outcome */
	const char *path;        /* the verified file: in the cache, or the local
				  * file itself */
	int rc;
	struct em_error err;
	bool downloaded;         /* it came over the network in this call */
	int64_t bytes_transferred;

	/* called (from the caller's thread) as soon as path is verified, while
	 * other downloads may still run; NULL: not called */
	void (*ready)(void *ctx, struct em_cache_file *f);
	void *ready_ctx;
};

/* Make every f[i] available and verified, downloading what the cache
 * lacks (h may be NULL when every URL is local: a remote one then fails
 * with EM_EUNSUPPORTED). Downloads run in parallel through h; a file
 * another process is downloading is waited for, not fetched twice. Each
 * outcome is in f[i]; the return value is the first failure (e names it). */
EM_MUST_USE
int em_cache_fetch(struct em_cache *c, struct em_arena *a, struct em_http *h,
		   struct em_cache_file *f, uint32_t n, struct em_error *e);

/* Keep a file this process downloaded and verified into <root>/tmp/ as
 * the cache's download of sha256 (wheels/<sha>/filename), by rename: the
 * entry's path, or NULL when it could not be kept (tmp is removed then). */
char *em_cache_keep(struct em_cache *c, struct em_arena *a, const char *tmp,
		    const char *filename, const char *sha256);

/* Unpack many wheels into the cache at once: jobs at a time (0: one per
 * core), one sync for all of them, then each tree renamed into place.
 * path is a verified download of the cache (em_cache_fetch) or a local
 * file (a path or file:// URL), which is checked against sha256 and size
 * first; the error names it and both hashes when they differ. A tree
 * already complete is kept (and u[i].dir names it). Each outcome is in
 * u[i]; the return value is the first failure. */
struct em_cache_unpack {
	const char *path;
	const char *filename;
	const char *sha256;
	int64_t size;
	/* the outcome */
	char *dir;  /* the unpacked tree */
	bool fresh; /* unpacked by this call */
	int rc;
	struct em_error err;
};
EM_MUST_USE
int em_cache_unpack_many(struct em_cache *c, struct em_arena *a, struct em_cache_unpack *u,
			 uint32_t n, unsigned jobs, volatile sig_atomic_t *cancel,
			 struct em_error *e);

/* The same, fed one wheel at a time while downloads go on: start the
 * workers, add each wheel once its file is verified (from one thread, the
 * caller's; u must stay valid until finish), then finish: it waits, syncs
 * once, renames the trees into place and gives the first failure. */
struct em_unpacker;
EM_MUST_USE
int em_unpacker_start(struct em_cache *c, struct em_arena *a, unsigned jobs,
		      volatile sig_atomic_t *cancel, struct em_unpacker **out, struct em_error *e);
void em_unpacker_add(struct em_unpacker *p, struct em_cache_unpack *u);
EM_MUST_USE
int em_unpacker_finish(struct em_unpacker *p, struct em_error *e);

/* Whether the unpacked tree of the wheel with this sha256 is complete. */
bool em_cache_has_unpacked(const struct em_cache *c, struct em_arena *a, const char *sha256);

/* ---- checking unpacked trees: apply --force, after a failed
 * verification, 'envmatrix cache verify' ----
 *
 * Venvs hard-link the files of unpacked/<sha>/ under the default link
 * mode, so an edit made in one venv changes the tree every other venv is
 * built from. Each tree is checked against its wheel's RECORD
 * (em_wheel_unpacked_check, every byte read), jobs at a time (0: one per
 * core). With EM_CACHE_CHECK_DROP a damaged tree is moved aside into
 * tmp/ (prune and clean remove it; a process linking from it meanwhile
 * still can), so the next unpack makes it again from the wheel; with
 * EM_CACHE_CHECK_REPAIR it is also unpacked again at once from the
 * cache's download (wheels/<sha>/NAME, checked against sha first) when
 * there is one. Damage is an outcome (v[i].damaged), not a failure: the
 * return value is the first check that could not run (v[i].rc). A tree
 * that is not complete is skipped. */
struct em_cache_check {
	const char *sha256;  /* the entry: unpacked/<sha256> */
	/* the outcome */
	bool checked;        /* a complete tree was checked */
	bool damaged;        /* a file differs from RECORD: err names it */
	bool dropped;        /* moved aside */
	bool repaired;       /* unpacked again from the download */
	const char *wheel;   /* the wheel's file name (from the tree), or NULL */
	int rc;              /* < 0: could not be checked, dropped or repaired (err) */
	struct em_error err;
};
enum { EM_CACHE_CHECK_DROP = 1, EM_CACHE_CHECK_REPAIR = 2 };
EM_MUST_USE
int em_cache_check_unpacked(struct em_cache *c, struct em_arena *a, struct em_cache_check *v,
			    uint32_t n, unsigned jobs, unsigned flags,
			    volatile sig_atomic_t *cancel, struct em_error *e);
/* Every complete unpacked tree of the cache, sorted, for the above. */
EM_MUST_USE
int em_cache_list_unpacked(const struct em_cache *c, struct em_arena *a,
			   struct em_cache_check **out, uint32_t *n, struct em_error *e);

/* ---- looking after it: 'envmatrix cache info|clean|prune' ---- */
struct em_cache_usage {
	uint64_t entries; /* files in wheels/, trees in unpacked/, pages */
	uint64_t bytes;   /* allocated on disk (st_blocks), each inode once */
};

struct em_cache_info {
	struct em_cache_usage wheels;   /* complete downloads */
	struct em_cache_usage partial;  /* .part files */
	struct em_cache_usage unpacked; /* complete unpacked trees */
	struct em_cache_usage pages;    /* index pages */
	struct em_cache_usage build_envs;     /* complete build environments (build.h) */
	struct em_cache_usage built;          /* complete built wheels' entries */
	struct em_cache_usage build_metadata; /* complete prepared metadata */
	struct em_cache_usage build_logs;     /* logs of failed builds */
	struct em_cache_usage tmp;      /* leftovers: tmp/, incomplete unpacked trees
					 * and build entries */
	struct em_cache_usage in_use;   /* unpacked trees some venv links to (a file
					 * with more links than the cache itself holds):
					 * part of unpacked */
};

/* Count what the cache holds. Needs the cache open (shared is enough). */
EM_MUST_USE
int em_cache_info(const struct em_cache *c, struct em_cache_info *out, struct em_error *e);

/* Remove everything in the cache (the folder itself stays). Needs the cache
 * open exclusively. Venvs keep working: their hard links are their own. */
EM_MUST_USE
int em_cache_clean(const struct em_cache *c, struct em_cache_info *removed, struct em_error *e);

/* Remove what no environment needs and what can be rebuilt without the
 * network: leftovers of interrupted runs (tmp/, incomplete unpacked trees
 * and build entries, .part files and .lock files of finished entries),
 * index pages, unpacked trees no venv links to whose wheel is still in
 * wheels/ or built/, build environments no built wheel names (they are
 * made again when needed), and every build log but the newest of each
 * project. Downloads, built wheels and prepared metadata are kept: they
 * are what an offline machine needs. Needs the cache open exclusively. */
EM_MUST_USE
int em_cache_prune(const struct em_cache *c, struct em_cache_info *removed, struct em_error *e);

/* The same, and also the downloads and unpacked trees of every wheel
 * whose sha256 is not in keep (sorted, lower-case hex; nkeep may be 0),
 * unless an environment links to the tree: 'cache prune --keep N', where
 * keep is what the newest N generations of each workload and the current
 * locks need (the CLI gathers it from the history, history.h: wheels and
 * sdists). A built wheel is kept when keep holds its sdist's sha256, and
 * so are the build environment it names and the wheels that environment
 * was made from; prepared metadata likewise by its sdist. */
EM_MUST_USE
int em_cache_prune_keep(const struct em_cache *c, const char *const *keep, size_t nkeep,
			struct em_cache_info *removed, struct em_error *e);

/* ---- checking built wheels: 'envmatrix cache verify' ----
 *
 * Every complete built/<key>/ entry (build.h) has its wheel's sha256
 * computed and compared with what the entry records (wheel.sha256). With
 * drop, a damaged entry is moved aside into tmp/ and removed, so the next
 * apply builds the wheel again. Damage is an outcome, not a failure: the
 * return value is the first entry that could not be read or dropped (its
 * rc; the listing's own failure otherwise). */
struct em_cache_built_check {
	const char *dir;     /* built/<key> (absolute) */
	const char *wheel;   /* the wheel's file name */
	const char *sha256;  /* recorded, or NULL (an entry made before hashes were
			      * recorded: not checked) */
	const char *got;     /* computed */
	bool checked, damaged, dropped;
	int rc;
	struct em_error err; /* damaged or rc < 0: what and where */
};
EM_MUST_USE
int em_cache_check_built(const struct em_cache *c, struct em_arena *a, bool drop,
			 struct em_cache_built_check **out, uint32_t *n, struct em_error *e);

#endif
