/* specifier.c - PEP 440 version specifiers and specifier sets
 *
 * Matching follows pypa/packaging 26.x's range model. With V the
 * specifier's version and v the candidate:
 *
 *   >=V    v >= V
 *   <=V    v <= V, or v is V with a local label
 *   ==V    v is V, with any local label (==V+l: exactly V+l)
 *   !=V    not ==V
 *   >V     v > V, except V's local and post releases (V+l, V.postN...)
 *   <V     v < V.dev0 when V is a final or post release (so V's own
 *          pre-releases are out), v < V when V is a pre-release
 *   ~=V    v >= V and v < (V's release without its last part, bumped).dev0
 *   ==V.*  v >= V.dev0 and v < (V bumped in its last part).dev0
 *   !=V.*  not ==V.*
 *   ===S   the candidate's text equals S, case-insensitively
 *
 * Pre-release policy is separate (see pep440.h): contains() on one version
 * takes it as it is, filter() over candidates applies the installer's rule.
 */
#include "spec/pep440.h"
#include "util/str.h"

#include <stdio.h>
#include <string.h>

/* ---- parsing ---- */

static const char *const op_text[] = {
	[EM_OP_COMPATIBLE] = "~=", [EM_OP_EQ] = "==", [EM_OP_NE] = "!=", [EM_OP_LE] = "<=",
	[EM_OP_GE] = ">=",         [EM_OP_LT] = "<",  [EM_OP_GT] = ">",  [EM_OP_ARBITRARY] = "===",
};

const char *em_spec_op_str(enum em_spec_op op)
{
	return op_text[op];
}

/* v? (N!)? N(.N)*  - what may stand before ".*" */
/* Where the run of ASCII digits at s[i] ends. */
static size_t digits_end(const char *s, size_t n, size_t i)
{
	while (i < n && em_is_digit((unsigned char)s[i]))
		i++;
	return i;
}

static bool is_wildcard_prefix(const char *s, size_t n)
{
	size_t i = 0;
	if (i < n && (s[i] == 'v' || s[i] == 'V'))
		i++;
	size_t d = digits_end(s, n, i);
	if (d == i)
		return false;
	if (d < n && s[d] == '!') {
		i = d + 1;
		d = digits_end(s, n, i);
		if (d == i)
			return false;
	}
	i = d;
	while (i < n) {
		if (s[i] != '.')
			return false;
		i++;
		d = digits_end(s, n, i);
		if (d == i)
			return false;
		i = d;
	}
	return true;
}

static int spec_error(struct em_error *e, int code, const char *s, size_t n, const char *why)
{
	char q[160];
	char w[EM_ERROR_MSG_MAX];
	snprintf(w, sizeof w, "%s", why); /* why may live in e->msg */
	return em_err(e, code, NULL, "invalid specifier '%s': %s", em_quote(q, sizeof q, s, n), w);
}

int em_spec_parse(struct em_arena *a, const char *s, size_t n, struct em_spec *out,
		  struct em_error *e)
{
	struct em_str t = em_str_strip(em_str_make(s, n));
	if (t.n == 0)
		return spec_error(e, EM_EINVAL, s, n, "it is empty");
	if (t.n > EM_SPECSET_MAX_LEN)
		return spec_error(e, EM_ELIMIT, t.p, t.n, "too long");

	/* longest operators first, so "===" is not read as "==" */
	static const enum em_spec_op by_length[] = {
		EM_OP_ARBITRARY, EM_OP_COMPATIBLE, EM_OP_EQ, EM_OP_NE,
		EM_OP_LE,        EM_OP_GE,         EM_OP_LT, EM_OP_GT,
	};
	enum em_spec_op op = EM_OP_EQ;
	size_t oplen = 0;
	for (size_t k = 0; k < sizeof by_length / sizeof by_length[0] && !oplen; k++) {
		size_t l = strlen(op_text[by_length[k]]);
		if (t.n >= l && !memcmp(t.p, op_text[by_length[k]], l)) {
			op = by_length[k];
			oplen = l;
		}
	}
	if (!oplen)
		return spec_error(e, EM_EINVAL, t.p, t.n,
				  "expected an operator (==, !=, <=, >=, <, >, ~= or ===)");
	struct em_str v = em_str_strip(em_str_make(t.p + oplen, t.n - oplen));
	if (v.n == 0)
		return spec_error(e, EM_EINVAL, t.p, t.n, "missing version after the operator");

