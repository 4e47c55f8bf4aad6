/* grow.h - the one way to grow an array one element at a time
 *
 * An array is a pointer, the number of elements in use (the caller's) and
 * the number there is room for:
 *
 *     struct thing *v = NULL;
 *     uint32_t n = 0, cap = 0;
 *     ...
 *     if (em_grow(&v, &cap, n, sizeof *v))
 *             return EM_ENOMEM;
 *     v[n++] = x;
 *     ...
 *     free(v);
 *
 * Both functions make room for one element more than the n in use: nothing
 * happens while n < *cap; else the capacity doubles (from EM_GROW_FIRST).
 * em_grow reallocates on the heap (the caller frees); em_arena_grow takes a
 * new array from the arena and copies the n elements in use (the old one is
 * left behind: with doubling, at most as much again as the final array).
 * Every size is checked for overflow. Both return 0, or EM_ENOMEM with the
 * array and *cap unchanged. arrayp is the address of the array pointer
 * (of any object type).
 */
#ifndef ENVMATRIX_GROW_H
#define ENVMATRIX_GROW_H

#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"

#define EM_GROW_FIRST 4u

int em_grow(void *arrayp, uint32_t *cap, uint32_t n, size_t size)
	__attribute__((warn_unused_result));
int em_arena_grow(struct em_arena *a, void *arrayp, uint32_t *cap, uint32_t n, size_t size)
	__attribute__((warn_unused_result));

#endif
