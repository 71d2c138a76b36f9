/*
 * server.c: ledgerd's service loop.
 *
 * A rep0 socket with `workers` nng contexts, each an asynchronous state machine (receive ->
 * handle -> send), so many clients are served at once. A request is decoded, its token
 * verified, then:
 *   - a query runs at once in a read transaction, on the nng callback thread;
 *   - a command becomes a ledger_job handed to the group committer; the reply is sent from
 *     the job's done() callback, i.e. only after the batch holding its events is durable.
 * After each durable batch, its records are published on a pub0 socket, topic per firm.
 */
#include "server.h"

#include "import.h"
#include "ledger.h"
#include "projections.h"
#include "signer.h"
#include "signing.h"
#include "token.h"

#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/reqrep0/rep.h>

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

typedef struct server server;

typedef enum { WORKER_RECV, WORKER_SEND } worker_state;

/* One in-flight request. Between receive and send it belongs to exactly one thread: the
 * callback thread, then (for a command) the committer until done() hands it back. */
typedef struct worker {
	ledger_job job; /* first member: a ledger_job* is a worker* */
	server *s;
	nng_ctx ctx;
	nng_aio *aio;
	worker_state state;
	Ledger__Api__Request *req;
	Ledger__Api__Request *exec; /* what is decided: req, or the grant an import becomes */
	proj_arena *arena;
	Ledger__Api__Reply reply;
	proj_actor actor;
	api_claims claims;
	uint8_t body_hash[LEDGER_HASH_BYTES];
	uint8_t *stored; /* a command's reply, packed in apply(): the bytes recorded and sent */
	size_t stored_bytes;
	bool replayed;
	proj_upload upload; /* a DocumentAdd's PDF, inspected before the committer sees it */
	bool has_upload;
} worker;

/* Refusals are written as security events, at most DENIALS_BURST in a row per actor and
 * then one per DENIAL_REFILL_US, so a flood cannot grow the log without limit. Actors share
 * DENIAL_SLOTS buckets by hash: memory is bounded too. Used on the committer thread only. */
#define DENIAL_SLOTS     1024u
#define DENIALS_BURST    10u
#define DENIAL_REFILL_US (6 * 1000000ll)

typedef struct denial_slot {
	int64_t refilled_us; /* when the bucket last gained its tokens */
	uint32_t tokens;
	uint32_t suppressed; /* refusals not written since the last one that was */
} denial_slot;

struct server {
	const api_server_options *o;
	ledger *l;
	proj *p;
	ledger_committer *committer;
	nng_socket rep, pub;
	uint8_t idp_pk[crypto_sign_PUBLICKEYBYTES];
	api_token_cache *tokens;
	worker *workers;
	unsigned workers_count;
	atomic_bool stopping;
	atomic_int in_flight; /* requests received and not yet answered */
	denial_slot denials[DENIAL_SLOTS];
	/* the expirer: writes DelegationExpired events as their instants pass */
	pthread_t expirer;
	bool expirer_started;
	pthread_mutex_t expirer_lock;
	pthread_cond_t expirer_wake;
	bool expirer_stop;
	size_t request_bytes_max, document_bytes_max;
	signer_ca *ca;
	api_signing *signing;
};

int64_t api_clock_us(const char *path)
{
	if (!path) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	}
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	char text[64] = {0};
	size_t n = fread(text, 1, sizeof text - 1, f);
	fclose(f);
	text[n] = '\0';
	struct tm tm = {0};
	char *end = strptime(text, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!end)
		return -1;
	return (int64_t)timegm(&tm) * 1000000;
}

static int64_t server_clock(void *ctx)
{
	server *s = ctx;
	int64_t now = api_clock_us(s->o->clock_file);
	return now < 0 ? api_clock_us(NULL) : now;
}

/* ----- replies ----- */

static void worker_reset(worker *w)
{
	if (w->req)
		ledger__api__request__free_unpacked(w->req, NULL);
	w->req = NULL;
	w->exec = NULL;
	proj_arena_free(w->arena);
	w->arena = NULL;
	free(w->stored);
	w->stored = NULL;
	w->stored_bytes = 0;
	w->replayed = false;
	w->has_upload = false;
	ledger__api__reply__init(&w->reply);
}

/* Sends bytes as the reply; on any failure the client times out and retries. */
static void send_bytes(worker *w, const uint8_t *bytes, size_t n)
{
	nng_msg *msg;
	if (nng_msg_alloc(&msg, n) != 0) {
		worker_reset(w);
		atomic_fetch_sub(&w->s->in_flight, 1);
		w->state = WORKER_RECV;
		nng_ctx_recv(w->ctx, w->aio);
		return;
	}
	if (n)
		memcpy(nng_msg_body(msg), bytes, n);
	w->state = WORKER_SEND;
	nng_aio_set_msg(w->aio, msg);
	nng_ctx_send(w->ctx, w->aio);
}

