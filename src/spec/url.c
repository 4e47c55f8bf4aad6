/* url.c - URL references (RFC 3986), percent-encoding, file URLs
 *
 * A URL is split with the grammar of RFC 3986 appendix B:
 *
 *   [scheme ":"] ["//" authority] path ["?" query] ["#" fragment]
 *
 * where a scheme is ALPHA *(ALPHA / DIGIT / "+" / "-" / ".") (a first
 * segment with a ':' that does not spell a scheme is read as a path).
 * Resolution is section 5.2 to the letter (strict: "http:g" against an
 * http base stays "http:g"), with one addition from the WHATWG URL
 * standard: a result without an authority whose path starts with "//" gets
 * "/." in front, so "file:" + "..//evil/x" cannot turn "evil" into a host.
 *
 * Bytes a URL may not hold are handled before resolution: ASCII control
 * characters are an error; space, non-ASCII bytes and " < > \ ^ ` { | }
 * are percent-encoded, as browsers do with what index pages write.
 * Nothing here does I/O.
 */
#include "util/buf.h"
#include "spec/index.h"
#include "util/str.h"

#include <string.h>

struct part {
	const char *p;
	size_t n;
	bool on; /* defined (an empty query "?" is defined, a missing one is not) */
};

struct uref {
	struct part scheme, auth, path, query, frag;
};

static bool is_scheme_char(int c)
{
	return em_is_alnum(c) || c == '+' || c == '-' || c == '.';
}

static void split(const char *s, size_t n, struct uref *r)
{
	memset(r, 0, sizeof *r);
	size_t i = 0;
	/* scheme: ALPHA *(scheme chars) ":" */
	if (n && em_is_alpha((unsigned char)s[0])) {
		size_t k = 1;
		while (k < n && is_scheme_char((unsigned char)s[k]))
			k++;
		if (k < n && s[k] == ':') {
			r->scheme = (struct part){ s, k, true };
			i = k + 1;
		}
	}
	if (n - i >= 2 && s[i] == '/' && s[i + 1] == '/') {
		size_t k = i + 2;
		while (k < n && s[k] != '/' && s[k] != '?' && s[k] != '#')
			k++;
		r->auth = (struct part){ s + i + 2, k - i - 2, true };
		i = k;
	}
	size_t k = i;
	while (k < n && s[k] != '?' && s[k] != '#')
		k++;
	r->path = (struct part){ s + i, k - i, true };
	i = k;
	if (i < n && s[i] == '?') {
		k = i + 1;
		while (k < n && s[k] != '#')
			k++;
		r->query = (struct part){ s + i + 1, k - i - 1, true };
		i = k;
	}
	if (i < n && s[i] == '#')
		r->frag = (struct part){ s + i + 1, n - i - 1, true };
}

static const char hexd[] = "0123456789ABCDEF";

static void add_pct(struct em_buf *b, unsigned char c)
{
	char t[3] = { '%', hexd[c >> 4], hexd[c & 15] };
	em_buf_add(b, t, 3);
}

/* printable ASCII a URL cannot hold as it is */
static bool unsafe(int c)
{
	switch (c) {
	case ' ': case '"': case '<': case '>': case '\\': case '^': case '`': case '{':
	case '|': case '}':
		return true;
	}
	return false;
}

/* Copy a URL or reference, percent-encoding the bytes a URL cannot hold.
 * Returns false when it has an ASCII control character. */
static bool clean(const char *s, size_t n, struct em_buf *b)
{
	em_buf_grow(b, n); /* room ahead; a failure sticks in b->err, which the caller checks */
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return false;
		if (c >= 0x80 || unsafe(c)) {
			em_buf_add(b, s + run, i - run);
			add_pct(b, c);
			run = i + 1;
		}
	}
	em_buf_add(b, s + run, n - run);
	return true;
}

/* Remove the last segment and its '/' from the output (RFC 3986 5.2.4 C). */
static void pop_segment(struct em_buf *o)
{
	size_t k = o->len;
	while (k > 0 && o->ptr[k - 1] != '/')
		k--;
	em_buf_truncate(o, k ? k - 1 : 0);
}

