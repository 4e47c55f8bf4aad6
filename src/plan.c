/* plan.c - the planner: torch variants, providers, locks, diffs (the
 * target, its platform and Python: plan_target.c) */
#include "plan.h"
#include "plan_target.h"
#include "archive.h"
#include "spec/candidates.h"
#include "os/fs.h"
#include "spec/index.h"
#include "lockname.h"
#include "spec/metadata.h"
#include "spec/name.h"
#include "spec/pep508.h"
#include "util/grow.h"
#include "util/sha256.h"
#include "util/str.h"
#include "spec/tags.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_PAGE (64u << 20)
#define MAX_METADATA (16u << 20)
#define MAX_REQFILE (4u << 20)
#define MAX_LOCK (64u << 20)
#define MAX_INCLUDE_DEPTH 8

/* ---- CUDA variants (driver tables: gpu.c) ---- */

/* Newest first: the variants download.pytorch.org has published. */
static const char *const known_variants[] = {
	"cu132", "cu130", "cu129", "cu128", "cu126", "cu125", "cu124", "cu121", "cu118", "cu117",
};

/* ---- the provider over indexes and folders ---- */

struct project {
	const char *name;
	int rc;
	char *msg;
	struct em_dist_file *files;
	uint32_t nfiles;
	struct em_candidate *cands;
	uint32_t ncands;
};

struct meta_cache {
	const char *url;
	const char *body;
	size_t len;
};

struct direct {
	const char *name; /* canonical */
	const char *url;
};

struct provider {
	struct em_arena *a;
	struct em_source *src;
	const struct em_target *t;
	const struct em_tagset *tags;
	uint32_t nindexes;
	const char **indexes;   /* simple API roots for everything but the torch family */
	uint32_t nfindlinks;
	const char **findlinks; /* folders */
	const char *torch_index;/* NULL: the torch family is not routed */
	uint32_t ndirect;
	struct direct *direct;
	struct project *projects;
	uint32_t nprojects, capprojects;
	struct meta_cache *meta;
	uint32_t nmeta, capmeta;
	const struct em_workload *w;   /* its no-build, only-binary, no-binary;
					* NULL: wheels only */
	const char *mfile;             /* the matrix, for where those keys are */
	const struct em_plan_options *o; /* the sdist metadata hook; may be NULL */
	struct em_workload_plan *wp;   /* for the hook (and its warnings); may be NULL */
};

#define PEP691_ACCEPT                                                                   \
	"application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, " \
	"text/html;q=0.01"

static bool is_local_url(const char *url)
{
	return !strncmp(url, "file:", 5);
}

/* Whether a page that links to nothing is at least HTML (an empty PEP 503
 * page) rather than something else a server answered with. */
static bool looks_like_html(const char *body, size_t len)
{
	static const char *const marks[] = { "<html", "<!doctype", "<body", "<a ", "<head" };
	size_t n = len < 65536 ? len : 65536;
	for (size_t i = 0; i < n; i++) {
		if (body[i] != '<')
			continue;
		for (size_t k = 0; k < sizeof marks / sizeof marks[0]; k++) {
			size_t m = strlen(marks[k]);
			if (i + m <= n && !strncasecmp(body + i, marks[k], m))
				return true;
		}
	}
	return len == 0;
}

/* Files of name on the simple index at root (JSON preferred, then HTML).
 * EM_ENOTFOUND when the index has no page for it. */
static int index_files(struct provider *pv, const char *root, const char *name,
		       struct em_index_page *page, struct em_error *e)
{
	char *dir = em_url_join(pv->a, root, name, true);
	if (!dir)
		return em_err_nomem(e);
	const char *body;
	size_t len;
	if (is_local_url(dir)) {
		char *json = em_url_join(pv->a, dir, "index.json", false);
		char *html = em_url_join(pv->a, dir, "index.html", false);
		if (!json || !html)
			return em_err_nomem(e);
		int rc = em_source_get(pv->src, json, MAX_PAGE, &body, &len, e);
		if (!rc)
			return em_index_parse_json(pv->a, dir, body, len, page, e);
		if (rc != EM_ENOTFOUND)
			return rc;
		rc = em_source_get(pv->src, html, MAX_PAGE, &body, &len, e);
		if (rc)
			return rc;
		return em_index_parse_html(pv->a, dir, body, len, page, e);
	}
	/* PEP 691: JSON when the server has it, HTML otherwise */
	const char *ctype = NULL, *final_url = NULL;
	int rc = em_source_page(pv->src, dir, PEP691_ACCEPT, MAX_PAGE, &body, &len, &ctype,
				&final_url, e);
	if (rc)
		return rc;
	const char *base = final_url ? final_url : dir;
	if (ctype && !strcmp(ctype, "application/vnd.pypi.simple.v1+json"))
		return em_index_parse_json(pv->a, base, body, len, page, e);
	if (ctype && !strcmp(ctype, "application/json")) {
		/* a static server's index.json: JSON if it parses as PEP 691 */
		int jr = em_index_parse_json(pv->a, base, body, len, page, e);
		if (jr != EM_EINVAL)
			return jr;
		em_error_clear(e);
	}
	rc = em_index_parse_html(pv->a, base, body, len, page, e);
	if (!rc && page->nfiles == 0 && !looks_like_html(body, len))
		return em_err(e, EM_EINVAL, em_url_redact(pv->a, dir),
			      "not an index page: %zu bytes of '%s' without HTML", len,
			      ctype ? ctype : "unknown type");
	return rc;
}

static int add_file(struct provider *pv, struct project *p, uint32_t *cap,
		    const struct em_dist_file *f)
{
	if (p->nfiles == *cap) {
		uint32_t ncap = *cap ? *cap * 2 : 32;
		struct em_dist_file *nf = em_arena_array(pv->a, ncap, sizeof *nf);
		if (!nf)
			return EM_ENOMEM;
		if (p->nfiles)
			memcpy(nf, p->files, p->nfiles * sizeof *nf);
		p->files = nf;
		*cap = ncap;
	}
	p->files[p->nfiles++] = *f;
	return 0;
}

static bool is_project_file(struct em_arena *a, const char *fn, const char *name)
{
	size_t n = strlen(fn);
	if (n > 4 && !strcmp(fn + n - 4, ".whl")) {
		struct em_arena_mark m = em_arena_mark(a);
		struct em_wheel_name w;
		bool ok = !em_wheel_name_parse(a, fn, n, &w, NULL) && !strcmp(w.name, name);
		em_arena_rewind(a, m);
		return ok;
	}
	/* an sdist: "<name>-<version>.<ext>" */
	for (size_t i = n; i-- > 0;)
		if (fn[i] == '-' && em_name_eq(fn, i, name, strlen(name)))
			return true;
	return false;
}

