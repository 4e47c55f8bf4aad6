/* mkindex.c - build package indexes on disk from a spec (tests/tools/spec.h)
 *
 *     mkindex SPEC OUTDIR
 *
 * For every index of the spec: OUT/NAME/index.html (the project list),
 * OUT/NAME/PROJECT/index.html (PEP 503) and/or index.json (PEP 691, api
 * 1.1), the wheels and sdists, and PEP 658 sidecars (FILE.metadata); with
 * absolute-urls=yes the files go to OUT/NAME-files/ and the pages link them
 * with absolute file:// URLs. A findlinks folder gets the files alone.
 * The pages come from the library's index_write.h, which `envmatrix
 * mirror` uses too.
 *
 * Wheels are real zip files (METADATA, WHEEL, RECORD with sha256 and size
 * of every member), written by libarchive with fixed times and owners and
 * sorted members, so the same spec gives the same bytes and the hashes in
 * expected lock files stay put. Existing files in OUTDIR are overwritten,
 * others are left alone. Errors go to stderr as "mkindex: WHERE: MESSAGE"
 * (WHERE is SPEC:LINE for a mistake in the spec) and exit 1; usage errors
 * exit 2.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <archive.h>
#include <archive_entry.h>

#include "util/arena.h"
#include "util/buf.h"
#include "envmatrix/error.h"
#include "index_write.h"
#include "spec/pep440.h"
#include "util/sha256.h"
#include "spec/tags.h"
#include "spec.h"

/* 2025-01-01T00:00:00Z: every member's time */
#define FIXED_MTIME 1735689600
#define GENERATOR "mkindex (envmatrix tests)"

static const char *prog = "mkindex";

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void die_err(const struct em_error *e)
{
	if (e->where[0])
		die("%s: %s", e->where, e->msg);
	die("%s", e->msg);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		die("out of memory");
	return p;
}

static char *xprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *xprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		die("out of memory");
	char *s = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

static void check_buf(const struct em_buf *b)
{
	if (b->err)
		die("out of memory");
}

/* ---- files ---- */

static void mkdir_p(const char *path)
{
	char *p = xprintf("%s", path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0777) && errno != EEXIST)
			die("%s: cannot create: %s", p, strerror(errno));
		*s = '/';
	}
	if (mkdir(p, 0777) && errno != EEXIST)
		die("%s: cannot create: %s", p, strerror(errno));
	free(p);
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		die("%s: cannot create: %s", path, strerror(errno));
	if ((len && fwrite(data, 1, len, f) != len) | (fclose(f) != 0))
		die("%s: cannot write: %s", path, strerror(errno));
}

/* ---- text ---- */

/* Percent-encode what a URL path may not hold ('+' too, as PyPI and the
 * PyTorch index do); '/' is kept when keep_slash. */
static void url_encode(struct em_buf *b, const char *s, bool keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~' || (keep_slash && c == '/')) {
			em_buf_addc(b, (char)c);
		} else {
			em_buf_addc(b, '%');
			em_buf_addc(b, hex[c >> 4]);
			em_buf_addc(b, hex[c & 15]);
		}
	}
}

/* RECORD's hash: urlsafe base64 of the digest, without padding. */
static void record_hash(struct em_buf *b, const char *hex)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char d[32];
	for (int i = 0; i < 32; i++) {
		unsigned hi = (unsigned)(hex[2 * i] <= '9' ? hex[2 * i] - '0' : hex[2 * i] - 'a' + 10);
		unsigned lo = (unsigned)(hex[2 * i + 1] <= '9' ? hex[2 * i + 1] - '0'
							       : hex[2 * i + 1] - 'a' + 10);
		d[i] = (unsigned char)(hi << 4 | lo);
	}
	em_buf_addstr(b, "sha256=");
	for (int i = 0; i < 32; i += 3) {
		unsigned v = (unsigned)d[i] << 16;
		int left = 32 - i;
		if (left > 1)
			v |= (unsigned)d[i + 1] << 8;
		if (left > 2)
			v |= d[i + 2];
		em_buf_addc(b, b64[v >> 18 & 63]);
		em_buf_addc(b, b64[v >> 12 & 63]);
		if (left > 1)
			em_buf_addc(b, b64[v >> 6 & 63]);
		if (left > 2)
			em_buf_addc(b, b64[v & 63]);
	}
}

