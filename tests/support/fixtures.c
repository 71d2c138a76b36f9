/* fixtures.c: see fixtures.h. */
#include "fixtures.h"

#include <stdlib.h>

void fixture_request(Ledger__Api__Request *req, Ledger__Api__Request__BodyCase body_case, void *body)
{
	/* The body is a oneof: its case is the number of the field that holds the message. */
	const ProtobufCFieldDescriptor *field =
	    protobuf_c_message_descriptor_get_field(&ledger__api__request__descriptor, (unsigned)body_case);
	if (!field || field->type != PROTOBUF_C_TYPE_MESSAGE || !(field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) ||
	    ((const ProtobufCMessage *)body)->descriptor != field->descriptor)
		abort();
	ledger__api__request__init(req);
	*(uint32_t *)((uint8_t *)req + field->quantifier_offset) = field->id;
	*(void **)((uint8_t *)req + field->offset) = body;
}

int fixture_send(const fixture_sender *to, const char *as, Ledger__Api__Request__BodyCase body_case, void *body)
{
	Ledger__Api__Request req;
	fixture_request(&req, body_case, body);
	return to->send(to->ctx, as, &req);
}

int fixture_account(const fixture_sender *to, const char *email, const char *name, bool is_ec)
{
	Ledger__Api__AccountAdd c = LEDGER__API__ACCOUNT_ADD__INIT;
	c.email = (char *)email;
	c.name = (char *)name;
	c.is_ec = is_ec;
	return fixture_send(to, "platform", LEDGER__API__REQUEST__BODY_ACCOUNT_ADD, &c);
}

int fixture_firm(const fixture_sender *to, const char *firm_id, const char *name, const char *ec_email)
{
	Ledger__Api__FirmAdd c = LEDGER__API__FIRM_ADD__INIT;
	c.firm_id = (char *)firm_id;
	c.name = (char *)name;
	c.ec_email = (char *)ec_email;
	c.siren = (char *)FIXTURE_SIREN;
	return fixture_send(to, "platform", LEDGER__API__REQUEST__BODY_FIRM_ADD, &c);
}

void fixture_grant_fill(fixture_grant_request *g, const char *firm_id, const char *who, Ledger__Events__Right right,
                        const char *expires_on)
{
	ledger__api__delegation_grant__init(&g->grant);
	g->collaborators[0] = (char *)who;
	g->right = right;
	g->grant.firm_id = (char *)firm_id;
	g->grant.collaborators = g->collaborators;
	g->grant.n_collaborators = 1;
	g->grant.rights = &g->right;
	g->grant.n_rights = 1;
	g->grant.expires_on = (char *)expires_on;
	fixture_request(&g->req, LEDGER__API__REQUEST__BODY_DELEGATION_GRANT, &g->grant);
}

int fixture_grant(const fixture_sender *to, const char *ec, const char *firm_id, const char *who,
                  Ledger__Events__Right right, const char *expires_on)
{
	fixture_grant_request g;
	fixture_grant_fill(&g, firm_id, who, right, expires_on);
	return to->send(to->ctx, ec, &g.req);
}

int fixture_revoke(const fixture_sender *to, const char *ec, const char *firm_id, const char *who)
{
	Ledger__Api__DelegationRevoke c = LEDGER__API__DELEGATION_REVOKE__INIT;
	c.firm_id = (char *)firm_id;
	c.collaborator = (char *)who;
	return fixture_send(to, ec, LEDGER__API__REQUEST__BODY_DELEGATION_REVOKE, &c);
}

int fixture_credits(const fixture_sender *to, const char *as, const char *firm_id, uint64_t credits,
                    const char *reference)
{
	Ledger__Api__CreditsAdd c = LEDGER__API__CREDITS_ADD__INIT;
	c.firm_id = (char *)firm_id;
	c.credits = credits;
	c.reference = (char *)reference;
	return fixture_send(to, as, LEDGER__API__REQUEST__BODY_CREDITS_ADD, &c);
}

