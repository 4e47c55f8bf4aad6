/* install_set.c - which packages and wheels of a PEP 751 lock a target gets
 *
 * PEP 751's installer rules, for a lock written by envmatrix or by any
 * other tool (uv, pdm, pip lock):
 *   - requires-python must contain the target's Python, and when the lock
 *     lists environments one of them must be true for the target;
 *   - a package applies when its marker is true, evaluated with 'extras'
 *     empty and 'dependency_groups' the lock's default-groups;
 *   - at most one entry per name may apply;
 *   - of its wheels, the one whose best tag ranks first for the target
 *     (pip's choice) is installed; it must carry a sha256, and its file
 *     name must be the package's (and the version's, when given);
 *   - a package without a compatible wheel but with an sdist is given
 *     with the sdist (item->sdist), which apply builds into a wheel
 *     (build.h) before installing it;
 *   - a package with only a VCS, directory or non-wheel archive source
 *     cannot be installed by envmatrix, which installs wheels and sdists.
 */
#include "install_set.h"
#include "os/fs.h"
#include "spec/name.h"
#include "spec/pep508.h"
#include "util/sha256.h"
#include "spec/tags.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static int marker_true(struct em_arena *a, const char *text, const struct em_marker_env *env,
		       bool *result, struct em_error *e)
{
	struct em_marker *m;
	int rc = em_marker_parse(a, text, strlen(text), &m, e);
	if (rc)
		return rc;
	return em_marker_eval(m, env, result, e);
}

static int where_err(struct em_error *e, int rc, const char *lock_path, uint32_t line)
{
	if (line)
		em_err_prefix_where(e, "%s:%u", lock_path, (unsigned)line);
	else
		em_err_prefix_where(e, "%s", lock_path);
	return rc;
}

/* The best wheel of p for tags, or an error saying why there is none. */
static int pick_wheel(struct em_arena *a, const struct em_lock_package *p, const char *lock_path,
		      const struct em_target *t, const struct em_tagset *tags,
		      const struct em_lock_file **out, struct em_error *e)
{
	const struct em_lock_file *best = NULL;
	long best_rank = -1;
	struct em_version pv;
	bool have_pv = p->version && em_version_parse(a, p->version, strlen(p->version), &pv,
							   NULL) == 0;
	/* an archive that is a wheel is one more wheel (PEP 751 allows both) */
	const struct em_lock_file *arch = NULL;
	if (p->archive && p->archive->name) {
		size_t nl = strlen(p->archive->name);
		if (nl > 4 && !strcasecmp(p->archive->name + nl - 4, ".whl"))
			arch = p->archive;
	}
	uint32_t nfiles = p->nwheels + (arch ? 1 : 0);
	for (uint32_t i = 0; i < nfiles; i++) {
		const struct em_lock_file *f = i < p->nwheels ? &p->wheels[i] : arch;
		struct em_wheel_name wn;
		struct em_error we;
		if (!f->name || em_wheel_name_parse(a, f->name, strlen(f->name), &wn, &we)) {
			em_err(e, EM_EINVAL, NULL, "package '%s': '%s' is not a wheel file name: %s",
			       p->name, f->name ? f->name : "", f->name ? we.msg : "no name");
			return where_err(e, EM_EINVAL, lock_path, f->line);
		}
		if (strcmp(wn.name, p->name)) {
			em_err(e, EM_EINVAL, NULL, "package '%s' lists the wheel '%s' of project '%s'",
			       p->name, f->name, wn.name);
			return where_err(e, EM_EINVAL, lock_path, f->line);
		}
		if (have_pv && em_version_cmp(&wn.version, &pv) != 0) {
			em_err(e, EM_EINVAL, NULL,
			       "package '%s' %s lists the wheel '%s' of version %s", p->name,
			       p->version, f->name, wn.version.str);
			return where_err(e, EM_EINVAL, lock_path, f->line);
		}
		long r = em_wheel_rank(tags, &wn, NULL);
		if (r >= 0 && (best_rank < 0 || r < best_rank)) {
			best = f;
			best_rank = r;
		}
	}
	if (best) {
		if (!best->sha256) {
			em_err(e, EM_EINVAL, NULL,
			       "package '%s': the wheel '%s' has no sha256; envmatrix installs only "
			       "files it can verify", p->name, best->name);
			return where_err(e, EM_EINVAL, lock_path, best->line);
		}
		*out = best;
		return 0;
	}
	char pyname[32], plat[64];
	em_python_name(&t->py, pyname, sizeof pyname);
	em_platform_name(&t->plat, plat, sizeof plat);
	if (nfiles)
		em_err(e, EM_ENOTFOUND, NULL,
		       "package '%s' %s has no wheel for Python %s on %s (it lists %u, e.g. '%s')",
		       p->name, p->version ? p->version : "", pyname, plat, (unsigned)nfiles,
		       p->nwheels ? p->wheels[0].name : arch->name);
	else if (p->has_sdist)
		em_err(e, EM_EUNSUPPORTED, NULL,
		       "package '%s' %s has a source distribution without a file envmatrix can "
		       "verify (it needs a name, a url or path, and a sha256)", p->name,
		       p->version ? p->version : "");
	else if (p->has_other_source)
		em_err(e, EM_EUNSUPPORTED, NULL,
		       "package '%s' comes from a %s; envmatrix installs wheels only (build "
		       "a wheel and lock that)", p->name,
		       p->archive ? "source archive" : "VCS or directory source");
	else
		em_err(e, EM_EINVAL, NULL, "package '%s' lists no file to install", p->name);
	return where_err(e, e && e->code ? e->code : EM_ENOTFOUND, lock_path, p->line);
}

