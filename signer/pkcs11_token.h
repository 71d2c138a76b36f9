/*
 * pkcs11_token.h: private keys in a PKCS #11 token (signer/pkcs11_token.c). Private to
 * signer/; signer.h has what the rest of the service sees (signer_token_embedded_create,
 * signer_token_configure).
 *
 * A key lives in the token from its birth to its destruction: it is generated there (EC
 * P-256, CKA_SENSITIVE true, CKA_EXTRACTABLE false), and what leaves the token is an EVP_PKEY
 * whose private operations are calls into the token (libp11), usable by every OpenSSL
 * function that signs with an EVP_PKEY (X509_sign, CMS, the TS responder, OCSP_basic_sign).
 * A key is named by its label (CKA_LABEL); its CKA_ID is random, drawn at generation and never
 * re-used, so that a key destroyed and generated again under the same label is never mistaken
 * for the old one by libp11's cache of key handles.
 *
 * In a process that started a signer process (signer_process_start, token_remote.h), token_open
 * reads no PIN and loads no module: it returns the signer process's token, and every operation
 * below is a request to it (same errors, plus SIGNER_ERR_CRYPTO when it cannot be reached); the
 * EVP_PKEYs it gives out sign through it. ledgerd serve works so; the signer process itself,
 * ledgerd init, the offline tools and the unit tests open tokens in process, as described here.
 *
 * Threads: a token may be shared; its key operations (generate, load, destroy) are serialised
 * by a lock of its own. Signing with a loaded EVP_PKEY takes no lock of ours (libp11 keeps a
 * pool of sessions). Every call returns a signer_err and records the detail for
 * signer_last_error(), as the rest of signer/.
 */
#ifndef SIGNER_PKCS11_TOKEN_H
#define SIGNER_PKCS11_TOKEN_H

#include "internal.h"

#include <limits.h>

#define TOKEN_LABEL_BYTES_MAX     32u   /* CK_TOKEN_INFO.label: 32 bytes, blank padded */
#define TOKEN_KEY_LABEL_BYTES_MAX 64u   /* a key's CKA_LABEL: ours are short role names or hashes */
#define TOKEN_PIN_BYTES_MAX       64u   /* a user PIN, from its file or variable */
#define TOKEN_ENV_NAME_BYTES_MAX  64u   /* the name of the variable holding the PIN */
#define TOKEN_KEY_ID_BYTES        16u   /* CKA_ID of the keys we generate: random */
#define TOKEN_CONFIG_BYTES_MAX    4096u /* keys_dir/SIGNER_TOKEN_CONFIG_FILE */

/* Where a token is and how to log in to it: keys_dir/SIGNER_TOKEN_CONFIG_FILE, parsed. Paths
 * are absolute or relative to the working directory (token_config_read() resolves the file's
 * relative ones against the keys directory). Exactly one of pin_file and pin_env is set. */
typedef struct token_config {
	char module_path[PATH_MAX];
	char token_label[TOKEN_LABEL_BYTES_MAX + 1];
	char pin_file[PATH_MAX];
	char pin_env[TOKEN_ENV_NAME_BYTES_MAX + 1];
	char softhsm2_conf[PATH_MAX]; /* "" for a real HSM */
} token_config;

/*
 * Reads keys_dir/SIGNER_TOKEN_CONFIG_FILE into *config. SIGNER_ERR_NOT_FOUND when there is
 * none (the keys of that directory are PEM files: docs/signer.md#keys), SIGNER_ERR_KEYS when it
 * is malformed (an unknown setting, a relative module path, no token label, not exactly one
 * PIN source), SIGNER_ERR_IO.
 */
signer_err token_config_read(const char *keys_dir, token_config *config);

/* Copies the value of setting into out[out_bytes]; SIGNER_ERR_KEYS, naming the setting, when
 * the value is empty or does not fit. (pkcs11_config.c) */
signer_err token_setting_copy(char *out, size_t out_bytes, const char *value, const char *setting);

