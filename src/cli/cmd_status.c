/* cmd_status.c - `envmatrix status`: what each workload has installed */
#include "cli.h"

#include "envmatrix/error.h"
#include "install_set.h"
#include "lockname.h"
#include "os/fs.h"
#include "spec/lock.h"
#include "spec/matrix.h"
#include "swap.h"
#include "util/arena.h"
#include "verify.h"

#include <jansson.h>
#include <string.h>
#include <sys/stat.h>

static int opt_json, opt_check;
static const char *opt_file;

static const struct cli_opt status_opts[] = {
	CLI_MATRIX_OPT(&opt_file),
	{ CLI_OPT_FLAG, 0, "check", NULL,
	  "exit 3 unless every environment matches its lock (for CI)", &opt_check },
	CLI_JSON_OPT("the status", &opt_json),
	CLI_END_OPT,
};

static const struct cli_cmd_help status_help = {
	"status",
	"[MATRIX] [WORKLOAD...]",
	"show each workload's environment: where, Python, torch, CUDA, lock, snapshot",
	"One line per workload (or only those named): its state, the Python,\n"
	"torch version and wheel variant installed, whether a snapshot\n"
	"(<venv>-original) exists, the last verification's outcome (below the\n"
	"table: when, and what failed), and the venv's path. Below the table,\n"
	"too: snapshots that envmatrix did not make and so kept beside the\n"
	"snapshot (<venv>-original.N; envmatrix never removes them), and the\n"
	"packages apply built from their sdists (no wheel fit; --json:\n"
	"built_from_source). States:\n"
	"\n"
	"  current      the environment was built from the workload's lock\n"
	"  outdated     it was built from another lock (apply, or rolled back)\n"
	"  foreign      it was not made by envmatrix (apply replaces it and keeps\n"
	"               it as the snapshot, never deleting it)\n"
	"  missing      there is no environment yet\n"
	"  unplanned    there is no lock yet (run 'envmatrix plan')\n"
	"  interrupted  an apply was interrupted; the next apply or rollback\n"
	"               finishes or undoes it\n"
	"\n"
	"Nothing is run or changed. Exit status: 0; with --check, 3 unless every\n"
	"workload is current.",
	status_opts,
};

struct row {
	const struct em_workload *w;
	const char *state;
	struct em_venv_paths p;
	struct em_venv_state st;
	const char *lock_path;
	struct em_verify_result ver; /* the environment's last verification */
	bool verified;
	uint32_t nbuilt;             /* packages the environment has built from source */
	const char **built;
};

static bool lock_refused; /* a lock of another matrix was found */

static const char *state_of(struct em_arena *a, const char *file, struct row *r)
{
	if (em_venv_swap_interrupted(&r->p))
		return "interrupted";
	char *lpath;
	if (em_matrix_lock_path(a, file, r->w->name, &lpath, NULL))
		return "unplanned";
	r->lock_path = lpath;
	char *text = NULL;
	size_t len = 0;
	struct em_error e;
	em_error_clear(&e);
	bool have_lock = em_read_file(a, r->lock_path, EM_TOML_MAX_LEN, &text, &len, &e) == 0;
	struct em_lock l;
	if (have_lock && em_lock_parse(a, text, len, lpath, &l, NULL) == 0 &&
	    em_lock_check_matrix(&l, lpath, file, &e)) {
		cli_report(&e); /* never compared with another matrix's lock */
		lock_refused = true;
		have_lock = false;
	}
	if (!r->st.exists)
		return "missing";
	if (!r->st.lock_text)
		return "foreign";
	if (!have_lock)
		return "unplanned";
	if (r->st.lock_len == len && !memcmp(r->st.lock_text, text, len))
		return "current";
	return "outdated";
}

/* The packages of the environment's lock (pylock.toml inside it) that
 * apply built from their sdists (apply.h). */
static void built_from_source(struct em_arena *a, struct row *r)
{
	char *lp = em_arena_printf(a, "%s/" EM_VENV_LOCK_NAME, r->p.root);
	if (lp) /* out of memory: no list, status names no built package */
		EM_IGNORE(em_lock_built_from_source(a, r->st.lock_text, r->st.lock_len, lp,
						    &r->built, &r->nbuilt));
}

static const char *or_dash(const char *s)
{
	return s && *s ? s : "-";
}

/* The rows of the workloads named in names[0..n) (none: all), into rows
 * (*nrows). Returns an exit code (printed). */
static int read_rows(struct em_arena *a, const struct em_matrix *m, const char *file,
		     char *const *names, int n, struct row *rows, uint32_t *nrows)
{
	for (uint32_t i = 0; i < m->nworkloads; i++) {
		const struct em_workload *w = &m->workloads[i];
		if (!cli_workload_chosen(m, w, names, n))
			continue;
		struct row *r = &rows[(*nrows)++];
		memset(r, 0, sizeof *r);
		r->w = w;
		struct em_error e;
		em_error_clear(&e);
		if (em_venv_paths(a, file, w, &r->p, &e))
			return cli_report(&e);
		em_venv_state_read(a, &r->p, &r->st, NULL);
		r->state = state_of(a, file, r);
		r->verified = r->st.exists && em_verify_load(a, r->p.root, &r->ver, NULL) == 0;
		built_from_source(a, r);
	}
	return EXIT_OK;
}

