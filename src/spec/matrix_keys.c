/* matrix_keys.c - the keys of matrix.ini and their values
 *
 * The reader (matrix.c) hands every key = value line of a section, and
 * every indented line that continues a key, to em_mx_on_key and
 * em_mx_on_cont: the key is looked up (with a suggestion when it is
 * misspelt) and checked against the section it stands in, and its value is
 * checked and kept in the section (struct sect), so the workloads are built
 * from checked values only (matrix_workload.c).
 */
#include "spec/matrix_int.h"
#include "spec/name.h"
#include "spec/pep508.h"
#include "spec/target.h"

#include <strings.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char comment_hint[] =
	"; comments go on their own line: ';' and '#' start a comment only at the "
	"beginning of a line";

/* ---- keys ---- */

const struct keyinfo em_mx_keys[K_COUNT] = {
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
		const char *c = em_mx_keys[i].name;
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
		int w = snprintf(dst + o, size - o, "%s%s", i ? ", " : "", em_mx_keys[order[i]].name);
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

/* Whether list v of key in the current section has room for one more
 * entry: at most max, called what in the message. */
static int check_room(struct mparser *p, const struct vec *v, uint32_t max, const char *key,
		      const char *what)
{
	if (v->n < max)
		return 0;
	char label[EM_MATRIX_MAX_NAME + 3];
	return perr(p, p->lineno, EM_ELIMIT, "%s in %s: more than %u %s", key,
		    sect_label(p->cur, label, sizeof label), max, what);
}

static int add_package(struct mparser *p, const char *v, size_t n)
{
	struct sect *s = p->cur;
	int rc = check_room(p, &s->packages, EM_MATRIX_MAX_PACKAGES, "packages", "requirements");
	if (!rc)
		rc = check_requirement(p, "packages", v, n);
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
	int rc = check_room(p, &s->find_links, EM_MATRIX_MAX_FIND_LINKS, "find-links", "locations");
	if (!rc)
		rc = check_location(p, "find-links", v, n, true);
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
	int rc = check_room(p, &s->verify, EM_MATRIX_MAX_VERIFY, "verify", "commands");
	if (rc)
		return rc;
	char *text = em_arena_strndup(p->a, v, n);
	if (!text)
		return nomem(p);
	struct em_error se;
	em_error_clear(&se);
	char **words;
	uint32_t nw;
	struct em_arena_mark mk = em_arena_mark(p->a);
	rc = em_command_split(p->a, text, &words, &nw, &se);
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
	int rc = check_room(p, &s->mirrors, EM_MATRIX_MAX_FIND_LINKS, "mirrors", "lines");
	if (rc)
		return rc;
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
	const char *key = em_mx_keys[k].name;
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
		rc = check_room(p, &pe->vals, EM_MATRIX_MAX_PKG_VALUES, pe->key, "requirements");
		if (rc)
			return rc;
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
		rc = check_room(p, &pe->vals, EM_MATRIX_MAX_PKG_VALUES, pe->key, "settings");
		if (rc)
			return rc;
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
			    em_mx_keys[key].name, label);
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
	const char *name = em_mx_keys[k].name;
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
	case K_TORCH:
	case K_CUDA:
		if (k == K_PYTHON)
			rc = em_python_req_parse(p->a, v, n, &s->py, &se);
		else if (k == K_TORCH)
			rc = em_torch_req_parse(p->a, v, n, &s->torch, &se);
		else
			rc = em_cuda_parse(v, n, &s->cuda, &se);
		if (rc == EM_ENOMEM)
			return nomem(p);
		if (rc)
			return perr(p, p->lineno, rc, "%s in %s: %s%s", name, label, se.msg,
				    hint_if_commented(v, n));
		if (k == K_PYTHON && s->py.kind == EM_PYTHON_PATH && looks_commented(v, n))
			return perr(p, p->lineno, EM_EINVAL,
				    "python in %s: '%s' looks like a path followed by a comment%s",
				    label, qv, comment_hint);
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

int em_mx_on_key(struct mparser *p, const char *k, size_t kn, const char *v, size_t vn)
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
			    em_str_eq(k, kn, em_mx_keys[i].name))
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
	if (!(em_mx_keys[key].in & here)) {
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

int em_mx_on_cont(struct mparser *p, const char *v, size_t vn)
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
