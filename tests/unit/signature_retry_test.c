/*
 * signature_retry_test: what a person may do after the service failed to sign a document of a
 * collection in progress (docs/collections.md#signatures, issue 10 defect 5): retry it
 * (CollectionAct RETRY, every failed document or the one named) or remove it (DocumentRemove),
 * and who may not, when and on which document. Commands go through proj_execute on a real
 * ledger, as in ledgerd; the signer thread's part is played by proj_sign_next,
 * proj_sign_failed and proj_sign_record, with made-up signed bytes (the projections never
 * parse a PDF). At the end, a replay from event 1 must rebuild the same projections.
 */
#include "../check.h"
#include "../support/scratch.h"
#include "domain.h"
#include "ledger.h"
#include "projections.h"

#include <sodium.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* 2026-11-29T12:00:00Z */
#define NOW_US (1795953600LL * 1000000)

#define FIRM     "F1"
#define EC       "ec@firm.fr"
#define OTHER_EC "ec2@firm.fr" /* the EC of another firm: no right in F1 */
#define SIGNER   "signer@firm.fr"
#define LAUNCHER "launcher@firm.fr"
#define SEALER   "sealer@firm.fr"
#define PREPARER "preparer@firm.fr"
#define CLIENT   "client@example.fr"
#define DOCS_MAX 2
#define PAGE_SIZES                                                                                                     \
	{                                                                                                              \
		595.0f, 842.0f                                                                                         \
	}

static ledger *l;
static proj *p;

/* Runs one command; returns its error code (0 when accepted, -1 when the ledger failed). */
static int run_upload(const char *actor, const Ledger__Api__Request *req, const proj_upload *upload)
{
	return domain_run(&(domain){l, p, NOW_US}, actor, req, upload);
}

static int run(const char *actor, const Ledger__Api__Request *req)
{
	return run_upload(actor, req, NULL);
}

static uint64_t head(void)
{
	uint64_t seq = 0;
	ledger_head(l, &seq, NULL);
	return seq;
}

/* ----- setup: accounts, the firm, one right per collaborator, credits ----- */

static void setup(void)
{
	static const char *const people[][2] = {
	    {SIGNER, "sign"}, {LAUNCHER, "launch"}, {SEALER, "seal"}, {PREPARER, "prepare"}};
	uint8_t key[PROJ_PERSONAL_KEY_BYTES];
	randombytes_buf(key, sizeof key);
	proj_set_personal_key(p, key, randombytes_buf); /* external signers' phones are sealed */
	domain d = {l, p, NOW_US};
	fixture_sender to = domain_sender(&d);
	REQUIRE_VOID(fixture_account(&to, EC, "Name", true) == 0 && fixture_account(&to, OTHER_EC, "Name", true) == 0);
	REQUIRE_VOID(fixture_firm(&to, FIRM, "Firm", EC) == 0 && fixture_firm(&to, "F2", "Firm", OTHER_EC) == 0);
	for (size_t i = 0; i < sizeof people / sizeof people[0]; i++)
		REQUIRE_VOID(fixture_account(&to, people[i][0], "Name", false) == 0 &&
		             fixture_grant(&to, EC, FIRM, people[i][0], proj_right_parse(people[i][1]), "2027-06-30") ==
		                 0);
	REQUIRE_VOID(fixture_credits(&to, EC, FIRM, 100, "test") == 0);
}

/* ----- a collection: documents (SHA-256 kept), one external signer ----- */

typedef struct fixture {
	char id[32];
	uint8_t sha[DOCS_MAX][32];
	size_t documents;
} fixture;

static Ledger__Api__CollectionRef ref_of(const fixture *f)
{
	Ledger__Api__CollectionRef ref = LEDGER__API__COLLECTION_REF__INIT;
	ref.firm_id = (char *)FIRM;
	ref.collection_id = (char *)f->id;
	return ref;
}

