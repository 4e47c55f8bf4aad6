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
 * folder, then in $PYENV_ROOT/versions/NAME/bin, then in NAME/bin of every
 * cpython-* entry of envmatrix's managed folder and of uv's (a minor link
 * such as cpython-3.12-... sorts before the installation it names, so its
 * path is the one kept), and on Windows what `py --list-paths` and the PEP
 * 514 registry keys name. Answers are kept in a JSON file (cache_file)
 * keyed by realpath, mtime (ns) and size; one that failed to answer is kept
 * too, as an empty answer, so it is not run again either. PATH folders named
 * "shims" are skipped: pyenv's shims are scripts that run whichever
 * version pyenv selects, and the real interpreters behind them are found
 * in versions/. An executable with a pyvenv.cfg beside it or one folder up
 * belongs to a virtual environment and is skipped too (its base
 * interpreter is found on its own, by its realpath). Each realpath is
 * asked once.
 */
#include "interp.h"
#include "util/buf.h"
#include "cache.h"
#include "os/fs.h"
#include "os/proc.h"
#include "util/str.h"
#include "settings.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

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

/* Run the interpreter and keep its answer line (at most 255 bytes) in
 * line. Errors say why there is none. */
static int run_query(struct em_arena *a, const char *path, const char *q, int timeout_ms,
		     char line[256], size_t *linelen, struct em_error *e)
{
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
		size_t n = r.outlen < 256 ? r.outlen : 255;
		memcpy(line, r.out, n);
		line[n] = '\0';
		*linelen = n;
	}
	em_arena_rewind(a, m);
	return rc;
}

/* The answer line into out, checked. */
static int take_answer(struct em_arena *a, const char *q, const char *line, size_t n,
		       struct em_interp *out, struct em_error *e)
{
	char msg[160];
	if (!parse_answer(a, line, n, out)) {
		struct em_str l = last_line(line, n);
		return em_err(e, EM_EINVAL, NULL, "interpreter '%s' gave an unexpected answer '%s'", q,
			      em_quote(msg, sizeof msg, l.p, l.n));
	}
	if (out->py.major < 3)
		return em_err(e, EM_EUNSUPPORTED, NULL, "interpreter '%s' is Python %u.%u", q,
			      out->py.major, out->py.minor);
	return 0;
}

static int query(struct em_arena *a, const char *path, int timeout_ms, struct em_interp *out,
		 struct em_error *e)
{
	char q[EM_ERROR_MSG_MAX / 2];
	if (!a || !path || !out)
		return em_err(e, EM_EUSAGE, NULL, "em_interp_query: NULL argument");
	em_quote(q, sizeof q, path, strlen(path));
	memset(out, 0, sizeof *out);
	char *rp = em_os_realpath(path);
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
	char line[256];
	size_t n = 0;
	int rc = run_query(a, path, q, timeout_ms, line, &n, e);
	return rc ? rc : take_answer(a, q, line, n, out, e);
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
	int source_rank; /* 0 PATH, 1 pyenv, 2 envmatrix, 3 uv, 4 py, 5 registry */
};

/* A kept answer: the interpreter at realpath, as it was (mtime, size),
 * answered line ("" when it failed to answer). */
struct kept {
	char *realpath;
	long long sec, nsec, size;
	char *answer;
	bool used; /* looked at in this run */
};

struct search {
	struct em_arena *a;
	struct em_arena scratch;
	int timeout_ms;
	char **seen;        /* realpaths already looked at (scratch) */
	unsigned nseen;
	struct found *items; /* malloc'd */
	unsigned n;
	struct kept *kept;   /* malloc'd; strings in scratch */
	unsigned nkept, capkept;
	bool dirty;          /* kept changed: write it back */
	unsigned queried;
	struct em_error *e;
};

#define KEPT_MAX 1024
#define KEPT_FILE_MAX (4u << 20)

