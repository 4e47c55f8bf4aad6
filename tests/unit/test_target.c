/* test_target.c - platform and Python names, marker environments, the host */
#include "testutil.h"

#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#if defined(__GLIBC__)
#include <gnu/libc-version.h>
#endif

#include "envmatrix/envmatrix.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/str.h"
#include "spec/name.h"
#include "spec/pep440.h"
#include "spec/pep508.h"
#include "spec/target.h"
#include "spec/tags.h"
#include "spec/metadata.h"
#include "host.h"
#include "util/sha256.h"
#include "os/fs.h"
#include "archive.h"
#include "spec/index.h"
#include "source.h"
#include "os/proc.h"
#include "interp.h"
#include "spec/matrix.h"
#include "spec/lock.h"
#include "lockname.h"
#include "spec/candidates.h"
#include "spec/resolve.h"
#include "gpu.h"
#include "plan.h"
#include "install.h"
#include "venv.h"
#include "http.h"
#include "cache.h"
#include "install_set.h"
#include "swap.h"
#include "apply_lock.h"
#include "apply.h"
#include "mirror.h"
#include "doctor.h"
#include "verify.h"
#include "history.h"
#include "rev.h"

static void test_platform_names(void **state)
{
	(void)state;
	static const struct {
		const char *in, *canon;
	} cases[] = {
		{ "linux-x86_64", "linux-x86_64-glibc2.28" },
		{ "linux-x86_64-glibc2.28", "linux-x86_64-glibc2.28" },
		{ "linux-x86_64-glibc2.39", "linux-x86_64-glibc2.39" },
		{ "linux-x86_64-glibc", "linux-x86_64-glibc2.28" },
		{ "Linux-AMD64", "linux-x86_64-glibc2.28" },
		{ "linux-arm64", "linux-aarch64-glibc2.28" },
		{ "linux-aarch64-musl1.2", "linux-aarch64-musl1.2" },
		{ "linux-aarch64-musl", "linux-aarch64-musl1.2" },
		{ "linux-x86_64-musl1.1", "linux-x86_64-musl1.1" },
		{ "linux-i686", "linux-i686-glibc2.28" },
		{ "linux-x86", "linux-i686-glibc2.28" },
		{ "linux-armv7l-glibc2.31", "linux-armv7l-glibc2.31" },
		{ "linux-ppc64le", "linux-ppc64le-glibc2.28" },
		{ "linux-s390x", "linux-s390x-glibc2.28" },
		{ "linux-riscv64-glibc2.39", "linux-riscv64-glibc2.39" },
		{ "linux-x86_64-glibc3.1", "linux-x86_64-glibc3.1" },
		{ "windows-x86_64", "windows-x86_64" },
		{ "windows-amd64", "windows-x86_64" },
		{ "win_amd64", "windows-x86_64" },
		{ "amd64", "windows-x86_64" },
		{ "AMD64", "windows-x86_64" },
		{ "windows-arm64", "windows-arm64" },
		{ "windows-aarch64", "windows-arm64" },
		{ "win_arm64", "windows-arm64" },
		{ "windows-x86", "windows-x86" },
		{ "windows-win32", "windows-x86" },
		{ "win32", "windows-x86" },
		{ "macos-arm64", "macos-arm64-12.0" },
		{ "macos-arm64-14.0", "macos-arm64-14.0" },
		{ "macos-arm64-14", "macos-arm64-14.0" },
		{ "macos-aarch64-15.2", "macos-arm64-15.2" },
		{ "macos-x86_64", "macos-x86_64-12.0" },
		{ "macos-x86_64-12.3", "macos-x86_64-12.3" },
		{ "macos-x86_64-10.9", "macos-x86_64-10.9" },
		{ "manylinux_2_28_x86_64", "linux-x86_64-glibc2.28" },
		{ "manylinux_2_17_aarch64", "linux-aarch64-glibc2.17" },
		{ "manylinux2014_x86_64", "linux-x86_64-glibc2.17" },
		{ "manylinux2010_i686", "linux-i686-glibc2.12" },
		{ "manylinux1_x86_64", "linux-x86_64-glibc2.5" },
		{ "musllinux_1_2_aarch64", "linux-aarch64-musl1.2" },
		{ "musllinux_1_1_x86_64", "linux-x86_64-musl1.1" },
		{ "linux_x86_64", "linux-x86_64-glibc2.28" },
		{ "linux_armv7l", "linux-armv7l-glibc2.28" },
		{ "macosx_14_0_arm64", "macos-arm64-14.0" },
		{ "macosx_10_9_x86_64", "macos-x86_64-10.9" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct em_platform p;
		struct em_error e;
		em_error_clear(&e);
		if (em_platform_parse(cases[i].in, &p, &e))
			fail_msg("'%s': %s", cases[i].in, e.msg);
		char buf[EM_PLATFORM_NAME_MAX];
		int n = em_platform_name(&p, buf, sizeof buf);
		assert_true(n > 0 && (size_t)n < sizeof buf);
		if (strcmp(buf, cases[i].canon))
			fail_msg("'%s' -> '%s', want '%s'", cases[i].in, buf, cases[i].canon);
		assert_string_equal(p.release, "");
		assert_string_equal(p.version, "");
		/* the canonical name reads back as itself */
		struct em_platform q;
		assert_int_equal(em_platform_parse(buf, &q, &e), 0);
		char buf2[EM_PLATFORM_NAME_MAX];
		em_platform_name(&q, buf2, sizeof buf2);
		assert_string_equal(buf, buf2);
	}
}

static void test_platform_errors(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"", "auto", "linux", "linux-", "linux-x86_64-", "linux-sparc", "linux-win32",
		"linux-x86_64-glibc2", "linux-x86_64-glibc2.", "linux-x86_64-glibc2.28.1",
		"linux-x86_64-glibc1.9", "linux-x86_64-glibc2.100", "linux-x86_64-musl0.9",
		"linux-x86_64-uclibc1.0", "linux-x86_64-glibc 2.28", " linux-x86_64",
		"windows", "windows-i686-10", "windows-ppc64le", "windows-x86_64-glibc2.28",
		"macos-arm64-10.15", "macos-arm64-11.x", "macos-x86_64-9.0", "macos-x86_64-100.0",
		"macos-i686", "macos-arm64-14.0.1", "manylinux_2_28", "manylinux_2_28_sparc",
		"manylinux_2_x_x86_64", "manylinux2015_x86_64", "manylinux_2_28_amd64",
		"musllinux_1_x86_64", "macosx_14_0_universal2", "macosx_14_0_arm", "linux_amd64",
		"win_amd64 ", "win_x86", "darwin", "linux-x86_64-glibc99999.1",
		"linux-x86_64-glibc2.28\n", "linux-x86_64-gl\xc3\xa9" "bc", "x86_64",
		"linux-x86_64-glibc2.28-extra-long-name-that-goes-on-and-on-and-on-and-on",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct em_platform p;
		struct em_error e;
		em_error_clear(&e);
		int rc = em_platform_parse(bad[i], &p, &e);
		if (rc != EM_EINVAL)
			fail_msg("'%s' was accepted (rc %d)", bad[i], rc);
		assert_true(e.msg[0] != '\0');
		assert_null(strchr(e.msg, '\n'));
	}
	/* the message names the input and the accepted forms */
	struct em_platform p;
	struct em_error e;
	em_error_clear(&e);
	assert_int_equal(em_platform_parse("solaris-sparc", &p, &e), EM_EINVAL);
	assert_non_null(strstr(e.msg, "'solaris-sparc'"));
	assert_non_null(strstr(e.msg, "linux-ARCH"));
	assert_non_null(strstr(e.msg, "manylinux_2_28_x86_64"));
	em_error_clear(&e);
	assert_int_equal(em_platform_parse("macos-arm64-10.15", &p, &e), EM_EINVAL);
	assert_non_null(strstr(e.msg, "11.0"));
	/* a slice with a NUL byte */
	em_error_clear(&e);
	assert_int_equal(em_platform_parse_n("win32\0x", 7, &p, &e), EM_EINVAL);
	assert_non_null(strstr(e.msg, "\\x00"));
	assert_int_equal(em_platform_parse_n("win32xyz", 5, &p, &e), 0);
	assert_int_equal(p.os, EM_OS_WINDOWS);
	assert_int_equal(p.arch, EM_ARCH_I686);
}

