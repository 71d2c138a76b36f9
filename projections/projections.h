/*
 * projections.h: the domain's public API. domain.h (the store, the folds, replay, rights,
 * validation, Paris time) and, on top of it, the commands and queries, the only part of the
 * domain that knows the RPC schema (api.proto).
 *
 * The two directions:
 *   proj_execute(): command -> (refusal | events appended through the ledger + folded)
 *   proj_apply():   one committed event's bytes -> projection updates (domain.h)
 * proj_execute() folds its own events with proj_apply() from their stored bytes, so the live
 * projections and a replay from event 1 run the same code over the same bytes.
 */
#ifndef PROJECTIONS_PROJECTIONS_H
#define PROJECTIONS_PROJECTIONS_H

#include "domain.h"

#include "api.pb-c.h"

/* The authenticated caller of a command. */
typedef struct proj_actor {
	const char *subject; /* normalised email, or "platform" */
	bool platform;       /* the platform role */
} proj_actor;

/*
 * Decides a command (req->body_case is a command) inside the committer's transaction t.
 * Refused: reply->error is set, nothing is written, LEDGER_OK is returned. Accepted: its
 * events are appended and folded, reply holds the result (allocated in arena), reply->seq and
 * reply->hash the last event's. Returns an error only when LMDB failed (the batch is retried).
 */
ledger_err proj_execute(proj *p, ledger_txn *t, const proj_actor *actor, const char *request_id,
                        const Ledger__Api__Request *req, Ledger__Api__Reply *reply, proj_arena *arena);

/*
 * Writes a DelegationExpired event (actor "ledgerd") for each delegation whose expiry instant
 * is at or before the batch's time, oldest first, at most max of them; *count receives how
 * many. Run by ledgerd at start and periodically, so expiry reaches the log even after a
 * restart that missed it. Returns an error only when LMDB failed.
 */
ledger_err proj_expire_due(proj *p, ledger_txn *t, size_t max, size_t *count);
#define PROJ_EXPIRE_BATCH_MAX 1000u

/*
 * Records a refused command as an AccessDenied security event (actor, firm, command, the
 * error code and reason given, and how many refusals of the actor were suppressed since the
 * last one written). The caller bounds how often (api/server.c). Touches no reply.
 */
ledger_err proj_record_denial(proj *p, ledger_txn *t, const proj_actor *actor, const char *request_id,
                              const Ledger__Api__Request *req, const Ledger__Api__Error *error, uint32_t suppressed);

/* The firm a request concerns, "" if none: what a security event is filed under. */
const char *proj_request_firm(const Ledger__Api__Request *req);

/* Answers a query (req->body_case is a query) in a read transaction, at time now_us. */
void proj_query(proj *p, MDB_txn *txn, const proj_actor *actor, int64_t now_us, const Ledger__Api__Request *req,
                Ledger__Api__Reply *reply, proj_arena *arena);

/*
 * Calls visit() for every right live at at_us in firm_id (every firm if firm_id is NULL or ""),
 * firm by firm in id order: once per firm with right RIGHT_UNSPECIFIED for its EC (who holds
 * every right), then once per delegated right. Stops early if visit returns false. A state
 * that does not unpack (LEDGER_ERR_CORRUPT) or a failing read ends the visit with that error:
 * a partial answer is never reported as complete.
 */
typedef bool (*proj_rights_visit)(void *ctx, const char *firm_id, const char *ec_email, const char *who,
                                  Ledger__Events__Right right, const char *expires_on);
ledger_err proj_rights_at(proj *p, MDB_txn *txn, const char *firm_id, int64_t at_us, proj_rights_visit visit,
                          void *ctx);

/* True when the body of req is a command (writes), false for a query. */
bool proj_is_command(const Ledger__Api__Request *req);

