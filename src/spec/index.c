/* index.c - package index pages: PEP 503 HTML and PEP 691 JSON
 *
 * HTML is read by a small scanner that follows the HTML tokenizer where it
 * matters for index pages, not by a regular expression:
 *   - tags and attribute names are case-insensitive, attributes come in any
 *     order, values are double-quoted, single-quoted or bare, the first of
 *     two equal attributes wins;
 *   - comments (<!-- -->), doctype and processing instructions are skipped,
 *     and so is the content of script, style, title, textarea, xmp, iframe,
 *     noembed and noframes (<plaintext> ends the scan);
 *   - character references (&amp; &lt; &gt; &quot; &apos; &nbsp; and the
 *     upper-case legacy forms, &#NN; &#xNN;, a numeric one also without its
 *     ';') are decoded in attribute values and text; NUL and invalid code
 *     points become U+FFFD;
 *   - an <a> is closed by </a>, by the next <a> or by the end of the page;
 *     a tag cut off by the end of the page is dropped;
 *   - the first <base href> applies to the whole page, wherever it is.
 * Each href has leading and trailing spaces and control characters removed
 * and tabs and newlines inside dropped (as browsers do), and is resolved
 * against the base. Scanning is one pass over the bytes with no recursion.
 *
 * Both formats then go through one filter (add_file): http(s) URLs only,
 * file: URLs only on a file: page; a name that is a distribution file
 * (pip's list of archive suffixes), at most 255 bytes of valid UTF-8 with
 * no '/', '\' or control character and not starting with '.'; hashes are
 * 64 hex digits or dropped. The strings of the result are held to a budget
 * (4 times the page plus 16 MiB) so that short hrefs against a long base
 * URL cannot blow up memory.
 */
#include "util/buf.h"
#include "spec/index.h"
#include "util/str.h"

#include <jansson.h>
#include <string.h>

#define TEXT_MAX 1024     /* anchor text kept (a fallback for the file name) */
#define NAME_MAX_LEN 255  /* a file name, in bytes */
#define BUDGET_SLACK ((size_t)16 << 20)

/* ---- the common filter ---- */

struct cand {
	const char *href;            /* as written (HTML: decoded, not yet cleaned) */
	const char *text;            /* HTML anchor text, trimmed, or NULL */
	const char *filename;        /* JSON filename, or NULL */
	const char *sha256;          /* JSON hashes.sha256, or NULL */
	const char *requires_python;
	bool has_metadata;
	const char *metadata_sha256;
	bool yanked;
	const char *yank_reason;
	int64_t size;
	const char *upload_time;
};

struct builder {
	struct em_arena *a;       /* the caller's: results */
	struct em_arena scratch;  /* everything else */
	const char *page_url;
	const char *base;         /* resolution base */
	bool file_page;
	size_t budget;
	struct em_index_page *page;
	uint32_t cap;
	struct em_error *e;
};

static bool ieq_prefix(const char *s, size_t n, const char *w)
{
	size_t l = strlen(w);
	return n >= l && em_str_ieq(s, l, w);
}

static bool ends_with_i(const char *s, size_t n, const char *w)
{
	size_t l = strlen(w);
	return n > l && em_str_ieq(s + n - l, l, w);
}

static bool dist_name_ok(const char *s, size_t n)
{
	static const char *const ext[] = { ".whl",  ".tar.gz", ".tgz", ".tar.bz2", ".tbz",
					   ".tar.xz", ".txz", ".tlz",  ".tar.lz",  ".tar.lzma",
					   ".tar",  ".zip" };
	if (n == 0 || n > NAME_MAX_LEN || s[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f || c == '/' || c == '\\')
			return false;
	}
	if (!em_utf8_valid(s, n))
		return false;
	for (size_t k = 0; k < sizeof ext / sizeof ext[0]; k++)
		if (ends_with_i(s, n, ext[k]))
			return true;
	return false;
}

static bool is_hex64(const char *s, size_t n)
{
	return n == 64 && em_str_is_hex(s, n);
}

/* A hash value as lower-case hex, or NULL when it is not 64 hex digits. */
static const char *hex64(struct em_arena *a, const char *s, size_t n)
{
	if (!s || !is_hex64(s, n))
		return NULL;
	char *d = em_arena_strndup(a, s, n);
	if (d)
		for (size_t i = 0; i < n; i++)
			d[i] = (char)em_lower((unsigned char)d[i]);
	return d;
}

