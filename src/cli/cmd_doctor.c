/* cmd_doctor.c - `envmatrix doctor`: this machine, and whether it runs the matrix */
#include "cli.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "doctor.h"
#include "os/fs.h"

static int opt_json;
static const char *opt_file;

static const struct cli_opt doctor_opts[] = {
	{ CLI_OPT_STRING, 'f', "file", "MATRIX", "the matrix file (default matrix.ini, if present)",
	  &opt_file },
	{ CLI_OPT_FLAG, 0, "json", NULL, "print the report as JSON", &opt_json },
	{ CLI_OPT_FLAG, 0, "offline", NULL, "do not check that the indexes answer",
	  &cli_net_offline },
	{ CLI_OPT_END, 0, NULL, NULL, NULL, NULL },
};

static const struct cli_cmd_help doctor_help = {
	"doctor",
	"[MATRIX]",
	"report this machine (OS, CPU, NVIDIA driver and GPUs, interpreters, cache) "
	"and whether it can run each workload",
	"Reports the OS, kernel, C library, CPU, the NVIDIA driver and the newest\n"
	"CUDA it runs, each GPU (name, memory, compute capability, PCI bus, UUID),\n"
	"the Python interpreters found, and the cache's place and size. With a\n"
	"matrix (MATRIX, -f, or matrix.ini when present): whether each index\n"
	"answers (one short request each, 5 s at most; --offline skips this),\n"
	"the free disk space where each workload's environment goes, and per\n"
	"workload whether this machine can run it - its platform, a Python for\n"
	"it, the NVIDIA driver against the CUDA variant, each GPU's compute\n"
	"capability against the torch build (from the lock when there is one) -\n"
	"with the reason and what to change when it cannot.\n"
	"\n"
	"The driver and GPUs are detected from ENVMATRIX_CUDA_DRIVER, /sys and\n"
	"/proc (under ENVMATRIX_SYSROOT when set), NVML, then nvidia-smi\n"
	"(ENVMATRIX_NVIDIA_SMI names which). Nothing is changed.\n"
	"\n"
	"Exit status: 0 when every workload can run and every index answered,\n"
	"4 when one cannot or did not, 1 when the report itself failed.",
	doctor_opts,
};

#define INDEX_TIMEOUT_S 5

struct index_check {
	const char *url;   /* as the matrix writes it (credentials redacted) */
	const char *fetch; /* what is requested or looked at */
	bool checked, ok;
	long status;
	const char *error;
};

static bool add_index(struct em_arena *a, struct index_check *ix, uint32_t *n, uint32_t max,
		      const char *url, const char *mdir)
{
	if (!url)
		return true;
	for (uint32_t i = 0; i < *n; i++)
		if (!strcmp(ix[i].fetch, url) || !strcmp(ix[i].url, url))
			return true;
	if (*n == max)
		return true;
	struct index_check *c = &ix[(*n)++];
	memset(c, 0, sizeof c[0]);
	c->url = em_url_redact(a, url);
	if (em_http_url(url))
		c->fetch = url;
	else if (!strncmp(url, "file://", 7))
		c->fetch = url + 7;
	else
		c->fetch = em_path_join(a, mdir, url);
	return c->url && c->fetch;
}

static void check_indexes(struct em_arena *a, const struct em_matrix *m, const char *mdir,
			  struct index_check *ix, uint32_t n)
{
	struct em_http *h = NULL;
	for (uint32_t i = 0; i < n; i++) {
		struct index_check *c = &ix[i];
		c->checked = true;
		if (!em_http_url(c->fetch)) {
			struct stat st;
			c->ok = stat(c->fetch, &st) == 0;
			if (!c->ok)
				c->error = "no such folder or file";
			continue;
		}
		struct em_error e;
		em_error_clear(&e);
		if (!h) {
			struct em_http_config cfg = { 0 };
			cfg.retries = EM_HTTP_NO_RETRY;
			cfg.connect_timeout_s = INDEX_TIMEOUT_S;
			cfg.stall_s = INDEX_TIMEOUT_S;
			cfg.max_redirects = 5;
			if (m->ca_file.value)
				cfg.ca_file = em_path_join(a, mdir, m->ca_file.value);
			if (em_http_open(&h, &cfg, &e)) {
				c->error = em_arena_strdup(a, e.msg);
				continue;
			}
		}
		struct em_http_get g;
		memset(&g, 0, sizeof g);
		g.url = c->fetch;
		g.range_from = g.range_to = -1;
		g.max = 1u << 20;
		g.head = true;
		if (em_http_fetch(h, a, &g, &e)) {
			c->error = em_arena_strdup(a, e.msg);
			continue;
		}
		c->status = g.status;
		/* any answer means the server is there; 5xx means it is not well */
		c->ok = g.status > 0 && g.status < 500;
		if (!c->ok)
			c->error = em_arena_printf(a, "HTTP %ld", g.status);
	}
	if (h)
		em_http_close(h);
}

