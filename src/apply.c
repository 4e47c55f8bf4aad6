/* apply.c - the transaction: plan (or read the locks), build each changed
 * workload's environment in its staging folder, swap it in
 *
 * Nothing before the swap touches an existing environment: the staging
 * folder is the only place written (besides the cache and the locks), and
 * it is removed when anything fails.
 */
#include "install_set.h"
#include "apply.h"
#include "plan_target.h"
#include "build.h"
#include "lockname.h"
#include "spec/name.h"
#include "spec/pep508.h"
#include "http.h"
#include "spec/index.h"
#include "cache.h"
#include "os/fs.h"
#include "os/sys.h"
#include "interp.h"
#include "pybuild.h"
#include "spec/tags.h"
#include "venv.h"
#include "verify.h"
#include "settings.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LOCK (64u << 20)

const char *em_apply_outcome_name(enum em_apply_outcome o)
{
	switch (o) {
	case EM_APPLY_UNCHANGED: return "unchanged";
	case EM_APPLY_BUILT: return "built";
	case EM_APPLY_WOULD_BUILD: return "would build";
	case EM_APPLY_STALE: return "stale";
	case EM_APPLY_FAILED: return "failed";
	case EM_APPLY_SKIPPED: return "skipped";
	}
	return "?";
}

struct run {
	struct em_arena *a;
	const struct em_matrix *m;
	const struct em_apply_options *o;
	const char *mdir;
	const struct em_interp_list *interps;
	struct em_interp_list own;
	struct em_source *src;
	struct em_cache cache;  /* src->disk's, or opened here */
	struct em_cache *c;
	bool cache_open;
	bool no_sdists;         /* a build environment's lock: sdists are refused */
};

static void emit(const struct run *r, enum em_apply_event_kind k, const char *workload,
		 const char *detail, uint32_t done, uint32_t total)
{
	if (!r->o->event)
		return;
	struct em_apply_event ev = { k, workload, detail, done, total };
	r->o->event(r->o->ctx, &ev);
}

static bool canceled(const struct run *r)
{
	return r->o->cancel && *r->o->cancel;
}

static bool same_python(const struct em_python *x, const struct em_python *y)
{
	return x->major == y->major && x->minor == y->minor && x->micro == y->micro &&
	       x->freethreaded == y->freethreaded && !strcmp(x->pre, y->pre);
}

/* ---- frozen: the target and lock from the lock file ---- */

static int read_lock(struct run *r, struct em_workload_plan *wp, struct em_error *e)
{
	const struct em_workload *w = wp->w;
	const char *matrix_path = r->o->plan.matrix_path ? r->o->plan.matrix_path : r->m->file;
	int rc = em_matrix_lock_path(r->a, matrix_path, w->name, &wp->lock_path, e);
	if (rc)
		return rc;
	if (r->o->lock_for && !strcmp(r->o->lock_for, w->name)) {
		wp->lock_text = em_arena_strndup(r->a, r->o->lock_text, r->o->lock_len);
		wp->lock_len = r->o->lock_len;
		if (!wp->lock_text)
			return em_err_nomem(e);
	} else {
		rc = r->o->plan.read_file
			     ? r->o->plan.read_file(r->o->plan.read_ctx, r->a, wp->lock_path, MAX_LOCK,
						    &wp->lock_text, &wp->lock_len, e)
			     : em_read_file(r->a, wp->lock_path, MAX_LOCK, &wp->lock_text,
					    &wp->lock_len, e);
	}
	if (rc == EM_ENOTFOUND)
		return em_err(e, EM_ENOTFOUND, wp->lock_path,
			      "no lock for workload '%s'%s", w->name,
			      em_phrase(EM_PHRASE_NO_LOCK_FROZEN));
	if (rc)
		return rc;
	rc = em_lock_parse(r->a, wp->lock_text, wp->lock_len, wp->lock_path, &wp->lock, e);
	if (rc)
		return rc;
	/* a lock from this matrix's history (rollback) is its own */
	bool from_history = r->o->lock_for && !strcmp(r->o->lock_for, w->name);
	rc = from_history ? 0 : em_lock_check_matrix(&wp->lock, wp->lock_path, matrix_path, e);
	if (rc)
		return rc;
	wp->had_lock = true;
	if (wp->lock.workload && strcmp(wp->lock.workload, w->name))
		return em_err(e, EM_EINVAL, wp->lock_path,
			      "the lock is for workload '%s', not '%s'", wp->lock.workload, w->name);
	/* the target: what the lock was planned for, else the matrix's */
	if (wp->lock.platform && wp->lock.python) {
		struct em_platform lp;
		struct em_python py;
		if (em_platform_parse(wp->lock.platform, &lp, e) ||
		    em_python_parse(wp->lock.python, &py, e)) {
			em_err_prefix_where(e, "%s: [tool.envmatrix]", wp->lock_path);
			return e ? e->code : EM_EINVAL;
		}
		const struct em_platform *host = r->o->plan.host;
		wp->host_target = host && lp.os == host->os && lp.arch == host->arch &&
				  lp.libc == host->libc;
		wp->target.plat = wp->host_target ? *host : lp;
		wp->target.py = py;
		wp->python_from = "lock";
		em_platform_name(&wp->target.plat, wp->platform_name, sizeof wp->platform_name);
		em_python_name(&wp->target.py, wp->python_name, sizeof wp->python_name);
	} else {
		rc = em_plan_target(r->a, r->m, &r->o->plan, &r->interps, &r->own, wp, e);
		if (rc)
			return rc;
	}
	wp->variant = wp->lock.torch_variant;
	for (uint32_t i = 0; i < wp->lock.npackages; i++)
		if (!strcmp(wp->lock.packages[i].name, "torch"))
			wp->torch_version = wp->lock.packages[i].version;
	return 0;
}

/* ---- the base interpreter ---- */

static int open_cache(struct run *r, struct em_error *e);

/* The lock's python-build-standalone archive, installed into the managed
 * folder unless it is there (pybuild.h), as the base interpreter. */
/* Install build b into the managed folder unless it is there, and take it
 * as the base interpreter. */
static int managed_python(struct run *r, const struct em_workload_plan *wp,
			  const struct em_pybuild *b, struct em_base_python *out,
			  struct em_error *e)
{
	char *dir = em_interp_managed_dir(r->a, e);
	if (!dir)
		return e ? e->code : EM_ENOTFOUND;
	struct em_pybuild_installed inst;
	if (em_pybuild_find_installed(r->a, dir, &b->py, b->triple, &inst, NULL)) {
		int rc = open_cache(r, e);
		if (rc)
			return rc;
		const char *creds[1] = { r->m->python_mirror.value };
		struct em_pybuild_install_opts io = { dir, &wp->target.plat, wp->host_target,
						      creds, creds[0] ? 1 : 0 };
		bool fresh;
		rc = em_pybuild_install(r->a, r->c, r->src->http, b, &io, &inst, &fresh, e);
		if (rc)
			return rc;
	}
	if (wp->host_target)
		return em_base_python_from_executable(r->a, inst.executable, &wp->target.plat,
						      &wp->target.py, out, e);
	return em_base_python_from_home(r->a, inst.via_minor ? inst.via_minor : inst.root,
					&wp->target.plat, &wp->target.py, out, e);
}

