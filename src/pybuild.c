/* pybuild.c - python-build-standalone: the catalogue, the choice of a
 * build, and installing one into the managed folder (see pybuild.h)
 *
 * Unpacking is the careful part: the archive is read with libarchive
 * (tar, gzip or zstd), every member name is checked with
 * em_archive_check_name and must lie under the top folder "python/",
 * which is stripped. A member is only created when no folder on its way
 * is a symbolic link (lstat of each), so every member lands where its
 * name says; a symbolic link's target is resolved against the link's own
 * folder and must stay inside the tree, so following links from anywhere
 * in the tree never leaves it. Hard links must name an earlier regular
 * file. Devices, FIFOs and the like are refused.
 */
#include "pybuild.h"
#include "archive.h"
#include "cache.h"
#include "os/fs.h"
#include "http.h"
#include "spec/index.h"
#include "interp.h"
#include "util/grow.h"
#include "util/sha256.h"
#include "source.h"
#include "util/str.h"
#include "untar.h"
#include "settings.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- names ---- */

static bool has_suffix(const char *s, size_t n, const char *suf)
{
	size_t k = strlen(suf);
	return n >= k && !memcmp(s + n - k, suf, k);
}

int em_pybuild_parse_name(struct em_arena *a, const char *filename, struct em_pybuild *out,
			  struct em_error *e)
{
	memset(out, 0, sizeof *out);
	out->size = -1;
	size_t n = strlen(filename);
	char q[200];
	em_quote(q, sizeof q, filename, n);
	if (has_suffix(filename, n, ".tar.gz")) {
		n -= 7;
	} else if (has_suffix(filename, n, ".tar.zst")) {
		n -= 8;
		out->zst = true;
	} else {
		return em_err(e, EM_EINVAL, NULL, "'%s' is not a .tar.gz or .tar.zst archive", q);
	}
	if (has_suffix(filename, n, "-install_only_stripped")) {
		out->stripped = true;
		n -= strlen("-install_only_stripped");
	} else if (has_suffix(filename, n, "-install_only")) {
		n -= strlen("-install_only");
	} else {
		return em_err(e, EM_EINVAL, NULL, "'%s' is not an install_only build", q);
	}
	if (strncmp(filename, "cpython-", 8))
		return em_err(e, EM_EINVAL, NULL, "'%s' is not a CPython build", q);
	/* VERSION[+BUILD]-TRIPLE[-VARIANT] */
	const char *p = filename + 8, *end = filename + n;
	const char *dash = memchr(p, '-', (size_t)(end - p));
	if (!dash)
		return em_err(e, EM_EINVAL, NULL, "'%s' has no platform", q);
	const char *plus = memchr(p, '+', (size_t)(dash - p));
	const char *vend = plus ? plus : dash;
	if (em_python_parse_n(p, (size_t)(vend - p), &out->py, NULL) || !out->py.has_micro ||
	    out->py.freethreaded)
		return em_err(e, EM_EINVAL, NULL, "'%s' has no exact Python version", q);
	out->build = plus ? em_arena_strndup(a, plus + 1, (size_t)(dash - plus - 1))
			  : em_arena_strdup(a, "");
	/* the triple: ARCH-unknown-linux-LIBC, ARCH-apple-darwin, ARCH-pc-windows-msvc */
	const char *t = dash + 1;
	const char *parts[8];
	size_t plen[8];
	unsigned np = 0;
	for (const char *s = t; s < end && np < 8;) {
		const char *d = memchr(s, '-', (size_t)(end - s));
		const char *pe = d ? d : end;
		parts[np] = s;
		plen[np++] = (size_t)(pe - s);
		s = d ? d + 1 : end;
	}
	unsigned nt = 0;
	if (np >= 4 && em_str_eq(parts[1], plen[1], "unknown") && em_str_eq(parts[2], plen[2], "linux"))
		nt = 4;
	else if (np >= 3 && em_str_eq(parts[1], plen[1], "apple") &&
		 em_str_eq(parts[2], plen[2], "darwin"))
		nt = 3;
	else if (np >= 4 && em_str_eq(parts[1], plen[1], "pc") &&
		 em_str_eq(parts[2], plen[2], "windows") && em_str_eq(parts[3], plen[3], "msvc"))
		nt = 4;
	if (!nt || !plen[0])
		return em_err(e, EM_EINVAL, NULL, "'%s' names no known platform", q);
	const char *tend = parts[nt - 1] + plen[nt - 1];
	out->triple = em_arena_strndup(a, t, (size_t)(tend - t));
	/* variants: shared (Windows), freethreaded[+pgo+lto]; others are refused */
	for (unsigned k = nt; k < np; k++) {
		if (em_str_eq(parts[k], plen[k], "shared") || em_str_eq(parts[k], plen[k], "pgo") ||
		    em_str_eq(parts[k], plen[k], "lto") || em_str_eq(parts[k], plen[k], "pgo+lto"))
			continue;
		if (plen[k] >= 12 && !memcmp(parts[k], "freethreaded", 12) &&
		    (plen[k] == 12 || parts[k][12] == '+')) {
			out->py.freethreaded = true;
			continue;
		}
		return em_err(e, EM_EINVAL, NULL, "'%s' is a build variant envmatrix does not use", q);
	}
	out->filename = em_arena_strdup(a, filename);
	if (!out->filename || !out->triple || !out->build)
		return em_err_nomem(e);
	em_python_name(&out->py, out->version, sizeof out->version);
	return 0;
}

