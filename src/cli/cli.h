/* cli.h - what the command files share: options, output, exit codes
 *
 * The CLI is a thin layer over libenvmatrix: it parses the command line,
 * calls the library, and is the only place that prints. Results go to
 * stdout, diagnostics to stderr.
 */
#ifndef ENVMATRIX_CLI_H
#define ENVMATRIX_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* what the declarations below hold by value; each command file includes
 * the headers of the modules it uses */
#include "cache.h"  /* struct cli_net: the cache */
#include "source.h" /* struct cli_net: the source */
#include "verify.h" /* cli_host_gpu: struct em_host_gpu */

struct em_arena;
struct em_error;
struct em_gpu_info;
struct em_history;
struct em_matrix;
struct em_record_workload;
struct em_state_lock;
struct em_target;
struct em_venv_paths;
struct em_verify_result;
struct em_workload;
struct em_workload_plan;

/* Exit codes (docs/envmatrix.1, EXIT STATUS) */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,  /* the operation failed or the input was invalid */
	EXIT_USAGE = 2, /* the command line was wrong */
	EXIT_STALE = 3, /* plan --check, apply --locked, status --check: out of date */
	EXIT_CHECK = 4,  /* doctor, verify: a check failed */
	EXIT_INTERRUPTED = 130 /* Ctrl-C (SIGINT) or SIGTERM stopped apply */
};

/* ---- global state set by main ---- */
struct cli_global {
	int quiet;
	int verbose;
	bool color_out; /* colors allowed on stdout */
	bool color_err; /* colors allowed on stderr */
};
extern struct cli_global cli;

/* ---- options ---- */
enum cli_opt_type {
	CLI_OPT_END = 0,
	CLI_OPT_FLAG,   /* int *: set to 1 */
	CLI_OPT_STRING, /* const char **: the argument */
	CLI_OPT_LIST    /* struct cli_list *: every occurrence, in order */
};

struct cli_opt {
	enum cli_opt_type type;
	char short_name;       /* 0 when none */
	const char *long_name; /* without "--"; NULL when none */
	const char *argname;   /* shown in help for options with an argument */
	const char *help;
	void *value;
};

/* The entries many commands' tables share: -f MATRIX, --json (what: "the
 * outcome") and the end of the table */
#define CLI_MATRIX_OPT(var)                                                                  \
	{ CLI_OPT_STRING, 'f', "file", "MATRIX", "the matrix file (default matrix.ini)", (var) }
#define CLI_JSON_OPT(what, var) { CLI_OPT_FLAG, 0, "json", NULL, "print " what " as JSON", (var) }
#define CLI_UPGRADE_OPT(var)                                                                 \
	{ CLI_OPT_FLAG, 0, "upgrade", NULL,                                                  \
	  "ignore the versions in existing locks (take the newest allowed)", (var) }
#define CLI_END_OPT { CLI_OPT_END, 0, NULL, NULL, NULL, NULL }

struct cli_list {
	int n;
	const char *items[64];
};

struct cli_cmd_help {
	const char *name;    /* "debug specifier" */
	const char *usage;   /* "SPEC [VERSION...]" */
	const char *summary; /* one line */
	const char *details; /* paragraphs, may be NULL */
	const struct cli_opt *opts;
};

/* Parse options in argv[1..argc) (argv[0] is the command name). Positional
 * arguments are moved to the front of argv+1 in order; their count is
 * returned through *npos. "--" ends the options. -h/--help prints the help
 * and returns 1 (the command then exits 0). Unknown options print an error
 * naming the command and return -1. Otherwise 0. */
int cli_parse(int argc, char **argv, const struct cli_cmd_help *h, int *npos);
/* The help: the usage line is made from h->opts (each option once, in
 * table order) followed by h->usage, which names only the positional
 * arguments, so the two cannot disagree. */
void cli_print_help(FILE *f, const struct cli_cmd_help *h);
void cli_print_usage(FILE *f, const struct cli_cmd_help *h); /* the usage line alone */
/* --color=WHEN: whether colors go to fd; whether WHEN is a valid one. The
 * global options (-q, -v, --color=WHEN) are also accepted after the command
 * by cli_parse, where a command's own option of the same name wins. */
bool cli_color_when(const char *when, int fd);
bool cli_color_valid(const char *when);

/* ---- output ---- */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A warning about the user's data (a folder kept under a new name, a swap
 * finished or undone, a cache entry unpacked again): printed even with -q. */
