/* record.c - RECORD rows and hashes, the .data schemes, WHEEL (record.h) */
#include "record.h"
#include "os/fs.h"

#include <errno.h>
#include <string.h>

/* ---- RECORD: CSV rows ---- */

void em_record_reader_mem(struct em_record_reader *c, const char *data, size_t len,
			  const char *where, char *scratch)
{
	*c = (struct em_record_reader){ .fd = -1, .where = where, .buf = (char *)data,
					.len = len, .cap = len, .eof = true, .next_line = 1,
					.scratch = scratch };
}

void em_record_reader_fd(struct em_record_reader *c, int fd, char *buf, size_t cap,
			 const char *where, char *scratch)
{
	*c = (struct em_record_reader){ .fd = fd, .where = where, .buf = buf, .cap = cap,
					.next_line = 1, .scratch = scratch };
}

/* csv_parse: the buffer ends inside the row, and more may come */
enum { CSV_MORE = 2 };

/* Parse one row at pos into scratch (each field NUL-terminated there).
 * CSV_MORE when the buffer ends inside it and more may come. */
static int csv_parse(struct em_record_reader *c, size_t *consumed, unsigned *lines,
		     struct em_error *e)
{
	const char *s = c->buf + c->pos, *end = c->buf + c->len;
	size_t i = 0, n = (size_t)(end - s), o = 0;
	unsigned nl = 0;
	c->nf = 0;
#define PUT(ch)                                                                              \
	do {                                                                                 \
		if (o >= EM_RECORD_ROW_MAX)                                                  \
			return em_err(e, EM_ELIMIT, c->where, "line %u is longer than %u bytes", \
				      c->line, (unsigned)EM_RECORD_ROW_MAX);                 \
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
	return EM_RECORD_ROW;
}

int em_record_next(struct em_record_reader *c, struct em_error *e)
{
	for (;;) {
		c->line = c->next_line;
		if (c->pos >= c->len && c->eof)
			return EM_RECORD_END;
		size_t used = 0;
		unsigned lines = 0;
		int r = c->pos < c->len ? csv_parse(c, &used, &lines, e) : CSV_MORE;
		if (r < 0)
			return r;
		if (r == CSV_MORE) {
			if (c->fd < 0 || c->eof) /* cannot happen: parse says MORE only before eof */
				return em_err(e, EM_EINVAL, c->where, "line %u is cut short", c->line);
			if (c->len - c->pos > EM_RECORD_ROW_MAX)
				return em_err(e, EM_ELIMIT, c->where,
					      "line %u is longer than %u bytes", c->line,
					      (unsigned)EM_RECORD_ROW_MAX);
			memmove(c->buf, c->buf + c->pos, c->len - c->pos);
			c->len -= c->pos;
			c->pos = 0;
			ssize_t got;
			do
				got = em_os_read(c->fd, c->buf + c->len, c->cap - c->len);
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
		return EM_RECORD_ROW;
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

int em_record_hash_parse(struct em_str h, unsigned char out[32])
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

void em_record_digest_of_hex(const char *hex, unsigned char out[32])
{
	for (int i = 0; i < 32; i++) {
		int hi = hex[2 * i], lo = hex[2 * i + 1];
		hi = hi <= '9' ? hi - '0' : hi - 'a' + 10;
		lo = lo <= '9' ? lo - '0' : lo - 'a' + 10;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
}

void em_record_hash_format(const unsigned char d[32], char out[EM_RECORD_HASH_LEN + 1])
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

bool em_record_is_record_file(const char *p, size_t n, const char *di, size_t dl)
{
	if (n <= dl + 1 || memcmp(p, di, dl) || p[dl] != '/')
		return false;
	p += dl + 1;
	n -= dl + 1;
	return em_str_eq(p, n, "RECORD") || em_str_eq(p, n, "RECORD.jws") ||
	       em_str_eq(p, n, "RECORD.p7s");
}

const char *const em_scheme_keys[EM_SCHEME_COUNT] = { "purelib", "platlib", "headers", "scripts",
							"data" };

int em_record_data_scheme(const char *p, size_t n, const char *dd, size_t dn, int *scheme,
			  const char **rest, size_t *restlen, const char *where,
			  struct em_error *e)
{
	char qq[EM_QNAME], qd[EM_QNAME], qk[EM_QNAME];
	if (n <= dn || memcmp(p, dd, dn) || p[dn] != '/')
		return 1;
	const char *k = p + dn + 1;
	const char *slash = memchr(k, '/', n - dn - 1);
	if (!slash || slash + 1 == p + n)
		return em_err(e, EM_EINVAL, where,
			      "'%s' is not inside a scheme folder of '%s' (purelib, platlib, "
			      "headers, scripts or data)",
			      em_qname_n(qq, p, n), em_qname_n(qd, dd, dn));
	for (int s = 0; s < EM_SCHEME_COUNT; s++) {
		if (em_str_eq(k, (size_t)(slash - k), em_scheme_keys[s])) {
			*scheme = s;
			*rest = slash + 1;
			*restlen = (size_t)(p + n - slash - 1);
			return 0;
		}
	}
	return em_err(e, EM_EINVAL, where,
		      "'%s' is in an unknown folder '%s' of '%s' (expected purelib, platlib, "
		      "headers, scripts or data)",
		      em_qname_n(qq, p, n), em_qname_n(qk, k, (size_t)(slash - k)),
		      em_qname_n(qd, dd, dn));
}

/* ---- WHEEL ---- */

int em_wheel_file_parse(const char *s, size_t n, bool *purelib, const char *where,
			struct em_error *e)
{
	char qq[EM_QNAME];
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
			      em_qname_n(qq, version.p, version.n));
	if (major != 1)
		return em_err(e, major > 1 ? EM_EUNSUPPORTED : EM_EINVAL, where,
			      "Wheel-Version '%s' is not supported (only 1.x is)",
			      em_qname_n(qq, version.p, version.n));
	return 0;
}
