/*
 * subject_profile_test: what the ledger records for a certificate's EN 319 412 subject fields,
 * in process (tests/support/domain.h), and what proj_certificate_subject hands the CA:
 * - FirmAdd refuses a bad SIREN with INVALID_ARGUMENT naming the field and the value, writing
 *   nothing; a good one is in FirmCreated and the firm, and the seal's subject is NTRFR-<SIREN>;
 *   a firm created before the field is a FirmCreated without it.
 * - identity_verified refuses missing or too long names; accepted, they are sealed (not in the
 *   log's bytes), shown to the platform, and the person's subject is GN, SN and CN "GN SN".
 * - A registration verified before the names were asked (a sealed datum of two lines, written
 *   here as the older build did) is refused a certificate (FAILED_PRECONDITION on given_name)
 *   until identity_verified is recorded again with the names.
 * - A firm without a SIREN is refused a seal until FirmSirenSet (platform role, a valid SIREN,
 *   once) gives it one; then its seal's subject is NTRFR-<SIREN>.
 * - Erasure removes the names: no certificate subject, nothing shown. A replay folds the same.
 */
#include "../check.h"
#include "../support/scratch.h"
#include "commands.h"
#include "domain.h"
#include "ledger.h"
#include "projections.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOW_US  (1795953600LL * 1000000) /* 2026-11-29T12:00:00Z */
#define EC      "ec@firm.fr"
#define PERSON  "eloise@firm.fr"
#define LEGACY  "ancien@firm.fr"
#define GIVEN   "Éloïse"
#define SURNAME "Dupré-Lefèvre"
#define SIREN   "552032534"

static ledger *l;
static proj *p;
static domain d;

static uint64_t head(void)
{
	uint64_t seq = 0;
	ledger_head(l, &seq, NULL);
	return seq;
}

/* Runs req as the platform: its error code (0 accepted), its field in field (may be NULL). */
static int run_platform(const Ledger__Api__Request *req, char *field, size_t field_bytes, char *message,
                        size_t message_bytes)
{
	domain_command c;
	ledger_err err = domain_command_run(&d, "platform", req, NULL, &c);
	int code = err ? -1 : c.reply.error ? (int)c.reply.error->code : 0;
	if (field)
		snprintf(field, field_bytes, "%s", code > 0 ? c.reply.error->field : "");
	if (message)
		snprintf(message, message_bytes, "%s", code > 0 ? c.reply.error->message : "");
	domain_command_free(&c);
	return code;
}

static bool subject_of(const Ledger__Api__Request *req, proj_certificate_for *out)
{
	MDB_txn *txn;
	if (ledger_read_begin(l, &txn) != LEDGER_OK)
		return false;
	bool found = proj_certificate_subject(p, txn, req, out);
	ledger_read_end(l, txn);
	return found;
}

static int firm_add(const char *id, const char *siren, char *field, char *message)
{
	Ledger__Api__FirmAdd c = LEDGER__API__FIRM_ADD__INIT;
	c.firm_id = (char *)id, c.name = (char *)"Cabinet Dupré", c.ec_email = (char *)EC, c.siren = (char *)siren;
	Ledger__Api__Request req;
	fixture_request(&req, LEDGER__API__REQUEST__BODY_FIRM_ADD, &c);
	return run_platform(&req, field, 32, message, 256);
}

