/* audit.h: what the files of ledger-audit share. Private to replay-tools/. */
#ifndef REPLAY_TOOLS_AUDIT_H
#define REPLAY_TOOLS_AUDIT_H

#include "ledger.h"
#include "projections.h"
#include "tlog.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>

#define AUDIT_EXIT_BAD        1
#define AUDIT_EXIT_USAGE      2
#define AUDIT_EXIT_UNREADABLE 3

/* The payload's field name in events.proto ("document_signed", ...). */
const char *audit_event_kind(const Ledger__Events__Event *ev);

/* `prove`: exactly one of document (hex SHA-256), file (a path to hash) or seq (not 0). The
 * chain is verified from event 1 to the head first. Returns an exit status. */
int audit_prove(const char *dir, bool json, const char *document, const char *file, uint64_t seq);

/* `export` (exports.c): what = "collections" (NULL), "delegations" (needs firm), "subject" (needs
 * subject) or "log"; events of firm (NULL: every firm) committed in [from_us, to_us], into path
 * (NULL: stdout). Returns an exit status. */
int audit_export(const char *dir, const char *what, const char *firm, const char *subject, int64_t from_us,
                 int64_t to_us, const char *path);

/* Opens dir read-only, begins a read transaction and verifies the chain from event 1; prints
 * why and returns an exit status when it cannot or the chain is broken (then nothing is open). */
int audit_open_verified(const char *dir, ledger **l, MDB_txn **txn, ledger_verify_result *v);

/* A data directory as the commands that prove from it hold it: open read-only, in one read
 * transaction, its chain verified from event 1 (audit_open_verified). */
typedef struct audit_store {
	ledger *l;
	MDB_txn *txn;
	ledger_verify_result verified;
} audit_store;

/* audit_open_verified into s; an exit status (s is open only when it is 0). */
int audit_store_open(const char *dir, audit_store *s);
/* Ends the read transaction and closes the ledger. */
void audit_store_close(audit_store *s);

/* ----- text (text.c) ----- */

/* 2026-11-29T11:24:21.123456Z: UTC to the microsecond. */
#define AUDIT_ISO_TIME_BYTES 40
void audit_iso_time_us(int64_t us, char out[AUDIT_ISO_TIME_BYTES]);
/* The instant us in Paris time (docs/paris-time.md): strftime's format (at most 31 bytes out),
 * then before_offset and the offset to UTC, "+01:00" or "+02:00". */
#define AUDIT_PARIS_TIME_BYTES 64
void audit_paris_time(int64_t us, const char *format, const char *before_offset, char out[AUDIT_PARIS_TIME_BYTES]);
/* s[0, n) as a JSON string on out: quotes, backslashes and control characters escaped. */
void audit_json_string(FILE *out, const char *s, size_t n);
/* A whole file of at most max bytes, NUL-terminated (the caller frees it); NULL with a message. */
char *audit_read_text(const char *path, size_t max, size_t *bytes);

/* ----- documents (documents.c) ----- */

typedef struct audit_documents_result {
	uint64_t missing_seq; /* the first event naming a document that is not stored (0: none) */
	char missing[65];     /* that document's hash, hex */
	uint64_t orphans;     /* stored documents no event names */
	char orphan[65];      /* the first of them, hex */
} audit_documents_result;

/* Every document an event names is stored (else AUDIT_EXIT_BAD, naming the first); counts the
 * stored documents no event names. */
int audit_documents_check(ledger *l, MDB_txn *txn, audit_documents_result *out);

/* ----- the transparency log (transparency.c) ----- */

struct tlog_verifier;
/* Reads a C2SP verifier key file; prints why not. */
bool audit_load_vkey(const char *path, struct tlog_verifier *out);

typedef struct audit_tree_result {
	uint64_t size;            /* the tree's size (the head seq) */
	char root[65];            /* its root, hex */
	char key_file[4096];      /* the log key used */
	char origin[256];         /* the latest checkpoint's origin */
	uint64_t checkpoint_size; /* the latest checkpoint's size (0: none) */
	uint64_t kept;            /* kept checkpoints verified */
	uint64_t since_size;      /* --since: the checkpoint's size */
	char why[512];            /* on failure */
} audit_tree_result;

/* Every stored subtree against the records, the latest and every kept checkpoint against the
 * log key (key_path, else DIR/keys/log.vkey) and the tree, and since_path (may be NULL): a
 * checkpoint held outside that must be a prefix of the log. Returns an exit status. */
int audit_verify_tree(ledger *l, MDB_txn *txn, const char *dir, const char *key_path, const char *since_path,
                      audit_tree_result *out);
/* `checkpoint`: prints the latest signed checkpoint after checking it. */
int audit_checkpoint(const char *dir, const char *key_path, bool json);
/* `prove --seq N --tlog-proof`: a C2SP tlog-proof of record seq into output (NULL: stdout), against
 * the checkpoint in checkpoint_path (NULL: the latest one). */
int audit_tlog_proof(const char *dir, const char *key_path, uint64_t seq, const char *checkpoint_path,
                     const char *output);
/* `verify-proof`: a tlog-proof file against the log key and the witnesses' keys, offline. */
int audit_verify_proof(const char *path, const char *key_path, const char *const *witnesses, size_t witness_count,
                       bool json);
/* A tlog-proof of a ledger record, checked in memory (text is modified: lines are split). */
typedef struct audit_proof_result {
	uint8_t record[LEDGER_RECORD_HEADER_BYTES + LEDGER_EVENT_BYTES_MAX];
	size_t record_bytes;
	ledger_record parsed; /* points into record */
	uint64_t seq;
	tlog_checkpoint checkpoint;
} audit_proof_result;
bool audit_proof_check(char *text, size_t bytes, const struct tlog_verifier *keys, size_t witness_count,
                       audit_proof_result *out, char *why, size_t why_cap);
/* The log key (keys[0]) and the witnesses' keys (keys[1..]); prints why not. */
bool audit_load_keys(const char *key_path, const char *const *witnesses, size_t witness_count,
                     struct tlog_verifier *keys, const char *who);
/* `evidence` and `verify-evidence` (evidence.c). */
int audit_evidence(const char *dir, const char *key_path, const char *firm, const char *collection,
                   const char *checkpoint_path, const char *output);
int audit_verify_evidence(const char *path, const char *key_path, const char *const *witnesses, size_t witness_count,
                          bool json);
/* `witness-key`: creates a witness key file and prints its verifier key. */
int audit_witness_key(const char *name, const char *path);
/* `witness`: checks the log grew from the state's checkpoint and cosigns the latest one. */
int audit_witness(const char *dir, const char *key_path, const char *witness_key, const char *state_path, bool json);

#endif
