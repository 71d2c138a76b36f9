/*
 * tree.c: RFC 9162 hashing and the incremental tree.
 *
 * The writer keeps a compact range: the hashes of the full subtrees of the current size, one
 * per set bit, so an append merges at most 64 hashes and the root folds at most 64, without
 * reading anything back. Each subtree an append completes goes to the store once; roots of
 * past sizes and proofs are computed from those (proof.c).
 */
#include "internal.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

void tlog_leaf_hash(const uint8_t *entry, size_t entry_bytes, uint8_t out[TLOG_HASH_BYTES])
{
	static const uint8_t leaf_prefix = 0x00;
	const tlog_bytes parts[] = {{&leaf_prefix, 1}, {entry, entry_bytes}};
	tlog_sha256(parts, 2, out);
}

void tlog_node_hash(const uint8_t left[TLOG_HASH_BYTES], const uint8_t right[TLOG_HASH_BYTES],
                    uint8_t out[TLOG_HASH_BYTES])
{
	/* One piece: fewer EVP calls, and out may alias left or right. */
	uint8_t node[1 + 2 * TLOG_HASH_BYTES];
	node[0] = 0x01;
	memcpy(node + 1, left, TLOG_HASH_BYTES);
	memcpy(node + 1 + TLOG_HASH_BYTES, right, TLOG_HASH_BYTES);
	const tlog_bytes parts[] = {{node, sizeof node}};
	tlog_sha256(parts, 1, out);
}

void tlog_empty_root(uint8_t out[TLOG_HASH_BYTES])
{
	crypto_hash_sha256(out, (const uint8_t *)"", 0);
}

/* ---- the in-memory store ---------------------------------------------------------------- */

void tlog_mem_store_init(tlog_mem_store *m)
{
	memset(m, 0, sizeof *m);
}

void tlog_mem_store_free(tlog_mem_store *m)
{
	for (unsigned level = 0; level < TLOG_TREE_LEVELS_MAX; level++)
		free(m->levels[level]);
	memset(m, 0, sizeof *m);
}

static tlog_err mem_get(void *ctx, unsigned level, uint64_t index, uint8_t out[TLOG_HASH_BYTES])
{
	tlog_mem_store *m = ctx;
	if (level >= TLOG_TREE_LEVELS_MAX || index >= m->counts[level])
		return tlog_fail(TLOG_ERR_NOT_FOUND, "no subtree (level %u, index %llu) in the store", level,
		                 (unsigned long long)index);
	memcpy(out, m->levels[level][index], TLOG_HASH_BYTES);
	return TLOG_OK;
}

/* Subtrees arrive in order at each level; a repeated put (an append retried) must agree. */
static tlog_err mem_put(void *ctx, unsigned level, uint64_t index, const uint8_t hash[TLOG_HASH_BYTES])
{
	tlog_mem_store *m = ctx;
	TLOG_ASSERT(level < TLOG_TREE_LEVELS_MAX);
	if (index < m->counts[level]) {
		TLOG_ASSERT(memcmp(m->levels[level][index], hash, TLOG_HASH_BYTES) == 0);
		return TLOG_OK;
	}
	TLOG_ASSERT(index == m->counts[level]);
	if (m->counts[level] == m->capacities[level]) {
		uint64_t capacity = m->capacities[level] ? m->capacities[level] * 2 : 16;
		if (capacity > SIZE_MAX / TLOG_HASH_BYTES)
			return tlog_fail(TLOG_ERR_NOMEM, "in-memory store: level %u too large", level);
		void *grown = realloc(m->levels[level], (size_t)capacity * TLOG_HASH_BYTES);
		if (!grown)
			return tlog_fail(TLOG_ERR_NOMEM, "in-memory store: cannot grow level %u", level);
		m->levels[level] = grown;
		m->capacities[level] = capacity;
	}
	memcpy(m->levels[level][index], hash, TLOG_HASH_BYTES);
	m->counts[level]++;
	return TLOG_OK;
}

tlog_subtree_store tlog_mem_store_interface(tlog_mem_store *m)
{
	return (tlog_subtree_store){.get = mem_get, .put = mem_put, .ctx = m};
}

/* ---- the compact range ------------------------------------------------------------------- */

void tlog_tree_init(tlog_tree *t)
{
	memset(t, 0, sizeof *t);
}

/* Appending leaf `size` completes subtree (level, size >> level) for level 0 and each level
 * below the lowest zero bit of size: those merges are exactly the carries of size + 1. */
tlog_err tlog_tree_append(tlog_tree *t, const uint8_t leaf_hash[TLOG_HASH_BYTES], const tlog_subtree_store *store)
{
	TLOG_ASSERT(t->peak_count == (unsigned)__builtin_popcountll(t->size));
	if (t->size == UINT64_MAX)
		return tlog_fail(TLOG_ERR_RANGE, "the tree holds 2^64 - 1 leaves: it cannot grow");
	uint8_t hash[TLOG_HASH_BYTES];
	memcpy(hash, leaf_hash, TLOG_HASH_BYTES);
	unsigned peaks = t->peak_count;
	unsigned level = 0;
	for (;;) {
		if (store && store->put) {
			tlog_err err = store->put(store->ctx, level, t->size >> level, hash);
			if (err)
				return err;
		}
		if (!((t->size >> level) & 1))
			break;
		/* The subtree to the left at this level is full: merge (the last peak is it). */
		TLOG_ASSERT(peaks > 0);
		tlog_node_hash(t->peaks[--peaks], hash, hash);
		level++;
	}
	memcpy(t->peaks[peaks++], hash, TLOG_HASH_BYTES);
	t->peak_count = peaks;
	t->size++;
	TLOG_ASSERT(t->peak_count == (unsigned)__builtin_popcountll(t->size));
	return TLOG_OK;
}

void tlog_tree_root(const tlog_tree *t, uint8_t out[TLOG_HASH_BYTES])
{
	if (t->peak_count == 0) {
		tlog_empty_root(out);
		return;
	}
	/* RFC 9162 splits at the largest power of two: the root is the peaks folded from the right. */
	uint8_t hash[TLOG_HASH_BYTES];
	memcpy(hash, t->peaks[t->peak_count - 1], TLOG_HASH_BYTES);
	for (unsigned i = t->peak_count - 1; i-- > 0;)
		tlog_node_hash(t->peaks[i], hash, hash);
	memcpy(out, hash, TLOG_HASH_BYTES);
}

tlog_err tlog_tree_load(const tlog_subtree_store *store, uint64_t size, tlog_tree *out)
{
	if (!store || !store->get || !out)
		return tlog_fail(TLOG_ERR_INVALID, "tlog_tree_load: no store or no output");
	tlog_tree t;
	tlog_tree_init(&t);
	uint64_t start = 0;
	for (unsigned level = TLOG_TREE_LEVELS_MAX; level-- > 0;) {
		if (!((size >> level) & 1))
			continue;
		tlog_err err = store->get(store->ctx, level, start >> level, t.peaks[t.peak_count]);
		if (err)
			return err;
		t.peak_count++;
		start += (uint64_t)1 << level;
	}
	TLOG_ASSERT(start == size);
	t.size = size;
	*out = t;
	return TLOG_OK;
}
