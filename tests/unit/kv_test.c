/*
 * kv_test: the in-memory backend of proj_kv (projections/kv_mem.c) behaves exactly as the LMDB
 * one, which is what lets a replay fold into memory and still prove the live projections.
 *
 * A seeded random sequence of puts (raw and protobuf), dels, gets and prefix scans runs against
 * both: one LMDB write transaction in store A, and memory over store B, written out to B every
 * few hundred operations (so later operations read through to B, delete what B holds, and
 * scans merge memory with B). Every get and every scan must answer the same in both, and at
 * the end A and B must hold the same bytes. Keys are drawn from a small space with shared
 * prefixes, keys that are prefixes of others and keys with NUL bytes, so that ordering ties
 * and tombstones come up often; some values are large enough to need their own arena chunk.
 */
#include "../check.h"
#include "../support/scratch.h"
#include "fold.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OPS_DEFAULT     20000u
#define DBS             2u
#define VALUE_BYTES_MAX (3u << 20) /* over kv_mem.c's CHUNK_BYTES / 4: a chunk of its own */
#define SCAN_ROWS_MAX   4096u

static uint64_t rng_state;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* A key from a small space: "", "a", "a\0", "ab", "ab\0x", ..., 17-byte keys equal in 16 bytes. */
static size_t random_key(uint8_t *key)
{
	static const char *const stems[] = {"a", "ab", "abc", "b", "F000123", "F000123\0c0001", "0123456789abcdef"};
	const char *stem = stems[rng() % (sizeof stems / sizeof stems[0])];
	size_t n = stem == stems[5] ? 13 : strlen(stem);
	memcpy(key, stem, n);
	unsigned tail = (unsigned)(rng() % 6);
	for (unsigned i = 0; i < tail; i++)
		key[n++] = (uint8_t) "\0\1xyz"[rng() % 5];
	return n;
}

static size_t random_value(uint8_t *val)
{
	size_t n = rng() % 997 == 0 ? VALUE_BYTES_MAX - (size_t)(rng() % 1000) : (size_t)(rng() % 40);
	for (size_t i = 0; i < n; i++)
		val[i] = (uint8_t)rng();
	return n;
}

typedef struct store {
	ledger *l;
	MDB_dbi dbi[DBS];
	char dir[64];
} store;

typedef struct scan_rows {
	size_t count;
	uint8_t digest[32]; /* of the keys and values, in order */
	crypto_hash_sha256_state st;
} scan_rows;

static bool collect(void *ctx, const void *key, size_t key_bytes, const void *val, size_t val_bytes)
{
	scan_rows *r = ctx;
	uint64_t sizes[2] = {key_bytes, val_bytes};
	crypto_hash_sha256_update(&r->st, (const uint8_t *)sizes, sizeof sizes);
	crypto_hash_sha256_update(&r->st, key, key_bytes);
	crypto_hash_sha256_update(&r->st, val, val_bytes);
	return ++r->count < SCAN_ROWS_MAX;
}

static ledger_err scan(proj_kv *kv, MDB_dbi dbi, const void *prefix, size_t n, scan_rows *out)
{
	out->count = 0;
	crypto_hash_sha256_init(&out->st);
	ledger_err err = proj_kv_scan(kv, dbi, prefix, n, collect, out);
	crypto_hash_sha256_final(&out->st, out->digest);
	return err;
}

/* Memory over store B: what B's base is, and writing memory out to B. */
typedef struct mem_side {
	store *b;
	proj_kv_mem *mem;
	MDB_txn *base; /* NULL until the first write-out: B is empty */
} mem_side;

typedef struct write_job {
	ledger_job job;
	mem_side *side;
	ledger_err result;
} write_job;

static ledger_err write_apply(ledger_job *job, ledger_txn *t)
{
	write_job *j = (write_job *)job;
	uint64_t rows = 0;
	ledger_err err = LEDGER_OK;
	for (unsigned d = 0; !err && d < DBS; d++)
		if (proj_kv_mem_has(j->side->mem, j->side->b->dbi[d]))
			err = proj_kv_mem_write(j->side->mem, ledger_txn_mdb(t), j->side->b->dbi[d], &rows);
	return err;
}