/* Reads the PIN of c's source (its file or variable) into pin, NUL-terminated; the caller wipes
 * it after use (OPENSSL_cleanse). SIGNER_ERR_KEYS, saying why, when the source holds no PIN of
 * 1..TOKEN_PIN_BYTES_MAX bytes or the file is not a regular file only its owner may access. */
signer_err token_pin_read(const token_config *c, char pin[TOKEN_PIN_BYTES_MAX + 1]);

typedef struct token token;

/*
 * Loads the module of config (once per process: it stays loaded, see pkcs11_token.c), finds the token
 * labelled config->token_label among its slots and logs in as the user with the PIN of its PIN
 * source. On success *out is the caller's: token_close() it. SIGNER_ERR_NOT_FOUND when no slot
 * holds that token; SIGNER_ERR_KEYS when the module cannot be loaded, the PIN cannot be read
 * (absent, empty, longer than TOKEN_PIN_BYTES_MAX, a file group or others may access) or is
 * refused, or the module is loaded already with another SoftHSM2 configuration, or the module
 * is loaded the first time, config names a SoftHSM2 configuration that SOFTHSM2_CONF does not
 * hold already and the process has other threads (setenv() is unsafe beside them: open the
 * token before starting any).
 */
signer_err token_open(const token_config *config, token **out);

/* Releases the token handle. EVP_PKEYs loaded from it stay usable (they hold their slot). */
void token_close(token *t);

/*
 * Generates an EC P-256 key pair in the token: a private key (CKA_TOKEN, CKA_PRIVATE,
 * CKA_SENSITIVE, CKA_SIGN true; CKA_EXTRACTABLE, CKA_DECRYPT, CKA_UNWRAP, CKA_DERIVE false) and
 * its public key (CKA_VERIFY only), both with CKA_LABEL label and a fresh random CKA_ID.
 * SIGNER_ERR_EXISTS if a private key with that label is there already (nothing is generated);
 * SIGNER_ERR_INVALID for a label empty or over TOKEN_KEY_LABEL_BYTES_MAX; SIGNER_ERR_CRYPTO when
 * the token refuses.
 */
signer_err token_key_generate(token *t, const char *label);

/*
 * The private key labelled label, as an EVP_PKEY whose signatures are made by the token (it
 * carries the public key too: X509_check_private_key and X509_set_pubkey work). *key is the
 * caller's (EVP_PKEY_free). SIGNER_ERR_NOT_FOUND if there is none, SIGNER_ERR_KEYS if two keys
 * bear the label or libp11 cannot wrap it.
 */
signer_err token_key_load(token *t, const char *label, EVP_PKEY **key);

/* Destroys the private and public keys labelled label. SIGNER_ERR_NOT_FOUND if there is no
 * private key of that label, SIGNER_ERR_CRYPTO when the token refuses. */
signer_err token_key_destroy(token *t, const char *label);

/* How many objects of any class (private keys, public keys, ...) bear label in the token: what
 * shows that a destroyed key left nothing behind. SIGNER_ERR_CRYPTO. */
signer_err token_objects_count(token *t, const char *label, size_t *count);

/* What the token says of the private key labelled label: CKA_SENSITIVE and CKA_EXTRACTABLE
 * (and whether it was always so, CKA_ALWAYS_SENSITIVE and CKA_NEVER_EXTRACTABLE, folded in:
 * *sensitive is true only if both are). SIGNER_ERR_NOT_FOUND, SIGNER_ERR_CRYPTO. */
signer_err token_key_protection(token *t, const char *label, bool *sensitive, bool *extractable);

/* Initialises the first uninitialised token of c's module with c's label, the SO PIN so_pin and
 * the user PIN pin (pkcs11_setup.c sets up an embedded token with it). SIGNER_ERR_KEYS. */
signer_err token_initialise(const token_config *c, const char *so_pin, const char *pin);

#endif
