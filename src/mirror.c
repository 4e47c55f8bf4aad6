/* mirror.c - a static package index of exactly the locked files (mirror.h)
 *
 * The steps: read every selected lock and list its files by page (the
 * index a file belongs on follows the planner's routing: the torch family
 * of a workload with a torch variant on torch/<variant>, the rest on
 * simple), deduplicated by sha256; see which are already in DIR; fetch the
 * others through the cache (verified by sha256 and size) and place them
 * atomically; extract each wheel's METADATA into its sidecar; write the
 * pages, which only ever list files already in place; prune.
 */
#include "mirror.h"
#include "archive.h"
#include "spec/candidates.h"
#include "os/fs.h"
#include "spec/index.h"
#include "index_write.h"
#include "install.h"
#include "spec/lock.h"
#include "lockname.h"
#include "spec/metadata.h"
#include "spec/pep440.h"
#include "util/grow.h"
#include "util/sha256.h"
#include "spec/tags.h"
#include "settings.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_LOCK (64u << 20)
#define MAX_PAGE (256u << 20)
#define MAX_URLS 8 /* places one file can be had from (mirrors for the cache) */
#define LOCK_NAME ".envmatrix-mirror.lock"

/* a distinct file, by sha256 */
struct mfile {
	char sha256[EM_SHA256_HEX_LEN + 1];
	int64_t size;         /* from a lock, -1 when none gave it */
	const char *filename; /* the first name seen (for the cache) */
	const char *urls[MAX_URLS];
	uint32_t nurls;
	const char *where;    /* "LOCK:LINE" of its first entry */
	bool fetch;           /* some page lacks it in DIR */
	const char *path;     /* the verified file, after the fetch */
	bool from_cache;      /* path is in the cache (hard links are safe) */
	bool failed;
};

/* a file on a project page */
struct place {
	uint32_t proj, file;
	const char *filename;
	const char *version;     /* normalized, NULL when unknown */
	bool wheel;
	const char *lock_rp;     /* the lock's requires-python of the package */
	const char *upload_time; /* an RFC 3339 date-time with offset, or NULL */
	const char *where;       /* "LOCK:LINE" */
	const char *dest;
	bool present;            /* in DIR (already, or placed now) */
	bool placed_now;         /* placed by this run */
	bool damaged;            /* in DIR with the right size, but not a
				  * readable wheel: placed again */
	bool done;               /* size and sidecar known */
	int64_t size;
	bool has_md;
	char md_sha256[EM_SHA256_HEX_LEN + 1];
	const char *md_rp;       /* METADATA's Requires-Python */
};

struct proj {
	uint32_t id;       /* its index before sorting */
	const char *index; /* "simple" or "torch/<variant>" */
	const char *name;
	const char *dir;   /* absolute */
};

struct st {
	struct em_arena *a;
	struct em_arena tmp;
	const struct em_mirror_options *o;
	const char *dir;
	struct mfile *files;
	uint32_t nfiles, capfiles;
	struct place *places;
	uint32_t nplaces, capplaces;
	struct proj *projs;
	uint32_t nprojs, capprojs;
	const char **variants;
	uint32_t nvariants, capvariants;
	const char **skipped;
	uint32_t nskipped, capskipped;
	struct em_mirror_result *out;
};

static void event(const struct st *s, enum em_mirror_event_kind k, const char *detail,
		  uint32_t done, uint32_t total)
{
	if (!s->o->event)
		return;
	struct em_mirror_event ev = { k, detail, done, total };
	s->o->event(s->o->ctx, &ev);
}

static bool canceled(const struct st *s)
{
	return s->o->cancel && *s->o->cancel;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && !strcmp(s + n - m, suffix);
}

/* A variant becomes a folder name: letters, digits, '.', '_', '-'. */
static bool variant_ok(const char *v)
{
	if (!*v || *v == '.' || strlen(v) > 64)
		return false;
	for (const char *c = v; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '.' || *c == '_' || *c == '-'))
			return false;
	return true;
}

/* A file name becomes a file in DIR: one segment that cannot be mistaken
 * for the mirror's own files (pages, sidecars, temporary files). */
static bool filename_ok(const char *f)
{
	if (!*f || *f == '.' || strlen(f) > 255 || !strcmp(f, "index.html") ||
	    !strcmp(f, "index.json") || ends_with(f, ".metadata") || strstr(f, ".tmp."))
		return false;
	for (const unsigned char *c = (const unsigned char *)f; *c; c++)
		if (*c < 0x20 || *c == 0x7f || *c == '/' || *c == '\\')
			return false;
	return true;
}

static bool sdist_name_ok(const char *f)
{
	static const char *const exts[] = { ".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar.xz",
					     ".tar" };
	for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++)
		if (ends_with(f, exts[i]))
			return true;
	return false;
}

static int add_skipped(struct st *s, const char *what)
{
	if (em_grow(&s->skipped, &s->capskipped, s->nskipped, sizeof *s->skipped) || !what)
		return EM_ENOMEM;
	s->skipped[s->nskipped++] = what;
	return 0;
}

static int find_proj(struct st *s, const char *index, const char *name, uint32_t *out)
{
	for (uint32_t i = 0; i < s->nprojs; i++)
		if (!strcmp(s->projs[i].name, name) && !strcmp(s->projs[i].index, index)) {
			*out = i;
			return 0;
		}
	if (em_grow(&s->projs, &s->capprojs, s->nprojs, sizeof *s->projs))
		return EM_ENOMEM;
	struct proj *p = &s->projs[s->nprojs];
	p->id = s->nprojs;
	p->index = index;
	p->name = name;
	p->dir = em_arena_printf(s->a, "%s/%s/%s", s->dir, index, name);
	if (!p->dir)
		return EM_ENOMEM;
	*out = s->nprojs++;
	return 0;
}

