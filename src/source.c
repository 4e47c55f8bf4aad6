/* source.c - bytes for URLs: local files, and HTTP pages kept on disk */
#include "source.h"
#include "archive.h"
#include "cache.h"
#include "os/fs.h"
#include "http.h"
#include "spec/index.h"
#include "spec/metadata.h"
#include "util/sha256.h"
#include "util/str.h"
#include "settings.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int unsupported(const char *url, struct em_error *e)
{
	struct em_arena a;
	em_arena_init(&a);
	char *r = em_url_redact(&a, url);
	int rc = em_http_url(url)
			 ? em_err(e, EM_EUNSUPPORTED, r ? r : "", "http(s) URLs cannot be read here")
			 : em_err(e, EM_EUNSUPPORTED, r ? r : "", "an unsupported URL: use https://, "
				  "http://, file:// or a folder");
	em_arena_release(&a);
	return rc;
}

struct em_source_entry {
	const char *url;   /* the key: the URL, then "\n" and the Accept header */
	const char *content_type;
	const char *final_url;
	int rc;            /* 0, or the error code remembered */
	const char *body;
	size_t len;
	const char *msg;   /* the error's message */
	const char *where;
};

void em_source_init(struct em_source *s)
{
	memset(s, 0, sizeof *s);
	em_arena_init(&s->arena);
}

void em_source_release(struct em_source *s)
{
	free(s->cache);
	em_arena_release(&s->arena);
	memset(s, 0, sizeof *s);
}

static struct em_source_entry *lookup(struct em_source *s, const char *url)
{
	for (uint32_t i = 0; i < s->ncache; i++)
		if (!strcmp(s->cache[i].url, url))
			return &s->cache[i];
	return NULL;
}

static bool is_local(const char *url)
{
	return !strncmp(url, "file:", 5) || !strstr(url, "://");
}

static int remember(struct em_source *s, const char *key, int rc, const char *body, size_t len,
		    const char *ctype, const char *final_url, const struct em_error *fe,
		    struct em_error *e)
{
	struct em_source_entry *ne;
	if (s->ncache == s->capcache) {
		uint32_t cap = s->capcache ? s->capcache * 2 : 64;
		ne = realloc(s->cache, cap * sizeof *ne);
		if (!ne)
			return em_err_nomem(e);
		s->cache = ne;
		s->capcache = cap;
	}
	ne = &s->cache[s->ncache++];
	memset(ne, 0, sizeof *ne);
	ne->url = em_arena_strdup(&s->arena, key);
	ne->rc = rc;
	ne->body = body;
	ne->len = len;
	ne->content_type = ctype;
	ne->final_url = final_url;
	ne->msg = rc ? em_arena_strdup(&s->arena, fe->msg) : NULL;
	ne->where = rc ? em_arena_strdup(&s->arena, fe->where) : NULL;
	return 0;
}

/* ---- pages kept on disk: <cache>/pages/xx/<sha256 of the key> ----
 *
 *   envmatrix-page 1
 *   url URL
 *   content-type TYPE
 *   etag ETAG
 *   last-modified DATE
 *   final-url URL
 *   (an empty line, then the body)
 */
#define KEPT_MAGIC "envmatrix-page 1\n"

struct kept {
	const char *content_type, *etag, *last_modified, *final_url;
	const char *body;
	size_t len;
};

static char *kept_path(struct em_source *s, const char *key)
{
	char hex[EM_SHA256_HEX_LEN + 1];
	em_sha256_buf(key, strlen(key), hex);
	return em_arena_printf(&s->arena, "%s/pages/%.2s/%s", s->disk->root, hex, hex);
}

static const char *kept_field(struct em_arena *a, const char *head, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = head; *p && *p != '\n';) {
		const char *nl = strchr(p, '\n');
		if (!nl)
			break;
		if (!strncmp(p, name, n) && p[n] == ' ')
			return (size_t)(nl - p) > n + 1 ? em_arena_strndup(a, p + n + 1, (size_t)(nl - p) - n - 1)
							: NULL;
		p = nl + 1;
	}
	return NULL;
}