/* ---- the catalogue ---- */

struct growing {
	struct em_pybuild *v;
	uint32_t n, cap;
};

static int push(struct growing *g, const struct em_pybuild *b, struct em_error *e)
{
	if (em_grow(&g->v, &g->cap, g->n, sizeof *g->v))
		return em_err_nomem(e);
	g->v[g->n++] = *b;
	return 0;
}

static int finish(struct em_arena *a, struct growing *g, struct em_pybuild_catalogue *out,
		  int rc, struct em_error *e)
{
	if (!rc && g->n) {
		out->items = em_arena_array(a, g->n, sizeof *out->items);
		if (!out->items)
			rc = em_err_nomem(e);
		else {
			memcpy(out->items, g->v, g->n * sizeof *out->items);
			out->n = g->n;
		}
	}
	free(g->v);
	if (rc) {
		out->n = 0;
		out->items = NULL;
	}
	return rc;
}

/* base + name: a URL or a path */
static char *beside(struct em_arena *a, const char *base, const char *name)
{
	if (strstr(name, "://") || name[0] == '/')
		return em_arena_strdup(a, name);
	if (strstr(base, "://")) {
		char *out;
		if (em_url_resolve(a, base, name, &out, NULL))
			return NULL;
		return out;
	}
	char *dir = em_path_dir(a, base);
	return dir ? em_path_join(a, dir, name) : NULL;
}

int em_pybuild_parse_sums(struct em_arena *a, const char *base, const char *text, size_t len,
			  const char *where, struct em_pybuild_catalogue *out, struct em_error *e)
{
	memset(out, 0, sizeof *out);
	struct growing g = { NULL, 0, 0 };
	int rc = 0;
	unsigned line = 0;
	const char *p = text, *end = text + len;
	while (p < end && !rc) {
		line++;
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		struct em_str l = em_str_strip(em_str_make(p, (size_t)(le - p)));
		p = nl ? nl + 1 : end;
		if (!l.n || l.p[0] == '#')
			continue;
		char q[120];
		if (l.n < 66 || !em_sha256_hex_valid(l.p, 64) || l.p[64] != ' ' ||
		    (l.p[65] != ' ' && l.p[65] != '*')) {
			rc = em_err(e, EM_EINVAL, NULL,
				    "%s:%u: '%s' is not '<sha256>  <file name>'", where, line,
				    em_quote(q, sizeof q, l.p, l.n));
			break;
		}
		const char *name = l.p + 66;
		size_t nn = l.n - 66;
		while (nn && *name == ' ') {
			name++;
			nn--;
		}
		if (!nn || memchr(name, '/', nn) || memchr(name, '\\', nn) || memchr(name, '\0', nn)) {
			rc = em_err(e, EM_EINVAL, NULL, "%s:%u: bad file name '%s'", where, line,
				    em_quote(q, sizeof q, name, nn));
			break;
		}
		char *fname = em_arena_strndup(a, name, nn);
		if (!fname) {
			rc = em_err_nomem(e);
			break;
		}
		struct em_pybuild b;
		if (em_pybuild_parse_name(a, fname, &b, NULL)) {
			out->nskipped++;
			continue;
		}
		char *hex = em_arena_strndup(a, l.p, 64);
		if (!hex) {
			rc = em_err_nomem(e);
			break;
		}
		for (char *h = hex; *h; h++)
			if (*h >= 'A' && *h <= 'F')
				*h = (char)(*h - 'A' + 'a');
		b.sha256 = hex;
		b.url = beside(a, base, fname);
		if (!b.url) {
			rc = em_err(e, EM_EINVAL, NULL, "%s:%u: cannot join '%s' to '%s'", where, line,
				    fname, base);
			break;
		}
		rc = push(&g, &b, e);
	}
	return finish(a, &g, out, rc, e);
}

