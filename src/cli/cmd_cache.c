/* cmd_cache.c - `envmatrix cache dir|info|verify|clean|prune`: the shared cache */
#include "cli.h"

#include "cache.h"
#include "envmatrix/error.h"
#include "history.h"
#include "lockname.h"
#include "os/fs.h"
#include "spec/lock.h"
#include "spec/matrix.h"
#include "util/arena.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int opt_json, opt_wait, opt_repair;
static const char *opt_file, *opt_cache_dir, *opt_keep;

static const struct cli_opt cache_opts[] = {
	{ CLI_OPT_STRING, 'f', "file", "MATRIX", "use this matrix's cache-dir (default matrix.ini)",
	  &opt_file },
	{ CLI_OPT_STRING, 0, "cache-dir", "DIR", "the cache folder (overrides the matrix)",
	  &opt_cache_dir },
	{ CLI_OPT_STRING, 0, "keep", "N",
	  "prune: also remove the wheels only older generations than the newest N of each "
	  "workload need", &opt_keep },
	CLI_JSON_OPT("the result", &opt_json),
	{ CLI_OPT_FLAG, 0, "wait", NULL,
	  "clean, prune: wait while other processes use the cache", &opt_wait },
	{ CLI_OPT_FLAG, 0, "repair", NULL,
	  "verify: unpack damaged wheels again (from the cache's download)", &opt_repair },
	CLI_END_OPT,
};

static const struct cli_cmd_help cache_help = {
	"cache",
	"dir|info|verify|clean|prune [MATRIX]",
	"show, clean or prune the shared download and unpack cache",
	"The cache holds downloaded wheels and sdists (wheels/), wheels unpacked\n"
	"once and linked into every environment that installs them (unpacked/),\n"
	"index pages (pages/), what builds from source keep (build-envs/,\n"
	"built/, build-metadata/, build-logs/) and work in progress (tmp/).\n"
	"Its folder is --cache-dir,\n"
	"else the matrix's cache-dir (with -f, or when ./matrix.ini exists),\n"
	"else ENVMATRIX_CACHE_DIR, else $XDG_CACHE_HOME/envmatrix, else\n"
	"~/.cache/envmatrix.\n"
	"\n"
	"  dir    print the cache folder\n"
	"  info   entries and disk use of each part: downloads (wheels), partial\n"
	"         downloads, unpacked trees (in use: an environment links to\n"
	"         them), index pages, build environments, wheels built from\n"
	"         sdists, prepared metadata, logs of failed builds, and leftovers\n"
	"         of interrupted runs (tmp); a file linked several times is\n"
	"         counted once\n"
	"  verify check every unpacked wheel against its RECORD (the hash and\n"
	"         size of each file) and name the damaged ones and the file that\n"
	"         differs; with --repair, unpack them again from the download\n"
	"         (or drop them, and the next apply unpacks them again); check\n"
	"         every built wheel against the sha256 its entry records (with\n"
	"         --repair a damaged one is removed: the next apply builds it)\n"
	"  clean  remove everything in it; environments keep working (their\n"
	"         files are links of their own), the next apply fetches again\n"
	"  prune  remove what can be rebuilt without the network: leftovers,\n"
	"         partial downloads, index pages, and unpacked trees no\n"
	"         environment links to whose download or built wheel is kept,\n"
	"         build environments no built wheel names (made again when\n"
	"         needed), logs of failed builds but the newest of each project;\n"
	"         downloads, built wheels and prepared metadata stay, so every\n"
	"         generation in the history can be rebuilt offline\n"
	"\n"
	"prune --keep N (with the matrix, -f or ./matrix.ini): only the newest N\n"
	"generations of each workload in its history, and its current locks,\n"
	"count; the downloads and unpacked trees of every other wheel are removed\n"
	"too (unless an environment links to them), and so are the wheels built\n"
	"from sdists those locks do not hold, with their build environments and\n"
	"prepared metadata. The cache is shared: wheels\n"
	"only other matrices use are removed as well, and downloaded again when\n"
	"they are needed.\n"
	"\n"
	"Under the default link mode an environment's files are hard links into\n"
	"unpacked/: editing one in place changes it for every environment that\n"
	"installs that wheel, and for the next apply. apply --force (and an apply\n"
	"whose new environment fails verification) checks the trees it uses and\n"
	"unpacks damaged ones again; link-mode = copy in the matrix avoids the\n"
	"sharing. prune removes damaged trees too.\n"
	"\n"
	"clean and prune need the cache to themselves: they fail when another\n"
	"envmatrix process is using it, or wait with --wait. Symbolic links in\n"
	"the cache are never followed. Sizes are disk use, in KiB, MiB, GiB.\n"
	"\n"
	"Exit status: 0 on success, 1 when the cache cannot be read or changed\n"
	"or another process is using it, or verify found damage it did not\n"
	"repair, 2 on a usage error.",
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
	const struct em_cache_usage *parts[] = { &in->wheels,	  &in->partial,
						 &in->unpacked,	  &in->pages,
						 &in->build_envs, &in->built,
						 &in->build_metadata, &in->build_logs,
						 &in->tmp };
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
		total->entries += parts[i]->entries;
		total->bytes += parts[i]->bytes;
	}
	const struct row all[] = {
		{ "wheels", "wheels", &in->wheels },   { "partial", "partial", &in->partial },
		{ "unpacked", "unpacked", &in->unpacked }, { "  in use", "in_use", &in->in_use },
		{ "pages", "pages", &in->pages },
		{ "build-envs", "build_envs", &in->build_envs },
		{ "built", "built", &in->built },
		{ "build-metadata", "build_metadata", &in->build_metadata },
		{ "build-logs", "build_logs", &in->build_logs },
		{ "tmp", "tmp", &in->tmp },
		{ "total", "total", total },
	};
	memcpy(r, all, sizeof all);
	return (int)(sizeof all / sizeof all[0]);
}

