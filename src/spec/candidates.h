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

#include "util/arena.h"
#include "envmatrix/error.h"
#include "spec/pep440.h"
#include "spec/resolve.h"
#include "spec/tags.h"
#include "spec/target.h"

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
	struct em_wheel_name wheel; /* zero for an sdist */
	long rank;                  /* -1 for an sdist */
	bool sdist;                 /* file is the version's source distribution */
};

/* Which files of a project a plan may use: the matrix's no-build,
 * only-binary and no-binary keys, settled for one project. */
struct em_dist_policy {
	bool sdist_ok;     /* a version without a usable wheel falls back to
			    * its sdist (false: no-build, only-binary) */
	bool sdist_first;  /* no-binary: the sdist even when wheels exist (a
			    * version without one cannot be used) */
	const char *why;   /* the key that decided, for reasons: "no-build
			    * (matrix.ini:3)"; NULL: none (wheels only, as
			    * em_candidates_build) */
};

/* Build the candidates of project name from its files: versions ascending,
 * for each the best-ranked wheel that the target supports and whose
 * Requires-Python (from the index) admits the target's Python; non-yanked
 * files are preferred over yanked ones of the same version. A version with
 * no such wheel is kept, with the reason it cannot be used ("no wheel for
 * cp314-win_amd64 (wheels: cp310 cp311 cp312 cp313)", "only a source
 * distribution", "requires Python >=3.12"). Files of other projects and
 * unparsable names are skipped. cand->data is a struct em_choice *. */
EM_MUST_USE
int em_candidates_build(struct em_arena *a, const char *name, const struct em_dist_file *files,
			uint32_t nfiles, const struct em_target *t, const struct em_tagset *tags,
			struct em_candidate **out, uint32_t *n, struct em_error *e);

/* The same under a policy: a version with no usable wheel is still a
 * candidate through its sdist when pol->sdist_ok (the .tar.gz first, then
 * the first listed, non-yanked ones before yanked ones; data->sdist set),
 * and with pol->sdist_first the sdist is taken even when wheels exist.
 * A version the policy rules out says which key did ("it has only a
 * source distribution, which no-build (matrix.ini:3) refuses"). */
EM_MUST_USE
int em_candidates_build_policy(struct em_arena *a, const char *name,
			       const struct em_dist_file *files, uint32_t nfiles,
			       const struct em_target *t, const struct em_tagset *tags,
			       const struct em_dist_policy *pol, struct em_candidate **out,
			       uint32_t *n, struct em_error *e);

/* Whether core metadata (a PKG-INFO) can be planned from as it is: its
 * Metadata-Version is 2.2 or newer (PEP 643) and none of the fields a
 * plan reads (Requires-Dist, Requires-Python, Provides-Extra) is listed
 * as Dynamic. When not, *why says so ("Metadata-Version 2.1 is older
 * than 2.2", "Requires-Dist is dynamic"). With trust_old (an index's
 * PEP 658 file, which states the metadata) a version older than 2.2 is
 * taken as static. Errors: the parse's. */
EM_MUST_USE
int em_metadata_static(struct em_arena *a, const char *buf, size_t len, const char *where,
		       bool trust_old, bool *is_static, const char **why, struct em_error *e);

/* The dependencies in a wheel's METADATA that apply on the target: each
 * Requires-Dist whose marker holds (with extra active when not NULL; with
 * an extra, only the lines the extra adds). When the METADATA's
 * Requires-Python excludes the target's Python, *unusable says so and no
 * dependencies are returned. name/version are the candidate's: METADATA
 * for another project or version is an error naming where. */
EM_MUST_USE
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
