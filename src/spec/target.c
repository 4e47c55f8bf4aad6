/* target.c - platform and Python names, and the marker environment they imply
 *
 * Platform names (ASCII case is ignored; em_platform_name() gives the
 * canonical lower-case form shown first in each line):
 *
 *   linux-ARCH-glibcX.Y    glibc X.Y (manylinux_X_Y and older)
 *   linux-ARCH-muslX.Y     musl X.Y (musllinux_X_Y and older)
 *   linux-ARCH             glibc 2.28; also linux-ARCH-glibc (2.28), linux-ARCH-musl (1.2)
 *       ARCH: x86_64 (or amd64), aarch64 (arm64), i686 (x86, i386, i586),
 *             armv7l, ppc64le, s390x, riscv64
 *   windows-ARCH           ARCH: x86_64 (amd64), arm64 (aarch64), x86 (i686, win32)
 *   macos-ARCH-X.Y         ARCH: arm64 (aarch64), x86_64; macos-ARCH-X means X.0;
 *   macos-ARCH             macOS 12.0; arm64 needs 11.0 or later
 *   win_amd64, amd64, win_arm64, win32     Windows aliases
 *
 * and the wheel platform tags themselves, which name the newest platform the
 * target provides:
 *   manylinux_X_Y_ARCH     glibc X.Y      manylinux2014_ARCH   glibc 2.17
 *   manylinux2010_ARCH     glibc 2.12     manylinux1_ARCH      glibc 2.5
 *   musllinux_X_Y_ARCH     musl X.Y       linux_ARCH           glibc 2.28
 *   macosx_X_Y_ARCH        macOS X.Y (ARCH arm64 or x86_64)
 * where ARCH in a tag is spelled as the tag spells it (x86_64, aarch64, i686,
 * armv7l, ppc64le, s390x, riscv64).
 *
 * Bounds: glibc 2.0-9.99, musl 1.0-9.99, macOS 10.0-99.99 (arm64 from 11.0).
 *
 * Python names: X.Y, X.Y.Z, X.Y.Z followed by aN, bN or rcN, each optionally
 * followed by 't' for a free-threaded build (3.13 or later): 3.12, 3.12.10,
 * 3.13t, 3.14.0rc1, 3.12.10t. Only CPython 3 is planned for.
 */
#include "spec/target.h"
#include "util/str.h"

#include <stdio.h>
#include <string.h>

#define PLATFORM_NAME_MAX 64 /* longer input cannot be a platform name */
#define PYTHON_NAME_MAX 32

static const char platform_forms[] =
	"expected linux-ARCH[-glibcX.Y|-muslX.Y], windows-ARCH, macos-ARCH[-X.Y] "
	"or a wheel platform tag such as manylinux_2_28_x86_64, musllinux_1_2_aarch64, "
	"win_amd64 or macosx_14_0_arm64; ARCH is x86_64, aarch64, i686, armv7l, "
	"ppc64le, s390x or riscv64 on Linux, x86_64, arm64 or x86 on Windows, "
	"arm64 or x86_64 on macOS";

struct arch_name {
	const char *name;
	enum em_arch arch;
};

/* Spellings in platform names (not in tags). */
static const struct arch_name arch_aliases[] = {
	{ "x86_64", EM_ARCH_X86_64 },   { "amd64", EM_ARCH_X86_64 },
	{ "aarch64", EM_ARCH_AARCH64 }, { "arm64", EM_ARCH_AARCH64 },
	{ "i686", EM_ARCH_I686 },       { "x86", EM_ARCH_I686 },
	{ "i386", EM_ARCH_I686 },       { "i586", EM_ARCH_I686 },
	{ "win32", EM_ARCH_I686 },      { "armv7l", EM_ARCH_ARMV7L },
	{ "ppc64le", EM_ARCH_PPC64LE }, { "s390x", EM_ARCH_S390X },
	{ "riscv64", EM_ARCH_RISCV64 },
};