static int document_add(fixture *f, const char *text)
{
	Ledger__Api__Request req = LEDGER__API__REQUEST__INIT;
	Ledger__Api__DocumentAdd d = LEDGER__API__DOCUMENT_ADD__INIT;
	Ledger__Api__CollectionRef ref = ref_of(f);
	static const float sizes[2] = PAGE_SIZES;
	proj_upload up = {.pages = 1, .page_sizes = sizes};
	crypto_hash_sha256(up.sha256, (const uint8_t *)text, strlen(text));
	d.ref = &ref;
	d.content = (ProtobufCBinaryData){strlen(text), (uint8_t *)text};
	d.filename = (char *)text;
	req.body_case = LEDGER__API__REQUEST__BODY_DOCUMENT_ADD;
	req.document_add = &d;
	int code = run_upload(EC, &req, &up);
	if (code == 0)
		memcpy(f->sha[f->documents++], up.sha256, 32);
	return code;
}

static int signer_add(const fixture *f)
{
	domain d = {l, p, NOW_US};
	fixture_sender to = domain_sender(&d);
	return fixture_signer_add(&to, EC, FIRM, f->id, CLIENT, "Claire Client", "+33612345678");
}

/* Collection act a on f by actor at time at (its ref and comment filled here). */
static int act_at(const char *actor, int64_t at, const fixture *f, Ledger__Api__CollectionAct *a)
{
	Ledger__Api__Request req = LEDGER__API__REQUEST__INIT;
	Ledger__Api__CollectionRef ref = ref_of(f);
	a->ref = &ref;
	a->comment = (char *)"";
	req.body_case = LEDGER__API__REQUEST__BODY_COLLECTION_ACT;
	req.collection_act = a;
	return domain_run(&(domain){l, p, at}, actor, &req, NULL);
}

/* The act, by actor; sha (NULL: none) names a document, sha_bytes long. */
static int act_on(const char *actor, const fixture *f, Ledger__Api__CollectionAct__Act act, const uint8_t *sha,
                  size_t sha_bytes)
{
	Ledger__Api__CollectionAct a = LEDGER__API__COLLECTION_ACT__INIT;
	a.act = act;
	if (sha)
		a.sha256 = (ProtobufCBinaryData){sha_bytes, (uint8_t *)sha};
	return act_at(actor, NOW_US, f, &a);
}

static int act(const char *actor, const fixture *f, Ledger__Api__CollectionAct__Act a)
{
	return act_on(actor, f, a, NULL, 0);
}

static int retry(const char *actor, const fixture *f, const uint8_t *sha)
{
	return act_on(actor, f, LEDGER__API__COLLECTION_ACT__ACT__RETRY, sha, sha ? 32 : 0);
}

static int document_remove(const char *actor, const fixture *f, const uint8_t sha[32])
{
	Ledger__Api__Request req = LEDGER__API__REQUEST__INIT;
	Ledger__Api__DocumentRemove d = LEDGER__API__DOCUMENT_REMOVE__INIT;
	Ledger__Api__CollectionRef ref = ref_of(f);
	d.ref = &ref;
	d.sha256 = (ProtobufCBinaryData){32, (uint8_t *)sha};
	req.body_case = LEDGER__API__REQUEST__BODY_DOCUMENT_REMOVE;
	req.document_remove = &d;
	return run(actor, &req);
}

static int consent(const fixture *f)
{
	domain d = {l, p, NOW_US};
	fixture_sender to = domain_sender(&d);
	ProtobufCBinaryData shown[DOCS_MAX];
	for (size_t i = 0; i < f->documents; i++)
		shown[i] = (ProtobufCBinaryData){32, (uint8_t *)f->sha[i]};
	return fixture_consent(&to, FIRM, f->id, CLIENT, shown, f->documents, NOW_US - 60000000);
}

