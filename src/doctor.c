/* doctor.c - the CPU, free disk, and whether this machine runs a workload */
#include "doctor.h"
#include "plan_target.h"
#include "swap.h"
#include "os/fs.h"
#include "spec/lock.h"
#include "lockname.h"
#include "pybuild.h"
#include "venv.h"
#include "os/sys.h"
#include "util/str.h"
#include "settings.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CPUINFO (4u << 20)

void em_host_cpu(const char *sysroot, struct em_cpu_info *out)
{
	memset(out, 0, sizeof *out);
	long n = em_os_cpu_count();
	out->cores = n > 0 ? (unsigned)n : 0;
	struct em_arena a;
	em_arena_init(&a);
	char *path = em_arena_printf(&a, "%s/proc/cpuinfo", sysroot && *sysroot ? sysroot : "");
	char *text;
	size_t len;
	if (path && em_read_file(&a, path, MAX_CPUINFO, &text, &len, NULL) == 0) {
		unsigned procs = 0;
		for (const char *l = text; *l;) {
			const char *eol = strchr(l, '\n');
			size_t ln = eol ? (size_t)(eol - l) : strlen(l);
			const char *colon = memchr(l, ':', ln);
			if (colon) {
				size_t kn = (size_t)(colon - l);
				while (kn && em_is_ascii_space((unsigned char)l[kn - 1]))
					kn--;
				const char *v = colon + 1;
				size_t vn = ln - (size_t)(v - l);
				while (vn && em_is_ascii_space((unsigned char)*v)) {
					v++;
					vn--;
				}
				if (kn == 9 && !memcmp(l, "processor", 9))
					procs++;
				/* x86: "model name"; arm64 has none (left empty) */
				if (!out->model[0] && kn == 10 && !memcmp(l, "model name", 10)) {
					size_t k = 0;
					for (size_t i = 0; i < vn && k + 1 < sizeof out->model; i++)
						out->model[k++] = (v[i] >= 0x20 && v[i] < 0x7f) ? v[i] : '?';
					out->model[k] = '\0';
				}
			}
			l += ln + (eol ? 1 : 0);
		}
		/* a recorded host: its own count, not this machine's */
		if (sysroot && *sysroot && procs)
			out->cores = procs;
	}
	em_arena_release(&a);
}

int em_disk_space(struct em_arena *a, const char *path, uint64_t *free_bytes, uint64_t *total,
		  struct em_error *e)
{
	char *p = em_path_absolute(a, path);
	if (!p)
		return em_err_nomem(e);
	for (;;) {
		if (em_os_space(p, free_bytes, total) == 0)
			return 0;
		if (errno != ENOENT && errno != ENOTDIR)
			return em_err_sys(e, errno, p, "cannot read the file system's free space");
		char *slash = strrchr(p, '/');
		if (!slash)
			return em_err(e, EM_ENOTFOUND, path, "no existing folder above it");
		if (slash == p) {
			if (p[1] == '\0')
				return em_err(e, EM_ENOTFOUND, path, "no existing folder above it");
			p[1] = '\0';
		} else {
			*slash = '\0';
		}
	}
}

static void note(struct em_doctor_workload *out, const char *text)
{
	if (text && out->nnotes < EM_DOCTOR_MAX_NOTES)
		out->notes[out->nnotes++] = text;
}

/* the torch version and variant of the workload's lock, when there is one */
static void from_lock(struct em_arena *a, const char *matrix_path, const struct em_workload *w,
		      const char **torch, const char **variant)
{
	char *path;
	char *text;
	size_t len;
	struct em_lock l;
	if (em_matrix_lock_path(a, matrix_path, w->name, &path, NULL) ||
	    em_read_file(a, path, EM_TOML_MAX_LEN, &text, &len, NULL) ||
	    em_lock_parse(a, text, len, path, &l, NULL) ||
	    em_lock_check_matrix(&l, path, matrix_path, NULL))
		return;
	for (uint32_t i = 0; i < l.npackages; i++)
		if (!strcmp(l.packages[i].name, "torch"))
			*torch = l.packages[i].version;
	if (l.torch_variant)
		*variant = l.torch_variant;
}

