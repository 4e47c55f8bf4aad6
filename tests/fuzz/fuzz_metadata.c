/* fuzz_metadata.c - libFuzzer target for the core-metadata parser
 *
 * Parses the input as METADATA and as a bare header block, and checks what
 * a successful parse promises: fields in line order, lists within fields[],
 * values without NUL bytes, a body that is the input's tail.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spec/metadata.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct em_metadata *m, const char *buf, size_t size, bool full)
{
	uint32_t prev = 0;
	for (uint32_t i = 0; i < m->nfields; i++) {
		const struct em_metadata_field *f = &m->fields[i];
		if (!f->name || !f->value || !f->name[0] || f->line <= prev)
			abort();
		if (strlen(f->value) > size || strchr(f->name, ':'))
			abort();
		prev = f->line;
	}
	if (m->nfields && !em_metadata_get(m, m->fields[0].name))
		abort();
	if (m->body) {
		if (m->body_len == 0 || m->body_len > size || m->body[m->body_len] != '\0' ||
		    memcmp(m->body, buf + size - m->body_len, m->body_len) || m->body_line <= prev)
			abort();
	} else if (m->body_len || m->body_line) {
		abort();
	}
	if (!full)
		return;
	if (!m->metadata_version || !m->name || !m->version || !m->name[0] || !m->version[0])
		abort();
	if (m->metadata_major < 1 || m->metadata_major > EM_METADATA_NEWEST_MAJOR)
		abort();
	if (m->nrequires_dist + m->nprovides_extra + m->ndynamic > m->nfields)
		abort();
	for (uint32_t i = 0; i < m->nrequires_dist; i++)
		if (!m->requires_dist[i][0] || m->requires_dist_line[i] < 1 ||
		    (i && m->requires_dist_line[i] <= m->requires_dist_line[i - 1]))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct em_arena a;
	struct em_metadata m;
	struct em_error e = { 0 };
	em_arena_init(&a);
	int r = em_metadata_parse(&a, buf, size, "fuzz", &m, &e);
	if (r == 0)
		check(&m, buf, size, true);
	else if (r != e.code || !e.msg[0] || strncmp(e.where, "fuzz", 4))
		abort();
	em_arena_release(&a);

	int r2 = em_metadata_parse_fields(&a, buf, size, NULL, &m, &e);
	if (r2 == 0)
		check(&m, buf, size, false);
	else if (r == 0)
		abort(); /* what parses as METADATA splits as a header block */
	em_arena_release(&a);
	return 0;
}
