/* cu130.c - the real cu130 environment as an in-memory package index */
#include "cu130.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/buf.h"
#include "os/fs.h"
#include "spec/metadata.h"
#include "spec/name.h"
#include "spec/pep508.h"

/* Projects a Windows plan of this environment needs that a Linux machine
 * never installed (markers such as sys_platform == "win32"). */
static const char *const windows_only[] = { "colorama", "pywin32", "tzdata", "intel-openmp",
					    "tbb", "windows-curses", "pyreadline3", "atomicwrites",
					    "nest-asyncio" };

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

struct tagparts {
	const char *py[8], *abi[8], *plat[16];
	int npy, nabi, nplat;
};

static void add_part(const char **list, int *n, int max, const char *s)
{
	for (int i = 0; i < *n; i++)
		if (!strcmp(list[i], s))
			return;
	if (*n < max)
		list[(*n)++] = s;
}

static char *join_parts(struct em_arena *a, const char **list, int n)
{
	struct em_buf b = EM_BUF_INIT;
	for (int i = 0; i < n; i++)
		em_buf_addf(&b, "%s%s", i ? "." : "", list[i]);
	char *r = em_arena_strdup(a, b.ptr);
	em_buf_release(&b);
	return r;
}

/* METADATA for another version of the same project. */
static const char *metadata_as(struct em_arena *a, const char *md, const char *version)
{
	const char *v = strstr(md, "\nVersion:");
	if (!v)
		return NULL;
	v++;
	const char *end = strchr(v, '\n');
	if (!end)
		return NULL;
	return em_arena_printf(a, "%.*sVersion: %s%s", (int)(v - md), md, version, end);
}

static int add_file(struct cu130 *c, struct cu130_project *p, uint32_t *cap, const char *version,
		    const char *tag, const char *requires_python, bool yanked)
{
	if (p->nfiles == *cap) {
		uint32_t ncap = *cap ? *cap * 2 : 8;
		struct em_dist_file *nf = em_arena_array(c->a, ncap, sizeof *nf);
		const char **nm = em_arena_array(c->a, ncap, sizeof *nm);
		if (!nf || !nm)
			return EM_ENOMEM;
		if (p->nfiles) {
			memcpy(nf, p->files, p->nfiles * sizeof *nf);
			memcpy(nm, p->file_metadata, p->nfiles * sizeof *nm);
		}
		p->files = nf;
		p->file_metadata = nm;
		*cap = ncap;
	}
	p->file_metadata[p->nfiles] = strcmp(version, p->version) ? metadata_as(c->a, p->metadata, version)
								 : p->metadata;
	if (!p->file_metadata[p->nfiles])
		return EM_ENOMEM;
	char stem[512];
	em_name_canonical_buf(p->name, strlen(p->name), stem, sizeof stem);
	for (char *s = stem; *s; s++)
		if (*s == '-')
			*s = '_';
	struct em_dist_file *f = &p->files[p->nfiles++];
	memset(f, 0, sizeof *f);
	f->filename = em_arena_printf(c->a, "%s-%s-%s.whl", stem, version, tag);
	f->url = em_arena_printf(c->a, "memory://cu130/%s", f->filename);
	f->index = "memory://cu130";
	f->size = 1000;
	f->requires_python = requires_python;
	f->yanked = yanked;
	f->yank_reason = yanked ? "a decoy" : NULL;
	return f->filename && f->url ? 0 : EM_ENOMEM;
}

/* The release numbers (and epoch) of a version: "1!2.11.0" from
 * "1!2.11.0+cu130". */
static char *release_of(struct em_arena *a, const char *version)
{
	struct em_version v;
	if (em_version_parse(a, version, strlen(version), &v, NULL))
		return NULL;
	struct em_buf b = EM_BUF_INIT;
	if (v.epoch)
		em_buf_addf(&b, "%llu!", (unsigned long long)v.epoch);
	for (uint32_t i = 0; i < v.nrelease; i++)
		em_buf_addf(&b, "%s%llu", i ? "." : "", (unsigned long long)v.release[i]);
	char *r = em_arena_strdup(a, b.ptr);
	em_buf_release(&b);
	return r;
}

