/*
 * kv_mem.c: the in-memory backend of proj_kv, for replays and rebuilds from event 1.
 *
 * Folding a whole log through LMDB costs several random B-tree operations per event, and every
 * commit rewrites the pages it dirtied (docs/benchmarks-rights.md). Here the folds write into a
 * hash table per database instead; when the log has been folded, each database is sorted once
 * and written with MDB_APPEND, so LMDB builds its pages left to right, each page once.
 *
 * The tables may sit over a base: the LMDB store as last written (a read transaction). A key
 * absent from memory is then looked up there, and a del of a key the base holds leaves a
 * tombstone that the next write turns into an mdb_del. This is what lets a replay that outgrows
 * its memory cap write what it has, empty memory, and go on (projections/replay.c). Without a
 * base, a del just empties its slot.
 *
 * Entries live in an arena of large chunks: no malloc per key. A put that no longer fits in its
 * entry, or a del, leaves the old entry in the arena, counted in the memory used, until the
 * next clear. Puts and dels are applied in groups, prefetched (see "deferred writes"). The
 * iteration order of a hash table is never observable: writes and scans sort. The hash is
 * keyed by a seed the caller draws at random (the domain draws no randomness), so that keys
 * chosen by whoever wrote the events cannot make the tables degenerate; the seed changes no
 * output.
 */
#include "internal.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

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

/*
 * Zeroed memory for the chunks and the larger tables, in 2 MiB pages where the kernel allows
 * (MADV_HUGEPAGE): folds touch these at random, and with 4 KiB pages most of those touches
 * would also miss the TLB. Smaller blocks come from calloc. NULL when out of memory.
 */
static size_t big_bytes(size_t bytes)
{
	return (bytes + HUGE_PAGE_BYTES - 1) & ~(HUGE_PAGE_BYTES - 1);
}

static void *big_alloc(size_t bytes)
{
	if (bytes < HUGE_PAGE_BYTES)
		return calloc(1, bytes);
	size_t len = big_bytes(bytes), mapped = len + HUGE_PAGE_BYTES;
	uint8_t *p = mmap(NULL, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	/* Aligned to a huge page, or the kernel cannot use one: trim both ends of the mapping. */
	uint8_t *aligned = (uint8_t *)(((uintptr_t)p + HUGE_PAGE_BYTES - 1) & ~(uintptr_t)(HUGE_PAGE_BYTES - 1));
	if (aligned > p)
		munmap(p, (size_t)(aligned - p));
	if (aligned + len < p + mapped)
		munmap(aligned + len, (size_t)(p + mapped - (aligned + len)));
	(void)madvise(aligned, len, MADV_HUGEPAGE); /* a hint: without it, only slower */
	return aligned;
}

static void big_free(void *p, size_t bytes)
{
	if (p && bytes < HUGE_PAGE_BYTES)
		free(p);
	else if (p)
		munmap(p, big_bytes(bytes));
}

static uint64_t rotl(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

/* Eight bytes a step, then a murmur3-style finalizer: fast, and keyed by seed. */
static uint64_t hash_key(uint64_t seed, const uint8_t *key, size_t n)
{
	const uint64_t k1 = 0x9e3779b97f4a7c15ull, k2 = 0xc2b2ae3d27d4eb4full;
	uint64_t h = seed ^ (n * k1);
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, key + i, sizeof w);
		h = rotl(h ^ (w * k2), 31) * k1;
	}
	uint64_t tail = 0;
	memcpy(&tail, key + i, n - i);
	h = rotl(h ^ (tail * k2), 31) * k1;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	return h ^ (h >> 33);
}

ledger_err proj_kv_mem_new(uint64_t hash_seed, proj_kv_mem **out)
{
	proj_kv_mem *m = calloc(1, sizeof *m);
	if (m)
		m->pending_buf = malloc(PENDING_BYTES);
	if (!m || !m->pending_buf) {
		free(m);
		return LEDGER_ERR_NOMEM;
	}
	m->seed = hash_seed;
	pthread_mutex_init(&m->spare_lock, NULL);
	*out = m;
	return LEDGER_OK;
}

