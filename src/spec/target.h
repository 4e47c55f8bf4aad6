/* target.h - the platform and Python a workload is planned for
 *
 * A target is explicit data, not the host: envmatrix plans a Windows
 * workload on a Linux CI machine by describing Windows here. The host's own
 * description comes from host.h.
 *
 * Platform names (docs/standards.md has the full list):
 *   linux-x86_64, linux-x86_64-glibc2.28, linux-aarch64-musl1.2,
 *   windows-x86_64, windows-arm64, macos-arm64, macos-arm64-14.0
 * and the packaging platform tags themselves (manylinux_2_28_x86_64,
 * musllinux_1_2_aarch64, win_amd64, macosx_14_0_arm64).
 * Python: 3.12, 3.12.10, 3.13t (free-threaded), 3.14.0rc1.
 */
#ifndef ENVMATRIX_TARGET_H
#define ENVMATRIX_TARGET_H

#include <stdbool.h>
#include <stddef.h>

#include "envmatrix/error.h"
#include "spec/pep508.h"

enum em_os {
	EM_OS_LINUX = 1,
	EM_OS_WINDOWS,
	EM_OS_MACOS
};

enum em_arch {
	EM_ARCH_X86_64 = 1,
	EM_ARCH_AARCH64, /* arm64 on macOS and Windows */
	EM_ARCH_I686,    /* x86 / win32 */
	EM_ARCH_ARMV7L,
	EM_ARCH_PPC64LE,
	EM_ARCH_S390X,
	EM_ARCH_RISCV64
};

enum em_libc {
	EM_LIBC_NONE = 0, /* Windows, macOS */
	EM_LIBC_GLIBC,
	EM_LIBC_MUSL
};

/* Defaults when a Linux or macOS name gives no version. */
#define EM_DEFAULT_GLIBC_MAJOR 2
#define EM_DEFAULT_GLIBC_MINOR 28
#define EM_DEFAULT_MACOS_ARM64_MAJOR 12
#define EM_DEFAULT_MACOS_X86_64_MAJOR 12
#define EM_DEFAULT_MUSL_MAJOR 1   /* linux-ARCH-musl */
#define EM_DEFAULT_MUSL_MINOR 2

/* Buffer sizes that always hold em_platform_name / em_python_name. */
#define EM_PLATFORM_NAME_MAX 48
#define EM_PYTHON_NAME_MAX 32

struct em_platform {
	enum em_os os;
	enum em_arch arch;
	enum em_libc libc;
	unsigned libc_major, libc_minor;  /* glibc 2.28, musl 1.2 */
	unsigned macos_major, macos_minor;/* macOS 14.0 */
	/* platform_release / platform_version for markers; "" = unknown (a
	 * marker that reads them then fails, naming the variable) */
	char release[128];
	char version[256];
};

struct em_python {
	unsigned major, minor, micro;
	bool has_micro;    /* "3.12" leaves micro unknown (markers then see .0) */
	bool freethreaded; /* "3.13t" */
	char pre[16];      /* "", or "a1", "b2", "rc1" */
};

struct em_target {
	struct em_platform plat;
	struct em_python py;
};

/* Parse a platform name (not "auto": the caller asks host.h for that).
 * The grammar is documented at the top of src/target.c. Errors: EM_EINVAL
 * with a message listing the accepted forms. release/version are left "". */
EM_MUST_USE
int em_platform_parse(const char *s, struct em_platform *out, struct em_error *e);
/* The same for a slice (may hold any bytes). */
EM_MUST_USE
int em_platform_parse_n(const char *s, size_t n, struct em_platform *out, struct em_error *e);
/* Canonical name, e.g. "linux-x86_64-glibc2.28"; returns snprintf's count. */
int em_platform_name(const struct em_platform *p, char *buf, size_t size);

EM_MUST_USE
int em_python_parse(const char *s, struct em_python *out, struct em_error *e);
EM_MUST_USE
int em_python_parse_n(const char *s, size_t n, struct em_python *out, struct em_error *e);
/* "3.12.10", "3.13t", "3.14.0rc1"; returns snprintf's count. */
int em_python_name(const struct em_python *py, char *buf, size_t size);

/* platform_machine as Python reports it: "x86_64"/"aarch64"/... on Linux,
 * "AMD64"/"ARM64"/"x86" on Windows, "arm64"/"x86_64" on macOS. */
const char *em_platform_machine(const struct em_platform *p);

/* Storage the environment's strings point into. */
struct em_target_env {
	struct em_marker_env env;
	char python_version[16];
	char python_full_version[48];
	char implementation_version[48];
};

/* Fill the PEP 508 environment a target implies (extra left undefined;
 * callers set env.var[EM_MV_EXTRA]). platform_release / platform_version
 * are NULL (undefined) unless the platform carries them. */
void em_target_marker_env(const struct em_target *t, struct em_target_env *out);

#endif
