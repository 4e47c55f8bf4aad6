/* install.c - wheels: unpacked once into the cache, installed by linking
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
 *
 * Installing (em_wheel_install) streams the unpacked wheel's RECORD - the
 * list of files, already verified - row by row: each file's destination
 * is worked out (the root to purelib or platlib, NAME.data/KEY/ to the
 * scheme's KEY folder), its folder created by this thread, and a job to
 * link it queued. Jobs go in batches to worker threads (o->jobs), which
 * call em_link_fileat() with folder descriptors, so a file costs one
 * linkat() (or a clone or copy) and no path walk from /; the contents of
 * a linked file are never read. The new RECORD is written as rows go by,
 * with the hash the wheel's RECORD gave (verified at unpacking), so memory
 * does not grow with the number of files. Scripts in .data/scripts that
 * start with "#!python" are copied with the interpreter's shebang;
 * console_scripts and gui_scripts entry points get launchers; INSTALLER,
 * REQUESTED and RECORD (through a temporary file) come last. Nothing is
 * byte-compiled.
 *
 * The tree made by em_wheel_install is left unsynced: the caller builds it
 * in a staging folder and syncs that once before swapping it into place.
 */
#include "install.h"
#include "archive.h"
#include "util/buf.h"
#include "os/fs.h"
#include "os/pool.h"
#include "util/sha256.h"
#include "util/str.h"
#include "spec/tags.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif
#ifndef O_BINARY
#define O_BINARY 0
#endif
#ifndef O_DIRECTORY
#define O_DIRECTORY 0
#endif
#ifndef O_NOFOLLOW
#define O_NOFOLLOW 0
#endif

/* quoted names in messages */
#define QNAME 300

#define DIST_INFO ".dist-info"
#define DIST_INFO_LEN (sizeof DIST_INFO - 1)
#define WHEEL_FILE_MAX (1u << 20)
#define ENTRY_POINTS_MAX (4u << 20)
#define ENTRY_NAME_MAX 255
/* a RECORD row: three fields, the path at most a member name (quoting may
 * double it) */
#define ROW_MAX (4 * EM_ARCHIVE_MAX_MEMBER_NAME + 512)
#define READ_BUF (256u << 10)

static const char *q(char *dst, const char *s)
{
	return em_quote(dst, QNAME, s, strlen(s));
}

static const char *qn(char *dst, const char *s, size_t n)
{
	return em_quote(dst, QNAME, s, n);
}

static bool has_prefix(const char *s, size_t n, const char *p)
{
	size_t l = strlen(p);
	return n >= l && !memcmp(s, p, l);
}

/* ---- small file-system helpers ---- */

static int sys_err(struct em_error *e, int err, const char *where, const char *what,
		   const char *name)
{
	char qq[QNAME];
	if (err == ENOSPC || err == EDQUOT)
		return em_err(e, EM_EIO, where, "cannot %s '%s': no space left on the device (%s)",
			      what, q(qq, name), strerror(err));
	return em_err(e, EM_EIO, where, "cannot %s '%s': %s", what, q(qq, name), strerror(err));
}

/* Create the folder rel (n bytes) under dfd and every folder above it.
 * last remembers the folder made before, which most files share. */
