/* gpu.c - this machine's NVIDIA driver and GPUs, for plan, apply and doctor */
#include "cli.h"

#include <stdlib.h>

int cli_gpu_detect(struct em_arena *a, struct em_gpu_info *out)
{
	struct em_gpu_probe p = {
		.sysroot = getenv("ENVMATRIX_SYSROOT"),
		.override = getenv("ENVMATRIX_CUDA_DRIVER"),
		.smi_path = getenv("ENVMATRIX_NVIDIA_SMI"),
	};
	if (p.smi_path && !*p.smi_path)
		p.smi_path = NULL;
	struct em_error e;
	em_error_clear(&e);
	if (em_gpu_detect(a, &p, out, &e))
		return cli_report(&e);
	return EXIT_OK;
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
