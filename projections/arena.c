/*
 * arena.c: replies are trees of protobuf-c structs and strings. Allocating them from one
 * arena per request means a reply is freed in one call, whatever its shape.
 */
#include "assertion.h"
#include "domain.h"

#include <stdlib.h>
#include <string.h>

#define ARENA_BLOCK_BYTES 16384u

struct block {
	struct block *next;
	size_t used, cap;
	max_align_t data[];
};

struct proj_arena {
	struct block *blocks;
};

proj_arena *proj_arena_new(void)
{
	return calloc(1, sizeof(proj_arena));
}

void proj_arena_free(proj_arena *a)
{
	if (!a)
		return;
	for (struct block *b = a->blocks, *next; b; b = next) {
		next = b->next;
		free(b);
	}
	free(a);
}

void *proj_arena_alloc(proj_arena *a, size_t bytes)
{
	size_t align = sizeof(max_align_t);
	bytes = (bytes + align - 1) / align * align;
	struct block *b = a->blocks;
	if (!b || b->cap - b->used < bytes) {
		size_t cap = bytes > ARENA_BLOCK_BYTES ? bytes : ARENA_BLOCK_BYTES;
		b = malloc(sizeof *b + cap);
		if (!b)
			return NULL;
		b->cap = cap;
		b->used = 0;
		b->next = a->blocks;
		a->blocks = b;
	}
	LEDGER_ASSERT_MSG(b->used + bytes <= b->cap, "arena block: %zu used + %zu asked > %zu", b->used, bytes, b->cap);
	void *p = (char *)b->data + b->used;
	b->used += bytes;
	memset(p, 0, bytes);
	LEDGER_ASSERT((size_t)((char *)p - (char *)b->data) % sizeof(max_align_t) == 0);
	return p;
}

char *proj_arena_strdup(proj_arena *a, const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = proj_arena_alloc(a, n);
	if (d)
		memcpy(d, s, n);
	return d;
}

static void *arena_pb_alloc(void *ctx, size_t bytes)
{
	return proj_arena_alloc(ctx, bytes);
}
static void arena_pb_free(void *ctx, void *ptr)
{
	(void)ctx, (void)ptr;
}

void proj_arena_allocator(proj_arena *a, ProtobufCAllocator *out)
{
	*out = (ProtobufCAllocator){.alloc = arena_pb_alloc, .free = arena_pb_free, .allocator_data = a};
}