static int load_project(struct provider *pv, struct project *p, struct em_error *e)
{
	uint32_t cap = 0;
	const char *name = p->name;
	for (uint32_t i = 0; i < pv->ndirect; i++) {
		if (strcmp(pv->direct[i].name, name))
			continue;
		struct em_dist_file f;
		memset(&f, 0, sizeof f);
		f.url = pv->direct[i].url;
		f.filename = em_url_basename(pv->a, f.url);
		f.size = -1;
		if (!f.filename)
			return em_err_nomem(e);
		return add_file(pv, p, &cap, &f) ? em_err_nomem(e) : 0;
	}
	bool torch = pv->torch_index && em_is_torch_family(name);
	uint32_t nroots = torch ? 1 : pv->nindexes;
	const char *const *roots = torch ? &pv->torch_index : pv->indexes;
	bool found = false;
	for (uint32_t r = 0; r < nroots; r++) {
		struct em_index_page page;
		struct em_error pe;
		em_error_clear(&pe);
		int rc = index_files(pv, roots[r], name, &page, &pe);
		if (rc == EM_ENOTFOUND)
			continue;
		if (rc) {
			if (e)
				*e = pe;
			return rc;
		}
		found = true;
		for (uint32_t k = 0; k < page.nfiles; k++) {
			const struct em_index_file *x = &page.files[k];
			struct em_dist_file f = {
				x->filename, x->url, roots[r], x->sha256, x->size, x->requires_python,
				x->yanked, x->yank_reason, x->has_metadata, x->metadata_sha256,
				x->upload_time,
			};
			if (add_file(pv, p, &cap, &f))
				return em_err_nomem(e);
		}
	}
	for (uint32_t r = 0; !torch && r < pv->nfindlinks; r++) {
		const char **names;
		uint32_t n;
		struct em_error pe;
		em_error_clear(&pe);
		int rc = em_source_list(pv->src, pv->findlinks[r], &names, &n, &pe);
		if (rc) {
			if (e)
				*e = pe;
			return rc;
		}
		for (uint32_t k = 0; k < n; k++) {
			if (!is_project_file(pv->a, names[k], name))
				continue;
			struct em_dist_file f;
			memset(&f, 0, sizeof f);
			f.filename = names[k];
			char *enc = em_url_encode_segment(pv->a, names[k], strlen(names[k]));
			f.url = enc ? em_url_join(pv->a, pv->findlinks[r], enc, false) : NULL;
			f.index = pv->findlinks[r];
			f.size = -1;
			if (!f.url || add_file(pv, p, &cap, &f))
				return em_err_nomem(e);
			found = true;
		}
	}
	if (!found) {
		struct em_buf b = EM_BUF_INIT;
		em_buf_addf(&b, "'%s' is not on ", name);
		for (uint32_t r = 0; r < nroots; r++) {
			char *red = em_url_redact(pv->a, roots[r]);
			em_buf_addf(&b, "%s%s", r ? " nor " : "", red ? red : roots[r]);
		}
		if (!torch && pv->nfindlinks)
			em_buf_addf(&b, "%s in find-links", nroots ? " nor" : "");
		if (torch)
			em_buf_addstr(&b, " (the torch family comes only from the variant index)");
		int rc = em_err(e, EM_ENOTFOUND, NULL, "%s", b.err ? "not found" : b.ptr);
		em_buf_release(&b);
		return rc;
	}
	return 0;
}

static int prov_candidates(void *ctx, const char *name, const struct em_candidate **out,
			   uint32_t *n, struct em_error *e)
{
	struct provider *pv = ctx;
	struct project *p = NULL;
	for (uint32_t i = 0; i < pv->nprojects; i++)
		if (!strcmp(pv->projects[i].name, name))
			p = &pv->projects[i];
	if (!p) {
		if (em_grow(&pv->projects, &pv->capprojects, pv->nprojects, sizeof *pv->projects))
			return em_err_nomem(e);
		p = &pv->projects[pv->nprojects++];
		memset(p, 0, sizeof *p);
		p->name = em_arena_strdup(pv->a, name);
		struct em_error pe;
		em_error_clear(&pe);
		p->rc = load_project(pv, p, &pe);
		struct em_dist_policy pol = { false, false, NULL };
		if (!p->rc && pv->w) {
			const struct em_pkg_set *by;
			enum em_sdist_rule rule = em_workload_sdist_rule(pv->w, name, &by);
			pol.sdist_ok = rule != EM_SDIST_REFUSE;
			pol.sdist_first = rule == EM_SDIST_PREFER;
			if (by && !(pol.why = em_arena_printf(pv->a, "%s (%s:%u)", by->key, pv->mfile,
							     (unsigned)by->setting.line)))
				p->rc = em_err_nomem(&pe);
		}
		if (!p->rc)
			p->rc = em_candidates_build_policy(pv->a, name, p->files, p->nfiles, pv->t,
							   pv->tags, &pol, &p->cands, &p->ncands, &pe);
		if (p->rc)
			p->msg = em_arena_printf(pv->a, "%s%s%s", pe.where, pe.where[0] ? ": " : "",
						 pe.msg);
	}
	if (p->rc)
		return em_err(e, p->rc, NULL, "%s", p->msg ? p->msg : "error");
	*out = p->cands;
	*n = p->ncands;
	return 0;
}

/* The metadata kept for url, when it was read before. */
static bool cached_meta(const struct provider *pv, const char *url, const char **body,
			size_t *len)
{
	for (uint32_t i = 0; i < pv->nmeta; i++)
		if (!strcmp(pv->meta[i].url, url)) {
			*body = pv->meta[i].body;
			*len = pv->meta[i].len;
			return true;
		}
	return false;
}

static int remember_meta(struct provider *pv, const char *url, const char *body, size_t len,
			 struct em_error *e)
{
	if (pv->nmeta == pv->capmeta) {
		uint32_t cap = pv->capmeta ? pv->capmeta * 2 : 64;
		struct meta_cache *nm = realloc(pv->meta, cap * sizeof *nm);
		if (!nm)
			return em_err_nomem(e);
		pv->meta = nm;
		pv->capmeta = cap;
	}
	pv->meta[pv->nmeta++] = (struct meta_cache){ url, body, len };
	return 0;
}

/* The index's PEP 658 metadata file of f, checked against the sha256 the
 * index gives (errors name where). */
static int metadata_sidecar(struct provider *pv, const struct em_dist_file *f, const char *where,
			    const char **body, size_t *len, struct em_error *e)
{
	char *murl = em_arena_printf(pv->a, "%s.metadata", f->url);
	if (!murl)
		return em_err_nomem(e);
	int rc = em_source_get(pv->src, murl, MAX_METADATA, body, len, e);
	if (rc)
		return rc;
	if (f->metadata_sha256) {
		char got[EM_SHA256_HEX_LEN + 1];
		em_sha256_buf(*body, *len, got);
		if (strcasecmp(got, f->metadata_sha256))
			return em_err(e, EM_EINVAL, where,
				      "the metadata sidecar's sha256 is %s, but the index "
				      "says %s", got, f->metadata_sha256);
	}
	return 0;
}

