/* index.h - package index pages (PEP 503 HTML, PEP 691 JSON) and URLs
 *
 * Index pages are parsed from bytes: where the bytes come from (a file://
 * tree, a find-links folder, HTTP) is the caller's business. Every file's
 * URL is made absolute against the page's URL, so an anchor pointing at
 * another host (download-r2.pytorch.org, files.pythonhosted.org) works.
 */
#ifndef ENVMATRIX_INDEX_H
#define ENVMATRIX_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "envmatrix/error.h"

#define EM_INDEX_MAX_LEN (256u << 20)  /* bytes of one page */
#define EM_INDEX_MAX_FILES (1u << 20)  /* files of one page */
#define EM_URL_MAX_LEN 8192

struct em_index_file {
	const char *filename;        /* the file's name, percent-decoded ("torch-2.8.0+cu126-...whl") */
	const char *url;             /* absolute, fragment removed */
	const char *sha256;          /* lower-case hex from #sha256= or hashes, or NULL */
	const char *requires_python; /* data-requires-python / requires-python, HTML-unescaped, or NULL */
	bool has_metadata;           /* a PEP 658/714 sidecar (<url>.metadata) is announced */
	const char *metadata_sha256; /* its hash when given, or NULL */
	bool yanked;
	const char *yank_reason;     /* "" when yanked without a reason */
	int64_t size;                /* bytes, -1 when unknown (PEP 700) */
	const char *upload_time;     /* as given, or NULL */
};

struct em_index_page {
	const char *url;             /* the page's URL */
	uint32_t nfiles;
	struct em_index_file *files; /* in page order */
	uint32_t nskipped;           /* entries left out: no href or URL, a URL that
					does not resolve or has a scheme other than
					http(s) (file: only on file: pages), a name
					that is not a distribution file (.whl, .tar.gz,
					.zip, ...) or is unsafe as a file name */
};

/* PEP 503: the <a> elements of an HTML page (a tolerant scanner: any
 * attribute order and quoting, entities decoded, <base href> honoured,
 * comments, script and style skipped). The file name is the decoded last
 * segment of the href, or the anchor's text when that segment is not a
 * distribution file name. Errors: EM_ELIMIT past EM_INDEX_MAX_LEN or
 * EM_INDEX_MAX_FILES; EM_EINVAL when page_url is not absolute. Malformed
 * HTML is never an error. */
EM_MUST_USE
int em_index_parse_html(struct em_arena *a, const char *page_url, const char *buf, size_t len,
			struct em_index_page *out, struct em_error *e);
/* PEP 691: application/vnd.pypi.simple.v1+json. meta.api-version must be
 * 1.x (EM_EUNSUPPORTED otherwise); a document that is not JSON or lacks
 * meta or files is EM_EINVAL. A file entry without a string filename and
 * url is skipped (counted in nskipped); a field of the wrong type is
 * ignored. */
EM_MUST_USE
int em_index_parse_json(struct em_arena *a, const char *page_url, const char *buf, size_t len,
			struct em_index_page *out, struct em_error *e);

/* ---- URLs ---- */

/* RFC 3986 reference resolution: ref against base (absolute URL). */
EM_MUST_USE
int em_url_resolve(struct em_arena *a, const char *base, const char *ref, char **out,
		   struct em_error *e);
/* Percent-decode (%2B -> '+'); invalid escapes are kept as written. */
char *em_url_decode(struct em_arena *a, const char *s, size_t n);
/* Percent-encode what a path segment may not hold (keeps A-Z a-z 0-9 -._~
 * and the sub-delims PyPI leaves alone; '+' becomes %2B). */
char *em_url_encode_segment(struct em_arena *a, const char *s, size_t n);
/* The last path segment, decoded, without query and fragment. */
char *em_url_basename(struct em_arena *a, const char *url);
/* The URL without user:password@, for messages, logs and lock files. */
char *em_url_redact(struct em_arena *a, const char *url);
/* url with the user:password of the first of sources that has one and the
 * same scheme, host and port (ASCII case ignored); url as it is when it
 * has its own or none matches. Locks keep URLs without credentials; the
 * matrix's index URLs give them back at download time. */
char *em_url_add_credentials(struct em_arena *a, const char *url, const char *const *sources,
			     size_t n);
/* file:// URLs and paths: "file:///a/b%20c" <-> "/a/b c". NULL when url is
 * not a local file URL. */
char *em_url_to_path(struct em_arena *a, const char *url);
char *em_path_to_url(struct em_arena *a, const char *abs_path);
/* Join a base URL and a relative path with exactly one '/' between, the
 * result ending in '/' when dir is true ("https://x/simple" + "torch"). */
char *em_url_join(struct em_arena *a, const char *base, const char *rel, bool dir);

#endif
