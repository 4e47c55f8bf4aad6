/* test_gpu.c - NVIDIA driver and GPU detection, driver tables, torch
 * architectures, and the doctor's verdict per workload
 *
 * Detection is replayed from recorded hosts (tests/fixtures/hosts, used as
 * ENVMATRIX_SYSROOT): a real H200 with driver 580.159.04, and hand-written
 * RTX 3090 / driver 470 and RTX 5090 / driver 575 machines. nvidia-smi is
 * a script printing the H200's real CSV. The machine's own detection runs
 * too and must answer "no driver" cleanly where there is none.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "doctor.h"
#include "os/fs.h"
#include "gpu.h"
#include "spec/matrix.h"

static char tmpdir[256];

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "%s/envmatrix-gpu.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	em_remove_tree(tmpdir, NULL);
	return 0;
}

static void detect_host(const char *host, struct em_gpu_info *g)
{
	struct em_arena a;
	em_arena_init(&a);
	struct em_gpu_probe p = { 0 };
	char root[512];
	snprintf(root, sizeof root, "%s", tu_fixture(host));
	p.sysroot = root;
	p.no_nvml = p.no_smi = true;
	struct em_error e;
	em_error_clear(&e);
	assert_int_equal(em_gpu_detect(&a, &p, g, &e), 0);
	em_arena_release(&a);
}

static void test_detect_h200(void **state)
{
	(void)state;
	struct em_gpu_info g;
	detect_host("hosts/nvidia-h200", &g);
	assert_true(g.have_driver);
	assert_string_equal(g.driver, "580.159.04");
	assert_string_equal(g.driver_source, "/sys/module/nvidia/version");
	assert_int_equal(g.cuda_major, 13);
	assert_int_equal(g.cuda_minor, 0);
	assert_true(g.cuda_from_table);
	assert_string_equal(g.kernel_module, "NVIDIA UNIX Open Kernel Module for x86_64");
	assert_int_equal(g.ngpus, 1);
	assert_string_equal(g.gpus[0].name, "NVIDIA H200");
	assert_int_equal(g.gpus[0].cc_major, 9);
	assert_int_equal(g.gpus[0].cc_minor, 0);
	assert_true(g.gpus[0].cc_inferred);
	assert_string_equal(g.gpus[0].pci_bus_id, "0000:00:06.0");
	assert_string_equal(g.gpus[0].uuid, "GPU-34552e40-8e79-f54d-7e49-27edb407edd5");
	assert_string_equal(g.tried, "");
}

static void test_detect_old_driver(void **state)
{
	(void)state;
	struct em_gpu_info g;
	detect_host("hosts/rtx3090-driver470", &g);
	assert_string_equal(g.driver, "470.256.02");
	assert_int_equal(g.cuda_major, 11);
	assert_int_equal(g.cuda_minor, 4);
	assert_int_equal(g.ngpus, 1);
	assert_string_equal(g.gpus[0].name, "NVIDIA GeForce RTX 3090");
	assert_int_equal(g.gpus[0].cc_major, 8);
	assert_int_equal(g.gpus[0].cc_minor, 6);
}

/* a script standing in for nvidia-smi: prints the H200's CSV */
static const char *fake_smi(const char *body)
{
	static char path[512];
	snprintf(path, sizeof path, "%s/nvidia-smi", tmpdir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "#!/bin/sh\ncase \"$*\" in *--query-gpu=*--format=csv*) ;; *) exit 9 ;; esac\n%s", body);
	fclose(f);
	chmod(path, 0755);
	return path;
}

