/* cache_admin.c - looking after the cache: what it holds (info), emptying
 * it (clean), removing what can be rebuilt (prune), checking built wheels
 *
 * One scan classifies every entry of wheels/, unpacked/, pages/, tmp/ and
 * the build folders (build-envs/, built/, build-metadata/, build-logs/;
 * cache.h and build.h give the layout) and measures it; clean and prune
 * then act on that list. Nothing else in the cache folder is looked at or touched: not
 * <root>/.lock, which clean and prune hold, nor anything a person put there.
 *
 * The scan never follows a symbolic link (every folder is opened with
 * EM_OPEN_NOFOLLOW, every entry looked at with em_dir_lstat): a link is an
 * entry of its own, and what it points to is neither counted nor removed.
 * It keeps one folder open at a time and goes back up through "..",
 * checking that it arrives where it came from, so the depth of a tree is
 * not limited (as em_remove_tree).
 *
 * Bytes are what the file system allocated (512-byte blocks). An inode with
 * several links is counted once, in the first entry that meets it (wheels/,
 * then unpacked/, pages/, tmp/, the build folders). An unpacked tree is in
 * use when one of its files has more links than the scan met inside the
 * cache: a venv links to it. Links between two cache entries do not make a
 * tree in use, but links from a build environment (a venv itself) do.
 *
 * Build entries are complete when they hold what build.c writes last:
 * a build environment its mark (EM_BUILD_ENV_MARK), a built wheel its
 * key.txt (naming the sdist's sha256 and the build environment) and its
 * wheel, prepared metadata its key.txt and METADATA; a log is a *.log
 * file. Anything else in those folders is a leftover.
 *
 * Whole entries are removed by renaming them into tmp/ first, so a reader
 * never finds a half-removed tree where it expects a complete one.
 */
#include "cache.h"
#include "util/buf.h"
#include "build.h"
#include "os/fs.h"
#include "install.h"
#include "spec/lock.h"
#include "util/sha256.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum kind {
	K_WHEEL,    /* wheels/<sha>/NAME: a complete download */
	K_PART,     /* wheels/<sha>/NAME.part */
	K_WHEELDIR, /* wheels/<sha>/ itself and its .lock (its files follow it) */
	K_UNPACKED, /* unpacked/<sha>/ with its mark */
	K_PAGES,    /* pages/<xx>/ (or a stray file in pages/) */
	K_BUILDENV, /* build-envs/<hash>/ with its mark */
	K_BUILT,    /* built/<key>/ with key.txt and its wheel */
	K_BUILDMETA, /* build-metadata/<key>/ with key.txt and METADATA */
	K_BUILDLOG, /* build-logs/<project>.<key>.log */
	K_TMP       /* a leftover: tmp/X, unpacked trees without a mark, *.tmp-*,
		     * build entries without what completes them */
};

struct entry {
	const char *rel; /* below the root: "unpacked/<sha>", "wheels/<sha>/NAME" */
	enum kind kind;
	uint32_t dir;    /* in wheels/<sha>/: index + 1 of its K_WHEELDIR, else 0 */
	uint64_t bytes;  /* the inodes first met in it */
	uint64_t files;  /* K_PAGES: the pages in it */
	uint64_t lock_bytes; /* K_WHEELDIR: its .lock */
	bool has_lock;   /* K_WHEELDIR: it has a .lock */
	bool complete;   /* K_WHEELDIR: it holds a complete download */
	bool part;       /* K_WHEELDIR: it holds a .part */
	bool in_use;     /* K_UNPACKED: a venv links to it */
	bool keep;       /* build kinds: prune keeps it */
	const char *sdist; /* K_BUILT, K_BUILDMETA: the sdist's sha256 (key.txt) */
	const char *env;   /* K_BUILT: the build environment's hash (key.txt) */
	const char *wheel; /* K_BUILT: the wheel's file name */
	const char *wheel_sha; /* K_BUILT: its recorded sha256, or NULL */
	const char *pkg;   /* K_BUILDLOG: the project its name starts with */
	int64_t mtime_sec;  /* K_BUILDLOG */
	long mtime_nsec;
};

/* inodes with more than one link, met so far */
struct ino_rec {
	uint64_t dev, ino;
	uint64_t nlink; /* 0: a free slot */
	uint64_t seen;  /* links met inside the cache */
	uint32_t owner; /* index + 1 of the first unpacked tree holding it, or 0 */
};

struct scan {
	const char *root;
	struct em_dir *root_dir;
	struct em_arena a;
	struct entry *v;
	size_t n, cap;
	struct ino_rec *slots;
	size_t nslots, nused; /* nslots: a power of two, or 0 */
	struct em_buf where;  /* scratch: root/rel for messages */
};

static const char *where_of(struct scan *s, const char *rel)
{
	em_buf_reset(&s->where);
	em_buf_addf(&s->where, "%s/%s", s->root, rel);
	return s->where.err ? s->root : s->where.ptr;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n > m && !memcmp(s + n - m, suffix, m);
}

static bool is_leftover_name(const char *n)
{
	return strstr(n, ".tmp-") != NULL;
}

/* ---- inodes ---- */

static size_t ino_hash(uint64_t dev, uint64_t ino)
{
	uint64_t h = (ino ^ (dev * 0x9e3779b97f4a7c15ull)) * 0xff51afd7ed558ccdull;
	return (size_t)(h ^ (h >> 32));
}

static struct ino_rec *ino_slot(struct ino_rec *slots, size_t nslots, uint64_t dev, uint64_t ino)
{
	size_t mask = nslots - 1;
	for (size_t i = ino_hash(dev, ino) & mask;; i = (i + 1) & mask)
		if (!slots[i].nlink || (slots[i].dev == dev && slots[i].ino == ino))
			return &slots[i];
}

/* The record of (dev, ino), new (nlink 0) when not met before; NULL when
 * out of memory. */
static struct ino_rec *ino_get(struct scan *s, uint64_t dev, uint64_t ino)
{
	if ((s->nused + 1) * 2 > s->nslots) {
		size_t ncap = s->nslots ? s->nslots * 2 : 1024;
		struct ino_rec *ns = calloc(ncap, sizeof *ns);
		if (!ns)
			return NULL;
		for (size_t i = 0; i < s->nslots; i++)
			if (s->slots[i].nlink)
				*ino_slot(ns, ncap, s->slots[i].dev, s->slots[i].ino) = s->slots[i];
		free(s->slots);
		s->slots = ns;
		s->nslots = ncap;
	}
	return ino_slot(s->slots, s->nslots, dev, ino);
}

