/*
 * blobs.c: documents stored content-addressed beside the log (docs/design.md §3). Events
 * carry a document's SHA-256; its bytes live once in the `blobs` database, written in the same
 * transaction as the event that first references them, so an acknowledged reference never
 * points at nothing. Blobs are not projections: replay does not rebuild them, and
 * `ledger-audit verify` checks that each one still hashes to its key.
 */
#include "internal.h"

#include <sodium.h>
#include <string.h>

ledger_err ledger_blobs_open(ledger *l)
{
	if (l->has_blobs)
		return LEDGER_OK;
	ledger_err err = ledger_dbi_open(l, "blobs", 0, &l->blobs);
	if (err == LEDGER_ERR_NOT_LEDGER && l->read_only)
		return LEDGER_OK; /* a read-only copy of a store that never held a document */
	if (!err)
		l->has_blobs = true;
	return err;
}

ledger_err ledger_blob_put(ledger_txn *t, const uint8_t sha256[LEDGER_HASH_BYTES], const uint8_t *bytes, size_t n)
{
	ledger *l = t->l;
	if (!l->has_blobs)
		return ledger_fail(LEDGER_ERR_INVALID, "the blobs database is not open (ledger_blobs_open)");
	MDB_val k = {LEDGER_HASH_BYTES, (void *)sha256}, v = {n, NULL};
	int rc = mdb_put(t->txn, l->blobs, &k, &v, MDB_NOOVERWRITE | MDB_RESERVE);
	if (rc == MDB_KEYEXIST)
		return LEDGER_OK; /* the same bytes, by their hash */
	if (rc)
		return ledger_mdb_err(rc);
	memcpy(v.mv_data, bytes, n);
	return LEDGER_OK;
}

ledger_err ledger_blob_remove(ledger_txn *t, const uint8_t sha256[LEDGER_HASH_BYTES])
{
	ledger *l = t->l;
	if (!l->has_blobs)
		return ledger_fail(LEDGER_ERR_INVALID, "the blobs database is not open (ledger_blobs_open)");
	MDB_val k = {LEDGER_HASH_BYTES, (void *)sha256};
	int rc = mdb_del(t->txn, l->blobs, &k, NULL);
	return rc == MDB_NOTFOUND ? LEDGER_OK : ledger_mdb_err(rc);
}

ledger_err ledger_blob_get(ledger *l, MDB_txn *txn, const uint8_t sha256[LEDGER_HASH_BYTES], const uint8_t **bytes,
                           size_t *n)
{
	if (!l->has_blobs)
		return LEDGER_END;
	MDB_val k = {LEDGER_HASH_BYTES, (void *)sha256}, v;
	int rc = mdb_get(txn, l->blobs, &k, &v);
	if (rc == MDB_NOTFOUND)
		return LEDGER_END;
	if (rc)
		return ledger_mdb_err(rc);
	*bytes = v.mv_data;
	*n = v.mv_size;
	return LEDGER_OK;
}

ledger_err ledger_blobs_verify(ledger *l, MDB_txn *txn, uint64_t *count, uint8_t bad[LEDGER_HASH_BYTES])
{
	*count = 0;
	if (!l->has_blobs)
		return LEDGER_OK;
	MDB_cursor *cur;
	int rc = mdb_cursor_open(txn, l->blobs, &cur);
	if (rc)
		return ledger_mdb_err(rc);
	MDB_val k, v;
	ledger_err err = LEDGER_OK;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		uint8_t h[LEDGER_HASH_BYTES];
		const tlog_bytes whole = {v.mv_data, v.mv_size};
		tlog_sha256(&whole, 1, h);
		if (k.mv_size != LEDGER_HASH_BYTES || memcmp(h, k.mv_data, LEDGER_HASH_BYTES) != 0) {
			memcpy(bad, k.mv_data, k.mv_size < LEDGER_HASH_BYTES ? k.mv_size : LEDGER_HASH_BYTES);
			err = ledger_fail(LEDGER_ERR_CORRUPT, "a stored document does not match its SHA-256");
			break;
		}
		(*count)++;
	}
	mdb_cursor_close(cur);
	if (err)
		return err;
	return rc == MDB_NOTFOUND ? LEDGER_OK : ledger_mdb_err(rc);
}

uint64_t ledger_txn_next_seq(const ledger_txn *t)
{
	return t->seq + 1;
}

void ledger_txn_head(const ledger_txn *t, uint64_t *seq, uint8_t hash[LEDGER_HASH_BYTES])
{
	*seq = t->seq;
	memcpy(hash, t->hash, LEDGER_HASH_BYTES);
}

uint64_t ledger_blobs_absent_from(ledger *l, MDB_txn *txn, const uint8_t (*named)[LEDGER_HASH_BYTES], size_t count,
                                  char orphan[65])
{
	orphan[0] = '\0';
	if (!l->has_blobs)
		return 0;
	MDB_cursor *cur;
	if (mdb_cursor_open(txn, l->blobs, &cur))
		return 0;
	MDB_val k, v;
	uint64_t orphans = 0;
	/* Both in byte order: one merge pass. */
	size_t i = 0;
	for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != LEDGER_HASH_BYTES)
			continue;
		while (i < count && memcmp(named[i], k.mv_data, LEDGER_HASH_BYTES) < 0)
			i++;
		if (i < count && memcmp(named[i], k.mv_data, LEDGER_HASH_BYTES) == 0)
			continue;
		if (orphans++ == 0)
			ledger_hex(k.mv_data, LEDGER_HASH_BYTES, orphan);
	}
	mdb_cursor_close(cur);
	return orphans;
}
