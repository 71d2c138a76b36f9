/*
 * rpc_test: a real ledgerd over real sockets. The first slice's story (grant -> can allowed ->
 * revoke -> can denied), and every bad input: bad tokens, malformed and oversized requests,
 * reused request ids, unknown firms, non-EC grants, a full map. Each refusal is typed and
 * leaves the log's head where it was. Expiry follows the injected clock; committed events
 * reach a subscriber of the firm's topic.
 */
#include "../check.h"
#include "harness.h"
#include "ledger.h"
#include "tlog.h"
#include "token.h"

#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>
#include <nng/supplemental/util/platform.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static harness h;

/* The payload kinds of the events after seq `after`, read from the log itself (read-only,
 * beside the running ledgerd). Returns how many were read into kinds[]. */
typedef struct kinds_read {
	int *kinds;
	size_t n, max;
	Ledger__Events__Event **last; /* NULL, or where the last event read is kept */
} kinds_read;

static bool kind_read(void *ctx, const ledger_record *rec, const Ledger__Events__Event *ev)
{
	kinds_read *k = ctx;
	k->kinds[k->n++] = ev ? (int)ev->payload_case : -1;
	if (k->last) {
		if (*k->last)
			ledger__events__event__free_unpacked(*k->last, NULL);
		*k->last = ledger__events__event__unpack(NULL, rec->event_bytes, rec->event);
	}
	return k->n < k->max;
}

static size_t events_after(uint64_t after, int *kinds, size_t max, Ledger__Events__Event **last)
{
	kinds_read k = {kinds, 0, max, last};
	if (last)
		*last = NULL;
	if (max > 0)
		harness_log_scan(&h, after, kind_read, &k);
	return k.n;
}

static int account(const char *email, bool ec)
{
	fixture_sender to = harness_sender(&h);
	return fixture_account(&to, email, "Test Person", ec);
}

static Ledger__Api__Reply *grant(const char *as, const char *firm, const char *who, const char *expires,
                                 const char *rid)
{
	Ledger__Api__Request req = LEDGER__API__REQUEST__INIT;
	Ledger__Api__DelegationGrant c = LEDGER__API__DELEGATION_GRANT__INIT;
	char *to[1] = {(char *)who};
	Ledger__Events__Right r[2] = {LEDGER__EVENTS__RIGHT__RIGHT_LAUNCH, LEDGER__EVENTS__RIGHT__RIGHT_PREPARE};
	c.firm_id = (char *)firm;
	c.collaborators = to;
	c.n_collaborators = 1;
	c.rights = r;
	c.n_rights = 2;
	c.expires_on = (char *)expires;
	req.request_id = (char *)rid;
	req.body_case = LEDGER__API__REQUEST__BODY_DELEGATION_GRANT;
	req.delegation_grant = &c;
	return harness_call(&h, as, &req);
}

static int revoke_rights(const char *as, const char *firm, const char *who)
{
	fixture_sender to = harness_sender(&h);
	return fixture_revoke(&to, as, firm, who);
}

/* 1 allowed, 0 denied, -1 error. */
static int can(const char *as, const char *firm, const char *who, const char *action)
{
	return harness_can(&h, as, firm, who, action, NULL, 0);
}

static void setup(void)
{
	CHECK(account("ec@cabinet.fr", true) == 0, "EC account");
	CHECK(account("ec2@other.fr", true) == 0, "EC2 account");
	CHECK(account("salima@cabinet.fr", false) == 0, "collaborator account");
	CHECK(account("ec@cabinet.fr", true) == LEDGER__API__ERROR_CODE__ALREADY_EXISTS, "duplicate account");
	const char *firms[][2] = {{"JLM", "ec@cabinet.fr"}, {"OTHER", "ec2@other.fr"}};
	fixture_sender to = harness_sender(&h);
	for (int i = 0; i < 2; i++)
		CHECK(fixture_firm(&to, firms[i][0], "Cabinet", firms[i][1]) == 0, "firm %s", firms[i][0]);
	/* Only the platform role registers accounts. */
	Ledger__Api__AccountAdd c = LEDGER__API__ACCOUNT_ADD__INIT;
	c.email = (char *)"x@y.fr";
	c.name = (char *)"X";
	CHECK(harness_send(&h, "ec@cabinet.fr", LEDGER__API__REQUEST__BODY_ACCOUNT_ADD, &c) ==
	          LEDGER__API__ERROR_CODE__PERMISSION_DENIED,
	      "EC cannot add accounts");
}