static int ensure_dir(int dfd, const char *rel, size_t n, struct em_buf *last, int *err)
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
	if (mkdirat(dfd, p, 0755) != 0 && errno != EEXIST) {
		if (errno != ENOENT) {
			*err = errno;
			return -1;
		}
		for (size_t i = 1; i <= n; i++) {
			if (i < n && p[i] != '/')
				continue;
			p[i] = '\0';
			int r = mkdirat(dfd, p, 0755);
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

/* ---- RECORD: CSV rows ---- */

/* A reader of CSV rows (Python's csv module with its default dialect:
 * ',' between fields, '"' quoting with "" inside, \n, \r\n or \r line
 * ends, quoted fields may hold them) over a buffer that is either the
 * whole data or refilled from fd. */
struct csv {
	int fd;           /* -1: buf holds everything */
	const char *where;
	char *buf;
	size_t len, pos, cap;
	bool eof;
	unsigned line;    /* the line the current row starts on */
	unsigned next_line;
	char *scratch;    /* unquoted fields, ROW_MAX bytes */
	size_t nf;
	struct em_str f[4];
};

enum { CSV_ROW = 0, CSV_END = 1, CSV_MORE = 2 };

/* Parse one row at pos into scratch (each field NUL-terminated there).
 * CSV_MORE when the buffer ends inside it and more may come. */
static int csv_parse(struct csv *c, size_t *consumed, unsigned *lines, struct em_error *e)
{
	const char *s = c->buf + c->pos, *end = c->buf + c->len;
	size_t i = 0, n = (size_t)(end - s), o = 0;
	unsigned nl = 0;
	c->nf = 0;
#define PUT(ch)                                                                              \
	do {                                                                                 \
		if (o >= ROW_MAX)                                                            \
			return em_err(e, EM_ELIMIT, c->where, "line %u is longer than %u bytes", \
				      c->line, (unsigned)ROW_MAX);                           \
		c->scratch[o++] = (ch);                                                      \
	} while (0)
	for (;;) {
		size_t start = o;
		if (i < n && s[i] == '"') {
			i++;
			for (;;) {
				if (i >= n) {
					if (!c->eof)
						return CSV_MORE;
					return em_err(e, EM_EINVAL, c->where,
						      "line %u: a quoted field is not closed",
						      c->line);
				}
				if (s[i] == '"') {
					if (i + 1 >= n && !c->eof)
						return CSV_MORE;
					if (i + 1 < n && s[i + 1] == '"') {
						PUT('"');
						i += 2;
						continue;
					}
					i++;
					break;
				}
				if (s[i] == '\n')
					nl++;
				PUT(s[i]);
				i++;
			}
		}
		/* unquoted text, or what follows a closing quote (kept, as
		 * Python's csv does) */
		while (i < n && s[i] != ',' && s[i] != '\n' && s[i] != '\r') {
			PUT(s[i]);
			i++;
		}
		if (c->nf < 4)
			c->f[c->nf] = em_str_make(c->scratch + start, o - start);
		c->nf++;
		PUT('\0');
		if (i >= n) {
			if (!c->eof)
				return CSV_MORE;
			break;
		}
		if (s[i] == ',') {
			i++;
			continue;
		}
		/* a line end */
		if (s[i] == '\r') {
			if (i + 1 >= n && !c->eof)
				return CSV_MORE;
			i++;
			if (i < n && s[i] == '\n')
				i++;
		} else {
			i++;
		}
		nl++;
		break;
	}
#undef PUT
	*consumed = i;
	*lines = nl;
	return CSV_ROW;
}

/* The next non-blank row: CSV_ROW, CSV_END or an error. */
static int csv_next(struct csv *c, struct em_error *e)
{
	for (;;) {
		c->line = c->next_line;
		if (c->pos >= c->len && c->eof)
			return CSV_END;
		size_t used = 0;
		unsigned lines = 0;
		int r = c->pos < c->len ? csv_parse(c, &used, &lines, e) : CSV_MORE;
		if (r < 0)
			return r;
		if (r == CSV_MORE) {
			if (c->fd < 0 || c->eof) /* cannot happen: parse says MORE only before eof */
				return em_err(e, EM_EINVAL, c->where, "line %u is cut short", c->line);
			if (c->len - c->pos > ROW_MAX)
				return em_err(e, EM_ELIMIT, c->where,
					      "line %u is longer than %u bytes", c->line,
					      (unsigned)ROW_MAX);
			memmove(c->buf, c->buf + c->pos, c->len - c->pos);
			c->len -= c->pos;
			c->pos = 0;
			ssize_t got;
			do
				got = read(c->fd, c->buf + c->len, c->cap - c->len);
			while (got < 0 && errno == EINTR);
			if (got < 0)
				return em_err_sys(e, errno, c->where, "cannot read");
			if (got == 0)
				c->eof = true;
			c->len += (size_t)got;
			continue;
		}
		c->pos += used;
		c->next_line += lines;
		if (c->nf == 1 && c->f[0].n == 0)
			continue; /* a blank line */
		return CSV_ROW;
	}
}

/* ---- RECORD: hashes ---- */

static int b64url_value(int ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '-')
		return 62;
	if (ch == '_')
		return 63;
	return -1;
}

/* "sha256=<43 characters of urlsafe base64, '=' padding allowed>" to 32
 * bytes; 1 when the field is empty; -1 when it is not such a hash; -2 for
 * another algorithm. */
static int parse_hash(struct em_str h, unsigned char out[32])
{
	if (h.n == 0)
		return 1;
	const char *eq = memchr(h.p, '=', h.n);
	if (!eq)
		return -1;
	if (!em_str_eq(h.p, (size_t)(eq - h.p), "sha256"))
		return -2;
	const char *b = eq + 1;
	size_t n = h.n - (size_t)(b - h.p);
	if (n == 44 && b[43] == '=')
		n = 43;
	if (n != 43)
		return -1;
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		int v = b64url_value((unsigned char)b[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o < 32)
				out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	return o == 32 && acc == 0 ? 0 : -1;
}

static void hex_to_bytes(const char *hex, unsigned char out[32])
{
	for (int i = 0; i < 32; i++) {
		int hi = hex[2 * i], lo = hex[2 * i + 1];
		hi = hi <= '9' ? hi - '0' : hi - 'a' + 10;
		lo = lo <= '9' ? lo - '0' : lo - 'a' + 10;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
}

/* "sha256=" and the urlsafe base64 of digest, no padding (51 bytes + NUL) */
#define RECORD_HASH_LEN 50
static void record_hash(const unsigned char d[32], char out[RECORD_HASH_LEN + 1])
{
	static const char a[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	memcpy(out, "sha256=", 7);
	size_t o = 7;
	uint32_t acc = 0;
	int bits = 0;
	for (int i = 0; i < 32; i++) {
		acc = (acc << 8) | d[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = a[(acc >> bits) & 63];
		}
	}
	if (bits)
		out[o++] = a[(acc << (6 - bits)) & 63];
	out[o] = '\0';
}

/* RECORD, RECORD.jws and RECORD.p7s of the dist-info folder di: rows
 * that may go without a hash (and members RECORD need not list) */
static bool is_record_file(const char *p, size_t n, const char *di, size_t dl)
{
	if (n <= dl + 1 || memcmp(p, di, dl) || p[dl] != '/')
		return false;
	p += dl + 1;
	n -= dl + 1;
	return em_str_eq(p, n, "RECORD") || em_str_eq(p, n, "RECORD.jws") ||
	       em_str_eq(p, n, "RECORD.p7s");
}

static const char *const scheme_keys[] = { "purelib", "platlib", "headers", "scripts", "data" };
enum { S_PURELIB, S_PLATLIB, S_HEADERS, S_SCRIPTS, S_DATA, S_COUNT };

/* For a path under the data folder (dd, dn bytes, "NAME-VER.data"): 0 and
 * the scheme and the path inside it, 1 when the path is not in the data
 * folder, or an error. */
static int data_scheme(const char *p, size_t n, const char *dd, size_t dn, int *scheme,
		       const char **rest, size_t *restlen, const char *where, struct em_error *e)
{
	char qq[QNAME], qd[QNAME], qk[QNAME];
	if (n <= dn || memcmp(p, dd, dn) || p[dn] != '/')
		return 1;
	const char *k = p + dn + 1;
	const char *slash = memchr(k, '/', n - dn - 1);
	if (!slash || slash + 1 == p + n)
		return em_err(e, EM_EINVAL, where,
			      "'%s' is not inside a scheme folder of '%s' (purelib, platlib, "
			      "headers, scripts or data)",
			      qn(qq, p, n), qn(qd, dd, dn));
	for (int s = 0; s < S_COUNT; s++) {
		if (em_str_eq(k, (size_t)(slash - k), scheme_keys[s])) {
			*scheme = s;
			*rest = slash + 1;
			*restlen = (size_t)(p + n - slash - 1);
			return 0;
		}
	}
	return em_err(e, EM_EINVAL, where,
		      "'%s' is in an unknown folder '%s' of '%s' (expected purelib, platlib, "
		      "headers, scripts or data)",
		      qn(qq, p, n), qn(qk, k, (size_t)(slash - k)), qn(qd, dd, dn));
}

/* ---- WHEEL ---- */

/* Check Wheel-Version (1.x) and read Root-Is-Purelib. */
static int parse_wheel_file(const char *s, size_t n, bool *purelib, const char *where,
			    struct em_error *e)
{
	char qq[QNAME];
	struct em_str version = { NULL, 0 };
	*purelib = false;
	for (size_t i = 0; i < n;) {
		const char *nl = memchr(s + i, '\n', n - i);
		size_t end = nl ? (size_t)(nl - s) : n;
		struct em_str line = em_str_make(s + i, end - i);
		i = end + 1;
		if (line.n && line.p[line.n - 1] == '\r')
			line.n--;
		if (line.n == 0)
			break; /* the end of the headers */
		if (line.p[0] == ' ' || line.p[0] == '\t')
			continue; /* a continuation line */
		const char *colon = memchr(line.p, ':', line.n);
		if (!colon)
			continue;
		struct em_str key = em_str_strip(em_str_make(line.p, (size_t)(colon - line.p)));
		struct em_str val =
			em_str_strip(em_str_make(colon + 1, line.n - (size_t)(colon + 1 - line.p)));
		if (em_str_ieq(key.p, key.n, "Wheel-Version") && !version.p)
			version = val;
		else if (em_str_ieq(key.p, key.n, "Root-Is-Purelib"))
			*purelib = em_str_ieq(val.p, val.n, "true");
	}
	if (!version.p)
		return em_err(e, EM_EINVAL, where, "the WHEEL file has no Wheel-Version");
	size_t d = 0;
	while (d < version.n && em_is_digit((unsigned char)version.p[d]))
		d++;
	uint64_t major;
	if (d == 0 || (d < version.n && version.p[d] != '.') ||
	    !em_parse_u64(version.p, d, &major))
		return em_err(e, EM_EINVAL, where, "the WHEEL file's Wheel-Version '%s' is invalid",
			      qn(qq, version.p, version.n));
	if (major != 1)
		return em_err(e, major > 1 ? EM_EUNSUPPORTED : EM_EINVAL, where,
			      "Wheel-Version '%s' is not supported (only 1.x is)",
			      qn(qq, version.p, version.n));
	return 0;
}

/* ==== unpacking ==== */

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
	char qq[QNAME], q2[QNAME], rw[EM_ERROR_WHERE_MAX];
	char dd[EM_ARCHIVE_MAX_MEMBER_NAME + 8];
	snprintf(dd, sizeof dd, "%.*s.data", (int)(dl - DIST_INFO_LEN), di);
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
	char *scratch = em_arena_alloc(a, ROW_MAX);
	if (!t->ents || !t->slots || !scratch)
		return em_err_nomem(e);
	memset(t->slots, 0, cap * sizeof *t->slots);
	t->mask = cap - 1;
	t->n = 0;
	t->max = lines;
	struct csv c = { .fd = -1, .where = rw, .buf = (char *)data, .len = len, .cap = len,
			 .eof = true, .next_line = 1, .scratch = scratch };
	for (;;) {
		int r = csv_next(&c, e);
		if (r < 0)
			return r;
		if (r == CSV_END)
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
				      qn(qq, path.p, path.n));
		if (t->n >= EM_WHEEL_MAX_FILES || t->n >= t->max)
			return em_err(e, EM_ELIMIT, rw, "more than %u rows",
				      (unsigned)EM_WHEEL_MAX_FILES);
		uint32_t *slot;
		if (rec_find(t, path.p, path.n, &slot))
			return em_err(e, EM_EINVAL, lw, "'%s' is listed twice",
				      qn(qq, path.p, path.n));
		struct rec_ent *r2 = &t->ents[t->n];
		memset(r2, 0, sizeof *r2);
		if (!(r2->path = em_arena_strndup(a, path.p, path.n)))
			return em_err_nomem(e);
		r2->plen = (uint32_t)path.n;
		bool exempt = is_record_file(path.p, path.n, di, dl);
		int h = parse_hash(hash, r2->digest);
		if (h == -2)
			return em_err(e, EM_EUNSUPPORTED, lw,
				      "'%s' has a hash of an unsupported kind '%s' (envmatrix "
				      "checks sha256)",
				      qn(qq, path.p, path.n), qn(q2, hash.p, hash.n));
		if (h < 0)
			return em_err(e, EM_EINVAL, lw, "'%s' has an invalid hash '%s'",
				      qn(qq, path.p, path.n), qn(q2, hash.p, hash.n));
		r2->has_hash = h == 0;
		if (!r2->has_hash && !exempt)
			return em_err(e, EM_EINVAL, lw, "'%s' has no hash", qn(qq, path.p, path.n));
		if (size.n) {
			if (!em_parse_u64(size.p, size.n, &r2->size))
				return em_err(e, EM_EINVAL, lw, "'%s' has an invalid size '%s'",
					      qn(qq, path.p, path.n), qn(q2, size.p, size.n));
			if (r2->size > EM_WHEEL_MAX_MEMBER_SIZE)
				return em_err(e, EM_ELIMIT, lw, "'%s' is larger than %llu bytes",
					      qn(qq, path.p, path.n),
					      (unsigned long long)EM_WHEEL_MAX_MEMBER_SIZE);
			r2->has_size = true;
		} else if (!exempt) {
			return em_err(e, EM_EINVAL, lw, "'%s' has no size", qn(qq, path.p, path.n));
		}
		int scheme;
		const char *rest;
		size_t restlen;
		rc = data_scheme(path.p, path.n, dd, dn, &scheme, &rest, &restlen, lw, e);
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
	char qq[QNAME];
	char block[16384];
	for (;;) {
		int64_t got = em_zip_read(z, block, sizeof block, e);
		if (got < 0)
			return (int)got;
		if (got == 0)
			return 0;
		if ((size_t)got > max - b->len)
			return em_err(e, EM_ELIMIT, where, "member '%s' is larger than %zu bytes",
				      q(qq, name), max);
		if (em_buf_add(b, block, (size_t)got))
			return em_err_nomem(e);
	}
}

static int scan_wheel(struct em_arena *a, const char *path, const char *where,
		      const struct em_wheel_name *w, struct scan *out, struct em_error *e)
{
	char qq[QNAME], q2[QNAME];
	memset(out, 0, sizeof *out);
	struct em_zip_reader *z;
	int rc = em_zip_open(path, where, &z, e);
	if (rc)
		return rc;
	const char *folder[3] = { NULL, NULL, NULL };
	size_t nfolders = 0;
	struct em_buf record = EM_BUF_INIT, wheel = EM_BUF_INIT;
	bool have_record = false, have_wheel = false;
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
		if (m.type == EM_ZIP_SYMLINK) {
			rc = em_err(e, EM_EINVAL, where, "member '%s' is a symbolic link",
				    qn(qq, m.name, m.namelen));
			break;
		}
		if (m.type != EM_ZIP_FILE && m.type != EM_ZIP_DIR) {
			rc = em_err(e, EM_EINVAL, where,
				    "member '%s' is not a regular file or a folder",
				    qn(qq, m.name, m.namelen));
			break;
		}
		if (m.encrypted) {
			rc = em_err(e, EM_EUNSUPPORTED, where, "member '%s' is encrypted",
				    qn(qq, m.name, m.namelen));
			break;
		}
		if (has_prefix(m.name, m.namelen, EM_UNPACKED_MARK) &&
		    (m.namelen == sizeof EM_UNPACKED_MARK - 1 ||
		     m.name[sizeof EM_UNPACKED_MARK - 1] == '/')) {
			rc = em_err(e, EM_EINVAL, where, "member '%s' has a name envmatrix keeps",
				    qn(qq, m.name, m.namelen));
			break;
		}
		const char *slash = memchr(m.name, '/', m.namelen);
		if (!slash)
			continue;
		size_t seg = (size_t)(slash - m.name);
		if (seg <= DIST_INFO_LEN || memcmp(slash - DIST_INFO_LEN, DIST_INFO, DIST_INFO_LEN))
			continue;
		size_t k = 0;
		while (k < nfolders && !em_str_eq(m.name, seg, folder[k]))
			k++;
		if (k == nfolders && nfolders < 3) {
			if (!(folder[k] = em_arena_strndup(a, m.name, seg))) {
				rc = em_err_nomem(e);
				break;
			}
			nfolders++;
		}
		const char *rest = slash + 1;
		size_t restlen = m.namelen - seg - 1;
		bool is_record = em_str_eq(rest, restlen, "RECORD");
		bool is_wheel = em_str_eq(rest, restlen, "WHEEL");
		if ((!is_record && !is_wheel) || m.type != EM_ZIP_FILE)
			continue;
		struct em_arena_mark m2 = em_arena_mark(a);
		bool ours = em_wheel_dist_info_matches(a, m.name, seg - DIST_INFO_LEN, w);
		em_arena_rewind(a, m2);
		if (!ours)
			continue;
		bool *have = is_record ? &have_record : &have_wheel;
		if (*have) {
			rc = em_err(e, EM_EINVAL, where, "member '%s' appears more than once",
				    qn(qq, m.name, m.namelen));
			break;
		}
		*have = true;
		rc = read_member_data(z, is_record ? EM_WHEEL_MAX_RECORD : WHEEL_FILE_MAX,
				      is_record ? &record : &wheel, where, m.name, e);
		if (rc)
			break;
	}
	em_zip_close(z);
	if (rc == 1) {
		rc = 0;
		if (nfolders == 0)
			rc = em_err(e, EM_EINVAL, where, "the wheel has no .dist-info folder");
		else if (nfolders > 1)
			rc = em_err(e, EM_EINVAL, where,
				    "the wheel has more than one .dist-info folder ('%s', '%s'%s)",
				    q(qq, folder[0]), q(q2, folder[1]), nfolders > 2 ? ", ..." : "");
		else if (!em_wheel_dist_info_matches(a, folder[0],
						     strlen(folder[0]) - DIST_INFO_LEN, w))
			rc = em_err(e, EM_EINVAL, where,
				    "the wheel's .dist-info folder '%s' does not match its name "
				    "'%s' and version '%s'",
				    q(qq, folder[0]), w->name, w->version.str);
		else if (!have_wheel)
			rc = em_err(e, EM_EINVAL, where, "the wheel has no member '%s/WHEEL'",
				    q(qq, folder[0]));
		else if (!have_record)
			rc = em_err(e, EM_EINVAL, where, "the wheel has no member '%s/RECORD'",
				    q(qq, folder[0]));
	}
	if (!rc) {
		char ww[EM_ERROR_WHERE_MAX];
		snprintf(ww, sizeof ww, "%s: %s/WHEEL", where, folder[0]);
		bool purelib;
		rc = parse_wheel_file(wheel.ptr, wheel.len, &purelib, ww, e);
	}
	if (!rc) {
		out->di = em_arena_strdup(a, folder[0]);
		out->record = em_arena_alloc(a, record.len + 1);
		if (!out->di || !out->record) {
			rc = em_err_nomem(e);
		} else {
			out->dl = strlen(out->di);
			memcpy(out->record, record.ptr, record.len);
			out->record[record.len] = '\0';
			out->record_len = record.len;
		}
	}
	if (rc)
		em_arena_rewind(a, mk);
	em_buf_release(&record);
	em_buf_release(&wheel);
	return rc;
}

/* Write the current member to an open file while hashing and counting it,
 * against its RECORD row r (NULL: a RECORD file, not checked). */
static int extract_member(struct em_zip_reader *z, int fd, const char *name, size_t namelen,
			  const struct rec_ent *r, char *buf, size_t bufsize, uint64_t *total,
			  const char *where, struct em_error *e)
{
	char qq[QNAME];
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
					qn(qq, name, namelen), (unsigned long long)r->size)
			       : em_err(e, EM_ELIMIT, where, "member '%s' is larger than %u bytes",
					qn(qq, name, namelen), (unsigned)EM_WHEEL_MAX_RECORD);
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
			rc = sys_err(e, err, where, "write", nm);
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
			      qn(qq, name, namelen), (unsigned long long)n,
			      (unsigned long long)r->size);
	unsigned char d[32];
	hex_to_bytes(hex, d);
	if (memcmp(d, r->digest, 32)) {
		char want[RECORD_HASH_LEN + 1], got[RECORD_HASH_LEN + 1];
		record_hash(r->digest, want);
		record_hash(d, got);
		return em_err(e, EM_EINVAL, where,
			      "member '%s' does not match RECORD: its hash is %s, RECORD says %s",
			      qn(qq, name, namelen), got, want);
	}
	return 0;
}

