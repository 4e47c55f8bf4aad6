/* load.c - reading the matrix a command works on */
#include "cli.h"

#include "apply_lock.h"
#include "envmatrix/error.h"
#include "os/fs.h"
#include "settings.h"
#include "spec/matrix.h"
#include "swap.h"
#include "util/arena.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

bool cli_is_matrix_arg(const char *arg)
{
	size_t n = strlen(arg);
	struct stat st;
	return (n > 4 && !strcmp(arg + n - 4, ".ini")) ||
	       ((strchr(arg, '/') || strchr(arg, '.')) && stat(arg, &st) == 0 &&
		S_ISREG(st.st_mode));
}

int cli_matrix_arg(const struct cli_cmd_help *h, const char **file, char **pos, int *npos)
{
	if (*npos < 1 || !cli_is_matrix_arg(pos[0]))
		return 0;
	if (*file)
		return cli_usage_error(h, "the matrix is named twice, as '-f %s' and as '%s'; "
				       "name it once", *file, pos[0]);
	*file = pos[0];
	memmove(pos, pos + 1, (size_t)(*npos - 1) * sizeof *pos);
	(*npos)--;
	return 0;
}

bool cli_parse_matrix(int argc, char **argv, const struct cli_cmd_help *h, const char **file,
		      int *npos, int *code)
{
	int rc = cli_parse(argc, argv, h, npos);
	if (rc) {
		*code = rc > 0 ? EXIT_OK : EXIT_USAGE;
		return false;
	}
	*code = cli_matrix_arg(h, file, argv + 1, npos);
	return *code == 0;
}

int cli_load_matrix(struct em_arena *a, const char *opt_file, struct em_matrix *m,
		    const char **file)
{
	char *text;
	size_t len;
	return cli_load_matrix_text(a, opt_file, m, file, &text, &len);
}

int cli_load_matrix_text(struct em_arena *a, const char *opt_file, struct em_matrix *m,
			 const char **file, char **text, size_t *len)
{
	*file = opt_file ? opt_file : "matrix.ini";
	struct em_error e;
	em_error_clear(&e);
	char *buf;
	if (em_read_file(a, *file, EM_MATRIX_MAX_LEN, &buf, len, &e) ||
	    em_matrix_parse(a, buf, *len, *file, m, &e) ||
	    em_matrix_check_folders(a, *file, m, em_settings()->history, &e)) {
		if (e.code == EM_ENOTFOUND && !opt_file) {
			cli_error("no matrix.ini here; name one with -f MATRIX");
			return EXIT_FAIL;
		}
		return cli_report(&e);
	}
	*text = buf;
	return EXIT_OK;
}

const struct em_workload *cli_find_workload(const struct em_matrix *m, const char *name)
{
	const struct em_workload *w = em_matrix_find(m, name);
	if (!w) {
		char list[512] = "";
		size_t o = 0;
		for (uint32_t i = 0; i < m->nworkloads && o < sizeof list - 80; i++)
			o += (size_t)snprintf(list + o, sizeof list - o, "%s'%s'", i ? ", " : "",
					      m->workloads[i].name);
		cli_error("no workload '%s' in '%s' (it has %s)", name, m->file,
			  m->nworkloads ? list : "none");
	}
	return w;
}

bool cli_workload_chosen(const struct em_matrix *m, const struct em_workload *w,
			 char *const *names, int n)
{
	bool chosen = n == 0;
	for (int k = 0; k < n && !chosen; k++)
		chosen = em_matrix_find(m, names[k]) == w;
	return chosen;
}

int cli_unique_workloads(const struct cli_cmd_help *h, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		for (int k = 0; k < i; k++)
			if (!strcmp(names[i], names[k]))
				return cli_usage_error(h, "workload '%s' is named twice", names[i]);
	return EXIT_OK;
}

bool cli_parse_workloads(int argc, char **argv, const struct cli_cmd_help *h, const char **file,
			 int *npos, int *code)
{
	if (!cli_parse_matrix(argc, argv, h, file, npos, code))
		return false;
	if (cli_unique_workloads(h, (const char *const *)(argv + 1), *npos)) {
		*code = EXIT_USAGE;
		return false;
	}
	return true;
}

int cli_take_lock(struct em_arena *a, const char *file, const char *command, bool wait,
		  struct em_state_lock *l)
{
	struct em_error e;
	em_error_clear(&e);
	int rc = em_state_lock_take(a, file, command, false, l, &e);
	if (rc == EM_EBUSY && wait) {
		if (!cli.quiet)
			fprintf(stderr, "envmatrix: %s: %s; waiting\n", e.where, e.msg);
		em_error_clear(&e);
		rc = em_state_lock_take(a, file, command, true, l, &e);
	}
	return rc ? cli_report(&e) : EXIT_OK;
}

int cli_load_workload(struct em_arena *a, const char *opt_file, const char *name,
		      struct em_matrix *m, const struct em_workload **w, struct em_venv_paths *p)
{
	const char *file;
	int ret = cli_load_matrix(a, opt_file, m, &file);
	if (ret)
		return ret;
	*w = cli_find_workload(m, name);
	if (!*w)
		return EXIT_FAIL;
	struct em_error e;
	em_error_clear(&e);
	if (em_venv_paths(a, file, *w, p, &e))
		return cli_report(&e);
	struct stat st;
	if (stat(p->root, &st) != 0) {
		cli_error("workload '%s' has no environment at '%s'; run 'envmatrix apply' first",
			  (*w)->name, p->root);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}
