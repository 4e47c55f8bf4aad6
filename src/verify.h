/* verify.h - proving that an environment works, from inside it
 *
 * Verification runs the environment's own interpreter once, with a script
 * of envmatrix's that performs every check and reports each as a line of
 * JSON, then the workload's own `verify = ...` commands. What it checks:
 *
 *   python                     the interpreter's exact version (the lock's)
 *   sys.prefix                 the interpreter runs as this environment
 *   import MODULE              every distribution the workload names (or,
 *                              for a venv envmatrix did not make, every
 *                              installed one), by the import names its
 *                              top_level.txt or RECORD gives
 *   torch.__version__          the locked version, local label included
 *   torch.version.cuda         what the variant implies (cu126: 12.6, cpu: None)
 *   torch.cuda.is_available()  True when the host has an NVIDIA GPU and
 *                              torch is a CUDA build; then the device's
 *                              name, compute capability, that the build
 *                              has code for it, and a small tensor op
 *   onnxruntime CUDA provider  CUDAExecutionProvider among the providers
 *                              when onnxruntime-gpu is installed on a GPU host
 *   dependencies               every installed distribution's requirements
 *                              (for this host, no extras) are installed in
 *                              versions that satisfy them, as pip check
 *   verify: COMMAND            the workload's commands exit 0
 *
 * The interpreter is isolated from the caller's Python settings: run with
 * -E -s (PYTHON* variables ignored, no user site; -I would do the same and
 * more, but it does not exist before 3.4 and it is the environment's own
 * site that must be tested, so nothing beyond that is turned off), with
 * PYTHON* removed from its environment, the current folder dropped from
 * sys.path, stdout moved to stderr so a package that prints on import
 * cannot garble the report, and a deadline. A crash, a hang or output that
 * is not the report is a failed check with a message, never an error of
 * the caller.
 *
 * Results are kept inside the environment as EM_VERIFY_FILE, written
 * atomically, for `status` and the history.
 */
#ifndef ENVMATRIX_VERIFY_H
#define ENVMATRIX_VERIFY_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "envmatrix/error.h"
#include "spec/lock.h"
#include "spec/matrix.h"

#define EM_VERIFY_FILE "envmatrix-verify.json" /* inside the environment */
#define EM_VERIFY_TIMEOUT_MS (300 * 1000)       /* the default deadline */
#define EM_VERIFY_MAX_OUTPUT (4u << 20)         /* bytes kept of each stream */

enum em_check_status { EM_CHECK_OK = 0, EM_CHECK_FAILED, EM_CHECK_SKIPPED };
/* "ok", "failed", "skipped" */
const char *em_check_status_name(enum em_check_status s);

struct em_check {
	const char *name;     /* "import torch", "torch.version.cuda", "verify: pytest -q" */
	enum em_check_status status;
	const char *expected; /* NULL: nothing particular expected */
	const char *got;      /* NULL: nothing to show */
	const char *detail;   /* why it failed or was skipped (an exception, the
			       * tail of a command's output), NULL */
	double seconds;
};

/* The host's GPU, as the caller knows it (GPU detection is not this
 * module's business). name NULL and cc_major -1 when unknown. */
struct em_host_gpu {
	bool present;         /* an NVIDIA driver and GPU are there */
	const char *name;     /* "NVIDIA H200" */
	int cc_major, cc_minor; /* compute capability, 9.0 */
	const char *driver;   /* "580.159.04", NULL */
};

/* One distribution installed in an environment. */
struct em_verify_dist {
	const char *name;     /* canonical (PEP 503) */
	const char *version;  /* as its METADATA says */
	const char *dist_info;/* the folder */
	uint32_t nmodules;
	const char **modules; /* top-level import names */
};

/* The top-level import names of a distribution: the lines of top_level.txt
 * when it has one (may be NULL), else the first part of each RECORD path
 * (a folder, a module file X.py, an extension X.<tag>.so or X.pyd);
 * paths out of site-packages ('..'), *.dist-info, *.data, __pycache__ and
 * names that are not Python identifiers are left out; '/' and '\' both
 * separate. A top_level.txt name that RECORD (when given) does not hold is
 * dropped: some lie (Debian's setuptools lists 'debian'). Sorted, no
 * duplicates. */
EM_MUST_USE
int em_verify_top_level(struct em_arena *a, const char *top_level, size_t tlen,
			const char *record, size_t rlen, const char ***mods, uint32_t *n,
			struct em_error *e);

/* Every distribution in site (its *.dist-info folders), sorted by name. A
 * folder without a readable METADATA is left out. */
EM_MUST_USE
int em_verify_scan(struct em_arena *a, const char *site, struct em_verify_dist **dists,
		   uint32_t *n, struct em_error *e);

/* ---- what to expect ---- */

struct em_verify_import {
	const char *check;   /* the check's name, "import PIL (pillow)" */
	const char *module;
};

struct em_verify_expect {
	const char *root;        /* the environment verified (a staging folder is fine) */
	const char *python;      /* exact version expected, NULL when any */
	uint32_t nimports;
	struct em_verify_import *imports;
	bool torch;              /* torch is installed: check it */
	const char *torch_version; /* expected torch.__version__, NULL: any */
	const char *variant;     /* cu126, cpu, rocm6.2, xpu; NULL when unknown */
	const char *cuda;        /* expected torch.version.cuda: "12.6", "None" (cpu);
				  * NULL: not checked (ROCm, XPU, unknown) */
	bool onnxruntime_gpu;    /* onnxruntime-gpu is installed */
	struct em_host_gpu gpu;
	/* checks decided without running anything (a named distribution that
	 * is not installed, the dependency check); they come first */
	uint32_t nstatic;
	struct em_check *statics;
	/* the workload's verify commands, where they run and its env.NAME */
	uint32_t ncommands;
	const char *const *commands;
	const char *command_dir; /* NULL: the current folder */
	uint32_t nenv;
	const char *const *env_names;
	const char *const *env_values;
};

