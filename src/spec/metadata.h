/* metadata.h - core metadata (METADATA / PKG-INFO, versions 1.0 to 2.5)
 *
 * The header block is RFC 822 style: "Name: value" fields, continuation
 * lines start with whitespace, the first empty line ends the headers and
 * the rest is the description body. Input is bytes, no I/O.
 *
 * What the parser follows (the practical standard is Python's email parser
 * with the compat32 policy, as pypa/packaging uses it):
 *   - lines end with LF or CRLF; a line that starts with a space or a tab
 *     continues the previous field (a line of only blanks does too); the
 *     value keeps one "\n" per line break and the continuation line as
 *     written, then surrounding ASCII whitespace is trimmed
 *   - field names are matched without regard to case; every field is kept
 *     in fields[], known or not, in file order
 *   - the first empty line ends the headers; the bytes after it are the body
 *     (the description), kept exactly
 *
 * Where it is stricter than the email parser, because a resolver must not
 * silently lose a dependency:
 *   - a header line without ':' (or with an invalid field name) is an error,
 *     not the start of the body; so is a continuation line before any field
 *   - a NUL byte anywhere in the header block is an error (the body may hold
 *     NUL bytes: use body_len)
 *   - Metadata-Version, Name and Version are required; these and
 *     Requires-Python must appear at most once (packaging treats repeated
 *     single-use fields as invalid); Name must be a valid PEP 508 name
 *   - the values of Metadata-Version, Name, Version, Requires-Python,
 *     Requires-Dist, Provides-Extra and Dynamic must be UTF-8 (other fields,
 *     e.g. a Latin-1 Author, are kept as bytes)
 *   - Metadata-Version must be MAJOR.MINOR; a major version above the newest
 *     known one (2.5) fails with EM_EUNSUPPORTED, as the core metadata
 *     specification requires; a newer minor version is accepted and flagged
 *     (metadata_newer) so callers can warn
 * Other single-use fields that repeat (Summary, License...) are tolerated:
 * the convenience pointer keeps the first, fields[] keeps all.
 *
 * Version and Requires-Python are returned as written; parse them with
 * em_version_parse / em_specset_parse (pep440.h), and Requires-Dist lines
 * with em_requirement_parse (pep508.h).
 */
#ifndef ENVMATRIX_METADATA_H
#define ENVMATRIX_METADATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "envmatrix/error.h"

#define EM_METADATA_MAX_LEN (64u << 20)
/* header fields in one file (real files have tens to a few thousand) */
#define EM_METADATA_MAX_FIELDS (1u << 18)

/* The newest metadata version this parser knows. */
#define EM_METADATA_NEWEST_MAJOR 2
#define EM_METADATA_NEWEST_MINOR 5

struct em_metadata_field {
	const char *name;  /* as written ("Requires-Dist") */
	const char *value; /* continuation lines joined, surrounding space trimmed */
	uint32_t line;     /* 1-based line of the field's first line */
};

struct em_metadata {
	const char *metadata_version; /* as written, e.g. "2.4" */
	unsigned metadata_major, metadata_minor;
	bool metadata_newer;          /* newer than 2.5 (same major): warn */
	const char *name;
	const char *version;
	const char *requires_python;  /* NULL when absent */
	const char *summary;          /* NULL when absent */
	uint32_t nrequires_dist;      /* empty values are skipped */
	const char **requires_dist;
	const uint32_t *requires_dist_line;
	uint32_t nprovides_extra;     /* empty values are skipped */
	const char **provides_extra;
	uint32_t ndynamic;            /* empty values are skipped */
	const char **dynamic;
	uint32_t nfields;
	const struct em_metadata_field *fields; /* every header, in order */
	const char *body;                       /* description body or NULL */
	size_t body_len;                        /* may contain NUL bytes */
	uint32_t body_line;                     /* line the body starts on, 0 when none */
};

/* where names the file in errors ("torch-2.8.0.dist-info/METADATA"); may be
 * NULL ("METADATA" is used). Errors give where:LINE, or where alone for a
 * missing field. Codes: EM_EINVAL, EM_EUNSUPPORTED (newer major metadata
 * version), EM_ELIMIT (over EM_METADATA_MAX_LEN or EM_METADATA_MAX_FIELDS),
 * EM_ENOMEM. *out is only meaningful on success. */
EM_MUST_USE
int em_metadata_parse(struct em_arena *a, const char *buf, size_t len, const char *where,
		      struct em_metadata *out, struct em_error *e);

/* Only split the header block into fields and body, with the same line
 * rules, limits and errors, but without checking or extracting any field
 * (WHEEL files use the same format). Fills nfields, fields, body, body_len,
 * body_line; every other member is zero. */
EM_MUST_USE
int em_metadata_parse_fields(struct em_arena *a, const char *buf, size_t len,
			     const char *where, struct em_metadata *out, struct em_error *e);

/* The value of the first field called name (any case), or NULL. */
const char *em_metadata_get(const struct em_metadata *m, const char *name);

#endif
