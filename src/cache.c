/* cache.c - downloads and unpacked wheels, by the sha256 of the wheel */
#include "cache.h"
#include "os/fs.h"
#include "os/sys.h"
#include "http.h"
#include "spec/index.h"
#include "install.h"
#include "util/grow.h"
#include "util/sha256.h"
#include "os/pool.h"
#include "settings.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

char *em_cache_path(struct em_arena *a, const char *configured, struct em_error *e)
{
	const char *root = configured;
	if (!root || !*root)
		root = em_settings()->cache_dir;
	if (!root || !*root) {
		const char *xdg = em_settings()->xdg_cache_home;
		const char *home = em_settings()->home;
		if (xdg && *xdg == '/')
			root = em_arena_printf(a, "%s/envmatrix", xdg);
		else if (home && *home)
			root = em_arena_printf(a, "%s/.cache/envmatrix", home);
		else {
			em_err(e, EM_ENOTFOUND, NULL, "no cache folder: set cache-dir in the "
			       "matrix, ENVMATRIX_CACHE_DIR or HOME");
			return NULL;
		}
	}
	char *abs = root ? em_path_absolute(a, root) : NULL;
	if (!abs)
		em_err_nomem(e);
	return abs;
}

static int open_root(struct em_cache *c, struct em_arena *a, const char *configured,
		     int how, bool block, struct em_error *e)
{
	c->root = NULL;
	c->lock_fd = -1;
	char *abs = em_cache_path(a, configured, e);
	if (!abs)
		return e ? e->code : EM_ENOMEM;
	static const char *const subdirs[] = { "unpacked", "wheels", "pages", "tmp" };
	for (size_t i = 0; i < sizeof subdirs / sizeof subdirs[0]; i++) {
		char *d = em_arena_printf(a, "%s/%s", abs, subdirs[i]);
		if (!d)
			return em_err_nomem(e);
		int rc = em_mkdir_p(d, e);
		if (rc)
			return rc;
	}
	char *lock = em_arena_printf(a, "%s/.lock", abs);
	if (!lock)
		return em_err_nomem(e);
	int fd = em_os_open(lock, EM_OPEN_RDWR | EM_OPEN_CREATE | EM_OPEN_NOFOLLOW, 0644);
	if (fd < 0)
		return em_err_sys(e, errno, lock, "cannot open the cache's lock");
	while (em_os_lock(fd, how | (block ? 0 : EM_FLOCK_NB)) != 0) {
		if (errno == EINTR)
			continue;
		int err = errno;
		em_os_close(fd);
		if (err == EWOULDBLOCK)
			return em_err(e, EM_EBUSY, abs, "another envmatrix process is using the "
				      "cache");
		return em_err_sys(e, err, lock, "cannot lock the cache");
	}
	c->root = abs;
	c->lock_fd = fd;
	return 0;
}

int em_cache_open(struct em_cache *c, struct em_arena *a, const char *configured,
		  struct em_error *e)
{
	return open_root(c, a, configured, EM_FLOCK_SH, true, e);
}

int em_cache_open_exclusive(struct em_cache *c, struct em_arena *a, const char *configured,
			    bool block, struct em_error *e)
{
	return open_root(c, a, configured, EM_FLOCK_EX, block, e);
}

void em_cache_close(struct em_cache *c)
{
	if (c->lock_fd >= 0)
		em_os_close(c->lock_fd);
	c->lock_fd = -1;
}

static void lower_hex(const char *sha256, char out[EM_SHA256_HEX_LEN + 1])
{
	for (size_t i = 0; i < EM_SHA256_HEX_LEN; i++)
		out[i] = (char)((sha256[i] >= 'A' && sha256[i] <= 'F') ? sha256[i] + 32 : sha256[i]);
	out[EM_SHA256_HEX_LEN] = '\0';
}

/* Whether path is a download of this cache's, <root>/wheels/<sha>/NAME. */
static bool in_downloads(const struct em_cache *c, struct em_arena *a, const char *path,
			 const char *sha)
{
	char *prefix = em_arena_printf(a, "%s/wheels/%s/", c->root, sha);
	return prefix && !strncmp(path, prefix, strlen(prefix)) && !strchr(path + strlen(prefix), '/');
}

static bool is_complete(struct em_arena *a, const char *dir)
{
	char *mark = em_arena_printf(a, "%s/%s", dir, EM_UNPACKED_MARK);
	struct em_stat st;
	return mark && em_os_stat(mark, &st) == 0;
}

