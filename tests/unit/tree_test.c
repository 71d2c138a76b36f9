/*
 * tree_test: the log's Merkle tree (ledger/tree.c) as a third party sees it. After batches of
 * every size, the tree's root is the RFC 9162 root of the records' hashes (recomputed here with
 * tlog's in-memory tree, from ledger_get alone); every inclusion and consistency proof the store
 * gives verifies; each batch's checkpoint is signed by the log key over that root; kept
 * checkpoints follow the keep interval; a changed stored subtree is found (an inner one by
 * ledger_tree_verify, a peak by the open itself); a store without a tree gets one built.
 */
#include "../check.h"
#include "../support/scratch.h"
#include "ledger.h"
#include "tlog.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Fatal anywhere: the rest of the test cannot run. */
#define MUST(cond, ...)                                                                                                \
	do {                                                                                                           \
		int must_ = !!(cond);                                                                                  \
		CHECK(must_, __VA_ARGS__);                                                                             \
		if (!must_)                                                                                            \
			exit(check_report("tree_test"));                                                               \
	} while (0)

#define RECORDS_MAX 300
#define ORIGIN      "tree-test.example/log"

typedef struct append_job {
	ledger_job job;
	int count;
	uint64_t salt;
	ledger_err result;
} append_job;

static ledger_err append_apply(ledger_job *job, ledger_txn *t)
{
	append_job *j = (append_job *)job;
	ledger_err err = LEDGER_OK;
	for (int i = 0; i < j->count && !err; i++) {
		char event[64];
		int n = snprintf(event, sizeof event, "event %llu/%d", (unsigned long long)j->salt, i);
		err = ledger_append(t, (const uint8_t *)event, (size_t)n, NULL, NULL);
	}
	return err;
}

static void append_done(ledger_job *job, ledger_err err)
{
	((append_job *)job)->result = err;
}

static ledger_err append(ledger *l, int count, uint64_t salt, int64_t time_us)
{
	append_job j = {.job = {append_apply, append_done, NULL}, .count = count, .salt = salt};
	ledger_err err = ledger_commit_one(l, &j.job, time_us);
	return err ? err : j.result;
}

/* The root of the first `size` records, from their hashes only. */
static void expected_root(ledger *l, MDB_txn *txn, uint64_t size, uint8_t root[TLOG_HASH_BYTES])
{
	tlog_tree t;
	tlog_tree_init(&t);
	for (uint64_t seq = 1; seq <= size; seq++) {
		ledger_record rec;
		MUST(ledger_get(l, txn, seq, &rec) == LEDGER_OK, "record %llu", (unsigned long long)seq);
		uint8_t leaf[TLOG_HASH_BYTES];
		tlog_leaf_hash(rec.hash, LEDGER_HASH_BYTES, leaf);
		MUST(tlog_tree_append(&t, leaf, NULL) == TLOG_OK, "append");
	}
	tlog_tree_root(&t, root);
}

static void check_checkpoint(ledger *l, const tlog_verifier *key, uint64_t size, const uint8_t root[TLOG_HASH_BYTES])
{
	char note[LEDGER_CHECKPOINT_BYTES_MAX];
	size_t n = ledger_checkpoint_current(l, note);
	tlog_checkpoint cp;
	tlog_note_result r;
	CHECK(tlog_checkpoint_open(note, n, key, NULL, 0, &cp, &r) == TLOG_OK, "checkpoint at %llu opens: %s",
	      (unsigned long long)size, tlog_last_error());
	CHECK(cp.size == size && memcmp(cp.root, root, TLOG_HASH_BYTES) == 0 && strcmp(cp.origin, ORIGIN) == 0,
	      "checkpoint at %llu signs the tree (it says %llu)", (unsigned long long)size,
	      (unsigned long long)cp.size);
}

