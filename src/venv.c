/* venv.c - virtual environments: base interpreters, layouts, creation
 *
 * A venv is written into a staging folder on this machine but names its
 * final place everywhere (pyvenv.cfg, scripts). Paths on this machine are
 * joined with '/'. Paths as the target sees them (the layout of a final
 * root, the text of the files) are joined with '\' for a Windows target
 * whose root holds a backslash ("C:\envs\vlm\.venv\Scripts") and with '/'
 * otherwise; the root itself is written exactly as given, less trailing
 * separators, and so are the base interpreter's home and executable.
 */
#include "venv.h"
#include "envmatrix/version.h"
#include "util/buf.h"
#include "os/fs.h"
#include "util/str.h"

#include "activate.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define MAX_LAUNCHER (64u << 20) /* a venvlauncher.exe is about 250 kB */
#define MAX_PROMPT 64
#define MAX_ENV_NAME 128
#define MAX_ENV 256

/* ---- small helpers ---- */

static bool is_windows(const struct em_platform *p)
{
	return p->os == EM_OS_WINDOWS;
}

static char target_sep(const struct em_platform *p, const char *root)
{
	return is_windows(p) && strchr(root, '\\') ? '\\' : '/';
}

/* root without trailing separators ('/' and, for Windows, '\'), kept
 * whole when that would leave nothing or a bare drive ("C:\") */
static char *trim_root(struct em_arena *a, const char *root, bool windows)
{
	size_t n = strlen(root);
	size_t keep = 1;
	if (windows && n >= 3 && em_is_alpha((unsigned char)root[0]) && root[1] == ':')
		keep = 3;
	while (n > keep && (root[n - 1] == '/' || (windows && root[n - 1] == '\\')))
		n--;
	return em_arena_strndup(a, root, n);
}

/* dir + sep + rel, where rel's own '/' become sep */
static char *join(struct em_arena *a, const char *dir, char sep, const char *rel)
{
	size_t dl = strlen(dir), rl = strlen(rel);
	char *out = em_arena_alloc(a, dl + rl + 2);
	if (!out)
		return NULL;
	memcpy(out, dir, dl);
	size_t o = dl;
	if (o == 0 || (out[o - 1] != sep && out[o - 1] != '/'))
		out[o++] = sep;
	for (size_t i = 0; i < rl; i++)
		out[o++] = rel[i] == '/' ? sep : rel[i];
	out[o] = '\0';
	return out;
}

static bool is_file(const char *path)
{
	struct em_stat st;
	return em_os_stat(path, &st) == 0 && st.type == EM_FT_FILE;
}

/* "3.12" or "3.13t" */
static void short_version(const struct em_python *py, char *buf, size_t size)
{
	snprintf(buf, size, "%u.%u%s", py->major, py->minor, py->freethreaded ? "t" : "");
}

static bool ieq(const char *x, const char *y)
{
	return em_str_ieq(x, strlen(x), y);
}

/* ---- base interpreters ---- */

