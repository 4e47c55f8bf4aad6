/* error.h - result codes and the error record every library call fills
 *
 * Library functions return 0 on success or one of the negative EM_E* codes
 * below, and describe the failure in a struct em_error: what failed (msg),
 * where (a file:line, a URL, a package or archive member) and the code.
 * Library code never prints and never exits; the CLI renders the record.
 *
 * Messages are lower case, have no final period and quote names and paths:
 *     matrix.ini:12: unknown key 'pyton' (did you mean 'python'?)
 */
#ifndef ENVMATRIX_ERROR_H
#define ENVMATRIX_ERROR_H

#include <stddef.h>

/* A result that must not be ignored: the compiler warns when a call's
 * value is dropped (cast to void does not silence GCC; use it). */
#if defined(__GNUC__) || defined(__clang__)
#define EM_MUST_USE __attribute__((warn_unused_result))
#else
#define EM_MUST_USE
#endif
/* A must-use result dropped on purpose: EM_IGNORE(call); with a comment
 * saying why ignoring it is right (best-effort cleanup after an earlier
 * error, a cache that only saves time). "(void)!" is what GCC accepts. */
#define EM_IGNORE(call) ((void)!(call))

#ifdef __cplusplus
extern "C" {
#endif

enum em_code {
	EM_OK = 0,
	EM_ENOMEM = -1,      /* out of memory */
	EM_EINVAL = -2,      /* input does not follow its grammar or rules */
	EM_ELIMIT = -3,      /* input exceeds a size, depth or count limit */
	EM_EIO = -4,         /* a system call failed (errno is in the message) */
	EM_ENOTFOUND = -5,   /* a named thing does not exist */
	EM_EUSAGE = -6,      /* the caller used the API or the command line wrongly */
	EM_EUNDEFINED = -7,  /* a value needed for evaluation is not known */
	EM_EUNSUPPORTED = -8, /* valid input this version does not handle */
	EM_ECONFLICT = -9,    /* requirements that no set of versions satisfies */
	EM_EBUSY = -10,       /* another process holds what is needed (the apply lock) */
	EM_ECANCELED = -11,   /* the caller asked to stop (Ctrl-C) */
	EM_EOFFLINE = -12     /* the answer needs the network, which --offline forbids */
};

#define EM_ERROR_WHERE_MAX 512
#define EM_ERROR_MSG_MAX 1024

struct em_error {
	int code;                       /* 0 when no error is recorded */
	char where[EM_ERROR_WHERE_MAX]; /* "" when the message needs no place */
	char msg[EM_ERROR_MSG_MAX];
};

/* Record an error and return code, so callers can write
 *     return em_err(e, EM_EINVAL, NULL, "invalid version '%s'", s);
 * e may be NULL (the error is then only returned). where may be NULL. */
int em_err(struct em_error *e, int code, const char *where, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Record an out-of-memory error. */
int em_err_nomem(struct em_error *e);

/* Record a failed system call: "<what>: <strerror(errnum)>". */
int em_err_sys(struct em_error *e, int errnum, const char *where, const char *what);

/* Put a place in front of an existing record ("matrix.ini:3" + "...").
 * When the record already has a place, the new one is joined in front
 * with ": " so the outermost context reads first. */
void em_err_prefix_where(struct em_error *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void em_error_clear(struct em_error *e);

/* A short generic description of a code ("invalid input"). */
const char *em_strerror(int code);

/* Make arbitrary bytes safe to show in a message: control bytes (NUL, newline,
 * escape...) are written as \xNN, everything else is kept, and the result is
 * cut with "..." when it does not fit. Returns dst. dstsize must be >= 8. */
char *em_quote(char *dst, size_t dstsize, const char *s, size_t n);

#ifdef __cplusplus
}
#endif

#endif
