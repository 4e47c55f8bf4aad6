/* mkvenv.c - write a venv with em_venv_create, for the black-box tests
 *
 *   mkvenv [options] STAGING FINAL_ROOT
 *
 *   --platform NAME     the target (default linux-x86_64)
 *   --python VERSION    the base interpreter's exact version (3.12.4, 3.13.1t)
 *   --home DIR          the base: a Python installation folder
 *   --executable PATH   the base: an interpreter (with --python)
 *   --interp PATH       the base: an interpreter asked for its version
 *   --cfg-home PATH     write this as pyvenv.cfg's home (a Windows tree
 *   --cfg-executable P  prepared here but used elsewhere) and executable
 *   --prompt NAME, --workload NAME, --matrix PATH
 *   --env NAME=VALUE    a workload variable (repeatable; VALUE any bytes)
 *
 * Writes the venv into STAGING naming FINAL_ROOT in every file; prints
 * nothing on success, "mkvenv: error: WHERE: MESSAGE" and exit 1 on failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interp.h"
#include "venv.h"

#define MAX_ENV 256

static int usage(void)
{
	fprintf(stderr, "usage: mkvenv [--platform NAME] [--python VERSION] (--home DIR | "
			"--executable PATH | --interp PATH) [--prompt NAME] [--workload NAME] "
			"[--matrix PATH] [--env NAME=VALUE]... STAGING FINAL_ROOT\n");
	return 2;
}

static int fail(const struct em_error *e)
{
	if (e->where[0])
		fprintf(stderr, "mkvenv: error: %s: %s\n", e->where, e->msg);
	else
		fprintf(stderr, "mkvenv: error: %s\n", e->msg);
	return 1;
}

int main(int argc, char **argv)
{
	const char *platform = "linux-x86_64", *python = NULL, *home = NULL, *exe = NULL;
	const char *interp = NULL, *cfg_home = NULL, *cfg_exe = NULL;
	struct em_venv_info info;
	memset(&info, 0, sizeof info);
	static const char *names[MAX_ENV], *values[MAX_ENV];
	int i = 1;
	for (; i < argc && !strncmp(argv[i], "--", 2); i++) {
		const char *opt = argv[i];
		if (!strcmp(opt, "--"))
			break;
		if (i + 1 >= argc)
			return usage();
		const char *v = argv[++i];
		if (!strcmp(opt, "--platform")) {
			platform = v;
		} else if (!strcmp(opt, "--python")) {
			python = v;
		} else if (!strcmp(opt, "--home")) {
			home = v;
		} else if (!strcmp(opt, "--executable")) {
			exe = v;
		} else if (!strcmp(opt, "--interp")) {
			interp = v;
		} else if (!strcmp(opt, "--cfg-home")) {
			cfg_home = v;
		} else if (!strcmp(opt, "--cfg-executable")) {
			cfg_exe = v;
		} else if (!strcmp(opt, "--prompt")) {
			info.prompt = v;
		} else if (!strcmp(opt, "--workload")) {
			info.workload = v;
		} else if (!strcmp(opt, "--matrix")) {
			info.matrix = v;
		} else if (!strcmp(opt, "--env")) {
			const char *eq = strchr(v, '=');
			if (!eq || info.nenv == MAX_ENV)
				return usage();
			names[info.nenv] = strndup(v, (size_t)(eq - v));
			values[info.nenv] = eq + 1;
			info.nenv++;
		} else {
			return usage();
		}
	}
	if (argc - i != 2 || (!home && !exe && !interp))
		return usage();
	info.env_names = names;
	info.env_values = values;

	struct em_arena a;
	em_arena_init(&a);
	struct em_error e;
	em_error_clear(&e);
	struct em_platform p;
	struct em_python py;
	memset(&py, 0, sizeof py);
	struct em_base_python base;
	int rc = em_platform_parse(platform, &p, &e);
	if (!rc && interp) {
		struct em_interp it;
		rc = em_interp_query(&a, interp, &it, &e);
		if (!rc) {
			py = it.py;
			exe = interp;
		}
	} else if (!rc && python) {
		rc = em_python_parse(python, &py, &e);
	} else if (!rc) {
		rc = em_err(&e, EM_EUSAGE, NULL, "--python is needed with --home and --executable");
	}
	if (!rc)
		rc = exe ? em_base_python_from_executable(&a, exe, &p, &py, &base, &e)
			 : em_base_python_from_home(&a, home, &p, &py, &base, &e);
	if (!rc) {
		if (cfg_home)
			base.home = cfg_home;
		if (cfg_exe)
			base.executable = cfg_exe;
		rc = em_venv_create(&a, argv[i], argv[i + 1], &p, &base, &info, &e);
	}
	em_arena_release(&a);
	for (uint32_t k = 0; k < info.nenv; k++)
		free((char *)names[k]);
	return rc ? fail(&e) : 0;
}
