/*
 * replay.c: folding the whole log again, fast. `ledger-audit replay` does it into a scratch
 * store to prove the live projections are a function of the log; proj_open does it in the live
 * store when PROJ_SCHEMA_VERSION changed.
 *
 * Folding event by event into LMDB costs random B-tree operations and rewrites pages at every
 * commit (docs/benchmarks-rights.md). Here the same folds (proj_fold_event) run over the
 * in-memory backend of proj_kv, and each database is written once at the end, sorted, with
 * MDB_APPEND: one write transaction for the whole log. Events are decoded once, on a second
 * thread, into arenas handed over in batches, so decoding and folding share the two cores and
 * no event costs a malloc or a free.
 *
 * Memory is bounded by memory_bytes_max. When the folded state outgrows it, what is folded is
 * written to the store, memory is emptied, and folding goes on over the store (kv_mem.c reads
 * through to it): slower, never wrong. The schema version is written only by the last write.
 */
#include "fold.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define BATCH_EVENTS_MAX  256u                /* events handed from decoder to folder at once */
#define BATCHES           32u                 /* in flight: about 4 ms of folding, more than a time slice */
#define BATCH_CHUNK_BYTES ((size_t)256 << 10) /* a batch arena's chunk; bigger events get their own */
#define ARENA_ALIGN_BYTES 16u
#define PREFETCH_SLOT     16u /* events ahead: a fold's first lookup has its slot fetched */
#define PREFETCH_ENTRY    8u  /* then its entry, once the slot has arrived */
#define NO_HINT           PROJ_KV_MEM_DBS_MAX
#define PREFAULT_STEP     ((size_t)2 << 20) /* of the store's pages, by the idle decoder */

/* ----- a batch of decoded events and the arena they live in ----- */

typedef struct arena_chunk {
	struct arena_chunk *next;
	size_t used, cap;
	_Alignas(ARENA_ALIGN_BYTES) uint8_t bytes[];
} arena_chunk;

typedef struct batch {
	ProtobufCAllocator allocator; /* bump allocation from chunks; free is a no-op */
	arena_chunk *chunks;
	size_t count;
	uint64_t seq[BATCH_EVENTS_MAX];
	Ledger__Events__Event *ev[BATCH_EVENTS_MAX];
	/* What each event's fold looks up first (proj_fold_read_key), hashed by the decoder: the
	 * folder fetches it ahead. hint_dbi NO_HINT: nothing. */
	MDB_dbi hint_dbi[BATCH_EVENTS_MAX];
	uint64_t hint_hash[BATCH_EVENTS_MAX];
	ledger_err end;   /* after these events: LEDGER_OK more may follow, LEDGER_END the log ends, else an error */
	uint64_t end_seq; /* the seq that failed to decode */
} batch;

static void *arena_alloc(void *data, size_t bytes)
{
	batch *b = data;
	bytes = (bytes + ARENA_ALIGN_BYTES - 1) & ~(size_t)(ARENA_ALIGN_BYTES - 1);
	arena_chunk *c = b->chunks;
	if (!c || c->cap - c->used < bytes) {
		size_t cap = bytes > BATCH_CHUNK_BYTES ? bytes : BATCH_CHUNK_BYTES;
		c = malloc(sizeof *c + cap);
		if (!c)
			return NULL; /* protobuf-c fails the unpack */
		c->used = 0;
		c->cap = cap;
		c->next = b->chunks;
		b->chunks = c;
	}
	LEDGER_ASSERT_MSG(c->used + bytes <= c->cap, "batch chunk: %zu used + %zu asked > %zu", c->used, bytes, c->cap);
	void *p = c->bytes + c->used;
	c->used += bytes;
	return p;
}

static void arena_free(void *data, void *p)
{
	(void)data, (void)p;
}

/* Forgets the batch's events; keeps one chunk for the next. */
static void batch_reset(batch *b)
{
	while (b->chunks && b->chunks->next) {
		arena_chunk *next = b->chunks->next;
		free(b->chunks);
		b->chunks = next;
	}
	if (b->chunks)
		b->chunks->used = 0;
	b->count = 0;
	b->end = LEDGER_OK;
}

