/*
 * bench-audit: what auditing the log costs, beside the limits measured in the same run
 * (docs/benchmarks.md, "bench-audit").
 *
 *   1. A scratch ledger of N events (default 1 000 000) of E bytes (default 200: a delegation
 *      grant's size), appended in batches of 10 000 records, the Merkle tree included.
 *   2. verify: ledger_verify (the chain: one SHA-256 per record) and ledger_tree_verify (the
 *      tree: two short hashes per record, and a lookup per stored subtree), in events/s and
 *      MB/s, beside `openssl speed -bytes R sha256` with R the record's hashed size: the
 *      limit a one-pass verifier cannot beat. Target: the chain at >= 70 % of it.
 *   3. the tree's cost per commit: the CPU time of appending k leaves to the tree with its
 *      subtree puts, and of signing one checkpoint, beside a durable 1-record LMDB commit
 *      (raw, MDB_APPEND, fsync) measured here. Target: under 10 % of the commit.
 *   4. proofs: the latency of generating an inclusion proof of a random seq in the whole tree
 *      from the store, and of verifying it.
 *
 * usage: bench-audit [--events N] [--event-bytes E] [--dir DIR]   (DIR: scratch, default /tmp)
 */
#include "ledger.h"
#include "tlog.h"

#include "common.h"

#include <errno.h>
#include <lmdb.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BATCH_RECORDS 10000
#define PROOFS        20000

static double cpu_s(void)
{
	return (double)bench_self_cpu_ns() / 1e9;
}

typedef struct fill_job {
	ledger_job job;
	uint64_t count, salt;
	size_t event_bytes;
	ledger_err result;
} fill_job;

static ledger_err fill_apply(ledger_job *job, ledger_txn *t)
{
	fill_job *j = (fill_job *)job;
	uint8_t event[4096];
	ledger_err err = LEDGER_OK;
	for (uint64_t i = 0; i < j->count && !err; i++) {
		uint64_t v = j->salt + i;
		for (size_t b = 0; b < j->event_bytes; b += 8)
			memcpy(event + b, &v, j->event_bytes - b < 8 ? j->event_bytes - b : 8);
		err = ledger_append(t, event, j->event_bytes, NULL, NULL);
	}
	return err;
}

static void fill_done(ledger_job *job, ledger_err err)
{
	((fill_job *)job)->result = err;
}

/* `openssl speed` for SHA-256 at `bytes` per hash: MB/s, or 0 if it cannot be run. Run
 * without a shell: its output is read from a pipe. */
static double openssl_sha256_mb_s(size_t bytes)
{
	char size[24];
	snprintf(size, sizeof size, "%zu", bytes);
	char *argv[] = {"openssl", "speed", "-seconds", "2", "-bytes", size, "sha256", NULL};
	char out[4096];
	/* "sha256   123456.78k": thousands of bytes per second */
	double kb_s = bench_run_capture(argv, out, sizeof out) == 0 ? bench_speed_figure(out, "sha256", 0) : 0;
	return kb_s * 1000 / 1e6;
}

/* A durable 1-record commit in a fresh raw LMDB environment: median seconds over `runs`. */
static double raw_commit_s(const char *dir, size_t bytes, int runs)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	if (mdb_env_create(&env) || mdb_env_set_mapsize(env, 64u << 20) || mdb_env_open(env, dir, MDB_NOTLS, 0600))
		return 0;
	double *t = calloc((size_t)runs, sizeof *t);
	uint8_t value[4096] = {0};
	for (int i = 0; t && i < runs; i++) {
		uint8_t key[8];
		ledger_put_u64_be(key, (uint64_t)i + 1);
		MDB_val k = {8, key}, v = {bytes, value};
		double start = bench_now_s();
		if (mdb_txn_begin(env, NULL, 0, &txn) || mdb_dbi_open(txn, NULL, 0, &dbi) ||
		    mdb_put(txn, dbi, &k, &v, MDB_APPEND) || mdb_txn_commit(txn))
			break;
		t[i] = bench_now_s() - start;
	}
	mdb_env_close(env);
	double median = 0;
	if (t) {
		for (int i = 1; i < runs; i++) /* insertion sort: runs is small */
			for (int j = i; j > 0 && t[j - 1] > t[j]; j--) {
				double x = t[j];
				t[j] = t[j - 1];
				t[j - 1] = x;
			}
		median = t[runs / 2];
	}
	free(t);
	return median;
}

