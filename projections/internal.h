/* internal.h: what the files of projections/ share. Private to the folder. */
#ifndef PROJECTIONS_INTERNAL_H
#define PROJECTIONS_INTERNAL_H

#include "projections.h"
#include "state.pb-c.h"

#include <sys/types.h>

struct proj {
	ledger *l;
	MDB_dbi accounts;      /* email -> state.Account */
	MDB_dbi firms;         /* firm id -> state.Firm */
	MDB_dbi firms_by_ec;   /* ec email \0 firm id -> "" */
	MDB_dbi delegations;   /* firm id \0 collaborator \0 right (1 byte) -> state.Delegation */
	MDB_dbi received;      /* collaborator \0 firm id \0 right (1 byte) -> "" */
	MDB_dbi expiries;      /* expires_at_us (u64 big-endian) firm id \0 collaborator \0 right -> "" */
	MDB_dbi meta;          /* "version" -> PROJ_SCHEMA_VERSION (u32 big-endian) of what is folded */
	MDB_dbi registrations; /* subject -> state.Registration */
	/* Beside the log, not folded from it (registration.c): */
	MDB_dbi subject_keys; /* subject -> its data key, wrapped under personal_key */
	MDB_dbi sealed;       /* subject \0 SHA-256 -> sealed personal data */
	bool has_side_dbs;    /* subject_keys and sealed are open (never in read-only copies) */
	/* Collections (collections.c): */
	MDB_dbi collections; /* firm id \0 collection id -> state.Collection */
	MDB_dbi timers;      /* at_us (u64 BE) kind (1 byte: 'E'xpiry, 'R'eminder) firm \0 id -> "" */
	MDB_dbi sign_queue;  /* firm \0 collection id \0 signer -> "": signatures the service owes */
	MDB_dbi doc_refs;    /* SHA-256 firm id -> file name: which firm may read a stored document, as what */
	/* Platform (platform.c): */
	MDB_dbi credits;              /* firm id -> state.Credits */
	MDB_dbi credit_history;       /* firm id \0 seq (u64 BE) -> state.CreditEntry */
	MDB_dbi preferences;          /* firm id -> state.Preferences */
	MDB_dbi alert_subs;           /* firm id \0 subscriber \0 kind (1 byte) -> state.AlertSubscription */
	MDB_dbi alerts;               /* firm id \0 subscriber \0 seq (u64 BE) -> state.Alert */
	MDB_dbi alert_marks;          /* firm id \0 subscriber \0 occasion -> "": raised once */
	MDB_dbi stats;                /* firm id \0 YYYY-MM \0 collaborator \0 kind (1 byte) -> state.Stats */
	MDB_dbi contacts;             /* firm id \0 email -> state.Contact */
	int64_t alerts_scanned_at_us; /* not state: when proj_expire_due last looked for timed alerts */
	uint64_t rebuild_hash_seed;   /* proj_open's: for a rebuild's in-memory tables */
	uint8_t personal_key[PROJ_PERSONAL_KEY_BYTES];
	bool has_personal_key;
	proj_random_fill random_fill; /* the caller's randomness: subject keys and nonces */
};

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

/*
 * Folds one unpacked event through kv: the switch over event kinds that proj_apply() runs. A
 * new event kind gets its case here and its fold (proj *, proj_kv *, seq, payload) beside it.
 * LEDGER_ERR_CORRUPT for an event kind this build does not know.
 */
ledger_err proj_fold_event(proj *p, proj_kv *kv, uint64_t seq, const Ledger__Events__Event *ev);
/* The key of the state that the fold of ev looks up first, into key (cap bytes), and its
 * database into *dbi: for replay.c to fetch it into the cache ahead of the fold. Returns the
 * key's length, 0 when the fold looks nothing up worth fetching ahead. Reads only ev: any
 * thread may call it. */
size_t proj_fold_read_key(const proj *p, const Ledger__Events__Event *ev, MDB_dbi *dbi, char *key, size_t cap);

/* The handles of the projection databases, in proj_db_names order, into out (at most max);
 * returns how many. What a rebuild empties and writes. */
#define PROJ_DBS_MAX 32u
size_t proj_db_handles(proj *p, MDB_dbi *out, size_t max);
/* Records in txn that the projections are folded by this build's PROJ_SCHEMA_VERSION. */
ledger_err proj_put_version(proj *p, MDB_txn *txn);

ledger_err proj_registration_get(proj *p, MDB_txn *txn, const char *subject, Ledger__State__Registration **out);
ledger_err proj_fold_registration(proj *p, proj_kv *kv, uint64_t seq, const Ledger__Events__RegistrationRecorded *e);
ledger_err proj_fold_erasure(proj *p, proj_kv *kv, uint64_t seq, const Ledger__Events__SubjectErased *e);
/* Every step done and the certificate not expired at now_us; else false and why. */
bool proj_registration_complete(proj *p, MDB_txn *txn, const char *subject, int64_t now_us, char *why,
                                size_t why_bytes);