/* Count one inode met in entry idx. */
static int account(struct scan *s, size_t idx, const struct em_stat *st, struct em_error *e)
{
	uint64_t bytes = st->blocks * 512u;
	if (st->type == EM_FT_DIR || st->nlink <= 1) {
		s->v[idx].bytes += bytes;
		return 0;
	}
	struct ino_rec *r = ino_get(s, st->dev, st->ino);
	if (!r)
		return em_err_nomem(e);
	if (!r->nlink) {
		r->dev = st->dev;
		r->ino = st->ino;
		r->nlink = st->nlink;
		s->nused++;
		s->v[idx].bytes += bytes;
	}
	/* a build environment's links are uses, as a venv's */
	if (s->v[idx].kind != K_BUILDENV)
		r->seen++;
	if (!r->owner && s->v[idx].kind == K_UNPACKED)
		r->owner = (uint32_t)idx + 1;
	return 0;
}

/* ---- entries ---- */

static int add_entry(struct scan *s, enum kind kind, const char *dir, const char *name,
		     size_t *idx, struct em_error *e)
{
	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 64;
		if (ncap > UINT32_MAX - 1)
			return em_err(e, EM_ELIMIT, s->root, "more than %u entries in the cache",
				      (unsigned)(UINT32_MAX - 1));
		struct entry *nv = realloc(s->v, ncap * sizeof *nv);
		if (!nv)
			return em_err_nomem(e);
		s->v = nv;
		s->cap = ncap;
	}
	const char *rel = em_arena_printf(&s->a, "%s/%s", dir, name);
	if (!rel)
		return em_err_nomem(e);
	struct entry *en = &s->v[s->n];
	memset(en, 0, sizeof *en);
	en->rel = rel;
	en->kind = kind;
	*idx = s->n++;
	return 0;
}

/* ---- walking a tree ---- */

struct level {
	char *names; /* NUL-separated */
	size_t len, pos;
	uint64_t dev, ino;
};

/* Every name in the folder d but "." and "..": 0 or an errno. */
static int read_names(struct em_dir *d, struct level *l)
{
	struct em_dirlist *dl = em_dirlist_of(d);
	if (!dl)
		return errno;
	struct em_buf b = EM_BUF_INIT;
	int err = 0;
	for (;;) {
		errno = 0;
		const char *name = em_dirlist_next(dl);
		if (!name) {
			err = errno;
			break;
		}
		em_buf_add(&b, name, strlen(name) + 1);
	}
	em_dirlist_close(dl);
	if (!err && b.err)
		err = ENOMEM;
	if (err) {
		em_buf_release(&b);
		return err;
	}
	l->names = em_buf_detach(&b, &l->len);
	if (!l->names)
		return ENOMEM;
	l->pos = 0;
	return 0;
}

static int push_level(struct level **st, size_t *n, size_t *cap, struct em_dir *d,
		      const struct em_stat *sb)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct level *ns = realloc(*st, ncap * sizeof *ns);
		if (!ns)
			return ENOMEM;
		*st = ns;
		*cap = ncap;
	}
	struct level *l = &(*st)[*n];
	memset(l, 0, sizeof *l);
	int err = read_names(d, l);
	if (err)
		return err;
	l->dev = sb->dev;
	l->ino = sb->ino;
	(*n)++;
	return 0;
}

/* The folder name in d, opened without following a link, when it is
 * still the one lstat saw (st): NULL when it is gone or was replaced
 * meanwhile (*gone), or when it cannot be opened (errno). */
static struct em_dir *open_same_dir(struct em_dir *d, const char *name, const struct em_stat *st,
				    bool *gone, struct em_stat *now)
{
	*gone = false;
	struct em_dir *sub = em_dir_openat(d, name, EM_OPEN_NOFOLLOW);
	if (!sub) {
		*gone = errno == ENOENT || errno == ENOTDIR || errno == ELOOP;
		return NULL;
	}
	if (em_dir_fstat(sub, now) != 0 || now->dev != st->dev || now->ino != st->ino) {
		em_dir_close(sub);
		*gone = true;
		return NULL;
	}
	return sub;
}

/* Count everything below the folder d (owned: closed here) whose own stat
 * is top, for entry idx; *files counts what is not a folder. */
static int walk(struct scan *s, size_t idx, struct em_dir *d, const struct em_stat *top,
		uint64_t *files, struct em_error *e)
{
	struct level *st = NULL;
	size_t n = 0, cap = 0;
	const char *rel = s->v[idx].rel;
	int err = push_level(&st, &n, &cap, d, top);
	int rc = 0;
	while (!err && n) {
		struct level *l = &st[n - 1];
		if (l->pos >= l->len) {
			free(l->names);
			n--;
			if (!n)
				break;
			/* back up to where we came from, unless another process
			 * moved the tree meanwhile: then stop counting it */
			struct em_dir *up = em_dir_openat(d, "..", 0);
			struct em_stat ust;
			if (!up || em_dir_fstat(up, &ust) != 0 || ust.dev != st[n - 1].dev ||
			    ust.ino != st[n - 1].ino) {
				em_dir_close(up);
				break;
			}
			em_dir_close(d);
			d = up;
			continue;
		}
		const char *name = l->names + l->pos;
		l->pos += strlen(name) + 1;
		struct em_stat sb;
		if (em_dir_lstat(d, name, &sb) != 0) {
			if (errno == ENOENT)
				continue;
			rc = em_err_sys(e, errno, where_of(s, rel), "cannot inspect an entry inside");
			break;
		}
		if ((rc = account(s, idx, &sb, e)))
			break;
		if (sb.type != EM_FT_DIR) {
			(*files)++;
			continue;
		}
		bool gone;
		struct em_stat sst;
		struct em_dir *sub = open_same_dir(d, name, &sb, &gone, &sst);
		if (!sub) {
			if (gone)
				continue; /* replaced meanwhile */
			rc = em_err_sys(e, errno, where_of(s, rel), "cannot open a folder inside");
			break;
		}
		em_dir_close(d);
		d = sub;
		err = push_level(&st, &n, &cap, d, &sst);
	}
	if (err)
		rc = err == ENOMEM ? em_err_nomem(e)
				   : em_err_sys(e, err, where_of(s, rel), "cannot read a folder inside");
	for (size_t i = 0; i < n; i++)
		free(st[i].names);
	free(st);
	em_dir_close(d);
	return rc;
}

