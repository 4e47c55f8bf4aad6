/* posix_proc.c - run a child process and capture what it prints; exec,
 * interrupts
 *
 * posix_spawn (posix_spawnp for a bare name) with stdin on /dev/null and
 * stdout and stderr on two pipes. Signal dispositions and the signal mask
 * are reset to the defaults in the child, so an ignored SIGPIPE or SIGINT
 * here does not leak into it. The parent reads both pipes in a poll() loop,
 * keeps at most max_out bytes of each and drops the rest, and checks every
 * 50 ms whether the child is gone: when it is, what is already in the pipes
 * is read and a grandchild that still holds them open is not waited for.
 * Past the deadline the child gets SIGKILL and is reaped. In a group of its
 * own (em_proc_run_group) the kill goes to the whole group, and so does one
 * after the child's exit, found with waitid(WNOWAIT) before it is reaped.
 */
#include "util/buf.h"
#include "os/proc.h"
#include "os/sys.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define SLICE_MS 50

static long long now_ms(void)
{
	return (long long)(em_os_now_s() * 1000.0);
}

/* A close-on-exec pipe whose ends are above 2, so dup2 onto 1 and 2 in the
 * child always makes a new descriptor (and clears close-on-exec). */
static int make_pipe(int fds[2])
{
	if (pipe2(fds, O_CLOEXEC))
		return -1;
	for (int k = 0; k < 2; k++) {
		if (fds[k] > 2)
			continue;
		int nfd = fcntl(fds[k], F_DUPFD_CLOEXEC, 3);
		if (nfd < 0) {
			close(fds[0]);
			close(fds[1]);
			return -1;
		}
		close(fds[k]);
		fds[k] = nfd;
	}
	return 0;
}

struct stream {
	int fd;             /* -1 once at end of file */
	struct em_buf buf;
	size_t max;
	int truncated;
};

/* Read what is there without blocking, at most 16 reads (1 MiB) so that a
 * child writing without pause cannot keep us from the deadline; closes the
 * stream at end of file. */
static void drain(struct stream *st)
{
	char chunk[65536];
	for (int reads = 0; st->fd >= 0 && reads < 16; reads++) {
		ssize_t got = read(st->fd, chunk, sizeof chunk);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (got <= 0) {
			close(st->fd);
			st->fd = -1;
			return;
		}
		size_t room = st->max - st->buf.len, take = (size_t)got;
		if (take > room) {
			take = room;
			st->truncated = 1;
		}
		em_buf_add(&st->buf, chunk, take);
	}
}

static void close_stream(struct stream *st)
{
	if (st->fd >= 0)
		close(st->fd);
	st->fd = -1;
}

static int reap(pid_t pid, int *status, int flags)
{
	for (;;) {
		pid_t r = waitpid(pid, status, flags);
		if (r < 0 && errno == EINTR)
			continue;
		return (int)r;
	}
}

/* Start the child with stdout and stderr on the pipes' write ends. */
static int spawn(const char *const argv[], const char *const envp[], int out_fd, int err_fd,
		 bool group, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int rc = posix_spawn_file_actions_init(&fa);
	if (rc)
		return rc;
	if ((rc = posix_spawnattr_init(&attr))) {
		posix_spawn_file_actions_destroy(&fa);
		return rc;
	}
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	sigdelset(&all, SIGKILL);
	sigdelset(&all, SIGSTOP);
	if (!rc)
		rc = posix_spawnattr_setsigmask(&attr, &none);
	if (!rc)
		rc = posix_spawnattr_setsigdefault(&attr, &all);
	if (!rc && group)
		rc = posix_spawnattr_setpgroup(&attr, 0);
	if (!rc)
		rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
						     (group ? POSIX_SPAWN_SETPGROUP : 0));
	if (!rc)
		rc = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (!rc)
		rc = posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
	if (!rc)
		rc = posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
	char *const *env = envp ? (char *const *)envp : environ;
	if (!rc) {
		if (strchr(argv[0], '/'))
			rc = posix_spawn(pid, argv[0], &fa, &attr, (char *const *)argv, env);
		else
			rc = posix_spawnp(pid, argv[0], &fa, &attr, (char *const *)argv, env);
	}
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	return rc;
}

/* SIGKILL for the child, and for its group when it leads one. */
static void kill_child(pid_t pid, bool group)
{
	if (group)
		kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
}

/* Whether the child has exited, without reaping it (its id stays taken,
 * so its group can still be killed safely). */
static bool exited_unreaped(pid_t pid)
{
	siginfo_t si;
	memset(&si, 0, sizeof si);
	for (;;) {
		int r = waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT);
		if (r < 0 && errno == EINTR)
			continue;
		return r == 0 && si.si_pid == pid;
	}
}

/* Close the streams and fill out from what they hold and the wait status
 * (err: the wait failed). */
static int take_result(struct em_arena *a, struct stream st[2], int status, int err,
		       const char *q, struct em_proc_result *out, struct em_error *e)
{
	for (int k = 0; k < 2; k++)
		close_stream(&st[k]);
	if (err) {
		em_buf_release(&st[0].buf);
		em_buf_release(&st[1].buf);
		return em_err(e, EM_EIO, NULL, "waiting for '%s': %s", q, strerror(err));
	}
	if (WIFEXITED(status))
		out->status = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		out->status = 128 + WTERMSIG(status);
	else
		out->status = 255;
	int nomem = st[0].buf.err || st[1].buf.err;
	out->out = em_arena_strndup(a, st[0].buf.ptr, st[0].buf.len);
	out->outlen = st[0].buf.len;
	out->err = em_arena_strndup(a, st[1].buf.ptr, st[1].buf.len);
	out->errlen = st[1].buf.len;
	out->out_truncated = st[0].truncated;
	out->err_truncated = st[1].truncated;
	em_buf_release(&st[0].buf);
	em_buf_release(&st[1].buf);
	if (nomem || !out->out || !out->err)
		return em_err_nomem(e);
	return 0;
}

