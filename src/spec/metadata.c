/* metadata.c - core metadata (METADATA / PKG-INFO) in the email-header format
 *
 * One pass over the lines: each field is finished (its value copied into the
 * arena, its kind checked) when the next field, the blank line that ends the
 * headers, or the end of the input is reached, so errors come in line order
 * and every byte is looked at a bounded number of times.
 */
#include "spec/metadata.h"
#include "util/buf.h"
#include "util/error.h"
#include "spec/name.h"
#include "util/str.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum field_kind {
	F_OTHER = 0,
	F_METADATA_VERSION,
	F_NAME,
	F_VERSION,
	F_REQUIRES_PYTHON,
	F_SUMMARY,
	F_REQUIRES_DIST,
	F_PROVIDES_EXTRA,
	F_DYNAMIC
};

static const struct {
	const char *name;
	enum field_kind kind;
} known_fields[] = {
	{ "metadata-version", F_METADATA_VERSION },
	{ "name", F_NAME },
	{ "version", F_VERSION },
	{ "requires-python", F_REQUIRES_PYTHON },
	{ "summary", F_SUMMARY },
	{ "requires-dist", F_REQUIRES_DIST },
	{ "provides-extra", F_PROVIDES_EXTRA },
	{ "dynamic", F_DYNAMIC },
};

/* A finished field while the file is read (copied into the arena at the end). */
struct pending {
	struct em_metadata_field f;
	enum field_kind kind;
};

struct parser {
	struct em_arena *a;
	const char *buf;
	size_t len;
	const char *where;
	struct em_error *e;
	bool interpret;       /* em_metadata_parse (not only the split) */
	struct em_buf fields; /* struct pending[] */
	uint32_t nfields;
	/* first line of each single-use field seen, 0 when not seen */
	uint32_t first_line[F_SUMMARY + 1];
	uint32_t nlist[F_DYNAMIC + 1];
	struct em_metadata *out;
};

/* em_err_at the line of the METADATA p reads (0: none) */
#define perr(p, code, line, ...) em_err_at((p)->e, (code), (p)->where, (line), __VA_ARGS__)

static enum field_kind classify(const char *name, size_t n)
{
	for (size_t i = 0; i < sizeof known_fields / sizeof known_fields[0]; i++)
		if (em_str_ieq(name, n, known_fields[i].name))
			return known_fields[i].kind;
	return F_OTHER;
}

/* The spelling used in messages. */
static const char *kind_label(enum field_kind k)
{
	switch (k) {
	case F_METADATA_VERSION: return "Metadata-Version";
	case F_NAME: return "Name";
	case F_VERSION: return "Version";
	case F_REQUIRES_PYTHON: return "Requires-Python";
	case F_SUMMARY: return "Summary";
	case F_REQUIRES_DIST: return "Requires-Dist";
	case F_PROVIDES_EXTRA: return "Provides-Extra";
	case F_DYNAMIC: return "Dynamic";
	case F_OTHER: break;
	}
	return "?";
}

/* "MAJOR.MINOR", both plain decimal numbers. */
static int check_metadata_version(struct parser *p, const char *v, uint32_t line)
{
	char q[96];
	size_t n = strlen(v);
	const char *dot = memchr(v, '.', n);
	uint64_t major, minor;
	if (!dot || !em_parse_u64(v, (size_t)(dot - v), &major) ||
	    !em_parse_u64(dot + 1, n - (size_t)(dot - v) - 1, &minor) || major == 0 ||
	    minor > UINT_MAX)
		return perr(p, EM_EINVAL, line, "invalid metadata version '%s'",
			    em_quote(q, sizeof q, v, n));
	if (major > EM_METADATA_NEWEST_MAJOR)
		return perr(p, EM_EUNSUPPORTED, line,
			    "unsupported metadata version '%s' (the newest known is %d.%d)",
			    em_quote(q, sizeof q, v, n), EM_METADATA_NEWEST_MAJOR,
			    EM_METADATA_NEWEST_MINOR);
	p->out->metadata_major = (unsigned)major;
	p->out->metadata_minor = (unsigned)minor;
	p->out->metadata_newer =
		major == EM_METADATA_NEWEST_MAJOR && minor > EM_METADATA_NEWEST_MINOR;
	return 0;
}

