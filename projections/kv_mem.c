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
#include "kv_mem.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

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
	LEDGER_ASSERT(!t->sorted); /* no put between a write and the clear that follows it */
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
	LEDGER_ASSERT(!t->sorted);
	if (key_bytes == 0 || key_bytes > KEY_BYTES_MAX)
		return LEDGER_ERR_INVALID;
	uint64_t h = hash_key(m->seed, key, key_bytes);
	pending *p;
	ledger_err err = queue(m, base, t, h, key, key_bytes, TOMBSTONE, &p);
	return err || p ? err : apply_del(m, base, t, dbi, h, key, key_bytes);
}
