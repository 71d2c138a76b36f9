/*
 * token_remote.h: ledgerd's end of the signer process (signer/token_remote.c and
 * token_remote_key.c; docs/signer.md#the-signer-process). Private to signer/: signer.h has
 * signer_process_start() and its kin; pkcs11_token.c hands out the remote token once the
 * process runs.
 *
 * Once signer_process_start() has succeeded, every token_open() of this process returns the
 * remote token, and the token operations of pkcs11_token.h become requests to the signer
 * process: this process never loads a PKCS #11 module nor reads a PIN.
 */
#ifndef SIGNER_TOKEN_REMOTE_H
#define SIGNER_TOKEN_REMOTE_H

#include "token_wire.h"

/* Whether this process has a signer process (signer_process_start() succeeded). */
bool token_remote_active(void);

/* The operations of pkcs11_token.h, done by the signer process; same errors, plus
 * SIGNER_ERR_CRYPTO when the signer process cannot be reached (it died: see token_remote.c). */
signer_err token_remote_key_generate(const char *label);
signer_err token_remote_key_load(const char *label, EVP_PKEY **key);
signer_err token_remote_key_destroy(const char *label);
signer_err token_remote_objects_count(const char *label, size_t *count);
signer_err token_remote_key_protection(const char *label, bool *sensitive, bool *extractable);

/* Signs digest with the key labelled label: its DER ECDSA-Sig-Value into der (*der_bytes long). */
signer_err token_remote_sign(const char *label, const uint8_t digest[TOKEN_WIRE_DIGEST_BYTES],
                             uint8_t der[TOKEN_WIRE_SIGNATURE_BYTES_MAX], size_t *der_bytes);

/*
 * An EVP_PKEY for the key labelled label whose public key is the DER SubjectPublicKeyInfo
 * spki and whose signatures are made by token_remote_sign() (token_remote_key.c). *key is the
 * caller's. SIGNER_ERR_KEYS for a public key that is not P-256.
 */
signer_err token_remote_key_new(const char *label, const uint8_t *spki, size_t spki_bytes, EVP_PKEY **key);

#endif
