/* lock.c - PEP 751 lock files: envmatrix's own (written), anyone's (read)
 *
 * The reader validates as packaging.pylock (pypa/packaging 26.x, the
 * reference) does, plus what envmatrix needs to install from a lock alone:
 * every wheel has a sha256, names a wheel of its own package and version,
 * and its file name is known (from 'name', or the last part of 'path', or
 * of the url's path, percent-decoded). Unknown keys are ignored, as PEP 751
 * asks of a reader of the same major version.
 *
 * The writer's shape (envmatrix's locks are single-use: one target):
 *
 *   lock-version = "1.0"
 *   environments = ["sys_platform == 'linux' and platform_machine == 'x86_64'"]
 *   requires-python = "==3.12.10"
 *   created-by = "envmatrix"
 *
 *   [[packages]]                     sorted by name (then version, marker)
 *   name = "torch"
 *   version = "2.8.0+cu126"
 *   marker = "..."                   when set
 *   requires-python = ">=3.9.0"      when set
 *   index = "https://download.pytorch.org/whl/cu126"
 *   dependencies = [                 when known, sorted (informational)
 *       { name = "filelock" },
 *   ]
 *
 *   [packages.sdist]                 a package planned from its sdist
 *   name = "openai_whisper-20250625.tar.gz"   (url, size, upload-time and
 *   ...                              hashes as for a wheel)
 *
 *   [[packages.wheels]]              sorted by file name
 *   name = "torch-2.8.0+cu126-cp312-cp312-manylinux_2_28_x86_64.whl"
 *   url = "https://download.pytorch.org/whl/cu126/torch-2.8.0%2Bcu126-..."
 *   size = 888806464                 when known
 *   upload-time = 2025-08-06T18:00:00Z   when known
 *   hashes = { sha256 = "..." }
 *
 *   [packages.tool.envmatrix]        for packages the user asked for
 *   requested = true
 *
 *   [tool.envmatrix]
 *   workload = "vlm"
 *   matrix = "matrix.ini"            the matrix file's name (lockname.h)
 *   python = "3.12.10"
 *   platform = "linux-x86_64"
 *   torch-variant = "cu126"
 *   inputs = "<sha256 of the planning inputs>"
 *   python-url = "https://.../cpython-3.12.10+...-install_only.tar.gz"
 *   python-sha256 = "..."            when the interpreter is a download
 *   python-size = 31000000           (pybuild.h), when its size is known
 *
 * A blank line comes before every header. 'name' is always written for a
 * wheel: it is optional only when it equals the last part of the url, and
 * PyTorch's urls spell '+' as %2B, which readers that do not decode (as
 * packaging's) would take for the file name.
 */
#include "spec/lock.h"
#include "spec/name.h"
#include "spec/pep440.h"
#include "spec/pep508.h"
#include "util/error.h"
#include "util/str.h"
#include "spec/tags.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHA256_HEX 64

/* A sha256 in hex (either case). */
static bool sha256_ok(const char *s, size_t n)
{
	return n == SHA256_HEX && em_str_is_hex(s, n);
}

/* A normalized project name (what packaging's is_normalized_name accepts). */
static bool name_normalized(const char *s)
{
	size_t n = strlen(s);
	if (!em_name_is_valid(s, n))
		return false;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if ((c >= 'A' && c <= 'Z') || c == '_' || c == '.' || (c == '-' && s[i + 1] == '-'))
			return false;
	}
	return true;
}

/* What a file name taken from a lock may be: one path segment. */
static bool file_name_ok(const char *s, size_t n)
{
	if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '/' || c == '\\' || c < 0x20 || c == 0x7f)
			return false;
	}
	return em_utf8_valid(s, n);
}

/* The last part of a url's path, percent-decoded (what packaging takes
 * from urlparse(url).path, decoded); "" when the path ends with '/'. A
 * decoded NUL stays in: *len tells. */
