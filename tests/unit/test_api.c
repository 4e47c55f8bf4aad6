/* test_api.c - the public interface (envmatrix.h), used as a front end
 * uses it: compiled with -Iinclude only, so nothing but the installed
 * headers is in reach.
 *
 * The bundled offline demo (matrices/demo.ini, prepared in a temporary
 * folder as mk/demo.sh prepares it, with this machine's python3 and its
 * pip and setuptools wheels) is planned, applied, verified, rolled back
 * and read back through status and history; and the error cases: a
 * missing matrix, an invalid one, an unknown or repeated workload name,
 * no snapshot, no such generation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <envmatrix/envmatrix.h>

static char dir[256];        /* the temporary folder */
static char demo_ini[300];   /* dir/demo.ini */
static char python[256];     /* the demo's Python version */
static char no_demo[512];    /* why the demo cannot run here, "" when it can */
static unsigned builds;      /* EM_EVENT_BUILD events seen */

/* The demo as mk/demo.sh prepares it, for python3 in PATH: prints its
 * version, or "SKIP: why". $1: the folder, $2: the source tree. */
static const char prepare[] =
	"set -eu\n"
	"dir=$1 top=$2\n"
	"cp -R \"$top/matrices/demo\" \"$dir/demo\"\n"
	"mkdir -p \"$dir/wheels\" \"$dir/no-gpu\"\n"
	"py=$(command -v python3) || { echo 'SKIP: no python3 in PATH (apt-get install python3)'; exit 0; }\n"
	"info=$(\"$py\" -c 'import sys, sysconfig, os\n"
	"ft = sysconfig.get_config_var(\"Py_GIL_DISABLED\")\n"
	"try:\n"
	"    import ensurepip\n"
	"    b = os.path.join(os.path.dirname(ensurepip.__file__), \"_bundled\")\n"
	"except ImportError:\n"
	"    b = \"\"\n"
	"ok = sys.implementation.name == \"cpython\" and not ft\n"
	"print(\"%d.%d.%d\" % sys.version_info[:3] if ok else \"-\", b)')\n"
	"ver=${info%% *} bundled=${info#* }\n"
	"[ \"$ver\" != - ] || { echo 'SKIP: python3 is not a GIL-enabled CPython'; exit 0; }\n"
	"for w in \"$bundled\"/*.whl /usr/share/python-wheels/pip-*.whl "
	"/usr/share/python-wheels/setuptools-*.whl; do\n"
	"	[ -f \"$w\" ] || continue\n"
	"	[ -f \"$dir/wheels/$(basename \"$w\")\" ] || cp \"$w\" \"$dir/wheels/\"\n"
	"done\n"
	"ls \"$dir/wheels\"/pip-*.whl >/dev/null 2>&1 || "
	"{ echo 'SKIP: no pip wheel (apt-get install python3-pip-whl)'; exit 0; }\n"
	"st=no\n"
	"ls \"$dir/wheels\"/setuptools-*.whl >/dev/null 2>&1 && st=yes\n"
	"awk -v py=\"$ver\" -v st=$st '\n"
	"	/^python[ \\t]*=/ { print \"python = \" py; next }\n"
	"	/^    setuptools$/ && st == \"no\" { next }\n"
	"	{ print }' \"$top/matrices/demo.ini\" >\"$dir/demo.ini\"\n"
	"echo \"$ver\"\n";

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "%s/envmatrix-api.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(dir))
		return -1;
	snprintf(demo_ini, sizeof demo_ini, "%s/demo.ini", dir);
	char script[300];
	snprintf(script, sizeof script, "%s/prepare.sh", dir);
	FILE *f = fopen(script, "w");
	if (!f || fputs(prepare, f) < 0 || fclose(f))
		return -1;
	char cmd[1200];
	snprintf(cmd, sizeof cmd, "sh '%s' '%s' '%s'", script, dir, EM_SRCDIR);
	FILE *p = popen(cmd, "r");
	char line[256] = "";
	if (!p || !fgets(line, sizeof line, p) || pclose(p) != 0) {
		snprintf(no_demo, sizeof no_demo, "the demo could not be prepared in '%s'", dir);
		return 0;
	}
	line[strcspn(line, "\n")] = '\0';
	if (!strncmp(line, "SKIP: ", 6))
		snprintf(no_demo, sizeof no_demo, "%s", line + 6);
	else
		snprintf(python, sizeof python, "%s", line);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void on_event(void *ctx, const struct em_event *ev)
{
	(void)ctx;
	assert_non_null(ev->workload);
	if (ev->kind == EM_EVENT_BUILD)
		builds++;
}

