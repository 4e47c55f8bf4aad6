/* plan_target.c - a workload's target: its platform, and the Python the
 * plan uses (an interpreter of this machine, or a python-build-standalone
 * download) */
#include "plan_target.h"
#include "interp.h"
#include "os/fs.h"
#include "pybuild.h"
#include "settings.h"

#include <stdio.h>
#include <string.h>

/* ---- the Python of a workload ---- */

static bool py_newer(const struct em_python *a, const struct em_python *b)
{
	if (a->minor != b->minor)
		return a->minor > b->minor;
	if (a->micro != b->micro)
		return a->micro > b->micro;
	/* a final release beats its pre-releases */
	return !a->pre[0] && b->pre[0];
}

/* The python-build-standalone build for the workload's Python, from the
 * catalogue at the mirror: "download". why_local says what was looked
 * for on this machine, for the error when the catalogue has nothing. */
static int python_download(struct em_arena *a, const struct em_plan_options *o,
			   struct em_workload_plan *wp, const char *mirror, const char *where,
			   const char *why_local, struct em_error *e)
{
	const struct em_python_req *req = &wp->w->python_req;
	const struct em_pybuild *b;
	struct em_error fe;
	em_error_clear(&fe);
	int rc = em_pybuild_find(a, o->python_src, mirror, &wp->target.plat, &req->version,
				 req->kind == EM_PYTHON_SPEC ? &req->spec : NULL,
				 wp->w->python.value, &b, &fe);
	if (rc == EM_ENOMEM)
		return em_err_nomem(e);
	if (rc)
		return em_err(e, rc, where, "%s%s", why_local, fe.msg);
	wp->target.py = b->py;
	wp->python_from = "download";
	wp->python_build = b;
	return 0;
}

/* The build behind an interpreter of envmatrix's managed folder. */
static void note_managed(struct em_arena *a, struct em_workload_plan *wp, const struct em_interp *it)
{
	if (strcmp(it->source, "envmatrix"))
		return;
	char *dir = em_interp_managed_dir(a, NULL);
	struct em_pybuild_installed inst;
	if (!dir || em_pybuild_installed_for(a, dir, it->path, &inst, NULL))
		return;
	struct em_pybuild *b = em_arena_alloc(a, sizeof *b);
	if (!b)
		return;
	*b = inst.build;
	wp->python_build = b;
}

/* The interpreters of this machine, discovered into *own on first need. */
static int need_interps(struct em_arena *a, const struct em_interp_list **interps,
			struct em_interp_list *own, struct em_error *e)
{
	if (!*interps) {
		int rc = em_interp_discover(a, own, e);
		if (rc)
			return rc;
		*interps = own;
	}
	return 0;
}

/* An exact version with a python-mirror the user named: this machine's
 * interpreter of that version, else the mirror's build. */
static int exact_python(struct em_arena *a, const struct em_plan_options *o,
			struct em_workload_plan *wp, const char *mirror, const char *where,
			const struct em_interp_list **interps, struct em_interp_list *own,
			bool host_target, struct em_error *e)
{
	const struct em_python_req *req = &wp->w->python_req;
	if (host_target) {
		int rc = need_interps(a, interps, own, e);
		if (rc)
			return rc;
		for (uint32_t i = 0; i < (*interps)->n; i++) {
			const struct em_interp *it = &(*interps)->items[i];
			if (it->py.major == req->version.major &&
			    it->py.minor == req->version.minor &&
			    it->py.micro == req->version.micro &&
			    it->py.freethreaded == req->version.freethreaded &&
			    !strcmp(it->py.pre, req->version.pre)) {
				note_managed(a, wp, it);
				return 0;
			}
		}
	}
	return python_download(a, o, wp, mirror, where,
			       host_target ? "no such interpreter on this machine, and "
					   : "",
			       e);
}

/* A series or a specifier: the newest interpreter of l that fits, NULL. */
static const struct em_interp *newest_fitting(const struct em_interp_list *l,
					      const struct em_python_req *req)
{
	const struct em_interp *best = NULL;
	for (uint32_t i = 0; i < l->n; i++) {
		const struct em_interp *it = &l->items[i];
		bool ok;
		if (req->kind == EM_PYTHON_MINOR) {
			ok = it->py.major == req->version.major && it->py.minor == req->version.minor &&
			     it->py.freethreaded == req->version.freethreaded;
		} else {
			char full[48];
			snprintf(full, sizeof full, "%u.%u.%u%s", it->py.major, it->py.minor,
				 it->py.micro, it->py.pre);
			ok = !it->py.freethreaded && em_specset_contains_str(&req->spec, full, strlen(full),
									     EM_PRE_DEFAULT);
		}
		if (ok && (!best || py_newer(&it->py, &best->py)))
			best = it;
	}
	return best;
}