static void batch_free(batch *b)
{
	batch_reset(b);
	free(b->chunks);
	b->chunks = NULL;
}

/* The caller's clocks (proj_replay_options.clock); 0 without them: the domain reads none. */
static double thread_cpu_s(const proj_replay_clock *clock)
{
	return clock && clock->thread_cpu_s ? clock->thread_cpu_s() : 0;
}

static double wall_s(const proj_replay_clock *clock)
{
	return clock && clock->wall_s ? clock->wall_s() : 0;
}

/* Decodes up to BATCH_EVENTS_MAX events from it into b, with the hints for prefetching into
 * mem; adds the CPU time it took to *cpu_s. */
static void decode_batch(const proj *p, const proj_kv_mem *mem, const proj_replay_clock *clock, ledger_iter *it,
                         batch *b, double *cpu_s)
{
	double t0 = thread_cpu_s(clock);
	batch_reset(b);
	ledger_record rec = {0};
	while (b->count < BATCH_EVENTS_MAX) {
		ledger_err err = ledger_iter_next(it, &rec);
		Ledger__Events__Event *ev = NULL;
		if (!err && !(ev = ledger__events__event__unpack(&b->allocator, rec.event_bytes, rec.event)))
			err = LEDGER_ERR_CORRUPT;
		if (err) {
			b->end = err;
			b->end_seq = rec.seq;
			break;
		}
		char key[PROJ_KEY_BYTES_MAX];
		MDB_dbi dbi = NO_HINT;
		size_t n = proj_fold_read_key(p, ev, &dbi, key, sizeof key);
		b->hint_dbi[b->count] = n ? dbi : NO_HINT;
		b->hint_hash[b->count] = n ? proj_kv_mem_hash(mem, key, n) : 0;
		b->seq[b->count] = rec.seq;
		b->ev[b->count++] = ev;
	}
	*cpu_s += thread_cpu_s(clock) - t0;
}

/* ----- the pipeline: a decoder thread filling batches, the folder emptying them ----- */

typedef struct pipeline {
	pthread_mutex_t lock;
	pthread_cond_t changed;
	batch batches[BATCHES];
	batch *full[BATCHES]; /* decoded, in log order: a ring */
	size_t full_head, full_count;
	batch *empty[BATCHES];
	size_t empty_count;
	bool stop; /* the folder wants no more */
	bool threaded;
	pthread_t thread;
	ledger_iter *it;
	const proj *p;
	proj_kv_mem *mem; /* the decoder prepares its memory too (proj_kv_mem_prepare) */
	const proj_replay_clock *clock;
	double decode_cpu_s; /* the decoder's CPU time */
	size_t write_bytes;  /* the folder's latest proj_kv_mem_write_bytes (under lock) */
	size_t prefaulted;   /* the decoder's: bytes of the store's pages faulted in ahead */
	bool prefault_off;   /* the decoder's: the store cannot (not a scratch store) */
} pipeline;

/* Faults in the next PREFAULT_STEP of the store's pages that the write will fill (as far as
 * the folder's estimate of it goes): their faults then leave the write, the longest part of
 * which they were. False if there was nothing to do. */
static bool prefault_step(pipeline *pl, size_t write_bytes)
{
	if (pl->prefault_off || pl->prefaulted >= write_bytes)
		return false;
	size_t done = ledger_prefault(pl->p->l, pl->prefaulted, PREFAULT_STEP);
	pl->prefaulted += done;
	pl->prefault_off = done == 0;
	return done > 0;
}

