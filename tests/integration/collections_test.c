/*
 * collections_test: collections over RPC against a real ledgerd, as each role meets them
 * (docs/collections.md; the rules are projections/collection_commands.c and the rights matrix
 * projections/rights.c). Checked here:
 *   1. the lifecycle per role: a preparer needs the EC's approval, a launcher sends, a sealer
 *      seals (and the signer thread really seals the document), cancelling releases credits;
 *   2. illegal transitions are refused with typed errors and write nothing;
 *   3. a sent collection expires by the injectable clock, releasing its credits; the expiry
 *      period defaults to 15 days, or the firm's preference;
 *   4. two actors modifying the same version at once: exactly one wins, the other CONFLICT;
 *   5. concurrent sends never reserve more credits than the firm has, and a refused approval
 *      or seal writes nothing;
 *   6. hostile uploads are INVALID_DOCUMENT with the right reason, and write nothing;
 *   7. a retried upload (same request id) replays its first reply and stores nothing new.
 * The PDFs are tests/support/pdf.c's, built byte by byte with exact cross-reference offsets.
 */
#include "../check.h"
#include "../support/scratch.h"
#include "harness.h"
#include "pdf.h"
#include "ledger.h"
#include "token.h"

#include <assert.h>
#include <pthread.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define EC       "ec@cabinet-durand.fr"
#define PREPARER "prep@cabinet-durand.fr"
#define LAUNCHER "launch@cabinet-durand.fr"
#define SEALER   "seal@cabinet-durand.fr"
#define SIGNER   "sign@cabinet-durand.fr"
#define CLIENT   "client1@example.fr" /* the first external signer draft_ready() adds */
#define PHONE    "+33612345678"

#define FIRM           "DURAND"    /* every test but the credits race */
#define FIRM_CREDITS   100u        /* what FIRM starts with */
#define CREDITS_FIRM   "DURAND-CR" /* the credits race: a firm of its own, exact balances */
#define DELEGATIONS_TO "2027-12-31"

#define ACT(name)   LEDGER__API__COLLECTION_ACT__ACT__##name
#define ERR(name)   LEDGER__API__ERROR_CODE__##name
#define STATE(name) LEDGER__EVENTS__COLLECTION_STATE__STATE_##name
#define KIND(name)  LEDGER__EVENTS__COLLECTION_KIND__KIND_##name

#define DAY_US            (86400 * INT64_C(1000000))
#define POLL_INTERVAL_MS  100
#define POLL_MS_MAX       10000 /* the signer thread and the expirer (every second) */
#define CALL_TIMEOUT_MS   10000
#define CALL_TOKEN_TTL_S  3600
#define COLLECTION_ID_MAX 32

static harness h;

/* ----- PDFs ----- */

#define PDF_BYTES_MAX 16384u

typedef struct pdf {
	uint8_t bytes[PDF_BYTES_MAX];
	size_t n;
} pdf;

static void pdf_make(pdf *p, const test_pdf_spec *s)
{
	p->n = test_pdf_write(p->bytes, sizeof p->bytes, s);
	assert(p->n > 0);
}

static void pdf_simple(pdf *p, const char *tag, int pages)
{
	pdf_make(p, &(test_pdf_spec){.tag = tag, .pages = pages});
}

/* A valid one-page PDF of exactly `bytes` bytes (padded by a comment). */
static void pdf_sized(pdf *p, const char *tag, size_t bytes)
{
	p->n = test_pdf_sized(p->bytes, sizeof p->bytes, tag, bytes);
	assert(p->n == bytes);
}

static bool file_read(const char *path, pdf *out)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return false;
	out->n = fread(out->bytes, 1, sizeof out->bytes, f);
	bool ok = !ferror(f) && feof(f);
	fclose(f);
	return ok;
}

/* qpdf encrypts src (AES-256) with the user password `user` ("" opens without one). */
static bool pdf_encrypt(const pdf *src, const char *user, pdf *out)
{
	char plain[300], locked[300], cmd[1024], text[1024];
	snprintf(plain, sizeof plain, "%s.plain.pdf", h.dir);
	snprintf(locked, sizeof locked, "%s.locked.pdf", h.dir);
	snprintf(cmd, sizeof cmd, "qpdf --encrypt '%s' owner-secret 256 -- '%s' '%s' 2>&1", user, plain, locked);
	bool ok = write_file(plain, src->bytes, src->n);
	int rc = ok ? harness_run(cmd, text, sizeof text) : -1;
	ok = (rc == 0 || rc == 3) && file_read(locked, out); /* 3: qpdf's warnings */
	if (!ok)
		fprintf(stderr, "qpdf failed (%d): %s\n", rc, text);
	unlink(plain);
	unlink(locked);
	return ok;
}

/* ----- calls ----- */

/* A thread's own connection (nng req0 serves one request at a time per socket). NULL: the
 * harness's, from the main thread. */
static _Thread_local api_client *thread_client;

static Ledger__Api__Reply *call(const char *as, Ledger__Api__Request *req)
{
	if (!thread_client)
		return harness_call(&h, as, req);
	char token[API_TOKEN_BYTES_MAX], rid[33];
	if (!harness_token(&h, as, strcmp(as, "platform") == 0, CALL_TOKEN_TTL_S, "ledgerd", token))
		return NULL;
	api_request_id(rid);
	req->token = token;
	req->request_id = rid;
	Ledger__Api__Reply *reply = NULL;
	const char *why;
	if (!api_client_call(thread_client, req, &reply, &why))
		fprintf(stderr, "call as %s failed: %s\n", as, why);
	req->token = NULL;
	req->request_id = NULL;
	return reply;
}

/* call() with a request whose body is `body`, the message of body_case (fixture_request). */
static Ledger__Api__Reply *ask(const char *as, Ledger__Api__Request__BodyCase body_case, void *body)
{
	Ledger__Api__Request req;
	fixture_request(&req, body_case, body);
	return call(as, &req);
}

/* What a reply said, the reply freed. */
typedef struct outcome {
	int code; /* the Error's code: 0 OK, -1 no reply at all */
	char reason[32];
	char field[32];
	char id[COLLECTION_ID_MAX]; /* the collection the reply shows, when it shows one */
	int state;
	uint64_t version;
	uint64_t seq;
	bool replayed;
} outcome;

static const Ledger__Api__CollectionView *view_of(const Ledger__Api__Reply *r)
{
	return r && r->result_case == LEDGER__API__REPLY__RESULT_COLLECTION && r->collection ? r->collection->collection
	                                                                                     : NULL;
}

static outcome outcome_of(Ledger__Api__Reply *r)
{
	outcome o = {.code = -1};
	if (!r)
		return o;
	o.code = harness_code(r);
	if (r->error) {
		snprintf(o.reason, sizeof o.reason, "%s", r->error->reason ? r->error->reason : "");
		snprintf(o.field, sizeof o.field, "%s", r->error->field ? r->error->field : "");
	}
	const Ledger__Api__CollectionView *v = view_of(r);
	if (v) {
		snprintf(o.id, sizeof o.id, "%s", v->collection_id);
		o.state = (int)v->state;
		o.version = v->version;
	}
	o.seq = r->seq;
	o.replayed = r->replayed;
	ledger__api__reply__free_unpacked(r, NULL);
	return o;
}

static Ledger__Api__CollectionRef ref_of(const char *firm, const char *id, uint64_t expected_version)
{
	Ledger__Api__CollectionRef ref = LEDGER__API__COLLECTION_REF__INIT;
	ref.firm_id = (char *)firm;
	ref.collection_id = (char *)id;
	ref.expected_version = expected_version;
	return ref;
}

static outcome create(const char *as, const char *firm, Ledger__Events__CollectionKind kind, const char *title,
                      uint32_t expiry_days)
{
	Ledger__Api__CollectionCreate c = LEDGER__API__COLLECTION_CREATE__INIT;
	c.firm_id = (char *)firm;
	c.kind = kind;
	c.title = (char *)title;
	c.expiry_days = expiry_days;
	return outcome_of(ask(as, LEDGER__API__REQUEST__BODY_COLLECTION_CREATE, &c));
}

/* request_id NULL: a fresh one. */
static outcome add_document(const char *as, const char *firm, const char *id, const pdf *doc, const char *request_id)
{
	Ledger__Api__Request req = LEDGER__API__REQUEST__INIT;
	Ledger__Api__DocumentAdd d = LEDGER__API__DOCUMENT_ADD__INIT;
	Ledger__Api__CollectionRef ref = ref_of(firm, id, 0);
	d.ref = &ref;
	d.filename = (char *)"document.pdf";
	d.content = (ProtobufCBinaryData){doc->n, (uint8_t *)doc->bytes};
	req.request_id = (char *)request_id;
	req.body_case = LEDGER__API__REQUEST__BODY_DOCUMENT_ADD;
	req.document_add = &d;
	return outcome_of(call(as, &req));
}

/* An external signer gets a name and a mobile phone; an internal one is an account. */
static outcome add_signer(const char *as, const char *firm, const char *id, const char *email, bool external)
{
	Ledger__Api__SignerAdd s = LEDGER__API__SIGNER_ADD__INIT;
	Ledger__Api__CollectionRef ref = ref_of(firm, id, 0);
	s.ref = &ref;
	s.email = (char *)email;
	s.external = external;
	if (external) {
		s.name = (char *)"Claire Client";
		s.phone = (char *)PHONE;
	}
	return outcome_of(ask(as, LEDGER__API__REQUEST__BODY_SIGNER_ADD, &s));
}

