/* sys.h - the platform layer's environment, clocks and machine facts
 *
 * One clock for the whole tree: em_os_now_s (monotonic, for durations and
 * deadlines) and em_os_wall_s (calendar time, for what is written down).
 */
#ifndef ENVMATRIX_SYS_H
#define ENVMATRIX_SYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envmatrix/error.h" /* EM_MUST_USE */

/* getenv(3): the value, or NULL when unset (Windows: converted from the
 * UTF-16 environment, valid until the next call that changes it). */
const char *em_os_getenv(const char *name);
/* Set (value not NULL) or remove (value NULL) a variable of this process.
 * 0, or -1 and errno. */
EM_MUST_USE
int em_os_setenv(const char *name, const char *value);
/* The environment as NAME=VALUE strings, NULL-terminated (environ). */
char *const *em_os_environ(void);

/* Seconds on a monotonic clock (since an arbitrary start): durations,
 * deadlines, progress rates. */
double em_os_now_s(void);
/* Seconds since the epoch (time(2)): timestamps written to disk. */
int64_t em_os_wall_s(void);
/* Sleep for ms milliseconds (a signal may end it early). */
void em_os_sleep_ms(long ms);

/* Processors online (sysconf _SC_NPROCESSORS_ONLN; GetActiveProcessorCount),
 * a number below 1 when unknown. */
long em_os_cpu_count(void);
/* The host name, NUL-terminated and cut to n bytes: 0, or -1 and errno. */
EM_MUST_USE
int em_os_hostname(char *buf, size_t n);

/* What uname(2) says. Windows: sysname "Windows", release "10" or "11"
 * (build 22000 and later), version "MAJOR.MINOR.BUILD" (RtlGetVersion),
 * machine "AMD64", "ARM64" or "x86" (GetNativeSystemInfo). */
struct em_os_uname {
	char sysname[65];
	char release[65];
	char version[65];
	char machine[65];
};
EM_MUST_USE
int em_os_uname(struct em_os_uname *u);
/* The C library's version string when it is glibc ("2.36"), from
 * confstr(_CS_GNU_LIBC_VERSION) or gnu_get_libc_version; false when this
 * is not glibc (musl: run its loader, see host.c). */
bool em_os_glibc_version(char *buf, size_t n);

/* macOS: the product version ("14.2.1", sysctl kern.osproductversion);
 * false elsewhere or when unknown. */
bool em_os_macos_version(char *buf, size_t n);

/* Whether fd is a terminal (isatty). */
bool em_os_isatty(int fd);

/* A shared library loaded at run time (dlopen RTLD_NOW | RTLD_LOCAL;
 * Windows: LoadLibraryW, and for a bare name that is not found, the same
 * name in the system folder), a symbol from it, and unloading it (NULL is
 * fine). NULL when missing. */
void *em_os_dlopen(const char *name);
void *em_os_dlsym(void *lib, const char *name);
void em_os_dlclose(void *lib);

#endif
