/* host_gpu.c - the host's GPU as the commands that verify see it
 *
 * ONE function, kept apart on purpose: for now it only knows whether an
 * NVIDIA driver is loaded (/proc/driver/nvidia/version, read under
 * $ENVMATRIX_SYSROOT when set, so tests can replay a host). Real GPU
 * detection (driver, NVML, nvidia-smi: names and compute capabilities)
 * replaces its body; its callers (apply, verify) need no change.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>

struct em_host_gpu cli_host_gpu(void)
{
	struct em_host_gpu g = { false, NULL, -1, -1, NULL };
	const char *root = getenv("ENVMATRIX_SYSROOT");
	char path[4096];
	snprintf(path, sizeof path, "%s/proc/driver/nvidia/version", root ? root : "");
	FILE *f = fopen(path, "r");
	if (f) {
		g.present = true;
		fclose(f);
	}
	return g;
}
