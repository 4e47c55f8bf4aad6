/* settings.h - what the front end tells the library, and the user's world
 *
 * The library reads none of envmatrix's own environment variables. Its
 * settings (folders, a mirror, the driver to plan for, limits, test hooks)
 * reach it here, and the front end decides where each value comes from:
 * the CLI reads ENVMATRIX_* in one place (src/cli/env.c) and installs the
 * result before any other call. Without a front end's settings they are
 * unset.
 *
 * The user's world is in the same struct: the search path, the home and
 * XDG folders, pyenv's and uv's folders, the user's name and the CA bundle
 * (SSL_CERT_FILE). Other programs' conventions, not envmatrix settings:
 * by default they come from the process's environment, through the
 * platform layer (em_os_getenv), so a front end that installs nothing (the
 * public API) finds interpreters as the CLI does; a front end may replace
 * them.
 *
 * Why one installed, read-only struct and not a pointer passed down every
 * call: most of these values are read deep below the public calls (the
 * cache folder by interpreter discovery, the test hooks by the swap, the
 * author of a history commit by the history), and threading a context
 * through every signature between would change most of the library for
 * no gain in what a caller can express. The settings are installed once,
 * before the library is used, and never change afterwards, so worker
 * threads read them without locks.
 *
 * Every string is text as the user wrote it (NULL when unset) and is
 * interpreted where it is used, by the rules that were there before. The
 * strings are not copied: they must stay valid while the library is in
 * use.
 */
#ifndef ENVMATRIX_SETTINGS_H
#define ENVMATRIX_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>

/* The front end's words for what a user can do about a failure, and for
 * its own switches. Library messages state the facts and put the front
 * end's phrase where it fits; the defaults name no command or option
 * (advice defaults to "", names to a plain description). The CLI's
 * phrases (cli/env.c) are the command lines and options its users type.
 * "{}" in a phrase marks where its argument goes (em_phrase_arg). */
enum em_phrase {
	EM_PHRASE_OFFLINE,           /* the switch that forbids the network: "--offline" */
	EM_PHRASE_REV,               /* reading the matrix at a git revision: "--rev" */
	EM_PHRASE_MIRROR_WRITER,     /* another process writing a mirror: "'envmatrix mirror'" */
	EM_PHRASE_NO_LOCK,           /* after "workload 'X' has no lock" */
	EM_PHRASE_NO_LOCK_FROZEN,    /* the same, when applying the locks as they are */
	EM_PHRASE_LOCK_STALE,        /* after "the lock is out of date" (apply, locked) */
	EM_PHRASE_TORCH_UNPLANNED,   /* after "the torch version is known once planned" */
	EM_PHRASE_INSTALL_PYTHON,    /* after "install it"; {}: the Python version */
	EM_PHRASE_VERIFY_FAILED,     /* after "the environment in place was left as it was" */
	EM_PHRASE_NO_GENERATION,     /* after "it has 1 to N"; {}: the workload */
	EM_PHRASE_LOCK_BUSY,         /* after "another envmatrix ...; wait for it" */
	EM_PHRASE_COUNT
};

struct em_settings {
	/* folders */
	const char *cache_dir;     /* the cache when the matrix names none */
	const char *python_dir;    /* where downloaded interpreters are installed */
	const char *python_mirror; /* python-build-standalone's catalogue when the matrix
				    * names none (a URL or a folder) */
	const char *history;       /* the history repository over the matrix's history;
				    * "off" records none */

	/* the NVIDIA driver and GPUs (struct em_gpu_probe) */
	const char *cuda_driver; /* a driver version to plan for instead of this machine's */
	const char *sysroot;     /* a folder that stands for / when the driver, the GPUs
				  * and the CPU are read (a recorded machine) */
	const char *nvidia_smi;  /* the nvidia-smi to run */

	/* limits, in seconds as written; NULL: the default */
	const char *build_timeout;  /* a build hook */
	const char *verify_timeout; /* verification's Python run and each command */

	/* the network: a stall in seconds, retries after the first try, the
	 * first retry's wait in milliseconds (as written); the CA bundle for
	 * https:// when the matrix names none (the user's world: SSL_CERT_FILE) */
	const char *http_stall_s;
	const char *http_retries;
	const char *http_backoff_ms;
	const char *ca_file;

	/* the user's world (by default from the process's environment, in
	 * parentheses) */
	const char *user;           /* a name for history commits when git knows
				     * none (USER, else LOGNAME) */
	const char *path;           /* the search path, also given to hooks (PATH) */
	const char *home;           /* the home folder (HOME) */
	const char *xdg_cache_home; /* used when absolute (XDG_CACHE_HOME) */
	const char *xdg_data_home;  /* used when absolute (XDG_DATA_HOME) */
	const char *local_app_data; /* Windows: per-user application data (LOCALAPPDATA) */
	const char *pyenv_root;     /* pyenv's root, used when absolute (PYENV_ROOT) */
	const char *uv_python_dir;  /* uv's interpreters (UV_PYTHON_INSTALL_DIR) */

	/* the test suite's hooks */
	const char *test_crash_at; /* kill the process right after this swap step */
	bool test_no_exchange;     /* swap by renames, as where no exchange exists */

	/* the front end's phrases, EM_PHRASE_COUNT of them; NULL (or a NULL
	 * entry): the library's own */
	const char *const *phrases;
};

/* Install the settings: the front end calls this once, before any other
 * library call, and not again while the library is in use (threads read
 * them without locks). s is copied, its strings are not; a front end that
 * keeps the user's world starts from em_settings_defaults(). NULL puts the
 * defaults back. */
void em_settings_set(const struct em_settings *s);

/* The defaults: envmatrix's settings unset, the user's world from the
 * process's environment (read once). Never NULL. */
const struct em_settings *em_settings_defaults(void);

/* The settings in force: the ones installed, else the defaults. Never
 * NULL. */
const struct em_settings *em_settings(void);

/* The phrase p in the front end's words, else the library's; never NULL. */
const char *em_phrase(enum em_phrase p);

/* The phrase p with arg where it says "{}", written into buf (cap bytes,
 * cut when it does not fit; EM_PHRASE_MAX holds every phrase with a name
 * or a version); returns buf. */
#define EM_PHRASE_MAX 256
const char *em_phrase_arg(char *buf, size_t cap, enum em_phrase p, const char *arg);

#endif
