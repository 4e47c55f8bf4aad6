/* activate.h - the activation scripts of a venv (private to src/venv.c)
 *
 * Every generator appends to a buffer (check its sticky error once). The
 * values are taken as they come: src/venv.c checks them first (names are
 * shell identifiers, a Windows target's values hold no control character,
 * the prompt is letters, digits, '.', '-' and '_').
 */
#ifndef ENVMATRIX_ACTIVATE_H
#define ENVMATRIX_ACTIVATE_H

#include <stdint.h>

#include "util/buf.h"
#include "spec/target.h"

struct em_activate {
	enum em_os os;       /* Windows: Scripts, cygpath in activate, .bat files */
	const char *venv;    /* the final root, as written into the scripts */
	char sep;            /* joins paths under venv: '/' or '\\' */
	const char *bin;     /* "bin" or "Scripts" */
	const char *prompt;  /* VIRTUAL_ENV_PROMPT */
	uint32_t nenv;
	const char *const *names;
	const char *const *values;
};

/* activate: bash, zsh, ksh, dash and POSIX sh (LF) */
void em_activate_sh(struct em_buf *b, const struct em_activate *c);
/* activate.fish */
void em_activate_fish(struct em_buf *b, const struct em_activate *c);
/* activate.bat (CRLF) */
void em_activate_bat(struct em_buf *b, const struct em_activate *c);
/* deactivate.bat (CRLF): the same in every venv */
void em_deactivate_bat(struct em_buf *b);
/* Activate.ps1: the same in every venv; reads pyvenv.cfg at run time */
extern const char em_activate_ps1[];

/* A value as pyvenv.cfg holds it for Activate.ps1: \\ \n \r \t, \xHH for
 * other control bytes, bytes that are not UTF-8 and a space at either end;
 * everything else as it is. */
void em_activate_cfg_escape(struct em_buf *b, const char *s);

/* The names a workload variable may not take (the scripts set them
 * themselves), compared ignoring ASCII case; the prefix _EM_ is reserved
 * too. */
extern const char *const em_activate_reserved[];

#endif
