/*
 * client.h: a synchronous ledgerd client over nng req0, shared by ledgerctl, the tests and
 * the benchmarks.
 */
#ifndef API_CLIENT_H
#define API_CLIENT_H

#include "api.pb-c.h"
#include "tls.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct api_client api_client;

/* Dials url (ipc:// or tcp://). timeout_ms bounds each call. NULL with *why on failure. */
api_client *api_client_open(const char *url, int timeout_ms, const char **why);
/*
 * The same, and a tls+tcp:// url is dialled with tls (required for one, ignored for any other
 * url; NULL for none): api_tls_config_client says what it needs. On failure *why may point to
 * a message of this thread's, valid until its next api_client_open_tls.
 */
api_client *api_client_open_tls(const char *url, int timeout_ms, const api_tls_options *tls, const char **why);
void api_client_close(api_client *c);

/*
 * Sends req and waits for the reply. On success *reply is the caller's
 * (ledger__api__reply__free_unpacked). False with *why on transport failure or timeout, or an
 * unreadable reply; a reply carrying a typed error is a success of the call.
 */
bool api_client_call(api_client *c, const Ledger__Api__Request *req, Ledger__Api__Reply **reply, const char **why);

/* req as it travels: an Envelope with req's token first and req packed without it
 * (docs/rpc.md#envelope). Returns malloc'd bytes (the caller frees) and their count in *bytes,
 * or NULL without memory. api_client_call sends this; raw senders (benchmarks) use it too. */
uint8_t *api_envelope_pack(const Ledger__Api__Request *req, size_t *bytes);
/* Sends raw bytes (tests: malformed requests). Same contract. */
bool api_client_call_raw(api_client *c, const uint8_t *bytes, size_t n, Ledger__Api__Reply **reply, const char **why);

/*
 * req's body: body, the message of the oneof case body_case (a Ledger__Api__Can for
 * LEDGER__API__REQUEST__BODY_CAN), found from the Request's descriptor. A message of another
 * type, or a case that is not a message, is a bug of the caller: it aborts, in every build.
 * body stays the caller's.
 */
void api_request_set_body(Ledger__Api__Request *req, Ledger__Api__Request__BodyCase body_case, ProtobufCMessage *body);

/* A fresh request id: 32 random hex characters. */
void api_request_id(char out[33]);

/* Calls resend the same request bytes (same request id: idempotent) up to attempts_max
 * times in all when the connection is reset under them, as when ledgerd re-creates a listener
 * (api/listener_guard.h). Off (1) by default: a caller that must tell "not answered" from
 * "answered" (the crash tests) sees the reset. ledgerctl turns it on. */
void api_client_retry_on_reset(api_client *c, int attempts_max);

#endif