/* The interpreter build the lock records ([tool.envmatrix] python-url). */
static int downloaded_python(struct run *r, const struct em_workload_plan *wp,
			     struct em_base_python *out, struct em_error *e)
{
	const struct em_lock *l = &wp->lock;
	struct em_pybuild b;
	char *name = em_url_basename(r->a, l->python_url);
	if (!name)
		return em_err_nomem(e);
	int rc = em_pybuild_parse_name(r->a, name, &b, e);
	if (rc) {
		em_err_prefix_where(e, "%s: [tool.envmatrix] python-url", wp->lock_path);
		return rc;
	}
	b.url = l->python_url;
	b.sha256 = l->python_sha256;
	b.size = l->python_size > 0 ? l->python_size : -1;
	return managed_python(r, wp, &b, out, e);
}

/* An exact version this machine lacks and the lock does not record: the
 * build from the python-build-standalone catalogue (python-mirror,
 * $ENVMATRIX_PYTHON_MIRROR, else the upstream release), so that
 * python = 3.12.10 works on a machine without a 3.12. 0, or the error of
 * the catalogue or the install; EM_ENOTFOUND when the catalogue has no
 * such build (then *why says so). */
static int on_demand_python(struct run *r, const struct em_workload_plan *wp,
			    struct em_base_python *out, const char **why, struct em_error *e)
{
	bool explicit_mirror;
	const char *mirror = em_pybuild_mirror(r->a, r->m->python_mirror.value, r->mdir,
					       &explicit_mirror);
	if (!mirror)
		return em_err_nomem(e);
	const struct em_pybuild *b;
	struct em_error fe;
	em_error_clear(&fe);
	int rc = em_pybuild_find(r->a, r->src, mirror, &wp->target.plat, &wp->target.py, NULL,
				 wp->python_name, &b, &fe);
	if (rc == EM_ENOMEM)
		return em_err_nomem(e);
	if (rc) {
		*why = em_arena_strdup(r->a, fe.msg);
		return *why ? EM_ENOTFOUND : em_err_nomem(e);
	}
	return managed_python(r, wp, b, out, e);
}

static int base_python(struct run *r, const struct em_workload_plan *wp,
		       struct em_base_python *out, struct em_error *e)
{
	const struct em_workload *w = wp->w;
	memset(out, 0, sizeof *out);
	if (!w->python_home.value && wp->lock.python_url && wp->lock.python_sha256)
		return downloaded_python(r, wp, out, e);
	/* the planner picked a build that the lock does not record (--frozen
	 * with a lock planned without a mirror) */
	if (!w->python_home.value && wp->python_build)
		return managed_python(r, wp, wp->python_build, out, e);
	if (w->python_home.value) {
		char *home = em_path_join(r->a, r->mdir, w->python_home.value);
		home = home ? em_path_absolute(r->a, home) : NULL;
		if (!home)
			return em_err_nomem(e);
		int rc = em_base_python_from_home(r->a, home, &wp->target.plat, &wp->target.py, out, e);
		if (rc)
			em_err_prefix_where(e, "python-home, %s:%u", r->m->file,
					    (unsigned)w->python_home.line);
		return rc;
	}
	if (!wp->host_target)
		return em_err(e, EM_ENOTFOUND, r->m->file,
			      "workload '%s' is for %s, not this machine: set python-home to a "
			      "Python %s installation for that platform", w->name, wp->platform_name,
			      wp->python_name);
	const char *exe = NULL;
	if (wp->python_from && wp->python_from[0] == '/') {
		exe = wp->python_from;
	} else {
		if (!r->interps) {
			int rc = em_interp_discover(r->a, &r->own, e);
			if (rc)
				return rc;
			r->interps = &r->own;
		}
		for (uint32_t i = 0; i < r->interps->n && !exe; i++)
			if (same_python(&r->interps->items[i].py, &wp->target.py))
				exe = r->interps->items[i].path;
		const char *why = NULL;
		if (!exe && w->python_req.kind == EM_PYTHON_EXACT) {
			int rc = on_demand_python(r, wp, out, &why, e);
			if (rc != EM_ENOTFOUND || !why) {
				if (rc)
					em_err_prefix_where(e, "python %s for workload '%s'",
							    wp->python_name, w->name);
				return rc;
			}
		}
		char adv[EM_PHRASE_MAX];
		if (!exe)
			return em_err(e, EM_ENOTFOUND, r->m->file,
				      "workload '%s' needs Python %s, which is not on this machine "
				      "(looked in PATH, pyenv, uv's and envmatrix's folders%s%s): "
				      "install it%s, set python-home "
				      "to its installation, or use python = %u.%u to take the newest "
				      "%u.%u here", w->name, wp->python_name, why ? "; " : "",
				      why ? why : "", em_phrase_arg(adv, sizeof adv,
				      EM_PHRASE_INSTALL_PYTHON, wp->python_name), wp->target.py.major,
				      wp->target.py.minor, wp->target.py.major, wp->target.py.minor);
	}
	char *exe_dir = em_path_dir(r->a, exe);
	if (!exe_dir)
		return em_err_nomem(e);
	if (em_venv_holds(exe_dir))
		return em_err(e, EM_EINVAL, exe,
			      "is inside a virtual environment; name its base interpreter "
			      "(pyvenv.cfg's home) for workload '%s'", w->name);
	return em_base_python_from_executable(r->a, exe, &wp->target.plat, &wp->target.py, out, e);
}

/* ---- building ---- */

static int open_cache(struct run *r, struct em_error *e)
{
	if (r->cache_open)
		return 0;
	if (r->src->disk) {
		r->c = r->src->disk;
		r->cache_open = true;
		return 0;
	}
	const char *dir = r->m->cache_dir.value;
	char *abs = dir ? em_path_join(r->a, r->mdir, dir) : NULL;
	int rc = em_cache_open(&r->cache, r->a, abs, e);
	if (rc) {
		if (dir)
			em_err_prefix_where(e, "cache-dir, %s:%u", r->m->file,
					    (unsigned)r->m->cache_dir.line);
		return rc;
	}
	r->c = &r->cache;
	r->cache_open = true;
	return 0;
}

static void close_cache(struct run *r)
{
	if (r->cache_open && r->c == &r->cache)
		em_cache_close(&r->cache);
	r->cache_open = false;
}

struct ready_ctx {
	struct em_unpacker *up;
	struct em_install_item *item;
	struct em_cache_unpack *u;
};

