/*
 * ledgerctl: the command-line client of ledgerd. One subcommand per command or query, each
 * with --help; --json for scripts; exit 0 ok, 1 refused or failed, 2 usage.
 */
#include "client.h"
#include "json.h"
#include "projections.h"
#include "server.h"
#include "token.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EXIT_REFUSED 1
#define EXIT_USAGE 2
#define LIST_ITEMS_MAX PROJ_GRANT_COLLABORATORS_MAX

typedef struct args {
	const char *server, *token, *as, *data, *request_id, *sub, *name, *firm, *to, *rights, *expires, *actor, *ec_email;
	const char *import_file;
	/* registration */
	const char *step, *provider, *provider_ref, *method, *phone, *id_ref, *terms_version, *rgpd_version,
		*subscription_version, *certificate_serial, *not_after, *reason;
	bool platform, json, ec, help;
	long ttl_s;
	int timeout_ms;
	char *words[4];
	int nwords;
} args;

typedef struct command {
	const char *name; /* "delegation grant" */
	int positional;   /* arguments after the words */
	const char *usage;
	int (*run)(const args *a, char **pos);
} command;

static const char global_usage[] =
	"global options (before or after the command):\n"
	"  --server URL       ledgerd's address (default: $LEDGER_SERVER, else ipc://DIR/ledgerd.sock\n"
	"                     with --data DIR)\n"
	"  --token TOKEN      bearer token (default: $LEDGER_TOKEN)\n"
	"  --as EMAIL --data DIR   mint a short-lived token for EMAIL from DIR's identity-provider key\n"
	"  --platform --data DIR   mint a token with the platform role\n"
	"  --json             machine-readable output on stdout\n"
	"  --request-id ID    the command's request id (default: random); reuse it to retry safely\n"
	"  --timeout MS       how long to wait for a reply (default 10000)\n"
	"exit status: 0 ok, 1 refused or failed (the message says why), 2 usage error\n";

static int usage_error(const char *what)
{
	fprintf(stderr, "ledgerctl: %s (see ledgerctl --help)\n", what);
	return EXIT_USAGE;
}

/* ----- connection and credentials ----- */

static bool mint(const char *data, const char *sub, bool platform, long ttl_s, char *out)
{
	uint8_t sk[crypto_sign_SECRETKEYBYTES];
	const char *why;
	if (!api_key_load(data, "idp.sk", sk, sizeof sk, &why)) {
		fprintf(stderr, "ledgerctl: %s/keys/idp.sk: %s\n", data, why);
		return false;
	}
	api_claims c = {.iat = time(NULL), .platform = platform};
	c.exp = c.iat + ttl_s;
	snprintf(c.sub, sizeof c.sub, "%s", sub);
	snprintf(c.aud, sizeof c.aud, "%s", API_TOKEN_AUDIENCE);
	bool ok = api_token_mint(&c, sk, out, API_TOKEN_BYTES_MAX);
	sodium_memzero(sk, sizeof sk);
	if (!ok)
		fprintf(stderr, "ledgerctl: cannot mint a token for \"%.64s\" (subject 1 to 254 bytes)\n", sub);
	return ok;
}

/* Sends req (filling token and request id) and prints transport errors. */
static Ledger__Api__Reply *call(const args *a, Ledger__Api__Request *req, int *exit_code)
{
	static char token[API_TOKEN_BYTES_MAX];
	char url[PATH_MAX + 32], rid[33];
	*exit_code = EXIT_USAGE;
	const char *server = a->server ? a->server : getenv("LEDGER_SERVER");
	if (!server && a->data) {
		char abs[PATH_MAX];
		if (!realpath(a->data, abs)) {
			fprintf(stderr, "ledgerctl: --data %s: %s\n", a->data, strerror(errno));
			*exit_code = EXIT_REFUSED;
			return NULL;
		}
		snprintf(url, sizeof url, "ipc://%s/ledgerd.sock", abs);
		server = url;
	}
	if (!server) {
		usage_error("no server: give --server URL, $LEDGER_SERVER or --data DIR");
		return NULL;
	}
	const char *tok = a->token ? a->token : getenv("LEDGER_TOKEN");
	if (!tok && (a->as || a->platform) && a->data) {
		if (!mint(a->data, a->as ? a->as : "platform", a->platform, 300, token)) {
			*exit_code = EXIT_REFUSED;
			return NULL;
		}
		tok = token;
	}
	if (!tok) {
		usage_error("no credentials: give --token, $LEDGER_TOKEN, --as EMAIL --data DIR or --platform --data DIR");
		return NULL;
	}
	req->token = (char *)tok;
	if (a->request_id) {
		req->request_id = (char *)a->request_id;
	} else {
		api_request_id(rid);
		req->request_id = rid;
	}
	const char *why;
	*exit_code = EXIT_REFUSED;
	api_client *c = api_client_open(server, a->timeout_ms, &why);
	if (!c) {
		fprintf(stderr, "ledgerctl: cannot connect to %s: %s\n", server, why);
		return NULL;
	}
	Ledger__Api__Reply *reply = NULL;
	bool ok = api_client_call(c, req, &reply, &why);
	api_client_close(c);
	if (!ok) {
		fprintf(stderr, "ledgerctl: %s: %s\n", server, why);
		return NULL;
	}
	*exit_code = 0;
	return reply;
}