static void print_table(const char *heading, const struct em_cache_info *in)
{
	struct em_cache_usage total;
	struct row r[12];
	int n = rows_of(in, &total, r);
	printf("%-14s %8s %11s\n", heading, "entries", "size");
	for (int i = 0; i < n; i++) {
		char size[32];
		cli_human_bytes(size, sizeof size, (double)r[i].u->bytes);
		printf("%-14s %8llu %11s\n", r[i].label, (unsigned long long)r[i].u->entries, size);
	}
}

/* {"cache": ROOT (when not NULL), "wheels": {"entries": N, "bytes": N}, ...} */
static json_t *json_usage(const char *root, const struct em_cache_info *in)
{
	struct em_cache_usage total;
	struct row r[12];
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

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* What prune --keep N keeps: the wheels of the newest N generations of
 * each workload in the matrix's history, and of the locks beside it. */
static int keep_set(struct em_arena *a, const char *file, const struct em_matrix *m, uint32_t n,
		    const char ***out, size_t *nout)
{
	struct em_error e;
	em_error_clear(&e);
	const char **hist = NULL;
	size_t nhist = 0;
	struct em_history h;
	int ret = cli_history_open(a, file, m, false, &h);
	if (ret > 0)
		return ret;
	if (ret == 0) {
		int rc = em_history_wheels(a, &h, n, &hist, &nhist, &e);
		em_history_close(&h);
		if (rc)
			return cli_report(&e);
	}
	size_t cap = nhist + 1;
	struct em_lock *locks = em_arena_array(a, m->nworkloads + 1, sizeof *locks);
	uint32_t nl = 0;
	for (uint32_t i = 0; locks && i < m->nworkloads; i++) {
		char *text, *p;
		size_t len;
		/* another matrix's lock (lockname.h) keeps its wheels too: the
		 * prune only needs to know every lock beside the matrix */
		if (em_matrix_lock_path(a, file, m->workloads[i].name, &p, NULL) ||
		    em_read_file(a, p, EM_TOML_MAX_LEN, &text, &len, NULL) ||
		    em_lock_parse(a, text, len, p, &locks[nl], NULL))
			continue;
		for (uint32_t k = 0; k < locks[nl].npackages; k++)
			cap += locks[nl].packages[k].nwheels + 1;
		nl++;
	}
	const char **v = locks ? em_arena_array(a, cap, sizeof *v) : NULL;
	if (!v) {
		em_err_nomem(&e);
		return cli_report(&e);
	}
	size_t k = 0;
	for (size_t i = 0; i < nhist; i++)
		v[k++] = hist[i];
	for (uint32_t i = 0; i < nl; i++)
		for (uint32_t p = 0; p < locks[i].npackages; p++) {
			for (uint32_t w = 0; w < locks[i].packages[p].nwheels; w++)
				if (locks[i].packages[p].wheels[w].sha256)
					v[k++] = locks[i].packages[p].wheels[w].sha256;
			/* an sdist: its download, and the wheels built from it */
			if (locks[i].packages[p].sdist && locks[i].packages[p].sdist->sha256)
				v[k++] = locks[i].packages[p].sdist->sha256;
		}
	qsort(v, k, sizeof *v, cmp_str);
	size_t u = 0;
	for (size_t i = 0; i < k; i++)
		if (!u || strcmp(v[u - 1], v[i]))
			v[u++] = v[i];
	*out = v;
	*nout = u;
	return EXIT_OK;
}

/* cache verify [--repair]: every unpacked tree against its RECORD */
static int verify_cache(struct em_arena *a, struct em_cache *c)
{
	struct em_error e;
	em_error_clear(&e);
	struct em_cache_check *v;
	uint32_t n;
	int rc = em_cache_list_unpacked(c, a, &v, &n, &e);
	if (!rc)
		rc = em_cache_check_unpacked(c, a, v, n, 0,
					     opt_repair ? EM_CACHE_CHECK_REPAIR : 0, NULL, &e);
	/* built wheels against the hash their entry records (--repair drops
	 * a damaged one: the next apply builds it again) */
	struct em_cache_built_check *bv = NULL;
	uint32_t nb = 0;
	struct em_error be;
	em_error_clear(&be);
	int brc = em_cache_check_built(c, a, opt_repair, &bv, &nb, &be);
	uint32_t checked = 0, damaged = 0, left = 0, dropped = 0;
	uint32_t bchecked = 0, bdamaged = 0, bleft = 0;
	json_t *list = opt_json ? json_array() : NULL;
	for (uint32_t i = 0; i < n; i++) {
		const struct em_cache_check *x = &v[i];
		checked += x->checked;
		if (!x->damaged)
			continue;
		damaged++;
		const char *state = x->repaired ? "repaired" : x->dropped ? "dropped" : "damaged";
		left += !x->repaired && !x->dropped;
		dropped += x->dropped && !x->repaired;
		if (list)
			json_array_append_new(list, json_pack("{s:s, s:s?, s:s, s:s, s:s}", "sha256",
							      x->sha256, "wheel", x->wheel, "state",
							      state, "path", x->err.where, "problem",
							      x->err.msg));
		else
			printf("%-8s %s %s: %s\n", state, x->wheel ? x->wheel : x->sha256,
			       x->err.where, x->err.msg);
	}
	for (uint32_t i = 0; i < nb; i++) {
		const struct em_cache_built_check *x = &bv[i];
		bchecked += x->checked;
		if (!x->damaged)
			continue;
		bdamaged++;
		bleft += !x->dropped;
		const char *state = x->dropped ? "dropped" : "damaged";
		if (list)
			json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "sha256",
							      x->sha256, "wheel", x->wheel, "state",
							      state, "path", x->err.where, "problem",
							      x->err.msg, "entry", "built"));
		else
			printf("%-8s %s (built) %s: %s\n", state, x->wheel, x->err.where, x->err.msg);
	}
	int ret = EXIT_OK;
	if (opt_json)
		ret = cli_put_json(json_pack("{s:s, s:I, s:I, s:o}", "cache", c->root, "checked",
					     (json_int_t)checked, "built_checked", (json_int_t)bchecked,
					     "damaged", list ? list : json_array()));
	else {
		printf("%u unpacked wheel%s checked, %u damaged\n", checked, checked == 1 ? "" : "s",
		       damaged);
		if (nb)
			printf("%u built wheel%s checked, %u damaged\n", bchecked,
			       bchecked == 1 ? "" : "s", bdamaged);
	}
	if (rc)
		return cli_report(&e);
	if (brc)
		return cli_report(&be);
	if (bleft) {
		cli_error("%u built wheel%s in '%s' %s damaged: 'envmatrix cache verify --repair' "
			  "removes %s, and the next apply builds %s again", bleft,
			  bleft == 1 ? "" : "s", c->root, bleft == 1 ? "is" : "are",
			  bleft == 1 ? "it" : "them", bleft == 1 ? "it" : "them");
		if (!left)
			return EXIT_FAIL;
	}
	if (left) {
		cli_error("%u unpacked wheel%s in '%s' %s damaged: 'envmatrix cache verify "
			  "--repair' unpacks %s again (so does 'envmatrix apply --force')", left,
			  left == 1 ? "" : "s", c->root, left == 1 ? "is" : "are",
			  left == 1 ? "it" : "them");
		return EXIT_FAIL;
	}
	if (dropped && !cli.quiet)
		fprintf(stderr, "envmatrix: %u damaged tree%s had no download in the cache: the "
			"next apply downloads and unpacks %s again\n", dropped, dropped == 1 ? "" : "s",
			dropped == 1 ? "it" : "them");
	return ret;
}

