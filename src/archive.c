/* archive.c - reading zip archives (wheels) safely with libarchive
 *
 * Only libarchive's seekable zip reader is enabled: it reads the central
 * directory, as Python's zipfile (and so pip) does, so a file whose local
 * headers disagree with its central directory cannot show one set of
 * members here and another to an installer. A file without a central
 * directory (cut short) is not a zip.
 *
 * Every member name is checked with em_archive_check_name() as it is met,
 * before anything else is done with it, and a bad name fails the whole
 * archive: an archive that holds "../../etc/passwd" is not read at all.
 * A member name that appears twice is an error too, since which copy a
 * reader takes is up to the reader.
 *
 * Sizes are bounded: a member whose declared size is over the caller's
 * maximum fails with EM_ELIMIT before any of it is read or allocated, and
 * one that turns out larger than declared fails as soon as it passes the
 * maximum. Reading a member to its end makes libarchive check its CRC-32.
 *
 * Member names are decoded as UTF-8 whatever the process locale is: the
 * reading thread switches to the C.UTF-8 locale while libarchive runs
 * (uselocale() is per thread), since libarchive converts names to the
 * locale's character set and gives up on non-ASCII names in the C locale.
 */
#include "archive.h"
#include "util/buf.h"
#include "spec/metadata.h"
#include "spec/name.h"
#include "spec/pep440.h"
#include "util/str.h"
#include "spec/tags.h"
#include "os/fs.h"

#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>

/* bytes handed to libarchive per read, and the first allocation for a
 * member's data (it grows as data arrives, never on a declared size) */
#define READ_BLOCK (64u << 10)
#define FIRST_ALLOC (64u << 10)

/* quoted, shortened member names in messages */
#define QNAME 160

static const char *quote(char *dst, size_t size, const char *s, size_t n)
{
	return em_quote(dst, size, s, n);
}

int em_archive_check_name(const char *name, size_t n, struct em_error *e)
{
	char q[QNAME];
	const char *why = NULL;
	if (n == 0)
		return em_err(e, EM_EINVAL, NULL, "empty member name");
	if (n > EM_ARCHIVE_MAX_MEMBER_NAME)
		return em_err(e, EM_ELIMIT, NULL, "member name '%s' is longer than %d bytes",
			      quote(q, sizeof q, name, n), EM_ARCHIVE_MAX_MEMBER_NAME);
	if (memchr(name, '\0', n))
		why = "it holds a NUL byte";
	else if (memchr(name, '\\', n))
		why = "it holds a backslash";
	else if (name[0] == '/')
		why = "it is an absolute path";
	else if (n >= 2 && em_is_alpha((unsigned char)name[0]) && name[1] == ':')
		why = "it starts with a drive letter";
	for (size_t i = 0; !why && i < n;) {
		size_t j = i;
		while (j < n && name[j] != '/')
			j++;
		size_t len = j - i;
		bool dots_spaces = len > 0;
		for (size_t k = i; k < j; k++)
			if (name[k] != '.' && name[k] != ' ')
				dots_spaces = false;
		if (len == 0)
			why = "it has an empty path segment";
		else if (len == 2 && name[i] == '.' && name[i + 1] == '.')
			why = "it has a '..' segment";
		else if (len == 1 && name[i] == '.')
			why = "it has a '.' segment";
		else if (dots_spaces)
			/* Windows drops trailing dots and spaces: ".. " means ".." */
			why = "it has a segment of only dots and spaces";
		if (j + 1 == n)
			break; /* a trailing '/' marks a directory */
		i = j + 1;
	}
	if (why)
		return em_err(e, EM_EINVAL, NULL, "unsafe member name '%s': %s",
			      quote(q, sizeof q, name, n), why);
	return 0;
}

/* ---- opening ---- */

struct zip {
	struct archive *ar;
	const char *where; /* the archive, for messages */
	int fd;            /* -1 when reading from memory */
#if !defined(_WIN32)
	locale_t utf8, saved;
#endif
};

static void zip_close(struct zip *z)
{
	if (z->ar)
		archive_read_free(z->ar);
	z->ar = NULL;
	if (z->fd >= 0)
		em_os_close(z->fd);
	z->fd = -1;
#if !defined(_WIN32)
	if (z->utf8) {
		uselocale(z->saved);
		freelocale(z->utf8);
		z->utf8 = (locale_t)0;
	}
#endif
}