static int choose_python(struct em_arena *a, const struct em_matrix *m,
			 const struct em_plan_options *o, struct em_workload_plan *wp,
			 const char *file, const struct em_interp_list **interps,
			 struct em_interp_list *own, bool host_target, struct em_error *e)
{
	const struct em_setting *ps = &wp->w->python;
	const struct em_python_req *req = &wp->w->python_req;
	char where[EM_ERROR_WHERE_MAX];
	snprintf(where, sizeof where, "%s:%u", file, (unsigned)ps->line);
	const char *v = ps->value;
	/* downloads: not when python-home names the installation; for an
	 * exact version or another platform only from a python-mirror the
	 * user named (the default mirror is for "3.12" on this machine) */
	bool explicit_mirror = false;
	const char *mirror = NULL;
	if (o->python_src && !wp->w->python_home.value) {
		char *mdir = em_path_dir(a, o->matrix_path ? o->matrix_path : file);
		mirror = mdir ? em_pybuild_mirror(a, m->python_mirror.value, mdir, &explicit_mirror)
			      : NULL;
		if (!mirror)
			return em_err_nomem(e);
	}
	switch (req->kind) {
	case EM_PYTHON_EXACT:
		wp->target.py = req->version;
		wp->python_from = "matrix";
		if (!mirror || !explicit_mirror)
			return 0;
		return exact_python(a, o, wp, mirror, where, interps, own, host_target, e);
	case EM_PYTHON_PATH: {
		if (!host_target)
			return em_err(e, EM_EINVAL, where,
				      "python is an interpreter path, which only works when the "
				      "workload's platform is this machine (platform = auto)");
		struct em_interp it;
		int rc = em_interp_query(a, v, &it, e);
		if (rc) {
			em_err_prefix_where(e, "%s", where);
			return rc;
		}
		wp->target.py = it.py;
		wp->python_from = it.path;
		return 0;
	}
	case EM_PYTHON_MINOR:
	case EM_PYTHON_SPEC:
		break;
	case EM_PYTHON_UNSET:
		return em_err(e, EM_EINVAL, file, "workload '%s' has no python", wp->w->name);
	}
	/* a series or a specifier: the newest interpreter here that fits */
	if (!host_target) {
		if (mirror && explicit_mirror)
			return python_download(a, o, wp, mirror, where, "", e);
		return em_err(e, EM_EINVAL, where,
			      "python = %s picks among this machine's interpreters, but the "
			      "workload is planned for %s: give the exact version (e.g. "
			      "python = 3.12.10), or a python-mirror to pick from", v,
			      wp->platform_name);
	}
	int rc = need_interps(a, interps, own, e);
	if (rc)
		return rc;
	const struct em_interp *best = newest_fitting(*interps, req);
	if (!best && mirror) {
		char *why = em_arena_printf(a, "no Python %s interpreter found on this machine "
					    "(looked in PATH, pyenv, uv's and envmatrix's "
					    "folders), and ", v);
		return why ? python_download(a, o, wp, mirror, where, why, e) : em_err_nomem(e);
	}
	char adv[EM_PHRASE_MAX];
	if (!best)
		return em_err(e, EM_ENOTFOUND, where,
			      "no Python %s interpreter found on this machine (looked in PATH, "
			      "pyenv, uv's and envmatrix's folders); install one%s, or give the "
			      "exact version (python = X.Y.Z) to plan without it", v,
			      em_phrase_arg(adv, sizeof adv, EM_PHRASE_INSTALL_PYTHON, v));
	wp->target.py = best->py;
	wp->python_from = best->path;
	note_managed(a, wp, best);
	return 0;
}

int em_plan_target(struct em_arena *a, const struct em_matrix *m, const struct em_plan_options *o,
		   const struct em_interp_list **interps, struct em_interp_list *own,
		   struct em_workload_plan *wp, struct em_error *e)
{
	const struct em_workload *w = wp->w;
	const char *file = m->file;
	char where[EM_ERROR_WHERE_MAX];

	/* the platform */
	const char *plat = w->platform.value ? w->platform.value : "auto";
	bool host_target = !strcmp(plat, "auto");
	if (host_target) {
		if (!o->host)
			return em_err(e, EM_EUSAGE, NULL, "no host platform given for 'auto'");
		wp->target.plat = *o->host;
	} else {
		snprintf(where, sizeof where, "%s:%u", file, (unsigned)w->platform.line);
		int rc = em_platform_parse(plat, &wp->target.plat, e);
		if (rc) {
			em_err_prefix_where(e, "%s", where);
			return rc;
		}
		if (o->host && wp->target.plat.os == o->host->os &&
		    wp->target.plat.arch == o->host->arch && wp->target.plat.libc == o->host->libc)
			host_target = true; /* this machine, described explicitly */
	}
	em_platform_name(&wp->target.plat, wp->platform_name, sizeof wp->platform_name);

	/* the Python */
	if (!w->python.value)
		return em_err(e, EM_EINVAL, file, "workload '%s' has no python", w->name);
	wp->host_target = host_target;
	int rc = choose_python(a, m, o, wp, file, interps, own, host_target, e);
	if (rc)
		return rc;
	em_python_name(&wp->target.py, wp->python_name, sizeof wp->python_name);
	return 0;
}