/* Room for one more kept answer (false when out of memory). */
static bool kept_room(struct search *s)
{
	if (s->nkept < s->capkept)
		return true;
	unsigned cap = s->capkept ? s->capkept * 2 : 32;
	struct kept *v = realloc(s->kept, cap * sizeof *v);
	if (!v)
		return false;
	s->kept = v;
	s->capkept = cap;
	return true;
}
static void kept_load(struct search *s, const char *file)
{
	char *text;
	size_t len;
	if (em_read_file(&s->scratch, file, KEPT_FILE_MAX, &text, &len, NULL))
		return;
	json_t *root = json_loadb(text, len, 0, NULL);
	json_t *arr = json_object_get(root, "interpreters");
	if (json_integer_value(json_object_get(root, "version")) != 1 || !json_is_array(arr)) {
		json_decref(root);
		return;
	}
	size_t i;
	json_t *it;
	json_array_foreach(arr, i, it) {
		const char *rp = json_string_value(json_object_get(it, "realpath"));
		const char *ans = json_string_value(json_object_get(it, "answer"));
		json_t *mt = json_object_get(it, "mtime");
		json_t *ns = json_object_get(it, "mtime_ns");
		json_t *sz = json_object_get(it, "size");
		if (!rp || !ans || !json_is_integer(mt) || !json_is_integer(ns) || !json_is_integer(sz) ||
		    s->nkept >= KEPT_MAX)
			continue;
		if (!kept_room(s))
			break;
		struct kept k = { em_arena_strdup(&s->scratch, rp), json_integer_value(mt),
				  json_integer_value(ns), json_integer_value(sz),
				  em_arena_strdup(&s->scratch, ans), false };
		if (k.realpath && k.answer)
			s->kept[s->nkept++] = k;
	}
	json_decref(root);
}

static void kept_save(struct search *s, const char *file)
{
	json_t *arr = json_array();
	for (unsigned i = 0; arr && i < s->nkept; i++) {
		struct em_stat st;
		/* forget interpreters that are gone */
		if (!s->kept[i].used && em_os_stat(s->kept[i].realpath, &st))
			continue;
		json_array_append_new(arr, json_pack("{s:s, s:I, s:I, s:I, s:s}", "realpath",
						     s->kept[i].realpath, "mtime",
						     (json_int_t)s->kept[i].sec, "mtime_ns",
						     (json_int_t)s->kept[i].nsec, "size",
						     (json_int_t)s->kept[i].size, "answer",
						     s->kept[i].answer));
	}
	json_t *root = arr ? json_pack("{s:i, s:o}", "version", 1, "interpreters", arr) : NULL;
	char *text = root ? json_dumps(root, JSON_INDENT(1)) : NULL;
	json_decref(root);
	if (!text)
		return;
	char *dir = em_path_dir(&s->scratch, file);
	/* the answers only save queries: a cache that cannot be written makes
	 * the next discovery slower, not wrong */
	if (dir && em_mkdir_p(dir, NULL) == 0)
		EM_IGNORE(em_write_file_atomic(file, text, strlen(text), 0644, NULL));
	free(text);
}

static struct kept *kept_find(struct search *s, const char *rp)
{
	for (unsigned i = 0; i < s->nkept; i++)
		if (!strcmp(s->kept[i].realpath, rp))
			return &s->kept[i];
	return NULL;
}

static void kept_put(struct search *s, const char *rp, const struct em_stat *st,
		     const char *answer)
{
	struct kept *k = kept_find(s, rp);
	if (!k) {
		if (s->nkept >= KEPT_MAX || !kept_room(s))
			return;
		k = &s->kept[s->nkept++];
		k->realpath = em_arena_strdup(&s->scratch, rp);
	}
	k->sec = (long long)st->mtime_sec;
	k->nsec = (long long)st->mtime_nsec;
	k->size = (long long)st->size;
	k->answer = em_arena_strdup(&s->scratch, answer);
	k->used = true;
	if (!k->realpath || !k->answer)
		s->nkept--; /* out of memory: not kept */
	s->dirty = true;
}

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
	return em_os_access(p, EM_ACCESS_EXISTS) == 0;
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
	struct em_stat st;
	if (em_os_stat(path, &st) || st.type != EM_FT_FILE || em_os_access(path, EM_ACCESS_EXEC))
		return 0;
	char *rp = em_os_realpath(path);
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
	const char *real = s->seen[s->nseen++];

	struct found f;
	memset(&f, 0, sizeof f);
	char q[EM_ERROR_MSG_MAX / 2];
	em_quote(q, sizeof q, path, strlen(path));
	struct kept *k = kept_find(s, real);
	char line[256];
	size_t n = 0;
	if (k && k->sec == (long long)st.mtime_sec && k->nsec == (long long)st.mtime_nsec &&
	    k->size == (long long)st.size) {
		k->used = true;
		if (!k->answer[0])
			return 0; /* it failed to answer before */
		n = strlen(k->answer);
		if (n > 255)
			return 0;
		memcpy(line, k->answer, n + 1);
	} else {
		s->queried++;
		int rc = run_query(s->a, path, q, s->timeout_ms, line, &n, NULL);
		if (rc == EM_ENOMEM)
			return em_err_nomem(s->e);
		if (rc == EM_EIO)
			return 0; /* could not run it: try again next time */
		if (rc)
			line[0] = '\0', n = 0;
		/* only the first line is kept */
		char *nl = memchr(line, '\n', n);
		if (nl) {
			*nl = '\0';
			n = (size_t)(nl - line);
		}
		kept_put(s, real, &st, line);
		if (rc)
			return 0;
	}
	f.it.path = em_arena_strdup(s->a, path);
	f.it.realpath = em_arena_strdup(s->a, real);
	if (!f.it.path || !f.it.realpath)
		return em_err_nomem(s->e);
	int rc = take_answer(s->a, q, line, n, &f.it, NULL);
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

