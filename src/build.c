/* build.c - sdists and source folders to wheels (build.h)
 *
 * One build: a temporary folder in the cache's tmp/ (never the project)
 * holding the unpacked source, the driver, the hooks' JSON files, the
 * log and the output folder; it is removed at the end whatever happened.
 * Build requirements are resolved by the planner (a one-workload matrix
 * written into the temporary folder and parsed like any other) and
 * installed by apply's installer into a venv in the cache, named by the
 * lock's sha256.
 */
#include "build.h"
#include "archive.h"
#include "util/buf.h"
#include "os/fs.h"
#include "spec/lock.h"
#include "spec/matrix.h"
#include "spec/metadata.h"
#include "spec/name.h"
#include "spec/pep440.h"
#include "plan.h"
#include "os/proc.h"
#include "os/sys.h"
#include "util/sha256.h"
#include "util/str.h"
#include "spec/tags.h"
#include "untar.h"
#include "venv.h"
#include "settings.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char em_build_driver_py[] =
#include "pep517_driver.inc"
	;

#define MAX_PYPROJECT (1u << 20)
#define MAX_HOOK_OUT (1u << 20)
#define MAX_LOG_KEPT (16u << 20)

/* ---- [build-system] ---- */

static const char *const default_requires[] = { "setuptools>=40.8.0" };
#define LEGACY_BACKEND "setuptools.build_meta:__legacy__"

static bool backend_valid(const char *s)
{
	/* module(.module)*(:object(.object)*)? of identifiers */
	bool need_ident = true, colon = false;
	if (!*s)
		return false;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '.' || c == ':') {
			if (need_ident || (c == ':' && colon))
				return false;
			colon |= c == ':';
			need_ident = true;
		} else if (c == '_' || em_is_alpha(c) || (!need_ident && c >= '0' && c <= '9') ||
			   c >= 0x80) {
			need_ident = false;
		} else {
			return false;
		}
	}
	return !need_ident;
}

int em_build_system_read(struct em_arena *a, const char *text, size_t len, const char *where,
			 struct em_build_system *out, struct em_error *e)
{
	memset(out, 0, sizeof *out);
	const struct em_toml *bs = NULL;
	if (text) {
		struct em_toml *doc;
		int rc = em_toml_parse(a, text, len, where, &doc, e);
		if (rc)
			return rc;
		bs = em_toml_get(doc, "build-system");
		if (bs && bs->type != EM_TOML_TABLE)
			return em_err(e, EM_EINVAL, where, "line %u: 'build-system' is %s, not a table",
				      (unsigned)bs->line, em_toml_type_name(bs->type));
	}
	const struct em_toml *req = bs ? em_toml_get(bs, "requires") : NULL;
	const struct em_toml *be = bs ? em_toml_get(bs, "build-backend") : NULL;
	const struct em_toml *bp = bs ? em_toml_get(bs, "backend-path") : NULL;
	if (!bs || !req) {
		/* pip: no table (or one without requires) is the legacy set-up */
		out->legacy = true;
		out->nrequires = 1;
		out->requires = (const char **)default_requires;
		out->backend = LEGACY_BACKEND;
		if (!bs)
			return 0;
	}
	if (req) {
		if (req->type != EM_TOML_ARRAY)
			return em_err(e, EM_EINVAL, where,
				      "line %u: build-system.requires is %s, not an array of strings",
				      (unsigned)req->line, em_toml_type_name(req->type));
		if (req->u.arr.n > EM_BUILD_MAX_REQUIRES)
			return em_err(e, EM_ELIMIT, where,
				      "line %u: build-system.requires has more than %u requirements",
				      (unsigned)req->line, EM_BUILD_MAX_REQUIRES);
		out->requires = em_arena_array(a, req->u.arr.n ? req->u.arr.n : 1, sizeof(char *));
		if (!out->requires)
			return em_err_nomem(e);
		for (uint32_t i = 0; i < req->u.arr.n; i++) {
			const struct em_toml *v = req->u.arr.items[i];
			if (v->type != EM_TOML_STRING || memchr(v->u.str.s, '\0', v->u.str.len))
				return em_err(e, EM_EINVAL, where,
					      "line %u: build-system.requires holds %s, not a string",
					      (unsigned)v->line, em_toml_type_name(v->type));
			out->requires[i] = v->u.str.s;
		}
		out->nrequires = req->u.arr.n;
	}
	out->backend = LEGACY_BACKEND;
	if (be) {
		if (be->type != EM_TOML_STRING || !backend_valid(be->u.str.s) ||
		    strlen(be->u.str.s) != be->u.str.len)
			return em_err(e, EM_EINVAL, where,
				      "line %u: build-system.build-backend must be a string "
				      "'module[:object]'", (unsigned)be->line);
		out->backend = be->u.str.s;
		out->legacy = false;
	}
	if (bp) {
		if (bp->type != EM_TOML_ARRAY)
			return em_err(e, EM_EINVAL, where,
				      "line %u: build-system.backend-path is %s, not an array of strings",
				      (unsigned)bp->line, em_toml_type_name(bp->type));
		out->backend_path = em_arena_array(a, bp->u.arr.n ? bp->u.arr.n : 1, sizeof(char *));
		if (!out->backend_path)
			return em_err_nomem(e);
		for (uint32_t i = 0; i < bp->u.arr.n; i++) {
			const struct em_toml *v = bp->u.arr.items[i];
			struct em_error ne;
			bool ok = v->type == EM_TOML_STRING && strlen(v->u.str.s) == v->u.str.len &&
				  (!strcmp(v->u.str.s, ".") ||
				   em_archive_check_name(v->u.str.s, v->u.str.len, &ne) == 0);
			if (!ok)
				return em_err(e, EM_EINVAL, where,
					      "line %u: build-system.backend-path entries must be "
					      "relative paths inside the source tree", (unsigned)v->line);
			out->backend_path[i] = v->u.str.s;
		}
		out->nbackend_path = bp->u.arr.n;
	}
	return 0;
}

/* ---- unpacking ---- */

struct unpack {
	const char *root;  /* dest */
	const char *where; /* the archive */
	uint64_t files, bytes;
	struct em_error *e;
};

