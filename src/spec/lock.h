/* lock.h - PEP 751 lock files (pylock.<workload>.toml) and the TOML under them
 *
 * envmatrix writes one lock per workload, resolved for exactly one target,
 * deterministically (the same resolution gives the same bytes, so a changed
 * file means a changed environment). The reader accepts any valid PEP 751
 * file, including ones written by pip and uv, because `apply --frozen`
 * installs from locks alone.
 */
#ifndef ENVMATRIX_LOCK_H
#define ENVMATRIX_LOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/buf.h"
#include "envmatrix/error.h"

/* ---- TOML (1.0) ---- */

#define EM_TOML_MAX_LEN (64u << 20)
#define EM_TOML_MAX_DEPTH 64             /* tables and arrays inside each other */
#define EM_TOML_MAX_VALUES (1u << 22)    /* values (of any type) in one document */

enum em_toml_type {
	EM_TOML_STRING,
	EM_TOML_INTEGER,
	EM_TOML_FLOAT,
	EM_TOML_BOOL,
	EM_TOML_DATETIME, /* kept as its text */
	EM_TOML_ARRAY,
	EM_TOML_TABLE
};

struct em_toml;

struct em_toml_kv {
	const char *key;   /* NUL-terminated; a quoted key may hold NUL (use key_len) */
	size_t key_len;
	struct em_toml *value;
};

struct em_toml {
	enum em_toml_type type;
	uint32_t line; /* where the value (or table header) is */
	union {
		struct {
			const char *s; /* UTF-8, may contain NUL (use len) */
			size_t len;
		} str;              /* STRING, DATETIME */
		int64_t i;
		double f;
		bool b;
		struct {
			uint32_t n;
			struct em_toml **items;
		} arr;
		struct {
			uint32_t n;
			uint32_t hmask;        /* private lookup index of em_toml_parse */
			struct em_toml_kv *kv; /* in document order */
			const uint32_t *hash;  /* (NULL in a table built by hand) */
		} tab;
	} u;
};

/* Parse a whole document into a table. where names it in errors
 * ("pylock.vlm.toml:LINE"). Errors: EM_EINVAL (not TOML 1.0: syntax, a key
 * or table defined twice, a bad escape, a control character, invalid
 * UTF-8), EM_ELIMIT (over EM_TOML_MAX_LEN bytes, EM_TOML_MAX_DEPTH nesting,
 * EM_TOML_MAX_VALUES values), EM_ENOMEM; nothing stays in a on error. */
EM_MUST_USE
int em_toml_parse(struct em_arena *a, const char *buf, size_t len, const char *where,
		  struct em_toml **out, struct em_error *e);
/* "a string", "an integer", "a table"... for messages. */
const char *em_toml_type_name(enum em_toml_type t);

/* Member of a table, or NULL (also when table is not a table). */
const struct em_toml *em_toml_get(const struct em_toml *table, const char *key);
const struct em_toml *em_toml_getn(const struct em_toml *table, const char *key, size_t n);

/* What kind of TOML date-time s[0..n) is, exactly as TOML 1.0 writes them
 * (RFC 3339 with 'T', 't' or ' ' between date and time, seconds required,
 * field ranges and leap years checked), or EM_TOML_DT_NONE. */
enum em_toml_datetime_kind {
	EM_TOML_DT_NONE = 0,
	EM_TOML_DT_OFFSET, /* 1979-05-27T07:32:00Z, ...-07:00 */
	EM_TOML_DT_LOCAL,  /* 1979-05-27T07:32:00.999 */
	EM_TOML_DT_DATE,   /* 1979-05-27 */
	EM_TOML_DT_TIME    /* 07:32:00 */
};
enum em_toml_datetime_kind em_toml_datetime_kind(const char *s, size_t n);

/* ---- PEP 751 ---- */

struct em_lock_file {        /* [[packages.wheels]] (or sdist) */
	const char *name;        /* file name (from the entry or the url/path) */
	const char *url;         /* NULL when path is used */
	const char *path;        /* relative to the lock file, or absolute */
	int64_t size;            /* -1 when absent */
	const char *sha256;      /* lower-case hex, NULL when absent */
	const char *upload_time; /* as written, NULL when absent */
	uint32_t line;           /* where the entry is */
};