static const char *error_code_name(Ledger__Api__ErrorCode code)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(&ledger__api__error_code__descriptor, (int)code);
	return v ? v->name : "UNKNOWN";
}

/* Prints a typed error (human on stderr, JSON on stdout); returns 1. */
static int print_error(const args *a, const Ledger__Api__Reply *r)
{
	if (a->json) {
		json_out j;
		json_begin(&j, stdout);
		json_obj_begin(&j);
		json_key(&j, "ok"), json_bool(&j, false);
		json_key(&j, "error"), json_obj_begin(&j);
		json_key(&j, "code"), json_str(&j, error_code_name(r->error->code));
		json_key(&j, "message"), json_str(&j, r->error->message);
		json_key(&j, "field"), json_str(&j, r->error->field);
		json_obj_end(&j);
		json_obj_end(&j);
		json_end(&j);
	} else {
		fprintf(stderr, "ledgerctl: %s: %s\n", error_code_name(r->error->code), r->error->message);
	}
	return EXIT_REFUSED;
}

/* Common tail of a command: error, or the committed seq. */
static int finish_command(const args *a, Ledger__Api__Reply *r, const char *human)
{
	int rc = 0;
	if (r->error) {
		rc = print_error(a, r);
	} else if (a->json) {
		json_out j;
		char hash[2 * 32 + 1];
		ledger_hex(r->hash.data, r->hash.len <= 32 ? r->hash.len : 32, hash);
		json_begin(&j, stdout);
		json_obj_begin(&j);
		json_key(&j, "ok"), json_bool(&j, true);
		json_key(&j, "seq"), json_u64(&j, r->seq);
		json_key(&j, "hash"), json_str(&j, hash);
		json_key(&j, "replayed"), json_bool(&j, r->replayed);
		json_key(&j, "request_id"), json_str(&j, r->request_id);
		if (r->revoke)
			json_key(&j, "revoked"), json_u64(&j, r->revoke->revoked);
		json_obj_end(&j);
		json_end(&j);
	} else {
		printf("%s (seq %llu%s)\n", human, (unsigned long long)r->seq, r->replayed ? ", replayed: already done" : "");
	}
	ledger__api__reply__free_unpacked(r, NULL);
	return rc;
}

/* ----- commands ----- */

static int run_token(const args *a, char **pos)
{
	(void)pos;
	if (!a->data || !a->sub)
		return usage_error("token needs --data DIR and --sub EMAIL");
	if (a->ttl_s < 1 || a->ttl_s > API_TOKEN_TTL_SECONDS_MAX)
		return usage_error("--ttl: from 1 second to 366 days");
	char token[API_TOKEN_BYTES_MAX];
	if (!mint(a->data, a->sub, a->platform, a->ttl_s, token))
		return EXIT_REFUSED;
	if (a->json)
		printf("{\"token\":\"%s\"}\n", token); /* base64url and dots: nothing to escape */
	else
		printf("%s\n", token);
	return 0;
}

static int run_account_add(const args *a, char **pos)
{
	if (!a->name)
		return usage_error("account add needs --name NAME");
	Ledger__Api__Request req = LEDGER__API__REQUEST__INIT;
	Ledger__Api__AccountAdd c = LEDGER__API__ACCOUNT_ADD__INIT;
	c.email = pos[0];
	c.name = (char *)a->name;
	c.is_ec = a->ec;
	req.body_case = LEDGER__API__REQUEST__BODY_ACCOUNT_ADD;
	req.account_add = &c;
	int rc;
	Ledger__Api__Reply *r = call(a, &req, &rc);
	if (!r)
		return rc;
	char human[400];
	snprintf(human, sizeof human, "account %s registered%s", pos[0], a->ec ? " (expert-comptable)" : "");
	return finish_command(a, r, human);
}