/* A download is verified: unpack it while the others go on. */
static void on_ready(void *ctx, struct em_cache_file *f)
{
	struct ready_ctx *r = ctx;
	r->item->location = f->path;
	r->u->path = f->path;
	em_unpacker_add(r->up, r->u);
}

/* Download what the cache lacks and unpack every wheel it has not
 * unpacked, at once: each file is unpacked (one worker per core) as soon
 * as its download is verified. Remote items' locations become the
 * downloaded files; dirs[i] gets items[i]'s unpacked tree. */
static int fetch_and_unpack(struct run *r, struct em_workload_apply *wa,
			    const struct em_workload *w, struct em_install_item *items,
			    uint32_t n, char **dirs, struct em_error *e)
{
	struct em_arena *a = r->a;
	struct em_cache_unpack *u = em_arena_array(a, n ? n : 1, sizeof *u);
	struct em_cache_file *f = em_arena_array(a, n ? n : 1, sizeof *f);
	struct ready_ctx *rc_ = em_arena_array(a, n ? n : 1, sizeof *rc_);
	uint32_t *which = em_arena_array(a, n ? n : 1, sizeof *which);
	if (!u || !f || !rc_ || !which)
		return em_err_nomem(e);
	/* the index URLs that may carry credentials for the lock's URLs */
	const char *creds[3 + 64];
	size_t ncreds = 0;
	creds[ncreds++] = w->index_url.value;
	creds[ncreds++] = w->torch_index_url.value;
	for (uint32_t i = 0; i < w->nfind_links && ncreds < sizeof creds / sizeof creds[0]; i++)
		creds[ncreds++] = w->find_links[i].value;

	struct em_unpacker *up;
	int rc = em_unpacker_start(r->c, a, r->m->njobs, r->o->cancel, &up, e);
	if (rc)
		return rc;
	uint32_t k = 0;
	for (uint32_t i = 0; i < n; i++) {
		struct em_install_item *it = &items[i];
		memset(&u[i], 0, sizeof u[i]);
		u[i].path = it->location;
		u[i].filename = it->wheel->name;
		u[i].sha256 = it->wheel->sha256;
		u[i].size = it->wheel->size;
		if (!em_http_url(it->location) || !it->wheel->sha256 ||
		    em_cache_has_unpacked(r->c, a, it->wheel->sha256)) {
			em_unpacker_add(up, &u[i]);
			continue;
		}
		/* the lock's URL, then the mirrors that serve it (failover) */
		const char **url = em_arena_array(a, 1 + r->m->nmirrors, sizeof *url);
		uint32_t nurl = 0;
		if (!url || !(url[nurl++] = em_url_add_credentials(a, it->location, creds, ncreds))) {
			rc = em_err_nomem(e);
			break;
		}
		for (uint32_t m = 0; m < r->m->nmirrors; m++) {
			const struct em_mirror *mi = &r->m->mirrors[m];
			const char *from = em_url_redact(a, mi->from); /* locks hold no credentials */
			size_t fl = from ? strlen(from) : 0;
			if (!fl || strncmp(it->location, from, fl))
				continue;
			if (!(url[nurl++] = em_arena_printf(a, "%s%s", mi->to, it->location + fl))) {
				rc = em_err_nomem(e);
				break;
			}
		}
		if (rc)
			break;
		memset(&f[k], 0, sizeof f[k]);
		f[k].urls = url;
		f[k].nurls = nurl;
		f[k].filename = it->wheel->name;
		f[k].sha256 = it->wheel->sha256;
		f[k].size = it->wheel->size;
		rc_[k] = (struct ready_ctx){ up, it, &u[i] };
		f[k].ready = on_ready;
		f[k].ready_ctx = &rc_[k];
		which[k++] = i;
	}
	int frc = rc ? rc : (k ? em_cache_fetch(r->c, a, r->src->http, f, k, e) : 0);
	struct em_error ue;
	em_error_clear(&ue);
	int urc = em_unpacker_finish(up, &ue);
	if (frc) {
		if (e->code != EM_ECANCELED && !rc)
			for (uint32_t j = 0; j < k; j++)
				if (f[j].rc) {
					*e = f[j].err;
					em_err_prefix_where(e, "package '%s'", items[which[j]].pkg->name);
					break;
				}
		return frc;
	}
	for (uint32_t i = 0; i < n; i++) {
		wa->nunpacked += u[i].fresh;
		dirs[i] = u[i].dir;
	}
	if (urc) {
		*e = ue;
		for (uint32_t i = 0; i < n; i++)
			if (u[i].rc == urc && urc != EM_ECANCELED) {
				em_err_prefix_where(e, "package '%s'", items[i].pkg->name);
				break;
			}
	}
	return urc;
}

/* ---- sdists: built into wheels before installing ---- */

/* A matrix value naming a folder or an index: URLs as they are, paths
 * made absolute against the matrix's folder (the build plans in a folder
 * of its own). */
static const char *abs_setting(struct em_arena *a, const char *mdir, const char *value)
{
	if (strstr(value, "://") || !strncmp(value, "file:", 5))
		return value;
	char *p = em_path_join(a, mdir, value);
	return p ? em_path_absolute(a, p) : NULL;
}

/* build-constraints: the file's requirements, each a project with
 * versions (no extras, no URL). */
static int read_build_constraints(struct em_arena *a, const char *matrix_path, const char *mdir,
				  const struct em_workload *w, struct em_build_options *o,
				  struct em_error *e)
{
	const struct em_setting *bc = &w->build_constraints;
	char where[EM_ERROR_WHERE_MAX];
	snprintf(where, sizeof where, "%s:%u", matrix_path, (unsigned)bc->line);
	const char *path = abs_setting(a, mdir, bc->value);
	char *buf;
	size_t len;
	if (!path)
		return em_err_nomem(e);
	int rc = em_read_file(a, path, EM_MATRIX_MAX_LEN, &buf, &len, e);
	if (rc == EM_ENOTFOUND)
		return em_err(e, rc, where, "build-constraints file '%s' does not exist", path);
	if (rc) {
		em_err_prefix_where(e, "%s", where);
		return rc;
	}
	struct em_reqfile rf;
	if ((rc = em_reqfile_parse(a, buf, len, bc->value, &rf, e)))
		return rc;
	if (rf.nincludes)
		return em_err(e, EM_EINVAL, em_arena_printf(a, "%s:%u", bc->value,
							    (unsigned)rf.includes[0].line),
			      "a build-constraints file includes no other file ('-r %s'): "
			      "write its lines here", rf.includes[0].text);
	const char **c = em_arena_array(a, rf.nreqs ? rf.nreqs : 1, sizeof *c);
	if (!c)
		return em_err_nomem(e);
	for (uint32_t i = 0; i < rf.nreqs; i++) {
		struct em_requirement r;
		if ((rc = em_requirement_parse(a, rf.reqs[i].text, strlen(rf.reqs[i].text), &r, e)))
			return rc;
		if (r.nextras || r.url)
			return em_err(e, EM_EINVAL, em_arena_printf(a, "%s:%u", bc->value,
								    (unsigned)rf.reqs[i].line),
				      "'%s': a build constraint names a project and its versions "
				      "(no extras, no URL)", rf.reqs[i].text);
		c[i] = rf.reqs[i].text;
	}
	o->nconstraints = rf.nreqs;
	o->constraints = c;
	return 0;
}