int em_pybuild_parse_json(struct em_arena *a, const char *base, const char *text, size_t len,
			  const char *where, struct em_pybuild_catalogue *out, struct em_error *e)
{
	memset(out, 0, sizeof *out);
	json_error_t je;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		return em_err(e, EM_EINVAL, NULL, "%s:%d: not JSON: %s", where, je.line, je.text);
	json_t *arr = json_is_array(root) ? root : json_object_get(root, "builds");
	struct growing g = { NULL, 0, 0 };
	int rc = 0;
	if (!json_is_array(arr)) {
		rc = em_err(e, EM_EINVAL, NULL, "%s: expected an array of builds, or an object with "
			    "'builds'", where);
		goto out;
	}
	size_t i;
	json_t *it;
	json_array_foreach(arr, i, it) {
		const char *version = json_string_value(json_object_get(it, "version"));
		const char *triple = json_string_value(json_object_get(it, "triple"));
		const char *url = json_string_value(json_object_get(it, "url"));
		const char *sha = json_string_value(json_object_get(it, "sha256"));
		json_t *size = json_object_get(it, "size");
		json_t *flavor = json_object_get(it, "flavor");
		json_t *ft = json_object_get(it, "freethreaded");
		const char *missing = !json_is_object(it) ? "an object"
				      : !version ? "a string 'version'"
				      : !triple ? "a string 'triple'"
				      : !url ? "a string 'url'"
				      : !sha || strlen(sha) != 64 || !em_sha256_hex_valid(sha, 64)
					      ? "a 'sha256' of 64 hex digits"
				      : size && (!json_is_integer(size) || json_integer_value(size) < 0)
					      ? "a non-negative integer 'size'"
				      : flavor && !json_is_string(flavor) ? "a string 'flavor'"
				      : ft && !json_is_boolean(ft) ? "a boolean 'freethreaded'"
								     : NULL;
		if (missing) {
			rc = em_err(e, EM_EINVAL, NULL, "%s: build %zu: needs %s", where, i, missing);
			break;
		}
		struct em_pybuild b;
		memset(&b, 0, sizeof b);
		b.size = size ? (int64_t)json_integer_value(size) : -1;
		if (em_python_parse(version, &b.py, NULL) || !b.py.has_micro || b.py.freethreaded) {
			rc = em_err(e, EM_EINVAL, NULL, "%s: build %zu: version '%s' is not X.Y.Z", where,
				    i, version);
			break;
		}
		b.py.freethreaded = ft && json_is_true(ft);
		const char *fl = flavor ? json_string_value(flavor) : "install_only";
		if (!strcmp(fl, "install_only_stripped"))
			b.stripped = true;
		else if (strcmp(fl, "install_only")) {
			out->nskipped++;
			continue;
		}
		b.url = beside(a, base, url);
		char *bn = b.url ? (strstr(b.url, "://") ? em_url_basename(a, b.url)
							  : em_arena_strdup(a, strrchr(b.url, '/') ?
									strrchr(b.url, '/') + 1 : b.url))
				 : NULL;
		char *hex = em_arena_strdup(a, sha);
		b.triple = em_arena_strdup(a, triple);
		b.build = "";
		if (!b.url || !bn || !hex || !b.triple) {
			rc = em_err_nomem(e);
			break;
		}
		for (char *h = hex; *h; h++)
			if (*h >= 'A' && *h <= 'F')
				*h = (char)(*h - 'A' + 'a');
		b.sha256 = hex;
		b.filename = bn;
		size_t bl = strlen(bn);
		if (has_suffix(bn, bl, ".tar.zst"))
			b.zst = true;
		else if (!has_suffix(bn, bl, ".tar.gz")) {
			rc = em_err(e, EM_EINVAL, NULL, "%s: build %zu: '%s' is not a .tar.gz or "
				    ".tar.zst archive", where, i, bn);
			break;
		}
		struct em_pybuild named;
		if (!em_pybuild_parse_name(a, bn, &named, NULL) && named.build[0])
			b.build = named.build;
		em_python_name(&b.py, b.version, sizeof b.version);
		if ((rc = push(&g, &b, e)))
			break;
	}
out:
	json_decref(root);
	return finish(a, &g, out, rc, e);
}

/* ---- choosing ---- */

const char *em_pybuild_triple(const struct em_platform *p)
{
	switch (p->os) {
	case EM_OS_LINUX:
		if (p->libc == EM_LIBC_MUSL)
			return p->arch == EM_ARCH_X86_64    ? "x86_64-unknown-linux-musl"
			       : p->arch == EM_ARCH_AARCH64 ? "aarch64-unknown-linux-musl"
							    : NULL;
		switch (p->arch) {
		case EM_ARCH_X86_64: return "x86_64-unknown-linux-gnu";
		case EM_ARCH_AARCH64: return "aarch64-unknown-linux-gnu";
		case EM_ARCH_I686: return "i686-unknown-linux-gnu";
		case EM_ARCH_PPC64LE: return "ppc64le-unknown-linux-gnu";
		case EM_ARCH_S390X: return "s390x-unknown-linux-gnu";
		case EM_ARCH_ARMV7L: return "armv7-unknown-linux-gnueabihf";
		case EM_ARCH_RISCV64: return "riscv64-unknown-linux-gnu";
		}
		return NULL;
	case EM_OS_WINDOWS:
		return p->arch == EM_ARCH_X86_64    ? "x86_64-pc-windows-msvc"
		       : p->arch == EM_ARCH_AARCH64 ? "aarch64-pc-windows-msvc"
		       : p->arch == EM_ARCH_I686    ? "i686-pc-windows-msvc"
						    : NULL;
	case EM_OS_MACOS:
		return p->arch == EM_ARCH_X86_64    ? "x86_64-apple-darwin"
		       : p->arch == EM_ARCH_AARCH64 ? "aarch64-apple-darwin"
						    : NULL;
	}
	return NULL;
}

static int cmp_version(const struct em_python *x, const struct em_python *y)
{
	if (x->major != y->major)
		return x->major < y->major ? -1 : 1;
	if (x->minor != y->minor)
		return x->minor < y->minor ? -1 : 1;
	if (x->micro != y->micro)
		return x->micro < y->micro ? -1 : 1;
	/* "" (final) after any pre-release; pre-releases by text (a < b < rc) */
	if (!x->pre[0] || !y->pre[0])
		return !x->pre[0] == !y->pre[0] ? 0 : !x->pre[0] ? 1 : -1;
	return strcmp(x->pre, y->pre) < 0 ? -1 : strcmp(x->pre, y->pre) > 0;
}

/* better: newer version, then newer build, then not stripped, then gz */
static bool better(const struct em_pybuild *x, const struct em_pybuild *y)
{
	int c = cmp_version(&x->py, &y->py);
	if (c)
		return c > 0;
	c = strcmp(x->build, y->build);
	if (c)
		return c > 0;
	if (x->stripped != y->stripped)
		return !x->stripped;
	return !x->zst && y->zst;
}

