/* spec.c - the spec parser (grammar in spec.h)
 *
 * Two steps: the text becomes a tree of nodes (lines and their blocks),
 * then index and findlinks nodes become the typed structures mkindex
 * writes. Everything is checked with the library's own parsers (names,
 * versions, specifiers, requirements, wheel names, member names), so a
 * typo in a spec fails here, at its line, and not later in a test.
 */
#include "spec.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive.h"
#include "spec/name.h"
#include "spec/pep440.h"
#include "spec/pep508.h"
#include "util/str.h"
#include "spec/tags.h"

#define SPEC_MAX_FILE (16u << 20)

struct ctx {
	struct em_arena *a;
	struct spec *s;
	const char *path;
	struct em_error *e;
	const struct spec_node **defs;
	size_t ndefs, capdefs;
	int use_depth;
};

/* ---- small helpers ---- */

static int fail(struct ctx *c, unsigned line, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(struct ctx *c, unsigned line, int code, const char *fmt, ...)
{
	char where[EM_ERROR_WHERE_MAX];
	char msg[EM_ERROR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(where, sizeof where, "%s:%u", c->path, line);
	return em_err(c->e, code, where, "%s", msg);
}

/* An error from a library parser, placed at the line. */
static int fail_lib(struct ctx *c, unsigned line, int rc)
{
	char msg[EM_ERROR_MSG_MAX];
	snprintf(msg, sizeof msg, "%s", c->e->msg);
	return fail(c, line, rc, "%s", msg);
}

static int nomem(struct ctx *c)
{
	return em_err_nomem(c->e);
}

/* Room for n + 1 elements of size bytes: a new arena array holding the
 * first n (the old one is left to the arena). */
static void *grow(struct em_arena *a, void *items, size_t n, size_t *cap, size_t size)
{
	size_t ncap = *cap ? *cap * 2 : 8;
	void *p = em_arena_array(a, ncap, size);
	if (!p)
		return NULL;
	if (n)
		memcpy(p, items, n * size);
	*cap = ncap;
	return p;
}

/* Append a zeroed element to the array arr of n elements (cap allocated);
 * a pointer to it, or NULL when out of memory. */
#define PUSH(a, arr, n, cap)                                                            \
	(((n) < (cap) || ((arr) = grow((a), (arr), (n), &(cap), sizeof *(arr))) != NULL) \
		 ? memset(&(arr)[(n)++], 0, sizeof *(arr))                               \
		 : NULL)

static bool is_blank(int ch)
{
	return ch == ' ' || ch == '\t';
}

static bool streq(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

/* ---- lines into nodes ---- */

static unsigned node_depth(const struct spec_node *n)
{
	unsigned d = 0;
	for (; n->parent; n = n->parent)
		d++;
	return d;
}

static int add_line(struct ctx *c, struct spec_node **prev, unsigned lineno, const char *line,
		    size_t n)
{
	size_t ind = 0;
	while (ind < n && line[ind] == ' ')
		ind++;
	if (ind < n && line[ind] == '\t')
		return fail(c, lineno, EM_EINVAL, "a tab in the indentation (use spaces)");
	const char *r = line + ind;
	size_t rn = n - ind;
	while (rn && is_blank((unsigned char)r[rn - 1]))
		rn--;
	if (rn == 0 || r[0] == '#')
		return 0;
	if (memchr(r, '\0', rn))
		return fail(c, lineno, EM_EINVAL, "a NUL byte in the line");
	/* the comment: " # ..." outside double quotes */
	size_t cut = rn;
	bool inq = false;
	for (size_t i = 0; i < rn; i++) {
		char ch = r[i];
		if (inq && ch == '\\' && i + 1 < rn) {
			i++;
		} else if (ch == '"') {
			inq = !inq;
		} else if (!inq && ch == '#' && i > 0 && is_blank((unsigned char)r[i - 1]) &&
			   (i + 1 == rn || is_blank((unsigned char)r[i + 1]))) {
			cut = i;
			break;
		}
	}
	while (cut && is_blank((unsigned char)r[cut - 1]))
		cut--;
	size_t wl = 0;
	while (wl < cut && !is_blank((unsigned char)r[wl]))
		wl++;
	size_t as = wl;
	while (as < cut && is_blank((unsigned char)r[as]))
		as++;

	struct spec_node *node = em_arena_zalloc(c->a, sizeof *node);
	if (!node)
		return nomem(c);
	node->line = lineno;
	node->indent = (unsigned)ind;
	node->word = em_arena_strndup(c->a, r, wl);
	node->args = em_arena_strndup(c->a, r + as, cut - as);
	node->text = em_arena_strndup(c->a, r, rn);
	if (!node->word || !node->args || !node->text)
		return nomem(c);

	struct spec_node *p = *prev;
	if (!p) {
		if (ind)
			return fail(c, lineno, EM_EINVAL, "the first line is indented");
		c->s->nodes = node;
	} else if (ind > p->indent) {
		if (node_depth(p) + 1 >= SPEC_MAX_DEPTH)
			return fail(c, lineno, EM_ELIMIT, "blocks nest more than %d deep",
				    SPEC_MAX_DEPTH);
		node->parent = p;
		p->child = node;
	} else {
		while (p && p->indent > ind)
			p = p->parent;
		if (!p || p->indent != ind)
			return fail(c, lineno, EM_EINVAL,
				    "the indentation matches no enclosing block");
		node->parent = p->parent;
		p->next = node;
	}
	*prev = node;
	return 0;
}

static int build_tree(struct ctx *c, const char *text, size_t len)
{
	struct spec_node *prev = NULL;
	unsigned lineno = 0;
	size_t i = 0;
	while (i < len) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - text) : len;
		size_t n = end - i;
		lineno++;
		if (n > SPEC_MAX_LINE)
			return fail(c, lineno, EM_ELIMIT, "a line longer than %d bytes",
				    SPEC_MAX_LINE);
		if (n && text[i + n - 1] == '\r')
			n--;
		int rc = add_line(c, &prev, lineno, text + i, n);
		if (rc)
			return rc;
		i = end + 1;
	}
	return 0;
}

/* ---- words ---- */

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch |= 0x20;
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

int spec_words(struct em_arena *a, const struct spec_node *n, const char *path, char ***words,
	       size_t **lens, size_t *nwords, struct em_error *e)
{
	struct ctx c = { .a = a, .path = path ? path : "spec", .e = e };
	const char *s = n->args;
	size_t len = strlen(s);
	char **w = NULL;
	size_t *l = NULL;
	size_t cnt = 0, cap = 0, lcnt = 0, lcap = 0;
	size_t i = 0;
	*words = NULL;
	*lens = NULL;
	*nwords = 0;
	while (i < len) {
		while (i < len && is_blank((unsigned char)s[i]))
			i++;
		if (i == len)
			break;
		char *out = em_arena_alloc(a, len - i + 1);
		if (!out)
			return nomem(&c);
		size_t o = 0;
		if (s[i] == '"') {
			i++;
			for (;;) {
				if (i == len)
					return fail(&c, n->line, EM_EINVAL,
						    "a quoted word is not closed");
				char ch = s[i++];
				if (ch == '"')
					break;
				if (ch != '\\') {
					out[o++] = ch;
					continue;
				}
				if (i == len)
					return fail(&c, n->line, EM_EINVAL,
						    "a quoted word is not closed");
				ch = s[i++];
				switch (ch) {
				case 'n': out[o++] = '\n'; break;
				case 't': out[o++] = '\t'; break;
				case 'r': out[o++] = '\r'; break;
				case '"': case '\\': out[o++] = ch; break;
				case 'x': {
					int h1 = i < len ? hexval((unsigned char)s[i]) : -1;
					int h2 = i + 1 < len ? hexval((unsigned char)s[i + 1]) : -1;
					if (h1 < 0 || h2 < 0)
						return fail(&c, n->line, EM_EINVAL,
							    "\\x needs two hex digits");
					out[o++] = (char)(h1 * 16 + h2);
					i += 2;
					break;
				}
				default:
					return fail(&c, n->line, EM_EINVAL,
						    "unknown escape '\\%c'", ch);
				}
			}
			if (i < len && !is_blank((unsigned char)s[i]))
				return fail(&c, n->line, EM_EINVAL,
					    "a quoted word must be followed by a blank");
		} else {
			while (i < len && !is_blank((unsigned char)s[i]))
				out[o++] = s[i++];
		}
		out[o] = '\0';
		char **slot = PUSH(a, w, cnt, cap);
		size_t *lslot = PUSH(a, l, lcnt, lcap);
		if (!slot || !lslot)
			return nomem(&c);
		*slot = out;
		*lslot = o;
	}
	*words = w;
	*lens = l;
	*nwords = cnt;
	return 0;
}

/* Words of a node, for the parser. */
struct words {
	char **w;
	size_t *l;
	size_t n;
};

static int get_words(struct ctx *c, const struct spec_node *n, struct words *out)
{
	return spec_words(c->a, n, c->path, &out->w, &out->l, &out->n, c->e);
}

static int yes_no(struct ctx *c, unsigned line, const char *key, const char *v, bool *out)
{
	if (streq(v, "yes"))
		*out = true;
	else if (streq(v, "no"))
		*out = false;
	else
		return fail(c, line, EM_EINVAL, "%s must be yes or no, not '%s'", key, v);
	return 0;
}

/* "key=value": split in place; false when there is no '='. */
static bool option(char *w, char **key, char **val)
{
	char *eq = strchr(w, '=');
	if (!eq)
		return false;
	*eq = '\0';
	*key = w;
	*val = eq + 1;
	return true;
}

/* ---- children, with define/use expanded ---- */

typedef int (*child_fn)(struct ctx *c, const struct spec_node *n, void *arg);

static const struct spec_node *find_define(struct ctx *c, const char *name)
{
	for (size_t i = 0; i < c->ndefs; i++)
		if (streq(c->defs[i]->args, name))
			return c->defs[i];
	return NULL;
}

static int each_child(struct ctx *c, const struct spec_node *parent, child_fn fn, void *arg)
{
	for (const struct spec_node *n = parent->child; n; n = n->next) {
		int rc;
		if (streq(n->word, "use")) {
			const struct spec_node *d = find_define(c, n->args);
			if (!d)
				return fail(c, n->line, EM_EINVAL, "no define '%s'", n->args);
			if (n->child)
				return fail(c, n->child->line, EM_EINVAL, "use takes no block");
			if (c->use_depth >= SPEC_MAX_USE)
				return fail(c, n->line, EM_ELIMIT,
					    "uses nest more than %d deep (does a define use itself?)",
					    SPEC_MAX_USE);
			c->use_depth++;
			rc = each_child(c, d, fn, arg);
			c->use_depth--;
		} else {
			rc = fn(c, n, arg);
		}
		if (rc)
			return rc;
	}
	return 0;
}

static int no_block(struct ctx *c, const struct spec_node *n)
{
	if (n->child)
		return fail(c, n->child->line, EM_EINVAL, "'%s' takes no block", n->word);
	return 0;
}

/* ---- version and wheel contents ---- */

struct vctx {
	struct spec_package *p;
	struct spec_version *v;
	struct spec_wheel *w;       /* NULL at version level */
	struct spec_extra *x;
	size_t caprequires, capentry, capfiles, capwheels, capextra, capfields;
	const struct spec_node **defwheels; /* the package's wheel lines */
	size_t ndefwheels;
};

static const char *dist_prefix(struct ctx *c, const struct spec_package *p,
			       const struct spec_version *v)
{
	return em_arena_printf(c->a, "%s-%s", p->file_name, v->normalized);
}

static int add_requires(struct ctx *c, const struct spec_node *n, struct vctx *vc)
{
	struct em_arena tmp;
	struct em_requirement r;
	em_arena_init(&tmp);
	int rc = em_requirement_parse(&tmp, n->args, strlen(n->args), &r, c->e);
	em_arena_release(&tmp);
	if (rc)
		return fail_lib(c, n->line, rc);
	const char **slot = PUSH(c->a, vc->x->requires, vc->x->nrequires, vc->caprequires);
	if (!slot)
		return nomem(c);
	*slot = n->args;
	return 0;
}

static int add_entry_point(struct ctx *c, const struct spec_node *n, struct vctx *vc)
{
	const char *s = n->args;
	size_t gl = 0;
	while (s[gl] && !is_blank((unsigned char)s[gl]))
		gl++;
	const char *rest = s + gl;
	const char *eq = strchr(rest, '=');
	if (!gl || !eq)
		return fail(c, n->line, EM_EINVAL, "entry-point needs 'GROUP NAME = OBJECT'");
	struct em_str name = em_str_strip(em_str_make(rest, (size_t)(eq - rest)));
	struct em_str obj = em_str_strip(em_str_make(eq + 1, strlen(eq + 1)));
	if (!name.n || !obj.n)
		return fail(c, n->line, EM_EINVAL, "entry-point needs 'GROUP NAME = OBJECT'");
	struct spec_extra *x = vc->x;
	struct spec_entry_point *ep = PUSH(c->a, x->entry_points, x->nentry_points, vc->capentry);
	if (!ep)
		return nomem(c);
	ep->line = n->line;
	ep->group = em_arena_strndup(c->a, s, gl);
	ep->name = em_arena_strndup(c->a, name.p, name.n);
	ep->object = em_arena_strndup(c->a, obj.p, obj.n);
	if (!ep->group || !ep->name || !ep->object)
		return nomem(c);
	return 0;
}

static int add_content(struct ctx *c, const struct spec_node *n, struct vctx *vc, bool data)
{
	struct words w;
	int rc = get_words(c, n, &w);
	if (rc)
		return rc;
	if (w.n != 2)
		return fail(c, n->line, EM_EINVAL, "%s needs PATH and CONTENT", n->word);
	const char *path = w.w[0];
	if (data) {
		static const char *const keys[] = { "purelib", "platlib", "headers", "scripts",
						    "data" };
		const char *slash = strchr(path, '/');
		bool ok = false;
		for (size_t i = 0; slash && i < sizeof keys / sizeof keys[0]; i++)
			ok |= em_str_eq(path, (size_t)(slash - path), keys[i]);
		if (!ok || !slash[1])
			return fail(c, n->line, EM_EINVAL,
				    "data needs KEY/PATH with KEY purelib, platlib, headers, "
				    "scripts or data");
		const char *prefix = dist_prefix(c, vc->p, vc->v);
		path = prefix ? em_arena_printf(c->a, "%s.data/%s", prefix, path) : NULL;
		if (!path)
			return nomem(c);
	}
	rc = em_archive_check_name(path, strlen(path), c->e);
	if (rc)
		return fail_lib(c, n->line, rc);
	if (path[strlen(path) - 1] == '/')
		return fail(c, n->line, EM_EINVAL, "'%s' names a folder", path);
	struct spec_content *f = PUSH(c->a, vc->x->files, vc->x->nfiles, vc->capfiles);
	if (!f)
		return nomem(c);
	f->line = n->line;
	f->path = path;
	f->data = w.w[1];
	f->len = w.l[1];
	return 0;
}

static int wheel_child(struct ctx *c, const struct spec_node *n, void *arg)
{
	struct vctx *vc = arg;
	int rc = no_block(c, n);
	if (rc)
		return rc;
	if (streq(n->word, "requires"))
		return add_requires(c, n, vc);
	if (streq(n->word, "entry-point"))
		return add_entry_point(c, n, vc);
	if (streq(n->word, "file"))
		return add_content(c, n, vc, false);
	if (streq(n->word, "data"))
		return add_content(c, n, vc, true);
	return fail(c, n->line, EM_EINVAL,
		    "unknown directive '%s' in a wheel (requires, entry-point, file, data)",
		    n->word);
}

static int add_wheel(struct ctx *c, const struct spec_node *n, struct vctx *vc)
{
	struct words w;
	int rc = get_words(c, n, &w);
	if (rc)
		return rc;
	if (w.n < 1)
		return fail(c, n->line, EM_EINVAL, "wheel needs a tag (py3-none-any)");
	struct spec_version *v = vc->v;
	struct spec_wheel *wh = PUSH(c->a, v->wheels, v->nwheels, vc->capwheels);
	if (!wh)
		return nomem(c);
	wh->line = n->line;
	wh->tag = w.w[0];
	for (size_t i = 1; i < w.n; i++) {
		char *key, *val;
		if (!option(w.w[i], &key, &val))
			return fail(c, n->line, EM_EINVAL, "unknown wheel option '%s'", w.w[i]);
		if (streq(key, "sidecar")) {
			bool b = false;
			if ((rc = yes_no(c, n->line, key, val, &b)))
				return rc;
			wh->sidecar = b ? SPEC_SIDECAR_YES : SPEC_SIDECAR_NO;
		} else if (streq(key, "hash")) {
			if (streq(val, "yes"))
				wh->hash = SPEC_HASH_YES;
			else if (streq(val, "no"))
				wh->hash = SPEC_HASH_NO;
			else if (streq(val, "wrong"))
				wh->hash = SPEC_HASH_WRONG;
			else
				return fail(c, n->line, EM_EINVAL,
					    "hash must be yes, no or wrong, not '%s'", val);
		} else if (streq(key, "build")) {
			if (!em_is_digit((unsigned char)val[0]) || strchr(val, '-'))
				return fail(c, n->line, EM_EINVAL,
					    "a build tag starts with a digit and has no '-'");
			wh->build = val;
		} else {
			return fail(c, n->line, EM_EINVAL, "unknown wheel option '%s'", key);
		}
	}
	unsigned dashes = 0;
	for (const char *t = wh->tag; *t; t++)
		dashes += *t == '-';
	if (dashes != 2)
		return fail(c, n->line, EM_EINVAL, "a wheel tag is PY-ABI-PLATFORM, not '%s'",
			    wh->tag);
	wh->filename = em_arena_printf(c->a, "%s-%s%s%s-%s.whl", vc->p->file_name, v->normalized,
				       wh->build ? "-" : "", wh->build ? wh->build : "", wh->tag);
	if (!wh->filename)
		return nomem(c);
	struct em_arena tmp;
	struct em_wheel_name wn;
	em_arena_init(&tmp);
	rc = em_wheel_name_parse(&tmp, wh->filename, strlen(wh->filename), &wn, c->e);
	em_arena_release(&tmp);
	if (rc)
		return fail_lib(c, n->line, rc);
	for (size_t i = 0; i + 1 < v->nwheels; i++)
		if (streq(v->wheels[i].filename, wh->filename))
			return fail(c, n->line, EM_EINVAL, "wheel '%s' is listed twice",
				    wh->filename);
	struct vctx wc = *vc;
	wc.w = wh;
	wc.x = &wh->extra;
	wc.caprequires = wc.capentry = wc.capfiles = 0;
	return each_child(c, n, wheel_child, &wc);
}

static int read_file(const char *path, size_t max, char **out, size_t *len, struct em_error *e);

/* file-from PATH FILE: file PATH with FILE's bytes (FILE relative to the
 * spec's folder), read now */
static int add_content_from(struct ctx *c, const struct spec_node *n, struct vctx *vc)
{
	struct words w;
	int rc = get_words(c, n, &w);
	if (rc)
		return rc;
	if (w.n != 2)
		return fail(c, n->line, EM_EINVAL, "file-from needs PATH and FILE");
	const char *file = w.w[1][0] == '/' ? w.w[1]
					    : em_arena_printf(c->a, "%s/%s", c->s->dir, w.w[1]);
	if (!file)
		return nomem(c);
	char *text;
	size_t len;
	if ((rc = read_file(file, SPEC_MAX_FILE, &text, &len, c->e))) {
		char msg[EM_ERROR_MSG_MAX];
		snprintf(msg, sizeof msg, "%s", c->e->msg);
		return fail(c, n->line, rc, "'%s': %s", file, msg);
	}
	char *copy = em_arena_alloc(c->a, len + 1);
	if (copy) {
		memcpy(copy, text, len);
		copy[len] = '\0';
	}
	free(text);
	if (!copy)
		return nomem(c);
	const char *path = w.w[0];
	if ((rc = em_archive_check_name(path, strlen(path), c->e)))
		return fail_lib(c, n->line, rc);
	if (path[strlen(path) - 1] == '/')
		return fail(c, n->line, EM_EINVAL, "'%s' names a folder", path);
	struct spec_content *f = PUSH(c->a, vc->x->files, vc->x->nfiles, vc->capfiles);
	if (!f)
		return nomem(c);
	f->line = n->line;
	f->path = path;
	f->data = copy;
	f->len = len;
	return 0;
}

static int sdist_child(struct ctx *c, const struct spec_node *n, void *arg)
{
	int rc = no_block(c, n);
	if (rc)
		return rc;
	if (streq(n->word, "file"))
		return add_content(c, n, arg, false);
	if (streq(n->word, "file-from"))
		return add_content_from(c, n, arg);
	return fail(c, n->line, EM_EINVAL, "unknown directive '%s' in an sdist (file, file-from)",
		    n->word);
}

static int add_sdist(struct ctx *c, const struct spec_node *n, struct vctx *vc)
{
	struct spec_version *v = vc->v;
	if (v->sdist)
		return fail(c, n->line, EM_EINVAL, "sdist is given twice");
	if (n->args[0] && strcmp(n->args, "sidecar=yes") && strcmp(n->args, "sidecar=no"))
		return fail(c, n->line, EM_EINVAL, "sdist takes only sidecar=yes|no");
	v->sdist = true;
	v->sdist_sidecar = !strcmp(n->args, "sidecar=yes");
	const char *prefix = dist_prefix(c, vc->p, v);
	v->sdist_filename = prefix ? em_arena_printf(c->a, "%s.tar.gz", prefix) : NULL;
	if (!v->sdist_filename)
		return nomem(c);
	struct vctx sc = *vc;
	sc.x = &v->sdist_extra;
	sc.caprequires = sc.capentry = sc.capfiles = 0;
	return each_child(c, n, sdist_child, &sc);
}

static int version_child(struct ctx *c, const struct spec_node *n, void *arg)
{
	struct vctx *vc = arg;
	struct spec_version *v = vc->v;
	const char *w = n->word;
	int rc;
	if (streq(w, "wheel"))
		return add_wheel(c, n, vc);
	if (streq(w, "sdist"))
		return add_sdist(c, n, vc);
	if ((rc = no_block(c, n)))
		return rc;
	if (streq(w, "requires"))
		return add_requires(c, n, vc);
	if (streq(w, "entry-point"))
		return add_entry_point(c, n, vc);
	if (streq(w, "file"))
		return add_content(c, n, vc, false);
	if (streq(w, "data"))
		return add_content(c, n, vc, true);
	if (streq(w, "requires-python")) {
		if (v->requires_python)
			return fail(c, n->line, EM_EINVAL, "requires-python is given twice");
		struct em_arena tmp;
		struct em_specset set;
		em_arena_init(&tmp);
		rc = em_specset_parse(&tmp, n->args, strlen(n->args), &set, c->e);
		em_arena_release(&tmp);
		if (rc)
			return fail_lib(c, n->line, rc);
		v->requires_python = n->args;
		return 0;
	}
	if (streq(w, "provides-extra")) {
		if (!em_name_is_valid(n->args, strlen(n->args)))
			return fail(c, n->line, EM_EINVAL, "invalid extra name '%s'", n->args);
		const char **slot = PUSH(c->a, v->provides_extra, v->nprovides_extra, vc->capextra);
		if (!slot)
			return nomem(c);
		*slot = n->args;
		return 0;
	}
	if (streq(w, "field")) {
		const char *colon = strchr(n->args, ':');
		if (!colon || colon == n->args)
			return fail(c, n->line, EM_EINVAL, "field needs 'NAME: VALUE'");
		const char **slot = PUSH(c->a, v->fields, v->nfields, vc->capfields);
		if (!slot)
			return nomem(c);
		*slot = n->args;
		return 0;
	}
	if (streq(w, "yanked")) {
		struct words ws;
		if ((rc = get_words(c, n, &ws)))
			return rc;
		if (ws.n > 1)
			return fail(c, n->line, EM_EINVAL, "yanked takes one \"REASON\" at most");
		v->yanked = true;
		v->yank_reason = ws.n ? ws.w[0] : "";
		return 0;
	}
	if (streq(w, "upload-time")) {
		if (!n->args[0])
			return fail(c, n->line, EM_EINVAL, "upload-time needs a time");
		v->upload_time = n->args;
		return 0;
	}
	if (streq(w, "metadata-file")) {
		struct words ws;
		if ((rc = get_words(c, n, &ws)))
			return rc;
		if (ws.n != 1)
			return fail(c, n->line, EM_EINVAL, "metadata-file needs one PATH");
		v->metadata_file = ws.w[0][0] == '/'
					   ? ws.w[0]
					   : em_arena_printf(c->a, "%s/%s", c->s->dir, ws.w[0]);
		return v->metadata_file ? 0 : nomem(c);
	}
	return fail(c, n->line, EM_EINVAL, "unknown directive '%s' in a version", w);
}

static int add_version(struct ctx *c, const struct spec_node *n, struct vctx *pc, size_t *cap)
{
	struct spec_package *p = pc->p;
	struct spec_version *v = PUSH(c->a, p->versions, p->nversions, *cap);
	if (!v)
		return nomem(c);
	v->line = n->line;
	v->version = n->args;
	v->upload_time = SPEC_DEFAULT_UPLOAD_TIME;
	struct em_version ver;
	int rc = em_version_parse(c->a, n->args, strlen(n->args), &ver, c->e);
	if (rc)
		return fail_lib(c, n->line, rc);
	v->normalized = ver.str;
	for (size_t i = 0; i + 1 < p->nversions; i++) {
		struct em_arena tmp;
		struct em_version other;
		em_arena_init(&tmp);
		bool same = !em_version_parse(&tmp, p->versions[i].normalized,
					      strlen(p->versions[i].normalized), &other, NULL) &&
			    em_version_cmp(&other, &ver) == 0;
		em_arena_release(&tmp);
		if (same)
			return fail(c, n->line, EM_EINVAL, "version '%s' is listed twice (as '%s')",
				    p->versions[i].version, v->version);
	}
	struct vctx vc = { .p = p, .v = v, .x = &v->extra };
	if ((rc = each_child(c, n, version_child, &vc)))
		return rc;
	if (!v->nwheels && !v->sdist) {
		for (size_t i = 0; i < pc->ndefwheels; i++)
			if ((rc = add_wheel(c, pc->defwheels[i], &vc)))
				return rc;
	}
	if (!v->nwheels && !v->sdist)
		return fail(c, n->line, EM_EINVAL, "version '%s' has no wheel and no sdist",
			    v->version);
	return 0;
}

/* ---- packages and indexes ---- */

struct pctx {
	struct spec_index *ix;
	size_t cap;
	const struct spec_node **versions;
	size_t nversions, capversions;
	const struct spec_node **defwheels;
	size_t ndefwheels, capdefwheels;
};

static int package_child(struct ctx *c, const struct spec_node *n, void *arg)
{
	struct pctx *pc = arg;
	if (streq(n->word, "version")) {
		const struct spec_node **slot =
			PUSH(c->a, pc->versions, pc->nversions, pc->capversions);
		if (!slot)
			return nomem(c);
		*slot = n;
		return 0;
	}
	if (streq(n->word, "wheel")) {
		const struct spec_node **slot =
			PUSH(c->a, pc->defwheels, pc->ndefwheels, pc->capdefwheels);
		if (!slot)
			return nomem(c);
		*slot = n;
		return 0;
	}
	return fail(c, n->line, EM_EINVAL, "unknown directive '%s' in a package (version, wheel)",
		    n->word);
}

static const struct spec_package *index_package(const struct spec_index *ix, const char *canon)
{
	for (size_t i = 0; i < ix->npackages; i++)
		if (streq(ix->packages[i]->canonical, canon))
			return ix->packages[i];
	return NULL;
}

static int add_to_index(struct ctx *c, struct pctx *ic, const struct spec_package *p,
			unsigned line)
{
	if (index_package(ic->ix, p->canonical))
		return fail(c, line, EM_EINVAL, "package '%s' is listed twice in index '%s'",
			    p->canonical, ic->ix->name);
	const struct spec_package **slot = PUSH(c->a, ic->ix->packages, ic->ix->npackages, ic->cap);
	if (!slot)
		return nomem(c);
	*slot = p;
	return 0;
}

static int add_package(struct ctx *c, const struct spec_node *n, struct pctx *ic)
{
	if (!em_name_is_valid(n->args, strlen(n->args)))
		return fail(c, n->line, EM_EINVAL, "invalid package name '%s'", n->args);
	struct spec_package *p = em_arena_zalloc(c->a, sizeof *p);
	if (!p)
		return nomem(c);
	p->line = n->line;
	p->name = n->args;
	p->canonical = em_name_canonical(c->a, n->args, strlen(n->args));
	p->file_name = em_arena_strdup(c->a, p->canonical ? p->canonical : "");
	if (!p->canonical || !p->file_name)
		return nomem(c);
	for (char *q = (char *)p->file_name; *q; q++)
		if (*q == '-')
			*q = '_';
	struct pctx pc = { 0 };
	int rc = each_child(c, n, package_child, &pc);
	if (rc)
		return rc;
	if (!pc.nversions)
		return fail(c, n->line, EM_EINVAL, "package '%s' has no version", p->name);
	struct vctx vc = { .p = p, .defwheels = pc.defwheels, .ndefwheels = pc.ndefwheels };
	size_t cap = 0;
	for (size_t i = 0; i < pc.nversions; i++)
		if ((rc = add_version(c, pc.versions[i], &vc, &cap)))
			return rc;
	return add_to_index(c, ic, p, n->line);
}

static int add_mirror(struct ctx *c, const struct spec_node *n, struct pctx *ic)
{
	struct words w;
	int rc = get_words(c, n, &w);
	if (rc)
		return rc;
	if (w.n < 2)
		return fail(c, n->line, EM_EINVAL, "mirror needs INDEX and PACKAGE...");
	const struct spec_index *from = NULL;
	for (size_t i = 0; i + 1 < c->s->nindexes; i++)
		if (streq(c->s->indexes[i].name, w.w[0]))
			from = &c->s->indexes[i];
	if (!from)
		return fail(c, n->line, EM_EINVAL, "no index '%s' before this line", w.w[0]);
	for (size_t i = 1; i < w.n; i++) {
		char canon[256];
		size_t cl = em_name_canonical_buf(w.w[i], w.l[i], canon, sizeof canon);
		const struct spec_package *p =
			cl < sizeof canon ? index_package(from, canon) : NULL;
		if (!p)
			return fail(c, n->line, EM_EINVAL, "index '%s' has no package '%s'",
				    from->name, w.w[i]);
		if ((rc = add_to_index(c, ic, p, n->line)))
			return rc;
	}
	return 0;
}

static int index_child(struct ctx *c, const struct spec_node *n, void *arg)
{
	struct pctx *ic = arg;
	if (streq(n->word, "package"))
		return add_package(c, n, ic);
	if (streq(n->word, "mirror")) {
		int rc = no_block(c, n);
		return rc ? rc : add_mirror(c, n, ic);
	}
	return fail(c, n->line, EM_EINVAL, "unknown directive '%s' in an index (package, mirror)",
		    n->word);
}

static int add_index(struct ctx *c, const struct spec_node *n, size_t *cap)
{
	struct spec *s = c->s;
	struct words w;
	int rc = get_words(c, n, &w);
	if (rc)
		return rc;
	bool fl = streq(n->word, "findlinks");
	if (w.n < 1)
		return fail(c, n->line, EM_EINVAL, "%s needs a NAME", n->word);
	struct spec_index *ix = PUSH(c->a, s->indexes, s->nindexes, *cap);
	if (!ix)
		return nomem(c);
	ix->line = n->line;
	ix->name = w.w[0];
	ix->findlinks = fl;
	ix->format = SPEC_HTML;
	ix->hashes = ix->sidecars = ix->requires_python = !fl;
	rc = em_archive_check_name(ix->name, strlen(ix->name), c->e);
	if (rc)
		return fail_lib(c, n->line, rc);
	if (ix->name[strlen(ix->name) - 1] == '/')
		return fail(c, n->line, EM_EINVAL, "an index name does not end in '/'");
	for (size_t i = 0; i + 1 < s->nindexes; i++)
		if (streq(s->indexes[i].name, ix->name))
			return fail(c, n->line, EM_EINVAL, "index '%s' is declared twice",
				    ix->name);
	for (size_t i = 1; i < w.n; i++) {
		char *key, *val;
		if (fl || !option(w.w[i], &key, &val))
			return fail(c, n->line, EM_EINVAL, "unknown %s option '%s'", n->word,
				    w.w[i]);
		if (streq(key, "format")) {
			if (streq(val, "html"))
				ix->format = SPEC_HTML;
			else if (streq(val, "json"))
				ix->format = SPEC_JSON;
			else if (streq(val, "both"))
				ix->format = SPEC_BOTH;
			else
				return fail(c, n->line, EM_EINVAL,
					    "format must be html, json or both, not '%s'", val);
		} else if (streq(key, "hashes")) {
			rc = yes_no(c, n->line, key, val, &ix->hashes);
		} else if (streq(key, "sidecars")) {
			rc = yes_no(c, n->line, key, val, &ix->sidecars);
		} else if (streq(key, "absolute-urls")) {
			rc = yes_no(c, n->line, key, val, &ix->absolute_urls);
		} else if (streq(key, "requires-python")) {
			rc = yes_no(c, n->line, key, val, &ix->requires_python);
		} else {
			return fail(c, n->line, EM_EINVAL, "unknown index option '%s'", key);
		}
		if (rc)
			return rc;
	}
	struct pctx ic = { .ix = ix };
	return each_child(c, n, index_child, &ic);
}

int spec_parse(struct em_arena *a, const char *path, const char *text, size_t len,
	       struct spec *out, struct em_error *e)
{
	memset(out, 0, sizeof *out);
	struct ctx c = { .a = a, .s = out, .path = path ? path : "spec", .e = e };
	out->path = c.path;
	const char *slash = strrchr(c.path, '/');
	size_t dirlen = slash == c.path ? 1 : (size_t)(slash - c.path);
	out->dir = slash ? em_arena_strndup(a, c.path, dirlen) : ".";
	if (!out->dir)
		return nomem(&c);
	int rc = build_tree(&c, text, len);
	if (rc)
		return rc;
	for (const struct spec_node *n = out->nodes; n; n = n->next) {
		if (!streq(n->word, "define"))
			continue;
		if (!n->args[0] || strpbrk(n->args, " \t"))
			return fail(&c, n->line, EM_EINVAL, "define needs one NAME");
		if (find_define(&c, n->args))
			return fail(&c, n->line, EM_EINVAL, "define '%s' is given twice", n->args);
		const struct spec_node **slot = PUSH(a, c.defs, c.ndefs, c.capdefs);
		if (!slot)
			return nomem(&c);
		*slot = n;
	}
	size_t cap = 0;
	for (const struct spec_node *n = out->nodes; n; n = n->next) {
		if (streq(n->word, "index") || streq(n->word, "findlinks"))
			rc = add_index(&c, n, &cap);
		else if (streq(n->word, "use") || streq(n->word, "mirror") ||
			 streq(n->word, "package"))
			rc = fail(&c, n->line, EM_EINVAL, "'%s' belongs inside an index", n->word);
		if (rc)
			return rc;
	}
	return 0;
}

static int read_file(const char *path, size_t max, char **out, size_t *len, struct em_error *e)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return em_err_sys(e, errno, path, "cannot open");
	struct em_buf b;
	em_buf_init(&b, max);
	char block[65536];
	size_t got;
	while ((got = fread(block, 1, sizeof block, f)) > 0)
		em_buf_add(&b, block, got);
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		em_buf_release(&b);
		return em_err(e, EM_EIO, path, "cannot read");
	}
	if (b.err) {
		int rc = b.err;
		em_buf_release(&b);
		return em_err(e, rc, path, "the file is larger than %zu bytes", max);
	}
	*out = em_buf_detach(&b, len);
	return *out ? 0 : em_err_nomem(e);
}