static void send_reply(worker *w)
{
	if (w->req && w->req->request_id)
		w->reply.request_id = w->req->request_id;
	size_t n = ledger__api__reply__get_packed_size(&w->reply);
	uint8_t *buf = malloc(n ? n : 1);
	if (!buf) {
		send_bytes(w, NULL, 0);
		return;
	}
	ledger__api__reply__pack(&w->reply, buf);
	send_bytes(w, buf, n);
	free(buf);
}

/* Replies with an error; reason (may be NULL) is the machine-readable detail of Error.reason. */
static void send_error_reason(worker *w, Ledger__Api__ErrorCode code, const char *field, const char *reason,
                              const char *message)
{
	if (!w->arena)
		w->arena = proj_arena_new();
	ledger__api__reply__init(&w->reply);
	if (w->arena)
		proj_error(&w->reply, w->arena, code, field, "%s", message);
	if (w->reply.error && reason)
		w->reply.error->reason = (char *)reason;
	send_reply(w);
}

static void send_error(worker *w, Ledger__Api__ErrorCode code, const char *field, const char *message)
{
	send_error_reason(w, code, field, NULL, message);
}

/* ----- commands: the job run by the committer ----- */

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

static ledger_err job_apply(ledger_job *job, ledger_txn *t)
{
	worker *w = (worker *)job;
	free(w->stored);
	w->stored = NULL;
	w->replayed = false;
	ledger__api__reply__init(&w->reply);
	MDB_txn *txn = ledger_txn_mdb(t);
	ledger_request_record prior;
	ledger_err err = ledger_request_get(w->s->l, txn, w->actor.subject, w->req->request_id, &prior);
	if (err == LEDGER_OK) {
		if (memcmp(prior.body_hash, w->body_hash, LEDGER_HASH_BYTES) != 0) {
			proj_error(&w->reply, w->arena, LEDGER__API__ERROR_CODE__IDEMPOTENCY_MISMATCH, "request_id",
			           "request id %.128s was already used by %s for a different command",
			           w->req->request_id, w->actor.subject);
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
	if (err != LEDGER_END)
		return err;
	err = w->has_upload ? proj_execute_upload(w->s->p, t, &w->actor, w->req->request_id, w->exec, &w->upload,
	                                          &w->reply, w->arena)
	                    : proj_execute(w->s->p, t, &w->actor, w->req->request_id, w->exec, &w->reply, w->arena);
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
	w->reply.request_id = w->req->request_id;
	w->stored_bytes = ledger__api__reply__get_packed_size(&w->reply);
	w->stored = malloc(w->stored_bytes);
	if (!w->stored)
		return LEDGER_ERR_NOMEM;
	ledger__api__reply__pack(&w->reply, w->stored);
	return ledger_request_put(t, w->actor.subject, w->req->request_id, w->body_hash, w->stored, w->stored_bytes);
}

static void job_done(ledger_job *job, ledger_err err)
{
	worker *w = (worker *)job;
	if (err) {
		Ledger__Api__ErrorCode code = LEDGER__API__ERROR_CODE__INTERNAL;
		if (err == LEDGER_ERR_MAP_FULL || err == LEDGER_ERR_DISK_FULL)
			code = LEDGER__API__ERROR_CODE__STORAGE_FULL;
		else if (err == LEDGER_ERR_STOPPED)
			code = LEDGER__API__ERROR_CODE__UNAVAILABLE;
		char message[600];
		snprintf(message, sizeof message, "nothing was written: %s (%s)", ledger_strerror(err),
		         ledger_last_error());
		send_error(w, code, NULL, message);
		return;
	}
	if (!w->stored) {
		send_reply(w); /* refused: reply->error is set */
		return;
	}
	if (!w->replayed) {
		send_bytes(w, w->stored, w->stored_bytes);
		return;
	}
	/* A retry: the first reply, marked as replayed. */
	Ledger__Api__Reply *first = ledger__api__reply__unpack(NULL, w->stored_bytes, w->stored);
	if (!first) {
		send_error(w, LEDGER__API__ERROR_CODE__INTERNAL, NULL, "stored reply unreadable");
		return;
	}
	first->replayed = true;
	size_t n = ledger__api__reply__get_packed_size(first);
	uint8_t *buf = malloc(n ? n : 1);
	if (buf)
		ledger__api__reply__pack(first, buf);
	ledger__api__reply__free_unpacked(first, NULL);
	send_bytes(w, buf, buf ? n : 0);
	free(buf);
}

/* ----- requests ----- */

/* SHA-256 of the request without its token and request id: what makes two requests "the
 * same command" for idempotency, whichever token carried them. */
static void body_hash(const Ledger__Api__Request *req, uint8_t out[LEDGER_HASH_BYTES])
{
	Ledger__Api__Request copy = *req;
	copy.token = (char *)"";
	copy.request_id = (char *)"";
	size_t n = ledger__api__request__get_packed_size(&copy);
	uint8_t *buf = malloc(n ? n : 1);
	if (!buf) {
		memset(out, 0, LEDGER_HASH_BYTES);
		return;
	}
	ledger__api__request__pack(&copy, buf);
	crypto_hash_sha256(out, buf, n);
	free(buf);
}

static bool request_id_valid(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > LEDGER_REQUEST_ID_BYTES_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)id[i] < 0x21 || (unsigned char)id[i] > 0x7e)
			return false;
	return true;
}

