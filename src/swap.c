/* swap.c - putting environments in place, and back, so a crash at any
 * moment leaves a complete old or new one
 *
 * Swapping in a built staging folder S for root V with snapshot O:
 *
 *   1. write the journal J: the device and inode of S, whether V exists
 *   2. rename O -> T (trash)                       when O exists
 *   3. exchange S and V (renameat2 RENAME_EXCHANGE) when V exists,
 *      else rename S -> V; where the filesystem cannot exchange, rename
 *      V -> O then S -> V
 *   4. rename S (now the old V) -> O
 *   5. remove J, then T
 *
 * Recovery reads J. When V is S's inode the swap happened: steps 4 and 5
 * are finished. Otherwise it did not: a V moved to O by the fallback is put
 * back, T goes back to O, and the staging folder is removed. Without a
 * journal, a staging or trash folder is a leftover and is removed.
 *
 * Rollback exchanges V and O; the fallback renames V -> T, O -> V, T -> O
 * under a journal saying "rollback", which recovery finishes.
 */
#include "envmatrix/apply.h"
#include "envmatrix/fs.h"
#include "envmatrix/lock.h"
#include "envmatrix/str.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

#define JOURNAL_MAGIC "envmatrix-swap 1"

/* The test suite's crash points: with ENVMATRIX_TEST_CRASH_AT=NAME the
 * process kills itself (SIGKILL: no cleanup runs) right after step NAME,
 * so tests can check recovery from each state a crash can leave. */
static void crash_point(const char *name)
{
	const char *at = getenv("ENVMATRIX_TEST_CRASH_AT");
	if (at && !strcmp(at, name))
		raise(SIGKILL);
}

int em_venv_paths(struct em_arena *a, const char *matrix_path, const struct em_workload *w,
		  struct em_venv_paths *out, struct em_error *e)
{
	memset(out, 0, sizeof *out);
	char *mdir = em_path_dir(a, matrix_path);
	const char *path = w->path.value ? w->path.value : ".";
	const char *venv = w->venv.value ? w->venv.value : ".venv";
	char *dir = mdir ? em_path_join(a, mdir, path) : NULL;
	char *root = dir ? em_path_join(a, dir, venv) : NULL;
	char *abs = root ? em_path_absolute(a, root) : NULL;
	if (!abs)
		return em_err_nomem(e);
	if (!strcmp(abs, "/"))
		return em_err(e, EM_EINVAL, matrix_path, "workload '%s' puts its venv at '/'",
			      w->name);
	out->root = abs;
	out->snapshot = em_arena_printf(a, "%s-original", abs);
	out->staging = em_arena_printf(a, "%s.envmatrix-staging", abs);
	out->trash = em_arena_printf(a, "%s.envmatrix-trash", abs);
	out->journal = em_arena_printf(a, "%s.envmatrix-swap", abs);
	if (!out->snapshot || !out->staging || !out->trash || !out->journal)
		return em_err_nomem(e);
	return 0;
}

static bool exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

/* renameat2 with RENAME_EXCHANGE; errno EINVAL/ENOSYS/ENOTSUP where the
 * kernel or filesystem cannot */
static int exchange(const char *x, const char *y)
{
#ifdef SYS_renameat2
	return (int)syscall(SYS_renameat2, AT_FDCWD, x, AT_FDCWD, y, RENAME_EXCHANGE);
#else
	(void)x;
	(void)y;
	errno = ENOSYS;
	return -1;
#endif
}

static bool no_exchange(int err)
{
	return err == EINVAL || err == ENOSYS || err == ENOTSUP || err == EOPNOTSUPP;
}

static int move(const char *from, const char *to, struct em_error *e)
{
	if (rename(from, to) == 0)
		return 0;
	int err = errno;
	char what[EM_ERROR_MSG_MAX / 2];
	snprintf(what, sizeof what, "cannot rename it to '%s'", to);
	return em_err_sys(e, err, from, what);
}

/* ---- the journal ---- */

struct journal {
	bool rollback;
	bool had_root;
	uint64_t dev, ino;
};

