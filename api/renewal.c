/*
 * renewal.c: DocumentTimestampRenew, PAdES B-LTA archive renewal of a stored document
 * (docs/signer.md#archive-renewal), for the firm's EC or the platform.
 *
 * The rights and the collection's state are checked before the document is read; the document
 * is copied out of a read transaction and renewed outside any (the time-stamping authority may
 * be remote and slow), at the service's clock; then a job on the committer stores the new
 * version and writes DocumentTimestampRenewed, unless the document moved on meanwhile (another
 * renewal came first: CONFLICT, nothing written). With due_before_s, a document whose last
 * time-stamp's certificate outlives that date is not renewed, and nothing is written.
 * Idempotent like every command: the reply is recorded under the request id with the event,
 * and a retry gets it again (marked replayed) without a second renewal.
 */
#include "server_internal.h"
#include "wake.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct renewal_job {
	ledger_job job;
	worker *w; /* its reply, filled but for seq and hash, is recorded with the event */
	const proj_renewal *renewal;
	const proj_renewed *result;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stale, done;
	ledger_err err;
} renewal_job;

/* A retry whose first renewal committed meanwhile gets that one's reply; else the event, and
 * the reply recorded under the request id in the same transaction. */
static ledger_err renewal_apply(ledger_job *job, ledger_txn *t)
{
	renewal_job *j = (renewal_job *)job;
	worker *w = j->w;
	bool found;
	ledger_err err = command_prior(w, ledger_txn_mdb(t), &found);
	if (err || found)
		return err;
	uint64_t seq;
	uint8_t hash[LEDGER_HASH_BYTES];
	err = proj_renewal_record(w->s->p, t, w->actor.subject, w->req->request_id, j->renewal, j->result, &j->stale,
	                          &seq, hash);
	return err || j->stale ? err : command_reply_record(w, t);
}

static void renewal_done(ledger_job *job, ledger_err err)
{
	renewal_job *j = (renewal_job *)job;
	j->err = err;
	api_wake(&j->lock, &j->wake, &j->done);
}

/* Commits the renewal and waits for its batch. */
static void renewal_commit(renewal_job *j)
{
	pthread_mutex_init(&j->lock, NULL);
	pthread_cond_init(&j->wake, NULL);
	j->job.apply = renewal_apply;
	j->job.done = renewal_done;
	ledger_committer_submit(j->w->s->committer, &j->job);
	pthread_mutex_lock(&j->lock);
	while (!j->done)
		pthread_cond_wait(&j->wake, &j->lock);
	pthread_mutex_unlock(&j->lock);
	pthread_mutex_destroy(&j->lock);
	pthread_cond_destroy(&j->wake);
}

/* A retry of a renewal already on record: its first reply again, marked replayed, without
 * renewing twice (or IDEMPOTENCY_MISMATCH for another body under the same id). True when
 * answered. */
static bool renewal_retry(worker *w)
{
	MDB_txn *txn;
	if (ledger_read_begin(w->s->l, &txn) != LEDGER_OK) {
		worker_send_error(w, LEDGER__API__ERROR_CODE__INTERNAL, NULL, ledger_last_error());
		return true;
	}
	bool found;
	ledger_err err = command_prior(w, txn, &found);
	ledger_read_end(w->s->l, txn);
	if (err)
		worker_send_error(w, LEDGER__API__ERROR_CODE__INTERNAL, NULL, ledger_strerror(err));
	else if (found && w->replayed)
		command_send_stored(w);
	else if (found)
		worker_send_reply(w);
	return err || found;
}

/* A copy of the renewal's source version (malloc'd), checked as in the rights; false with the
 * reply's error. */
static bool renewal_source(worker *w, int64_t now_us, proj_renewal *r, uint8_t **pdf, size_t *pdf_bytes)
{
	server *s = w->s;
	MDB_txn *txn;
	if (ledger_read_begin(s->l, &txn) != LEDGER_OK) {
		proj_error(&w->reply, w->arena, LEDGER__API__ERROR_CODE__INTERNAL, NULL, "%s", ledger_last_error());
		return false;
	}
	bool ok =
	    proj_renewal_check(s->p, txn, &w->actor, now_us, w->req->document_timestamp_renew, r, &w->reply, w->arena);
	const uint8_t *bytes = NULL;
	size_t n = 0;
	if (ok && (ledger_blob_get(s->l, txn, r->source_sha256, &bytes, &n) != LEDGER_OK || !(*pdf = malloc(n)))) {
		proj_error(&w->reply, w->arena, LEDGER__API__ERROR_CODE__INTERNAL, NULL,
		           "the document's current version cannot be read");
		ok = false;
	}
	if (ok) {
		memcpy(*pdf, bytes, n);
		*pdf_bytes = n;
	}
	ledger_read_end(s->l, txn);
	return ok;
}

