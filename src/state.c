/* state.c - the history of applied generations in a bare git repository
 * (libgit2); history.h describes the layout
 */
#include "history.h"
#include "apply.h"
#include "rev.h"
#include "lockname.h"
#include "util/buf.h"
#include "os/fs.h"
#include "os/sys.h"
#include "settings.h"

#include <git2.h>
#include <zlib.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_LOCK (64u << 20)
#define ARROW "\xe2\x86\x92" /* → */

const char *em_gen_kind_name(enum em_gen_kind k)
{
	switch (k) {
	case EM_GEN_APPLY: return "apply";
	case EM_GEN_FROZEN: return "frozen";
	case EM_GEN_ROLLBACK: return "rollback";
	}
	return "?";
}

static bool kind_parse(const char *s, enum em_gen_kind *k)
{
	for (int i = EM_GEN_APPLY; i <= EM_GEN_ROLLBACK; i++)
		if (!strcmp(s, em_gen_kind_name((enum em_gen_kind)i))) {
			*k = (enum em_gen_kind)i;
			return true;
		}
	return false;
}

int em_history_path(struct em_arena *a, const char *matrix_path, const struct em_matrix *m,
		    const char *env, const char **out, struct em_error *e)
{
	*out = NULL;
	const char *v = env && *env ? env : m && m->history.value ? m->history.value : NULL;
	if (v && !strcmp(v, "off"))
		return 0;
	char *dir = em_path_dir(a, matrix_path);
	const char *def = v ? NULL : em_matrix_history_dir(a, matrix_path, m);
	char *p = !dir || (!v && !def) ? NULL : em_path_join(a, dir, v ? v : def);
	char *abs = p ? em_path_absolute(a, p) : NULL;
	if (!abs)
		return em_err_nomem(e);
	*out = abs;
	return 0;
}

/* ---- errors ---- */

static const char *git_msg(void)
{
	const git_error *ge = git_error_last();
	return ge && ge->message ? ge->message : "unknown error";
}

/* The operating-system cause of libgit2's last error when it is one the
 * user must act on (a full disk, a quota, a read-only file system, missing
 * permissions), else 0: those are not damage. libgit2 reports OS errors
 * with class GIT_ERROR_OS and errno set, and quotes strerror() in its
 * message; either tells. Call right after the failing git call. */
static int os_cause(void)
{
	static const int known[] = { ENOSPC, EDQUOT, EROFS, EACCES, EPERM };
	int err = errno;
	const git_error *ge = git_error_last();
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (ge && ge->klass == GIT_ERROR_OS && err == known[i])
			return err;
	for (size_t i = 0; ge && ge->message && i < sizeof known / sizeof known[0]; i++)
		if (strstr(ge->message, strerror(known[i])))
			return known[i];
	return 0;
}

static const char *os_words(int err)
{
	switch (err) {
	case ENOSPC: return "no space left on the device: free some space and try again";
	case EDQUOT: return "the disk quota is exceeded: free some space and try again";
	case EROFS: return "the file system is read-only";
	default: return "permission denied";
	}
}

static int gerr(struct em_error *e, const struct em_history *h, int grc, const char *what)
{
	int err = os_cause();
	if (err)
		return em_err(e, EM_EIO, h->path, "%s: %s (%s)", what, os_words(err), git_msg());
	if (grc == GIT_ELOCKED)
		return em_err(e, EM_EBUSY, h->path,
			      "%s: %s; the history repository is locked by a git process (or "
			      "one that was killed): when no git process runs, remove the "
			      "'.lock' file named", what, git_msg());
	return em_err(e, EM_EIO, h->path,
		      "%s: %s; the history repository is damaged: move it aside (the "
		      "environments are not affected, and the next apply starts a new "
		      "history there) or restore it from a copy", what, git_msg());
}

/* A git lock file left in the repository: EM_EBUSY naming it. */
static int check_locks(struct em_arena *a, const struct em_history *h, struct em_error *e)
{
	static const char *const names[] = { "HEAD.lock", EM_HISTORY_BRANCH ".lock",
					     "packed-refs.lock", "index.lock", "config.lock" };
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		char *p = em_arena_printf(a, "%s/%s", h->path, names[i]);
		struct em_stat st;
		if (!p)
			return em_err_nomem(e);
		if (em_os_lstat(p, &st) == 0)
			return em_err(e, EM_EBUSY, p,
				      "the history repository '%s' is locked (a git process uses it, "
				      "or one was killed): when no git process runs, remove this "
				      "file and apply again", h->path);
	}
	return 0;
}

/* ---- opening ---- */

int em_history_open(struct em_history *h, struct em_arena *a, const char *path, bool create,
		    struct em_error *e)
{
	(void)a;
	h->path = path;
	h->repo = NULL;
	git_libgit2_init();
	struct em_stat st;
	int grc;
	if (em_os_stat(path, &st) != 0) {
		if (errno != ENOENT) {
			git_libgit2_shutdown();
			return em_err_sys(e, errno, path, "cannot read the history repository");
		}
		if (!create) {
			git_libgit2_shutdown();
			return em_err(e, EM_ENOTFOUND, path,
				      "no history yet: the first apply that changes an environment "
				      "starts it");
		}
		git_repository_init_options io;
		git_repository_init_options_init(&io, GIT_REPOSITORY_INIT_OPTIONS_VERSION);
		io.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_MKPATH;
		io.initial_head = "main";
		io.description = "envmatrix history: one commit per apply that changed an "
				 "environment\n";
		grc = git_repository_init_ext(&h->repo, path, &io);
		if (grc) {
			int err = os_cause();
			int rc = err ? em_err(e, EM_EIO, path, "cannot create the history "
					      "repository: %s (%s)", os_words(err), git_msg())
				     : em_err(e, EM_EIO, path, "cannot create the history "
					      "repository: %s", git_msg());
			git_libgit2_shutdown();
			return rc;
		}
		return 0;
	}
	grc = git_repository_open_ext(&h->repo, path, GIT_REPOSITORY_OPEN_NO_SEARCH |
				      GIT_REPOSITORY_OPEN_BARE, NULL);
	if (grc) {
		int rc = gerr(e, h, grc, "cannot open the history repository");
		git_libgit2_shutdown();
		h->repo = NULL;
		return rc;
	}
	return 0;
}