/* A CSV field of RECORD (quoted when it must be). */
static void csv_field(struct em_buf *b, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		em_buf_addstr(b, s);
		return;
	}
	em_buf_addc(b, '"');
	for (; *s; s++) {
		if (*s == '"')
			em_buf_addc(b, '"');
		em_buf_addc(b, *s);
	}
	em_buf_addc(b, '"');
}

/* ---- archives ---- */

struct member {
	char *name;
	const char *data;
	size_t len;
	bool exec;
	bool owned; /* data was malloc'd here */
};

struct members {
	struct member *m;
	size_t n, cap;
};

/* Add a member; one with the same name is replaced. */
static void add_member(struct members *ms, const char *name, const char *data, size_t len,
		       bool exec, bool owned)
{
	for (size_t i = 0; i < ms->n; i++) {
		if (strcmp(ms->m[i].name, name))
			continue;
		if (ms->m[i].owned)
			free((void *)ms->m[i].data);
		ms->m[i].data = data;
		ms->m[i].len = len;
		ms->m[i].exec = exec;
		ms->m[i].owned = owned;
		return;
	}
	if (ms->n == ms->cap) {
		ms->cap = ms->cap ? ms->cap * 2 : 16;
		ms->m = realloc(ms->m, ms->cap * sizeof *ms->m);
		if (!ms->m)
			die("out of memory");
	}
	ms->m[ms->n++] = (struct member){ xprintf("%s", name), data, len, exec, owned };
}

static void free_members(struct members *ms)
{
	for (size_t i = 0; i < ms->n; i++) {
		free(ms->m[i].name);
		if (ms->m[i].owned)
			free((void *)ms->m[i].data);
	}
	free(ms->m);
	memset(ms, 0, sizeof *ms);
}

static int cmp_member(const void *x, const void *y)
{
	return strcmp(((const struct member *)x)->name, ((const struct member *)y)->name);
}

static char *buf_take(struct em_buf *b, size_t *len)
{
	check_buf(b);
	char *p = em_buf_detach(b, len);
	if (!p)
		die("out of memory");
	return p;
}

static la_ssize_t to_buf(struct archive *ar, void *client, const void *data, size_t n)
{
	(void)ar;
	struct em_buf *b = client;
	em_buf_add(b, data, n);
	return b->err ? -1 : (la_ssize_t)n;
}

enum kind { ZIP, TAR_GZ };

/* Write the members, in their order, as a zip or a .tar.gz into out. */
static void write_archive(const char *what, enum kind kind, const struct members *ms,
			  struct em_buf *out)
{
	struct archive *ar = archive_write_new();
	if (!ar)
		die("out of memory");
	int r;
	if (kind == ZIP) {
		r = archive_write_set_format_zip(ar);
		if (r == ARCHIVE_OK)
			r = archive_write_set_options(ar, "zip:compression=deflate");
	} else {
		r = archive_write_set_format_ustar(ar);
		if (r == ARCHIVE_OK)
			r = archive_write_add_filter_gzip(ar);
		/* no time in the gzip header */
		if (r == ARCHIVE_OK)
			r = archive_write_set_filter_option(ar, "gzip", "timestamp", NULL);
	}
	if (r == ARCHIVE_OK)
		r = archive_write_set_bytes_per_block(ar, 0);
	if (r == ARCHIVE_OK)
		r = archive_write_open(ar, out, NULL, to_buf, NULL);
	for (size_t i = 0; r == ARCHIVE_OK && i < ms->n; i++) {
		const struct member *m = &ms->m[i];
		struct archive_entry *ent = archive_entry_new();
		if (!ent)
			die("out of memory");
		archive_entry_set_pathname(ent, m->name);
		archive_entry_set_filetype(ent, AE_IFREG);
		archive_entry_set_perm(ent, m->exec ? 0755 : 0644);
		archive_entry_set_size(ent, (la_int64_t)m->len);
		archive_entry_set_mtime(ent, FIXED_MTIME, 0);
		archive_entry_set_uid(ent, 0);
		archive_entry_set_gid(ent, 0);
		r = archive_write_header(ar, ent);
		if (r == ARCHIVE_OK && m->len &&
		    archive_write_data(ar, m->data, m->len) != (la_ssize_t)m->len)
			r = ARCHIVE_FATAL;
		archive_entry_free(ent);
	}
	if (r == ARCHIVE_OK)
		r = archive_write_close(ar);
	if (r != ARCHIVE_OK)
		die("%s: cannot write the archive: %s", what,
		    archive_error_string(ar) ? archive_error_string(ar) : "unknown error");
	archive_write_free(ar);
	check_buf(out);
}