/* expected: the version the caller saw (0: do not check). */
static outcome act_at(const char *as, const char *firm, const char *id, uint64_t expected,
                      Ledger__Api__CollectionAct__Act what, const char *comment)
{
	Ledger__Api__CollectionAct a = LEDGER__API__COLLECTION_ACT__INIT;
	Ledger__Api__CollectionRef ref = ref_of(firm, id, expected);
	a.ref = &ref;
	a.act = what;
	a.comment = (char *)comment;
	return outcome_of(ask(as, LEDGER__API__REQUEST__BODY_COLLECTION_ACT, &a));
}

static outcome act(const char *as, const char *firm, const char *id, Ledger__Api__CollectionAct__Act what,
                   const char *comment)
{
	return act_at(as, firm, id, 0, what, comment);
}

static outcome modify_title(const char *as, const char *firm, const char *id, const char *title, uint64_t expected)
{
	Ledger__Api__CollectionModify m = LEDGER__API__COLLECTION_MODIFY__INIT;
	Ledger__Api__CollectionRef ref = ref_of(firm, id, expected);
	m.ref = &ref;
	m.title = (char *)title;
	return outcome_of(ask(as, LEDGER__API__REQUEST__BODY_COLLECTION_MODIFY, &m));
}

/* What the front-end reports of a signer (platform role). */
/* A consent is reported as the platform does (docs/collections.md#consent): after an
 * authentication, over the documents' current versions. */
static outcome report(const char *firm, const char *id, const char *signer, Ledger__Events__SignerAction action)
{
	if (action == LEDGER__EVENTS__SIGNER_ACTION__SIGNER_CONSENTED) {
		Ledger__Api__Reply *r = harness_collection_show(&h, "platform", firm, id);
		bool shown = r && r->collection && r->collection->collection;
		harness_code_of(r);
		if (shown && harness_consent(&h, firm, id, signer) != 0)
			return (outcome){.code = -1};
		/* the consent was taken: what the collection looks like after it */
		return outcome_of(harness_collection_show(&h, "platform", firm, id));
	}
	Ledger__Api__SignerReport s = LEDGER__API__SIGNER_REPORT__INIT;
	Ledger__Api__CollectionRef ref = ref_of(firm, id, 0);
	s.ref = &ref;
	s.signer = (char *)signer;
	s.action = action;
	return outcome_of(ask("platform", LEDGER__API__REQUEST__BODY_SIGNER_REPORT, &s));
}

/* rect: x0, y0, x1, y1 in PDF points from the page's bottom-left corner. */
static outcome set_field(const char *firm, const char *id, const char *signer, const ProtobufCBinaryData *sha256,
                         uint32_t page, const float rect[4])
{
	Ledger__Api__FieldSet f = LEDGER__API__FIELD_SET__INIT;
	Ledger__Api__CollectionRef ref = ref_of(firm, id, 0);
	f.ref = &ref;
	f.signer = (char *)signer;
	f.document_sha256 = *sha256;
	f.page = page;
	f.x0 = rect[0], f.y0 = rect[1], f.x1 = rect[2], f.y1 = rect[3];
	return outcome_of(ask(PREPARER, LEDGER__API__REQUEST__BODY_FIELD_SET, &f));
}

/* The collection as the EC sees it: the caller frees the reply. From the main thread only (the
 * racers only modify and send). */
static Ledger__Api__Reply *show(const char *firm, const char *id)
{
	return harness_collection_show(&h, EC, firm, id);
}

static outcome shown(const char *firm, const char *id)
{
	return outcome_of(show(firm, id));
}

typedef struct credits {
	bool read;
	uint64_t available, reserved, used;
} credits;

static credits credits_of(const char *firm)
{
	Ledger__Api__Reply *r = harness_credits_show(&h, EC, firm, 1); /* from the main thread only */
	credits c = {0};
	if (r && r->result_case == LEDGER__API__REPLY__RESULT_CREDITS && r->credits)
		c = (credits){true, r->credits->available, r->credits->reserved, r->credits->used};
	CHECK(c.read, "CreditsShow of %s as its EC: code %d", firm, r ? harness_code(r) : -1);
	ledger__api__reply__free_unpacked(r, NULL);
	return c;
}

/* Polls the collection until it is in state `want` or POLL_MS_MAX passed; the last state seen. */
static int wait_state(const char *firm, const char *id, int want)
{
	int state = shown(firm, id).state;
	for (int waited = 0; state != want && waited < POLL_MS_MAX; waited += POLL_INTERVAL_MS) {
		usleep(POLL_INTERVAL_MS * 1000);
		state = shown(firm, id).state;
	}
	return state;
}

/* ----- the log, read beside the running ledgerd ----- */

static const char *event_collection_id(const Ledger__Events__Event *ev)
{
	switch (ev->payload_case) {
	case LEDGER__EVENTS__EVENT__PAYLOAD_COLLECTION_TRANSITIONED: return ev->collection_transitioned->collection_id;
	case LEDGER__EVENTS__EVENT__PAYLOAD_REMINDER_SENT: return ev->reminder_sent->collection_id;
	case LEDGER__EVENTS__EVENT__PAYLOAD_DOCUMENT_ADDED: return ev->document_added->collection_id;
	case LEDGER__EVENTS__EVENT__PAYLOAD_SIGNER_ADDED: return ev->signer_added->collection_id;
	case LEDGER__EVENTS__EVENT__PAYLOAD_FIELD_SET: return ev->field_set->collection_id;
	case LEDGER__EVENTS__EVENT__PAYLOAD_SIGNER_ACTED: return ev->signer_acted->collection_id;
	default: return NULL;
	}
}

/* Does ev concern collection id with this payload (and, for a transition, from -> to)? */
static bool event_matches(const Ledger__Events__Event *ev, const char *id, int payload, int from, int to)
{
	const char *about = event_collection_id(ev);
	if ((int)ev->payload_case != payload || !about || strcmp(about, id) != 0)
		return false;
	if (payload != LEDGER__EVENTS__EVENT__PAYLOAD_COLLECTION_TRANSITIONED)
		return true;
	return (int)ev->collection_transitioned->from == from && (int)ev->collection_transitioned->to == to;
}

/* How many events after seq `after` match (see event_matches); -1 if the log cannot be read. */
typedef struct event_filter {
	const char *id;
	int payload, from, to;
	int matches;
} event_filter;

static bool event_count(void *ctx, const ledger_record *rec, const Ledger__Events__Event *ev)
{
	(void)rec;
	event_filter *f = ctx;
	f->matches += ev && event_matches(ev, f->id, f->payload, f->from, f->to);
	return true;
}

static int events_matching(uint64_t after, const char *id, int payload, int from, int to)
{
	event_filter f = {id, payload, from, to, 0};
	return harness_log_scan(&h, after, event_count, &f) < 0 ? -1 : f.matches;
}

static int transitions_logged(uint64_t after, const char *id, int from, int to)
{
	return events_matching(after, id, LEDGER__EVENTS__EVENT__PAYLOAD_COLLECTION_TRANSITIONED, from, to);
}

/* ----- setup ----- */

static int code_of(Ledger__Api__Request *req, const char *as)
{
	return outcome_of(call(as, req)).code;
}

static bool account(const char *email, const char *name, bool is_ec)
{
	fixture_sender to = harness_sender(&h);
	int code = fixture_account(&to, email, name, is_ec);
	CHECK(code == 0, "platform adds account %s: code %d", email, code);
	return code == 0;
}

static bool grant(const char *firm, const char *who, Ledger__Events__Right right)
{
	fixture_grant_request g;
	fixture_grant_fill(&g, firm, who, right, DELEGATIONS_TO);
	Ledger__Api__Reply *r = call(EC, &g.req);
	bool ok = r && !r->error && r->grant && r->grant->n_results == 1 &&
	          r->grant->results[0]->status == LEDGER__API__GRANT_RESULT__STATUS__GRANTED;
	CHECK(ok, "EC grants right %d in %s to %s: code %d", (int)right, firm, who, r ? harness_code(r) : -1);
	ledger__api__reply__free_unpacked(r, NULL);
	return ok;
}

static bool add_credits(const char *firm, uint64_t n)
{
	fixture_sender to = harness_sender(&h);
	int code = fixture_credits(&to, EC, firm, n, "BC-2026-118");
	CHECK(code == 0, "EC adds %llu credits to %s: code %d", (unsigned long long)n, firm, code);
	return code == 0;
}

/* A firm headed by EC, each collaborator holding one right, and n credits (0: none yet). */
static bool firm(const char *id, uint64_t n)
{
	fixture_sender to = harness_sender(&h);
	int code = fixture_firm(&to, id, "Cabinet Durand", EC);
	CHECK(code == 0, "platform adds firm %s: code %d", id, code);
	return code == 0 && grant(id, PREPARER, LEDGER__EVENTS__RIGHT__RIGHT_PREPARE) &&
	       grant(id, LAUNCHER, LEDGER__EVENTS__RIGHT__RIGHT_LAUNCH) &&
	       grant(id, SEALER, LEDGER__EVENTS__RIGHT__RIGHT_SEAL) &&
	       grant(id, SIGNER, LEDGER__EVENTS__RIGHT__RIGHT_SIGN) && (n == 0 || add_credits(id, n));
}

