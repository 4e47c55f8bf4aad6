/* history.c - what the commands share about the history repository
 * (history.h): finding it, opening it, recording an apply */
#include "cli.h"

#include "envmatrix/error.h"
#include "gpu.h"
#include "history.h"
#include "host.h"
#include "settings.h"
#include "spec/matrix.h"
#include "spec/target.h"
#include "util/arena.h"
#include "verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_history_open(struct em_arena *a, const char *file, const struct em_matrix *m,
		     bool create, struct em_history *h)
{
	struct em_error e;
	em_error_clear(&e);
	const char *path;
	memset(h, 0, sizeof *h);
	if (em_history_path(a, file, m, em_settings()->history, &path, &e))
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

/* The host facts a generation keeps (host.json): the platform, and the
 * NVIDIA driver and GPUs (gpu: as apply detected them; NULL: detect). */
static const char *host_json(struct em_arena *a, const struct em_gpu_info *gpu)
{
	struct em_platform host;
	char name[64] = "unknown";
	if (em_host_platform(&host, NULL) == 0)
		em_platform_name(&host, name, sizeof name);
	struct em_gpu_info own;
	if (!gpu && cli_gpu_detect_machine(a, &own))
		gpu = &own;
	return em_gpu_host_json(a, name, gpu);
}

const char *cli_verify_record(struct em_arena *a, const struct em_verify_result *r)
{
	return em_verify_record(a, r);
}

bool cli_history_open_quiet(struct em_arena *a, const char *file, const struct em_matrix *m,
			    struct em_history *h)
{
	const char *path;
	memset(h, 0, sizeof *h);
	return em_history_path(a, file, m, em_settings()->history, &path, NULL) == 0 &&
	       path && em_history_open(h, a, path, false, NULL) == 0;
}

int cli_history_record(struct em_arena *a, const char *file, const struct em_matrix *m,
		       const char *matrix_text, size_t matrix_len, uint32_t n,
		       const struct em_record_workload *w, const char *rev,
		       const struct em_gpu_info *gpu, uint32_t *numbers)
{
	if (!n)
		return EXIT_OK;
	struct em_error e;
	em_error_clear(&e);
	const char *path;
	if (em_history_path(a, file, m, em_settings()->history, &path, &e) == 0 && !path)
		return EXIT_OK; /* history = off */
	struct em_history h;
	struct em_record r = { matrix_text, matrix_len, host_json(a, gpu), rev, n, w };
	uint32_t *num = numbers ? numbers : em_arena_array(a, n, sizeof *num);
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
