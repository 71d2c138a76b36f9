/*
 * proof.c: roots of past sizes, inclusion and consistency proofs (RFC 9162 §2.1.3, §2.1.4).
 *
 * Generation walks the RFC's recursive definitions top-down as loops (no recursion on input),
 * collecting the hash of each sibling range; the RFC lists them bottom-up, so the list is
 * reversed at the end. Every range the definitions name, [lo, hi), starts at a multiple of a
 * power of two at least hi - lo, so its hash is a fold of full subtrees from the store, one per
 * set bit of hi - lo (range_hash).
 */
#include "internal.h"

#include <string.h>

/* The largest power of two strictly less than n (n >= 2): the RFC's split point k. */
static uint64_t split_point(uint64_t n)
{
	TLOG_ASSERT(n >= 2);
	return (uint64_t)1 << (63 - __builtin_clzll(n - 1));
}

/* The RFC 9162 hash of leaves [start, end), start aligned as above, from the store. */
static tlog_err range_hash(const tlog_subtree_store *store, uint64_t start, uint64_t end, uint8_t out[TLOG_HASH_BYTES])
{
	TLOG_ASSERT(start < end);
	uint8_t pieces[TLOG_TREE_LEVELS_MAX][TLOG_HASH_BYTES];
	unsigned count = 0;
	uint64_t position = start, length = end - start;
	for (unsigned level = TLOG_TREE_LEVELS_MAX; level-- > 0;) {
		if (!((length >> level) & 1))
			continue;
		TLOG_ASSERT((position & (((uint64_t)1 << level) - 1)) == 0);
		tlog_err err = store->get(store->ctx, level, position >> level, pieces[count]);
		if (err)
			return err;
		count++;
		position += (uint64_t)1 << level;
	}
	TLOG_ASSERT(position == end && count > 0);
	for (unsigned i = count - 1; i-- > 0;)
		tlog_node_hash(pieces[i], pieces[count - 1], pieces[count - 1]);
	memcpy(out, pieces[count - 1], TLOG_HASH_BYTES);
	return TLOG_OK;
}

static tlog_err check_store(const tlog_subtree_store *store, const void *out)
{
	if (!store || !store->get || !out)
		return tlog_fail(TLOG_ERR_INVALID, "no subtree store, or no output");
	return TLOG_OK;
}

tlog_err tlog_root_at(const tlog_subtree_store *store, uint64_t size, uint8_t out[TLOG_HASH_BYTES])
{
	tlog_err err = check_store(store, out);
	if (err)
		return err;
	if (size == 0) {
		tlog_empty_root(out);
		return TLOG_OK;
	}
	return range_hash(store, 0, size, out);
}

static void reverse_proof(tlog_proof *p)
{
	for (size_t i = 0, j = p->count ? p->count - 1 : 0; i < j; i++, j--) {
		uint8_t swap[TLOG_HASH_BYTES];
		memcpy(swap, p->hashes[i], TLOG_HASH_BYTES);
		memcpy(p->hashes[i], p->hashes[j], TLOG_HASH_BYTES);
		memcpy(p->hashes[j], swap, TLOG_HASH_BYTES);
	}
}

/* Appends the hash of [lo, hi) to the proof being built. */
static tlog_err push_range(const tlog_subtree_store *store, uint64_t lo, uint64_t hi, tlog_proof *p)
{
	TLOG_ASSERT(p->count < TLOG_PROOF_HASHES_MAX);
	tlog_err err = range_hash(store, lo, hi, p->hashes[p->count]);
	if (err == TLOG_OK)
		p->count++;
	return err;
}

/* PATH(m, D[lo:hi]) = PATH(m, D[lo:lo+k]) : MTH(D[lo+k:hi]) if m < lo + k,
 *                     PATH(m, D[lo+k:hi]) : MTH(D[lo:lo+k]) otherwise. */
