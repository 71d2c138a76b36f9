/*
 * chain_test: the log detects every kind of tampering at the right seq (flipping any byte of
 * any record, deleting, reordering, appending past the head), refuses what is not a ledger,
 * survives a full map without a half-written state, and groups concurrent commits.
 */
#include "../check.h"
#include "../support/scratch.h"
#include "ledger.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define RECORDS         6
#define THREADS         8
#define JOBS_PER_THREAD 200

/* A job appending `count` events of `bytes` bytes each, or writing raw records (tamper). */
typedef struct test_job {
	ledger_job job;
	int count;
	size_t bytes;
	uint8_t fill;
	ledger_err result;
	/* tamper: put `value` at `seq` (value NULL: delete seq) in the events db */
	MDB_dbi events;
	bool tamper;
	uint64_t seq;
	const void *value;
	size_t value_bytes;
} test_job;

static ledger_err test_apply(ledger_job *job, ledger_txn *t)
{
	test_job *j = (test_job *)job;
	if (j->tamper) {
		uint8_t key[8];
		ledger_put_u64_be(key, j->seq);
		MDB_val k = {8, key}, v = {j->value_bytes, (void *)j->value};
		int rc = j->value ? mdb_put(ledger_txn_mdb(t), j->events, &k, &v, 0)
		                  : mdb_del(ledger_txn_mdb(t), j->events, &k, NULL);
		return ledger_mdb_err(rc);
	}
	uint8_t *buf = malloc(j->bytes);
	if (!buf)
		return LEDGER_ERR_NOMEM;
	ledger_err err = LEDGER_OK;
	for (int i = 0; i < j->count && !err; i++) {
		memset(buf, j->fill + i, j->bytes);
		err = ledger_append(t, buf, j->bytes, NULL, NULL);
	}
	free(buf);
	return err;
}

static void test_done(ledger_job *job, ledger_err err)
{
	((test_job *)job)->result = err;
}

static ledger_err append(ledger *l, int count, size_t bytes, uint8_t fill)
{
	test_job j = {.job = {test_apply, test_done, NULL}, .count = count, .bytes = bytes, .fill = fill};
	ledger_err err = ledger_commit_one(l, &j.job, 1000);
	return err ? err : j.result;
}

static ledger_err raw_put(ledger *l, MDB_dbi events, uint64_t seq, const void *value, size_t bytes)
{
	test_job j = {.job = {test_apply, test_done, NULL},
	              .tamper = true,
	              .events = events,
	              .seq = seq,
	              .value = value,
	              .value_bytes = bytes};
	ledger_err err = ledger_commit_one(l, &j.job, 1000);
	return err ? err : j.result;
}

static uint64_t verify_bad_seq(ledger *l, char *reason, size_t reason_bytes)
{
	MDB_txn *txn;
	ledger_verify_result r;
	if (ledger_read_begin(l, &txn))
		return ~0ull;
	ledger_err err = ledger_verify(l, txn, &r);
	ledger_read_end(l, txn);
	snprintf(reason, reason_bytes, "%s", r.reason);
	return err == LEDGER_OK ? 0 : err == LEDGER_ERR_CORRUPT ? r.bad_seq : ~0ull;
}

/* Copies the record at seq out of the store. */
static size_t read_record(ledger *l, uint64_t seq, uint8_t *out, size_t cap)
{
	MDB_txn *txn;
	ledger_record rec;
	size_t n = 0;
	if (ledger_read_begin(l, &txn))
		return 0;
	if (ledger_get(l, txn, seq, &rec) == LEDGER_OK) {
		n = LEDGER_RECORD_HEADER_BYTES + rec.event_bytes;
		if (n <= cap)
			memcpy(out, rec.event - LEDGER_RECORD_HEADER_BYTES, n);
		else
			n = 0;
	}
	ledger_read_end(l, txn);
	return n;
}

