/* cmd_apply.c - `envmatrix apply`: make every workload's environment match its lock */
#include "cli.h"

#include "apply.h"
#include "apply_lock.h"
#include "envmatrix/error.h"
#include "gpu.h"
#include "history.h"
#include "host.h"
#include "os/link.h"
#include "plan.h"
#include "rev.h"
#include "settings.h"
#include "spec/matrix.h"
#include "spec/target.h"
#include "util/arena.h"
#include "verify.h"

#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int opt_frozen, opt_locked, opt_dry_run, opt_force, opt_fail_fast, opt_upgrade,
	opt_wait, opt_json, opt_no_verify;
static const char *opt_file, *opt_rev;

static const struct cli_opt apply_opts[] = {
	CLI_MATRIX_OPT(&opt_file),
	{ CLI_OPT_FLAG, 0, "frozen", NULL,
	  "install the locks as they are, without planning (CI)", &opt_frozen },
	{ CLI_OPT_FLAG, 0, "locked", NULL,
	  "plan, and fail (exit 3) without building when a lock is out of date", &opt_locked },
	{ CLI_OPT_FLAG, 'n', "dry-run", NULL, "change nothing; say what would be built",
	  &opt_dry_run },
	{ CLI_OPT_FLAG, 0, "force", NULL, "rebuild environments that already match their locks",
	  &opt_force },
	{ CLI_OPT_FLAG, 0, "fail-fast", NULL, "stop at the first workload that fails",
	  &opt_fail_fast },
	CLI_UPGRADE_OPT(&opt_upgrade),
	{ CLI_OPT_FLAG, 0, "wait", NULL, "wait for another apply of this matrix to finish",
	  &opt_wait },
	CLI_JSON_OPT("the outcome", &opt_json),
	{ CLI_OPT_FLAG, 0, "no-verify", NULL,
	  "swap new environments in without verifying them first", &opt_no_verify },
	{ CLI_OPT_STRING, 0, "rev", "REV",
	  "read the matrix, its requirements files and locks as they were at git revision "
	  "REV (the work tree is left alone)", &opt_rev },
	CLI_NET_OPTS,
	CLI_END_OPT,
};

static const struct cli_cmd_help apply_help = {
	"apply",
	"[MATRIX] [WORKLOAD...]",
	"build every workload's environment from its lock, keeping the old one as a snapshot",
	"Plans the matrix (as 'envmatrix plan' does, writing changed locks), then\n"
	"for each workload (or only those named) whose environment does not match\n"
	"its lock: builds the venv in a staging folder beside it (interpreter\n"
	"links, pyvenv.cfg, every locked wheel verified and installed, launchers,\n"
	"activation scripts), and swaps it in. The environment that was there,\n"
	"whoever made it, becomes <venv>-original ('envmatrix rollback' swaps them\n"
	"back). An environment that matches its lock is left alone. An older\n"
	"<venv>-original that envmatrix did not make is kept as <venv>-original.N\n"
	"(a warning says so), and a venv folder without pyvenv.cfg is refused\n"
	"(docs/safety.md).\n"
	"\n"
	"Wheels are verified against the lock's sha256, unpacked once into the\n"
	"cache and linked into each venv (link-mode in the matrix). A crash or\n"
	"Ctrl-C at any moment leaves each environment complete, old or new; the\n"
	"next apply or rollback tidies up. A failed workload does not stop the\n"
	"others unless --fail-fast. One apply runs at a time per matrix.\n"
	"\n"
	"Before the swap, each new environment is verified as 'envmatrix verify'\n"
	"does (imports, torch and CUDA, the workload's verify = commands); when a\n"
	"check fails the environment in place is left as it was, the workload\n"
	"fails, and the checks are printed on stderr. --no-verify skips this.\n"
	"ENVMATRIX_VERIFY_TIMEOUT (seconds, default 300) bounds each Python run\n"
	"and command.\n"
	"\n"
	"Prints one line per workload: its outcome (built, unchanged, would build,\n"
	"failed, stale, skipped), python, torch and variant, packages, and where.\n"
	"\n"
	"Each apply that builds something records one generation per workload it\n"
	"built in the history ('envmatrix history'). When the history cannot\n"
	"record it (damaged, or locked by a git process), the environments stay\n"
	"in place and apply says so and exits 1.\n"
	"\n"
	"--rev REV (a matrix inside a git repository): the matrix, the\n"
	"requirements files it names and the locks beside it are read as they\n"
	"were at REV (HEAD~2, a tag, a commit), never from the work tree, and no\n"
	"lock file is written: CI rebuilds the environments of a past commit. The\n"
	"environments themselves are built and swapped in as usual.\n"
	"\n"
	"Exit status: 0 when every workload is in place, 1 when one failed (or\n"
	"the history could not record it), 3 with --locked when a lock is out of\n"
	"date, 130 when interrupted.",
	apply_opts,
};