static int metadata_of(struct provider *pv, const struct em_choice *ch, const char **body,
		       size_t *len, struct em_error *e)
{
	const struct em_dist_file *f = ch->file;
	if (cached_meta(pv, f->url, body, len))
		return 0;
	int rc;
	char *red = em_url_redact(pv->a, f->url);
	if (f->has_metadata)
		rc = metadata_sidecar(pv, f, red ? red : f->url, body, len, e);
	else
		rc = em_source_wheel_metadata(pv->src, f->url, f->filename, f->sha256, body, len, e);
	if (rc)
		return rc;
	return remember_meta(pv, f->url, *body, *len, e);
}

/* The core metadata of a release planned from its sdist, in order: the
 * index's PEP 658 file, the sdist's PKG-INFO when static (PEP 643), the
 * build module's hook. Without a hook, dynamic metadata makes the
 * candidate unusable (*unusable says why). */
static int sdist_metadata_of(struct provider *pv, const char *name, const struct em_candidate *cd,
			     const char **body, size_t *len, const char **unusable,
			     struct em_error *e)
{
	const struct em_choice *ch = cd->data;
	const struct em_dist_file *f = ch->file;
	if (cached_meta(pv, f->url, body, len))
		return 0;
	char *red = em_url_redact(pv->a, f->url);
	const char *where = red ? red : f->filename;
	int rc;
	if (f->has_metadata)
		rc = metadata_sidecar(pv, f, where, body, len, e);
	else
		rc = em_source_sdist_pkg_info(pv->src, f->url, f->filename, f->sha256, body, len, e);
	if (rc)
		return rc;
	bool is_static;
	const char *why;
	/* the index's own metadata file is taken as it is, unless it says
	 * (2.2 and newer) that a field the plan reads is dynamic */
	rc = em_metadata_static(pv->a, *body, *len, where, f->has_metadata, &is_static, &why, e);
	if (rc)
		return rc;
	if (!is_static) {
		if (!pv->o || !pv->o->sdist_metadata) {
			const struct em_pkg_set *by = NULL;
			if (pv->w && em_workload_sdist_rule(pv->w, name, &by) == EM_SDIST_PREFER)
				*unusable = em_arena_printf(
					pv->a, "'%s %s' is taken from its sdist (%s, %s:%u), whose "
					"metadata is dynamic (PEP 643); planning it needs a build "
					"(%s)", name, cd->version->str, by->key, pv->mfile,
					(unsigned)by->setting.line, why);
			else
				*unusable = em_arena_printf(
					pv->a, "'%s %s' is published only as an sdist whose metadata "
					"is dynamic (PEP 643); planning it needs a build (%s)", name,
					cd->version->str, why);
			return *unusable ? 0 : em_err_nomem(e);
		}
		/* for a workload planned for another platform (a Windows workload
		 * on Linux) the hook prepares the metadata with this machine's
		 * interpreter of the target's minor version, assuming it is
		 * platform independent, as uv does, and gives a warning that says
		 * so (issue 13 item 5) */
		if (!pv->wp)
			return em_err(e, EM_EUNSUPPORTED, where, "its metadata is dynamic (PEP 643) "
				      "and cannot be prepared here");
		const char *path;
		char hex[EM_SHA256_HEX_LEN + 1];
		rc = em_source_file(pv->src, f->url, f->filename, f->sha256, &path, hex, e);
		if (rc)
			return rc;
		char *md = NULL;
		size_t mdlen = 0;
		const char *warning = NULL;
		rc = pv->o->sdist_metadata(pv->o->sdist_ctx, pv->a, path, hex, pv->wp, &md, &mdlen,
					   &warning, e);
		if (rc)
			return rc;
		struct em_workload_plan *wp = pv->wp;
		bool seen = false;
		for (uint32_t i = 0; warning && i < wp->nwarnings; i++)
			seen = seen || !strcmp(wp->warnings[i], warning);
		if (warning && !seen && wp->nwarnings < EM_PLAN_MAX_WARNINGS)
			wp->warnings[wp->nwarnings++] = warning;
		*body = md;
		*len = mdlen;
	}
	return remember_meta(pv, f->url, *body, *len, e);
}

static int prov_dependencies(void *ctx, const char *name, uint32_t idx, const char *extra,
			     const struct em_dependency **out, uint32_t *n, const char **unusable,
			     struct em_error *e)
{
	struct provider *pv = ctx;
	struct project *p = NULL;
	for (uint32_t i = 0; i < pv->nprojects; i++)
		if (!strcmp(pv->projects[i].name, name))
			p = &pv->projects[i];
	if (!p || idx >= p->ncands)
		return em_err(e, EM_EUSAGE, NULL, "unknown candidate of '%s'", name);
	const struct em_choice *ch = p->cands[idx].data;
	const char *body;
	size_t len;
	*out = NULL;
	*n = 0;
	*unusable = NULL;
	int rc = ch->sdist ? sdist_metadata_of(pv, name, &p->cands[idx], &body, &len, unusable, e)
			   : metadata_of(pv, ch, &body, &len, e);
	if (rc || *unusable)
		return rc;
	char *where = em_url_redact(pv->a, ch->file->url);
	struct em_dependency *deps;
	rc = em_deps_from_metadata(pv->a, body, len, where ? where : ch->file->filename, pv->t, name,
				   p->cands[idx].version, extra, &deps, n, unusable, e);
	*out = deps;
	return rc;
}

static void provider_free(struct provider *pv)
{
	free(pv->projects);
	free(pv->meta);
}

/* ---- root requirements ---- */

struct roots {
	struct em_root_req *r;
	uint32_t n, cap;
	struct direct *direct;
	uint32_t ndirect, capdirect;
};

