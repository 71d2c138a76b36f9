/*
 * request_corpus.c: the request fuzzer's starting requests (request_corpus.h): at least one of
 * every body of ledger.api.Request, as the platform, the firm's EC, a collaborator holding
 * every right and a stranger, and the ways a token is refused. Each builder fills a Request
 * from static storage that lives until the next call: request_corpus_envelope packs it at once.
 */
#include "request_corpus.h"

#include "api.pb-c.h"
#include "fixtures.h"
#include "pdf.h"
#include "token.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static_assert(sizeof REQUEST_CORPUS_IDP_SEED == crypto_sign_SEEDBYTES + 1, "the idp seed is 32 bytes");

#define PDF_BYTES_MAX 2048u
#define CLIENT        "client1@example.fr"
#define EXPIRES_ON    "2026-12-31"

typedef enum {
	TOKEN_VALID,
	TOKEN_EXPIRED,
	TOKEN_FORGED, /* the signature's last byte flipped */
	TOKEN_WRONG_AUDIENCE,
	TOKEN_NONE,
} token_kind;

typedef struct corpus_entry {
	const char *name;  /* the seed's file name */
	const char *actor; /* the token's subject; REQUEST_CORPUS_PLATFORM for a platform token */
	token_kind token;
	void (*build)(Ledger__Api__Request *r);
} corpus_entry;

static uint8_t pdf[PDF_BYTES_MAX];
static size_t pdf_bytes;
static uint8_t pdf_sha256[crypto_hash_sha256_BYTES];

static Ledger__Api__CollectionRef *collection_ref(void)
{
	static Ledger__Api__CollectionRef ref;
	ledger__api__collection_ref__init(&ref);
	ref.firm_id = (char *)REQUEST_CORPUS_FIRM;
	ref.collection_id = (char *)REQUEST_CORPUS_COLLECTION_ID;
	return &ref;
}

/* ----- accounts, firms, delegations, registration ----- */

static void account_add(Ledger__Api__Request *r, const char *email, const char *name, bool is_ec)
{
	static Ledger__Api__AccountAdd m;
	ledger__api__account_add__init(&m);
	m.email = (char *)email, m.name = (char *)name, m.is_ec = is_ec;
	r->body_case = LEDGER__API__REQUEST__BODY_ACCOUNT_ADD, r->account_add = &m;
}

static void account_add_ec(Ledger__Api__Request *r)
{
	account_add(r, REQUEST_CORPUS_EC, "Jeanne Fuzz", true);
}

static void account_add_collaborator(Ledger__Api__Request *r)
{
	account_add(r, REQUEST_CORPUS_COLLABORATOR, "Paul Collab", false);
}

static void account_add_stranger(Ledger__Api__Request *r)
{
	account_add(r, REQUEST_CORPUS_STRANGER, "Sam Stranger", false);
}

static void firm_add(Ledger__Api__Request *r)
{
	static Ledger__Api__FirmAdd m;
	ledger__api__firm_add__init(&m);
	m.firm_id = (char *)REQUEST_CORPUS_FIRM, m.name = (char *)"Cabinet Fuzz",
	m.ec_email = (char *)REQUEST_CORPUS_EC, m.siren = (char *)FIXTURE_SIREN;
	r->body_case = LEDGER__API__REQUEST__BODY_FIRM_ADD, r->firm_add = &m;
}

static Ledger__Events__Right every_right[] = {LEDGER__EVENTS__RIGHT__RIGHT_PREPARE, LEDGER__EVENTS__RIGHT__RIGHT_LAUNCH,
                                              LEDGER__EVENTS__RIGHT__RIGHT_SIGN, LEDGER__EVENTS__RIGHT__RIGHT_SEAL};

static void delegation_grant(Ledger__Api__Request *r)
{
	static Ledger__Api__DelegationGrant m;
	static char *to[] = {(char *)REQUEST_CORPUS_COLLABORATOR};
	ledger__api__delegation_grant__init(&m);
	m.firm_id = (char *)REQUEST_CORPUS_FIRM, m.collaborators = to, m.n_collaborators = 1;
	m.rights = every_right, m.n_rights = 4, m.expires_on = (char *)EXPIRES_ON;
	r->body_case = LEDGER__API__REQUEST__BODY_DELEGATION_GRANT, r->delegation_grant = &m;
}

