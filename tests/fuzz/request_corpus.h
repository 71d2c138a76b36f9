/*
 * request_corpus.h: the requests the request fuzzer starts from, shared by the fuzzer (which
 * seeds its store with the first REQUEST_CORPUS_SEEDING of them) and request_fuzz_seeds
 * (which writes every one as a file of the seed corpus).
 *
 * Everything is fixed so that a seed written once stays valid against every store the fuzzer
 * creates: the identity provider's key comes from REQUEST_CORPUS_IDP_SEED, the service's clock
 * stands at REQUEST_CORPUS_NOW_S, and the seeding requests give the same ids (the collection
 * is "c" and the seq of its event) in every fresh store.
 */
#ifndef TESTS_FUZZ_REQUEST_CORPUS_H
#define TESTS_FUZZ_REQUEST_CORPUS_H

#include <sodium.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The seed of the identity provider's Ed25519 key pair: its public key is the fuzzed
 * server's idp_pk, its secret key signs the corpus's tokens. */
#define REQUEST_CORPUS_IDP_SEED "request_fuzz: the idp key seed!!" /* 32 bytes */
/* The fuzzed server's time, for tokens and commits: 2026-01-15T10:00:00Z. */
#define REQUEST_CORPUS_NOW_S INT64_C(1768471200)
/* Tokens of the corpus: issued a minute before, valid 300 days. */
#define REQUEST_CORPUS_TOKEN_TTL_S (300 * 86400)

#define REQUEST_CORPUS_FIRM          "FUZZ"
#define REQUEST_CORPUS_EC            "ec@cabinet-fuzz.fr"
#define REQUEST_CORPUS_COLLABORATOR  "collab@cabinet-fuzz.fr"
#define REQUEST_CORPUS_STRANGER      "stranger@example.fr" /* an account with no right in the firm */
#define REQUEST_CORPUS_PLATFORM      "platform"            /* the subject of platform tokens */
#define REQUEST_CORPUS_COLLECTION_ID "c12"                 /* what the seeding's CollectionCreate gives */

/* The first REQUEST_CORPUS_SEEDING requests make the fuzzer's store: each must succeed. */
#define REQUEST_CORPUS_SEEDING 15u

/* How many requests the corpus holds. */
size_t request_corpus_count(void);

/*
 * Builds request i of the corpus as a client sends it: an Envelope (a token and the packed
 * Request). Returns its bytes (malloc'd, the caller frees) and their count in *bytes, the
 * file name of the seed in *name (static), or NULL if i is out of range or memory ran out.
 */
uint8_t *request_corpus_envelope(size_t i, size_t *bytes, const char **name);

/* A valid token for actor (REQUEST_CORPUS_PLATFORM: a platform token) into out, of at least
 * API_TOKEN_BYTES_MAX bytes. False if it does not fit. */
bool request_corpus_token(const char *actor, char *out);

/* The identity provider's key pair, from REQUEST_CORPUS_IDP_SEED. */
void request_corpus_idp_keys(uint8_t pk[crypto_sign_PUBLICKEYBYTES], uint8_t sk[crypto_sign_SECRETKEYBYTES]);

#endif