/* "sha256=HEX" (among '&'-separated pairs, as pip reads fragments). */
static const char *sha256_from_pairs(struct em_arena *a, const char *s, size_t n)
{
	size_t i = 0;
	while (i <= n) {
		size_t j = i;
		while (j < n && s[j] != '&')
			j++;
		if (ieq_prefix(s + i, j - i, "sha256="))
			return hex64(a, s + i + 7, j - i - 7);
		i = j + 1;
	}
	return NULL;
}

/* data-core-metadata / data-dist-info-metadata values */
static void metadata_attr(struct em_arena *a, const char *v, struct cand *c)
{
	size_t n = strlen(v);
	if (em_str_ieq(v, n, "false"))
		return;
	c->has_metadata = true;
	if (ieq_prefix(v, n, "sha256="))
		c->metadata_sha256 = hex64(a, v + 7, n - 7);
}

static int budget_fail(struct builder *b)
{
	char q[160];
	const char *r = em_url_redact(&b->scratch, b->page_url);
	return em_err(b->e, EM_ELIMIT, r ? em_quote(q, sizeof q, r, strlen(r)) : NULL,
		      "index page expands to more than %zu bytes", b->budget);
}

/* Copy into the result arena, charging the budget. */
static int out_dup(struct builder *b, const char *s, size_t n, const char **out)
{
	*out = NULL;
	if (!s)
		return 0;
	if (n + 16 > b->budget)
		return budget_fail(b);
	b->budget -= n + 16;
	char *d = em_arena_strndup(b->a, s, n);
	if (!d)
		return em_err_nomem(b->e);
	*out = d;
	return 0;
}

static int out_str(struct builder *b, const char *s, const char **out)
{
	return out_dup(b, s, s ? strlen(s) : 0, out);
}

/* Strip what browsers strip from a URL attribute: leading and trailing C0
 * controls and spaces; tabs and newlines anywhere. */