static int run_firm_add(const args *a, char **pos)
{
	if (!a->name || !a->ec_email)
		return usage_error("firm add needs --name NAME and --ec EMAIL");
	Ledger__Api__Request req = LEDGER__API__REQUEST__INIT;
	Ledger__Api__FirmAdd c = LEDGER__API__FIRM_ADD__INIT;
	c.firm_id = pos[0];
	c.name = (char *)a->name;
	c.ec_email = (char *)a->ec_email;
	req.body_case = LEDGER__API__REQUEST__BODY_FIRM_ADD;
	req.firm_add = &c;
	int rc;
	Ledger__Api__Reply *r = call(a, &req, &rc);
	if (!r)
		return rc;
	char human[400];
	snprintf(human, sizeof human, "firm %s created, EC %s", pos[0], a->ec_email);
	return finish_command(a, r, human);
}

/* Splits a comma-separated list in place into items (at most max). -1 if too many. */
static int split_list(char *s, char **items, int max)
{
	int n = 0;
	for (char *save = NULL, *tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (n == max)
			return -1;
		items[n++] = tok;
	}
	return n;
}

static int parse_rights(const char *list, Ledger__Events__Right *rights, size_t *n)
{
	char buf[256];
	char *items[8];
	if (strlen(list) >= sizeof buf)
		return usage_error("--rights: a list among sign,launch,seal,prepare");
	snprintf(buf, sizeof buf, "%s", list);
	int count = split_list(buf, items, 8);
	if (count < 0)
		return usage_error("--rights: a list among sign,launch,seal,prepare");
	for (int i = 0; i < count; i++) {
		rights[i] = proj_right_parse(items[i]);
		if (rights[i] == LEDGER__EVENTS__RIGHT__RIGHT_UNSPECIFIED) {
			fprintf(stderr, "ledgerctl: --rights: unknown right \"%s\" (rights: sign, launch, seal, prepare)\n", items[i]);
			return EXIT_USAGE;
		}
	}
	*n = (size_t)count;
	return 0;
}

static const char *grant_status_name(Ledger__Api__GrantResult__Status s)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(&ledger__api__grant_result__status__descriptor, (int)s);
	return v ? v->name : "UNKNOWN";
}

static int print_grant(const args *a, Ledger__Api__Reply *r)
{
	int rc = 0;
	const Ledger__Api__GrantReply *g = r->grant;
	for (size_t i = 0; g && i < g->n_results; i++)
		if (g->results[i]->status != LEDGER__API__GRANT_RESULT__STATUS__GRANTED)
			rc = EXIT_REFUSED;
	if (a->json) {
		json_out j;
		json_begin(&j, stdout);
		json_obj_begin(&j);
		char hash[2 * 32 + 1];
		ledger_hex(r->hash.data, r->hash.len <= 32 ? r->hash.len : 32, hash);
		json_key(&j, "ok"), json_bool(&j, rc == 0);
		json_key(&j, "seq"), json_u64(&j, r->seq);
		json_key(&j, "hash"), json_str(&j, hash);
		json_key(&j, "replayed"), json_bool(&j, r->replayed);
		json_key(&j, "request_id"), json_str(&j, r->request_id);
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
		json_obj_end(&j);
		json_end(&j);
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

/* Reads a whole file of at most max bytes. NULL, with a message, if it cannot. */
static uint8_t *read_file(const char *path, size_t max, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "ledgerctl: --import %s: %s\n", path, strerror(errno));
		return NULL;
	}
	uint8_t *buf = malloc(max + 1);
	*n = buf ? fread(buf, 1, max + 1, f) : 0;
	bool bad = !buf || ferror(f) || *n > max;
	fclose(f);
	if (bad) {
		fprintf(stderr, "ledgerctl: --import %s: %s\n", path, buf ? "larger than 5 MiB, the limit of an imported list" : "out of memory");
		free(buf);
		return NULL;
	}
	return buf;
}

