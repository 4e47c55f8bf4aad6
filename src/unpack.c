/* unpack.c - wheels unpacked once into the cache, checked against RECORD
 *
 * Unpacking (em_wheel_unpack) reads the zip twice with libarchive's
 * seekable reader (the central directory, as pip's zipfile does):
 *
 *   1. the headers only: every member name is checked before anything
 *      touches the disk, symbolic links, devices and encrypted members are
 *      refused, the one NAME-VERSION.dist-info folder matching the file
 *      name is found, and its WHEEL (Wheel-Version 1.x) and RECORD are read;
 *      RECORD's rows are checked (safe paths, "sha256=" hashes, sizes, no
 *      path twice, .data/ files inside a known scheme folder) into a table;
 *   2. the data: each file member must have a RECORD row, and is written
 *      into DIR.tmp-PID-N while it is hashed and counted; a size or hash
 *      that differs, a member met twice, or a row without its member fails
 *      the wheel. Files are made read-only (0444, or 0555 when the zip
 *      says executable), the EM_UNPACKED_MARK file is written last, the
 *      filesystem is synced and the folder renamed to DIR. An unpacker that
 *      finds DIR already made by another one keeps that one.
 *
 * Any failure removes the temporary folder; nothing is written outside it.
 */
#include "unpack.h"
#include "archive.h"
#include "record.h"
#include "os/fs.h"
#include "util/sha256.h"
#include "util/str.h"
#include "spec/tags.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define READ_BUF (256u << 10)
/* a file that must not exist yet */
#define NEW_FILE (EM_OPEN_WRITE | EM_OPEN_CREATE | EM_OPEN_EXCL)

static bool has_prefix(const char *s, size_t n, const char *p)
{
	size_t l = strlen(p);
	return n >= l && !memcmp(s, p, l);
}

/* ---- shared with the installer ---- */

int em_wheel_sys_err(struct em_error *e, int err, const char *where, const char *what,
		     const char *name)
{
	char qq[EM_QNAME];
	if (err == ENOSPC || err == EDQUOT)
		return em_err(e, EM_EIO, where, "cannot %s '%s': no space left on the device (%s)",
			      what, em_qname(qq, name), strerror(err));
	return em_err(e, EM_EIO, where, "cannot %s '%s': %s", what, em_qname(qq, name),
		      strerror(err));
}

int em_wheel_mkdirs(struct em_dir *d, const char *rel, size_t n, struct em_buf *last, int *err)
{
	char p[EM_ARCHIVE_MAX_MEMBER_NAME + 1];
	*err = 0;
	/* the folder made last, or one above it (RECORD lists a folder's
	 * files, then its subfolders' or the rest of its parent's) */
	if (n == 0 || (last->len >= n && !memcmp(last->ptr, rel, n) &&
		       (last->len == n || last->ptr[n] == '/')))
		return 0;
	if (n > EM_ARCHIVE_MAX_MEMBER_NAME) {
		*err = ENAMETOOLONG;
		return -1;
	}
	memcpy(p, rel, n);
	p[n] = '\0';
	if (em_dir_mkdir(d, p, 0755) != 0 && errno != EEXIST) {
		if (errno != ENOENT) {
			*err = errno;
			return -1;
		}
		for (size_t i = 1; i <= n; i++) {
			if (i < n && p[i] != '/')
				continue;
			p[i] = '\0';
			int r = em_dir_mkdir(d, p, 0755);
			if (i < n)
				p[i] = '/';
			if (r != 0 && errno != EEXIST) {
				*err = errno;
				return -1;
			}
		}
	}
	em_buf_reset(last);
	em_buf_add(last, rel, n);
	return 0;
}

struct rec_ent {
	const char *path;
	uint32_t plen;
	bool has_hash, has_size, seen;
	uint64_t size;
	unsigned char digest[32];
};

struct rec_table {
	struct rec_ent *ents;
	size_t n, max;
	uint32_t *slots; /* index + 1, 0 empty */
	size_t mask;
};