/*
 * Reads an imported list (on this callback thread, before the committer: reading may take a
 * while) and turns the import into the grant it means, the cells as collaborators under
 * their row numbers, all allocated in the request's arena. False, the reply sent, if the file
 * cannot be read: nothing is granted.
 */
static bool import_to_grant(worker *w)
{
	const Ledger__Api__DelegationImport *im = w->req->delegation_import;
	import_rows rows = {0};
	char why[256] = "";
	import_err ierr = import_parse(im->filename, im->content.data, im->content.len, &rows, why, sizeof why);
	if (ierr != IMPORT_OK || rows.count == 0) {
		char m[400];
		snprintf(m, sizeof m, "%s: %s", im->filename,
		         ierr != IMPORT_OK ? (why[0] ? why : import_strerror(ierr)) : "no address in the file");
		send_error(w, LEDGER__API__ERROR_CODE__INVALID_ARGUMENT, "content", m);
		import_rows_free(&rows);
		return false;
	}
	Ledger__Api__Request *exec = proj_arena_alloc(w->arena, sizeof *exec);
	Ledger__Api__DelegationGrant *g = proj_arena_alloc(w->arena, sizeof *g);
	char **cells = proj_arena_alloc(w->arena, rows.count * sizeof *cells);
	uint32_t *numbers = proj_arena_alloc(w->arena, rows.count * sizeof *numbers);
	bool ok = exec && g && cells && numbers;
	for (size_t i = 0; ok && i < rows.count; i++) {
		cells[i] = proj_arena_strdup(w->arena, rows.items[i].cell);
		numbers[i] = rows.items[i].row;
		ok = cells[i] != NULL;
	}
	if (ok) {
		ledger__api__request__init(exec);
		ledger__api__delegation_grant__init(g);
		g->firm_id = im->firm_id;
		g->collaborators = cells;
		g->n_collaborators = rows.count;
		g->rows = numbers;
		g->n_rows = rows.count;
		g->rights = im->rights;
		g->n_rights = im->n_rights;
		g->expires_on = im->expires_on;
		exec->request_id = w->req->request_id;
		exec->body_case = LEDGER__API__REQUEST__BODY_DELEGATION_GRANT;
		exec->delegation_grant = g;
		w->exec = exec;
	}
	import_rows_free(&rows);
	if (!ok)
		send_error(w, LEDGER__API__ERROR_CODE__INTERNAL, NULL, "out of memory reading the list");
	return ok;
}

static const char *document_reason(signer_err err)
{
	switch (err) {
	case SIGNER_ERR_TOO_LARGE: return "too_large";
	case SIGNER_ERR_NOT_PDF: return "not_pdf";
	case SIGNER_ERR_ENCRYPTED: return "encrypted";
	default: return "corrupt";
	}
}

/*
 * Opens an uploaded PDF with mupdf (on this callback thread: parsing untrusted bytes takes
 * time and memory the committer must not spend) and keeps its hash and page sizes for the
 * decision. False, the reply sent, if it is not a PDF we can sign: nothing is stored.
 */
static bool inspect_upload(worker *w)
{
	const Ledger__Api__DocumentAdd *d = w->req->document_add;
	signer_pdf_info *info = malloc(sizeof *info);
	if (!info) {
		send_error(w, LEDGER__API__ERROR_CODE__INTERNAL, NULL, "out of memory inspecting the document");
		return false;
	}
	signer_err err = signer_pdf_inspect(d->content.data, d->content.len, w->s->document_bytes_max, info);
	float *sizes = err ? NULL : proj_arena_alloc(w->arena, 2 * info->page_count * sizeof *sizes);
	if (err || !sizes) {
		char m[512];
		snprintf(m, sizeof m, "%.200s is not a document we can sign: %s (%s)",
		         d->filename[0] ? d->filename : "the upload", signer_strerror(err),
		         err ? signer_last_error() : "out of memory");
		send_error_reason(w,
		                  err ? LEDGER__API__ERROR_CODE__INVALID_DOCUMENT : LEDGER__API__ERROR_CODE__INTERNAL,
		                  "content", err ? document_reason(err) : NULL, m);
		free(info);
		return false;
	}
	for (uint32_t i = 0; i < info->page_count; i++) {
		sizes[2 * i] = info->pages[i].width_pt;
		sizes[2 * i + 1] = info->pages[i].height_pt;
	}
	crypto_hash_sha256(w->upload.sha256, d->content.data, d->content.len);
	w->upload.pages = info->page_count;
	w->upload.page_sizes = sizes;
	w->has_upload = true;
	free(info);
	return true;
}