static Ledger__Api__RenewalReply *renewal_reply(worker *w, const proj_renewal *r)
{
	Ledger__Api__RenewalReply *out = proj_arena_alloc(w->arena, sizeof *out);
	uint8_t *hashes = proj_arena_alloc(w->arena, 3 * LEDGER_HASH_BYTES);
	if (!out || !hashes)
		return NULL;
	ledger__api__renewal_reply__init(out);
	memcpy(hashes, r->original_sha256, LEDGER_HASH_BYTES);
	memcpy(hashes + LEDGER_HASH_BYTES, r->source_sha256, LEDGER_HASH_BYTES);
	out->original_sha256 = (ProtobufCBinaryData){LEDGER_HASH_BYTES, hashes};
	out->source_sha256 = (ProtobufCBinaryData){LEDGER_HASH_BYTES, hashes + LEDGER_HASH_BYTES};
	out->renewed_sha256 = (ProtobufCBinaryData){0, hashes + 2 * LEDGER_HASH_BYTES};
	w->reply.result_case = LEDGER__API__REPLY__RESULT_RENEWAL;
	w->reply.renewal = out;
	return out;
}

/* The signer's refusal as the reply's error. */
static void renewal_refused(worker *w, signer_err err)
{
	Ledger__Api__ErrorCode code = err == SIGNER_ERR_NO_TIMESTAMP || err == SIGNER_ERR_TSA || err == SIGNER_ERR_CLOCK
	                                  ? LEDGER__API__ERROR_CODE__FAILED_PRECONDITION
	                                  : LEDGER__API__ERROR_CODE__INTERNAL;
	char why[SIGNER_ERROR_BYTES_MAX + 64];
	snprintf(why, sizeof why, "%s: %s", signer_strerror(err), signer_last_error());
	worker_send_error(w, code, err == SIGNER_ERR_NO_TIMESTAMP ? "original_sha256" : NULL, why);
}

void renewal_serve(worker *w, int64_t now_us)
{
	server *s = w->s;
	const Ledger__Api__DocumentTimestampRenew *q = w->req->document_timestamp_renew;
	if (!s->ca) { /* a server without its signer (the request fuzzer's) */
		worker_send_error(w, LEDGER__API__ERROR_CODE__FAILED_PRECONDITION, NULL, "this service has no signer");
		return;
	}
	if (renewal_retry(w))
		return;
	proj_renewal r;
	uint8_t *pdf = NULL, *out = NULL;
	size_t pdf_bytes = 0, out_bytes = 0;
	if (!renewal_source(w, now_us, &r, &pdf, &pdf_bytes)) {
		worker_send_reply(w);
		return;
	}
	/* The stored version is ours and already bounded: its own size is its limit. */
	signer_timestamp_facts before, after;
	signer_err err = signer_pdf_last_timestamp(pdf, pdf_bytes, pdf_bytes, &before);
	bool due = !err && (q->due_before_s == 0 || before.tsa_not_after_s < q->due_before_s);
	if (!err && due)
		err = signer_pades_renew_timestamp(s->ca, s->tsa, pdf, pdf_bytes, pdf_bytes, now_us / 1000000, &out,
		                                   &out_bytes, &after);
	free(pdf);
	if (err) {
		renewal_refused(w, err);
		return;
	}
	Ledger__Api__RenewalReply *reply = renewal_reply(w, &r);
	if (!reply) {
		free(out);
		worker_send_error(w, LEDGER__API__ERROR_CODE__INTERNAL, NULL, "out of memory");
		return;
	}
	if (!due) { /* its time-stamp outlives the date asked: nothing to do yet */
		reply->tsa_not_after_s = before.tsa_not_after_s;
		worker_send_reply(w);
		return;
	}
	proj_renewed result = {.bytes = out,
	                       .bytes_count = out_bytes,
	                       .timestamp_time_s = after.time_s,
	                       .tsa_certificate_serial = after.tsa_serial,
	                       .tsa_not_after_s = after.tsa_not_after_s,
	                       .previous_tsa_certificate_serial = before.tsa_serial,
	                       .previous_tsa_not_after_s = before.tsa_not_after_s};
	crypto_hash_sha256(result.sha256, out, out_bytes);
	memcpy(reply->renewed_sha256.data, result.sha256, LEDGER_HASH_BYTES);
	reply->renewed_sha256.len = LEDGER_HASH_BYTES;
	reply->renewed = true;
	reply->timestamp_time_s = after.time_s;
	reply->tsa_certificate_serial = proj_arena_strdup(w->arena, after.tsa_serial);
	reply->tsa_not_after_s = after.tsa_not_after_s;
	renewal_job j = {.w = w, .renewal = &r, .result = &result};
	renewal_commit(&j);
	free(out);
	if (j.err || j.stale) {
		/* stopping: UNAVAILABLE, ask again; nothing was written either way */
		worker_send_error(
		    w,
		    j.err == LEDGER_ERR_STOPPED ? LEDGER__API__ERROR_CODE__UNAVAILABLE
		    : j.err                     ? LEDGER__API__ERROR_CODE__INTERNAL
		                                : LEDGER__API__ERROR_CODE__CONFLICT,
		    NULL,
		    j.err ? ledger_strerror(j.err)
		          : "the document changed while it was renewed (another renewal came first): ask again");
		return;
	}
	if (w->stored)
		command_send_stored(w); /* this renewal's reply, or a retry's first one */
	else
		worker_send_reply(w); /* IDEMPOTENCY_MISMATCH */
}