/* Spellings in Linux wheel platform tags (and canonical Linux names). */
static const struct arch_name linux_tag_archs[] = {
	{ "x86_64", EM_ARCH_X86_64 },   { "aarch64", EM_ARCH_AARCH64 },
	{ "i686", EM_ARCH_I686 },       { "armv7l", EM_ARCH_ARMV7L },
	{ "ppc64le", EM_ARCH_PPC64LE }, { "s390x", EM_ARCH_S390X },
	{ "riscv64", EM_ARCH_RISCV64 },
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static bool find_arch(const struct arch_name *tab, size_t n, const char *s, size_t len,
		      enum em_arch *out)
{
	for (size_t i = 0; i < n; i++)
		if (em_str_eq(s, len, tab[i].name)) {
			*out = tab[i].arch;
			return true;
		}
	return false;
}

static bool arch_allowed(enum em_os os, enum em_arch arch)
{
	switch (os) {
	case EM_OS_LINUX:
		return true;
	case EM_OS_WINDOWS:
		return arch == EM_ARCH_X86_64 || arch == EM_ARCH_AARCH64 || arch == EM_ARCH_I686;
	case EM_OS_MACOS:
		return arch == EM_ARCH_X86_64 || arch == EM_ARCH_AARCH64;
	}
	return false;
}

/* The architecture as a Linux platform tag spells it. */
static const char *linux_arch_name(enum em_arch arch)
{
	for (size_t i = 0; i < COUNT(linux_tag_archs); i++)
		if (linux_tag_archs[i].arch == arch)
			return linux_tag_archs[i].name;
	return "unknown";
}

/* The architecture in canonical platform names. */
static const char *arch_name(enum em_os os, enum em_arch arch)
{
	if (os == EM_OS_LINUX)
		return linux_arch_name(arch);
	switch (arch) {
	case EM_ARCH_X86_64:
		return "x86_64";
	case EM_ARCH_AARCH64:
		return "arm64";
	case EM_ARCH_I686:
		return "x86";
	default:
		return "unknown";
	}
}

const char *em_platform_machine(const struct em_platform *p)
{
	switch (p->os) {
	case EM_OS_LINUX:
		return linux_arch_name(p->arch);
	case EM_OS_WINDOWS:
		return p->arch == EM_ARCH_X86_64 ? "AMD64" : p->arch == EM_ARCH_AARCH64 ? "ARM64" : "x86";
	case EM_OS_MACOS:
		return p->arch == EM_ARCH_AARCH64 ? "arm64" : "x86_64";
	}
	return "";
}

/* ---- small scanners over a lower-cased, NUL-terminated copy ---- */

/* Decimal number of at most 4 digits; advances *p. */
static bool scan_num(const char **p, unsigned *out)
{
	const char *s = *p;
	unsigned v = 0;
	size_t i = 0;
	while (em_is_digit((unsigned char)s[i])) {
		if (i == 4)
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
		i++;
	}
	if (i == 0)
		return false;
	*out = v;
	*p = s + i;
	return true;
}

/* "X<sep>Y" with both numbers; advances *p. */
static bool scan_pair(const char **p, char sep, unsigned *x, unsigned *y)
{
	const char *s = *p;
	if (!scan_num(&s, x) || *s != sep)
		return false;
	s++;
	if (!scan_num(&s, y))
		return false;
	*p = s;
	return true;
}

static bool starts(const char *s, const char *prefix, const char **rest)
{
	size_t n = strlen(prefix);
	if (strncmp(s, prefix, n))
		return false;
	*rest = s + n;
	return true;
}

static void platform_init(struct em_platform *p, enum em_os os, enum em_arch arch)
{
	memset(p, 0, sizeof *p);
	p->os = os;
	p->arch = arch;
	if (os == EM_OS_LINUX) {
		p->libc = EM_LIBC_GLIBC;
		p->libc_major = EM_DEFAULT_GLIBC_MAJOR;
		p->libc_minor = EM_DEFAULT_GLIBC_MINOR;
	} else if (os == EM_OS_MACOS) {
		p->macos_major = arch == EM_ARCH_AARCH64 ? EM_DEFAULT_MACOS_ARM64_MAJOR
							 : EM_DEFAULT_MACOS_X86_64_MAJOR;
		p->macos_minor = 0;
	}
}

static int check_versions(const struct em_platform *p, const char *quoted, struct em_error *e)
{
	if (p->os == EM_OS_LINUX && p->libc == EM_LIBC_GLIBC &&
	    (p->libc_major < 2 || p->libc_major > 9 || p->libc_minor > 99))
		return em_err(e, EM_EINVAL, NULL,
			      "unsupported glibc version %u.%u in platform '%s' (2.0 to 9.99)",
			      p->libc_major, p->libc_minor, quoted);
	if (p->os == EM_OS_LINUX && p->libc == EM_LIBC_MUSL &&
	    (p->libc_major < 1 || p->libc_major > 9 || p->libc_minor > 99))
		return em_err(e, EM_EINVAL, NULL,
			      "unsupported musl version %u.%u in platform '%s' (1.0 to 9.99)",
			      p->libc_major, p->libc_minor, quoted);
	if (p->os == EM_OS_MACOS) {
		if (p->macos_major < 10 || p->macos_major > 99 || p->macos_minor > 99)
			return em_err(e, EM_EINVAL, NULL,
				      "unsupported macOS version %u.%u in platform '%s' (10.0 to 99.99)",
				      p->macos_major, p->macos_minor, quoted);
		if (p->arch == EM_ARCH_AARCH64 && p->macos_major < 11)
			return em_err(e, EM_EINVAL, NULL,
				      "macOS on arm64 starts at 11.0, not %u.%u (platform '%s')",
				      p->macos_major, p->macos_minor, quoted);
	}
	return 0;
}

/* A wheel platform tag: manylinux..., musllinux..., linux_..., macosx..., win... */
static int parse_tag_form(const char *s, struct em_platform *out, bool *matched)
{
	const char *r;
	unsigned x, y;
	enum em_arch arch;
	*matched = true;

	if (!strcmp(s, "win_amd64") || !strcmp(s, "amd64")) {
		platform_init(out, EM_OS_WINDOWS, EM_ARCH_X86_64);
		return 0;
	}
	if (!strcmp(s, "win_arm64")) {
		platform_init(out, EM_OS_WINDOWS, EM_ARCH_AARCH64);
		return 0;
	}
	if (!strcmp(s, "win32")) {
		platform_init(out, EM_OS_WINDOWS, EM_ARCH_I686);
		return 0;
	}
	static const struct {
		const char *prefix;
		unsigned major, minor;
	} legacy[] = {
		{ "manylinux1_", 2, 5 },
		{ "manylinux2010_", 2, 12 },
		{ "manylinux2014_", 2, 17 },
	};
	for (size_t i = 0; i < COUNT(legacy); i++) {
		if (!starts(s, legacy[i].prefix, &r))
			continue;
		if (!find_arch(linux_tag_archs, COUNT(linux_tag_archs), r, strlen(r), &arch))
			return -1;
		platform_init(out, EM_OS_LINUX, arch);
		out->libc_major = legacy[i].major;
		out->libc_minor = legacy[i].minor;
		return 0;
	}
	if (starts(s, "manylinux_", &r) || starts(s, "musllinux_", &r)) {
		bool musl = s[1] == 'u';
		if (!scan_pair(&r, '_', &x, &y) || *r != '_')
			return -1;
		r++;
		if (!find_arch(linux_tag_archs, COUNT(linux_tag_archs), r, strlen(r), &arch))
			return -1;
		platform_init(out, EM_OS_LINUX, arch);
		out->libc = musl ? EM_LIBC_MUSL : EM_LIBC_GLIBC;
		out->libc_major = x;
		out->libc_minor = y;
		return 0;
	}
	if (starts(s, "linux_", &r)) {
		if (!find_arch(linux_tag_archs, COUNT(linux_tag_archs), r, strlen(r), &arch))
			return -1;
		platform_init(out, EM_OS_LINUX, arch);
		return 0;
	}
	if (starts(s, "macosx_", &r)) {
		if (!scan_pair(&r, '_', &x, &y) || *r != '_')
			return -1;
		r++;
		if (!strcmp(r, "arm64"))
			arch = EM_ARCH_AARCH64;
		else if (!strcmp(r, "x86_64"))
			arch = EM_ARCH_X86_64;
		else
			return -1;
		platform_init(out, EM_OS_MACOS, arch);
		out->macos_major = x;
		out->macos_minor = y;
		return 0;
	}
	*matched = false;
	return -1;
}

/* os-ARCH[-qualifier] */
static int parse_dash_form(const char *s, struct em_platform *out)
{
	enum em_os os;
	const char *r;
	if (starts(s, "linux-", &r))
		os = EM_OS_LINUX;
	else if (starts(s, "windows-", &r))
		os = EM_OS_WINDOWS;
	else if (starts(s, "macos-", &r))
		os = EM_OS_MACOS;
	else
		return -1;
	const char *dash = strchr(r, '-');
	size_t alen = dash ? (size_t)(dash - r) : strlen(r);
	enum em_arch arch;
	if (!find_arch(arch_aliases, COUNT(arch_aliases), r, alen, &arch) || !arch_allowed(os, arch))
		return -1;
	/* "win32" is a Windows spelling only */
	if (os != EM_OS_WINDOWS && em_str_eq(r, alen, "win32"))
		return -1;
	platform_init(out, os, arch);
	if (!dash)
		return 0;
	const char *q = dash + 1;
	unsigned x, y;
	switch (os) {
	case EM_OS_LINUX:
		if (starts(q, "glibc", &r)) {
			out->libc = EM_LIBC_GLIBC;
		} else if (starts(q, "musl", &r)) {
			out->libc = EM_LIBC_MUSL;
			out->libc_major = EM_DEFAULT_MUSL_MAJOR;
			out->libc_minor = EM_DEFAULT_MUSL_MINOR;
		} else {
			return -1;
		}
		if (!*r)
			return 0;
		if (!scan_pair(&r, '.', &x, &y) || *r)
			return -1;
		out->libc_major = x;
		out->libc_minor = y;
		return 0;
	case EM_OS_MACOS:
		if (!scan_num(&q, &x))
			return -1;
		y = 0;
		if (*q == '.') {
			q++;
			if (!scan_num(&q, &y))
				return -1;
		}
		if (*q)
			return -1;
		out->macos_major = x;
		out->macos_minor = y;
		return 0;
	case EM_OS_WINDOWS:
		break;
	}
	return -1;
}

/* s[0..n) in ASCII lower case into low[size], NUL-terminated; false when
 * it does not fit or holds a NUL (or, with ascii, a byte past 0x7f). */
static bool lower_name(const char *s, size_t n, char *low, size_t size, bool ascii)
{
	if (n >= size)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == 0 || (ascii && c >= 0x80))
			return false;
		low[i] = (char)em_lower(c);
	}
	low[n] = '\0';
	return true;
}

