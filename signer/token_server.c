/*
 * token_server.c: the signer process serving ledgerd's requests (token_wire.h says the
 * messages, docs/signer.md#the-signer-process why the process exists). One request at a time,
 * in order: the process has one thread and one client, and a token signs one digest at a time
 * anyway. Every request is decoded and checked before the token is touched; what fails gets a
 * typed error and the loop goes on. A packet longer than any request is read truncated (the
 * kernel says its real size) and refused as too large. Only requests sent by the parent process
 * (ledgerd, as the kernel names the sender) are served.
 */
#include "token_server.h"

#include <errno.h>
#include <openssl/x509.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The reply type of a request whose type could not be read: no type of ours. */
#define TOKEN_SERVER_TYPE_UNREAD 0xffu

/* Signs r's digest with r's key into sig (*sig_bytes long). */
static signer_err sign_digest(token *t, const token_wire_request *r, uint8_t sig[TOKEN_WIRE_SIGNATURE_BYTES_MAX],
                              size_t *sig_bytes)
{
	EVP_PKEY *key = NULL;
	signer_err err = token_key_load(t, r->label, &key);
	if (err)
		return err;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key, NULL);
	*sig_bytes = TOKEN_WIRE_SIGNATURE_BYTES_MAX;
	if (!ctx || EVP_PKEY_sign_init(ctx) != 1 || EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) != 1 ||
	    EVP_PKEY_sign(ctx, sig, sig_bytes, r->digest, TOKEN_WIRE_DIGEST_BYTES) != 1)
		err = signer_fail_openssl(SIGNER_ERR_CRYPTO, "signing with the token");
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(key);
	return err;
}

/* The DER SubjectPublicKeyInfo of r's key into der (*der_bytes long). */
static signer_err public_key(token *t, const token_wire_request *r, uint8_t der[TOKEN_WIRE_PUBLIC_KEY_BYTES_MAX],
                             size_t *der_bytes)
{
	EVP_PKEY *key = NULL;
	signer_err err = token_key_load(t, r->label, &key);
	if (err)
		return err;
	int n = i2d_PUBKEY(key, NULL);
	unsigned char *at = der;
	if (n <= 0 || (size_t)n > TOKEN_WIRE_PUBLIC_KEY_BYTES_MAX || i2d_PUBKEY(key, &at) != n)
		err = signer_fail_openssl(SIGNER_ERR_KEYS, "encoding the key's public half");
	*der_bytes = err ? 0 : (size_t)n;
	EVP_PKEY_free(key);
	return err;
}

/* Runs a decoded request; its result body into body (*body_bytes long). */
static signer_err run(token *t, const token_wire_request *r, uint8_t body[TOKEN_WIRE_MESSAGE_BYTES_MAX],
                      size_t *body_bytes)
{
	*body_bytes = 0;
	size_t count = 0;
	bool sensitive = false, extractable = true;
	signer_err err;
	switch (r->type) {
	case TOKEN_WIRE_GENERATE: return token_key_generate(t, r->label);
	case TOKEN_WIRE_LOAD: return public_key(t, r, body, body_bytes);
	case TOKEN_WIRE_SIGN: return sign_digest(t, r, body, body_bytes);
	case TOKEN_WIRE_DESTROY: return token_key_destroy(t, r->label);
	case TOKEN_WIRE_COUNT:
		err = token_objects_count(t, r->label, &count);
		count = count > UINT32_MAX ? UINT32_MAX : count;
		for (size_t i = 0; i < 4; i++)
			body[i] = (uint8_t)(count >> (8 * (3 - i)));
		*body_bytes = err ? 0 : 4;
		return err;
	case TOKEN_WIRE_PROTECTION:
		err = token_key_protection(t, r->label, &sensitive, &extractable);
		body[0] = sensitive;
		body[1] = extractable;
		*body_bytes = err ? 0 : 2;
		return err;
	default: return signer_fail(SIGNER_ERR_INVALID, "request type %d is not one", (int)r->type);
	}
}