static int windows_launchers(struct em_arena *a, const char *home, const struct em_python *py,
			     struct em_base_python *out, struct em_error *e)
{
	char *nt = join(a, home, '/', "Lib/venv/scripts/nt");
	if (!nt)
		return em_err_nomem(e);
	/* 3.13+ ships venvlauncher.exe; older trees the same redirector named
	 * python.exe; a free-threaded tree venvlaunchert.exe */
	static const char *const console_ft[] = { "venvlaunchert.exe", NULL };
	static const char *const gui_ft[] = { "venvwlaunchert.exe", NULL };
	static const char *const console[] = { "venvlauncher.exe", "python.exe", NULL };
	static const char *const gui[] = { "venvwlauncher.exe", "pythonw.exe", NULL };
	const char *const *c = py->freethreaded ? console_ft : console;
	const char *const *g = py->freethreaded ? gui_ft : gui;
	for (size_t i = 0; c[i] && !out->launcher; i++) {
		char *path = join(a, nt, '/', c[i]);
		if (!path)
			return em_err_nomem(e);
		if (is_file(path))
			out->launcher = path;
	}
	for (size_t i = 0; g[i] && !out->wlauncher; i++) {
		char *path = join(a, nt, '/', g[i]);
		if (!path)
			return em_err_nomem(e);
		if (is_file(path))
			out->wlauncher = path;
	}
	if (out->launcher)
		return 0;
	if (py->freethreaded)
		return em_err(e, EM_ENOTFOUND, home,
			      "no venv launcher for a free-threaded Python: looked for "
			      "'Lib/venv/scripts/nt/venvlaunchert.exe'");
	return em_err(e, EM_ENOTFOUND, home,
		      "no venv launcher: looked for 'Lib/venv/scripts/nt/venvlauncher.exe' and "
		      "'Lib/venv/scripts/nt/python.exe' (a Python for Windows from python.org or "
		      "python-build-standalone has one)");
}

/* out cleared and path made absolute, after the check both ways of
 * describing a base interpreter make (none names what is missing) */
static int absolute_arg(struct em_arena *a, const char *path, const char *none,
			struct em_base_python *out, char **abs, struct em_error *e)
{
	memset(out, 0, sizeof *out);
	if (!path || !*path)
		return em_err(e, EM_EUSAGE, NULL, "%s", none);
	if (!(*abs = em_path_absolute(a, path)))
		return em_err_nomem(e);
	return 0;
}

int em_base_python_from_executable(struct em_arena *a, const char *executable,
				   const struct em_platform *p, const struct em_python *py,
				   struct em_base_python *out, struct em_error *e)
{
	char *exe;
	int rc = absolute_arg(a, executable, "no base interpreter given", out, &exe, e);
	if (rc)
		return rc;
	struct em_stat st;
	if (em_os_stat(exe, &st) != 0) {
		int err = errno;
		if (err == ENOENT || err == ENOTDIR)
			return em_err(e, EM_ENOTFOUND, exe, "no such base interpreter");
		return em_err_sys(e, err, exe, "cannot look at the base interpreter");
	}
	if (st.type != EM_FT_FILE)
		return em_err(e, EM_EINVAL, exe, "the base interpreter is not a file");
	if (!is_windows(p) && em_os_access(exe, EM_ACCESS_EXEC) != 0)
		return em_err(e, EM_EINVAL, exe, "the base interpreter is not executable");
	out->executable = exe;
	out->home = em_path_dir(a, exe);
	if (!out->home)
		return em_err_nomem(e);
	out->py = *py;
	out->os = p->os;
	if (is_windows(p))
		return windows_launchers(a, out->home, py, out, e);
	return 0;
}

int em_base_python_from_home(struct em_arena *a, const char *home, const struct em_platform *p,
			     const struct em_python *py, struct em_base_python *out,
			     struct em_error *e)
{
	char *abs;
	int rc = absolute_arg(a, home, "no Python installation folder given", out, &abs, e);
	if (rc)
		return rc;
	struct em_stat st;
	if (em_os_stat(abs, &st) != 0 || st.type != EM_FT_DIR)
		return em_err(e, EM_ENOTFOUND, abs, "no such Python installation folder");
	char ver[16], name[2][32];
	short_version(py, ver, sizeof ver);
	if (is_windows(p)) {
		/* a free-threaded tree may have no python.exe at all */
		snprintf(name[0], sizeof name[0], py->freethreaded ? "python%s.exe" : "python.exe",
			 ver);
		snprintf(name[1], sizeof name[1], "python.exe");
	} else {
		snprintf(name[0], sizeof name[0], "bin/python%s", ver);
		snprintf(name[1], sizeof name[1], "bin/python3");
	}
	int tries = strcmp(name[0], name[1]) ? 2 : 1;
	for (int i = 0; i < tries; i++) {
		char *exe = join(a, abs, '/', name[i]);
		if (!exe)
			return em_err_nomem(e);
		if (is_file(exe))
			return em_base_python_from_executable(a, exe, p, py, out, e);
	}
	if (tries == 1)
		return em_err(e, EM_ENOTFOUND, abs, "no Python %s interpreter: looked for '%s'", ver,
			      name[0]);
	return em_err(e, EM_ENOTFOUND, abs, "no Python %s interpreter: looked for '%s' and '%s'",
		      ver, name[0], name[1]);
}

