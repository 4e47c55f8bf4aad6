/* fuzz_marker.c - libFuzzer target for PEP 508 environment markers
 *
 * Parses the input as a marker, formats it, evaluates it in a few
 * environments (one with undefined variables, one with set-valued extras),
 * and parses its formatted text again. Checks what the API promises: a
 * failed parse fills the error record and leaves no tree; a format either
 * succeeds or refuses a value with both kinds of quote, appending nothing;
 * an evaluation error is one of the documented codes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spec/pep508.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const extras[] = { "Foo_Bar", "gpu", "" };
static const struct em_marker_kv other[] = { { "a", "b" }, { "", "empty" } };

static void envs(struct em_marker_env out[3])
{
	memset(out, 0, 3 * sizeof *out);
	const char **v = out[0].var;
	v[EM_MV_IMPLEMENTATION_NAME] = "cpython";
	v[EM_MV_IMPLEMENTATION_VERSION] = "3.12.4";
	v[EM_MV_OS_NAME] = "posix";
	v[EM_MV_PLATFORM_MACHINE] = "x86_64";
	v[EM_MV_PLATFORM_PYTHON_IMPLEMENTATION] = "CPython";
	v[EM_MV_PLATFORM_RELEASE] = "6.8.0-45-generic";
	v[EM_MV_PLATFORM_SYSTEM] = "Linux";
	v[EM_MV_PLATFORM_VERSION] = "#45-Ubuntu SMP PREEMPT_DYNAMIC";
	v[EM_MV_PYTHON_FULL_VERSION] = "3.12.4+";
	v[EM_MV_PYTHON_VERSION] = "3.12";
	v[EM_MV_SYS_PLATFORM] = "linux";
	v[EM_MV_EXTRA] = "Cuda_12";
	out[0].other = other;
	out[0].nother = 2;
	/* windows, with what a non-host target leaves undefined */
	out[1] = out[0];
	v = out[1].var;
	v[EM_MV_OS_NAME] = "nt";
	v[EM_MV_SYS_PLATFORM] = "win32";
	v[EM_MV_PLATFORM_SYSTEM] = "Windows";
	v[EM_MV_PLATFORM_MACHINE] = "AMD64";
	v[EM_MV_PLATFORM_RELEASE] = NULL;
	v[EM_MV_PLATFORM_VERSION] = NULL;
	v[EM_MV_EXTRA] = NULL;
	out[1].nother = 0;
	/* a lock file's context */
	out[2] = out[0];
	out[2].var[EM_MV_PYTHON_FULL_VERSION] = "3.14.0rc1";
	out[2].extras_defined = true;
	out[2].extras = extras;
	out[2].nextras = 3;
	out[2].groups_defined = true;
	out[2].dependency_groups = extras;
	out[2].ngroups = 0;
}

static void evaluate(const struct em_marker *m)
{
	struct em_marker_env env[3];
	envs(env);
	for (int i = 0; i < 3; i++) {
		struct em_error e = { 0 };
		bool res = false;
		int rc = em_marker_eval(m, &env[i], &res, &e);
		if (rc && (rc != e.code || !e.msg[0] ||
			   (rc != EM_EUNDEFINED && rc != EM_EINVAL && rc != EM_ELIMIT &&
			    rc != EM_ENOMEM)))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct em_arena a;
	em_arena_init(&a);
	struct em_error e = { 0 };
	struct em_marker *m = (struct em_marker *)&a;
	int rc = em_marker_parse(&a, buf, size, &m, &e);
	if (rc) {
		if (m || rc != e.code || !e.msg[0] || strchr(e.msg, '\n'))
			abort();
		em_arena_release(&a);
		return 0;
	}
	if (!m)
		abort();
	if (em_marker_vars(m) >> (EM_MV_COUNT + 3))
		abort();
	evaluate(m);
	struct em_buf b = EM_BUF_INIT;
	rc = em_marker_format(m, &b);
	if (rc == EM_EINVAL) {
		if (b.len)
			abort();
	} else if (rc) {
		abort();
	} else {
		/* the normalized text, read again, evaluates without trouble and
		 * formats to a text that is stable from then on */
		struct em_marker *m2;
		if (em_marker_parse(&a, b.ptr, b.len, &m2, &e) == 0) {
			evaluate(m2);
			struct em_buf b2 = EM_BUF_INIT;
			if (em_marker_format(m2, &b2) == 0) {
				struct em_marker *m3;
				struct em_buf b3 = EM_BUF_INIT;
				/* (backslashes are escapes again on each reading) */
				if (!memchr(b2.ptr, '\\', b2.len) &&
				    em_marker_parse(&a, b2.ptr, b2.len, &m3, &e) == 0 &&
				    em_marker_format(m3, &b3) == 0 &&
				    (b2.len != b3.len || memcmp(b2.ptr, b3.ptr, b2.len)))
					abort();
				em_buf_release(&b3);
			}
			em_buf_release(&b2);
		}
	}
	em_buf_release(&b);
	em_arena_release(&a);
	return 0;
}
