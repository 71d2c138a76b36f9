/*
 * token.h: bearer tokens of the identity provider (docs/rpc.md#tokens).
 *
 * A token is "v1." || base64url(Claims protobuf) || "." || base64url(Ed25519 signature of the
 * ASCII bytes before the second dot). The embedded identity provider's key pair is created by
 * `ledgerd init`; the Order's single sign-on would hold its secret key and ledgerd only the
 * public one.
 */
#ifndef API_TOKEN_H
#define API_TOKEN_H

#include <sodium.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define API_TOKEN_AUDIENCE        "ledgerd"
#define API_TOKEN_BYTES_MAX       2048u
#define API_SUBJECT_BYTES_MAX     254u
#define API_TOKEN_TTL_DAYS_MAX    366
#define API_TOKEN_TTL_SECONDS_MAX ((int64_t)API_TOKEN_TTL_DAYS_MAX * 24 * 3600)
/* How far in the future a token's issue time may be (clocks of the issuer and ledgerd). */
#define API_TOKEN_CLOCK_SKEW_SECONDS 300

typedef struct api_claims {
	char sub[API_SUBJECT_BYTES_MAX + 1];
	char aud[32];
	int64_t exp, iat;
	bool platform;
} api_claims;

/* Mints a token into out (out_bytes >= API_TOKEN_BYTES_MAX). Returns false if it does not fit
 * or the subject is empty or over API_SUBJECT_BYTES_MAX (other claims are the caller's: a
 * token minted with a wrong audience or lifetime is refused by api_token_verify). */
bool api_token_mint(const api_claims *claims, const uint8_t sk[crypto_sign_SECRETKEYBYTES], char *out,
                    size_t out_bytes);

/* Verifies signature, audience and expiry at now_s. On failure returns false and *why names
 * the reason ("missing token", "bad signature", "expired", ...). */
bool api_token_verify(const char *token, const uint8_t pk[crypto_sign_PUBLICKEYBYTES], int64_t now_s, api_claims *out,
                      const char **why);

/*
 * A bounded cache of verified tokens, so a client reusing its token does not cost an Ed25519
 * verification per request (the benchmark found it half of ledgerd's CPU). Keyed by the
 * token's SHA-256: a forged or altered token cannot hit another's entry. A hit is still checked
 * against expiry at every use. Direct-mapped: API_TOKEN_CACHE_SLOTS entries, a newer token
 * evicts the one in its slot. Thread-safe.
 */
#define API_TOKEN_CACHE_SLOTS 4096u
typedef struct api_token_cache api_token_cache;
api_token_cache *api_token_cache_new(void);
void api_token_cache_free(api_token_cache *c);
/* api_token_verify, answered from the cache when it can be. c may be NULL (no cache). */
bool api_token_verify_cached(api_token_cache *c, const char *token, const uint8_t pk[crypto_sign_PUBLICKEYBYTES],
                             int64_t now_s, api_claims *out, const char **why);
/* Hits and lookups so far, for tests and benchmarks. */
void api_token_cache_stats(api_token_cache *c, uint64_t *hits, uint64_t *lookups);

/* ----- key files (api/keys.c) ----- */

/* Creates DIR/keys (0700) with idp.pk, idp.sk, service.pk, service.sk (secret keys 0600,
 * base64 text). Fails if any exists. Returns false with *why set. */
bool api_keys_create(const char *dir, const char **why);
/* The personal-data key DIR/keys/personal.key (32 bytes, 0600), created if absent (a data
 * directory initialised before it existed). */
bool api_personal_key(const char *dir, uint8_t key[32], const char **why);
/* Reads a key file DIR/keys/NAME of exactly n bytes. */
bool api_key_load(const char *dir, const char *name, uint8_t *key, size_t n, const char **why);

/* The log key (C2SP signed-note Ed25519, docs/log-format.md "Checkpoints"): DIR/keys/log.key
 * (its 32-byte seed, base64, 0600) and DIR/keys/log.vkey (its verifier key
 * "origin+keyid+base64", 0644, the public file auditors and witnesses are given). The key
 * name is the log's origin. Created once, exclusively; vkey receives the verifier key text. */
struct tlog_signer;
bool api_log_key_create(const char *dir, const char *origin, char *vkey, size_t vkey_cap, const char **why);
/* Loads the log key into *out (wipe it with tlog_signer_wipe), checking that log.key and
 * log.vkey are halves of one key. */
bool api_log_key_load(const char *dir, struct tlog_signer *out, const char **why);

/* Mints a token for sub with data_dir's embedded identity-provider key (keys/idp.sk), issued at
 * iat_s and valid ttl_s seconds, for audience aud (NULL: API_TOKEN_AUDIENCE). What ledgerctl,
 * the tests and the benchmarks all need. False with *why if the key cannot be read or the
 * claims do not fit (a subject of 1 to API_SUBJECT_BYTES_MAX bytes). */
bool api_token_mint_from_dir(const char *data_dir, const char *sub, bool platform, int64_t iat_s, int64_t ttl_s,
                             const char *aud, char out[API_TOKEN_BYTES_MAX], const char **why);

#endif