static int unpack_one(struct unpack *u, struct archive *ar, struct archive_entry *ent)
{
	const char *name = archive_entry_pathname(ent);
	if (!name)
		return em_err(u->e, EM_EINVAL, u->where, "a member has no name");
	size_t nl = strlen(name);
	while (nl >= 2 && name[0] == '.' && name[1] == '/') { /* "./pkg-1.0/..." */
		name += 2;
		nl -= 2;
	}
	if (!nl)
		return 0; /* "./" */
	int rc = em_archive_check_name(name, nl, u->e);
	if (rc) {
		em_err_prefix_where(u->e, "%s", u->where);
		return rc;
	}
	if (++u->files > EM_BUILD_MAX_FILES)
		return em_err(u->e, EM_ELIMIT, u->where, "more than %u members",
			      (unsigned)EM_BUILD_MAX_FILES);
	char rel[EM_ARCHIVE_MAX_MEMBER_NAME + 1];
	while (nl && name[nl - 1] == '/')
		nl--;
	memcpy(rel, name, nl);
	rel[nl] = '\0';
	if ((rc = em_archive_make_parents(u->root, rel, u->where, u->e)))
		return rc;
	char path[PATH_MAX];
	if ((size_t)snprintf(path, sizeof path, "%s/%s", u->root, rel) >= sizeof path)
		return em_err(u->e, EM_ELIMIT, u->where, "member '%s': path too long", rel);
	const char *hl = archive_entry_hardlink(ent);
	mode_t type = archive_entry_filetype(ent);
	unsigned mode = (unsigned)archive_entry_perm(ent);
	if (hl) {
		size_t hn = strlen(hl);
		while (hn >= 2 && hl[0] == '.' && hl[1] == '/') {
			hl += 2;
			hn -= 2;
		}
		char from[PATH_MAX];
		struct em_stat st;
		if (em_archive_check_name(hl, hn, NULL) ||
		    (size_t)snprintf(from, sizeof from, "%s/%s", u->root, hl) >= sizeof from ||
		    em_archive_make_parents(u->root, hl, u->where, u->e) || em_os_lstat(from, &st) ||
		    st.type != EM_FT_FILE)
			return em_err(u->e, EM_EINVAL, u->where,
				      "member '%s' is a hard link to '%s', which is not an earlier "
				      "file of the archive", rel, hl);
		if (em_os_link(from, path))
			return em_err_sys(u->e, errno, path, "cannot create a hard link");
		return 0;
	}
	switch (type) {
	case AE_IFDIR:
		return em_untar_dir(path, rel, u->where, u->e);
	case AE_IFLNK:
		return em_untar_symlink(rel, archive_entry_symlink(ent), path, rel,
					"the archive's tree", u->where, u->e);
	case AE_IFREG:
		return em_untar_file(ar, path, mode, &u->bytes, EM_BUILD_MAX_BYTES, rel, u->where,
				     u->e);
	default:
		return em_err(u->e, EM_EINVAL, u->where,
			      "member '%s' is neither a file, a folder nor a link", rel);
	}
}

int em_sdist_unpack(struct em_arena *a, const char *path, const char *dest, const char **top,
		    struct em_error *e)
{
	*top = NULL;
	if (em_os_mkdir(dest, 0700))
		return em_err_sys(e, errno, dest, "cannot create the build folder");
	struct archive *ar = archive_read_new();
	if (!ar)
		return em_err_nomem(e);
	archive_read_support_filter_all(ar);
	archive_read_support_format_tar(ar);
	archive_read_support_format_gnutar(ar);
	archive_read_support_format_zip(ar);
	struct unpack u = { dest, path, 0, 0, e };
	int rc = 0;
	if (archive_read_open_filename(ar, path, 1 << 16) != ARCHIVE_OK) {
		rc = em_err(e, EM_EINVAL, path, "cannot read the archive: %s",
			    archive_error_string(ar));
		archive_read_free(ar);
		return rc;
	}
	struct archive_entry *ent;
	for (;;) {
		int r = archive_read_next_header(ar, &ent);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
			rc = em_err(e, EM_EINVAL, path, "corrupt archive: %s", archive_error_string(ar));
			break;
		}
		if ((rc = unpack_one(&u, ar, ent)))
			break;
	}
	archive_read_free(ar);
	if (rc)
		return rc;
	/* the single top folder */
	struct em_dirlist *d = em_dirlist_open(dest);
	if (!d)
		return em_err_sys(e, errno, dest, "cannot read the build folder");
	const char *name;
	const char *only = NULL;
	unsigned n = 0;
	while ((name = em_dirlist_next(d))) {
		n++;
		only = em_arena_strdup(a, name);
	}
	em_dirlist_close(d);
	char *full = only ? em_arena_printf(a, "%s/%s", dest, only) : NULL;
	struct em_stat st;
	if (n != 1 || !full || em_os_lstat(full, &st) || st.type != EM_FT_DIR)
		return n == 1 && !full ? em_err_nomem(e)
				       : em_err(e, EM_EINVAL, path,
						"an sdist holds exactly one top folder (NAME-VERSION/); "
						"this one holds %u entries", n);
	*top = full;
	return 0;
}

/* ---- a source folder, copied (the build never writes into it) ---- */

static int copy_tree(struct em_arena *a, const char *from, const char *to, unsigned depth,
		     uint64_t *files, struct em_error *e)
{
	if (depth > 64)
		return em_err(e, EM_ELIMIT, from, "folders nested more than 64 deep");
	if (em_os_mkdir(to, 0755) && errno != EEXIST)
		return em_err_sys(e, errno, to, "cannot create a folder");
	struct em_dirlist *d = em_dirlist_open(from);
	if (!d)
		return em_err_sys(e, errno, from, "cannot read the folder");
	const char *n;
	int rc = 0;
	while (!rc && (n = em_dirlist_next(d))) {
		if (depth == 0 && !strcmp(n, ".git"))
			continue;
		struct em_arena_mark mk = em_arena_mark(a);
		char *src = em_arena_printf(a, "%s/%s", from, n);
		char *dst = em_arena_printf(a, "%s/%s", to, n);
		struct em_stat st;
		if (!src || !dst) {
			rc = em_err_nomem(e);
		} else if (em_os_lstat(src, &st)) {
			rc = em_err_sys(e, errno, src, "cannot read");
		} else if (++*files > EM_BUILD_MAX_FILES) {
			rc = em_err(e, EM_ELIMIT, from, "more than %u files",
				    (unsigned)EM_BUILD_MAX_FILES);
		} else if (st.type == EM_FT_DIR) {
			rc = copy_tree(a, src, dst, depth + 1, files, e);
		} else if (st.type == EM_FT_LINK) {
			char t[PATH_MAX];
			ssize_t tl = em_os_readlink(src, t, sizeof t - 1);
			if (tl < 0)
				rc = em_err_sys(e, errno, src, "cannot read the link");
			else if ((t[tl] = '\0', em_os_symlink(t, dst)))
				rc = em_err_sys(e, errno, dst, "cannot create a symbolic link");
		} else if (st.type == EM_FT_FILE) {
			char *data;
			size_t len;
			rc = em_read_file(a, src, (size_t)st.size + 1, &data, &len, e);
			if (!rc)
				rc = em_write_file_atomic(dst, data, len,
							  (st.mode & 0111) ? 0755 : 0644, e);
		}
		em_arena_rewind(a, mk);
	}
	em_dirlist_close(d);
	return rc;
}

/* ---- one build ---- */

