/*
 * ledger.h: the append-only, hash-chained event log in LMDB.
 *
 * This module knows nothing of the domain: it stores opaque event bytes under consecutive
 * sequence numbers, chains them with SHA-256, keeps idempotency records of the commands that
 * wrote them, and groups concurrent writers into one durable LMDB transaction (group commit).
 * The byte layout is specified in docs/log-format.md.
 *
 * Errors are returned as ledger_err; ledger_strerror() names them. Nothing here calls exit().
 * Ownership: whatever a function hands back through a pointer argument belongs to the caller
 * unless its comment says it points into an LMDB page (valid until the transaction ends).
 */
#ifndef LEDGER_LEDGER_H
#define LEDGER_LEDGER_H

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LEDGER_HASH_BYTES         32
#define LEDGER_RECORD_MAGIC       "JSE1"
#define LEDGER_RECORD_MAGIC_BYTES 4
/* magic(4) || seq(8, big-endian) || prev_hash(32) || hash(32) || event bytes */
#define LEDGER_RECORD_HEADER_BYTES (LEDGER_RECORD_MAGIC_BYTES + 8 + 2 * LEDGER_HASH_BYTES)
/* Domain separation tag prefixed to every hashed record (no terminating NUL). */
#define LEDGER_HASH_TAG             "JSE-LEDGER-EVENT-V1"
#define LEDGER_EVENT_BYTES_MAX      (1024u * 1024u)
#define LEDGER_FORMAT_NAME          "jse-ledger/1"
#define LEDGER_REQUEST_ID_BYTES_MAX 128u
#define LEDGER_REPLY_BYTES_MAX      (4u * 1024u * 1024u)

typedef enum {
	LEDGER_OK = 0,
	LEDGER_END,                 /* iteration finished: not an error */
	LEDGER_ERR_IO,              /* the file system refused: errno is in the message */
	LEDGER_ERR_NOT_INITIALISED, /* no data.mdb in the directory: run `ledgerd init` */
	LEDGER_ERR_EXISTS,          /* `init` on a directory that already holds a store */
	LEDGER_ERR_NOT_LEDGER,      /* an LMDB file, or something else, that is not ours */
	LEDGER_ERR_FORMAT,          /* ours, but a format version this build cannot read */
	LEDGER_ERR_CORRUPT,         /* the chain does not verify */
	LEDGER_ERR_MAP_FULL,        /* the map reached map_bytes_max: nothing was written */
	LEDGER_ERR_DISK_FULL,       /* the file system is full: nothing was written */
	LEDGER_ERR_TOO_LARGE,       /* an event or reply over its limit */
	LEDGER_ERR_INVALID,         /* a bad argument (a bug in the caller) */
	LEDGER_ERR_NOMEM,
	LEDGER_ERR_STOPPED,  /* the committer is shutting down: retry elsewhere/later */
	LEDGER_ERR_TXN_FULL, /* one transaction dirtied too many pages: split the batch */
	LEDGER_ERR_LMDB,     /* any other LMDB error */
} ledger_err;

/* A static string naming err. Never NULL. */
const char *ledger_strerror(ledger_err err);

typedef struct ledger ledger;

typedef struct ledger_options {
	size_t map_bytes_initial; /* 0: 64 MiB */
	size_t map_bytes_max;     /* 0: 64 GiB; the map doubles up to this when full */
	bool read_only;           /* audit tools: MDB_RDONLY, no writes, no growth */
	bool allow_broken_chain;  /* audit tools: open even if the head does not verify */
	bool skip_store_check;    /* do not walk the store in a child first (ledger_store_check) */
	unsigned named_dbs_max;   /* 0: 64; projections open theirs with ledger_dbi_open */
	/* A throwaway store (a replay's scratch): commits do not wait for the disk (MDB_NOSYNC,
	 * MDB_NOMETASYNC) and pages are written in the map (MDB_WRITEMAP). A crash may lose it or
	 * leave it corrupt: never for a store anyone keeps. */
	bool scratch;
	/* The log key (ledgerd): each batch that appends signs a C2SP checkpoint of the new tree in
	 * its own transaction (tree.c). NULL: none is signed. Must outlive the ledger. */
	struct tlog_signer *checkpoint_signer;
	int64_t checkpoint_keep_us; /* one checkpoint kept per this interval (µs of batch time); 0: 1 s */
} ledger_options;

