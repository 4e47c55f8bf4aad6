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
 *
 * What is envmatrix's (docs/safety.md): a snapshot that envmatrix filed
 * has a marker file, O/.envmatrix-snapshot, and only a snapshot with the
 * marker whose pyvenv.cfg has envmatrix's keys is ever deleted. Any other
 * O is moved to the first free name O.1, O.2... before a swap. The marker
 * is written into V before V becomes O (only when envmatrix built V), so
 * a crash between the renames leaves it in place; a folder that comes back
 * from O to V loses it. Only environments are moved at all: a V or O
 * without pyvenv.cfg is refused (an empty V is removed instead).
 */
#include "swap.h"
#include "apply_lock.h"
#include "os/fs.h"
#include "os/proc.h"
#include "os/sys.h"
#include "spec/lock.h"
#include "history.h"
#include "util/str.h"
#include "venv.h"
#include "settings.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define JOURNAL_MAGIC "envmatrix-swap 1"
#define MARKER_NAME ".envmatrix-snapshot"
#define MARKER_MAGIC "envmatrix-snapshot 1\n"

/* The test suite's crash points: with ENVMATRIX_TEST_CRASH_AT=NAME the
 * process kills itself (SIGKILL: no cleanup runs) right after step NAME,
 * so tests can check recovery from each state a crash can leave. */
static void crash_point(const char *name)
{
	const char *at = em_settings()->test_crash_at;
	if (at && !strcmp(at, name))
		em_os_kill_self();
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
	out->workload = w->name;
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
	struct em_stat st;
	return em_os_lstat(path, &st) == 0;
}

static int move(const char *from, const char *to, struct em_error *e)
{
	if (em_os_rename(from, to) == 0)
		return 0;
	int err = errno;
	char what[EM_ERROR_MSG_MAX / 2];
	snprintf(what, sizeof what, "cannot rename it to '%s'", to);
	return em_err_sys(e, err, from, what);
}

/* ---- what is envmatrix's ---- */

/* Why path cannot be replaced as an environment, or NULL when it can: it
 * does not exist, it is a folder with pyvenv.cfg, or an empty folder
 * (*empty, not through a link). */
static const char *not_a_venv(const char *path, bool *empty)
{
	*empty = false;
	struct em_stat st, lst;
	if (em_os_lstat(path, &lst) != 0)
		return errno == ENOENT ? NULL : "it cannot be inspected";
	if (em_os_stat(path, &st) != 0)
		return "a link that leads nowhere";
	if (st.type != EM_FT_DIR)
		return "a file, not a folder";
	char cfg[PATH_MAX];
	snprintf(cfg, sizeof cfg, "%s/pyvenv.cfg", path);
	if (em_os_stat(cfg, &st) == 0 && st.type == EM_FT_FILE)
		return NULL;
	if (lst.type == EM_FT_DIR) {
		struct em_dirlist *d = em_dirlist_open(path);
		bool any = d == NULL;
		while (d && !any && em_dirlist_next(d))
			any = true;
		em_dirlist_close(d);
		if (!any) {
			*empty = true;
			return NULL;
		}
	}
	return "no pyvenv.cfg";
}

int em_venv_check_target(const char *root, bool *empty, struct em_error *e)
{
	bool dummy;
	const char *why = not_a_venv(root, empty ? empty : &dummy);
	if (!why)
		return 0;
	return em_err(e, EM_EINVAL, NULL,
		      "'%s' exists and is not a Python environment (%s); envmatrix replaces only "
		      "environments: move it away, or set venv to another folder", root, why);
}

/* whether dir's pyvenv.cfg has the keys envmatrix writes */
static bool made_by_envmatrix(const char *dir)
{
	struct em_arena a;
	em_arena_init(&a);
	char *text = em_venv_cfg_load(&a, dir);
	bool made = text && em_venv_cfg_get(&a, text, "envmatrix.workload") != NULL;
	em_arena_release(&a);
	return made;
}

static bool has_marker(const char *dir)
{
	char path[PATH_MAX], buf[sizeof MARKER_MAGIC];
	snprintf(path, sizeof path, "%s/" MARKER_NAME, dir);
	int fd = em_os_open(path, EM_OPEN_READ | EM_OPEN_NOFOLLOW, 0);
	if (fd < 0)
		return false;
	ssize_t n = em_os_read(fd, buf, sizeof buf - 1);
	em_os_close(fd);
	return n == (ssize_t)strlen(MARKER_MAGIC) && !memcmp(buf, MARKER_MAGIC, (size_t)n);
}