struct bctx {
	struct em_arena *a;
	struct em_source *src;
	struct em_cache *c;
	const struct em_build_options *o;
	const struct em_interp_list *interps;
	const char *tmp;       /* the temporary folder */
	const char *srcdir;    /* the source tree (in tmp) */
	const char *label;     /* "name-version" or the folder, for messages */
	const char *name;      /* from the sdist's file name (canonical), or NULL */
	const char *version;
	const char *sha256;    /* the sdist's, NULL for a folder */
	struct em_build_system bs;
	const char *want;      /* the Python asked for (a matrix python value) */
	const char *python;    /* the interpreter running the hooks */
	const char *bin;       /* its environment's bin folder, or NULL */
	const char *env_dir;
	const char *env_hash;  /* "none" without isolation */
	struct em_python py;   /* the target Python */
	char platform[64];
	const char *log;       /* tmp/build.log */
	const char *driver;
	unsigned nenv;         /* environments made so far (their folders) */
	bool requires_done;    /* get_requires_for_build_wheel ran */
	struct em_error *e;
};

static void event(struct bctx *b, enum em_build_event_kind k, const char *detail)
{
	if (b->o->event)
		b->o->event(b->o->ctx, k, detail);
}

/* The last EM_BUILD_LOG_TAIL lines of the log, indented, each cut to
 * 150 bytes (the error message has room for about ten). */
static char *log_tail(struct bctx *b)
{
	char *text;
	size_t len;
	if (em_read_file(b->a, b->log, MAX_LOG_KEPT, &text, &len, NULL) || !len)
		return "    (the log is empty)";
	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	size_t start = len;
	unsigned lines = 0;
	while (start > 0) {
		if (text[start - 1] == '\n' && ++lines == EM_BUILD_LOG_TAIL)
			break;
		start--;
	}
	struct em_buf o = EM_BUF_INIT;
	size_t col = 0;
	em_buf_addstr(&o, "    ");
	for (size_t i = start; i < len; i++) {
		unsigned char ch = (unsigned char)text[i];
		if (ch == '\n') {
			em_buf_addstr(&o, "\n    ");
			col = 0;
		} else if (col < 150 && (ch == '\t' || ch >= 0x20) && ch != 0x7f) {
			em_buf_addf(&o, "%c", ch);
			col++;
		} else if (col++ == 150) {
			em_buf_addstr(&o, "...");
		}
	}
	char *r = o.err ? NULL : em_arena_strdup(b->a, o.ptr);
	em_buf_release(&o);
	return r ? r : "";
}

/* Keep the log of a failed build in the cache: its path, or NULL. */
static const char *keep_log(struct bctx *b)
{
	char *text;
	size_t len;
	if (em_read_file(b->a, b->log, MAX_LOG_KEPT, &text, &len, NULL))
		return NULL;
	char key[65];
	char *id = em_arena_printf(b->a, "%s\n%s", b->label, b->sha256 ? b->sha256 : b->srcdir);
	if (!id)
		return NULL;
	em_sha256_buf(id, strlen(id), key);
	/* named by the project first, so prune can keep the newest of each */
	const char *pkg = b->name;
	if (!pkg && b->label)
		pkg = em_name_canonical(b->a, b->label, strlen(b->label));
	char *dir = em_arena_printf(b->a, "%s/build-logs", b->c->root);
	char *path = dir ? em_arena_printf(b->a, "%s/%s.%.16s.log", dir,
					   pkg && *pkg && !strchr(pkg, '/') ? pkg : "source", key)
			 : NULL;
	if (!path || em_mkdir_p(dir, NULL) || em_write_file_atomic(path, text, len, 0644, NULL))
		return NULL;
	return path;
}

static int fail_hook(struct bctx *b, int code, const char *hook, const char *why)
{
	const char *tail = log_tail(b);
	const char *kept = keep_log(b);
	return em_err(b->e, code, b->label, "%s: %s (the full log is in '%s'); its last lines:\n%s",
		      hook, why, kept ? kept : "(not kept)", tail);
}

/* The environment for the hooks: ours, less what would reach into
 * another Python, plus the caller's variables. */
static const char **hook_env(struct bctx *b)
{
	char *const *envv = em_os_environ();
	size_t n = 0;
	while (envv[n])
		n++;
	const char **v = em_arena_array(b->a, n + b->o->nenv + 4, sizeof *v);
	if (!v)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		const char *s = envv[i];
		if (!strncmp(s, "PYTHONPATH=", 11) || !strncmp(s, "PYTHONHOME=", 11) ||
		    !strncmp(s, "PYTHONNOUSERSITE=", 17) || !strncmp(s, "VIRTUAL_ENV=", 12) ||
		    (b->bin && !strncmp(s, "PATH=", 5)))
			continue;
		bool overridden = false;
		for (uint32_t j = 0; j < b->o->nenv && !overridden; j++) {
			size_t l = strlen(b->o->env_names[j]);
			overridden = !strncmp(s, b->o->env_names[j], l) && s[l] == '=';
		}
		if (!overridden)
			v[k++] = s;
	}
	if (b->bin) {
		const char *path = em_settings()->path;
		v[k++] = em_arena_printf(b->a, "PATH=%s%s%s", b->bin, path ? ":" : "",
					 path ? path : "");
		v[k++] = "PYTHONNOUSERSITE=1";
	}
	for (uint32_t j = 0; j < b->o->nenv; j++)
		v[k++] = em_arena_printf(b->a, "%s=%s", b->o->env_names[j], b->o->env_values[j]);
	v[k] = NULL;
	for (size_t i = 0; i < k; i++)
		if (!v[i])
			return NULL;
	return v;
}

static json_t *config_settings(struct bctx *b)
{
	json_t *cs = json_object();
	for (uint32_t i = 0; cs && i < b->o->nconfig; i++) {
		const char *kv = b->o->config[i];
		const char *eq = strchr(kv, '=');
		char *key = em_arena_strndup(b->a, kv, eq ? (size_t)(eq - kv) : strlen(kv));
		json_t *val = json_string(eq ? eq + 1 : "");
		json_t *old = key ? json_object_get(cs, key) : NULL;
		if (!key || !val) {
			json_decref(val);
			json_decref(cs);
			return NULL;
		}
		if (old && json_is_array(old)) {
			json_array_append_new(old, val);
		} else if (old) {
			json_t *arr = json_array();
			json_array_append(arr, old);
			json_array_append_new(arr, val);
			json_object_set_new(cs, key, arr);
		} else {
			json_object_set_new(cs, key, val);
		}
	}
	return cs;
}

/* Run hook with kwargs (stolen); *ret gets the JSON "return" value (a new
 * reference) or NULL when the backend lacks the optional hook. */
