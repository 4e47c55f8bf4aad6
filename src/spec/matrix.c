/* matrix.c - the version matrix (matrix.ini) and pip-style requirements files
 *
 * The matrix is parsed by inih (ini_parse_stream) through a reader of our
 * own that hands it one line at a time from the buffer, so the handler
 * always knows the current line number, which inih does not pass. The
 * reader also works around the compile-time options of Debian's shared
 * libinih (docs/matrix.md has the user's side of this):
 *
 *   inline comments  inih cuts a value at a ';' that follows whitespace,
 *                    but "pkg ; platform_system == 'Windows'" is a PEP 508
 *                    marker. The reader replaces every ';' of a line that is
 *                    not a comment with SEMI, a byte inih treats as text,
 *                    and the handler puts the ';' back.
 *   line length      inih cuts lines at INI_MAX_LINE (200 bytes with the
 *                    line end) and reports an error. The reader enforces its
 *                    own limit, EM_MATRIX_MAX_LINE characters, and hands
 *                    inih a compact form of each line (indentation reduced
 *                    to one space, no spaces around '=', no '\r'); when even
 *                    that is more than the buffer inih offers, it hands LONG
 *                    as the value and the handler takes the value from the
 *                    reader instead.
 *   sections         inih does not call the handler for a [section] line,
 *                    and keeps only 49 bytes of its name. The reader reads
 *                    headers itself and hands inih a clean one, which resets
 *                    inih's continuation state.
 *   comments         ';' and '#' lines (and blank ones) are handed as empty
 *                    lines; they do not end a continuation, as in inih.
 *
 * Control bytes are rejected before anything reaches inih, so SEMI and LONG
 * can only come from the reader. An indented line after a key continues that
 * key (inih calls the handler again with the same name); only packages,
 * find-links, mirrors, verify, build-requires.PKG and config-settings.PKG take
 * such lines. The first mistake stops the parse: the reader
 * then returns NULL, which ends ini_parse_stream.
 *
 * Every check that needs no I/O is made here, so later stages can trust the
 * structure: names, keys, values, inheritance, and that no two workloads
 * share an environment folder.
 */
#include "spec/matrix.h"
#include "spec/name.h"
#include "spec/pep508.h"
#include "util/grow.h"
#include "util/str.h"
#include "spec/target.h"

#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define SEMI '\x01' /* stands for ';' inside values handed to inih */
#define LONG '\x02' /* "the value did not fit inih's buffer; ask the reader" */

#define DEFAULT_INDEX_URL "https://pypi.org/simple"
#define DEFAULT_TORCH_INDEX_URL "https://download.pytorch.org/whl"
#define MAX_KEY 64        /* longest key, env.NAME included */
#define LINE_BYTES (EM_MATRIX_MAX_LINE * 4 + 8)
#define QUOTE 160         /* room for a quoted value in a message */

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char comment_hint[] =
	"; comments go on their own line: ';' and '#' start a comment only at the "
	"beginning of a line";

/* ---- keys ---- */

enum key {
	K_NAME,
	K_PLATFORM,
	K_INDEX_URL,
	K_TORCH_INDEX_URL,
	K_FIND_LINKS,
	K_MIRRORS,
	K_PYTHON_MIRROR,
	K_CUDA_DRIVER,
	K_PYTHON_HOME,
	K_CACHE_DIR,
	K_CA_FILE,
	K_HISTORY,
	K_LINK_MODE,
	K_JOBS,
	K_DESCRIPTION,
	K_PATH,
	K_VENV,
	K_PYTHON,
	K_TORCH,
	K_CUDA,
	K_PACKAGES,
	K_REQUIREMENTS,
	K_VERIFY,
	K_NO_BUILD,
	K_ONLY_BINARY,
	K_NO_BINARY,
	K_NO_BUILD_ISOLATION,
	K_BUILD_CONSTRAINTS,
	K_BUILD_REQUIRES,  /* build-requires.PKG */
	K_CONFIG_SETTINGS, /* config-settings.PKG */
	K_ENV, /* env.NAME */
	K_COUNT
};

#define IN_MATRIX 1u
#define IN_WORKLOAD 2u

static const struct keyinfo {
	const char *name;
	unsigned in;
	bool multi; /* takes continuation lines */
} keys[K_COUNT] = {
	[K_NAME] = { "name", IN_MATRIX, false },
	[K_PLATFORM] = { "platform", IN_MATRIX | IN_WORKLOAD, false },
	[K_INDEX_URL] = { "index-url", IN_MATRIX | IN_WORKLOAD, false },
	[K_TORCH_INDEX_URL] = { "torch-index-url", IN_MATRIX | IN_WORKLOAD, false },
	[K_FIND_LINKS] = { "find-links", IN_MATRIX | IN_WORKLOAD, true },
	[K_MIRRORS] = { "mirrors", IN_MATRIX, true },
	[K_PYTHON_MIRROR] = { "python-mirror", IN_MATRIX, false },
	[K_CUDA_DRIVER] = { "cuda-driver", IN_MATRIX | IN_WORKLOAD, false },
	[K_PYTHON_HOME] = { "python-home", IN_MATRIX | IN_WORKLOAD, false },
	[K_CACHE_DIR] = { "cache-dir", IN_MATRIX, false },
	[K_CA_FILE] = { "ca-file", IN_MATRIX, false },
	[K_HISTORY] = { "history", IN_MATRIX, false },
	[K_LINK_MODE] = { "link-mode", IN_MATRIX, false },
	[K_JOBS] = { "jobs", IN_MATRIX, false },
	[K_DESCRIPTION] = { "description", IN_WORKLOAD, false },
	[K_PATH] = { "path", IN_WORKLOAD, false },
	[K_VENV] = { "venv", IN_MATRIX | IN_WORKLOAD, false },
	[K_PYTHON] = { "python", IN_MATRIX | IN_WORKLOAD, false },
	[K_TORCH] = { "torch", IN_MATRIX | IN_WORKLOAD, false },
	[K_CUDA] = { "cuda", IN_MATRIX | IN_WORKLOAD, false },
	[K_PACKAGES] = { "packages", IN_MATRIX | IN_WORKLOAD, true },
	[K_REQUIREMENTS] = { "requirements", IN_WORKLOAD, false },
	[K_VERIFY] = { "verify", IN_MATRIX | IN_WORKLOAD, true },
	[K_NO_BUILD] = { "no-build", IN_MATRIX | IN_WORKLOAD, false },
	[K_ONLY_BINARY] = { "only-binary", IN_MATRIX | IN_WORKLOAD, false },
	[K_NO_BINARY] = { "no-binary", IN_MATRIX | IN_WORKLOAD, false },
	[K_NO_BUILD_ISOLATION] = { "no-build-isolation", IN_MATRIX | IN_WORKLOAD, false },
	[K_BUILD_CONSTRAINTS] = { "build-constraints", IN_MATRIX | IN_WORKLOAD, false },
	[K_BUILD_REQUIRES] = { "build-requires.PKG", IN_MATRIX | IN_WORKLOAD, true },
	[K_CONFIG_SETTINGS] = { "config-settings.PKG", IN_MATRIX | IN_WORKLOAD, true },
	[K_ENV] = { "env.NAME", IN_MATRIX | IN_WORKLOAD, false },
};

/* Keys listed in messages, in the order docs/matrix.md gives them. */
static const enum key matrix_order[] = {
	K_NAME, K_PLATFORM, K_INDEX_URL, K_TORCH_INDEX_URL, K_FIND_LINKS, K_MIRRORS, K_PYTHON_MIRROR,
	K_CUDA_DRIVER, K_CACHE_DIR, K_CA_FILE, K_HISTORY, K_LINK_MODE, K_JOBS, K_PYTHON, K_PYTHON_HOME,
	K_TORCH, K_CUDA, K_VENV, K_PACKAGES, K_VERIFY, K_NO_BUILD, K_ONLY_BINARY, K_NO_BINARY, K_NO_BUILD_ISOLATION,
	K_BUILD_REQUIRES, K_CONFIG_SETTINGS, K_BUILD_CONSTRAINTS, K_ENV,
};
static const enum key workload_order[] = {
	K_DESCRIPTION, K_PATH, K_VENV, K_PYTHON, K_PYTHON_HOME, K_TORCH, K_CUDA, K_PACKAGES,
	K_REQUIREMENTS, K_VERIFY, K_INDEX_URL, K_TORCH_INDEX_URL, K_FIND_LINKS, K_PLATFORM,
	K_CUDA_DRIVER, K_NO_BUILD, K_ONLY_BINARY, K_NO_BINARY, K_NO_BUILD_ISOLATION,
	K_BUILD_REQUIRES, K_CONFIG_SETTINGS, K_BUILD_CONSTRAINTS, K_ENV,
};

/* ---- small vectors in the arena ---- */

struct vec {
	void *p;
	uint32_t n, cap;
};

static void *vec_push(struct em_arena *a, struct vec *v, size_t size)
{
	if (em_arena_grow(a, &v->p, &v->cap, v->n, size))
		return NULL;
	return (char *)v->p + (size_t)v->n++ * size;
}

/* ---- parser state ---- */

/* One [section] as written. */
struct sect {
	const char *name;
	uint32_t line;
	bool is_matrix;
	struct em_setting v[K_COUNT]; /* single values; .line also marks list keys as set */
	struct vec packages;          /* struct em_req_line */
	struct vec find_links;        /* struct em_setting */
	struct vec mirrors;           /* struct em_mirror */
	struct vec env;               /* struct em_env_var */
	struct vec verify;            /* struct em_setting: verify commands */
	struct em_python_req py;
	struct em_specset torch;
	struct em_cuda cuda;
	struct em_pkg_set pkgs[4];    /* no-build, only-binary, no-binary,
				       * no-build-isolation */
	struct vec pkgvals[2];        /* struct pkgent: build-requires.PKG,
				       * config-settings.PKG */
};

/* A build-requires.PKG or config-settings.PKG key while it is read. */
struct pkgent {
	const char *key;
	const char *name;
	uint32_t line;
	struct vec vals; /* const char * */
};

enum line_kind {
	LINE_BLANK,   /* blank or comment */
	LINE_SECTION,
	LINE_KEY,
	LINE_CONT     /* indented line continuing the previous key */
};

struct mparser {
	struct em_arena *a;
	struct em_error *e;
	const char *file;
	const char *buf;
	size_t len, pos;
	uint32_t lineno;
	int rc; /* the first error; 0 while none */
	bool any_content;

	/* the current line and what is handed to inih */
	enum line_kind kind;
	const char *text; /* the line without indentation and trailing blanks */
	size_t textn;
	const char *val;  /* the value (or continuation text), from the buffer */
	size_t valn;
	char out[LINE_BYTES + MAX_KEY + 8];
	size_t outlen, outpos;
	bool cont_ok; /* inih would read an indented line as a continuation */

	/* sections */
	struct sect *matrix;
	struct vec work; /* struct sect *, in file order */
	struct sect *cur;
	enum key cur_key;
	char cur_keyname[MAX_KEY + 1];
	uint32_t cur_pkgent; /* index in cur->pkgvals[] of the key being read */
};

