/*
 * ledger-signer: the signer process of ledgerd (docs/signer.md#the-signer-process). ledgerd
 * starts it (token_remote.c) with its end of a SOCK_SEQPACKET socketpair on descriptor 3 and
 * the keys directory; this program alone loads the PKCS #11 module, reads the PIN and logs in.
 * It greets ledgerd with the result of the login (the reason when it failed), then answers the
 * requests of token_wire.h until ledgerd closes its end, and exits. It is a separate program,
 * not a fork of ledgerd, so that its address space holds nothing of ledgerd's: no store, no
 * keys of the log, no request ever parsed.
 */
#include "token_server.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SIGNER_LOCK_WAIT_MS_MAX (SIGNER_PROCESS_START_MS_MAX / 2)

static const char usage[] = "usage: ledger-signer --keys DIR\n"
                            "\n"
                            "The signer process of ledgerd: the only process that opens the PKCS #11 token named in\n"
                            "DIR/pkcs11.conf (docs/signer.md#the-signer-process). ledgerd serve starts it; it serves\n"
                            "the requests ledgerd sends on descriptor 3 (a SOCK_SEQPACKET socket) and exits when\n"
                            "ledgerd closes it. It is not meant to be run by hand.\n"
                            "\n"
                            "  --keys DIR   the keys directory of the data directory ledgerd serves\n"
                            "  -h, --help   this help\n"
                            "\n"
                            "Exit status: 0 when ledgerd closed the socket, 1 when the token cannot be opened or the\n"
                            "socket fails, 2 on a usage error.\n";

/*
 * Takes keys_dir/SIGNER_PROCESS_LOCK_FILE, waiting at most SIGNER_LOCK_WAIT_MS_MAX: one signer
 * process per token at a time. When ledgerd is killed, its signer process finishes the request
 * it is serving before it reads end-of-file; the next ledgerd's signer process must not list
 * the token's objects while that one still changes them (SoftHSM2 answers "object handle
 * invalid"). The lock is released by the kernel when the process ends, however it ends.
 */
static signer_err lock_take(const char *keys_dir)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof path, "%s/%s", keys_dir, SIGNER_PROCESS_LOCK_FILE) >= (int)sizeof path)
		return signer_fail(SIGNER_ERR_IO, "%s: path too long", keys_dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return signer_fail(SIGNER_ERR_IO, "%s: %s", path, strerror(errno));
	for (int waited_ms = 0; flock(fd, LOCK_EX | LOCK_NB) != 0; waited_ms += 10) {
		if (errno != EWOULDBLOCK || waited_ms >= SIGNER_LOCK_WAIT_MS_MAX) {
			close(fd);
			return signer_fail(SIGNER_ERR_KEYS, "%s: another signer process holds it (%s)", path,
			                   errno == EWOULDBLOCK ? "still, after waiting" : strerror(errno));
		}
		nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
	}
	return SIGNER_OK; /* fd stays open, and locked, until the process ends */
}

/* Sends the greeting: the login's result. */
static void greet(int fd, signer_err err)
{
	uint8_t out[TOKEN_WIRE_REPLY_BYTES_MAX];
	size_t bytes = token_wire_reply_encode(TOKEN_WIRE_HELLO, err, NULL, 0, err ? signer_last_error() : NULL, out);
	if (send(fd, out, bytes, MSG_NOSIGNAL) != (ssize_t)bytes)
		perror("ledger-signer: greeting ledgerd");
}

int main(int argc, char **argv)
{
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(usage, stdout);
		return 0;
	}
	if (argc != 3 || strcmp(argv[1], "--keys") != 0) {
		fputs(usage, stderr);
		return 2;
	}
	int type = 0;
	socklen_t type_bytes = sizeof type;
	if (getsockopt(TOKEN_SERVER_FD, SOL_SOCKET, SO_TYPE, &type, &type_bytes) != 0 || type != SOCK_SEQPACKET) {
		fprintf(stderr,
		        "ledger-signer: descriptor %d is not a SOCK_SEQPACKET socket: ledgerd starts this program\n",
		        TOKEN_SERVER_FD);
		return 2;
	}
	/* Before the greeting, after which ledgerd sends: every request carries its sender's pid. */
	int on = 1;
	if (setsockopt(TOKEN_SERVER_FD, SOL_SOCKET, SO_PASSCRED, &on, sizeof on) != 0) {
		perror("ledger-signer: SO_PASSCRED");
		return 1;
	}
	/* Nothing else of ledgerd's: a descriptor it left open by mistake is closed here. */
	close_range(TOKEN_SERVER_FD + 1, ~0u, 0);
	signal(SIGPIPE, SIG_IGN);
	token_config config;
	token *t = NULL;
	signer_err err = lock_take(argv[2]);
	if (!err)
		err = token_config_read(argv[2], &config);
	if (err == SIGNER_ERR_NOT_FOUND)
		err = signer_fail(SIGNER_ERR_KEYS, "%s names no token: there is nothing for a signer process to do",
		                  argv[2]);
	if (!err)
		err = token_open(&config, &t);
	greet(TOKEN_SERVER_FD, err); /* ledgerd prints the reason of a failure */
	if (err)
		return 1;
	int rc = token_server_run(t, TOKEN_SERVER_FD);
	token_close(t);
	return rc == 0 ? 0 : 1;
}
