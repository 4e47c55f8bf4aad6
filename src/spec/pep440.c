/* pep440.c - PEP 440 versions: parse, normalize, order
 *
 * The accepted syntax is packaging's VERSION_PATTERN, ASCII only and case
 * insensitive, with surrounding whitespace (Python's definition) allowed:
 *
 *   [v] [N!] N(.N)* [[-_.](a|alpha|b|beta|c|rc|pre|preview)[-_.][N]]
 *   [-N | [-_.](post|rev|r)[-_.][N]] [[-_.]dev[-_.][N]] [+label([-_.]label)*]
 *
 * Each optional part is tried at its position and given up when it does
 * not match, which is what the regular expression's backtracking amounts
 * to for this grammar (every separator inside a part is optional).
 */
#include "spec/pep440.h"
#include "util/str.h"

#include <string.h>

struct cursor {
	const char *s;
	size_t n, i;
};

static int peek(const struct cursor *c)
{
	return c->i < c->n ? (unsigned char)c->s[c->i] : -1;
}

static bool is_sep(int ch)
{
	return ch == '-' || ch == '_' || ch == '.';
}

/* Match a case-insensitive word at the cursor; advance on success. */
static bool eat_word(struct cursor *c, const char *w)
{
	size_t l = strlen(w);
	if (c->n - c->i < l)
		return false;
	for (size_t k = 0; k < l; k++)
		if (em_lower((unsigned char)c->s[c->i + k]) != w[k])
			return false;
	c->i += l;
	return true;
}

/* Digits at the cursor: returns the count (0 when none). */
static size_t digits_at(const struct cursor *c)
{
	size_t k = c->i;
	while (k < c->n && em_is_digit((unsigned char)c->s[k]))
		k++;
	return k - c->i;
}

struct parsed {
	uint64_t epoch;
	uint64_t release[EM_VERSION_MAX_RELEASE];
	uint32_t nrelease;
	uint8_t pre_kind;
	bool has_post, has_dev;
	uint64_t pre, post, dev;
	uint32_t nlocal;
	struct {
		const char *s;
		size_t n;
	} local[EM_VERSION_MAX_LOCAL];
};

static int too_large(struct em_error *e, const char *s, size_t n)
{
	char q[96];
	return em_err(e, EM_ELIMIT, NULL, "invalid version '%s': a number is larger than 64 bits",
		      em_quote(q, sizeof q, s, n));
}

/* Optional number after a label; implicit 0. */
static int number_or_zero(struct cursor *c, uint64_t *out, bool *overflow)
{
	size_t d = digits_at(c);
	*out = 0;
	if (d) {
		if (!em_parse_u64(c->s + c->i, d, out))
			*overflow = true;
		c->i += d;
	}
	return 0;
}

static bool parse_pre(struct cursor *c, struct parsed *p, bool *overflow)
{
	size_t save = c->i;
	if (is_sep(peek(c)))
		c->i++;
	static const struct {
		const char *w;
		uint8_t kind;
	} labels[] = {
		/* in the pattern's order: longer spellings first */
		{ "alpha", EM_PRE_A }, { "a", EM_PRE_A },       { "beta", EM_PRE_B },
		{ "b", EM_PRE_B },     { "preview", EM_PRE_RC }, { "pre", EM_PRE_RC },
		{ "c", EM_PRE_RC },    { "rc", EM_PRE_RC },
	};
	for (size_t k = 0; k < sizeof labels / sizeof labels[0]; k++) {
		if (eat_word(c, labels[k].w)) {
			p->pre_kind = labels[k].kind;
			if (is_sep(peek(c)))
				c->i++;
			number_or_zero(c, &p->pre, overflow);
			return true;
		}
	}
	c->i = save;
	return false;
}