/* libarchive's message, or a generic one */
static const char *ar_msg(struct archive *ar)
{
	const char *m = archive_error_string(ar);
	return m && *m ? m : "unknown error";
}

static int zip_open_as(struct zip *z, const char *path, const void *mem, size_t memlen,
		       const char *where, bool sdist, struct em_error *e)
{
	memset(z, 0, sizeof *z);
	z->fd = -1;
	z->where = where;
#if !defined(_WIN32)
	z->utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	if (z->utf8)
		z->saved = uselocale(z->utf8);
#endif
	if (path) {
		z->fd = em_os_open(path, EM_OPEN_READ, 0);
		if (z->fd < 0) {
			int err = errno;
			zip_close(z);
			if (err == ENOENT)
				return em_err(e, EM_ENOTFOUND, where, "no such file");
			return em_err_sys(e, err, where, "cannot open");
		}
		struct em_stat st;
		if (em_os_fstat(z->fd, &st) == 0 && st.type != EM_FT_FILE) {
			zip_close(z);
			return em_err(e, EM_EINVAL, where, "not a regular file");
		}
	}
	z->ar = archive_read_new();
	if (!z->ar) {
		zip_close(z);
		return em_err_nomem(e);
	}
	int r = archive_read_support_format_zip_seekable(z->ar);
	/* an sdist: a tar (gzip, bzip2, xz or none) or a zip */
	if (sdist && r == ARCHIVE_OK)
		r = archive_read_support_format_tar(z->ar);
	if (sdist && r == ARCHIVE_OK)
		r = archive_read_support_filter_gzip(z->ar);
	if (sdist && r == ARCHIVE_OK)
		r = archive_read_support_filter_bzip2(z->ar);
	if (sdist && r == ARCHIVE_OK)
		r = archive_read_support_filter_xz(z->ar);
	if (r == ARCHIVE_OK)
		r = path ? archive_read_open_fd(z->ar, z->fd, READ_BLOCK)
			 : archive_read_open_memory(z->ar, memlen ? mem : "", memlen);
	if (r != ARCHIVE_OK) {
		int rc = em_err(e, EM_EINVAL, where, "not a readable %s: %s",
				sdist ? "source distribution (tar or zip)" : "zip file",
				ar_msg(z->ar));
		zip_close(z);
		return rc;
	}
	return 0;
}

static int zip_open(struct zip *z, const char *path, const void *mem, size_t memlen,
		    const char *where, struct em_error *e)
{
	return zip_open_as(z, path, mem, memlen, where, false, e);
}

/* one member, as zip_next meets it */
struct member {
	struct archive_entry *ent;
	const char *name; /* checked by em_archive_check_name */
	size_t n;
};

/* The next member: 0 with its entry and checked name, 1 at the end, or an
 * error. */
static int zip_next(struct zip *z, struct member *m, struct em_error *e)
{
	int r = archive_read_next_header(z->ar, &m->ent);
	if (r == ARCHIVE_EOF)
		return 1;
	if (r < ARCHIVE_WARN)
		return em_err(e, EM_EINVAL, z->where, "corrupt zip file: %s", ar_msg(z->ar));
	const char *p = archive_entry_pathname(m->ent);
	if (!p)
		return em_err(e, EM_EINVAL, z->where, "a member name cannot be decoded: %s",
			      ar_msg(z->ar));
	size_t n = strlen(p);
	int rc = em_archive_check_name(p, n, e);
	if (rc) {
		em_err_prefix_where(e, "%s", z->where);
		return rc;
	}
	m->name = p;
	m->n = n;
	return 0;
}

