/* arena.h - bump allocator for parsed data
 *
 * Parsers build their results (versions, requirements, marker trees, tag
 * lists) into an arena owned by the caller, and everything is released at
 * once. Allocations are aligned for any type. An arena can start from a
 * caller-provided buffer (often on the stack) so short-lived work such as
 * evaluating one marker needs no malloc at all.
 *
 *     struct em_arena a;
 *     em_arena_init(&a);
 *     ... em_version_parse(&a, ...) ...
 *     em_arena_release(&a);
 */
#ifndef ENVMATRIX_ARENA_H
#define ENVMATRIX_ARENA_H

#include <stddef.h>

struct em_arena_chunk;

struct em_arena {
	struct em_arena_chunk *head; /* newest chunk first */
	char *cur;                   /* next free byte in head (or in buf) */
	char *end;                   /* end of the current region */
	char *buf;                   /* caller's initial buffer, never freed */
	char *buf_end;
	size_t total;                /* bytes obtained from malloc */
	size_t limit;                /* 0 = no limit; else malloc'd bytes cap */
};

struct em_arena_mark {
	struct em_arena_chunk *head;
	char *cur;
	char *end;
};

void em_arena_init(struct em_arena *a);
/* Start from buf[size]; allocations spill to malloc when it is full. */
void em_arena_init_buf(struct em_arena *a, void *buf, size_t size);
/* Free everything; the arena can be used again afterwards. */
void em_arena_release(struct em_arena *a);

/* NULL when out of memory (or past the limit). Memory is not zeroed. */
void *em_arena_alloc(struct em_arena *a, size_t size);
void *em_arena_zalloc(struct em_arena *a, size_t size);
/* n elements of size each, with overflow checking. */
void *em_arena_array(struct em_arena *a, size_t n, size_t size);
char *em_arena_strndup(struct em_arena *a, const char *s, size_t n);
char *em_arena_strdup(struct em_arena *a, const char *s);
char *em_arena_printf(struct em_arena *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Remember the current position and later return to it, releasing every
 * allocation made in between (scratch work inside a long-lived arena). */
struct em_arena_mark em_arena_mark(const struct em_arena *a);
void em_arena_rewind(struct em_arena *a, struct em_arena_mark m);

#endif
