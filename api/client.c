/* client.c: see client.h. */
#include "client.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/util/platform.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct api_client {
	nng_socket sock;
	int call_attempts_max; /* api_client_retry_on_reset; 1: a reset is the caller's to handle */
};

/* Dials url, over TLS with cfg when it is not NULL. Synchronous: the first connection (and
 * its handshake) is made or refused before this returns. */
static int dial(nng_socket sock, const char *url, nng_tls_config *cfg)
{
	if (!cfg)
		return nng_dial(sock, url, NULL, 0);
	nng_dialer d;
	int rv = nng_dialer_create(&d, sock, url);
	if (rv == 0 && (rv = nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, cfg)) == 0)
		rv = nng_dialer_start(d, 0);
	return rv; /* a dialer not started is closed with the socket */
}

/* A connection reset during the handshake is retried: ledgerd re-creates a listener that
 * nng 1.5.2 stopped (api/listener_guard.h), and a client that connected in that window is
 * reset. Anything else (refused, no such socket, TLS) is an answer and returned at once. */
#define CLIENT_DIAL_RETRY_MS 50

static bool dial_retryable(int rv)
{
	return rv == NNG_ECONNRESET || rv == NNG_ECONNSHUT || rv == NNG_ECONNABORTED || rv == NNG_ECLOSED;
}

/* While a listener is re-created its ipc socket file is briefly absent, or refuses: those are
 * retried for CLIENT_DIAL_REFUSED_WAIT_MS only, so a client of a stopped ledgerd still fails
 * fast. */
#define CLIENT_DIAL_REFUSED_WAIT_MS 500

static int dial_patiently(nng_socket sock, const char *url, nng_tls_config *cfg, int timeout_ms)
{
	int rv = dial(sock, url, cfg);
	for (int waited_ms = 0; waited_ms < timeout_ms; waited_ms += CLIENT_DIAL_RETRY_MS) {
		bool refused = rv == NNG_ECONNREFUSED || rv == NNG_ENOENT;
		if (!dial_retryable(rv) && !(refused && waited_ms < CLIENT_DIAL_REFUSED_WAIT_MS))
			break;
		nng_msleep(CLIENT_DIAL_RETRY_MS);
		rv = dial(sock, url, cfg);
	}
	return rv;
}

api_client *api_client_open_tls(const char *url, int timeout_ms, const api_tls_options *tls, const char **why)
{
	static _Thread_local char message[API_TLS_WHY_BYTES + 64];
	nng_tls_config *cfg = NULL;
	if (api_tls_url(url)) {
		if (!tls) {
			snprintf(message, sizeof message, "%s is a TLS URL: the trust anchor (--tls-ca) is missing",
			         url);
			return *why = message, NULL;
		}
		if (!api_tls_config_client(tls, url, &cfg, message, sizeof message))
			return *why = message, NULL;
	}
	api_client *c = calloc(1, sizeof *c);
	if (!c) {
		if (cfg)
			nng_tls_config_free(cfg);
		return *why = "out of memory", NULL;
	}
	c->call_attempts_max = 1;
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
		rv = dial_patiently(c->sock, url, cfg, timeout_ms);
	bool tls_used = cfg != NULL;
	if (cfg)
		nng_tls_config_free(cfg); /* the dialer holds its own reference */
	if (rv != 0) {
		if (tls_used && api_tls_dial_why(rv, tls, url, message, sizeof message))
			*why = message;
		else
			*why = nng_strerror(rv);
		nng_close(c->sock);
		free(c);
		return NULL;
	}
	return c;
}

api_client *api_client_open(const char *url, int timeout_ms, const char **why)
{
	return api_client_open_tls(url, timeout_ms, NULL, why);
}

void api_client_close(api_client *c)
{
	if (!c)
		return;
	nng_close(c->sock);
	free(c);
}

