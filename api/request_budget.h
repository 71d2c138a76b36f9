/*
 * request_budget.h: the memory protobuf-c may spend decoding one request, and all of them at
 * once, before anything about the request is known.
 *
 * protobuf-c keeps every unknown field it meets: an 11 MiB request of two-byte unknown fields
 * made it allocate about 500 MB (2 GB for eight at once), before the token was even looked at.
 * Decoding goes through a budgeted allocator: a request may take at most
 * API_DECODE_BYTES_PER_REQUEST_BYTE times its size plus API_DECODE_BYTES_FLOOR, and all
 * requests being decoded at most API_DECODE_BYTES_GLOBAL_MAX together; past either, protobuf-c
 * sees an allocation failure and the request is refused (REQUEST_TOO_LARGE) without going
 * further. What a well-formed request needs is about its size: its strings and bytes once,
 * plus small structs per field.
 */
#ifndef API_REQUEST_BUDGET_H
#define API_REQUEST_BUDGET_H

#include <protobuf-c/protobuf-c.h>

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#define API_DECODE_BYTES_PER_REQUEST_BYTE 4u
#define API_DECODE_BYTES_FLOOR            (64u * 1024u)
#define API_DECODE_BYTES_GLOBAL_MAX       ((size_t)1024u * 1024u * 1024u)

typedef struct api_request_budget {
	ProtobufCAllocator allocator; /* hand &allocator to protobuf-c's unpack and free_unpacked */
	atomic_size_t *global_used;   /* shared by every request of the server */
	size_t used, limit;           /* this request's */
	bool exceeded;                /* refused: the request alone is too costly (REQUEST_TOO_LARGE) */
	bool busy;                    /* refused: all requests together are (UNAVAILABLE, retry) */
} api_request_budget;

/* Prepares budget for a request of message_bytes bytes, charging global_used. */
void api_request_budget_init(api_request_budget *budget, atomic_size_t *global_used, size_t message_bytes);

#endif