static char *url_file_name(struct em_arena *a, const char *url, size_t *len)
{
	size_t end = strcspn(url, "?#");
	size_t start = 0;
	const char *sep = strstr(url, "://");
	if (sep && (size_t)(sep - url) < end) {
		start = (size_t)(sep - url) + 3;
		while (start < end && url[start] != '/')
			start++; /* the host */
	}
	for (size_t i = start; i < end; i++)
		if (url[i] == '/')
			start = i + 1;
	char *out = em_arena_alloc(a, end - start + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	for (size_t i = start; i < end; i++) {
		int hi = i + 2 < end ? em_hex_value((unsigned char)url[i + 1]) : -1;
		int lo = i + 2 < end ? em_hex_value((unsigned char)url[i + 2]) : -1;
		if (url[i] == '%' && hi >= 0 && lo >= 0) {
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			out[o++] = url[i];
		}
	}
	out[o] = '\0';
	*len = o;
	return out;
}

/* The last part of a path ('/' or, when there is none, '\\' separated). */
static const char *path_file_name(const char *path)
{
	const char *s = strrchr(path, '/');
	if (!s)
		s = strrchr(path, '\\');
	return s ? s + 1 : path;
}

/* The file name of an entry: name, else from path, else from url (as
 * packaging's PackageWheel.filename), and its length. NULL when out of
 * memory. */
static const char *entry_file_name(struct em_arena *a, const char *name, const char *url,
				   const char *path, size_t *len)
{
	const char *s = "";
	if (name && name[0])
		s = name;
	else if (path && path[0])
		s = path_file_name(path);
	else if (url && url[0])
		return url_file_name(a, url, len);
	*len = strlen(s);
	return s;
}

/* The strings of [tool.envmatrix], in the order they are read and written
 * (struct em_lock names them the same). */
static const char *const tool_keys[] = { "workload",   "matrix",        "python",
					 "platform",   "torch-variant", "inputs",
					 "python-url", "python-sha256" };
#define NTOOL (sizeof tool_keys / sizeof tool_keys[0])

/* An error of the reader or the writer: fmt and ap after "PKG_WORDS
 * 'PKG': " while a package is at hand (pkg), else after plain. */
static int pkg_err(struct em_error *e, int code, const char *file, uint32_t line,
		   const char *pkg_words, const char *pkg, const char *plain, const char *fmt,
		   va_list ap) __attribute__((format(printf, 8, 0)));

static int pkg_err(struct em_error *e, int code, const char *file, uint32_t line,
		   const char *pkg_words, const char *pkg, const char *plain, const char *fmt,
		   va_list ap)
{
	char msg[EM_ERROR_MSG_MAX];
	char q[96];
	vsnprintf(msg, sizeof msg, fmt, ap);
	if (pkg)
		return em_err_at(e, code, file, line, "%s '%s': %s", pkg_words,
				 em_quote(q, sizeof q, pkg, strlen(pkg)), msg);
	return em_err_at(e, code, file, line, "%s%s", plain, msg);
}

/* What a lock holds in PEP 508 syntax. */
enum expr { MARKER, SPECSET };

/* Whether s parses as a kind, in the scratch arena tmp: 0, or the error
 * with the reason in sub. */
static int expr_parses(struct em_arena *tmp, const char *s, enum expr kind, struct em_error *sub)
{
	struct em_arena_mark m = em_arena_mark(tmp);
	int rc;
	if (kind == MARKER) {
		struct em_marker *mk;
		rc = em_marker_parse(tmp, s, strlen(s), &mk, sub);
	} else {
		struct em_specset set;
		rc = em_specset_parse(tmp, s, strlen(s), &set, sub);
	}
	em_arena_rewind(tmp, m);
	return rc;
}

/* ---- reading ---- */

struct reader {
	struct em_arena *a;   /* the result */
	struct em_arena *tmp; /* scratch parses (versions, markers, wheel names) */
	const char *where;
	struct em_error *e;
	const char *pkg; /* the package being read, for messages */
	char ctx[160];   /* "wheel 'x.whl'" and the like, for messages */
};

static int rerr(struct reader *r, int code, uint32_t line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int rerr(struct reader *r, int code, uint32_t line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = pkg_err(r->e, code, r->where, line, "package", r->pkg, "", fmt, ap);
	va_end(ap);
	return rc;
}

/* " of <ctx>" when a context is set. */
static const char *of_ctx(const struct reader *r)
{
	return r->ctx[0] ? " of " : "";
}

/* Member key of t when it has type want (NULL when absent). */
static int get(struct reader *r, const struct em_toml *t, const char *key, enum em_toml_type want,
	       const struct em_toml **out)
{
	const struct em_toml *v = em_toml_get(t, key);
	*out = NULL;
	if (!v)
		return 0;
	if (v->type != want)
		return rerr(r, EM_EINVAL, v->line, "'%s'%s%s must be %s, not %s", key, of_ctx(r),
			    r->ctx, em_toml_type_name(want), em_toml_type_name(v->type));
	*out = v;
	return 0;
}

static int check_nul(struct reader *r, const struct em_toml *v, const char *key)
{
	if (memchr(v->u.str.s, '\0', v->u.str.len))
		return rerr(r, EM_EINVAL, v->line, "'%s'%s%s contains a NUL character", key,
			    of_ctx(r), r->ctx);
	return 0;
}

static int get_str(struct reader *r, const struct em_toml *t, const char *key, const char **out,
		   uint32_t *line)
{
	const struct em_toml *v;
	*out = NULL;
	int rc = get(r, t, key, EM_TOML_STRING, &v);
	if (rc || !v)
		return rc;
	rc = check_nul(r, v, key);
	if (rc)
		return rc;
	*out = v->u.str.s;
	if (line)
		*line = v->line;
	return 0;
}

static int missing(struct reader *r, const struct em_toml *t, const char *key)
{
	return rerr(r, EM_EINVAL, t->line, "'%s'%s%s is missing", key, of_ctx(r), r->ctx);
}

static int get_str_required(struct reader *r, const struct em_toml *t, const char *key,
			    const char **out, uint32_t *line)
{
	int rc = get_str(r, t, key, out, line);
	if (!rc && !*out)
		rc = missing(r, t, key);
	return rc;
}

static int get_required(struct reader *r, const struct em_toml *t, const char *key,
			enum em_toml_type want, const struct em_toml **out)
{
	int rc = get(r, t, key, want, out);
	if (!rc && !*out)
		rc = missing(r, t, key);
	return rc;
}

/* Item i of the array v (under key), which must be a table. */
static int table_at(struct reader *r, const struct em_toml *v, uint32_t i, const char *key,
		    const struct em_toml **out)
{
	const struct em_toml *it = v->u.arr.items[i];
	*out = it;
	if (it->type != EM_TOML_TABLE)
		return rerr(r, EM_EINVAL, it->line, "'%s' must hold tables, not %s", key,
			    em_toml_type_name(it->type));
	return 0;
}

/* Item i of array v (under key) as a table, that the messages which
 * follow name "what N" (N from 1). */
static int entry_at(struct reader *r, const struct em_toml *v, uint32_t i, const char *key,
		    const char *what, const struct em_toml **out)
{
	int rc = table_at(r, v, i, key, out);
	if (!rc)
		snprintf(r->ctx, sizeof r->ctx, "%s %u", what, (unsigned)i + 1);
	return rc;
}

/* An array of strings. */
static int get_str_array(struct reader *r, const struct em_toml *t, const char *key,
			 const char ***out, uint32_t *n)
{
	const struct em_toml *v;
	*out = NULL;
	*n = 0;
	int rc = get(r, t, key, EM_TOML_ARRAY, &v);
	if (rc || !v || v->u.arr.n == 0)
		return rc;
	const char **items = em_arena_array(r->a, v->u.arr.n, sizeof *items);
	if (!items)
		return em_err_nomem(r->e);
	for (uint32_t i = 0; i < v->u.arr.n; i++) {
		const struct em_toml *it = v->u.arr.items[i];
		if (it->type != EM_TOML_STRING)
			return rerr(r, EM_EINVAL, it->line, "'%s'%s%s must hold strings, not %s", key,
				    of_ctx(r), r->ctx, em_toml_type_name(it->type));
		rc = check_nul(r, it, key);
		if (rc)
			return rc;
		items[i] = it->u.str.s;
	}
	*out = items;
	*n = v->u.arr.n;
	return 0;
}

static int check_expr(struct reader *r, const char *s, uint32_t line, const char *key,
		      enum expr kind)
{
	struct em_error sub = { 0 };
	int rc = expr_parses(r->tmp, s, kind, &sub);
	if (rc)
		return rerr(r, rc, line, "invalid '%s': %s", key, sub.msg);
	return 0;
}

static int check_name(struct reader *r, const char *name, uint32_t line, const char *what)
{
	char q[96], c[96];
	size_t n = strlen(name);
	if (!em_name_is_valid(name, n))
		return rerr(r, EM_EINVAL, line, "invalid %s '%s'", what, em_quote(q, sizeof q, name, n));
	if (!name_normalized(name)) {
		/* for the message only: cut, like the quoted name, when long */
		(void)em_name_canonical_buf(name, n, c, sizeof c);
		return rerr(r, EM_EINVAL, line, "%s '%s' is not normalized (write '%s')", what,
			    em_quote(q, sizeof q, name, n), c);
	}
	return 0;
}

static int read_lock_version(struct reader *r, const struct em_toml *doc, struct em_lock *out)
{
	char q[96];
	uint32_t line = doc->line;
	int rc = get_str_required(r, doc, "lock-version", &out->lock_version, &line);
	if (rc)
		return rc;
	const char *s = out->lock_version;
	struct em_arena_mark m = em_arena_mark(r->tmp);
	struct em_version v, one, onezero, two;
	rc = em_version_parse(r->tmp, s, strlen(s), &v, NULL);
	if (rc) {
		em_arena_rewind(r->tmp, m);
		return rerr(r, EM_EINVAL, line, "invalid 'lock-version' '%s'",
			    em_quote(q, sizeof q, s, strlen(s)));
	}
	if (em_version_parse(r->tmp, "1", 1, &one, NULL) ||
	    em_version_parse(r->tmp, "1.0", 3, &onezero, NULL) ||
	    em_version_parse(r->tmp, "2", 1, &two, NULL)) {
		em_arena_rewind(r->tmp, m);
		return em_err_nomem(r->e);
	}
	bool supported = em_version_cmp(&v, &one) >= 0 && em_version_cmp(&v, &two) < 0;
	out->lock_version_newer = em_version_cmp(&v, &onezero) > 0;
	em_arena_rewind(r->tmp, m);
	if (!supported)
		return rerr(r, EM_EUNSUPPORTED, line,
			    "unsupported 'lock-version' '%s' (envmatrix reads 1.x)",
			    em_quote(q, sizeof q, s, strlen(s)));
	return 0;
}

/* One file entry: a wheel, an sdist or an archive (kind says which). */
static int read_file(struct reader *r, const struct em_toml *t, const char *kind, uint32_t idx,
		     struct em_lock_file *f)
{
	char q[96];
	const char *name, *url, *path;
	memset(f, 0, sizeof *f);
	f->size = -1;
	f->line = t->line;
	if (idx)
		snprintf(r->ctx, sizeof r->ctx, "%s %u", kind, (unsigned)idx);
	else
		snprintf(r->ctx, sizeof r->ctx, "%s", kind);
	int rc = get_str(r, t, "name", &name, NULL);
	if (!rc)
		rc = get_str(r, t, "url", &url, NULL);
	if (!rc)
		rc = get_str(r, t, "path", &path, NULL);
	if (rc)
		return rc;
	if ((!url || !url[0]) && (!path || !path[0]))
		return rerr(r, EM_EINVAL, t->line, "%s has no 'url' or 'path'", r->ctx);
	size_t flen;
	const char *fname = entry_file_name(r->a, name, url, path, &flen);
	if (!fname)
		return em_err_nomem(r->e);
	if (!file_name_ok(fname, flen))
		return rerr(r, EM_EINVAL, t->line, "%s: invalid file name '%s'", r->ctx,
			    em_quote(q, sizeof q, fname, flen));
	f->name = fname;
	f->url = url;
	f->path = path;
	snprintf(r->ctx, sizeof r->ctx, "%s '%s'", kind, em_quote(q, sizeof q, fname, strlen(fname)));

	const struct em_toml *v;
	rc = get(r, t, "size", EM_TOML_INTEGER, &v);
	if (rc)
		return rc;
	if (v && v->u.i < 0)
		return rerr(r, EM_EINVAL, v->line, "'size' of %s is negative", r->ctx);
	if (v)
		f->size = v->u.i;

	rc = get(r, t, "upload-time", EM_TOML_DATETIME, &v);
	if (rc)
		return rc;
	if (v) {
		enum em_toml_datetime_kind k = em_toml_datetime_kind(v->u.str.s, v->u.str.len);
		if (k != EM_TOML_DT_OFFSET && k != EM_TOML_DT_LOCAL)
			return rerr(r, EM_EINVAL, v->line,
				    "'upload-time' of %s must be a date and a time, not '%s'", r->ctx,
				    em_quote(q, sizeof q, v->u.str.s, v->u.str.len));
		f->upload_time = v->u.str.s;
	}

	const struct em_toml *h;
	rc = get_required(r, t, "hashes", EM_TOML_TABLE, &h);
	if (rc)
		return rc;
	if (h->u.tab.n == 0)
		return rerr(r, EM_EINVAL, h->line, "'hashes' of %s is empty (one hash at least)",
			    r->ctx);
	for (uint32_t i = 0; i < h->u.tab.n; i++) {
		const struct em_toml_kv *kv = &h->u.tab.kv[i];
		v = kv->value;
		if (v->type != EM_TOML_STRING)
			return rerr(r, EM_EINVAL, v->line, "hash '%s' of %s must be a string, not %s",
				    em_quote(q, sizeof q, kv->key, kv->key_len), r->ctx,
				    em_toml_type_name(v->type));
		if (!em_str_ieq(kv->key, kv->key_len, "sha256"))
			continue;
		if (!sha256_ok(v->u.str.s, v->u.str.len))
			return rerr(r, EM_EINVAL, v->line, "invalid sha256 '%s' of %s",
				    em_quote(q, sizeof q, v->u.str.s, v->u.str.len), r->ctx);
		char *hex = em_arena_strndup(r->a, v->u.str.s, SHA256_HEX);
		if (!hex)
			return em_err_nomem(r->e);
		for (char *c = hex; *c; c++)
			*c = (char)em_lower((unsigned char)*c);
		f->sha256 = hex;
	}
	if (!f->sha256 && strcmp(kind, "wheel") == 0)
		return rerr(r, EM_EUNSUPPORTED, h->line,
			    "%s has no sha256 hash (only '%s'); envmatrix verifies every "
			    "download by its sha256",
			    r->ctx, em_quote(q, sizeof q, h->u.tab.kv[0].key, h->u.tab.kv[0].key_len));
	return 0;
}

/* The wheel's file name names this package and version. */
static int check_wheel_name(struct reader *r, const struct em_lock_file *f,
			    const struct em_lock_package *pk, const struct em_version *pv)
{
	char q[96];
	struct em_arena_mark m = em_arena_mark(r->tmp);
	struct em_wheel_name w;
	struct em_error sub = { 0 };
	int rc = em_wheel_name_parse(r->tmp, f->name, strlen(f->name), &w, &sub);
	if (rc) {
		em_arena_rewind(r->tmp, m);
		return rerr(r, rc, f->line, "%s", sub.msg);
	}
	if (strcmp(w.name, pk->name) != 0) {
		rc = rerr(r, EM_EINVAL, f->line, "wheel '%s' is not a file of this package",
			  em_quote(q, sizeof q, f->name, strlen(f->name)));
	} else if (pv && em_version_cmp(&w.version, pv) != 0) {
		rc = rerr(r, EM_EINVAL, f->line, "wheel '%s' is not of version '%s'",
			  em_quote(q, sizeof q, f->name, strlen(f->name)), pk->version);
	}
	em_arena_rewind(r->tmp, m);
	return rc;
}

static int read_vcs(struct reader *r, const struct em_toml *t)
{
	const char *s, *url, *path;
	snprintf(r->ctx, sizeof r->ctx, "'vcs'");
	int rc = get_str_required(r, t, "type", &s, NULL);
	if (!rc)
		rc = get_str_required(r, t, "commit-id", &s, NULL);
	if (!rc)
		rc = get_str(r, t, "url", &url, NULL);
	if (!rc)
		rc = get_str(r, t, "path", &path, NULL);
	if (!rc)
		rc = get_str(r, t, "requested-revision", &s, NULL);
	if (!rc)
		rc = get_str(r, t, "subdirectory", &s, NULL);
	if (!rc && (!url || !url[0]) && (!path || !path[0]))
		rc = rerr(r, EM_EINVAL, t->line, "'vcs' has no 'url' or 'path'");
	return rc;
}

static int read_directory(struct reader *r, const struct em_toml *t)
{
	const char *s;
	const struct em_toml *b;
	snprintf(r->ctx, sizeof r->ctx, "'directory'");
	int rc = get_str_required(r, t, "path", &s, NULL);
	if (!rc)
		rc = get(r, t, "editable", EM_TOML_BOOL, &b);
	if (!rc)
		rc = get_str(r, t, "subdirectory", &s, NULL);
	return rc;
}

/* name, version (parsed into *pv when given), marker, requires-python and
 * index */
static int read_package_head(struct reader *r, const struct em_toml *t,
			     struct em_lock_package *pk, struct em_version *pv)
{
	uint32_t line = t->line;
	memset(pk, 0, sizeof *pk);
	pk->line = t->line;
	r->pkg = NULL;
	r->ctx[0] = '\0';
	int rc = get_str_required(r, t, "name", &pk->name, &line);
	if (!rc)
		rc = check_name(r, pk->name, line, "package name");
	if (rc)
		return rc;
	r->pkg = pk->name;

	rc = get_str(r, t, "version", &pk->version, &line);
	if (!rc && pk->version) {
		struct em_error sub = { 0 };
		rc = em_version_parse(r->tmp, pk->version, strlen(pk->version), pv, &sub);
		if (rc)
			return rerr(r, rc, line, "%s", sub.msg);
	}
	if (!rc)
		rc = get_str(r, t, "marker", &pk->marker, &line);
	if (!rc && pk->marker)
		rc = check_expr(r, pk->marker, line, "marker", MARKER);
	if (!rc)
		rc = get_str(r, t, "requires-python", &pk->requires_python, &line);
	if (!rc && pk->requires_python)
		rc = check_expr(r, pk->requires_python, line, "requires-python", SPECSET);
	if (!rc)
		rc = get_str(r, t, "index", &pk->index, NULL);
	return rc;
}

/* dependencies, attestation-identities and tool.envmatrix */
static int read_package_extras(struct reader *r, const struct em_toml *t,
			       struct em_lock_package *pk)
{
	const struct em_toml *deps, *att, *tool;
	int rc = get(r, t, "dependencies", EM_TOML_ARRAY, &deps);
	if (!rc && deps && deps->u.arr.n) {
		pk->deps = em_arena_array(r->a, deps->u.arr.n, sizeof *pk->deps);
		if (!pk->deps)
			return em_err_nomem(r->e);
		for (uint32_t i = 0; i < deps->u.arr.n && !rc; i++) {
			const struct em_toml *d;
			const char *dn;
			rc = entry_at(r, deps, i, "dependencies", "dependency", &d);
			if (rc)
				return rc;
			rc = get_str(r, d, "name", &dn, NULL);
			if (!rc && dn)
				pk->deps[pk->ndeps++] = dn;
		}
		r->ctx[0] = '\0';
	}
	if (!rc)
		rc = get(r, t, "attestation-identities", EM_TOML_ARRAY, &att);
	for (uint32_t i = 0; !rc && att && i < att->u.arr.n; i++) {
		const struct em_toml *it;
		const char *kind;
		rc = entry_at(r, att, i, "attestation-identities", "attestation identity", &it);
		if (rc)
			return rc;
		rc = get_str_required(r, it, "kind", &kind, NULL);
		r->ctx[0] = '\0';
	}
	if (!rc)
		rc = get(r, t, "tool", EM_TOML_TABLE, &tool);
	if (!rc && tool) {
		const struct em_toml *mine, *req;
		rc = get(r, tool, "envmatrix", EM_TOML_TABLE, &mine);
		if (!rc && mine) {
			snprintf(r->ctx, sizeof r->ctx, "'tool.envmatrix'");
			rc = get(r, mine, "requested", EM_TOML_BOOL, &req);
			pk->requested = !rc && req && req->u.b;
			r->ctx[0] = '\0';
		}
	}
	return rc;
}

/* The wheels: tables, each a file of this package at version pv (NULL
 * when the package names none). */
static int read_wheels(struct reader *r, const struct em_toml *wheels, struct em_lock_package *pk,
		       const struct em_version *pv)
{
	pk->wheels = em_arena_array(r->a, wheels->u.arr.n, sizeof *pk->wheels);
	if (!pk->wheels)
		return em_err_nomem(r->e);
	for (uint32_t i = 0; i < wheels->u.arr.n; i++) {
		const struct em_toml *w;
		int rc = table_at(r, wheels, i, "wheels", &w);
		if (!rc)
			rc = read_file(r, w, "wheel", i + 1, &pk->wheels[i]);
		if (!rc)
			rc = check_wheel_name(r, &pk->wheels[i], pk, pv);
		if (rc)
			return rc;
		pk->nwheels++;
	}
	return 0;
}

/* The package's source: wheels and an sdist, or one of vcs, directory and
 * archive. */
static int read_sources(struct reader *r, const struct em_toml *t, struct em_lock_package *pk,
			const struct em_version *pv)
{
	const struct em_toml *vcs, *dir, *archive, *sdist, *wheels;
	int rc = get(r, t, "vcs", EM_TOML_TABLE, &vcs);
	if (!rc)
		rc = get(r, t, "directory", EM_TOML_TABLE, &dir);
	if (!rc)
		rc = get(r, t, "archive", EM_TOML_TABLE, &archive);
	if (!rc)
		rc = get(r, t, "sdist", EM_TOML_TABLE, &sdist);
	if (!rc)
		rc = get(r, t, "wheels", EM_TOML_ARRAY, &wheels);
	if (rc)
		return rc;
	const char *direct[3];
	unsigned ndirect = 0;
	if (vcs)
		direct[ndirect++] = "vcs";
	if (dir)
		direct[ndirect++] = "directory";
	if (archive)
		direct[ndirect++] = "archive";
	bool dist = sdist || (wheels && wheels->u.arr.n);
	if (dist && ndirect)
		return rerr(r, EM_EINVAL, t->line,
			    "both '%s' and '%s' are given (a package has one kind of source)",
			    direct[0], sdist ? "sdist" : "wheels");
	if (!dist && ndirect > 1)
		return rerr(r, EM_EINVAL, t->line,
			    "both '%s' and '%s' are given (a package has one kind of source)",
			    direct[0], direct[1]);
	if (!dist && !ndirect)
		return rerr(r, EM_EINVAL, t->line,
			    "no source: one of 'wheels', 'sdist', 'archive', 'directory' or 'vcs' "
			    "is needed");
	pk->has_sdist = sdist != NULL;
	pk->has_other_source = ndirect > 0;
	if (vcs)
		rc = read_vcs(r, vcs);
	if (!rc && dir)
		rc = read_directory(r, dir);
	if (!rc && archive) {
		pk->archive = em_arena_alloc(r->a, sizeof *pk->archive);
		rc = pk->archive ? read_file(r, archive, "archive", 0, pk->archive)
				 : em_err_nomem(r->e);
	}
	if (!rc && sdist) {
		pk->sdist = em_arena_alloc(r->a, sizeof *pk->sdist);
		rc = pk->sdist ? read_file(r, sdist, "sdist", 0, pk->sdist) : em_err_nomem(r->e);
	}
	if (!rc && wheels && wheels->u.arr.n)
		rc = read_wheels(r, wheels, pk, pv);
	return rc;
}

static int read_package(struct reader *r, const struct em_toml *t, struct em_lock_package *pk)
{
	struct em_version pv;
	int rc = read_package_head(r, t, pk, &pv);
	if (!rc)
		rc = read_package_extras(r, t, pk);
	if (!rc)
		rc = read_sources(r, t, pk, pk->version ? &pv : NULL);
	if (rc)
		return rc;
	r->ctx[0] = '\0';
	return 0;
}

static int read_tool(struct reader *r, const struct em_toml *doc, struct em_lock *out)
{
	const struct em_toml *tool, *mine;
	int rc = get(r, doc, "tool", EM_TOML_TABLE, &tool);
	if (rc || !tool)
		return rc;
	rc = get(r, tool, "envmatrix", EM_TOML_TABLE, &mine);
	if (rc || !mine)
		return rc;
	snprintf(r->ctx, sizeof r->ctx, "'tool.envmatrix'");
	const char **field[NTOOL] = { &out->workload,   &out->matrix,        &out->python,
				      &out->platform,   &out->torch_variant, &out->inputs,
				      &out->python_url, &out->python_sha256 };
	for (size_t i = 0; !rc && i < NTOOL; i++)
		rc = get_str(r, mine, tool_keys[i], field[i], NULL);
	if (!rc && out->python_sha256 &&
	    !sha256_ok(out->python_sha256, strlen(out->python_sha256)))
		rc = rerr(r, EM_EINVAL, mine->line, "'python-sha256' of %s is not 64 hex digits",
			  r->ctx);
	if (!rc && !!out->python_url != !!out->python_sha256)
		rc = rerr(r, EM_EINVAL, mine->line, "%s needs both 'python-url' and 'python-sha256'",
			  r->ctx);
	if (!rc) {
		const struct em_toml *v;
		rc = get(r, mine, "python-size", EM_TOML_INTEGER, &v);
		if (!rc && v && v->u.i < 0)
			rc = rerr(r, EM_EINVAL, v->line, "'python-size' of %s is negative", r->ctx);
		if (!rc && v)
			out->python_size = v->u.i;
	}
	r->ctx[0] = '\0';
	return rc;
}

static int read_lock(struct reader *r, const struct em_toml *doc, struct em_lock *out)
{
	uint32_t line = doc->line;
	int rc = read_lock_version(r, doc, out);
	if (!rc)
		rc = get_str_required(r, doc, "created-by", &out->created_by, NULL);
	if (!rc)
		rc = get_str_array(r, doc, "environments", &out->environments, &out->nenvironments);
	for (uint32_t i = 0; !rc && i < out->nenvironments; i++)
		rc = check_expr(r, out->environments[i], em_toml_get(doc, "environments")->line,
				"environments", MARKER);
	if (!rc)
		rc = get_str(r, doc, "requires-python", &out->requires_python, &line);
	if (!rc && out->requires_python)
		rc = check_expr(r, out->requires_python, line, "requires-python", SPECSET);
	if (!rc)
		rc = get_str_array(r, doc, "extras", &out->extras, &out->nextras);
	for (uint32_t i = 0; !rc && i < out->nextras; i++)
		rc = check_name(r, out->extras[i], em_toml_get(doc, "extras")->line, "extra");
	if (!rc)
		rc = get_str_array(r, doc, "dependency-groups", &out->dependency_groups,
				   &out->ndependency_groups);
	if (!rc)
		rc = get_str_array(r, doc, "default-groups", &out->default_groups,
				   &out->ndefault_groups);
	if (!rc)
		rc = read_tool(r, doc, out);
	if (rc)
		return rc;

	const struct em_toml *pk;
	rc = get_required(r, doc, "packages", EM_TOML_ARRAY, &pk);
	if (rc)
		return rc;
	if (pk->u.arr.n) {
		out->packages = em_arena_array(r->a, pk->u.arr.n, sizeof *out->packages);
		if (!out->packages)
			return em_err_nomem(r->e);
	}
	for (uint32_t i = 0; i < pk->u.arr.n; i++) {
		const struct em_toml *t;
		rc = table_at(r, pk, i, "packages", &t);
		if (rc)
			return rc;
		struct em_arena_mark m = em_arena_mark(r->tmp);
		rc = read_package(r, t, &out->packages[i]);
		em_arena_rewind(r->tmp, m);
		r->pkg = NULL;
		if (rc)
			return rc;
		out->npackages++;
	}
	return 0;
}

int em_lock_parse(struct em_arena *a, const char *buf, size_t len, const char *where,
		  struct em_lock *out, struct em_error *e)
{
	memset(out, 0, sizeof *out);
	struct em_arena_mark m = em_arena_mark(a);
	struct em_toml *doc;
	int rc = em_toml_parse(a, buf, len, where, &doc, e);
	if (rc)
		return rc;
	char stack[4096];
	struct em_arena tmp;
	em_arena_init_buf(&tmp, stack, sizeof stack);
	struct reader r = { .a = a, .tmp = &tmp, .where = where, .e = e };
	rc = read_lock(&r, doc, out);
	em_arena_release(&tmp);
	if (rc) {
		em_arena_rewind(a, m);
		memset(out, 0, sizeof *out);
	}
	return rc;
}

/* ---- writing ---- */

struct writer {
	struct em_buf *b;
	struct em_error *e;
	struct em_arena *tmp;
	const char *pkg; /* the package being written, for messages */
};

static int werr(struct writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int werr(struct writer *w, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = pkg_err(w->e, EM_EINVAL, NULL, 0, "cannot write package", w->pkg,
			 "cannot write the lock: ", fmt, ap);
	va_end(ap);
	return rc;
}

static int check_text(struct writer *w, const char *s, const char *what)
{
	if (!s)
		return werr(w, "%s is missing", what);
	if (!em_utf8_valid(s, strlen(s)))
		return werr(w, "%s is not valid UTF-8", what);
	return 0;
}

static int check_expr_w(struct writer *w, const char *s, const char *what, enum expr kind)
{
	int rc = check_text(w, s, what);
	if (rc)
		return rc;
	struct em_error sub = { 0 };
	rc = expr_parses(w->tmp, s, kind, &sub);
	return rc ? werr(w, "invalid %s: %s", what, sub.msg) : 0;
}

/* A TOML basic string. */
static void put_str(struct em_buf *b, const char *s)
{
	em_buf_addc(b, '"');
	for (;;) {
		size_t run = 0;
		while (s[run] && s[run] != '"' && s[run] != '\\' && (unsigned char)s[run] >= 0x20 &&
		       s[run] != 0x7f)
			run++;
		em_buf_add(b, s, run);
		s += run;
		if (!*s)
			break;
		if (*s == '"' || *s == '\\') {
			em_buf_addc(b, '\\');
			em_buf_addc(b, *s);
		} else {
			em_buf_addf(b, "\\u%04X", (unsigned)(unsigned char)*s);
		}
		s++;
	}
	em_buf_addc(b, '"');
}

static void put_kv(struct em_buf *b, const char *key, const char *s)
{
	em_buf_addstr(b, key);
	em_buf_addstr(b, " = ");
	put_str(b, s);
	em_buf_addc(b, '\n');
}

static void put_str_array(struct em_buf *b, const char *key, const char *const *items, uint32_t n)
{
	em_buf_addstr(b, key);
	em_buf_addstr(b, " = [");
	for (uint32_t i = 0; i < n; i++) {
		if (i)
			em_buf_addstr(b, ", ");
		put_str(b, items[i]);
	}
	em_buf_addstr(b, "]\n");
}

static int cmp_opt(const char *x, const char *y)
{
	if (!x || !y)
		return (x != NULL) - (y != NULL);
	return strcmp(x, y);
}

static int cmp_package(const void *pa, const void *pb)
{
	const struct em_lock_package *x = *(const struct em_lock_package *const *)pa;
	const struct em_lock_package *y = *(const struct em_lock_package *const *)pb;
	int c = strcmp(x->name, y->name);
	if (!c)
		c = cmp_opt(x->version, y->version);
	if (!c)
		c = cmp_opt(x->marker, y->marker);
	if (!c)
		c = (x > y) - (x < y); /* as given */
	return c;
}

struct wheel_ref {
	const char *name; /* file name, given or derived */
	const struct em_lock_file *f;
};

static int cmp_wheel(const void *pa, const void *pb)
{
	const struct wheel_ref *x = pa, *y = pb;
	int c = strcmp(x->name, y->name);
	if (!c)
		c = cmp_opt(x->f->url, y->f->url);
	if (!c)
		c = cmp_opt(x->f->path, y->f->path);
	if (!c)
		c = (x->f > y->f) - (x->f < y->f);
	return c;
}

static int cmp_str(const void *pa, const void *pb)
{
	const char *const *x = pa, *const *y = pb;
	int c = strcmp(*x, *y);
	return c ? c : (x > y) - (x < y);
}

/* An sdist's or a wheel's texts and file name (into *name): kind is
 * "sdist" or "wheel", a_kind "an sdist" or "a wheel". */
static int check_file_name(struct writer *w, const struct em_lock_file *f, const char *kind,
			   const char *a_kind, const char **name)
{
	char q[96], what[32];
	int rc = 0;
	snprintf(what, sizeof what, "%s url", a_kind);
	if (f->url)
		rc = check_text(w, f->url, what);
	snprintf(what, sizeof what, "%s path", a_kind);
	if (!rc && f->path)
		rc = check_text(w, f->path, what);
	snprintf(what, sizeof what, "%s name", a_kind);
	if (!rc && f->name)
		rc = check_text(w, f->name, what);
	if (rc)
		return rc;
	size_t nlen;
	*name = entry_file_name(w->tmp, f->name, f->url, f->path, &nlen);
	if (!*name)
		return em_err_nomem(w->e);
	if (!file_name_ok(*name, nlen))
		return werr(w, "invalid %s file name '%s'", kind, em_quote(q, sizeof q, *name, nlen));
	return 0;
}

/* An sdist's or a wheel's hash, size and upload time. */
static int check_file_facts(struct writer *w, const struct em_lock_file *f, const char *kind,
			    const char *name)
{
	char q[96];
	if (!f->sha256 || !sha256_ok(f->sha256, strlen(f->sha256)))
		return werr(w, "%s '%s' has no valid sha256", kind,
			    em_quote(q, sizeof q, name, strlen(name)));
	if (f->size < -1)
		return werr(w, "%s '%s' has a negative size", kind,
			    em_quote(q, sizeof q, name, strlen(name)));
	if (f->upload_time) {
		enum em_toml_datetime_kind k =
			em_toml_datetime_kind(f->upload_time, strlen(f->upload_time));
		if (k != EM_TOML_DT_OFFSET && k != EM_TOML_DT_LOCAL)
			return werr(w, "%s '%s' has an invalid upload time '%s'", kind,
				    em_quote(q, sizeof q, name, strlen(name)), f->upload_time);
	}
	return 0;
}

/* Check a package, and sort its wheels into refs (nwheels of them). */
static int check_package(struct writer *w, const struct em_lock_package *p, struct wheel_ref *refs)
{
	char q[96];
	w->pkg = NULL;
	int rc = check_text(w, p->name, "a package name");
	if (rc)
		return rc;
	if (!name_normalized(p->name))
		return werr(w, "package name '%s' is not normalized",
			    em_quote(q, sizeof q, p->name, strlen(p->name)));
	w->pkg = p->name;
	struct em_version pv;
	if (p->version) {
		struct em_error sub = { 0 };
		rc = check_text(w, p->version, "the version");
		if (!rc && em_version_parse(w->tmp, p->version, strlen(p->version), &pv, &sub))
			rc = werr(w, "%s", sub.msg);
	}
	if (!rc && p->marker)
		rc = check_expr_w(w, p->marker, "marker", MARKER);
	if (!rc && p->requires_python)
		rc = check_expr_w(w, p->requires_python, "requires-python", SPECSET);
	if (!rc && p->index)
		rc = check_text(w, p->index, "the index");
	for (uint32_t i = 0; !rc && i < p->ndeps; i++)
		rc = check_text(w, p->deps ? p->deps[i] : NULL, "a dependency name");
	if (rc)
		return rc;
	if ((!p->nwheels || !p->wheels) && !p->sdist)
		return werr(w, "no wheel and no sdist (envmatrix writes wheels and sdists only)");
	if (p->sdist) {
		const struct em_lock_file *f = p->sdist;
		const char *name;
		if ((!f->url || !f->url[0]) && (!f->path || !f->path[0]))
			return werr(w, "the sdist has no url or path");
		rc = check_file_name(w, f, "sdist", "an sdist", &name);
		if (!rc)
			rc = check_file_facts(w, f, "sdist", name);
		if (rc)
			return rc;
	}
	for (uint32_t i = 0; i < p->nwheels; i++) {
		const struct em_lock_file *f = &p->wheels[i];
		const char *name;
		if ((!f->url || !f->url[0]) && (!f->path || !f->path[0]))
			return werr(w, "wheel %u has no url or path", (unsigned)i + 1);
		rc = check_file_name(w, f, "wheel", "a wheel", &name);
		if (rc)
			return rc;
		struct em_wheel_name wn;
		struct em_error sub = { 0 };
		if (em_wheel_name_parse(w->tmp, name, strlen(name), &wn, &sub))
			return werr(w, "%s", sub.msg);
		if (strcmp(wn.name, p->name) != 0)
			return werr(w, "wheel '%s' is not a file of this package",
				    em_quote(q, sizeof q, name, strlen(name)));
		if (p->version && em_version_cmp(&wn.version, &pv) != 0)
			return werr(w, "wheel '%s' is not of version '%s'",
				    em_quote(q, sizeof q, name, strlen(name)), p->version);
		rc = check_file_facts(w, f, "wheel", name);
		if (rc)
			return rc;
		refs[i].name = name;
		refs[i].f = f;
	}
	qsort(refs, p->nwheels, sizeof *refs, cmp_wheel);
	return 0;
}

static void put_file(struct em_buf *b, const char *header, const struct wheel_ref *ref)
{
	const struct em_lock_file *f = ref->f;
	em_buf_addstr(b, header);
	put_kv(b, "name", ref->name);
	if (f->url && f->url[0])
		put_kv(b, "url", f->url);
	if (f->path && f->path[0])
		put_kv(b, "path", f->path);
	if (f->size >= 0)
		em_buf_addf(b, "size = %" PRId64 "\n", f->size);
	if (f->upload_time)
		em_buf_addf(b, "upload-time = %s\n", f->upload_time);
	em_buf_addstr(b, "hashes = { sha256 = \"");
	for (const char *c = f->sha256; *c; c++)
		em_buf_addc(b, (char)em_lower((unsigned char)*c));
	em_buf_addstr(b, "\" }\n");
}

static int write_lock(struct writer *w, const struct em_lock *l,
		      const struct em_lock_package **order, size_t *first, struct wheel_ref *refs,
		      const char **deps)
{
	struct em_buf *b = w->b;
	int rc = 0;
	for (uint32_t i = 0; !rc && i < l->nenvironments; i++)
		rc = check_expr_w(w, l->environments[i], "environment marker", MARKER);
	if (!rc && l->requires_python)
		rc = check_expr_w(w, l->requires_python, "requires-python", SPECSET);
	for (uint32_t i = 0; !rc && i < l->nextras; i++) {
		rc = check_text(w, l->extras[i], "an extra");
		if (!rc && !name_normalized(l->extras[i]))
			rc = werr(w, "extra '%s' is not normalized", l->extras[i]);
	}
	for (uint32_t i = 0; !rc && i < l->ndependency_groups; i++)
		rc = check_text(w, l->dependency_groups[i], "a dependency group");
	for (uint32_t i = 0; !rc && i < l->ndefault_groups; i++)
		rc = check_text(w, l->default_groups[i], "a default group");
	const char *tool[NTOOL] = { l->workload,      l->matrix, l->python,     l->platform,
				    l->torch_variant, l->inputs, l->python_url, l->python_sha256 };
	bool has_tool = false;
	if (!!l->python_url != !!l->python_sha256 || l->python_size < 0)
		rc = werr(w, "the interpreter's download needs both a url and a sha256");
	for (size_t i = 0; !rc && i < NTOOL; i++) {
		if (tool[i]) {
			rc = check_text(w, tool[i], tool_keys[i]);
			has_tool = true;
		}
	}
	if (rc)
		return rc;

	/* check every package before writing a byte */
	size_t nrefs = 0;
	for (uint32_t i = 0; i < l->npackages; i++) {
		order[i] = &l->packages[i];
		first[i] = nrefs;
		rc = check_package(w, &l->packages[i], refs + nrefs);
		if (rc)
			return rc;
		nrefs += l->packages[i].nwheels;
	}
	w->pkg = NULL;
	qsort(order, l->npackages, sizeof *order, cmp_package);

	put_kv(b, "lock-version", "1.0");
	if (l->nenvironments)
		put_str_array(b, "environments", l->environments, l->nenvironments);
	if (l->requires_python)
		put_kv(b, "requires-python", l->requires_python);
	if (l->nextras)
		put_str_array(b, "extras", l->extras, l->nextras);
	if (l->ndependency_groups)
		put_str_array(b, "dependency-groups", l->dependency_groups, l->ndependency_groups);
	if (l->ndefault_groups)
		put_str_array(b, "default-groups", l->default_groups, l->ndefault_groups);
	put_kv(b, "created-by", "envmatrix");
	/* PEP 751 requires the key; [[packages]] tables cannot say "none" */
	if (!l->npackages)
		em_buf_addstr(b, "packages = []\n");

	for (uint32_t i = 0; i < l->npackages; i++) {
		const struct em_lock_package *p = order[i];
		const struct wheel_ref *pw = refs + first[p - l->packages];
		em_buf_addstr(b, "\n[[packages]]\n");
		put_kv(b, "name", p->name);
		if (p->version)
			put_kv(b, "version", p->version);
		if (p->marker)
			put_kv(b, "marker", p->marker);
		if (p->requires_python)
			put_kv(b, "requires-python", p->requires_python);
		if (p->index)
			put_kv(b, "index", p->index);
		if (p->ndeps) {
			memcpy(deps, p->deps, p->ndeps * sizeof *deps);
			qsort(deps, p->ndeps, sizeof *deps, cmp_str);
			em_buf_addstr(b, "dependencies = [\n");
			for (uint32_t j = 0; j < p->ndeps; j++) {
				em_buf_addstr(b, "    { name = ");
				put_str(b, deps[j]);
				em_buf_addstr(b, " },\n");
			}
			em_buf_addstr(b, "]\n");
		}
		if (p->sdist) {
			struct wheel_ref sref = { p->sdist->name, p->sdist };
			size_t nlen;
			if (!sref.name)
				sref.name = entry_file_name(w->tmp, NULL, p->sdist->url,
							    p->sdist->path, &nlen);
			if (!sref.name)
				return em_err_nomem(w->e);
			put_file(b, "\n[packages.sdist]\n", &sref);
		}
		for (uint32_t j = 0; j < p->nwheels; j++)
			put_file(b, "\n[[packages.wheels]]\n", &pw[j]);
		if (p->requested)
			em_buf_addstr(b, "\n[packages.tool.envmatrix]\nrequested = true\n");
	}

	if (has_tool) {
		em_buf_addstr(b, "\n[tool.envmatrix]\n");
		for (size_t i = 0; i < NTOOL; i++)
			if (tool[i])
				put_kv(b, tool_keys[i], tool[i]);
		if (l->python_url && l->python_size > 0)
			em_buf_addf(b, "python-size = %lld\n", (long long)l->python_size);
	}
	return 0;
}

int em_lock_write(const struct em_lock *l, struct em_buf *out, struct em_error *e)
{
	if ((l->npackages && !l->packages) || (l->nenvironments && !l->environments) ||
	    (l->nextras && !l->extras) || (l->ndependency_groups && !l->dependency_groups) ||
	    (l->ndefault_groups && !l->default_groups))
		return em_err(e, EM_EUSAGE, NULL, "lock with counts but no arrays");
	size_t nwheels = 0, maxdeps = 0;
	for (uint32_t i = 0; i < l->npackages; i++) {
		nwheels += l->packages[i].nwheels;
		if (l->packages[i].ndeps > maxdeps)
			maxdeps = l->packages[i].ndeps;
	}
	const struct em_lock_package **order = malloc((l->npackages + 1) * sizeof *order);
	struct wheel_ref *refs = malloc((nwheels + 1) * sizeof *refs);
	const char **deps = malloc((maxdeps + 1) * sizeof *deps);
	size_t *first = malloc((l->npackages + 1) * sizeof *first);
	struct em_arena tmp;
	em_arena_init(&tmp);
	int rc;
	if (!order || !refs || !deps || !first) {
		rc = em_err_nomem(e);
	} else {
		size_t start = out->len;
		struct writer w = { .b = out, .e = e, .tmp = &tmp };
		rc = write_lock(&w, l, order, first, refs, deps);
		if (!rc && out->err) {
			rc = out->err == EM_ENOMEM ? em_err_nomem(e)
						   : em_err(e, out->err, NULL, "lock too large");
		}
		if (rc && !out->err)
			em_buf_truncate(out, start);
	}
	em_arena_release(&tmp);
	free(order);
	free(refs);
	free(deps);
	free(first);
	return rc;
}

bool em_lock_file_name(const char *workload, char *buf, size_t size)
{
	if (!workload || !workload[0] || !buf || size == 0)
		return false;
	size_t n = strlen(workload);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)workload[i];
		if (c == '.' || c == '/' || c == '\\' || c < 0x20 || c == 0x7f || strchr(":*?\"<>|", c))
			return false;
	}
	if (!em_utf8_valid(workload, n))
		return false;
	int w = snprintf(buf, size, "pylock.%s.toml", workload);
	if (w < 0 || (size_t)w >= size) {
		buf[0] = '\0';
		return false;
	}
	return true;
}