/* A draft with n documents and the client as its signer; sent and consented when asked. */
static bool fixture_make(fixture *f, const char *title, size_t n, bool send)
{
	Ledger__Api__Request req = LEDGER__API__REQUEST__INIT;
	Ledger__Api__CollectionCreate c = LEDGER__API__COLLECTION_CREATE__INIT;
	c.firm_id = (char *)FIRM;
	c.kind = LEDGER__EVENTS__COLLECTION_KIND__KIND_SIGNATURE;
	c.title = (char *)title;
	c.deadline_on = (char *)"";
	req.body_case = LEDGER__API__REQUEST__BODY_COLLECTION_CREATE;
	req.collection_create = &c;
	memset(f, 0, sizeof *f);
	if (run(EC, &req) != 0)
		return false;
	snprintf(f->id, sizeof f->id, "c%llu", (unsigned long long)head());
	static const char *const texts[DOCS_MAX] = {"first document", "second document"};
	for (size_t i = 0; i < n && i < DOCS_MAX; i++) {
		char text[64];
		snprintf(text, sizeof text, "%s of %s", texts[i], title);
		if (document_add(f, text) != 0)
			return false;
	}
	return signer_add(f) == 0 &&
	       (!send || (act(EC, f, LEDGER__API__COLLECTION_ACT__ACT__SEND) == 0 && consent(f) == 0));
}

/* ----- the signer thread's part ----- */

typedef struct sign_job {
	ledger_job job;
	const char *collection_id; /* the collection whose signature is taken */
	bool fail;                 /* record a failure rather than a signature */
	proj_sign_task task;       /* the task taken */
	bool found, stale;
	ledger_err result;
} sign_job;

/* Other collections' signatures are owed too (earlier tests'): not this job's. */
static bool other_collection(void *ctx, const proj_sign_task *task)
{
	return strcmp(task->collection_id, (const char *)ctx) != 0;
}

static ledger_err sign_apply(ledger_job *job, ledger_txn *t)
{
	sign_job *j = (sign_job *)job;
	ledger_err err = proj_sign_next(p, ledger_txn_mdb(t), other_collection, (void *)j->collection_id, &j->task);
	if (err == LEDGER_END)
		return LEDGER_OK;
	if (err)
		return err;
	j->found = true;
	if (j->fail)
		return proj_sign_failed(p, t, &j->task, "mupdf: page 1 is null", &j->stale);
	char text[96]; /* one signed version per document */
	snprintf(text, sizeof text, "signed %s, document %02x%02x%02x%02x", j->task.collection_id,
	         j->task.original_sha256[0], j->task.original_sha256[1], j->task.original_sha256[2],
	         j->task.original_sha256[3]);
	proj_signed out = {.bytes = (const uint8_t *)text,
	                   .bytes_count = strlen(text),
	                   .certificate_serial = "01",
	                   .certificate_subject = "CN=Claire Client",
	                   .level = "B-T"};
	crypto_hash_sha256(out.sha256, out.bytes, out.bytes_count);
	return proj_sign_record(p, t, &j->task, &out, &j->stale);
}

static void sign_done(ledger_job *job, ledger_err err)
{
	((sign_job *)job)->result = err;
}

/* Takes the first signature owed in f and fails it or makes it; *task (may be NULL) gets it.
 * False when nothing was owed or the task was stale. */
static bool sign_next(const fixture *f, bool fail, proj_sign_task *task)
{
	sign_job j = {.job = {sign_apply, sign_done, NULL}, .collection_id = f->id, .fail = fail};
	ledger_err err = ledger_commit_one(l, &j.job, NOW_US);
	if (task)
		*task = j.task;
	return err == LEDGER_OK && j.result == LEDGER_OK && j.found && !j.stale;
}

/* ----- what the collection shows ----- */

typedef struct shown {
	Ledger__Events__CollectionState state;
	size_t documents;
	bool failed[DOCS_MAX]; /* in the collection's order */
	uint64_t credits_reserved, credits_used;
} shown;

