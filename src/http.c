/* http.c - libcurl transfers: pages into memory, files onto disk, many at once
 *
 * Pages (em_http_fetch) are one easy handle at a time, bounded in size.
 * Files (em_http_download) go through one multi handle, jobs at a time;
 * each streams into DEST.part while its SHA-256 is computed, and only a
 * file whose size and hash are right is renamed to DEST. A try that fails
 * in a way that may pass (the connection dropped, 5xx, 429, a stall) is
 * retried after a backoff, resuming the .part with a Range request; a
 * server that ignores the range sends the whole file, which starts the
 * .part over. The next URL of the file (a mirror) is tried when one fails
 * for good.
 */
#include "http.h"
#include "envmatrix/version.h"
#include "os/fs.h"
#include "os/sys.h"
#include "spec/index.h"
#include "util/sha256.h"
#include "settings.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define UA "envmatrix/" EM_VERSION
#define MAX_RETRY_AFTER_S 60
/* tries of one URL for one file, progress or not */
#define MAX_TRIES 100
/* a download without a known size stops here rather than filling the disk */
#define MAX_UNKNOWN_FILE ((int64_t)256 << 30)

struct em_http {
	struct em_http_config c;
	const char *ca_file;
	char *ca_copy;
	CURLSH *share;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_OK;

static void global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

bool em_http_url(const char *url)
{
	return url && (!strncasecmp(url, "http://", 7) || !strncasecmp(url, "https://", 8));
}

int em_http_open(struct em_http **out, const struct em_http_config *c, struct em_error *e)
{
	*out = NULL;
	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK)
		return em_err(e, EM_EIO, NULL, "cannot start libcurl: %s", curl_easy_strerror(global_rc));
	struct em_http *h = calloc(1, sizeof *h);
	if (!h)
		return em_err_nomem(e);
	if (c)
		h->c = *c;
	if (!h->c.jobs)
		h->c.jobs = 8;
	if (!h->c.retries)
		h->c.retries = 4;
	else if (h->c.retries == EM_HTTP_NO_RETRY)
		h->c.retries = 0;
	if (!h->c.connect_timeout_s)
		h->c.connect_timeout_s = 30;
	if (!h->c.stall_s)
		h->c.stall_s = 30;
	if (!h->c.backoff_ms)
		h->c.backoff_ms = 500;
	if (!h->c.max_redirects)
		h->c.max_redirects = 10;
	const char *ca = h->c.ca_file;
	if (!ca || !*ca)
		ca = em_settings()->ca_file;
	if (ca && *ca) {
		struct em_stat st;
		if (em_os_stat(ca, &st) != 0) {
			int err = errno;
			free(h);
			return em_err_sys(e, err, ca, "cannot read the CA bundle");
		}
		h->ca_copy = strdup(ca);
		if (!h->ca_copy) {
			free(h);
			return em_err_nomem(e);
		}
		h->ca_file = h->ca_copy;
	}
	h->share = curl_share_init();
	if (!h->share) {
		free(h->ca_copy);
		free(h);
		return em_err_nomem(e);
	}
	/* single-threaded use: no lock functions needed */
	curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
	*out = h;
	return 0;
}

void em_http_close(struct em_http *h)
{
	if (!h)
		return;
	curl_share_cleanup(h->share);
	free(h->ca_copy);
	free(h);
}

static bool cancelled(const struct em_http *h)
{
	return h->c.cancel && *h->c.cancel;
}

/* Sleep ms, waking early when cancelled. */
static void nap(const struct em_http *h, unsigned ms)
{
	while (ms && !cancelled(h)) {
		unsigned step = ms > 50 ? 50 : ms;
		em_os_sleep_ms((long)step);
		ms -= step;
	}
}

/* The wait before try number attempt+1 (attempt >= 1): backoff doubled
 * each time, capped, or what Retry-After asked for. */
static unsigned backoff(const struct em_http *h, uint32_t attempt, long retry_after)
{
	if (retry_after > 0)
		return (unsigned)(retry_after > MAX_RETRY_AFTER_S ? MAX_RETRY_AFTER_S : retry_after) *
		       1000u;
	unsigned ms = h->c.backoff_ms;
	for (uint32_t i = 1; i < attempt && ms < 16000; i++)
		ms *= 2;
	return ms;
}

static bool retryable_curl(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_PARTIAL_FILE:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_SSL_CONNECT_ERROR:
		return true;
	default:
		return false;
	}
}

static bool retryable_status(long status)
{
	return status == 408 || status == 429 || (status >= 500 && status <= 599);
}