static int add_root(struct em_arena *a, struct roots *rs, const struct em_target_env *env,
		    const char *text, const char *where, struct em_error *e)
{
	struct em_requirement req;
	int rc = em_requirement_parse(a, text, strlen(text), &req, e);
	if (rc) {
		em_err_prefix_where(e, "%s", where);
		return rc;
	}
	bool applies = true;
	rc = em_requirement_applies(&req, &env->env, NULL, &applies, e);
	if (rc) {
		em_err_prefix_where(e, "%s", where);
		return rc;
	}
	if (!applies)
		return 0;
	if (rs->n == rs->cap) {
		uint32_t cap = rs->cap ? rs->cap * 2 : 32;
		struct em_root_req *nr = em_arena_array(a, cap, sizeof *nr);
		if (!nr)
			return em_err_nomem(e);
		if (rs->n)
			memcpy(nr, rs->r, rs->n * sizeof *nr);
		rs->r = nr;
		rs->cap = cap;
	}
	struct em_root_req *r = &rs->r[rs->n++];
	memset(r, 0, sizeof *r);
	r->where = em_arena_strdup(a, where);
	r->dep.name = em_name_canonical(a, req.name, strlen(req.name));
	r->dep.nextras = req.nextras;
	const char **ex = em_arena_array(a, req.nextras ? req.nextras : 1, sizeof *ex);
	struct em_specset *sp = em_arena_alloc(a, sizeof *sp);
	if (!r->where || !r->dep.name || !ex || !sp)
		return em_err_nomem(e);
	for (uint32_t i = 0; i < req.nextras; i++)
		if (!(ex[i] = em_name_canonical(a, req.extras[i], strlen(req.extras[i]))))
			return em_err_nomem(e);
	r->dep.extras = ex;
	*sp = req.spec;
	r->dep.spec = sp;
	/* the text without the marker (it was true) */
	const char *semi = strchr(text, ';');
	r->dep.text = em_arena_strndup(a, text, semi ? (size_t)(semi - text) : strlen(text));
	if (!r->dep.text)
		return em_err_nomem(e);
	while (*r->dep.text && em_is_ascii_space(r->dep.text[strlen(r->dep.text) - 1]))
		((char *)r->dep.text)[strlen(r->dep.text) - 1] = '\0';
	if (req.url) {
		size_t ul = strlen(req.url);
		if (ul < 4 || strcmp(req.url + ul - 4, ".whl"))
			return em_err(e, EM_EUNSUPPORTED, where,
				      "'%s' points at something other than a wheel; envmatrix "
				      "installs wheels only", text);
		if (rs->ndirect == rs->capdirect) {
			uint32_t cap = rs->capdirect ? rs->capdirect * 2 : 8;
			struct direct *nd = em_arena_array(a, cap, sizeof *nd);
			if (!nd)
				return em_err_nomem(e);
			if (rs->ndirect)
				memcpy(nd, rs->direct, rs->ndirect * sizeof *nd);
			rs->direct = nd;
			rs->capdirect = cap;
		}
		rs->direct[rs->ndirect++] = (struct direct){ r->dep.name, req.url };
	}
	return 0;
}

/* A file the plan reads (requirements files, the existing lock): through
 * the caller's reader when it has one (apply --rev reads them from git). */
static int read_input(const struct em_plan_options *o, struct em_arena *a, const char *path,
		      size_t max, char **buf, size_t *len, struct em_error *e)
{
	if (o->read_file)
		return o->read_file(o->read_ctx, a, path, max, buf, len, e);
	return em_read_file(a, path, max, buf, len, e);
}