static bool setup(void)
{
	return account(EC, "Jean Durand", true) && account(PREPARER, "Paul Preparer", false) &&
	       account(LAUNCHER, "Louise Launcher", false) && account(SEALER, "Sami Sealer", false) &&
	       account(SIGNER, "Sophie Signer", false) && firm(FIRM, FIRM_CREDITS) && firm(CREDITS_FIRM, 0);
}

/*
 * A signature collection created by `as`, ready to send: one document (tagged with the title)
 * and `externals` external signers client1@example.fr, client2@... Its id into id.
 */
static bool draft_ready(const char *as, const char *firm_id, const char *title, int externals, uint32_t expiry_days,
                        char id[COLLECTION_ID_MAX])
{
	outcome o = create(as, firm_id, KIND(SIGNATURE), title, expiry_days);
	CHECK(o.code == 0 && o.state == STATE(DRAFT), "%s creates \"%s\": code %d, state %d", as, title, o.code,
	      o.state);
	snprintf(id, COLLECTION_ID_MAX, "%s", o.id);
	pdf doc;
	pdf_simple(&doc, title, 1);
	bool ok = o.code == 0 && (o = add_document(as, firm_id, id, &doc, NULL)).code == 0;
	CHECK(ok, "%s adds the document of \"%s\": code %d (%s)", as, title, o.code, o.reason);
	for (int i = 0; ok && i < externals; i++) {
		char email[64];
		snprintf(email, sizeof email, "client%d@example.fr", i + 1);
		o = add_signer(as, firm_id, id, email, true);
		ok = o.code == 0;
		CHECK(ok, "%s adds external signer %s to \"%s\": code %d", as, email, title, o.code);
	}
	return ok;
}

/* ----- 1. the lifecycle per role ----- */

/* After a rejection: the preparer's change reopens, the EC approves, credits are reserved. */
static void reopen_and_approve(const char *id, uint64_t rejected_version)
{
	uint64_t head = harness_head(&h);
	outcome o = modify_title(PREPARER, FIRM, id, "Lettre de mission 2027 (annexe jointe)", 0);
	CHECK(o.code == 0 && o.state == STATE(DRAFT),
	      "preparer's change of a rejected collection: code %d, state %d (DRAFT %d)", o.code, o.state,
	      STATE(DRAFT));
	CHECK(o.version == rejected_version + 2, "reopen + change are two events: version %llu after %llu",
	      (unsigned long long)o.version, (unsigned long long)rejected_version);
	CHECK(transitions_logged(head, id, STATE(REJECTED), STATE(DRAFT)) == 1,
	      "a REJECTED -> DRAFT transition is logged");
	o = act(PREPARER, FIRM, id, ACT(REQUEST_APPROVAL), "Annexe ajoutee");
	CHECK(o.code == 0 && o.state == STATE(PENDING_APPROVAL), "request approval again: code %d, state %d", o.code,
	      o.state);
	credits before = credits_of(FIRM);
	o = act(EC, FIRM, id, ACT(APPROVE), "Bon pour envoi");
	CHECK(o.code == 0 && o.state == STATE(SENT), "EC approves: code %d, state %d (SENT %d)", o.code, o.state,
	      STATE(SENT));
	CHECK(transitions_logged(head, id, STATE(PENDING_APPROVAL), STATE(APPROVED)) == 1 &&
	          transitions_logged(head, id, STATE(APPROVED), STATE(SENT)) == 1,
	      "approving logs PENDING_APPROVAL -> APPROVED -> SENT");
	Ledger__Api__Reply *r = show(FIRM, id);
	const Ledger__Api__CollectionView *v = view_of(r);
	CHECK(v && v->expiry_days == 15 && v->expires_at_us == v->sent_at_us + 15 * DAY_US,
	      "without expiry_days: the default 15 days after sending (%u)", v ? v->expiry_days : 0);
	ledger__api__reply__free_unpacked(r, NULL);
	credits after = credits_of(FIRM);
	CHECK(after.available == before.available - 1 && after.reserved == before.reserved + 1,
	      "approval reserves 1 document x 1 signer: available %llu -> %llu, reserved %llu -> %llu",
	      (unsigned long long)before.available, (unsigned long long)after.available,
	      (unsigned long long)before.reserved, (unsigned long long)after.reserved);
}

static void test_preparer_needs_approval(void)
{
	outcome o = create(PREPARER, FIRM, KIND(SIGNATURE), "Lettre de mission 2027", 0);
	CHECK(o.code == 0 && o.state == STATE(DRAFT), "preparer creates a collection: code %d, state %d", o.code,
	      o.state);
	char id[COLLECTION_ID_MAX];
	snprintf(id, sizeof id, "%s", o.id);
	pdf doc;
	pdf_simple(&doc, "lettre-de-mission", 1);
	CHECK((o = add_document(PREPARER, FIRM, id, &doc, NULL)).code == 0, "preparer adds a PDF: code %d (%s)", o.code,
	      o.reason);
	CHECK((o = add_signer(PREPARER, FIRM, id, CLIENT, true)).code == 0, "preparer adds an external signer: code %d",
	      o.code);
	o = act(PREPARER, FIRM, id, ACT(REQUEST_APPROVAL), "");
	CHECK(o.code == 0 && o.state == STATE(PENDING_APPROVAL), "preparer requests approval: code %d, state %d",
	      o.code, o.state);
	o = act(PREPARER, FIRM, id, ACT(SEND), "");
	CHECK(o.code == ERR(PERMISSION_DENIED), "preparer's SEND: expected PERMISSION_DENIED, got %d", o.code);
	o = act(EC, FIRM, id, ACT(REJECT), "");
	CHECK(o.code == ERR(INVALID_ARGUMENT) && strcmp(o.field, "comment") == 0,
	      "EC's REJECT without a comment: expected INVALID_ARGUMENT on comment, got %d on \"%s\"", o.code, o.field);
	o = act(EC, FIRM, id, ACT(REJECT), "Il manque l'annexe");
	CHECK(o.code == 0 && o.state == STATE(REJECTED), "EC rejects with a comment: code %d, state %d", o.code,
	      o.state);
	Ledger__Api__Reply *r = show(FIRM, id);
	const Ledger__Api__CollectionView *v = view_of(r);
	CHECK(v && strcmp(v->comment, "Il manque l'annexe") == 0, "the rejection's comment is shown: \"%s\"",
	      v ? v->comment : "?");
	ledger__api__reply__free_unpacked(r, NULL);
	reopen_and_approve(id, o.version);
}

static void test_launcher_sends_and_cancels(void)
{
	char id[COLLECTION_ID_MAX];
	credits before = credits_of(FIRM);
	if (!draft_ready(LAUNCHER, FIRM, "Bilan 2026", 1, 0, id))
		return;
	outcome o = add_signer(LAUNCHER, FIRM, id, SIGNER, false);
	CHECK(o.code == 0, "a collaborator holding sign is an internal signer: code %d", o.code);
	o = act(LAUNCHER, FIRM, id, ACT(SEND), "");
	CHECK(o.code == 0 && o.state == STATE(SENT), "launcher sends directly: code %d, state %d", o.code, o.state);
	credits sent = credits_of(FIRM);
	CHECK(sent.available == before.available - 2 && sent.reserved == before.reserved + 2,
	      "1 document x 2 signers reserved: available %llu -> %llu", (unsigned long long)before.available,
	      (unsigned long long)sent.available);
	o = act(PREPARER, FIRM, id, ACT(CANCEL), "");
	CHECK(o.code == ERR(PERMISSION_DENIED), "preparer's CANCEL: expected PERMISSION_DENIED, got %d", o.code);
	o = act(SEALER, FIRM, id, ACT(CANCEL), "");
	CHECK(o.code == ERR(PERMISSION_DENIED), "sealer's CANCEL: expected PERMISSION_DENIED, got %d", o.code);
	o = act(LAUNCHER, FIRM, id, ACT(CANCEL), "Le client a change d'avis");
	CHECK(o.code == 0 && o.state == STATE(CANCELLED), "launcher cancels: code %d, state %d", o.code, o.state);
	credits after = credits_of(FIRM);
	CHECK(after.available == before.available && after.reserved == before.reserved,
	      "cancelling releases the credits: available %llu (was %llu), reserved %llu (was %llu)",
	      (unsigned long long)after.available, (unsigned long long)before.available,
	      (unsigned long long)after.reserved, (unsigned long long)before.reserved);
}

static void test_sealer_cannot_send(void)
{
	char id[COLLECTION_ID_MAX];
	if (!draft_ready(SEALER, FIRM, "Attestation signee", 1, 0, id))
		return;
	outcome o = act(SEALER, FIRM, id, ACT(SEND), "");
	CHECK(o.code == ERR(PERMISSION_DENIED),
	      "sealer's SEND of a signature collection: expected PERMISSION_DENIED, got %d", o.code);
	CHECK(shown(FIRM, id).state == STATE(DRAFT), "refused SEND: still a draft");
}