/* ---- wheels and sdists ---- */

struct ctx {
	const struct spec *s;
	const char *absout; /* OUTDIR, absolute */
	const char *out;    /* OUTDIR as given */
	struct em_error e;
};

static void metadata_of(struct ctx *c, const struct spec_package *p, const struct spec_version *v,
			const struct spec_wheel *w, struct em_buf *md)
{
	if (spec_metadata(c->s, p, v, w, md, &c->e)) {
		em_err_prefix_where(&c->e, "%s:%u", c->s->path, v->line);
		die_err(&c->e);
	}
}

static void add_contents(struct members *ms, const struct spec_extra *x)
{
	for (size_t i = 0; i < x->nfiles; i++) {
		const struct spec_content *f = &x->files[i];
		bool exec = strstr(f->path, ".data/scripts/") != NULL;
		add_member(ms, f->path, f->data, f->len, exec, false);
	}
}

/* entry_points.txt: groups in the order they first appear, each with its
 * lines in spec order (the version's, then the wheel's) */
static void entry_points(struct em_buf *b, const struct spec_extra *const *xs, size_t nx)
{
	size_t n = 0, k = 0;
	for (size_t i = 0; i < nx; i++)
		n += xs[i]->nentry_points;
	const struct spec_entry_point **all = xmalloc(n * sizeof *all);
	for (size_t i = 0; i < nx; i++)
		for (size_t j = 0; j < xs[i]->nentry_points; j++)
			all[k++] = &xs[i]->entry_points[j];
	for (size_t i = 0; i < n; i++) {
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = !strcmp(all[j]->group, all[i]->group);
		if (seen)
			continue;
		em_buf_addf(b, "%s[%s]\n", i ? "\n" : "", all[i]->group);
		for (size_t j = i; j < n; j++)
			if (!strcmp(all[j]->group, all[i]->group))
				em_buf_addf(b, "%s = %s\n", all[j]->name, all[j]->object);
	}
	free(all);
}