struct progress {
	bool tty;
	bool line_open;
};

static void on_event(void *ctx, const struct em_apply_event *ev)
{
	struct progress *pr = ctx;
	if (cli.quiet && ev->kind != EM_EV_RECOVERED && ev->kind != EM_EV_KEPT &&
	    ev->kind != EM_EV_HEALED)
		return;
	switch (ev->kind) {
	case EM_EV_RECOVERED:
	case EM_EV_KEPT:
	case EM_EV_HEALED:
		cli_warn_data("workload '%s': %s", ev->workload, ev->detail);
		break;
	case EM_EV_BUILD:
		fprintf(stderr, "envmatrix: %s: building '%s' (%u package%s)\n", ev->workload,
			ev->detail, ev->total, ev->total == 1 ? "" : "s");
		break;
	case EM_EV_PACKAGE:
		if (pr->tty) {
			fprintf(stderr, "\r\033[K  %s: [%u/%u] %s", ev->workload, ev->done + 1,
				ev->total, ev->detail);
			pr->line_open = true;
		} else if (cli.verbose) {
			fprintf(stderr, "envmatrix: %s: installing %s (%u/%u)\n", ev->workload,
				ev->detail, ev->done + 1, ev->total);
		}
		break;
	case EM_EV_BUILD_SDIST:
		if (pr->line_open) {
			fputs("\r\033[K", stderr);
			pr->line_open = false;
		}
		if (pr->tty || cli.verbose)
			fprintf(stderr, "envmatrix: %s: building %s from source (%u/%u)\n",
				ev->workload, ev->detail, ev->done + 1, ev->total);
		break;
	case EM_EV_VERIFY:
		if (pr->line_open) {
			fputs("\r\033[K", stderr);
			pr->line_open = false;
		}
		if (pr->tty || cli.verbose)
			fprintf(stderr, "envmatrix: %s: verifying the new environment\n",
				ev->workload);
		break;
	case EM_EV_SWAPPED:
	case EM_EV_FINISHED:
		if (pr->line_open) {
			fputs("\r\033[K", stderr);
			pr->line_open = false;
		}
		break;
	}
}

static const char *or_dash(const char *s)
{
	return s && *s ? s : "-";
}

static void print_table(const struct em_apply *r)
{
	printf("%-12s %-12s %-9s %-14s %-7s %8s %8s  %s\n", "workload", "outcome", "python",
	       "torch", "variant", "packages", "time", "venv");
	for (uint32_t i = 0; i < r->n; i++) {
		const struct em_workload_apply *wa = &r->w[i];
		const struct em_workload_plan *wp = wa->plan;
		char secs[32] = "-";
		if (wa->outcome == EM_APPLY_BUILT)
			snprintf(secs, sizeof secs, "%.2fs", wa->seconds);
		char pk[16] = "-";
		if (wp && !wp->status)
			snprintf(pk, sizeof pk, "%u", wa->npackages);
		printf("%-12s %-12s %-9s %-14s %-7s %8s %8s  %s\n", wa->w->name,
		       em_apply_outcome_name(wa->outcome), wp ? or_dash(wp->python_name) : "-",
		       wp ? or_dash(wp->torch_version) : "-", wp ? or_dash(wp->variant) : "-", pk,
		       secs, or_dash(wa->paths.root));
	}
}

