/* cmd_python.c - `envmatrix python list|install|find`: the interpreters
 * envmatrix can use, and python-build-standalone downloads */
#include "cli.h"

#include "envmatrix/error.h"
#include "host.h"
#include "interp.h"
#include "os/fs.h"
#include "pybuild.h"
#include "spec/index.h"
#include "spec/matrix.h"
#include "spec/pep440.h"
#include "spec/target.h"
#include "util/arena.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static int opt_json, opt_all;
static const char *opt_mirror, *opt_file;

static const struct cli_opt python_opts[] = {
	{ CLI_OPT_FLAG, 0, "json", NULL, "print the result as JSON (list, find)", &opt_json },
	{ CLI_OPT_FLAG, 0, "all", NULL, "list: add the builds the mirror's catalogue offers",
	  &opt_all },
	{ CLI_OPT_STRING, 0, "mirror", "URL",
	  "where python-build-standalone builds come from: a folder or URL holding SHA256SUMS, "
	  "or a .json catalogue (default: the matrix's python-mirror, "
	  "$ENVMATRIX_PYTHON_MIRROR, else the latest GitHub release)",
	  &opt_mirror },
	{ CLI_OPT_STRING, 'f', "file", "FILE",
	  "read python-mirror, cache-dir and ca-file from this matrix", &opt_file },
	CLI_NET_OPTS,
	CLI_END_OPT,
};

static const struct cli_cmd_help python_help = {
	"python",
	"list [MATRIX] | install [MATRIX] VERSION... | find [MATRIX] VERSION",
	"the Python interpreters workloads can use, and downloads of them",
	"list: the interpreters on this machine, as 'plan' and 'apply' find them\n"
	"(PATH, pyenv, envmatrix's managed folder, uv's), one line each: version,\n"
	"implementation, where it was found, path. Newest first. With --all or\n"
	"--mirror, also the builds the catalogue offers for this machine.\n"
	"\n"
	"install VERSION...: download python-build-standalone builds (3.12: the\n"
	"newest 3.12.x; 3.12.10: exactly; >=3.11,<3.13: the newest that fits;\n"
	"3.13t: free-threaded) into the managed folder ($ENVMATRIX_PYTHON_DIR,\n"
	"else ~/.local/share/envmatrix/python), verified by sha256 and by asking\n"
	"the interpreter; one that is installed already is kept.\n"
	"\n"
	"find VERSION: the path of the best interpreter here for VERSION (the\n"
	"newest that fits); exit status 1 when there is none.",
	python_opts,
};

static void put_interp(json_t *arr, const struct em_interp *it)
{
	char v[48];
	em_python_name(&it->py, v, sizeof v);
	json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:b}", "version", v,
					     "implementation", it->implementation, "source",
					     it->source, "path", it->path, "realpath", it->realpath,
					     "managed", !strcmp(it->source, "envmatrix")));
}

static bool fits(const struct em_python_req *req, const struct em_python *py)
{
	switch (req->kind) {
	case EM_PYTHON_EXACT:
		return py->major == req->version.major && py->minor == req->version.minor &&
		       py->micro == req->version.micro &&
		       py->freethreaded == req->version.freethreaded &&
		       !strcmp(py->pre, req->version.pre);
	case EM_PYTHON_MINOR:
		return py->major == req->version.major && py->minor == req->version.minor &&
		       py->freethreaded == req->version.freethreaded;
	case EM_PYTHON_SPEC: {
		char full[48];
		snprintf(full, sizeof full, "%u.%u.%u%s", py->major, py->minor, py->micro, py->pre);
		return !py->freethreaded &&
		       em_specset_contains_str(&req->spec, full, strlen(full), EM_PRE_DEFAULT);
	}
	default:
		return false;
	}
}

struct ctx {
	struct em_arena a;
	struct em_matrix m;
	const char *file;
	struct cli_net net;
	struct em_platform host;
	const char *triple;
	const char *mirror;
	bool explicit_mirror;
	const char *dir;
};

