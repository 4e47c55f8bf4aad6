/* cmd_python.c - `envmatrix python list`: the interpreters envmatrix can use */
#include "cli.h"

#include <jansson.h>
#include <string.h>

static int opt_json;

static const struct cli_opt python_opts[] = {
	{ CLI_OPT_FLAG, 0, "json", NULL, "print the list as JSON", &opt_json },
	{ CLI_OPT_END, 0, NULL, NULL, NULL, NULL },
};

static const struct cli_cmd_help python_help = {
	"python",
	"list [--json]",
	"list the Python interpreters on this machine that workloads can use",
	"Looks in PATH and pyenv (PYENV_ROOT, else ~/.pyenv) as 'plan' and\n"
	"'apply' do for python = 3.12 or a specifier, and prints one line per\n"
	"interpreter: version, implementation, where it was found, and its path.\n"
	"Newest first; virtual environments are left out.",
	python_opts,
};

int cmd_python(int argc, char **argv)
{
	opt_json = 0;
	int npos;
	int rc = cli_parse(argc, argv, &python_help, &npos);
	if (rc)
		return rc > 0 ? EXIT_OK : EXIT_USAGE;
	if (npos != 1 || strcmp(argv[1], "list"))
		return cli_usage_error(&python_help, npos ? "unknown subcommand '%s'" : "%s",
				       npos ? argv[1] : "name the subcommand: list");
	struct em_arena a;
	em_arena_init(&a);
	struct em_error e;
	em_error_clear(&e);
	struct em_interp_list l;
	int ret = EXIT_OK;
	if (em_interp_discover(&a, &l, &e)) {
		ret = cli_report(&e);
		goto out;
	}
	if (opt_json) {
		json_t *arr = json_array();
		for (uint32_t i = 0; i < l.n; i++) {
			char v[48];
			em_python_name(&l.items[i].py, v, sizeof v);
			json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s}", "version", v,
							     "implementation",
							     l.items[i].implementation, "source",
							     l.items[i].source, "path", l.items[i].path,
							     "realpath", l.items[i].realpath));
		}
		ret = cli_put_json(arr);
	} else {
		for (uint32_t i = 0; i < l.n; i++) {
			char v[48];
			em_python_name(&l.items[i].py, v, sizeof v);
			printf("%-10s %-8s %-5s %s\n", v, l.items[i].implementation, l.items[i].source,
			       l.items[i].path);
		}
	}
out:
	em_arena_release(&a);
	return ret;
}