/* Read the current member's data into b (at most max bytes). */
static int zip_read_data(struct zip *z, struct archive_entry *ent, const char *name, size_t max,
			 struct em_buf *b, struct em_error *e)
{
	char q[QNAME];
	quote(q, sizeof q, name, strlen(name));
	if (archive_entry_filetype(ent) != AE_IFREG)
		return em_err(e, EM_EINVAL, z->where, "member '%s' is not a regular file", q);
	if (archive_entry_is_encrypted(ent))
		return em_err(e, EM_EUNSUPPORTED, z->where, "member '%s' is encrypted", q);
	if (archive_entry_size_is_set(ent)) {
		int64_t declared = archive_entry_size(ent);
		if (declared < 0 || (uint64_t)declared > max)
			return em_err(e, EM_ELIMIT, z->where,
				      "member '%s' is larger than %zu bytes (it declares %lld)", q,
				      max, (long long)declared);
		size_t first = (size_t)declared < FIRST_ALLOC ? (size_t)declared : FIRST_ALLOC;
		if (em_buf_grow(b, first))
			return em_err_nomem(e);
	}
	char block[READ_BLOCK];
	for (;;) {
		la_ssize_t got = archive_read_data(z->ar, block, sizeof block);
		if (got == 0)
			break;
		if (got < 0)
			return em_err(e, EM_EINVAL, z->where, "cannot read member '%s': %s", q,
				      ar_msg(z->ar));
		if ((size_t)got > max - b->len)
			return em_err(e, EM_ELIMIT, z->where, "member '%s' is larger than %zu bytes",
				      q, max);
		if (em_buf_add(b, block, (size_t)got))
			return b->err == EM_ELIMIT
				       ? em_err(e, EM_ELIMIT, z->where, "member '%s' is too large", q)
				       : em_err_nomem(e);
	}
	return 0;
}

static int to_arena(struct em_arena *a, struct em_buf *b, char **out, size_t *len,
		    struct em_error *e)
{
	char *p = em_arena_alloc(a, b->len + 1);
	if (!p)
		return em_err_nomem(e);
	memcpy(p, b->ptr, b->len);
	p[b->len] = '\0';
	*out = p;
	*len = b->len;
	return 0;
}

static int read_member(struct em_arena *a, const char *path, const void *mem, size_t memlen,
		       const char *where, const char *member, size_t max, char **out,
		       size_t *len, struct em_error *e)
{
	char q[QNAME];
	*out = NULL;
	*len = 0;
	if (!member)
		return em_err(e, EM_EUSAGE, where, "no member name given");
	struct zip z;
	int rc = zip_open(&z, path, mem, memlen, where, e);
	if (rc)
		return rc;
	struct em_buf b = EM_BUF_INIT;
	bool found = false;
	struct member m;
	while (!(rc = zip_next(&z, &m, e))) {
		if (strcmp(m.name, member))
			continue;
		if (found) {
			rc = em_err(e, EM_EINVAL, where, "member '%s' appears more than once",
				    quote(q, sizeof q, m.name, m.n));
			break;
		}
		found = true;
		rc = zip_read_data(&z, m.ent, m.name, max, &b, e);
		if (rc)
			break;
	}
	if (rc == 1) {
		rc = found ? to_arena(a, &b, out, len, e)
			   : em_err(e, EM_ENOTFOUND, where, "no member '%s'",
				    quote(q, sizeof q, member, strlen(member)));
	}
	em_buf_release(&b);
	zip_close(&z);
	return rc;
}

int em_zip_read_member(struct em_arena *a, const char *path, const char *member, size_t max,
		       char **out, size_t *len, struct em_error *e)
{
	return read_member(a, path, NULL, 0, path, member, max, out, len, e);
}

int em_zip_read_member_mem(struct em_arena *a, const void *zip, size_t ziplen, const char *where,
			   const char *member, size_t max, char **out, size_t *len,
			   struct em_error *e)
{
	return read_member(a, NULL, zip, ziplen, where ? where : "zip", member, max, out, len, e);
}

/* ---- sdists ---- */

#define SDIST_MAX_MEMBERS (1u << 20)