static void *decoder_main(void *arg)
{
	pipeline *pl = arg;
	bool decoded_all = false;
	pthread_mutex_lock(&pl->lock);
	while (!pl->stop) {
		if (!decoded_all && pl->empty_count > 0) {
			batch *b = pl->empty[--pl->empty_count];
			pthread_mutex_unlock(&pl->lock);
			decode_batch(pl->p, pl->mem, pl->clock, pl->it, b, &pl->decode_cpu_s);
			decoded_all = b->end != LEDGER_OK;
			pthread_mutex_lock(&pl->lock);
			LEDGER_ASSERT(pl->full_count < BATCHES);
			pl->full[(pl->full_head + pl->full_count++) % BATCHES] = b;
			pthread_cond_broadcast(&pl->changed);
			continue;
		}
		/* Nothing to decode (into): fault in the folder's next memory meanwhile, else the
		 * store's pages for the write. Only then, or a slow fault (the first touches of a
		 * VM's memory) starves the folder. */
		size_t write_bytes = pl->write_bytes;
		pthread_mutex_unlock(&pl->lock);
		bool worked = proj_kv_mem_prepare(pl->mem) || prefault_step(pl, write_bytes);
		pthread_mutex_lock(&pl->lock);
		if (!worked && !pl->stop && (decoded_all || pl->empty_count == 0))
			pthread_cond_wait(&pl->changed, &pl->lock);
	}
	pthread_mutex_unlock(&pl->lock);
	return NULL;
}

/* Starts decoding it; on a second thread if threaded and one can be made (else next_batch
 * decodes on the folder's: slower, the same result). */
static void pipeline_start(pipeline *pl, const proj *p, ledger_iter *it, proj_kv_mem *mem,
                           const proj_replay_clock *clock, bool threaded)
{
	memset(pl, 0, sizeof *pl);
	pl->p = p;
	pl->clock = clock;
	pl->it = it;
	pl->mem = mem;
	for (size_t i = 0; i < BATCHES; i++) {
		pl->batches[i].allocator = (ProtobufCAllocator){arena_alloc, arena_free, &pl->batches[i]};
		pl->empty[pl->empty_count++] = &pl->batches[i];
	}
	pthread_mutex_init(&pl->lock, NULL);
	pthread_cond_init(&pl->changed, NULL);
	pl->threaded = threaded && pthread_create(&pl->thread, NULL, decoder_main, pl) == 0;
}

static batch *next_batch(pipeline *pl)
{
	if (!pl->threaded) {
		decode_batch(pl->p, pl->mem, pl->clock, pl->it, &pl->batches[0], &pl->decode_cpu_s);
		return &pl->batches[0];
	}
	pthread_mutex_lock(&pl->lock);
	while (pl->full_count == 0)
		pthread_cond_wait(&pl->changed, &pl->lock);
	batch *b = pl->full[pl->full_head];
	pl->full_head = (pl->full_head + 1) % BATCHES;
	pl->full_count--;
	pthread_mutex_unlock(&pl->lock);
	return b;
}

/* Gives b back to the decoder, to fill again. */
static void batch_done(pipeline *pl, batch *b)
{
	if (!pl->threaded)
		return;
	size_t write_bytes = proj_kv_mem_write_bytes(pl->mem);
	pthread_mutex_lock(&pl->lock);
	pl->empty[pl->empty_count++] = b;
	pl->write_bytes = write_bytes;
	pthread_cond_broadcast(&pl->changed);
	pthread_mutex_unlock(&pl->lock);
}

/* Stops the decoder (what it decoded ahead is dropped) and frees the batches. */
static void pipeline_stop(pipeline *pl)
{
	if (pl->threaded) {
		pthread_mutex_lock(&pl->lock);
		pl->stop = true;
		pthread_cond_broadcast(&pl->changed);
		pthread_mutex_unlock(&pl->lock);
		pthread_join(pl->thread, NULL);
	}
	for (size_t i = 0; i < BATCHES; i++)
		batch_free(&pl->batches[i]);
	pthread_cond_destroy(&pl->changed);
	pthread_mutex_destroy(&pl->lock);
}

/* ----- folding ----- */

/* One pass of folding into memory: from `from` to the end of the log (or of as-of), or until
 * memory outgrows its cap. */
typedef struct segment {
	uint64_t from;     /* first seq to fold */
	uint64_t next;     /* the seq after the last one folded */
	bool done;         /* nothing more to fold after this segment */
	size_t prefaulted; /* bytes of the store's pages the decoder faulted in for the write */
} segment;