void proj_kv_mem_clear(proj_kv_mem *m)
{
	for (size_t i = 0; i < PROJ_KV_MEM_DBS_MAX; i++) {
		big_free(m->tables[i].slots, m->tables[i].slots_count * sizeof(slot));
		free(m->tables[i].sorted);
	}
	memset(m->tables, 0, sizeof m->tables);
	while (m->chunks) {
		chunk *next = m->chunks->next;
		big_free(m->chunks, sizeof *m->chunks + m->chunks->cap);
		m->chunks = next;
	}
	m->bytes = m->live_bytes = 0;
	m->pending_count = m->pending_used = 0;
	m->pending_filter = 0;
}

void proj_kv_mem_free(proj_kv_mem *m)
{
	if (!m)
		return;
	proj_kv_mem_clear(m);
	while (m->spare) {
		chunk *next = m->spare->next;
		big_free(m->spare, CHUNK_BYTES);
		m->spare = next;
	}
	pthread_mutex_destroy(&m->spare_lock);
	free(m->pending_buf);
	free(m);
}

/*
 * The kernel zeroes each page of fresh memory at its first write: for a replay's hundreds of
 * megabytes, a tenth of the folding thread's time. Another thread can take that cost: it
 * faults in up to SPARE_CHUNKS_MAX arena chunks ahead, which arena_alloc takes when it needs
 * a chunk. Only the spares are shared: the lock guards them, nothing else.
 */
bool proj_kv_mem_prepare(proj_kv_mem *m)
{
	pthread_mutex_lock(&m->spare_lock);
	bool wanted = m->spare_count < SPARE_CHUNKS_MAX;
	pthread_mutex_unlock(&m->spare_lock);
	volatile uint8_t *c = wanted ? big_alloc(CHUNK_BYTES) : NULL;
	if (!c)
		return false; /* none wanted, or no memory: arena_alloc will allocate its own */
	for (size_t i = 0; i < CHUNK_BYTES; i += PAGE_BYTES)
		c[i] = 0;
	pthread_mutex_lock(&m->spare_lock);
	((chunk *)c)->next = m->spare;
	m->spare = (chunk *)c;
	m->spare_count++;
	pthread_mutex_unlock(&m->spare_lock);
	return true;
}

/* A chunk of CHUNK_BYTES: a spare if one is ready. */
static chunk *chunk_new(proj_kv_mem *m)
{
	pthread_mutex_lock(&m->spare_lock);
	chunk *c = m->spare;
	if (c) {
		m->spare = c->next;
		m->spare_count--;
	}
	pthread_mutex_unlock(&m->spare_lock);
	return c ? c : big_alloc(CHUNK_BYTES);
}

size_t proj_kv_mem_bytes(const proj_kv_mem *m)
{
	return m->bytes + m->pending_used; /* queued writes count as soon as they are queued */
}

static void *arena_alloc(proj_kv_mem *m, size_t bytes)
{
	bytes = (bytes + 7) & ~(size_t)7;
	chunk *c = m->chunks;
	if (!c || c->cap - c->used < bytes) {
		bool own = bytes > CHUNK_BYTES / 4;
		size_t cap = own ? bytes : CHUNK_BYTES - sizeof *c;
		chunk *fresh = own ? big_alloc(sizeof *fresh + cap) : chunk_new(m);
		if (!fresh)
			return NULL;
		fresh->used = 0;
		fresh->cap = cap;
		m->bytes += sizeof *fresh + cap;
		/* A chunk of its own goes second, so the current chunk keeps filling. */
		if (c && own) {
			fresh->next = c->next;
			c->next = fresh;
		} else {
			fresh->next = c;
			m->chunks = fresh;
		}
		c = fresh;
	}
	void *p = c->bytes + c->used;
	c->used += bytes;
	return p;
}

static table *table_of(proj_kv_mem *m, MDB_dbi dbi)
{
	return dbi < PROJ_KV_MEM_DBS_MAX ? &m->tables[dbi] : NULL;
}