static uint32_t hash_path(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

static struct rec_ent *rec_find(const struct rec_table *t, const char *p, size_t n,
				uint32_t **slot)
{
	size_t i = hash_path(p, n) & t->mask;
	for (;;) {
		uint32_t v = t->slots[i];
		if (!v) {
			if (slot)
				*slot = &t->slots[i];
			return NULL;
		}
		struct rec_ent *r = &t->ents[v - 1];
		if (r->plen == n && !memcmp(r->path, p, n))
			return r;
		i = (i + 1) & t->mask;
	}
}

/* Parse a wheel's RECORD into t. */
static int record_load(struct em_arena *a, const char *data, size_t len, const char *di,
		       size_t dl, const char *where, struct rec_table *t, struct em_error *e)
{
	char qq[EM_QNAME], q2[EM_QNAME], rw[EM_ERROR_WHERE_MAX];
	char dd[EM_ARCHIVE_MAX_MEMBER_NAME + 8];
	snprintf(dd, sizeof dd, "%.*s.data", (int)(dl - EM_DIST_INFO_LEN), di);
	size_t dn = strlen(dd);
	snprintf(rw, sizeof rw, "%s: %s/RECORD", where, di);
	/* rows <= lines */
	size_t lines = 1;
	for (size_t i = 0; i < len; i++)
		lines += data[i] == '\n' || data[i] == '\r';
	if (lines > EM_WHEEL_MAX_FILES + 1)
		lines = EM_WHEEL_MAX_FILES + 1;
	size_t cap = 16;
	while (cap < 2 * lines)
		cap <<= 1;
	t->ents = em_arena_array(a, lines, sizeof *t->ents);
	t->slots = em_arena_array(a, cap, sizeof *t->slots);
	char *scratch = em_arena_alloc(a, EM_RECORD_ROW_MAX);
	if (!t->ents || !t->slots || !scratch)
		return em_err_nomem(e);
	memset(t->slots, 0, cap * sizeof *t->slots);
	t->mask = cap - 1;
	t->n = 0;
	t->max = lines;
	struct em_record_reader c;
	em_record_reader_mem(&c, data, len, rw, scratch);
	for (;;) {
		int r = em_record_next(&c, e);
		if (r < 0)
			return r;
		if (r == EM_RECORD_END)
			break;
		char lw[EM_ERROR_WHERE_MAX + 16];
		snprintf(lw, sizeof lw, "%s:%u", rw, c.line);
		if (c.nf != 3)
			return em_err(e, EM_EINVAL, lw,
				      "expected 3 fields (path, hash, size), found %zu", c.nf);
		struct em_str path = c.f[0], hash = c.f[1], size = c.f[2];
		int rc = em_archive_check_name(path.p, path.n, e);
		if (rc) {
			em_err_prefix_where(e, "%s", lw);
			return rc;
		}
		if (path.p[path.n - 1] == '/')
			return em_err(e, EM_EINVAL, lw, "'%s' is a folder, not a file",
				      em_qname_n(qq, path.p, path.n));
		if (t->n >= EM_WHEEL_MAX_FILES || t->n >= t->max)
			return em_err(e, EM_ELIMIT, rw, "more than %u rows",
				      (unsigned)EM_WHEEL_MAX_FILES);
		uint32_t *slot;
		if (rec_find(t, path.p, path.n, &slot))
			return em_err(e, EM_EINVAL, lw, "'%s' is listed twice",
				      em_qname_n(qq, path.p, path.n));
		struct rec_ent *r2 = &t->ents[t->n];
		memset(r2, 0, sizeof *r2);
		if (!(r2->path = em_arena_strndup(a, path.p, path.n)))
			return em_err_nomem(e);
		r2->plen = (uint32_t)path.n;
		bool exempt = em_record_is_record_file(path.p, path.n, di, dl);
		int h = em_record_hash_parse(hash, r2->digest);
		if (h == -2)
			return em_err(e, EM_EUNSUPPORTED, lw,
				      "'%s' has a hash of an unsupported kind '%s' (envmatrix "
				      "checks sha256)",
				      em_qname_n(qq, path.p, path.n),
				      em_qname_n(q2, hash.p, hash.n));
		if (h < 0)
			return em_err(e, EM_EINVAL, lw, "'%s' has an invalid hash '%s'",
				      em_qname_n(qq, path.p, path.n),
				      em_qname_n(q2, hash.p, hash.n));
		r2->has_hash = h == 0;
		if (!r2->has_hash && !exempt)
			return em_err(e, EM_EINVAL, lw, "'%s' has no hash",
				      em_qname_n(qq, path.p, path.n));
		if (size.n) {
			if (!em_parse_u64(size.p, size.n, &r2->size))
				return em_err(e, EM_EINVAL, lw, "'%s' has an invalid size '%s'",
					      em_qname_n(qq, path.p, path.n),
					      em_qname_n(q2, size.p, size.n));
			if (r2->size > EM_WHEEL_MAX_MEMBER_SIZE)
				return em_err(e, EM_ELIMIT, lw, "'%s' is larger than %llu bytes",
					      em_qname_n(qq, path.p, path.n),
					      (unsigned long long)EM_WHEEL_MAX_MEMBER_SIZE);
			r2->has_size = true;
		} else if (!exempt) {
			return em_err(e, EM_EINVAL, lw, "'%s' has no size",
				      em_qname_n(qq, path.p, path.n));
		}
		int scheme;
		const char *rest;
		size_t restlen;
		rc = em_record_data_scheme(path.p, path.n, dd, dn, &scheme, &rest, &restlen, lw, e);
		if (rc < 0)
			return rc;
		t->n++;
		*slot = (uint32_t)t->n;
	}
	return 0;
}

/* What the first pass finds. */
struct scan {
	char *di;           /* the dist-info folder */
	size_t dl;
	char *record;
	size_t record_len;
	uint64_t members;
};

static int read_member_data(struct em_zip_reader *z, size_t max, struct em_buf *b,
			    const char *where, const char *name, struct em_error *e)
{
	char qq[EM_QNAME];
	char block[16384];
	for (;;) {
		int64_t got = em_zip_read(z, block, sizeof block, e);
		if (got < 0)
			return (int)got;
		if (got == 0)
			return 0;
		if ((size_t)got > max - b->len)
			return em_err(e, EM_ELIMIT, where, "member '%s' is larger than %zu bytes",
				      em_qname(qq, name), max);
		if (em_buf_add(b, block, (size_t)got))
			return em_err_nomem(e);
	}
}

/* What the first pass keeps on the way. */
struct scan_pass {
	const char *folder[3]; /* the .dist-info folders met (the first three) */
	size_t nfolders;
	struct em_buf record, wheel;
	bool have_record, have_wheel;
};

/* A member no wheel may have: 0, or the error. */
static int refuse_member(const struct em_zip_member *m, const char *where, struct em_error *e)
{
	char qq[EM_QNAME];
	if (m->type == EM_ZIP_SYMLINK)
		return em_err(e, EM_EINVAL, where, "member '%s' is a symbolic link",
			      em_qname_n(qq, m->name, m->namelen));
	if (m->type != EM_ZIP_FILE && m->type != EM_ZIP_DIR)
		return em_err(e, EM_EINVAL, where, "member '%s' is not a regular file or a folder",
			      em_qname_n(qq, m->name, m->namelen));
	if (m->encrypted)
		return em_err(e, EM_EUNSUPPORTED, where, "member '%s' is encrypted",
			      em_qname_n(qq, m->name, m->namelen));
	if (has_prefix(m->name, m->namelen, EM_UNPACKED_MARK) &&
	    (m->namelen == sizeof EM_UNPACKED_MARK - 1 ||
	     m->name[sizeof EM_UNPACKED_MARK - 1] == '/'))
		return em_err(e, EM_EINVAL, where, "member '%s' has a name envmatrix keeps",
			      em_qname_n(qq, m->name, m->namelen));
	return 0;
}

/* Note the .dist-info folder member m is in, and read it when it is the
 * wheel's own RECORD or WHEEL. */
static int scan_member(struct em_arena *a, struct em_zip_reader *z, const struct em_zip_member *m,
		       const struct em_wheel_name *w, const char *where, struct scan_pass *sp,
		       struct em_error *e)
{
	char qq[EM_QNAME];
	size_t seg = em_wheel_dist_info_prefix(m->name, m->namelen);
	if (!seg)
		return 0;
	const char *slash = m->name + seg;
	size_t k = 0;
	while (k < sp->nfolders && !em_str_eq(m->name, seg, sp->folder[k]))
		k++;
	if (k == sp->nfolders && sp->nfolders < 3) {
		if (!(sp->folder[k] = em_arena_strndup(a, m->name, seg)))
			return em_err_nomem(e);
		sp->nfolders++;
	}
	const char *rest = slash + 1;
	size_t restlen = m->namelen - seg - 1;
	bool is_record = em_str_eq(rest, restlen, "RECORD");
	bool is_wheel = em_str_eq(rest, restlen, "WHEEL");
	if ((!is_record && !is_wheel) || m->type != EM_ZIP_FILE)
		return 0;
	struct em_arena_mark m2 = em_arena_mark(a);
	bool ours = em_wheel_dist_info_matches(a, m->name, seg - EM_DIST_INFO_LEN, w);
	em_arena_rewind(a, m2);
	if (!ours)
		return 0;
	bool *have = is_record ? &sp->have_record : &sp->have_wheel;
	if (*have)
		return em_err(e, EM_EINVAL, where, "member '%s' appears more than once",
			      em_qname_n(qq, m->name, m->namelen));
	*have = true;
	return read_member_data(z, is_record ? EM_WHEEL_MAX_RECORD : EM_WHEEL_FILE_MAX,
				is_record ? &sp->record : &sp->wheel, where, m->name, e);
}

/* After the last member: one .dist-info folder, the wheel's, with a
 * WHEEL of version 1.x and a RECORD. */
static int scan_check(struct em_arena *a, const struct scan_pass *sp,
		      const struct em_wheel_name *w, const char *where, struct em_error *e)
{
	char qq[EM_QNAME], q2[EM_QNAME];
	const char *const *folder = sp->folder;
	if (sp->nfolders == 0)
		return em_err(e, EM_EINVAL, where, "the wheel has no .dist-info folder");
	if (sp->nfolders > 1)
		return em_err(e, EM_EINVAL, where,
			      "the wheel has more than one .dist-info folder ('%s', '%s'%s)",
			      em_qname(qq, folder[0]), em_qname(q2, folder[1]),
			      sp->nfolders > 2 ? ", ..." : "");
	if (!em_wheel_dist_info_matches(a, folder[0], strlen(folder[0]) - EM_DIST_INFO_LEN, w))
		return em_err(e, EM_EINVAL, where,
			      "the wheel's .dist-info folder '%s' does not match its name "
			      "'%s' and version '%s'",
			      em_qname(qq, folder[0]), w->name, w->version.str);
	if (!sp->have_wheel)
		return em_err(e, EM_EINVAL, where, "the wheel has no member '%s/WHEEL'",
			      em_qname(qq, folder[0]));
	if (!sp->have_record)
		return em_err(e, EM_EINVAL, where, "the wheel has no member '%s/RECORD'",
			      em_qname(qq, folder[0]));
	char ww[EM_ERROR_WHERE_MAX];
	snprintf(ww, sizeof ww, "%s: %s/WHEEL", where, folder[0]);
	bool purelib;
	return em_wheel_file_parse(sp->wheel.ptr, sp->wheel.len, &purelib, ww, e);
}

static int scan_wheel(struct em_arena *a, const char *path, const char *where,
		      const struct em_wheel_name *w, struct scan *out, struct em_error *e)
{
	memset(out, 0, sizeof *out);
	struct em_zip_reader *z;
	int rc = em_zip_open(path, where, &z, e);
	if (rc)
		return rc;
	struct scan_pass sp = { .record = EM_BUF_INIT, .wheel = EM_BUF_INIT };
	struct em_arena_mark mk = em_arena_mark(a);
	for (;;) {
		struct em_zip_member m;
		rc = em_zip_next(z, &m, e);
		if (rc)
			break;
		if (++out->members > EM_WHEEL_MAX_FILES) {
			rc = em_err(e, EM_ELIMIT, where, "the wheel has more than %u members",
				    (unsigned)EM_WHEEL_MAX_FILES);
			break;
		}
		if ((rc = refuse_member(&m, where, e)) ||
		    (rc = scan_member(a, z, &m, w, where, &sp, e)))
			break;
	}
	em_zip_close(z);
	if (rc == 1)
		rc = scan_check(a, &sp, w, where, e);
	if (!rc) {
		out->di = em_arena_strdup(a, sp.folder[0]);
		out->record = em_arena_alloc(a, sp.record.len + 1);
		if (!out->di || !out->record) {
			rc = em_err_nomem(e);
		} else {
			out->dl = strlen(out->di);
			memcpy(out->record, sp.record.ptr, sp.record.len);
			out->record[sp.record.len] = '\0';
			out->record_len = sp.record.len;
		}
	}
	if (rc)
		em_arena_rewind(a, mk);
	em_buf_release(&sp.record);
	em_buf_release(&sp.wheel);
	return rc;
}

/* Write the current member to an open file while hashing and counting it,
 * against its RECORD row r (NULL: a RECORD file, not checked). */
static int extract_member(struct em_zip_reader *z, int fd, const char *name, size_t namelen,
			  const struct rec_ent *r, char *buf, size_t bufsize, uint64_t *total,
			  const char *where, struct em_error *e)
{
	char qq[EM_QNAME];
	struct em_sha256 h;
	int rc = em_sha256_init(&h, e);
	if (rc)
		return rc;
	uint64_t n = 0;
	uint64_t max = r ? r->size : EM_WHEEL_MAX_RECORD;
	for (;;) {
		int64_t got = em_zip_read(z, buf, bufsize, e);
		if (got < 0) {
			rc = (int)got;
			break;
		}
		if (got == 0)
			break;
		if ((uint64_t)got > max - n) {
			rc = r ? em_err(e, EM_EINVAL, where,
					"member '%s' is larger than the %llu bytes RECORD says",
					em_qname_n(qq, name, namelen), (unsigned long long)r->size)
			       : em_err(e, EM_ELIMIT, where, "member '%s' is larger than %u bytes",
					em_qname_n(qq, name, namelen),
					(unsigned)EM_WHEEL_MAX_RECORD);
			break;
		}
		if ((uint64_t)got > EM_WHEEL_MAX_SIZE - *total) {
			rc = em_err(e, EM_ELIMIT, where, "the wheel unpacks to more than %llu bytes",
				    (unsigned long long)EM_WHEEL_MAX_SIZE);
			break;
		}
		n += (uint64_t)got;
		*total += (uint64_t)got;
		em_sha256_update(&h, buf, (size_t)got);
		int err = em_write_all(fd, buf, (size_t)got);
		if (err) {
			char nm[EM_ARCHIVE_MAX_MEMBER_NAME + 1];
			snprintf(nm, sizeof nm, "%.*s", (int)namelen, name);
			rc = em_wheel_sys_err(e, err, where, "write", nm);
			break;
		}
	}
	if (rc) {
		em_sha256_abort(&h);
		return rc;
	}
	char hex[EM_SHA256_HEX_LEN + 1];
	em_sha256_final(&h, hex);
	if (!r)
		return 0;
	if (n != r->size)
		return em_err(e, EM_EINVAL, where,
			      "member '%s' is %llu bytes, but RECORD says %llu",
			      em_qname_n(qq, name, namelen), (unsigned long long)n,
			      (unsigned long long)r->size);
	unsigned char d[32];
	em_record_digest_of_hex(hex, d);
	if (memcmp(d, r->digest, 32)) {
		char want[EM_RECORD_HASH_LEN + 1], got[EM_RECORD_HASH_LEN + 1];
		em_record_hash_format(r->digest, want);
		em_record_hash_format(d, got);
		return em_err(e, EM_EINVAL, where,
			      "member '%s' does not match RECORD: its hash is %s, RECORD says %s",
			      em_qname_n(qq, name, namelen), got, want);
	}
	return 0;
}

static int extract_all(const char *path, const char *where, struct em_dir *td, struct rec_table *t,
		       const char *di, size_t dl, struct em_error *e)
{
	char qq[EM_QNAME];
	struct em_zip_reader *z;
	int rc = em_zip_open(path, where, &z, e);
	if (rc)
		return rc;
	char *buf = malloc(READ_BUF);
	struct em_buf last = EM_BUF_INIT;
	uint64_t total = 0;
	if (!buf) {
		em_zip_close(z);
		return em_err_nomem(e);
	}
	char name[EM_ARCHIVE_MAX_MEMBER_NAME + 1];
	for (;;) {
		struct em_zip_member m;
		rc = em_zip_next(z, &m, e);
		if (rc)
			break;
		/* the first pass refused links and devices; the archive has not
		 * changed under us unless someone rewrote it */
		if (m.type != EM_ZIP_FILE && m.type != EM_ZIP_DIR) {
			rc = em_err(e, EM_EINVAL, where, "member '%s' is not a regular file",
				    em_qname_n(qq, m.name, m.namelen));
			break;
		}
		size_t n = m.namelen;
		memcpy(name, m.name, n);
		name[n] = '\0';
		int err;
		if (m.type == EM_ZIP_DIR) {
			while (n && name[n - 1] == '/')
				name[--n] = '\0';
			if (em_wheel_mkdirs(td, name, n, &last, &err)) {
				rc = em_wheel_sys_err(e, err, where, "create the folder", name);
				break;
			}
			continue;
		}
		struct rec_ent *r = rec_find(t, name, n, NULL);
		if (!r && !em_record_is_record_file(name, n, di, dl)) {
			rc = em_err(e, EM_EINVAL, where, "member '%s' is not listed in RECORD",
				    em_qname(qq, name));
			break;
		}
		if (r && r->seen) {
			rc = em_err(e, EM_EINVAL, where, "member '%s' appears more than once",
				    em_qname(qq, name));
			break;
		}
		if (r)
			r->seen = true;
		if (r && (!r->has_hash || em_record_is_record_file(name, n, di, dl)))
			r = NULL; /* RECORD and its signatures cannot be checked */
		if (r && m.size_known && m.size != r->size) {
			rc = em_err(e, EM_EINVAL, where,
				    "member '%s' is %llu bytes, but RECORD says %llu",
				    em_qname(qq, name), (unsigned long long)m.size,
				    (unsigned long long)r->size);
			break;
		}
		const char *slash = strrchr(name, '/');
		if (slash && em_wheel_mkdirs(td, name, (size_t)(slash - name), &last, &err)) {
			rc = em_wheel_sys_err(e, err, where, "create the folder of", name);
			break;
		}
		int fd = em_dir_open_file(td, name, NEW_FILE | EM_OPEN_NOFOLLOW, 0600);
		if (fd < 0) {
			rc = errno == EEXIST ? em_err(e, EM_EINVAL, where,
						      "member '%s' appears more than once",
						      em_qname(qq, name))
					     : em_wheel_sys_err(e, errno, where, "create", name);
			break;
		}
		rc = extract_member(z, fd, name, n, r, buf, READ_BUF, &total, where, e);
		if (!rc && em_os_fchmod(fd, (m.mode & 0111) ? 0555 : 0444) != 0)
			rc = em_wheel_sys_err(e, errno, where, "set the mode of", name);
		if (em_os_close(fd) != 0 && !rc)
			rc = em_wheel_sys_err(e, errno, where, "write", name);
		if (rc)
			break;
	}
	em_zip_close(z);
	free(buf);
	em_buf_release(&last);
	if (rc != 1)
		return rc;
	for (size_t i = 0; i < t->n; i++) {
		if (!t->ents[i].seen)
			return em_err(e, EM_EINVAL, where,
				      "RECORD lists '%s', but the wheel has no such member",
				      em_qname_n(qq, t->ents[i].path, t->ents[i].plen));
	}
	return 0;
}

static bool is_unpacked(const char *dir)
{
	struct em_dir *d = em_dir_open(dir, 0);
	if (!d)
		return false;
	struct em_stat st;
	bool ok = em_dir_lstat(d, EM_UNPACKED_MARK, &st) == 0;
	em_dir_close(d);
	return ok;
}

static unsigned long tmp_counter;

int em_wheel_unpack_staged(const char *wheel_path, const char *dir, char **staged,
			   struct em_error *e)
{
	*staged = NULL;
	if (!wheel_path || !dir || !*dir)
		return em_err(e, EM_EUSAGE, NULL, "no wheel or folder given to unpack");
	const char *where = wheel_path;
	const char *base = strrchr(wheel_path, '/');
	base = base ? base + 1 : wheel_path;

	struct em_arena a;
	em_arena_init(&a);
	struct em_wheel_name w;
	int rc = em_wheel_name_parse(&a, base, strlen(base), &w, e);
	if (rc) {
		em_err_prefix_where(e, "%s", where);
		em_arena_release(&a);
		return rc;
	}
	if (is_unpacked(dir)) { /* made by someone else already */
		em_arena_release(&a);
		return 1;
	}
	struct em_stat st;
	if (em_os_lstat(dir, &st) == 0) {
		em_arena_release(&a);
		return em_err(e, EM_EINVAL, dir, "already exists and is not an unpacked wheel");
	}

	struct scan sc;
	rc = scan_wheel(&a, wheel_path, where, &w, &sc, e);
	struct rec_table t;
	if (!rc)
		rc = record_load(&a, sc.record, sc.record_len, sc.di, sc.dl, where, &t, e);
	if (rc) {
		em_arena_release(&a);
		return rc;
	}

	/* the parent may be new (a fresh cache) */
	char *parent = em_path_dir(&a, dir);
	int err;
	if (!parent) {
		em_arena_release(&a);
		return em_err_nomem(e);
	}
	if ((rc = em_mkdir_p(parent, e))) {
		em_arena_release(&a);
		return rc;
	}
	unsigned long k = __atomic_add_fetch(&tmp_counter, 1, __ATOMIC_RELAXED);
	char *tmp = em_arena_printf(&a, "%s.tmp-%ld-%lu", dir, em_os_pid(), k);
	if (!tmp) {
		em_arena_release(&a);
		return em_err_nomem(e);
	}
	em_remove_tree(tmp, NULL); /* a leftover of a process that had our pid */
	if (em_os_mkdir(tmp, 0755) != 0) {
		rc = em_wheel_sys_err(e, errno, dir, "create the folder", tmp);
		em_arena_release(&a);
		return rc;
	}
	struct em_dir *td = em_dir_open(tmp, 0);
	if (!td) {
		rc = em_wheel_sys_err(e, errno, dir, "open the folder", tmp);
		em_remove_tree(tmp, NULL);
		em_arena_release(&a);
		return rc;
	}
	rc = extract_all(wheel_path, where, td, &t, sc.di, sc.dl, e);
	if (!rc) {
		int fd = em_dir_open_file(td, EM_UNPACKED_MARK, NEW_FILE, 0444);
		if (fd < 0) {
			rc = em_wheel_sys_err(e, errno, dir, "create", EM_UNPACKED_MARK);
		} else {
			char line[EM_WHEEL_NAME_MAX_LEN + 64];
			int len = snprintf(line, sizeof line, "%s\n%s\n", base, sc.di);
			if (len < 0 || (size_t)len >= sizeof line)
				len = 0;
			err = em_write_all(fd, line, (size_t)len);
			if (em_os_close(fd) != 0 && !err)
				err = errno;
			if (err)
				rc = em_wheel_sys_err(e, err, dir, "write", EM_UNPACKED_MARK);
		}
	}
	em_dir_close(td);
	if (rc) {
		em_remove_tree(tmp, NULL);
	} else if (!(*staged = strdup(tmp))) {
		em_remove_tree(tmp, NULL);
		rc = em_err_nomem(e);
	}
	em_arena_release(&a);
	return rc;
}

int em_wheel_unpack_publish(const char *staged, const char *dir, struct em_error *e)
{
	char qq[EM_QNAME];
	if (em_os_rename(staged, dir) != 0) {
		int err = errno;
		em_remove_tree(staged, NULL);
		if ((err == EEXIST || err == ENOTEMPTY) && is_unpacked(dir))
			return 0; /* another unpacker was first: keep theirs */
		return em_err(e, EM_EIO, dir, "cannot move '%s' into place: %s",
			      em_qname(qq, staged), strerror(err));
	}
	em_fsync_parent(dir);
	return 0;
}

int em_wheel_unpack(const char *wheel_path, const char *dir, struct em_error *e)
{
	char *staged;
	int rc = em_wheel_unpack_staged(wheel_path, dir, &staged, e);
	if (rc)
		return rc > 0 ? 0 : rc;
	/* the files' data on disk before the name that says they are whole */
	if (em_os_flush_volume(staged) != 0) {
		rc = em_err_sys(e, errno, staged, "cannot sync the unpacked wheel");
		em_remove_tree(staged, NULL);
		free(staged);
		return rc;
	}
	rc = em_wheel_unpack_publish(staged, dir, e);
	free(staged);
	return rc;
}

/* Read a small file under d into a, NUL-terminated: 0, or errno. */
static int read_at(struct em_arena *a, struct em_dir *d, const char *rel, size_t max, char **out,
		   size_t *len)
{
	int fd = em_dir_open_file(d, rel, EM_OPEN_READ | EM_OPEN_NOFOLLOW, 0);
	if (fd < 0)
		return errno;
	struct em_buf b = EM_BUF_INIT;
	char chunk[16384];
	int err = 0;
	for (;;) {
		ssize_t r = em_os_read(fd, chunk, sizeof chunk);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			err = r < 0 ? errno : 0;
			break;
		}
		if (b.len + (size_t)r > max)
			err = EFBIG;
		else if (em_buf_add(&b, chunk, (size_t)r))
			err = ENOMEM;
		if (err)
			break;
	}
	em_os_close(fd);
	if (!err && !(*out = em_arena_strndup(a, b.ptr ? b.ptr : "", b.len)))
		err = ENOMEM;
	if (!err)
		*len = b.len;
	em_buf_release(&b);
	return err;
}

