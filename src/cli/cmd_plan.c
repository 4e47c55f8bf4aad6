/* cmd_plan.c - `envmatrix plan`: resolve every workload and write its lock */
#include "cli.h"

#include "apply.h"
#include "envmatrix/error.h"
#include "gpu.h"
#include "host.h"
#include "os/fs.h"
#include "plan.h"
#include "settings.h"
#include "spec/lock.h"
#include "spec/matrix.h"
#include "spec/target.h"
#include "swap.h"
#include "util/arena.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static int opt_check, opt_json, opt_upgrade;
static const char *opt_file;

static const struct cli_opt plan_opts[] = {
	CLI_MATRIX_OPT(&opt_file),
	{ CLI_OPT_FLAG, 0, "check", NULL,
	  "change nothing; exit 3 when a lock is out of date (for CI)", &opt_check },
	CLI_UPGRADE_OPT(&opt_upgrade),
	CLI_JSON_OPT("the plan", &opt_json),
	CLI_NET_OPTS,
	CLI_END_OPT,
};

static const struct cli_cmd_help plan_help = {
	"plan",
	"[MATRIX] [WORKLOAD...]",
	"resolve the matrix's workloads and write one PEP 751 lock per workload",
	"For each workload (or only those named): the target platform and exact\n"
	"Python, the PyTorch variant and its index, every dependency and the exact\n"
	"wheel file with its sha256 and size. The locks are written beside the\n"
	"matrix as pylock.<workload>.toml; a workload whose lock would not change\n"
	"is left alone. Existing locks' versions are kept while still allowed\n"
	"(--upgrade takes the newest instead). Nothing is downloaded but index\n"
	"pages and metadata.\n"
	"\n"
	"Prints one line per workload (python, platform, torch, variant, number\n"
	"of packages, download size, and the change against the existing lock),\n"
	"then one line per changed package. A workload that cannot be resolved is\n"
	"reported with the chain of reasons; the others are still planned.\n"
	"\n"
	"The NVIDIA driver for cuda = auto and for checking cuda = 12.x comes\n"
	"from the matrix's cuda-driver, else ENVMATRIX_CUDA_DRIVER, else (for\n"
	"workloads on this machine's platform) the driver detected here. Each\n"
	"GPU's compute capability is checked against the torch build; a driver\n"
	"older than the variant's own toolkit is a warning on stderr.\n"
	"\n"
	"Exit status: 0 when every workload was planned, 1 when one failed, 3\n"
	"with --check when a lock is out of date.",
	plan_opts,
};

static void human_size(int64_t n, char *buf, size_t size)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	int u = 0;
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, size, "%lld B", (long long)n);
	else
		snprintf(buf, size, "%.1f %s", v, units[u]);
}

static void lock_summary(const struct em_workload_plan *wp, char *buf, size_t size)
{
	if (!wp->had_lock) {
		snprintf(buf, size, "new");
		return;
	}
	if (!wp->lock_changed) {
		snprintf(buf, size, "unchanged");
		return;
	}
	unsigned count[EM_CHANGE_KINDS] = { 0 };
	for (uint32_t i = 0; i < wp->nchanges; i++)
		count[wp->changes[i].kind]++;
	size_t o = 0;
	buf[0] = '\0';
	for (int k = 0; k < EM_CHANGE_KINDS; k++) {
		if (!count[k])
			continue;
		int n = snprintf(buf + o, size - o, "%s%u %s", o ? ", " : "", count[k],
				 em_change_kind_name(k));
		if (n < 0 || (size_t)n >= size - o)
			break;
		o += (size_t)n;
	}
	if (!o)
		snprintf(buf, size, "updated");
}

static void print_table(const struct em_plan *p)
{
	printf("%-12s %-9s %-24s %-14s %-7s %8s %10s  %s\n", "workload", "python", "platform",
	       "torch", "variant", "packages", "download", "lock");
	for (uint32_t i = 0; i < p->n; i++) {
		const struct em_workload_plan *wp = &p->w[i];
		if (wp->status) {
			printf("%-12s %-9s %-24s %-14s %-7s %8s %10s  %s\n", wp->w->name,
			       wp->python_name[0] ? wp->python_name : "-",
			       wp->platform_name[0] ? wp->platform_name : "-", "-",
			       wp->variant ? wp->variant : "-", "-", "-", "failed");
			continue;
		}
		char size[32], lock[128];
		human_size(wp->download, size, sizeof size);
		lock_summary(wp, lock, sizeof lock);
		printf("%-12s %-9s %-24s %-14s %-7s %8u %10s  %s\n", wp->w->name, wp->python_name,
		       wp->platform_name, wp->torch_version ? wp->torch_version : "-",
		       wp->variant ? wp->variant : "-", wp->npackages, size, lock);
	}
	for (uint32_t i = 0; i < p->n; i++) {
		const struct em_workload_plan *wp = &p->w[i];
		if (wp->status || !wp->had_lock)
			continue;
		for (uint32_t k = 0; k < wp->nchanges; k++) {
			const struct em_change *c = &wp->changes[k];
			switch (c->kind) {
			case EM_CHANGE_ADDED:
				printf("%s: + %s %s\n", wp->w->name, c->name, c->to);
				break;
			case EM_CHANGE_REMOVED:
				printf("%s: - %s %s\n", wp->w->name, c->name, c->from ? c->from : "");
				break;
			default:
				printf("%s: %s %s -> %s (%s)\n", wp->w->name, c->name,
				       c->from ? c->from : "?", c->to ? c->to : "?",
				       em_change_kind_name(c->kind));
				break;
			}
		}
	}
}

