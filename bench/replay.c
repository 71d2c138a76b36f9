/*
 * replay.c: how fast does a log of 1 000 000 events replay, against what LMDB alone allows?
 *
 * Replay is the auditor's proof that the projections are a function of the log (`ledger-audit
 * replay`) and the service's path back after a projection change (proj_open's rebuild). Its
 * target is 1 000 000 events/s. On one log, in one run, this program measures:
 *
 *   raw LMDB   a cursor walking the events database (MDB_NEXT), reading every byte of every
 *              value: the ceiling, what any replay pays before it does anything
 *   decode     ledger_iter over the log and a protobuf unpack (and free) of every event: the
 *              part of replay that reads, without the part that writes
 *   verify     ledger_verify: the hash chain from event 1 to the recorded head (SHA-256)
 *   replay     proj_replay into a fresh scratch store, exactly as `ledger-audit replay` does
 *              (replay-tools/audit.c): events decoded on a second thread, folded into memory,
 *              each database written once, sorted, with MDB_APPEND; the clock runs from the
 *              scratch store's creation to its commit. Then the same on one thread, and with
 *              its memory capped (so that it writes and folds on over the store several times)
 *   the old replay, for comparison
 *              proj_apply of every event into the scratch store's LMDB transactions: in
 *              durable commits of 10 000 events (what ledger-audit did before proj_replay),
 *              and in one transaction
 *   rebuild    proj_open on a copy of the store whose schema version was made stale: the
 *              rebuild ledgerd runs after a fold changes, durable; and the start of ledgerd on
 *              that copy, ledger_open (which verifies the whole chain) and proj_open
 * and then times `ledger-audit replay` and `ledger-audit verify` end to end as subprocesses.
 *
 * The log comes from bench-rights (`--build-only --events N`): 20 000 firms, 100 000
 * collaborators and their delegations, then renewals, new rights and revocations; every event
 * decided by proj_execute, so the log is what ledgerd would have written. --data measures any
 * existing store as it is instead, read-only.
 *
 * A benchmark, not a test: it asserts no timing. Exit status: 0 it ran, 1 a phase failed (the
 * message names it), 2 usage.
 */
#include "ledger.h"
#include "projections.h"

#include "events.pb-c.h"

#include "common.h"

#include <lmdb.h>

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define EVENTS_DEFAULT        1000000u
#define EVENTS_QUICK          100000u
#define EVENTS_MAX            50000000u /* bounds the disk a built log takes */
#define ROUNDS_DEFAULT        3u        /* of the fast figures: raw, decode, verify */
#define REPLAY_ROUNDS_DEFAULT 3u        /* of the new replays, about a second each */
#define ROUNDS_MAX            9u
/* The old replay's commits: what replay-tools/audit.c did before proj_replay. */
#define REPLAY_EVENTS_PER_COMMIT 10000u
#define SCRATCH_MAP_BYTES        ((size_t)1 << 30) /* as replay-tools/audit.c */
/* The capped replay's memory: a fraction of what the 1M-event log needs, so it writes often. */
#define CAPPED_MEMORY_BYTES ((size_t)64 << 20)
/* The variant in one transaction: a map that never fills, or the whole replay would run again
 * after the map grows (the committer retries a batch from scratch). Sparse: costs nothing. */
#define SCRATCH_MAP_BYTES_ONE_TXN  ((size_t)16 << 30)
#define TARGET_REPLAY_EVENTS_PER_S 1000000.0

typedef struct options {
	uint64_t events;
	unsigned rounds, replay_rounds;
	char data_dir[PATH_MAX];
	char tmp_parent[PATH_MAX];
	char bin_dir[PATH_MAX]; /* where bench-rights and ledger-audit are */
	bool data_given, keep, quick, skip_old;
} options;