bool em_cache_has_unpacked(const struct em_cache *c, struct em_arena *a, const char *sha256)
{
	if (!sha256 || !em_sha256_hex_valid(sha256, strlen(sha256)))
		return false;
	char lower[EM_SHA256_HEX_LEN + 1];
	lower_hex(sha256, lower);
	char *dir = em_arena_printf(a, "%s/unpacked/%s", c->root, lower);
	return dir && is_complete(a, dir);
}

char *em_cache_keep(struct em_cache *c, struct em_arena *a, const char *tmp,
		    const char *filename, const char *sha256)
{
	char lower[EM_SHA256_HEX_LEN + 1];
	char *dir = NULL, *dest = NULL;
	if (sha256 && em_sha256_hex_valid(sha256, strlen(sha256)) && !strchr(filename, '/') &&
	    filename[0] != '.') {
		lower_hex(sha256, lower);
		dir = em_arena_printf(a, "%s/wheels/%s", c->root, lower);
		dest = dir ? em_arena_printf(a, "%s/%s", dir, filename) : NULL;
	}
	/* rename(2) replaces an entry another process put there meanwhile:
	 * the same bytes, so either is right */
	if (dest && !em_mkdir_p(dir, NULL) && em_os_rename(tmp, dest) == 0) {
		em_fsync_parent(dest);
		return dest;
	}
	em_os_unlink(tmp); /* best effort: a leftover in tmp/ only costs space */
	return NULL;
}

/* ---- downloads ---- */
static bool is_local(const char *url)
{
	return !strncmp(url, "file:", 5) || !strstr(url, "://");
}

/* A local file is the locked one: its sha256 (lower: lower-case hex) and
 * its size when known. Thread-safe: it allocates nothing. */
static int check_file(const char *path, const char *filename, const char *lower, int64_t size,
		      struct em_error *e)
{
	char got[EM_SHA256_HEX_LEN + 1];
	int64_t got_size;
	int rc = em_sha256_file(path, got, &got_size, e);
	if (rc)
		return rc;
	if (strcmp(got, lower))
		return em_err(e, EM_EINVAL, path, "'%s' has sha256 %s, but the lock says %s",
			      filename, got, lower);
	if (size >= 0 && got_size != size)
		return em_err(e, EM_EINVAL, path, "'%s' is %lld bytes, but the lock says %lld",
			      filename, (long long)got_size, (long long)size);
	return 0;
}

static int fetch_local(struct em_arena *a, struct em_cache_file *f, const char *lower,
		       struct em_error *e)
{
	const char *url = f->urls[0];
	char *path = !strncmp(url, "file:", 5) ? em_url_to_path(a, url) : em_arena_strdup(a, url);
	if (!path)
		return em_err(e, EM_EINVAL, url, "not a local file URL");
	int rc = check_file(path, f->filename, lower, f->size, e);
	if (!rc)
		f->path = path;
	return rc;
}

struct pending {
	struct em_cache_file *f;
	char *dest;
	char *lockpath;
	int lock_fd;
};

static bool present(const char *dest, int64_t size)
{
	struct em_stat st;
	return em_os_lstat(dest, &st) == 0 && st.type == EM_FT_FILE &&
	       (size < 0 || st.size == (uint64_t)size);
}

/* Let an entry's lock go: closing the descriptor releases it, and nothing
 * was written through it, so the close has nothing to report. */
static void unlock_entry(int fd)
{
	(void)em_os_close(fd);
}

static void ready(struct em_cache_file *f)
{
	if (!f->rc && f->path && f->ready)
		f->ready(f->ready_ctx, f);
}

/* A download is in place (the others may still run). */
static void on_downloaded(void *ctx, struct em_download *d)
{
	struct pending *p = ctx;
	p->f->path = p->dest;
	p->f->downloaded = true;
	p->f->bytes_transferred = d->bytes_transferred;
	ready(p->f);
}