/* ---- layout ---- */

static int layout(struct em_arena *a, const char *root, char sep, bool win,
		  const struct em_python *py, struct em_venv_layout *out, struct em_error *e)
{
	char ver[16], site[48], inc[48];
	short_version(py, ver, sizeof ver);
	snprintf(site, sizeof site, "lib/python%s/site-packages", ver);
	snprintf(inc, sizeof inc, "include/site/python%s", ver);
	out->root = trim_root(a, root, win);
	if (!out->root)
		return em_err_nomem(e);
	out->bin = join(a, out->root, sep, win ? "Scripts" : "bin");
	out->python = out->bin ? join(a, out->bin, sep, win ? "python.exe" : "python") : NULL;
	out->site_packages = join(a, out->root, sep, win ? "Lib/site-packages" : site);
	out->include = join(a, out->root, sep, win ? "Include" : inc);
	if (!out->bin || !out->python || !out->site_packages || !out->include)
		return em_err_nomem(e);
	out->scheme.purelib = out->site_packages;
	out->scheme.platlib = out->site_packages;
	out->scheme.scripts = out->bin;
	out->scheme.headers = out->include;
	out->scheme.data = out->root;
	return 0;
}

int em_venv_layout(struct em_arena *a, const char *root, const struct em_platform *p,
		   const struct em_python *py, struct em_venv_layout *out, struct em_error *e)
{
	memset(out, 0, sizeof *out);
	if (!root || !*root)
		return em_err(e, EM_EUSAGE, NULL, "no venv folder given");
	return layout(a, root, target_sep(p, root), is_windows(p), py, out, e);
}

/* ---- checks ---- */

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

static bool target_absolute(const struct em_platform *p, const char *s)
{
	if (s[0] == '/')
		return true;
	if (!is_windows(p))
		return false;
	return s[0] == '\\' ||
	       (em_is_alpha((unsigned char)s[0]) && s[1] == ':' && (s[2] == '\\' || s[2] == '/'));
}

static int check_target_path(const struct em_platform *p, const char *what, const char *s,
			     struct em_error *e)
{
	char q[256];
	if (!s || !*s)
		return em_err(e, EM_EUSAGE, NULL, "no %s given", what);
	if (has_control(s))
		return em_err(e, EM_EINVAL, NULL, "the %s '%s' holds a control character", what,
			      em_quote(q, sizeof q, s, strlen(s)));
	if (!target_absolute(p, s))
		return em_err(e, EM_EINVAL, NULL, "the %s '%s' is not an absolute path%s", what, s,
			      is_windows(p) ? " (for Windows: C:\\..., \\\\server\\share\\... or /...)"
					    : "");
	if (is_windows(p) && strpbrk(s, "\"<>|?*"))
		return em_err(e, EM_EINVAL, NULL,
			      "the %s '%s' holds a character Windows does not allow in a path "
			      "(one of \" < > | ? *)", what, s);
	return 0;
}

static bool prompt_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > MAX_PROMPT)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!em_is_alnum(c) && c != '-' && c != '_' && c != '.')
			return false;
	}
	return true;
}

