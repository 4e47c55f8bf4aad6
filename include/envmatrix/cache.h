/* cache.h - the content-addressed cache shared by every workload and matrix
 *
 *   <root>/unpacked/<sha256>/   a wheel unpacked and verified (install.h),
 *                               complete when it holds EM_UNPACKED_MARK
 *   <root>/wheels/<sha256>/NAME the wheel itself, for sources that are not
 *                               local files (downloads)
 *   <root>/tmp/                 work in progress, renamed into place
 *
 * Entries are immutable and named by the sha256 of the wheel they come
 * from, so four workloads that share torch share one unpacked copy, and
 * the venvs link to it. Several envmatrix processes may fill it at once:
 * every entry appears by rename, the first one wins.
 */
#ifndef ENVMATRIX_CACHE_H
#define ENVMATRIX_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "envmatrix/arena.h"
#include "envmatrix/error.h"

struct em_cache {
	const char *root;
};

/* The cache folder: configured (the matrix's cache-dir) when not NULL, else
 * $ENVMATRIX_CACHE_DIR, else $XDG_CACHE_HOME/envmatrix, else
 * ~/.cache/envmatrix. The folders are created. */
int em_cache_open(struct em_cache *c, struct em_arena *a, const char *configured,
		  struct em_error *e);

/* The unpacked tree of the wheel at url whose sha256 (and size, when
 * >= 0) the lock gives. A local wheel is checked against the hash and
 * unpacked straight from where it is; a cached tree is reused. The error
 * names the URL and both hashes when they differ. *fresh tells whether it
 * had to be unpacked now. */
int em_cache_unpacked(struct em_cache *c, struct em_arena *a, const char *url,
		      const char *filename, const char *sha256, int64_t size,
		      char **dir, bool *fresh, struct em_error *e);

#endif
