/* client.c: see client.h. */
#include "client.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

struct api_client {
	nng_socket sock;
};

api_client *api_client_open(const char *url, int timeout_ms, const char **why)
{
	api_client *c = calloc(1, sizeof *c);
	if (!c)
		return *why = "out of memory", NULL;
	int rv = nng_req0_open(&c->sock);
	if (rv == 0)
		rv = nng_socket_set_ms(c->sock, NNG_OPT_RECVTIMEO, timeout_ms);
	if (rv == 0)
		rv = nng_socket_set_ms(c->sock, NNG_OPT_SENDTIMEO, timeout_ms);
	/* Never resend on our own: a retry is the caller's, with the same request id. */
	if (rv == 0)
		rv = nng_socket_set_ms(c->sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	if (rv == 0)
		rv = nng_socket_set_size(c->sock, NNG_OPT_RECVMAXSZ, 64u << 20);
	if (rv == 0)
		rv = nng_dial(c->sock, url, NULL, 0);
	if (rv != 0) {
		*why = nng_strerror(rv);
		nng_close(c->sock);
		free(c);
		return NULL;
	}
	return c;
}

void api_client_close(api_client *c)
{
	if (!c)
		return;
	nng_close(c->sock);
	free(c);
}

bool api_client_call_raw(api_client *c, const uint8_t *bytes, size_t n, Ledger__Api__Reply **reply, const char **why)
{
	nng_msg *msg;
	int rv = nng_msg_alloc(&msg, n);
	if (rv != 0)
		return *why = nng_strerror(rv), false;
	if (n)
		memcpy(nng_msg_body(msg), bytes, n);
	if ((rv = nng_sendmsg(c->sock, msg, 0)) != 0) {
		nng_msg_free(msg);
		return *why = nng_strerror(rv), false;
	}
	if ((rv = nng_recvmsg(c->sock, &msg, 0)) != 0)
		return *why =
		           rv == NNG_ETIMEDOUT ? "no reply from ledgerd (timed out; is it running?)" : nng_strerror(rv),
		       false;
	*reply = ledger__api__reply__unpack(NULL, nng_msg_len(msg), nng_msg_body(msg));
	nng_msg_free(msg);
	if (!*reply)
		return *why = "unreadable reply", false;
	return true;
}

bool api_client_call(api_client *c, const Ledger__Api__Request *req, Ledger__Api__Reply **reply, const char **why)
{
	size_t n = ledger__api__request__get_packed_size(req);
	uint8_t *buf = malloc(n ? n : 1);
	if (!buf)
		return *why = "out of memory", false;
	ledger__api__request__pack(req, buf);
	bool ok = api_client_call_raw(c, buf, n, reply, why);
	free(buf);
	return ok;
}

void api_request_id(char out[33])
{
	uint8_t r[16];
	randombytes_buf(r, sizeof r);
	sodium_bin2hex(out, 33, r, sizeof r);
}
