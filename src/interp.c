/* interp.c - the Python interpreters on this machine
 *
 * An interpreter is asked once what it is with
 *
 *     PATH -I -S -c SCRIPT
 *
 * -I (isolated: no PYTHON* variables, no user site, no script folder on
 * sys.path) and -S (no site) keep the environment from changing the answer
 * and make start-up quick. SCRIPT prints one line:
 *
 *     envmatrix-interp-1 IMPL MAJOR MINOR MICRO LEVEL SERIAL GIL_DISABLED
 *
 * e.g. "envmatrix-interp-1 cpython 3 13 0 final 0 1" for 3.13.0t. Python 2
 * has no -I and fails, which is the answer wanted.
 *
 * Discovery lists python3, python3.N and python3.Nt in every absolute PATH
 * folder, then in $PYENV_ROOT/versions/NAME/bin. PATH folders named
 * "shims" are skipped: pyenv's shims are scripts that run whichever
 * version pyenv selects, and the real interpreters behind them are found
 * in versions/. An executable with a pyvenv.cfg beside it or one folder up
 * belongs to a virtual environment and is skipped too (its base
 * interpreter is found on its own, by its realpath). Each realpath is
 * asked once.
 */
#include "envmatrix/interp.h"
#include "envmatrix/buf.h"
#include "envmatrix/proc.h"
#include "envmatrix/str.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ANSWER_TAG "envmatrix-interp-1"
#define ANSWER_MAX 4096

static const char script[] =
	"import sys, sysconfig\n"
	"v = sys.version_info\n"
	"print('" ANSWER_TAG " %s %d %d %d %s %d %d' % (sys.implementation.name, v[0], v[1], "
	"v[2], v[3], v[4], 1 if sysconfig.get_config_var('Py_GIL_DISABLED') else 0))\n";

/* Next space-separated word of the answer. */
static bool word(const char **p, const char *end, struct em_str *w)
{
	const char *s = *p;
	while (s < end && *s == ' ')
		s++;
	const char *b = s;
	while (s < end && *s != ' ')
		s++;
	*w = em_str_make(b, (size_t)(s - b));
	*p = s;
	return w->n > 0;
}

static bool small_number(struct em_str w, unsigned *out)
{
	uint64_t v;
	if (w.n > 6 || !em_parse_u64(w.p, w.n, &v))
		return false;
	*out = (unsigned)v;
	return true;
}

/* Parse the answer line into out->py and out->implementation. */
static bool parse_answer(struct em_arena *a, const char *s, size_t n, struct em_interp *out)
{
	const char *nl = memchr(s, '\n', n);
	const char *end = nl ? nl : s + n;
	if (end > s && end[-1] == '\r')
		end--;
	const char *p = s;
	struct em_str w[8];
	for (int k = 0; k < 8; k++)
		if (!word(&p, end, &w[k]))
			return false;
	struct em_str extra;
	if (word(&p, end, &extra) || !em_str_eq(w[0].p, w[0].n, ANSWER_TAG))
		return false;
	if (w[1].n > 32)
		return false;
	for (size_t i = 0; i < w[1].n; i++)
		if (!em_is_alnum((unsigned char)w[1].p[i]) && w[1].p[i] != '_')
			return false;
	struct em_python py;
	memset(&py, 0, sizeof py);
	unsigned serial, ft;
	if (!small_number(w[2], &py.major) || !small_number(w[3], &py.minor) ||
	    !small_number(w[4], &py.micro) || !small_number(w[6], &serial) ||
	    !small_number(w[7], &ft) || ft > 1)
		return false;
	py.has_micro = true;
	py.freethreaded = ft == 1;
	const char *level = NULL;
	if (em_str_eq(w[5].p, w[5].n, "alpha"))
		level = "a";
	else if (em_str_eq(w[5].p, w[5].n, "beta"))
		level = "b";
	else if (em_str_eq(w[5].p, w[5].n, "candidate"))
		level = "rc";
	else if (!em_str_eq(w[5].p, w[5].n, "final"))
		return false;
	if (level)
		snprintf(py.pre, sizeof py.pre, "%s%u", level, serial);
	char *impl = em_arena_strndup(a, w[1].p, w[1].n);
	if (!impl)
		return false;
	out->py = py;
	out->implementation = impl;
	return true;
}