static void build_wheel(struct ctx *c, const struct spec_package *p, const struct spec_version *v,
			const struct spec_wheel *w, struct em_buf *zip, struct em_buf *md)
{
	metadata_of(c, p, v, w, md);
	char *prefix = xprintf("%s-%s", p->file_name, v->normalized);
	char *info = xprintf("%s.dist-info", prefix);
	struct members ms = { 0 };

	char *init = xprintf("\"\"\"%s %s, a test package made by mkindex\"\"\"\n"
			     "__version__ = \"%s\"\n",
			     p->name, v->normalized, v->normalized);
	char *initname = xprintf("%s/__init__.py", p->file_name);
	add_member(&ms, initname, init, strlen(init), false, true);
	free(initname);
	add_contents(&ms, &v->extra);
	add_contents(&ms, &w->extra);

	char *name = xprintf("%s/METADATA", info);
	char *mdcopy = xmalloc(md->len + 1);
	memcpy(mdcopy, md->ptr, md->len + 1);
	add_member(&ms, name, mdcopy, md->len, false, true);
	free(name);

	/* WHEEL: one Tag line per expanded tag, in the order written */
	struct em_arena a;
	em_arena_init(&a);
	struct em_wheel_name wn;
	if (em_wheel_name_parse(&a, w->filename, strlen(w->filename), &wn, &c->e)) {
		em_err_prefix_where(&c->e, "%s:%u", c->s->path, w->line);
		die_err(&c->e);
	}
	bool purelib = true;
	for (uint32_t i = 0; i < wn.nabi; i++)
		purelib &= !strcmp(wn.abi[i], "none");
	for (uint32_t i = 0; i < wn.nplat; i++)
		purelib &= !strcmp(wn.plat[i], "any");
	struct em_buf b = EM_BUF_INIT;
	em_buf_addf(&b, "Wheel-Version: 1.0\nGenerator: %s\nRoot-Is-Purelib: %s\n", GENERATOR,
		    purelib ? "true" : "false");
	for (uint32_t i = 0; i < wn.npy; i++)
		for (uint32_t j = 0; j < wn.nabi; j++)
			for (uint32_t k = 0; k < wn.nplat; k++)
				em_buf_addf(&b, "Tag: %s-%s-%s\n", wn.py[i], wn.abi[j], wn.plat[k]);
	if (w->build)
		em_buf_addf(&b, "Build: %s\n", w->build);
	em_arena_release(&a);
	size_t len;
	char *text = buf_take(&b, &len);
	name = xprintf("%s/WHEEL", info);
	add_member(&ms, name, text, len, false, true);
	free(name);

	const struct spec_extra *xs[2] = { &v->extra, &w->extra };
	entry_points(&b, xs, 2);
	if (b.len) {
		text = buf_take(&b, &len);
		name = xprintf("%s/entry_points.txt", info);
		add_member(&ms, name, text, len, false, true);
		free(name);
	}

	/* sorted, then RECORD last */
	qsort(ms.m, ms.n, sizeof *ms.m, cmp_member);
	char *record = xprintf("%s/RECORD", info);
	for (size_t i = 0; i < ms.n; i++) {
		char hex[EM_SHA256_HEX_LEN + 1];
		em_sha256_buf(ms.m[i].data, ms.m[i].len, hex);
		csv_field(&b, ms.m[i].name);
		em_buf_addc(&b, ',');
		record_hash(&b, hex);
		em_buf_addf(&b, ",%zu\n", ms.m[i].len);
	}
	csv_field(&b, record);
	em_buf_addstr(&b, ",,\n");
	text = buf_take(&b, &len);
	add_member(&ms, record, text, len, false, true);
	free(record);

	write_archive(w->filename, ZIP, &ms, zip);
	free_members(&ms);
	free(prefix);
	free(info);
}

static void build_sdist(struct ctx *c, const struct spec_package *p, const struct spec_version *v,
			struct em_buf *tgz)
{
	struct em_buf md = EM_BUF_INIT;
	metadata_of(c, p, v, NULL, &md);
	char *prefix = xprintf("%s-%s", p->file_name, v->normalized);
	struct members ms = { 0 };
	size_t len;
	char *text = buf_take(&md, &len);
	char *name = xprintf("%s/PKG-INFO", prefix);
	add_member(&ms, name, text, len, false, true);
	free(name);
	text = xprintf("[build-system]\nrequires = [\"setuptools>=61\"]\n"
		       "build-backend = \"setuptools.build_meta\"\n\n"
		       "[project]\nname = \"%s\"\nversion = \"%s\"\n",
		       p->name, v->normalized);
	name = xprintf("%s/pyproject.toml", prefix);
	add_member(&ms, name, text, strlen(text), false, true);
	free(name);
	text = xprintf("__version__ = \"%s\"\n", v->normalized);
	name = xprintf("%s/%s/__init__.py", prefix, p->file_name);
	add_member(&ms, name, text, strlen(text), false, true);
	free(name);
	/* the sdist's own files (an in-tree backend, a pyproject.toml) */
	for (size_t i = 0; i < v->sdist_extra.nfiles; i++) {
		const struct spec_content *f = &v->sdist_extra.files[i];
		name = xprintf("%s/%s", prefix, f->path);
		add_member(&ms, name, f->data, f->len, false, false);
		free(name);
	}
	qsort(ms.m, ms.n, sizeof *ms.m, cmp_member);
	write_archive(v->sdist_filename, TAR_GZ, &ms, tgz);
	free_members(&ms);
	free(prefix);
}