/*
 * Creates a new store in dir (created if absent, mode 0700). Fails with LEDGER_ERR_EXISTS if
 * dir already holds data.mdb. The store is empty: the caller appends the first event.
 */
ledger_err ledger_create(const char *dir, const ledger_options *options);

/*
 * Opens the store in dir. Refuses, with a message retrievable by ledger_last_error(), a
 * directory that is not initialised, not a ledger, of an unknown format, or (unless
 * options->allow_broken_chain) whose chain does not verify from event 1 to the recorded head.
 * On success *out is owned by the caller: ledger_close() it.
 */
ledger_err ledger_open(const char *dir, const ledger_options *options, ledger **out);

/*
 * Walks every database of the store in dir, every key and value byte, in a forked child, so
 * that a damaged store (LMDB has no page checksums: a bad page pointer crashes its reader) is
 * reported instead of crashing the caller. LEDGER_OK, or LEDGER_ERR_CORRUPT naming the database
 * and the signal or LMDB error ("store damaged ...; restore from a backup"), or LEDGER_ERR_IO if
 * the check could not run. ledger_open runs it unless options->scratch or skip_store_check.
 */
ledger_err ledger_store_check(const char *dir);
void ledger_close(ledger *l);

/* The message of the last failed open/commit in this thread, for error reports. */
const char *ledger_last_error(void);

/*
 * Opens (creating it unless read-only) the named database `name` for a projection. Call it
 * before any other thread uses the ledger. Returns LEDGER_ERR_NOT_LEDGER if read-only and
 * the database does not exist.
 */
ledger_err ledger_dbi_open(ledger *l, const char *name, unsigned flags, MDB_dbi *dbi);

/*
 * A scratch store (ledger_options.scratch) maps its file writable, and LMDB writes new pages in
 * place: the first write to each takes a page fault, which the kernel serves slowly (a file's
 * page). This takes those faults ahead, from any thread, for the bytes [offset, offset + len)
 * past the store's last page in use, which a coming write transaction will fill: it changes no
 * byte of the store. Call it while no write transaction runs (else it may fault the wrong
 * pages: harmless, useless). Returns the bytes faulted in; 0 if the store is not a scratch
 * one, the range is past the map, or the kernel cannot (MADV_POPULATE_WRITE, Linux 5.14).
 */
size_t ledger_prefault(ledger *l, size_t offset, size_t len);

/* True if the ledger was opened read-only. */
bool ledger_read_only(const ledger *l);

/* Maps an LMDB return code to a ledger_err (MDB_MAP_FULL, MDB_TXN_FULL, ENOSPC...). */
ledger_err ledger_mdb_err(int rc);

/* The head: the last committed seq (0 when empty) and its hash (zeros when empty). */
void ledger_head(ledger *l, uint64_t *seq, uint8_t hash[LEDGER_HASH_BYTES]);

/* ----- reading ----- */

/*
 * Begins a read-only transaction. Every read transaction must end with ledger_read_end()
 * (they hold a lock that keeps the map from being resized under them).
 */
ledger_err ledger_read_begin(ledger *l, MDB_txn **txn);
void ledger_read_end(ledger *l, MDB_txn *txn);

/* One stored record, pointing into the LMDB page: valid until its transaction ends. */
typedef struct ledger_record {
	uint64_t seq;
	const uint8_t *prev_hash;
	const uint8_t *hash;
	const uint8_t *event;
	size_t event_bytes;
} ledger_record;

/* Splits a stored value into its fields. LEDGER_ERR_CORRUPT if it is too short or its
 * magic is wrong. Checks nothing else (see ledger_hash_record and ledger_verify). */
ledger_err ledger_record_parse(const uint8_t *value, size_t value_bytes, ledger_record *out);

/* hash = SHA-256(LEDGER_HASH_TAG || seq (u64 big-endian) || prev_hash || event). */
void ledger_hash_record(uint64_t seq, const uint8_t prev_hash[LEDGER_HASH_BYTES], const uint8_t *event,
                        size_t event_bytes, uint8_t hash[LEDGER_HASH_BYTES]);