/* Check a field of a kind em_metadata_parse looks at. */
static int interpret(struct parser *p, struct pending *pf)
{
	const char *v = pf->f.value;
	size_t n = strlen(v);
	uint32_t line = pf->f.line;
	enum field_kind k = pf->kind;
	char q[160];

	if (k == F_OTHER || k == F_SUMMARY) {
		if (k == F_SUMMARY && !p->first_line[k]) {
			p->first_line[k] = line;
			p->out->summary = v;
		}
		return 0;
	}
	if (!em_utf8_valid(v, n))
		return perr(p, EM_EINVAL, line, "field '%s' is not valid UTF-8", kind_label(k));
	if (k >= F_REQUIRES_DIST) {
		if (n)
			p->nlist[k]++;
		return 0;
	}
	if (p->first_line[k])
		return perr(p, EM_EINVAL, line, "duplicate field '%s' (first on line %u)",
			    kind_label(k), (unsigned)p->first_line[k]);
	p->first_line[k] = line;
	if (k != F_REQUIRES_PYTHON && n == 0)
		return perr(p, EM_EINVAL, line, "empty field '%s'", kind_label(k));
	switch (k) {
	case F_METADATA_VERSION:
		p->out->metadata_version = v;
		return check_metadata_version(p, v, line);
	case F_NAME:
		if (!em_name_is_valid(v, n))
			return perr(p, EM_EINVAL, line, "invalid project name '%s'",
				    em_quote(q, sizeof q, v, n));
		p->out->name = v;
		return 0;
	case F_VERSION:
		p->out->version = v;
		return 0;
	case F_REQUIRES_PYTHON:
		p->out->requires_python = v;
		return 0;
	default:
		return 0;
	}
}

/* Copy a value into the arena: drop the CR of each CRLF inside it (the lines
 * of a folded field are joined with "\n"), trim ASCII whitespace. */
static char *copy_value(struct em_arena *a, const char *s, size_t n, bool multi)
{
	while (n && em_is_ascii_space((unsigned char)s[0])) {
		s++;
		n--;
	}
	while (n && em_is_ascii_space((unsigned char)s[n - 1]))
		n--;
	if (!multi)
		return em_arena_strndup(a, s, n);
	char *out = em_arena_alloc(a, n + 1);
	if (!out)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n')
			continue;
		out[o++] = s[i];
	}
	out[o] = '\0';
	return out;
}

static int finish_field(struct parser *p, size_t name_off, size_t name_len, size_t val_off,
			size_t val_end, uint32_t line, bool multi)
{
	if (p->nfields >= EM_METADATA_MAX_FIELDS)
		return perr(p, EM_ELIMIT, line, "more than %u header fields",
			    (unsigned)EM_METADATA_MAX_FIELDS);
	struct pending pf;
	memset(&pf, 0, sizeof pf);
	pf.f.name = em_arena_strndup(p->a, p->buf + name_off, name_len);
	pf.f.value = copy_value(p->a, p->buf + val_off, val_end - val_off, multi);
	pf.f.line = line;
	if (!pf.f.name || !pf.f.value)
		return em_err_nomem(p->e);
	if (p->interpret) {
		pf.kind = classify(p->buf + name_off, name_len);
		int r = interpret(p, &pf);
		if (r)
			return r;
	}
	if (em_buf_add(&p->fields, &pf, sizeof pf))
		return p->fields.err == EM_ENOMEM ? em_err_nomem(p->e)
						  : perr(p, EM_ELIMIT, line, "too many header fields");
	p->nfields++;
	return 0;
}

static bool is_name_byte(int c)
{
	return c >= 0x21 && c <= 0x7e && c != ':';
}

/* Split the header block into fields and find the body. */
static int split(struct parser *p)
{
	const char *buf = p->buf;
	size_t len = p->len;
	size_t pos = 0;
	uint32_t line = 0;
	bool open = false; /* a field is being read */
	size_t name_off = 0, name_len = 0, val_off = 0, val_end = 0;
	uint32_t fline = 0;
	bool multi = false;
	char q[96];
	int r;

	while (pos < len) {
		line++;
		const char *s = buf + pos;
		const char *nl = memchr(s, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - s) : len - pos;
		size_t next = nl ? pos + n + 1 : len;
		size_t cn = n; /* without the CR of a CRLF */
		if (cn && s[cn - 1] == '\r')
			cn--;

		if (cn == 0) { /* the empty line: headers end, the body follows */
			if (open && (r = finish_field(p, name_off, name_len, val_off, val_end,
						      fline, multi)))
				return r;
			if (next < len) {
				struct em_metadata *out = p->out;
				out->body_len = len - next;
				out->body_line = line + 1;
				char *body = em_arena_alloc(p->a, out->body_len + 1);
				if (!body)
					return em_err_nomem(p->e);
				memcpy(body, buf + next, out->body_len);
				body[out->body_len] = '\0';
				out->body = body;
			}
			return 0;
		}
		if (s[0] == ' ' || s[0] == '\t') {
			if (!open)
				return perr(p, EM_EINVAL, line,
					    "continuation line before the first field");
			if (memchr(s, '\0', cn))
				return perr(p, EM_EINVAL, line, "NUL byte in a header line");
			val_end = pos + cn;
			multi = true;
		} else {
			if (open && (r = finish_field(p, name_off, name_len, val_off, val_end,
						      fline, multi)))
				return r;
			if (memchr(s, '\0', cn))
				return perr(p, EM_EINVAL, line, "NUL byte in a header line");
			const char *colon = memchr(s, ':', cn);
			if (!colon)
				return perr(p, EM_EINVAL, line,
					    "expected 'Field: value', found '%s'",
					    em_quote(q, sizeof q, s, cn));
			name_len = (size_t)(colon - s);
			if (name_len == 0)
				return perr(p, EM_EINVAL, line, "empty field name");
			for (size_t i = 0; i < name_len; i++)
				if (!is_name_byte((unsigned char)s[i]))
					return perr(p, EM_EINVAL, line, "invalid field name '%s'",
						    em_quote(q, sizeof q, s, name_len));
			name_off = pos;
			val_off = pos + name_len + 1;
			val_end = pos + cn;
			fline = line;
			multi = false;
			open = true;
		}
		pos = next;
	}
	if (open)
		return finish_field(p, name_off, name_len, val_off, val_end, fline, multi);
	return 0;
}

