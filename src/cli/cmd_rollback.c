/* cmd_rollback.c - `envmatrix rollback`: put a workload's previous environment back */
#include "cli.h"

#include <string.h>

static int opt_wait;
static const char *opt_file;

static const struct cli_opt rollback_opts[] = {
	{ CLI_OPT_STRING, 'f', "file", "MATRIX", "the matrix file (default matrix.ini)", &opt_file },
	{ CLI_OPT_FLAG, 0, "wait", NULL, "wait for an apply of this matrix to finish", &opt_wait },
	{ CLI_OPT_END, 0, NULL, NULL, NULL, NULL },
};

static const struct cli_cmd_help rollback_help = {
	"rollback",
	"[-f MATRIX] [--wait] WORKLOAD...",
	"swap a workload's environment and its snapshot (<venv>-original)",
	"The environment the last apply replaced comes back, and the current one\n"
	"becomes the snapshot, so a second rollback re-applies. Both stay\n"
	"complete at every moment. Fails, changing nothing, when the workload has\n"
	"no snapshot. The lock files are not changed: 'envmatrix status' then\n"
	"shows the environment as differing from its lock, and the next apply\n"
	"builds the locked one again.\n"
	"\n"
	"Exit status: 0 when every named workload was rolled back, 1 otherwise.",
	rollback_opts,
};

static void describe(const char *label, const char *python, const char *torch)
{
	printf("  %-9s python %s%s%s\n", label, python ? python : "?", torch ? ", torch " : "",
	       torch ? torch : "");
}

int cmd_rollback(int argc, char **argv)
{
	opt_wait = 0;
	opt_file = NULL;
	int npos;
	int rc = cli_parse(argc, argv, &rollback_help, &npos);
	if (rc)
		return rc > 0 ? EXIT_OK : EXIT_USAGE;
	if (npos == 0)
		return cli_usage_error(&rollback_help, "name the workload to roll back");
	struct em_arena a;
	em_arena_init(&a);
	struct em_state_lock lock = { -1 };
	struct em_matrix m;
	const char *file;
	int ret = cli_load_matrix(&a, opt_file, &m, &file);
	for (int i = 0; i < npos && !ret; i++)
		if (!cli_find_workload(&m, argv[1 + i]))
			ret = EXIT_FAIL;
	if (!ret)
		ret = cli_take_lock(&a, file, "rollback", opt_wait, &lock);
	for (int i = 0; i < npos && !ret; i++) {
		const struct em_workload *w = em_matrix_find(&m, argv[1 + i]);
		struct em_error e;
		em_error_clear(&e);
		struct em_venv_paths p;
		const char *what = NULL;
		if (em_venv_paths(&a, file, w, &p, &e) || em_venv_recover(&a, &p, &what, &e)) {
			ret = cli_report(&e);
			break;
		}
		if (what)
			cli_warn("workload '%s': %s", w->name, what);
		if (em_venv_rollback(&p, &e)) {
			if (e.code == EM_ENOTFOUND)
				cli_error("workload '%s' has no snapshot to roll back to: '%s' does not "
					  "exist (apply makes one when it replaces an environment)",
					  w->name, p.snapshot);
			else
				cli_report(&e);
			ret = EXIT_FAIL;
			break;
		}
		struct em_venv_state st;
		em_venv_state_read(&a, &p, &st, NULL);
		printf("%s: rolled back '%s'\n", w->name, p.root);
		describe("now", st.python, st.torch);
		if (st.has_snapshot)
			describe("snapshot", st.snapshot_python, st.snapshot_torch);
	}
	em_state_lock_release(&lock);
	em_arena_release(&a);
	return ret;
}