static int run_hook(struct bctx *b, const char *hook, json_t *kwargs, json_t **ret)
{
	struct em_arena *a = b->a;
	*ret = NULL;
	event(b, EM_BUILD_EV_HOOK, hook);
	json_t *bp = json_array();
	for (uint32_t i = 0; bp && i < b->bs.nbackend_path; i++)
		json_array_append_new(bp, json_string(b->bs.backend_path[i]));
	json_t *in = json_pack("{s:s, s:o, s:o}", "backend", b->bs.backend, "backend_path",
			       bp ? bp : json_array(), "kwargs", kwargs ? kwargs : json_object());
	char *in_text = in ? json_dumps(in, JSON_COMPACT) : NULL;
	json_decref(in);
	char *in_path = em_arena_printf(a, "%s/hook-in.json", b->tmp);
	char *out_path = em_arena_printf(a, "%s/hook-out.json", b->tmp);
	if (!in_text || !in_path || !out_path) {
		free(in_text);
		return em_err_nomem(b->e);
	}
	int rc = em_write_file_atomic(in_path, in_text, strlen(in_text), 0600, b->e);
	free(in_text);
	if (rc)
		return rc;
	/* a result left by an earlier hook must not pass for this one's */
	if (em_os_unlink(out_path) && errno != ENOENT)
		return em_err_sys(b->e, errno, out_path, "cannot remove the previous result");
	const char **envp = hook_env(b);
	if (!envp)
		return em_err_nomem(b->e);
	const char *argv[] = { b->python, b->driver, hook, in_path, out_path, b->log, b->srcdir,
			       NULL };
	struct em_proc_result pr;
	int tmo = b->o->timeout_ms > 0 ? b->o->timeout_ms : EM_BUILD_TIMEOUT_MS;
	rc = em_proc_run_group(a, argv, envp, 1 << 16, tmo, b->o->cancel, &pr, b->e);
	if (rc)
		return rc;
	/* what the driver printed before it took over its output; the log
	 * only helps to read a failure, so one that cannot be written does not
	 * fail the build */
	if (pr.outlen || pr.errlen) {
		int fd = em_os_open(b->log, EM_OPEN_WRITE | EM_OPEN_APPEND | EM_OPEN_CREATE, 0644);
		if (fd >= 0) {
			EM_IGNORE(em_write_all(fd, pr.out, pr.outlen));
			EM_IGNORE(em_write_all(fd, pr.err, pr.errlen));
			(void)em_os_close(fd);
		}
	}
	if (pr.canceled)
		return em_err(b->e, EM_ECANCELED, b->label, "interrupted");
	if (pr.timed_out)
	{
		char *why = em_arena_printf(a, "timed out after %d s (the build was stopped)",
					    tmo / 1000);
		return fail_hook(b, EM_EIO, hook, why ? why : "timed out");
	}
	if (pr.status)
	{
		char *why = em_arena_printf(a, "the backend '%s' failed (exit status %d)",
					    b->bs.backend, pr.status);
		return fail_hook(b, EM_EINVAL, hook, why ? why : "failed");
	}
	char *out;
	size_t len;
	json_error_t je;
	json_t *res = NULL;
	if (em_read_file(a, out_path, MAX_HOOK_OUT, &out, &len, NULL) ||
	    !(res = json_loadb(out, len, 0, &je)) || !json_is_object(res)) {
		json_decref(res);
		return fail_hook(b, EM_EINVAL, hook, "the build driver gave no result");
	}
	json_t *v;
	if ((v = json_object_get(res, "backend_unavailable"))) {
		const char *why = json_string_value(v);
		char *msg = em_arena_printf(a, "the build backend '%s' is not available (%s)",
					    b->bs.backend, why ? why : "?");
		json_decref(res);
		/* the backend's requirements, or backend-path, do not provide it */
		return fail_hook(b, EM_EINVAL, hook, msg ? msg : "backend unavailable");
	}
	if (json_object_get(res, "unsupported")) {
		json_decref(res);
		return 0;
	}
	v = json_object_get(res, "return");
	*ret = v ? json_incref(v) : json_null();
	json_decref(res);
	return 0;
}

/* A line of the generated matrix: no control characters (a newline would
 * add keys), at most the matrix's line length. */
static bool matrix_value_ok(const char *s)
{
	size_t n = 0;
	for (; s[n]; n++)
		if ((unsigned char)s[n] < 0x20 || s[n] == 0x7f)
			return false;
	return n > 0 && n + 8 <= EM_MATRIX_MAX_LINE;
}

/* The constraints that name a project of the resolution and are not in
 * added[] yet are appended to it; *more says whether any was. */
static int constrain(struct bctx *b, const struct em_workload_plan *wp, const char **added,
		     uint32_t *nadded, bool *more)
{
	const struct em_build_options *o = b->o;
	*more = false;
	for (uint32_t i = 0; i < o->nconstraints; i++) {
		const char *c = o->constraints[i];
		bool have = false;
		for (uint32_t k = 0; k < *nadded && !have; k++)
			have = added[k] == c;
		if (have)
			continue;
		struct em_arena_mark mk = em_arena_mark(b->a);
		struct em_requirement r;
		if (em_requirement_parse(b->a, c, strlen(c), &r, b->e)) {
			em_err_prefix_where(b->e, "build constraint '%.80s'", c);
			return b->e->code;
		}
		const char *name = em_name_canonical(b->a, r.name, strlen(r.name));
		if (!name)
			return em_err_nomem(b->e);
		bool used = false;
		for (uint32_t k = 0; k < wp->res.n && !used; k++)
			used = !strcmp(wp->res.pkgs[k].name, name);
		em_arena_rewind(b->a, mk);
		if (used) {
			added[(*nadded)++] = c;
			*more = true;
		}
	}
	return 0;
}

/* Lines "    VALUE" of the matrix's packages key; what ("build
 * requirement") names a value that cannot be one. */
static int add_package_lines(struct bctx *b, struct em_buf *m, const char *const *v, uint32_t n,
			     const char *what)
{
	for (uint32_t i = 0; i < n; i++) {
		if (!matrix_value_ok(v[i]))
			return em_err(b->e, EM_EINVAL, b->label,
				      "%s '%.80s' is empty, too long or holds a control character",
				      what, v[i]);
		em_buf_addf(m, "    %s\n", v[i]);
	}
	return 0;
}

/* The one-workload matrix that plans the build environment: the build's
 * index and find-links (empty: a folder with nothing, for no_index), the
 * requirements and the constraints added so far. */
static int env_matrix(struct bctx *b, const char *const *reqs, uint32_t nreqs, const char *empty,
		      const char *const *added, uint32_t nadded, char **text)
{
	const struct em_build_options *o = b->o;
	struct em_error *e = b->e;
	struct em_buf m = EM_BUF_INIT;
	em_buf_addstr(&m, "[matrix]\n");
	const char *index = o->no_index ? empty : o->index_url;
	int rc = 0;
	if (index) {
		if (!matrix_value_ok(index))
			rc = em_err(e, EM_EINVAL, index, "unusable index URL");
		em_buf_addf(&m, "index-url = %s\n", index);
	}
	if (o->nfind_links)
		em_buf_addstr(&m, "find-links =\n");
	for (uint32_t i = 0; i < o->nfind_links && !rc; i++) {
		if (!matrix_value_ok(o->find_links[i]))
			rc = em_err(e, EM_EINVAL, o->find_links[i], "unusable find-links entry");
		em_buf_addf(&m, "    %s\n", o->find_links[i]);
	}
	em_buf_addf(&m, "[build]\npython = %s\npackages =\n", b->want);
	if (!rc)
		rc = add_package_lines(b, &m, reqs, nreqs, "build requirement");
	if (!rc)
		rc = add_package_lines(b, &m, added, nadded, "build constraint");
	if (rc) {
		em_buf_release(&m);
		return rc;
	}
	*text = m.err ? NULL : em_arena_strdup(b->a, m.ptr);
	em_buf_release(&m);
	return *text ? 0 : em_err_nomem(e);
}

