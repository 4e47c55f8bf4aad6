/* test_venv.c - venvs written by envmatrix (venv.h)
 *
 * Layouts for Linux (x86_64, aarch64), macOS, Windows and free-threaded
 * builds; em_venv_create into a temporary staging folder whose final root
 * is elsewhere (no file may name the staging folder); pyvenv.cfg and the
 * escaping of the workload's variables; symlink targets; a fake Windows
 * Python tree (launchers copied byte for byte, CRLF .bat files); errors;
 * and real interpreters: every CPython the machine has (PATH and pyenv)
 * gets a venv whose python reports sys.prefix = the venv, the right
 * version and our site-packages.
 */
#include "testutil.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "envmatrix/envmatrix.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/str.h"
#include "spec/name.h"
#include "spec/pep440.h"
#include "spec/pep508.h"
#include "spec/target.h"
#include "spec/tags.h"
#include "spec/metadata.h"
#include "host.h"
#include "util/sha256.h"
#include "os/fs.h"
#include "archive.h"
#include "spec/index.h"
#include "source.h"
#include "os/proc.h"
#include "interp.h"
#include "spec/matrix.h"
#include "spec/lock.h"
#include "lockname.h"
#include "spec/candidates.h"
#include "spec/resolve.h"
#include "gpu.h"
#include "plan.h"
#include "install.h"
#include "venv.h"
#include "http.h"
#include "cache.h"
#include "install_set.h"
#include "swap.h"
#include "apply_lock.h"
#include "apply.h"
#include "mirror.h"
#include "doctor.h"
#include "verify.h"
#include "history.h"
#include "rev.h"
#include "os/fs.h"
#include "interp.h"
#include "os/proc.h"
#include "venv.h"

/* ---- helpers ---- */

struct fx {
	char dir[PATH_MAX];
	struct em_arena a;
	struct em_error e;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof *f);
	if (!f)
		return -1;
	snprintf(f->dir, sizeof f->dir, "%s/envmatrix-venv.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	em_arena_init(&f->a);
	em_error_clear(&f->e);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	em_remove_tree(f->dir, NULL);
	em_arena_release(&f->a);
	free(f);
	return 0;
}

static const char *P(struct fx *f, const char *rel)
{
	return em_arena_printf(&f->a, "%s/%s", f->dir, rel);
}

static void put(const char *path, const char *data, unsigned mode)
{
	char *dir = strdup(path);
	assert_non_null(dir);
	char *slash = strrchr(dir, '/');
	*slash = '\0';
	struct em_error e;
	assert_int_equal(em_mkdir_p(dir, &e), 0);
	free(dir);
	assert_int_equal(em_write_file_atomic(path, data, strlen(data), mode, &e), 0);
}

static char *slurp(const char *path)
{
	size_t len;
	char *s = tu_read_file(path, &len);
	if (!s)
		fail_msg("cannot read '%s'", path);
	return s;
}

static void assert_link(const char *path, const char *target)
{
	char buf[PATH_MAX];
	ssize_t n = readlink(path, buf, sizeof buf - 1);
	if (n < 0)
		fail_msg("'%s' is not a symbolic link: %s", path, strerror(errno));
	buf[n] = '\0';
	assert_string_equal(buf, target);
}

static bool is_dir(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static unsigned mode_of(const char *path)
{
	struct stat st;
	assert_int_equal(lstat(path, &st), 0);
	return st.st_mode & 07777;
}

static void platform(const char *name, struct em_platform *p)
{
	struct em_error e;
	assert_int_equal(em_platform_parse(name, p, &e), 0);
}

static void python(const char *ver, struct em_python *py)
{
	struct em_error e;
	assert_int_equal(em_python_parse(ver, py, &e), 0);
}

/* Every file under root: none may name the staging folder (nor may a
 * symbolic link point into it). */
static const char *walk_forbidden;
static unsigned walk_files, walk_bad;

static int walk_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_SL) {
		char buf[PATH_MAX];
		ssize_t n = readlink(path, buf, sizeof buf - 1);
		if (n >= 0) {
			buf[n] = '\0';
			if (strstr(buf, walk_forbidden)) {
				print_error("link '%s' points into the staging folder\n", path);
				walk_bad++;
			}
		}
	} else if (flag == FTW_F) {
		size_t len;
		char *s = tu_read_file(path, &len);
		if (s && memmem(s, len, walk_forbidden, strlen(walk_forbidden))) {
			print_error("'%s' names the staging folder\n", path);
			walk_bad++;
		}
		free(s);
		walk_files++;
	}
	return 0;
}

static unsigned assert_no_staging(const char *root, const char *staging)
{
	walk_forbidden = staging;
	walk_files = walk_bad = 0;
	assert_int_equal(nftw(root, walk_one, 16, FTW_PHYS), 0);
	assert_int_equal(walk_bad, 0);
	return walk_files;
}

static bool contains(const char *hay, const char *needle)
{
	return strstr(hay, needle) != NULL;
}

/* every LF preceded by CR, and at least one line */
static bool all_crlf(const char *s)
{
	size_t lines = 0;
	for (size_t i = 0; s[i]; i++) {
		if (s[i] == '\n') {
			if (i == 0 || s[i - 1] != '\r')
				return false;
			lines++;
		} else if (s[i] == '\r' && s[i + 1] != '\n') {
			return false;
		}
	}
	return lines > 0;
}

/* The escaping of pyvenv.cfg values, decoded as Activate.ps1 does (bytes
 * here: \xHH is byte HH). */
static size_t cfg_decode(const char *s, char *out)
{
	size_t o = 0;
	for (; *s; s++) {
		if (*s != '\\') {
			out[o++] = *s;
			continue;
		}
		s++;
		if (*s == 'n')
			out[o++] = '\n';
		else if (*s == 'r')
			out[o++] = '\r';
		else if (*s == 't')
			out[o++] = '\t';
		else if (*s == 'x') {
			char hex[3] = { s[1], s[2], 0 };
			out[o++] = (char)strtoul(hex, NULL, 16);
			s += 2;
		} else
			out[o++] = *s;
	}
	out[o] = '\0';
	return o;
}

