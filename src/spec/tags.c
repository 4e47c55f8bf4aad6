/* tags.c - the compatibility tags a target supports, best first
 *
 * The list is what pypa/packaging 26.x gives for a non-debug CPython:
 * cpython_tags(python, abis=[cpXY or cpXYt], platforms) followed by
 * compatible_tags(python, interpreter=cpXY, platforms), with the platform
 * list of the target:
 *   Windows  win_amd64 | win_arm64 | win32
 *   Linux    linux_ARCH, then manylinux_X_Y_ARCH from the target's glibc down
 *            to 2.5 (x86_64, i686) or 2.17 (others), each legacy alias
 *            (manylinux2014/2010/1) right after 2.17/2.12/2.5; or, on musl,
 *            musllinux_X_Y_ARCH from the target's musl down to X.0
 *   macOS    mac_platforms((X, Y), arch)
 * Since packaging 26.3 the native linux_ARCH tag ranks before manylinux.
 */
#include "spec/tags.h"
#include "util/grow.h"
#include "util/str.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Largest glibc minor assumed for an older glibc major (packaging's
 * _LAST_GLIBC_MINOR default). */
#define LAST_GLIBC_MINOR 50

struct strlist {
	struct em_arena *a;
	const char **v;
	uint32_t n, cap;
	int err;
};

static void sl_add(struct strlist *l, const char *s)
{
	if (l->err)
		return;
	if (!s) {
		l->err = EM_ENOMEM;
		return;
	}
	if (em_arena_grow(l->a, &l->v, &l->cap, l->n, sizeof *l->v)) {
		l->err = EM_ENOMEM;
		return;
	}
	l->v[l->n++] = s;
}

static void sl_addf(struct strlist *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sl_addf(struct strlist *l, const char *fmt, ...)
{
	char buf[128];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof buf) {
		l->err = EM_ELIMIT;
		return;
	}
	sl_add(l, em_arena_strndup(l->a, buf, (size_t)n));
}

static const char *linux_arch(enum em_arch arch)
{
	switch (arch) {
	case EM_ARCH_X86_64: return "x86_64";
	case EM_ARCH_AARCH64: return "aarch64";
	case EM_ARCH_I686: return "i686";
	case EM_ARCH_ARMV7L: return "armv7l";
	case EM_ARCH_PPC64LE: return "ppc64le";
	case EM_ARCH_S390X: return "s390x";
	case EM_ARCH_RISCV64: return "riscv64";
	}
	return "unknown";
}

static void manylinux_platforms(struct strlist *l, const struct em_platform *p)
{
	const char *arch = linux_arch(p->arch);
	/* the oldest glibc with manylinux tags: 2.5 on x86, 2.17 elsewhere */
	unsigned floor_minor = (p->arch == EM_ARCH_X86_64 || p->arch == EM_ARCH_I686) ? 5 : 17;
	for (unsigned major = p->libc_major; major >= 2; major--) {
		unsigned top = major == p->libc_major ? p->libc_minor : LAST_GLIBC_MINOR;
		unsigned bottom = major == 2 ? floor_minor : 0;
		for (unsigned minor = top + 1; minor-- > bottom;) {
			sl_addf(l, "manylinux_%u_%u_%s", major, minor, arch);
			if (major != 2)
				continue;
			if (minor == 17)
				sl_addf(l, "manylinux2014_%s", arch);
			else if (minor == 12)
				sl_addf(l, "manylinux2010_%s", arch);
			else if (minor == 5)
				sl_addf(l, "manylinux1_%s", arch);
		}
	}
}

static void mac_formats(struct strlist *l, unsigned major, unsigned minor, enum em_arch arch)
{
	if (arch == EM_ARCH_AARCH64) {
		sl_addf(l, "macosx_%u_%u_arm64", major, minor);
		sl_addf(l, "macosx_%u_%u_universal2", major, minor);
		return;
	}
	if (major == 10 && minor < 4)
		return;
	static const char *const x86_64_formats[] = {
		"x86_64", "intel", "fat64", "fat3", "universal2", "universal",
	};
	for (size_t i = 0; i < sizeof x86_64_formats / sizeof x86_64_formats[0]; i++)
		sl_addf(l, "macosx_%u_%u_%s", major, minor, x86_64_formats[i]);
}

static void mac_platforms(struct strlist *l, const struct em_platform *p)
{
	if (p->macos_major == 10) {
		for (unsigned minor = p->macos_minor + 1; minor-- > 0;)
			mac_formats(l, 10, minor, p->arch);
		return;
	}
	for (unsigned major = p->macos_major; major > 10; major--)
		mac_formats(l, major, 0, p->arch);
	/* 10.16 down to 10.4: x86_64 keeps its formats; arm64 only matches
	 * universal2 binaries whose x86_64 half supports the older release */
	for (unsigned minor = 16; minor > 3; minor--) {
		if (p->arch == EM_ARCH_X86_64)
			mac_formats(l, 10, minor, p->arch);
		else
			sl_addf(l, "macosx_10_%u_universal2", minor);
	}
}

static void platform_list(struct strlist *l, const struct em_platform *p)
{
	switch (p->os) {
	case EM_OS_WINDOWS:
		sl_add(l, p->arch == EM_ARCH_X86_64 ? "win_amd64"
			  : p->arch == EM_ARCH_AARCH64 ? "win_arm64" : "win32");
		return;
	case EM_OS_MACOS:
		mac_platforms(l, p);
		return;
	case EM_OS_LINUX:
		sl_addf(l, "linux_%s", linux_arch(p->arch));
		if (p->libc == EM_LIBC_GLIBC) {
			manylinux_platforms(l, p);
		} else if (p->libc == EM_LIBC_MUSL) {
			for (unsigned minor = p->libc_minor + 1; minor-- > 0;)
				sl_addf(l, "musllinux_%u_%u_%s", p->libc_major, minor,
					linux_arch(p->arch));
		}
		return;
	}
}