/* Only the people who may add a document to that collection get their upload parsed. */
static bool may_upload(worker *w, int64_t now_us)
{
	MDB_txn *txn;
	if (ledger_read_begin(w->s->l, &txn) != LEDGER_OK)
		return false;
	bool ok = proj_may_upload(w->s->p, txn, &w->actor, now_us, w->req->document_add);
	ledger_read_end(w->s->l, txn);
	return ok;
}

static void handle(worker *w, nng_msg *msg)
{
	server *s = w->s;
	atomic_fetch_add(&s->in_flight, 1);
	size_t n = nng_msg_len(msg);
	if (atomic_load(&s->stopping)) {
		nng_msg_free(msg);
		send_error(w, LEDGER__API__ERROR_CODE__UNAVAILABLE, NULL,
		           "ledgerd is shutting down; retry with the same request id");
		return;
	}
	if (n > s->request_bytes_max) {
		nng_msg_free(msg);
		char m[128];
		snprintf(m, sizeof m, "request of %zu bytes is over the limit of %zu bytes", n, s->request_bytes_max);
		send_error(w, LEDGER__API__ERROR_CODE__REQUEST_TOO_LARGE, NULL, m);
		return;
	}
	w->req = ledger__api__request__unpack(NULL, n, nng_msg_body(msg));
	nng_msg_free(msg);
	w->arena = proj_arena_new();
	if (!w->req) {
		send_error(w, LEDGER__API__ERROR_CODE__MALFORMED_REQUEST, NULL,
		           "the request is not a ledger.api.Request protobuf");
		return;
	}
	const char *why;
	int64_t now_us = server_clock(s);
	if (!api_token_verify_cached(s->tokens, w->req->token, s->idp_pk, now_us / 1000000, &w->claims, &why)) {
		send_error(w, LEDGER__API__ERROR_CODE__UNAUTHENTICATED, "token", why);
		return;
	}
	/* An email subject is normalised like every address in the ledger, so EC@X.FR is
	 * ec@x.fr in rights checks, in events and in idempotency records. */
	if (!w->claims.platform) {
		char normal[PROJ_EMAIL_BYTES_MAX + 1];
		if (!proj_email_normalise(w->claims.sub, normal, &why)) {
			send_error(w, LEDGER__API__ERROR_CODE__UNAUTHENTICATED, "token",
			           "the token's subject is not an email address");
			return;
		}
		memcpy(w->claims.sub, normal, strlen(normal) + 1);
	}
	w->actor.subject = w->claims.sub;
	w->actor.platform = w->claims.platform;
	if (w->req->body_case == LEDGER__API__REQUEST__BODY__NOT_SET) {
		send_error(w, LEDGER__API__ERROR_CODE__MALFORMED_REQUEST, "body",
		           "the request carries no command or query");
		return;
	}
	if (!proj_is_command(w->req)) {
		MDB_txn *txn;
		if (ledger_read_begin(s->l, &txn) != LEDGER_OK) {
			send_error(w, LEDGER__API__ERROR_CODE__INTERNAL, NULL, ledger_last_error());
			return;
		}
		proj_query(s->p, txn, &w->actor, now_us, w->req, &w->reply, w->arena);
		ledger_read_end(s->l, txn);
		send_reply(w);
		return;
	}
	if (!request_id_valid(w->req->request_id)) {
		send_error(w, LEDGER__API__ERROR_CODE__MALFORMED_REQUEST, "request_id",
		           "a command needs a request id of 1 to 128 printable ASCII characters");
		return;
	}
	body_hash(w->req, w->body_hash);
	w->exec = w->req;
	if (w->req->body_case == LEDGER__API__REQUEST__BODY_DELEGATION_IMPORT && !import_to_grant(w))
		return;
	if (w->req->body_case == LEDGER__API__REQUEST__BODY_DOCUMENT_ADD && may_upload(w, now_us) && !inspect_upload(w))
		return;
	w->job.apply = job_apply;
	w->job.done = job_done;
	ledger_committer_submit(s->committer, &w->job);
}