/* The clocks proj_replay times its phases with (it reads none itself). */
static double clock_seconds(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
static double wall_seconds(void)
{
	return clock_seconds(CLOCK_MONOTONIC);
}
static double thread_cpu_seconds(void)
{
	return clock_seconds(CLOCK_THREAD_CPUTIME_ID);
}
static const proj_replay_clock replay_clock = {.wall_s = wall_seconds, .thread_cpu_s = thread_cpu_seconds};

/* ----- the measurements: each returns events/s, or a negative value on failure ----- */

/* A cursor over the events database, reading every byte of every value: the ceiling. The
 * checksum is printed so that the compiler cannot drop the reads. */
static double raw_iterate(ledger *l, MDB_dbi events, uint64_t *count, uint64_t *bytes, uint64_t *checksum)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	if (ledger_read_begin(l, &txn))
		return -1.0;
	int rc = mdb_cursor_open(txn, events, &cur);
	if (rc) {
		ledger_read_end(l, txn);
		fprintf(stderr, "bench-replay: events cursor: %s\n", mdb_strerror(rc));
		return -1.0;
	}
	uint64_t n = 0, total = 0, sum = 0;
	MDB_val k, v;
	int64_t t0 = bench_now_ns();
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		const uint8_t *p = v.mv_data;
		size_t i = 0;
		for (; i + 8 <= v.mv_size; i += 8) {
			uint64_t w;
			memcpy(&w, p + i, sizeof w);
			sum += w;
		}
		for (; i < v.mv_size; i++)
			sum += p[i];
		total += v.mv_size;
		n++;
	}
	double seconds = (double)(bench_now_ns() - t0) / 1e9;
	mdb_cursor_close(cur);
	ledger_read_end(l, txn);
	if (rc != MDB_NOTFOUND) {
		fprintf(stderr, "bench-replay: events cursor: %s\n", mdb_strerror(rc));
		return -1.0;
	}
	*count = n;
	*bytes = total;
	*checksum = sum;
	return (double)n / seconds;
}

/* ledger_iter over the log and an unpack + free of every event: replay's reading half. */
static double decode_only(ledger *l, uint64_t *count)
{
	MDB_txn *txn;
	ledger_iter *it;
	if (ledger_read_begin(l, &txn))
		return -1.0;
	if (ledger_iter_open(l, txn, 1, &it)) {
		ledger_read_end(l, txn);
		return -1.0;
	}
	ledger_record rec;
	ledger_err err;
	uint64_t n = 0, unknown = 0;
	int64_t t0 = bench_now_ns();
	while ((err = ledger_iter_next(it, &rec)) == LEDGER_OK) {
		Ledger__Events__Event *ev = ledger__events__event__unpack(NULL, rec.event_bytes, rec.event);
		if (!ev) {
			err = LEDGER_ERR_CORRUPT;
			break;
		}
		unknown += ev->payload_case == LEDGER__EVENTS__EVENT__PAYLOAD__NOT_SET;
		ledger__events__event__free_unpacked(ev, NULL);
		n++;
	}
	double seconds = (double)(bench_now_ns() - t0) / 1e9;
	ledger_iter_close(it);
	ledger_read_end(l, txn);
	if (err != LEDGER_END || unknown) {
		fprintf(stderr, "bench-replay: decode: event %llu: %s\n", (unsigned long long)rec.seq,
		        err != LEDGER_END ? ledger_strerror(err) : "an event of no kind");
		return -1.0;
	}
	*count = n;
	return (double)n / seconds;
}

static double verify(ledger *l, uint64_t *count)
{
	MDB_txn *txn;
	if (ledger_read_begin(l, &txn))
		return -1.0;
	ledger_verify_result r;
	int64_t t0 = bench_now_ns();
	ledger_err err = ledger_verify(l, txn, &r);
	double seconds = (double)(bench_now_ns() - t0) / 1e9;
	ledger_read_end(l, txn);
	if (err) {
		fprintf(stderr, "bench-replay: verify: %s (seq %llu: %s)\n", ledger_strerror(err),
		        (unsigned long long)r.bad_seq, r.reason);
		return -1.0;
	}
	*count = r.events;
	return (double)r.events / seconds;
}

/* Folds up to events_per_commit events from seq `from` into the scratch projections, in the
 * scratch ledger's transaction: replay-tools/audit.c's replay_apply, without --as-of.
 * Re-runnable, as a ledger_job must be. */
typedef struct replay_job {
	ledger_job job;
	ledger *live;
	MDB_txn *live_txn;
	proj *scratch;
	uint64_t events_per_commit;
	uint64_t from, next, events, batch_events;
	bool end;
	ledger_err result;
} replay_job;

static ledger_err replay_apply(ledger_job *job, ledger_txn *t)
{
	replay_job *j = (replay_job *)job;
	ledger_iter *it;
	ledger_err err = ledger_iter_open(j->live, j->live_txn, j->from, &it);
	if (err)
		return err;
	ledger_record rec;
	uint64_t n = 0;
	j->next = j->from;
	j->end = false;
	while (n < j->events_per_commit && (err = ledger_iter_next(it, &rec)) == LEDGER_OK) {
		err = proj_apply(j->scratch, ledger_txn_mdb(t), rec.seq, rec.event, rec.event_bytes);
		if (err)
			break;
		j->next = rec.seq + 1;
		n++;
	}
	ledger_iter_close(it);
	if (err == LEDGER_END) {
		j->end = true;
		err = LEDGER_OK;
	}
	j->batch_events = n;
	return err;
}

