/*
 * domain.h: the half of the domain's public API that knows only the event and state schemas:
 * the projections' store, the folds (events -> state), replay, the rights matrix and the
 * checks on it, validation and Paris time. It never sees the RPC schema (api.proto):
 * projections.h adds the commands and queries on top of it.
 *
 * Pure C over LMDB transactions handed to it: it opens no file and no socket, reads no clock
 * and draws no randomness; time, seeds and random sources come in as arguments.
 */
#ifndef PROJECTIONS_DOMAIN_H
#define PROJECTIONS_DOMAIN_H

#include "ledger.h"

#include "events.pb-c.h"

#include <stdbool.h>
#include <stdint.h>

/* Limits (docs/rpc.md#limits). */
#define PROJ_EMAIL_BYTES_MAX         254u
#define PROJ_FIRM_ID_BYTES_MAX       64u
#define PROJ_NAME_BYTES_MAX          200u
#define PROJ_GRANT_COLLABORATORS_MAX 10000u /* as many as an imported list (IMPORT_ROWS_MAX) */
#define PROJ_LIST_ROWS_MAX           10000u
#define PROJ_EXPIRY_YEARS_MAX        10

/* ----- arena: owns everything a reply points to ----- */
typedef struct proj_arena proj_arena;
proj_arena *proj_arena_new(void);
void proj_arena_free(proj_arena *a);
/* Zeroed memory that lives as long as the arena; NULL when out of memory. */
void *proj_arena_alloc(proj_arena *a, size_t bytes);
char *proj_arena_strdup(proj_arena *a, const char *s);
/* A protobuf-c allocator over the arena: what it unpacks lives, and dies, with the arena. */
void proj_arena_allocator(proj_arena *a, ProtobufCAllocator *out);

/* ----- the projections' databases ----- */
typedef struct proj proj;
/*
 * Opens (creating unless the ledger is read-only) the projection databases. Writable: when
 * the stored projection schema differs from PROJ_SCHEMA_VERSION (a build that adds or changes a
 * projection), every projection is emptied and folded again from event 1 before this returns,
 * so the projections stay a function of the log. Call before the committer starts.
 * rebuild_hash_seed: as proj_replay_options.hash_seed, for that rebuild (draw it at random).
 */
ledger_err proj_open(ledger *l, uint64_t rebuild_hash_seed, proj **out);
/* Bump whenever a fold or a projection database changes. */
#define PROJ_SCHEMA_VERSION 12u
void proj_close(proj *p);
/* The names of the projection databases, NULL-terminated: what replay compares. */
extern const char *const proj_db_names[];

/* ----- replay: every projection folded again from event 1 (projections/replay.c) ----- */

/* Memory a replay may fold into before it writes what it has to the store and goes on over it
 * (slower, same result). The 1M-event benchmark log needs about 300 MB. */
#define PROJ_REPLAY_MEMORY_BYTES_DEFAULT ((size_t)1 << 30)

typedef struct proj_replay_options {
	bool as_of; /* fold only the events committed at or before as_of_us */
	int64_t as_of_us;
	size_t memory_bytes_max; /* 0: PROJ_REPLAY_MEMORY_BYTES_DEFAULT */
	bool one_thread;         /* decode on the calling thread too (default: on a second thread) */
	/* Keys the in-memory tables' hash: the caller draws it at random (libsodium), so
	 * that keys chosen by the events' authors cannot make the tables degenerate. Changes no
	 * output; 0 is a valid (if guessable) seed. */
	uint64_t hash_seed;
	/* The clocks the stats' timings are read from: the domain reads none itself. NULL: the
	 * timings stay 0. */
	const struct proj_replay_clock *clock;
} proj_replay_options;

/* What proj_replay measures its phases with. Each returns seconds from an arbitrary origin. */
typedef struct proj_replay_clock {
	double (*wall_s)(void);       /* a monotonic clock */
	double (*thread_cpu_s)(void); /* the CPU time of the calling thread */
} proj_replay_clock;

typedef struct proj_replay_stats {
	uint64_t events;          /* folded */
	uint64_t failed_seq;      /* the event that did not decode or fold, when LEDGER_ERR_CORRUPT */
	uint64_t writes;          /* transactions written: 1 when the projections fit in memory */
	uint64_t rows;            /* rows put, over every write */
	size_t memory_bytes_peak; /* of the in-memory projections */
	double fold_s, write_s;   /* wall time decoding and folding, and writing */
	double decode_cpu_s;      /* CPU time decoding events (on the second thread, unless one_thread) */
	double fold_cpu_s;        /* CPU time in the folds, decoding excluded */
} proj_replay_stats;

