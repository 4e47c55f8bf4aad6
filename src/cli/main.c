/* main.c - envmatrix: global options and the command table */
#include "cli.h"

#include "cli/env.h"
#include "envmatrix/version.h"

#include <stdlib.h>
#include <string.h>

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

/* sorted by name */
static const struct command commands[] = {
	{ "apply", cmd_apply, "build each workload's environment from its lock (snapshot kept)" },
	{ "build", cmd_build, "build a wheel from an sdist or a source folder (PEP 517)" },
	{ "cache", cmd_cache, "show, clean or prune the shared download and unpack cache" },
	{ "debug", cmd_debug, "look inside the packaging-standards engine" },
	{ "diff", cmd_diff, "compare two generations of a workload (or one and its lock)" },
	{ "doctor", cmd_doctor, "report this machine (GPUs, driver, Pythons) and what it can run" },
	{ "history", cmd_history, "show the generations applied, newest first, and what changed" },
	{ "mirror", cmd_mirror, "write a static index holding exactly the files the locks need" },
	{ "plan", cmd_plan, "resolve every workload and write its lock (pylock.<workload>.toml)" },
	{ "python", cmd_python, "list, install and find the Python interpreters workloads use" },
	{ "rollback", cmd_rollback, "put a workload's previous environment back" },
	{ "run", cmd_run, "run a command inside a workload's environment" },
	{ "shell", cmd_shell, "print the command that activates a workload's environment" },
	{ "status", cmd_status, "show each workload's environment, lock and snapshot" },
	{ "verify", cmd_verify, "check that environments work: imports, torch, CUDA, commands" },
};

static const char *const main_usage =
	"usage: envmatrix [--color=auto|always|never] [-q] [-v] COMMAND [ARGS]\n"
	"       envmatrix --help | --version\n";

static void print_main_help(FILE *f)
{
	fprintf(f, "%s\n", main_usage);
	fprintf(f, "envmatrix provisions one Python environment per GPU workload from a\n"
		   "declarative version matrix.\n\ncommands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "  %-12s %s\n", "help", "show help for a command");
	fprintf(f, "\noptions:\n"
		   "  --color=WHEN     color diagnostics: auto (on a terminal, unless NO_COLOR\n"
		   "                   is set), always or never\n"
		   "  -q, --quiet      only errors, and what the command is asked to print\n"
		   "                   (a path, a list, --json); no tables or progress\n"
		   "  -v, --verbose    more detail on stderr\n"
		   "  -V, --version    print the version\n"
		   "  -h, --help       show this help\n"
		   "--color, -q and -v may also follow the command (envmatrix apply -q).\n"
		   "\nrun 'envmatrix COMMAND --help' for a command's options; 'man envmatrix'\n"
		   "for everything.\n");
}

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	cli_env_load();
	const char *color = "auto";
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			print_main_help(stdout);
			return EXIT_OK;
		} else if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
			printf("envmatrix %s\n", EM_VERSION);
			return EXIT_OK;
		} else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
			cli.quiet = 1;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			cli.verbose++;
		} else if (!strncmp(a, "--color=", 8)) {
			color = a + 8;
			if (!cli_color_valid(color)) {
				fprintf(stderr, "envmatrix: error: --color takes auto, always or never, not '%s'\n%s",
					color, main_usage);
				return EXIT_USAGE;
			}
		} else {
			fprintf(stderr, "envmatrix: error: unknown option '%s'\n%s", a, main_usage);
			return EXIT_USAGE;
		}
	}
	cli.color_out = cli_color_when(color, 1);
	cli.color_err = cli_color_when(color, 2);

	if (i >= argc) {
		fputs(main_usage, stderr);
		fprintf(stderr, "run 'envmatrix --help' for the commands\n");
		return EXIT_USAGE;
	}
	const char *name = argv[i];
	if (!strcmp(name, "help")) {
		if (i + 1 >= argc) {
			print_main_help(stdout);
			return EXIT_OK;
		}
		const struct command *c = find_command(argv[i + 1]);
		if (!c) {
			fprintf(stderr, "envmatrix: error: unknown command '%s'\n", argv[i + 1]);
			return EXIT_USAGE;
		}
		/* "help debug specifier" works like "debug specifier --help" */
		int n = argc - (i + 1);
		char **sub = calloc((size_t)n + 2, sizeof *sub);
		if (!sub)
			return EXIT_FAIL;
		for (int k = 0; k < n; k++)
			sub[k] = argv[i + 1 + k];
		sub[n] = "--help";
		int rc = c->run(n + 1, sub);
		free(sub);
		return rc;
	}
	const struct command *c = find_command(name);
	if (!c) {
		fprintf(stderr, "envmatrix: error: unknown command '%s'\n", name);
		fprintf(stderr, "run 'envmatrix --help' for the commands\n");
		return EXIT_USAGE;
	}
	int rc = c->run(argc - i, argv + i);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_error("cannot write to standard output");
		return EXIT_FAIL;
	}
	return rc;
}
