/*
 * bench-token-lookup: what it costs to find one key among many in a PKCS #11 token
 * (docs/benchmarks.md#token-lookup). Every registered person and firm has a key in the token
 * (docs/signer.md#token), so a token holds thousands; opening a credential loads its key.
 *
 * In a scratch embedded SoftHSM2 token, keys are generated up to each size asked for (default
 * 1 000 then 10 000), and at each size LOOKUPS keys drawn at random, never loaded before, are
 *   - loaded as ledgerd loads them the first time (token_key_load: C_FindObjects by label, then
 *     libp11's key for it, which PKCS11_enumerate_keys lists with every other key),
 *   - loaded again (the token handle's cache of loaded keys: no call into the token), and
 *   - found by label alone through the module (C_FindObjects, as token_key_protection does),
 * and the mean time of each is printed. It prints figures and asserts no timing.
 *
 * With --signer-process every operation goes through the signer process (ledger-signer, beside
 * this program), as in ledgerd serve: `again` is then a round trip to it (ledgerd keeps no cache of
 * its own; the signer process's answers from its cache).
 *
 * usage: bench-token-lookup [--signer-process] [SIZE...]
 */
#include "pkcs11_token.h"
#include "signer.h"

#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOOKUPS     20
#define LABEL_BYTES 32

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A fixed sequence, the same each run (xorshift64): which keys are looked up. */
static size_t next_index(uint64_t *state, size_t bound)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return (size_t)(*state % bound);
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st, (void)type, (void)ftw;
	return remove(path);
}

static void label_of(size_t i, char label[LABEL_BYTES])
{
	snprintf(label, LABEL_BYTES, "bench-%zu", i);
}

int main(int argc, char **argv)
{
	size_t sizes[16] = {1000, 10000};
	size_t size_count = 2;
	bool remote = argc > 1 && strcmp(argv[1], "--signer-process") == 0;
	if (argc > 1 + remote) {
		size_count = 0;
		for (int i = 1 + remote; i < argc && size_count < 16; i++)
			sizes[size_count++] = strtoull(argv[i], NULL, 10);
	}
	char root[] = "/tmp/bench-token-XXXXXX";
	if (!mkdtemp(root))
		return perror("mkdtemp"), 1;
	char keys[256];
	snprintf(keys, sizeof keys, "%s/keys", root);
	token_config c;
	token *t = NULL;
	if (signer_token_embedded_create(keys) != SIGNER_OK || (remote && signer_process_start(keys) != SIGNER_OK) ||
	    token_config_read(keys, &c) != SIGNER_OK || token_open(&c, &t) != SIGNER_OK) {
		fprintf(stderr, "bench-token-lookup: %s\n", signer_last_error());
		return 1;
	}
	printf("%8s %14s %16s %16s %16s\n", "keys", "generate (ms)", "load (ms)", "again (us)", "find only (ms)");
	size_t have = 0;
	uint64_t state = 88172645463325252ULL;
	for (size_t s = 0; s < size_count; s++) {
		char label[LABEL_BYTES];
		double start = now_s();
		size_t made = 0;
		for (; have < sizes[s]; have++, made++) {
			label_of(have, label);
			if (token_key_generate(t, label) != SIGNER_OK) {
				fprintf(stderr, "bench-token-lookup: %s\n", signer_last_error());
				return 1;
			}
		}
		double generate_ms = made ? (now_s() - start) * 1e3 / (double)made : 0;
		double load = 0, again = 0, find = 0;
		for (int i = 0; i < LOOKUPS; i++) {
			/* in the keys made at this size: never loaded before */
			label_of(have - made + next_index(&state, made ? made : 1), label);
			EVP_PKEY *key = NULL, *key_again = NULL;
			start = now_s();
			signer_err err = token_key_load(t, label, &key);
			load += now_s() - start;
			start = now_s();
			err = err ? err : token_key_load(t, label, &key_again);
			again += now_s() - start;
			EVP_PKEY_free(key);
			EVP_PKEY_free(key_again);
			bool sensitive, extractable;
			start = now_s();
			err = err ? err : token_key_protection(t, label, &sensitive, &extractable);
			find += now_s() - start;
			if (err) {
				fprintf(stderr, "bench-token-lookup: %s\n", signer_last_error());
				return 1;
			}
		}
		printf("%8zu %14.2f %16.2f %16.2f %16.2f\n", have, generate_ms, load * 1e3 / LOOKUPS,
		       again * 1e6 / LOOKUPS, find * 1e3 / LOOKUPS);
		fflush(stdout);
	}
	token_close(t);
	signer_process_stop();
	return nftw(root, remove_entry, 8, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : 1;
}
