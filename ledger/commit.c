/*
 * commit.c: group commit. One writer thread takes every job queued since its last commit (up
 * to batch_jobs_max), runs them in one LMDB write transaction and commits it with one fsync.
 * Under load, many commands share each fsync, so throughput approaches LMDB's batched limit;
 * each job's done() runs only after its batch is durable, so no reply precedes durability.
 *
 * When LMDB reports the map full, the batch is aborted, the map doubled (up to map_bytes_max)
 * and the batch run again from scratch: jobs' apply() are written to be re-runnable. When
 * one transaction dirties too many pages, the batch is split into single jobs.
 */
#include "internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

#define BATCH_JOBS_MAX_DEFAULT 512u

struct ledger_committer {
	ledger *l;
	ledger_committer_options o;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	ledger_job *head, *tail; /* FIFO of queued jobs */
	bool stopping;
	bool joined;
	uint64_t batches, jobs;
};

static int64_t system_clock_us(void *ctx)
{
	(void)ctx;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Doubles the map, up to map_bytes_max. Called with no transaction of ours active. */
static ledger_err grow_map(ledger *l)
{
	if (l->map_bytes >= l->map_bytes_max)
		return ledger_fail(LEDGER_ERR_MAP_FULL,
		                   "the ledger map is full at %zu bytes (map_bytes_max); nothing was written",
		                   l->map_bytes);
	size_t next = l->map_bytes * 2;
	if (next > l->map_bytes_max || next < l->map_bytes)
		next = l->map_bytes_max;
	pthread_rwlock_wrlock(&l->resize_lock);
	int rc = mdb_env_set_mapsize(l->env, next);
	pthread_rwlock_unlock(&l->resize_lock);
	if (rc)
		return ledger_fail(ledger_mdb_err(rc), "cannot grow the map to %zu bytes: %s", next, mdb_strerror(rc));
	l->map_bytes = next;
	return LEDGER_OK;
}

/*
 * LMDB reports a write that the file system cut short as EIO (mdb_page_flush: a short pwrite
 * is not ENOSPC), which is what a disk that fills during a commit looks like. An EIO with
 * less than LEDGER_DISK_FULL_BYTES left on the store's file system is taken for a full disk,
 * so the client hears STORAGE_FULL as on a disk that was full before the commit began.
 */
#define LEDGER_DISK_FULL_BYTES (1024u * 1024u)

static bool disk_nearly_full(ledger *l)
{
	int fd;
	struct statvfs fs;
	if (mdb_env_get_fd(l->env, &fd) != 0 || fstatvfs(fd, &fs) != 0)
		return false;
	return (unsigned long long)fs.f_bavail * fs.f_frsize < LEDGER_DISK_FULL_BYTES;
}

/* One attempt: begin, apply every job, write the head, commit. Fills t on success. */
static ledger_err attempt(ledger *l, ledger_job *jobs, int64_t time_us, ledger_txn *t)
{
	memset(t, 0, sizeof *t);
	t->l = l;
	t->time_us = time_us;
	pthread_mutex_lock(&l->head_lock);
	t->seq = l->head_seq;
	memcpy(t->hash, l->head_hash, LEDGER_HASH_BYTES);
	t->tree = l->tree;
	if (t->time_us < l->head_time_us) /* time in the log never goes backwards */
		t->time_us = l->head_time_us;
	pthread_mutex_unlock(&l->head_lock);
	int rc = mdb_txn_begin(l->env, NULL, 0, &t->txn);
	if (rc)
		return ledger_fail(ledger_mdb_err(rc), "cannot begin a write transaction: %s", mdb_strerror(rc));
	ledger_err err = LEDGER_OK;
	for (ledger_job *j = jobs; j && !err; j = j->next)
		err = j->apply(j, t);
	if (!err && t->first_seq)
		err = ledger_meta_put_head(t);
	if (!err)
		err = ledger_checkpoint_put(t);
	if (err) {
		mdb_txn_abort(t->txn);
		return err;
	}
	/* Postconditions of the batch, before it becomes durable: time never goes back, and the
	 * seqs written follow the head the batch started from. */
	LEDGER_ASSERT_MSG(t->time_us >= l->head_time_us, "batch time %lld before head time %lld", (long long)t->time_us,
	                  (long long)l->head_time_us);
	LEDGER_ASSERT_MSG(t->first_seq == 0 || t->first_seq == l->head_seq + 1, "first seq %llu after head %llu",
	                  (unsigned long long)t->first_seq, (unsigned long long)l->head_seq);
	LEDGER_ASSERT_MSG(t->tree.size == t->seq, "tree of %llu leaves, head %llu", (unsigned long long)t->tree.size,
	                  (unsigned long long)t->seq);
	rc = mdb_txn_commit(t->txn); /* frees the transaction whatever it returns */
	if (rc) {
		ledger_err err = ledger_mdb_err(rc);
		if (rc == EIO && disk_nearly_full(l))
			err = LEDGER_ERR_DISK_FULL;
		return ledger_fail(err, "commit failed, nothing was written: %s", mdb_strerror(rc));
	}
	return LEDGER_OK;
}

static void finish(ledger_job *jobs, ledger_err err)
{
	while (jobs) {
		ledger_job *next = jobs->next;
		jobs->done(jobs, err);
		jobs = next;
	}
}

ledger_err ledger_run_batch(ledger *l, ledger_job *jobs, int64_t time_us, uint64_t *first_seq, uint64_t *last_seq,
                            void (*committed)(void *, uint64_t, uint64_t), void *committed_ctx)
{
	LEDGER_ASSERT(!l->read_only);
	ledger_txn t;
	ledger_err err;
	for (;;) {
		err = attempt(l, jobs, time_us, &t);
		if (err != LEDGER_ERR_MAP_FULL)
			break;
		ledger_err grown = grow_map(l);
		if (grown) {
			err = grown;
			break;
		}
	}
	if (err == LEDGER_ERR_TXN_FULL && jobs && jobs->next) {
		/* Too much for one transaction: commit the jobs one by one. */
		uint64_t first = 0, last = 0;
		while (jobs) {
			ledger_job *next = jobs->next;
			jobs->next = NULL;
			uint64_t f, z;
			ledger_run_batch(l, jobs, time_us, &f, &z, committed, committed_ctx);
			if (f && !first)
				first = f;
			if (z)
				last = z;
			jobs = next;
		}
		*first_seq = first;
		*last_seq = last;
		return LEDGER_OK;
	}
	*first_seq = *last_seq = 0;
	if (err == LEDGER_OK) {
		if (t.first_seq) {
			LEDGER_ASSERT(t.seq >= t.first_seq && t.first_seq == l->head_seq + 1);
			LEDGER_ASSERT(t.time_us >= l->head_time_us);
			pthread_mutex_lock(&l->head_lock);
			l->head_seq = t.seq;
			memcpy(l->head_hash, t.hash, LEDGER_HASH_BYTES);
			l->head_time_us = t.time_us;
			ledger_tree_committed(l, &t);
			pthread_mutex_unlock(&l->head_lock);
			*first_seq = t.first_seq;
			*last_seq = t.seq;
		}
		if (committed)
			committed(committed_ctx, *first_seq, *last_seq);
	}
	finish(jobs, err);
	return err;
}

ledger_err ledger_commit_one(ledger *l, ledger_job *job, int64_t time_us)
{
	uint64_t first, last;
	job->next = NULL;
	return ledger_run_batch(l, job, time_us, &first, &last, NULL, NULL);
}

static void *writer_main(void *arg)
{
	ledger_committer *c = arg;
	for (;;) {
		pthread_mutex_lock(&c->lock);
		while (!c->head && !c->stopping)
			pthread_cond_wait(&c->wake, &c->lock);
		if (!c->head) {
			pthread_mutex_unlock(&c->lock);
			break;
		}
		ledger_job *batch = c->head, *last = c->head;
		size_t n = 1;
		while (last->next && n < c->o.batch_jobs_max) {
			last = last->next;
			n++;
		}
		c->head = last->next;
		if (!c->head)
			c->tail = NULL;
		last->next = NULL;
		c->batches++;
		c->jobs += n;
		pthread_mutex_unlock(&c->lock);
		uint64_t first, last_seq;
		ledger_run_batch(c->l, batch, c->o.clock_us(c->o.clock_ctx), &first, &last_seq, c->o.committed,
		                 c->o.committed_ctx);
	}
	return NULL;
}

ledger_err ledger_committer_start(ledger *l, const ledger_committer_options *options, ledger_committer **out)
{
	if (l->read_only)
		return ledger_fail(LEDGER_ERR_INVALID, "the ledger is open read-only");
	ledger_committer *c = calloc(1, sizeof *c);
	if (!c)
		return LEDGER_ERR_NOMEM;
	c->l = l;
	if (options)
		c->o = *options;
	if (!c->o.batch_jobs_max)
		c->o.batch_jobs_max = BATCH_JOBS_MAX_DEFAULT;
	if (!c->o.clock_us)
		c->o.clock_us = system_clock_us;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->wake, NULL);
	if (pthread_create(&c->thread, NULL, writer_main, c) != 0) {
		free(c);
		return ledger_fail(LEDGER_ERR_NOMEM, "cannot start the writer thread");
	}
	*out = c;
	return LEDGER_OK;
}

void ledger_committer_submit(ledger_committer *c, ledger_job *job)
{
	job->next = NULL;
	pthread_mutex_lock(&c->lock);
	if (c->stopping) {
		pthread_mutex_unlock(&c->lock);
		job->done(job, LEDGER_ERR_STOPPED);
		return;
	}
	if (c->tail)
		c->tail->next = job;
	else
		c->head = job;
	c->tail = job;
	pthread_cond_signal(&c->wake);
	pthread_mutex_unlock(&c->lock);
}

void ledger_committer_stop(ledger_committer *c)
{
	if (!c || c->joined)
		return;
	pthread_mutex_lock(&c->lock);
	c->stopping = true;
	pthread_cond_signal(&c->wake);
	pthread_mutex_unlock(&c->lock);
	pthread_join(c->thread, NULL);
	c->joined = true;
}

void ledger_committer_free(ledger_committer *c)
{
	if (!c)
		return;
	ledger_committer_stop(c);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->wake);
	free(c);
}

void ledger_committer_stats(ledger_committer *c, uint64_t *batches, uint64_t *jobs)
{
	pthread_mutex_lock(&c->lock);
	*batches = c->batches;
	*jobs = c->jobs;
	pthread_mutex_unlock(&c->lock);
}
