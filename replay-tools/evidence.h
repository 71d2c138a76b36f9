/*
 * evidence.h: one collection's evidence bundle (docs/evidence.md), written from a read
 * transaction into a zip: by `ledger-audit evidence` into a file, offline, and by ledgerd into
 * memory for `CollectionEvidence` over RPC. Sealed by an evidence_sealer (certificate.h).
 */
#ifndef REPLAY_TOOLS_EVIDENCE_H
#define REPLAY_TOOLS_EVIDENCE_H

#include "certificate.h"
#include "ledger.h"
#include "tlog.h"

#include <zip.h>

/* Where the bundle comes from: a store, one read transaction of it, and the log's key. */
typedef struct evidence_source {
	ledger *l;
	MDB_txn *txn;
	const tlog_verifier *key; /* the log key: the checkpoint must be signed by it */
	uint64_t head_seq;        /* the head seq evidence.json reports */
	uint64_t from_seq;        /* no event of the collection is before this seq (0: from 1) */
	/* Who a signer (as events name them) is, for the certificate and the attestations; NULL
	 * offline, where the documents name external signers by their id only. */
	evidence_identity_fn identity;
	void *identity_ctx;
} evidence_source;

typedef struct evidence_made {
	uint64_t events, documents, checkpoint_size;
} evidence_made;

/*
 * Writes the bundle of collection of firm into z (opened empty; the caller closes or discards
 * it): every record of the collection with its tlog-proof against one checkpoint (the file
 * checkpoint_path if given, else the largest cosigned one that covers them, else the latest),
 * every document version they name, the log key, the signer CA's certificate, evidence.json,
 * and the sealed certificate and attestations. 0, or AUDIT_EXIT_BAD (no such collection, no
 * checkpoint that covers it) or AUDIT_EXIT_UNREADABLE, with why.
 */
int evidence_write(const evidence_source *src, const char *firm, const char *collection, const char *checkpoint_path,
                   const evidence_sealer *sealer, zip_t *z, evidence_made *made, char *why, size_t why_bytes);

/* The same into memory: *out (malloc()ed, the caller's) of at most bytes_max bytes
 * (AUDIT_EXIT_BAD, with why, past it). */
int evidence_to_memory(const evidence_source *src, const char *firm, const char *collection,
                       const evidence_sealer *sealer, size_t bytes_max, uint8_t **out, size_t *out_bytes,
                       evidence_made *made, char *why, size_t why_bytes);

/* ----- what the writer and the verifier share (evidence.c, evidence_verify.c) ----- */

#define EVIDENCE_CERTIFICATE_ENTRY "certificat-de-preuve.pdf"
#define EVIDENCE_ATTESTATIONS_DIR  "attestations/"
/* The platform seal's KeyCreated record, proved against the records' checkpoint. */
#define EVIDENCE_SEAL_RECORD_ENTRY      "platform-seal.tlog-proof"
#define EVIDENCE_SEAL_CERTIFICATE_ENTRY "platform-seal.der" /* the certificate it names */
/* attestations/ and 64 hex digits and .pdf */
#define EVIDENCE_ATTESTATION_NAME_BYTES (sizeof EVIDENCE_ATTESTATIONS_DIR + 64 + 4)

/* The payload message of an event and its collection_id (NULL if none). */
const ProtobufCMessage *evidence_payload_of(const Ledger__Events__Event *ev, const char **collection);
/* The hashes of the documents an event names, stored in the zip (up to 3). */
size_t evidence_event_documents(const Ledger__Events__Event *ev, const ProtobufCBinaryData *out[3]);
/* attestations/ and the hex SHA-256 of the signer's email, .pdf: file names that name nobody. */
void evidence_attestation_name(const char *email, char out[EVIDENCE_ATTESTATION_NAME_BYTES]);

#endif