tlog_err tlog_prove_inclusion(const tlog_subtree_store *store, uint64_t index, uint64_t size, tlog_proof *out)
{
	tlog_err err = check_store(store, out);
	if (err)
		return err;
	if (index >= size)
		return tlog_fail(TLOG_ERR_RANGE, "inclusion proof of leaf %llu in a tree of %llu leaves",
		                 (unsigned long long)index, (unsigned long long)size);
	out->count = 0;
	uint64_t lo = 0, hi = size;
	while (hi - lo > 1) {
		uint64_t k = split_point(hi - lo);
		if (index < lo + k) {
			err = push_range(store, lo + k, hi, out);
			hi = lo + k;
		} else {
			err = push_range(store, lo, lo + k, out);
			lo = lo + k;
		}
		if (err)
			return err;
	}
	TLOG_ASSERT(lo == index && out->count <= 64);
	reverse_proof(out);
	return TLOG_OK;
}

/* SUBPROOF(m, D[lo:hi], b), with m the old size counted from lo:
 *   m == hi - lo: [] if b, else [MTH(D[lo:hi])]
 *   m <= k:       SUBPROOF(m, D[lo:lo+k], b) : MTH(D[lo+k:hi])
 *   m > k:        SUBPROOF(m - k, D[lo+k:hi], false) : MTH(D[lo:lo+k]) */
tlog_err tlog_prove_consistency(const tlog_subtree_store *store, uint64_t old_size, uint64_t new_size, tlog_proof *out)
{
	tlog_err err = check_store(store, out);
	if (err)
		return err;
	if (old_size > new_size)
		return tlog_fail(TLOG_ERR_RANGE, "consistency proof from size %llu to the smaller size %llu",
		                 (unsigned long long)old_size, (unsigned long long)new_size);
	out->count = 0;
	if (old_size == 0 || old_size == new_size)
		return TLOG_OK;
	uint64_t lo = 0, hi = new_size, m = old_size;
	bool whole_old_tree = true; /* the RFC's b: the old tree is still the one being proved */
	while (m != hi - lo) {
		uint64_t k = split_point(hi - lo);
		if (m <= k) {
			err = push_range(store, lo + k, hi, out);
			hi = lo + k;
		} else {
			err = push_range(store, lo, lo + k, out);
			lo += k;
			m -= k;
			whole_old_tree = false;
		}
		if (err)
			return err;
	}
	if (!whole_old_tree && (err = push_range(store, lo, hi, out)) != TLOG_OK)
		return err;
	TLOG_ASSERT(out->count <= TLOG_PROOF_HASHES_MAX);
	reverse_proof(out);
	return TLOG_OK;
}

/* ---- verification: from the proof alone ------------------------------------------------ */