/* The final root's last part with what a prompt cannot hold made '_'. */
static char *default_prompt(struct em_arena *a, const char *root)
{
	const char *base = root;
	for (const char *s = root; *s; s++)
		if ((*s == '/' || *s == '\\') && s[1])
			base = s + 1;
	size_t n = strcspn(base, "/\\");
	if (n > MAX_PROMPT)
		n = MAX_PROMPT;
	char *out = em_arena_strndup(a, base, n);
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (!em_is_alnum((unsigned char)out[i]) && out[i] != '-' && out[i] != '.')
			out[i] = '_';
	if (n == 0)
		return em_arena_strdup(a, "venv");
	return out;
}

static int check_env(const struct em_platform *p, const struct em_venv_info *info,
		     struct em_error *e)
{
	char q[128];
	if (info->nenv > MAX_ENV)
		return em_err(e, EM_ELIMIT, NULL, "more than %d environment variables", MAX_ENV);
	if (info->nenv && (!info->env_names || !info->env_values))
		return em_err(e, EM_EUSAGE, NULL, "environment variables without names or values");
	for (uint32_t i = 0; i < info->nenv; i++) {
		const char *n = info->env_names[i];
		const char *v = info->env_values[i];
		if (!n || !v)
			return em_err(e, EM_EUSAGE, NULL, "environment variable %u has no name or value",
				      i + 1);
		size_t nl = strlen(n);
		bool ok = nl > 0 && nl <= MAX_ENV_NAME && !em_is_digit((unsigned char)n[0]);
		for (size_t k = 0; ok && k < nl; k++)
			ok = em_is_alnum((unsigned char)n[k]) || n[k] == '_';
		if (!ok)
			return em_err(e, EM_EINVAL, NULL,
				      "invalid environment variable name '%s': a name is letters, "
				      "digits and '_', not starting with a digit",
				      em_quote(q, sizeof q, n, nl));
		for (size_t k = 0; em_activate_reserved[k]; k++)
			if (ieq(n, em_activate_reserved[k]))
				return em_err(e, EM_EINVAL, NULL,
					      "env.%s: the activation scripts set %s themselves", n,
					      em_activate_reserved[k]);
		if (nl >= 4 && em_str_ieq(n, 4, "_EM_"))
			return em_err(e, EM_EINVAL, NULL,
				      "env.%s: names starting with '_EM_' are the activation "
				      "scripts' own", n);
		for (uint32_t k = 0; k < i; k++)
			if (ieq(n, info->env_names[k]))
				return em_err(e, EM_EINVAL, NULL,
					      "env.%s is given twice (names are compared ignoring "
					      "case, as on Windows)", n);
		if (is_windows(p)) {
			for (const char *s = v; *s; s++) {
				unsigned char c = (unsigned char)*s;
				if ((c < 0x20 && c != '\t') || c == 0x7f)
					return em_err(e, EM_EUNSUPPORTED, NULL,
						      "env.%s: activate.bat cannot set a value holding "
						      "a %s (byte 0x%02X)", n,
						      c == '\n' || c == '\r' ? "line break"
									  : "control character", c);
			}
		}
	}
	return 0;
}

/* ---- writing ---- */

static int make_dir(const char *path, struct em_error *e)
{
	if (em_os_mkdir(path, 0755) != 0)
		return em_err_sys(e, errno, path, "cannot create the folder");
	return 0;
}

static int write_buf(const char *path, struct em_buf *b, unsigned mode, struct em_error *e)
{
	if (b->err)
		return b->err == EM_ENOMEM ? em_err_nomem(e)
					   : em_err(e, b->err, path, "the file would be too large");
	return em_write_file_atomic(path, b->ptr, b->len, mode, e);
}

/* the buffer's LF line ends as CRLF */
static void to_crlf(struct em_buf *b)
{
	struct em_buf t = EM_BUF_INIT;
	for (size_t i = 0; i < b->len; i++) {
		if (b->ptr[i] == '\n' && (i == 0 || b->ptr[i - 1] != '\r'))
			em_buf_addc(&t, '\r');
		em_buf_addc(&t, b->ptr[i]);
	}
	if (t.err) {
		if (!b->err)
			b->err = t.err;
		em_buf_release(&t);
		return;
	}
	em_buf_release(b);
	*b = t;
}

