/* source.h - where index pages, METADATA and files come from
 *
 * The planner asks for URLs; a source answers with bytes. file:// URLs and
 * plain paths are read from disk here; HTTP(S) arrives with the network
 * issue behind the same calls. Answers are cached for the life of the
 * source, so workloads planned together read each page once.
 */
#ifndef ENVMATRIX_SOURCE_H
#define ENVMATRIX_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envmatrix/arena.h"
#include "envmatrix/error.h"

struct em_source_entry;

struct em_source {
	struct em_arena arena;         /* cached bodies */
	struct em_source_entry *cache; /* by URL */
	uint32_t ncache, capcache;
	uint64_t bytes_read;
	uint32_t requests;
};

void em_source_init(struct em_source *s);
void em_source_release(struct em_source *s);

/* The body at url (at most max bytes). EM_ENOTFOUND when there is nothing
 * there, EM_EUNSUPPORTED for a scheme this build cannot read. The bytes
 * stay valid until em_source_release. */
int em_source_get(struct em_source *s, const char *url, size_t max, const char **body,
		  size_t *len, struct em_error *e);

/* The file names in a folder URL (find-links), sorted; EM_ENOTFOUND when
 * it is not a folder. */
int em_source_list(struct em_source *s, const char *url, const char ***names, uint32_t *n,
		   struct em_error *e);

/* Size and SHA-256 of the file at url, reading it when needed. */
int em_source_hash(struct em_source *s, const char *url, char sha256[65], int64_t *size,
		   struct em_error *e);

#endif