static bool show(const fixture *f, shown *out)
{
	Ledger__Api__Request req = LEDGER__API__REQUEST__INIT;
	Ledger__Api__CollectionShow q = LEDGER__API__COLLECTION_SHOW__INIT;
	Ledger__Api__Reply reply = LEDGER__API__REPLY__INIT;
	q.firm_id = (char *)FIRM;
	q.collection_id = (char *)f->id;
	req.body_case = LEDGER__API__REQUEST__BODY_COLLECTION_SHOW;
	req.collection_show = &q;
	MDB_txn *txn;
	proj_arena *arena = proj_arena_new();
	if (!arena || ledger_read_begin(l, &txn) != LEDGER_OK) {
		proj_arena_free(arena);
		return false;
	}
	proj_actor actor = {EC, false};
	proj_query(p, txn, &actor, NOW_US, &req, &reply, arena);
	bool ok = !reply.error && reply.result_case == LEDGER__API__REPLY__RESULT_COLLECTION;
	if (ok) {
		const Ledger__Api__CollectionView *v = reply.collection->collection;
		memset(out, 0, sizeof *out);
		out->state = v->state;
		out->documents = v->n_documents;
		for (size_t i = 0; i < v->n_documents && i < DOCS_MAX; i++)
			out->failed[i] = v->documents[i]->failure[0] != '\0';
		out->credits_reserved = v->credits_reserved;
		out->credits_used = v->credits_used;
	}
	ledger_read_end(l, txn);
	proj_arena_free(arena);
	return ok;
}

/* ----- the tests ----- */

/* Nothing to retry before the collection is in progress, nor after it ended. */
static void test_retry_wrong_state(void)
{
	fixture f;
	REQUIRE_VOID(fixture_make(&f, "Draft", 1, false));
	CHECK(retry(EC, &f, NULL) == LEDGER__API__ERROR_CODE__INVALID_TRANSITION, "a draft: nothing to retry");
	CHECK(retry(EC, &f, f.sha[0]) == LEDGER__API__ERROR_CODE__INVALID_TRANSITION,
	      "a draft: not one document either");
	CHECK(act(EC, &f, LEDGER__API__COLLECTION_ACT__ACT__SEND) == 0, "send");
	CHECK(retry(EC, &f, NULL) == LEDGER__API__ERROR_CODE__INVALID_TRANSITION,
	      "sent, nobody acted: nothing to retry");
	CHECK(consent(&f) == 0, "the client consents: in progress");
	CHECK(retry(EC, &f, NULL) == LEDGER__API__ERROR_CODE__FAILED_PRECONDITION,
	      "in progress, nothing failed: nothing to retry");
	CHECK(sign_next(&f, true, NULL), "the signature fails");
	CHECK(act(EC, &f, LEDGER__API__COLLECTION_ACT__ACT__CANCEL) == 0, "cancelled");
	CHECK(retry(EC, &f, NULL) == LEDGER__API__ERROR_CODE__INVALID_TRANSITION, "cancelled: nothing to retry");
}

/* Who may retry: those who may end the collection (signature.cancel: the EC, sign, launch). */
static void test_retry_rights(void)
{
	fixture f;
	REQUIRE_VOID(fixture_make(&f, "Rights", 1, true));
	REQUIRE_VOID(sign_next(&f, true, NULL));
	uint64_t before = head();
	CHECK(retry(PREPARER, &f, NULL) == LEDGER__API__ERROR_CODE__PERMISSION_DENIED, "a preparer may not retry");
	CHECK(retry(SEALER, &f, f.sha[0]) == LEDGER__API__ERROR_CODE__PERMISSION_DENIED, "a sealer may not retry");
	CHECK(retry(OTHER_EC, &f, NULL) == LEDGER__API__ERROR_CODE__PERMISSION_DENIED,
	      "another firm's EC may not retry");
	shown s;
	CHECK(show(&f, &s) && s.failed[0], "the refusals left the failure on record");
	CHECK(head() == before, "the refusals wrote nothing (ledgerd, not the domain, records AccessDenied)");
	CHECK(retry(SIGNER, &f, f.sha[0]) == 0, "a collaborator holding sign may retry");
	CHECK(head() == before + 1, "one SignatureRetried written");
	CHECK(show(&f, &s) && !s.failed[0], "the failure is cleared");
	CHECK(sign_next(&f, true, NULL), "it fails again");
	CHECK(retry(LAUNCHER, &f, NULL) == 0, "a collaborator holding launch may retry");
	CHECK(sign_next(&f, true, NULL), "and again");
	CHECK(retry(EC, &f, f.sha[0]) == 0, "the EC may retry");
}