static void delegation_import(Ledger__Api__Request *r)
{
	static Ledger__Api__DelegationImport m;
	static const char csv[] =
	    "email\n" REQUEST_CORPUS_STRANGER "\nnot an address\n" REQUEST_CORPUS_COLLABORATOR "\n";
	ledger__api__delegation_import__init(&m);
	m.firm_id = (char *)REQUEST_CORPUS_FIRM, m.filename = (char *)"list.csv";
	m.content.data = (uint8_t *)csv, m.content.len = sizeof csv - 1;
	m.rights = every_right, m.n_rights = 1, m.expires_on = (char *)EXPIRES_ON;
	r->body_case = LEDGER__API__REQUEST__BODY_DELEGATION_IMPORT, r->delegation_import = &m;
}

static void delegation_revoke(Ledger__Api__Request *r)
{
	static Ledger__Api__DelegationRevoke m;
	ledger__api__delegation_revoke__init(&m);
	m.firm_id = (char *)REQUEST_CORPUS_FIRM, m.collaborator = (char *)REQUEST_CORPUS_COLLABORATOR;
	m.rights = every_right + 3, m.n_rights = 1;
	r->body_case = LEDGER__API__REQUEST__BODY_DELEGATION_REVOKE, r->delegation_revoke = &m;
}

static void delegations_given(Ledger__Api__Request *r)
{
	static Ledger__Api__DelegationsGiven m;
	ledger__api__delegations_given__init(&m);
	m.firm_id = (char *)REQUEST_CORPUS_FIRM;
	r->body_case = LEDGER__API__REQUEST__BODY_DELEGATIONS_GIVEN, r->delegations_given = &m;
}

static void delegations_received(Ledger__Api__Request *r)
{
	static Ledger__Api__DelegationsReceived m;
	ledger__api__delegations_received__init(&m);
	r->body_case = LEDGER__API__REQUEST__BODY_DELEGATIONS_RECEIVED, r->delegations_received = &m;
}

static void can(Ledger__Api__Request *r)
{
	static Ledger__Api__Can m;
	ledger__api__can__init(&m);
	m.firm_id = (char *)REQUEST_CORPUS_FIRM, m.action = (char *)"signature.send";
	r->body_case = LEDGER__API__REQUEST__BODY_CAN, r->can = &m;
}

static void head(Ledger__Api__Request *r)
{
	static Ledger__Api__Head m;
	ledger__api__head__init(&m);
	m.consistency_from = 1;
	r->body_case = LEDGER__API__REQUEST__BODY_HEAD, r->head = &m;
}

static void checkpoint_cosign(Ledger__Api__Request *r)
{
	static Ledger__Api__CheckpointCosign m;
	ledger__api__checkpoint_cosign__init(&m);
	m.note =
	    (char *)"jse-ledger/fuzz\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n\xe2\x80\x94 witness AAAA\n";
	r->body_case = LEDGER__API__REQUEST__BODY_CHECKPOINT_COSIGN, r->checkpoint_cosign = &m;
}

/* The collaborator's registration, step by step: complete, it may sign. */
static void registration_record(Ledger__Api__Request *r, Ledger__Events__RegistrationStep step)
{
	static Ledger__Api__RegistrationRecord m;
	fixture_registration_fill(&m, REQUEST_CORPUS_COLLABORATOR, step);
	r->body_case = LEDGER__API__REQUEST__BODY_REGISTRATION_RECORD, r->registration_record = &m;
}

static void registration_information(Ledger__Api__Request *r)
{
	registration_record(r, LEDGER__EVENTS__REGISTRATION_STEP__STEP_INFORMATION_CONFIRMED);
}

static void registration_identity(Ledger__Api__Request *r)
{
	registration_record(r, LEDGER__EVENTS__REGISTRATION_STEP__STEP_IDENTITY_VERIFIED);
}

static void registration_subscription(Ledger__Api__Request *r)
{
	registration_record(r, LEDGER__EVENTS__REGISTRATION_STEP__STEP_SUBSCRIPTION_ACCEPTED);
}

static void registration_terms(Ledger__Api__Request *r)
{
	registration_record(r, LEDGER__EVENTS__REGISTRATION_STEP__STEP_TERMS_ACCEPTED);
}

static void registration_certificate(Ledger__Api__Request *r)
{
	registration_record(r, LEDGER__EVENTS__REGISTRATION_STEP__STEP_CERTIFICATE_ISSUED);
}

