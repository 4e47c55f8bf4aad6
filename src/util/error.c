/* error.c - filling and describing struct em_error */
#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int em_err(struct em_error *e, int code, const char *where, const char *fmt, ...)
{
	if (!e)
		return code;
	e->code = code;
	snprintf(e->where, sizeof e->where, "%s", where ? where : "");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	return code;
}

int em_verr_at(struct em_error *e, int code, const char *file, uint32_t line, const char *fmt,
	       va_list ap)
{
	/* both are made before the record is written: an argument may be
	 * the text of the record itself */
	char where[EM_ERROR_WHERE_MAX];
	char msg[EM_ERROR_MSG_MAX];
	if (file && file[0] && line)
		snprintf(where, sizeof where, "%s:%u", file, (unsigned)line);
	else if (file && file[0])
		snprintf(where, sizeof where, "%s", file);
	else if (line)
		snprintf(where, sizeof where, "line %u", (unsigned)line);
	else
		where[0] = '\0';
	vsnprintf(msg, sizeof msg, fmt, ap);
	return em_err(e, code, where, "%s", msg);
}

int em_err_at(struct em_error *e, int code, const char *file, uint32_t line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = em_verr_at(e, code, file, line, fmt, ap);
	va_end(ap);
	return rc;
}

int em_err_nomem(struct em_error *e)
{
	return em_err(e, EM_ENOMEM, NULL, "out of memory");
}

int em_err_sys(struct em_error *e, int errnum, const char *where, const char *what)
{
	return em_err(e, EM_EIO, where, "%s: %s", what, strerror(errnum));
}

void em_err_prefix_where(struct em_error *e, const char *fmt, ...)
{
	if (!e)
		return;
	char place[EM_ERROR_WHERE_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(place, sizeof place, fmt, ap);
	va_end(ap);
	size_t pl = strlen(place);
	size_t wl = strlen(e->where);
	if (wl) {
		/* place + ": " + where, cut to fit */
		if (pl + 2 >= sizeof e->where)
			pl = sizeof e->where - 3;
		size_t keep = sizeof e->where - 1 - pl - 2;
		if (wl > keep)
			wl = keep;
		memmove(e->where + pl + 2, e->where, wl);
		memcpy(e->where, place, pl);
		e->where[pl] = ':';
		e->where[pl + 1] = ' ';
		e->where[pl + 2 + wl] = '\0';
	} else {
		memcpy(e->where, place, pl + 1);
	}
}

void em_error_clear(struct em_error *e)
{
	if (!e)
		return;
	e->code = 0;
	e->where[0] = '\0';
	e->msg[0] = '\0';
}

const char *em_strerror(int code)
{
	switch (code) {
	case EM_OK: return "success";
	case EM_ENOMEM: return "out of memory";
	case EM_EINVAL: return "invalid input";
	case EM_ELIMIT: return "input too large";
	case EM_EIO: return "system error";
	case EM_ENOTFOUND: return "not found";
	case EM_EUSAGE: return "wrong usage";
	case EM_EUNDEFINED: return "undefined value";
	case EM_EUNSUPPORTED: return "not supported";
	case EM_ECONFLICT: return "no solution";
	case EM_EBUSY: return "busy";
	case EM_ECANCELED: return "interrupted";
	case EM_EOFFLINE: return "offline";
	}
	return "unknown error";
}

char *em_quote(char *dst, size_t dstsize, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	size_t room = dstsize - 4; /* keep space for "..." and NUL */
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		int ctl = c < 0x20 || c == 0x7f;
		size_t need = ctl ? 4 : 1;
		if (o + need > room) {
			memcpy(dst + o, "...", 3);
			o += 3;
			break;
		}
		if (!ctl) {
			dst[o++] = (char)c;
		} else {
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		}
	}
	dst[o] = '\0';
	return dst;
}