void em_history_close(struct em_history *h)
{
	if (h->repo) {
		git_repository_free(h->repo);
		h->repo = NULL;
		git_libgit2_shutdown();
	}
}

/* ---- objects, checked before libgit2 reads them ----
 *
 * libgit2 1.5 never returns from reading a truncated loose object, so
 * every object the history reads is first inflated here: a loose object
 * must be a complete zlib stream. (Packed objects carry their own checks.) */

static int obj_ok(struct em_arena *a, const struct em_history *h, const git_oid *id,
		  struct em_error *e)
{
	char hex[GIT_OID_HEXSZ + 1];
	git_oid_tostr(hex, sizeof hex, id);
	char *p = em_arena_printf(a, "%s/objects/%.2s/%s", h->path, hex, hex + 2);
	if (!p)
		return em_err_nomem(e);
	int fd = em_os_open(p, EM_OPEN_READ, 0);
	if (fd < 0)
		return 0; /* packed, or missing: libgit2 says which */
	z_stream z;
	memset(&z, 0, sizeof z);
	int zrc = inflateInit(&z);
	unsigned char in[16384], out[16384];
	bool end = false, bad = zrc != Z_OK;
	while (!end && !bad) {
		ssize_t n = em_os_read(fd, in, sizeof in);
		if (n <= 0) {
			bad = true;
			break;
		}
		z.next_in = in;
		z.avail_in = (uInt)n;
		while (z.avail_in && !end && !bad) {
			z.next_out = out;
			z.avail_out = sizeof out;
			zrc = inflate(&z, Z_NO_FLUSH);
			end = zrc == Z_STREAM_END;
			bad = zrc != Z_OK && !end;
		}
	}
	inflateEnd(&z);
	em_os_close(fd);
	if (bad)
		return em_err(e, EM_EIO, p, "object %s of the history repository '%s' is damaged "
			      "(truncated or corrupt): move the repository aside (the environments "
			      "are not affected, and the next apply starts a new history there) or "
			      "restore it from a copy", hex, h->path);
	return 0;
}

static int tree_lookup(struct em_arena *a, const struct em_history *h, git_tree **t,
		       const git_oid *id, struct em_error *e)
{
	int rc = obj_ok(a, h, id, e);
	if (rc)
		return rc;
	int grc = git_tree_lookup(t, h->repo, id);
	return grc ? gerr(e, h, grc, "cannot read a tree") : 0;
}

/* The id of path in tree, each tree on the way checked: EM_ENOTFOUND
 * when it is not there. */
static int path_id(struct em_arena *a, const struct em_history *h, git_tree *tree,
		   const char *path, git_oid *out, struct em_error *e)
{
	git_tree *cur = tree;
	int rc = 0;
	for (;;) {
		const char *slash = strchr(path, '/');
		char name[256];
		size_t n = slash ? (size_t)(slash - path) : strlen(path);
		if (n >= sizeof name) {
			rc = EM_ENOTFOUND;
			break;
		}
		memcpy(name, path, n);
		name[n] = '\0';
		const git_tree_entry *te = git_tree_entry_byname(cur, name);
		if (!te || (slash && git_tree_entry_type(te) != GIT_OBJECT_TREE) ||
		    (!slash && git_tree_entry_type(te) != GIT_OBJECT_BLOB)) {
			rc = EM_ENOTFOUND;
			break;
		}
		if (!slash) {
			git_oid_cpy(out, git_tree_entry_id(te));
			break;
		}
		git_tree *next = NULL;
		rc = tree_lookup(a, h, &next, git_tree_entry_id(te), e);
		if (cur != tree)
			git_tree_free(cur);
		cur = next;
		if (rc)
			return rc;
		path = slash + 1;
	}
	if (cur != tree)
		git_tree_free(cur);
	return rc;
}

/* ---- the head ---- */

struct head {
	git_commit *commit; /* NULL: no commit yet */
	git_tree *tree;
	uint32_t sequence;
};

static void head_free(struct head *hd)
{
	git_tree_free(hd->tree);
	git_commit_free(hd->commit);
	memset(hd, 0, sizeof *hd);
}

static int read_blob(struct em_arena *a, const struct em_history *h, git_tree *tree,
		     const char *path, char **text, size_t *len, git_oid *oid, struct em_error *e)
{
	*text = NULL;
	*len = 0;
	git_oid id;
	int rc = path_id(a, h, tree, path, &id, e);
	if (!rc)
		rc = obj_ok(a, h, &id, e);
	if (rc)
		return rc;
	if (oid)
		git_oid_cpy(oid, &id);
	git_blob *b = NULL;
	int grc = git_blob_lookup(&b, h->repo, &id);
	if (grc)
		return gerr(e, h, grc, path);
	size_t n = (size_t)git_blob_rawsize(b);
	*text = em_arena_strndup(a, git_blob_rawcontent(b), n);
	*len = n;
	git_blob_free(b);
	return *text ? 0 : em_err_nomem(e);
}