/* Write the matrix text to ini and plan it (into mx, po, plan); a failed
 * resolution is an error naming the build. */
static int plan_env(struct bctx *b, const char *ini, const char *text, struct em_matrix *mx,
		    struct em_plan_options *po, struct em_plan *plan)
{
	struct em_arena *a = b->a;
	struct em_error *e = b->e;
	int rc = em_write_file_atomic(ini, text, strlen(text), 0644, e);
	if (rc)
		return rc;
	rc = em_matrix_parse(a, text, strlen(text), ini, mx, e);
	if (rc) {
		em_err_prefix_where(e, "build requirements of '%s'", b->label);
		return rc;
	}
	memset(po, 0, sizeof *po);
	po->matrix_path = ini;
	po->upgrade = true;
	po->host = b->o->host;
	po->interps = b->interps;
	rc = em_plan_build(a, b->src, mx, po, plan, e);
	if (rc)
		return rc;
	if (!b->interps && plan->found.n) {
		struct em_interp_list *keep = em_arena_alloc(a, sizeof *keep);
		if (!keep)
			return em_err_nomem(e);
		*keep = plan->found;
		b->interps = keep;
	}
	const struct em_workload_plan *wp = &plan->w[0];
	if (!wp->status)
		return 0;
	*e = wp->err;
	if (wp->explain) {
		/* the resolver's explanation, on one line */
		char *x = em_arena_strdup(a, wp->explain);
		size_t xl = x ? strlen(x) : 0;
		while (xl && (x[xl - 1] == '\n' || x[xl - 1] == ' '))
			x[--xl] = '\0';
		for (size_t i = 0; i < xl; i++)
			if (x[i] == '\n')
				x[i] = ' ';
		em_err(e, wp->status, b->label, "cannot resolve the build requirements: %s",
		       x ? x : wp->explain);
	} else {
		em_err_prefix_where(e, "build requirements of '%s'", b->label);
	}
	return wp->status;
}

/* The environment's name: the sha256 of the lock less its inputs line (a
 * hash of the settings it was planned from, which name this build's
 * folder). */
static int env_hash(const struct em_workload_plan *wp, char hash[65], struct em_error *e)
{
	struct em_sha256 h;
	int rc = em_sha256_init(&h, e);
	if (rc)
		return rc;
	const char *p = wp->lock_text, *end = p + wp->lock_len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *next = nl ? nl + 1 : end;
		if (strncmp(p, "inputs = ", 9))
			em_sha256_update(&h, p, (size_t)(next - p));
		p = next;
	}
	em_sha256_final(&h, hash);
	return 0;
}

/* Install the planned environment at final (its name hash) through a
 * staging folder in the cache's tmp/, marked when complete; another
 * process that made it first wins. */
static int install_env(struct bctx *b, const struct em_matrix *mx,
		       const struct em_plan_options *po, struct em_workload_plan *wp,
		       const char *envs, const char *final, const char *mark, const char *hash)
{
	struct em_arena *a = b->a;
	struct em_error *e = b->e;
	int rc = em_mkdir_p(envs, e);
	if (rc)
		return rc;
	char *stage = em_arena_printf(a, "%s/tmp/build-env-%.16s-%ld", b->c->root, hash,
				      em_os_pid());
	if (!stage)
		return em_err_nomem(e);
	event(b, EM_BUILD_EV_ENV, final);
	/* a crashed run's leftover: the installer replaces it anyway */
	(void)em_remove_tree(stage, NULL);
	if (!b->o->install_lock)
		return em_err(e, EM_EINVAL, b->label, "no installer for the build environment");
	rc = b->o->install_lock(a, b->src, mx, po, wp, stage, final, b->o->cancel, e);
	if (rc) {
		em_err_prefix_where(e, "build environment of '%s'", b->label);
		return rc;
	}
	char *smark = em_arena_printf(a, "%s/" EM_BUILD_ENV_MARK, stage);
	if (!smark)
		return em_err_nomem(e);
	if ((rc = em_write_file_atomic(smark, wp->lock_text, wp->lock_len, 0644, e))) {
		(void)em_remove_tree(stage, NULL); /* best effort: the error is rc */
		return rc;
	}
	struct em_stat st;
	if (em_os_rename(stage, final)) {
		int err = errno;
		/* best effort: a leftover in the cache's tmp/ only costs space */
		(void)em_remove_tree(stage, NULL);
		/* another process made it first */
		if (em_os_stat(mark, &st))
			return em_err_sys(e, err, final, "cannot put the build environment in place");
	} else {
		em_fsync_parent(final);
	}
	return 0;
}

/* Resolve reqs for the target and make (or find) their environment. */
static int ensure_env(struct bctx *b, const char *const *reqs, uint32_t nreqs)
{
	struct em_arena *a = b->a;
	const struct em_build_options *o = b->o;
	struct em_error *e = b->e;
	char *dir = em_arena_printf(a, "%s/env%u", b->tmp, b->nenv++);
	char *ini = dir ? em_arena_printf(a, "%s/build-env.ini", dir) : NULL;
	char *empty = dir ? em_arena_printf(a, "%s/no-index", dir) : NULL;
	const char **added = em_arena_array(a, o->nconstraints ? o->nconstraints : 1,
					    sizeof *added);
	uint32_t nadded = 0;
	if (!ini || !empty || !added)
		return em_err_nomem(e);
	if (em_mkdir_p(empty, e))
		return e->code;
	struct em_matrix mx;
	struct em_plan_options po;
	struct em_plan plan;
	struct em_workload_plan *wp = NULL;
	int rc;
	/* build constraints: added to the requirements while they name a
	 * project of the resolution (at most once each, so this ends) */
	for (bool more = true; more;) {
		char *text;
		if ((rc = env_matrix(b, reqs, nreqs, empty, added, nadded, &text)) ||
		    (rc = plan_env(b, ini, text, &mx, &po, &plan)))
			return rc;
		wp = &plan.w[0];
		if ((rc = constrain(b, wp, added, &nadded, &more)))
			return rc;
	}
	char hash[65];
	if ((rc = env_hash(wp, hash, e)))
		return rc;
	b->env_hash = em_arena_strdup(a, hash);
	b->py = wp->target.py;
	em_platform_name(&wp->target.plat, b->platform, sizeof b->platform);
	char *envs = em_arena_printf(a, "%s/build-envs", b->c->root);
	char *final = envs ? em_arena_printf(a, "%s/%s", envs, hash) : NULL;
	char *mark = final ? em_arena_printf(a, "%s/" EM_BUILD_ENV_MARK, final) : NULL;
	if (!b->env_hash || !mark)
		return em_err_nomem(e);
	struct em_venv_layout lay;
	if ((rc = em_venv_layout(a, final, &wp->target.plat, &wp->target.py, &lay, e)))
		return rc;
	struct em_stat st;
	if (em_os_stat(mark, &st) && (rc = install_env(b, &mx, &po, wp, envs, final, mark, hash)))
		return rc;
	b->env_dir = final;
	b->python = lay.python;
	b->bin = lay.bin;
	return 0;
}