int em_workload_build_options(struct em_arena *a, const char *matrix_path,
			      const struct em_workload *w, const char *package, const char *python,
			      const struct em_platform *host, const struct em_interp_list *interps,
			      volatile sig_atomic_t *cancel, struct em_build_options *o,
			      struct em_error *e)
{
	memset(o, 0, sizeof *o);
	o->install_lock = em_apply_install_lock;
	const char *mdir = em_path_dir(a, matrix_path);
	if (!mdir)
		return em_err_nomem(e);
	if (w->index_url.value && !(o->index_url = abs_setting(a, mdir, w->index_url.value)))
		return em_err_nomem(e);
	const char **fl = em_arena_array(a, w->nfind_links ? w->nfind_links : 1, sizeof *fl);
	const char **names = em_arena_array(a, w->nenv ? w->nenv : 1, sizeof *names);
	const char **values = em_arena_array(a, w->nenv ? w->nenv : 1, sizeof *values);
	if (!fl || !names || !values)
		return em_err_nomem(e);
	for (uint32_t i = 0; i < w->nfind_links; i++)
		if (!(fl[i] = abs_setting(a, mdir, w->find_links[i].value)))
			return em_err_nomem(e);
	for (uint32_t i = 0; i < w->nenv; i++) {
		names[i] = w->env[i].name;
		values[i] = w->env[i].value;
	}
	o->nfind_links = w->nfind_links;
	o->find_links = fl;
	o->nenv = w->nenv;
	o->env_names = names;
	o->env_values = values;
	o->python = python;
	o->host = host;
	o->interps = interps;
	o->cancel = cancel;
	const char *tmo = em_settings()->build_timeout;
	if (tmo && atoi(tmo) > 0 && atoi(tmo) <= 7 * 24 * 3600)
		o->timeout_ms = atoi(tmo) * 1000;
	const struct em_pkg_values *br = package ? em_workload_build_requires(w, package) : NULL;
	const struct em_pkg_values *cs = package ? em_workload_config_settings(w, package) : NULL;
	if (br) {
		o->nextra_requires = br->n;
		o->extra_requires = br->values;
	}
	if (cs) {
		o->nconfig = cs->n;
		o->config = cs->values;
	}
	if (w->build_constraints.value)
		return read_build_constraints(a, matrix_path, mdir, w, o, e);
	return 0;
}

/* The project (PEP 503 normalized) of an sdist's file name
 * NAME-VERSION.tar.gz, or NULL. */
static const char *sdist_project(struct em_arena *a, const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	const char *dash = strrchr(base, '-');
	return dash && dash != base ? em_name_canonical(a, base, (size_t)(dash - base)) : NULL;
}

/* An sdist is built where it is installed: another platform's workload
 * (a Windows one applied from Linux) cannot have one. */
static int sdists_buildable_here(const struct em_workload_plan *wp,
				 const struct em_install_item *items, uint32_t n, struct em_error *e)
{
	for (uint32_t i = 0; i < n && !wp->host_target; i++)
		if (items[i].sdist && !items[i].wheel)
			return em_err(e, EM_EUNSUPPORTED, wp->lock_path,
				      "cannot build '%s' %s for %s on this host: it has no wheel for "
				      "that platform, only an sdist, which must be built there (apply "
				      "the workload on a %s machine)", items[i].pkg->name,
				      items[i].pkg->version ? items[i].pkg->version : "",
				      wp->platform_name, wp->platform_name);
	return 0;
}

/* Build the sdist items of a workload's install set into wheels (cached
 * by build.h) and put each built wheel in its item's place, so that the
 * rest installs it as a local wheel. Nothing here touches the
 * environment. */
static int build_sdists(struct run *r, struct em_workload_apply *wa,
			const struct em_base_python *base, const struct em_tagset *tags,
			struct em_install_item *items, uint32_t n, struct em_error *e)
{
	struct em_workload_plan *wp = wa->plan;
	const struct em_workload *w = wa->w;
	struct em_arena *a = r->a;
	uint32_t nsd = 0, done = 0;
	for (uint32_t i = 0; i < n; i++)
		nsd += items[i].sdist != NULL && !items[i].wheel;
	if (!nsd)
		return 0;
	const char *mpath = r->o->plan.matrix_path ? r->o->plan.matrix_path : r->m->file;
	for (uint32_t i = 0; i < n; i++) {
		const struct em_install_item *it = &items[i];
		if (!it->sdist || it->wheel)
			continue;
		if (r->no_sdists)
			return em_err(e, EM_EUNSUPPORTED, wp->lock_path,
				      "build requirement '%s' %s has only a source distribution; "
				      "envmatrix does not build build requirements from source",
				      it->pkg->name, it->pkg->version ? it->pkg->version : "");
	}
	int rc;
	for (uint32_t i = 0; i < n; i++) {
		struct em_install_item *it = &items[i];
		if (!it->sdist || it->wheel)
			continue;
		if (em_workload_no_isolation(w, it->pkg->name)) {
			done++; /* built later, in the environment itself */
			continue;
		}
		struct em_build_options bo;
		if ((rc = em_workload_build_options(a, mpath, w, it->pkg->name, base->executable,
						    r->o->plan.host, r->interps, r->o->cancel, &bo,
						    e)))
			return rc;
		if (canceled(r))
			return em_err(e, EM_ECANCELED, w->name, "interrupted");
		const char *label = em_arena_printf(a, "%s %s", it->pkg->name,
						    it->pkg->version ? it->pkg->version : "");
		if (!label)
			return em_err_nomem(e);
		emit(r, EM_EV_BUILD_SDIST, w->name, label, done++, nsd);
		/* the sdist as a verified file on this machine (a download goes
		 * through the cache, as wheels do) */
		const char *path;
		char hex[65];
		rc = em_source_file(r->src, it->location, it->sdist->name, it->sdist->sha256, &path,
				    hex, e);
		if (rc) {
			em_err_prefix_where(e, "package '%s'", it->pkg->name);
			return rc;
		}
		struct em_build_result br;
		rc = em_build_wheel(a, r->src, r->c, path, hex, &bo, &br, e);
		if (rc)
			return rc;
		/* the built wheel must fit the target, as a locked one would */
		struct em_wheel_name wn;
		struct em_error we;
		if (em_wheel_name_parse(a, br.filename, strlen(br.filename), &wn, &we) ||
		    em_wheel_rank(tags, &wn, NULL) < 0)
			return em_err(e, EM_EINVAL, br.wheel,
				      "the wheel built from '%s' does not fit Python %s on %s",
				      it->sdist->name, wp->python_name, wp->platform_name);
		struct em_lock_file *f = em_arena_zalloc(a, sizeof *f);
		char *sha = em_arena_strdup(a, br.sha256);
		if (!f || !sha)
			return em_err_nomem(e);
		f->name = br.filename;
		f->path = br.wheel;
		f->size = br.size;
		f->sha256 = sha;
		f->line = it->sdist->line;
		it->wheel = f;
		it->location = br.wheel;
	}
	return 0;
}

