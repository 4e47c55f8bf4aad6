/* cmd_verify.c - `envmatrix verify`: prove that environments work */
#include "cli.h"

#include "apply_lock.h"
#include "envmatrix/error.h"
#include "gpu.h"
#include "install_set.h"
#include "os/fs.h"
#include "settings.h"
#include "spec/lock.h"
#include "spec/matrix.h"
#include "swap.h"
#include "util/arena.h"
#include "verify.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int opt_json, opt_wait;
static const char *opt_file, *opt_venv, *opt_expect_torch, *opt_timeout;

static const struct cli_opt verify_opts[] = {
	CLI_MATRIX_OPT(&opt_file),
	{ CLI_OPT_STRING, 0, "venv", "PATH",
	  "verify this environment instead of a matrix's (any venv, however made)", &opt_venv },
	{ CLI_OPT_STRING, 0, "expect-torch", "VERSION",
	  "the torch version expected, local label included (2.8.0+cu126)", &opt_expect_torch },
	{ CLI_OPT_STRING, 0, "timeout", "SECONDS",
	  "give up on the Python checks and on each command after this long (default 300)",
	  &opt_timeout },
	{ CLI_OPT_FLAG, 0, "wait", NULL, "wait for an apply of this matrix to finish", &opt_wait },
	CLI_JSON_OPT("the results", &opt_json),
	CLI_END_OPT,
};

static const struct cli_cmd_help verify_help = {
	"verify",
	"[MATRIX] [WORKLOAD...]",
	"check that environments work: imports, torch and CUDA, the workload's commands",
	"Runs each environment's own Python once (PYTHON* variables ignored, no\n"
	"user site) to check what you would check by hand, then the workload's\n"
	"verify = commands:\n"
	"\n"
	"  python                     the version the lock was planned for\n"
	"  sys.prefix                 the interpreter runs as this environment\n"
	"  import NAME                every package the workload names (its lock's\n"
	"                             requested ones; for a venv envmatrix did not\n"
	"                             make, every installed distribution), by the\n"
	"                             import names its top_level.txt or RECORD gives\n"
	"  torch.__version__          the locked version with its local label\n"
	"  torch.version.cuda         what the variant implies (cu126: 12.6, cpu: None)\n"
	"  torch.cuda.*               on a host with an NVIDIA GPU: is_available(),\n"
	"                             the device's name and capability, that the\n"
	"                             build has code for it, a small tensor op\n"
	"  onnxruntime ...            CUDAExecutionProvider, when onnxruntime-gpu is\n"
	"                             installed on a GPU host\n"
	"  dependencies               every requirement of every installed\n"
	"                             distribution is met (as pip check)\n"
	"  verify: COMMAND            each verify = command exits 0 (run in the\n"
	"                             workload's folder, the venv's bin first on PATH)\n"
	"\n"
	"With a matrix, verifies the applied environment of each workload (or only\n"
	"those named) and stores the results in it (envmatrix-verify.json, shown\n"
	"by 'status'). With --venv, verifies any environment, however it was made,\n"
	"and stores nothing. A crash, a hang past --timeout, or garbage output is\n"
	"a failed check. The packages apply built from their sdists (no wheel\n"
	"fit the target) are named under the table (--json: built_from_source).\n"
	"\n"
	"Exit status: 0 when every check passed, 4 when one failed, 1 when an\n"
	"environment could not be verified at all (missing, not a venv), 2 for a\n"
	"wrong command line.",
	verify_opts,
};

/* ---- shared with apply ---- */

static void cut(char *dst, size_t w, const char *s)
{
	if (!s || !*s)
		s = "-";
	size_t n = strlen(s);
	if (n <= w) {
		memcpy(dst, s, n + 1);
		return;
	}
	memcpy(dst, s, w - 3);
	memcpy(dst + w - 3, "...", 4);
}

