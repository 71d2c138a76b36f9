/*
 * personal_data.c: the personal data that registration carries, kept erasable.
 *
 * A phone number or an ID document reference must be erasable on request (RGPD) while the
 * log, append-only and hash-chained, keeps every event forever. So personal data never enters
 * an event: it is sealed (XChaCha20-Poly1305) under a key of its own subject, the sealed bytes
 * are stored beside the log in `sealed`, and the event keeps only their SHA-256. Subject keys
 * are stored wrapped (secretbox) under the service's personal-data key (DIR/keys/personal.key),
 * which is not in the data file: a copy of data.mdb given to an auditor opens no personal data.
 * Erasure destroys the subject's key and sealed data; the events that referred to them stay,
 * and the chain still verifies. docs/personal-data.md says the same for operators.
 *
 * Keys and nonces come from the random source the caller set with the key: the domain draws
 * no randomness of its own.
 */
#include "commands.h"
#include "signer_identity.h"

#include <sodium.h>
#include <string.h>

#define WRAPPED_KEY_BYTES                                                                                              \
	(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + crypto_aead_xchacha20poly1305_ietf_KEYBYTES)

void proj_set_personal_key(proj *p, const uint8_t key[PROJ_PERSONAL_KEY_BYTES], proj_random_fill random_fill)
{
	LEDGER_ASSERT(random_fill != NULL);
	memcpy(p->personal_key, key, PROJ_PERSONAL_KEY_BYTES);
	p->random_fill = random_fill;
	p->has_personal_key = p->has_side_dbs;
}

/* The subject's data key, unwrapped; created (and stored wrapped) if create and absent. */
static ledger_err subject_key(proj *p, MDB_txn *txn, const char *subject, bool create, uint8_t key[32])
{
	MDB_val k = {strlen(subject), (void *)subject}, v;
	int rc = mdb_get(txn, p->subject_keys, &k, &v);
	if (rc == 0) {
		const uint8_t *w = v.mv_data;
		if (v.mv_size != WRAPPED_KEY_BYTES ||
		    crypto_secretbox_open_easy(key, w + crypto_secretbox_NONCEBYTES,
		                               v.mv_size - crypto_secretbox_NONCEBYTES, w, p->personal_key) != 0)
			return LEDGER_ERR_CORRUPT;
		return LEDGER_OK;
	}
	if (rc != MDB_NOTFOUND || !create)
		return ledger_mdb_err(rc);
	uint8_t wrapped[WRAPPED_KEY_BYTES];
	LEDGER_ASSERT(p->has_personal_key && p->random_fill);
	p->random_fill(key, crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
	p->random_fill(wrapped, crypto_secretbox_NONCEBYTES);
	crypto_secretbox_easy(wrapped + crypto_secretbox_NONCEBYTES, key, 32, wrapped, p->personal_key);
	v = (MDB_val){sizeof wrapped, wrapped};
	return ledger_mdb_err(mdb_put(txn, p->subject_keys, &k, &v, 0));
}

/* Seals plain under the subject's key, stores it under (subject, sha256), fills ref. */
ledger_err proj_personal_seal(proj *p, MDB_txn *txn, const char *subject, const char *plain,
                              Ledger__Events__SealedRef *ref, uint8_t hash[32])
{
	uint8_t key[32], sealed[PROJ_PERSONAL_SEALED_BYTES_MAX];
	size_t n = strlen(plain);
	size_t total = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + n + crypto_aead_xchacha20poly1305_ietf_ABYTES;
	if (total > sizeof sealed)
		return LEDGER_ERR_TOO_LARGE;
	ledger_err err = subject_key(p, txn, subject, true, key);
	if (err)
		return err;
	p->random_fill(sealed, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
	unsigned long long c;
	/* The subject is the associated data: sealed bytes cannot be moved to another subject. */
	crypto_aead_xchacha20poly1305_ietf_encrypt(sealed + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, &c,
	                                           (const uint8_t *)plain, n, (const uint8_t *)subject, strlen(subject),
	                                           NULL, sealed, key);
	sodium_memzero(key, sizeof key);
	crypto_hash_sha256(hash, sealed, total);
	char k[PROJ_EMAIL_BYTES_MAX + 1 + 32];
	size_t kn = strlen(subject);
	memcpy(k, subject, kn + 1);
	memcpy(k + kn + 1, hash, 32);
	MDB_val key_val = {kn + 1 + 32, k}, v = {total, sealed};
	int rc = mdb_put(txn, p->sealed, &key_val, &v, 0);
	if (rc)
		return ledger_mdb_err(rc);
	ref->sha256.data = hash;
	ref->sha256.len = 32;
	ref->bytes = (uint32_t)total;
	return LEDGER_OK;
}

/* Opens the sealed data ref of subject into plain (plain_bytes). LEDGER_END once erased. */
ledger_err proj_personal_open(proj *p, MDB_txn *txn, const char *subject, const uint8_t hash[32], char *plain,
                              size_t plain_bytes)
{
	uint8_t key[32];
	ledger_err err = subject_key(p, txn, subject, false, key);
	if (err)
		return err;
	char k[PROJ_EMAIL_BYTES_MAX + 1 + 32];
	size_t kn = strlen(subject);
	memcpy(k, subject, kn + 1);
	memcpy(k + kn + 1, hash, 32);
	MDB_val key_val = {kn + 1 + 32, k}, v;
	int rc = mdb_get(txn, p->sealed, &key_val, &v);
	const size_t overhead =
	    crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + crypto_aead_xchacha20poly1305_ietf_ABYTES;
	unsigned long long m;
	if (rc == 0 &&
	    (v.mv_size < overhead || v.mv_size - overhead >= plain_bytes ||
	     crypto_aead_xchacha20poly1305_ietf_decrypt(
	         (uint8_t *)plain, &m, NULL, (const uint8_t *)v.mv_data + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
	         v.mv_size - crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, (const uint8_t *)subject, strlen(subject),
	         v.mv_data, key) != 0))
		rc = MDB_CORRUPTED;
	sodium_memzero(key, sizeof key);
	if (rc)
		return ledger_mdb_err(rc);
	plain[m] = '\0';
	return LEDGER_OK;
}

ledger_err proj_personal_shred(proj *p, MDB_txn *txn, const char *subject)
{
	if (!p->has_side_dbs)
		return LEDGER_ERR_INVALID;
	/* The links from an external signer's ids to this subject first (signer_identity.c). */
	ledger_err err = proj_signer_unlink_all(p, txn, subject);
	if (err)
		return err;
	MDB_val k = {strlen(subject), (void *)subject}, v;
	int rc = mdb_del(txn, p->subject_keys, &k, NULL);
	if (rc && rc != MDB_NOTFOUND)
		return ledger_mdb_err(rc);
	MDB_cursor *cur;
	if ((rc = mdb_cursor_open(txn, p->sealed, &cur)))
		return ledger_mdb_err(rc);
	size_t prefix = strlen(subject) + 1;
	k = (MDB_val){prefix, (void *)subject};
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size < prefix || memcmp(k.mv_data, subject, prefix) != 0)
			break;
		if ((rc = mdb_cursor_del(cur, 0)))
			break;
	}
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? LEDGER_OK : ledger_mdb_err(rc);
}
