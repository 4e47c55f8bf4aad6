/* fuzz_gpu.c - libFuzzer target for the NVIDIA parsers: nvidia-smi CSV,
 * /proc/driver/nvidia/version, a GPU's information file, GPU names, and
 * TORCH_CUDA_ARCH_LIST strings
 *
 * Checked: no crash; every string a parser keeps is NUL-terminated
 * printable ASCII inside its buffer; a driver found parses again; at most
 * EM_GPU_MAX GPUs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gpu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void printable(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);
	if (n == cap)
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			abort();
}

static void check_info(const struct em_gpu_info *g)
{
	if (g->ngpus > EM_GPU_MAX)
		abort();
	printable(g->driver, sizeof g->driver);
	printable(g->kernel_module, sizeof g->kernel_module);
	if (g->have_driver) {
		struct em_driver_version d;
		if (em_driver_parse(g->driver, &d, NULL))
			abort();
	}
	for (uint32_t i = 0; i < g->ngpus; i++) {
		printable(g->gpus[i].name, sizeof g->gpus[i].name);
		printable(g->gpus[i].uuid, sizeof g->gpus[i].uuid);
		printable(g->gpus[i].pci_bus_id, sizeof g->gpus[i].pci_bus_id);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	struct em_error e;
	struct em_gpu_info g;
	memset(&g, 0, sizeof g);
	em_gpu_parse_smi_csv(s, size, &g, &e);
	check_info(&g);
	memset(&g, 0, sizeof g);
	em_gpu_parse_proc_version(s, &g, &e);
	check_info(&g);
	struct em_gpu one;
	memset(&one, 0, sizeof one);
	em_gpu_parse_information(s, &one, &e);
	printable(one.name, sizeof one.name);
	printable(one.pci_bus_id, sizeof one.pci_bus_id);
	unsigned x, y;
	em_gpu_cc_from_name(s, &x, &y);
	bool ptx;
	em_arch_list_runs(s, 9, 0, &ptx);
	char buf[64];
	em_arch_list_format(s, buf, sizeof buf);
	if (strnlen(buf, sizeof buf) == sizeof buf)
		abort();
	struct em_driver_version d;
	if (em_driver_parse(s, &d, NULL) == 0) {
		em_driver_format(&d, buf, sizeof buf);
		unsigned maj, min;
		em_driver_max_cuda(&d, EM_OS_LINUX, &maj, &min);
	}
	free(s);
	return 0;
}