/* Build the sdist of item it (a package in no-build-isolation) with the
 * staging environment's own Python, which holds every other package of
 * the lock by now, and install the wheel into it. Such a build is not
 * cached: the wheel and its unpacked tree are removed once installed. */
static int build_in_env(struct run *r, struct em_workload_apply *wa,
			const struct em_venv_layout *stage, const struct em_venv_layout *final,
			const struct em_tagset *tags, enum em_link_mode link,
			struct em_install_item *it, uint32_t done, uint32_t total,
			struct em_error *e)
{
	struct em_workload_plan *wp = wa->plan;
	const struct em_workload *w = wa->w;
	struct em_arena *a = r->a;
	const char *mpath = r->o->plan.matrix_path ? r->o->plan.matrix_path : r->m->file;
	const char *label = em_arena_printf(a, "%s %s", it->pkg->name,
					    it->pkg->version ? it->pkg->version : "");
	if (!label)
		return em_err_nomem(e);
	emit(r, EM_EV_BUILD_SDIST, w->name, label, done, total);
	const char *path;
	char hex[65];
	int rc = em_source_file(r->src, it->location, it->sdist->name, it->sdist->sha256, &path,
				hex, e);
	if (rc) {
		em_err_prefix_where(e, "package '%s'", it->pkg->name);
		return rc;
	}
	struct em_build_options bo;
	if ((rc = em_workload_build_options(a, mpath, w, it->pkg->name, NULL, r->o->plan.host,
					    r->interps, r->o->cancel, &bo, e)))
		return rc;
	bo.no_isolation_python = stage->python;
	struct em_build_result br;
	if ((rc = em_build_wheel(a, r->src, r->c, path, hex, &bo, &br, e)))
		return rc;
	/* the wheel under its own name (em_wheel_unpack reads it), in a folder
	 * of its own beside its unpacked tree */
	char *dir = em_arena_printf(a, "%s/tmp/no-isolation-%.16s-%ld", r->c->root, br.sha256,
				    em_os_pid());
	char *wdir = dir ? em_arena_printf(a, "%s.wheel", dir) : NULL;
	char *whl = wdir ? em_arena_printf(a, "%s/%s", wdir, br.filename) : NULL;
	struct em_wheel_name wn;
	struct em_error we;
	if (!whl)
		rc = em_err_nomem(e);
	else if (em_wheel_name_parse(a, br.filename, strlen(br.filename), &wn, &we) ||
		 em_wheel_rank(tags, &wn, NULL) < 0)
		rc = em_err(e, EM_EINVAL, br.wheel,
			    "the wheel built from '%s' does not fit Python %s on %s",
			    it->sdist->name, wp->python_name, wp->platform_name);
	if (!rc) {
		/* leftovers of a crashed run with our pid: when they cannot go,
		 * mkdir says so */
		(void)em_remove_tree(dir, NULL);
		(void)em_remove_tree(wdir, NULL);
		if (em_os_mkdir(wdir, 0700) || em_os_rename(br.wheel, whl))
			rc = em_err_sys(e, errno, whl, "cannot keep the built wheel");
		else
			rc = em_wheel_unpack(whl, dir, e);
	}
	if (!rc) {
		struct em_install_opts io = {
			.dest = &stage->scheme,
			.python = final->python,
			.os = wp->target.plat.os,
			.link = link,
			.requested = it->pkg->requested,
			.jobs = r->m->njobs,
		};
		struct em_install_result res;
		rc = em_wheel_install(dir, br.filename, &io, &res, e);
		if (!rc) {
			wa->files += res.files;
			wa->bytes += res.bytes;
		}
	}
	struct em_lock_file *f = em_arena_zalloc(a, sizeof *f);
	char *sha = em_arena_strdup(a, br.sha256);
	if (!rc && (!f || !sha))
		rc = em_err_nomem(e);
	if (!rc) {
		f->name = br.filename;
		f->size = br.size;
		f->sha256 = sha;
		f->line = it->sdist->line;
		it->wheel = f;
	}
	if (whl) {
		/* best effort: what stays is in the cache's tmp/, which cache
		 * clean empties */
		(void)em_remove_tree(dir, NULL);
		(void)em_remove_tree(wdir, NULL);
	}
	/* the build's temporary copy: a leftover only costs space in the
	 * cache's tmp/, which cache clean empties */
	if (br.temporary)
		(void)em_os_unlink(br.wheel);
	return rc;
}

/* The plan's sdist metadata hook (plan.h): prepare the METADATA of an sdist
 * whose metadata is dynamic with the build module, for the workload's
 * Python; for another platform's workload with this machine's Python of the
 * same minor version, assuming (as uv does) that the metadata does not
 * depend on the platform, which *warning says. */
int em_apply_sdist_metadata(void *ctx, struct em_arena *a, const char *sdist_path,
			    const char *sha256, const struct em_workload_plan *wp,
			    char **metadata, size_t *len, const char **warning,
			    struct em_error *e)
{
	const struct em_sdist_hook *h = ctx;
	*warning = NULL;
	if (!h || !h->src || !h->src->disk)
		return em_err(e, EM_EUNSUPPORTED, sdist_path,
			      "its metadata is dynamic and there is no cache to prepare it in");
	const char *mpath = h->matrix_path ? h->matrix_path : h->m->file;
	const char *python;
	if (wp->host_target)
		python = wp->python_from && wp->python_from[0] == '/' ? wp->python_from
								      : wp->python_name;
	else {
		python = em_arena_printf(a, "%u.%u%s", wp->target.py.major, wp->target.py.minor,
					 wp->target.py.freethreaded ? "t" : "");
		const char *base = strrchr(sdist_path, '/');
		base = base ? base + 1 : sdist_path;
		*warning = em_arena_printf(
			a, "the dynamic metadata of '%s' was prepared with this machine's Python %s, "
			"assuming it is the same on %s (as uv does)", base,
			python ? python : "", wp->platform_name);
	}
	if (!python)
		return em_err_nomem(e);
	struct em_build_options o;
	int rc = em_workload_build_options(a, mpath, wp->w, sdist_project(a, sdist_path), python,
					   h->host, h->interps, h->cancel, &o, e);
	if (rc)
		return rc;
	const char *md;
	bool built;
	rc = em_build_metadata(a, h->src, h->src->disk, sdist_path, sha256, &o, &md, len, &built,
			       e);
	if (rc)
		return rc;
	*metadata = (char *)md;
	return 0;
}

