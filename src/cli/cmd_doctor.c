/* cmd_doctor.c - `envmatrix doctor`: this machine, and whether it runs the matrix */
#include "cli.h"

#include "cache.h"
#include "doctor.h"
#include "envmatrix/error.h"
#include "gpu.h"
#include "host.h"
#include "http.h"
#include "interp.h"
#include "os/fs.h"
#include "plan.h"
#include "settings.h"
#include "spec/index.h"
#include "spec/matrix.h"
#include "spec/target.h"
#include "util/arena.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int opt_json;
static const char *opt_file;

static const struct cli_opt doctor_opts[] = {
	{ CLI_OPT_STRING, 'f', "file", "MATRIX", "the matrix file (default matrix.ini, if present)",
	  &opt_file },
	CLI_JSON_OPT("the report", &opt_json),
	{ CLI_OPT_FLAG, 0, "offline", NULL, "do not check that the indexes answer",
	  &cli_net_offline },
	CLI_END_OPT,
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

/* What doctor found, for the table or the JSON */
struct report {
	struct em_platform host;
	char platform[64];
	const char *sysroot;
	struct em_cpu_info cpu;
	struct em_gpu_info gpu;
	struct em_interp_list interps;
	/* the cache (looked at, never created) */
	char *cache_path;
	bool cache_exists, cache_counted;
	struct em_cache_info ci;
	uint64_t cache_bytes;
	/* with a matrix: its indexes and workloads */
	struct em_matrix m;
	const char *file;
	struct index_check ix[64];
	uint32_t nix;
	struct em_doctor_workload *dw;
	uint32_t nw;
	bool problem;
};

/* The machine: platform, CPU, driver and GPUs, interpreters. Returns an
 * exit code (printed). */
static int look_at_machine(struct em_arena *a, struct report *r)
{
	struct em_error e;
	em_error_clear(&e);
	if (em_host_platform(&r->host, &e))
		return cli_report(&e);
	em_platform_name(&r->host, r->platform, sizeof r->platform);
	r->sysroot = em_settings()->sysroot;
	em_host_cpu(r->sysroot, &r->cpu);
	int ret = cli_gpu_detect(a, &r->gpu);
	if (ret)
		return ret;
	if (em_interp_discover(a, &r->interps, &e)) {
		cli_warn("%s%s%s", e.where, e.where[0] ? ": " : "", e.msg);
		r->interps.n = 0;
	}
	return EXIT_OK;
}

/* The cache folder (configured: the matrix's cache-dir) and what it holds */
static void look_at_cache(struct em_arena *a, const char *configured, struct report *r)
{
	struct em_error e;
	em_error_clear(&e);
	struct stat st;
	r->cache_path = em_cache_path(a, configured, &e);
	r->cache_exists = r->cache_path && stat(r->cache_path, &st) == 0;
	memset(&r->ci, 0, sizeof r->ci);
	if (r->cache_exists) {
		struct em_cache c;
		if (em_cache_open(&c, a, configured, &e) == 0) {
			r->cache_counted = em_cache_info(&c, &r->ci, &e) == 0;
			em_cache_close(&c);
		}
	}
	const struct em_cache_info *ci = &r->ci;
	r->cache_bytes = ci->wheels.bytes + ci->partial.bytes + ci->unpacked.bytes +
			 ci->pages.bytes + ci->build_envs.bytes + ci->built.bytes +
			 ci->build_metadata.bytes + ci->build_logs.bytes + ci->tmp.bytes;
}

/* The indexes every workload of m reads, checked unless --offline */
static void look_at_indexes(struct em_arena *a, const struct em_matrix *m, const char *mdir,
			    struct report *r)
{
	for (uint32_t i = 0; i < m->nworkloads; i++) {
		const struct em_workload *w = &m->workloads[i];
		add_index(a, r->ix, &r->nix, 64, w->index_url.value ? w->index_url.value
								    : "https://pypi.org/simple", mdir);
		if (w->torch.value)
			add_index(a, r->ix, &r->nix, 64,
				  w->torch_index_url.value ? w->torch_index_url.value
							   : "https://download.pytorch.org/whl",
				  mdir);
		for (uint32_t k = 0; k < w->nfind_links; k++)
			add_index(a, r->ix, &r->nix, 64, w->find_links[k].value, mdir);
	}
	if (!cli_net_offline)
		check_indexes(a, m, mdir, r->ix, r->nix);
	for (uint32_t i = 0; i < r->nix; i++)
		if (r->ix[i].checked && !r->ix[i].ok)
			r->problem = true;
}

/* Whether this machine runs each workload of m (into r->dw). The network
 * is opened (into net, *net_open) when a Python download must be looked
 * up. Returns an exit code (printed). */
static int look_at_workloads(struct em_arena *a, const struct em_matrix *m, struct report *r,
			     struct cli_net *net, bool *net_open)
{
	/* where apply would download a missing interpreter from: asked
	 * when the matrix or ENVMATRIX_PYTHON_MIRROR names it */
	int ret;
	if (!cli_net_offline &&
	    (m->python_mirror.value ||
	     (em_settings()->python_mirror && *em_settings()->python_mirror))) {
		if ((ret = cli_net_open(a, m, r->file, &cli_stop, net)))
			return ret;
		*net_open = true;
	}
	struct em_plan_options po = {
		.matrix_path = r->file,
		.python_src = *net_open ? &net->src : NULL,
		.driver_env = em_settings()->cuda_driver,
		.host = &r->host,
		.interps = &r->interps,
		.gpu = &r->gpu,
	};
	const struct em_interp_list *il = &r->interps;
	struct em_interp_list own = { 0, NULL };
	struct em_error e;
	em_error_clear(&e);
	for (uint32_t i = 0; i < m->nworkloads; i++) {
		if (em_doctor_workload(a, m, &m->workloads[i], &po, &il, &own, &r->dw[i], &e))
			return cli_report(&e);
		if (!r->dw[i].can_run)
			r->problem = true;
	}
	return EXIT_OK;
}

/* ---- the report as JSON ---- */

static json_t *host_json(const struct report *r)
{
	const struct em_platform *host = &r->host;
	json_t *h = json_object();
	json_object_set_new(h, "os", json_string(os_word(host->os)));
	json_object_set_new(h, "platform", json_string(r->platform));
	json_object_set_new(h, "kernel", host->release[0] ? json_string(host->release) : json_null());
	char libc[32];
	snprintf(libc, sizeof libc, "%u.%u", host->libc_major, host->libc_minor);
	json_object_set_new(h, "glibc", host->libc == EM_LIBC_GLIBC ? json_string(libc) : json_null());
	json_object_set_new(h, "musl", host->libc == EM_LIBC_MUSL ? json_string(libc) : json_null());
	json_object_set_new(h, "cpu", json_pack("{s:s?, s:i}", "model",
						r->cpu.model[0] ? r->cpu.model : NULL, "cores",
						(int)r->cpu.cores));
	json_object_set_new(h, "sysroot", r->sysroot && *r->sysroot ? json_string(r->sysroot)
								    : json_null());
	return h;
}

static json_t *nvidia_json(const struct em_gpu_info *gpu)
{
	json_t *nv = json_object();
	char cuda[16];
	snprintf(cuda, sizeof cuda, "%u.%u", gpu->cuda_major, gpu->cuda_minor);
	json_object_set_new(nv, "driver", gpu->have_driver ? json_string(gpu->driver) : json_null());
	json_object_set_new(nv, "driver_source", gpu->have_driver ? json_string(gpu->driver_source)
								  : json_null());
	json_object_set_new(nv, "cuda", gpu->cuda_major ? json_string(cuda) : json_null());
	json_object_set_new(nv, "cuda_from_table", json_boolean(gpu->cuda_from_table));
	json_object_set_new(nv, "kernel_module", gpu->kernel_module[0]
							 ? json_string(gpu->kernel_module)
							 : json_null());
	json_object_set_new(nv, "not_found", gpu->have_driver ? json_null()
							      : json_string(gpu->tried));
	json_t *gs = json_array();
	for (uint32_t i = 0; i < gpu->ngpus; i++) {
		const struct em_gpu *g = &gpu->gpus[i];
		char cc[16];
		snprintf(cc, sizeof cc, "%u.%u", g->cc_major, g->cc_minor);
		json_t *o = json_object();
		json_object_set_new(o, "index", json_integer(i));
		json_object_set_new(o, "name", json_string(g->name));
		json_object_set_new(o, "memory_mib", g->memory_mib
							     ? json_integer((json_int_t)g->memory_mib)
							     : json_null());
		json_object_set_new(o, "compute_capability", g->cc_major ? json_string(cc)
									 : json_null());
		json_object_set_new(o, "compute_capability_inferred", json_boolean(g->cc_inferred));
		json_object_set_new(o, "pci_bus_id", g->pci_bus_id[0] ? json_string(g->pci_bus_id)
								      : json_null());
		json_object_set_new(o, "uuid", g->uuid[0] ? json_string(g->uuid) : json_null());
		json_object_set_new(o, "source", json_string(g->source ? g->source : ""));
		json_array_append_new(gs, o);
	}
	json_object_set_new(nv, "gpus", gs);
	return nv;
}

static json_t *interpreters_json(const struct em_interp_list *interps)
{
	json_t *py = json_array();
	for (uint32_t i = 0; i < interps->n; i++) {
		char v[32];
		em_python_name(&interps->items[i].py, v, sizeof v);
		json_array_append_new(py, json_pack("{s:s, s:s, s:s}", "version", v, "path",
						    interps->items[i].path, "source",
						    interps->items[i].source ? interps->items[i].source
									     : ""));
	}
	return py;
}

static json_t *cache_json(const struct report *r)
{
	json_t *cj = json_object();
	json_object_set_new(cj, "path", r->cache_path ? json_string(r->cache_path) : json_null());
	json_object_set_new(cj, "exists", json_boolean(r->cache_exists));
	json_object_set_new(cj, "bytes", r->cache_counted ? json_integer((json_int_t)r->cache_bytes)
							  : json_integer(0));
	json_object_set_new(cj, "wheels", json_integer((json_int_t)r->ci.wheels.entries));
	json_object_set_new(cj, "unpacked", json_integer((json_int_t)r->ci.unpacked.entries));
	json_object_set_new(cj, "pages", json_integer((json_int_t)r->ci.pages.entries));
	return cj;
}

static json_t *indexes_json(const struct report *r)
{
	json_t *ij = json_array();
	for (uint32_t i = 0; i < r->nix; i++) {
		const struct index_check *c = &r->ix[i];
		json_t *o = json_object();
		json_object_set_new(o, "url", json_string(c->url));
		json_object_set_new(o, "reachable", c->checked ? json_boolean(c->ok) : json_null());
		json_object_set_new(o, "status", c->status ? json_integer(c->status) : json_null());
		json_object_set_new(o, "error", c->error ? json_string(c->error) : json_null());
		json_array_append_new(ij, o);
	}
	return ij;
}

static json_t *workloads_json(const struct report *r)
{
	json_t *wj = json_array();
	for (uint32_t i = 0; i < r->nw; i++) {
		const struct em_doctor_workload *d = &r->dw[i];
		json_t *o = json_object();
		json_object_set_new(o, "name", json_string(d->w->name));
		json_object_set_new(o, "can_run", json_boolean(d->can_run));
		json_object_set_new(o, "reason", d->reason ? json_string(d->reason) : json_null());
		json_object_set_new(o, "platform", d->platform[0] ? json_string(d->platform)
								  : json_null());
		json_object_set_new(o, "python", d->python[0] ? json_string(d->python) : json_null());
		json_object_set_new(o, "python_from", d->python_from ? json_string(d->python_from)
								     : json_null());
		json_object_set_new(o, "variant", d->variant ? json_string(d->variant) : json_null());
		json_object_set_new(o, "torch", d->torch ? json_string(d->torch) : json_null());
		json_object_set_new(o, "venv", d->venv ? json_string(d->venv) : json_null());
		json_object_set_new(o, "disk_free_bytes", d->disk_known
								  ? json_integer((json_int_t)d->disk_free)
								  : json_null());
		json_object_set_new(o, "notes", cli_json_strings(d->notes, d->nnotes));
		json_array_append_new(wj, o);
	}
	return wj;
}

static int print_json(const struct report *r)
{
	json_t *root = json_object();
	json_object_set_new(root, "ok", json_boolean(!r->problem));
	json_object_set_new(root, "host", host_json(r));
	json_object_set_new(root, "nvidia", nvidia_json(&r->gpu));
	json_object_set_new(root, "interpreters", interpreters_json(&r->interps));
	json_object_set_new(root, "cache", cache_json(r));
	json_object_set_new(root, "matrix", r->file ? json_string(r->file) : json_null());
	json_object_set_new(root, "indexes", indexes_json(r));
	json_object_set_new(root, "workloads", workloads_json(r));
	return cli_put_json(root);
}

/* ---- the report as a table ---- */

static void print_machine(const struct report *r)
{
	const struct em_platform *host = &r->host;
	const struct em_gpu_info *gpu = &r->gpu;
	char libc[48] = "";
	if (host->libc == EM_LIBC_GLIBC || host->libc == EM_LIBC_MUSL)
		snprintf(libc, sizeof libc, ", %s %u.%u", host->libc == EM_LIBC_GLIBC ? "glibc" : "musl",
			 host->libc_major, host->libc_minor);
	printf("%-10s %s (kernel %s%s)\n", "host", r->platform, host->release[0] ? host->release : "?",
	       libc);
	printf("%-10s %s (%u cores)\n", "cpu", r->cpu.model[0] ? r->cpu.model : "unknown model",
	       r->cpu.cores);
	if (gpu->have_driver) {
		printf("%-10s NVIDIA %s (from %s)", "driver", gpu->driver, gpu->driver_source);
		if (gpu->cuda_major)
			printf(", CUDA %u.%u%s", gpu->cuda_major, gpu->cuda_minor,
			       gpu->cuda_from_table ? " (from the driver table)" : "");
		printf("\n");
	} else {
		printf("%-10s no NVIDIA driver (%s)\n", "driver",
		       gpu->tried[0] ? gpu->tried : "none found");
	}
	for (uint32_t i = 0; i < gpu->ngpus; i++) {
		const struct em_gpu *g = &gpu->gpus[i];
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
	if (gpu->have_driver && !gpu->ngpus)
		printf("%-10s none found\n", "gpu");
	for (uint32_t i = 0; i < r->interps.n; i++) {
		char v[32];
		em_python_name(&r->interps.items[i].py, v, sizeof v);
		printf("%-10s %-9s %s (%s)\n", "python", v, r->interps.items[i].path,
		       r->interps.items[i].source ? r->interps.items[i].source : "");
	}
	if (!r->interps.n)
		printf("%-10s none found in PATH or pyenv\n", "python");
	char size[32];
	cli_human_bytes(size, sizeof size, (double)r->cache_bytes);
	if (r->cache_exists)
		printf("%-10s %s: %s (%llu wheels, %llu unpacked, %llu pages)\n", "cache",
		       r->cache_path, size, (unsigned long long)r->ci.wheels.entries,
		       (unsigned long long)r->ci.unpacked.entries,
		       (unsigned long long)r->ci.pages.entries);
	else
		printf("%-10s %s: not created yet\n", "cache", r->cache_path ? r->cache_path : "?");
}

static void print_matrix_checks(const struct report *r)
{
	for (uint32_t i = 0; i < r->nix; i++) {
		const struct index_check *c = &r->ix[i];
		if (!c->checked)
			printf("%-10s %s: not checked (--offline)\n", "index", c->url);
		else if (c->ok && c->status)
			printf("%-10s %s: answers (HTTP %ld)\n", "index", c->url, c->status);
		else if (c->ok)
			printf("%-10s %s: present\n", "index", c->url);
		else
			printf("%-10s %s: unreachable: %s\n", "index", c->url, c->error ? c->error : "?");
	}
	for (uint32_t i = 0; i < r->nw; i++) {
		const struct em_doctor_workload *d = &r->dw[i];
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

/* ---- the command ---- */

/* Look at the machine and, with a matrix (mfile, or matrix.ini when it is
 * there), at its indexes and workloads, into r. Returns an exit code. */
static int look(struct em_arena *a, const char *mfile, struct report *r, struct cli_net *net,
		bool *net_open)
{
	struct em_matrix *m = &r->m;
	bool have_matrix = false;
	struct stat st;
	int ret;
	if (mfile || stat("matrix.ini", &st) == 0) {
		if ((ret = cli_load_matrix(a, mfile, m, &r->file)))
			return ret;
		have_matrix = true;
	}
	if ((ret = look_at_machine(a, r)))
		return ret;
	char *mdir = have_matrix ? em_path_dir(a, r->file) : NULL;
	look_at_cache(a, have_matrix && m->cache_dir.value ? em_path_join(a, mdir, m->cache_dir.value)
							   : NULL, r);
	r->nw = have_matrix ? m->nworkloads : 0;
	r->dw = em_arena_array(a, r->nw ? r->nw : 1, sizeof *r->dw);
	if (!r->dw)
		return cli_report(&(struct em_error){ EM_ENOMEM, "", "out of memory" });
	if (!have_matrix)
		return EXIT_OK;
	look_at_indexes(a, m, mdir, r);
	return look_at_workloads(a, m, r, net, net_open);
}

int cmd_doctor(int argc, char **argv)
{
	opt_json = 0;
	opt_file = NULL;
	cli_net_reset_opts();
	int npos, rc;
	if (!cli_parse_matrix(argc, argv, &doctor_help, &opt_file, &npos, &rc))
		return rc;
	if (npos == 1 && !opt_file) { /* doctor takes no workloads: any name is the matrix */
		opt_file = argv[1];
		npos = 0;
	}
	if (npos)
		return cli_usage_error(&doctor_help, "name one matrix (MATRIX or -f MATRIX)");

	struct em_arena a;
	em_arena_init(&a);
	struct cli_net net;
	cli_net_init(&net);
	bool net_open = false;
	struct report *r = em_arena_zalloc(&a, sizeof *r);
	int ret = r ? look(&a, opt_file, r, &net, &net_open)
		    : cli_report(&(struct em_error){ EM_ENOMEM, "", "out of memory" });
	if (!ret && opt_json) {
		ret = print_json(r);
	} else if (!ret) {
		print_machine(r);
		print_matrix_checks(r);
	}
	if (!ret && r->problem)
		ret = EXIT_CHECK;
	cli_net_close(&net);
	em_arena_release(&a);
	return ret;
}