/* RFC 3986 5.2.4, linear: in[] is modified (a prefix is replaced by '/'). */
static void remove_dots(char *in, size_t n, struct em_buf *o)
{
	size_t i = 0;
	while (i < n) {
		const char *p = in + i;
		size_t rem = n - i;
		if (rem >= 3 && p[0] == '.' && p[1] == '.' && p[2] == '/') {
			i += 3; /* A */
		} else if (rem >= 2 && p[0] == '.' && p[1] == '/') {
			i += 2; /* A */
		} else if (rem >= 3 && p[0] == '/' && p[1] == '.' && p[2] == '/') {
			i += 2; /* B: "/./" -> "/" */
		} else if (rem == 2 && p[0] == '/' && p[1] == '.') {
			i += 1; /* B: "/." -> "/" */
			in[i] = '/';
		} else if (rem >= 4 && !memcmp(p, "/../", 4)) {
			i += 3; /* C */
			pop_segment(o);
		} else if (rem == 3 && !memcmp(p, "/..", 3)) {
			i += 2; /* C */
			in[i] = '/';
			pop_segment(o);
		} else if ((rem == 1 && p[0] == '.') || (rem == 2 && p[0] == '.' && p[1] == '.')) {
			i = n; /* D */
		} else {
			size_t j = i + (p[0] == '/'); /* E */
			while (j < n && in[j] != '/')
				j++;
			em_buf_add(o, p, j - i);
			i = j;
		}
	}
}

/* remove_dot_segments of a path given as one or two pieces (merge). */
static int dots(const struct part *a, const struct part *b, struct em_buf *out)
{
	struct em_buf in;
	em_buf_init(&in, 3 * EM_URL_MAX_LEN);
	em_buf_add(&in, a->p, a->n);
	if (b)
		em_buf_add(&in, b->p, b->n);
	int rc = in.err;
	if (!rc)
		remove_dots(in.ptr, in.len, out);
	em_buf_release(&in);
	return rc ? rc : out->err;
}

/* The URL without user:password@, quoted for a message. */
static char *redact_quote(char *dst, size_t size, const char *url)
{
	char tmp[256];
	size_t n = strlen(url), len = 0;
	struct uref r;
	split(url, n, &r);
	size_t skip_from = n, skip_to = n;
	if (r.auth.on)
		for (size_t k = 0; k < r.auth.n; k++)
			if (r.auth.p[k] == '@') {
				skip_from = (size_t)(r.auth.p - url);
				skip_to = skip_from + k + 1;
			}
	for (size_t i = 0; i < n && len < sizeof tmp; i++)
		if (i < skip_from || i >= skip_to)
			tmp[len++] = url[i];
	return em_quote(dst, size, tmp, len);
}

/* RFC 3986 5.2.2: the target T of reference R against base B; T's path,
 * its dot segments removed, is written to path. */
static int transform(const struct uref *B, const struct uref *R, struct uref *T,
		     struct em_buf *path)
{
	int rc = 0;
	memset(T, 0, sizeof *T);
	if (R->scheme.on) {
		T->scheme = R->scheme;
		T->auth = R->auth;
		rc = dots(&R->path, NULL, path);
		T->query = R->query;
	} else {
		if (R->auth.on) {
			T->auth = R->auth;
			rc = dots(&R->path, NULL, path);
			T->query = R->query;
		} else {
			if (R->path.n == 0) {
				em_buf_add(path, B->path.p, B->path.n);
				T->query = R->query.on ? R->query : B->query;
			} else if (R->path.p[0] == '/') {
				rc = dots(&R->path, NULL, path);
				T->query = R->query;
			} else {
				/* 5.2.3 merge */
				struct part m;
				if (B->auth.on && B->path.n == 0) {
					m = (struct part){ "/", 1, true };
				} else {
					size_t k = B->path.n;
					while (k > 0 && B->path.p[k - 1] != '/')
						k--;
					m = (struct part){ B->path.p, k, true };
				}
				rc = dots(&m, &R->path, path);
				T->query = R->query;
			}
			T->auth = B->auth;
		}
		T->scheme = B->scheme;
	}
	T->frag = R->frag;
	return rc ? rc : path->err;
}

/* RFC 3986 5.3: T (its path in path) as a URL, into o. */
static void recompose(const struct uref *T, const struct em_buf *path, struct em_buf *o)
{
	em_buf_add(o, T->scheme.p, T->scheme.n);
	em_buf_addc(o, ':');
	if (T->auth.on) {
		em_buf_add(o, "//", 2);
		em_buf_add(o, T->auth.p, T->auth.n);
	} else if (path->len >= 2 && path->ptr[0] == '/' && path->ptr[1] == '/') {
		em_buf_add(o, "/.", 2);
	}
	em_buf_add(o, path->ptr, path->len);
	if (T->query.on) {
		em_buf_addc(o, '?');
		em_buf_add(o, T->query.p, T->query.n);
	}
	if (T->frag.on) {
		em_buf_addc(o, '#');
		em_buf_add(o, T->frag.p, T->frag.n);
	}
}