/* Move the pending fields into the arena and build the lists. */
static int collect(struct parser *p)
{
	struct em_metadata *out = p->out;
	const struct pending *pf = (const struct pending *)p->fields.ptr;
	uint32_t n = p->nfields;
	struct em_metadata_field *fields = em_arena_array(p->a, n ? n : 1, sizeof *fields);
	if (!fields)
		return em_err_nomem(p->e);
	for (uint32_t i = 0; i < n; i++)
		fields[i] = pf[i].f;
	out->fields = fields;
	out->nfields = n;
	if (!p->interpret)
		return 0;

	const char **rd = em_arena_array(p->a, p->nlist[F_REQUIRES_DIST] + 1, sizeof *rd);
	uint32_t *rdl = em_arena_array(p->a, p->nlist[F_REQUIRES_DIST] + 1, sizeof *rdl);
	const char **pe = em_arena_array(p->a, p->nlist[F_PROVIDES_EXTRA] + 1, sizeof *pe);
	const char **dy = em_arena_array(p->a, p->nlist[F_DYNAMIC] + 1, sizeof *dy);
	if (!rd || !rdl || !pe || !dy)
		return em_err_nomem(p->e);
	uint32_t nrd = 0, npe = 0, ndy = 0;
	for (uint32_t i = 0; i < n; i++) {
		const char *v = pf[i].f.value;
		if (!v[0])
			continue;
		switch (pf[i].kind) {
		case F_REQUIRES_DIST:
			rdl[nrd] = pf[i].f.line;
			rd[nrd++] = v;
			break;
		case F_PROVIDES_EXTRA:
			pe[npe++] = v;
			break;
		case F_DYNAMIC:
			dy[ndy++] = v;
			break;
		default:
			break;
		}
	}
	out->requires_dist = rd;
	out->requires_dist_line = rdl;
	out->nrequires_dist = nrd;
	out->provides_extra = pe;
	out->nprovides_extra = npe;
	out->dynamic = dy;
	out->ndynamic = ndy;

	if (!out->metadata_version)
		return perr(p, EM_EINVAL, 0, "missing required field 'Metadata-Version'");
	if (!out->name)
		return perr(p, EM_EINVAL, 0, "missing required field 'Name'");
	if (!out->version)
		return perr(p, EM_EINVAL, 0, "missing required field 'Version'");
	return 0;
}

static int parse(struct em_arena *a, const char *buf, size_t len, const char *where,
		 bool interpret_fields, struct em_metadata *out, struct em_error *e)
{
	struct parser p;
	memset(&p, 0, sizeof p);
	memset(out, 0, sizeof *out);
	p.a = a;
	p.buf = buf;
	p.len = len;
	p.where = where ? where : "METADATA";
	p.e = e;
	p.interpret = interpret_fields;
	p.out = out;
	em_buf_init(&p.fields, 0);
	if (len > EM_METADATA_MAX_LEN)
		return perr(&p, EM_ELIMIT, 0, "metadata is larger than %u MiB",
			    (unsigned)(EM_METADATA_MAX_LEN >> 20));
	if (len && !buf)
		return em_err(e, EM_EUSAGE, NULL, "metadata buffer is NULL");
	int r = split(&p);
	if (!r)
		r = collect(&p);
	em_buf_release(&p.fields);
	if (r)
		memset(out, 0, sizeof *out);
	return r;
}

int em_metadata_parse(struct em_arena *a, const char *buf, size_t len, const char *where,
		      struct em_metadata *out, struct em_error *e)
{
	return parse(a, buf, len, where, true, out, e);
}

int em_metadata_parse_fields(struct em_arena *a, const char *buf, size_t len,
			     const char *where, struct em_metadata *out, struct em_error *e)
{
	return parse(a, buf, len, where, false, out, e);
}

const char *em_metadata_get(const struct em_metadata *m, const char *name)
{
	size_t n = strlen(name);
	for (uint32_t i = 0; i < m->nfields; i++)
		if (em_str_ieq(name, n, m->fields[i].name))
			return m->fields[i].value;
	return NULL;
}