/* "==2.8.0" -> "2.8.0"; NULL unless the specifier names one version */
static const char *exact_torch(struct em_arena *a, const struct em_specset *spec)
{
	struct em_buf b = EM_BUF_INIT;
	em_specset_format(spec, &b);
	const char *r = NULL;
	if (!b.err && !strncmp(b.ptr, "==", 2) && !strchr(b.ptr, ','))
		r = em_arena_strdup(a, b.ptr + 2);
	em_buf_release(&b);
	return r;
}

/* The workload cannot run here, for reason (NULL: out of memory). */
static int blocked(struct em_doctor_workload *out, const char *reason, struct em_error *e)
{
	out->can_run = false;
	out->reason = reason;
	return reason ? 0 : em_err_nomem(e);
}

/* The platform and the Python, as the planner chooses them (into wp). */
static int check_target(struct em_arena *a, const struct em_matrix *m,
			const struct em_plan_options *o, const struct em_interp_list **interps,
			struct em_interp_list *own, struct em_workload_plan *wp,
			struct em_doctor_workload *out, struct em_error *e)
{
	struct em_error pe;
	em_error_clear(&pe);
	int rc = em_plan_target(a, m, o, interps, own, wp, &pe);
	if (rc == EM_ENOMEM)
		return em_err_nomem(e);
	snprintf(out->platform, sizeof out->platform, "%s", wp->platform_name);
	if (wp->platform_name[0] && !wp->host_target) {
		char host[64] = "";
		if (o->host)
			em_platform_name(o->host, host, sizeof host);
		return blocked(out, em_arena_printf(a, "it is for %s, and this machine is %s; apply it "
						    "there, or set platform = auto", wp->platform_name,
						    host[0] ? host : "another platform"), e);
	}
	if (rc)
		return blocked(out, em_arena_printf(a, "%s%s%s", pe.where, pe.where[0] ? ": " : "",
						    pe.msg), e);
	snprintf(out->python, sizeof out->python, "%s", wp->python_name);
	out->python_from = wp->python_from;
	return 0;
}

/* What apply reads before it builds: the requirements file... */
static int check_requirements(struct em_arena *a, const struct em_matrix *m,
			      const struct em_workload *w, const char *mdir,
			      struct em_doctor_workload *out, struct em_error *e)
{
	if (!w->requirements.value)
		return 0;
	char *req = em_path_join(a, mdir, w->requirements.value);
	struct em_stat st;
	if (!req)
		return em_err_nomem(e);
	if (em_os_stat(req, &st) != 0 || st.type != EM_FT_FILE)
		return blocked(out, em_arena_printf(a, "requirements, %s:%u: '%s' %s", m->file,
						    (unsigned)w->requirements.line, req,
						    em_os_stat(req, &st) != 0 ? "does not exist"
									      : "is not a file"), e);
	return 0;
}

/* ...and the base interpreter: python-home as apply takes it */
static int check_python_home(struct em_arena *a, const struct em_matrix *m,
			     const struct em_workload *w, const char *mdir,
			     const struct em_workload_plan *wp, struct em_doctor_workload *out,
			     struct em_error *e)
{
	char *home = em_path_join(a, mdir, w->python_home.value);
	home = home ? em_path_absolute(a, home) : NULL;
	if (!home)
		return em_err_nomem(e);
	struct em_base_python bp;
	struct em_error pe;
	em_error_clear(&pe);
	int rc = em_base_python_from_home(a, home, &wp->target.plat, &wp->target.py, &bp, &pe);
	if (rc == EM_ENOMEM)
		return em_err_nomem(e);
	if (rc)
		return blocked(out, em_arena_printf(a, "python-home, %s:%u: %s%s%s", m->file,
						    (unsigned)w->python_home.line, pe.where,
						    pe.where[0] ? ": " : "", pe.msg), e);
	out->python_from = bp.executable ? bp.executable : home;
	return 0;
}

/* An exact python version: on this machine, else downloadable from the
 * mirror the matrix names (the planner needs no interpreter for an exact
 * version; apply does). */