/* One file of an unpacked tree against its RECORD row: 0, 1 (e says how
 * it differs) or an error. */
static int check_one(struct em_dir *dir_handle, const struct rec_ent *r, char *buf,
		     const char *dir, struct em_error *e)
{
	char qq[EM_QNAME], path[EM_ARCHIVE_MAX_MEMBER_NAME + 1];
	snprintf(path, sizeof path, "%.*s", (int)r->plen, r->path);
	int fd = em_dir_open_file(dir_handle, path, EM_OPEN_READ | EM_OPEN_NOFOLLOW, 0);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
			return em_err(e, EM_EINVAL, dir, "'%s' is missing (RECORD lists it)",
				      em_qname(qq, path)), 1;
		return em_err_sys(e, errno, dir, em_qname(qq, path));
	}
	struct em_stat st;
	if (em_os_fstat(fd, &st) != 0) {
		int rc = em_err_sys(e, errno, dir, em_qname(qq, path));
		em_os_close(fd);
		return rc;
	}
	if (st.type != EM_FT_FILE) {
		em_os_close(fd);
		em_err(e, EM_EINVAL, dir, "'%s' is not a regular file", em_qname(qq, path));
		return 1;
	}
	if (st.size != r->size) {
		em_os_close(fd);
		return em_err(e, EM_EINVAL, dir, "'%s' is %lld bytes, but the wheel's RECORD says "
			      "%llu", em_qname(qq, path), (long long)st.size,
			      (unsigned long long)r->size), 1;
	}
	struct em_sha256 h;
	int rc = em_sha256_init(&h, e);
	if (rc) {
		em_os_close(fd);
		return rc;
	}
	for (;;) {
		ssize_t n = em_os_read(fd, buf, READ_BUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = em_err_sys(e, errno, dir, em_qname(qq, path));
			em_sha256_abort(&h);
			em_os_close(fd);
			return rc;
		}
		if (n == 0)
			break;
		em_sha256_update(&h, buf, (size_t)n);
	}
	em_os_close(fd);
	char hex[EM_SHA256_HEX_LEN + 1];
	em_sha256_final(&h, hex);
	unsigned char d[32];
	em_record_digest_of_hex(hex, d);
	if (!memcmp(d, r->digest, 32))
		return 0;
	char want[EM_RECORD_HASH_LEN + 1], got[EM_RECORD_HASH_LEN + 1];
	em_record_hash_format(r->digest, want);
	em_record_hash_format(d, got);
	return em_err(e, EM_EINVAL, dir, "'%s' was changed: its hash is %s, the wheel's RECORD "
		      "says %s", em_qname(qq, path), got, want), 1;
}

