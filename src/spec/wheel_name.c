/* wheel_name.c - wheel file names (PEP 427 / the binary distribution format)
 *
 * Follows pypa/packaging 26.x parse_wheel_filename() with its default
 * validate_order=False:
 *   NAME-VERSION[-BUILD]-PY-ABI-PLATFORM.whl  (exactly 4 or 5 dashes)
 *   NAME      one or more of \w (Unicode letters and numbers, '_') and '.',
 *             without "__"; reported in its PEP 503 form
 *   VERSION   a PEP 440 version (normalized)
 *   BUILD     ASCII digits then anything (up to a newline, as the regex
 *             "(\d+)(.*)" takes it): "007_final" is (7, "_final")
 *   tags      each of PY, ABI, PLATFORM is a '.'-separated set of non-empty
 *             parts (a compressed tag set, in any order); every PY part is a
 *             Python identifier; all parts are lower-cased
 * Beyond packaging, hostile input is bounded: the name may not exceed
 * EM_WHEEL_NAME_MAX_LEN bytes, contain NUL or be invalid UTF-8, and the
 * tag set may not expand to more than EM_WHEEL_MAX_TAGS tags. Non-ASCII
 * interpreter parts are checked as \w rather than as identifiers (XID).
 */
#include "spec/name.h"
#include "util/str.h"
#include "spec/tags.h"

#include <stdlib.h>
#include <string.h>

#include "spec/wheel_ucd.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Python's c.isalnum() for one character */
static bool is_alnum_cp(uint32_t cp)
{
	if (cp < 0x80)
		return em_is_alnum((int)cp);
	size_t lo = 0, hi = COUNT(word_ranges);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cp < word_ranges[mid][0])
			hi = mid;
		else if (cp > word_ranges[mid][1])
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

/* A letter, roughly Unicode's "cased": \w other than ASCII digits and '_'. */
static bool is_cased_cp(uint32_t cp)
{
	return cp >= 0x80 ? is_alnum_cp(cp) : em_is_alpha((int)cp);
}

/* Python's Final_Sigma condition for the character at s[start..end): a
 * cased letter before it and none after it (approximated: case-ignorable
 * characters are not skipped). */
static bool ends_word(const char *s, size_t start, size_t end, size_t n)
{
	if (start == 0)
		return false;
	size_t p = start - 1;
	while (p > 0 && ((unsigned char)s[p] & 0xc0) == 0x80)
		p--;
	/* s is valid UTF-8, so both decode; were one not to, its code point
	 * would stay 0, which is not cased */
	uint32_t before = 0, after = 0;
	(void)em_utf8_decode(s + p, n - p, &before);
	if (!is_cased_cp(before))
		return false;
	if (end == n)
		return true;
	(void)em_utf8_decode(s + end, n - end, &after);
	return !is_cased_cp(after);
}

/* Python's str.lower() of s[0..n) (valid UTF-8) into an arena string. */
static char *lower_dup(struct em_arena *a, const char *s, size_t n)
{
	char *out = em_arena_alloc(a, 2 * n + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		uint32_t cp = 0xfffd;
		size_t start = i;
		size_t len = em_utf8_decode(s + i, n - i, &cp);
		i += len ? len : 1; /* the input was validated; never stall */
		if (cp < 0x80) {
			out[o++] = (char)em_lower((int)cp);
			continue;
		}
		if (cp == 0x130) { /* 'İ' lowers to "i" + U+0307 */
			out[o++] = 'i';
			o += em_utf8_encode(out + o, 0x307);
			continue;
		}
		if (cp == 0x3a3) { /* 'Σ' ends a word as 'ς' */
			o += em_utf8_encode(out + o, ends_word(s, start, i, n) ? 0x3c2 : 0x3c3);
			continue;
		}
		for (size_t k = 0; k < COUNT(lower_ranges); k++) {
			const struct lower_range *r = &lower_ranges[k];
			if (cp >= r->lo && cp <= r->hi && (cp - r->lo) % r->stride == 0) {
				cp = (uint32_t)((int32_t)cp + r->delta);
				break;
			}
		}
		o += em_utf8_encode(out + o, cp);
	}
	out[o] = '\0';
	return out;
}