static int head_read(struct em_arena *a, const struct em_history *h, struct head *hd,
		     struct em_error *e)
{
	memset(hd, 0, sizeof hd[0]);
	git_reference *ref = NULL;
	int grc = git_repository_head(&ref, h->repo);
	if (grc == GIT_EUNBORNBRANCH || grc == GIT_ENOTFOUND)
		return 0;
	if (grc)
		return gerr(e, h, grc, "cannot read HEAD");
	int rc = git_reference_target(ref) ? obj_ok(a, h, git_reference_target(ref), e) : 0;
	if (rc) {
		git_reference_free(ref);
		return rc;
	}
	grc = git_reference_target(ref) ? git_commit_lookup(&hd->commit, h->repo,
							      git_reference_target(ref))
					: GIT_EINVALID;
	git_reference_free(ref);
	if (!grc && (rc = obj_ok(a, h, git_commit_tree_id(hd->commit), e))) {
		head_free(hd);
		return rc;
	}
	if (!grc)
		grc = git_commit_tree(&hd->tree, hd->commit);
	if (grc) {
		head_free(hd);
		return gerr(e, h, grc, "cannot read the newest commit");
	}
	char *s;
	size_t n;
	rc = read_blob(a, h, hd->tree, "sequence", &s, &n, NULL, e);
	if (rc == EM_ENOTFOUND)
		return 0;
	if (rc) {
		head_free(hd);
		return rc;
	}
	hd->sequence = (uint32_t)strtoul(s, NULL, 10);
	return 0;
}

/* The commit sequence numbers back from the head: its hex id. */
static int commit_at(struct em_arena *a, const struct em_history *h, const struct head *hd,
		     uint32_t sequence, char hex[41], struct em_error *e)
{
	if (!hd->commit || sequence > hd->sequence || sequence == 0)
		return em_err(e, EM_EIO, h->path, "the generation index names commit %u of %u; the "
			      "history repository is damaged", sequence, hd->sequence);
	git_commit *c = hd->commit;
	int grc = 0;
	for (uint32_t k = hd->sequence; k > sequence && !grc; k--) {
		git_commit *p = NULL;
		const git_oid *pid = git_commit_parent_id(c, 0);
		int rc = pid ? obj_ok(a, h, pid, e) : 0;
		if (rc) {
			if (c != hd->commit)
				git_commit_free(c);
			return rc;
		}
		grc = git_commit_parent(&p, c, 0);
		if (c != hd->commit)
			git_commit_free(c);
		c = p;
	}
	if (grc)
		return gerr(e, h, grc, "cannot walk the history");
	git_oid_tostr(hex, 41, git_commit_id(c));
	if (c != hd->commit)
		git_commit_free(c);
	return 0;
}

/* ---- the generation index ---- */

static char *field(char **s)
{
	char *f = *s;
	char *t = f ? strchr(f, '\t') : NULL;
	if (t) {
		*t = '\0';
		*s = t + 1;
	} else {
		*s = NULL;
	}
	return f;
}

/* Parse the index text (modified in place) into gens, oldest first. */
static int index_parse(struct em_arena *a, const struct em_history *h, const char *workload,
		       char *text, struct em_generation **out, uint32_t *n, struct em_error *e)
{
	uint32_t lines = 0;
	for (const char *p = text; *p; p++)
		lines += *p == '\n';
	struct em_generation *g = em_arena_array(a, lines ? lines : 1, sizeof *g);
	if (!g)
		return em_err_nomem(e);
	uint32_t k = 0;
	char *line = text;
	for (uint32_t i = 0; i < lines; i++) {
		char *nl = strchr(line, '\n');
		*nl = '\0';
		char *s = line;
		line = nl + 1;
		char *f[10];
		for (int j = 0; j < 10; j++)
			f[j] = field(&s);
		struct em_generation *x = &g[k];
		memset(x, 0, sizeof *x);
		x->workload = workload;
		if (!f[9] || !kind_parse(f[4], &x->kind) || strlen(f[2]) > 40)
			return em_err(e, EM_EIO, h->path,
				      "workloads/%s/generations line %u is not a generation index "
				      "line; the history repository is damaged", workload, i + 1);
		x->number = (uint32_t)strtoul(f[0], NULL, 10);
		x->sequence = (uint32_t)strtoul(f[1], NULL, 10);
		snprintf(x->commit, sizeof x->commit, "%s", f[2]);
		x->time = strtoll(f[3], NULL, 10);
		x->rollback_to = (uint32_t)strtoul(f[5], NULL, 10);
		x->rev = strcmp(f[6], "-") ? f[6] : NULL;
		x->author = f[7];
		x->summary = f[9];
		(void)f[8];
		k++;
	}
	*out = g;
	*n = k;
	return 0;
}

static void index_line(struct em_buf *b, const struct em_generation *x)
{
	em_buf_addf(b, "%u\t%u\t%s\t%lld\t%s\t%u\t%s\t%s\t-\t%s\n", x->number, x->sequence,
		    x->commit[0] ? x->commit : "-", (long long)x->time, em_gen_kind_name(x->kind),
		    x->rollback_to, x->rev ? x->rev : "-", x->author, x->summary);
}

/* Tabs and newlines would break an index line. */
static char *one_line(struct em_arena *a, const char *s)
{
	char *c = em_arena_strdup(a, s ? s : "");
	for (char *p = c; p && *p; p++)
		if (*p == '\t' || *p == '\n' || *p == '\r')
			*p = ' ';
	return c;
}