static int perr(struct mparser *p, uint32_t line, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int perr(struct mparser *p, uint32_t line, int code, const char *fmt, ...)
{
	char where[EM_ERROR_WHERE_MAX];
	char msg[EM_ERROR_MSG_MAX];
	if (line)
		snprintf(where, sizeof where, "%s:%u", p->file, line);
	else
		snprintf(where, sizeof where, "%s", p->file);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	p->rc = em_err(p->e, code, where, "%s", msg);
	return p->rc;
}

static int nomem(struct mparser *p)
{
	p->rc = em_err_nomem(p->e);
	return p->rc;
}

static const char *q(char *dst, const char *s, size_t n)
{
	return em_quote(dst, QUOTE, s, n);
}

/* Whether the value holds ';' or '#' after a blank: someone's inline comment. */
static bool looks_commented(const char *s, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if ((s[i] == ';' || s[i] == '#') && (s[i - 1] == ' ' || s[i - 1] == '\t'))
			return true;
	return false;
}

static const char *hint_if_commented(const char *s, size_t n)
{
	return looks_commented(s, n) ? comment_hint : "";
}

static bool is_blank(int c)
{
	return c == ' ' || c == '\t';
}

static struct em_str strip_blanks(const char *s, size_t n)
{
	while (n && is_blank((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n && is_blank((unsigned char)s[n - 1]))
		n--;
	return em_str_make(s, n);
}

static bool ieq_n(const char *a, size_t an, const char *b, size_t bn)
{
	if (an != bn)
		return false;
	for (size_t i = 0; i < an; i++)
		if (em_lower((unsigned char)a[i]) != em_lower((unsigned char)b[i]))
			return false;
	return true;
}

/* ---- value checks shared with the planner (public) ---- */

static bool is_interp_path(const char *s, size_t n)
{
	if (memchr(s, '/', n) || memchr(s, '\\', n))
		return true;
	return n >= 4 && em_str_ieq(s + n - 4, 4, ".exe");
}

static bool is_op_char(int c)
{
	return c == '<' || c == '>' || c == '=' || c == '!' || c == '~';
}

int em_python_req_parse(struct em_arena *a, const char *s, size_t n, struct em_python_req *out,
			struct em_error *e)
{
	char qs[QUOTE];
	memset(out, 0, sizeof *out);
	struct em_str t = strip_blanks(s, n);
	if (t.n == 0)
		return em_err(e, EM_EINVAL, NULL,
			      "empty python: write a version (3.12.10 or 3.12), a specifier "
			      "(>=3.11,<3.13) or an interpreter path");
	if (is_interp_path(t.p, t.n)) {
		out->kind = EM_PYTHON_PATH;
		return 0;
	}
	if (is_op_char((unsigned char)t.p[0])) {
		struct em_error se;
		em_error_clear(&se);
		int rc = em_specset_parse(a, t.p, t.n, &out->spec, &se);
		if (rc) {
			memset(out, 0, sizeof *out);
			if (rc == EM_ENOMEM)
				return em_err_nomem(e);
			return em_err(e, rc, NULL, "%s", se.msg);
		}
		out->kind = EM_PYTHON_SPEC;
		return 0;
	}
	if (em_is_digit((unsigned char)t.p[0])) {
		struct em_error se;
		em_error_clear(&se);
		if (em_python_parse_n(t.p, t.n, &out->version, &se)) {
			memset(out, 0, sizeof *out);
			return em_err(e, EM_EINVAL, NULL, "%s", se.msg);
		}
		out->kind = out->version.has_micro ? EM_PYTHON_EXACT : EM_PYTHON_MINOR;
		return 0;
	}
	return em_err(e, EM_EINVAL, NULL,
		      "invalid python '%s': expected a version (3.12.10 or 3.12), a specifier "
		      "(>=3.11,<3.13) or an interpreter path (a path holds '/' or '\\' or ends "
		      "in .exe)", q(qs, t.p, t.n));
}

int em_torch_req_parse(struct em_arena *a, const char *s, size_t n, struct em_specset *out,
		       struct em_error *e)
{
	char qs[QUOTE];
	memset(out, 0, sizeof *out);
	struct em_str t = strip_blanks(s, n);
	if (t.n == 0)
		return em_err(e, EM_EINVAL, NULL,
			      "empty torch: write a version (2.8.0 or 2.8) or a specifier "
			      "(>=2.6,<2.9)");
	struct em_error se;
	em_error_clear(&se);
	int rc;
	if (!is_op_char((unsigned char)t.p[0])) {
		struct em_arena_mark mk = em_arena_mark(a);
		struct em_version v;
		rc = em_version_parse(a, t.p, t.n, &v, &se);
		if (rc) {
			em_arena_rewind(a, mk);
			if (rc == EM_ENOMEM)
				return em_err_nomem(e);
			return em_err(e, rc, NULL,
				      "invalid torch '%s': expected a version (2.8.0, 2.8) or a "
				      "specifier set (>=2.6,<2.9)", q(qs, t.p, t.n));
		}
		bool series = v.epoch == 0 && v.nrelease <= 2 && v.pre_kind == EM_PRE_NONE &&
			      !v.has_post && !v.has_dev && v.nlocal == 0;
		char text[EM_VERSION_MAX_LEN + 8];
		snprintf(text, sizeof text, "==%s%s", v.str, series ? ".*" : "");
		em_arena_rewind(a, mk);
		rc = em_specset_parse(a, text, strlen(text), out, &se);
	} else {
		rc = em_specset_parse(a, t.p, t.n, out, &se);
	}
	if (rc) {
		memset(out, 0, sizeof *out);
		if (rc == EM_ENOMEM)
			return em_err_nomem(e);
		return em_err(e, rc, NULL, "%s", se.msg);
	}
	if (out->n == 0)
		return em_err(e, EM_EINVAL, NULL, "invalid torch '%s': the specifier set is empty",
			      q(qs, t.p, t.n));
	return 0;
}

static const char cuda_forms[] =
	"expected a CUDA version (12.6), a PyTorch variant (cu126, cpu, rocm6.2, xpu) or auto";

int em_cuda_parse(const char *s, size_t n, struct em_cuda *out, struct em_error *e)
{
	char qs[QUOTE];
	memset(out, 0, sizeof *out);
	struct em_str t = strip_blanks(s, n);
	q(qs, t.p, t.n);
	if (t.n == 0)
		return em_err(e, EM_EINVAL, NULL, "empty cuda (%s)", cuda_forms);
	char low[16];
	if (t.n >= sizeof low)
		return em_err(e, EM_EINVAL, NULL, "invalid cuda '%s' (%s)", qs, cuda_forms);
	for (size_t i = 0; i < t.n; i++)
		low[i] = (char)em_lower((unsigned char)t.p[i]);
	low[t.n] = '\0';

	if (!strcmp(low, "auto")) {
		out->kind = EM_CUDA_AUTO;
		return 0;
	}
	if (!strcmp(low, "cpu") || !strcmp(low, "xpu")) {
		out->kind = low[0] == 'c' ? EM_CUDA_CPU : EM_CUDA_XPU;
		memcpy(out->variant, low, 4);
		return 0;
	}
	if (!strncmp(low, "rocm", 4)) {
		/* rocmX.Y or rocmX.Y.Z */
		const char *r = low + 4;
		int parts = 0;
		while (*r) {
			size_t d = 0;
			while (em_is_digit((unsigned char)r[d]))
				d++;
			if (d == 0 || d > 3)
				break;
			parts++;
			r += d;
			if (*r != '.')
				break;
			r++;
		}
		if (*r || parts < 2 || parts > 3)
			return em_err(e, EM_EINVAL, NULL,
				      "invalid cuda '%s': a ROCm variant is written rocmX.Y or "
				      "rocmX.Y.Z, e.g. rocm6.2", qs);
		out->kind = EM_CUDA_ROCM;
		memcpy(out->variant, low, t.n + 1);
		return 0;
	}
	unsigned major = 0, minor = 0;
	if (!strncmp(low, "cu", 2)) {
		/* cuXYZ: the last digit is the minor version (cu118, cu126, cu130) */
		size_t d = strlen(low + 2);
		for (size_t i = 0; i < d; i++)
			if (!em_is_digit((unsigned char)low[2 + i]))
				d = 0;
		if (d < 2 || d > 3 || low[2] == '0')
			return em_err(e, EM_EINVAL, NULL,
				      "invalid cuda '%s': a CUDA variant is written cuXY or cuXYZ, "
				      "e.g. cu126 for CUDA 12.6", qs);
		for (size_t i = 0; i + 1 < d; i++)
			major = major * 10 + (unsigned)(low[2 + i] - '0');
		minor = (unsigned)(low[2 + d - 1] - '0');
	} else if (em_is_digit((unsigned char)low[0])) {
		const char *r = low;
		size_t d = 0;
		while (em_is_digit((unsigned char)r[d]))
			d++;
		if (d > 2 || r[d] != '.' || low[0] == '0')
			return em_err(e, EM_EINVAL, NULL,
				      "invalid cuda '%s': write the CUDA major and minor version, "
				      "e.g. 12.6", qs);
		for (size_t i = 0; i < d; i++)
			major = major * 10 + (unsigned)(r[i] - '0');
		r += d + 1;
		size_t m = 0;
		while (em_is_digit((unsigned char)r[m]))
			m++;
		if (m == 0 || r[m] == '.' ) {
			return em_err(e, EM_EINVAL, NULL,
				      "invalid cuda '%s': write the CUDA major and minor version "
				      "only, e.g. 12.6", qs);
		}
		if (r[m] || m != 1)
			return em_err(e, EM_EINVAL, NULL,
				      "invalid cuda '%s': PyTorch variants name CUDA X.Y with a "
				      "one-digit minor version, e.g. 12.6 (cu126)", qs);
		minor = (unsigned)(r[0] - '0');
	} else {
		return em_err(e, EM_EINVAL, NULL, "invalid cuda '%s' (%s)", qs, cuda_forms);
	}
	out->kind = EM_CUDA_CUDA;
	out->major = major;
	out->minor = minor;
	snprintf(out->variant, sizeof out->variant, "cu%u%u", major, minor);
	return 0;
}

/* ---- section and key checks ---- */

static bool key_char(int c)
{
	return em_is_alnum(c) || c == '-' || c == '_' || c == '.';
}

static bool env_name_valid(const char *s, size_t n)
{
	if (n == 0 || em_is_digit((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!em_is_alnum((unsigned char)s[i]) && s[i] != '_')
			return false;
	return true;
}

/* Optimal string alignment distance on ASCII-lowered text with '_' read as
 * '-'; both strings at most MAX_KEY bytes. */
static unsigned edit_distance(const char *x, size_t xn, const char *y, size_t yn)
{
	unsigned rows[3][MAX_KEY + 1];
	unsigned *pp = rows[0], *prev = rows[1], *cur = rows[2];
	for (size_t j = 0; j <= yn; j++)
		prev[j] = (unsigned)j;
	for (size_t i = 1; i <= xn; i++) {
		cur[0] = (unsigned)i;
		int xc = em_lower((unsigned char)x[i - 1]);
		if (xc == '_')
			xc = '-';
		for (size_t j = 1; j <= yn; j++) {
			int yc = em_lower((unsigned char)y[j - 1]);
			if (yc == '_')
				yc = '-';
			unsigned best = prev[j] + 1;
			if (cur[j - 1] + 1 < best)
				best = cur[j - 1] + 1;
			unsigned sub = prev[j - 1] + (xc != yc);
			if (sub < best)
				best = sub;
			if (i > 1 && j > 1) {
				int xp = em_lower((unsigned char)x[i - 2]);
				int yp = em_lower((unsigned char)y[j - 2]);
				if (xp == '_')
					xp = '-';
				if (yp == '_')
					yp = '-';
				if (xc == yp && xp == yc && pp[j - 2] + 1 < best)
					best = pp[j - 2] + 1;
			}
			cur[j] = best;
		}
		unsigned *t = pp;
		pp = prev;
		prev = cur;
		cur = t;
	}
	return prev[yn];
}

static const char *suggest_key(const char *k, size_t kn)
{
	if (kn > MAX_KEY)
		return NULL;
	const char *best = NULL;
	unsigned bestd = ~0u;
	for (size_t i = 0; i < K_COUNT; i++) {
		if (i == K_ENV || i == K_BUILD_REQUIRES || i == K_CONFIG_SETTINGS)
			continue;
		const char *c = keys[i].name;
		size_t cn = strlen(c);
		unsigned d = edit_distance(k, kn, c, cn);
		unsigned limit = cn >= 5 ? 2 : 1;
		if (d <= limit && d < bestd) {
			bestd = d;
			best = c;
		}
	}
	return best;
}

static void key_list(char *dst, size_t size, bool matrix)
{
	const enum key *order = matrix ? matrix_order : workload_order;
	size_t n = matrix ? COUNT(matrix_order) : COUNT(workload_order);
	size_t o = 0;
	dst[0] = '\0';
	for (size_t i = 0; i < n && o < size; i++) {
		int w = snprintf(dst + o, size - o, "%s%s", i ? ", " : "", keys[order[i]].name);
		if (w < 0)
			break;
		o += (size_t)w;
	}
}

static const char *sect_label(const struct sect *s, char *buf, size_t size)
{
	snprintf(buf, size, "[%s]", s->name);
	return buf;
}

static int unknown_key(struct mparser *p, const char *k, size_t kn)
{
	char qk[QUOTE], label[EM_MATRIX_MAX_NAME + 3];
	sect_label(p->cur, label, sizeof label);
	q(qk, k, kn);
	/* env, ENV.X, environment.X, env_X: the env.NAME form */
	if (kn >= 3 && em_str_ieq(k, 3, "env") &&
	    (kn == 3 || k[3] == '.' || k[3] == '_' || k[3] == '-' ||
	     (kn > 11 && em_str_ieq(k, 12, "environment."))))
		return perr(p, p->lineno, EM_EINVAL,
			    "unknown key '%s' in %s: environment variables are written "
			    "env.NAME = value, with 'env.' in lower case", qk, label);
	const char *s = suggest_key(k, kn);
	if (s)
		return perr(p, p->lineno, EM_EINVAL, "unknown key '%s' in %s (did you mean '%s'?)",
			    qk, label, s);
	char list[600];
	key_list(list, sizeof list, p->cur->is_matrix);
	return perr(p, p->lineno, EM_EINVAL, "unknown key '%s' in %s; the keys there are %s", qk,
		    label, list);
}

/* ---- value checks ---- */

static bool has_scheme(const char *s, size_t n, size_t *schemelen)
{
	size_t i = 0;
	if (n == 0 || !em_is_alpha((unsigned char)s[0]))
		return false;
	while (i < n && (em_is_alnum((unsigned char)s[i]) || s[i] == '+' || s[i] == '-' ||
			 s[i] == '.'))
		i++;
	if (i < 2 || n - i < 3 || memcmp(s + i, "://", 3))
		return false;
	*schemelen = i;
	return true;
}

/* A URL (http, https or file) when allow_url, or a local path. */
static int check_location(struct mparser *p, const char *key, const char *v, size_t n,
			  bool allow_url)
{
	char qv[QUOTE], label[EM_MATRIX_MAX_NAME + 3];
	sect_label(p->cur, label, sizeof label);
	q(qv, v, n);
	if (n == 0)
		return perr(p, p->lineno, EM_EINVAL, "%s in %s: empty value", key, label);
	size_t sl;
	if (has_scheme(v, n, &sl)) {
		if (!allow_url)
			return perr(p, p->lineno, EM_EINVAL,
				    "%s in %s: '%s' is a URL; %s is a local folder", key, label, qv,
				    key);
		if (!em_str_ieq(v, sl, "http") && !em_str_ieq(v, sl, "https") &&
		    !em_str_ieq(v, sl, "file"))
			return perr(p, p->lineno, EM_EINVAL,
				    "%s in %s: unsupported URL '%s' (use http://, https:// or "
				    "file://, or a local folder)", key, label, qv);
		for (size_t i = 0; i < n; i++)
			if (is_blank((unsigned char)v[i]))
				return perr(p, p->lineno, EM_EINVAL,
					    "%s in %s: the URL '%s' holds a space (write it as %%20)%s",
					    key, label, qv, hint_if_commented(v, n));
		if (!em_str_ieq(v, sl, "file") && (n == sl + 3 || v[sl + 3] == '/'))
			return perr(p, p->lineno, EM_EINVAL, "%s in %s: the URL '%s' has no host",
				    key, label, qv);
		return 0;
	}
	if (looks_commented(v, n))
		return perr(p, p->lineno, EM_EINVAL, "%s in %s: '%s' looks like a path followed "
			    "by a comment%s", key, label, qv, comment_hint);
	if (v[0] == '~')
		return perr(p, p->lineno, EM_EINVAL,
			    "%s in %s: '~' is not expanded in '%s'; write the full path or one "
			    "relative to the matrix file", key, label, qv);
	return 0;
}

static bool is_absolute(const char *s, size_t n)
{
	if (n && (s[0] == '/' || s[0] == '\\'))
		return true;
	return n >= 2 && em_is_alpha((unsigned char)s[0]) && s[1] == ':';
}

static int check_venv(struct mparser *p, const char *v, size_t n)
{
	char qv[QUOTE], label[EM_MATRIX_MAX_NAME + 3];
	sect_label(p->cur, label, sizeof label);
	q(qv, v, n);
	int rc = check_location(p, "venv", v, n, false);
	if (rc)
		return rc;
	if (is_absolute(v, n))
		return perr(p, p->lineno, EM_EINVAL,
			    "venv in %s: '%s' is absolute; venv is a folder inside the workload's "
			    "path, so set path to the parent folder and venv to its name", label, qv);
	bool named = false;
	size_t i = 0;
	while (i < n) {
		size_t j = i;
		while (j < n && v[j] != '/' && v[j] != '\\')
			j++;
		if (j - i == 2 && v[i] == '.' && v[i + 1] == '.')
			return perr(p, p->lineno, EM_EINVAL,
				    "venv in %s: '%s' leaves the workload's folder ('..'); venv is "
				    "a folder inside path, so change path instead", label, qv);
		if (j > i && !(j - i == 1 && v[i] == '.'))
			named = true;
		i = j + 1;
	}
	if (!named)
		return perr(p, p->lineno, EM_EINVAL,
			    "venv in %s: '%s' would make the project folder itself the "
			    "environment; name a folder such as .venv", label, qv);
	return 0;
}

static int check_requirement(struct mparser *p, const char *key, const char *v, size_t n)
{
	char qv[QUOTE], label[EM_MATRIX_MAX_NAME + 3];
	sect_label(p->cur, label, sizeof label);
	struct em_arena_mark mk = em_arena_mark(p->a);
	struct em_requirement r;
	struct em_error se;
	em_error_clear(&se);
	int rc = em_requirement_parse(p->a, v, n, &r, &se);
	em_arena_rewind(p->a, mk);
	if (!rc)
		return 0;
	if (rc == EM_ENOMEM)
		return nomem(p);
	q(qv, v, n);
	const char *hint = "";
	if (v[0] == '[')
		hint = "; a section header must not be indented";
	else if (looks_commented(v, n))
		hint = "; ';' starts a PEP 508 marker here, and comments go on their own line";
	else {
		/* "python = 3.12" indented below packages: a key meant to start */
		size_t i = 0;
		while (i < n && key_char((unsigned char)v[i]))
			i++;
		size_t j = i;
		while (j < n && is_blank((unsigned char)v[j]))
			j++;
		if (i > 0 && j < n && (v[j] == '=' || v[j] == ':') && (j + 1 == n || v[j + 1] != '='))
			hint = "; to start a new key, remove the indentation";
		else if (i > 0 && j > i && j < n && em_is_alpha((unsigned char)v[j]))
			hint = "; write one requirement per line";
	}
	return perr(p, p->lineno, rc, "%s in %s: invalid requirement '%s': %s%s", key, label, qv,
		    se.msg, hint);
}

static int add_package(struct mparser *p, const char *v, size_t n)
{
	struct sect *s = p->cur;
	if (s->packages.n >= EM_MATRIX_MAX_PACKAGES)
		return perr(p, p->lineno, EM_ELIMIT, "packages in [%s]: more than %d requirements",
			    s->name, EM_MATRIX_MAX_PACKAGES);
	int rc = check_requirement(p, "packages", v, n);
	if (rc)
		return rc;
	struct em_req_line *r = vec_push(p->a, &s->packages, sizeof *r);
	if (!r)
		return nomem(p);
	r->text = em_arena_strndup(p->a, v, n);
	r->file = p->file;
	r->line = p->lineno;
	return r->text ? 0 : nomem(p);
}

static int add_find_links(struct mparser *p, const char *v, size_t n)
{
	struct sect *s = p->cur;
	if (s->find_links.n >= EM_MATRIX_MAX_FIND_LINKS)
		return perr(p, p->lineno, EM_ELIMIT, "find-links in [%s]: more than %d locations",
			    s->name, EM_MATRIX_MAX_FIND_LINKS);
	int rc = check_location(p, "find-links", v, n, true);
	if (rc)
		return rc;
	struct em_setting *f = vec_push(p->a, &s->find_links, sizeof *f);
	if (!f)
		return nomem(p);
	f->value = em_arena_strndup(p->a, v, n);
	f->line = p->lineno;
	return f->value ? 0 : nomem(p);
}

/* One verify command: words as em_command_split reads them. */
static int add_verify(struct mparser *p, const char *v, size_t n)
{
	struct sect *s = p->cur;
	char qv[QUOTE], label[EM_MATRIX_MAX_NAME + 3];
	sect_label(s, label, sizeof label);
	if (s->verify.n >= EM_MATRIX_MAX_VERIFY)
		return perr(p, p->lineno, EM_ELIMIT, "verify in %s: more than %d commands", label,
			    EM_MATRIX_MAX_VERIFY);
	char *text = em_arena_strndup(p->a, v, n);
	if (!text)
		return nomem(p);
	struct em_error se;
	em_error_clear(&se);
	char **words;
	uint32_t nw;
	struct em_arena_mark mk = em_arena_mark(p->a);
	int rc = em_command_split(p->a, text, &words, &nw, &se);
	em_arena_rewind(p->a, mk);
	if (rc == EM_ENOMEM)
		return nomem(p);
	if (rc)
		return perr(p, p->lineno, rc, "verify in %s: '%s': %s", label, q(qv, v, n), se.msg);
	struct em_setting *c = vec_push(p->a, &s->verify, sizeof *c);
	if (!c)
		return nomem(p);
	c->value = text;
	c->line = p->lineno;
	return 0;
}

/* "URL MIRROR": files under the URL prefix may also be had under MIRROR. */
static int add_mirror(struct mparser *p, const char *v, size_t n)
{
	struct sect *s = p->cur;
	char qv[QUOTE];
	q(qv, v, n);
	if (s->mirrors.n >= EM_MATRIX_MAX_FIND_LINKS)
		return perr(p, p->lineno, EM_ELIMIT, "mirrors in [matrix]: more than %d lines",
			    EM_MATRIX_MAX_FIND_LINKS);
	size_t a = 0;
	while (a < n && v[a] != ' ' && v[a] != '\t')
		a++;
	size_t b = a;
	while (b < n && (v[b] == ' ' || v[b] == '\t'))
		b++;
	size_t c = b;
	while (c < n && v[c] != ' ' && v[c] != '\t')
		c++;
	if (a == 0 || b == n || c != n)
		return perr(p, p->lineno, EM_EINVAL,
			    "mirrors in [matrix]: '%s' is not 'URL MIRROR-URL' (one URL prefix and "
			    "the prefix of a mirror serving the same files, one pair a line)", qv);
	for (int k = 0; k < 2; k++) {
		const char *u = k ? v + b : v;
		size_t un = k ? c - b : a;
		if (!(un > 7 && !strncasecmp(u, "http://", 7)) && !(un > 8 && !strncasecmp(u, "https://", 8)))
			return perr(p, p->lineno, EM_EINVAL,
				    "mirrors in [matrix]: '%s': both sides must be http:// or https:// "
				    "URLs", qv);
	}
	struct em_mirror *m = vec_push(p->a, &s->mirrors, sizeof *m);
	if (!m)
		return nomem(p);
	m->from = em_arena_strndup(p->a, v, a);
	m->to = em_arena_strndup(p->a, v + b, c - b);
	m->line = p->lineno;
	return m->from && m->to ? 0 : nomem(p);
}

static int check_label(struct mparser *p, const char *v, size_t n)
{
	char qv[QUOTE];
	q(qv, v, n);
	if (n == 0 || n > EM_MATRIX_MAX_NAME)
		return perr(p, p->lineno, EM_EINVAL,
			    "name in [matrix]: '%s' must be 1 to %d characters", qv, EM_MATRIX_MAX_NAME);
	for (size_t i = 0; i < n; i++)
		if (!key_char((unsigned char)v[i]))
			return perr(p, p->lineno, EM_EINVAL,
				    "name in [matrix]: invalid name '%s'; use letters, digits, "
				    "'-', '_' and '.'%s", qv, hint_if_commented(v, n));
	return 0;
}

static int check_driver(struct mparser *p, const char *key, const char *v, size_t n)
{
	if (em_str_eq(v, n, "auto"))
		return 0;
	int parts = 0;
	size_t i = 0;
	bool ok = true;
	while (ok && i < n) {
		size_t d = 0;
		while (i + d < n && em_is_digit((unsigned char)v[i + d]))
			d++;
		if (d == 0 || d > 5) {
			ok = false;
			break;
		}
		parts++;
		i += d;
		if (i < n) {
			if (v[i] != '.' || i + 1 == n)
				ok = false;
			i++;
		}
	}
	if (ok && parts >= 2 && parts <= 3)
		return 0;
	char qv[QUOTE], label[EM_MATRIX_MAX_NAME + 3];
	return perr(p, p->lineno, EM_EINVAL,
		    "%s in %s: invalid driver version '%s'; write auto or the NVIDIA driver "
		    "version, e.g. 560.94 or 535.104.05%s", key, sect_label(p->cur, label, sizeof label),
		    q(qv, v, n), hint_if_commented(v, n));
}

/* no-build = true | false | PKG..., only-binary / no-binary = :all: |
 * :none: | PKG... (names separated by blanks or commas) */
static int parse_pkg_set(struct mparser *p, enum key k, const char *v, size_t n,
			 struct em_pkg_set *out)
{
	char qv[QUOTE], label[EM_MATRIX_MAX_NAME + 3];
	sect_label(p->cur, label, sizeof label);
	const char *key = keys[k].name;
	memset(out, 0, sizeof *out);
	out->key = key;
	bool nb = k == K_NO_BUILD || k == K_NO_BUILD_ISOLATION;
	const char *all = nb ? "true" : ":all:", *none = nb ? "false" : ":none:";
	const char *usage = k == K_NO_BUILD_ISOLATION ? "false or package names"
			    : nb ? "true, false or package names" : ":all:, :none: or package names";
	if (em_str_eq(v, n, all)) {
		if (k == K_NO_BUILD_ISOLATION)
			return perr(p, p->lineno, EM_EINVAL,
				    "%s in %s: name the packages to build in the workload's own "
				    "environment (such as flash-attn, which needs torch to build); "
				    "'true' is not supported", key, label);
		out->all = true;
		return 0;
	}
	if (em_str_eq(v, n, none))
		return 0;
	struct vec names = { 0 };
	for (size_t i = 0; i < n;) {
		while (i < n && (is_blank((unsigned char)v[i]) || v[i] == ','))
			i++;
		size_t j = i;
		while (j < n && !is_blank((unsigned char)v[j]) && v[j] != ',')
			j++;
		if (j == i)
			break;
		const char *w = v + i;
		size_t wn = j - i;
		if (em_str_eq(w, wn, "true") || em_str_eq(w, wn, "false") ||
		    em_str_eq(w, wn, ":all:") || em_str_eq(w, wn, ":none:"))
			return perr(p, p->lineno, EM_EINVAL,
				    "%s in %s: '%s' stands alone; write %s", key, label,
				    q(qv, w, wn), usage);
		if (!em_name_is_valid(w, wn))
			return perr(p, p->lineno, EM_EINVAL,
				    "%s in %s: '%s' is not a package name; write %s%s", key, label,
				    q(qv, w, wn), usage, hint_if_commented(v, n));
		const char **slot = vec_push(p->a, &names, sizeof *slot);
		if (!slot || !(*slot = em_name_canonical(p->a, w, wn)))
			return nomem(p);
		i = j;
	}
	out->n = names.n;
	out->names = names.p;
	return 0;
}

static bool pkg_set_names(const struct em_pkg_set *s, const char *name)
{
	for (uint32_t i = 0; i < s->n; i++)
		if (!strcmp(s->names[i], name))
			return true;
	return false;
}

enum em_sdist_rule em_workload_sdist_rule(const struct em_workload *w, const char *name,
					  const struct em_pkg_set **by)
{
	*by = NULL;
	if (pkg_set_names(&w->no_build, name))
		*by = &w->no_build;
	else if (pkg_set_names(&w->only_binary, name))
		*by = &w->only_binary;
	if (*by)
		return EM_SDIST_REFUSE;
	if (pkg_set_names(&w->no_binary, name)) {
		*by = &w->no_binary;
		return EM_SDIST_PREFER;
	}
	if (w->no_build.all)
		*by = &w->no_build;
	else if (w->only_binary.all)
		*by = &w->only_binary;
	if (*by)
		return EM_SDIST_REFUSE;
	if (w->no_binary.all) {
		*by = &w->no_binary;
		return EM_SDIST_PREFER;
	}
	return EM_SDIST_ALLOW;
}

static const struct em_pkg_values *pkg_values_find(const struct em_pkg_values *v, uint32_t n,
						   const char *name)
{
	for (uint32_t i = 0; i < n; i++)
		if (!strcmp(v[i].name, name))
			return &v[i];
	return NULL;
}

const struct em_pkg_values *em_workload_build_requires(const struct em_workload *w,
							const char *name)
{
	return pkg_values_find(w->build_requires, w->nbuild_requires, name);
}

const struct em_pkg_values *em_workload_config_settings(const struct em_workload *w,
							 const char *name)
{
	return pkg_values_find(w->config_settings, w->nconfig_settings, name);
}

bool em_workload_no_isolation(const struct em_workload *w, const char *name)
{
	return pkg_set_names(&w->no_build_isolation, name);
}

/* One value of build-requires.PKG (a PEP 508 requirement a line) or of
 * config-settings.PKG (KEY=VALUE words, split as verify commands are, so
 * a value may be quoted). */
static int add_pkgval(struct mparser *p, const char *v, size_t n)
{
	struct sect *s = p->cur;
	bool breq = p->cur_key == K_BUILD_REQUIRES;
	struct pkgent *pe = (struct pkgent *)s->pkgvals[breq ? 0 : 1].p + p->cur_pkgent;
	char qv[QUOTE], label[EM_MATRIX_MAX_NAME + 3];
	sect_label(s, label, sizeof label);
	if (breq) {
		int rc = check_requirement(p, pe->key, v, n);
		if (rc)
			return rc;
		if (pe->vals.n >= EM_MATRIX_MAX_PKG_VALUES)
			return perr(p, p->lineno, EM_ELIMIT, "%s in %s: more than %d requirements",
				    pe->key, label, EM_MATRIX_MAX_PKG_VALUES);
		const char **slot = vec_push(p->a, &pe->vals, sizeof *slot);
		if (!slot || !(*slot = em_arena_strndup(p->a, v, n)))
			return nomem(p);
		return 0;
	}
	char *text = em_arena_strndup(p->a, v, n);
	if (!text)
		return nomem(p);
	struct em_error se;
	em_error_clear(&se);
	char **words;
	uint32_t nw;
	int rc = em_command_split(p->a, text, &words, &nw, &se);
	if (rc == EM_ENOMEM)
		return nomem(p);
	if (rc)
		return perr(p, p->lineno, rc, "%s in %s: '%s': %s", pe->key, label, q(qv, v, n),
			    se.msg);
	for (uint32_t i = 0; i < nw; i++) {
		const char *eq = strchr(words[i], '=');
		if (!eq || eq == words[i])
			return perr(p, p->lineno, EM_EINVAL,
				    "%s in %s: '%s' is not KEY=VALUE (settings are separated by "
				    "blanks; quote a value that holds one)%s", pe->key, label,
				    q(qv, words[i], strlen(words[i])), hint_if_commented(v, n));
		if (pe->vals.n >= EM_MATRIX_MAX_PKG_VALUES)
			return perr(p, p->lineno, EM_ELIMIT, "%s in %s: more than %d settings",
				    pe->key, label, EM_MATRIX_MAX_PKG_VALUES);
		const char **slot = vec_push(p->a, &pe->vals, sizeof *slot);
		if (!slot)
			return nomem(p);
		*slot = words[i];
	}
	return 0;
}

/* build-requires.PKG = ... and config-settings.PKG = ... */
static int on_pkgvals(struct mparser *p, enum key key, const char *k, size_t kn, const char *v,
		      size_t vn)
{
	struct sect *s = p->cur;
	char qk[QUOTE], label[EM_MATRIX_MAX_NAME + 3];
	sect_label(s, label, sizeof label);
	q(qk, k, kn);
	size_t pre = key == K_BUILD_REQUIRES ? strlen("build-requires.") : strlen("config-settings.");
	const char *pkg = k + pre;
	size_t pn = kn - pre;
	if (!em_name_is_valid(pkg, pn))
		return perr(p, p->lineno, EM_EINVAL,
			    "'%s' in %s: '%.*s' is not a package name (write %s.PKG = ...)", qk,
			    label, (int)pn, pkg, key == K_BUILD_REQUIRES ? "build-requires"
								     : "config-settings");
	const char *name = em_name_canonical(p->a, pkg, pn);
	if (!name)
		return nomem(p);
	struct vec *vv = &s->pkgvals[key == K_BUILD_REQUIRES ? 0 : 1];
	const struct pkgent *pes = vv->p;
	for (uint32_t i = 0; i < vv->n; i++)
		if (!strcmp(pes[i].name, name))
			return perr(p, p->lineno, EM_EINVAL,
				    "duplicate key '%s' in %s (first set on line %u as '%s'; package "
				    "names are compared after PEP 503 normalization)", qk, label,
				    pes[i].line, pes[i].key);
	if (vv->n >= EM_MATRIX_MAX_ENV)
		return perr(p, p->lineno, EM_ELIMIT, "more than %d %s keys in %s", EM_MATRIX_MAX_ENV,
			    keys[key].name, label);
	struct pkgent *pe = vec_push(p->a, vv, sizeof *pe);
	if (!pe)
		return nomem(p);
	memset(pe, 0, sizeof *pe);
	pe->key = em_arena_strndup(p->a, k, kn);
	pe->name = name;
	pe->line = p->lineno;
	if (!pe->key)
		return nomem(p);
	p->cur_pkgent = vv->n - 1;
	return vn ? add_pkgval(p, v, vn) : 0;
}

/* Check a single value and keep what it parses to. */
static int check_value(struct mparser *p, enum key k, const char *v, size_t n)
{
	struct sect *s = p->cur;
	char qv[QUOTE], label[EM_MATRIX_MAX_NAME + 3];
	sect_label(s, label, sizeof label);
	q(qv, v, n);
	const char *name = keys[k].name;
	struct em_error se;
	em_error_clear(&se);
	int rc;
	if (n == 0 && k != K_DESCRIPTION)
		return perr(p, p->lineno, EM_EINVAL,
			    "%s in %s: empty value; give one or remove the line", name, label);
	switch (k) {
	case K_NAME:
		return check_label(p, v, n);
	case K_PLATFORM: {
		if (em_str_eq(v, n, "auto"))
			return 0;
		struct em_platform pl;
		if (em_platform_parse_n(v, n, &pl, &se))
			return perr(p, p->lineno, EM_EINVAL, "platform in %s: %s (or auto)%s", label,
				    se.msg, hint_if_commented(v, n));
		return 0;
	}
	case K_INDEX_URL:
	case K_TORCH_INDEX_URL:
	case K_PYTHON_MIRROR:
		return check_location(p, name, v, n, true);
	case K_CACHE_DIR:
	case K_CA_FILE:
	case K_HISTORY: /* a folder, or off */
	case K_PATH:
	case K_REQUIREMENTS:
	case K_PYTHON_HOME:
		return check_location(p, name, v, n, false);
	case K_VENV:
		return check_venv(p, v, n);
	case K_CUDA_DRIVER:
		return check_driver(p, name, v, n);
	case K_LINK_MODE:
		if (em_str_eq(v, n, "auto") || em_str_eq(v, n, "clone") ||
		    em_str_eq(v, n, "hardlink") || em_str_eq(v, n, "copy"))
			return 0;
		return perr(p, p->lineno, EM_EINVAL,
			    "link-mode in %s: invalid '%s'; expected auto, clone, hardlink or copy%s",
			    label, qv, hint_if_commented(v, n));
	case K_JOBS: {
		uint64_t j;
		if (!em_parse_u64(v, n, &j) || j == 0 || j > EM_MATRIX_MAX_JOBS)
			return perr(p, p->lineno, EM_EINVAL,
				    "jobs in %s: invalid '%s'; expected a whole number from 1 to %d%s",
				    label, qv, EM_MATRIX_MAX_JOBS, hint_if_commented(v, n));
		return 0;
	}
	case K_PYTHON:
		rc = em_python_req_parse(p->a, v, n, &s->py, &se);
		if (rc == EM_ENOMEM)
			return nomem(p);
		if (rc)
			return perr(p, p->lineno, rc, "python in %s: %s%s", label, se.msg,
				    hint_if_commented(v, n));
		if (s->py.kind == EM_PYTHON_PATH && looks_commented(v, n))
			return perr(p, p->lineno, EM_EINVAL,
				    "python in %s: '%s' looks like a path followed by a comment%s",
				    label, qv, comment_hint);
		return 0;
	case K_TORCH:
		rc = em_torch_req_parse(p->a, v, n, &s->torch, &se);
		if (rc == EM_ENOMEM)
			return nomem(p);
		if (rc)
			return perr(p, p->lineno, rc, "torch in %s: %s%s", label, se.msg,
				    hint_if_commented(v, n));
		return 0;
	case K_CUDA:
		if (em_cuda_parse(v, n, &s->cuda, &se))
			return perr(p, p->lineno, EM_EINVAL, "cuda in %s: %s%s", label, se.msg,
				    hint_if_commented(v, n));
		return 0;
	case K_NO_BUILD:
	case K_ONLY_BINARY:
	case K_NO_BINARY:
	case K_NO_BUILD_ISOLATION:
		return parse_pkg_set(p, k, v, n, &s->pkgs[k - K_NO_BUILD]);
	case K_BUILD_CONSTRAINTS:
		return check_location(p, name, v, n, false);
	case K_DESCRIPTION:
		return 0;
	default:
		return 0;
	}
}

static int on_env(struct mparser *p, const char *k, size_t kn, const char *v, size_t vn)
{
	struct sect *s = p->cur;
	char qk[QUOTE], qv[QUOTE], label[EM_MATRIX_MAX_NAME + 3];
	sect_label(s, label, sizeof label);
	const char *name = k + 4;
	size_t nn = kn - 4;
	q(qk, k, kn);
	if (!env_name_valid(name, nn))
		return perr(p, p->lineno, EM_EINVAL,
			    "invalid environment variable name in '%s' in %s: a name is letters, "
			    "digits and '_', not starting with a digit", qk, label);
	const struct em_env_var *ev = s->env.p;
	for (uint32_t i = 0; i < s->env.n; i++)
		if (ieq_n(ev[i].name, strlen(ev[i].name), name, nn))
			return perr(p, p->lineno, EM_EINVAL,
				    "duplicate key '%s' in %s (first set on line %u as 'env.%s'; "
				    "names are compared ignoring case, as on Windows)", qk, label,
				    ev[i].line, ev[i].name);
	if (s->env.n >= EM_MATRIX_MAX_ENV)
		return perr(p, p->lineno, EM_ELIMIT, "more than %d env.NAME keys in %s",
			    EM_MATRIX_MAX_ENV, label);
	if (looks_commented(v, vn))
		return perr(p, p->lineno, EM_EINVAL,
			    "%s in %s: the value '%s' looks like it ends in a comment%s", qk, label,
			    q(qv, v, vn), comment_hint);
	struct em_env_var *nv = vec_push(p->a, &s->env, sizeof *nv);
	if (!nv)
		return nomem(p);
	nv->name = em_arena_strndup(p->a, name, nn);
	nv->value = em_arena_strndup(p->a, v, vn);
	nv->line = p->lineno;
	if (!nv->name || !nv->value)
		return nomem(p);
	return 0;
}

static int on_key(struct mparser *p, const char *k, size_t kn, const char *v, size_t vn)
{
	char qk[QUOTE], label[EM_MATRIX_MAX_NAME + 3];
	q(qk, k, kn);
	if (!p->cur)
		return perr(p, p->lineno, EM_EINVAL,
			    "key '%s' comes before any section; put settings under [matrix] and "
			    "workload keys under a workload header such as [vlm]", qk);
	struct sect *s = p->cur;
	sect_label(s, label, sizeof label);
	if (kn == 0)
		return perr(p, p->lineno, EM_EINVAL, "a line in %s starts with '%c': the key is "
			    "missing", label, p->text[0]);
	for (size_t i = 0; i < kn; i++) {
		if (key_char((unsigned char)k[i]))
			continue;
		char qt[QUOTE];
		const char *hint = "";
		struct em_arena_mark mk = em_arena_mark(p->a);
		struct em_requirement r;
		if (!em_requirement_parse(p->a, p->text, p->textn, &r, NULL))
			hint = "; to add it to packages, indent it under 'packages ='";
		em_arena_rewind(p->a, mk);
		return perr(p, p->lineno, EM_EINVAL,
			    "'%s' in %s is not a key = value line (keys are letters, digits, '-', "
			    "'_' and '.')%s", q(qt, p->text, p->textn), label, hint);
	}
	enum key key = K_COUNT;
	if (kn > 4 && !memcmp(k, "env.", 4)) {
		key = K_ENV;
	} else if (kn >= 15 && !memcmp(k, "build-requires.", 15)) {
		key = K_BUILD_REQUIRES;
	} else if (kn >= 16 && !memcmp(k, "config-settings.", 16)) {
		key = K_CONFIG_SETTINGS;
	} else {
		for (size_t i = 0; i < K_COUNT; i++)
			if (i != K_ENV && i != K_BUILD_REQUIRES && i != K_CONFIG_SETTINGS &&
			    em_str_eq(k, kn, keys[i].name))
				key = (enum key)i;
	}
	if (key == K_COUNT && vn >= 2 && v[0] == '/' && v[1] == '/') {
		char qt[QUOTE];
		return perr(p, p->lineno, EM_EINVAL,
			    "'%s' in %s is not a key = value line; to add the URL to find-links, "
			    "indent it under 'find-links ='", q(qt, p->text, p->textn), label);
	}
	if (key == K_COUNT)
		return unknown_key(p, k, kn);
	unsigned here = s->is_matrix ? IN_MATRIX : IN_WORKLOAD;
	if (!(keys[key].in & here)) {
		if (s->is_matrix)
			return perr(p, p->lineno, EM_EINVAL,
				    "'%s' belongs in a workload section, not in [matrix]", qk);
		return perr(p, p->lineno, EM_EINVAL,
			    "'%s' is a setting for the whole matrix; move it to [matrix]", qk);
	}
	p->cur_key = key;
	memcpy(p->cur_keyname, k, kn);
	p->cur_keyname[kn] = '\0';
	if (key == K_ENV)
		return on_env(p, k, kn, v, vn);
	if (key == K_BUILD_REQUIRES || key == K_CONFIG_SETTINGS)
		return on_pkgvals(p, key, k, kn, v, vn);
	if (s->v[key].line)
		return perr(p, p->lineno, EM_EINVAL, "duplicate key '%s' in %s (first set on line %u)",
			    qk, label, s->v[key].line);
	s->v[key].line = p->lineno;
	if (key == K_PACKAGES)
		return vn ? add_package(p, v, vn) : 0;
	if (key == K_FIND_LINKS)
		return vn ? add_find_links(p, v, vn) : 0;
	if (key == K_MIRRORS)
		return vn ? add_mirror(p, v, vn) : 0;
	if (key == K_VERIFY)
		return vn ? add_verify(p, v, vn) : 0;
	int rc = check_value(p, key, v, vn);
	if (rc)
		return rc;
	s->v[key].value = em_arena_strndup(p->a, v, vn);
	return s->v[key].value ? 0 : nomem(p);
}

static int on_cont(struct mparser *p, const char *v, size_t vn)
{
	char label[EM_MATRIX_MAX_NAME + 3];
	sect_label(p->cur, label, sizeof label);
	if (p->cur_key == K_PACKAGES)
		return add_package(p, v, vn);
	if (p->cur_key == K_FIND_LINKS)
		return add_find_links(p, v, vn);
	if (p->cur_key == K_MIRRORS)
		return add_mirror(p, v, vn);
	if (p->cur_key == K_VERIFY)
		return add_verify(p, v, vn);
	if (p->cur_key == K_BUILD_REQUIRES || p->cur_key == K_CONFIG_SETTINGS)
		return add_pkgval(p, v, vn);
	const char *hint = "remove the indentation";
	if (v[0] == '[')
		hint = "a section header must not be indented";
	return perr(p, p->lineno, EM_EINVAL,
		    "an indented line in %s continues '%s', which takes one value (only packages, "
		    "find-links, mirrors, verify, build-requires.PKG and config-settings.PKG take "
		    "more lines); %s", label, p->cur_keyname, hint);
}

/* inih's handler: the reader's state says which line this is. */
static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct mparser *p = user;
	(void)section; /* inih keeps 49 bytes of it; the reader has the whole name */
	if (p->rc)
		return 0;
	char nb[MAX_KEY + 1] = "", vb[LINE_BYTES];
	const char *v;
	size_t vn;
	if (value[0] == LONG && value[1] == '\0') {
		v = p->val;
		vn = p->valn;
	} else {
		vn = strlen(value);
		if (vn >= sizeof vb) {
			p->rc = em_err(p->e, EM_EINVAL, NULL, "internal error: inih value too long");
			return 0;
		}
		for (size_t i = 0; i < vn; i++)
			vb[i] = value[i] == SEMI ? ';' : value[i];
		v = vb;
	}
	int rc;
	if (p->kind == LINE_CONT) {
		rc = on_cont(p, v, vn);
	} else if (p->kind == LINE_KEY) {
		size_t kn = strlen(name);
		if (kn > MAX_KEY)
			kn = MAX_KEY;
		for (size_t i = 0; i < kn; i++)
			nb[i] = name[i] == SEMI ? ';' : name[i];
		rc = on_key(p, nb, kn, v, vn);
	} else {
		rc = perr(p, p->lineno, EM_EINVAL, "inih read a value where none was expected");
	}
	return rc ? 0 : 1;
}

/* ---- the reader ---- */

/* Put pre + value (';' hidden) + '\n' in out; LONG instead of the value when
 * that is more than room bytes. */
static void hand(struct mparser *p, const char *pre, size_t pn, const char *v, size_t vn,
		 size_t room)
{
	memcpy(p->out, pre, pn);
	size_t o = pn;
	if (pn + vn + 1 <= room && pn + vn + 1 <= sizeof p->out) {
		for (size_t i = 0; i < vn; i++)
			p->out[o++] = v[i] == ';' ? SEMI : v[i];
	} else {
		p->out[o++] = LONG;
	}
	p->out[o++] = '\n';
	p->outlen = o;
	p->outpos = 0;
	p->val = v;
	p->valn = vn;
}

static size_t count_chars(const char *s, size_t n)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += ((unsigned char)s[i] & 0xc0) != 0x80;
	return c;
}

static int read_section(struct mparser *p, const char *t, size_t n)
{
	char qs[QUOTE];
	const char *close = memchr(t, ']', n);
	if (!close)
		return perr(p, p->lineno, EM_EINVAL,
			    "section header '%s' has no closing ']'", q(qs, t, n));
	if ((size_t)(close - t) + 1 != n)
		return perr(p, p->lineno, EM_EINVAL,
			    "unexpected text after ']' in '%s'; a header stands alone on its line "
			    "(comments go on their own line)", q(qs, t, n));
	struct em_str name = strip_blanks(t + 1, (size_t)(close - t) - 1);
	const char *s = name.p;
	size_t sn = name.n;
	q(qs, s, sn);
	bool is_matrix = em_str_eq(s, sn, "matrix");
	if (is_matrix) {
		if (p->matrix)
			return perr(p, p->lineno, EM_EINVAL,
				    "[matrix] appears twice (lines %u and %u); merge them",
				    p->matrix->line, p->lineno);
	} else {
		if (sn == 0)
			return perr(p, p->lineno, EM_EINVAL,
				    "empty section name '[]'; name the workload, e.g. [vlm]");
		if (em_str_ieq(s, sn, "matrix"))
			return perr(p, p->lineno, EM_EINVAL,
				    "'[%s]': 'matrix' is reserved; the settings section is spelled "
				    "[matrix], and a workload needs another name", qs);
		if (sn > EM_MATRIX_MAX_NAME)
			return perr(p, p->lineno, EM_EINVAL,
				    "workload name '%s' is longer than %d characters", qs,
				    EM_MATRIX_MAX_NAME);
		for (size_t i = 0; i < sn; i++) {
			unsigned char c = (unsigned char)s[i];
			if (c == '.')
				return perr(p, p->lineno, EM_EINVAL,
					    "workload name '%s' holds a '.': the name becomes part of "
					    "its lock file pylock.<name>.toml, where PEP 751 allows no "
					    "dots; use '-' or '_'", qs);
			if (!em_is_alnum(c) && c != '-' && c != '_')
				return perr(p, p->lineno, EM_EINVAL,
					    "invalid workload name '%s'; a name is letters, digits, "
					    "'-' and '_'", qs);
		}
		if (s[0] == '-')
			return perr(p, p->lineno, EM_EINVAL,
				    "workload name '%s' starts with '-', which would read as an "
				    "option on the command line", qs);
		struct sect **w = p->work.p;
		for (uint32_t i = 0; i < p->work.n; i++) {
			if (!ieq_n(w[i]->name, strlen(w[i]->name), s, sn))
				continue;
			if (em_str_eq(s, sn, w[i]->name))
				return perr(p, p->lineno, EM_EINVAL,
					    "workload [%s] is defined twice (lines %u and %u)", qs,
					    w[i]->line, p->lineno);
			return perr(p, p->lineno, EM_EINVAL,
				    "workload [%s] has the name of [%s] on line %u (names are "
				    "compared ignoring case: their lock files would collide on "
				    "Windows and macOS)", qs, w[i]->name, w[i]->line);
		}
		if (p->work.n >= EM_MATRIX_MAX_WORKLOADS)
			return perr(p, p->lineno, EM_ELIMIT, "more than %d workloads",
				    EM_MATRIX_MAX_WORKLOADS);
	}
	struct sect *sec = em_arena_zalloc(p->a, sizeof *sec);
	if (!sec)
		return nomem(p);
	sec->name = em_arena_strndup(p->a, s, sn);
	sec->line = p->lineno;
	sec->is_matrix = is_matrix;
	if (!sec->name)
		return nomem(p);
	if (is_matrix) {
		p->matrix = sec;
	} else {
		struct sect **slot = vec_push(p->a, &p->work, sizeof *slot);
		if (!slot)
			return nomem(p);
		*slot = sec;
	}
	p->cur = sec;
	p->cont_ok = false;
	/* hand inih a header so it forgets the previous key */
	memcpy(p->out, "[s]\n", 4);
	p->outlen = 4;
	p->outpos = 0;
	p->kind = LINE_SECTION;
	return 0;
}

/* Whether an indented line reads as a section header: '[', a name with no
 * blanks and no brackets, ']'. ("[ -e /dev/nvidia0 ]" under verify is a
 * command, not a header.) */
static bool indented_header(const char *t, size_t n)
{
	if (n < 3 || t[0] != '[' || t[n - 1] != ']')
		return false;
	for (size_t i = 1; i + 1 < n; i++)
		if (is_blank((unsigned char)t[i]) || t[i] == '[' || t[i] == ']')
			return false;
	return true;
}

/* Read the next line into p->out. Returns 0, 1 at the end, or the error. */
static int next_line(struct mparser *p, size_t room)
{
	if (p->pos >= p->len)
		return 1;
	const char *line = p->buf + p->pos;
	const char *nl = memchr(line, '\n', p->len - p->pos);
	size_t n = nl ? (size_t)(nl - line) : p->len - p->pos;
	p->pos += n + (nl != NULL);
	p->lineno++;
	if (n && line[n - 1] == '\r')
		n--;
	if (p->lineno == 1 && n >= 3 && !memcmp(line, "\xef\xbb\xbf", 3)) {
		line += 3;
		n -= 3;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)line[i];
		if (c == 0)
			return perr(p, p->lineno, EM_EINVAL,
				    "NUL byte in the file; is it saved as UTF-16? save it as UTF-8");
		if (c == '\r')
			return perr(p, p->lineno, EM_EINVAL,
				    "carriage return inside a line; lines end with \\n or \\r\\n");
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return perr(p, p->lineno, EM_EINVAL, "control character \\x%02x in the line",
				    c);
	}
	if (!em_utf8_valid(line, n))
		return perr(p, p->lineno, EM_EINVAL, "the line is not valid UTF-8; save the file "
			    "as UTF-8");
	size_t lead = 0;
	while (lead < n && is_blank((unsigned char)line[lead]))
		lead++;
	struct em_str t = strip_blanks(line + lead, n - lead);
	p->text = t.p;
	p->textn = t.n;
	if (t.n == 0 || t.p[0] == ';' || t.p[0] == '#') {
		p->kind = LINE_BLANK;
		p->out[0] = '\n';
		p->outlen = 1;
		p->outpos = 0;
		return 0;
	}
	p->any_content = true;
	if (count_chars(line, n) > EM_MATRIX_MAX_LINE)
		return perr(p, p->lineno, EM_ELIMIT,
			    "line is longer than %d characters; split packages and find-links over "
			    "indented continuation lines, one per line", EM_MATRIX_MAX_LINE);
	/* "[name]" indented is a header in the wrong place wherever it stands,
	 * never a continuation line (a find-links entry, a verify command) */
	if (lead && indented_header(t.p, t.n)) {
		char qs[QUOTE];
		return perr(p, p->lineno, EM_EINVAL,
			    "'%s': a section header must not be indented; move it to the beginning "
			    "of the line", q(qs, t.p, t.n));
	}
	if (lead && p->cont_ok) {
		p->kind = LINE_CONT;
		hand(p, " ", 1, t.p, t.n, room);
		return 0;
	}
	if (t.p[0] == '[')
		return read_section(p, t.p, t.n);
	size_t i = 0;
	while (i < t.n && t.p[i] != '=' && t.p[i] != ':')
		i++;
	if (i == t.n) {
		char qs[QUOTE];
		const char *hint = "";
		struct em_arena_mark mk = em_arena_mark(p->a);
		struct em_requirement r;
		if (p->cur && !em_requirement_parse(p->a, t.p, t.n, &r, NULL))
			hint = "; to add it to packages, indent it under 'packages ='";
		em_arena_rewind(p->a, mk);
		return perr(p, p->lineno, EM_EINVAL, "'%s' is not a key = value line%s",
			    q(qs, t.p, t.n), hint);
	}
	struct em_str k = strip_blanks(t.p, i);
	struct em_str v = strip_blanks(t.p + i + 1, t.n - i - 1);
	if (k.n > MAX_KEY) {
		char qs[QUOTE];
		return perr(p, p->lineno, EM_EINVAL, "unknown key '%s': longer than %d characters",
			    q(qs, k.p, k.n), MAX_KEY);
	}
	char pre[MAX_KEY + 2];
	memcpy(pre, k.p, k.n);
	for (size_t j = 0; j < k.n; j++)
		if (pre[j] == ';')
			pre[j] = SEMI;
	pre[k.n] = '=';
	p->kind = LINE_KEY;
	hand(p, pre, k.n + 1, v.p, v.n, room);
	p->cont_ok = k.n > 0;
	return 0;
}

/* fgets() for inih: one line of the buffer per call (the rest of it when
 * inih's buffer is smaller than the line). */
static char *reader(char *str, int num, void *stream)
{
	struct mparser *p = stream;
	if (p->rc || num < 2)
		return NULL;
	if (p->outpos == p->outlen) {
		int rc = next_line(p, (size_t)num - 1);
		if (rc)
			return NULL;
	}
	size_t k = p->outlen - p->outpos;
	if (k > (size_t)num - 1)
		k = (size_t)num - 1;
	memcpy(str, p->out + p->outpos, k);
	str[k] = '\0';
	p->outpos += k;
	return str;
}

/* ---- from sections to workloads ---- */

static const struct em_setting *pick(const struct sect *s, const struct sect *m, enum key k)
{
	if (s->v[k].value)
		return &s->v[k];
	if (m && m->v[k].value)
		return &m->v[k];
	return NULL;
}

static struct em_setting dflt(const char *value)
{
	struct em_setting s = { value, 0 };
	return s;
}

static bool is_torch_variant_label(const char *l)
{
	if (!strcmp(l, "cpu") || !strcmp(l, "xpu") || !strncmp(l, "rocm", 4))
		return true;
	if (l[0] != 'c' || l[1] != 'u' || !l[2])
		return false;
	for (const char *c = l + 2; *c; c++)
		if (!em_is_digit((unsigned char)*c))
			return false;
	return true;
}

/* torch = 2.8.0+cu126 with cuda = 12.4 cannot both hold. */
static int check_torch_cuda(struct mparser *p, const struct sect *s, struct em_workload *w)
{
	if (w->cuda_spec.kind == EM_CUDA_AUTO || w->cuda_spec.kind == EM_CUDA_UNSET)
		return 0;
	for (uint32_t i = 0; i < w->torch_spec.n; i++) {
		const struct em_spec *sp = &w->torch_spec.specs[i];
		if (!sp->has_local || sp->op != EM_OP_EQ)
			continue;
		const char *plus = memchr(sp->text, '+', sp->textlen);
		if (!plus)
			continue;
		char label[32];
		size_t ln = sp->textlen - (size_t)(plus + 1 - sp->text);
		if (ln >= sizeof label)
			continue;
		for (size_t j = 0; j < ln; j++)
			label[j] = (char)em_lower((unsigned char)plus[1 + j]);
		label[ln] = '\0';
		if (!is_torch_variant_label(label) || !strcmp(label, w->cuda_spec.variant))
			continue;
		uint32_t line = w->cuda.line > w->torch.line ? w->cuda.line : w->torch.line;
		char qt[QUOTE], qc[QUOTE];
		return perr(p, line, EM_EINVAL,
			    "workload [%s]: torch '%s' asks for the %s build but cuda is '%s' (%s); "
			    "drop '+%s' from torch or set cuda to match", s->name,
			    q(qt, w->torch.value, strlen(w->torch.value)), label,
			    q(qc, w->cuda.value, strlen(w->cuda.value)), w->cuda_spec.variant, label);
	}
	return 0;
}

static int build_workload(struct mparser *p, const struct sect *s, const struct em_matrix *mx,
			  struct em_workload *w)
{
	const struct sect *m = p->matrix;
	const struct em_setting *st;
	memset(w, 0, sizeof *w);
	w->name = s->name;
	w->line = s->line;
	w->description = s->v[K_DESCRIPTION];
	w->path = s->v[K_PATH].value ? s->v[K_PATH] : dflt(".");
	st = pick(s, m, K_VENV);
	w->venv = st ? *st : dflt(".venv");

	st = pick(s, m, K_PYTHON);
	if (!st)
		return perr(p, s->line, EM_EINVAL,
			    "workload [%s] has no python; add python = 3.12 (or a version for "
			    "every workload in [matrix])", s->name);
	w->python = *st;
	w->python_req = s->v[K_PYTHON].value ? s->py : m->py;

	st = pick(s, m, K_TORCH);
	if (st) {
		w->torch = *st;
		w->torch_spec = s->v[K_TORCH].value ? s->torch : m->torch;
	}
	if (s->v[K_CUDA].value && !w->torch.value)
		return perr(p, s->v[K_CUDA].line, EM_EINVAL,
			    "cuda in [%s]: cuda picks the PyTorch build, but [%s] has no torch; "
			    "add torch = VERSION or remove cuda", s->name, s->name);
	if (w->torch.value) {
		st = pick(s, m, K_CUDA);
		if (st) {
			w->cuda = *st;
			w->cuda_spec = s->v[K_CUDA].value ? s->cuda : m->cuda;
		} else {
			w->cuda = dflt("auto");
			w->cuda_spec.kind = EM_CUDA_AUTO;
		}
		int rc = check_torch_cuda(p, s, w);
		if (rc)
			return rc;
	}

	w->platform = s->v[K_PLATFORM].value ? s->v[K_PLATFORM] : mx->platform;
	w->index_url = s->v[K_INDEX_URL].value ? s->v[K_INDEX_URL] : mx->index_url;
	w->torch_index_url =
		s->v[K_TORCH_INDEX_URL].value ? s->v[K_TORCH_INDEX_URL] : mx->torch_index_url;
	w->cuda_driver = s->v[K_CUDA_DRIVER].value ? s->v[K_CUDA_DRIVER] : mx->cuda_driver;
	w->python_home = s->v[K_PYTHON_HOME].value ? s->v[K_PYTHON_HOME] : mx->python_home;
	w->requirements = s->v[K_REQUIREMENTS];

	/* find-links: the workload's own (even an empty one) replace [matrix]'s */
	const struct sect *fl = s->v[K_FIND_LINKS].line || !m ? s : m;
	w->nfind_links = fl->find_links.n;
	w->find_links = fl->find_links.p;

	/* packages: [matrix]'s, then the workload's */
	uint32_t mp = m ? m->packages.n : 0;
	uint32_t np = mp + s->packages.n;
	if (np > EM_MATRIX_MAX_PACKAGES)
		return perr(p, s->line, EM_ELIMIT,
			    "workload [%s] has more than %d packages with those from [matrix]",
			    s->name, EM_MATRIX_MAX_PACKAGES);
	if (np) {
		struct em_req_line *pk = em_arena_array(p->a, np, sizeof *pk);
		if (!pk)
			return nomem(p);
		if (mp)
			memcpy(pk, m->packages.p, mp * sizeof *pk);
		if (s->packages.n)
			memcpy(pk + mp, s->packages.p, s->packages.n * sizeof *pk);
		w->packages = pk;
		w->npackages = np;
	}

	/* no-build, only-binary, no-binary: the workload's own, else [matrix]'s */
	struct em_pkg_set *sets[3] = { &w->no_build, &w->only_binary, &w->no_binary };
	for (int k = 0; k < 3; k++) {
		enum key key = (enum key)(K_NO_BUILD + k);
		const struct sect *from = s->v[key].value ? s : (m && m->v[key].value ? m : NULL);
		if (from) {
			*sets[k] = from->pkgs[k];
			sets[k]->setting = from->v[key];
		}
		sets[k]->key = keys[key].name;
	}
	for (int k = 0; k < 2; k++) {
		const struct em_pkg_set *r = sets[k], *nb = &w->no_binary;
		const char *both = NULL;
		if (r->all && nb->all)
			both = "every package";
		for (uint32_t i = 0; !both && i < nb->n; i++)
			if (pkg_set_names(r, nb->names[i]))
				both = nb->names[i];
		if (both)
			return perr(p, r->setting.line > nb->setting.line ? r->setting.line
									 : nb->setting.line,
				    EM_EINVAL,
				    "workload [%s]: %s (line %u) refuses the sdist of %s, and "
				    "no-binary (line %u) its wheels; name the package in only one",
				    s->name, r->key, r->setting.line, both, nb->setting.line);
	}

	/* no-build-isolation: the workload's own, else [matrix]'s */
	{
		const struct sect *from = s->v[K_NO_BUILD_ISOLATION].value ? s
					  : (m && m->v[K_NO_BUILD_ISOLATION].value ? m : NULL);
		if (from) {
			w->no_build_isolation = from->pkgs[3];
			w->no_build_isolation.setting = from->v[K_NO_BUILD_ISOLATION];
		}
		w->no_build_isolation.key = keys[K_NO_BUILD_ISOLATION].name;
	}
	st = pick(s, m, K_BUILD_CONSTRAINTS);
	if (st)
		w->build_constraints = *st;
	/* build-requires.PKG, config-settings.PKG: per PKG the workload's, else
	 * [matrix]'s */
	for (int k = 0; k < 2; k++) {
		const struct pkgent *me = m ? m->pkgvals[k].p : NULL, *se = s->pkgvals[k].p;
		uint32_t nme = m ? m->pkgvals[k].n : 0, ne = s->pkgvals[k].n, o = 0;
		struct em_pkg_values *pv = em_arena_array(p->a, nme + ne ? nme + ne : 1, sizeof *pv);
		if (!pv)
			return nomem(p);
		for (uint32_t i = 0; i < nme + ne; i++) {
			const struct pkgent *pe = i < nme ? &me[i] : &se[i - nme];
			bool overridden = false;
			for (uint32_t j = 0; i < nme && j < ne && !overridden; j++)
				overridden = !strcmp(pe->name, se[j].name);
			if (overridden)
				continue;
			pv[o++] = (struct em_pkg_values){ pe->key, pe->name, pe->line, pe->vals.n,
							  pe->vals.p };
		}
		if (k == 0) {
			w->build_requires = pv;
			w->nbuild_requires = o;
		} else {
			w->config_settings = pv;
			w->nconfig_settings = o;
		}
	}
	/* a package no sdist is allowed for is never built */
	for (uint32_t i = 0; i < w->no_build_isolation.n; i++) {
		const char *name = w->no_build_isolation.names[i];
		uint32_t line = w->no_build_isolation.setting.line;
		for (int k = 0; k < 2; k++) {
			const struct em_pkg_set *r = sets[k];
			if (!pkg_set_names(r, name))
				continue;
			return perr(p, line > r->setting.line ? line : r->setting.line, EM_EINVAL,
				    "workload [%s]: %s (line %u) refuses the sdist of %s, which "
				    "no-build-isolation (line %u) builds; name the package in only "
				    "one", s->name, r->key, r->setting.line, name, line);
		}
	}

	/* verify: [matrix]'s commands, then the workload's */
	uint32_t mv = m ? m->verify.n : 0, nv = mv + s->verify.n;
	if (nv > EM_MATRIX_MAX_VERIFY)
		return perr(p, s->line, EM_ELIMIT,
			    "workload [%s] has more than %d verify commands with those from [matrix]",
			    s->name, EM_MATRIX_MAX_VERIFY);
	if (nv) {
		struct em_setting *vc = em_arena_array(p->a, nv, sizeof *vc);
		if (!vc)
			return nomem(p);
		if (mv)
			memcpy(vc, m->verify.p, mv * sizeof *vc);
		if (s->verify.n)
			memcpy(vc + mv, s->verify.p, s->verify.n * sizeof *vc);
		w->verify = vc;
		w->nverify = nv;
	}

	/* env: [matrix]'s that the workload does not set, then its own */
	const struct em_env_var *me = m ? m->env.p : NULL;
	const struct em_env_var *se = s->env.p;
	uint32_t nme = m ? m->env.n : 0;
	uint32_t ne = s->env.n;
	struct em_env_var *ev = NULL;
	if (nme + ne) {
		ev = em_arena_array(p->a, nme + ne, sizeof *ev);
		if (!ev)
			return nomem(p);
	}
	uint32_t o = 0;
	for (uint32_t i = 0; i < nme; i++) {
		bool overridden = false;
		for (uint32_t j = 0; j < ne && !overridden; j++)
			overridden = ieq_n(me[i].name, strlen(me[i].name), se[j].name,
					   strlen(se[j].name));
		if (!overridden)
			ev[o++] = me[i];
	}
	for (uint32_t j = 0; j < ne; j++)
		ev[o++] = se[j];
	if (o > EM_MATRIX_MAX_ENV)
		return perr(p, s->line, EM_ELIMIT,
			    "workload [%s] has more than %d env.NAME keys with those from [matrix]",
			    s->name, EM_MATRIX_MAX_ENV);
	w->env = ev;
	w->nenv = o;
	return 0;
}

/* The folder a workload's environment lives in, for comparing: ASCII lower
 * case, '/' separators, '.' and '..' folded where the path allows. */
static int venv_key(struct em_arena *a, const struct em_workload *w, char **out, bool *absolute)
{
	const char *parts[2] = { w->path.value, w->venv.value };
	size_t total = strlen(parts[0]) + strlen(parts[1]) + 4;
	char *k = em_arena_alloc(a, total);
	if (!k)
		return EM_ENOMEM;
	size_t o = 0;
	*absolute = is_absolute(parts[0], strlen(parts[0]));
	if (*absolute && (parts[0][0] == '/' || parts[0][0] == '\\'))
		k[o++] = '/';
	size_t root = o;
	for (int pi = 0; pi < 2; pi++) {
		const char *s = parts[pi];
		size_t n = strlen(s), i = 0;
		while (i < n) {
			size_t j = i;
			while (j < n && s[j] != '/' && s[j] != '\\')
				j++;
			size_t sn = j - i;
			if (sn == 0 || (sn == 1 && s[i] == '.')) {
				/* nothing */
			} else if (sn == 2 && s[i] == '.' && s[i + 1] == '.') {
				/* fold "x/.." unless at the root or after another ".." */
				size_t cut = o;
				while (cut > root && k[cut - 1] != '/')
					cut--;
				bool dotdot = o - cut == 2 && k[cut] == '.' && k[cut + 1] == '.';
				if (o > root && !dotdot) {
					o = cut > root ? cut - 1 : root;
				} else {
					if (o > root)
						k[o++] = '/';
					k[o++] = '.';
					k[o++] = '.';
				}
			} else {
				if (o > root && k[o - 1] != '/')
					k[o++] = '/';
				for (size_t c = i; c < j; c++)
					k[o++] = (char)em_lower((unsigned char)s[c]);
			}
			i = j + 1;
		}
	}
	k[o] = '\0';
	*out = k;
	return 0;
}

/* Whether folder b is a or inside it. */
static bool same_or_inside(const char *a, const char *b)
{
	size_t an = strlen(a);
	if (strncmp(a, b, an))
		return false;
	return b[an] == '\0' || b[an] == '/' || an == 0;
}

static int check_collisions(struct mparser *p, const struct em_matrix *m)
{
	struct em_arena_mark mk = em_arena_mark(p->a);
	char **key = em_arena_array(p->a, m->nworkloads, sizeof *key);
	bool *abs = em_arena_array(p->a, m->nworkloads, sizeof *abs);
	if (!key || !abs)
		return nomem(p);
	for (uint32_t i = 0; i < m->nworkloads; i++)
		if (venv_key(p->a, &m->workloads[i], &key[i], &abs[i]))
			return nomem(p);
	int rc = 0;
	for (uint32_t i = 0; i < m->nworkloads && !rc; i++) {
		for (uint32_t j = 0; j < i && !rc; j++) {
			if (abs[i] != abs[j])
				continue;
			const struct em_workload *a = &m->workloads[j], *b = &m->workloads[i];
			const char *ka = key[j], *kb = key[i];
			char qa[QUOTE], qb[QUOTE];
			if (!strcmp(ka, kb))
				rc = perr(p, b->line, EM_EINVAL,
					  "workloads [%s] (line %u) and [%s] share the environment "
					  "folder '%s'; give each its own venv or path", a->name, a->line,
					  b->name, q(qa, ka[0] ? ka : ".", strlen(ka[0] ? ka : ".")));
			else if (same_or_inside(ka, kb) || same_or_inside(kb, ka))
				rc = perr(p, b->line, EM_EINVAL,
					  "the environment folders of [%s] (line %u, '%s') and [%s] "
					  "('%s') are nested; an apply would replace one inside the "
					  "other", a->name, a->line, q(qa, ka, strlen(ka)), b->name,
					  q(qb, kb, strlen(kb)));
		}
	}
	em_arena_rewind(p->a, mk);
	return rc;
}

static int build(struct mparser *p, struct em_matrix *out)
{
	const struct sect *m = p->matrix;
	memset(out, 0, sizeof *out);
	out->file = p->file;
	if (m) {
		out->name = m->v[K_NAME];
		out->python_mirror = m->v[K_PYTHON_MIRROR];
		out->cuda_driver = m->v[K_CUDA_DRIVER];
		out->python_home = m->v[K_PYTHON_HOME];
		out->cache_dir = m->v[K_CACHE_DIR];
		out->ca_file = m->v[K_CA_FILE];
		out->history = m->v[K_HISTORY];
		out->nmirrors = m->mirrors.n;
		out->mirrors = m->mirrors.p;
		out->jobs = m->v[K_JOBS];
	}
#define SETTING(k, d) (m && m->v[k].value ? m->v[k] : dflt(d))
	out->platform = SETTING(K_PLATFORM, "auto");
	out->index_url = SETTING(K_INDEX_URL, DEFAULT_INDEX_URL);
	out->torch_index_url = SETTING(K_TORCH_INDEX_URL, DEFAULT_TORCH_INDEX_URL);
	out->link_mode = SETTING(K_LINK_MODE, "auto");
#undef SETTING
	if (out->jobs.value) {
		uint64_t j = 0;
		em_parse_u64(out->jobs.value, strlen(out->jobs.value), &j);
		out->njobs = (uint32_t)j;
	}
	uint32_t n = p->work.n;
	struct em_workload *w = em_arena_array(p->a, n, sizeof *w);
	if (!w)
		return nomem(p);
	struct sect **secs = p->work.p;
	for (uint32_t i = 0; i < n; i++) {
		int rc = build_workload(p, secs[i], out, &w[i]);
		if (rc)
			return rc;
	}
	out->workloads = w;
	out->nworkloads = n;
	return check_collisions(p, out);
}

int em_matrix_parse(struct em_arena *a, const char *buf, size_t len, const char *file,
		    struct em_matrix *out, struct em_error *e)
{
	memset(out, 0, sizeof *out);
	if (!file)
		file = "matrix.ini";
	struct mparser parser;
	struct mparser *p = &parser;
	memset(p, 0, sizeof *p);
	p->a = a;
	p->e = e;
	p->file = em_arena_strdup(a, file);
	if (!p->file)
		return em_err_nomem(e);
	p->buf = buf;
	p->len = len;
	if (len > EM_MATRIX_MAX_LEN)
		return perr(p, 0, EM_ELIMIT, "the matrix is larger than %u MiB",
			    EM_MATRIX_MAX_LEN >> 20);
	int r = ini_parse_stream(reader, p, handler, p);
	if (p->rc)
		return p->rc;
	if (r == -2)
		return nomem(p);
	if (r)
		return perr(p, r > 0 ? (uint32_t)r : p->lineno, EM_EINVAL,
			    "inih could not read this line");
	if (p->work.n == 0) {
		if (!p->any_content)
			return perr(p, 0, EM_EINVAL,
				    "the matrix is empty; add a workload section such as [vlm] "
				    "with python = 3.12");
		return perr(p, 0, EM_EINVAL,
			    "the matrix has no workloads; add a section such as [vlm] with "
			    "python = 3.12");
	}
	struct em_matrix m;
	int rc = build(p, &m);
	if (rc)
		return rc;
	*out = m;
	return 0;
}

const struct em_workload *em_matrix_find(const struct em_matrix *m, const char *name)
{
	if (!m || !name)
		return NULL;
	size_t n = strlen(name);
	for (uint32_t i = 0; i < m->nworkloads; i++)
		if (ieq_n(m->workloads[i].name, strlen(m->workloads[i].name), name, n))
			return &m->workloads[i];
	return NULL;
}

/* ---- verify commands ---- */

int em_command_split(struct em_arena *a, const char *s, char ***words, uint32_t *n,
		     struct em_error *e)
{
	*words = NULL;
	*n = 0;
	size_t len = strlen(s);
	char **w = em_arena_array(a, EM_COMMAND_MAX_WORDS + 1, sizeof *w);
	char *buf = em_arena_alloc(a, len + 1);
	if (!w || !buf)
		return em_err_nomem(e);
	uint32_t nw = 0;
	size_t i = 0;
	while (i < len) {
		while (i < len && (s[i] == ' ' || s[i] == '\t'))
			i++;
		if (i == len)
			break;
		if (nw == EM_COMMAND_MAX_WORDS)
			return em_err(e, EM_ELIMIT, NULL, "more than %d words", EM_COMMAND_MAX_WORDS);
		char *o = buf;
		while (i < len && s[i] != ' ' && s[i] != '\t') {
			char c = s[i];
			if (c == '\'') {
				const char *end = strchr(s + i + 1, '\'');
				if (!end)
					return em_err(e, EM_EINVAL, NULL, "a ' is not closed");
				size_t k = (size_t)(end - (s + i + 1));
				memcpy(o, s + i + 1, k);
				o += k;
				i += k + 2;
			} else if (c == '"') {
				i++;
				while (i < len && s[i] != '"') {
					if (s[i] == '\\' && i + 1 < len &&
					    strchr("\\\"$`", s[i + 1]))
						i++;
					*o++ = s[i++];
				}
				if (i == len)
					return em_err(e, EM_EINVAL, NULL, "a \" is not closed");
				i++;
			} else if (c == '\\') {
				if (i + 1 == len)
					return em_err(e, EM_EINVAL, NULL,
						      "a backslash ends the command");
				*o++ = s[i + 1];
				i += 2;
			} else {
				*o++ = c;
				i++;
			}
		}
		w[nw] = em_arena_strndup(a, buf, (size_t)(o - buf));
		if (!w[nw])
			return em_err_nomem(e);
		nw++;
	}
	if (!nw)
		return em_err(e, EM_EINVAL, NULL, "no command");
	w[nw] = NULL;
	*words = w;
	*n = nw;
	return 0;
}

/* ---- requirements files ---- */

struct rparser {
	struct em_arena *a;
	struct em_error *e;
	const char *file;
	struct vec reqs;     /* struct em_req_line */
	struct vec includes; /* struct em_req_line */
};

static int rerr(struct rparser *r, uint32_t line, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int rerr(struct rparser *r, uint32_t line, int code, const char *fmt, ...)
{
	char where[EM_ERROR_WHERE_MAX];
	char msg[EM_ERROR_MSG_MAX];
	snprintf(where, sizeof where, "%s:%u", r->file, line);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return em_err(r->e, code, where, "%s", msg);
}

/* pip's comment rule: '#' at the start or after whitespace. */
static size_t comment_start(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] == '#' && (i == 0 || is_blank((unsigned char)s[i - 1])))
			return i;
	return n;
}

static int add_line(struct rparser *r, struct vec *v, uint32_t max, const char *what,
		    const char *s, size_t n, uint32_t line)
{
	if (v->n >= max)
		return rerr(r, line, EM_ELIMIT, "more than %u %s in one file", max, what);
	struct em_req_line *l = vec_push(r->a, v, sizeof *l);
	if (!l)
		return em_err_nomem(r->e);
	l->text = em_arena_strndup(r->a, s, n);
	l->file = r->file;
	l->line = line;
	return l->text ? 0 : em_err_nomem(r->e);
}

static int option_line(struct rparser *r, const char *s, size_t n, uint32_t line)
{
	char qs[QUOTE];
	size_t on = 0;
	while (on < n && !is_blank((unsigned char)s[on]) && s[on] != '=')
		on++;
	const char *arg = NULL;
	size_t argn = 0;
	bool is_r = em_str_eq(s, on, "-r") || em_str_eq(s, on, "--requirement");
	if (!is_r && on > 2 && s[0] == '-' && s[1] == 'r') {
		/* -rFILE */
		is_r = true;
		on = 2;
	}
	if (is_r) {
		size_t i = on;
		if (i < n && s[i] == '=')
			i++;
		struct em_str f = strip_blanks(s + i, n - i);
		if (f.n >= 2 && (f.p[0] == '"' || f.p[0] == '\'') && f.p[f.n - 1] == f.p[0]) {
			f.p++;
			f.n -= 2;
		}
		arg = f.p;
		argn = f.n;
		if (argn == 0)
			return rerr(r, line, EM_EINVAL, "'%s' names no file", q(qs, s, n));
		return add_line(r, &r->includes, EM_REQFILE_MAX_INCLUDES, "-r includes", arg, argn,
				line);
	}
	q(qs, s, on);
	const char *why;
	if (em_str_eq(s, on, "-c") || em_str_eq(s, on, "--constraint"))
		why = "constraints files are not supported; pin the versions in the requirements "
		      "themselves";
	else if (em_str_eq(s, on, "-e") || em_str_eq(s, on, "--editable"))
		why = "editable installs are not supported: envmatrix installs wheels from the "
		      "index or find-links";
	else if (em_str_eq(s, on, "-i") || em_str_eq(s, on, "--index-url") ||
		 em_str_eq(s, on, "--extra-index-url") || em_str_eq(s, on, "--no-index"))
		why = "set index-url in the matrix instead";
	else if (em_str_eq(s, on, "-f") || em_str_eq(s, on, "--find-links"))
		why = "set find-links in the matrix instead";
	else if (em_str_eq(s, on, "--hash"))
		why = "envmatrix records the sha256 of every wheel in pylock.<workload>.toml; "
		      "remove the hash";
	else if (em_str_eq(s, on, "--pre"))
		why = "name a pre-release in the requirement's specifier instead (pkg>=2.0rc1)";
	else if (em_str_eq(s, on, "--only-binary") || em_str_eq(s, on, "--no-binary") ||
		 em_str_eq(s, on, "--prefer-binary"))
		why = "envmatrix installs wheels only; remove the option";
	else
		why = "requirements files read by envmatrix hold requirements and -r includes "
		      "only; remove it";
	return rerr(r, line, EM_EINVAL, "option '%s' is not supported: %s", qs, why);
}

static int logical_line(struct rparser *r, const char *s, size_t n, uint32_t line)
{
	char qs[QUOTE];
	n = comment_start(s, n);
	struct em_str t = strip_blanks(s, n);
	if (t.n == 0)
		return 0;
	if (t.p[0] == '-')
		return option_line(r, t.p, t.n, line);
	/* pip splits options off a requirement at the first word starting with '-' */
	for (size_t i = 1; i < t.n; i++) {
		if (t.p[i] == '-' && t.p[i - 1] == ' ') {
			struct em_str opt = strip_blanks(t.p + i, t.n - i);
			return option_line(r, opt.p, opt.n, line);
		}
	}
	struct em_arena_mark mk = em_arena_mark(r->a);
	struct em_requirement req;
	struct em_error se;
	em_error_clear(&se);
	int rc = em_requirement_parse(r->a, t.p, t.n, &req, &se);
	em_arena_rewind(r->a, mk);
	if (rc == EM_ENOMEM)
		return em_err_nomem(r->e);
	if (rc) {
		const char *hint = "";
		if (t.p[0] == '.' || t.p[0] == '/' || t.p[0] == '\\' ||
		    (t.n > 3 && memmem(t.p, t.n, "://", 3) && !memchr(t.p, '@', t.n)))
			hint = "; only PEP 508 requirements (name[extras] specifier ; marker) are "
			       "read: for a local wheel use find-links in the matrix";
		return rerr(r, line, rc, "invalid requirement '%s': %s%s", q(qs, t.p, t.n),
			    se.msg, hint);
	}
	return add_line(r, &r->reqs, EM_REQFILE_MAX_REQS, "requirements", t.p, t.n, line);
}

int em_reqfile_parse(struct em_arena *a, const char *buf, size_t len, const char *file,
		     struct em_reqfile *out, struct em_error *e)
{
	memset(out, 0, sizeof *out);
	struct rparser r;
	memset(&r, 0, sizeof r);
	r.a = a;
	r.e = e;
	r.file = em_arena_strdup(a, file ? file : "requirements.txt");
	if (!r.file)
		return em_err_nomem(e);
	if (len > EM_MATRIX_MAX_LEN)
		return em_err(e, EM_ELIMIT, r.file, "the requirements file is larger than %u MiB",
			      EM_MATRIX_MAX_LEN >> 20);
	struct em_buf join;
	em_buf_init(&join, EM_REQUIREMENT_MAX_LEN);
	uint32_t lineno = 0, first = 0;
	size_t pos = 0;
	int rc = 0;
	while (pos < len && !rc) {
		const char *line = buf + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) : len - pos;
		pos += n + (nl != NULL);
		lineno++;
		if (n && line[n - 1] == '\r')
			n--;
		if (lineno == 1 && n >= 3 && !memcmp(line, "\xef\xbb\xbf", 3)) {
			line += 3;
			n -= 3;
		}
		for (size_t i = 0; i < n && !rc; i++) {
			unsigned char c = (unsigned char)line[i];
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				rc = rerr(&r, lineno, EM_EINVAL,
					  c == 0 ? "NUL byte in the file; save it as UTF-8 text"
						 : "control character in the line");
		}
		if (rc)
			break;
		bool has_comment = comment_start(line, n) < n;
		if (!has_comment && n && line[n - 1] == '\\') {
			/* backslash-newline: the line goes on (pip numbers it by its first line) */
			if (!join.len)
				first = lineno;
			size_t k = n;
			while (k && line[k - 1] == '\\')
				k--;
			em_buf_add(&join, line, k);
			if (join.err)
				rc = rerr(&r, first, EM_ELIMIT,
					  "a continued line is longer than %d bytes",
					  EM_REQUIREMENT_MAX_LEN);
			continue;
		}
		if (join.len) {
			if (has_comment)
				em_buf_addc(&join, ' ');
			em_buf_add(&join, line, n);
			if (join.err) {
				rc = rerr(&r, first, EM_ELIMIT,
					  "a continued line is longer than %d bytes",
					  EM_REQUIREMENT_MAX_LEN);
				break;
			}
			rc = logical_line(&r, join.ptr, join.len, first);
			em_buf_reset(&join);
		} else {
			rc = logical_line(&r, line, n, lineno);
		}
	}
	if (!rc && join.len)
		rc = logical_line(&r, join.ptr, join.len, first);
	em_buf_release(&join);
	if (rc)
		return rc;
	out->nreqs = r.reqs.n;
	out->reqs = r.reqs.p;
	out->nincludes = r.includes.n;
	out->includes = r.includes.p;
	return 0;
}
