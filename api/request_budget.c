/*
 * request_budget.c: protobuf-c's allocator for requests, with a budget (request_budget.h).
 */
#include "request_budget.h"

#include "assertion.h"

#include <stdint.h>
#include <stdlib.h>

/* Each block carries its size, since protobuf-c's free does not say it. */
typedef struct block_header {
	size_t bytes;
	max_align_t align; /* what follows is aligned for any type */
} block_header;

static void *budget_alloc(void *data, size_t bytes)
{
	api_request_budget *b = data;
	size_t total = bytes + offsetof(block_header, align);
	if (total < bytes || b->used + total > b->limit) {
		b->exceeded = true;
		return NULL;
	}
	size_t global = atomic_fetch_add(b->global_used, total) + total;
	if (global > API_DECODE_BYTES_GLOBAL_MAX) {
		atomic_fetch_sub(b->global_used, total);
		b->busy = true;
		return NULL;
	}
	block_header *h = malloc(total);
	if (!h) {
		atomic_fetch_sub(b->global_used, total);
		return NULL;
	}
	h->bytes = total;
	b->used += total;
	return &h->align;
}

static void budget_free(void *data, void *pointer)
{
	if (!pointer)
		return;
	api_request_budget *b = data;
	block_header *h = (block_header *)((uint8_t *)pointer - offsetof(block_header, align));
	LEDGER_ASSERT_MSG(h->bytes <= b->used, "block of %zu bytes, %zu in use", h->bytes, b->used);
	b->used -= h->bytes;
	atomic_fetch_sub(b->global_used, h->bytes);
	free(h);
}

void api_request_budget_init(api_request_budget *budget, atomic_size_t *global_used, size_t message_bytes)
{
	budget->allocator = (ProtobufCAllocator){.alloc = budget_alloc, .free = budget_free, .allocator_data = budget};
	budget->global_used = global_used;
	budget->used = 0;
	budget->exceeded = false;
	budget->busy = false;
	size_t per_byte = API_DECODE_BYTES_PER_REQUEST_BYTE;
	budget->limit = message_bytes > (SIZE_MAX - API_DECODE_BYTES_FLOOR) / per_byte
	                    ? SIZE_MAX
	                    : message_bytes * per_byte + API_DECODE_BYTES_FLOOR;
}