/* The last non-empty line of what the interpreter wrote on stderr. */
static struct em_str last_line(const char *s, size_t n)
{
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
		n--;
	size_t b = n;
	while (b > 0 && s[b - 1] != '\n')
		b--;
	return em_str_make(s + b, n - b);
}

static int query(struct em_arena *a, const char *path, int timeout_ms, struct em_interp *out,
		 struct em_error *e)
{
	char q[EM_ERROR_MSG_MAX / 2];
	if (!a || !path || !out)
		return em_err(e, EM_EUSAGE, NULL, "em_interp_query: NULL argument");
	em_quote(q, sizeof q, path, strlen(path));
	memset(out, 0, sizeof *out);
	char *rp = realpath(path, NULL);
	if (!rp) {
		int err = errno;
		if (err == ENOENT || err == ENOTDIR)
			return em_err(e, EM_ENOTFOUND, NULL, "interpreter '%s' not found", q);
		return em_err(e, EM_EIO, NULL, "interpreter '%s': %s", q, strerror(err));
	}
	out->realpath = em_arena_strdup(a, rp);
	free(rp);
	out->path = em_arena_strdup(a, path);
	out->source = "";
	if (!out->realpath || !out->path)
		return em_err_nomem(e);

	struct em_arena_mark m = em_arena_mark(a);
	const char *argv[] = { path, "-I", "-S", "-c", script, NULL };
	struct em_proc_result r;
	int rc = em_proc_run(a, argv, NULL, ANSWER_MAX, timeout_ms, &r, e);
	if (rc)
		return rc;
	char msg[160];
	if (r.timed_out) {
		rc = em_err(e, EM_EINVAL, NULL, "interpreter '%s' did not answer within %d ms", q,
			    timeout_ms);
	} else if (r.status != 0) {
		struct em_str l = last_line(r.err, r.errlen);
		rc = em_err(e, EM_EINVAL, NULL, "interpreter '%s' failed (exit status %d)%s%s", q,
			    r.status, l.n ? ": " : "", em_quote(msg, sizeof msg, l.p, l.n));
	} else {
		/* the answer is copied before the output is released */
		char line[256];
		size_t n = r.outlen < sizeof line ? r.outlen : sizeof line - 1;
		memcpy(line, r.out, n);
		em_arena_rewind(a, m);
		if (!parse_answer(a, line, n, out)) {
			struct em_str l = last_line(line, n);
			return em_err(e, EM_EINVAL, NULL,
				      "interpreter '%s' gave an unexpected answer '%s'", q,
				      em_quote(msg, sizeof msg, l.p, l.n));
		}
		if (out->py.major < 3)
			return em_err(e, EM_EUNSUPPORTED, NULL, "interpreter '%s' is Python %u.%u",
				      q, out->py.major, out->py.minor);
		return 0;
	}
	em_arena_rewind(a, m);
	return rc;
}

int em_interp_query(struct em_arena *a, const char *path, struct em_interp *out,
		    struct em_error *e)
{
	return query(a, path, EM_INTERP_TIMEOUT_MS, out, e);
}

/* ---- discovery ---- */

struct found {
	struct em_interp it;
	unsigned order;
	int source_rank; /* 0 PATH, 1 pyenv */
};

struct search {
	struct em_arena *a;
	struct em_arena scratch;
	int timeout_ms;
	char **seen;        /* realpaths already looked at (scratch) */
	unsigned nseen;
	struct found *items; /* malloc'd */
	unsigned n;
	struct em_error *e;
};

/* python3, python3.N, python3.Nt */
static bool interp_name(const char *s)
{
	if (strncmp(s, "python3", 7))
		return false;
	s += 7;
	if (!*s)
		return true;
	if (*s++ != '.' || !em_is_digit((unsigned char)*s))
		return false;
	while (em_is_digit((unsigned char)*s))
		s++;
	if (*s == 't')
		s++;
	return *s == '\0';
}

static bool file_exists(const char *dir, const char *name)
{
	char p[PATH_MAX];
	if ((size_t)snprintf(p, sizeof p, "%s/%s", dir, name) >= sizeof p)
		return false;
	return access(p, F_OK) == 0;
}

