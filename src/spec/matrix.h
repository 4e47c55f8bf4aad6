/* matrix.h - the version matrix (matrix.ini) and requirements files
 *
 * The matrix is read with inih through ini_parse_stream and a reader that
 * counts lines, so every mistake is reported as "matrix.ini:LINE: message"
 * naming the key. Parsing takes bytes (the caller reads the file) and does
 * no I/O; docs/matrix.md is the user's reference for the format.
 *
 * Every value keeps the line it came from, so later stages (the planner,
 * the resolver's explanations) can point at the line that asked for it.
 */
#ifndef ENVMATRIX_MATRIX_H
#define ENVMATRIX_MATRIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "envmatrix/error.h"
#include "spec/pep440.h"
#include "spec/target.h"

/* Limits (docs/matrix.md): past them parsing fails with EM_ELIMIT. */
#define EM_MATRIX_MAX_LEN (4u << 20)      /* bytes in a matrix or requirements file */
#define EM_MATRIX_MAX_WORKLOADS 256
#define EM_MATRIX_MAX_LINE 200            /* characters in a line (comments exempt) */
#define EM_MATRIX_MAX_NAME 64             /* a workload name */
#define EM_MATRIX_MAX_PACKAGES 1024       /* per workload, inherited ones included */
#define EM_MATRIX_MAX_ENV 64              /* env.NAME per workload, inherited included */
#define EM_MATRIX_MAX_FIND_LINKS 32       /* per section */
#define EM_MATRIX_MAX_VERIFY 32           /* verify commands per workload, inherited included */
#define EM_COMMAND_MAX_WORDS 256          /* words in one verify command */
#define EM_MATRIX_MAX_JOBS 256
#define EM_MATRIX_MAX_PKG_VALUES 256      /* values of one build-requires.PKG or
					   * config-settings.PKG */
#define EM_REQFILE_MAX_REQS 10000         /* requirements in one requirements file */
#define EM_REQFILE_MAX_INCLUDES 64        /* -r lines in one requirements file */

/* What python = ... asks for. */
enum em_python_kind {
	EM_PYTHON_UNSET = 0,
	EM_PYTHON_EXACT, /* 3.12.10, 3.14.0rc1, 3.13.2t */
	EM_PYTHON_MINOR, /* 3.12: the newest patch release available */
	EM_PYTHON_SPEC,  /* a specifier set: >=3.11,<3.13 */
	EM_PYTHON_PATH   /* an interpreter: contains '/' or '\\', or ends in .exe */
};

struct em_python_req {
	enum em_python_kind kind;
	struct em_python version; /* EXACT and MINOR */
	struct em_specset spec;   /* SPEC; empty otherwise */
};

/* Classify and check a python value (the text as written, stripped). */
EM_MUST_USE
int em_python_req_parse(struct em_arena *a, const char *s, size_t n, struct em_python_req *out,
			struct em_error *e);

/* What cuda = ... asks for: the PyTorch wheel variant. */
enum em_cuda_kind {
	EM_CUDA_UNSET = 0,
	EM_CUDA_AUTO, /* the newest variant the target's driver runs (cpu without one) */
	EM_CUDA_CPU,
	EM_CUDA_CUDA, /* 12.6 or cu126 */
	EM_CUDA_ROCM, /* rocm6.2, rocm6.2.4 */
	EM_CUDA_XPU
};

struct em_cuda {
	enum em_cuda_kind kind;
	unsigned major, minor; /* CUDA: 12, 6 */
	char variant[16];      /* the index folder: "cu126", "cpu", "rocm6.2.4", "xpu";
				* "" for AUTO and UNSET */
};

/* 12.6, cu126, cpu, auto, rocmX.Y[.Z], xpu (ASCII case ignored). */
EM_MUST_USE
int em_cuda_parse(const char *s, size_t n, struct em_cuda *out, struct em_error *e);

/* torch = ... as a specifier set: a release of one or two numbers names a
 * series (2.8 -> ==2.8.*), any other version is exact (2.8.0 -> ==2.8.0,
 * which 2.8.0+cu126 satisfies), anything else must be a specifier set. */
