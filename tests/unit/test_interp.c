/* test_interp.c - running programs (proc.h) and finding interpreters (interp.h)
 *
 * The discovery logic is tested on fake interpreters (shell scripts that
 * print the answer) in a temporary folder; the machine's own interpreters
 * are then queried and discovered for real, with the multi-version checks
 * skipped where pyenv is not installed.
 */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"
#include "interp.h"
#include "os/proc.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int run_sh(struct em_arena *a, const char *script, size_t max, int timeout_ms,
		  struct em_proc_result *r, struct em_error *e)
{
	const char *argv[] = { "/bin/sh", "-c", script, NULL };
	return em_proc_run(a, argv, NULL, max, timeout_ms, r, e);
}

static void test_proc_status(void **state)
{
	(void)state;
	struct em_arena a;
	em_arena_init(&a);
	struct em_proc_result r;
	struct em_error e;
	assert_int_equal(run_sh(&a, "echo out; echo err >&2; exit 3", 4096, 5000, &r, &e), 0);
	assert_int_equal(r.status, 3);
	assert_string_equal(r.out, "out\n");
	assert_int_equal(r.outlen, 4);
	assert_string_equal(r.err, "err\n");
	assert_false(r.timed_out);
	assert_false(r.out_truncated);
	assert_int_equal(run_sh(&a, "true", 4096, 0, &r, &e), 0);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "");
	/* killed by a signal: 128 + signal */
	assert_int_equal(run_sh(&a, "kill -TERM $$; sleep 5", 4096, 5000, &r, &e), 0);
	assert_int_equal(r.status, 128 + SIGTERM);
	assert_false(r.timed_out);
	/* stdin is /dev/null */
	const char *cat[] = { "cat", NULL };
	assert_int_equal(em_proc_run(&a, cat, NULL, 4096, 5000, &r, &e), 0);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.outlen, 0);
	/* the environment given replaces ours */
	const char *env[] = { "EM_TEST_VAR=hello world", NULL };
	const char *sh[] = { "/bin/sh", "-c", "echo \"$EM_TEST_VAR:$HOME\"", NULL };
	assert_int_equal(em_proc_run(&a, sh, env, 4096, 5000, &r, &e), 0);
	assert_string_equal(r.out, "hello world:\n");
	/* binary output with NUL bytes */
	assert_int_equal(run_sh(&a, "printf 'a\\000b'", 4096, 5000, &r, &e), 0);
	assert_int_equal(r.outlen, 3);
	assert_memory_equal(r.out, "a\0b", 3);
	em_arena_release(&a);
}

static void test_proc_signals_reset(void **state)
{
	(void)state;
	/* an ignored SIGINT here must not be inherited */
	struct sigaction ign, old;
	memset(&ign, 0, sizeof ign);
	ign.sa_handler = SIG_IGN;
	sigaction(SIGINT, &ign, &old);
	sigset_t block, oldmask;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &oldmask);
	struct em_arena a;
	em_arena_init(&a);
	struct em_proc_result r;
	struct em_error e;
	int rc = run_sh(&a, "kill -INT $$; echo survived", 4096, 5000, &r, &e);
	int rc2 = -1, status2 = -1;
	struct em_proc_result r2;
	if (!rc)
		rc2 = run_sh(&a, "kill -TERM $$; echo survived", 4096, 5000, &r2, &e);
	if (!rc2)
		status2 = r2.status;
	sigaction(SIGINT, &old, NULL);
	sigprocmask(SIG_SETMASK, &oldmask, NULL);
	assert_int_equal(rc, 0);
	assert_int_equal(r.status, 128 + SIGINT);
	assert_string_equal(r.out, "");
	assert_int_equal(rc2, 0);
	assert_int_equal(status2, 128 + SIGTERM);

	/* with SIGCHLD ignored the status is lost: an error, not a hang */
	struct sigaction oldchld;
	sigaction(SIGCHLD, &ign, &oldchld);
	rc = run_sh(&a, "exit 0", 4096, 5000, &r, &e);
	sigaction(SIGCHLD, &oldchld, NULL);
	assert_int_equal(rc, EM_EIO);
	assert_non_null(strstr(e.msg, "waiting for '/bin/sh'"));
	em_arena_release(&a);
}

