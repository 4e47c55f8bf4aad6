/* fuzz_specifier.c - PEP 440 specifier sets: parse, format, match
 *
 * The input is split at the first newline: a specifier set, then a version.
 * Invariants: the canonical text of a parsed set parses again; contains()
 * and filter() never crash and agree on a single final version.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spec/pep440.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	const char *nl = memchr(s, '\n', size);
	size_t sn = nl ? (size_t)(nl - s) : size;
	const char *vs = nl ? nl + 1 : "1.0";
	size_t vn = nl ? size - sn - 1 : 3;

	struct em_arena a;
	em_arena_init(&a);
	struct em_specset set;
	if (em_specset_parse(&a, s, sn, &set, NULL) == 0) {
		struct em_buf b = EM_BUF_INIT;
		if (em_specset_format(&set, &b) == 0) {
			struct em_specset again;
			if (em_specset_parse(&a, b.ptr, b.len, &again, NULL) != 0)
				abort();
		}
		em_buf_release(&b);
		struct em_version v;
		const struct em_version *pv = NULL;
		if (em_version_parse(&a, vs, vn, &v, NULL) == 0)
			pv = &v;
		bool c1 = em_specset_contains(&set, vs, vn, pv, EM_PRE_DEFAULT);
		bool c2 = em_specset_contains(&set, vs, vn, pv, EM_PRE_DENY);
		if (c2 && !c1)
			abort();
		if (pv && !set.has_arbitrary) {
			bool keep = false;
			size_t k = em_specset_filter(&set, &pv, 1, EM_PRE_DEFAULT, &keep);
			if ((k == 1) != keep || keep != c1)
				abort();
		}
		(void)em_specset_names_prerelease(&set);
	}
	em_arena_release(&a);
	return 0;
}
