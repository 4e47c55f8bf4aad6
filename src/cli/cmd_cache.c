/* cmd_cache.c - `envmatrix cache dir|info|clean|prune`: the shared cache */
#include "cli.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "envmatrix/fs.h"

static int opt_json, opt_wait;
static const char *opt_file, *opt_cache_dir;

static const struct cli_opt cache_opts[] = {
	{ CLI_OPT_STRING, 'f', "file", "MATRIX", "use this matrix's cache-dir (default matrix.ini)",
	  &opt_file },
	{ CLI_OPT_STRING, 0, "cache-dir", "DIR", "the cache folder (overrides the matrix)",
	  &opt_cache_dir },
	{ CLI_OPT_FLAG, 0, "json", NULL, "print the result as JSON", &opt_json },
	{ CLI_OPT_FLAG, 0, "wait", NULL,
	  "clean, prune: wait while other processes use the cache", &opt_wait },
	{ CLI_OPT_END, 0, NULL, NULL, NULL, NULL },
};

static const struct cli_cmd_help cache_help = {
	"cache",
	"dir|info|clean|prune [-f MATRIX] [--cache-dir DIR] [--json] [--wait]",
	"show, clean or prune the shared download and unpack cache",
	"The cache holds downloaded wheels (wheels/), wheels unpacked once and\n"
	"linked into every environment that installs them (unpacked/), index\n"
	"pages (pages/) and work in progress (tmp/). Its folder is --cache-dir,\n"
	"else the matrix's cache-dir (with -f, or when ./matrix.ini exists),\n"
	"else ENVMATRIX_CACHE_DIR, else $XDG_CACHE_HOME/envmatrix, else\n"
	"~/.cache/envmatrix.\n"
	"\n"
	"  dir    print the cache folder\n"
	"  info   entries and disk use of each part: downloads (wheels), partial\n"
	"         downloads, unpacked trees (in use: an environment links to\n"
	"         them), index pages, and leftovers of interrupted runs (tmp); a\n"
	"         file linked several times is counted once\n"
	"  clean  remove everything in it; environments keep working (their\n"
	"         files are links of their own), the next apply fetches again\n"
	"  prune  remove what can be rebuilt without the network: leftovers,\n"
	"         partial downloads, index pages, and unpacked trees no\n"
	"         environment links to whose download is kept; downloads stay\n"
	"\n"
	"clean and prune need the cache to themselves: they fail when another\n"
	"envmatrix process is using it, or wait with --wait. Symbolic links in\n"
	"the cache are never followed. Sizes are disk use, in KiB, MiB, GiB.\n"
	"\n"
	"Exit status: 0 on success, 1 when the cache cannot be read or changed\n"
	"or another process is using it, 2 on a usage error.",
	cache_opts,
};

struct row {
	const char *label, *key;
	const struct em_cache_usage *u;
};

/* The rows of a report, total last (in use is part of unpacked). */
static int rows_of(const struct em_cache_info *in, struct em_cache_usage *total, struct row *r)
{
	memset(total, 0, sizeof *total);
	const struct em_cache_usage *parts[] = { &in->wheels, &in->partial, &in->unpacked,
						 &in->pages, &in->tmp };
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
		total->entries += parts[i]->entries;
		total->bytes += parts[i]->bytes;
	}
	const struct row all[] = {
		{ "wheels", "wheels", &in->wheels },   { "partial", "partial", &in->partial },
		{ "unpacked", "unpacked", &in->unpacked }, { "  in use", "in_use", &in->in_use },
		{ "pages", "pages", &in->pages },      { "tmp", "tmp", &in->tmp },
		{ "total", "total", total },
	};
	memcpy(r, all, sizeof all);
	return (int)(sizeof all / sizeof all[0]);
}

static void print_table(const char *heading, const struct em_cache_info *in)
{
	struct em_cache_usage total;
	struct row r[8];
	int n = rows_of(in, &total, r);
	printf("%-10s %8s %11s\n", heading, "entries", "size");
	for (int i = 0; i < n; i++) {
		char size[32];
		cli_human_bytes(size, sizeof size, (double)r[i].u->bytes);
		printf("%-10s %8llu %11s\n", r[i].label, (unsigned long long)r[i].u->entries, size);
	}
}

/* {"cache": ROOT (when not NULL), "wheels": {"entries": N, "bytes": N}, ...} */
static json_t *json_usage(const char *root, const struct em_cache_info *in)
{
	struct em_cache_usage total;
	struct row r[8];
	int n = rows_of(in, &total, r);
	json_t *o = json_object();
	if (o && root)
		json_object_set_new(o, "cache", json_string(root));
	for (int i = 0; o && i < n; i++)
		json_object_set_new(o, r[i].key,
				    json_pack("{s:I, s:I}", "entries", (json_int_t)r[i].u->entries,
					      "bytes", (json_int_t)r[i].u->bytes));
	return o;
}

