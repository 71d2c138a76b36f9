/*
 * kv.h: proj_kv, the only way the folds read and write the projections, and its in-memory
 * backend. Private to projections/.
 */
#ifndef PROJECTIONS_KV_H
#define PROJECTIONS_KV_H

#include "ledger.h"

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * ----- proj_kv: how folds read and write the projections (kv.c) -----
 *
 * Every fold reads and writes through a proj_kv, never through LMDB directly, so the same fold
 * code runs live (over the committer's write transaction, in the same commit as the events) and
 * in a replay or rebuild. Keys and values are bytes with explicit lengths; dbi is one of the
 * projection databases of struct proj. Keys are 1 to 511 bytes (LMDB's limit; else
 * LEDGER_ERR_INVALID). Errors: LEDGER_END when a key is absent (get), else an LMDB failure as
 * ledger_mdb_err() maps it (or LEDGER_ERR_NOMEM in memory); a failure poisons the batch.
 */
typedef struct proj_kv_mem proj_kv_mem;
/* LMDB's limit on a key (mdb_env_get_maxkeysize with the default build). */
#define PROJ_KV_KEY_BYTES_MAX 511u

typedef struct proj_kv {
	/* Without mem: the LMDB write transaction the folds write into (live). With mem: the store
	 * under the memory, read where memory has no entry (a read transaction), or NULL when the
	 * store's projections are empty (a replay from event 1 that fits its memory cap). */
	MDB_txn *txn;
	proj_kv_mem *mem; /* NULL, or the in-memory backend (kv_mem.c): replay and rebuild */
} proj_kv;

/* A proj_kv over txn: what proj_apply() and the committer's folds use. */
static inline proj_kv proj_kv_of_txn(MDB_txn *txn)
{
	return (proj_kv){.txn = txn, .mem = NULL};
}

/* The value under key into *out; LEDGER_END if absent. *out points into the backend's storage:
 * read it before the next put or del through kv, never write through it, and never pass it as
 * the value of a put (in an LMDB write transaction, the put may move it while copying it):
 * copy it first. */
ledger_err proj_kv_get(proj_kv *kv, MDB_dbi dbi, const void *key, size_t key_bytes, MDB_val *out);
/* Puts (creates or replaces) key -> val; val_bytes may be 0 (an index entry). */
ledger_err proj_kv_put(proj_kv *kv, MDB_dbi dbi, const void *key, size_t key_bytes, const void *val, size_t val_bytes);
/* Deletes key; an absent key is not an error (LEDGER_OK). */
ledger_err proj_kv_del(proj_kv *kv, MDB_dbi dbi, const void *key, size_t key_bytes);
/*
 * Calls visit() for each key that starts with prefix (prefix_bytes 0: every key), in LMDB's key
 * order, until visit() returns false. key and val are valid during the call only. visit() must
 * not write through kv: collect the keys, then put or del them after the scan.
 */
typedef bool (*proj_kv_visit)(void *ctx, const void *key, size_t key_bytes, const void *val, size_t val_bytes);
ledger_err proj_kv_scan(proj_kv *kv, MDB_dbi dbi, const void *prefix, size_t prefix_bytes, proj_kv_visit visit,
                        void *ctx);
/* Packs msg (a state.proto message) straight into the value of key. */
ledger_err proj_kv_put_msg(proj_kv *kv, MDB_dbi dbi, const void *key, size_t key_bytes, const ProtobufCMessage *msg);
/* Unpacks the value of key as a message of descriptor into *out (the caller frees it with
 * protobuf_c_message_free_unpacked(*out, NULL) or the typed ..._free_unpacked). LEDGER_END if
 * absent, LEDGER_ERR_CORRUPT if the value does not unpack. */
ledger_err proj_kv_get_msg(proj_kv *kv, MDB_dbi dbi, const void *key, size_t key_bytes,
                           const ProtobufCMessageDescriptor *descriptor, ProtobufCMessage **out);
/* The same, but an absent key gives the message with every field at its default (a count not
 * yet made, credits never given) instead of LEDGER_END. */
ledger_err proj_kv_get_msg_or_empty(proj_kv *kv, MDB_dbi dbi, const void *key, size_t key_bytes,
                                    const ProtobufCMessageDescriptor *descriptor, ProtobufCMessage **out);

/*
 * The in-memory backend (kv_mem.c): a hash table per database, written out sorted. The
 * functions below are the backend's; folds use the proj_kv_* functions above, never these.
 * base: as proj_kv.txn. Memory counts entries (replaced ones included) and tables.
 */
#define PROJ_KV_MEM_DBS_MAX 128u /* dbi handles are small integers below LMDB's maxdbs + 2 */
typedef struct proj_kv_sorted proj_kv_sorted;
/* hash_seed keys the tables' hash: drawn at random by the caller, so that keys chosen by the
 * events' authors cannot make the tables degenerate. It changes no output. */
ledger_err proj_kv_mem_new(uint64_t hash_seed, proj_kv_mem **out);
void proj_kv_mem_free(proj_kv_mem *m);
/* Faults in memory for the next entries, ahead of need: to be called from another thread
 * than the one folding (replay.c's decoder), which then does not wait for the kernel. Prepares
 * one arena chunk; false if none was wanted (or none could be had). */
bool proj_kv_mem_prepare(proj_kv_mem *m);
/* Forgets every entry and frees their memory (after a write, before folding on). */
void proj_kv_mem_clear(proj_kv_mem *m);
size_t proj_kv_mem_bytes(const proj_kv_mem *m);
ledger_err proj_kv_mem_get(proj_kv_mem *m, MDB_txn *base, MDB_dbi dbi, const void *key, size_t key_bytes, MDB_val *out);
/* Makes key's value val_bytes long and points *val at it, for the caller to fill before its
 * next call. */
ledger_err proj_kv_mem_reserve(proj_kv_mem *m, MDB_txn *base, MDB_dbi dbi, const void *key, size_t key_bytes,
                               size_t val_bytes, void **val);
ledger_err proj_kv_mem_del(proj_kv_mem *m, MDB_txn *base, MDB_dbi dbi, const void *key, size_t key_bytes);
ledger_err proj_kv_mem_scan(proj_kv_mem *m, MDB_txn *base, MDB_dbi dbi, const void *prefix, size_t prefix_bytes,
                            proj_kv_visit visit, void *ctx);
/* Applies the puts and dels the backend deferred (a del may read base); call it before base
 * ends, and before proj_kv_mem_sort or _write. */
ledger_err proj_kv_mem_flush(proj_kv_mem *m, MDB_txn *base);
/* Prefetching ahead of the folds (replay.c). The hash of a key as the tables use it: callable
 * from any thread (it reads only the seed, set at creation). And a hint, from the folding
 * thread, that dbi's key of that hash will be read soon: entry false fetches its slot into the
 * cache; entry true, some events later once the slot has arrived, its entry. Changes nothing
 * that a get, put, del or scan sees. */
uint64_t proj_kv_mem_hash(const proj_kv_mem *m, const void *key, size_t key_bytes);
void proj_kv_mem_prefetch(const proj_kv_mem *m, MDB_dbi dbi, uint64_t hash, bool entry);
/* About the bytes of pages that writing memory's entries into empty databases will take:
 * what the store should have ready (ledger_prefault). */
size_t proj_kv_mem_write_bytes(const proj_kv_mem *m);
/* True if dbi has entries in memory. */
bool proj_kv_mem_has(const proj_kv_mem *m, MDB_dbi dbi);
/* Sorts dbi's entries for proj_kv_mem_write; may run on another thread than the write of
 * another dbi. No put or del may follow until proj_kv_mem_clear. */
ledger_err proj_kv_mem_sort(proj_kv_mem *m, MDB_dbi dbi);
/* Writes dbi's entries into txn in key order: with MDB_APPEND when the database is empty in
 * txn, else puts and dels (tombstones). *rows is increased by the rows put. Re-runnable (in a
 * new transaction) until proj_kv_mem_clear. */
ledger_err proj_kv_mem_write(proj_kv_mem *m, MDB_txn *txn, MDB_dbi dbi, uint64_t *rows);

#endif
