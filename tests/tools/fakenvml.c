/* fakenvml.c - a stand-in libnvidia-ml.so.1 for tests/cli/test_doctor.sh
 *
 * Answers the NVML calls envmatrix makes (gpu.c) as a host with driver
 * 580.159.04 (CUDA 13.0) and two GPUs would: an H200 and an RTX 5090, with
 * the structures laid out as NVIDIA's nvml.h declares them. Built by the
 * test into a folder put first in LD_LIBRARY_PATH; FAKE_NVML_FAIL=init
 * makes nvmlInit_v2 fail as it does when the driver is not loaded.
 */
#include <stdlib.h>
#include <string.h>

typedef struct fake_device *nvmlDevice_t;
typedef struct {
	unsigned long long total, free, used;
} nvmlMemory_t;
typedef struct {
	char busIdLegacy[16];
	unsigned int domain, bus, device, pciDeviceId, pciSubSystemId;
	char busId[32];
} nvmlPciInfo_t;

struct fake_device {
	const char *name, *uuid, *bus;
	unsigned long long mib;
	int major, minor;
};

static struct fake_device devices[] = {
	{ "NVIDIA H200", "GPU-34552e40-8e79-f54d-7e49-27edb407edd5", "00000000:00:06.0", 143771, 9, 0 },
	{ "NVIDIA GeForce RTX 5090", "GPU-0b7c2f1e-5a3d-4c6e-9f10-2d8e4b6a1c33", "00000000:41:00.0",
	  32607, 12, 0 },
};

enum { OK = 0, UNINITIALIZED = 1, INVALID_ARGUMENT = 2, INSUFFICIENT_SIZE = 7, DRIVER_NOT_LOADED = 9 };

static int up;

static int put(char *dst, unsigned size, const char *s)
{
	if (!dst || strlen(s) + 1 > size)
		return INSUFFICIENT_SIZE;
	memcpy(dst, s, strlen(s) + 1);
	return OK;
}

int nvmlInit_v2(void);
int nvmlShutdown(void);
int nvmlSystemGetDriverVersion(char *v, unsigned n);
int nvmlSystemGetCudaDriverVersion_v2(int *v);
int nvmlDeviceGetCount_v2(unsigned *n);
int nvmlDeviceGetHandleByIndex_v2(unsigned i, nvmlDevice_t *d);
int nvmlDeviceGetName(nvmlDevice_t d, char *name, unsigned n);
int nvmlDeviceGetMemoryInfo(nvmlDevice_t d, nvmlMemory_t *m);
int nvmlDeviceGetCudaComputeCapability(nvmlDevice_t d, int *major, int *minor);
int nvmlDeviceGetPciInfo_v3(nvmlDevice_t d, nvmlPciInfo_t *p);
int nvmlDeviceGetUUID(nvmlDevice_t d, char *uuid, unsigned n);

int nvmlInit_v2(void)
{
	const char *f = getenv("FAKE_NVML_FAIL");
	if (f && !strcmp(f, "init"))
		return DRIVER_NOT_LOADED;
	up = 1;
	return OK;
}

int nvmlShutdown(void)
{
	if (!up)
		return UNINITIALIZED;
	up = 0;
	return OK;
}

int nvmlSystemGetDriverVersion(char *v, unsigned n)
{
	return up ? put(v, n, "580.159.04") : UNINITIALIZED;
}

int nvmlSystemGetCudaDriverVersion_v2(int *v)
{
	if (!up)
		return UNINITIALIZED;
	*v = 13000;
	return OK;
}

int nvmlDeviceGetCount_v2(unsigned *n)
{
	if (!up)
		return UNINITIALIZED;
	*n = sizeof devices / sizeof devices[0];
	return OK;
}

int nvmlDeviceGetHandleByIndex_v2(unsigned i, nvmlDevice_t *d)
{
	if (!up)
		return UNINITIALIZED;
	if (i >= sizeof devices / sizeof devices[0])
		return INVALID_ARGUMENT;
	*d = &devices[i];
	return OK;
}

int nvmlDeviceGetName(nvmlDevice_t d, char *name, unsigned n)
{
	return up ? put(name, n, d->name) : UNINITIALIZED;
}

int nvmlDeviceGetMemoryInfo(nvmlDevice_t d, nvmlMemory_t *m)
{
	if (!up)
		return UNINITIALIZED;
	m->total = d->mib << 20;
	m->used = 1ull << 20;
	m->free = m->total - m->used;
	return OK;
}

int nvmlDeviceGetCudaComputeCapability(nvmlDevice_t d, int *major, int *minor)
{
	if (!up)
		return UNINITIALIZED;
	*major = d->major;
	*minor = d->minor;
	return OK;
}

int nvmlDeviceGetPciInfo_v3(nvmlDevice_t d, nvmlPciInfo_t *p)
{
	if (!up)
		return UNINITIALIZED;
	memset(p, 0xff, sizeof *p); /* every byte written: no terminator for free */
	put(p->busIdLegacy, sizeof p->busIdLegacy, d->bus + 4);
	p->domain = 0;
	put(p->busId, sizeof p->busId, d->bus);
	return OK;
}

int nvmlDeviceGetUUID(nvmlDevice_t d, char *uuid, unsigned n)
{
	return up ? put(uuid, n, d->uuid) : UNINITIALIZED;
}