/* Only a document whose last signing attempt failed is retried by name; the others keep
 * their failures, and the signature is made once retried. */
static void test_retry_one_document(void)
{
	fixture f, other;
	REQUIRE_VOID(fixture_make(&f, "Named", 2, true));
	REQUIRE_VOID(fixture_make(&other, "Other", 1, false));
	proj_sign_task task;
	REQUIRE_VOID(sign_next(&f, true, &task));
	CHECK(strcmp(task.collection_id, f.id) == 0 && memcmp(task.original_sha256, f.sha[0], 32) == 0,
	      "the first document failed");
	CHECK(task.failure_recorded == false, "its failure was not on record before");
	CHECK(retry(EC, &f, f.sha[1]) == LEDGER__API__ERROR_CODE__FAILED_PRECONDITION,
	      "the second document did not fail: not retried");
	CHECK(retry(EC, &f, other.sha[0]) == LEDGER__API__ERROR_CODE__NOT_FOUND, "another collection's document");
	CHECK(act_on(EC, &f, LEDGER__API__COLLECTION_ACT__ACT__RETRY, f.sha[0], 5) ==
	          LEDGER__API__ERROR_CODE__INVALID_ARGUMENT,
	      "a SHA-256 of 5 bytes");
	CHECK(act_on(EC, &f, LEDGER__API__COLLECTION_ACT__ACT__REMIND, f.sha[0], 32) ==
	          LEDGER__API__ERROR_CODE__INVALID_ARGUMENT,
	      "only RETRY names a document");
	shown s;
	CHECK(show(&f, &s) && s.state == LEDGER__EVENTS__COLLECTION_STATE__STATE_IN_PROGRESS && s.failed[0] &&
	          !s.failed[1],
	      "still in progress, the failure on record");
	proj_sign_task again;
	CHECK(sign_next(&f, true, &again) && again.failure_recorded, "owed still, and shown as failed");
	CHECK(retry(EC, &f, f.sha[0]) == 0, "the failed document is retried");
	CHECK(show(&f, &s) && !s.failed[0] && !s.failed[1], "its failure is cleared");
	CHECK(sign_next(&f, false, &task) && memcmp(task.original_sha256, f.sha[0], 32) == 0 && !task.failure_recorded,
	      "signed, the first document");
	CHECK(sign_next(&f, false, &task) && memcmp(task.original_sha256, f.sha[1], 32) == 0, "then the second");
	CHECK(show(&f, &s) && s.state == LEDGER__EVENTS__COLLECTION_STATE__STATE_COMPLETED && s.credits_used == 2,
	      "completed, two credits used");
	CHECK(retry(EC, &f, f.sha[0]) == LEDGER__API__ERROR_CODE__INVALID_TRANSITION, "completed: nothing to retry");
	CHECK(act(EC, &other, LEDGER__API__COLLECTION_ACT__ACT__CANCEL) == 0, "the other one cancelled");
}

/* The failed document is removed, the rest completes; not a document that did not fail, not
 * the last one, not by someone without the right. */