void cli_print_checks(FILE *f, const struct em_verify_result *r, bool color)
{
	int nw = 26;
	for (uint32_t i = 0; i < r->n; i++) {
		int l = (int)strlen(r->checks[i].name);
		if (l > nw)
			nw = l > 40 ? 40 : l;
	}
	fprintf(f, "%-*s %-15s %-15s %s\n", nw, "check", "expected", "got", "result");
	for (uint32_t i = 0; i < r->n; i++) {
		const struct em_check *c = &r->checks[i];
		char name[44], ex[16], got[16];
		cut(name, 40, c->name);
		cut(ex, 15, c->expected);
		cut(got, 15, c->got);
		const char *res = em_check_status_name(c->status);
		const char *col = c->status == EM_CHECK_OK ? "32" : c->status == EM_CHECK_FAILED
								     ? "31" : "33";
		if (color)
			fprintf(f, "%-*s %-15s %-15s \033[%sm%s\033[0m\n", nw, name, ex, got, col, res);
		else
			fprintf(f, "%-*s %-15s %-15s %s\n", nw, name, ex, got, res);
		bool longer = (c->expected && strlen(c->expected) > 15) ||
			      (c->got && strlen(c->got) > 15);
		if (c->status == EM_CHECK_OK && !longer)
			continue;
		if (longer && c->status == EM_CHECK_FAILED)
			fprintf(f, "    expected: %s\n    got: %s\n", c->expected ? c->expected : "-",
				c->got ? c->got : "-");
		if (c->detail) {
			/* every line of the detail, indented */
			const char *d = c->detail;
			while (*d) {
				const char *nl = strchr(d, '\n');
				size_t n = nl ? (size_t)(nl - d) : strlen(d);
				fprintf(f, "    %.*s\n", (int)n, d);
				d += n + (nl ? 1 : 0);
			}
		}
	}
}

json_t *cli_verify_json(struct em_arena *a, const struct em_verify_result *r)
{
	char *text;
	size_t len;
	if (em_verify_to_json(a, r, &text, &len, NULL))
		return NULL;
	return json_loadb(text, len, JSON_DECODE_ANY, NULL);
}

static int parse_seconds(const char *s, const char *what)
{
	char *end;
	double v = s && *s ? strtod(s, &end) : -1;
	if (!s || !*s || *end || v <= 0 || v > 86400) {
		cli_error("%s: '%s' is not a number of seconds (1 to 86400)", what, s ? s : "");
		return -1;
	}
	return (int)(v * 1000);
}

int cli_verify_timeout_env(void)
{
	const char *s = em_settings()->verify_timeout;
	if (!s || !*s)
		return 0;
	return parse_seconds(s, "ENVMATRIX_VERIFY_TIMEOUT");
}

/* ---- the command ---- */

static void print_one(const char *title, const struct em_verify_result *r)
{
	char sum[96];
	if (cli.quiet) {
		/* -q: only what failed, as errors */
		if (r->failed) {
			cli_error("%s: verification failed", title);
			cli_print_checks(stderr, r, cli.color_err);
		}
		return;
	}
	em_verify_summary(r, sum, sizeof sum);
	printf("%s\n", title);
	cli_print_checks(stdout, r, cli.color_out);
	printf("%s in %.2fs\n", sum, r->seconds);
}

/* What apply built from sdists, from the environment's lock (text may be
 * NULL): a note under the table, and --json's built_from_source. */
struct built {
	const char **names;
	uint32_t n;
};

static void built_of(struct em_arena *a, const char *text, size_t len, const char *lpath,
		     struct built *b)
{
	if (em_lock_built_from_source(a, text, len, lpath, &b->names, &b->n))
		b->n = 0;
}

static void print_built(const struct built *b)
{
	if (cli.quiet || !b->n)
		return;
	printf("built from source (sdist, no wheel for this target):");
	for (uint32_t i = 0; i < b->n; i++)
		printf(" %s", b->names[i]);
	putchar('\n');
}

static json_t *json_built(const struct built *b)
{
	return cli_json_strings(b->names, b->n);
}

/* The lock a venv envmatrix made keeps (<root>/pylock.toml) into *lock,
 * and what apply built from sdists into *b; NULL when there is none. */
static struct em_lock *venv_lock(struct em_arena *a, const char *root, struct em_lock *lock,
				 struct built *b)
{
	char *lpath = em_arena_printf(a, "%s/" EM_VENV_LOCK_NAME, root);
	char *text = NULL;
	size_t len = 0;
	if (!lpath || em_read_file(a, lpath, EM_TOML_MAX_LEN, &text, &len, NULL) ||
	    em_lock_parse(a, text, len, lpath, lock, NULL))
		return NULL;
	built_of(a, text, len, lpath, b);
	return lock;
}

