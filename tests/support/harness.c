/* harness.c: see harness.h. */
#include "harness.h"

#include "child.h"
#include "token.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/types.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define READY_TIMEOUT_MS 15000
#define CALL_TIMEOUT_MS  10000

int harness_run(const char *cmd, char *out, size_t out_bytes)
{
	FILE *f = popen(cmd, "r");
	if (!f)
		return -1;
	size_t n = 0;
	char sink[4096];
	while (!feof(f)) {
		char *buf = out ? out + n : sink;
		size_t cap = out ? out_bytes - 1 - n : sizeof sink;
		if (cap == 0)
			break;
		size_t got = fread(buf, 1, cap, f);
		if (out)
			n += got;
		if (got == 0)
			break;
	}
	if (out)
		out[n] = '\0';
	int status = pclose(f);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int harness_free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
	          getsockname(fd, (struct sockaddr *)&a, &len) == 0;
	if (fd >= 0)
		close(fd);
	return ok ? ntohs(a.sin_port) : 0;
}

bool harness_set_clock(harness *h, const char *now)
{
	char tmp[320];
	snprintf(tmp, sizeof tmp, "%s.tmp", h->clock_file);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return false;
	fprintf(f, "%s\n", now);
	struct tm tm = {0};
	if (strptime(now, "%Y-%m-%dT%H:%M:%SZ", &tm))
		h->now_s = (long long)timegm(&tm);
	return fclose(f) == 0 && rename(tmp, h->clock_file) == 0; /* atomic for the reader */
}

bool harness_init(harness *h, const char *bin_dir, const char *now)
{
	memset(h, 0, sizeof *h);
	snprintf(h->bin_dir, sizeof h->bin_dir, "%s", bin_dir);
	snprintf(h->dir, sizeof h->dir, "/tmp/ledger-it-XXXXXX");
	if (!mkdtemp(h->dir))
		return false;
	snprintf(h->clock_file, sizeof h->clock_file, "%s.clock", h->dir);
	snprintf(h->url, sizeof h->url, "ipc://%s/ledgerd.sock", h->dir);
	snprintf(h->pub_url, sizeof h->pub_url, "ipc://%s/ledgerd-events.sock", h->dir);
	if (!harness_set_clock(h, now))
		return false;
	char cmd[1200];
	/* init is dated by the same clock: else the log's first event carries the real time and a
	 * clock set before it is ignored (commit times never go back). */
	int port = harness_free_port();
	if (port <= 0)
		return false;
	snprintf(h->pki_url, sizeof h->pki_url, "http://127.0.0.1:%d", port);
	snprintf(cmd, sizeof cmd, "'%s/ledgerd-test-clock' init --data '%s' --clock-file '%s' --pki-url %s 2>&1",
	         bin_dir, h->dir, h->clock_file, h->pki_url);
	char out[512];
	if (harness_run(cmd, out, sizeof out) != 0) {
		fprintf(stderr, "ledgerd init failed: %s\n", out);
		return false;
	}
	return true;
}

bool harness_start(harness *h, const char *const *extra)
{
	char exe[600];
	snprintf(exe, sizeof exe, "%s/ledgerd-test-clock", h->bin_dir); /* the test build: --clock-file */
	const char *argv[CHILD_ARGS_MAX] = {exe, "serve", "--data", h->dir, "--clock-file", h->clock_file};
	size_t argc = 6;
	for (size_t i = 0; extra && extra[i] && argc < CHILD_ARGS_MAX - 3; i++)
		argv[argc++] = extra[i];
	int status;
	if (!child_start(argv, NULL, READY_TIMEOUT_MS, &h->pid, &status)) {
		char how[64];
		child_describe(status, how, sizeof how);
		fprintf(stderr, "ledgerd did not become ready (%s)\n", how);
		h->pid = 0;
		return false;
	}
	const char *why;
	api_client_close(h->client);
	h->client = api_client_open(h->url, CALL_TIMEOUT_MS, &why);
	return h->client != NULL;
}