int em_sdist_read_pkg_info(struct em_arena *a, const char *path, const char *where, char **out,
			   size_t *len, struct em_error *e)
{
	char q[QNAME];
	*out = NULL;
	*len = 0;
	if (!where)
		where = path;
	struct zip z;
	int rc = zip_open_as(&z, path, NULL, 0, where, true, e);
	if (rc)
		return rc;
	struct em_buf b = EM_BUF_INIT;
	char *found = NULL;
	uint32_t nmembers = 0;
	struct member m;
	/* every name is checked (zip_next), whether it is read or not */
	while (!(rc = zip_next(&z, &m, e))) {
		if (++nmembers > SDIST_MAX_MEMBERS) {
			rc = em_err(e, EM_ELIMIT, where, "more than %u members", SDIST_MAX_MEMBERS);
			break;
		}
		/* TOP/PKG-INFO: one folder deep, nothing else */
		const char *slash = memchr(m.name, '/', m.n);
		if (!slash || slash == m.name || strcmp(slash + 1, "PKG-INFO"))
			continue;
		if (found) {
			rc = em_err(e, EM_EINVAL, where, "more than one PKG-INFO at the top ('%s' "
				    "and '%s')", found, quote(q, sizeof q, m.name, m.n));
			break;
		}
		found = em_arena_strndup(a, m.name, m.n);
		if (!found) {
			rc = em_err_nomem(e);
			break;
		}
		if (archive_entry_hardlink(m.ent) || archive_entry_symlink(m.ent)) {
			rc = em_err(e, EM_EINVAL, where, "member '%s' is a link",
				    quote(q, sizeof q, m.name, m.n));
			break;
		}
		rc = zip_read_data(&z, m.ent, m.name, EM_METADATA_MAX_LEN, &b, e);
		if (rc)
			break;
	}
	if (rc == 1) {
		rc = found ? to_arena(a, &b, out, len, e)
			   : em_err(e, EM_ENOTFOUND, where,
				    "no PKG-INFO in the source distribution's top folder");
	}
	em_buf_release(&b);
	zip_close(&z);
	return rc;
}

/* ---- wheels ---- */

/* Does the folder "<stem>.dist-info" belong to the wheel: some '-' splits
 * stem into a name equal to the wheel's after PEP 503 normalisation and a
 * version equal to the wheel's? */
static bool dist_info_matches(struct em_arena *tmp, const char *stem, size_t n,
			      const struct em_wheel_name *w)
{
	for (size_t i = 0; i < n; i++) {
		if (stem[i] != '-')
			continue;
		if (!em_name_eq(stem, i, w->name, strlen(w->name)))
			continue;
		struct em_version v;
		struct em_arena_mark m = em_arena_mark(tmp);
		bool same = em_version_parse(tmp, stem + i + 1, n - i - 1, &v, NULL) == 0 &&
			    em_version_cmp(&v, &w->version) == 0;
		em_arena_rewind(tmp, m);
		if (same)
			return true;
	}
	return false;
}

#define DIST_INFO ".dist-info"
#define DIST_INFO_LEN (sizeof DIST_INFO - 1)

size_t em_wheel_dist_info_prefix(const char *name, size_t n)
{
	const char *slash = memchr(name, '/', n);
	if (!slash)
		return 0;
	size_t seg = (size_t)(slash - name);
	if (seg <= DIST_INFO_LEN || memcmp(slash - DIST_INFO_LEN, DIST_INFO, DIST_INFO_LEN))
		return 0;
	return seg;
}

int em_wheel_name_of_path(struct em_arena *a, const char *path, struct em_wheel_name *w,
			  struct em_error *e)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	return em_wheel_name_parse(a, base, strlen(base), w, e);
}

