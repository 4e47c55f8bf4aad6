/* grow.c - growing arrays by doubling, on the heap or in an arena */
#include "util/grow.h"
#include "envmatrix/error.h"

#include <stdlib.h>
#include <string.h>

/* The capacity after *cap that holds n + 1 elements of size bytes, or 0
 * when that does not fit in uint32_t or in size_t bytes. */
static uint32_t next_cap(uint32_t cap, uint32_t n, size_t size)
{
	if (n == UINT32_MAX)
		return 0;
	uint64_t need = (uint64_t)n + 1;
	uint64_t ncap = cap ? (uint64_t)cap * 2 : EM_GROW_FIRST;
	while (ncap < need)
		ncap *= 2;
	if (ncap > UINT32_MAX)
		ncap = UINT32_MAX;
	if (size && ncap > SIZE_MAX / size)
		return 0;
	return (uint32_t)ncap;
}

int em_grow(void *arrayp, uint32_t *cap, uint32_t n, size_t size)
{
	if (n < *cap)
		return 0;
	uint32_t ncap = next_cap(*cap, n, size);
	if (!ncap)
		return EM_ENOMEM;
	void *old;
	memcpy(&old, arrayp, sizeof old);
	void *nv = realloc(old, (size_t)ncap * size);
	if (!nv)
		return EM_ENOMEM;
	memcpy(arrayp, &nv, sizeof nv);
	*cap = ncap;
	return 0;
}

int em_arena_grow(struct em_arena *a, void *arrayp, uint32_t *cap, uint32_t n, size_t size)
{
	if (n < *cap)
		return 0;
	uint32_t ncap = next_cap(*cap, n, size);
	if (!ncap)
		return EM_ENOMEM;
	void *nv = em_arena_array(a, ncap, size);
	if (!nv)
		return EM_ENOMEM;
	void *old;
	memcpy(&old, arrayp, sizeof old);
	if (n)
		memcpy(nv, old, (size_t)n * size);
	memcpy(arrayp, &nv, sizeof nv);
	*cap = ncap;
	return 0;
}
