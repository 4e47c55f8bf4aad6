/* record.h - the files of a wheel's .dist-info folder that unpacking and
 * installing read: RECORD (CSV rows of path, hash and size) and WHEEL
 *
 * One RECORD reader serves every caller: unpack.c checks a wheel's RECORD
 * strictly into a table, install.c streams an unpacked wheel's RECORD row
 * by row, verify.c takes the import names from an installed one. The
 * reader only splits rows into fields; what a field must hold is the
 * caller's rule (em_record_hash_parse and em_record_data_scheme are the
 * checks of the wheel format).
 */
#ifndef ENVMATRIX_RECORD_H
#define ENVMATRIX_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "archive.h"
#include "envmatrix/error.h"
#include "util/str.h"

/* Names in messages: quoted (em_quote) into a buffer of EM_QNAME bytes. */
#define EM_QNAME 300
static inline const char *em_qname_n(char *dst, const char *s, size_t n)
{
	return em_quote(dst, EM_QNAME, s, n);
}
static inline const char *em_qname(char *dst, const char *s)
{
	return em_qname_n(dst, s, strlen(s));
}

#define EM_DIST_INFO ".dist-info"
#define EM_DIST_INFO_LEN (sizeof EM_DIST_INFO - 1)
#define EM_WHEEL_FILE_MAX (1u << 20) /* bytes of WHEEL */

/* ---- RECORD: CSV rows ---- */

/* A row's unquoted fields are at most this long together: three fields,
 * the path at most a member name (quoting may double it). */
#define EM_RECORD_ROW_MAX (4 * EM_ARCHIVE_MAX_MEMBER_NAME + 512)

/* A reader of CSV rows (Python's csv module with its default dialect:
 * ',' between fields, '"' quoting with "" inside, \n, \r\n or \r line
 * ends, quoted fields may hold them) over a buffer that is either the
 * whole data or refilled from fd. Set it up with em_record_reader_mem or
 * em_record_reader_fd; after each row, nf and f[] describe it. */
struct em_record_reader {
	int fd;           /* -1: buf holds everything */
	const char *where;
	char *buf;
	size_t len, pos, cap;
	bool eof;
	unsigned line;    /* the line the current row starts on */
	unsigned next_line;
	char *scratch;    /* unquoted fields, EM_RECORD_ROW_MAX bytes */
	size_t nf;        /* fields in the row (only the first 4 are in f) */
	struct em_str f[4]; /* each NUL-terminated in scratch */
};

enum { EM_RECORD_ROW = 0, EM_RECORD_END = 1 };

/* Read rows of data (len bytes; it is not written to). where names it in
 * errors; scratch holds EM_RECORD_ROW_MAX bytes. */
void em_record_reader_mem(struct em_record_reader *c, const char *data, size_t len,
			  const char *where, char *scratch);
/* Read rows from fd through buf (cap bytes, more than EM_RECORD_ROW_MAX). */
void em_record_reader_fd(struct em_record_reader *c, int fd, char *buf, size_t cap,
			 const char *where, char *scratch);

/* The next row that is not blank: EM_RECORD_ROW, EM_RECORD_END, or an
 * error naming where and the line (a quoted field not closed, a row longer
 * than EM_RECORD_ROW_MAX, a read error). */
EM_MUST_USE
int em_record_next(struct em_record_reader *c, struct em_error *e);

/* ---- RECORD: hashes ---- */

/* "sha256=<43 characters of urlsafe base64, '=' padding allowed>" to 32
 * bytes; 1 when the field is empty; -1 when it is not such a hash; -2 for
 * another algorithm. */
EM_MUST_USE
int em_record_hash_parse(struct em_str h, unsigned char out[32]);

/* A digest as em_sha256 writes it (64 lower-case hex digits) to 32 bytes. */
void em_record_digest_of_hex(const char *hex, unsigned char out[32]);

/* "sha256=" and the urlsafe base64 of digest, no padding (50 bytes + NUL) */
#define EM_RECORD_HASH_LEN 50
void em_record_hash_format(const unsigned char d[32], char out[EM_RECORD_HASH_LEN + 1]);

/* RECORD, RECORD.jws and RECORD.p7s of the dist-info folder di (dl
 * bytes): rows that may go without a hash (and members RECORD need not
 * list) */
bool em_record_is_record_file(const char *p, size_t n, const char *di, size_t dl);

/* ---- the .data folder's schemes ---- */

enum {
	EM_SCHEME_PURELIB,
	EM_SCHEME_PLATLIB,
	EM_SCHEME_HEADERS,
	EM_SCHEME_SCRIPTS,
	EM_SCHEME_DATA,
	EM_SCHEME_COUNT
};
/* "purelib", "platlib", "headers", "scripts", "data" */
extern const char *const em_scheme_keys[EM_SCHEME_COUNT];

/* For a path p (n bytes) under the data folder (dd, dn bytes,
 * "NAME-VER.data"): 0, the scheme and the path inside it; 1 when the path
 * is not in the data folder; an error (naming where) when it is in no
 * known scheme folder. */
EM_MUST_USE
int em_record_data_scheme(const char *p, size_t n, const char *dd, size_t dn, int *scheme,
			  const char **rest, size_t *restlen, const char *where,
			  struct em_error *e);

/* ---- WHEEL ---- */

/* Check WHEEL's Wheel-Version (1.x) and read Root-Is-Purelib. */
EM_MUST_USE
int em_wheel_file_parse(const char *s, size_t n, bool *purelib, const char *where,
			struct em_error *e);

#endif