static bool not_hidden(const char *name)
{
	return name[0] != '.';
}

static bool cpython_entry(const char *name)
{
	return !strncmp(name, "cpython-", 8);
}

/* The entries of dir that keep() accepts (max at most), sorted by cmp;
 * a missing folder has none. */
static int sorted_entries(struct search *s, const char *dir, bool (*keep)(const char *),
			  int (*cmp)(const void *, const void *), const char **names, unsigned max,
			  unsigned *n)
{
	*n = 0;
	struct em_dirlist *d = em_dirlist_open(dir);
	if (!d)
		return 0;
	const char *name;
	int rc = 0;
	while ((name = em_dirlist_next(d)) && *n < max) {
		if (!keep(name))
			continue;
		if (!(names[(*n)++] = em_arena_strdup(&s->scratch, name))) {
			rc = em_err_nomem(s->e);
			break;
		}
	}
	em_dirlist_close(d);
	if (!rc)
		qsort(names, *n, sizeof names[0], cmp);
	return rc;
}

/* fn(s, DIR/NAME+SUFFIX, source, rank) for at most max entries NAME of
 * dir that keep() accepts, in cmp's order (a path too long is skipped) */
static int each_sorted(struct search *s, const char *dir, bool (*keep)(const char *),
		       int (*cmp)(const void *, const void *), unsigned max, const char *suffix,
		       int (*fn)(struct search *, const char *, const char *, int),
		       const char *source, int rank)
{
	const char *names[EM_INTERP_MAX];
	unsigned nn;
	if (max > EM_INTERP_MAX)
		max = EM_INTERP_MAX;
	int rc = sorted_entries(s, dir, keep, cmp, names, max, &nn);
	for (unsigned k = 0; k < nn && !rc; k++) {
		char path[PATH_MAX];
		if ((size_t)snprintf(path, sizeof path, "%s/%s%s", dir, names[k], suffix) >=
		    sizeof path)
			continue;
		rc = fn(s, path, source, rank);
	}
	return rc;
}