static void worker_cb(void *arg)
{
	worker *w = arg;
	int rv = nng_aio_result(w->aio);
	if (w->state == WORKER_SEND) {
		/* Sent: nng owns the message. Not sent: it is still ours to free. Either way the aio
		 * no longer refers to it, so nothing frees it twice or forgets it. */
		nng_msg *unsent = rv != 0 ? nng_aio_get_msg(w->aio) : NULL;
		nng_aio_set_msg(w->aio, NULL);
		if (unsent)
			nng_msg_free(unsent);
		worker_reset(w);
		atomic_fetch_sub(&w->s->in_flight, 1);
		if (rv == NNG_ECLOSED || rv == NNG_ECANCELED || atomic_load(&w->s->stopping))
			return;
		w->state = WORKER_RECV;
		nng_ctx_recv(w->ctx, w->aio);
		return;
	}
	if (rv == NNG_ECLOSED || rv == NNG_ECANCELED)
		return;
	if (rv != 0) {
		nng_ctx_recv(w->ctx, w->aio);
		return;
	}
	nng_msg *msg = nng_aio_get_msg(w->aio);
	nng_aio_set_msg(w->aio, NULL); /* handle() owns it now */
	handle(w, msg);
}

/* ----- publication ----- */

/* Publishes each record of a durable batch as topic || '\0' || stored record bytes, where
 * topic is "firm:<id>" or "platform", so a front-end subscribes to "firm:<id>\0". */
static void publish(void *ctx, uint64_t first, uint64_t last)
{
	server *s = ctx;
	if (first == 0)
		return;
	MDB_txn *txn;
	if (ledger_read_begin(s->l, &txn) != LEDGER_OK)
		return;
	for (uint64_t seq = first; seq <= last; seq++) {
		ledger_record rec;
		if (ledger_get(s->l, txn, seq, &rec) != LEDGER_OK)
			break;
		Ledger__Events__Event *ev = ledger__events__event__unpack(NULL, rec.event_bytes, rec.event);
		char topic[PROJ_FIRM_ID_BYTES_MAX + 8];
		snprintf(topic, sizeof topic, "%s%s", ev && ev->firm_id[0] ? "firm:" : "platform",
		         ev ? ev->firm_id : "");
		if (ev)
			ledger__events__event__free_unpacked(ev, NULL);
		size_t topic_bytes = strlen(topic) + 1;
		size_t record_bytes = LEDGER_RECORD_HEADER_BYTES + rec.event_bytes;
		nng_msg *msg;
		if (nng_msg_alloc(&msg, topic_bytes + record_bytes) != 0)
			break;
		memcpy(nng_msg_body(msg), topic, topic_bytes);
		/* The record is contiguous in the page: header fields precede the event bytes. */
		memcpy((uint8_t *)nng_msg_body(msg) + topic_bytes, rec.event - LEDGER_RECORD_HEADER_BYTES,
		       record_bytes);
		if (nng_sendmsg(s->pub, msg, NNG_FLAG_NONBLOCK) != 0)
			nng_msg_free(msg);
	}
	ledger_read_end(s->l, txn);
	api_signing_wake(s->signing); /* a commit may owe a signature */
}

/* ----- expiry ----- */

typedef struct expiry_job {
	ledger_job job;
	server *s;
	size_t count;
	ledger_err result;
	bool done;
} expiry_job;

static ledger_err expiry_apply(ledger_job *job, ledger_txn *t)
{
	expiry_job *j = (expiry_job *)job;
	return proj_expire_due(j->s->p, t, PROJ_EXPIRE_BATCH_MAX, &j->count);
}

static void expiry_done(ledger_job *job, ledger_err err)
{
	expiry_job *j = (expiry_job *)job;
	pthread_mutex_lock(&j->s->expirer_lock);
	j->result = err;
	j->done = true;
	pthread_cond_broadcast(&j->s->expirer_wake);
	pthread_mutex_unlock(&j->s->expirer_lock);
}

/* Submits an expiry scan at start (catching up what a stopped service missed), then every
 * API_EXPIRY_INTERVAL_MS, and at once again while scans come back full. */
static void *expirer_main(void *arg)
{
	server *s = arg;
	pthread_mutex_lock(&s->expirer_lock);
	while (!s->expirer_stop) {
		expiry_job j = {.job = {expiry_apply, expiry_done, NULL}, .s = s};
		pthread_mutex_unlock(&s->expirer_lock);
		ledger_committer_submit(s->committer, &j.job);
		pthread_mutex_lock(&s->expirer_lock);
		while (!j.done)
			pthread_cond_wait(&s->expirer_wake, &s->expirer_lock);
		if (j.result && j.result != LEDGER_ERR_STOPPED)
			fprintf(stderr, "ledgerd: expiry scan failed: %s\n", ledger_strerror(j.result));
		if (j.result == LEDGER_OK && j.count == PROJ_EXPIRE_BATCH_MAX)
			continue;
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += API_EXPIRY_INTERVAL_MS / 1000;
		until.tv_nsec += (API_EXPIRY_INTERVAL_MS % 1000) * 1000000l;
		if (until.tv_nsec >= 1000000000l) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000l;
		}
		if (!s->expirer_stop)
			pthread_cond_timedwait(&s->expirer_wake, &s->expirer_lock, &until);
	}
	pthread_mutex_unlock(&s->expirer_lock);
	return NULL;
}