/* ---- response headers ---- */
struct headers {
	long status;
	char etag[256];
	char last_modified[128];
	char content_type[128];
	int64_t range_first, range_total; /* Content-Range: bytes F-L/T; -1 */
	int64_t content_length;
};

static void headers_reset(struct headers *hd)
{
	memset(hd, 0, sizeof *hd);
	hd->range_first = hd->range_total = hd->content_length = -1;
}

static void copy_value(char *dst, size_t cap, const char *v, size_t n)
{
	while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	if (n >= cap)
		n = 0; /* an absurd value is dropped, not cut */
	memcpy(dst, v, n);
	dst[n] = '\0';
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *ud)
{
	struct headers *hd = ud;
	size_t n = size * nitems;
	if (n >= 5 && !memcmp(buf, "HTTP/", 5)) {
		/* a new response (after a redirect or a 100): forget the last */
		headers_reset(hd);
		const char *sp = memchr(buf, ' ', n);
		if (sp)
			hd->status = strtol(sp + 1, NULL, 10);
		return n;
	}
	const char *colon = memchr(buf, ':', n);
	if (!colon)
		return n;
	size_t klen = (size_t)(colon - buf);
	const char *v = colon + 1;
	size_t vlen = n - klen - 1;
	while (vlen && (*v == ' ' || *v == '\t'))
		v++, vlen--;
	if (klen == 4 && !strncasecmp(buf, "etag", 4)) {
		copy_value(hd->etag, sizeof hd->etag, v, vlen);
	} else if (klen == 13 && !strncasecmp(buf, "last-modified", 13)) {
		copy_value(hd->last_modified, sizeof hd->last_modified, v, vlen);
	} else if (klen == 12 && !strncasecmp(buf, "content-type", 12)) {
		char t[128];
		copy_value(t, sizeof t, v, vlen);
		size_t k = strcspn(t, "; \t");
		t[k] = '\0';
		for (char *p = t; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p + 32);
		memcpy(hd->content_type, t, k + 1);
	} else if (klen == 13 && !strncasecmp(buf, "content-range", 13)) {
		char t[128];
		copy_value(t, sizeof t, v, vlen);
		long long f = -1, l = -1, tot = -1;
		if (sscanf(t, "bytes %lld-%lld/%lld", &f, &l, &tot) == 3 && f >= 0 && l >= f &&
		    tot > l) {
			hd->range_first = f;
			hd->range_total = tot;
		} else if (sscanf(t, "bytes */%lld", &tot) == 1) {
			hd->range_total = tot;
		}
	} else if (klen == 14 && !strncasecmp(buf, "content-length", 14)) {
		char t[64];
		copy_value(t, sizeof t, v, vlen);
		char *end;
		long long cl = strtoll(t, &end, 10);
		if (end != t && !*end && cl >= 0)
			hd->content_length = cl;
	}
	return n;
}

/* The options every transfer shares. */
static int setup(struct em_http *h, CURL *c, const char *url, struct headers *hd,
		 struct curl_slist *hdrs)
{
	CURLcode r = CURLE_OK;
#define SET(opt, val)                                    \
	do {                                             \
		if (r == CURLE_OK)                       \
			r = curl_easy_setopt(c, opt, val); \
	} while (0)
	SET(CURLOPT_URL, url);
	SET(CURLOPT_SHARE, h->share);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_USERAGENT, UA);
	SET(CURLOPT_FOLLOWLOCATION, 1L);
	SET(CURLOPT_MAXREDIRS, (long)h->c.max_redirects);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_NETRC, (long)CURL_NETRC_OPTIONAL);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	if (h->ca_file)
		SET(CURLOPT_CAINFO, h->ca_file);
	SET(CURLOPT_CONNECTTIMEOUT, (long)h->c.connect_timeout_s);
	SET(CURLOPT_LOW_SPEED_LIMIT, 1L);
	SET(CURLOPT_LOW_SPEED_TIME, (long)h->c.stall_s);
	SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	SET(CURLOPT_PIPEWAIT, 1L);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, hd);
	if (hdrs)
		SET(CURLOPT_HTTPHEADER, hdrs);
#undef SET
	return r == CURLE_OK ? 0 : -1;
}

/* "curl said X" for errors, with curl's detail when it has one. */
static const char *curl_why(CURLcode rc, const char *detail)
{
	return detail && *detail ? detail : curl_easy_strerror(rc);
}

/* ---- pages ---- */
struct membuf {
	char *p;
	size_t len, cap, max;
	bool over;
	struct headers *hd;
};

