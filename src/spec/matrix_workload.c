/* matrix_workload.c - from the sections of matrix.ini to workloads
 *
 * A workload takes each setting from its own section, else from [matrix],
 * else the default; lists (packages, verify, env) add [matrix]'s to its
 * own. What only holds for the combination is checked here: torch against
 * cuda, a package both refused and asked for as an sdist, and that no two
 * workloads share an environment folder. The questions later stages ask of
 * a workload (em_workload_*) are answered here too.
 */
#include "spec/matrix_int.h"

#define DEFAULT_INDEX_URL "https://pypi.org/simple"
#define DEFAULT_TORCH_INDEX_URL "https://download.pytorch.org/whl"

/* ---- a workload's packages ---- */

static bool pkg_set_names(const struct em_pkg_set *s, const char *name)
{
	for (uint32_t i = 0; i < s->n; i++)
		if (!strcmp(s->names[i], name))
			return true;
	return false;
}

enum em_sdist_rule em_workload_sdist_rule(const struct em_workload *w, const char *name,
					  const struct em_pkg_set **by)
{
	*by = NULL;
	if (pkg_set_names(&w->no_build, name))
		*by = &w->no_build;
	else if (pkg_set_names(&w->only_binary, name))
		*by = &w->only_binary;
	if (*by)
		return EM_SDIST_REFUSE;
	if (pkg_set_names(&w->no_binary, name)) {
		*by = &w->no_binary;
		return EM_SDIST_PREFER;
	}
	if (w->no_build.all)
		*by = &w->no_build;
	else if (w->only_binary.all)
		*by = &w->only_binary;
	if (*by)
		return EM_SDIST_REFUSE;
	if (w->no_binary.all) {
		*by = &w->no_binary;
		return EM_SDIST_PREFER;
	}
	return EM_SDIST_ALLOW;
}

static const struct em_pkg_values *pkg_values_find(const struct em_pkg_values *v, uint32_t n,
						   const char *name)
{
	for (uint32_t i = 0; i < n; i++)
		if (!strcmp(v[i].name, name))
			return &v[i];
	return NULL;
}

const struct em_pkg_values *em_workload_build_requires(const struct em_workload *w,
							const char *name)
{
	return pkg_values_find(w->build_requires, w->nbuild_requires, name);
}

const struct em_pkg_values *em_workload_config_settings(const struct em_workload *w,
							 const char *name)
{
	return pkg_values_find(w->config_settings, w->nconfig_settings, name);
}

bool em_workload_no_isolation(const struct em_workload *w, const char *name)
{
	return pkg_set_names(&w->no_build_isolation, name);
}

/* ---- from sections to workloads ---- */

static const struct em_setting *pick(const struct sect *s, const struct sect *m, enum key k)
{
	if (s->v[k].value)
		return &s->v[k];
	if (m && m->v[k].value)
		return &m->v[k];
	return NULL;
}

static struct em_setting dflt(const char *value)
{
	struct em_setting s = { value, 0 };
	return s;
}

static bool is_torch_variant_label(const char *l)
{
	if (!strcmp(l, "cpu") || !strcmp(l, "xpu") || !strncmp(l, "rocm", 4))
		return true;
	if (l[0] != 'c' || l[1] != 'u' || !l[2])
		return false;
	for (const char *c = l + 2; *c; c++)
		if (!em_is_digit((unsigned char)*c))
			return false;
	return true;
}

/* torch = 2.8.0+cu126 with cuda = 12.4 cannot both hold. */
static int check_torch_cuda(struct mparser *p, const struct sect *s, struct em_workload *w)
{
	if (w->cuda_spec.kind == EM_CUDA_AUTO || w->cuda_spec.kind == EM_CUDA_UNSET)
		return 0;
	for (uint32_t i = 0; i < w->torch_spec.n; i++) {
		const struct em_spec *sp = &w->torch_spec.specs[i];
		if (!sp->has_local || sp->op != EM_OP_EQ)
			continue;
		const char *plus = memchr(sp->text, '+', sp->textlen);
		if (!plus)
			continue;
		char label[32];
		size_t ln = sp->textlen - (size_t)(plus + 1 - sp->text);
		if (ln >= sizeof label)
			continue;
		for (size_t j = 0; j < ln; j++)
			label[j] = (char)em_lower((unsigned char)plus[1 + j]);
		label[ln] = '\0';
		if (!is_torch_variant_label(label) || !strcmp(label, w->cuda_spec.variant))
			continue;
		uint32_t line = w->cuda.line > w->torch.line ? w->cuda.line : w->torch.line;
		char qt[QUOTE], qc[QUOTE];
		return perr(p, line, EM_EINVAL,
			    "workload [%s]: torch '%s' asks for the %s build but cuda is '%s' (%s); "
			    "drop '+%s' from torch or set cuda to match", s->name,
			    q(qt, w->torch.value, strlen(w->torch.value)), label,
			    q(qc, w->cuda.value, strlen(w->cuda.value)), w->cuda_spec.variant, label);
	}
	return 0;
}