/* "name-version" of an sdist's file name, split at the last '-'. */
static void sdist_name(struct bctx *b, const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	static const char *const ext[] = { ".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tar.xz",
					   ".txz", ".zip", ".tar" };
	size_t n = strlen(base);
	for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
		size_t el = strlen(ext[i]);
		if (n > el && !strcasecmp(base + n - el, ext[i])) {
			n -= el;
			break;
		}
	}
	b->label = em_arena_strndup(b->a, base, n);
	const char *dash = b->label ? strrchr(b->label, '-') : NULL;
	if (dash && dash != b->label && dash[1]) {
		b->name = em_name_canonical(b->a, b->label, (size_t)(dash - b->label));
		b->version = dash + 1;
	}
}

static bool same_version(struct em_arena *a, const char *x, const struct em_version *y)
{
	struct em_version v;
	return em_version_parse(a, x, strlen(x), &v, NULL) == 0 && em_version_cmp(&v, y) == 0;
}

/* Unpack (or copy) the source, read [build-system], make the first
 * environment. */
static int prepare(struct bctx *b, const char *source, const char *sha256)
{
	struct em_arena *a = b->a;
	struct em_error *e = b->e;
	const struct em_build_options *o = b->o;
	char *abs = em_path_absolute(a, source);
	char *tmpl = em_arena_printf(a, "%s/tmp/build-XXXXXX", b->c->root);
	if (!abs || !tmpl)
		return em_err_nomem(e);
	struct em_stat st;
	if (em_os_stat(abs, &st))
		return em_err_sys(e, errno, source, "cannot read the source");
	if (!em_os_mkdtemp(tmpl))
		return em_err_sys(e, errno, tmpl, "cannot create the build folder");
	b->tmp = tmpl;
	char *unpacked = em_arena_printf(a, "%s/src", b->tmp);
	b->log = em_arena_printf(a, "%s/build.log", b->tmp);
	b->driver = em_arena_printf(a, "%s/pep517_driver.py", b->tmp);
	if (!unpacked || !b->log || !b->driver)
		return em_err_nomem(e);
	int rc;
	if (st.type == EM_FT_DIR) {
		const char *base = strrchr(abs, '/');
		b->label = base && base[1] ? base + 1 : abs;
		char *dst = em_arena_printf(a, "%s/%s", unpacked, b->label);
		uint64_t files = 0;
		if (!dst)
			return em_err_nomem(e);
		if ((rc = em_mkdir_p(unpacked, e)) || (rc = copy_tree(a, abs, dst, 0, &files, e)))
			return rc;
		b->srcdir = dst;
	} else {
		sdist_name(b, abs);
		if (!b->label)
			return em_err_nomem(e);
		if (!b->name)
			return em_err(e, EM_EINVAL, source,
				      "not an sdist's name (NAME-VERSION.tar.gz or .zip)");
		char hex[65];
		if (!sha256) {
			if ((rc = em_sha256_file(abs, hex, NULL, e)))
				return rc;
			sha256 = hex;
		}
		b->sha256 = em_arena_strdup(a, sha256);
		if (!b->sha256)
			return em_err_nomem(e);
		if ((rc = em_sdist_unpack(a, abs, unpacked, &b->srcdir, e)))
			return rc;
	}
	if ((rc = em_write_file_atomic(b->driver, em_build_driver_py, strlen(em_build_driver_py),
				       0644, e)))
		return rc;
	char *pp = em_arena_printf(a, "%s/pyproject.toml", b->srcdir);
	char *where = em_arena_printf(a, "%s/pyproject.toml", b->label);
	char *text = NULL;
	size_t len = 0;
	if (!pp || !where)
		return em_err_nomem(e);
	rc = em_read_file(a, pp, MAX_PYPROJECT, &text, &len, e);
	if (rc == EM_ENOTFOUND)
		text = NULL;
	else if (rc)
		return rc;
	if ((rc = em_build_system_read(a, text, len, where, &b->bs, e)))
		return rc;
	if (o->no_isolation_python) {
		b->python = o->no_isolation_python;
		b->env_hash = "none";
		struct em_interp it;
		if ((rc = em_interp_query(a, b->python, &it, e)))
			return rc;
		b->py = it.py;
		if (o->host)
			em_platform_name(o->host, b->platform, sizeof b->platform);
		return 0;
	}
	b->want = o->python;
	if (!b->want) {
		/* the newest interpreter here */
		struct em_interp_list *own = em_arena_zalloc(a, sizeof *own);
		if (!own)
			return em_err_nomem(e);
		if (!b->interps) {
			if ((rc = em_interp_discover(a, own, e)))
				return rc;
			b->interps = own;
		}
		if (!b->interps->n)
			return em_err(e, EM_ENOTFOUND, NULL, "no Python interpreter found to build with");
		b->want = b->interps->items[0].path;
	}
	if (!matrix_value_ok(b->want))
		return em_err(e, EM_EINVAL, b->want, "not a Python version or interpreter");
	uint32_t n = b->bs.nrequires + o->nextra_requires;
	const char **reqs = em_arena_array(a, n ? n : 1, sizeof *reqs);
	if (!reqs)
		return em_err_nomem(e);
	for (uint32_t i = 0; i < b->bs.nrequires; i++)
		reqs[i] = b->bs.requires[i];
	for (uint32_t i = 0; i < o->nextra_requires; i++)
		reqs[b->bs.nrequires + i] = o->extra_requires[i];
	return ensure_env(b, reqs, n);
}