static const char *os_word(enum em_os os)
{
	return os == EM_OS_WINDOWS ? "windows" : os == EM_OS_MACOS ? "macos" : "linux";
}

static void gpu_mem(char *buf, size_t size, uint64_t mib)
{
	if (mib)
		cli_human_bytes(buf, size, (double)mib * 1048576.0);
	else
		snprintf(buf, size, "memory unknown");
}

int cmd_doctor(int argc, char **argv)
{
	opt_json = 0;
	opt_file = NULL;
	cli_net_reset_opts();
	int npos;
	int rc = cli_parse(argc, argv, &doctor_help, &npos);
	if (rc)
		return rc > 0 ? EXIT_OK : EXIT_USAGE;
	if ((rc = cli_matrix_arg(&doctor_help, &opt_file, argv + 1, &npos)))
		return rc;
	if (npos == 1 && !opt_file) { /* doctor takes no workloads: any name is the matrix */
		opt_file = argv[1];
		npos = 0;
	}
	if (npos)
		return cli_usage_error(&doctor_help, "name one matrix (MATRIX or -f MATRIX)");
	const char *mfile = opt_file;

	struct em_arena a;
	em_arena_init(&a);
	struct em_error e;
	em_error_clear(&e);
	int ret = EXIT_OK;
	bool problem = false;
	struct em_source src;
	em_source_init(&src);
	struct cli_net net;
	memset(&net, 0, sizeof net);
	bool net_open = false;

	/* the matrix, when there is one */
	struct em_matrix m;
	bool have_matrix = false;
	const char *file = NULL;
	struct stat st;
	if (mfile || stat("matrix.ini", &st) == 0) {
		if ((ret = cli_load_matrix(&a, mfile, &m, &file)))
			goto out;
		have_matrix = true;
	}

	/* the machine */
	struct em_platform host;
	if (em_host_platform(&host, &e)) {
		ret = cli_report(&e);
		goto out;
	}
	char platform[64];
	em_platform_name(&host, platform, sizeof platform);
	const char *sysroot = em_settings()->sysroot;
	struct em_cpu_info cpu;
	em_host_cpu(sysroot, &cpu);
	struct em_gpu_info gpu;
	if ((ret = cli_gpu_detect(&a, &gpu)))
		goto out;
	struct em_interp_list interps = { 0, NULL };
	if (em_interp_discover(&a, &interps, &e)) {
		cli_warn("%s%s%s", e.where, e.where[0] ? ": " : "", e.msg);
		interps.n = 0;
		em_error_clear(&e);
	}

	/* the cache (looked at, never created) */
	char *mdir = have_matrix ? em_path_dir(&a, file) : NULL;
	const char *configured = have_matrix && m.cache_dir.value
					 ? em_path_join(&a, mdir, m.cache_dir.value) : NULL;
	char *cache_path = em_cache_path(&a, configured, &e);
	bool cache_exists = cache_path && stat(cache_path, &st) == 0;
	struct em_cache_info ci;
	memset(&ci, 0, sizeof ci);
	bool cache_counted = false;
	if (cache_exists) {
		struct em_cache c;
		if (em_cache_open(&c, &a, configured, &e) == 0) {
			cache_counted = em_cache_info(&c, &ci, &e) == 0;
			em_cache_close(&c);
		}
		em_error_clear(&e);
	}
	uint64_t cache_bytes = ci.wheels.bytes + ci.partial.bytes + ci.unpacked.bytes +
			       ci.pages.bytes + ci.build_envs.bytes + ci.built.bytes +
			       ci.build_metadata.bytes + ci.build_logs.bytes + ci.tmp.bytes;

	/* the indexes and the workloads */
	struct index_check ix[64];
	uint32_t nix = 0;
	uint32_t nw = have_matrix ? m.nworkloads : 0;
	struct em_doctor_workload *dw = em_arena_array(&a, nw ? nw : 1, sizeof *dw);
	if (!dw) {
		ret = cli_report(&(struct em_error){ EM_ENOMEM, "", "out of memory" });
		goto out;
	}
	if (have_matrix) {
		for (uint32_t i = 0; i < m.nworkloads; i++) {
			const struct em_workload *w = &m.workloads[i];
			add_index(&a, ix, &nix, 64, w->index_url.value ? w->index_url.value
								  : "https://pypi.org/simple", mdir);
			if (w->torch.value)
				add_index(&a, ix, &nix, 64,
					  w->torch_index_url.value ? w->torch_index_url.value
								   : "https://download.pytorch.org/whl",
					  mdir);
			for (uint32_t k = 0; k < w->nfind_links; k++)
				add_index(&a, ix, &nix, 64, w->find_links[k].value, mdir);
		}
		if (!cli_net_offline)
			check_indexes(&a, &m, mdir, ix, nix);
		/* where apply would download a missing interpreter from: asked
		 * when the matrix or ENVMATRIX_PYTHON_MIRROR names it */
		if (!net_open && !cli_net_offline &&
		    (m.python_mirror.value ||
		     (em_settings()->python_mirror && *em_settings()->python_mirror))) {
			if ((ret = cli_net_open(&a, &m, file, &cli_stop, &src, &net)))
				goto out;
			net_open = true;
		}
		struct em_plan_options po = {
			.matrix_path = file,
			.python_src = net_open ? &src : NULL,
			.driver_env = em_settings()->cuda_driver,
			.host = &host,
			.interps = &interps,
			.gpu = &gpu,
		};
		const struct em_interp_list *il = &interps;
		struct em_interp_list own = { 0, NULL };
		for (uint32_t i = 0; i < m.nworkloads; i++) {
			if (em_doctor_workload(&a, &m, &m.workloads[i], &po, &il, &own, &dw[i], &e)) {
				ret = cli_report(&e);
				goto out;
			}
			if (!dw[i].can_run)
				problem = true;
		}
		for (uint32_t i = 0; i < nix; i++)
			if (ix[i].checked && !ix[i].ok)
				problem = true;
	}

	if (opt_json) {
		json_t *h = json_object();
		json_object_set_new(h, "os", json_string(os_word(host.os)));
		json_object_set_new(h, "platform", json_string(platform));
		json_object_set_new(h, "kernel", host.release[0] ? json_string(host.release) : json_null());
		char libc[32];
		snprintf(libc, sizeof libc, "%u.%u", host.libc_major, host.libc_minor);
		json_object_set_new(h, "glibc", host.libc == EM_LIBC_GLIBC ? json_string(libc) : json_null());
		json_object_set_new(h, "musl", host.libc == EM_LIBC_MUSL ? json_string(libc) : json_null());
		json_object_set_new(h, "cpu", json_pack("{s:s?, s:i}", "model", cpu.model[0] ? cpu.model : NULL,
							"cores", (int)cpu.cores));
		json_object_set_new(h, "sysroot", sysroot && *sysroot ? json_string(sysroot) : json_null());

		json_t *nv = json_object();
		char cuda[16];
		snprintf(cuda, sizeof cuda, "%u.%u", gpu.cuda_major, gpu.cuda_minor);
		json_object_set_new(nv, "driver", gpu.have_driver ? json_string(gpu.driver) : json_null());
		json_object_set_new(nv, "driver_source", gpu.have_driver ? json_string(gpu.driver_source)
									 : json_null());
		json_object_set_new(nv, "cuda", gpu.cuda_major ? json_string(cuda) : json_null());
		json_object_set_new(nv, "cuda_from_table", json_boolean(gpu.cuda_from_table));
		json_object_set_new(nv, "kernel_module", gpu.kernel_module[0] ? json_string(gpu.kernel_module)
									     : json_null());
		json_object_set_new(nv, "not_found", gpu.have_driver ? json_null() : json_string(gpu.tried));
		json_t *gs = json_array();
		for (uint32_t i = 0; i < gpu.ngpus; i++) {
			const struct em_gpu *g = &gpu.gpus[i];
			char cc[16];
			snprintf(cc, sizeof cc, "%u.%u", g->cc_major, g->cc_minor);
			json_t *o = json_object();
			json_object_set_new(o, "index", json_integer(i));
			json_object_set_new(o, "name", json_string(g->name));
			json_object_set_new(o, "memory_mib", g->memory_mib ? json_integer((json_int_t)g->memory_mib)
									   : json_null());
			json_object_set_new(o, "compute_capability", g->cc_major ? json_string(cc) : json_null());
			json_object_set_new(o, "compute_capability_inferred", json_boolean(g->cc_inferred));
			json_object_set_new(o, "pci_bus_id", g->pci_bus_id[0] ? json_string(g->pci_bus_id)
									      : json_null());
			json_object_set_new(o, "uuid", g->uuid[0] ? json_string(g->uuid) : json_null());
			json_object_set_new(o, "source", json_string(g->source ? g->source : ""));
			json_array_append_new(gs, o);
		}
		json_object_set_new(nv, "gpus", gs);

		json_t *py = json_array();
		for (uint32_t i = 0; i < interps.n; i++) {
			char v[32];
			em_python_name(&interps.items[i].py, v, sizeof v);
			json_array_append_new(py, json_pack("{s:s, s:s, s:s}", "version", v, "path",
							    interps.items[i].path, "source",
							    interps.items[i].source ? interps.items[i].source : ""));
		}
		json_t *cj = json_object();
		json_object_set_new(cj, "path", cache_path ? json_string(cache_path) : json_null());
		json_object_set_new(cj, "exists", json_boolean(cache_exists));
		json_object_set_new(cj, "bytes", cache_counted ? json_integer((json_int_t)cache_bytes)
							       : json_integer(0));
		json_object_set_new(cj, "wheels", json_integer((json_int_t)ci.wheels.entries));
		json_object_set_new(cj, "unpacked", json_integer((json_int_t)ci.unpacked.entries));
		json_object_set_new(cj, "pages", json_integer((json_int_t)ci.pages.entries));

		json_t *ij = json_array();
		for (uint32_t i = 0; i < nix; i++) {
			json_t *o = json_object();
			json_object_set_new(o, "url", json_string(ix[i].url));
			json_object_set_new(o, "reachable", ix[i].checked ? json_boolean(ix[i].ok) : json_null());
			json_object_set_new(o, "status", ix[i].status ? json_integer(ix[i].status) : json_null());
			json_object_set_new(o, "error", ix[i].error ? json_string(ix[i].error) : json_null());
			json_array_append_new(ij, o);
		}
		json_t *wj = json_array();
		for (uint32_t i = 0; i < nw; i++) {
			const struct em_doctor_workload *d = &dw[i];
			json_t *o = json_object();
			json_object_set_new(o, "name", json_string(d->w->name));
			json_object_set_new(o, "can_run", json_boolean(d->can_run));
			json_object_set_new(o, "reason", d->reason ? json_string(d->reason) : json_null());
			json_object_set_new(o, "platform", d->platform[0] ? json_string(d->platform) : json_null());
			json_object_set_new(o, "python", d->python[0] ? json_string(d->python) : json_null());
			json_object_set_new(o, "python_from", d->python_from ? json_string(d->python_from)
									     : json_null());
			json_object_set_new(o, "variant", d->variant ? json_string(d->variant) : json_null());
			json_object_set_new(o, "torch", d->torch ? json_string(d->torch) : json_null());
			json_object_set_new(o, "venv", d->venv ? json_string(d->venv) : json_null());
			json_object_set_new(o, "disk_free_bytes", d->disk_known ? json_integer((json_int_t)d->disk_free)
										: json_null());
			json_t *notes = json_array();
			for (uint32_t k = 0; k < d->nnotes; k++)
				json_array_append_new(notes, json_string(d->notes[k]));
			json_object_set_new(o, "notes", notes);
			json_array_append_new(wj, o);
		}
		json_t *root = json_object();
		json_object_set_new(root, "ok", json_boolean(!problem));
		json_object_set_new(root, "host", h);
		json_object_set_new(root, "nvidia", nv);
		json_object_set_new(root, "interpreters", py);
		json_object_set_new(root, "cache", cj);
		json_object_set_new(root, "matrix", file ? json_string(file) : json_null());
		json_object_set_new(root, "indexes", ij);
		json_object_set_new(root, "workloads", wj);
		ret = cli_put_json(root);
		if (ret)
			goto out;
	} else {
		char libc[48] = "";
		if (host.libc == EM_LIBC_GLIBC || host.libc == EM_LIBC_MUSL)
			snprintf(libc, sizeof libc, ", %s %u.%u", host.libc == EM_LIBC_GLIBC ? "glibc" : "musl",
				 host.libc_major, host.libc_minor);
		printf("%-10s %s (kernel %s%s)\n", "host", platform, host.release[0] ? host.release : "?",
		       libc);
		printf("%-10s %s (%u cores)\n", "cpu", cpu.model[0] ? cpu.model : "unknown model", cpu.cores);
		if (gpu.have_driver) {
			printf("%-10s NVIDIA %s (from %s)", "driver", gpu.driver, gpu.driver_source);
			if (gpu.cuda_major)
				printf(", CUDA %u.%u%s", gpu.cuda_major, gpu.cuda_minor,
				       gpu.cuda_from_table ? " (from the driver table)" : "");
			printf("\n");
		} else {
			printf("%-10s no NVIDIA driver (%s)\n", "driver", gpu.tried[0] ? gpu.tried : "none found");
		}
		for (uint32_t i = 0; i < gpu.ngpus; i++) {
			const struct em_gpu *g = &gpu.gpus[i];
			char mem[32], label[16], cc[64];
			gpu_mem(mem, sizeof mem, g->memory_mib);
			snprintf(label, sizeof label, "gpu %u", i);
			if (g->cc_major)
				snprintf(cc, sizeof cc, "compute capability %u.%u%s", g->cc_major, g->cc_minor,
					 g->cc_inferred ? " (from its name)" : "");
			else
				snprintf(cc, sizeof cc, "compute capability unknown");
			printf("%-10s %s, %s, %s, %s%s%s\n", label, g->name[0] ? g->name : "?", mem, cc,
			       g->pci_bus_id[0] ? g->pci_bus_id : "bus unknown", g->uuid[0] ? ", " : "",
			       g->uuid);
		}
		if (gpu.have_driver && !gpu.ngpus)
			printf("%-10s none found\n", "gpu");
		for (uint32_t i = 0; i < interps.n; i++) {
			char v[32];
			em_python_name(&interps.items[i].py, v, sizeof v);
			printf("%-10s %-9s %s (%s)\n", "python", v, interps.items[i].path,
			       interps.items[i].source ? interps.items[i].source : "");
		}
		if (!interps.n)
			printf("%-10s none found in PATH or pyenv\n", "python");
		char size[32];
		cli_human_bytes(size, sizeof size, (double)cache_bytes);
		if (cache_exists)
			printf("%-10s %s: %s (%llu wheels, %llu unpacked, %llu pages)\n", "cache", cache_path,
			       size, (unsigned long long)ci.wheels.entries,
			       (unsigned long long)ci.unpacked.entries, (unsigned long long)ci.pages.entries);
		else
			printf("%-10s %s: not created yet\n", "cache", cache_path ? cache_path : "?");
		for (uint32_t i = 0; i < nix; i++) {
			const struct index_check *c = &ix[i];
			if (!c->checked)
				printf("%-10s %s: not checked (--offline)\n", "index", c->url);
			else if (c->ok && c->status)
				printf("%-10s %s: answers (HTTP %ld)\n", "index", c->url, c->status);
			else if (c->ok)
				printf("%-10s %s: present\n", "index", c->url);
			else
				printf("%-10s %s: unreachable: %s\n", "index", c->url, c->error ? c->error : "?");
		}
		for (uint32_t i = 0; i < nw; i++) {
			const struct em_doctor_workload *d = &dw[i];
			char disk[32] = "?";
			if (d->disk_known)
				cli_human_bytes(disk, sizeof disk, (double)d->disk_free);
			if (d->can_run) {
				printf("%-10s %s: can run (%s, python %s", "workload", d->w->name, d->platform,
				       d->python);
				if (d->variant)
					printf(", %s%s%s", d->variant, d->torch ? ", torch " : "",
					       d->torch ? d->torch : "");
				printf("; %s free at %s)\n", disk, d->venv ? d->venv : "?");
			} else {
				printf("%-10s %s: cannot run: %s\n", "workload", d->w->name, d->reason);
			}
			for (uint32_t k = 0; k < d->nnotes; k++)
				printf("%-10s   note: %s\n", "", d->notes[k]);
		}
	}
	if (problem)
		ret = EXIT_CHECK;
out:
	if (net_open)
		cli_net_close(&net);
	em_source_release(&src);
	em_arena_release(&a);
	return ret;
}