static void replay_done(ledger_job *job, ledger_err err)
{
	replay_job *j = (replay_job *)job;
	j->result = err;
	if (!err)
		j->events += j->batch_events; /* counted once the batch is durable */
}

/* A fresh scratch store under tmp_parent, and its projections; dir receives its path. */
static ledger_err scratch_open(const options *o, const ledger_options *so, char dir[PATH_MAX], ledger **l, proj **p)
{
	*l = NULL;
	*p = NULL;
	if (snprintf(dir, PATH_MAX, "%s/bench-replay-scratch-XXXXXX", o->tmp_parent) >= PATH_MAX || !mkdtemp(dir)) {
		fprintf(stderr, "bench-replay: scratch directory under %s: %s\n", o->tmp_parent, strerror(errno));
		dir[0] = '\0';
		return LEDGER_ERR_IO;
	}
	ledger_err err = ledger_create(dir, so);
	if (!err)
		err = ledger_open(dir, so, l);
	if (!err)
		err = proj_open(*l, 1, p);
	return err;
}

static void scratch_close(const char *dir, ledger *l, proj *p)
{
	if (p)
		proj_close(p);
	ledger_close(l);
	if (dir[0])
		bench_remove_tree("bench-replay", dir);
}

/* The old replay: proj_apply of every event into the scratch store, committing every
 * events_per_commit events. The clock runs from the scratch store's creation to its last
 * commit, as in ledger-audit. */
static double replay_old(const options *o, ledger *live, uint64_t events_per_commit, uint64_t *count, uint64_t *written)
{
	char dir[PATH_MAX];
	ledger *scratch;
	proj *p;
	MDB_txn *live_txn = NULL;
	ledger_options so = {.map_bytes_initial =
	                         events_per_commit == UINT64_MAX ? SCRATCH_MAP_BYTES_ONE_TXN : SCRATCH_MAP_BYTES};
	uint64_t written0 = bench_self_write_bytes();
	int64_t t0 = bench_now_ns();
	ledger_err err = scratch_open(o, &so, dir, &scratch, &p);
	if (!err)
		err = ledger_read_begin(live, &live_txn);
	replay_job j = {.job = {.apply = replay_apply, .done = replay_done},
	                .live = live,
	                .live_txn = live_txn,
	                .scratch = p,
	                .events_per_commit = events_per_commit,
	                .from = 1};
	while (!err && !j.end) {
		err = ledger_commit_one(scratch, &j.job, 0);
		if (!err)
			err = j.result;
		j.from = j.next;
	}
	double seconds = (double)(bench_now_ns() - t0) / 1e9;
	*written = bench_self_write_bytes() - written0;
	if (live_txn)
		ledger_read_end(live, live_txn);
	scratch_close(dir, scratch, p);
	if (err) {
		fprintf(stderr, "bench-replay: replay failed at seq %llu: %s: %s\n", (unsigned long long)j.from,
		        ledger_strerror(err), ledger_last_error());
		return -1.0;
	}
	*count = j.events;
	return (double)j.events / seconds;
}

/* proj_replay into a scratch store, as ledger-audit replay does it; the clock runs from the
 * scratch store's creation to its commit. */
static double replay_new(const options *o, ledger *live, const proj_replay_options *ro, uint64_t *written,
                         proj_replay_stats *stats)
{
	char dir[PATH_MAX];
	ledger *scratch;
	proj *p;
	MDB_txn *live_txn = NULL;
	ledger_options so = {.map_bytes_initial = SCRATCH_MAP_BYTES, .scratch = true};
	uint64_t written0 = bench_self_write_bytes();
	int64_t t0 = bench_now_ns();
	ledger_err err = scratch_open(o, &so, dir, &scratch, &p);
	if (!err)
		err = ledger_read_begin(live, &live_txn);
	if (!err)
		err = proj_replay(p, live, live_txn, ro, stats);
	double seconds = (double)(bench_now_ns() - t0) / 1e9;
	*written = bench_self_write_bytes() - written0;
	if (live_txn)
		ledger_read_end(live, live_txn);
	scratch_close(dir, scratch, p);
	if (err) {
		fprintf(stderr, "bench-replay: proj_replay failed (seq %llu): %s: %s\n",
		        (unsigned long long)stats->failed_seq, ledger_strerror(err), ledger_last_error());
		return -1.0;
	}
	return (double)stats->events / seconds;
}