/* get_requires_for_build_wheel; a second environment when it adds any. */
static int more_requires(struct bctx *b)
{
	if (b->requires_done)
		return 0;
	b->requires_done = true;
	json_t *cs = config_settings(b);
	if (!cs)
		return em_err_nomem(b->e);
	json_t *ret;
	int rc = run_hook(b, "get_requires_for_build_wheel",
			  json_pack("{s:o}", "config_settings", cs), &ret);
	if (rc || !ret)
		return rc;
	if (!json_is_array(ret)) {
		json_decref(ret);
		return fail_hook(b, EM_EINVAL, "get_requires_for_build_wheel",
				 "the backend returned something other than a list of strings");
	}
	size_t extra = json_array_size(ret);
	if (!extra || b->o->no_isolation_python) {
		json_decref(ret);
		return 0;
	}
	uint32_t n = b->bs.nrequires + b->o->nextra_requires;
	const char **reqs = em_arena_array(b->a, n + extra, sizeof *reqs);
	if (!reqs || extra > EM_BUILD_MAX_REQUIRES) {
		json_decref(ret);
		return reqs ? em_err(b->e, EM_ELIMIT, b->label, "too many build requirements")
			    : em_err_nomem(b->e);
	}
	for (uint32_t i = 0; i < b->bs.nrequires; i++)
		reqs[i] = b->bs.requires[i];
	for (uint32_t i = 0; i < b->o->nextra_requires; i++)
		reqs[b->bs.nrequires + i] = b->o->extra_requires[i];
	for (size_t i = 0; i < extra; i++) {
		const char *s = json_string_value(json_array_get(ret, i));
		if (!s || !(reqs[n++] = em_arena_strdup(b->a, s))) {
			json_decref(ret);
			return s ? em_err_nomem(b->e)
				 : fail_hook(b, EM_EINVAL, "get_requires_for_build_wheel",
					     "the backend returned something other than a list of "
					     "strings");
		}
	}
	json_decref(ret);
	/* the environment's hash stays the first one's: what the hook adds
	 * follows from the sdist and that environment */
	const char *first = b->env_hash;
	int erc = ensure_env(b, reqs, n);
	b->env_hash = first;
	return erc;
}

/* A file name the backend returned: one plain name that exists in dir. */
static const char *returned_name(struct bctx *b, json_t *ret, const char *dir, const char *hook)
{
	const char *s = json_string_value(ret);
	struct em_stat st;
	char *p = s ? em_arena_printf(b->a, "%s/%s", dir, s) : NULL;
	if (!s || !*s || strchr(s, '/') || !strcmp(s, "..") || !strcmp(s, ".") || !p ||
	    em_os_lstat(p, &st)) {
		fail_hook(b, EM_EINVAL, hook,
			  "the backend did not return the name of what it made in its output folder");
		return NULL;
	}
	return em_arena_strdup(b->a, s);
}

static char *cache_key(struct bctx *b, const char *kind, char **text_out)
{
	struct em_buf t = EM_BUF_INIT;
	em_buf_addf(&t, "%s\nsdist %s\npython %u.%u%s\n", kind, b->sha256, b->py.major,
		    b->py.minor, b->py.freethreaded ? "t" : "");
	if (!strcmp(kind, "wheel")) {
		em_buf_addf(&t, "platform %s\nbuild-env %s\n", b->platform, b->env_hash);
		for (uint32_t i = 0; i < b->o->nconfig; i++)
			em_buf_addf(&t, "config %s\n", b->o->config[i]);
	}
	char *text = t.err ? NULL : em_arena_strdup(b->a, t.ptr);
	em_buf_release(&t);
	char hex[65];
	if (!text)
		return NULL;
	em_sha256_buf(text, strlen(text), hex);
	*text_out = text;
	return em_arena_strdup(b->a, hex);
}

/* The wheel in a cache entry, or NULL. */
static const char *entry_wheel(struct em_arena *a, const char *dir)
{
	struct em_dirlist *d = em_dirlist_open(dir);
	if (!d)
		return NULL;
	const char *name;
	const char *found = NULL;
	while ((name = em_dirlist_next(d))) {
		size_t n = strlen(name);
		if (n > 4 && !strcmp(name + n - 4, ".whl"))
			found = em_arena_strdup(a, name);
	}
	em_dirlist_close(d);
	return found;
}

static int fill_result(struct bctx *b, const char *dir, const char *file, bool cached,
		       struct em_build_result *out)
{
	struct em_arena *a = b->a;
	memset(out, 0, sizeof *out);
	out->wheel = em_arena_printf(a, "%s/%s", dir, file);
	out->filename = em_arena_strdup(a, file);
	struct em_wheel_name wn;
	if (!out->wheel || !out->filename)
		return em_err_nomem(b->e);
	int rc = em_wheel_name_parse(a, file, strlen(file), &wn, b->e);
	if (rc) {
		em_err_prefix_where(b->e, "%s: the built wheel", b->label);
		return rc;
	}
	if (b->name && (strcmp(wn.name, b->name) || !same_version(a, b->version, &wn.version)))
		return em_err(b->e, EM_EINVAL, b->label,
			      "the backend built '%s', which is not %s %s", file, b->name,
			      b->version);
	struct em_buf v = EM_BUF_INIT;
	em_version_format(&wn.version, &v);
	out->version = v.err ? NULL : em_arena_strdup(a, v.ptr);
	em_buf_release(&v);
	out->name = wn.name;
	if ((rc = em_sha256_file(out->wheel, out->sha256, &out->size, b->e)))
		return rc;
	out->cached = cached;
	out->env_dir = b->o->no_isolation_python ? NULL : b->env_dir;
	char *log = em_arena_printf(a, "%s/build.log", dir);
	struct em_stat st;
	out->log = log && !em_os_stat(log, &st) ? log : NULL;
	return out->version ? 0 : em_err_nomem(b->e);
}

/* Put the folder stage in place as final (the first one there wins). */
static int publish(struct bctx *b, const char *stage, const char *final)
{
	char *parent = em_path_dir(b->a, final);
	if (!parent)
		return em_err_nomem(b->e);
	int rc = em_mkdir_p(parent, b->e);
	if (rc)
		return rc;
	if (em_os_rename(stage, final)) {
		int err = errno;
		struct em_stat st;
		if (em_os_stat(final, &st))
			return em_err_sys(b->e, err, final, "cannot put the result in the cache");
		/* best effort: a leftover in the cache's tmp/ only costs space */
		(void)em_remove_tree(stage, NULL);
	} else {
		em_fsync_parent(final);
	}
	return 0;
}

