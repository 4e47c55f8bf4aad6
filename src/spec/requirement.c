/* requirement.c - PEP 508 dependency specifiers ("name[extras] specs ; marker")
 *
 * The grammar is packaging's hand-written parser: a name, optional extras,
 * then either "@ URL" or a specifier list (optionally in parentheses), then
 * an optional "; marker". The specifier list is cut out with packaging's
 * SPECIFIER pattern, token by token, and the joined text is then read as a
 * specifier set, so leniencies and rejections match the reference.
 */
#include "spec/pep508.h"
#include "spec/name.h"
#include "util/str.h"

#include "spec/pep508_lex.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_sep(int c)
{
	return c == '-' || c == '_' || c == '.';
}

static bool is_ident_char(int c)
{
	return em_is_alnum(c) || is_sep(c);
}

/* IDENTIFIER = \b[a-zA-Z0-9][a-zA-Z0-9._-]*\b, with the regex's
 * backtracking: the longest run that ends on a word boundary. */
static size_t match_identifier(const struct p5_lex *l)
{
	size_t p = l->pos;
	if (p >= l->n || !em_is_alnum((unsigned char)l->s[p]) || !p5_boundary(l, p))
		return 0;
	size_t end = p + 1;
	while (end < l->n && is_ident_char((unsigned char)l->s[end]))
		end++;
	for (size_t e = end; e > p; e--)
		if (p5_boundary(l, e))
			return e - p;
	return 0;
}

/* ---- packaging's SPECIFIER pattern (case-insensitive) ---- */

static size_t skip_digits(const char *s, size_t n, size_t i)
{
	while (i < n && em_is_digit((unsigned char)s[i]))
		i++;
	return i;
}

/* \s* : Python's Unicode whitespace */
static size_t skip_space(const char *s, size_t n, size_t i)
{
	size_t k;
	while (i < n && (k = em_space_len(s + i, n - i)) != 0)
		i += k;
	return i;
}

static bool at_sep(const char *s, size_t n, size_t i)
{
	return i < n && is_sep((unsigned char)s[i]);
}

/* The first of the words (in order) that the text at i starts with,
 * ignoring ASCII case; returns the end, or 0. */
static size_t match_word(const char *s, size_t n, size_t i, const char *const *words)
{
	for (; *words; words++) {
		size_t wl = strlen(*words);
		if (n - i >= wl && em_str_ieq(s + i, wl, *words))
			return i + wl;
	}
	return 0;
}

/* [-_\.]? WORD [-_\.]? [0-9]* ; returns i when it does not match */
static size_t opt_segment(const char *s, size_t n, size_t i, const char *const *words)
{
	size_t k = 0;
	if (at_sep(s, n, i))
		k = match_word(s, n, i + 1, words);
	if (!k)
		k = i < n ? match_word(s, n, i, words) : 0;
	if (!k)
		return i;
	if (at_sep(s, n, k))
		k++;
	return skip_digits(s, n, k);
}

static const char *const pre_words[] = { "alpha", "beta", "preview", "pre", "a", "b", "c",
					  "rc", NULL };
static const char *const post_words[] = { "post", "rev", "r", NULL };
static const char *const dev_words[] = { "dev", NULL };

/* pre? post? dev? */
static size_t opt_suffixes(const char *s, size_t n, size_t i)
{
	i = opt_segment(s, n, i, pre_words);
	if (i + 1 < n && s[i] == '-' && em_is_digit((unsigned char)s[i + 1]))
		i = skip_digits(s, n, i + 1);
	else
		i = opt_segment(s, n, i, post_words);
	return opt_segment(s, n, i, dev_words);
}

/* \s* v? ([0-9]+!)? [0-9]+ (\.[0-9]+)* ; 0 when there is no release, else
 * the end; *parts counts the release components */