/* A kept page, or false (none, or one this version cannot read). */
static bool kept_read(struct em_source *s, const char *key, size_t max, struct kept *k)
{
	memset(k, 0, sizeof k[0]);
	if (!s->disk)
		return false;
	char *path = kept_path(s, key);
	char *buf;
	size_t n;
	if (!path || em_read_file(&s->arena, path, max + 4096, &buf, &n, NULL))
		return false;
	if (n < sizeof KEPT_MAGIC - 1 || memcmp(buf, KEPT_MAGIC, sizeof KEPT_MAGIC - 1))
		return false;
	char *end = strstr(buf, "\n\n");
	if (!end)
		return false;
	end[1] = '\0';
	const char *head = buf + sizeof KEPT_MAGIC - 1;
	k->content_type = kept_field(&s->arena, head, "content-type");
	k->etag = kept_field(&s->arena, head, "etag");
	k->last_modified = kept_field(&s->arena, head, "last-modified");
	k->final_url = kept_field(&s->arena, head, "final-url");
	k->body = end + 2;
	k->len = n - (size_t)(end + 2 - buf);
	return true;
}

static bool header_safe(const char *v)
{
	return !v || !strpbrk(v, "\r\n");
}

/* Keep a page; failing to is not an error (the next run fetches it again). */
static void kept_write(struct em_source *s, const char *key, const char *url, const struct kept *k)
{
	if (!s->disk || !header_safe(k->content_type) || !header_safe(k->etag) ||
	    !header_safe(k->last_modified) || !header_safe(k->final_url) || !header_safe(url))
		return;
	char *path = kept_path(s, key);
	char *dir = path ? em_path_dir(&s->arena, path) : NULL;
	/* no credentials on disk */
	url = em_url_redact(&s->arena, url);
	const char *final_url = k->final_url ? em_url_redact(&s->arena, k->final_url) : NULL;
	if (!url || (k->final_url && !final_url))
		return;
	char *head = em_arena_printf(&s->arena, KEPT_MAGIC "url %s\ncontent-type %s\netag %s\n"
				     "last-modified %s\nfinal-url %s\n\n", url,
				     k->content_type ? k->content_type : "", k->etag ? k->etag : "",
				     k->last_modified ? k->last_modified : "",
				     final_url ? final_url : "");
	if (!dir || !head || em_mkdir_p(dir, NULL))
		return;
	size_t hn = strlen(head);
	char *all = malloc(hn + k->len);
	if (!all)
		return;
	memcpy(all, head, hn);
	if (k->len)
		memcpy(all + hn, k->body, k->len);
	EM_IGNORE(em_write_file_atomic(path, all, hn + k->len, 0644, NULL)); /* see above */
	free(all);
}

/* An HTTP page: kept, revalidated, or fetched. */
static int remote_page(struct em_source *s, const char *key, const char *url, const char *accept,
		       size_t max, struct kept *out, struct em_error *e)
{
	struct em_arena *a = &s->arena;
	const char *shown = em_url_redact(a, url);
	struct kept k;
	bool have = kept_read(s, key, max, &k);
	if (s->offline) {
		if (!have)
			return em_err(e, EM_EOFFLINE, shown ? shown : url,
				      "not in the cache, and %s forbids downloading it",
				      em_phrase(EM_PHRASE_OFFLINE));
		*out = k;
		return 0;
	}
	if (!s->http)
		return em_err(e, EM_EUNSUPPORTED, shown ? shown : url, "cannot read http(s) URLs here");
	struct em_http_get g = { 0 };
	g.url = url;
	g.accept = accept;
	g.range_from = g.range_to = -1;
	g.max = max;
	if (have && !s->refresh) {
		g.etag = k.etag;
		g.last_modified = k.last_modified;
	}
	int rc = em_http_fetch(s->http, a, &g, e);
	s->requests++;
	if (rc)
		return rc;
	if (g.status == 304 && have) {
		s->revalidated++;
		*out = k;
		return 0;
	}
	if (g.status < 200 || g.status > 299)
		return em_http_status_err(e, shown, "page", g.status);
	s->bytes_downloaded += g.len;
	struct kept nk = { g.content_type, g.etag_out, g.last_modified_out, g.final_url, g.body,
			   g.len };
	if (g.etag_out || g.last_modified_out)
		kept_write(s, key, url, &nk);
	*out = nk;
	return 0;
}