/* the value of key in pyvenv.cfg text (a copy; NULL when absent) */
static char *cfg_value(const char *cfg, const char *key)
{
	size_t kl = strlen(key);
	for (const char *line = cfg; *line;) {
		const char *end = strchr(line, '\n');
		size_t n = end ? (size_t)(end - line) : strlen(line);
		if (n >= kl + 3 && !memcmp(line, key, kl) && !memcmp(line + kl, " = ", 3))
			return strndup(line + kl + 3, n - kl - 3);
		line += n + (end ? 1 : 0);
	}
	return NULL;
}

/* A fake POSIX Python installation: home/bin/NAME, executable. */
static const char *fake_posix_home(struct fx *f, const char *rel, const char *exe)
{
	const char *home = P(f, rel);
	put(em_arena_printf(&f->a, "%s/bin/%s", home, exe), "#!/bin/sh\nexit 0\n", 0755);
	return home;
}

/* A fake Windows Python tree. */
static const char *fake_windows_home(struct fx *f, const char *rel, const char *const *files)
{
	const char *home = P(f, rel);
	for (size_t i = 0; files[i]; i++)
		put(em_arena_printf(&f->a, "%s/%s", home, files[i]),
		    em_arena_printf(&f->a, "MZ fake %s \001\377", files[i]), 0644);
	return home;
}

/* ---- layouts ---- */

static void test_layout_posix(void **state)
{
	struct fx *f = *state;
	struct em_platform p;
	struct em_python py;
	struct em_venv_layout l;
	const char *plats[] = { "linux-x86_64", "linux-aarch64", "macos-arm64" };
	for (size_t i = 0; i < 3; i++) {
		platform(plats[i], &p);
		python("3.12.4", &py);
		assert_int_equal(em_venv_layout(&f->a, "/srv/w/.venv//", &p, &py, &l, &f->e), 0);
		assert_string_equal(l.root, "/srv/w/.venv");
		assert_string_equal(l.bin, "/srv/w/.venv/bin");
		assert_string_equal(l.python, "/srv/w/.venv/bin/python");
		assert_string_equal(l.site_packages, "/srv/w/.venv/lib/python3.12/site-packages");
		assert_string_equal(l.include, "/srv/w/.venv/include/site/python3.12");
		assert_string_equal(l.scheme.purelib, l.site_packages);
		assert_string_equal(l.scheme.platlib, l.site_packages);
		assert_string_equal(l.scheme.scripts, l.bin);
		assert_string_equal(l.scheme.headers, l.include);
		assert_string_equal(l.scheme.data, l.root);
	}
	platform("linux-x86_64", &p);
	python("3.13.1t", &py);
	assert_int_equal(em_venv_layout(&f->a, "/v", &p, &py, &l, &f->e), 0);
	assert_string_equal(l.site_packages, "/v/lib/python3.13t/site-packages");
	assert_string_equal(l.include, "/v/include/site/python3.13t");
	/* a backslash is an ordinary character on POSIX */
	python("3.11", &py);
	assert_int_equal(em_venv_layout(&f->a, "/a\\b", &p, &py, &l, &f->e), 0);
	assert_string_equal(l.bin, "/a\\b/bin");
	assert_int_equal(em_venv_layout(&f->a, "", &p, &py, &l, &f->e), EM_EUSAGE);
}

static void test_layout_windows(void **state)
{
	struct fx *f = *state;
	struct em_platform p;
	struct em_python py;
	struct em_venv_layout l;
	platform("windows-x86_64", &p);
	python("3.12.4", &py);
	assert_int_equal(em_venv_layout(&f->a, "C:\\envs\\vlm\\.venv\\", &p, &py, &l, &f->e), 0);
	assert_string_equal(l.root, "C:\\envs\\vlm\\.venv");
	assert_string_equal(l.bin, "C:\\envs\\vlm\\.venv\\Scripts");
	assert_string_equal(l.python, "C:\\envs\\vlm\\.venv\\Scripts\\python.exe");
	assert_string_equal(l.site_packages, "C:\\envs\\vlm\\.venv\\Lib\\site-packages");
	assert_string_equal(l.include, "C:\\envs\\vlm\\.venv\\Include");
	assert_string_equal(l.scheme.scripts, l.bin);
	/* a folder on this machine (a staging folder) */
	assert_int_equal(em_venv_layout(&f->a, "/tmp/stage/", &p, &py, &l, &f->e), 0);
	assert_string_equal(l.python, "/tmp/stage/Scripts/python.exe");
	assert_string_equal(l.site_packages, "/tmp/stage/Lib/site-packages");
	/* a drive root keeps its separator; free-threaded changes nothing */
	python("3.13.0t", &py);
	assert_int_equal(em_venv_layout(&f->a, "D:\\", &p, &py, &l, &f->e), 0);
	assert_string_equal(l.root, "D:\\");
	assert_string_equal(l.bin, "D:\\Scripts");
	assert_string_equal(l.site_packages, "D:\\Lib\\site-packages");
}

/* ---- base interpreters ---- */