static void test_story(void)
{
	CHECK(can("ec@cabinet.fr", "JLM", "salima@cabinet.fr", "signature.send") == 0, "before: denied");
	Ledger__Api__Reply *r = grant("ec@cabinet.fr", "JLM", "salima@cabinet.fr", "2027-01-10", NULL);
	CHECK(r && !r->error && r->grant && r->grant->n_results == 1 &&
	          r->grant->results[0]->status == LEDGER__API__GRANT_RESULT__STATUS__GRANTED && r->seq > 0,
	      "grant");
	harness_code_of(r);
	CHECK(can("salima@cabinet.fr", "JLM", "", "signature.send") == 1, "launch: may send");
	CHECK(can("salima@cabinet.fr", "JLM", "", "seal.seal") == 0, "launch: may not seal");
	CHECK(can("salima@cabinet.fr", "OTHER", "", "signature.send") == 0, "another firm: denied");
	CHECK(can("salima@cabinet.fr", "JLM", "ec@cabinet.fr", "platform.stats") == -1,
	      "a collaborator cannot ask about the EC");
	/* Through the end of 2027-01-10 in Paris (23:00 UTC in winter), then no more. */
	harness_set_clock(&h, "2027-01-10T22:59:59Z");
	uint64_t before = harness_head(&h);
	CHECK(can("salima@cabinet.fr", "JLM", "", "signature.send") == 1, "last second: allowed");
	harness_set_clock(&h, "2027-01-10T23:00:00Z");
	CHECK(can("salima@cabinet.fr", "JLM", "", "signature.send") == 0,
	      "expired at midnight Paris, before any expiry event");
	/* The expirer writes the expiry of both rights within its interval. */
	for (int waited = 0; harness_head(&h) < before + 2 && waited < 50; waited++)
		usleep(100 * 1000);
	int kinds[4];
	CHECK(events_after(before, kinds, 4, NULL) == 2 &&
	          kinds[0] == LEDGER__EVENTS__EVENT__PAYLOAD_DELEGATION_EXPIRED &&
	          kinds[1] == LEDGER__EVENTS__EVENT__PAYLOAD_DELEGATION_EXPIRED,
	      "two DelegationExpired events written");
	CHECK(can("salima@cabinet.fr", "JLM", "", "signature.send") == 0, "still denied after the expiry events");
	harness_set_clock(&h, "2027-01-11T10:00:00Z");
	CHECK(revoke_rights("ec@cabinet.fr", "JLM", "salima@cabinet.fr") == 0, "revoke");
	CHECK(can("salima@cabinet.fr", "JLM", "", "signature.send") == 0, "after revoke: denied");
	CHECK(revoke_rights("ec@cabinet.fr", "JLM", "salima@cabinet.fr") == LEDGER__API__ERROR_CODE__NOT_FOUND,
	      "nothing left to revoke");
}