static void test_remove_failed_document(void)
{
	fixture f;
	REQUIRE_VOID(fixture_make(&f, "Removed", 2, true));
	REQUIRE_VOID(sign_next(&f, true, NULL));
	CHECK(document_remove(EC, &f, f.sha[1]) == LEDGER__API__ERROR_CODE__FAILED_PRECONDITION,
	      "in progress, a document that did not fail stays");
	CHECK(document_remove(OTHER_EC, &f, f.sha[0]) == LEDGER__API__ERROR_CODE__PERMISSION_DENIED,
	      "another firm's EC may not remove it");
	CHECK(document_remove(LAUNCHER, &f, f.sha[0]) == 0, "the failed document is removed");
	shown s;
	CHECK(show(&f, &s) && s.documents == 1 && s.state == LEDGER__EVENTS__COLLECTION_STATE__STATE_IN_PROGRESS,
	      "one document left, in progress");
	CHECK(sign_next(&f, false, NULL), "the other is signed");
	CHECK(show(&f, &s) && s.state == LEDGER__EVENTS__COLLECTION_STATE__STATE_COMPLETED && s.credits_used == 1,
	      "completed with one credit used");
	CHECK(!sign_next(&f, false, NULL), "nothing is owed any more");

	fixture lone;
	REQUIRE_VOID(fixture_make(&lone, "Lone", 1, true));
	REQUIRE_VOID(sign_next(&lone, true, NULL));
	CHECK(document_remove(EC, &lone, lone.sha[0]) == LEDGER__API__ERROR_CODE__FAILED_PRECONDITION,
	      "the only document stays: cancel instead");
	CHECK(act(EC, &lone, LEDGER__API__COLLECTION_ACT__ACT__CANCEL) == 0, "cancelled");
}

/* Every event above, retries of one and of every document among them, folds again from the
 * log to the same projections. */
static void test_replay(void)
{
	uint8_t live[32], rebuilt[32];
	domain_projections_digest(l, live);
	proj_replay_stats st;
	CHECK(proj_replay(p, l, NULL, NULL, &st) == LEDGER_OK, "replay from event 1");
	CHECK(st.events == head(), "%llu of %llu events folded", (unsigned long long)st.events,
	      (unsigned long long)head());
	domain_projections_digest(l, rebuilt);
	CHECK(memcmp(live, rebuilt, 32) == 0, "rebuilt to the same bytes");
}

/* who's authentication by sms in f, as the platform reports it through to. */
static int authenticate(const fixture_sender *to, const fixture *f, const char *who, int64_t code_sent_at_us)
{
	fixture_report r = {.signer = who,
	                    .action = LEDGER__EVENTS__SIGNER_ACTION__SIGNER_AUTHENTICATED,
	                    .method = "sms",
	                    .masked_destination = "+33 6** ** ** 02",
	                    .code_sent_at_us = code_sent_at_us};
	return fixture_signer_report(to, FIRM, f->id, &r);
}

/*
 * An external signer's consent rests on an authentication of the last 15 minutes and names the
 * versions to be signed (docs/collections.md#consent). Runs last: it moves the clock on.
 */
