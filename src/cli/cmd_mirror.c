/* cmd_mirror.c - `envmatrix mirror DIR`: a static index of exactly what the locks need */
#include "cli.h"

#include "envmatrix/error.h"
#include "mirror.h"
#include "os/fs.h"
#include "spec/matrix.h"
#include "util/arena.h"

#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int opt_prune, opt_verify, opt_json;
static const char *opt_file;
static struct cli_list opt_workloads;

static const struct cli_opt mirror_opts[] = {
	CLI_MATRIX_OPT(&opt_file),
	{ CLI_OPT_LIST, 'w', "workload", "NAME",
	  "mirror only this workload's lock (repeatable; default: every workload)",
	  &opt_workloads },
	{ CLI_OPT_FLAG, 0, "prune", NULL,
	  "remove files, projects and variants the locks no longer need", &opt_prune },
	{ CLI_OPT_FLAG, 0, "verify", NULL,
	  "check the sha256 of files already in DIR (default: their size)", &opt_verify },
	CLI_JSON_OPT("the outcome", &opt_json),
	CLI_NET_OPTS,
	CLI_END_OPT,
};

static const struct cli_cmd_help mirror_help = {
	"mirror",
	"[MATRIX] DIR",
	"write a static package index holding exactly the files the locks need",
	"Reads the lock of every workload (pylock.<workload>.toml beside the\n"
	"matrix; run 'envmatrix plan' first) and writes into DIR a package index\n"
	"(PEP 503 HTML and PEP 691 JSON pages, PEP 658 metadata sidecars) with\n"
	"every file those locks list: all the wheels of every locked package, for\n"
	"every platform a lock names, and sdists. Each file is verified by its\n"
	"sha256 and size, stored once, and linked or copied into place; every\n"
	"write is atomic.\n"
	"\n"
	"  DIR/simple/<project>/           everything but the torch family\n"
	"  DIR/torch/<variant>/<project>/  the torch family of the workloads on\n"
	"                                  that variant (cu126, cpu...)\n"
	"\n"
	"Any web server, or the folder itself, serves it: set index-url =\n"
	"DIR/simple and torch-index-url = DIR/torch (or their http:// URLs) in\n"
	"the matrix, and plan and apply give the same environments offline\n"
	"(docs/mirror.md shows an nginx configuration).\n"
	"\n"
	"Running it again adds what is missing and rewrites pages that changed;\n"
	"nothing is removed unless --prune. Prints a summary (-v: one line per\n"
	"project) and the two URLs.\n"
	"\n"
	"Exit status: 0 when every file is in place, 1 on an error (a workload\n"
	"without a lock, a file whose hash differs, DIR not writable), 2 for a\n"
	"wrong command line, 130 when interrupted.",
	mirror_opts,
};

struct progress {
	bool tty;
	bool line_open;
	const char *dir;
};

static void close_line(struct progress *pr)
{
	if (pr->line_open) {
		fputs("\r\033[K", stderr);
		pr->line_open = false;
	}
}

/* path relative to the mirror's folder, for display */
static const char *rel(const struct progress *pr, const char *path)
{
	size_t n = strlen(pr->dir);
	if (!strncmp(path, pr->dir, n) && path[n] == '/')
		return path + n + 1;
	return path;
}

static void on_event(void *ctx, const struct em_mirror_event *ev)
{
	struct progress *pr = ctx;
	if (cli.quiet)
		return;
	switch (ev->kind) {
	case EM_MIRROR_EV_LOCK:
		if (cli.verbose)
			fprintf(stderr, "envmatrix: mirror: read %s\n", ev->detail);
		break;
	case EM_MIRROR_EV_FETCH:
		fprintf(stderr, "envmatrix: mirror: %u file%s to place\n", ev->total,
			ev->total == 1 ? "" : "s");
		break;
	case EM_MIRROR_EV_FILE:
		if (pr->tty) {
			fprintf(stderr, "\r\033[K  [%u/%u] %s", ev->done, ev->total, rel(pr, ev->detail));
			pr->line_open = true;
			if (ev->done == ev->total)
				close_line(pr);
		} else if (cli.verbose) {
			fprintf(stderr, "envmatrix: mirror: placed %s (%u/%u)\n", rel(pr, ev->detail),
				ev->done, ev->total);
		}
		break;
	case EM_MIRROR_EV_REMOVED:
		close_line(pr);
		if (cli.verbose)
			fprintf(stderr, "envmatrix: mirror: removed %s\n", rel(pr, ev->detail));
		break;
	}
}