static bool parse_post(struct cursor *c, struct parsed *p, bool *overflow)
{
	size_t save = c->i;
	/* "-N" */
	if (peek(c) == '-') {
		c->i++;
		size_t d = digits_at(c);
		if (d) {
			if (!em_parse_u64(c->s + c->i, d, &p->post))
				*overflow = true;
			c->i += d;
			p->has_post = true;
			return true;
		}
		c->i = save;
	}
	if (is_sep(peek(c)))
		c->i++;
	if (eat_word(c, "post") || eat_word(c, "rev") || eat_word(c, "r")) {
		if (is_sep(peek(c)))
			c->i++;
		number_or_zero(c, &p->post, overflow);
		p->has_post = true;
		return true;
	}
	c->i = save;
	return false;
}

static bool parse_dev(struct cursor *c, struct parsed *p, bool *overflow)
{
	size_t save = c->i;
	if (is_sep(peek(c)))
		c->i++;
	if (eat_word(c, "dev")) {
		if (is_sep(peek(c)))
			c->i++;
		number_or_zero(c, &p->dev, overflow);
		p->has_dev = true;
		return true;
	}
	c->i = save;
	return false;
}

/* The grammar proper; returns false when s is not a version, with *why
 * set to a short reason. */
static bool parse_syntax(const char *s, size_t n, struct parsed *p, bool *overflow,
			 const char **why)
{
	struct cursor c = { s, n, 0 };
	p->epoch = 0;
	p->nrelease = 0;
	p->pre_kind = EM_PRE_NONE;
	p->has_post = p->has_dev = false;
	p->pre = p->post = p->dev = 0;
	p->nlocal = 0;

	if (peek(&c) == 'v' || peek(&c) == 'V')
		c.i++;
	size_t d = digits_at(&c);
	if (!d) {
		*why = "expected a release number";
		return false;
	}
	/* epoch */
	if (c.i + d < c.n && c.s[c.i + d] == '!') {
		if (!em_parse_u64(c.s + c.i, d, &p->epoch))
			*overflow = true;
		c.i += d + 1;
		d = digits_at(&c);
		if (!d) {
			*why = "expected a release number after the epoch";
			return false;
		}
	}
	/* release */
	for (;;) {
		if (p->nrelease >= EM_VERSION_MAX_RELEASE) {
			*why = "too many release segments";
			return false;
		}
		if (!em_parse_u64(c.s + c.i, d, &p->release[p->nrelease]))
			*overflow = true;
		p->nrelease++;
		c.i += d;
		if (peek(&c) == '.' && c.i + 1 < c.n && em_is_digit((unsigned char)c.s[c.i + 1])) {
			c.i++;
			d = digits_at(&c);
			continue;
		}
		break;
	}
	parse_pre(&c, p, overflow);
	parse_post(&c, p, overflow);
	parse_dev(&c, p, overflow);
	if (peek(&c) == '+') {
		c.i++;
		for (;;) {
			size_t start = c.i;
			while (c.i < c.n && em_is_alnum((unsigned char)c.s[c.i]))
				c.i++;
			if (c.i == start) {
				*why = "expected a local label after '+' or a separator";
				return false;
			}
			if (p->nlocal >= EM_VERSION_MAX_LOCAL) {
				*why = "too many local label segments";
				return false;
			}
			p->local[p->nlocal].s = c.s + start;
			p->local[p->nlocal].n = c.i - start;
			p->nlocal++;
			if (is_sep(peek(&c))) {
				c.i++;
				continue;
			}
			break;
		}
	}
	if (c.i != c.n) {
		*why = NULL;
		return false;
	}
	return true;
}