/* Every inclusion proof of a tree of `size` records, and the consistency proofs to it. */
static void check_proofs(ledger *l, MDB_txn *txn, uint64_t size, uint8_t roots[][TLOG_HASH_BYTES])
{
	for (uint64_t seq = 1; seq <= size; seq++) {
		tlog_proof p;
		ledger_record rec;
		uint8_t leaf[TLOG_HASH_BYTES];
		MUST(ledger_get(l, txn, seq, &rec) == LEDGER_OK, "record");
		tlog_leaf_hash(rec.hash, LEDGER_HASH_BYTES, leaf);
		CHECK(ledger_tree_prove_inclusion(l, txn, seq, size, &p) == LEDGER_OK, "prove %llu in %llu: %s",
		      (unsigned long long)seq, (unsigned long long)size, ledger_last_error());
		CHECK(tlog_verify_inclusion(leaf, seq - 1, size, &p, roots[size]) == TLOG_OK, "inclusion %llu in %llu",
		      (unsigned long long)seq, (unsigned long long)size);
		/* The same proof does not prove the neighbour. */
		if (size > 1)
			CHECK(tlog_verify_inclusion(leaf, seq % size, size, &p, roots[size]) == TLOG_ERR_PROOF,
			      "inclusion of %llu refused at another index", (unsigned long long)seq);
	}
	for (uint64_t old = 0; old <= size; old++) {
		tlog_proof p;
		CHECK(ledger_tree_prove_consistency(l, txn, old, size, &p) == LEDGER_OK, "consistency %llu..%llu",
		      (unsigned long long)old, (unsigned long long)size);
		CHECK(tlog_verify_consistency(old, size, roots[old], roots[size], &p) == TLOG_OK,
		      "consistency %llu..%llu verifies", (unsigned long long)old, (unsigned long long)size);
	}
	tlog_proof p;
	CHECK(ledger_tree_prove_inclusion(l, txn, size + 1, size, &p) == LEDGER_ERR_INVALID,
	      "seq past the size refused");
	CHECK(ledger_tree_prove_consistency(l, txn, 0, size + 1, &p) == LEDGER_ERR_INVALID,
	      "size past the head refused");
}

static ledger_err checkpoint_count(void *ctx, uint64_t size, const char *note, size_t note_bytes)
{
	(void)size;
	(void)note;
	(void)note_bytes;
	(*(int *)ctx)++;
	return LEDGER_OK;
}

/* Opens dir's LMDB file directly and runs fn on the tree database: the operator's tampering. */
static void tamper_tree(const char *dir, void (*fn)(MDB_txn *txn, MDB_dbi tree))
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi tree;
	MUST(mdb_env_create(&env) == 0 && mdb_env_set_maxdbs(env, 64) == 0 && mdb_env_set_mapsize(env, 64u << 20) == 0,
	     "env");
	MUST(mdb_env_open(env, dir, 0, 0600) == 0, "env open");
	MUST(mdb_txn_begin(env, NULL, 0, &txn) == 0 && mdb_dbi_open(txn, "tree", 0, &tree) == 0, "tree db");
	fn(txn, tree);
	MUST(mdb_txn_commit(txn) == 0, "commit");
	mdb_env_close(env);
}

static void flip_subtree(MDB_txn *txn, MDB_dbi tree, unsigned level, uint64_t index)
{
	uint8_t key[9], hash[TLOG_HASH_BYTES];
	key[0] = (uint8_t)level;
	ledger_put_u64_be(key + 1, index);
	MDB_val k = {sizeof key, key}, v;
	MUST(mdb_get(txn, tree, &k, &v) == 0 && v.mv_size == sizeof hash, "subtree (%u, %llu) stored", level,
	     (unsigned long long)index);
	memcpy(hash, v.mv_data, sizeof hash);
	hash[7] ^= 0x40;
	v = (MDB_val){sizeof hash, hash};
	MUST(mdb_put(txn, tree, &k, &v, 0) == 0, "put");
}

