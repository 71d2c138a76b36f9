/*
 * ledgerctl_accounts.c: ledgerctl's account, firm, delegation, rights, registration
 * and erasure commands (docs/cli.md). The command-line machinery is ledgerctl.c's.
 */
#include "ledgerctl_common.h"
#include "ledgerctl_views.h"

#include "ledger.h"
#include "projections.h"
#include "token.h"

#include <assert.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_ITEMS_MAX PROJ_GRANT_COLLABORATORS_MAX

/* ----- commands ----- */

static int run_token(const ctl_args *a, char **pos)
{
	(void)pos;
	if (!a->data || !a->sub)
		return ctl_usage_error("token needs --data DIR and --sub EMAIL");
	if (a->ttl_s < 1 || a->ttl_s > API_TOKEN_TTL_SECONDS_MAX)
		return ctl_usage_error("--ttl: from 1 second to 366 days");
	char token[API_TOKEN_BYTES_MAX];
	if (!ctl_mint(a->data, a->sub, a->platform, a->ttl_s, token))
		return CTL_EXIT_REFUSED;
	if (a->json)
		printf("{\"token\":\"%s\"}\n", token); /* base64url and dots: nothing to escape */
	else
		printf("%s\n", token);
	return 0;
}

static int run_account_add(const ctl_args *a, char **pos)
{
	if (!a->name)
		return ctl_usage_error("account add needs --name NAME");
	Ledger__Api__AccountAdd c = LEDGER__API__ACCOUNT_ADD__INIT;
	c.email = pos[0];
	c.name = (char *)a->name;
	c.is_ec = a->ec;
	char human[400];
	snprintf(human, sizeof human, "account %s registered%s", pos[0], a->ec ? " (expert-comptable)" : "");
	return ctl_send_command(a, LEDGER__API__REQUEST__BODY_ACCOUNT_ADD, &c.base, human);
}

static int run_firm_add(const ctl_args *a, char **pos)
{
	if (!a->name || !a->ec_email || !a->siren)
		return ctl_usage_error("firm add needs --name NAME, --ec EMAIL and --siren SIREN");
	Ledger__Api__FirmAdd c = LEDGER__API__FIRM_ADD__INIT;
	c.firm_id = pos[0];
	c.name = (char *)a->name;
	c.ec_email = (char *)a->ec_email;
	c.siren = (char *)a->siren;
	char human[400];
	snprintf(human, sizeof human, "firm %s created, EC %s", pos[0], a->ec_email);
	return ctl_send_command(a, LEDGER__API__REQUEST__BODY_FIRM_ADD, &c.base, human);
}

static int parse_rights(const char *list, Ledger__Events__Right *rights, size_t *n)
{
	char buf[256];
	char *items[8];
	if (strlen(list) >= sizeof buf)
		return ctl_usage_error("--rights: a list among sign,launch,seal,prepare");
	snprintf(buf, sizeof buf, "%s", list);
	int count = ctl_split_list(buf, items, 8);
	if (count < 0)
		return ctl_usage_error("--rights: a list among sign,launch,seal,prepare");
	for (int i = 0; i < count; i++) {
		rights[i] = proj_right_parse(items[i]);
		if (rights[i] == LEDGER__EVENTS__RIGHT__RIGHT_UNSPECIFIED) {
			fprintf(stderr,
			        "ledgerctl: --rights: unknown right \"%s\" (rights: sign, launch, seal, prepare)\n",
			        items[i]);
			return CTL_EXIT_USAGE;
		}
	}
	*n = (size_t)count;
	return 0;
}

static const char *grant_status_name(Ledger__Api__GrantResult__Status s)
{
	const ProtobufCEnumValue *v =
	    protobuf_c_enum_descriptor_get_value(&ledger__api__grant_result__status__descriptor, (int)s);
	return v ? v->name : "UNKNOWN";
}