/* Count entry idx: name in the folder pd, whose lstat is st; sub is the
 * entry's folder when the caller opened it already (owned), else NULL. */
static int walk_entry(struct scan *s, size_t idx, struct em_dir *pd, const char *name,
		      const struct em_stat *st, struct em_dir *sub, uint64_t *files,
		      struct em_error *e)
{
	if (st->type != EM_FT_DIR) {
		em_dir_close(sub);
		(*files)++;
		return account(s, idx, st, e);
	}
	struct em_stat top;
	if (sub) {
		if (em_dir_fstat(sub, &top) != 0 || top.dev != st->dev || top.ino != st->ino) {
			em_dir_close(sub);
			return 0;
		}
	} else {
		bool gone;
		if (!(sub = open_same_dir(pd, name, st, &gone, &top)))
			return gone ? 0 /* gone or replaced meanwhile */
				    : em_err_sys(e, errno, where_of(s, s->v[idx].rel),
						 "cannot open the folder");
	}
	int rc = account(s, idx, &top, e);
	if (rc) {
		em_dir_close(sub);
		return rc;
	}
	return walk(s, idx, sub, &top, files, e);
}

/* Open the folder <root>/name and read its names: *d is NULL when it does
 * not exist. */
static int open_listing(struct scan *s, const char *name, struct em_dir **d, struct level *l,
			struct em_error *e)
{
	memset(l, 0, sizeof *l);
	*d = em_dir_openat(s->root_dir, name, EM_OPEN_NOFOLLOW);
	if (!*d) {
		int err = errno;
		if (err == ENOENT)
			return 0;
		struct em_stat st;
		if ((err == ELOOP || err == ENOTDIR) &&
		    em_dir_lstat(s->root_dir, name, &st) == 0 && st.type == EM_FT_LINK)
			return em_err(e, EM_EINVAL, where_of(s, name),
				      "is a symbolic link (links inside the cache are not followed)");
		if (err == ENOTDIR || err == ELOOP)
			return em_err(e, EM_EINVAL, where_of(s, name), "is not a folder");
		return em_err_sys(e, err, where_of(s, name), "cannot open the folder");
	}
	int err = read_names(*d, l);
	if (err) {
		em_dir_close(*d);
		*d = NULL;
		return err == ENOMEM ? em_err_nomem(e)
				     : em_err_sys(e, err, where_of(s, name), "cannot read the folder");
	}
	return 0;
}

static const char *next_name(struct level *l)
{
	if (l->pos >= l->len)
		return NULL;
	const char *n = l->names + l->pos;
	l->pos += strlen(n) + 1;
	return n;
}

/* What to do with one entry of a listed folder d: name, whose lstat is st. */
typedef int (*entry_fn)(struct scan *s, struct em_dir *d, const char *name,
			const struct em_stat *st, const void *ctx, struct em_error *e);

/* Call one for every name of l (the listing of d, <root>/rel), each
 * lstat'ed first; a name gone meanwhile is skipped. */
static int each_entry(struct scan *s, struct em_dir *d, struct level *l, const char *rel,
		      entry_fn one, const void *ctx, struct em_error *e)
{
	int rc = 0;
	for (const char *name; !rc && (name = next_name(l));) {
		struct em_stat st;
		if (em_dir_lstat(d, name, &st) != 0) {
			if (errno == ENOENT)
				continue;
			rc = em_err_sys(e, errno, where_of(s, rel), "cannot inspect an entry of");
			break;
		}
		rc = one(s, d, name, &st, ctx, e);
	}
	return rc;
}

/* each_entry over the folder <root>/sub, when there is one. */
static int scan_listing(struct scan *s, const char *sub, entry_fn one, const void *ctx,
			struct em_error *e)
{
	struct em_dir *d;
	struct level l;
	int rc = open_listing(s, sub, &d, &l, e);
	if (rc || !d)
		return rc;
	rc = each_entry(s, d, &l, sub, one, ctx, e);
	free(l.names);
	em_dir_close(d);
	return rc;
}

/* An entry of wheels/<sha>/ (ctx: the index of that folder's entry). */
static int wheel_dir_entry(struct scan *s, struct em_dir *d, const char *c,
			   const struct em_stat *cst, const void *ctx, struct em_error *e)
{
	size_t di = *(const size_t *)ctx;
	if (!strcmp(c, ".lock") && cst->type == EM_FT_FILE) {
		uint64_t before = s->v[di].bytes;
		int rc = account(s, di, cst, e);
		s->v[di].has_lock = true;
		s->v[di].lock_bytes = s->v[di].bytes - before;
		return rc;
	}
	enum kind k = K_TMP;
	if (cst->type == EM_FT_FILE && !is_leftover_name(c))
		k = ends_with(c, ".part") ? K_PART : K_WHEEL;
	size_t ci;
	uint64_t files = 0;
	int rc = add_entry(s, k, s->v[di].rel, c, &ci, e);
	if (rc)
		return rc;
	s->v[ci].dir = (uint32_t)di + 1;
	if (k == K_PART)
		s->v[di].part = true;
	if (k == K_WHEEL)
		s->v[di].complete = true;
	return walk_entry(s, ci, d, c, cst, NULL, &files, e);
}

/* The entries of one wheels/<sha>/ folder, name in pd, whose lstat is
 * st. */