/* Verify the complete staging folder (verify.h) and keep the results in
 * it; a failed check is an error, so the swap does not happen. */
static int verify_staging(struct run *r, struct em_workload_apply *wa, struct em_error *e)
{
	struct em_workload_plan *wp = wa->plan;
	const struct em_venv_paths *p = &wa->paths;
	struct em_arena *a = r->a;
	emit(r, EM_EV_VERIFY, wa->w->name, p->staging, 0, 0);
	struct em_verify_inputs in = { p->staging, &wp->lock, wa->w, NULL, r->o->gpu };
	struct em_verify_expect x;
	int rc = em_verify_expect_build(a, &in, &x, e);
	if (rc)
		return rc;
	char *dir = em_path_join(a, r->mdir, wa->w->path.value ? wa->w->path.value : ".");
	x.command_dir = dir ? em_path_absolute(a, dir) : NULL;
	struct em_verify_result *res = em_arena_zalloc(a, sizeof *res);
	if (!x.command_dir || !res)
		return em_err_nomem(e);
	struct em_verify_options vo = { r->o->verify_timeout_ms, p->root, r->o->cancel };
	if ((rc = em_verify_run(a, &x, &vo, res, e)))
		return rc;
	wa->verify = res;
	if (canceled(r))
		return em_err(e, EM_ECANCELED, wa->w->name, "interrupted");
	if ((rc = em_verify_save(a, p->staging, res, e)))
		return rc;
	if (!res->failed)
		return 0;
	char *why = em_verify_failures(a, res, 640);
	return em_err(e, EM_EINVAL, NULL,
		      "the new environment failed verification (%u of %u checks): %s; the "
		      "environment in place was left as it was%s", res->failed, res->n,
		      why ? why : "out of memory", em_phrase(EM_PHRASE_VERIFY_FAILED));
}

/* Check the cache's unpacked trees of these items against their wheels'
 * RECORDs (an edit through a hard link in another venv changes them) and
 * move the damaged ones aside, so that fetch_and_unpack makes them again
 * from the wheel; *ndamaged says how many were. */
static int recheck_trees(struct run *r, struct em_workload_apply *wa,
			 const struct em_install_item *items, uint32_t n, uint32_t *ndamaged,
			 struct em_error *e)
{
	struct em_arena *a = r->a;
	*ndamaged = 0;
	struct em_cache_check *v = em_arena_array(a, n ? n : 1, sizeof *v);
	if (!v)
		return em_err_nomem(e);
	uint32_t k = 0;
	for (uint32_t i = 0; i < n; i++)
		if (items[i].wheel->sha256 && em_cache_has_unpacked(r->c, a, items[i].wheel->sha256))
			v[k++].sha256 = items[i].wheel->sha256;
	int rc = em_cache_check_unpacked(r->c, a, v, k, r->m->njobs, EM_CACHE_CHECK_DROP,
					 r->o->cancel, e);
	for (uint32_t i = 0; i < k; i++) {
		if (!v[i].damaged)
			continue;
		(*ndamaged)++;
		char *what = em_arena_printf(a, "the cache's unpacked '%s' was damaged (%s: %s): "
					     "unpacking it again from the wheel",
					     v[i].wheel ? v[i].wheel : v[i].sha256, v[i].err.where,
					     v[i].err.msg);
		emit(r, EM_EV_HEALED, wa->w->name, what ? what : "a damaged unpacked wheel", 0, 0);
	}
	return rc;
}

/* Make the environment of wa's lock in p->staging (for p->root): a venv
 * with every package of the lock installed and the lock beside them; the
 * install set is left in *items_out for a retry. recheck: check the
 * unpacked trees first (apply --force). */
static int populate(struct run *r, struct em_workload_apply *wa, bool recheck,
		    struct em_install_item **items_out, uint32_t *n_out, struct em_error *e)
{
	struct em_workload_plan *wp = wa->plan;
	const struct em_workload *w = wa->w;
	const struct em_venv_paths *p = &wa->paths;
	struct em_arena *a = r->a;

	enum em_link_mode link = EM_LINK_AUTO;
	if (r->m->link_mode.value) {
		int rc = em_link_mode_parse(r->m->link_mode.value, &link, e);
		if (rc) {
			em_err_prefix_where(e, "%s:%u", r->m->file, (unsigned)r->m->link_mode.line);
			return rc;
		}
	}
	struct em_tagset tags;
	struct em_install_item *items;
	uint32_t nitems;
	int rc = em_tags_for_target(a, &wp->target, &tags, e);
	if (!rc)
		rc = em_lock_install_set(a, &wp->lock, wp->lock_path, &wp->target, &tags, &items,
					 &nitems, e);
	if (rc)
		return rc;
	wa->npackages = nitems;
	if ((rc = sdists_buildable_here(wp, items, nitems, e)))
		return rc;
	struct em_base_python base;
	if ((rc = base_python(r, wp, &base, e)) || (rc = open_cache(r, e)))
		return rc;
	if ((rc = build_sdists(r, wa, &base, &tags, items, nitems, e)))
		return rc;
	/* packages in no-build-isolation (still without a wheel) go last: they
	 * are built once the others are installed */
	uint32_t nfirst = 0, nsd = 0;
	for (uint32_t i = 0; i < nitems; i++) {
		nsd += items[i].sdist != NULL;
		if (items[i].wheel) {
			struct em_install_item t = items[i];
			memmove(&items[nfirst + 1], &items[nfirst], (i - nfirst) * sizeof *items);
			items[nfirst++] = t;
		}
	}

	struct em_venv_layout final, stage;
	if ((rc = em_venv_layout(a, p->root, &wp->target.plat, &wp->target.py, &final, e)) ||
	    (rc = em_venv_layout(a, p->staging, &wp->target.plat, &wp->target.py, &stage, e)))
		return rc;
	const char **names = em_arena_array(a, w->nenv ? w->nenv : 1, sizeof *names);
	const char **values = em_arena_array(a, w->nenv ? w->nenv : 1, sizeof *values);
	char *matrix_abs = em_path_absolute(a, r->o->plan.matrix_path ? r->o->plan.matrix_path
								       : r->m->file);
	if (!names || !values || !matrix_abs)
		return em_err_nomem(e);
	for (uint32_t i = 0; i < w->nenv; i++) {
		names[i] = w->env[i].name;
		values[i] = w->env[i].value;
	}
	struct em_venv_info info = { w->name, w->name, matrix_abs, w->nenv,
				     (const char *const *)names, (const char *const *)values };

