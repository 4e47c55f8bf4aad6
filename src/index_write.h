/* index_write.h - writing package index pages (PEP 503 HTML, PEP 691 JSON)
 *
 * The other side of index.h: pages for a static index that any web server
 * or a plain folder can serve, and that em_index_parse_html and
 * em_index_parse_json read back. `envmatrix mirror` and the test tool
 * tests/tools/mkindex write their pages with these, so the bytes are the
 * same for the same input:
 *
 *   project page (HTML)  <!DOCTYPE html>, the PEP 629 repository-version
 *                        meta tag (1.1), "Links for NAME", one anchor per
 *                        file: href URL#sha256=HEX, data-requires-python,
 *                        data-dist-info-metadata and data-core-metadata
 *                        (PEP 658/714: "sha256=HEX" or "true"), data-yanked
 *   project page (JSON)  {"meta": {"api-version": "1.1"}, "name", "versions",
 *                        "files": [{"filename", "url", "hashes",
 *                        "requires-python", "core-metadata",
 *                        "dist-info-metadata", "yanked", "size",
 *                        "upload-time"}]} (PEP 691, PEP 700), indented by one
 *                        space, keys in that order, ending in a newline
 *   root page            the projects, each linking "<canonical name>/"
 *
 * Nothing is read or written here: pages are appended to a struct em_buf.
 */
#ifndef ENVMATRIX_INDEX_WRITE_H
#define ENVMATRIX_INDEX_WRITE_H

#include <stdbool.h>
#include <stdint.h>

#include "util/buf.h"
#include "envmatrix/error.h"

/* One file on a project page. */
struct em_index_write_file {
	const char *filename;        /* shown as the anchor's text, and JSON filename */
	const char *url;             /* as written (already percent-encoded; relative
				      * to the page or absolute), without fragment */
	const char *sha256;          /* lower-case hex, NULL for none */
	const char *requires_python; /* NULL: none (JSON null) */
	bool has_metadata;           /* a <url>.metadata sidecar exists */
	const char *metadata_sha256; /* its hash, NULL to announce it without one */
	bool yanked;
	const char *yank_reason;     /* NULL or "" when yanked without a reason */
	int64_t size;                /* bytes; < 0 leaves "size" out of JSON */
	const char *upload_time;     /* PEP 700 text; NULL leaves it out of JSON */
};

/* One project on a root page. */
struct em_index_write_project {
	const char *name;      /* shown (the anchor's text, JSON name) */
	const char *canonical; /* PEP 503 normalized: the link is "<canonical>/" */
};

/* Append the pages to out. name is the project's normalized name; versions
 * (JSON only, PEP 700) are written in the order given. Errors: EM_ENOMEM,
 * EM_ELIMIT (out's maximum size). */
EM_MUST_USE
int em_index_write_project_html(struct em_buf *out, const char *name,
				const struct em_index_write_file *files, uint32_t n,
				struct em_error *e);
EM_MUST_USE
int em_index_write_project_json(struct em_buf *out, const char *name,
				const char *const *versions, uint32_t nversions,
				const struct em_index_write_file *files, uint32_t n,
				struct em_error *e);
EM_MUST_USE
int em_index_write_root_html(struct em_buf *out, const struct em_index_write_project *p,
			     uint32_t n, struct em_error *e);
EM_MUST_USE
int em_index_write_root_json(struct em_buf *out, const struct em_index_write_project *p,
			     uint32_t n, struct em_error *e);

/* HTML-escape s (& < > " ') onto out. */
void em_index_html_escape(struct em_buf *out, const char *s);

#endif