int em_platform_tags(struct em_arena *a, const struct em_platform *p, const char ***out,
		     size_t *n, struct em_error *e)
{
	struct strlist l = { a, NULL, 0, 0, 0 };
	platform_list(&l, p);
	if (l.err)
		return l.err == EM_ENOMEM ? em_err_nomem(e) : em_err(e, l.err, NULL, "platform tag too long");
	*out = l.v;
	*n = l.n;
	return 0;
}

/* ---- the lookup index ---- */

static uint32_t hash_tag(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++) {
		h ^= (uint32_t)em_lower((unsigned char)s[i]);
		h *= 16777619u;
	}
	return h;
}

static bool tag_eq(const char *t, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!t[i] || t[i] != em_lower((unsigned char)s[i]))
			return false;
	return t[n] == '\0';
}

static int build_index(struct em_arena *a, struct em_tagset *ts, struct em_error *e)
{
	size_t cap = 16;
	while (cap < ts->n * 2)
		cap *= 2;
	ts->hslots = em_arena_zalloc(a, cap * sizeof *ts->hslots);
	if (!ts->hslots)
		return em_err_nomem(e);
	ts->hcap = cap;
	for (size_t i = 0; i < ts->n; i++) {
		size_t len = strlen(ts->tags[i]);
		size_t j = hash_tag(ts->tags[i], len) & (cap - 1);
		for (;; j = (j + 1) & (cap - 1)) {
			uint32_t slot = ts->hslots[j];
			if (!slot) {
				ts->hslots[j] = (uint32_t)i + 1;
				break;
			}
			if (!strcmp(ts->tags[slot - 1], ts->tags[i]))
				break; /* a duplicate keeps its first (best) rank */
		}
	}
	return 0;
}

long em_tags_rank(const struct em_tagset *ts, const char *tag, size_t n)
{
	if (!ts->hcap)
		return -1;
	size_t mask = ts->hcap - 1;
	for (size_t j = hash_tag(tag, n) & mask;; j = (j + 1) & mask) {
		uint32_t slot = ts->hslots[j];
		if (!slot)
			return -1;
		if (tag_eq(ts->tags[slot - 1], tag, n))
			return (long)slot - 1;
	}
}

/* ---- the tag list ---- */

int em_tags_for_target(struct em_arena *a, const struct em_target *t, struct em_tagset *out,
		       struct em_error *e)
{
	const struct em_python *py = &t->py;
	memset(out, 0, sizeof *out);
	if (py->major < 2 || py->major > 9 || py->minor > 99)
		return em_err(e, EM_EINVAL, NULL, "unsupported Python version %u.%u", py->major,
			      py->minor);
	const char **plats;
	size_t np;
	int rc = em_platform_tags(a, &t->plat, &plats, &np, e);
	if (rc)
		return rc;

	struct strlist l = { a, NULL, 0, 0, 0 };
	unsigned maj = py->major, min = py->minor;
	bool ft = py->freethreaded;
	/* the stable ABI: abi3 for GIL builds from 3.2, abi3t for free-threaded ones */
	bool stable = maj > 3 || (maj == 3 && min >= 2);
	const char *stable_abi = ft ? "abi3t" : "abi3";

	/* cpython_tags */
	for (size_t i = 0; i < np; i++)
		sl_addf(&l, "cp%u%u-cp%u%u%s-%s", maj, min, maj, min, ft ? "t" : "", plats[i]);
	if (stable)
		for (size_t i = 0; i < np; i++)
			sl_addf(&l, "cp%u%u-%s-%s", maj, min, stable_abi, plats[i]);
	for (size_t i = 0; i < np; i++)
		sl_addf(&l, "cp%u%u-none-%s", maj, min, plats[i]);
	if (stable)
		for (unsigned m = min; m-- > 2;)
			for (size_t i = 0; i < np; i++)
				sl_addf(&l, "cp%u%u-%s-%s", maj, m, stable_abi, plats[i]);

	/* compatible_tags: py{XY}, py{X}, py{X(Y-1)} ... py{X0} */
	for (int pass = 0; pass < 2; pass++) {
		for (unsigned k = 0; k < min + 2u; k++) {
			char interp[16];
			if (k == 0)
				snprintf(interp, sizeof interp, "py%u%u", maj, min);
			else if (k == 1)
				snprintf(interp, sizeof interp, "py%u", maj);
			else
				snprintf(interp, sizeof interp, "py%u%u", maj, min - (k - 1));
			if (pass == 0)
				for (size_t i = 0; i < np; i++)
					sl_addf(&l, "%s-none-%s", interp, plats[i]);
			else
				sl_addf(&l, "%s-none-any", interp);
		}
		if (pass == 0)
			sl_addf(&l, "cp%u%u-none-any", maj, min);
	}
	if (l.err)
		return l.err == EM_ENOMEM ? em_err_nomem(e) : em_err(e, l.err, NULL, "tag too long");
	if (l.n > UINT32_MAX - 1)
		return em_err(e, EM_ELIMIT, NULL, "too many tags");
	out->n = l.n;
	out->tags = l.v;
	rc = build_index(a, out, e);
	if (rc)
		memset(out, 0, sizeof *out);
	return rc;
}