/* The slot of key: its entry's, or the empty one where it would go. */
static slot *find(const table *t, uint64_t h, const void *key, size_t key_bytes)
{
	size_t mask = t->slots_count - 1;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		slot *s = &t->slots[i];
		if (!s->e || (s->hash == h && s->e->key_bytes == key_bytes && memcmp(s->e->data, key, key_bytes) == 0))
			return s;
	}
}

/* Doubles the table (or makes the first one), keeping it at most half full. */
static ledger_err grow(proj_kv_mem *m, table *t)
{
	size_t count = t->slots_count ? 2 * t->slots_count : TABLE_SLOTS_MIN;
	slot *slots = big_alloc(count * sizeof *slots);
	if (!slots)
		return LEDGER_ERR_NOMEM;
	for (size_t i = 0; i < t->slots_count; i++) {
		const slot *s = &t->slots[i];
		if (!s->e)
			continue;
		size_t j = s->hash & (count - 1);
		while (slots[j].e)
			j = (j + 1) & (count - 1);
		slots[j] = *s;
	}
	m->bytes += (count - t->slots_count) * sizeof *slots;
	big_free(t->slots, t->slots_count * sizeof *slots);
	t->slots = slots;
	t->slots_count = count;
	return LEDGER_OK;
}

/* A new entry for key with room for val_bytes, in slot s (which it replaces, if any). */
static entry *entry_new(proj_kv_mem *m, slot *s, uint64_t h, const void *key, size_t key_bytes, size_t val_bytes)
{
	size_t cap = val_bytes == TOMBSTONE ? 0 : val_bytes + VAL_SLACK_BYTES;
	entry *e = arena_alloc(m, sizeof *e + key_bytes + cap);
	if (!e)
		return NULL;
	e->key_bytes = (uint32_t)key_bytes;
	e->val_bytes = (uint32_t)val_bytes;
	e->val_cap = (uint32_t)cap;
	memcpy(e->data, key, key_bytes); /* a replaced entry stays in the arena, unused */
	s->hash = h;
	s->e = e;
	return e;
}

/* The slot of key, made (a table grown) if absent; NULL when out of memory. */
static slot *find_or_add(proj_kv_mem *m, table *t, uint64_t h, const void *key, size_t key_bytes, bool *added)
{
	if ((t->used + 1) * 2 > t->slots_count && grow(m, t))
		return NULL;
	slot *s = find(t, h, key, key_bytes);
	*added = s->e == NULL;
	if (*added)
		t->used++;
	return s;
}

/* ----- deferred writes -----
 *
 * A fold's get stops the fold until its key's slot, then its entry, arrive from memory: the
 * tables are far larger than the caches, so each is a cache miss. Puts and dels need not stop
 * it: they are queued (key and value copied), and applied PENDING_MAX at a time, after their
 * slots and entries have all been prefetched, so that their misses overlap. A get looks in the
 * queue first (newest first): what a fold reads is what it wrote, as in LMDB.
 */

static pending *pending_find(proj_kv_mem *m, const table *t, uint64_t h, const void *key, size_t key_bytes)
{
	if (!(m->pending_filter & (1ull << (h >> 58))))
		return NULL;
	for (size_t i = m->pending_count; i-- > 0;) {
		pending *p = &m->pending[i];
		if (p->t == t && p->hash == h && p->key_bytes == key_bytes && memcmp(p->data, key, key_bytes) == 0)
			return p;
	}
	return NULL;
}

/* Applies a put of val_bytes to its table; *val receives where the value goes. */
static ledger_err apply_put(proj_kv_mem *m, table *t, uint64_t h, const void *key, size_t key_bytes, size_t val_bytes,
                            uint8_t **val)
{
	bool added;
	slot *s = find_or_add(m, t, h, key, key_bytes, &added);
	if (!s)
		return LEDGER_ERR_NOMEM;
	entry *e = s->e;
	if (e && e->val_bytes != TOMBSTONE)
		m->live_bytes -= e->val_bytes; /* the key and its overhead stay */
	else
		m->live_bytes += key_bytes + NODE_BYTES;
	if (!e || e->val_bytes == TOMBSTONE || e->val_cap < val_bytes)
		e = entry_new(m, s, h, key, key_bytes, val_bytes);
	if (!e)
		return LEDGER_ERR_NOMEM;
	m->live_bytes += val_bytes;
	e->val_bytes = (uint32_t)val_bytes;
	*val = e->data + e->key_bytes;
	return LEDGER_OK;
}