static void test_firm_siren(void)
{
	static const char *const bad[] = {"", "55203253", "5520325340", "55203253A", "552 032 534", "552032535"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char field[32], message[256];
		uint64_t before = head();
		CHECK(firm_add("F-BAD", bad[i], field, message) == LEDGER__API__ERROR_CODE__INVALID_ARGUMENT &&
		          strcmp(field, "siren") == 0 && strstr(message, bad[i]),
		      "SIREN \"%s\": refused naming the field and the value: %s: %s", bad[i], field, message);
		CHECK(head() == before, "SIREN \"%s\": nothing written", bad[i]);
	}
	REQUIRE_VOID(firm_add("F1", SIREN, NULL, NULL) == 0);
	MDB_txn *txn;
	REQUIRE_VOID(ledger_read_begin(l, &txn) == LEDGER_OK);
	Ledger__State__Firm *f = NULL;
	CHECK(proj_firm_get(p, txn, "F1", &f) == LEDGER_OK && strcmp(f->siren, SIREN) == 0, "the firm keeps its SIREN");
	if (f)
		ledger__state__firm__free_unpacked(f, NULL);
	ledger_read_end(l, txn);
	Ledger__Api__SealIssue s = LEDGER__API__SEAL_ISSUE__INIT;
	s.firm_id = "F1";
	Ledger__Api__Request req;
	fixture_request(&req, LEDGER__API__REQUEST__BODY_SEAL_ISSUE, &s);
	proj_certificate_for who;
	CHECK(subject_of(&req, &who) && who.seal && strcmp(who.organization_identifier, "NTRFR-" SIREN) == 0 &&
	          strcmp(who.name, "Cabinet Dupré") == 0 && strcmp(who.id, "F1") == 0,
	      "a seal's subject: NTRFR-<SIREN> and the firm's name: %s %s", who.organization_identifier, who.name);
}

/* Appends, as an older build did, an event the commands of this build would not write. */
typedef struct raw_job {
	ledger_job job;
	Ledger__Events__Event *ev;
	const char *sealed_for; /* identity_verified: seal this two-line datum first */
	const char *sealed;
	ledger_err result;
} raw_job;

static ledger_err raw_apply(ledger_job *job, ledger_txn *t)
{
	raw_job *r = (raw_job *)job;
	Ledger__Events__SealedRef ref = LEDGER__EVENTS__SEALED_REF__INIT;
	uint8_t hash[32];
	if (r->sealed) {
		ledger_err err = proj_personal_seal(p, ledger_txn_mdb(t), r->sealed_for, r->sealed, &ref, hash);
		if (err)
			return err;
		r->ev->registration_recorded->personal = &ref;
	}
	return proj_emit(
	    p, t, "platform", "legacy",
	    r->ev->payload_case == LEDGER__EVENTS__EVENT__PAYLOAD_FIRM_CREATED ? r->ev->firm_created->firm_id : NULL,
	    r->ev, NULL, NULL);
}

static void raw_done(ledger_job *job, ledger_err err)
{
	((raw_job *)job)->result = err;
}

static bool append_raw(Ledger__Events__Event *ev, const char *sealed_for, const char *sealed)
{
	raw_job r = {.job = {raw_apply, raw_done, NULL}, .ev = ev, .sealed_for = sealed_for, .sealed = sealed};
	return ledger_commit_one(l, &r.job, NOW_US) == LEDGER_OK && r.result == LEDGER_OK;
}

static int siren_set(const char *as, const char *firm_id, const char *siren, char *field, char *message)
{
	Ledger__Api__FirmSirenSet c = LEDGER__API__FIRM_SIREN_SET__INIT;
	c.firm_id = (char *)firm_id, c.siren = (char *)siren;
	Ledger__Api__Request req;
	fixture_request(&req, LEDGER__API__REQUEST__BODY_FIRM_SIREN_SET, &c);
	if (strcmp(as, "platform") == 0)
		return run_platform(&req, field, 32, message, 256);
	return domain_run(&d, as, &req, NULL);
}