const struct em_pybuild *em_pybuild_choose(const struct em_pybuild_catalogue *c,
					   const char *triple, const struct em_python *py,
					   const struct em_specset *spec)
{
	const struct em_pybuild *best = NULL;
	for (uint32_t i = 0; i < c->n; i++) {
		const struct em_pybuild *b = &c->items[i];
		if (strcmp(b->triple, triple) || b->py.freethreaded != py->freethreaded)
			continue;
		bool ok;
		if (spec) {
			ok = !b->py.pre[0] &&
			     em_specset_contains_str(spec, b->version, strlen(b->version), EM_PRE_DEFAULT);
		} else {
			ok = b->py.major == py->major && b->py.minor == py->minor;
			if (py->has_micro)
				ok = ok && b->py.micro == py->micro && !strcmp(b->py.pre, py->pre);
			else
				ok = ok && !b->py.pre[0];
		}
		if (ok && (!best || better(b, best)))
			best = b;
	}
	return best;
}

/* ---- where ---- */

const char *em_pybuild_mirror(struct em_arena *a, const char *python_mirror, const char *mdir,
			      bool *explicit_mirror)
{
	const char *env = em_settings()->python_mirror;
	*explicit_mirror = true;
	if (python_mirror && *python_mirror) {
		if (strstr(python_mirror, "://") || python_mirror[0] == '/' || !mdir)
			return python_mirror;
		return em_path_join(a, mdir, python_mirror);
	}
	if (env && *env) {
		if (strstr(env, "://"))
			return env;
		return em_path_absolute(a, env);
	}
	*explicit_mirror = false;
	return EM_PYBUILD_DEFAULT_MIRROR;
}

int em_pybuild_catalogue_load(struct em_arena *a, struct em_source *src, const char *mirror,
			      struct em_pybuild_catalogue *out, struct em_error *e)
{
	memset(out, 0, sizeof *out);
	size_t n = strlen(mirror);
	bool json = has_suffix(mirror, n, ".json");
	const char *url = mirror;
	if (!json && !has_suffix(mirror, n, "SHA256SUMS")) {
		/* a folder */
		if (strstr(mirror, "://"))
			url = em_url_join(a, mirror, "SHA256SUMS", false);
		else
			url = em_path_join(a, mirror, "SHA256SUMS");
		if (!url)
			return em_err_nomem(e);
	}
	const char *body;
	size_t len;
	int rc = em_source_get(src, url, EM_PYBUILD_CATALOGUE_MAX, &body, &len, e);
	char *shown = em_url_redact(a, url);
	if (!shown)
		return em_err_nomem(e);
	if (rc) {
		em_err_prefix_where(e, "python catalogue '%s'", shown);
		return rc;
	}
	return json ? em_pybuild_parse_json(a, url, body, len, shown, out, e)
		    : em_pybuild_parse_sums(a, url, body, len, shown, out, e);
}

int em_pybuild_find(struct em_arena *a, struct em_source *src, const char *mirror,
		    const struct em_platform *p, const struct em_python *py,
		    const struct em_specset *spec, const char *asked,
		    const struct em_pybuild **out, struct em_error *e)
{
	*out = NULL;
	const char *triple = em_pybuild_triple(p);
	if (!triple) {
		char pn[EM_PLATFORM_NAME_MAX];
		em_platform_name(p, pn, sizeof pn);
		return em_err(e, EM_EUNSUPPORTED, NULL, "python-build-standalone has no builds for %s",
			      pn);
	}
	char *shown = em_url_redact(a, mirror);
	if (!shown)
		return em_err_nomem(e);
	struct em_pybuild_catalogue cat;
	struct em_error ce;
	em_error_clear(&ce);
	int rc = em_pybuild_catalogue_load(a, src, mirror, &cat, &ce);
	if (rc == EM_ENOMEM)
		return em_err_nomem(e);
	if (rc)
		return em_err(e, rc == EM_EOFFLINE ? EM_EOFFLINE : EM_ENOTFOUND, NULL,
			      "its catalogue could not be read (python-mirror '%s'): %s%s%s", shown,
			      ce.where, ce.where[0] ? ": " : "", ce.msg);
	*out = em_pybuild_choose(&cat, triple, py, spec);
	if (!*out)
		return em_err(e, EM_ENOTFOUND, NULL,
			      "the catalogue at '%s' has no Python %s build for '%s' (%u builds "
			      "listed); pick another version or python-mirror",
			      shown, asked, triple, cat.n);
	return 0;
}

char *em_pybuild_install_name(struct em_arena *a, const struct em_python *py, const char *triple,
			      bool minor)
{
	if (minor)
		return em_arena_printf(a, "cpython-%u.%u%s-%s", py->major, py->minor,
				       py->freethreaded ? "t" : "", triple);
	char v[EM_PYTHON_NAME_MAX];
	em_python_name(py, v, sizeof v);
	return em_arena_printf(a, "cpython-%s-%s", v, triple);
}

/* ---- installed builds ---- */

static bool windows_triple(const char *triple)
{
	return strstr(triple, "-windows-") != NULL;
}

static char *exe_in(struct em_arena *a, const char *root, const struct em_pybuild *b)
{
	if (windows_triple(b->triple))
		return b->py.freethreaded
			       ? em_arena_printf(a, "%s/python%u.%ut.exe", root, b->py.major, b->py.minor)
			       : em_arena_printf(a, "%s/python.exe", root);
	return em_arena_printf(a, "%s/bin/python%u.%u%s", root, b->py.major, b->py.minor,
			       b->py.freethreaded ? "t" : "");
}