static int setup(struct ctx *c, bool need_net)
{
	struct em_error e;
	em_error_clear(&e);
	memset(&c->m, 0, sizeof c->m);
	c->file = "matrix.ini";
	if (opt_file) {
		int rc = cli_load_matrix(&c->a, opt_file, &c->m, &c->file);
		if (rc)
			return rc;
	}
	if (em_host_platform(&c->host, &e))
		return cli_report(&e);
	c->triple = em_pybuild_triple(&c->host);
	if (!(c->dir = em_interp_managed_dir(&c->a, &e)))
		return cli_report(&e);
	if (opt_mirror) {
		c->mirror = strstr(opt_mirror, "://") ? opt_mirror
						      : em_path_absolute(&c->a, opt_mirror);
		c->explicit_mirror = true;
	} else {
		char *mdir = em_path_dir(&c->a, c->file);
		c->mirror = mdir ? em_pybuild_mirror(&c->a, c->m.python_mirror.value, mdir,
						     &c->explicit_mirror)
				 : NULL;
	}
	if (!c->mirror) {
		cli_error("out of memory");
		return EXIT_FAIL;
	}
	if (need_net) {
		int rc = cli_net_open(&c->a, &c->m, c->file, &cli_stop, &c->net);
		if (rc)
			return rc;
	}
	return EXIT_OK;
}

static int load_catalogue(struct ctx *c, struct em_pybuild_catalogue *cat)
{
	struct em_error e;
	em_error_clear(&e);
	if (!c->triple) {
		char pn[EM_PLATFORM_NAME_MAX];
		em_platform_name(&c->host, pn, sizeof pn);
		cli_error("python-build-standalone has no builds for this machine (%s)", pn);
		return EXIT_FAIL;
	}
	if (em_pybuild_catalogue_load(&c->a, &c->net.src, c->mirror, cat, &e))
		return cli_report(&e);
	return EXIT_OK;
}

static int do_list(struct ctx *c)
{
	struct em_error e;
	em_error_clear(&e);
	struct em_interp_list l;
	if (em_interp_discover(&c->a, &l, &e))
		return cli_report(&e);
	struct em_pybuild_catalogue cat = { 0, NULL, 0 };
	if (opt_all || opt_mirror) {
		int rc = load_catalogue(c, &cat);
		if (rc)
			return rc;
	}
	json_t *arr = opt_json ? json_array() : NULL;
	for (uint32_t i = 0; i < l.n; i++) {
		if (arr) {
			put_interp(arr, &l.items[i]);
			continue;
		}
		char v[48];
		em_python_name(&l.items[i].py, v, sizeof v);
		printf("%-10s %-8s %-5s %s\n", v, l.items[i].implementation, l.items[i].source,
		       l.items[i].path);
	}
	for (uint32_t i = 0; i < cat.n; i++) {
		const struct em_pybuild *b = &cat.items[i];
		if (strcmp(b->triple, c->triple))
			continue;
		/* the one build a version would get, once */
		const struct em_pybuild *best = em_pybuild_choose(&cat, c->triple, &b->py, NULL);
		if (best != b)
			continue;
		struct em_pybuild_installed inst;
		bool installed = !em_pybuild_find_installed(&c->a, c->dir, &b->py, b->triple, &inst, NULL);
		char *shown = em_url_redact(&c->a, b->url);
		if (arr) {
			json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:b}",
							     "version", b->version, "implementation",
							     "cpython", "source", "download", "url",
							     shown ? shown : "", "sha256", b->sha256,
							     "size", (json_int_t)b->size, "triple",
							     b->triple, "installed", installed));
		} else {
			printf("%-10s %-8s %-5s %s%s\n", b->version, "cpython", "download",
			       shown ? shown : "", installed ? " (installed)" : "");
		}
	}
	return arr ? cli_put_json(arr) : EXIT_OK;
}