/*
 * Replaces every projection of p (in p's ledger) with the fold of events 1, 2, ... of `log`,
 * through the same folds as proj_apply(), into memory first; each database is then written once,
 * sorted (MDB_APPEND). log_txn is a read transaction of log, the snapshot folded (a caller
 * comparing with log's projections compares that snapshot); it is only read, on a second thread.
 * log_txn NULL: log is read in read transactions of this function's, and may then be p's own
 * ledger (proj_open's rebuild), which nothing else may append to meanwhile. p's ledger must be
 * writable and must not be log with a log_txn (LEDGER_ERR_INVALID).
 *
 * Written through ledger_commit_one: one transaction (one fsync, unless the store was opened
 * as a scratch) when the projections fit in memory_bytes_max, else one per time memory filled.
 * Only the last writes the schema version: after a crash, proj_open rebuilds again.
 * LEDGER_ERR_CORRUPT if an event does not decode or fold (stats->failed_seq names it), else
 * LEDGER_ERR_NOMEM or an LMDB failure. stats is always filled.
 */
ledger_err proj_replay(proj *p, ledger *log, MDB_txn *log_txn, const proj_replay_options *o, proj_replay_stats *stats);

/*
 * Folds one committed event (its stored bytes) into the projections, in txn.
 * LEDGER_ERR_CORRUPT if the bytes are not an Event this build knows; an LMDB failure as
 * ledger_mdb_err() maps it.
 */
ledger_err proj_apply(proj *p, MDB_txn *txn, uint64_t seq, const uint8_t *event, size_t bytes);

/* ----- personal data: its key and the randomness it is sealed with (set in projections.h) ----- */
#define PROJ_PERSONAL_KEY_BYTES 32u
/* Fills buf with cryptographically random bytes: libsodium's random buffer function fits. */
typedef void (*proj_random_fill)(void *buf, size_t bytes);

/* ----- registration steps (projections/registration.c) ----- */
/* "information_confirmed", "identity_verified", ...; NULL when unknown. */
const char *proj_step_name(Ledger__Events__RegistrationStep step);
Ledger__Events__RegistrationStep proj_step_parse(const char *name);

/* ----- rights (projections/rights.c) ----- */
typedef enum {
	PROJ_RIGHT_SIGN = 1u << 0,
	PROJ_RIGHT_LAUNCH = 1u << 1,
	PROJ_RIGHT_SEAL = 1u << 2,
	PROJ_RIGHT_PREPARE = 1u << 3,
} proj_right_bit;

/* The action's index in the matrix, or -1 if name is not a canonical action name. */
int proj_action_find(const char *name);
size_t proj_action_count(void);
const char *proj_action_name(size_t index);
/* The rights any one of which grants the action; 0 for EC-only actions. */
unsigned proj_action_rights(size_t index);
/* "sign", "launch", "seal", "prepare"; NULL for an unknown value. */
const char *proj_right_name(Ledger__Events__Right right);
/* Parses a right's name; RIGHT_UNSPECIFIED when unknown. */
Ledger__Events__Right proj_right_parse(const char *name);
unsigned proj_right_bit_of(Ledger__Events__Right right);

typedef enum { PROJ_CAN_ALLOWED, PROJ_CAN_DENIED, PROJ_CAN_NO_FIRM, PROJ_CAN_ERROR } proj_can_result;

/*
 * May `who` do action `action_index` in firm `firm_id` at now_us? Writes a one-line reason
 * (why allowed: which right, until when; why denied) into reason. Delegations past their
 * expiry never count, whether or not their expiry event has been written.
 */
proj_can_result proj_can(proj *p, MDB_txn *txn, const char *firm_id, const char *who, size_t action_index,
                         int64_t now_us, char *reason, size_t reason_bytes);

/* ----- validation (projections/validate.c) ----- */

/* Normalises an email (trim, lower case) into out (PROJ_EMAIL_BYTES_MAX + 1 bytes). Returns
 * false, with a reason, if it is not a plausible address. */
