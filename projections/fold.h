/*
 * fold.h: the folds' side of the domain (events -> state), private to projections/. What is
 * here knows the event and state schemas and never the RPC schema: the folds library is
 * compiled with api.pb-c.h made unincludable (projections/CMakeLists.txt).
 */
#ifndef PROJECTIONS_FOLD_H
#define PROJECTIONS_FOLD_H

#include "assertion.h"
#include "domain.h"
#include "kv.h"
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
	MDB_dbi contacts;             /* firm id \0 signer id -> state.Contact */
	MDB_dbi certificates;         /* serial (hex) -> state.Certificate (certificate_folds.c) */
	int64_t alerts_scanned_at_us; /* not state: when proj_expire_due last looked for timed alerts */
	uint64_t rebuild_hash_seed;   /* proj_open's: for a rebuild's in-memory tables */
	uint8_t personal_key[PROJ_PERSONAL_KEY_BYTES];
	bool has_personal_key;
	proj_random_fill random_fill; /* the caller's randomness: subject keys and nonces */
};

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

ledger_err proj_fold_registration(proj *p, proj_kv *kv, uint64_t seq, const Ledger__Events__RegistrationRecorded *e);
ledger_err proj_fold_erasure(proj *p, proj_kv *kv, uint64_t seq, const Ledger__Events__SubjectErased *e);
/* Certificates and keys (certificate_folds.c). */
ledger_err proj_fold_key_created(proj *p, proj_kv *kv, const Ledger__Events__KeyCreated *e);
ledger_err proj_fold_key_destroyed(proj *p, proj_kv *kv, const Ledger__Events__KeyDestroyed *e);
ledger_err proj_fold_certificate_revoked(proj *p, proj_kv *kv, int64_t at_us,
                                         const Ledger__Events__CertificateRevoked *e);
ledger_err proj_certificate_get_kv(proj *p, proj_kv *kv, const char *serial, Ledger__State__Certificate **out);
ledger_err proj_fold_collection(proj *p, proj_kv *kv, uint64_t seq, const Ledger__Events__Event *ev);
ledger_err proj_fold_platform(proj *p, proj_kv *kv, uint64_t seq, const Ledger__Events__Event *ev);

/* ----- keys (store.c) ----- */

/* Builds the key "first\0second" into buf (cap bytes); returns its length, 0 if it does not fit. */
size_t proj_key_pair(char *buf, size_t cap, const char *first, const char *second);
/* Builds the key "first\0second\0<tag byte>" into buf: a delegation's (firm, collaborator,
 * right in delegations; collaborator, firm, right in received), an alert subscription's (firm,
 * subscriber, kind). Returns its length, 0 if it does not fit. */
size_t proj_key_pair_tagged(char *buf, size_t cap, const char *first, const char *second, uint8_t tag);
#define PROJ_KEY_BYTES_MAX (PROJ_EMAIL_BYTES_MAX + PROJ_FIRM_ID_BYTES_MAX + 4)

#define PROJ_DAY_US                  (86400 * INT64_C(1000000))
#define PROJ_COLLECTION_ID_BYTES_MAX 24u /* "c" and a seq */
/* A seal's "signer" in the signer's queue and in signed_by: "seal:" and the firm id, apart from
 * any email. */
#define PROJ_SEAL_SIGNER_PREFIX "seal:"

#endif
