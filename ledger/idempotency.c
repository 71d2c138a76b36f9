/*
 * idempotency.c: a command's client request id, scoped by actor, maps to the reply it got the
 * first time, so a retried request returns that reply and appends nothing. Only commands that
 * wrote events are recorded: a refused command is simply evaluated again when retried.
 */
#include "internal.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static void request_key(const char *actor, const char *request_id, uint8_t key[LEDGER_HASH_BYTES])
{
	crypto_hash_sha256_state st;
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)actor, strlen(actor));
	crypto_hash_sha256_update(&st, (const uint8_t *)"", 1);
	crypto_hash_sha256_update(&st, (const uint8_t *)request_id, strlen(request_id));
	crypto_hash_sha256_final(&st, key);
}

ledger_err ledger_request_get(ledger *l, MDB_txn *txn, const char *actor, const char *request_id,
                              ledger_request_record *out)
{
	uint8_t key[LEDGER_HASH_BYTES];
	request_key(actor, request_id, key);
	MDB_val k = {sizeof key, key}, v;
	int rc = mdb_get(txn, l->requests, &k, &v);
	if (rc)
		return ledger_mdb_err(rc);
	if (v.mv_size < LEDGER_HASH_BYTES)
		return LEDGER_ERR_CORRUPT;
	memcpy(out->body_hash, v.mv_data, LEDGER_HASH_BYTES);
	out->reply = (const uint8_t *)v.mv_data + LEDGER_HASH_BYTES;
	out->reply_bytes = v.mv_size - LEDGER_HASH_BYTES;
	return LEDGER_OK;
}

ledger_err ledger_request_put(ledger_txn *t, const char *actor, const char *request_id,
                              const uint8_t body_hash[LEDGER_HASH_BYTES], const uint8_t *reply, size_t reply_bytes)
{
	if (reply_bytes > LEDGER_REPLY_BYTES_MAX || strlen(request_id) > LEDGER_REQUEST_ID_BYTES_MAX)
		return LEDGER_ERR_TOO_LARGE;
	uint8_t key[LEDGER_HASH_BYTES];
	request_key(actor, request_id, key);
	MDB_val k = {sizeof key, key};
	MDB_val v = {LEDGER_HASH_BYTES + reply_bytes, NULL};
	int rc = mdb_put(t->txn, t->l->requests, &k, &v, MDB_RESERVE);
	if (rc)
		return ledger_fail(ledger_mdb_err(rc), "request record: %s", mdb_strerror(rc));
	memcpy(v.mv_data, body_hash, LEDGER_HASH_BYTES);
	if (reply_bytes)
		memcpy((uint8_t *)v.mv_data + LEDGER_HASH_BYTES, reply, reply_bytes);
	return LEDGER_OK;
}