/* The mark: "url URL\nsha256 HEX\nsize N\nfile NAME\n" */
static int read_mark(struct em_arena *a, const char *root, struct em_pybuild *b)
{
	char *path = em_arena_printf(a, "%s/" EM_PYBUILD_MARK, root);
	char *text;
	size_t len;
	if (!path || em_read_file(a, path, 1 << 16, &text, &len, NULL))
		return EM_ENOTFOUND;
	const char *url = NULL, *sha = NULL, *file = NULL;
	int64_t size = -1;
	for (char *l = text; l && *l;) {
		char *nl = strchr(l, '\n');
		if (nl)
			*nl = '\0';
		if (!strncmp(l, "url ", 4))
			url = l + 4;
		else if (!strncmp(l, "sha256 ", 7))
			sha = l + 7;
		else if (!strncmp(l, "file ", 5))
			file = l + 5;
		else if (!strncmp(l, "size ", 5))
			size = strtoll(l + 5, NULL, 10);
		l = nl ? nl + 1 : NULL;
	}
	if (!url || !sha || !file || em_pybuild_parse_name(a, file, b, NULL))
		return EM_EINVAL;
	b->url = url;
	b->sha256 = sha;
	b->size = size;
	return 0;
}

static int describe(struct em_arena *a, const char *dir, const char *name,
		    struct em_pybuild_installed *out)
{
	memset(out, 0, sizeof *out);
	char *root = em_arena_printf(a, "%s/%s", dir, name);
	if (!root)
		return EM_ENOMEM;
	struct em_stat st;
	if (em_os_lstat(root, &st) || st.type != EM_FT_DIR)
		return EM_ENOTFOUND;
	int rc = read_mark(a, root, &out->build);
	if (rc)
		return rc;
	/* the folder must be named for what it holds */
	char *want = em_pybuild_install_name(a, &out->build.py, out->build.triple, false);
	if (!want || strcmp(want, name))
		return EM_EINVAL;
	out->root = root;
	char *minor = em_pybuild_install_name(a, &out->build.py, out->build.triple, true);
	char *link = minor ? em_arena_printf(a, "%s/%s", dir, minor) : NULL;
	char target[PATH_MAX];
	ssize_t tl = link ? em_os_readlink(link, target, sizeof target - 1) : -1;
	if (tl > 0) {
		target[tl] = '\0';
		if (!strcmp(target, name))
			out->via_minor = link;
	}
	out->executable = exe_in(a, out->via_minor ? out->via_minor : root, &out->build);
	return out->executable ? 0 : EM_ENOMEM;
}

int em_pybuild_find_installed(struct em_arena *a, const char *dir, const struct em_python *py,
			      const char *triple, struct em_pybuild_installed *out,
			      struct em_error *e)
{
	char *name = em_pybuild_install_name(a, py, triple, false);
	if (!name)
		return em_err_nomem(e);
	int rc = describe(a, dir, name, out);
	if (rc == EM_ENOMEM)
		return em_err_nomem(e);
	if (rc)
		return em_err(e, EM_ENOTFOUND, dir, "'%s' is not installed", name);
	return 0;
}

static int cmp_installed(const void *x, const void *y)
{
	const struct em_pybuild_installed *p = x, *q = y;
	int c = cmp_version(&q->build.py, &p->build.py);
	if (c)
		return c;
	if (p->build.py.freethreaded != q->build.py.freethreaded)
		return p->build.py.freethreaded ? 1 : -1;
	return strcmp(p->root, q->root);
}

int em_pybuild_list_installed(struct em_arena *a, const char *dir,
			      struct em_pybuild_installed **out, uint32_t *n, struct em_error *e)
{
	*out = NULL;
	*n = 0;
	struct em_dirlist *d = em_dirlist_open(dir);
	if (!d)
		return 0;
	uint32_t cap = 16;
	struct em_pybuild_installed *v = em_arena_array(a, cap, sizeof *v);
	const char *entry;
	int rc = v ? 0 : em_err_nomem(e);
	while (!rc && (entry = em_dirlist_next(d))) {
		if (strncmp(entry, "cpython-", 8))
			continue;
		struct em_pybuild_installed it;
		int r = describe(a, dir, entry, &it);
		if (r == EM_ENOMEM) {
			rc = em_err_nomem(e);
			break;
		}
		if (r)
			continue;
		if (*n == cap) {
			struct em_pybuild_installed *w = em_arena_array(a, cap * 2, sizeof *w);
			if (!w) {
				rc = em_err_nomem(e);
				break;
			}
			memcpy(w, v, cap * sizeof *w);
			v = w;
			cap *= 2;
		}
		v[(*n)++] = it;
	}
	em_dirlist_close(d);
	if (rc)
		return rc;
	if (*n)
		qsort(v, *n, sizeof *v, cmp_installed);
	*out = v;
	return 0;
}

int em_pybuild_installed_for(struct em_arena *a, const char *dir, const char *executable,
			     struct em_pybuild_installed *out, struct em_error *e)
{
	char *rd = em_os_realpath(dir);
	char *rx = em_os_realpath(executable);
	int rc = EM_ENOTFOUND;
	size_t n = rd ? strlen(rd) : 0;
	if (rd && rx && !strncmp(rx, rd, n) && rx[n] == '/') {
		const char *name = rx + n + 1;
		const char *slash = strchr(name, '/');
		char *top = slash ? em_arena_strndup(a, name, (size_t)(slash - name)) : NULL;
		if (top)
			rc = describe(a, dir, top, out);
	}
	free(rd);
	free(rx);
	if (rc == EM_ENOMEM)
		return em_err_nomem(e);
	if (rc)
		return em_err(e, EM_ENOTFOUND, executable, "not an installation of '%s'", dir);
	return 0;
}