	memset(out, 0, sizeof *out);
	out->op = op;
	if (op == EM_OP_ARBITRARY) {
		for (size_t i = 0; i < v.n; i++) {
			if (v.p[i] == ';' || v.p[i] == ')' || em_space_len(v.p + i, v.n - i))
				return spec_error(e, EM_EINVAL, t.p, t.n,
						  "an arbitrary (===) version cannot contain "
						  "whitespace, ';' or ')'");
		}
	} else if (v.n >= 2 && v.p[v.n - 2] == '.' && v.p[v.n - 1] == '*') {
		if (op != EM_OP_EQ && op != EM_OP_NE)
			return spec_error(e, EM_EINVAL, t.p, t.n,
					  "a '.*' wildcard is only allowed with == and !=");
		if (!is_wildcard_prefix(v.p, v.n - 2))
			return spec_error(e, EM_EINVAL, t.p, t.n,
					  "a '.*' wildcard can only follow release numbers");
		int rc = em_version_parse(a, v.p, v.n - 2, &out->v, e);
		if (rc)
			return spec_error(e, rc, t.p, t.n, e ? e->msg : "");
		out->wildcard = true;
	} else {
		int rc = em_version_parse(a, v.p, v.n, &out->v, e);
		if (rc)
			return spec_error(e, rc, t.p, t.n, e ? e->msg : "");
		/* em_version_parse strips; inner text must be the version alone */
		if (em_str_strip(v).n != v.n)
			return spec_error(e, EM_EINVAL, t.p, t.n, "unexpected whitespace");
		out->has_local = out->v.nlocal > 0;
		if (out->has_local && op != EM_OP_EQ && op != EM_OP_NE)
			return spec_error(e, EM_EINVAL, t.p, t.n,
					  "a local version (+label) is only allowed with == and !=");
		if (op == EM_OP_COMPATIBLE && out->v.nrelease < 2)
			return spec_error(e, EM_EINVAL, t.p, t.n,
					  "~= needs a version with at least two release numbers");
	}
	out->text = em_arena_strndup(a, v.p, v.n);
	if (!out->text)
		return em_err_nomem(e);
	out->textlen = (uint32_t)v.n;
	return 0;
}

int em_specset_parse(struct em_arena *a, const char *s, size_t n, struct em_specset *out,
		     struct em_error *e)
{
	char q[160];
	memset(out, 0, sizeof *out);
	if (n > EM_SPECSET_MAX_LEN)
		return em_err(e, EM_ELIMIT, NULL, "invalid specifier set '%s': longer than %d bytes",
			      em_quote(q, sizeof q, s, n), EM_SPECSET_MAX_LEN);
	size_t count = 0;
	for (size_t i = 0; i < n; i++)
		count += s[i] == ',';
	if (count + 1 > EM_SPECSET_MAX_ITEMS)
		return em_err(e, EM_ELIMIT, NULL, "invalid specifier set '%s': more than %d items",
			      em_quote(q, sizeof q, s, n), EM_SPECSET_MAX_ITEMS);
	struct em_spec *specs = em_arena_array(a, count + 1, sizeof *specs);
	if (!specs)
		return em_err_nomem(e);
	size_t start = 0;
	uint32_t k = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != ',')
			continue;
		struct em_str item = em_str_strip(em_str_make(s + start, i - start));
		start = i + 1;
		if (item.n == 0)
			continue; /* packaging ignores empty items ("==1.0 ,") */
		int rc = em_spec_parse(a, item.p, item.n, &specs[k], e);
		if (rc)
			return rc;
		if (specs[k].op == EM_OP_ARBITRARY)
			out->has_arbitrary = true;
		k++;
	}
	out->n = k;
	out->specs = specs;
	return 0;
}

/* ---- matching ---- */

/* A bound made from a specifier's version: epoch and the first nrel
 * release numbers (the last one plus bump), as ".dev0". */
struct bound {
	struct em_version v;
	uint64_t rel[EM_VERSION_MAX_RELEASE];
	bool infinite; /* bumping overflowed: no upper limit */
};

static void make_dev0(const struct em_version *V, uint32_t nrel, int bump, struct bound *b)
{
	memset(&b->v, 0, sizeof b->v);
	b->infinite = false;
	for (uint32_t k = 0; k < nrel; k++)
		b->rel[k] = V->release[k];
	if (bump) {
		if (b->rel[nrel - 1] == UINT64_MAX)
			b->infinite = true;
		else
			b->rel[nrel - 1]++;
	}
	uint32_t trim = nrel;
	while (trim > 1 && b->rel[trim - 1] == 0)
		trim--;
	b->v.epoch = V->epoch;
	b->v.release = b->rel;
	b->v.nrelease = nrel;
	b->v.nrelease_trim = trim;
	b->v.has_dev = true;
	b->v.dev = 0;
}