static json_t *plan_json(const struct em_plan *p)
{
	json_t *ws = json_array();
	for (uint32_t i = 0; i < p->n; i++) {
		const struct em_workload_plan *wp = &p->w[i];
		json_t *o = json_object();
		json_object_set_new(o, "name", json_string(wp->w->name));
		json_object_set_new(o, "status", json_string(wp->status ? "failed" : "planned"));
		if (wp->status) {
			char msg[EM_ERROR_WHERE_MAX + EM_ERROR_MSG_MAX + 4];
			snprintf(msg, sizeof msg, "%s%s%s", wp->err.where, wp->err.where[0] ? ": " : "",
				 wp->err.msg);
			json_object_set_new(o, "error", json_string(msg));
			json_object_set_new(o, "explanation",
					    wp->explain ? json_string(wp->explain) : json_null());
		}
		json_object_set_new(o, "platform", wp->platform_name[0] ? json_string(wp->platform_name)
									: json_null());
		json_object_set_new(o, "python", wp->python_name[0] ? json_string(wp->python_name)
								    : json_null());
		json_object_set_new(o, "python_from", wp->python_from ? json_string(wp->python_from)
									 : json_null());
		json_object_set_new(o, "torch", wp->torch_version ? json_string(wp->torch_version)
								    : json_null());
		json_object_set_new(o, "variant", wp->variant ? json_string(wp->variant) : json_null());
		json_object_set_new(o, "torch_index",
				    wp->torch_index ? json_string(wp->torch_index) : json_null());
		json_t *wn = json_array();
		for (uint32_t k = 0; k < wp->nwarnings; k++)
			json_array_append_new(wn, json_string(wp->warnings[k]));
		json_object_set_new(o, "warnings", wn);
		if (!wp->status) {
			char lock[128];
			lock_summary(wp, lock, sizeof lock);
			json_object_set_new(o, "lock", json_string(wp->lock_path));
			json_object_set_new(o, "lock_status",
					    json_string(!wp->had_lock ? "new"
							: wp->lock_changed ? "changed" : "unchanged"));
			json_object_set_new(o, "download_bytes", json_integer(wp->download));
			json_t *pk = json_array();
			for (uint32_t k = 0; k < wp->lock.npackages; k++) {
				const struct em_lock_package *lp = &wp->lock.packages[k];
				json_array_append_new(
					pk, json_pack("{s:s, s:s, s:s, s:s, s:I, s:b}", "name", lp->name,
						      "version", lp->version, "file", lp->wheels[0].name,
						      "sha256", lp->wheels[0].sha256, "size",
						      (json_int_t)lp->wheels[0].size, "requested",
						      lp->requested));
			}
			json_object_set_new(o, "packages", pk);
			json_t *ch = json_array();
			for (uint32_t k = 0; k < wp->nchanges && wp->had_lock; k++) {
				const struct em_change *c = &wp->changes[k];
				json_array_append_new(ch, json_pack("{s:s, s:s, s:s?, s:s?}", "name", c->name,
								    "change", em_change_kind_name(c->kind),
								    "from", c->from, "to", c->to));
			}
			json_object_set_new(o, "changes", ch);
		}
		json_array_append_new(ws, o);
	}
	return json_pack("{s:s, s:o}", "matrix", p->m->file, "workloads", ws);
}

static void report_failure(const struct em_workload_plan *wp)
{
	if (wp->err.where[0])
		cli_error("workload '%s': %s: %s", wp->w->name, wp->err.where, wp->err.msg);
	else
		cli_error("workload '%s': %s", wp->w->name, wp->err.msg);
	if (wp->explain && *wp->explain) {
		const char *s = wp->explain;
		while (*s) {
			const char *nl = strchr(s, '\n');
			size_t n = nl ? (size_t)(nl - s) : strlen(s);
			fprintf(stderr, "    %.*s\n", (int)n, s);
			s += n + (nl ? 1 : 0);
		}
	}
}

