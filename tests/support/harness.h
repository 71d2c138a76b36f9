/*
 * harness.h: a real ledgerd for a test: its data directory (ledgerd init), the injectable
 * clock, starting `ledgerd serve` as a child and waiting until it is ready, stopping it
 * (SIGTERM or SIGKILL), tokens minted by its identity provider key, and commands over RPC.
 */
#ifndef TESTS_SUPPORT_HARNESS_H
#define TESTS_SUPPORT_HARNESS_H

#include "api.pb-c.h"
#include "client.h"
#include "events.pb-c.h"
#include "fixtures.h"
#include "ledger.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct harness {
	char bin_dir[512];
	char dir[256];        /* data directory */
	char url[320];        /* ipc:// of its rep socket */
	char pub_url[320];    /* ipc:// of its pub socket */
	char clock_file[300]; /* the injectable clock */
	long long now_s;      /* what the clock file says */
	char pki_url[64];     /* ledgerd init --pki-url: http://127.0.0.1:<a port free at init> */
	pid_t pid;
	api_client *client;
} harness;

/* Creates a data directory (ledgerd init) and sets the clock to `now` (YYYY-MM-DDTHH:MM:SSZ).
 * Its PKI endpoint gets a port of its own (h->pki_url), free when init ran: tests running at once
 * do not answer each other's OCSP requests. */
bool harness_init(harness *h, const char *bin_dir, const char *now);
/* Starts `ledgerd serve` with extra arguments (NULL-terminated), waits until it is ready. */
bool harness_start(harness *h, const char *const *extra);
/* SIGTERM and wait: returns the exit status, or -1. */
int harness_stop(harness *h);
void harness_kill9(harness *h);
void harness_cleanup(harness *h);
bool harness_set_clock(harness *h, const char *now);

/* Mints a token signed by the data directory's identity provider key, issued at the injected
 * clock's time, valid ttl_s seconds from then (negative: already expired for ledgerd). */
bool harness_token(const harness *h, const char *sub, bool platform, long ttl_s, const char *aud, char *out);

/* Sends req as `sub` (platform when sub is "platform") with a fresh request id unless
 * req->request_id is set. Returns the reply (caller frees) or NULL on transport failure. */
Ledger__Api__Reply *harness_call(harness *h, const char *sub, Ledger__Api__Request *req);
/* harness_call with a request whose body is `body`, the message of body_case (fixture_request):
 * the reply (caller frees), NULL if none. */
Ledger__Api__Reply *harness_ask(harness *h, const char *as, Ledger__Api__Request__BodyCase body_case, void *body);
/* harness_ask, the reply freed: its error code, 0 when accepted, -1 when there was none. */
int harness_send(harness *h, const char *as, Ledger__Api__Request__BodyCase body_case, void *body);
/* The error code of a reply (0 when none). */
int harness_code(const Ledger__Api__Reply *r);
/* The error code of a reply, which it frees: 0 when none, -1 when r is NULL (no reply). */
int harness_code_of(Ledger__Api__Reply *r);
/* harness_call, the reply freed: its error code, 0 when accepted, -1 when there was none. */
int harness_command(harness *h, const char *as, Ledger__Api__Request *req);
/* A fixture_sender (fixtures.h) that sends with harness_command. */
fixture_sender harness_sender(harness *h);
uint64_t harness_head(harness *h);

/* Asks ledgerd, as `as`, whether actor (NULL: `as` itself) may do action in firm_id: 1 allowed,
 * 0 denied (the reason copied into reason when it is not NULL), -1 no answer. */
int harness_can(harness *h, const char *as, const char *firm_id, const char *actor, const char *action, char *reason,
                size_t reason_bytes);
/* CreditsShow of firm_id as `as`, with up to history_rows rows of history: the reply (caller
 * frees), NULL if none. */
Ledger__Api__Reply *harness_credits_show(harness *h, const char *as, const char *firm_id, uint32_t history_rows);
/* CollectionShow of collection id of firm_id, as `as`: the reply (caller frees), NULL if none. */
Ledger__Api__Reply *harness_collection_show(harness *h, const char *as, const char *firm_id, const char *id);
/* The same, but only a reply that holds the collection (caller frees); NULL otherwise. */
Ledger__Api__Reply *harness_collection_view(harness *h, const char *as, const char *firm_id, const char *id);
/* signer's consent to collection id as the platform reports it (fixture_consent), over the
 * documents' current versions as collection show lists them. 0, or the failure. */
int harness_consent(harness *h, const char *firm_id, const char *id, const char *signer);
/* Internal signer `as` signs collection id (fixture_sign): authenticated a minute before the
 * service's clock, over the documents' current versions as collection show lists them. */
int harness_sign(harness *h, const char *as, const char *firm_id, const char *id);

/* Called with each event the log holds after a seq (ev NULL when its bytes do not unpack; ev is
 * freed after the call, rec's bytes live until the next): false stops the reading. */
typedef bool harness_event_fn(void *ctx, const ledger_record *rec, const Ledger__Events__Event *ev);
/* Reads the log of h's data directory beside the running ledgerd (read-only, as an auditor
 * would), each event after seq `after` in order. Returns how many it read, -1 when the log
 * could not be opened or read. */
long harness_log_scan(const harness *h, uint64_t after, harness_event_fn *each, void *ctx);

/* Runs `ledger-audit COMMAND --data DIR EXTRA 2>&1` (the ledger-audit of h's binary directory,
 * h's data directory; extra may be NULL): its exit status, its output in out. */
int harness_audit(const harness *h, const char *command, const char *extra, char *out, size_t out_bytes);
/* ledger-audit verify, then replay if verify passed: 0 when both exit 0, else the failing exit
 * status; the last one's output in out. */
int harness_audit_all(const harness *h, char *out, size_t out_bytes);

/* A TCP port of 127.0.0.1 free now (the kernel's choice), 0 if none. */
int harness_free_port(void);

/* Runs a command line; returns its exit status. Output goes to out (may be NULL). */
int harness_run(const char *cmd, char *out, size_t out_bytes);

#endif
