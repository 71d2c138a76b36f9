/*
 * bench-signer-process: what the signer process costs a signature (docs/benchmarks.md#signer-process).
 * In a scratch embedded SoftHSM2 token, one key; SIGNATURES signatures of a SHA-256 digest
 * (EVP_PKEY_sign, as X509_sign, CMS and the TS and OCSP responders call it) with that key, first
 * loaded in this process (libp11 calling C_Sign: what ledgerd did before the signer process),
 * then through the signer process (signer_process_start: a request over the socketpair, the
 * signer process calling C_Sign), from 1 thread and from THREADS threads at once (the requests
 * are serialised on one socket). It prints the wall time per signature of each, and asserts no
 * timing. ledger-signer must be beside this program (as in build/bin).
 *
 * usage: bench-signer-process
 */
#include "pkcs11_token.h"
#include "signer.h"

#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SIGNATURES 2000
#define THREADS    4

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct run {
	EVP_PKEY *key;
	int count;
	int failed;
} run;

static void *sign_some(void *arg)
{
	run *r = arg;
	unsigned char digest[32] = {1}, sig[128];
	for (int i = 0; i < r->count; i++) {
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(r->key, NULL);
		size_t bytes = sizeof sig;
		r->failed += !ctx || EVP_PKEY_sign_init(ctx) != 1 ||
		             EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) != 1 ||
		             EVP_PKEY_sign(ctx, sig, &bytes, digest, sizeof digest) != 1;
		EVP_PKEY_CTX_free(ctx);
	}
	return NULL;
}

/* Wall µs per signature with key from threads threads; prints the row. */
static void measure(const char *what, EVP_PKEY *key, int threads)
{
	pthread_t ids[THREADS];
	run runs[THREADS];
	double start = now_s();
	for (int i = 0; i < threads; i++) {
		runs[i] = (run){key, SIGNATURES / threads, 0};
		pthread_create(&ids[i], NULL, sign_some, &runs[i]);
	}
	int failed = 0;
	for (int i = 0; i < threads; i++) {
		pthread_join(ids[i], NULL);
		failed += runs[i].failed;
	}
	double us = (now_s() - start) * 1e6 / SIGNATURES;
	printf("  %-16s %d thread%s: %7.1f µs per signature (wall), %d failed\n", what, threads,
	       threads > 1 ? "s" : " ", us, failed);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

int main(void)
{
	char dir[] = "/tmp/bench-signer-process-XXXXXX", keys[64];
	if (!mkdtemp(dir))
		return 1;
	snprintf(keys, sizeof keys, "%s/keys", dir);
	token_config c;
	token *t = NULL;
	EVP_PKEY *local = NULL, *remote = NULL;
	int rc = 1;
	if (signer_token_embedded_create(keys) || token_config_read(keys, &c) || token_open(&c, &t) ||
	    token_key_generate(t, "bench") || token_key_load(t, "bench", &local))
		fprintf(stderr, "bench-signer-process: the token: %s\n", signer_last_error());
	else {
		printf("bench-signer-process: %d ECDSA P-256 signatures of a digest, SoftHSM2\n", SIGNATURES);
		measure("in process", local, 1);
		measure("in process", local, THREADS);
		token *r = NULL;
		if (signer_process_start(keys) || token_open(&c, &r) || token_key_load(r, "bench", &remote))
			fprintf(stderr, "bench-signer-process: the signer process: %s\n", signer_last_error());
		else {
			measure("signer process", remote, 1);
			measure("signer process", remote, THREADS);
			rc = 0;
		}
		token_close(r);
		EVP_PKEY_free(remote);
		signer_process_stop();
	}
	EVP_PKEY_free(local);
	token_close(t);
	nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	return rc;
}
