/*
 * request_hash.c: the body hash of a command, streamed (request_hash.h).
 */
#include "request_hash.h"

#include <sodium.h>

typedef struct hashing_buffer {
	ProtobufCBuffer base; /* first: protobuf-c calls append with a pointer to it */
	crypto_hash_sha256_state state;
} hashing_buffer;

static void hashing_append(ProtobufCBuffer *buffer, size_t len, const uint8_t *data)
{
	hashing_buffer *h = (hashing_buffer *)buffer;
	crypto_hash_sha256_update(&h->state, data, len);
}

void api_request_body_hash(const Ledger__Api__Request *req, uint8_t out[crypto_hash_sha256_BYTES])
{
	Ledger__Api__Request copy = *req;
	copy.token = (char *)"";
	copy.request_id = (char *)"";
	hashing_buffer h = {.base = {.append = hashing_append}};
	crypto_hash_sha256_init(&h.state);
	ledger__api__request__pack_to_buffer(&copy, &h.base);
	crypto_hash_sha256_final(&h.state, out);
}
