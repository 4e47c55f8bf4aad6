/* test_cache_admin.c - 'cache info|clean|prune' on a fake cache: counts and
 * bytes (each inode once), what prune keeps and removes, a download in
 * progress left alone, clean, links that must not be followed, trees deeper
 * than PATH_MAX, and errors */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#include "os/fs.h"
#include "install.h"

/* ---- building files ---- */

static char *tmpdir(void)
{
	char tpl[] = "/tmp/envmatrix-cache-admin.XXXXXX";
	char *d = mkdtemp(tpl);
	assert_non_null(d);
	return strdup(d);
}

static const char *path(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static const char *path(const char *fmt, ...)
{
	static char bufs[8][1024];
	static int next;
	char *b = bufs[next++ % 8];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(b, sizeof bufs[0], fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof bufs[0]);
	return b;
}

static bool exists(const char *p)
{
	struct stat st;
	return lstat(p, &st) == 0;
}

static void mkdirs(const char *p)
{
	struct em_error e = { 0 };
	if (em_mkdir_p(p, &e))
		fail_msg("%s: %s", e.where, e.msg);
}

static void mkfile(const char *p, size_t size, unsigned mode)
{
	char *dir = strdup(p);
	*strrchr(dir, '/') = '\0';
	mkdirs(dir);
	free(dir);
	int fd = open(p, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
	if (fd < 0)
		fail_msg("cannot create %s", p);
	char chunk[4096];
	memset(chunk, 'x', sizeof chunk);
	while (size) {
		size_t n = size < sizeof chunk ? size : sizeof chunk;
		assert_int_equal(write(fd, chunk, n), (ssize_t)n);
		size -= n;
	}
	close(fd);
	assert_int_equal(chmod(p, mode), 0);
}

static void hardlink(const char *from, const char *to)
{
	if (link(from, to) != 0)
		fail_msg("link %s %s: %s", from, to, strerror(errno));
}

static const char *sha(char c)
{
	static char s[6][65];
	static int next;
	char *b = s[next++ % 6];
	memset(b, c, 64);
	b[64] = '\0';
	return b;
}

/* ---- du: the expected bytes, each inode once ---- */

static struct {
	dev_t dev;
	ino_t ino;
} du_seen[4096];
static size_t du_nseen;
static uint64_t du_total;

static int du_one(const char *fpath, const struct stat *st, int flag, struct FTW *f)
{
	(void)fpath;
	(void)flag;
	(void)f;
	if (!S_ISDIR(st->st_mode) && st->st_nlink > 1) {
		for (size_t i = 0; i < du_nseen; i++)
			if (du_seen[i].dev == st->st_dev && du_seen[i].ino == st->st_ino)
				return 0;
		assert_true(du_nseen < sizeof du_seen / sizeof du_seen[0]);
		du_seen[du_nseen].dev = st->st_dev;
		du_seen[du_nseen].ino = st->st_ino;
		du_nseen++;
	}
	du_total += (uint64_t)st->st_blocks * 512u;
	return 0;
}

/* Bytes under p not met by an earlier du() since du_reset(). */
static uint64_t du(const char *p)
{
	du_total = 0;
	assert_int_equal(nftw(p, du_one, 16, FTW_PHYS), 0);
	return du_total;
}

static void du_reset(void)
{
	du_nseen = 0;
}

/* ---- the fake cache ---- */

struct fake {
	char *top;         /* the temp folder: cache/, outside/, venv/ */
	const char *root;  /* top/cache */
	struct em_cache c;
	struct em_cache_info want; /* what info should say */
	struct em_cache_info want_pruned;
};

#define A sha('a')
#define B sha('b')
#define C sha('c')
#define D sha('d')
#define E sha('e')
#define H sha('h')

static void build(struct fake *f)
{
	memset(f, 0, sizeof *f);
	f->top = tmpdir();
	f->root = strdup(path("%s/cache", f->top));
	const char *r = f->root, *t = f->top;
	f->c.root = f->root;
	f->c.lock_fd = -1;
	mkfile(path("%s/.lock", r), 0, 0644);

	/* outside the cache: what links point at, and a venv */
	mkfile(path("%s/outside/big", t), 1 << 20, 0644);
	mkdirs(path("%s/venv", t));

	/* wheels/: complete downloads (A with a stale .lock), a cut-short one */
	mkfile(path("%s/wheels/%s/foo-1.0-py3-none-any.whl", r, A), 10000, 0644);
	mkfile(path("%s/wheels/%s/.lock", r, A), 0, 0644);
	mkfile(path("%s/wheels/%s/bar-2.0-py3-none-any.whl.part", r, B), 5000, 0644);
	mkfile(path("%s/wheels/%s/.lock", r, B), 0, 0644);
	mkfile(path("%s/wheels/%s/baz-1.0-py3-none-any.whl", r, C), 3000, 0644);
	mkfile(path("%s/wheels/%s/qux-1.0-py3-none-any.whl", r, H), 3000, 0644);

	/* unpacked/A: complete, read-only, a venv links to one of its files */
	mkfile(path("%s/unpacked/%s/%s", r, A, EM_UNPACKED_MARK), 60, 0444);
	mkfile(path("%s/unpacked/%s/foo/__init__.py", r, A), 20000, 0444);
	mkfile(path("%s/unpacked/%s/foo/sub/mod.py", r, A), 7000, 0444);
	mkfile(path("%s/unpacked/%s/foo-1.0.dist-info/METADATA", r, A), 300, 0444);
	hardlink(path("%s/unpacked/%s/foo/__init__.py", r, A), path("%s/venv/__init__.py", t));
	/* unpacked/C and H: complete, no venv, their wheels are in wheels/,
	 * one file shared between them; C has links to outside the cache */
	mkfile(path("%s/unpacked/%s/%s", r, C, EM_UNPACKED_MARK), 60, 0444);
	mkfile(path("%s/unpacked/%s/baz/data.bin", r, C), 50000, 0444);
	mkfile(path("%s/unpacked/%s/baz/shared.bin", r, C), 9000, 0444);
	assert_int_equal(symlink(path("%s/outside", t), path("%s/unpacked/%s/baz/to-dir", r, C)), 0);
	assert_int_equal(symlink(path("%s/outside/big", t),
				 path("%s/unpacked/%s/baz/to-file", r, C)), 0);
	mkfile(path("%s/unpacked/%s/%s", r, H, EM_UNPACKED_MARK), 60, 0444);
	mkfile(path("%s/unpacked/%s/qux/own.bin", r, H), 1000, 0444);
	hardlink(path("%s/unpacked/%s/baz/shared.bin", r, C),
		 path("%s/unpacked/%s/qux/shared.bin", r, H));
	/* unpacked/D: complete, no venv, but no download to rebuild it from */
	mkfile(path("%s/unpacked/%s/%s", r, D, EM_UNPACKED_MARK), 60, 0444);
	mkfile(path("%s/unpacked/%s/d/x.py", r, D), 2000, 0444);
	/* leftovers: a tree without the mark, a *.tmp-* one (with a mark) */
	mkfile(path("%s/unpacked/%s/e/partial.py", r, E), 3000, 0444);
	mkfile(path("%s/unpacked/x.tmp-123/%s", r, EM_UNPACKED_MARK), 60, 0444);
	mkfile(path("%s/unpacked/x.tmp-123/f.py", r), 1000, 0444);
	/* tmp/: a stale tree, and a link to a download (counted once) */
	mkfile(path("%s/tmp/stale-1/sub/file", r), 4000, 0444);
	hardlink(path("%s/wheels/%s/foo-1.0-py3-none-any.whl", r, A),
		 path("%s/tmp/leftover.whl", r));
	/* pages/ */
	mkfile(path("%s/pages/ab/%s", r, sha('1')), 1500, 0644);
	mkfile(path("%s/pages/ab/%s", r, sha('2')), 2500, 0644);

	/* read-only folders, as the cache's unpacked trees have */
	assert_int_equal(chmod(path("%s/unpacked/%s/foo/sub", r, A), 0555), 0);
	assert_int_equal(chmod(path("%s/unpacked/%s/foo", r, A), 0555), 0);
	assert_int_equal(chmod(path("%s/unpacked/%s", r, A), 0555), 0);
	assert_int_equal(chmod(path("%s/unpacked/%s/baz", r, C), 0555), 0);
	assert_int_equal(chmod(path("%s/unpacked/%s", r, C), 0555), 0);
	assert_int_equal(chmod(path("%s/tmp/stale-1/sub", r), 0555), 0);

	/* what info should say: in the order the cache is read */
	struct em_cache_info *w = &f->want;
	du_reset();
	w->wheels.entries = 3;
	w->wheels.bytes = du(path("%s/wheels/%s", r, A)) + du(path("%s/wheels/%s", r, C)) +
			  du(path("%s/wheels/%s", r, H));
	w->partial.entries = 1;
	w->partial.bytes = du(path("%s/wheels/%s", r, B));
	uint64_t ua = du(path("%s/unpacked/%s", r, A));
	uint64_t uch = du(path("%s/unpacked/%s", r, C)) + du(path("%s/unpacked/%s", r, H));
	w->unpacked.entries = 4;
	w->unpacked.bytes = ua + uch + du(path("%s/unpacked/%s", r, D));
	w->in_use.entries = 1;
	w->in_use.bytes = ua;
	w->pages.entries = 2;
	w->pages.bytes = du(path("%s/pages/ab", r));
	uint64_t leftovers = du(path("%s/unpacked/%s", r, E)) +
			     du(path("%s/unpacked/x.tmp-123", r)) + du(path("%s/tmp/stale-1", r));
	assert_int_equal(du(path("%s/tmp/leftover.whl", r)), 0); /* met in wheels/ */
	w->tmp.entries = 4;
	w->tmp.bytes = leftovers;

	/* what prune should remove */
	struct em_cache_info *p = &f->want_pruned;
	p->partial = w->partial; /* wheels/B/ whole: nothing complete in it */
	p->unpacked.entries = 2; /* C and H */
	p->unpacked.bytes = uch;
	p->pages = w->pages;
	p->tmp.entries = 4;
	struct stat st;
	assert_int_equal(lstat(path("%s/wheels/%s/.lock", r, A), &st), 0);
	p->tmp.bytes = leftovers + (uint64_t)st.st_blocks * 512u;
}

static void destroy(struct fake *f)
{
	assert_int_equal(em_remove_tree(f->top, NULL), 0);
	free((char *)f->root);
	free(f->top);
}

static void check_usage(const char *what, const struct em_cache_usage *got,
			const struct em_cache_usage *want)
{
	if (got->entries != want->entries || got->bytes != want->bytes)
		fail_msg("%s: %llu entries, %llu bytes; want %llu entries, %llu bytes", what,
			 (unsigned long long)got->entries, (unsigned long long)got->bytes,
			 (unsigned long long)want->entries, (unsigned long long)want->bytes);
}

static void check_info(const struct em_cache_info *got, const struct em_cache_info *want)
{
	check_usage("wheels", &got->wheels, &want->wheels);
	check_usage("partial", &got->partial, &want->partial);
	check_usage("unpacked", &got->unpacked, &want->unpacked);
	check_usage("in_use", &got->in_use, &want->in_use);
	check_usage("pages", &got->pages, &want->pages);
	check_usage("tmp", &got->tmp, &want->tmp);
}

static void ok(int rc, const struct em_error *e)
{
	if (rc)
		fail_msg("rc %d: %s: %s", rc, e->where, e->msg);
}

/* nothing in the folder p (or p absent) */
static bool empty_dir(const char *p)
{
	struct stat st;
	if (lstat(p, &st) != 0)
		return true;
	char cmd[1200];
	snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s')\"", p);
	return system(cmd) == 0;
}

static void check_outside_intact(const struct fake *f)
{
	struct stat st;
	assert_int_equal(stat(path("%s/outside/big", f->top), &st), 0);
	assert_int_equal(st.st_size, 1 << 20);
	assert_int_equal(stat(path("%s/venv/__init__.py", f->top), &st), 0);
	assert_int_equal(st.st_size, 20000);
}

/* ---- tests ---- */

static void test_info_counts_each_inode_once(void **state)
{
	(void)state;
	struct fake f;
	build(&f);
	struct em_cache_info got;
	struct em_error e = { 0 };
	ok(em_cache_info(&f.c, &got, &e), &e);
	check_info(&got, &f.want);
	/* the outside file behind the links is not in any count */
	uint64_t total = got.wheels.bytes + got.partial.bytes + got.unpacked.bytes +
			 got.pages.bytes + got.tmp.bytes;
	assert_true(total < (1u << 20));
	/* counting changes nothing */
	struct em_cache_info again;
	ok(em_cache_info(&f.c, &again, &e), &e);
	check_info(&again, &f.want);
	destroy(&f);
}

static void test_prune(void **state)
{
	(void)state;
	struct fake f;
	build(&f);
	const char *r = f.root;
	struct em_cache_info removed;
	struct em_error e = { 0 };
	ok(em_cache_prune(&f.c, &removed, &e), &e);
	check_info(&removed, &f.want_pruned);

	/* kept: downloads, trees in use, trees that cannot be rebuilt offline */
	assert_true(exists(path("%s/wheels/%s/foo-1.0-py3-none-any.whl", r, A)));
	assert_true(exists(path("%s/wheels/%s/baz-1.0-py3-none-any.whl", r, C)));
	assert_true(exists(path("%s/wheels/%s/qux-1.0-py3-none-any.whl", r, H)));
	assert_true(exists(path("%s/unpacked/%s/%s", r, A, EM_UNPACKED_MARK)));
	assert_true(exists(path("%s/unpacked/%s/foo/sub/mod.py", r, A)));
	assert_true(exists(path("%s/unpacked/%s/d/x.py", r, D)));
	assert_true(exists(path("%s/.lock", r)));
	/* removed: leftovers, the stale .lock, index pages, rebuildable trees */
	assert_false(exists(path("%s/wheels/%s/.lock", r, A)));
	assert_false(exists(path("%s/wheels/%s", r, B)));
	assert_false(exists(path("%s/unpacked/%s", r, C)));
	assert_false(exists(path("%s/unpacked/%s", r, H)));
	assert_false(exists(path("%s/unpacked/%s", r, E)));
	assert_false(exists(path("%s/unpacked/x.tmp-123", r)));
	assert_true(empty_dir(path("%s/tmp", r)));   /* no prune-* left behind */
	assert_true(empty_dir(path("%s/pages", r)));
	check_outside_intact(&f);

	/* what is left is what info says; a second prune removes nothing */
	struct em_cache_info left, want = { 0 };
	ok(em_cache_info(&f.c, &left, &e), &e);
	want.wheels.entries = 3;
	want.unpacked.entries = 2;
	want.in_use.entries = 1;
	assert_int_equal(left.wheels.entries, want.wheels.entries);
	assert_int_equal(left.unpacked.entries, want.unpacked.entries);
	assert_int_equal(left.in_use.entries, want.in_use.entries);
	assert_int_equal(left.partial.entries + left.pages.entries + left.tmp.entries, 0);
	assert_int_equal(left.partial.bytes + left.pages.bytes + left.tmp.bytes, 0);
	assert_int_equal(left.wheels.bytes, f.want.wheels.bytes);
	ok(em_cache_prune(&f.c, &removed, &e), &e);
	check_info(&removed, &(struct em_cache_info){ 0 });
	destroy(&f);
}

static void test_prune_leaves_a_download_in_progress(void **state)
{
	(void)state;
	struct fake f;
	build(&f);
	const char *r = f.root;
	/* another holder of wheels/B/.lock: a separate open file description
	 * conflicts even within this process */
	int fd = open(path("%s/wheels/%s/.lock", r, B), O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
	struct em_cache_info removed;
	struct em_error e = { 0 };
	ok(em_cache_prune(&f.c, &removed, &e), &e);
	assert_int_equal(removed.partial.entries, 0);
	assert_int_equal(removed.partial.bytes, 0);
	assert_true(exists(path("%s/wheels/%s/bar-2.0-py3-none-any.whl.part", r, B)));
	assert_true(exists(path("%s/wheels/%s/.lock", r, B)));
	/* the rest was pruned as usual */
	assert_false(exists(path("%s/unpacked/%s", r, C)));
	/* clean leaves it too */
	ok(em_cache_clean(&f.c, &removed, &e), &e);
	assert_true(exists(path("%s/wheels/%s/bar-2.0-py3-none-any.whl.part", r, B)));
	assert_false(exists(path("%s/wheels/%s", r, A)));
	/* once it is free it goes */
	close(fd);
	ok(em_cache_prune(&f.c, &removed, &e), &e);
	check_usage("partial", &removed.partial, &f.want.partial);
	assert_false(exists(path("%s/wheels/%s", r, B)));
	destroy(&f);
}

static void test_clean(void **state)
{
	(void)state;
	struct fake f;
	build(&f);
	const char *r = f.root;
	struct em_cache_info removed;
	struct em_error e = { 0 };
	ok(em_cache_clean(&f.c, &removed, &e), &e);
	check_info(&removed, &f.want); /* everything info counted */
	struct stat st;
	assert_int_equal(lstat(r, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_true(exists(path("%s/.lock", r)));
	assert_true(empty_dir(path("%s/wheels", r)));
	assert_true(empty_dir(path("%s/unpacked", r)));
	assert_true(empty_dir(path("%s/pages", r)));
	assert_true(empty_dir(path("%s/tmp", r)));
	/* the venv keeps its own link; nothing outside is touched */
	check_outside_intact(&f);
	assert_int_equal(stat(path("%s/venv/__init__.py", f.top), &st), 0);
	assert_int_equal(st.st_nlink, 1);
	struct em_cache_info left;
	ok(em_cache_info(&f.c, &left, &e), &e);
	check_info(&left, &(struct em_cache_info){ 0 });
	/* an empty cache, and one without its subfolders, are fine */
	ok(em_cache_clean(&f.c, &removed, &e), &e);
	check_info(&removed, &(struct em_cache_info){ 0 });
	assert_int_equal(rmdir(path("%s/wheels", r)), 0);
	assert_int_equal(rmdir(path("%s/pages", r)), 0);
	ok(em_cache_prune(&f.c, NULL, &e), &e);
	ok(em_cache_info(&f.c, &left, &e), &e);
	destroy(&f);
}

/* deeper than PATH_MAX, read-only folders on the way */
static void test_deep_tree(void **state)
{
	(void)state;
	char *top = tmpdir();
	const char *root = strdup(path("%s/cache", top));
	mkdirs(path("%s/tmp/deep", root));
	int fd = open(path("%s/tmp/deep", root), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	enum { LEVELS = 300 };
	for (int i = 0; i < LEVELS; i++) {
		char n[64];
		snprintf(n, sizeof n, "level-%04d-a-name-of-some-length-here", i);
		assert_int_equal(mkdirat(fd, n, 0755), 0);
		int w = openat(fd, "file", O_CREAT | O_WRONLY | O_CLOEXEC, 0444);
		assert_true(w >= 0);
		assert_int_equal(write(w, "0123456789", 10), 10);
		close(w);
		int sub = openat(fd, n, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		assert_true(sub >= 0);
		if (i % 7 == 0)
			fchmod(fd, 0555);
		close(fd);
		fd = sub;
	}
	close(fd);
	/* the expected bytes, going down again */
	uint64_t want = 0;
	fd = open(path("%s/tmp/deep", root), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (int i = 0; fd >= 0; i++) {
		struct stat st;
		assert_int_equal(fstat(fd, &st), 0);
		want += (uint64_t)st.st_blocks * 512u;
		if (i == LEVELS)
			break;
		assert_int_equal(fstatat(fd, "file", &st, 0), 0);
		want += (uint64_t)st.st_blocks * 512u;
		char n[64];
		snprintf(n, sizeof n, "level-%04d-a-name-of-some-length-here", i);
		int sub = openat(fd, n, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		close(fd);
		fd = sub;
	}
	close(fd);
	struct em_cache c = { .root = root, .lock_fd = -1 };
	struct em_cache_info got;
	struct em_error e = { 0 };
	ok(em_cache_info(&c, &got, &e), &e);
	assert_int_equal(got.tmp.entries, 1);
	assert_int_equal(got.tmp.bytes, want);
	ok(em_cache_prune(&c, &got, &e), &e);
	assert_int_equal(got.tmp.entries, 1);
	assert_int_equal(got.tmp.bytes, want);
	assert_false(exists(path("%s/tmp/deep", root)));
	em_remove_tree(top, NULL);
	free((char *)root);
	free(top);
}

/* a leftover folder with a long name inside wheels/<sha>/: moved aside
 * under a short name, then removed; its download stays */
static void test_prune_long_leftover_name(void **state)
{
	(void)state;
	char *top = tmpdir();
	const char *root = strdup(path("%s/cache", top));
	char name[256];
	memset(name, 'n', 200);
	strcpy(name + 200, ".whl.tmp-1-2");
	mkfile(path("%s/wheels/%s/%s/inner", root, A, name), 100, 0444);
	mkfile(path("%s/wheels/%s/foo-1.0-py3-none-any.whl", root, A), 100, 0644);
	struct em_cache c = { .root = root, .lock_fd = -1 };
	struct em_cache_info got;
	struct em_error e = { 0 };
	ok(em_cache_info(&c, &got, &e), &e);
	assert_int_equal(got.wheels.entries, 1);
	assert_int_equal(got.tmp.entries, 1);
	ok(em_cache_prune(&c, &got, &e), &e);
	assert_int_equal(got.tmp.entries, 1);
	assert_false(exists(path("%s/wheels/%s/%s", root, A, name)));
	assert_true(exists(path("%s/wheels/%s/foo-1.0-py3-none-any.whl", root, A)));
	assert_true(empty_dir(path("%s/tmp", root)));
	em_remove_tree(top, NULL);
	free((char *)root);
	free(top);
}

static void test_errors(void **state)
{
	(void)state;
	char *top = tmpdir();
	struct em_cache_info got;
	struct em_error e = { 0 };
	/* a folder that does not exist: named, nothing created */
	const char *missing = strdup(path("%s/no-such-cache", top));
	struct em_cache c = { .root = missing, .lock_fd = -1 };
	assert_int_equal(em_cache_info(&c, &got, &e), EM_ENOTFOUND);
	assert_string_equal(e.where, missing);
	assert_string_equal(e.msg, "the cache folder does not exist");
	em_error_clear(&e);
	assert_int_equal(em_cache_clean(&c, &got, &e), EM_ENOTFOUND);
	assert_string_equal(e.where, missing);
	em_error_clear(&e);
	assert_int_equal(em_cache_prune(&c, NULL, &e), EM_ENOTFOUND);
	assert_string_equal(e.where, missing);
	assert_false(exists(missing));
	/* a file */
	mkfile(path("%s/a-file", top), 10, 0644);
	const char *file = strdup(path("%s/a-file", top));
	c.root = file;
	em_error_clear(&e);
	assert_int_equal(em_cache_info(&c, &got, &e), EM_EINVAL);
	assert_string_equal(e.where, file);
	/* not open */
	struct em_cache none = { .root = NULL, .lock_fd = -1 };
	assert_int_equal(em_cache_info(&none, &got, &e), EM_EUSAGE);
	/* unpacked/ a link to a folder outside: refused, never followed */
	const char *root = strdup(path("%s/cache", top));
	mkdirs(path("%s/wheels", root));
	mkfile(path("%s/elsewhere/%s/%s", top, A, EM_UNPACKED_MARK), 10, 0444);
	assert_int_equal(symlink(path("%s/elsewhere", top), path("%s/unpacked", root)), 0);
	c.root = root;
	em_error_clear(&e);
	assert_int_equal(em_cache_info(&c, &got, &e), EM_EINVAL);
	assert_string_equal(e.where, path("%s/unpacked", root));
	assert_non_null(strstr(e.msg, "symbolic link"));
	em_error_clear(&e);
	assert_int_equal(em_cache_clean(&c, &got, &e), EM_EINVAL);
	assert_true(exists(path("%s/elsewhere/%s/%s", top, A, EM_UNPACKED_MARK)));
	/* a link as an entry is an entry: removed, not followed */
	assert_int_equal(unlink(path("%s/unpacked", root)), 0);
	mkdirs(path("%s/unpacked", root));
	assert_int_equal(symlink(path("%s/elsewhere/%s", top, A),
				 path("%s/unpacked/%s", root, A)),
			 0);
	em_error_clear(&e);
	ok(em_cache_info(&c, &got, &e), &e);
	assert_int_equal(got.tmp.entries, 1);
	assert_int_equal(got.unpacked.entries, 0);
	ok(em_cache_prune(&c, &got, &e), &e);
	assert_int_equal(got.tmp.entries, 1);
	assert_false(exists(path("%s/unpacked/%s", root, A)));
	assert_true(exists(path("%s/elsewhere/%s/%s", top, A, EM_UNPACKED_MARK)));
	em_remove_tree(top, NULL);
	free((char *)missing);
	free((char *)file);
	free((char *)root);
	free(top);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_info_counts_each_inode_once),
		cmocka_unit_test(test_prune),
		cmocka_unit_test(test_prune_leaves_a_download_in_progress),
		cmocka_unit_test(test_clean),
		cmocka_unit_test(test_deep_tree),
		cmocka_unit_test(test_prune_long_leftover_name),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