static void test_base_posix(void **state)
{
	struct fx *f = *state;
	struct em_platform p;
	struct em_python py;
	struct em_base_python b;
	platform("linux-x86_64", &p);
	python("3.12.4", &py);
	const char *home = fake_posix_home(f, "py312", "python3.12");
	assert_int_equal(em_base_python_from_home(&f->a, home, &p, &py, &b, &f->e), 0);
	assert_string_equal(b.executable, em_arena_printf(&f->a, "%s/bin/python3.12", home));
	assert_string_equal(b.home, em_arena_printf(&f->a, "%s/bin", home));
	assert_int_equal(b.py.minor, 12);
	assert_int_equal(b.os, EM_OS_LINUX);
	assert_null(b.launcher);

	/* only python3 */
	home = fake_posix_home(f, "py3only", "python3");
	assert_int_equal(em_base_python_from_home(&f->a, home, &p, &py, &b, &f->e), 0);
	assert_string_equal(b.executable, em_arena_printf(&f->a, "%s/bin/python3", home));

	/* free-threaded */
	python("3.13.1t", &py);
	home = fake_posix_home(f, "py313t", "python3.13t");
	assert_int_equal(em_base_python_from_home(&f->a, home, &p, &py, &b, &f->e), 0);
	assert_string_equal(b.executable, em_arena_printf(&f->a, "%s/bin/python3.13t", home));

	/* missing: names what was looked for */
	python("3.12.4", &py);
	mkdir(P(f, "empty"), 0755);
	assert_int_equal(em_base_python_from_home(&f->a, P(f, "empty"), &p, &py, &b, &f->e),
			 EM_ENOTFOUND);
	assert_true(contains(f->e.msg, "'bin/python3.12'"));
	assert_true(contains(f->e.msg, "'bin/python3'"));
	assert_true(contains(f->e.msg, "no Python 3.12 interpreter"));
	assert_string_equal(f->e.where, P(f, "empty"));
	assert_int_equal(em_base_python_from_home(&f->a, P(f, "nowhere"), &p, &py, &b, &f->e),
			 EM_ENOTFOUND);
	assert_string_equal(f->e.where, P(f, "nowhere"));
	assert_string_equal(f->e.msg, "no such Python installation folder");
	assert_int_equal(em_base_python_from_executable(&f->a, P(f, "nowhere/python"), &p, &py, &b,
							&f->e),
			 EM_ENOTFOUND);
	assert_string_equal(f->e.where, P(f, "nowhere/python"));
	/* not executable */
	put(P(f, "noexec/bin/python3.12"), "x", 0644);
	assert_int_equal(em_base_python_from_home(&f->a, P(f, "noexec"), &p, &py, &b, &f->e),
			 EM_EINVAL);
	assert_true(contains(f->e.msg, "not executable"));
}

static void test_base_windows(void **state)
{
	struct fx *f = *state;
	struct em_platform p;
	struct em_python py;
	struct em_base_python b;
	platform("windows-x86_64", &p);
	python("3.13.1", &py);
	const char *modern[] = { "python.exe", "Lib/venv/scripts/nt/venvlauncher.exe",
				 "Lib/venv/scripts/nt/venvwlauncher.exe", NULL };
	const char *home = fake_windows_home(f, "win313", modern);
	assert_int_equal(em_base_python_from_home(&f->a, home, &p, &py, &b, &f->e), 0);
	assert_string_equal(b.executable, em_arena_printf(&f->a, "%s/python.exe", home));
	assert_string_equal(b.home, home);
	assert_string_equal(b.launcher,
			    em_arena_printf(&f->a, "%s/Lib/venv/scripts/nt/venvlauncher.exe", home));
	assert_string_equal(b.wlauncher,
			    em_arena_printf(&f->a, "%s/Lib/venv/scripts/nt/venvwlauncher.exe", home));
	assert_int_equal(b.os, EM_OS_WINDOWS);

	/* before 3.13 the redirectors were named python.exe and pythonw.exe */
	python("3.11.9", &py);
	const char *old[] = { "python.exe", "Lib/venv/scripts/nt/python.exe", NULL };
	home = fake_windows_home(f, "win311", old);
	assert_int_equal(em_base_python_from_home(&f->a, home, &p, &py, &b, &f->e), 0);
	assert_string_equal(b.launcher,
			    em_arena_printf(&f->a, "%s/Lib/venv/scripts/nt/python.exe", home));
	assert_null(b.wlauncher);

	/* free-threaded: python3.13t.exe and venvlaunchert.exe, no python.exe */
	python("3.13.1t", &py);
	const char *ft[] = { "python3.13t.exe", "Lib/venv/scripts/nt/venvlaunchert.exe",
			     "Lib/venv/scripts/nt/venvwlaunchert.exe",
			     "Lib/venv/scripts/nt/venvlauncher.exe", NULL };
	home = fake_windows_home(f, "win313t", ft);
	assert_int_equal(em_base_python_from_home(&f->a, home, &p, &py, &b, &f->e), 0);
	assert_string_equal(b.executable, em_arena_printf(&f->a, "%s/python3.13t.exe", home));
	assert_string_equal(b.launcher,
			    em_arena_printf(&f->a, "%s/Lib/venv/scripts/nt/venvlaunchert.exe", home));

	/* no launcher */
	python("3.12.4", &py);
	const char *bare[] = { "python.exe", NULL };
	home = fake_windows_home(f, "winbare", bare);
	assert_int_equal(em_base_python_from_home(&f->a, home, &p, &py, &b, &f->e), EM_ENOTFOUND);
	assert_true(contains(f->e.msg, "'Lib/venv/scripts/nt/venvlauncher.exe'"));
	assert_true(contains(f->e.msg, "'Lib/venv/scripts/nt/python.exe'"));
	assert_string_equal(f->e.where, home);
	python("3.13.1t", &py);
	const char *ftbare[] = { "python3.13t.exe", "Lib/venv/scripts/nt/venvlauncher.exe", NULL };
	home = fake_windows_home(f, "winftbare", ftbare);
	assert_int_equal(em_base_python_from_home(&f->a, home, &p, &py, &b, &f->e), EM_ENOTFOUND);
	assert_true(contains(f->e.msg, "venvlaunchert.exe"));
	/* no interpreter */
	python("3.12.4", &py);
	const char *noexe[] = { "Lib/venv/scripts/nt/venvlauncher.exe", NULL };
	home = fake_windows_home(f, "winnoexe", noexe);
	assert_int_equal(em_base_python_from_home(&f->a, home, &p, &py, &b, &f->e), EM_ENOTFOUND);
	assert_true(contains(f->e.msg, "'python.exe'"));
}

/* ---- creating ---- */

static const char *const env_names[] = { "CUDA_VISIBLE_DEVICES", "NASTY", "SPACED", "RAW",
					 "EMPTY" };
