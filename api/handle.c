/*
 * handle.c: one request, from the bytes received to a query's reply or a command handed to
 * the committer: size, decoding, the token, authorisation before any large parsing (uploads,
 * imports), and the worker's receive/send state machine.
 */
#include "server_internal.h"

#include "import.h"
#include "request_hash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
 *
 * Only the firm's EC gets the file read (proj_may_import): anyone else's import becomes a
 * grant naming nobody, which the committer refuses for lack of rights, on record, without
 * the file ever being parsed. At most API_IMPORTS_PARSING_MAX files are read at once, so
 * imports cannot take every callback thread; past that the import is answered UNAVAILABLE.
 */
static bool import_to_grant(worker *w)
{
	const Ledger__Api__DelegationImport *im = w->req->delegation_import;
	import_rows rows = {0};
	char why[256] = "";
	import_err ierr = IMPORT_OK;
	MDB_txn *txn;
	if (ledger_read_begin(w->s->l, &txn) != LEDGER_OK) {
		worker_send_error(w, LEDGER__API__ERROR_CODE__INTERNAL, NULL, ledger_last_error());
		return false;
	}
	bool may_read = proj_may_import(w->s->p, txn, &w->actor, im->firm_id);
	ledger_read_end(w->s->l, txn);
	if (may_read) {
		if (atomic_fetch_add(&w->s->imports_parsing, 1) >= API_IMPORTS_PARSING_MAX) {
			atomic_fetch_sub(&w->s->imports_parsing, 1);
			worker_send_error(w, LEDGER__API__ERROR_CODE__UNAVAILABLE, "content",
			                  "other imports are being read; retry with the same request id");
			return false;
		}
		ierr = import_parse(im->filename, im->content.data, im->content.len, &rows, why, sizeof why);
		atomic_fetch_sub(&w->s->imports_parsing, 1);
	}
	if (may_read && (ierr != IMPORT_OK || rows.count == 0)) {
		char m[400];
		snprintf(m, sizeof m, "%s: %s", im->filename,
		         ierr != IMPORT_OK ? (why[0] ? why : import_strerror(ierr)) : "no address in the file");
		worker_send_error(w, LEDGER__API__ERROR_CODE__INVALID_ARGUMENT, "content", m);
		import_rows_free(&rows);
		return false;
	}
	Ledger__Api__Request *exec = proj_arena_alloc(w->arena, sizeof *exec);
	Ledger__Api__DelegationGrant *g = proj_arena_alloc(w->arena, sizeof *g);
	char **cells = proj_arena_alloc(w->arena, (rows.count ? rows.count : 1) * sizeof *cells);
	uint32_t *numbers = proj_arena_alloc(w->arena, (rows.count ? rows.count : 1) * sizeof *numbers);
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
		worker_send_error(w, LEDGER__API__ERROR_CODE__INTERNAL, NULL, "out of memory reading the list");
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
		worker_send_error(w, LEDGER__API__ERROR_CODE__INTERNAL, NULL, "out of memory inspecting the document");
		return false;
	}
	signer_err err = signer_pdf_inspect(d->content.data, d->content.len, w->s->document_bytes_max, info);
	float *sizes = err ? NULL : proj_arena_alloc(w->arena, 2 * info->page_count * sizeof *sizes);
	if (err || !sizes) {
		char m[512];
		snprintf(m, sizeof m, "%.200s is not a document we can sign: %s (%s)",
		         d->filename[0] ? d->filename : "the upload", signer_strerror(err),
		         err ? signer_last_error() : "out of memory");
		worker_send_error_reason(
		    w, err ? LEDGER__API__ERROR_CODE__INVALID_DOCUMENT : LEDGER__API__ERROR_CODE__INTERNAL, "content",
		    err ? document_reason(err) : NULL, m);
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

/* A message that could not be decoded: too costly for its budget (REQUEST_TOO_LARGE), for the
 * shared one (UNAVAILABLE, retry), or not what it should be (MALFORMED_REQUEST). */
static void request_refused(worker *w, size_t n, const char *malformed)
{
	if (w->budget.exceeded) {
		char m[160];
		snprintf(m, sizeof m, "decoding this request of %zu bytes would take more than %zu bytes of memory", n,
		         w->budget.limit);
		worker_send_error(w, LEDGER__API__ERROR_CODE__REQUEST_TOO_LARGE, NULL, m);
	} else if (w->budget.busy) {
		worker_send_error(w, LEDGER__API__ERROR_CODE__UNAVAILABLE, NULL,
		                  "other requests hold the memory for decoding; retry with the same request id");
	} else {
		worker_send_error(w, LEDGER__API__ERROR_CODE__MALFORMED_REQUEST, NULL, malformed);
	}
}

/*
 * Admits one request: the stop flag, the size, the envelope within its decoding budget, the
 * token, the request inside and the token's subject. True with w->req, w->claims and w->actor
 * set and *now_us the request's time; false, the reply sent, if it goes no further. Reads the
 * bytes only while decoding the envelope (protobuf-c copies what it keeps).
 */
static bool request_admit(worker *w, const uint8_t *bytes, size_t n, int64_t *now_us)
{
	server *s = w->s;
	if (atomic_load(&s->stopping)) {
		worker_send_error(w, LEDGER__API__ERROR_CODE__UNAVAILABLE, NULL,
		                  "ledgerd is shutting down; retry with the same request id");
		return false;
	}
	if (n > s->request_bytes_max) {
		char m[128];
		snprintf(m, sizeof m, "request of %zu bytes is over the limit of %zu bytes", n, s->request_bytes_max);
		worker_send_error(w, LEDGER__API__ERROR_CODE__REQUEST_TOO_LARGE, NULL, m);
		return false;
	}
	/* The envelope first, within a budget (protobuf-c keeps unknown fields, so a message made
	 * of them would otherwise cost far more memory than its size: request_budget.h); the
	 * token it carries is verified before the request inside is decoded at all. */
	api_request_budget_init(&w->budget, &s->decode_bytes_used, n);
	Ledger__Api__Envelope *envelope = ledger__api__envelope__unpack(&w->budget.allocator, n, bytes);
	w->arena = proj_arena_new();
	if (!envelope) {
		request_refused(w, n, "the message is not a ledger.api.Envelope protobuf");
		return false;
	}
	const char *why;
	*now_us = server_clock(s);
	bool authenticated =
	    api_token_verify_cached(s->tokens, envelope->token, s->idp_pk, *now_us / 1000000, &w->claims, &why);
	if (authenticated)
		w->req =
		    ledger__api__request__unpack(&w->budget.allocator, envelope->request.len, envelope->request.data);
	ledger__api__envelope__free_unpacked(envelope, &w->budget.allocator);
	if (!authenticated) {
		worker_send_error(w, LEDGER__API__ERROR_CODE__UNAUTHENTICATED, "token", why);
		return false;
	}
	if (!w->req) {
		request_refused(w, n, "the envelope's request is not a ledger.api.Request protobuf");
		return false;
	}
	/* An email subject is normalised like every address in the ledger, so EC@X.FR is
	 * ec@x.fr in rights checks, in events and in idempotency records. */
	if (!w->claims.platform) {
		char normal[PROJ_EMAIL_BYTES_MAX + 1];
		if (!proj_email_normalise(w->claims.sub, normal, &why)) {
			worker_send_error(w, LEDGER__API__ERROR_CODE__UNAUTHENTICATED, "token",
			                  "the token's subject is not an email address");
			return false;
		}
		memcpy(w->claims.sub, normal, strlen(normal) + 1);
	}
	w->actor.subject = w->claims.sub;
	w->actor.platform = w->claims.platform;
	return true;
}

/* An admitted request: a query answered at once, a command handed to the committer (which
 * replies from done()), a cosignature checked; anything malformed answered as such. */
static void request_dispatch(worker *w, int64_t now_us)
{
	server *s = w->s;
	if (w->req->body_case == LEDGER__API__REQUEST__BODY__NOT_SET) {
		worker_send_error(w, LEDGER__API__ERROR_CODE__MALFORMED_REQUEST, "body",
		                  "the request carries no command or query");
		return;
	}
	if (w->req->body_case == LEDGER__API__REQUEST__BODY_CHECKPOINT_COSIGN) {
		witness_cosign(w); /* kept beside the log, not an event: no request id needed */
		return;
	}
	if (w->req->body_case == LEDGER__API__REQUEST__BODY_COLLECTION_EVIDENCE) {
		evidence_serve(w, now_us); /* a query that needs the tree and the signer too */
		return;
	}
	bool renewal = w->req->body_case == LEDGER__API__REQUEST__BODY_DOCUMENT_TIMESTAMP_RENEW;
	if (!renewal && !proj_is_command(w->req)) {
		MDB_txn *txn;
		if (ledger_read_begin(s->l, &txn) != LEDGER_OK) {
			worker_send_error(w, LEDGER__API__ERROR_CODE__INTERNAL, NULL, ledger_last_error());
			return;
		}
		proj_query(s->p, txn, &w->actor, now_us, w->req, &w->reply, w->arena);
		ledger_read_end(s->l, txn);
		worker_send_reply(w);
		return;
	}
	if (!request_id_valid(w->req->request_id)) {
		worker_send_error(w, LEDGER__API__ERROR_CODE__MALFORMED_REQUEST, "request_id",
		                  "a command needs a request id of 1 to 128 printable ASCII characters");
		return;
	}
	api_request_body_hash(w->req, w->body_hash);
	if (renewal) {
		renewal_serve(w, now_us); /* signs outside the committer, then commits */
		return;
	}
	w->exec = w->req;
	if (w->req->body_case == LEDGER__API__REQUEST__BODY_DELEGATION_IMPORT && !import_to_grant(w))
		return;
	if (w->req->body_case == LEDGER__API__REQUEST__BODY_DOCUMENT_ADD && may_upload(w, now_us) && !inspect_upload(w))
		return;
	if (!certificates_issue_before(w, now_us))
		return;
	w->job.apply = command_job_apply;
	w->job.done = command_job_done;
	ledger_committer_submit(s->committer, &w->job);
}

/* The message is freed once the envelope is decoded, before any upload or import is read:
 * the decoded request holds its own copy. */
static void worker_handle(worker *w, nng_msg *msg)
{
	atomic_fetch_add(&w->s->in_flight, 1);
	int64_t now_us = 0;
	bool admitted = request_admit(w, nng_msg_body(msg), nng_msg_len(msg), &now_us);
	nng_msg_free(msg);
	if (admitted)
		request_dispatch(w, now_us);
}

void worker_handle_request(worker *w, const uint8_t *bytes, size_t n)
{
	int64_t now_us = 0;
	if (request_admit(w, bytes, n, &now_us))
		request_dispatch(w, now_us);
}

void worker_cb(void *arg)
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
		/* A peer that has not taken a reply in API_REPLY_SEND_TIMEOUT_MS is not reading:
		 * close its connection, which also ends every other reply waiting for it, so one
		 * such peer cannot hold the workers that everyone else needs. */
		if (rv == NNG_ETIMEDOUT)
			nng_pipe_close(w->peer);
		worker_reset(w);
		atomic_fetch_sub(&w->s->in_flight, 1);
		if (rv == NNG_ECLOSED || rv == NNG_ECANCELED || atomic_load(&w->s->stopping))
			return;
		worker_receive(w);
		return;
	}
	if (rv == NNG_ECLOSED || rv == NNG_ECANCELED)
		return;
	if (rv != 0) {
		worker_receive(w);
		return;
	}
	nng_msg *msg = nng_aio_get_msg(w->aio);
	w->peer = nng_msg_get_pipe(msg);
	nng_aio_set_msg(w->aio, NULL); /* worker_handle() owns it now */
	worker_handle(w, msg);
}
