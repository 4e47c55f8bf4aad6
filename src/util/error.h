/* error.h - the library's helpers for filling an error record
 *
 * The record, em_err and the codes are public (envmatrix/error.h); what is
 * here serves the library's parsers, which report where in a text they
 * stopped.
 */
#ifndef ENVMATRIX_UTIL_ERROR_H
#define ENVMATRIX_UTIL_ERROR_H

#include <stdarg.h>
#include <stdint.h>

#include "envmatrix/error.h"

/* em_err with a place in a text: "FILE:LINE", FILE alone when line is 0,
 * "line LINE" when there is no file (NULL or ""). Returns code. */
int em_err_at(struct em_error *e, int code, const char *file, uint32_t line, const char *fmt,
	      ...) __attribute__((format(printf, 5, 6)));
int em_verr_at(struct em_error *e, int code, const char *file, uint32_t line, const char *fmt,
	       va_list ap) __attribute__((format(printf, 5, 0)));

#endif
