/* fuzz_wheel_name.c - wheel file names, platform names and Python names
 *
 * Invariants checked: parsing never crashes; a parsed wheel name has a
 * canonical project name, a sorted, duplicate-free tag set within the limit,
 * and rebuilding the file name from its parts parses to the same result; a
 * rank names one of the wheel's own tags. Platform and Python names that
 * parse print a canonical name that parses to the same name, and every
 * accepted platform gives a tag list.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec/tags.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct em_arena fixed_arena;
static struct em_tagset fixed_tags;

static const struct em_tagset *fixed_tagset(void)
{
	static int ready;
	if (!ready) {
		struct em_target t;
		memset(&t, 0, sizeof t);
		em_arena_init(&fixed_arena);
		if (em_platform_parse("linux-x86_64-glibc2.28", &t.plat, NULL) ||
		    em_python_parse("3.12", &t.py, NULL) ||
		    em_tags_for_target(&fixed_arena, &t, &fixed_tags, NULL))
			abort();
		ready = 1;
	}
	return &fixed_tags;
}

static void check_wheel(struct em_arena *a, const char *s, size_t n)
{
	struct em_wheel_name w;
	if (em_wheel_name_parse(a, s, n, &w, NULL))
		return;
	if (!w.name[0] || strchr(w.name, '_') || strchr(w.name, '.') || strstr(w.name, "--"))
		abort();
	if (w.ntags == 0 || w.ntags > EM_WHEEL_MAX_TAGS || w.ntags > w.npy * w.nabi * w.nplat)
		abort();
	for (uint32_t i = 0; i < w.ntags; i++) {
		const char *d1 = strchr(w.tags[i], '-');
		if (!d1 || !strchr(d1 + 1, '-') || strchr(strchr(d1 + 1, '-') + 1, '-'))
			abort();
		if (i && strcmp(w.tags[i - 1], w.tags[i]) >= 0)
			abort();
	}
	const char *best;
	long r = em_wheel_rank(fixed_tagset(), &w, &best);
	if (r >= 0) {
		if (!best || strcmp(best, fixed_tags.tags[r]))
			abort();
		int found = 0;
		for (uint32_t i = 0; i < w.ntags; i++)
			found |= !strcmp(w.tags[i], best);
		if (!found)
			abort();
	} else if (best) {
		abort();
	}

	/* rebuild NAME-VERSION[-BUILD]-PY-ABI-PLAT.whl from the parts */
	struct em_buf b = EM_BUF_INIT;
	em_buf_addf(&b, "%s-%s-", w.name_raw, w.version.str);
	if (w.has_build)
		em_buf_addf(&b, "%" PRIu64 "%s-", w.build_num, w.build_suffix);
	const char *const *sets[3] = { w.py, w.abi, w.plat };
	uint32_t counts[3] = { w.npy, w.nabi, w.nplat };
	for (int k = 0; k < 3; k++)
		for (uint32_t i = 0; i < counts[k]; i++)
			em_buf_addf(&b, "%s%s", i ? "." : k ? "-" : "", sets[k][i]);
	em_buf_addstr(&b, ".whl");
	if (!b.err && b.len <= EM_WHEEL_NAME_MAX_LEN) {
		struct em_wheel_name w2;
		if (em_wheel_name_parse(a, b.ptr, b.len, &w2, NULL))
			abort();
		if (strcmp(w.name, w2.name) || strcmp(w.version.str, w2.version.str) ||
		    w.has_build != w2.has_build || w.build_num != w2.build_num ||
		    strcmp(w.build_suffix, w2.build_suffix) || w.ntags != w2.ntags)
			abort();
		for (uint32_t i = 0; i < w.ntags; i++)
			if (strcmp(w.tags[i], w2.tags[i]))
				abort();
	}
	em_buf_release(&b);
}

static void check_platform(struct em_arena *a, const char *s, size_t n)
{
	struct em_target t;
	memset(&t, 0, sizeof t);
	if (em_platform_parse_n(s, n, &t.plat, NULL))
		return;
	char name[EM_PLATFORM_NAME_MAX], again[EM_PLATFORM_NAME_MAX];
	int len = em_platform_name(&t.plat, name, sizeof name);
	if (len <= 0 || (size_t)len >= sizeof name)
		abort();
	struct em_platform q;
	if (em_platform_parse(name, &q, NULL))
		abort();
	em_platform_name(&q, again, sizeof again);
	if (strcmp(name, again))
		abort();
	if (em_python_parse("3.13t", &t.py, NULL))
		abort();
	struct em_tagset ts;
	if (em_tags_for_target(a, &t, &ts, NULL) || ts.n == 0)
		abort();
	if (em_tags_rank(&ts, ts.tags[ts.n - 1], strlen(ts.tags[ts.n - 1])) != (long)ts.n - 1)
		abort();
	struct em_target_env env;
	em_target_marker_env(&t, &env);
}

static void check_python(const char *s, size_t n)
{
	struct em_target t;
	memset(&t, 0, sizeof t);
	if (em_python_parse_n(s, n, &t.py, NULL))
		return;
	char name[EM_PYTHON_NAME_MAX], again[EM_PYTHON_NAME_MAX];
	int len = em_python_name(&t.py, name, sizeof name);
	if (len <= 0 || (size_t)len >= sizeof name)
		abort();
	struct em_python q;
	if (em_python_parse(name, &q, NULL))
		abort();
	em_python_name(&q, again, sizeof again);
	if (strcmp(name, again))
		abort();
	struct em_target_env env;
	em_target_marker_env(&t, &env);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct em_arena a;
	em_arena_init(&a);
	const char *s = (const char *)data;
	check_wheel(&a, s, size);
	check_platform(&a, s, size);
	check_python(s, size);
	em_arena_release(&a);
	return 0;
}
