/* api.c - the public interface (include/envmatrix/envmatrix.h) over the
 * library's modules
 *
 * Each em_project_* call does what the matching envmatrix command does
 * around the library (src/cli/cmd_*.c) without printing: it checks the
 * workload names, takes the apply lock, detects the GPU, opens the cache
 * and the network, calls the module, records the history, and copies the
 * outcome into the public result structs (in the project's arena for that
 * kind of result, emptied by the next call of the same kind).
 *
 * The pieces the CLI holds that the library lacks are written here a
 * second time (marked "as the CLI's ..."): the CLI can later be routed
 * through this file and drop its copies.
 */
#include "envmatrix/envmatrix.h"
#include "swap.h"
#include "install_set.h"
#include "apply_lock.h"
#include "history.h"
#include "venv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "cache.h"
#include "gpu.h"
#include "host.h"
#include "http.h"
#include "lockname.h"
#include "os/fs.h"
#include "spec/lock.h"
#include "spec/matrix.h"
#include "util/arena.h"
#include "verify.h"

/* the public enums follow the modules' (checked here, so a change shows) */
_Static_assert((int)EM_OUTCOME_UNCHANGED == (int)EM_APPLY_UNCHANGED &&
		       (int)EM_OUTCOME_BUILT == (int)EM_APPLY_BUILT &&
		       (int)EM_OUTCOME_WOULD_BUILD == (int)EM_APPLY_WOULD_BUILD &&
		       (int)EM_OUTCOME_STALE == (int)EM_APPLY_STALE &&
		       (int)EM_OUTCOME_FAILED == (int)EM_APPLY_FAILED &&
		       (int)EM_OUTCOME_SKIPPED == (int)EM_APPLY_SKIPPED,
	       "enum em_outcome follows enum em_apply_outcome");
_Static_assert((int)EM_EVENT_RECOVERED == (int)EM_EV_RECOVERED &&
		       (int)EM_EVENT_BUILD == (int)EM_EV_BUILD &&
		       (int)EM_EVENT_PACKAGE == (int)EM_EV_PACKAGE &&
		       (int)EM_EVENT_SWAPPED == (int)EM_EV_SWAPPED &&
		       (int)EM_EVENT_FINISHED == (int)EM_EV_FINISHED &&
		       (int)EM_EVENT_VERIFY == (int)EM_EV_VERIFY &&
		       (int)EM_EVENT_KEPT == (int)EM_EV_KEPT &&
		       (int)EM_EVENT_HEALED == (int)EM_EV_HEALED &&
		       (int)EM_EVENT_BUILD_SDIST == (int)EM_EV_BUILD_SDIST,
	       "enum em_event_kind follows enum em_apply_event_kind");
_Static_assert((int)EM_VERDICT_OK == (int)EM_CHECK_OK &&
		       (int)EM_VERDICT_FAILED == (int)EM_CHECK_FAILED &&
		       (int)EM_VERDICT_SKIPPED == (int)EM_CHECK_SKIPPED,
	       "enum em_verdict follows enum em_check_status");

struct em_project {
	struct em_arena arena; /* the path, the matrix and the options */
	const char *path;
	char *text;            /* the matrix as read: what the history records */
	size_t len;
	struct em_matrix m;
	struct em_platform host;
	/* The settings. Until the library takes them from one settings struct
	 * (src/settings.h), the ones its modules still read from the
	 * environment (python_dir, python_mirror, build_timeout_s) are only
	 * kept here. */
	struct em_options o;
	/* one arena per kind of result */
	struct em_arena plan_a, apply_a, status_a, history_a, verify_a;
	struct em_plan_result plan;
	struct em_apply_result apply;
	struct em_status_result status;
	struct em_history_result history;
	struct em_verify_report verify;
};

const char *em_library_version(void)
{
	return EM_VERSION;
}

/* ---- names of the public enums ---- */

const char *em_outcome_name(enum em_outcome o)
{
	return em_apply_outcome_name((enum em_apply_outcome)o);
}

const char *em_env_state_name(enum em_env_state s)
{
	switch (s) {
	case EM_ENV_CURRENT: return "current";
	case EM_ENV_OUTDATED: return "outdated";
	case EM_ENV_FOREIGN: return "foreign";
	case EM_ENV_MISSING: return "missing";
	case EM_ENV_UNPLANNED: return "unplanned";
	case EM_ENV_INTERRUPTED: return "interrupted";
	}
	return "?";
}

/* ---- copying into a result arena ---- */

/* A copy of s (NULL stays NULL); *oom is set when it could not be made. */
static const char *keep(struct em_arena *a, const char *s, bool *oom)
{
	if (!s)
		return NULL;
	char *c = em_arena_strdup(a, s);
	if (!c)
		*oom = true;
	return c;
}