static int print_grant(const ctl_args *a, Ledger__Api__Reply *r)
{
	int rc = 0;
	const Ledger__Api__GrantReply *g = r->result_case == LEDGER__API__REPLY__RESULT_GRANT ? r->grant : NULL;
	for (size_t i = 0; g && i < g->n_results; i++)
		if (g->results[i]->status != LEDGER__API__GRANT_RESULT__STATUS__GRANTED)
			rc = CTL_EXIT_REFUSED;
	if (a->json) {
		json_out j;
		ctl_json_begin(&j, rc == 0);
		ctl_json_ack(&j, r);
		json_key(&j, "results"), json_arr_begin(&j);
		for (size_t i = 0; g && i < g->n_results; i++) {
			json_obj_begin(&j);
			json_key(&j, "row"), json_u64(&j, g->results[i]->row);
			json_key(&j, "collaborator"), json_str(&j, g->results[i]->collaborator);
			json_key(&j, "status"), json_str(&j, grant_status_name(g->results[i]->status));
			json_key(&j, "message"), json_str(&j, g->results[i]->message);
			json_obj_end(&j);
		}
		json_arr_end(&j);
		ctl_json_end(&j);
	} else {
		for (size_t i = 0; g && i < g->n_results; i++)
			printf("row %-5u %-16s %s: %s\n", g->results[i]->row, grant_status_name(g->results[i]->status),
			       g->results[i]->collaborator, g->results[i]->message);
		if (r->replayed)
			printf("(replayed: this request was already done)\n");
	}
	ledger__api__reply__free_unpacked(r, NULL);
	return rc;
}

/* delegation grant --import FILE: ledgerd reads the list; rows come back with their numbers. */
static int run_import(const ctl_args *a, Ledger__Events__Right *rights, size_t n_rights)
{
	size_t n;
	uint8_t *content = ctl_read_file("--import", a->import_file, 5u * 1024u * 1024u, &n);
	if (!content)
		return CTL_EXIT_REFUSED;
	const char *base = strrchr(a->import_file, '/');
	Ledger__Api__DelegationImport c = LEDGER__API__DELEGATION_IMPORT__INIT;
	c.firm_id = (char *)a->firm;
	c.filename = (char *)(base ? base + 1 : a->import_file);
	c.content.data = content;
	c.content.len = n;
	c.rights = rights;
	c.n_rights = n_rights;
	c.expires_on = (char *)(a->expires ? a->expires : "");
	int rc;
	Ledger__Api__Reply *r = ctl_send(a, LEDGER__API__REQUEST__BODY_DELEGATION_IMPORT, &c.base,
	                                 LEDGER__API__REPLY__RESULT__NOT_SET, &rc);
	free(content);
	return r ? print_grant(a, r) : rc;
}

static int run_grant(const ctl_args *a, char **pos)
{
	(void)pos;
	if (!a->firm || (!a->to == !a->import_file) || !a->rights)
		return ctl_usage_error("delegation grant needs --firm FIRM, one of --to EMAIL[,EMAIL...] or --import "
		                       "FILE, and --rights LIST");
	Ledger__Events__Right rights[8];
	size_t n_rights;
	int urc = parse_rights(a->rights, rights, &n_rights);
	if (urc)
		return urc;
	if (a->import_file)
		return run_import(a, rights, n_rights);
	char *to = strdup(a->to);
	char **items = calloc(LIST_ITEMS_MAX, sizeof *items);
	if (!to || !items) {
		free(to);
		free(items);
		return CTL_EXIT_REFUSED;
	}
	int count = ctl_split_list(to, items, LIST_ITEMS_MAX);
	if (count <= 0) {
		free(to);
		free(items);
		return ctl_usage_error("--to: 1 to 10 000 comma-separated addresses");
	}
	Ledger__Api__DelegationGrant c = LEDGER__API__DELEGATION_GRANT__INIT;
	c.firm_id = (char *)a->firm;
	c.collaborators = items;
	c.n_collaborators = (size_t)count;
	c.rights = rights;
	c.n_rights = n_rights;
	c.expires_on = (char *)(a->expires ? a->expires : "");
	int rc;
	Ledger__Api__Reply *r =
	    ctl_send(a, LEDGER__API__REQUEST__BODY_DELEGATION_GRANT, &c.base, LEDGER__API__REPLY__RESULT__NOT_SET, &rc);
	free(to);
	free(items);
	return r ? print_grant(a, r) : rc;
}