int spec_load(struct em_arena *a, const char *path, struct spec *out, struct em_error *e)
{
	char *text;
	size_t len;
	int rc = read_file(path, SPEC_MAX_FILE, &text, &len, e);
	if (rc)
		return rc;
	char *copy = em_arena_strndup(a, text, len);
	free(text);
	if (!copy)
		return em_err_nomem(e);
	return spec_parse(a, path, copy, len, out, e);
}

const struct spec_node *spec_find(const struct spec *s, const char *word)
{
	for (const struct spec_node *n = s->nodes; n; n = n->next)
		if (streq(n->word, word))
			return n;
	return NULL;
}

const struct spec_node *spec_find_next(const struct spec_node *n, const char *word)
{
	for (n = n ? n->next : NULL; n; n = n->next)
		if (streq(n->word, word))
			return n;
	return NULL;
}

static void block_text(const struct spec_node *n, unsigned base, struct em_buf *b)
{
	for (; n; n = n->next) {
		for (unsigned i = base; i < n->indent; i++)
			em_buf_addc(b, ' ');
		em_buf_addstr(b, n->text);
		em_buf_addc(b, '\n');
		block_text(n->child, base, b);
	}
}

int spec_block_text(const struct spec_node *n, struct em_buf *b)
{
	if (n->child)
		block_text(n->child, n->child->indent, b);
	return b->err;
}