ledger_err proj_decide_registration(proj *p, ledger_txn *t, const proj_actor *actor, const char *request_id,
                                    const Ledger__Api__RegistrationRecord *c, Ledger__Api__Reply *reply,
                                    proj_arena *arena, uint64_t *seq, uint8_t hash[LEDGER_HASH_BYTES]);
ledger_err proj_decide_erasure(proj *p, ledger_txn *t, const proj_actor *actor, const char *request_id,
                               const Ledger__Api__SubjectErase *c, Ledger__Api__Reply *reply, proj_arena *arena,
                               uint64_t *seq, uint8_t hash[LEDGER_HASH_BYTES]);
void proj_query_registration(proj *p, MDB_txn *txn, const proj_actor *actor, const Ledger__Api__RegistrationStatus *q,
                             Ledger__Api__Reply *reply, proj_arena *arena);

/* Appends ev (filling its envelope: time, actor, firm, request id) and folds its stored bytes.
 * *seq and hash (may be NULL) receive the new record's. An LMDB failure poisons the batch. */
ledger_err proj_emit(proj *p, ledger_txn *t, const char *actor, const char *request_id, const char *firm_id,
                     Ledger__Events__Event *ev, uint64_t *seq, uint8_t hash[LEDGER_HASH_BYTES]);

/* Builds "a\0b" or "a\0b\0<right byte>" keys into buf; returns the key's length. */
size_t proj_key2(char *buf, size_t cap, const char *a, const char *b);
size_t proj_key3(char *buf, size_t cap, const char *a, const char *b, Ledger__Events__Right r);
#define PROJ_KEY_BYTES_MAX (PROJ_EMAIL_BYTES_MAX + PROJ_FIRM_ID_BYTES_MAX + 4)

/* Lookups. LEDGER_END when absent. The caller frees *out with ..._free_unpacked(.., NULL). */
ledger_err proj_firm_get(proj *p, MDB_txn *txn, const char *firm_id, Ledger__State__Firm **out);
ledger_err proj_account_get(proj *p, MDB_txn *txn, const char *email, Ledger__State__Account **out);
ledger_err proj_delegation_get(proj *p, MDB_txn *txn, const char *firm_id, const char *who, Ledger__Events__Right right,
                               Ledger__State__Delegation **out);

/* True if `who` holds right `bit` in firm at now_us; `until` (may be NULL) gets its expiry. */
bool proj_delegation_live(proj *p, MDB_txn *txn, const char *firm_id, const char *who, unsigned bit, int64_t now_us,
                          char until[11]);
/* The mask of rights held at now_us; expired[] gets the latest expiry date among those that
 * have lapsed ("" if none). */
unsigned proj_delegations_held(proj *p, MDB_txn *txn, const char *firm_id, const char *who, int64_t now_us,
                               char expired[11]);

/* ----- what decide.c shares with collections.c and platform.c ----- */

/* The context a command's events share. */
typedef struct proj_emitter {
	proj *p;
	ledger_txn *t;
	const proj_actor *actor;
	const char *request_id;
	Ledger__Api__Reply *reply;
	proj_arena *arena;
} proj_emitter;

/* Emits one event of the command and records it as the reply's last. */
ledger_err proj_emitter_emit(proj_emitter *em, const char *firm_id, Ledger__Events__Event *ev);
/* Checks that the firm exists and the actor may do `action` (a canonical name) in it at the
 * command's time. Sets the reply's error (NOT_FOUND, PERMISSION_DENIED) and returns false if not;
 * *err gets an LMDB failure. */
bool proj_authorise(proj_emitter *em, const char *firm_id, const char *action, ledger_err *err);
/* The same for queries, at now_us, without an emitter. */
bool proj_authorise_query(proj *p, MDB_txn *txn, const proj_actor *actor, const char *firm_id, const char *action,
                          int64_t now_us, Ledger__Api__Reply *reply, proj_arena *arena);

/* A lookup for decisions and queries, in their transaction (folds use proj_kv_get). LEDGER_END
 * when absent. */
ledger_err proj_get_raw(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t key_bytes, MDB_val *v);

#define PROJ_DAY_US                  (86400 * INT64_C(1000000))
#define PROJ_COLLECTION_ID_BYTES_MAX 24u /* "c" and a seq */
/* A seal's "signer" in the signer's queue and in signed_by: "seal:" and the firm id, apart from
 * any email. */
#define PROJ_SEAL_SIGNER_PREFIX "seal:"

/* Personal data (registration.c): seals plain under subject's key (beside the log) and fills ref,
 * whose sha256 points at hash; opens it again (LEDGER_END once erased). */
ledger_err proj_personal_seal(proj *p, MDB_txn *txn, const char *subject, const char *plain,
                              Ledger__Events__SealedRef *ref, uint8_t hash[32]);
ledger_err proj_personal_open(proj *p, MDB_txn *txn, const char *subject, const uint8_t hash[32], char *plain,
                              size_t plain_bytes);
/* "+33 6 12 34 56 78" -> "+33612345678"; false if not a plus and 8 to 15 digits. */
bool proj_phone_normalise(const char *in, char out[20]);