/* The workload's generations, oldest first, with every commit resolved. */
static int workload_gens(struct em_arena *a, const struct em_history *h, const struct head *hd,
			 const char *workload, struct em_generation **out, uint32_t *n,
			 struct em_error *e)
{
	*out = NULL;
	*n = 0;
	if (!hd->tree)
		return 0;
	char *path = em_arena_printf(a, "workloads/%s/generations", workload);
	if (!path)
		return em_err_nomem(e);
	char *text;
	size_t len;
	int rc = read_blob(a, h, hd->tree, path, &text, &len, NULL, e);
	if (rc == EM_ENOTFOUND)
		return 0;
	if (rc || (rc = index_parse(a, h, workload, text, out, n, e)))
		return rc;
	for (uint32_t i = 0; i < *n; i++)
		if (!strcmp((*out)[i].commit, "-") &&
		    (rc = commit_at(a, h, hd, (*out)[i].sequence, (*out)[i].commit, e)))
			return rc;
	return 0;
}

/* ---- summaries ---- */

static const char *torch_of(const struct em_lock *l)
{
	for (uint32_t i = 0; l && i < l->npackages; i++)
		if (!strcmp(l->packages[i].name, "torch"))
			return l->packages[i].version;
	return NULL;
}

char *em_change_summary(struct em_arena *a, const struct em_lock *old, const struct em_lock *nw,
			const struct em_change *c, uint32_t n)
{
	struct em_buf b = EM_BUF_INIT;
	const char *sep = "";
	if (!old) {
		if (nw->python) {
			em_buf_addf(&b, "python %s", nw->python);
			sep = ", ";
		}
		const char *t = torch_of(nw);
		if (t) {
			em_buf_addf(&b, "%storch %s", sep, t);
			sep = ", ";
		}
		em_buf_addf(&b, "%s%u package%s", sep, nw->npackages, nw->npackages == 1 ? "" : "s");
	} else {
		if (old->python && nw->python && strcmp(old->python, nw->python)) {
			em_buf_addf(&b, "python %s " ARROW " %s", old->python, nw->python);
			sep = ", ";
		}
		uint32_t added = 0, removed = 0, changed = 0, named = 0;
		/* torch first, then the others by name */
		for (int pass = 0; pass < 2; pass++)
			for (uint32_t i = 0; i < n; i++) {
				const struct em_change *x = &c[i];
				bool torch = !strcmp(x->name, "torch");
				if ((pass == 0) != torch)
					continue;
				if (x->kind == EM_CHANGE_ADDED) {
					added++;
					continue;
				}
				if (x->kind == EM_CHANGE_REMOVED) {
					removed++;
					continue;
				}
				changed++;
				if (named == EM_SUMMARY_NAMED)
					continue;
				named++;
				if (x->kind == EM_CHANGE_REBUILT)
					em_buf_addf(&b, "%s%s %s rebuilt", sep, x->name,
						    x->to ? x->to : "?");
				else
					em_buf_addf(&b, "%s%s %s " ARROW " %s", sep, x->name,
						    x->from ? x->from : "?", x->to ? x->to : "?");
				sep = ", ";
			}
		if (changed > named) {
			em_buf_addf(&b, "%s%u more changed", sep, changed - named);
			sep = ", ";
		}
		if (added) {
			em_buf_addf(&b, "%s+%u package%s", sep, added, added == 1 ? "" : "s");
			sep = ", ";
			if (removed)
				em_buf_addf(&b, ", -%u", removed);
		} else if (removed) {
			em_buf_addf(&b, "%s-%u package%s", sep, removed, removed == 1 ? "" : "s");
			sep = ", ";
		}
		if (!*sep)
			em_buf_addstr(&b, "same packages (the lock changed)");
	}
	char *s = b.err ? NULL : em_arena_strdup(a, b.ptr);
	em_buf_release(&b);
	return s;
}

/* ---- recording ---- */

static int author(git_signature **sig, git_repository *repo)
{
	if (git_signature_default(sig, repo) == 0)
		return 0;
	const char *user = em_settings()->user;
	if (!user || !*user)
		user = "envmatrix";
	char host[256] = "localhost";
	EM_IGNORE(em_os_hostname(host, sizeof host)); /* failing, "localhost" stays */
	char email[600];
	snprintf(email, sizeof email, "%s@%s", user, host);
	return git_signature_now(sig, user, email);
}

struct blobs {
	git_tree_update *u;
	size_t n;
};

static int put(struct em_arena *a, const struct em_history *h, struct blobs *b, const char *path,
	       const char *data, size_t len, struct em_error *e)
{
	git_tree_update *u = &b->u[b->n];
	memset(u, 0, sizeof *u);
	int grc = git_blob_create_from_buffer(&u->id, h->repo, data, len);
	if (grc)
		return gerr(e, h, grc, "cannot write to the history repository");
	u->action = GIT_TREE_UPDATE_UPSERT;
	u->filemode = GIT_FILEMODE_BLOB;
	u->path = em_arena_strdup(a, path);
	if (!u->path)
		return em_err_nomem(e);
	b->n++;
	return 0;
}