static int load_one(struct cu130 *c, struct cu130_project *p, const char *dir, const char *entry,
		    struct em_error *e)
{
	char path[4096];
	char *md, *wheel;
	size_t mdlen, wlen;
	snprintf(path, sizeof path, "%s/%s/METADATA", dir, entry);
	int rc = em_read_file(c->a, path, 16u << 20, &md, &mdlen, e);
	if (rc)
		return rc;
	snprintf(path, sizeof path, "%s/%s/WHEEL", dir, entry);
	rc = em_read_file(c->a, path, 1u << 20, &wheel, &wlen, e);
	if (rc)
		return rc;
	struct em_metadata m;
	rc = em_metadata_parse(c->a, md, mdlen, entry, &m, e);
	if (rc)
		return rc;
	struct em_metadata wm;
	rc = em_metadata_parse_fields(c->a, wheel, wlen, path, &wm, e);
	if (rc)
		return rc;
	struct tagparts tp;
	memset(&tp, 0, sizeof tp);
	for (uint32_t i = 0; i < wm.nfields; i++) {
		if (strcasecmp(wm.fields[i].name, "Tag"))
			continue;
		char *t = em_arena_strdup(c->a, wm.fields[i].value);
		char *d1 = t ? strchr(t, '-') : NULL;
		char *d2 = d1 ? strchr(d1 + 1, '-') : NULL;
		if (!d2)
			return em_err(e, EM_EINVAL, path, "bad tag '%s'", wm.fields[i].value);
		*d1 = *d2 = '\0';
		add_part(tp.py, &tp.npy, 8, t);
		add_part(tp.abi, &tp.nabi, 8, d1 + 1);
		add_part(tp.plat, &tp.nplat, 16, d2 + 1);
	}
	if (!tp.npy)
		return em_err(e, EM_EINVAL, path, "no Tag lines");
	p->name = em_name_canonical(c->a, m.name, strlen(m.name));
	p->version = m.version;
	p->metadata = md;
	p->metadata_len = mdlen;
	/* decoys reuse the real METADATA with their version; a bare "\n" in
	 * front lets metadata_as find a Version on the first line too */
	if (strncmp(md, "Version:", 8) == 0)
		return em_err(e, EM_EUNSUPPORTED, entry, "Version as the first field");
	char *tag = em_arena_printf(c->a, "%s-%s-%s", join_parts(c->a, tp.py, tp.npy),
				    join_parts(c->a, tp.abi, tp.nabi),
				    join_parts(c->a, tp.plat, tp.nplat));
	char *rel = release_of(c->a, m.version);
	if (!p->name || !tag || !rel)
		return em_err(e, EM_EINVAL, entry, "cannot read name, version or tags");
	bool platform_wheel = strcmp(tp.plat[0], "any") != 0;
	uint32_t cap = 0;
	rc = add_file(c, p, &cap, m.version, tag, NULL, false);
	if (!rc && platform_wheel) {
		char *twin = em_arena_printf(c->a, "%s-%s-win_amd64", tp.py[0], tp.abi[0]);
		rc = twin ? add_file(c, p, &cap, m.version, twin, NULL, false) : EM_ENOMEM;
	}
	/* the decoys */
	char *older = em_arena_strdup(c->a, "0.0.0.1");
	char *pre = em_arena_printf(c->a, "%s.9rc1", rel);
	char *yanked = em_arena_printf(c->a, "%s.10", rel);
	char *py314 = em_arena_printf(c->a, "%s.11", rel);
	char *mac = em_arena_printf(c->a, "%s.12", rel);
	if (!older || !pre || !yanked || !py314 || !mac)
		return em_err_nomem(e);
	if (!rc && strcmp(m.version, "0.0.0.1") > 0)
		rc = add_file(c, p, &cap, older, tag, NULL, false);
	if (!rc)
		rc = add_file(c, p, &cap, pre, tag, NULL, false);
	if (!rc)
		rc = add_file(c, p, &cap, yanked, tag, NULL, true);
	if (!rc)
		rc = add_file(c, p, &cap, py314, tag, ">=3.14", false);
	if (!rc)
		rc = add_file(c, p, &cap, mac, "cp312-cp312-macosx_11_0_arm64", NULL, false);
	return rc ? em_err_nomem(e) : 0;
}

int cu130_target(struct cu130 *c, const char *platform, const char *python, struct em_error *e)
{
	int rc = em_platform_parse(platform, &c->target.plat, e);
	if (!rc)
		rc = em_python_parse(python, &c->target.py, e);
	if (!rc)
		rc = em_tags_for_target(c->a, &c->target, &c->tags, e);
	for (uint32_t i = 0; i < c->n; i++)
		c->projects[i].built = false;
	return rc;
}