int em_pybuild_update_minor_link(struct em_arena *a, const char *dir, const struct em_python *py,
				 const char *triple, struct em_error *e)
{
	struct em_pybuild_installed *v;
	uint32_t n;
	int rc = em_pybuild_list_installed(a, dir, &v, &n, e);
	if (rc)
		return rc;
	const struct em_pybuild_installed *best = NULL;
	for (uint32_t i = 0; i < n && !best; i++) /* newest first */
		if (v[i].build.py.major == py->major && v[i].build.py.minor == py->minor &&
		    v[i].build.py.freethreaded == py->freethreaded && !v[i].build.py.pre[0] &&
		    !strcmp(v[i].build.triple, triple))
			best = &v[i];
	for (uint32_t i = 0; i < n && !best; i++) /* only pre-releases installed */
		if (v[i].build.py.major == py->major && v[i].build.py.minor == py->minor &&
		    v[i].build.py.freethreaded == py->freethreaded && !strcmp(v[i].build.triple, triple))
			best = &v[i];
	if (!best)
		return 0;
	char *minor = em_pybuild_install_name(a, py, triple, true);
	const char *target = strrchr(best->root, '/') + 1;
	char *link = minor ? em_arena_printf(a, "%s/%s", dir, minor) : NULL;
	char *tmp = minor ? em_arena_printf(a, "%s/.%s.%ld.tmp", dir, minor, em_os_pid()) : NULL;
	if (!link || !tmp)
		return em_err_nomem(e);
	char cur[PATH_MAX];
	ssize_t cl = em_os_readlink(link, cur, sizeof cur - 1);
	if (cl > 0 && (size_t)cl == strlen(target) && !memcmp(cur, target, (size_t)cl))
		return 0;
	/* a crashed run's leftover (usually there is none): when it cannot
	 * go, the symlink below fails and says so */
	(void)em_os_unlink(tmp);
	if (em_os_symlink(target, tmp))
		return em_err_sys(e, errno, tmp, "cannot create the minor-version link");
	if (em_os_rename(tmp, link)) {
		int err = errno;
		(void)em_os_unlink(tmp); /* the error that matters is the rename's */
		return em_err_sys(e, err, link, "cannot put the minor-version link in place");
	}
	em_fsync_parent(link);
	return 0;
}

/* ---- unpacking ---- */

struct unpack {
	struct em_arena *a;
	const char *stage; /* the tree's root */
	const char *where; /* the archive, for messages */
	struct em_error *e;
};

/* One member of an install_only archive: everything is inside python/,
 * which becomes the tree's root. *nmembers counts the members made. */
static int unpack_member(struct unpack *u, struct archive *ar, struct archive_entry *ent,
			 unsigned *nmembers)
{
	const char *name = archive_entry_pathname(ent);
	if (!name)
		return em_err(u->e, EM_EINVAL, u->where, "a member has no name");
	size_t nl = strlen(name);
	if (nl >= 2 && name[0] == '.' && name[1] == '/') { /* "./python/..." */
		name += 2;
		nl -= 2;
	}
	int rc = em_archive_check_name(name, nl, u->e);
	if (rc) {
		em_err_prefix_where(u->e, "%s", u->where);
		return rc;
	}
	if (strncmp(name, "python/", 7) && strcmp(name, "python"))
		return em_err(u->e, EM_EINVAL, u->where,
			      "member '%s' is outside the archive's 'python/' folder", name);
	const char *rel = name[6] ? name + 7 : "";
	char relbuf[EM_ARCHIVE_MAX_MEMBER_NAME + 1];
	size_t rl = strlen(rel);
	while (rl && rel[rl - 1] == '/')
		rl--;
	memcpy(relbuf, rel, rl);
	relbuf[rl] = '\0';
	if (!rl)
		return 0; /* python/ itself */
	if ((rc = em_archive_make_parents(u->stage, relbuf, u->where, u->e)))
		return rc;
	char path[PATH_MAX];
	if ((size_t)snprintf(path, sizeof path, "%s/%s", u->stage, relbuf) >= sizeof path)
		return em_err(u->e, EM_ELIMIT, u->where, "member '%s': path too long", name);
	(*nmembers)++;
	const char *hl = archive_entry_hardlink(ent);
	mode_t type = archive_entry_filetype(ent);
	unsigned mode = (unsigned)archive_entry_perm(ent);
	if (hl) {
		size_t hn = strlen(hl);
		if (hn >= 2 && hl[0] == '.' && hl[1] == '/') {
			hl += 2;
			hn -= 2;
		}
		if ((rc = em_archive_check_name(hl, hn, u->e))) {
			em_err_prefix_where(u->e, "%s", u->where);
			return rc;
		}
		char from[PATH_MAX];
		struct em_stat st;
		if (strncmp(hl, "python/", 7) ||
		    (size_t)snprintf(from, sizeof from, "%s/%s", u->stage, hl + 7) >= sizeof from ||
		    em_archive_make_parents(u->stage, hl + 7, u->where, u->e) ||
		    em_os_lstat(from, &st) || st.type != EM_FT_FILE)
			return em_err(u->e, EM_EINVAL, u->where,
				      "member '%s' is a hard link to '%s', which is not an "
				      "earlier file of the tree", name, hl);
		if (em_os_link(from, path))
			return em_err_sys(u->e, errno, path, "cannot create a hard link");
		return 0;
	}
	uint64_t bytes = 0;
	if (type == AE_IFDIR)
		return em_untar_dir(path, name, u->where, u->e);
	if (type == AE_IFLNK)
		return em_untar_symlink(relbuf, archive_entry_symlink(ent), path, name,
					"the installation", u->where, u->e);
	if (type == AE_IFREG)
		return em_untar_file(ar, path, mode, &bytes, 0, name, u->where, u->e);
	return em_err(u->e, EM_EINVAL, u->where,
		      "member '%s' is neither a file, a folder nor a link", name);
}