/* Folds the events of batch b; false when the segment ends (s->done, an error, or full). */
static bool fold_batch(proj *p, proj_kv *kv, const proj_replay_options *o, size_t memory_bytes_max, const batch *b,
                       segment *s, proj_replay_stats *stats, ledger_err *err)
{
	for (size_t i = 0; i < b->count && i < PREFETCH_SLOT; i++)
		if (b->hint_dbi[i] != NO_HINT)
			proj_kv_mem_prefetch(kv->mem, b->hint_dbi[i], b->hint_hash[i], false);
	for (size_t i = 0; i < b->count; i++) {
		const Ledger__Events__Event *ev = b->ev[i];
		/* Events ahead: the slot of one's lookup, the entry of a nearer one's. */
		if (i + PREFETCH_SLOT < b->count && b->hint_dbi[i + PREFETCH_SLOT] != NO_HINT)
			proj_kv_mem_prefetch(kv->mem, b->hint_dbi[i + PREFETCH_SLOT], b->hint_hash[i + PREFETCH_SLOT],
			                     false);
		if (i + PREFETCH_ENTRY < b->count && b->hint_dbi[i + PREFETCH_ENTRY] != NO_HINT)
			proj_kv_mem_prefetch(kv->mem, b->hint_dbi[i + PREFETCH_ENTRY], b->hint_hash[i + PREFETCH_ENTRY],
			                     true);
		/* Commit times never decrease along the log: the first later one ends an as-of. */
		if (o->as_of && ev->committed_at_us > o->as_of_us) {
			s->done = true;
			return false;
		}
		if ((*err = proj_fold_event(p, kv, b->seq[i], ev))) {
			stats->failed_seq = b->seq[i];
			return false;
		}
		stats->events++;
		s->next = b->seq[i] + 1;
		size_t bytes = proj_kv_mem_bytes(kv->mem);
		if (bytes > stats->memory_bytes_peak)
			stats->memory_bytes_peak = bytes;
		if (bytes > memory_bytes_max)
			return false; /* full: write out, then go on from s->next */
	}
	if (b->end == LEDGER_END)
		s->done = true;
	else if (b->end) {
		*err = b->end;
		stats->failed_seq = b->end_seq;
	}
	return b->end == LEDGER_OK;
}

static ledger_err fold_segment(proj *p, proj_kv *kv, ledger *log, MDB_txn *log_txn, const proj_replay_options *o,
                               segment *s, proj_replay_stats *stats)
{
	size_t memory_bytes_max = o->memory_bytes_max ? o->memory_bytes_max : PROJ_REPLAY_MEMORY_BYTES_DEFAULT;
	ledger_iter *it;
	ledger_err err = ledger_iter_open(log, log_txn, s->from, &it);
	if (err)
		return err;
	pipeline *pl = malloc(sizeof *pl);
	if (!pl) {
		ledger_iter_close(it);
		return LEDGER_ERR_NOMEM;
	}
	pipeline_start(pl, p, it, kv->mem, o->clock, !o->one_thread);
	s->next = s->from;
	for (bool go_on = true; go_on;) {
		batch *b = next_batch(pl);
		double t0 = thread_cpu_s(o->clock);
		go_on = fold_batch(p, kv, o, memory_bytes_max, b, s, stats, &err);
		stats->fold_cpu_s += thread_cpu_s(o->clock) - t0;
		batch_done(pl, b);
	}
	pipeline_stop(pl);
	s->prefaulted = pl->prefaulted;
	stats->decode_cpu_s += pl->decode_cpu_s;
	free(pl);
	ledger_iter_close(it);
	return err;
}

/* ----- writing ----- */

/*
 * Sorting a database's entries takes about as long as writing them into LMDB, and the write
 * transaction is one thread's. So a second thread sorts the databases, in order, while this
 * one writes each as soon as it is sorted; and rather than wait, the writer sorts the next
 * database nobody has taken yet.
 */