/* The lock as a whole is for the target: requires-python holds its
 * Python (pyfull) and one of the environments, when it lists some, is
 * true. */
static int lock_fits(struct em_arena *a, const struct em_lock *l, const char *lock_path,
		     const struct em_target *t, const struct em_marker_env *env,
		     const char *pyfull, struct em_error *e)
{
	if (l->requires_python) {
		struct em_specset rp;
		struct em_error se;
		if (em_specset_parse(a, l->requires_python, strlen(l->requires_python), &rp, &se)) {
			em_err(e, EM_EINVAL, NULL, "requires-python: %s", se.msg);
			return where_err(e, EM_EINVAL, lock_path, 0);
		}
		if (!em_specset_contains_str(&rp, pyfull, strlen(pyfull), EM_PRE_ALLOW)) {
			em_err(e, EM_EINVAL, NULL,
			       "the lock requires Python %s, but the target's is %s", l->requires_python,
			       pyfull);
			return where_err(e, EM_EINVAL, lock_path, 0);
		}
	}
	if (l->nenvironments) {
		bool any = false;
		for (uint32_t i = 0; i < l->nenvironments && !any; i++) {
			bool r = false;
			struct em_error me;
			if (marker_true(a, l->environments[i], env, &r, &me) == 0)
				any = r;
		}
		if (!any) {
			char plat[64];
			em_platform_name(&t->plat, plat, sizeof plat);
			em_err(e, EM_EINVAL, NULL,
			       "the lock is for other environments (%s%s), not Python %s on %s",
			       l->environments[0], l->nenvironments > 1 ? ", ..." : "", pyfull, plat);
			return where_err(e, EM_EINVAL, lock_path, 0);
		}
	}
	return 0;
}

/* The file package p installs from: its best wheel (*f), else its sdist
 * (*sd), built at apply; the package's requires-python must hold the
 * target's Python. */
static int package_file(struct em_arena *a, const struct em_lock_package *p,
			const char *lock_path, const struct em_target *t,
			const struct em_tagset *tags, const char *pyfull,
			const struct em_lock_file **f, const struct em_lock_file **sd,
			struct em_error *e)
{
	*f = *sd = NULL;
	if (p->requires_python) {
		struct em_specset rp;
		struct em_error se;
		if (em_specset_parse(a, p->requires_python, strlen(p->requires_python), &rp,
				     &se) == 0 &&
		    !em_specset_contains_str(&rp, pyfull, strlen(pyfull), EM_PRE_ALLOW)) {
			em_err(e, EM_EINVAL, NULL,
			       "package '%s' %s requires Python %s, but the target's is %s",
			       p->name, p->version ? p->version : "", p->requires_python,
			       pyfull);
			return where_err(e, EM_EINVAL, lock_path, p->line);
		}
	}
	int rc = pick_wheel(a, p, lock_path, t, tags, f, e);
	if (rc == EM_ENOTFOUND || rc == EM_EUNSUPPORTED) {
		/* no wheel for the target: its sdist, built at apply */
		const struct em_lock_file *s = p->sdist;
		if (!s || !s->name || (!s->url && !s->path))
			return rc;
		if (!s->sha256) {
			em_err(e, EM_EINVAL, NULL,
			       "package '%s': the sdist '%s' has no sha256; envmatrix builds "
			       "only files it can verify", p->name, s->name);
			return where_err(e, EM_EINVAL, lock_path, s->line);
		}
		em_error_clear(e);
		*sd = s;
		return 0;
	}
	return rc;
}