static void test_consent_needs_fresh_authentication(void)
{
	fixture f;
	REQUIRE_VOID(fixture_make(&f, "Fraicheur", 1, false));
	REQUIRE_VOID(act(EC, &f, LEDGER__API__COLLECTION_ACT__ACT__SEND) == 0);
	ProtobufCBinaryData shown = {32, f.sha[0]};
	int64_t at = NOW_US + 3600 * INT64_C(1000000); /* after every earlier test's events */
	domain now = {l, p, at};
	fixture_sender to = domain_sender(&now);
	fixture_report consent = {.signer = CLIENT,
	                          .action = LEDGER__EVENTS__SIGNER_ACTION__SIGNER_CONSENTED,
	                          .shown = &shown,
	                          .n_shown = 1,
	                          .consent_text_version = "C1"};
	CHECK(fixture_signer_report(&to, FIRM, f.id, &consent) == LEDGER__API__ERROR_CODE__FAILED_PRECONDITION,
	      "no consent without an authentication");
	CHECK(authenticate(&to, &f, CLIENT, at - 30000000) == 0, "authenticated at T");
	domain late = {l, p, at + 16 * 60 * INT64_C(1000000)};
	fixture_sender to_late = domain_sender(&late);
	CHECK(fixture_signer_report(&to_late, FIRM, f.id, &consent) == LEDGER__API__ERROR_CODE__FAILED_PRECONDITION,
	      "no consent 16 minutes after the authentication");
	CHECK(authenticate(&to_late, &f, CLIENT, late.now_us - 30000000) == 0, "authenticated again");
	domain soon = {l, p, late.now_us + 14 * 60 * INT64_C(1000000)};
	fixture_sender to_soon = domain_sender(&soon);
	uint8_t other[32] = {1};
	ProtobufCBinaryData wrong = {32, other};
	fixture_report elsewhere = consent;
	elsewhere.shown = &wrong;
	CHECK(fixture_signer_report(&to_soon, FIRM, f.id, &elsewhere) == LEDGER__API__ERROR_CODE__FAILED_PRECONDITION,
	      "no consent over another version");
	uint64_t before = head();
	CHECK(fixture_signer_report(&to_soon, FIRM, f.id, &consent) == 0, "a consent 14 minutes after it is taken");
	CHECK(head() == before + 1, "one SignerActed");
}

/* The last event of the log, unpacked (caller frees), or NULL. */
static Ledger__Events__Event *last_event(void)
{
	MDB_txn *txn;
	ledger_record rec;
	Ledger__Events__Event *ev = NULL;
	if (ledger_read_begin(l, &txn) != LEDGER_OK)
		return NULL;
	if (ledger_get(l, txn, head(), &rec) == LEDGER_OK)
		ev = ledger__events__event__unpack(NULL, rec.event_bytes, rec.event);
	ledger_read_end(l, txn);
	return ev;
}

/* SIGNER's `signature.sign` on f at `at`, naming n_shown versions and a consent text version. */
static int sign_at(int64_t at, const fixture *f, const ProtobufCBinaryData *shown, size_t n_shown, const char *version)
{
	Ledger__Api__CollectionAct a = LEDGER__API__COLLECTION_ACT__INIT;
	a.act = LEDGER__API__COLLECTION_ACT__ACT__SIGN;
	a.document_sha256 = (ProtobufCBinaryData *)shown;
	a.n_document_sha256 = n_shown;
	a.consent_text_version = (char *)version;
	return act_at(SIGNER, at, f, &a);
}

/*
 * An internal signer's signature rests on the same as an external signer's consent: an
 * authentication of the last 15 minutes, the consent text's version and exactly the versions
 * to be signed; SIGNER_SIGNED records them (docs/collections.md#consent). Runs last with the
 * test above: it moves the clock on.
 */
