/* host.c - the platform envmatrix runs on
 *
 * The facts come from the platform layer (os/sys.h); this file maps them
 * to a struct em_platform.
 * Linux: uname() gives the architecture, platform_release (the kernel
 * release) and platform_version (the kernel's build string), as Python's
 * platform module reports them. The C library is glibc when
 * confstr(_CS_GNU_LIBC_VERSION) answers (gnu_get_libc_version() as a
 * fallback), else musl when its dynamic loader /lib/ld-musl-ARCH.so.1
 * exists; the loader prints its version when run without arguments.
 * macOS: uname() and the kern.osproductversion sysctl.
 * Windows: em_os_uname's machine ("AMD64", "ARM64", "x86"), release ("10"
 * or "11") and version ("MAJOR.MINOR.BUILD").
 */
#include "host.h"
#include "os/fs.h"
#include "os/proc.h"
#include "os/sys.h"
#include "util/str.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	char buf[64];
	return em_os_glibc_version(buf, sizeof buf) && leading_pair(buf, major, minor);
}

/* Run the musl loader and read "Version X.Y.Z" from what it prints (on
 * stderr). */
static bool musl_version(const char *loader, unsigned *major, unsigned *minor)
{
	struct em_arena a;
	em_arena_init(&a);
	const char *argv[] = { loader, NULL };
	struct em_proc_result r;
	bool ok = em_proc_run(&a, argv, NULL, 511, 0, &r, NULL) == 0 &&
		  !strncmp(r.err, "musl", 4);
	const char *v = ok ? strstr(r.err, "\nVersion ") : NULL;
	ok = v && leading_pair(v + 9, major, minor);
	em_arena_release(&a);
	return ok;
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
	if (em_os_access(loader, EM_ACCESS_EXEC) == 0) {
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
	unsigned x = 0, y = 0;
	if (em_os_macos_version(buf, sizeof buf)) {
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

int em_host_platform(struct em_platform *out, struct em_error *e)
{
	struct em_os_uname u;
	if (em_os_uname(&u))
		return em_err_sys(e, errno, NULL, "uname");
	struct em_platform p;
	memset(&p, 0, sizeof p);
	/* Windows: platform.release() is "10" or "11"; platform.version() is
	 * "MAJOR.MINOR.BUILD" */
	copy_str(p.release, sizeof p.release, u.release);
	copy_str(p.version, sizeof p.version, u.version);
#if defined(_WIN32)
	p.os = EM_OS_WINDOWS;
	if (!strcmp(u.machine, "AMD64"))
		p.arch = EM_ARCH_X86_64;
	else if (!strcmp(u.machine, "ARM64"))
		p.arch = EM_ARCH_AARCH64;
	else if (!strcmp(u.machine, "x86"))
		p.arch = EM_ARCH_I686;
	else
		return em_err(e, EM_EUNSUPPORTED, NULL, "unsupported Windows architecture '%s'",
			      u.machine);
#else
	if (arch_from_machine(u.machine, &p.arch))
		return em_err(e, EM_EUNSUPPORTED, NULL, "unsupported machine architecture '%s'",
			      u.machine);
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
#endif
	*out = p;
	return 0;
}
