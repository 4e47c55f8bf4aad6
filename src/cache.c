/* cache.c - where unpacked wheels live, by the sha256 of the wheel */
#include "envmatrix/cache.h"
#include "envmatrix/fs.h"
#include "envmatrix/index.h"
#include "envmatrix/install.h"
#include "envmatrix/sha256.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

int em_cache_open(struct em_cache *c, struct em_arena *a, const char *configured,
		  struct em_error *e)
{
	const char *root = configured;
	if (!root || !*root)
		root = getenv("ENVMATRIX_CACHE_DIR");
	if (!root || !*root) {
		const char *xdg = getenv("XDG_CACHE_HOME");
		const char *home = getenv("HOME");
		if (xdg && *xdg == '/')
			root = em_arena_printf(a, "%s/envmatrix", xdg);
		else if (home && *home)
			root = em_arena_printf(a, "%s/.cache/envmatrix", home);
		else
			return em_err(e, EM_ENOTFOUND, NULL, "no cache folder: set cache-dir in the "
				      "matrix, ENVMATRIX_CACHE_DIR or HOME");
	}
	char *abs = root ? em_path_absolute(a, root) : NULL;
	if (!abs)
		return em_err_nomem(e);
	c->root = abs;
	static const char *const subdirs[] = { "unpacked", "wheels", "tmp" };
	for (size_t i = 0; i < sizeof subdirs / sizeof subdirs[0]; i++) {
		char *d = em_arena_printf(a, "%s/%s", abs, subdirs[i]);
		if (!d)
			return em_err_nomem(e);
		int rc = em_mkdir_p(d, e);
		if (rc)
			return rc;
	}
	return 0;
}

static bool is_complete(struct em_arena *a, const char *dir)
{
	char *mark = em_arena_printf(a, "%s/%s", dir, EM_UNPACKED_MARK);
	struct stat st;
	return mark && stat(mark, &st) == 0;
}

int em_cache_unpacked(struct em_cache *c, struct em_arena *a, const char *url,
		      const char *filename, const char *sha256, int64_t size,
		      char **dir, bool *fresh, struct em_error *e)
{
	*fresh = false;
	if (!sha256 || !em_sha256_hex_valid(sha256, strlen(sha256)))
		return em_err(e, EM_EINVAL, url, "no valid sha256 for '%s'", filename);
	char lower[EM_SHA256_HEX_LEN + 1];
	for (size_t i = 0; i < EM_SHA256_HEX_LEN; i++)
		lower[i] = (char)((sha256[i] >= 'A' && sha256[i] <= 'F') ? sha256[i] + 32 : sha256[i]);
	lower[EM_SHA256_HEX_LEN] = '\0';
	char *target = em_arena_printf(a, "%s/unpacked/%s", c->root, lower);
	if (!target)
		return em_err_nomem(e);
	*dir = target;
	if (is_complete(a, target))
		return 0;

	/* a local file: check it is the locked one, then unpack it in place */
	char *path = NULL;
	if (!strncmp(url, "file:", 5))
		path = em_url_to_path(a, url);
	else if (!strstr(url, "://"))
		path = em_arena_strdup(a, url);
	if (!path)
		return em_err(e, EM_EUNSUPPORTED, em_url_redact(a, url),
			      "'%s' is not in the cache and this build cannot download it", filename);
	char got[EM_SHA256_HEX_LEN + 1];
	int64_t got_size;
	int rc = em_sha256_file(path, got, &got_size, e);
	if (rc)
		return rc;
	if (strcasecmp(got, lower))
		return em_err(e, EM_EINVAL, em_url_redact(a, url),
			      "'%s' has sha256 %s, but the lock says %s", filename, got, lower);
	if (size >= 0 && got_size != size)
		return em_err(e, EM_EINVAL, em_url_redact(a, url),
			      "'%s' is %lld bytes, but the lock says %lld", filename,
			      (long long)got_size, (long long)size);
	/* a stale half-unpacked tree of a crashed run is in the way */
	struct stat st;
	if (lstat(target, &st) == 0) {
		char *trash = em_arena_printf(a, "%s/tmp/stale-%s-%ld", c->root, lower, (long)getpid());
		if (!trash)
			return em_err_nomem(e);
		if (rename(target, trash) == 0)
			em_remove_tree(trash, NULL);
	}
	rc = em_wheel_unpack(path, target, e);
	if (rc) {
		/* another process may have won the race */
		if (is_complete(a, target)) {
			em_error_clear(e);
			return 0;
		}
		return rc;
	}
	*fresh = true;
	return 0;
}