static void test_refusals_change_nothing(void)
{
	static const struct {
		const char *as, *firm, *expires;
		int code;
		const char *what;
	} refused[] = {
	    {"ec@cabinet.fr", "NOPE", "", LEDGER__API__ERROR_CODE__NOT_FOUND, "unknown firm"},
	    {"salima@cabinet.fr", "JLM", "", LEDGER__API__ERROR_CODE__PERMISSION_DENIED, "a collaborator cannot grant"},
	    {"ec2@other.fr", "JLM", "", LEDGER__API__ERROR_CODE__PERMISSION_DENIED, "another firm's EC cannot grant"},
	    {"ec@cabinet.fr", "JLM", "2019-10-24", LEDGER__API__ERROR_CODE__INVALID_ARGUMENT, "past expiry"},
	};
	uint64_t head = harness_head(&h);
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
		CHECK(harness_code_of(grant(refused[i].as, refused[i].firm, "salima@cabinet.fr", refused[i].expires,
		                            NULL)) == refused[i].code,
		      "%s", refused[i].what);
	Ledger__Api__Reply *r = grant("ec@cabinet.fr", "JLM", "nobody@cabinet.fr", "", NULL);
	CHECK(r && r->grant && r->grant->results[0]->status == LEDGER__API__GRANT_RESULT__STATUS__NO_ACCOUNT &&
	          r->seq == 0,
	      "no account: per-row error, nothing granted");
	harness_code_of(r);
	/* Only the two authorisation refusals are on record, as security events. */
	int kinds[8];
	Ledger__Events__Event *last;
	size_t n = events_after(head, kinds, 8, &last);
	CHECK(n == 2 && kinds[0] == LEDGER__EVENTS__EVENT__PAYLOAD_ACCESS_DENIED &&
	          kinds[1] == LEDGER__EVENTS__EVENT__PAYLOAD_ACCESS_DENIED,
	      "refusals appended only their two security events (%zu)", n);
	CHECK(last && strcmp(last->actor, "ec2@other.fr") == 0 && strcmp(last->firm_id, "JLM") == 0 &&
	          strcmp(last->access_denied->command, "delegation_grant") == 0 &&
	          strcmp(last->access_denied->code, "PERMISSION_DENIED") == 0,
	      "the security event names actor, firm, command and code");
	if (last)
		ledger__events__event__free_unpacked(last, NULL);
	/* A refused command of another family is filed under its firm too (a collection's firm is in
	 * its reference), so firm-filtered views and exports show it. */
	uint64_t before = harness_head(&h);
	Ledger__Api__Request req = LEDGER__API__REQUEST__INIT;
	Ledger__Api__CollectionCreate cc = LEDGER__API__COLLECTION_CREATE__INIT;
	cc.firm_id = (char *)"JLM";
	cc.title = (char *)"Not mine";
	cc.kind = LEDGER__EVENTS__COLLECTION_KIND__KIND_SIGNATURE;
	req.body_case = LEDGER__API__REQUEST__BODY_COLLECTION_CREATE;
	req.collection_create = &cc;
	CHECK(harness_command(&h, "ec2@other.fr", &req) == LEDGER__API__ERROR_CODE__PERMISSION_DENIED,
	      "another firm's EC cannot create a collection in JLM");
	Ledger__Api__CollectionRef ref = LEDGER__API__COLLECTION_REF__INIT;
	ref.firm_id = (char *)"JLM";
	ref.collection_id = (char *)"c1";
	Ledger__Api__CollectionAct act = LEDGER__API__COLLECTION_ACT__INIT;
	act.ref = &ref;
	act.act = LEDGER__API__COLLECTION_ACT__ACT__CANCEL;
	req.body_case = LEDGER__API__REQUEST__BODY_COLLECTION_ACT;
	req.collection_act = &act;
	harness_command(&h, "ec2@other.fr", &req);
	n = events_after(before, kinds, 8, &last);
	CHECK(n >= 1 && last && kinds[n - 1] == LEDGER__EVENTS__EVENT__PAYLOAD_ACCESS_DENIED &&
	          strcmp(last->firm_id, "JLM") == 0,
	      "a refusal by collection reference is filed under its firm (%s)", last ? last->firm_id : "-");
	if (last)
		ledger__events__event__free_unpacked(last, NULL);
}

/* A flood of refusals writes a bounded number of security events. */
static void test_refusal_flood(void)
{
	uint64_t head = harness_head(&h);
	for (int i = 0; i < 60; i++)
		harness_code_of(grant("mallory@cabinet.fr", "JLM", "salima@cabinet.fr", "", NULL));
	uint64_t after = harness_head(&h);
	CHECK(after - head == 10, "60 refusals, 10 security events (%llu)", (unsigned long long)(after - head));
	harness_set_clock(&h, "2027-01-11T10:00:07Z"); /* one more token after 6 s */
	harness_code_of(grant("mallory@cabinet.fr", "JLM", "salima@cabinet.fr", "", NULL));
	int kinds[2];
	Ledger__Events__Event *last;
	CHECK(events_after(after, kinds, 2, &last) == 1 && last && last->access_denied->suppressed == 50,
	      "the next one written counts the 50 suppressed (%u)",
	      last && last->access_denied ? last->access_denied->suppressed : 0);
	if (last)
		ledger__events__event__free_unpacked(last, NULL);
}

static void test_bad_tokens(void)
{
	uint64_t head = harness_head(&h);
	char token[API_TOKEN_BYTES_MAX];
	const struct {
		const char *what;
		long ttl;
		const char *aud;
		bool forge;
	} cases[] = {
	    {"expired", -10, "ledgerd", false},
	    {"wrong audience", 3600, "another-service", false},
	    {"forged", 3600, "ledgerd", true},
	    {"missing", 0, NULL, false},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		token[0] = '\0';
		if (cases[i].aud)
			harness_token(&h, "platform", true, cases[i].ttl, cases[i].aud, token);
		if (cases[i].forge) {
			uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
			crypto_sign_keypair(pk, sk);
			api_claims c = {.iat = 1, .exp = 4000000000, .platform = true};
			snprintf(c.sub, sizeof c.sub, "platform");
			snprintf(c.aud, sizeof c.aud, "ledgerd");
			api_token_mint(&c, sk, token, sizeof token);
		}
		Ledger__Api__Request req = LEDGER__API__REQUEST__INIT;
		Ledger__Api__AccountAdd c = LEDGER__API__ACCOUNT_ADD__INIT;
		c.email = (char *)"intruder@x.fr";
		c.name = (char *)"Intruder";
		req.token = token[0] ? token : (char *)"";
		req.request_id = (char *)"intruder-1";
		req.body_case = LEDGER__API__REQUEST__BODY_ACCOUNT_ADD;
		req.account_add = &c;
		Ledger__Api__Reply *r = NULL;
		const char *why;
		CHECK(api_client_call(h.client, &req, &r, &why), "reply to a %s token", cases[i].what);
		CHECK(harness_code(r) == LEDGER__API__ERROR_CODE__UNAUTHENTICATED, "%s token: UNAUTHENTICATED (got %d)",
		      cases[i].what, harness_code(r));
		ledger__api__reply__free_unpacked(r, NULL);
	}
	CHECK(harness_head(&h) == head, "bad tokens appended nothing");
}

