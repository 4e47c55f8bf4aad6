/* pep440.h - versions and version specifiers (PEP 440)
 *
 * Semantics follow pypa/packaging 26.x, the reference current pip builds on
 * (see docs/standards.md for where that differs from older packaging).
 *
 * Versions are parsed into an arena and compared with a total order:
 *     epoch, release (trailing zeros ignored), dev-only < pre < final < post,
 *     local labels after the public version they extend.
 *
 * Two different questions are kept apart:
 *   em_specset_contains()  - does this one version satisfy the set?  (a lone
 *                            pre-release does, as in packaging 26.x)
 *   em_specset_filter()    - which of these candidates may an installer pick?
 *                            (pre-releases only when asked for, named by a
 *                            specifier, or when no final release matches)
 */
#ifndef ENVMATRIX_PEP440_H
#define ENVMATRIX_PEP440_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/buf.h"
#include "envmatrix/error.h"

/* Limits that keep hostile input bounded. A version longer than this, or
 * with more segments, is rejected with EM_ELIMIT. */
#define EM_VERSION_MAX_LEN 256
#define EM_VERSION_MAX_RELEASE 32
#define EM_VERSION_MAX_LOCAL 32

enum em_pre_kind {
	EM_PRE_NONE = 0,
	EM_PRE_A = 1,
	EM_PRE_B = 2,
	EM_PRE_RC = 3
};

struct em_local_seg {
	const char *s; /* lower-cased text (a slice of the normalized string,
			* not NUL-terminated); a numeric segment has no
			* leading zeros ("0" for all zeros) */
	uint32_t len;
	bool numeric;  /* all digits: compares as a number of any size and
			* sorts after every text segment */
};

struct em_version {
	uint64_t epoch;
	const uint64_t *release;
	uint32_t nrelease;     /* >= 1 */
	uint32_t nrelease_trim;/* nrelease without trailing zeros (>= 1) */
	uint8_t pre_kind;      /* enum em_pre_kind */
	bool has_post;
	bool has_dev;
	uint64_t pre;
	uint64_t post;
	uint64_t dev;
	uint32_t nlocal;
	const struct em_local_seg *local;
	const char *str;       /* normalized form, e.g. "2.8.0rc1+cu126.1" */
};

/* Parse s[0..n) (surrounding whitespace allowed, Python's definition).
 * Errors: EM_EINVAL (not a PEP 440 version), EM_ELIMIT, EM_ENOMEM; the
 * message quotes the input. */
EM_MUST_USE
int em_version_parse(struct em_arena *a, const char *s, size_t n,
		     struct em_version *out, struct em_error *e);

/* <0, 0, >0. Total order; 1.0 == 1.0.0, 1.0+a != 1.0. */
int em_version_cmp(const struct em_version *x, const struct em_version *y);

/* Compare ignoring local labels: 0 for 2.8.0 and 2.8+cu126. */
int em_version_cmp_public(const struct em_version *x, const struct em_version *y);

/* Same public version and same local label, ignoring trailing zeros. */
static inline bool em_version_eq(const struct em_version *x, const struct em_version *y)
{
	return em_version_cmp(x, y) == 0;
}

/* A pre-release or a development release (what installers skip by default). */
static inline bool em_version_is_prerelease(const struct em_version *v)
{
	return v->pre_kind != EM_PRE_NONE || v->has_dev;
}

/* Append the normalized form, or only the public part (no +local). */
int em_version_format(const struct em_version *v, struct em_buf *b);
int em_version_format_public(const struct em_version *v, struct em_buf *b);

/* ---- specifiers ---- */

enum em_spec_op {
	EM_OP_COMPATIBLE,  /* ~= */
	EM_OP_EQ,          /* == (also ==V.*) */
	EM_OP_NE,          /* != (also !=V.*) */
	EM_OP_LE,          /* <= */
	EM_OP_GE,          /* >= */
	EM_OP_LT,          /* <  */
	EM_OP_GT,          /* >  */
	EM_OP_ARBITRARY    /* === */
};

struct em_spec {
	enum em_spec_op op;
	bool wildcard;           /* ==V.* or !=V.* */
	bool has_local;          /* the version text carries +local */
	struct em_version v;     /* parsed version (not for ===) */
	const char *text;        /* version as written, stripped ("1.0", "2.8.*") */
	uint32_t textlen;
};

struct em_specset {
	uint32_t n;
	struct em_spec *specs;   /* in the order written */
	bool has_arbitrary;      /* any === */
};

enum em_pre_mode {
	EM_PRE_DEFAULT = 0, /* packaging's prereleases=None */
	EM_PRE_ALLOW,       /* prereleases=True */
	EM_PRE_DENY         /* prereleases=False */
};

#define EM_SPECSET_MAX_LEN 4096
#define EM_SPECSET_MAX_ITEMS 64

/* Parse one specifier ("~= 1.4.2"). */
EM_MUST_USE
int em_spec_parse(struct em_arena *a, const char *s, size_t n,
		  struct em_spec *out, struct em_error *e);
/* Parse a comma-separated set; empty items are ignored, an empty string is
 * the empty set (matches everything). */
EM_MUST_USE
int em_specset_parse(struct em_arena *a, const char *s, size_t n,
		     struct em_specset *out, struct em_error *e);

/* Does v match the specifier, leaving pre-release policy aside? Not for ===
 * (use em_spec_match_text). */
bool em_spec_match(const struct em_spec *sp, const struct em_version *v);
/* === compares the raw string, case-insensitively. */
bool em_spec_match_text(const struct em_spec *sp, const char *s, size_t n);

/* Whether the set names a pre-release (so pre-releases are allowed):
 * any specifier other than != and ==V.* whose version is a pre-release. */
bool em_specset_names_prerelease(const struct em_specset *set);

/* One version. raw/rawlen is the version as given (used by ===), v its
 * parse or NULL when it is not a valid version. */
bool em_specset_contains(const struct em_specset *set, const char *raw, size_t rawlen,
			 const struct em_version *v, enum em_pre_mode mode);
/* Convenience: parses text itself (scratch memory only). */
bool em_specset_contains_str(const struct em_specset *set, const char *s, size_t n,
			     enum em_pre_mode mode);

/* The installer's choice among candidates: sets keep[i] for each of the n
 * versions that may be picked. DEFAULT mode: finals that match; when none
 * match, the matching pre-releases; when the set names a pre-release, all
 * that match. Returns the number kept. */
size_t em_specset_filter(const struct em_specset *set, const struct em_version *const *vs,
			 size_t n, enum em_pre_mode mode, bool *keep);

/* The canonical text, as packaging's str(SpecifierSet): each item as
 * "<op><version as written>", sorted by that text, duplicates (by meaning)
 * removed, joined with ",". */
int em_specset_format(const struct em_specset *set, struct em_buf *b);
int em_spec_format(const struct em_spec *sp, struct em_buf *b);
const char *em_spec_op_str(enum em_spec_op op);

#endif
