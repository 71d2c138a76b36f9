/*
 * child.h: one of our programs (ledgerd serve, mostly) as a child of a test: started with a
 * pipe on which it writes "ready\n" once it serves (`--ready-fd N`), waited for within a time
 * limit, and its exit waited for within one too. Between fork and exec the child calls only
 * async-signal-safe functions, since the tests that start it may have threads; it is killed
 * (SIGKILL) when the thread that started it ends, so that a test killed by a timeout leaves no
 * daemon behind.
 */
#ifndef TESTS_SUPPORT_CHILD_H
#define TESTS_SUPPORT_CHILD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define CHILD_ARGS_MAX 32 /* arguments of a child, --ready-fd N included */

/* Starts argv[0] with the arguments argv (NULL-terminated) followed by `--ready-fd N`, in the
 * environment envp (NULL: this process's), and waits up to timeout_ms for "ready\n" on that
 * pipe. True once it said so, its pid in *pid. False when it could not be started (errno says
 * why; *status is -1) or did not become ready in time: it is then killed and reaped, and
 * *status is its wait status (-1 if it could not be reaped within timeout_ms). */
bool child_start(const char *const *argv, char *const *envp, int timeout_ms, pid_t *pid, int *status);

/* Waits up to timeout_ms for pid to exit: true with its wait status in *status. */
bool child_wait(pid_t pid, int timeout_ms, int *status);

/* A wait status in words ("exit status 3", "signal 9"; "no exit status" for -1) into out. */
void child_describe(int status, char *out, size_t out_bytes);

#endif