static void test_detect_with_smi(void **state)
{
	(void)state;
	struct em_arena a;
	em_arena_init(&a);
	struct em_error e;
	em_error_clear(&e);
	struct em_gpu_info g;
	/* the H200's files and its nvidia-smi: one GPU, merged by bus id */
	struct em_gpu_probe p = { 0 };
	char root[512];
	snprintf(root, sizeof root, "%s", tu_fixture("hosts/nvidia-h200"));
	p.sysroot = root;
	p.no_nvml = true;
	p.smi_path = fake_smi("echo 'NVIDIA H200, 580.159.04, 143771, 9.0, 00000000:00:06.0, "
			      "GPU-34552e40-8e79-f54d-7e49-27edb407edd5'\n");
	assert_int_equal(em_gpu_detect(&a, &p, &g, &e), 0);
	assert_int_equal(g.ngpus, 1);
	assert_int_equal(g.gpus[0].memory_mib, 143771);
	assert_false(g.gpus[0].cc_inferred);
	assert_string_equal(g.driver_source, "/sys/module/nvidia/version");

	/* nvidia-smi alone (no driver files) */
	p.sysroot = tmpdir;
	assert_int_equal(em_gpu_detect(&a, &p, &g, &e), 0);
	assert_true(g.have_driver);
	assert_string_equal(g.driver, "580.159.04");
	assert_string_equal(g.driver_source, "nvidia-smi");
	assert_int_equal(g.cuda_major, 13);
	assert_string_equal(g.gpus[0].source, "nvidia-smi");

	/* a failing or hanging nvidia-smi is no driver, said so */
	p.smi_path = fake_smi("exit 6\n");
	assert_int_equal(em_gpu_detect(&a, &p, &g, &e), 0);
	assert_false(g.have_driver);
	assert_non_null(strstr(g.tried, "nvidia-smi failed"));
	p.smi_path = fake_smi("sleep 5\n");
	p.smi_timeout_ms = 200;
	assert_int_equal(em_gpu_detect(&a, &p, &g, &e), 0);
	assert_false(g.have_driver);
	assert_non_null(strstr(g.tried, "nvidia-smi timed out"));
	em_arena_release(&a);
}

static void test_detect_nothing(void **state)
{
	(void)state;
	struct em_arena a;
	em_arena_init(&a);
	struct em_error e;
	em_error_clear(&e);
	struct em_gpu_info g;
	struct em_gpu_probe p = { 0 };
	p.sysroot = tmpdir;
	p.no_nvml = true;
	p.smi_path = "/nonexistent/nvidia-smi";
	assert_int_equal(em_gpu_detect(&a, &p, &g, &e), 0);
	assert_false(g.have_driver);
	assert_int_equal(g.ngpus, 0);
	assert_string_equal(g.tried, "no /proc/driver/nvidia/version, no nvidia-smi");
	em_arena_release(&a);
}

/* This machine, every source: where there is no NVIDIA driver, the answer
 * is a clean "none" listing what was tried. */
static void test_detect_this_machine(void **state)
{
	(void)state;
	struct em_arena a;
	em_arena_init(&a);
	struct em_error e;
	em_error_clear(&e);
	struct em_gpu_info g;
	assert_int_equal(em_gpu_detect(&a, NULL, &g, &e), 0);
	struct stat st;
	if (stat("/proc/driver/nvidia/version", &st) == 0 || g.have_driver) {
		print_message("this machine has an NVIDIA driver (%s): detection found it\n", g.driver);
		assert_true(g.have_driver);
		assert_true(g.cuda_major > 0);
	} else {
		assert_false(g.have_driver);
		assert_non_null(strstr(g.tried, "no /proc/driver/nvidia/version"));
		assert_non_null(strstr(g.tried, "no libnvidia-ml.so.1"));
	}
	em_arena_release(&a);
}

static void test_override(void **state)
{
	(void)state;
	struct em_arena a;
	em_arena_init(&a);
	struct em_error e;
	em_error_clear(&e);
	struct em_gpu_info g;
	struct em_gpu_probe p = { 0 };
	char root[512];
	snprintf(root, sizeof root, "%s", tu_fixture("hosts/nvidia-h200"));
	p.sysroot = root;
	p.no_nvml = p.no_smi = true;
	p.override = "550.54.14";
	assert_int_equal(em_gpu_detect(&a, &p, &g, &e), 0);
	assert_string_equal(g.driver, "550.54.14");
	assert_string_equal(g.driver_source, "ENVMATRIX_CUDA_DRIVER");
	assert_int_equal(g.cuda_major, 12);
	assert_int_equal(g.cuda_minor, 4);
	assert_int_equal(g.ngpus, 1); /* the GPUs are still read */
	p.override = "550.x";
	assert_int_equal(em_gpu_detect(&a, &p, &g, &e), EM_EINVAL);
	assert_string_equal(e.where, "ENVMATRIX_CUDA_DRIVER");
	assert_non_null(strstr(e.msg, "'550.x'"));
	em_arena_release(&a);
}