/* collections.c */
ledger_err proj_collection_get(proj *p, MDB_txn *txn, const char *firm_id, const char *collection_id,
                               const ProtobufCAllocator *allocator, Ledger__State__Collection **out);
ledger_err proj_collection_get_kv(proj *p, proj_kv *kv, const char *firm_id, const char *collection_id,
                                  const ProtobufCAllocator *allocator, Ledger__State__Collection **out);
ledger_err proj_fold_collection(proj *p, proj_kv *kv, uint64_t seq, const Ledger__Events__Event *ev);
bool proj_is_collection_command(const Ledger__Api__Request *req);
ledger_err proj_decide_collection(proj_emitter *em, const Ledger__Api__Request *req, const proj_upload *upload);
void proj_query_collection(proj *p, MDB_txn *txn, const proj_actor *actor, int64_t now_us,
                           const Ledger__Api__Request *req, Ledger__Api__Reply *reply, proj_arena *arena);
/* Expiries and automatic reminders that are due at t's time (at most max events). */
ledger_err proj_collections_due(proj *p, ledger_txn *t, size_t max, size_t *count);
/* Who the collection waits for now: true for a signer whose turn it is. */
bool proj_signer_turn(const Ledger__State__Collection *c, size_t index);
bool proj_collection_running(Ledger__Events__CollectionState s);
bool proj_collection_ended(Ledger__Events__CollectionState s);
/* The service's side of a collection's timers: expire it, or remind its signers (if it still
 * runs), as actor "ledgerd". */
ledger_err proj_collection_expire(proj *p, ledger_txn *t, const char *firm_id, const char *collection_id);
ledger_err proj_collection_remind(proj *p, ledger_txn *t, const char *firm_id, const char *collection_id);
/* Index of the signer (the document, by its original SHA-256) in c, or -1. */
ssize_t proj_collection_signer(const Ledger__State__Collection *c, const char *email);
ssize_t proj_collection_document(const Ledger__State__Collection *c, const uint8_t *sha256, size_t len);
/* Ends a collection whose every signature is recorded (actor "ledgerd"). */
ledger_err proj_collection_complete(proj *p, ledger_txn *t, Ledger__State__Collection *c);
/* Calls visit for each collection of the firm, in id order, unpacked with alloc; stops when it
 * returns false. */
ledger_err proj_collections_each(proj *p, MDB_txn *txn, const char *firm_id, const ProtobufCAllocator *alloc,
                                 bool (*visit)(void *ctx, Ledger__State__Collection *c), void *ctx);
Ledger__Api__CollectionSummary *proj_collection_summary(const Ledger__State__Collection *c, proj_arena *arena);
/* Builds the view of a collection for a reply, in arena. */
Ledger__Api__CollectionView *proj_collection_view(const Ledger__State__Collection *c, proj_arena *arena);

/* platform.c */
ledger_err proj_fold_platform(proj *p, proj_kv *kv, uint64_t seq, const Ledger__Events__Event *ev);
ledger_err proj_credits_get_kv(proj *p, proj_kv *kv, const char *firm_id, Ledger__State__Credits **out);
ledger_err proj_preferences_get_kv(proj *p, proj_kv *kv, const char *firm_id, Ledger__State__Preferences *out);
bool proj_is_platform_command(const Ledger__Api__Request *req);
ledger_err proj_decide_platform(proj_emitter *em, const Ledger__Api__Request *req);
void proj_query_platform(proj *p, MDB_txn *txn, const proj_actor *actor, int64_t now_us,
                         const Ledger__Api__Request *req, Ledger__Api__Reply *reply, proj_arena *arena);
ledger_err proj_credits_get(proj *p, MDB_txn *txn, const char *firm_id, Ledger__State__Credits **out);
ledger_err proj_preferences_get(proj *p, MDB_txn *txn, const char *firm_id, Ledger__State__Preferences *out);
/* Reserves credits for a collection (CreditsReserved) if the firm has them; else sets
 * INSUFFICIENT_CREDITS and returns with *ok false. Then raises CREDITS_LOW alerts. */
ledger_err proj_credits_reserve(proj_emitter *em, const char *firm_id, const char *collection_id, uint64_t credits,
                                bool *ok);
/* Releases what a collection reserved and did not use (CreditsReleased), if anything. */
ledger_err proj_credits_release(proj_emitter *em, const Ledger__State__Collection *c,
                                Ledger__Events__CollectionState reason);
/* Raises an alert for subscriber (AlertRaised) unless one was raised for the occasion already,
 * or the subscriber has no subscription of the kind. */
ledger_err proj_alert_raise(proj *p, ledger_txn *t, const char *actor, const char *request_id, const char *firm_id,
                            const char *subscriber, Ledger__Events__AlertKind kind, const char *occasion,
                            const char *message);
/* Alerts that time raises (delegations and collections expiring within N days). */
ledger_err proj_alerts_due(proj *p, ledger_txn *t, size_t max, size_t *count);

#endif
