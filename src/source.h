/* source.h - where index pages, METADATA and files come from
 *
 * The planner asks for URLs; a source answers with bytes. file:// URLs and
 * plain paths are read from disk; http:// and https:// ones through http
 * (http.h) when it is set. Answers are kept for the life of the source, so
 * workloads planned together read each page once, and with a cache
 * (cache.h) HTTP pages are also kept on disk with their validators (ETag,
 * Last-Modified) and revalidated by the next run, which then downloads
 * only what changed.
 */
#ifndef ENVMATRIX_SOURCE_H
#define ENVMATRIX_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "envmatrix/error.h"

struct em_source_entry;
struct em_http;
struct em_cache;

struct em_source {
	/* set by the caller after em_source_init */
	struct em_http *http;          /* NULL: local URLs only */
	struct em_cache *disk;         /* NULL: pages are not kept on disk */
	bool refresh;                  /* ignore kept pages: fetch them whole again */
	bool offline;                  /* kept pages only, never the network */

	struct em_arena arena;         /* cached bodies */
	struct em_source_entry *cache; /* by URL */
	uint32_t ncache, capcache;
	uint64_t bytes_read;
	uint32_t requests;             /* local reads and network requests */
	uint32_t revalidated;          /* kept pages the server said are current */
	uint64_t bytes_downloaded;     /* over the network */
};

void em_source_init(struct em_source *s);
void em_source_release(struct em_source *s);

/* The body at url (at most max bytes). EM_ENOTFOUND when there is nothing
 * there, EM_EUNSUPPORTED for a scheme this build cannot read. The bytes
 * stay valid until em_source_release. */
EM_MUST_USE
int em_source_get(struct em_source *s, const char *url, size_t max, const char **body,
		  size_t *len, struct em_error *e);

/* An index page: like em_source_get, with an Accept header for HTTP (NULL:
 * any) and the answer's content type (lower case, no parameters; NULL for
 * a local file) and its URL after redirects (the base for relative links). */
EM_MUST_USE
int em_source_page(struct em_source *s, const char *url, const char *accept, size_t max,
		   const char **body, size_t *len, const char **content_type,
		   const char **final_url, struct em_error *e);

/* The METADATA of the wheel at url (a local path or URL; filename is its
 * name). A remote wheel's is read with HTTP range requests: the zip's end
 * records, its central directory, then the one member; the whole wheel
 * is downloaded (into the cache, for apply) only when the
 * server cannot answer ranges. Kept on disk like pages. */
EM_MUST_USE
int em_source_wheel_metadata(struct em_source *s, const char *url, const char *filename,
			     const char *sha256, const char **body, size_t *len,
			     struct em_error *e);

/* A verified file on this machine for the file at url (filename is its
 * name): a local file is read in place, a remote one downloaded into the
 * cache (or found there). Its sha256 is checked against the index's when
 * sha256 is not NULL (EM_EINVAL naming both), and given in hex either
 * way. *path stays valid until em_source_release. */
EM_MUST_USE
int em_source_file(struct em_source *s, const char *url, const char *filename,
		   const char *sha256, const char **path, char hex[65], struct em_error *e);

/* The PKG-INFO of the source distribution at url (em_sdist_read_pkg_info,
 * archive.h), the file fetched and verified by em_source_file first.
 * What is read is kept in the cache by the sdist's sha256, so a later run
 * neither downloads nor reads the archive again (when the index gives the
 * sha256; a local file without one is hashed, not re-read). */
EM_MUST_USE
int em_source_sdist_pkg_info(struct em_source *s, const char *url, const char *filename,
			     const char *sha256, const char **body, size_t *len,
			     struct em_error *e);

/* The file names in a folder URL (find-links), sorted; EM_ENOTFOUND when
 * it is not a folder. */
EM_MUST_USE
int em_source_list(struct em_source *s, const char *url, const char ***names, uint32_t *n,
		   struct em_error *e);

/* Size and SHA-256 of the file at url, reading it when needed. A remote
 * file is downloaded into the cache (and kept there for apply). */
EM_MUST_USE
int em_source_hash(struct em_source *s, const char *url, char sha256[65], int64_t *size,
		   struct em_error *e);

/* The size of the file at url without reading it (HEAD for HTTP). */
EM_MUST_USE
int em_source_size(struct em_source *s, const char *url, int64_t *size, struct em_error *e);

#endif