/* ---- indexes ---- */

/* One published file, as the pages describe it. */
struct pub {
	const struct spec_version *v;
	char *filename;
	char *url;
	char sha256[EM_SHA256_HEX_LEN + 1]; /* the published hash, "" for none */
	size_t size;
	bool sidecar;
	char md_hex[EM_SHA256_HEX_LEN + 1];
};

struct pubs {
	struct pub *p;
	size_t n, cap;
};

static struct pub *add_pub(struct pubs *ps)
{
	if (ps->n == ps->cap) {
		ps->cap = ps->cap ? ps->cap * 2 : 16;
		ps->p = realloc(ps->p, ps->cap * sizeof *ps->p);
		if (!ps->p)
			die("out of memory");
	}
	struct pub *p = &ps->p[ps->n++];
	memset(p, 0, sizeof *p);
	return p;
}

/* Write one file (and its sidecar) into dir, and describe it. */
static void publish(struct ctx *c, const struct spec_index *ix, const char *dir,
		    const char *url_dir, const struct spec_version *v, const char *filename,
		    const struct em_buf *data, const struct em_buf *md, bool sidecar,
		    enum spec_hash hash, struct pubs *ps)
{
	(void)c;
	char *path = xprintf("%s/%s", dir, filename);
	write_file(path, data->ptr, data->len);
	struct pub *p = add_pub(ps);
	p->v = v;
	p->filename = xprintf("%s", filename);
	p->size = data->len;
	if (ix->hashes && hash == SPEC_HASH_YES) {
		em_sha256_buf(data->ptr, data->len, p->sha256);
	} else if (ix->hashes && hash == SPEC_HASH_WRONG) {
		char *s = xprintf("mkindex: a wrong hash for %s", filename);
		em_sha256_buf(s, strlen(s), p->sha256);
		free(s);
	}
	struct em_buf u = EM_BUF_INIT;
	if (url_dir) {
		em_buf_addstr(&u, url_dir);
		em_buf_addc(&u, '/');
	}
	url_encode(&u, filename, false);
	size_t len;
	p->url = buf_take(&u, &len);
	if (sidecar && md) {
		char *mpath = xprintf("%s.metadata", path);
		write_file(mpath, md->ptr, md->len);
		free(mpath);
		p->sidecar = true;
		em_sha256_buf(md->ptr, md->len, p->md_hex);
	}
	free(path);
}

static void write_page(const char *path, int rc, struct em_buf *b, const struct ctx *c)
{
	if (rc)
		die_err(&c->e);
	write_file(path, b->ptr, b->len);
	em_buf_release(b);
}

static int cmp_version_ptr(const void *x, const void *y)
{
	return em_version_cmp(*(const struct em_version *const *)x,
			      *(const struct em_version *const *)y);
}

/* The page's view of the published files (pointing into ps). */
static struct em_index_write_file *page_files(const struct spec_index *ix, const struct pubs *ps)
{
	struct em_index_write_file *fs = xmalloc(ps->n * sizeof *fs);
	for (size_t i = 0; i < ps->n; i++) {
		const struct pub *f = &ps->p[i];
		fs[i] = (struct em_index_write_file){
			.filename = f->filename,
			.url = f->url,
			.sha256 = f->sha256[0] ? f->sha256 : NULL,
			.requires_python = ix->requires_python ? f->v->requires_python : NULL,
			.has_metadata = f->sidecar,
			.metadata_sha256 = ix->hashes ? f->md_hex : NULL,
			.yanked = f->v->yanked,
			.yank_reason = f->v->yank_reason,
			.size = (int64_t)f->size,
			.upload_time = f->v->upload_time,
		};
	}
	return fs;
}

