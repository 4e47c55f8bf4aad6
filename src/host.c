/* host.c - the platform envmatrix runs on
 *
 * Linux: uname() gives the architecture, platform_release (the kernel
 * release) and platform_version (the kernel's build string), as Python's
 * platform module reports them. The C library is glibc when
 * confstr(_CS_GNU_LIBC_VERSION) answers (gnu_get_libc_version() as a
 * fallback), else musl when its dynamic loader /lib/ld-musl-ARCH.so.1
 * exists; the loader prints its version when run without arguments.
 * macOS: uname() and the kern.osproductversion sysctl.
 * Windows: GetNativeSystemInfo() and RtlGetVersion().
 */
#include "host.h"
#include "util/str.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(_WIN32)
#include <windows.h>
#else
#include <sys/utsname.h>
#include <unistd.h>
#endif

#if defined(__linux__)
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#if defined(__GLIBC__)
#include <gnu/libc-version.h>
#endif
extern char **environ;
#endif

#if defined(__APPLE__)
#include <sys/sysctl.h>
#endif

static void copy_str(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

#if defined(__linux__) || defined(__APPLE__)
/* "MAJOR.MINOR" at the start of s (trailing junk such as "-2014.11" is
 * ignored, as packaging does). */
static bool leading_pair(const char *s, unsigned *major, unsigned *minor)
{
	unsigned long x, y;
	char *end;
	if (!em_is_digit((unsigned char)*s))
		return false;
	errno = 0;
	x = strtoul(s, &end, 10);
	if (errno || *end != '.' || !em_is_digit((unsigned char)end[1]))
		return false;
	y = strtoul(end + 1, &end, 10);
	if (errno || x > 999 || y > 999)
		return false;
	*major = (unsigned)x;
	*minor = (unsigned)y;
	return true;
}
#endif

#if !defined(_WIN32)
static int arch_from_machine(const char *m, enum em_arch *arch)
{
	static const struct {
		const char *name;
		enum em_arch arch;
	} map[] = {
		{ "x86_64", EM_ARCH_X86_64 },   { "amd64", EM_ARCH_X86_64 },
		{ "aarch64", EM_ARCH_AARCH64 }, { "arm64", EM_ARCH_AARCH64 },
		{ "i686", EM_ARCH_I686 },       { "i586", EM_ARCH_I686 },
		{ "i486", EM_ARCH_I686 },       { "i386", EM_ARCH_I686 },
		{ "armv7l", EM_ARCH_ARMV7L },   { "armv8l", EM_ARCH_ARMV7L },
		{ "ppc64le", EM_ARCH_PPC64LE }, { "s390x", EM_ARCH_S390X },
		{ "riscv64", EM_ARCH_RISCV64 },
	};
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (!strcmp(m, map[i].name)) {
			*arch = map[i].arch;
			return 0;
		}
	return -1;
}
#endif

#if defined(__linux__)
static bool glibc_version(unsigned *major, unsigned *minor)
{
#if defined(_CS_GNU_LIBC_VERSION)
	char buf[64];
	size_t n = confstr(_CS_GNU_LIBC_VERSION, buf, sizeof buf);
	if (n > 0 && n <= sizeof buf) {
		/* "glibc 2.36": the version is the last word */
		const char *sp = strrchr(buf, ' ');
		if (sp && leading_pair(sp + 1, major, minor))
			return true;
	}
#endif
#if defined(__GLIBC__)
	if (leading_pair(gnu_get_libc_version(), major, minor))
		return true;
#endif
	return false;
}

/* Run the musl loader and read "Version X.Y.Z" from what it prints. */
static bool musl_version(const char *loader, unsigned *major, unsigned *minor)
{
	int fds[2];
	if (pipe(fds))
		return false;
	posix_spawn_file_actions_t fa;
	if (posix_spawn_file_actions_init(&fa)) {
		close(fds[0]);
		close(fds[1]);
		return false;
	}
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
	posix_spawn_file_actions_addclose(&fa, fds[0]);
	char *argv[] = { (char *)loader, NULL };
	pid_t pid;
	int rc = posix_spawn(&pid, loader, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	if (rc) {
		close(fds[0]);
		return false;
	}
	char out[512];
	size_t len = 0;
	for (;;) {
		ssize_t got = read(fds[0], out + len, sizeof out - 1 - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		len += (size_t)got;
		if (len == sizeof out - 1)
			break;
	}
	out[len] = '\0';
	close(fds[0]);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (strncmp(out, "musl", 4))
		return false;
	const char *v = strstr(out, "\nVersion ");
	return v && leading_pair(v + 9, major, minor);
}

static void detect_libc(struct em_platform *p, const char *machine)
{
	unsigned x, y;
	if (glibc_version(&x, &y)) {
		p->libc = EM_LIBC_GLIBC;
		p->libc_major = x;
		p->libc_minor = y;
		return;
	}
	/* the musl loader is named after the architecture as musl spells it */
	const char *march = machine;
	switch (p->arch) {
	case EM_ARCH_I686: march = "i386"; break;
	case EM_ARCH_ARMV7L: march = "armhf"; break;
	case EM_ARCH_PPC64LE: march = "powerpc64le"; break;
	default: break;
	}
	char loader[128];
	snprintf(loader, sizeof loader, "/lib/ld-musl-%s.so.1", march);
	if (access(loader, X_OK) == 0) {
		p->libc = EM_LIBC_MUSL;
		if (musl_version(loader, &x, &y)) {
			p->libc_major = x;
			p->libc_minor = y;
		} else {
			p->libc_major = EM_DEFAULT_MUSL_MAJOR;
			p->libc_minor = EM_DEFAULT_MUSL_MINOR;
		}
		return;
	}
	/* neither found: plan for the default glibc */
	p->libc = EM_LIBC_GLIBC;
	p->libc_major = EM_DEFAULT_GLIBC_MAJOR;
	p->libc_minor = EM_DEFAULT_GLIBC_MINOR;
}
#endif

#if defined(__APPLE__)
static void detect_macos(struct em_platform *p)
{
	char buf[64];
	size_t n = sizeof buf;
	unsigned x = 0, y = 0;
	if (sysctlbyname("kern.osproductversion", buf, &n, NULL, 0) == 0 && n > 0 &&
	    n <= sizeof buf) {
		buf[n - 1] = '\0';
		if (!leading_pair(buf, &x, &y) && em_is_digit((unsigned char)buf[0])) {
			x = (unsigned)strtoul(buf, NULL, 10);
			y = 0;
		}
	}
	if (x < 10) {
		x = p->arch == EM_ARCH_AARCH64 ? EM_DEFAULT_MACOS_ARM64_MAJOR
					       : EM_DEFAULT_MACOS_X86_64_MAJOR;
		y = 0;
	}
	p->macos_major = x;
	p->macos_minor = y;
}
#endif

#if defined(_WIN32)
typedef LONG(WINAPI *rtl_get_version_fn)(OSVERSIONINFOW *);

int em_host_platform(struct em_platform *out, struct em_error *e)
{
	struct em_platform p;
	memset(&p, 0, sizeof p);
	p.os = EM_OS_WINDOWS;
	SYSTEM_INFO si;
	GetNativeSystemInfo(&si);
	switch (si.wProcessorArchitecture) {
	case PROCESSOR_ARCHITECTURE_AMD64: p.arch = EM_ARCH_X86_64; break;
	case PROCESSOR_ARCHITECTURE_ARM64: p.arch = EM_ARCH_AARCH64; break;
	case PROCESSOR_ARCHITECTURE_INTEL: p.arch = EM_ARCH_I686; break;
	default:
		return em_err(e, EM_EUNSUPPORTED, NULL, "unsupported Windows architecture %u",
			      (unsigned)si.wProcessorArchitecture);
	}
	/* platform.release() is "10" or "11" (build 22000 and later);
	 * platform.version() is "MAJOR.MINOR.BUILD" */
	OSVERSIONINFOW vi;
	memset(&vi, 0, sizeof vi);
	vi.dwOSVersionInfoSize = sizeof vi;
	HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
	rtl_get_version_fn get = ntdll ? (rtl_get_version_fn)(void (*)(void))GetProcAddress(
						 ntdll, "RtlGetVersion")
				       : NULL;
	if (get && get(&vi) == 0) {
		unsigned long major = vi.dwMajorVersion, build = vi.dwBuildNumber;
		if (major == 10 && build >= 22000)
			copy_str(p.release, sizeof p.release, "11");
		else
			snprintf(p.release, sizeof p.release, "%lu", major);
		snprintf(p.version, sizeof p.version, "%lu.%lu.%lu", major,
			 (unsigned long)vi.dwMinorVersion, build);
	}
	*out = p;
	return 0;
}

#else

int em_host_platform(struct em_platform *out, struct em_error *e)
{
	struct utsname u;
	if (uname(&u))
		return em_err_sys(e, errno, NULL, "uname");
	struct em_platform p;
	memset(&p, 0, sizeof p);
	if (arch_from_machine(u.machine, &p.arch))
		return em_err(e, EM_EUNSUPPORTED, NULL, "unsupported machine architecture '%s'",
			      u.machine);
	copy_str(p.release, sizeof p.release, u.release);
	copy_str(p.version, sizeof p.version, u.version);
#if defined(__linux__)
	p.os = EM_OS_LINUX;
	detect_libc(&p, u.machine);
#elif defined(__APPLE__)
	p.os = EM_OS_MACOS;
	if (p.arch != EM_ARCH_X86_64 && p.arch != EM_ARCH_AARCH64)
		return em_err(e, EM_EUNSUPPORTED, NULL, "unsupported macOS architecture '%s'",
			      u.machine);
	detect_macos(&p);
#else
	return em_err(e, EM_EUNSUPPORTED, NULL, "unsupported operating system '%s'", u.sysname);
#endif
	*out = p;
	return 0;
}

#endif
