/*
 * request_hash_test: the body hash of a command (api/request_hash.c) is SHA-256 of the
 * request packed with its token and request id emptied; it ignores those two fields, sees
 * any change of the body, and needs no memory of the request's size (a 10 MiB upload).
 * It used to pack into a malloc'd copy and, when that failed, silently hash nothing: two
 * different bodies then shared a hash and a retry with another body was taken as the same.
 */
#include "../check.h"
#include "request_hash.h"

#include <stdlib.h>

static void packed_hash(const Ledger__Api__Request *req, uint8_t out[crypto_hash_sha256_BYTES])
{
	Ledger__Api__Request copy = *req;
	copy.token = (char *)"";
	copy.request_id = (char *)"";
	size_t n = ledger__api__request__get_packed_size(&copy);
	uint8_t *buf = malloc(n ? n : 1);
	if (!buf)
		abort();
	ledger__api__request__pack(&copy, buf);
	crypto_hash_sha256(out, buf, n);
	free(buf);
}

static Ledger__Api__Request document_add(Ledger__Api__DocumentAdd *add, Ledger__Api__CollectionRef *ref,
                                         uint8_t *content, size_t bytes)
{
	ledger__api__collection_ref__init(ref);
	ref->firm_id = (char *)"F1";
	ref->collection_id = (char *)"C1";
	ledger__api__document_add__init(add);
	add->ref = ref;
	add->filename = (char *)"contract.pdf";
	add->content.data = content;
	add->content.len = bytes;
	Ledger__Api__Request req;
	ledger__api__request__init(&req);
	req.token = (char *)"v1.token";
	req.request_id = (char *)"r-1";
	req.body_case = LEDGER__API__REQUEST__BODY_DOCUMENT_ADD;
	req.document_add = add;
	return req;
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	size_t bytes = 10u << 20;
	uint8_t *content = malloc(bytes);
	REQUIRE(content != NULL, "10 MiB");
	randombytes_buf(content, bytes);
	Ledger__Api__DocumentAdd add;
	Ledger__Api__CollectionRef ref;
	Ledger__Api__Request req = document_add(&add, &ref, content, bytes);

	uint8_t streamed[crypto_hash_sha256_BYTES], whole[crypto_hash_sha256_BYTES];
	api_request_body_hash(&req, streamed);
	packed_hash(&req, whole);
	CHECK(memcmp(streamed, whole, sizeof whole) == 0,
	      "streamed hash of a 10 MiB upload = hash of its packed bytes");

	uint8_t other[crypto_hash_sha256_BYTES];
	req.token = (char *)"v1.another-token";
	req.request_id = (char *)"r-2";
	api_request_body_hash(&req, other);
	CHECK(memcmp(streamed, other, sizeof other) == 0, "token and request id are not part of the body");

	content[bytes - 1] ^= 1;
	api_request_body_hash(&req, other);
	CHECK(memcmp(streamed, other, sizeof other) != 0, "the last byte of the body changes the hash");
	content[bytes - 1] ^= 1;
	ref.collection_id = (char *)"C2";
	api_request_body_hash(&req, other);
	CHECK(memcmp(streamed, other, sizeof other) != 0, "the collection changes the hash");

	Ledger__Api__Request empty;
	ledger__api__request__init(&empty);
	api_request_body_hash(&empty, streamed);
	packed_hash(&empty, whole);
	CHECK(memcmp(streamed, whole, sizeof whole) == 0, "an empty request hashes as its (empty) packing");
	free(content);
	return check_report(__FILE__);
}
