/* cmd_rollback.c - `envmatrix rollback`: put a workload's previous environment back */
#include "cli.h"

#include "apply.h"
#include "apply_lock.h"
#include "envmatrix/error.h"
#include "gpu.h"
#include "history.h"
#include "host.h"
#include "os/fs.h"
#include "spec/matrix.h"
#include "spec/target.h"
#include "swap.h"
#include "util/arena.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int opt_wait;
static const char *opt_file, *opt_to;

static const struct cli_opt rollback_opts[] = {
	CLI_MATRIX_OPT(&opt_file),
	{ CLI_OPT_STRING, 0, "to", "N",
	  "rebuild generation N of the workload from its recorded lock", &opt_to },
	{ CLI_OPT_FLAG, 0, "wait", NULL, "wait for an apply of this matrix to finish", &opt_wait },
	CLI_NET_OPTS,
	CLI_END_OPT,
};

static const struct cli_cmd_help rollback_help = {
	"rollback",
	"[MATRIX] WORKLOAD...",
	"swap a workload's environment and its snapshot, or rebuild a generation",
	"The environment the last apply replaced comes back, and the current one\n"
	"becomes the snapshot, so a second rollback re-applies. Both stay\n"
	"complete at every moment. Fails, changing nothing, when the workload has\n"
	"no snapshot. The lock files are not changed: 'envmatrix status' then\n"
	"shows the environment as differing from its lock, and the next apply\n"
	"builds the locked one again. This swap never reads the history.\n"
	"\n"
	"With --to N, generation N ('envmatrix history WORKLOAD' lists them) is\n"
	"rebuilt from the lock it recorded, the way apply --frozen builds: in a\n"
	"staging folder, every wheel from the cache first and from the network\n"
	"only when the cache lacks it (--offline: never), then swapped in (the\n"
	"current environment becomes the snapshot). That lock then becomes the\n"
	"workload's lock file, and the history records a new generation that says\n"
	"it rolled back to N.\n"
	"\n"
	"Exit status: 0 when every named workload was rolled back, 1 otherwise.",
	rollback_opts,
};

/* rollback --to N: generation N's lock, built like apply --frozen; the
 * history records mtext, the matrix as it was read */
static int rollback_to(struct em_arena *a, struct em_matrix *m, const char *file,
		       const char *mtext, size_t mlen, const struct em_workload *w, uint32_t to)
{
	struct em_error e;
	em_error_clear(&e);
	struct em_history h;
	int ret = cli_history_open(a, file, m, false, &h);
	if (ret < 0) {
		cli_error("workload '%s' has no generations yet: the history '%s' does not exist",
			  w->name, h.path);
		return EXIT_FAIL;
	}
	if (ret)
		return ret;
	char *text;
	size_t len;
	int rc = em_history_lock(a, &h, w->name, to, NULL, &text, &len, &e);
	em_history_close(&h);
	if (rc)
		return cli_report(&e);
	struct em_platform host;
	if (em_host_platform(&host, &e))
		return cli_report(&e);
	struct em_gpu_info gpu;
	if ((ret = cli_gpu_detect(a, &gpu)))
		return ret;
	struct cli_net net;
	cli_net_init(&net);
	cli_catch_stop();
	ret = cli_net_open(a, m, file, &cli_stop, &net);
	const char *only[1] = { w->name };
	struct em_apply_options o = {
		.plan = { .matrix_path = file, .nonly = 1, .only = only, .host = &host },
		.frozen = true,
		.lock_for = w->name,
		.lock_text = text,
		.lock_len = len,
		.gpu = cli_host_gpu(&gpu),
		.cancel = &cli_stop,
	};
	struct em_apply r;
	memset(&r, 0, sizeof r);
	if (!ret && (rc = em_apply_run(a, &net.src, m, &o, &r, &e)))
		ret = rc == EM_ECANCELED ? (cli_report(&e), EXIT_INTERRUPTED) : cli_report(&e);
	cli_release_stop();
	cli_net_close(&net);
	if (ret)
		return ret;
	const struct em_workload_apply *wa = &r.w[0];
	if (wa->outcome == EM_APPLY_FAILED) {
		cli_error("workload '%s': generation %u: %s%s%s", w->name, to, wa->err.where,
			  wa->err.where[0] ? ": " : "", wa->err.msg);
		return EXIT_FAIL;
	}
	/* the generation's lock is the workload's lock from now on */
	if (em_write_file_atomic(wa->plan->lock_path, text, len, 0644, &e))
		return cli_report(&e);
	if (wa->outcome == EM_APPLY_UNCHANGED) {
		if (!cli.quiet)
			printf("%s: already generation %u's packages ('%s'); its lock is the "
			       "workload's lock\n", w->name, to, wa->paths.root);
		return EXIT_OK;
	}
	if (!cli.quiet)
		printf("%s: rebuilt generation %u in '%s' (%u packages, %.2fs)\n", w->name, to,
		       wa->paths.root, wa->npackages, wa->seconds);
	struct em_record_workload rw = { w->name, text, len, cli_verify_record(a, wa->verify),
					 EM_GEN_ROLLBACK, to };
	return cli_history_record(a, file, m, mtext, mlen, 1, &rw, NULL, &gpu, NULL);
}