int fixture_preferences(const fixture_sender *to, const char *as, const Ledger__Api__PreferencesUpdate *u)
{
	return fixture_send(to, as, LEDGER__API__REQUEST__BODY_PREFERENCES_UPDATE, (Ledger__Api__PreferencesUpdate *)u);
}

/* A collection's reference, no version expected. */
Ledger__Api__CollectionRef fixture_ref(const char *firm_id, const char *id)
{
	Ledger__Api__CollectionRef ref = LEDGER__API__COLLECTION_REF__INIT;
	ref.firm_id = (char *)firm_id;
	ref.collection_id = (char *)id;
	return ref;
}

/* NULL as the empty string, which is what an absent proto3 string is. */
static char *text_or_empty(const char *text)
{
	return (char *)(text ? text : "");
}

int fixture_document_add(const fixture_sender *to, const char *as, const char *firm_id, const char *id,
                         const uint8_t *pdf, size_t n, const char *filename)
{
	Ledger__Api__DocumentAdd c = LEDGER__API__DOCUMENT_ADD__INIT;
	Ledger__Api__CollectionRef ref = fixture_ref(firm_id, id);
	c.ref = &ref;
	c.filename = (char *)filename;
	c.content = (ProtobufCBinaryData){n, (uint8_t *)pdf};
	return fixture_send(to, as, LEDGER__API__REQUEST__BODY_DOCUMENT_ADD, &c);
}

int fixture_signer_add(const fixture_sender *to, const char *as, const char *firm_id, const char *id, const char *email,
                       const char *name, const char *phone)
{
	Ledger__Api__SignerAdd c = LEDGER__API__SIGNER_ADD__INIT;
	Ledger__Api__CollectionRef ref = fixture_ref(firm_id, id);
	c.ref = &ref;
	c.email = (char *)email;
	c.name = text_or_empty(name);
	c.external = phone != NULL;
	c.phone = text_or_empty(phone);
	return fixture_send(to, as, LEDGER__API__REQUEST__BODY_SIGNER_ADD, &c);
}

int fixture_signer_report(const fixture_sender *to, const char *firm_id, const char *id, const fixture_report *report)
{
	Ledger__Api__SignerReport c = LEDGER__API__SIGNER_REPORT__INIT;
	Ledger__Api__CollectionRef ref = fixture_ref(firm_id, id);
	c.ref = &ref;
	c.signer = (char *)report->signer;
	c.action = report->action;
	c.method = text_or_empty(report->method);
	c.provider_reference = text_or_empty(report->provider_reference);
	c.comment = text_or_empty(report->comment);
	c.masked_destination = text_or_empty(report->masked_destination);
	c.code_sent_at_us = report->code_sent_at_us;
	c.document_sha256 = (ProtobufCBinaryData *)report->shown;
	c.n_document_sha256 = report->n_shown;
	c.consent_text_version = text_or_empty(report->consent_text_version);
	return fixture_send(to, "platform", LEDGER__API__REQUEST__BODY_SIGNER_REPORT, &c);
}

/* signer's authentication by sms as the platform reports it, the code sent at code_sent_at_us. */
static int authenticated(const fixture_sender *to, const char *firm_id, const char *id, const char *signer,
                         int64_t code_sent_at_us)
{
	return fixture_signer_report(to, firm_id, id,
	                             &(fixture_report){.signer = signer,
	                                               .action = LEDGER__EVENTS__SIGNER_ACTION__SIGNER_AUTHENTICATED,
	                                               .method = "sms",
	                                               .provider_reference = "OTP-TEST",
	                                               .masked_destination = "+33 6** ** ** 00",
	                                               .code_sent_at_us = code_sent_at_us});
}

int fixture_consent(const fixture_sender *to, const char *firm_id, const char *id, const char *signer,
                    const ProtobufCBinaryData *shown, size_t n_shown, int64_t code_sent_at_us)
{
	int rc = authenticated(to, firm_id, id, signer, code_sent_at_us);
	if (rc)
		return rc;
	return fixture_signer_report(to, firm_id, id,
	                             &(fixture_report){.signer = signer,
	                                               .action = LEDGER__EVENTS__SIGNER_ACTION__SIGNER_CONSENTED,
	                                               .shown = shown,
	                                               .n_shown = n_shown,
	                                               .consent_text_version = "CONSENTEMENT-TEST"});
}

