/* proc.h - processes: running a child and capturing what it prints,
 * killing what it started with it, replacing this process, interrupts
 *
 * POSIX: posix_spawn, process groups and signals (proc.c). Windows: the
 * same calls with CreateProcessW, a job object in place of the group and
 * a console control handler in place of SIGINT/SIGTERM. */
#ifndef ENVMATRIX_PROC_H
#define ENVMATRIX_PROC_H

#include <signal.h>
#include <stddef.h>

#include "util/arena.h"
#include "envmatrix/error.h"

struct em_proc_result {
	int status;      /* exit status, or 128+signal when killed */
	char *out;       /* stdout, NUL-terminated (arena) */
	size_t outlen;
	char *err;       /* stderr, NUL-terminated (arena) */
	size_t errlen;
	int timed_out;     /* killed at the deadline (status is then 137) */
	int canceled;      /* killed because *cancel was set (em_proc_run_group) */
	int out_truncated; /* more than max_out bytes were written (and dropped) */
	int err_truncated;
};

/* Run argv[0] (searched in PATH when it has no '/') with argv, no stdin,
 * capturing at most max_out bytes of each stream (the rest is read and
 * dropped), killing it with SIGKILL after timeout_ms (0: no limit). envp
 * NULL keeps the environment. Returns 0 whenever the child ran, whatever
 * its status (a timeout included); a failure to start is an error naming
 * the program (EM_ENOTFOUND when it does not exist). The child's own
 * children are not waited for once it has exited. The caller must not
 * ignore SIGCHLD (the exit status would be lost: EM_EIO). */
EM_MUST_USE
int em_proc_run(struct em_arena *a, const char *const argv[], const char *const envp[],
		size_t max_out, int timeout_ms, struct em_proc_result *out, struct em_error *e);

/* em_proc_run for commands that may start processes of their own (the
 * verify commands a matrix lists): the child leads a new process group,
 * and at the deadline, when *cancel is set (cancel may be NULL), and once
 * the child has exited, the whole group gets SIGKILL, so nothing it
 * started outlives it (a process that left the group with setsid
 * escapes). The group is killed before the child is reaped, so its id
 * cannot have been reused. Being in its own group, the child does not get
 * the terminal's Ctrl-C: pass the flag the SIGINT handler sets. */
EM_MUST_USE
int em_proc_run_group(struct em_arena *a, const char *const argv[], const char *const envp[],
		      size_t max_out, int timeout_ms, volatile sig_atomic_t *cancel,
		      struct em_proc_result *out, struct em_error *e);

/* Replace this process with argv[0] (searched in PATH when it has no
 * '/'), keeping the environment (execvp; Windows: run it, wait, and exit
 * with its status). Returns only on failure: -1 and errno. */
EM_MUST_USE
int em_os_exec(const char *const argv[]);

/* Set *flag to 1 when the user interrupts (SIGINT, SIGTERM; Windows:
 * Ctrl-C, Ctrl-Break, close) instead of dying; blocking calls return
 * early (EINTR) so callers can check it. em_os_release_stop puts back
 * what was there before. One flag at a time. */
void em_os_catch_stop(volatile sig_atomic_t *flag);
void em_os_release_stop(void);

/* End this process at once, as a crash would (SIGKILL; Windows:
 * TerminateProcess): the crash-safety test hooks use it. */
void em_os_kill_self(void);
#endif