/* The command line's mistakes for subcommand sub (printed, EXIT_USAGE), or
 * 0; *keep_n: --keep's number */
static int check_usage(const char *sub, bool removing, int npos, char **argv,
		       unsigned long *keep_n)
{
	if (npos > 0)
		return cli_usage_error(&cache_help, "'cache %s' takes no argument ('%s')", sub,
				       argv[2]);
	if (opt_wait && !removing)
		return cli_usage_error(&cache_help, "'--wait' is for clean and prune");
	if (opt_repair && strcmp(sub, "verify"))
		return cli_usage_error(&cache_help, "'--repair' is for verify");
	if (opt_keep) {
		char *end;
		*keep_n = strtoul(opt_keep, &end, 10);
		if (strcmp(sub, "prune"))
			return cli_usage_error(&cache_help, "'--keep' is for prune");
		if (*end || !*opt_keep || !*keep_n || *keep_n > UINT32_MAX)
			return cli_usage_error(&cache_help, "'--keep' needs a number of generations, "
					       "not '%s'", opt_keep);
	}
	if (opt_cache_dir && !*opt_cache_dir)
		return cli_usage_error(&cache_help, "'--cache-dir' needs a folder");
	return 0;
}

/* What the matrix says (-f, or ./matrix.ini when it is there): the cache
 * folder (*configured, unless --cache-dir gave it; from: "cache-dir,
 * FILE:LINE" when the matrix named it, else "") and, for prune --keep N,
 * the wheels to keep. Returns an exit code (printed). */