static void test_smi_csv(void **state)
{
	(void)state;
	/* the real file: header, units, no uuid column */
	size_t len;
	char *text = tu_read_file(tu_fixture("hosts/nvidia-h200/nvidia-smi-query.csv"), &len);
	assert_non_null(text);
	struct em_gpu_info g;
	memset(&g, 0, sizeof g);
	struct em_error e;
	em_error_clear(&e);
	assert_int_equal(em_gpu_parse_smi_csv(text, len, &g, &e), 0);
	free(text);
	assert_true(g.have_driver);
	assert_string_equal(g.driver, "580.159.04");
	assert_int_equal(g.ngpus, 1);
	assert_string_equal(g.gpus[0].name, "NVIDIA H200");
	assert_int_equal(g.gpus[0].memory_mib, 143771);
	assert_int_equal(g.gpus[0].cc_major, 9);
	assert_int_equal(g.gpus[0].cc_minor, 0);
	assert_string_equal(g.gpus[0].pci_bus_id, "0000:00:06.0");

	/* noheader,nounits with uuid, two GPUs, CRLF */
	const char *two = "NVIDIA GeForce RTX 5090, 575.64.03, 32607, 12.0, 00000000:01:00.0, GPU-a\r\n"
			  "NVIDIA GeForce RTX 3090, 575.64.03, 24576, 8.6, 00000000:02:00.0, GPU-b\r\n";
	memset(&g, 0, sizeof g);
	assert_int_equal(em_gpu_parse_smi_csv(two, strlen(two), &g, &e), 0);
	assert_int_equal(g.ngpus, 2);
	assert_int_equal(g.gpus[0].cc_major, 12);
	assert_string_equal(g.gpus[1].uuid, "GPU-b");
	assert_string_equal(g.gpus[1].pci_bus_id, "0000:02:00.0");

	/* the human banner is not CSV: refused, naming the line */
	text = tu_read_file(tu_fixture("hosts/nvidia-h200/nvidia-smi.txt"), &len);
	assert_non_null(text);
	memset(&g, 0, sizeof g);
	assert_int_equal(em_gpu_parse_smi_csv(text, len, &g, &e), EM_EINVAL);
	assert_non_null(strstr(e.msg, "nvidia-smi output line 1"));
	free(text);
	/* NUL bytes and garbage stay out of names */
	const char bad[] = "NV\x1b[31mIDIA\0X, 580.1, 1, 9.0, 0000:00:01.0\n";
	memset(&g, 0, sizeof g);
	assert_int_equal(em_gpu_parse_smi_csv(bad, sizeof bad - 1, &g, &e), 0);
	assert_null(strchr(g.gpus[0].name, '\x1b'));
}

static void test_proc_parsers(void **state)
{
	(void)state;
	struct em_gpu_info g;
	memset(&g, 0, sizeof g);
	struct em_error e;
	em_error_clear(&e);
	const char *proprietary = "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.183.01  "
				  "Sun May 12 19:39:15 UTC 2024\nGCC version:  gcc 12\n";
	assert_int_equal(em_gpu_parse_proc_version(proprietary, &g, &e), 0);
	assert_string_equal(g.driver, "535.183.01");
	assert_string_equal(g.kernel_module, "NVIDIA UNIX x86_64 Kernel Module");
	memset(&g, 0, sizeof g);
	assert_int_equal(em_gpu_parse_proc_version("hello\n", &g, &e), EM_EINVAL);
	assert_int_equal(em_gpu_parse_proc_version("NVRM version: no version here\n", &g, &e),
			 EM_EINVAL);
	struct em_gpu gpu;
	memset(&gpu, 0, sizeof gpu);
	assert_int_equal(em_gpu_parse_information("IRQ: 5\n", &gpu, &e), EM_EINVAL);
}