static int unpack_archive(struct unpack *u, const char *archive_path)
{
	struct archive *ar = archive_read_new();
	if (!ar)
		return em_err_nomem(u->e);
	archive_read_support_filter_all(ar);
	archive_read_support_format_tar(ar);
	archive_read_support_format_gnutar(ar);
	int rc = 0;
	if (archive_read_open_filename(ar, archive_path, 1 << 16) != ARCHIVE_OK) {
		rc = em_err(u->e, EM_EINVAL, u->where, "cannot read the archive: %s",
			    archive_error_string(ar));
		archive_read_free(ar);
		return rc;
	}
	struct archive_entry *ent;
	unsigned nmembers = 0;
	for (;;) {
		int r = archive_read_next_header(ar, &ent);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
			rc = em_err(u->e, EM_EINVAL, u->where, "corrupt archive: %s",
				    archive_error_string(ar));
			break;
		}
		if ((rc = unpack_member(u, ar, ent, &nmembers)))
			break;
	}
	if (!rc && !nmembers)
		rc = em_err(u->e, EM_EINVAL, u->where, "the archive holds no 'python/' folder");
	archive_read_free(ar);
	return rc;
}

/* Rewrite "#!/some/prefix/bin/pythonX.Y" in bin/ scripts to the final
 * place. */
static int relocate_scripts(struct em_arena *a, const char *stage, const char *final_root,
			    struct em_error *e)
{
	char *bin = em_arena_printf(a, "%s/bin", stage);
	struct em_dirlist *d = bin ? em_dirlist_open(bin) : NULL;
	if (!d)
		return 0;
	const char *entry;
	int rc = 0;
	while (!rc && (entry = em_dirlist_next(d))) {
		char *path = em_arena_printf(a, "%s/%s", bin, entry);
		struct em_stat st;
		if (!path || em_os_lstat(path, &st) || st.type != EM_FT_FILE || st.size > (1 << 20))
			continue;
		char *text;
		size_t len;
		if (em_read_file(a, path, 1 << 20, &text, &len, NULL) || len < 3 || memcmp(text, "#!/", 3))
			continue;
		char *nl = memchr(text, '\n', len);
		if (!nl)
			continue;
		size_t ll = (size_t)(nl - text);
		char *line = em_arena_strndup(a, text + 2, ll - 2);
		if (!line)
			return em_err_nomem(e);
		char *sp = strchr(line, ' ');
		if (sp)
			*sp = '\0';
		const char *base = strrchr(line, '/') + 1;
		size_t pl = (size_t)(base - line);
		if (strncmp(base, "python", 6) || pl < 5 || memcmp(line + pl - 5, "/bin/", 5))
			continue;
		char *want = em_arena_printf(a, "%s/bin/%s", final_root, base);
		if (!want)
			return em_err_nomem(e);
		if (!strcmp(want, line))
			continue;
		char *nt = em_arena_printf(a, "#!%s%s%s", want, sp ? " " : "", sp ? sp + 1 : "");
		if (!nt)
			return em_err_nomem(e);
		size_t nlen = strlen(nt);
		char *out = em_arena_alloc(a, nlen + (len - ll));
		if (!out)
			return em_err_nomem(e);
		memcpy(out, nt, nlen);
		memcpy(out + nlen, nl, len - ll);
		rc = em_write_file_atomic(path, out, nlen + (len - ll), st.mode, e);
	}
	em_dirlist_close(d);
	return rc;
}

static bool same_version(const struct em_python *x, const struct em_python *y)
{
	return x->major == y->major && x->minor == y->minor && x->micro == y->micro &&
	       x->freethreaded == y->freethreaded && !strcmp(x->pre, y->pre);
}

static int lock_file(const char *path, struct em_error *e)
{
	int fd = em_os_open(path, EM_OPEN_RDWR | EM_OPEN_CREATE, 0644);
	if (fd < 0)
		return em_err_sys(e, errno, path, "cannot open the install lock");
	while (em_os_lock(fd, EM_FLOCK_EX)) {
		if (errno != EINTR) {
			int err = errno;
			(void)em_os_close(fd); /* nothing was written through it */
			return em_err_sys(e, err, path, "cannot lock");
		}
	}
	return fd;
}

/* Let the install lock go: closing its descriptor releases it, and as
 * nothing was written through it, the close has nothing to report. */
static void unlock_file(int fd)
{
	(void)em_os_close(fd);
}

/* The archive at path, unpacked into the (new, empty) folder stage and
 * made an installation for root: the interpreter is the promised one
 * (asked when o->run), scripts name root, the mark is written. */