	emit(r, EM_EV_BUILD, w->name, p->root, 0, nitems);
	char **dirs = em_arena_array(a, nitems ? nitems : 1, sizeof *dirs);
	if (!dirs)
		return em_err_nomem(e);
	uint32_t ndamaged;
	if (recheck && (rc = recheck_trees(r, wa, items, nfirst, &ndamaged, e)))
		return rc;
	if ((rc = fetch_and_unpack(r, wa, w, items, nfirst, dirs, e)))
		return rc;
	if ((rc = em_remove_tree(p->staging, e)))
		return rc;
	rc = em_venv_create(a, p->staging, p->root, &wp->target.plat, &base, &info, e);
	for (uint32_t i = 0; i < nfirst && !rc; i++) {
		const struct em_install_item *it = &items[i];
		if (canceled(r)) {
			rc = em_err(e, EM_ECANCELED, w->name, "interrupted");
			break;
		}
		emit(r, EM_EV_PACKAGE, w->name, it->pkg->name, i, nitems);
		struct em_install_opts io = {
			.dest = &stage.scheme,
			.python = final.python,
			.os = wp->target.plat.os,
			.link = link,
			.requested = it->pkg->requested,
			.jobs = r->m->njobs,
		};
		struct em_install_result res;
		rc = em_wheel_install(dirs[i], it->wheel->name, &io, &res, e);
		if (rc)
			break;
		wa->files += res.files;
		wa->bytes += res.bytes;
		wa->link_used = res.link_used;
	}
	for (uint32_t i = nfirst; i < nitems && !rc; i++) {
		if (canceled(r)) {
			rc = em_err(e, EM_ECANCELED, w->name, "interrupted");
			break;
		}
		rc = build_in_env(r, wa, &stage, &final, &tags, link, &items[i],
				  nsd - (nitems - i), nsd, e);
	}
	if (!rc) {
		char *lp = em_arena_printf(a, "%s/" EM_VENV_LOCK_NAME, p->staging);
		rc = lp ? em_write_file_atomic(lp, wp->lock_text, wp->lock_len, 0644, e)
			: em_err_nomem(e);
	}
	*items_out = items;
	*n_out = nitems;
	return rc;
}

/* recheck: check the unpacked trees first (apply --force); retry: when
 * verification fails, check them and, if any was damaged, build once more */
static int build(struct run *r, struct em_workload_apply *wa, bool recheck, bool retry,
		 struct em_error *e)
{
	struct em_workload_plan *wp = wa->plan;
	const struct em_workload *w = wa->w;
	const struct em_venv_paths *p = &wa->paths;
	struct em_arena *a = r->a;
	struct em_install_item *items = NULL;
	uint32_t nitems = 0, ndamaged;
	int rc = populate(r, wa, recheck, &items, &nitems, e);
	if (!rc && canceled(r))
		rc = em_err(e, EM_ECANCELED, w->name, "interrupted");
	if (!rc && !r->o->no_verify && wp->host_target)
		rc = verify_staging(r, wa, e);
	if (rc && retry && rc != EM_ECANCELED && wa->verify && wa->verify->failed) {
		/* a damaged tree in the cache is the one cause a rebuild can mend */
		struct em_error ce;
		em_error_clear(&ce);
		if (!recheck_trees(r, wa, items, nitems, &ndamaged, &ce) && ndamaged) {
			/* the rebuild makes the staging folder anew, and says so
			 * when it cannot */
			(void)em_remove_tree(p->staging, NULL);
			wa->files = wa->bytes = 0;
			wa->verify = NULL;
			return build(r, wa, false, false, e);
		}
	}
	if (!rc) {
		/* the new tree reaches the disk before the swap makes it the
		 * environment: when it cannot, nothing is swapped */
		if (em_os_flush_volume(p->staging))
			rc = em_err_sys(e, errno, p->staging,
					"cannot flush the new environment to disk before the swap");
	}
	if (!rc) {
		bool empty = false;
		struct em_stat st;
		wa->replaced = em_os_lstat(p->root, &st) == 0 &&
			       em_venv_check_target(p->root, &empty, NULL) == 0 && !empty;
		rc = em_venv_swap_in(a, p, &wa->kept, e);
		if (wa->kept) {
			char *msg = em_arena_printf(a, "kept '%s' (not made by envmatrix) as '%s'",
						    p->snapshot, wa->kept);
			emit(r, EM_EV_KEPT, w->name, msg ? msg : wa->kept, 0, 0);
		}
	}
	if (rc) {
		/* best effort: the next run removes a leftover staging folder
		 * (em_venv_recover); the error to report is rc */
		(void)em_remove_tree(p->staging, NULL);
		wa->replaced = false;
		return rc;
	}
	emit(r, EM_EV_SWAPPED, w->name, p->root, nitems, nitems);
	return 0;
}

int em_apply_install_lock(struct em_arena *a, struct em_source *src, const struct em_matrix *m,
			  const struct em_plan_options *po, struct em_workload_plan *wp,
			  const char *dest, const char *final_root, volatile sig_atomic_t *cancel,
			  struct em_error *e)
{
	struct em_apply_options o;
	memset(&o, 0, sizeof o);
	o.plan = *po;
	o.no_verify = true;
	o.cancel = cancel;
	struct run r;
	memset(&r, 0, sizeof r);
	r.src = src;
	r.a = a;
	r.m = m;
	r.o = &o;
	r.interps = po->interps;
	r.no_sdists = true;
	r.mdir = em_path_dir(a, po->matrix_path ? po->matrix_path : m->file);
	if (!r.mdir)
		return em_err_nomem(e);
	struct em_workload_apply wa;
	memset(&wa, 0, sizeof wa);
	wa.w = wp->w;
	wa.plan = wp;
	wa.paths.workload = wp->w->name;
	wa.paths.root = final_root;
	wa.paths.staging = dest;
	struct em_install_item *items;
	uint32_t n;
	int rc = populate(&r, &wa, false, &items, &n, e);
	close_cache(&r);
	if (rc)
		(void)em_remove_tree(dest, NULL); /* best effort: the error is rc */
	return rc;
}

/* ---- the run ---- */

static bool selected(const struct em_apply_options *o, const char *name)
{
	if (!o->plan.nonly)
		return true;
	for (uint32_t k = 0; k < o->plan.nonly; k++)
		if (!strcmp(o->plan.only[k], name))
			return true;
	return false;
}

static void fail(struct em_apply *out, struct em_workload_apply *wa, const struct em_error *err)
{
	wa->outcome = EM_APPLY_FAILED;
	wa->err = *err;
	out->nfailed++;
}