static const char *const env_values[] = {
	"0,1",
	"sq' dq\" $HOME `id` $(id) \\ %PATH% ^ & | < > ; ! \n second\tline \xc3\xa9 \xe6\x97\xa5",
	" both ends ",
	"bin\377\376ary\001",
	"",
};

static void info_for(struct em_venv_info *info, const char *matrix)
{
	memset(info, 0, sizeof *info);
	info->prompt = "vlm";
	info->workload = "vlm";
	info->matrix = matrix;
	info->nenv = 5;
	info->env_names = env_names;
	info->env_values = env_values;
}

static void test_create_posix(void **state)
{
	struct fx *f = *state;
	struct em_platform p;
	struct em_python py;
	struct em_base_python b;
	struct em_venv_info info;
	platform("linux-x86_64", &p);
	python("3.12.4", &py);
	const char *home = fake_posix_home(f, "py", "python3.12");
	assert_int_equal(em_base_python_from_home(&f->a, home, &p, &py, &b, &f->e), 0);
	info_for(&info, "/work/matrix.ini");
	const char *staging = P(f, "work/.venv.envmatrix-staging");
	const char *final = "/srv/envs/vlm/.venv";
	assert_int_equal(em_venv_create(&f->a, staging, final, &p, &b, &info, &f->e), 0);

	const char *v = staging;
#define IN(rel) em_arena_printf(&f->a, "%s/%s", v, rel)
	assert_true(is_dir(IN("bin")));
	assert_true(is_dir(IN("include")));
	assert_true(is_dir(IN("lib/python3.12/site-packages")));
	assert_link(IN("lib64"), "lib");
	assert_link(IN("bin/python3.12"), b.executable);
	assert_link(IN("bin/python"), "python3.12");
	assert_link(IN("bin/python3"), "python3.12");
	assert_int_equal(mode_of(IN("bin/activate")), 0644);
	assert_int_equal(mode_of(IN("bin/activate.fish")), 0644);
	assert_int_equal(mode_of(IN("bin/Activate.ps1")), 0644);
	assert_int_equal(mode_of(IN("pyvenv.cfg")), 0644);
	assert_int_equal(access(IN("bin/activate.bat"), F_OK), -1);
	char *gi = slurp(IN(".gitignore"));
	assert_true(contains(gi, "\n*\n"));
	free(gi);

	char *cfg = slurp(IN("pyvenv.cfg"));
	const char *want_head = em_arena_printf(&f->a,
						"home = %s/bin\n"
						"include-system-site-packages = false\n"
						"version = 3.12.4\n"
						"version_info = 3.12.4\n"
						"executable = %s/bin/python3.12\n"
						"prompt = vlm\n"
						"envmatrix = " EM_VERSION "\n"
						"envmatrix.workload = vlm\n"
						"envmatrix.matrix = /work/matrix.ini\n"
						"envmatrix.env.CUDA_VISIBLE_DEVICES = 0,1\n",
						home, home);
	assert_memory_equal(cfg, want_head, strlen(want_head));
	/* every value comes back from its escaped form, on one line */
	for (size_t i = 0; i < 5; i++) {
		char key[64], out[512];
		snprintf(key, sizeof key, "envmatrix.env.%s", env_names[i]);
		char *raw = cfg_value(cfg, key);
		assert_non_null(raw);
		assert_null(strchr(raw, '\n'));
		size_t n = cfg_decode(raw, out);
		assert_int_equal(n, strlen(env_values[i]));
		assert_memory_equal(out, env_values[i], n);
		free(raw);
	}
	char *spaced = cfg_value(cfg, "envmatrix.env.SPACED");
	assert_string_equal(spaced, "\\x20both ends\\x20");
	free(spaced);
	char *raw = cfg_value(cfg, "envmatrix.env.RAW");
	assert_string_equal(raw, "bin\\xFF\\xFEary\\x01");
	free(raw);
	assert_true(contains(cfg, "\\n second\\tline \xc3\xa9 \xe6\x97\xa5\n"));
	free(cfg);

	char *act = slurp(IN("bin/activate"));
	assert_true(contains(act, "\nVIRTUAL_ENV='/srv/envs/vlm/.venv'\n"));
	assert_true(contains(act, "\tNASTY='sq'\\'' dq\" $HOME `id` $(id) \\ %PATH% ^ & | < > ; ! \n"));
	assert_true(contains(act, "PATH=\"$VIRTUAL_ENV/bin${PATH:+:$PATH}\"\n"));
	assert_true(contains(act, "PS1=\"(vlm) ${PS1-}\"\n"));
	assert_false(contains(act, "cygpath"));
	free(act);
	char *fish = slurp(IN("bin/activate.fish"));
	assert_true(contains(fish, "\nset -g -x VIRTUAL_ENV '/srv/envs/vlm/.venv'\n"));
	assert_true(contains(fish, "set -g -x NASTY 'sq\\' dq\" $HOME `id` $(id) \\\\ %PATH%"));
	free(fish);
	char *ps1 = slurp(IN("bin/Activate.ps1"));
	assert_true(contains(ps1, "Set-ExecutionPolicy -ExecutionPolicy RemoteSigned -Scope CurrentUser"));
	assert_true(contains(ps1, "-ExecutionPolicy Bypass"));
	assert_true(contains(ps1, "[System.IO.Path]::PathSeparator"));
	assert_true(contains(ps1, "envmatrix.env."));
	assert_false(contains(ps1, final));
	free(ps1);
#undef IN
	/* every file checked, none names the staging folder */
	assert_true(assert_no_staging(staging, staging) >= 5);

	/* the staging folder must be new */
	assert_int_equal(em_venv_create(&f->a, staging, final, &p, &b, &info, &f->e), EM_EUSAGE);
	assert_true(contains(f->e.msg, "already exists"));
	/* its parent is made when missing */
	assert_int_equal(em_venv_create(&f->a, P(f, "deep/er/stage"), final, &p, &b, NULL, &f->e), 0);
	cfg = slurp(P(f, "deep/er/stage/pyvenv.cfg"));
	assert_true(contains(cfg, "\nprompt = .venv\n"));
	assert_false(contains(cfg, "envmatrix.workload"));
	free(cfg);
}

