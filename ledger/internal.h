/* internal.h: what the files of ledger/ share. Private to the folder. */
#ifndef LEDGER_INTERNAL_H
#define LEDGER_INTERNAL_H

#include "assertion.h"
#include "ledger.h"

#include <pthread.h>

struct ledger {
	MDB_env *env;
	MDB_dbi events;   /* seq (u64 big-endian) -> record */
	MDB_dbi meta;     /* "magic", "format", "head_seq", "head_hash", "head_time_us" */
	MDB_dbi requests; /* SHA-256(actor || 0 || request id) -> body hash || reply */
	MDB_dbi blobs;    /* SHA-256 -> document bytes (blobs.c); open once has_blobs */
	bool has_blobs;
	bool read_only;
	bool writemap; /* a scratch store: LMDB writes its pages in the map (ledger_prefault) */
	size_t map_bytes;
	size_t map_bytes_max;
	/* Read transactions hold it shared; growing the map takes it exclusively, because LMDB
	 * allows mdb_env_set_mapsize only while no transaction of the process is active. */
	pthread_rwlock_t resize_lock;
	pthread_mutex_t head_lock; /* guards the committed head below */
	uint64_t head_seq;
	uint8_t head_hash[LEDGER_HASH_BYTES];
	int64_t head_time_us;
};

struct ledger_txn {
	ledger *l;
	MDB_txn *txn;
	uint64_t seq; /* tentative head of the batch */
	uint8_t hash[LEDGER_HASH_BYTES];
	int64_t time_us;
	uint64_t first_seq; /* first seq appended by the batch, 0 if none */
};

#define LEDGER_META_MAGIC     "jse-ledger"
#define LEDGER_FORMAT_VERSION 1u

/* Formats the thread's last error message; returns err for tail calls. */
ledger_err ledger_fail(ledger_err err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes the head of t into the meta database (in t's transaction). */
ledger_err ledger_meta_put_head(ledger_txn *t);

/* Runs jobs (a list linked by next) as one write transaction, retrying after growing the map
 * and splitting on MDB_TXN_FULL. Calls each job's done() once. Returns the batch's outcome. */
ledger_err ledger_run_batch(ledger *l, ledger_job *jobs, int64_t time_us, uint64_t *first_seq, uint64_t *last_seq,
                            void (*committed)(void *, uint64_t, uint64_t), void *committed_ctx);

#endif
