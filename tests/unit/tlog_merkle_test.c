/*
 * tlog_merkle_test: the tree of tlog/ is RFC 9162's. Roots of the RFC 6962 test leaves match
 * the published vectors; for every size n up to SIZE_MAX_TESTED and every m, the roots, the
 * inclusion proofs and the consistency proofs generated from stored subtrees equal those of a
 * naive implementation that follows the RFC's recursive definitions word for word, and they
 * verify; every tampered proof (a hash changed, one hash more or less, another index, size or
 * root) is refused.
 */
#include "../check.h"
#include "tlog.h"

#define SIZE_MAX_TESTED 70

static uint8_t leaves[SIZE_MAX_TESTED][TLOG_HASH_BYTES];

static int nibble(char c)
{
	return c >= 'a' ? c - 'a' + 10 : c - '0';
}

/* n bytes from 2n lower-case hex digits (the test's own constants). */
static void hex(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)(nibble(s[2 * i]) << 4 | nibble(s[2 * i + 1]));
}

/* ---- the naive reference: RFC 9162 §2.1.1, §2.1.3.1, §2.1.4.1 as written ---------------- */

static uint64_t largest_power_below(uint64_t n)
{
	uint64_t k = 1;
	while (k * 2 < n)
		k *= 2;
	return k;
}

static void naive_mth(uint64_t lo, uint64_t hi, uint8_t out[32])
{
	if (hi == lo) {
		tlog_empty_root(out);
	} else if (hi - lo == 1) {
		memcpy(out, leaves[lo], 32);
	} else {
		uint64_t k = largest_power_below(hi - lo);
		uint8_t l[32], r[32];
		naive_mth(lo, lo + k, l);
		naive_mth(lo + k, hi, r);
		tlog_node_hash(l, r, out);
	}
}

static void naive_path(uint64_t m, uint64_t lo, uint64_t hi, tlog_proof *p)
{
	if (hi - lo <= 1)
		return;
	uint64_t k = largest_power_below(hi - lo);
	if (m < k) {
		naive_path(m, lo, lo + k, p);
		naive_mth(lo + k, hi, p->hashes[p->count++]);
	} else {
		naive_path(m - k, lo + k, hi, p);
		naive_mth(lo, lo + k, p->hashes[p->count++]);
	}
}

static void naive_subproof(uint64_t m, uint64_t lo, uint64_t hi, bool b, tlog_proof *p)
{
	uint64_t n = hi - lo;
	if (m == n) {
		if (!b)
			naive_mth(lo, hi, p->hashes[p->count++]);
		return;
	}
	uint64_t k = largest_power_below(n);
	if (m <= k) {
		naive_subproof(m, lo, lo + k, b, p);
		naive_mth(lo + k, hi, p->hashes[p->count++]);
	} else {
		naive_subproof(m - k, lo + k, hi, false, p);
		naive_mth(lo, lo + k, p->hashes[p->count++]);
	}
}

static bool proofs_equal(const tlog_proof *a, const tlog_proof *b)
{
	return a->count == b->count && memcmp(a->hashes, b->hashes, a->count * 32) == 0;
}

/* ---- RFC 6962 vectors ------------------------------------------------------------------- */