/* Empties slot s, moving back the entries after it that probed past it (linear probing's
 * deletion: no marker left behind, so the table only ever holds live keys). */
static void slot_remove(table *t, slot *s)
{
	size_t mask = t->slots_count - 1, hole = (size_t)(s - t->slots);
	for (size_t j = (hole + 1) & mask; t->slots[j].e; j = (j + 1) & mask) {
		size_t home = t->slots[j].hash & mask;
		if (((j - home) & mask) >= ((j - hole) & mask)) { /* the hole is on j's probe path */
			t->slots[hole] = t->slots[j];
			hole = j;
		}
	}
	t->slots[hole] = (slot){0, NULL};
	t->used--;
}

static ledger_err apply_del(proj_kv_mem *m, MDB_txn *base, table *t, MDB_dbi dbi, uint64_t h, const void *key,
                            size_t key_bytes)
{
	slot *s = t->slots_count ? find(t, h, key, key_bytes) : NULL;
	if (s && s->e && s->e->val_bytes != TOMBSTONE)
		m->live_bytes -= s->e->key_bytes + s->e->val_bytes + NODE_BYTES;
	if (s && s->e && !base) {
		slot_remove(t, s);
		return LEDGER_OK;
	}
	if (s && s->e) {
		s->e->val_bytes = TOMBSTONE; /* the key stays, so that the base's value stays hidden */
		return LEDGER_OK;
	}
	if (!base)
		return LEDGER_OK;
	MDB_val k = {key_bytes, (void *)key}, v;
	int rc = mdb_get(base, dbi, &k, &v);
	if (rc)
		return rc == MDB_NOTFOUND ? LEDGER_OK : ledger_mdb_err(rc);
	bool added;
	s = find_or_add(m, t, h, key, key_bytes, &added);
	return s && entry_new(m, s, h, key, key_bytes, TOMBSTONE) ? LEDGER_OK : LEDGER_ERR_NOMEM;
}

/* Prefetches the slots, then the entries, the pending writes will touch. */
static ledger_err prefetch_pending(proj_kv_mem *m)
{
	for (size_t i = 0; i < m->pending_count; i++) {
		table *t = m->pending[i].t;
		/* Grown now, so that no slot moves between its prefetch and its write. */
		if ((t->used + PENDING_MAX) * 2 > t->slots_count && grow(m, t))
			return LEDGER_ERR_NOMEM;
	}
	for (size_t i = 0; i < m->pending_count; i++) {
		const table *t = m->pending[i].t;
		__builtin_prefetch(&t->slots[m->pending[i].hash & (t->slots_count - 1)]);
	}
	for (size_t i = 0; i < m->pending_count; i++) {
		const table *t = m->pending[i].t;
		size_t mask = t->slots_count - 1;
		for (size_t j = m->pending[i].hash & mask; t->slots[j].e; j = (j + 1) & mask)
			if (t->slots[j].hash == m->pending[i].hash) {
				__builtin_prefetch(t->slots[j].e);
				break;
			}
	}
	return LEDGER_OK;
}

ledger_err proj_kv_mem_flush(proj_kv_mem *m, MDB_txn *base)
{
	ledger_err err = prefetch_pending(m);
	for (size_t i = 0; !err && i < m->pending_count; i++) {
		const pending *p = &m->pending[i];
		uint8_t *val;
		if (p->val_bytes == TOMBSTONE) {
			err = apply_del(m, base, p->t, (MDB_dbi)(p->t - m->tables), p->hash, p->data, p->key_bytes);
		} else if (!(err = apply_put(m, p->t, p->hash, p->data, p->key_bytes, p->val_bytes, &val))) {
			memcpy(val, p->data + p->key_bytes, p->val_bytes);
		}
	}
	m->pending_count = m->pending_used = 0;
	m->pending_filter = 0;
	return err;
}

/* Queues a write of val_bytes (TOMBSTONE: a del), flushing first if the queue is full; *p is
 * its place, or NULL if it is too large to queue (the caller applies it at once). */