static void expirer_stop(server *s)
{
	if (!s->expirer_started)
		return;
	pthread_mutex_lock(&s->expirer_lock);
	s->expirer_stop = true;
	pthread_cond_broadcast(&s->expirer_wake);
	pthread_mutex_unlock(&s->expirer_lock);
	pthread_join(s->expirer, NULL);
	s->expirer_started = false;
}

/* ----- lifecycle ----- */

bool api_signer_ca(const char *data_dir, int64_t now_s, signer_ca **out)
{
	char keys[PATH_MAX];
	if (snprintf(keys, sizeof keys, "%s/keys", data_dir) >= (int)sizeof keys)
		return false;
	signer_err err = signer_ca_open(keys, out);
	if (err == SIGNER_ERR_NOT_FOUND && (err = signer_ca_init(keys, now_s)) == SIGNER_OK)
		err = signer_ca_open(keys, out); /* a store created before the signer existed */
	if (err)
		fprintf(stderr, "ledgerd: %s: the signer's CA: %s (%s)\n", keys, signer_strerror(err),
		        signer_last_error());
	return err == SIGNER_OK;
}

static int lock_data_dir(const char *dir)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof path, "%s/ledgerd.lock", dir) >= (int)sizeof path) {
		fprintf(stderr, "ledgerd: %s: path too long\n", dir);
		return -1;
	}
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) != 0) {
		fprintf(stderr, "ledgerd: %s is already served by another ledgerd (lock %s held)\n", dir, path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	char pid[32];
	int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || write(fd, pid, (size_t)n) != n)
		fprintf(stderr, "ledgerd: warning: cannot write the pid into %s\n", path);
	return fd;
}

/* Listens on url, over TLS with tls when the URL asks for it. */
static int listen_url(nng_socket sock, const char *url, nng_tls_config *tls)
{
	if (!api_tls_url(url))
		return nng_listen(sock, url, NULL, 0);
	assert(tls); /* api_server_run made it, or ledgerd.c refused the URL */
	nng_listener l;
	int rv = nng_listener_create(&l, sock, url);
	if (rv == 0 && (rv = nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, tls)) == 0)
		rv = nng_listener_start(l, 0);
	return rv; /* a listener not started is closed with the socket */
}

static int open_sockets(server *s, const char *abs_dir, nng_tls_config *tls)
{
	char url[PATH_MAX + 16];
	int rv = nng_rep0_open(&s->rep);
	if (rv == 0)
		rv = nng_socket_set_size(s->rep, NNG_OPT_RECVMAXSZ, API_TRANSPORT_FACTOR * s->request_bytes_max);
	if (rv) {
		fprintf(stderr, "ledgerd: cannot open the rep socket: %s\n", nng_strerror(rv));
		return -1;
	}
	const char *const *listen = s->o->listen;
	const char *fallback[2] = {url, NULL};
	if (!listen[0]) {
		if (snprintf(url, sizeof url, "ipc://%s/ledgerd.sock", abs_dir) >= (int)sizeof url)
			return -1;
		listen = fallback;
	}
	for (size_t i = 0; listen[i]; i++) {
		if ((rv = listen_url(s->rep, listen[i], tls)) != 0) {
			fprintf(stderr, "ledgerd: cannot listen on %s: %s\n", listen[i], nng_strerror(rv));
			return -1;
		}
		fprintf(stderr, "ledgerd: listening on %s\n", listen[i]);
	}
	const char *pub = s->o->pub_url;
	if (!pub) {
		if (snprintf(url, sizeof url, "ipc://%s/ledgerd-events.sock", abs_dir) >= (int)sizeof url)
			return -1;
		pub = url;
	}
	if ((rv = nng_pub0_open(&s->pub)) != 0 || (rv = listen_url(s->pub, pub, tls)) != 0) {
		fprintf(stderr, "ledgerd: cannot publish on %s: %s\n", pub, nng_strerror(rv));
		return -1;
	}
	fprintf(stderr, "ledgerd: publishing events on %s\n", pub);
	return 0;
}

/* The TLS configuration of the tls+tcp:// URLs, NULL (no error) when there is none. Made
 * before the store is opened, so a bad certificate or key stops ledgerd at once. */
static bool tls_config(const api_server_options *o, nng_tls_config **out)
{
	*out = NULL;
	bool wanted = api_tls_url(o->pub_url);
	for (size_t i = 0; o->listen[i]; i++)
		wanted = wanted || api_tls_url(o->listen[i]);
	if (!wanted)
		return true;
	char why[API_TLS_WHY_BYTES];
	if (!api_tls_config_server(&o->tls, out, why, sizeof why)) {
		fprintf(stderr, "ledgerd: %s\n", why);
		return false;
	}
	return true;
}

