/* gpu.h - the NVIDIA driver, the CUDA it runs, and the GPUs of this machine
 *
 * Detection asks, in order, and stops at the first source that names the
 * driver (later sources only fill in what earlier ones left out):
 *   1. an override (ENVMATRIX_CUDA_DRIVER: a driver version, 550.54.14);
 *   2. Linux /sys/module/nvidia/version, /proc/driver/nvidia/version and
 *      /proc/driver/nvidia/gpus/{bus}/information (model, UUID, bus);
 *   3. NVML loaded at run time (libnvidia-ml.so.1, nvml.dll): driver,
 *      newest CUDA, each GPU's name, memory, compute capability, bus, UUID;
 *   4. nvidia-smi --query-gpu=... --format=csv (never the human banner).
 * No driver and no GPU is a normal result, not an error. With a sysroot
 * (ENVMATRIX_SYSROOT) every /sys and /proc read happens under it, NVML is
 * not loaded (it would describe the real machine), and nvidia-smi runs
 * only when its path is given, so a recorded host replays exactly.
 *
 * What the driver runs and what a torch build was compiled for come from
 * two tables kept with their sources: the driver floors and per-toolkit
 * minimums below, and src/data/torch_arch.def (TORCH_CUDA_ARCH_LIST of
 * the official wheels).
 */
#ifndef ENVMATRIX_GPU_H
#define ENVMATRIX_GPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "envmatrix/error.h"
#include "spec/target.h"

/* ---- driver versions ---- */
struct em_driver_version {
	unsigned part[3]; /* 580.65.06 */
	unsigned nparts;
};

EM_MUST_USE
int em_driver_parse(const char *s, struct em_driver_version *out, struct em_error *e);
int em_driver_cmp(const struct em_driver_version *a, const struct em_driver_version *b);
/* As NVIDIA writes them: 525.60.13, 450.80.02, 528.33, 580. */
void em_driver_format(const struct em_driver_version *d, char *buf, size_t size);
/* The family floor: the oldest driver that runs variant ("cu126") on os
 * (CUDA minor-version compatibility); false for a variant that needs no
 * NVIDIA driver (cpu, rocm, xpu) or an unknown one. Below it the build
 * does not run. */
bool em_driver_minimum(const char *variant, enum em_os os, struct em_driver_version *out);
/* The strict minimum: the driver the toolkit PyTorch builds variant with
 * ships with (CUDA 12.6 Update 3: 560.35.05 on Linux). Between the floor
 * and it most things run, but features of the newer toolkit (PTX JIT of
 * newer code, some libraries) may not. false when unknown. *toolkit is
 * set to the toolkit's name ("12.6 Update 3") when not NULL. */
bool em_driver_toolkit_minimum(const char *variant, enum em_os os, struct em_driver_version *out,
			       const char **toolkit);
/* The newest CUDA version a driver runs, from NVIDIA's table "CUDA Toolkit
 * and Corresponding Driver Versions" (GA releases); false when the driver
 * is older than any toolkit listed. */
bool em_driver_max_cuda(const struct em_driver_version *d, enum em_os os, unsigned *major,
			unsigned *minor);

/* ---- what detection finds ---- */
#define EM_GPU_MAX 16

struct em_gpu {
	char name[96];         /* "NVIDIA H200" */
	char uuid[64];         /* "GPU-34552e40-..."; "" when not known */
	char pci_bus_id[32];   /* "0000:00:06.0" (domain:bus:device.function) */
	uint64_t memory_mib;   /* 0 when not known */
	unsigned cc_major, cc_minor; /* compute capability; 0.0 when not known */
	bool cc_inferred;      /* from the name table, not from NVML/nvidia-smi */
	const char *source;    /* "proc", "nvml" or "nvidia-smi" (static string) */
};

struct em_gpu_info {
	bool have_driver;
	char driver[32];                  /* "580.159.04" as reported */
	struct em_driver_version driver_version;
	const char *driver_source;        /* "ENVMATRIX_CUDA_DRIVER", "/sys/module/nvidia/version",
					   * "/proc/driver/nvidia/version", "nvml", "nvidia-smi" */
	unsigned cuda_major, cuda_minor;  /* the newest CUDA the driver runs; 0 when unknown */
	bool cuda_from_table;             /* from em_driver_max_cuda, not from NVML/nvidia-smi */
	char kernel_module[96];           /* "NVIDIA UNIX Open Kernel Module for x86_64" or "" */
	uint32_t ngpus;
	struct em_gpu gpus[EM_GPU_MAX];
	/* what was tried when nothing was found, for messages and doctor:
	 * "no /proc/driver/nvidia/version, no libnvidia-ml.so.1, no nvidia-smi" */
	char tried[256];
};