static void test_create_platforms(void **state)
{
	struct fx *f = *state;
	struct em_platform p;
	struct em_python py;
	struct em_base_python b;
	python("3.12.4", &py);
	const char *home = fake_posix_home(f, "py", "python3.12");
	static const struct {
		const char *plat;
		bool lib64;
	} cases[] = {
		{ "linux-aarch64", true },
		{ "linux-x86_64-musl1.2", true },
		{ "linux-i686", false },
		{ "linux-armv7l", false },
		{ "macos-arm64", false },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		platform(cases[i].plat, &p);
		assert_int_equal(em_base_python_from_home(&f->a, home, &p, &py, &b, &f->e), 0);
		const char *staging = P(f, em_arena_printf(&f->a, "s%zu", i));
		assert_int_equal(em_venv_create(&f->a, staging, "/final/.venv", &p, &b, NULL, &f->e), 0);
		struct stat st;
		bool has = lstat(em_arena_printf(&f->a, "%s/lib64", staging), &st) == 0;
		if (has != cases[i].lib64)
			fail_msg("%s: lib64 %s", cases[i].plat, has ? "present" : "missing");
		assert_true(is_dir(em_arena_printf(&f->a, "%s/lib/python3.12/site-packages", staging)));
		assert_no_staging(staging, staging);
	}
}

static void test_create_freethreaded(void **state)
{
	struct fx *f = *state;
	struct em_platform p;
	struct em_python py;
	struct em_base_python b;
	platform("linux-x86_64", &p);
	python("3.13.1t", &py);
	const char *home = fake_posix_home(f, "py", "python3.13t");
	assert_int_equal(em_base_python_from_home(&f->a, home, &p, &py, &b, &f->e), 0);
	const char *s = P(f, "stage");
	assert_int_equal(em_venv_create(&f->a, s, "/final/.venv", &p, &b, NULL, &f->e), 0);
	assert_link(em_arena_printf(&f->a, "%s/bin/python3.13t", s), b.executable);
	assert_link(em_arena_printf(&f->a, "%s/bin/python3.13", s), "python3.13t");
	assert_link(em_arena_printf(&f->a, "%s/bin/python3", s), "python3.13t");
	assert_link(em_arena_printf(&f->a, "%s/bin/python", s), "python3.13t");
	assert_true(is_dir(em_arena_printf(&f->a, "%s/lib/python3.13t/site-packages", s)));
	assert_false(is_dir(em_arena_printf(&f->a, "%s/lib/python3.13", s)));
	char *cfg = slurp(em_arena_printf(&f->a, "%s/pyvenv.cfg", s));
	assert_true(contains(cfg, "\nversion = 3.13.1\n"));
	free(cfg);
}