int fixture_sign(const fixture_sender *to, const char *as, const char *firm_id, const char *id,
                 const ProtobufCBinaryData *shown, size_t n_shown, int64_t code_sent_at_us)
{
	int rc = authenticated(to, firm_id, id, as, code_sent_at_us);
	if (rc)
		return rc;
	Ledger__Api__CollectionAct c = LEDGER__API__COLLECTION_ACT__INIT;
	Ledger__Api__CollectionRef ref = fixture_ref(firm_id, id);
	c.ref = &ref;
	c.act = LEDGER__API__COLLECTION_ACT__ACT__SIGN;
	c.document_sha256 = (ProtobufCBinaryData *)shown;
	c.n_document_sha256 = n_shown;
	c.consent_text_version = "CONSENTEMENT-TEST";
	return fixture_send(to, as, LEDGER__API__REQUEST__BODY_COLLECTION_ACT, &c);
}

int fixture_act(const fixture_sender *to, const char *as, const char *firm_id, const char *id,
                Ledger__Api__CollectionAct__Act act, const char *comment)
{
	Ledger__Api__CollectionAct c = LEDGER__API__COLLECTION_ACT__INIT;
	Ledger__Api__CollectionRef ref = fixture_ref(firm_id, id);
	c.ref = &ref;
	c.act = act;
	c.comment = text_or_empty(comment);
	return fixture_send(to, as, LEDGER__API__REQUEST__BODY_COLLECTION_ACT, &c);
}

void fixture_registration_fill(Ledger__Api__RegistrationRecord *c, const char *subject,
                               Ledger__Events__RegistrationStep step)
{
	ledger__api__registration_record__init(c);
	c->subject = (char *)subject;
	c->step = step;
	switch (step) {
	case LEDGER__EVENTS__REGISTRATION_STEP__STEP_IDENTITY_VERIFIED:
		c->provider = (char *)"IdentityProviderCo";
		c->provider_reference = (char *)FIXTURE_PROVIDER_REFERENCE;
		c->method = (char *)"id_document+mobile";
		c->phone = (char *)"+33700000001";
		c->id_document_reference = (char *)"FRA-ID-1";
		c->given_name = (char *)FIXTURE_GIVEN_NAME;
		c->surname = (char *)FIXTURE_SURNAME;
		break;
	case LEDGER__EVENTS__REGISTRATION_STEP__STEP_SUBSCRIPTION_ACCEPTED:
		c->subscription_version = (char *)"2026.1";
		break;
	case LEDGER__EVENTS__REGISTRATION_STEP__STEP_TERMS_ACCEPTED:
		c->terms_version = (char *)"CGU-2026-03";
		c->rgpd_version = (char *)"RGPD-2025-11";
		break;
	default: break; /* certificate_issued: ledgerd issues the certificate, the client names nothing */
	}
}

int fixture_registration_step(const fixture_sender *to, const char *subject, Ledger__Events__RegistrationStep step)
{
	return fixture_registration_step_named(to, subject, step, FIXTURE_GIVEN_NAME, FIXTURE_SURNAME);
}

int fixture_registration_step_named(const fixture_sender *to, const char *subject,
                                    Ledger__Events__RegistrationStep step, const char *given_name, const char *surname)
{
	Ledger__Api__RegistrationRecord c;
	fixture_registration_fill(&c, subject, step);
	if (step == LEDGER__EVENTS__REGISTRATION_STEP__STEP_IDENTITY_VERIFIED) {
		c.given_name = (char *)given_name;
		c.surname = (char *)surname;
	}
	return fixture_send(to, "platform", LEDGER__API__REQUEST__BODY_REGISTRATION_RECORD, &c);
}