static int scan_wheel_dir(struct scan *s, struct em_dir *pd, const char *name,
			  const struct em_stat *st, struct em_error *e)
{
	struct em_dir *d = em_dir_openat(pd, name, EM_OPEN_NOFOLLOW);
	if (!d) {
		int err = errno;
		if (err == ENOENT || err == ENOTDIR || err == ELOOP)
			return 0; /* gone or replaced meanwhile */
		const char *rel = em_arena_printf(&s->a, "wheels/%s", name);
		return rel ? em_err_sys(e, err, where_of(s, rel), "cannot open the folder")
			   : em_err_nomem(e);
	}
	size_t di;
	struct level l = { 0 };
	int rc = add_entry(s, K_WHEELDIR, "wheels", name, &di, e);
	if (!rc)
		rc = account(s, di, st, e);
	if (!rc) {
		int err = read_names(d, &l);
		if (err)
			rc = err == ENOMEM ? em_err_nomem(e)
					   : em_err_sys(e, err, where_of(s, s->v[di].rel),
							"cannot read the folder");
	}
	if (!rc)
		rc = each_entry(s, d, &l, s->v[di].rel, wheel_dir_entry, &di, e);
	free(l.names);
	em_dir_close(d);
	return rc;
}

/* An entry of wheels/: a wheels/<sha>/ folder, else a leftover. */
static int wheels_entry(struct scan *s, struct em_dir *d, const char *name,
			const struct em_stat *st, const void *ctx, struct em_error *e)
{
	(void)ctx;
	if (st->type == EM_FT_DIR && !is_leftover_name(name))
		return scan_wheel_dir(s, d, name, st, e);
	size_t idx;
	uint64_t files = 0;
	int rc = add_entry(s, K_TMP, "wheels", name, &idx, e);
	if (!rc)
		rc = walk_entry(s, idx, d, name, st, NULL, &files, e);
	return rc;
}

/* unpacked/, pages/ or tmp/ (ctx: the folder's name, then its kind): one
 * entry per name in it */
struct top_ctx {
	const char *sub;
	enum kind kind;
};

static int top_entry(struct scan *s, struct em_dir *d, const char *name, const struct em_stat *st,
		     const void *ctx, struct em_error *e)
{
	const struct top_ctx *t = ctx;
	enum kind k = t->kind;
	struct em_dir *sub = NULL;
	if (t->kind == K_UNPACKED) {
		/* complete: a folder holding the mark, not a *.tmp-* one */
		k = K_TMP;
		if (st->type == EM_FT_DIR && !is_leftover_name(name))
			sub = em_dir_openat(d, name, EM_OPEN_NOFOLLOW);
		struct em_stat m;
		if (sub && em_dir_lstat(sub, EM_UNPACKED_MARK, &m) == 0 && m.type == EM_FT_FILE)
			k = K_UNPACKED;
	}
	size_t idx;
	uint64_t files = 0;
	int rc = add_entry(s, k, t->sub, name, &idx, e);
	if (!rc)
		rc = walk_entry(s, idx, d, name, st, sub, &files, e);
	else
		em_dir_close(sub);
	if (!rc)
		s->v[idx].files = files;
	return rc;
}

static int scan_wheels(struct scan *s, struct em_error *e)
{
	return scan_listing(s, "wheels", wheels_entry, NULL, e);
}

static int scan_top(struct scan *s, const char *sub, enum kind kind, struct em_error *e)
{
	struct top_ctx t = { sub, kind };
	return scan_listing(s, sub, top_entry, &t, e);
}

/* ---- the build folders ---- */

/* The text of the regular file name in the folder d, at most max bytes,
 * or NULL. */
static char *read_small(struct scan *s, struct em_dir *d, const char *name, size_t max)
{
	int fd = em_dir_open_file(d, name, EM_OPEN_READ | EM_OPEN_NOFOLLOW, 0);
	if (fd < 0)
		return NULL;
	struct em_stat st;
	char *buf = NULL;
	if (em_os_fstat(fd, &st) == 0 && st.type == EM_FT_FILE && st.size <= max)
		buf = em_arena_alloc(&s->a, (size_t)st.size + 1);
	size_t len = 0;
	while (buf && len < (size_t)st.size) {
		ssize_t r = em_os_read(fd, buf + len, (size_t)st.size - len);
		if (r <= 0)
			buf = NULL;
		else
			len += (size_t)r;
	}
	if (buf)
		buf[len] = '\0';
	(void)em_os_close(fd); /* read only: the close has nothing to report */
	return buf;
}