static void test_every_byte_flip(ledger *l, MDB_dbi events)
{
	char reason[160];
	for (uint64_t seq = 1; seq <= RECORDS; seq++) {
		uint8_t rec[256];
		size_t n = read_record(l, seq, rec, sizeof rec);
		CHECK(n > LEDGER_RECORD_HEADER_BYTES, "record %llu readable", (unsigned long long)seq);
		for (size_t i = 0; i < n; i++) {
			rec[i] ^= 0x01;
			CHECK(raw_put(l, events, seq, rec, n) == LEDGER_OK, "tamper write");
			uint64_t bad = verify_bad_seq(l, reason, sizeof reason);
			CHECK(bad == seq, "flip of byte %zu of seq %llu reported at seq %llu (%s)", i,
			      (unsigned long long)seq, (unsigned long long)bad, reason);
			rec[i] ^= 0x01;
			CHECK(raw_put(l, events, seq, rec, n) == LEDGER_OK, "restore write");
		}
		/* A byte appended to the record changes its event bytes. */
		rec[n] = 0;
		CHECK(raw_put(l, events, seq, rec, n + 1) == LEDGER_OK, "extend write");
		CHECK(verify_bad_seq(l, reason, sizeof reason) == seq, "extended record %llu detected",
		      (unsigned long long)seq);
		CHECK(raw_put(l, events, seq, rec, n) == LEDGER_OK, "restore write");
	}
	CHECK(verify_bad_seq(l, reason, sizeof reason) == 0, "restored chain verifies: %s", reason);
}

static void test_delete_reorder_extend(ledger *l, MDB_dbi events)
{
	char reason[160];
	uint8_t a[256], b[256];
	size_t na = read_record(l, 3, a, sizeof a), nb = read_record(l, 4, b, sizeof b);
	/* delete a middle record */
	CHECK(raw_put(l, events, 3, NULL, 0) == LEDGER_OK, "delete");
	CHECK(verify_bad_seq(l, reason, sizeof reason) == 3, "deleted seq 3 detected at 3: %s", reason);
	CHECK(raw_put(l, events, 3, a, na) == LEDGER_OK, "restore");
	/* swap two records */
	CHECK(raw_put(l, events, 3, b, nb) == LEDGER_OK && raw_put(l, events, 4, a, na) == LEDGER_OK, "swap");
	CHECK(verify_bad_seq(l, reason, sizeof reason) == 3, "swapped 3 and 4 detected at 3: %s", reason);
	CHECK(raw_put(l, events, 3, a, na) == LEDGER_OK && raw_put(l, events, 4, b, nb) == LEDGER_OK, "unswap");
	/* delete the last record: only the recorded head shows it */
	uint8_t last[256];
	size_t nl = read_record(l, RECORDS, last, sizeof last);
	CHECK(raw_put(l, events, RECORDS, NULL, 0) == LEDGER_OK, "delete last");
	CHECK(verify_bad_seq(l, reason, sizeof reason) == RECORDS, "truncated tail detected at %d: %s", RECORDS,
	      reason);
	CHECK(raw_put(l, events, RECORDS, last, nl) == LEDGER_OK, "restore last");
	/* junk before seq 1: under key 0, and under a key of the wrong size */
	CHECK(raw_put(l, events, 0, last, nl) == LEDGER_OK, "junk at key 0");
	CHECK(verify_bad_seq(l, reason, sizeof reason) == 1, "junk before seq 1 detected at 1: %s", reason);
	CHECK(raw_put(l, events, 0, NULL, 0) == LEDGER_OK, "remove junk");
	/* a record past the head */
	CHECK(raw_put(l, events, RECORDS + 1, last, nl) == LEDGER_OK, "extra");
	CHECK(verify_bad_seq(l, reason, sizeof reason) == RECORDS + 1, "record past the head detected: %s", reason);
	CHECK(raw_put(l, events, RECORDS + 1, NULL, 0) == LEDGER_OK, "remove extra");
	CHECK(verify_bad_seq(l, reason, sizeof reason) == 0, "restored: %s", reason);
}

static uint64_t verify_range_bad_seq(ledger *l, uint64_t first, uint64_t last, uint64_t *events)
{
	MDB_txn *txn;
	ledger_verify_result r;
	if (ledger_read_begin(l, &txn))
		return ~0ull;
	ledger_err err = ledger_verify_range(l, txn, first, last, &r);
	ledger_read_end(l, txn);
	*events = r.events;
	return err == LEDGER_OK ? 0 : err == LEDGER_ERR_CORRUPT ? r.bad_seq : ~0ull;
}

