/* cmd_build.c - `envmatrix build SDIST|DIR`: a wheel from source (build.h) */
#include "cli.h"

#include "apply.h"
#include "build.h"
#include "envmatrix/error.h"
#include "host.h"
#include "os/fs.h"
#include "os/link.h"
#include "settings.h"
#include "spec/matrix.h"
#include "spec/name.h"
#include "spec/target.h"
#include "swap.h"
#include "util/arena.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *opt_file, *opt_out, *opt_python, *opt_index, *opt_timeout;
static int opt_no_index, opt_no_isolation, opt_metadata;
static struct cli_list opt_find_links, opt_config;

static const struct cli_opt build_opts[] = {
	{ CLI_OPT_STRING, 'f', "file", "MATRIX",
	  "build as apply would for a workload of this matrix (its indexes, find-links, "
	  "env.*, python and the package's build keys)", &opt_file },
	{ CLI_OPT_STRING, 'o', "out-dir", "DIR",
	  "put the wheel into DIR (created; default: the current folder)", &opt_out },
	{ CLI_OPT_STRING, 0, "python", "VERSION|PATH",
	  "build for this Python: 3.12, 3.12.3, a specifier or an interpreter "
	  "(default: the newest here)", &opt_python },
	{ CLI_OPT_STRING, 'i', "index-url", "URL",
	  "where build requirements come from (default https://pypi.org/simple)", &opt_index },
	{ CLI_OPT_FLAG, 0, "no-index", NULL, "use only --find-links for build requirements",
	  &opt_no_index },
	{ CLI_OPT_LIST, 0, "find-links", "DIR",
	  "also take build requirements from the wheels in DIR or at URL (repeatable)",
	  &opt_find_links },
	{ CLI_OPT_LIST, 'C', "config-setting", "KEY=VALUE",
	  "pass to the build backend's hooks (repeatable)", &opt_config },
	{ CLI_OPT_FLAG, 0, "no-isolation", NULL,
	  "run the backend with --python's interpreter as it is (it must hold the backend "
	  "and its requirements); no build environment, no cached wheel", &opt_no_isolation },
	{ CLI_OPT_FLAG, 0, "metadata", NULL,
	  "print the METADATA the wheel would have instead (prepare_metadata_for_build_wheel, "
	  "else a build; cached by the sdist's sha256 and the Python)", &opt_metadata },
	{ CLI_OPT_STRING, 0, "timeout", "SECONDS",
	  "stop a hook that runs longer (default $ENVMATRIX_BUILD_TIMEOUT, else 7200)",
	  &opt_timeout },
	CLI_NET_OPTS,
	CLI_END_OPT,
};

static const struct cli_cmd_help build_help = {
	"build",
	"[-f MATRIX | MATRIX] [WORKLOAD] SDIST|DIR",
	"build a wheel from an sdist or a source folder (PEP 517)",
	"Unpacks the sdist (.tar.gz, .zip...) into a temporary folder in the\n"
	"cache with the checks wheels get (a folder is copied there instead, so\n"
	"the build never writes into it), reads [build-system] from\n"
	"pyproject.toml (none: setuptools with its legacy backend, as pip does),\n"
	"resolves its requires for the Python and installs them into a build\n"
	"environment (a venv in the cache shared by builds with the same\n"
	"resolved set), and runs the backend's hooks get_requires_for_build_wheel\n"
	"and build_wheel through envmatrix's driver. The built wheel of an sdist\n"
	"is cached by the sdist's sha256, the Python, the platform, the build\n"
	"environment and the config settings, so building it again runs nothing.\n"
	"\n"
	"With a matrix (-f MATRIX, or MATRIX first), the build is the one apply\n"
	"makes for WORKLOAD (which may be left out when the matrix has one): its\n"
	"index-url, find-links, env.*, python and build-constraints, and the\n"
	"build-requires.PKG and config-settings.PKG of the package (named by the\n"
	"sdist's file name NAME-VERSION.tar.gz, or the folder's name); a package\n"
	"in no-build-isolation is built with the workload's environment's Python\n"
	"(apply it first). Options given here add to those (-C, --find-links)\n"
	"or replace them (--python, --index-url).\n"
	"\n"
	"With --metadata, prints the METADATA the wheel would have instead,\n"
	"from the backend's prepare_metadata_for_build_wheel (else a full build),\n"
	"cached by the sdist's sha256 and the Python: what planning an sdist\n"
	"whose metadata is dynamic needs.\n"
	"\n"
	"Prints the wheel's path (in --out-dir, default the current folder, as\n"
	"'pip wheel' does) on stdout. A failed build names the package, the hook\n"
	"and the last lines of its log, and says where the full log was kept.\n"
	"\n"
	"The build backend is code the sdist ships or names: envmatrix runs it\n"
	"as you asked, with your rights; build only what you would install.\n"
	"\n"
	"Exit status: 0 when the wheel was built, 1 when the build failed, 2 for\n"
	"a wrong command line, 130 when interrupted.",
	build_opts,
};