int harness_stop(harness *h)
{
	api_client_close(h->client);
	h->client = NULL;
	if (h->pid <= 0)
		return -1;
	kill(h->pid, SIGTERM);
	int status;
	pid_t got = waitpid(h->pid, &status, 0);
	h->pid = 0;
	return got > 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void harness_kill9(harness *h)
{
	api_client_close(h->client);
	h->client = NULL;
	if (h->pid > 0) {
		kill(h->pid, SIGKILL);
		waitpid(h->pid, NULL, 0);
	}
	h->pid = 0;
}

void harness_cleanup(harness *h)
{
	if (h->pid > 0)
		harness_kill9(h);
	char cmd[1024];
	snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s' '%s.tmp'", h->dir, h->clock_file, h->clock_file);
	if (system(cmd) != 0)
		fprintf(stderr, "could not clean %s\n", h->dir);
}

bool harness_token(const harness *h, const char *sub, bool platform, long ttl_s, const char *aud, char *out)
{
	/* Tokens are checked against ledgerd's injected clock: issue them by that clock. */
	const char *why;
	return api_token_mint_from_dir(h->dir, sub, platform, h->now_s, ttl_s, aud, out, &why);
}

Ledger__Api__Reply *harness_call(harness *h, const char *sub, Ledger__Api__Request *req)
{
	char token[API_TOKEN_BYTES_MAX], rid[33];
	if (!req->token || !req->token[0]) {
		if (!harness_token(h, sub, strcmp(sub, "platform") == 0, 300L * 24 * 3600, "ledgerd", token))
			return NULL;
		req->token = token;
	}
	if (!req->request_id || !req->request_id[0]) {
		api_request_id(rid);
		req->request_id = rid;
	}
	Ledger__Api__Reply *reply = NULL;
	const char *why;
	if (!api_client_call(h->client, req, &reply, &why))
		fprintf(stderr, "call failed: %s\n", why);
	if (req->token == token)
		req->token = NULL;
	if (req->request_id == rid)
		req->request_id = NULL;
	return reply;
}

Ledger__Api__Reply *harness_ask(harness *h, const char *as, Ledger__Api__Request__BodyCase body_case, void *body)
{
	Ledger__Api__Request req;
	fixture_request(&req, body_case, body);
	return harness_call(h, as, &req);
}

int harness_send(harness *h, const char *as, Ledger__Api__Request__BodyCase body_case, void *body)
{
	return harness_code_of(harness_ask(h, as, body_case, body));
}

int harness_code(const Ledger__Api__Reply *r)
{
	return r && r->error ? (int)r->error->code : 0;
}

int harness_code_of(Ledger__Api__Reply *r)
{
	if (!r)
		return -1;
	int code = harness_code(r);
	ledger__api__reply__free_unpacked(r, NULL);
	return code;
}

int harness_command(harness *h, const char *as, Ledger__Api__Request *req)
{
	return harness_code_of(harness_call(h, as, req));
}

static int command_sent(void *ctx, const char *as, Ledger__Api__Request *req)
{
	return harness_command(ctx, as, req);
}

fixture_sender harness_sender(harness *h)
{
	return (fixture_sender){command_sent, h};
}

uint64_t harness_head(harness *h)
{
	Ledger__Api__Head q = LEDGER__API__HEAD__INIT;
	Ledger__Api__Reply *r = harness_ask(h, "platform", LEDGER__API__REQUEST__BODY_HEAD, &q);
	uint64_t seq = r && r->head ? r->head->seq : ~0ull;
	ledger__api__reply__free_unpacked(r, NULL);
	return seq;
}

int harness_can(harness *h, const char *as, const char *firm_id, const char *actor, const char *action, char *reason,
                size_t reason_bytes)
{
	Ledger__Api__Can q = LEDGER__API__CAN__INIT;
	q.firm_id = (char *)firm_id;
	q.actor = (char *)(actor ? actor : "");
	q.action = (char *)action;
	Ledger__Api__Reply *r = harness_ask(h, as, LEDGER__API__REQUEST__BODY_CAN, &q);
	int allowed = r && r->can ? r->can->allowed : -1;
	if (reason)
		snprintf(reason, reason_bytes, "%s", r && r->can ? r->can->reason : "");
	harness_code_of(r);
	return allowed;
}

Ledger__Api__Reply *harness_collection_show(harness *h, const char *as, const char *firm_id, const char *id)
{
	Ledger__Api__CollectionShow q = LEDGER__API__COLLECTION_SHOW__INIT;
	q.firm_id = (char *)firm_id;
	q.collection_id = (char *)id;
	return harness_ask(h, as, LEDGER__API__REQUEST__BODY_COLLECTION_SHOW, &q);
}

Ledger__Api__Reply *harness_collection_view(harness *h, const char *as, const char *firm_id, const char *id)
{
	Ledger__Api__Reply *r = harness_collection_show(h, as, firm_id, id);
	if (r && (!r->collection || !r->collection->collection)) {
		ledger__api__reply__free_unpacked(r, NULL);
		return NULL;
	}
	return r;
}

#define HARNESS_DOCUMENTS_MAX 50 /* a collection's, PROJ_COLLECTION_DOCUMENTS_MAX */

/* The documents' current versions of collection id, as `platform` sees them: n, or -1. */
static ssize_t shown_versions(harness *h, const char *firm_id, const char *id, Ledger__Api__Reply **r,
                              ProtobufCBinaryData shown[HARNESS_DOCUMENTS_MAX])
{
	*r = harness_collection_show(h, "platform", firm_id, id);
	const Ledger__Api__CollectionView *c = *r && (*r)->collection ? (*r)->collection->collection : NULL;
	if (!c)
		return -1;
	size_t n = 0;
	for (size_t i = 0; i < c->n_documents && n < HARNESS_DOCUMENTS_MAX; i++)
		shown[n++] = c->documents[i]->current_sha256;
	return (ssize_t)n;
}

int harness_consent(harness *h, const char *firm_id, const char *id, const char *signer)
{
	Ledger__Api__Reply *r;
	ProtobufCBinaryData shown[HARNESS_DOCUMENTS_MAX];
	ssize_t n = shown_versions(h, firm_id, id, &r, shown);
	fixture_sender to = harness_sender(h);
	/* the code went a minute before the service's clock */
	int rc = n >= 0
	             ? fixture_consent(&to, firm_id, id, signer, shown, (size_t)n, (int64_t)(h->now_s - 60) * 1000000)
	             : -1;
	if (r)
		ledger__api__reply__free_unpacked(r, NULL);
	return rc;
}

int harness_sign(harness *h, const char *as, const char *firm_id, const char *id)
{
	Ledger__Api__Reply *r;
	ProtobufCBinaryData shown[HARNESS_DOCUMENTS_MAX];
	ssize_t n = shown_versions(h, firm_id, id, &r, shown);
	fixture_sender to = harness_sender(h);
	int rc = n >= 0 ? fixture_sign(&to, as, firm_id, id, shown, (size_t)n, (int64_t)(h->now_s - 60) * 1000000) : -1;
	if (r)
		ledger__api__reply__free_unpacked(r, NULL);
	return rc;
}

long harness_log_scan(const harness *h, uint64_t after, harness_event_fn *each, void *ctx)
{
	ledger *l;
	ledger_options o = {.read_only = true, .allow_broken_chain = true};
	if (ledger_open(h->dir, &o, &l) != LEDGER_OK)
		return -1;
	MDB_txn *txn;
	ledger_iter *it;
	long n = -1;
	if (ledger_read_begin(l, &txn) == LEDGER_OK) {
		if (ledger_iter_open(l, txn, after + 1, &it) == LEDGER_OK) {
			ledger_record rec;
			bool more = true;
			for (n = 0; more && ledger_iter_next(it, &rec) == LEDGER_OK; n++) {
				Ledger__Events__Event *ev =
				    ledger__events__event__unpack(NULL, rec.event_bytes, rec.event);
				more = each(ctx, &rec, ev);
				if (ev)
					ledger__events__event__free_unpacked(ev, NULL);
			}
			ledger_iter_close(it);
		}
		ledger_read_end(l, txn);
	}
	ledger_close(l);
	return n;
}

Ledger__Api__Reply *harness_credits_show(harness *h, const char *as, const char *firm_id, uint32_t history_rows)
{
	Ledger__Api__CreditsShow q = LEDGER__API__CREDITS_SHOW__INIT;
	q.firm_id = (char *)firm_id;
	q.history_rows = history_rows;
	return harness_ask(h, as, LEDGER__API__REQUEST__BODY_CREDITS_SHOW, &q);
}

int harness_audit(const harness *h, const char *command, const char *extra, char *out, size_t out_bytes)
{
	char cmd[1400];
	snprintf(cmd, sizeof cmd, "'%s/ledger-audit' %s --data '%s' %s 2>&1", h->bin_dir, command, h->dir,
	         extra ? extra : "");
	return harness_run(cmd, out, out_bytes);
}

int harness_audit_all(const harness *h, char *out, size_t out_bytes)
{
	int rc = harness_audit(h, "verify", NULL, out, out_bytes);
	return rc != 0 ? rc : harness_audit(h, "replay", NULL, out, out_bytes);
}