static size_t on_body_mem(char *buf, size_t size, size_t nitems, void *ud)
{
	struct membuf *m = ud;
	size_t n = size * nitems;
	if (m->hd->status < 200 || m->hd->status > 299) {
		/* an error page: read it to keep the connection, keep none of it */
		return n;
	}
	if (m->len + n > m->max) {
		m->over = true;
		return 0;
	}
	if (m->len + n + 1 > m->cap) {
		size_t cap = m->cap ? m->cap : 16384;
		while (cap < m->len + n + 1)
			cap *= 2;
		if (cap > m->max + 1)
			cap = m->max + 1;
		char *np = realloc(m->p, cap);
		if (!np)
			return 0;
		m->p = np;
		m->cap = cap;
	}
	memcpy(m->p + m->len, buf, n);
	m->len += n;
	return n;
}

/* A page transfer stops as soon as the caller cancels. */
static int page_xferinfo(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
			 curl_off_t ulnow)
{
	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	return cancelled(ud) ? 1 : 0;
}

/* The request headers of a page fetch: Accept and the conditional ones. */
static struct curl_slist *page_headers(const struct em_http_get *g)
{
	struct curl_slist *hdrs = NULL;
	char line[512];
	if (g->accept) {
		snprintf(line, sizeof line, "Accept: %s", g->accept);
		hdrs = curl_slist_append(hdrs, line);
	}
	if (g->etag && *g->etag) {
		snprintf(line, sizeof line, "If-None-Match: %s", g->etag);
		hdrs = curl_slist_append(hdrs, line);
	}
	if (g->last_modified && *g->last_modified) {
		snprintf(line, sizeof line, "If-Modified-Since: %s", g->last_modified);
		hdrs = curl_slist_append(hdrs, line);
	}
	return hdrs;
}

/* CURLOPT_RANGE for g's byte range ("" for the whole page). */
static void page_range(const struct em_http_get *g, char range[64])
{
	range[0] = '\0';
	if (g->range_from >= 0 && g->range_to >= g->range_from)
		snprintf(range, 64, "%lld-%lld", (long long)g->range_from,
			 (long long)g->range_to);
	else if (g->range_from < 0 && g->range_to > 0)
		snprintf(range, 64, "-%lld", (long long)g->range_to);
}

/* Set up the handle of one try of a page fetch: nonzero when it cannot. */
static int page_setup(struct em_http *h, CURL *c, const struct em_http_get *g,
		      struct headers *hd, struct curl_slist *hdrs, struct membuf *m,
		      char *detail, const char *range)
{
	return setup(h, c, g->url, hd, hdrs) ||
	       curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body_mem) != CURLE_OK ||
	       curl_easy_setopt(c, CURLOPT_WRITEDATA, m) != CURLE_OK ||
	       curl_easy_setopt(c, CURLOPT_ERRORBUFFER, detail) != CURLE_OK ||
	       (!range[0] && curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "") != CURLE_OK) ||
	       (range[0] && curl_easy_setopt(c, CURLOPT_RANGE, range) != CURLE_OK) ||
	       (g->head && curl_easy_setopt(c, CURLOPT_NOBODY, 1L) != CURLE_OK) ||
	       curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L) != CURLE_OK ||
	       curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, page_xferinfo) != CURLE_OK ||
	       curl_easy_setopt(c, CURLOPT_XFERINFODATA, h) != CURLE_OK;
}

/* The final answer of a page fetch: its status, body (2xx) and headers
 * into g. */
static int page_answer(struct em_arena *a, struct em_http_get *g, long status,
		       const char *final_url, const struct membuf *m, const struct headers *hd,
		       struct em_error *e)
{
	g->status = status;
	g->final_url = final_url;
	if (status >= 200 && status <= 299) {
		g->body = em_arena_alloc(a, m->len + 1);
		if (!g->body)
			return em_err_nomem(e);
		if (m->len)
			memcpy(g->body, m->p, m->len);
		g->body[m->len] = '\0';
		g->len = m->len;
		if (status == 206)
			g->total = hd->range_total;
	}
	g->length = hd->content_length;
	g->content_type = hd->content_type[0] ? em_arena_strdup(a, hd->content_type) : NULL;
	g->etag_out = hd->etag[0] ? em_arena_strdup(a, hd->etag) : NULL;
	g->last_modified_out = hd->last_modified[0] ? em_arena_strdup(a, hd->last_modified) : NULL;
	return 0;
}