static void report_failures(const struct em_apply *r)
{
	for (uint32_t i = 0; i < r->n; i++) {
		const struct em_workload_apply *wa = &r->w[i];
		if (wa->outcome != EM_APPLY_FAILED && wa->outcome != EM_APPLY_STALE)
			continue;
		if (wa->err.where[0])
			cli_error("workload '%s': %s: %s", wa->w->name, wa->err.where, wa->err.msg);
		else
			cli_error("workload '%s': %s", wa->w->name, wa->err.msg);
		if (wa->verify && wa->verify->failed)
			cli_print_checks(stderr, wa->verify, cli.color_err);
		const char *ex = wa->plan ? wa->plan->explain : NULL;
		while (ex && *ex) {
			const char *nl = strchr(ex, '\n');
			size_t n = nl ? (size_t)(nl - ex) : strlen(ex);
			fprintf(stderr, "    %.*s\n", (int)n, ex);
			ex += n + (nl ? 1 : 0);
		}
	}
}

/* gen[i]: the generation the history recorded for workload i, 0: none */
static json_t *apply_json(struct em_arena *a, const struct em_apply *r, const uint32_t *gen)
{
	json_t *ws = json_array();
	for (uint32_t i = 0; i < r->n; i++) {
		const struct em_workload_apply *wa = &r->w[i];
		const struct em_workload_plan *wp = wa->plan;
		json_t *o = json_object();
		json_object_set_new(o, "name", json_string(wa->w->name));
		json_object_set_new(o, "outcome", json_string(em_apply_outcome_name(wa->outcome)));
		json_object_set_new(o, "reason", wa->reason ? json_string(wa->reason) : json_null());
		json_object_set_new(o, "venv", wa->paths.root ? json_string(wa->paths.root)
							      : json_null());
		/* the snapshot this apply made: none unless an environment was replaced */
		json_object_set_new(o, "snapshot", wa->replaced && wa->paths.snapshot
							   ? json_string(wa->paths.snapshot)
							   : json_null());
		json_object_set_new(o, "replaced", json_boolean(wa->replaced));
		json_object_set_new(o, "python", wp && wp->python_name[0]
							 ? json_string(wp->python_name)
							 : json_null());
		json_object_set_new(o, "platform", wp && wp->platform_name[0]
							   ? json_string(wp->platform_name)
							   : json_null());
		json_object_set_new(o, "torch", wp && wp->torch_version
							? json_string(wp->torch_version)
							: json_null());
		json_object_set_new(o, "variant", wp && wp->variant ? json_string(wp->variant)
								    : json_null());
		json_object_set_new(o, "lock", wp && wp->lock_path ? json_string(wp->lock_path)
								   : json_null());
		json_object_set_new(o, "packages", json_integer(wa->npackages));
		json_object_set_new(o, "unpacked", json_integer(wa->nunpacked));
		json_object_set_new(o, "files", json_integer((json_int_t)wa->files));
		json_object_set_new(o, "bytes", json_integer((json_int_t)wa->bytes));
		json_object_set_new(o, "link_mode", wa->outcome == EM_APPLY_BUILT
							    ? json_string(em_link_mode_name(wa->link_used))
							    : json_null());
		json_object_set_new(o, "seconds", json_real(wa->seconds));
		json_object_set_new(o, "verify", wa->verify ? cli_verify_json(a, wa->verify)
							    : json_null());
		json_object_set_new(o, "generation", gen && gen[i] ? json_integer(gen[i])
								   : json_null());
		if (wa->err.code) {
			char msg[EM_ERROR_WHERE_MAX + EM_ERROR_MSG_MAX + 4];
			snprintf(msg, sizeof msg, "%s%s%s", wa->err.where, wa->err.where[0] ? ": " : "",
				 wa->err.msg);
			json_object_set_new(o, "error", json_string(msg));
		} else {
			json_object_set_new(o, "error", json_null());
		}
		json_array_append_new(ws, o);
	}
	return json_pack("{s:s, s:o}", "matrix", r->m->file, "workloads", ws);
}