static int fill_stage(struct em_arena *a, const struct em_pybuild *b,
		      const struct em_pybuild_install_opts *o, const char *path, const char *shown,
		      const char *stage, const char *root, struct em_error *e)
{
	char where[EM_ERROR_WHERE_MAX];
	snprintf(where, sizeof where, "python build '%s'", shown);
	struct unpack u = { a, stage, where, e };
	int rc = unpack_archive(&u, path);
	/* the interpreter is the promised one */
	struct em_pybuild probe = *b;
	char *exe = rc ? NULL : exe_in(a, stage, &probe);
	struct em_stat st;
	if (!rc && !exe)
		rc = em_err_nomem(e);
	if (!rc && em_os_lstat(exe, &st))
		rc = em_err(e, EM_EINVAL, where, "the archive has no '%s'", exe + strlen(stage) + 1);
	if (!rc && o->run) {
		struct em_interp it;
		rc = em_interp_query(a, exe, &it, e);
		if (rc)
			em_err_prefix_where(e, "%s", where);
		else if (!same_version(&it.py, &b->py)) {
			char got[EM_PYTHON_NAME_MAX];
			em_python_name(&it.py, got, sizeof got);
			rc = em_err(e, EM_EINVAL, where, "the interpreter is Python %s, not %s as "
				    "its name says", got, b->version);
		}
	}
	if (!rc && !windows_triple(b->triple))
		rc = relocate_scripts(a, stage, root, e);
	if (!rc) {
		char *mark = em_arena_printf(a, "%s/" EM_PYBUILD_MARK, stage);
		char *text = em_arena_printf(a, "url %s\nsha256 %s\nsize %lld\nfile %s\n", shown,
					     b->sha256, (long long)b->size, b->filename);
		rc = mark && text ? em_write_file_atomic(mark, text, strlen(text), 0644, e)
				  : em_err_nomem(e);
	}
	return rc;
}

/* The complete stage becomes root: on disk first, then renamed. */
static int put_in_place(const char *stage, const char *root, struct em_error *e)
{
	if (em_os_flush_volume(stage))
		return em_err_sys(e, errno, stage, "cannot flush the installation to disk");
	if (em_os_rename(stage, root))
		return em_err_sys(e, errno, root, "cannot put the installation in place");
	em_fsync_parent(root);
	return 0;
}

/* Its minor-version link updated, the installation of b in dir. */
static int installed(struct em_arena *a, const char *dir, const struct em_pybuild *b,
		     struct em_pybuild_installed *out, struct em_error *e)
{
	int rc = em_pybuild_update_minor_link(a, dir, &b->py, b->triple, e);
	if (!rc)
		rc = em_pybuild_find_installed(a, dir, &b->py, b->triple, out, e);
	return rc;
}

int em_pybuild_install(struct em_arena *a, struct em_cache *c, struct em_http *h,
		       const struct em_pybuild *b, const struct em_pybuild_install_opts *o,
		       struct em_pybuild_installed *out, bool *fresh, struct em_error *e)
{
	*fresh = false;
	memset(out, 0, sizeof *out);
	const char *dir = o->dir;
	char *shown = em_url_redact(a, b->url);
	char *name = em_pybuild_install_name(a, &b->py, b->triple, false);
	char *lockp = name ? em_arena_printf(a, "%s/.%s.lock", dir, name) : NULL;
	char *root = name ? em_arena_printf(a, "%s/%s", dir, name) : NULL;
	char *stage = name ? em_arena_printf(a, "%s/.%s.%ld.staging", dir, name, em_os_pid())
			   : NULL;
	if (!shown || !lockp || !root || !stage)
		return em_err_nomem(e);
	int rc = em_mkdir_p(dir, e);
	if (rc)
		return rc;
	int lfd = lock_file(lockp, e);
	if (lfd < 0)
		return lfd;
	/* installed already (by us, or by another process while we waited) */
	if (em_pybuild_find_installed(a, dir, &b->py, b->triple, out, NULL) == 0) {
		rc = installed(a, dir, b, out, e);
		unlock_file(lfd);
		return rc;
	}
	struct em_stat st;
	if (em_os_lstat(root, &st) == 0) {
		unlock_file(lfd);
		return em_err(e, EM_EINVAL, root, "is in the way of Python %s: it is not a complete "
			      "installation by envmatrix; remove it", b->version);
	}
	/* the archive, verified */
	const char *url = b->url;
	char *with = o->ncreds ? em_url_add_credentials(a, url, o->creds, o->ncreds) : NULL;
	const char *urls[1] = { with ? with : url };
	struct em_cache_file f;
	memset(&f, 0, sizeof f);
	f.urls = urls;
	f.nurls = 1;
	f.filename = b->filename;
	f.sha256 = b->sha256;
	f.size = b->size;
	rc = em_cache_fetch(c, a, h, &f, 1, e);
	if (rc) {
		if (f.rc && e)
			*e = f.err;
		em_err_prefix_where(e, "python build '%s'", shown);
		unlock_file(lfd);
		return rc;
	}
	/* unpacked into the staging folder (a crashed run's leftover goes
	 * first; when it cannot, mkdir says so) */
	(void)em_remove_tree(stage, NULL);
	if (em_os_mkdir(stage, 0755)) {
		rc = em_err_sys(e, errno, stage, "cannot create the staging folder");
		unlock_file(lfd);
		return rc;
	}
	rc = fill_stage(a, b, o, f.path, shown, stage, root, e);
	if (!rc)
		rc = put_in_place(stage, root, e);
	if (rc) {
		(void)em_remove_tree(stage, NULL); /* best effort: the error is rc */
		unlock_file(lfd);
		return rc;
	}
	*fresh = true;
	rc = installed(a, dir, b, out, e);
	unlock_file(lfd);
	return rc;
}