static void registration_status(Ledger__Api__Request *r)
{
	static Ledger__Api__RegistrationStatus m;
	ledger__api__registration_status__init(&m);
	r->body_case = LEDGER__API__REQUEST__BODY_REGISTRATION_STATUS, r->registration_status = &m;
}

static void subject_erase(Ledger__Api__Request *r)
{
	static Ledger__Api__SubjectErase m;
	ledger__api__subject_erase__init(&m);
	m.subject = (char *)REQUEST_CORPUS_STRANGER, m.reason = (char *)"RGPD article 17";
	r->body_case = LEDGER__API__REQUEST__BODY_SUBJECT_ERASE, r->subject_erase = &m;
}

/* ----- collections ----- */

static void collection_create(Ledger__Api__Request *r)
{
	static Ledger__Api__CollectionCreate m;
	ledger__api__collection_create__init(&m);
	m.firm_id = (char *)REQUEST_CORPUS_FIRM, m.kind = LEDGER__EVENTS__COLLECTION_KIND__KIND_SIGNATURE;
	m.title = (char *)"Bilan 2025", m.deadline_on = (char *)"2026-03-31";
	r->body_case = LEDGER__API__REQUEST__BODY_COLLECTION_CREATE, r->collection_create = &m;
}

static void collection_create_seal(Ledger__Api__Request *r)
{
	collection_create(r);
	r->collection_create->kind = LEDGER__EVENTS__COLLECTION_KIND__KIND_SEAL;
	r->collection_create->title = (char *)"Liasse fiscale";
}

static void collection_modify(Ledger__Api__Request *r)
{
	static Ledger__Api__CollectionModify m;
	static char *order[] = {(char *)REQUEST_CORPUS_COLLABORATOR, (char *)CLIENT};
	ledger__api__collection_modify__init(&m);
	m.ref = collection_ref(), m.title = (char *)"Bilan 2025 (v2)",
	m.order = LEDGER__EVENTS__SIGNING_ORDER__ORDER_SEQUENTIAL;
	m.expiry_days = 20, m.signer_order = order, m.n_signer_order = 2;
	r->body_case = LEDGER__API__REQUEST__BODY_COLLECTION_MODIFY, r->collection_modify = &m;
}

static void document_add(Ledger__Api__Request *r)
{
	static Ledger__Api__DocumentAdd m;
	ledger__api__document_add__init(&m);
	m.ref = collection_ref(), m.filename = (char *)"bilan.pdf";
	m.content.data = pdf, m.content.len = pdf_bytes;
	r->body_case = LEDGER__API__REQUEST__BODY_DOCUMENT_ADD, r->document_add = &m;
}

static void document_remove(Ledger__Api__Request *r)
{
	static Ledger__Api__DocumentRemove m;
	ledger__api__document_remove__init(&m);
	m.ref = collection_ref(), m.sha256.data = pdf_sha256, m.sha256.len = sizeof pdf_sha256;
	r->body_case = LEDGER__API__REQUEST__BODY_DOCUMENT_REMOVE, r->document_remove = &m;
}

static void signer_add_external(Ledger__Api__Request *r)
{
	static Ledger__Api__SignerAdd m;
	ledger__api__signer_add__init(&m);
	m.ref = collection_ref(), m.email = (char *)CLIENT, m.name = (char *)"Claire Client", m.external = true;
	m.phone = (char *)"+33612345678";
	r->body_case = LEDGER__API__REQUEST__BODY_SIGNER_ADD, r->signer_add = &m;
}

static void signer_add_internal(Ledger__Api__Request *r)
{
	static Ledger__Api__SignerAdd m;
	ledger__api__signer_add__init(&m);
	m.ref = collection_ref(), m.email = (char *)REQUEST_CORPUS_COLLABORATOR;
	r->body_case = LEDGER__API__REQUEST__BODY_SIGNER_ADD, r->signer_add = &m;
}

static void signer_remove(Ledger__Api__Request *r)
{
	static Ledger__Api__SignerRemove m;
	ledger__api__signer_remove__init(&m);
	m.ref = collection_ref(), m.email = (char *)CLIENT;
	r->body_case = LEDGER__API__REQUEST__BODY_SIGNER_REMOVE, r->signer_remove = &m;
}