/* Name, folders, python, torch and cuda. */
static int inherit_interpreter(struct mparser *p, const struct sect *s, struct em_workload *w)
{
	const struct sect *m = p->matrix;
	const struct em_setting *st;
	w->name = s->name;
	w->line = s->line;
	w->description = s->v[K_DESCRIPTION];
	w->path = s->v[K_PATH].value ? s->v[K_PATH] : dflt(".");
	st = pick(s, m, K_VENV);
	w->venv = st ? *st : dflt(".venv");

	st = pick(s, m, K_PYTHON);
	if (!st)
		return perr(p, s->line, EM_EINVAL,
			    "workload [%s] has no python; add python = 3.12 (or a version for "
			    "every workload in [matrix])", s->name);
	w->python = *st;
	w->python_req = s->v[K_PYTHON].value ? s->py : m->py;

	st = pick(s, m, K_TORCH);
	if (st) {
		w->torch = *st;
		w->torch_spec = s->v[K_TORCH].value ? s->torch : m->torch;
	}
	if (s->v[K_CUDA].value && !w->torch.value)
		return perr(p, s->v[K_CUDA].line, EM_EINVAL,
			    "cuda in [%s]: cuda picks the PyTorch build, but [%s] has no torch; "
			    "add torch = VERSION or remove cuda", s->name, s->name);
	if (w->torch.value) {
		st = pick(s, m, K_CUDA);
		if (st) {
			w->cuda = *st;
			w->cuda_spec = s->v[K_CUDA].value ? s->cuda : m->cuda;
		} else {
			w->cuda = dflt("auto");
			w->cuda_spec.kind = EM_CUDA_AUTO;
		}
		int rc = check_torch_cuda(p, s, w);
		if (rc)
			return rc;
	}
	return 0;
}

/* Settings the matrix itself has defaults for, and find-links. */
static void inherit_settings(const struct sect *s, const struct sect *m,
			     const struct em_matrix *mx, struct em_workload *w)
{
	w->platform = s->v[K_PLATFORM].value ? s->v[K_PLATFORM] : mx->platform;
	w->index_url = s->v[K_INDEX_URL].value ? s->v[K_INDEX_URL] : mx->index_url;
	w->torch_index_url =
		s->v[K_TORCH_INDEX_URL].value ? s->v[K_TORCH_INDEX_URL] : mx->torch_index_url;
	w->cuda_driver = s->v[K_CUDA_DRIVER].value ? s->v[K_CUDA_DRIVER] : mx->cuda_driver;
	w->python_home = s->v[K_PYTHON_HOME].value ? s->v[K_PYTHON_HOME] : mx->python_home;
	w->requirements = s->v[K_REQUIREMENTS];

	/* find-links: the workload's own (even an empty one) replace [matrix]'s */
	const struct sect *fl = s->v[K_FIND_LINKS].line || !m ? s : m;
	w->nfind_links = fl->find_links.n;
	w->find_links = fl->find_links.p;
}

/* A list of [matrix]'s (mine, NULL without [matrix]) followed by the
 * section's own (own), copied into a new array (NULL when both are empty):
 * at most max elements, named what in the message. */
static int join_lists(struct mparser *p, const struct sect *s, const struct vec *mine,
		      const struct vec *own, size_t size, uint32_t max, const char *what,
		      void **out, uint32_t *n)
{
	uint32_t mn = mine ? mine->n : 0;
	uint32_t total = mn + own->n;
	*out = NULL;
	*n = 0;
	if (total > max)
		return perr(p, s->line, EM_ELIMIT,
			    "workload [%s] has more than %u %s with those from [matrix]", s->name,
			    max, what);
	if (!total)
		return 0;
	char *v = em_arena_array(p->a, total, size);
	if (!v)
		return nomem(p);
	if (mn)
		memcpy(v, mine->p, mn * size);
	if (own->n)
		memcpy(v + mn * size, own->p, own->n * size);
	*out = v;
	*n = total;
	return 0;
}