static int do_install(struct ctx *c, int n, char **versions)
{
	struct em_pybuild_catalogue cat;
	int rc = load_catalogue(c, &cat);
	if (rc)
		return rc;
	int ret = EXIT_OK;
	for (int i = 0; i < n && !cli_stop; i++) {
		struct em_error e;
		em_error_clear(&e);
		struct em_python_req req;
		if (em_python_req_parse(&c->a, versions[i], strlen(versions[i]), &req, &e) ||
		    req.kind == EM_PYTHON_PATH) {
			if (req.kind == EM_PYTHON_PATH)
				cli_error("'%s' is a path, not a version (3.12, 3.12.10, >=3.11)",
					  versions[i]);
			else
				cli_report(&e);
			ret = EXIT_FAIL;
			continue;
		}
		const struct em_pybuild *b =
			em_pybuild_choose(&cat, c->triple, &req.version,
					  req.kind == EM_PYTHON_SPEC ? &req.spec : NULL);
		if (!b) {
			char *shown = em_url_redact(&c->a, c->mirror);
			cli_error("the catalogue at '%s' has no Python %s build for '%s' (%u builds "
				  "listed)", shown ? shown : "", versions[i], c->triple, cat.n);
			ret = EXIT_FAIL;
			continue;
		}
		const char *creds[1] = { c->mirror };
		struct em_pybuild_install_opts io = { c->dir, &c->host, true, creds, 1 };
		struct em_pybuild_installed inst;
		bool fresh;
		if (em_pybuild_install(&c->a, &c->net.cache, c->net.http, b, &io, &inst, &fresh, &e)) {
			ret = cli_report(&e);
			continue;
		}
		if (!cli.quiet)
			printf("%s Python %s: %s\n", fresh ? "installed" : "already installed",
			       b->version, inst.executable);
	}
	return cli_stop ? EXIT_INTERRUPTED : ret;
}

static int do_find(struct ctx *c, const char *version)
{
	struct em_error e;
	em_error_clear(&e);
	struct em_python_req req;
	if (em_python_req_parse(&c->a, version, strlen(version), &req, &e))
		return cli_report(&e);
	struct em_interp_list l;
	if (em_interp_discover(&c->a, &l, &e))
		return cli_report(&e);
	const struct em_interp *best = NULL;
	for (uint32_t i = 0; i < l.n && !best; i++) /* newest first */
		if (fits(&req, &l.items[i].py) && !strcmp(l.items[i].implementation, "cpython"))
			best = &l.items[i];
	if (!best) {
		cli_error("no Python %s interpreter on this machine (looked in PATH, pyenv, uv's "
			  "and envmatrix's folders); 'envmatrix python install %s' downloads one",
			  version, version);
		return EXIT_FAIL;
	}
	if (opt_json) {
		json_t *arr = json_array();
		put_interp(arr, best);
		json_t *obj = json_incref(json_array_get(arr, 0));
		json_decref(arr);
		return cli_put_json(obj);
	}
	printf("%s\n", best->path);
	return EXIT_OK;
}

int cmd_python(int argc, char **argv)
{
	opt_json = opt_all = 0;
	opt_mirror = opt_file = NULL;
	cli_net_reset_opts();
	int npos;
	int rc = cli_parse(argc, argv, &python_help, &npos);
	if (rc)
		return rc > 0 ? EXIT_OK : EXIT_USAGE;
	if (npos < 1)
		return cli_usage_error(&python_help, "name the subcommand: list, install or find");
	const char *sub = argv[1];
	bool list = !strcmp(sub, "list"), install = !strcmp(sub, "install"),
	     find = !strcmp(sub, "find");
	if (!list && !install && !find)
		return cli_usage_error(&python_help, "unknown subcommand '%s'", sub);
	npos--;
	if ((rc = cli_matrix_arg(&python_help, &opt_file, argv + 2, &npos)))
		return rc;
	npos++;
	if (list && npos != 1)
		return cli_usage_error(&python_help, "'list' takes no arguments");
	if (install && npos < 2)
		return cli_usage_error(&python_help, "name the versions to install (3.12, 3.12.10)");
	if (find && npos != 2)
		return cli_usage_error(&python_help, "name one version to find (3.11)");
	struct ctx c;
	memset(&c, 0, sizeof c);
	em_arena_init(&c.a);
	cli_net_init(&c.net);
	bool need_net = install || (list && (opt_all || opt_mirror));
	if (install)
		cli_catch_stop();
	int ret = setup(&c, need_net);
	if (ret == EXIT_OK) {
		if (list)
			ret = do_list(&c);
		else if (install)
			ret = do_install(&c, npos - 1, argv + 2);
		else
			ret = do_find(&c, argv[2]);
	}
	cli_net_close(&c.net);
	cli_release_stop();
	em_arena_release(&c.a);
	return ret;
}