static void field_set(Ledger__Api__Request *r)
{
	static Ledger__Api__FieldSet m;
	ledger__api__field_set__init(&m);
	m.ref = collection_ref(), m.signer = (char *)CLIENT;
	m.document_sha256.data = pdf_sha256, m.document_sha256.len = sizeof pdf_sha256;
	m.page = 1, m.x0 = 72, m.y0 = 72, m.x1 = 272, m.y1 = 132;
	r->body_case = LEDGER__API__REQUEST__BODY_FIELD_SET, r->field_set = &m;
}

static void collection_act(Ledger__Api__Request *r, Ledger__Api__CollectionAct__Act act)
{
	static Ledger__Api__CollectionAct m;
	ledger__api__collection_act__init(&m);
	m.ref = collection_ref(), m.act = act, m.comment = (char *)"fuzz";
	r->body_case = LEDGER__API__REQUEST__BODY_COLLECTION_ACT, r->collection_act = &m;
}

static void act_request_approval(Ledger__Api__Request *r)
{
	collection_act(r, LEDGER__API__COLLECTION_ACT__ACT__REQUEST_APPROVAL);
}

static void act_approve(Ledger__Api__Request *r)
{
	collection_act(r, LEDGER__API__COLLECTION_ACT__ACT__APPROVE);
}

static void act_reject(Ledger__Api__Request *r)
{
	collection_act(r, LEDGER__API__COLLECTION_ACT__ACT__REJECT);
}

static void act_send(Ledger__Api__Request *r)
{
	collection_act(r, LEDGER__API__COLLECTION_ACT__ACT__SEND);
}

static void act_cancel(Ledger__Api__Request *r)
{
	collection_act(r, LEDGER__API__COLLECTION_ACT__ACT__CANCEL);
}

static void act_classify(Ledger__Api__Request *r)
{
	collection_act(r, LEDGER__API__COLLECTION_ACT__ACT__CLASSIFY);
}

static void act_remind(Ledger__Api__Request *r)
{
	collection_act(r, LEDGER__API__COLLECTION_ACT__ACT__REMIND);
}

static void act_sign(Ledger__Api__Request *r)
{
	collection_act(r, LEDGER__API__COLLECTION_ACT__ACT__SIGN);
}

static void act_seal(Ledger__Api__Request *r)
{
	collection_act(r, LEDGER__API__COLLECTION_ACT__ACT__SEAL);
}

static void signer_report(Ledger__Api__Request *r)
{
	static Ledger__Api__SignerReport m;
	ledger__api__signer_report__init(&m);
	m.ref = collection_ref(), m.signer = (char *)CLIENT, m.action = LEDGER__EVENTS__SIGNER_ACTION__SIGNER_INVITED;
	m.method = (char *)"email", m.provider_reference = (char *)"msg-1";
	r->body_case = LEDGER__API__REQUEST__BODY_SIGNER_REPORT, r->signer_report = &m;
}

static void collection_show(Ledger__Api__Request *r)
{
	static Ledger__Api__CollectionShow m;
	ledger__api__collection_show__init(&m);
	m.firm_id = (char *)REQUEST_CORPUS_FIRM, m.collection_id = (char *)REQUEST_CORPUS_COLLECTION_ID;
	r->body_case = LEDGER__API__REQUEST__BODY_COLLECTION_SHOW, r->collection_show = &m;
}

static void collection_list(Ledger__Api__Request *r)
{
	static Ledger__Api__CollectionList m;
	ledger__api__collection_list__init(&m);
	m.firm_id = (char *)REQUEST_CORPUS_FIRM, m.include_classified = true;
	r->body_case = LEDGER__API__REQUEST__BODY_COLLECTION_LIST, r->collection_list = &m;
}

static void document_get(Ledger__Api__Request *r)
{
	static Ledger__Api__DocumentGet m;
	ledger__api__document_get__init(&m);
	m.firm_id = (char *)REQUEST_CORPUS_FIRM, m.sha256.data = pdf_sha256, m.sha256.len = sizeof pdf_sha256;
	r->body_case = LEDGER__API__REQUEST__BODY_DOCUMENT_GET, r->document_get = &m;
}

/* ----- platform actions ----- */

