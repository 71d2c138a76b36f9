/*
 * keystore.h: the files of a keys directory (signer/keystore.c). Private to signer/.
 */
#ifndef SIGNER_KEYSTORE_H
#define SIGNER_KEYSTORE_H

#include "internal.h"

#include <limits.h>
#include <sys/types.h>

/* Key and certificate files are small: anything larger is not ours. */
#define KEYSTORE_FILE_BYTES_MAX 16384u

/* dir/name into path. SIGNER_ERR_INVALID if it does not fit. */
signer_err keystore_path(char *path, size_t path_bytes, const char *dir, const char *name);

/* Creates dir 0700 unless it exists. SIGNER_ERR_IO. */
signer_err keystore_mkdir(const char *dir);

/*
 * Writes dir/name atomically with mode. replace: an existing file is replaced (rename);
 * otherwise SIGNER_ERR_EXISTS if there is one (link), and nothing changes. The directory is
 * synced. SIGNER_ERR_IO.
 */
signer_err keystore_write(const char *dir, const char *name, const void *data, size_t bytes, mode_t mode, bool replace);

/* Reads dir/name, at most bytes_max bytes. SIGNER_ERR_NOT_FOUND if absent, SIGNER_ERR_KEYS if
 * larger, SIGNER_ERR_IO. */
signer_err keystore_read(const char *dir, const char *name, uint8_t *data, size_t bytes_max, size_t *bytes);

/* Parses a PEM holding a private key (if key) then a certificate (if certificate); the results
 * are the caller's. SIGNER_ERR_KEYS when one is missing or unreadable. Never prompts. */
signer_err keystore_pem_parse(const uint8_t *pem, size_t bytes, EVP_PKEY **key, X509 **certificate);

/* Writes key (unencrypted PKCS #8) then certificate, either NULL, as keystore_write() does. */
signer_err keystore_pem_write(const char *dir, const char *name, EVP_PKEY *key, X509 *certificate, mode_t mode,
                              bool replace);

/* Overwrites the file at path with zeros, syncs it, removes it and syncs its directory: a key
 * destroyed. SIGNER_ERR_NOT_FOUND, SIGNER_ERR_IO. */
signer_err keystore_shred(const char *path);

#endif