static int run_revoke(const ctl_args *a, char **pos)
{
	(void)pos;
	if (!a->firm || !a->to)
		return ctl_usage_error("delegation revoke needs --firm FIRM and --to EMAIL");
	Ledger__Events__Right rights[8];
	size_t n_rights = 0;
	if (a->rights) {
		int urc = parse_rights(a->rights, rights, &n_rights);
		if (urc)
			return urc;
	}
	Ledger__Api__DelegationRevoke c = LEDGER__API__DELEGATION_REVOKE__INIT;
	c.firm_id = (char *)a->firm;
	c.collaborator = (char *)a->to;
	c.rights = rights;
	c.n_rights = n_rights;
	int rc;
	Ledger__Api__Reply *r = ctl_send(a, LEDGER__API__REQUEST__BODY_DELEGATION_REVOKE, &c.base,
	                                 LEDGER__API__REPLY__RESULT__NOT_SET, &rc);
	if (!r)
		return rc;
	char human[400];
	snprintf(human, sizeof human, "revoked %u right(s) of %s in firm %s",
	         r->result_case == LEDGER__API__REPLY__RESULT_REVOKE ? r->revoke->revoked : 0, a->to, a->firm);
	return ctl_finish_command(a, r, human);
}

static int print_delegations(const ctl_args *a, Ledger__Api__Reply *r, bool given)
{
	const Ledger__Api__DelegationList *l =
	    r->result_case == LEDGER__API__REPLY__RESULT_DELEGATIONS ? r->delegations : NULL;
	size_t n = l ? l->n_rows : 0;
	if (a->json) {
		json_out j;
		ctl_json_begin(&j, true);
		json_key(&j, "truncated"), json_bool(&j, l && l->truncated);
		JSON_ARRAY(&j, "delegations", l->rows, n, ctl_json_delegation);
		ctl_json_end(&j);
	} else if (n == 0) {
		printf("no delegation %s\n", given ? "given" : "received");
	} else if (l->truncated) {
		fprintf(stderr, "ledgerctl: only the first %zu delegations are listed: narrow with --firm\n", n);
	} else {
		for (size_t i = 0; i < n; i++) {
			const Ledger__Api__DelegationRow *d = l->rows[i];
			const char *right = proj_right_name(d->right) ? proj_right_name(d->right) : "?";
			/* The guide's wording: "Délégation de X — jesignexpert.com : signer — expire le". */
			printf("%-10s %-32s %-8s %s %s%s\n", d->firm_id, given ? d->collaborator : d->granted_by, right,
			       d->expired ? "expired on" : "expires on", d->expires_on, "");
		}
	}
	ledger__api__reply__free_unpacked(r, NULL);
	return 0;
}

static int run_given(const ctl_args *a, char **pos)
{
	(void)pos;
	Ledger__Api__DelegationsGiven q = LEDGER__API__DELEGATIONS_GIVEN__INIT;
	q.firm_id = (char *)(a->firm ? a->firm : "");
	int rc;
	Ledger__Api__Reply *r = ctl_send(a, LEDGER__API__REQUEST__BODY_DELEGATIONS_GIVEN, &q.base,
	                                 LEDGER__API__REPLY__RESULT__NOT_SET, &rc);
	return r ? print_delegations(a, r, true) : rc;
}

static int run_received(const ctl_args *a, char **pos)
{
	(void)pos;
	Ledger__Api__DelegationsReceived q = LEDGER__API__DELEGATIONS_RECEIVED__INIT;
	int rc;
	Ledger__Api__Reply *r = ctl_send(a, LEDGER__API__REQUEST__BODY_DELEGATIONS_RECEIVED, &q.base,
	                                 LEDGER__API__REPLY__RESULT__NOT_SET, &rc);
	return r ? print_delegations(a, r, false) : rc;
}

