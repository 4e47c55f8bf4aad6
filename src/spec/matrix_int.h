/* matrix_int.h - what the files of the matrix module share (private)
 *
 * matrix.ini is read in steps, a file each:
 *   matrix.c           the lines, handed to inih, and the [section] headers
 *   matrix_keys.c      each key and its value, checked and kept per section
 *   matrix_workload.c  sections to workloads ([matrix] inherited), and the
 *                      questions asked of a workload
 * They share the parser's state and the small helpers below; two more files
 * of the module use only the helpers: matrix_values.c (the values the
 * planner parses too) and matrix_reqfile.c (requirements files). Nothing
 * outside these files includes this header.
 */
#ifndef ENVMATRIX_MATRIX_INT_H
#define ENVMATRIX_MATRIX_INT_H

#include "spec/matrix.h"
#include "util/error.h"
#include "util/grow.h"
#include "util/str.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MAX_KEY 64        /* longest key, env.NAME included */
#define LINE_BYTES (EM_MATRIX_MAX_LINE * 4 + 8)
#define QUOTE 160         /* room for a quoted value in a message */

/* ---- keys ---- */

enum key {
	K_NAME,
	K_PLATFORM,
	K_INDEX_URL,
	K_TORCH_INDEX_URL,
	K_FIND_LINKS,
	K_MIRRORS,
	K_PYTHON_MIRROR,
	K_CUDA_DRIVER,
	K_PYTHON_HOME,
	K_CACHE_DIR,
	K_CA_FILE,
	K_HISTORY,
	K_LINK_MODE,
	K_JOBS,
	K_DESCRIPTION,
	K_PATH,
	K_VENV,
	K_PYTHON,
	K_TORCH,
	K_CUDA,
	K_PACKAGES,
	K_REQUIREMENTS,
	K_VERIFY,
	K_NO_BUILD,
	K_ONLY_BINARY,
	K_NO_BINARY,
	K_NO_BUILD_ISOLATION,
	K_BUILD_CONSTRAINTS,
	K_BUILD_REQUIRES,  /* build-requires.PKG */
	K_CONFIG_SETTINGS, /* config-settings.PKG */
	K_ENV, /* env.NAME */
	K_COUNT
};

#define IN_MATRIX 1u
#define IN_WORKLOAD 2u

struct keyinfo {
	const char *name;
	unsigned in;
	bool multi; /* takes continuation lines */
};

extern const struct keyinfo em_mx_keys[K_COUNT];

/* ---- small vectors in the arena ---- */

struct vec {
	void *p;
	uint32_t n, cap;
};

static inline void *vec_push(struct em_arena *a, struct vec *v, size_t size)
{
	if (em_arena_grow(a, &v->p, &v->cap, v->n, size))
		return NULL;
	return (char *)v->p + (size_t)v->n++ * size;
}

/* ---- parser state ---- */

/* One [section] as written. */
struct sect {
	const char *name;
	uint32_t line;
	bool is_matrix;
	struct em_setting v[K_COUNT]; /* single values; .line also marks list keys as set */
	struct vec packages;          /* struct em_req_line */
	struct vec find_links;        /* struct em_setting */
	struct vec mirrors;           /* struct em_mirror */
	struct vec env;               /* struct em_env_var */
	struct vec verify;            /* struct em_setting: verify commands */
	struct em_python_req py;
	struct em_specset torch;
	struct em_cuda cuda;
	struct em_pkg_set pkgs[4];    /* no-build, only-binary, no-binary,
				       * no-build-isolation */
	struct vec pkgvals[2];        /* struct pkgent: build-requires.PKG,
				       * config-settings.PKG */
};

/* A build-requires.PKG or config-settings.PKG key while it is read. */
struct pkgent {
	const char *key;
	const char *name;
	uint32_t line;
	struct vec vals; /* const char * */
};

enum line_kind {
	LINE_BLANK,   /* blank or comment */
	LINE_SECTION,
	LINE_KEY,
	LINE_CONT     /* indented line continuing the previous key */
};

struct mparser {
	struct em_arena *a;
	struct em_error *e;
	const char *file;
	const char *buf;
	size_t len, pos;
	uint32_t lineno;
	int rc; /* the first error; 0 while none */
	bool any_content;

	/* the current line and what is handed to inih */
	enum line_kind kind;
	const char *text; /* the line without indentation and trailing blanks */
	size_t textn;
	const char *val;  /* the value (or continuation text), from the buffer */
	size_t valn;
	char out[LINE_BYTES + MAX_KEY + 8];
	size_t outlen, outpos;
	bool cont_ok; /* inih would read an indented line as a continuation */

	/* sections */
	struct sect *matrix;
	struct vec work; /* struct sect *, in file order */
	struct sect *cur;
	enum key cur_key;
	char cur_keyname[MAX_KEY + 1];
	uint32_t cur_pkgent; /* index in cur->pkgvals[] of the key being read */
};

static inline int perr(struct mparser *p, uint32_t line, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static inline int perr(struct mparser *p, uint32_t line, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	p->rc = em_verr_at(p->e, code, p->file, line, fmt, ap);
	va_end(ap);
	return p->rc;
}

static inline int nomem(struct mparser *p)
{
	p->rc = em_err_nomem(p->e);
	return p->rc;
}

static inline const char *q(char *dst, const char *s, size_t n)
{
	return em_quote(dst, QUOTE, s, n);
}

static inline bool is_blank(int c)
{
	return c == ' ' || c == '\t';
}

static inline struct em_str strip_blanks(const char *s, size_t n)
{
	while (n && is_blank((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n && is_blank((unsigned char)s[n - 1]))
		n--;
	return em_str_make(s, n);
}

static inline bool ieq_n(const char *a, size_t an, const char *b, size_t bn)
{
	if (an != bn)
		return false;
	for (size_t i = 0; i < an; i++)
		if (em_lower((unsigned char)a[i]) != em_lower((unsigned char)b[i]))
			return false;
	return true;
}

static inline bool is_absolute(const char *s, size_t n)
{
	if (n && (s[0] == '/' || s[0] == '\\'))
		return true;
	return n >= 2 && em_is_alpha((unsigned char)s[0]) && s[1] == ':';
}

/* matrix_keys.c: a key = value line of the current section, and an
 * indented line continuing its key */
EM_MUST_USE
int em_mx_on_key(struct mparser *p, const char *k, size_t kn, const char *v, size_t vn);
EM_MUST_USE
int em_mx_on_cont(struct mparser *p, const char *v, size_t vn);

/* matrix_workload.c: the matrix and its workloads from the sections read */
EM_MUST_USE
int em_mx_build(struct mparser *p, struct em_matrix *out);

#endif