static int read_matrix(struct em_arena *a, unsigned long keep_n, const char **configured,
		       char *from, size_t fromsize, const char ***keep, size_t *nkeep)
{
	struct stat st;
	int ret;
	if (opt_keep && !opt_file && stat("matrix.ini", &st) != 0) {
		cli_error("prune --keep counts the generations of a matrix's history: name the "
			  "matrix with -f MATRIX");
		return EXIT_FAIL;
	}
	if (opt_keep) {
		struct em_matrix m;
		const char *file;
		if ((ret = cli_load_matrix(a, opt_file, &m, &file)) ||
		    (ret = keep_set(a, file, &m, (uint32_t)keep_n, keep, nkeep)))
			return ret;
	}
	if (!*configured && (opt_file || stat("matrix.ini", &st) == 0)) {
		struct em_matrix m;
		const char *file;
		if ((ret = cli_load_matrix(a, opt_file, &m, &file)))
			return ret;
		if (m.cache_dir.value) {
			*configured = em_path_join(a, em_path_dir(a, file), m.cache_dir.value);
			snprintf(from, fromsize, "cache-dir, %s:%u", m.file, (unsigned)m.cache_dir.line);
		}
	}
	return EXIT_OK;
}

/* cache dir */
static int print_dir(struct em_arena *a, const char *configured)
{
	struct em_error e;
	em_error_clear(&e);
	char *dir = em_cache_path(a, configured, &e);
	if (!dir)
		return cli_report(&e);
	if (opt_json)
		return cli_put_json(json_pack("{s:s}", "cache", dir));
	printf("%s\n", dir);
	return EXIT_OK;
}

/* Open the cache, alone for clean and prune (removing; waiting with
 * --wait). Returns an exit code (printed). */