static int read_metadata(struct em_arena *a, const char *path, const void *mem, size_t memlen,
			 const char *wheel, char **out, size_t *len, struct em_error *e)
{
	char q[QNAME], q2[QNAME];
	*out = NULL;
	*len = 0;
	if (!wheel)
		return em_err(e, EM_EUSAGE, NULL, "no wheel file name given");
	const char *where = wheel;
	struct em_arena tmp;
	em_arena_init(&tmp);
	struct em_wheel_name w;
	int rc = em_wheel_name_of_path(&tmp, wheel, &w, e);
	if (rc) {
		em_arena_release(&tmp);
		return rc;
	}
	struct zip z;
	rc = zip_open(&z, path, mem, memlen, where, e);
	if (rc) {
		em_arena_release(&tmp);
		return rc;
	}
	/* the distinct top-level .dist-info folders (three are enough to say
	 * "more than one") */
	const char *folder[3] = { NULL, NULL, NULL };
	size_t nfolders = 0;
	const char *found = NULL; /* the METADATA member read */
	struct em_buf b = EM_BUF_INIT;
	struct member m;
	while (!(rc = zip_next(&z, &m, e))) {
		size_t seg = em_wheel_dist_info_prefix(m.name, m.n);
		if (!seg)
			continue;
		const char *slash = m.name + seg;
		size_t k = 0;
		while (k < nfolders && !em_str_eq(m.name, seg, folder[k]))
			k++;
		if (k == nfolders && nfolders < 3) {
			if (!(folder[k] = em_arena_strndup(&tmp, m.name, seg))) {
				rc = em_err_nomem(e);
				break;
			}
			nfolders++;
		}
		if (strcmp(slash + 1, "METADATA") ||
		    !dist_info_matches(&tmp, m.name, seg - DIST_INFO_LEN, &w))
			continue;
		if (found && strcmp(m.name, found)) /* another folder: reported below */
			continue;
		if (found) {
			rc = em_err(e, EM_EINVAL, where, "member '%s' appears more than once",
				    quote(q, sizeof q, m.name, m.n));
			break;
		}
		if (!(found = em_arena_strndup(&tmp, m.name, m.n))) {
			rc = em_err_nomem(e);
			break;
		}
		rc = zip_read_data(&z, m.ent, m.name, EM_METADATA_MAX_LEN, &b, e);
		if (rc)
			break;
	}
	if (rc == 1) {
		if (nfolders == 0)
			rc = em_err(e, EM_EINVAL, where, "the wheel has no .dist-info folder");
		else if (nfolders > 1)
			rc = em_err(e, EM_EINVAL, where,
				    "the wheel has more than one .dist-info folder ('%s', '%s'%s)",
				    quote(q, sizeof q, folder[0], strlen(folder[0])),
				    quote(q2, sizeof q2, folder[1], strlen(folder[1])),
				    nfolders > 2 ? ", ..." : "");
		else if (!dist_info_matches(&tmp, folder[0], strlen(folder[0]) - DIST_INFO_LEN, &w))
			rc = em_err(e, EM_EINVAL, where,
				    "the wheel's .dist-info folder '%s' does not match its name "
				    "'%s' and version '%s'",
				    quote(q, sizeof q, folder[0], strlen(folder[0])), w.name,
				    w.version.str);
		else if (!found)
			rc = em_err(e, EM_EINVAL, where, "the wheel has no member '%s/METADATA'",
				    quote(q, sizeof q, folder[0], strlen(folder[0])));
		else
			rc = to_arena(a, &b, out, len, e);
	}
	em_buf_release(&b);
	zip_close(&z);
	em_arena_release(&tmp);
	return rc;
}

int em_wheel_read_metadata(struct em_arena *a, const char *wheel_path, char **out, size_t *len,
			   struct em_error *e)
{
	return read_metadata(a, wheel_path, NULL, 0, wheel_path, out, len, e);
}

int em_wheel_read_metadata_mem(struct em_arena *a, const void *zip, size_t ziplen,
			       const char *wheel_name, char **out, size_t *len, struct em_error *e)
{
	return read_metadata(a, NULL, zip, ziplen, wheel_name, out, len, e);
}

bool em_wheel_dist_info_matches(struct em_arena *tmp, const char *stem, size_t n,
				const struct em_wheel_name *w)
{
	return dist_info_matches(tmp, stem, n, w);
}

/* ---- streaming ---- */

struct em_zip_reader {
	struct zip z;
	struct archive_entry *ent; /* the current member, NULL before the first */
	const char *name;
	bool data_done;
};

static int reader_open(const char *path, const void *mem, size_t memlen, const char *where,
		       struct em_zip_reader **out, struct em_error *e)
{
	*out = NULL;
	struct em_zip_reader *r = calloc(1, sizeof *r);
	if (!r)
		return em_err_nomem(e);
	int rc = zip_open(&r->z, path, mem, memlen, where, e);
	if (rc) {
		free(r);
		return rc;
	}
	*out = r;
	return 0;
}

int em_zip_open(const char *path, const char *where, struct em_zip_reader **out,
		struct em_error *e)
{
	if (!path) {
		*out = NULL;
		return em_err(e, EM_EUSAGE, where, "no zip file given");
	}
	return reader_open(path, NULL, 0, where ? where : path, out, e);
}

