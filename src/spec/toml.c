/* toml.c - TOML 1.0 documents (the format of PEP 751 lock files)
 *
 * One pass over the bytes with a cursor. Values nest by recursion, and every
 * table and array knows its depth: one deeper than EM_TOML_MAX_DEPTH is
 * refused before the parser goes into it, so the recursion is bounded.
 *
 * A table keeps its keys in document order and, once it has more than a
 * few, an open-addressing index (seeded, so crafted keys cannot make it
 * quadratic): a table with 100,000 keys is read in linear time. Each table
 * remembers how it came to exist, which is what TOML's rules about defining
 * things twice are about:
 *   implicit  named on the way to a header ([a.b] makes 'a'): a header may
 *             still define it once, and dotted keys may add to it
 *   defined   by its own [header] (or one [[header]] element)
 *   dotted    made by dotted keys (a.b = 1) in one section: only that
 *             section's dotted keys may add to it, no header may define it,
 *             though headers may define tables inside it
 *   inline    { ... }: complete as written
 * A section is what one header (or one inline table) opens. Arrays are
 * static ([...], complete as written) or arrays of tables ([[...]]).
 *
 * Datetimes are checked (RFC 3339 as TOML restricts it, and as tomllib
 * reads it: years 0001-9999, seconds 00-59) and kept as text.
 * Multi-line strings get "\n" for each newline (CRLF included), as tomllib
 * gives. The document must be UTF-8; a leading byte order mark is skipped.
 */
#include "spec/lock.h"
#include "util/error.h"
#include "util/grow.h"
#include "util/str.h"

#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { T_IMPLICIT, T_DEFINED, T_DOTTED, T_INLINE }; /* tables */
enum { A_STATIC, A_TABLES };                        /* arrays */

/* A table or an array. v comes first: a container's struct em_toml * is
 * its struct node *. Scalars are bare struct em_toml. */
struct node {
	struct em_toml v;
	uint8_t kind;
	uint32_t section; /* T_DOTTED: the section whose dotted keys made it */
	uint32_t depth;   /* the root table is 0 */
	uint32_t cap;     /* room in kv or items */
	uint32_t *hash;   /* v.u.tab.hash, writable */
};

#define INDEX_FROM 8 /* tables with more keys than this get an index */

struct parser {
	struct em_arena *a;
	const char *s;
	size_t n, i;
	uint32_t line;
	const char *where;
	struct em_error *e;
	struct node *root, *cur; /* cur: the table the current section fills */
	uint32_t section, nsections;
	size_t nvalues;
	struct em_buf sbuf; /* a string value being decoded, a number's digits */
	struct em_buf kbuf; /* the parts of the key being read */
	uint32_t nparts;
	size_t part_off[EM_TOML_MAX_DEPTH];
	size_t part_len[EM_TOML_MAX_DEPTH];
};

static int parse_value(struct parser *p, uint32_t depth, struct em_toml **out);

/* ---- errors ---- */

/* em_err_at the line of the document p reads */
#define perr(p, code, line, ...) em_err_at((p)->e, (code), (p)->where, (line), __VA_ARGS__)

static int buf_error(struct parser *p, const struct em_buf *b)
{
	if (b->err == EM_ELIMIT)
		return perr(p, EM_ELIMIT, p->line, "value larger than %u bytes",
			    (unsigned)EM_TOML_MAX_LEN);
	return em_err_nomem(p->e);
}

const char *em_toml_type_name(enum em_toml_type t)
{
	switch (t) {
	case EM_TOML_STRING: return "a string";
	case EM_TOML_INTEGER: return "an integer";
	case EM_TOML_FLOAT: return "a float";
	case EM_TOML_BOOL: return "a boolean";
	case EM_TOML_DATETIME: return "a datetime";
	case EM_TOML_ARRAY: return "an array";
	case EM_TOML_TABLE: return "a table";
	}
	return "a value";
}

/* The first parts of the key being read, "a.b.c", quoted for a message. */
static const char *key_text(const struct parser *p, uint32_t nparts, char *dst, size_t size)
{
	char tmp[256];
	size_t o = 0;
	for (uint32_t k = 0; k < nparts && o < sizeof tmp; k++) {
		if (k)
			tmp[o++] = '.';
		size_t l = p->part_len[k];
		if (l > sizeof tmp - o)
			l = sizeof tmp - o;
		memcpy(tmp + o, p->kbuf.ptr + p->part_off[k], l);
		o += l;
	}
	return em_quote(dst, size, tmp, o);
}

/* "expected WHAT, found ..." at the cursor. */
static int expected(struct parser *p, const char *what)
{
	char q[32];
	if (p->i >= p->n)
		return perr(p, EM_EINVAL, p->line, "expected %s, found the end of the file", what);
	unsigned char c = (unsigned char)p->s[p->i];
	if (c == '\n' || c == '\r')
		return perr(p, EM_EINVAL, p->line, "expected %s, found the end of the line", what);
	size_t l = 1;
	if (c >= 0x80) {
		uint32_t cp;
		l = em_utf8_decode(p->s + p->i, p->n - p->i, &cp);
		if (!l)
			l = 1;
	}
	return perr(p, EM_EINVAL, p->line, "expected %s, found '%s'", what,
		    em_quote(q, sizeof q, p->s + p->i, l));
}