/* One send and its reply. */
static int call_once(api_client *c, const uint8_t *bytes, size_t n, nng_msg **reply)
{
	nng_msg *msg;
	int rv = nng_msg_alloc(&msg, n);
	if (rv != 0)
		return rv;
	if (n)
		memcpy(nng_msg_body(msg), bytes, n);
	if ((rv = nng_sendmsg(c->sock, msg, 0)) != 0) {
		nng_msg_free(msg);
		return rv;
	}
	return nng_recvmsg(c->sock, reply, 0);
}

bool api_client_call_raw(api_client *c, const uint8_t *bytes, size_t n, Ledger__Api__Reply **reply, const char **why)
{
	/* With api_client_retry_on_reset, a connection reset under a request (ledgerd
	 * re-creating a listener, a restart) is retried with the same bytes, hence the same
	 * request id: a command that did commit answers its first reply again, marked replayed.
	 * The dialer reconnects by itself. */
	nng_msg *msg = NULL;
	int rv = call_once(c, bytes, n, &msg);
	for (int attempt = 1; attempt < c->call_attempts_max && dial_retryable(rv) && rv != NNG_ECLOSED; attempt++) {
		nng_msleep(CLIENT_DIAL_RETRY_MS * attempt); /* backing off: 50, 100, 150 ms... */
		rv = call_once(c, bytes, n, &msg);
	}
	if (rv != 0)
		return *why =
		           rv == NNG_ETIMEDOUT ? "no reply from ledgerd (timed out; is it running?)" : nng_strerror(rv),
		       false;
	*reply = ledger__api__reply__unpack(NULL, nng_msg_len(msg), nng_msg_body(msg));
	nng_msg_free(msg);
	if (!*reply)
		return *why = "unreadable reply", false;
	return true;
}

uint8_t *api_envelope_pack(const Ledger__Api__Request *req, size_t *bytes)
{
	Ledger__Api__Request body = *req;
	body.token = (char *)""; /* travels in the envelope, ahead of the request */
	size_t n = ledger__api__request__get_packed_size(&body);
	uint8_t *packed = malloc(n ? n : 1);
	if (!packed)
		return NULL;
	ledger__api__request__pack(&body, packed);
	Ledger__Api__Envelope envelope = LEDGER__API__ENVELOPE__INIT;
	envelope.token = req->token ? req->token : (char *)"";
	envelope.request = (ProtobufCBinaryData){n, packed};
	*bytes = ledger__api__envelope__get_packed_size(&envelope);
	uint8_t *out = malloc(*bytes ? *bytes : 1);
	if (out)
		ledger__api__envelope__pack(&envelope, out);
	free(packed);
	return out;
}

bool api_client_call(api_client *c, const Ledger__Api__Request *req, Ledger__Api__Reply **reply, const char **why)
{
	size_t n;
	uint8_t *buf = api_envelope_pack(req, &n);
	if (!buf)
		return *why = "out of memory", false;
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

void api_client_retry_on_reset(api_client *c, int attempts_max)
{
	c->call_attempts_max = attempts_max < 1 ? 1 : attempts_max;
}

void api_request_set_body(Ledger__Api__Request *req, Ledger__Api__Request__BodyCase body_case, ProtobufCMessage *body)
{
	const ProtobufCFieldDescriptor *f =
	    protobuf_c_message_descriptor_get_field(&ledger__api__request__descriptor, (unsigned)body_case);
	if (!f || !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) || f->type != PROTOBUF_C_TYPE_MESSAGE || !body ||
	    body->descriptor != f->descriptor) {
		/* api_common depends on no assertion library: this is LEDGER_ASSERT's failure, by hand. */
		fprintf(stderr, "api_request_set_body: body case %d does not take a %s\n", (int)body_case,
		        body ? body->descriptor->name : "NULL message");
		abort();
	}
	req->body_case = body_case;
	memcpy((char *)req + f->offset, &body, sizeof body); /* the oneof's member: a pointer to its message */
}