int em_http_fetch(struct em_http *h, struct em_arena *a, struct em_http_get *g,
		  struct em_error *e)
{
	g->status = 0;
	g->body = NULL;
	g->len = 0;
	g->content_type = g->etag_out = g->last_modified_out = g->final_url = NULL;
	g->total = -1;
	g->length = -1;
	const char *shown = em_url_redact(a, g->url);
	if (!shown)
		return em_err_nomem(e);
	if (h->c.offline)
		return em_err(e, EM_EOFFLINE, shown, "not in the cache, and %s forbids "
			      "downloading it", em_phrase(EM_PHRASE_OFFLINE));
	struct curl_slist *hdrs = page_headers(g);
	int rc = 0;
	struct headers hd;
	struct membuf m = { 0 };
	m.max = g->max ? g->max : (size_t)64 << 20;
	m.hd = &hd;
	char range[64];
	page_range(g, range);
	for (uint32_t attempt = 1;; attempt++) {
		if (cancelled(h)) {
			rc = em_err(e, EM_ECANCELED, shown, "interrupted");
			break;
		}
		CURL *c = curl_easy_init();
		if (!c) {
			rc = em_err_nomem(e);
			break;
		}
		headers_reset(&hd);
		m.len = 0;
		m.over = false;
		char detail[CURL_ERROR_SIZE] = "";
		if (page_setup(h, c, g, &hd, hdrs, &m, detail, range)) {
			curl_easy_cleanup(c);
			rc = em_err(e, EM_EIO, shown, "cannot set up the request");
			break;
		}
		CURLcode cr = curl_easy_perform(c);
		long status = 0, retry_after = 0;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		curl_off_t ra = 0;
		if (curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK)
			retry_after = (long)ra;
		char *eff = NULL;
		curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &eff);
		const char *final_url = eff ? em_arena_strdup(a, eff) : NULL;
		curl_easy_cleanup(c);
		if (m.over) {
			rc = em_err(e, EM_ELIMIT, shown, "the answer is larger than %zu bytes", m.max);
			break;
		}
		bool again;
		if (cr == CURLE_ABORTED_BY_CALLBACK && cancelled(h)) {
			rc = em_err(e, EM_ECANCELED, shown, "interrupted");
			break;
		}
		if (cr != CURLE_OK) {
			again = retryable_curl(cr);
			if (!again || attempt > h->c.retries) {
				if (cr == CURLE_TOO_MANY_REDIRECTS)
					rc = em_err(e, EM_EIO, shown, "more than %u redirects",
						    h->c.max_redirects);
				else
					rc = em_err(e, EM_EIO, shown, "%s%s", curl_why(cr, detail),
						    attempt > 1 ? " (after retries)" : "");
				break;
			}
		} else if (retryable_status(status) && attempt <= h->c.retries) {
			again = true;
		} else {
			rc = page_answer(a, g, status, final_url, &m, &hd, e);
			break;
		}
		nap(h, backoff(h, attempt, retry_after));
	}
	free(m.p);
	curl_slist_free_all(hdrs);
	return rc;
}

/* ---- files ---- */
enum xstate { X_WAIT, X_ACTIVE, X_DONE };

struct xfer {
	struct em_download *d;
	uint32_t index;
	enum xstate state;
	uint32_t url;       /* the URL being tried */
	uint32_t attempt;   /* tries of this URL */
	uint32_t stuck;     /* tries in a row that added no byte: what retries limit */
	int64_t have_at_start;
	double not_before;  /* a retry waits until then */
	char *part;         /* dest.part */
	int fd;
	int64_t have;       /* bytes in the .part when this try began */
	int64_t wrote;      /* bytes written by this try */
	struct em_sha256 sha;
	bool sha_open;
	bool restarted;     /* the server sent the whole file to a range request */
	bool too_big;
	bool bad_range;
	int64_t bad_length; /* the size a response announced, when not the expected one */
	int werr;           /* errno of a failed write */
	CURL *c;
	struct headers hd;
	char detail[CURL_ERROR_SIZE];
	struct em_http *h;
	const char *shown;  /* the redacted URL */
	const char *label;  /* d->label, or the URL's last segment */
	struct em_arena *a;
};

static void report(struct xfer *x, bool finished)
{
	struct em_http *h = x->h;
	if (!h->c.progress)
		return;
	struct em_http_progress p = { 0 };
	p.index = x->index;
	p.label = x->label;
	p.done = x->have + x->wrote;
	p.total = x->d->size >= 0 ? x->d->size
		  : x->hd.content_length >= 0 ? x->have + x->hd.content_length : -1;
	p.finished = finished;
	p.rc = x->d->rc;
	p.from_cache = finished && x->d->bytes_transferred == 0 && x->d->rc == 0;
	p.attempt = x->attempt;
	h->c.progress(h->c.ctx, &p);
}

static int xferinfo(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		    curl_off_t ulnow)
{
	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	struct xfer *x = ud;
	if (cancelled(x->h))
		return 1;
	report(x, false);
	return 0;
}