static void test_proc_timeout(void **state)
{
	(void)state;
	struct em_arena a;
	em_arena_init(&a);
	struct em_proc_result r;
	struct em_error e;
	double t0 = now_s();
	assert_int_equal(run_sh(&a, "echo started; exec sleep 30", 4096, 300, &r, &e), 0);
	double took = now_s() - t0;
	assert_true(r.timed_out);
	assert_int_equal(r.status, 128 + SIGKILL);
	assert_string_equal(r.out, "started\n");
	assert_true(took >= 0.25 && took < 5);
	/* the child closes its output and keeps running: still bounded */
	t0 = now_s();
	assert_int_equal(run_sh(&a, "exec >&- 2>&-; exec sleep 30", 4096, 300, &r, &e), 0);
	assert_true(r.timed_out);
	assert_true(now_s() - t0 < 5);
	/* ... and when it exits by itself, the exit is seen soon */
	t0 = now_s();
	assert_int_equal(run_sh(&a, "exec >&- 2>&-; sleep 0.2; exit 4", 4096, 10000, &r, &e), 0);
	assert_false(r.timed_out);
	assert_int_equal(r.status, 4);
	assert_true(now_s() - t0 < 3);
	/* a grandchild that keeps the pipes open is not waited for */
	t0 = now_s();
	assert_int_equal(run_sh(&a, "sleep 3 & echo parent done", 4096, 10000, &r, &e), 0);
	assert_false(r.timed_out);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "parent done\n");
	assert_true(now_s() - t0 < 2.5);
	/* a child that writes without pause still meets its deadline */
	t0 = now_s();
	assert_int_equal(run_sh(&a, "exec yes", 100, 300, &r, &e), 0);
	assert_true(r.timed_out);
	assert_int_equal(r.outlen, 100);
	assert_true(r.out_truncated);
	assert_true(now_s() - t0 < 5);
	em_arena_release(&a);
}

/* Whether process pid is gone (or a zombie waiting for its new parent),
 * waiting up to 3 s for it to go. */