tlog_err tlog_verify_inclusion(const uint8_t leaf_hash[TLOG_HASH_BYTES], uint64_t index, uint64_t size,
                               const tlog_proof *proof, const uint8_t root[TLOG_HASH_BYTES])
{
	if (!leaf_hash || !proof || !root)
		return tlog_fail(TLOG_ERR_INVALID, "tlog_verify_inclusion: NULL argument");
	if (index >= size)
		return tlog_fail(TLOG_ERR_PROOF, "leaf index %llu is not below the tree size %llu",
		                 (unsigned long long)index, (unsigned long long)size);
	if (proof->count > TLOG_PROOF_HASHES_MAX)
		return tlog_fail(TLOG_ERR_PROOF, "inclusion proof of %zu hashes", proof->count);
	uint64_t fn = index, sn = size - 1;
	uint8_t r[TLOG_HASH_BYTES];
	memcpy(r, leaf_hash, TLOG_HASH_BYTES);
	for (size_t i = 0; i < proof->count; i++) {
		if (sn == 0)
			return tlog_fail(TLOG_ERR_PROOF, "inclusion proof has more hashes than the path (%zu)",
			                 proof->count);
		if ((fn & 1) || fn == sn) {
			tlog_node_hash(proof->hashes[i], r, r);
			while (!(fn & 1) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			tlog_node_hash(r, proof->hashes[i], r);
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0)
		return tlog_fail(TLOG_ERR_PROOF, "inclusion proof has fewer hashes than the path (%zu)", proof->count);
	if (memcmp(r, root, TLOG_HASH_BYTES) != 0)
		return tlog_fail(TLOG_ERR_PROOF, "inclusion proof of leaf %llu leads to another root than size %llu's",
		                 (unsigned long long)index, (unsigned long long)size);
	return TLOG_OK;
}

static tlog_err verify_trivial_consistency(uint64_t old_size, uint64_t new_size,
                                           const uint8_t old_root[TLOG_HASH_BYTES],
                                           const uint8_t new_root[TLOG_HASH_BYTES], const tlog_proof *proof)
{
	uint8_t empty[TLOG_HASH_BYTES];
	tlog_empty_root(empty);
	if (proof->count != 0)
		return tlog_fail(TLOG_ERR_PROOF, "consistency proof from size %llu to %llu must be empty",
		                 (unsigned long long)old_size, (unsigned long long)new_size);
	if (old_size == 0 && memcmp(old_root, empty, TLOG_HASH_BYTES) != 0)
		return tlog_fail(TLOG_ERR_PROOF, "the old root of size 0 is not the empty tree's");
	if (old_size == new_size && memcmp(old_root, new_root, TLOG_HASH_BYTES) != 0)
		return tlog_fail(TLOG_ERR_PROOF, "two different roots for the same size %llu",
		                 (unsigned long long)old_size);
	return TLOG_OK;
}

/* RFC 9162 §2.1.4.2, steps numbered as there. */
tlog_err tlog_verify_consistency(uint64_t old_size, uint64_t new_size, const uint8_t old_root[TLOG_HASH_BYTES],
                                 const uint8_t new_root[TLOG_HASH_BYTES], const tlog_proof *proof)
{
	if (!old_root || !new_root || !proof)
		return tlog_fail(TLOG_ERR_INVALID, "tlog_verify_consistency: NULL argument");
	if (old_size > new_size)
		return tlog_fail(TLOG_ERR_PROOF, "old size %llu is larger than new size %llu",
		                 (unsigned long long)old_size, (unsigned long long)new_size);
	if (old_size == 0 || old_size == new_size)
		return verify_trivial_consistency(old_size, new_size, old_root, new_root, proof);
	if (proof->count == 0 || proof->count > TLOG_PROOF_HASHES_MAX) /* 1 */
		return tlog_fail(TLOG_ERR_PROOF, "consistency proof of %zu hashes", proof->count);
	/* 2: when the old tree is a full subtree its root is the proof's implicit first hash. */
	bool old_is_full = (old_size & (old_size - 1)) == 0;
	size_t first = 0;
	const uint8_t *start = old_is_full ? old_root : proof->hashes[first++];
	uint64_t fn = old_size - 1, sn = new_size - 1; /* 3 */
	while (fn & 1) {                               /* 4 */
		fn >>= 1;
		sn >>= 1;
	}
	uint8_t fr[TLOG_HASH_BYTES], sr[TLOG_HASH_BYTES]; /* 5 */
	memcpy(fr, start, TLOG_HASH_BYTES);
	memcpy(sr, start, TLOG_HASH_BYTES);
	for (size_t i = first; i < proof->count; i++) { /* 6 */
		const uint8_t *c = proof->hashes[i];
		if (sn == 0)
			return tlog_fail(TLOG_ERR_PROOF, "consistency proof has more hashes than the path (%zu)",
			                 proof->count);
		if ((fn & 1) || fn == sn) {
			tlog_node_hash(c, fr, fr);
			tlog_node_hash(c, sr, sr);
			while (!(fn & 1) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			tlog_node_hash(sr, c, sr);
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0) /* 7 */
		return tlog_fail(TLOG_ERR_PROOF, "consistency proof has fewer hashes than the path (%zu)",
		                 proof->count);
	if (memcmp(fr, old_root, TLOG_HASH_BYTES) != 0)
		return tlog_fail(TLOG_ERR_PROOF, "consistency proof does not lead to the old root (size %llu)",
		                 (unsigned long long)old_size);
	if (memcmp(sr, new_root, TLOG_HASH_BYTES) != 0)
		return tlog_fail(TLOG_ERR_PROOF, "consistency proof does not lead to the new root (size %llu)",
		                 (unsigned long long)new_size);
	return TLOG_OK;
}