static ledger_err queue(proj_kv_mem *m, MDB_txn *base, table *t, uint64_t h, const void *key, size_t key_bytes,
                        size_t val_bytes, pending **p)
{
	size_t bytes = (key_bytes + (val_bytes == TOMBSTONE ? 0 : val_bytes) + 7) & ~(size_t)7;
	ledger_err err = LEDGER_OK;
	if (m->pending_count == PENDING_MAX || m->pending_used + bytes > PENDING_BYTES || bytes > PENDING_BYTES / 4)
		err = proj_kv_mem_flush(m, base);
	*p = NULL;
	if (err || bytes > PENDING_BYTES / 4)
		return err;
	*p = &m->pending[m->pending_count++];
	**p = (pending){t, h, (uint32_t)key_bytes, (uint32_t)val_bytes, m->pending_buf + m->pending_used};
	memcpy((*p)->data, key, key_bytes);
	m->pending_used += bytes;
	m->pending_filter |= 1ull << (h >> 58);
	return LEDGER_OK;
}

uint64_t proj_kv_mem_hash(const proj_kv_mem *m, const void *key, size_t key_bytes)
{
	return hash_key(m->seed, key, key_bytes);
}

void proj_kv_mem_prefetch(const proj_kv_mem *m, MDB_dbi dbi, uint64_t hash, bool entry)
{
	const table *t = dbi < PROJ_KV_MEM_DBS_MAX ? &m->tables[dbi] : NULL;
	if (!t || !t->slots_count)
		return;
	size_t mask = t->slots_count - 1;
	if (!entry) {
		__builtin_prefetch(&t->slots[hash & mask]);
		return;
	}
	/* A few slots at most: past them, the probe would cost more than the miss it saves. */
	for (size_t j = hash & mask, n = 0; n < 4 && t->slots[j].e; j = (j + 1) & mask, n++)
		if (t->slots[j].hash == hash) {
			__builtin_prefetch(t->slots[j].e);
			return;
		}
}

ledger_err proj_kv_mem_get(proj_kv_mem *m, MDB_txn *base, MDB_dbi dbi, const void *key, size_t key_bytes, MDB_val *out)
{
	table *t = table_of(m, dbi);
	if (!t)
		return LEDGER_ERR_INVALID;
	uint64_t h = hash_key(m->seed, key, key_bytes);
	const pending *p = pending_find(m, t, h, key, key_bytes);
	if (p && p->val_bytes == TOMBSTONE)
		return LEDGER_END;
	if (p) {
		*out = (MDB_val){p->val_bytes, p->data + p->key_bytes};
		return LEDGER_OK;
	}
	if (t->slots_count) {
		const slot *s = find(t, h, key, key_bytes);
		if (s->e && s->e->val_bytes == TOMBSTONE)
			return LEDGER_END;
		if (s->e) {
			*out = (MDB_val){s->e->val_bytes, s->e->data + s->e->key_bytes};
			return LEDGER_OK;
		}
	}
	if (!base)
		return LEDGER_END;
	MDB_val k = {key_bytes, (void *)key};
	return ledger_mdb_err(mdb_get(base, dbi, &k, out));
}

ledger_err proj_kv_mem_reserve(proj_kv_mem *m, MDB_txn *base, MDB_dbi dbi, const void *key, size_t key_bytes,
                               size_t val_bytes, void **val)
{
	table *t = table_of(m, dbi);
	if (!t || key_bytes == 0 || key_bytes > KEY_BYTES_MAX)
		return LEDGER_ERR_INVALID; /* what LMDB would refuse (kv.c checks first) */
	if (val_bytes > VAL_BYTES_MAX)
		return LEDGER_ERR_TOO_LARGE;
	assert(!t->sorted); /* no put between a write and the clear that follows it */
	uint64_t h = hash_key(m->seed, key, key_bytes);
	pending *p;
	ledger_err err = queue(m, base, t, h, key, key_bytes, val_bytes, &p);
	if (err || p) {
		*val = p ? p->data + key_bytes : NULL;
		return err;
	}
	return apply_put(m, t, h, key, key_bytes, val_bytes, (uint8_t **)val);
}

