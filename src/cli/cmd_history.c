/* cmd_history.c - `envmatrix history`: the generations applied, newest first */
#include "cli.h"

#include "envmatrix/error.h"
#include "history.h"
#include "spec/matrix.h"
#include "util/arena.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int opt_json;
static const char *opt_file, *opt_count;

static const struct cli_opt history_opts[] = {
	CLI_MATRIX_OPT(&opt_file),
	{ CLI_OPT_STRING, 'n', NULL, "N", "only the newest N generations", &opt_count },
	CLI_JSON_OPT("the generations", &opt_json),
	CLI_END_OPT,
};

static const struct cli_cmd_help history_help = {
	"history",
	"[MATRIX] [WORKLOAD]",
	"show the generations applied, newest first, and what each changed",
	"Every apply that changes an environment records a generation of that\n"
	"workload (numbered 1, 2, 3...) in the matrix's history repository, a\n"
	"bare git repository (.envmatrix/history.git beside the matrix, or the\n"
	"matrix's 'history' key, or ENVMATRIX_HISTORY). One line per generation:\n"
	"the workload, its number, when (local time), the commit that holds it,\n"
	"how it was made (apply, frozen: apply --frozen, rollback to N), and\n"
	"what changed since the workload's previous generation, in plain words.\n"
	"\n"
	"'envmatrix rollback WORKLOAD --to N' rebuilds a generation; 'envmatrix\n"
	"diff WORKLOAD A B' compares two. A plain 'rollback' (the snapshot swap)\n"
	"is not a generation.",
	history_opts,
};

static void kind_text(const struct em_generation *g, char *buf, size_t n)
{
	if (g->kind == EM_GEN_ROLLBACK)
		snprintf(buf, n, "rollback to %u", g->rollback_to);
	else if (g->rev)
		snprintf(buf, n, "%s rev %.7s", em_gen_kind_name(g->kind), g->rev);
	else
		snprintf(buf, n, "%s", em_gen_kind_name(g->kind));
}

static json_t *gen_json(const struct em_generation *g)
{
	char date[32];
	time_t t = (time_t)g->time;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_t *o = json_object();
	json_object_set_new(o, "workload", json_string(g->workload));
	json_object_set_new(o, "generation", json_integer(g->number));
	json_object_set_new(o, "date", json_string(date));
	json_object_set_new(o, "commit", json_string(g->commit));
	json_object_set_new(o, "kind", json_string(em_gen_kind_name(g->kind)));
	json_object_set_new(o, "rollback_to", g->kind == EM_GEN_ROLLBACK
						      ? json_integer(g->rollback_to)
						      : json_null());
	json_object_set_new(o, "rev", g->rev ? json_string(g->rev) : json_null());
	json_object_set_new(o, "author", json_string(g->author));
	json_object_set_new(o, "summary", json_string(g->summary));
	return o;
}

int cmd_history(int argc, char **argv)
{
	opt_json = 0;
	opt_file = opt_count = NULL;
	int npos, rc;
	if (!cli_parse_matrix(argc, argv, &history_help, &opt_file, &npos, &rc))
		return rc;
	char **pos = argv + 1;
	if (npos > 1)
		return cli_usage_error(&history_help, "name one workload at most");
	unsigned long limit = 0;
	if (opt_count) {
		char *end;
		limit = strtoul(opt_count, &end, 10);
		if (*end || !*opt_count || !limit)
			return cli_usage_error(&history_help, "-n needs a positive number, not '%s'",
					       opt_count);
	}
	struct em_arena a;
	em_arena_init(&a);
	struct em_matrix m;
	const char *file;
	struct em_history h;
	memset(&h, 0, sizeof h);
	const char *workload = npos ? pos[0] : NULL;
	int ret = cli_load_matrix(&a, opt_file, &m, &file);
	if (ret)
		goto out;
	ret = cli_history_open(&a, file, &m, false, &h);
	struct em_generation *g = NULL;
	uint32_t n = 0;
	if (ret > 0)
		goto out;
	if (ret == 0) {
		struct em_error e;
		em_error_clear(&e);
		if (em_history_list(&a, &h, workload, &g, &n, &e)) {
			ret = cli_report(&e);
			goto out;
		}
	}
	ret = EXIT_OK;
	if (workload && !n && !em_matrix_find(&m, workload)) {
		cli_find_workload(&m, workload);
		ret = EXIT_FAIL;
		goto out;
	}
	if (limit && n > limit)
		n = (uint32_t)limit;
	if (opt_json) {
		json_t *arr = json_array();
		for (uint32_t i = 0; i < n; i++)
			json_array_append_new(arr, gen_json(&g[i]));
		ret = cli_put_json(json_pack("{s:s, s:s?, s:o}", "matrix", file, "history", h.path,
					     "generations", arr));
		goto out;
	}
	if (!n) {
		if (!cli.quiet)
			fprintf(stderr, "envmatrix: no generations recorded yet%s%s%s (the first apply "
				"that changes an environment records one)\n",
				workload ? " for '" : "", workload ? workload : "", workload ? "'" : "");
		goto out;
	}
	printf("%-12s %4s  %-16s  %-7s  %-17s %s\n", "workload", "gen", "date", "commit", "kind",
	       "changes");
	for (uint32_t i = 0; i < n; i++) {
		char date[32], kind[48];
		time_t t = (time_t)g[i].time;
		struct tm tm;
		localtime_r(&t, &tm);
		strftime(date, sizeof date, "%Y-%m-%d %H:%M", &tm);
		kind_text(&g[i], kind, sizeof kind);
		printf("%-12s %4u  %-16s  %.7s  %-17s %s\n", g[i].workload, g[i].number, date,
		       g[i].commit, kind, g[i].summary);
	}
out:
	em_history_close(&h);
	em_arena_release(&a);
	return ret;
}