static void on_event(void *ctx, enum em_build_event_kind k, const char *detail)
{
	(void)ctx;
	if (cli.quiet)
		return;
	switch (k) {
	case EM_BUILD_EV_ENV:
		fprintf(stderr, "making the build environment '%s'\n", detail);
		break;
	case EM_BUILD_EV_HOOK:
		if (cli.verbose)
			fprintf(stderr, "running %s\n", detail);
		break;
	case EM_BUILD_EV_CACHED:
		if (cli.verbose)
			fprintf(stderr, "cached: '%s'\n", detail);
		break;
	}
}

/* Seconds (an option or the environment variable) in milliseconds; -1 on
 * a mistake (printed). */
static int timeout_ms(void)
{
	const char *s = opt_timeout ? opt_timeout : em_settings()->build_timeout;
	if (!s || !*s)
		return 0;
	char *end;
	long v = strtol(s, &end, 10);
	if (end == s || *end || v < 1 || v > 7 * 24 * 3600) {
		cli_error("%s: '%s' is not a number of seconds", opt_timeout ? "--timeout"
									      : "ENVMATRIX_BUILD_TIMEOUT", s);
		return -1;
	}
	return (int)(v * 1000);
}

/* The matrix of -f and the workload to build for (wname, or its only
 * one) into *m, *mfile and *w. Returns an exit code (printed). */
static int load_workload(struct em_arena *a, const char *wname, struct em_matrix *m,
			 const char **mfile, const struct em_workload **w)
{
	int rc = cli_load_matrix(a, opt_file, m, mfile);
	if (rc != EXIT_OK)
		return rc;
	if (wname && !(*w = cli_find_workload(m, wname)))
		return EXIT_FAIL;
	if (!wname && m->nworkloads != 1) {
		cli_error("'%s' has %u workloads; name the one to build for", *mfile, m->nworkloads);
		return EXIT_USAGE;
	}
	if (!*w)
		*w = &m->workloads[0];
	return EXIT_OK;
}

/* The package source builds: NAME of NAME-VERSION.tar.gz, or the folder's
 * name less a -VERSION (normalized); NULL when out of memory. */
static const char *package_of(struct em_arena *a, const char *source)
{
	const char *base = strrchr(source, '/');
	size_t bl;
	base = base && base[1] ? base + 1 : source;
	bl = strlen(base);
	while (bl && base[bl - 1] == '/')
		bl--;
	const char *dash = NULL;
	for (size_t i = 0; i < bl; i++)
		if (base[i] == '-' && i + 1 < bl && base[i + 1] >= '0' && base[i + 1] <= '9')
			dash = base + i;
	return em_name_canonical(a, base, dash ? (size_t)(dash - base) : bl);
}

/* The options apply would build source with for workload w of the matrix
 * at mfile (python: --python, or NULL). Returns an exit code (printed). */