typedef struct sorter {
	pthread_mutex_t lock;
	pthread_cond_t changed;
	pthread_t thread;
	bool threaded;
	proj_kv_mem *mem;
	MDB_dbi dbis[PROJ_DBS_MAX];
	size_t count;
	size_t taken;              /* dbis[0..taken) are sorted or being sorted */
	bool sorted[PROJ_DBS_MAX]; /* dbis[i] is */
	ledger_err err;            /* of the first sort that failed */
} sorter;

/* Takes the next database to sort and sorts it; false when none is left. Called locked. */
static bool sort_next(sorter *so)
{
	if (so->taken == so->count || so->err)
		return false;
	size_t i = so->taken++;
	pthread_mutex_unlock(&so->lock);
	ledger_err err = proj_kv_mem_has(so->mem, so->dbis[i]) ? proj_kv_mem_sort(so->mem, so->dbis[i]) : LEDGER_OK;
	pthread_mutex_lock(&so->lock);
	so->sorted[i] = true;
	if (err && !so->err)
		so->err = err;
	pthread_cond_broadcast(&so->changed);
	return true;
}

static void *sorter_main(void *arg)
{
	sorter *so = arg;
	pthread_mutex_lock(&so->lock);
	while (sort_next(so))
		;
	pthread_mutex_unlock(&so->lock);
	return NULL;
}

static void sorter_start(sorter *so, proj *p, proj_kv_mem *mem)
{
	memset(so, 0, sizeof *so);
	so->mem = mem;
	so->count = proj_db_handles(p, so->dbis, PROJ_DBS_MAX);
	pthread_mutex_init(&so->lock, NULL);
	pthread_cond_init(&so->changed, NULL);
	/* Without a second thread, the writer sorts every database itself: slower, the same. */
	so->threaded = pthread_create(&so->thread, NULL, sorter_main, so) == 0;
}

/* Returns once dbis[i] is sorted (or a sort failed), sorting others meanwhile. */
static ledger_err sorter_wait(sorter *so, size_t i)
{
	pthread_mutex_lock(&so->lock);
	while (!so->sorted[i] && !so->err)
		if (!sort_next(so))
			pthread_cond_wait(&so->changed, &so->lock);
	ledger_err err = so->err;
	pthread_mutex_unlock(&so->lock);
	return err;
}

static void sorter_stop(sorter *so)
{
	if (so->threaded) {
		pthread_mutex_lock(&so->lock);
		so->taken = so->count; /* after a failure: sort nothing more */
		pthread_mutex_unlock(&so->lock);
		pthread_join(so->thread, NULL);
	}
	pthread_cond_destroy(&so->changed);
	pthread_mutex_destroy(&so->lock);
}

/* Writes what memory holds into the projections, in one transaction of p's ledger. */
typedef struct write_job {
	ledger_job job;
	proj *p;
	proj_kv_mem *mem;
	sorter *sorter;
	bool reset;    /* the first write: empty the projections first */
	bool complete; /* the last write: the schema version too */
	uint64_t rows;
	ledger_err result;
} write_job;

/* True if memory holds entries only for the projection databases: a fold that wrote another
 * database (one missing from proj_db_handles) would lose it here, silently. */
static bool only_projections(const proj_kv_mem *mem, const MDB_dbi *dbis, size_t n)
{
	size_t listed = 0;
	for (size_t i = 0; i < n; i++)
		listed += proj_kv_mem_has(mem, dbis[i]);
	size_t all = 0;
	for (MDB_dbi d = 0; d < PROJ_KV_MEM_DBS_MAX; d++)
		all += proj_kv_mem_has(mem, d);
	return all == listed;
}

