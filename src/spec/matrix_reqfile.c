/* matrix_reqfile.c - pip-style requirements files (requirements = ...)
 *
 * What is read: PEP 508 requirements, '#' comments, backslash
 * continuations and -r includes (matrix.h); every other pip option is
 * refused with the reason and what to write instead.
 */
#include "spec/matrix_int.h"
#include "spec/pep508.h"
#include "util/buf.h"

/* ---- requirements files ---- */

struct rparser {
	struct em_arena *a;
	struct em_error *e;
	const char *file;
	struct vec reqs;     /* struct em_req_line */
	struct vec includes; /* struct em_req_line */
};

/* em_err_at the line of the requirements file r reads */
#define rerr(r, line, code, ...) em_err_at((r)->e, (code), (r)->file, (line), __VA_ARGS__)

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