/* Reads the record at seq. LEDGER_END if there is none. */
ledger_err ledger_get(ledger *l, MDB_txn *txn, uint64_t seq, ledger_record *out);

typedef struct ledger_iter ledger_iter;
/* Iterates records from from_seq upwards; from_seq 0: from the first key of the database,
 * whatever it is (what verification needs). *out is the caller's: ledger_iter_close. */
ledger_err ledger_iter_open(ledger *l, MDB_txn *txn, uint64_t from_seq, ledger_iter **out);
/* Next record, or LEDGER_END. A key that is not 8 bytes, or a bad record: LEDGER_ERR_CORRUPT. */
ledger_err ledger_iter_next(ledger_iter *it, ledger_record *out);
void ledger_iter_close(ledger_iter *it);

typedef struct ledger_verify_result {
	uint64_t events;                      /* records checked */
	uint64_t head_seq;                    /* last good seq */
	uint8_t head_hash[LEDGER_HASH_BYTES]; /* its hash */
	uint64_t bad_seq;                     /* first bad seq, 0 when intact */
	char reason[160];                     /* why bad_seq is bad */
} ledger_verify_result;

/*
 * Verifies the chain from seq 1 to the end: keys consecutive from 1, each record's seq equal
 * to its key, its prev_hash equal to the previous hash, its hash recomputed equal, and the
 * last record equal to the head recorded in the meta database (catches a truncated tail).
 * Returns LEDGER_OK when intact, LEDGER_ERR_CORRUPT with result->bad_seq and reason when not.
 */
ledger_err ledger_verify(ledger *l, MDB_txn *txn, ledger_verify_result *result);

/*
 * Verifies records first_seq..last_seq (last_seq 0: to the end of the log). Record first_seq's
 * prev_hash is checked against record first_seq - 1's stored hash, which is trusted: a range
 * proves the range is consistent with its predecessor, not the whole history. The recorded head
 * is checked only when the range reaches the end. Same results as ledger_verify; result->events
 * counts the records checked. LEDGER_ERR_INVALID if first_seq is 0 or after last_seq.
 */
ledger_err ledger_verify_range(ledger *l, MDB_txn *txn, uint64_t first_seq, uint64_t last_seq,
                               ledger_verify_result *result);

/* ----- the Merkle tree and checkpoints (tree.c, docs/log-format.md "The tree") ----- */

/* A signed checkpoint: the note text and one signature line, with room to spare. */
#define LEDGER_CHECKPOINT_BYTES_MAX 1024u

/*
 * The log is also an RFC 9162 Merkle tree: leaf i (from 0) is the record of seq i + 1, and its
 * leaf hash is SHA-256(0x00 || that record's hash). The tree's size is the head seq.
 */
struct tlog_subtree_store;
struct tlog_proof;
/* The tree's subtrees as a tlog source over txn (level 0 read from the records). */
void ledger_tree_source(ledger *l, MDB_txn *txn, void *ctx_storage, struct tlog_subtree_store *out);
/* Storage for ledger_tree_source's context. */
typedef struct ledger_tree_ctx {
	ledger *l;
	MDB_txn *txn;
	ledger_err err;
} ledger_tree_ctx;

/* The root of the tree of the first size records. LEDGER_ERR_INVALID past the head. */
ledger_err ledger_tree_root(ledger *l, MDB_txn *txn, uint64_t size, uint8_t root[LEDGER_HASH_BYTES]);
/* The inclusion proof of record seq in the tree of size records (seq <= size <= head). */
ledger_err ledger_tree_prove_inclusion(ledger *l, MDB_txn *txn, uint64_t seq, uint64_t size, struct tlog_proof *out);
/* The consistency proof from the tree of old_size records to that of new_size records. */
ledger_err ledger_tree_prove_consistency(ledger *l, MDB_txn *txn, uint64_t old_size, uint64_t new_size,
                                         struct tlog_proof *out);

/*
 * Recomputes the tree from the records' hashes (which ledger_verify checks against the
 * records) and compares every stored subtree with it: LEDGER_ERR_CORRUPT, with the first
 * differing subtree in result->reason, when one differs or is missing.
 */