int em_wheel_unpacked_check(const char *dir, struct em_error *e)
{
	char qq[EM_QNAME];
	struct em_dir *d = em_dir_open(dir, 0);
	if (!d)
		return em_err_sys(e, errno, dir, "cannot open the unpacked wheel");
	struct em_arena a;
	em_arena_init(&a);
	char *mark, *record, *buf = NULL;
	size_t ml, rl;
	int rc = 0, err = read_at(&a, d, EM_UNPACKED_MARK, 4096, &mark, &ml);
	if (err) {
		rc = err == ENOENT ? em_err(e, EM_ENOTFOUND, dir, "not a complete unpacked wheel "
					    "(no '%s')", EM_UNPACKED_MARK)
				   : em_err_sys(e, err, dir, "cannot read " EM_UNPACKED_MARK);
		goto out;
	}
	/* the mark: the wheel's file name, then its dist-info folder */
	char *nl = strchr(mark, '\n');
	char *di = nl ? nl + 1 : NULL;
	char *end = di ? strchr(di, '\n') : NULL;
	if (!end || end == di || (size_t)(end - di) <= EM_DIST_INFO_LEN ||
	    memcmp(end - EM_DIST_INFO_LEN, EM_DIST_INFO, EM_DIST_INFO_LEN) ||
	    memchr(di, '/', (size_t)(end - di))) {
		rc = em_err(e, EM_EUNSUPPORTED, dir, "'%s' does not name the dist-info folder",
			    EM_UNPACKED_MARK);
		goto out;
	}
	*end = '\0';
	size_t dl = (size_t)(end - di);
	char *rpath = em_arena_printf(&a, "%s/RECORD", di);
	if (!rpath) {
		rc = em_err_nomem(e);
		goto out;
	}
	if ((err = read_at(&a, d, rpath, EM_WHEEL_MAX_RECORD, &record, &rl))) {
		if (err == ENOENT) {
			em_err(e, EM_EINVAL, dir, "'%s' is missing", em_qname(qq, rpath));
			rc = 1;
		} else {
			rc = em_err_sys(e, err, dir, em_qname(qq, rpath));
		}
		goto out;
	}
	struct rec_table t;
	if (record_load(&a, record, rl, di, dl, dir, &t, e)) {
		/* it was read before unpacking: a RECORD that no longer reads was changed */
		rc = 1;
		goto out;
	}
	if (!(buf = malloc(READ_BUF))) {
		rc = em_err_nomem(e);
		goto out;
	}
	for (size_t i = 0; i < t.n && !rc; i++)
		if (t.ents[i].has_hash &&
		    !em_record_is_record_file(t.ents[i].path, t.ents[i].plen, di, dl))
			rc = check_one(d, &t.ents[i], buf, dir, e);
out:
	free(buf);
	em_dir_close(d);
	em_arena_release(&a);
	return rc;
}