static int journal_write(const char *path, const struct journal *j, struct em_error *e)
{
	char buf[256];
	int n;
	if (j->rollback)
		n = snprintf(buf, sizeof buf, JOURNAL_MAGIC "\nrollback\n");
	else
		n = snprintf(buf, sizeof buf, JOURNAL_MAGIC "\nswap %" PRIu64 " %" PRIu64 " %d\n",
			     j->dev, j->ino, j->had_root ? 1 : 0);
	return em_write_file_atomic(path, buf, (size_t)n, 0644, e);
}

/* 1 when a journal was read, 0 when there is none, 2 when it is torn or
 * foreign (read as "the swap did not happen") */
static int journal_read(struct em_arena *a, const char *path, struct journal *j,
			struct em_error *e)
{
	memset(j, 0, sizeof *j);
	char *text;
	size_t len;
	struct em_error re;
	int rc = em_read_file(a, path, 4096, &text, &len, &re);
	if (rc == EM_ENOTFOUND)
		return 0;
	if (rc) {
		if (e)
			*e = re;
		return rc;
	}
	if (!strncmp(text, JOURNAL_MAGIC "\nrollback\n", strlen(JOURNAL_MAGIC "\nrollback\n"))) {
		j->rollback = true;
		return 1;
	}
	int had = 0;
	unsigned long long dev, ino;
	if (sscanf(text, JOURNAL_MAGIC "\nswap %llu %llu %d", &dev, &ino, &had) != 3)
		return 2;
	j->dev = dev;
	j->ino = ino;
	j->had_root = had != 0;
	return 1;
}

/* ---- recovery ---- */

int em_venv_recover(struct em_arena *a, const struct em_venv_paths *p, const char **what,
		    struct em_error *e)
{
	if (what)
		*what = NULL;
	struct journal j;
	int jr = journal_read(a, p->journal, &j, e);
	if (jr < 0)
		return jr;
	int rc = 0;
	if (jr == 1 && j.rollback) {
		/* V -> T, O -> V, T -> O: finish it */
		if (exists(p->trash)) {
			if (!exists(p->root) && exists(p->snapshot))
				rc = move(p->snapshot, p->root, e);
			if (!rc && !exists(p->snapshot))
				rc = move(p->trash, p->snapshot, e);
		}
		if (rc)
			return rc;
		if (what)
			*what = "finished an interrupted rollback";
	} else if (jr != 0) {
		struct stat st;
		bool done = jr == 1 && stat(p->root, &st) == 0 && (uint64_t)st.st_dev == j.dev &&
			    (uint64_t)st.st_ino == j.ino;
		if (done) {
			/* the new environment is in place: file the old one */
			if (exists(p->staging) && !exists(p->snapshot))
				rc = move(p->staging, p->snapshot, e);
			if (what)
				*what = "finished an interrupted apply (the new environment was in "
					"place)";
		} else {
			/* undo: the old environment stays */
			if (!exists(p->root) && j.had_root && exists(p->snapshot))
				rc = move(p->snapshot, p->root, e);
			if (!rc && !exists(p->snapshot) && exists(p->trash))
				rc = move(p->trash, p->snapshot, e);
			if (what)
				*what = "undid an interrupted apply (the previous environment is in "
					"place)";
		}
		if (rc)
			return rc;
	}
	/* leftovers: a half-built staging folder, an old snapshot */
	bool left = exists(p->staging) || exists(p->trash);
	rc = em_remove_tree(p->staging, e);
	if (!rc)
		rc = em_remove_tree(p->trash, e);
	if (rc)
		return rc;
	if (jr != 0 && unlink(p->journal) != 0 && errno != ENOENT)
		return em_err_sys(e, errno, p->journal, "cannot remove the journal");
	if (jr != 0)
		em_fsync_parent(p->root);
	if (left && jr == 0 && what)
		*what = "removed the leftovers of an interrupted apply";
	return 0;
}

/* ---- swapping in ---- */

