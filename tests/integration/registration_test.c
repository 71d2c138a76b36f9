/*
 * registration_test: the steps before any signature, over RPC. signature.sign is denied with
 * the missing steps named until all five are recorded and while the certificate is valid;
 * each step checks its fields; personal data (phone, ID document reference) never reaches the
 * data file in the clear, is readable by the platform and the subject only, and is gone after
 * erasure while the chain still verifies and the projections still replay.
 */
#include "../check.h"
#include "../support/scratch.h"
#include "harness.h"
#include "projections.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define PHONE            "+33 6 12 34 56 78"
#define PHONE_NORMALISED "+33612345678"
#define ID_REF           "FRA-ID-7Q2X9K41"

static harness h;

static int account(const char *email, bool ec)
{
	fixture_sender to = harness_sender(&h);
	return fixture_account(&to, email, "Someone", ec);
}

static int record(const char *as, const char *subject, Ledger__Events__RegistrationStep step, const char *phone,
                  const char *field, const char *value)
{
	Ledger__Api__RegistrationRecord c;
	fixture_registration_fill(&c, subject, step);
	if (step == LEDGER__EVENTS__REGISTRATION_STEP__STEP_IDENTITY_VERIFIED) {
		c.phone = (char *)phone;
		c.id_document_reference = (char *)ID_REF;
	}
	if (field && strcmp(field, "phone") == 0)
		c.phone = (char *)value;
	return harness_send(&h, as, LEDGER__API__REQUEST__BODY_REGISTRATION_RECORD, &c);
}

/* 1 allowed, 0 denied (reason copied), -1 error. */
static int can_sign(const char *who, char *reason, size_t reason_bytes)
{
	return harness_can(&h, who, "JLM", NULL, "signature.sign", reason, reason_bytes);
}

static Ledger__Api__Reply *show(const char *as, const char *subject)
{
	Ledger__Api__RegistrationStatus q = LEDGER__API__REGISTRATION_STATUS__INIT;
	q.subject = (char *)subject;
	return harness_ask(&h, as, LEDGER__API__REQUEST__BODY_REGISTRATION_STATUS, &q);
}

/* True if needle occurs anywhere in the file's bytes. */
static bool file_contains(const char *path, const char *needle)
{
	size_t n = 0;
	uint8_t *bytes = read_whole_file(path, &n);
	bool found = bytes && memmem(bytes, n, needle, strlen(needle)) != NULL;
	free(bytes);
	return found;
}

static void setup(void)
{
	CHECK(account("ec@cabinet.fr", true) == 0, "EC");
	CHECK(account("signer@cabinet.fr", false) == 0, "signer");
	CHECK(account("launcher@cabinet.fr", false) == 0, "launcher");
	fixture_sender to = harness_sender(&h);
	CHECK(fixture_firm(&to, "JLM", "Cabinet", "ec@cabinet.fr") == 0, "firm");
	const char *who[] = {"signer@cabinet.fr", "launcher@cabinet.fr"};
	Ledger__Events__Right rights[] = {LEDGER__EVENTS__RIGHT__RIGHT_SIGN, LEDGER__EVENTS__RIGHT__RIGHT_LAUNCH};
	for (int i = 0; i < 2; i++)
		CHECK(fixture_grant(&to, "ec@cabinet.fr", "JLM", who[i], rights[i], "2029-12-31") == 0, "grant");
}