static void credits_add(Ledger__Api__Request *r)
{
	static Ledger__Api__CreditsAdd m;
	ledger__api__credits_add__init(&m);
	m.firm_id = (char *)REQUEST_CORPUS_FIRM, m.credits = 100, m.reference = (char *)"BC-2026-1";
	r->body_case = LEDGER__API__REQUEST__BODY_CREDITS_ADD, r->credits_add = &m;
}

static void credits_show(Ledger__Api__Request *r)
{
	static Ledger__Api__CreditsShow m;
	ledger__api__credits_show__init(&m);
	m.firm_id = (char *)REQUEST_CORPUS_FIRM, m.history_rows = 10;
	r->body_case = LEDGER__API__REQUEST__BODY_CREDITS_SHOW, r->credits_show = &m;
}

static void preferences_update(Ledger__Api__Request *r)
{
	static Ledger__Api__PreferencesUpdate m;
	ledger__api__preferences_update__init(&m);
	m.firm_id = (char *)REQUEST_CORPUS_FIRM, m.collection_expiry_days = 30, m.reminder_every_days = 3;
	m.default_order = LEDGER__EVENTS__SIGNING_ORDER__ORDER_PARALLEL, m.credits_low_threshold = 10;
	m.sender_name = (char *)"Cabinet Fuzz";
	r->body_case = LEDGER__API__REQUEST__BODY_PREFERENCES_UPDATE, r->preferences_update = &m;
}

static void preferences_show(Ledger__Api__Request *r)
{
	static Ledger__Api__PreferencesShow m;
	ledger__api__preferences_show__init(&m);
	m.firm_id = (char *)REQUEST_CORPUS_FIRM;
	r->body_case = LEDGER__API__REQUEST__BODY_PREFERENCES_SHOW, r->preferences_show = &m;
}

static void stats(Ledger__Api__Request *r)
{
	static Ledger__Api__StatsQuery m;
	ledger__api__stats_query__init(&m);
	m.firm_id = (char *)REQUEST_CORPUS_FIRM, m.from_month = (char *)"2025-01", m.to_month = (char *)"2026-12";
	r->body_case = LEDGER__API__REQUEST__BODY_STATS, r->stats = &m;
}

static void dashboard(Ledger__Api__Request *r)
{
	static Ledger__Api__DashboardQuery m;
	ledger__api__dashboard_query__init(&m);
	m.firm_id = (char *)REQUEST_CORPUS_FIRM;
	r->body_case = LEDGER__API__REQUEST__BODY_DASHBOARD, r->dashboard = &m;
}

static void contacts_export(Ledger__Api__Request *r)
{
	static Ledger__Api__ContactsExport m;
	ledger__api__contacts_export__init(&m);
	m.firm_id = (char *)REQUEST_CORPUS_FIRM;
	r->body_case = LEDGER__API__REQUEST__BODY_CONTACTS_EXPORT, r->contacts_export = &m;
}

static void alert_subscribe(Ledger__Api__Request *r)
{
	static Ledger__Api__AlertSubscribe m;
	ledger__api__alert_subscribe__init(&m);
	m.firm_id = (char *)REQUEST_CORPUS_FIRM, m.kind = LEDGER__EVENTS__ALERT_KIND__ALERT_DELEGATION_EXPIRING;
	m.days = 30;
	r->body_case = LEDGER__API__REQUEST__BODY_ALERT_SUBSCRIBE, r->alert_subscribe = &m;
}

static void alert_unsubscribe(Ledger__Api__Request *r)
{
	static Ledger__Api__AlertUnsubscribe m;
	ledger__api__alert_unsubscribe__init(&m);
	m.firm_id = (char *)REQUEST_CORPUS_FIRM, m.kind = LEDGER__EVENTS__ALERT_KIND__ALERT_DELEGATION_EXPIRING;
	r->body_case = LEDGER__API__REQUEST__BODY_ALERT_UNSUBSCRIBE, r->alert_unsubscribe = &m;
}

static void alerts_list(Ledger__Api__Request *r)
{
	static Ledger__Api__AlertsList m;
	ledger__api__alerts_list__init(&m);
	m.firm_id = (char *)REQUEST_CORPUS_FIRM;
	r->body_case = LEDGER__API__REQUEST__BODY_ALERTS_LIST, r->alerts_list = &m;
}

static void no_body(Ledger__Api__Request *r)
{
	r->body_case = LEDGER__API__REQUEST__BODY__NOT_SET;
}