ledger_err proj_kv_mem_del(proj_kv_mem *m, MDB_txn *base, MDB_dbi dbi, const void *key, size_t key_bytes)
{
	table *t = table_of(m, dbi);
	if (!t)
		return LEDGER_ERR_INVALID;
	assert(!t->sorted);
	if (key_bytes == 0 || key_bytes > KEY_BYTES_MAX)
		return LEDGER_ERR_INVALID;
	uint64_t h = hash_key(m->seed, key, key_bytes);
	pending *p;
	ledger_err err = queue(m, base, t, h, key, key_bytes, TOMBSTONE, &p);
	return err || p ? err : apply_del(m, base, t, dbi, h, key, key_bytes);
}

/* ----- order ----- */

/*
 * Sorting: a least-significant-digit radix sort on the rows' first 16 key bytes, held in the
 * rows themselves, then a comparison sort of each run of rows equal in those 16 bytes (keys of
 * the projections rarely share 16 bytes: a firm and a collaborator, an instant and a firm). A
 * comparison sort would instead read each row's entry, scattered over the arena, about log2(n)
 * times: it took most of the time of writing the 1M-event benchmark's projections.
 */
#define RADIX_DIGITS      16u /* bytes of hi and lo */
#define RUN_INSERTION_MAX 16u /* longer runs of equal prefixes: qsort */
#define PREFETCH_DISTANCE 8u  /* rows ahead: entries are scattered, fetch them early */

static void row_fill(sorted_row *r, const entry *e)
{
	uint8_t b[RADIX_DIGITS] = {0};
	memcpy(b, e->data, e->key_bytes < RADIX_DIGITS ? e->key_bytes : RADIX_DIGITS);
	r->hi = ledger_get_u64_be(b);
	r->lo = ledger_get_u64_be(b + 8);
	r->e = e;
}

/* Digit d of a row: byte d of its 16-byte prefix, 0 the most significant. */
static unsigned row_digit(const sorted_row *r, unsigned d)
{
	return (unsigned)((d < 8 ? r->hi >> (8 * (7 - d)) : r->lo >> (8 * (15 - d))) & 0xff);
}

/* LMDB's default order: memcmp over the shorter length, then the shorter key first. */
static int key_cmp(const void *a, size_t a_bytes, const void *b, size_t b_bytes)
{
	int c = memcmp(a, b, a_bytes < b_bytes ? a_bytes : b_bytes);
	return c ? c : (a_bytes > b_bytes) - (a_bytes < b_bytes);
}

static int row_cmp(const void *x, const void *y)
{
	const sorted_row *a = x, *b = y;
	if (a->hi != b->hi)
		return a->hi < b->hi ? -1 : 1;
	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	return key_cmp(a->e->data, a->e->key_bytes, b->e->data, b->e->key_bytes);
}

/* Orders rows by their prefixes; false when out of memory. Stable, as LSD must be. */
static bool radix_sort(sorted_row *rows, size_t n)
{
	size_t(*counts)[256] = calloc(RADIX_DIGITS, sizeof *counts);
	sorted_row *tmp = n > 1 ? malloc(n * sizeof *tmp) : NULL;
	if (!counts || (n > 1 && !tmp)) {
		free(counts);
		free(tmp);
		return false;
	}
	for (size_t i = 0; i < n; i++)
		for (unsigned d = 0; d < RADIX_DIGITS; d++)
			counts[d][row_digit(&rows[i], d)]++;
	sorted_row *from = rows, *to = tmp;
	for (unsigned d = RADIX_DIGITS; d-- > 0;) {
		size_t *c = counts[d], offset = 0;
		if (n < 2 || c[row_digit(&from[0], d)] == n)
			continue; /* every row has the same digit here: the pass would change nothing */
		for (unsigned v = 0; v < 256; v++) {
			size_t k = c[v];
			c[v] = offset;
			offset += k;
		}
		for (size_t i = 0; i < n; i++)
			to[c[row_digit(&from[i], d)]++] = from[i];
		sorted_row *swap = from;
		from = to;
		to = swap;
	}
	if (from != rows)
		memcpy(rows, from, n * sizeof *rows);
	free(tmp);
	free(counts);
	return true;
}