static void write_done(ledger_job *job, ledger_err err)
{
	((write_job *)job)->result = err;
}

/* Writes memory out to B, empties it, and reads through to B from now on. */
static ledger_err write_out(mem_side *side)
{
	ledger_err err = proj_kv_mem_flush(side->mem, side->base);
	if (side->base)
		ledger_read_end(side->b->l, side->base);
	side->base = NULL;
	write_job j = {.job = {write_apply, write_done, NULL}, .side = side};
	if (!err)
		err = ledger_commit_one(side->b->l, &j.job, 0);
	if (!err)
		err = j.result;
	proj_kv_mem_clear(side->mem);
	return err ? err : ledger_read_begin(side->b->l, &side->base);
}

typedef struct run_job {
	ledger_job job;
	store *a;
	mem_side *side;
	unsigned ops, runs;
	ledger_err result;
} run_job;

/* One random operation on both backends; checks they answer the same. */
static void one_op(proj_kv *ka, proj_kv *kb, const MDB_dbi *da, const MDB_dbi *db, uint8_t *val, unsigned i)
{
	uint8_t key[32], key2[32];
	unsigned d = (unsigned)(rng() % DBS), op = (unsigned)(rng() % 11);
	size_t n = random_key(key), vn;
	MDB_val va, vb;
	ledger_err ea, eb;
	if (op <= 3) {
		vn = random_value(val);
		ea = proj_kv_put(ka, da[d], key, n, val, vn);
		eb = proj_kv_put(kb, db[d], key, n, val, vn);
	} else if (op == 4) {
		Ledger__State__Account acc = LEDGER__STATE__ACCOUNT__INIT;
		char name[16];
		snprintf(name, sizeof name, "n%u", (unsigned)(rng() % 1000));
		acc.name = name;
		acc.registered_seq = i;
		ea = proj_kv_put_msg(ka, da[d], key, n, &acc.base);
		eb = proj_kv_put_msg(kb, db[d], key, n, &acc.base);
	} else if (op <= 6) {
		ea = proj_kv_del(ka, da[d], key, n);
		eb = proj_kv_del(kb, db[d], key, n);
	} else if (op <= 8) {
		ea = proj_kv_get(ka, da[d], key, n, &va);
		eb = proj_kv_get(kb, db[d], key, n, &vb);
		CHECK(ea != LEDGER_OK || (va.mv_size == vb.mv_size && memcmp(va.mv_data, vb.mv_data, va.mv_size) == 0),
		      "op %u: get: the values differ (%zu and %zu bytes)", i, va.mv_size, vb.mv_size);
	} else if (op == 9) {
		scan_rows ra, rb;
		size_t cut = (size_t)(rng() % (n + 1));
		ea = scan(ka, da[d], key, cut, &ra);
		eb = scan(kb, db[d], key, cut, &rb);
		CHECK(ra.count == rb.count && memcmp(ra.digest, rb.digest, 32) == 0,
		      "op %u: scan of a %zu-byte prefix: %zu and %zu rows, or other bytes", i, cut, ra.count, rb.count);
	} else { /* a value got, copied (as proj_kv_get requires), and put under another key */
		size_t n2 = random_key(key2);
		ea = proj_kv_get(ka, da[d], key, n, &va);
		eb = proj_kv_get(kb, db[d], key, n, &vb);
		if (ea == LEDGER_OK && eb == LEDGER_OK && va.mv_size == vb.mv_size) {
			memcpy(val, vb.mv_data, vb.mv_size);
			ea = proj_kv_put(ka, da[d], key2, n2, val, vb.mv_size);
			eb = proj_kv_put(kb, db[d], key2, n2, val, vb.mv_size);
		}
	}
	CHECK(ea == eb, "op %u (kind %u): %s in LMDB, %s in memory", i, op, ledger_strerror(ea), ledger_strerror(eb));
}