static int extract_all(const char *path, const char *where, int tfd, struct rec_table *t,
		       const char *di, size_t dl, struct em_error *e)
{
	char qq[QNAME];
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
				    qn(qq, m.name, m.namelen));
			break;
		}
		size_t n = m.namelen;
		memcpy(name, m.name, n);
		name[n] = '\0';
		int err;
		if (m.type == EM_ZIP_DIR) {
			while (n && name[n - 1] == '/')
				name[--n] = '\0';
			if (ensure_dir(tfd, name, n, &last, &err)) {
				rc = sys_err(e, err, where, "create the folder", name);
				break;
			}
			continue;
		}
		struct rec_ent *r = rec_find(t, name, n, NULL);
		if (!r && !is_record_file(name, n, di, dl)) {
			rc = em_err(e, EM_EINVAL, where, "member '%s' is not listed in RECORD",
				    q(qq, name));
			break;
		}
		if (r && r->seen) {
			rc = em_err(e, EM_EINVAL, where, "member '%s' appears more than once",
				    q(qq, name));
			break;
		}
		if (r)
			r->seen = true;
		if (r && (!r->has_hash || is_record_file(name, n, di, dl)))
			r = NULL; /* RECORD and its signatures cannot be checked */
		if (r && m.size_known && m.size != r->size) {
			rc = em_err(e, EM_EINVAL, where,
				    "member '%s' is %llu bytes, but RECORD says %llu", q(qq, name),
				    (unsigned long long)m.size, (unsigned long long)r->size);
			break;
		}
		const char *slash = strrchr(name, '/');
		if (slash && ensure_dir(tfd, name, (size_t)(slash - name), &last, &err)) {
			rc = sys_err(e, err, where, "create the folder of", name);
			break;
		}
		int fd = openat(tfd, name,
				O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW | O_BINARY,
				0600);
		if (fd < 0) {
			rc = errno == EEXIST
				     ? em_err(e, EM_EINVAL, where,
					      "member '%s' appears more than once", q(qq, name))
				     : sys_err(e, errno, where, "create", name);
			break;
		}
		rc = extract_member(z, fd, name, n, r, buf, READ_BUF, &total, where, e);
		if (!rc && fchmod(fd, (m.mode & 0111) ? 0555 : 0444) != 0)
			rc = sys_err(e, errno, where, "set the mode of", name);
		if (close(fd) != 0 && !rc)
			rc = sys_err(e, errno, where, "write", name);
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
				      qn(qq, t->ents[i].path, t->ents[i].plen));
	}
	return 0;
}