static int record_workload(struct em_arena *a, const struct em_history *h, const struct head *hd,
			   const struct em_record *r, const struct em_record_workload *w,
			   const char *who, int64_t now, struct blobs *bl, struct em_buf *msg,
			   uint32_t *number, struct em_error *e)
{
	struct em_generation *g;
	uint32_t ng;
	int rc = workload_gens(a, h, hd, w->name, &g, &ng, e);
	if (rc)
		return rc;
	struct em_lock nw, old;
	bool have_old = false;
	rc = em_lock_parse(a, w->lock_text, w->lock_len, "the new lock", &nw, e);
	if (rc)
		return rc;
	if (ng) {
		char *p = em_arena_printf(a, "workloads/%s/pylock.toml", w->name);
		char *text;
		size_t len;
		struct em_error le;
		em_error_clear(&le);
		if (!p)
			return em_err_nomem(e);
		if (read_blob(a, h, hd->tree, p, &text, &len, NULL, &le) == 0 &&
		    em_lock_parse(a, text, len, p, &old, &le) == 0)
			have_old = true;
	}
	struct em_change *c = NULL;
	uint32_t nc = 0;
	if (have_old && em_lock_diff(a, &old, &nw, &c, &nc))
		return em_err_nomem(e);
	struct em_generation x;
	memset(&x, 0, sizeof x);
	x.number = ng ? g[ng - 1].number + 1 : 1;
	x.sequence = hd->sequence + 1;
	x.time = now;
	x.kind = w->kind;
	x.rollback_to = w->kind == EM_GEN_ROLLBACK ? w->rollback_to : 0;
	x.rev = r->rev;
	x.author = who;
	x.summary = one_line(a, em_change_summary(a, have_old ? &old : NULL, &nw, c, nc));
	if (!x.summary)
		return em_err_nomem(e);
	struct em_buf ix = EM_BUF_INIT;
	for (uint32_t i = 0; i < ng; i++)
		index_line(&ix, &g[i]);
	index_line(&ix, &x);
	char *path = em_arena_printf(a, "workloads/%s/generations", w->name);
	char *lp = em_arena_printf(a, "workloads/%s/pylock.toml", w->name);
	char *vp = em_arena_printf(a, "workloads/%s/verify.json", w->name);
	if (ix.err || !path || !lp || !vp) {
		em_buf_release(&ix);
		return em_err_nomem(e);
	}
	rc = put(a, h, bl, path, ix.ptr, ix.len, e);
	em_buf_release(&ix);
	if (!rc)
		rc = put(a, h, bl, lp, w->lock_text, w->lock_len, e);
	if (!rc && w->verify_json) {
		rc = put(a, h, bl, vp, w->verify_json, strlen(w->verify_json), e);
	} else if (!rc && hd->tree) {
		/* no results for this generation: not the previous one's either */
		git_tree_entry *te = NULL;
		if (git_tree_entry_bypath(&te, hd->tree, vp) == 0) {
			git_tree_entry_free(te);
			git_tree_update *u = &bl->u[bl->n++];
			memset(u, 0, sizeof *u);
			u->action = GIT_TREE_UPDATE_REMOVE;
			u->path = vp;
		}
	}
	if (rc)
		return rc;
	char to[32] = "";
	if (x.kind == EM_GEN_ROLLBACK)
		snprintf(to, sizeof to, " %u", x.rollback_to);
	em_buf_addf(msg, "Envmatrix-Generation: %s %u %s%s\nEnvmatrix-Summary: %s: %s\n", w->name,
		    x.number, em_gen_kind_name(x.kind), to, w->name, x.summary);
	*number = x.number;
	return 0;
}

int em_history_record(struct em_arena *a, struct em_history *h, const struct em_record *r,
		      uint32_t *numbers, struct em_error *e)
{
	if (!r->n)
		return 0;
	int rc = check_locks(a, h, e);
	if (rc)
		return rc;
	struct head hd;
	if ((rc = head_read(a, h, &hd, e)))
		return rc;
	struct blobs bl = { em_arena_array(a, 3 + 3 * (size_t)r->n, sizeof(git_tree_update)), 0 };
	uint32_t *nums = em_arena_array(a, r->n, sizeof *nums);
	char *who = NULL;
	git_signature *sig = NULL;
	git_tree *base = NULL, *tree = NULL;
	struct em_buf msg = EM_BUF_INIT;
	int grc = 0;
	if (!bl.u || !nums) {
		rc = em_err_nomem(e);
		goto out;
	}
	if ((grc = author(&sig, h->repo))) {
		rc = gerr(e, h, grc, "cannot make the commit's author");
		goto out;
	}
	who = one_line(a, sig->name);
	int64_t now = (int64_t)sig->when.time;
	em_buf_addf(&msg, "%s:", r->n == 1 && r->w[0].kind == EM_GEN_ROLLBACK ? "rollback" : "apply");
	for (uint32_t i = 0; i < r->n; i++)
		em_buf_addf(&msg, " %s", r->w[i].name);
	em_buf_addstr(&msg, "\n\n");
	if (r->rev)
		em_buf_addf(&msg, "Envmatrix-Rev: %s\n", r->rev);
	for (uint32_t i = 0; i < r->n && !rc; i++)
		rc = record_workload(a, h, &hd, r, &r->w[i], who ? who : "?", now, &bl, &msg,
				     &nums[i], e);
	if (rc)
		goto out;
	char seq[32];
	snprintf(seq, sizeof seq, "%u\n", hd.sequence + 1);
	const char *host = r->host_json ? r->host_json : "{}";
	if ((rc = put(a, h, &bl, "matrix.ini", r->matrix_text ? r->matrix_text : "",
		      r->matrix_text ? r->matrix_len : 0, e)) ||
	    (rc = put(a, h, &bl, "host.json", host, strlen(host), e)) ||
	    (rc = put(a, h, &bl, "sequence", seq, strlen(seq), e)))
		goto out;
	if (msg.err) {
		rc = em_err_nomem(e);
		goto out;
	}
	if (hd.tree) {
		base = hd.tree;
	} else {
		git_treebuilder *tb = NULL;
		git_oid empty;
		grc = git_treebuilder_new(&tb, h->repo, NULL);
		if (!grc)
			grc = git_treebuilder_write(&empty, tb);
		git_treebuilder_free(tb);
		if (!grc)
			grc = git_tree_lookup(&tree, h->repo, &empty);
		if (grc) {
			rc = gerr(e, h, grc, "cannot write to the history repository");
			goto out;
		}
		base = tree;
	}
	git_oid tid, cid;
	grc = git_tree_create_updated(&tid, h->repo, base, bl.n, bl.u);
	if (tree) {
		git_tree_free(tree);
		tree = NULL;
	}
	if (!grc)
		grc = git_tree_lookup(&tree, h->repo, &tid);
	if (grc) {
		rc = gerr(e, h, grc, "cannot write to the history repository");
		goto out;
	}
	/* objects first; the branch moves last, checked against its parent */
	const git_commit *parents[1] = { hd.commit };
	grc = git_commit_create(&cid, h->repo, "HEAD", sig, sig, "UTF-8", msg.ptr, tree,
				hd.commit ? 1 : 0, parents);
	if (grc) {
		rc = gerr(e, h, grc, "cannot record the generation");
		goto out;
	}
	if (numbers)
		memcpy(numbers, nums, r->n * sizeof *nums);
out:
	em_buf_release(&msg);
	git_tree_free(tree);
	git_signature_free(sig);
	head_free(&hd);
	return rc;
}

