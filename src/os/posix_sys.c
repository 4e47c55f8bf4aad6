/* posix_sys.c - environment, clocks and machine facts on POSIX systems */
#include "os/sys.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#if defined(__GLIBC__)
#include <gnu/libc-version.h>
#endif
#if defined(__APPLE__)
#include <sys/sysctl.h>
#endif

extern char **environ;

const char *em_os_getenv(const char *name)
{
	return getenv(name);
}

int em_os_setenv(const char *name, const char *value)
{
	return value ? setenv(name, value, 1) : unsetenv(name);
}

char *const *em_os_environ(void)
{
	return environ;
}

double em_os_now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int64_t em_os_wall_s(void)
{
	return (int64_t)time(NULL);
}

void em_os_sleep_ms(long ms)
{
	if (ms <= 0)
		return;
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

long em_os_cpu_count(void)
{
	return sysconf(_SC_NPROCESSORS_ONLN);
}

int em_os_hostname(char *buf, size_t n)
{
	if (!n)
		return 0;
	int rc = gethostname(buf, n);
	buf[n - 1] = '\0';
	return rc;
}

static void copy_str(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src);
}

int em_os_uname(struct em_os_uname *u)
{
	struct utsname s;
	if (uname(&s))
		return -1;
	copy_str(u->sysname, sizeof u->sysname, s.sysname);
	copy_str(u->release, sizeof u->release, s.release);
	copy_str(u->version, sizeof u->version, s.version);
	copy_str(u->machine, sizeof u->machine, s.machine);
	return 0;
}

bool em_os_glibc_version(char *buf, size_t n)
{
	if (!n)
		return false;
#if defined(_CS_GNU_LIBC_VERSION)
	char cs[64];
	size_t got = confstr(_CS_GNU_LIBC_VERSION, cs, sizeof cs);
	if (got > 0 && got <= sizeof cs) {
		/* "glibc 2.36": the version is the last word */
		const char *sp = strrchr(cs, ' ');
		if (sp) {
			copy_str(buf, n, sp + 1);
			return true;
		}
	}
#endif
#if defined(__GLIBC__)
	copy_str(buf, n, gnu_get_libc_version());
	return true;
#else
	return false;
#endif
}

bool em_os_macos_version(char *buf, size_t n)
{
#if defined(__APPLE__)
	size_t len = n;
	if (n == 0 || sysctlbyname("kern.osproductversion", buf, &len, NULL, 0) != 0 || len == 0 ||
	    len > n)
		return false;
	buf[len - 1] = '\0';
	return true;
#else
	(void)buf;
	(void)n;
	return false;
#endif
}

bool em_os_isatty(int fd)
{
	return isatty(fd) == 1;
}

void *em_os_dlopen(const char *name)
{
	return dlopen(name, RTLD_NOW | RTLD_LOCAL);
}

void *em_os_dlsym(void *lib, const char *name)
{
	return dlsym(lib, name);
}

void em_os_dlclose(void *lib)
{
	if (lib)
		dlclose(lib);
}