static int start_workers(server *s)
{
	s->workers_count = s->o->workers ? s->o->workers : API_WORKERS_DEFAULT;
	if (s->workers_count > API_WORKERS_MAX)
		s->workers_count = API_WORKERS_MAX;
	s->workers = calloc(s->workers_count, sizeof *s->workers);
	if (!s->workers)
		return -1;
	for (unsigned i = 0; i < s->workers_count; i++) {
		worker *w = &s->workers[i];
		w->s = s;
		ledger__api__reply__init(&w->reply);
		if (nng_aio_alloc(&w->aio, worker_cb, w) != 0 || nng_ctx_open(&w->ctx, s->rep) != 0)
			return -1;
		w->state = WORKER_RECV;
		nng_ctx_recv(w->ctx, w->aio);
	}
	return 0;
}

/* Stops every context before the socket is closed: each aio is cancelled and its callback
 * waited for, then the context is closed. Closing the socket first could wait forever on
 * a context whose reply was still queued to a client that stopped reading. */
static void stop_workers(server *s)
{
	for (unsigned i = 0; s->workers && i < s->workers_count; i++) {
		worker *w = &s->workers[i];
		if (w->aio)
			nng_aio_stop(w->aio);
		nng_ctx_close(w->ctx);
	}
}

static void free_workers(server *s)
{
	for (unsigned i = 0; s->workers && i < s->workers_count; i++) {
		worker *w = &s->workers[i];
		if (w->aio) {
			/* A reply attached after the aio was stopped was never sent, nor freed. */
			nng_msg *unsent = nng_aio_get_msg(w->aio);
			if (unsent)
				nng_msg_free(unsent);
			nng_aio_free(w->aio);
		}
		worker_reset(w);
	}
	free(s->workers);
}

/* nng 1.5.2 (Debian 12) can hang in nng_close on a socket that served under load: a race in
 * its ipc transport (ipc_pipe_recv_cb re-arms a receive on a pipe being closed, so rep0's
 * pipe stop waits forever; found with gdb by the crash test). Everything is durable and
 * answered by then, so
 * the sockets are closed on a thread of their own and waited for at most SOCKET_CLOSE_WAIT_S;
 * past that, ledgerd exits anyway (the kernel closes the descriptors). */
#define SOCKET_CLOSE_WAIT_S 3

typedef struct closer {
	nng_socket rep, pub;
	pthread_mutex_t lock;
	pthread_cond_t done_cv;
	bool done;
} closer;

