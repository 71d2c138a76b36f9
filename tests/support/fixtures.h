/*
 * fixtures.h: the domain set-ups the C tests repeat (accounts, firms, delegations, credits, the
 * registration steps), written once. Each builds one command and hands it to a fixture_sender,
 * which runs it over RPC against a real ledgerd (harness_sender, harness.h) or through
 * proj_execute in the test's own process (domain_sender, domain.h). Each returns what the
 * sender returns: 0 when the command was accepted, its error code when refused, -1 when it
 * did not run at all. Strings are borrowed for the call only.
 */
#ifndef TESTS_SUPPORT_FIXTURES_H
#define TESTS_SUPPORT_FIXTURES_H

#include "api.pb-c.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Runs req as `as` ("platform" for the platform); 0, an error code, or -1 (above). */
typedef int fixture_send_fn(void *ctx, const char *as, Ledger__Api__Request *req);

typedef struct fixture_sender {
	fixture_send_fn *send;
	void *ctx;
} fixture_sender;

/* Makes req (initialised here) a request whose body is `body`, the message of body_case (its
 * type is checked against the Request's field: a mismatch is a bug in the test, and aborts). */
void fixture_request(Ledger__Api__Request *req, Ledger__Api__Request__BodyCase body_case, void *body);

/* Sends a request whose body is `body` (fixture_request) as `as`. */
int fixture_send(const fixture_sender *to, const char *as, Ledger__Api__Request__BodyCase body_case, void *body);

/* The registration's identity step names this provider reference: registration_test looks
 * for it in the data file to show that the search would find a clear-text value. */
#define FIXTURE_PROVIDER_REFERENCE "VRF-2026-000421"

/* AccountAdd, as the platform. */
int fixture_account(const fixture_sender *to, const char *email, const char *name, bool is_ec);

/* A valid SIREN (its Luhn key holds): the one fixture_firm gives every firm. */
#define FIXTURE_SIREN "732829320"

/* FirmAdd of firm_id (named name) with ec_email as its EC and FIXTURE_SIREN, as the platform. */
int fixture_firm(const fixture_sender *to, const char *firm_id, const char *name, const char *ec_email);

/* A DelegationGrant of one right in firm_id to who, through expires_on (YYYY-MM-DD), for a test
 * that reads the reply itself: req points into the struct, which must not move once filled. */
typedef struct fixture_grant_request {
	Ledger__Api__Request req;
	Ledger__Api__DelegationGrant grant;
	char *collaborators[1];
	Ledger__Events__Right right;
} fixture_grant_request;
void fixture_grant_fill(fixture_grant_request *g, const char *firm_id, const char *who, Ledger__Events__Right right,
                        const char *expires_on);

/* The grant fixture_grant_fill makes, sent as `ec`. */
int fixture_grant(const fixture_sender *to, const char *ec, const char *firm_id, const char *who,
                  Ledger__Events__Right right, const char *expires_on);

/* DelegationRevoke by `ec` of every right of who in firm_id. */
int fixture_revoke(const fixture_sender *to, const char *ec, const char *firm_id, const char *who);

/* CreditsAdd of `credits` to firm_id by `as`, with the purchase reference given. */
int fixture_credits(const fixture_sender *to, const char *as, const char *firm_id, uint64_t credits,
                    const char *reference);

/* A reference to collection id of firm_id (its strings are the caller's). */
Ledger__Api__CollectionRef fixture_ref(const char *firm_id, const char *id);

/* CollectionAct `act` on collection id of firm_id by `as`, with a comment (NULL: none). */
int fixture_act(const fixture_sender *to, const char *as, const char *firm_id, const char *id,
                Ledger__Api__CollectionAct__Act act, const char *comment);

/* PreferencesUpdate u (its firm_id names the firm) by `as`. */
int fixture_preferences(const fixture_sender *to, const char *as, const Ledger__Api__PreferencesUpdate *u);

/* DocumentAdd of the n bytes at pdf, named filename, to collection id of firm_id, by `as`. Over
 * RPC only: in process, an upload is run with what ledgerd learned of it (domain.h). */
int fixture_document_add(const fixture_sender *to, const char *as, const char *firm_id, const char *id,
                         const uint8_t *pdf, size_t n, const char *filename);

/* SignerAdd of email to collection id of firm_id by `as`: an external signer (with name and
 * phone) when phone is not NULL, else a member of the firm (name NULL: none). */
int fixture_signer_add(const fixture_sender *to, const char *as, const char *firm_id, const char *id, const char *email,
                       const char *name, const char *phone);

/* What the platform reports of signer in collection id of firm_id (SignerReport, as the
 * platform); method, provider_reference and comment may be NULL (none). */
typedef struct fixture_report {
	const char *signer;
	Ledger__Events__SignerAction action;
	const char *method, *provider_reference, *comment;
	/* authenticated: where the code went, masked, and when (docs/collections.md#consent) */
	const char *masked_destination;
	int64_t code_sent_at_us;
	/* consented: the versions shown, one SHA-256 per document, and the consent text's version */
	const ProtobufCBinaryData *shown;
	size_t n_shown;
	const char *consent_text_version;
} fixture_report;
int fixture_signer_report(const fixture_sender *to, const char *firm_id, const char *id, const fixture_report *report);

/* An external signer's consent as the platform reports it: an authentication by sms (the code
 * sent at code_sent_at_us, which must be before the service's now), then the consent over the
 * n_shown versions of shown. 0, or the first report's failure. */
int fixture_consent(const fixture_sender *to, const char *firm_id, const char *id, const char *signer,
                    const ProtobufCBinaryData *shown, size_t n_shown, int64_t code_sent_at_us);

/* An internal signer's signature: the platform reports their authentication by sms (the code sent
 * at code_sent_at_us), then `as` signs (CollectionAct SIGN) over the n_shown versions of shown.
 * 0, or the first failure. */
int fixture_sign(const fixture_sender *to, const char *as, const char *firm_id, const char *id,
                 const ProtobufCBinaryData *shown, size_t n_shown, int64_t code_sent_at_us);

/* Fills c with a valid RegistrationRecord of subject's step (the fields that step takes, with
 * made-up but well-formed values); the caller may then change any field. */
void fixture_registration_fill(Ledger__Api__RegistrationRecord *c, const char *subject,
                               Ledger__Events__RegistrationStep step);

/* The RegistrationRecord fixture_registration_fill makes, as the platform. Steps 1 to 5 in
 * order register subject fully (signature.sign then needs only a right). */
int fixture_registration_step(const fixture_sender *to, const char *subject, Ledger__Events__RegistrationStep step);

/* The identity_verified step's given name and surname when a test names none: the person's
 * certificate is issued to "Camille Testeur". */
#define FIXTURE_GIVEN_NAME "Camille"
#define FIXTURE_SURNAME    "Testeur"

/* As fixture_registration_step, with the given name and surname the identity step verifies (and
 * the certificate carries, with the commonName "given_name surname"); other steps ignore them. */
int fixture_registration_step_named(const fixture_sender *to, const char *subject,
                                    Ledger__Events__RegistrationStep step, const char *given_name, const char *surname);

#endif