static size_t match_release(const char *s, size_t n, size_t i, unsigned *parts)
{
	i = skip_space(s, n, i);
	if (i < n && (s[i] | 0x20) == 'v')
		i++;
	size_t j = skip_digits(s, n, i);
	/* an epoch only when a release follows it (else the regex backtracks) */
	if (j > i && j + 1 < n && s[j] == '!' && em_is_digit((unsigned char)s[j + 1]))
		i = j + 1;
	j = skip_digits(s, n, i);
	if (j == i)
		return 0;
	*parts = 1;
	while (j + 1 < n && s[j] == '.' && em_is_digit((unsigned char)s[j + 1])) {
		j = skip_digits(s, n, j + 1);
		(*parts)++;
	}
	return j;
}

/* Length of the SPECIFIER token at i, or 0. */
static size_t match_specifier(const char *s, size_t n, size_t i)
{
	size_t start = i, rest = n - i;
	unsigned parts;
	if (rest >= 3 && !memcmp(s + i, "===", 3)) {
		/* === \s* [^\s;)]* */
		i = skip_space(s, n, i + 3);
		while (i < n && s[i] != ';' && s[i] != ')' && !em_space_len(s + i, n - i))
			i++;
		return i - start;
	}
	if (rest >= 2 && (!memcmp(s + i, "==", 2) || !memcmp(s + i, "!=", 2))) {
		size_t j = match_release(s, n, i + 2, &parts);
		if (!j)
			return 0;
		if (j + 1 < n && s[j] == '.' && s[j + 1] == '*')
			return j + 2 - start;
		j = opt_suffixes(s, n, j);
		/* local: \+[a-z0-9]+([-_\.][a-z0-9]+)* */
		if (j + 1 < n && s[j] == '+' && em_is_alnum((unsigned char)s[j + 1])) {
			j++;
			while (j < n && em_is_alnum((unsigned char)s[j]))
				j++;
			while (j + 1 < n && is_sep((unsigned char)s[j]) &&
			       em_is_alnum((unsigned char)s[j + 1])) {
				j++;
				while (j < n && em_is_alnum((unsigned char)s[j]))
					j++;
			}
		}
		return j - start;
	}
	if (rest >= 2 && !memcmp(s + i, "~=", 2)) {
		size_t j = match_release(s, n, i + 2, &parts);
		if (!j || parts < 2)
			return 0;
		return opt_suffixes(s, n, j) - start;
	}
	size_t ol = 0;
	if (rest >= 2 && (!memcmp(s + i, "<=", 2) || !memcmp(s + i, ">=", 2)))
		ol = 2;
	else if (rest >= 1 && (s[i] == '<' || s[i] == '>'))
		ol = 1;
	if (!ol)
		return 0;
	size_t j = match_release(s, n, i + ol, &parts);
	if (!j)
		return 0;
	return opt_suffixes(s, n, j) - start;
}

/* version_many = (SPECIFIER (WS? ',' WS? SPECIFIER)*)? ; the tokens and
 * commas, without the whitespace between them, go to text */
static int parse_version_many(struct p5_lex *l, char *text, size_t *tlen)
{
	size_t len;
	while ((len = match_specifier(l->s, l->n, l->pos)) != 0) {
		size_t start = l->pos;
		memcpy(text + *tlen, l->s + start, len);
		*tlen += len;
		p5_take(l, len);
		if (l->pos + 1 < l->n && l->s[l->pos] == '.' && l->s[l->pos + 1] == '*') {
			if (!memcmp(l->s + start, "==", 2) || !memcmp(l->s + start, "!=", 2))
				return em_p5_fail_at(l, start,
					"'.*' suffix cannot be used after pre-release, post-release, "
					"developmental release, or local version labels");
			return em_p5_fail_at(l, start,
					     "'.*' suffix can only be used with '==' or '!='");
		}
		if (l->pos + 1 < l->n && l->s[l->pos] == '+' &&
		    ((l->s[l->pos + 1] >= 'a' && l->s[l->pos + 1] <= 'z') ||
		     em_is_digit((unsigned char)l->s[l->pos + 1])))
			return em_p5_fail_at(l, start,
					     "local version label can only be used with '==' or '!='");
		p5_ws(l);
		if (!p5_peek(l, ','))
			break;
		text[(*tlen)++] = ',';
		p5_take(l, 1);
		p5_ws(l);
	}
	return 0;
}