/* Verify the venv at root. lock may be NULL, w too. Returns an exit code
 * (EXIT_OK or EXIT_CHECK) or EXIT_FAIL after printing the error. */
static int verify_root(struct em_arena *a, const char *root, const struct em_lock *lock,
		       const struct em_workload *w, const char *cmd_dir, int timeout_ms,
		       struct em_verify_result *res)
{
	struct em_error e;
	em_error_clear(&e);
	struct em_gpu_info gpu;
	if (cli_gpu_detect(a, &gpu))
		return EXIT_FAIL;
	struct em_verify_inputs in = { root, lock, w, opt_expect_torch, cli_host_gpu(&gpu) };
	struct em_verify_expect x;
	const char *py;
	int rc = em_verify_interpreter(a, root, &py, &e);
	if (!rc)
		rc = em_verify_expect_build(a, &in, &x, &e);
	if (rc)
		return cli_report(&e);
	x.command_dir = cmd_dir;
	struct em_verify_options o = { timeout_ms, root, &cli_stop };
	cli_catch_stop();
	rc = em_verify_run(a, &x, &o, res, &e);
	cli_release_stop();
	if (rc == EM_ECANCELED)
		return cli_report(&e), EXIT_INTERRUPTED;
	if (rc)
		return cli_report(&e);
	return res->failed ? EXIT_CHECK : EXIT_OK;
}

static int verify_venv(struct em_arena *a, int timeout_ms)
{
	char *root = em_path_absolute(a, opt_venv);
	if (!root) {
		cli_error("out of memory");
		return EXIT_FAIL;
	}
	struct stat st;
	if (stat(root, &st) != 0 || !S_ISDIR(st.st_mode)) {
		cli_error("--venv: '%s' is not a folder", opt_venv);
		return EXIT_FAIL;
	}
	/* a venv envmatrix made keeps its lock: use it */
	struct em_lock lock;
	struct built b = { NULL, 0 };
	const struct em_lock *lp = venv_lock(a, root, &lock, &b);
	struct em_verify_result res;
	int ret = verify_root(a, root, lp, NULL, NULL, timeout_ms, &res);
	if (ret == EXIT_FAIL || ret == EXIT_INTERRUPTED)
		return ret;
	if (opt_json) {
		json_t *o = cli_verify_json(a, &res);
		if (json_is_object(o))
			json_object_set_new(o, "built_from_source", json_built(&b));
		int jr = cli_put_json(o);
		return jr ? jr : ret;
	}
	char *title = em_arena_printf(a, "venv %s (python %s)", root,
				      res.python ? res.python : "?");
	print_one(title ? title : root, &res);
	print_built(&b);
	return ret;
}

/* The matrix's apply lock, shared: nothing is written, so verify works in
 * a read-only project (--wait: wait for an apply). Returns an exit code
 * (printed). */
static int take_shared_lock(struct em_arena *a, const char *file, struct em_state_lock *lock)
{
	struct em_error le;
	em_error_clear(&le);
	int lrc = em_state_lock_take_shared(a, file, false, lock, &le);
	if (lrc == EM_EBUSY && opt_wait) {
		if (!cli.quiet)
			fprintf(stderr, "envmatrix: %s: %s; waiting\n", le.where, le.msg);
		em_error_clear(&le);
		lrc = em_state_lock_take_shared(a, file, true, lock, &le);
	}
	return lrc ? cli_report(&le) : EXIT_OK;
}

/* Verify workload w's environment (at p) and keep the result in it; print
 * it, or add it to ws (--json). Returns EXIT_OK, EXIT_CHECK, EXIT_FAIL (an
 * error, printed) or EXIT_INTERRUPTED. */