/* delegation grant --import FILE: ledgerd reads the list; rows come back with their numbers. */
static int run_import(const args *a, Ledger__Events__Right *rights, size_t n_rights)
{
	size_t n;
	uint8_t *content = read_file(a->import_file, 5u * 1024u * 1024u, &n);
	if (!content)
		return EXIT_REFUSED;
	const char *base = strrchr(a->import_file, '/');
	Ledger__Api__Request req = LEDGER__API__REQUEST__INIT;
	Ledger__Api__DelegationImport c = LEDGER__API__DELEGATION_IMPORT__INIT;
	c.firm_id = (char *)a->firm;
	c.filename = (char *)(base ? base + 1 : a->import_file);
	c.content.data = content;
	c.content.len = n;
	c.rights = rights;
	c.n_rights = n_rights;
	c.expires_on = (char *)(a->expires ? a->expires : "");
	req.body_case = LEDGER__API__REQUEST__BODY_DELEGATION_IMPORT;
	req.delegation_import = &c;
	int rc;
	Ledger__Api__Reply *r = call(a, &req, &rc);
	free(content);
	if (!r)
		return rc;
	if (r->error) {
		rc = print_error(a, r);
		ledger__api__reply__free_unpacked(r, NULL);
		return rc;
	}
	return print_grant(a, r);
}

static int run_grant(const args *a, char **pos)
{
	(void)pos;
	if (!a->firm || (!a->to == !a->import_file) || !a->rights)
		return usage_error("delegation grant needs --firm FIRM, one of --to EMAIL[,EMAIL...] or --import FILE, and --rights LIST");
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
		return EXIT_REFUSED;
	}
	int count = split_list(to, items, LIST_ITEMS_MAX);
	if (count <= 0) {
		free(to);
		free(items);
		return usage_error("--to: 1 to 1000 comma-separated addresses");
	}
	Ledger__Api__Request req = LEDGER__API__REQUEST__INIT;
	Ledger__Api__DelegationGrant c = LEDGER__API__DELEGATION_GRANT__INIT;
	c.firm_id = (char *)a->firm;
	c.collaborators = items;
	c.n_collaborators = (size_t)count;
	c.rights = rights;
	c.n_rights = n_rights;
	c.expires_on = (char *)(a->expires ? a->expires : "");
	req.body_case = LEDGER__API__REQUEST__BODY_DELEGATION_GRANT;
	req.delegation_grant = &c;
	int rc;
	Ledger__Api__Reply *r = call(a, &req, &rc);
	free(to);
	free(items);
	if (!r)
		return rc;
	if (r->error) {
		rc = print_error(a, r);
		ledger__api__reply__free_unpacked(r, NULL);
		return rc;
	}
	return print_grant(a, r);
}

static int run_revoke(const args *a, char **pos)
{
	(void)pos;
	if (!a->firm || !a->to)
		return usage_error("delegation revoke needs --firm FIRM and --to EMAIL");
	Ledger__Events__Right rights[8];
	size_t n_rights = 0;
	if (a->rights) {
		int urc = parse_rights(a->rights, rights, &n_rights);
		if (urc)
			return urc;
	}
	Ledger__Api__Request req = LEDGER__API__REQUEST__INIT;
	Ledger__Api__DelegationRevoke c = LEDGER__API__DELEGATION_REVOKE__INIT;
	c.firm_id = (char *)a->firm;
	c.collaborator = (char *)a->to;
	c.rights = rights;
	c.n_rights = n_rights;
	req.body_case = LEDGER__API__REQUEST__BODY_DELEGATION_REVOKE;
	req.delegation_revoke = &c;
	int rc;
	Ledger__Api__Reply *r = call(a, &req, &rc);
	if (!r)
		return rc;
	char human[400];
	snprintf(human, sizeof human, "revoked %u right(s) of %s in firm %s", r->revoke ? r->revoke->revoked : 0, a->to, a->firm);
	return finish_command(a, r, human);
}