static int make_symlink(const char *target, const char *path, struct em_error *e)
{
	if (em_os_symlink(target, path) != 0)
		return em_err_sys(e, errno, path, "cannot create the symbolic link");
	return 0;
}

static int copy_file(struct em_arena *a, const char *src, const char *dst, struct em_error *e)
{
	struct em_arena_mark m = em_arena_mark(a);
	char *data;
	size_t len;
	int rc = em_read_file(a, src, MAX_LAUNCHER, &data, &len, e);
	if (!rc)
		rc = em_write_file_atomic(dst, data, len, 0755, e);
	em_arena_rewind(a, m);
	return rc;
}

static void cfg_line(struct em_buf *b, const char *key, const char *value)
{
	em_buf_addf(b, "%s = ", key);
	em_activate_cfg_escape(b, value);
	em_buf_addc(b, '\n');
}

static void write_cfg(struct em_buf *b, const char *home, const char *executable,
		      const struct em_python *py, const char *prompt,
		      const struct em_venv_info *info)
{
	/* home, include-system-site-packages and executable are read by the
	 * interpreter and site.py: raw (they hold no control character) */
	char ver[32];
	if (py->has_micro)
		snprintf(ver, sizeof ver, "%u.%u.%u", py->major, py->minor, py->micro);
	else
		snprintf(ver, sizeof ver, "%u.%u", py->major, py->minor);
	em_buf_addf(b,
		    "home = %s\n"
		    "include-system-site-packages = false\n"
		    "version = %s\n"
		    "version_info = %s%s\n"
		    "executable = %s\n"
		    "prompt = %s\n"
		    "envmatrix = %s\n",
		    home, ver, ver, py->pre, executable, prompt, EM_VERSION);
	if (info && info->workload)
		cfg_line(b, "envmatrix.workload", info->workload);
	if (info && info->matrix)
		cfg_line(b, "envmatrix.matrix", info->matrix);
	for (uint32_t i = 0; info && i < info->nenv; i++) {
		em_buf_addf(b, "envmatrix.env.%s = ", info->env_names[i]);
		em_activate_cfg_escape(b, info->env_values[i]);
		em_buf_addc(b, '\n');
	}
}

/* 64-bit Linux gets lib64 -> lib, as CPython's venv makes it */
static bool wants_lib64(const struct em_platform *p)
{
	if (p->os != EM_OS_LINUX)
		return false;
	return p->arch == EM_ARCH_X86_64 || p->arch == EM_ARCH_AARCH64 ||
	       p->arch == EM_ARCH_PPC64LE || p->arch == EM_ARCH_S390X ||
	       p->arch == EM_ARCH_RISCV64;
}

struct creation {
	struct em_arena *a;
	const char *staging;
	const struct em_platform *p;
	const struct em_base_python *base;
	struct em_venv_layout disk;  /* in staging, '/' */
	struct em_activate act;
	struct em_error *e;
};

static char *in_staging(struct creation *c, const char *rel)
{
	return join(c->a, c->staging, '/', rel);
}

/* The layout's top folders (relative to the staging root), then
 * site-packages. */
static int make_layout(struct creation *c, const char *const *dirs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char *d = in_staging(c, dirs[i]);
		if (!d)
			return em_err_nomem(c->e);
		int rc = make_dir(d, c->e);
		if (rc)
			return rc;
	}
	return make_dir(c->disk.site_packages, c->e);
}

static int write_script(struct creation *c, const char *dir, const char *name,
			void (*gen)(struct em_buf *, const struct em_activate *), bool crlf)
{
	struct em_buf b = EM_BUF_INIT;
	gen(&b, &c->act);
	if (crlf)
		to_crlf(&b);
	char *path = join(c->a, dir, '/', name);
	int rc = path ? write_buf(path, &b, 0644, c->e) : em_err_nomem(c->e);
	em_buf_release(&b);
	return rc;
}