static int run_can(const ctl_args *a, char **pos)
{
	if (!a->firm)
		return ctl_usage_error("can needs --firm FIRM");
	Ledger__Api__Can q = LEDGER__API__CAN__INIT;
	q.firm_id = (char *)a->firm;
	q.actor = (char *)(a->actor ? a->actor : "");
	q.action = pos[0];
	int rc;
	Ledger__Api__Reply *r =
	    ctl_send(a, LEDGER__API__REQUEST__BODY_CAN, &q.base, LEDGER__API__REPLY__RESULT_CAN, &rc);
	if (!r)
		return rc;
	bool allowed = r->can->allowed;
	if (a->json) {
		json_out j;
		ctl_json_begin(&j, true);
		json_key(&j, "allowed"), json_bool(&j, allowed);
		json_key(&j, "reason"), json_str(&j, r->can->reason);
		ctl_json_end(&j);
	} else {
		printf("%s: %s\n", allowed ? "allowed" : "denied", r->can->reason);
	}
	ledger__api__reply__free_unpacked(r, NULL);
	return allowed ? 0 : CTL_EXIT_REFUSED;
}

static int run_registration_record(const ctl_args *a, char **pos)
{
	if (!a->step)
		return ctl_usage_error("registration record needs --step STEP");
	char name[64]; /* steps are spelled with underscores; dashes, as every other name, are accepted */
	snprintf(name, sizeof name, "%s", a->step);
	for (char *p = name; *p; p++)
		*p = (char)(*p == '-' ? '_' : *p);
	Ledger__Events__RegistrationStep step = proj_step_parse(name);
	if (step == LEDGER__EVENTS__REGISTRATION_STEP__STEP_UNSPECIFIED) {
		fprintf(stderr,
		        "ledgerctl: --step %s: one of information_confirmed, identity_verified, subscription_accepted, "
		        "terms_accepted, certificate_issued\n",
		        a->step);
		return CTL_EXIT_USAGE;
	}
	Ledger__Api__RegistrationRecord c = LEDGER__API__REGISTRATION_RECORD__INIT;
	c.subject = pos[0];
	c.step = step;
	c.provider = (char *)(a->provider ? a->provider : "");
	c.provider_reference = (char *)(a->provider_ref ? a->provider_ref : "");
	c.method = (char *)(a->method ? a->method : "");
	c.phone = (char *)(a->phone ? a->phone : "");
	c.id_document_reference = (char *)(a->id_ref ? a->id_ref : "");
	c.terms_version = (char *)(a->terms_version ? a->terms_version : "");
	c.rgpd_version = (char *)(a->rgpd_version ? a->rgpd_version : "");
	c.subscription_version = (char *)(a->subscription_version ? a->subscription_version : "");
	c.given_name = (char *)(a->given_name ? a->given_name : "");
	c.surname = (char *)(a->surname ? a->surname : "");
	char human[400];
	snprintf(human, sizeof human, "%s: %s recorded", pos[0], a->step);
	return ctl_send_command(a, LEDGER__API__REQUEST__BODY_REGISTRATION_RECORD, &c.base, human);
}