static int run(struct em_arena *a, const char *const argv[], const char *const envp[],
	       size_t max_out, int timeout_ms, bool group, volatile sig_atomic_t *cancel,
	       struct em_proc_result *out, struct em_error *e)
{
	if (!a || !argv || !argv[0] || !argv[0][0] || !out)
		return em_err(e, EM_EUSAGE, NULL, "em_proc_run: no program to run");
	memset(out, 0, sizeof *out);
	char q[160];
	em_quote(q, sizeof q, argv[0], strlen(argv[0]));

	int po[2], pe[2];
	if (make_pipe(po))
		return em_err_sys(e, errno, NULL, "pipe");
	if (make_pipe(pe)) {
		int err = errno;
		close(po[0]);
		close(po[1]);
		return em_err_sys(e, err, NULL, "pipe");
	}
	pid_t pid = -1;
	int rc = spawn(argv, envp, po[1], pe[1], group, &pid);
	close(po[1]);
	close(pe[1]);
	if (rc) {
		close(po[0]);
		close(pe[0]);
		if (rc == ENOENT)
			return em_err(e, EM_ENOTFOUND, NULL, "cannot run '%s': not found", q);
		return em_err(e, EM_EIO, NULL, "cannot run '%s': %s", q, strerror(rc));
	}

	struct stream st[2] = { { po[0], EM_BUF_INIT, max_out, 0 },
				{ pe[0], EM_BUF_INIT, max_out, 0 } };
	for (int k = 0; k < 2; k++)
		fcntl(st[k].fd, F_SETFL, fcntl(st[k].fd, F_GETFL) | O_NONBLOCK);
	long long deadline = timeout_ms > 0 ? now_ms() + timeout_ms : 0;
	/* with both pipes closed, wait 1, 2, 5... ms for the exit, up to the slice */
	static const int backoff[] = { 1, 2, 5, 10, 20 };
	unsigned idle = 0;
	int status = 0, err = 0;
	for (;;) {
		struct pollfd pf[2];
		nfds_t np = 0;
		for (int k = 0; k < 2; k++)
			if (st[k].fd >= 0)
				pf[np++] = (struct pollfd){ st[k].fd, POLLIN, 0 };
		int wait_ms = SLICE_MS;
		if (np == 0 && idle < sizeof backoff / sizeof backoff[0])
			wait_ms = backoff[idle++];
		if (cancel && *cancel) {
			kill_child(pid, group);
			out->canceled = 1;
			reap(pid, &status, 0);
			for (int k = 0; k < 2; k++)
				drain(&st[k]);
			break;
		}
		if (deadline) {
			long long left = deadline - now_ms();
			if (left <= 0) {
				kill_child(pid, group);
				out->timed_out = 1;
				reap(pid, &status, 0);
				for (int k = 0; k < 2; k++)
					drain(&st[k]);
				break;
			}
			if (left < wait_ms)
				wait_ms = (int)left;
		}
		int pr = poll(pf, np, wait_ms);
		if (pr < 0 && errno != EINTR) {
			err = errno;
			kill_child(pid, group);
			reap(pid, &status, 0);
			break;
		}
		if (pr > 0)
			for (int k = 0; k < 2; k++)
				drain(&st[k]);
		/* in a group: what the child started goes with it */
		if (group && exited_unreaped(pid))
			kill(-pid, SIGKILL);
		int w = reap(pid, &status, WNOHANG);
		if (w == pid) {
			/* gone: take what it left in the pipes, wait for no one else */
			for (int k = 0; k < 2; k++)
				drain(&st[k]);
			break;
		}
		if (w < 0) {
			/* ECHILD: SIGCHLD is ignored, the child was reaped by the
			 * system and its status is lost (and its pid may be reused:
			 * no kill) */
			err = errno;
			break;
		}
	}
	return take_result(a, st, status, err, q, out, e);
}


int em_proc_run(struct em_arena *a, const char *const argv[], const char *const envp[],
		size_t max_out, int timeout_ms, struct em_proc_result *out, struct em_error *e)
{
	return run(a, argv, envp, max_out, timeout_ms, false, NULL, out, e);
}

int em_proc_run_group(struct em_arena *a, const char *const argv[], const char *const envp[],
		      size_t max_out, int timeout_ms, volatile sig_atomic_t *cancel,
		      struct em_proc_result *out, struct em_error *e)
{
	return run(a, argv, envp, max_out, timeout_ms, true, cancel, out, e);
}

int em_os_exec(const char *const argv[])
{
	execvp(argv[0], (char *const *)argv);
	return -1;
}

static volatile sig_atomic_t *stop_flag;
static struct sigaction old_int, old_term;
static bool catching;

static void on_stop_signal(int sig)
{
	(void)sig;
	if (stop_flag)
		*stop_flag = 1;
}

/* no SA_RESTART: a blocking call returns EINTR so its caller sees the flag */
void em_os_catch_stop(volatile sig_atomic_t *flag)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	stop_flag = flag;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	catching = true;
}

void em_os_release_stop(void)
{
	if (!catching)
		return;
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	catching = false;
}

void em_os_kill_self(void)
{
	raise(SIGKILL);
}