/* ---- reading ---- */

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static int names_in(struct em_arena *a, const struct em_history *h, const struct head *hd,
		    const char ***names, uint32_t *n, struct em_error *e)
{
	*names = NULL;
	*n = 0;
	if (!hd->tree)
		return 0;
	const git_tree_entry *te = git_tree_entry_byname(hd->tree, "workloads");
	if (!te || git_tree_entry_type(te) != GIT_OBJECT_TREE)
		return 0;
	git_tree *wt = NULL;
	int rc = tree_lookup(a, h, &wt, git_tree_entry_id(te), e);
	if (rc)
		return rc;
	size_t c = git_tree_entrycount(wt);
	const char **v = em_arena_array(a, c ? c : 1, sizeof *v);
	if (!v) {
		git_tree_free(wt);
		return em_err_nomem(e);
	}
	for (size_t i = 0; i < c; i++)
		if (!(v[i] = em_arena_strdup(a, git_tree_entry_name(git_tree_entry_byindex(wt, i))))) {
			git_tree_free(wt);
			return em_err_nomem(e);
		}
	git_tree_free(wt);
	qsort(v, c, sizeof *v, cmp_str);
	*names = v;
	*n = (uint32_t)c;
	return 0;
}

int em_history_workloads(struct em_arena *a, struct em_history *h, const char ***names,
			 uint32_t *n, struct em_error *e)
{
	struct head hd;
	int rc = head_read(a, h, &hd, e);
	if (!rc)
		rc = names_in(a, h, &hd, names, n, e);
	head_free(&hd);
	return rc;
}

static int cmp_gen_newest(const void *x, const void *y)
{
	const struct em_generation *p = x, *q = y;
	if (p->sequence != q->sequence)
		return p->sequence < q->sequence ? 1 : -1;
	return strcmp(p->workload, q->workload);
}

int em_history_list(struct em_arena *a, struct em_history *h, const char *workload,
		    struct em_generation **out, uint32_t *n, struct em_error *e)
{
	*out = NULL;
	*n = 0;
	struct head hd;
	int rc = head_read(a, h, &hd, e);
	if (rc)
		return rc;
	const char **names = &workload;
	uint32_t nn = 1;
	if (!workload)
		rc = names_in(a, h, &hd, &names, &nn, e);
	struct em_generation **per = rc ? NULL : em_arena_array(a, nn ? nn : 1, sizeof *per);
	uint32_t *cnt = rc ? NULL : em_arena_array(a, nn ? nn : 1, sizeof *cnt);
	uint32_t total = 0;
	if (!rc && (!per || !cnt))
		rc = em_err_nomem(e);
	for (uint32_t i = 0; i < nn && !rc; i++) {
		rc = workload_gens(a, h, &hd, names[i], &per[i], &cnt[i], e);
		total += rc ? 0 : cnt[i];
	}
	struct em_generation *all = rc ? NULL : em_arena_array(a, total ? total : 1, sizeof *all);
	if (!rc && !all)
		rc = em_err_nomem(e);
	if (!rc) {
		uint32_t k = 0;
		for (uint32_t i = 0; i < nn; i++)
			for (uint32_t j = 0; j < cnt[i]; j++)
				all[k++] = per[i][j];
		qsort(all, total, sizeof *all, cmp_gen_newest);
		*out = all;
		*n = total;
	}
	head_free(&hd);
	return rc;
}

static int lock_at(struct em_arena *a, const struct em_history *h, const char *workload,
		   const char *commit, char **text, size_t *len, git_oid *blob, struct em_error *e)
{
	git_oid oid;
	git_commit *c = NULL;
	git_tree *t = NULL;
	int grc = git_oid_fromstr(&oid, commit);
	int rc = grc ? 0 : obj_ok(a, h, &oid, e);
	if (rc)
		return rc;
	if (!grc)
		grc = git_commit_lookup(&c, h->repo, &oid);
	if (!grc && (rc = obj_ok(a, h, git_commit_tree_id(c), e))) {
		git_commit_free(c);
		return rc;
	}
	if (!grc)
		grc = git_commit_tree(&t, c);
	git_commit_free(c);
	if (grc)
		return gerr(e, h, grc, "cannot read a generation's commit");
	char *p = em_arena_printf(a, "workloads/%s/pylock.toml", workload);
	rc = p ? read_blob(a, h, t, p, text, len, blob, e) : em_err_nomem(e);
	git_tree_free(t);
	if (rc == EM_ENOTFOUND)
		rc = em_err(e, EM_EIO, h->path, "commit %.12s has no lock for workload '%s'; the "
			    "history repository is damaged", commit, workload);
	return rc;
}

