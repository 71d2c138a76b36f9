/*
 * evidence.c: CollectionEvidence, the collection's evidence bundle over RPC (docs/evidence.md),
 * the same zip `ledger-audit evidence` writes offline, for whoever may see the collection.
 *
 * The rights are checked before anything is read. The bundle is built from one read
 * transaction, from the collection's first event on (found by its creation time, in O(log n)
 * reads: the log's time never goes back), sealed by the platform's seal ledgerd recorded at its
 * start or renewed since (keys_on_record.c) at the service's clock,
 * in memory, and refused past API_EVIDENCE_BYTES_MAX: a larger one is made offline.
 */
#include "audit.h"
#include "evidence.h"
#include "server_internal.h"

#include <stdio.h>
#include <stdlib.h>

/* The lowest seq of txn's log whose commit time is at least time_us (head + 1 if none). */
static uint64_t first_seq_at(ledger *l, MDB_txn *txn, uint64_t head, int64_t time_us)
{
	uint64_t lo = 1, hi = head + 1; /* the answer is in [lo, hi] */
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		ledger_record rec;
		int64_t at = INT64_MAX; /* a record this snapshot does not hold is "later" */
		if (ledger_get(l, txn, mid, &rec) == LEDGER_OK) {
			Ledger__Events__Event *ev = ledger__events__event__unpack(NULL, rec.event_bytes, rec.event);
			if (ev)
				at = ev->committed_at_us;
			ledger__events__event__free_unpacked(ev, NULL);
		}
		if (at >= time_us)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* The bundle's documents name signers as the service knows them (external ones opened from
 * the sealed store, "effacé" once erased). */
typedef struct identity_ctx {
	proj *p;
	MDB_txn *txn;
	const char *firm_id, *collection_id;
} identity_ctx;

static bool identity_of(void *ctx, const char *signer, char *out, size_t out_bytes)
{
	const identity_ctx *c = ctx;
	return proj_signer_describe(c->p, c->txn, c->firm_id, c->collection_id, signer, out, out_bytes);
}

static void evidence_serve_sealed(worker *w, int64_t now_us)
{
	server *s = w->s;
	const Ledger__Api__CollectionEvidence *q = w->req->collection_evidence;
	MDB_txn *txn;
	if (ledger_read_begin(s->l, &txn) != LEDGER_OK) {
		worker_send_error(w, LEDGER__API__ERROR_CODE__INTERNAL, NULL, ledger_last_error());
		return;
	}
	int64_t created_at_us = 0;
	if (!proj_may_see_collection(s->p, txn, &w->actor, now_us, q->firm_id, q->collection_id, &created_at_us,
	                             &w->reply, w->arena)) {
		ledger_read_end(s->l, txn);
		worker_send_reply(w);
		return;
	}
	uint64_t head = 0;
	ledger_head(s->l, &head, NULL);
	identity_ctx who = {s->p, txn, q->firm_id, q->collection_id};
	const evidence_source src = {.l = s->l,
	                             .txn = txn,
	                             .key = &s->log_key->verifier,
	                             .head_seq = head,
	                             .from_seq = first_seq_at(s->l, txn, head, created_at_us),
	                             .identity = identity_of,
	                             .identity_ctx = &who};
	evidence_sealer sealer;
	char why[512] = "";
	uint8_t *zip = NULL;
	size_t zip_bytes = 0;
	evidence_made made = {0};
	int rc = 1;
	if (!s->ca || !s->log_key) { /* a server without its signer (the request fuzzer's) */
		snprintf(why, sizeof why, "this service has no signer to seal the bundle with");
		rc = AUDIT_EXIT_BAD;
	} else if (evidence_sealer_with(s->ca, s->platform_seal.serial, s->platform_seal.seq, now_us / 1000000, &sealer,
	                                why, sizeof why))
		rc = 0;
	if (!rc) {
		rc = evidence_to_memory(&src, q->firm_id, q->collection_id, &sealer, API_EVIDENCE_BYTES_MAX, &zip,
		                        &zip_bytes, &made, why, sizeof why);
		evidence_sealer_close(&sealer);
	}
	ledger_read_end(s->l, txn);
	Ledger__Api__EvidenceReply *r = rc ? NULL : proj_arena_alloc(w->arena, sizeof *r);
	if (rc || !r) {
		fprintf(stderr, "ledgerd: the evidence of %s/%s: %s\n", q->firm_id, q->collection_id,
		        why[0] ? why : "out of memory");
		worker_send_error(w,
		                  rc == AUDIT_EXIT_BAD ? LEDGER__API__ERROR_CODE__FAILED_PRECONDITION
		                                       : LEDGER__API__ERROR_CODE__INTERNAL,
		                  NULL, why[0] ? why : "out of memory");
		free(zip);
		return;
	}
	ledger__api__evidence_reply__init(r);
	r->zip = (ProtobufCBinaryData){zip_bytes, zip};
	r->events = made.events;
	r->documents = made.documents;
	r->checkpoint_size = made.checkpoint_size;
	w->reply.result_case = LEDGER__API__REPLY__RESULT_EVIDENCE;
	w->reply.evidence = r;
	worker_send_reply(w); /* packs the reply before it returns */
	free(zip);
}

/* The seal's lock is held from before the bundle's read transaction to its seal: a renewal
 * (expirer.c) happens wholly before or wholly after, so the seal's KeyCreated is in the snapshot
 * the bundle proves, and its key is not destroyed while it seals. */
void evidence_serve(worker *w, int64_t now_us)
{
	server *s = w->s; /* w is handed back to receiving once its reply is sent */
	pthread_rwlock_rdlock(&s->platform_seal_lock);
	evidence_serve_sealed(w, now_us);
	pthread_rwlock_unlock(&s->platform_seal_lock);
}
