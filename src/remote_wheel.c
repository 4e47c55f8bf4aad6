/* remote_wheel.c - a remote wheel's METADATA with HTTP range requests
 *
 * A wheel is a zip, whose directory is at its end. Three small requests
 * read one member of a wheel of any size: the last 64 KiB (the end of
 * central directory record, and usually the whole directory), the central
 * directory when it starts before that, then the member's local header and
 * data. The member is then wrapped in a one-member zip in memory and read
 * by the same code that reads local wheels (archive.h), so its name, CRC-32
 * and size are checked exactly as for a downloaded wheel. Planning torch
 * this way costs about 100 KiB instead of 2.5 GB.
 */
#include "archive.h"
#include "http.h"
#include "spec/index.h"
#include "spec/metadata.h"

#include <stdlib.h>
#include <string.h>

#define TAIL (64u << 10)
#define MAX_CD ((uint64_t)64 << 20)

#define SIG_EOCD 0x06054b50u
#define SIG_EOCD64 0x06064b50u
#define SIG_LOC64 0x07064b50u
#define SIG_CEN 0x02014b50u
#define SIG_LOC 0x04034b50u


static uint16_t le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static void put16(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static void put32(unsigned char *p, uint32_t v)
{
	put16(p, v & 0xffff);
	put16(p + 2, v >> 16);
}

struct ctx {
	struct em_http *h;
	struct em_arena *a;
	const char *url;
	const char *shown;
	const char *filename;
	int64_t total;
	const unsigned char *tail; /* the last tlen bytes, from tail_at */
	size_t tlen;
	int64_t tail_at;
};

/* The METADATA member, as its central directory entry describes it. */
struct member {
	const unsigned char *cen; /* the entry */
	uint32_t flags, method, crc;
	uint64_t csize, usize, lho;
	size_t nl, xl;
	const unsigned char *name;
	const unsigned char *data; /* its csize compressed bytes */
};

/* Bytes from..to (inclusive) of the wheel. EM_EUNSUPPORTED when the server
 * does not answer ranges. */
static int range(struct ctx *c, int64_t from, int64_t to, const unsigned char **p,
		 struct em_error *e)
{
	struct em_http_get g = { 0 };
	g.url = c->url;
	g.range_from = from;
	g.range_to = to;
	g.max = (size_t)(to - from + 1);
	int rc = em_http_fetch(c->h, c->a, &g, e);
	if (rc == EM_ELIMIT)
		return em_err(e, EM_EUNSUPPORTED, c->shown, "the server does not answer ranges");
	if (rc)
		return rc;
	if (g.status == 401 || g.status == 403 || g.status == 404 || g.status == 410)
		return em_http_status_err(e, c->shown, "file", g.status);
	if (g.status != 206 || (int64_t)g.len != to - from + 1)
		return em_err(e, EM_EUNSUPPORTED, c->shown, "the server does not answer ranges "
			      "(HTTP %ld)", g.status);
	*p = (const unsigned char *)g.body;
	return 0;
}

static int corrupt(struct ctx *c, struct em_error *e, const char *what)
{
	return em_err(e, EM_EINVAL, c->shown, "'%s' is not a valid zip: %s", c->filename, what);
}

static bool is_metadata_name(const unsigned char *name, size_t n, size_t *stem)
{
	static const char suffix[] = ".dist-info/METADATA";
	size_t k = sizeof suffix - 1;
	if (n <= k || memcmp(name + n - k, suffix, k))
		return false;
	if (memchr(name, '/', n - k))
		return false;
	*stem = n - k;
	return true;
}

/* The tail: the last TAIL bytes, the whole file when it is smaller
 * (status 200). */
static int fetch_tail(struct ctx *c, struct em_http_get *g, struct em_error *e)
{
	g->url = c->url;
	g->range_from = -1;
	g->range_to = TAIL;
	g->max = TAIL;
	int rc = em_http_fetch(c->h, c->a, g, e);
	if (rc == EM_ELIMIT)
		return em_err(e, EM_EUNSUPPORTED, c->shown, "the server does not answer ranges");
	if (rc)
		return rc;
	if (g->status == 401 || g->status == 403 || g->status == 404 || g->status == 410)
		return em_http_status_err(e, c->shown, "file", g->status);
	return 0;
}

/* The central directory, from the end of central directory record (zip64's
 * when there is one): in the tail, else read. */
static int central_directory(struct ctx *c, const unsigned char **cd, uint64_t *cd_size,
			     uint64_t *entries, struct em_error *e)
{
	const unsigned char *tail = c->tail;
	size_t tlen = c->tlen;
	int rc;
	size_t eocd = (size_t)-1;
	for (size_t i = tlen - 22 + 1; i-- > 0;) {
		if (le32(tail + i) == SIG_EOCD && i + 22 + le16(tail + i + 20) <= tlen) {
			eocd = i;
			break;
		}
		if (tlen - i > 22 + 65535)
			break;
	}
	if (eocd == (size_t)-1)
		return corrupt(c, e, "no end of central directory record");
	*entries = le16(tail + eocd + 10);
	*cd_size = le32(tail + eocd + 12);
	uint64_t cd_off = le32(tail + eocd + 16);
	if (eocd >= 20 && le32(tail + eocd - 20) == SIG_LOC64) {
		uint64_t z64 = le64(tail + eocd - 20 + 8);
		const unsigned char *r;
		if (z64 > (uint64_t)c->total - 56)
			return corrupt(c, e, "a bad zip64 locator");
		if ((int64_t)z64 >= c->tail_at)
			r = tail + (z64 - (uint64_t)c->tail_at);
		else if ((rc = range(c, (int64_t)z64, (int64_t)z64 + 55, &r, e)))
			return rc;
		if (le32(r) != SIG_EOCD64)
			return corrupt(c, e, "a bad zip64 end record");
		*entries = le64(r + 32);
		*cd_size = le64(r + 40);
		cd_off = le64(r + 48);
	}
	if (*cd_size > MAX_CD || cd_off > (uint64_t)c->total ||
	    *cd_size > (uint64_t)c->total - cd_off)
		return corrupt(c, e, "a central directory out of bounds");
	if ((int64_t)cd_off >= c->tail_at)
		*cd = tail + (cd_off - (uint64_t)c->tail_at);
	else if (*cd_size == 0)
		return corrupt(c, e, "an empty central directory");
	else if ((rc = range(c, (int64_t)cd_off, (int64_t)(cd_off + *cd_size) - 1, cd, e)))
		return rc;
	return 0;
}

/* The fields of central directory entry mb->cen, with zip64's extra: the
 * 64-bit values of the fields that say 0xffffffff. */
static int member_fields(struct ctx *c, struct member *mb, struct em_error *e)
{
	const unsigned char *found = mb->cen;
	mb->flags = le16(found + 8);
	mb->method = le16(found + 10);
	mb->crc = le32(found + 16);
	mb->csize = le32(found + 20);
	mb->usize = le32(found + 24);
	mb->lho = le32(found + 42);
	mb->nl = le16(found + 28);
	mb->xl = le16(found + 30);
	mb->name = found + 46;
	for (size_t x = 0; x + 4 <= mb->xl;) {
		const unsigned char *f = found + 46 + mb->nl + x;
		size_t id = le16(f), fl = le16(f + 2);
		if (x + 4 + fl > mb->xl)
			break;
		if (id == 1) {
			size_t q = 4;
			if (mb->usize == 0xffffffffu && q + 8 <= 4 + fl)
				mb->usize = le64(f + q), q += 8;
			if (mb->csize == 0xffffffffu && q + 8 <= 4 + fl)
				mb->csize = le64(f + q), q += 8;
			if (mb->lho == 0xffffffffu && q + 8 <= 4 + fl)
				mb->lho = le64(f + q);
		}
		x += 4 + fl;
	}
	if (mb->usize > EM_METADATA_MAX_LEN || mb->csize > EM_METADATA_MAX_LEN)
		return em_err(e, EM_ELIMIT, c->shown, "the METADATA of '%s' is larger than %u bytes",
			      c->filename, EM_METADATA_MAX_LEN);
	if (mb->lho + 30 > (uint64_t)c->total)
		return corrupt(c, e, "a local header out of bounds");
	return 0;
}

/* The one top-level .dist-info/METADATA of the central directory. */
static int find_metadata(struct ctx *c, const unsigned char *cd, uint64_t cd_size,
			 uint64_t entries, struct member *mb, struct em_error *e)
{
	const unsigned char *found = NULL;
	size_t nfound = 0;
	size_t at = 0;
	for (uint64_t k = 0; k < entries; k++) {
		if (at + 46 > cd_size || le32(cd + at) != SIG_CEN)
			return corrupt(c, e, "a bad central directory entry");
		size_t nl = le16(cd + at + 28), xl = le16(cd + at + 30), cl = le16(cd + at + 32);
		if (at + 46 + nl + xl + cl > cd_size)
			return corrupt(c, e, "a central directory entry out of bounds");
		size_t stem;
		if (is_metadata_name(cd + at + 46, nl, &stem)) {
			found = cd + at;
			nfound++;
		}
		at += 46 + nl + xl + cl;
	}
	if (nfound != 1)
		return em_err(e, EM_EINVAL, c->shown, "'%s' has %s .dist-info/METADATA", c->filename,
			      nfound ? "more than one" : "no");
	mb->cen = found;
	return member_fields(c, mb, e);
}

/* The local header and the data: one request, a second when the local
 * extra field is longer than the central one. */
static int member_data(struct ctx *c, struct member *mb, struct em_error *e)
{
	uint64_t lho = mb->lho, csize = mb->csize;
	int64_t want_to = (int64_t)(lho + 30 + mb->nl + mb->xl + csize + 256);
	if (want_to > c->total - 1)
		want_to = c->total - 1;
	const unsigned char *loc;
	int rc;
	if ((rc = range(c, (int64_t)lho, want_to, &loc, e)))
		return rc;
	size_t got = (size_t)(want_to - (int64_t)lho + 1);
	if (le32(loc) != SIG_LOC)
		return corrupt(c, e, "a bad local header");
	size_t lnl = le16(loc + 26), lxl = le16(loc + 28);
	size_t data_at = 30 + lnl + lxl;
	if (data_at + csize <= got) {
		mb->data = loc + data_at;
	} else {
		if ((int64_t)(lho + data_at + csize) > c->total)
			return corrupt(c, e, "member data out of bounds");
		if (csize == 0)
			mb->data = loc; /* nothing to read */
		else if ((rc = range(c, (int64_t)(lho + data_at), (int64_t)(lho + data_at + csize) - 1,
				     &mb->data, e)))
			return rc;
	}
	return 0;
}

/* The fields a local header (at p + 4) and a central directory entry (at
 * p + 6) share, from "version needed" to the name's length. */
static void put_member_fields(unsigned char *p, const struct member *mb)
{
	put16(p, 20);
	put16(p + 2, mb->flags & ~0x0008u);
	put16(p + 4, mb->method);
	put16(p + 6, le16(mb->cen + 12));
	put16(p + 8, le16(mb->cen + 14));
	put32(p + 10, mb->crc);
	put32(p + 14, (uint32_t)mb->csize);
	put32(p + 18, (uint32_t)mb->usize);
	put16(p + 22, (uint32_t)mb->nl);
}

/* A one-member zip: local header, data, central entry, end record. */
static unsigned char *one_member_zip(struct em_arena *a, const struct member *mb, size_t *mlen)
{
	size_t nl = mb->nl;
	uint64_t csize = mb->csize;
	*mlen = 30 + nl + csize + 46 + nl + 22;
	unsigned char *m = em_arena_alloc(a, *mlen);
	if (!m)
		return NULL;
	memset(m, 0, *mlen);
	unsigned char *p = m;
	put32(p, SIG_LOC);
	put_member_fields(p + 4, mb);
	memcpy(p + 30, mb->name, nl);
	if (csize)
		memcpy(p + 30 + nl, mb->data, csize);
	p += 30 + nl + csize;
	put32(p, SIG_CEN);
	put16(p + 4, le16(mb->cen + 4));
	put_member_fields(p + 6, mb);
	put32(p + 38, le32(mb->cen + 38));
	memcpy(p + 46, mb->name, nl);
	p += 46 + nl;
	put32(p, SIG_EOCD);
	put16(p + 8, 1);
	put16(p + 10, 1);
	put32(p + 12, (uint32_t)(46 + nl));
	put32(p + 16, (uint32_t)(30 + nl + csize));
	return m;
}

int em_remote_wheel_metadata(struct em_http *h, struct em_arena *a, const char *url,
			     const char *filename, char **out, size_t *len, struct em_error *e)
{
	struct ctx c = { h, a, url, em_url_redact(a, url), filename, -1, NULL, 0, 0 };
	if (!c.shown)
		return em_err_nomem(e);
	*out = NULL;
	*len = 0;

	struct em_http_get g = { 0 };
	int rc = fetch_tail(&c, &g, e);
	if (rc)
		return rc;
	if (g.status == 200)
		/* a small wheel came whole */
		return em_wheel_read_metadata_mem(a, g.body, g.len, filename, out, len, e);
	if (g.status != 206 || g.total < 22 || g.len < 22 || (int64_t)g.len > g.total)
		return em_err(e, EM_EUNSUPPORTED, c.shown, "the server does not answer ranges "
			      "(HTTP %ld)", g.status);
	c.total = g.total;
	c.tail = (const unsigned char *)g.body;
	c.tlen = g.len;
	c.tail_at = c.total - (int64_t)c.tlen;

	const unsigned char *cd = NULL;
	uint64_t cd_size = 0, entries = 0;
	struct member mb;
	if ((rc = central_directory(&c, &cd, &cd_size, &entries, e)) ||
	    (rc = find_metadata(&c, cd, cd_size, entries, &mb, e)) ||
	    (rc = member_data(&c, &mb, e)))
		return rc;
	size_t mlen;
	unsigned char *m = one_member_zip(a, &mb, &mlen);
	if (!m)
		return em_err_nomem(e);
	rc = em_wheel_read_metadata_mem(a, m, mlen, filename, out, len, e);
	if (rc && !e->where[0])
		em_err_prefix_where(e, "%s", c.shown);
	return rc;
}