static int check_exact_python(struct em_arena *a, const struct em_matrix *m,
			      const struct em_plan_options *o, const struct em_interp_list **interps,
			      struct em_interp_list *own, const char *mdir,
			      const struct em_workload_plan *wp, struct em_doctor_workload *out,
			      struct em_error *e)
{
	if (!*interps && em_interp_discover(a, own, NULL) == 0)
		*interps = own;
	bool found = false;
	for (uint32_t i = 0; *interps && i < (*interps)->n && !found; i++) {
		char v[32];
		em_python_name(&(*interps)->items[i].py, v, sizeof v);
		if (!strcmp(v, wp->python_name)) {
			found = true;
			out->python_from = (*interps)->items[i].path;
		}
	}
	bool explicit_mirror = false;
	const char *mirror = found || wp->python_build || !o->python_src
				     ? NULL
				     : em_pybuild_mirror(a, m->python_mirror.value, mdir,
							 &explicit_mirror);
	if (!found && mirror && explicit_mirror) {
		/* apply downloads it: ask the catalogue named for it (the
		 * default one on the network is not asked) */
		const struct em_pybuild *b;
		struct em_error pe;
		em_error_clear(&pe);
		int rc = em_pybuild_find(a, o->python_src, mirror, &wp->target.plat, &wp->target.py,
					 NULL, wp->python_name, &b, &pe);
		if (rc == EM_ENOMEM)
			return em_err_nomem(e);
		if (rc) {
			char adv[EM_PHRASE_MAX];
			return blocked(out, em_arena_printf(
				a, "python %s is not on this machine (PATH, pyenv, uv's and "
				"envmatrix's folders), and no download provides it: %s; install "
				"it%s, or set python-home", wp->python_name, pe.msg,
				em_phrase_arg(adv, sizeof adv, EM_PHRASE_INSTALL_PYTHON,
					      wp->python_name)), e);
		}
		out->python_from = b->url;
	} else if (!found && !wp->python_build) {
		note(out, em_arena_printf(a, "python %s is not on this machine (PATH, pyenv); "
					  "apply needs it, or python-home", wp->python_name));
	}
	return 0;
}

/* The NVIDIA driver against what variant needs on os: cuda-driver,
 * ENVMATRIX_CUDA_DRIVER, else detected. */
static int check_driver(struct em_arena *a, const struct em_matrix *m, const struct em_workload *w,
			const struct em_plan_options *o, const char *variant, enum em_os os,
			struct em_doctor_workload *out, struct em_error *e)
{
	const char *drv_text = NULL, *drv_where = NULL;
	if (w->cuda_driver.value && strcmp(w->cuda_driver.value, "auto")) {
		drv_text = w->cuda_driver.value;
		drv_where = em_arena_printf(a, "cuda-driver, %s:%u", m->file, (unsigned)w->cuda_driver.line);
	} else if (o->driver_env && *o->driver_env) {
		drv_text = o->driver_env;
		drv_where = "ENVMATRIX_CUDA_DRIVER";
	} else if (o->gpu && o->gpu->have_driver) {
		drv_text = o->gpu->driver;
		drv_where = em_arena_printf(a, "detected from %s", o->gpu->driver_source);
	}
	struct em_driver_version drv, floor;
	bool have_driver = drv_text && em_driver_parse(drv_text, &drv, NULL) == 0;
	const char *os_name = os == EM_OS_WINDOWS ? "Windows" : "Linux";
	if (!em_driver_minimum(variant, os, &floor))
		return 0;
	char need[32];
	em_driver_format(&floor, need, sizeof need);
	if (!have_driver)
		return blocked(out, em_arena_printf(
			a, "%s needs an NVIDIA driver >= %s on %s, and none was found%s%s%s; "
			"install the driver, or set cuda = cpu (or auto)", variant, need, os_name,
			o->gpu && o->gpu->tried[0] ? " (" : "",
			o->gpu && o->gpu->tried[0] ? o->gpu->tried : "",
			o->gpu && o->gpu->tried[0] ? ")" : ""), e);
	if (em_driver_cmp(&drv, &floor) < 0) {
		unsigned cmaj, cmin;
		char runs[64] = "";
		if (em_driver_max_cuda(&drv, os, &cmaj, &cmin))
			snprintf(runs, sizeof runs, " (it runs CUDA %u.%u at most)", cmaj, cmin);
		return blocked(out, em_arena_printf(
			a, "%s needs an NVIDIA driver >= %s on %s, but the driver is %s (%s)%s; "
			"update the driver to %s or newer, or choose an older variant", variant,
			need, os_name, drv_text, drv_where, runs, need), e);
	}
	struct em_driver_version strict;
	const char *toolkit;
	if (em_driver_toolkit_minimum(variant, os, &strict, &toolkit) &&
	    em_driver_cmp(&drv, &strict) < 0) {
		char s[32];
		em_driver_format(&strict, s, sizeof s);
		note(out, em_arena_printf(a, "%s is built with CUDA %s, which wants a driver >= %s; "
					  "%s runs it through minor-version compatibility",
					  variant, toolkit, s, drv_text));
	}
	return 0;
}