int cmd_plan(int argc, char **argv)
{
	opt_check = opt_json = opt_upgrade = 0;
	opt_file = NULL;
	cli_net_reset_opts();
	int npos, rc;
	if (!cli_parse_workloads(argc, argv, &plan_help, &opt_file, &npos, &rc))
		return rc;
	const char *file = opt_file ? opt_file : "matrix.ini";

	struct em_arena a;
	em_arena_init(&a);
	struct em_error e;
	em_error_clear(&e);
	struct cli_net net;
	cli_net_init(&net);
	int ret = EXIT_OK;
	char *buf;
	size_t len;
	struct em_matrix m;
	struct em_platform host;
	struct em_plan plan;
	if (em_read_file(&a, file, EM_MATRIX_MAX_LEN, &buf, &len, &e) ||
	    em_matrix_parse(&a, buf, len, file, &m, &e) ||
	    em_matrix_check_folders(&a, file, &m, em_settings()->history, &e) ||
	    em_host_platform(&host, &e)) {
		if (e.code == EM_ENOTFOUND && !opt_file)
			cli_error("no matrix.ini here; name one with -f MATRIX");
		else
			cli_report(&e);
		ret = EXIT_FAIL;
		goto out;
	}
	struct em_gpu_info gpu;
	if (cli_gpu_needed(&m) && (ret = cli_gpu_detect(&a, &gpu)))
		goto out;
	cli_catch_stop();
	if ((ret = cli_net_open(&a, &m, file, &cli_stop, &net)))
		goto out;
	struct em_plan_options o = {
		.matrix_path = file,
		.nonly = (uint32_t)npos,
		.only = (const char *const *)(argv + 1),
		.upgrade = opt_upgrade,
		.driver_env = em_settings()->cuda_driver,
		.host = &host,
		.gpu = cli_gpu_needed(&m) ? &gpu : NULL,
	};
	/* sdists whose metadata is dynamic: prepared by the build module */
	struct em_sdist_hook hook = { &net.src, &m, file, &host, NULL, &cli_stop };
	o.sdist_metadata = em_apply_sdist_metadata;
	o.sdist_ctx = &hook;
	if (em_plan_build(&a, &net.src, &m, &o, &plan, &e)) {
		ret = cli_report(&e);
		goto out;
	}
	if (cli_stop) {
		cli_error("interrupted; no lock was written");
		ret = EXIT_INTERRUPTED;
		goto out;
	}
	for (uint32_t i = 0; i < plan.n; i++)
		if (plan.w[i].status)
			report_failure(&plan.w[i]);
		else
			cli_plan_warnings(&plan.w[i]);
	if (opt_json)
		cli_put_json(plan_json(&plan));
	else if (!cli.quiet) /* -q: the locks are the result; failures are on stderr */
		print_table(&plan);
	if (plan.nfailed)
		ret = EXIT_FAIL;
	uint32_t stale = 0;
	for (uint32_t i = 0; i < plan.n; i++)
		stale += !plan.w[i].status && plan.w[i].lock_changed;
	if (opt_check) {
		if (stale && !ret) {
			if (!cli.quiet)
				fprintf(stderr, "envmatrix: %u lock%s out of date; run 'envmatrix plan' "
						"to update\n", stale, stale == 1 ? " is" : "s are");
			ret = EXIT_STALE;
		}
	} else if (em_plan_write_locks(&plan, &e)) {
		ret = cli_report(&e);
	} else if (stale && !cli.quiet) {
		for (uint32_t i = 0; i < plan.n; i++)
			if (!plan.w[i].status && plan.w[i].lock_changed)
				fprintf(stderr, "envmatrix: wrote %s\n", plan.w[i].lock_path);
	}
	if (cli.verbose) {
		for (uint32_t i = 0; i < plan.n; i++) {
			const struct em_workload_plan *wp = &plan.w[i];
			fprintf(stderr,
				"envmatrix: %s: %u projects, %u decisions, %u conflicts, python from "
				"%s%s%s\n",
				wp->w->name, wp->stats.projects, wp->stats.decisions,
				wp->stats.conflicts, wp->python_from ? wp->python_from : "-",
				wp->variant_why ? ", variant " : "",
				wp->variant_why ? wp->variant_why : "");
		}
		fprintf(stderr, "envmatrix: %u reads and requests, %llu bytes read, %llu bytes "
			"downloaded, %u cached pages still current\n", net.src.requests,
			(unsigned long long)net.src.bytes_read,
			(unsigned long long)net.src.bytes_downloaded, net.src.revalidated);
	}
out:
	cli_release_stop();
	cli_net_close(&net);
	em_arena_release(&a);
	return ret;
}
