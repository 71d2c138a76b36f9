/*
 * server_internal.h: what the parts of ledgerd's service loop share (server.c and the files
 * it is split into: one concern each).
 *
 *   server.c     lifecycle: open the store and its threads, serve until a signal, drain
 *   transport.c  the rep0 and pub0 sockets, the worker contexts, and closing them
 *   handle.c     one request: decode, authenticate, query or command, upload inspection
 *   reply.c      replies and typed errors sent back through a worker's context
 *   jobs.c       a command as the committer runs it: idempotency, decision, refusal buckets
 *   publish.c    each durable batch on the pub socket
 *   expirer.c    the thread that writes expiries as their instants pass
 *   witness.c    witnesses' cosignatures of the checkpoints
 *   evidence.c   a collection's evidence bundle (CollectionEvidence)
 */
#ifndef API_SERVER_INTERNAL_H
#define API_SERVER_INTERNAL_H

#include "ledger.h"
#include "keys_on_record.h"
#include "listener_guard.h"
#include "pki_http.h"
#include "request_budget.h"
#include "projections.h"
#include "server.h"
#include "signer.h"
#include "signing.h"
#include "token.h"

#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>

#include <pthread.h>
#include <stdatomic.h>

typedef struct server server;

typedef enum { WORKER_RECV, WORKER_SEND } worker_state;

/* One in-flight request. Between receive and send it belongs to exactly one thread: the
 * callback thread, then (for a command) the committer until done() hands it back. */
typedef struct worker {
	ledger_job job; /* first member: a ledger_job* is a worker* */
	server *s;
	nng_ctx ctx;
	nng_aio *aio;
	api_request_budget budget; /* what decoding the request may allocate */
	nng_pipe peer;             /* the connection the request came on, closed if it stops reading */
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
	proj_issued issued; /* a certificate issued for the command (certificates.c), its DER in arena */
	bool has_issued;
	/* NULL in ledgerd (replies go through ctx). Set: worker_handle_request's replies come here
	 * instead, exactly one per request, as malloc'd bytes the sink frees (NULL, 0 if out of
	 * memory), with the worker already reset. Called on the thread that replies: the caller
	 * of worker_handle_request, or the committer's for a command. */
	void (*reply_sink)(struct worker *w, uint8_t *reply, size_t reply_bytes);
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
	struct tlog_signer *log_key; /* signs the checkpoints (wiped and freed at drain) */
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
	/* seals evidence bundles (keys_on_record.c): read under the lock by evidence.c for a whole
	 * bundle, written under it by the expirer when it renews the seal */
	pthread_rwlock_t platform_seal_lock;
	api_platform_seal platform_seal;
	signer_tsa_remote *tsa; /* --tsa-url, or NULL */
	api_pki_http *pki;      /* the PKI's HTTP endpoint, or NULL if it could not listen */
	api_signing *signing;
	atomic_uint imports_parsing;     /* imported files being read now (handle.c) */
	api_listener_guard listeners;    /* every listener, and the thread that revives them */
	atomic_size_t decode_bytes_used; /* by every request being decoded or held decoded */
	atomic_bool revocations_stale;   /* the CA may lack a revocation on record (certificates.c) */
	int lock_fd;                     /* the data directory's lock, held while serving */
	struct tlog_verifier *witnesses; /* --witness keys (witness.c) */
	size_t witness_count;
};

/* server.c: the service's clock (the system clock; the test build's clock file). */
int64_t server_clock(void *server_ctx);

/* reply.c: every reply leaves through these; each hands the context back to receiving
 * once the reply is sent (or could not be). */
void worker_reset(worker *w);
/* Waits for the next request on the worker's context, without a time limit. */
void worker_receive(worker *w);
void worker_send_bytes(worker *w, const uint8_t *bytes, size_t n);
void worker_send_reply(worker *w);
void worker_send_error_reason(worker *w, Ledger__Api__ErrorCode code, const char *field, const char *reason,
                              const char *message);
void worker_send_error(worker *w, Ledger__Api__ErrorCode code, const char *field, const char *message);

/* evidence.c: answers a CollectionEvidence with the bundle, or an error. */
void evidence_serve(worker *w, int64_t now_us);
/* renewal.c: DocumentTimestampRenew, which renews outside a transaction and then commits. */
void renewal_serve(worker *w, int64_t now_us);

/* jobs.c: the ledger_job of a command (worker.job). */
ledger_err command_job_apply(ledger_job *job, ledger_txn *t);
/* Whether the actor used w->req->request_id already (*found): then w holds the first reply
 * (w->stored, w->replayed) or, for another body, an IDEMPOTENCY_MISMATCH in w->reply. */
ledger_err command_prior(worker *w, MDB_txn *txn, bool *found);
/* Records w->reply, naming the transaction's last event, under the request id (w->stored). */
ledger_err command_reply_record(worker *w, ledger_txn *t);
/* Sends w->stored: with the latest checkpoint, or marked replayed when it is a retry's. */
void command_send_stored(worker *w);

/* ----- certificates.c ----- */
/* Issues the certificate a RegistrationRecord (certificate_issued) or SealIssue records, into
 * w->issued, when the command may succeed. False, the reply sent, if the CA fails. */
bool certificates_issue_before(worker *w, int64_t now_us);
/* In done(): destroys the key issued for the command unless its event committed. */
void certificates_after_commit(worker *w, ledger_err err);
void command_job_done(ledger_job *job, ledger_err err);

/* witness.c: a CheckpointCosign request (verified here, kept by the committer), and the
 * --witness keys, read at open. */
void witness_cosign(worker *w);
bool witness_keys_load(server *s);

/* handle.c: the nng callback of a worker's context. */
void worker_cb(void *arg);
/*
 * handle.c: the whole request path without nng, for in-process callers (the request fuzzer,
 * tests/fuzz/request_fuzz.c): bytes as a client sends them (an Envelope) are checked, decoded,
 * authenticated and dispatched exactly as ledgerd does with a received message, and the reply
 * goes to w->reply_sink (which must be set). w->s must be an opened server with a running
 * committer; the bytes are only read during the call. The worker takes one request at a time:
 * the next only after the sink received this one's reply.
 */
void worker_handle_request(worker *w, const uint8_t *bytes, size_t n);

/* publish.c: the committer's "committed" callback. */
void server_publish(void *server_ctx, uint64_t first, uint64_t last);

/* expirer.c */
bool expirer_start(server *s);
void expirer_stop(server *s);

/* transport.c */
bool tls_config(const api_server_options *o, nng_tls_config **out);
int open_sockets(server *s, const char *abs_dir, nng_tls_config *tls);
int start_workers(server *s);
void stop_workers(server *s);
void free_workers(server *s);
/* Closes the sockets on a thread of their own, waiting at most SOCKET_CLOSE_WAIT_S (nng 1.5.2
 * can hang in nng_close: transport.c says why). */
#define SOCKET_CLOSE_WAIT_S 3
bool close_sockets(server *s);

#endif