/* Download the pending files whose entry locks this process holds. */
static int download(struct em_http *h, struct pending *p, uint32_t n, struct em_error *e)
{
	struct em_download *d = calloc(n ? n : 1, sizeof *d);
	if (!d)
		return em_err_nomem(e);
	for (uint32_t i = 0; i < n; i++) {
		d[i].done = on_downloaded;
		d[i].done_ctx = &p[i];
		d[i].urls = p[i].f->urls;
		d[i].nurls = p[i].f->nurls;
		d[i].dest = p[i].dest;
		d[i].sha256 = p[i].f->sha256;
		d[i].size = p[i].f->size;
		d[i].label = p[i].f->filename;
	}
	int rc = em_http_download(h, d, n, e);
	/* the successes were recorded by on_downloaded */
	for (uint32_t i = 0; i < n; i++) {
		p[i].f->rc = d[i].rc;
		p[i].f->err = d[i].err;
		p[i].f->bytes_transferred = d[i].bytes_transferred;
	}
	free(d);
	return rc;
}

enum claim {
	CLAIM_DONE,   /* ready (in the cache, a local file) or failed: x->rc */
	CLAIM_MINE,   /* to download: *pe holds its entry's lock */
	CLAIM_THEIRS  /* another process holds its entry's lock: *pe to wait on */
};

/* Where file x comes from: checked, then found in place, or its entry in
 * the cache locked (without waiting) for the download. */
static enum claim claim_file(struct em_cache *c, struct em_arena *a, struct em_http *h,
			     struct em_cache_file *x, struct pending *pe)
{
	x->path = NULL;
	x->rc = 0;
	x->downloaded = false;
	x->bytes_transferred = 0;
	em_error_clear(&x->err);
	char lower[EM_SHA256_HEX_LEN + 1];
	if (!x->sha256 || !em_sha256_hex_valid(x->sha256, strlen(x->sha256))) {
		x->rc = em_err(&x->err, EM_EINVAL, x->nurls ? em_url_redact(a, x->urls[0]) : NULL,
			       "no valid sha256 for '%s'", x->filename);
		return CLAIM_DONE;
	}
	lower_hex(x->sha256, lower);
	if (!x->nurls) {
		x->rc = em_err(&x->err, EM_EUSAGE, NULL, "no URL for '%s'", x->filename);
		return CLAIM_DONE;
	}
	if (is_local(x->urls[0])) {
		x->rc = fetch_local(a, x, lower, &x->err);
		ready(x);
		return CLAIM_DONE;
	}
	if (strchr(x->filename, '/') || !strcmp(x->filename, ".") ||
	    !strcmp(x->filename, "..") || x->filename[0] == '.') {
		x->rc = em_err(&x->err, EM_EINVAL, em_url_redact(a, x->urls[0]),
			       "'%s' is not a file name", x->filename);
		return CLAIM_DONE;
	}
	char *dir = em_arena_printf(a, "%s/wheels/%s", c->root, lower);
	char *dest = dir ? em_arena_printf(a, "%s/%s", dir, x->filename) : NULL;
	char *lockpath = dir ? em_arena_printf(a, "%s/.lock", dir) : NULL;
	if (!dest || !lockpath) {
		x->rc = em_err_nomem(&x->err);
		return CLAIM_DONE;
	}
	if (present(dest, x->size)) {
		x->path = dest;
		ready(x);
		return CLAIM_DONE;
	}
	if (!h) {
		x->rc = em_err(&x->err, EM_EUNSUPPORTED, em_url_redact(a, x->urls[0]),
			       "'%s' is not in the cache and cannot be downloaded here",
			       x->filename);
		return CLAIM_DONE;
	}
	if ((x->rc = em_mkdir_p(dir, &x->err)))
		return CLAIM_DONE;
	int fd = em_os_open(lockpath, EM_OPEN_RDWR | EM_OPEN_CREATE | EM_OPEN_NOFOLLOW, 0644);
	if (fd < 0) {
		x->rc = em_err_sys(&x->err, errno, lockpath, "cannot open the entry's lock");
		return CLAIM_DONE;
	}
	*pe = (struct pending){ x, dest, lockpath, fd };
	if (em_os_lock(fd, EM_FLOCK_EX | EM_FLOCK_NB) != 0)
		return CLAIM_THEIRS;
	/* it may have appeared since the check */
	if (present(dest, x->size)) {
		x->path = dest;
		unlock_entry(fd);
		ready(x);
		return CLAIM_DONE;
	}
	return CLAIM_MINE;
}

/* Download the n pending files, then let their entries' locks go. Each
 * file's result is in its record; the run's own error only reaches a file
 * left with neither (the run failed before it, out of memory). */