/* Start the .part over: empty it and the hash. */
static int restart_part(struct xfer *x)
{
	if (em_os_ftruncate(x->fd, 0) != 0 || em_os_seek(x->fd, 0) != 0) {
		x->werr = errno;
		return -1;
	}
	if (x->sha_open)
		em_sha256_abort(&x->sha);
	x->sha_open = em_sha256_init(&x->sha, NULL) == 0;
	x->have = 0;
	x->wrote = 0;
	return x->sha_open ? 0 : -1;
}

static size_t on_body_file(char *buf, size_t size, size_t nitems, void *ud)
{
	struct xfer *x = ud;
	size_t n = size * nitems;
	long st = x->hd.status;
	if (st < 200 || st > 299)
		return n; /* an error page: drained, not kept */
	if (x->wrote == 0 && x->d->size >= 0 && x->hd.content_length >= 0) {
		/* a server announcing another size than the lock's is wrong (or
		 * lying): no byte of it is kept */
		int64_t announced = (st == 206 ? x->hd.range_first : 0) + x->hd.content_length;
		if (announced != x->d->size) {
			x->bad_length = announced;
			return 0;
		}
	}
	if (x->wrote == 0) {
		if (st == 206) {
			if (x->hd.range_first != x->have) {
				x->bad_range = true;
				return 0;
			}
		} else if (x->have > 0) {
			/* the server ignored the range: the whole file comes */
			if (restart_part(x))
				return 0;
			x->restarted = true;
		}
	}
	int64_t limit = x->d->size >= 0 ? x->d->size : MAX_UNKNOWN_FILE;
	if (x->have + x->wrote + (int64_t)n > limit) {
		x->too_big = true;
		return 0;
	}
	if (em_write_all(x->fd, buf, n) != 0) {
		x->werr = errno ? errno : EIO;
		return 0;
	}
	em_sha256_update(&x->sha, buf, n);
	x->wrote += (int64_t)n;
	x->d->bytes_transferred += (int64_t)n;
	return n;
}

/* Open (or resume) dest.part and hash what it holds. */
static int open_part(struct xfer *x, struct em_error *e)
{
	if (x->fd >= 0)
		return 0;
	x->fd = em_os_open(x->part, EM_OPEN_RDWR | EM_OPEN_CREATE | EM_OPEN_NOFOLLOW, 0644);
	if (x->fd < 0)
		return em_err_sys(e, errno, x->part, "cannot open the download");
	if (em_sha256_init(&x->sha, e))
		return EM_ENOMEM;
	x->sha_open = true;
	x->have = 0;
	char buf[1 << 16];
	for (;;) {
		ssize_t got = em_os_read(x->fd, buf, sizeof buf);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			return em_err_sys(e, errno, x->part, "cannot read the partial download");
		}
		if (got == 0)
			break;
		em_sha256_update(&x->sha, buf, (size_t)got);
		x->have += got;
	}
	/* more than the file can hold: start over */
	if (x->d->size >= 0 && x->have > x->d->size && restart_part(x))
		return em_err_sys(e, x->werr, x->part, "cannot empty the partial download");
	return 0;
}

static void close_part(struct xfer *x)
{
	if (x->sha_open)
		em_sha256_abort(&x->sha);
	x->sha_open = false;
	if (x->fd >= 0)
		em_os_close(x->fd);
	x->fd = -1;
}

/* The .part is whole: check it and rename it into place. */
static int finish_part(struct xfer *x, struct em_error *e)
{
	struct em_download *d = x->d;
	char got[EM_SHA256_HEX_LEN + 1];
	em_sha256_final(&x->sha, got);
	x->sha_open = false;
	memcpy(d->got_sha256, got, sizeof got);
	d->got_size = x->have + x->wrote;
	if (d->size >= 0 && d->got_size != d->size) {
		close_part(x);
		em_os_unlink(x->part); /* best effort, as below */
		return em_err(e, EM_EINVAL, x->shown, "'%s' is %lld bytes, but %lld were expected",
			      x->label, (long long)d->got_size, (long long)d->size);
	}
	if (d->sha256 && strcasecmp(got, d->sha256)) {
		close_part(x);
		em_os_unlink(x->part); /* best effort: the mismatch is the error */
		return em_err(e, EM_EINVAL, x->shown,
			      "'%s' has sha256 %s, but %s was expected; the file was discarded",
			      x->label, got, d->sha256);
	}
	if (em_os_fsync(x->fd) != 0) {
		int err = errno;
		close_part(x);
		return em_err_sys(e, err, x->part, "cannot write the download");
	}
	close_part(x);
	if (em_os_rename(x->part, d->dest) != 0)
		return em_err_sys(e, errno, d->dest, "cannot put the download in place");
	em_fsync_parent(d->dest);
	return 0;
}

