/* cmd_shell.c - `envmatrix shell WORKLOAD`: how to activate an environment */
#include "cli.h"

#include "cli/env.h"
#include "spec/matrix.h"
#include "swap.h"
#include "util/arena.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *opt_file, *opt_shell;

static const struct cli_opt shell_opts[] = {
	CLI_MATRIX_OPT(&opt_file),
	{ CLI_OPT_STRING, 's', "shell", "SHELL",
	  "bash, zsh, sh, fish, powershell or cmd (default: from $SHELL)", &opt_shell },
	CLI_END_OPT,
};

static const struct cli_cmd_help shell_help = {
	"shell",
	"[MATRIX] WORKLOAD",
	"print the command that activates a workload's environment",
	"Prints one line for the shell to run, so\n"
	"\n"
	"    eval \"$(envmatrix shell vlm)\"\n"
	"\n"
	"activates the environment of 'vlm' in bash, zsh or sh ('deactivate'\n"
	"undoes it). For PowerShell, run the printed line (the header of\n"
	"Activate.ps1 says how under the default execution policy).",
	shell_opts,
};

/* the path in single quotes, for POSIX shells, fish and PowerShell */
static void put_quoted(const char *s, bool fish)
{
	putchar('\'');
	for (; *s; s++) {
		if (*s == '\'')
			fputs(fish ? "\\'" : "'\\''", stdout);
		else if (fish && *s == '\\')
			fputs("\\\\", stdout);
		else
			putchar(*s);
	}
	putchar('\'');
}

static void put_ps_quoted(const char *s)
{
	putchar('\'');
	for (; *s; s++) {
		if (*s == '\'')
			putchar('\'');
		putchar(*s);
	}
	putchar('\'');
}

int cmd_shell(int argc, char **argv)
{
	opt_file = opt_shell = NULL;
	int npos, rc;
	if (!cli_parse_matrix(argc, argv, &shell_help, &opt_file, &npos, &rc))
		return rc;
	if (npos != 1)
		return cli_usage_error(&shell_help, "name one workload");
	const char *sh = opt_shell;
	if (!sh) {
		const char *env = cli_env()->shell;
		sh = env && *env ? env : "sh";
		const char *slash = strrchr(sh, '/');
		if (slash)
			sh = slash + 1;
	}
	enum { POSIX, FISH, PWSH, CMD } kind;
	if (!strcmp(sh, "bash") || !strcmp(sh, "zsh") || !strcmp(sh, "sh") ||
	    !strcmp(sh, "dash") || !strcmp(sh, "ksh") || !strcmp(sh, "mksh") || !strcmp(sh, "ash"))
		kind = POSIX;
	else if (!strcmp(sh, "fish"))
		kind = FISH;
	else if (!strcmp(sh, "powershell") || !strcmp(sh, "pwsh"))
		kind = PWSH;
	else if (!strcmp(sh, "cmd"))
		kind = CMD;
	else
		return cli_usage_error(&shell_help,
				       "unknown shell '%s'; use bash, zsh, sh, fish, powershell or "
				       "cmd", sh);

	struct em_arena a;
	em_arena_init(&a);
	struct em_matrix m;
	const struct em_workload *w;
	struct em_venv_paths p;
	int ret = cli_load_workload(&a, opt_file, argv[1], &m, &w, &p);
	if (ret)
		goto out;
	struct stat st;
	char *bin = em_arena_printf(&a, "%s/bin", p.root);
	bool windows = bin && stat(bin, &st) != 0;
	const char *dir = windows ? "Scripts" : "bin";
	static const char *const script[] = { "activate", "activate.fish", "Activate.ps1",
					      "activate.bat" };
	char *path = em_arena_printf(&a, "%s/%s/%s", p.root, dir, script[kind]);
	if (!path) {
		ret = EXIT_FAIL;
		goto out;
	}
	switch (kind) {
	case POSIX:
		fputs(". ", stdout);
		put_quoted(path, false);
		break;
	case FISH:
		fputs("source ", stdout);
		put_quoted(path, true);
		break;
	case PWSH:
		fputs("& ", stdout);
		put_ps_quoted(path);
		break;
	case CMD:
		for (char *s = path; *s; s++)
			if (*s == '/')
				*s = '\\';
		printf("\"%s\"", path);
		break;
	}
	putchar('\n');
out:
	em_arena_release(&a);
	return ret;
}