static void test_steps(void)
{
	char reason[256];
	const char *s = "signer@cabinet.fr";
	CHECK(can_sign(s, reason, sizeof reason) == 0 && strstr(reason, "information_confirmed") &&
	          strstr(reason, "certificate_issued"),
	      "before: denied, all steps named: %s", reason);
	/* Bad inputs: typed, and nothing recorded. */
	uint64_t head = harness_head(&h);
	CHECK(record(s, s, LEDGER__EVENTS__REGISTRATION_STEP__STEP_INFORMATION_CONFIRMED, "", NULL, NULL) ==
	          LEDGER__API__ERROR_CODE__PERMISSION_DENIED,
	      "only the platform records steps");
	head++; /* that refusal is a security event */
	CHECK(record("platform", s, LEDGER__EVENTS__REGISTRATION_STEP__STEP_CERTIFICATE_ISSUED, "", NULL, NULL) ==
	          LEDGER__API__ERROR_CODE__FAILED_PRECONDITION,
	      "no certificate before identity");
	CHECK(record("platform", s, LEDGER__EVENTS__REGISTRATION_STEP__STEP_IDENTITY_VERIFIED, "", NULL, NULL) ==
	          LEDGER__API__ERROR_CODE__INVALID_ARGUMENT,
	      "identity needs the phone");
	CHECK(record("platform", s, LEDGER__EVENTS__REGISTRATION_STEP__STEP_IDENTITY_VERIFIED, "0612", NULL, NULL) ==
	          LEDGER__API__ERROR_CODE__INVALID_ARGUMENT,
	      "a phone number that is not international");
	CHECK(record("platform", s, LEDGER__EVENTS__REGISTRATION_STEP__STEP_TERMS_ACCEPTED, "", "phone", PHONE) ==
	          LEDGER__API__ERROR_CODE__INVALID_ARGUMENT,
	      "no personal data outside identity verification");
	CHECK(record("platform", "nobody@cabinet.fr", LEDGER__EVENTS__REGISTRATION_STEP__STEP_INFORMATION_CONFIRMED, "",
	             NULL, NULL) == LEDGER__API__ERROR_CODE__NOT_FOUND,
	      "no account");
	Ledger__Api__RegistrationRecord chosen;
	fixture_registration_fill(&chosen, s, LEDGER__EVENTS__REGISTRATION_STEP__STEP_CERTIFICATE_ISSUED);
	chosen.certificate_serial = (char *)"5A0F3319";
	CHECK(harness_send(&h, "platform", LEDGER__API__REQUEST__BODY_REGISTRATION_RECORD, &chosen) ==
	          LEDGER__API__ERROR_CODE__INVALID_ARGUMENT,
	      "the client does not choose the certificate's serial");
	chosen.certificate_serial = (char *)"";
	chosen.certificate_not_after = (char *)"2099-12-31";
	CHECK(harness_send(&h, "platform", LEDGER__API__REQUEST__BODY_REGISTRATION_RECORD, &chosen) ==
	          LEDGER__API__ERROR_CODE__INVALID_ARGUMENT,
	      "nor its end");
	CHECK(harness_head(&h) == head, "bad steps wrote nothing");
	for (int step = 1; step <= 5; step++) {
		CHECK(record("platform", s, (Ledger__Events__RegistrationStep)step, PHONE, NULL, NULL) == 0, "step %d",
		      step);
		bool last = step == 5;
		CHECK(can_sign(s, reason, sizeof reason) == (last ? 1 : 0), "after step %d: %s", step, reason);
	}
	/* The matrix still rules: a launcher may not sign even once registered. */
	for (int step = 1; step <= 5; step++)
		record("platform", "launcher@cabinet.fr", (Ledger__Events__RegistrationStep)step, "+33700000000", NULL,
		       NULL);
	CHECK(can_sign("launcher@cabinet.fr", reason, sizeof reason) == 0, "launch does not sign: %s", reason);
	/* The EC too needs a registration. */
	CHECK(can_sign("ec@cabinet.fr", reason, sizeof reason) == 0 && strstr(reason, "registration incomplete"),
	      "EC unregistered: %s", reason);
}

static void test_personal_data(void)
{
	const char *s = "signer@cabinet.fr";
	char path[400];
	snprintf(path, sizeof path, "%s/data.mdb", h.dir);
	CHECK(!file_contains(path, PHONE_NORMALISED) && !file_contains(path, ID_REF),
	      "no personal data in the clear in data.mdb");
	CHECK(file_contains(path, FIXTURE_PROVIDER_REFERENCE), "(the search works: the provider's reference is there)");
	Ledger__Api__Reply *r = show("platform", s);
	CHECK(r && r->registration && r->registration->complete &&
	          strcmp(r->registration->phone, PHONE_NORMALISED) == 0 &&
	          strcmp(r->registration->id_document_reference, ID_REF) == 0,
	      "the platform opens the sealed data");
	harness_code_of(r);
	r = show(s, "");
	CHECK(r && r->registration && strcmp(r->registration->phone, PHONE_NORMALISED) == 0,
	      "the subject sees their own");
	harness_code_of(r);
	CHECK(harness_code_of(show("launcher@cabinet.fr", s)) == LEDGER__API__ERROR_CODE__PERMISSION_DENIED,
	      "others do not");
	/* Erasure. */
	Ledger__Api__SubjectErase e = LEDGER__API__SUBJECT_ERASE__INIT;
	e.subject = (char *)s;
	e.reason = (char *)"RGPD request 2026-117";
	CHECK(harness_send(&h, "platform", LEDGER__API__REQUEST__BODY_SUBJECT_ERASE, &e) == 0, "erase");
	r = show("platform", s);
	CHECK(r && r->registration && r->registration->erased && r->registration->phone[0] == '\0',
	      "after erasure: nothing to open");
	harness_code_of(r);
	char reason[256];
	CHECK(can_sign(s, reason, sizeof reason) == 0 && strstr(reason, "revoked"),
	      "erasure keeps the steps done but revokes the certificate, which names the person: %s", reason);
	/* The certificate (1095 days from 2026-11-29T10:00Z) expires: no more signing. */
	harness_set_clock(&h, "2029-11-28T23:00:00Z");
	CHECK(can_sign(s, reason, sizeof reason) == 0 && strstr(reason, "expired"), "certificate expired: %s", reason);
}

int main(int argc, char **argv)
{
	REQUIRE(argc == 2, "usage: registration_test BIN_DIR");
	REQUIRE(sodium_init() >= 0, "init");
	REQUIRE(harness_init(&h, argv[1], "2026-11-29T10:00:00Z"), "init");
	REQUIRE(harness_start(&h, NULL), "start");
	setup();
	test_steps();
	test_personal_data();
	CHECK(harness_stop(&h) == 0, "clean stop");
	char out[1024];
	CHECK(harness_audit_all(&h, out, sizeof out) == 0, "chain intact and replay identical after erasure: %s", out);
	harness_cleanup(&h);
	return check_report("registration_test");
}
