/*
 * token_remote.c: ledgerd's end of its signer process (token_remote.h; docs/signer.md#the-signer-process).
 *
 * The signer process is a separate program, ledger-signer, found beside this process's own
 * executable and started with posix_spawn(): an exec, not a fork, so that it holds nothing of
 * ledgerd's memory (a fork would copy the keys of the log, the store's pages, every request
 * buffer), and so that it can be started again from a process with threads, which fork()
 * without exec cannot do safely. Its end of a SOCK_SEQPACKET socketpair is its descriptor 3;
 * every other descriptor of ours is close-on-exec (ours here are created so), and it closes any
 * other it finds. It gets an empty signal mask, default dispositions and a process group of its
 * own, so that a terminal's ^C reaches ledgerd, whose stop closes the socket: the signer process
 * exits when its end reads end-of-file, which also happens when ledgerd dies, however.
 *
 * One channel for the process, one request at a time under a lock: the signer process has one
 * thread and the token signs one digest at a time anyway; the lock costs the round trip
 * (docs/benchmarks.md#signer-process). A request waits SIGNER_PROCESS_REPLY_MS_MAX at most.
 *
 * When the signer process dies (killed, crashed) or stops answering, the request that finds it
 * so fails with SIGNER_ERR_CRYPTO: whoever asked for a signature records the failure
 * (SignatureFailed for a document). It cannot be known whether that very request killed it, so
 * it is not retried. The process is then killed if it still runs, reaped, and started again at
 * once, under the same lock, so that the next request is served; if it cannot be started (the
 * PIN changed, say) each later request tries again, and fails with the reason.
 *
 * A process that dies between requests would stay a zombie until the next request: ledgerd's
 * expiry thread calls signer_process_reap() every second, which waits (WNOHANG) for that pid
 * alone, never for any child (the .xls reader's forks are waited for by whoever forked them),
 * and keeps how it ended for the next request's message. The next request still fails and
 * starts a new process, as it would have: one rule for a death, whenever it is noticed.
 */
#include "token_remote.h"
#include "token_server.h" /* TOKEN_SERVER_FD */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define REMOTE_STOP_MS_MAX 2000 /* a signer process given end-of-file exits within this, or is killed */
#define REMOTE_WHY_BYTES   SIGNER_PROCESS_WHY_BYTES

static struct {
	pthread_mutex_t lock;
	bool active;                  /* signer_process_start() succeeded, signer_process_stop() not called */
	int fd;                       /* our end; -1 while the process is dead and could not be started again */
	pid_t pid;                    /* 0 likewise, and once reaped by signer_process_reap() */
	pid_t ended_pid;              /* the process signer_process_reap() waited for, 0 if none */
	char ended[REMOTE_WHY_BYTES]; /* how it ended, for the request that finds it dead */
	char keys_dir[PATH_MAX];
	char program[PATH_MAX];
} remote = {.lock = PTHREAD_MUTEX_INITIALIZER, .fd = -1};

bool token_remote_active(void)
{
	pthread_mutex_lock(&remote.lock);
	bool active = remote.active;
	pthread_mutex_unlock(&remote.lock);
	return active;
}

/* SIGNER_PROCESS_PROGRAM in the directory of this process's executable, into out. */
static signer_err program_path(char out[PATH_MAX])
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0)
		return signer_fail(SIGNER_ERR_IO, "/proc/self/exe: %s", strerror(errno));
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (!slash)
		return signer_fail(SIGNER_ERR_IO, "/proc/self/exe is %s, not a path", self);
	*slash = '\0';
	if (snprintf(out, PATH_MAX, "%s/%s", self, SIGNER_PROCESS_PROGRAM) >= PATH_MAX)
		return signer_fail(SIGNER_ERR_IO, "%s: path too long", self);
	if (access(out, X_OK) != 0)
		return signer_fail(SIGNER_ERR_IO, "%s: %s (it is installed beside ledgerd)", out, strerror(errno));
	return SIGNER_OK;
}

