/* venv.h - virtual environments written by envmatrix (PEP 405)
 *
 * envmatrix writes venvs itself, for the workload's target platform: the
 * POSIX layout (bin/, lib/pythonX.Y/site-packages, python symlinks, the
 * lib64 link) or the Windows layout (Scripts\, Lib\site-packages, the base
 * interpreter's venv launcher copied as Scripts\python.exe), pyvenv.cfg, and
 * activation scripts. A venv is built in a staging folder but every path
 * written into it names its final location.
 */
#ifndef ENVMATRIX_VENV_H
#define ENVMATRIX_VENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "envmatrix/error.h"
#include "install.h"
#include "spec/target.h"

/* The interpreter a venv is made from. */
struct em_base_python {
	const char *executable; /* absolute path of the base interpreter */
	const char *home;       /* its folder (pyvenv.cfg's home) */
	struct em_python py;    /* exact version */
	enum em_os os;
	/* Windows: the launchers copied into Scripts\ (venvlauncher.exe and
	 * venvwlauncher.exe, or the older python.exe / pythonw.exe shims;
	 * free-threaded: venvlaunchert.exe, venvwlaunchert.exe), as paths on
	 * this machine */
	const char *launcher;
	const char *wlauncher;  /* NULL when the tree has none */
};

/* Describe the base interpreter of a Python installation folder (on this
 * machine) for a platform without running it (a Windows tree from Linux,
 * say): POSIX home/bin/pythonX.Y[t], else home/bin/python3; Windows
 * home\python.exe (free-threaded: home\pythonX.Yt.exe first) and the
 * launchers under home\Lib\venv\scripts\nt\ (venvlauncher.exe, else the
 * older python.exe; venvwlauncher.exe or pythonw.exe when present;
 * free-threaded: venvlaunchert.exe and venvwlaunchert.exe). py must be the
 * installation's exact version. out->home is the interpreter's folder
 * (home/bin on POSIX), out->executable its absolute path; a caller that
 * prepares a Windows tree which will live elsewhere may replace both with
 * the Windows paths before em_venv_create. Errors (EM_ENOTFOUND) name what
 * is missing and what was looked for. */
EM_MUST_USE
int em_base_python_from_home(struct em_arena *a, const char *home, const struct em_platform *p,
			     const struct em_python *py, struct em_base_python *out,
			     struct em_error *e);

/* The same from the interpreter itself (an em_interp's path, say): it must
 * be a file (POSIX: executable); Windows launchers are looked for beside
 * it as above. */
EM_MUST_USE
int em_base_python_from_executable(struct em_arena *a, const char *executable,
				   const struct em_platform *p, const struct em_python *py,
				   struct em_base_python *out, struct em_error *e);

/* Where things are in a venv rooted at root (no I/O). Paths are joined
 * with a backslash for a Windows target whose root holds one (a final
 * root such as C:\envs\vlm\.venv) and with '/' otherwise (a folder on
 * this machine, a staging folder); trailing separators of root are
 * dropped. */
struct em_venv_layout {
	const char *root;
	const char *bin;           /* bin or Scripts */
	const char *python;        /* bin/python or Scripts\python.exe */
	const char *site_packages; /* lib/pythonX.Y[t]/site-packages or Lib\site-packages */
	const char *include;       /* include/site/pythonX.Y or Include */
	struct em_scheme scheme;   /* headers is the include folder; the installer adds
				    * the distribution's name */
};

EM_MUST_USE
int em_venv_layout(struct em_arena *a, const char *root, const struct em_platform *p,
		   const struct em_python *py, struct em_venv_layout *out, struct em_error *e);

/* What pyvenv.cfg and the activation scripts carry beyond the standard. */
struct em_venv_info {
	const char *prompt;    /* the workload's name: 1 to 64 letters, digits,
				* '-', '_', '.' (NULL: workload when it is such
				* a name, else the final root's last part) */
	const char *workload;
	const char *matrix;    /* absolute path of the matrix file */
	uint32_t nenv;
	const char *const *env_names;  /* env.NAME = VALUE of the workload: names
					* are letters, digits and '_', unique
					* ignoring case, not PATH, PYTHONHOME,
					* VIRTUAL_ENV, VIRTUAL_ENV_PROMPT, PS1,
					* PROMPT nor _EM_...; values any bytes,
					* but a Windows target's hold no control
					* character other than tab (cmd.exe
					* cannot set them: EM_EUNSUPPORTED) */
	const char *const *env_values;
};

