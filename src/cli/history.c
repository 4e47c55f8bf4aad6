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

#include <jansson.h>
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
	json_t *o = json_pack("{s:s}", "platform", name);
	if (o && gpu && gpu->have_driver) {
		char cuda[16] = "";
		if (gpu->cuda_major)
			snprintf(cuda, sizeof cuda, "%u.%u", gpu->cuda_major, gpu->cuda_minor);
		json_t *gpus = json_array();
		for (uint32_t i = 0; gpus && i < gpu->ngpus; i++) {
			const struct em_gpu *g = &gpu->gpus[i];
			char cc[16] = "";
			if (g->cc_major)
				snprintf(cc, sizeof cc, "%u.%u", g->cc_major, g->cc_minor);
			json_array_append_new(gpus, json_pack("{s:s, s:s?, s:I}", "name", g->name,
							      "compute_capability", cc[0] ? cc : NULL,
							      "memory_mib", (json_int_t)g->memory_mib));
		}
		json_object_set_new(o, "nvidia", json_pack("{s:s, s:s?, s:o}", "driver", gpu->driver,
							   "cuda", cuda[0] ? cuda : NULL, "gpus",
							   gpus ? gpus : json_array()));
	}
	char *text = o ? json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
	json_decref(o);
	const char *out = text ? em_arena_printf(a, "%s\n", text) : NULL;
	free(text);
	return out ? out : em_arena_printf(a, "{\n  \"platform\": \"%s\"\n}\n", name);
}

const char *cli_verify_record(struct em_arena *a, const struct em_verify_result *r)
{
	char *text;
	size_t len;
	if (!r || em_verify_to_json(a, r, &text, &len, NULL))
		return NULL;
	return text;
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