/* Every operation, in A's transaction; B is written out every 50 to 500 operations. */
static ledger_err run_apply(ledger_job *job, ledger_txn *t)
{
	run_job *j = (run_job *)job;
	if (++j->runs > 1) {
		CHECK(false, "A's transaction ran twice: B was already written (give A a larger map)");
		return LEDGER_ERR_INVALID;
	}
	uint8_t *val = malloc(VALUE_BYTES_MAX);
	if (!val)
		return LEDGER_ERR_NOMEM;
	proj_kv ka = proj_kv_of_txn(ledger_txn_mdb(t));
	unsigned next_write = 50 + (unsigned)(rng() % 450);
	ledger_err err = LEDGER_OK;
	for (unsigned i = 0; !err && i < j->ops; i++) {
		proj_kv kb = {.txn = j->side->base, .mem = j->side->mem};
		one_op(&ka, &kb, j->a->dbi, j->side->b->dbi, val, i);
		if (i == next_write) {
			err = write_out(j->side);
			next_write += 50 + (unsigned)(rng() % 450);
		}
	}
	free(val);
	return err ? err : write_out(j->side);
}

static void run_done(ledger_job *job, ledger_err err)
{
	((run_job *)job)->result = err;
}

static const char *const db_names[DBS] = {"one", "two"};

static bool store_open(store *s, const char *name)
{
	snprintf(s->dir, sizeof s->dir, "/tmp/kv-test-%s-XXXXXX", name);
	if (!mkdtemp(s->dir) || rmdir(s->dir) != 0)
		return false;
	ledger_options o = {.map_bytes_initial = (size_t)1 << 30}; /* never full: A's job must run once */
	if (ledger_create(s->dir, &o) || ledger_open(s->dir, &o, &s->l))
		return false;
	for (unsigned d = 0; d < DBS; d++)
		if (ledger_dbi_open(s->l, db_names[d], 0, &s->dbi[d]))
			return false;
	return true;
}

static void store_close(store *s)
{
	ledger_close(s->l);
	remove_dir(s->dir);
}

/* Both stores hold the same rows, byte for byte. */
static void compare_stores(store *a, store *b)
{
	MDB_txn *ta, *tb;
	REQUIRE_VOID(ledger_read_begin(a->l, &ta) == LEDGER_OK);
	REQUIRE_VOID(ledger_read_begin(b->l, &tb) == LEDGER_OK);
	for (unsigned d = 0; d < DBS; d++) {
		proj_kv ka = proj_kv_of_txn(ta), kb = proj_kv_of_txn(tb);
		scan_rows ra, rb;
		CHECK(scan(&ka, a->dbi[d], "", 0, &ra) == LEDGER_OK && scan(&kb, b->dbi[d], "", 0, &rb) == LEDGER_OK,
		      "final scans");
		CHECK(ra.count == rb.count && memcmp(ra.digest, rb.digest, 32) == 0,
		      "database %s: %zu rows in LMDB, %zu written from memory, or other bytes", db_names[d], ra.count,
		      rb.count);
		printf("database %s: %zu rows\n", db_names[d], ra.count);
	}
	ledger_read_end(a->l, ta);
	ledger_read_end(b->l, tb);
}

int main(int argc, char **argv)
{
	REQUIRE(sodium_init() >= 0, "sodium");
	rng_state = argc > 1 ? strtoull(argv[1], NULL, 10) : 20261129;
	unsigned ops = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : OPS_DEFAULT;
	REQUIRE(rng_state != 0 && ops > 0, "usage: kv_test [SEED [OPS]]");
	store a, b;
	REQUIRE(store_open(&a, "a") && store_open(&b, "b"), "stores: %s", ledger_last_error());
	mem_side side = {.b = &b};
	REQUIRE(proj_kv_mem_new(rng_state, &side.mem) == LEDGER_OK, "memory");
	run_job j = {.job = {run_apply, run_done, NULL}, .a = &a, .side = &side, .ops = ops};
	CHECK(ledger_commit_one(a.l, &j.job, 0) == LEDGER_OK && j.result == LEDGER_OK, "run: %s", ledger_last_error());
	if (side.base)
		ledger_read_end(b.l, side.base);
	proj_kv_mem_free(side.mem);
	compare_stores(&a, &b);
	store_close(&a);
	store_close(&b);
	return check_report("kv_test");
}