static json_t *mirror_json(const struct em_mirror_result *r)
{
	json_t *projects = json_array();
	for (uint32_t i = 0; projects && i < r->nprojects; i++) {
		const struct em_mirror_project *p = &r->projects[i];
		json_array_append_new(
			projects, json_pack("{s:s, s:s, s:o, s:i, s:I}", "name", p->name, "index",
					    p->index, "versions", cli_json_strings(p->versions, p->nversions),
					    "files", (int)p->nfiles, "bytes", (json_int_t)p->bytes));
	}
	json_t *o = json_object();
	if (!o || !projects) {
		json_decref(o);
		json_decref(projects);
		return NULL;
	}
	json_object_set_new(o, "dir", json_string(r->dir));
	json_object_set_new(o, "index_url", json_string(r->index_url));
	json_object_set_new(o, "torch_index_url", r->torch_index_url
							  ? json_string(r->torch_index_url)
							  : json_null());
	json_object_set_new(o, "locks", cli_json_strings(r->locks, r->nlocks));
	json_object_set_new(o, "variants", cli_json_strings(r->variants, r->nvariants));
	json_object_set_new(o, "files", json_integer(r->nfiles));
	json_object_set_new(o, "bytes", json_integer((json_int_t)r->bytes));
	json_object_set_new(o, "placed", json_integer(r->nplaced));
	json_object_set_new(o, "present", json_integer(r->npresent));
	json_object_set_new(o, "downloaded", json_integer(r->ndownloaded));
	json_object_set_new(o, "bytes_downloaded", json_integer((json_int_t)r->bytes_downloaded));
	json_object_set_new(o, "pages_written", json_integer(r->npages));
	json_object_set_new(o, "removed", json_integer(r->nremoved));
	json_object_set_new(o, "projects", projects);
	json_object_set_new(o, "skipped", cli_json_strings(r->skipped, r->nskipped));
	return o;
}

static void print_text(const struct em_mirror_result *r, bool prune)
{
	char size[32];
	if (cli.verbose) {
		for (uint32_t i = 0; i < r->nprojects; i++) {
			const struct em_mirror_project *p = &r->projects[i];
			cli_human_bytes(size, sizeof size, (double)p->bytes);
			printf("%-14s %-28s %3u file%s %10s ", p->index, p->name, p->nfiles,
			       p->nfiles == 1 ? " " : "s", size);
			for (uint32_t k = 0; k < p->nversions; k++)
				printf(" %s", p->versions[k]);
			putchar('\n');
		}
	}
	cli_human_bytes(size, sizeof size, (double)r->bytes);
	printf("mirrored %u file%s (%s) of %u project%s into '%s'\n", r->nfiles,
	       r->nfiles == 1 ? "" : "s", size, r->nprojects, r->nprojects == 1 ? "" : "s",
	       r->dir);
	if (prune)
		printf("removed %u path%s no lock needs\n", r->nremoved, r->nremoved == 1 ? "" : "s");
	printf("index-url = %s\n", r->index_url);
	if (r->torch_index_url)
		printf("torch-index-url = %s\n", r->torch_index_url);
}

int cmd_mirror(int argc, char **argv)
{
	opt_prune = opt_verify = opt_json = 0;
	opt_file = NULL;
	memset(&opt_workloads, 0, sizeof opt_workloads);
	cli_net_reset_opts();
	int npos, rc;
	if (!cli_parse_matrix(argc, argv, &mirror_help, &opt_file, &npos, &rc))
		return rc;
	if (npos == 0)
		return cli_usage_error(&mirror_help, "no folder to mirror into");
	if (npos > 1)
		return cli_usage_error(&mirror_help, "one folder to mirror into, not %d", npos);
	const char *dir = argv[1];
	if (cli_unique_workloads(&mirror_help, opt_workloads.items, opt_workloads.n))
		return EXIT_USAGE;

	struct em_arena a;
	em_arena_init(&a);
	struct cli_net net; /* its source is unused: mirror reads locks, not indexes */
	cli_net_init(&net);
	struct em_matrix m;
	const char *file;
	int ret = cli_load_matrix(&a, opt_file, &m, &file);
	for (int i = 0; i < opt_workloads.n && !ret; i++)
		if (!cli_find_workload(&m, opt_workloads.items[i]))
			ret = EXIT_FAIL;
	if (ret)
		goto out;

	cli_catch_stop();
	if ((ret = cli_net_open(&a, &m, file, &cli_stop, &net)))
		goto out;

	struct progress pr = { isatty(2) && !cli.quiet, false, dir };
	struct em_mirror_options o = {
		.matrix_path = file,
		.nonly = (uint32_t)opt_workloads.n,
		.only = opt_workloads.items,
		.dir = dir,
		.prune = opt_prune,
		.verify = opt_verify,
		.cache = &net.cache,
		.http = net.http,
		.cancel = &cli_stop,
		.event = on_event,
		.ctx = &pr,
	};
	struct em_mirror_result r;
	struct em_error e;
	em_error_clear(&e);
	char *absdir = em_path_absolute(&a, dir);
	if (absdir)
		pr.dir = absdir;
	rc = em_mirror_run(&a, &m, &o, &r, &e);
	cli_release_stop();
	close_line(&pr);
	if (rc) {
		ret = cli_report(&e);
		if (rc == EM_ECANCELED)
			ret = EXIT_INTERRUPTED;
		goto out;
	}
	for (uint32_t i = 0; i < r.nskipped; i++)
		cli_warn("not mirrored: %s; an index cannot serve it", r.skipped[i]);
	if (cli.verbose)
		fprintf(stderr,
			"envmatrix: mirror: %u placed, %u already there, %u downloaded, %u pages "
			"written, %u removed\n",
			r.nplaced, r.npresent, r.ndownloaded, r.npages, r.nremoved);
	if (opt_json)
		ret = cli_put_json(mirror_json(&r));
	else if (!cli.quiet)
		print_text(&r, opt_prune);
out:
	cli_release_stop();
	cli_net_close(&net);
	em_arena_release(&a);
	return ret;
}