static void timeout_set(int fd, int ms)
{
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

/* Says in why how the process pid ended: got and status from waitpid(pid). */
static void describe(pid_t pid, pid_t got, int status, char why[REMOTE_WHY_BYTES])
{
	if (got != pid)
		snprintf(why, REMOTE_WHY_BYTES, "ended (%s)", strerror(errno));
	else if (WIFSIGNALED(status))
		snprintf(why, REMOTE_WHY_BYTES, "was killed by signal %d", WTERMSIG(status));
	else
		snprintf(why, REMOTE_WHY_BYTES, "exited with status %d", WEXITSTATUS(status));
}

/* Says in why how the process pid ended, after waiting for it at most wait_ms (then killing it). */
static void reap(pid_t pid, int wait_ms, char why[REMOTE_WHY_BYTES])
{
	int status = 0;
	pid_t got = 0;
	for (int waited = 0; (got = waitpid(pid, &status, WNOHANG)) == 0 && waited < wait_ms; waited += 10)
		nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
	if (got == 0) {
		kill(pid, SIGKILL);
		got = waitpid(pid, &status, 0);
	}
	describe(pid, got, status, why);
}

/* Drops the process: closes our end, then reaps it (killing it after wait_ms), unless
 * signer_process_reap() did. Under lock. */
static void drop(int wait_ms, char why[REMOTE_WHY_BYTES])
{
	if (remote.fd >= 0)
		close(remote.fd);
	remote.fd = -1;
	if (remote.pid > 0)
		reap(remote.pid, wait_ms, why);
	else if (remote.ended_pid > 0)
		snprintf(why, REMOTE_WHY_BYTES, "%s", remote.ended);
	remote.pid = 0;
	remote.ended_pid = 0;
}

/* Starts ledger-signer on child_end (as its descriptor 3) into remote.pid. */
static signer_err spawn_program(int child_end)
{
	posix_spawn_file_actions_t actions;
	posix_spawnattr_t attr;
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawn_file_actions_init(&actions);
	posix_spawnattr_init(&attr);
	posix_spawn_file_actions_adddup2(&actions, child_end, TOKEN_SERVER_FD);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
	char *argv[] = {remote.program, "--keys", remote.keys_dir, NULL};
	int rc = posix_spawn(&remote.pid, remote.program, &actions, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&actions);
	posix_spawnattr_destroy(&attr);
	if (rc != 0) {
		remote.pid = 0;
		return signer_fail(SIGNER_ERR_IO, "starting %s: %s", remote.program, strerror(rc));
	}
	return SIGNER_OK;
}

/* Starts the signer process and waits for its greeting. Under lock; remote.fd < 0. */
static signer_err spawn(void)
{
	int pair[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0)
		return signer_fail(SIGNER_ERR_IO, "socketpair: %s", strerror(errno));
	/* above TOKEN_SERVER_FD, so that the dup2 onto it always makes a new, inheritable descriptor */
	int child_end = fcntl(pair[1], F_DUPFD_CLOEXEC, TOKEN_SERVER_FD + 1);
	close(pair[1]);
	signer_err err =
	    child_end < 0 ? signer_fail(SIGNER_ERR_IO, "fcntl: %s", strerror(errno)) : spawn_program(child_end);
	if (child_end >= 0)
		close(child_end);
	if (err) {
		close(pair[0]);
		return err;
	}
	remote.fd = pair[0];
	timeout_set(remote.fd, SIGNER_PROCESS_START_MS_MAX);
	uint8_t in[TOKEN_WIRE_REPLY_BYTES_MAX];
	ssize_t n = recv(remote.fd, in, sizeof in, 0);
	token_wire_reply hello;
	if (n <= 0)
		err = signer_fail(SIGNER_ERR_KEYS, "the signer process did not log in to the token within %d ms%s",
		                  SIGNER_PROCESS_START_MS_MAX, n == 0 ? " (it exited)" : "");
	else if ((err = token_wire_reply_decode(in, (size_t)n, TOKEN_WIRE_HELLO, &hello)) == SIGNER_OK && hello.status)
		err = signer_fail(hello.status, "%.*s", (int)hello.body_bytes, (const char *)hello.body);
	if (err) {
		char why[REMOTE_WHY_BYTES];
		drop(REMOTE_STOP_MS_MAX, why);
		return err;
	}
	timeout_set(remote.fd, SIGNER_PROCESS_REPLY_MS_MAX);
	return SIGNER_OK;
}

/* One round trip on a live channel; false when the channel failed (why says how). Under lock. */
static bool exchange(const uint8_t *out, size_t out_bytes, uint8_t in[TOKEN_WIRE_REPLY_BYTES_MAX], ssize_t *in_bytes,
                     char why[REMOTE_WHY_BYTES])
{
	if (send(remote.fd, out, out_bytes, MSG_NOSIGNAL) != (ssize_t)out_bytes) {
		snprintf(why, REMOTE_WHY_BYTES, "sending: %s", strerror(errno));
		return false;
	}
	do
		*in_bytes = recv(remote.fd, in, TOKEN_WIRE_REPLY_BYTES_MAX, 0);
	while (*in_bytes < 0 && errno == EINTR);
	if (*in_bytes > 0)
		return true;
	if (*in_bytes == 0)
		snprintf(why, REMOTE_WHY_BYTES, "closed the socket");
	else if (errno == EAGAIN || errno == EWOULDBLOCK)
		snprintf(why, REMOTE_WHY_BYTES, "did not answer within %d ms", SIGNER_PROCESS_REPLY_MS_MAX);
	else
		snprintf(why, REMOTE_WHY_BYTES, "receiving: %s", strerror(errno));
	return false;
}

/* After a failed exchange: the process is dropped (killed) and started again; the request fails. */
static signer_err restart(const char *failed)
{
	pid_t pid = remote.pid > 0 ? remote.pid : remote.ended_pid;
	char ended[REMOTE_WHY_BYTES] = "";
	drop(0, ended);
	signer_err again = spawn();
	char started[SIGNER_ERROR_BYTES_MAX];
	snprintf(started, sizeof started, "%s", again ? signer_last_error() : "");
	return signer_fail(SIGNER_ERR_CRYPTO, "the signer process (pid %ld) %s and %s; this request fails; %s%s",
	                   (long)pid, failed, ended, again ? "it cannot be started again: " : "it was started again",
	                   started);
}

/* Sends r and reads its reply into *reply; a reply's error status is returned as it is. */
static signer_err call(const token_wire_request *r, token_wire_reply *reply)
{
	uint8_t out[TOKEN_WIRE_REQUEST_BYTES_MAX], in[TOKEN_WIRE_REPLY_BYTES_MAX];
	size_t out_bytes = 0;
	signer_err err = token_wire_request_encode(r, out, &out_bytes);
	if (err)
		return err;
	pthread_mutex_lock(&remote.lock);
	if (!remote.active)
		err = signer_fail(SIGNER_ERR_CRYPTO, "the signer process is stopped");
	else if (remote.fd < 0)
		err = spawn(); /* it died and could not be started again then: try now */
	ssize_t in_bytes = 0;
	char why[REMOTE_WHY_BYTES];
	if (!err && !exchange(out, out_bytes, in, &in_bytes, why))
		err = restart(why);
	else if (!err)
		err = token_wire_reply_decode(in, (size_t)in_bytes, r->type, reply);
	pthread_mutex_unlock(&remote.lock);
	if (!err && reply->status)
		err = signer_fail(reply->status, "%.*s", (int)reply->body_bytes, (const char *)reply->body);
	return err;
}

/* A request of type for label. */
static signer_err call_label(token_wire_type type, const char *label, token_wire_reply *reply)
{
	token_wire_request r = {.type = type};
	if (!token_wire_label_valid(label))
		return signer_fail(SIGNER_ERR_INVALID, "a key label must be 1..%u bytes of [A-Za-z0-9._-]",
		                   TOKEN_KEY_LABEL_BYTES_MAX);
	snprintf(r.label, sizeof r.label, "%s", label);
	return call(&r, reply);
}

signer_err token_remote_key_generate(const char *label)
{
	token_wire_reply reply;
	return call_label(TOKEN_WIRE_GENERATE, label, &reply);
}

signer_err token_remote_key_load(const char *label, EVP_PKEY **key)
{
	token_wire_reply reply;
	*key = NULL;
	signer_err err = call_label(TOKEN_WIRE_LOAD, label, &reply);
	return err ? err : token_remote_key_new(label, reply.body, reply.body_bytes, key);
}

signer_err token_remote_key_destroy(const char *label)
{
	token_wire_reply reply;
	return call_label(TOKEN_WIRE_DESTROY, label, &reply);
}

signer_err token_remote_objects_count(const char *label, size_t *count)
{
	token_wire_reply reply;
	*count = 0;
	signer_err err = call_label(TOKEN_WIRE_COUNT, label, &reply);
	for (size_t i = 0; !err && i < 4; i++)
		*count = (*count << 8) | reply.body[i];
	return err;
}

signer_err token_remote_key_protection(const char *label, bool *sensitive, bool *extractable)
{
	token_wire_reply reply;
	signer_err err = call_label(TOKEN_WIRE_PROTECTION, label, &reply);
	*sensitive = !err && reply.body[0] == 1;
	*extractable = err || reply.body[1] != 0;
	return err;
}

signer_err token_remote_sign(const char *label, const uint8_t digest[TOKEN_WIRE_DIGEST_BYTES],
                             uint8_t der[TOKEN_WIRE_SIGNATURE_BYTES_MAX], size_t *der_bytes)
{
	token_wire_request r = {.type = TOKEN_WIRE_SIGN};
	snprintf(r.label, sizeof r.label, "%s", label);
	memcpy(r.digest, digest, TOKEN_WIRE_DIGEST_BYTES);
	token_wire_reply reply;
	*der_bytes = 0;
	signer_err err = call(&r, &reply);
	if (!err) {
		memcpy(der, reply.body, reply.body_bytes);
		*der_bytes = reply.body_bytes;
	}
	return err;
}

/* ----- signer.h ----- */

signer_err signer_process_start(const char *keys_dir)
{
	if (!keys_dir || strlen(keys_dir) >= sizeof remote.keys_dir)
		return signer_fail(SIGNER_ERR_INVALID, "signer_process_start: no keys directory, or too long");
	pthread_mutex_lock(&remote.lock);
	signer_err err = remote.active ? signer_fail(SIGNER_ERR_EXISTS, "a signer process runs already") : SIGNER_OK;
	token_config config; /* whether keys_dir names a token at all; the PIN is not read */
	if (!err)
		err = token_config_read(keys_dir, &config);
	if (!err)
		err = program_path(remote.program);
	if (!err) {
		snprintf(remote.keys_dir, sizeof remote.keys_dir, "%s", keys_dir);
		err = spawn();
	}
	if (!err)
		remote.active = true;
	pthread_mutex_unlock(&remote.lock);
	return err;
}

void signer_process_stop(void)
{
	pthread_mutex_lock(&remote.lock);
	char why[REMOTE_WHY_BYTES];
	drop(REMOTE_STOP_MS_MAX, why);
	remote.active = false;
	pthread_mutex_unlock(&remote.lock);
}

long signer_process_reap(char why[SIGNER_PROCESS_WHY_BYTES])
{
	why[0] = '\0';
	if (pthread_mutex_trylock(&remote.lock) != 0)
		return 0; /* a request holds the process: it reaps whatever it finds dead itself */
	int status = 0;
	pid_t got = remote.pid > 0 ? waitpid(remote.pid, &status, WNOHANG) : 0;
	long reaped = 0;
	if (got == remote.pid && got > 0) {
		describe(remote.pid, got, status, remote.ended);
		snprintf(why, SIGNER_PROCESS_WHY_BYTES, "%s", remote.ended);
		reaped = remote.ended_pid = remote.pid;
		remote.pid = 0; /* its number may now be another process's: never wait for nor kill it again */
	}
	pthread_mutex_unlock(&remote.lock);
	return reaped;
}

long signer_process_pid(void)
{
	pthread_mutex_lock(&remote.lock);
	long pid = remote.pid;
	pthread_mutex_unlock(&remote.lock);
	return pid;
}