/* Sets reply->error (allocated in arena). Returns reply for chaining. */
Ledger__Api__Reply *proj_error(Ledger__Api__Reply *reply, proj_arena *arena, Ledger__Api__ErrorCode code,
                               const char *field, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* ----- personal data (projections/personal_data.c) ----- */
/* The service key under which subjects' data keys are wrapped (DIR/keys/personal.key), and the
 * randomness new subject keys and nonces are drawn from (the domain draws none of its own).
 * Without them, identity verification (which carries personal data) is refused. */
void proj_set_personal_key(proj *p, const uint8_t key[PROJ_PERSONAL_KEY_BYTES], proj_random_fill random_fill);

/* ----- collections (docs/collections.md) ----- */

/* What ledgerd learnt of an uploaded PDF before deciding DocumentAdd (off the committer). */
typedef struct proj_upload {
	uint8_t sha256[LEDGER_HASH_BYTES];
	uint32_t pages;
	const float *page_sizes; /* width, height of each page, in points */
} proj_upload;

/* proj_execute for a DocumentAdd whose content was inspected; proj_execute refuses one
 * without (INTERNAL): the projections do not parse PDFs. */
ledger_err proj_execute_upload(proj *p, ledger_txn *t, const proj_actor *actor, const char *request_id,
                               const Ledger__Api__Request *req, const proj_upload *upload, Ledger__Api__Reply *reply,
                               proj_arena *arena);

/*
 * Who signer (as the events of collection_id name them) is, for a document that shows people:
 * "Name <email>" for an internal signer or an external one whose identity still opens, "effacé"
 * for an external signer whose data was erased. False (out "") when the collection or the
 * signer is not found. ledgerd's evidence bundle names signers with it (docs/evidence.md).
 */
bool proj_signer_describe(proj *p, MDB_txn *txn, const char *firm_id, const char *collection_id, const char *signer,
                          char *out, size_t out_bytes);
/*
 * May the actor see collection_id of firm_id now, as CollectionShow would let them (any right in
 * the firm)? True with *created_at_us, when the collection was created (none of its events is
 * older). False with the reply's error set: INVALID_ARGUMENT (a bad firm id), NOT_FOUND,
 * PERMISSION_DENIED, INTERNAL. ledgerd asks before it builds a CollectionEvidence bundle.
 */
bool proj_may_see_collection(proj *p, MDB_txn *txn, const proj_actor *actor, int64_t now_us, const char *firm_id,
                             const char *collection_id, int64_t *created_at_us, Ledger__Api__Reply *reply,
                             proj_arena *arena);

/*
 * Would the actor's DocumentAdd pass the rights and state checks, as things stand in txn? ledgerd
 * asks before it spends time and memory opening an untrusted PDF; when false, the command goes
 * to the committer uninspected, which refuses it with the right error (and records a refusal).
 */
bool proj_may_upload(proj *p, MDB_txn *txn, const proj_actor *actor, int64_t now_us, const Ledger__Api__DocumentAdd *d);

/*
 * Would the actor's DelegationImport pass the rights check (the actor is the EC of an existing
 * firm), as things stand in txn? ledgerd asks before it reads the imported file; when false,
 * the file is never parsed and the committer refuses the grant with the right error (and
 * records the refusal).
 */
bool proj_may_import(proj *p, MDB_txn *txn, const proj_actor *actor, const char *firm_id);

/* ----- certificates and keys (certificate_commands.c, docs/signer.md#certificates) ----- */

#define PROJ_SERIAL_BYTES 41u /* a certificate serial in hex and its NUL */

/* A certificate ledgerd's CA issued off the committer, for the command that records it. */
#define PROJ_KEY_ID_BYTES 64

typedef struct proj_issued {
	char serial[PROJ_SERIAL_BYTES];    /* upper-case hex */
	uint8_t sha256[LEDGER_HASH_BYTES]; /* of the DER */
	const uint8_t *der;                /* kept beside the log under sha256 (NULL: not kept) */
	size_t der_bytes;
	int64_t not_after_s;
	/* Where its key lives, as KeyCreated/KeyDestroyed name it ("token:<label>", "file:<SERIAL>"),
	 * or "" for "file:<SERIAL>". */
	char key_id[PROJ_KEY_ID_BYTES];
} proj_issued;

/* proj_execute for a command that records a certificate issued for it (RegistrationRecord's
 * certificate_issued step, SealIssue); proj_execute decides those without one, and refuses them
 * (FAILED_PRECONDITION: no CA). */
ledger_err proj_execute_issued(proj *p, ledger_txn *t, const proj_actor *actor, const char *request_id,
                               const Ledger__Api__Request *req, const proj_issued *issued, Ledger__Api__Reply *reply,
                               proj_arena *arena);

/* Who a certificate is for, as the ledger records them (ETSI EN 319 412-2 and -3). */
typedef struct proj_certificate_for {
	bool seal;
	char id[PROJ_EMAIL_BYTES_MAX + 1]; /* the person's email, or the firm's id */
	/* the commonName: "given_name surname" for a person, the firm's name for a seal */
	char name[2 * PROJ_PERSON_NAME_BYTES_MAX + 2];   /* at least PROJ_NAME_BYTES_MAX + 1 */
	char given_name[PROJ_PERSON_NAME_BYTES_MAX + 1]; /* a person's, as verified; "" for a seal */
	char surname[PROJ_PERSON_NAME_BYTES_MAX + 1];
	/* a seal's "NTRFR-<SIREN>" (a firm without a SIREN gets no seal: SealIssue is refused) */
	char organization_identifier[PROJ_ORGANIZATION_IDENTIFIER_BYTES];
} proj_certificate_for;

/* Who the certificate a command would record is for: a RegistrationRecord's subject (their
 * email, and the given name and surname of their latest identity verification), a FirmAdd's or
 * SealIssue's firm (its id, name and SIREN). False if there is no such account or firm, if the
 * person's verified names or the firm's SIREN are not on record (the decision refuses:
 * FAILED_PRECONDITION), or the command records no certificate. out holds personal data: wipe it after use. */
bool proj_certificate_subject(proj *p, MDB_txn *txn, const Ledger__Api__Request *req, proj_certificate_for *out);

/* What the ledger recorded of a certificate (KeyCreated, CertificateRevoked, KeyDestroyed). */
typedef struct proj_certificate {
	char owner[PROJ_EMAIL_BYTES_MAX + 1]; /* email, or firm id for a seal */
	char not_after[11];                   /* YYYY-MM-DD */
	int kind;                             /* Ledger__Events__KeyKind */
	bool revoked, destroyed;
	int64_t revoked_at_us;
	uint32_t reason_code; /* RFC 5280 CRLReason */
} proj_certificate;

/* The certificate of serial (canonical upper-case hex). LEDGER_END if the ledger has none. */
ledger_err proj_certificate_info(proj *p, MDB_txn *txn, const char *serial, proj_certificate *out);

/* Calls visit for every revoked certificate, in serial order, until it returns false. */
typedef bool (*proj_revoked_visit)(void *ctx, const char *serial, int64_t revoked_at_us, uint32_t reason_code);
ledger_err proj_revoked_each(proj *p, MDB_txn *txn, proj_revoked_visit visit, void *ctx);

/* The same, for the revoked certificates whose key is not destroyed yet (no KeyDestroyed). */
ledger_err proj_revoked_kept_each(proj *p, MDB_txn *txn, proj_revoked_visit visit, void *ctx);

/* Keeps issued's DER beside the log (when issued->der is set) and emits KeyCreated of kind (a
 * Ledger__Events__KeyKind) for owner, as actor with request_id, about firm_id (NULL: none). Used
 * by the commands that issue a certificate and by ledgerd's start (its own keys on record). */
ledger_err proj_record_issued(proj *p, ledger_txn *t, const char *actor, const char *request_id, const char *firm_id,
                              int kind, const char *owner, const proj_issued *issued);

/* The platform's seal the log records (KeyCreated KEY_PLATFORM_SEAL, no KeyDestroyed, not
 * revoked): the one whose certificate ends last, its serial and not_after (YYYY-MM-DD).
 * LEDGER_END if there is none. Scans the certificates table: called at start and by tools. */
ledger_err proj_platform_seal_current(proj *p, MDB_txn *txn, char serial[PROJ_SERIAL_BYTES], char not_after[11]);

/* Records KeyDestroyed (actor "ledgerd", request id "signer") for the key of a certificate the
 * table holds, with reason; nothing if the table has it destroyed already or does not hold it. */
ledger_err proj_record_key_destroyed(proj *p, ledger_txn *t, const char *serial, const char *key_id,
                                     const char *reason);

/* The RFC 5280 name of a CRLReason code, or NULL. */
const char *proj_revoke_reason_name(uint32_t code);

/* YYYY-MM-DD (UTC) of a time in seconds ("" if out of range). */
void proj_date_of_s(int64_t s, char out[11]);

/* A signature (or seal) the service owes: one document of one signer. */
typedef struct proj_sign_task {
	char firm_id[PROJ_FIRM_ID_BYTES_MAX + 1];
	char firm_name[PROJ_NAME_BYTES_MAX + 1];
	char collection_id[32];
	char signer[PROJ_EMAIL_BYTES_MAX +
	            1]; /* as events name them (email, or an external id); the firm id for a seal */
	char signer_email[PROJ_EMAIL_BYTES_MAX +
	                  1]; /* a person's email, opened for an external signer ("" once erased) */
	char signer_name[PROJ_NAME_BYTES_MAX + 1];
	/* An external signer's given name and surname, when SignerAdd gave them; else "". */
	char signer_given_name[4 * PROJ_PERSON_NAME_CHARS_MAX + 1];
	char signer_surname[4 * PROJ_PERSON_NAME_CHARS_MAX + 1];
	bool seal;
	bool external;
	uint8_t original_sha256[LEDGER_HASH_BYTES];
	uint8_t source_sha256[LEDGER_HASH_BYTES]; /* the version to sign */
	bool visible;                             /* a field places the signature */
	bool failure_recorded;                    /* the document shows a failed signature (not retried) */
	int signature_level; /* the firm's preference: a Ledger__Events__SignatureLevel (0: the default, B-LTA) */
	uint32_t page;       /* 1-based */
	float x0, y0, x1, y1;
} proj_sign_task;

/* The first signature owed, in queue order, for which skip (may be NULL) returns false: the
 * caller's way past tasks it has given up on. LEDGER_END when none. */
ledger_err proj_sign_next(proj *p, MDB_txn *txn, bool (*skip)(void *ctx, const proj_sign_task *task), void *skip_ctx,
                          proj_sign_task *task);

/* What the signer produced for a task. */
typedef struct proj_signed {
	uint8_t sha256[LEDGER_HASH_BYTES];
	const uint8_t *bytes;
	size_t bytes_count;
	const char *certificate_serial;
	const char *certificate_subject;
	const uint8_t *certificate_der; /* the signer's certificate */
	size_t certificate_der_bytes;
	const char *level; /* the PAdES baseline level produced: "B-B", "B-T" */
} proj_signed;

/*
 * Records a produced signature in t: stores the signed PDF, writes DocumentSigned (actor
 * "ledgerd") and, when it was the last one owed, the collection's completion. A task that no
 * longer matches the collection (cancelled meanwhile, or the document moved on) writes nothing
 * and sets *stale. Returns an error only when LMDB failed.
 */
ledger_err proj_sign_record(proj *p, ledger_txn *t, const proj_sign_task *task, const proj_signed *result, bool *stale);

/* Records that the service could not produce task's signature (SignatureFailed, actor "ledgerd"),
 * unless the task no longer holds (*stale). The signature stays owed. */
ledger_err proj_sign_failed(proj *p, ledger_txn *t, const proj_sign_task *task, const char *reason, bool *stale);

/* The serial of the certificate task signs with: the signer's registration's (a person), the
 * firm's seal's. LEDGER_END if there is none. External signers have none: theirs is one-shot. */
ledger_err proj_signing_serial(proj *p, MDB_txn *txn, const proj_sign_task *task, char serial[PROJ_SERIAL_BYTES]);

/* Records a one-shot key of an external signer: KeyCreated (with its certificate's serial and
 * not_after, not its DER) then KeyDestroyed, actor "ledgerd". destroyed false: the file could
 * not be removed, and the event says so. */
ledger_err proj_record_one_shot(proj *p, ledger_txn *t, const char *firm_id, const proj_issued *issued, bool destroyed);

/* ----- archive renewal (renewal.c, docs/signer.md#archive-renewal) ----- */

/* The version of a completed collection's document that a renewal re-time-stamps. */
typedef struct proj_renewal {
	char firm_id[PROJ_FIRM_ID_BYTES_MAX + 1];
	char collection_id[32];
	uint8_t original_sha256[LEDGER_HASH_BYTES];
	uint8_t source_sha256[LEDGER_HASH_BYTES]; /* its current version */
} proj_renewal;

/*
 * May the actor have q's document re-time-stamped, as things stand in txn? The firm's EC or the
 * platform (platform.firm_settings), a collection that exists and is completed, a document in it
 * (q's, or its only one). True with *out filled; false with the reply's error set:
 * INVALID_ARGUMENT (a bad firm id, a negative due_before_s, no document named among several),
 * NOT_FOUND (firm, collection, document), PERMISSION_DENIED, INVALID_TRANSITION (not
 * completed), INTERNAL.
 */
bool proj_renewal_check(proj *p, MDB_txn *txn, const proj_actor *actor, int64_t now_us,
                        const Ledger__Api__DocumentTimestampRenew *q, proj_renewal *out, Ledger__Api__Reply *reply,
                        proj_arena *arena);

/* What a renewal produced. Strings are the caller's. */
typedef struct proj_renewed {
	uint8_t sha256[LEDGER_HASH_BYTES];
	const uint8_t *bytes;
	size_t bytes_count;
	int64_t timestamp_time_s;
	const char *tsa_certificate_serial;
	int64_t tsa_not_after_s;
	const char *previous_tsa_certificate_serial;
	int64_t previous_tsa_not_after_s;
} proj_renewed;

/*
 * Records a renewal in t: stores the renewed PDF and writes DocumentTimestampRenewed by actor,
 * with *seq and hash (may be NULL) its record's. When the collection is no longer completed or
 * the document's current version is no longer r's source (another renewal came first), writes
 * nothing and sets *stale. Returns an error only when LMDB failed.
 */
ledger_err proj_renewal_record(proj *p, ledger_txn *t, const char *actor, const char *request_id, const proj_renewal *r,
                               const proj_renewed *result, bool *stale, uint64_t *seq, uint8_t hash[LEDGER_HASH_BYTES]);

#endif