static bool is_control(unsigned char c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

static int control_char(struct parser *p, unsigned char c, const char *in)
{
	return perr(p, EM_EINVAL, p->line, "control character U+%04X in %s (write it as an escape)",
		    (unsigned)c, in);
}

/* ---- the cursor ---- */

static int peek(const struct parser *p)
{
	return p->i < p->n ? (unsigned char)p->s[p->i] : -1;
}

static int peek_at(const struct parser *p, size_t k)
{
	return k < p->n - p->i ? (unsigned char)p->s[p->i + k] : -1;
}

static void skip_ws(struct parser *p)
{
	while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t'))
		p->i++;
}

/* At "\n" or "\r\n": consume it and return 1; 0 when not at a newline; an
 * error at a carriage return alone. */
static int eat_newline(struct parser *p)
{
	int c = peek(p);
	if (c == '\n') {
		p->i++;
		p->line++;
		return 1;
	}
	if (c == '\r') {
		if (peek_at(p, 1) != '\n')
			return perr(p, EM_EINVAL, p->line, "carriage return without a line feed");
		p->i += 2;
		p->line++;
		return 1;
	}
	return 0;
}

/* At '#': skip to the end of the line (the newline stays). */
static int skip_comment(struct parser *p)
{
	p->i++;
	while (p->i < p->n) {
		unsigned char c = (unsigned char)p->s[p->i];
		if (c == '\n' || (c == '\r' && peek_at(p, 1) == '\n'))
			return 0;
		if (is_control(c))
			return control_char(p, c, "a comment");
		p->i++;
	}
	return 0;
}

/* Whitespace, newlines and comments (inside arrays). */
static int skip_blank(struct parser *p)
{
	for (;;) {
		skip_ws(p);
		int c = peek(p);
		if (c == '#') {
			int r = skip_comment(p);
			if (r)
				return r;
			continue;
		}
		int r = eat_newline(p);
		if (r < 0)
			return r;
		if (r == 0)
			return 0;
	}
}

/* After a key/value pair or a header: an optional comment, then a newline
 * or the end of the file. */
static int end_of_line(struct parser *p)
{
	skip_ws(p);
	if (peek(p) == '#') {
		int r = skip_comment(p);
		if (r)
			return r;
	}
	if (p->i >= p->n)
		return 0;
	int r = eat_newline(p);
	if (r < 0)
		return r;
	return r ? 0 : expected(p, "a newline");
}

/* ---- tables and arrays ---- */

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/* Its address differs between runs (ASLR), which seeds the key hash. */
static const char hash_anchor;

static uint64_t key_hash(const char *k, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ mix64((uint64_t)(uintptr_t)&hash_anchor);
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)k[i];
		h *= 0x100000001b3ULL;
	}
	return mix64(h ^ n);
}

static const struct em_toml_kv *tab_find(const struct em_toml *t, const char *k, size_t n)
{
	const struct em_toml_kv *kv = t->u.tab.kv;
	if (t->u.tab.hash) {
		uint32_t mask = t->u.tab.hmask;
		for (uint32_t h = (uint32_t)key_hash(k, n) & mask;; h = (h + 1) & mask) {
			uint32_t x = t->u.tab.hash[h];
			if (!x)
				return NULL;
			if (kv[x - 1].key_len == n && memcmp(kv[x - 1].key, k, n) == 0)
				return &kv[x - 1];
		}
	}
	for (uint32_t j = 0; j < t->u.tab.n; j++)
		if (kv[j].key_len == n && memcmp(kv[j].key, k, n) == 0)
			return &kv[j];
	return NULL;
}

static void index_put(struct node *t, uint32_t j)
{
	const struct em_toml_kv *kv = &t->v.u.tab.kv[j];
	uint32_t mask = t->v.u.tab.hmask;
	uint32_t h = (uint32_t)key_hash(kv->key, kv->key_len) & mask;
	while (t->hash[h])
		h = (h + 1) & mask;
	t->hash[h] = j + 1;
}

/* A new index of at least four slots per key (refilled at one in two). */
static int reindex(struct parser *p, struct node *t)
{
	uint32_t n = t->v.u.tab.n;
	uint32_t size = 16;
	while (size < 4 * n)
		size *= 2;
	uint32_t *h = em_arena_array(p->a, size, sizeof *h);
	if (!h)
		return em_err_nomem(p->e);
	memset(h, 0, (size_t)size * sizeof *h);
	t->hash = h;
	t->v.u.tab.hash = h;
	t->v.u.tab.hmask = size - 1;
	for (uint32_t j = 0; j < n; j++)
		index_put(t, j);
	return 0;
}

/* Add key (already in the arena) to t. The caller checked it is absent. */
static int tab_add(struct parser *p, struct node *t, const char *key, size_t klen,
		   struct em_toml *v)
{
	uint32_t n = t->v.u.tab.n;
	if (em_arena_grow(p->a, &t->v.u.tab.kv, &t->cap, n, sizeof *t->v.u.tab.kv))
		return em_err_nomem(p->e);
	t->v.u.tab.kv[n].key = key;
	t->v.u.tab.kv[n].key_len = klen;
	t->v.u.tab.kv[n].value = v;
	t->v.u.tab.n = ++n;
	if (n <= INDEX_FROM)
		return 0;
	if (!t->hash || 2 * n > t->v.u.tab.hmask + 1)
		return reindex(p, t);
	index_put(t, n - 1);
	return 0;
}

static int arr_push(struct parser *p, struct node *arr, struct em_toml *v)
{
	uint32_t n = arr->v.u.arr.n;
	if (em_arena_grow(p->a, &arr->v.u.arr.items, &arr->cap, n, sizeof *arr->v.u.arr.items))
		return em_err_nomem(p->e);
	arr->v.u.arr.items[n] = v;
	arr->v.u.arr.n = n + 1;
	return 0;
}

