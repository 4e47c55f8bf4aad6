/* fuzz_requirement.c - libFuzzer target for PEP 508 requirements
 *
 * Parses the input as a requirement and checks a success: a valid name,
 * extras without repeats, a URL without whitespace, a formatted text that
 * starts with the name; evaluates it with and without an extra. A failure
 * must fill the error record and leave the result empty.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spec/pep508.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct em_marker_env linux_env(void)
{
	struct em_marker_env env;
	memset(&env, 0, sizeof env);
	const char **v = env.var;
	v[EM_MV_IMPLEMENTATION_NAME] = "cpython";
	v[EM_MV_IMPLEMENTATION_VERSION] = "3.12.10";
	v[EM_MV_OS_NAME] = "posix";
	v[EM_MV_PLATFORM_MACHINE] = "x86_64";
	v[EM_MV_PLATFORM_PYTHON_IMPLEMENTATION] = "CPython";
	v[EM_MV_PLATFORM_SYSTEM] = "Linux";
	v[EM_MV_PYTHON_FULL_VERSION] = "3.12.10";
	v[EM_MV_PYTHON_VERSION] = "3.12";
	v[EM_MV_SYS_PLATFORM] = "linux";
	return env;
}

static void check(const struct em_requirement *r)
{
	if (!r->name || !r->name[0])
		abort();
	for (uint32_t i = 0; i < r->nextras; i++) {
		if (!r->extras[i] || !r->extras[i][0])
			abort();
		for (uint32_t j = 0; j < i && r->nextras < 64; j++)
			if (!strcmp(r->extras[i], r->extras[j]))
				abort();
	}
	if (r->url && (!r->url[0] || strpbrk(r->url, " \t")))
		abort();
	if (r->url && r->spec.n)
		abort();
	struct em_marker_env env = linux_env();
	const char *extra[] = { NULL, "gpu", "Cuda_12" };
	for (int i = 0; i < 3; i++) {
		struct em_error e = { 0 };
		bool res = false;
		int rc = em_requirement_applies(r, &env, extra[i], &res, &e);
		if (rc && (rc != e.code || !e.msg[0]))
			abort();
		if (!r->marker && (rc || !res))
			abort();
	}
	struct em_buf b = EM_BUF_INIT;
	int rc = em_requirement_format(r, &b);
	if (rc && rc != EM_EINVAL)
		abort();
	if (!rc && strncmp(b.ptr, r->name, strlen(r->name)))
		abort();
	em_buf_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct em_arena a;
	em_arena_init(&a);
	struct em_error e = { 0 };
	struct em_requirement r;
	int rc = em_requirement_parse(&a, (const char *)data, size, &r, &e);
	if (rc) {
		if (rc != e.code || !e.msg[0] || strchr(e.msg, '\n') || r.name || r.marker ||
		    r.nextras || r.url || r.spec.n)
			abort();
	} else {
		check(&r);
	}
	em_arena_release(&a);
	return 0;
}