static char *clean_href(struct em_arena *a, const char *s)
{
	size_t n = strlen(s), i = 0;
	while (i < n && (unsigned char)s[i] <= 0x20)
		i++;
	while (n > i && (unsigned char)s[n - 1] <= 0x20)
		n--;
	char *d = em_arena_alloc(a, n - i + 1);
	if (!d)
		return NULL;
	size_t o = 0;
	for (; i < n; i++)
		if (s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
			d[o++] = s[i];
	d[o] = '\0';
	return d;
}

static bool scheme_is(const char *url, const char *scheme)
{
	size_t l = strlen(scheme);
	return ieq_prefix(url, strlen(url), scheme) && url[l] == ':';
}

static int add_file(struct builder *b, const struct cand *c)
{
	struct em_arena *s = &b->scratch;
	struct em_arena_mark m = em_arena_mark(s);
	char *href = clean_href(s, c->href), *url = NULL;
	if (!href)
		return em_err_nomem(b->e);
	if (em_url_resolve(s, b->base, href, &url, NULL))
		goto skip;
	if (scheme_is(url, "https") || scheme_is(url, "http")) {
		/* "//" and a host */
		const char *h = strchr(url, ':') + 1;
		if (h[0] != '/' || h[1] != '/' || !h[2] || strchr("/?#@:", h[2]))
			goto skip;
	} else if (!(b->file_page && scheme_is(url, "file"))) {
		goto skip;
	}
	char *hash = strchr(url, '#');
	const char *frag = NULL;
	if (hash) {
		*hash = '\0';
		frag = hash + 1;
	}
	const char *name = c->filename;
	if (name) {
		if (!dist_name_ok(name, strlen(name)))
			goto skip;
	} else {
		name = em_url_basename(s, url);
		if (!name)
			return em_err_nomem(b->e);
		if (!dist_name_ok(name, strlen(name))) {
			name = c->text;
			if (!name || !dist_name_ok(name, strlen(name)))
				goto skip;
		}
	}
	const char *sha = c->sha256;
	if (!sha && frag)
		sha = sha256_from_pairs(s, frag, strlen(frag));
	if (b->page->nfiles >= b->cap)
		return em_err(b->e, EM_ELIMIT, NULL, "index page lists more than %u files",
			      (unsigned)EM_INDEX_MAX_FILES);
	struct em_index_file *f = &b->page->files[b->page->nfiles];
	memset(f, 0, sizeof *f);
	int rc;
	if ((rc = out_str(b, name, &f->filename)) || (rc = out_str(b, url, &f->url)) ||
	    (rc = out_str(b, sha, &f->sha256)) ||
	    (rc = out_str(b, c->requires_python, &f->requires_python)) ||
	    (rc = out_str(b, c->metadata_sha256, &f->metadata_sha256)) ||
	    (rc = out_str(b, c->yank_reason, &f->yank_reason)) ||
	    (rc = out_str(b, c->upload_time, &f->upload_time)))
		return rc;
	f->has_metadata = c->has_metadata;
	f->yanked = c->yanked;
	if (f->yanked && !f->yank_reason)
		f->yank_reason = "";
	if (!f->yanked)
		f->yank_reason = NULL;
	f->size = c->size;
	b->page->nfiles++;
	em_arena_rewind(s, m);
	return 0;
skip:
	b->page->nskipped++;
	em_arena_rewind(s, m);
	return 0;
}

static int begin(struct builder *b, struct em_arena *a, const char *page_url, size_t len,
		 struct em_index_page *out, struct em_error *e)
{
	memset(b, 0, sizeof *b);
	b->a = a;
	b->e = e;
	b->page = out;
	b->page_url = page_url;
	em_arena_init(&b->scratch);
	memset(out, 0, sizeof *out);
	if (!a || !page_url)
		return em_err(e, EM_EUSAGE, NULL, "index page: NULL argument");
	if (len > EM_INDEX_MAX_LEN) {
		char q[160];
		const char *r = em_url_redact(&b->scratch, page_url);
		return em_err(e, EM_ELIMIT, r ? em_quote(q, sizeof q, r, strlen(r)) : NULL,
			      "index page is larger than %u MiB", (unsigned)(EM_INDEX_MAX_LEN >> 20));
	}
	char *abs;
	int rc = em_url_resolve(&b->scratch, page_url, "", &abs, e);
	if (rc)
		return rc;
	b->base = abs;
	b->file_page = scheme_is(abs, "file");
	b->budget = 4 * len + BUDGET_SLACK;
	out->url = em_arena_strdup(a, page_url);
	if (!out->url)
		return em_err_nomem(e);
	return 0;
}

static int alloc_files(struct builder *b, size_t n)
{
	if (n > EM_INDEX_MAX_FILES)
		return em_err(b->e, EM_ELIMIT, NULL, "index page lists more than %u files",
			      (unsigned)EM_INDEX_MAX_FILES);
	b->cap = (uint32_t)n;
	b->page->files = em_arena_array(b->a, n ? n : 1, sizeof *b->page->files);
	if (!b->page->files)
		return em_err_nomem(b->e);
	return 0;
}

/* ---- HTML ---- */

static bool is_ws(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

static size_t put_cp(char *dst, uint32_t cp)
{
	if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		cp = 0xFFFD;
	return em_utf8_encode(dst, cp);
}

/* A character reference at s (s[0] == '&'): its UTF-8 in out (at most 4
 * bytes) and the input length in *used; 0 when s is not one. */
static size_t entity(const char *s, size_t n, char *out, size_t *used)
{
	static const struct {
		const char *name;
		const char *text;
	} named[] = {
		{ "amp;", "&" },  { "lt;", "<" },   { "gt;", ">" },   { "quot;", "\"" },
		{ "apos;", "'" }, { "nbsp;", "\xc2\xa0" }, { "AMP;", "&" }, { "LT;", "<" },
		{ "GT;", ">" },   { "QUOT;", "\"" },
	};
	if (n >= 3 && s[1] == '#') {
		size_t i = 2;
		unsigned base = 10;
		if (s[i] == 'x' || s[i] == 'X') {
			base = 16;
			i++;
		}
		size_t start = i;
		uint32_t v = 0;
		for (; i < n; i++) {
			int c = (unsigned char)s[i], d;
			if (em_is_digit(c))
				d = c - '0';
			else if (base == 16 && (c | 0x20) >= 'a' && (c | 0x20) <= 'f')
				d = (c | 0x20) - 'a' + 10;
			else
				break;
			if (v <= 0x10FFFF)
				v = v * base + (uint32_t)d;
		}
		if (i == start)
			return 0;
		if (i < n && s[i] == ';')
			i++;
		*used = i;
		return put_cp(out, v);
	}
	for (size_t k = 0; k < sizeof named / sizeof named[0]; k++) {
		size_t l = strlen(named[k].name);
		if (n - 1 >= l && !memcmp(s + 1, named[k].name, l)) {
			*used = l + 1;
			size_t tl = strlen(named[k].text);
			memcpy(out, named[k].text, tl);
			return tl;
		}
	}
	return 0;
}

/* Decode character references (and NUL to U+FFFD) from s into dst, which
 * has room for cap bytes; *over is set when something did not fit. */
static size_t unescape(char *dst, size_t cap, const char *s, size_t n, bool *over)
{
	size_t o = 0, i = 0;
	while (i < n) {
		char tmp[4];
		size_t tl = 1, used = 1;
		if (s[i] == '&') {
			tl = entity(s + i, n - i, tmp, &used);
			if (!tl) {
				tmp[0] = '&';
				tl = used = 1;
			}
		} else if (s[i] == '\0') {
			tl = put_cp(tmp, 0);
		} else {
			/* a run of plain bytes */
			size_t j = i;
			while (j < n && s[j] != '&' && s[j] != '\0')
				j++;
			size_t k = j - i;
			if (k > cap - o) {
				k = cap - o;
				*over = true;
			}
			memcpy(dst + o, s + i, k);
			o += k;
			if (*over)
				return o;
			i = j;
			continue;
		}
		if (tl > cap - o) {
			*over = true;
			return o;
		}
		memcpy(dst + o, tmp, tl);
		o += tl;
		i += used;
	}
	return o;
}

static char *dup_unescaped(struct em_arena *a, const char *s, size_t n)
{
	if (n > ((size_t)-1) / 3 - 1)
		return NULL;
	char *d = em_arena_alloc(a, 3 * n + 1);
	if (!d)
		return NULL;
	bool over = false;
	d[unescape(d, 3 * n, s, n, &over)] = '\0';
	return d;
}

struct attr {
	const char *p;
	size_t n;
	bool on;
};

enum { A_HREF, A_RP, A_CORE, A_DIST, A_YANKED, A_UPLOAD, A_COUNT };

static const char *const attr_names[A_COUNT] = {
	"href", "data-requires-python", "data-core-metadata", "data-dist-info-metadata",
	"data-yanked", "data-upload-time",
};

struct raw {
	struct raw *next;
	struct cand c;
};

struct html {
	const char *s;
	size_t n, i;
	struct builder *b;
	struct raw *head, **tail;
	size_t count;
	struct raw *open;
	char text[TEXT_MAX];
	size_t textlen;
	bool text_over;
	const char *base_href;
};

/* Attributes from s[i] to the end of the tag; false when the page ends
 * first. i is left after the '>'. */
static bool parse_attrs(struct html *h, struct attr *at)
{
	const char *s = h->s;
	size_t n = h->n, i = h->i;
	for (int k = 0; at && k < A_COUNT; k++)
		at[k].on = false;
	for (;;) {
		while (i < n && (is_ws((unsigned char)s[i]) || s[i] == '/'))
			i++;
		if (i >= n)
			return false;
		if (s[i] == '>') {
			h->i = i + 1;
			return true;
		}
		size_t ns = i++;
		while (i < n && !is_ws((unsigned char)s[i]) && s[i] != '/' && s[i] != '>' &&
		       s[i] != '=')
			i++;
		size_t nn = i - ns;
		while (i < n && is_ws((unsigned char)s[i]))
			i++;
		const char *v = "";
		size_t vn = 0;
		if (i < n && s[i] == '=') {
			i++;
			while (i < n && is_ws((unsigned char)s[i]))
				i++;
			if (i >= n)
				return false;
			if (s[i] == '"' || s[i] == '\'') {
				const char *close = memchr(s + i + 1, s[i], n - i - 1);
				if (!close)
					return false;
				v = s + i + 1;
				vn = (size_t)(close - v);
				i = (size_t)(close - s) + 1;
			} else {
				size_t vs = i;
				while (i < n && !is_ws((unsigned char)s[i]) && s[i] != '>')
					i++;
				v = s + vs;
				vn = i - vs;
			}
		}
		for (int k = 0; at && k < A_COUNT; k++)
			if (!at[k].on && em_str_ieq(s + ns, nn, attr_names[k])) {
				at[k] = (struct attr){ v, vn, true };
				break;
			}
	}
}

static int close_anchor(struct html *h)
{
	if (!h->open)
		return 0;
	if (!h->text_over) {
		struct em_str t = em_str_strip(em_str_make(h->text, h->textlen));
		h->open->c.text = em_arena_strndup(&h->b->scratch, t.p, t.n);
		if (!h->open->c.text)
			return em_err_nomem(h->b->e);
	}
	h->open = NULL;
	return 0;
}

static void add_text(struct html *h, const char *p, size_t n)
{
	if (!h->open || h->text_over || !n)
		return;
	h->textlen += unescape(h->text + h->textlen, TEXT_MAX - h->textlen, p, n, &h->text_over);
}

static int open_anchor(struct html *h, const struct attr *at)
{
	struct builder *b = h->b;
	int rc = close_anchor(h);
	if (rc)
		return rc;
	if (!at[A_HREF].on) {
		b->page->nskipped++;
		return 0;
	}
	if (h->count >= EM_INDEX_MAX_FILES)
		return em_err(b->e, EM_ELIMIT, NULL, "index page lists more than %u files",
			      (unsigned)EM_INDEX_MAX_FILES);
	struct em_arena *a = &b->scratch;
	struct raw *r = em_arena_zalloc(a, sizeof *r);
	if (!r)
		return em_err_nomem(b->e);
	r->c.size = -1;
	const char *v[A_COUNT] = { 0 };
	for (int k = 0; k < A_COUNT; k++)
		if (at[k].on && !(v[k] = dup_unescaped(a, at[k].p, at[k].n)))
			return em_err_nomem(b->e);
	r->c.href = v[A_HREF];
	if (v[A_RP]) {
		struct em_str t = em_str_strip(em_str_make(v[A_RP], strlen(v[A_RP])));
		if (t.n && !(r->c.requires_python = em_arena_strndup(a, t.p, t.n)))
			return em_err_nomem(b->e);
	}
	/* PEP 714: data-core-metadata wins over the older name */
	if (v[A_CORE])
		metadata_attr(a, v[A_CORE], &r->c);
	else if (v[A_DIST])
		metadata_attr(a, v[A_DIST], &r->c);
	if (v[A_YANKED]) {
		r->c.yanked = true;
		r->c.yank_reason = v[A_YANKED];
	}
	if (v[A_UPLOAD] && *v[A_UPLOAD])
		r->c.upload_time = v[A_UPLOAD];
	*h->tail = r;
	h->tail = &r->next;
	h->count++;
	h->open = r;
	h->textlen = 0;
	h->text_over = false;
	return 0;
}

/* Skip the content of a raw-text element up to its end tag "</name". */
static void skip_raw(struct html *h, const char *name)
{
	size_t l = strlen(name);
	const char *s = h->s;
	size_t i = h->i;
	while (i < h->n) {
		const char *lt = memchr(s + i, '<', h->n - i);
		if (!lt)
			break;
		i = (size_t)(lt - s);
		if (h->n - i >= l + 2 && s[i + 1] == '/' && em_str_ieq(s + i + 2, l, name) &&
		    (h->n - i == l + 2 || is_ws((unsigned char)s[i + 2 + l]) ||
		     s[i + 2 + l] == '/' || s[i + 2 + l] == '>')) {
			h->i = i;
			return;
		}
		i++;
	}
	h->i = h->n;
}

static int scan_html(struct html *h)
{
	static const char *const rawtext[] = { "script", "style",   "title",    "textarea",
					       "xmp",    "iframe",  "noembed",  "noframes" };
	const char *s = h->s;
	size_t n = h->n;
	int rc = 0;
	while (h->i < n && !rc) {
		size_t i = h->i;
		const char *lt = memchr(s + i, '<', n - i);
		if (!lt) {
			add_text(h, s + i, n - i);
			h->i = n;
			break;
		}
		add_text(h, s + i, (size_t)(lt - (s + i)));
		i = (size_t)(lt - s);
		size_t rem = n - i;
		if (rem >= 4 && !memcmp(s + i, "<!--", 4)) {
			if (rem >= 5 && s[i + 4] == '>') {
				h->i = i + 5;
			} else if (rem >= 6 && s[i + 4] == '-' && s[i + 5] == '>') {
				h->i = i + 6;
			} else {
				const char *end = memmem(s + i + 4, rem - 4, "-->", 3);
				h->i = end ? (size_t)(end - s) + 3 : n;
			}
		} else if (rem >= 2 && (s[i + 1] == '!' || s[i + 1] == '?' ||
					(s[i + 1] == '/' && !(rem >= 3 && em_is_alpha(s[i + 2]))))) {
			/* doctype, bogus comment, "</>" */
			const char *gt = memchr(s + i + 1, '>', rem - 1);
			h->i = gt ? (size_t)(gt - s) + 1 : n;
		} else if (rem >= 3 && s[i + 1] == '/') {
			size_t ns = i + 2, k = ns;
			while (k < n && !is_ws((unsigned char)s[k]) && s[k] != '/' && s[k] != '>')
				k++;
			h->i = k;
			if (!parse_attrs(h, NULL)) {
				h->i = n;
				break;
			}
			if (em_str_ieq(s + ns, k - ns, "a"))
				rc = close_anchor(h);
		} else if (rem >= 2 && em_is_alpha(s[i + 1])) {
			size_t ns = i + 1, k = ns;
			while (k < n && !is_ws((unsigned char)s[k]) && s[k] != '/' && s[k] != '>')
				k++;
			h->i = k;
			struct attr at[A_COUNT];
			if (!parse_attrs(h, at)) {
				h->i = n;
				break;
			}
			const char *name = s + ns;
			size_t nl = k - ns;
			if (em_str_ieq(name, nl, "a")) {
				rc = open_anchor(h, at);
			} else if (em_str_ieq(name, nl, "base")) {
				if (!h->base_href && at[A_HREF].on &&
				    !(h->base_href = dup_unescaped(&h->b->scratch, at[A_HREF].p,
								   at[A_HREF].n)))
					rc = em_err_nomem(h->b->e);
			} else if (em_str_ieq(name, nl, "plaintext")) {
				h->i = n;
			} else {
				for (size_t r = 0; r < sizeof rawtext / sizeof rawtext[0]; r++)
					if (em_str_ieq(name, nl, rawtext[r])) {
						skip_raw(h, rawtext[r]);
						break;
					}
			}
		} else {
			add_text(h, "<", 1);
			h->i = i + 1;
		}
	}
	if (!rc)
		rc = close_anchor(h);
	return rc;
}

int em_index_parse_html(struct em_arena *a, const char *page_url, const char *buf, size_t len,
			struct em_index_page *out, struct em_error *e)
{
	struct builder b;
	int rc = begin(&b, a, page_url, len, out, e);
	if (rc)
		goto done;
	struct html h;
	memset(&h, 0, sizeof h);
	h.s = buf ? buf : "";
	h.n = buf ? len : 0;
	h.b = &b;
	h.tail = &h.head;
	if ((rc = scan_html(&h)))
		goto done;
	if (h.base_href) {
		char *base;
		char *clean = clean_href(&b.scratch, h.base_href);
		if (!clean) {
			rc = em_err_nomem(e);
			goto done;
		}
		/* a <base> that does not resolve is ignored, as browsers do */
		if (!em_url_resolve(&b.scratch, b.base, clean, &base, NULL)) {
			char *hash = strchr(base, '#');
			if (hash)
				*hash = '\0';
			b.base = base;
		}
	}
	if ((rc = alloc_files(&b, h.count)))
		goto done;
	for (struct raw *r = h.head; r && !rc; r = r->next)
		rc = add_file(&b, &r->c);
done:
	if (rc) {
		out->nfiles = 0;
		if (e && !e->where[0] && page_url) {
			char q[160];
			const char *red = em_url_redact(&b.scratch, page_url);
			if (red)
				em_err_prefix_where(e, "%s", em_quote(q, sizeof q, red, strlen(red)));
		}
	}
	em_arena_release(&b.scratch);
	return rc;
}

/* ---- JSON ---- */

static const char *jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* core-metadata / dist-info-metadata: true, false or {"sha256": ...};
 * false when the value has another type (then the other key is read). */
static bool metadata_json(struct em_arena *a, json_t *v, struct cand *c)
{
	if (json_is_boolean(v)) {
		c->has_metadata = json_is_true(v);
		return true;
	}
	if (json_is_object(v)) {
		c->has_metadata = true;
		const char *h = jstr(v, "sha256");
		c->metadata_sha256 = h ? hex64(a, h, strlen(h)) : NULL;
		return true;
	}
	return false;
}

static int json_file(struct builder *b, json_t *f)
{
	struct em_arena *a = &b->scratch;
	struct em_arena_mark m = em_arena_mark(a);
	struct cand c;
	memset(&c, 0, sizeof c);
	c.size = -1;
	if (!json_is_object(f) || !(c.filename = jstr(f, "filename")) ||
	    !(c.href = jstr(f, "url"))) {
		b->page->nskipped++;
		return 0;
	}
	json_t *hashes = json_object_get(f, "hashes");
	if (json_is_object(hashes)) {
		const char *h = jstr(hashes, "sha256");
		if (h && !(c.sha256 = hex64(a, h, strlen(h))) && is_hex64(h, strlen(h)))
			return em_err_nomem(b->e);
	}
	const char *rp = jstr(f, "requires-python");
	if (rp) {
		struct em_str t = em_str_strip(em_str_make(rp, strlen(rp)));
		if (t.n && !(c.requires_python = em_arena_strndup(a, t.p, t.n)))
			return em_err_nomem(b->e);
	}
	if (!metadata_json(a, json_object_get(f, "core-metadata"), &c))
		metadata_json(a, json_object_get(f, "dist-info-metadata"), &c);
	json_t *y = json_object_get(f, "yanked");
	if (json_is_true(y)) {
		c.yanked = true;
	} else if (json_is_string(y)) {
		c.yanked = true;
		c.yank_reason = json_string_value(y);
	}
	json_t *size = json_object_get(f, "size");
	if (json_is_number(size)) {
		double d = json_number_value(size);
		if (d >= 0 && d <= 9007199254740992.0 && d == (double)(int64_t)d)
			c.size = (int64_t)d;
	}
	c.upload_time = jstr(f, "upload-time");
	int rc = add_file(b, &c);
	em_arena_rewind(a, m);
	return rc;
}

static int json_page(struct builder *b, json_t *root, const char *where)
{
	if (!json_is_object(root))
		return em_err(b->e, EM_EINVAL, where, "index page is not a JSON object");
	json_t *meta = json_object_get(root, "meta");
	if (!json_is_object(meta))
		return em_err(b->e, EM_EINVAL, where, "index page has no 'meta' object");
	const char *ver = jstr(meta, "api-version");
	if (!ver)
		return em_err(b->e, EM_EINVAL, where, "index page has no 'meta.api-version'");
	char q[64];
	size_t vl = strlen(ver), k = 0;
	while (k < vl && em_is_digit(ver[k]))
		k++;
	size_t dot = k;
	bool ok = k > 0 && k < vl && ver[k] == '.';
	for (k = dot + 1; ok && k < vl; k++)
		ok = em_is_digit(ver[k]);
	ok = ok && dot + 1 < vl;
	if (!ok)
		return em_err(b->e, EM_EINVAL, where, "invalid api-version '%s'",
			      em_quote(q, sizeof q, ver, vl));
	if (!em_str_eq(ver, dot, "1"))
		return em_err(b->e, EM_EUNSUPPORTED, where,
			      "unsupported index api-version '%s' (envmatrix reads 1.x)",
			      em_quote(q, sizeof q, ver, vl));
	json_t *files = json_object_get(root, "files");
	if (!json_is_array(files))
		return em_err(b->e, EM_EINVAL, where, "index page has no 'files' array");
	size_t n = json_array_size(files);
	int rc = alloc_files(b, n);
	for (size_t i = 0; i < n && !rc; i++)
		rc = json_file(b, json_array_get(files, i));
	return rc;
}

int em_index_parse_json(struct em_arena *a, const char *page_url, const char *buf, size_t len,
			struct em_index_page *out, struct em_error *e)
{
	struct builder b;
	json_t *root = NULL;
	int rc = begin(&b, a, page_url, len, out, e);
	if (rc)
		goto done;
	char where[160];
	const char *red = em_url_redact(&b.scratch, page_url);
	if (!red) {
		rc = em_err_nomem(e);
		goto done;
	}
	em_quote(where, sizeof where, red, strlen(red));
	json_error_t jerr;
	root = json_loadb(buf ? buf : "", buf ? len : 0, JSON_DECODE_INT_AS_REAL, &jerr);
	if (!root) {
		char q[160];
		rc = em_err(e, EM_EINVAL, where, "invalid JSON at line %d, column %d: %s",
			    jerr.line, jerr.column, em_quote(q, sizeof q, jerr.text, strlen(jerr.text)));
		goto done;
	}
	rc = json_page(&b, root, where);
done:
	if (rc)
		out->nfiles = 0;
	json_decref(root);
	em_arena_release(&b.scratch);
	return rc;
}