/* One file entry of a lock (a wheel, a wheel archive or an sdist). */
struct entry {
	const char *lock;    /* the lock's path, for messages */
	const char *lockdir; /* absolute */
	const struct em_lock_package *pkg;
	const char *index;
	const char *kind;    /* "wheel", "archive", "sdist" */
	const char *name, *url, *path, *sha256, *upload_time;
	int64_t size;
	uint32_t line;
	bool wheel;
};

static int add_entry(struct st *s, const struct entry *en, struct em_error *e)
{
	struct em_arena *a = s->a;
	char *where = em_arena_printf(a, "%s:%u", en->lock, (unsigned)en->line);
	if (!where)
		return em_err_nomem(e);
	const char *pname = en->pkg->name;
	if (!en->sha256 || !em_sha256_hex_valid(en->sha256, strlen(en->sha256)))
		return em_err(e, EM_EUNSUPPORTED, where,
			      "package '%s': the %s '%s' has no sha256; the mirror verifies every "
			      "file by its sha256", pname, en->kind, en->name);
	char q[300];
	if (!filename_ok(en->name))
		return em_err(e, EM_EINVAL, where,
			      "package '%s': '%s' cannot be a file name in the mirror", pname,
			      em_quote(q, sizeof q, en->name, strlen(en->name)));
	const char *version = en->pkg->version;
	if (en->wheel) {
		struct em_wheel_name wn;
		struct em_error we;
		if (em_wheel_name_parse(a, en->name, strlen(en->name), &wn, &we))
			return em_err(e, EM_EINVAL, where, "package '%s': '%s': %s", pname, en->name,
				      we.msg);
		if (strcmp(wn.name, pname))
			return em_err(e, EM_EINVAL, where,
				      "package '%s' lists the wheel '%s' of project '%s'", pname,
				      en->name, wn.name);
		version = wn.version.str;
	} else if (!sdist_name_ok(en->name)) {
		return em_err(e, EM_EUNSUPPORTED, where,
			      "package '%s': the sdist '%s' is not a .tar.gz, .zip, .tar.bz2, .tgz, "
			      ".tar.xz or .tar file, which indexes cannot serve", pname, en->name);
	} else if (version) {
		struct em_version v;
		if (em_version_parse(a, version, strlen(version), &v, NULL) == 0)
			version = v.str;
	}
	char sha[EM_SHA256_HEX_LEN + 1];
	for (size_t i = 0; i < EM_SHA256_HEX_LEN; i++)
		sha[i] = (char)((en->sha256[i] >= 'A' && en->sha256[i] <= 'F') ? en->sha256[i] + 32
									       : en->sha256[i]);
	sha[EM_SHA256_HEX_LEN] = '\0';
	const char *loc = en->url;
	if (!loc) {
		char *joined = em_path_join(a, en->lockdir, en->path);
		if (!joined || !(loc = em_path_absolute(a, joined)))
			return em_err_nomem(e);
	}

	/* the file, once per sha256 */
	uint32_t fi = s->nfiles;
	for (uint32_t i = 0; i < s->nfiles; i++)
		if (!strcmp(s->files[i].sha256, sha)) {
			fi = i;
			break;
		}
	if (fi == s->nfiles) {
		if (em_grow(&s->files, &s->capfiles, s->nfiles, sizeof *s->files))
			return em_err_nomem(e);
		struct mfile *f = &s->files[s->nfiles++];
		memset(f, 0, sizeof *f);
		memcpy(f->sha256, sha, sizeof sha);
		f->size = en->size;
		f->filename = en->name;
		f->where = where;
	}
	struct mfile *f = &s->files[fi];
	if (en->size >= 0 && f->size >= 0 && en->size != f->size)
		return em_err(e, EM_ECONFLICT, where,
			      "'%s' (sha256 %s) is %lld bytes here, but %lld bytes at %s", en->name,
			      sha, (long long)en->size, (long long)f->size, f->where);
	if (f->size < 0)
		f->size = en->size;
	bool known = false;
	for (uint32_t i = 0; i < f->nurls && !known; i++)
		known = !strcmp(f->urls[i], loc);
	if (!known && f->nurls < MAX_URLS)
		f->urls[f->nurls++] = loc;

	/* the page entry, once per project and file name */
	uint32_t pi;
	if (find_proj(s, en->index, pname, &pi))
		return em_err_nomem(e);
	for (uint32_t i = 0; i < s->nplaces; i++) {
		struct place *p = &s->places[i];
		if (p->proj != pi || strcmp(p->filename, en->name))
			continue;
		if (p->file != fi)
			return em_err(e, EM_ECONFLICT, where,
				      "'%s' has sha256 %s here, but %s at %s; the locks disagree "
				      "about the file (re-plan the older one)", en->name, sha,
				      s->files[p->file].sha256, p->where);
		if (!p->lock_rp)
			p->lock_rp = en->pkg->requires_python;
		if (!p->upload_time)
			p->upload_time = en->upload_time;
		return 0;
	}
	if (em_grow(&s->places, &s->capplaces, s->nplaces, sizeof *s->places))
		return em_err_nomem(e);
	struct place *p = &s->places[s->nplaces++];
	memset(p, 0, sizeof *p);
	p->proj = pi;
	p->file = fi;
	p->filename = en->name;
	p->version = version;
	p->wheel = en->wheel;
	p->lock_rp = en->pkg->requires_python;
	p->upload_time = en->upload_time;
	p->where = where;
	p->size = -1;
	p->dest = em_arena_printf(a, "%s/%s", s->projs[pi].dir, en->name);
	return p->dest ? 0 : em_err_nomem(e);
}

/* The sdist of the i-th package, straight from the TOML (struct em_lock
 * only says there is one). */
