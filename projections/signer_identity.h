/*
 * signer_identity.h: external signers' ids, and the erasable links to their sealed identity
 * (signer_identity.c; docs/personal-data.md#external-signers). Private to projections/.
 */
#ifndef PROJECTIONS_SIGNER_IDENTITY_H
#define PROJECTIONS_SIGNER_IDENTITY_H

#include "commands.h"

#include <sys/types.h>

#define PROJ_SIGNER_ID_CHARS       28u      /* "s-" and 26 base32 characters: 128 random bits */
#define PROJ_SIGNER_LINKS_PER_PASS 64u      /* links unlinked per pass over a subject's entries */
#define PROJ_ERASED_NAME           "effacé" /* what views show where an erased signer's name was */

/* Draws a new signer id from p's random source into out. */
void proj_signer_id_new(proj *p, char out[PROJ_SIGNER_ID_CHARS + 1]);
/* True for "s-" and 26 characters of the lower-case RFC 4648 base32 alphabet. */
bool proj_signer_id_valid(const char *id);

/* Records beside the log, in txn, that signer id (of collection_id) is subject's. LEDGER_ERR_INVALID
 * when p has no side databases (a read-only copy) or subject is empty or too long. */
ledger_err proj_signer_link(proj *p, MDB_txn *txn, const char *subject, const char *id, const char *collection_id);
/* The subject (normalised email) signer id links to, into out. LEDGER_END when no link exists:
 * erased, or not an id, or no side databases. */
ledger_err proj_signer_subject(proj *p, MDB_txn *txn, const char *id, char out[PROJ_EMAIL_BYTES_MAX + 1]);
/* Records beside the log that the certificate sha256 (its DER a blob) names external signer id,
 * so that erasure of their subject removes it. Nothing when id links to no subject any more. */
ledger_err proj_signer_certificate_link(proj *p, MDB_txn *txn, const char *id, const uint8_t sha256[32]);
/* The certificates linked to subject (SHA-256 each, 32 bytes, in arena): what erasure removes. */
ledger_err proj_signer_certificates(proj *p, MDB_txn *txn, const char *subject, proj_arena *arena,
                                    ProtobufCBinaryData **out, size_t *count);
/* Destroys every link of subject, both ways (erasure: proj_personal_shred calls it). */
ledger_err proj_signer_unlink_all(proj *p, MDB_txn *txn, const char *subject);

/* Who a signer is, as views show them. */
typedef struct proj_signer_identity {
	char signer_id[PROJ_SIGNER_ID_CHARS + 1]; /* external signers; "" for internal ones */
	char email[PROJ_EMAIL_BYTES_MAX + 1];     /* "" once erased */
	char name[PROJ_NAME_BYTES_MAX + 1];       /* PROJ_ERASED_NAME once erased */
	/* An external signer's, when SignerAdd gave them (name is then "given surname"); else "". */
	char given_name[4 * PROJ_PERSON_NAME_CHARS_MAX + 1];
	char surname[4 * PROJ_PERSON_NAME_CHARS_MAX + 1];
	bool erased;
} proj_signer_identity;

/* Fills out with s's identity: an internal signer's as recorded, an external signer's opened
 * from the sealed store. Returns false (and out says "effacé") when it does not open any more. */
bool proj_signer_identity_of(proj *p, MDB_txn *txn, const Ledger__State__Signer *s, proj_signer_identity *out);
/* The index in c of the signer that the normalised email names (an internal signer by their
 * email, an external one through the links), or -1. */
ssize_t proj_collection_signer_by_email(proj *p, MDB_txn *txn, const Ledger__State__Collection *c, const char *email);
/* What a view shows for signer (as events name them): an external signer's email while it
 * opens (copied into arena), else signer itself. */
const char *proj_signer_display(proj *p, MDB_txn *txn, const Ledger__State__Collection *c, const char *signer,
                                proj_arena *arena);

#endif