static void gen_ps1(struct em_buf *b, const struct em_activate *c)
{
	(void)c;
	em_buf_addstr(b, em_activate_ps1);
}

static void gen_deactivate_bat(struct em_buf *b, const struct em_activate *c)
{
	(void)c;
	em_deactivate_bat(b);
}

static int create_posix(struct creation *c)
{
	const struct em_python *py = &c->base->py;
	char ver[16], rel[64];
	short_version(py, ver, sizeof ver);
	int rc;
	snprintf(rel, sizeof rel, "lib/python%s", ver);
	const char *dirs[] = { "bin", "include", "lib", rel };
	if ((rc = make_layout(c, dirs, sizeof dirs / sizeof dirs[0])))
		return rc;
	if (wants_lib64(c->p)) {
		char *l = in_staging(c, "lib64");
		if (!l)
			return em_err_nomem(c->e);
		if ((rc = make_symlink("lib", l, c->e)))
			return rc;
	}
	/* bin/pythonX.Y[t] -> the base interpreter; python, python3 (and
	 * pythonX.Y for a free-threaded build) -> bin/pythonX.Y[t] */
	char main_name[32];
	snprintf(main_name, sizeof main_name, "python%s", ver);
	char *main_link = join(c->a, c->disk.bin, '/', main_name);
	if (!main_link)
		return em_err_nomem(c->e);
	if ((rc = make_symlink(c->base->executable, main_link, c->e)))
		return rc;
	char plain[32];
	snprintf(plain, sizeof plain, "python%u.%u", py->major, py->minor);
	const char *others[] = { "python", "python3", py->freethreaded ? plain : NULL };
	for (size_t i = 0; i < 3; i++) {
		if (!others[i])
			continue;
		char *l = join(c->a, c->disk.bin, '/', others[i]);
		if (!l)
			return em_err_nomem(c->e);
		if ((rc = make_symlink(main_name, l, c->e)))
			return rc;
	}
	if ((rc = write_script(c, c->disk.bin, "activate", em_activate_sh, false)) ||
	    (rc = write_script(c, c->disk.bin, "activate.fish", em_activate_fish, false)) ||
	    (rc = write_script(c, c->disk.bin, "Activate.ps1", gen_ps1, false)))
		return rc;
	return 0;
}

static int create_windows(struct creation *c)
{
	const struct em_python *py = &c->base->py;
	int rc;
	const char *dirs[] = { "Scripts", "Include", "Lib" };
	if ((rc = make_layout(c, dirs, sizeof dirs / sizeof dirs[0])))
		return rc;
	/* the launchers read pyvenv.cfg's home and start the base
	 * interpreter; a free-threaded venv also has python3.13t.exe */
	char ft[32], ftw[32];
	snprintf(ft, sizeof ft, "python%u.%ut.exe", py->major, py->minor);
	snprintf(ftw, sizeof ftw, "pythonw%u.%ut.exe", py->major, py->minor);
	struct {
		const char *src, *name;
	} copies[] = {
		{ c->base->launcher, "python.exe" },
		{ c->base->wlauncher, "pythonw.exe" },
		{ py->freethreaded ? c->base->launcher : NULL, ft },
		{ py->freethreaded ? c->base->wlauncher : NULL, ftw },
	};
	for (size_t i = 0; i < sizeof copies / sizeof copies[0]; i++) {
		if (!copies[i].src)
			continue;
		char *dst = join(c->a, c->disk.bin, '/', copies[i].name);
		if (!dst)
			return em_err_nomem(c->e);
		if ((rc = copy_file(c->a, copies[i].src, dst, c->e)))
			return rc;
	}
	if ((rc = write_script(c, c->disk.bin, "activate", em_activate_sh, false)) ||
	    (rc = write_script(c, c->disk.bin, "Activate.ps1", gen_ps1, false)) ||
	    (rc = write_script(c, c->disk.bin, "activate.bat", em_activate_bat, true)) ||
	    (rc = write_script(c, c->disk.bin, "deactivate.bat", gen_deactivate_bat, true)))
		return rc;
	return 0;
}

