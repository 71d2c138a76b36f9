/*
 * commands.h: the commands and queries (requests -> events, state -> replies), private to
 * projections/. The only part of the domain that knows the RPC schema (api.proto); it reads
 * the projections through read_model.h and changes them only by emitting events, which the
 * folds apply.
 */
#ifndef PROJECTIONS_COMMANDS_H
#define PROJECTIONS_COMMANDS_H

#include "projections.h"
#include "read_model.h"

/* The RPC's error codes and the collections' states, by their short names. */
#define ERROR_CODE(name)       LEDGER__API__ERROR_CODE__##name
#define COLLECTION_STATE(name) LEDGER__EVENTS__COLLECTION_STATE__STATE_##name

/* ----- emitting events (decide.c) ----- */

/* An event whose payload is the oneof member `member` (case CASE: the suffix of its
 * LEDGER__EVENTS__EVENT__PAYLOAD_ constant) pointing at payload. Its envelope is left for
 * proj_emit to fill. */
#define PROJ_EVENT(CASE, member, payload)                                                                              \
	((Ledger__Events__Event){.base = PROTOBUF_C_MESSAGE_INIT(&ledger__events__event__descriptor),                  \
	                         .payload_case = LEDGER__EVENTS__EVENT__PAYLOAD_##CASE,                                \
	                         .member = (payload)})

/* Appends ev (filling its envelope: time, actor, firm, request id) and folds its stored bytes.
 * *seq and hash (may be NULL) receive the new record's. An LMDB failure poisons the batch. */
ledger_err proj_emit(proj *p, ledger_txn *t, const char *actor, const char *request_id, const char *firm_id,
                     Ledger__Events__Event *ev, uint64_t *seq, uint8_t hash[LEDGER_HASH_BYTES]);

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

/* The address a query is about: asked, normalised, or the actor's own when asked is empty.
 * Sets the reply's INVALID_ARGUMENT error on field and returns false if it is no address. */
bool proj_query_subject(const proj_actor *actor, const char *asked, const char *field,
                        char subject[PROJ_EMAIL_BYTES_MAX + 1], Ledger__Api__Reply *reply, proj_arena *arena);

/* ----- registration and personal data (registration_commands.c, personal_data.c) ----- */
ledger_err proj_decide_registration(proj *p, ledger_txn *t, const proj_actor *actor, const char *request_id,
                                    const Ledger__Api__RegistrationRecord *c, const proj_issued *issued,
                                    Ledger__Api__Reply *reply, proj_arena *arena, uint64_t *seq,
                                    uint8_t hash[LEDGER_HASH_BYTES]);
ledger_err proj_decide_erasure(proj *p, ledger_txn *t, const proj_actor *actor, const char *request_id,
                               const Ledger__Api__SubjectErase *c, Ledger__Api__Reply *reply, proj_arena *arena,
                               uint64_t *seq, uint8_t hash[LEDGER_HASH_BYTES]);
/* ----- certificates (certificate_commands.c) ----- */
ledger_err proj_decide_certificate_revoke(proj_emitter *em, const Ledger__Api__CertificateRevoke *c);
ledger_err proj_decide_seal_issue(proj_emitter *em, const Ledger__Api__SealIssue *c, const proj_issued *issued);
/* FirmSirenSet (firm_siren.c): platform role, a valid SIREN, an existing firm without one. */
ledger_err proj_decide_firm_siren(proj_emitter *em, const Ledger__Api__FirmSirenSet *c);
/* Revokes subject's registration certificate, if any and not revoked: superseded (a new one is
 * issued) or cessationOfOperation (erasure). */
ledger_err proj_revoke_subject(proj *p, ledger_txn *t, const char *actor, const char *request_id, const char *subject,
                               bool superseded);
/* Keeps issued's DER beside the log and emits KeyCreated of kind for owner. */
ledger_err proj_record_issued(proj *p, ledger_txn *t, const char *actor, const char *request_id, const char *firm_id,
                              int kind, const char *owner, const proj_issued *issued);
void proj_query_registration(proj *p, MDB_txn *txn, const proj_actor *actor, const Ledger__Api__RegistrationStatus *q,
                             Ledger__Api__Reply *reply, proj_arena *arena);
#define PROJ_PERSONAL_SEALED_BYTES_MAX 1024u /* a sealed datum: nonce, ciphertext and tag */
/* Seals plain under subject's key (beside the log, drawing the nonce from the caller's random
 * source) and fills ref, whose sha256 points at hash; opens it again (LEDGER_END once erased). */