static void download_and_unlock(struct em_http *h, struct pending *p, uint32_t n)
{
	if (!n)
		return;
	struct em_error de;
	em_error_clear(&de);
	int rc = download(h, p, n, &de);
	for (uint32_t i = 0; i < n; i++) {
		if (rc && !p[i].f->rc && !p[i].f->path) {
			p[i].f->rc = rc;
			p[i].f->err = de;
		}
		unlock_entry(p[i].lock_fd);
	}
}

/* Files another process was downloading: wait for it; what it finished
 * is ready, what it did not is moved to the front of p for a download of
 * our own. Returns how many that is. */
static uint32_t wait_for_theirs(struct pending *p, uint32_t n)
{
	uint32_t nretry = 0;
	for (uint32_t i = 0; i < n; i++) {
		struct pending *pe = &p[i];
		while (em_os_lock(pe->lock_fd, EM_FLOCK_EX) != 0) {
			if (errno != EINTR) {
				pe->f->rc = em_err_sys(&pe->f->err, errno, pe->lockpath,
						       "cannot lock the entry");
				break;
			}
		}
		if (pe->f->rc) {
			unlock_entry(pe->lock_fd);
			continue;
		}
		if (present(pe->dest, pe->f->size)) {
			pe->f->path = pe->dest;
			unlock_entry(pe->lock_fd);
			ready(pe->f);
			continue;
		}
		p[nretry++] = *pe;
	}
	return nretry;
}

int em_cache_fetch(struct em_cache *c, struct em_arena *a, struct em_http *h,
		   struct em_cache_file *f, uint32_t n, struct em_error *e)
{
	struct pending *mine = calloc(n ? n : 1, sizeof *mine);
	struct pending *theirs = calloc(n ? n : 1, sizeof *theirs);
	uint32_t nmine = 0, ntheirs = 0;
	int first = 0;
	if (!mine || !theirs) {
		free(mine);
		free(theirs);
		return em_err_nomem(e);
	}
	for (uint32_t i = 0; i < n; i++) {
		struct pending pe;
		switch (claim_file(c, a, h, &f[i], &pe)) {
		case CLAIM_MINE:
			mine[nmine++] = pe;
			break;
		case CLAIM_THEIRS:
			theirs[ntheirs++] = pe;
			break;
		case CLAIM_DONE:
			break;
		}
	}
	download_and_unlock(h, mine, nmine);
	download_and_unlock(h, theirs, wait_for_theirs(theirs, ntheirs));
	for (uint32_t i = 0; i < n && !first; i++)
		if (f[i].rc) {
			first = f[i].rc;
			if (e)
				*e = f[i].err;
		}
	free(mine);
	free(theirs);
	return first;
}

/* ---- unpacking many wheels at once ----
 *
 * Jobs are added by one thread (the caller's, also from download
 * callbacks) and taken by the workers as they come, so unpacking overlaps
 * the downloads still running. finish waits for the workers, syncs the
 * file system once for every tree, and renames each into place. */
struct unpack_job {
	struct em_cache_unpack *u;
	char *target;   /* <root>/unpacked/<sha> */
	char *path;     /* the wheel */
	char lower[EM_SHA256_HEX_LEN + 1];
	bool trusted;   /* a download of the cache's: verified already */
	volatile sig_atomic_t *cancel;
	char *staged;   /* out: the tree to publish */
};

struct em_unpacker {
	struct em_cache *c;
	struct em_arena *a;
	volatile sig_atomic_t *cancel;
	struct em_pool *pool;
	struct unpack_job **jobs; /* added so far */
	uint32_t n, cap;
	struct em_cache_unpack **all; /* every item added, for the outcome */
	uint32_t nall, capall;
};

static void unpack_one(struct unpack_job *j)
{
	struct em_cache_unpack *u = j->u;
	if (!j->trusted && (u->rc = check_file(j->path, u->filename, j->lower, u->size, &u->err)))
		return;
	/* A tree that appears meanwhile (another process) is kept:
	 * em_wheel_unpack_staged and publish leave a complete one alone. Trees
	 * appear complete, by rename, so nothing here removes one: another
	 * process may be linking from it. */
	int rc = em_wheel_unpack_staged(j->path, j->target, &j->staged, &u->err);
	if (rc < 0)
		u->rc = rc;
}

