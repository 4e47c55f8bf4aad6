/* cmd_run.c - `envmatrix run WORKLOAD -- CMD`: run a command inside an environment */
#include "cli.h"

#include "cli/env.h"
#include "spec/matrix.h"
#include "swap.h"
#include "util/arena.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *opt_file;

static const struct cli_opt run_opts[] = {
	CLI_MATRIX_OPT(&opt_file),
	CLI_END_OPT,
};

static const struct cli_cmd_help run_help = {
	"run",
	"[MATRIX] WORKLOAD [--] CMD [ARGS...]",
	"run a command inside a workload's environment, without activating it",
	"Runs CMD with the environment's bin folder first on PATH, VIRTUAL_ENV\n"
	"set to it, PYTHONHOME unset, and the workload's env.NAME variables set,\n"
	"as the activation scripts do. Options go before WORKLOAD; everything\n"
	"after it (or after --) is the command.\n"
	"\n"
	"Exit status: the command's; 127 when it cannot be found, 126 when it\n"
	"cannot be run, 1 when the environment does not exist.",
	run_opts,
};

/* Where the workload's name is: options and the matrix (MATRIX) before
 * it, "--" or the command after it. Returns its index in argv, or -1. */
static int split(int argc, char **argv)
{
	bool first = true;
	for (int i = 1; i < argc; i++) {
		const char *s = argv[i];
		if (!strcmp(s, "--"))
			return i + 1 < argc ? i + 1 : -1;
		if ((s[0] != '-' || !s[1]) && first && cli_is_matrix_arg(s)) {
			first = false;
			continue;
		}
		if (s[0] != '-' || !s[1])
			return i;
		if (!strcmp(s, "-f") || !strcmp(s, "--file"))
			i++; /* its value */
	}
	return -1;
}

int cmd_run(int argc, char **argv)
{
	opt_file = NULL;
	int wi = split(argc, argv);
	int npos;
	int rc = cli_parse(wi < 0 ? argc : wi, argv, &run_help, &npos);
	if (rc)
		return rc > 0 ? EXIT_OK : EXIT_USAGE;
	if ((rc = cli_matrix_arg(&run_help, &opt_file, argv + 1, &npos)))
		return rc;
	if (wi < 0)
		return cli_usage_error(&run_help, "name the workload and the command to run");
	int ci = wi + 1;
	if (ci < argc && !strcmp(argv[ci], "--"))
		ci++;
	if (ci >= argc)
		return cli_usage_error(&run_help, "name the command to run in '%s'", argv[wi]);

	struct em_arena a;
	em_arena_init(&a);
	struct em_matrix m;
	const struct em_workload *w;
	struct em_venv_paths p;
	int ret = cli_load_workload(&a, opt_file, argv[wi], &m, &w, &p);
	if (ret)
		goto fail;
	struct stat st;
	char *bin = em_arena_printf(&a, "%s/bin", p.root);
	char *scripts = em_arena_printf(&a, "%s/Scripts", p.root);
	if (!bin || !scripts) {
		ret = EXIT_FAIL;
		goto fail;
	}
	if (stat(bin, &st) != 0 || !S_ISDIR(st.st_mode)) {
		if (stat(scripts, &st) == 0)
			cli_error("the environment '%s' of workload '%s' is a Windows one; it cannot "
				  "run here", p.root, w->name);
		else
			cli_error("'%s' has no bin folder; is it an environment?", p.root);
		ret = EXIT_FAIL;
		goto fail;
	}
	for (uint32_t i = 0; i < w->nenv; i++)
		setenv(w->env[i].name, w->env[i].value, 1);
	const char *path = cli_env_path_now();
	char *np = em_arena_printf(&a, "%s%s%s", bin, path && *path ? ":" : "", path ? path : "");
	if (!np) {
		ret = EXIT_FAIL;
		goto fail;
	}
	setenv("PATH", np, 1);
	setenv("VIRTUAL_ENV", p.root, 1);
	setenv("VIRTUAL_ENV_PROMPT", w->name, 1);
	unsetenv("PYTHONHOME");
	fflush(stdout);
	execvp(argv[ci], argv + ci);
	int err = errno;
	cli_error("cannot run '%s' in workload '%s': %s", argv[ci], w->name, strerror(err));
	ret = err == ENOENT ? 127 : 126;
fail:
	em_arena_release(&a);
	return ret;
}