#define PLATFORM     REQUEST_CORPUS_PLATFORM
#define EC           REQUEST_CORPUS_EC
#define COLLABORATOR REQUEST_CORPUS_COLLABORATOR
#define STRANGER     REQUEST_CORPUS_STRANGER

/* The first REQUEST_CORPUS_SEEDING build the fuzzer's store, in this order. */
static const corpus_entry corpus[] = {
    {"seed-account-add-ec", PLATFORM, TOKEN_VALID, account_add_ec},
    {"seed-account-add-collaborator", PLATFORM, TOKEN_VALID, account_add_collaborator},
    {"seed-account-add-stranger", PLATFORM, TOKEN_VALID, account_add_stranger},
    {"seed-firm-add", PLATFORM, TOKEN_VALID, firm_add},
    {"seed-delegation-grant", EC, TOKEN_VALID, delegation_grant},
    {"seed-credits-add", EC, TOKEN_VALID, credits_add},
    {"seed-preferences-update", EC, TOKEN_VALID, preferences_update},
    {"seed-collection-create", COLLABORATOR, TOKEN_VALID, collection_create},
    {"seed-document-add", COLLABORATOR, TOKEN_VALID, document_add},
    {"seed-signer-add-external", COLLABORATOR, TOKEN_VALID, signer_add_external},
    {"seed-signer-add-internal", COLLABORATOR, TOKEN_VALID, signer_add_internal},
    {"seed-registration-information", PLATFORM, TOKEN_VALID, registration_information},
    {"seed-registration-identity", PLATFORM, TOKEN_VALID, registration_identity},
    {"seed-registration-subscription", PLATFORM, TOKEN_VALID, registration_subscription},
    {"seed-registration-terms", PLATFORM, TOKEN_VALID, registration_terms},
    /* the rest: after the seeding, each of these has something to act on */
    /* a certificate needs ledgerd's CA, which the fuzzed server has not: refused, typed */
    {"registration-certificate", PLATFORM, TOKEN_VALID, registration_certificate},
    {"field-set", COLLABORATOR, TOKEN_VALID, field_set},
    {"collection-modify", COLLABORATOR, TOKEN_VALID, collection_modify},
    {"act-request-approval", COLLABORATOR, TOKEN_VALID, act_request_approval},
    {"act-approve", EC, TOKEN_VALID, act_approve},
    {"act-reject", EC, TOKEN_VALID, act_reject},
    {"act-send", COLLABORATOR, TOKEN_VALID, act_send},
    {"act-cancel", EC, TOKEN_VALID, act_cancel},
    {"act-classify", COLLABORATOR, TOKEN_VALID, act_classify},
    {"act-remind", COLLABORATOR, TOKEN_VALID, act_remind},
    {"act-sign", COLLABORATOR, TOKEN_VALID, act_sign},
    {"act-seal", EC, TOKEN_VALID, act_seal},
    {"signer-report", PLATFORM, TOKEN_VALID, signer_report},
    {"signer-remove", COLLABORATOR, TOKEN_VALID, signer_remove},
    {"document-remove", COLLABORATOR, TOKEN_VALID, document_remove},
    {"collection-create-seal", COLLABORATOR, TOKEN_VALID, collection_create_seal},
    {"collection-show", COLLABORATOR, TOKEN_VALID, collection_show},
    {"collection-list", EC, TOKEN_VALID, collection_list},
    {"document-get", EC, TOKEN_VALID, document_get},
    {"delegation-import", EC, TOKEN_VALID, delegation_import},
    {"delegation-revoke", EC, TOKEN_VALID, delegation_revoke},
    {"delegations-given", EC, TOKEN_VALID, delegations_given},
    {"delegations-received", COLLABORATOR, TOKEN_VALID, delegations_received},
    {"can", COLLABORATOR, TOKEN_VALID, can},
    {"head", STRANGER, TOKEN_VALID, head},
    {"checkpoint-cosign", PLATFORM, TOKEN_VALID, checkpoint_cosign},
    {"registration-status", COLLABORATOR, TOKEN_VALID, registration_status},
    {"subject-erase", PLATFORM, TOKEN_VALID, subject_erase},
    {"credits-show", EC, TOKEN_VALID, credits_show},
    {"preferences-show", EC, TOKEN_VALID, preferences_show},
    {"stats", EC, TOKEN_VALID, stats},
    {"dashboard", EC, TOKEN_VALID, dashboard},
    {"contacts-export", EC, TOKEN_VALID, contacts_export},
    {"alert-subscribe", COLLABORATOR, TOKEN_VALID, alert_subscribe},
    {"alert-unsubscribe", COLLABORATOR, TOKEN_VALID, alert_unsubscribe},
    {"alerts-list", COLLABORATOR, TOKEN_VALID, alerts_list},
    /* refusals: before authorisation, and by it */
    {"denied-firm-add-by-stranger", STRANGER, TOKEN_VALID, firm_add},
    {"denied-collection-act-by-stranger", STRANGER, TOKEN_VALID, act_send},
    {"no-body", EC, TOKEN_VALID, no_body},
    {"token-expired", EC, TOKEN_EXPIRED, collection_show},
    {"token-forged", EC, TOKEN_FORGED, collection_show},
    {"token-wrong-audience", EC, TOKEN_WRONG_AUDIENCE, credits_add},
    {"token-none", EC, TOKEN_NONE, head},
};