static int print_delegations(const args *a, Ledger__Api__Reply *r, bool given)
{
	if (r->error) {
		int rc = print_error(a, r);
		ledger__api__reply__free_unpacked(r, NULL);
		return rc;
	}
	const Ledger__Api__DelegationList *l = r->delegations;
	size_t n = l ? l->n_rows : 0;
	if (a->json) {
		json_out j;
		json_begin(&j, stdout);
		json_obj_begin(&j);
		json_key(&j, "ok"), json_bool(&j, true);
		json_key(&j, "truncated"), json_bool(&j, l && l->truncated);
		json_key(&j, "delegations"), json_arr_begin(&j);
		for (size_t i = 0; i < n; i++) {
			const Ledger__Api__DelegationRow *d = l->rows[i];
			json_obj_begin(&j);
			json_key(&j, "firm"), json_str(&j, d->firm_id);
			json_key(&j, "firm_name"), json_str(&j, d->firm_name);
			json_key(&j, "collaborator"), json_str(&j, d->collaborator);
			json_key(&j, "granted_by"), json_str(&j, d->granted_by);
			json_key(&j, "right"), json_str(&j, proj_right_name(d->right) ? proj_right_name(d->right) : "?");
			json_key(&j, "expires_on"), json_str(&j, d->expires_on);
			json_key(&j, "expired"), json_bool(&j, d->expired);
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_obj_end(&j);
		json_end(&j);
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

static int run_given(const args *a, char **pos)
{
	(void)pos;
	Ledger__Api__Request req = LEDGER__API__REQUEST__INIT;
	Ledger__Api__DelegationsGiven q = LEDGER__API__DELEGATIONS_GIVEN__INIT;
	q.firm_id = (char *)(a->firm ? a->firm : "");
	req.body_case = LEDGER__API__REQUEST__BODY_DELEGATIONS_GIVEN;
	req.delegations_given = &q;
	int rc;
	Ledger__Api__Reply *r = call(a, &req, &rc);
	return r ? print_delegations(a, r, true) : rc;
}

static int run_received(const args *a, char **pos)
{
	(void)pos;
	Ledger__Api__Request req = LEDGER__API__REQUEST__INIT;
	Ledger__Api__DelegationsReceived q = LEDGER__API__DELEGATIONS_RECEIVED__INIT;
	req.body_case = LEDGER__API__REQUEST__BODY_DELEGATIONS_RECEIVED;
	req.delegations_received = &q;
	int rc;
	Ledger__Api__Reply *r = call(a, &req, &rc);
	return r ? print_delegations(a, r, false) : rc;
}

static int run_can(const args *a, char **pos)
{
	if (!a->firm)
		return usage_error("can needs --firm FIRM");
	Ledger__Api__Request req = LEDGER__API__REQUEST__INIT;
	Ledger__Api__Can q = LEDGER__API__CAN__INIT;
	q.firm_id = (char *)a->firm;
	q.actor = (char *)(a->actor ? a->actor : "");
	q.action = pos[0];
	req.body_case = LEDGER__API__REQUEST__BODY_CAN;
	req.can = &q;
	int rc;
	Ledger__Api__Reply *r = call(a, &req, &rc);
	if (!r)
		return rc;
	if (r->error || !r->can) {
		rc = r->error ? print_error(a, r) : EXIT_REFUSED;
		ledger__api__reply__free_unpacked(r, NULL);
		return rc;
	}
	bool allowed = r->can->allowed;
	if (a->json) {
		json_out j;
		json_begin(&j, stdout);
		json_obj_begin(&j);
		json_key(&j, "ok"), json_bool(&j, true);
		json_key(&j, "allowed"), json_bool(&j, allowed);
		json_key(&j, "reason"), json_str(&j, r->can->reason);
		json_obj_end(&j);
		json_end(&j);
	} else {
		printf("%s: %s\n", allowed ? "allowed" : "denied", r->can->reason);
	}
	ledger__api__reply__free_unpacked(r, NULL);
	return allowed ? 0 : EXIT_REFUSED;
}

static int run_head(const args *a, char **pos)
{
	(void)pos;
	Ledger__Api__Request req = LEDGER__API__REQUEST__INIT;
	Ledger__Api__Head q = LEDGER__API__HEAD__INIT;
	req.body_case = LEDGER__API__REQUEST__BODY_HEAD;
	req.head = &q;
	int rc;
	Ledger__Api__Reply *r = call(a, &req, &rc);
	if (!r)
		return rc;
	if (r->error || !r->head) {
		rc = r->error ? print_error(a, r) : EXIT_REFUSED;
		ledger__api__reply__free_unpacked(r, NULL);
		return rc;
	}
	char hash[65];
	ledger_hex(r->head->hash.data, r->head->hash.len <= 32 ? r->head->hash.len : 32, hash);
	if (a->json)
		printf("{\"ok\":true,\"seq\":%llu,\"hash\":\"%s\"}\n", (unsigned long long)r->head->seq, hash);
	else
		printf("head seq %llu hash %s\n", (unsigned long long)r->head->seq, hash);
	ledger__api__reply__free_unpacked(r, NULL);
	return 0;
}

static int run_registration_record(const args *a, char **pos)
{
	if (!a->step)
		return usage_error("registration record needs --step STEP");
	Ledger__Events__RegistrationStep step = proj_step_parse(a->step);
	if (step == LEDGER__EVENTS__REGISTRATION_STEP__STEP_UNSPECIFIED) {
		fprintf(stderr, "ledgerctl: --step %s: one of information_confirmed, identity_verified, subscription_accepted, "
		                "terms_accepted, certificate_issued\n", a->step);
		return EXIT_USAGE;
	}
	Ledger__Api__Request req = LEDGER__API__REQUEST__INIT;
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
	c.certificate_serial = (char *)(a->certificate_serial ? a->certificate_serial : "");
	c.certificate_not_after = (char *)(a->not_after ? a->not_after : "");
	req.body_case = LEDGER__API__REQUEST__BODY_REGISTRATION_RECORD;
	req.registration_record = &c;
	int rc;
	Ledger__Api__Reply *r = call(a, &req, &rc);
	if (!r)
		return rc;
	char human[400];
	snprintf(human, sizeof human, "%s: %s recorded", pos[0], a->step);
	return finish_command(a, r, human);
}

static int run_registration_show(const args *a, char **pos)
{
	(void)pos;
	Ledger__Api__Request req = LEDGER__API__REQUEST__INIT;
	Ledger__Api__RegistrationStatus q = LEDGER__API__REGISTRATION_STATUS__INIT;
	q.subject = (char *)(a->sub ? a->sub : "");
	req.body_case = LEDGER__API__REQUEST__BODY_REGISTRATION_STATUS;
	req.registration_status = &q;
	int rc;
	Ledger__Api__Reply *r = call(a, &req, &rc);
	if (!r)
		return rc;
	if (r->error || !r->registration) {
		rc = r->error ? print_error(a, r) : EXIT_REFUSED;
		ledger__api__reply__free_unpacked(r, NULL);
		return rc;
	}
	const Ledger__Api__RegistrationReply *g = r->registration;
	if (a->json) {
		json_out j;
		json_begin(&j, stdout);
		json_obj_begin(&j);
		json_key(&j, "ok"), json_bool(&j, true);
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
		json_obj_end(&j);
		json_end(&j);
	} else {
		printf("%s: registration %s\n", g->subject, g->complete ? "complete" : "incomplete");
		for (size_t i = 0; i < g->n_done; i++)
			printf("  done     %s\n", proj_step_name(g->done[i]));
		for (size_t i = 0; i < g->n_missing; i++)
			printf("  missing  %s\n", proj_step_name(g->missing[i]));
		if (g->phone[0])
			printf("  phone %s, ID document %s\n", g->phone, g->id_document_reference);
		if (g->erased)
			printf("  personal data erased\n");
	}
	ledger__api__reply__free_unpacked(r, NULL);
	return 0;
}

static int run_subject_erase(const args *a, char **pos)
{
	if (!a->reason)
		return usage_error("subject erase needs --reason TEXT (e.g. the request's reference)");
	Ledger__Api__Request req = LEDGER__API__REQUEST__INIT;
	Ledger__Api__SubjectErase c = LEDGER__API__SUBJECT_ERASE__INIT;
	c.subject = pos[0];
	c.reason = (char *)a->reason;
	req.body_case = LEDGER__API__REQUEST__BODY_SUBJECT_ERASE;
	req.subject_erase = &c;
	int rc;
	Ledger__Api__Reply *r = call(a, &req, &rc);
	if (!r)
		return rc;
	char human[400];
	snprintf(human, sizeof human, "personal data of %s erased", pos[0]);
	return finish_command(a, r, human);
}

static const command commands[] = {
	{"token", 0, "ledgerctl token --data DIR --sub EMAIL [--platform] [--ttl SECONDS]\n"
	             "  Mints a bearer token from DIR's embedded identity-provider key (default ttl 3600 s,\n"
	             "  at most 366 days). --platform gives it the platform role.\n", run_token},
	{"account add", 1, "ledgerctl account add EMAIL --name NAME [--ec]        (platform role)\n"
	                   "  Registers an account; --ec marks an expert-comptable.\n", run_account_add},
	{"firm add", 1, "ledgerctl firm add FIRM --name NAME --ec EMAIL         (platform role)\n"
	                "  Creates firm FIRM (1 to 64 of A-Z a-z 0-9 . _ -) headed by the EC account EMAIL.\n", run_firm_add},
	{"delegation grant", 0,
	 "ledgerctl delegation grant --firm FIRM (--to EMAIL[,EMAIL...] | --import FILE) --rights LIST\n"
	 "                           [--expires YYYY-MM-DD]\n"
	 "  --import reads the first column of a .csv, .txt, .xls or .xlsx list (a header row is\n"
	 "  skipped; at most 5 MiB and 10 000 addresses); each result line gives the file's row.\n"
	 "  The firm's EC gives rights (sign, launch, seal, prepare) to collaborators, each of whom\n"
	 "  must have an account. Valid through the end of the expiry date, Paris time; default: one\n"
	 "  year from today. Granting a right held already renews it. One line per row: GRANTED,\n"
	 "  INVALID_ADDRESS, NO_ACCOUNT, DUPLICATE or IS_FIRM_EC; exit 1 unless every one is GRANTED.\n",
	 run_grant},
	{"delegation revoke", 0, "ledgerctl delegation revoke --firm FIRM --to EMAIL [--rights LIST]\n"
	                         "  The firm's EC withdraws rights (default: all of them).\n", run_revoke},
	{"delegation given", 0, "ledgerctl delegation given [--firm FIRM]\n"
	                        "  Delegations the caller gave, as EC, in FIRM or in all its firms.\n", run_given},
	{"delegation received", 0, "ledgerctl delegation received\n"
	                           "  Delegations the caller received, with their expiry dates.\n", run_received},
	{"can", 1, "ledgerctl can --firm FIRM [--actor EMAIL] ACTION\n"
	           "  Prints \"allowed: REASON\" (exit 0) or \"denied: REASON\" (exit 1). ACTION is a canonical\n"
	           "  name: platform.stats platform.credit platform.firm_settings platform.dashboard\n"
	           "  platform.contacts_export platform.alerts signature.configure signature.modify\n"
	           "  signature.add_signers signature.remind signature.cancel signature.send\n"
	           "  signature.classify signature.sign seal.configure seal.modify seal.classify seal.seal\n"
	           "  signature.request_approval signature.approve signature.reject\n", run_can},
	{"head", 0, "ledgerctl head\n  The log's last seq and hash.\n", run_head},
	{"registration record", 1,
	 "ledgerctl registration record EMAIL --step STEP [fields]          (platform role)\n"
	 "  Records a registration step done by EMAIL. Steps and their fields:\n"
	 "    information_confirmed\n"
	 "    identity_verified      --provider NAME --provider-ref REF --method METHOD --phone +33...\n"
	 "                           --id-ref ID_DOCUMENT_REFERENCE   (phone and ID are sealed, erasable)\n"
	 "    subscription_accepted  --subscription-version V\n"
	 "    terms_accepted         --terms-version V --rgpd-version V\n"
	 "    certificate_issued     --certificate-serial SERIAL --not-after YYYY-MM-DD (after identity)\n"
	 "  signature.sign is allowed only once every step is done and the certificate is valid.\n",
	 run_registration_record},
	{"registration show", 0, "ledgerctl registration show [--sub EMAIL]\n"
	                         "  Steps done and missing; the platform and the subject also see the sealed data.\n",
	 run_registration_show},
	{"subject erase", 1, "ledgerctl subject erase EMAIL --reason TEXT                  (platform role)\n"
	                     "  Destroys EMAIL's personal-data key and sealed data (RGPD erasure). The events stay\n"
	                     "  and the chain still verifies; the personal data can no longer be read.\n",
	 run_subject_erase},
};
#define COMMAND_COUNT (sizeof commands / sizeof commands[0])

static void print_usage(FILE *f)
{
	fprintf(f, "usage: ledgerctl [global options] COMMAND [options]\n\ncommands:\n");
	for (size_t i = 0; i < COMMAND_COUNT; i++) {
		const char *u = commands[i].usage;
		fprintf(f, "  %.*s\n", (int)(strchr(u, '\n') - u), u);
	}
	fprintf(f, "\n%s", global_usage);
	fprintf(f, "`ledgerctl COMMAND --help` details one command.\n");
}

int main(int argc, char **argv)
{
	args a = {.ttl_s = 3600, .timeout_ms = 10000};
	static const struct option options[] = {
		{"server", required_argument, NULL, 'S'},  {"token", required_argument, NULL, 'T'},
		{"as", required_argument, NULL, 'A'},      {"data", required_argument, NULL, 'D'},
		{"platform", no_argument, NULL, 'P'},      {"json", no_argument, NULL, 'J'},
		{"request-id", required_argument, NULL, 'R'}, {"timeout", required_argument, NULL, 'W'},
		{"sub", required_argument, NULL, 's'},     {"ttl", required_argument, NULL, 't'},
		{"name", required_argument, NULL, 'n'},    {"ec", optional_argument, NULL, 'e'},
		{"firm", required_argument, NULL, 'f'},    {"to", required_argument, NULL, 'o'},
		{"rights", required_argument, NULL, 'r'},  {"expires", required_argument, NULL, 'x'},
		{"actor", required_argument, NULL, 'a'},   {"help", no_argument, NULL, 'h'},
		{"step", required_argument, NULL, 1},      {"provider", required_argument, NULL, 2},
		{"provider-ref", required_argument, NULL, 3}, {"method", required_argument, NULL, 4},
		{"phone", required_argument, NULL, 5},     {"id-ref", required_argument, NULL, 6},
		{"terms-version", required_argument, NULL, 7}, {"rgpd-version", required_argument, NULL, 8},
		{"subscription-version", required_argument, NULL, 9}, {"certificate-serial", required_argument, NULL, 10},
		{"not-after", required_argument, NULL, 11}, {"reason", required_argument, NULL, 12},
		{"import", required_argument, NULL, 13},
		{NULL, 0, NULL, 0},
	};
	int c;
	char *end;
	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case 'S': a.server = optarg; break;
		case 'T': a.token = optarg; break;
		case 'A': a.as = optarg; break;
		case 'D': a.data = optarg; break;
		case 'P': a.platform = true; break;
		case 'J': a.json = true; break;
		case 'R': a.request_id = optarg; break;
		case 'W':
			a.timeout_ms = (int)strtol(optarg, &end, 10);
			if (*end || a.timeout_ms < 1)
				return usage_error("--timeout: milliseconds, at least 1");
			break;
		case 's': a.sub = optarg; break;
		case 't':
			a.ttl_s = strtol(optarg, &end, 10);
			if (*end)
				return usage_error("--ttl: seconds");
			break;
		case 'n': a.name = optarg; break;
		case 'e':
			/* --ec alone: the account is an EC (account add); --ec EMAIL: the firm's EC. */
			if (optarg)
				a.ec_email = optarg;
			else if (optind < argc && strchr(argv[optind], '@') && argv[optind][0] != '-')
				a.ec_email = argv[optind++];
			else
				a.ec = true;
			break;
		case 'f': a.firm = optarg; break;
		case 'o': a.to = optarg; break;
		case 'r': a.rights = optarg; break;
		case 'x': a.expires = optarg; break;
		case 'a': a.actor = optarg; break;
		case 'h': a.help = true; break;
		case 1: a.step = optarg; break;
		case 2: a.provider = optarg; break;
		case 3: a.provider_ref = optarg; break;
		case 4: a.method = optarg; break;
		case 5: a.phone = optarg; break;
		case 6: a.id_ref = optarg; break;
		case 7: a.terms_version = optarg; break;
		case 8: a.rgpd_version = optarg; break;
		case 9: a.subscription_version = optarg; break;
		case 10: a.certificate_serial = optarg; break;
		case 11: a.not_after = optarg; break;
		case 12: a.reason = optarg; break;
		case 13: a.import_file = optarg; break;
		default: return usage_error("bad option");
		}
	}
	char **rest = argv + optind;
	int nrest = argc - optind;
	if (nrest == 0) {
		print_usage(a.help ? stdout : stderr);
		return a.help ? 0 : EXIT_USAGE;
	}
	for (size_t i = 0; i < COMMAND_COUNT; i++) {
		const command *cmd = &commands[i];
		char name[64];
		int words = 0;
		size_t len = 0;
		/* Match the command's words against the first arguments. */
		for (const char *p = cmd->name; *p && words < nrest;) {
			size_t w = strcspn(p, " ");
			if (strlen(rest[words]) != w || strncmp(rest[words], p, w) != 0)
				break;
			len += w + 1;
			words++;
			p += w;
			if (*p == ' ')
				p++;
		}
		if (len != strlen(cmd->name) + 1)
			continue;
		snprintf(name, sizeof name, "%s", cmd->name);
		if (a.help) {
			fputs(cmd->usage, stdout);
			fputs("\n", stdout);
			fputs(global_usage, stdout);
			return 0;
		}
		char *moved[2];
		if (strcmp(cmd->name, "account add") == 0 && a.ec_email && nrest - words == 0) {
			/* `account add --ec EMAIL ...`: the address was taken as --ec's value. */
			moved[0] = (char *)a.ec_email;
			moved[1] = NULL;
			a.ec = true;
			a.ec_email = NULL;
			rest = moved;
			nrest = words = 0;
			nrest = 1;
		}
		if (nrest - words != cmd->positional) {
			fprintf(stderr, "ledgerctl: %s takes %d argument(s)\nusage: %s", name, cmd->positional, cmd->usage);
			return EXIT_USAGE;
		}
		if (sodium_init() < 0)
			return EXIT_REFUSED;
		return cmd->run(&a, rest + words);
	}
	fprintf(stderr, "ledgerctl: unknown command \"%s\"\n", rest[0]);
	print_usage(stderr);
	return EXIT_USAGE;
}