static char *local_path(struct em_source *s, const char *url)
{
	if (!strncmp(url, "file:", 5))
		return em_url_to_path(&s->arena, url);
	return em_arena_strdup(&s->arena, url);
}


int em_source_page(struct em_source *s, const char *url, const char *accept, size_t max,
		   const char **body, size_t *len, const char **content_type,
		   const char **final_url, struct em_error *e)
{
	char *key = em_arena_printf(&s->arena, "%s\n%s", url, accept ? accept : "");
	if (!key)
		return em_err_nomem(e);
	struct em_source_entry *c = lookup(s, key);
	if (c) {
		if (c->rc)
			return em_err(e, c->rc, c->where, "%s", c->msg);
		*body = c->body;
		*len = c->len;
		if (content_type)
			*content_type = c->content_type;
		if (final_url)
			*final_url = c->final_url;
		return 0;
	}
	struct em_error fe;
	em_error_clear(&fe);
	int rc;
	struct kept k = { 0 };
	if (is_local(url)) {
		char *path = local_path(s, url);
		if (!path)
			return em_err(e, EM_EINVAL, url, "not a local file URL");
		char *buf = NULL;
		size_t n = 0;
		rc = em_read_file(&s->arena, path, max, &buf, &n, &fe);
		s->requests++;
		if (!rc)
			s->bytes_read += n;
		k.body = buf;
		k.len = n;
	} else if (em_http_url(url)) {
		rc = remote_page(s, key, url, accept, max, &k, &fe);
	} else {
		return unsupported(url, e);
	}
	/* cancellation and offline misses are not remembered as answers */
	if (rc != EM_ECANCELED && remember(s, key, rc, k.body, k.len, k.content_type,
					    k.final_url, &fe, e))
		return EM_ENOMEM;
	if (rc) {
		if (e)
			*e = fe;
		return rc;
	}
	*body = k.body;
	*len = k.len;
	if (content_type)
		*content_type = k.content_type;
	if (final_url)
		*final_url = k.final_url;
	return 0;
}

int em_source_get(struct em_source *s, const char *url, size_t max, const char **body,
		  size_t *len, struct em_error *e)
{
	return em_source_page(s, url, NULL, max, body, len, NULL, NULL, e);
}

/* Fetch url into the cache (or find it there), checked against sha256;
 * *path is the cached file's. */
static int cache_fetch(struct em_source *s, struct em_arena *a, const char *url,
		       const char *filename, const char *sha256, const char **path,
		       struct em_error *e)
{
	struct em_cache_file f = { 0 };
	f.urls = &url;
	f.nurls = 1;
	f.filename = filename;
	f.sha256 = sha256;
	f.size = -1;
	int rc = em_cache_fetch(s->disk, a, s->http, &f, 1, e);
	s->bytes_downloaded += (uint64_t)f.bytes_transferred;
	if (!rc)
		*path = f.path;
	return rc;
}

/* Download url whole into <cache>/tmp (a file the caller removes or moves
 * into the cache), with its sha256 and size. */
static int download_tmp(struct em_source *s, const char *url, const char *name,
			const char *why, char **tmp, char sha256[EM_SHA256_HEX_LEN + 1],
			int64_t *size, struct em_error *e)
{
	*tmp = em_arena_printf(&s->arena, "%s/tmp/%s-%ld-%u-%s", s->disk->root, why,
			       em_os_pid(), s->requests++, name);
	if (!*tmp)
		return em_err_nomem(e);
	struct em_download d = { 0 };
	d.urls = &url;
	d.nurls = 1;
	d.dest = *tmp;
	d.size = -1;
	d.label = name;
	int rc = em_http_download(s->http, &d, 1, e);
	s->bytes_downloaded += (uint64_t)d.bytes_transferred;
	if (!rc) {
		memcpy(sha256, d.got_sha256, EM_SHA256_HEX_LEN + 1);
		*size = d.got_size;
	}
	return rc;
}

