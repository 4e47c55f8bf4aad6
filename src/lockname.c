/* lockname.c - which lock file, and which history, belong to which matrix
 * (lockname.h): the one place that names them */
#include "lockname.h"
#include "os/fs.h"
#include "spec/matrix.h"
#include "util/str.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

const char *em_matrix_file_name(const char *matrix_path)
{
	const char *s = strrchr(matrix_path, '/');
	return s ? s + 1 : matrix_path;
}

static bool is_default(const char *matrix_path)
{
	return !strcmp(em_matrix_file_name(matrix_path), EM_DEFAULT_MATRIX);
}

/* Does the section header in line[0..n) (as the matrix reader takes it:
 * '[' at the start of the line, spaces inside the brackets ignored) name
 * one of the names? */
static bool header_names(const char *line, size_t n, const char *const *names, size_t nnames)
{
	if (!n || line[0] != '[')
		return false;
	const char *end = memchr(line, ']', n);
	if (!end)
		return false;
	const char *s = line + 1;
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	const char *t = end;
	while (t > s && (t[-1] == ' ' || t[-1] == '\t'))
		t--;
	for (size_t i = 0; i < nnames; i++)
		if (strlen(names[i]) == (size_t)(t - s) && !memcmp(names[i], s, (size_t)(t - s)))
			return true;
	return false;
}

/* A file read line by line as fgets(3) reads it: a line is at most cap - 1
 * bytes, with its '\n' when it fits; NUL-terminated. */
struct lines {
	int fd;
	size_t pos, len;
	char buf[4096];
};

static char *next_line(struct lines *r, char *line, size_t cap)
{
	size_t n = 0;
	while (n + 1 < cap) {
		if (r->pos == r->len) {
			ssize_t got = em_os_read(r->fd, r->buf, sizeof r->buf);
			if (got < 0 && errno == EINTR)
				continue;
			if (got <= 0)
				break;
			r->pos = 0;
			r->len = (size_t)got;
		}
		char c = r->buf[r->pos++];
		line[n++] = c;
		if (c == '\n')
			break;
	}
	line[n] = '\0';
	return n ? line : NULL;
}

/* Does another *.ini file beside the matrix have a section named one of
 * names? Only section headers are read; unreadable files claim nothing. */
static bool sibling_has(struct em_arena *a, const char *matrix_path, const char *const *names,
			size_t nnames)
{
	char *dir = em_path_dir(a, matrix_path);
	const char *self = em_matrix_file_name(matrix_path);
	struct em_stat me;
	bool have_me = em_os_stat(matrix_path, &me) == 0;
	struct em_dirlist *d = dir ? em_dirlist_open(dir) : NULL;
	if (!d)
		return false;
	bool found = false;
	const char *name;
	while (!found && (name = em_dirlist_next(d)) != NULL) {
		size_t n = strlen(name);
		if (n <= 4 || strcasecmp(name + n - 4, ".ini") || !strcmp(name, self))
			continue;
		char *path = em_path_join(a, dir, name);
		struct em_stat st;
		if (!path || em_os_stat(path, &st) || st.type != EM_FT_FILE ||
		    (have_me && em_os_same_file(&st, &me)))
			continue;
		struct lines f;
		f.pos = f.len = 0;
		if ((f.fd = em_os_open(path, EM_OPEN_READ, 0)) < 0)
			continue;
		char line[512];
		size_t total = 0;
		bool start = true; /* at the start of a line */
		while (!found && total < EM_LOCKNAME_MAX_READ && next_line(&f, line, sizeof line)) {
			size_t len = strlen(line);
			total += len;
			char *p = line;
			if (total == len && len >= 3 && !memcmp(p, "\xef\xbb\xbf", 3))
				p += 3; /* a byte order mark */
			if (start)
				found = header_names(p, strcspn(p, "\r\n"), names, nnames);
			start = len && line[len - 1] == '\n';
		}
		em_os_close(f.fd);
	}
	em_dirlist_close(d);
	return found;
}

bool em_matrix_workload_claimed(struct em_arena *a, const char *matrix_path,
				const char *workload)
{
	const char *names[1] = { workload };
	return sibling_has(a, matrix_path, names, 1);
}

/* The matrix's file name without ".ini", with what a PEP 751 lock name
 * cannot hold ('.', separators, control and reserved characters) as '-' */
static char *stem(struct em_arena *a, const char *matrix_path)
{
	const char *base = em_matrix_file_name(matrix_path);
	size_t n = strlen(base);
	if (n > 4 && !strcasecmp(base + n - 4, ".ini"))
		n -= 4;
	char *s = em_arena_strndup(a, base, n);
	for (size_t i = 0; s && i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.' || c == '/' || c == '\\' || c < 0x20 || c == 0x7f || strchr(":*?\"<>|", c))
			s[i] = '-';
	}
	return s;
}

int em_matrix_lock_path(struct em_arena *a, const char *matrix_path, const char *workload,
			char **out, struct em_error *e)
{
	*out = NULL;
	char lname[512];
	if (!em_lock_file_name(workload, lname, sizeof lname))
		return em_err(e, EM_EINVAL, matrix_path,
			      "workload name '%s' cannot name a lock file", workload);
	if (!is_default(matrix_path) && em_matrix_workload_claimed(a, matrix_path, workload)) {
		char *st = stem(a, matrix_path);
		char *both = st ? em_arena_printf(a, "%s-%s", st, workload) : NULL;
		if (!both)
			return em_err_nomem(e);
		if (!em_lock_file_name(both, lname, sizeof lname))
			return em_err(e, EM_EINVAL, matrix_path,
				      "the matrix's file name cannot name a lock file for workload "
				      "'%s' (another matrix beside it has the workload too): "
				      "rename the matrix", workload);
	}
	*out = em_path_join(a, em_path_dir(a, matrix_path), lname);
	return *out ? 0 : em_err_nomem(e);
}

int em_lock_check_matrix(const struct em_lock *l, const char *lock_path, const char *matrix_path,
			 struct em_error *e)
{
	const char *mine = em_matrix_file_name(matrix_path);
	if (!l->matrix || !strcmp(l->matrix, mine))
		return 0;
	return em_err(e, EM_EINVAL, lock_path,
		      "this lock was planned from the matrix '%s', not '%s': envmatrix neither "
		      "uses nor replaces another matrix's lock; remove it or move it aside if "
		      "'%s' no longer needs it (docs/matrix.md, several matrices in one folder)",
		      l->matrix, mine, l->matrix);
}

const char *em_matrix_history_dir(struct em_arena *a, const char *matrix_path,
				  const struct em_matrix *m)
{
	static const char def[] = ".envmatrix/history.git";
	if (is_default(matrix_path))
		return def;
	uint32_t n = m ? m->nworkloads : 0;
	const char **names = em_arena_array(a, n + 1, sizeof *names);
	if (!names)
		return NULL;
	names[0] = "matrix";
	for (uint32_t i = 0; i < n; i++)
		names[i + 1] = m->workloads[i].name;
	if (!sibling_has(a, matrix_path, names, n + 1))
		return def;
	char *st = stem(a, matrix_path);
	return st ? em_arena_printf(a, ".envmatrix/%s/history.git", st) : NULL;
}
