/*
 * sha256.c: SHA-256 through OpenSSL's EVP, which uses the CPU's SHA instructions where there
 * are some (libsodium's portable code is about four times slower on a log record of a few
 * hundred bytes: docs/benchmarks.md, bench-audit). One EVP context per thread, kept in a
 * pthread key whose destructor frees it when the thread ends; libsodium if EVP fails, so
 * hashing never fails. Used for every hash of the tree, and by ledger/ for the chain.
 */
#include "tlog.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_key_t ctx_key;
static EVP_MD *sha256; /* fetched once, never freed: the process's */

static void free_ctx(void *ctx)
{
	EVP_MD_CTX_free(ctx);
}

static void init(void)
{
	sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (pthread_key_create(&ctx_key, free_ctx) != 0 && sha256) {
		EVP_MD_free(sha256);
		sha256 = NULL;
	}
}

static EVP_MD_CTX *thread_ctx(void)
{
	pthread_once(&once, init);
	if (!sha256)
		return NULL;
	EVP_MD_CTX *ctx = pthread_getspecific(ctx_key);
	if (!ctx) {
		ctx = EVP_MD_CTX_new();
		if (ctx && pthread_setspecific(ctx_key, ctx) != 0) {
			EVP_MD_CTX_free(ctx);
			ctx = NULL;
		}
	}
	return ctx;
}

void tlog_sha256(const tlog_bytes *parts, size_t count, uint8_t out[TLOG_HASH_BYTES])
{
	EVP_MD_CTX *ctx = thread_ctx();
	bool ok = ctx && EVP_DigestInit_ex2(ctx, sha256, NULL) == 1;
	for (size_t i = 0; ok && i < count; i++)
		ok = EVP_DigestUpdate(ctx, parts[i].bytes, parts[i].n) == 1;
	if (ok && EVP_DigestFinal_ex(ctx, out, NULL) == 1)
		return;
	crypto_hash_sha256_state st;
	crypto_hash_sha256_init(&st);
	for (size_t i = 0; i < count; i++)
		crypto_hash_sha256_update(&st, parts[i].bytes, parts[i].n);
	crypto_hash_sha256_final(&st, out);
}