static void test_malformed_and_oversized(void)
{
	uint64_t head = harness_head(&h);
	const char *why;
	Ledger__Api__Reply *r = NULL;
	const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x12, 0x99};
	CHECK(api_client_call_raw(h.client, junk, sizeof junk, &r, &why), "reply to junk");
	CHECK(harness_code(r) == LEDGER__API__ERROR_CODE__MALFORMED_REQUEST, "junk: MALFORMED_REQUEST (%d)",
	      harness_code(r));
	ledger__api__reply__free_unpacked(r, NULL);
	/* A valid request cut in half. */
	Ledger__Api__Request req = LEDGER__API__REQUEST__INIT;
	Ledger__Api__AccountAdd c = LEDGER__API__ACCOUNT_ADD__INIT;
	char token[API_TOKEN_BYTES_MAX];
	harness_token(&h, "platform", true, 3600, "ledgerd", token);
	c.email = (char *)"half@x.fr";
	c.name = (char *)"Half";
	req.token = token;
	req.request_id = (char *)"half-1";
	req.body_case = LEDGER__API__REQUEST__BODY_ACCOUNT_ADD;
	req.account_add = &c;
	size_t n = 0;
	uint8_t *buf = api_envelope_pack(&req, &n);
	REQUIRE_VOID(buf);
	r = NULL;
	CHECK(api_client_call_raw(h.client, buf, n - 5, &r, &why), "reply to a truncated request");
	CHECK(harness_code(r) == LEDGER__API__ERROR_CODE__MALFORMED_REQUEST, "truncated: MALFORMED_REQUEST (%d)",
	      harness_code(r));
	ledger__api__reply__free_unpacked(r, NULL);
	free(buf);
	/* A command without a request id. */
	req.request_id = (char *)"";
	r = NULL;
	CHECK(api_client_call(h.client, &req, &r, &why), "reply");
	CHECK(harness_code(r) == LEDGER__API__ERROR_CODE__MALFORMED_REQUEST &&
	          strcmp(r->error->field, "request_id") == 0,
	      "no request id: %d %s", harness_code(r), r && r->error ? r->error->message : "");
	ledger__api__reply__free_unpacked(r, NULL);
	/* A query's request id that is not UTF-8 is not echoed: a reply must hold UTF-8 strings
	 * only, or no client (Python's, Go's protobuf) could decode it. Found by request_fuzz. */
	Ledger__Api__Request query = LEDGER__API__REQUEST__INIT;
	Ledger__Api__Head hq = LEDGER__API__HEAD__INIT;
	query.token = token;
	query.request_id = (char *)"q-\xff\xfe";
	query.body_case = LEDGER__API__REQUEST__BODY_HEAD;
	query.head = &hq;
	r = NULL;
	CHECK(api_client_call(h.client, &query, &r, &why), "reply to a query with a request id not UTF-8");
	CHECK(r && !r->error && r->request_id[0] == '\0', "the id is not echoed (code %d, id \"%s\")", harness_code(r),
	      r ? r->request_id : "");
	ledger__api__reply__free_unpacked(r, NULL);
	query.request_id = (char *)"q-\xc3\xa9t\xc3\xa9"; /* "q-été": UTF-8, echoed as before */
	r = NULL;
	CHECK(api_client_call(h.client, &query, &r, &why), "reply to a query with a UTF-8 request id");
	CHECK(r && strcmp(r->request_id, query.request_id) == 0, "a UTF-8 id is echoed (\"%s\")",
	      r ? r->request_id : "");
	ledger__api__reply__free_unpacked(r, NULL);
	/* 16 MiB: over the 11 MiB request limit (a 10 MiB document and its envelope), under the
	 * transport's: a typed answer. */
	size_t big = 16u << 20;
	char *name = malloc(big);
	memset(name, 'a', big - 1);
	name[big - 1] = '\0';
	c.name = name;
	req.request_id = (char *)"big-1";
	r = NULL;
	CHECK(api_client_call(h.client, &req, &r, &why), "reply to an oversized request: %s", r ? "" : why);
	CHECK(harness_code(r) == LEDGER__API__ERROR_CODE__REQUEST_TOO_LARGE, "oversized: REQUEST_TOO_LARGE (%d)",
	      harness_code(r));
	ledger__api__reply__free_unpacked(r, NULL);
	free(name);
	/* The token is checked before the request inside the envelope is decoded: a bad token
	 * with an undecodable request is UNAUTHENTICATED, a good one with it MALFORMED. */
	static const uint8_t not_a_request[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
	for (int good = 0; good < 2; good++) {
		Ledger__Api__Envelope envelope = LEDGER__API__ENVELOPE__INIT;
		envelope.token = good ? token : (char *)"v1.forged.token";
		envelope.request = (ProtobufCBinaryData){sizeof not_a_request, (uint8_t *)not_a_request};
		uint8_t wire[API_TOKEN_BYTES_MAX + 64];
		size_t wire_bytes = ledger__api__envelope__pack(&envelope, wire);
		r = NULL;
		CHECK(api_client_call_raw(h.client, wire, wire_bytes, &r, &why), "reply to an envelope");
		int want = good ? LEDGER__API__ERROR_CODE__MALFORMED_REQUEST : LEDGER__API__ERROR_CODE__UNAUTHENTICATED;
		CHECK(harness_code(r) == want, "%s token, undecodable request: %d, want %d", good ? "good" : "bad",
		      harness_code(r), want);
		ledger__api__reply__free_unpacked(r, NULL);
	}
	/* An empty request: no token, nothing. */
	r = NULL;
	CHECK(api_client_call_raw(h.client, (const uint8_t *)"", 0, &r, &why), "reply to empty");
	CHECK(harness_code(r) == LEDGER__API__ERROR_CODE__UNAUTHENTICATED, "empty: UNAUTHENTICATED (%d)",
	      harness_code(r));
	ledger__api__reply__free_unpacked(r, NULL);
	CHECK(harness_head(&h) == head, "bad requests appended nothing");
}