struct em_lock_package {
	const char *name;            /* normalized (PEP 503) */
	const char *version;         /* NULL when absent */
	const char *marker;          /* NULL when absent */
	const char *requires_python; /* NULL when absent */
	const char *index;           /* simple API base URL, NULL when absent */
	uint32_t nwheels;
	struct em_lock_file *wheels;
	bool has_sdist;              /* an sdist is listed (envmatrix cannot install it
				      * until it builds sdists) */
	struct em_lock_file *sdist;  /* [packages.sdist], NULL when absent */
	bool has_other_source;       /* vcs, directory or archive */
	struct em_lock_file *archive; /* [packages.archive] (a wheel when its name ends
				       * in .whl), NULL when absent */
	uint32_t ndeps;
	const char **deps;           /* [[packages.dependencies]] names (informational) */
	bool requested;              /* [packages.tool.envmatrix] requested = true */
	uint32_t line;               /* where the [[packages]] entry starts */
};

struct em_lock {
	const char *lock_version;    /* "1.0" */
	bool lock_version_newer;     /* 1.x newer than 1.0: the caller should warn */
	const char *created_by;
	const char *requires_python; /* NULL when absent */
	uint32_t nenvironments;
	const char **environments;   /* marker strings */
	uint32_t nextras;            /* extras, dependency-groups, default-groups: */
	const char **extras;         /* what markers may name as 'extras' and */
	uint32_t ndependency_groups; /* 'dependency_groups' (PEP 751) */
	const char **dependency_groups;
	uint32_t ndefault_groups;
	const char **default_groups;
	uint32_t npackages;
	struct em_lock_package *packages;
	/* [tool.envmatrix]; NULL when absent (a lock from another tool) */
	const char *workload;
	const char *matrix;          /* the matrix file planned from ("linux.ini"), NULL
				      * in locks written before envmatrix recorded it */
	const char *python;          /* exact version planned for, e.g. "3.12.10" */
	const char *platform;        /* canonical platform name */
	const char *torch_variant;   /* "cu126", "cpu", or NULL */
	const char *inputs;          /* sha256 of the workload's planning inputs */
	/* the python-build-standalone archive the interpreter comes from
	 * (pybuild.h), NULL when it is one found on the machine */
	const char *python_url;      /* without credentials */
	const char *python_sha256;
	int64_t python_size;         /* 0 when not known */
};

/* Write l as TOML: fixed key order, packages sorted by name, wheels sorted
 * by file name, strings escaped per TOML (the exact shape is in src/lock.c).
 * created-by is always "envmatrix" and lock-version "1.0". Only wheels are
 * written, and the sdist (PEP 751 [packages.sdist]) when sdist is set
 * (has_other_source is not written), so every package needs at least one
 * wheel or an sdist, each with url or path and a sha256. Whatever this writes,
 * em_lock_parse reads back to the same struct; a struct it could not
 * represent is refused with EM_EINVAL (out is then left as it was).
 * Errors: EM_EINVAL, EM_ENOMEM, EM_ELIMIT (out's maximum size). */
EM_MUST_USE
int em_lock_write(const struct em_lock *l, struct em_buf *out, struct em_error *e);

/* Read and validate a lock (lock-version 1.x; a newer minor is accepted and
 * flagged, another major refused with EM_EUNSUPPORTED; created-by and
 * packages required; each package a normalized name, a valid version,
 * marker and requires-python, and exactly one kind of source; hashes
 * present; every wheel named like a wheel of its package, with a sha256,
 * since envmatrix verifies sha256 - a wheel with only other hashes is
 * EM_EUNSUPPORTED). Errors name WHERE:LINE and the package. On error out is
 * zeroed and nothing stays in a. */
EM_MUST_USE
int em_lock_parse(struct em_arena *a, const char *buf, size_t len, const char *where,
		  struct em_lock *out, struct em_error *e);

/* The PEP 751 file name for a workload: "pylock.<name>.toml" (false when
 * name cannot be used: it must be one non-empty segment without '.', '/',
 * '\\' or control characters, or when buf is too small). */
bool em_lock_file_name(const char *workload, char *buf, size_t size);

#endif