static void project_json(struct ctx *c, const struct spec_index *ix, const struct spec_package *p,
			 const struct pubs *ps, const char *path)
{
	struct em_arena a;
	em_arena_init(&a);
	const struct em_version **vs = em_arena_array(&a, p->nversions, sizeof *vs);
	const char **names = em_arena_array(&a, p->nversions, sizeof *names);
	if ((!vs || !names) && p->nversions)
		die("out of memory");
	for (size_t i = 0; i < p->nversions; i++) {
		struct em_version *v = em_arena_alloc(&a, sizeof *v);
		struct em_error e;
		if (!v || em_version_parse(&a, p->versions[i].normalized,
					   strlen(p->versions[i].normalized), v, &e))
			die("out of memory");
		vs[i] = v;
	}
	qsort(vs, p->nversions, sizeof *vs, cmp_version_ptr);
	for (size_t i = 0; i < p->nversions; i++)
		names[i] = vs[i]->str;
	struct em_index_write_file *fs = page_files(ix, ps);
	struct em_buf b = EM_BUF_INIT;
	int rc = em_index_write_project_json(&b, p->canonical, names, (uint32_t)p->nversions, fs,
					     (uint32_t)ps->n, &c->e);
	write_page(path, rc, &b, c);
	free(fs);
	em_arena_release(&a);
}

static void project_html(struct ctx *c, const struct spec_index *ix, const struct spec_package *p,
			 const struct pubs *ps, const char *path)
{
	struct em_index_write_file *fs = page_files(ix, ps);
	struct em_buf b = EM_BUF_INIT;
	int rc = em_index_write_project_html(&b, p->canonical, fs, (uint32_t)ps->n, &c->e);
	write_page(path, rc, &b, c);
	free(fs);
}

static int cmp_package_ptr(const void *x, const void *y)
{
	return strcmp((*(const struct spec_package *const *)x)->canonical,
		      (*(const struct spec_package *const *)y)->canonical);
}

static bool wants_sidecar(const struct spec_index *ix, const struct spec_wheel *w)
{
	if (ix->findlinks || w->sidecar == SPEC_SIDECAR_NO)
		return false;
	return w->sidecar == SPEC_SIDECAR_YES || ix->sidecars;
}

/* Every file of a package into dir; url_dir NULL for relative links. */
static void package_files(struct ctx *c, const struct spec_index *ix, const struct spec_package *p,
			  const char *dir, const char *url_dir, struct pubs *ps)
{
	struct em_buf data = EM_BUF_INIT, md = EM_BUF_INIT;
	for (size_t i = 0; i < p->nversions; i++) {
		const struct spec_version *v = &p->versions[i];
		for (size_t j = 0; j < v->nwheels; j++) {
			const struct spec_wheel *w = &v->wheels[j];
			em_buf_reset(&data);
			em_buf_reset(&md);
			build_wheel(c, p, v, w, &data, &md);
			publish(c, ix, dir, url_dir, v, w->filename, &data, &md,
				wants_sidecar(ix, w), w->hash, ps);
		}
		if (v->sdist) {
			em_buf_reset(&data);
			build_sdist(c, p, v, &data);
			em_buf_reset(&md);
			if (v->sdist_sidecar)
				metadata_of(c, p, v, NULL, &md);
			publish(c, ix, dir, url_dir, v, v->sdist_filename, &data, &md,
				v->sdist_sidecar && !ix->findlinks, SPEC_HASH_YES, ps);
		}
	}
	em_buf_release(&data);
	em_buf_release(&md);
}

static void free_pubs(struct pubs *ps)
{
	for (size_t i = 0; i < ps->n; i++) {
		free(ps->p[i].filename);
		free(ps->p[i].url);
	}
	free(ps->p);
	memset(ps, 0, sizeof *ps);
}