size_t token_server_answer(token *t, const uint8_t *in, size_t bytes, uint8_t out[TOKEN_WIRE_REPLY_BYTES_MAX])
{
	token_wire_request r;
	signer_err err = token_wire_request_decode(in, bytes, &r);
	if (err)
		return token_wire_reply_encode(bytes >= 2 && in[1] > TOKEN_WIRE_HELLO && in[1] < TOKEN_WIRE_TYPE_END
		                                   ? (token_wire_type)in[1]
		                                   : (token_wire_type)TOKEN_SERVER_TYPE_UNREAD,
		                               err, NULL, 0, signer_last_error(), out);
	uint8_t body[TOKEN_WIRE_MESSAGE_BYTES_MAX];
	size_t body_bytes = 0;
	err = run(t, &r, body, &body_bytes);
	return token_wire_reply_encode(r.type, err, body, body_bytes, err ? signer_last_error() : NULL, out);
}

/* After recv() returned 0: whether the other end closed the socket, rather than sent an empty
 * packet (a SOCK_SEQPACKET socket reads both as 0 bytes; the empty packet is refused as a request). */
static bool peer_closed(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN | POLLRDHUP};
	int ready = poll(&p, 1, 0);
	return ready < 0 || (ready == 1 && (p.revents & (POLLHUP | POLLRDHUP | POLLERR)) != 0);
}

/* Receives one packet into in (its real size, even past the buffer, into *bytes) and the pid of
 * the process that sent it, as the kernel saw it (SCM_CREDENTIALS: a sender cannot choose it but
 * for a pid it may act for), into *sender. recvmsg's result. */
static ssize_t receive(int fd, uint8_t in[TOKEN_WIRE_REQUEST_BYTES_MAX + 1], pid_t *sender)
{
	union {
		struct cmsghdr align;
		char bytes[CMSG_SPACE(sizeof(struct ucred))];
	} control;
	struct iovec iov = {.iov_base = in, .iov_len = TOKEN_WIRE_REQUEST_BYTES_MAX + 1};
	struct msghdr m = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.bytes, .msg_controllen = sizeof control};
	ssize_t n = recvmsg(fd, &m, MSG_TRUNC);
	*sender = 0;
	for (struct cmsghdr *c = n >= 0 ? CMSG_FIRSTHDR(&m) : NULL; c; c = CMSG_NXTHDR(&m, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
		    c->cmsg_len == CMSG_LEN(sizeof(struct ucred))) {
			struct ucred cred;
			memcpy(&cred, CMSG_DATA(c), sizeof cred);
			*sender = cred.pid;
		}
	return n;
}

int token_server_run(token *t, int fd)
{
	int on = 1;
	if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof on) != 0) {
		fprintf(stderr, "ledger-signer: SO_PASSCRED: %s\n", strerror(errno));
		return -1;
	}
	pid_t parent = getppid();
	for (;;) {
		uint8_t in[TOKEN_WIRE_REQUEST_BYTES_MAX + 1];
		pid_t sender = 0;
		ssize_t n = receive(fd, in, &sender);
		if (n == 0 && peer_closed(fd))
			return 0; /* ledgerd closed its end: it is stopping, or gone */
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "ledger-signer: receiving a request: %s\n", strerror(errno));
			return -1;
		}
		/* Only the process that started this one is served. A process forked from ledgerd
		 * without exec (the .xls reader) holds a copy of its end of the socket: its requests
		 * are dropped unanswered, since an answer would be read by whoever reads next, ledgerd
		 * perhaps, and taken for the answer to its own request. */
		if (sender != parent) {
			fprintf(stderr, "ledger-signer: a request from pid %ld, not from ledgerd (pid %ld): dropped\n",
			        (long)sender, (long)parent);
			continue;
		}
		/* n is the packet's size, even past the buffer: a long one is refused unread */
		uint8_t out[TOKEN_WIRE_REPLY_BYTES_MAX];
		size_t reply_bytes = token_server_answer(t, in, (size_t)n, out);
		if (send(fd, out, reply_bytes, MSG_NOSIGNAL) != (ssize_t)reply_bytes) {
			if (errno == EPIPE || errno == ECONNRESET)
				return 0;
			fprintf(stderr, "ledger-signer: sending a reply: %s\n", strerror(errno));
			return -1;
		}
	}
}