int em_venv_create(struct em_arena *a, const char *staging, const char *final_root,
		   const struct em_platform *p, const struct em_base_python *base,
		   const struct em_venv_info *info, struct em_error *e)
{
	int rc;
	if (!staging || !*staging)
		return em_err(e, EM_EUSAGE, NULL, "no staging folder given");
	if (!p || !base)
		return em_err(e, EM_EUSAGE, NULL, "no platform or base interpreter given");
	if ((rc = check_target_path(p, "venv path", final_root, e)))
		return rc;
	if (base->os != p->os)
		return em_err(e, EM_EUSAGE, NULL,
			      "the base interpreter is for another operating system than the target");
	bool win = is_windows(p);
	if (!base->home || !base->executable)
		return em_err(e, EM_EUSAGE, NULL, "the base interpreter has no home or executable");
	if ((rc = check_target_path(p, "base interpreter folder", base->home, e)) ||
	    (rc = check_target_path(p, "base interpreter", base->executable, e)))
		return rc;
	if (win && !base->launcher)
		return em_err(e, EM_EUSAGE, NULL, "the base interpreter has no venv launcher");
	const char *prompt = info && info->prompt ? info->prompt : NULL;
	if (prompt && !prompt_valid(prompt)) {
		char q[128];
		return em_err(e, EM_EINVAL, NULL,
			      "invalid prompt '%s': a prompt is 1 to %d letters, digits, '-', '_' "
			      "and '.'", em_quote(q, sizeof q, prompt, strlen(prompt)), MAX_PROMPT);
	}
	if (info && (rc = check_env(p, info, e)))
		return rc;

	struct creation c = { .a = a, .p = p, .base = base, .e = e };
	c.staging = trim_root(a, staging, false);
	if (!c.staging)
		return em_err_nomem(e);
	/* on this machine: '/' whatever the target */
	if ((rc = layout(a, c.staging, '/', win, &base->py, &c.disk, e)))
		return rc;
	struct em_venv_layout fin;
	if ((rc = em_venv_layout(a, final_root, p, &base->py, &fin, e)))
		return rc;
	if (!prompt && info && info->workload && prompt_valid(info->workload))
		prompt = info->workload;
	if (!prompt && !(prompt = default_prompt(a, fin.root)))
		return em_err_nomem(e);

	c.act.os = p->os;
	c.act.venv = fin.root;
	c.act.sep = target_sep(p, fin.root);
	c.act.bin = win ? "Scripts" : "bin";
	c.act.prompt = prompt;
	if (info) {
		c.act.nenv = info->nenv;
		c.act.names = info->env_names;
		c.act.values = info->env_values;
	}

	/* the staging folder itself: new, its parent made when missing */
	char *parent = em_path_dir(a, c.staging);
	if (!parent)
		return em_err_nomem(e);
	if ((rc = em_mkdir_p(parent, e)))
		return rc;
	if (em_os_mkdir(c.staging, 0755) != 0) {
		if (errno == EEXIST)
			return em_err(e, EM_EUSAGE, c.staging, "the staging folder already exists");
		return em_err_sys(e, errno, c.staging, "cannot create the staging folder");
	}

	if ((rc = win ? create_windows(&c) : create_posix(&c)))
		return rc;

	struct em_buf b = EM_BUF_INIT;
	write_cfg(&b, base->home, base->executable, &base->py, prompt, info);
	char *cfg = in_staging(&c, "pyvenv.cfg");
	rc = cfg ? write_buf(cfg, &b, 0644, e) : em_err_nomem(e);
	em_buf_release(&b);
	if (rc)
		return rc;
	static const char gitignore[] = "# written by envmatrix: keep this environment out of git\n*\n";
	char *gi = in_staging(&c, ".gitignore");
	if (!gi)
		return em_err_nomem(e);
	return em_write_file_atomic(gi, gitignore, sizeof gitignore - 1, 0644, e);
}