static void flip_inner(MDB_txn *txn, MDB_dbi tree)
{
	flip_subtree(txn, tree, 1, 3); /* leaves 6 and 7: under the peak of 256 */
}

static void flip_peak(MDB_txn *txn, MDB_dbi tree)
{
	flip_subtree(txn, tree, 8, 0); /* leaves 0..255: a peak of a tree of 300 */
}

static void drop_tree(MDB_txn *txn, MDB_dbi tree)
{
	MUST(mdb_drop(txn, tree, 0) == 0, "empty the tree db");
}

static uint64_t tree_verify_bad_seq(ledger *l, char *reason, size_t cap)
{
	MDB_txn *txn;
	ledger_verify_result r;
	MUST(ledger_read_begin(l, &txn) == LEDGER_OK, "txn");
	ledger_err err = ledger_tree_verify(l, txn, &r);
	ledger_read_end(l, txn);
	snprintf(reason, cap, "%s", r.reason);
	return err == LEDGER_OK ? 0 : (r.bad_seq ? r.bad_seq : UINT64_MAX);
}

static void test_tampering(const char *dir, const tlog_verifier *key, const uint8_t root[TLOG_HASH_BYTES])
{
	char reason[160];
	ledger *l;
	tamper_tree(dir, flip_inner);
	MUST(ledger_open(dir, NULL, &l) == LEDGER_OK, "an inner subtree is not checked at open: %s",
	     ledger_last_error());
	CHECK(tree_verify_bad_seq(l, reason, sizeof reason) == 8, "the changed subtree (1, 3) is found at seq 8: %s",
	      reason);
	CHECK(strstr(reason, "(1, 3)") != NULL, "the reason names the subtree: %s", reason);
	ledger_close(l);
	tamper_tree(dir, flip_inner); /* flips the same bit back */

	tamper_tree(dir, flip_peak);
	CHECK(ledger_open(dir, NULL, &l) == LEDGER_ERR_CORRUPT, "a changed peak is refused at open");
	CHECK(strstr(ledger_last_error(), "Merkle tree") != NULL, "and named: %s", ledger_last_error());
	tamper_tree(dir, flip_peak);

	/* A store without a tree (one written before it existed): read-only, no proofs; writable,
	 * the tree is built from the records and gives the same root. */
	tamper_tree(dir, drop_tree);
	ledger_options ro = {.read_only = true};
	MUST(ledger_open(dir, &ro, &l) == LEDGER_OK, "read-only open without a tree: %s", ledger_last_error());
	MDB_txn *txn;
	uint8_t got[TLOG_HASH_BYTES];
	MUST(ledger_read_begin(l, &txn) == LEDGER_OK, "txn");
	CHECK(ledger_tree_root(l, txn, RECORDS_MAX, got) == LEDGER_ERR_NOT_INITIALISED, "no tree: no root");
	ledger_read_end(l, txn);
	ledger_close(l);
	MUST(ledger_open(dir, NULL, &l) == LEDGER_OK, "writable open builds the tree: %s", ledger_last_error());
	MUST(ledger_read_begin(l, &txn) == LEDGER_OK, "txn");
	CHECK(ledger_tree_root(l, txn, RECORDS_MAX, got) == LEDGER_OK && memcmp(got, root, sizeof got) == 0,
	      "the built tree has the same root");
	ledger_read_end(l, txn);
	CHECK(tree_verify_bad_seq(l, reason, sizeof reason) == 0, "the built tree verifies: %s", reason);
	ledger_close(l);
	(void)key;
}