static void test_create_windows(void **state)
{
	struct fx *f = *state;
	struct em_platform p;
	struct em_python py;
	struct em_base_python b;
	struct em_venv_info info;
	platform("windows-x86_64", &p);
	python("3.12.4", &py);
	const char *files[] = { "python.exe", "Lib/venv/scripts/nt/venvlauncher.exe",
				"Lib/venv/scripts/nt/venvwlauncher.exe", NULL };
	const char *home = fake_windows_home(f, "winpy", files);
	assert_int_equal(em_base_python_from_home(&f->a, home, &p, &py, &b, &f->e), 0);
	info_for(&info, "C:\\work\\matrix.ini");
	/* a Windows target's values hold no control character but tab */
	static const char *const names[] = { "CUDA_VISIBLE_DEVICES", "NASTY" };
	static const char *const values[] = {
		"0", "sq' dq\" %PATH% ^caret & | < > (paren) ! \xc3\xa9\ttab",
	};
	info.nenv = 2;
	info.env_names = names;
	info.env_values = values;
	const char *s = P(f, "stage");
	assert_int_equal(em_venv_create(&f->a, s, "C:\\envs\\vlm\\.venv\\", &p, &b, &info, &f->e), 0);
#define IN(rel) em_arena_printf(&f->a, "%s/%s", s, rel)
	assert_true(is_dir(IN("Scripts")));
	assert_true(is_dir(IN("Lib/site-packages")));
	assert_true(is_dir(IN("Include")));
	assert_false(is_dir(IN("bin")));
	char *launcher = slurp(b.launcher), *copy = slurp(IN("Scripts/python.exe"));
	assert_string_equal(copy, launcher);
	assert_true(contains(copy, "venvlauncher.exe \001\377"));
	free(launcher);
	free(copy);
	launcher = slurp(b.wlauncher);
	copy = slurp(IN("Scripts/pythonw.exe"));
	assert_string_equal(copy, launcher);
	free(launcher);
	free(copy);

	char *cfg = slurp(IN("pyvenv.cfg"));
	assert_true(contains(cfg, em_arena_printf(&f->a, "home = %s\n", home)));
	assert_true(contains(cfg, em_arena_printf(&f->a, "executable = %s/python.exe\n", home)));
	assert_true(contains(cfg, "envmatrix.matrix = C:\\\\work\\\\matrix.ini\n"));
	assert_true(contains(cfg, "envmatrix.env.NASTY = sq' dq\" %PATH% ^caret & | < > (paren) ! "
				  "\xc3\xa9\\ttab\n"));
	free(cfg);

	char *bat = slurp(IN("Scripts/activate.bat"));
	assert_true(all_crlf(bat));
	assert_true(contains(bat, "\r\nset VIRTUAL_ENV=C:\\envs\\vlm\\.venv\r\n"));
	assert_true(contains(bat, "\r\nset \"PATH=%VIRTUAL_ENV%\\Scripts\"\r\n"));
	assert_true(contains(bat, "\r\nset NASTY=sq' dq^\" %%PATH%% ^^caret ^& ^| ^< ^> ^(paren^) ! "
				  "\xc3\xa9\ttab\r\n"));
	assert_true(contains(bat, "set _EM_VARS=VIRTUAL_ENV VIRTUAL_ENV_PROMPT PATH PYTHONHOME PROMPT "
				  "CUDA_VISIBLE_DEVICES NASTY\r\n"));
	assert_true(contains(bat, "\r\nif \"!!\"==\"\" goto em_delayed\r\n"));
	assert_false(contains(bat, "setlocal"));
	free(bat);
	bat = slurp(IN("Scripts/deactivate.bat"));
	assert_true(all_crlf(bat));
	assert_true(contains(bat, "for %%n in (%_EM_VARS%) do (\r\n"));
	free(bat);
	char *act = slurp(IN("Scripts/activate"));
	assert_true(contains(act, "\nVIRTUAL_ENV='C:\\envs\\vlm\\.venv'\n"));
	assert_true(contains(act, "cygpath -u"));
	assert_true(contains(act, "PATH=\"$VIRTUAL_ENV/Scripts${PATH:+:$PATH}\"\n"));
	assert_false(contains(act, "\r"));
	free(act);
	assert_int_equal(access(IN("Scripts/activate.fish"), F_OK), -1);
	assert_int_equal(mode_of(IN("Scripts/activate.bat")), 0644);
	assert_int_equal(mode_of(IN("Scripts/Activate.ps1")), 0644);
#undef IN
	assert_no_staging(s, s);

	/* a POSIX-style final root is written as it is, joined with '/' */
	const char *s2 = P(f, "stage2");
	assert_int_equal(em_venv_create(&f->a, s2, "/srv/envs/vlm/.venv", &p, &b, &info, &f->e), 0);
	bat = slurp(em_arena_printf(&f->a, "%s/Scripts/activate.bat", s2));
	assert_true(contains(bat, "\r\nset VIRTUAL_ENV=/srv/envs/vlm/.venv\r\n"));
	assert_true(contains(bat, "\r\nset \"PATH=%VIRTUAL_ENV%/Scripts\"\r\n"));
	free(bat);
	assert_no_staging(s2, s2);
	/* Activate.ps1 is the same bytes everywhere */
	char *ps1a = slurp(P(f, "stage/Scripts/Activate.ps1"));
	char *ps1b = slurp(P(f, "stage2/Scripts/Activate.ps1"));
	assert_string_equal(ps1a, ps1b);
	for (const char *c = ps1a; *c; c++)
		assert_true((*c >= ' ' && *c <= '~') || *c == '\n');
	free(ps1a);
	free(ps1b);

	/* free-threaded: python.exe and python3.13t.exe from venvlaunchert.exe */
	python("3.13.1t", &py);
	const char *ft[] = { "python3.13t.exe", "Lib/venv/scripts/nt/venvlaunchert.exe",
			     "Lib/venv/scripts/nt/venvwlaunchert.exe", NULL };
	home = fake_windows_home(f, "winft", ft);
	assert_int_equal(em_base_python_from_home(&f->a, home, &p, &py, &b, &f->e), 0);
	const char *s3 = P(f, "stage3");
	assert_int_equal(em_venv_create(&f->a, s3, "D:\\ft\\.venv", &p, &b, NULL, &f->e), 0);
	const char *exes[] = { "python.exe", "python3.13t.exe", "pythonw.exe", "pythonw3.13t.exe" };
	for (size_t i = 0; i < 4; i++) {
		char *got = slurp(em_arena_printf(&f->a, "%s/Scripts/%s", s3, exes[i]));
		assert_true(contains(got, i < 2 ? "venvlaunchert.exe" : "venvwlaunchert.exe"));
		free(got);
	}
}