static int run_registration_show(const ctl_args *a, char **pos)
{
	(void)pos;
	Ledger__Api__RegistrationStatus q = LEDGER__API__REGISTRATION_STATUS__INIT;
	q.subject = (char *)(a->sub ? a->sub : "");
	int rc;
	Ledger__Api__Reply *r = ctl_send(a, LEDGER__API__REQUEST__BODY_REGISTRATION_STATUS, &q.base,
	                                 LEDGER__API__REPLY__RESULT_REGISTRATION, &rc);
	if (!r)
		return rc;
	const Ledger__Api__RegistrationReply *g = r->registration;
	if (a->json) {
		json_out j;
		ctl_json_begin(&j, true);
		json_key(&j, "subject"), json_str(&j, g->subject);
		json_key(&j, "complete"), json_bool(&j, g->complete);
		json_key(&j, "done"), json_arr_begin(&j);
		for (size_t i = 0; i < g->n_done; i++)
			json_str(&j, proj_step_name(g->done[i]));
		json_arr_end(&j);
		json_key(&j, "missing"), json_arr_begin(&j);
		for (size_t i = 0; i < g->n_missing; i++)
			json_str(&j, proj_step_name(g->missing[i]));
		json_arr_end(&j);
		json_key(&j, "terms_version"), json_str(&j, g->terms_version);
		json_key(&j, "rgpd_version"), json_str(&j, g->rgpd_version);
		json_key(&j, "certificate_serial"), json_str(&j, g->certificate_serial);
		json_key(&j, "erased"), json_bool(&j, g->erased);
		json_key(&j, "phone"), json_str(&j, g->phone);
		json_key(&j, "id_document_reference"), json_str(&j, g->id_document_reference);
		json_key(&j, "given_name"), json_str(&j, g->given_name);
		json_key(&j, "surname"), json_str(&j, g->surname);
		ctl_json_end(&j);
	} else {
		printf("%s: registration %s\n", g->subject, g->complete ? "complete" : "incomplete");
		for (size_t i = 0; i < g->n_done; i++)
			printf("  done     %s\n", proj_step_name(g->done[i]));
		for (size_t i = 0; i < g->n_missing; i++)
			printf("  missing  %s\n", proj_step_name(g->missing[i]));
		if (g->certificate_serial[0])
			printf("  certificate %s, issued by ledgerd's CA\n", g->certificate_serial);
		if (g->phone[0])
			printf("  phone %s, ID document %s\n", g->phone, g->id_document_reference);
		if (g->given_name[0])
			printf("  verified name: given name %s, surname %s\n", g->given_name, g->surname);
		if (g->erased)
			printf("  personal data erased\n");
	}
	ledger__api__reply__free_unpacked(r, NULL);
	return 0;
}

static int run_subject_erase(const ctl_args *a, char **pos)
{
	if (!a->reason)
		return ctl_usage_error("subject erase needs --reason TEXT (e.g. the request's reference)");
	Ledger__Api__SubjectErase c = LEDGER__API__SUBJECT_ERASE__INIT;
	c.subject = pos[0];
	c.reason = (char *)a->reason;
	char human[400];
	snprintf(human, sizeof human, "personal data of %s erased", pos[0]);
	return ctl_send_command(a, LEDGER__API__REQUEST__BODY_SUBJECT_ERASE, &c.base, human);
}

static int run_certificate_revoke(const ctl_args *a, char **pos)
{
	(void)pos;
	if (!a->sub == !a->firm || !a->reason)
		return ctl_usage_error("certificate revoke needs --sub EMAIL or --firm FIRM, and --reason REASON");
	Ledger__Api__CertificateRevoke c = LEDGER__API__CERTIFICATE_REVOKE__INIT;
	c.subject = (char *)(a->sub ? a->sub : "");
	c.firm_id = (char *)(a->firm ? a->firm : "");
	c.reason = (char *)a->reason;
	c.comment = (char *)(a->comment ? a->comment : "");
	char human[400];
	snprintf(human, sizeof human, "certificate of %s revoked (%s)", a->sub ? a->sub : a->firm, a->reason);
	return ctl_send_command(a, LEDGER__API__REQUEST__BODY_CERTIFICATE_REVOKE, &c.base, human);
}

static int run_seal_issue(const ctl_args *a, char **pos)
{
	(void)pos;
	if (!a->firm)
		return ctl_usage_error("seal issue needs --firm FIRM");
	Ledger__Api__SealIssue c = LEDGER__API__SEAL_ISSUE__INIT;
	c.firm_id = (char *)a->firm;
	char human[400];
	snprintf(human, sizeof human, "seal certificate of %s issued", a->firm);
	return ctl_send_command(a, LEDGER__API__REQUEST__BODY_SEAL_ISSUE, &c.base, human);
}