static ledger_err write_apply(ledger_job *job, ledger_txn *t)
{
	write_job *j = (write_job *)job;
	MDB_txn *txn = ledger_txn_mdb(t);
	const MDB_dbi *dbis = j->sorter->dbis;
	size_t n = j->sorter->count;
	if (!only_projections(j->mem, dbis, n))
		return LEDGER_ERR_INVALID; /* a bug: list the new database in apply.c's db_slots */
	ledger_err err = LEDGER_OK;
	j->rows = 0; /* re-runnable: after a map growth, everything is written again (sorted once) */
	for (size_t i = 0; !err && j->reset && i < n; i++)
		err = ledger_mdb_err(mdb_drop(txn, dbis[i], 0));
	for (size_t i = 0; !err && i < n; i++)
		if (!(err = sorter_wait(j->sorter, i)) && proj_kv_mem_has(j->mem, dbis[i]))
			err = proj_kv_mem_write(j->mem, txn, dbis[i], &j->rows);
	if (!err && j->complete)
		err = proj_put_version(j->p, txn);
	return err;
}

static void write_done(ledger_job *job, ledger_err err)
{
	((write_job *)job)->result = err;
}

static ledger_err write_out(proj *p, proj_kv_mem *mem, const proj_replay_clock *clock, bool reset, bool complete,
                            size_t prefaulted, proj_replay_stats *stats)
{
	double t0 = wall_s(clock);
	/* The pages the decoder did not fault in ahead: in one go, cheaper than one fault each. */
	size_t write_bytes = proj_kv_mem_write_bytes(mem);
	if (write_bytes > prefaulted)
		ledger_prefault(p->l, prefaulted, write_bytes - prefaulted);
	sorter so;
	sorter_start(&so, p, mem);
	write_job j = {.job = {write_apply, write_done, NULL},
	               .p = p,
	               .mem = mem,
	               .sorter = &so,
	               .reset = reset,
	               .complete = complete};
	ledger_err err = ledger_commit_one(p->l, &j.job, 0);
	sorter_stop(&so); /* after a failure, the sorts still running are waited for */
	if (!err)
		err = j.result;
	stats->writes++;
	stats->rows += j.rows;
	stats->write_s += wall_s(clock) - t0;
	return err;
}

/* One segment: folds over what earlier segments wrote (base), then writes. */
static ledger_err replay_segment(proj *p, proj_kv_mem *mem, ledger *log, MDB_txn *log_txn, const proj_replay_options *o,
                                 segment *s, proj_replay_stats *stats)
{
	bool first = s->from == 1;
	MDB_txn *ltx = log_txn, *base = NULL;
	ledger_err err = ltx ? LEDGER_OK : ledger_read_begin(log, &ltx);
	if (err)
		return err;
	if (!first)
		err = ledger_read_begin(p->l, &base);
	double t0 = wall_s(o->clock);
	proj_kv kv = {.txn = base, .mem = mem};
	if (!err)
		err = fold_segment(p, &kv, log, ltx, o, s, stats);
	if (!err)
		err = proj_kv_mem_flush(mem, base); /* deferred dels may read base: before it ends */
	stats->fold_s += wall_s(o->clock) - t0;
	if (base)
		ledger_read_end(p->l, base);
	if (ltx != log_txn)
		ledger_read_end(log, ltx);
	/* No read transaction of ours is open now: the write may grow p's map. */
	if (!err)
		err = write_out(p, mem, o->clock, first, s->done, s->prefaulted, stats);
	proj_kv_mem_clear(mem);
	return err;
}

ledger_err proj_replay(proj *p, ledger *log, MDB_txn *log_txn, const proj_replay_options *o, proj_replay_stats *stats)
{
	static const proj_replay_options defaults = {0};
	memset(stats, 0, sizeof *stats);
	if (!o)
		o = &defaults;
	if (ledger_read_only(p->l) || (log == p->l && log_txn))
		return LEDGER_ERR_INVALID; /* a read transaction held on p's ledger would block its map's growth */
	proj_kv_mem *mem = NULL;
	ledger_err err = proj_kv_mem_new(o->hash_seed, &mem);
	segment s = {.from = 1};
	while (!err && !s.done) {
		err = replay_segment(p, mem, log, log_txn, o, &s, stats);
		LEDGER_ASSERT(err || s.done || s.next > s.from); /* each segment folds at least one event */
		s.from = s.next;
	}
	proj_kv_mem_free(mem);
	return err;
}