int em_history_lock(struct em_arena *a, struct em_history *h, const char *workload,
		    uint32_t number, struct em_generation *gen, char **text, size_t *len,
		    struct em_error *e)
{
	struct em_generation *g;
	uint32_t n;
	int rc = em_history_list(a, h, workload, &g, &n, e);
	if (rc)
		return rc;
	for (uint32_t i = 0; i < n; i++)
		if (g[i].number == number) {
			if (gen)
				*gen = g[i];
			return lock_at(a, h, workload, g[i].commit, text, len, NULL, e);
		}
	if (!n)
		return em_err(e, EM_ENOTFOUND, h->path, "workload '%s' has no generations yet",
			      workload);
	char adv[EM_PHRASE_MAX];
	return em_err(e, EM_ENOTFOUND, h->path,
		      "workload '%s' has no generation %u (it has 1 to %u%s)", workload, number,
		      g[0].number, em_phrase_arg(adv, sizeof adv, EM_PHRASE_NO_GENERATION, workload));
}

int em_history_wheels(struct em_arena *a, struct em_history *h, uint32_t keep,
		      const char ***sha256, size_t *n, struct em_error *e)
{
	*sha256 = NULL;
	*n = 0;
	const char **names;
	uint32_t nn;
	int rc = em_history_workloads(a, h, &names, &nn, e);
	struct em_buf acc = EM_BUF_INIT; /* const char * pointers */
	for (uint32_t i = 0; i < nn && !rc; i++) {
		struct em_generation *g;
		uint32_t ng;
		if ((rc = em_history_list(a, h, names[i], &g, &ng, e)))
			break;
		if (keep && ng > keep)
			ng = keep;
		git_oid *seen = em_arena_array(a, ng ? ng : 1, sizeof *seen);
		size_t nseen = 0;
		if (!seen) {
			rc = em_err_nomem(e);
			break;
		}
		for (uint32_t j = 0; j < ng && !rc; j++) {
			char *text;
			size_t len;
			git_oid blob;
			struct em_arena_mark mk = em_arena_mark(a);
			if ((rc = lock_at(a, h, names[i], g[j].commit, &text, &len, &blob, e)))
				break;
			bool dup = false;
			for (size_t k = 0; k < nseen && !dup; k++)
				dup = git_oid_equal(&seen[k], &blob);
			if (dup) {
				em_arena_rewind(a, mk);
				continue;
			}
			git_oid_cpy(&seen[nseen++], &blob);
			struct em_lock l;
			if ((rc = em_lock_parse(a, text, len, "a recorded lock", &l, e)))
				break;
			for (uint32_t p = 0; p < l.npackages; p++) {
				for (uint32_t w = 0; w < l.packages[p].nwheels; w++)
					if (l.packages[p].wheels[w].sha256)
						em_buf_add(&acc, &l.packages[p].wheels[w].sha256,
							   sizeof(char *));
				if (l.packages[p].sdist && l.packages[p].sdist->sha256)
					em_buf_add(&acc, &l.packages[p].sdist->sha256, sizeof(char *));
			}
		}
	}
	if (!rc && acc.err)
		rc = em_err_nomem(e);
	if (!rc) {
		size_t k = acc.len / sizeof(char *);
		const char **v = em_arena_array(a, k ? k : 1, sizeof *v);
		if (!v) {
			rc = em_err_nomem(e);
		} else {
			if (k)
				memcpy(v, acc.ptr, k * sizeof *v);
			qsort(v, k, sizeof *v, cmp_str);
			size_t u = 0;
			for (size_t i = 0; i < k; i++)
				if (!u || strcmp(v[u - 1], v[i]))
					v[u++] = v[i];
			*sha256 = v;
			*n = u;
		}
	}
	em_buf_release(&acc);
	return rc;
}

/* ---- a matrix as it was at a git revision ---- */

static int rev_err(struct em_error *e, const char *where, const char *what)
{
	return em_err(e, EM_EINVAL, where, "%s: %s", what, git_msg());
}

int em_rev_open(struct em_rev *r, struct em_arena *a, const char *matrix_path, const char *rev,
		struct em_error *e)
{
	memset(r, 0, sizeof *r);
	git_libgit2_init();
	char *mabs = em_path_absolute(a, matrix_path);
	char *mdir = mabs ? em_path_dir(a, mabs) : NULL;
	if (!mdir) {
		git_libgit2_shutdown();
		return em_err_nomem(e);
	}
	int grc = git_repository_open_ext(&r->repo, mdir, 0, NULL);
	if (grc) {
		git_libgit2_shutdown();
		r->repo = NULL;
		return em_err(e, grc == GIT_ENOTFOUND ? EM_ENOTFOUND : EM_EINVAL, matrix_path,
			      "%s needs the matrix in a git repository, and '%s' is in none%s%s",
			      em_phrase(EM_PHRASE_REV), mdir, grc == GIT_ENOTFOUND ? "" : ": ",
			      grc == GIT_ENOTFOUND ? "" : git_msg());
	}
	const char *wd = git_repository_workdir(r->repo);
	if (!wd) {
		em_rev_close(r);
		return em_err(e, EM_EINVAL, matrix_path, "the git repository holding it is bare");
	}
	/* the matrix's folder inside the repository: compare real paths, then
	 * keep the work tree as the matrix path spells it (lexically) */
	char *rd = em_os_realpath(mdir), *rw = em_os_realpath(wd);
	size_t wl = rw ? strlen(rw) : 0;
	if (!rd || !rw || strncmp(rd, rw, wl) || (rd[wl] && rd[wl] != '/')) {
		free(rd);
		free(rw);
		em_rev_close(r);
		return em_err(e, EM_EINVAL, matrix_path, "cannot place the matrix in the git work "
			      "tree '%s'", wd);
	}
	const char *inside = rd[wl] ? rd + wl + 1 : "";
	uint32_t depth = *inside ? 1 : 0;
	for (const char *p = inside; *p; p++)
		depth += *p == '/';
	char *work = mdir;
	for (uint32_t i = 0; i < depth && work; i++)
		work = em_path_dir(a, work);
	const char *base = strrchr(mabs, '/') + 1;
	r->workdir = work;
	r->matrix_rel = *inside ? em_arena_printf(a, "%s/%s", inside, base) : em_arena_strdup(a, base);
	free(rd);
	free(rw);
	if (!r->workdir || !r->matrix_rel) {
		em_rev_close(r);
		return em_err_nomem(e);
	}
	git_object *obj = NULL;
	git_commit *c = NULL;
	grc = git_revparse_single(&obj, r->repo, rev);
	if (!grc)
		grc = git_object_peel((git_object **)&c, obj, GIT_OBJECT_COMMIT);
	git_object_free(obj);
	if (!grc)
		grc = git_commit_tree(&r->tree, c);
	if (grc) {
		char where[EM_ERROR_WHERE_MAX];
		snprintf(where, sizeof where, "%s", wd);
		git_commit_free(c);
		int rc = em_err(e, EM_ENOTFOUND, where, "no commit '%s' in the git repository: %s",
				rev, git_msg());
		em_rev_close(r);
		return rc;
	}
	git_oid_tostr(r->commit, sizeof r->commit, git_commit_id(c));
	git_commit_free(c);
	return 0;
}

