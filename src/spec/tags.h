/* tags.h - compatibility tags (PEP 425, 600, 656) and wheel file names
 *
 * em_tags_for_target() lists every tag a target supports, best first, in the
 * order pypa/packaging 26.x gives (cpython_tags, then compatible_tags). The
 * rank of a tag is its index in that list; a wheel's rank is the best rank
 * of any of its tags, and a lower rank is preferred.
 */
#ifndef ENVMATRIX_TAGS_H
#define ENVMATRIX_TAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "envmatrix/error.h"
#include "spec/pep440.h"
#include "spec/target.h"

struct em_tagset {
	size_t n;
	const char **tags;   /* "cp312-cp312-manylinux_2_28_x86_64", best first */
	/* lookup index (open addressing over tags), private */
	size_t hcap;
	uint32_t *hslots;
};

EM_MUST_USE
int em_tags_for_target(struct em_arena *a, const struct em_target *t,
		       struct em_tagset *out, struct em_error *e);
/* Just the platform part, best first ("linux_x86_64", "manylinux_2_28_x86_64",
 * ...). *n may be 0 (macOS x86_64 before 10.4 has none). */
EM_MUST_USE
int em_platform_tags(struct em_arena *a, const struct em_platform *p,
		     const char ***out, size_t *n, struct em_error *e);
/* Index of tag in the set, or -1 when the target does not support it. One
 * hash lookup; ASCII case is ignored. */
long em_tags_rank(const struct em_tagset *ts, const char *tag, size_t n);

#define EM_WHEEL_NAME_MAX_LEN 1024
/* Most tags a compressed tag set may expand to (EM_ELIMIT beyond). */
#define EM_WHEEL_MAX_TAGS 4096

struct em_wheel_name {
	const char *name;         /* canonical (PEP 503) */
	const char *name_raw;     /* as in the file name */
	struct em_version version;
	bool has_build;
	uint64_t build_num;       /* build tag: leading digits ... */
	const char *build_suffix; /* ... and the rest ("" when none) */
	uint32_t npy, nabi, nplat;
	const char **py, **abi, **plat; /* the parts of each compressed set
				   ("py2.py3" -> "py2", "py3"), lower-cased,
				   in the order written */
	uint32_t ntags;
	const char **tags;        /* expanded interp-abi-plat triples, lower case,
				   sorted (bytewise), without duplicates */
};

/* Parse a wheel file name (no directory) as packaging 26.x's
 * parse_wheel_filename() does; the rules are listed in src/wheel_name.c.
 * Errors: EM_EINVAL (the message quotes the name), EM_ELIMIT (longer than
 * EM_WHEEL_NAME_MAX_LEN, a build number over 64 bits, or more than
 * EM_WHEEL_MAX_TAGS tags), EM_ENOMEM. */
EM_MUST_USE
int em_wheel_name_parse(struct em_arena *a, const char *s, size_t n,
			struct em_wheel_name *out, struct em_error *e);
/* Best rank of the wheel for the tag set, or -1 when incompatible. When
 * best is given it receives the tag that gave the rank (NULL if none). */
long em_wheel_rank(const struct em_tagset *ts, const struct em_wheel_name *w,
		   const char **best);

#endif