/* A pyvenv.cfg beside the executable or one folder up (where site.py
 * looks for it). */
static bool in_venv(const char *dir)
{
	if (file_exists(dir, "pyvenv.cfg"))
		return true;
	char up[PATH_MAX];
	if ((size_t)snprintf(up, sizeof up, "%s/..", dir) >= sizeof up)
		return false;
	return file_exists(up, "pyvenv.cfg");
}

static int cmp_names(const void *x, const void *y)
{
	const char *a = *(const char *const *)x, *b = *(const char *const *)y;
	/* plain python3 last: the versioned names make steadier paths */
	bool pa = !strcmp(a, "python3"), pb = !strcmp(b, "python3");
	if (pa != pb)
		return pa ? 1 : -1;
	return strcmp(a, b);
}

static int consider(struct search *s, const char *path, const char *source, int rank)
{
	struct stat st;
	if (stat(path, &st) || !S_ISREG(st.st_mode) || access(path, X_OK))
		return 0;
	char *rp = realpath(path, NULL);
	if (!rp)
		return 0;
	for (unsigned k = 0; k < s->nseen; k++)
		if (!strcmp(s->seen[k], rp)) {
			free(rp);
			return 0;
		}
	if (s->nseen >= EM_INTERP_MAX) {
		free(rp);
		return 0;
	}
	s->seen[s->nseen] = em_arena_strdup(&s->scratch, rp);
	free(rp);
	if (!s->seen[s->nseen])
		return em_err_nomem(s->e);
	s->nseen++;

	struct found f;
	memset(&f, 0, sizeof f);
	int rc = query(s->a, path, s->timeout_ms, &f.it, NULL);
	if (rc == EM_ENOMEM)
		return em_err_nomem(s->e);
	if (rc || strcmp(f.it.implementation, "cpython") || f.it.py.major != 3)
		return 0;
	f.it.source = source;
	f.order = s->n;
	f.source_rank = rank;
	s->items[s->n++] = f;
	return 0;
}

static int scan_dir(struct search *s, const char *dir, const char *source, int rank)
{
	if (in_venv(dir))
		return 0;
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	const char *names[64];
	unsigned nn = 0;
	struct dirent *de;
	int rc = 0;
	while ((de = readdir(d)) && nn < sizeof names / sizeof names[0]) {
		if (!interp_name(de->d_name))
			continue;
		if (!(names[nn++] = em_arena_strdup(&s->scratch, de->d_name))) {
			rc = em_err_nomem(s->e);
			break;
		}
	}
	closedir(d);
	qsort(names, nn, sizeof names[0], cmp_names);
	for (unsigned k = 0; k < nn && !rc; k++) {
		char path[PATH_MAX];
		if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, names[k]) >= sizeof path)
			continue;
		rc = consider(s, path, source, rank);
	}
	return rc;
}

static bool is_shims(const char *dir, size_t n)
{
	while (n > 1 && dir[n - 1] == '/')
		n--;
	return n >= 6 && !memcmp(dir + n - 5, "shims", 5) && dir[n - 6] == '/';
}