static void test_ranges(ledger *l, MDB_dbi events)
{
	uint64_t n;
	CHECK(verify_range_bad_seq(l, 2, 4, &n) == 0 && n == 3, "range 2..4 intact, 3 records (%llu)",
	      (unsigned long long)n);
	CHECK(verify_range_bad_seq(l, 3, 0, &n) == 0 && n == RECORDS - 2, "range 3..end intact");
	CHECK(verify_range_bad_seq(l, 5, 2, &n) == ~0ull, "an inverted range is invalid");
	CHECK(verify_range_bad_seq(l, 2, RECORDS + 5, &n) == RECORDS + 1, "a range past the end says so");
	uint8_t rec[256];
	size_t len = read_record(l, 5, rec, sizeof rec);
	rec[len - 1] ^= 1;
	raw_put(l, events, 5, rec, len);
	CHECK(verify_range_bad_seq(l, 2, 4, &n) == 0, "damage after a range is outside it");
	CHECK(verify_range_bad_seq(l, 4, 6, &n) == 5, "damage inside a range is found at 5");
	/* A range trusts the stored hash of the record before it: damage to 5's event bytes is
	 * invisible from 6 on, but a changed stored hash breaks 6's link. */
	CHECK(verify_range_bad_seq(l, 6, 0, &n) == 0, "range 6.. trusts record 5's stored hash");
	rec[len - 1] ^= 1;
	rec[LEDGER_RECORD_MAGIC_BYTES + 8 + LEDGER_HASH_BYTES] ^= 1; /* first byte of 5's hash */
	raw_put(l, events, 5, rec, len);
	CHECK(verify_range_bad_seq(l, 6, 0, &n) == 6, "a changed stored hash of 5 breaks 6's link");
	rec[LEDGER_RECORD_MAGIC_BYTES + 8 + LEDGER_HASH_BYTES] ^= 1;
	raw_put(l, events, 5, rec, len);
	CHECK(verify_range_bad_seq(l, 1, 0, &n) == 0 && n == RECORDS, "restored");
}

static void test_open_refusals(const char *dir)
{
	ledger *l;
	CHECK(ledger_create(dir, NULL) == LEDGER_ERR_EXISTS, "create over an existing store refused");
	/* a broken chain: ledgerd refuses it, the audit tools open it */
	ledger_options audit = {.allow_broken_chain = true};
	REQUIRE_VOID(ledger_open(dir, &audit, &l) == LEDGER_OK);
	MDB_dbi events;
	ledger_dbi_open(l, "events", 0, &events);
	uint8_t rec[256];
	size_t n = read_record(l, 2, rec, sizeof rec);
	rec[n - 1] ^= 0x80;
	raw_put(l, events, 2, rec, n);
	ledger_close(l);
	CHECK(ledger_open(dir, NULL, &l) == LEDGER_ERR_CORRUPT, "broken chain refused");
	CHECK(strstr(ledger_last_error(), "seq 2") != NULL, "message names seq 2: %s", ledger_last_error());

	char *empty = scratch_dir("chain-test");
	CHECK(ledger_open(empty, NULL, &l) == LEDGER_ERR_NOT_INITIALISED, "empty dir: not initialised");
	char path[128];
	snprintf(path, sizeof path, "%s/data.mdb", empty);
	FILE *f = fopen(path, "w");
	for (int i = 0; f && i < 10000; i++)
		fputs("not an lmdb file ", f);
	if (f)
		fclose(f);
	CHECK(ledger_open(empty, NULL, &l) == LEDGER_ERR_NOT_LEDGER, "junk data.mdb: not a ledger: %s",
	      ledger_last_error());
	remove_dir(empty);
	free(empty);

	/* An LMDB store that is not ours. */
	char *foreign = scratch_dir("chain-test");
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	mdb_env_create(&env);
	mdb_env_open(env, foreign, 0, 0600);
	mdb_txn_begin(env, NULL, 0, &txn);
	mdb_dbi_open(txn, NULL, 0, &dbi);
	MDB_val k = {3, "key"}, v = {5, "value"};
	mdb_put(txn, dbi, &k, &v, 0);
	mdb_txn_commit(txn);
	mdb_env_close(env);
	CHECK(ledger_open(foreign, NULL, &l) == LEDGER_ERR_NOT_LEDGER, "foreign LMDB: not a ledger: %s",
	      ledger_last_error());
	remove_dir(foreign);
	free(foreign);
}