static void build_index(struct ctx *c, const struct spec_index *ix)
{
	char *root = xprintf("%s/%s", c->out, ix->name);
	mkdir_p(root);
	if (ix->findlinks) {
		for (size_t i = 0; i < ix->npackages; i++) {
			struct pubs ps = { 0 };
			package_files(c, ix, ix->packages[i], root, NULL, &ps);
			free_pubs(&ps);
		}
		free(root);
		return;
	}
	char *files_dir = NULL, *files_url = NULL;
	if (ix->absolute_urls) {
		files_dir = xprintf("%s/%s-files", c->out, ix->name);
		mkdir_p(files_dir);
		struct em_buf u = EM_BUF_INIT;
		em_buf_addstr(&u, "file://");
		char *abs = xprintf("%s/%s-files", c->absout, ix->name);
		url_encode(&u, abs, true);
		free(abs);
		size_t len;
		files_url = buf_take(&u, &len);
	}
	const struct spec_package **sorted = xmalloc(ix->npackages * sizeof *sorted);
	memcpy(sorted, ix->packages, ix->npackages * sizeof *sorted);
	qsort(sorted, ix->npackages, sizeof *sorted, cmp_package_ptr);

	struct em_index_write_project *list = xmalloc(ix->npackages * sizeof *list);
	for (size_t i = 0; i < ix->npackages; i++) {
		const struct spec_package *p = sorted[i];
		char *pdir = xprintf("%s/%s", root, p->canonical);
		mkdir_p(pdir);
		struct pubs ps = { 0 };
		package_files(c, ix, p, files_dir ? files_dir : pdir, files_url, &ps);
		if (ix->format & SPEC_HTML) {
			char *path = xprintf("%s/index.html", pdir);
			project_html(c, ix, p, &ps, path);
			free(path);
		}
		if (ix->format & SPEC_JSON) {
			char *path = xprintf("%s/index.json", pdir);
			project_json(c, ix, p, &ps, path);
			free(path);
		}
		free_pubs(&ps);
		free(pdir);
		list[i] = (struct em_index_write_project){ p->name, p->canonical };
	}
	if (ix->format & SPEC_HTML) {
		char *path = xprintf("%s/index.html", root);
		struct em_buf b = EM_BUF_INIT;
		int rc = em_index_write_root_html(&b, list, (uint32_t)ix->npackages, &c->e);
		write_page(path, rc, &b, c);
		free(path);
	}
	if (ix->format & SPEC_JSON) {
		char *path = xprintf("%s/index.json", root);
		struct em_buf b = EM_BUF_INIT;
		int rc = em_index_write_root_json(&b, list, (uint32_t)ix->npackages, &c->e);
		write_page(path, rc, &b, c);
		free(path);
	}
	free(list);
	free(sorted);
	free(files_dir);
	free(files_url);
	free(root);
}

int main(int argc, char **argv)
{
	if (argc != 3 || argv[1][0] == '-') {
		fprintf(stderr, "usage: %s SPEC OUTDIR\n", prog);
		return 2;
	}
	/* zip member times are local times: make them the same everywhere */
	setenv("TZ", "UTC0", 1);
	tzset();

	struct em_arena a;
	em_arena_init(&a);
	struct ctx c = { 0 };
	struct spec s;
	if (spec_load(&a, argv[1], &s, &c.e))
		die_err(&c.e);
	c.s = &s;
	size_t outlen = strlen(argv[2]);
	while (outlen > 1 && argv[2][outlen - 1] == '/')
		outlen--;
	char *out = xprintf("%.*s", (int)outlen, argv[2]);
	mkdir_p(out);
	char *abs = realpath(out, NULL);
	if (!abs)
		die("%s: %s", out, strerror(errno));
	c.out = out;
	c.absout = abs;
	for (size_t i = 0; i < s.nindexes; i++)
		build_index(&c, &s.indexes[i]);
	free(abs);
	free(out);
	em_arena_release(&a);
	return 0;
}
