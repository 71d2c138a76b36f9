/*
 * reply.c: replies and typed errors sent through a worker's nng context.
 */
#include "server_internal.h"

#include <stdlib.h>
#include <string.h>

void worker_reset(worker *w)
{
	if (w->req)
		ledger__api__request__free_unpacked(w->req, &w->budget.allocator);
	w->req = NULL;
	w->exec = NULL;
	proj_arena_free(w->arena);
	w->arena = NULL;
	free(w->stored);
	w->stored = NULL;
	w->stored_bytes = 0;
	w->replayed = false;
	w->has_upload = false;
	w->has_issued = false;
	ledger__api__reply__init(&w->reply);
}

/* A worker without a context (worker_handle_request): the copy goes to its sink, after the
 * reset, so that the sink may hand the worker its next request at once. */
static void worker_send_to_sink(worker *w, const uint8_t *bytes, size_t n)
{
	uint8_t *copy = malloc(n ? n : 1);
	if (copy && n)
		memcpy(copy, bytes, n);
	worker_reset(w);
	w->reply_sink(w, copy, copy ? n : 0);
}

/* Sends bytes as the reply; on any failure the client times out and retries. */
void worker_send_bytes(worker *w, const uint8_t *bytes, size_t n)
{
	if (w->reply_sink) {
		worker_send_to_sink(w, bytes, n);
		return;
	}
	nng_msg *msg;
	if (nng_msg_alloc(&msg, n) != 0) {
		worker_reset(w);
		atomic_fetch_sub(&w->s->in_flight, 1);
		worker_receive(w);
		return;
	}
	if (n)
		memcpy(nng_msg_body(msg), bytes, n);
	w->state = WORKER_SEND;
	nng_aio_set_timeout(w->aio, API_REPLY_SEND_TIMEOUT_MS);
	nng_aio_set_msg(w->aio, msg);
	nng_ctx_send(w->ctx, w->aio);
}

void worker_send_reply(worker *w)
{
	/* A query's id is echoed as given, unless it is not UTF-8 (a command's is printable ASCII):
	 * no client could decode the reply. */
	if (w->req && w->req->request_id && proj_utf8_valid(w->req->request_id))
		w->reply.request_id = w->req->request_id;
	size_t n = ledger__api__reply__get_packed_size(&w->reply);
	uint8_t *buf = malloc(n ? n : 1);
	if (!buf) {
		worker_send_bytes(w, NULL, 0);
		return;
	}
	ledger__api__reply__pack(&w->reply, buf);
	worker_send_bytes(w, buf, n);
	free(buf);
}

/* Replies with an error; reason (may be NULL) is the machine-readable detail of Error.reason. */
void worker_send_error_reason(worker *w, Ledger__Api__ErrorCode code, const char *field, const char *reason,
                              const char *message)
{
	if (!w->arena)
		w->arena = proj_arena_new();
	ledger__api__reply__init(&w->reply);
	if (w->arena)
		proj_error(&w->reply, w->arena, code, field, "%s", message);
	if (w->reply.error && reason)
		w->reply.error->reason = (char *)reason;
	worker_send_reply(w);
}

void worker_send_error(worker *w, Ledger__Api__ErrorCode code, const char *field, const char *message)
{
	worker_send_error_reason(w, code, field, NULL, message);
}

void worker_receive(worker *w)
{
	w->state = WORKER_RECV;
	nng_aio_set_timeout(w->aio, NNG_DURATION_INFINITE); /* waiting for a request is free */
	nng_ctx_recv(w->ctx, w->aio);
}