/* The sealed version: a new document, signed by the firm's seal, readable with DocumentGet. */
static void check_sealed(const char *id)
{
	Ledger__Api__Reply *r = show(FIRM, id);
	const Ledger__Api__CollectionView *v = view_of(r);
	const Ledger__Api__DocumentView *d = v && v->n_documents == 1 ? v->documents[0] : NULL;
	CHECK(d != NULL, "the sealed collection shows its document");
	if (d) {
		CHECK(d->current_sha256.len == 32 && memcmp(d->current_sha256.data, d->sha256.data, 32) != 0,
		      "current_sha256 is a new version");
		CHECK(d->n_signed_by == 1 && strcmp(d->signed_by[0], "seal:" FIRM) == 0,
		      "signed_by \"seal:%s\": got \"%s\"", FIRM, d->n_signed_by ? d->signed_by[0] : "(nobody)");
		Ledger__Api__Request req = LEDGER__API__REQUEST__INIT;
		Ledger__Api__DocumentGet q = LEDGER__API__DOCUMENT_GET__INIT;
		q.firm_id = (char *)FIRM;
		q.sha256 = d->current_sha256;
		req.body_case = LEDGER__API__REQUEST__BODY_DOCUMENT_GET;
		req.document_get = &q;
		Ledger__Api__Reply *got = call(SEALER, &req);
		uint8_t sha[32];
		bool ok = got && got->result_case == LEDGER__API__REPLY__RESULT_DOCUMENT && got->document;
		if (ok)
			crypto_hash_sha256(sha, got->document->content.data, got->document->content.len);
		CHECK(ok && memcmp(sha, d->current_sha256.data, 32) == 0 &&
		          memcmp(got->document->content.data, "%PDF-", 5) == 0,
		      "DocumentGet of the sealed version returns a PDF whose SHA-256 is current_sha256 (code %d)",
		      got ? harness_code(got) : -1);
		ledger__api__reply__free_unpacked(got, NULL);
	}
	ledger__api__reply__free_unpacked(r, NULL);
}

static void test_seal_collection(void)
{
	outcome o = create(SEALER, FIRM, KIND(SEAL), "Attestation de fin de mission", 0);
	CHECK(o.code == 0 && o.state == STATE(DRAFT), "sealer creates a seal collection: code %d", o.code);
	char id[COLLECTION_ID_MAX];
	snprintf(id, sizeof id, "%s", o.id);
	pdf doc;
	pdf_simple(&doc, "attestation-a-sceller", 1);
	CHECK((o = add_document(SEALER, FIRM, id, &doc, NULL)).code == 0, "sealer adds a PDF: code %d (%s)", o.code,
	      o.reason);
	credits before = credits_of(FIRM);
	o = act(SEALER, FIRM, id, ACT(SEAL), "");
	CHECK(o.code == 0 && o.state == STATE(IN_PROGRESS), "SEAL from draft: code %d, state %d (IN_PROGRESS %d)",
	      o.code, o.state, STATE(IN_PROGRESS));
	int state = wait_state(FIRM, id, STATE(COMPLETED));
	CHECK(state == STATE(COMPLETED), "the signer thread seals it within %d ms: state %d", POLL_MS_MAX, state);
	check_sealed(id);
	credits after = credits_of(FIRM);
	CHECK(after.used == before.used + 1 && after.available == before.available - 1 &&
	          after.reserved == before.reserved,
	      "one seal spends one credit: used %llu -> %llu, available %llu -> %llu", (unsigned long long)before.used,
	      (unsigned long long)after.used, (unsigned long long)before.available,
	      (unsigned long long)after.available);
}

static void test_lifecycle_per_role(void)
{
	test_preparer_needs_approval();
	test_launcher_sends_and_cancels();
	test_sealer_cannot_send();
	test_seal_collection();
}

/* ----- 2. illegal transitions: typed errors, nothing written ----- */

/* Checks a refusal's code and reason (NULL: any), and that the log did not move from head. */
static void refused(const char *what, outcome o, int code, const char *reason, uint64_t head)
{
	CHECK(o.code == code, "%s: expected error %d, got %d (%s)", what, code, o.code, o.reason);
	if (reason)
		CHECK(strcmp(o.reason, reason) == 0, "%s: Error.reason \"%s\", expected \"%s\"", what, o.reason,
		      reason);
	uint64_t now = harness_head(&h);
	CHECK(now == head, "%s: the log moved from %llu to %llu", what, (unsigned long long)head,
	      (unsigned long long)now);
}

typedef struct fixtures {
	char draft[COLLECTION_ID_MAX], empty[COLLECTION_ID_MAX], running[COLLECTION_ID_MAX], ended[COLLECTION_ID_MAX],
	    seal[COLLECTION_ID_MAX];
} fixtures;

static bool fixtures_make(fixtures *f)
{
	bool ok = draft_ready(LAUNCHER, FIRM, "Brouillon", 1, 0, f->draft) &&
	          draft_ready(LAUNCHER, FIRM, "En cours", 1, 0, f->running) &&
	          draft_ready(LAUNCHER, FIRM, "Termine", 1, 0, f->ended);
	outcome o = create(LAUNCHER, FIRM, KIND(SIGNATURE), "Vide", 0);
	snprintf(f->empty, sizeof f->empty, "%s", o.id);
	ok = ok && o.code == 0;
	o = create(SEALER, FIRM, KIND(SEAL), "Cachet", 0);
	snprintf(f->seal, sizeof f->seal, "%s", o.id);
	ok = ok && o.code == 0 && act(LAUNCHER, FIRM, f->running, ACT(SEND), "").state == STATE(SENT) &&
	     act(LAUNCHER, FIRM, f->ended, ACT(SEND), "").state == STATE(SENT) &&
	     act(LAUNCHER, FIRM, f->ended, ACT(CANCEL), "").state == STATE(CANCELLED);
	CHECK(ok, "the collections of the illegal transitions are ready");
	return ok;
}

static void refusals_of_state(const fixtures *f)
{
	uint64_t head = harness_head(&h);
	pdf doc;
	pdf_simple(&doc, "trop-tard", 1);
	refused("APPROVE a draft", act(EC, FIRM, f->draft, ACT(APPROVE), ""), ERR(INVALID_TRANSITION), "draft", head);
	refused("REJECT a draft", act(EC, FIRM, f->draft, ACT(REJECT), "non"), ERR(INVALID_TRANSITION), "draft", head);
	refused("REMIND a draft", act(LAUNCHER, FIRM, f->draft, ACT(REMIND), ""), ERR(INVALID_TRANSITION), "draft",
	        head);
	refused("CLASSIFY a running collection", act(LAUNCHER, FIRM, f->running, ACT(CLASSIFY), ""),
	        ERR(INVALID_TRANSITION), "sent", head);
	refused("SEND a sent collection", act(LAUNCHER, FIRM, f->running, ACT(SEND), ""), ERR(INVALID_TRANSITION),
	        "sent", head);
	refused("add a document to a sent collection", add_document(LAUNCHER, FIRM, f->running, &doc, NULL),
	        ERR(INVALID_TRANSITION), "sent", head);
	refused("modify a sent collection's title", modify_title(LAUNCHER, FIRM, f->running, "Autre titre", 0),
	        ERR(INVALID_TRANSITION), "sent", head);
	refused("CANCEL a cancelled collection", act(LAUNCHER, FIRM, f->ended, ACT(CANCEL), ""),
	        ERR(INVALID_TRANSITION), "cancelled", head);
	refused("a signer's report on a draft",
	        report(FIRM, f->draft, CLIENT, LEDGER__EVENTS__SIGNER_ACTION__SIGNER_INVITED), ERR(INVALID_TRANSITION),
	        "draft", head);
	refused("SEND an empty collection", act(LAUNCHER, FIRM, f->empty, ACT(SEND), ""), ERR(FAILED_PRECONDITION),
	        NULL, head);
	refused("REQUEST_APPROVAL of an empty collection", act(PREPARER, FIRM, f->empty, ACT(REQUEST_APPROVAL), ""),
	        ERR(FAILED_PRECONDITION), NULL, head);
	refused("SEAL an empty seal collection", act(SEALER, FIRM, f->seal, ACT(SEAL), ""), ERR(FAILED_PRECONDITION),
	        NULL, head);
	refused("REMIND in a seal collection (nobody to remind)", act(SEALER, FIRM, f->seal, ACT(REMIND), ""),
	        ERR(FAILED_PRECONDITION), NULL, head);
	refused("an internal signer without sign", add_signer(LAUNCHER, FIRM, f->draft, PREPARER, false),
	        ERR(FAILED_PRECONDITION), NULL, head);
}

static void classify_twice(const fixtures *f)
{
	outcome o = act(LAUNCHER, FIRM, f->ended, ACT(CLASSIFY), "Archives 2026");
	CHECK(o.code == 0, "CLASSIFY a cancelled collection: code %d", o.code);
	uint64_t head = harness_head(&h);
	refused("CLASSIFY twice", act(LAUNCHER, FIRM, f->ended, ACT(CLASSIFY), "Encore"), ERR(INVALID_TRANSITION),
	        "cancelled", head);
	Ledger__Api__Reply *r = show(FIRM, f->ended);
	const Ledger__Api__CollectionView *v = view_of(r);
	CHECK(v && v->classified && strcmp(v->folder, "Archives 2026") == 0,
	      "classified once, in its first folder: \"%s\"", v ? v->folder : "?");
	ledger__api__reply__free_unpacked(r, NULL);
}

