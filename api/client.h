/*
 * client.h: a synchronous ledgerd client over nng req0, shared by ledgerctl, the tests and
 * the benchmarks.
 */
#ifndef API_CLIENT_H
#define API_CLIENT_H

#include "api.pb-c.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct api_client api_client;

/* Dials url (ipc:// or tcp://). timeout_ms bounds each call. NULL with *why on failure. */
api_client *api_client_open(const char *url, int timeout_ms, const char **why);
void api_client_close(api_client *c);

/*
 * Sends req and waits for the reply. On success *reply is the caller's
 * (ledger__api__reply__free_unpacked). False with *why on transport failure or timeout, or an
 * unreadable reply; a reply carrying a typed error is a success of the call.
 */
bool api_client_call(api_client *c, const Ledger__Api__Request *req, Ledger__Api__Reply **reply, const char **why);
/* Sends raw bytes (tests: malformed requests). Same contract. */
bool api_client_call_raw(api_client *c, const uint8_t *bytes, size_t n, Ledger__Api__Reply **reply, const char **why);

/* A fresh request id: 32 random hex characters. */
void api_request_id(char out[33]);

#endif