static void test_idempotency(void)
{
	Ledger__Api__Reply *first = grant("ec@cabinet.fr", "JLM", "salima@cabinet.fr", "2027-06-30", "retry-me");
	uint64_t head = harness_head(&h);
	Ledger__Api__Reply *again = grant("ec@cabinet.fr", "JLM", "salima@cabinet.fr", "2027-06-30", "retry-me");
	CHECK(first && again && !first->error && !again->error, "both answered");
	CHECK(again && again->replayed && !first->replayed, "the retry is marked replayed");
	CHECK(first && again && first->seq == again->seq && first->seq == head, "same seq: %llu",
	      (unsigned long long)(first ? first->seq : 0));
	CHECK(harness_head(&h) == head, "the retry appended nothing");
	harness_code_of(first);
	harness_code_of(again);
	CHECK(harness_code_of(grant("ec@cabinet.fr", "JLM", "salima@cabinet.fr", "2027-07-01", "retry-me")) ==
	          LEDGER__API__ERROR_CODE__IDEMPOTENCY_MISMATCH,
	      "same id, other command");
	/* Request ids are per actor: another actor may use the same one. */
	CHECK(harness_code_of(grant("ec2@other.fr", "OTHER", "salima@cabinet.fr", "2027-06-30", "retry-me")) == 0,
	      "same id, other actor");
}

/* The log key's verifier, from the data directory (what ledgerd init printed). */
static bool log_verifier(tlog_verifier *out)
{
	char path[400], text[TLOG_VKEY_BYTES_MAX + 2] = "";
	snprintf(path, sizeof path, "%s/keys/log.vkey", h.dir);
	FILE *f = fopen(path, "re");
	size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
	if (f)
		fclose(f);
	text[n] = '\0';
	if (n && text[n - 1] == '\n')
		text[n - 1] = '\0';
	return tlog_vkey_parse(text, out) == TLOG_OK;
}

/* Replies carry a checkpoint signed by the log key that includes what they wrote; Head gives
 * the latest and a consistency proof from any earlier size. */