static int do_build_wheel(struct bctx *b, struct em_build_result *out)
{
	struct em_arena *a = b->a;
	char *keytext = NULL;
	char *key = b->sha256 && !b->o->no_isolation_python ? cache_key(b, "wheel", &keytext)
							      : NULL;
	char *final = key ? em_arena_printf(a, "%s/built/%s", b->c->root, key) : NULL;
	if (key && !final)
		return em_err_nomem(b->e);
	const char *file = final ? entry_wheel(a, final) : NULL;
	if (file) {
		event(b, EM_BUILD_EV_CACHED, final);
		return fill_result(b, final, file, true, out);
	}
	int rc = more_requires(b);
	if (rc)
		return rc;
	char *outdir = em_arena_printf(a, "%s/out", b->tmp);
	if (!outdir)
		return em_err_nomem(b->e);
	if ((rc = em_mkdir_p(outdir, b->e)))
		return rc;
	json_t *cs = config_settings(b);
	json_t *ret;
	if (!cs)
		return em_err_nomem(b->e);
	rc = run_hook(b, "build_wheel",
		      json_pack("{s:s, s:o}", "wheel_directory", outdir, "config_settings", cs), &ret);
	if (rc)
		return rc;
	file = returned_name(b, ret, outdir, "build_wheel");
	json_decref(ret);
	if (!file)
		return b->e->code;
	size_t fl = strlen(file);
	if (fl < 5 || strcmp(file + fl - 4, ".whl"))
		return fail_hook(b, EM_EINVAL, "build_wheel", "the backend made something other than "
				 "a wheel");
	/* the log goes with the wheel */
	char *text;
	size_t len;
	char *lp = em_arena_printf(a, "%s/build.log", outdir);
	/* the log only helps to read a failure later: the build succeeded
	 * whether or not it can be kept */
	if (lp && !em_read_file(a, b->log, MAX_LOG_KEPT, &text, &len, NULL))
		EM_IGNORE(em_write_file_atomic(lp, text, len, 0644, NULL));
	if (!final)
		return fill_result(b, outdir, file, false, out);
	char *kp = em_arena_printf(a, "%s/" EM_BUILT_KEY_NAME, outdir);
	char *hp = em_arena_printf(a, "%s/" EM_BUILT_SHA256_NAME, outdir);
	if (!kp || !hp)
		return em_err_nomem(b->e);
	if ((rc = em_write_file_atomic(kp, keytext, strlen(keytext), 0644, b->e)))
		return rc;
	/* check it before it enters the cache */
	if ((rc = fill_result(b, outdir, file, false, out)))
		return rc;
	/* what 'cache verify' checks the wheel against (sha256sum's format) */
	char *rec = em_arena_printf(a, "%s  %s\n", out->sha256, file);
	if (!rec)
		return em_err_nomem(b->e);
	if ((rc = em_write_file_atomic(hp, rec, strlen(rec), 0644, b->e)))
		return rc;
	if ((rc = publish(b, outdir, final)))
		return rc;
	const char *won = entry_wheel(a, final);
	return fill_result(b, final, won ? won : file, false, out);
}

static void finish(struct bctx *b)
{
	/* best effort: a leftover in the cache's tmp/ only costs space, and
	 * cache clean removes it */
	if (b->tmp)
		(void)em_remove_tree(b->tmp, NULL);
}

static int open_ctx(struct bctx *b, struct em_arena *a, struct em_source *src, struct em_cache *c,
		    const struct em_build_options *o, struct em_error *e)
{
	memset(b, 0, sizeof *b);
	b->a = a;
	b->src = src;
	b->c = c;
	b->o = o;
	b->e = e;
	b->interps = o->interps;
	return 0;
}

int em_build_wheel(struct em_arena *a, struct em_source *src, struct em_cache *c,
		   const char *source, const char *sha256, const struct em_build_options *o,
		   struct em_build_result *out, struct em_error *e)
{
	struct bctx b;
	open_ctx(&b, a, src, c, o, e);
	memset(out, 0, sizeof *out);
	int rc = prepare(&b, source, sha256);
	if (!rc)
		rc = do_build_wheel(&b, out);
	if (!rc && !out->cached && !strncmp(out->wheel, b.tmp, strlen(b.tmp))) {
		/* without isolation the wheel is not cached: keep it beside the
		 * cache's other leftovers until the caller takes it */
		char *keep = em_arena_printf(a, "%s/tmp/built-%s-%ld-%s", c->root, out->sha256,
					     em_os_pid(), out->filename);
		if (!keep)
			rc = em_err_nomem(e);
		else if (em_os_rename(out->wheel, keep))
			rc = em_err_sys(e, errno, keep, "cannot keep the built wheel");
		else {
			out->wheel = keep;
			out->log = NULL;
			out->temporary = true;
		}
	}
	finish(&b);
	return rc;
}

int em_build_metadata(struct em_arena *a, struct em_source *src, struct em_cache *c,
		      const char *sdist, const char *sha256, const struct em_build_options *o,
		      const char **metadata, size_t *len, bool *built, struct em_error *e)
{
	struct bctx b;
	open_ctx(&b, a, src, c, o, e);
	*metadata = NULL;
	*len = 0;
	*built = false;
	int rc = prepare(&b, sdist, sha256);
	char *keytext = NULL, *key = NULL, *final = NULL, *mp = NULL;
	if (!rc && !b.sha256)
		rc = em_err(e, EM_EINVAL, sdist, "metadata is prepared for sdists, not folders");
	if (!rc) {
		key = cache_key(&b, "metadata", &keytext);
		final = key ? em_arena_printf(a, "%s/build-metadata/%s", c->root, key) : NULL;
		mp = final ? em_arena_printf(a, "%s/METADATA", final) : NULL;
		if (!mp)
			rc = em_err_nomem(e);
	}
	char *text = NULL;
	size_t tl = 0;
	if (!rc && !em_read_file(a, mp, EM_METADATA_MAX_LEN, &text, &tl, NULL)) {
		event(&b, EM_BUILD_EV_CACHED, final);
		goto done;
	}
	if (!rc)
		rc = more_requires(&b);
	char *mdir = rc ? NULL : em_arena_printf(a, "%s/meta", b.tmp);
	if (!rc && (!mdir || em_mkdir_p(mdir, e)))
		rc = mdir ? e->code : em_err_nomem(e);
	json_t *ret = NULL;
	if (!rc) {
		json_t *cs = config_settings(&b);
		rc = cs ? run_hook(&b, "prepare_metadata_for_build_wheel",
				   json_pack("{s:s, s:o}", "metadata_directory", mdir,
					     "config_settings", cs), &ret)
			: em_err_nomem(e);
	}
	if (!rc && ret) {
		const char *di = returned_name(&b, ret, mdir, "prepare_metadata_for_build_wheel");
		char *p = di ? em_arena_printf(a, "%s/%s/METADATA", mdir, di) : NULL;
		if (!di)
			rc = e->code;
		else if (!p)
			rc = em_err_nomem(e);
		else
			rc = em_read_file(a, p, EM_METADATA_MAX_LEN, &text, &tl, e);
	} else if (!rc) {
		/* no such hook: build the wheel (cached too) and read its METADATA */
		struct em_build_result r;
		rc = do_build_wheel(&b, &r);
		if (!rc)
			rc = em_wheel_read_metadata(a, r.wheel, &text, &tl, e);
		*built = !rc && !r.cached;
	}
	json_decref(ret);
	if (!rc) {
		char *stage = em_arena_printf(a, "%s/metadata-entry", b.tmp);
		char *sm = stage ? em_arena_printf(a, "%s/METADATA", stage) : NULL;
		char *sk = stage ? em_arena_printf(a, "%s/" EM_BUILT_KEY_NAME, stage) : NULL;
		if (!sm || !sk)
			rc = em_err_nomem(e);
		else if (!(rc = em_mkdir_p(stage, e)) &&
			 !(rc = em_write_file_atomic(sm, text, tl, 0644, e)) &&
			 !(rc = em_write_file_atomic(sk, keytext, strlen(keytext), 0644, e)))
			rc = publish(&b, stage, final);
	}
done:
	finish(&b);
	if (!rc) {
		*metadata = text;
		*len = tl;
	}
	return rc;
}
