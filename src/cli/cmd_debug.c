/* cmd_debug.c - `envmatrix debug`: the standards engine, one question at a time
 *
 * The output of every debug subcommand is line-oriented and documented in
 * docs/envmatrix.1 so scripts can rely on it.
 */
#include "cli.h"

#include <string.h>

struct subcommand {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

/* sorted by name */
static const struct subcommand subs[] = {
	{ "lock", debug_lock, "read and check a PEP 751 lock file" },
	{ "marker", debug_marker, "evaluate a PEP 508 marker for a target" },
	{ "metadata", debug_metadata, "parse a METADATA file" },
	{ "name", debug_name, "normalize project names (PEP 503)" },
	{ "requirement", debug_requirement, "parse a PEP 508 requirement" },
	{ "specifier", debug_specifier, "which versions a specifier set allows" },
	{ "tags", debug_tags, "the wheel tags a target supports, best first" },
	{ "version", debug_version, "parse, normalize, compare and sort versions" },
	{ "wheel", debug_wheel, "parse a wheel file name and rank it for a target" },
};

static void print_debug_help(FILE *f)
{
	fprintf(f, "usage: envmatrix debug SUBCOMMAND [ARGS]\n\n"
		   "Look inside the packaging-standards engine: why a version matches, a\n"
		   "marker applies, or a wheel was (not) chosen.\n\nsubcommands:\n");
	for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
		fprintf(f, "  %-12s %s\n", subs[i].name, subs[i].summary);
	fprintf(f, "\nrun 'envmatrix debug SUBCOMMAND --help' for details\n");
}

int cmd_debug(int argc, char **argv)
{
	if (argc < 2) {
		print_debug_help(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		print_debug_help(stdout);
		return EXIT_OK;
	}
	for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
		if (!strcmp(subs[i].name, argv[1]))
			return subs[i].run(argc - 1, argv + 1);
	cli_error("unknown debug subcommand '%s'", argv[1]);
	fprintf(stderr, "run 'envmatrix debug --help' for the subcommands\n");
	return EXIT_USAGE;
}