int em_venv_swap_in(const struct em_venv_paths *p, struct em_error *e)
{
	struct stat st;
	if (stat(p->staging, &st) != 0)
		return em_err_sys(e, errno, p->staging, "cannot find the staging folder");
	struct journal j = { false, exists(p->root), (uint64_t)st.st_dev, (uint64_t)st.st_ino };
	crash_point("staged");
	int rc = journal_write(p->journal, &j, e);
	if (rc)
		return rc;
	crash_point("journal");
	if (exists(p->trash) && (rc = em_remove_tree(p->trash, e)))
		return rc;
	if (exists(p->snapshot) && (rc = move(p->snapshot, p->trash, e)))
		goto undo;
	crash_point("trash");
	bool fallback = getenv("ENVMATRIX_TEST_NO_EXCHANGE") != NULL;
	if (!j.had_root) {
		if ((rc = move(p->staging, p->root, e)))
			goto undo;
		crash_point("exchange");
	} else if (!fallback && exchange(p->staging, p->root) == 0) {
		crash_point("exchange");
		if ((rc = move(p->staging, p->snapshot, e)))
			return rc; /* the new one is in place; recovery files the old one */
	} else if (fallback || no_exchange(errno)) {
		if ((rc = move(p->root, p->snapshot, e)))
			goto undo;
		crash_point("fallback");
		if ((rc = move(p->staging, p->root, e)))
			goto undo;
		crash_point("exchange");
	} else {
		rc = em_err_sys(e, errno, p->root, "cannot swap the new environment in");
		goto undo;
	}
	crash_point("snapshot");
	em_fsync_parent(p->root);
	if (unlink(p->journal) != 0 && errno != ENOENT)
		return em_err_sys(e, errno, p->journal, "cannot remove the journal");
	em_fsync_parent(p->journal);
	crash_point("done");
	em_remove_tree(p->trash, NULL);
	return 0;
undo:;
	/* put things back as they were, keeping the first error */
	struct em_arena a;
	em_arena_init(&a);
	em_venv_recover(&a, p, NULL, NULL);
	em_arena_release(&a);
	return rc;
}

/* ---- rollback ---- */

int em_venv_rollback(const struct em_venv_paths *p, struct em_error *e)
{
	if (!exists(p->snapshot))
		return em_err(e, EM_ENOTFOUND, p->snapshot,
			      "no snapshot to roll back to (apply makes one when it replaces an "
			      "environment)");
	int rc;
	if (!exists(p->root)) {
		rc = move(p->snapshot, p->root, e);
		if (!rc)
			em_fsync_parent(p->root);
		return rc;
	}
	bool fallback = getenv("ENVMATRIX_TEST_NO_EXCHANGE") != NULL;
	if (!fallback && exchange(p->root, p->snapshot) == 0) {
		em_fsync_parent(p->root);
		return 0;
	}
	if (!fallback && !no_exchange(errno))
		return em_err_sys(e, errno, p->root, "cannot swap the environment and its snapshot");
	struct journal j = { .rollback = true };
	if ((rc = em_remove_tree(p->trash, e)) || (rc = journal_write(p->journal, &j, e)))
		return rc;
	if ((rc = move(p->root, p->trash, e)))
		goto out;
	crash_point("rollback-1");
	if ((rc = move(p->snapshot, p->root, e)))
		goto out;
	crash_point("rollback-2");
	if ((rc = move(p->trash, p->snapshot, e)))
		goto out;
out:;
	struct em_arena a;
	em_arena_init(&a);
	int r2 = em_venv_recover(&a, p, NULL, rc ? NULL : e);
	em_arena_release(&a);
	return rc ? rc : r2;
}

/* ---- what is installed ---- */

/* key = value lines of pyvenv.cfg */
static const char *cfg_get(struct em_arena *a, const char *text, const char *key)
{
	size_t kl = strlen(key);
	const char *s = text;
	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) : strlen(s);
		struct em_str line = em_str_strip(em_str_make(s, n));
		const char *eq = memchr(line.p, '=', line.n);
		if (eq) {
			struct em_str k = em_str_strip(em_str_make(line.p, (size_t)(eq - line.p)));
			struct em_str v = em_str_strip(
				em_str_make(eq + 1, line.n - (size_t)(eq + 1 - line.p)));
			if (k.n == kl && !strncasecmp(k.p, key, kl))
				return em_arena_strndup(a, v.p, v.n);
		}
		s += n + (nl ? 1 : 0);
	}
	return NULL;
}