EM_MUST_USE
int em_torch_req_parse(struct em_arena *a, const char *s, size_t n, struct em_specset *out,
		       struct em_error *e);

/* A value and where it was written; value NULL and line 0 when unset. */
struct em_setting {
	const char *value;
	uint32_t line;
};

/* One requirement (PEP 508 text) and where it came from: the matrix's
 * packages = ... (file is the matrix path) or a requirements file. */
struct em_req_line {
	const char *text;
	const char *file;
	uint32_t line;
};

struct em_env_var {
	const char *name;  /* NAME of env.NAME, case kept */
	const char *value;
	uint32_t line;
};

/* A line of mirrors: files whose URL starts with from may also be
 * downloaded from to followed by the rest of the URL. */
struct em_mirror {
	const char *from;
	const char *to;
	uint32_t line;
};

/* no-build, only-binary, no-binary: which projects a key names. */
struct em_pkg_set {
	const char *key;      /* "no-build", "only-binary", "no-binary" */
	struct em_setting setting; /* the value as written and its line; value
				    * NULL when neither the workload nor [matrix]
				    * sets the key */
	bool all;             /* no-build = true, only-binary/no-binary = :all: */
	uint32_t n;
	const char **names;   /* PEP 503 normalized, as written otherwise */
};

/* What the matrix's keys say about the sdists of project name (PEP 503
 * normalized) for a workload: a key that names the project beats a key
 * that says all (true, :all:); no-build and only-binary refuse sdists,
 * no-binary prefers them (it refuses wheels). *by is the key that
 * decided (NULL for EM_SDIST_ALLOW). */
enum em_sdist_rule { EM_SDIST_ALLOW, EM_SDIST_REFUSE, EM_SDIST_PREFER };
struct em_workload;
enum em_sdist_rule em_workload_sdist_rule(const struct em_workload *w, const char *name,
					  const struct em_pkg_set **by);

/* build-requires.PKG and config-settings.PKG: values for one project's
 * builds. */
struct em_pkg_values {
	const char *key;     /* the key as written ("build-requires.Flash_Attn") */
	const char *name;    /* PKG, PEP 503 normalized */
	uint32_t line;       /* the key's line */
	uint32_t n;
	const char **values; /* requirements (PEP 508), or KEY=VALUE settings */
};

/* The build-requires.PKG (or config-settings.PKG) entry of w for project
 * name (PEP 503 normalized), or NULL. */
const struct em_pkg_values *em_workload_build_requires(const struct em_workload *w,
							const char *name);
const struct em_pkg_values *em_workload_config_settings(const struct em_workload *w,
							 const char *name);
/* Whether no-build-isolation names the project (PEP 503 normalized). */
bool em_workload_no_isolation(const struct em_workload *w, const char *name);

struct em_workload {
	const char *name;          /* the section name: the id on the command line */
	uint32_t line;             /* line of its [section] header */
	struct em_setting description;
	struct em_setting path;    /* relative to the matrix's folder, or absolute
				    * ("." when unset) */
	struct em_setting venv;    /* relative to path, no '..' (".venv" when unset) */
	struct em_setting python;  /* required (here or in [matrix]) */
	struct em_setting torch;   /* inherited; NULL when the workload has no torch */
	struct em_setting cuda;    /* inherited; "auto" (line 0) when torch is set without
				    * it; NULL when torch is unset */
	struct em_python_req python_req; /* python, parsed */
	struct em_specset torch_spec;    /* torch, parsed (empty when unset) */
	struct em_cuda cuda_spec;        /* cuda, parsed (UNSET when torch is unset) */
	struct em_setting platform;        /* inherited from [matrix] when unset */
	struct em_setting index_url;       /* inherited */
	struct em_setting torch_index_url; /* inherited */
	struct em_setting cuda_driver;     /* inherited; NULL means auto */
	struct em_setting python_home;     /* inherited: the base Python's installation
					    * folder (needed to apply a workload whose
					    * platform is not this machine's) */
	struct em_setting requirements;    /* a requirements file, relative to the matrix */
	uint32_t nfind_links;              /* [matrix]'s unless the workload has a
					    * find-links key (an empty one means none) */
	const struct em_setting *find_links;
	uint32_t npackages;
	const struct em_req_line *packages; /* [matrix] packages, then the workload's */
	uint32_t nenv;
	const struct em_env_var *env;       /* env.NAME = value: the [matrix] ones the
					     * workload does not set, then its own */
	uint32_t nverify;
	const struct em_setting *verify;    /* verify = COMMAND lines: [matrix]'s, then
					     * the workload's (em_command_split reads
					     * each) */
	/* the workload's own key, else [matrix]'s (em_workload_sdist_rule) */
	struct em_pkg_set no_build, only_binary, no_binary;
	/* builds (build.h): no-build-isolation names, the workload's own key
	 * else [matrix]'s; build-requires.PKG and config-settings.PKG, per
	 * PKG the workload's entry else [matrix]'s; build-constraints, a file
	 * relative to the matrix's folder (inherited) */
	struct em_pkg_set no_build_isolation;
	uint32_t nbuild_requires;
	const struct em_pkg_values *build_requires;
	uint32_t nconfig_settings;
	const struct em_pkg_values *config_settings;
	struct em_setting build_constraints;
};