/* One generation per built workload, in one commit (history.h). */
static int record_built(struct em_arena *a, const char *file, const struct em_matrix *m,
			const char *mtext, size_t mlen, const struct em_apply *r, bool frozen,
			const char *rev, const struct em_gpu_info *gpu, uint32_t *gen)
{
	struct em_record_workload *w = em_arena_array(a, r->n ? r->n : 1, sizeof *w);
	uint32_t *which = em_arena_array(a, r->n ? r->n : 1, sizeof *which);
	uint32_t *num = em_arena_array(a, r->n ? r->n : 1, sizeof *num);
	uint32_t n = 0;
	if (!w || !which || !num)
		return EXIT_FAIL;
	/* an unchanged environment the history missed is recorded now */
	struct em_history h;
	bool open = em_history_may_miss(r) && cli_history_open_quiet(a, file, m, &h);
	n = em_history_applied(a, open ? &h : NULL, r, frozen, w, which);
	if (open)
		em_history_close(&h);
	int ret = cli_history_record(a, file, m, mtext, mlen, n, w, rev, gpu, num);
	for (uint32_t k = 0; !ret && k < n; k++)
		gen[which[k]] = num[k];
	return ret;
}

/* The matrix, its path and its bytes: from the work tree, or as it was at
 * --rev (rev). Returns an exit code (printed). */
static int read_matrix(struct em_arena *a, struct em_rev *rev, struct em_matrix *m,
		       const char **file, char **mtext, size_t *mlen)
{
	if (!opt_rev)
		return cli_load_matrix_text(a, opt_file, m, file, mtext, mlen);
	struct em_error e;
	em_error_clear(&e);
	*file = opt_file ? opt_file : "matrix.ini";
	if (em_rev_open(rev, a, *file, opt_rev, &e) ||
	    em_rev_read(rev, a, *file, EM_MATRIX_MAX_LEN, mtext, mlen, &e) ||
	    em_matrix_parse(a, *mtext, *mlen, *file, m, &e))
		return cli_report(&e);
	return EXIT_OK;
}

/* -v: what each built workload took */
static void print_verbose(const struct em_apply *r)
{
	for (uint32_t i = 0; i < r->n; i++) {
		const struct em_workload_apply *wa = &r->w[i];
		if (wa->outcome != EM_APPLY_BUILT)
			continue;
		fprintf(stderr,
			"envmatrix: %s: %u packages, %llu files, %llu bytes, %u unpacked "
			"now, linked by %s, %.3fs (%s)\n",
			wa->w->name, wa->npackages, (unsigned long long)wa->files,
			(unsigned long long)wa->bytes, wa->nunpacked,
			em_link_mode_name(wa->link_used), wa->seconds, or_dash(wa->reason));
		if (wa->verify)
			cli_print_checks(stderr, wa->verify, cli.color_err);
	}
}

/* After em_apply_run (rc, e) gave r: the history, the errors, the table or
 * JSON. Returns the exit code. */
static int report(struct em_arena *a, const char *file, const struct em_matrix *m,
		  const char *mtext, size_t mlen, const struct em_rev *rev,
		  const struct em_gpu_info *gpu, const struct em_apply *r, int rc,
		  const struct em_error *e)
{
	int ret = EXIT_OK, hret = EXIT_OK;
	uint32_t *gen = em_arena_array(a, r->n ? r->n : 1, sizeof *gen);
	if (!gen)
		return EXIT_FAIL;
	memset(gen, 0, (r->n ? r->n : 1) * sizeof *gen);
	if (!opt_dry_run)
		hret = record_built(a, file, m, mtext, mlen, r, opt_frozen,
				    opt_rev ? rev->commit : NULL, gpu, gen);
	report_failures(r);
	for (uint32_t i = 0; i < r->n; i++)
		if (r->w[i].outcome != EM_APPLY_FAILED && !opt_frozen)
			cli_plan_warnings(r->w[i].plan);
	if (opt_json)
		cli_put_json(apply_json(a, r, gen));
	else if (!cli.quiet) /* -q: the outcome is the exit status and the errors */
		print_table(r);
	if (rc == EM_ECANCELED) {
		cli_report(e);
		ret = EXIT_INTERRUPTED;
	} else if (r->nfailed) {
		ret = EXIT_FAIL;
	} else if (r->nstale) {
		ret = EXIT_STALE;
	} else if (hret) {
		ret = hret;
	}
	if (cli.verbose)
		print_verbose(r);
	return ret;
}