static void test_rfc6962_roots(void)
{
	static const char *entries[8] = {
	    "", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"};
	static const char *roots[9] = {
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
	    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
	    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
	    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
	    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
	    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
	    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
	    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
	};
	tlog_mem_store mem;
	tlog_mem_store_init(&mem);
	tlog_subtree_store store = tlog_mem_store_interface(&mem);
	tlog_tree tree;
	tlog_tree_init(&tree);
	for (int n = 0; n <= 8; n++) {
		uint8_t want[32], got[32], at[32];
		hex(roots[n], want, 32);
		tlog_tree_root(&tree, got);
		CHECK(memcmp(got, want, 32) == 0, "RFC 6962 root of size %d (incremental)", n);
		CHECK(tlog_root_at(&store, (uint64_t)n, at) == TLOG_OK && memcmp(at, want, 32) == 0,
		      "RFC 6962 root of size %d (from the store)", n);
		if (n == 8)
			break;
		uint8_t entry[16], leaf[32];
		size_t bytes = strlen(entries[n]) / 2;
		hex(entries[n], entry, bytes);
		tlog_leaf_hash(entry, bytes, leaf);
		CHECK(tlog_tree_append(&tree, leaf, &store) == TLOG_OK, "append %d", n);
	}
	/* RFC 6962's inclusion proof of leaf 0 in the tree of 8. */
	static const char *path0[3] = {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
	                               "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
	                               "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"};
	tlog_proof p;
	CHECK(tlog_prove_inclusion(&store, 0, 8, &p) == TLOG_OK && p.count == 3, "inclusion of leaf 0 in 8");
	for (int i = 0; i < 3 && p.count == 3; i++) {
		uint8_t want[32];
		hex(path0[i], want, 32);
		CHECK(memcmp(p.hashes[i], want, 32) == 0, "RFC 6962 path of leaf 0 in 8, hash %d", i);
	}
	tlog_mem_store_free(&mem);
}

/* ---- every size against the naive implementation ----------------------------------------- */

static void check_inclusion_tampering(uint64_t index, uint64_t size, const tlog_proof *proof, const uint8_t root[32])
{
	tlog_proof bad = *proof;
	for (size_t i = 0; i < proof->count; i++) {
		bad.hashes[i][i % 32] ^= 0x01;
		CHECK(tlog_verify_inclusion(leaves[index], index, size, &bad, root) == TLOG_ERR_PROOF,
		      "inclusion %llu/%llu with hash %zu changed", (unsigned long long)index, (unsigned long long)size,
		      i);
		bad.hashes[i][i % 32] ^= 0x01;
	}
	if (proof->count > 0) {
		bad.count = proof->count - 1;
		CHECK(tlog_verify_inclusion(leaves[index], index, size, &bad, root) == TLOG_ERR_PROOF,
		      "one hash fewer");
	}
	bad.count = proof->count + 1;
	memcpy(bad.hashes[proof->count], root, 32);
	CHECK(tlog_verify_inclusion(leaves[index], index, size, &bad, root) == TLOG_ERR_PROOF, "one hash more");
	uint8_t other_root[32];
	memcpy(other_root, root, 32);
	other_root[31] ^= 0x80;
	CHECK(tlog_verify_inclusion(leaves[index], index, size, proof, other_root) == TLOG_ERR_PROOF, "another root");
	CHECK(tlog_verify_inclusion(leaves[index], size, size, proof, root) == TLOG_ERR_PROOF, "index == size");
	for (uint64_t other = 0; other < size; other++) {
		if (other == index)
			continue;
		CHECK(tlog_verify_inclusion(leaves[index], other, size, proof, root) == TLOG_ERR_PROOF,
		      "leaf %llu's proof taken for index %llu", (unsigned long long)index, (unsigned long long)other);
		CHECK(tlog_verify_inclusion(leaves[other], index, size, proof, root) == TLOG_ERR_PROOF,
		      "another leaf with leaf %llu's proof", (unsigned long long)index);
	}
	/* Another size with its own root: refused unless the path there is the very same. */
	for (uint64_t other = index + 1; other <= SIZE_MAX_TESTED; other++) {
		if (other == size)
			continue;
		tlog_proof there = {0};
		uint8_t other_root2[32];
		naive_path(index, 0, other, &there);
		naive_mth(0, other, other_root2);
		if (!proofs_equal(&there, proof))
			CHECK(tlog_verify_inclusion(leaves[index], index, other, proof, other_root2) == TLOG_ERR_PROOF,
			      "proof of %llu in %llu taken for size %llu", (unsigned long long)index,
			      (unsigned long long)size, (unsigned long long)other);
	}
}

static void check_consistency_tampering(uint64_t m, uint64_t n, const tlog_proof *proof, const uint8_t old_root[32],
                                        const uint8_t new_root[32])
{
	tlog_proof bad = *proof;
	for (size_t i = 0; i < proof->count; i++) {
		bad.hashes[i][(i * 7) % 32] ^= 0x04;
		CHECK(tlog_verify_consistency(m, n, old_root, new_root, &bad) == TLOG_ERR_PROOF,
		      "consistency %llu->%llu with hash %zu changed", (unsigned long long)m, (unsigned long long)n, i);
		bad.hashes[i][(i * 7) % 32] ^= 0x04;
	}
	if (proof->count > 0) {
		bad.count = proof->count - 1;
		CHECK(tlog_verify_consistency(m, n, old_root, new_root, &bad) == TLOG_ERR_PROOF, "one hash fewer");
	}
	bad.count = proof->count + 1;
	memcpy(bad.hashes[proof->count], new_root, 32);
	CHECK(tlog_verify_consistency(m, n, old_root, new_root, &bad) == TLOG_ERR_PROOF, "%llu->%llu one hash more",
	      (unsigned long long)m, (unsigned long long)n);
	uint8_t flipped[32];
	memcpy(flipped, old_root, 32);
	flipped[0] ^= 1;
	CHECK(tlog_verify_consistency(m, n, flipped, new_root, proof) == TLOG_ERR_PROOF, "another old root");
	memcpy(flipped, new_root, 32);
	flipped[0] ^= 1;
	/* From size 0 there is nothing to prove: any new root extends the empty tree. */
	if (m > 0)
		CHECK(tlog_verify_consistency(m, n, old_root, flipped, proof) == TLOG_ERR_PROOF, "another new root");
	if (m < n)
		CHECK(tlog_verify_consistency(n, m, new_root, old_root, proof) == TLOG_ERR_PROOF, "sizes swapped");
	/* Other old sizes with their true roots: refused unless the proof there is the same. */
	for (uint64_t other = 1; other <= n; other++) {
		if (other == m)
			continue;
		tlog_proof there = {0};
		uint8_t root_there[32];
		if (other < n)
			naive_subproof(other, 0, n, true, &there);
		naive_mth(0, other, root_there);
		if (!proofs_equal(&there, proof))
			CHECK(tlog_verify_consistency(other, n, root_there, new_root, proof) == TLOG_ERR_PROOF,
			      "proof %llu->%llu taken for old size %llu", (unsigned long long)m, (unsigned long long)n,
			      (unsigned long long)other);
	}
}

static void test_all_sizes(void)
{
	tlog_mem_store mem;
	tlog_mem_store_init(&mem);
	tlog_subtree_store store = tlog_mem_store_interface(&mem);
	tlog_tree tree;
	tlog_tree_init(&tree);
	for (int i = 0; i < SIZE_MAX_TESTED; i++) {
		char entry[32];
		int bytes = snprintf(entry, sizeof entry, "entry %d", i);
		tlog_leaf_hash((const uint8_t *)entry, (size_t)bytes, leaves[i]);
		REQUIRE_VOID(tlog_tree_append(&tree, leaves[i], &store) == TLOG_OK);
		tlog_tree loaded;
		CHECK(tlog_tree_load(&store, tree.size, &loaded) == TLOG_OK && loaded.size == tree.size &&
		          loaded.peak_count == tree.peak_count &&
		          memcmp(loaded.peaks, tree.peaks, tree.peak_count * 32) == 0,
		      "tree of size %llu reloaded from the store", (unsigned long long)tree.size);
	}
	for (uint64_t n = 0; n <= SIZE_MAX_TESTED; n++) {
		uint8_t want[32], got[32];
		naive_mth(0, n, want);
		CHECK(tlog_root_at(&store, n, got) == TLOG_OK && memcmp(got, want, 32) == 0, "root at %llu",
		      (unsigned long long)n);
		for (uint64_t m = 0; m < n; m++) {
			tlog_proof proof, naive = {0};
			naive_path(m, 0, n, &naive);
			CHECK(tlog_prove_inclusion(&store, m, n, &proof) == TLOG_OK && proofs_equal(&proof, &naive),
			      "inclusion proof of %llu in %llu as the RFC's", (unsigned long long)m,
			      (unsigned long long)n);
			CHECK(tlog_verify_inclusion(leaves[m], m, n, &proof, want) == TLOG_OK, "inclusion %llu in %llu",
			      (unsigned long long)m, (unsigned long long)n);
			check_inclusion_tampering(m, n, &proof, want);
		}
		for (uint64_t m = 0; m <= n; m++) {
			tlog_proof proof, naive = {0};
			uint8_t old_root[32];
			naive_mth(0, m, old_root);
			if (m > 0 && m < n)
				naive_subproof(m, 0, n, true, &naive);
			CHECK(tlog_prove_consistency(&store, m, n, &proof) == TLOG_OK && proofs_equal(&proof, &naive),
			      "consistency proof %llu->%llu as the RFC's", (unsigned long long)m,
			      (unsigned long long)n);
			CHECK(tlog_verify_consistency(m, n, old_root, want, &proof) == TLOG_OK,
			      "consistency %llu->%llu", (unsigned long long)m, (unsigned long long)n);
			check_consistency_tampering(m, n, &proof, old_root, want);
		}
	}
	tlog_mem_store_free(&mem);
}

/* ---- limits and errors ------------------------------------------------------------------- */

/* A store that fails every put above level 0, after passing level 0 to the memory store. */
static tlog_err put_failing_above_leaves(void *ctx, unsigned level, uint64_t index, const uint8_t hash[32])
{
	if (level > 0)
		return TLOG_ERR_STORE;
	tlog_subtree_store mem = tlog_mem_store_interface(ctx);
	return mem.put(mem.ctx, level, index, hash);
}

/* A failed append leaves the tree as it was; the same append, retried, succeeds (the subtrees
 * already put are put again with the same hashes). */
static void test_append_failure(void)
{
	tlog_mem_store mem;
	tlog_mem_store_init(&mem);
	tlog_subtree_store good = tlog_mem_store_interface(&mem);
	tlog_subtree_store failing = {.get = good.get, .put = put_failing_above_leaves, .ctx = &mem};
	tlog_tree tree, before;
	tlog_tree_init(&tree);
	uint8_t leaf[32] = {7};
	REQUIRE_VOID(tlog_tree_append(&tree, leaf, &good) == TLOG_OK);
	before = tree;
	CHECK(tlog_tree_append(&tree, leaf, &failing) == TLOG_ERR_STORE, "the store's error is returned");
	CHECK(tree.size == before.size && tree.peak_count == before.peak_count &&
	          memcmp(tree.peaks, before.peaks, sizeof tree.peaks) == 0,
	      "a failed append leaves the tree unchanged");
	CHECK(tlog_tree_append(&tree, leaf, &good) == TLOG_OK && tree.size == 2, "the retried append succeeds");
	uint8_t root[32], want[32];
	tlog_node_hash(leaf, leaf, want);
	CHECK(tlog_root_at(&good, 2, root) == TLOG_OK && memcmp(root, want, 32) == 0, "and the store has the tree");
	tlog_mem_store_free(&mem);
}

static void test_limits(void)
{
	tlog_mem_store mem;
	tlog_mem_store_init(&mem);
	tlog_subtree_store store = tlog_mem_store_interface(&mem);
	tlog_tree tree;
	tlog_tree_init(&tree);
	uint8_t leaf[32] = {1}, root[32];
	for (int i = 0; i < 5; i++)
		REQUIRE_VOID(tlog_tree_append(&tree, leaf, &store) == TLOG_OK);
	tlog_proof p;
	CHECK(tlog_prove_inclusion(&store, 5, 5, &p) == TLOG_ERR_RANGE, "index == size");
	CHECK(tlog_prove_inclusion(&store, 2, 6, &p) == TLOG_ERR_NOT_FOUND, "a size the store does not hold: %s",
	      tlog_last_error());
	CHECK(tlog_prove_consistency(&store, 4, 3, &p) == TLOG_ERR_RANGE, "old size above new");
	CHECK(tlog_prove_consistency(&store, 3, 9, &p) == TLOG_ERR_NOT_FOUND, "new size not held");
	CHECK(tlog_root_at(&store, 6, root) == TLOG_ERR_NOT_FOUND, "root of a size not held");
	CHECK(tlog_tree_load(&store, 7, &tree) == TLOG_ERR_NOT_FOUND, "load a size not held");
	uint8_t empty[32];
	tlog_empty_root(empty);
	p.count = 0;
	CHECK(tlog_verify_consistency(0, 5, empty, leaf, &p) == TLOG_OK, "the empty tree is a prefix of any");
	CHECK(tlog_verify_consistency(0, 5, leaf, leaf, &p) == TLOG_ERR_PROOF, "size 0 with a non-empty root");
	CHECK(tlog_verify_consistency(5, 5, leaf, leaf, &p) == TLOG_OK, "same size, same root");
	CHECK(tlog_verify_consistency(5, 5, leaf, empty, &p) == TLOG_ERR_PROOF, "same size, two roots");
	CHECK(tlog_verify_inclusion(leaf, 0, 0, &p, empty) == TLOG_ERR_PROOF, "nothing is in the empty tree");
	p.count = TLOG_PROOF_HASHES_MAX + 1;
	CHECK(tlog_verify_inclusion(leaf, 0, 1, &p, leaf) == TLOG_ERR_PROOF, "a proof over the limit");
	CHECK(tlog_verify_consistency(1, 2, leaf, leaf, &p) == TLOG_ERR_PROOF, "a proof over the limit");
	/* The largest tree: 2^64 - 1 leaves, 64 peaks; it cannot grow. */
	tlog_tree full = {.size = UINT64_MAX, .peak_count = 64};
	CHECK(tlog_tree_append(&full, leaf, NULL) == TLOG_ERR_RANGE, "append to a full tree");
	CHECK(full.size == UINT64_MAX, "the full tree is unchanged");
	/* Appends without a store, as a reader keeping only the head would. */
	tlog_tree head;
	tlog_tree_init(&head);
	for (int i = 0; i < 5; i++)
		tlog_tree_append(&head, leaf, NULL);
	uint8_t a[32], b[32];
	tlog_tree_root(&head, a);
	tlog_tree_root(&tree, b);
	CHECK(memcmp(a, b, 32) == 0, "a tree kept without a store has the same root");
	tlog_mem_store_free(&mem);
}

int main(void)
{
	test_rfc6962_roots();
	test_all_sizes();
	test_limits();
	test_append_failure();
	return check_report("tlog_merkle_test");
}
