/* gpu.c - this machine's NVIDIA driver and GPUs, for plan, apply and doctor */
#include "cli.h"

#include "envmatrix/error.h"
#include "gpu.h"
#include "plan.h"
#include "settings.h"
#include "spec/matrix.h"
#include "util/arena.h"
#include "verify.h"

#include <stdlib.h>
#include <string.h>

/* The probe the environment asks for; with_override: ENVMATRIX_CUDA_DRIVER
 * counts (planning), else only what the machine says does (what a
 * generation records about its host). */
static int detect(struct em_arena *a, bool with_override, struct em_gpu_info *out,
		  struct em_error *e)
{
	struct em_gpu_probe p = {
		.sysroot = em_settings()->sysroot,
		.override = with_override ? em_settings()->cuda_driver : NULL,
		.smi_path = em_settings()->nvidia_smi,
	};
	if (p.smi_path && !*p.smi_path)
		p.smi_path = NULL;
	return em_gpu_detect(a, &p, out, e);
}

int cli_gpu_detect(struct em_arena *a, struct em_gpu_info *out)
{
	struct em_error e;
	em_error_clear(&e);
	if (detect(a, true, out, &e))
		return cli_report(&e);
	return EXIT_OK;
}

bool cli_gpu_detect_machine(struct em_arena *a, struct em_gpu_info *out)
{
	return detect(a, false, out, NULL) == 0;
}

bool cli_gpu_needed(const struct em_matrix *m)
{
	for (uint32_t i = 0; i < m->nworkloads; i++)
		if (m->workloads[i].torch.value)
			return true;
	return false;
}

void cli_plan_warnings(const struct em_workload_plan *wp)
{
	if (!wp || cli.quiet)
		return;
	for (uint32_t i = 0; i < wp->nwarnings; i++)
		cli_warn("workload '%s': %s", wp->w->name, wp->warnings[i]);
}

struct em_host_gpu cli_host_gpu(const struct em_gpu_info *g)
{
	return em_gpu_host(g);
}
