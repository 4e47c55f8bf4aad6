/* env.c - the process's environment variables (POSIX) */
#include "os/env.h"

#include <stdlib.h>

const char *em_os_env(const char *name)
{
	return getenv(name);
}