int em_source_wheel_metadata(struct em_source *s, const char *url, const char *filename,
			     const char *sha256, const char **body, size_t *len,
			     struct em_error *e)
{
	struct em_arena *a = &s->arena;
	char *buf = NULL;
	if (is_local(url)) {
		char *path = local_path(s, url);
		if (!path)
			return em_err(e, EM_EINVAL, url, "not a local file URL");
		int rc = em_wheel_read_metadata(a, path, &buf, len, e);
		if (!rc)
			*body = buf;
		return rc;
	}
	if (!em_http_url(url))
		return unsupported(url, e);
	/* wheels never change: a kept METADATA needs no revalidation */
	char *key = em_arena_printf(a, "%s\nmetadata", url);
	if (!key)
		return em_err_nomem(e);
	struct kept k;
	if (kept_read(s, key, EM_METADATA_MAX_LEN, &k) && !s->refresh) {
		*body = k.body;
		*len = k.len;
		return 0;
	}
	const char *shown = em_url_redact(a, url);
	if (s->offline)
		return em_err(e, EM_EOFFLINE, shown, "the metadata of '%s' is not in the cache, and "
			      "%s forbids downloading it", filename, em_phrase(EM_PHRASE_OFFLINE));
	if (!s->http)
		return unsupported(url, e);
	size_t n = 0;
	int rc = em_remote_wheel_metadata(s->http, a, url, filename, &buf, &n, e);
	s->requests++;
	if (rc == EM_EUNSUPPORTED && s->disk) {
		/* no ranges here: the whole wheel, kept in the cache for apply */
		em_error_clear(e);
		const char *path = NULL;
		char *tmp = NULL;
		char hex[EM_SHA256_HEX_LEN + 1];
		if (sha256) {
			rc = cache_fetch(s, a, url, filename, sha256, &path, e);
		} else {
			int64_t size;
			rc = download_tmp(s, url, filename, "meta", &tmp, hex, &size, e);
			path = tmp;
		}
		if (!rc)
			rc = em_wheel_read_metadata(a, path, &buf, &n, e);
		if (tmp && !rc)
			/* the download is whole and hashed: apply will want it */
			em_cache_keep(s->disk, a, tmp, filename, hex);
		else if (tmp) /* best effort: a leftover only costs space */
			em_os_unlink(tmp);
	}
	if (rc)
		return rc;
	s->bytes_downloaded += n;
	struct kept nk = { "text/plain", NULL, NULL, NULL, buf, n };
	kept_write(s, key, url, &nk);
	*body = buf;
	*len = n;
	return 0;
}

int em_source_file(struct em_source *s, const char *url, const char *filename,
		   const char *sha256, const char **path, char hex[EM_SHA256_HEX_LEN + 1],
		   struct em_error *e)
{
	struct em_arena *a = &s->arena;
	const char *shown = em_url_redact(a, url);
	if (!shown)
		return em_err_nomem(e);
	int64_t size;
	if (is_local(url)) {
		char *p = local_path(s, url);
		if (!p)
			return em_err(e, EM_EINVAL, shown, "not a local file URL");
		int rc = em_sha256_file(p, hex, &size, e);
		if (rc)
			return rc;
		if (sha256 && strcasecmp(hex, sha256))
			return em_err(e, EM_EINVAL, shown, "the file's sha256 is %s, but the index "
				      "says %s", hex, sha256);
		*path = p;
		return 0;
	}
	if (!em_http_url(url))
		return unsupported(url, e);
	if (!s->disk)
		return unsupported(url, e);
	if (sha256) {
		int rc = cache_fetch(s, a, url, filename, sha256, path, e);
		if (rc)
			return rc;
		for (int i = 0; i < EM_SHA256_HEX_LEN; i++)
			hex[i] = (char)em_lower((unsigned char)sha256[i]);
		hex[EM_SHA256_HEX_LEN] = '\0';
		return 0;
	}
	if (s->offline)
		return em_err(e, EM_EOFFLINE, shown, "the index gives no sha256 for '%s', and "
			      "%s forbids downloading it", filename, em_phrase(EM_PHRASE_OFFLINE));
	if (!s->http)
		return unsupported(url, e);
	char *tmp;
	int rc = download_tmp(s, url, filename, "file", &tmp, hex, &size, e);
	if (rc)
		return rc;
	char *kept = em_cache_keep(s->disk, a, tmp, filename, hex);
	if (!kept)
		return em_err(e, EM_EIO, shown, "cannot keep the download of '%s' in the cache",
			      filename);
	*path = kept;
	return 0;
}