static void end_xfer(struct xfer *x, int rc, const struct em_error *why)
{
	close_part(x);
	x->d->rc = rc;
	if (rc && why)
		x->d->err = *why;
	x->state = X_DONE;
	report(x, true);
	if (!rc && x->d->done)
		x->d->done(x->d->done_ctx, x->d);
}

/* Start try x->attempt of URL x->url. */
static int start(struct xfer *x, CURLM *multi, struct em_error *e)
{
	struct em_download *d = x->d;
	x->shown = em_url_redact(x->a, d->urls[x->url]);
	if (!x->shown)
		return em_err_nomem(e);
	int rc = open_part(x, e);
	if (rc)
		return rc;
	if (d->size >= 0 && x->have == d->size)
		return 1; /* whole already: only the check is left */
	x->wrote = 0;
	x->restarted = x->too_big = x->bad_range = false;
	x->bad_length = -1;
	x->werr = 0;
	x->detail[0] = '\0';
	headers_reset(&x->hd);
	/* CURLOPT_RANGE rather than RESUME_FROM: a server that ignores it
	 * answers 200 with the whole file, which on_body_file starts over with */
	char range[32];
	snprintf(range, sizeof range, "%lld-", (long long)x->have);
	x->c = curl_easy_init();
	if (!x->c)
		return em_err_nomem(e);
	if (setup(x->h, x->c, d->urls[x->url], &x->hd, NULL) ||
	    curl_easy_setopt(x->c, CURLOPT_WRITEFUNCTION, on_body_file) != CURLE_OK ||
	    curl_easy_setopt(x->c, CURLOPT_WRITEDATA, x) != CURLE_OK ||
	    curl_easy_setopt(x->c, CURLOPT_ERRORBUFFER, x->detail) != CURLE_OK ||
	    curl_easy_setopt(x->c, CURLOPT_NOPROGRESS, 0L) != CURLE_OK ||
	    curl_easy_setopt(x->c, CURLOPT_XFERINFOFUNCTION, xferinfo) != CURLE_OK ||
	    curl_easy_setopt(x->c, CURLOPT_XFERINFODATA, x) != CURLE_OK ||
	    curl_easy_setopt(x->c, CURLOPT_PRIVATE, x) != CURLE_OK ||
	    (x->have > 0 && curl_easy_setopt(x->c, CURLOPT_RANGE, range) != CURLE_OK)) {
		curl_easy_cleanup(x->c);
		x->c = NULL;
		return em_err(e, EM_EIO, x->shown, "cannot set up the download");
	}
	if (curl_multi_add_handle(multi, x->c) != CURLM_OK) {
		curl_easy_cleanup(x->c);
		x->c = NULL;
		return em_err(e, EM_EIO, x->shown, "cannot start the download");
	}
	x->attempt++;
	d->attempts++;
	x->have_at_start = x->have;
	x->state = X_ACTIVE;
	report(x, false);
	return 0;
}

int em_http_status_err(struct em_error *e, const char *where, const char *what, long status)
{
	if (status == 404 || status == 410)
		return em_err(e, EM_ENOTFOUND, where, "no such %s (HTTP %ld)", what, status);
	if (status == 401)
		return em_err(e, EM_EIO, where, "HTTP 401 unauthorized: the server wants "
			      "credentials (put them in ~/.netrc or the URL)");
	if (status == 403)
		return em_err(e, EM_EIO, where, "HTTP 403 forbidden: the server refuses to give "
			      "this %s", what);
	return em_err(e, EM_EIO, where, "the server answered HTTP %ld", status);
}

/* A try ended (curl's result cr): finish, schedule a retry, fail over to
 * the next URL, or fail. */