int em_platform_parse_n(const char *s, size_t n, struct em_platform *out, struct em_error *e)
{
	char q[96];
	em_quote(q, sizeof q, s, n);
	if (n == 0)
		return em_err(e, EM_EINVAL, NULL, "empty platform name (%s)", platform_forms);
	char low[PLATFORM_NAME_MAX];
	if (!lower_name(s, n, low, sizeof low, true))
		return em_err(e, EM_EINVAL, NULL, "unknown platform '%s' (%s)", q, platform_forms);

	struct em_platform p;
	bool matched;
	int rc = parse_tag_form(low, &p, &matched);
	if (!matched)
		rc = parse_dash_form(low, &p);
	if (rc)
		return em_err(e, EM_EINVAL, NULL, "unknown platform '%s' (%s)", q, platform_forms);
	rc = check_versions(&p, q, e);
	if (rc)
		return rc;
	*out = p;
	return 0;
}

int em_platform_parse(const char *s, struct em_platform *out, struct em_error *e)
{
	return em_platform_parse_n(s, s ? strlen(s) : 0, out, e);
}

int em_platform_name(const struct em_platform *p, char *buf, size_t size)
{
	const char *arch = arch_name(p->os, p->arch);
	switch (p->os) {
	case EM_OS_LINUX:
		if (p->libc == EM_LIBC_NONE)
			return snprintf(buf, size, "linux-%s", arch);
		if (p->libc == EM_LIBC_MUSL)
			return snprintf(buf, size, "linux-%s-musl%u.%u", arch, p->libc_major,
					p->libc_minor);
		return snprintf(buf, size, "linux-%s-glibc%u.%u", arch, p->libc_major, p->libc_minor);
	case EM_OS_WINDOWS:
		return snprintf(buf, size, "windows-%s", arch);
	case EM_OS_MACOS:
		return snprintf(buf, size, "macos-%s-%u.%u", arch, p->macos_major, p->macos_minor);
	}
	return snprintf(buf, size, "unknown");
}