/* "^[\w._]+\Z" without "__" */
static bool name_part_valid(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n;) {
		uint32_t cp = 0xfffd;
		size_t len = em_utf8_decode(s + i, n - i, &cp);
		if (cp == '_' && i + 1 < n && s[i + 1] == '_')
			return false;
		if (!len || (cp != '_' && cp != '.' && !is_alnum_cp(cp)))
			return false;
		i += len;
	}
	return true;
}

/* str.isidentifier(), with \w standing in for XID_Continue above ASCII */
static bool is_identifier(const char *s, size_t n)
{
	if (n == 0 || em_is_digit((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < n;) {
		uint32_t cp = 0xfffd;
		size_t len = em_utf8_decode(s + i, n - i, &cp);
		if (!len || (cp != '_' && !is_alnum_cp(cp)))
			return false;
		i += len;
	}
	return true;
}

/* PEP 503 form of an already lower-cased name */
static void collapse_separators(char *s)
{
	size_t o = 0;
	for (size_t i = 0; s[i];) {
		if (s[i] == '-' || s[i] == '_' || s[i] == '.') {
			while (s[i] == '-' || s[i] == '_' || s[i] == '.')
				i++;
			s[o++] = '-';
		} else {
			s[o++] = s[i++];
		}
	}
	s[o] = '\0';
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

struct parse_ctx {
	struct em_arena *a;
	struct em_error *e;
	char quoted[160];
};

static int bad(struct parse_ctx *c, const char *why)
{
	return em_err(c->e, EM_EINVAL, NULL, "invalid wheel file name '%s': %s", c->quoted, why);
}

/* One '.'-separated component of the tag triple. */
static int split_component(struct parse_ctx *c, const char *s, size_t n, bool interp,
			   const char ***out, uint32_t *count)
{
	size_t parts = 1;
	for (size_t i = 0; i < n; i++)
		parts += s[i] == '.';
	const char **v = em_arena_array(c->a, parts, sizeof *v);
	if (!v)
		return em_err_nomem(c->e);
	size_t k = 0, start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '.')
			continue;
		size_t len = i - start;
		if (len == 0)
			return bad(c, "a tag has an empty part");
		if (interp && !is_identifier(s + start, len))
			return bad(c, "a Python tag must be an identifier");
		if (!(v[k++] = lower_dup(c->a, s + start, len)))
			return em_err_nomem(c->e);
		start = i + 1;
	}
	*out = v;
	*count = (uint32_t)parts;
	return 0;
}

int em_wheel_name_parse(struct em_arena *a, const char *s, size_t n, struct em_wheel_name *out,
			struct em_error *e)
{
	struct parse_ctx c = { a, e, "" };
	em_quote(c.quoted, sizeof c.quoted, s, n);
	if (n > EM_WHEEL_NAME_MAX_LEN)
		return em_err(e, EM_ELIMIT, NULL, "wheel file name '%s' is longer than %d bytes",
			      c.quoted, EM_WHEEL_NAME_MAX_LEN);
	if (n == 0)
		return bad(&c, "the extension must be '.whl'");
	if (memchr(s, '\0', n) || !em_utf8_valid(s, n))
		return bad(&c, "it holds a NUL byte or invalid UTF-8");
	if (n < 4 || memcmp(s + n - 4, ".whl", 4))
		return bad(&c, "the extension must be '.whl'");
	size_t stem = n - 4;
	size_t dash[5], nd = 0;
	for (size_t i = 0; i < stem; i++)
		if (s[i] == '-') {
			if (nd == 5)
				return bad(&c, "wrong number of parts");
			dash[nd++] = i;
		}
	if (nd < 4)
		return bad(&c, "wrong number of parts");

	struct em_wheel_name w;
	memset(&w, 0, sizeof w);
	/* name */
	if (!name_part_valid(s, dash[0]))
		return bad(&c, "invalid project name");
	w.name_raw = em_arena_strndup(a, s, dash[0]);
	char *canon = lower_dup(a, s, dash[0]);
	if (!w.name_raw || !canon)
		return em_err_nomem(e);
	collapse_separators(canon);
	w.name = canon;

	/* version */
	const char *vs = s + dash[0] + 1;
	size_t vn = dash[1] - dash[0] - 1;
	struct em_error verr;
	em_error_clear(&verr);
	int rc = em_version_parse(a, vs, vn, &w.version, &verr);
	if (rc == EM_ENOMEM)
		return em_err_nomem(e);
	if (rc) {
		char qv[96];
		em_quote(qv, sizeof qv, vs, vn);
		return em_err(e, EM_EINVAL, NULL, "invalid wheel file name '%s': invalid version '%s'",
			      c.quoted, qv);
	}

	/* build tag */
	size_t tag_start = dash[1] + 1;
	if (nd == 5) {
		const char *bs = s + dash[1] + 1;
		size_t bn = dash[2] - dash[1] - 1, digits = 0;
		while (digits < bn && em_is_digit((unsigned char)bs[digits]))
			digits++;
		if (digits == 0)
			return bad(&c, "the build tag must start with a digit");
		size_t skip = 0; /* leading zeros, so any number of them fits */
		while (skip + 1 < digits && bs[skip] == '0')
			skip++;
		if (!em_parse_u64(bs + skip, digits - skip, &w.build_num))
			return em_err(e, EM_ELIMIT, NULL,
				      "invalid wheel file name '%s': the build number is too large",
				      c.quoted);
		/* '.' in the regex stops at a newline */
		const char *nl = memchr(bs + digits, '\n', bn - digits);
		size_t sn = nl ? (size_t)(nl - (bs + digits)) : bn - digits;
		if (!(w.build_suffix = em_arena_strndup(a, bs + digits, sn)))
			return em_err_nomem(e);
		w.has_build = true;
		tag_start = dash[2] + 1;
	} else {
		w.build_suffix = "";
	}

	/* tags: the last three dash-separated fields */
	size_t d1 = dash[nd - 2], d2 = dash[nd - 1];
	rc = split_component(&c, s + tag_start, d1 - tag_start, true, &w.py, &w.npy);
	if (!rc)
		rc = split_component(&c, s + d1 + 1, d2 - d1 - 1, false, &w.abi, &w.nabi);
	if (!rc)
		rc = split_component(&c, s + d2 + 1, stem - d2 - 1, false, &w.plat, &w.nplat);
	if (rc)
		return rc;
	uint64_t total = (uint64_t)w.npy * w.nabi * w.nplat;
	if (total > EM_WHEEL_MAX_TAGS)
		return em_err(e, EM_ELIMIT, NULL,
			      "invalid wheel file name '%s': the tag set expands to more than %d tags",
			      c.quoted, EM_WHEEL_MAX_TAGS);
	const char **tags = em_arena_array(a, (size_t)total, sizeof *tags);
	if (!tags)
		return em_err_nomem(e);
	size_t nt = 0;
	for (uint32_t i = 0; i < w.npy; i++)
		for (uint32_t j = 0; j < w.nabi; j++)
			for (uint32_t k = 0; k < w.nplat; k++) {
				tags[nt] = em_arena_printf(a, "%s-%s-%s", w.py[i], w.abi[j], w.plat[k]);
				if (!tags[nt++])
					return em_err_nomem(e);
			}
	qsort(tags, nt, sizeof *tags, cmp_str);
	size_t u = 0;
	for (size_t i = 0; i < nt; i++)
		if (u == 0 || strcmp(tags[u - 1], tags[i]))
			tags[u++] = tags[i];
	w.tags = tags;
	w.ntags = (uint32_t)u;
	*out = w;
	return 0;
}

long em_wheel_rank(const struct em_tagset *ts, const struct em_wheel_name *w, const char **best)
{
	long r = -1;
	const char *b = NULL;
	for (uint32_t i = 0; i < w->ntags; i++) {
		long k = em_tags_rank(ts, w->tags[i], strlen(w->tags[i]));
		if (k >= 0 && (r < 0 || k < r)) {
			r = k;
			b = ts->tags[k];
		}
	}
	if (best)
		*best = b;
	return r;
}