static void test_checkpoints(void)
{
	tlog_verifier key;
	REQUIRE_VOID(log_verifier(&key));
	CHECK(account("yann@cabinet.fr", false) == 0, "another collaborator");
	Ledger__Api__Reply *first = grant("ec@cabinet.fr", "JLM", "yann@cabinet.fr", "2027-06-30", "cp-1");
	Ledger__Api__Reply *again = grant("ec@cabinet.fr", "JLM", "yann@cabinet.fr", "2027-06-30", "cp-1");
	Ledger__Api__Reply *refused = grant("salima@cabinet.fr", "JLM", "yann@cabinet.fr", "2027-06-30", "cp-2");
	REQUIRE_VOID(first && again && refused && !first->error && first->seq);
	tlog_checkpoint cp, cp_again;
	tlog_note_result r;
	CHECK(tlog_checkpoint_open(first->checkpoint, strlen(first->checkpoint), &key, NULL, 0, &cp, &r) == TLOG_OK,
	      "the reply's checkpoint is signed by the log key: %s", tlog_last_error());
	CHECK(cp.size >= first->seq, "and includes the event (%llu >= %llu)", (unsigned long long)cp.size,
	      (unsigned long long)first->seq);
	CHECK(tlog_checkpoint_open(again->checkpoint, strlen(again->checkpoint), &key, NULL, 0, &cp_again, &r) ==
	              TLOG_OK &&
	          cp_again.size >= cp.size,
	      "a replayed reply carries the checkpoint of its time");
	CHECK(refused->error && refused->checkpoint[0] == '\0', "a refusal wrote nothing and carries none");
	/* Head: the latest checkpoint and the consistency proof from the first one. */
	harness_code_of(grant("ec@cabinet.fr", "JLM", "yann@cabinet.fr", "2027-07-30", "cp-3"));
	Ledger__Api__Request req = LEDGER__API__REQUEST__INIT;
	Ledger__Api__Head q = LEDGER__API__HEAD__INIT;
	q.consistency_from = cp.size;
	req.body_case = LEDGER__API__REQUEST__BODY_HEAD;
	req.head = &q;
	Ledger__Api__Reply *head = harness_call(&h, "salima@cabinet.fr", &req);
	tlog_checkpoint latest;
	REQUIRE_VOID(head && !head->error && head->head);
	CHECK(tlog_checkpoint_open(head->head->checkpoint, strlen(head->head->checkpoint), &key, NULL, 0, &latest,
	                           &r) == TLOG_OK &&
	          latest.size == harness_head(&h),
	      "Head's checkpoint is the head's");
	tlog_proof proof = {.count = head->head->n_consistency};
	for (size_t i = 0; i < proof.count && i < TLOG_PROOF_HASHES_MAX; i++)
		memcpy(proof.hashes[i], head->head->consistency[i].data, TLOG_HASH_BYTES);
	CHECK(tlog_verify_consistency(cp.size, latest.size, cp.root, latest.root, &proof) == TLOG_OK,
	      "the consistency proof from %llu to %llu verifies", (unsigned long long)cp.size,
	      (unsigned long long)latest.size);
	q.consistency_from = latest.size + 1;
	Ledger__Api__Reply *past = harness_call(&h, "salima@cabinet.fr", &req);
	CHECK(harness_code(past) == LEDGER__API__ERROR_CODE__INVALID_ARGUMENT, "a size past the checkpoint is refused");
	/* No witness configured: a cosignature is refused, typed. */
	Ledger__Api__CheckpointCosign c = LEDGER__API__CHECKPOINT_COSIGN__INIT;
	c.note = head->head->checkpoint;
	Ledger__Api__Request creq = LEDGER__API__REQUEST__INIT;
	creq.body_case = LEDGER__API__REQUEST__BODY_CHECKPOINT_COSIGN;
	creq.checkpoint_cosign = &c;
	Ledger__Api__Reply *cosign = harness_call(&h, "salima@cabinet.fr", &creq);
	CHECK(harness_code(cosign) == LEDGER__API__ERROR_CODE__PERMISSION_DENIED, "no witness configured: refused");
	Ledger__Api__Reply *all[] = {first, again, refused, head, past, cosign};
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		if (all[i])
			ledger__api__reply__free_unpacked(all[i], NULL);
}

