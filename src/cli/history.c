/* history.c - what the commands share about the history repository
 * (state.h): finding it, opening it, recording an apply */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

bool cli_is_matrix_arg(const char *arg)
{
	size_t n = strlen(arg);
	struct stat st;
	return (n > 4 && !strcmp(arg + n - 4, ".ini")) ||
	       (strchr(arg, '/') && stat(arg, &st) == 0 && S_ISREG(st.st_mode));
}

int cli_history_open(struct em_arena *a, const char *file, const struct em_matrix *m,
		     bool create, struct em_history *h)
{
	struct em_error e;
	em_error_clear(&e);
	const char *path;
	memset(h, 0, sizeof *h);
	if (em_history_path(a, file, m, getenv("ENVMATRIX_HISTORY"), &path, &e))
		return cli_report(&e);
	if (!path) {
		cli_error("the history is off for '%s' (history = off in the matrix, or "
			  "ENVMATRIX_HISTORY=off)", file);
		return EXIT_FAIL;
	}
	if (em_history_open(h, a, path, create, &e)) {
		if (e.code == EM_ENOTFOUND)
			return -1; /* no history yet: the caller says what that means */
		return cli_report(&e);
	}
	return EXIT_OK;
}

static const char *host_json(struct em_arena *a)
{
	struct em_platform host;
	char name[64] = "unknown";
	if (em_host_platform(&host, NULL) == 0)
		em_platform_name(&host, name, sizeof name);
	return em_arena_printf(a, "{\n  \"platform\": \"%s\"\n}\n", name);
}

int cli_history_record(struct em_arena *a, const char *file, const struct em_matrix *m,
		       const char *matrix_text, size_t matrix_len, uint32_t n,
		       const struct em_record_workload *w, const char *rev)
{
	if (!n)
		return EXIT_OK;
	struct em_error e;
	em_error_clear(&e);
	const char *path;
	if (em_history_path(a, file, m, getenv("ENVMATRIX_HISTORY"), &path, &e) == 0 && !path)
		return EXIT_OK; /* history = off */
	struct em_history h;
	struct em_record r = { matrix_text, matrix_len, host_json(a), rev, n, w };
	uint32_t *num = em_arena_array(a, n, sizeof *num);
	int rc = e.code ? e.code : !num ? em_err_nomem(&e) : em_history_open(&h, a, path, true, &e);
	if (!rc) {
		rc = em_history_record(a, &h, &r, num, &e);
		em_history_close(&h);
	}
	if (rc) {
		cli_report(&e);
		cli_error("the generation was not recorded in the history; the environments are "
			  "in place (see 'envmatrix status')");
		return EXIT_FAIL;
	}
	if (!cli.quiet)
		for (uint32_t i = 0; i < n; i++)
			fprintf(stderr, "envmatrix: %s: generation %u recorded\n", w[i].name, num[i]);
	return EXIT_OK;
}