static bool gone(long pid)
{
	for (int i = 0; i < 300; i++) {
		char path[64], buf[256] = "";
		snprintf(path, sizeof path, "/proc/%ld/stat", pid);
		FILE *f = fopen(path, "r");
		if (!f)
			return true;
		size_t n = fread(buf, 1, sizeof buf - 1, f);
		fclose(f);
		buf[n] = '\0';
		const char *rp = strrchr(buf, ')');
		if (rp && (rp[2] == 'Z' || rp[2] == 'X'))
			return true;
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return false;
}

static void test_proc_group(void **state)
{
	(void)state;
	struct em_arena a;
	em_arena_init(&a);
	struct em_proc_result r;
	struct em_error e;
	/* what the child leaves running when it exits goes with it */
	const char *bg[] = { "/bin/sh", "-c", "sleep 30 >/dev/null 2>&1 & echo $!", NULL };
	double t0 = now_s();
	assert_int_equal(em_proc_run_group(&a, bg, NULL, 4096, 10000, NULL, &r, &e), 0);
	assert_int_equal(r.status, 0);
	assert_false(r.timed_out);
	assert_false(r.canceled);
	long pid = strtol(r.out, NULL, 10);
	assert_true(pid > 1);
	assert_true(gone(pid));
	assert_true(now_s() - t0 < 5);
	/* at the deadline, the whole group is killed */
	const char *hang[] = { "/bin/sh", "-c", "sleep 30 & echo $!; sleep 30", NULL };
	assert_int_equal(em_proc_run_group(&a, hang, NULL, 4096, 300, NULL, &r, &e), 0);
	assert_true(r.timed_out);
	pid = strtol(r.out, NULL, 10);
	assert_true(pid > 1);
	assert_true(gone(pid));
	/* the cancel flag stops it like the deadline */
	volatile sig_atomic_t stop = 1;
	t0 = now_s();
	assert_int_equal(em_proc_run_group(&a, hang, NULL, 4096, 0, &stop, &r, &e), 0);
	assert_true(r.canceled);
	assert_false(r.timed_out);
	assert_true(now_s() - t0 < 5);
	em_arena_release(&a);
}

static void test_proc_truncation(void **state)
{
	(void)state;
	struct em_arena a;
	em_arena_init(&a);
	struct em_proc_result r;
	struct em_error e;
	/* 8 MB on stdout and 1 MB on stderr: both drained, 1000 bytes kept */
	assert_int_equal(run_sh(&a, "head -c 1000000 /dev/zero >&2; head -c 8000000 /dev/zero | "
				    "tr '\\000' x; exit 7",
				1000, 20000, &r, &e),
			 0);
	assert_int_equal(r.status, 7);
	assert_int_equal(r.outlen, 1000);
	assert_true(r.out_truncated);
	assert_int_equal(r.errlen, 1000);
	assert_true(r.err_truncated);
	for (size_t i = 0; i < r.outlen; i++)
		assert_int_equal(r.out[i], 'x');
	assert_int_equal(r.out[1000], '\0');
	/* max_out 0 keeps nothing */
	assert_int_equal(run_sh(&a, "echo hi", 0, 5000, &r, &e), 0);
	assert_int_equal(r.outlen, 0);
	assert_true(r.out_truncated);
	em_arena_release(&a);
}

static int fcntl_ok(int fd)
{
	return fcntl(fd, F_GETFD) != -1;
}

static void test_proc_errors(void **state)
{
	(void)state;
	struct em_arena a;
	em_arena_init(&a);
	struct em_proc_result r;
	struct em_error e;
	const char *missing[] = { "envmatrix-no-such-program-x", NULL };
	assert_int_equal(em_proc_run(&a, missing, NULL, 100, 1000, &r, &e), EM_ENOTFOUND);
	assert_non_null(strstr(e.msg, "'envmatrix-no-such-program-x'"));
	const char *missing_path[] = { "/nonexistent/dir/python3", NULL };
	assert_int_equal(em_proc_run(&a, missing_path, NULL, 100, 1000, &r, &e), EM_ENOTFOUND);
	assert_non_null(strstr(e.msg, "'/nonexistent/dir/python3'"));
	const char *notexec[] = { "/etc/hostname", NULL };
	if (access("/etc/hostname", F_OK) == 0 && access("/etc/hostname", X_OK) != 0) {
		assert_int_equal(em_proc_run(&a, notexec, NULL, 100, 1000, &r, &e), EM_EIO);
		assert_non_null(strstr(e.msg, "cannot run '/etc/hostname'"));
	}
	const char *empty[] = { NULL };
	assert_int_equal(em_proc_run(&a, empty, NULL, 100, 1000, &r, &e), EM_EUSAGE);
	const char *ctl[] = { "bad\nname", NULL };
	assert_int_equal(em_proc_run(&a, ctl, NULL, 100, 1000, &r, &e), EM_ENOTFOUND);
	assert_non_null(strstr(e.msg, "bad\\x0aname"));
	/* no descriptor is left behind */
	int before = 0, after = 0;
	for (int fd = 0; fd < 1024; fd++)
		before += fcntl_ok(fd);
	for (int i = 0; i < 50; i++)
		run_sh(&a, "echo x", 10, 1000, &r, &e);
	for (int fd = 0; fd < 1024; fd++)
		after += fcntl_ok(fd);
	assert_int_equal(before, after);
	em_arena_release(&a);
}

/* ---- fake interpreters ---- */

struct tree {
	char root[256];
};

static void put(const struct tree *t, const char *rel, const char *body, int mode)
{
	char p[512];
	snprintf(p, sizeof p, "%s/%s", t->root, rel);
	/* make the folders */
	for (char *s = p + strlen(t->root) + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			mkdir(p, 0755);
			*s = '/';
		}
	if (!body)
		return;
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(body, f);
	fclose(f);
	chmod(p, (mode_t)mode);
}

static void link_to(const struct tree *t, const char *target, const char *rel)
{
	char p[512];
	snprintf(p, sizeof p, "%s/%s", t->root, rel);
	assert_int_equal(symlink(target, p), 0);
}

#define ANSWER(impl, rest) "#!/bin/sh\necho 'envmatrix-interp-1 " impl " " rest "'\n"

static void make_tree(struct tree *t)
{
	snprintf(t->root, sizeof t->root, "%s/envmatrix-interp.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(t->root));
	put(t, "a/python3", ANSWER("cpython", "3 12 4 final 0 0"), 0755);
	link_to(t, "python3", "a/python3.12");
	put(t, "a/python3.13t", ANSWER("cpython", "3 13 1 final 0 1"), 0755);
	put(t, "a/python3.13", ANSWER("cpython", "3 13 1 final 0 0"), 0755);
	put(t, "a/python3.14", ANSWER("cpython", "3 14 0 candidate 1 0"), 0755);
	put(t, "a/python3.11", ANSWER("pypy", "3 11 9 final 0 0"), 0755);
	put(t, "a/python3.10", "#!/bin/sh\necho 'Unknown option: -I' >&2\nexit 2\n", 0755);
	link_to(t, "/nonexistent/python", "a/python3.9");
	put(t, "a/python3.8", ANSWER("cpython", "3 8 1 final 0 0"), 0644);
	put(t, "a/python3.7", "#!/bin/sh\necho 'something else'\n", 0755);
	put(t, "a/python3.6", ANSWER("cpython", "2 7 18 final 0 0"), 0755);
	put(t, "a/python3-config", ANSWER("cpython", "3 99 0 final 0 0"), 0755);
	put(t, "a/python3.x", ANSWER("cpython", "3 98 0 final 0 0"), 0755);
	put(t, "a/python3.12tt", ANSWER("cpython", "3 97 0 final 0 0"), 0755);
	put(t, "a/python", ANSWER("cpython", "3 96 0 final 0 0"), 0755);
	put(t, "shims/python3", ANSWER("cpython", "3 95 0 final 0 0"), 0755);
	put(t, "venv/pyvenv.cfg", "home = /usr/bin\n", 0644);
	put(t, "venv/bin/python3", ANSWER("cpython", "3 94 0 final 0 0"), 0755);
	put(t, "b/python3.14", ANSWER("cpython", "3 14 0 alpha 7 0"), 0755);
	put(t, "b/python3.15", ANSWER("cpython", "3 14 0 beta 1 0"), 0755);
	put(t, "pyenv/versions/3.14.0/bin/python3.14", ANSWER("cpython", "3 14 0 final 0 0"),
	    0755);
	link_to(t, "python3.14", "pyenv/versions/3.14.0/bin/python3");
	put(t, "pyenv/versions/3.12.4/bin/", NULL, 0);
	char target[512];
	snprintf(target, sizeof target, "%s/a/python3", t->root);
	link_to(t, target, "pyenv/versions/3.12.4/bin/python3");
	put(t, "pyenv/versions/3.13.1/bin/python3.13", ANSWER("cpython", "3 13 1 final 0 0"),
	    0755);
	put(t, "pyenv/versions/myenv/pyvenv.cfg", "home = x\n", 0644);
	put(t, "pyenv/versions/myenv/bin/python3", ANSWER("cpython", "3 93 0 final 0 0"), 0755);
	put(t, "pyenv/versions/3.15.0a2/bin/python3.15", "#!/bin/sh\nexec sleep 30\n", 0755);
	put(t, "pyenv/versions/2.7.18/bin/python2.7", ANSWER("cpython", "2 7 18 final 0 0"),
	    0755);
}

static void remove_tree(const struct tree *t)
{
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", t->root);
	if (system(cmd) != 0)
		print_message("could not remove %s\n", t->root);
}

static void test_query_fake(void **state)
{
	(void)state;
	struct tree t;
	make_tree(&t);
	struct em_arena a;
	em_arena_init(&a);
	struct em_interp it;
	struct em_error e;
	char p[600];
	snprintf(p, sizeof p, "%s/a/python3.12", t.root);
	assert_int_equal(em_interp_query(&a, p, &it, &e), 0);
	assert_string_equal(it.path, p);
	snprintf(p, sizeof p, "%s/a/python3", t.root);
	char *real = realpath(p, NULL);
	assert_string_equal(it.realpath, real);
	free(real);
	assert_string_equal(it.implementation, "cpython");
	assert_int_equal(it.py.major, 3);
	assert_int_equal(it.py.minor, 12);
	assert_int_equal(it.py.micro, 4);
	assert_true(it.py.has_micro);
	assert_false(it.py.freethreaded);
	assert_string_equal(it.py.pre, "");

	snprintf(p, sizeof p, "%s/a/python3.14", t.root);
	assert_int_equal(em_interp_query(&a, p, &it, &e), 0);
	assert_string_equal(it.py.pre, "rc1");
	snprintf(p, sizeof p, "%s/a/python3.13t", t.root);
	assert_int_equal(em_interp_query(&a, p, &it, &e), 0);
	assert_true(it.py.freethreaded);
	snprintf(p, sizeof p, "%s/a/python3.11", t.root);
	assert_int_equal(em_interp_query(&a, p, &it, &e), 0);
	assert_string_equal(it.implementation, "pypy");

	snprintf(p, sizeof p, "%s/a/python3.10", t.root);
	assert_int_equal(em_interp_query(&a, p, &it, &e), EM_EINVAL);
	assert_non_null(strstr(e.msg, "failed (exit status 2): Unknown option: -I"));
	assert_non_null(strstr(e.msg, p));
	snprintf(p, sizeof p, "%s/a/python3.9", t.root);
	assert_int_equal(em_interp_query(&a, p, &it, &e), EM_ENOTFOUND);
	snprintf(p, sizeof p, "%s/a/python3.8", t.root);
	assert_int_equal(em_interp_query(&a, p, &it, &e), EM_EIO);
	snprintf(p, sizeof p, "%s/a/python3.7", t.root);
	assert_int_equal(em_interp_query(&a, p, &it, &e), EM_EINVAL);
	assert_non_null(strstr(e.msg, "unexpected answer 'something else'"));
	snprintf(p, sizeof p, "%s/a/python3.6", t.root);
	assert_int_equal(em_interp_query(&a, p, &it, &e), EM_EUNSUPPORTED);
	assert_non_null(strstr(e.msg, "Python 2.7"));
	assert_int_equal(em_interp_query(&a, "/nonexistent/python3", &it, &e), EM_ENOTFOUND);
	assert_int_equal(em_interp_query(&a, "/bin/sh", &it, &e), EM_EINVAL);
	em_arena_release(&a);
	remove_tree(&t);
}

static void test_discover_fake(void **state)
{
	(void)state;
	struct tree t;
	make_tree(&t);
	struct em_arena a;
	em_arena_init(&a);
	char path[2048], root[600];
	snprintf(path, sizeof path, ":relative:%s/a:%s/shims:%s/venv/bin:%s/b:%s/a/:%s/missing",
		 t.root, t.root, t.root, t.root, t.root, t.root);
	snprintf(root, sizeof root, "%s/pyenv", t.root);
	struct em_interp_search s = { .path = path, .pyenv_root = root, .timeout_ms = 500 };
	struct em_interp_list l;
	struct em_error e;
	double t0 = now_s();
	assert_int_equal(em_interp_discover_in(&a, &s, &l, &e), 0);
	double took = now_s() - t0;
	static const struct {
		const char *name, *rel, *source;
	} want[] = {
		{ "3.14.0", "pyenv/versions/3.14.0/bin/python3.14", "pyenv" },
		{ "3.14.0rc1", "a/python3.14", "PATH" },
		{ "3.14.0b1", "b/python3.15", "PATH" },
		{ "3.14.0a7", "b/python3.14", "PATH" },
		{ "3.13.1", "a/python3.13", "PATH" },
		{ "3.13.1", "pyenv/versions/3.13.1/bin/python3.13", "pyenv" },
		{ "3.13.1t", "a/python3.13t", "PATH" },
		{ "3.12.4", "a/python3.12", "PATH" },
	};
	for (uint32_t i = 0; i < l.n; i++) {
		char name[EM_PYTHON_NAME_MAX];
		em_python_name(&l.items[i].py, name, sizeof name);
		print_message("  %-10s %-6s %s\n", name, l.items[i].source,
			      l.items[i].path + strlen(t.root));
	}
	assert_int_equal(l.n, sizeof want / sizeof want[0]);
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		char name[EM_PYTHON_NAME_MAX], p[600];
		em_python_name(&l.items[i].py, name, sizeof name);
		assert_string_equal(name, want[i].name);
		snprintf(p, sizeof p, "%s/%s", t.root, want[i].rel);
		assert_string_equal(l.items[i].path, p);
		assert_string_equal(l.items[i].source, want[i].source);
		assert_string_equal(l.items[i].implementation, "cpython");
	}
	/* one hanging interpreter costs one timeout, not more */
	assert_true(took < 5);

	/* nothing to search */
	struct em_interp_search none = { .path = NULL };
	assert_int_equal(em_interp_discover_in(&a, &none, &l, &e), 0);
	assert_int_equal(l.n, 0);
	struct em_interp_search empty = { .path = "", .pyenv_root = "" };
	assert_int_equal(em_interp_discover_in(&a, &empty, &l, &e), 0);
	assert_int_equal(l.n, 0);
	em_arena_release(&a);
	remove_tree(&t);
}

/* envmatrix's and uv's folders, and the answers kept between runs: a
 * second discovery runs no interpreter; a changed one is asked again */
static int count_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	int n = 0, c;
	if (!f)
		return 0;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static void test_discover_managed_and_kept(void **state)
{
	(void)state;
	struct tree t;
	snprintf(t.root, sizeof t.root, "%s/envmatrix-interp.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(t.root));
	char log[600], body[1200], file[600], mdir[600], uvdir[600];
	snprintf(log, sizeof log, "%s/log", t.root);
	snprintf(body, sizeof body, "#!/bin/sh\necho x >>'%s'\necho 'envmatrix-interp-1 cpython 3 12 9 final 0 0'\n", log);
	put(&t, "m/cpython-3.12.9-x86_64-unknown-linux-gnu/bin/python3.12", body, 0755);
	link_to(&t, "cpython-3.12.9-x86_64-unknown-linux-gnu", "m/cpython-3.12-x86_64-unknown-linux-gnu");
	snprintf(body, sizeof body, "#!/bin/sh\necho x >>'%s'\necho 'envmatrix-interp-1 cpython 3 11 4 final 0 0'\n", log);
	put(&t, "uv/cpython-3.11.4-linux-x86_64-gnu/bin/python3.11", body, 0755);
	put(&t, "uv/other/bin/python3.10", ANSWER("cpython", "3 10 1 final 0 0"), 0755);
	put(&t, "p/python3.9", "#!/bin/sh\nexit 3\n", 0755);
	snprintf(mdir, sizeof mdir, "%s/m", t.root);
	snprintf(uvdir, sizeof uvdir, "%s/uv", t.root);
	snprintf(file, sizeof file, "%s/cache/interpreters.json", t.root);
	char path[700];
	snprintf(path, sizeof path, "%s/p", t.root);
	struct em_arena a;
	em_arena_init(&a);
	struct em_error e;
	struct em_interp_list l;
	for (int run = 0; run < 3; run++) {
		if (run == 2) {
			/* the interpreter changed: asked again */
			snprintf(body, sizeof body, "#!/bin/sh\necho x >>'%s'\necho 'envmatrix-interp-1 cpython 3 12 10 final 0 0'\n", log);
			put(&t, "m/cpython-3.12.9-x86_64-unknown-linux-gnu/bin/python3.12", body, 0755);
		}
		struct em_interp_search s = { path, NULL, 2000, mdir, uvdir, file, false, 0 };
		assert_int_equal(em_interp_discover_in(&a, &s, &l, &e), 0);
		assert_int_equal(l.n, 2);
		char want[700];
		snprintf(want, sizeof want, "%s/m/cpython-3.12-x86_64-unknown-linux-gnu/bin/python3.12",
			 t.root);
		assert_string_equal(l.items[0].path, want);
		assert_string_equal(l.items[0].source, "envmatrix");
		assert_int_equal(l.items[0].py.micro, run == 2 ? 10 : 9);
		assert_string_equal(l.items[1].source, "uv");
		assert_int_equal(l.items[1].py.minor, 11);
		/* run 0 asks both and the failing one; run 1 nothing; run 2 the changed one */
		assert_int_equal(s.queried, run == 0 ? 3 : run == 1 ? 0 : 1);
		assert_int_equal(count_lines(log), run == 0 ? 2 : run == 1 ? 2 : 3);
	}
	/* a broken answer file is ignored, and rewritten */
	FILE *f = fopen(file, "w");
	assert_non_null(f);
	fputs("{not json", f);
	fclose(f);
	struct em_interp_search s = { path, NULL, 2000, mdir, uvdir, file, false, 0 };
	assert_int_equal(em_interp_discover_in(&a, &s, &l, &e), 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(s.queried, 3);
	em_arena_release(&a);
	remove_tree(&t);
}

static void test_py_launcher_list(void **state)
{
	(void)state;
	struct em_arena a;
	em_arena_init(&a);
	struct em_error e;
	struct em_py_launcher_entry *v;
	uint32_t n;
	static const char now[] =
		" -V:3.13t         C:\\Users\\u\\AppData\\Local\\Programs\\Python\\Python313\\python3.13t.exe\r\n"
		" -V:3.12 *        C:\\Program Files\\Python312\\python.exe\r\n"
		" -V:Astral/CPython3.11.9 C:\\uv\\python\\cpython-3.11.9\\python.exe\r\n"
		"\r\n";
	assert_int_equal(em_interp_parse_py_list(&a, now, strlen(now), &v, &n, &e), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[0].tag, "3.13t");
	assert_false(v[0].is_default);
	assert_string_equal(v[0].path,
			    "C:\\Users\\u\\AppData\\Local\\Programs\\Python\\Python313\\python3.13t.exe");
	assert_string_equal(v[1].tag, "3.12");
	assert_true(v[1].is_default);
	assert_string_equal(v[1].path, "C:\\Program Files\\Python312\\python.exe");
	assert_string_equal(v[2].tag, "Astral/CPython3.11.9");
	static const char old[] =
		"Installed Pythons found by py Launcher for Windows\n"
		" -3.9-64        C:\\Python39\\python.exe *\n"
		" -3.8-32        \\\\server\\share\\Python38\\python.exe\n"
		" -3.7           not a path\n"
		" -\n";
	assert_int_equal(em_interp_parse_py_list(&a, old, strlen(old), &v, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].tag, "3.9-64");
	assert_true(v[0].is_default);
	assert_string_equal(v[0].path, "C:\\Python39\\python.exe");
	assert_string_equal(v[1].tag, "3.8-32");
	assert_false(v[1].is_default);
	assert_string_equal(v[1].path, "\\\\server\\share\\Python38\\python.exe");
	assert_int_equal(em_interp_parse_py_list(&a, "", 0, &v, &n, &e), 0);
	assert_int_equal(n, 0);
	em_arena_release(&a);
}

/* ---- the machine's own interpreters ---- */

static const char *find_in_path(const char *name, char *buf, size_t size)
{
	const char *path = getenv("PATH");
	if (!path)
		return NULL;
	while (*path) {
		const char *c = strchr(path, ':');
		size_t n = c ? (size_t)(c - path) : strlen(path);
		if (n && (size_t)snprintf(buf, size, "%.*s/%s", (int)n, path, name) < size &&
		    access(buf, X_OK) == 0)
			return buf;
		path += n;
		if (*path == ':')
			path++;
	}
	return NULL;
}

static void test_query_host_python(void **state)
{
	(void)state;
	char buf[4096];
	const char *py = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3"
							      : find_in_path("python3", buf, sizeof buf);
	if (!py) {
		print_message("SKIP: no python3 on this machine (apt-get install python3)\n");
		skip();
	}
	struct em_arena a;
	em_arena_init(&a);
	struct em_interp it;
	struct em_error e;
	double t0 = now_s();
	int rc = em_interp_query(&a, py, &it, &e);
	double took = now_s() - t0;
	if (rc)
		fail_msg("query of %s: %s", py, e.msg);
	char name[EM_PYTHON_NAME_MAX];
	em_python_name(&it.py, name, sizeof name);
	print_message("  %s: %s %s (%s), %.0f ms\n", py, it.implementation, name, it.realpath,
		      took * 1000);
	assert_int_equal(it.py.major, 3);
	/* the same version as the interpreter says itself */
	const char *argv[] = { py, "-c",
			       "import sys; v = sys.version_info; print('%d.%d.%d' % v[:3])",
			       NULL };
	struct em_proc_result r;
	assert_int_equal(em_proc_run(&a, argv, NULL, 256, 10000, &r, &e), 0);
	assert_int_equal(r.status, 0);
	char want[64];
	snprintf(want, sizeof want, "%u.%u.%u\n", it.py.major, it.py.minor, it.py.micro);
	assert_string_equal(r.out, want);
	em_arena_release(&a);
}

static void test_discover_host(void **state)
{
	(void)state;
	struct em_arena a;
	em_arena_init(&a);
	struct em_interp_list l;
	struct em_error e;
	double t0 = now_s();
	assert_int_equal(em_interp_discover(&a, &l, &e), 0);
	double took = now_s() - t0;
	print_message("  discovery: %u interpreters in %.0f ms\n", l.n, took * 1000);
	for (uint32_t i = 0; i < l.n; i++) {
		char name[EM_PYTHON_NAME_MAX];
		em_python_name(&l.items[i].py, name, sizeof name);
		print_message("  %-9s %-5s %s\n", name, l.items[i].source, l.items[i].path);
		assert_string_equal(l.items[i].implementation, "cpython");
		assert_int_equal(l.items[i].py.major, 3);
		for (uint32_t j = 0; j < i; j++)
			assert_string_not_equal(l.items[i].realpath, l.items[j].realpath);
	}

	/* every pyenv 3.x version is found, by its realpath */
	struct em_proc_result r;
	const char *argv[] = { "pyenv", "root", NULL };
	char root[4096] = "";
	if (em_proc_run(&a, argv, NULL, sizeof root - 1, 10000, &r, NULL) == 0 && r.status == 0) {
		size_t n = r.outlen;
		while (n && (r.out[n - 1] == '\n' || r.out[n - 1] == '\r'))
			n--;
		memcpy(root, r.out, n);
		root[n] = '\0';
	}
	const char *env_root = getenv("PYENV_ROOT");
	if (!root[0] || (env_root && *env_root && strcmp(env_root, root))) {
		print_message("SKIP: pyenv is not installed (or PYENV_ROOT differs from "
			      "'pyenv root'); the multi-version checks need it\n");
		em_arena_release(&a);
		skip();
	}
	char cmd[8400];
	snprintf(cmd, sizeof cmd,
		 "for d in '%s'/versions/*/; do [ -e \"$d/pyvenv.cfg\" ] && continue; "
		 "for p in \"$d\"bin/python3; do [ -x \"$p\" ] && readlink -f \"$p\"; done; done",
		 root);
	const char *sh[] = { "/bin/sh", "-c", cmd, NULL };
	assert_int_equal(em_proc_run(&a, sh, NULL, 65536, 10000, &r, &e), 0);
	unsigned expected = 0;
	for (char *line = strtok(r.out, "\n"); line; line = strtok(NULL, "\n")) {
		expected++;
		bool found = false;
		for (uint32_t i = 0; i < l.n; i++)
			found = found || !strcmp(l.items[i].realpath, line);
		if (!found)
			fail_msg("pyenv interpreter %s was not discovered", line);
	}
	print_message("  all %u pyenv python3 interpreters found\n", expected);
	assert_true(l.n >= expected);
	em_arena_release(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_proc_status),
		cmocka_unit_test(test_proc_signals_reset),
		cmocka_unit_test(test_proc_timeout),
		cmocka_unit_test(test_proc_group),
		cmocka_unit_test(test_proc_truncation),
		cmocka_unit_test(test_proc_errors),
		cmocka_unit_test(test_query_fake),
		cmocka_unit_test(test_discover_fake),
		cmocka_unit_test(test_discover_managed_and_kept),
		cmocka_unit_test(test_py_launcher_list),
		cmocka_unit_test(test_query_host_python),
		cmocka_unit_test(test_discover_host),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