static int run_firm_set_siren(const ctl_args *a, char **pos)
{
	if (!a->siren)
		return ctl_usage_error("firm set-siren needs --siren SIREN");
	Ledger__Api__FirmSirenSet c = LEDGER__API__FIRM_SIREN_SET__INIT;
	c.firm_id = pos[0];
	c.siren = (char *)a->siren;
	char human[400];
	snprintf(human, sizeof human, "firm %s: SIREN %s recorded", pos[0], a->siren);
	return ctl_send_command(a, LEDGER__API__REQUEST__BODY_FIRM_SIREN_SET, &c.base, human);
}

const ctl_command ctl_account_commands[] = {
    {"token", 0, "sub ttl",
     "ledgerctl token --data DIR --sub EMAIL [--platform] [--ttl SECONDS]\n"
     "  Mints a bearer token from DIR's embedded identity-provider key (default ttl 3600 s,\n"
     "  at most 366 days). --platform gives it the platform role.\n",
     run_token, 0},
    {"account add", 1, "name ec",
     "ledgerctl account add EMAIL --name NAME [--ec]        (platform role)\n"
     "  Registers an account; --ec marks an expert-comptable.\n",
     run_account_add, 0},
    {"firm add", 1, "name ec siren",
     "ledgerctl firm add FIRM --name NAME --ec EMAIL --siren SIREN      (platform role)\n"
     "  Creates firm FIRM (1 to 64 of A-Z a-z 0-9 . _ -) headed by the EC account EMAIL, with\n"
     "  its seal certificate (O=NAME, organizationIdentifier=NTRFR-SIREN, C=FR). SIREN: the\n"
     "  firm's 9 digits, as the INSEE gives them (no spaces), checked by their Luhn key.\n",
     run_firm_add, 0},
    {"delegation grant", 0, "firm to import rights expires",
     "ledgerctl delegation grant --firm FIRM (--to EMAIL[,EMAIL...] | --import FILE) --rights LIST\n"
     "                           [--expires YYYY-MM-DD]\n"
     "  --import reads the first column of a .csv, .txt, .xls or .xlsx list (a header row is\n"
     "  skipped; at most 5 MiB and 10 000 addresses); each result line gives the file's row.\n"
     "  The firm's EC gives rights (sign, launch, seal, prepare) to collaborators, each of whom\n"
     "  must have an account. Valid through the end of the expiry date, Paris time; default: one\n"
     "  year from today. Granting a right held already renews it. One line per row: GRANTED,\n"
     "  INVALID_ADDRESS, NO_ACCOUNT, DUPLICATE or IS_FIRM_EC; exit 1 unless every one is GRANTED.\n",
     run_grant, 0},
    {"delegation revoke", 0, "firm to rights",
     "ledgerctl delegation revoke --firm FIRM --to EMAIL [--rights LIST]\n"
     "  The firm's EC withdraws rights (default: all of them).\n",
     run_revoke, 0},
    {"delegation given", 0, "firm",
     "ledgerctl delegation given [--firm FIRM]\n"
     "  Delegations the caller gave, as EC, in FIRM or in all its firms.\n",
     run_given, 0},
    {"delegation received", 0, "",
     "ledgerctl delegation received\n"
     "  Delegations the caller received, with their expiry dates.\n",
     run_received, 0},
    {"can", 1, "firm actor",
     "ledgerctl can --firm FIRM [--actor EMAIL] ACTION\n"
     "  Prints \"allowed: REASON\" (exit 0) or \"denied: REASON\" (exit 1). ACTION is a canonical\n"
     "  name: platform.stats platform.credit platform.firm_settings platform.dashboard\n"
     "  platform.contacts_export platform.alerts signature.configure signature.modify\n"
     "  signature.add_signers signature.remind signature.cancel signature.send\n"
     "  signature.classify signature.sign seal.configure seal.modify seal.classify seal.seal\n"
     "  signature.request_approval signature.approve signature.reject\n",
     run_can, 0},
    {"registration record", 1,
     "step provider provider-ref method phone id-ref given-name surname terms-version rgpd-version "
     "subscription-version",
     "ledgerctl registration record EMAIL --step STEP [fields]          (platform role)\n"
     "  Records a registration step done by EMAIL. Steps and their fields:\n"
     "    information_confirmed\n"
     "    identity_verified      --provider NAME --provider-ref REF --method METHOD --phone +33...\n"
     "                           --id-ref ID_DOCUMENT_REFERENCE --given-name NAME --surname NAME\n"
     "                           (as on the ID document: the certificate's givenName, surname\n"
     "                           and commonName \"GIVEN SURNAME\", at most 64 characters together;\n"
     "                           phone, ID and names are sealed, erasable)\n"
     "    subscription_accepted  --subscription-version V\n"
     "    terms_accepted         --terms-version V --rgpd-version V\n"
     "    certificate_issued     (after identity, with the names verified there) ledgerd's CA\n"
     "                           issues EMAIL's certificate now, 1095\n"
     "                           days, and records its serial, SHA-256 and end date; a certificate\n"
     "                           issued before is revoked (superseded)\n"
     "  signature.sign is allowed only once every step is done and the certificate is valid.\n",
     run_registration_record, 0},
    {"registration show", 0, "sub",
     "ledgerctl registration show [--sub EMAIL]\n"
     "  Steps done and missing; the platform and the subject also see the sealed data.\n",
     run_registration_show, 0},
    {"subject erase", 1, "reason",
     "ledgerctl subject erase EMAIL --reason TEXT                  (platform role)\n"
     "  Destroys EMAIL's personal-data key and sealed data (RGPD erasure): a collaborator's\n"
     "  registration data; an external signer's email, name, phone, the links to their signer\n"
     "  ids and their certificates beside the log. The events stay and the chain still\n"
     "  verifies; views show an erased external signer by id, as \"effacé\".\n",
     run_subject_erase, 0},
    {"certificate revoke", 0, "sub firm reason comment",
     "ledgerctl certificate revoke (--sub EMAIL | --firm FIRM) --reason REASON [--comment TEXT]\n"
     "  Revokes EMAIL's certificate (the platform role, or EMAIL itself) or FIRM's seal (the\n"
     "  platform role): it never signs again, and the CA's CRL and OCSP responder say so from\n"
     "  now on. REASON is RFC 5280's: keyCompromise (a lost phone), affiliationChanged (a\n"
     "  departure), superseded, cessationOfOperation, certificateHold, privilegeWithdrawn or\n"
     "  unspecified. A subject erase revokes the subject's certificate too.\n",
     run_certificate_revoke, 0},
    {"seal issue", 0, "firm",
     "ledgerctl seal issue --firm FIRM                              (platform role)\n"
     "  ledgerd's CA issues FIRM's seal certificate (1095 days), used for every seal of FIRM.\n"
     "  Refused while FIRM has one that is not revoked; without one, seals fail (on record).\n"
     "  The certificate holds O=FIRM's name, organizationIdentifier=NTRFR-<SIREN>, C=FR: refused\n"
     "  for a firm created before firms had a SIREN until firm set-siren gives it one.\n",
     run_seal_issue, 0},
    {"firm set-siren", 1, "siren",
     "ledgerctl firm set-siren FIRM --siren SIREN                 (platform role)\n"
     "  Records the SIREN of a firm created before firm add took one (once: a SIREN does not\n"
     "  change). Its seal certificate issued before names it by its firm id: revoke it\n"
     "  (certificate revoke --firm FIRM --reason superseded) and seal issue for one with\n"
     "  organizationIdentifier NTRFR-SIREN.\n",
     run_firm_set_siren, 0},
    {NULL, 0, NULL, NULL, NULL, 0},
};