/* torch's version from a dist-info folder name in site-packages */
static const char *torch_from_site(struct em_arena *a, const char *root)
{
	static const char *const patterns[] = { "lib", "Lib" };
	for (size_t i = 0; i < 2; i++) {
		char *lib = em_arena_printf(a, "%s/%s", root, patterns[i]);
		if (!lib)
			return NULL;
		/* POSIX: lib/pythonX.Y/site-packages; Windows: Lib/site-packages */
		const char *sites[8];
		size_t ns = 0;
		if (i == 1) {
			sites[ns++] = em_arena_printf(a, "%s/site-packages", lib);
		} else {
			DIR *d = opendir(lib);
			struct dirent *de;
			while (d && (de = readdir(d)) && ns < 8)
				if (!strncmp(de->d_name, "python", 6))
					sites[ns++] = em_arena_printf(a, "%s/%s/site-packages", lib,
								      de->d_name);
			if (d)
				closedir(d);
		}
		for (size_t k = 0; k < ns; k++) {
			if (!sites[k])
				continue;
			DIR *d = opendir(sites[k]);
			struct dirent *de;
			const char *found = NULL;
			while (d && (de = readdir(d))) {
				const char *n = de->d_name;
				size_t nl = strlen(n);
				if (!strncmp(n, "torch-", 6) && nl > 16 &&
				    !strcmp(n + nl - 10, ".dist-info")) {
					found = em_arena_strndup(a, n + 6, nl - 16);
					break;
				}
			}
			if (d)
				closedir(d);
			if (found)
				return found;
		}
	}
	return NULL;
}

static const char *variant_of(struct em_arena *a, const char *torch)
{
	const char *plus = torch ? strchr(torch, '+') : NULL;
	return plus ? em_arena_strdup(a, plus + 1) : NULL;
}

static void read_one(struct em_arena *a, const char *root, const char **python,
		     const char **home, bool *by_em, const char **torch, const char **variant,
		     const char **lock_text, size_t *lock_len)
{
	char *cfg_path = em_arena_printf(a, "%s/pyvenv.cfg", root);
	char *cfg;
	size_t cl;
	struct em_error ie;
	if (cfg_path && em_read_file(a, cfg_path, 1 << 16, &cfg, &cl, &ie) == 0) {
		*python = cfg_get(a, cfg, "version_info");
		if (!*python)
			*python = cfg_get(a, cfg, "version");
		if (home)
			*home = cfg_get(a, cfg, "home");
		if (by_em)
			*by_em = cfg_get(a, cfg, "envmatrix.workload") != NULL;
	}
	char *lp = em_arena_printf(a, "%s/" EM_VENV_LOCK_NAME, root);
	char *lt;
	size_t ll;
	struct em_lock l;
	if (lp && em_read_file(a, lp, EM_TOML_MAX_LEN, &lt, &ll, &ie) == 0) {
		if (lock_text) {
			*lock_text = lt;
			*lock_len = ll;
		}
		if (em_lock_parse(a, lt, ll, lp, &l, &ie) == 0) {
			for (uint32_t i = 0; i < l.npackages; i++)
				if (!strcmp(l.packages[i].name, "torch") && l.packages[i].version)
					*torch = l.packages[i].version;
			if (*torch && l.torch_variant)
				*variant = l.torch_variant;
		}
	}
	if (!*torch)
		*torch = torch_from_site(a, root);
	if (*torch && !*variant)
		*variant = variant_of(a, *torch);
}