static void test_legacy_firm(void)
{
	Ledger__Events__FirmCreated e = LEDGER__EVENTS__FIRM_CREATED__INIT;
	e.firm_id = "OLD", e.name = "Cabinet Ancien", e.ec_email = EC;
	Ledger__Events__Event ev = PROJ_EVENT(FIRM_CREATED, firm_created, &e);
	REQUIRE_VOID(append_raw(&ev, NULL, NULL));
	Ledger__Api__SealIssue s = LEDGER__API__SEAL_ISSUE__INIT;
	s.firm_id = "OLD";
	Ledger__Api__Request req;
	fixture_request(&req, LEDGER__API__REQUEST__BODY_SEAL_ISSUE, &s);
	proj_certificate_for who;
	char field[32], message[256];
	uint64_t before = head();
	CHECK(!subject_of(&req, &who), "a firm without a SIREN: nothing for the CA to issue");
	CHECK(run_platform(&req, field, sizeof field, message, sizeof message) ==
	              LEDGER__API__ERROR_CODE__FAILED_PRECONDITION &&
	          strstr(message, "no SIREN"),
	      "its seal is refused until it has a SIREN: %s", message);
	CHECK(siren_set(EC, "OLD", SIREN, NULL, NULL) == LEDGER__API__ERROR_CODE__PERMISSION_DENIED,
	      "the platform role sets a SIREN, not the firm's EC");
	CHECK(siren_set("platform", "OLD", "552032535", field, message) == LEDGER__API__ERROR_CODE__INVALID_ARGUMENT &&
	          strcmp(field, "siren") == 0 && strstr(message, "552032535"),
	      "a bad SIREN: refused naming it: %s", message);
	CHECK(siren_set("platform", "NOPE", SIREN, field, message) == LEDGER__API__ERROR_CODE__NOT_FOUND &&
	          strcmp(field, "firm_id") == 0,
	      "no such firm: %s", message);
	CHECK(siren_set("platform", "F1", "443061841", field, message) ==
	              LEDGER__API__ERROR_CODE__FAILED_PRECONDITION &&
	          strstr(message, SIREN),
	      "a firm's SIREN does not change: %s", message);
	CHECK(head() == before, "refusals write nothing");
	CHECK(siren_set("platform", "OLD", "443061841", NULL, NULL) == 0, "the old firm gets its SIREN");
	CHECK(head() == before + 1, "one event: FirmSirenRecorded");
	CHECK(siren_set("platform", "OLD", "443061841", field, message) == LEDGER__API__ERROR_CODE__FAILED_PRECONDITION,
	      "once only");
	CHECK(subject_of(&req, &who) && who.seal && strcmp(who.organization_identifier, "NTRFR-443061841") == 0 &&
	          strcmp(who.name, "Cabinet Ancien") == 0,
	      "its next seal: NTRFR-<SIREN>: %s", who.organization_identifier);
}

/* The projections folded live are those a replay of the log folds (schema 12's firm.siren). */
static void test_replay(void)
{
	uint8_t live[32], rebuilt[32];
	domain_projections_digest(l, live);
	proj_replay_stats st;
	CHECK(proj_replay(p, l, NULL, NULL, &st) == LEDGER_OK && st.events == head(), "replay from event 1");
	domain_projections_digest(l, rebuilt);
	CHECK(memcmp(live, rebuilt, sizeof live) == 0, "a replay folds the same projections");
}

static int identity(const char *subject, const char *given, const char *surname, char *field)
{
	Ledger__Api__RegistrationRecord c;
	fixture_registration_fill(&c, subject, LEDGER__EVENTS__REGISTRATION_STEP__STEP_IDENTITY_VERIFIED);
	c.given_name = (char *)given, c.surname = (char *)surname;
	Ledger__Api__Request req;
	fixture_request(&req, LEDGER__API__REQUEST__BODY_REGISTRATION_RECORD, &c);
	return run_platform(&req, field, 32, NULL, 0);
}

static int certificate(const char *subject, char *field, proj_certificate_for *who, bool *found)
{
	Ledger__Api__RegistrationRecord c;
	fixture_registration_fill(&c, subject, LEDGER__EVENTS__REGISTRATION_STEP__STEP_CERTIFICATE_ISSUED);
	Ledger__Api__Request req;
	fixture_request(&req, LEDGER__API__REQUEST__BODY_REGISTRATION_RECORD, &c);
	*found = subject_of(&req, who);
	return run_platform(&req, field, 32, NULL, 0);
}