int em_zip_open_mem(const void *zip, size_t ziplen, const char *where,
		    struct em_zip_reader **out, struct em_error *e)
{
	return reader_open(NULL, zip, ziplen, where ? where : "zip", out, e);
}

int em_zip_next(struct em_zip_reader *r, struct em_zip_member *m, struct em_error *e)
{
	memset(m, 0, sizeof *m);
	r->ent = NULL;
	r->name = NULL;
	struct member cur;
	int rc = zip_next(&r->z, &cur, e);
	if (rc)
		return rc;
	struct archive_entry *ent = cur.ent;
	r->ent = ent;
	r->name = cur.name;
	r->data_done = false;
	m->name = cur.name;
	m->namelen = cur.n;
	switch (archive_entry_filetype(ent)) {
	case AE_IFREG:
		m->type = EM_ZIP_FILE;
		break;
	case AE_IFDIR:
		m->type = EM_ZIP_DIR;
		break;
	case AE_IFLNK:
		m->type = EM_ZIP_SYMLINK;
		break;
	default:
		m->type = EM_ZIP_OTHER;
		break;
	}
	m->mode = (unsigned)archive_entry_perm(ent) & 07777;
	m->encrypted = archive_entry_is_encrypted(ent) != 0;
	if (archive_entry_size_is_set(ent) && archive_entry_size(ent) >= 0) {
		m->size_known = true;
		m->size = (uint64_t)archive_entry_size(ent);
	}
	return 0;
}

int64_t em_zip_read(struct em_zip_reader *r, void *buf, size_t n, struct em_error *e)
{
	char q[QNAME];
	if (!r->ent)
		return em_err(e, EM_EUSAGE, r->z.where, "no current member");
	if (r->data_done || n == 0)
		return 0;
	quote(q, sizeof q, r->name, strlen(r->name));
	if (archive_entry_is_encrypted(r->ent))
		return em_err(e, EM_EUNSUPPORTED, r->z.where, "member '%s' is encrypted", q);
	la_ssize_t got = archive_read_data(r->z.ar, buf, n);
	if (got < 0)
		return em_err(e, EM_EINVAL, r->z.where, "cannot read member '%s': %s", q,
			      ar_msg(r->z.ar));
	if (got == 0)
		r->data_done = true;
	return (int64_t)got;
}

void em_zip_close(struct em_zip_reader *r)
{
	if (!r)
		return;
	zip_close(&r->z);
	free(r);
}

/* ---- unpacking into a tree ---- */

int em_archive_make_parents(const char *root, const char *rel, const char *where,
			    struct em_error *e)
{
	char path[PATH_MAX];
	size_t rl = strlen(root);
	if (rl + 1 + strlen(rel) >= sizeof path)
		return em_err(e, EM_ELIMIT, where, "member '%s': path too long", rel);
	memcpy(path, root, rl);
	path[rl] = '/';
	strcpy(path + rl + 1, rel);
	for (char *s = path + rl + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		struct em_stat st;
		if (em_os_lstat(path, &st) == 0) {
			if (st.type != EM_FT_DIR) {
				*s = '/';
				return em_err(e, EM_EINVAL, where,
					      "member '%s' goes through '%s', which is not a folder",
					      rel, path + rl + 1);
			}
		} else if (em_os_mkdir(path, 0755) && errno != EEXIST) {
			int err = errno;
			*s = '/';
			return em_err_sys(e, err, where, "cannot create a folder");
		}
		*s = '/';
	}
	return 0;
}

bool em_archive_link_inside(const char *rel, const char *target)
{
	if (!*target || target[0] == '/' || strchr(target, '\\') ||
	    (em_is_alpha((unsigned char)target[0]) && target[1] == ':'))
		return false;
	int depth = 0;
	for (const char *s = rel; (s = strchr(s, '/')); s++)
		depth++;
	for (const char *p = target; *p;) {
		const char *sl = strchr(p, '/');
		size_t n = sl ? (size_t)(sl - p) : strlen(p);
		if (n == 2 && !memcmp(p, "..", 2)) {
			if (--depth < 0)
				return false;
		} else if (n && !(n == 1 && p[0] == '.')) {
			depth++;
		}
		p += n;
		if (*p == '/')
			p++;
	}
	return true;
}