static int count_value(struct parser *p)
{
	if (++p->nvalues > EM_TOML_MAX_VALUES)
		return perr(p, EM_ELIMIT, p->line, "more than %u values", (unsigned)EM_TOML_MAX_VALUES);
	return 0;
}

static int new_scalar(struct parser *p, enum em_toml_type type, uint32_t line, struct em_toml **out)
{
	int r = count_value(p);
	if (r)
		return r;
	struct em_toml *v = em_arena_zalloc(p->a, sizeof *v);
	if (!v)
		return em_err_nomem(p->e);
	v->type = type;
	v->line = line;
	*out = v;
	return 0;
}

static int new_node(struct parser *p, enum em_toml_type type, uint8_t kind, uint32_t depth,
		    uint32_t line, struct node **out)
{
	if (depth > EM_TOML_MAX_DEPTH)
		return perr(p, EM_ELIMIT, p->line, "tables and arrays nested deeper than %d",
			    EM_TOML_MAX_DEPTH);
	int r = count_value(p);
	if (r)
		return r;
	struct node *t = em_arena_zalloc(p->a, sizeof *t);
	if (!t)
		return em_err_nomem(p->e);
	t->v.type = type;
	t->v.line = line;
	t->kind = kind;
	t->section = p->section;
	t->depth = depth;
	*out = t;
	return 0;
}

/* Key part k of the key being read, copied into the arena. */
static const char *part_copy(struct parser *p, uint32_t k)
{
	return em_arena_strndup(p->a, p->kbuf.ptr + p->part_off[k], p->part_len[k]);
}

static int new_table_at(struct parser *p, struct node *t, uint32_t k, uint8_t kind,
			uint32_t line, struct node **out)
{
	int r = new_node(p, EM_TOML_TABLE, kind, t->depth + 1, line, out);
	if (r)
		return r;
	const char *key = part_copy(p, k);
	if (!key)
		return em_err_nomem(p->e);
	return tab_add(p, t, key, p->part_len[k], &(*out)->v);
}

/* ---- strings ---- */

static int bad_escape(struct parser *p)
{
	char q[32];
	size_t k = 2;
	int c = peek_at(p, 1);
	if (c == 'u' || c == 'U') {
		size_t want = c == 'u' ? 6 : 10;
		while (k < want && em_hex_value(peek_at(p, k)) >= 0)
			k++;
	} else if (c >= 0x80) {
		uint32_t cp;
		size_t cl = em_utf8_decode(p->s + p->i + 1, p->n - p->i - 1, &cp);
		k = 1 + (cl ? cl : 1);
	}
	if (k > p->n - p->i)
		k = p->n - p->i;
	return perr(p, EM_EINVAL, p->line, "invalid escape '%s'", em_quote(q, sizeof q, p->s + p->i, k));
}

/* At '\\' (not a line-ending backslash): append what it stands for. */
static int escape(struct parser *p, struct em_buf *out)
{
	int c = peek_at(p, 1);
	char ch;
	switch (c) {
	case 'b': ch = '\b'; break;
	case 't': ch = '\t'; break;
	case 'n': ch = '\n'; break;
	case 'f': ch = '\f'; break;
	case 'r': ch = '\r'; break;
	case '"': ch = '"'; break;
	case '\\': ch = '\\'; break;
	case 'u':
	case 'U': {
		int digits = c == 'u' ? 4 : 8;
		uint32_t cp = 0;
		for (int k = 0; k < digits; k++) {
			int h = em_hex_value(peek_at(p, 2 + (size_t)k));
			if (h < 0)
				return bad_escape(p);
			cp = cp << 4 | (uint32_t)h;
		}
		if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
			char q[16];
			return perr(p, EM_EINVAL, p->line,
				    "escape '%s' is not a Unicode scalar value",
				    em_quote(q, sizeof q, p->s + p->i, 2 + (size_t)digits));
		}
		char u[4];
		em_buf_add(out, u, em_utf8_encode(u, cp));
		p->i += 2 + (size_t)digits;
		return 0;
	}
	default:
		if (c < 0)
			return perr(p, EM_EINVAL, p->line, "unterminated string");
		return bad_escape(p);
	}
	em_buf_addc(out, ch);
	p->i += 2;
	return 0;
}

/* Append the run of ordinary bytes at the cursor (stops at a quote of the
 * string's kind, a backslash when escapes count, newlines and controls). */
static void plain_run(struct parser *p, struct em_buf *out, char quote, bool escapes)
{
	size_t st = p->i;
	while (p->i < p->n) {
		unsigned char c = (unsigned char)p->s[p->i];
		if (c == (unsigned char)quote || (escapes && c == '\\') || is_control(c))
			break;
		p->i++;
	}
	em_buf_add(out, p->s + st, p->i - st);
}

/* "..." or '...' at the cursor; the decoded bytes are appended to out. */
static int line_string(struct parser *p, struct em_buf *out)
{
	char quote = p->s[p->i];
	bool escapes = quote == '"';
	p->i++;
	for (;;) {
		plain_run(p, out, quote, escapes);
		if (p->i >= p->n)
			return perr(p, EM_EINVAL, p->line, "unterminated string");
		unsigned char c = (unsigned char)p->s[p->i];
		if (c == (unsigned char)quote) {
			p->i++;
			return out->err ? buf_error(p, out) : 0;
		}
		if (c == '\\') {
			int r = escape(p, out);
			if (r)
				return r;
			continue;
		}
		if (c == '\n' || c == '\r')
			return perr(p, EM_EINVAL, p->line,
				    "unterminated string (a newline before the closing quote)");
		return control_char(p, c, "a string");
	}
}