/* ----- subprocesses ----- */

/* Runs argv (argv[0] a path) with its stdout into our stderr; returns its wall time in s, or
 * a negative value if it did not exit 0. */
static double run_timed(char *const argv[])
{
	int64_t t0 = bench_now_ns();
	pid_t pid = bench_spawn("bench-replay", argv, STDERR_FILENO, -1);
	if (pid < 0)
		return -1.0;
	int code = bench_wait_exit(pid);
	double seconds = (double)(bench_now_ns() - t0) / 1e9;
	if (code != 0) {
		fprintf(stderr, "bench-replay: %s %s exited with %d\n", argv[0], argv[1], code);
		return -1.0;
	}
	return seconds;
}

/* `bench-rights --build-only --events N --data DIR`: the log is written there. */
static bool build_log(const options *o, double *seconds)
{
	char exe[PATH_MAX + 16], events[32];
	snprintf(exe, sizeof exe, "%s/bench-rights", o->bin_dir);
	snprintf(events, sizeof events, "%llu", (unsigned long long)o->events);
	char *argv[] = {
	    exe, "--build-only", "--data", (char *)o->data_dir, "--events", events, o->quick ? "--quick" : NULL, NULL};
	fprintf(stderr, "bench-replay: building a log of %s events with %s...\n", events, exe);
	*seconds = run_timed(argv);
	return *seconds >= 0.0;
}

/* ----- the rebuild after a schema change, and ledgerd's start ----- */

/* Marks the projections as folded by schema version 0, so that proj_open rebuilds them. */
typedef struct stale_job {
	ledger_job job;
	MDB_dbi meta;
	ledger_err result;
} stale_job;

static ledger_err stale_apply(ledger_job *job, ledger_txn *t)
{
	uint8_t v[4] = {0, 0, 0, 0};
	MDB_val k = {7, "version"}, val = {sizeof v, v};
	return ledger_mdb_err(mdb_put(ledger_txn_mdb(t), ((stale_job *)job)->meta, &k, &val, 0));
}

static void stale_done(ledger_job *job, ledger_err err)
{
	((stale_job *)job)->result = err;
}

static ledger_err make_stale(const char *dir)
{
	ledger *l;
	ledger_options lo = {.allow_broken_chain = true};
	ledger_err err = ledger_open(dir, &lo, &l);
	if (err)
		return err;
	stale_job j = {.job = {stale_apply, stale_done, NULL}};
	err = ledger_dbi_open(l, "proj_meta", 0, &j.meta);
	if (!err)
		err = ledger_commit_one(l, &j.job, 0);
	ledger_close(l);
	return err ? err : j.result;
}

/* Opens dir (verifying the chain if verify) and its projections; the seconds it took. */
static double open_timed(const char *dir, bool verify, uint64_t *written)
{
	ledger *l;
	proj *p = NULL;
	ledger_options lo = {.allow_broken_chain = !verify};
	uint64_t written0 = bench_self_write_bytes();
	int64_t t0 = bench_now_ns();
	ledger_err err = ledger_open(dir, &lo, &l);
	if (!err)
		err = proj_open(l, 1, &p);
	double seconds = (double)(bench_now_ns() - t0) / 1e9;
	*written = bench_self_write_bytes() - written0;
	if (p)
		proj_close(p);
	ledger_close(l);
	if (err)
		fprintf(stderr, "bench-replay: open %s: %s: %s\n", dir, ledger_strerror(err), ledger_last_error());
	return err ? -1.0 : seconds;
}

/* On a copy of the store: proj_open's rebuild after a schema change (durable), then a start
 * as ledgerd's: ledger_open verifying the chain, proj_open. */