static void test_create_errors(void **state)
{
	struct fx *f = *state;
	struct em_platform p, w;
	struct em_python py;
	struct em_base_python b, wb;
	struct em_venv_info info;
	platform("linux-x86_64", &p);
	platform("windows-x86_64", &w);
	python("3.12.4", &py);
	const char *home = fake_posix_home(f, "py", "python3.12");
	assert_int_equal(em_base_python_from_home(&f->a, home, &p, &py, &b, &f->e), 0);
	const char *files[] = { "python.exe", "Lib/venv/scripts/nt/venvlauncher.exe", NULL };
	const char *whome = fake_windows_home(f, "winpy", files);
	assert_int_equal(em_base_python_from_home(&f->a, whome, &w, &py, &wb, &f->e), 0);
	const char *s = P(f, "stage");

	assert_int_equal(em_venv_create(&f->a, s, "relative/.venv", &p, &b, NULL, &f->e), EM_EINVAL);
	assert_true(contains(f->e.msg, "not an absolute path"));
	assert_int_equal(em_venv_create(&f->a, s, "C:\\envs\\x", &p, &b, NULL, &f->e), EM_EINVAL);
	assert_int_equal(em_venv_create(&f->a, s, "/a\nb", &p, &b, NULL, &f->e), EM_EINVAL);
	assert_true(contains(f->e.msg, "control character"));
	assert_int_equal(em_venv_create(&f->a, s, "C:\\a|b", &w, &wb, NULL, &f->e), EM_EINVAL);
	assert_int_equal(em_venv_create(&f->a, s, "/final", &w, &b, NULL, &f->e), EM_EUSAGE);
	assert_true(contains(f->e.msg, "another operating system"));
	struct em_base_python nolauncher = wb;
	nolauncher.launcher = NULL;
	assert_int_equal(em_venv_create(&f->a, s, "C:\\x", &w, &nolauncher, NULL, &f->e), EM_EUSAGE);
	struct em_base_python relexe = b;
	relexe.executable = "bin/python3";
	assert_int_equal(em_venv_create(&f->a, s, "/final", &p, &relexe, NULL, &f->e), EM_EINVAL);

	memset(&info, 0, sizeof info);
	info.prompt = "has space";
	assert_int_equal(em_venv_create(&f->a, s, "/final", &p, &b, &info, &f->e), EM_EINVAL);
	assert_true(contains(f->e.msg, "invalid prompt 'has space'"));

	static const struct {
		const char *name, *value, *msg;
		int code;
		bool windows;
	} bad[] = {
		{ "1X", "v", "invalid environment variable name '1X'", EM_EINVAL, false },
		{ "A-B", "v", "invalid environment variable name", EM_EINVAL, false },
		{ "", "v", "invalid environment variable name", EM_EINVAL, false },
		{ "Path", "v", "set PATH themselves", EM_EINVAL, false },
		{ "pythonhome", "v", "set PYTHONHOME themselves", EM_EINVAL, false },
		{ "VIRTUAL_ENV", "v", "set VIRTUAL_ENV themselves", EM_EINVAL, false },
		{ "PS1", "v", "set PS1 themselves", EM_EINVAL, false },
		{ "PROMPT", "v", "set PROMPT themselves", EM_EINVAL, false },
		{ "_em_old_x", "v", "'_EM_'", EM_EINVAL, false },
		{ "X", "a\nb", "cannot set a value holding a line break", EM_EUNSUPPORTED, true },
		{ "X", "a\rb", "line break", EM_EUNSUPPORTED, true },
		{ "X", "a\x1a", "control character (byte 0x1A)", EM_EUNSUPPORTED, true },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		const char *n[] = { bad[i].name }, *v[] = { bad[i].value };
		memset(&info, 0, sizeof info);
		info.nenv = 1;
		info.env_names = n;
		info.env_values = v;
		int rc = bad[i].windows ? em_venv_create(&f->a, s, "C:\\x", &w, &wb, &info, &f->e)
					: em_venv_create(&f->a, s, "/final", &p, &b, &info, &f->e);
		if (rc != bad[i].code || !contains(f->e.msg, bad[i].msg))
			fail_msg("case %zu (%s): rc %d, message '%s'", i, bad[i].name, rc, f->e.msg);
	}
	/* a newline is fine for POSIX targets; the same name twice is not */
	const char *n2[] = { "Foo", "FOO" }, *v2[] = { "a\nb", "c" };
	memset(&info, 0, sizeof info);
	info.nenv = 2;
	info.env_names = n2;
	info.env_values = v2;
	assert_int_equal(em_venv_create(&f->a, s, "/final", &p, &b, &info, &f->e), EM_EINVAL);
	assert_true(contains(f->e.msg, "env.FOO is given twice"));
	/* nothing was written by the refused calls */
	assert_int_equal(access(s, F_OK), -1);
	info.nenv = 1;
	assert_int_equal(em_venv_create(&f->a, s, "/final", &p, &b, &info, &f->e), 0);
}

/* The activate script in real shells: every value comes back byte for byte. */
static void test_activate_quoting(void **state)
{
	struct fx *f = *state;
	struct em_platform p;
	struct em_python py;
	struct em_base_python b;
	struct em_venv_info info;
	platform("linux-x86_64", &p);
	python("3.12.4", &py);
	const char *home = fake_posix_home(f, "py", "python3.12");
	assert_int_equal(em_base_python_from_home(&f->a, home, &p, &py, &b, &f->e), 0);
	info_for(&info, "/m.ini");
	const char *s = P(f, "stage");
	const char *final = P(f, "it's $final `dir`");
	assert_int_equal(em_venv_create(&f->a, s, final, &p, &b, &info, &f->e), 0);
	assert_int_equal(rename(s, final), 0);
	const char *script = "set -eu; . \"$1/bin/activate\"; "
			     "printf '%s\\0' \"$VIRTUAL_ENV\" \"$CUDA_VISIBLE_DEVICES\" \"$NASTY\" "
			     "\"$SPACED\" \"$RAW\" \"$EMPTY\"; deactivate";
	const char *shells[] = { "/bin/sh", "/bin/bash", "/bin/dash", "/usr/bin/zsh" };
	unsigned ran = 0;
	for (size_t k = 0; k < 4; k++) {
		if (access(shells[k], X_OK) != 0)
			continue;
		const char *argv[] = { shells[k], "-c", script, "x", final, NULL };
		const char *envp[] = { "PATH=/usr/bin:/bin", NULL };
		struct em_proc_result r;
		assert_int_equal(em_proc_run(&f->a, argv, envp, 1 << 20, 10000, &r, &f->e), 0);
		if (r.status != 0)
			fail_msg("%s: exit %d: %s", shells[k], r.status, r.err);
		const char *o = r.out;
		assert_string_equal(o, final);
		o += strlen(o) + 1;
		for (size_t i = 0; i < 5; i++) {
			if (strcmp(o, env_values[i]))
				fail_msg("%s: %s is '%s'", shells[k], env_names[i], o);
			o += strlen(o) + 1;
		}
		assert_int_equal((size_t)(o - r.out), r.outlen);
		ran++;
	}
	assert_true(ran > 0);
}

/* ---- real interpreters ---- */