/* """...""" or '''...''' at the cursor. */
static int multiline_string(struct parser *p, struct em_buf *out)
{
	char quote = p->s[p->i];
	bool escapes = quote == '"';
	uint32_t line = p->line;
	p->i += 3;
	if (peek(p) == '\n' || (peek(p) == '\r' && peek_at(p, 1) == '\n')) {
		int r = eat_newline(p); /* trimmed */
		if (r < 0)
			return r;
	}
	for (;;) {
		plain_run(p, out, quote, escapes);
		if (p->i >= p->n)
			return perr(p, EM_EINVAL, line, "unterminated multi-line string");
		unsigned char c = (unsigned char)p->s[p->i];
		if (c == (unsigned char)quote) {
			size_t q = 0;
			while (q < 5 && peek_at(p, q) == quote)
				q++;
			if (q >= 3) { /* up to two quotes end the content */
				em_buf_add(out, p->s + p->i, q - 3);
				p->i += q;
				return out->err ? buf_error(p, out) : 0;
			}
			em_buf_add(out, p->s + p->i, q);
			p->i += q;
			continue;
		}
		if (c == '\n' || c == '\r') {
			int r = eat_newline(p);
			if (r < 0)
				return r;
			em_buf_addc(out, '\n');
			continue;
		}
		if (c == '\\') {
			size_t j = p->i + 1;
			while (j < p->n && (p->s[j] == ' ' || p->s[j] == '\t'))
				j++;
			if (j < p->n && (p->s[j] == '\n' || p->s[j] == '\r')) {
				/* a line-ending backslash: drop whitespace and newlines */
				p->i = j;
				for (;;) {
					skip_ws(p);
					int r = eat_newline(p);
					if (r < 0)
						return r;
					if (r == 0)
						break;
				}
				continue;
			}
			int r = escape(p, out);
			if (r)
				return r;
			continue;
		}
		return control_char(p, c, "a string");
	}
}

static int string_value(struct parser *p, struct em_toml **out)
{
	uint32_t line = p->line;
	char quote = p->s[p->i];
	em_buf_reset(&p->sbuf);
	int r = peek_at(p, 1) == quote && peek_at(p, 2) == quote ? multiline_string(p, &p->sbuf)
								  : line_string(p, &p->sbuf);
	if (r)
		return r;
	r = new_scalar(p, EM_TOML_STRING, line, out);
	if (r)
		return r;
	char *s = em_arena_strndup(p->a, p->sbuf.ptr, p->sbuf.len);
	if (!s)
		return em_err_nomem(p->e);
	(*out)->u.str.s = s;
	(*out)->u.str.len = p->sbuf.len;
	return 0;
}

/* ---- keys ---- */

static bool is_bare(int c)
{
	return em_is_alnum(c) || c == '_' || c == '-';
}

/* Read a key ("a", "a.b", "'x'.\"y\"") into kbuf and part_off/part_len. */
static int parse_key(struct parser *p)
{
	em_buf_reset(&p->kbuf);
	p->nparts = 0;
	for (;;) {
		skip_ws(p);
		if (p->nparts == EM_TOML_MAX_DEPTH)
			return perr(p, EM_ELIMIT, p->line, "key with more than %d parts",
				    EM_TOML_MAX_DEPTH);
		size_t off = p->kbuf.len;
		int c = peek(p);
		if (c >= 0 && is_bare(c)) {
			size_t st = p->i;
			while (p->i < p->n && is_bare((unsigned char)p->s[p->i]))
				p->i++;
			em_buf_add(&p->kbuf, p->s + st, p->i - st);
		} else if (c == '"' || c == '\'') {
			if (peek_at(p, 1) == c && peek_at(p, 2) == c)
				return perr(p, EM_EINVAL, p->line,
					    "a multi-line string cannot be a key");
			int r = line_string(p, &p->kbuf);
			if (r)
				return r;
		} else {
			return expected(p, "a key");
		}
		if (p->kbuf.err)
			return buf_error(p, &p->kbuf);
		p->part_off[p->nparts] = off;
		p->part_len[p->nparts] = p->kbuf.len - off;
		p->nparts++;
		skip_ws(p);
		if (peek(p) != '.')
			return 0;
		p->i++;
	}
}

/* ---- scalars ---- */

static bool is_token_char(int c)
{
	return em_is_alnum(c) || c == '_' || c == '-' || c == '+' || c == '.' || c == ':';
}

static bool digit_in(int c, int base)
{
	if (base == 16)
		return em_hex_value(c) >= 0;
	return c >= '0' && c < '0' + base;
}

/* Digits of base, with single underscores between digits. */
static bool digits_ok(const char *t, size_t m, int base)
{
	if (m == 0)
		return false;
	for (size_t k = 0; k < m; k++) {
		if (t[k] == '_') {
			if (k == 0 || k + 1 == m || t[k + 1] == '_')
				return false;
		} else if (!digit_in((unsigned char)t[k], base)) {
			return false;
		}
	}
	return true;
}

static bool is_float_token(const char *t, size_t m)
{
	size_t k = (m && (t[0] == '+' || t[0] == '-')) ? 1 : 0;
	if (m - k >= 2 && t[k] == '0' && (t[k + 1] == 'x' || t[k + 1] == 'o' || t[k + 1] == 'b'))
		return false;
	for (; k < m; k++)
		if (t[k] == '.' || t[k] == 'e' || t[k] == 'E')
			return true;
	return false;
}

static int bad_value(struct parser *p, const char *t, size_t m, uint32_t line)
{
	char q[96];
	return perr(p, EM_EINVAL, line, "invalid value '%s'", em_quote(q, sizeof q, t, m));
}

