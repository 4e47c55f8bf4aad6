/* http.h - the network: index pages, byte ranges and files over HTTP(S)
 *
 * One em_http per process holds libcurl's shared state (connections, TLS
 * sessions, DNS), so every request after the first to a host reuses its
 * connection, over HTTP/2 where the server offers it. TLS is always
 * verified, against ca_file (else the settings' ca_file, else the system's
 * bundle). Credentials come from the URL or ~/.netrc and never appear in
 * an error: URLs are redacted (url.h) before they are shown. Proxies come
 * from http_proxy, https_proxy, all_proxy and no_proxy, as curl reads them.
 *
 * Transfers never hold a file whole in memory: downloads stream to disk
 * and are hashed as they arrive; pages are bounded by a maximum size.
 * Failures that may pass (a dropped connection, 5xx, 429, a stall) are
 * retried with backoff; a stall is no bytes for stall_s seconds, so a
 * 2.5 GB wheel on a slow link is never cut off by a total time limit.
 */
#ifndef ENVMATRIX_HTTP_H
#define ENVMATRIX_HTTP_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "envmatrix/error.h"

/* What a transfer is doing, for progress displays. */
struct em_http_progress {
	uint32_t index;      /* the download's index in the batch */
	const char *label;   /* its label (a file name) */
	int64_t done;        /* bytes this file has (resumed bytes included) */
	int64_t total;       /* its size, -1 when not known yet */
	bool finished;       /* the last report for it (rc says how it ended) */
	int rc;
	bool from_cache;     /* finished without a transfer (already there) */
	uint32_t attempt;    /* 1 for the first try */
};

struct em_http_config {
	const char *ca_file;        /* NULL: the settings' ca_file, else curl's default */
	unsigned jobs;              /* transfers at once; 0: 8 */
	unsigned retries;           /* tries after the first; 0: 4 (EM_HTTP_NO_RETRY: none) */
	unsigned connect_timeout_s; /* 0: 30 */
	unsigned stall_s;           /* no byte for this long fails a try; 0: 30 */
	unsigned backoff_ms;        /* the first retry's wait, doubled each time; 0: 500 */
	unsigned max_redirects;     /* 0: 10 */
	bool offline;               /* every request fails with EM_EOFFLINE */
	volatile sig_atomic_t *cancel; /* set to stop every transfer (EM_ECANCELED) */
	void (*progress)(void *ctx, const struct em_http_progress *p);
	void *ctx;
};

#define EM_HTTP_NO_RETRY 0xffffffffu

struct em_http;

EM_MUST_USE
int em_http_open(struct em_http **out, const struct em_http_config *c, struct em_error *e);
void em_http_close(struct em_http *h);

/* Whether url is one em_http reads (http:// or https://). */
bool em_http_url(const char *url);

/* ---- a request whose answer fits in memory ---- */
struct em_http_get {
	const char *url;
	const char *accept;        /* an Accept header, or NULL */
	const char *etag;          /* validators: a conditional request that */
	const char *last_modified; /* may answer 304 */
	int64_t range_from;        /* >= 0: ask for bytes range_from..range_to */
	int64_t range_to;          /* (inclusive); range_from < 0 and range_to > 0:
				    * the last range_to bytes; both -1: all */
	size_t max;                /* a larger body fails (EM_ELIMIT) */
	bool head;                 /* HEAD: headers only */

	/* the answer */
	long status;               /* 200, 206, 304 (the body is empty), 404... */
	char *body;                /* in the arena, NUL-terminated; len excludes it */
	size_t len;
	const char *content_type;  /* lower case, parameters dropped; NULL */
	const char *etag_out;      /* NULL when the server sent none */
	const char *last_modified_out;
	const char *final_url;     /* after redirects */
	int64_t total;             /* a 206's whole size (Content-Range), else -1 */
	int64_t length;            /* Content-Length, -1 when not sent */
};

/* Perform g. Only network and protocol failures are errors: a 404 or a
 * 304 is an answer (check g->status). 2xx bodies only are kept. EM_EIO
 * names the redacted URL and what curl said; EM_ELIMIT a body over max. */
EM_MUST_USE
int em_http_fetch(struct em_http *h, struct em_arena *a, struct em_http_get *g,
		  struct em_error *e);

/* An HTTP error status as an error for where (a redacted URL), what names
 * the thing asked for ("page", "file"): 401 asks for credentials (naming
 * ~/.netrc), 403 says forbidden (credentials would not change it), 404
 * and 410 are EM_ENOTFOUND, any other "the server answered HTTP N". */
int em_http_status_err(struct em_error *e, const char *where, const char *what, long status);

/* ---- files, many at once ---- */
struct em_download {
	const char *const *urls;   /* the file's URLs: mirrors, tried in order */
	uint32_t nurls;
	const char *dest;          /* the final path; bytes go to dest.part, which
				    * is resumed with Range when it exists, and is
				    * renamed to dest only once size and hash match */
	const char *sha256;        /* expected (hex), or NULL to compute it */
	int64_t size;              /* expected, or -1 */
	const char *label;         /* shown in progress (NULL: the URL's last segment) */
	void (*done)(void *ctx, struct em_download *d); /* called once the file is in
				    * place (from the calling thread), while the
				    * other transfers go on; NULL: not called */
	void *done_ctx;

	/* the outcome */
	int rc;                    /* 0 or an EM_E* code; err says why */
	struct em_error err;
	char got_sha256[65];
	int64_t got_size;
	uint32_t attempts;
	int64_t bytes_transferred; /* over the network, by this call */
};

/* Download every d[i] not yet at its dest, jobs at a time. Each outcome
 * is in d[i].rc and d[i].err; the return value is the first failure's
 * code (0 when all succeed), with e naming it. A file whose bytes do not
 * match sha256 or size is deleted, never renamed into place: the error
 * names the URL and both hashes. A .part whose bytes cannot be resumed is
 * started over. The caller must make sure no other process writes the
 * same dest at once (cache.h locks entries). */
EM_MUST_USE
int em_http_download(struct em_http *h, struct em_download *d, uint32_t n, struct em_error *e);

/* ---- a remote wheel's METADATA (remote_wheel.c) ----
 * Read with range requests: the zip's end records, its central directory,
 * then the one member, checked as em_wheel_read_metadata checks a local
 * wheel. A wheel small enough comes whole. EM_EUNSUPPORTED when the server
 * does not answer ranges (the caller then downloads the wheel). */
EM_MUST_USE
int em_remote_wheel_metadata(struct em_http *h, struct em_arena *a, const char *url,
			     const char *filename, char **out, size_t *len, struct em_error *e);

#endif