static bool rebuild_and_start(const options *o, double *rebuild_s, uint64_t *rebuild_written, double *start_s)
{
	char dir[PATH_MAX], src[PATH_MAX + 16];
	if (snprintf(dir, sizeof dir, "%s/bench-replay-copy-XXXXXX", o->tmp_parent) >= (int)sizeof dir ||
	    !mkdtemp(dir)) {
		fprintf(stderr, "bench-replay: copy directory under %s: %s\n", o->tmp_parent, strerror(errno));
		return false;
	}
	snprintf(src, sizeof src, "%s/data.mdb", o->data_dir);
	char *cp_argv[] = {"/bin/cp", "--sparse=always", src, dir, NULL};
	bool ok = run_timed(cp_argv) >= 0 && make_stale(dir) == LEDGER_OK;
	uint64_t written;
	fprintf(stderr, "bench-replay: rebuild in proj_open after a schema change, then a start...\n");
	if (ok)
		*rebuild_s = open_timed(dir, false, rebuild_written);
	if (ok && *rebuild_s >= 0)
		*start_s = open_timed(dir, true, &written);
	bench_remove_tree("bench-replay", dir);
	return ok && *rebuild_s >= 0 && *start_s >= 0;
}

/* ----- the run ----- */

/* The kinds of new replay, in the order they are printed. */
enum { NEW_TWO_THREADS, NEW_ONE_THREAD, NEW_CAPPED, NEW_KINDS };

typedef struct figures {
	uint64_t events, bytes, checksum;
	double raw[ROUNDS_MAX], decode[ROUNDS_MAX], verify[ROUNDS_MAX];
	double replay[NEW_KINDS][ROUNDS_MAX];
	proj_replay_stats replay_stats[NEW_KINDS]; /* last round */
	uint64_t replay_written[NEW_KINDS];        /* bytes to storage, last round */
	double old_durable, old_one_txn;           /* the old replay: one round each */
	uint64_t old_durable_written, old_one_txn_written;
	double rebuild_s, start_s;
	uint64_t rebuild_written;
	double audit_replay_s, audit_verify_s, build_s;
	double measure_s, others_cpu_s, steal_s; /* over the measurements, the build excluded */
	uint64_t data_bytes;
} figures;

/* The fast figures once; the counts must all be the log's. */
static bool measure_round(const options *o, ledger *l, MDB_dbi events_dbi, unsigned r, figures *f)
{
	uint64_t raw_n = 0, decoded = 0, verified = 0;
	fprintf(stderr, "bench-replay: round %u of %u: raw, decode, verify...\n", r + 1, o->rounds);
	f->raw[r] = raw_iterate(l, events_dbi, &raw_n, &f->bytes, &f->checksum);
	f->decode[r] = decode_only(l, &decoded);
	f->verify[r] = verify(l, &verified);
	if (f->raw[r] < 0 || f->decode[r] < 0 || f->verify[r] < 0)
		return false;
	f->events = raw_n;
	if (decoded != raw_n || verified != raw_n) {
		fprintf(stderr, "bench-replay: counts differ: %llu records, %llu decoded, %llu verified\n",
		        (unsigned long long)raw_n, (unsigned long long)decoded, (unsigned long long)verified);
		return false;
	}
	return true;
}

/* The new replays once each: two threads (as ledger-audit), one thread, memory capped. */
static bool replay_round(const options *o, ledger *l, unsigned r, figures *f)
{
	static const char *const names[NEW_KINDS] = {"two threads", "one thread", "memory capped"};
	const proj_replay_options kinds[NEW_KINDS] = {
	    [NEW_TWO_THREADS] = {.clock = &replay_clock, .hash_seed = r + 1},
	    [NEW_ONE_THREAD] = {.one_thread = true, .clock = &replay_clock, .hash_seed = r + 1},
	    [NEW_CAPPED] = {.memory_bytes_max = CAPPED_MEMORY_BYTES, .clock = &replay_clock, .hash_seed = r + 1},
	};
	for (unsigned k = 0; k < NEW_KINDS; k++) {
		fprintf(stderr, "bench-replay: replay %u of %u, %s...\n", r + 1, o->replay_rounds, names[k]);
		f->replay[k][r] = replay_new(o, l, &kinds[k], &f->replay_written[k], &f->replay_stats[k]);
		if (f->replay[k][r] < 0)
			return false;
		if (f->replay_stats[k].events != f->events) {
			fprintf(stderr, "bench-replay: %llu records, but %llu replayed (%s)\n",
			        (unsigned long long)f->events, (unsigned long long)f->replay_stats[k].events, names[k]);
			return false;
		}
	}
	return true;
}

/* The old replay, once each way: what ledger-audit did (durable commits of 10 000 events),
 * and in one transaction. */