static int parse_integer(struct parser *p, const char *t, size_t m, uint32_t line, int64_t *out)
{
	char q[96];
	size_t k = 0;
	bool neg = false;
	int base = 10;
	if (m && (t[0] == '+' || t[0] == '-')) {
		neg = t[0] == '-';
		k = 1;
	}
	if (m - k >= 2 && t[k] == '0' && (t[k + 1] == 'x' || t[k + 1] == 'o' || t[k + 1] == 'b')) {
		if (k) /* no sign on prefixed integers */
			return bad_value(p, t, m, line);
		base = t[k + 1] == 'x' ? 16 : t[k + 1] == 'o' ? 8 : 2;
		k += 2;
	} else if (m - k > 1 && t[k] == '0') {
		return bad_value(p, t, m, line); /* leading zero */
	}
	if (!digits_ok(t + k, m - k, base))
		return bad_value(p, t, m, line);
	uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	uint64_t v = 0;
	for (; k < m; k++) {
		if (t[k] == '_')
			continue;
		uint64_t d = (uint64_t)em_hex_value((unsigned char)t[k]);
		if (v > (limit - d) / (uint64_t)base)
			return perr(p, EM_EINVAL, line, "integer '%s' does not fit in 64 bits",
				    em_quote(q, sizeof q, t, m));
		v = v * (uint64_t)base + d;
	}
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

static int parse_float(struct parser *p, const char *t, size_t m, uint32_t line, double *out)
{
	size_t k = (m && (t[0] == '+' || t[0] == '-')) ? 1 : 0;
	size_t st = k;
	while (k < m && t[k] != '.' && t[k] != 'e' && t[k] != 'E')
		k++;
	if (!digits_ok(t + st, k - st, 10) || (t[st] == '0' && k - st > 1))
		return bad_value(p, t, m, line);
	bool frac = false, exp = false;
	if (k < m && t[k] == '.') {
		st = ++k;
		while (k < m && t[k] != 'e' && t[k] != 'E')
			k++;
		if (!digits_ok(t + st, k - st, 10))
			return bad_value(p, t, m, line);
		frac = true;
	}
	if (k < m && (t[k] == 'e' || t[k] == 'E')) {
		k++;
		if (k < m && (t[k] == '+' || t[k] == '-'))
			k++;
		if (!digits_ok(t + k, m - k, 10))
			return bad_value(p, t, m, line);
		k = m;
		exp = true;
	}
	if (k != m || (!frac && !exp))
		return bad_value(p, t, m, line);
	/* strtod follows LC_NUMERIC: spell the point the way it expects */
	const char *dp = localeconv()->decimal_point;
	if (!dp || !dp[0])
		dp = ".";
	em_buf_reset(&p->sbuf);
	for (k = 0; k < m; k++) {
		if (t[k] == '_')
			continue;
		if (t[k] == '.')
			em_buf_addstr(&p->sbuf, dp);
		else
			em_buf_addc(&p->sbuf, t[k]);
	}
	if (p->sbuf.err)
		return buf_error(p, &p->sbuf);
	*out = strtod(p->sbuf.ptr, NULL);
	return 0;
}

static bool two_digits(const char *s, int *v)
{
	if (!em_is_digit((unsigned char)s[0]) || !em_is_digit((unsigned char)s[1]))
		return false;
	*v = (s[0] - '0') * 10 + (s[1] - '0');
	return true;
}

/* HH:MM:SS[.fraction] at s: its length, or 0. */
static size_t scan_time(const char *s, size_t n)
{
	int h, mi, se;
	if (n < 8 || !two_digits(s, &h) || s[2] != ':' || !two_digits(s + 3, &mi) || s[5] != ':' ||
	    !two_digits(s + 6, &se))
		return 0;
	if (h > 23 || mi > 59 || se > 59)
		return 0;
	size_t k = 8;
	if (k < n && s[k] == '.') {
		size_t d = k + 1;
		while (d < n && em_is_digit((unsigned char)s[d]))
			d++;
		if (d == k + 1)
			return 0;
		k = d;
	}
	return k;
}

static bool is_date_shape(const char *s, size_t n)
{
	return n >= 10 && s[4] == '-' && s[7] == '-' && em_is_digit((unsigned char)s[0]) &&
	       em_is_digit((unsigned char)s[1]) && em_is_digit((unsigned char)s[2]) &&
	       em_is_digit((unsigned char)s[3]);
}

enum em_toml_datetime_kind em_toml_datetime_kind(const char *s, size_t n)
{
	if (!s)
		return EM_TOML_DT_NONE;
	if (!is_date_shape(s, n)) {
		size_t k = scan_time(s, n);
		return k && k == n ? EM_TOML_DT_TIME : EM_TOML_DT_NONE;
	}
	int y1, y2, mo, d;
	if (!two_digits(s, &y1) || !two_digits(s + 2, &y2) || !two_digits(s + 5, &mo) ||
	    !two_digits(s + 8, &d))
		return EM_TOML_DT_NONE;
	int y = y1 * 100 + y2;
	static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (y == 0 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1])
		return EM_TOML_DT_NONE;
	if (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return EM_TOML_DT_NONE;
	if (n == 10)
		return EM_TOML_DT_DATE;
	if (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
		return EM_TOML_DT_NONE;
	size_t k = scan_time(s + 11, n - 11);
	if (!k)
		return EM_TOML_DT_NONE;
	k += 11;
	if (k == n)
		return EM_TOML_DT_LOCAL;
	if (s[k] == 'Z' || s[k] == 'z')
		return k + 1 == n ? EM_TOML_DT_OFFSET : EM_TOML_DT_NONE;
	int oh, om;
	if ((s[k] == '+' || s[k] == '-') && n - k == 6 && two_digits(s + k + 1, &oh) &&
	    s[k + 3] == ':' && two_digits(s + k + 4, &om) && oh <= 23 && om <= 59)
		return EM_TOML_DT_OFFSET;
	return EM_TOML_DT_NONE;
}

/* A number, boolean, datetime, inf or nan at the cursor. */
static int scalar_value(struct parser *p, struct em_toml **out)
{
	uint32_t line = p->line;
	size_t st = p->i;
	while (p->i < p->n && is_token_char((unsigned char)p->s[p->i]))
		p->i++;
	/* a date, one space and a time are one date-time */
	if (p->i - st == 10 && is_date_shape(p->s + st, 10) && p->n - p->i > 3 &&
	    p->s[p->i] == ' ' && em_is_digit((unsigned char)p->s[p->i + 1]) &&
	    em_is_digit((unsigned char)p->s[p->i + 2]) && p->s[p->i + 3] == ':') {
		p->i++;
		while (p->i < p->n && is_token_char((unsigned char)p->s[p->i]))
			p->i++;
	}
	const char *t = p->s + st;
	size_t m = p->i - st;
	if (m == 0)
		return expected(p, "a value");
	if (is_date_shape(t, m) || (m >= 3 && t[2] == ':')) {
		if (!em_toml_datetime_kind(t, m)) {
			char q[96];
			return perr(p, EM_EINVAL, line, "invalid date or time '%s'",
				    em_quote(q, sizeof q, t, m));
		}
		int r = new_scalar(p, EM_TOML_DATETIME, line, out);
		if (r)
			return r;
		char *s = em_arena_strndup(p->a, t, m);
		if (!s)
			return em_err_nomem(p->e);
		(*out)->u.str.s = s;
		(*out)->u.str.len = m;
		return 0;
	}
	/* a boolean or a number: its value first, then its node */
	struct em_toml v;
	memset(&v, 0, sizeof v);
	int r = 0;
	const char *u = (t[0] == '+' || t[0] == '-') ? t + 1 : t;
	size_t um = m - (size_t)(u - t);
	if (em_str_eq(t, m, "true") || em_str_eq(t, m, "false")) {
		v.type = EM_TOML_BOOL;
		v.u.b = t[0] == 't';
	} else if (em_str_eq(u, um, "inf") || em_str_eq(u, um, "nan")) {
		double x = u[0] == 'i' ? (double)INFINITY : (double)NAN;
		v.type = EM_TOML_FLOAT;
		v.u.f = t[0] == '-' ? -x : x;
	} else if (is_float_token(t, m)) {
		v.type = EM_TOML_FLOAT;
		r = parse_float(p, t, m, line, &v.u.f);
	} else {
		v.type = EM_TOML_INTEGER;
		r = parse_integer(p, t, m, line, &v.u.i);
	}
	if (!r)
		r = new_scalar(p, v.type, line, out);
	if (!r)
		(*out)->u = v.u;
	return r;
}

/* ---- key/value pairs ---- */

/* Walk the dotted part of the key from t (creating tables), check that the
 * last part is new there, and copy it into the arena. */
static int resolve_dotted(struct parser *p, struct node *t, struct node **parent,
			  const char **key, size_t *klen)
{
	char q[160];
	uint32_t last = p->nparts - 1;
	for (uint32_t k = 0; k < last; k++) {
		const struct em_toml_kv *kv =
			tab_find(&t->v, p->kbuf.ptr + p->part_off[k], p->part_len[k]);
		if (!kv) {
			struct node *nt;
			int r = new_table_at(p, t, k, T_DOTTED, p->line, &nt);
			if (r)
				return r;
			t = nt;
			continue;
		}
		struct em_toml *v = kv->value;
		if (v->type != EM_TOML_TABLE)
			return perr(p, EM_EINVAL, p->line, "key '%s' is already %s (line %u), not a table",
				    key_text(p, k + 1, q, sizeof q), em_toml_type_name(v->type), (unsigned)v->line);
		struct node *nt = (struct node *)v;
		switch (nt->kind) {
		case T_INLINE:
			return perr(p, EM_EINVAL, p->line,
				    "cannot add keys to inline table '%s' (line %u)",
				    key_text(p, k + 1, q, sizeof q), (unsigned)v->line);
		case T_DEFINED:
			return perr(p, EM_EINVAL, p->line,
				    "cannot add to table '%s' with dotted keys: it has its own header "
				    "(line %u)",
				    key_text(p, k + 1, q, sizeof q), (unsigned)v->line);
		case T_DOTTED:
			if (nt->section != p->section)
				return perr(p, EM_EINVAL, p->line,
					    "cannot add to table '%s' outside the section that defined it "
					    "(line %u)",
					    key_text(p, k + 1, q, sizeof q), (unsigned)v->line);
			break;
		default: /* implicit: dotted keys define it now */
			nt->kind = T_DOTTED;
			nt->section = p->section;
			break;
		}
		t = nt;
	}
	const struct em_toml_kv *kv =
		tab_find(&t->v, p->kbuf.ptr + p->part_off[last], p->part_len[last]);
	if (kv)
		return perr(p, EM_EINVAL, p->line, "duplicate key '%s' (first on line %u)",
			    key_text(p, p->nparts, q, sizeof q), (unsigned)kv->value->line);
	*key = part_copy(p, last);
	if (!*key)
		return em_err_nomem(p->e);
	*klen = p->part_len[last];
	*parent = t;
	return 0;
}

/* key = value, into table t. */
static int keyval(struct parser *p, struct node *t)
{
	int r = parse_key(p);
	if (r)
		return r;
	skip_ws(p);
	if (peek(p) != '=')
		return expected(p, "'=' after the key");
	p->i++;
	skip_ws(p);
	struct node *parent = NULL;
	const char *key = NULL;
	size_t klen = 0;
	r = resolve_dotted(p, t, &parent, &key, &klen);
	if (r)
		return r;
	struct em_toml *v;
	r = parse_value(p, parent->depth + 1, &v);
	if (r)
		return r;
	return tab_add(p, parent, key, klen, v);
}

/* ---- arrays and inline tables ---- */

static int array_value(struct parser *p, uint32_t depth, struct em_toml **out)
{
	uint32_t line = p->line;
	struct node *arr;
	int r = new_node(p, EM_TOML_ARRAY, A_STATIC, depth, line, &arr);
	if (r)
		return r;
	p->i++;
	for (;;) {
		r = skip_blank(p);
		if (r)
			return r;
		if (peek(p) == ']')
			break;
		if (p->i >= p->n)
			return perr(p, EM_EINVAL, line, "unterminated array (the end of the file came first)");
		struct em_toml *v;
		r = parse_value(p, depth + 1, &v);
		if (!r)
			r = arr_push(p, arr, v);
		if (!r)
			r = skip_blank(p);
		if (r)
			return r;
		if (peek(p) == ',') {
			p->i++;
			continue;
		}
		if (peek(p) == ']')
			break;
		if (p->i >= p->n)
			return perr(p, EM_EINVAL, line, "unterminated array (the end of the file came first)");
		return expected(p, "',' or ']' in the array");
	}
	p->i++;
	*out = &arr->v;
	return 0;
}

static int inline_table(struct parser *p, uint32_t depth, struct em_toml **out)
{
	uint32_t line = p->line;
	struct node *t;
	int r = new_node(p, EM_TOML_TABLE, T_INLINE, depth, line, &t);
	if (r)
		return r;
	uint32_t saved = p->section;
	p->section = ++p->nsections;
	p->i++;
	skip_ws(p);
	if (peek(p) == '}') {
		p->i++;
	} else {
		for (;;) {
			skip_ws(p);
			if (peek(p) == '\n' || peek(p) == '\r')
				return perr(p, EM_EINVAL, p->line,
					    "newline in an inline table (TOML 1.0 keeps one on a line)");
			r = keyval(p, t);
			if (r)
				return r;
			skip_ws(p);
			int c = peek(p);
			if (c == ',') {
				p->i++;
				skip_ws(p);
				if (peek(p) == '}')
					return perr(p, EM_EINVAL, p->line,
						    "trailing comma in an inline table");
				continue;
			}
			if (c == '}') {
				p->i++;
				break;
			}
			if (c == '\n' || c == '\r')
				return perr(p, EM_EINVAL, p->line,
					    "newline in an inline table (TOML 1.0 keeps one on a line)");
			return expected(p, "',' or '}' in the inline table");
		}
	}
	p->section = saved;
	*out = &t->v;
	return 0;
}

static int parse_value(struct parser *p, uint32_t depth, struct em_toml **out)
{
	switch (peek(p)) {
	case '"':
	case '\'':
		return string_value(p, out);
	case '[':
		return array_value(p, depth, out);
	case '{':
		return inline_table(p, depth, out);
	default:
		if (peek(p) < 0 || !is_token_char(peek(p)))
			return expected(p, "a value");
		return scalar_value(p, out);
	}
}

/* ---- headers ---- */

static int header(struct parser *p)
{
	char q[160];
	uint32_t line = p->line;
	bool aot = peek_at(p, 1) == '[';
	p->i += aot ? 2 : 1;
	int r = parse_key(p);
	if (r)
		return r;
	skip_ws(p);
	if (peek(p) != ']' || (aot && peek_at(p, 1) != ']'))
		return expected(p, aot ? "']]' to end the header" : "']' to end the header");
	p->i += aot ? 2 : 1;

	struct node *t = p->root;
	uint32_t last = p->nparts - 1;
	for (uint32_t k = 0; k < last; k++) {
		const struct em_toml_kv *kv =
			tab_find(&t->v, p->kbuf.ptr + p->part_off[k], p->part_len[k]);
		if (!kv) {
			struct node *nt;
			r = new_table_at(p, t, k, T_IMPLICIT, line, &nt);
			if (r)
				return r;
			t = nt;
			continue;
		}
		struct em_toml *v = kv->value;
		struct node *nt = (struct node *)v;
		if (v->type == EM_TOML_TABLE && nt->kind != T_INLINE) {
			t = nt;
		} else if (v->type == EM_TOML_TABLE) {
			return perr(p, EM_EINVAL, line, "cannot add to inline table '%s' (line %u)",
				    key_text(p, k + 1, q, sizeof q), (unsigned)v->line);
		} else if (v->type == EM_TOML_ARRAY && nt->kind == A_TABLES) {
			t = (struct node *)v->u.arr.items[v->u.arr.n - 1];
		} else if (v->type == EM_TOML_ARRAY) {
			return perr(p, EM_EINVAL, line,
				    "cannot add to '%s': it is an array (line %u), not an array of "
				    "tables",
				    key_text(p, k + 1, q, sizeof q), (unsigned)v->line);
		} else {
			return perr(p, EM_EINVAL, line, "key '%s' is already %s (line %u), not a table",
				    key_text(p, k + 1, q, sizeof q), em_toml_type_name(v->type),
				    (unsigned)v->line);
		}
	}

	const struct em_toml_kv *kv =
		tab_find(&t->v, p->kbuf.ptr + p->part_off[last], p->part_len[last]);
	struct em_toml *v = kv ? kv->value : NULL;
	struct node *nt = (struct node *)v;
	key_text(p, p->nparts, q, sizeof q);
	if (aot) {
		struct node *arr;
		if (!v) {
			r = new_node(p, EM_TOML_ARRAY, A_TABLES, t->depth + 1, line, &arr);
			const char *key = r ? NULL : part_copy(p, last);
			if (!r && !key)
				r = em_err_nomem(p->e);
			if (!r)
				r = tab_add(p, t, key, p->part_len[last], &arr->v);
			if (r)
				return r;
		} else if (v->type == EM_TOML_ARRAY && nt->kind == A_TABLES) {
			arr = nt;
		} else if (v->type == EM_TOML_ARRAY) {
			return perr(p, EM_EINVAL, line,
				    "cannot append to '%s': it is an array (line %u), not an array of "
				    "tables",
				    q, (unsigned)v->line);
		} else {
			return perr(p, EM_EINVAL, line,
				    "cannot define array of tables '%s': it is already %s (line %u)", q,
				    em_toml_type_name(v->type), (unsigned)v->line);
		}
		struct node *elem;
		r = new_node(p, EM_TOML_TABLE, T_DEFINED, arr->depth + 1, line, &elem);
		if (!r)
			r = arr_push(p, arr, &elem->v);
		if (r)
			return r;
		p->cur = elem;
	} else if (!v) {
		r = new_table_at(p, t, last, T_DEFINED, line, &p->cur);
		if (r)
			return r;
	} else if (v->type == EM_TOML_TABLE && nt->kind == T_IMPLICIT) {
		nt->kind = T_DEFINED;
		v->line = line;
		p->cur = nt;
	} else if (v->type == EM_TOML_TABLE && nt->kind == T_DEFINED) {
		return perr(p, EM_EINVAL, line, "table '%s' is defined twice (first on line %u)", q,
			    (unsigned)v->line);
	} else if (v->type == EM_TOML_TABLE && nt->kind == T_DOTTED) {
		return perr(p, EM_EINVAL, line, "table '%s' is already defined by dotted keys (line %u)",
			    q, (unsigned)v->line);
	} else if (v->type == EM_TOML_TABLE) {
		return perr(p, EM_EINVAL, line,
			    "table '%s' is already defined as an inline table (line %u)", q,
			    (unsigned)v->line);
	} else if (v->type == EM_TOML_ARRAY && nt->kind == A_TABLES) {
		return perr(p, EM_EINVAL, line,
			    "cannot define table '%s': it is an array of tables (line %u)", q,
			    (unsigned)v->line);
	} else {
		return perr(p, EM_EINVAL, line, "cannot define table '%s': it is already %s (line %u)",
			    q, em_toml_type_name(v->type), (unsigned)v->line);
	}
	p->section = ++p->nsections;
	return 0;
}

/* ---- the document ---- */

static int check_utf8(struct parser *p)
{
	const unsigned char *s = (const unsigned char *)p->s;
	uint32_t line = 1;
	size_t i = 0;
	while (i < p->n) {
		if (s[i] < 0x80) {
			line += s[i] == '\n';
			i++;
			continue;
		}
		uint32_t cp;
		size_t l = em_utf8_decode(p->s + i, p->n - i, &cp);
		if (!l)
			return perr(p, EM_EINVAL, line, "invalid UTF-8");
		i += l;
	}
	return 0;
}

static int parse_doc(struct parser *p)
{
	int r = check_utf8(p);
	if (r)
		return r;
	if (p->n >= 3 && memcmp(p->s, "\xEF\xBB\xBF", 3) == 0)
		p->i = 3;
	for (;;) {
		skip_ws(p);
		if (p->i >= p->n)
			return 0;
		int c = peek(p);
		if (c == '[')
			r = header(p);
		else if (c != '#' && c != '\n' && c != '\r')
			r = keyval(p, p->cur);
		if (!r)
			r = end_of_line(p);
		if (r)
			return r;
	}
}

int em_toml_parse(struct em_arena *a, const char *buf, size_t len, const char *where,
		  struct em_toml **out, struct em_error *e)
{
	*out = NULL;
	struct parser p;
	memset(&p, 0, sizeof p);
	p.a = a;
	p.s = buf;
	p.n = len;
	p.line = 1;
	p.where = where;
	p.e = e;
	if (len > EM_TOML_MAX_LEN)
		return perr(&p, EM_ELIMIT, 1, "document larger than %u bytes",
			    (unsigned)EM_TOML_MAX_LEN);
	if (!buf && len)
		return em_err(e, EM_EUSAGE, where, "no document");
	struct em_arena_mark m = em_arena_mark(a);
	em_buf_init(&p.sbuf, EM_TOML_MAX_LEN);
	em_buf_init(&p.kbuf, EM_TOML_MAX_LEN);
	int r = new_node(&p, EM_TOML_TABLE, T_DEFINED, 0, 1, &p.root);
	if (!r) {
		p.cur = p.root;
		r = parse_doc(&p);
	}
	em_buf_release(&p.sbuf);
	em_buf_release(&p.kbuf);
	if (r) {
		em_arena_rewind(a, m);
		return r;
	}
	*out = &p.root->v;
	return 0;
}

const struct em_toml *em_toml_getn(const struct em_toml *table, const char *key, size_t n)
{
	if (!table || !key || table->type != EM_TOML_TABLE)
		return NULL;
	const struct em_toml_kv *kv = tab_find(table, key, n);
	return kv ? kv->value : NULL;
}

const struct em_toml *em_toml_get(const struct em_toml *table, const char *key)
{
	return key ? em_toml_getn(table, key, strlen(key)) : NULL;
}