static void test_publication(void)
{
	nng_socket sub;
	REQUIRE_VOID(nng_sub0_open(&sub) == 0);
	nng_socket_set(sub, NNG_OPT_SUB_SUBSCRIBE, "firm:JLM", 9); /* with the NUL: exactly JLM */
	nng_socket_set_ms(sub, NNG_OPT_RECVTIMEO, 5000);
	REQUIRE_VOID(nng_dial(sub, h.pub_url, NULL, 0) == 0);
	nng_msleep(300); /* pub/sub drops what is sent before the subscription reaches the publisher */
	harness_code_of(grant("ec2@other.fr", "OTHER", "salima@cabinet.fr", "2027-08-31", NULL));
	Ledger__Api__Reply *r = grant("ec@cabinet.fr", "JLM", "salima@cabinet.fr", "2027-08-31", NULL);
	uint64_t last = r ? r->seq : 0;
	harness_code_of(r);
	int received = 0;
	nng_msg *msg;
	while (received < 2 && nng_recvmsg(sub, &msg, 0) == 0) {
		const char *body = nng_msg_body(msg);
		size_t topic = strnlen(body, nng_msg_len(msg)) + 1;
		ledger_record rec;
		CHECK(strcmp(body, "firm:JLM") == 0, "only JLM's events: %s", body);
		CHECK(ledger_record_parse((const uint8_t *)body + topic, nng_msg_len(msg) - topic, &rec) == LEDGER_OK,
		      "a record");
		uint8_t hash[LEDGER_HASH_BYTES];
		ledger_hash_record(rec.seq, rec.prev_hash, rec.event, rec.event_bytes, hash);
		CHECK(memcmp(hash, rec.hash, LEDGER_HASH_BYTES) == 0, "a published record verifies");
		CHECK(rec.seq == last - 1 + (uint64_t)received, "seq %llu", (unsigned long long)rec.seq);
		received++;
		nng_msg_free(msg);
	}
	CHECK(received == 2, "both events of the grant published (%d)", received);
	/* A collection's events go to its firm's topic too: a dashboard follows one firm. */
	Ledger__Api__Request req = LEDGER__API__REQUEST__INIT;
	Ledger__Api__CollectionCreate c = LEDGER__API__COLLECTION_CREATE__INIT;
	c.kind = LEDGER__EVENTS__COLLECTION_KIND__KIND_SIGNATURE;
	c.title = (char *)"Published";
	req.body_case = LEDGER__API__REQUEST__BODY_COLLECTION_CREATE;
	req.collection_create = &c;
	c.firm_id = (char *)"OTHER";
	CHECK(harness_command(&h, "ec2@other.fr", &req) == 0, "a collection in OTHER");
	c.firm_id = (char *)"JLM";
	CHECK(harness_command(&h, "ec@cabinet.fr", &req) == 0, "a collection in JLM");
	bool created = false;
	if (nng_recvmsg(sub, &msg, 0) == 0) {
		const char *body = nng_msg_body(msg);
		size_t topic = strnlen(body, nng_msg_len(msg)) + 1;
		ledger_record rec;
		Ledger__Events__Event *ev = NULL;
		if (strcmp(body, "firm:JLM") == 0 &&
		    ledger_record_parse((const uint8_t *)body + topic, nng_msg_len(msg) - topic, &rec) == LEDGER_OK)
			ev = ledger__events__event__unpack(NULL, rec.event_bytes, rec.event);
		created = ev && ev->payload_case == LEDGER__EVENTS__EVENT__PAYLOAD_COLLECTION_CREATED &&
		          strcmp(ev->collection_created->title, "Published") == 0;
		if (ev)
			ledger__events__event__free_unpacked(ev, NULL);
		nng_msg_free(msg);
	}
	CHECK(created, "JLM's subscriber gets JLM's CollectionCreated, not OTHER's");
	nng_close(sub);
}

/* Expiry instants that pass while ledgerd is down reach the log when it starts again. */
static void test_expiry_after_restart(void)
{
	uint64_t head = harness_head(&h);
	CHECK(harness_stop(&h) == 0, "stop");
	harness_set_clock(&h, "2027-12-01T12:00:00Z");
	REQUIRE_VOID(harness_start(&h, NULL));
	for (int waited = 0; harness_head(&h) == head && waited < 50; waited++)
		usleep(100 * 1000);
	int kinds[16];
	size_t n = events_after(head, kinds, 16, NULL);
	bool all_expired = n > 0;
	for (size_t i = 0; i < n; i++)
		all_expired = all_expired && kinds[i] == LEDGER__EVENTS__EVENT__PAYLOAD_DELEGATION_EXPIRED;
	CHECK(all_expired, "after the restart: %zu DelegationExpired events", n);
	Ledger__Api__DelegationsGiven q = LEDGER__API__DELEGATIONS_GIVEN__INIT;
	q.firm_id = (char *)"JLM";
	Ledger__Api__Reply *r = harness_ask(&h, "ec@cabinet.fr", LEDGER__API__REQUEST__BODY_DELEGATIONS_GIVEN, &q);
	bool listed_expired = r && r->delegations && r->delegations->n_rows > 0;
	for (size_t i = 0; listed_expired && i < r->delegations->n_rows; i++)
		listed_expired = r->delegations->rows[i]->expired;
	CHECK(listed_expired, "the given list shows them expired");
	harness_code_of(r);
}