static void unpack_task(void *ctx, size_t i)
{
	struct unpack_job *j = ctx;
	(void)i;
	if (j->cancel && *j->cancel)
		j->u->rc = em_err(&j->u->err, EM_ECANCELED, j->path, "interrupted");
	else
		unpack_one(j);
}

int em_unpacker_start(struct em_cache *c, struct em_arena *a, unsigned jobs,
		      volatile sig_atomic_t *cancel, struct em_unpacker **out, struct em_error *e)
{
	struct em_unpacker *p = calloc(1, sizeof *p);
	if (!p)
		return em_err_nomem(e);
	p->c = c;
	p->a = a;
	p->cancel = cancel;
	if (!jobs)
		jobs = em_pool_cpus();
	int rc = em_pool_start(jobs < 64 ? jobs : 64, &p->pool, e);
	if (!rc && !em_pool_threads(p->pool)) {
		em_pool_stop(p->pool);
		rc = em_err(e, EM_EIO, NULL, "cannot start a thread to unpack wheels");
	}
	if (rc) {
		free(p);
		return rc;
	}
	*out = p;
	return 0;
}

void em_unpacker_add(struct em_unpacker *p, struct em_cache_unpack *x)
{
	struct em_arena *a = p->a;
	x->rc = 0;
	x->fresh = false;
	x->dir = NULL;
	em_error_clear(&x->err);
	if (em_grow(&p->all, &p->capall, p->nall, sizeof *p->all)) {
		x->rc = em_err_nomem(&x->err);
		return; /* not recorded: finish cannot report it, so the caller's u says it */
	}
	p->all[p->nall++] = x;
	if (!x->sha256 || !em_sha256_hex_valid(x->sha256, strlen(x->sha256))) {
		x->rc = em_err(&x->err, EM_EINVAL, x->path, "no valid sha256 for '%s'", x->filename);
		return;
	}
	struct unpack_job *j = em_arena_zalloc(a, sizeof *j);
	if (!j) {
		x->rc = em_err_nomem(&x->err);
		return;
	}
	lower_hex(x->sha256, j->lower);
	j->u = x;
	j->target = em_arena_printf(a, "%s/unpacked/%s", p->c->root, j->lower);
	j->path = !strncmp(x->path, "file:", 5) ? em_url_to_path(a, x->path)
						 : em_arena_strdup(a, x->path);
	if (!j->target || !j->path) {
		x->rc = em_err_nomem(&x->err);
		return;
	}
	x->dir = j->target;
	if (is_complete(a, j->target))
		return;
	if (strstr(x->path, "://") && strncmp(x->path, "file:", 5)) {
		x->rc = em_err(&x->err, EM_EUNSUPPORTED, em_url_redact(a, x->path),
			       "'%s' has not been downloaded", x->filename);
		return;
	}
	j->trusted = in_downloads(p->c, a, j->path, j->lower);
	j->cancel = p->cancel;
	bool ok = !em_grow(&p->jobs, &p->cap, p->n, sizeof *p->jobs);
	if (ok) {
		p->jobs[p->n++] = j;
		em_pool_submit(p->pool, unpack_task, j, 1);
	}
	if (!ok)
		x->rc = em_err_nomem(&x->err);
}

int em_unpacker_finish(struct em_unpacker *p, struct em_error *e)
{
	em_pool_stop(p->pool);
	/* one sync for every tree: their data on disk before their names */
	bool any = false;
	for (uint32_t i = 0; i < p->n; i++)
		any |= p->jobs[i]->staged != NULL;
	if (any && em_os_flush_volume(p->c->root) != 0) {
		int err = errno;
		for (uint32_t i = 0; i < p->n; i++) {
			struct unpack_job *j = p->jobs[i];
			if (!j->staged)
				continue;
			j->u->rc = em_err_sys(&j->u->err, err, p->c->root, "cannot sync the cache");
			em_remove_tree(j->staged, NULL);
			free(j->staged);
			j->staged = NULL;
		}
	}
	for (uint32_t i = 0; i < p->n; i++) {
		struct unpack_job *j = p->jobs[i];
		if (!j->staged)
			continue;
		j->u->rc = em_wheel_unpack_publish(j->staged, j->target, &j->u->err);
		j->u->fresh = j->u->rc == 0;
		free(j->staged);
	}
	int rc = 0;
	for (uint32_t i = 0; i < p->nall && !rc; i++)
		if (p->all[i]->rc) {
			rc = p->all[i]->rc;
			if (e)
				*e = p->all[i]->err;
		}
	free(p->jobs);
	free(p->all);
	free(p);
	return rc;
}

