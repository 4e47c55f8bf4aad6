/* buf.h - the one growable string builder
 *
 * Invariants: ptr is never NULL and always NUL-terminated (an empty buffer
 * points at a shared ""), len excludes the NUL. A buffer has a maximum size
 * so hostile input cannot grow it without bound; the first failure (out of
 * memory or over the maximum) is kept in err and every later append is a
 * no-op, so a sequence of appends can be checked once at the end.
 */
#ifndef ENVMATRIX_BUF_H
#define ENVMATRIX_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct em_buf {
	char *ptr;
	size_t len;
	size_t cap; /* 0 while ptr points at the shared "" */
	size_t max; /* largest len allowed */
	int err;    /* 0, EM_ENOMEM or EM_ELIMIT; sticky */
};

#define EM_BUF_DEFAULT_MAX ((size_t)1 << 30)

extern char em_buf_empty[1];
#define EM_BUF_INIT { em_buf_empty, 0, 0, EM_BUF_DEFAULT_MAX, 0 }

void em_buf_init(struct em_buf *b, size_t max); /* max 0 = default */
void em_buf_release(struct em_buf *b);          /* frees; b is empty again */
void em_buf_reset(struct em_buf *b);            /* len = 0, keeps memory, clears err */
void em_buf_truncate(struct em_buf *b, size_t len);

/* Each returns 0 or the sticky error code (not EM_MUST_USE: callers may
 * append several times and check once, at em_buf_detach or b->err). */
int em_buf_grow(struct em_buf *b, size_t extra);
int em_buf_add(struct em_buf *b, const void *data, size_t n);
int em_buf_addstr(struct em_buf *b, const char *s);
int em_buf_addc(struct em_buf *b, char c);
int em_buf_addf(struct em_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int em_buf_vaddf(struct em_buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* Take ownership of the malloc'd string (never NULL unless out of memory);
 * b is reset to empty. */
char *em_buf_detach(struct em_buf *b, size_t *len);

#endif