static bool replay_old_round(const options *o, ledger *l, figures *f)
{
	uint64_t replayed = 0, replayed_one = 0;
	fprintf(stderr, "bench-replay: old replay: 10 000 events per durable commit, then one transaction...\n");
	f->old_durable = replay_old(o, l, REPLAY_EVENTS_PER_COMMIT, &replayed, &f->old_durable_written);
	f->old_one_txn = replay_old(o, l, UINT64_MAX, &replayed_one, &f->old_one_txn_written);
	if (f->old_durable < 0 || f->old_one_txn < 0)
		return false;
	if (replayed != f->events || replayed_one != f->events) {
		fprintf(stderr, "bench-replay: %llu records, but %llu and %llu replayed\n",
		        (unsigned long long)f->events, (unsigned long long)replayed, (unsigned long long)replayed_one);
		return false;
	}
	return true;
}

static bool measure(const options *o, figures *f)
{
	ledger *l;
	/* Read-only, as the auditor opens it; the chain is verified below, on the clock. */
	ledger_options lo = {.read_only = true, .allow_broken_chain = true};
	if (ledger_open(o->data_dir, &lo, &l) != LEDGER_OK) {
		fprintf(stderr, "bench-replay: %s\n", ledger_last_error());
		return false;
	}
	MDB_dbi events_dbi;
	bool ok = ledger_dbi_open(l, "events", 0, &events_dbi) == LEDGER_OK;
	/* A first walk brings the log's pages in: every figure is of a warm cache. */
	uint64_t n, b, c;
	ok = ok && raw_iterate(l, events_dbi, &n, &b, &c) >= 0;
	for (unsigned r = 0; ok && r < o->rounds; r++)
		ok = measure_round(o, l, events_dbi, r, f);
	for (unsigned r = 0; ok && r < o->replay_rounds; r++)
		ok = replay_round(o, l, r, f);
	if (ok && !o->skip_old)
		ok = replay_old_round(o, l, f);
	ledger_close(l);
	ok = ok && rebuild_and_start(o, &f->rebuild_s, &f->rebuild_written, &f->start_s);
	if (!ok)
		return false;
	char exe[PATH_MAX + 16];
	snprintf(exe, sizeof exe, "%s/ledger-audit", o->bin_dir);
	char *replay_argv[] = {exe, "replay", "--data", (char *)o->data_dir, NULL};
	char *verify_argv[] = {exe, "verify", "--data", (char *)o->data_dir, NULL};
	fprintf(stderr, "bench-replay: ledger-audit replay, then verify...\n");
	f->audit_replay_s = run_timed(replay_argv);
	f->audit_verify_s = run_timed(verify_argv);
	return f->audit_replay_s >= 0 && f->audit_verify_s >= 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* The median of v[0..n), and its extremes into *lo and *hi. */
static double median(const double *v, unsigned n, double *lo, double *hi)
{
	double sorted[ROUNDS_MAX];
	assert(n >= 1 && n <= ROUNDS_MAX);
	memcpy(sorted, v, n * sizeof *v);
	qsort(sorted, n, sizeof *sorted, cmp_double);
	*lo = sorted[0];
	*hi = sorted[n - 1];
	return sorted[n / 2];
}

static void print_row(const char *name, const double *v, unsigned n, double raw)
{
	double lo, hi, m = median(v, n, &lo, &hi);
	printf("  %-44s %12.0f   %5.1f%%   %10.0f to %.0f\n", name, m, 100.0 * m / raw, lo, hi);
}

static void print_single(const char *name, double v, double raw)
{
	printf("  %-44s %12.0f   %5.1f%%   %s\n", name, v, 100.0 * v / raw, "(1 round)");
}

/* Where a new replay's time went, and what it wrote: its last round. */
static void print_replay_detail(const char *name, const proj_replay_stats *st, uint64_t written)
{
	printf("    %-16s fold %.2f s (CPU: decode %.2f s, folds %.2f s) + write %.2f s; %llu rows in %llu "
	       "transaction%s;\n",
	       name, st->fold_s, st->decode_cpu_s, st->fold_cpu_s, st->write_s, (unsigned long long)st->rows,
	       (unsigned long long)st->writes, st->writes == 1 ? "" : "s");
	printf("    %-16s memory peak %.0f MB, %.0f MB written\n", "", (double)st->memory_bytes_peak / 1e6,
	       (double)written / 1e6);
}

static void print_header(const options *o, const figures *f)
{
	printf("bench-replay: %llu events, %.1f MB of records (mean %.0f bytes), store %s (%.0f MB)\n",
	       (unsigned long long)f->events, (double)f->bytes / 1e6, (double)f->bytes / (double)f->events, o->data_dir,
	       (double)f->data_bytes / 1e6);
	if (f->build_s > 0)
		printf("log built by bench-rights in %.1f s\n", f->build_s);
	printf("machine: %ld CPUs; warm page cache; median of %u rounds, of %u for the new replays (checksum %llx)\n\n",
	       sysconf(_SC_NPROCESSORS_ONLN), o->rounds, o->replay_rounds, (unsigned long long)f->checksum);
	printf("  %-44s %12s   %6s   %s\n", "", "events/s", "of raw", "rounds");
}

static void print_figures(const options *o, const figures *f)
{
	double lo, hi, raw = median(f->raw, o->rounds, &lo, &hi);
	double replay = median(f->replay[NEW_TWO_THREADS], o->replay_rounds, &lo, &hi);
	print_header(o, f);
	print_row("raw LMDB: cursor MDB_NEXT, every byte read", f->raw, o->rounds, raw);
	print_row("decode: ledger_iter + protobuf unpack/free", f->decode, o->rounds, raw);
	print_row("verify: ledger_verify (SHA-256 chain)", f->verify, o->rounds, raw);
	print_row("replay: proj_replay (as ledger-audit)", f->replay[NEW_TWO_THREADS], o->replay_rounds, raw);
	print_row("replay: proj_replay, one thread", f->replay[NEW_ONE_THREAD], o->replay_rounds, raw);
	print_row("replay: proj_replay, memory capped at 64 MiB", f->replay[NEW_CAPPED], o->replay_rounds, raw);
	if (!o->skip_old) {
		print_single("old replay: durable 10 000-event commits", f->old_durable, raw);
		print_single("old replay: proj_apply, one transaction", f->old_one_txn, raw);
	}
	print_single("rebuild: proj_open after a schema change", (double)f->events / f->rebuild_s, raw);
	printf("\n");
	print_replay_detail("proj_replay:", &f->replay_stats[NEW_TWO_THREADS], f->replay_written[NEW_TWO_THREADS]);
	print_replay_detail("one thread:", &f->replay_stats[NEW_ONE_THREAD], f->replay_written[NEW_ONE_THREAD]);
	print_replay_detail("memory capped:", &f->replay_stats[NEW_CAPPED], f->replay_written[NEW_CAPPED]);
	if (!o->skip_old)
		printf("    old replay: %.0f MB written at 10 000 events/commit, %.0f MB in one transaction\n",
		       (double)f->old_durable_written / 1e6, (double)f->old_one_txn_written / 1e6);
	printf("    rebuild (durable, in a copy of the store): %.2f s, %.0f MB written\n", f->rebuild_s,
	       (double)f->rebuild_written / 1e6);
	printf("    start as ledgerd's: ledger_open (verifies the chain) + proj_open: %.2f s\n", f->start_s);
	printf("\n  end to end, as subprocesses (open, scratch store, comparison, cleanup included):\n");
	printf("  ledger-audit replay --data DIR   %6.2f s   %10.0f events/s\n", f->audit_replay_s,
	       (double)f->events / f->audit_replay_s);
	printf("  ledger-audit verify --data DIR   %6.2f s   %10.0f events/s\n", f->audit_verify_s,
	       (double)f->events / f->audit_verify_s);
	printf(
	    "  (measurements: %.0f s of %ld CPUs; meanwhile other processes used %.1f CPU-s and the hypervisor stole "
	    "%.1f)\n",
	    f->measure_s, sysconf(_SC_NPROCESSORS_ONLN), f->others_cpu_s > 0 ? f->others_cpu_s : 0.0, f->steal_s);
	printf("\ntarget (information, not an assertion): replay >= %.0f events/s: %.0f events/s, %s (%.2fx)\n",
	       TARGET_REPLAY_EVENTS_PER_S, replay, replay >= TARGET_REPLAY_EVENTS_PER_S ? "met" : "not met",
	       replay / TARGET_REPLAY_EVENTS_PER_S);
}

/* ----- command line ----- */

static const char usage[] =
    "usage: bench-replay [--quick] [--events N] [--rounds N] [--replay-rounds N] [--skip-old] [--tmp DIR]\n"
    "                    [--keep] [--data DIR]\n"
    "\n"
    "Builds a log of N events with bench-rights (accounts, firms, delegations, then renewals and\n"
    "revocations, every event through proj_execute), then measures in one run: raw LMDB iteration\n"
    "of the events database, decoding every event, ledger_verify, a full replay into a scratch\n"
    "store as `ledger-audit replay` does (proj_replay: in memory, then written once, sorted), on\n"
    "one thread, and with its memory capped; the old replay (proj_apply in durable commits of\n"
    "10 000 events, and in one transaction); proj_open's rebuild after a schema change and a\n"
    "start, on a copy of the store; then times `ledger-audit replay` and `verify` end to end.\n"
    "Prints events/s beside the raw ceiling. A benchmark: it asserts no timing.\n"
    "\n"
    "  --quick      a log of 100 000 events on 2000 firms, 10 000 collaborators (~5 s)\n"
    "  --events N   events in the built log (default 1000000)\n"
    "  --rounds N   rounds of raw, decode and verify, the median reported (default 3)\n"
    "  --replay-rounds N  rounds of the new replays (default 3)\n"
    "  --skip-old   skip the old replay (about 30 s for 1 000 000 events)\n"
    "  --tmp DIR    where the log and the scratch stores go (default $TMPDIR or /tmp)\n"
    "  --keep       keep the built log (its path is printed); e.g. for bench-rights --data\n"
    "  --data DIR   measure the store in DIR as it is, read-only (nothing is built)\n"
    "  -h, --help   this help\n"
    "\n"
    "bench-rights and ledger-audit are run from this program's directory.\n"
    "exit status: 0 ran, 1 a phase failed (the message names it), 2 usage error\n";

static int parse_options(int argc, char **argv, options *o)
{
	*o = (options){.rounds = ROUNDS_DEFAULT, .replay_rounds = REPLAY_ROUNDS_DEFAULT};
	bench_tmp_parent(o->tmp_parent);
	bench_beside_self(argv[0], "", o->bin_dir);
	const bench_option table[] = {
	    bench_flag("quick", &o->quick),
	    bench_count64("events", &o->events, EVENTS_MAX),
	    bench_count("rounds", &o->rounds, ROUNDS_MAX),
	    bench_text("tmp", o->tmp_parent, sizeof o->tmp_parent, NULL),
	    bench_flag("keep", &o->keep),
	    bench_text("data", o->data_dir, sizeof o->data_dir, &o->data_given),
	    bench_count("replay-rounds", &o->replay_rounds, ROUNDS_MAX),
	    bench_flag("skip-old", &o->skip_old),
	};
	int rc = bench_parse_options("bench-replay", usage, argc, argv, table, sizeof table / sizeof table[0]);
	if (rc != 0)
		return rc;
	if (!o->events)
		o->events = o->quick ? EVENTS_QUICK : EVENTS_DEFAULT;
	return 0;
}

static uint64_t file_bytes(const char *dir, const char *name)
{
	char path[PATH_MAX + 32];
	struct stat st;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	return stat(path, &st) == 0 ? (uint64_t)st.st_blocks * 512u : 0;
}

int main(int argc, char **argv)
{
	options o;
	int rc = parse_options(argc, argv, &o);
	if (rc != 0)
		return rc;
	figures *f = calloc(1, sizeof *f);
	if (!f)
		return 1;
	bool ok = true;
	if (!o.data_given) {
		if (snprintf(o.data_dir, sizeof o.data_dir, "%s/bench-replay-XXXXXX", o.tmp_parent) >=
		        (int)sizeof o.data_dir ||
		    !mkdtemp(o.data_dir)) {
			fprintf(stderr, "bench-replay: cannot create a directory under %s: %s\n", o.tmp_parent,
			        strerror(errno));
			free(f);
			return 1;
		}
		ok = build_log(&o, &f->build_s);
	}
	f->data_bytes = file_bytes(o.data_dir, "data.mdb");
	/* What else used the machine meanwhile: other processes (our waited-for children,
	 * bench-rights and ledger-audit, excluded), and the hypervisor. */
	bench_machine_sample before;
	bench_machine_sample_take(&before);
	ok = ok && measure(&o, f);
	bench_machine_use use = bench_machine_use_since(&before);
	f->measure_s = use.wall_s;
	f->others_cpu_s = use.others_cpu_s;
	f->steal_s = use.steal_s;
	if (ok)
		print_figures(&o, f);
	if (!o.data_given && o.keep)
		fprintf(stderr, "bench-replay: log kept in %s\n", o.data_dir);
	else if (!o.data_given)
		bench_remove_tree("bench-replay", o.data_dir);
	free(f);
	return ok ? 0 : 1;
}