static void sdist_entry(struct em_arena *a, const struct em_toml *doc, uint32_t i,
			struct entry *en)
{
	const struct em_toml *pk = em_toml_get(doc, "packages");
	if (!pk || pk->type != EM_TOML_ARRAY || i >= pk->u.arr.n)
		return;
	const struct em_toml *sd = em_toml_get(pk->u.arr.items[i], "sdist");
	if (!sd || sd->type != EM_TOML_TABLE)
		return;
	const struct em_toml *v;
	en->line = sd->line;
	if ((v = em_toml_get(sd, "url")) && v->type == EM_TOML_STRING && v->u.str.len)
		en->url = v->u.str.s;
	if ((v = em_toml_get(sd, "path")) && v->type == EM_TOML_STRING && v->u.str.len)
		en->path = v->u.str.s;
	if ((v = em_toml_get(sd, "name")) && v->type == EM_TOML_STRING && v->u.str.len)
		en->name = v->u.str.s;
	else if (en->path)
		en->name = strrchr(en->path, '/') ? strrchr(en->path, '/') + 1 : en->path;
	else if (en->url)
		en->name = em_url_basename(a, en->url);
	if ((v = em_toml_get(sd, "size")) && v->type == EM_TOML_INTEGER)
		en->size = v->u.i;
	if ((v = em_toml_get(sd, "upload-time")) && v->type == EM_TOML_DATETIME)
		en->upload_time = v->u.str.s;
	const struct em_toml *h = em_toml_get(sd, "hashes");
	for (uint32_t k = 0; h && h->type == EM_TOML_TABLE && k < h->u.tab.n; k++) {
		const struct em_toml_kv *kv = &h->u.tab.kv[k];
		if (!strcasecmp(kv->key, "sha256") && kv->value->type == EM_TOML_STRING)
			en->sha256 = kv->value->u.str.s;
	}
}

static const char *offset_time(const char *t)
{
	return t && em_toml_datetime_kind(t, strlen(t)) == EM_TOML_DT_OFFSET ? t : NULL;
}

static int add_variant(struct st *s, const char *v)
{
	for (uint32_t i = 0; i < s->nvariants; i++)
		if (!strcmp(s->variants[i], v))
			return 0;
	if (em_grow(&s->variants, &s->capvariants, s->nvariants, sizeof *s->variants))
		return EM_ENOMEM;
	s->variants[s->nvariants++] = v;
	return 0;
}

/* Every file of one lock. */
/* One wheel of a locked package (kind: "wheel", or "archive" for a
 * package's archive that is a wheel). */
static int add_wheel(struct st *s, struct entry *en, const char *kind,
		     const struct em_lock_file *w, struct em_error *e)
{
	en->kind = kind;
	en->wheel = true;
	en->name = w->name;
	en->url = w->url;
	en->path = w->path;
	en->sha256 = w->sha256;
	en->upload_time = offset_time(w->upload_time);
	en->size = w->size;
	en->line = w->line;
	return add_entry(s, en, e);
}

static int add_lock(struct st *s, const char *lpath, const char *text, size_t len,
		    const struct em_lock *l, struct em_error *e)
{
	struct em_arena *a = s->a;
	const char *lockdir = em_path_dir(a, em_path_absolute(a, lpath));
	const char *torch_index = NULL;
	if (!lockdir)
		return em_err_nomem(e);
	if (l->torch_variant) {
		if (!variant_ok(l->torch_variant)) {
			char q[96];
			return em_err(e, EM_EINVAL, lpath,
				      "torch variant '%s' cannot name a folder of the mirror",
				      em_quote(q, sizeof q, l->torch_variant, strlen(l->torch_variant)));
		}
		torch_index = em_arena_printf(a, "torch/%s", l->torch_variant);
		if (!torch_index || add_variant(s, l->torch_variant))
			return em_err_nomem(e);
	}
	const struct em_toml *doc = NULL;
	for (uint32_t i = 0; i < l->npackages && !doc; i++) {
		if (!l->packages[i].has_sdist)
			continue;
		int rc = em_toml_parse(a, text, len, lpath, (struct em_toml **)&doc, e);
		if (rc)
			return rc;
	}
	for (uint32_t i = 0; i < l->npackages; i++) {
		const struct em_lock_package *p = &l->packages[i];
		struct entry en = {
			.lock = lpath,
			.lockdir = lockdir,
			.pkg = p,
			.index = torch_index && em_is_torch_family(p->name) ? torch_index : "simple",
		};
		uint32_t nadded = 0;
		for (uint32_t k = 0; k < p->nwheels; k++) {
			int rc = add_wheel(s, &en, "wheel", &p->wheels[k], e);
			if (rc)
				return rc;
			nadded++;
		}
		if (p->archive && p->archive->name && ends_with(p->archive->name, ".whl")) {
			int rc = add_wheel(s, &en, "archive", p->archive, e);
			if (rc)
				return rc;
			nadded++;
		}
		if (p->has_sdist && doc) {
			struct entry sd = en;
			sd.kind = "sdist";
			sd.wheel = false;
			sd.name = sd.url = sd.path = sd.sha256 = sd.upload_time = NULL;
			sd.size = -1;
			sd.line = p->line;
			sdist_entry(a, doc, i, &sd);
			sd.upload_time = offset_time(sd.upload_time);
			if (sd.name) {
				int rc = add_entry(s, &sd, e);
				if (rc)
					return rc;
				nadded++;
			}
		}
		if (!nadded &&
		    add_skipped(s, em_arena_printf(a, "%s %s (%s:%u: a VCS, directory or archive "
						      "source)", p->name, p->version ? p->version : "",
						   lpath, (unsigned)p->line)))
			return em_err_nomem(e);
	}
	return 0;
}

/* ---- placing files ---- */

/* Whether the file at path is the one: the size, and with verify (or
 * when no lock gave the size) the sha256. */
static bool in_place(const struct st *s, const char *path, const struct mfile *f)
{
	struct em_stat st;
	if (em_os_lstat(path, &st) || st.type != EM_FT_FILE)
		return false;
	if (f->size >= 0 && st.size != (uint64_t)f->size)
		return false;
	if (f->size >= 0 && !s->o->verify)
		return true;
	char got[EM_SHA256_HEX_LEN + 1];
	int64_t size;
	return em_sha256_file(path, got, &size, NULL) == 0 && !strcmp(got, f->sha256);
}