static void print_json(struct em_arena *a, const char *file, const struct row *rows, uint32_t n)
{
	json_t *ws = json_array();
	for (uint32_t i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		json_array_append_new(
			ws, json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s?, s:b, s:s, s:s?, s:s?}",
				      "name", r->w->name, "state", r->state, "venv", r->p.root,
				      "python", r->st.python, "torch", r->st.torch, "variant",
				      r->st.variant, "snapshot", r->st.has_snapshot,
				      "snapshot_path", r->p.snapshot, "snapshot_python",
				      r->st.snapshot_python, "snapshot_torch",
				      r->st.snapshot_torch));
		json_t *o = json_array_get(ws, json_array_size(ws) - 1);
		json_object_set_new(o, "verify", r->verified ? cli_verify_json(a, &r->ver)
							     : json_null());
		json_object_set_new(o, "kept", cli_json_strings(r->st.kept, r->st.nkept));
		json_object_set_new(o, "built_from_source", cli_json_strings(r->built, r->nbuilt));
	}
	cli_put_json(json_pack("{s:s, s:o}", "matrix", file, "workloads", ws));
}

/* A blank line before the first note below the table */
static void gap(bool *done)
{
	if (!*done)
		putchar('\n');
	*done = true;
}

static void print_table(struct em_arena *a, const struct row *rows, uint32_t n)
{
	printf("%-12s %-11s %-9s %-14s %-7s %-8s %-9s  %s\n", "workload", "state", "python",
	       "torch", "variant", "snapshot", "verified", "venv");
	for (uint32_t i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		const char *v = !r->verified ? "-" : r->ver.failed ? "FAILED" : "ok";
		printf("%-12s %-11s %-9s %-14s %-7s %-8s %-9s  %s\n", r->w->name, r->state,
		       or_dash(r->st.python), or_dash(r->st.torch), or_dash(r->st.variant),
		       r->st.has_snapshot ? "yes" : "no", v, r->p.root);
	}
	/* snapshots kept because envmatrix did not make them */
	bool gapped = false;
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t k = 0; k < rows[i].st.nkept; k++) {
			gap(&gapped);
			printf("%s: kept '%s' (not made by envmatrix; envmatrix never removes "
			       "it)\n", rows[i].w->name, rows[i].st.kept[k]);
		}
	/* what apply built from sdists */
	for (uint32_t i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		if (!r->nbuilt)
			continue;
		gap(&gapped);
		printf("%s: %u package%s built from source:", r->w->name, r->nbuilt,
		       r->nbuilt == 1 ? "" : "s");
		for (uint32_t k = 0; k < r->nbuilt; k++)
			printf(" %s", r->built[k]);
		putchar('\n');
	}
	/* when each was verified, and what failed */
	for (uint32_t i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		if (!r->verified)
			continue;
		gap(&gapped);
		char sum[96];
		em_verify_summary(&r->ver, sum, sizeof sum);
		if (!r->ver.failed) {
			printf("%s: verified %s: %s\n", r->w->name, or_dash(r->ver.when), sum);
			continue;
		}
		char *why = em_verify_failures(a, &r->ver, 600);
		printf("%s: verification failed %s: %s: %s\n", r->w->name, or_dash(r->ver.when),
		       sum, why ? why : "");
	}
}

int cmd_status(int argc, char **argv)
{
	opt_json = opt_check = 0;
	opt_file = NULL;
	int npos, ret;
	if (!cli_parse_matrix(argc, argv, &status_help, &opt_file, &npos, &ret))
		return ret;
	if (cli_unique_workloads(&status_help, (const char *const *)(argv + 1), npos))
		return EXIT_USAGE;
	struct em_arena a;
	em_arena_init(&a);
	struct em_matrix m;
	const char *file;
	struct row *rows = NULL;
	uint32_t n = 0;
	ret = cli_load_matrix(&a, opt_file, &m, &file);
	for (int i = 0; i < npos && !ret; i++)
		if (!cli_find_workload(&m, argv[1 + i]))
			ret = EXIT_FAIL;
	if (!ret && !(rows = em_arena_array(&a, m.nworkloads ? m.nworkloads : 1, sizeof *rows)))
		ret = cli_report(&(struct em_error){ EM_ENOMEM, "", "out of memory" });
	if (!ret)
		ret = read_rows(&a, &m, file, argv + 1, npos, rows, &n);
	if (ret)
		goto out;
	if (opt_json)
		print_json(&a, file, rows, n);
	else
		print_table(&a, rows, n);
	if (opt_check)
		for (uint32_t i = 0; i < n; i++)
			if (strcmp(rows[i].state, "current"))
				ret = EXIT_STALE;
	if (lock_refused && !ret)
		ret = EXIT_FAIL;
out:
	em_arena_release(&a);
	return ret;
}