int main(int argc, char **argv)
{
	uint64_t events = 1000000;
	size_t event_bytes = 200;
	const char *base = "/tmp";
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--events") == 0 && i + 1 < argc)
			events = strtoull(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--event-bytes") == 0 && i + 1 < argc)
			event_bytes = strtoull(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			base = argv[++i];
		else {
			fprintf(stderr, "usage: bench-audit [--events N] [--event-bytes E (8..4096)] [--dir DIR]\n");
			return 2;
		}
	}
	if (events < 2 || event_bytes < 8 || event_bytes > 4096 || sodium_init() < 0) {
		fprintf(stderr, "bench-audit: --events at least 2, --event-bytes 8 to 4096\n");
		return 2;
	}
	char dir[512], raw[600];
	snprintf(dir, sizeof dir, "%s/bench-audit-XXXXXX", base);
	if (!mkdtemp(dir)) {
		fprintf(stderr, "bench-audit: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	snprintf(raw, sizeof raw, "%s/raw", dir);
	if (mkdir(raw, 0700) != 0) {
		fprintf(stderr, "bench-audit: %s: %s\n", raw, strerror(errno));
		return 1;
	}
	char store[600];
	snprintf(store, sizeof store, "%s/store", dir);
	ledger_options o = {.scratch = true, .map_bytes_initial = (size_t)1 << 30};
	ledger *l;
	if (ledger_create(store, &o) || ledger_open(store, &o, &l)) {
		fprintf(stderr, "bench-audit: %s\n", ledger_last_error());
		return 1;
	}
	/* 1. Fill. */
	double start = bench_now_s();
	for (uint64_t done = 0; done < events;) {
		fill_job j = {.job = {fill_apply, fill_done, NULL},
		              .count = events - done < BATCH_RECORDS ? events - done : BATCH_RECORDS,
		              .salt = done,
		              .event_bytes = event_bytes};
		if (ledger_commit_one(l, &j.job, 1000) || j.result) {
			fprintf(stderr, "bench-audit: filling: %s\n", ledger_last_error());
			return 1;
		}
		done += j.count;
	}
	double fill = bench_now_s() - start;
	size_t record = LEDGER_RECORD_HEADER_BYTES + event_bytes;
	size_t hashed = strlen(LEDGER_HASH_TAG) + 8 + LEDGER_HASH_BYTES + event_bytes;
	printf("bench-audit: %llu events of %zu bytes (records of %zu bytes, %zu hashed each)\n",
	       (unsigned long long)events, event_bytes, record, hashed);
	printf("  fill (scratch store, batches of %d, tree included): %.2f s, %.0f events/s\n", BATCH_RECORDS, fill,
	       (double)events / fill);

	/* 2. Verify. */
	MDB_txn *txn;
	ledger_verify_result r;
	ledger_read_begin(l, &txn);
	start = bench_now_s();
	ledger_err err = ledger_verify(l, txn, &r);
	double chain = bench_now_s() - start;
	start = bench_now_s();
	ledger_err tree_err = ledger_tree_verify(l, txn, &r);
	double tree = bench_now_s() - start;
	double limit = openssl_sha256_mb_s(hashed);
	double chain_mb = (double)events * (double)hashed / chain / 1e6;
	printf("  verify, the chain: %.2f s, %.0f events/s, %.1f MB/s hashed (%s)\n", chain, (double)events / chain,
	       chain_mb, err ? "BROKEN" : "intact");
	printf("  verify, the tree:  %.2f s, %.0f events/s (%s)\n", tree, (double)events / tree,
	       tree_err ? "BROKEN" : "intact");
	if (limit > 0)
		printf("  limit: openssl speed -bytes %zu sha256: %.1f MB/s; the chain at %.0f %% of it (target >= 70 "
		       "%%)\n",
		       hashed, limit, 100 * chain_mb / limit);
	else
		printf("  limit: openssl speed could not be run\n");

	/* 4. Proofs. */
	uint64_t size = events;
	double gen = 0, ver = 0;
	int bad = 0;
	uint8_t root[TLOG_HASH_BYTES];
	bad += ledger_tree_root(l, txn, size, root) != LEDGER_OK;
	for (int i = 0; i < PROOFS; i++) {
		uint64_t seq = 1 + randombytes_uniform((uint32_t)(size < UINT32_MAX ? size : UINT32_MAX));
		tlog_proof p;
		ledger_record rec;
		uint8_t leaf[TLOG_HASH_BYTES];
		double a = bench_now_s();
		bad += ledger_tree_prove_inclusion(l, txn, seq, size, &p) != LEDGER_OK;
		double b = bench_now_s();
		bad += ledger_get(l, txn, seq, &rec) != LEDGER_OK;
		tlog_leaf_hash(rec.hash, LEDGER_HASH_BYTES, leaf);
		double c = bench_now_s();
		bad += tlog_verify_inclusion(leaf, seq - 1, size, &p, root) != TLOG_OK;
		ver += bench_now_s() - c;
		gen += b - a;
	}
	ledger_read_end(l, txn);
	printf("  inclusion proofs in the tree of %llu: generate %.1f µs, verify %.1f µs (mean of %d; %d failed)\n",
	       (unsigned long long)size, gen / PROOFS * 1e6, ver / PROOFS * 1e6, PROOFS, bad);

	/* 3. The tree per commit, beside a durable commit. */
	tlog_tree t;
	tlog_tree_init(&t);
	tlog_mem_store m;
	tlog_mem_store_init(&m);
	tlog_subtree_store ms = tlog_mem_store_interface(&m);
	uint8_t leaf[TLOG_HASH_BYTES] = {1};
	uint64_t leaves = events < 1000000 ? events : 1000000;
	double c0 = cpu_s();
	for (uint64_t i = 0; i < leaves; i++) {
		leaf[0] = (uint8_t)i;
		tlog_tree_append(&t, leaf, &ms);
	}
	double per_leaf = (cpu_s() - c0) / (double)leaves;
	tlog_mem_store_free(&m);
	uint8_t seed[TLOG_SEED_BYTES] = {7};
	tlog_signer s;
	tlog_signer_init(&s, "bench.example/log", TLOG_TYPE_ED25519, seed);
	tlog_checkpoint cp = {.size = events};
	snprintf(cp.origin, sizeof cp.origin, "bench.example/log");
	char text[TLOG_CHECKPOINT_TEXT_BYTES_MAX + 1], note[1024];
	size_t text_bytes, note_bytes;
	tlog_checkpoint_format(&cp, text, sizeof text, &text_bytes);
	c0 = cpu_s();
	for (int i = 0; i < 2000; i++)
		tlog_note_sign(text, text_bytes, &s, 0, note, sizeof note, &note_bytes);
	double per_sign = (cpu_s() - c0) / 2000;
	tlog_signer_wipe(&s);
	double commit = raw_commit_s(raw, record, 200);
	printf(
	    "  the tree per commit: %.2f µs per leaf (hashing, in memory) + %.1f µs for the checkpoint's signature\n",
	    per_leaf * 1e6, per_sign * 1e6);
	if (commit > 0)
		printf("  beside a durable 1-record raw LMDB commit (median of 200): %.0f µs: a 1-event batch costs "
		       "%.1f %%"
		       " more, a 64-event batch %.1f %% (target < 10 %%)\n",
		       commit * 1e6, 100 * (per_leaf + per_sign) / commit, 100 * (64 * per_leaf + per_sign) / commit);
	ledger_close(l);
	bench_remove_tree("bench-audit", dir);
	return err || tree_err || bad ? 1 : 0;
}