/* no-build, only-binary, no-binary and no-build-isolation: the workload's
 * own, else [matrix]'s; no package both refused as an sdist and asked for
 * as one. */
static int inherit_pkg_sets(struct mparser *p, const struct sect *s, struct em_workload *w)
{
	const struct sect *m = p->matrix;
	struct em_pkg_set *sets[3] = { &w->no_build, &w->only_binary, &w->no_binary };
	for (int k = 0; k < 3; k++) {
		enum key key = (enum key)(K_NO_BUILD + k);
		const struct sect *from = s->v[key].value ? s : (m && m->v[key].value ? m : NULL);
		if (from) {
			*sets[k] = from->pkgs[k];
			sets[k]->setting = from->v[key];
		}
		sets[k]->key = em_mx_keys[key].name;
	}
	for (int k = 0; k < 2; k++) {
		const struct em_pkg_set *r = sets[k], *nb = &w->no_binary;
		const char *both = NULL;
		if (r->all && nb->all)
			both = "every package";
		for (uint32_t i = 0; !both && i < nb->n; i++)
			if (pkg_set_names(r, nb->names[i]))
				both = nb->names[i];
		if (both)
			return perr(p, r->setting.line > nb->setting.line ? r->setting.line
									 : nb->setting.line,
				    EM_EINVAL,
				    "workload [%s]: %s (line %u) refuses the sdist of %s, and "
				    "no-binary (line %u) its wheels; name the package in only one",
				    s->name, r->key, r->setting.line, both, nb->setting.line);
	}

	/* no-build-isolation: the workload's own, else [matrix]'s */
	{
		const struct sect *from = s->v[K_NO_BUILD_ISOLATION].value ? s
					  : (m && m->v[K_NO_BUILD_ISOLATION].value ? m : NULL);
		if (from) {
			w->no_build_isolation = from->pkgs[3];
			w->no_build_isolation.setting = from->v[K_NO_BUILD_ISOLATION];
		}
		w->no_build_isolation.key = em_mx_keys[K_NO_BUILD_ISOLATION].name;
	}
	return 0;
}

/* build-requires.PKG, config-settings.PKG: per PKG the workload's, else
 * [matrix]'s */
static int inherit_pkg_values(struct mparser *p, const struct sect *s, struct em_workload *w)
{
	const struct sect *m = p->matrix;
	for (int k = 0; k < 2; k++) {
		const struct pkgent *me = m ? m->pkgvals[k].p : NULL, *se = s->pkgvals[k].p;
		uint32_t nme = m ? m->pkgvals[k].n : 0, ne = s->pkgvals[k].n, o = 0;
		struct em_pkg_values *pv = em_arena_array(p->a, nme + ne ? nme + ne : 1, sizeof *pv);
		if (!pv)
			return nomem(p);
		for (uint32_t i = 0; i < nme + ne; i++) {
			const struct pkgent *pe = i < nme ? &me[i] : &se[i - nme];
			bool overridden = false;
			for (uint32_t j = 0; i < nme && j < ne && !overridden; j++)
				overridden = !strcmp(pe->name, se[j].name);
			if (overridden)
				continue;
			pv[o++] = (struct em_pkg_values){ pe->key, pe->name, pe->line, pe->vals.n,
							  pe->vals.p };
		}
		if (k == 0) {
			w->build_requires = pv;
			w->nbuild_requires = o;
		} else {
			w->config_settings = pv;
			w->nconfig_settings = o;
		}
	}
	return 0;
}

/* A package no sdist is allowed for is never built. */
static int check_isolation(struct mparser *p, const struct sect *s, const struct em_workload *w)
{
	const struct em_pkg_set *sets[2] = { &w->no_build, &w->only_binary };
	for (uint32_t i = 0; i < w->no_build_isolation.n; i++) {
		const char *name = w->no_build_isolation.names[i];
		uint32_t line = w->no_build_isolation.setting.line;
		for (int k = 0; k < 2; k++) {
			const struct em_pkg_set *r = sets[k];
			if (!pkg_set_names(r, name))
				continue;
			return perr(p, line > r->setting.line ? line : r->setting.line, EM_EINVAL,
				    "workload [%s]: %s (line %u) refuses the sdist of %s, which "
				    "no-build-isolation (line %u) builds; name the package in only "
				    "one", s->name, r->key, r->setting.line, name, line);
		}
	}
	return 0;
}

