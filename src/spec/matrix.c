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
 * Every check that needs no I/O is made while the matrix is read, so later
 * stages can trust the structure: names, keys, values, inheritance, and that
 * no two workloads share an environment folder. This file reads lines and
 * section headers; keys and values are checked in matrix_keys.c, workloads
 * built in matrix_workload.c (matrix_int.h lists the module's files).
 */
#include "spec/matrix_int.h"
#include "spec/pep508.h"

#include <ini.h>

#define SEMI '\x01' /* stands for ';' inside values handed to inih */
#define LONG '\x02' /* "the value did not fit inih's buffer; ask the reader" */

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
		rc = em_mx_on_cont(p, v, vn);
	} else if (p->kind == LINE_KEY) {
		size_t kn = strlen(name);
		if (kn > MAX_KEY)
			kn = MAX_KEY;
		for (size_t i = 0; i < kn; i++)
			nb[i] = name[i] == SEMI ? ';' : name[i];
		rc = em_mx_on_key(p, nb, kn, v, vn);
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
	int rc = em_mx_build(p, &m);
	if (rc)
		return rc;
	*out = m;
	return 0;
}