/* Orders each run of rows equal in their prefixes by their whole keys. */
static void sort_runs(sorted_row *rows, size_t n)
{
	for (size_t start = 0, end; start < n; start = end) {
		for (end = start + 1; end < n && rows[end].hi == rows[start].hi && rows[end].lo == rows[start].lo;)
			end++;
		if (end - start > RUN_INSERTION_MAX) {
			qsort(rows + start, end - start, sizeof *rows, row_cmp);
			continue;
		}
		for (size_t i = start + 1; i < end; i++)
			for (size_t j = i; j > start && row_cmp(&rows[j - 1], &rows[j]) > 0; j--) {
				sorted_row r = rows[j];
				rows[j] = rows[j - 1];
				rows[j - 1] = r;
			}
	}
}

/* The entries of t (tombstones included if with_tombstones) whose key starts with prefix,
 * sorted; NULL when out of memory. The caller frees it. */
static proj_kv_sorted *sort_table(const table *t, const void *prefix, size_t prefix_bytes, bool with_tombstones)
{
	proj_kv_sorted *out = malloc(sizeof *out + t->used * sizeof out->rows[0]);
	if (!out)
		return NULL;
	out->count = 0;
	for (size_t i = 0; i < t->slots_count; i++) {
		if (i + PREFETCH_DISTANCE < t->slots_count && t->slots[i + PREFETCH_DISTANCE].e)
			__builtin_prefetch(t->slots[i + PREFETCH_DISTANCE].e);
		const entry *e = t->slots[i].e;
		if (!e || (e->val_bytes == TOMBSTONE && !with_tombstones))
			continue;
		if (e->key_bytes < prefix_bytes || memcmp(e->data, prefix, prefix_bytes) != 0)
			continue;
		row_fill(&out->rows[out->count++], e);
	}
	if (!radix_sort(out->rows, out->count)) {
		free(out);
		return NULL;
	}
	sort_runs(out->rows, out->count);
	return out;
}

ledger_err proj_kv_mem_sort(proj_kv_mem *m, MDB_dbi dbi)
{
	table *t = table_of(m, dbi);
	if (!t)
		return LEDGER_ERR_INVALID;
	assert(m->pending_count == 0); /* proj_kv_mem_flush first */
	if (!t->sorted)
		t->sorted = sort_table(t, "", 0, true);
	return t->sorted ? LEDGER_OK : LEDGER_ERR_NOMEM;
}

/* Into an empty database: each row after the last, so LMDB fills each page once. */
static int write_append(MDB_txn *txn, MDB_dbi dbi, const proj_kv_sorted *sorted, uint64_t *rows)
{
	MDB_cursor *cur = NULL;
	int rc = mdb_cursor_open(txn, dbi, &cur);
	for (size_t i = 0; rc == 0 && i < sorted->count; i++) {
		if (i + PREFETCH_DISTANCE < sorted->count)
			__builtin_prefetch(sorted->rows[i + PREFETCH_DISTANCE].e);
		const entry *e = sorted->rows[i].e;
		if (e->val_bytes == TOMBSTONE)
			continue;
		MDB_val k = {e->key_bytes, (void *)e->data}, v = {e->val_bytes, (void *)(e->data + e->key_bytes)};
		rc = mdb_cursor_put(cur, &k, &v, MDB_APPEND);
		*rows += rc == 0;
	}
	if (cur)
		mdb_cursor_close(cur);
	return rc;
}

/* Over what an earlier write left: puts and dels, in key order all the same. */
static int write_merge(MDB_txn *txn, MDB_dbi dbi, const proj_kv_sorted *sorted, uint64_t *rows)
{
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < sorted->count; i++) {
		const entry *e = sorted->rows[i].e;
		MDB_val k = {e->key_bytes, (void *)e->data}, v = {e->val_bytes, (void *)(e->data + e->key_bytes)};
		if (e->val_bytes == TOMBSTONE) {
			rc = mdb_del(txn, dbi, &k, NULL);
			rc = rc == MDB_NOTFOUND ? 0 : rc;
		} else {
			rc = mdb_put(txn, dbi, &k, &v, 0);
			*rows += rc == 0;
		}
	}
	return rc;
}

