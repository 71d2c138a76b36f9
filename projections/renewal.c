/*
 * renewal.c: the ledger's side of PAdES B-LTA archive renewal (docs/signer.md#archive-renewal):
 * who may ask for a stored document to be re-time-stamped, which version is renewed, and the
 * DocumentTimestampRenewed event that records the version produced. ledgerd (api/renewal.c)
 * checks here, renews outside any transaction, and records here, in a job that checks that the
 * document has not moved on meanwhile.
 *
 * Rights: the guide's matrix has no archive column; renewing the firm's archive is managing the
 * firm ("Gérer le cabinet/préférences": EC only), so the action is platform.firm_settings, which
 * the firm's EC holds and the platform too (an operator's cron over every firm).
 */
#include "collection_states.h"
#include "commands.h"

#include <stdio.h>
#include <string.h>

typedef Ledger__State__Collection collection;

#define RENEWAL_ACTION "platform.firm_settings"

/* The document q names in c (its only one when q names none); -1 with the reply's error. */
static ssize_t renewal_document(const collection *c, const Ledger__Api__DocumentTimestampRenew *q,
                                Ledger__Api__Reply *reply, proj_arena *arena)
{
	if (q->original_sha256.len == 0) {
		if (c->n_documents == 1)
			return 0;
		proj_error(reply, arena, LEDGER__API__ERROR_CODE__INVALID_ARGUMENT, "original_sha256",
		           "collection %s has %zu documents: name the one to renew", c->collection_id, c->n_documents);
		return -1;
	}
	ssize_t d = q->original_sha256.len == LEDGER_HASH_BYTES
	                ? proj_collection_document(c, q->original_sha256.data, q->original_sha256.len)
	                : -1;
	if (d < 0)
		proj_error(reply, arena, LEDGER__API__ERROR_CODE__NOT_FOUND, "original_sha256",
		           "collection %s has no such document", c->collection_id);
	return d;
}

bool proj_renewal_check(proj *p, MDB_txn *txn, const proj_actor *actor, int64_t now_us,
                        const Ledger__Api__DocumentTimestampRenew *q, proj_renewal *out, Ledger__Api__Reply *reply,
                        proj_arena *arena)
{
	memset(out, 0, sizeof *out);
	if (!proj_authorise_query(p, txn, actor, q->firm_id, RENEWAL_ACTION, now_us, reply, arena))
		return false;
	if (q->due_before_s < 0) {
		proj_error(reply, arena, LEDGER__API__ERROR_CODE__INVALID_ARGUMENT, "due_before_s",
		           "due_before_s %lld is before 1970", (long long)q->due_before_s);
		return false;
	}
	ProtobufCAllocator alloc;
	proj_arena_allocator(arena, &alloc);
	collection *c;
	ledger_err err = proj_collection_get(p, txn, q->firm_id, q->collection_id, &alloc, &c);
	if (err) {
		proj_error(reply, arena,
		           err == LEDGER_END ? LEDGER__API__ERROR_CODE__NOT_FOUND : LEDGER__API__ERROR_CODE__INTERNAL,
		           "collection_id", "no collection %.32s in firm %s", q->collection_id, q->firm_id);
		return false;
	}
	if (c->state != LEDGER__EVENTS__COLLECTION_STATE__STATE_COMPLETED) {
		proj_error(reply, arena, LEDGER__API__ERROR_CODE__INVALID_TRANSITION, "collection_id",
		           "collection %s is %s: only a completed collection's documents are renewed", c->collection_id,
		           proj_collection_state_name(c->state));
		return false;
	}
	ssize_t d = renewal_document(c, q, reply, arena);
	if (d < 0)
		return false;
	const Ledger__State__Document *doc = c->documents[d];
	if (doc->sha256.len != LEDGER_HASH_BYTES || doc->current_sha256.len != LEDGER_HASH_BYTES) {
		proj_error(reply, arena, LEDGER__API__ERROR_CODE__INTERNAL, NULL,
		           "the document's versions are unreadable");
		return false;
	}
	snprintf(out->firm_id, sizeof out->firm_id, "%s", c->firm_id);
	snprintf(out->collection_id, sizeof out->collection_id, "%s", c->collection_id);
	memcpy(out->original_sha256, doc->sha256.data, LEDGER_HASH_BYTES);
	memcpy(out->source_sha256, doc->current_sha256.data, LEDGER_HASH_BYTES);
	return true;
}

static ProtobufCBinaryData hash_bytes(const uint8_t hash[LEDGER_HASH_BYTES])
{
	return (ProtobufCBinaryData){LEDGER_HASH_BYTES, (uint8_t *)hash};
}

ledger_err proj_renewal_record(proj *p, ledger_txn *t, const char *actor, const char *request_id, const proj_renewal *r,
                               const proj_renewed *result, bool *stale, uint64_t *seq, uint8_t hash[LEDGER_HASH_BYTES])
{
	*stale = true;
	MDB_txn *txn = ledger_txn_mdb(t);
	proj_arena *arena;
	collection *c;
	ledger_err err = proj_collection_get_arena(p, txn, r->firm_id, r->collection_id, &arena, &c);
	ssize_t d = err ? -1 : proj_collection_document(c, r->original_sha256, LEDGER_HASH_BYTES);
	/* Still completed, and still at the version renewed? Else another renewal came first. */
	if (d < 0 || c->state != LEDGER__EVENTS__COLLECTION_STATE__STATE_COMPLETED ||
	    c->documents[d]->current_sha256.len != LEDGER_HASH_BYTES ||
	    memcmp(c->documents[d]->current_sha256.data, r->source_sha256, LEDGER_HASH_BYTES) != 0) {
		proj_arena_free(arena);
		return err == LEDGER_END ? LEDGER_OK : err;
	}
	*stale = false;
	err = ledger_blob_put(t, result->sha256, result->bytes, result->bytes_count);
	Ledger__Events__DocumentTimestampRenewed e = LEDGER__EVENTS__DOCUMENT_TIMESTAMP_RENEWED__INIT;
	e.collection_id = c->collection_id;
	e.original_sha256 = hash_bytes(r->original_sha256);
	e.source_sha256 = hash_bytes(r->source_sha256);
	e.renewed_sha256 = hash_bytes(result->sha256);
	e.bytes = result->bytes_count;
	e.timestamp_time_s = result->timestamp_time_s;
	e.tsa_certificate_serial = (char *)result->tsa_certificate_serial;
	e.tsa_not_after_s = result->tsa_not_after_s;
	e.previous_tsa_certificate_serial = (char *)result->previous_tsa_certificate_serial;
	e.previous_tsa_not_after_s = result->previous_tsa_not_after_s;
	Ledger__Events__Event ev = PROJ_EVENT(DOCUMENT_TIMESTAMP_RENEWED, document_timestamp_renewed, &e);
	if (!err)
		err = proj_emit(p, t, actor, request_id, c->firm_id, &ev, seq, hash);
	proj_arena_free(arena);
	return err;
}