static bool same_release(const struct em_version *x, const struct em_version *y)
{
	if (x->epoch != y->epoch || x->nrelease_trim != y->nrelease_trim)
		return false;
	return !memcmp(x->release, y->release, x->nrelease_trim * sizeof *x->release);
}

/* >V excludes V's post releases and V+local: same epoch, release and
 * pre-release, and either no dev part (V itself with a label) or a post. */
static bool in_post_family(const struct em_version *v, const struct em_version *V)
{
	if (!same_release(v, V) || v->pre_kind != V->pre_kind || v->pre != V->pre)
		return false;
	return !v->has_dev || v->has_post;
}

static bool match_eq(const struct em_spec *sp, const struct em_version *v)
{
	const struct em_version *V = &sp->v;
	if (sp->wildcard) {
		struct bound lo, hi;
		make_dev0(V, V->nrelease, 0, &lo);
		make_dev0(V, V->nrelease, 1, &hi);
		if (em_version_cmp(v, &lo.v) < 0)
			return false;
		return hi.infinite || em_version_cmp(v, &hi.v) < 0;
	}
	if (sp->has_local)
		return em_version_cmp(v, V) == 0;
	return em_version_cmp_public(v, V) == 0;
}

bool em_spec_match(const struct em_spec *sp, const struct em_version *v)
{
	const struct em_version *V = &sp->v;
	switch (sp->op) {
	case EM_OP_GE:
		return em_version_cmp(v, V) >= 0;
	case EM_OP_LE:
		return em_version_cmp(v, V) <= 0 || em_version_cmp_public(v, V) == 0;
	case EM_OP_EQ:
		return match_eq(sp, v);
	case EM_OP_NE:
		return !match_eq(sp, v);
	case EM_OP_GT:
		if (em_version_cmp(v, V) <= 0)
			return false;
		if (V->has_dev || V->has_post)
			return em_version_cmp_public(v, V) != 0;
		return !in_post_family(v, V);
	case EM_OP_LT:
		if (em_version_is_prerelease(V))
			return em_version_cmp(v, V) < 0;
		else {
			struct em_version b = *V;
			b.has_dev = true;
			b.dev = 0;
			b.nlocal = 0;
			return em_version_cmp(v, &b) < 0;
		}
	case EM_OP_COMPATIBLE: {
		if (em_version_cmp(v, V) < 0)
			return false;
		struct bound hi;
		make_dev0(V, V->nrelease - 1, 1, &hi);
		return hi.infinite || em_version_cmp(v, &hi.v) < 0;
	}
	case EM_OP_ARBITRARY:
		return em_spec_match_text(sp, v->str, strlen(v->str));
	}
	return false;
}

bool em_spec_match_text(const struct em_spec *sp, const char *s, size_t n)
{
	return em_str_ieq(s, n, sp->text) && sp->textlen == n;
}

/* Parse a version for matching into a stack arena; NULL when invalid. */
static const struct em_version *scratch_version(struct em_arena *a, const char *s, size_t n,
						struct em_version *v)
{
	if (em_version_parse(a, s, n, v, NULL))
		return NULL;
	return v;
}

static bool spec_names_prerelease(const struct em_spec *sp)
{
	if (sp->op == EM_OP_NE)
		return false;
	if (sp->op == EM_OP_EQ && sp->wildcard)
		return false;
	if (sp->op == EM_OP_ARBITRARY) {
		char mem[1024];
		struct em_arena a;
		em_arena_init_buf(&a, mem, sizeof mem);
		struct em_version v;
		bool pre = scratch_version(&a, sp->text, sp->textlen, &v) &&
			   em_version_is_prerelease(&v);
		em_arena_release(&a);
		return pre;
	}
	return em_version_is_prerelease(&sp->v);
}

bool em_specset_names_prerelease(const struct em_specset *set)
{
	for (uint32_t k = 0; k < set->n; k++)
		if (spec_names_prerelease(&set->specs[k]))
			return true;
	return false;
}

bool em_specset_contains(const struct em_specset *set, const char *raw, size_t rawlen,
			 const struct em_version *v, enum em_pre_mode mode)
{
	if (mode == EM_PRE_DENY && v && em_version_is_prerelease(v))
		return false;
	for (uint32_t k = 0; k < set->n; k++) {
		const struct em_spec *sp = &set->specs[k];
		if (sp->op == EM_OP_ARBITRARY) {
			if (raw ? !em_spec_match_text(sp, raw, rawlen)
				: !(v && em_spec_match_text(sp, v->str, strlen(v->str))))
				return false;
		} else if (!v || !em_spec_match(sp, v)) {
			return false;
		}
	}
	return true;
}

