/*
 * certificate.h: the human-readable parts of an evidence bundle (docs/evidence.md): the
 * certificate of completion (certificat-de-preuve.pdf) and each signer's attestation, laid out
 * in French by mupdf from the collection's events, sealed by the platform at PAdES B-LTA; and
 * their check in verify-evidence.
 */
#ifndef REPLAY_TOOLS_CERTIFICATE_H
#define REPLAY_TOOLS_CERTIFICATE_H

#include "events.pb-c.h"
#include "ledger.h"
#include "signer.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The platform's seal: its certificate's organizationIdentifier cannot be a firm id (those are
 * letters, digits and "._-"), so no firm's seal shares its credential. */
#define EVIDENCE_SEAL_ID   "JeSignExpert (plateforme)"
#define EVIDENCE_SEAL_NAME "JeSignExpert"

#define EVIDENCE_CERTIFICATE_TITLE "Certificat de preuve"
#define EVIDENCE_ATTESTATION_TITLE "Attestation de signature"

/* One event as the documents show it. Strings are owned. */
typedef struct evidence_line {
	int64_t at_us;
	char *actor;
	char *what;   /* in French: "Document déposé", "Signature apposée", … */
	char *signer; /* the signer the event is about ("" if none) */
	char *detail; /* a file name, hashes, a method: "" if none */
} evidence_line;

/* Fills out with who signer (as events name them) is ("Name <email>", or "effacé"); false if it
 * cannot say. */
typedef bool (*evidence_identity_fn)(void *ctx, const char *signer, char *out, size_t out_bytes);

typedef struct evidence_facts {
	const char *firm, *collection, *origin;
	uint64_t checkpoint_size;
	char root_hex[65];
	char json_sha256_hex[65]; /* of the bundle's evidence.json, which every document names */
	int64_t made_at_us;
	evidence_line *lines;
	size_t count, cap;
	bool failed;                   /* out of memory on the way */
	evidence_identity_fn identity; /* NULL: signers are shown as events name them */
	void *identity_ctx;
} evidence_facts;

/* Adds ev (whose payload is m) to f. */
void evidence_facts_add(evidence_facts *f, const Ledger__Events__Event *ev, const ProtobufCMessage *m);
void evidence_facts_free(evidence_facts *f);

/* The distinct persons the collection asked to sign (signer_added), in order; *count of them.
 * The pointers are into f. NULL with *count 0 if there are none or memory runs out. */
const char **evidence_signers(const evidence_facts *f, size_t *count);

/* What seals the documents: the CA of a data directory with its TSA and OCSP responder, and the
 * platform's seal, the credential kept in the token that the log records (KeyCreated
 * KEY_PLATFORM_SEAL, written by ledgerd at its first start), at now_s (the system clock: never an
 * operator's choice). seal_seq is the seq of that KeyCreated: the bundle proves it. */
typedef struct evidence_sealer {
	signer_ca *ca;
	bool owns_ca;
	signer_credential *seal;
	char seal_serial[SIGNER_SERIAL_HEX_BYTES];
	uint64_t seal_seq;
	int64_t now_s;
} evidence_sealer;

/*
 * The platform's seal the log of txn records: with serial NULL the current one (the last
 * KeyCreated KEY_PLATFORM_SEAL no KeyDestroyed followed), else the one of serial. Its KeyCreated's
 * seq into *seq and its serial into serial_out. Reads the log from its start (stopping at serial's
 * record): linear in the log's length. False if there is none.
 */
bool evidence_seal_record_find(ledger *l, MDB_txn *txn, const char *serial, uint64_t *seq,
                               char serial_out[SIGNER_SERIAL_HEX_BYTES]);

/* The CA of data directory dir, opened here (ledger-audit), and the current platform's seal of
 * the log of txn. False (why says it) if the log records none, or its key cannot be opened: the
 * offline tool never issues itself a seal. */
bool evidence_sealer_open(const char *dir, ledger *l, MDB_txn *txn, int64_t now_s, evidence_sealer *s, char *why,
                          size_t why_bytes);
/* ca, open already with its TSA and OCSP responder (ledgerd's): borrowed, not freed; the seal of
 * serial, whose KeyCreated is record seq (what ledgerd recorded or found at its start). */
bool evidence_sealer_with(signer_ca *ca, const char *serial, uint64_t seq, int64_t now_s, evidence_sealer *s, char *why,
                          size_t why_bytes);
void evidence_sealer_close(evidence_sealer *s);

/*
 * The certificate of completion (signer NULL: every event) or signer's attestation (only the
 * events about that signer, and nobody else's name), laid out as an A4 PDF and sealed at B-LTA.
 * *pdf is the caller's (free()).
 */
bool evidence_document(const evidence_facts *f, const char *signer, const evidence_sealer *s, uint8_t **pdf,
                       size_t *pdf_bytes, char *why, size_t why_bytes);

/*
 * verify-evidence's check of such a document: every signature and time-stamp verifies against
 * ca_der (signer_pdf_verify), there is a signature time-stamp and a document time-stamp
 * (B-LTA), the last signature is the platform's seal whose certificate hashes to seal_sha256 (the
 * log's KeyCreated), and the text names json_sha256_hex and holds each of says (NULL entries are
 * skipped): the title, the signer's email.
 */
bool evidence_document_check(const uint8_t *pdf, size_t pdf_bytes, const uint8_t *ca_der, size_t ca_der_bytes,
                             const uint8_t seal_sha256[32], const char *json_sha256_hex, const char *const *says,
                             size_t says_count, char *why, size_t why_bytes);

#endif