bool em_venv_snapshot_ours(const char *dir)
{
	struct em_stat st;
	return em_os_lstat(dir, &st) == 0 && st.type == EM_FT_DIR && has_marker(dir) &&
	       made_by_envmatrix(dir);
}

/* Mark dir, an environment about to become (or just made) a snapshot, as
 * envmatrix's when envmatrix built it; a best effort: without the marker,
 * the snapshot is only ever kept, never deleted. */
static void mark(const char *dir, const char *workload)
{
	struct em_stat st;
	if (em_os_lstat(dir, &st) != 0 || st.type != EM_FT_DIR || !made_by_envmatrix(dir))
		return;
	char path[PATH_MAX], text[512];
	snprintf(path, sizeof path, "%s/" MARKER_NAME, dir);
	time_t now = (time_t)em_os_wall_s();
	struct tm tm;
	gmtime_r(&now, &tm);
	int n = snprintf(text, sizeof text,
			 MARKER_MAGIC "workload %s\nfiled %04d-%02d-%02dT%02d:%02d:%02dZ\n"
			 "# envmatrix made this environment; as <venv>-original it is the\n"
			 "# snapshot 'envmatrix rollback' returns to, and the next apply that\n"
			 "# replaces the environment deletes it (docs/safety.md)\n",
			 workload ? workload : "?", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			 tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (n > 0 && (size_t)n < sizeof text)
		EM_IGNORE(em_write_file_atomic(path, text, (size_t)n, 0644, NULL)); /* best effort */
}

/* An environment in use carries no marker. */
static void unmark(const char *dir)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/" MARKER_NAME, dir);
	if (has_marker(dir)) /* best effort: a marker left behind counts only on an */
		em_os_unlink(path); /* environment envmatrix made (em_venv_snapshot_ours) */
}

/* Move a snapshot that envmatrix did not make out of the way, to the first
 * free name <snapshot>.N; *kept gets that name. */
static int keep_foreign(struct em_arena *a, const struct em_venv_paths *p, const char **kept,
			struct em_error *e)
{
	if (!exists(p->snapshot) || em_venv_snapshot_ours(p->snapshot))
		return 0;
	for (unsigned n = 1; n < 100000; n++) {
		char *name = em_arena_printf(a, "%s.%u", p->snapshot, n);
		if (!name)
			return em_err_nomem(e);
		if (exists(name))
			continue;
		int rc = move(p->snapshot, name, e);
		if (rc)
			return rc;
		em_fsync_parent(name);
		if (kept)
			*kept = name;
		return 0;
	}
	return em_err(e, EM_ELIMIT, p->snapshot, "no free name to keep it under");
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
		unmark(p->root);
		if (what)
			*what = "finished an interrupted rollback";
	} else if (jr != 0) {
		struct em_stat st;
		bool done = jr == 1 && em_os_stat(p->root, &st) == 0 && st.dev == j.dev &&
			    st.ino == j.ino;
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
			unmark(p->root); /* marked before the swap that did not happen */
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
	if (jr != 0 && em_os_unlink(p->journal) != 0 && errno != ENOENT)
		return em_err_sys(e, errno, p->journal, "cannot remove the journal");
	if (jr != 0)
		em_fsync_parent(p->root);
	if (left && jr == 0 && what)
		*what = "removed the leftovers of an interrupted apply";
	return 0;
}

/* ---- swapping in ---- */