int cmd_apply(int argc, char **argv)
{
	opt_frozen = opt_locked = opt_dry_run = opt_force = opt_fail_fast = opt_upgrade = 0;
	opt_wait = opt_json = opt_no_verify = 0;
	opt_file = opt_rev = NULL;
	cli_net_reset_opts();
	int npos, ret;
	if (!cli_parse_workloads(argc, argv, &apply_help, &opt_file, &npos, &ret))
		return ret;
	if (opt_frozen && opt_locked)
		return cli_usage_error(&apply_help, "--frozen and --locked cannot be combined");
	if (opt_frozen && opt_upgrade)
		return cli_usage_error(&apply_help, "--frozen installs the locks as they are; "
				       "--upgrade needs planning");

	struct em_arena a;
	em_arena_init(&a);
	struct em_error e;
	em_error_clear(&e);
	struct cli_net net;
	cli_net_init(&net);
	struct em_state_lock lock = { -1 };
	struct em_matrix m;
	struct em_platform host;
	const char *file;
	struct em_rev rev;
	memset(&rev, 0, sizeof rev);
	char *mtext = NULL;
	size_t mlen = 0;
	if ((ret = read_matrix(&a, &rev, &m, &file, &mtext, &mlen)))
		goto out;
	if (em_host_platform(&host, &e)) {
		ret = cli_report(&e);
		goto out;
	}
	for (int i = 0; i < npos; i++)
		if (!cli_find_workload(&m, argv[1 + i])) {
			ret = EXIT_FAIL;
			goto out;
		}
	if (!opt_dry_run && (ret = cli_take_lock(&a, file, "apply", opt_wait, &lock)))
		goto out;

	/* the planner checks variants against the GPU; verification compares
	 * what torch sees with it */
	struct em_gpu_info gpu;
	bool want_gpu = !opt_frozen && cli_gpu_needed(&m);
	bool have_gpu = want_gpu || (!opt_no_verify && !opt_dry_run);
	if (have_gpu && (ret = cli_gpu_detect(&a, &gpu)))
		goto out;
	cli_catch_stop();
	if ((ret = cli_net_open(&a, &m, file, &cli_stop, &net)))
		goto out;

	struct progress pr = { isatty(2) && !cli.quiet, false };
	int verify_timeout = cli_verify_timeout_env();
	if (verify_timeout < 0) {
		ret = EXIT_USAGE;
		goto out;
	}
	struct em_apply_options o = {
		.plan = {
			.matrix_path = file,
			.nonly = (uint32_t)npos,
			.only = (const char *const *)(argv + 1),
			.upgrade = opt_upgrade,
			.driver_env = em_settings()->cuda_driver,
			.host = &host,
			.gpu = want_gpu ? &gpu : NULL,
			.read_file = opt_rev ? em_rev_read : NULL,
			.read_ctx = &rev,
		},
		.keep_locks = opt_rev != NULL,
		.frozen = opt_frozen,
		.locked = opt_locked,
		.dry_run = opt_dry_run,
		.force = opt_force,
		.fail_fast = opt_fail_fast,
		.cancel = &cli_stop,
		.no_verify = opt_no_verify,
		.gpu = cli_host_gpu(have_gpu ? &gpu : NULL),
		.verify_timeout_ms = verify_timeout,
		.event = on_event,
		.ctx = &pr,
	};
	struct em_apply r;
	int rc = em_apply_run(&a, &net.src, &m, &o, &r, &e);
	cli_release_stop();
	if (pr.line_open)
		fputs("\r\033[K", stderr);
	if (rc && rc != EM_ECANCELED)
		ret = cli_report(&e);
	else
		ret = report(&a, file, &m, mtext, mlen, &rev, have_gpu ? &gpu : NULL, &r, rc, &e);
out:
	em_rev_close(&rev);
	cli_release_stop();
	cli_net_close(&net);
	em_state_lock_release(&lock);
	em_arena_release(&a);
	return ret;
}