/*
 * Once the only signer has consented, nobody's turn is left: REMIND has nobody to remind. The
 * signer thread may complete the collection first (then REMIND meets COMPLETED): either way a
 * typed refusal, and no ReminderSent.
 */
static void remind_nobody(void)
{
	char id[COLLECTION_ID_MAX];
	if (!draft_ready(LAUNCHER, FIRM, "Consentement", 1, 0, id))
		return;
	CHECK(act(LAUNCHER, FIRM, id, ACT(SEND), "").state == STATE(SENT), "send before the consent");
	outcome o = report(FIRM, id, CLIENT, LEDGER__EVENTS__SIGNER_ACTION__SIGNER_CONSENTED);
	CHECK(o.code == 0 && o.state == STATE(IN_PROGRESS), "platform reports the consent: code %d, state %d", o.code,
	      o.state);
	uint64_t head = harness_head(&h);
	o = act(LAUNCHER, FIRM, id, ACT(REMIND), "");
	bool nobody = o.code == ERR(FAILED_PRECONDITION);
	bool completed = o.code == ERR(INVALID_TRANSITION) && strcmp(o.reason, "completed") == 0;
	CHECK(nobody || completed, "REMIND with nobody to remind: expected FAILED_PRECONDITION, got %d (%s)", o.code,
	      o.reason);
	if (completed)
		printf("note: the signer thread completed the collection before REMIND\n");
	CHECK(events_matching(head, id, LEDGER__EVENTS__EVENT__PAYLOAD_REMINDER_SENT, 0, 0) == 0,
	      "a refused REMIND wrote no ReminderSent");
	CHECK(wait_state(FIRM, id, STATE(COMPLETED)) == STATE(COMPLETED),
	      "the consented signature completes the collection");
}

static void test_illegal_transitions(void)
{
	fixtures f;
	if (!fixtures_make(&f))
		return;
	refusals_of_state(&f);
	classify_twice(&f);
	remind_nobody();
}

/* ----- 3. expiry by the injectable clock ----- */