static void ended(struct xfer *x, CURLcode cr)
{
	struct em_download *d = x->d;
	struct em_http *h = x->h;
	long status = 0;
	curl_easy_getinfo(x->c, CURLINFO_RESPONSE_CODE, &status);
	curl_off_t ra = 0;
	long retry_after = 0;
	if (curl_easy_getinfo(x->c, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK)
		retry_after = (long)ra;
	x->have += x->wrote;
	x->wrote = 0;
	struct em_error e;
	em_error_clear(&e);
	bool may_retry = false;
	int rc = 0;
	if (cr == CURLE_OK && (status == 200 || status == 206)) {
		rc = finish_part(x, &e);
		if (!rc) {
			end_xfer(x, 0, NULL);
			return;
		}
		/* a wrong hash or size: this URL gives wrong bytes; a mirror may not */
	} else if (cr == CURLE_OK && status == 416 && x->have > 0) {
		/* the .part is as long as the file (or longer): check, or start over */
		if (d->size < 0 || x->have == d->size) {
			rc = finish_part(x, &e);
			if (!rc) {
				end_xfer(x, 0, NULL);
				return;
			}
		} else {
			rc = em_err(&e, EM_EIO, x->shown, "the server cannot resume the download");
			if (restart_part(x) == 0)
				may_retry = true;
		}
	} else if (x->werr) {
		rc = em_err_sys(&e, x->werr, x->part, "cannot write the download");
	} else if (x->bad_length >= 0) {
		rc = em_err(&e, EM_EINVAL, x->shown, "the server says '%s' is %lld bytes, but %lld "
			    "were expected", x->label, (long long)x->bad_length, (long long)d->size);
	} else if (x->too_big) {
		rc = em_err(&e, EM_ELIMIT, x->shown, "the server sent more than the %lld bytes of '%s'",
			    (long long)d->size, x->label);
		close_part(x);
		em_os_unlink(x->part); /* best effort: rc is the error */
	} else if (x->bad_range) {
		rc = em_err(&e, EM_EIO, x->shown, "the server answered a range that was not asked for");
		if (restart_part(x) == 0)
			may_retry = true;
	} else if (cr != CURLE_OK) {
		if (cr == CURLE_ABORTED_BY_CALLBACK && cancelled(h))
			rc = em_err(&e, EM_ECANCELED, x->shown, "interrupted");
		else if (cr == CURLE_TOO_MANY_REDIRECTS)
			rc = em_err(&e, EM_EIO, x->shown, "more than %u redirects", h->c.max_redirects);
		else if (cr == CURLE_OPERATION_TIMEDOUT)
			rc = em_err(&e, EM_EIO, x->shown, "no data for %u seconds (%lld bytes of '%s' "
				    "received)", h->c.stall_s, (long long)x->have, x->label);
		else
			rc = em_err(&e, EM_EIO, x->shown, "%s (%lld bytes of '%s' received)",
				    curl_why(cr, x->detail), (long long)x->have, x->label);
		may_retry = retryable_curl(cr);
	} else {
		rc = em_http_status_err(&e, x->shown, "file", status);
		may_retry = retryable_status(status);
	}
	if (rc == EM_ECANCELED) {
		end_xfer(x, rc, &e);
		return;
	}
	/* a try that brought bytes is progress, not a failure: a link that
	 * drops every few MB still finishes (within MAX_TRIES) */
	if (x->have > x->have_at_start)
		x->stuck = 0;
	else
		x->stuck++;
	if (may_retry && x->stuck <= h->c.retries && x->attempt < MAX_TRIES) {
		x->state = X_WAIT;
		x->not_before = em_os_now_s() + backoff(h, x->stuck ? x->stuck : 1, retry_after) / 1000.0;
		return;
	}
	if (x->url + 1 < d->nurls) {
		/* the next mirror, from the start of its tries (the .part stays:
		 * the bytes are the same file's) */
		x->url++;
		x->attempt = 0;
		x->stuck = 0;
		x->state = X_WAIT;
		x->not_before = 0;
		return;
	}
	if (x->attempt > 1 && may_retry) {
		size_t l = strlen(e.msg);
		snprintf(e.msg + l, sizeof e.msg - l, " after %u tries", x->attempt);
	}
	/* nothing half-written stays behind a failure (an interrupted run
	 * keeps its .part files to resume them) */
	close_part(x);
	em_os_unlink(x->part); /* best effort: rc is the error */
	end_xfer(x, rc, &e);
}

/* Prepare the transfer of d[i] in xs[i]: waiting to start, or ended
 * already (no URL, offline). Only running out of memory is an error. */
static int xfer_init(struct em_http *h, struct em_download *d, uint32_t i, struct xfer *xs,
		     struct em_arena *a, struct em_error *e)
{
	struct xfer *x = &xs[i];
	x->d = &d[i];
	x->index = i;
	x->fd = -1;
	x->h = h;
	x->a = a;
	d[i].rc = 0;
	em_error_clear(&d[i].err);
	d[i].got_sha256[0] = '\0';
	d[i].got_size = -1;
	d[i].attempts = 0;
	d[i].bytes_transferred = 0;
	x->label = d[i].label ? d[i].label : em_url_basename(a, d[i].nurls ? d[i].urls[0] : "");
	x->part = em_arena_printf(a, "%s.part", d[i].dest);
	if (!x->part || !x->label)
		return em_err_nomem(e);
	struct em_error fe;
	em_error_clear(&fe);
	if (d[i].nurls == 0) {
		em_err(&fe, EM_EUSAGE, d[i].dest, "no URL to download '%s' from", x->label);
		end_xfer(x, fe.code, &fe);
		return 0;
	}
	if (h->c.offline) {
		em_err(&fe, EM_EOFFLINE, em_url_redact(a, d[i].urls[0]),
		       "'%s' is not in the cache, and %s forbids downloading it",
		       x->label, em_phrase(EM_PHRASE_OFFLINE));
		end_xfer(x, fe.code, &fe);
		return 0;
	}
	x->state = X_WAIT;
	return 0;
}

/* Start the waiting transfers whose time has come, up to the jobs limit:
 * how many are active now; *waiting tells whether any still waits. */
static unsigned start_ready(struct em_http *h, struct xfer *xs, uint32_t n, CURLM *multi,
			    bool *waiting)
{
	unsigned active = 0;
	double now = em_os_now_s();
	*waiting = false;
	for (uint32_t i = 0; i < n; i++)
		active += xs[i].state == X_ACTIVE;
	for (uint32_t i = 0; i < n && active < h->c.jobs; i++) {
		struct xfer *x = &xs[i];
		if (x->state != X_WAIT)
			continue;
		if (x->not_before > now) {
			*waiting = true;
			continue;
		}
		struct em_error fe;
		em_error_clear(&fe);
		int s = cancelled(h) ? em_err(&fe, EM_ECANCELED, NULL, "interrupted")
				     : start(x, multi, &fe);
		if (s == 1) {
			int f = finish_part(x, &fe);
			end_xfer(x, f, &fe);
		} else if (s < 0) {
			end_xfer(x, s, &fe);
		} else {
			active++;
		}
	}
	for (uint32_t i = 0; i < n; i++)
		*waiting |= xs[i].state == X_WAIT;
	return active;
}

/* Hand every try curl has finished to ended(). */
static void collect_ended(CURLM *multi)
{
	CURLMsg *msg;
	int left;
	while ((msg = curl_multi_info_read(multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		struct xfer *x = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		CURLcode cr = msg->data.result;
		ended(x, cr);
		curl_multi_remove_handle(multi, x->c);
		curl_easy_cleanup(x->c);
		x->c = NULL;
	}
}

/* Stop every transfer; the .part files stay for a resume. */
static void cancel_all(struct xfer *xs, uint32_t n, CURLM *multi)
{
	for (uint32_t i = 0; i < n; i++) {
		struct xfer *x = &xs[i];
		if (x->c) {
			curl_multi_remove_handle(multi, x->c);
			curl_easy_cleanup(x->c);
			x->c = NULL;
		}
		if (x->state != X_DONE) {
			struct em_error ce;
			em_err(&ce, EM_ECANCELED, x->shown ? x->shown : x->d->dest, "interrupted");
			end_xfer(x, EM_ECANCELED, &ce);
		}
	}
}

int em_http_download(struct em_http *h, struct em_download *d, uint32_t n, struct em_error *e)
{
	if (n == 0)
		return 0;
	struct em_arena a;
	em_arena_init(&a);
	struct xfer *xs = calloc(n, sizeof *xs);
	CURLM *multi = curl_multi_init();
	int rc = 0;
	if (!xs || !multi) {
		rc = em_err_nomem(e);
		goto out;
	}
	curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)h->c.jobs);
	curl_multi_setopt(multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	for (uint32_t i = 0; i < n; i++)
		if ((rc = xfer_init(h, d, i, xs, &a, e)))
			goto out;
	for (;;) {
		bool waiting;
		unsigned active = start_ready(h, xs, n, multi, &waiting);
		if (!active && !waiting)
			break;
		int running = 0;
		CURLMcode mc = curl_multi_perform(multi, &running);
		if (mc != CURLM_OK) {
			rc = em_err(e, EM_EIO, NULL, "the transfers failed: %s", curl_multi_strerror(mc));
			break;
		}
		collect_ended(multi);
		if (running || active)
			curl_multi_poll(multi, NULL, 0, 100, NULL);
		else
			nap(h, 20);
		if (cancelled(h)) {
			cancel_all(xs, n, multi);
			break;
		}
	}
	if (!rc)
		for (uint32_t i = 0; i < n; i++)
			if (d[i].rc) {
				rc = d[i].rc;
				if (e)
					*e = d[i].err;
				break;
			}
out:
	if (xs)
		for (uint32_t i = 0; i < n; i++) {
			if (xs[i].c) {
				curl_multi_remove_handle(multi, xs[i].c);
				curl_easy_cleanup(xs[i].c);
			}
			close_part(&xs[i]);
		}
	if (multi)
		curl_multi_cleanup(multi);
	free(xs);
	em_arena_release(&a);
	return rc;
}
