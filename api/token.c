/*
 * token.c: minting and verifying bearer tokens. Verification runs before anything else a
 * request asks, and refuses in one step a token that is missing, malformed, forged, for
 * another audience or expired.
 */
#include "token.h"

#define TOKEN_TTL_DAYS_TEXT_VALUE(x) #x
#define TOKEN_TTL_DAYS_TEXT_OF(x)    TOKEN_TTL_DAYS_TEXT_VALUE(x)
#define TOKEN_TTL_DAYS_TEXT          TOKEN_TTL_DAYS_TEXT_OF(API_TOKEN_TTL_DAYS_MAX)

#include "token.pb-c.h"

#include <pthread.h>
#include <stdlib.h>

#include <stdio.h>
#include <string.h>

#define PREFIX "v1."

bool api_token_mint(const api_claims *c, const uint8_t sk[crypto_sign_SECRETKEYBYTES], char *out, size_t out_bytes)
{
	if (out_bytes < API_TOKEN_BYTES_MAX || strlen(c->sub) == 0 || strlen(c->sub) > API_SUBJECT_BYTES_MAX)
		return false;
	Ledger__Token__Claims m = LEDGER__TOKEN__CLAIMS__INIT;
	m.sub = (char *)c->sub;
	m.aud = (char *)c->aud;
	m.exp = c->exp;
	m.iat = c->iat;
	m.platform = c->platform;
	uint8_t packed[API_SUBJECT_BYTES_MAX + 128];
	size_t n = ledger__token__claims__get_packed_size(&m);
	if (n > sizeof packed)
		return false;
	ledger__token__claims__pack(&m, packed);
	size_t prefix = strlen(PREFIX);
	memcpy(out, PREFIX, prefix);
	sodium_bin2base64(out + prefix, out_bytes - prefix, packed, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	size_t signed_bytes = strlen(out);
	uint8_t sig[crypto_sign_BYTES];
	crypto_sign_detached(sig, NULL, (const uint8_t *)out, signed_bytes, sk);
	if (signed_bytes + 1 + sodium_base64_ENCODED_LEN(sizeof sig, sodium_base64_VARIANT_URLSAFE_NO_PADDING) >
	    out_bytes)
		return false;
	out[signed_bytes] = '.';
	sodium_bin2base64(out + signed_bytes + 1, out_bytes - signed_bytes - 1, sig, sizeof sig,
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return true;
}

static bool fail(const char **why, const char *reason)
{
	*why = reason;
	return false;
}

bool api_token_verify(const char *token, const uint8_t pk[crypto_sign_PUBLICKEYBYTES], int64_t now_s, api_claims *out,
                      const char **why)
{
	if (!token || !*token)
		return fail(why, "missing token");
	size_t len = strnlen(token, API_TOKEN_BYTES_MAX + 1);
	if (len > API_TOKEN_BYTES_MAX || strncmp(token, PREFIX, strlen(PREFIX)) != 0)
		return fail(why, "malformed token");
	const char *dot = strchr(token + strlen(PREFIX), '.');
	if (!dot)
		return fail(why, "malformed token");
	uint8_t sig[crypto_sign_BYTES];
	size_t sig_len;
	if (sodium_base642bin(sig, sizeof sig, dot + 1, strlen(dot + 1), NULL, &sig_len, NULL,
	                      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    sig_len != sizeof sig)
		return fail(why, "malformed token signature");
	if (crypto_sign_verify_detached(sig, (const uint8_t *)token, (size_t)(dot - token), pk) != 0)
		return fail(why, "bad token signature (not issued by this identity provider)");
	uint8_t packed[API_TOKEN_BYTES_MAX];
	size_t n;
	const char *claims = token + strlen(PREFIX);
	if (sodium_base642bin(packed, sizeof packed, claims, (size_t)(dot - claims), NULL, &n, NULL,
	                      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
		return fail(why, "malformed token claims");
	Ledger__Token__Claims *m = ledger__token__claims__unpack(NULL, n, packed);
	if (!m)
		return fail(why, "malformed token claims");
	bool ok = false;
	if (strcmp(m->aud, API_TOKEN_AUDIENCE) != 0)
		*why = "token is for another audience";
	else if (m->exp <= now_s)
		*why = "token expired";
	else if (m->iat > now_s + API_TOKEN_CLOCK_SKEW_SECONDS)
		*why = "token issued in the future";
	else if (m->iat > m->exp)
		*why = "token issued after it expires";
	/* exp > now_s here, so exp - TTL cannot overflow; exp - iat could (iat = INT64_MIN made
	 * a token that never expired). */
	else if (m->iat < m->exp - API_TOKEN_TTL_SECONDS_MAX)
		*why = "token lifetime over " TOKEN_TTL_DAYS_TEXT " days";
	else if (strlen(m->sub) == 0 || strlen(m->sub) > API_SUBJECT_BYTES_MAX)
		*why = "token has no valid subject";
	else
		ok = true;
	if (ok) {
		memset(out, 0, sizeof *out);
		memcpy(out->sub, m->sub, strlen(m->sub) + 1);
		snprintf(out->aud, sizeof out->aud, "%s", m->aud);
		out->exp = m->exp;
		out->iat = m->iat;
		out->platform = m->platform;
	}
	ledger__token__claims__free_unpacked(m, NULL);
	return ok;
}

/* ----- cache ----- */

typedef struct cache_slot {
	uint8_t key[crypto_hash_sha256_BYTES]; /* SHA-256 of the token; all zero: empty */
	api_claims claims;
	bool used;
} cache_slot;

struct api_token_cache {
	pthread_mutex_t lock;
	uint64_t hits, lookups;
	cache_slot slots[API_TOKEN_CACHE_SLOTS];
};

api_token_cache *api_token_cache_new(void)
{
	api_token_cache *c = calloc(1, sizeof *c);
	if (c)
		pthread_mutex_init(&c->lock, NULL);
	return c;
}

void api_token_cache_free(api_token_cache *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->lock);
	free(c);
}

bool api_token_verify_cached(api_token_cache *c, const char *token, const uint8_t pk[crypto_sign_PUBLICKEYBYTES],
                             int64_t now_s, api_claims *out, const char **why)
{
	if (!c || !token || strnlen(token, API_TOKEN_BYTES_MAX + 1) > API_TOKEN_BYTES_MAX)
		return api_token_verify(token, pk, now_s, out, why);
	uint8_t key[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(key, (const uint8_t *)token, strlen(token));
	uint64_t index = 0;
	memcpy(&index, key, sizeof index);
	cache_slot *slot = &c->slots[index % API_TOKEN_CACHE_SLOTS];
	pthread_mutex_lock(&c->lock);
	c->lookups++;
	bool hit = slot->used && memcmp(slot->key, key, sizeof key) == 0;
	if (hit) {
		*out = slot->claims;
		c->hits++;
	}
	pthread_mutex_unlock(&c->lock);
	if (hit) {
		/* Verified once; expiry and the issue time still move with the clock. */
		if (out->exp <= now_s)
			return *why = "token expired", false;
		if (out->iat > now_s + API_TOKEN_CLOCK_SKEW_SECONDS)
			return *why = "token issued in the future", false;
		return true;
	}
	if (!api_token_verify(token, pk, now_s, out, why))
		return false;
	pthread_mutex_lock(&c->lock);
	memcpy(slot->key, key, sizeof key);
	slot->claims = *out;
	slot->used = true;
	pthread_mutex_unlock(&c->lock);
	return true;
}

void api_token_cache_stats(api_token_cache *c, uint64_t *hits, uint64_t *lookups)
{
	pthread_mutex_lock(&c->lock);
	*hits = c->hits;
	*lookups = c->lookups;
	pthread_mutex_unlock(&c->lock);
}