bool em_specset_contains_str(const struct em_specset *set, const char *s, size_t n,
			     enum em_pre_mode mode)
{
	char mem[2048];
	struct em_arena a;
	em_arena_init_buf(&a, mem, sizeof mem);
	struct em_version v;
	const struct em_version *pv = scratch_version(&a, s, n, &v);
	bool r = em_specset_contains(set, s, n, pv, mode);
	em_arena_release(&a);
	return r;
}

size_t em_specset_filter(const struct em_specset *set, const struct em_version *const *vs,
			 size_t n, enum em_pre_mode mode, bool *keep)
{
	bool allow_pre = mode == EM_PRE_ALLOW ||
			 (mode == EM_PRE_DEFAULT && em_specset_names_prerelease(set));
	size_t finals = 0, pres = 0;
	for (size_t i = 0; i < n; i++) {
		bool m = em_specset_contains(set, NULL, 0, vs[i], EM_PRE_ALLOW);
		bool pre = em_version_is_prerelease(vs[i]);
		if (m && pre && mode == EM_PRE_DENY)
			m = false;
		keep[i] = m;
		if (m)
			pre ? pres++ : finals++;
	}
	if (allow_pre || mode == EM_PRE_DENY)
		return finals + pres;
	/* the default: pre-releases only when no final release matches */
	if (finals == 0)
		return pres;
	for (size_t i = 0; i < n; i++)
		if (keep[i] && em_version_is_prerelease(vs[i]))
			keep[i] = false;
	return finals;
}

/* ---- formatting ---- */

int em_spec_format(const struct em_spec *sp, struct em_buf *b)
{
	em_buf_addstr(b, op_text[sp->op]);
	return em_buf_add(b, sp->text, sp->textlen);
}

/* Byte at i of the text op + version (UTF-8 byte order is code point
 * order, so this sorts as Python sorts str). */
static unsigned char spec_text_at(const struct em_spec *sp, size_t oplen, size_t i)
{
	return (unsigned char)(i < oplen ? op_text[sp->op][i] : sp->text[i - oplen]);
}

static int cmp_spec_text(const struct em_spec *x, const struct em_spec *y)
{
	size_t xl = strlen(op_text[x->op]), yl = strlen(op_text[y->op]);
	size_t xn = xl + x->textlen, yn = yl + y->textlen;
	size_t m = xn < yn ? xn : yn;
	for (size_t i = 0; i < m; i++) {
		unsigned char cx = spec_text_at(x, xl, i), cy = spec_text_at(y, yl, i);
		if (cx != cy)
			return cx < cy ? -1 : 1;
	}
	return xn < yn ? -1 : xn > yn;
}

/* packaging's Specifier equality: same operator and same canonical version
 * (trailing zeros ignored except for ~=; === and wildcards compare text) */
static bool spec_equal(const struct em_spec *x, const struct em_spec *y)
{
	if (x->op != y->op || x->wildcard != y->wildcard)
		return false;
	if (x->op == EM_OP_ARBITRARY || x->wildcard)
		return x->textlen == y->textlen && !memcmp(x->text, y->text, x->textlen);
	if (x->op == EM_OP_COMPATIBLE)
		return !strcmp(x->v.str, y->v.str);
	return em_version_cmp(&x->v, &y->v) == 0;
}

int em_specset_format(const struct em_specset *set, struct em_buf *b)
{
	if (set->n == 0)
		return b->err;
	const struct em_spec *sorted[EM_SPECSET_MAX_ITEMS];
	uint32_t n = set->n;
	for (uint32_t k = 0; k < n; k++)
		sorted[k] = &set->specs[k];
	/* insertion sort: stable, and sets are small */
	for (uint32_t k = 1; k < n; k++) {
		const struct em_spec *x = sorted[k];
		uint32_t j = k;
		while (j > 0 && cmp_spec_text(sorted[j - 1], x) > 0) {
			sorted[j] = sorted[j - 1];
			j--;
		}
		sorted[j] = x;
	}
	bool first = true;
	for (uint32_t k = 0; k < n; k++) {
		bool dup = false;
		for (uint32_t j = 0; j < k && !dup; j++)
			dup = spec_equal(sorted[j], sorted[k]);
		if (dup)
			continue;
		if (!first)
			em_buf_addc(b, ',');
		first = false;
		em_spec_format(sorted[k], b);
	}
	return b->err;
}
