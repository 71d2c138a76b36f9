/*
 * kept_key.h: where the key of a credential kept under its serial lives (signer/kept_key.c).
 * Private to signer/.
 *
 * When the CA's keys directory names a token, a kept credential's key (a person's, a seal's,
 * an external signer's one-shot key) is generated in the token under a label of its own,
 * "cred-" and 32 random hex digits (the serial is not known before the key is: the certificate
 * is made with it), and the file keys/signers/<SERIAL>.pem holds the line
 * KEPT_KEY_LABEL_LINE<label> followed by the certificate alone. Without a token the file holds
 * the PEM key then the certificate, as before tokens existed.
 */
#ifndef SIGNER_KEPT_KEY_H
#define SIGNER_KEPT_KEY_H

#include "internal.h"

/* "cred-", 32 hex digits, NUL. */
#define KEPT_KEY_LABEL_PREFIX "cred-"
#define KEPT_KEY_LABEL_BYTES  (sizeof KEPT_KEY_LABEL_PREFIX + 32u)
/* The first line of a kept file whose key is in the token. */
#define KEPT_KEY_LABEL_LINE "Token-Key-Label: "

/* A fresh key for a kept credential: in ca's token under a new random label (written into
 * label), or, without a token, a software key (label ""). SIGNER_ERR_CRYPTO, SIGNER_ERR_KEYS. */
signer_err kept_key_generate(signer_ca *ca, char label[KEPT_KEY_LABEL_BYTES], EVP_PKEY **key);

/* Writes the kept file name in ca's credentials directory, created exclusively (0600): the label
 * line and certificate when label is not "", else key and certificate. On failure a token key
 * generated for it is destroyed. */
signer_err kept_key_store(signer_ca *ca, const char *name, const char *label, EVP_PKEY *key, X509 *certificate);

/* Reads the kept file name: its certificate, and its key from the token (label line) or the
 * file. SIGNER_ERR_NOT_FOUND if the file or the token key is gone, SIGNER_ERR_KEYS. If label is
 * not NULL it receives the token label ("" for a file key). */
signer_err kept_key_read(signer_ca *ca, const char *name, EVP_PKEY **key, X509 **certificate,
                         char label[KEPT_KEY_LABEL_BYTES]);

/* Destroys the kept file name: its token key (private and public objects) when it has one,
 * then the file (zeroed, synced, removed). SIGNER_ERR_NOT_FOUND, SIGNER_ERR_IO, SIGNER_ERR_CRYPTO. */
signer_err kept_key_destroy(signer_ca *ca, const char *name);

#endif