/* env: [matrix]'s that the workload does not set, then its own */
static int inherit_env(struct mparser *p, const struct sect *s, struct em_workload *w)
{
	const struct sect *m = p->matrix;
	const struct em_env_var *me = m ? m->env.p : NULL;
	const struct em_env_var *se = s->env.p;
	uint32_t nme = m ? m->env.n : 0;
	uint32_t ne = s->env.n;
	struct em_env_var *ev = NULL;
	if (nme + ne) {
		ev = em_arena_array(p->a, nme + ne, sizeof *ev);
		if (!ev)
			return nomem(p);
	}
	uint32_t o = 0;
	for (uint32_t i = 0; i < nme; i++) {
		bool overridden = false;
		for (uint32_t j = 0; j < ne && !overridden; j++)
			overridden = ieq_n(me[i].name, strlen(me[i].name), se[j].name,
					   strlen(se[j].name));
		if (!overridden)
			ev[o++] = me[i];
	}
	for (uint32_t j = 0; j < ne; j++)
		ev[o++] = se[j];
	if (o > EM_MATRIX_MAX_ENV)
		return perr(p, s->line, EM_ELIMIT,
			    "workload [%s] has more than %d env.NAME keys with those from [matrix]",
			    s->name, EM_MATRIX_MAX_ENV);
	w->env = ev;
	w->nenv = o;
	return 0;
}

/* The workload of section s: its own settings, else [matrix]'s, else the
 * defaults. The steps keep the order of the checks: the first mistake found
 * is the one reported. */
static int build_workload(struct mparser *p, const struct sect *s, const struct em_matrix *mx,
			  struct em_workload *w)
{
	const struct sect *m = p->matrix;
	memset(w, 0, sizeof *w);
	int rc = inherit_interpreter(p, s, w);
	if (rc)
		return rc;
	inherit_settings(s, m, mx, w);
	void *list;
	rc = join_lists(p, s, m ? &m->packages : NULL, &s->packages, sizeof *w->packages,
			EM_MATRIX_MAX_PACKAGES, "packages", &list, &w->npackages);
	if (rc)
		return rc;
	w->packages = list;
	rc = inherit_pkg_sets(p, s, w);
	if (rc)
		return rc;
	const struct em_setting *st = pick(s, m, K_BUILD_CONSTRAINTS);
	if (st)
		w->build_constraints = *st;
	rc = inherit_pkg_values(p, s, w);
	if (!rc)
		rc = check_isolation(p, s, w);
	if (rc)
		return rc;
	rc = join_lists(p, s, m ? &m->verify : NULL, &s->verify, sizeof *w->verify,
			EM_MATRIX_MAX_VERIFY, "verify commands", &list, &w->nverify);
	if (rc)
		return rc;
	w->verify = list;
	return inherit_env(p, s, w);
}

/* The folder a workload's environment lives in, for comparing: ASCII lower
 * case, '/' separators, '.' and '..' folded where the path allows. */
static int venv_key(struct em_arena *a, const struct em_workload *w, char **out, bool *absolute)
{
	const char *parts[2] = { w->path.value, w->venv.value };
	size_t total = strlen(parts[0]) + strlen(parts[1]) + 4;
	char *k = em_arena_alloc(a, total);
	if (!k)
		return EM_ENOMEM;
	size_t o = 0;
	*absolute = is_absolute(parts[0], strlen(parts[0]));
	if (*absolute && (parts[0][0] == '/' || parts[0][0] == '\\'))
		k[o++] = '/';
	size_t root = o;
	for (int pi = 0; pi < 2; pi++) {
		const char *s = parts[pi];
		size_t n = strlen(s), i = 0;
		while (i < n) {
			size_t j = i;
			while (j < n && s[j] != '/' && s[j] != '\\')
				j++;
			size_t sn = j - i;
			if (sn == 0 || (sn == 1 && s[i] == '.')) {
				/* nothing */
			} else if (sn == 2 && s[i] == '.' && s[i + 1] == '.') {
				/* fold "x/.." unless at the root or after another ".." */
				size_t cut = o;
				while (cut > root && k[cut - 1] != '/')
					cut--;
				bool dotdot = o - cut == 2 && k[cut] == '.' && k[cut + 1] == '.';
				if (o > root && !dotdot) {
					o = cut > root ? cut - 1 : root;
				} else {
					if (o > root)
						k[o++] = '/';
					k[o++] = '.';
					k[o++] = '.';
				}
			} else {
				if (o > root && k[o - 1] != '/')
					k[o++] = '/';
				for (size_t c = i; c < j; c++)
					k[o++] = (char)em_lower((unsigned char)s[c]);
			}
			i = j + 1;
		}
	}
	k[o] = '\0';
	*out = k;
	return 0;
}