static size_t put_u64(char *out, uint64_t v)
{
	char tmp[24];
	size_t k = 0;
	do {
		tmp[k++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < k; i++)
		out[i] = tmp[k - 1 - i];
	return k;
}

int em_version_parse(struct em_arena *a, const char *s, size_t n,
		     struct em_version *out, struct em_error *e)
{
	char q[96];
	struct em_str t = em_str_strip(em_str_make(s, n));
	if (t.n == 0)
		return em_err(e, EM_EINVAL, NULL, "invalid version '%s': it is empty",
			      em_quote(q, sizeof q, s, n));
	if (t.n > EM_VERSION_MAX_LEN)
		return em_err(e, EM_ELIMIT, NULL, "invalid version '%s': longer than %d bytes",
			      em_quote(q, sizeof q, t.p, t.n), EM_VERSION_MAX_LEN);

	struct parsed p;
	bool overflow = false;
	const char *why = NULL;
	if (!parse_syntax(t.p, t.n, &p, &overflow, &why)) {
		int code = (why && strstr(why, "too many")) ? EM_ELIMIT : EM_EINVAL;
		if (why)
			return em_err(e, code, NULL, "invalid version '%s': %s",
				      em_quote(q, sizeof q, t.p, t.n), why);
		return em_err(e, code, NULL, "invalid version '%s'", em_quote(q, sizeof q, t.p, t.n));
	}
	if (overflow)
		return too_large(e, t.p, t.n);

	/* normalized text: at most the input plus a few implicit zeros and
	 * ".post" for "-N", and every number only shrinks */
	char norm[EM_VERSION_MAX_LEN * 2 + 64];
	size_t o = 0;
	if (p.epoch) {
		o += put_u64(norm + o, p.epoch);
		norm[o++] = '!';
	}
	for (uint32_t k = 0; k < p.nrelease; k++) {
		if (k)
			norm[o++] = '.';
		o += put_u64(norm + o, p.release[k]);
	}
	if (p.pre_kind) {
		static const char *const pre_txt[] = { "", "a", "b", "rc" };
		size_t l = strlen(pre_txt[p.pre_kind]);
		memcpy(norm + o, pre_txt[p.pre_kind], l);
		o += l;
		o += put_u64(norm + o, p.pre);
	}
	if (p.has_post) {
		memcpy(norm + o, ".post", 5);
		o += 5;
		o += put_u64(norm + o, p.post);
	}
	if (p.has_dev) {
		memcpy(norm + o, ".dev", 4);
		o += 4;
		o += put_u64(norm + o, p.dev);
	}
	size_t local_off[EM_VERSION_MAX_LOCAL];
	size_t local_len[EM_VERSION_MAX_LOCAL];
	bool local_num[EM_VERSION_MAX_LOCAL];
	for (uint32_t k = 0; k < p.nlocal; k++) {
		norm[o++] = k ? '.' : '+';
		const char *ls = p.local[k].s;
		size_t ln = p.local[k].n;
		bool numeric = true;
		for (size_t j = 0; j < ln; j++)
			if (!em_is_digit((unsigned char)ls[j]))
				numeric = false;
		if (numeric) {
			while (ln > 1 && ls[0] == '0') {
				ls++;
				ln--;
			}
		}
		local_off[k] = o;
		local_len[k] = ln;
		local_num[k] = numeric;
		for (size_t j = 0; j < ln; j++)
			norm[o++] = (char)em_lower((unsigned char)ls[j]);
	}

	/* the normalized text must parse again (lock files store it) */
	if (o > EM_VERSION_MAX_LEN)
		return em_err(e, EM_ELIMIT, NULL, "invalid version '%s': longer than %d bytes",
			      em_quote(q, sizeof q, t.p, t.n), EM_VERSION_MAX_LEN);
	char *str = em_arena_strndup(a, norm, o);
	uint64_t *rel = em_arena_array(a, p.nrelease, sizeof *rel);
	struct em_local_seg *loc = p.nlocal ? em_arena_array(a, p.nlocal, sizeof *loc) : NULL;
	if (!str || !rel || (p.nlocal && !loc))
		return em_err_nomem(e);
	memcpy(rel, p.release, p.nrelease * sizeof *rel);
	for (uint32_t k = 0; k < p.nlocal; k++) {
		loc[k].s = str + local_off[k];
		loc[k].len = (uint32_t)local_len[k];
		loc[k].numeric = local_num[k];
	}
	uint32_t trim = p.nrelease;
	while (trim > 1 && rel[trim - 1] == 0)
		trim--;

	out->epoch = p.epoch;
	out->release = rel;
	out->nrelease = p.nrelease;
	out->nrelease_trim = trim;
	out->pre_kind = p.pre_kind;
	out->has_post = p.has_post;
	out->has_dev = p.has_dev;
	out->pre = p.pre;
	out->post = p.post;
	out->dev = p.dev;
	out->nlocal = p.nlocal;
	out->local = loc;
	out->str = str;
	return 0;
}

static int cmp_u64(uint64_t x, uint64_t y)
{
	return x < y ? -1 : x > y;
}

static int cmp_release(const struct em_version *x, const struct em_version *y)
{
	uint32_t n = x->nrelease_trim > y->nrelease_trim ? x->nrelease_trim : y->nrelease_trim;
	for (uint32_t k = 0; k < n; k++) {
		uint64_t a = k < x->nrelease ? x->release[k] : 0;
		uint64_t b = k < y->nrelease ? y->release[k] : 0;
		if (a != b)
			return a < b ? -1 : 1;
	}
	return 0;
}

/* packaging's _cmpkey "pre" slot: a development release without pre or
 * post sorts before every pre-release; no pre-release sorts after them */
static int pre_class(const struct em_version *v)
{
	if (v->pre_kind == EM_PRE_NONE && !v->has_post && v->has_dev)
		return 0;
	if (v->pre_kind != EM_PRE_NONE)
		return 1;
	return 2;
}

static int cmp_public(const struct em_version *x, const struct em_version *y)
{
	int r = cmp_u64(x->epoch, y->epoch);
	if (r)
		return r;
	if ((r = cmp_release(x, y)))
		return r;
	int px = pre_class(x), py = pre_class(y);
	if (px != py)
		return px < py ? -1 : 1;
	if (px == 1) {
		if (x->pre_kind != y->pre_kind)
			return x->pre_kind < y->pre_kind ? -1 : 1;
		if ((r = cmp_u64(x->pre, y->pre)))
			return r;
	}
	if (x->has_post != y->has_post)
		return x->has_post ? 1 : -1;
	if (x->has_post && (r = cmp_u64(x->post, y->post)))
		return r;
	if (x->has_dev != y->has_dev)
		return x->has_dev ? -1 : 1;
	if (x->has_dev && (r = cmp_u64(x->dev, y->dev)))
		return r;
	return 0;
}

static int cmp_local_seg(const struct em_local_seg *a, const struct em_local_seg *b)
{
	if (a->numeric != b->numeric)
		return a->numeric ? 1 : -1;
	if (a->numeric) {
		if (a->len != b->len)
			return a->len < b->len ? -1 : 1;
		int r = memcmp(a->s, b->s, a->len);
		return r < 0 ? -1 : r > 0;
	}
	uint32_t m = a->len < b->len ? a->len : b->len;
	int r = memcmp(a->s, b->s, m);
	if (r)
		return r < 0 ? -1 : 1;
	return a->len < b->len ? -1 : a->len > b->len;
}

int em_version_cmp(const struct em_version *x, const struct em_version *y)
{
	int r = cmp_public(x, y);
	if (r)
		return r;
	/* no local label sorts before any */
	uint32_t m = x->nlocal < y->nlocal ? x->nlocal : y->nlocal;
	for (uint32_t k = 0; k < m; k++)
		if ((r = cmp_local_seg(&x->local[k], &y->local[k])))
			return r;
	return x->nlocal < y->nlocal ? -1 : x->nlocal > y->nlocal;
}

int em_version_format(const struct em_version *v, struct em_buf *b)
{
	return em_buf_addstr(b, v->str);
}

int em_version_format_public(const struct em_version *v, struct em_buf *b)
{
	const char *plus = strchr(v->str, '+');
	return em_buf_add(b, v->str, plus ? (size_t)(plus - v->str) : strlen(v->str));
}

int em_version_cmp_public(const struct em_version *x, const struct em_version *y)
{
	return cmp_public(x, y);
}