static void test_python_names(void **state)
{
	(void)state;
	static const struct {
		const char *in, *canon;
		unsigned major, minor, micro;
		bool has_micro, ft;
		const char *pre;
	} cases[] = {
		{ "3.12", "3.12", 3, 12, 0, false, false, "" },
		{ "3.12.10", "3.12.10", 3, 12, 10, true, false, "" },
		{ "3.13t", "3.13t", 3, 13, 0, false, true, "" },
		{ "3.14.0rc1", "3.14.0rc1", 3, 14, 0, true, false, "rc1" },
		{ "3.13.10t", "3.13.10t", 3, 13, 10, true, true, "" },
		{ "3.14.0a7", "3.14.0a7", 3, 14, 0, true, false, "a7" },
		{ "3.14.0b2t", "3.14.0b2t", 3, 14, 0, true, true, "b2" },
		{ "3.8", "3.8", 3, 8, 0, false, false, "" },
		{ "3.15", "3.15", 3, 15, 0, false, false, "" },
		{ "3.13.5T", "3.13.5t", 3, 13, 5, true, true, "" },
		{ "3.14.0RC2", "3.14.0rc2", 3, 14, 0, true, false, "rc2" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct em_python py;
		struct em_error e;
		em_error_clear(&e);
		if (em_python_parse(cases[i].in, &py, &e))
			fail_msg("'%s': %s", cases[i].in, e.msg);
		assert_int_equal(py.major, cases[i].major);
		assert_int_equal(py.minor, cases[i].minor);
		assert_int_equal(py.micro, cases[i].micro);
		assert_int_equal(py.has_micro, cases[i].has_micro);
		assert_int_equal(py.freethreaded, cases[i].ft);
		assert_string_equal(py.pre, cases[i].pre);
		char buf[EM_PYTHON_NAME_MAX];
		em_python_name(&py, buf, sizeof buf);
		assert_string_equal(buf, cases[i].canon);
	}
	static const char *const bad[] = {
		"", "3", "3.", "3.x", "3.12.", "3.12.10.1", "2.7", "4.0", "3.12t", "3.12.1t5",
		"3.14rc1", "3.14.0rc", "3.14.0c1", "3.14.0dev1", " 3.12", "3.12 ", "cp312",
		"python3.12", "3.100", "3.12.1000", "3.12\n", "3.13tt", "3.-1", "+3.12",
		"3.12.0.post1", "3.99999999999999999999",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct em_python py;
		struct em_error e;
		em_error_clear(&e);
		if (em_python_parse(bad[i], &py, &e) != EM_EINVAL)
			fail_msg("'%s' was accepted", bad[i]);
		assert_true(e.msg[0] != '\0');
	}
	struct em_python py;
	struct em_error e;
	em_error_clear(&e);
	assert_int_equal(em_python_parse("3.12t", &py, &e), EM_EINVAL);
	assert_non_null(strstr(e.msg, "3.13"));
	em_error_clear(&e);
	assert_int_equal(em_python_parse("3.14rc1", &py, &e), EM_EINVAL);
	assert_non_null(strstr(e.msg, "3.14.0rc1"));
	em_error_clear(&e);
	assert_int_equal(em_python_parse("banana", &py, &e), EM_EINVAL);
	assert_non_null(strstr(e.msg, "'banana'"));
	assert_int_equal(em_python_parse_n("3.12\0", 5, &py, &e), EM_EINVAL);
	assert_int_equal(em_python_parse_n("3.12.4", 4, &py, &e), 0);
	assert_false(py.has_micro);
}

static struct em_target target(const char *plat, const char *py)
{
	struct em_target t;
	struct em_error e;
	memset(&t, 0, sizeof t);
	em_error_clear(&e);
	if (em_platform_parse(plat, &t.plat, &e) || em_python_parse(py, &t.py, &e))
		fail_msg("%s / %s: %s", plat, py, e.msg);
	return t;
}

#define VAR(env, v) ((env).env.var[EM_MV_##v])

static void test_marker_env(void **state)
{
	(void)state;
	struct em_target_env env;
	struct em_target t = target("windows-x86_64", "3.12.10");
	em_target_marker_env(&t, &env);
	assert_string_equal(VAR(env, OS_NAME), "nt");
	assert_string_equal(VAR(env, SYS_PLATFORM), "win32");
	assert_string_equal(VAR(env, PLATFORM_SYSTEM), "Windows");
	assert_string_equal(VAR(env, PLATFORM_MACHINE), "AMD64");
	assert_string_equal(VAR(env, PLATFORM_PYTHON_IMPLEMENTATION), "CPython");
	assert_string_equal(VAR(env, IMPLEMENTATION_NAME), "cpython");
	assert_string_equal(VAR(env, PYTHON_VERSION), "3.12");
	assert_string_equal(VAR(env, PYTHON_FULL_VERSION), "3.12.10");
	assert_string_equal(VAR(env, IMPLEMENTATION_VERSION), "3.12.10");
	assert_null(VAR(env, PLATFORM_RELEASE));
	assert_null(VAR(env, PLATFORM_VERSION));
	assert_null(VAR(env, EXTRA));

	t = target("windows-arm64", "3.11");
	em_target_marker_env(&t, &env);
	assert_string_equal(VAR(env, PLATFORM_MACHINE), "ARM64");
	assert_string_equal(VAR(env, PYTHON_FULL_VERSION), "3.11.0");
	t = target("win32", "3.11");
	em_target_marker_env(&t, &env);
	assert_string_equal(VAR(env, PLATFORM_MACHINE), "x86");

	t = target("linux-aarch64-musl1.2", "3.14.0rc1");
	snprintf(t.plat.release, sizeof t.plat.release, "6.8.0-45-generic");
	em_target_marker_env(&t, &env);
	assert_string_equal(VAR(env, OS_NAME), "posix");
	assert_string_equal(VAR(env, SYS_PLATFORM), "linux");
	assert_string_equal(VAR(env, PLATFORM_SYSTEM), "Linux");
	assert_string_equal(VAR(env, PLATFORM_MACHINE), "aarch64");
	assert_string_equal(VAR(env, PYTHON_VERSION), "3.14");
	assert_string_equal(VAR(env, PYTHON_FULL_VERSION), "3.14.0rc1");
	/* sys.implementation.version has releaselevel 'candidate' -> 'c' */
	assert_string_equal(VAR(env, IMPLEMENTATION_VERSION), "3.14.0c1");
	assert_string_equal(VAR(env, PLATFORM_RELEASE), "6.8.0-45-generic");
	assert_null(VAR(env, PLATFORM_VERSION));

	t = target("macos-arm64-14.0", "3.13.1t");
	em_target_marker_env(&t, &env);
	assert_string_equal(VAR(env, OS_NAME), "posix");
	assert_string_equal(VAR(env, SYS_PLATFORM), "darwin");
	assert_string_equal(VAR(env, PLATFORM_SYSTEM), "Darwin");
	assert_string_equal(VAR(env, PLATFORM_MACHINE), "arm64");
	assert_string_equal(VAR(env, PYTHON_FULL_VERSION), "3.13.1");

	t = target("macos-x86_64", "3.14.0a3");
	em_target_marker_env(&t, &env);
	assert_string_equal(VAR(env, PLATFORM_MACHINE), "x86_64");
	assert_string_equal(VAR(env, IMPLEMENTATION_VERSION), "3.14.0a3");
	t = target("linux-i686", "3.14.0b2");
	em_target_marker_env(&t, &env);
	assert_string_equal(VAR(env, PLATFORM_MACHINE), "i686");
	assert_string_equal(VAR(env, IMPLEMENTATION_VERSION), "3.14.0b2");
	assert_false(env.env.extras_defined);
	assert_false(env.env.groups_defined);
}

static void test_host(void **state)
{
	(void)state;
	struct em_platform p;
	struct em_error e;
	em_error_clear(&e);
	assert_int_equal(em_host_platform(&p, &e), 0);
#if defined(__linux__)
	struct utsname u;
	assert_int_equal(uname(&u), 0);
	assert_int_equal(p.os, EM_OS_LINUX);
	assert_string_equal(p.release, u.release);
	assert_string_equal(p.version, u.version);
	assert_string_equal(em_platform_machine(&p), !strcmp(u.machine, "armv8l") ? "armv7l"
										   : u.machine);
#if defined(__GLIBC__)
	unsigned major = 0, minor = 0;
	assert_int_equal(sscanf(gnu_get_libc_version(), "%u.%u", &major, &minor), 2);
	assert_int_equal(p.libc, EM_LIBC_GLIBC);
	assert_int_equal(p.libc_major, major);
	assert_int_equal(p.libc_minor, minor);
#endif
	/* the host makes a usable target */
	char name[EM_PLATFORM_NAME_MAX];
	em_platform_name(&p, name, sizeof name);
	struct em_platform q;
	assert_int_equal(em_platform_parse(name, &q, &e), 0);
	assert_int_equal(q.arch, p.arch);
	assert_int_equal(q.libc, p.libc);
	struct em_target t;
	memset(&t, 0, sizeof t);
	t.plat = p;
	assert_int_equal(em_python_parse("3.12", &t.py, &e), 0);
	struct em_target_env env;
	em_target_marker_env(&t, &env);
	assert_string_equal(VAR(env, PLATFORM_RELEASE), u.release);
	assert_string_equal(VAR(env, PLATFORM_VERSION), u.version);
	struct em_arena a;
	em_arena_init(&a);
	struct em_tagset ts;
	assert_int_equal(em_tags_for_target(&a, &t, &ts, &e), 0);
	assert_true(ts.n > 100);
	em_arena_release(&a);
	print_message("host: %s, release %s\n", name, p.release);
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_platform_names),
		cmocka_unit_test(test_platform_errors),
		cmocka_unit_test(test_python_names),
		cmocka_unit_test(test_marker_env),
		cmocka_unit_test(test_host),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
