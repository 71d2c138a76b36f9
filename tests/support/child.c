/* child.c: see child.h. */
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define POLL_WAIT_MS 10

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reads fd until "ready\n", EOF (the child exited first) or the deadline. */
static bool ready_read(int fd, int timeout_ms)
{
	char buf[64];
	size_t n = 0;
	int64_t deadline = now_ms() + timeout_ms;
	while (n < sizeof buf - 1) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return false;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int rc = poll(&p, 1, (int)left);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0)
			return false;
		ssize_t got = read(fd, buf + n, sizeof buf - 1 - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return false;
		n += (size_t)got;
		buf[n] = '\0';
		if (strstr(buf, "ready\n"))
			return true;
	}
	return false;
}

bool child_start(const char *const *argv, char *const *envp, int timeout_ms, pid_t *pid, int *status)
{
	*status = -1;
	const char *args[CHILD_ARGS_MAX + 1];
	size_t argc = 0;
	for (; argv[argc] && argc < CHILD_ARGS_MAX - 2; argc++)
		args[argc] = argv[argc];
	if (argv[argc]) {
		errno = E2BIG;
		return false;
	}
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) != 0)
		return false;
	char fd_arg[16];
	snprintf(fd_arg, sizeof fd_arg, "%d", fds[1]);
	args[argc++] = "--ready-fd";
	args[argc++] = fd_arg;
	args[argc] = NULL;
	pid_t parent = getpid();
	fflush(NULL); /* the child must not print our buffered output a second time */
	pid_t child = fork();
	if (child == 0) {
		/* Async-signal-safe calls only. The write end of the pipe is the one fd kept. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent || fcntl(fds[1], F_SETFD, 0) != 0)
			_exit(127);
		execve(args[0], (char *const *)args, envp ? envp : environ);
		_exit(127);
	}
	int saved = errno;
	close(fds[1]);
	if (child < 0) {
		close(fds[0]);
		errno = saved;
		return false;
	}
	bool ready = ready_read(fds[0], timeout_ms);
	close(fds[0]);
	if (ready) {
		*pid = child;
		return true;
	}
	(void)kill(child, SIGKILL); /* it may have exited already: the wait tells */
	if (!child_wait(child, timeout_ms, status))
		*status = -1;
	return false;
}

bool child_wait(pid_t pid, int timeout_ms, int *status)
{
	int64_t deadline = now_ms() + timeout_ms;
	for (;;) {
		pid_t got = waitpid(pid, status, WNOHANG);
		if (got == pid)
			return true;
		if (got < 0 && errno != EINTR)
			return false;
		if (now_ms() >= deadline)
			return false;
		struct timespec pause = {0, POLL_WAIT_MS * 1000000L};
		nanosleep(&pause, NULL);
	}
}

void child_describe(int status, char *out, size_t out_bytes)
{
	if (status == -1)
		snprintf(out, out_bytes, "no exit status");
	else if (WIFEXITED(status))
		snprintf(out, out_bytes, "exit status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(out, out_bytes, "signal %d", WTERMSIG(status));
	else
		snprintf(out, out_bytes, "status 0x%x", (unsigned)status);
}
