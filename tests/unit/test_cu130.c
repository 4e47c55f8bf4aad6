/* test_cu130.c - resolving the real cu130 environment, with decoys
 *
 * The request is every installed project that nothing else installed
 * depends on. For linux-x86_64 (glibc 2.39, CPython 3.12.3) the resolution
 * must be exactly what was installed, every decoy refused; for
 * windows-x86_64 it must be exactly what the markers keep on Windows
 * (computed here independently, by walking the requirements), so every
 * Linux-only project (torch's CUDA pins, triton, ...) stays out. (The other
 * nvidia-* wheels stay in: jax's CUDA plugin requires them without a
 * marker, and this index gives every platform wheel a Windows twin.)
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cu130.h"
#include "spec/metadata.h"
#include "spec/name.h"
#include "spec/pep508.h"

static struct cu130 cu;
static struct em_arena arena;

static int setup(void **state)
{
	(void)state;
	em_arena_init(&arena);
	struct em_error e = { 0 };
	if (cu130_load(&cu, &arena, tu_fixture("cu130-stack"), &e)) {
		fprintf(stderr, "cu130: %s: %s\n", e.where, e.msg);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	em_arena_release(&arena);
	return 0;
}

static void resolve(const char *platform, const char *python, struct em_resolution *res)
{
	struct em_error e = { 0 };
	assert_int_equal(cu130_target(&cu, platform, python, &e), 0);
	struct em_resolve_in in = { "cu130", cu.nroots, cu.roots, 0, NULL, 0, NULL, 0 };
	struct em_provider p = cu130_provider(&cu);
	struct em_buf why = EM_BUF_INIT;
	int rc = em_resolve(&arena, &in, &p, res, &why, &e);
	if (rc) {
		fprintf(stderr, "%s: %s\n%s", platform, e.msg, why.ptr);
		fail_msg("%s cannot be resolved", platform);
	}
	em_buf_release(&why);
}

static void test_linux_reproduces_installed(void **state)
{
	(void)state;
	struct em_resolution res;
	resolve("linux-x86_64-glibc2.39", "3.12.3", &res);
	uint32_t installed = 0;
	for (uint32_t i = 0; i < cu.n; i++)
		installed += !cu.projects[i].extra;
	assert_int_equal(installed, 197);
	struct tu_report r;
	tu_report_init(&r, "cu130 linux", 20);
	for (uint32_t i = 0; i < cu.n; i++) {
		const struct cu130_project *p = &cu.projects[i];
		const struct em_resolved *got = NULL;
		for (uint32_t k = 0; k < res.n; k++)
			if (!strcmp(res.pkgs[k].name, p->name))
				got = &res.pkgs[k];
		r.total++;
		if (p->extra && got)
			tu_report_fail(&r, "%s is not installed on Linux but was resolved", p->name);
		else if (!p->extra && !got)
			tu_report_fail(&r, "%s %s is installed but was not resolved", p->name, p->version);
		else if (got && strcmp(got->cand->version->str, p->version))
			tu_report_fail(&r, "%s: resolved %s, installed %s", p->name,
				       got->cand->version->str, p->version);
	}
	assert_int_equal(res.n, installed);
	tu_report_done(&r);
	/* a few facts worth seeing directly */
	bool torch = false, triton = false;
	for (uint32_t k = 0; k < res.n; k++) {
		torch |= !strcmp(res.pkgs[k].name, "torch") && !strcmp(res.pkgs[k].cand->version->str, "2.11.0");
		triton |= !strcmp(res.pkgs[k].name, "triton");
	}
	assert_true(torch && triton);
}

/* What Windows keeps: walk the requirements from the roots, with markers
 * for Windows and extras followed. */