int em_cache_unpack_many(struct em_cache *c, struct em_arena *a, struct em_cache_unpack *u,
			 uint32_t n, unsigned jobs, volatile sig_atomic_t *cancel,
			 struct em_error *e)
{
	struct em_unpacker *p;
	int rc = em_unpacker_start(c, a, jobs, cancel, &p, e);
	if (rc)
		return rc;
	for (uint32_t i = 0; i < n; i++)
		em_unpacker_add(p, &u[i]);
	rc = em_unpacker_finish(p, e);
	for (uint32_t i = 0; i < n && !rc; i++)
		if (u[i].rc) {
			rc = u[i].rc;
			if (e)
				*e = u[i].err;
		}
	return rc;
}

/* ---- checking unpacked trees ---- */
struct check_pool {
	struct em_cache_check *v;
	char **dirs;
	volatile sig_atomic_t *cancel;
};

static void check_task(void *ctx, size_t i)
{
	struct check_pool *p = ctx;
	struct em_cache_check *x = &p->v[i];
	if (!p->dirs[i])
		return;
	if (p->cancel && *p->cancel) {
		x->rc = em_err(&x->err, EM_ECANCELED, p->dirs[i], "interrupted");
		return;
	}
	int rc = em_wheel_unpacked_check(p->dirs[i], &x->err);
	x->checked = rc >= 0;
	x->damaged = rc == 1;
	if (rc < 0)
		x->rc = rc;
}

/* The wheel's file name, the first line of the tree's mark. */
static const char *mark_wheel(struct em_arena *a, const char *dir)
{
	char *mark = em_arena_printf(a, "%s/%s", dir, EM_UNPACKED_MARK);
	char *text;
	size_t len;
	if (!mark || em_read_file(a, mark, 4096, &text, &len, NULL))
		return NULL;
	char *nl = memchr(text, '\n', len);
	if (!nl || nl == text)
		return NULL;
	*nl = '\0';
	return strchr(text, '/') || text[0] == '.' ? NULL : text;
}

static unsigned long aside_counter;

/* Move a damaged tree into tmp/: 0, or an error (ENOENT: someone else
 * moved it already, which is as good). */
static int drop_tree(struct em_cache *c, struct em_arena *a, const char *dir, const char *lower,
		     struct em_error *e)
{
	unsigned long k = __atomic_add_fetch(&aside_counter, 1, __ATOMIC_RELAXED);
	char *aside = em_arena_printf(a, "%s/tmp/damaged-%s-%ld-%lu", c->root, lower,
				      em_os_pid(), k);
	if (!aside)
		return em_err_nomem(e);
	struct em_stat st;
	/* moving a folder to another parent rewrites its "..": it must be
	 * writable (unpacked trees are read-only); a failure shows in the
	 * rename below */
	if (em_os_lstat(dir, &st) == 0 && st.type == EM_FT_DIR && (st.mode & 0700) != 0700)
		EM_IGNORE(em_os_chmod(dir, st.mode | 0700));
	if (em_os_rename(dir, aside) != 0 && errno != ENOENT)
		return em_err(e, EM_EIO, dir, "cannot move the damaged tree to '%s': %s", aside,
			      strerror(errno));
	em_fsync_parent(dir);
	return 0;
}