/* ---- Python ---- */

static const char python_forms[] =
	"expected X.Y, X.Y.Z or X.Y.Z with aN, bN or rcN, optionally followed by 't' "
	"for a free-threaded build, e.g. 3.12, 3.12.10, 3.13t, 3.14.0rc1";

int em_python_parse_n(const char *s, size_t n, struct em_python *out, struct em_error *e)
{
	char q[96];
	em_quote(q, sizeof q, s, n);
	if (n == 0)
		return em_err(e, EM_EINVAL, NULL, "empty Python version (%s)", python_forms);
	char low[PYTHON_NAME_MAX];
	if (!lower_name(s, n, low, sizeof low, false))
		return em_err(e, EM_EINVAL, NULL, "invalid Python version '%s' (%s)", q, python_forms);

	struct em_python py;
	memset(&py, 0, sizeof py);
	const char *p = low;
	unsigned pre_num = 0;
	const char *pre_kind = NULL;
	if (!scan_pair(&p, '.', &py.major, &py.minor))
		goto invalid;
	if (*p == '.') {
		p++;
		if (!scan_num(&p, &py.micro))
			goto invalid;
		py.has_micro = true;
	}
	if (*p == 'a' || *p == 'b' || (p[0] == 'r' && p[1] == 'c')) {
		pre_kind = *p == 'a' ? "a" : *p == 'b' ? "b" : "rc";
		p += strlen(pre_kind);
		if (!scan_num(&p, &pre_num))
			goto invalid;
		if (!py.has_micro)
			return em_err(e, EM_EINVAL, NULL,
				      "invalid Python version '%s': a pre-release needs the micro "
				      "version (%u.%u.0%s%u)", q, py.major, py.minor, pre_kind, pre_num);
	}
	if (*p == 't') {
		py.freethreaded = true;
		p++;
	}
	if (*p)
		goto invalid;
	if (py.major != 3)
		return em_err(e, EM_EINVAL, NULL,
			      "unsupported Python version '%s': only CPython 3 is supported", q);
	if (py.minor > 99 || py.micro > 999 || pre_num > 999)
		return em_err(e, EM_EINVAL, NULL, "unsupported Python version '%s'", q);
	if (py.freethreaded && py.minor < 13)
		return em_err(e, EM_EINVAL, NULL,
			      "invalid Python version '%s': free-threaded builds start at 3.13", q);
	if (pre_kind)
		snprintf(py.pre, sizeof py.pre, "%s%u", pre_kind, pre_num);
	*out = py;
	return 0;
invalid:
	return em_err(e, EM_EINVAL, NULL, "invalid Python version '%s' (%s)", q, python_forms);
}

