/* env.h - the process's environment variables, for the library's defaults
 * (settings.c reads the user's world from them: PATH, HOME, XDG_*...)
 */
#ifndef ENVMATRIX_OS_ENV_H
#define ENVMATRIX_OS_ENV_H

/* The value of the variable name, or NULL when it is unset. */
const char *em_os_env(const char *name);

#endif
