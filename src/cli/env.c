/* env.c - the environment variables envmatrix reads (docs/envmatrix.1,
 * ENVIRONMENT): its own; the user's world (PATH, HOME...) comes with the
 * library's defaults (settings.h) */
#include "cli/env.h"

#include "os/sys.h"
#include "settings.h"

/* How the CLI words what the library leaves to the front end: the
 * commands and options its users type. */
static const char *const phrases[EM_PHRASE_COUNT] = {
	[EM_PHRASE_OFFLINE] = "--offline",
	[EM_PHRASE_REV] = "--rev",
	[EM_PHRASE_MIRROR_WRITER] = "'envmatrix mirror'",
	[EM_PHRASE_NO_LOCK] = "; run 'envmatrix plan' first",
	[EM_PHRASE_NO_LOCK_FROZEN] = "; run 'envmatrix plan' first, or apply without --frozen",
	[EM_PHRASE_LOCK_STALE] = "; run 'envmatrix plan' to update it",
	[EM_PHRASE_TORCH_UNPLANNED] = ": run 'envmatrix plan' to check the GPU's compute "
				      "capability against it",
	[EM_PHRASE_INSTALL_PYTHON] = " ('envmatrix python install {}')",
	[EM_PHRASE_VERIFY_FAILED] = " (apply --no-verify swaps it in anyway; 'envmatrix cache "
				    "verify' finds unpacked wheels in the cache that were changed)",
	[EM_PHRASE_NO_GENERATION] = "; see 'envmatrix history {}'",
	[EM_PHRASE_LOCK_BUSY] = " or use --wait",
};

static struct cli_env own;

void cli_env_load(void)
{
	/* the user's world (PATH, HOME, XDG_*...) as the library finds it;
	 * envmatrix's own settings from here */
	struct em_settings s = *em_settings_defaults();
	s.cache_dir = em_os_getenv("ENVMATRIX_CACHE_DIR");
	s.python_dir = em_os_getenv("ENVMATRIX_PYTHON_DIR");
	s.python_mirror = em_os_getenv("ENVMATRIX_PYTHON_MIRROR");
	s.history = em_os_getenv("ENVMATRIX_HISTORY");
	s.cuda_driver = em_os_getenv("ENVMATRIX_CUDA_DRIVER");
	s.sysroot = em_os_getenv("ENVMATRIX_SYSROOT");
	s.nvidia_smi = em_os_getenv("ENVMATRIX_NVIDIA_SMI");
	s.build_timeout = em_os_getenv("ENVMATRIX_BUILD_TIMEOUT");
	s.verify_timeout = em_os_getenv("ENVMATRIX_VERIFY_TIMEOUT");
	s.http_stall_s = em_os_getenv("ENVMATRIX_HTTP_STALL_S");
	s.http_retries = em_os_getenv("ENVMATRIX_HTTP_RETRIES");
	s.http_backoff_ms = em_os_getenv("ENVMATRIX_HTTP_BACKOFF_MS");
	s.test_crash_at = em_os_getenv("ENVMATRIX_TEST_CRASH_AT");
	s.test_no_exchange = em_os_getenv("ENVMATRIX_TEST_NO_EXCHANGE") != NULL;
	s.phrases = phrases;
	em_settings_set(&s);
	own.no_color = em_os_getenv("NO_COLOR");
	own.term = em_os_getenv("TERM");
	own.shell = em_os_getenv("SHELL");
}

const struct cli_env *cli_env(void)
{
	return &own;
}

const char *cli_env_path_now(void)
{
	return em_os_getenv("PATH");
}
