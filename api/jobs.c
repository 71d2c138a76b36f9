/*
 * jobs.c: a command as the committer runs it (idempotency, the decision, refusals on record),
 * and its reply once the batch is durable.
 */
#include "server_internal.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Takes a token from the actor's bucket. True: write the refusal, with *suppressed the count
 * of those skipped since the last written. False: skip it (and count it). */
static bool denial_allowed(server *s, const char *actor, int64_t now_us, uint32_t *suppressed)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (const unsigned char *c = (const unsigned char *)actor; *c; c++)
		h = (h ^ *c) * 1099511628211ull;
	denial_slot *slot = &s->denials[h % DENIAL_SLOTS];
	if (slot->refilled_us == 0) {
		slot->tokens = DENIALS_BURST;
		slot->refilled_us = now_us;
	}
	int64_t gained = (now_us - slot->refilled_us) / DENIAL_REFILL_US;
	if (gained > 0) {
		slot->tokens = gained >= DENIALS_BURST ? DENIALS_BURST : slot->tokens + (uint32_t)gained;
		if (slot->tokens > DENIALS_BURST)
			slot->tokens = DENIALS_BURST;
		slot->refilled_us += gained * DENIAL_REFILL_US;
	}
	if (slot->tokens == 0) {
		slot->suppressed++;
		return false;
	}
	slot->tokens--;
	*suppressed = slot->suppressed;
	slot->suppressed = 0;
	return true;
}

ledger_err command_prior(worker *w, MDB_txn *txn, bool *found)
{
	*found = false;
	ledger_request_record prior;
	ledger_err err = ledger_request_get(w->s->l, txn, w->actor.subject, w->req->request_id, &prior);
	if (err != LEDGER_OK)
		return err == LEDGER_END ? LEDGER_OK : err;
	*found = true;
	if (memcmp(prior.body_hash, w->body_hash, LEDGER_HASH_BYTES) != 0) {
		ledger__api__reply__init(&w->reply);
		proj_error(&w->reply, w->arena, LEDGER__API__ERROR_CODE__IDEMPOTENCY_MISMATCH, "request_id",
		           "request id %.128s was already used by %s for a different command", w->req->request_id,
		           w->actor.subject);
		return LEDGER_OK;
	}
	w->stored = malloc(prior.reply_bytes ? prior.reply_bytes : 1);
	if (!w->stored)
		return LEDGER_ERR_NOMEM;
	memcpy(w->stored, prior.reply, prior.reply_bytes);
	w->stored_bytes = prior.reply_bytes;
	w->replayed = true;
	return LEDGER_OK;
}

ledger_err command_reply_record(worker *w, ledger_txn *t)
{
	uint8_t *hash = proj_arena_alloc(w->arena, LEDGER_HASH_BYTES);
	if (!hash)
		return LEDGER_ERR_NOMEM;
	ledger_txn_head(t, &w->reply.seq, hash);
	w->reply.hash = (ProtobufCBinaryData){LEDGER_HASH_BYTES, hash};
	w->reply.request_id = w->req->request_id;
	w->stored_bytes = ledger__api__reply__get_packed_size(&w->reply);
	w->stored = malloc(w->stored_bytes);
	if (!w->stored)
		return LEDGER_ERR_NOMEM;
	ledger__api__reply__pack(&w->reply, w->stored);
	return ledger_request_put(t, w->actor.subject, w->req->request_id, w->body_hash, w->stored, w->stored_bytes);
}

