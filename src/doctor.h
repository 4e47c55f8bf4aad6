/* doctor.h - can this machine run the matrix's workloads, and why not
 *
 * The facts `envmatrix doctor` reports that no other module gathers (the
 * CPU, free disk space) and the per-workload verdict: the platform is this
 * machine's, a Python for it is here (or will be had), the NVIDIA driver
 * reaches the CUDA variant's floor, and each GPU's compute capability is
 * one the torch build was compiled for.
 */
#ifndef ENVMATRIX_DOCTOR_H
#define ENVMATRIX_DOCTOR_H

#include <stdbool.h>
#include <stdint.h>

#include "util/arena.h"
#include "envmatrix/error.h"
#include "gpu.h"
#include "spec/matrix.h"
#include "plan.h"

struct em_cpu_info {
	char model[128];   /* "AMD EPYC 9654 96-Core Processor"; "" when unknown */
	unsigned cores;    /* logical processors online */
};

/* /proc/cpuinfo (under sysroot when not NULL) and the processors online. */
void em_host_cpu(const char *sysroot, struct em_cpu_info *out);

/* Free and total bytes of the file system holding path, or of its nearest
 * existing parent when it does not exist yet. */
EM_MUST_USE
int em_disk_space(struct em_arena *a, const char *path, uint64_t *free_bytes, uint64_t *total,
		  struct em_error *e);

#define EM_DOCTOR_MAX_NOTES 4

struct em_doctor_workload {
	const struct em_workload *w;
	bool can_run;
	const char *reason;       /* why not (what to change); NULL when it can run */
	char platform[64];        /* the workload's platform name */
	char python[32];          /* the Python chosen; "" when none */
	const char *python_from;  /* "matrix" or the interpreter's path, NULL */
	const char *variant;      /* "cu126", "cpu", "auto"; NULL without torch */
	const char *torch;        /* the torch checked: from the lock, else the matrix's
				   * exact version; NULL when unknown */
	const char *venv;         /* the environment's path */
	bool disk_known;
	uint64_t disk_free, disk_total;
	uint32_t nnotes;          /* warnings: a driver below the toolkit's own... */
	const char *notes[EM_DOCTOR_MAX_NOTES];
};

/* Judge workload w of matrix m (read from o->matrix_path) on this machine:
 * o->host and o->gpu describe it, o->driver_env is ENVMATRIX_CUDA_DRIVER.
 * Interpreters are discovered into *own on first need when *interps is
 * NULL (as em_plan_target does). Only out of memory is an error; every
 * reason the workload cannot run is in out. */
EM_MUST_USE
int em_doctor_workload(struct em_arena *a, const struct em_matrix *m, const struct em_workload *w,
		       const struct em_plan_options *o, const struct em_interp_list **interps,
		       struct em_interp_list *own, struct em_doctor_workload *out,
		       struct em_error *e);

#endif