/* Write a venv into staging (created, with missing parents; must not
 * exist) whose final place is final_root: folders, pyvenv.cfg (home,
 * include-system-site-packages = false, version, version_info, executable,
 * prompt, and envmatrix = EM_VERSION, envmatrix.workload,
 * envmatrix.matrix, one envmatrix.env.NAME = VALUE line per variable with
 * VALUE escaped as Activate.ps1 reads it: \\ \n \r \t, \xHH for other
 * control bytes, bytes that are not UTF-8 and a space at either end),
 * .gitignore ("*"), and
 *   POSIX: bin/pythonX.Y[t] -> base->executable, python and python3 (and
 *     pythonX.Y when free-threaded) -> pythonX.Y[t], lib/pythonX.Y[t]/
 *     site-packages, lib64 -> lib on 64-bit Linux, include/; scripts
 *     activate (bash, zsh, ksh, sh), activate.fish, Activate.ps1
 *   Windows: Scripts\python.exe and pythonw.exe copied from the launchers
 *     (free-threaded: also pythonX.Yt.exe, pythonwX.Yt.exe),
 *     Lib\site-packages, Include\; scripts activate (Git Bash),
 *     Activate.ps1, activate.bat, deactivate.bat (CRLF)
 * Each script sets VIRTUAL_ENV and the prompt, exports the workload's
 * variables, and restores everything on deactivate; Activate.ps1 derives
 * every path at run time and reads the rest from pyvenv.cfg, so one signed
 * copy serves every venv.
 * final_root must be absolute for the target (Windows: C:\..., \\server\...
 * or a rooted /... or \...) and is written exactly as given (less trailing
 * separators), joined with a backslash when it holds one and the target is
 * Windows, else with '/' (see em_venv_layout); base->home and
 * base->executable are written as they are. Paths and values holding
 * control characters are refused. On failure staging is left for the
 * caller to remove. */
EM_MUST_USE
int em_venv_create(struct em_arena *a, const char *staging, const char *final_root,
		   const struct em_platform *p, const struct em_base_python *base,
		   const struct em_venv_info *info, struct em_error *e);

/* ---- reading a venv (envmatrix's or not) ---- */

#define EM_VENV_CFG_MAX (1u << 16) /* bytes of pyvenv.cfg read */

/* The text of root's pyvenv.cfg, NUL-terminated in a; NULL when it cannot
 * be read (or is larger than EM_VENV_CFG_MAX). */
char *em_venv_cfg_load(struct em_arena *a, const char *root);

/* The value of key in pyvenv.cfg's text, read as site.py reads it: the
 * first line holding '=' whose part before it, stripped, is key (ignoring
 * ASCII case); the value stripped, copied into a. NULL when no line has
 * the key. */
const char *em_venv_cfg_get(struct em_arena *a, const char *text, const char *key);

/* The site-packages folders of the venv at root that exist (the first
 * EM_VENV_MAX_SITES): lib/NAME/site-packages for each NAME in lib/ that
 * starts with "python" (in the order the folder lists them), then
 * Lib/site-packages. */
#define EM_VENV_MAX_SITES 8
EM_MUST_USE
int em_venv_site_dirs(struct em_arena *a, const char *root,
		      const char *out[EM_VENV_MAX_SITES], size_t *n, struct em_error *e);

/* The first of em_venv_site_dirs; EM_ENOTFOUND (naming root) when there
 * is none. */
EM_MUST_USE
int em_venv_site_packages(struct em_arena *a, const char *root, const char **site,
			  struct em_error *e);

/* Whether an interpreter whose executable lies in exe_dir runs as a venv:
 * a pyvenv.cfg (a file) in exe_dir or in the folder above it (lexically),
 * where site.py looks. */
bool em_venv_holds(const char *exe_dir);

#endif