static int workload_options(struct em_arena *a, const char *mfile, const struct em_workload *w,
			    const char *source, const char *python, const struct em_platform *host,
			    struct em_build_options *o)
{
	struct em_error e;
	em_error_clear(&e);
	const char *pkg = package_of(a, source);
	const char *wpy = python;
	if (!wpy && w->python_req.kind == EM_PYTHON_PATH) {
		char *dir = em_path_dir(a, mfile);
		char *j = dir ? em_path_join(a, dir, w->python.value) : NULL;
		wpy = j ? em_path_absolute(a, j) : NULL;
	} else if (!wpy) {
		wpy = w->python.value;
	}
	if (!pkg || !wpy) {
		cli_error("out of memory");
		return EXIT_FAIL;
	}
	if (em_workload_build_options(a, mfile, w, pkg, wpy, host, NULL, &cli_stop, o, &e))
		return cli_report(&e);
	if (opt_no_isolation || !em_workload_no_isolation(w, pkg))
		return EXIT_OK;
	/* as apply builds it: with the environment's own Python */
	struct em_venv_paths vp;
	struct stat st;
	if (em_venv_paths(a, mfile, w, &vp, &e))
		return cli_report(&e);
	char *envpy = em_arena_printf(a, "%s/bin/python", vp.root);
	if (!envpy || stat(envpy, &st)) {
		cli_error("%s:%u: '%s' is in no-build-isolation, which builds it with "
			  "workload '%s''s environment, and '%s' has none; apply the "
			  "workload first, or pass --no-isolation --python", mfile,
			  (unsigned)w->no_build_isolation.setting.line, pkg, w->name, vp.root);
		return EXIT_FAIL;
	}
	o->no_isolation_python = envpy;
	o->python = NULL;
	return EXIT_OK;
}

/* *list (*n of them) followed by more[0..nmore), in a; false when out of
 * memory (printed) */
static bool append(struct em_arena *a, const char *const **list, uint32_t *n,
		   const char *const *more, int nmore)
{
	if (!nmore)
		return true;
	const char **all = em_arena_array(a, *n + (uint32_t)nmore, sizeof *all);
	if (!all) {
		cli_error("out of memory");
		return false;
	}
	for (uint32_t i = 0; i < *n; i++)
		all[i] = (*list)[i];
	for (int i = 0; i < nmore; i++)
		all[*n + (uint32_t)i] = more[i];
	*list = all;
	*n += (uint32_t)nmore;
	return true;
}

/* What the command line adds to or replaces in o: the index, find-links
 * (fl: made absolute), config settings and the Python (w: the workload o
 * was made for, or NULL). */
static int command_line_options(struct em_arena *a, const struct em_workload *w,
				const char *python, const char *const *fl,
				struct em_build_options *o)
{
	if (opt_index || opt_no_index) {
		o->index_url = opt_index;
		o->no_index = opt_no_index;
	}
	if (!append(a, &o->find_links, &o->nfind_links, fl, opt_find_links.n) ||
	    !append(a, &o->config, &o->nconfig, opt_config.items, opt_config.n))
		return EXIT_FAIL;
	if (python || !w) {
		o->python = opt_no_isolation ? NULL : python;
		if (opt_no_isolation)
			o->no_isolation_python = python;
	}
	return EXIT_OK;
}

/* --metadata: print the METADATA the wheel would have */
static int print_metadata(struct em_arena *a, struct cli_net *net, const char *source, const struct em_build_options *o)
{
	struct em_error e;
	em_error_clear(&e);
	const char *md;
	size_t mlen;
	bool built;
	if (em_build_metadata(a, &net->src, &net->cache, source, NULL, o, &md, &mlen, &built, &e))
		return cli_report(&e);
	if (cli.verbose && built)
		fprintf(stderr, "the backend has no prepare_metadata_for_build_wheel: "
				"built the wheel (now cached) to read it\n");
	fwrite(md, 1, mlen, stdout);
	return EXIT_OK;
}

/* Build the wheel, copy it into --out-dir (a temporary name, then a
 * rename) and print its path */
static int build_wheel(struct em_arena *a, struct cli_net *net, const char *source, const struct em_build_options *o)
{
	struct em_error e;
	em_error_clear(&e);
	struct em_build_result r;
	if (em_build_wheel(a, &net->src, &net->cache, source, NULL, o, &r, &e))
		return cli_report(&e);
	const char *dir = opt_out ? opt_out : ".";
	char *dst = em_arena_printf(a, "%s/%s", dir, r.filename);
	char *tmp = em_arena_printf(a, "%s/.%s.%ld.tmp", dir, r.filename, (long)getpid());
	if (!dst || !tmp || !(dst = em_path_absolute(a, dst))) {
		cli_error("out of memory");
		return EXIT_FAIL;
	}
	unlink(tmp);
	if (em_mkdir_p(dir, &e) || em_link_file(r.wheel, tmp, EM_LINK_COPY, NULL, &e))
		return cli_report(&e);
	if (rename(tmp, dst)) {
		em_err_sys(&e, errno, dst, "cannot put the wheel in place");
		unlink(tmp);
		return cli_report(&e);
	}
	if (r.temporary) /* not cached: the copy is the wheel */
		unlink(r.wheel);
	if (cli.verbose)
		fprintf(stderr, "%s %s %s (sha256 %s)%s%s%s\n", r.cached ? "cached" : "built",
			r.name, r.version, r.sha256, r.log ? ", log '" : "", r.log ? r.log : "",
			r.log ? "'" : "");
	printf("%s\n", dst);
	return EXIT_OK;
}

