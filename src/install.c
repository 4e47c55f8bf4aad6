/* install.c - installing an unpacked wheel into an environment by linking
 *
 * Installing (em_wheel_install) streams the unpacked wheel's RECORD - the
 * list of files, already verified - row by row: each file's destination
 * is worked out (the root to purelib or platlib, NAME.data/KEY/ to the
 * scheme's KEY folder), its folder created by this thread, and a job to
 * link it queued. Jobs go in batches to worker threads (o->jobs), which
 * call em_link_at() with open folders, so a file costs one
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
#include "record.h"
#include "util/buf.h"
#include "os/fs.h"
#include "os/pool.h"
#include "util/sha256.h"
#include "util/str.h"
#include "spec/tags.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENTRY_POINTS_MAX (4u << 20)
#define ENTRY_NAME_MAX 255
#define READ_BUF (256u << 10)

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
	struct em_dir *dir; /* NULL until used */
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
	struct em_dir *src; /* the unpacked tree */
	const char *di;
	size_t dl;
	char dd[EM_ARCHIVE_MAX_MEMBER_NAME + 8]; /* NAME-VER.data */
	size_t dn;
	int root;
	struct folder f[EM_SCHEME_COUNT];
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
	struct batch *batch[2];
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
	if (f->dir)
		return 0;
	if (!f->path)
		return em_err(e, EM_EUSAGE, in->wheel, "the scheme has no %s folder",
			      em_scheme_keys[s]);
	/* purelib and platlib are often one folder */
	for (int k = 0; k < EM_SCHEME_COUNT; k++) {
		if (k != s && in->f[k].dir && in->f[k].path && !strcmp(in->f[k].path, f->path)) {
			f->dir = in->f[k].dir;
			return 0;
		}
	}
	f->dir = em_dir_open(f->path, 0);
	if (!f->dir && errno == ENOENT) {
		int rc = em_mkdir_p(f->path, e);
		if (rc) {
			em_err_prefix_where(e, "%s", in->wheel);
			return rc;
		}
		f->dir = em_dir_open(f->path, 0);
	}
	if (!f->dir)
		return em_wheel_sys_err(e, errno, in->wheel, "open the folder", f->path);
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
	if (em_wheel_mkdirs(in->f[s].dir, rel, (size_t)(slash - rel), &in->f[s].last, &err)) {
		char nm[EM_ARCHIVE_MAX_MEMBER_NAME + 1];
		snprintf(nm, sizeof nm, "%.*s", (int)(slash - rel), rel);
		return em_wheel_sys_err(e, err, in->wheel, "create the folder", nm);
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
	struct em_dir *dd = in->f[j->scheme].dir;
	struct em_error le = { 0 };
	enum em_link_mode used;
	int rc = em_link_at(in->src, src, dd, dst, in->o->link, &in->lst, &used, &le);
	if (rc && errno == EEXIST) {
		/* another wheel installed this file before: the later one wins,
		 * as with pip */
		if (em_dir_unlink(dd, dst) == 0 || errno == ENOENT)
			rc = em_link_at(in->src, src, dd, dst, in->o->link, &in->lst, &used, &le);
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
	char qq[EM_QNAME], q2[EM_QNAME], where[EM_ERROR_WHERE_MAX];
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
					      em_qname_n(qq, line.p, line.n));
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
				      em_qname_n(qq, line.p, line.n));
		struct em_str name = em_str_strip(em_str_make(line.p, (size_t)(eq - line.p)));
		struct em_str val =
			em_str_strip(em_str_make(eq + 1, line.n - (size_t)(eq + 1 - line.p)));
		if (!launcher_name_ok(name.p, name.n, in->o->os))
			return em_err(e, EM_EINVAL, where,
				      "'%s' cannot be the name of a launcher file",
				      em_qname_n(qq, name.p, name.n));
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
				      em_qname_n(qq, val.p, val.n), em_qname_n(q2, name.p, name.n));
		if (!attr.p)
			return em_err(e, EM_EINVAL, where,
				      "entry point '%s' names a module, not a callable ('%s')",
				      em_qname_n(qq, name.p, name.n), em_qname_n(q2, val.p, val.n));
		for (size_t j = 0; j < in->neps; j++)
			if (em_str_eq(name.p, name.n, in->eps[j].name))
				return em_err(e, EM_EINVAL, where,
					      "entry point '%s' is defined twice",
					      em_qname_n(qq, name.p, name.n));
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
	char qq[EM_QNAME];
	size_t n = strlen(python);
	if (n == 0 || memchr(python, '\n', n) || memchr(python, '\r', n))
		return em_err(e, EM_EINVAL, where, "the interpreter path '%s' cannot be a shebang",
			      em_qname(qq, python));
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
			      em_qname(qq, python));
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
	struct em_dir *dd = in->f[s].dir;
	int rc = folder_mkdir(in, s, rel, strlen(rel), e);
	if (rc)
		return rc;
	if (em_dir_unlink(dd, rel) != 0 && errno != ENOENT)
		return em_wheel_sys_err(e, errno, in->wheel, "replace", rel);
	int fd = em_dir_open_file(dd, rel, EM_OPEN_WRITE | EM_OPEN_CREATE | EM_OPEN_EXCL, 0600);
	if (fd < 0)
		return em_wheel_sys_err(e, errno, in->wheel, "create", rel);
	int err = em_write_all(fd, data, len);
	if (!err && em_os_fchmod(fd, mode) != 0)
		err = errno;
	if (em_os_close(fd) != 0 && !err)
		err = errno;
	if (err)
		return em_wheel_sys_err(e, err, in->wheel, "write", rel);
	char hex[EM_SHA256_HEX_LEN + 1], hash[EM_RECORD_HASH_LEN + 1], size[24];
	unsigned char d[32];
	em_sha256_buf(data, len, hex);
	em_record_digest_of_hex(hex, d);
	em_record_hash_format(d, hash);
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
	int rc = folder_open(in, EM_SCHEME_SCRIPTS, e);
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
		rc = write_generated(in, EM_SCHEME_SCRIPTS, name.ptr, b.ptr, b.len,
				     win ? 0644 : 0755, e);
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
		rc = write_generated(in, EM_SCHEME_SCRIPTS, name.ptr, b.ptr, b.len, 0644, e);
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
		ssize_t r = em_os_read(fd, chunk, sizeof chunk);
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
	int fd = em_dir_open_file(in->src, src, EM_OPEN_READ, 0);
	if (fd < 0)
		return em_wheel_sys_err(e, errno, in->wheel, "open", src);
	char head[8];
	ssize_t got;
	do
		got = em_os_pread(fd, head, sizeof head, 0);
	while (got < 0 && errno == EINTR);
	struct em_stat st;
	if (got < 0 || em_os_fstat(fd, &st) != 0) {
		int rc = em_wheel_sys_err(e, errno, in->wheel, "read", src);
		em_os_close(fd);
		return rc;
	}
	if (got == 8 && !memcmp(head, "#!python", 8)) {
		/* rewrite: read it whole (scripts are small; bounded anyway) */
		struct em_buf body = EM_BUF_INIT;
		em_buf_init(&body, EM_WHEEL_MAX_RECORD);
		int err = read_rest(fd, &body);
		em_os_close(fd);
		if (err || body.err) {
			em_buf_release(&body);
			return err ? em_wheel_sys_err(e, err, in->wheel, "read", src)
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
			rc = write_generated(in, EM_SCHEME_SCRIPTS, rname, out.ptr, out.len, 0755,
					     e);
		em_buf_release(&out);
		em_buf_release(&body);
		return rc ? rc : SCRIPT_DONE;
	}
	em_os_close(fd);
	if (!(st.mode & 0111)) {
		/* not executable in the wheel: a copy of its own with the bit */
		char rname[EM_ARCHIVE_MAX_MEMBER_NAME + 1];
		snprintf(rname, sizeof rname, "%.*s", (int)rn, rel);
		int rc = folder_mkdir(in, EM_SCHEME_SCRIPTS, rname, rn, e);
		if (rc)
			return rc;
		struct em_dir *dd = in->f[EM_SCHEME_SCRIPTS].dir;
		if (em_dir_unlink(dd, rname) != 0 && errno != ENOENT)
			return em_wheel_sys_err(e, errno, in->wheel, "replace", rname);
		rc = em_link_at(in->src, src, dd, rname, EM_LINK_COPY, NULL, NULL, e);
		if (rc) {
			em_err_prefix_where(e, "%s", in->wheel);
			return rc;
		}
		if (em_dir_chmod(dd, rname, 0555) != 0)
			return em_wheel_sys_err(e, errno, in->wheel, "set the mode of", rname);
		rec_row(in, EM_SCHEME_SCRIPTS, rel, rn, hash.p, hash.n, size.p, size.n);
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
	struct em_dirlist *l = em_dirlist_of(in->src);
	if (!l)
		return em_wheel_sys_err(e, errno, in->wheel, "read the folder", "unpacked wheel");
	const char *found = NULL;
	int rc = 0;
	const char *name;
	while ((name = em_dirlist_next(l))) {
		size_t n = strlen(name);
		if (n <= EM_DIST_INFO_LEN || strcmp(name + n - EM_DIST_INFO_LEN, EM_DIST_INFO))
			continue;
		if (found) {
			rc = em_err(e, EM_EINVAL, in->wheel,
				    "the unpacked wheel has more than one .dist-info folder");
			break;
		}
		if (!(found = em_arena_strdup(in->a, name))) {
			rc = em_err_nomem(e);
			break;
		}
	}
	em_dirlist_close(l);
	if (rc)
		return rc;
	if (!found)
		return em_err(e, EM_EINVAL, in->wheel, "the unpacked wheel has no .dist-info folder");
	size_t n = strlen(found);
	struct em_arena_mark m = em_arena_mark(in->a);
	bool ok = em_wheel_dist_info_matches(in->a, found, n - EM_DIST_INFO_LEN, w);
	em_arena_rewind(in->a, m);
	if (!ok)
		return em_err(e, EM_EINVAL, in->wheel,
			      "the unpacked wheel's folder '%s' does not match the wheel's name",
			      found);
	in->di = found;
	in->dl = n;
	snprintf(in->dd, sizeof in->dd, "%.*s.data", (int)(n - EM_DIST_INFO_LEN), found);
	in->dn = strlen(in->dd);
	return 0;
}

static int read_small(struct inst *in, const char *rel, size_t max, char **out, size_t *len,
		      struct em_error *e)
{
	int fd = em_dir_open_file(in->src, rel, EM_OPEN_READ, 0);
	if (fd < 0) {
		if (errno == ENOENT)
			return EM_ENOTFOUND;
		return em_wheel_sys_err(e, errno, in->wheel, "open", rel);
	}
	struct em_buf b = EM_BUF_INIT;
	em_buf_init(&b, max);
	int err = read_rest(fd, &b);
	em_os_close(fd);
	int rc = 0;
	if (err)
		rc = em_wheel_sys_err(e, err, in->wheel, "read", rel);
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
	char qq[EM_QNAME];
	char *rpath = em_arena_printf(in->a, "%s/RECORD", in->di);
	char *rwhere = em_arena_printf(in->a, "%s: %s/RECORD", in->wheel, in->di);
	if (!rpath || !rwhere)
		return em_err_nomem(e);
	int fd = em_dir_open_file(in->src, rpath, EM_OPEN_READ, 0);
	if (fd < 0)
		return em_wheel_sys_err(e, errno, in->wheel, "open", rpath);
	char *buf = malloc(READ_BUF);
	char *scratch = malloc(READ_BUF);
	if (!buf || !scratch) {
		free(buf);
		free(scratch);
		em_os_close(fd);
		return em_err_nomem(e);
	}
	struct em_record_reader c;
	em_record_reader_fd(&c, fd, buf, READ_BUF, rwhere, scratch);
	int rc = 0;
	uint64_t rows = 0;
	for (;;) {
		rc = em_record_next(&c, e);
		if (rc < 0)
			break;
		if (rc == EM_RECORD_END) {
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
		if (em_record_is_record_file(path.p, path.n, in->di, in->dl))
			continue;
		if (path.n > in->dl && !memcmp(path.p, in->di, in->dl) && path.p[in->dl] == '/' &&
		    (em_str_eq(path.p + in->dl + 1, path.n - in->dl - 1, "INSTALLER") ||
		     em_str_eq(path.p + in->dl + 1, path.n - in->dl - 1, "REQUESTED")))
			continue;
		unsigned char d[32];
		uint64_t sz;
		if (em_record_hash_parse(hash, d) != 0 || !em_parse_u64(size.p, size.n, &sz)) {
			snprintf(lw, sizeof lw, "%s:%u", rwhere, c.line);
			rc = em_err(e, EM_EINVAL, lw,
				    "'%s' has no valid hash and size (the unpacked wheel is damaged)",
				    em_qname_n(qq, path.p, path.n));
			break;
		}
		int s = in->root;
		const char *rel = path.p;
		size_t rn = path.n;
		rc = em_record_data_scheme(path.p, path.n, in->dd, in->dn, &s, &rel, &rn, rwhere,
					   e);
		if (rc < 0)
			break;
		rc = folder_open(in, s, e);
		if (!rc)
			rc = folder_mkdir(in, s, rel, rn, e);
		if (rc)
			break;
		/* path (and rel, its tail) end in NUL in the scratch buffer */
		if (s == EM_SCHEME_SCRIPTS) {
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
	em_os_close(fd);
	free(buf);
	free(scratch);
	return rc;
}

/* Open the unpacked tree; find its dist-info folder, where WHEEL puts the
 * root, and the entry points. */
static int open_unpacked(struct inst *in, const char *unpacked_dir,
			 const struct em_wheel_name *w, struct em_error *e)
{
	char qq[EM_QNAME];
	in->src = em_dir_open(unpacked_dir, 0);
	if (!in->src && errno == ENOENT)
		return em_err(e, EM_ENOTFOUND, in->wheel, "no unpacked wheel at '%s'",
			      em_qname(qq, unpacked_dir));
	if (!in->src)
		return em_wheel_sys_err(e, errno, in->wheel, "open", unpacked_dir);
	struct em_stat st;
	if (em_dir_lstat(in->src, EM_UNPACKED_MARK, &st) != 0)
		return em_err(e, EM_EINVAL, in->wheel, "'%s' is not a finished unpacked wheel",
			      em_qname(qq, unpacked_dir));
	int rc = find_dist_info(in, w, e);
	if (rc)
		return rc;

	char *text = NULL;
	size_t len = 0;
	bool purelib = false;
	char *wpath = em_arena_printf(in->a, "%s/WHEEL", in->di);
	if (!wpath)
		return em_err_nomem(e);
	rc = read_small(in, wpath, EM_WHEEL_FILE_MAX, &text, &len, e);
	if (rc == EM_ENOTFOUND)
		rc = em_err(e, EM_EINVAL, in->wheel, "the wheel has no '%s'", wpath);
	if (!rc) {
		char ww[EM_ERROR_WHERE_MAX];
		snprintf(ww, sizeof ww, "%s: %s", in->wheel, wpath);
		rc = em_wheel_file_parse(text, len, &purelib, ww, e);
	}
	if (rc)
		return rc;
	in->root = purelib ? EM_SCHEME_PURELIB : EM_SCHEME_PLATLIB;

	char *epath = em_arena_printf(in->a, "%s/entry_points.txt", in->di);
	if (!epath)
		return em_err_nomem(e);
	rc = read_small(in, epath, ENTRY_POINTS_MAX, &text, &len, e);
	if (rc == EM_ENOTFOUND)
		return 0;
	return rc ? rc : parse_entry_points(in, text, len, e);
}

/* The scheme's folders and the way from the root folder to each, the
 * dist-info folder, and the new RECORD's temporary file. */
static int open_dest(struct inst *in, const struct em_wheel_name *w, struct em_error *e)
{
	const struct em_scheme *d = in->o->dest;
	const char *paths[EM_SCHEME_COUNT] = { d->purelib, d->platlib, d->headers, d->scripts,
					       d->data };
	const char **hp = &paths[EM_SCHEME_HEADERS];
	if (*hp && !(*hp = em_arena_printf(in->a, "%s/%s", *hp, w->name_raw)))
		return em_err_nomem(e);
	for (int s = 0; s < EM_SCHEME_COUNT; s++)
		if (paths[s] && !(in->f[s].path = em_path_absolute(in->a, paths[s])))
			return em_err_nomem(e);
	for (int s = 0; s < EM_SCHEME_COUNT; s++)
		if (in->f[s].path &&
		    !(in->f[s].prefix = rel_prefix(in->a, in->f[in->root].path, in->f[s].path)))
			return em_err_nomem(e);
	int rc = folder_open(in, in->root, e);
	if (rc)
		return rc;
	int err;
	if (em_wheel_mkdirs(in->f[in->root].dir, in->di, in->dl, &in->f[in->root].last, &err))
		return em_wheel_sys_err(e, err, in->wheel, "create the folder", in->di);
	in->rec_tmp = em_arena_printf(in->a, "%s/RECORD.tmp-%ld", in->di, em_os_pid());
	if (!in->rec_tmp)
		return em_err_nomem(e);
	in->recfd = em_dir_open_file(in->f[in->root].dir, in->rec_tmp,
				     EM_OPEN_WRITE | EM_OPEN_CREATE | EM_OPEN_TRUNC, 0644);
	if (in->recfd < 0)
		return em_wheel_sys_err(e, errno, in->wheel, "create", in->rec_tmp);
	return 0;
}

/* Link every file RECORD lists; the first error of a worker is this
 * thread's. */
static int link_all(struct inst *in, struct em_error *e)
{
	struct batch *cur = in->batch[0], *other = in->batch[1];
	int rc = install_files(in, &cur, &other, e);
	if (!rc && !__atomic_load_n(&in->failed, __ATOMIC_ACQUIRE))
		dispatch(in, cur, true);
	em_pool_wait(in->pool, true); /* what is left, this thread helping */
	if (!rc && __atomic_load_n(&in->failed, __ATOMIC_ACQUIRE)) {
		if (e)
			*e = in->werr;
		rc = in->werr.code ? in->werr.code : EM_EIO;
	}
	return rc;
}

/* What RECORD does not list: the launchers, INSTALLER, REQUESTED, and
 * the new RECORD, renamed into place. */
static int finish_dist_info(struct inst *in, struct em_error *e)
{
	int rc = write_launchers(in, e);
	if (rc)
		return rc;
	char *p = em_arena_printf(in->a, "%s/INSTALLER", in->di);
	if (!p || (rc = write_generated(in, in->root, p, "envmatrix\n", 10, 0644, e)))
		return rc ? rc : em_err_nomem(e);
	if (in->o->requested) {
		p = em_arena_printf(in->a, "%s/REQUESTED", in->di);
		if (!p || (rc = write_generated(in, in->root, p, "", 0, 0644, e)))
			return rc ? rc : em_err_nomem(e);
	}
	p = em_arena_printf(in->a, "%s/RECORD", in->di);
	if (!p)
		return em_err_nomem(e);
	rec_row(in, in->root, p, strlen(p), "", 0, "", 0);
	rec_flush(in);
	int err = in->rec_err;
	if (em_os_close(in->recfd) != 0 && !err)
		err = errno;
	in->recfd = -1;
	struct em_dir *rd = in->f[in->root].dir;
	if (!err && em_dir_rename(rd, in->rec_tmp, rd, p) != 0)
		err = errno;
	if (err)
		return em_wheel_sys_err(e, err, in->wheel, "write", p);
	in->files++;
	in->bytes += in->rec_bytes;
	return 0;
}

static struct inst *inst_new(const struct em_install_opts *o, const char *wheel,
			     struct em_arena *a)
{
	struct inst *in = calloc(1, sizeof *in);
	struct batch *b1 = malloc(sizeof *b1), *b2 = malloc(sizeof *b2);
	char *recbuf = malloc(RECBUF);
	if (!in || !b1 || !b2 || !recbuf) {
		free(in);
		free(b1);
		free(b2);
		free(recbuf);
		return NULL;
	}
	b1->n = b2->n = 0;
	b1->text_len = b2->text_len = 0;
	b1->in = b2->in = in;
	in->batch[0] = b1;
	in->batch[1] = b2;
	in->o = o;
	in->wheel = wheel;
	in->a = a;
	in->recfd = -1;
	in->recbuf = recbuf;
	for (int s = 0; s < EM_SCHEME_COUNT; s++)
		in->f[s].last = (struct em_buf)EM_BUF_INIT;
	/* jobs threads link: this one (between filling batches) and
	 * jobs - 1 workers */
	unsigned jobs = o->jobs ? o->jobs : em_pool_cpus();
	in->nthreads = (jobs > 256 ? 256 : jobs) - 1;
	return in;
}

/* Stop the workers, remove a RECORD left half written, close and free. */
static void inst_free(struct inst *in)
{
	em_pool_stop(in->pool);
	if (in->recfd >= 0) {
		em_os_close(in->recfd);
		/* best effort: a leftover temp file is not the RECORD */
		em_dir_unlink(in->f[in->root].dir, in->rec_tmp);
	}
	for (int s = 0; s < EM_SCHEME_COUNT; s++) {
		bool shared = false;
		for (int k = 0; k < s; k++)
			shared = shared || (in->f[k].dir && in->f[k].dir == in->f[s].dir);
		if (!shared)
			em_dir_close(in->f[s].dir);
		em_buf_release(&in->f[s].last);
	}
	em_dir_close(in->src);
	free(in->batch[0]);
	free(in->batch[1]);
	free(in->recbuf);
	free(in);
}

int em_wheel_install(const char *unpacked_dir, const char *wheel_name,
		     const struct em_install_opts *o, struct em_install_result *out,
		     struct em_error *e)
{
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
	struct inst *in = inst_new(o, base, &a);
	if (!in)
		return em_err_nomem(e);
	struct em_wheel_name w;
	int rc = em_wheel_name_parse(&a, base, strlen(base), &w, e);
	if (rc)
		em_err_prefix_where(e, "%s", base);
	if (!rc)
		rc = open_unpacked(in, unpacked_dir, &w, e);
	if (!rc)
		rc = open_dest(in, &w, e);
	if (!rc)
		rc = link_all(in, e);
	if (!rc)
		rc = finish_dist_info(in, e);
	if (!rc) {
		out->files = in->files;
		out->bytes = in->bytes;
		out->launchers = in->launchers;
		out->link_used = o->link;
		for (int m = EM_LINK_COPY; m >= EM_LINK_CLONE; m--)
			if (in->used_modes & (1u << m)) {
				out->link_used = (enum em_link_mode)m;
				break;
			}
	}
	inst_free(in);
	em_arena_release(&a);
	return rc;
}