ledger_err proj_kv_mem_write(proj_kv_mem *m, MDB_txn *txn, MDB_dbi dbi, uint64_t *rows)
{
	ledger_err err = proj_kv_mem_sort(m, dbi);
	if (err)
		return err;
	const proj_kv_sorted *sorted = table_of(m, dbi)->sorted;
	MDB_stat st;
	int rc = mdb_stat(txn, dbi, &st);
	if (rc == 0)
		rc = st.ms_entries == 0 ? write_append(txn, dbi, sorted, rows) : write_merge(txn, dbi, sorted, rows);
	return ledger_mdb_err(rc);
}

size_t proj_kv_mem_write_bytes(const proj_kv_mem *m)
{
	/* LMDB fills each page written in key order (MDB_APPEND), but for its 16-byte header; the
	 * branch pages above take about one part in a hundred more. */
	size_t b = m->live_bytes + m->pending_used;
	return b + b / 64;
}

bool proj_kv_mem_has(const proj_kv_mem *m, MDB_dbi dbi)
{
	return dbi < PROJ_KV_MEM_DBS_MAX && m->tables[dbi].used;
}

/* ----- scan: memory and base merged, memory winning ----- */

typedef struct scan_base {
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;
	const void *prefix;
	size_t prefix_bytes;
} scan_base;

static void base_step(scan_base *b, MDB_cursor_op op)
{
	if (!b->cur) {
		b->rc = MDB_NOTFOUND;
		return;
	}
	if (op == MDB_SET_RANGE)
		b->k = (MDB_val){b->prefix_bytes, (void *)b->prefix};
	if (op == MDB_SET_RANGE && b->prefix_bytes == 0)
		op = MDB_FIRST; /* LMDB refuses an empty key */
	b->rc = mdb_cursor_get(b->cur, &b->k, &b->v, op);
	if (b->rc == 0 && (b->k.mv_size < b->prefix_bytes || memcmp(b->k.mv_data, b->prefix, b->prefix_bytes) != 0))
		b->rc = MDB_NOTFOUND; /* past the prefix */
}

ledger_err proj_kv_mem_scan(proj_kv_mem *m, MDB_txn *base, MDB_dbi dbi, const void *prefix, size_t prefix_bytes,
                            proj_kv_visit visit, void *ctx)
{
	table *t = table_of(m, dbi);
	if (!t)
		return LEDGER_ERR_INVALID;
	ledger_err err = proj_kv_mem_flush(m, base); /* scans read the tables only */
	if (err)
		return err;
	proj_kv_sorted *mine = sort_table(t, prefix, prefix_bytes, true);
	scan_base b = {.prefix = prefix, .prefix_bytes = prefix_bytes};
	int rc = mine && base ? mdb_cursor_open(base, dbi, &b.cur) : 0;
	if (!mine || rc) {
		free(mine);
		return mine ? ledger_mdb_err(rc) : LEDGER_ERR_NOMEM;
	}
	base_step(&b, MDB_SET_RANGE);
	bool go = true;
	for (size_t i = 0; go && (i < mine->count || b.rc == 0);) {
		const entry *e = i < mine->count ? mine->rows[i].e : NULL;
		int c = !e ? 1 : b.rc ? -1 : key_cmp(e->data, e->key_bytes, b.k.mv_data, b.k.mv_size);
		if (c > 0) {
			go = visit(ctx, b.k.mv_data, b.k.mv_size, b.v.mv_data, b.v.mv_size);
			base_step(&b, MDB_NEXT);
			continue;
		}
		if (c == 0)
			base_step(&b, MDB_NEXT); /* shadowed by memory */
		if (e->val_bytes != TOMBSTONE)
			go = visit(ctx, e->data, e->key_bytes, e->data + e->key_bytes, e->val_bytes);
		i++;
	}
	rc = b.rc == MDB_NOTFOUND ? 0 : b.rc;
	if (b.cur)
		mdb_cursor_close(b.cur);
	free(mine);
	return go ? ledger_mdb_err(rc) : LEDGER_OK;
}
