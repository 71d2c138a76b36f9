/*
 * kv_mem.h: the in-memory backend's tables and entries, shared by kv_mem.c (the tables: get,
 * put, del, deferred writes) and kv_mem_write.c (sorting, writing out, scans). Private to
 * projections/; what folds use is proj_kv (kv.h).
 */
#ifndef PROJECTIONS_KV_MEM_H
#define PROJECTIONS_KV_MEM_H

#include "assertion.h"
#include "kv.h"

#include <pthread.h>

#define CHUNK_BYTES      ((size_t)4 << 20) /* arena chunk; a larger entry gets a chunk of its own */
#define TABLE_SLOTS_MIN  1024u             /* a power of two */
#define VAL_SLACK_BYTES  8u                /* room for a value to grow in place (renewals) */
#define VAL_BYTES_MAX    ((size_t)UINT32_MAX - 1)
#define KEY_BYTES_MAX    511u       /* LMDB's default key size limit */
#define TOMBSTONE        UINT32_MAX /* val_bytes of a deleted key */
#define HUGE_PAGE_BYTES  ((size_t)2 << 20)
#define PAGE_BYTES       4096u
#define PENDING_MAX      32u                /* writes deferred, then applied together */
#define PENDING_BYTES    ((size_t)64 << 10) /* their keys and values; larger writes are not deferred */
#define SPARE_CHUNKS_MAX 2u                 /* chunks faulted in ahead by another thread */
#define NODE_BYTES       10u                /* LMDB's per row: a node header, its index in the page */

typedef struct entry {
	uint32_t key_bytes;
	uint32_t val_bytes; /* TOMBSTONE: deleted (over a base that may hold the key) */
	uint32_t val_cap;
	uint8_t data[]; /* key, then value */
} entry;

typedef struct slot {
	uint64_t hash;
	entry *e; /* NULL: empty */
} slot;

/* One database: an open-addressing hash table (linear probing, at most half full). */
typedef struct table {
	slot *slots;
	size_t slots_count; /* a power of two, or 0 before the first put */
	size_t used;        /* entries, tombstones (which exist only over a base) included */
	proj_kv_sorted *sorted;
} table;

typedef struct chunk {
	struct chunk *next;
	size_t used, cap;
	_Alignas(8) uint8_t bytes[];
} chunk;

/* A put or del not yet applied to its table (see proj_kv_mem_flush). */
typedef struct pending {
	table *t;
	uint64_t hash;
	uint32_t key_bytes;
	uint32_t val_bytes; /* TOMBSTONE: a del */
	uint8_t *data;      /* key, then value, in pending_buf */
} pending;

struct proj_kv_mem {
	table tables[PROJ_KV_MEM_DBS_MAX];
	chunk *chunks;
	size_t bytes;      /* chunks and slots allocated */
	size_t live_bytes; /* keys and values of the live entries, and LMDB's overhead for each */
	uint64_t seed;
	pending pending[PENDING_MAX];
	size_t pending_count;
	uint8_t *pending_buf; /* PENDING_BYTES */
	size_t pending_used;
	uint64_t pending_filter;    /* bit hash >> 58 of each pending key: most gets skip the list */
	pthread_mutex_t spare_lock; /* guards the spares, shared with proj_kv_mem_prepare's thread */
	chunk *spare;
	size_t spare_count;
};

/* The sorted view of a table, built once for writing (and kept should a write run again). */
typedef struct sorted_row {
	uint64_t hi, lo; /* the key's first 16 bytes, big-endian, zero-padded: what the sort reads */
	const entry *e;
} sorted_row;

struct proj_kv_sorted {
	size_t count;
	sorted_row rows[];
};

static inline table *table_of(proj_kv_mem *m, MDB_dbi dbi)
{
	return dbi < PROJ_KV_MEM_DBS_MAX ? &m->tables[dbi] : NULL;
}

#endif
