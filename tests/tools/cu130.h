/* cu130.h - the real cu130 environment as an in-memory package index
 *
 * tests/fixtures/cu130-stack holds the installed metadata of a real CUDA
 * PyTorch environment (197 distributions, CPython 3.12 on x86_64 Linux).
 * This turns it into what an index would list: for every distribution its
 * real version with wheels tagged as its WHEEL file says (plus a win_amd64
 * twin for platform wheels, so the same request can be planned for
 * Windows), and decoys that must never be chosen:
 *   0.0.0.1            an older release
 *   R.9rc1             a newer pre-release
 *   R.10               a newer release, yanked
 *   R.11               a newer release that requires Python >=3.14
 *   R.12               a newer release with only a macOS wheel
 * (R is the real version's release numbers). A few small projects that
 * Windows needs and the Linux environment never installed (colorama, ...)
 * are added too. The provider is the planner's own logic
 * (em_candidates_build, em_deps_from_metadata) without any file.
 */
#ifndef ENVMATRIX_TESTS_CU130_H
#define ENVMATRIX_TESTS_CU130_H

#include <stdbool.h>
#include <stdint.h>

#include "util/arena.h"
#include "spec/candidates.h"
#include "envmatrix/error.h"
#include "spec/resolve.h"
#include "spec/tags.h"
#include "spec/target.h"

struct cu130_project {
	const char *name;            /* canonical */
	const char *version;         /* the installed version */
	const char *metadata;        /* its METADATA */
	size_t metadata_len;
	struct em_dist_file *files;
	const char **file_metadata;  /* per file: its METADATA (decoys: the real
				      * one with their own Version) */
	uint32_t nfiles;
	struct em_candidate *cands;
	uint32_t ncands;
	bool built;
	bool extra;                  /* added for Windows, not installed */
};

struct cu130 {
	struct em_arena *a;
	uint32_t n;
	struct cu130_project *projects;
	struct em_target target;
	struct em_tagset tags;
	/* the request: every installed project no other one depends on (for
	 * the Linux target, without extras) */
	uint32_t nroots;
	struct em_root_req *roots;
};

/* Load the fixture folder. */
int cu130_load(struct cu130 *c, struct em_arena *a, const char *dir, struct em_error *e);
/* Choose the target (resets what the provider built). */
int cu130_target(struct cu130 *c, const char *platform, const char *python, struct em_error *e);
/* The provider over the loaded index. */
struct em_provider cu130_provider(struct cu130 *c);
struct cu130_project *cu130_find(struct cu130 *c, const char *name);

#endif