int spec_metadata(const struct spec *s, const struct spec_package *p,
		  const struct spec_version *v, const struct spec_wheel *w, struct em_buf *out,
		  struct em_error *e)
{
	(void)s;
	if (v->metadata_file) {
		char *text;
		size_t len;
		int rc = read_file(v->metadata_file, SPEC_MAX_FILE, &text, &len, e);
		if (rc)
			return rc;
		em_buf_add(out, text, len);
		free(text);
		return out->err ? em_err(e, out->err, NULL, "out of memory") : 0;
	}
	em_buf_addf(out, "Metadata-Version: 2.1\nName: %s\nVersion: %s\n", p->name, v->normalized);
	em_buf_addf(out, "Summary: %s %s, a test package made by mkindex\n", p->name,
		    v->normalized);
	if (v->requires_python)
		em_buf_addf(out, "Requires-Python: %s\n", v->requires_python);
	for (size_t i = 0; i < v->nfields; i++)
		em_buf_addf(out, "%s\n", v->fields[i]);
	for (size_t i = 0; i < v->nprovides_extra; i++)
		em_buf_addf(out, "Provides-Extra: %s\n", v->provides_extra[i]);
	for (size_t i = 0; i < v->extra.nrequires; i++)
		em_buf_addf(out, "Requires-Dist: %s\n", v->extra.requires[i]);
	for (size_t i = 0; w && i < w->extra.nrequires; i++)
		em_buf_addf(out, "Requires-Dist: %s\n", w->extra.requires[i]);
	return out->err ? em_err(e, out->err, NULL, "out of memory") : 0;
}