static void windows_closure(bool *keep)
{
	struct em_target t;
	assert_int_equal(em_platform_parse("windows-x86_64", &t.plat, NULL), 0);
	assert_int_equal(em_python_parse("3.12.3", &t.py, NULL), 0);
	struct em_target_env env;
	em_target_marker_env(&t, &env);
	/* work list of (project, extra or NULL) */
	struct item {
		uint32_t p;
		const char *extra;
	} *work = calloc(65536, sizeof *work);
	const char **seen_extra = calloc(65536, sizeof *seen_extra);
	uint32_t *seen_p = calloc(65536, sizeof *seen_p);
	uint32_t nw = 0, nseen = 0;
	assert_non_null(work);
	for (uint32_t i = 0; i < cu.nroots; i++) {
		struct cu130_project *p = cu130_find(&cu, cu.roots[i].dep.name);
		work[nw++] = (struct item){ (uint32_t)(p - cu.projects), NULL };
	}
	while (nw) {
		struct item it = work[--nw];
		bool dup = false;
		for (uint32_t k = 0; k < nseen && !dup; k++)
			dup = seen_p[k] == it.p && ((!seen_extra[k] && !it.extra) ||
						    (seen_extra[k] && it.extra && !strcmp(seen_extra[k], it.extra)));
		if (dup)
			continue;
		seen_p[nseen] = it.p;
		seen_extra[nseen++] = it.extra;
		keep[it.p] = true;
		const struct cu130_project *p = &cu.projects[it.p];
		struct em_metadata m;
		assert_int_equal(em_metadata_parse(&arena, p->metadata, p->metadata_len, p->name, &m, NULL), 0);
		for (uint32_t k = 0; k < m.nrequires_dist; k++) {
			struct em_requirement r;
			bool yes;
			assert_int_equal(em_requirement_parse(&arena, m.requires_dist[k],
							      strlen(m.requires_dist[k]), &r, NULL), 0);
			assert_int_equal(em_requirement_applies(&r, &env.env, it.extra, &yes, NULL), 0);
			if (!yes)
				continue;
			char *dn = em_name_canonical(&arena, r.name, strlen(r.name));
			struct cu130_project *d = cu130_find(&cu, dn);
			if (!d)
				fail_msg("%s needs %s on Windows, which the index lacks", p->name, dn);
			work[nw++] = (struct item){ (uint32_t)(d - cu.projects), NULL };
			for (uint32_t x = 0; x < r.nextras; x++)
				work[nw++] = (struct item){ (uint32_t)(d - cu.projects),
							    em_name_canonical(&arena, r.extras[x],
									      strlen(r.extras[x])) };
		}
	}
	free(work);
	free(seen_extra);
	free(seen_p);
}

static void test_windows_leaves_linux_only_out(void **state)
{
	(void)state;
	struct em_resolution res;
	resolve("windows-x86_64", "3.12.3", &res);
	bool *keep = calloc(cu.n, sizeof *keep);
	windows_closure(keep);
	struct tu_report r;
	tu_report_init(&r, "cu130 windows", 20);
	uint32_t kept = 0, linux_only = 0;
	for (uint32_t i = 0; i < cu.n; i++) {
		const struct cu130_project *p = &cu.projects[i];
		bool got = false;
		for (uint32_t k = 0; k < res.n; k++)
			got |= !strcmp(res.pkgs[k].name, p->name);
		r.total++;
		kept += keep[i];
		linux_only += !keep[i] && !p->extra;
		if (got != keep[i])
			tu_report_fail(&r, "%s: %s, but Windows markers %s it", p->name,
				       got ? "resolved" : "not resolved", keep[i] ? "keep" : "drop");
	}
	assert_int_equal(res.n, kept);
	tu_report_done(&r);
	/* the CUDA libraries torch pulls on Linux, and triton, stay out */
	static const char *const linux_only_names[] = {
		"triton", "cuda-toolkit", "nvidia-cudnn-cu13", "nvidia-nccl-cu13",
		"nvidia-cusparselt-cu13", "nvidia-nvshmem-cu13",
	};
	for (size_t i = 0; i < sizeof linux_only_names / sizeof linux_only_names[0]; i++) {
		assert_non_null(cu130_find(&cu, linux_only_names[i]));
		for (uint32_t k = 0; k < res.n; k++)
			assert_string_not_equal(res.pkgs[k].name, linux_only_names[i]);
	}
	/* torch's Linux-only CUDA pins, triton and uvloop at least */
	assert_true(linux_only >= 7);
	free(keep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_linux_reproduces_installed),
		cmocka_unit_test(test_windows_leaves_linux_only_out),
	};
	return cmocka_run_group_tests_name("cu130", tests, setup, teardown);
}