int em_cache_check_unpacked(struct em_cache *c, struct em_arena *a, struct em_cache_check *v,
			    uint32_t n, unsigned jobs, unsigned flags,
			    volatile sig_atomic_t *cancel, struct em_error *e)
{
	struct check_pool p = { v, em_arena_array(a, n ? n : 1, sizeof(char *)), cancel };
	if (!p.dirs)
		return em_err_nomem(e);
	for (uint32_t i = 0; i < n; i++) {
		struct em_cache_check *x = &v[i];
		x->checked = x->damaged = x->dropped = x->repaired = false;
		x->wheel = NULL;
		x->rc = 0;
		em_error_clear(&x->err);
		p.dirs[i] = NULL;
		if (!x->sha256 || !em_sha256_hex_valid(x->sha256, strlen(x->sha256))) {
			x->rc = em_err(&x->err, EM_EINVAL, NULL, "'%s' is not a sha256",
				       x->sha256 ? x->sha256 : "");
			continue;
		}
		char lower[EM_SHA256_HEX_LEN + 1];
		lower_hex(x->sha256, lower);
		char *dir = em_arena_printf(a, "%s/unpacked/%s", c->root, lower);
		if (!dir)
			return em_err_nomem(e);
		if (is_complete(a, dir))
			p.dirs[i] = dir;
	}
	if (!jobs)
		jobs = em_pool_cpus();
	if (jobs > n)
		jobs = n ? n : 1;
	if (jobs > 64)
		jobs = 64;
	/* this thread and jobs - 1 workers; without a pool, this thread alone */
	struct em_pool *pool;
	if (em_pool_start(jobs - 1, &pool, NULL))
		pool = NULL;
	em_pool_submit(pool, check_task, &p, n);
	em_pool_wait(pool, true);
	em_pool_stop(pool);

	for (uint32_t i = 0; i < n; i++) {
		struct em_cache_check *x = &v[i];
		if (!x->damaged || !p.dirs[i])
			continue;
		x->wheel = mark_wheel(a, p.dirs[i]);
		if (!(flags & (EM_CACHE_CHECK_DROP | EM_CACHE_CHECK_REPAIR)))
			continue;
		char lower[EM_SHA256_HEX_LEN + 1];
		lower_hex(x->sha256, lower);
		/* the damage stays described in err; a failure to mend replaces it */
		struct em_error de;
		em_error_clear(&de);
		int rc = drop_tree(c, a, p.dirs[i], lower, &de);
		if (rc) {
			x->rc = rc;
			x->err = de;
			continue;
		}
		x->dropped = true;
		if (!(flags & EM_CACHE_CHECK_REPAIR) || !x->wheel)
			continue;
		char *whl = em_arena_printf(a, "%s/wheels/%s/%s", c->root, lower, x->wheel);
		if (!whl)
			return em_err_nomem(e);
		if (!present(whl, -1))
			continue; /* the next apply downloads it */
		if ((rc = check_file(whl, x->wheel, lower, -1, &de)) ||
		    (rc = em_wheel_unpack(whl, p.dirs[i], &de))) {
			x->rc = rc;
			x->err = de;
			continue;
		}
		x->repaired = true;
	}
	for (uint32_t i = 0; i < n; i++)
		if (v[i].rc) {
			if (e)
				*e = v[i].err;
			return v[i].rc;
		}
	return 0;
}

static int cmp_check(const void *x, const void *y)
{
	return strcmp(((const struct em_cache_check *)x)->sha256,
		      ((const struct em_cache_check *)y)->sha256);
}

int em_cache_list_unpacked(const struct em_cache *c, struct em_arena *a,
			   struct em_cache_check **out, uint32_t *n, struct em_error *e)
{
	*out = NULL;
	*n = 0;
	char *root = em_arena_printf(a, "%s/unpacked", c->root);
	if (!root)
		return em_err_nomem(e);
	struct em_dirlist *d = em_dirlist_open(root);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		return em_err_sys(e, errno, root, "cannot read the folder");
	}
	uint32_t cap = 0;
	struct em_cache_check *v = NULL;
	const char *name;
	int rc = 0;
	while ((name = em_dirlist_next(d))) {
		if (strlen(name) != EM_SHA256_HEX_LEN ||
		    !em_sha256_hex_valid(name, EM_SHA256_HEX_LEN))
			continue;
		char *dir = em_arena_printf(a, "%s/%s", root, name);
		if (!dir) {
			rc = em_err_nomem(e);
			break;
		}
		if (!is_complete(a, dir))
			continue;
		if (*n == cap) {
			uint32_t nc = cap ? 2 * cap : 64;
			struct em_cache_check *nv = em_arena_array(a, nc, sizeof *nv);
			if (!nv) {
				rc = em_err_nomem(e);
				break;
			}
			if (*n)
				memcpy(nv, v, *n * sizeof *v);
			v = nv;
			cap = nc;
		}
		memset(&v[*n], 0, sizeof v[*n]);
		if (!(v[*n].sha256 = em_arena_strdup(a, name))) {
			rc = em_err_nomem(e);
			break;
		}
		(*n)++;
	}
	em_dirlist_close(d);
	if (rc) {
		*n = 0;
		return rc;
	}
	if (*n)
		qsort(v, *n, sizeof *v, cmp_check);
	*out = v;
	return 0;
}