/* The command line's mistakes (printed, EXIT_USAGE), or 0; *tmo: the
 * timeout in milliseconds */
static int check_usage(int npos, int *tmo)
{
	if (npos != 1 && !(opt_file && npos == 2))
		return cli_usage_error(&build_help, opt_file ? "give a workload and one sdist or "
				       "source folder" : "give one sdist or source folder");
	if (opt_no_isolation && !opt_python)
		return cli_usage_error(&build_help,
				       "--no-isolation needs --python: the interpreter to build with");
	if (opt_no_index && opt_index)
		return cli_usage_error(&build_help, "--no-index and --index-url cannot be combined");
	for (int i = 0; i < opt_config.n; i++)
		if (!strchr(opt_config.items[i], '=') || opt_config.items[i][0] == '=')
			return cli_usage_error(&build_help, "--config-setting takes KEY=VALUE, not '%s'",
					       opt_config.items[i]);
	*tmo = timeout_ms();
	return *tmo < 0 ? EXIT_USAGE : 0;
}

int cmd_build(int argc, char **argv)
{
	opt_file = opt_out = opt_python = opt_index = opt_timeout = NULL;
	opt_no_index = opt_no_isolation = opt_metadata = 0;
	memset(&opt_find_links, 0, sizeof opt_find_links);
	memset(&opt_config, 0, sizeof opt_config);
	cli_net_reset_opts();
	int npos, tmo = 0;
	int prc = cli_parse(argc, argv, &build_help, &npos);
	if (prc)
		return prc > 0 ? EXIT_OK : EXIT_USAGE;
	if (npos >= 2 && (prc = cli_matrix_arg(&build_help, &opt_file, argv + 1, &npos)))
		return prc;
	if ((prc = check_usage(npos, &tmo)))
		return prc;
	const char *source = argv[npos];
	const char *wname = npos == 2 ? argv[1] : NULL;

	struct em_arena a;
	em_arena_init(&a);
	struct em_error e;
	em_error_clear(&e);
	int rc = EXIT_FAIL;
	struct em_platform host;
	if (em_host_platform(&host, &e)) {
		rc = cli_report(&e);
		em_arena_release(&a);
		return rc;
	}
	const char **fl = calloc((size_t)opt_find_links.n + 1, sizeof *fl);
	if (!fl) {
		cli_error("out of memory");
		em_arena_release(&a);
		return EXIT_FAIL;
	}
	for (int i = 0; i < opt_find_links.n; i++) {
		const char *f = opt_find_links.items[i];
		fl[i] = strstr(f, "://") ? f : em_path_absolute(&a, f);
	}
	const char *python = opt_python;
	if (python && (strchr(python, '/')))
		python = em_path_absolute(&a, python);

	/* the cache and the network: the matrix's, or as a matrix without
	 * settings has them */
	struct em_matrix m;
	memset(&m, 0, sizeof m);
	m.file = "envmatrix build";
	const char *mfile = "./build";
	const struct em_workload *w = NULL;
	struct cli_net net;
	cli_net_init(&net);
	struct em_build_options o;
	memset(&o, 0, sizeof o);
	cli_catch_stop();
	if ((!opt_file || (rc = load_workload(&a, wname, &m, &mfile, &w)) == EXIT_OK) &&
	    (rc = cli_net_open(&a, &m, mfile, &cli_stop, &net)) == EXIT_OK &&
	    (!w || (rc = workload_options(&a, mfile, w, source, python, &host, &o)) == EXIT_OK) &&
	    (rc = command_line_options(&a, w, python, fl, &o)) == EXIT_OK) {
		o.host = &host;
		o.install_lock = em_apply_install_lock;
		if (tmo)
			o.timeout_ms = tmo;
		o.cancel = &cli_stop;
		o.event = on_event;
		rc = opt_metadata ? print_metadata(&a, &net, source, &o)
				  : build_wheel(&a, &net, source, &o);
	}
	cli_release_stop();
	cli_net_close(&net);
	free(fl);
	em_arena_release(&a);
	return rc;
}
