/* fuzz_version.c - PEP 440 version parsing, normalization and ordering
 *
 * Invariants checked: parsing never crashes; a parsed version's normalized
 * text parses again to an equal version with the same text; the order is
 * reflexive and antisymmetric against a fixed set of versions.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spec/pep440.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct em_arena a;
	em_arena_init(&a);
	struct em_version v, w;
	if (em_version_parse(&a, (const char *)data, size, &v, NULL) == 0) {
		if (em_version_parse(&a, v.str, strlen(v.str), &w, NULL) != 0)
			abort();
		if (strcmp(v.str, w.str) != 0 || em_version_cmp(&v, &w) != 0)
			abort();
		static const char *const fixed[] = { "0", "1.0", "1.0a1", "1.0.post1", "1!0",
						     "1.0+local", "2.8.0+cu126", "1.0.dev0" };
		for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
			struct em_version f;
			if (em_version_parse(&a, fixed[i], strlen(fixed[i]), &f, NULL))
				abort();
			int x = em_version_cmp(&v, &f), y = em_version_cmp(&f, &v);
			if ((x < 0 && y <= 0) || (x > 0 && y >= 0) || (x == 0 && y != 0))
				abort();
		}
		struct em_buf b = EM_BUF_INIT;
		em_version_format_public(&v, &b);
		em_buf_release(&b);
	}
	em_arena_release(&a);
	return 0;
}