/* The variant and torch build: the driver, then torch against the GPU. */
static int check_torch(struct em_arena *a, const struct em_matrix *m, const struct em_workload *w,
		       const struct em_plan_options *o, const char *matrix_path, enum em_os os,
		       struct em_doctor_workload *out, struct em_error *e)
{
	const char *variant = w->cuda_spec.kind == EM_CUDA_AUTO ? "auto" : w->cuda_spec.variant;
	const char *torch = NULL, *locked_variant = NULL;
	from_lock(a, matrix_path, w, &torch, &locked_variant);
	if (!torch)
		torch = exact_torch(a, &w->torch_spec);
	if (!strcmp(variant, "auto") && locked_variant)
		variant = locked_variant;
	out->variant = variant;
	out->torch = torch;

	int rc = check_driver(a, m, w, o, variant, os, out, e);
	if (rc || !out->can_run)
		return rc;
	if (torch) {
		struct em_error pe;
		em_error_clear(&pe);
		if (em_gpu_check_torch(o->gpu, torch, variant, os, &pe))
			return blocked(out, em_arena_strdup(a, pe.msg), e);
	} else if (strcmp(variant, "cpu") && strcmp(variant, "auto")) {
		note(out, em_arena_printf(a, "the torch version is known once planned%s",
					  em_phrase(EM_PHRASE_TORCH_UNPLANNED)));
	}
	return 0;
}

int em_doctor_workload(struct em_arena *a, const struct em_matrix *m, const struct em_workload *w,
		       const struct em_plan_options *o, const struct em_interp_list **interps,
		       struct em_interp_list *own, struct em_doctor_workload *out,
		       struct em_error *e)
{
	memset(out, 0, sizeof *out);
	out->w = w;
	out->can_run = true;
	const char *matrix_path = o->matrix_path ? o->matrix_path : m->file;

	struct em_venv_paths vp;
	if (em_venv_paths(a, matrix_path, w, &vp, NULL) == 0) {
		out->venv = vp.root;
		out->disk_known = em_disk_space(a, vp.root, &out->disk_free, &out->disk_total,
						NULL) == 0;
	}

	struct em_workload_plan wp;
	memset(&wp, 0, sizeof wp);
	wp.w = w;
	int rc = check_target(a, m, o, interps, own, &wp, out, e);
	if (rc || !out->can_run)
		return rc;
	char *mdir = em_path_dir(a, matrix_path);
	if (!mdir)
		return em_err_nomem(e);
	rc = check_requirements(a, m, w, mdir, out, e);
	if (rc || !out->can_run)
		return rc;
	if (w->python_home.value)
		rc = check_python_home(a, m, w, mdir, &wp, out, e);
	else if (w->python_req.kind == EM_PYTHON_EXACT)
		rc = check_exact_python(a, m, o, interps, own, mdir, &wp, out, e);
	if (rc || !out->can_run || !w->torch.value)
		return rc;
	return check_torch(a, m, w, o, matrix_path, wp.target.plat.os, out, e);
}