struct em_verify_inputs {
	const char *root;            /* the venv (bin/python or Scripts\python.exe) */
	const struct em_lock *lock;  /* what it was built from, NULL for any venv */
	const struct em_workload *w; /* NULL for any venv */
	const char *expect_torch;    /* "2.8.0+cu126": overrides the lock's, NULL */
	struct em_host_gpu gpu;
};

/* Build the expectations for an environment: with a lock, the imports of
 * the packages it marks requested (the ones the workload names), the
 * lock's Python, torch version and variant; without one, the imports of
 * every installed distribution (names starting with '_' left out) and the
 * torch version its metadata gives (expect_torch overrides). Either way
 * the variant follows torch's local label, onnxruntime-gpu is looked for,
 * and the dependency check is added. A requested package that is not
 * installed is a failed check (skipped when the lock gives it a marker).
 * Errors: the venv has no site-packages (EM_ENOTFOUND), a bad
 * expect_torch (EM_EINVAL), out of memory. */
EM_MUST_USE
int em_verify_expect_build(struct em_arena *a, const struct em_verify_inputs *in,
			   struct em_verify_expect *out, struct em_error *e);

/* "12.6" for cu126, "None" for cpu, NULL for anything else. */
const char *em_verify_cuda_of_variant(struct em_arena *a, const char *variant);

/* ---- running ---- */

struct em_verify_result {
	const char *venv;     /* where the environment is (its final place) */
	const char *when;     /* UTC, "2026-11-27T01:30:12Z" */
	const char *python;   /* the version that ran, NULL when it did not say */
	double seconds;
	uint32_t n;
	struct em_check *checks;
	uint32_t passed, failed, skipped;
};

struct em_verify_options {
	int timeout_ms;         /* for the Python process and each command;
				 * 0: EM_VERIFY_TIMEOUT_MS */
	const char *final_root; /* the environment's final place when root is a
				 * staging folder (its launchers name it); NULL:
				 * root */
	/* set (by a signal handler) to stop: the running process and all it
	 * started are killed and em_verify_run returns EM_ECANCELED. The
	 * checks and commands run in process groups of their own, so the
	 * terminal's Ctrl-C reaches them only through this flag */
	volatile sig_atomic_t *cancel;
};

/* The interpreter of the venv at root: bin/python, else bin/python3; a
 * Windows venv (Scripts\python.exe) is EM_EUNSUPPORTED on other systems;
 * none is EM_ENOTFOUND. */
EM_MUST_USE
int em_verify_interpreter(struct em_arena *a, const char *root, const char **python,
			  struct em_error *e);

/* Verify: the checks of x in one Python process, then each command. The
 * return value is for problems of the caller's making (no interpreter,
 * out of memory); failures of the environment are in out (out->failed). */
EM_MUST_USE
int em_verify_run(struct em_arena *a, const struct em_verify_expect *x,
		  const struct em_verify_options *o, struct em_verify_result *out,
		  struct em_error *e);

/* Turn what the verification script printed into checks (appended to
 * out->checks, counts updated). status, timed_out and the stderr text are
 * the process's; timeout_ms names the deadline in messages. Never fails
 * on bad input: garbage, a crash or a timeout become failed checks. */
EM_MUST_USE
int em_verify_parse_output(struct em_arena *a, const char *out, size_t outlen,
			   const char *err, size_t errlen, int status, bool timed_out,
			   int timeout_ms, struct em_verify_result *r, struct em_error *e);

/* Append a check to r (counts updated); the strings are copied. */
EM_MUST_USE
int em_verify_add(struct em_arena *a, struct em_verify_result *r, const char *name,
		  enum em_check_status st, const char *expected, const char *got,
		  const char *detail, double seconds, struct em_error *e);

/* "7 passed", "2 failed, 5 passed, 1 skipped" */
void em_verify_summary(const struct em_verify_result *r, char *buf, size_t size);

/* The failed checks in one line for an error message:
 * "import badpkg: RuntimeError: boom; torch.version.cuda: expected '12.6', got '12.4'" */
char *em_verify_failures(struct em_arena *a, const struct em_verify_result *r, size_t max);

/* ---- keeping results ---- */

/* The result as JSON text (see docs/architecture.md for the shape). */
EM_MUST_USE
int em_verify_to_json(struct em_arena *a, const struct em_verify_result *r, char **text,
		      size_t *len, struct em_error *e);
EM_MUST_USE
int em_verify_from_json(struct em_arena *a, const char *text, size_t len, const char *where,
			struct em_verify_result *r, struct em_error *e);

/* The result as the history keeps it (verify.json), in a; NULL for r
 * NULL or when it cannot be written. */
const char *em_verify_record(struct em_arena *a, const struct em_verify_result *r);

/* Write root/EM_VERIFY_FILE atomically, and read it back (EM_ENOTFOUND
 * when the environment has none). */
EM_MUST_USE
int em_verify_save(struct em_arena *a, const char *root, const struct em_verify_result *r,
		   struct em_error *e);
EM_MUST_USE
int em_verify_load(struct em_arena *a, const char *root, struct em_verify_result *r,
		   struct em_error *e);

#endif