static int scan_dir(struct search *s, const char *dir, const char *source, int rank)
{
	if (in_venv(dir))
		return 0;
	return each_sorted(s, dir, interp_name, cmp_names, 64, "", consider, source, rank);
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

/* NAME/bin of every entry of root that keep() accepts, in name order */
static int scan_bins(struct search *s, const char *root, bool (*keep)(const char *),
		     const char *source, int rank)
{
	return each_sorted(s, root, keep, cmp_str, EM_INTERP_MAX, "/bin", scan_dir, source, rank);
}

static int scan_pyenv(struct search *s, const char *root)
{
	char vdir[PATH_MAX];
	if ((size_t)snprintf(vdir, sizeof vdir, "%s/versions", root) >= sizeof vdir)
		return 0;
	return scan_bins(s, vdir, not_hidden, "pyenv", 1);
}

/* envmatrix's and uv's folders: NAME/bin for every cpython-* entry, in
 * name order (a minor-version link "cpython-3.12-..." sorts before the
 * installation it names, so its path is the one kept) */
static int scan_installs(struct search *s, const char *root, const char *source, int rank)
{
	return scan_bins(s, root, cpython_entry, source, rank);
}

/* ---- the Windows py launcher ---- */

int em_interp_parse_py_list(struct em_arena *a, const char *text, size_t len,
			    struct em_py_launcher_entry **out, uint32_t *n, struct em_error *e)
{
	*out = NULL;
	*n = 0;
	uint32_t cap = 1;
	for (size_t i = 0; i < len; i++)
		cap += text[i] == '\n';
	struct em_py_launcher_entry *v = em_arena_array(a, cap, sizeof *v);
	if (!v)
		return em_err_nomem(e);
	const char *p = text, *end = text + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		struct em_str l = em_str_strip(em_str_make(p, (size_t)((nl ? nl : end) - p)));
		p = nl ? nl + 1 : end;
		/* "-V:TAG [*] PATH" or "-TAG PATH [*]" */
		if (l.n < 3 || l.p[0] != '-')
			continue;
		const char *t = l.p + 1, *le = l.p + l.n;
		if (le - t >= 2 && t[0] == 'V' && t[1] == ':')
			t += 2;
		const char *te = t;
		while (te < le && !em_is_ascii_space((unsigned char)*te))
			te++;
		if (te == t)
			continue;
		const char *r = te;
		while (r < le && em_is_ascii_space((unsigned char)*r))
			r++;
		bool def = false;
		if (r < le && *r == '*' && (r + 1 == le || em_is_ascii_space((unsigned char)r[1]))) {
			def = true;
			r++;
			while (r < le && em_is_ascii_space((unsigned char)*r))
				r++;
		}
		const char *pe = le;
		if (pe - r >= 2 && pe[-1] == '*' && em_is_ascii_space((unsigned char)pe[-2])) {
			def = true;
			pe -= 2;
			while (pe > r && em_is_ascii_space((unsigned char)pe[-1]))
				pe--;
		}
		if (pe == r)
			continue;
		/* a path: drive letter or UNC */
		if (!((pe - r >= 3 && em_is_alpha((unsigned char)r[0]) && r[1] == ':' &&
		       (r[2] == '\\' || r[2] == '/')) ||
		      (pe - r >= 2 && r[0] == '\\' && r[1] == '\\')))
			continue;
		v[*n].tag = em_arena_strndup(a, t, (size_t)(te - t));
		v[*n].path = em_arena_strndup(a, r, (size_t)(pe - r));
		v[*n].is_default = def;
		if (!v[*n].tag || !v[*n].path)
			return em_err_nomem(e);
		(*n)++;
	}
	*out = v;
	return 0;
}

#ifdef _WIN32
#include <windows.h>

static int scan_py_launcher(struct search *s)
{
	const char *argv[] = { "py", "--list-paths", NULL };
	struct em_proc_result r;
	if (em_proc_run(&s->scratch, argv, NULL, 1 << 16, s->timeout_ms, &r, NULL) || r.timed_out ||
	    r.status)
		return 0;
	struct em_py_launcher_entry *v;
	uint32_t n;
	int rc = em_interp_parse_py_list(&s->scratch, r.out, r.outlen, &v, &n, s->e);
	for (uint32_t i = 0; i < n && !rc; i++)
		rc = consider(s, v[i].path, "py", 4);
	return rc;
}

/* PEP 514: HKCU and HKLM Software\Python\COMPANY\TAG\InstallPath, its
 * ExecutablePath value (else its default value + python.exe) */