/* Whether folder b is a or inside it. */
static bool same_or_inside(const char *a, const char *b)
{
	size_t an = strlen(a);
	if (strncmp(a, b, an))
		return false;
	return b[an] == '\0' || b[an] == '/' || an == 0;
}

static int check_collisions(struct mparser *p, const struct em_matrix *m)
{
	struct em_arena_mark mk = em_arena_mark(p->a);
	char **key = em_arena_array(p->a, m->nworkloads, sizeof *key);
	bool *abs = em_arena_array(p->a, m->nworkloads, sizeof *abs);
	if (!key || !abs)
		return nomem(p);
	for (uint32_t i = 0; i < m->nworkloads; i++)
		if (venv_key(p->a, &m->workloads[i], &key[i], &abs[i]))
			return nomem(p);
	int rc = 0;
	for (uint32_t i = 0; i < m->nworkloads && !rc; i++) {
		for (uint32_t j = 0; j < i && !rc; j++) {
			if (abs[i] != abs[j])
				continue;
			const struct em_workload *a = &m->workloads[j], *b = &m->workloads[i];
			const char *ka = key[j], *kb = key[i];
			char qa[QUOTE], qb[QUOTE];
			if (!strcmp(ka, kb))
				rc = perr(p, b->line, EM_EINVAL,
					  "workloads [%s] (line %u) and [%s] share the environment "
					  "folder '%s'; give each its own venv or path", a->name, a->line,
					  b->name, q(qa, ka[0] ? ka : ".", strlen(ka[0] ? ka : ".")));
			else if (same_or_inside(ka, kb) || same_or_inside(kb, ka))
				rc = perr(p, b->line, EM_EINVAL,
					  "the environment folders of [%s] (line %u, '%s') and [%s] "
					  "('%s') are nested; an apply would replace one inside the "
					  "other", a->name, a->line, q(qa, ka, strlen(ka)), b->name,
					  q(qb, kb, strlen(kb)));
		}
	}
	em_arena_rewind(p->a, mk);
	return rc;
}

int em_mx_build(struct mparser *p, struct em_matrix *out)
{
	const struct sect *m = p->matrix;
	memset(out, 0, sizeof *out);
	out->file = p->file;
	if (m) {
		out->name = m->v[K_NAME];
		out->python_mirror = m->v[K_PYTHON_MIRROR];
		out->cuda_driver = m->v[K_CUDA_DRIVER];
		out->python_home = m->v[K_PYTHON_HOME];
		out->cache_dir = m->v[K_CACHE_DIR];
		out->ca_file = m->v[K_CA_FILE];
		out->history = m->v[K_HISTORY];
		out->nmirrors = m->mirrors.n;
		out->mirrors = m->mirrors.p;
		out->jobs = m->v[K_JOBS];
	}
#define SETTING(k, d) (m && m->v[k].value ? m->v[k] : dflt(d))
	out->platform = SETTING(K_PLATFORM, "auto");
	out->index_url = SETTING(K_INDEX_URL, DEFAULT_INDEX_URL);
	out->torch_index_url = SETTING(K_TORCH_INDEX_URL, DEFAULT_TORCH_INDEX_URL);
	out->link_mode = SETTING(K_LINK_MODE, "auto");
#undef SETTING
	if (out->jobs.value) {
		uint64_t j = 0;
		/* check_value let only 1 to EM_MATRIX_MAX_JOBS through */
		(void)em_parse_u64(out->jobs.value, strlen(out->jobs.value), &j);
		out->njobs = (uint32_t)j;
	}
	uint32_t n = p->work.n;
	struct em_workload *w = em_arena_array(p->a, n, sizeof *w);
	if (!w)
		return nomem(p);
	struct sect **secs = p->work.p;
	for (uint32_t i = 0; i < n; i++) {
		int rc = build_workload(p, secs[i], out, &w[i]);
		if (rc)
			return rc;
	}
	out->workloads = w;
	out->nworkloads = n;
	return check_collisions(p, out);
}

const struct em_workload *em_matrix_find(const struct em_matrix *m, const char *name)
{
	if (!m || !name)
		return NULL;
	size_t n = strlen(name);
	for (uint32_t i = 0; i < m->nworkloads; i++)
		if (ieq_n(m->workloads[i].name, strlen(m->workloads[i].name), name, n))
			return &m->workloads[i];
	return NULL;
}