/* The demo's options: its own cache, no GPU (an empty recorded host, as
 * the CLI tests use), nothing from the network. */
static struct em_options demo_options(char *cache, size_t cn, char *sysroot, size_t sn)
{
	snprintf(cache, cn, "%s/cache", dir);
	snprintf(sysroot, sn, "%s/no-gpu", dir);
	struct em_options o = { 0 };
	o.cache_dir = cache;
	o.gpu_sysroot = sysroot;
	o.offline = true;
	o.event = on_event;
	return o;
}

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static void test_version(void **state)
{
	(void)state;
	assert_string_equal(em_library_version(), EM_VERSION);
	char v[32];
	snprintf(v, sizeof v, "%d.%d.%d", EM_VERSION_MAJOR, EM_VERSION_MINOR, EM_VERSION_PATCH);
	assert_string_equal(v, EM_VERSION);
}

static void test_open_errors(void **state)
{
	(void)state;
	struct em_project *p = (struct em_project *)&p;
	struct em_error e;
	char path[300];
	snprintf(path, sizeof path, "%s/none.ini", dir);
	assert_int_equal(em_project_open(path, NULL, &p, &e), EM_ENOTFOUND);
	assert_null(p);
	assert_int_equal(e.code, EM_ENOTFOUND);
	assert_string_equal(e.where, path);
	assert_true(e.msg[0] != '\0');

	/* an invalid matrix: the file and line are named */
	snprintf(path, sizeof path, "%s/bad.ini", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("[vlm]\npyton = 3.12\n", f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(em_project_open(path, NULL, &p, &e), EM_EINVAL);
	assert_null(p);
	char where[320];
	snprintf(where, sizeof where, "%s:2", path);
	assert_string_equal(e.where, where);
	assert_non_null(strstr(e.msg, "pyton"));

	/* misuse */
	assert_int_equal(em_project_open(NULL, NULL, &p, &e), EM_EUSAGE);
	assert_true(e.msg[0] != '\0');
	struct em_options o = { .jobs = 1000 };
	assert_int_equal(em_project_open(path, &o, &p, &e), EM_EUSAGE);
	em_project_close(NULL);
}

/* Every call refuses a workload the matrix lacks, naming the ones it has,
 * before doing anything. */
static void bad_names(struct em_project *p)
{
	struct em_error e;
	const char *nope[1] = { "nope" };
	const char *twice[2] = { "vlm", "vlm" };
	const struct em_plan_result *pr = (const void *)&pr;
	const struct em_apply_result *ar = (const void *)&ar;
	const struct em_status_result *sr = (const void *)&sr;
	const struct em_verify_report *vr = (const void *)&vr;
	const struct em_history_result *hr = (const void *)&hr;

	assert_int_equal(em_project_plan(p, nope, 1, 0, &pr, &e), EM_ENOTFOUND);
	assert_null(pr);
	assert_non_null(strstr(e.msg, "no workload 'nope'"));
	assert_non_null(strstr(e.msg, "'vlm', 'legacy'"));
	assert_int_equal(em_project_apply(p, nope, 1, 0, &ar, &e), EM_ENOTFOUND);
	assert_null(ar);
	assert_int_equal(em_project_status(p, nope, 1, &sr, &e), EM_ENOTFOUND);
	assert_null(sr);
	assert_int_equal(em_project_verify(p, nope, 1, 0, &vr, &e), EM_ENOTFOUND);
	assert_null(vr);
	assert_int_equal(em_project_history(p, "nope", 0, &hr, &e), EM_ENOTFOUND);
	assert_null(hr);
	e.code = 0;
	assert_int_equal(em_project_rollback(p, "nope", 0, 0, &e), EM_ENOTFOUND);
	assert_int_equal(e.code, EM_ENOTFOUND);
	assert_non_null(strstr(e.msg, "no workload 'nope'"));

	assert_int_equal(em_project_plan(p, twice, 2, 0, &pr, &e), EM_EUSAGE);
	assert_non_null(strstr(e.msg, "'vlm' is named twice"));
	assert_int_equal(em_project_apply(p, NULL, 0, EM_APPLY_FROZEN | EM_APPLY_LOCKED, &ar, &e),
			 EM_EUSAGE);
}

static void plan(struct em_project *p)
{
	struct em_error e;
	const struct em_plan_result *r;
	/* a check writes nothing */
	assert_int_equal(em_project_plan(p, NULL, 0, EM_PLAN_CHECK, &r, &e), 0);
	assert_int_equal(r->n, 2);
	assert_int_equal(r->nfailed, 0);
	assert_int_equal(r->nchanged, 2);
	assert_int_equal(r->w[0].lock_state, EM_LOCK_NEW);
	assert_false(exists(r->w[0].lock_path));

	assert_int_equal(em_project_plan(p, NULL, 0, 0, &r, &e), 0);
	assert_int_equal(r->n, 2);
	const struct em_planned *vlm = &r->w[0], *legacy = &r->w[1];
	assert_string_equal(vlm->workload, "vlm");
	assert_int_equal(vlm->code, 0);
	assert_string_equal(vlm->python, python);
	assert_string_equal(vlm->torch, "2.8.0+cpu");
	assert_string_equal(vlm->variant, "cpu");
	assert_true(vlm->packages >= 4);
	assert_true(exists(vlm->lock_path));
	assert_string_equal(legacy->workload, "legacy");
	assert_string_equal(legacy->torch, "2.6.0+cpu");
	assert_true(exists(legacy->lock_path));

	assert_int_equal(em_project_plan(p, NULL, 0, 0, &r, &e), 0);
	assert_int_equal(r->nchanged, 0);
	assert_int_equal(r->w[0].lock_state, EM_LOCK_UNCHANGED);
	assert_int_equal(r->w[1].lock_state, EM_LOCK_UNCHANGED);
}

static void apply(struct em_project *p)
{
	struct em_error e;
	const struct em_apply_result *r;
	builds = 0;
	assert_int_equal(em_project_apply(p, NULL, 0, 0, &r, &e), 0);
	assert_int_equal(r->n, 2);
	assert_int_equal(r->nbuilt, 2);
	assert_int_equal(r->nfailed, 0);
	assert_int_equal(builds, 2);
	for (size_t i = 0; i < r->n; i++) {
		const struct em_applied *w = &r->w[i];
		assert_int_equal(w->outcome, EM_OUTCOME_BUILT);
		assert_string_equal(em_outcome_name(w->outcome), "built");
		assert_true(exists(w->venv));
		assert_null(w->snapshot);
		assert_string_equal(w->python, python);
		assert_int_equal(w->generation, 1);
		assert_non_null(w->verify);
		assert_int_equal(w->verify->failed, 0);
		assert_true(w->verify->passed > 0);
	}
	/* again: nothing to do, and a dry run changes nothing */
	assert_int_equal(em_project_apply(p, NULL, 0, 0, &r, &e), 0);
	assert_int_equal(r->nbuilt, 0);
	assert_int_equal(r->w[0].outcome, EM_OUTCOME_UNCHANGED);
	assert_int_equal(r->w[0].generation, 0);
	const char *vlm[1] = { "vlm" };
	assert_int_equal(em_project_apply(p, vlm, 1, EM_APPLY_DRY_RUN | EM_APPLY_FORCE, &r, &e), 0);
	assert_int_equal(r->n, 1);
	assert_int_equal(r->w[0].outcome, EM_OUTCOME_WOULD_BUILD);
}

static void status(struct em_project *p, enum em_env_state want)
{
	struct em_error e;
	const struct em_status_result *r;
	assert_int_equal(em_project_status(p, NULL, 0, &r, &e), 0);
	assert_int_equal(r->n, 2);
	for (size_t i = 0; i < r->n; i++) {
		assert_int_equal(r->w[i].state, want);
		assert_int_equal(r->w[i].error.code, 0);
	}
	assert_string_equal(r->w[0].workload, "vlm");
	if (want != EM_ENV_CURRENT) {
		assert_null(r->w[0].python);
		assert_null(r->w[0].verify);
		return;
	}
	assert_string_equal(em_env_state_name(r->w[0].state), "current");
	assert_string_equal(r->w[0].python, python);
	assert_string_equal(r->w[0].torch, "2.8.0+cpu");
	assert_string_equal(r->w[1].torch, "2.6.0+cpu");
	assert_non_null(r->w[0].verify);
	assert_int_equal(r->w[0].verify->failed, 0);
	/* vlm's demo-transcribe has only an sdist */
	assert_int_equal(r->w[0].nbuilt, 1);
	assert_string_equal(r->w[0].built[0], "demo-transcribe");
	assert_int_equal(r->w[1].nbuilt, 0);
}

static void history(struct em_project *p, size_t want_all, size_t want_vlm)
{
	struct em_error e;
	const struct em_history_result *r;
	assert_int_equal(em_project_history(p, NULL, 0, &r, &e), 0);
	assert_int_equal(r->n, want_all);
	assert_non_null(strstr(r->path, "history.git"));
	for (size_t i = 0; i < r->n; i++) {
		assert_true(r->g[i].generation >= 1);
		assert_int_equal(strlen(r->g[i].commit), 40);
		assert_non_null(r->g[i].summary);
	}
	assert_int_equal(em_project_history(p, "vlm", 0, &r, &e), 0);
	assert_int_equal(r->n, want_vlm);
	if (want_vlm) {
		assert_string_equal(r->g[0].workload, "vlm");
		assert_int_equal(r->g[0].generation, want_vlm); /* newest first */
		assert_string_equal(r->g[want_vlm - 1].kind, "apply");
	}
	assert_int_equal(em_project_history(p, NULL, 1, &r, &e), 0);
	assert_int_equal(r->n, want_all ? 1 : 0);
}

static void verify(struct em_project *p)
{
	struct em_error e;
	const struct em_verify_report *r;
	assert_int_equal(em_project_verify(p, NULL, 0, 0, &r, &e), 0);
	assert_int_equal(r->n, 2);
	assert_int_equal(r->nfailed, 0);
	for (size_t i = 0; i < r->n; i++) {
		assert_int_equal(r->w[i].code, 0);
		assert_non_null(r->w[i].result);
		assert_int_equal(r->w[i].result->failed, 0);
		assert_true(r->w[i].result->n >= r->w[i].result->passed);
		assert_string_equal(r->w[i].result->python, python);
	}
	assert_string_equal(r->w[1].workload, "legacy");
}

static void rollback(struct em_project *p)
{
	struct em_error e;
	/* nothing was replaced yet: no snapshot */
	assert_int_equal(em_project_rollback(p, "vlm", 0, 0, &e), EM_ENOTFOUND);
	assert_non_null(strstr(e.msg, "no snapshot"));

	/* a forced apply replaces vlm: the old environment is its snapshot */
	const struct em_apply_result *ar;
	const char *vlm[1] = { "vlm" };
	assert_int_equal(em_project_apply(p, vlm, 1, EM_APPLY_FORCE, &ar, &e), 0);
	assert_int_equal(ar->w[0].outcome, EM_OUTCOME_BUILT);
	assert_non_null(ar->w[0].snapshot);
	assert_int_equal(ar->w[0].generation, 2);
	assert_int_equal(em_project_rollback(p, "vlm", 0, EM_ROLLBACK_WAIT, &e), 0);
	const struct em_status_result *sr;
	assert_int_equal(em_project_status(p, vlm, 1, &sr, &e), 0);
	assert_int_equal(sr->n, 1);
	assert_non_null(sr->w[0].snapshot);
	assert_int_equal(sr->w[0].state, EM_ENV_CURRENT);

	/* generation 1 of legacy is what it has: nothing to rebuild */
	assert_int_equal(em_project_rollback(p, "legacy", 1, 0, &e), 0);
	assert_int_equal(em_project_rollback(p, "legacy", 7, 0, &e), EM_ENOTFOUND);
	assert_true(e.msg[0] != '\0');
}

static void test_demo(void **state)
{
	(void)state;
	if (no_demo[0]) {
		print_message("SKIP: %s\n", no_demo);
		skip();
	}
	char cache[300], sysroot[300];
	struct em_options o = demo_options(cache, sizeof cache, sysroot, sizeof sysroot);
	struct em_project *p;
	struct em_error e;
	int rc = em_project_open(demo_ini, &o, &p, &e);
	if (rc)
		fail_msg("%s: %s", e.where, e.msg);
	assert_string_equal(em_project_path(p), demo_ini);
	assert_int_equal(em_project_workload_count(p), 2);
	assert_string_equal(em_project_workload_name(p, 0), "vlm");
	assert_string_equal(em_project_workload_name(p, 1), "legacy");
	assert_null(em_project_workload_name(p, 2));

	bad_names(p);
	status(p, EM_ENV_MISSING);
	history(p, 0, 0);
	plan(p);
	apply(p);
	status(p, EM_ENV_CURRENT);
	history(p, 2, 1);
	verify(p);
	rollback(p);
	history(p, 3, 2);
	em_project_close(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_demo),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
