/* internal.h: what the files of ledger/ share. Private to the folder. */
#ifndef LEDGER_INTERNAL_H
#define LEDGER_INTERNAL_H

#include "assertion.h"
#include "ledger.h"
#include "tlog.h"

#include <pthread.h>

struct ledger {
	MDB_env *env;
	MDB_dbi events;         /* seq (u64 big-endian) -> record */
	MDB_dbi meta;           /* "magic", "format", "head_seq", "head_hash", "head_time_us" */
	MDB_dbi requests;       /* SHA-256(actor || 0 || request id) -> body hash || reply */
	MDB_dbi blobs;          /* SHA-256 -> document bytes (blobs.c); open once has_blobs */
	MDB_dbi tree_db;        /* level (u8) || index (u64 big-endian) -> subtree hash, level >= 1 (tree.c) */
	MDB_dbi checkpoints_db; /* tree size (u64 big-endian) -> signed checkpoint note (tree.c) */
	MDB_dbi cosigned_db;    /* tree size (u64 big-endian) -> checkpoint with witnesses' lines (tree.c) */
	bool has_cosigned;
	bool has_blobs;
	bool has_tree; /* the tree and checkpoints databases exist (a read-only open of an old store: no) */
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
	tlog_tree tree; /* the Merkle tree of the committed head (head_lock) */
	/* Checkpoints: signed in each batch's transaction when a signer is given (tree.c). */
	tlog_signer *checkpoint_signer;               /* the caller's, or NULL: no checkpoints are signed */
	int64_t checkpoint_keep_us;                   /* keep one in the checkpoints database per this interval */
	int64_t checkpoint_kept_us;                   /* the batch time of the last one kept (committer thread) */
	char checkpoint[LEDGER_CHECKPOINT_BYTES_MAX]; /* the latest signed checkpoint (head_lock) */
	size_t checkpoint_bytes;
};

struct ledger_txn {
	ledger *l;
	MDB_txn *txn;
	uint64_t seq; /* tentative head of the batch */
	uint8_t hash[LEDGER_HASH_BYTES];
	int64_t time_us;
	uint64_t first_seq;                           /* first seq appended by the batch, 0 if none */
	tlog_tree tree;                               /* tentative Merkle tree of the batch */
	char checkpoint[LEDGER_CHECKPOINT_BYTES_MAX]; /* the batch's signed checkpoint, if any */
	size_t checkpoint_bytes;
	bool checkpoint_kept;   /* it went into the checkpoints database too */
	bool checkpoint_forced; /* sign one even though nothing was appended (ledger_checkpoint_refresh) */
};

#define LEDGER_META_MAGIC     "jse-ledger"
#define LEDGER_FORMAT_VERSION 1u

/* Formats the thread's last error message; returns err for tail calls. */
ledger_err ledger_fail(ledger_err err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes the head of t into the meta database (in t's transaction). */
ledger_err ledger_meta_put_head(ledger_txn *t);

/* The tree (tree.c). Opens or creates the tree and checkpoints databases, checks the stored
 * subtrees against the records, and builds them if the store has none yet (writable only). */
ledger_err ledger_tree_open(ledger *l, const char *dir);
/* Adds the record hash of a new record to t's tree, storing the subtrees it completes. */
ledger_err ledger_tree_append(ledger_txn *t, const uint8_t record_hash[LEDGER_HASH_BYTES]);
/* Makes signer (may be NULL) sign a checkpoint in each batch; keep_us as ledger_options. */
void ledger_tree_set_signer(ledger *l, tlog_signer *signer, int64_t keep_us);
/* After a durable batch, with head_lock held: t's tree and checkpoint become the ledger's. */
void ledger_tree_committed(ledger *l, const ledger_txn *t);
/* At open, with a signer: signs the head's checkpoint if the stored latest is missing, not the
 * signer's or not of the head. */
ledger_err ledger_checkpoint_refresh(ledger *l);
/* Signs the checkpoint of t's tree (if the ledger has a signer) and stores it in t. */
ledger_err ledger_checkpoint_put(ledger_txn *t);

/* Runs jobs (a list linked by next) as one write transaction, retrying after growing the map
 * and splitting on MDB_TXN_FULL. Calls each job's done() once. Returns the batch's outcome. */
ledger_err ledger_run_batch(ledger *l, ledger_job *jobs, int64_t time_us, uint64_t *first_seq, uint64_t *last_seq,
                            void (*committed)(void *, uint64_t, uint64_t), void *committed_ctx);

#endif