static int scan_path(struct search *s, const char *list)
{
	const char *p = list;
	int rc = 0;
	while (*p && !rc) {
		const char *c = strchr(p, ':');
		size_t n = c ? (size_t)(c - p) : strlen(p);
		if (n && p[0] == '/' && n < PATH_MAX && !is_shims(p, n)) {
			char dir[PATH_MAX];
			memcpy(dir, p, n);
			dir[n] = '\0';
			rc = scan_dir(s, dir, "PATH", 0);
		}
		p += n;
		if (*p == ':')
			p++;
	}
	return rc;
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static int scan_pyenv(struct search *s, const char *root)
{
	char vdir[PATH_MAX];
	if ((size_t)snprintf(vdir, sizeof vdir, "%s/versions", root) >= sizeof vdir)
		return 0;
	DIR *d = opendir(vdir);
	if (!d)
		return 0;
	char *names[EM_INTERP_MAX];
	unsigned nn = 0;
	struct dirent *de;
	int rc = 0;
	while ((de = readdir(d)) && nn < EM_INTERP_MAX) {
		if (de->d_name[0] == '.')
			continue;
		if (!(names[nn++] = em_arena_strdup(&s->scratch, de->d_name))) {
			rc = em_err_nomem(s->e);
			break;
		}
	}
	closedir(d);
	qsort(names, nn, sizeof names[0], cmp_str);
	for (unsigned k = 0; k < nn && !rc; k++) {
		char bin[PATH_MAX];
		if ((size_t)snprintf(bin, sizeof bin, "%s/%s/bin", vdir, names[k]) >= sizeof bin)
			continue;
		rc = scan_dir(s, bin, "pyenv", 1);
	}
	return rc;
}

/* pre-release rank: a < b < rc < final */
static void pre_key(const char *pre, int *kind, unsigned long *num)
{
	*num = 0;
	if (!pre[0]) {
		*kind = 3;
		return;
	}
	*kind = pre[0] == 'a' ? 0 : pre[0] == 'b' ? 1 : 2;
	while (*pre && !em_is_digit((unsigned char)*pre))
		pre++;
	*num = strtoul(pre, NULL, 10);
}

static int cmp_found(const void *x, const void *y)
{
	const struct found *a = x, *b = y;
	const struct em_python *p = &a->it.py, *q = &b->it.py;
	if (p->major != q->major)
		return p->major > q->major ? -1 : 1;
	if (p->minor != q->minor)
		return p->minor > q->minor ? -1 : 1;
	if (p->micro != q->micro)
		return p->micro > q->micro ? -1 : 1;
	int ka, kb;
	unsigned long na, nb;
	pre_key(p->pre, &ka, &na);
	pre_key(q->pre, &kb, &nb);
	if (ka != kb)
		return ka > kb ? -1 : 1;
	if (na != nb)
		return na > nb ? -1 : 1;
	if (p->freethreaded != q->freethreaded)
		return p->freethreaded ? 1 : -1;
	if (a->source_rank != b->source_rank)
		return a->source_rank < b->source_rank ? -1 : 1;
	return a->order < b->order ? -1 : a->order > b->order;
}

int em_interp_discover_in(struct em_arena *a, const struct em_interp_search *sp,
			  struct em_interp_list *out, struct em_error *e)
{
	if (!a || !sp || !out)
		return em_err(e, EM_EUSAGE, NULL, "em_interp_discover: NULL argument");
	memset(out, 0, sizeof *out);
	struct search s;
	memset(&s, 0, sizeof s);
	s.a = a;
	s.e = e;
	s.timeout_ms = sp->timeout_ms > 0 ? sp->timeout_ms : EM_INTERP_TIMEOUT_MS;
	em_arena_init(&s.scratch);
	int rc = 0;
	s.seen = em_arena_array(&s.scratch, EM_INTERP_MAX, sizeof *s.seen);
	s.items = malloc(EM_INTERP_MAX * sizeof *s.items);
	if (!s.seen || !s.items)
		rc = em_err_nomem(e);
	if (!rc && sp->path)
		rc = scan_path(&s, sp->path);
	if (!rc && sp->pyenv_root && *sp->pyenv_root)
		rc = scan_pyenv(&s, sp->pyenv_root);
	if (!rc && s.n) {
		qsort(s.items, s.n, sizeof *s.items, cmp_found);
		out->items = em_arena_array(a, s.n, sizeof *out->items);
		if (!out->items) {
			rc = em_err_nomem(e);
		} else {
			for (unsigned k = 0; k < s.n; k++)
				out->items[k] = s.items[k].it;
			out->n = s.n;
		}
	}
	free(s.items);
	em_arena_release(&s.scratch);
	return rc;
}

int em_interp_discover(struct em_arena *a, struct em_interp_list *out, struct em_error *e)
{
	struct em_interp_search s = { getenv("PATH"), NULL, 0 };
	char root[PATH_MAX];
	const char *env = getenv("PYENV_ROOT");
	const char *home = getenv("HOME");
	if (env && env[0] == '/') {
		s.pyenv_root = env;
	} else if (home && home[0] == '/' &&
		   (size_t)snprintf(root, sizeof root, "%s/.pyenv", home) < sizeof root) {
		s.pyenv_root = root;
	}
	return em_interp_discover_in(a, &s, out, e);
}