static void *closer_main(void *arg)
{
	closer *c = arg;
	nng_close(c->rep);
	nng_close(c->pub);
	pthread_mutex_lock(&c->lock);
	c->done = true;
	pthread_cond_signal(&c->done_cv);
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/* Returns true if the sockets closed in time. A closer left hanging stays reachable
 * (static), as do the workers it may still touch. */
static bool close_sockets(server *s)
{
	static closer c = {.lock = PTHREAD_MUTEX_INITIALIZER, .done_cv = PTHREAD_COND_INITIALIZER};
	c.rep = s->rep;
	c.pub = s->pub;
	pthread_t thread;
	if (pthread_create(&thread, NULL, closer_main, &c) != 0) {
		closer_main(&c);
		return true;
	}
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += SOCKET_CLOSE_WAIT_S;
	pthread_mutex_lock(&c.lock);
	while (!c.done && pthread_cond_timedwait(&c.done_cv, &c.lock, &until) == 0)
		;
	bool done = c.done;
	pthread_mutex_unlock(&c.lock);
	if (done)
		pthread_join(thread, NULL);
	else
		pthread_detach(thread);
	return done;
}

int api_server_run(const api_server_options *o)
{
	server s = {.o = o};
	atomic_init(&s.stopping, false);
	atomic_init(&s.in_flight, 0);
	char abs_dir[PATH_MAX];
	const char *why;
	if (!realpath(o->data_dir, abs_dir)) {
		fprintf(stderr, "ledgerd: %s: %s\n", o->data_dir, strerror(errno));
		return 1;
	}
	if (!api_key_load(abs_dir, "idp.pk", s.idp_pk, sizeof s.idp_pk, &why)) {
		fprintf(stderr, "ledgerd: %s/keys/idp.pk: %s\n", abs_dir, why);
		return 1;
	}
	nng_tls_config *tls;
	if (!tls_config(o, &tls))
		return 1;
	int lock_fd = lock_data_dir(abs_dir);
	if (lock_fd < 0) {
		if (tls)
			nng_tls_config_free(tls);
		return 1;
	}
	/* Signals are taken by sigwait below: block them before any thread starts. */
	sigset_t signals;
	sigemptyset(&signals);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGINT);
	pthread_sigmask(SIG_BLOCK, &signals, NULL);
	int rc = 1;
	ledger_options lo = {.map_bytes_initial = o->map_bytes_initial, .map_bytes_max = o->map_bytes_max};
	ledger_err err = ledger_open(abs_dir, &lo, &s.l);
	if (err) {
		fprintf(stderr, "ledgerd: %s\n", ledger_last_error());
		if (tls)
			nng_tls_config_free(tls);
		close(lock_fd);
		return 1;
	}
	s.tokens = api_token_cache_new(); /* without it (no memory), every token is verified */
	s.document_bytes_max = o->document_bytes_max ? o->document_bytes_max : API_DOCUMENT_BYTES_DEFAULT;
	s.request_bytes_max = s.document_bytes_max + API_ENVELOPE_BYTES_MAX;
	if (s.request_bytes_max < API_REQUEST_BYTES_MAX)
		s.request_bytes_max = API_REQUEST_BYTES_MAX;
	ledger_committer_options co = {
	    .clock_us = server_clock, .clock_ctx = &s, .committed = publish, .committed_ctx = &s};
	uint64_t replay_hash_seed;
	randombytes_buf(&replay_hash_seed, sizeof replay_hash_seed);
	if ((err = proj_open(s.l, replay_hash_seed, &s.p)) || (err = ledger_committer_start(s.l, &co, &s.committer))) {
		fprintf(stderr, "ledgerd: %s: %s\n", ledger_strerror(err), ledger_last_error());
		goto out;
	}
	uint8_t personal[PROJ_PERSONAL_KEY_BYTES];
	if (!api_personal_key(abs_dir, personal, &why)) {
		fprintf(stderr, "ledgerd: %s/keys/personal.key: %s\n", abs_dir, why);
		goto out;
	}
	proj_set_personal_key(s.p, personal, randombytes_buf);
	sodium_memzero(personal, sizeof personal);
	if (!api_signer_ca(abs_dir, server_clock(&s) / 1000000, &s.ca))
		goto out;
	api_signing_options so = {.l = s.l,
	                          .p = s.p,
	                          .committer = s.committer,
	                          .ca = s.ca,
	                          .clock_us = server_clock,
	                          .clock_ctx = &s,
	                          .document_bytes_max = SIGNER_PDF_BYTES_MAX};
	if (!(s.signing = api_signing_start(&so))) {
		fprintf(stderr, "ledgerd: cannot start the signer thread\n");
		goto out;
	}
	pthread_mutex_init(&s.expirer_lock, NULL);
	pthread_cond_init(&s.expirer_wake, NULL);
	if (pthread_create(&s.expirer, NULL, expirer_main, &s) != 0)
		goto out;
	s.expirer_started = true;
	int opened = open_sockets(&s, abs_dir, tls);
	if (tls)
		nng_tls_config_free(tls); /* each listener holds its own reference */
	tls = NULL;
	if (opened != 0 || start_workers(&s) != 0)
		goto out;
	uint64_t head;
	ledger_head(s.l, &head, NULL);
	fprintf(stderr, "ledgerd: serving %s (head seq %llu, %u workers)\n", abs_dir, (unsigned long long)head,
	        s.workers_count);
	if (o->ready_fd >= 0) {
		if (write(o->ready_fd, "ready\n", 6) != 6)
			fprintf(stderr, "ledgerd: warning: cannot signal readiness\n");
		close(o->ready_fd);
	}
	int sig;
	sigwait(&signals, &sig);
	fprintf(stderr, "ledgerd: %s received, draining\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	rc = 0;
out:
	if (tls)
		nng_tls_config_free(tls);
	/* New requests are refused; queued commands are committed and answered; then close. */
	atomic_store(&s.stopping, true);
	expirer_stop(&s);
	api_signing_stop(s.signing); /* it commits through the committer: stop it first */
	s.signing = NULL;
	ledger_committer_stop(s.committer);
	/* Let the last replies leave before the socket closes (bounded: 2 s). */
	for (int waited_ms = 0; atomic_load(&s.in_flight) > 0 && waited_ms < 2000; waited_ms += 10)
		nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
	stop_workers(&s);
	static worker *leaked_workers; /* kept reachable if the close hangs */
	if (close_sockets(&s)) {
		free_workers(&s);
	} else {
		leaked_workers = s.workers;
		fprintf(stderr,
		        "ledgerd: warning: nng did not close the sockets within %d s (a known race of nng 1.5.2's "
		        "ipc transport); exiting anyway: every acknowledged command is durable\n",
		        SOCKET_CLOSE_WAIT_S);
	}
	(void)leaked_workers;
	ledger_committer_free(s.committer);
	signer_ca_free(s.ca);
	proj_close(s.p);
	ledger_close(s.l);
	api_token_cache_free(s.tokens);
	close(lock_fd);
	if (rc == 0)
		fprintf(stderr, "ledgerd: stopped cleanly\n");
	return rc;
}