ledger_err ledger_tree_verify(ledger *l, MDB_txn *txn, ledger_verify_result *result);

/* The latest signed checkpoint in the store (meta "checkpoint"), into out[cap] NUL-terminated.
 * LEDGER_END if none was ever signed. */
ledger_err ledger_checkpoint_latest(ledger *l, MDB_txn *txn, char *out, size_t cap, size_t *out_bytes);
/* Calls fn for each kept checkpoint, in increasing size; the walk stops at fn's first error,
 * which it returns. A key that is not 8 bytes: LEDGER_ERR_CORRUPT. */
ledger_err ledger_checkpoints_each(ledger *l, MDB_txn *txn,
                                   ledger_err (*fn)(void *ctx, uint64_t size, const char *note, size_t note_bytes),
                                   void *ctx);
/* Cosigned checkpoints: a checkpoint of this log with witnesses' cosignature lines, kept by
 * size (the caller verifies them; the ledger stores text). */
#define LEDGER_COSIGNED_BYTES_MAX 8192u
struct ledger_txn;
ledger_err ledger_cosigned_put(struct ledger_txn *t, uint64_t size, const char *note, size_t note_bytes);
/* The one of `size` (size 0: the largest), into out[cap] NUL-terminated; LEDGER_END if none. */
ledger_err ledger_cosigned_get(ledger *l, MDB_txn *txn, uint64_t size, char *out, size_t cap, size_t *out_bytes);

/* The latest checkpoint this process signed (no transaction), "" when none. */
size_t ledger_checkpoint_current(ledger *l, char out[LEDGER_CHECKPOINT_BYTES_MAX]);

/* ----- writing ----- */

typedef struct ledger_txn ledger_txn;

/* The LMDB write transaction, so projections update their databases in the same commit. */
MDB_txn *ledger_txn_mdb(ledger_txn *t);
/* The time the batch is committed at (µs, UTC): one value for every event of a batch. */
int64_t ledger_txn_time_us(const ledger_txn *t);

/*
 * Appends one event. Its bytes are copied into the store as they are. On success *seq and
 * hash (either may be NULL) receive the new record's seq and hash. LEDGER_ERR_TOO_LARGE over
 * LEDGER_EVENT_BYTES_MAX. Any other error poisons the transaction: the batch is retried or
 * failed by the committer.
 */
ledger_err ledger_append(ledger_txn *t, const uint8_t *event, size_t event_bytes, uint64_t *seq,
                         uint8_t hash[LEDGER_HASH_BYTES]);

/* The seq the next ledger_append in t will get: lets a command name what it creates after
 * the event that creates it (a collection's id). */
uint64_t ledger_txn_next_seq(const ledger_txn *t);
/* The last record t holds so far (the batch's head): its seq and hash. */
void ledger_txn_head(const ledger_txn *t, uint64_t *seq, uint8_t hash[LEDGER_HASH_BYTES]);

/* ----- documents: content-addressed blobs (blobs.c) ----- */

/* Opens (creating unless read-only) the blobs database. Call before threads use the ledger.
 * A read-only store without one simply holds no documents. */
ledger_err ledger_blobs_open(ledger *l);
/* Stores n bytes under sha256 (their SHA-256, computed by the caller) in t's transaction; a
 * blob already stored is kept. Poisons the batch on an LMDB failure, like ledger_append. */
ledger_err ledger_blob_put(ledger_txn *t, const uint8_t sha256[LEDGER_HASH_BYTES], const uint8_t *bytes, size_t n);
/* Removes the blob stored under sha256 in t's transaction (an erasure's; a blob absent is not an
 * error). The event recording why must be in the same transaction. */
ledger_err ledger_blob_remove(ledger_txn *t, const uint8_t sha256[LEDGER_HASH_BYTES]);
/* *bytes points into the map (valid until txn ends). LEDGER_END when absent. */
ledger_err ledger_blob_get(ledger *l, MDB_txn *txn, const uint8_t sha256[LEDGER_HASH_BYTES], const uint8_t **bytes,
                           size_t *n);