static int add_reqfile(struct em_arena *a, const struct em_plan_options *o, struct roots *rs,
		       const struct em_target_env *env, const char *path, const char *label,
		       int depth, struct em_error *e)
{
	if (depth > MAX_INCLUDE_DEPTH)
		return em_err(e, EM_ELIMIT, label, "requirements files include each other more than "
			      "%d deep (a cycle?)", MAX_INCLUDE_DEPTH);
	char *buf;
	size_t len;
	int rc = read_input(o, a, path, MAX_REQFILE, &buf, &len, e);
	if (rc) {
		if (rc == EM_ENOTFOUND)
			return em_err(e, rc, label, "requirements file '%s' does not exist", path);
		return rc;
	}
	struct em_reqfile rf;
	rc = em_reqfile_parse(a, buf, len, path, &rf, e);
	if (rc)
		return rc;
	for (uint32_t i = 0; i < rf.nreqs; i++) {
		char where[EM_ERROR_WHERE_MAX];
		snprintf(where, sizeof where, "%s:%u", rf.reqs[i].file, (unsigned)rf.reqs[i].line);
		rc = add_root(a, rs, env, rf.reqs[i].text, where, e);
		if (rc)
			return rc;
	}
	char *dir = em_path_dir(a, path);
	for (uint32_t i = 0; i < rf.nincludes; i++) {
		char where[EM_ERROR_WHERE_MAX];
		snprintf(where, sizeof where, "%s:%u", rf.includes[i].file,
			 (unsigned)rf.includes[i].line);
		char *inc = dir ? em_path_join(a, dir, rf.includes[i].text) : NULL;
		if (!inc)
			return em_err_nomem(e);
		rc = add_reqfile(a, o, rs, env, inc, where, depth + 1, e);
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- the URL of an index setting ---- */

/* index-url and find-links may be URLs or paths (relative to the matrix). */
static char *setting_url(struct em_arena *a, const char *value, const char *matrix_dir)
{
	if (strstr(value, "://") || !strncmp(value, "file:", 5))
		return em_arena_strdup(a, value);
	char *path = em_path_join(a, matrix_dir, value);
	char *abs = path ? em_path_absolute(a, path) : NULL;
	return abs ? em_path_to_url(a, abs) : NULL;
}

/* ---- locks and changes ---- */

static int cmp_change(const void *x, const void *y)
{
	return strcmp(((const struct em_change *)x)->name, ((const struct em_change *)y)->name);
}

static const struct em_lock_package *find_locked(const struct em_lock *l, const char *name)
{
	for (uint32_t i = 0; i < l->npackages; i++)
		if (!strcmp(l->packages[i].name, name))
			return &l->packages[i];
	return NULL;
}

const char *em_change_kind_name(enum em_change_kind k)
{
	static const char *const names[EM_CHANGE_KINDS] = {
		[EM_CHANGE_ADDED] = "added",	   [EM_CHANGE_REMOVED] = "removed",
		[EM_CHANGE_UPGRADED] = "upgraded",   [EM_CHANGE_DOWNGRADED] = "downgraded",
		[EM_CHANGE_SWITCHED] = "switched",   [EM_CHANGE_REBUILT] = "rebuilt",
	};
	return (unsigned)k < EM_CHANGE_KINDS ? names[k] : "changed";
}

/* The sha256 of a package's one file (a wheel, or an sdist), or NULL. */
static const char *one_file_sha(const struct em_lock_package *p)
{
	if (p->nwheels == 1 && !p->sdist)
		return p->wheels[0].sha256;
	if (p->nwheels == 0 && p->sdist)
		return p->sdist->sha256;
	return NULL;
}

int em_lock_diff(struct em_arena *a, const struct em_lock *old, const struct em_lock *nw,
		 struct em_change **out, uint32_t *nout)
{
	uint32_t cap = old->npackages + nw->npackages + 1;
	struct em_change *c = em_arena_array(a, cap, sizeof *c);
	if (!c)
		return EM_ENOMEM;
	uint32_t n = 0;
	for (uint32_t i = 0; i < nw->npackages; i++) {
		const struct em_lock_package *np = &nw->packages[i];
		const struct em_lock_package *op = find_locked(old, np->name);
		if (!op) {
			c[n++] = (struct em_change){ EM_CHANGE_ADDED, np->name, NULL, np->version };
			continue;
		}
		struct em_version ov, nv;
		int cmp = 0, pub = 0;
		if (op->version && np->version &&
		    !em_version_parse(a, op->version, strlen(op->version), &ov, NULL) &&
		    !em_version_parse(a, np->version, strlen(np->version), &nv, NULL)) {
			cmp = em_version_cmp(&nv, &ov);
			pub = em_version_cmp_public(&nv, &ov);
		}
		if (cmp && !pub)
			c[n++] = (struct em_change){ EM_CHANGE_SWITCHED, np->name, op->version, np->version };
		else if (cmp > 0)
			c[n++] = (struct em_change){ EM_CHANGE_UPGRADED, np->name, op->version, np->version };
		else if (cmp < 0)
			c[n++] = (struct em_change){ EM_CHANGE_DOWNGRADED, np->name, op->version, np->version };
		else if (!one_file_sha(op) || !one_file_sha(np) ||
			 strcmp(one_file_sha(op), one_file_sha(np)))
			c[n++] = (struct em_change){ EM_CHANGE_REBUILT, np->name, op->version, np->version };
	}
	for (uint32_t i = 0; i < old->npackages; i++)
		if (!find_locked(nw, old->packages[i].name))
			c[n++] = (struct em_change){ EM_CHANGE_REMOVED, old->packages[i].name,
						     old->packages[i].version, NULL };
	qsort(c, n, sizeof *c, cmp_change);
	*out = c;
	*nout = n;
	return 0;
}

static char *environment_marker(struct em_arena *a, const struct em_target *t)
{
	struct em_target_env te;
	em_target_marker_env(t, &te);
	const char **v = te.env.var;
	return em_arena_printf(a,
			       "sys_platform == '%s' and platform_machine == '%s' and "
			       "implementation_name == 'cpython' and python_full_version == '%s'",
			       v[EM_MV_SYS_PLATFORM], v[EM_MV_PLATFORM_MACHINE],
			       v[EM_MV_PYTHON_FULL_VERSION]);
}

static char *inputs_hash(struct em_arena *a, const struct em_workload_plan *wp,
			 const struct roots *rs, const char *index_list)
{
	struct em_buf b = EM_BUF_INIT;
	em_buf_addf(&b, "envmatrix-inputs 1\nworkload %s\npython %s\nplatform %s\nvariant %s\n",
		    wp->w->name, wp->python_name, wp->platform_name,
		    wp->variant ? wp->variant : "-");
	em_buf_addf(&b, "torch-index %s\nindexes %s\n", wp->torch_index ? wp->torch_index : "-",
		    index_list);
	for (uint32_t i = 0; i < rs->n; i++)
		em_buf_addf(&b, "require %s\n", rs->r[i].dep.text);
	/* the sdist keys, only when set (older locks' inputs stay the same) */
	const struct em_pkg_set *sets[3] = { &wp->w->no_build, &wp->w->only_binary,
					     &wp->w->no_binary };
	for (int k = 0; k < 3; k++) {
		if (!sets[k]->setting.value)
			continue;
		em_buf_addf(&b, "%s%s", sets[k]->key, sets[k]->all ? " :all:" : "");
		for (uint32_t i = 0; i < sets[k]->n; i++)
			em_buf_addf(&b, " %s", sets[k]->names[i]);
		em_buf_addc(&b, '\n');
	}
	char hex[EM_SHA256_HEX_LEN + 1];
	em_sha256_buf(b.ptr, b.len, hex);
	em_buf_release(&b);
	return em_arena_strdup(a, hex);
}

static int build_lock(struct em_arena *a, struct em_source *src, struct em_workload_plan *wp,
		      const struct roots *rs, const char *index_list, const char *matrix_path,
		      struct em_error *e)
{
	struct em_lock *l = &wp->lock;
	memset(l, 0, sizeof *l);
	l->lock_version = "1.0";
	l->created_by = "envmatrix";
	l->requires_python = em_arena_printf(a, "==%s", wp->python_name);
	const char **envs = em_arena_array(a, 1, sizeof *envs);
	if (!l->requires_python || !envs || !(envs[0] = environment_marker(a, &wp->target)))
		return em_err_nomem(e);
	l->environments = envs;
	l->nenvironments = 1;
	l->workload = wp->w->name;
	l->matrix = em_matrix_file_name(matrix_path);
	l->python = wp->python_name;
	l->platform = wp->platform_name;
	l->torch_variant = wp->variant;
	l->inputs = inputs_hash(a, wp, rs, index_list);
	if (wp->python_build) {
		l->python_url = em_url_redact(a, wp->python_build->url);
		l->python_sha256 = wp->python_build->sha256;
		l->python_size = wp->python_build->size > 0 ? wp->python_build->size : 0;
		if (!l->python_url)
			return em_err_nomem(e);
	}
	l->npackages = wp->res.n;
	l->packages = em_arena_array(a, wp->res.n ? wp->res.n : 1, sizeof *l->packages);
	if (!l->inputs || !l->packages)
		return em_err_nomem(e);
	wp->download = 0;
	for (uint32_t i = 0; i < wp->res.n; i++) {
		const struct em_resolved *r = &wp->res.pkgs[i];
		const struct em_choice *ch = r->cand->data;
		const struct em_dist_file *f = ch->file;
		struct em_lock_package *p = &l->packages[i];
		memset(p, 0, sizeof *p);
		p->name = r->name;
		p->version = r->cand->version->str;
		p->index = (f->index && strcmp(f->index, f->url)) ? em_url_redact(a, f->index) : NULL;
		p->requested = r->requested;
		p->deps = r->deps;
		p->ndeps = r->ndeps;
		struct em_lock_file *w = em_arena_zalloc(a, sizeof *w);
		if (!w)
			return em_err_nomem(e);
		/* a release planned from its sdist locks the sdist alone; one
		 * with a usable wheel locks the wheel alone (the file the plan
		 * chose, which apply installs) */
		w->name = f->filename;
		/* credentials stay in the matrix (or ~/.netrc), never in a lock */
		w->url = em_url_redact(a, f->url);
		if (!w->url)
			return em_err_nomem(e);
		w->size = f->size;
		w->sha256 = f->sha256;
		/* PEP 751 wants a date-time; an index's odd value is left out */
		if (f->upload_time &&
		    em_toml_datetime_kind(f->upload_time, strlen(f->upload_time)) == EM_TOML_DT_OFFSET)
			w->upload_time = f->upload_time;
		if (!w->sha256) {
			/* the index gave no hash: the file is read (downloaded into
			 * the cache) and its hash recorded */
			char hex[EM_SHA256_HEX_LEN + 1];
			int64_t size;
			int rc = em_source_hash(src, f->url, hex, &size, e);
			if (rc)
				return rc;
			w->sha256 = em_arena_strdup(a, hex);
			w->size = size;
		} else if (w->size < 0) {
			/* PEP 503 pages give no size: ask, without downloading */
			int rc = em_source_size(src, f->url, &w->size, e);
			if (rc)
				return rc;
		}
		if (ch->sdist) {
			p->sdist = w;
			p->has_sdist = true;
		} else {
			p->wheels = w;
			p->nwheels = 1;
		}
		wp->download += w->size;
		if (!strcmp(r->name, "torch"))
			wp->torch_version = p->version;
	}
	wp->npackages = wp->res.n;
	struct em_buf b = EM_BUF_INIT;
	int rc = em_lock_write(l, &b, e);
	if (rc) {
		em_buf_release(&b);
		em_err_prefix_where(e, "%s", wp->lock_path);
		return rc;
	}
	wp->lock_text = em_arena_strndup(a, b.ptr, b.len);
	wp->lock_len = b.len;
	em_buf_release(&b);
	return wp->lock_text ? 0 : em_err_nomem(e);
}

/* ---- one workload ---- */

static void plan_warn(struct em_workload_plan *wp, const char *text)
{
	if (text && wp->nwarnings < EM_PLAN_MAX_WARNINGS)
		wp->warnings[wp->nwarnings++] = text;
}

/* a driver at or above the family floor but below the toolkit's own */
static void warn_toolkit(struct em_arena *a, struct em_workload_plan *wp, const char *variant,
			 const struct em_driver_version *drv, const char *drv_text,
			 const char *drv_where)
{
	struct em_driver_version strict;
	const char *toolkit;
	if (!em_driver_toolkit_minimum(variant, wp->target.plat.os, &strict, &toolkit) ||
	    em_driver_cmp(drv, &strict) >= 0)
		return;
	char need[32];
	em_driver_format(&strict, need, sizeof need);
	plan_warn(wp, em_arena_printf(a, "%s is built with CUDA %s, which wants an NVIDIA driver >= %s; "
				      "driver %s (%s) runs it through CUDA minor-version "
				      "compatibility, but newer-toolkit features (PTX compiled "
				      "at run time) may fail: update the driver to %s or newer",
				      variant, toolkit, need, drv_text, drv_where, need));
}

static int variant_for(struct em_arena *a, struct em_source *src, struct em_workload_plan *wp,
		       const char *file, const char *torch_root, const char *spec_text,
		       const struct em_tagset *tags, const char *driver_text_in,
		       const char *driver_where, const struct em_gpu_info *gpu, struct em_error *e)
{
	const struct em_workload *w = wp->w;
	char where[EM_ERROR_WHERE_MAX];
	snprintf(where, sizeof where, "%s:%u", file, (unsigned)(w->cuda.line ? w->cuda.line : w->torch.line));
	const char *variant = w->cuda_spec.kind == EM_CUDA_AUTO ? "auto" : w->cuda_spec.variant;
	int rc;
	struct em_driver_version drv;
	bool have_driver = false;
	if (driver_text_in && *driver_text_in && strcmp(driver_text_in, "auto")) {
		rc = em_driver_parse(driver_text_in, &drv, e);
		if (rc) {
			em_err_prefix_where(e, "%s", driver_where);
			return rc;
		}
		have_driver = true;
	}
	const char *os_name = wp->target.plat.os == EM_OS_WINDOWS ? "Windows" : "Linux";
	if (strcmp(variant, "auto")) {
		struct em_driver_version min;
		if (have_driver && em_driver_minimum(variant, wp->target.plat.os, &min) &&
		    em_driver_cmp(&drv, &min) < 0) {
			char need[32];
			em_driver_format(&min, need, sizeof need);
			return em_err(e, EM_EINVAL, where,
				      "cuda %s (%s) needs an NVIDIA driver >= %s on %s, but the "
				      "driver is %s (%s); update the driver or choose an older "
				      "variant", w->cuda.value, variant, need, os_name, driver_text_in,
				      driver_where);
		}
		if (have_driver)
			warn_toolkit(a, wp, variant, &drv, driver_text_in, driver_where);
		wp->variant = em_arena_strdup(a, variant);
		wp->variant_why = "as the matrix says";
		return wp->variant ? 0 : em_err_nomem(e);
	}
	/* auto: the newest variant with a usable torch that the driver runs */
	const struct em_specset *spec = &w->torch_spec;
	const char *tried[16];
	uint32_t ntried = 0;
	const char *gpu_skipped = NULL; /* the newest variant the GPU cannot run */
	size_t nv = sizeof known_variants / sizeof known_variants[0];
	for (size_t i = 0; i <= nv; i++) {
		const char *v = i < nv ? known_variants[i] : "cpu";
		if (i < nv) {
			struct em_driver_version min;
			if (!have_driver)
				continue;
			if (em_driver_minimum(v, wp->target.plat.os, &min) && em_driver_cmp(&drv, &min) < 0)
				continue;
		}
		char *root = em_url_join(a, torch_root, v, true);
		if (!root)
			return em_err_nomem(e);
		struct provider pv;
		memset(&pv, 0, sizeof pv);
		pv.a = a;
		pv.src = src;
		pv.t = &wp->target;
		pv.tags = tags;
		pv.torch_index = root;
		const struct em_candidate *c;
		uint32_t n;
		struct em_error pe;
		em_error_clear(&pe);
		rc = prov_candidates(&pv, "torch", &c, &n, &pe);
		provider_free(&pv);
		if (rc == EM_ENOTFOUND)
			continue;
		if (rc) {
			if (e)
				*e = pe;
			return rc;
		}
		if (ntried < 16)
			tried[ntried++] = v;
		for (uint32_t k = 0; k < n; k++) {
			if (c[k].unusable || c[k].yanked)
				continue;
			const struct em_version *cv = c[k].version;
			if (!em_specset_contains(spec, cv->str, strlen(cv->str), cv, EM_PRE_DEFAULT))
				continue;
			struct em_error ge;
			if (em_gpu_check_torch(gpu, cv->str, v, wp->target.plat.os, &ge)) {
				if (!gpu_skipped)
					gpu_skipped = em_arena_printf(a, "cuda = auto skipped %s: %s",
								      v, ge.msg);
				continue;
			}
			if (i < nv)
				warn_toolkit(a, wp, v, &drv, driver_text_in, driver_where);
			else if (gpu_skipped)
				plan_warn(wp, gpu_skipped);
			wp->variant = em_arena_strdup(a, v);
			wp->variant_why = have_driver ? em_arena_printf(a, "auto: the newest variant "
									  "with %s that driver %s runs",
									  spec_text, driver_text_in)
						      : "auto: no NVIDIA driver known, so cpu";
			return wp->variant && wp->variant_why ? 0 : em_err_nomem(e);
		}
	}
	struct em_buf b = EM_BUF_INIT;
	for (uint32_t i = 0; i < ntried; i++)
		em_buf_addf(&b, "%s%s", i ? ", " : "", tried[i]);
	rc = em_err(e, EM_ENOTFOUND, where,
		    "cuda = auto found no variant with %s for %s on %s (looked at %s)%s", spec_text,
		    wp->python_name, wp->platform_name, ntried ? b.ptr : "no variant index",
		    have_driver ? "" : "; no NVIDIA driver is known (set cuda-driver or "
				       "ENVMATRIX_CUDA_DRIVER), so only cpu was considered");
	em_buf_release(&b);
	return rc;
}

/* The provider's indexes: w's index-url and find-links (made absolute
 * against mdir), and *index_list, the same joined by spaces for the lock. */
static int provider_indexes(struct em_arena *a, const struct em_workload *w, const char *mdir,
			    struct provider *pv, char **index_list, struct em_error *e)
{
	const char *index_url = w->index_url.value ? w->index_url.value : "https://pypi.org/simple";
	pv->indexes = em_arena_array(a, 1, sizeof *pv->indexes);
	pv->findlinks = em_arena_array(a, w->nfind_links + 1, sizeof *pv->findlinks);
	if (!pv->indexes || !pv->findlinks || !(pv->indexes[0] = setting_url(a, index_url, mdir)))
		return em_err_nomem(e);
	pv->nindexes = 1;
	struct em_buf il = EM_BUF_INIT;
	em_buf_addstr(&il, pv->indexes[0]);
	for (uint32_t i = 0; i < w->nfind_links; i++) {
		pv->findlinks[i] = setting_url(a, w->find_links[i].value, mdir);
		if (!pv->findlinks[i]) {
			em_buf_release(&il);
			return em_err_nomem(e);
		}
		em_buf_addf(&il, " %s", pv->findlinks[i]);
		pv->nfindlinks++;
	}
	*index_list = em_arena_strdup(a, il.ptr);
	em_buf_release(&il);
	return *index_list ? 0 : em_err_nomem(e);
}

/* The torch root: its variant (cuda-driver, ENVMATRIX_CUDA_DRIVER, else
 * the driver detected on this machine), routed to the variant's index. */
static int torch_root(struct em_arena *a, struct em_source *src, const struct em_matrix *m,
		      const struct em_plan_options *o, struct em_workload_plan *wp,
		      const struct em_tagset *tags, const struct em_target_env *env,
		      const char *mdir, struct provider *pv, struct roots *rs, struct em_error *e)
{
	const struct em_workload *w = wp->w;
	const char *file = m->file;
	const char *torch_url = w->torch_index_url.value ? w->torch_index_url.value
							   : "https://download.pytorch.org/whl";
	struct em_buf tb = EM_BUF_INIT;
	em_buf_addstr(&tb, "torch");
	em_specset_format(&w->torch_spec, &tb);
	char *spec_text = tb.err ? NULL : em_arena_strdup(a, tb.ptr);
	em_buf_release(&tb);
	if (!spec_text)
		return em_err_nomem(e);
	char *troot = setting_url(a, torch_url, mdir);
	if (!troot)
		return em_err_nomem(e);
	const char *drv = NULL, *drv_where = "ENVMATRIX_CUDA_DRIVER";
	char dw[EM_ERROR_WHERE_MAX];
	if (w->cuda_driver.value && strcmp(w->cuda_driver.value, "auto")) {
		drv = w->cuda_driver.value;
		snprintf(dw, sizeof dw, "cuda-driver, %s:%u", file, (unsigned)w->cuda_driver.line);
		drv_where = dw;
	} else if (o->driver_env && *o->driver_env) {
		drv = o->driver_env;
	} else if (wp->host_target && o->gpu && o->gpu->have_driver) {
		drv = o->gpu->driver;
		drv_where = em_arena_printf(a, "detected from %s", o->gpu->driver_source);
	}
	const struct em_gpu_info *gpu = wp->host_target ? o->gpu : NULL;
	int rc = variant_for(a, src, wp, file, troot, spec_text, tags, drv, drv_where, gpu, e);
	if (rc)
		return rc;
	wp->torch_index = em_url_join(a, troot, wp->variant, true);
	pv->torch_index = wp->torch_index;
	char where[EM_ERROR_WHERE_MAX];
	snprintf(where, sizeof where, "%s:%u", file, (unsigned)w->torch.line);
	return add_root(a, rs, env, spec_text, where, e);
}

/* The roots after torch: packages, then the requirements file. */
static int other_roots(struct em_arena *a, const struct em_matrix *m,
		       const struct em_plan_options *o, const struct em_workload *w,
		       const struct em_target_env *env, const char *mdir, struct roots *rs,
		       struct em_error *e)
{
	char where[EM_ERROR_WHERE_MAX];
	int rc;
	for (uint32_t i = 0; i < w->npackages; i++) {
		snprintf(where, sizeof where, "%s:%u", w->packages[i].file, (unsigned)w->packages[i].line);
		rc = add_root(a, rs, env, w->packages[i].text, where, e);
		if (rc)
			return rc;
	}
	if (w->requirements.value) {
		snprintf(where, sizeof where, "%s:%u", m->file, (unsigned)w->requirements.line);
		char *path = em_path_join(a, mdir, w->requirements.value);
		if (!path)
			return em_err_nomem(e);
		rc = add_reqfile(a, o, rs, env, path, where, 0, e);
		if (rc)
			return rc;
	}
	return 0;
}

/* The existing lock (wp->lock_path) into old and *old_text (NULL when
 * there is none or it is broken: a broken lock is replaced, which the
 * change list says), and its versions as preferences unless upgrading. */
static int read_old_lock(struct em_arena *a, const struct em_plan_options *o,
			 struct em_workload_plan *wp, const char *matrix_path, struct em_lock *old,
			 char **old_text, size_t *old_len, struct em_preference **prefs,
			 uint32_t *nprefs, struct em_error *e)
{
	memset(old, 0, sizeof *old);
	*old_text = NULL;
	*old_len = 0;
	*prefs = NULL;
	*nprefs = 0;
	struct em_error le;
	em_error_clear(&le);
	int rc = read_input(o, a, wp->lock_path, MAX_LOCK, old_text, old_len, &le);
	if (rc == 0) {
		rc = em_lock_parse(a, *old_text, *old_len, wp->lock_path, old, &le);
		if (rc) {
			*old_text = NULL;
			memset(old, 0, sizeof *old);
		} else {
			/* another matrix's lock is neither a preference nor replaced */
			rc = em_lock_check_matrix(old, wp->lock_path, matrix_path, e);
			if (rc)
				return rc;
			wp->had_lock = true;
		}
	} else if (rc != EM_ENOTFOUND) {
		if (e)
			*e = le;
		return rc;
	}
	if (wp->had_lock && !o->upgrade) {
		*prefs = em_arena_array(a, old->npackages ? old->npackages : 1, sizeof **prefs);
		if (!*prefs)
			return em_err_nomem(e);
		for (uint32_t i = 0; i < old->npackages; i++)
			if (old->packages[i].version)
				(*prefs)[(*nprefs)++] = (struct em_preference){ old->packages[i].name,
										old->packages[i].version };
	}
	return 0;
}

/* Resolve the roots, then check the GPUs of this machine against the torch
 * build chosen. */
static int resolve_roots(struct em_arena *a, const struct em_matrix *m,
			 const struct em_plan_options *o, struct em_workload_plan *wp,
			 struct provider *pv, const struct roots *rs,
			 const struct em_preference *prefs, uint32_t nprefs, struct em_error *e)
{
	const struct em_workload *w = wp->w;
	struct em_resolve_in in = { w->name, rs->n, rs->r, nprefs, prefs, 0, NULL, 0 };
	struct em_provider prov = { pv, prov_candidates, prov_dependencies };
	struct em_buf why = EM_BUF_INIT;
	int rc = em_resolve(a, &in, &prov, &wp->res, &why, e);
	wp->stats = wp->res.stats;
	if (rc == EM_ECONFLICT)
		wp->explain = em_arena_strdup(a, why.ptr);
	em_buf_release(&why);
	provider_free(pv);
	if (rc)
		return rc;
	for (uint32_t i = 0; i < wp->res.n && wp->host_target && o->gpu && wp->variant; i++) {
		if (strcmp(wp->res.pkgs[i].name, "torch"))
			continue;
		rc = em_gpu_check_torch(o->gpu, wp->res.pkgs[i].cand->version->str, wp->variant,
					wp->target.plat.os, e);
		if (rc) {
			char where[EM_ERROR_WHERE_MAX];
			snprintf(where, sizeof where, "%s:%u", m->file,
				 (unsigned)(w->cuda.line ? w->cuda.line : w->torch.line));
			em_err_prefix_where(e, "%s", where);
			return rc;
		}
	}
	return 0;
}

static int plan_workload(struct em_arena *a, struct em_source *src, const struct em_matrix *m,
			 const struct em_plan_options *o, const struct em_interp_list **interps,
			 struct em_interp_list *own, struct em_workload_plan *wp, struct em_error *e)
{
	const struct em_workload *w = wp->w;
	const char *file = m->file;
	char *mdir = em_path_dir(a, o->matrix_path ? o->matrix_path : file);
	if (!mdir)
		return em_err_nomem(e);
	int rc = em_plan_target(a, m, o, interps, own, wp, e);
	if (rc)
		return rc;

	struct em_tagset tags;
	rc = em_tags_for_target(a, &wp->target, &tags, e);
	if (rc)
		return rc;
	struct em_target_env env;
	em_target_marker_env(&wp->target, &env);

	struct provider pv;
	memset(&pv, 0, sizeof pv);
	pv.a = a;
	pv.src = src;
	pv.t = &wp->target;
	pv.tags = &tags;
	pv.w = w;
	pv.mfile = file;
	pv.o = o;
	pv.wp = wp;
	char *index_list;
	rc = provider_indexes(a, w, mdir, &pv, &index_list, e);
	if (rc)
		return rc;

	/* the roots: torch first, then packages, then requirements files */
	struct roots rs;
	memset(&rs, 0, sizeof rs);
	if (w->torch.value && (rc = torch_root(a, src, m, o, wp, &tags, &env, mdir, &pv, &rs, e)))
		return rc;
	rc = other_roots(a, m, o, w, &env, mdir, &rs, e);
	if (rc)
		return rc;
	pv.direct = rs.direct;
	pv.ndirect = rs.ndirect;

	const char *matrix_path = o->matrix_path ? o->matrix_path : file;
	rc = em_matrix_lock_path(a, matrix_path, w->name, &wp->lock_path, e);
	if (rc)
		return rc;
	struct em_lock old;
	char *old_text;
	size_t old_len;
	struct em_preference *prefs;
	uint32_t nprefs;
	rc = read_old_lock(a, o, wp, matrix_path, &old, &old_text, &old_len, &prefs, &nprefs, e);
	if (rc)
		return rc;
	rc = resolve_roots(a, m, o, wp, &pv, &rs, prefs, nprefs, e);
	if (rc)
		return rc;
	rc = build_lock(a, src, wp, &rs, index_list, matrix_path, e);
	if (rc)
		return rc;
	wp->lock_changed = !old_text || old_len != wp->lock_len ||
			   memcmp(old_text, wp->lock_text, old_len) != 0;
	return em_lock_diff(a, &old, &wp->lock, &wp->changes, &wp->nchanges) ? em_err_nomem(e) : 0;
}

int em_plan_build(struct em_arena *a, struct em_source *src, const struct em_matrix *m,
		  const struct em_plan_options *o, struct em_plan *out, struct em_error *e)
{
	memset(out, 0, sizeof *out);
	out->m = m;
	for (uint32_t i = 0; i < o->nonly; i++)
		if (!em_matrix_find(m, o->only[i]))
			return em_err(e, EM_ENOTFOUND, m->file, "no workload '%s' in the matrix",
				      o->only[i]);
	out->w = em_arena_array(a, m->nworkloads ? m->nworkloads : 1, sizeof *out->w);
	if (!out->w)
		return em_err_nomem(e);
	const struct em_interp_list *interps = o->interps;
	struct em_interp_list own;
	memset(&own, 0, sizeof own);
	struct em_plan_options po = *o; /* the catalogue of Python builds comes through src */
	if (!po.python_src)
		po.python_src = src;
	o = &po;
	for (uint32_t i = 0; i < m->nworkloads; i++) {
		const struct em_workload *w = &m->workloads[i];
		bool selected = o->nonly == 0;
		for (uint32_t k = 0; k < o->nonly && !selected; k++)
			selected = !strcmp(o->only[k], w->name);
		if (!selected)
			continue;
		struct em_workload_plan *wp = &out->w[out->n++];
		memset(wp, 0, sizeof *wp);
		wp->w = w;
		em_error_clear(&wp->err);
		wp->status = plan_workload(a, src, m, o, &interps, &own, wp, &wp->err);
		if (wp->status == EM_ENOMEM)
			return em_err_nomem(e);
		if (wp->status)
			out->nfailed++;
	}
	out->found = own;
	return 0;
}

int em_plan_write_locks(const struct em_plan *p, struct em_error *e)
{
	for (uint32_t i = 0; i < p->n; i++) {
		const struct em_workload_plan *wp = &p->w[i];
		if (wp->status || !wp->lock_changed)
			continue;
		int rc = em_write_file_atomic(wp->lock_path, wp->lock_text, wp->lock_len, 0644, e);
		if (rc)
			return rc;
	}
	return 0;
}