static void clock_text(int64_t at_s, char out[32])
{
	time_t t = (time_t)at_s;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void set_clock_s(int64_t at_s)
{
	char text[32];
	clock_text(at_s, text);
	CHECK(harness_set_clock(&h, text), "set the clock to %s", text);
}

static void test_expiry_by_clock(void)
{
	char id[COLLECTION_ID_MAX];
	if (!draft_ready(LAUNCHER, FIRM, "Liasse fiscale", 1, 2, id))
		return;
	credits before = credits_of(FIRM);
	CHECK(act(LAUNCHER, FIRM, id, ACT(SEND), "").state == STATE(SENT), "send with expiry_days 2");
	Ledger__Api__Reply *r = show(FIRM, id);
	const Ledger__Api__CollectionView *v = view_of(r);
	int64_t expires_us = v ? v->expires_at_us : 0;
	CHECK(v && v->expiry_days == 2 && expires_us == v->sent_at_us + 2 * DAY_US, "expires 2 days after sending");
	ledger__api__reply__free_unpacked(r, NULL);
	CHECK(credits_of(FIRM).available == before.available - 1, "sending reserved 1 credit");
	set_clock_s((expires_us - 1) / 1000000); /* the last second before the instant */
	usleep(1500 * 1000);                     /* more than the expirer's interval */
	CHECK(shown(FIRM, id).state == STATE(SENT), "one second before expiry: still SENT");
	set_clock_s((expires_us + 999999) / 1000000); /* the instant (times are whole seconds) */
	int state = wait_state(FIRM, id, STATE(EXPIRED));
	CHECK(state == STATE(EXPIRED), "at the expiry instant the expirer writes EXPIRED: state %d", state);
	credits after = credits_of(FIRM);
	CHECK(after.available == before.available && after.reserved == before.reserved,
	      "expiry released the credit: available %llu (was %llu)", (unsigned long long)after.available,
	      (unsigned long long)before.available);
	outcome o = act(LAUNCHER, FIRM, id, ACT(CLASSIFY), "Expirees");
	CHECK(o.code == 0 && o.state == STATE(EXPIRED), "an expired collection may be classified: code %d", o.code);
}

/* Automatic reminders: every N days after sending, by the service, as events; a manual one
 * restarts the period. */
static void test_automatic_reminders(void)
{
	char id[COLLECTION_ID_MAX];
	if (!draft_ready(LAUNCHER, FIRM, "Relances", 1, 30, id))
		return;
	Ledger__Api__Request req = LEDGER__API__REQUEST__INIT;
	Ledger__Api__CollectionModify m = LEDGER__API__COLLECTION_MODIFY__INIT;
	Ledger__Api__CollectionRef ref = ref_of(FIRM, id, 0);
	m.ref = &ref;
	m.reminder_every_days = 2;
	req.body_case = LEDGER__API__REQUEST__BODY_COLLECTION_MODIFY;
	req.collection_modify = &m;
	CHECK(code_of(&req, LAUNCHER) == 0, "reminders every 2 days");
	CHECK(act(LAUNCHER, FIRM, id, ACT(SEND), "").state == STATE(SENT), "sent");
	Ledger__Api__Reply *r = show(FIRM, id);
	int64_t sent_s = view_of(r) ? view_of(r)->sent_at_us / 1000000 : 0;
	ledger__api__reply__free_unpacked(r, NULL);
	uint64_t head = harness_head(&h);
	set_clock_s(sent_s + 2 * 86400 - 2);
	usleep(1500 * 1000);
	CHECK(events_matching(head, id, LEDGER__EVENTS__EVENT__PAYLOAD_REMINDER_SENT, -1, -1) == 0,
	      "none before 2 days");
	set_clock_s(sent_s + 2 * 86400 + 1);
	for (int waited = 0;
	     waited < 50 && events_matching(head, id, LEDGER__EVENTS__EVENT__PAYLOAD_REMINDER_SENT, -1, -1) == 0;
	     waited++)
		usleep(100 * 1000);
	CHECK(events_matching(head, id, LEDGER__EVENTS__EVENT__PAYLOAD_REMINDER_SENT, -1, -1) == 1,
	      "one reminder at 2 days");
	usleep(1500 * 1000);
	CHECK(events_matching(head, id, LEDGER__EVENTS__EVENT__PAYLOAD_REMINDER_SENT, -1, -1) == 1,
	      "only one until 4 days");
	set_clock_s(sent_s + 4 * 86400 + 2);
	for (int waited = 0;
	     waited < 50 && events_matching(head, id, LEDGER__EVENTS__EVENT__PAYLOAD_REMINDER_SENT, -1, -1) < 2;
	     waited++)
		usleep(100 * 1000);
	CHECK(events_matching(head, id, LEDGER__EVENTS__EVENT__PAYLOAD_REMINDER_SENT, -1, -1) == 2,
	      "a second one at 4 days");
	CHECK(shown(FIRM, id).state == STATE(SENT), "still sent");
	CHECK(act(LAUNCHER, FIRM, id, ACT(CANCEL), "").state == STATE(CANCELLED), "cancelled: no more reminders");
	uint64_t after = harness_head(&h);
	set_clock_s(sent_s + 8 * 86400 + 2);
	usleep(1500 * 1000);
	CHECK(events_matching(after, id, LEDGER__EVENTS__EVENT__PAYLOAD_REMINDER_SENT, -1, -1) == 0,
	      "none after cancelling");
}

/* The firm's preference replaces the default for collections created after it. */
static void test_expiry_preference(void)
{
	Ledger__Api__PreferencesUpdate u = LEDGER__API__PREFERENCES_UPDATE__INIT;
	u.firm_id = (char *)FIRM;
	u.collection_expiry_days = 7;
	fixture_sender to = harness_sender(&h);
	int code = fixture_preferences(&to, EC, &u);
	CHECK(code == 0, "EC sets the firm's expiry preference to 7 days: code %d", code);
	outcome o = create(LAUNCHER, FIRM, KIND(SIGNATURE), "Preference", 0);
	Ledger__Api__Reply *r = show(FIRM, o.id);
	const Ledger__Api__CollectionView *v = view_of(r);
	CHECK(v && v->expiry_days == 7, "created without expiry_days: the firm's 7 days (%u)", v ? v->expiry_days : 0);
	ledger__api__reply__free_unpacked(r, NULL);
}

/* ----- 4. concurrent modifications ----- */

#define MODIFY_ROUNDS 20

typedef struct racer {
	const char *as;
	const char *id;
	uint64_t expected;
	char title[64];
	pthread_barrier_t *start;
	outcome result;
} racer;

static void *race_modify(void *arg)
{
	racer *r = arg;
	const char *why;
	thread_client = api_client_open(h.url, CALL_TIMEOUT_MS, &why);
	pthread_barrier_wait(r->start); /* connected: now both at once */
	r->result = thread_client ? modify_title(r->as, FIRM, r->id, r->title, r->expected) : (outcome){.code = -1};
	api_client_close(thread_client);
	thread_client = NULL;
	return NULL;
}

static void modify_round(const char *id, int round)
{
	uint64_t version = shown(FIRM, id).version;
	pthread_barrier_t start;
	pthread_barrier_init(&start, NULL, 2);
	racer racers[2] = {{.as = EC, .id = id, .expected = version, .start = &start},
	                   {.as = LAUNCHER, .id = id, .expected = version, .start = &start}};
	pthread_t threads[2];
	for (int i = 0; i < 2; i++) {
		snprintf(racers[i].title, sizeof racers[i].title, "Round %d by %s", round, racers[i].as);
		pthread_create(&threads[i], NULL, race_modify, &racers[i]);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(threads[i], NULL);
	pthread_barrier_destroy(&start);
	int a = racers[0].result.code, b = racers[1].result.code;
	CHECK((a == 0 && b == ERR(CONFLICT)) || (a == ERR(CONFLICT) && b == 0),
	      "round %d: expected one OK and one CONFLICT, got EC %d and launcher %d", round, a, b);
	Ledger__Api__Reply *r = show(FIRM, id);
	const Ledger__Api__CollectionView *v = view_of(r);
	const char *winner = a == 0 ? racers[0].title : racers[1].title;
	CHECK(v && v->version == version + 1, "round %d: version %llu -> %llu, expected +1", round,
	      (unsigned long long)version, (unsigned long long)(v ? v->version : 0));
	CHECK(v && strcmp(v->title, winner) == 0, "round %d: the winner's title is kept: \"%s\"", round,
	      v ? v->title : "?");
	ledger__api__reply__free_unpacked(r, NULL);
}

static void test_concurrent_modify(void)
{
	char id[COLLECTION_ID_MAX];
	if (!draft_ready(EC, FIRM, "Disputee", 1, 0, id))
		return;
	for (int round = 1; round <= MODIFY_ROUNDS; round++)
		modify_round(id, round);
	/* A lifecycle act checks the version too: a stale SEND changes nothing. */
	uint64_t version = shown(FIRM, id).version, head = harness_head(&h);
	refused("SEND with a stale expected_version", act_at(LAUNCHER, FIRM, id, version - 1, ACT(SEND), ""),
	        ERR(CONFLICT), NULL, head);
	outcome o = act_at(LAUNCHER, FIRM, id, version, ACT(SEND), "");
	CHECK(o.code == 0 && o.state == STATE(SENT), "SEND with the current expected_version: code %d", o.code);
}

/* ----- 5. credits under concurrent sends ----- */

#define RACE_CREDITS     11u /* N */
#define RACE_SIGNERS     2   /* 1 document x 2 signers: each sending costs 2 */
#define RACE_COLLECTIONS 8   /* K > N / cost */
#define RACE_THREADS     4

typedef struct sender {
	int index;
	char (*ids)[COLLECTION_ID_MAX];
	int *codes;
	pthread_barrier_t *start;
} sender;

/* Sends every RACE_THREADS-th collection from `index`, as the launcher or the EC. */
static void *race_send(void *arg)
{
	sender *s = arg;
	const char *why;
	const char *as = s->index % 2 ? EC : LAUNCHER;
	thread_client = api_client_open(h.url, CALL_TIMEOUT_MS, &why);
	pthread_barrier_wait(s->start);
	for (int i = s->index; i < RACE_COLLECTIONS; i += RACE_THREADS)
		s->codes[i] = thread_client ? act(as, CREDITS_FIRM, s->ids[i], ACT(SEND), "").code : -1;
	api_client_close(thread_client);
	thread_client = NULL;
	return NULL;
}

static void send_all_at_once(char (*ids)[COLLECTION_ID_MAX], int *codes)
{
	pthread_barrier_t start;
	pthread_barrier_init(&start, NULL, RACE_THREADS);
	sender senders[RACE_THREADS];
	pthread_t threads[RACE_THREADS];
	for (int t = 0; t < RACE_THREADS; t++) {
		senders[t] = (sender){t, ids, codes, &start};
		pthread_create(&threads[t], NULL, race_send, &senders[t]);
	}
	for (int t = 0; t < RACE_THREADS; t++)
		pthread_join(threads[t], NULL);
	pthread_barrier_destroy(&start);
}

/* With 1 credit left: an approval needing 2, a seal needing 2, are refused and write nothing. */
static void insufficient_credits_write_nothing(void)
{
	char id[COLLECTION_ID_MAX];
	if (!draft_ready(PREPARER, CREDITS_FIRM, "A approuver", RACE_SIGNERS, 0, id))
		return;
	CHECK(act(PREPARER, CREDITS_FIRM, id, ACT(REQUEST_APPROVAL), "").state == STATE(PENDING_APPROVAL),
	      "request approval");
	outcome o = create(SEALER, CREDITS_FIRM, KIND(SEAL), "Deux cachets", 0);
	pdf doc;
	for (int i = 0; i < 2; i++) {
		pdf_simple(&doc, i ? "cachet-2" : "cachet-1", 1);
		CHECK(add_document(SEALER, CREDITS_FIRM, o.id, &doc, NULL).code == 0, "seal document %d", i + 1);
	}
	credits c = credits_of(CREDITS_FIRM);
	CHECK(c.available < 2, "the race left less than 2 credits (%llu)", (unsigned long long)c.available);
	uint64_t head = harness_head(&h);
	refused("APPROVE without the credits", act(EC, CREDITS_FIRM, id, ACT(APPROVE), ""), ERR(INSUFFICIENT_CREDITS),
	        NULL, head);
	refused("SEAL without the credits", act(SEALER, CREDITS_FIRM, o.id, ACT(SEAL), ""), ERR(INSUFFICIENT_CREDITS),
	        NULL, head);
	CHECK(shown(CREDITS_FIRM, id).state == STATE(PENDING_APPROVAL), "the refused approval left it pending");
	CHECK(shown(CREDITS_FIRM, o.id).state == STATE(DRAFT), "the refused seal left it a draft");
}

static void test_credits_under_concurrent_sends(void)
{
	char ids[RACE_COLLECTIONS][COLLECTION_ID_MAX];
	int codes[RACE_COLLECTIONS];
	for (int i = 0; i < RACE_COLLECTIONS; i++) {
		char title[32];
		snprintf(title, sizeof title, "Envoi concurrent %d", i + 1);
		if (!draft_ready(LAUNCHER, CREDITS_FIRM, title, RACE_SIGNERS, 0, ids[i]))
			return;
	}
	REQUIRE_VOID(add_credits(CREDITS_FIRM, RACE_CREDITS));
	send_all_at_once(ids, codes);
	int ok = 0, insufficient = 0;
	for (int i = 0; i < RACE_COLLECTIONS; i++) {
		ok += codes[i] == 0;
		insufficient += codes[i] == ERR(INSUFFICIENT_CREDITS);
		int state = shown(CREDITS_FIRM, ids[i]).state;
		CHECK(state == (codes[i] == 0 ? STATE(SENT) : STATE(DRAFT)), "collection %s: send code %d, state %d",
		      ids[i], codes[i], state);
	}
	uint64_t cost = RACE_SIGNERS;
	CHECK(ok + insufficient == RACE_COLLECTIONS, "every send is OK or INSUFFICIENT_CREDITS (%d + %d of %d)", ok,
	      insufficient, RACE_COLLECTIONS);
	CHECK(ok == (int)(RACE_CREDITS / cost), "%d sends fit in %u credits, %d succeeded", (int)(RACE_CREDITS / cost),
	      RACE_CREDITS, ok);
	credits c = credits_of(CREDITS_FIRM);
	CHECK(c.available <= RACE_CREDITS && c.available == RACE_CREDITS - (uint64_t)ok * cost,
	      "available %llu, expected N - ok x cost = %llu", (unsigned long long)c.available,
	      (unsigned long long)(RACE_CREDITS - (uint64_t)ok * cost));
	CHECK(c.reserved == (uint64_t)ok * cost, "reserved %llu, expected ok x cost = %llu",
	      (unsigned long long)c.reserved, (unsigned long long)((uint64_t)ok * cost));
	insufficient_credits_write_nothing();
}

/* ----- 6. hostile uploads ----- */

static void upload_refused(const char *what, const char *id, const pdf *doc, const char *reason)
{
	uint64_t head = harness_head(&h);
	refused(what, add_document(PREPARER, FIRM, id, doc, NULL), ERR(INVALID_DOCUMENT), reason, head);
}

static void refuse_malformed(const char *id)
{
	pdf doc, bad;
	pdf_simple(&doc, "piece-jointe", 1);
	bad.n = 0;
	upload_refused("empty bytes", id, &bad, "not_pdf");
	memcpy(bad.bytes, "hello", 5);
	bad.n = 5;
	upload_refused("\"hello\"", id, &bad, "not_pdf");
	memcpy(bad.bytes, doc.bytes, doc.n / 2);
	bad.n = doc.n / 2;
	upload_refused("a truncated PDF", id, &bad, "corrupt");
	pdf_make(&bad, &(test_pdf_spec){.tag = "piece-jointe", .pages = 1, .xref_skew = 7});
	upload_refused("a PDF with a broken xref", id, &bad, "corrupt");
	if (pdf_encrypt(&doc, "u", &bad))
		upload_refused("an encrypted PDF (user password)", id, &bad, "encrypted");
	else
		CHECK(false, "qpdf could not encrypt the test PDF");
	if (pdf_encrypt(&doc, "", &bad))
		upload_refused("an encrypted PDF (empty user password)", id, &bad, "encrypted");
	else
		CHECK(false, "qpdf could not encrypt the test PDF without a user password");
}

/* --document-max-bytes 2K: 2048 bytes pass, 2049 do not. Restarts ledgerd twice. */
static void refuse_too_large(const char *id)
{
	static const char *const small[] = {"--document-max-bytes", "2K", NULL};
	CHECK(harness_stop(&h) == 0, "stop before the document limit");
	if (!harness_start(&h, small)) {
		CHECK(false, "ledgerd --document-max-bytes 2K starts");
		return;
	}
	pdf doc;
	pdf_sized(&doc, "juste-2K", 2048);
	outcome o = add_document(PREPARER, FIRM, id, &doc, NULL);
	CHECK(o.code == 0, "a PDF of exactly the limit (2048 bytes) is accepted: code %d (%s)", o.code, o.reason);
	pdf_sized(&doc, "2K-plus-un", 2049);
	upload_refused("a PDF one byte over the limit", id, &doc, "too_large");
	CHECK(harness_stop(&h) == 0, "stop after the document limit");
	CHECK(harness_start(&h, NULL), "restart with the default limit");
}

static void fields_on_pages(const char *id)
{
	pdf doc;
	pdf_simple(&doc, "trois-pages", 3);
	uint8_t sha[32];
	crypto_hash_sha256(sha, doc.bytes, doc.n);
	ProtobufCBinaryData sha256 = {32, sha};
	CHECK(add_document(PREPARER, FIRM, id, &doc, NULL).code == 0, "a 3-page PDF is accepted");
	uint64_t head = harness_head(&h);
	refused("the same document twice", add_document(PREPARER, FIRM, id, &doc, NULL), ERR(ALREADY_EXISTS), NULL,
	        head);
	const float inside[4] = {72, 72, 272, 142}, outside[4] = {500, 72, 700, 142};
	refused("a field rectangle outside the page", set_field(FIRM, id, CLIENT, &sha256, 1, outside),
	        ERR(INVALID_ARGUMENT), NULL, head);
	refused("a field on page 4 of 3", set_field(FIRM, id, CLIENT, &sha256, 4, inside), ERR(INVALID_ARGUMENT), NULL,
	        head);
	CHECK(set_field(FIRM, id, CLIENT, &sha256, 3, inside).code == 0, "a field on page 3 of 3");
	Ledger__Api__Reply *r = show(FIRM, id);
	const Ledger__Api__CollectionView *v = view_of(r);
	const Ledger__Api__DocumentView *d = NULL;
	for (size_t i = 0; v && i < v->n_documents; i++)
		if (memcmp(v->documents[i]->sha256.data, sha, 32) == 0)
			d = v->documents[i];
	CHECK(d && d->pages == 3 && d->n_fields == 1 && d->fields[0]->page == 3,
	      "the 3-page document, its field on page 3");
	ledger__api__reply__free_unpacked(r, NULL);
}

static void test_hostile_uploads(void)
{
	outcome o = create(PREPARER, FIRM, KIND(SIGNATURE), "Pieces douteuses", 0);
	CHECK(o.code == 0, "preparer creates the upload target: code %d", o.code);
	char id[COLLECTION_ID_MAX];
	snprintf(id, sizeof id, "%s", o.id);
	CHECK(add_signer(PREPARER, FIRM, id, CLIENT, true).code == 0, "a signer for the fields");
	refuse_malformed(id);
	CHECK(shown(FIRM, id).version == o.version + 1, "refused uploads changed nothing in the collection");
	refuse_too_large(id);
	fields_on_pages(id);
}

/* ----- 7. an idempotent upload retry ----- */

static void test_upload_retry(void)
{
	outcome o = create(PREPARER, FIRM, KIND(SIGNATURE), "Renvoi", 0);
	char id[COLLECTION_ID_MAX];
	snprintf(id, sizeof id, "%s", o.id);
	pdf doc, other;
	pdf_simple(&doc, "renvoi", 1);
	pdf_simple(&other, "renvoi-autre", 1);
	const char *rid = "collections-test-upload-retry-1";
	outcome first = add_document(PREPARER, FIRM, id, &doc, rid);
	CHECK(first.code == 0 && !first.replayed && first.seq > 0, "first upload: code %d", first.code);
	uint64_t head = harness_head(&h);
	outcome again = add_document(PREPARER, FIRM, id, &doc, rid);
	CHECK(again.code == 0 && again.replayed, "the retry replays: code %d, replayed %d", again.code, again.replayed);
	CHECK(again.seq == first.seq && again.version == first.version,
	      "the retry returns the first reply (seq %llu / %llu)", (unsigned long long)again.seq,
	      (unsigned long long)first.seq);
	CHECK(harness_head(&h) == head, "the retry appended nothing");
	refused("the request id reused for another document", add_document(PREPARER, FIRM, id, &other, rid),
	        ERR(IDEMPOTENCY_MISMATCH), NULL, head);
	CHECK(events_matching(first.seq - 1, id, LEDGER__EVENTS__EVENT__PAYLOAD_DOCUMENT_ADDED, 0, 0) == 1,
	      "one DocumentAdded in the log");
	Ledger__Api__Reply *r = show(FIRM, id);
	const Ledger__Api__CollectionView *v = view_of(r);
	CHECK(v && v->n_documents == 1, "the collection holds the document once (%zu)", v ? v->n_documents : 0);
	ledger__api__reply__free_unpacked(r, NULL);
}

/* ----- 7. external signers: named by an id in the log, their identity erasable beside it ----- */

#define ERASED_CLIENT  "erase-me@example.fr"
#define CLIENT_NAME    "Claire Client" /* add_signer's name for external signers */
#define SIGNER_ID_LEN  28              /* "s-" and 26 base32 characters */
#define ERASED_GIVEN   "Zoé"           /* ERASED_CLIENT's given name and surname (SignerAdd) */
#define ERASED_SURNAME "Martin-Lefèvre"

/* What the log says of one collection's external signers, and whether it names them. */
typedef struct pseudonym_scan {
	const char *collection_id;
	char ids[2][SIGNER_ID_LEN + 1]; /* SignerAdded's ids, in order */
	int added, sealed_refs, named_by_id, secrets_seen;
} pseudonym_scan;

static bool pseudonym_visit(void *ctx, const ledger_record *rec, const Ledger__Events__Event *ev)
{
	pseudonym_scan *s = ctx;
	/* The raw event bytes: no email, name or phone of an external signer, whatever the event. */
	static const char *const secrets[] = {ERASED_CLIENT, CLIENT, CLIENT_NAME, PHONE, ERASED_GIVEN, ERASED_SURNAME};
	for (size_t i = 0; i < sizeof secrets / sizeof *secrets; i++)
		s->secrets_seen += memmem(rec->event, rec->event_bytes, secrets[i], strlen(secrets[i])) != NULL;
	const char *collection_id = ev ? event_collection_id(ev) : NULL;
	if (!collection_id || strcmp(collection_id, s->collection_id) != 0)
		return true;
	if (ev->payload_case == LEDGER__EVENTS__EVENT__PAYLOAD_SIGNER_ADDED && s->added < 2) {
		const Ledger__Events__SignerAdded *a = ev->signer_added;
		bool id_ok = strlen(a->signer_id) == SIGNER_ID_LEN && strncmp(a->signer_id, "s-", 2) == 0;
		CHECK(id_ok && !a->email[0] && !a->name[0],
		      "SignerAdded names the external signer by an id only: "
		      "id \"%s\", email \"%s\", name \"%s\"",
		      a->signer_id, a->email, a->name);
		snprintf(s->ids[s->added++], SIGNER_ID_LEN + 1, "%s", a->signer_id);
		s->sealed_refs += (a->sealed_email && a->sealed_email->sha256.len == 32) +
		                  (a->sealed_name && a->sealed_name->sha256.len == 32) +
		                  (a->phone && a->phone->sha256.len == 32);
	}
	const char *signer = ev->payload_case == LEDGER__EVENTS__EVENT__PAYLOAD_FIELD_SET ? ev->field_set->signer
	                     : ev->payload_case == LEDGER__EVENTS__EVENT__PAYLOAD_SIGNER_ACTED
	                         ? ev->signer_acted->signer
	                         : NULL;
	s->named_by_id += signer && strcmp(signer, s->ids[1]) == 0; /* ERASED_CLIENT, added second */
	return true;
}

/* Entries of the sealed store (beside the log) that are subject's or point at id: its data key,
 * sealed data and links. -1 if the store cannot be read. */
static int sealed_entries(const char *subject, const char *id)
{
	ledger *l;
	ledger_options o = {.read_only = true};
	if (ledger_open(h.dir, &o, &l) != LEDGER_OK)
		return -1;
	MDB_txn *txn;
	MDB_dbi sealed, keys;
	int n = -1;
	if (ledger_read_begin(l, &txn) == LEDGER_OK) {
		if (mdb_dbi_open(txn, "sealed", 0, &sealed) == 0 && mdb_dbi_open(txn, "subject_keys", 0, &keys) == 0) {
			MDB_cursor *cur;
			MDB_val k, v;
			n = mdb_get(txn, keys, &(MDB_val){strlen(subject), (void *)subject}, &v) == 0;
			if (mdb_cursor_open(txn, sealed, &cur) == 0) {
				for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
				     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
					const char *key = k.mv_data;
					n += (k.mv_size > strlen(subject) &&
					      memcmp(key, subject, strlen(subject) + 1) == 0) ||
					     (k.mv_size == SIGNER_ID_LEN + 1 && key[0] == '\0' &&
					      memcmp(key + 1, id, SIGNER_ID_LEN) == 0);
				}
				mdb_cursor_close(cur);
			}
		}
		ledger_read_end(l, txn);
	}
	ledger_close(l);
	return n;
}

/* The last SubjectErased's subject and number of certificates removed (subject "?" if none). */
typedef struct erasure_seen {
	char subject[64];
	size_t certificates;
} erasure_seen;

static bool erasure_visit(void *ctx, const ledger_record *rec, const Ledger__Events__Event *ev)
{
	erasure_seen *e = ctx;
	(void)rec;
	if (ev && ev->payload_case == LEDGER__EVENTS__EVENT__PAYLOAD_SUBJECT_ERASED) {
		snprintf(e->subject, sizeof e->subject, "%s", ev->subject_erased->subject);
		e->certificates = ev->subject_erased->n_certificates_removed;
	}
	return true;
}

static const Ledger__Api__SignerView *signer_at(const Ledger__Api__Reply *r, size_t i)
{
	const Ledger__Api__CollectionView *v = view_of(r);
	return v && i < v->n_signers ? v->signers[i] : NULL;
}

static outcome order_signers(const char *id, const char *first, const char *second)
{
	Ledger__Api__CollectionModify m = LEDGER__API__COLLECTION_MODIFY__INIT;
	Ledger__Api__CollectionRef ref = ref_of(FIRM, id, 0);
	char *order[] = {(char *)first, (char *)second};
	m.ref = &ref;
	m.signer_order = order;
	m.n_signer_order = 2;
	return outcome_of(ask(PREPARER, LEDGER__API__REQUEST__BODY_COLLECTION_MODIFY, &m));
}

/* An external signer named by their given name and surname (their certificate's GN and SN). */
static outcome add_named_signer(const char *id, const char *email, const char *given_name, const char *surname)
{
	Ledger__Api__SignerAdd s = LEDGER__API__SIGNER_ADD__INIT;
	Ledger__Api__CollectionRef ref = ref_of(FIRM, id, 0);
	s.ref = &ref;
	s.email = (char *)email;
	s.external = true;
	s.given_name = (char *)given_name;
	s.surname = (char *)surname;
	s.phone = (char *)PHONE;
	return outcome_of(ask(PREPARER, LEDGER__API__REQUEST__BODY_SIGNER_ADD, &s));
}

static void test_external_signer_erasure(void)
{
	uint64_t before = harness_head(&h);
	char id[COLLECTION_ID_MAX];
	REQUIRE_VOID(draft_ready(PREPARER, FIRM, "Pseudonymes", 1, 0, id));
	outcome o = add_named_signer(id, ERASED_CLIENT, ERASED_GIVEN, ERASED_SURNAME);
	CHECK(o.code == 0, "an external signer to erase later, by given name and surname: code %d", o.code);
	/* The front-end keeps naming signers by email; the service maps it to the id. */
	CHECK(add_signer(PREPARER, FIRM, id, ERASED_CLIENT, true).code == ERR(ALREADY_EXISTS),
	      "the same email twice is refused, through the links");
	CHECK(order_signers(id, ERASED_CLIENT, CLIENT).code == 0, "signer_order by email");
	Ledger__Api__Reply *r = show(FIRM, id);
	const Ledger__Api__DocumentView *d = view_of(r) && view_of(r)->n_documents ? view_of(r)->documents[0] : NULL;
	const float rect[4] = {50, 50, 200, 100};
	CHECK(d && set_field(FIRM, id, ERASED_CLIENT, &d->sha256, 1, rect).code == 0, "a field by email");
	harness_code_of(r);
	CHECK(act(EC, FIRM, id, ACT(SEND), NULL).code == 0, "sent");
	CHECK(report(FIRM, id, ERASED_CLIENT, LEDGER__EVENTS__SIGNER_ACTION__SIGNER_INVITED).code == 0,
	      "a report by email");

	pseudonym_scan scan = {.collection_id = id};
	CHECK(harness_log_scan(&h, before, pseudonym_visit, &scan) > 0, "the log reads");
	CHECK(scan.secrets_seen == 0, "no event holds an external signer's email, name or phone (%d seen)",
	      scan.secrets_seen);
	CHECK(scan.added == 2 && strcmp(scan.ids[0], scan.ids[1]) != 0 && scan.sealed_refs == 6,
	      "two SignerAdded, two ids, email, name and phone sealed for each (%d refs)", scan.sealed_refs);
	CHECK(scan.named_by_id == 2, "the field and the report name the signer by their id (%d)", scan.named_by_id);

	r = show(FIRM, id);
	const Ledger__Api__SignerView *s = signer_at(r, 0);
	CHECK(s && strcmp(s->email, ERASED_CLIENT) == 0 && strcmp(s->name, ERASED_GIVEN " " ERASED_SURNAME) == 0 &&
	          strcmp(s->signer_id, scan.ids[1]) == 0,
	      "the view opens the identity: %s, %s, %s", s ? s->email : "-", s ? s->name : "-", s ? s->signer_id : "-");
	harness_code_of(r);
	/* The given name and surname are sealed in the name's datum: still three. */
	CHECK(sealed_entries(ERASED_CLIENT, scan.ids[1]) == 1 + 3 + 2,
	      "beside the log: the data key, 3 sealed data, 2 links (%d)", sealed_entries(ERASED_CLIENT, scan.ids[1]));

	Ledger__Api__SubjectErase e = LEDGER__API__SUBJECT_ERASE__INIT;
	e.subject = (char *)ERASED_CLIENT;
	e.reason = (char *)"RGPD 2027-042";
	CHECK(harness_send(&h, "platform", LEDGER__API__REQUEST__BODY_SUBJECT_ERASE, &e) == 0, "erased");
	CHECK(sealed_entries(ERASED_CLIENT, scan.ids[1]) == 0, "nothing of theirs is left beside the log (%d)",
	      sealed_entries(ERASED_CLIENT, scan.ids[1]));
	erasure_seen erased = {"?", 0};
	CHECK(harness_log_scan(&h, before, erasure_visit, &erased) > 0 && erased.subject[0] == '\0' &&
	          erased.certificates == 0,
	      "SubjectErased does not name a subject with no account (got \"%s\"), and nothing was signed",
	      erased.subject);
	r = show(FIRM, id);
	s = signer_at(r, 0);
	const Ledger__Api__SignerView *other = signer_at(r, 1);
	CHECK(s && !s->email[0] && strcmp(s->name, "effacé") == 0 && strcmp(s->signer_id, scan.ids[1]) == 0,
	      "after erasure: no email, effacé, the id");
	CHECK(other && strcmp(other->email, CLIENT) == 0, "the other signer still opens");
	harness_code_of(r);
	CHECK(report(FIRM, id, ERASED_CLIENT, LEDGER__EVENTS__SIGNER_ACTION__SIGNER_INVITED).code == ERR(NOT_FOUND),
	      "the email no longer leads to the signer");
	CHECK(report(FIRM, id, scan.ids[1], LEDGER__EVENTS__SIGNER_ACTION__SIGNER_INVITED).code == 0,
	      "the id still does");
	char out[4096];
	CHECK(harness_audit_all(&h, out, sizeof out) == 0, "verify and replay after erasure: %s", out);
}

static int run(const char *bin_dir)
{
	/* The injected clock starts a minute ahead of the real one: `ledgerd init` dates the log's
	 * first event by the real clock, and time in the log never goes backwards, so a clock
	 * behind it would pin every event to that instant, microseconds and all. */
	char start[32];
	clock_text((int64_t)time(NULL) + 60, start);
	REQUIRE(harness_init(&h, bin_dir, start), "init at %s", start);
	REQUIRE(harness_start(&h, NULL), "start");
	REQUIRE(setup(), "setup: accounts, firms, delegations, credits");
	test_lifecycle_per_role();
	test_illegal_transitions();
	test_hostile_uploads();
	test_upload_retry();
	test_external_signer_erasure();
	test_concurrent_modify();
	test_credits_under_concurrent_sends();
	test_expiry_by_clock(); /* last: it moves the clock two days on */
	test_expiry_preference();
	test_automatic_reminders();
	CHECK(harness_stop(&h) == 0, "clean stop");
	return check_report("collections_test");
}

int main(int argc, char **argv)
{
	REQUIRE(argc == 2, "usage: collections_test BIN_DIR");
	REQUIRE(sodium_init() >= 0, "sodium");
	int rc = run(argv[1]);
	harness_cleanup(&h);
	return rc;
}