static void test_map_full(void)
{
	char *dir = scratch_dir("chain-test");
	ledger_options o = {.map_bytes_initial = 256 << 10, .map_bytes_max = 512 << 10};
	ledger *l;
	CHECK(ledger_create(dir, &o) == LEDGER_OK, "create small");
	REQUIRE_VOID(ledger_open(dir, &o, &l) == LEDGER_OK);
	ledger_err err = LEDGER_OK;
	int batches = 0;
	while (!err && batches < 10000) {
		err = append(l, 10, 2000, (uint8_t)batches);
		batches++;
	}
	CHECK(err == LEDGER_ERR_MAP_FULL, "a full map says so (got %s)", ledger_strerror(err));
	uint64_t head;
	ledger_head(l, &head, NULL);
	CHECK(head == (uint64_t)(batches - 1) * 10, "the failed batch wrote nothing: head %llu",
	      (unsigned long long)head);
	char reason[160];
	CHECK(verify_bad_seq(l, reason, sizeof reason) == 0, "chain intact after map full: %s", reason);
	ledger_close(l);
	/* A larger limit on reopening: the same store grows and takes more. */
	o.map_bytes_max = 64 << 20;
	REQUIRE_VOID(ledger_open(dir, &o, &l) == LEDGER_OK);
	for (int i = 0; i < 200; i++)
		CHECK(append(l, 10, 2000, (uint8_t)i) == LEDGER_OK, "append after growth %d", i);
	CHECK(verify_bad_seq(l, reason, sizeof reason) == 0, "chain intact after growth: %s", reason);
	ledger_close(l);
	remove_dir(dir);
	free(dir);
}

/*
 * A reader beside a writer that grows the map (ledger-audit beside a serving ledgerd): LMDB
 * answers the reader's next transaction MDB_MAP_RESIZED, and ledger_read_begin adopts the new
 * size and goes on (crash_live_audit saw replay fail on it).
 */