static int place_file(struct st *s, const struct mfile *f, const char *dest, struct em_error *e)
{
	char *tmp = em_arena_printf(&s->tmp, "%s.tmp.%ld", dest, em_os_pid());
	if (!tmp)
		return em_err_nomem(e);
	em_os_unlink(tmp); /* a crashed run's leftover; if it stays, the link fails */
	struct em_error le;
	em_error_clear(&le);
	enum em_link_mode used = EM_LINK_COPY;
	/* a file of the cache never changes, so it may be shared by a hard
	 * link; a local file elsewhere (an index folder) might be rewritten
	 * in place, so it gets its own inode (a reflink, else a copy) */
	enum em_link_mode mode = f->from_cache ? EM_LINK_AUTO : EM_LINK_CLONE;
	int rc = em_link_file(f->path, tmp, mode, &used, &le);
	if (rc == EM_EUNSUPPORTED && mode == EM_LINK_CLONE) {
		em_error_clear(&le);
		rc = em_link_file(f->path, tmp, EM_LINK_COPY, &used, &le);
	}
	struct em_stat st;
	if (!rc && used == EM_LINK_HARDLINK &&
	    (em_os_stat(tmp, &st) || (st.mode & 0444) != 0444)) {
		/* a web server must read it: a copy of its own, then (if the
		 * link cannot go, the copy fails and says so) */
		em_os_unlink(tmp);
		rc = em_link_file(f->path, tmp, EM_LINK_COPY, &used, &le);
	}
	if (rc)
		return em_err(e, rc, dest, "cannot place '%s' here: %s", f->path, le.msg);
	if (used != EM_LINK_HARDLINK) {
		/* its own inode: readable by a web server, and on disk before
		 * it appears under its name */
		int fd = em_os_open(tmp, EM_OPEN_READ, 0);
		int err = 0;
		if (fd < 0 || em_os_fchmod(fd, 0644) || em_os_fsync(fd))
			err = errno;
		if (fd >= 0)
			em_os_close(fd);
		if (err) {
			em_os_unlink(tmp); /* best effort: err is what to report */
			return em_err_sys(e, err, dest, "cannot write");
		}
	}
	if (em_os_rename(tmp, dest)) {
		int err = errno;
		em_os_unlink(tmp); /* best effort: the rename's error is reported */
		return em_err_sys(e, err, dest, "cannot move the file into place");
	}
	em_os_unlink(tmp); /* (left behind when tmp and dest were links of one file) */
	return 0;
}

/* Write path when its content differs; *written tells. */
static int write_if_changed(struct st *s, const char *path, const char *data, size_t len,
			    bool *written, struct em_error *e)
{
	*written = false;
	struct em_arena_mark m = em_arena_mark(&s->tmp);
	char *old;
	size_t olen;
	bool same = em_read_file(&s->tmp, path, len + 1, &old, &olen, NULL) == 0 && olen == len &&
		    !memcmp(old, data, len);
	em_arena_rewind(&s->tmp, m);
	if (same)
		return 0;
	int rc = em_write_file_atomic(path, data, len, 0644, e);
	if (!rc) {
		*written = true;
		s->out->npages++;
	}
	return rc;
}

/* The METADATA of a placed wheel into its sidecar; its hash and
 * Requires-Python onto p. */
static int sidecar(struct st *s, struct place *p, struct em_error *e)
{
	struct em_arena_mark m = em_arena_mark(&s->tmp);
	char *md;
	size_t len;
	int rc = em_wheel_read_metadata(&s->tmp, p->dest, &md, &len, e);
	if (rc) {
		em_arena_rewind(&s->tmp, m);
		return rc;
	}
	em_sha256_buf(md, len, p->md_sha256);
	p->has_md = true;
	struct em_metadata mf;
	if (em_metadata_parse_fields(&s->tmp, md, len, NULL, &mf, NULL) == 0) {
		const char *rp = em_metadata_get(&mf, "Requires-Python");
		if (rp && *rp && !(p->md_rp = em_arena_strdup(s->a, rp)))
			rc = em_err_nomem(e);
	}
	char *path = rc ? NULL : em_arena_printf(&s->tmp, "%s.metadata", p->dest);
	bool written;
	if (!rc)
		rc = path ? write_if_changed(s, path, md, len, &written, e) : em_err_nomem(e);
	em_arena_rewind(&s->tmp, m);
	return rc;
}

/* Sizes and sidecars of every placed file not done yet. A wheel that was
 * already in DIR and cannot be read is marked damaged (counted in
 * *ndamaged) instead of failing. */
static int sidecars(struct st *s, uint32_t *ndamaged, struct em_error *e)
{
	*ndamaged = 0;
	for (uint32_t i = 0; i < s->nplaces; i++) {
		struct place *p = &s->places[i];
		if (p->done)
			continue;
		struct em_stat st;
		if (em_os_stat(p->dest, &st))
			return em_err_sys(e, errno, p->dest, "cannot read");
		p->size = (int64_t)st.size;
		struct em_error se;
		em_error_clear(&se);
		int rc = p->wheel ? sidecar(s, p, &se) : 0;
		if (rc && !p->placed_now && rc != EM_ENOMEM) {
			p->damaged = true;
			(*ndamaged)++;
			continue;
		}
		if (rc) {
			if (e)
				*e = se;
			em_err_prefix_where(e, "%s", p->where);
			return rc;
		}
		p->done = true;
	}
	return 0;
}

/* ---- pages ---- */

static int cmp_place(const void *x, const void *y)
{
	const struct place *const *p = x, *const *q = y;
	return strcmp((*p)->filename, (*q)->filename);
}

