/* name.h - project names (PEP 503 normalisation, PEP 508 validity) */
#ifndef ENVMATRIX_NAME_H
#define ENVMATRIX_NAME_H

#include <stdbool.h>
#include <stddef.h>

#include "util/arena.h"

/* A valid PEP 508 name: ASCII letters and digits, with '.', '-', '_' allowed
 * inside (not at either end). */
bool em_name_is_valid(const char *s, size_t n);

/* PEP 503: lower case, every run of '-', '_', '.' becomes one '-'.
 * Writes at most outsize-1 bytes and a NUL; returns the full length (like
 * snprintf), so a result >= outsize means it was cut. */
size_t em_name_canonical_buf(const char *s, size_t n, char *out, size_t outsize);
/* The same into an arena; NULL when out of memory. */
char *em_name_canonical(struct em_arena *a, const char *s, size_t n);
/* Equal after normalisation (no allocation). */
bool em_name_eq(const char *a, size_t an, const char *b, size_t bn);

#endif