/* How many stored blobs are not among named (count sorted hashes); the first one in orphan
 * (hex, 65 bytes) when there are some. */
uint64_t ledger_blobs_absent_from(ledger *l, MDB_txn *txn, const uint8_t (*named)[LEDGER_HASH_BYTES], size_t count,
                                  char orphan[65]);
/* Re-hashes every blob; LEDGER_ERR_CORRUPT with bad = the first key whose bytes differ. */
ledger_err ledger_blobs_verify(ledger *l, MDB_txn *txn, uint64_t *count, uint8_t bad[LEDGER_HASH_BYTES]);

/* ----- idempotency ----- */

typedef struct ledger_request_record {
	uint8_t body_hash[LEDGER_HASH_BYTES]; /* SHA-256 of the command, to spot a reused id */
	const uint8_t *reply;                 /* the first reply, in the LMDB page */
	size_t reply_bytes;
} ledger_request_record;

/* Looks up (actor, request_id). LEDGER_END when absent. */
ledger_err ledger_request_get(ledger *l, MDB_txn *txn, const char *actor, const char *request_id,
                              ledger_request_record *out);
/* Records the reply of a command that wrote events, in the same transaction as its events. */
ledger_err ledger_request_put(ledger_txn *t, const char *actor, const char *request_id,
                              const uint8_t body_hash[LEDGER_HASH_BYTES], const uint8_t *reply, size_t reply_bytes);

/* ----- group commit ----- */

/*
 * A unit of work for the committer. apply() runs on the committer's thread inside the batch's
 * write transaction; it reads state (including what earlier jobs of the same batch wrote) and
 * either writes nothing (a refused command: it records its reply in the job and returns
 * LEDGER_OK) or writes its events and projection updates. It returns an error only when LMDB
 * failed under it: the whole batch is then aborted and retried (after growing the map when it
 * was full) or failed. apply() may therefore run more than once: it must reset whatever it
 * keeps in the job before writing. done() runs once, after the batch is durable (err ==
 * LEDGER_OK) or has failed; it may free the job.
 */
typedef struct ledger_job ledger_job;
struct ledger_job {
	ledger_err (*apply)(ledger_job *job, ledger_txn *t);
	void (*done)(ledger_job *job, ledger_err err);
	ledger_job *next; /* the committer's */
};

typedef struct ledger_committer ledger_committer;

typedef struct ledger_committer_options {
	size_t batch_jobs_max;          /* 0: 512 */
	int64_t (*clock_us)(void *ctx); /* NULL: the system clock (CLOCK_REALTIME) */
	void *clock_ctx;
	/* Called on the committer thread after each durable batch, before the jobs' done(), with
	 * the first and last seq it wrote (equal-and-zero when it wrote none). May be NULL. */
	void (*committed)(void *ctx, uint64_t first_seq, uint64_t last_seq);
	void *committed_ctx;
} ledger_committer_options;

/* Starts the single writer thread. */
ledger_err ledger_committer_start(ledger *l, const ledger_committer_options *options, ledger_committer **out);
/* Queues job; its done() will be called exactly once (at once, LEDGER_ERR_STOPPED, if the
 * committer is stopping). */
void ledger_committer_submit(ledger_committer *c, ledger_job *job);
/* Commits what is queued and stops the thread; later submits get LEDGER_ERR_STOPPED. */
void ledger_committer_stop(ledger_committer *c);
/* Frees a stopped committer (stopping it first if needed). */
void ledger_committer_free(ledger_committer *c);

/* Runs one batch synchronously on the calling thread: for tools and tests (e.g. init). */
ledger_err ledger_commit_one(ledger *l, ledger_job *job, int64_t time_us);

/* Counters for benchmarks and the operator: batches committed and jobs in them. */
void ledger_committer_stats(ledger_committer *c, uint64_t *batches, uint64_t *jobs);

/* ----- byte helpers shared by the modules ----- */
void ledger_put_u64_be(uint8_t out[8], uint64_t v);
uint64_t ledger_get_u64_be(const uint8_t in[8]);
/* Lower-case hex; out must hold 2*n+1 bytes. */
void ledger_hex(const uint8_t *in, size_t n, char *out);

#endif