struct cu130_project *cu130_find(struct cu130 *c, const char *name)
{
	uint32_t lo = 0, hi = c->n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int r = strcmp(name, c->projects[mid].name);
		if (!r)
			return &c->projects[mid];
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static int cmp_project(const void *x, const void *y)
{
	return strcmp(((const struct cu130_project *)x)->name, ((const struct cu130_project *)y)->name);
}

/* Every installed project no other installed project depends on (Linux,
 * no extras). */
static int find_roots(struct cu130 *c, struct em_error *e)
{
	int rc = cu130_target(c, "linux-x86_64-glibc2.39", "3.12.3", e);
	if (rc)
		return rc;
	struct em_target_env env;
	em_target_marker_env(&c->target, &env);
	bool *needed = calloc(c->n, sizeof *needed);
	if (!needed)
		return em_err_nomem(e);
	for (uint32_t i = 0; i < c->n && !rc; i++) {
		const struct cu130_project *p = &c->projects[i];
		if (p->extra)
			continue;
		struct em_metadata m;
		rc = em_metadata_parse(c->a, p->metadata, p->metadata_len, p->name, &m, e);
		for (uint32_t k = 0; !rc && k < m.nrequires_dist; k++) {
			struct em_requirement r;
			bool yes;
			rc = em_requirement_parse(c->a, m.requires_dist[k], strlen(m.requires_dist[k]),
						  &r, e);
			if (!rc)
				rc = em_requirement_applies(&r, &env.env, NULL, &yes, e);
			if (rc || !yes)
				continue;
			char *dn = em_name_canonical(c->a, r.name, strlen(r.name));
			struct cu130_project *d = dn ? cu130_find(c, dn) : NULL;
			if (d && d != p)
				needed[d - c->projects] = true;
		}
	}
	c->roots = em_arena_array(c->a, c->n, sizeof *c->roots);
	if (!rc && !c->roots)
		rc = em_err_nomem(e);
	for (uint32_t i = 0; !rc && i < c->n; i++) {
		if (needed[i] || c->projects[i].extra)
			continue;
		struct em_root_req *r = &c->roots[c->nroots++];
		memset(r, 0, sizeof *r);
		r->dep.name = c->projects[i].name;
		r->dep.text = c->projects[i].name;
		r->where = "cu130 request";
	}
	free(needed);
	return rc;
}

int cu130_load(struct cu130 *c, struct em_arena *a, const char *dir, struct em_error *e)
{
	memset(c, 0, sizeof *c);
	c->a = a;
	DIR *d = opendir(dir);
	if (!d)
		return em_err(e, EM_ENOTFOUND, dir, "cannot open the fixture folder");
	char *names[1024];
	uint32_t n = 0;
	struct dirent *de;
	while ((de = readdir(d)) && n < 1024)
		if (strstr(de->d_name, ".dist-info"))
			names[n++] = em_arena_strdup(a, de->d_name);
	closedir(d);
	qsort(names, n, sizeof *names, cmp_str);
	uint32_t nextra = sizeof windows_only / sizeof windows_only[0];
	c->projects = em_arena_zalloc(a, (n + nextra) * sizeof *c->projects);
	if (!c->projects)
		return em_err_nomem(e);
	for (uint32_t i = 0; i < n; i++) {
		int rc = load_one(c, &c->projects[c->n], dir, names[i], e);
		if (rc)
			return rc;
		c->n++;
	}
	qsort(c->projects, c->n, sizeof *c->projects, cmp_project);
	for (uint32_t i = 0; i < nextra; i++) {
		if (cu130_find(c, windows_only[i]))
			continue;
		struct cu130_project *p = &c->projects[c->n++];
		p->name = windows_only[i];
		p->version = "1.0";
		p->extra = true;
		p->metadata = em_arena_printf(a, "Metadata-Version: 2.1\nName: %s\nVersion: 1.0\n",
					      p->name);
		p->metadata_len = p->metadata ? strlen(p->metadata) : 0;
		uint32_t cap = 0;
		if (!p->metadata || add_file(c, p, &cap, "1.0", "py3-none-any", NULL, false))
			return em_err_nomem(e);
		qsort(c->projects, c->n, sizeof *c->projects, cmp_project);
	}
	return find_roots(c, e);
}

static int cu_candidates(void *ctx, const char *name, const struct em_candidate **out,
			 uint32_t *n, struct em_error *e)
{
	struct cu130 *c = ctx;
	struct cu130_project *p = cu130_find(c, name);
	if (!p)
		return em_err(e, EM_ENOTFOUND, NULL, "'%s' is not on the cu130 index", name);
	if (!p->built) {
		int rc = em_candidates_build(c->a, name, p->files, p->nfiles, &c->target, &c->tags,
					     &p->cands, &p->ncands, e);
		if (rc)
			return rc;
		p->built = true;
	}
	*out = p->cands;
	*n = p->ncands;
	return 0;
}

static int cu_dependencies(void *ctx, const char *name, uint32_t idx, const char *extra,
			   const struct em_dependency **out, uint32_t *n, const char **unusable,
			   struct em_error *e)
{
	struct cu130 *c = ctx;
	struct cu130_project *p = cu130_find(c, name);
	const struct em_choice *ch = p->cands[idx].data;
	const char *md = p->file_metadata[ch->file - p->files];
	struct em_dependency *deps;
	int rc = em_deps_from_metadata(c->a, md, strlen(md), name, &c->target, name,
				       p->cands[idx].version, extra, &deps, n, unusable, e);
	*out = deps;
	return rc;
}

struct em_provider cu130_provider(struct cu130 *c)
{
	struct em_provider p = { c, cu_candidates, cu_dependencies };
	return p;
}