static void test_real_interpreters(void **state)
{
	struct fx *f = *state;
	struct em_interp_list list;
	if (em_interp_discover(&f->a, &list, &f->e) != 0 || list.n == 0) {
		print_message("SKIP: no CPython 3 in PATH or pyenv (apt-get install python3)\n");
		skip();
	}
	struct em_platform p;
	platform("linux-x86_64", &p);
	unsigned tested = 0;
	for (uint32_t i = 0; i < list.n; i++) {
		const struct em_interp *it = &list.items[i];
		struct em_base_python b, bh;
		assert_int_equal(em_base_python_from_executable(&f->a, it->path, &p, &it->py, &b, &f->e),
				 0);
		/* from its installation folder too (/usr, ~/.pyenv/versions/X) */
		const char *prefix = em_path_dir(&f->a, em_path_dir(&f->a, it->realpath));
		if (em_base_python_from_home(&f->a, prefix, &p, &it->py, &bh, &f->e) != 0)
			fail_msg("%s: %s", it->path, f->e.msg);

		char name[EM_PYTHON_NAME_MAX];
		em_python_name(&it->py, name, sizeof name);
		const char *staging = P(f, em_arena_printf(&f->a, "stage-%u", i));
		const char *final = P(f, em_arena_printf(&f->a, "final %u/.venv", i));
		assert_int_equal(em_venv_create(&f->a, staging, final, &p, &b, NULL, &f->e), 0);
		assert_int_equal(em_mkdir_p(em_path_dir(&f->a, final), &f->e), 0);
		assert_int_equal(rename(staging, final), 0);
		struct em_venv_layout l;
		assert_int_equal(em_venv_layout(&f->a, final, &p, &it->py, &l, &f->e), 0);

		char ver[16];
		snprintf(ver, sizeof ver, "python%u.%u", it->py.major, it->py.minor);
		const char *exes[] = { l.python, em_arena_printf(&f->a, "%s/python3", l.bin),
				       em_arena_printf(&f->a, "%s/%s", l.bin, ver) };
		for (size_t k = 0; k < 3; k++) {
			const char *argv[] = {
				exes[k], "-c",
				"import sys, sysconfig\n"
				"print(sys.prefix)\nprint(sys.base_prefix)\n"
				"print('%d.%d.%d' % sys.version_info[:3])\n"
				"print(sysconfig.get_path('purelib'))\nprint(sys.version)",
				NULL
			};
			const char *envp[] = { "PATH=/usr/bin:/bin", NULL };
			struct em_proc_result r;
			assert_int_equal(em_proc_run(&f->a, argv, envp, 1 << 16, 30000, &r, &f->e), 0);
			if (r.status != 0)
				fail_msg("%s (%s): exit %d: %s", exes[k], it->path, r.status, r.err);
			char want_ver[32];
			snprintf(want_ver, sizeof want_ver, "%u.%u.%u", it->py.major, it->py.minor,
				 it->py.micro);
			const char *want = em_arena_printf(&f->a, "%s\n", final);
			if (strncmp(r.out, want, strlen(want)))
				fail_msg("%s: sys.prefix is not the venv: %s", exes[k], r.out);
			char *line2 = strchr(r.out, '\n') + 1;
			assert_false(!strncmp(line2, want, strlen(want)));
			char *line3 = strchr(line2, '\n') + 1;
			if (strncmp(line3, want_ver, strlen(want_ver)) || line3[strlen(want_ver)] != '\n')
				fail_msg("%s: version %s, want %s", exes[k], line3, want_ver);
			char *line4 = strchr(line3, '\n') + 1;
			if (strncmp(line4, l.site_packages, strlen(l.site_packages)) ||
			    line4[strlen(l.site_packages)] != '\n')
				fail_msg("%s: purelib %s, want %s", exes[k], line4, l.site_packages);
			if (k == 0)
				print_message("%s (%s): venv ok, %s", name, it->path,
					      strchr(line4, '\n') + 1);
		}
		tested++;
	}
	assert_true(tested > 0);
}

/* ---- reading a venv ---- */

static void test_read_venv(void **state)
{
	struct fx *f = *state;
	struct em_arena *a = &f->a;
	/* pyvenv.cfg as site.py reads it: the part before the first '=',
	 * stripped, case ignored; the first line with the key wins */
	const char *cfg = "# a comment = not a key\n"
			  "home = /usr/bin\n"
			  "  Version_Info\t=  3.12.1.final.0 \r\n"
			  "version_info = 3.11\n"
			  "no equals sign\n"
			  "prompt = a = b\n"
			  "empty =\n";
	assert_string_equal(em_venv_cfg_get(a, cfg, "home"), "/usr/bin");
	assert_string_equal(em_venv_cfg_get(a, cfg, "version_info"), "3.12.1.final.0");
	assert_string_equal(em_venv_cfg_get(a, cfg, "prompt"), "a = b");
	assert_string_equal(em_venv_cfg_get(a, cfg, "empty"), "");
	assert_null(em_venv_cfg_get(a, cfg, "version"));
	assert_null(em_venv_cfg_get(a, cfg, "no equals sign"));

	/* a venv: pyvenv.cfg at the root, site-packages under lib/python* */
	assert_null(em_venv_cfg_load(a, f->dir));
	assert_false(em_venv_holds(P(f, "bin")));
	const char *site;
	assert_int_equal(em_venv_site_packages(a, f->dir, &site, &f->e), EM_ENOTFOUND);
	put(P(f, "pyvenv.cfg"), "home = /usr/bin\n", 0644);
	put(P(f, "lib/python3.12/site-packages/x.py"), "", 0644);
	put(P(f, "lib/other/site-packages/y.py"), "", 0644);
	put(P(f, "bin/python"), "", 0755);
	assert_string_equal(em_venv_cfg_load(a, f->dir), "home = /usr/bin\n");
	assert_true(em_venv_holds(P(f, "bin")));   /* one folder up */
	assert_true(em_venv_holds(f->dir));        /* beside it */
	assert_false(em_venv_holds(P(f, "lib/python3.12/site-packages")));
	assert_int_equal(em_venv_site_packages(a, f->dir, &site, &f->e), 0);
	assert_string_equal(site, P(f, "lib/python3.12/site-packages"));
	put(P(f, "Lib/site-packages/z.py"), "", 0644);
	const char *dirs[EM_VENV_MAX_SITES];
	size_t n;
	assert_int_equal(em_venv_site_dirs(a, f->dir, dirs, &n, &f->e), 0);
	assert_int_equal(n, 2);
	assert_string_equal(dirs[0], P(f, "lib/python3.12/site-packages"));
	assert_string_equal(dirs[1], P(f, "Lib/site-packages"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_layout_posix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_layout_windows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_base_posix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_base_windows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_posix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_platforms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_freethreaded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_windows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_activate_quoting, setup, teardown),
		cmocka_unit_test_setup_teardown(test_real_interpreters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_venv, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