int em_source_sdist_pkg_info(struct em_source *s, const char *url, const char *filename,
			     const char *sha256, const char **body, size_t *len,
			     struct em_error *e)
{
	struct em_arena *a = &s->arena;
	/* what was read once is kept by the sdist's sha256: the archive is
	 * neither downloaded nor read again */
	char *key = NULL;
	struct kept k;
	if (sha256) {
		key = em_arena_printf(a, "sdist-pkg-info\n%s", sha256);
		if (!key)
			return em_err_nomem(e);
		for (char *c = key; *c; c++)
			*c = (char)em_lower((unsigned char)*c);
		if (kept_read(s, key, EM_METADATA_MAX_LEN, &k)) {
			*body = k.body;
			*len = k.len;
			return 0;
		}
	}
	const char *path;
	char hex[EM_SHA256_HEX_LEN + 1];
	int rc = em_source_file(s, url, filename, sha256, &path, hex, e);
	if (rc)
		return rc;
	if (!key) {
		key = em_arena_printf(a, "sdist-pkg-info\n%s", hex);
		if (!key)
			return em_err_nomem(e);
		if (kept_read(s, key, EM_METADATA_MAX_LEN, &k)) {
			*body = k.body;
			*len = k.len;
			return 0;
		}
	}
	const char *shown = em_url_redact(a, url);
	char *buf;
	size_t n;
	rc = em_sdist_read_pkg_info(a, path, shown ? shown : filename, &buf, &n, e);
	if (rc)
		return rc;
	struct kept nk = { "text/plain", NULL, NULL, NULL, buf, n };
	kept_write(s, key, url, &nk);
	*body = buf;
	*len = n;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A find-links page over HTTP: the names of the files it links to. */
static int remote_list(struct em_source *s, const char *url, const char ***names, uint32_t *n,
		       struct em_error *e)
{
	const char *body, *ctype, *final_url;
	size_t len;
	int rc = em_source_page(s, url, "text/html", EM_INDEX_MAX_LEN, &body, &len, &ctype,
				&final_url, e);
	if (rc)
		return rc;
	struct em_index_page page;
	rc = em_index_parse_html(&s->arena, final_url ? final_url : url, body, len, &page, e);
	if (rc)
		return rc;
	const char **out = em_arena_array(&s->arena, page.nfiles ? page.nfiles : 1, sizeof *out);
	if (!out)
		return em_err_nomem(e);
	for (uint32_t i = 0; i < page.nfiles; i++)
		out[i] = page.files[i].filename;
	*names = out;
	*n = page.nfiles;
	return 0;
}

int em_source_list(struct em_source *s, const char *url, const char ***names, uint32_t *n,
		   struct em_error *e)
{
	if (em_http_url(url))
		return remote_list(s, url, names, n, e);
	if (!is_local(url))
		return unsupported(url, e);
	char *path = local_path(s, url);
	if (!path)
		return em_err(e, EM_EINVAL, url, "not a local folder URL");
	struct em_dirlist *d = em_dirlist_open(path);
	if (!d) {
		if (errno == ENOENT || errno == ENOTDIR)
			return em_err(e, EM_ENOTFOUND, path, "no such folder");
		return em_err_sys(e, errno, path, "cannot list the folder");
	}
	uint32_t cap = 64, k = 0;
	const char **list = malloc(cap * sizeof *list);
	const char *name;
	while (list && (name = em_dirlist_next(d))) {
		if (name[0] == '.')
			continue;
		if (k == cap) {
			const char **nl = realloc(list, cap * 2 * sizeof *nl);
			if (!nl) {
				free(list);
				list = NULL;
				break;
			}
			list = nl;
			cap *= 2;
		}
		list[k++] = em_arena_strdup(&s->arena, name);
	}
	em_dirlist_close(d);
	if (!list)
		return em_err_nomem(e);
	qsort(list, k, sizeof *list, cmp_str);
	const char **out = em_arena_array(&s->arena, k ? k : 1, sizeof *out);
	if (!out) {
		free(list);
		return em_err_nomem(e);
	}
	memcpy(out, list, k * sizeof *out);
	free(list);
	*names = out;
	*n = k;
	return 0;
}

int em_source_hash(struct em_source *s, const char *url, char sha256[65], int64_t *size,
		   struct em_error *e)
{
	if (em_http_url(url)) {
		struct em_arena *a = &s->arena;
		const char *shown = em_url_redact(a, url);
		if (s->offline)
			return em_err(e, EM_EOFFLINE, shown, "the index gives no sha256 for this file, "
				      "and %s forbids downloading it to compute one",
				      em_phrase(EM_PHRASE_OFFLINE));
		if (!s->http || !s->disk)
			return unsupported(url, e);
		/* the index gave no hash: download it, hash it, keep it for apply */
		char *name = em_url_basename(a, url);
		char *tmp;
		if (!name)
			return em_err_nomem(e);
		int rc = download_tmp(s, url, name, "hash", &tmp, sha256, size, e);
		if (!rc)
			em_cache_keep(s->disk, a, tmp, name, sha256); /* for apply */
		return rc;
	}
	if (!is_local(url))
		return unsupported(url, e);
	char *path = local_path(s, url);
	if (!path)
		return em_err(e, EM_EINVAL, url, "not a local file URL");
	return em_sha256_file(path, sha256, size, e);
}

int em_source_size(struct em_source *s, const char *url, int64_t *size, struct em_error *e)
{
	if (em_http_url(url)) {
		const char *shown = em_url_redact(&s->arena, url);
		/* files never change: a size learnt once is kept */
		char *key = em_arena_printf(&s->arena, "%s\nsize", url);
		struct kept k;
		if (!key)
			return em_err_nomem(e);
		if (kept_read(s, key, 64, &k) && k.len && k.len < 32) {
			char num[32];
			memcpy(num, k.body, k.len);
			num[k.len] = '\0';
			char *end;
			long long v = strtoll(num, &end, 10);
			if (end != num && !*end && v >= 0) {
				*size = v;
				return 0;
			}
		}
		if (s->offline)
			return em_err(e, EM_EOFFLINE, shown, "the index gives no size for this file, "
				      "and %s forbids asking the server", em_phrase(EM_PHRASE_OFFLINE));
		if (!s->http)
			return unsupported(url, e);
		struct em_http_get g = { 0 };
		g.url = url;
		g.range_from = g.range_to = -1;
		g.head = true;
		int rc = em_http_fetch(s->http, &s->arena, &g, e);
		s->requests++;
		if (rc)
			return rc;
		if (g.status < 200 || g.status > 299 || g.length < 0)
			return em_err(e, EM_EIO, shown, "the server gives no size (HTTP %ld)", g.status);
		*size = g.length;
		char *num = em_arena_printf(&s->arena, "%lld", (long long)g.length);
		if (num) {
			struct kept nk = { "text/plain", NULL, NULL, NULL, num, strlen(num) };
			kept_write(s, key, url, &nk);
		}
		return 0;
	}
	if (!is_local(url))
		return unsupported(url, e);
	char *path = local_path(s, url);
	if (!path)
		return em_err(e, EM_EINVAL, url, "not a local file URL");
	struct em_stat st;
	if (em_os_stat(path, &st) != 0)
		return em_err_sys(e, errno, path, "cannot read the file");
	*size = (int64_t)st.size;
	return 0;
}