int em_url_resolve(struct em_arena *a, const char *base, const char *ref, char **out,
		   struct em_error *e)
{
	if (!a || !base || !ref || !out)
		return em_err(e, EM_EUSAGE, NULL, "em_url_resolve: NULL argument");
	*out = NULL;
	size_t bn = strlen(base), rn = strlen(ref);
	char q[160];
	if (bn > EM_URL_MAX_LEN || rn > EM_URL_MAX_LEN) {
		const char *s = bn > EM_URL_MAX_LEN ? base : ref;
		return em_err(e, EM_ELIMIT, NULL, "url '%s' is longer than %u bytes",
			      em_quote(q, sizeof q, s, 64), (unsigned)EM_URL_MAX_LEN);
	}
	struct em_buf cb, cr, o, path;
	em_buf_init(&cb, 3 * EM_URL_MAX_LEN);
	em_buf_init(&cr, 3 * EM_URL_MAX_LEN);
	em_buf_init(&o, EM_URL_MAX_LEN);
	em_buf_init(&path, 3 * EM_URL_MAX_LEN);
	int rc = 0;
	bool base_ok = clean(base, bn, &cb);
	if (!base_ok || !clean(ref, rn, &cr)) {
		const char *s = base_ok ? ref : base;
		rc = em_err(e, EM_EINVAL, NULL, "url '%s' has a control character",
			    em_quote(q, sizeof q, s, strlen(s)));
		goto done;
	}
	if (cb.err || cr.err) {
		rc = cb.err == EM_ENOMEM || cr.err == EM_ENOMEM
			     ? em_err_nomem(e)
			     : em_err(e, EM_ELIMIT, NULL, "url is longer than %u bytes",
				      (unsigned)EM_URL_MAX_LEN);
		goto done;
	}
	struct uref B, R, T;
	split(cb.ptr, cb.len, &B);
	split(cr.ptr, cr.len, &R);
	if (!B.scheme.on) {
		rc = em_err(e, EM_EINVAL, NULL, "base url '%s' is not absolute",
			    redact_quote(q, sizeof q, base));
		goto done;
	}
	rc = transform(&B, &R, &T, &path);
	if (rc) {
		rc = rc == EM_ENOMEM ? em_err_nomem(e)
				     : em_err(e, EM_ELIMIT, NULL, "url is longer than %u bytes",
					      (unsigned)EM_URL_MAX_LEN);
		goto done;
	}
	recompose(&T, &path, &o);
	if (o.err) {
		rc = o.err == EM_ENOMEM ? em_err_nomem(e)
					: em_err(e, EM_ELIMIT, NULL,
						 "resolved url is longer than %u bytes",
						 (unsigned)EM_URL_MAX_LEN);
		goto done;
	}
	*out = em_arena_strndup(a, o.ptr, o.len);
	if (!*out)
		rc = em_err_nomem(e);
done:
	em_buf_release(&cb);
	em_buf_release(&cr);
	em_buf_release(&o);
	em_buf_release(&path);
	return rc;
}

/* Percent-decode into dst (room for n bytes); %00 and invalid escapes stay
 * as written. Returns the length. */
static size_t decode_into(char *dst, const char *s, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && n - i >= 3) {
			int h = em_hex_value((unsigned char)s[i + 1]), l = em_hex_value((unsigned char)s[i + 2]);
			if (h >= 0 && l >= 0 && (h | l)) {
				dst[o++] = (char)(h << 4 | l);
				i += 2;
				continue;
			}
		}
		dst[o++] = s[i];
	}
	return o;
}

char *em_url_decode(struct em_arena *a, const char *s, size_t n)
{
	if (!s)
		return NULL;
	char *d = em_arena_alloc(a, n + 1);
	if (!d)
		return NULL;
	d[decode_into(d, s, n)] = '\0';
	return d;
}

/* unreserved, plus the sub-delims other than '+' */
static bool segment_safe(int c)
{
	if (em_is_alnum(c))
		return true;
	switch (c) {
	case '-': case '.': case '_': case '~': case '!': case '$': case '&': case '\'':
	case '(': case ')': case '*': case ',': case ';': case '=':
		return true;
	}
	return false;
}

static char *encode(struct em_arena *a, const char *s, size_t n, bool keep_slash)
{
	if (!s || n > ((size_t)-1) / 3 - 1)
		return NULL;
	char *d = em_arena_alloc(a, 3 * n + 1);
	if (!d)
		return NULL;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (segment_safe(c) || (keep_slash && c == '/')) {
			d[o++] = (char)c;
		} else {
			d[o++] = '%';
			d[o++] = hexd[c >> 4];
			d[o++] = hexd[c & 15];
		}
	}
	d[o] = '\0';
	return d;
}

char *em_url_encode_segment(struct em_arena *a, const char *s, size_t n)
{
	return encode(a, s, n, false);
}

char *em_url_basename(struct em_arena *a, const char *url)
{
	if (!url)
		return NULL;
	struct uref r;
	split(url, strlen(url), &r);
	size_t k = r.path.n;
	while (k > 0 && r.path.p[k - 1] != '/')
		k--;
	return em_url_decode(a, r.path.p + k, r.path.n - k);
}