ledger_err command_job_apply(ledger_job *job, ledger_txn *t)
{
	worker *w = (worker *)job;
	free(w->stored);
	w->stored = NULL;
	w->replayed = false;
	ledger__api__reply__init(&w->reply);
	bool found;
	ledger_err err = command_prior(w, ledger_txn_mdb(t), &found);
	if (err || found)
		return err;
	err = w->has_upload ? proj_execute_upload(w->s->p, t, &w->actor, w->req->request_id, w->exec, &w->upload,
	                                          &w->reply, w->arena)
	                    : proj_execute_issued(w->s->p, t, &w->actor, w->req->request_id, w->exec,
	                                          w->has_issued ? &w->issued : NULL, &w->reply, w->arena);
	if (err)
		return err;
	if (w->reply.error && w->reply.error->code == LEDGER__API__ERROR_CODE__PERMISSION_DENIED) {
		uint32_t suppressed;
		if (denial_allowed(w->s, w->actor.subject, ledger_txn_time_us(t), &suppressed))
			return proj_record_denial(w->s->p, t, &w->actor, w->req->request_id, w->req, w->reply.error,
			                          suppressed);
		return LEDGER_OK;
	}
	assert(!(w->reply.error && w->reply.seq)); /* a refused command writes no event */
	if (w->reply.seq == 0)
		return LEDGER_OK; /* refused, or nothing to do: not recorded, a retry re-evaluates */
	/* The reply names the command's last event: every event it wrote, alerts and a completion
	 * written by helpers included, is in the batch before the next job's (rpc.md: seq). */
	return command_reply_record(w, t);
}

/*
 * Sends a reply that wrote events with the log's latest checkpoint (which includes them: it was
 * signed in their batch or a later one) as field 6 after its bytes. Protobuf merges
 * concatenated encodings, so the reply recorded for retries stays the bytes of the decision,
 * and each answer carries the checkpoint of its time.
 */
static void send_with_checkpoint(worker *w, const uint8_t *reply, size_t n)
{
	char checkpoint[LEDGER_CHECKPOINT_BYTES_MAX];
	size_t c = ledger_checkpoint_current(w->s->l, checkpoint);
	uint8_t *buf = malloc(n + 3 + c);
	if (!buf || c == 0) {
		free(buf);
		worker_send_bytes(w, reply, n);
		return;
	}
	memcpy(buf, reply, n);
	size_t at = n;
	buf[at++] = (6 << 3) | 2; /* field 6, length-delimited */
	for (size_t v = c;; v >>= 7) {
		buf[at++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		if (v <= 0x7f)
			break;
	}
	memcpy(buf + at, checkpoint, c);
	worker_send_bytes(w, buf, at + c);
	free(buf);
}

void command_job_done(ledger_job *job, ledger_err err)
{
	worker *w = (worker *)job;
	certificates_after_commit(w, err);
	if (err) {
		Ledger__Api__ErrorCode code = LEDGER__API__ERROR_CODE__INTERNAL;
		if (err == LEDGER_ERR_MAP_FULL || err == LEDGER_ERR_DISK_FULL)
			code = LEDGER__API__ERROR_CODE__STORAGE_FULL;
		else if (err == LEDGER_ERR_STOPPED)
			code = LEDGER__API__ERROR_CODE__UNAVAILABLE;
		char message[600];
		snprintf(message, sizeof message, "nothing was written: %s (%s)", ledger_strerror(err),
		         ledger_last_error());
		worker_send_error(w, code, NULL, message);
		return;
	}
	if (!w->stored) {
		worker_send_reply(w); /* refused: reply->error is set */
		return;
	}
	command_send_stored(w);
}

void command_send_stored(worker *w)
{
	if (!w->replayed) {
		send_with_checkpoint(w, w->stored, w->stored_bytes);
		return;
	}
	/* A retry: the first reply, marked as replayed. */
	Ledger__Api__Reply *first = ledger__api__reply__unpack(NULL, w->stored_bytes, w->stored);
	if (!first) {
		worker_send_error(w, LEDGER__API__ERROR_CODE__INTERNAL, NULL, "stored reply unreadable");
		return;
	}
	first->replayed = true;
	size_t n = ledger__api__reply__get_packed_size(first);
	uint8_t *buf = malloc(n ? n : 1);
	if (buf)
		ledger__api__reply__pack(first, buf);
	bool wrote = first->seq != 0;
	ledger__api__reply__free_unpacked(first, NULL);
	if (wrote && buf)
		send_with_checkpoint(w, buf, n);
	else
		worker_send_bytes(w, buf, buf ? n : 0);
	free(buf);
}
