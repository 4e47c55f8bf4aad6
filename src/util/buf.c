/* buf.c - growable string builder with a size cap */
#include "util/buf.h"
#include "envmatrix/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char em_buf_empty[1];

void em_buf_init(struct em_buf *b, size_t max)
{
	b->ptr = em_buf_empty;
	b->len = 0;
	b->cap = 0;
	b->max = max ? max : EM_BUF_DEFAULT_MAX;
	b->err = 0;
}

void em_buf_release(struct em_buf *b)
{
	if (b->cap)
		free(b->ptr);
	size_t max = b->max;
	em_buf_init(b, max);
}

void em_buf_reset(struct em_buf *b)
{
	b->len = 0;
	if (b->cap)
		b->ptr[0] = '\0';
	b->err = 0;
}

void em_buf_truncate(struct em_buf *b, size_t len)
{
	if (len < b->len) {
		b->len = len;
		if (b->cap)
			b->ptr[len] = '\0';
	}
}

int em_buf_grow(struct em_buf *b, size_t extra)
{
	if (b->err)
		return b->err;
	if (extra > b->max || b->len > b->max - extra)
		return b->err = EM_ELIMIT;
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	size_t ncap = b->cap ? b->cap : 64;
	while (ncap < need) {
		if (ncap > ((size_t)-1) / 2) {
			ncap = need;
			break;
		}
		ncap *= 2;
	}
	char *p = b->cap ? realloc(b->ptr, ncap) : malloc(ncap);
	if (!p)
		return b->err = EM_ENOMEM;
	if (!b->cap)
		p[0] = '\0';
	b->ptr = p;
	b->cap = ncap;
	return 0;
}

int em_buf_add(struct em_buf *b, const void *data, size_t n)
{
	int rc = em_buf_grow(b, n);
	if (rc)
		return rc;
	if (n)
		memcpy(b->ptr + b->len, data, n);
	b->len += n;
	b->ptr[b->len] = '\0';
	return 0;
}

int em_buf_addstr(struct em_buf *b, const char *s)
{
	return em_buf_add(b, s, strlen(s));
}

int em_buf_addc(struct em_buf *b, char c)
{
	return em_buf_add(b, &c, 1);
}

int em_buf_vaddf(struct em_buf *b, const char *fmt, va_list ap)
{
	if (b->err)
		return b->err;
	va_list cp;
	va_copy(cp, ap);
	int n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return b->err = EM_EINVAL;
	int rc = em_buf_grow(b, (size_t)n);
	if (rc)
		return rc;
	vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int em_buf_addf(struct em_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = em_buf_vaddf(b, fmt, ap);
	va_end(ap);
	return rc;
}

char *em_buf_detach(struct em_buf *b, size_t *len)
{
	char *p;
	if (b->cap) {
		p = b->ptr;
	} else {
		p = malloc(1);
		if (!p)
			return NULL;
		p[0] = '\0';
	}
	if (len)
		*len = b->len;
	size_t max = b->max;
	em_buf_init(b, max);
	return p;
}