/* A tiny map: commands fail with STORAGE_FULL, acknowledged ones stay, the chain verifies. */
static void test_map_full(const char *bin_dir)
{
	harness_stop(&h);
	harness small;
	REQUIRE_VOID(harness_init(&small, bin_dir, "2026-11-29T10:00:00Z"));
	const char *extra[] = {"--map-size", "256K", "--map-size-max", "512K", NULL};
	REQUIRE_VOID(harness_start(&small, extra));
	harness saved = h;
	h = small;
	uint64_t started = harness_head(&h); /* init and the keys ledgerd recorded at its start */
	int ok = 0, full = 0;
	char email[64];
	for (int i = 0; i < 5000 && full == 0; i++) {
		snprintf(email, sizeof email, "person%d@cabinet.fr", i);
		int code = account(email, false);
		ok += code == 0;
		full += code == LEDGER__API__ERROR_CODE__STORAGE_FULL;
	}
	CHECK(full == 1 && ok > 100, "the map filled: %d accepted, then STORAGE_FULL", ok);
	/* Reads still work, and the acknowledged accounts are all there. */
	CHECK(started > 1 && harness_head(&h) == started + (uint64_t)ok, "head = %llu at start + %d accounts",
	      (unsigned long long)started, ok);
	int kinds[1];
	CHECK(events_after(started + (uint64_t)ok, kinds, 1, NULL) == 0, "nothing after the last acknowledged");
	CHECK(harness_stop(&h) == 0, "clean stop");
	char out[512];
	CHECK(harness_audit(&h, "verify", NULL, out, sizeof out) == 0, "chain intact after map full: %s", out);
	/* Restarted with room, it takes commands again. */
	const char *roomy[] = {"--map-size-max", "64M", NULL};
	CHECK(harness_start(&h, roomy), "restart");
	CHECK(account("after@cabinet.fr", false) == 0, "accepted after growth");
	harness_stop(&h);
	harness_cleanup(&h);
	h = saved;
}

int main(int argc, char **argv)
{
	REQUIRE(argc == 2, "usage: rpc_test BIN_DIR");
	REQUIRE(sodium_init() >= 0, "sodium");
	REQUIRE(harness_init(&h, argv[1], "2026-11-29T10:00:00Z"), "init");
	REQUIRE(harness_start(&h, NULL), "start");
	setup();
	test_story();
	test_refusals_change_nothing();
	test_refusal_flood();
	test_bad_tokens();
	test_malformed_and_oversized();
	test_idempotency();
	test_checkpoints();
	test_publication();
	CHECK(harness_stop(&h) == 0, "SIGTERM: clean exit");
	char cmd[600], out[512];
	CHECK(harness_audit_all(&h, out, sizeof out) == 0, "verify and replay: %s", out);
	/* A second ledgerd on the same directory is refused while the first runs. */
	REQUIRE(harness_start(&h, NULL), "restart");
	snprintf(cmd, sizeof cmd, "'%s/ledgerd' serve --data '%s' --listen ipc://%s/other.sock 2>&1", argv[1], h.dir,
	         h.dir);
	CHECK(harness_run(cmd, out, sizeof out) == 1 && strstr(out, "already served"), "second ledgerd refused: %s",
	      out);
	test_expiry_after_restart();
	/* Who could do what, from the log alone, on each side of the expiry instant. */
	CHECK(harness_audit(&h, "replay", "--as-of 2027-01-10T22:59:59Z --firm JLM", out, sizeof out) == 0 &&
	          strstr(out, "salima@cabinet.fr") && strstr(out, "launch") && strstr(out, "through 2027-01-10") &&
	          strstr(out, "ec@cabinet.fr"),
	      "as of the last second: %s", out);
	CHECK(harness_audit(&h, "replay", "--as-of 2027-01-10T23:00:00Z --firm JLM", out, sizeof out) == 0 &&
	          !strstr(out, "salima@cabinet.fr") && strstr(out, "ec@cabinet.fr"),
	      "as of midnight Paris, only the EC: %s", out);
	CHECK(harness_audit(&h, "replay", "--as-of 2026-11-29T09:00:00Z --firm JLM", out, sizeof out) == 1 &&
	          strstr(out, "did not exist"),
	      "before the firm existed: %s", out);
	test_map_full(argv[1]);
	harness_stop(&h);
	harness_cleanup(&h);
	return check_report("rpc_test");
}