bool proj_email_normalise(const char *in, char *out, const char **why);
bool proj_firm_id_valid(const char *s);
/* Non-empty, at most PROJ_NAME_BYTES_MAX bytes, valid UTF-8, no control characters. */
bool proj_name_valid(const char *s);
/* At most bytes_max bytes (maybe none) of valid UTF-8 without control characters. */
bool proj_text_valid(const char *s, size_t bytes_max);
/* Valid UTF-8 (control characters allowed): what proto3 requires of a string field. */
bool proj_utf8_valid(const char *s);
/* Replaces, in place, each byte of s that is not part of a valid UTF-8 sequence with '?': for
 * text that echoes a request's bytes (an error message), or that a length limit cut. */
void proj_utf8_repair(char *s);

/* ----- a certificate subject's fields (projections/subject_fields.c) ----- */

#define PROJ_SIREN_DIGITS 9u
/* "NTRFR-" and the SIREN: a seal's organizationIdentifier (ETSI EN 319 412-1), and its NUL. */
#define PROJ_ORGANIZATION_IDENTIFIER_BYTES (6u + PROJ_SIREN_DIGITS + 1u)
/* A given name, a surname, and the two with a space between: RFC 5280's commonName bound. */
#define PROJ_PERSON_NAME_CHARS_MAX 64u
#define PROJ_PERSON_NAME_BYTES_MAX (4u * PROJ_PERSON_NAME_CHARS_MAX)

typedef enum {
	PROJ_SIREN_OK = 0,
	PROJ_SIREN_NOT_DIGITS, /* a character other than 0-9 */
	PROJ_SIREN_LENGTH,     /* digits, but not 9 of them */
	PROJ_SIREN_CHECKSUM,   /* 9 digits failing the Luhn check */
} proj_siren_status;

/* Whether s is a SIREN: 9 digits with the Luhn check the INSEE uses. Checked in this order:
 * non-digits, length, checksum. No normalisation (spaces are refused). */
proj_siren_status proj_siren_check(const char *s);
/* What a status means, for an error message. Static. */
const char *proj_siren_strerror(proj_siren_status status);

/* NULL if given_name and surname are both 1..PROJ_PERSON_NAME_CHARS_MAX characters of text
 * without control characters or outer spaces, and "given_name surname" fits a commonName (64
 * characters). Otherwise the reason, and the field at fault in *field. */
const char *proj_person_names_check(const char *given_name, const char *surname, const char **field);

/* ----- Paris time (projections/paris_time.c, docs/paris-time.md) -----
 * Computed from the EU summer-time rule, never from the process time zone: nothing here reads
 * TZ or the clock. */

/* Paris's offset from UTC at utc_s (seconds since the epoch): 3600 or 7200. */
int32_t proj_paris_offset_s(int64_t utc_s);
/* Parses YYYY-MM-DD (a day that exists, years 1970 to 9999); *end_us receives the first instant
 * after that day ends in Paris. False, leaving *end_us alone, for anything else. */
bool proj_date_end_us(const char *date, int64_t *end_us);
/* Today's date in Paris at now_us, shifted by years_ahead years (Feb 29 -> Feb 28). */
void proj_paris_date(int64_t now_us, int years_ahead, char out[11]);

/* ----- collections (projections/collections.c, docs/collections.md) ----- */
#define PROJ_COLLECTION_DOCUMENTS_MAX 50u
/* A consent rests on an authentication (a one-time code checked) at most this old. */
#define PROJ_CONSENT_AUTHENTICATION_AGE_US (15 * 60 * INT64_C(1000000))
/* Where a one-time code went, masked: "+33 6** ** ** 78", "m***@exemple.fr". */
#define PROJ_MASKED_DESTINATION_BYTES_MAX   64u
#define PROJ_COLLECTION_SIGNERS_MAX         50u
#define PROJ_COMMENT_BYTES_MAX              1000u
#define PROJ_COLLECTION_EXPIRY_DAYS_DEFAULT 15u
#define PROJ_COLLECTION_EXPIRY_DAYS_MAX     365u
#define PROJ_REMINDER_EVERY_DAYS_MAX        30u
#define PROJ_DOCUMENT_PAGES_MAX             2000u
#define PROJ_EXPIRING_SOON_US               (3 * 86400 * INT64_C(1000000)) /* the dashboard's "expiring soon" */

#endif
