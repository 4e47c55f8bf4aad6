/* cmd_diff.c - `envmatrix diff`: what changed between two generations */
#include "cli.h"

#include "envmatrix/error.h"
#include "history.h"
#include "lockname.h"
#include "os/fs.h"
#include "plan.h"
#include "spec/lock.h"
#include "spec/matrix.h"
#include "util/arena.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static int opt_json;
static const char *opt_file;

static const struct cli_opt diff_opts[] = {
	CLI_MATRIX_OPT(&opt_file),
	CLI_JSON_OPT("the changes", &opt_json),
	CLI_END_OPT,
};

static const struct cli_cmd_help diff_help = {
	"diff",
	"[MATRIX] WORKLOAD A B",
	"compare two generations of a workload, package by package",
	"A and B are generation numbers ('envmatrix history WORKLOAD' lists them)\n"
	"or 'current', the workload's lock file beside the matrix. One line per\n"
	"change from A to B: the Python, then each package added, removed,\n"
	"upgraded, downgraded, switched (another local label: +cpu to +cu126) or\n"
	"rebuilt (same version, another file). Nothing is printed when they hold\n"
	"the same packages. Reads the history and the lock; changes nothing.",
	diff_opts,
};

struct side {
	const char *label;
	char *text;
	size_t len;
	struct em_lock lock;
	json_t *id;
};

static int load_side(struct em_arena *a, struct em_history *h, bool have_history,
		     const char *file, const char *workload, const char *arg, struct side *s)
{
	struct em_error e;
	em_error_clear(&e);
	s->label = arg;
	const char *where;
	if (!strcmp(arg, "current")) {
		char *p;
		if (em_matrix_lock_path(a, file, workload, &p, &e))
			return cli_report(&e);
		if (em_read_file(a, p, EM_TOML_MAX_LEN, &s->text, &s->len, &e)) {
			if (e.code == EM_ENOTFOUND)
				cli_error("'%s' does not exist: workload '%s' has no lock; run "
					  "'envmatrix plan'", p, workload);
			else
				cli_report(&e);
			return EXIT_FAIL;
		}
		where = p;
		s->id = json_string("current");
	} else {
		char *end;
		unsigned long n = strtoul(arg, &end, 10);
		if (*end || !*arg || !n || n > UINT32_MAX) {
			cli_error("'%s' is not a generation: give a number ('envmatrix history %s' "
				  "lists them) or 'current'", arg, workload);
			return EXIT_USAGE;
		}
		if (!have_history) {
			cli_error("workload '%s' has no generations yet", workload);
			return EXIT_FAIL;
		}
		if (em_history_lock(a, h, workload, (uint32_t)n, NULL, &s->text, &s->len, &e))
			return cli_report(&e);
		where = em_arena_printf(a, "generation %lu of '%s'", n, workload);
		s->id = json_integer((json_int_t)n);
	}
	if (em_lock_parse(a, s->text, s->len, where, &s->lock, &e))
		return cli_report(&e);
	if (!strcmp(arg, "current") && em_lock_check_matrix(&s->lock, where, file, &e))
		return cli_report(&e);
	return EXIT_OK;
}

int cmd_diff(int argc, char **argv)
{
	opt_json = 0;
	opt_file = NULL;
	int npos, rc;
	if (!cli_parse_matrix(argc, argv, &diff_help, &opt_file, &npos, &rc))
		return rc;
	char **pos = argv + 1;
	if (npos != 3)
		return cli_usage_error(&diff_help, "name a workload and two generations (numbers "
				       "or 'current')");
	struct em_arena a;
	em_arena_init(&a);
	struct em_matrix m;
	const char *file;
	struct em_history h;
	memset(&h, 0, sizeof h);
	struct side s[2];
	memset(s, 0, sizeof s);
	int ret = cli_load_matrix(&a, opt_file, &m, &file);
	if (ret)
		goto out;
	int hr = 0;
	if (strcmp(pos[1], "current") || strcmp(pos[2], "current")) {
		hr = cli_history_open(&a, file, &m, false, &h);
		if (hr > 0) {
			ret = hr;
			goto out;
		}
	}
	for (int i = 0; i < 2 && !ret; i++)
		ret = load_side(&a, &h, hr == 0 && h.repo, file, pos[0], pos[1 + i], &s[i]);
	if (ret)
		goto out;
	struct em_change *c;
	uint32_t n;
	if (em_lock_diff(&a, &s[0].lock, &s[1].lock, &c, &n)) {
		struct em_error e;
		ret = cli_report((em_err_nomem(&e), &e));
		goto out;
	}
	const char *pa = s[0].lock.python, *pb = s[1].lock.python;
	bool py = pa && pb && strcmp(pa, pb);
	if (opt_json) {
		json_t *arr = json_array();
		for (uint32_t i = 0; i < n; i++)
			json_array_append_new(arr, json_pack("{s:s, s:s, s:s?, s:s?}", "kind",
							     em_change_kind_name(c[i].kind), "name",
							     c[i].name, "from", c[i].from, "to",
							     c[i].to));
		json_t *pyj = py ? json_pack("{s:s, s:s}", "from", pa, "to", pb) : json_null();
		char *sum = em_change_summary(&a, &s[0].lock, &s[1].lock, c, n);
		ret = cli_put_json(json_pack("{s:s, s:o, s:o, s:o, s:o, s:s?}", "workload", pos[0],
					     "from", s[0].id, "to", s[1].id, "python", pyj,
					     "changes", arr, "summary", sum));
		s[0].id = s[1].id = NULL;
		goto out;
	}
	if (py)
		printf("%-10s %s \xe2\x86\x92 %s\n", "python", pa, pb);
	for (uint32_t i = 0; i < n; i++) {
		const struct em_change *x = &c[i];
		switch (x->kind) {
		case EM_CHANGE_ADDED:
			printf("%-10s %s %s\n", "added", x->name, x->to ? x->to : "");
			break;
		case EM_CHANGE_REMOVED:
			printf("%-10s %s %s\n", "removed", x->name, x->from ? x->from : "");
			break;
		case EM_CHANGE_REBUILT:
			printf("%-10s %s %s\n", "rebuilt", x->name, x->to ? x->to : "");
			break;
		default:
			printf("%-10s %s %s \xe2\x86\x92 %s\n", em_change_kind_name(x->kind), x->name,
			       x->from ? x->from : "?", x->to ? x->to : "?");
		}
	}
out:
	json_decref(s[0].id);
	json_decref(s[1].id);
	em_history_close(&h);
	em_arena_release(&a);
	return ret;
}