/* RegistrationStatus as the platform: the opened names. */
static void shown_names(const char *subject, char *given, char *surname)
{
	Ledger__Api__RegistrationStatus q = LEDGER__API__REGISTRATION_STATUS__INIT;
	q.subject = (char *)subject;
	Ledger__Api__Request req;
	fixture_request(&req, LEDGER__API__REQUEST__BODY_REGISTRATION_STATUS, &q);
	Ledger__Api__Reply reply = LEDGER__API__REPLY__INIT;
	proj_arena *arena = proj_arena_new();
	MDB_txn *txn;
	given[0] = surname[0] = '\0';
	if (arena && ledger_read_begin(l, &txn) == LEDGER_OK) {
		proj_query(p, txn, &(proj_actor){"platform", true}, NOW_US, &req, &reply, arena);
		if (reply.result_case == LEDGER__API__REPLY__RESULT_REGISTRATION) {
			snprintf(given, 64, "%s", reply.registration->given_name);
			snprintf(surname, 64, "%s", reply.registration->surname);
		}
		ledger_read_end(l, txn);
	}
	proj_arena_free(arena);
}

static void test_person_names(void)
{
	char field[32], given[64], surname[64];
	uint64_t before = head();
	CHECK(identity(PERSON, "", SURNAME, field) == LEDGER__API__ERROR_CODE__INVALID_ARGUMENT &&
	          strcmp(field, "given_name") == 0,
	      "identity_verified without a given name: refused (%s)", field);
	CHECK(identity(PERSON, GIVEN, "", field) == LEDGER__API__ERROR_CODE__INVALID_ARGUMENT &&
	          strcmp(field, "surname") == 0,
	      "identity_verified without a surname: refused (%s)", field);
	char long_name[80];
	memset(long_name, 'x', 70), long_name[70] = '\0';
	CHECK(identity(PERSON, GIVEN, long_name, field) == LEDGER__API__ERROR_CODE__INVALID_ARGUMENT,
	      "a surname over 64 characters: refused");
	CHECK(head() == before, "refusals write nothing");

	REQUIRE_VOID(identity(PERSON, GIVEN, SURNAME, field) == 0);
	shown_names(PERSON, given, surname);
	CHECK(strcmp(given, GIVEN) == 0 && strcmp(surname, SURNAME) == 0, "the platform sees the names: %s %s", given,
	      surname);
	proj_certificate_for who;
	bool found = false;
	CHECK(certificate(PERSON, field, &who, &found) == 0, "the certificate is recorded (%s)", field);
	CHECK(found && !who.seal && strcmp(who.given_name, GIVEN) == 0 && strcmp(who.surname, SURNAME) == 0 &&
	          strcmp(who.name, GIVEN " " SURNAME) == 0 && strcmp(who.id, PERSON) == 0,
	      "the CA is handed GN, SN and CN \"GN SN\": %s / %s / %s", who.given_name, who.surname, who.name);
}

static void test_legacy_registration(void)
{
	Ledger__Events__RegistrationRecorded e = LEDGER__EVENTS__REGISTRATION_RECORDED__INIT;
	e.subject = LEGACY;
	e.step = LEDGER__EVENTS__REGISTRATION_STEP__STEP_IDENTITY_VERIFIED;
	e.provider = "IdP", e.provider_reference = "VRF-OLD", e.method = "id_document+mobile";
	Ledger__Events__Event ev = PROJ_EVENT(REGISTRATION_RECORDED, registration_recorded, &e);
	REQUIRE_VOID(append_raw(&ev, LEGACY, "+33700000009\nFRA-ID-OLD"));
	char field[32], given[64], surname[64];
	proj_certificate_for who;
	bool found = true;
	uint64_t before = head();
	CHECK(certificate(LEGACY, field, &who, &found) == LEDGER__API__ERROR_CODE__FAILED_PRECONDITION &&
	          strcmp(field, "given_name") == 0,
	      "verified before the names were asked: no certificate (%s)", field);
	CHECK(!found, "nothing for the CA to issue");
	CHECK(head() == before, "the refusal writes nothing");
	shown_names(LEGACY, given, surname);
	CHECK(!given[0] && !surname[0], "no names shown");
	REQUIRE_VOID(identity(LEGACY, "Jean-Marie", "Le Gall", field) == 0);
	CHECK(certificate(LEGACY, field, &who, &found) == 0 && found && strcmp(who.name, "Jean-Marie Le Gall") == 0,
	      "verified again with the names: issued to %s", who.name);
}