size_t request_corpus_count(void)
{
	return sizeof corpus / sizeof corpus[0];
}

void request_corpus_idp_keys(uint8_t pk[crypto_sign_PUBLICKEYBYTES], uint8_t sk[crypto_sign_SECRETKEYBYTES])
{
	crypto_sign_seed_keypair(pk, sk, (const uint8_t *)REQUEST_CORPUS_IDP_SEED);
}

static bool token_mint(const corpus_entry *e, char token[API_TOKEN_BYTES_MAX])
{
	if (e->token == TOKEN_NONE) {
		token[0] = '\0';
		return true;
	}
	uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
	request_corpus_idp_keys(pk, sk);
	api_claims c = {.iat = REQUEST_CORPUS_NOW_S - 60, .platform = strcmp(e->actor, REQUEST_CORPUS_PLATFORM) == 0};
	c.exp = e->token == TOKEN_EXPIRED ? REQUEST_CORPUS_NOW_S - 1 : c.iat + REQUEST_CORPUS_TOKEN_TTL_S;
	snprintf(c.sub, sizeof c.sub, "%s", e->actor);
	snprintf(c.aud, sizeof c.aud, "%s", e->token == TOKEN_WRONG_AUDIENCE ? "somewhere-else" : API_TOKEN_AUDIENCE);
	bool ok = api_token_mint(&c, sk, token, API_TOKEN_BYTES_MAX);
	sodium_memzero(sk, sizeof sk);
	if (ok && e->token == TOKEN_FORGED) {
		size_t n = strlen(token);
		token[n - 2] = token[n - 2] == 'A' ? 'B' : 'A'; /* a base64url character of the signature */
	}
	return ok;
}

bool request_corpus_token(const char *actor, char *out)
{
	corpus_entry e = {.actor = actor, .token = TOKEN_VALID};
	return token_mint(&e, out);
}

uint8_t *request_corpus_envelope(size_t i, size_t *bytes, const char **name)
{
	if (i >= request_corpus_count())
		return NULL;
	if (pdf_bytes == 0) {
		pdf_bytes = test_pdf_text(pdf, sizeof pdf, "request fuzz");
		assert(pdf_bytes > 0);
		crypto_hash_sha256(pdf_sha256, pdf, pdf_bytes);
	}
	const corpus_entry *e = &corpus[i];
	Ledger__Api__Request r;
	ledger__api__request__init(&r);
	char request_id[64];
	snprintf(request_id, sizeof request_id, "seed-%zu", i);
	r.request_id = request_id;
	e->build(&r);
	char token[API_TOKEN_BYTES_MAX];
	if (!token_mint(e, token))
		return NULL;
	Ledger__Api__Envelope envelope;
	ledger__api__envelope__init(&envelope);
	envelope.token = token;
	envelope.request.len = ledger__api__request__get_packed_size(&r);
	envelope.request.data = malloc(envelope.request.len ? envelope.request.len : 1);
	if (!envelope.request.data)
		return NULL;
	ledger__api__request__pack(&r, envelope.request.data);
	*bytes = ledger__api__envelope__get_packed_size(&envelope);
	uint8_t *out = malloc(*bytes ? *bytes : 1);
	if (out)
		ledger__api__envelope__pack(&envelope, out);
	free(envelope.request.data);
	*name = e->name;
	return out;
}