static int cmp_version_ptr(const void *x, const void *y)
{
	return em_version_cmp(*(const struct em_version *const *)x,
			      *(const struct em_version *const *)y);
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static int cmp_proj(const void *x, const void *y)
{
	const struct proj *p = x, *q = y;
	int c = strcmp(p->index, q->index);
	return c ? c : strcmp(p->name, q->name);
}

static int write_page(struct st *s, const char *dir, const char *file, const struct em_buf *b,
		      struct em_error *e)
{
	char *path = em_arena_printf(&s->tmp, "%s/%s", dir, file);
	if (!path)
		return em_err_nomem(e);
	bool written;
	return write_if_changed(s, path, b->ptr, b->len, &written, e);
}

/* The project's pages; its summary into mp. */
static int project_pages(struct st *s, uint32_t pi, struct em_mirror_project *mp,
			 struct em_error *e)
{
	struct em_arena *a = s->a;
	const struct proj *pj = &s->projs[pi];
	uint32_t n = 0;
	for (uint32_t i = 0; i < s->nplaces; i++)
		n += s->places[i].proj == pi;
	struct place **ps = em_arena_array(a, n ? n : 1, sizeof *ps);
	struct em_index_write_file *wf = em_arena_array(a, n ? n : 1, sizeof *wf);
	const struct em_version **vs = em_arena_array(a, n ? n : 1, sizeof *vs);
	const char **vnames = em_arena_array(a, n ? n : 1, sizeof *vnames);
	if (!ps || !wf || !vs || !vnames)
		return em_err_nomem(e);
	n = 0;
	for (uint32_t i = 0; i < s->nplaces; i++)
		if (s->places[i].proj == pi)
			ps[n++] = &s->places[i];
	qsort(ps, n, sizeof *ps, cmp_place);
	uint32_t nv = 0;
	memset(mp, 0, sizeof *mp);
	mp->name = pj->name;
	mp->index = pj->index;
	for (uint32_t i = 0; i < n; i++) {
		const struct place *p = ps[i];
		const char *url = em_url_encode_segment(a, p->filename, strlen(p->filename));
		if (!url)
			return em_err_nomem(e);
		wf[i] = (struct em_index_write_file){
			.filename = p->filename,
			.url = url,
			.sha256 = s->files[p->file].sha256,
			.requires_python = p->md_rp ? p->md_rp : p->lock_rp,
			.has_metadata = p->has_md,
			.metadata_sha256 = p->has_md ? p->md_sha256 : NULL,
			.size = p->size,
			.upload_time = p->upload_time,
		};
		mp->nfiles++;
		mp->bytes += p->size > 0 ? (uint64_t)p->size : 0;
		if (!p->version)
			continue;
		struct em_version *v = em_arena_alloc(a, sizeof *v);
		if (!v)
			return em_err_nomem(e);
		if (em_version_parse(a, p->version, strlen(p->version), v, NULL))
			continue;
		bool seen = false;
		for (uint32_t k = 0; k < nv && !seen; k++)
			seen = em_version_cmp(vs[k], v) == 0 && !strcmp(vs[k]->str, v->str);
		if (!seen)
			vs[nv++] = v;
	}
	qsort(vs, nv, sizeof *vs, cmp_version_ptr);
	for (uint32_t k = 0; k < nv; k++)
		vnames[k] = vs[k]->str;
	mp->versions = vnames;
	mp->nversions = nv;

	int rc = em_mkdir_p(pj->dir, e);
	struct em_buf b = EM_BUF_INIT;
	b.max = MAX_PAGE;
	if (!rc)
		rc = em_index_write_project_html(&b, pj->name, wf, n, e);
	if (!rc)
		rc = write_page(s, pj->dir, "index.html", &b, e);
	em_buf_reset(&b);
	if (!rc)
		rc = em_index_write_project_json(&b, pj->name, vnames, nv, wf, n, e);
	if (!rc)
		rc = write_page(s, pj->dir, "index.json", &b, e);
	em_buf_release(&b);
	return rc;
}

/* The root pages of one index: its projects (projs is sorted). */
static int root_pages(struct st *s, const char *index, struct em_error *e)
{
	struct em_arena *a = s->a;
	struct em_index_write_project *wp = em_arena_array(a, s->nprojs ? s->nprojs : 1,
							   sizeof *wp);
	char *dir = em_arena_printf(a, "%s/%s", s->dir, index);
	if (!wp || !dir)
		return em_err_nomem(e);
	uint32_t n = 0;
	for (uint32_t i = 0; i < s->nprojs; i++)
		if (!strcmp(s->projs[i].index, index))
			wp[n++] = (struct em_index_write_project){ s->projs[i].name, s->projs[i].name };
	int rc = em_mkdir_p(dir, e);
	struct em_buf b = EM_BUF_INIT;
	b.max = MAX_PAGE;
	if (!rc)
		rc = em_index_write_root_html(&b, wp, n, e);
	if (!rc)
		rc = write_page(s, dir, "index.html", &b, e);
	em_buf_reset(&b);
	if (!rc)
		rc = em_index_write_root_json(&b, wp, n, e);
	if (!rc)
		rc = write_page(s, dir, "index.json", &b, e);
	em_buf_release(&b);
	return rc;
}

/* ---- prune ---- */

static int remove_path(struct st *s, const char *path, struct em_error *e)
{
	int rc = em_remove_tree(path, e);
	if (rc)
		return rc;
	s->out->nremoved++;
	event(s, EM_MIRROR_EV_REMOVED, path, s->out->nremoved, 0);
	return 0;
}

/* Whether name belongs in project pi's folder. */
static bool keep_in_project(const struct st *s, uint32_t pi, const char *name)
{
	if (!strcmp(name, "index.html") || !strcmp(name, "index.json"))
		return true;
	size_t n = strlen(name);
	bool md = ends_with(name, ".metadata");
	for (uint32_t i = 0; i < s->nplaces; i++) {
		const struct place *p = &s->places[i];
		if (p->proj != pi)
			continue;
		if (!strcmp(p->filename, name))
			return true;
		if (md && p->wheel && strlen(p->filename) == n - 9 && !strncmp(p->filename, name, n - 9))
			return true;
	}
	return false;
}

/* List a folder's entries (without . and ..) into the scratch arena. */
static int list_dir(struct st *s, const char *dir, const char ***names, uint32_t *n,
		    struct em_error *e)
{
	*names = NULL;
	*n = 0;
	struct em_dirlist *d = em_dirlist_open(dir);
	if (!d) {
		if (errno == ENOENT)
			return 0;
		return em_err_sys(e, errno, dir, "cannot read the folder");
	}
	uint32_t cap = 0;
	const char **v = NULL;
	const char *name;
	int rc = 0;
	while ((name = em_dirlist_next(d))) {
		if (*n == cap) {
			uint32_t ncap = cap ? cap * 2 : 64;
			const char **nv = em_arena_array(&s->tmp, ncap, sizeof *nv);
			if (!nv) {
				rc = em_err_nomem(e);
				break;
			}
			if (*n)
				memcpy(nv, v, *n * sizeof *nv);
			v = nv;
			cap = ncap;
		}
		if (!(v[*n] = em_arena_strdup(&s->tmp, name))) {
			rc = em_err_nomem(e);
			break;
		}
		(*n)++;
	}
	em_dirlist_close(d);
	*names = v;
	return rc;
}

static bool is_dir(const char *path)
{
	struct em_stat st;
	return em_os_lstat(path, &st) == 0 && st.type == EM_FT_DIR;
}

/* Prune one index folder (DIR/simple, DIR/torch/<variant>). */
static int prune_index(struct st *s, const char *index, struct em_error *e)
{
	char *root = em_arena_printf(&s->tmp, "%s/%s", s->dir, index);
	const char **names = NULL;
	uint32_t n = 0;
	int rc = root ? list_dir(s, root, &names, &n, e) : em_err_nomem(e);
	for (uint32_t i = 0; i < n && !rc; i++) {
		char *path = em_arena_printf(&s->tmp, "%s/%s", root, names[i]);
		if (!path)
			return em_err_nomem(e);
		if (!strcmp(names[i], "index.html") || !strcmp(names[i], "index.json"))
			continue;
		uint32_t pi = s->nprojs;
		for (uint32_t k = 0; k < s->nprojs; k++)
			if (!strcmp(s->projs[k].index, index) && !strcmp(s->projs[k].name, names[i]))
				pi = k;
		if (pi == s->nprojs || !is_dir(path)) {
			rc = remove_path(s, path, e);
			continue;
		}
		const char **files;
		uint32_t nf;
		rc = list_dir(s, path, &files, &nf, e);
		for (uint32_t k = 0; k < nf && !rc; k++) {
			if (keep_in_project(s, pi, files[k]))
				continue;
			char *fp = em_arena_printf(&s->tmp, "%s/%s", path, files[k]);
			rc = fp ? remove_path(s, fp, e) : em_err_nomem(e);
		}
	}
	return rc;
}

static int prune(struct st *s, struct em_error *e)
{
	struct em_arena_mark m = em_arena_mark(&s->tmp);
	int rc = prune_index(s, "simple", e);
	char *troot = em_arena_printf(&s->tmp, "%s/torch", s->dir);
	const char **names = NULL;
	uint32_t n = 0;
	if (!rc)
		rc = troot ? list_dir(s, troot, &names, &n, e) : em_err_nomem(e);
	for (uint32_t i = 0; i < n && !rc; i++) {
		bool current = false;
		for (uint32_t k = 0; k < s->nvariants && !current; k++)
			current = !strcmp(s->variants[k], names[i]);
		char *path = em_arena_printf(&s->tmp, "%s/%s", troot, names[i]);
		char *index = em_arena_printf(&s->tmp, "torch/%s", names[i]);
		if (!path || !index)
			rc = em_err_nomem(e);
		else if (current && is_dir(path))
			rc = prune_index(s, index, e);
		else
			rc = remove_path(s, path, e);
	}
	/* an empty DIR/torch of a mirror that no longer has a variant */
	if (!rc && !s->nvariants && troot && em_os_rmdir(troot) == 0)
		s->out->nremoved++;
	em_arena_rewind(&s->tmp, m);
	return rc;
}

/* ---- the run ---- */

/* Sort the projects, keeping each place pointing at its own. */
static int sort_projects(struct st *s, struct em_error *e)
{
	if (s->nprojs > 1)
		qsort(s->projs, s->nprojs, sizeof *s->projs, cmp_proj);
	uint32_t *map = malloc((s->nprojs ? s->nprojs : 1) * sizeof *map);
	if (!map)
		return em_err_nomem(e);
	for (uint32_t i = 0; i < s->nprojs; i++)
		map[s->projs[i].id] = i;
	for (uint32_t i = 0; i < s->nprojs; i++)
		s->projs[i].id = i;
	for (uint32_t i = 0; i < s->nplaces; i++)
		s->places[i].proj = map[s->places[i].proj];
	free(map);
	return 0;
}

static int read_locks(struct st *s, const struct em_matrix *m, struct em_error *e)
{
	struct em_arena *a = s->a;
	const struct em_mirror_options *o = s->o;
	for (uint32_t i = 0; i < o->nonly; i++)
		if (!em_matrix_find(m, o->only[i]))
			return em_err(e, EM_ENOTFOUND, m->file, "no workload '%s' in the matrix",
				      o->only[i]);
	const char *mpath = o->matrix_path ? o->matrix_path : m->file;
	const char **locks = em_arena_array(a, m->nworkloads ? m->nworkloads : 1, sizeof *locks);
	if (!locks)
		return em_err_nomem(e);
	uint32_t total = 0;
	for (uint32_t i = 0; i < m->nworkloads; i++) {
		bool sel = o->nonly == 0;
		for (uint32_t k = 0; k < o->nonly && !sel; k++)
			sel = em_matrix_find(m, o->only[k]) == &m->workloads[i];
		if (sel)
			total++;
	}
	for (uint32_t i = 0; i < m->nworkloads; i++) {
		const struct em_workload *w = &m->workloads[i];
		bool sel = o->nonly == 0;
		for (uint32_t k = 0; k < o->nonly && !sel; k++)
			sel = em_matrix_find(m, o->only[k]) == w;
		if (!sel)
			continue;
		char *lpath;
		int rc = em_matrix_lock_path(a, mpath, w->name, &lpath, e);
		if (rc)
			return rc;
		char *text;
		size_t len;
		rc = em_read_file(a, lpath, MAX_LOCK, &text, &len, e);
		if (rc == EM_ENOTFOUND)
			return em_err(e, EM_ENOTFOUND, lpath,
				      "workload '%s' has no lock%s", w->name,
				      em_phrase(EM_PHRASE_NO_LOCK));
		if (rc)
			return rc;
		struct em_lock l;
		rc = em_lock_parse(a, text, len, lpath, &l, e);
		if (!rc)
			rc = em_lock_check_matrix(&l, lpath, mpath, e);
		if (rc)
			return rc;
		rc = add_lock(s, lpath, text, len, &l, e);
		if (rc)
			return rc;
		locks[s->out->nlocks++] = lpath;
		event(s, EM_MIRROR_EV_LOCK, lpath, s->out->nlocks, total);
	}
	s->out->locks = locks;
	return 0;
}

static int open_cache(struct st *s, const struct em_matrix *m, struct em_cache *c, bool *opened,
		      struct em_error *e)
{
	const char *dir = m->cache_dir.value;
	char *abs = NULL;
	if (dir) {
		char *mdir = em_path_dir(s->a, s->o->matrix_path ? s->o->matrix_path : m->file);
		if (!mdir || !(abs = em_path_join(s->a, mdir, dir)))
			return em_err_nomem(e);
	}
	int rc = em_cache_open(c, s->a, abs, e);
	if (rc) {
		if (dir)
			em_err_prefix_where(e, "cache-dir, %s:%u", m->file, (unsigned)m->cache_dir.line);
		return rc;
	}
	*opened = true;
	return 0;
}

/* Fetch what DIR lacks and place it. */
static int fetch_and_place(struct st *s, const struct em_matrix *m, struct em_error *e)
{
	struct em_arena *a = s->a;
	uint32_t nfetch = 0, nplace = 0;
	for (uint32_t i = 0; i < s->nfiles; i++)
		s->files[i].fetch = false;
	for (uint32_t i = 0; i < s->nplaces; i++) {
		struct place *p = &s->places[i];
		if (p->placed_now)
			continue;
		p->present = !p->damaged && in_place(s, p->dest, &s->files[p->file]);
		if (!p->present) {
			s->files[p->file].fetch = true;
			nplace++;
		}
	}
	for (uint32_t i = 0; i < s->nfiles; i++)
		nfetch += s->files[i].fetch;
	if (!nfetch)
		return 0;
	if (canceled(s))
		return em_err(e, EM_ECANCELED, NULL, "interrupted");
	event(s, EM_MIRROR_EV_FETCH, NULL, 0, nfetch);

	struct em_cache own, *c = s->o->cache;
	bool opened = false;
	if (!c) {
		int rc = open_cache(s, m, &own, &opened, e);
		if (rc)
			return rc;
		c = &own;
	}
	struct em_cache_file *cf = em_arena_array(a, nfetch, sizeof *cf);
	uint32_t *idx = em_arena_array(a, nfetch, sizeof *idx);
	if (!cf || !idx) {
		if (opened)
			em_cache_close(c);
		return em_err_nomem(e);
	}
	uint32_t k = 0;
	for (uint32_t i = 0; i < s->nfiles; i++) {
		const struct mfile *f = &s->files[i];
		if (!f->fetch)
			continue;
		memset(&cf[k], 0, sizeof cf[k]);
		cf[k].urls = f->urls;
		cf[k].nurls = f->nurls;
		cf[k].filename = f->filename;
		cf[k].sha256 = f->sha256;
		cf[k].size = f->size;
		idx[k++] = i;
	}
	struct em_error fe;
	em_error_clear(&fe);
	int frc = em_cache_fetch(c, a, s->o->http, cf, nfetch, &fe);
	size_t rootlen = strlen(c->root);
	int first_rc = 0;
	for (uint32_t i = 0; i < nfetch; i++) {
		struct mfile *f = &s->files[idx[i]];
		if (cf[i].rc || !cf[i].path) {
			f->failed = true;
			if (!first_rc) {
				first_rc = cf[i].rc ? cf[i].rc : EM_EIO;
				if (e) {
					*e = cf[i].err;
					if (!e->code)
						em_err(e, first_rc, NULL, "'%s' could not be fetched",
						       f->filename);
					em_err_prefix_where(e, "%s", f->where);
				}
			}
			continue;
		}
		f->path = cf[i].path;
		f->from_cache = !strncmp(f->path, c->root, rootlen) && f->path[rootlen] == '/';
		if (cf[i].downloaded) {
			s->out->ndownloaded++;
			s->out->bytes_downloaded += (uint64_t)(cf[i].bytes_transferred > 0
								      ? cf[i].bytes_transferred
								      : 0);
		}
	}
	if (frc && !first_rc) {
		first_rc = frc;
		if (e)
			*e = fe;
	}

	/* place every file that came (so a rerun after an error keeps them) */
	int rc = 0;
	uint32_t done = 0;
	for (uint32_t i = 0; i < s->nplaces && !rc; i++) {
		struct place *p = &s->places[i];
		const struct mfile *f = &s->files[p->file];
		if (p->present || f->failed || !f->path)
			continue;
		if (canceled(s)) {
			rc = em_err(e, EM_ECANCELED, NULL, "interrupted");
			break;
		}
		struct em_arena_mark mk = em_arena_mark(&s->tmp);
		rc = em_mkdir_p(s->projs[p->proj].dir, e);
		if (!rc)
			rc = place_file(s, f, p->dest, e);
		em_arena_rewind(&s->tmp, mk);
		if (!rc) {
			p->present = p->placed_now = true;
			p->damaged = false;
			s->out->nplaced++;
			event(s, EM_MIRROR_EV_FILE, p->dest, ++done, nplace);
		}
	}
	if (opened)
		em_cache_close(c);
	if (rc)
		return rc;
	return first_rc;
}

static int take_dir_lock(struct st *s, int *fd, struct em_error *e)
{
	int rc = em_mkdir_p(s->dir, e);
	if (rc)
		return rc;
	char *path = em_arena_printf(s->a, "%s/%s", s->dir, LOCK_NAME);
	if (!path)
		return em_err_nomem(e);
	*fd = em_os_open(path, EM_OPEN_RDWR | EM_OPEN_CREATE | EM_OPEN_NOFOLLOW, 0644);
	if (*fd < 0)
		return em_err_sys(e, errno, s->dir, "cannot write into the mirror's folder");
	while (em_os_lock(*fd, EM_FLOCK_EX | EM_FLOCK_NB)) {
		if (errno == EINTR)
			continue;
		int err = errno;
		em_os_close(*fd);
		*fd = -1;
		if (err == EWOULDBLOCK)
			return em_err(e, EM_EBUSY, s->dir,
				      "another %s is writing this folder",
				      em_phrase(EM_PHRASE_MIRROR_WRITER));
		return em_err_sys(e, err, path, "cannot lock");
	}
	return 0;
}

static int finish(struct st *s, struct em_error *e)
{
	struct em_arena *a = s->a;
	struct em_mirror_result *out = s->out;
	if (s->nvariants > 1)
		qsort(s->variants, s->nvariants, sizeof *s->variants, cmp_str);
	out->variants = em_arena_array(a, s->nvariants ? s->nvariants : 1, sizeof *out->variants);
	out->skipped = em_arena_array(a, s->nskipped ? s->nskipped : 1, sizeof *out->skipped);
	if (!out->variants || !out->skipped)
		return em_err_nomem(e);
	if (s->nvariants)
		memcpy(out->variants, s->variants, s->nvariants * sizeof *s->variants);
	out->nvariants = s->nvariants;
	if (s->nskipped)
		memcpy(out->skipped, s->skipped, s->nskipped * sizeof *s->skipped);
	out->nskipped = s->nskipped;
	for (uint32_t i = 0; i < s->nfiles; i++) {
		out->nfiles++;
		out->bytes += s->files[i].size > 0 ? (uint64_t)s->files[i].size : 0;
	}
	return 0;
}

int em_mirror_run(struct em_arena *a, const struct em_matrix *m,
		  const struct em_mirror_options *o, struct em_mirror_result *out,
		  struct em_error *e)
{
	memset(out, 0, sizeof *out);
	if (!o->dir || !*o->dir)
		return em_err(e, EM_EUSAGE, NULL, "no folder to mirror into");
	struct st s;
	memset(&s, 0, sizeof s);
	s.a = a;
	s.o = o;
	s.out = out;
	em_arena_init(&s.tmp);
	int lock_fd = -1;
	int rc = 0;
	char *dir = em_path_absolute(a, o->dir);
	char *simple = dir ? em_arena_printf(a, "%s/simple", dir) : NULL;
	char *torch = dir ? em_arena_printf(a, "%s/torch", dir) : NULL;
	if (!simple || !torch) {
		rc = em_err_nomem(e);
		goto out;
	}
	s.dir = out->dir = dir;
	out->index_url = em_path_to_url(a, simple);
	if (!out->index_url) {
		rc = em_err_nomem(e);
		goto out;
	}

	/* what the locks need (nothing is written before they all read well) */
	rc = read_locks(&s, m, e);
	if (!rc)
		rc = take_dir_lock(&s, &lock_fd, e);
	if (!rc && s.nvariants && !(out->torch_index_url = em_path_to_url(a, torch)))
		rc = em_err_nomem(e);
	if (!rc)
		rc = em_mkdir_p(simple, e);
	if (rc)
		goto out;

	/* the files, then their sidecars; a wheel that was there with the
	 * right size but cannot be read is placed again */
	uint32_t ndamaged = 0;
	rc = fetch_and_place(&s, m, e);
	if (!rc)
		rc = sidecars(&s, &ndamaged, e);
	if (!rc && ndamaged) {
		rc = fetch_and_place(&s, m, e);
		if (!rc)
			rc = sidecars(&s, &ndamaged, e);
	}
	for (uint32_t i = 0; i < s.nplaces; i++)
		out->npresent += s.places[i].present && !s.places[i].placed_now;
	if (rc)
		goto out;
	if (canceled(&s)) {
		rc = em_err(e, EM_ECANCELED, NULL, "interrupted");
		goto out;
	}

	/* the pages: projects (by index, then name), then the roots */
	rc = sort_projects(&s, e);
	if (rc)
		goto out;
	out->projects = em_arena_array(a, s.nprojs ? s.nprojs : 1, sizeof *out->projects);
	if (!out->projects) {
		rc = em_err_nomem(e);
		goto out;
	}
	for (uint32_t i = 0; i < s.nprojs && !rc; i++) {
		rc = project_pages(&s, i, &out->projects[i], e);
		if (!rc)
			out->nprojects++;
	}
	if (!rc)
		rc = root_pages(&s, "simple", e);
	for (uint32_t i = 0; i < s.nvariants && !rc; i++) {
		char *index = em_arena_printf(a, "torch/%s", s.variants[i]);
		rc = index ? root_pages(&s, index, e) : em_err_nomem(e);
	}
	if (!rc && o->prune)
		rc = prune(&s, e);
	if (!rc)
		rc = finish(&s, e);
out:
	if (lock_fd >= 0)
		em_os_close(lock_fd);
	free(s.files);
	free(s.places);
	free(s.projs);
	free(s.variants);
	free(s.skipped);
	em_arena_release(&s.tmp);
	return rc;
}