/* ---- reading a venv (envmatrix's or not) ---- */

char *em_venv_cfg_load(struct em_arena *a, const char *root)
{
	char *path = em_arena_printf(a, "%s/pyvenv.cfg", root);
	char *text;
	size_t len;
	if (!path || em_read_file(a, path, EM_VENV_CFG_MAX, &text, &len, NULL))
		return NULL;
	return text;
}

const char *em_venv_cfg_get(struct em_arena *a, const char *text, const char *key)
{
	const char *s = text;
	while (*s) {
		const char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) : strlen(s);
		struct em_str line = em_str_strip(em_str_make(s, n));
		const char *eq = memchr(line.p, '=', line.n);
		if (eq) {
			struct em_str k = em_str_strip(em_str_make(line.p, (size_t)(eq - line.p)));
			struct em_str v = em_str_strip(
				em_str_make(eq + 1, line.n - (size_t)(eq + 1 - line.p)));
			if (em_str_ieq(k.p, k.n, key))
				return em_arena_strndup(a, v.p, v.n);
		}
		s += n + (nl ? 1 : 0);
	}
	return NULL;
}

/* Add dir to the list when it is a folder and there is room. */
static int add_site(char *dir, const char **out, size_t *n)
{
	struct em_stat st;
	if (!dir)
		return EM_ENOMEM;
	if (*n < EM_VENV_MAX_SITES && em_os_stat(dir, &st) == 0 && st.type == EM_FT_DIR)
		out[(*n)++] = dir;
	return 0;
}

int em_venv_site_dirs(struct em_arena *a, const char *root,
		      const char *out[EM_VENV_MAX_SITES], size_t *n, struct em_error *e)
{
	*n = 0;
	int rc = 0;
	char *lib = em_arena_printf(a, "%s/lib", root);
	if (!lib)
		return em_err_nomem(e);
	struct em_dirlist *l = em_dirlist_open(lib);
	const char *name;
	while (!rc && l && (name = em_dirlist_next(l)))
		if (!strncmp(name, "python", 6))
			rc = add_site(em_arena_printf(a, "%s/%s/site-packages", lib, name), out, n);
	em_dirlist_close(l);
	if (!rc)
		rc = add_site(em_arena_printf(a, "%s/Lib/site-packages", root), out, n);
	return rc ? em_err_nomem(e) : 0;
}

int em_venv_site_packages(struct em_arena *a, const char *root, const char **site,
			  struct em_error *e)
{
	const char *v[EM_VENV_MAX_SITES];
	size_t n;
	*site = NULL;
	int rc = em_venv_site_dirs(a, root, v, &n, e);
	if (rc)
		return rc;
	if (!n)
		return em_err(e, EM_ENOTFOUND, root,
			      "no site-packages folder (lib/pythonX.Y/site-packages or "
			      "Lib/site-packages); is it a virtual environment?");
	*site = v[0];
	return 0;
}

bool em_venv_holds(const char *exe_dir)
{
	struct em_arena a;
	em_arena_init(&a);
	char *up = em_path_dir(&a, exe_dir);
	const char *dirs[2] = { exe_dir, up };
	bool found = false;
	for (int i = 0; i < 2 && !found && dirs[i]; i++) {
		char *cfg = em_arena_printf(&a, "%s/pyvenv.cfg", dirs[i]);
		struct em_stat st;
		found = cfg && em_os_stat(cfg, &st) == 0 && st.type == EM_FT_FILE;
	}
	em_arena_release(&a);
	return found;
}