static void test_driver_tables(void **state)
{
	(void)state;
	static const struct {
		const char *driver;
		int os;
		unsigned major, minor; /* 0.0: older than every toolkit */
	} cases[] = {
		{ "580.159.04", EM_OS_LINUX, 13, 0 }, { "580.65.06", EM_OS_LINUX, 13, 0 },
		{ "580.65.05", EM_OS_LINUX, 12, 9 },  { "575.64.03", EM_OS_LINUX, 12, 9 },
		{ "570.172.08", EM_OS_LINUX, 12, 8 }, { "560.35.03", EM_OS_LINUX, 12, 6 },
		{ "555.42.06", EM_OS_LINUX, 12, 5 },  { "550.54.14", EM_OS_LINUX, 12, 4 },
		{ "535.183.01", EM_OS_LINUX, 12, 2 }, { "525.60.13", EM_OS_LINUX, 12, 0 },
		{ "470.256.02", EM_OS_LINUX, 11, 4 }, { "390.157", EM_OS_LINUX, 0, 0 },
		{ "591.44", EM_OS_WINDOWS, 13, 1 },   { "566.36", EM_OS_WINDOWS, 12, 6 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct em_driver_version d;
		assert_int_equal(em_driver_parse(cases[i].driver, &d, NULL), 0);
		unsigned x = 0, y = 0;
		bool ok = em_driver_max_cuda(&d, (enum em_os)cases[i].os, &x, &y);
		if (x != cases[i].major || y != cases[i].minor || ok != (cases[i].major != 0))
			fail_msg("driver %s: CUDA %u.%u, want %u.%u", cases[i].driver, x, y,
				 cases[i].major, cases[i].minor);
	}
	struct em_driver_version d;
	char buf[32];
	const char *tk;
	assert_true(em_driver_toolkit_minimum("cu126", EM_OS_LINUX, &d, &tk));
	em_driver_format(&d, buf, sizeof buf);
	assert_string_equal(buf, "560.35.05");
	assert_string_equal(tk, "12.6 Update 3");
	assert_true(em_driver_toolkit_minimum("cu128", EM_OS_WINDOWS, &d, &tk));
	em_driver_format(&d, buf, sizeof buf);
	assert_string_equal(buf, "572.61");
	assert_false(em_driver_toolkit_minimum("cpu", EM_OS_LINUX, &d, &tk));
	assert_false(em_driver_toolkit_minimum("cu999", EM_OS_LINUX, &d, &tk));
	/* the family floors, as before the move */
	assert_true(em_driver_minimum("cu126", EM_OS_LINUX, &d));
	em_driver_format(&d, buf, sizeof buf);
	assert_string_equal(buf, "525.60.13");
	assert_true(em_driver_minimum("cu130", EM_OS_LINUX, &d));
	em_driver_format(&d, buf, sizeof buf);
	assert_string_equal(buf, "580");
	assert_true(em_driver_minimum("cu118", EM_OS_WINDOWS, &d));
	em_driver_format(&d, buf, sizeof buf);
	assert_string_equal(buf, "452.39");
	assert_false(em_driver_minimum("rocm6.2", EM_OS_LINUX, &d));
}

static void test_cc_names(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		unsigned major, minor;
	} cases[] = {
		{ "NVIDIA H200", 9, 0 },
		{ "NVIDIA H100 80GB HBM3", 9, 0 },
		{ "NVIDIA GH200 480GB", 9, 0 },
		{ "NVIDIA H20", 9, 0 },
		{ "NVIDIA GeForce RTX 3090", 8, 6 },
		{ "NVIDIA GeForce RTX 3080 Ti Laptop GPU", 8, 6 },
		{ "NVIDIA GeForce RTX 5090", 12, 0 },
		{ "NVIDIA GeForce RTX 5060 Ti", 12, 0 },
		{ "NVIDIA RTX PRO 6000 Blackwell Workstation Edition", 12, 0 },
		{ "NVIDIA GeForce RTX 4090 D", 8, 9 },
		{ "NVIDIA RTX 6000 Ada Generation", 8, 9 },
		{ "NVIDIA RTX A6000", 8, 6 },
		{ "NVIDIA A100-SXM4-80GB", 8, 0 },
		{ "NVIDIA A10", 8, 6 },
		{ "NVIDIA A10G", 8, 6 },
		{ "NVIDIA L40S", 8, 9 },
		{ "NVIDIA L4", 8, 9 },
		{ "Tesla T4", 7, 5 },
		{ "Tesla V100-SXM2-16GB", 7, 0 },
		{ "Quadro RTX 6000", 7, 5 },
		{ "NVIDIA GeForce GTX 1080 Ti", 6, 1 },
		{ "NVIDIA B200", 10, 0 },
		{ "NVIDIA GB10", 12, 1 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		unsigned x = 0, y = 0;
		if (!em_gpu_cc_from_name(cases[i].name, &x, &y) || x != cases[i].major ||
		    y != cases[i].minor)
			fail_msg("'%s': %u.%u, want %u.%u", cases[i].name, x, y, cases[i].major,
				 cases[i].minor);
	}
	unsigned x, y;
	assert_false(em_gpu_cc_from_name("Matrox G200eR2", &x, &y));
	assert_false(em_gpu_cc_from_name("", &x, &y));
	assert_false(em_gpu_cc_from_name("NVIDIA A1000000", &x, &y));
}

static void test_arch_lists(void **state)
{
	(void)state;
	/* the real reading: torch 2.11.0+cu130 on the H200 host */
	size_t len;
	char *text = tu_read_file(tu_fixture("hosts/nvidia-h200/torch-arch-list.txt"), &len);
	assert_non_null(text);
	char want[256] = "";
	const char *lb = strchr(text, '[');
	assert_non_null(lb);
	for (const char *s = lb; *s && *s != ']'; s++)
		if (*s == 's' && s[1] == 'm' && s[2] == '_') {
			size_t n = strcspn(s, "'");
			snprintf(want + strlen(want), sizeof want - strlen(want), "%s%.*s",
				 want[0] ? " " : "", (int)n, s);
		}
	free(text);
	const char *src = NULL;
	const char *list = em_torch_arch_list("2.11.0+cu130", "cu130", EM_OS_LINUX, &src);
	assert_non_null(list);
	assert_non_null(src);
	char got[256];
	em_arch_list_format(list, got, sizeof got);
	assert_string_equal(got, want);
	assert_string_equal(got, "sm_75 sm_80 sm_86 sm_90 sm_100 sm_120");

	/* compatibility within a major version, and through PTX */
	bool ptx;
	list = em_torch_arch_list("2.8.0", "cu126", EM_OS_LINUX, NULL);
	assert_non_null(list);
	assert_true(em_arch_list_runs(list, 9, 0, &ptx));
	assert_false(ptx);
	assert_true(em_arch_list_runs(list, 8, 9, &ptx));   /* sm_86 runs on 8.9 */
	assert_false(em_arch_list_runs(list, 12, 0, &ptx)); /* RTX 50: no */
	assert_false(em_arch_list_runs(list, 10, 0, &ptx));
	list = em_torch_arch_list("2.8.0", "cu128", EM_OS_LINUX, NULL);
	assert_true(em_arch_list_runs(list, 12, 0, &ptx));
	assert_true(em_arch_list_runs(list, 12, 1, &ptx));
	assert_true(em_arch_list_runs("7.5;8.0;12.0+PTX", 13, 0, &ptx));
	assert_true(ptx);
	assert_false(em_arch_list_runs("7.5;8.0;12.0", 13, 0, &ptx));
	assert_false(em_arch_list_runs("8.6", 8, 0, &ptx)); /* not downward */

	/* newer torch than the table: its newest row; older or unknown: none */
	assert_non_null(em_torch_arch_list("2.12.0", "cu130", EM_OS_LINUX, NULL));
	assert_null(em_torch_arch_list("1.13.1", "cu117", EM_OS_LINUX, NULL));
	assert_null(em_torch_arch_list("2.8.0", "cpu", EM_OS_LINUX, NULL));
	assert_null(em_torch_arch_list("x", "cu126", EM_OS_LINUX, NULL));
	/* Windows has its own rows (cu126 adds 6.1), else the Linux ones */
	list = em_torch_arch_list("2.8.0", "cu126", EM_OS_WINDOWS, &src);
	assert_non_null(strstr(list, "6.1"));
	assert_non_null(em_torch_arch_list("2.6.0", "cu124", EM_OS_WINDOWS, NULL));
}

static void one_gpu(struct em_gpu_info *g, const char *name, unsigned x, unsigned y)
{
	memset(g, 0, sizeof *g);
	g->have_driver = true;
	g->ngpus = 1;
	snprintf(g->gpus[0].name, sizeof g->gpus[0].name, "%s", name);
	g->gpus[0].cc_major = x;
	g->gpus[0].cc_minor = y;
}

static void test_check_torch(void **state)
{
	(void)state;
	struct em_gpu_info g;
	struct em_error e;
	em_error_clear(&e);
	one_gpu(&g, "NVIDIA GeForce RTX 5090", 12, 0);
	assert_int_equal(em_gpu_check_torch(&g, "2.8.0+cu126", "cu126", EM_OS_LINUX, &e),
			 EM_EUNSUPPORTED);
	assert_string_equal(e.msg, "torch 2.8.0+cu126 (cu126) was built for sm_50 sm_60 sm_70 sm_75 "
				   "sm_80 sm_86 sm_90, which the NVIDIA GeForce RTX 5090 (compute "
				   "capability 12.0) cannot run; choose cuda = cu128 or cu129 instead");
	assert_int_equal(em_gpu_check_torch(&g, "2.8.0+cu128", "cu128", EM_OS_LINUX, &e), 0);
	/* an old torch has no build for it: say which torch does */
	assert_int_equal(em_gpu_check_torch(&g, "2.6.0", "cu124", EM_OS_LINUX, &e), EM_EUNSUPPORTED);
	assert_non_null(strstr(e.msg, "choose torch 2.7 or newer with cu128"));
	/* the H200 runs the cu126 build; an unknown capability passes */
	one_gpu(&g, "NVIDIA H200", 9, 0);
	assert_int_equal(em_gpu_check_torch(&g, "2.8.0", "cu126", EM_OS_LINUX, &e), 0);
	one_gpu(&g, "Mystery GPU", 0, 0);
	assert_int_equal(em_gpu_check_torch(&g, "2.8.0", "cu126", EM_OS_LINUX, &e), 0);
	assert_int_equal(em_gpu_check_torch(NULL, "2.8.0", "cu126", EM_OS_LINUX, &e), 0);
	/* Pascal on a CUDA 12.8 build (no sm_60/sm_61 there) */
	one_gpu(&g, "NVIDIA GeForce GTX 1080 Ti", 6, 1);
	assert_int_equal(em_gpu_check_torch(&g, "2.8.0", "cu128", EM_OS_LINUX, &e), EM_EUNSUPPORTED);
	assert_non_null(strstr(e.msg, "choose cuda = cu126 instead"));
}

/* ---- the doctor's verdict ---- */

static const char doctor_matrix[] =
	"[matrix]\n"
	"index-url = https://pypi.org/simple\n"
	"\n"
	"[vlm]\n"
	"python = 3.12.10\n"
	"torch = 2.8.0\n"
	"cuda = 12.6\n"
	"\n"
	"[cpuonly]\n"
	"path = cpuonly\n"
	"python = 3.12.10\n"
	"torch = 2.8.0\n"
	"cuda = cpu\n"
	"\n"
	"[win]\n"
	"path = win\n"
	"platform = windows-x86_64\n"
	"python = 3.12.10\n"
	"torch = 2.8.0\n"
	"cuda = 12.6\n";

static void doctor_on(const char *host_fixture, const char *driver_env,
		      struct em_doctor_workload out[3])
{
	struct em_arena a;
	em_arena_init(&a);
	struct em_error e;
	em_error_clear(&e);
	struct em_matrix m;
	char path[512];
	snprintf(path, sizeof path, "%s/matrix.ini", tmpdir);
	assert_int_equal(em_matrix_parse(&a, doctor_matrix, sizeof doctor_matrix - 1, path, &m, &e), 0);
	struct em_gpu_info g;
	struct em_gpu_probe p = { 0 };
	char root[512];
	snprintf(root, sizeof root, "%s", host_fixture ? tu_fixture(host_fixture) : tmpdir);
	p.sysroot = root;
	p.no_nvml = p.no_smi = true;
	assert_int_equal(em_gpu_detect(&a, &p, &g, &e), 0);
	struct em_platform host;
	assert_int_equal(em_platform_parse("linux-x86_64", &host, &e), 0);
	struct em_interp_list none = { 0, NULL };
	struct em_plan_options o = { .matrix_path = path, .host = &host, .gpu = &g,
				     .driver_env = driver_env, .interps = &none };
	const struct em_interp_list *il = &none;
	struct em_interp_list own = { 0, NULL };
	for (uint32_t i = 0; i < 3; i++) {
		assert_int_equal(em_doctor_workload(&a, &m, &m.workloads[i], &o, &il, &own, &out[i], &e), 0);
		/* keep the strings past the arena */
		if (out[i].reason)
			out[i].reason = strdup(out[i].reason);
		for (uint32_t k = 0; k < out[i].nnotes; k++)
			out[i].notes[k] = strdup(out[i].notes[k]);
		out[i].venv = out[i].variant = out[i].torch = out[i].python_from = NULL;
	}
	em_arena_release(&a);
}

static void free_doctor(struct em_doctor_workload out[3])
{
	for (int i = 0; i < 3; i++) {
		free((char *)out[i].reason);
		for (uint32_t k = 0; k < out[i].nnotes; k++)
			free((char *)out[i].notes[k]);
	}
}

static void test_doctor(void **state)
{
	(void)state;
	struct em_doctor_workload d[3];
	/* H200, driver 580: the cu126 workload runs */
	doctor_on("hosts/nvidia-h200", NULL, d);
	assert_true(d[0].can_run);
	assert_null(d[0].reason);
	assert_int_equal(d[0].nnotes, 1); /* no interpreters were given */
	assert_string_equal(d[0].notes[0], "python 3.12.10 is not on this machine (PATH, pyenv); "
					   "apply needs it, or python-home");
	assert_true(d[0].disk_known);
	assert_true(d[1].can_run);
	assert_false(d[2].can_run);
	assert_non_null(strstr(d[2].reason, "it is for windows-x86_64"));
	free_doctor(d);

	/* driver 470: cu126 cannot run, the driver needed is named */
	doctor_on("hosts/rtx3090-driver470", NULL, d);
	assert_false(d[0].can_run);
	assert_string_equal(d[0].reason,
			    "cu126 needs an NVIDIA driver >= 525.60.13 on Linux, but the driver is "
			    "470.256.02 (detected from /sys/module/nvidia/version) (it runs CUDA 11.4 "
			    "at most); update the driver to 525.60.13 or newer, or choose an older "
			    "variant");
	assert_true(d[1].can_run);
	free_doctor(d);

	/* RTX 5090: the cu126 build has no sm_120 */
	doctor_on("hosts/rtx5090", NULL, d);
	assert_false(d[0].can_run);
	assert_non_null(strstr(d[0].reason, "NVIDIA GeForce RTX 5090 (compute capability 12.0, from "
					    "its name) cannot run; choose cuda = cu128"));
	free_doctor(d);

	/* between the floor and the toolkit's own driver: runs, with a note */
	doctor_on("hosts/nvidia-h200", "550.54.14", d);
	assert_true(d[0].can_run);
	assert_int_equal(d[0].nnotes, 2);
	assert_non_null(strstr(d[0].notes[1], "wants a driver >= 560.35.05"));
	free_doctor(d);

	/* no driver at all: cpu runs, cu126 does not */
	doctor_on(NULL, NULL, d);
	assert_false(d[0].can_run);
	assert_non_null(strstr(d[0].reason, "and none was found (no /proc/driver/nvidia/version)"));
	assert_true(d[1].can_run);
	free_doctor(d);
}

static void test_disk_space(void **state)
{
	(void)state;
	struct em_arena a;
	em_arena_init(&a);
	uint64_t f = 0, t = 0;
	char path[512];
	snprintf(path, sizeof path, "%s/not/yet/here/.venv", tmpdir);
	assert_int_equal(em_disk_space(&a, path, &f, &t, NULL), 0);
	assert_true(t > 0 && f <= t);
	em_arena_release(&a);
	struct em_cpu_info cpu;
	em_host_cpu(NULL, &cpu);
	assert_true(cpu.cores >= 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_detect_h200),
		cmocka_unit_test(test_detect_old_driver),
		cmocka_unit_test(test_detect_with_smi),
		cmocka_unit_test(test_detect_nothing),
		cmocka_unit_test(test_detect_this_machine),
		cmocka_unit_test(test_override),
		cmocka_unit_test(test_smi_csv),
		cmocka_unit_test(test_proc_parsers),
		cmocka_unit_test(test_driver_tables),
		cmocka_unit_test(test_cc_names),
		cmocka_unit_test(test_arch_lists),
		cmocka_unit_test(test_check_torch),
		cmocka_unit_test(test_doctor),
		cmocka_unit_test(test_disk_space),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