int em_venv_swap_in(struct em_arena *a, const struct em_venv_paths *p, const char **kept,
		    struct em_error *e)
{
	if (kept)
		*kept = NULL;
	struct em_stat st;
	if (em_os_stat(p->staging, &st) != 0)
		return em_err_sys(e, errno, p->staging, "cannot find the staging folder");
	/* only an environment is replaced; an empty folder simply goes */
	bool empty;
	int rc = em_venv_check_target(p->root, &empty, e);
	if (rc)
		return rc;
	if (empty && em_os_rmdir(p->root) != 0 && errno != ENOENT)
		return em_err_sys(e, errno, p->root, "cannot remove the empty folder");
	/* a snapshot envmatrix did not make is kept under another name */
	if ((rc = keep_foreign(a, p, kept, e)))
		return rc;
	struct journal j = { false, exists(p->root), st.dev, st.ino };
	if (j.had_root)
		mark(p->root, p->workload);
	crash_point("staged");
	rc = journal_write(p->journal, &j, e);
	if (rc)
		goto unmark;
	crash_point("journal");
	if (exists(p->trash) && (rc = em_remove_tree(p->trash, e)))
		return rc;
	if (exists(p->snapshot) && (rc = move(p->snapshot, p->trash, e)))
		goto undo;
	crash_point("trash");
	bool fallback = em_settings()->test_no_exchange;
	int x = 0; /* em_os_exchange's answer */
	if (!j.had_root) {
		if ((rc = move(p->staging, p->root, e)))
			goto undo;
		crash_point("exchange");
	} else if (!fallback && (x = em_os_exchange(p->staging, p->root)) == 0) {
		crash_point("exchange");
		if ((rc = move(p->staging, p->snapshot, e)))
			return rc; /* the new one is in place; recovery files the old one */
	} else if (fallback || x == EM_EUNSUPPORTED) {
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
	if (em_os_unlink(p->journal) != 0 && errno != ENOENT)
		return em_err_sys(e, errno, p->journal, "cannot remove the journal");
	em_fsync_parent(p->journal);
	crash_point("done");
	em_remove_tree(p->trash, NULL);
	return 0;
undo:;
	/* put things back as they were, keeping the first error */
	struct em_arena ra;
	em_arena_init(&ra);
	EM_IGNORE(em_venv_recover(&ra, p, NULL, NULL)); /* the swap's error is reported */
	em_arena_release(&ra);
unmark:
	unmark(p->root);
	return rc;
}

/* ---- rollback ---- */

int em_venv_rollback(const struct em_venv_paths *p, struct em_error *e)
{
	if (!exists(p->snapshot))
		return em_err(e, EM_ENOTFOUND, p->snapshot,
			      "no snapshot to roll back to (apply makes one when it replaces an "
			      "environment)");
	/* only environments change places (a snapshot someone else made may
	 * come back: it is what the user asks for) */
	bool empty;
	const char *why = not_a_venv(p->snapshot, &empty);
	if (why || empty)
		return em_err(e, EM_EINVAL, NULL,
			      "'%s' is not a Python environment (%s); nothing was rolled back",
			      p->snapshot, why ? why : "an empty folder");
	int rc = em_venv_check_target(p->root, &empty, e);
	if (rc)
		return rc;
	if (empty && em_os_rmdir(p->root) != 0 && errno != ENOENT)
		return em_err_sys(e, errno, p->root, "cannot remove the empty folder");
	if (!exists(p->root)) {
		rc = move(p->snapshot, p->root, e);
		if (!rc) {
			unmark(p->root);
			em_fsync_parent(p->root);
		}
		return rc;
	}
	mark(p->root, p->workload);
	bool fallback = em_settings()->test_no_exchange;
	int x = fallback ? EM_EUNSUPPORTED : em_os_exchange(p->root, p->snapshot);
	if (x == 0) {
		unmark(p->root);
		em_fsync_parent(p->root);
		return 0;
	}
	if (x != EM_EUNSUPPORTED) {
		rc = em_err_sys(e, errno, p->root, "cannot swap the environment and its snapshot");
		unmark(p->root);
		return rc;
	}
	struct journal j = { .rollback = true };
	if ((rc = em_remove_tree(p->trash, e)) || (rc = journal_write(p->journal, &j, e))) {
		unmark(p->root);
		return rc;
	}
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
	unmark(p->root);
	return rc ? rc : r2;
}

/* ---- what is installed ---- */

/* torch's version from a dist-info folder name in site-packages */
static const char *torch_from_site(struct em_arena *a, const char *root)
{
	const char *sites[EM_VENV_MAX_SITES];
	size_t ns;
	if (em_venv_site_dirs(a, root, sites, &ns, NULL))
		return NULL;
	for (size_t k = 0; k < ns; k++) {
		struct em_dirlist *l = em_dirlist_open(sites[k]);
		const char *n, *found = NULL;
		while (l && !found && (n = em_dirlist_next(l))) {
			size_t nl = strlen(n);
			if (!strncmp(n, "torch-", 6) && nl > 16 && !strcmp(n + nl - 10, ".dist-info"))
				found = em_arena_strndup(a, n + 6, nl - 16);
		}
		em_dirlist_close(l);
		if (found)
			return found;
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
	char *cfg = em_venv_cfg_load(a, root);
	struct em_error ie;
	if (cfg) {
		*python = em_venv_cfg_get(a, cfg, "version_info");
		if (!*python)
			*python = em_venv_cfg_get(a, cfg, "version");
		if (home)
			*home = em_venv_cfg_get(a, cfg, "home");
		if (by_em)
			*by_em = em_venv_cfg_get(a, cfg, "envmatrix.workload") != NULL;
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

static int cmp_kept(const void *x, const void *y)
{
	unsigned long a = *(const unsigned long *)x, b = *(const unsigned long *)y;
	return a < b ? -1 : a > b;
}

/* the snapshots kept beside snapshot (snapshot.N), in order of N */
static void read_kept(struct em_arena *a, const char *snapshot, struct em_venv_state *out)
{
	char *dir = em_path_dir(a, snapshot);
	const char *base = strrchr(snapshot, '/');
	base = base ? base + 1 : snapshot;
	size_t bl = strlen(base);
	struct em_dirlist *d = dir ? em_dirlist_open(dir) : NULL;
	if (!d)
		return;
	unsigned long ns[64];
	uint32_t n = 0;
	const char *nm;
	while ((nm = em_dirlist_next(d)) && n < 64) {
		if (strncmp(nm, base, bl) || nm[bl] != '.' || !nm[bl + 1])
			continue;
		const char *q = nm + bl + 1;
		while (*q >= '0' && *q <= '9')
			q++;
		if (*q || nm[bl + 1] == '0')
			continue;
		ns[n++] = strtoul(nm + bl + 1, NULL, 10);
	}
	em_dirlist_close(d);
	if (!n)
		return;
	qsort(ns, n, sizeof *ns, cmp_kept);
	const char **k = em_arena_array(a, n, sizeof *k);
	if (!k)
		return;
	for (uint32_t i = 0; i < n; i++)
		if ((k[out->nkept] = em_arena_printf(a, "%s.%lu", snapshot, ns[i])))
			out->nkept++;
	out->kept = k;
}

int em_venv_state_read(struct em_arena *a, const struct em_venv_paths *p,
		       struct em_venv_state *out, struct em_error *e)
{
	(void)e;
	memset(out, 0, sizeof *out);
	struct em_stat st;
	out->exists = em_os_stat(p->root, &st) == 0 && st.type == EM_FT_DIR;
	out->has_snapshot = em_os_stat(p->snapshot, &st) == 0 && st.type == EM_FT_DIR;
	if (out->exists)
		read_one(a, p->root, &out->python, &out->home, &out->by_envmatrix, &out->torch,
			 &out->variant, &out->lock_text, &out->lock_len);
	if (out->has_snapshot) {
		const char *v = NULL;
		read_one(a, p->snapshot, &out->snapshot_python, NULL, NULL, &out->snapshot_torch, &v,
			 NULL, NULL);
		out->snapshot_ours = em_venv_snapshot_ours(p->snapshot);
	}
	read_kept(a, p->snapshot, out);
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
	int fd = em_os_open(path, EM_OPEN_RDWR | EM_OPEN_CREATE, 0644);
	if (fd < 0)
		return em_err_sys(e, errno, path, "cannot open the apply lock");
	while (em_os_lock(fd, EM_FLOCK_EX | (block ? 0 : EM_FLOCK_NB)) != 0) {
		if (errno == EINTR)
			continue;
		int err = errno;
		if (err == EWOULDBLOCK) {
			char holder[256] = "";
			ssize_t n = em_os_pread(fd, holder, sizeof holder - 1, 0);
			holder[n > 0 ? n : 0] = '\0';
			char *nl = strchr(holder, '\n');
			if (nl)
				*nl = '\0';
			em_os_close(fd);
			char q[200];
			em_quote(q, sizeof q, holder, strlen(holder));
			return em_err(e, EM_EBUSY, path,
				      "another envmatrix is working on this matrix (%s); wait for it%s",
				      holder[0] ? q : "process unknown", em_phrase(EM_PHRASE_LOCK_BUSY));
		}
		em_os_close(fd);
		return em_err_sys(e, err, path, "cannot take the apply lock");
	}
	char info[256];
	time_t now = (time_t)em_os_wall_s();
	struct tm tm;
	gmtime_r(&now, &tm);
	int n = snprintf(info, sizeof info,
			 "pid %ld, 'envmatrix %s', since %04d-%02d-%02dT%02d:%02d:%02dZ\n",
			 em_os_pid(), command, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			 tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (em_os_ftruncate(fd, 0) == 0 && em_os_pwrite(fd, info, (size_t)n, 0) < 0) {
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
	int fd = em_os_open(path, EM_OPEN_READ, 0);
	if (fd < 0 && errno == ENOENT) {
		/* the matrix's folder exists: only the state folder may be missing */
		if (em_os_mkdir(dir, 0755) == 0 || errno == EEXIST)
			fd = em_os_open(path, EM_OPEN_RDWR | EM_OPEN_CREATE, 0644);
		if (fd < 0 && (errno == EROFS || errno == EACCES || errno == EPERM))
			return 0; /* a read-only project: nothing can be applying */
	}
	if (fd < 0)
		return em_err_sys(e, errno, path, "cannot open the apply lock");
	while (em_os_lock(fd, EM_FLOCK_SH | (block ? 0 : EM_FLOCK_NB)) != 0) {
		int err = errno;
		if (err == EINTR)
			continue;
		em_os_close(fd);
		if (err == EWOULDBLOCK)
			return em_err(e, EM_EBUSY, path,
				      "another envmatrix is changing this matrix's environments; wait "
				      "for it%s", em_phrase(EM_PHRASE_LOCK_BUSY));
		return em_err_sys(e, err, path, "cannot take the apply lock");
	}
	out->fd = fd;
	return 0;
}

void em_state_lock_release(struct em_state_lock *l)
{
	if (l->fd >= 0) {
		if (em_os_ftruncate(l->fd, 0) != 0) {
			/* nothing to do: closing releases the lock */
		}
		em_os_close(l->fd);
		l->fd = -1;
	}
}

/* ---- folders that must stay apart ---- */

uint32_t em_workload_folder_line(const struct em_workload *w)
{
	if (w->venv.line > w->line)
		return w->venv.line; /* set in the workload's section */
	if (w->path.line)
		return w->path.line;
	return w->venv.line ? w->venv.line : w->line;
}

/* abs (absolute, normalized) with the links of its existing part resolved:
 * the real path of the deepest folder that exists, then the rest */
static char *resolve(struct em_arena *a, const char *abs)
{
	char *tmp = em_arena_strdup(a, abs);
	if (!tmp)
		return NULL;
	size_t cut = strlen(tmp);
	while (cut > 0) {
		tmp[cut] = '\0';
		char *r = em_os_realpath(tmp);
		if (r) {
			char *out = em_arena_printf(a, "%s%s", strcmp(r, "/") ? r : "", abs + cut);
			free(r);
			return out && !*out ? em_arena_strdup(a, "/") : out;
		}
		while (cut > 0 && tmp[cut - 1] != '/')
			cut--;
		if (cut > 0)
			cut--;
	}
	return em_arena_strdup(a, abs); /* below "/", nothing exists */
}

enum rel { R_APART, R_SAME, R_INSIDE, R_CONTAINS };

/* a resolved folder, and its device and inode when it exists */
struct folder {
	const char *path;
	bool there;
	uint64_t dev, ino;
};

static bool folder_get(struct em_arena *a, const char *abs, struct folder *f)
{
	memset(f, 0, sizeof *f);
	if (!abs || !(f->path = resolve(a, abs)))
		return false;
	struct em_stat st;
	if (em_os_stat(f->path, &st) == 0) {
		f->there = true;
		f->dev = st.dev;
		f->ino = st.ino;
	}
	return true;
}

/* how folder fx stands to folder fy */
static enum rel relation(const struct folder *fx, const struct folder *fy)
{
	const char *x = fx->path, *y = fy->path;
	if (!strcmp(x, y) || (fx->there && fy->there && fx->dev == fy->dev && fx->ino == fy->ino))
		return R_SAME;
	size_t xl = strlen(x), yl = strlen(y);
	if (yl < xl && !strncmp(x, y, yl) && (x[yl] == '/' || !strcmp(y, "/")))
		return R_INSIDE;
	if (xl < yl && !strncmp(x, y, xl) && (y[xl] == '/' || !strcmp(x, "/")))
		return R_CONTAINS;
	return R_APART;
}

enum { F_ROOT, F_SNAPSHOT, F_STAGING, F_TRASH, F_JOURNAL, F_N };
static const char *const folder_name[F_N] = { "environment folder", "snapshot folder",
					       "staging folder", "trash folder", "swap journal" };

int em_matrix_check_folders(struct em_arena *a, const char *matrix_path,
			    const struct em_matrix *m, const char *history_env, struct em_error *e)
{
	struct em_arena_mark mk = em_arena_mark(a);
	int rc = 0;
	struct folder(*f)[F_N] = em_arena_array(a, m->nworkloads ? m->nworkloads : 1, sizeof *f);
	char *mdir = em_path_dir(a, matrix_path);
	char *sdir = mdir ? em_path_join(a, mdir, EM_STATE_DIR) : NULL;
	sdir = sdir ? em_path_absolute(a, sdir) : NULL;
	const char *hist = NULL;
	struct folder reserved[2];
	static const char *const reserved_what[2] = { "the state folder",
						      "the history repository" };
	if (!f || !folder_get(a, sdir, &reserved[0])) {
		rc = em_err_nomem(e);
		goto out;
	}
	if ((rc = em_history_path(a, matrix_path, m, history_env, &hist, e)))
		goto out;
	if (!folder_get(a, hist, &reserved[1]) && hist) {
		rc = em_err_nomem(e);
		goto out;
	}
	for (uint32_t i = 0; i < m->nworkloads; i++) {
		const struct em_workload *w = &m->workloads[i];
		struct em_venv_paths p;
		if ((rc = em_venv_paths(a, matrix_path, w, &p, e)))
			goto out;
		const char *raw[F_N] = { p.root, p.snapshot, p.staging, p.trash, p.journal };
		for (int k = 0; k < F_N; k++)
			if (!folder_get(a, raw[k], &f[i][k])) {
				rc = em_err_nomem(e);
				goto out;
			}
		for (int k = 0; k < F_N; k++)
			for (int r = 0; r < 2; r++) {
				if (!reserved[r].path)
					continue;
				enum rel rl = relation(&f[i][k], &reserved[r]);
				if (rl == R_APART)
					continue;
				rc = em_err(e, EM_EINVAL, NULL,
					    "workload [%s]: its %s '%s' %s %s '%s', which envmatrix "
					    "keeps for itself; set venv or path to another folder",
					    w->name, folder_name[k], f[i][k].path,
					    rl == R_SAME ? "is" : rl == R_INSIDE ? "is inside" : "contains",
					    reserved_what[r], reserved[r].path);
				em_err_prefix_where(e, "%s:%u", matrix_path,
						    (unsigned)em_workload_folder_line(w));
				goto out;
			}
	}
	for (uint32_t i = 0; i < m->nworkloads; i++) {
		const struct em_workload *wi = &m->workloads[i];
		for (uint32_t j = 0; j < m->nworkloads; j++) {
			if (j == i)
				continue;
			const struct em_workload *wj = &m->workloads[j];
			unsigned li = em_workload_folder_line(wi), lj = em_workload_folder_line(wj);
			enum rel rl = relation(&f[i][F_ROOT], &f[j][F_ROOT]);
			if (j < i && rl == R_SAME) {
				rc = em_err(e, EM_EINVAL, NULL,
					    "workloads [%s] (line %u) and [%s] (line %u) share the "
					    "environment folder '%s' under two names; give each its own "
					    "venv or path", wj->name, lj, wi->name, li, f[i][F_ROOT].path);
			} else if (j < i && rl != R_APART) {
				rc = em_err(e, EM_EINVAL, NULL,
					    "the environment folders of [%s] (line %u, '%s') and [%s] "
					    "(line %u, '%s') are nested; an apply would replace one "
					    "inside the other", wj->name, lj, f[j][F_ROOT].path, wi->name,
					    li, f[i][F_ROOT].path);
			} else {
				for (int k = F_SNAPSHOT; k < F_N && !rc; k++) {
					enum rel r2 = relation(&f[i][F_ROOT], &f[j][k]);
					if (r2 == R_SAME || r2 == R_INSIDE)
						rc = em_err(e, EM_EINVAL, NULL,
							    "the environment folder of [%s] ('%s') %s the "
							    "%s of [%s] (line %u); an apply of [%s] would "
							    "replace it: set venv or path to another folder",
							    wi->name, f[i][F_ROOT].path,
							    r2 == R_SAME ? "is" : "is inside",
							    folder_name[k], wj->name, lj, wj->name);
				}
			}
			if (rc) {
				em_err_prefix_where(e, "%s:%u", matrix_path, li);
				goto out;
			}
		}
	}
out:
	em_arena_rewind(a, mk);
	return rc;
}

bool em_venv_swap_interrupted(const struct em_venv_paths *p)
{
	return exists(p->journal); /* its journal is there */
}