int em_python_parse(const char *s, struct em_python *out, struct em_error *e)
{
	return em_python_parse_n(s, s ? strlen(s) : 0, out, e);
}

int em_python_name(const struct em_python *py, char *buf, size_t size)
{
	const char *t = py->freethreaded ? "t" : "";
	if (!py->has_micro)
		return snprintf(buf, size, "%u.%u%s", py->major, py->minor, t);
	return snprintf(buf, size, "%u.%u.%u%s%s", py->major, py->minor, py->micro, py->pre, t);
}

/* ---- markers ---- */

void em_target_marker_env(const struct em_target *t, struct em_target_env *out)
{
	const struct em_platform *p = &t->plat;
	const struct em_python *py = &t->py;
	memset(out, 0, sizeof *out);
	const char **v = out->env.var;

	switch (p->os) {
	case EM_OS_WINDOWS:
		v[EM_MV_OS_NAME] = "nt";
		v[EM_MV_SYS_PLATFORM] = "win32";
		v[EM_MV_PLATFORM_SYSTEM] = "Windows";
		break;
	case EM_OS_MACOS:
		v[EM_MV_OS_NAME] = "posix";
		v[EM_MV_SYS_PLATFORM] = "darwin";
		v[EM_MV_PLATFORM_SYSTEM] = "Darwin";
		break;
	case EM_OS_LINUX:
	default:
		v[EM_MV_OS_NAME] = "posix";
		v[EM_MV_SYS_PLATFORM] = "linux";
		v[EM_MV_PLATFORM_SYSTEM] = "Linux";
		break;
	}
	v[EM_MV_PLATFORM_MACHINE] = em_platform_machine(p);
	v[EM_MV_PLATFORM_PYTHON_IMPLEMENTATION] = "CPython";
	v[EM_MV_IMPLEMENTATION_NAME] = "cpython";
	v[EM_MV_PLATFORM_RELEASE] = p->release[0] ? p->release : NULL;
	v[EM_MV_PLATFORM_VERSION] = p->version[0] ? p->version : NULL;
	v[EM_MV_EXTRA] = NULL;

	unsigned micro = py->has_micro ? py->micro : 0;
	snprintf(out->python_version, sizeof out->python_version, "%u.%u", py->major, py->minor);
	snprintf(out->python_full_version, sizeof out->python_full_version, "%u.%u.%u%s",
		 py->major, py->minor, micro, py->has_micro ? py->pre : "");
	/* sys.implementation.version through packaging's format_full_version:
	 * releaselevel alpha/beta/candidate gives a/b/c plus the serial */
	const char *serial = "";
	char level[2] = "";
	if (py->has_micro && py->pre[0]) {
		level[0] = py->pre[0] == 'r' ? 'c' : py->pre[0];
		serial = py->pre + (py->pre[0] == 'r' ? 2 : 1);
	}
	snprintf(out->implementation_version, sizeof out->implementation_version, "%u.%u.%u%s%s",
		 py->major, py->minor, micro, level, serial);
	v[EM_MV_PYTHON_VERSION] = out->python_version;
	v[EM_MV_PYTHON_FULL_VERSION] = out->python_full_version;
	v[EM_MV_IMPLEMENTATION_VERSION] = out->implementation_version;
}