static int scan_registry(struct search *s)
{
	static const HKEY roots[] = { HKEY_CURRENT_USER, HKEY_LOCAL_MACHINE };
	int rc = 0;
	for (size_t ri = 0; ri < 2 && !rc; ri++) {
		HKEY py;
		if (RegOpenKeyExA(roots[ri], "Software\\Python", 0, KEY_READ, &py) != ERROR_SUCCESS)
			continue;
		char company[256];
		for (DWORD ci = 0; !rc; ci++) {
			DWORD cl = sizeof company;
			if (RegEnumKeyExA(py, ci, company, &cl, NULL, NULL, NULL, NULL) != ERROR_SUCCESS)
				break;
			HKEY ck;
			if (RegOpenKeyExA(py, company, 0, KEY_READ, &ck) != ERROR_SUCCESS)
				continue;
			char tag[256];
			for (DWORD ti = 0; !rc; ti++) {
				DWORD tl = sizeof tag;
				if (RegEnumKeyExA(ck, ti, tag, &tl, NULL, NULL, NULL, NULL) != ERROR_SUCCESS)
					break;
				char sub[600], exe[MAX_PATH + 16];
				snprintf(sub, sizeof sub, "%s\\InstallPath", tag);
				DWORD el = MAX_PATH;
				if (RegGetValueA(ck, sub, "ExecutablePath", RRF_RT_REG_SZ, NULL, exe,
						 &el) != ERROR_SUCCESS) {
					el = MAX_PATH;
					if (RegGetValueA(ck, sub, NULL, RRF_RT_REG_SZ, NULL, exe, &el) !=
					    ERROR_SUCCESS)
						continue;
					size_t xl = strlen(exe);
					snprintf(exe + xl, sizeof exe - xl, "%spython.exe",
						 xl && exe[xl - 1] == '\\' ? "" : "\\");
				}
				rc = consider(s, exe, "registry", 5);
			}
			RegCloseKey(ck);
		}
		RegCloseKey(py);
	}
	return rc;
}
#endif

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

int em_interp_discover_in(struct em_arena *a, struct em_interp_search *sp,
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
	if (!rc && sp->cache_file)
		kept_load(&s, sp->cache_file);
	if (!rc && sp->path)
		rc = scan_path(&s, sp->path);
	if (!rc && sp->pyenv_root && *sp->pyenv_root)
		rc = scan_pyenv(&s, sp->pyenv_root);
	if (!rc && sp->managed_dir && *sp->managed_dir)
		rc = scan_installs(&s, sp->managed_dir, "envmatrix", 2);
	if (!rc && sp->uv_dir && *sp->uv_dir)
		rc = scan_installs(&s, sp->uv_dir, "uv", 3);
#ifdef _WIN32
	if (!rc && sp->windows_sources)
		rc = scan_py_launcher(&s);
	if (!rc && sp->windows_sources)
		rc = scan_registry(&s);
#endif
	if (!rc && sp->cache_file && s.dirty)
		kept_save(&s, sp->cache_file);
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
	sp->queried = s.queried;
	free(s.items);
	free(s.kept);
	em_arena_release(&s.scratch);
	return rc;
}

char *em_interp_managed_dir(struct em_arena *a, struct em_error *e)
{
	const char *env = em_settings()->python_dir;
	if (env && *env)
		return em_path_absolute(a, env);
#ifdef _WIN32
	const char *la = em_settings()->local_app_data;
	if (la && *la)
		return em_arena_printf(a, "%s\\envmatrix\\python", la);
#endif
	const char *xdg = em_settings()->xdg_data_home;
	if (xdg && xdg[0] == '/')
		return em_arena_printf(a, "%s/envmatrix/python", xdg);
	const char *home = em_settings()->home;
	if (home && *home)
		return em_arena_printf(a, "%s/.local/share/envmatrix/python", home);
	em_err(e, EM_ENOTFOUND, NULL, "no folder for Python installations: set "
	       "ENVMATRIX_PYTHON_DIR or HOME");
	return NULL;
}

int em_interp_discover(struct em_arena *a, struct em_interp_list *out, struct em_error *e)
{
	struct em_interp_search s;
	memset(&s, 0, sizeof s);
	s.path = em_settings()->path;
	const char *env = em_settings()->pyenv_root;
	const char *home = em_settings()->home;
	const char *xdg = em_settings()->xdg_data_home;
	if (env && env[0] == '/')
		s.pyenv_root = env;
	else if (home && home[0] == '/')
		s.pyenv_root = em_arena_printf(a, "%s/.pyenv", home);
	s.managed_dir = em_interp_managed_dir(a, NULL);
	const char *uv = em_settings()->uv_python_dir;
	if (uv && *uv)
		s.uv_dir = uv;
	else if (xdg && xdg[0] == '/')
		s.uv_dir = em_arena_printf(a, "%s/uv/python", xdg);
	else if (home && home[0] == '/')
		s.uv_dir = em_arena_printf(a, "%s/.local/share/uv/python", home);
	char *cache = em_cache_path(a, NULL, NULL);
	if (cache)
		s.cache_file = em_arena_printf(a, "%s/interpreters.json", cache);
#ifdef _WIN32
	s.windows_sources = true;
#endif
	return em_interp_discover_in(a, &s, out, e);
}