static bool is_hex64(const char *p, size_t n)
{
	if (n != 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return false;
	return true;
}

/* The value of the line "field VALUE" of a key.txt when it is a sha256,
 * else NULL. */
static const char *key_field(struct scan *s, const char *text, const char *field)
{
	size_t fl = strlen(field);
	for (const char *p = text; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		if (n > fl + 1 && !memcmp(p, field, fl) && p[fl] == ' ' &&
		    is_hex64(p + fl + 1, n - fl - 1))
			return em_arena_strndup(&s->a, p + fl + 1, n - fl - 1);
		p = nl ? nl + 1 : NULL;
	}
	return NULL;
}

/* Whether the folder d holds the regular file name. */
static bool has_file(struct em_dir *d, const char *name)
{
	struct em_stat st;
	return em_dir_lstat(d, name, &st) == 0 && st.type == EM_FT_FILE;
}

/* The one wheel in a built/<key>/ folder d, or NULL. */
static const char *built_wheel(struct scan *s, struct em_dir *d)
{
	struct level l = { 0 };
	if (read_names(d, &l))
		return NULL;
	const char *found = NULL;
	int n = 0;
	for (const char *c; (c = next_name(&l));)
		if (ends_with(c, ".whl") && !is_leftover_name(c) && has_file(d, c)) {
			found = c;
			n++;
		}
	char *r = n == 1 ? em_arena_strdup(&s->a, found) : NULL;
	free(l.names);
	return r;
}

/* Classify the folder d (a build entry of kind k) for entry en: whether
 * it is complete, with what it names. */
static bool build_entry_complete(struct scan *s, enum kind k, struct em_dir *d, struct entry *en)
{
	if (k == K_BUILDENV)
		return has_file(d, EM_BUILD_ENV_MARK);
	char *key = read_small(s, d, EM_BUILT_KEY_NAME, 64 * 1024);
	if (!key || !(en->sdist = key_field(s, key, "sdist")))
		return false;
	if (k == K_BUILDMETA)
		return has_file(d, "METADATA");
	if (!(en->env = key_field(s, key, "build-env")) || !(en->wheel = built_wheel(s, d)))
		return false;
	/* "HEX  NAME.whl": the hash of that wheel */
	char *rec = read_small(s, d, EM_BUILT_SHA256_NAME, 4096);
	if (rec && strlen(rec) > 66 && is_hex64(rec, 64) && !strncmp(rec + 64, "  ", 2) &&
	    !strncmp(rec + 66, en->wheel, strlen(en->wheel)) &&
	    (rec[66 + strlen(en->wheel)] == '\n' || !rec[66 + strlen(en->wheel)]))
		en->wheel_sha = em_arena_strndup(&s->a, rec, 64);
	return true;
}

/* An entry of build-envs/, built/, build-metadata/ (one folder per entry)
 * or build-logs/ (one file per entry); ctx as top_entry's. */
static int build_entry(struct scan *s, struct em_dir *d, const char *name,
		       const struct em_stat *st, const void *ctx, struct em_error *e)
{
	const struct top_ctx *t = ctx;
	size_t idx;
	uint64_t files = 0;
	int rc = add_entry(s, K_TMP, t->sub, name, &idx, e);
	if (rc)
		return rc;
	struct entry *en = &s->v[idx];
	struct em_dir *sub = NULL;
	if (t->kind == K_BUILDLOG) {
		if (st->type == EM_FT_FILE && ends_with(name, ".log") && !is_leftover_name(name)) {
			en->kind = K_BUILDLOG;
			const char *dot = strchr(name, '.');
			en->pkg = em_arena_strndup(&s->a, name, (size_t)(dot - name));
			en->mtime_sec = st->mtime_sec;
			en->mtime_nsec = st->mtime_nsec;
			if (!en->pkg)
				rc = em_err_nomem(e);
		}
	} else if (st->type == EM_FT_DIR && !is_leftover_name(name)) {
		sub = em_dir_openat(d, name, EM_OPEN_NOFOLLOW);
		if (sub && build_entry_complete(s, t->kind, sub, en))
			en->kind = t->kind;
	}
	if (!rc)
		rc = walk_entry(s, idx, d, name, st, sub, &files, e);
	else
		em_dir_close(sub);
	return rc;
}

static int scan_build(struct scan *s, const char *sub, enum kind kind, struct em_error *e)
{
	struct top_ctx t = { sub, kind };
	return scan_listing(s, sub, build_entry, &t, e);
}

static void scan_free(struct scan *s)
{
	em_dir_close(s->root_dir);
	s->root_dir = NULL;
	free(s->v);
	free(s->slots);
	em_buf_release(&s->where);
	em_arena_release(&s->a);
}

static int scan_open(struct scan *s, const struct em_cache *c, struct em_error *e)
{
	static const struct em_buf empty = EM_BUF_INIT;
	memset(s, 0, sizeof *s);
	s->root_dir = NULL;
	s->where = empty;
	em_arena_init(&s->a);
	if (!c || !c->root || !*c->root)
		return em_err(e, EM_EUSAGE, NULL, "the cache is not open");
	s->root = c->root;
	s->root_dir = em_dir_open(c->root, 0);
	if (!s->root_dir) {
		int err = errno;
		if (err == ENOENT)
			return em_err(e, EM_ENOTFOUND, c->root, "the cache folder does not exist");
		if (err == ENOTDIR)
			return em_err(e, EM_EINVAL, c->root, "the cache folder is not a folder");
		return em_err_sys(e, err, c->root, "cannot open the cache folder");
	}
	return 0;
}

static int scan_cache(struct scan *s, const struct em_cache *c, struct em_error *e)
{
	int rc = scan_open(s, c, e);
	if (!rc)
		rc = scan_wheels(s, e);
	if (!rc)
		rc = scan_top(s, "unpacked", K_UNPACKED, e);
	if (!rc)
		rc = scan_top(s, "pages", K_PAGES, e);
	if (!rc)
		rc = scan_top(s, "tmp", K_TMP, e);
	if (!rc)
		rc = scan_build(s, "build-envs", K_BUILDENV, e);
	if (!rc)
		rc = scan_build(s, "built", K_BUILT, e);
	if (!rc)
		rc = scan_build(s, "build-metadata", K_BUILDMETA, e);
	if (!rc)
		rc = scan_build(s, "build-logs", K_BUILDLOG, e);
	/* a file with links the scan did not meet: a venv links to its tree */
	for (size_t i = 0; !rc && i < s->nslots; i++) {
		const struct ino_rec *r = &s->slots[i];
		if (r->nlink && r->owner && r->nlink > r->seen)
			s->v[r->owner - 1].in_use = true;
	}
	return rc;
}

/* ---- counting ---- */

static void add_usage(struct em_cache_usage *u, uint64_t entries, uint64_t bytes)
{
	u->entries += entries;
	u->bytes += bytes;
}

static void tally(const struct entry *en, struct em_cache_info *out)
{
	switch (en->kind) {
	case K_WHEEL:
		add_usage(&out->wheels, 1, en->bytes);
		break;
	case K_PART:
		add_usage(&out->partial, 1, en->bytes);
		break;
	case K_WHEELDIR:
		/* the folder and its .lock go with what it holds */
		if (en->complete)
			add_usage(&out->wheels, 0, en->bytes);
		else if (en->part)
			add_usage(&out->partial, 0, en->bytes);
		else
			add_usage(&out->tmp, 1, en->bytes);
		break;
	case K_UNPACKED:
		add_usage(&out->unpacked, 1, en->bytes);
		if (en->in_use)
			add_usage(&out->in_use, 1, en->bytes);
		break;
	case K_PAGES:
		add_usage(&out->pages, en->files, en->bytes);
		break;
	case K_BUILDENV:
		add_usage(&out->build_envs, 1, en->bytes);
		break;
	case K_BUILT:
		add_usage(&out->built, 1, en->bytes);
		break;
	case K_BUILDMETA:
		add_usage(&out->build_metadata, 1, en->bytes);
		break;
	case K_BUILDLOG:
		add_usage(&out->build_logs, 1, en->bytes);
		break;
	case K_TMP:
		add_usage(&out->tmp, 1, en->bytes);
		break;
	}
}

int em_cache_info(const struct em_cache *c, struct em_cache_info *out, struct em_error *e)
{
	memset(out, 0, sizeof *out);
	struct scan s;
	int rc = scan_cache(&s, c, e);
	for (size_t i = 0; !rc && i < s.n; i++)
		tally(&s.v[i], out);
	scan_free(&s);
	if (rc)
		memset(out, 0, sizeof *out);
	return rc;
}

/* ---- removing ---- */

/* Open the folder rel below the root, following no link on the way:
 * the folder, or NULL with errno set. */
static struct em_dir *open_rel_dir(struct scan *s, const char *rel)
{
	struct em_dir *d = em_dir_openat(s->root_dir, ".", 0);
	while (d && *rel) {
		const char *slash = strchr(rel, '/');
		size_t n = slash ? (size_t)(slash - rel) : strlen(rel);
		char comp[NAME_MAX + 1];
		if (n > NAME_MAX) {
			em_dir_close(d);
			errno = ENAMETOOLONG;
			return NULL;
		}
		memcpy(comp, rel, n);
		comp[n] = '\0';
		struct em_dir *sub = em_dir_openat(d, comp, EM_OPEN_NOFOLLOW);
		em_dir_close(d); /* keeps errno */
		d = sub;
		rel += n + (slash ? 1 : 0);
	}
	return d;
}

/* Remove entry idx: a file is unlinked; a folder is renamed into tmp/ first
 * (unless it is there already), so nobody finds it half removed where a
 * complete one belongs, then removed. 0 when removed, 1 when it was gone
 * already, or an error. */
static int remove_entry(struct scan *s, size_t idx, struct em_error *e)
{
	const char *rel = s->v[idx].rel;
	const char *slash = strrchr(rel, '/');
	const char *base = slash + 1;
	char *parent = em_arena_strndup(&s->a, rel, (size_t)(slash - rel));
	char *abs = em_arena_printf(&s->a, "%s/%s", s->root, rel);
	if (!parent || !abs)
		return em_err_nomem(e);
	struct em_dir *pd = open_rel_dir(s, parent);
	if (!pd) {
		if (errno == ENOENT)
			return 1;
		return em_err_sys(e, errno, where_of(s, parent), "cannot open the folder");
	}
	int rc = 0;
	struct em_stat st;
	if (em_dir_lstat(pd, base, &st) != 0) {
		rc = errno == ENOENT ? 1 : em_err_sys(e, errno, abs, "cannot inspect");
	} else if (st.type != EM_FT_DIR) {
		if (em_dir_unlink(pd, base) != 0)
			rc = errno == ENOENT ? 1 : em_err_sys(e, errno, abs, "cannot remove");
	} else if (!strcmp(parent, "tmp")) {
		rc = em_remove_tree(abs, e);
	} else {
		/* unpacked/<sha> -> tmp/prune-<sha>-<pid>; others keep their
		 * folder in the name: tmp/prune-wheels-<sha>-<pid> */
		char *aside = em_arena_printf(&s->a, "prune-%s-%ld",
					      !strcmp(parent, "unpacked") ? base : rel, em_os_pid());
		struct em_dir *td = NULL;
		if (!aside)
			rc = em_err_nomem(e);
		for (char *p = aside; p && *p; p++)
			if (*p == '/')
				*p = '-';
		if (aside && strlen(aside) > NAME_MAX) /* a long name in wheels/<sha>/ */
			aside = em_arena_printf(&s->a, "prune-%zu-%ld", idx, em_os_pid());
		if (!rc && !aside)
			rc = em_err_nomem(e);
		if (!rc && em_dir_mkdir(s->root_dir, "tmp", 0755) != 0 && errno != EEXIST)
			rc = em_err_sys(e, errno, where_of(s, "tmp"), "cannot create the folder");
		if (!rc && !(td = open_rel_dir(s, "tmp")))
			rc = em_err_sys(e, errno, where_of(s, "tmp"), "cannot open the folder");
		char *aside_abs = rc ? NULL : em_arena_printf(&s->a, "%s/tmp/%s", s->root, aside);
		if (!rc && !aside_abs)
			rc = em_err_nomem(e);
		/* moving a folder to another parent rewrites its "..": it
		 * must be writable (unpacked trees are read-only); when it
		 * cannot be made so, the rename fails and says why */
		if (!rc && (st.mode & 0700) != 0700)
			EM_IGNORE(em_dir_chmod(pd, base, st.mode | 0700));
		for (int tries = 0; !rc; tries++) {
			if (em_dir_rename(pd, base, td, aside) == 0) {
				rc = em_remove_tree(aside_abs, e);
				break;
			}
			int err = errno;
			if (err == ENOENT) {
				rc = 1;
			} else if (tries == 0 && (err == EEXIST || err == ENOTEMPTY ||
						  err == ENOTDIR || err == EISDIR)) {
				/* a leftover of an earlier run with our pid */
				rc = em_remove_tree(aside_abs, e);
			} else {
				rc = em_err(e, EM_EIO, abs, "cannot move it to '%s' to remove it: %s",
					    aside_abs, strerror(err));
			}
		}
		em_dir_close(td);
	}
	em_dir_close(pd);
	return rc;
}

/* Let a wheels/<sha>/.lock go: closing it releases the lock, and it was
 * opened read-only, so the close has nothing to report. */
static void unlock_wheel(int fd)
{
	(void)em_os_close(fd);
}

/* Whether another process holds wheels/<sha>/.lock (a download runs); when
 * not, *lockfd holds it for us until the caller closes it. */
static bool wheel_busy(struct scan *s, size_t di, int *lockfd)
{
	*lockfd = -1;
	if (!s->v[di].has_lock)
		return false;
	struct em_dir *d = open_rel_dir(s, s->v[di].rel);
	if (!d)
		return errno != ENOENT;
	int fd = em_dir_open_file(d, ".lock", EM_OPEN_READ | EM_OPEN_NOFOLLOW, 0);
	em_dir_close(d); /* keeps errno */
	if (fd < 0)
		return errno != ENOENT; /* when in doubt, leave it */
	if (em_os_lock(fd, EM_FLOCK_EX | EM_FLOCK_NB) != 0) {
		unlock_wheel(fd);
		return true;
	}
	*lockfd = fd;
	return false;
}

/* wheels/<sha>/ (entry di) and its files (di + 1 .. end - 1): all of it
 * for clean; for prune its leftovers, or the whole folder when it holds no
 * complete download. Left alone while another process holds its .lock. */
static int remove_wheel_dir(struct scan *s, size_t di, size_t end, bool clean,
			    struct em_cache_info *removed, struct em_error *e)
{
	int lockfd;
	if (wheel_busy(s, di, &lockfd))
		return 0;
	int rc = 0;
	const struct entry *d = &s->v[di];
	if (clean || !d->complete) {
		rc = remove_entry(s, di, e);
		if (rc == 0)
			for (size_t i = di; i < end; i++)
				tally(&s->v[i], removed);
	} else {
		/* a finished download: its leftovers and its .lock go */
		for (size_t i = di + 1; i < end && !rc; i++) {
			if (s->v[i].kind == K_WHEEL)
				continue;
			int r = remove_entry(s, i, e);
			if (r < 0)
				rc = r;
			else if (r == 0)
				tally(&s->v[i], removed);
		}
		if (!rc && d->has_lock) {
			struct em_dir *ld = open_rel_dir(s, d->rel);
			if (ld && em_dir_unlink(ld, ".lock") == 0)
				add_usage(&removed->tmp, 0, d->lock_bytes);
			else if (errno != ENOENT)
				rc = em_err_sys(e, errno, where_of(s, d->rel), "cannot remove '.lock' in");
			em_dir_close(ld);
		}
	}
	if (lockfd >= 0)
		unlock_wheel(lockfd);
	return rc < 0 ? rc : 0;
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static bool kept(const char *const *keep, size_t nkeep, const char *sha)
{
	return nkeep && bsearch(&sha, keep, nkeep, sizeof *keep, cmp_str) != NULL;
}

/* a growing list of strings (malloc'd; the strings are the scan's) */
struct strs {
	const char **v;
	size_t n, cap;
};

static int strs_add(struct strs *l, const char *x)
{
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 64;
		const char **nv = realloc(l->v, ncap * sizeof *nv);
		if (!nv)
			return -1;
		l->v = nv;
		l->cap = ncap;
	}
	l->v[l->n++] = x;
	return 0;
}

/* sorted and unique, for kept() */
static void strs_sort(struct strs *l)
{
	if (!l->n)
		return;
	qsort(l->v, l->n, sizeof *l->v, cmp_str);
	size_t u = 0;
	for (size_t i = 0; i < l->n; i++)
		if (!u || strcmp(l->v[u - 1], l->v[i]))
			l->v[u++] = l->v[i];
	l->n = u;
}

/* newest first within each project */
static int cmp_log(const void *x, const void *y)
{
	const struct entry *a = *(const struct entry *const *)x;
	const struct entry *b = *(const struct entry *const *)y;
	int c = strcmp(a->pkg, b->pkg);
	if (c)
		return c;
	if (a->mtime_sec != b->mtime_sec)
		return a->mtime_sec > b->mtime_sec ? -1 : 1;
	if (a->mtime_nsec != b->mtime_nsec)
		return a->mtime_nsec > b->mtime_nsec ? -1 : 1;
	return strcmp(b->rel, a->rel);
}

/* Decide which build entries prune keeps (their keep flag), and add to
 * have the wheels unpacked trees can be rebuilt from (kept built wheels)
 * and, with use_keep, to xkeep what the kept builds need: the built
 * wheels' own hashes and the wheels of the build environments they name
 * (read from the environment's mark, the lock it was made from). */
static int keep_builds(struct scan *s, bool use_keep, const char *const *keep, size_t nkeep,
		       struct strs *have, struct strs *xkeep, struct em_error *e)
{
	struct strs envs = { 0 }, logs = { 0 };
	int rc = 0;
	for (size_t i = 0; !rc && i < s->n; i++) {
		struct entry *en = &s->v[i];
		if (en->kind == K_BUILDMETA)
			en->keep = !use_keep || kept(keep, nkeep, en->sdist);
		if (en->kind == K_BUILDLOG && strs_add(&logs, (const char *)en))
			rc = em_err_nomem(e);
		if (en->kind != K_BUILT)
			continue;
		en->keep = !use_keep || kept(keep, nkeep, en->sdist);
		if (!en->keep)
			continue;
		if (strs_add(&envs, en->env) ||
		    (en->wheel_sha && (strs_add(have, en->wheel_sha) || strs_add(xkeep, en->wheel_sha))))
			rc = em_err_nomem(e);
	}
	strs_sort(&envs);
	for (size_t i = 0; !rc && i < s->n; i++) {
		struct entry *en = &s->v[i];
		if (en->kind != K_BUILDENV)
			continue;
		const char *hash = strrchr(en->rel, '/') + 1;
		en->keep = kept(envs.v, envs.n, hash);
		if (!en->keep || !use_keep)
			continue;
		/* the wheels it was made from stay, so it can be made again */
		struct em_dir *d = open_rel_dir(s, en->rel);
		char *text = d ? read_small(s, d, EM_BUILD_ENV_MARK, EM_TOML_MAX_LEN) : NULL;
		em_dir_close(d);
		struct em_lock l;
		if (!text || em_lock_parse(&s->a, text, strlen(text), en->rel, &l, NULL))
			continue;
		for (uint32_t p = 0; !rc && p < l.npackages; p++)
			for (uint32_t w = 0; !rc && w < l.packages[p].nwheels; w++)
				if (l.packages[p].wheels[w].sha256 &&
				    strs_add(xkeep, l.packages[p].wheels[w].sha256))
					rc = em_err_nomem(e);
	}
	/* the newest log of each project */
	if (!rc && logs.n) {
		qsort(logs.v, logs.n, sizeof *logs.v, cmp_log);
		for (size_t i = 0; i < logs.n; i++) {
			struct entry *en = (struct entry *)logs.v[i];
			en->keep = !i || strcmp(((const struct entry *)logs.v[i - 1])->pkg, en->pkg);
		}
	}
	free(envs.v);
	free(logs.v);
	return rc;
}

/* with use_keep, the downloads and unpacked trees of every wheel not in
 * keep (sorted) go too (cache prune --keep N), and the builds of sdists not
 * in it */
static int remove_entries(const struct em_cache *c, bool clean, bool use_keep,
			  const char *const *keep, size_t nkeep, struct em_cache_info *removed,
			  struct em_error *e)
{
	struct em_cache_info local;
	if (!removed)
		removed = &local;
	memset(removed, 0, sizeof *removed);
	struct scan s;
	int rc = scan_cache(&s, c, e);
	/* the wheels unpacked trees can be rebuilt from: wheels/<sha>/ names
	 * and kept built wheels; with use_keep, keep and what kept builds need */
	struct strs have = { 0 }, xkeep = { 0 };
	if (!rc && !clean) {
		for (size_t i = 0; !rc && i < s.n; i++)
			if (s.v[i].kind == K_WHEELDIR && s.v[i].complete &&
			    strs_add(&have, s.v[i].rel + strlen("wheels/")))
				rc = em_err_nomem(e);
		for (size_t i = 0; !rc && use_keep && i < nkeep; i++)
			if (strs_add(&xkeep, keep[i]))
				rc = em_err_nomem(e);
		if (!rc)
			rc = keep_builds(&s, use_keep, keep, nkeep, &have, &xkeep, e);
		strs_sort(&have);
		strs_sort(&xkeep);
	}
	for (size_t i = 0; !rc && i < s.n; i++) {
		const struct entry *en = &s.v[i];
		int r = 1;
		switch (en->kind) {
		case K_WHEELDIR: {
			size_t end = i + 1;
			while (end < s.n && s.v[end].dir == i + 1)
				end++;
			bool drop = use_keep && s.v[i].complete &&
				    !kept(xkeep.v, xkeep.n, s.v[i].rel + strlen("wheels/"));
			rc = remove_wheel_dir(&s, i, end, clean || drop, removed, e);
			i = end - 1;
			continue;
		}
		case K_WHEEL:
		case K_PART:
			continue; /* with their folder */
		case K_UNPACKED:
			if (!clean) {
				const char *sha = en->rel + strlen("unpacked/");
				bool drop = use_keep && !kept(xkeep.v, xkeep.n, sha);
				/* a tree kept must be a good one: one damaged through a
				 * venv's hard link goes (the next apply unpacks it again) */
				char *abs = em_arena_printf(&s.a, "%s/%s", s.root, en->rel);
				if ((en->in_use || (!drop && !kept(have.v, have.n, sha))) &&
				    (!abs || em_wheel_unpacked_check(abs, NULL) != 1))
					continue;
			}
			r = remove_entry(&s, i, e);
			break;
		case K_BUILDENV:
		case K_BUILT:
		case K_BUILDMETA:
		case K_BUILDLOG:
			if (!clean && en->keep)
				continue;
			r = remove_entry(&s, i, e);
			break;
		case K_PAGES:
		case K_TMP:
			r = remove_entry(&s, i, e);
			break;
		}
		if (r < 0)
			rc = r;
		else if (r == 0)
			tally(en, removed);
	}
	free(have.v);
	free(xkeep.v);
	scan_free(&s);
	return rc;
}

int em_cache_clean(const struct em_cache *c, struct em_cache_info *removed, struct em_error *e)
{
	return remove_entries(c, true, false, NULL, 0, removed, e);
}

int em_cache_prune(const struct em_cache *c, struct em_cache_info *removed, struct em_error *e)
{
	return remove_entries(c, false, false, NULL, 0, removed, e);
}

int em_cache_prune_keep(const struct em_cache *c, const char *const *keep, size_t nkeep,
			struct em_cache_info *removed, struct em_error *e)
{
	for (size_t i = 1; i < nkeep; i++)
		if (strcmp(keep[i - 1], keep[i]) > 0)
			return em_err(e, EM_EUSAGE, NULL, "the keep-set is not sorted");
	return remove_entries(c, false, true, keep, nkeep, removed, e);
}

/* ---- checking built wheels ---- */

int em_cache_check_built(const struct em_cache *c, struct em_arena *a, bool drop,
			 struct em_cache_built_check **out, uint32_t *n, struct em_error *e)
{
	*out = NULL;
	*n = 0;
	struct scan s;
	int rc = scan_open(&s, c, e);
	if (!rc)
		rc = scan_build(&s, "built", K_BUILT, e);
	uint32_t k = 0;
	struct em_cache_built_check *v = NULL;
	if (!rc && !(v = em_arena_array(a, s.n ? s.n : 1, sizeof *v)))
		rc = em_err_nomem(e);
	int first = 0; /* the first entry that could not be checked or dropped */
	for (size_t i = 0; !rc && i < s.n; i++) {
		const struct entry *en = &s.v[i];
		if (en->kind != K_BUILT)
			continue;
		struct em_cache_built_check *x = &v[k++];
		memset(x, 0, sizeof *x);
		em_error_clear(&x->err);
		x->dir = em_arena_printf(a, "%s/%s", s.root, en->rel);
		x->wheel = em_arena_strdup(a, en->wheel);
		x->sha256 = en->wheel_sha ? em_arena_strdup(a, en->wheel_sha) : NULL;
		char *path = x->dir ? em_arena_printf(a, "%s/%s", x->dir, en->wheel) : NULL;
		if (!x->dir || !x->wheel || !path || (en->wheel_sha && !x->sha256)) {
			rc = em_err_nomem(e);
			break;
		}
		if (!x->sha256)
			continue; /* nothing recorded to check against */
		char hex[EM_SHA256_HEX_LEN + 1];
		if ((x->rc = em_sha256_file(path, hex, NULL, &x->err))) {
			if (!first)
				first = x->rc, *e = x->err;
			continue;
		}
		x->checked = true;
		x->got = em_arena_strdup(a, hex);
		if (!strcmp(hex, x->sha256))
			continue;
		x->damaged = true;
		em_err(&x->err, EM_EINVAL, path, "its sha256 is %s, the entry records %s", hex,
		       x->sha256);
		if (!drop)
			continue;
		struct em_error de;
		em_error_clear(&de);
		int r = remove_entry(&s, i, &de);
		if (r < 0) {
			x->rc = r;
			x->err = de;
			if (!first)
				first = r, *e = de;
		} else {
			x->dropped = true;
		}
	}
	scan_free(&s);
	*out = v;
	*n = k;
	return rc ? rc : first;
}