/* ';' marker WS? */
static int parse_marker_part(struct p5_lex *l, const char *expected, struct em_requirement *out)
{
	if (!p5_peek(l, ';'))
		return em_p5_expected(l, expected);
	p5_take(l, 1);
	int rc = em_p5_parse_marker(l, &out->marker);
	if (rc)
		return rc;
	p5_ws(l);
	return 0;
}

struct extra_ref {
	const char *s;
	uint32_t idx;
};

static int cmp_extra_ref(const void *a, const void *b)
{
	const struct extra_ref *x = a, *y = b;
	int c = strcmp(x->s, y->s);
	if (c)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Drop repeated extras, keeping the first of each in place. */
static int dedup_extras(struct p5_lex *l, const char **ex, uint32_t *n)
{
	if (*n < 2)
		return 0;
	struct em_arena_mark mark = em_arena_mark(l->a);
	struct extra_ref *refs = em_arena_array(l->a, *n, sizeof *refs);
	bool *dup = em_arena_zalloc(l->a, *n);
	if (!refs || !dup)
		return em_err_nomem(l->e);
	for (uint32_t i = 0; i < *n; i++) {
		refs[i].s = ex[i];
		refs[i].idx = i;
	}
	qsort(refs, *n, sizeof *refs, cmp_extra_ref);
	for (uint32_t i = 1; i < *n; i++)
		if (!strcmp(refs[i].s, refs[i - 1].s))
			dup[refs[i].idx] = true;
	uint32_t k = 0;
	for (uint32_t i = 0; i < *n; i++)
		if (!dup[i])
			ex[k++] = ex[i];
	*n = k;
	em_arena_rewind(l->a, mark);
	return 0;
}

/* extras = '[' WS? (IDENTIFIER (WS? ',' WS? IDENTIFIER)*)? WS? ']' */
static int parse_extras(struct p5_lex *l, struct em_requirement *out)
{
	size_t open = l->pos;
	p5_take(l, 1);
	p5_ws(l);
	/* at most one extra per two bytes of what is left */
	size_t cap = (l->n - l->pos) / 2 + 1;
	const char **ex = em_arena_array(l->a, cap, sizeof *ex);
	if (!ex)
		return em_err_nomem(l->e);
	uint32_t n = 0;
	size_t len = match_identifier(l);
	if (len) {
		for (;;) {
			if (!(ex[n++] = em_arena_strndup(l->a, l->s + l->pos, len)))
				return em_err_nomem(l->e);
			p5_take(l, len);
			p5_ws(l);
			if (match_identifier(l))
				return em_p5_expected(l, "a comma between extra names");
			if (!p5_peek(l, ','))
				break;
			p5_take(l, 1);
			p5_ws(l);
			len = match_identifier(l);
			if (!len)
				return em_p5_expected(l, "an extra name");
		}
	}
	p5_ws(l);
	if (!p5_peek(l, ']'))
		return em_p5_fail_at(l, open, "expected ']' to close the '['");
	p5_take(l, 1);
	int rc = dedup_extras(l, ex, &n);
	if (rc)
		return rc;
	out->extras = ex;
	out->nextras = n;
	return 0;
}

static int parse_requirement(struct p5_lex *l, struct em_requirement *out)
{
	p5_ws(l);
	size_t len = match_identifier(l);
	if (!len)
		return em_p5_expected(l, "a package name at the start of the requirement");
	if (!(out->name = em_arena_strndup(l->a, l->s + l->pos, len)))
		return em_err_nomem(l->e);
	p5_take(l, len);
	p5_ws(l);
	int rc;
	if (p5_peek(l, '[') && (rc = parse_extras(l, out)) != 0)
		return rc;
	p5_ws(l);

	if (p5_peek(l, '@')) {
		p5_take(l, 1);
		p5_ws(l);
		size_t end = l->pos;
		while (end < l->n && l->s[end] != ' ' && l->s[end] != '\t')
			end++;
		if (end == l->pos)
			return em_p5_expected(l, "a URL");
		if (!(out->url = em_arena_strndup(l->a, l->s + l->pos, end - l->pos)))
			return em_err_nomem(l->e);
		p5_take(l, end - l->pos);
		if (p5_at_end(l))
			return 0;
		p5_ws(l);
		if (p5_at_end(l))
			return 0;
		rc = parse_marker_part(l, "';' (after the URL and whitespace) or the end", out);
		if (rc)
			return rc;
	} else {
		size_t open = SIZE_MAX;
		if (p5_peek(l, '(')) {
			open = l->pos;
			p5_take(l, 1);
		}
		p5_ws(l);
		char *text = em_arena_alloc(l->a, l->n - l->pos + 1);
		if (!text)
			return em_err_nomem(l->e);
		size_t tlen = 0;
		rc = parse_version_many(l, text, &tlen);
		if (rc)
			return rc;
		text[tlen] = '\0';
		p5_ws(l);
		if (open != SIZE_MAX) {
			if (!p5_peek(l, ')'))
				return em_p5_fail_at(l, open, "expected ')' to close the '('");
			p5_take(l, 1);
		}
		if (tlen) {
			struct em_error se;
			em_error_clear(&se);
			rc = em_specset_parse(l->a, text, tlen, &out->spec, &se);
			if (rc) {
				char in[200];
				em_quote(in, sizeof in, l->s, l->n);
				return em_err(l->e, rc, NULL, "%s in requirement '%s'",
					      se.msg[0] ? se.msg : em_strerror(rc), in);
			}
		}
		p5_ws(l);
		if (p5_at_end(l))
			return 0;
		rc = parse_marker_part(l, tlen ? "',' (within the version specifier), ';' "
						 "(after it) or the end"
					       : "a version specifier, ';' or the end", out);
		if (rc)
			return rc;
	}
	if (!p5_at_end(l))
		return em_p5_expected(l, "the end of the requirement");
	return 0;
}

int em_requirement_parse(struct em_arena *a, const char *s, size_t n,
			 struct em_requirement *out, struct em_error *e)
{
	memset(out, 0, sizeof *out);
	struct p5_lex l;
	int rc = em_p5_start(&l, a, s, n, "requirement", e);
	if (rc)
		return rc;
	struct em_arena_mark mark = em_arena_mark(a);
	rc = parse_requirement(&l, out);
	if (rc) {
		em_arena_rewind(a, mark);
		memset(out, 0, sizeof *out);
	}
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int em_requirement_format(const struct em_requirement *r, struct em_buf *b)
{
	em_buf_addstr(b, r->name);
	if (r->nextras) {
		const char **sorted = malloc(r->nextras * sizeof *sorted);
		if (!sorted)
			return b->err = EM_ENOMEM;
		memcpy(sorted, r->extras, r->nextras * sizeof *sorted);
		qsort(sorted, r->nextras, sizeof *sorted, cmp_str);
		em_buf_addc(b, '[');
		for (uint32_t i = 0; i < r->nextras; i++) {
			if (i)
				em_buf_addc(b, ',');
			em_buf_addstr(b, sorted[i]);
		}
		em_buf_addc(b, ']');
		free(sorted);
	}
	if (r->spec.n)
		em_specset_format(&r->spec, b);
	if (r->url) {
		em_buf_addstr(b, " @ ");
		em_buf_addstr(b, r->url);
		if (r->marker)
			em_buf_addc(b, ' ');
	}
	if (r->marker) {
		em_buf_addstr(b, "; ");
		int rc = em_marker_format(r->marker, b);
		if (rc)
			return rc;
	}
	return b->err;
}

int em_requirement_applies(const struct em_requirement *r, const struct em_marker_env *env,
			   const char *extra, bool *result, struct em_error *e)
{
	if (!r->marker) {
		*result = true;
		return 0;
	}
	struct em_marker_env local = *env;
	local.var[EM_MV_EXTRA] = extra ? extra : "";
	return em_marker_eval(r->marker, &local, result, e);
}