static void describe(const char *label, const char *python, const char *torch)
{
	printf("  %-9s python %s%s%s\n", label, python ? python : "?", torch ? ", torch " : "",
	       torch ? torch : "");
}

int cmd_rollback(int argc, char **argv)
{
	opt_wait = 0;
	opt_file = opt_to = NULL;
	cli_net_reset_opts();
	int npos, rc;
	if (!cli_parse_matrix(argc, argv, &rollback_help, &opt_file, &npos, &rc))
		return rc;
	if (npos == 0)
		return cli_usage_error(&rollback_help, "name the workload to roll back");
	unsigned long to = 0;
	if (opt_to) {
		char *end;
		to = strtoul(opt_to, &end, 10);
		if (*end || !*opt_to || !to || to > UINT32_MAX)
			return cli_usage_error(&rollback_help, "--to needs a generation number, not "
					       "'%s' ('envmatrix history' lists them)", opt_to);
		if (npos != 1)
			return cli_usage_error(&rollback_help, "--to rebuilds one workload; name one");
	} else if (cli_net_offline || cli_net_refresh || cli_net_jobs) {
		return cli_usage_error(&rollback_help, "--offline, --refresh and --jobs are for "
				       "--to (a plain rollback swaps folders and reads nothing)");
	}
	if (cli_unique_workloads(&rollback_help, (const char *const *)(argv + 1), npos))
		return EXIT_USAGE;
	struct em_arena a;
	em_arena_init(&a);
	struct em_state_lock lock = { -1 };
	struct em_matrix m;
	const char *file;
	char *mtext;
	size_t mlen;
	int ret = cli_load_matrix_text(&a, opt_file, &m, &file, &mtext, &mlen);
	for (int i = 0; i < npos && !ret; i++)
		if (!cli_find_workload(&m, argv[1 + i]))
			ret = EXIT_FAIL;
	if (!ret)
		ret = cli_take_lock(&a, file, "rollback", opt_wait, &lock);
	if (!ret && opt_to) {
		ret = rollback_to(&a, &m, file, mtext, mlen, em_matrix_find(&m, argv[1]),
				  (uint32_t)to);
		em_state_lock_release(&lock);
		em_arena_release(&a);
		return ret;
	}
	for (int i = 0; i < npos && !ret; i++) {
		const struct em_workload *w = em_matrix_find(&m, argv[1 + i]);
		struct em_error e;
		em_error_clear(&e);
		struct em_venv_paths p;
		const char *what = NULL;
		if (em_venv_paths(&a, file, w, &p, &e) || em_venv_recover(&a, &p, &what, &e)) {
			ret = cli_report(&e);
			break;
		}
		if (what)
			cli_warn_data("workload '%s': %s", w->name, what);
		if (em_venv_rollback(&p, &e)) {
			if (e.code == EM_ENOTFOUND)
				cli_error("workload '%s' has no snapshot to roll back to: '%s' does not "
					  "exist (apply makes one when it replaces an environment)",
					  w->name, p.snapshot);
			else
				cli_report(&e);
			ret = EXIT_FAIL;
			break;
		}
		struct em_venv_state st;
		em_venv_state_read(&a, &p, &st, NULL);
		if (cli.quiet) /* -q: the swap is the result */
			continue;
		printf("%s: rolled back '%s'\n", w->name, p.root);
		describe("now", st.python, st.torch);
		if (st.has_snapshot)
			describe("snapshot", st.snapshot_python, st.snapshot_torch);
	}
	em_state_lock_release(&lock);
	em_arena_release(&a);
	return ret;
}