static void test_internal_sign_needs_fresh_authentication(void)
{
	fixture f;
	REQUIRE_VOID(fixture_make(&f, "Interne", 1, false));
	int64_t at = NOW_US + 3 * 3600 * INT64_C(1000000); /* after every earlier test's events */
	domain now = {l, p, at};
	fixture_sender to = domain_sender(&now);
	for (int step = 1; step <= 5; step++) /* signature.sign needs a complete registration */
		REQUIRE_VOID(fixture_registration_step(&to, SIGNER, (Ledger__Events__RegistrationStep)step) == 0);
	REQUIRE_VOID(fixture_signer_add(&to, EC, FIRM, f.id, SIGNER, NULL, NULL) == 0);
	Ledger__Api__Request req = LEDGER__API__REQUEST__INIT; /* both signers at once */
	Ledger__Api__CollectionModify m = LEDGER__API__COLLECTION_MODIFY__INIT;
	Ledger__Api__CollectionRef ref = ref_of(&f);
	m.ref = &ref;
	m.order = LEDGER__EVENTS__SIGNING_ORDER__ORDER_PARALLEL;
	req.body_case = LEDGER__API__REQUEST__BODY_COLLECTION_MODIFY;
	req.collection_modify = &m;
	REQUIRE_VOID(domain_run(&now, EC, &req, NULL) == 0);
	REQUIRE_VOID(fixture_act(&to, EC, FIRM, f.id, LEDGER__API__COLLECTION_ACT__ACT__SEND, NULL) == 0);
	ProtobufCBinaryData shown = {32, f.sha[0]};
	CHECK(sign_at(at, &f, &shown, 1, "C1") == LEDGER__API__ERROR_CODE__FAILED_PRECONDITION,
	      "no internal signature without an authentication");
	CHECK(authenticate(&to, &f, SIGNER, at - 30000000) == 0, "the internal signer authenticated at T");
	uint64_t authentication_seq = head();
	int64_t late = at + 16 * 60 * INT64_C(1000000);
	CHECK(sign_at(late, &f, &shown, 1, "C1") == LEDGER__API__ERROR_CODE__FAILED_PRECONDITION,
	      "no internal signature 16 minutes after the authentication");
	int64_t soon = at + 14 * 60 * INT64_C(1000000);
	uint8_t other[32] = {2};
	ProtobufCBinaryData wrong = {32, other};
	CHECK(sign_at(soon, &f, &wrong, 1, "C1") == LEDGER__API__ERROR_CODE__FAILED_PRECONDITION,
	      "no internal signature over another version");
	CHECK(sign_at(soon, &f, NULL, 0, "C1") == LEDGER__API__ERROR_CODE__FAILED_PRECONDITION,
	      "no internal signature naming no version");
	CHECK(sign_at(soon, &f, &shown, 1, "") == LEDGER__API__ERROR_CODE__INVALID_ARGUMENT,
	      "no internal signature without the consent text's version");
	uint64_t before = head();
	CHECK(sign_at(soon, &f, &shown, 1, "C1") == 0, "an internal signature 14 minutes after it is taken");
	CHECK(head() >= before + 1, "written");
	/* the SIGNER_SIGNED event (a transition to in progress may come first) */
	Ledger__Events__Event *ev = last_event();
	REQUIRE_VOID(ev != NULL);
	const Ledger__Events__SignerActed *e =
	    ev->payload_case == LEDGER__EVENTS__EVENT__PAYLOAD_SIGNER_ACTED ? ev->signer_acted : NULL;
	CHECK(e && e->action == LEDGER__EVENTS__SIGNER_ACTION__SIGNER_SIGNED && strcmp(e->signer, SIGNER) == 0,
	      "the last event is the SIGNER_SIGNED of %s", SIGNER);
	CHECK(e && e->authentication_seq == authentication_seq,
	      "it names the authentication it rests on (seq %llu, expected %llu)",
	      e ? (unsigned long long)e->authentication_seq : 0ULL, (unsigned long long)authentication_seq);
	CHECK(e && e->n_document_sha256 == 1 && e->document_sha256[0].len == 32 &&
	          memcmp(e->document_sha256[0].data, f.sha[0], 32) == 0 && strcmp(e->consent_text_version, "C1") == 0,
	      "it names the version signed and the consent text's version");
	ledger__events__event__free_unpacked(ev, NULL);
}

int main(void)
{
	REQUIRE(sodium_init() >= 0, "sodium");
	char *dir = scratch_dir("signature-retry-test");
	REQUIRE(dir && rmdir(dir) == 0, "scratch dir");
	REQUIRE(ledger_create(dir, NULL) == LEDGER_OK, "create");
	REQUIRE(ledger_open(dir, NULL, &l) == LEDGER_OK && proj_open(l, 0x5eed, &p) == LEDGER_OK, "open");
	setup();
	test_retry_wrong_state();
	test_retry_rights();
	test_retry_one_document();
	test_remove_failed_document();
	test_replay();
	test_consent_needs_fresh_authentication();
	test_internal_sign_needs_fresh_authentication();
	proj_close(p);
	ledger_close(l);
	remove_dir(dir);
	free(dir);
	return check_report("signature_retry_test");
}