static int verify_workload(struct em_arena *a, const char *mdir, const struct em_workload *w,
			   const struct em_venv_paths *p, int timeout_ms, json_t *ws, bool *first)
{
	struct em_error e;
	em_error_clear(&e);
	struct stat st;
	int r;
	struct em_verify_result res;
	memset(&res, 0, sizeof res);
	struct built b = { NULL, 0 };
	if (em_venv_swap_interrupted(p)) {
		cli_error("workload '%s': an apply was interrupted; run 'envmatrix apply' or "
			  "'rollback' first", w->name);
		r = EXIT_FAIL;
	} else if (stat(p->root, &st) != 0) {
		cli_error("workload '%s': '%s' does not exist; run 'envmatrix apply %s'", w->name,
			  p->root, w->name);
		r = EXIT_FAIL;
	} else {
		struct em_lock lk;
		const struct em_lock *lp = venv_lock(a, p->root, &lk, &b);
		char *dir = em_path_join(a, mdir, w->path.value ? w->path.value : ".");
		r = verify_root(a, p->root, lp, w, dir ? em_path_absolute(a, dir) : NULL, timeout_ms,
				&res);
		if (r == EXIT_INTERRUPTED)
			return r; /* nothing kept: the results are incomplete */
		if (r != EXIT_FAIL && em_verify_save(a, p->root, &res, &e))
			cli_warn("workload '%s': the results were not kept: %s: %s", w->name, e.where,
				 e.msg);
	}
	if (r == EXIT_FAIL) {
		if (ws)
			json_array_append_new(ws, json_pack("{s:s, s:s, s:n, s:s}", "name", w->name,
							    "venv", p->root, "verify", "error",
							    "not verified"));
		return r;
	}
	if (ws) {
		json_array_append_new(ws, json_pack("{s:s, s:s, s:o, s:n, s:o}", "name", w->name,
						    "venv", p->root, "verify",
						    cli_verify_json(a, &res), "error",
						    "built_from_source", json_built(&b)));
	} else {
		if (!*first && !cli.quiet)
			putchar('\n');
		char *title = em_arena_printf(a, "workload %s: %s (python %s)", w->name, p->root,
					      res.python ? res.python : "?");
		print_one(title ? title : w->name, &res);
		print_built(&b);
	}
	*first = false;
	return r;
}

int cmd_verify(int argc, char **argv)
{
	opt_json = opt_wait = 0;
	opt_file = opt_venv = opt_expect_torch = opt_timeout = NULL;
	int npos, ret;
	if (!cli_parse_matrix(argc, argv, &verify_help, &opt_file, &npos, &ret))
		return ret;
	char **names = argv + 1;
	if (cli_unique_workloads(&verify_help, (const char *const *)(names), npos))
		return EXIT_USAGE;
	if (opt_venv && (npos || opt_file))
		return cli_usage_error(&verify_help, "--venv verifies one environment; it takes no "
				       "matrix or workload");
	int timeout_ms = opt_timeout ? parse_seconds(opt_timeout, "--timeout")
				     : cli_verify_timeout_env();
	if (timeout_ms < 0)
		return EXIT_USAGE;

	struct em_arena a;
	em_arena_init(&a);
	struct em_state_lock lock = { -1 };
	if (opt_venv) {
		ret = verify_venv(&a, timeout_ms);
		goto out;
	}
	struct em_matrix m;
	const char *file;
	if ((ret = cli_load_matrix(&a, opt_file, &m, &file)))
		goto out;
	for (int i = 0; i < npos; i++)
		if (!cli_find_workload(&m, names[i])) {
			ret = EXIT_FAIL;
			goto out;
		}
	if ((ret = take_shared_lock(&a, file, &lock)))
		goto out;
	char *mdir = em_path_dir(&a, file);
	json_t *ws = opt_json ? json_array() : NULL;
	bool failed = false, errors = false, first = true;
	for (uint32_t i = 0; i < m.nworkloads; i++) {
		const struct em_workload *w = &m.workloads[i];
		if (!cli_workload_chosen(&m, w, names, npos))
			continue;
		struct em_error e;
		em_error_clear(&e);
		struct em_venv_paths p;
		if (em_venv_paths(&a, file, w, &p, &e)) {
			ret = cli_report(&e);
			goto out;
		}
		int r = verify_workload(&a, mdir, w, &p, timeout_ms, ws, &first);
		if (r == EXIT_INTERRUPTED) {
			ret = r;
			goto out;
		}
		errors |= r == EXIT_FAIL;
		failed |= r == EXIT_CHECK;
	}
	if (ws)
		cli_put_json(json_pack("{s:s, s:o}", "matrix", file, "workloads", ws));
	ret = errors ? EXIT_FAIL : failed ? EXIT_CHECK : EXIT_OK;
out:
	em_state_lock_release(&lock);
	em_arena_release(&a);
	return ret;
}
