/* settings.c - the settings the front end installed, and its phrases */
#include "settings.h"

#include "os/sys.h"

#include <pthread.h>
#include <string.h>

static struct em_settings installed, defaults;
static bool have_installed;
static pthread_once_t defaults_read = PTHREAD_ONCE_INIT;

/* The user's world as the process's environment describes it */
static void read_defaults(void)
{
	const char *user = em_os_getenv("USER");
	if (!user || !*user)
		user = em_os_getenv("LOGNAME");
	defaults.user = user;
	defaults.path = em_os_getenv("PATH");
	defaults.home = em_os_getenv("HOME");
	defaults.xdg_cache_home = em_os_getenv("XDG_CACHE_HOME");
	defaults.xdg_data_home = em_os_getenv("XDG_DATA_HOME");
	defaults.local_app_data = em_os_getenv("LOCALAPPDATA");
	defaults.pyenv_root = em_os_getenv("PYENV_ROOT");
	defaults.uv_python_dir = em_os_getenv("UV_PYTHON_INSTALL_DIR");
	defaults.ca_file = em_os_getenv("SSL_CERT_FILE");
}

/* The library's own phrases: they name no command and no option. */
static const char *const own_phrases[EM_PHRASE_COUNT] = {
	[EM_PHRASE_OFFLINE] = "offline mode",
	[EM_PHRASE_REV] = "a revision",
	[EM_PHRASE_MIRROR_WRITER] = "mirror",
	[EM_PHRASE_NO_LOCK] = "",
	[EM_PHRASE_NO_LOCK_FROZEN] = "",
	[EM_PHRASE_LOCK_STALE] = "",
	[EM_PHRASE_TORCH_UNPLANNED] = "",
	[EM_PHRASE_INSTALL_PYTHON] = "",
	[EM_PHRASE_VERIFY_FAILED] = "",
	[EM_PHRASE_NO_GENERATION] = "",
	[EM_PHRASE_LOCK_BUSY] = "",
};

void em_settings_set(const struct em_settings *s)
{
	if (s)
		installed = *s;
	have_installed = s != NULL;
}

const struct em_settings *em_settings_defaults(void)
{
	pthread_once(&defaults_read, read_defaults);
	return &defaults;
}

const struct em_settings *em_settings(void)
{
	return have_installed ? &installed : em_settings_defaults();
}

const char *em_phrase(enum em_phrase p)
{
	if ((unsigned)p >= EM_PHRASE_COUNT)
		return "";
	const char *const *words = em_settings()->phrases;
	const char *s = words ? words[p] : NULL;
	return s ? s : own_phrases[p];
}

const char *em_phrase_arg(char *buf, size_t cap, enum em_phrase p, const char *arg)
{
	if (!cap)
		return "";
	const char *s = em_phrase(p);
	const char *at = strstr(s, "{}");
	size_t n = 0;
	for (; *s && n + 1 < cap; s++) {
		if (s == at) {
			for (const char *t = arg ? arg : ""; *t && n + 1 < cap; t++)
				buf[n++] = *t;
			s++; /* the '}' */
			continue;
		}
		buf[n++] = *s;
	}
	buf[n] = '\0';
	return buf;
}