/* The folder as em_cache_open finds it, without creating or locking it. */

int cmd_cache(int argc, char **argv)
{
	opt_json = opt_wait = 0;
	opt_file = opt_cache_dir = NULL;
	int npos;
	int rc = cli_parse(argc, argv, &cache_help, &npos);
	if (rc)
		return rc > 0 ? EXIT_OK : EXIT_USAGE;
	if (npos == 0)
		return cli_usage_error(&cache_help, "name the subcommand: dir, info, clean or prune");
	const char *sub = argv[1];
	bool removing = !strcmp(sub, "clean") || !strcmp(sub, "prune");
	if (!removing && strcmp(sub, "dir") && strcmp(sub, "info"))
		return cli_usage_error(&cache_help, "unknown subcommand '%s'", sub);
	if (npos > 1)
		return cli_usage_error(&cache_help, "'cache %s' takes no argument ('%s')", sub,
				       argv[2]);
	if (opt_wait && !removing)
		return cli_usage_error(&cache_help, "'--wait' is for clean and prune");
	if (opt_cache_dir && !*opt_cache_dir)
		return cli_usage_error(&cache_help, "'--cache-dir' needs a folder");

	struct em_arena a;
	em_arena_init(&a);
	struct em_error e;
	em_error_clear(&e);
	struct em_cache c = { NULL, -1 };
	int ret = EXIT_OK;

	/* the configured folder: --cache-dir, else the matrix's cache-dir */
	const char *configured = opt_cache_dir;
	char from[600] = ""; /* "cache-dir, FILE:LINE" when the matrix named it */
	struct stat st;
	if (!configured && (opt_file || stat("matrix.ini", &st) == 0)) {
		struct em_matrix m;
		const char *file;
		if ((ret = cli_load_matrix(&a, opt_file, &m, &file)))
			goto out;
		if (m.cache_dir.value) {
			configured = em_path_join(&a, em_path_dir(&a, file), m.cache_dir.value);
			snprintf(from, sizeof from, "cache-dir, %s:%u", m.file,
				 (unsigned)m.cache_dir.line);
		}
	}

	if (!strcmp(sub, "dir")) {
		char *dir = em_cache_path(&a, configured, &e);
		if (!dir)
			ret = cli_report(&e);
		else if (opt_json)
			ret = cli_put_json(json_pack("{s:s}", "cache", dir));
		else
			printf("%s\n", dir);
		goto out;
	}

	if (!removing)
		rc = em_cache_open(&c, &a, configured, &e);
	else {
		rc = em_cache_open_exclusive(&c, &a, configured, false, &e);
		if (rc == EM_EBUSY && !opt_wait) {
			cli_error("%s: another envmatrix process is using the cache; run again when "
				  "it is done, or add --wait", e.where);
			ret = EXIT_FAIL;
			goto out;
		}
		if (rc == EM_EBUSY) {
			if (!cli.quiet)
				fprintf(stderr, "envmatrix: %s: %s; waiting\n", e.where, e.msg);
			em_error_clear(&e);
			rc = em_cache_open_exclusive(&c, &a, configured, true, &e);
		}
	}
	if (rc) {
		if (from[0])
			em_err_prefix_where(&e, "%s", from);
		ret = cli_report(&e);
		goto out;
	}

	struct em_cache_info info;
	if (!strcmp(sub, "info")) {
		rc = em_cache_info(&c, &info, &e);
		if (rc) {
			ret = cli_report(&e);
		} else if (opt_json) {
			ret = cli_put_json(json_usage(c.root, &info));
		} else {
			printf("%-10s %s\n", "cache", c.root);
			print_table("part", &info);
		}
		goto out;
	}

	bool clean = !strcmp(sub, "clean");
	if (!cli.quiet)
		fprintf(stderr, "envmatrix: %s '%s'\n", clean ? "cleaning" : "pruning", c.root);
	rc = clean ? em_cache_clean(&c, &info, &e) : em_cache_prune(&c, &info, &e);
	if (rc) {
		/* what went before the failure is gone: say so */
		struct em_cache_usage total;
		struct row r[8];
		rows_of(&info, &total, r);
		ret = cli_report(&e);
		if (total.entries) {
			char size[32];
			cli_human_bytes(size, sizeof size, (double)total.bytes);
			fprintf(stderr, "envmatrix: removed %llu entries (%s) before the failure\n",
				(unsigned long long)total.entries, size);
		}
	} else if (opt_json) {
		json_t *o = json_usage(NULL, &info);
		ret = cli_put_json(o ? json_pack("{s:s, s:o}", "cache", c.root, "removed", o) : NULL);
	} else {
		print_table("removed", &info);
	}
out:
	em_cache_close(&c);
	em_arena_release(&a);
	return ret;
}