static int open_cache(struct em_arena *a, struct em_cache *c, const char *configured,
		      bool removing, const char *from)
{
	struct em_error e;
	em_error_clear(&e);
	int rc;
	if (!removing)
		rc = em_cache_open(c, a, configured, &e);
	else {
		rc = em_cache_open_exclusive(c, a, configured, false, &e);
		if (rc == EM_EBUSY && !opt_wait) {
			cli_error("%s: another envmatrix process is using the cache; run again when "
				  "it is done, or add --wait", e.where);
			return EXIT_FAIL;
		}
		if (rc == EM_EBUSY) {
			if (!cli.quiet)
				fprintf(stderr, "envmatrix: %s: %s; waiting\n", e.where, e.msg);
			em_error_clear(&e);
			rc = em_cache_open_exclusive(c, a, configured, true, &e);
		}
	}
	if (rc) {
		if (from[0])
			em_err_prefix_where(&e, "%s", from);
		return cli_report(&e);
	}
	return EXIT_OK;
}

/* cache info */
static int print_info(const struct em_cache *c)
{
	struct em_error e;
	em_error_clear(&e);
	struct em_cache_info info;
	if (em_cache_info(c, &info, &e))
		return cli_report(&e);
	if (opt_json)
		return cli_put_json(json_usage(c->root, &info));
	printf("%-14s %s\n", "cache", c->root);
	print_table("part", &info);
	return EXIT_OK;
}

/* cache clean, cache prune [--keep N] (keep: the wheels to keep) */
static int remove_entries(const struct em_cache *c, bool clean, const char **keep, size_t nkeep)
{
	struct em_error e;
	em_error_clear(&e);
	struct em_cache_info info;
	int ret = EXIT_OK;
	if (!cli.quiet)
		fprintf(stderr, "envmatrix: %s '%s'\n", clean ? "cleaning" : "pruning", c->root);
	int rc = clean  ? em_cache_clean(c, &info, &e)
		 : keep ? em_cache_prune_keep(c, keep, nkeep, &info, &e)
			: em_cache_prune(c, &info, &e);
	if (rc) {
		/* what went before the failure is gone: say so */
		struct em_cache_usage total;
		struct row r[12];
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
		ret = cli_put_json(o ? json_pack("{s:s, s:o}", "cache", c->root, "removed", o) : NULL);
	} else if (!cli.quiet) {
		/* -q: errors only (the table is a summary, like apply's) */
		print_table("removed", &info);
	}
	return ret;
}

int cmd_cache(int argc, char **argv)
{
	opt_json = opt_wait = opt_repair = 0;
	opt_file = opt_cache_dir = opt_keep = NULL;
	int npos;
	int rc = cli_parse(argc, argv, &cache_help, &npos);
	if (rc)
		return rc > 0 ? EXIT_OK : EXIT_USAGE;
	if (npos == 0)
		return cli_usage_error(&cache_help,
				       "name the subcommand: dir, info, verify, clean or prune");
	const char *sub = argv[1];
	bool removing = !strcmp(sub, "clean") || !strcmp(sub, "prune");
	if (!removing && strcmp(sub, "dir") && strcmp(sub, "info") && strcmp(sub, "verify"))
		return cli_usage_error(&cache_help, "unknown subcommand '%s'", sub);
	npos--;
	if ((rc = cli_matrix_arg(&cache_help, &opt_file, argv + 2, &npos)))
		return rc;
	unsigned long keep_n = 0;
	if ((rc = check_usage(sub, removing, npos, argv, &keep_n)))
		return rc;

	struct em_arena a;
	em_arena_init(&a);
	struct em_cache c = { NULL, -1 };
	/* the configured folder: --cache-dir, else the matrix's cache-dir */
	const char *configured = opt_cache_dir;
	char from[600] = ""; /* "cache-dir, FILE:LINE" when the matrix named it */
	const char **keep = NULL;
	size_t nkeep = 0;
	int ret = read_matrix(&a, keep_n, &configured, from, sizeof from, &keep, &nkeep);
	if (!ret && !strcmp(sub, "dir"))
		ret = print_dir(&a, configured);
	else if (!ret && !(ret = open_cache(&a, &c, configured, removing, from)))
		ret = !strcmp(sub, "verify") ? verify_cache(&a, &c)
		      : !strcmp(sub, "info") ? print_info(&c)
					     : remove_entries(&c, !strcmp(sub, "clean"), keep, nkeep);
	em_cache_close(&c);
	em_arena_release(&a);
	return ret;
}