struct em_matrix {
	const char *file;          /* path as given, used in messages */
	struct em_setting name;
	struct em_setting platform;        /* "auto" when unset */
	struct em_setting index_url;       /* https://pypi.org/simple when unset */
	struct em_setting torch_index_url; /* https://download.pytorch.org/whl when unset */
	struct em_setting python_mirror;
	struct em_setting cuda_driver;
	struct em_setting python_home;
	struct em_setting cache_dir;
	struct em_setting ca_file;         /* CA bundle for https (relative to the matrix) */
	struct em_setting history;         /* the history repository (history.h), or off */
	struct em_setting link_mode;       /* auto (when unset), clone, hardlink, copy */
	struct em_setting jobs;
	uint32_t nmirrors;                 /* mirrors, in file order */
	const struct em_mirror *mirrors;
	uint32_t njobs;                    /* jobs as a number; 0 when unset */
	uint32_t nworkloads;
	const struct em_workload *workloads; /* in file order */
};

/* Parse buf[0..len) read from the file named file (for messages). Every
 * check that needs no I/O is made here (docs/matrix.md lists them); the
 * first mistake stops the parse. Errors carry where = "FILE:LINE" (or
 * "FILE" for the whole file) and leave *out all zero. */
EM_MUST_USE
int em_matrix_parse(struct em_arena *a, const char *buf, size_t len, const char *file,
		    struct em_matrix *out, struct em_error *e);

/* The workload with that name (ASCII case ignored: names are unique that
 * way), or NULL. */
const struct em_workload *em_matrix_find(const struct em_matrix *m, const char *name);

/* A pip-style requirements file: PEP 508 lines, '#' comments, blank lines,
 * backslash continuations, and "-r FILE" / "--requirement FILE" includes,
 * which are returned (not followed: the caller reads them and parses each
 * with its own name). Other options are errors naming the line. */
struct em_reqfile {
	uint32_t nreqs;
	const struct em_req_line *reqs;
	uint32_t nincludes;
	const struct em_req_line *includes; /* text = the named file, as written */
};

/* Split a verify command into words, as a POSIX shell would split a
 * simple command without expanding anything: blanks separate words;
 * '...' keeps everything literally; "..." keeps everything but \\, \"
 * (and \$, \`); a backslash outside quotes keeps the next character.
 * Variables, globs, pipes and redirections are not interpreted (write
 * sh -c '...' for those). Errors (EM_EINVAL): an unclosed quote, a
 * trailing backslash, no words; EM_ELIMIT past EM_COMMAND_MAX_WORDS.
 * *words is NULL-terminated. */
EM_MUST_USE
int em_command_split(struct em_arena *a, const char *s, char ***words, uint32_t *n,
		     struct em_error *e);

EM_MUST_USE
int em_reqfile_parse(struct em_arena *a, const char *buf, size_t len, const char *file,
		     struct em_reqfile *out, struct em_error *e);

#endif
