/* pep508.h - dependency specifiers: requirements and environment markers
 *
 * Grammar and evaluation follow pypa/packaging 26.x (see docs/standards.md).
 * Markers are evaluated against an explicit environment, never the host's
 * implicitly, so a Linux machine can plan a Windows workload.
 */
#ifndef ENVMATRIX_PEP508_H
#define ENVMATRIX_PEP508_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/buf.h"
#include "envmatrix/error.h"
#include "spec/pep440.h"

#define EM_REQUIREMENT_MAX_LEN 65536
#define EM_MARKER_MAX_DEPTH 64

enum em_marker_var {
	EM_MV_IMPLEMENTATION_NAME,
	EM_MV_IMPLEMENTATION_VERSION,
	EM_MV_OS_NAME,
	EM_MV_PLATFORM_MACHINE,
	EM_MV_PLATFORM_PYTHON_IMPLEMENTATION,
	EM_MV_PLATFORM_RELEASE,
	EM_MV_PLATFORM_SYSTEM,
	EM_MV_PLATFORM_VERSION,
	EM_MV_PYTHON_FULL_VERSION,
	EM_MV_PYTHON_VERSION,
	EM_MV_SYS_PLATFORM,
	EM_MV_EXTRA,
	EM_MV_COUNT
};

/* The PEP 508 spelling of a variable ("platform_machine"). */
const char *em_marker_var_name(enum em_marker_var v);

struct em_marker_kv {
	const char *name;
	const char *value;
};

/* What markers are evaluated against. A NULL value is undefined: a marker
 * that needs it fails with EM_EUNDEFINED naming the variable. */
struct em_marker_env {
	const char *var[EM_MV_COUNT];
	/* set-valued variables of lock files (PEP 751); *_defined false means
	 * the variable does not exist in this context */
	bool extras_defined;
	const char *const *extras;
	size_t nextras;
	bool groups_defined;
	const char *const *dependency_groups;
	size_t ngroups;
	/* names outside PEP 508, only reachable through packaging's quirk of
	 * looking up the right-hand side when the left is a literal */
	const struct em_marker_kv *other;
	size_t nother;
};

struct em_marker; /* parsed marker expression, opaque */

/* Parse s[0..n) into a. Errors (*out is then NULL and nothing stays in a):
 * EM_EINVAL for a syntax error, naming what was expected and where
 * ("expected ... after 'and' at position 17 in '...'"), a NUL byte or
 * invalid UTF-8; EM_ELIMIT for input over EM_REQUIREMENT_MAX_LEN bytes or
 * parentheses nested deeper than EM_MARKER_MAX_DEPTH. */
EM_MUST_USE
int em_marker_parse(struct em_arena *a, const char *s, size_t n,
		    struct em_marker **out, struct em_error *e);
/* *result is set on success. Like packaging, every comparison is evaluated
 * (no short circuit), so any failing one fails the marker. Errors:
 * EM_EUNDEFINED (a variable the env does not define), EM_EINVAL (a
 * comparison packaging refuses, e.g. ~= on a non-version variable, or a
 * set-valued variable on the left), EM_ELIMIT (a version or specifier past
 * pep440.h's limits). No heap allocation unless a value is over ~1 KiB. */
EM_MUST_USE
int em_marker_eval(const struct em_marker *m, const struct em_marker_env *env,
		   bool *result, struct em_error *e);
/* The normalized text, as packaging's str(Marker): a value is written in
 * double quotes, or in single quotes when it holds a double quote. A value
 * holding both cannot be written: EM_EINVAL, nothing appended (packaging
 * raises ValueError). Otherwise 0 or the buffer's error. */
EM_MUST_USE
int em_marker_format(const struct em_marker *m, struct em_buf *b);
/* Bit (1u << enum em_marker_var) for each variable the marker reads, and
 * these for the keys outside enum em_marker_var: */
#define EM_MARKER_VAR_EXTRAS (1u << EM_MV_COUNT)       /* extras (PEP 751) */
#define EM_MARKER_VAR_GROUPS (1u << (EM_MV_COUNT + 1)) /* dependency_groups */
#define EM_MARKER_VAR_OTHER (1u << (EM_MV_COUNT + 2))  /* a name in env->other */
uint32_t em_marker_vars(const struct em_marker *m);

struct em_requirement {
	const char *name;        /* as written */
	uint32_t nextras;
	const char **extras;     /* as written, in order, duplicates removed */
	struct em_specset spec;  /* empty when none */
	const char *url;         /* direct reference (name @ url), or NULL */
	struct em_marker *marker;/* NULL when none */
};

/* Parse s[0..n) into a. Spaces and tabs may surround it; any other
 * whitespace (a trailing newline too) is an error, as in packaging. Errors
 * as em_marker_parse, plus em_specset_parse's for the version part; *out is
 * then all zero. */
EM_MUST_USE
int em_requirement_parse(struct em_arena *a, const char *s, size_t n,
			 struct em_requirement *out, struct em_error *e);
/* The normalized text, as packaging's str(Requirement); EM_EINVAL as for
 * em_marker_format. */
EM_MUST_USE
int em_requirement_format(const struct em_requirement *r, struct em_buf *b);
/* Does the requirement apply in env, with the given extra active (NULL for
 * none; compared after PEP 685 normalisation)? True when it has no marker.
 * env's own 'extra' is ignored; errors as em_marker_eval. */
EM_MUST_USE
int em_requirement_applies(const struct em_requirement *r, const struct em_marker_env *env,
			   const char *extra, bool *result, struct em_error *e);

#endif