void em_rev_close(struct em_rev *r)
{
	if (!r->repo)
		return;
	git_tree_free(r->tree);
	git_repository_free(r->repo);
	memset(r, 0, sizeof *r);
	git_libgit2_shutdown();
}

int em_rev_read(void *ctx, struct em_arena *a, const char *path, size_t max, char **out,
		size_t *len, struct em_error *e)
{
	struct em_rev *r = ctx;
	char *abs = em_path_absolute(a, path);
	if (!abs)
		return em_err_nomem(e);
	size_t wl = strlen(r->workdir);
	if (!strcmp(r->workdir, "/"))
		wl = 0;
	if (strncmp(abs, r->workdir, wl) || abs[wl] != '/')
		return em_err(e, EM_EINVAL, path, "is outside the git work tree '%s'; with %s "
			      "every file the matrix names is read from the repository", r->workdir,
			      em_phrase(EM_PHRASE_REV));
	const char *rel = abs + wl + 1;
	git_tree_entry *te = NULL;
	int grc = git_tree_entry_bypath(&te, r->tree, rel);
	if (grc == GIT_ENOTFOUND)
		return em_err(e, EM_ENOTFOUND, path, "not in commit %.12s", r->commit);
	if (grc)
		return rev_err(e, path, "cannot read it from the git repository");
	git_blob *b = NULL;
	grc = git_tree_entry_type(te) == GIT_OBJECT_BLOB
		      ? git_blob_lookup(&b, r->repo, git_tree_entry_id(te))
		      : GIT_ENOTFOUND;
	git_tree_entry_free(te);
	if (grc)
		return grc == GIT_ENOTFOUND
			       ? em_err(e, EM_EINVAL, path, "is not a file in commit %.12s", r->commit)
			       : rev_err(e, path, "cannot read it from the git repository");
	size_t n = (size_t)git_blob_rawsize(b);
	if (n > max) {
		git_blob_free(b);
		return em_err(e, EM_ELIMIT, path, "is larger than %zu bytes in commit %.12s", max,
			      r->commit);
	}
	*out = em_arena_strndup(a, git_blob_rawcontent(b), n);
	*len = n;
	git_blob_free(b);
	return *out ? 0 : em_err_nomem(e);
}

/* ---- what an apply records ---- */

bool em_history_may_miss(const struct em_apply *r)
{
	for (uint32_t i = 0; i < r->n; i++)
		if (r->w[i].outcome == EM_APPLY_UNCHANGED && r->w[i].plan && r->w[i].plan->lock_text)
			return true;
	return false;
}

/* Whether workload name's newest generation in h holds another lock than
 * text (len bytes). */
static bool unrecorded(struct em_arena *a, struct em_history *h, const char *name,
		       const char *text, size_t len)
{
	struct em_generation *g;
	uint32_t n;
	char *rec;
	size_t rlen;
	if (em_history_list(a, h, name, &g, &n, NULL) || !n ||
	    em_history_lock(a, h, name, g[0].number, NULL, &rec, &rlen, NULL))
		return false;
	return rlen != len || memcmp(rec, text, len);
}

uint32_t em_history_applied(struct em_arena *a, struct em_history *h, const struct em_apply *r,
			    bool frozen, struct em_record_workload *w, uint32_t *which)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < r->n; i++) {
		const struct em_workload_apply *wa = &r->w[i];
		bool catch_up = h && wa->outcome == EM_APPLY_UNCHANGED && wa->plan &&
				wa->plan->lock_text &&
				unrecorded(a, h, wa->w->name, wa->plan->lock_text, wa->plan->lock_len);
		if (wa->outcome != EM_APPLY_BUILT && !catch_up)
			continue;
		const char *verify = em_verify_record(a, wa->verify);
		struct em_verify_result vr;
		if (catch_up && em_verify_load(a, wa->paths.root, &vr, NULL) == 0)
			verify = em_verify_record(a, &vr);
		which[n] = i;
		w[n++] = (struct em_record_workload){ wa->w->name, wa->plan->lock_text,
						      wa->plan->lock_len, verify,
						      frozen ? EM_GEN_FROZEN : EM_GEN_APPLY, 0 };
	}
	return n;
}