static void apply_one(struct run *r, struct em_apply *out, struct em_workload_apply *wa)
{
	struct em_error e;
	em_error_clear(&e);
	double t0 = em_os_now_s();
	const struct em_apply_options *o = r->o;
	const char *name = wa->w->name;
	if (em_venv_paths(r->a, o->plan.matrix_path ? o->plan.matrix_path : r->m->file, wa->w,
			  &wa->paths, &e)) {
		fail(out, wa, &e);
		return;
	}
	if (!o->dry_run) {
		const char *what;
		if (em_venv_recover(r->a, &wa->paths, &what, &e)) {
			fail(out, wa, &e);
			return;
		}
		if (what)
			emit(r, EM_EV_RECOVERED, name, what, 0, 0);
	}
	/* only a Python environment (or an empty folder) is ever replaced */
	bool empty = false;
	if (em_venv_check_target(wa->paths.root, &empty, &e)) {
		em_err_prefix_where(&e, "%s:%u", r->m->file,
				    (unsigned)em_workload_folder_line(wa->w));
		fail(out, wa, &e);
		wa->seconds = em_os_now_s() - t0;
		emit(r, EM_EV_FINISHED, name, em_apply_outcome_name(wa->outcome), 0, 0);
		return;
	}
	struct em_venv_state st;
	(void)em_venv_state_read(r->a, &wa->paths, &st, NULL); /* reads what it can, never fails */
	const struct em_workload_plan *wp = wa->plan;
	wa->npackages = wp->lock.npackages; /* the install set's count once built */
	bool same = st.lock_text && st.lock_len == wp->lock_len &&
		    !memcmp(st.lock_text, wp->lock_text, wp->lock_len);
	if (!st.exists || empty)
		wa->reason = "not installed";
	else if (!st.lock_text)
		wa->reason = "not made by envmatrix";
	else if (!same)
		wa->reason = "lock changed";
	else if (o->force)
		wa->reason = "forced";
	else
		wa->reason = NULL;
	if (!wa->reason) {
		wa->outcome = EM_APPLY_UNCHANGED;
	} else if (o->dry_run) {
		wa->outcome = EM_APPLY_WOULD_BUILD;
	} else if (build(r, wa, o->force, !o->force, &e)) {
		fail(out, wa, &e);
	} else {
		wa->outcome = EM_APPLY_BUILT;
		out->nbuilt++;
	}
	wa->seconds = em_os_now_s() - t0;
	emit(r, EM_EV_FINISHED, name, em_apply_outcome_name(wa->outcome), 0, 0);
}

int em_apply_run(struct em_arena *a, struct em_source *src, const struct em_matrix *m,
		 const struct em_apply_options *o, struct em_apply *out, struct em_error *e)
{
	memset(out, 0, sizeof *out);
	out->m = m;
	for (uint32_t i = 0; i < o->plan.nonly; i++)
		if (!em_matrix_find(m, o->plan.only[i]))
			return em_err(e, EM_ENOTFOUND, m->file, "no workload '%s' in the matrix",
				      o->plan.only[i]);
	struct run r;
	memset(&r, 0, sizeof r);
	r.src = src;
	r.a = a;
	r.m = m;
	r.o = o;
	r.interps = o->plan.interps;
	r.mdir = em_path_dir(a, o->plan.matrix_path ? o->plan.matrix_path : m->file);
	out->w = em_arena_array(a, m->nworkloads ? m->nworkloads : 1, sizeof *out->w);
	if (!r.mdir || !out->w)
		return em_err_nomem(e);
	/* no environment where envmatrix keeps its state, none shared */
	int crc = em_matrix_check_folders(a, o->plan.matrix_path ? o->plan.matrix_path : m->file,
					  m, em_settings()->history, e);
	if (crc)
		return crc;

	/* the locks: planned now, or read as they are */
	struct em_plan plan;
	memset(&plan, 0, sizeof plan);
	if (!o->frozen) {
		/* sdists with dynamic metadata are prepared by the build module */
		struct em_plan_options po = o->plan;
		struct em_sdist_hook hook = { src, m, o->plan.matrix_path, o->plan.host,
					      o->plan.interps, o->cancel };
		if (!po.sdist_metadata) {
			po.sdist_metadata = em_apply_sdist_metadata;
			po.sdist_ctx = &hook;
		}
		int rc = em_plan_build(a, src, m, &po, &plan, e);
		if (rc)
			return rc;
		if (!r.interps && plan.found.n)
			r.interps = &plan.found;
	} else {
		plan.w = em_arena_array(a, m->nworkloads ? m->nworkloads : 1, sizeof *plan.w);
		if (!plan.w)
			return em_err_nomem(e);
		for (uint32_t i = 0; i < m->nworkloads; i++) {
			if (!selected(o, m->workloads[i].name))
				continue;
			struct em_workload_plan *wp = &plan.w[plan.n++];
			memset(wp, 0, sizeof *wp);
			wp->w = &m->workloads[i];
			wp->status = read_lock(&r, wp, &wp->err);
			if (wp->status == EM_ENOMEM)
				return em_err_nomem(e);
		}
	}
	for (uint32_t i = 0; i < plan.n; i++) {
		struct em_workload_apply *wa = &out->w[out->n++];
		memset(wa, 0, sizeof *wa);
		wa->w = plan.w[i].w;
		wa->plan = &plan.w[i];
		if (plan.w[i].status)
			fail(out, wa, &plan.w[i].err);
		else if (o->locked && plan.w[i].lock_changed) {
			wa->outcome = EM_APPLY_STALE;
			em_err(&wa->err, EM_EINVAL, plan.w[i].lock_path,
			       "%s%s", plan.w[i].had_lock ? "the lock is out of date" : "there is no lock",
			       em_phrase(EM_PHRASE_LOCK_STALE));
			out->nstale++;
		}
	}
	/* --locked: nothing is built while any lock is stale */
	if (out->nstale || (o->fail_fast && out->nfailed)) {
		for (uint32_t i = 0; i < out->n; i++)
			if (out->w[i].outcome == EM_APPLY_UNCHANGED && !out->w[i].err.code)
				out->w[i].outcome = EM_APPLY_SKIPPED;
		return 0;
	}
	if (!o->frozen && !o->dry_run && !o->keep_locks) {
		int rc = em_plan_write_locks(&plan, e);
		if (rc)
			return rc;
	}
	for (uint32_t i = 0; i < out->n; i++) {
		struct em_workload_apply *wa = &out->w[i];
		if (wa->outcome == EM_APPLY_FAILED)
			continue;
		if (canceled(&r) || (o->fail_fast && out->nfailed)) {
			wa->outcome = EM_APPLY_SKIPPED;
			continue;
		}
		apply_one(&r, out, wa);
		if (wa->outcome == EM_APPLY_FAILED && wa->err.code == EM_ECANCELED) {
			close_cache(&r);
			return em_err(e, EM_ECANCELED, NULL, "interrupted; environments not yet "
				      "swapped in are as they were");
		}
	}
	close_cache(&r);
	if (canceled(&r))
		return em_err(e, EM_ECANCELED, NULL, "interrupted");
	return 0;
}