static void test_erasure(void)
{
	Ledger__Api__SubjectErase c = LEDGER__API__SUBJECT_ERASE__INIT;
	c.subject = PERSON, c.reason = "RGPD 2026-001";
	Ledger__Api__Request req;
	fixture_request(&req, LEDGER__API__REQUEST__BODY_SUBJECT_ERASE, &c);
	REQUIRE_VOID(run_platform(&req, NULL, 0, NULL, 0) == 0);
	char given[64], surname[64];
	shown_names(PERSON, given, surname);
	CHECK(!given[0] && !surname[0], "erased: the names are gone");
	Ledger__Api__RegistrationRecord r;
	fixture_registration_fill(&r, PERSON, LEDGER__EVENTS__REGISTRATION_STEP__STEP_CERTIFICATE_ISSUED);
	fixture_request(&req, LEDGER__API__REQUEST__BODY_REGISTRATION_RECORD, &r);
	proj_certificate_for who;
	CHECK(!subject_of(&req, &who), "erased: no certificate subject");
}

/* The verified names never reach the file in clear (the accounts' names, in AccountRegistered,
 * are initials here): they are sealed beside the log. */
static void test_not_in_the_log(const char *dir)
{
	char path[600];
	snprintf(path, sizeof path, "%s/data.mdb", dir);
	FILE *f = fopen(path, "rb");
	REQUIRE_VOID(f);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *bytes = malloc((size_t)n);
	REQUIRE_VOID(bytes && fread(bytes, 1, (size_t)n, f) == (size_t)n);
	fclose(f);
	CHECK(!memmem(bytes, (size_t)n, SURNAME, strlen(SURNAME)) && !memmem(bytes, (size_t)n, "Le Gall", 7),
	      "no surname in clear in data.mdb");
	CHECK(memmem(bytes, (size_t)n, SIREN, strlen(SIREN)), "the SIREN is in the log (a firm's, not personal)");
	free(bytes);
}

int main(void)
{
	REQUIRE(sodium_init() >= 0, "sodium");
	char *dir = scratch_dir("subject-profile-test");
	REQUIRE(dir && rmdir(dir) == 0, "scratch dir");
	REQUIRE(ledger_create(dir, NULL) == LEDGER_OK, "create");
	REQUIRE(ledger_open(dir, NULL, &l) == LEDGER_OK && proj_open(l, 0x5eed, &p) == LEDGER_OK, "open");
	uint8_t key[PROJ_PERSONAL_KEY_BYTES];
	randombytes_buf(key, sizeof key);
	proj_set_personal_key(p, key, randombytes_buf);
	d = (domain){l, p, NOW_US};
	fixture_sender to = domain_sender(&d);
	REQUIRE(fixture_account(&to, EC, "Eve Expert", true) == 0, "EC");
	REQUIRE(fixture_account(&to, PERSON, "Éloïse D.", false) == 0, "person");
	REQUIRE(fixture_account(&to, LEGACY, "J.-M. L.", false) == 0, "legacy person");
	test_firm_siren();
	test_legacy_firm();
	test_person_names();
	test_legacy_registration();
	test_erasure();
	test_replay();
	proj_close(p);
	ledger_close(l);
	test_not_in_the_log(dir);
	remove_dir(dir);
	free(dir);
	return check_report("subject_profile_test");
}
