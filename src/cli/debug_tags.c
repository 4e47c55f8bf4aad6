/* debug_tags.c - `envmatrix debug tags` and `envmatrix debug wheel`: which
 * wheels a target takes, and in what order of preference */
#include "cli.h"

#include "envmatrix/error.h"
#include "spec/tags.h"
#include "spec/target.h"
#include "util/arena.h"
#include "util/buf.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char *opt_python, *opt_target;
static int opt_json;

static const struct cli_opt opts[] = {
	{ CLI_OPT_STRING, 'p', "python", "X.Y[.Z][t]",
	  "the CPython version (default 3.12; 't' for free-threaded)", &opt_python },
	{ CLI_OPT_STRING, 't', "target", "PLATFORM",
	  "the platform (default auto: this machine)", &opt_target },
	{ CLI_OPT_FLAG, 0, "json", NULL, "print a JSON object instead of lines", &opt_json },
	CLI_END_OPT
};

#define PLATFORM_HELP \
	"PLATFORM is auto, linux-ARCH[-glibcX.Y|-muslX.Y] (glibc 2.28 when none is\n" \
	"given), windows-x86_64|arm64|x86, macos-arm64|x86_64[-X.Y] (12.0 when none\n" \
	"is given), or a wheel platform tag such as manylinux_2_28_x86_64,\n" \
	"manylinux2014_aarch64, musllinux_1_2_x86_64, win_amd64 or macosx_14_0_arm64.\n"

static const struct cli_cmd_help tags_help = {
	"debug tags",
	NULL,
	"print the wheel tags a target supports, best first, one per line",
	"The order is pypa/packaging 26.x's for CPython: the target's own ABI, the\n"
	"stable ABI (abi3, or abi3t for a free-threaded build), 'none', the stable\n"
	"ABI of older versions, then the py* tags and the *-none-any tags. A wheel's\n"
	"rank is the line number (from 0) of its best tag.\n\n" PLATFORM_HELP
	"\nWith --json: an object with target, python and the tags array.",
	opts
};

static const struct cli_cmd_help wheel_help = {
	"debug wheel",
	"FILENAME",
	"parse a wheel file name and rank it for a target",
	"Prints 'key<TAB>value' lines: name (PEP 503 form), version (normalized),\n"
	"build (number and suffix, empty when there is none) and tags (the expanded\n"
	"tag set, sorted, joined with ','), then 'rank<TAB>N' and 'tag<TAB>TAG' for\n"
	"the best tag the target supports (see 'debug tags'), or\n"
	"'rank<TAB>incompatible'. A leading directory in FILENAME is ignored.\n"
	"Backslash, tab, newline and carriage return in a value are written as\n"
	"\\\\, \\t, \\n and \\r.\n\n" PLATFORM_HELP
	"\nWith --json: one object with the same keys, plus target and python (build,\n"
	"rank and tag are null when absent). An invalid file name is an error\n"
	"naming it, with exit status 1.",
	opts
};

/* Options and the target; returns -1 to go on, else the exit status. */
static int parse_common(int argc, char **argv, const struct cli_cmd_help *h, int *npos)
{
	opt_python = opt_target = NULL;
	opt_json = 0;
	int rc = cli_parse(argc, argv, h, npos);
	if (rc)
		return rc > 0 ? EXIT_OK : EXIT_USAGE;
	return -1;
}

static void target_names(const struct em_target *t, char *plat, size_t psize, char *py,
			 size_t pysize)
{
	em_platform_name(&t->plat, plat, psize);
	em_python_name(&t->py, py, pysize);
}

int debug_tags(int argc, char **argv)
{
	int npos;
	int rc = parse_common(argc, argv, &tags_help, &npos);
	if (rc >= 0)
		return rc;
	if (npos > 0)
		return cli_usage_error(&tags_help, "unexpected argument '%s'", argv[1]);
	struct em_target t;
	rc = cli_target(opt_target, opt_python, &t);
	if (rc)
		return rc;

	struct em_arena a;
	em_arena_init(&a);
	struct em_tagset ts;
	struct em_error e;
	em_error_clear(&e);
	if (em_tags_for_target(&a, &t, &ts, &e)) {
		em_arena_release(&a);
		return cli_report(&e);
	}
	int ret = EXIT_OK;
	if (opt_json) {
		char plat[EM_PLATFORM_NAME_MAX], py[EM_PYTHON_NAME_MAX];
		target_names(&t, plat, sizeof plat, py, sizeof py);
		json_t *arr = cli_json_strings(ts.tags, ts.n);
		ret = cli_put_json(json_pack("{s:s, s:s, s:o?}", "target", plat, "python", py, "tags", arr));
	} else {
		for (size_t i = 0; i < ts.n; i++)
			puts(ts.tags[i]);
	}
	em_arena_release(&a);
	return ret;
}

int debug_wheel(int argc, char **argv)
{
	int npos;
	int rc = parse_common(argc, argv, &wheel_help, &npos);
	if (rc >= 0)
		return rc;
	if (npos != 1)
		return cli_usage_error(&wheel_help, npos ? "only one file name, please"
							 : "a wheel file name is needed");
	struct em_target t;
	rc = cli_target(opt_target, opt_python, &t);
	if (rc)
		return rc;

	const char *file = argv[1];
	const char *slash = strrchr(file, '/');
	if (slash)
		file = slash + 1;
	struct em_arena a;
	em_arena_init(&a);
	struct em_error e;
	em_error_clear(&e);
	struct em_tagset ts;
	struct em_wheel_name w;
	if (em_tags_for_target(&a, &t, &ts, &e) ||
	    em_wheel_name_parse(&a, file, strlen(file), &w, &e)) {
		em_arena_release(&a);
		return cli_report(&e);
	}
	const char *best;
	long rank = em_wheel_rank(&ts, &w, &best);
	char *build = w.has_build ? em_arena_printf(&a, "%" PRIu64 "%s", w.build_num, w.build_suffix)
				  : "";
	struct em_buf tags = EM_BUF_INIT;
	for (uint32_t i = 0; i < w.ntags; i++)
		em_buf_addf(&tags, "%s%s", i ? "," : "", w.tags[i]);
	if (!build || tags.err) {
		em_buf_release(&tags);
		em_arena_release(&a);
		cli_error("out of memory");
		return EXIT_FAIL;
	}

	int ret = EXIT_OK;
	if (opt_json) {
		char plat[EM_PLATFORM_NAME_MAX], py[EM_PYTHON_NAME_MAX];
		target_names(&t, plat, sizeof plat, py, sizeof py);
		json_t *arr = cli_json_strings(w.tags, w.ntags);
		ret = cli_put_json(json_pack("{s:s, s:s, s:s?, s:o?, s:o, s:o, s:s, s:s}",
					 "name", w.name, "version", w.version.str,
					 "build", w.has_build ? build : NULL, "tags", arr,
					 "rank", rank >= 0 ? json_integer(rank) : json_null(),
					 "tag", best ? json_string(best) : json_null(),
					 "target", plat, "python", py));
	} else {
		cli_put_kvs("name", w.name);
		cli_put_kvs("version", w.version.str);
		cli_put_kvs("build", build);
		cli_put_kvs("tags", tags.ptr);
		if (rank >= 0) {
			printf("rank\t%ld\n", rank);
			cli_put_kvs("tag", best);
		} else {
			puts("rank\tincompatible");
		}
	}
	em_buf_release(&tags);
	em_arena_release(&a);
	return ret;
}