int em_venv_state_read(struct em_arena *a, const struct em_venv_paths *p,
		       struct em_venv_state *out, struct em_error *e)
{
	(void)e;
	memset(out, 0, sizeof *out);
	struct stat st;
	out->exists = stat(p->root, &st) == 0 && S_ISDIR(st.st_mode);
	out->has_snapshot = stat(p->snapshot, &st) == 0 && S_ISDIR(st.st_mode);
	if (out->exists)
		read_one(a, p->root, &out->python, &out->home, &out->by_envmatrix, &out->torch,
			 &out->variant, &out->lock_text, &out->lock_len);
	if (out->has_snapshot) {
		const char *v = NULL;
		read_one(a, p->snapshot, &out->snapshot_python, NULL, NULL, &out->snapshot_torch, &v,
			 NULL, NULL);
	}
	return 0;
}

/* ---- the apply lock ---- */

int em_state_lock_take(struct em_arena *a, const char *matrix_path, const char *command,
		       bool block, struct em_state_lock *out, struct em_error *e)
{
	out->fd = -1;
	char *dir = em_path_join(a, em_path_dir(a, matrix_path), EM_STATE_DIR);
	char *path = dir ? em_arena_printf(a, "%s/apply.lock", dir) : NULL;
	if (!path)
		return em_err_nomem(e);
	int rc = em_mkdir_p(dir, e);
	if (rc)
		return rc;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return em_err_sys(e, errno, path, "cannot open the apply lock");
	while (flock(fd, LOCK_EX | (block ? 0 : LOCK_NB)) != 0) {
		if (errno == EINTR)
			continue;
		int err = errno;
		if (err == EWOULDBLOCK) {
			char holder[256] = "";
			ssize_t n = pread(fd, holder, sizeof holder - 1, 0);
			holder[n > 0 ? n : 0] = '\0';
			char *nl = strchr(holder, '\n');
			if (nl)
				*nl = '\0';
			close(fd);
			char q[200];
			em_quote(q, sizeof q, holder, strlen(holder));
			return em_err(e, EM_EBUSY, path,
				      "another envmatrix is working on this matrix (%s); wait for it "
				      "or use --wait", holder[0] ? q : "process unknown");
		}
		close(fd);
		return em_err_sys(e, err, path, "cannot take the apply lock");
	}
	char info[256];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	int n = snprintf(info, sizeof info,
			 "pid %ld, 'envmatrix %s', since %04d-%02d-%02dT%02d:%02d:%02dZ\n",
			 (long)getpid(), command, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			 tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (ftruncate(fd, 0) == 0 && pwrite(fd, info, (size_t)n, 0) < 0) {
		/* the note is a courtesy; the lock itself is held */
	}
	out->fd = fd;
	return 0;
}

int em_state_lock_take_shared(struct em_arena *a, const char *matrix_path, bool block,
			      struct em_state_lock *out, struct em_error *e)
{
	out->fd = -1;
	char *dir = em_path_join(a, em_path_dir(a, matrix_path), EM_STATE_DIR);
	char *path = dir ? em_arena_printf(a, "%s/apply.lock", dir) : NULL;
	if (!path)
		return em_err_nomem(e);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		/* the matrix's folder exists: only the state folder may be missing */
		if (mkdir(dir, 0755) == 0 || errno == EEXIST)
			fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0 && (errno == EROFS || errno == EACCES || errno == EPERM))
			return 0; /* a read-only project: nothing can be applying */
	}
	if (fd < 0)
		return em_err_sys(e, errno, path, "cannot open the apply lock");
	while (flock(fd, LOCK_SH | (block ? 0 : LOCK_NB)) != 0) {
		int err = errno;
		if (err == EINTR)
			continue;
		close(fd);
		if (err == EWOULDBLOCK)
			return em_err(e, EM_EBUSY, path,
				      "another envmatrix is changing this matrix's environments; wait "
				      "for it or use --wait");
		return em_err_sys(e, err, path, "cannot take the apply lock");
	}
	out->fd = fd;
	return 0;
}

void em_state_lock_release(struct em_state_lock *l)
{
	if (l->fd >= 0) {
		if (ftruncate(l->fd, 0) != 0) {
			/* nothing to do: closing releases the lock */
		}
		close(l->fd);
		l->fd = -1;
	}
}