static bool is_unpacked(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return false;
	bool ok = faccessat(fd, EM_UNPACKED_MARK, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
	close(fd);
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
	struct stat st;
	if (lstat(dir, &st) == 0) {
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
	char *tmp = em_arena_printf(&a, "%s.tmp-%ld-%lu", dir, (long)getpid(), k);
	if (!tmp) {
		em_arena_release(&a);
		return em_err_nomem(e);
	}
	em_remove_tree(tmp, NULL); /* a leftover of a process that had our pid */
	if (mkdir(tmp, 0755) != 0) {
		rc = sys_err(e, errno, dir, "create the folder", tmp);
		em_arena_release(&a);
		return rc;
	}
	int tfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (tfd < 0) {
		rc = sys_err(e, errno, dir, "open the folder", tmp);
		em_remove_tree(tmp, NULL);
		em_arena_release(&a);
		return rc;
	}
	rc = extract_all(wheel_path, where, tfd, &t, sc.di, sc.dl, e);
	if (!rc) {
		int fd = openat(tfd, EM_UNPACKED_MARK, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
				0444);
		if (fd < 0) {
			rc = sys_err(e, errno, dir, "create", EM_UNPACKED_MARK);
		} else {
			char line[EM_WHEEL_NAME_MAX_LEN + 64];
			int len = snprintf(line, sizeof line, "%s\n%s\n", base, sc.di);
			if (len < 0 || (size_t)len >= sizeof line)
				len = 0;
			err = em_write_all(fd, line, (size_t)len);
			if (close(fd) != 0 && !err)
				err = errno;
			if (err)
				rc = sys_err(e, err, dir, "write", EM_UNPACKED_MARK);
		}
	}
	close(tfd);
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
	char qq[QNAME];
	if (rename(staged, dir) != 0) {
		int err = errno;
		em_remove_tree(staged, NULL);
		if ((err == EEXIST || err == ENOTEMPTY) && is_unpacked(dir))
			return 0; /* another unpacker was first: keep theirs */
		return em_err(e, EM_EIO, dir, "cannot move '%s' into place: %s", q(qq, staged),
			      strerror(err));
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
#if defined(__linux__)
	/* the files' data on disk before the name that says they are whole */
	int fd = open(staged, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || syncfs(fd) != 0) {
		rc = em_err_sys(e, errno, staged, "cannot sync the unpacked wheel");
		if (fd >= 0)
			close(fd);
		em_remove_tree(staged, NULL);
		free(staged);
		return rc;
	}
	close(fd);
#endif
	rc = em_wheel_unpack_publish(staged, dir, e);
	free(staged);
	return rc;
}

/* Read a small file under dfd into a, NUL-terminated: 0, or errno. */
static int read_at(struct em_arena *a, int dfd, const char *rel, size_t max, char **out,
		   size_t *len)
{
	int fd = openat(dfd, rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_BINARY);
	if (fd < 0)
		return errno;
	struct em_buf b = EM_BUF_INIT;
	char chunk[16384];
	int err = 0;
	for (;;) {
		ssize_t r = read(fd, chunk, sizeof chunk);
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
	close(fd);
	if (!err && !(*out = em_arena_strndup(a, b.ptr ? b.ptr : "", b.len)))
		err = ENOMEM;
	if (!err)
		*len = b.len;
	em_buf_release(&b);
	return err;
}

/* One file of an unpacked tree against its RECORD row: 0, 1 (e says how
 * it differs) or an error. */
static int check_one(int dfd, const struct rec_ent *r, char *buf, const char *dir,
		     struct em_error *e)
{
	char qq[QNAME], path[EM_ARCHIVE_MAX_MEMBER_NAME + 1];
	snprintf(path, sizeof path, "%.*s", (int)r->plen, r->path);
	int fd = openat(dfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_BINARY);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
			return em_err(e, EM_EINVAL, dir, "'%s' is missing (RECORD lists it)",
				      q(qq, path)), 1;
		return em_err_sys(e, errno, dir, q(qq, path));
	}
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int rc = em_err_sys(e, errno, dir, q(qq, path));
		close(fd);
		return rc;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return em_err(e, EM_EINVAL, dir, "'%s' is not a regular file", q(qq, path)), 1;
	}
	if ((uint64_t)st.st_size != r->size) {
		close(fd);
		return em_err(e, EM_EINVAL, dir, "'%s' is %lld bytes, but the wheel's RECORD says "
			      "%llu", q(qq, path), (long long)st.st_size,
			      (unsigned long long)r->size), 1;
	}
	struct em_sha256 h;
	int rc = em_sha256_init(&h, e);
	if (rc) {
		close(fd);
		return rc;
	}
	for (;;) {
		ssize_t n = read(fd, buf, READ_BUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = em_err_sys(e, errno, dir, q(qq, path));
			em_sha256_abort(&h);
			close(fd);
			return rc;
		}
		if (n == 0)
			break;
		em_sha256_update(&h, buf, (size_t)n);
	}
	close(fd);
	char hex[EM_SHA256_HEX_LEN + 1];
	em_sha256_final(&h, hex);
	unsigned char d[32];
	hex_to_bytes(hex, d);
	if (!memcmp(d, r->digest, 32))
		return 0;
	char want[RECORD_HASH_LEN + 1], got[RECORD_HASH_LEN + 1];
	record_hash(r->digest, want);
	record_hash(d, got);
	return em_err(e, EM_EINVAL, dir, "'%s' was changed: its hash is %s, the wheel's RECORD "
		      "says %s", q(qq, path), got, want), 1;
}

int em_wheel_unpacked_check(const char *dir, struct em_error *e)
{
	char qq[QNAME];
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return em_err_sys(e, errno, dir, "cannot open the unpacked wheel");
	struct em_arena a;
	em_arena_init(&a);
	char *mark, *record, *buf = NULL;
	size_t ml, rl;
	int rc = 0, err = read_at(&a, dfd, EM_UNPACKED_MARK, 4096, &mark, &ml);
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
	if (!end || end == di || (size_t)(end - di) <= DIST_INFO_LEN ||
	    memcmp(end - DIST_INFO_LEN, DIST_INFO, DIST_INFO_LEN) || memchr(di, '/', (size_t)(end - di))) {
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
	if ((err = read_at(&a, dfd, rpath, EM_WHEEL_MAX_RECORD, &record, &rl))) {
		rc = err == ENOENT ? (em_err(e, EM_EINVAL, dir, "'%s' is missing", q(qq, rpath)), 1)
				   : em_err_sys(e, err, dir, q(qq, rpath));
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
		if (t.ents[i].has_hash && !is_record_file(t.ents[i].path, t.ents[i].plen, di, dl))
			rc = check_one(dfd, &t.ents[i], buf, dir, e);
out:
	free(buf);
	close(dfd);
	em_arena_release(&a);
	return rc;
}

/* ==== installing ==== */

/* A file to link: names in the batch's text. */
struct job {
	uint32_t src, dst;
	uint8_t scheme;
};

#define BATCH_JOBS 256
#define BATCH_TEXT (BATCH_JOBS * 192 + 2 * EM_ARCHIVE_MAX_MEMBER_NAME + 2)

struct batch {
	struct inst *in;
	uint32_t n, text_len;
	struct job jobs[BATCH_JOBS];
	char text[BATCH_TEXT];
};

struct folder {
	const char *path;   /* absolute, normalized */
	const char *prefix; /* from the root scheme's folder: "", "../../../bin/" */
	int fd;             /* -1 until used */
	struct em_buf last; /* the folder under it made last */
};

struct entry_point {
	const char *name;
	const char *module;
	const char *attr; /* "obj.attr" */
	bool gui;
};

struct inst {
	const struct em_install_opts *o;
	const char *wheel; /* the file name, for messages */
	struct em_arena *a;
	int srcfd;
	const char *di;
	size_t dl;
	char dd[EM_ARCHIVE_MAX_MEMBER_NAME + 8]; /* NAME-VER.data */
	size_t dn;
	int root;
	struct folder f[S_COUNT];
	struct em_link_state lst;
	/* the new RECORD */
	int recfd;
	char *rec_tmp;
	char *recbuf;
	size_t reclen;
	int rec_err;
	uint64_t rec_bytes;
	/* entry points */
	struct entry_point *eps;
	size_t neps;
	/* counts */
	uint64_t files, bytes;
	uint32_t launchers;
	unsigned used_modes; /* bit per em_link_mode taken (atomic) */
	/* workers */
	unsigned nthreads;
	struct em_pool *pool; /* NULL until a batch needs it */
	int failed;           /* atomic: 1 once a link failed */
	struct em_error werr; /* the first failed link's error (written by the
			       * thread that set failed, read after em_pool_wait) */
};

/* ---- the new RECORD, streamed ---- */

#define RECBUF (64u << 10)

static void rec_flush(struct inst *in)
{
	if (in->reclen && !in->rec_err)
		in->rec_err = em_write_all(in->recfd, in->recbuf, in->reclen);
	in->rec_bytes += in->reclen;
	in->reclen = 0;
}

static void rec_add(struct inst *in, const char *s, size_t n)
{
	while (n) {
		if (in->reclen == RECBUF)
			rec_flush(in);
		size_t k = RECBUF - in->reclen < n ? RECBUF - in->reclen : n;
		memcpy(in->recbuf + in->reclen, s, k);
		in->reclen += k;
		s += k;
		n -= k;
	}
}

/* One CSV field, quoted when Python's csv would quote it. */
static void rec_field(struct inst *in, const char *a, size_t an, const char *b, size_t bn)
{
	bool quote = false;
	for (size_t i = 0; i < an + bn && !quote; i++) {
		char c = i < an ? a[i] : b[i - an];
		quote = c == ',' || c == '"' || c == '\n' || c == '\r';
	}
	if (!quote) {
		rec_add(in, a, an);
		rec_add(in, b, bn);
		return;
	}
	rec_add(in, "\"", 1);
	for (size_t i = 0; i < an + bn; i++) {
		char c = i < an ? a[i] : b[i - an];
		rec_add(in, &c, 1);
		if (c == '"')
			rec_add(in, "\"", 1);
	}
	rec_add(in, "\"", 1);
}

static void rec_row(struct inst *in, int scheme, const char *rel, size_t rn, const char *hash,
		    size_t hn, const char *size, size_t sn)
{
	const char *pre = in->f[scheme].prefix;
	rec_field(in, pre, strlen(pre), rel, rn);
	rec_add(in, ",", 1);
	rec_add(in, hash, hn);
	rec_add(in, ",", 1);
	rec_add(in, size, sn);
	rec_add(in, "\n", 1);
}

/* ---- folders ---- */

/* The path from folder from to folder to, both absolute and normalized,
 * with a '/' at the end ("" when they are the same). */
static char *rel_prefix(struct em_arena *a, const char *from, const char *to)
{
	size_t i = 0, common = 0;
	for (;;) {
		char cf = from[i], ct = to[i];
		if ((cf == '/' || !cf) && (ct == '/' || !ct))
			common = i;
		if (!cf || !ct || cf != ct)
			break;
		i++;
	}
	struct em_buf b = EM_BUF_INIT;
	for (const char *p = from + common; *p; p++)
		if (*p == '/' && p[1])
			em_buf_addstr(&b, "../");
	if (common == 0 && from[1] == '\0') /* from is "/" */
		b.len = 0;
	const char *rest = to + common;
	while (*rest == '/')
		rest++;
	if (*rest) {
		em_buf_addstr(&b, rest);
		em_buf_addc(&b, '/');
	}
	char *out = b.err ? NULL : em_arena_strdup(a, b.ptr);
	em_buf_release(&b);
	return out;
}

static int folder_open(struct inst *in, int s, struct em_error *e)
{
	struct folder *f = &in->f[s];
	if (f->fd >= 0)
		return 0;
	if (!f->path)
		return em_err(e, EM_EUSAGE, in->wheel, "the scheme has no %s folder",
			      scheme_keys[s]);
	/* purelib and platlib are often one folder */
	for (int k = 0; k < S_COUNT; k++) {
		if (k != s && in->f[k].fd >= 0 && in->f[k].path && !strcmp(in->f[k].path, f->path)) {
			f->fd = in->f[k].fd;
			return 0;
		}
	}
	f->fd = open(f->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (f->fd < 0 && errno == ENOENT) {
		int rc = em_mkdir_p(f->path, e);
		if (rc) {
			em_err_prefix_where(e, "%s", in->wheel);
			return rc;
		}
		f->fd = open(f->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (f->fd < 0)
		return sys_err(e, errno, in->wheel, "open the folder", f->path);
	return 0;
}

static int folder_mkdir(struct inst *in, int s, const char *rel, size_t n, struct em_error *e)
{
	const char *slash = NULL;
	for (size_t i = n; i > 0; i--) {
		if (rel[i - 1] == '/') {
			slash = rel + i - 1;
			break;
		}
	}
	if (!slash)
		return 0;
	int err;
	if (ensure_dir(in->f[s].fd, rel, (size_t)(slash - rel), &in->f[s].last, &err)) {
		char nm[EM_ARCHIVE_MAX_MEMBER_NAME + 1];
		snprintf(nm, sizeof nm, "%.*s", (int)(slash - rel), rel);
		return sys_err(e, err, in->wheel, "create the folder", nm);
	}
	return 0;
}

/* ---- linking, in batches, by worker threads ---- */

static void note_error(struct inst *in, const struct em_error *le)
{
	int none = 0;
	if (__atomic_compare_exchange_n(&in->failed, &none, 1, false, __ATOMIC_ACQ_REL,
					__ATOMIC_RELAXED))
		in->werr = *le;
}

static void run_job(struct inst *in, const struct batch *b, const struct job *j)
{
	if (__atomic_load_n(&in->failed, __ATOMIC_RELAXED))
		return;
	const char *src = b->text + j->src, *dst = b->text + j->dst;
	int dfd = in->f[j->scheme].fd;
	struct em_error le = { 0 };
	enum em_link_mode used;
	int rc = em_link_fileat(in->srcfd, src, dfd, dst, in->o->link, &in->lst, &used, &le);
	if (rc && errno == EEXIST) {
		/* another wheel installed this file before: the later one wins,
		 * as with pip */
		if (unlinkat(dfd, dst, 0) == 0 || errno == ENOENT)
			rc = em_link_fileat(in->srcfd, src, dfd, dst, in->o->link, &in->lst,
					    &used, &le);
	}
	if (rc) {
		em_err_prefix_where(&le, "%s", in->wheel);
		note_error(in, &le);
		return;
	}
	__atomic_or_fetch(&in->used_modes, 1u << used, __ATOMIC_RELAXED);
}

/* A task of the pool: job i of a batch. */
static void link_task(void *ctx, size_t i)
{
	struct batch *b = ctx;
	run_job(b->in, b, &b->jobs[i]);
}

/* Hand b to the workers once the batch before it is done (this thread
 * helps with that one meanwhile), or run it here when there are none: a
 * wheel that fills no batch never starts them. */
static void dispatch(struct inst *in, struct batch *b, bool last)
{
	if (!in->pool && in->nthreads >= 1 && !(last && b->n < BATCH_JOBS) &&
	    !em_pool_start(in->nthreads, &in->pool, NULL) && !em_pool_threads(in->pool)) {
		em_pool_stop(in->pool);
		in->pool = NULL;
	}
	em_pool_wait(in->pool, true);
	em_pool_submit(in->pool, link_task, b, b->n);
	if (!in->pool) {
		b->n = 0;
		b->text_len = 0;
	}
}

/* ---- entry points ---- */

static bool word_byte(int c)
{
	return em_is_alnum(c) || c == '_' || c >= 0x80;
}

/* A dotted name of identifier-like words: "pkg.mod", "Cls.method". */
static bool dotted_name(const char *s, size_t n)
{
	if (n == 0 || !em_utf8_valid(s, n))
		return false;
	size_t seg = 0;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == '.') {
			if (seg == 0)
				return false;
			seg = 0;
			continue;
		}
		if (!word_byte(c) || (seg == 0 && em_is_digit(c)))
			return false;
		seg++;
	}
	return seg > 0;
}

/* A launcher's file name: one path segment, printable, and (for Windows)
 * free of the characters Windows or cmd.exe give a meaning. */
static bool launcher_name_ok(const char *s, size_t n, enum em_os os)
{
	if (n == 0 || n > ENTRY_NAME_MAX || !em_utf8_valid(s, n))
		return false;
	if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f || c == '/' || c == '\\')
			return false;
		if (os == EM_OS_WINDOWS && strchr("<>:\"|?*%^&", c))
			return false;
	}
	if (os == EM_OS_WINDOWS && (s[n - 1] == '.' || s[n - 1] == ' '))
		return false;
	return true;
}

static int parse_entry_points(struct inst *in, const char *s, size_t n, struct em_error *e)
{
	char qq[QNAME], q2[QNAME], where[EM_ERROR_WHERE_MAX];
	int section = 0; /* 0 other, 1 console_scripts, 2 gui_scripts */
	unsigned lineno = 0;
	size_t cap = 0;
	for (size_t i = 0; i < n;) {
		const char *nl = memchr(s + i, '\n', n - i);
		size_t end = nl ? (size_t)(nl - s) : n;
		struct em_str line = em_str_make(s + i, end - i);
		i = end + 1;
		lineno++;
		while (line.n && em_is_ascii_space((unsigned char)line.p[line.n - 1]))
			line.n--;
		while (line.n && em_is_ascii_space((unsigned char)line.p[0])) {
			line.p++;
			line.n--;
		}
		if (line.n == 0 || line.p[0] == '#' || line.p[0] == ';')
			continue;
		snprintf(where, sizeof where, "%s: %s/entry_points.txt:%u", in->wheel, in->di,
			 lineno);
		if (line.p[0] == '[') {
			if (line.p[line.n - 1] != ']')
				return em_err(e, EM_EINVAL, where, "invalid section header '%s'",
					      qn(qq, line.p, line.n));
			struct em_str name = em_str_strip(em_str_make(line.p + 1, line.n - 2));
			section = em_str_eq(name.p, name.n, "console_scripts") ? 1
				  : em_str_eq(name.p, name.n, "gui_scripts")   ? 2
									       : 0;
			continue;
		}
		if (!section)
			continue;
		const char *eq = memchr(line.p, '=', line.n);
		if (!eq)
			return em_err(e, EM_EINVAL, where, "expected 'name = object', found '%s'",
				      qn(qq, line.p, line.n));
		struct em_str name = em_str_strip(em_str_make(line.p, (size_t)(eq - line.p)));
		struct em_str val =
			em_str_strip(em_str_make(eq + 1, line.n - (size_t)(eq + 1 - line.p)));
		if (!launcher_name_ok(name.p, name.n, in->o->os))
			return em_err(e, EM_EINVAL, where,
				      "'%s' cannot be the name of a launcher file",
				      qn(qq, name.p, name.n));
		/* module [ws] ':' [ws] attr [ws] ['[' extras ']'] */
		size_t k = 0;
		while (k < val.n && (word_byte((unsigned char)val.p[k]) || val.p[k] == '.'))
			k++;
		struct em_str mod = em_str_make(val.p, k);
		while (k < val.n && em_is_ascii_space((unsigned char)val.p[k]))
			k++;
		struct em_str attr = { NULL, 0 };
		if (k < val.n && val.p[k] == ':') {
			k++;
			while (k < val.n && em_is_ascii_space((unsigned char)val.p[k]))
				k++;
			size_t b = k;
			while (k < val.n &&
			       (word_byte((unsigned char)val.p[k]) || val.p[k] == '.'))
				k++;
			attr = em_str_make(val.p + b, k - b);
			while (k < val.n && em_is_ascii_space((unsigned char)val.p[k]))
				k++;
		}
		if (k < val.n && val.p[k] == '[' && val.p[val.n - 1] == ']')
			k = val.n;
		if (k != val.n || !dotted_name(mod.p, mod.n) ||
		    (attr.p && !dotted_name(attr.p, attr.n)))
			return em_err(e, EM_EINVAL, where,
				      "invalid object reference '%s' for '%s' (expected "
				      "'module:object')",
				      qn(qq, val.p, val.n), qn(q2, name.p, name.n));
		if (!attr.p)
			return em_err(e, EM_EINVAL, where,
				      "entry point '%s' names a module, not a callable ('%s')",
				      qn(qq, name.p, name.n), qn(q2, val.p, val.n));
		for (size_t j = 0; j < in->neps; j++)
			if (em_str_eq(name.p, name.n, in->eps[j].name))
				return em_err(e, EM_EINVAL, where,
					      "entry point '%s' is defined twice",
					      qn(qq, name.p, name.n));
		if (in->neps == EM_WHEEL_MAX_ENTRY_POINTS)
			return em_err(e, EM_ELIMIT, where, "more than %u console and gui scripts",
				      (unsigned)EM_WHEEL_MAX_ENTRY_POINTS);
		if (in->neps == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct entry_point *ne = em_arena_array(in->a, ncap, sizeof *ne);
			if (!ne)
				return em_err_nomem(e);
			if (in->neps)
				memcpy(ne, in->eps, in->neps * sizeof *ne);
			in->eps = ne;
			cap = ncap;
		}
		struct entry_point *ep = &in->eps[in->neps];
		ep->name = em_arena_strndup(in->a, name.p, name.n);
		ep->module = em_arena_strndup(in->a, mod.p, mod.n);
		ep->attr = em_arena_strndup(in->a, attr.p, attr.n);
		ep->gui = section == 2;
		if (!ep->name || !ep->module || !ep->attr)
			return em_err_nomem(e);
		in->neps++;
	}
	return 0;
}

/* A script setuptools made for an entry point (NAME, NAME.exe,
 * NAME-script.py, NAME.pya, as pip recognises them): the launcher takes its
 * place. */
static bool is_entry_point_wrapper(const struct inst *in, const char *base, size_t n)
{
	size_t m = n;
	if (n > 4 && (em_str_ieq(base + n - 4, 4, ".exe") || em_str_ieq(base + n - 4, 4, ".pya")))
		m = n - 4;
	else if (n > 10 && em_str_ieq(base + n - 10, 10, "-script.py"))
		m = n - 10;
	for (size_t i = 0; i < in->neps; i++)
		if (em_str_eq(base, m, in->eps[i].name))
			return true;
	return false;
}

/* ---- generated files ---- */

/* The first line(s) of a script run by python: "#!python" when the path
 * has no space and the line fits the kernel's 127 bytes, else a /bin/sh
 * line that runs python on the file (Python reads the second line as a
 * string). */
static int add_shebang(struct em_buf *b, const char *python, enum em_os os, const char *where,
		       struct em_error *e)
{
	char qq[QNAME];
	size_t n = strlen(python);
	if (n == 0 || memchr(python, '\n', n) || memchr(python, '\r', n))
		return em_err(e, EM_EINVAL, where, "the interpreter path '%s' cannot be a shebang",
			      q(qq, python));
	if (os == EM_OS_WINDOWS || (!strchr(python, ' ') && !strchr(python, '\t') && n + 3 <= 127)) {
		em_buf_addstr(b, "#!");
		em_buf_addstr(b, python);
		em_buf_addc(b, '\n');
		return 0;
	}
	if (strchr(python, '\'') || strchr(python, '\\'))
		return em_err(e, EM_EUNSUPPORTED, where,
			      "the interpreter path '%s' is too long or has a space, and a quote "
			      "or backslash keeps it from a /bin/sh launcher",
			      q(qq, python));
	em_buf_addstr(b, "#!/bin/sh\n'''exec' '");
	em_buf_addstr(b, python);
	em_buf_addstr(b, "' \"$0\" \"$@\"\n' '''\n");
	return 0;
}

/* Write a new file (replacing one that is there) in folder s and add its
 * RECORD row with the hash of data. */
static int write_generated(struct inst *in, int s, const char *rel, const void *data,
			   size_t len, unsigned mode, struct em_error *e)
{
	int dfd = in->f[s].fd;
	int rc = folder_mkdir(in, s, rel, strlen(rel), e);
	if (rc)
		return rc;
	if (unlinkat(dfd, rel, 0) != 0 && errno != ENOENT)
		return sys_err(e, errno, in->wheel, "replace", rel);
	int fd = openat(dfd, rel, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_BINARY, 0600);
	if (fd < 0)
		return sys_err(e, errno, in->wheel, "create", rel);
	int err = em_write_all(fd, data, len);
	if (!err && fchmod(fd, mode) != 0)
		err = errno;
	if (close(fd) != 0 && !err)
		err = errno;
	if (err)
		return sys_err(e, err, in->wheel, "write", rel);
	char hex[EM_SHA256_HEX_LEN + 1], hash[RECORD_HASH_LEN + 1], size[24];
	unsigned char d[32];
	em_sha256_buf(data, len, hex);
	hex_to_bytes(hex, d);
	record_hash(d, hash);
	int sn = snprintf(size, sizeof size, "%zu", len);
	rec_row(in, s, rel, strlen(rel), hash, strlen(hash), size, (size_t)sn);
	in->files++;
	in->bytes += len;
	return 0;
}

static int write_launchers(struct inst *in, struct em_error *e)
{
	if (!in->neps)
		return 0;
	int rc = folder_open(in, S_SCRIPTS, e);
	if (rc)
		return rc;
	struct em_buf b = EM_BUF_INIT, name = EM_BUF_INIT;
	for (size_t i = 0; i < in->neps && !rc; i++) {
		const struct entry_point *ep = &in->eps[i];
		size_t dot = strcspn(ep->attr, ".");
		em_buf_reset(&b);
		em_buf_reset(&name);
		bool win = in->o->os == EM_OS_WINDOWS;
		rc = add_shebang(&b, in->o->python, in->o->os, in->wheel, e);
		if (rc)
			break;
		em_buf_addf(&b,
			    "# -*- coding: utf-8 -*-\n"
			    "# an envmatrix launcher for the %s entry point\n"
			    "import sys\n"
			    "from %s import %.*s\n"
			    "if __name__ == \"__main__\":\n",
			    ep->gui ? "gui_scripts" : "console_scripts", ep->module, (int)dot,
			    ep->attr);
		if (win)
			em_buf_addstr(&b, "    if sys.argv[0].endswith(\"-script.py\"):\n"
					  "        sys.argv[0] = sys.argv[0][:-10]\n");
		em_buf_addf(&b, "    sys.exit(%s())\n", ep->attr);
		em_buf_addstr(&name, ep->name);
		if (win)
			em_buf_addstr(&name, "-script.py");
		if (b.err || name.err) {
			rc = em_err_nomem(e);
			break;
		}
		rc = write_generated(in, S_SCRIPTS, name.ptr, b.ptr, b.len, win ? 0644 : 0755, e);
		if (rc || !win)
			goto next;
		/* Windows: envmatrix has no native .exe launcher yet. NAME.cmd
		 * runs the venv's python.exe (pythonw.exe for GUI scripts) on
		 * NAME-script.py beside it, so the command works from cmd.exe
		 * and PowerShell by name; it cannot be run by CreateProcess
		 * without a shell, and a console window shows for GUI scripts
		 * started from Explorer. */
		em_buf_reset(&b);
		em_buf_addf(&b, "@\"%%~dp0%s\" \"%%~dp0%s-script.py\" %%*\r\n",
			    ep->gui ? "pythonw.exe" : "python.exe", ep->name);
		em_buf_reset(&name);
		em_buf_addstr(&name, ep->name);
		em_buf_addstr(&name, ".cmd");
		if (b.err || name.err) {
			rc = em_err_nomem(e);
			break;
		}
		rc = write_generated(in, S_SCRIPTS, name.ptr, b.ptr, b.len, 0644, e);
	next:
		if (!rc)
			in->launchers++;
	}
	em_buf_release(&b);
	em_buf_release(&name);
	return rc;
}

enum { SCRIPT_DONE = 1, SCRIPT_LINK = 2 };

/* Read what is left of fd into b (whose limit bounds it): 0, or the errno
 * of a failed read; b->err says the limit was reached. */
static int read_rest(int fd, struct em_buf *b)
{
	char chunk[16384];
	for (;;) {
		ssize_t r = read(fd, chunk, sizeof chunk);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return errno;
		if (r == 0 || em_buf_add(b, chunk, (size_t)r))
			return 0;
	}
}

/* A file of .data/scripts: skipped when an entry point's launcher replaces
 * it, copied with the interpreter's shebang when it starts with "#!python",
 * else linked (copied and made executable when it is not). SCRIPT_DONE
 * when it was dealt with here (row and counts included), SCRIPT_LINK when
 * it is to be linked as any other file, or an error. */
static int install_script(struct inst *in, const char *src, const char *rel, size_t rn,
			  struct em_str hash, struct em_str size, uint64_t sz, struct em_error *e)
{
	const char *base = rel;
	for (size_t i = 0; i < rn; i++)
		if (rel[i] == '/')
			base = rel + i + 1;
	if (is_entry_point_wrapper(in, base, (size_t)(rel + rn - base)))
		return SCRIPT_DONE;
	int fd = openat(in->srcfd, src, O_RDONLY | O_CLOEXEC | O_BINARY);
	if (fd < 0)
		return sys_err(e, errno, in->wheel, "open", src);
	char head[8];
	ssize_t got;
	do
		got = pread(fd, head, sizeof head, 0);
	while (got < 0 && errno == EINTR);
	struct stat st;
	if (got < 0 || fstat(fd, &st) != 0) {
		int rc = sys_err(e, errno, in->wheel, "read", src);
		close(fd);
		return rc;
	}
	if (got == 8 && !memcmp(head, "#!python", 8)) {
		/* rewrite: read it whole (scripts are small; bounded anyway) */
		struct em_buf body = EM_BUF_INIT;
		em_buf_init(&body, EM_WHEEL_MAX_RECORD);
		int err = read_rest(fd, &body);
		close(fd);
		if (err || body.err) {
			em_buf_release(&body);
			return err ? sys_err(e, err, in->wheel, "read", src)
				   : em_err(e, EM_ELIMIT, in->wheel, "script '%s' is too large",
					    src);
		}
		const char *nl = memchr(body.ptr, '\n', body.len);
		size_t skip = nl ? (size_t)(nl - body.ptr) + 1 : body.len;
		struct em_buf out = EM_BUF_INIT;
		int rc = add_shebang(&out, in->o->python, in->o->os, in->wheel, e);
		if (!rc) {
			em_buf_add(&out, body.ptr + skip, body.len - skip);
			rc = out.err ? em_err_nomem(e) : 0;
		}
		char rname[EM_ARCHIVE_MAX_MEMBER_NAME + 1];
		snprintf(rname, sizeof rname, "%.*s", (int)rn, rel);
		if (!rc)
			rc = write_generated(in, S_SCRIPTS, rname, out.ptr, out.len, 0755, e);
		em_buf_release(&out);
		em_buf_release(&body);
		return rc ? rc : SCRIPT_DONE;
	}
	close(fd);
	if (!(st.st_mode & 0111)) {
		/* not executable in the wheel: a copy of its own with the bit */
		char rname[EM_ARCHIVE_MAX_MEMBER_NAME + 1];
		snprintf(rname, sizeof rname, "%.*s", (int)rn, rel);
		int rc = folder_mkdir(in, S_SCRIPTS, rname, rn, e);
		if (rc)
			return rc;
		int dfd = in->f[S_SCRIPTS].fd;
		if (unlinkat(dfd, rname, 0) != 0 && errno != ENOENT)
			return sys_err(e, errno, in->wheel, "replace", rname);
		rc = em_link_fileat(in->srcfd, src, dfd, rname, EM_LINK_COPY, NULL, NULL, e);
		if (rc) {
			em_err_prefix_where(e, "%s", in->wheel);
			return rc;
		}
		if (fchmodat(dfd, rname, 0555, 0) != 0)
			return sys_err(e, errno, in->wheel, "set the mode of", rname);
		rec_row(in, S_SCRIPTS, rel, rn, hash.p, hash.n, size.p, size.n);
		in->files++;
		in->bytes += sz;
		return SCRIPT_DONE;
	}
	return SCRIPT_LINK;
}

/* Queue the link of src (in the unpacked tree) to rel in folder s. */
static void queue(struct inst *in, struct batch **bp, struct batch **other, const char *src,
		  size_t sn, int s, const char *rel, size_t rn)
{
	struct batch *b = *bp;
	if (b->n == BATCH_JOBS || b->text_len + sn + rn + 2 > BATCH_TEXT) {
		dispatch(in, b, false);
		if (in->pool) {
			struct batch *t = *bp;
			*bp = *other;
			*other = t;
			b = *bp;
			b->n = 0;
			b->text_len = 0;
		}
	}
	struct job *j = &b->jobs[b->n++];
	j->scheme = (uint8_t)s;
	j->src = b->text_len;
	memcpy(b->text + b->text_len, src, sn);
	b->text[b->text_len + sn] = '\0';
	b->text_len += (uint32_t)sn + 1;
	j->dst = b->text_len;
	memcpy(b->text + b->text_len, rel, rn);
	b->text[b->text_len + rn] = '\0';
	b->text_len += (uint32_t)rn + 1;
}

/* Find the one *.dist-info folder of the unpacked tree. */
static int find_dist_info(struct inst *in, const struct em_wheel_name *w, struct em_error *e)
{
	int fd = dup(in->srcfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return sys_err(e, errno, in->wheel, "read the folder", "unpacked wheel");
	}
	const char *found = NULL;
	int rc = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (n <= DIST_INFO_LEN || strcmp(de->d_name + n - DIST_INFO_LEN, DIST_INFO))
			continue;
		if (found) {
			rc = em_err(e, EM_EINVAL, in->wheel,
				    "the unpacked wheel has more than one .dist-info folder");
			break;
		}
		if (!(found = em_arena_strdup(in->a, de->d_name))) {
			rc = em_err_nomem(e);
			break;
		}
	}
	closedir(d);
	if (rc)
		return rc;
	if (!found)
		return em_err(e, EM_EINVAL, in->wheel, "the unpacked wheel has no .dist-info folder");
	size_t n = strlen(found);
	struct em_arena_mark m = em_arena_mark(in->a);
	bool ok = em_wheel_dist_info_matches(in->a, found, n - DIST_INFO_LEN, w);
	em_arena_rewind(in->a, m);
	if (!ok)
		return em_err(e, EM_EINVAL, in->wheel,
			      "the unpacked wheel's folder '%s' does not match the wheel's name",
			      found);
	in->di = found;
	in->dl = n;
	snprintf(in->dd, sizeof in->dd, "%.*s.data", (int)(n - DIST_INFO_LEN), found);
	in->dn = strlen(in->dd);
	return 0;
}

static int read_small(struct inst *in, const char *rel, size_t max, char **out, size_t *len,
		      struct em_error *e)
{
	int fd = openat(in->srcfd, rel, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return EM_ENOTFOUND;
		return sys_err(e, errno, in->wheel, "open", rel);
	}
	struct em_buf b = EM_BUF_INIT;
	em_buf_init(&b, max);
	int err = read_rest(fd, &b);
	close(fd);
	int rc = 0;
	if (err)
		rc = sys_err(e, err, in->wheel, "read", rel);
	else if (b.err)
		rc = b.err == EM_ELIMIT ? em_err(e, EM_ELIMIT, in->wheel, "'%s' is larger than %zu bytes",
					  rel, max)
				    : em_err_nomem(e);
	else if (!(*out = em_arena_strndup(in->a, b.ptr, b.len)))
		rc = em_err_nomem(e);
	else
		*len = b.len;
	em_buf_release(&b);
	return rc;
}

/* Stream the wheel's RECORD: link or copy every file, write its row. */
static int install_files(struct inst *in, struct batch **bp, struct batch **other,
			 struct em_error *e)
{
	char qq[QNAME];
	char *rpath = em_arena_printf(in->a, "%s/RECORD", in->di);
	char *rwhere = em_arena_printf(in->a, "%s: %s/RECORD", in->wheel, in->di);
	if (!rpath || !rwhere)
		return em_err_nomem(e);
	int fd = openat(in->srcfd, rpath, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return sys_err(e, errno, in->wheel, "open", rpath);
	char *buf = malloc(READ_BUF);
	char *scratch = malloc(READ_BUF);
	if (!buf || !scratch) {
		free(buf);
		free(scratch);
		close(fd);
		return em_err_nomem(e);
	}
	struct csv c = { .fd = fd, .where = rwhere, .buf = buf, .cap = READ_BUF,
			 .next_line = 1, .scratch = scratch };
	int rc = 0;
	uint64_t rows = 0;
	for (;;) {
		rc = csv_next(&c, e);
		if (rc < 0)
			break;
		if (rc == CSV_END) {
			rc = 0;
			break;
		}
		char lw[EM_ERROR_WHERE_MAX + 16];
		if (c.nf != 3) {
			snprintf(lw, sizeof lw, "%s:%u", rwhere, c.line);
			rc = em_err(e, EM_EINVAL, lw, "expected 3 fields, found %zu", c.nf);
			break;
		}
		if (++rows > EM_WHEEL_MAX_FILES) {
			rc = em_err(e, EM_ELIMIT, rwhere, "more than %u rows",
				    (unsigned)EM_WHEEL_MAX_FILES);
			break;
		}
		struct em_str path = c.f[0], hash = c.f[1], size = c.f[2];
		if ((rc = em_archive_check_name(path.p, path.n, e))) {
			snprintf(lw, sizeof lw, "%s:%u", rwhere, c.line);
			em_err_prefix_where(e, "%s", lw);
			break;
		}
		/* the wheel's RECORD (and its signatures, which sign it) and
		 * installer files are replaced by ours */
		if (is_record_file(path.p, path.n, in->di, in->dl))
			continue;
		if (path.n > in->dl && !memcmp(path.p, in->di, in->dl) && path.p[in->dl] == '/' &&
		    (em_str_eq(path.p + in->dl + 1, path.n - in->dl - 1, "INSTALLER") ||
		     em_str_eq(path.p + in->dl + 1, path.n - in->dl - 1, "REQUESTED")))
			continue;
		unsigned char d[32];
		uint64_t sz;
		if (parse_hash(hash, d) != 0 || !em_parse_u64(size.p, size.n, &sz)) {
			snprintf(lw, sizeof lw, "%s:%u", rwhere, c.line);
			rc = em_err(e, EM_EINVAL, lw,
				    "'%s' has no valid hash and size (the unpacked wheel is damaged)",
				    qn(qq, path.p, path.n));
			break;
		}
		int s = in->root;
		const char *rel = path.p;
		size_t rn = path.n;
		rc = data_scheme(path.p, path.n, in->dd, in->dn, &s, &rel, &rn, rwhere, e);
		if (rc < 0)
			break;
		rc = folder_open(in, s, e);
		if (!rc)
			rc = folder_mkdir(in, s, rel, rn, e);
		if (rc)
			break;
		/* path (and rel, its tail) end in NUL in the scratch buffer */
		if (s == S_SCRIPTS) {
			rc = install_script(in, path.p, rel, rn, hash, size, sz, e);
			if (rc < 0)
				break;
			if (rc == SCRIPT_DONE) {
				rc = 0;
				continue;
			}
			rc = 0;
		}
		queue(in, bp, other, path.p, path.n, s, rel, rn);
		rec_row(in, s, rel, rn, hash.p, hash.n, size.p, size.n);
		in->files++;
		in->bytes += sz;
		if (__atomic_load_n(&in->failed, __ATOMIC_ACQUIRE))
			break;
	}
	close(fd);
	free(buf);
	free(scratch);
	return rc;
}

int em_wheel_install(const char *unpacked_dir, const char *wheel_name,
		     const struct em_install_opts *o, struct em_install_result *out,
		     struct em_error *e)
{
	char qq[QNAME];
	struct em_install_result dummy;
	if (!out)
		out = &dummy;
	memset(out, 0, sizeof *out);
	if (!unpacked_dir || !wheel_name || !o || !o->dest || !o->python)
		return em_err(e, EM_EUSAGE, wheel_name, "missing argument to install a wheel");
	if (!o->dest->purelib || !o->dest->platlib || !o->dest->scripts)
		return em_err(e, EM_EUSAGE, wheel_name,
			      "the scheme needs purelib, platlib and scripts folders");
	const char *base = strrchr(wheel_name, '/');
	base = base ? base + 1 : wheel_name;

	struct em_arena a;
	em_arena_init(&a);
	struct inst *in = calloc(1, sizeof *in);
	struct batch *b1 = malloc(sizeof *b1), *b2 = malloc(sizeof *b2);
	char *recbuf = malloc(RECBUF);
	if (!in || !b1 || !b2 || !recbuf) {
		free(in);
		free(b1);
		free(b2);
		free(recbuf);
		return em_err_nomem(e);
	}
	b1->n = b2->n = 0;
	b1->text_len = b2->text_len = 0;
	b1->in = b2->in = in;
	in->o = o;
	in->wheel = base;
	in->a = &a;
	in->recfd = -1;
	in->recbuf = recbuf;
	in->srcfd = -1;
	for (int s = 0; s < S_COUNT; s++) {
		in->f[s].fd = -1;
		in->f[s].last = (struct em_buf)EM_BUF_INIT;
	}
	/* jobs threads link: this one (between filling batches) and
	 * jobs - 1 workers */
	unsigned jobs = o->jobs ? o->jobs : em_pool_cpus();
	in->nthreads = (jobs > 256 ? 256 : jobs) - 1;

	struct em_wheel_name w;
	char *text = NULL;
	size_t len = 0;
	bool purelib = false;
	int rc = em_wheel_name_parse(&a, base, strlen(base), &w, e);
	if (rc) {
		em_err_prefix_where(e, "%s", base);
		goto done;
	}
	in->srcfd = open(unpacked_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (in->srcfd < 0) {
		rc = errno == ENOENT ? em_err(e, EM_ENOTFOUND, base, "no unpacked wheel at '%s'",
					      q(qq, unpacked_dir))
				     : sys_err(e, errno, base, "open", unpacked_dir);
		goto done;
	}
	if (faccessat(in->srcfd, EM_UNPACKED_MARK, F_OK, AT_SYMLINK_NOFOLLOW) != 0) {
		rc = em_err(e, EM_EINVAL, base, "'%s' is not a finished unpacked wheel",
			    q(qq, unpacked_dir));
		goto done;
	}
	if ((rc = find_dist_info(in, &w, e)))
		goto done;

	char *wpath = em_arena_printf(&a, "%s/WHEEL", in->di);
	if (!wpath) {
		rc = em_err_nomem(e);
		goto done;
	}
	rc = read_small(in, wpath, WHEEL_FILE_MAX, &text, &len, e);
	if (rc == EM_ENOTFOUND)
		rc = em_err(e, EM_EINVAL, base, "the wheel has no '%s'", wpath);
	if (!rc) {
		char ww[EM_ERROR_WHERE_MAX];
		snprintf(ww, sizeof ww, "%s: %s", base, wpath);
		rc = parse_wheel_file(text, len, &purelib, ww, e);
	}
	if (rc)
		goto done;
	in->root = purelib ? S_PURELIB : S_PLATLIB;

	char *epath = em_arena_printf(&a, "%s/entry_points.txt", in->di);
	if (!epath) {
		rc = em_err_nomem(e);
		goto done;
	}
	rc = read_small(in, epath, ENTRY_POINTS_MAX, &text, &len, e);
	if (rc == EM_ENOTFOUND)
		rc = 0;
	else if (!rc)
		rc = parse_entry_points(in, text, len, e);
	if (rc)
		goto done;

	/* the folders, and the way from the root folder to each */
	const char *paths[S_COUNT] = { o->dest->purelib, o->dest->platlib, o->dest->headers,
				       o->dest->scripts, o->dest->data };
	if (paths[S_HEADERS] && !(paths[S_HEADERS] = em_arena_printf(&a, "%s/%s", paths[S_HEADERS],
								      w.name_raw))) {
		rc = em_err_nomem(e);
		goto done;
	}
	for (int s = 0; s < S_COUNT; s++)
		if (paths[s] && !(in->f[s].path = em_path_absolute(&a, paths[s]))) {
			rc = em_err_nomem(e);
			goto done;
		}
	for (int s = 0; s < S_COUNT; s++)
		if (in->f[s].path &&
		    !(in->f[s].prefix = rel_prefix(&a, in->f[in->root].path, in->f[s].path))) {
			rc = em_err_nomem(e);
			goto done;
		}
	if ((rc = folder_open(in, in->root, e)))
		goto done;
	int err;
	if (ensure_dir(in->f[in->root].fd, in->di, in->dl, &in->f[in->root].last, &err)) {
		rc = sys_err(e, err, base, "create the folder", in->di);
		goto done;
	}
	in->rec_tmp = em_arena_printf(&a, "%s/RECORD.tmp-%ld", in->di, (long)getpid());
	if (!in->rec_tmp) {
		rc = em_err_nomem(e);
		goto done;
	}
	in->recfd = openat(in->f[in->root].fd, in->rec_tmp,
			   O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_BINARY, 0644);
	if (in->recfd < 0) {
		rc = sys_err(e, errno, base, "create", in->rec_tmp);
		goto done;
	}

	struct batch *cur = b1, *other = b2;
	rc = install_files(in, &cur, &other, e);
	if (!rc && !__atomic_load_n(&in->failed, __ATOMIC_ACQUIRE))
		dispatch(in, cur, true);
	em_pool_wait(in->pool, true); /* what is left, this thread helping */
	if (!rc && __atomic_load_n(&in->failed, __ATOMIC_ACQUIRE)) {
		if (e)
			*e = in->werr;
		rc = in->werr.code ? in->werr.code : EM_EIO;
	}
	if (rc)
		goto done;
	if ((rc = write_launchers(in, e)))
		goto done;

	char *p = em_arena_printf(&a, "%s/INSTALLER", in->di);
	if (!p || (rc = write_generated(in, in->root, p, "envmatrix\n", 10, 0644, e))) {
		rc = rc ? rc : em_err_nomem(e);
		goto done;
	}
	if (o->requested) {
		p = em_arena_printf(&a, "%s/REQUESTED", in->di);
		if (!p || (rc = write_generated(in, in->root, p, "", 0, 0644, e))) {
			rc = rc ? rc : em_err_nomem(e);
			goto done;
		}
	}
	p = em_arena_printf(&a, "%s/RECORD", in->di);
	if (!p) {
		rc = em_err_nomem(e);
		goto done;
	}
	rec_row(in, in->root, p, strlen(p), "", 0, "", 0);
	rec_flush(in);
	err = in->rec_err;
	if (close(in->recfd) != 0 && !err)
		err = errno;
	in->recfd = -1;
	if (!err && renameat(in->f[in->root].fd, in->rec_tmp, in->f[in->root].fd, p) != 0)
		err = errno;
	if (err) {
		rc = sys_err(e, err, base, "write", p);
		goto done;
	}
	in->files++;
	in->bytes += in->rec_bytes;

	out->files = in->files;
	out->bytes = in->bytes;
	out->launchers = in->launchers;
	out->link_used = o->link;
	for (int m = EM_LINK_COPY; m >= EM_LINK_CLONE; m--)
		if (in->used_modes & (1u << m)) {
			out->link_used = (enum em_link_mode)m;
			break;
		}
done:
	em_pool_stop(in->pool);
	if (in->recfd >= 0) {
		close(in->recfd);
		unlinkat(in->f[in->root].fd, in->rec_tmp, 0);
	}
	for (int s = 0; s < S_COUNT; s++) {
		bool shared = false;
		for (int k = 0; k < s; k++)
			shared = shared || (in->f[k].fd >= 0 && in->f[k].fd == in->f[s].fd);
		if (in->f[s].fd >= 0 && !shared)
			close(in->f[s].fd);
		em_buf_release(&in->f[s].last);
	}
	if (in->srcfd >= 0)
		close(in->srcfd);
	free(in);
	free(b1);
	free(b2);
	free(recbuf);
	em_arena_release(&a);
	return rc;
}
