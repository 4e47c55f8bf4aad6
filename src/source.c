/* source.c - bytes for URLs: local files now, the network later */
#include "envmatrix/source.h"
#include "envmatrix/fs.h"
#include "envmatrix/index.h"
#include "envmatrix/sha256.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct em_source_entry {
	const char *url;
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

static char *local_path(struct em_source *s, const char *url)
{
	if (!strncmp(url, "file:", 5))
		return em_url_to_path(&s->arena, url);
	return em_arena_strdup(&s->arena, url);
}

static int unsupported(const char *url, struct em_error *e)
{
	char *r = NULL;
	struct em_arena a;
	em_arena_init(&a);
	r = em_url_redact(&a, url);
	int rc = em_err(e, EM_EUNSUPPORTED, r ? r : "", "only file:// indexes and local folders "
			"can be read by this build; mirror the index to a folder (HTTP support "
			"is the next step of envmatrix)");
	em_arena_release(&a);
	return rc;
}

int em_source_get(struct em_source *s, const char *url, size_t max, const char **body,
		  size_t *len, struct em_error *e)
{
	struct em_source_entry *c = lookup(s, url);
	if (c) {
		if (c->rc)
			return em_err(e, c->rc, c->where, "%s", c->msg);
		*body = c->body;
		*len = c->len;
		return 0;
	}
	if (!is_local(url))
		return unsupported(url, e);
	char *path = local_path(s, url);
	if (!path)
		return em_err(e, EM_EINVAL, url, "not a local file URL");
	char *buf = NULL;
	size_t n = 0;
	struct em_error fe;
	em_error_clear(&fe);
	int rc = em_read_file(&s->arena, path, max, &buf, &n, &fe);
	s->requests++;
	if (!rc)
		s->bytes_read += n;
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
	ne->url = em_arena_strdup(&s->arena, url);
	ne->rc = rc;
	ne->body = buf;
	ne->len = n;
	ne->msg = rc ? em_arena_strdup(&s->arena, fe.msg) : NULL;
	ne->where = rc ? em_arena_strdup(&s->arena, fe.where) : NULL;
	if (rc) {
		if (e)
			*e = fe;
		return rc;
	}
	*body = buf;
	*len = n;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int em_source_list(struct em_source *s, const char *url, const char ***names, uint32_t *n,
		   struct em_error *e)
{
	if (!is_local(url))
		return unsupported(url, e);
	char *path = local_path(s, url);
	if (!path)
		return em_err(e, EM_EINVAL, url, "not a local folder URL");
	DIR *d = opendir(path);
	if (!d) {
		if (errno == ENOENT || errno == ENOTDIR)
			return em_err(e, EM_ENOTFOUND, path, "no such folder");
		return em_err_sys(e, errno, path, "cannot list the folder");
	}
	uint32_t cap = 64, k = 0;
	const char **list = malloc(cap * sizeof *list);
	struct dirent *de;
	while (list && (de = readdir(d))) {
		if (de->d_name[0] == '.')
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
		list[k++] = em_arena_strdup(&s->arena, de->d_name);
	}
	closedir(d);
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
	if (!is_local(url))
		return unsupported(url, e);
	char *path = local_path(s, url);
	if (!path)
		return em_err(e, EM_EINVAL, url, "not a local file URL");
	return em_sha256_file(path, sha256, size, e);
}