void cli_warn_data(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "envmatrix: error: WHERE: MSG"; returns the exit code for e */
int cli_report(const struct em_error *e);
/* usage error naming the command, with the hint to see --help; returns EXIT_USAGE */
int cli_usage_error(const struct cli_cmd_help *h, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* A "key<TAB>value" result line on stdout; backslash, TAB, newline and CR
 * in the value are written as \\, \t, \n and \r so every result stays on
 * one line (the format the man page documents for debug output). */
void cli_put_kv(const char *key, const char *value, size_t n);
void cli_put_kvs(const char *key, const char *value); /* NUL-terminated; NULL is "" */

/* Print a JSON value on stdout (indented, keys in insertion order) and drop
 * the reference. NULL (a failed json_pack) is reported as out of memory.
 * Returns the exit code. */
struct json_t;
int cli_put_json(struct json_t *value);
/* v[0..n) as a JSON array (a string that is not UTF-8 left out); NULL when
 * out of memory */
struct json_t *cli_json_strings(const char *const *v, size_t n);

/* Read all of stdin's non-empty lines (for commands that take their
 * arguments from stdin when none are given). Lines are stripped of a
 * trailing CR. Returns the count or -1 (message printed). *out is a
 * malloc'd array into *storage (free both). */
int cli_read_lines(FILE *f, char ***out, char **storage);

/* ---- Ctrl-C (net.c): SIGINT and SIGTERM set cli_stop while caught, so
 * the library can stop cleanly (pass &cli_stop as its cancel flag) ---- */
extern volatile sig_atomic_t cli_stop;
void cli_catch_stop(void);
void cli_release_stop(void); /* the handlers from before; idempotent */

/* ---- the network and the cache (net.c) ---- */
extern int cli_net_offline, cli_net_refresh;
extern const char *cli_net_jobs;
void cli_net_reset_opts(void);
/* the options of every command that reads indexes */
#define CLI_NET_OPTS                                                                        \
	{ CLI_OPT_FLAG, 0, "offline", NULL,                                                 \
	  "use only what the cache holds; never the network", &cli_net_offline },           \
	{ CLI_OPT_FLAG, 0, "refresh", NULL,                                                 \
	  "fetch index pages whole again instead of revalidating the cached ones",          \
	  &cli_net_refresh },                                                               \
	{ CLI_OPT_STRING, 'j', "jobs", "N",                                                 \
	  "downloads at once (default: the matrix's jobs, else 8)", &cli_net_jobs }

struct cli_progress;
struct cli_net {
	struct em_source src; /* index pages and files, through the cache and the network */
	struct em_cache cache;
	bool cache_open;
	struct em_http *http;
	struct cli_progress *progress;
};

/* Ready n, nothing opened: src reads only local files until cli_net_open. */
void cli_net_init(struct cli_net *n);
/* Open the matrix's cache and the network for n->src. Returns an exit code. */
int cli_net_open(struct em_arena *a, const struct em_matrix *m, const char *file,
		 volatile sig_atomic_t *cancel, struct cli_net *n);
/* Close what cli_net_open opened and release n->src (after cli_net_init,
 * whether cli_net_open ran or not). */
void cli_net_close(struct cli_net *n);
/* "1.5 GiB" */
void cli_human_bytes(char *buf, size_t cap, double bytes);

/* ---- the NVIDIA driver and GPUs (gpu.c) ---- */
/* Detect them as ENVMATRIX_SYSROOT, ENVMATRIX_CUDA_DRIVER and
 * ENVMATRIX_NVIDIA_SMI say. Prints the error; returns an exit code. */
int cli_gpu_detect(struct em_arena *a, struct em_gpu_info *out);
/* The same without ENVMATRIX_CUDA_DRIVER and without printing: what the
 * machine itself says (false when detection failed). */
bool cli_gpu_detect_machine(struct em_arena *a, struct em_gpu_info *out);
/* Whether planning the matrix needs them (a workload has torch). */
bool cli_gpu_needed(const struct em_matrix *m);
/* A workload plan's warnings on stderr (not with -q). */
void cli_plan_warnings(const struct em_workload_plan *wp);

/* ---- commands ---- */
int cmd_apply(int argc, char **argv);
int cmd_build(int argc, char **argv);
int cmd_cache(int argc, char **argv);
int cmd_debug(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_history(int argc, char **argv);
int cmd_mirror(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_python(int argc, char **argv);
int cmd_rollback(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_shell(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_verify(int argc, char **argv);

/* ---- the matrix (load.c) ---- */
/* Read and parse -f FILE (NULL: matrix.ini); *file is the path used.
 * Prints the error; returns an exit code. */
int cli_load_matrix(struct em_arena *a, const char *opt_file, struct em_matrix *m,
		    const char **file);
/* The same, keeping the bytes that were parsed (*text, *len: in a) for
 * what must record exactly the matrix that was used (the history). */
int cli_load_matrix_text(struct em_arena *a, const char *opt_file, struct em_matrix *m,
			 const char **file, char **text, size_t *len);
/* Whether a positional argument names a matrix file: it ends in .ini, or
 * it names an existing regular file and holds a '.' or '/' (which no
 * workload name does). */
bool cli_is_matrix_arg(const char *arg);
/* The one rule for every command that reads the matrix: it is -f MATRIX
 * (*file, as cli_parse set it) or the first positional argument when that
 * names one (cli_is_matrix_arg); the argument is then taken out of pos
 * (*npos positional arguments). Both at once is a usage error naming both.
 * Returns 0 or EXIT_USAGE (printed). */
int cli_matrix_arg(const struct cli_cmd_help *h, const char **file, char **pos, int *npos);
/* cli_parse, then cli_matrix_arg on the positional arguments: true when
 * the command goes on, else false with *code its exit code (the help was
 * printed: EXIT_OK; a usage error: EXIT_USAGE). */
bool cli_parse_matrix(int argc, char **argv, const struct cli_cmd_help *h, const char **file,
		      int *npos, int *code);
/* cli_parse_matrix for a command whose other arguments name workloads:
 * false too (EXIT_USAGE) when one is named twice. */
bool cli_parse_workloads(int argc, char **argv, const struct cli_cmd_help *h, const char **file,
			 int *npos, int *code);
/* The workload, or NULL after an error naming the matrix's workloads. */
const struct em_workload *cli_find_workload(const struct em_matrix *m, const char *name);
/* Whether the command works on w: names[0..n) name it, or n is 0 (all). */
bool cli_workload_chosen(const struct em_matrix *m, const struct em_workload *w,
			 char *const *names, int n);
/* A workload named twice in names[0..n): a usage error naming it (EXIT_USAGE). */
int cli_unique_workloads(const struct cli_cmd_help *h, const char *const *names, int n);
/* The matrix, workload name and its venv's paths, for commands that use an
 * existing environment: an error (printed) when the venv does not exist.
 * Returns an exit code. */
int cli_load_workload(struct em_arena *a, const char *opt_file, const char *name,
		      struct em_matrix *m, const struct em_workload **w, struct em_venv_paths *p);
/* Take the matrix's apply lock; with wait, say who holds it and wait.
 * Prints the error; returns an exit code. */
int cli_take_lock(struct em_arena *a, const char *file, const char *command, bool wait,
		  struct em_state_lock *l);

/* ---- verification (cmd_verify.c; cli_host_gpu in gpu.c) ---- */
/* The host's GPU as verification compares it with what torch sees: the
 * first GPU of g (NULL or no driver: none). Points into g. */
struct em_host_gpu cli_host_gpu(const struct em_gpu_info *g);
/* The table of checks (check, expected, got, result; the detail of a
 * failed or skipped one below it) on f. */
void cli_print_checks(FILE *f, const struct em_verify_result *r, bool color);
/* A result as JSON (the shape em_verify_to_json writes); NULL on failure. */
struct json_t *cli_verify_json(struct em_arena *a, const struct em_verify_result *r);
/* ENVMATRIX_VERIFY_TIMEOUT (seconds) in milliseconds, 0 when unset;
 * -1 (message printed) when it is not a number. */
int cli_verify_timeout_env(void);
/* ---- the history (history.c) ---- */
/* Open the matrix's history: EXIT_OK, -1 when there is none yet (nothing
 * printed), or an exit code after printing the error (also when off). */
int cli_history_open(struct em_arena *a, const char *file, const struct em_matrix *m,
		     bool create, struct em_history *h);
/* Open the matrix's history if there is one and it opens, printing
 * nothing (for what is only worth doing when it can). */
bool cli_history_open_quiet(struct em_arena *a, const char *file, const struct em_matrix *m,
			    struct em_history *h);
/* Record the n workloads an apply or rollback --to changed as one
 * generation each (numbers, n of them, may be NULL: gets each one's
 * generation number); history = off records nothing. Prints the error and
 * returns EXIT_FAIL when the history could not record it. */
int cli_history_record(struct em_arena *a, const char *file, const struct em_matrix *m,
		       const char *matrix_text, size_t matrix_len, uint32_t n,
		       const struct em_record_workload *w, const char *rev,
		       const struct em_gpu_info *gpu, uint32_t *numbers);
/* A verification result as the history keeps it (verify.json), NULL when
 * there is none (not verified, or out of memory). */
const char *cli_verify_record(struct em_arena *a, const struct em_verify_result *r);

/* debug subcommands (src/cli/debug_*.c) */
int debug_version(int argc, char **argv);
int debug_specifier(int argc, char **argv);
int debug_name(int argc, char **argv);
int debug_marker(int argc, char **argv);
int debug_requirement(int argc, char **argv);
int debug_tags(int argc, char **argv);
int debug_wheel(int argc, char **argv);
int debug_metadata(int argc, char **argv);
int debug_lock(int argc, char **argv);

/* Build a target from --target/--python option values (NULL = default):
 * platform "auto" (the default) is the host; python defaults to 3.12.
 * Prints the error and returns EXIT_USAGE / EXIT_FAIL, or 0. */
int cli_target(const char *platform, const char *python, struct em_target *t);

#endif
