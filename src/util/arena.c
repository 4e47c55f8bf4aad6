/* arena.c - bump allocator */
#include "util/arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_ALIGN 16
#define ARENA_MIN_CHUNK 4096

struct em_arena_chunk {
	struct em_arena_chunk *next;
	size_t size; /* usable bytes after the header */
	/* data follows, aligned */
};

static size_t header_size(void)
{
	return (sizeof(struct em_arena_chunk) + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
}

static char *chunk_data(struct em_arena_chunk *c)
{
	return (char *)c + header_size();
}

void em_arena_init(struct em_arena *a)
{
	memset(a, 0, sizeof *a);
}

void em_arena_init_buf(struct em_arena *a, void *buf, size_t size)
{
	memset(a, 0, sizeof *a);
	uintptr_t p = (uintptr_t)buf;
	uintptr_t aligned = (p + ARENA_ALIGN - 1) & ~(uintptr_t)(ARENA_ALIGN - 1);
	if (aligned - p >= size)
		return;
	a->buf = (char *)aligned;
	a->buf_end = (char *)buf + size;
	a->cur = a->buf;
	a->end = a->buf_end;
}

void em_arena_release(struct em_arena *a)
{
	struct em_arena_chunk *c = a->head;
	while (c) {
		struct em_arena_chunk *next = c->next;
		free(c);
		c = next;
	}
	a->head = NULL;
	a->total = 0;
	a->cur = a->buf;
	a->end = a->buf_end;
}

void *em_arena_alloc(struct em_arena *a, size_t size)
{
	if (size == 0)
		size = 1;
	size_t rounded = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (rounded < size)
		return NULL;
	if (a->cur && (size_t)(a->end - a->cur) >= rounded) {
		void *p = a->cur;
		a->cur += rounded;
		return p;
	}
	size_t want = ARENA_MIN_CHUNK;
	if (a->total / 2 > want)
		want = a->total / 2; /* grow geometrically */
	if (want > (size_t)1 << 24)
		want = (size_t)1 << 24;
	if (rounded > want)
		want = rounded;
	if (want > SIZE_MAX - header_size())
		return NULL;
	if (a->limit && a->total + want > a->limit) {
		if (a->total + rounded > a->limit)
			return NULL;
		want = rounded;
	}
	struct em_arena_chunk *c = malloc(header_size() + want);
	if (!c)
		return NULL;
	c->size = want;
	c->next = a->head;
	a->head = c;
	a->total += want;
	a->cur = chunk_data(c) + rounded;
	a->end = chunk_data(c) + want;
	return chunk_data(c);
}

void *em_arena_zalloc(struct em_arena *a, size_t size)
{
	void *p = em_arena_alloc(a, size);
	if (p)
		memset(p, 0, size);
	return p;
}

void *em_arena_array(struct em_arena *a, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	return em_arena_alloc(a, n * size);
}

char *em_arena_strndup(struct em_arena *a, const char *s, size_t n)
{
	if (n == SIZE_MAX)
		return NULL;
	char *p = em_arena_alloc(a, n + 1);
	if (!p)
		return NULL;
	if (n)
		memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *em_arena_strdup(struct em_arena *a, const char *s)
{
	return em_arena_strndup(a, s, strlen(s));
}

char *em_arena_printf(struct em_arena *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	char *p = em_arena_alloc(a, (size_t)n + 1);
	if (!p)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

struct em_arena_mark em_arena_mark(const struct em_arena *a)
{
	struct em_arena_mark m = { a->head, a->cur, a->end };
	return m;
}

void em_arena_rewind(struct em_arena *a, struct em_arena_mark m)
{
	while (a->head != m.head) {
		struct em_arena_chunk *c = a->head;
		a->head = c->next;
		a->total -= c->size;
		free(c);
	}
	a->cur = m.cur;
	a->end = m.end;
}