int main(void)
{
	char *dir = scratch_dir("tree-test");
	MUST(dir != NULL, "scratch dir");
	uint8_t seed[TLOG_SEED_BYTES];
	for (size_t i = 0; i < sizeof seed; i++)
		seed[i] = (uint8_t)(i * 7 + 1);
	tlog_signer signer;
	MUST(tlog_signer_init(&signer, ORIGIN, TLOG_TYPE_ED25519, seed) == TLOG_OK, "signer");
	MUST(ledger_create(dir, NULL) == LEDGER_OK, "create: %s", ledger_last_error());
	ledger_options o = {.checkpoint_signer = &signer, .checkpoint_keep_us = 1000000};
	ledger *l;
	MUST(ledger_open(dir, &o, &l) == LEDGER_OK, "open: %s", ledger_last_error());

	/* Batches of 1, 2, 3... records, 100 ms apart: a checkpoint kept every second. */
	static uint8_t roots[RECORDS_MAX + 1][TLOG_HASH_BYTES];
	tlog_empty_root(roots[0]);
	uint64_t size = 0;
	int64_t time_us = 1000000;
	int batches = 0;
	for (int count = 1; size < RECORDS_MAX; count++) {
		if (size + (uint64_t)count > RECORDS_MAX)
			count = (int)(RECORDS_MAX - size);
		MUST(append(l, count, size, time_us) == LEDGER_OK, "append: %s", ledger_last_error());
		batches++;
		time_us += 100000;
		MDB_txn *txn;
		MUST(ledger_read_begin(l, &txn) == LEDGER_OK, "txn");
		for (uint64_t s = size + 1; s <= size + (uint64_t)count; s++) {
			expected_root(l, txn, s, roots[s]);
			uint8_t got[TLOG_HASH_BYTES];
			CHECK(ledger_tree_root(l, txn, s, got) == LEDGER_OK && memcmp(got, roots[s], sizeof got) == 0,
			      "root of %llu from the store", (unsigned long long)s);
		}
		size += (uint64_t)count;
		check_checkpoint(l, &signer.verifier, size, roots[size]);
		if (size < 40 || size == RECORDS_MAX)
			check_proofs(l, txn, size, roots);
		ledger_read_end(l, txn);
	}
	MDB_txn *txn;
	MUST(ledger_read_begin(l, &txn) == LEDGER_OK, "txn");
	int kept = 0;
	CHECK(ledger_checkpoints_each(l, txn, checkpoint_count, &kept) == LEDGER_OK, "checkpoints");
	/* 100 ms apart, one kept per second: the first, then every tenth batch. */
	CHECK(kept == (batches + 9) / 10, "%d checkpoints kept of %d batches", kept, batches);
	char latest[LEDGER_CHECKPOINT_BYTES_MAX], current[LEDGER_CHECKPOINT_BYTES_MAX];
	size_t latest_bytes;
	CHECK(ledger_checkpoint_latest(l, txn, latest, sizeof latest, &latest_bytes) == LEDGER_OK, "latest");
	CHECK(ledger_checkpoint_current(l, current) == latest_bytes && memcmp(latest, current, latest_bytes) == 0,
	      "the stored latest checkpoint is the one signed last");
	ledger_verify_result r;
	CHECK(ledger_tree_verify(l, txn, &r) == LEDGER_OK && r.head_seq == RECORDS_MAX &&
	          memcmp(r.head_hash, roots[RECORDS_MAX], TLOG_HASH_BYTES) == 0,
	      "tree verifies: %s", r.reason);
	ledger_read_end(l, txn);
	ledger_close(l);

	/* Reopened: the tree goes on from the stored peaks. */
	MUST(ledger_open(dir, NULL, &l) == LEDGER_OK, "reopen: %s", ledger_last_error());
	MUST(ledger_read_begin(l, &txn) == LEDGER_OK, "txn");
	uint8_t got[TLOG_HASH_BYTES];
	CHECK(ledger_tree_root(l, txn, RECORDS_MAX, got) == LEDGER_OK &&
	          memcmp(got, roots[RECORDS_MAX], sizeof got) == 0,
	      "root after reopen");
	ledger_read_end(l, txn);
	ledger_close(l);

	test_tampering(dir, &signer.verifier, roots[RECORDS_MAX]);
	tlog_signer_wipe(&signer);
	remove_dir(dir);
	free(dir);
	return check_report("tree_test");
}
