/*
 * read_model.h: the typed reads of the projections, shared by the folds (over a proj_kv) and
 * by the commands and queries (over their LMDB transaction), and the questions the state
 * answers (is a delegation live, whose turn is it). Private to projections/. Knows the state
 * schema, never the RPC schema.
 *
 * Lookups return LEDGER_END when the key is absent, LEDGER_ERR_CORRUPT when the value does not
 * unpack, else an LMDB failure. Unless an allocator is given, the caller frees *out with the
 * type's ..._free_unpacked(*out, NULL).
 */
#ifndef PROJECTIONS_READ_MODEL_H
#define PROJECTIONS_READ_MODEL_H

#include "collection_states.h"
#include "fold.h"

/* The raw value under key, in txn. *v points into LMDB: read it before txn writes or ends.
 * LEDGER_END if absent, which a key of 0 or over PROJ_KV_KEY_BYTES_MAX bytes always is. */
ledger_err proj_get_raw(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t key_bytes, MDB_val *v);

/* ----- accounts, firms, delegations ----- */
ledger_err proj_firm_get(proj *p, MDB_txn *txn, const char *firm_id, Ledger__State__Firm **out);
ledger_err proj_account_get(proj *p, MDB_txn *txn, const char *email, Ledger__State__Account **out);
ledger_err proj_delegation_get(proj *p, MDB_txn *txn, const char *firm_id, const char *who, Ledger__Events__Right right,
                               Ledger__State__Delegation **out);
ledger_err proj_delegation_get_kv(proj *p, proj_kv *kv, const char *firm_id, const char *who,
                                  Ledger__Events__Right right, Ledger__State__Delegation **out);
/* True if `who` holds right `bit` in firm at now_us; `until` (may be NULL) gets its expiry. */
bool proj_delegation_live(proj *p, MDB_txn *txn, const char *firm_id, const char *who, unsigned bit, int64_t now_us,
                          char until[11]);
/* The mask of rights held at now_us; expired[] gets the latest expiry date among those that
 * have lapsed ("" if none). */
unsigned proj_delegations_held(proj *p, MDB_txn *txn, const char *firm_id, const char *who, int64_t now_us,
                               char expired[11]);

/* ----- registrations ----- */
ledger_err proj_registration_get(proj *p, MDB_txn *txn, const char *subject, Ledger__State__Registration **out);
ledger_err proj_registration_get_kv(proj *p, proj_kv *kv, const char *subject, Ledger__State__Registration **out);
/* Every step done and the certificate not expired at now_us; else false and why. */
bool proj_registration_complete(proj *p, MDB_txn *txn, const char *subject, int64_t now_us, char *why,
                                size_t why_bytes);

/* ----- collections ----- */
/* allocator may be NULL (then free *out with ledger__state__collection__free_unpacked). */
ledger_err proj_collection_get(proj *p, MDB_txn *txn, const char *firm_id, const char *collection_id,
                               const ProtobufCAllocator *allocator, Ledger__State__Collection **out);
ledger_err proj_collection_get_kv(proj *p, proj_kv *kv, const char *firm_id, const char *collection_id,
                                  const ProtobufCAllocator *allocator, Ledger__State__Collection **out);
/* The same into a new arena of its own, *arena, for a caller that reads one collection and
 * drops it: *out lives as long as *arena, which the caller frees (proj_arena_free) whatever
 * the result. *arena is NULL with LEDGER_ERR_NOMEM when none could be had. */
ledger_err proj_collection_get_arena(proj *p, MDB_txn *txn, const char *firm_id, const char *collection_id,
                                     proj_arena **arena, Ledger__State__Collection **out);
ledger_err proj_collection_get_arena_kv(proj *p, proj_kv *kv, const char *firm_id, const char *collection_id,
                                        proj_arena **arena, Ledger__State__Collection **out);
/* Calls visit for each collection of the firm, in id order, unpacked with alloc; stops when it
 * returns false. */
ledger_err proj_collections_each(proj *p, MDB_txn *txn, const char *firm_id, const ProtobufCAllocator *alloc,
                                 bool (*visit)(void *ctx, Ledger__State__Collection *c), void *ctx);

/* ----- platform ----- */
ledger_err proj_credits_get(proj *p, MDB_txn *txn, const char *firm_id, Ledger__State__Credits **out);
ledger_err proj_credits_get_kv(proj *p, proj_kv *kv, const char *firm_id, Ledger__State__Credits **out);
/* *out is filled in place (defaults when absent); its strings point into the store. */
ledger_err proj_preferences_get(proj *p, MDB_txn *txn, const char *firm_id, Ledger__State__Preferences *out);
ledger_err proj_preferences_get_kv(proj *p, proj_kv *kv, const char *firm_id, Ledger__State__Preferences *out);

#endif