static const char *const *keep_list(struct em_arena *a, const char *const *v, size_t n,
				    bool *oom)
{
	if (!n)
		return NULL;
	const char **c = em_arena_array(a, n, sizeof *c);
	if (!c) {
		*oom = true;
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		c[i] = keep(a, v[i], oom);
	return c;
}

static const struct em_verified *keep_verified(struct em_arena *a,
					       const struct em_verify_result *r, bool *oom)
{
	if (!r)
		return NULL;
	struct em_verified *v = em_arena_zalloc(a, sizeof *v);
	struct em_check_result *c = r->n ? em_arena_array(a, r->n, sizeof *c) : NULL;
	if (!v || (r->n && !c)) {
		*oom = true;
		return NULL;
	}
	v->when = keep(a, r->when, oom);
	v->python = keep(a, r->python, oom);
	v->seconds = r->seconds;
	v->passed = r->passed;
	v->failed = r->failed;
	v->skipped = r->skipped;
	for (uint32_t i = 0; i < r->n; i++) {
		const struct em_check *k = &r->checks[i];
		c[i] = (struct em_check_result){ keep(a, k->name, oom),
						 (enum em_verdict)k->status,
						 keep(a, k->expected, oom),
						 keep(a, k->got, oom),
						 keep(a, k->detail, oom),
						 k->seconds };
	}
	v->n = r->n;
	v->checks = c;
	return v;
}

/* The first failed workload's error, for the call's own record. */
static int workload_failed(struct em_error *e, const char *workload, const struct em_error *w)
{
	int code = w->code ? w->code : EM_EINVAL;
	return em_err(e, code, w->where[0] ? w->where : NULL, "workload '%s': %s", workload, w->msg);
}

/* ---- the project ---- */

/* As the CLI's cli_load_matrix: read, parse, check the folders; and the
 * host's platform, which every call plans or records with. */
static int load(struct em_project *p, const char *path, struct em_error *e)
{
	int rc;
	if ((rc = em_read_file(&p->arena, path, EM_MATRIX_MAX_LEN, &p->text, &p->len, e)) ||
	    (rc = em_matrix_parse(&p->arena, p->text, p->len, p->path, &p->m, e)) ||
	    (rc = em_matrix_check_folders(&p->arena, p->path, &p->m, p->o.history, e)))
		return rc;
	return em_host_platform(&p->host, e);
}

int em_project_open(const char *path, const struct em_options *o, struct em_project **out,
		    struct em_error *e)
{
	if (out)
		*out = NULL;
	if (!path || !out)
		return em_err(e, EM_EUSAGE, NULL, "em_project_open needs a path and a result");
	if (o && o->jobs > 256)
		return em_err(e, EM_EUSAGE, NULL, "jobs: %u is not a number from 1 to 256", o->jobs);
	struct em_project *p = calloc(1, sizeof *p);
	if (!p)
		return em_err_nomem(e);
	em_arena_init(&p->arena);
	em_arena_init(&p->plan_a);
	em_arena_init(&p->apply_a);
	em_arena_init(&p->status_a);
	em_arena_init(&p->history_a);
	em_arena_init(&p->verify_a);
	bool oom = false;
	if (o)
		p->o = *o;
	p->o.cache_dir = keep(&p->arena, p->o.cache_dir, &oom);
	p->o.python_dir = keep(&p->arena, p->o.python_dir, &oom);
	p->o.python_mirror = keep(&p->arena, p->o.python_mirror, &oom);
	p->o.cuda_driver = keep(&p->arena, p->o.cuda_driver, &oom);
	p->o.history = keep(&p->arena, p->o.history, &oom);
	p->o.gpu_sysroot = keep(&p->arena, p->o.gpu_sysroot, &oom);
	p->o.nvidia_smi = keep(&p->arena, p->o.nvidia_smi, &oom);
	p->path = keep(&p->arena, path, &oom);
	int rc = oom ? em_err_nomem(e) : load(p, path, e);
	if (rc) {
		em_project_close(p);
		return rc;
	}
	*out = p;
	return 0;
}

void em_project_close(struct em_project *p)
{
	if (!p)
		return;
	em_arena_release(&p->plan_a);
	em_arena_release(&p->apply_a);
	em_arena_release(&p->status_a);
	em_arena_release(&p->history_a);
	em_arena_release(&p->verify_a);
	em_arena_release(&p->arena);
	free(p);
}

const char *em_project_path(const struct em_project *p)
{
	return p ? p->path : NULL;
}

size_t em_project_workload_count(const struct em_project *p)
{
	return p ? p->m.nworkloads : 0;
}

const char *em_project_workload_name(const struct em_project *p, size_t i)
{
	return p && i < p->m.nworkloads ? p->m.workloads[i].name : NULL;
}

/* An arena emptied for a new result. */
static struct em_arena *fresh(struct em_arena *a)
{
	em_arena_release(a);
	em_arena_init(a);
	return a;
}

/* As the CLI's cli_find_workload and cli_unique_workloads: every name is a
 * workload of the matrix, and none is named twice. */
static int check_names(const struct em_project *p, const char *const *names, size_t n,
		       struct em_error *e)
{
	if (n && !names)
		return em_err(e, EM_EUSAGE, NULL, "%zu workloads to select, but no names", n);
	for (size_t i = 0; i < n; i++) {
		if (!names[i])
			return em_err(e, EM_EUSAGE, NULL, "workload name %zu is NULL", i);
		for (size_t k = 0; k < i; k++)
			if (!strcmp(names[i], names[k]))
				return em_err(e, EM_EUSAGE, NULL, "workload '%s' is named twice",
					      names[i]);
		if (em_matrix_find(&p->m, names[i]))
			continue;
		char list[512] = "";
		size_t o = 0;
		for (uint32_t w = 0; w < p->m.nworkloads && o < sizeof list - 80; w++)
			o += (size_t)snprintf(list + o, sizeof list - o, "%s'%s'", w ? ", " : "",
					      p->m.workloads[w].name);
		return em_err(e, EM_ENOTFOUND, NULL, "no workload '%s' in '%s' (it has %s)", names[i],
			      p->m.file, p->m.nworkloads ? list : "none");
	}
	return 0;
}

/* What every call checks first: a project, somewhere for the result,
 * and the workloads' names. */
static int start(const struct em_project *p, bool have_out, const char *fn,
		 const char *const *names, size_t n, struct em_error *e)
{
	if (!p || !have_out)
		return em_err(e, EM_EUSAGE, NULL, "%s needs a project and a result", fn);
	return check_names(p, names, n, e);
}

static bool selected(const struct em_project *p, const char *const *names, size_t n,
		     const struct em_workload *w)
{
	for (size_t k = 0; k < n; k++)
		if (em_matrix_find(&p->m, names[k]) == w)
			return true;
	return n == 0;
}

/* ---- the GPU (as the CLI's gpu.c) ---- */

static bool gpu_needed(const struct em_matrix *m)
{
	for (uint32_t i = 0; i < m->nworkloads; i++)
		if (m->workloads[i].torch.value)
			return true;
	return false;
}

/* with_override: the cuda_driver setting counts (planning); else only
 * what the machine says does (what a generation records of its host). */
static int gpu_detect(const struct em_project *p, struct em_arena *a, bool with_override,
		      struct em_gpu_info *out, struct em_error *e)
{
	const char *smi = p->o.nvidia_smi;
	struct em_gpu_probe probe = {
		.sysroot = p->o.gpu_sysroot,
		.override = with_override ? p->o.cuda_driver : NULL,
		.no_smi = smi && !*smi,
		.smi_path = smi && *smi ? smi : NULL,
	};
	return em_gpu_detect(a, &probe, out, e);
}

/* ---- the cache and the network (as the CLI's cli_net_open) ---- */

struct net {
	struct em_cache cache;
	bool cache_open;
	struct em_http *http;
};

static int net_open(const struct em_project *p, struct em_arena *a, struct em_source *src,
		    struct net *n, struct em_error *e)
{
	const struct em_matrix *m = &p->m;
	memset(n, 0, sizeof *n);
	n->cache.lock_fd = -1;
	char *mdir = em_path_dir(a, p->path);
	if (!mdir)
		return em_err_nomem(e);
	const char *cache_dir = m->cache_dir.value ? em_path_join(a, mdir, m->cache_dir.value)
						   : p->o.cache_dir;
	int rc = em_cache_open(&n->cache, a, cache_dir, e);
	if (rc) {
		if (m->cache_dir.value)
			em_err_prefix_where(e, "cache-dir, %s:%u", m->file, (unsigned)m->cache_dir.line);
		return rc;
	}
	n->cache_open = true;
	struct em_http_config c = { 0 };
	c.jobs = p->o.jobs ? p->o.jobs : m->njobs;
	c.offline = p->o.offline;
	c.cancel = p->o.cancel;
	if (m->ca_file.value)
		c.ca_file = em_path_join(a, mdir, m->ca_file.value);
	if ((rc = em_http_open(&n->http, &c, e))) {
		if (m->ca_file.value)
			em_err_prefix_where(e, "ca-file, %s:%u", m->file, (unsigned)m->ca_file.line);
		return rc;
	}
	src->http = n->http;
	src->disk = &n->cache;
	src->offline = p->o.offline;
	src->refresh = p->o.refresh;
	return 0;
}

static void net_close(struct net *n)
{
	em_http_close(n->http);
	n->http = NULL;
	if (n->cache_open)
		em_cache_close(&n->cache);
	n->cache_open = false;
}

/* ---- the history (as the CLI's history.c) ---- */

/* The history's folder; EM_ENOTFOUND when it is off. */
static int history_path(const struct em_project *p, struct em_arena *a, const char **path,
			struct em_error *e)
{
	int rc = em_history_path(a, p->path, &p->m, p->o.history, path, e);
	if (!rc && !*path)
		rc = em_err(e, EM_ENOTFOUND, NULL, "the history is off for '%s'", p->path);
	return rc;
}

/* The host facts a generation keeps (host.json): the platform, and the
 * NVIDIA driver and GPUs (gpu: as detected for the call; NULL: detect). */
static const char *host_json(const struct em_project *p, struct em_arena *a,
			     const struct em_gpu_info *gpu)
{
	char name[64] = "unknown";
	em_platform_name(&p->host, name, sizeof name);
	struct em_gpu_info own;
	if (!gpu && gpu_detect(p, a, false, &own, NULL) == 0)
		gpu = &own;
	return em_gpu_host_json(a, name, gpu);
}

/* Record the n workloads as one commit; numbers gets their generations. */
static int record(const struct em_project *p, struct em_arena *a, uint32_t n,
		  const struct em_record_workload *w, const struct em_gpu_info *gpu,
		  uint32_t *numbers, struct em_error *e)
{
	if (!n)
		return 0;
	const char *path;
	int rc = em_history_path(a, p->path, &p->m, p->o.history, &path, e);
	if (rc || !path)
		return rc; /* an error, or the history is off */
	struct em_history h;
	struct em_record r = { p->text, p->len, host_json(p, a, gpu), NULL, n, w };
	if ((rc = em_history_open(&h, a, path, true, e)))
		return rc;
	rc = em_history_record(a, &h, &r, numbers, e);
	em_history_close(&h);
	return rc;
}

/* As the CLI's record_built: one generation per built workload (and per
 * unchanged one the history missed), gen[i] for workload i. */
static int record_built(const struct em_project *p, struct em_arena *a, const struct em_apply *r,
			bool frozen, const struct em_gpu_info *gpu, uint32_t *gen, struct em_error *e)
{
	uint32_t cap = r->n ? r->n : 1;
	struct em_record_workload *w = em_arena_array(a, cap, sizeof *w);
	uint32_t *which = em_arena_array(a, cap, sizeof *which);
	uint32_t *num = em_arena_array(a, cap, sizeof *num);
	if (!w || !which || !num)
		return em_err_nomem(e);
	struct em_history h;
	const char *path;
	bool open = em_history_may_miss(r) &&
		    em_history_path(a, p->path, &p->m, p->o.history, &path, NULL) == 0 && path &&
		    em_history_open(&h, a, path, false, NULL) == 0;
	uint32_t n = em_history_applied(a, open ? &h : NULL, r, frozen, w, which);
	if (open)
		em_history_close(&h);
	int rc = record(p, a, n, w, gpu, num, e);
	for (uint32_t k = 0; !rc && k < n; k++)
		gen[which[k]] = num[k];
	return rc;
}

/* ---- plan ---- */

static enum em_lock_state lock_state(const struct em_workload_plan *wp)
{
	return !wp->had_lock ? EM_LOCK_NEW : wp->lock_changed ? EM_LOCK_CHANGED : EM_LOCK_UNCHANGED;
}

static int plan_result(struct em_project *p, const struct em_plan *plan, struct em_error *e)
{
	struct em_arena *a = fresh(&p->plan_a);
	struct em_planned *w = em_arena_array(a, plan->n ? plan->n : 1, sizeof *w);
	if (!w)
		return em_err_nomem(e);
	bool oom = false;
	memset(&p->plan, 0, sizeof p->plan);
	for (uint32_t i = 0; i < plan->n; i++) {
		const struct em_workload_plan *wp = &plan->w[i];
		struct em_planned *o = &w[i];
		memset(o, 0, sizeof *o);
		o->workload = wp->w->name;
		o->code = wp->status;
		o->error = wp->err;
		o->explanation = keep(a, wp->explain, &oom);
		o->platform = wp->platform_name[0] ? keep(a, wp->platform_name, &oom) : NULL;
		o->python = wp->python_name[0] ? keep(a, wp->python_name, &oom) : NULL;
		o->torch = keep(a, wp->torch_version, &oom);
		o->variant = keep(a, wp->variant, &oom);
		o->lock_path = keep(a, wp->lock_path, &oom);
		o->lock_state = lock_state(wp);
		o->packages = wp->npackages;
		o->download_bytes = wp->download;
		o->nwarnings = wp->nwarnings;
		o->warnings = keep_list(a, wp->warnings, wp->nwarnings, &oom);
		p->plan.nfailed += wp->status != 0;
		p->plan.nchanged += !wp->status && wp->lock_changed;
	}
	p->plan.n = plan->n;
	p->plan.w = w;
	return oom ? em_err_nomem(e) : 0;
}

int em_project_plan(struct em_project *p, const char *const *workloads, size_t n,
		    unsigned flags, const struct em_plan_result **out, struct em_error *e)
{
	if (out)
		*out = NULL;
	int rc = start(p, out != NULL, __func__, workloads, n, e);
	if (rc)
		return rc;
	struct em_arena a;
	em_arena_init(&a);
	struct em_source src;
	em_source_init(&src);
	struct net net = { .cache.lock_fd = -1 };
	struct em_gpu_info gpu;
	bool want_gpu = gpu_needed(&p->m);
	if ((want_gpu && (rc = gpu_detect(p, &a, true, &gpu, e))) ||
	    (rc = net_open(p, &a, &src, &net, e)))
		goto out;
	struct em_plan_options o = {
		.matrix_path = p->path,
		.nonly = (uint32_t)n,
		.only = workloads,
		.upgrade = (flags & EM_PLAN_UPGRADE) != 0,
		.driver_env = p->o.cuda_driver,
		.host = &p->host,
		.gpu = want_gpu ? &gpu : NULL,
	};
	/* sdists whose metadata is dynamic: prepared by the build module */
	struct em_sdist_hook hook = { &src, &p->m, p->path, &p->host, NULL, p->o.cancel };
	o.sdist_metadata = em_apply_sdist_metadata;
	o.sdist_ctx = &hook;
	struct em_plan plan;
	if ((rc = em_plan_build(&a, &src, &p->m, &o, &plan, e)))
		goto out;
	if (p->o.cancel && *p->o.cancel) {
		rc = em_err(e, EM_ECANCELED, NULL, "interrupted; no lock was written");
		goto out;
	}
	if (!(flags & EM_PLAN_CHECK) && (rc = em_plan_write_locks(&plan, e)))
		goto out;
	if ((rc = plan_result(p, &plan, e)))
		goto out;
	*out = &p->plan;
	for (uint32_t i = 0; i < plan.n && !rc; i++)
		if (plan.w[i].status)
			rc = workload_failed(e, plan.w[i].w->name, &plan.w[i].err);
out:
	net_close(&net);
	em_source_release(&src);
	em_arena_release(&a);
	return rc;
}

/* ---- apply ---- */

static void on_event(void *ctx, const struct em_apply_event *ev)
{
	const struct em_project *p = ctx;
	struct em_event pe = { (enum em_event_kind)ev->kind, ev->workload, ev->detail, ev->done,
			       ev->total };
	p->o.event(p->o.event_ctx, &pe);
}

static int apply_result(struct em_project *p, const struct em_apply *r, const uint32_t *gen,
			struct em_error *e)
{
	struct em_arena *a = fresh(&p->apply_a);
	struct em_applied *w = em_arena_array(a, r->n ? r->n : 1, sizeof *w);
	if (!w)
		return em_err_nomem(e);
	bool oom = false;
	for (uint32_t i = 0; i < r->n; i++) {
		const struct em_workload_apply *wa = &r->w[i];
		const struct em_workload_plan *wp = wa->plan;
		struct em_applied *o = &w[i];
		memset(o, 0, sizeof *o);
		o->workload = wa->w->name;
		o->outcome = (enum em_outcome)wa->outcome;
		o->reason = keep(a, wa->reason, &oom);
		o->error = wa->err;
		o->venv = keep(a, wa->paths.root, &oom);
		o->snapshot = wa->replaced ? keep(a, wa->paths.snapshot, &oom) : NULL;
		o->python = wp && wp->python_name[0] ? keep(a, wp->python_name, &oom) : NULL;
		o->torch = wp ? keep(a, wp->torch_version, &oom) : NULL;
		o->variant = wp ? keep(a, wp->variant, &oom) : NULL;
		o->packages = wa->npackages;
		o->seconds = wa->seconds;
		o->generation = gen[i];
		o->verify = keep_verified(a, wa->verify, &oom);
	}
	p->apply = (struct em_apply_result){ r->n, w, r->nfailed, r->nstale, r->nbuilt };
	return oom ? em_err_nomem(e) : 0;
}

int em_project_apply(struct em_project *p, const char *const *workloads, size_t n,
		     unsigned flags, const struct em_apply_result **out, struct em_error *e)
{
	if (out)
		*out = NULL;
	int rc = start(p, out != NULL, __func__, workloads, n, e);
	if (rc)
		return rc;
	bool frozen = flags & EM_APPLY_FROZEN, dry_run = flags & EM_APPLY_DRY_RUN;
	bool no_verify = flags & EM_APPLY_NO_VERIFY;
	if (frozen && (flags & (EM_APPLY_LOCKED | EM_APPLY_UPGRADE)))
		return em_err(e, EM_EUSAGE, NULL, "a frozen apply installs the locks as they are: "
			      "it cannot also check or upgrade them");
	struct em_arena a;
	em_arena_init(&a);
	struct em_source src;
	em_source_init(&src);
	struct net net = { .cache.lock_fd = -1 };
	struct em_state_lock lock = { -1 };
	/* the planner checks variants against the GPU; verification compares
	 * what torch sees with it */
	struct em_gpu_info gpu;
	bool want_gpu = !frozen && gpu_needed(&p->m);
	bool have_gpu = want_gpu || (!no_verify && !dry_run);
	if ((!dry_run && (rc = em_state_lock_take(&a, p->path, "apply", flags & EM_APPLY_WAIT,
						   &lock, e))) ||
	    (have_gpu && (rc = gpu_detect(p, &a, true, &gpu, e))) ||
	    (rc = net_open(p, &a, &src, &net, e)))
		goto out;
	struct em_apply_options o = {
		.plan = {
			.matrix_path = p->path,
			.nonly = (uint32_t)n,
			.only = workloads,
			.upgrade = (flags & EM_APPLY_UPGRADE) != 0,
			.driver_env = p->o.cuda_driver,
			.host = &p->host,
			.gpu = want_gpu ? &gpu : NULL,
		},
		.frozen = frozen,
		.locked = (flags & EM_APPLY_LOCKED) != 0,
		.dry_run = dry_run,
		.force = (flags & EM_APPLY_FORCE) != 0,
		.fail_fast = (flags & EM_APPLY_FAIL_FAST) != 0,
		.cancel = p->o.cancel,
		.no_verify = no_verify,
		.gpu = em_gpu_host(have_gpu ? &gpu : NULL),
		.verify_timeout_ms = p->o.verify_timeout_ms,
		.event = p->o.event ? on_event : NULL,
		.ctx = p,
	};
	struct em_apply r;
	rc = em_apply_run(&a, &src, &p->m, &o, &r, e);
	if (rc && rc != EM_ECANCELED)
		goto out;
	int canceled = rc;
	uint32_t *gen = em_arena_zalloc(&a, (r.n ? r.n : 1) * sizeof *gen);
	struct em_error he;
	em_error_clear(&he);
	/* the environments are in place either way: the history failing is
	 * reported after the workloads' own failures */
	int hrc = !gen || dry_run ? 0
		  : record_built(p, &a, &r, frozen, have_gpu ? &gpu : NULL, gen, &he);
	if (!gen) {
		rc = em_err_nomem(e);
		goto out;
	}
	if ((rc = apply_result(p, &r, gen, e)))
		goto out;
	*out = &p->apply;
	if (canceled)
		goto out; /* e says so (em_apply_run) */
	for (uint32_t i = 0; i < r.n && !rc; i++)
		if (r.w[i].outcome == EM_APPLY_FAILED || r.w[i].outcome == EM_APPLY_STALE)
			rc = workload_failed(e, r.w[i].w->name, &r.w[i].err);
	if (!rc && hrc) {
		rc = hrc;
		if (e)
			*e = he;
	}
out:
	net_close(&net);
	em_state_lock_release(&lock);
	em_source_release(&src);
	em_arena_release(&a);
	return rc;
}

/* ---- rollback ---- */

/* As the CLI's rollback_to: generation N's lock, built like a frozen apply,
 * becomes the workload's lock and a new generation. */
static int rollback_to(struct em_project *p, struct em_arena *a, const struct em_workload *w,
		       uint32_t to, struct em_error *e)
{
	const char *path;
	struct em_history h;
	int rc = history_path(p, a, &path, e);
	if (rc)
		return rc;
	if ((rc = em_history_open(&h, a, path, false, e))) {
		if (rc == EM_ENOTFOUND)
			em_err(e, rc, NULL, "workload '%s' has no generations yet: the history '%s' "
			       "does not exist", w->name, path);
		return rc;
	}
	char *text;
	size_t len;
	rc = em_history_lock(a, &h, w->name, to, NULL, &text, &len, e);
	em_history_close(&h);
	struct em_gpu_info gpu;
	if (rc || (rc = gpu_detect(p, a, true, &gpu, e)))
		return rc;
	struct em_source src;
	em_source_init(&src);
	struct net net = { .cache.lock_fd = -1 };
	rc = net_open(p, a, &src, &net, e);
	const char *only[1] = { w->name };
	struct em_apply_options o = {
		.plan = { .matrix_path = p->path, .nonly = 1, .only = only, .host = &p->host },
		.frozen = true,
		.lock_for = w->name,
		.lock_text = text,
		.lock_len = len,
		.gpu = em_gpu_host(&gpu),
		.cancel = p->o.cancel,
		.verify_timeout_ms = p->o.verify_timeout_ms,
		.event = p->o.event ? on_event : NULL,
		.ctx = p,
	};
	struct em_apply r;
	if (!rc)
		rc = em_apply_run(a, &src, &p->m, &o, &r, e);
	net_close(&net);
	em_source_release(&src);
	if (rc)
		return rc;
	const struct em_workload_apply *wa = &r.w[0];
	if (wa->outcome == EM_APPLY_FAILED)
		return em_err(e, wa->err.code ? wa->err.code : EM_EINVAL, wa->err.where[0]
			      ? wa->err.where : NULL, "workload '%s': generation %u: %s", w->name,
			      to, wa->err.msg);
	/* the generation's lock is the workload's lock from now on */
	if ((rc = em_write_file_atomic(wa->plan->lock_path, text, len, 0644, e)))
		return rc;
	if (wa->outcome == EM_APPLY_UNCHANGED)
		return 0;
	struct em_record_workload rw = { w->name, text, len, em_verify_record(a, wa->verify),
					 EM_GEN_ROLLBACK, to };
	uint32_t number;
	return record(p, a, 1, &rw, &gpu, &number, e);
}

int em_project_rollback(struct em_project *p, const char *workload, uint32_t generation,
			unsigned flags, struct em_error *e)
{
	if (!p || !workload)
		return em_err(e, EM_EUSAGE, NULL, "em_project_rollback needs a project and a "
			      "workload");
	const char *const names[1] = { workload };
	int rc = check_names(p, names, 1, e);
	if (rc)
		return rc;
	const struct em_workload *w = em_matrix_find(&p->m, workload);
	struct em_arena a;
	em_arena_init(&a);
	struct em_state_lock lock = { -1 };
	struct em_venv_paths vp;
	const char *what = NULL;
	if ((rc = em_state_lock_take(&a, p->path, "rollback", flags & EM_ROLLBACK_WAIT, &lock, e)))
		goto out;
	if (generation) {
		rc = rollback_to(p, &a, w, generation, e);
		goto out;
	}
	if ((rc = em_venv_paths(&a, p->path, w, &vp, e)) ||
	    (rc = em_venv_recover(&a, &vp, &what, e)))
		goto out;
	if (what && p->o.event) {
		struct em_event ev = { EM_EVENT_RECOVERED, w->name, what, 0, 0 };
		p->o.event(p->o.event_ctx, &ev);
	}
	if ((rc = em_venv_rollback(&vp, e)) == EM_ENOTFOUND)
		em_err(e, rc, NULL, "workload '%s' has no snapshot to roll back to: '%s' does not "
		       "exist", w->name, vp.snapshot);
out:
	em_state_lock_release(&lock);
	em_arena_release(&a);
	return rc;
}

/* ---- status ---- */

/* Whether an apply of the environment at vp was interrupted: its swap
 * journal is there. (Read, as the platform layer has no stat yet; any
 * answer but "no such file" counts as there.) */
static bool interrupted(struct em_arena *a, const struct em_venv_paths *vp)
{
	char *text;
	size_t len;
	return em_read_file(a, vp->journal, 4096, &text, &len, NULL) != EM_ENOTFOUND;
}

/* As the CLI's state_of. A lock of another matrix is refused (e). */
static enum em_env_state state_of(const struct em_project *p, struct em_arena *a,
				  const struct em_workload *w, const struct em_venv_paths *vp,
				  const struct em_venv_state *st, struct em_error *e)
{
	if (interrupted(a, vp))
		return EM_ENV_INTERRUPTED;
	char *lpath;
	if (em_matrix_lock_path(a, p->path, w->name, &lpath, NULL))
		return EM_ENV_UNPLANNED;
	char *text = NULL;
	size_t len = 0;
	bool have_lock = em_read_file(a, lpath, EM_TOML_MAX_LEN, &text, &len, NULL) == 0;
	struct em_lock l;
	if (have_lock && em_lock_parse(a, text, len, lpath, &l, NULL) == 0 &&
	    em_lock_check_matrix(&l, lpath, p->path, e))
		have_lock = false; /* never compared with another matrix's lock */
	if (!st->exists)
		return EM_ENV_MISSING;
	if (!st->lock_text)
		return EM_ENV_FOREIGN;
	if (!have_lock)
		return EM_ENV_UNPLANNED;
	if (st->lock_len == len && !memcmp(st->lock_text, text, len))
		return EM_ENV_CURRENT;
	return EM_ENV_OUTDATED;
}

int em_project_status(struct em_project *p, const char *const *workloads, size_t n,
		      const struct em_status_result **out, struct em_error *e)
{
	if (out)
		*out = NULL;
	int rc = start(p, out != NULL, __func__, workloads, n, e);
	if (rc)
		return rc;
	struct em_arena *a = fresh(&p->status_a);
	const struct em_matrix *m = &p->m;
	struct em_status_entry *rows = em_arena_array(a, m->nworkloads ? m->nworkloads : 1,
						      sizeof *rows);
	if (!rows)
		return em_err_nomem(e);
	size_t nrows = 0;
	int refused = 0;
	for (uint32_t i = 0; i < m->nworkloads; i++) {
		const struct em_workload *w = &m->workloads[i];
		if (!selected(p, workloads, n, w))
			continue;
		struct em_status_entry *r = &rows[nrows++];
		memset(r, 0, sizeof *r);
		r->workload = w->name;
		struct em_venv_paths vp;
		struct em_venv_state st;
		if ((rc = em_venv_paths(a, p->path, w, &vp, e)))
			return rc;
		/* it never fails: what cannot be read is left NULL */
		(void)em_venv_state_read(a, &vp, &st, NULL);
		r->state = state_of(p, a, w, &vp, &st, &r->error);
		if (r->error.code && !refused)
			refused = workload_failed(e, w->name, &r->error);
		r->venv = vp.root;
		r->python = st.python;
		r->torch = st.torch;
		r->variant = st.variant;
		r->snapshot = st.has_snapshot ? vp.snapshot : NULL;
		r->snapshot_python = st.snapshot_python;
		r->snapshot_torch = st.snapshot_torch;
		r->nkept = st.nkept;
		r->kept = st.kept;
		struct em_verify_result ver;
		if (st.exists && em_verify_load(a, vp.root, &ver, NULL) == 0) {
			bool oom = false;
			r->verify = keep_verified(a, &ver, &oom);
			if (oom)
				return em_err_nomem(e);
		}
		/* the packages apply built from sdists, from the environment's lock */
		const char **built = NULL;
		uint32_t nbuilt = 0;
		char *lp = em_arena_printf(a, "%s/" EM_VENV_LOCK_NAME, vp.root);
		if (!lp || em_lock_built_from_source(a, st.lock_text, st.lock_len, lp, &built,
						     &nbuilt))
			return em_err_nomem(e);
		r->nbuilt = nbuilt;
		r->built = built;
	}
	p->status = (struct em_status_result){ nrows, rows };
	*out = &p->status;
	return refused;
}

/* ---- history ---- */

int em_project_history(struct em_project *p, const char *workload, size_t limit,
		       const struct em_history_result **out, struct em_error *e)
{
	if (out)
		*out = NULL;
	if (!p || !out)
		return em_err(e, EM_EUSAGE, NULL, "em_project_history needs a project and a result");
	struct em_arena *a = fresh(&p->history_a);
	const char *path;
	int rc = history_path(p, a, &path, e);
	if (rc)
		return rc;
	struct em_history h;
	struct em_generation *g = NULL;
	uint32_t ng = 0;
	if ((rc = em_history_open(&h, a, path, false, e)) == 0) {
		rc = em_history_list(a, &h, workload, &g, &ng, e);
		em_history_close(&h);
	} else if (rc == EM_ENOTFOUND) {
		rc = 0; /* no history yet: no generations */
		em_error_clear(e);
	}
	if (rc)
		return rc;
	/* a workload no longer in the matrix still has its generations */
	const char *const names[1] = { workload };
	if (workload && !ng && (rc = check_names(p, names, 1, e)))
		return rc;
	if (limit && ng > limit)
		ng = (uint32_t)limit;
	struct em_history_entry *o = em_arena_array(a, ng ? ng : 1, sizeof *o);
	if (!o)
		return em_err_nomem(e);
	for (uint32_t i = 0; i < ng; i++)
		o[i] = (struct em_history_entry){ g[i].workload, g[i].number, g[i].time,
						  g[i].commit, em_gen_kind_name(g[i].kind),
						  g[i].rollback_to, g[i].rev, g[i].author,
						  g[i].summary };
	p->history = (struct em_history_result){ path, ng, o };
	*out = &p->history;
	return 0;
}

/* ---- verify ---- */

/* As the CLI's verify_root for a workload: its lock (inside the
 * environment) says what to expect; the results are kept in it. */
static int verify_one(struct em_project *p, struct em_arena *a, const struct em_workload *w,
		      const struct em_venv_paths *vp, const struct em_host_gpu *gpu,
		      struct em_verify_result *res, struct em_error *e)
{
	struct em_lock lock, *lp = NULL;
	char *lpath = em_arena_printf(a, "%s/" EM_VENV_LOCK_NAME, vp->root);
	char *text;
	size_t len;
	if (lpath && em_read_file(a, lpath, EM_TOML_MAX_LEN, &text, &len, NULL) == 0 &&
	    em_lock_parse(a, text, len, lpath, &lock, NULL) == 0)
		lp = &lock;
	char *dir = em_path_join(a, em_path_dir(a, p->path), w->path.value ? w->path.value : ".");
	struct em_verify_inputs in = { vp->root, lp, w, NULL, *gpu };
	struct em_verify_expect x;
	const char *py;
	int rc;
	if ((rc = em_verify_interpreter(a, vp->root, &py, e)) ||
	    (rc = em_verify_expect_build(a, &in, &x, e)))
		return rc;
	x.command_dir = dir ? em_path_absolute(a, dir) : NULL;
	struct em_verify_options o = { p->o.verify_timeout_ms, vp->root, p->o.cancel };
	return em_verify_run(a, &x, &o, res, e);
}

int em_project_verify(struct em_project *p, const char *const *workloads, size_t n,
		      unsigned flags, const struct em_verify_report **out, struct em_error *e)
{
	if (out)
		*out = NULL;
	int rc = start(p, out != NULL, __func__, workloads, n, e);
	if (rc)
		return rc;
	struct em_arena *a = fresh(&p->verify_a);
	struct em_state_lock lock = { -1 };
	const struct em_matrix *m = &p->m;
	struct em_verify_entry *rows = em_arena_array(a, m->nworkloads ? m->nworkloads : 1,
						      sizeof *rows);
	struct em_gpu_info gpu;
	if (!rows)
		return em_err_nomem(e);
	/* shared: no apply swaps while this reads, readers do not exclude
	 * each other */
	if ((rc = em_state_lock_take_shared(a, p->path, flags & EM_VERIFY_WAIT, &lock, e)) ||
	    (rc = gpu_detect(p, a, true, &gpu, e)))
		goto out;
	struct em_host_gpu hg = em_gpu_host(&gpu);
	size_t nrows = 0, nfailed = 0;
	int first = 0;
	for (uint32_t i = 0; i < m->nworkloads && !rc; i++) {
		const struct em_workload *w = &m->workloads[i];
		if (!selected(p, workloads, n, w))
			continue;
		struct em_verify_entry *r = &rows[nrows++];
		memset(r, 0, sizeof *r);
		r->workload = w->name;
		struct em_venv_paths vp;
		struct em_venv_state st;
		if ((rc = em_venv_paths(a, p->path, w, &vp, e)))
			break;
		r->venv = vp.root;
		(void)em_venv_state_read(a, &vp, &st, NULL); /* never fails */
		struct em_verify_result res;
		if (interrupted(a, &vp))
			r->code = em_err(&r->error, EM_EINVAL, vp.root, "an apply was interrupted; "
					 "the next apply or rollback finishes or undoes it");
		else if (!st.exists)
			r->code = em_err(&r->error, EM_ENOTFOUND, vp.root, "no environment here yet");
		else if ((r->code = verify_one(p, a, w, &vp, &hg, &res, &r->error)) == EM_ECANCELED)
			rc = workload_failed(e, w->name, &r->error); /* the results are incomplete */
		if (r->code) {
			if (!first)
				first = workload_failed(e, w->name, &r->error);
			continue;
		}
		bool oom = false;
		r->result = keep_verified(a, &res, &oom);
		if (oom) {
			rc = em_err_nomem(e);
			break;
		}
		nfailed += res.failed != 0;
		/* the verification stands when it cannot be kept: the entry's
		 * error says why, its code stays 0 */
		EM_IGNORE(em_verify_save(a, vp.root, &res, &r->error));
	}
	if (rc)
		goto out;
	p->verify = (struct em_verify_report){ nrows, rows, nfailed };
	*out = &p->verify;
	rc = first;
out:
	em_state_lock_release(&lock);
	return rc;
}