static void test_reader_after_growth(void)
{
	char *dir = scratch_dir("chain-test");
	ledger_options small = {.map_bytes_initial = 256 << 10, .map_bytes_max = 64 << 20};
	ledger *writer, *reader;
	REQUIRE_VOID(dir && ledger_create(dir, &small) == LEDGER_OK && ledger_open(dir, &small, &writer) == LEDGER_OK);
	REQUIRE_VOID(append(writer, 1, 100, 1) == LEDGER_OK);
	ledger_close(writer);
	ledger_options ro = {.read_only = true, .map_bytes_initial = 256 << 10};
	REQUIRE_VOID(ledger_open(dir, &ro, &reader) == LEDGER_OK);
	/* The writer in another process: LMDB allows one environment per file per process. */
	pid_t pid = fork();
	if (pid == 0) {
		ledger *w;
		if (ledger_open(dir, &small, &w) != LEDGER_OK)
			_exit(2);
		for (int i = 0; i < 400; i++)
			if (append(w, 10, 2000, (uint8_t)i) != LEDGER_OK)
				_exit(3);
		ledger_close(w);
		_exit(0);
	}
	int status = -1;
	REQUIRE_VOID(pid > 0 && waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the writer grew the store (status %d)", status);
	MDB_txn *txn;
	ledger_err err = ledger_read_begin(reader, &txn);
	CHECK(err == LEDGER_OK, "the reader begins after the growth: %s", ledger_last_error());
	if (!err) {
		ledger_record rec;
		CHECK(ledger_get(reader, txn, 4001, &rec) == LEDGER_OK, "and reads the new records");
		ledger_read_end(reader, txn);
	}
	ledger_close(reader);
	remove_dir(dir);
	free(dir);
}

typedef struct submit_ctx {
	ledger_committer *c;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int done, failed;
} submit_ctx;

typedef struct counted_job {
	test_job t;
	submit_ctx *ctx;
} counted_job;

static void counted_done(ledger_job *job, ledger_err err)
{
	counted_job *j = (counted_job *)job;
	pthread_mutex_lock(&j->ctx->lock);
	j->ctx->done++;
	j->ctx->failed += err != LEDGER_OK;
	pthread_cond_broadcast(&j->ctx->cond);
	pthread_mutex_unlock(&j->ctx->lock);
}

static void *submitter(void *arg)
{
	submit_ctx *ctx = arg;
	counted_job *jobs = calloc(JOBS_PER_THREAD, sizeof *jobs);
	for (int i = 0; jobs && i < JOBS_PER_THREAD; i++) {
		jobs[i] =
		    (counted_job){.t = {.job = {test_apply, counted_done, NULL}, .count = 1, .bytes = 100}, .ctx = ctx};
		ledger_committer_submit(ctx->c, &jobs[i].t.job);
	}
	pthread_mutex_lock(&ctx->lock);
	while (ctx->done < THREADS * JOBS_PER_THREAD)
		pthread_cond_wait(&ctx->cond, &ctx->lock);
	pthread_mutex_unlock(&ctx->lock);
	free(jobs);
	return NULL;
}

static void test_group_commit(void)
{
	char *dir = scratch_dir("chain-test");
	ledger *l;
	CHECK(ledger_create(dir, NULL) == LEDGER_OK, "create");
	REQUIRE_VOID(ledger_open(dir, NULL, &l) == LEDGER_OK);
	submit_ctx ctx = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
	REQUIRE_VOID(ledger_committer_start(l, NULL, &ctx.c) == LEDGER_OK);
	pthread_t threads[THREADS];
	for (int i = 0; i < THREADS; i++)
		pthread_create(&threads[i], NULL, submitter, &ctx);
	for (int i = 0; i < THREADS; i++)
		pthread_join(threads[i], NULL);
	uint64_t batches, jobs, head;
	ledger_committer_stats(ctx.c, &batches, &jobs);
	ledger_committer_free(ctx.c);
	ledger_head(l, &head, NULL);
	CHECK(ctx.failed == 0, "no job failed (%d did)", ctx.failed);
	CHECK(jobs == THREADS * JOBS_PER_THREAD && head == jobs, "every job committed once: %llu jobs, head %llu",
	      (unsigned long long)jobs, (unsigned long long)head);
	CHECK(batches <= jobs, "batches %llu", (unsigned long long)batches);
	printf("group commit: %llu jobs in %llu batches\n", (unsigned long long)jobs, (unsigned long long)batches);
	char reason[160];
	CHECK(verify_bad_seq(l, reason, sizeof reason) == 0, "chain intact: %s", reason);
	ledger_close(l);
	remove_dir(dir);
	free(dir);
}

int main(void)
{
	char *dir = scratch_dir("chain-test");
	REQUIRE(dir != NULL, "scratch dir");
	REQUIRE(ledger_create(dir, NULL) == LEDGER_OK, "create: %s", ledger_last_error());
	ledger *l;
	REQUIRE(ledger_open(dir, NULL, &l) == LEDGER_OK, "open: %s", ledger_last_error());
	for (int i = 0; i < RECORDS; i += 2)
		REQUIRE(append(l, 2, 24 + (size_t)i, (uint8_t)i) == LEDGER_OK, "append");
	char reason[160];
	CHECK(verify_bad_seq(l, reason, sizeof reason) == 0, "fresh chain verifies: %s", reason);
	MDB_dbi events;
	REQUIRE(ledger_dbi_open(l, "events", 0, &events) == LEDGER_OK, "events dbi");
	test_every_byte_flip(l, events);
	test_delete_reorder_extend(l, events);
	test_ranges(l, events);
	ledger_close(l);
	test_open_refusals(dir);
	test_map_full();
	test_reader_after_growth();
	test_group_commit();
	remove_dir(dir);
	free(dir);
	return check_report("chain_test");
}
