/*
 * chain.c: the hash chain. Each record's hash covers its seq, its predecessor's hash and its
 * event bytes, under a domain tag, so that changing, removing, inserting or reordering any
 * record changes every hash after it (docs/log-format.md gives the bytes).
 */
#include "internal.h"

#include <assert.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

void ledger_hash_record(uint64_t seq, const uint8_t prev_hash[LEDGER_HASH_BYTES], const uint8_t *event,
                        size_t event_bytes, uint8_t hash[LEDGER_HASH_BYTES])
{
	/* The tag, seq and previous hash in one piece: fewer EVP calls per record. */
	enum { TAG_BYTES = sizeof LEDGER_HASH_TAG - 1 };
	uint8_t head[TAG_BYTES + 8 + LEDGER_HASH_BYTES];
	memcpy(head, LEDGER_HASH_TAG, TAG_BYTES);
	ledger_put_u64_be(head + TAG_BYTES, seq);
	memcpy(head + TAG_BYTES + 8, prev_hash, LEDGER_HASH_BYTES);
	const tlog_bytes parts[] = {{head, sizeof head}, {event, event_bytes}};
	tlog_sha256(parts, 2, hash);
}

static ledger_err bad(ledger_verify_result *r, uint64_t seq, const char *reason)
{
	r->bad_seq = seq;
	snprintf(r->reason, sizeof r->reason, "%s", reason);
	return LEDGER_ERR_CORRUPT;
}

/* Checks one record against the expected seq and predecessor. */
static ledger_err check_record(const ledger_record *rec, uint64_t expected_seq, const uint8_t prev[LEDGER_HASH_BYTES],
                               ledger_verify_result *r)
{
	uint8_t hash[LEDGER_HASH_BYTES];
	if (rec->seq != expected_seq)
		return bad(r, expected_seq, "missing record: the next key is not the next seq");
	if (memcmp(rec->prev_hash, prev, LEDGER_HASH_BYTES) != 0)
		return bad(r, expected_seq, "prev_hash does not match the previous record's hash");
	ledger_hash_record(rec->seq, rec->prev_hash, rec->event, rec->event_bytes, hash);
	if (memcmp(hash, rec->hash, LEDGER_HASH_BYTES) != 0)
		return bad(r, expected_seq, "stored hash does not match the record's contents");
	return LEDGER_OK;
}

ledger_err ledger_verify(ledger *l, MDB_txn *txn, ledger_verify_result *r)
{
	return ledger_verify_range(l, txn, 1, 0, r);
}

/* The meta head is written in the same transaction as the records: a log shorter than the
 * head means records were removed from its end; a longer one, records added past it. */
static ledger_err check_head(ledger *l, MDB_txn *txn, const uint8_t last_hash[LEDGER_HASH_BYTES],
                             ledger_verify_result *r)
{
	MDB_val k = {8, "head_seq"}, v;
	uint64_t meta_seq = 0;
	if (mdb_get(txn, l->meta, &k, &v) == 0 && v.mv_size == 8)
		meta_seq = ledger_get_u64_be(v.mv_data);
	if (meta_seq != r->head_seq)
		return bad(r, meta_seq > r->head_seq ? r->head_seq + 1 : meta_seq + 1,
		           meta_seq > r->head_seq ? "records missing at the end of the log (head says more)"
		                                  : "records beyond the recorded head");
	k = (MDB_val){9, "head_hash"};
	if (r->head_seq > 0 && (mdb_get(txn, l->meta, &k, &v) != 0 || v.mv_size != LEDGER_HASH_BYTES ||
	                        memcmp(v.mv_data, last_hash, LEDGER_HASH_BYTES) != 0))
		return bad(r, r->head_seq, "last record's hash differs from the recorded head hash");
	return LEDGER_OK;
}

ledger_err ledger_verify_range(ledger *l, MDB_txn *txn, uint64_t first_seq, uint64_t last_seq, ledger_verify_result *r)
{
	memset(r, 0, sizeof *r);
	if (first_seq == 0 || (last_seq && last_seq < first_seq))
		return LEDGER_ERR_INVALID;
	uint8_t prev[LEDGER_HASH_BYTES] = {0};
	ledger_record rec;
	if (first_seq > 1) {
		if (ledger_get(l, txn, first_seq - 1, &rec) != LEDGER_OK)
			return bad(r, first_seq - 1, "the record before the range is missing or malformed");
		memcpy(prev, rec.hash, LEDGER_HASH_BYTES);
		r->head_seq = first_seq - 1;
	}
	ledger_iter *it;
	/* From seq 1, start at the first key of all, so nothing stored before it goes unseen. */
	ledger_err err = ledger_iter_open(l, txn, first_seq == 1 ? 0 : first_seq, &it);
	if (err)
		return err;
	uint64_t expected = first_seq;
	while ((last_seq == 0 || expected <= last_seq) && (err = ledger_iter_next(it, &rec)) == LEDGER_OK) {
		err = check_record(&rec, expected, prev, r);
		if (err)
			break;
		memcpy(prev, rec.hash, LEDGER_HASH_BYTES);
		r->events++;
		r->head_seq = expected;
		expected++;
	}
	ledger_iter_close(it);
	if (err == LEDGER_ERR_CORRUPT && r->bad_seq == 0) {
		/* The iterator refused the record: a bad key or magic, or a seq field unlike its key. */
		if (rec.seq != expected)
			return bad(r, expected,
			           rec.seq == 0 ? "malformed key" : "missing record: the next key is not the next seq");
		return bad(r, expected, "malformed record header (magic or seq differs from its key)");
	}
	memcpy(r->head_hash, prev, LEDGER_HASH_BYTES);
	if (err == LEDGER_OK) /* stopped at last_seq, before the end of the log */
		return r->head_seq == last_seq ? LEDGER_OK : LEDGER_ERR_INVALID;
	if (err != LEDGER_END)
		return err;
	if (last_seq && r->head_seq < last_seq)
		return bad(r, r->head_seq + 1, "the range goes past the end of the log");
	return check_head(l, txn, prev, r);
}