ledger_err proj_personal_seal(proj *p, MDB_txn *txn, const char *subject, const char *plain,
                              Ledger__Events__SealedRef *ref, uint8_t hash[32]);
ledger_err proj_personal_open(proj *p, MDB_txn *txn, const char *subject, const uint8_t hash[32], char *plain,
                              size_t plain_bytes);
/* Destroys the subject's key and every sealed datum of theirs. */
ledger_err proj_personal_shred(proj *p, MDB_txn *txn, const char *subject);
/* The personal data of a registration's latest identity verification, opened. */
typedef struct proj_identity {
	char phone[20];
	char id_document_reference[129];
	char given_name[PROJ_PERSON_NAME_BYTES_MAX + 1]; /* "" if verified before the names were asked */
	char surname[PROJ_PERSON_NAME_BYTES_MAX + 1];
} proj_identity;
/* Opens r's identity datum into out (wipe it with sodium_memzero after use). LEDGER_END when
 * there is none to open: no verification, erased, or no personal-data key; LEDGER_ERR_CORRUPT
 * if it does not read as one. */
ledger_err proj_identity_open(proj *p, MDB_txn *txn, const Ledger__State__Registration *r, proj_identity *out);
/* "+33 6 12 34 56 78" -> "+33612345678"; false if not a plus and 8 to 15 digits. */
bool proj_phone_normalise(const char *in, char out[20]);

/* ----- collections (collection_*.c) ----- */
bool proj_is_collection_command(const Ledger__Api__Request *req);
ledger_err proj_decide_collection(proj_emitter *em, const Ledger__Api__Request *req, const proj_upload *upload);
void proj_query_collection(proj *p, MDB_txn *txn, const proj_actor *actor, int64_t now_us,
                           const Ledger__Api__Request *req, Ledger__Api__Reply *reply, proj_arena *arena);
/* Expiries and automatic reminders that are due at t's time (at most max events). */
ledger_err proj_collections_due(proj *p, ledger_txn *t, size_t max, size_t *count);
/* The service's side of a collection's timers: expire it, or remind its signers (if it still
 * runs), as actor "ledgerd". */
ledger_err proj_collection_expire(proj *p, ledger_txn *t, const char *firm_id, const char *collection_id);
ledger_err proj_collection_remind(proj *p, ledger_txn *t, const char *firm_id, const char *collection_id);
/* Ends a collection whose every signature is recorded (actor "ledgerd"). */
ledger_err proj_collection_complete(proj *p, ledger_txn *t, Ledger__State__Collection *c);
/* True when every signer (the seal, for a seal collection) has signed every document. */
bool proj_collection_all_signed(const Ledger__State__Collection *c);
Ledger__Api__CollectionSummary *proj_collection_summary(const Ledger__State__Collection *c, proj_arena *arena);
/* Builds the view of a collection for a reply, in arena; external signers' identities are opened
 * from the sealed store in txn ("effacé" once erased). */
Ledger__Api__CollectionView *proj_collection_view(proj *p, MDB_txn *txn, const Ledger__State__Collection *c,
                                                  proj_arena *arena);

/* ----- platform (platform_commands.c, platform_queries.c, contacts_export.c) ----- */
/* The contacts base of firm_id as CSV into reply (docs/platform.md#contacts); the caller has
 * authorised the request. External signers' identities are opened from the sealed store. */
void proj_contacts_export(proj *p, MDB_txn *txn, const char *firm_id, Ledger__Api__Reply *reply, proj_arena *arena);
bool proj_is_platform_command(const Ledger__Api__Request *req);
ledger_err proj_decide_platform(proj_emitter *em, const Ledger__Api__Request *req);
void proj_query_platform(proj *p, MDB_txn *txn, const proj_actor *actor, int64_t now_us,
                         const Ledger__Api__Request *req, Ledger__Api__Reply *reply, proj_arena *arena);
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

/* ----- timed indexes (expiry.c) ----- */
/* An index whose keys start with an instant (8 bytes, big-endian, microseconds): the timers,
 * the expiries. Copies out up to max entries due at now_us (their instant not after it), in
 * instant order: take(list, i, rest, rest_bytes) fills list's i-th entry from what follows the
 * instant, or returns false if the key is malformed, which ends the scan there. *n gets how
 * many were taken. The keys are copied because acting on an entry changes the index. Returns
 * an LMDB failure, else LEDGER_OK. */
typedef bool (*proj_due_take)(void *list, size_t i, const char *rest, size_t rest_bytes);
ledger_err proj_due_each(MDB_txn *txn, MDB_dbi dbi, int64_t now_us, proj_due_take take, void *list, size_t max,
                         size_t *n);

#endif