int em_lock_install_set(struct em_arena *a, const struct em_lock *l, const char *lock_path,
			const struct em_target *t, const struct em_tagset *tags,
			struct em_install_item **items, uint32_t *n, struct em_error *e)
{
	*items = NULL;
	*n = 0;
	struct em_target_env te;
	em_target_marker_env(t, &te);
	struct em_marker_env env = te.env;
	env.extras_defined = true;
	env.extras = NULL;
	env.nextras = 0;
	env.groups_defined = true;
	env.dependency_groups = (const char *const *)l->default_groups;
	env.ngroups = l->ndefault_groups;
	char pyfull[48];
	em_python_name(&t->py, pyfull, sizeof pyfull);
	if (t->py.freethreaded)
		pyfull[strlen(pyfull) - 1] = '\0'; /* "3.13.1t" is version 3.13.1 */
	int rc = lock_fits(a, l, lock_path, t, &env, pyfull, e);
	if (rc)
		return rc;

	struct em_install_item *out = em_arena_array(a, l->npackages ? l->npackages : 1,
						     sizeof *out);
	if (!out)
		return em_err_nomem(e);
	char *lock_dir = em_path_dir(a, em_path_absolute(a, lock_path));
	if (!lock_dir)
		return em_err_nomem(e);
	uint32_t k = 0;
	for (uint32_t i = 0; i < l->npackages; i++) {
		const struct em_lock_package *p = &l->packages[i];
		if (p->marker) {
			bool r;
			rc = marker_true(a, p->marker, &env, &r, e);
			if (rc) {
				em_err_prefix_where(e, "package '%s'", p->name);
				return where_err(e, rc, lock_path, p->line);
			}
			if (!r)
				continue;
		}
		for (uint32_t j = 0; j < k; j++) {
			if (!strcmp(out[j].pkg->name, p->name)) {
				em_err(e, EM_EINVAL, NULL,
				       "package '%s' is listed twice for this target (line %u and "
				       "this one); their markers must exclude each other",
				       p->name, (unsigned)out[j].pkg->line);
				return where_err(e, EM_EINVAL, lock_path, p->line);
			}
		}
		const struct em_lock_file *f, *sd;
		if ((rc = package_file(a, p, lock_path, t, tags, pyfull, &f, &sd, e)))
			return rc;
		const struct em_lock_file *use = sd ? sd : f;
		const char *loc = use->url ? use->url : em_path_join(a, lock_dir, use->path);
		if (!loc)
			return em_err_nomem(e);
		out[k++] = (struct em_install_item){ p, f, loc, sd };
	}
	*items = out;
	*n = k;
	return 0;
}

int em_lock_built_from_source(struct em_arena *a, const char *text, size_t len,
			      const char *lock_path, const char ***names, uint32_t *n)
{
	*names = NULL;
	*n = 0;
	struct em_lock l;
	struct em_target t;
	struct em_tagset tags;
	struct em_install_item *items;
	uint32_t ni;
	if (!text || em_lock_parse(a, text, len, lock_path, &l, NULL) || !l.platform ||
	    !l.python || em_platform_parse(l.platform, &t.plat, NULL) ||
	    em_python_parse(l.python, &t.py, NULL) || em_tags_for_target(a, &t, &tags, NULL) ||
	    em_lock_install_set(a, &l, lock_path, &t, &tags, &items, &ni, NULL))
		return 0;
	const char **v = em_arena_array(a, ni ? ni : 1, sizeof *v);
	if (!v)
		return EM_ENOMEM;
	uint32_t k = 0;
	for (uint32_t i = 0; i < ni; i++)
		if (items[i].sdist && !items[i].wheel)
			v[k++] = items[i].pkg->name;
	*names = v;
	*n = k;
	return 0;
}