char *em_url_redact(struct em_arena *a, const char *url)
{
	if (!url)
		return NULL;
	size_t n = strlen(url);
	struct uref r;
	split(url, n, &r);
	size_t at = 0;
	bool has_at = false;
	if (r.auth.on)
		for (size_t k = 0; k < r.auth.n; k++)
			if (r.auth.p[k] == '@') {
				at = k;
				has_at = true;
			}
	if (!has_at)
		return em_arena_strndup(a, url, n);
	size_t head = (size_t)(r.auth.p - url);
	const char *rest = r.auth.p + at + 1;
	size_t tail = n - (size_t)(rest - url);
	char *d = em_arena_alloc(a, head + tail + 1);
	if (!d)
		return NULL;
	memcpy(d, url, head);
	memcpy(d + head, rest, tail);
	d[head + tail] = '\0';
	return d;
}

char *em_url_to_path(struct em_arena *a, const char *url)
{
	if (!url)
		return NULL;
	struct uref r;
	split(url, strlen(url), &r);
	if (!r.scheme.on || !em_str_ieq(r.scheme.p, r.scheme.n, "file"))
		return NULL;
	if (r.auth.on && r.auth.n && !em_str_ieq(r.auth.p, r.auth.n, "localhost"))
		return NULL;
	if (!r.path.n || r.path.p[0] != '/')
		return NULL;
	/* a %00 would cut the path short: refuse it */
	for (size_t i = 0; i + 2 < r.path.n; i++)
		if (r.path.p[i] == '%' && r.path.p[i + 1] == '0' && r.path.p[i + 2] == '0')
			return NULL;
	return em_url_decode(a, r.path.p, r.path.n);
}

char *em_path_to_url(struct em_arena *a, const char *abs_path)
{
	if (!abs_path || abs_path[0] != '/')
		return NULL;
	char *enc = encode(a, abs_path, strlen(abs_path), true);
	if (!enc)
		return NULL;
	return em_arena_printf(a, "file://%s", enc);
}

char *em_url_join(struct em_arena *a, const char *base, const char *rel, bool dir)
{
	if (!base || !rel)
		return NULL;
	size_t bn = strlen(base);
	while (bn > 0 && base[bn - 1] == '/')
		bn--;
	while (*rel == '/')
		rel++;
	size_t rn = strlen(rel);
	bool slash = dir && !(rn && rel[rn - 1] == '/');
	if (rn == 0)
		slash = dir;
	if (bn > ((size_t)-1) / 2 || rn > ((size_t)-1) / 2)
		return NULL;
	char *d = em_arena_alloc(a, bn + rn + 3);
	if (!d)
		return NULL;
	size_t o = 0;
	memcpy(d, base, bn);
	o = bn;
	if (rn) {
		d[o++] = '/';
		memcpy(d + o, rel, rn);
		o += rn;
	}
	if (slash)
		d[o++] = '/';
	d[o] = '\0';
	return d;
}

/* The userinfo ("user:pass") of an authority, and the host part after it. */
static void auth_split(const struct part *auth, struct part *user, struct part *host)
{
	*user = (struct part){ NULL, 0, false };
	*host = *auth;
	for (size_t k = auth->n; k-- > 0;)
		if (auth->p[k] == '@') {
			*user = (struct part){ auth->p, k, true };
			*host = (struct part){ auth->p + k + 1, auth->n - k - 1, true };
			return;
		}
}

static bool part_ieq(const struct part *x, const struct part *y)
{
	if (x->n != y->n)
		return false;
	for (size_t i = 0; i < x->n; i++)
		if (em_lower((unsigned char)x->p[i]) != em_lower((unsigned char)y->p[i]))
			return false;
	return true;
}

char *em_url_add_credentials(struct em_arena *a, const char *url, const char *const *sources,
			     size_t n)
{
	if (!url)
		return NULL;
	struct uref r;
	split(url, strlen(url), &r);
	struct part user, host;
	auth_split(&r.auth, &user, &host);
	if (!r.auth.on || !r.scheme.on || user.on)
		return em_arena_strdup(a, url);
	for (size_t i = 0; i < n; i++) {
		if (!sources[i])
			continue;
		struct uref s;
		split(sources[i], strlen(sources[i]), &s);
		struct part su, sh;
		auth_split(&s.auth, &su, &sh);
		if (!s.auth.on || !su.on || !su.n || !s.scheme.on || !part_ieq(&s.scheme, &r.scheme) ||
		    !part_ieq(&sh, &host))
			continue;
		size_t head = (size_t)(r.auth.p - url);
		return em_arena_printf(a, "%.*s%.*s@%s", (int)head, url, (int)su.n, su.p, url + head);
	}
	return em_arena_strdup(a, url);
}
