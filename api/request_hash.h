/*
 * request_hash.h: the hash that ties a command's request id to its body (idempotency,
 * docs/rpc.md#idempotency): a retry with the same request id must carry the same body.
 */
#ifndef API_REQUEST_HASH_H
#define API_REQUEST_HASH_H

#include "api.pb-c.h"
#include <sodium.h>

/* SHA-256 of the request as packed by protobuf-c with its token and request id emptied (a
 * retry may carry a fresh token). The packed bytes are streamed into the hash as protobuf-c
 * produces them, never held whole: nothing is allocated, so the hash cannot fail, whatever
 * the size of the request (a 10 MiB document included). */
void api_request_body_hash(const Ledger__Api__Request *req, uint8_t out[crypto_hash_sha256_BYTES]);

#endif