struct em_gpu_probe {
	const char *sysroot;   /* ENVMATRIX_SYSROOT; NULL or "": the real / */
	const char *override;  /* ENVMATRIX_CUDA_DRIVER; NULL or "": none */
	bool no_nvml;          /* do not load NVML */
	bool no_smi;           /* do not run nvidia-smi */
	const char *smi_path;  /* nvidia-smi to run; NULL: "nvidia-smi" in PATH
				* (with a sysroot, NULL means none is run) */
	int smi_timeout_ms;    /* 0: EM_GPU_SMI_TIMEOUT_MS */
};

#define EM_GPU_SMI_TIMEOUT_MS 10000

/* Detect. Only misuse and out of memory are errors; a malformed override
 * is EM_EINVAL naming ENVMATRIX_CUDA_DRIVER. a holds nothing afterwards
 * (everything is copied into out); it is scratch space. */
EM_MUST_USE
int em_gpu_detect(struct em_arena *a, const struct em_gpu_probe *p, struct em_gpu_info *out,
		  struct em_error *e);

/* The parsers detection uses, exposed for tests. Each adds what it reads
 * to out. */
/* /proc/driver/nvidia/version ("NVRM version: ... 580.159.04 ...") */
EM_MUST_USE
int em_gpu_parse_proc_version(const char *text, struct em_gpu_info *out, struct em_error *e);
/* /proc/driver/nvidia/gpus/X/information (Model, GPU UUID, Bus Location) */
EM_MUST_USE
int em_gpu_parse_information(const char *text, struct em_gpu *out, struct em_error *e);
/* nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap,
 * pci.bus_id,uuid --format=csv[,noheader][,nounits]: a header line and
 * units are accepted, so are files without the uuid column. */
EM_MUST_USE
int em_gpu_parse_smi_csv(const char *text, size_t len, struct em_gpu_info *out,
			 struct em_error *e);

/* The compute capability NVIDIA lists for a GPU name ("NVIDIA GeForce RTX
 * 3090" -> 8.6); false when the name is not known. */
bool em_gpu_cc_from_name(const char *name, unsigned *major, unsigned *minor);

/* ---- what a torch build runs on ---- */

/* The architectures the official torch wheels of version (a release such
 * as "2.8.0" or "2.8.0+cu126"; the series 2.8 is what counts) and variant
 * ("cu126") were built for on os, as TORCH_CUDA_ARCH_LIST writes them
 * ("5.0;6.0;7.0;7.5;8.0;8.6;9.0"; "+PTX" after the one with PTX). A
 * version newer than every row uses its variant's newest row; inside the
 * table a series needs its own row (a variant not built for it is NULL).
 * NULL when not known (a variant without rows, a torch older than the
 * table). *source (when not NULL) names where the row comes from. */
const char *em_torch_arch_list(const char *version, const char *variant, enum em_os os,
			       const char **source);

/* Whether a GPU of compute capability major.minor runs a build of
 * arch_list: it contains X.Z with X == major and Z <= minor (binary
 * compatibility within a major version), or an arch A+PTX with A <= the
 * capability (the driver compiles the PTX; *ptx is then set). */
bool em_arch_list_runs(const char *arch_list, unsigned major, unsigned minor, bool *ptx);

/* Check that every GPU of g runs the official torch build version
 * ("2.8.0+cu126") of variant on os: 0, or EM_EUNSUPPORTED with a message
 * naming the GPU, its compute capability, what the build was compiled for
 * and what to choose instead ("choose cuda = 12.8 (cu128) or newer").
 * A build the table does not know passes, as does a GPU whose compute
 * capability is unknown. g NULL passes. */
EM_MUST_USE
int em_gpu_check_torch(const struct em_gpu_info *g, const char *version, const char *variant,
		       enum em_os os, struct em_error *e);

/* What to choose for a GPU of compute capability major.minor: the
 * variants of version's torch series whose build runs it ("cu128, cu129
 * or cu130"), else the oldest torch series with such a variant ("torch
 * 2.7 or newer with cu128"). false when the table knows none. */
bool em_torch_suggest(const char *version, unsigned major, unsigned minor, enum em_os os,
		      char *buf, size_t size);

/* The list written as torch.cuda.get_arch_list() shows it: "sm_50 sm_60 ...". */
void em_arch_list_format(const char *arch_list, char *buf, size_t size);

/* ---- what other modules keep of a detection ---- */

struct em_host_gpu;

/* The host's GPU as verification compares it with what torch sees
 * (verify.h): none for g NULL, for no driver, and for a driver only named
 * (ENVMATRIX_CUDA_DRIVER, to plan for another machine); a loaded driver is
 * a GPU even when none could be named (torch must see a device). */
struct em_host_gpu em_gpu_host(const struct em_gpu_info *g);

/* The host facts a history generation keeps (host.json): the platform
 * (its name) and g's NVIDIA driver and GPUs (g NULL: none), as JSON text
 * with a final newline, in a. */
const char *em_gpu_host_json(struct em_arena *a, const char *platform,
			     const struct em_gpu_info *g);

#endif
