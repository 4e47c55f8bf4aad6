/* candidates.h - from index files and METADATA to what the resolver sees
 *
 * Pure functions shared by the planner's provider (files from index pages
 * and find-links folders) and the resolver scenario tests (files from a
 * spec): group a project's files by version, choose the best wheel of each
 * version for the target, say why a version cannot be used, and turn a
 * chosen wheel's METADATA into the dependencies that apply to the target.
 */
#ifndef ENVMATRIX_CANDIDATES_H
#define ENVMATRIX_CANDIDATES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envmatrix/arena.h"
#include "envmatrix/error.h"
#include "envmatrix/pep440.h"
#include "envmatrix/resolve.h"
#include "envmatrix/tags.h"
#include "envmatrix/target.h"

/* A distribution file of a project, as an index or a folder lists it. */
struct em_dist_file {
	const char *filename;
	const char *url;              /* absolute */
	const char *index;            /* the index (or folder) URL it was listed on */
	const char *sha256;           /* NULL when the index gave none */
	int64_t size;                 /* -1 when unknown */
	const char *requires_python;  /* NULL when the index gave none */
	bool yanked;
	const char *yank_reason;
	bool has_metadata;            /* a PEP 658 sidecar exists */
	const char *metadata_sha256;
	const char *upload_time;
};

/* What a candidate's data points at: the chosen file and its rank. */
struct em_choice {
	const struct em_dist_file *file;
	struct em_wheel_name wheel;
	long rank;
};

/* Build the candidates of project name from its files: versions ascending,
 * for each the best-ranked wheel that the target supports and whose
 * Requires-Python (from the index) admits the target's Python; non-yanked
 * files are preferred over yanked ones of the same version. A version with
 * no such wheel is kept, with the reason it cannot be used ("no wheel for
 * cp314-win_amd64 (wheels: cp310 cp311 cp312 cp313)", "only a source
 * distribution", "requires Python >=3.12"). Files of other projects and
 * unparsable names are skipped. cand->data is a struct em_choice *. */
int em_candidates_build(struct em_arena *a, const char *name, const struct em_dist_file *files,
			uint32_t nfiles, const struct em_target *t, const struct em_tagset *tags,
			struct em_candidate **out, uint32_t *n, struct em_error *e);

/* The dependencies in a wheel's METADATA that apply on the target: each
 * Requires-Dist whose marker holds (with extra active when not NULL; with
 * an extra, only the lines the extra adds). When the METADATA's
 * Requires-Python excludes the target's Python, *unusable says so and no
 * dependencies are returned. name/version are the candidate's: METADATA
 * for another project or version is an error naming where. */
int em_deps_from_metadata(struct em_arena *a, const char *buf, size_t len, const char *where,
			  const struct em_target *t, const char *name,
			  const struct em_version *version, const char *extra,
			  struct em_dependency **out, uint32_t *n, const char **unusable,
			  struct em_error *e);

/* The torch family: projects served by download.pytorch.org's variant
 * indexes, routed only there (torch, torchvision, torchaudio, triton,
 * xformers, ...). name must be normalized. */
bool em_is_torch_family(const char *name);

#endif
