/*
 * ledgerctl_collections.c: the `collection ...` and `document get` commands (signature and
 * seal collections, docs/cli.md#collections). Each builds one request; what a command changes
 * is checked by ledgerd, ledgerctl only refuses what cannot be sent (exit 2).
 */
#include "domain.h"
#include "ledgerctl_common.h"
#include "ledgerctl_views.h"

#include "server.h"

#include <assert.h>
#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* --signers: at most this many addresses (a collection has far fewer signers). */
#define SIGNER_ORDER_MAX 1000
/* A document read from disk: no more than a request can carry. */
#define DOCUMENT_BYTES_MAX API_REQUEST_BYTES_MAX

/* Fills ref from --firm, the collection id and --expected-version. */
static int ref_fill(const ctl_args *a, char *id, Ledger__Api__CollectionRef *ref)
{
	int rc = ctl_need_firm(a);
	if (rc)
		return rc;
	assert(id);
	ref->firm_id = (char *)a->firm;
	ref->collection_id = id;
	if (a->expected_version)
		return ctl_parse_u64("--expected-version", a->expected_version, 1, UINT64_MAX, &ref->expected_version);
	return 0;
}

static const Ledger__Api__CollectionView *reply_view(const Ledger__Api__Reply *r)
{
	return r->result_case == LEDGER__API__REPLY__RESULT_COLLECTION && r->collection ? r->collection->collection
	                                                                                : NULL;
}

/*
 * Sends a command that changes collection id and prints the outcome. Human: "collection ID:
 * DONE (state S, version V, seq N)", or only `only` when it is not NULL (an identifier a
 * script captures). JSON: the ack, collection_id, extra_key (when not NULL) and the
 * collection as ledgerd returns it.
 */
static int change_send(const ctl_args *a, Ledger__Api__Request__BodyCase body_case, ProtobufCMessage *body,
                       const char *id, const char *done, const char *extra_key, const char *only)
{
	assert(id && (done || only));
	int rc;
	Ledger__Api__Reply *r = ctl_send(a, body_case, body, LEDGER__API__REPLY__RESULT__NOT_SET, &rc);
	if (!r)
		return rc;
	const Ledger__Api__CollectionView *v = reply_view(r);
	if (a->json) {
		json_out j;
		ctl_json_begin(&j, true);
		ctl_json_ack(&j, r);
		json_key(&j, "collection_id"), json_str(&j, v ? v->collection_id : id);
		if (extra_key)
			json_key(&j, extra_key), json_str(&j, only);
		if (v)
			json_key(&j, "collection"), ctl_json_collection(&j, v);
		ctl_json_end(&j);
	} else if (only) {
		printf("%s\n", only);
	} else {
		printf("collection %s: %s (", id, done);
		if (v)
			printf("state %s, version %llu, ", ctl_enum_name(&ctl_enum_state, v->state, '-').s,
			       (unsigned long long)v->version);
		printf("seq %llu%s)\n", (unsigned long long)r->seq, r->replayed ? ", replayed: already done" : "");
	}
	ledger__api__reply__free_unpacked(r, NULL);
	return CTL_EXIT_OK;
}

/* ----- create, show, list ----- */

static int create_parse(const ctl_args *a, Ledger__Api__CollectionCreate *c)
{
	if (!a->firm || !a->kind || !a->title)
		return ctl_usage_errorf(a,
		                        "collection create needs --firm FIRM, --kind signature|seal and --title TITLE");
	int kind, order = 0, rc = ctl_enum_parse(&ctl_enum_kind, "--kind", a->kind, &kind);
	if (!rc && a->order)
		rc = ctl_enum_parse(&ctl_enum_order, "--order", a->order, &order);
	if (!rc && a->deadline)
		rc = ctl_parse_date("--deadline", a->deadline);
	if (!rc && a->expiry_days)
		rc = ctl_parse_u32("--expiry-days", a->expiry_days, 1, UINT32_MAX, &c->expiry_days);
	if (!rc && a->reminder_days)
		rc = ctl_parse_u32("--reminder-days", a->reminder_days, 1, UINT32_MAX, &c->reminder_every_days);
	c->firm_id = (char *)a->firm;
	c->kind = (Ledger__Events__CollectionKind)kind;
	c->title = (char *)a->title;
	c->order = (Ledger__Events__SigningOrder)order;
	if (a->deadline)
		c->deadline_on = (char *)a->deadline;
	return rc;
}

static int run_create(const ctl_args *a, char **pos)
{
	(void)pos;
	Ledger__Api__CollectionCreate c = LEDGER__API__COLLECTION_CREATE__INIT;
	int rc = create_parse(a, &c);
	if (rc)
		return rc;
	Ledger__Api__Reply *r = ctl_send(a, LEDGER__API__REQUEST__BODY_COLLECTION_CREATE, &c.base,
	                                 LEDGER__API__REPLY__RESULT_COLLECTION, &rc);
	if (!r)
		return rc;
	const Ledger__Api__CollectionView *v = reply_view(r);
	if (!v || !v->collection_id[0]) {
		fprintf(stderr, "ledgerctl: ledgerd created the collection (seq %llu) but its reply does not name it\n",
		        (unsigned long long)r->seq);
		rc = CTL_EXIT_REFUSED;
	} else if (a->json) {
		json_out j;
		ctl_json_begin(&j, true);
		ctl_json_ack(&j, r);
		json_key(&j, "collection_id"), json_str(&j, v->collection_id);
		json_key(&j, "collection"), ctl_json_collection(&j, v);
		ctl_json_end(&j);
	} else {
		printf("%s\n", v->collection_id);
	}
	ledger__api__reply__free_unpacked(r, NULL);
	return rc;
}

static int run_show(const ctl_args *a, char **pos)
{
	int rc = ctl_need_firm(a);
	if (rc)
		return rc;
	Ledger__Api__CollectionShow q = LEDGER__API__COLLECTION_SHOW__INIT;
	q.firm_id = (char *)a->firm;
	q.collection_id = pos[0];
	Ledger__Api__Reply *r = ctl_send(a, LEDGER__API__REQUEST__BODY_COLLECTION_SHOW, &q.base,
	                                 LEDGER__API__REPLY__RESULT_COLLECTION, &rc);
	if (!r)
		return rc;
	const Ledger__Api__CollectionView *v = reply_view(r);
	if (!v) {
		fprintf(stderr, "ledgerctl: ledgerd's reply holds no collection\n");
		rc = CTL_EXIT_REFUSED;
	} else if (a->json) {
		json_out j;
		ctl_json_begin(&j, true);
		json_key(&j, "collection"), ctl_json_collection(&j, v);
		ctl_json_end(&j);
	} else {
		ctl_print_collection(v);
	}
	ledger__api__reply__free_unpacked(r, NULL);
	return rc;
}

static void print_list(const ctl_args *a, const Ledger__Api__CollectionListReply *l)
{
	if (a->json) {
		json_out j;
		ctl_json_begin(&j, true);
		json_key(&j, "truncated"), json_bool(&j, l->truncated);
		JSON_ARRAY(&j, "collections", l->rows, l->n_rows, ctl_json_summary);
		ctl_json_end(&j);
		return;
	}
	if (l->n_rows == 0) {
		printf("no collection\n");
		return;
	}
	ctl_print_summary_header("");
	for (size_t i = 0; i < l->n_rows; i++)
		ctl_print_summary("", l->rows[i]);
	if (l->truncated)
		fprintf(stderr, "ledgerctl: only the first %zu collections are listed: narrow with --state\n",
		        l->n_rows);
}

static int run_list(const ctl_args *a, char **pos)
{
	(void)pos;
	int state = 0, rc = ctl_need_firm(a);
	if (!rc && a->state)
		rc = ctl_enum_parse(&ctl_enum_state, "--state", a->state, &state);
	if (rc)
		return rc;
	Ledger__Api__CollectionList q = LEDGER__API__COLLECTION_LIST__INIT;
	q.firm_id = (char *)a->firm;
	q.state = (Ledger__Events__CollectionState)state;
	q.include_classified = a->all;
	Ledger__Api__Reply *r = ctl_send(a, LEDGER__API__REQUEST__BODY_COLLECTION_LIST, &q.base,
	                                 LEDGER__API__REPLY__RESULT_COLLECTIONS, &rc);
	if (!r)
		return rc;
	print_list(a, r->collections);
	ledger__api__reply__free_unpacked(r, NULL);
	return CTL_EXIT_OK;
}

/* ----- documents ----- */

static int run_add_document(const ctl_args *a, char **pos)
{
	Ledger__Api__DocumentAdd c = LEDGER__API__DOCUMENT_ADD__INIT;
	Ledger__Api__CollectionRef ref = LEDGER__API__COLLECTION_REF__INIT;
	int rc = ref_fill(a, pos[0], &ref);
	if (rc)
		return rc;
	size_t n;
	uint8_t *content = ctl_read_file("document", pos[1], DOCUMENT_BYTES_MAX, &n);
	if (!content)
		return CTL_EXIT_REFUSED;
	uint8_t sha[CTL_SHA256_BYTES];
	char hex[CTL_SHA256_HEX];
	crypto_hash_sha256(sha, content, n);
	ctl_hex_sha256((ProtobufCBinaryData){sizeof sha, sha}, hex);
	const char *base = strrchr(pos[1], '/');
	c.ref = &ref;
	c.filename = (char *)(a->name ? a->name : base ? base + 1 : pos[1]);
	c.content = (ProtobufCBinaryData){n, content};
	rc = change_send(a, LEDGER__API__REQUEST__BODY_DOCUMENT_ADD, &c.base, pos[0], NULL, "sha256", hex);
	free(content);
	return rc;
}

static int run_remove_document(const ctl_args *a, char **pos)
{
	Ledger__Api__DocumentRemove c = LEDGER__API__DOCUMENT_REMOVE__INIT;
	Ledger__Api__CollectionRef ref = LEDGER__API__COLLECTION_REF__INIT;
	uint8_t sha[CTL_SHA256_BYTES];
	int rc = ref_fill(a, pos[0], &ref);
	if (!rc)
		rc = ctl_parse_sha256("SHA256", pos[1], sha);
	if (rc)
		return rc;
	c.ref = &ref;
	c.sha256 = (ProtobufCBinaryData){sizeof sha, sha};
	char done[120];
	snprintf(done, sizeof done, "document %.16s... removed", pos[1]);
	return change_send(a, LEDGER__API__REQUEST__BODY_DOCUMENT_REMOVE, &c.base, pos[0], done, NULL, NULL);
}

/* ----- signers and fields ----- */

static int run_add_signer(const ctl_args *a, char **pos)
{
	Ledger__Api__SignerAdd c = LEDGER__API__SIGNER_ADD__INIT;
	Ledger__Api__CollectionRef ref = LEDGER__API__COLLECTION_REF__INIT;
	int rc = ref_fill(a, pos[0], &ref);
	if (rc)
		return rc;
	if (!a->email)
		return ctl_usage_errorf(a, "collection add-signer needs --email EMAIL");
	if (a->external != (a->phone != NULL))
		return ctl_usage_errorf(a, "an external signer needs --phone +33..., and only an external one");
	c.ref = &ref;
	c.email = (char *)a->email;
	c.external = a->external;
	if (a->name)
		c.name = (char *)a->name;
	if (a->given_name)
		c.given_name = (char *)a->given_name;
	if (a->surname)
		c.surname = (char *)a->surname;
	if (a->phone)
		c.phone = (char *)a->phone;
	char done[400];
	snprintf(done, sizeof done, "%s signer %s added", a->external ? "external" : "internal", a->email);
	return change_send(a, LEDGER__API__REQUEST__BODY_SIGNER_ADD, &c.base, pos[0], done, NULL, NULL);
}

static int run_remove_signer(const ctl_args *a, char **pos)
{
	Ledger__Api__SignerRemove c = LEDGER__API__SIGNER_REMOVE__INIT;
	Ledger__Api__CollectionRef ref = LEDGER__API__COLLECTION_REF__INIT;
	int rc = ref_fill(a, pos[0], &ref);
	if (rc)
		return rc;
	if (!a->email)
		return ctl_usage_errorf(a, "collection remove-signer needs --email EMAIL");
	c.ref = &ref;
	c.email = (char *)a->email;
	char done[400];
	snprintf(done, sizeof done, "signer %s removed", a->email);
	return change_send(a, LEDGER__API__REQUEST__BODY_SIGNER_REMOVE, &c.base, pos[0], done, NULL, NULL);
}

/* Parses "x0,y0,x1,y1": four finite numbers, the lower-left corner then the upper-right one. */
static int rect_parse(const char *text, float r[4])
{
	const char *p = text;
	for (int i = 0; i < 4; i++) {
		char *end;
		r[i] = strtof(p, &end);
		if (end == p || !isfinite(r[i]) || *end != (i < 3 ? ',' : '\0'))
			break;
		p = end + 1;
		if (i == 3 && r[0] < r[2] && r[1] < r[3])
			return 0;
	}
	fprintf(stderr, "ledgerctl: --rect %s: x0,y0,x1,y1 in PDF points, with x0 < x1 and y0 < y1\n", text);
	return CTL_EXIT_USAGE;
}

static int run_set_field(const ctl_args *a, char **pos)
{
	Ledger__Api__FieldSet c = LEDGER__API__FIELD_SET__INIT;
	Ledger__Api__CollectionRef ref = LEDGER__API__COLLECTION_REF__INIT;
	uint8_t sha[CTL_SHA256_BYTES];
	float rect[4];
	int rc = ref_fill(a, pos[0], &ref);
	if (!rc && (!a->signer || !a->document || !a->page || !a->rect))
		rc = ctl_usage_errorf(a, "collection set-field needs --signer EMAIL, --document SHA256, --page N and "
		                         "--rect x0,y0,x1,y1");
	if (!rc)
		rc = ctl_parse_sha256("--document", a->document, sha);
	if (!rc)
		rc = ctl_parse_u32("--page", a->page, 1, UINT32_MAX, &c.page);
	if (!rc)
		rc = rect_parse(a->rect, rect);
	if (rc)
		return rc;
	c.ref = &ref;
	c.signer = (char *)a->signer;
	c.document_sha256 = (ProtobufCBinaryData){sizeof sha, sha};
	c.x0 = rect[0], c.y0 = rect[1], c.x1 = rect[2], c.y1 = rect[3];
	char done[400];
	snprintf(done, sizeof done, "field of %s set on page %u", a->signer, c.page);
	return change_send(a, LEDGER__API__REQUEST__BODY_FIELD_SET, &c.base, pos[0], done, NULL, NULL);
}

/* ----- settings ----- */

static int run_set_order(const ctl_args *a, char **pos)
{
	Ledger__Api__CollectionModify c = LEDGER__API__COLLECTION_MODIFY__INIT;
	Ledger__Api__CollectionRef ref = LEDGER__API__COLLECTION_REF__INIT;
	int rc = ref_fill(a, pos[0], &ref);
	if (rc)
		return rc;
	if (a->sequential == a->parallel)
		return ctl_usage_errorf(a, "collection set-order needs one of --sequential and --parallel");
	char *list = a->signers ? strdup(a->signers) : NULL;
	char **items = a->signers ? calloc(SIGNER_ORDER_MAX, sizeof *items) : NULL;
	int count = 0;
	if (a->signers && (!list || !items))
		rc = CTL_EXIT_REFUSED;
	else if (a->signers && (count = ctl_split_list(list, items, SIGNER_ORDER_MAX)) <= 0)
		rc = ctl_usage_errorf(a, "--signers: 1 to %d comma-separated addresses", SIGNER_ORDER_MAX);
	if (rc == CTL_EXIT_OK) {
		c.ref = &ref;
		c.order = a->sequential ? LEDGER__EVENTS__SIGNING_ORDER__ORDER_SEQUENTIAL
		                        : LEDGER__EVENTS__SIGNING_ORDER__ORDER_PARALLEL;
		c.signer_order = items;
		c.n_signer_order = (size_t)count;
		rc = change_send(a, LEDGER__API__REQUEST__BODY_COLLECTION_MODIFY, &c.base, pos[0],
		                 a->sequential ? "order set to sequential" : "order set to parallel", NULL, NULL);
	}
	free(list);
	free(items);
	return rc;
}

static int modify_parse(const ctl_args *a, Ledger__Api__CollectionModify *c)
{
	if (!a->title && !a->deadline && !a->no_deadline && !a->expiry_days && !a->reminder_days)
		return ctl_usage_errorf(a, "collection modify: nothing to change");
	if (a->deadline && a->no_deadline)
		return ctl_usage_errorf(a, "--deadline and --no-deadline exclude each other");
	int rc = a->deadline ? ctl_parse_date("--deadline", a->deadline) : 0;
	if (!rc && a->expiry_days)
		rc = ctl_parse_u32("--expiry-days", a->expiry_days, 1, UINT32_MAX, &c->expiry_days);
	if (!rc && a->reminder_days)
		rc = ctl_parse_u32("--reminder-days", a->reminder_days, 1, UINT32_MAX, &c->reminder_every_days);
	if (a->title)
		c->title = (char *)a->title;
	if (a->deadline)
		c->deadline_on = (char *)a->deadline;
	c->clear_deadline = a->no_deadline;
	return rc;
}

static int run_modify(const ctl_args *a, char **pos)
{
	Ledger__Api__CollectionModify c = LEDGER__API__COLLECTION_MODIFY__INIT;
	Ledger__Api__CollectionRef ref = LEDGER__API__COLLECTION_REF__INIT;
	int rc = ref_fill(a, pos[0], &ref);
	if (!rc)
		rc = modify_parse(a, &c);
	if (rc)
		return rc;
	c.ref = &ref;
	return change_send(a, LEDGER__API__REQUEST__BODY_COLLECTION_MODIFY, &c.base, pos[0], "modified", NULL, NULL);
}

/* ----- lifecycle ----- */

static const char *const act_done[] = {
    [LEDGER__API__COLLECTION_ACT__ACT__REQUEST_APPROVAL] = "approval requested",
    [LEDGER__API__COLLECTION_ACT__ACT__APPROVE] = "approved",
    [LEDGER__API__COLLECTION_ACT__ACT__REJECT] = "rejected",
    [LEDGER__API__COLLECTION_ACT__ACT__SEND] = "sent",
    [LEDGER__API__COLLECTION_ACT__ACT__CANCEL] = "cancelled",
    [LEDGER__API__COLLECTION_ACT__ACT__CLASSIFY] = "classified",
    [LEDGER__API__COLLECTION_ACT__ACT__REMIND] = "reminded",
    [LEDGER__API__COLLECTION_ACT__ACT__SIGN] = "signed",
    [LEDGER__API__COLLECTION_ACT__ACT__SEAL] = "sealed",
    [LEDGER__API__COLLECTION_ACT__ACT__RETRY] = "retried",
};

/* --documents SHA256,SHA256,...: the versions a consenting signer was shown, one per document. */
static int documents_parse(const ctl_args *a, size_t *n_out, ProtobufCBinaryData **out)
{
	static uint8_t hashes[PROJ_COLLECTION_DOCUMENTS_MAX][CTL_SHA256_BYTES];
	static ProtobufCBinaryData items[PROJ_COLLECTION_DOCUMENTS_MAX];
	char copy[PROJ_COLLECTION_DOCUMENTS_MAX * (2 * CTL_SHA256_BYTES + 1) + 1];
	if (strlen(a->documents) >= sizeof copy)
		return ctl_usage_errorf(a, "--documents: at most %u SHA-256, comma-separated",
		                        PROJ_COLLECTION_DOCUMENTS_MAX);
	strcpy(copy, a->documents);
	size_t n = 0;
	char *save = NULL;
	for (char *h = strtok_r(copy, ",", &save); h; h = strtok_r(NULL, ",", &save)) {
		if (n == PROJ_COLLECTION_DOCUMENTS_MAX)
			return ctl_usage_errorf(a, "--documents: at most %u SHA-256", PROJ_COLLECTION_DOCUMENTS_MAX);
		int rc = ctl_parse_sha256("--documents", h, hashes[n]);
		if (rc)
			return rc;
		items[n] = (ProtobufCBinaryData){CTL_SHA256_BYTES, hashes[n]};
		n++;
	}
	if (n == 0)
		return ctl_usage_errorf(a, "%s", "--documents: one SHA-256 per document of the collection");
	*n_out = n;
	*out = items;
	return 0;
}

static int run_act(const ctl_args *a, char **pos)
{
	int act = a->cmd->tag;
	_Static_assert(sizeof act_done / sizeof act_done[0] == LEDGER__API__COLLECTION_ACT__ACT__RETRY + 1,
	               "a past tense per act");
	assert(act > 0 && (size_t)act < sizeof act_done / sizeof act_done[0]);
	Ledger__Api__CollectionAct c = LEDGER__API__COLLECTION_ACT__INIT;
	Ledger__Api__CollectionRef ref = LEDGER__API__COLLECTION_REF__INIT;
	int rc = ref_fill(a, pos[0], &ref);
	if (rc)
		return rc;
	c.ref = &ref;
	c.act = (Ledger__Api__CollectionAct__Act)act;
	const char *comment = act == LEDGER__API__COLLECTION_ACT__ACT__CLASSIFY ? a->folder : a->comment;
	if (comment)
		c.comment = (char *)comment;
	uint8_t sha[CTL_SHA256_BYTES];
	if (a->document) { /* only `collection retry` accepts --document */
		rc = ctl_parse_sha256("--document", a->document, sha);
		if (rc)
			return rc;
		c.sha256 = (ProtobufCBinaryData){sizeof sha, sha};
	}
	if (act == LEDGER__API__COLLECTION_ACT__ACT__SIGN) { /* only `collection sign` takes these */
		if (!a->documents || !a->consent_version)
			return ctl_usage_errorf(a, "%s", "collection sign needs --documents and --consent-version");
		c.consent_text_version = (char *)a->consent_version;
		rc = documents_parse(a, &c.n_document_sha256, &c.document_sha256);
		if (rc)
			return rc;
	}
	return change_send(a, LEDGER__API__REQUEST__BODY_COLLECTION_ACT, &c.base, pos[0], act_done[act], NULL, NULL);
}

static int report_parse(const ctl_args *a, Ledger__Api__SignerReport *c)
{
	if (!a->signer || !a->action)
		return ctl_usage_errorf(a, "collection report needs --signer EMAIL and --action ACTION");
	int action;
	int rc = ctl_enum_parse(&ctl_enum_signer_action, "--action", a->action, &action);
	if (rc)
		return rc;
	if (a->method && strcmp(a->method, "sms") != 0 && strcmp(a->method, "email") != 0)
		return ctl_usage_errorf(a, "--method %s: sms or email", a->method);
	c->signer = (char *)a->signer;
	c->action = (Ledger__Events__SignerAction)action;
	if (a->method)
		c->method = (char *)a->method;
	if (a->provider_ref)
		c->provider_reference = (char *)a->provider_ref;
	if (a->comment)
		c->comment = (char *)a->comment;
	bool authenticated = c->action == LEDGER__EVENTS__SIGNER_ACTION__SIGNER_AUTHENTICATED;
	bool consented = c->action == LEDGER__EVENTS__SIGNER_ACTION__SIGNER_CONSENTED;
	if (authenticated != (a->masked_destination && a->code_sent_at))
		return ctl_usage_errorf(a, "%s",
		                        authenticated
		                            ? "--action authenticated needs --masked-destination and --code-sent-at"
		                            : "--masked-destination and --code-sent-at are for --action authenticated");
	if (consented != (a->documents && a->consent_version))
		return ctl_usage_errorf(a, "%s",
		                        consented ? "--action consented needs --documents and --consent-version"
		                                  : "--documents and --consent-version are for --action consented");
	if (authenticated) {
		struct tm tm = {0};
		const char *end = strptime(a->code_sent_at, "%Y-%m-%dT%H:%M:%SZ", &tm);
		if (!end || *end)
			return ctl_usage_errorf(a, "--code-sent-at %s: a UTC time YYYY-MM-DDTHH:MM:SSZ",
			                        a->code_sent_at);
		c->masked_destination = (char *)a->masked_destination;
		c->code_sent_at_us = (int64_t)timegm(&tm) * 1000000;
	}
	if (consented) {
		c->consent_text_version = (char *)a->consent_version;
		return documents_parse(a, &c->n_document_sha256, &c->document_sha256);
	}
	return 0;
}

static int run_report(const ctl_args *a, char **pos)
{
	Ledger__Api__SignerReport c = LEDGER__API__SIGNER_REPORT__INIT;
	Ledger__Api__CollectionRef ref = LEDGER__API__COLLECTION_REF__INIT;
	int rc = ref_fill(a, pos[0], &ref);
	if (!rc)
		rc = report_parse(a, &c);
	if (rc)
		return rc;
	c.ref = &ref;
	char done[400];
	snprintf(done, sizeof done, "%s reported %s", a->signer,
	         ctl_enum_name(&ctl_enum_signer_action, c.action, '-').s);
	return change_send(a, LEDGER__API__REQUEST__BODY_SIGNER_REPORT, &c.base, pos[0], done, NULL, NULL);
}

/* ----- the table ----- */

#define OPT_FIRM     "  --firm FIRM               the collection's firm\n"
#define OPT_EXPECTED "  --expected-version N      change nothing (CONFLICT) unless the collection is at version N\n"
#define ACT_OPTIONS  "firm comment expected-version"
#define ACT_USAGE(verb, extra)                                                                                         \
	"ledgerctl collection " verb " --firm FIRM ID [--comment TEXT] [--expected-version N]\n" extra OPT_FIRM        \
	"  --comment TEXT            a note kept with the event (the latest one is shown)\n" OPT_EXPECTED              \
	"  example: ledgerctl --as ec@cab.fr --data DIR collection " verb " --firm CAB c42\n"

const ctl_command ctl_collection_commands[] = {
    {"collection create", 0, "firm kind title deadline order expiry-days reminder-days",
     "ledgerctl collection create --firm FIRM --kind signature|seal --title TITLE [--deadline YYYY-MM-DD]\n"
     "                            [--order sequential|parallel] [--expiry-days N] [--reminder-days N]\n"
     "  Creates a draft collection and prints its id (--json: the collection). Needs\n"
     "  signature.configure in FIRM (seal.configure for a seal collection).\n"
     "  --firm FIRM               the firm it belongs to\n"
     "  --kind signature|seal     documents signed by signers, or sealed in the firm's name\n"
     "  --title TITLE             what signers see\n"
     "  --deadline YYYY-MM-DD     a date shown to signers (informative)\n"
     "  --order sequential|parallel  one signer after the other, or all at once\n"
     "                            (default: the firm's preference)\n"
     "  --expiry-days N           days it runs once sent (default: the firm's preference, 15)\n"
     "  --reminder-days N         an automatic reminder every N days (default: the firm's preference)\n"
     "  example: id=$(ledgerctl --as prep@cab.fr --data DIR collection create --firm CAB \\\n"
     "             --kind signature --title \"Lettre de mission 2026\" --order sequential)\n",
     run_create, 0},
    {"collection show", 1, "firm",
     "ledgerctl collection show --firm FIRM ID\n"
     "  Shows a collection: state, version, settings, documents (SHA-256 as uploaded and of the\n"
     "  latest signed version, fields), signers (position, status, signed, whose turn), credits\n"
     "  reserved and used, times in ISO-8601 UTC.\n" OPT_FIRM
     "  example: ledgerctl --as prep@cab.fr --data DIR --json collection show --firm CAB c42\n",
     run_show, 0},
    {"collection list", 0, "firm state all",
     "ledgerctl collection list --firm FIRM [--state STATE] [--all]\n"
     "  Lists FIRM's collections, one line each (a * after the state: classified).\n"
     "  --firm FIRM               the firm\n"
     "  --state STATE             only those in STATE: draft, pending-approval, approved, rejected,\n"
     "                            sent, in-progress, completed, declined, cancelled, expired\n"
     "  --all                     include classified (filed) collections\n"
     "  example: ledgerctl --as ec@cab.fr --data DIR collection list --firm CAB --state sent\n",
     run_list, 0},
    {"collection add-document", 2, "firm name expected-version",
     "ledgerctl collection add-document --firm FIRM ID FILE.pdf [--name NAME] [--expected-version N]\n"
     "  Uploads a PDF into a collection being prepared and prints its SHA-256 (64 hex digits),\n"
     "  by which it is named from then on. ledgerd refuses what is not a usable PDF\n"
     "  (INVALID_DOCUMENT, with a reason: not_pdf, encrypted, corrupt, too_large).\n" OPT_FIRM
     "  --name NAME               the file name signers see (default: FILE's base name)\n" OPT_EXPECTED
     "  example: sha=$(ledgerctl --as prep@cab.fr --data DIR collection add-document --firm CAB \\\n"
     "              c42 lettre.pdf --name \"Lettre de mission.pdf\")\n",
     run_add_document, 0},
    {"collection remove-document", 2, "firm expected-version",
     "ledgerctl collection remove-document --firm FIRM ID SHA256 [--expected-version N]\n"
     "  Takes a document out of a collection being prepared; SHA256 is the one add-document\n"
     "  printed (64 hex digits). In progress, only a document whose signature failed, and not\n"
     "  the last one: its unmade signatures' credits come back, and the collection completes\n"
     "  if every other document is signed.\n" OPT_FIRM OPT_EXPECTED
     "  example: ledgerctl --as prep@cab.fr --data DIR collection remove-document --firm CAB c42 \"$sha\"\n",
     run_remove_document, 0},
    {"collection add-signer", 1, "firm email name given-name surname external phone expected-version",
     "ledgerctl collection add-signer --firm FIRM ID --email EMAIL [--name NAME]\n"
     "                                [--external --phone +33... [--given-name NAME --surname NAME]]\n"
     "                                [--expected-version N]\n"
     "  Adds a signer at the end of the signing order. An internal signer is the firm's EC or a\n"
     "  collaborator holding `sign`; an external one (a client) needs a name and a mobile phone,\n"
     "  which receives the one-time code. Needs signature.add_signers.\n"
     "  An external signer's certificate, made when they sign, carries givenName, surname and the\n"
     "  commonName \"given surname\" when --given-name and --surname are given (then --name may be\n"
     "  left out, or must equal \"given surname\"); with --name alone, the commonName only.\n" OPT_FIRM
     "  --email EMAIL             the signer's address\n"
     "  --name NAME               the signer's name (external signers; default: the account's)\n"
     "  --given-name NAME         an external signer's given name(s), with --surname (1..64 characters)\n"
     "  --surname NAME            an external signer's surname, with --given-name (together, with a\n"
     "                            space, at most 64 characters: the certificate's commonName)\n"
     "  --external                a signer from outside the firm\n"
     "  --phone +33...            the external signer's mobile phone (E.164)\n" OPT_EXPECTED
     "  example: ledgerctl --as prep@cab.fr --data DIR collection add-signer --firm CAB c42 \\\n"
     "             --email client@example.fr --given-name \"Zoé\" --surname \"Martin-Lefèvre\" \\\n"
     "             --external --phone +33612345678\n",
     run_add_signer, 0},
    {"collection remove-signer", 1, "firm email expected-version",
     "ledgerctl collection remove-signer --firm FIRM ID --email EMAIL [--expected-version N]\n"
     "  Removes a signer (and the fields placed for them) from a collection being prepared.\n" OPT_FIRM
     "  --email EMAIL             the signer's address\n" OPT_EXPECTED
     "  example: ledgerctl --as prep@cab.fr --data DIR collection remove-signer --firm CAB c42 \\\n"
     "             --email client@example.fr\n",
     run_remove_signer, 0},
    {"collection set-order", 1, "firm sequential parallel signers expected-version",
     "ledgerctl collection set-order --firm FIRM ID (--sequential | --parallel) [--signers E1,E2,...]\n"
     "                               [--expected-version N]\n"
     "  Sets how signers sign: one after the other, or all at once; --signers gives the new order\n"
     "  and must name every signer once.\n" OPT_FIRM "  --sequential              each signer after the previous one\n"
     "  --parallel                every signer at once\n"
     "  --signers E1,E2,...       the signing order (at most 1000 addresses)\n" OPT_EXPECTED
     "  example: ledgerctl --as prep@cab.fr --data DIR collection set-order --firm CAB c42 \\\n"
     "             --sequential --signers ec@cab.fr,client@example.fr\n",
     run_set_order, 0},
    {"collection modify", 1, "firm title deadline no-deadline expiry-days reminder-days expected-version",
     "ledgerctl collection modify --firm FIRM ID [--title TITLE] [--deadline YYYY-MM-DD | --no-deadline]\n"
     "                            [--expiry-days N] [--reminder-days N] [--expected-version N]\n"
     "  Changes a collection's settings; what is not given keeps its value. Needs\n"
     "  signature.modify (seal.modify).\n" OPT_FIRM "  --title TITLE             a new title\n"
     "  --deadline YYYY-MM-DD     a new informative deadline\n"
     "  --no-deadline             remove the deadline\n"
     "  --expiry-days N           days it runs once sent\n"
     "  --reminder-days N         an automatic reminder every N days\n" OPT_EXPECTED
     "  example: ledgerctl --as prep@cab.fr --data DIR collection modify --firm CAB c42 \\\n"
     "             --title \"Lettre de mission 2026 (v2)\" --no-deadline --expected-version 4\n",
     run_modify, 0},
    {"collection set-field", 1, "firm signer document page rect expected-version",
     "ledgerctl collection set-field --firm FIRM ID --signer EMAIL --document SHA256 --page N\n"
     "                               --rect x0,y0,x1,y1 [--expected-version N]\n"
     "  Places a signer's visible signature on one page of one document (ledgerd checks it\n"
     "  against the page's size). Setting it again moves it.\n" OPT_FIRM "  --signer EMAIL            whose signature\n"
     "  --document SHA256         which document (64 hex digits)\n"
     "  --page N                  the page, from 1\n"
     "  --rect x0,y0,x1,y1        lower-left and upper-right corners, in PDF points (1/72 inch)\n" OPT_EXPECTED
     "  example: ledgerctl --as prep@cab.fr --data DIR collection set-field --firm CAB c42 \\\n"
     "             --signer client@example.fr --document \"$sha\" --page 2 --rect 72,72,272,142\n",
     run_set_field, 0},
    {"collection request-approval", 1, ACT_OPTIONS,
     ACT_USAGE("request-approval",
               "  A preparer asks the firm's EC to approve and send the collection (pending-approval).\n"),
     run_act, LEDGER__API__COLLECTION_ACT__ACT__REQUEST_APPROVAL},
    {"collection approve", 1, ACT_OPTIONS,
     ACT_USAGE("approve", "  The firm's EC approves a collection pending approval; it is sent at once (credits\n"
                          "  are reserved: INSUFFICIENT_CREDITS if the firm lacks them).\n"),
     run_act, LEDGER__API__COLLECTION_ACT__ACT__APPROVE},
    {"collection reject", 1, ACT_OPTIONS,
     ACT_USAGE("reject", "  The firm's EC rejects a collection pending approval; the comment says why. The next\n"
                         "  change brings it back to draft.\n"),
     run_act, LEDGER__API__COLLECTION_ACT__ACT__REJECT},
    {"collection send", 1, ACT_OPTIONS,
     ACT_USAGE("send", "  Sends (launches) a collection without approval: needs signature.send (sign or launch).\n"
                       "  Reserves the credits it needs (INSUFFICIENT_CREDITS if the firm lacks them).\n"),
     run_act, LEDGER__API__COLLECTION_ACT__ACT__SEND},
    {"collection remind", 1, ACT_OPTIONS,
     ACT_USAGE("remind", "  Reminds the signers who have not signed yet (in turn, when sequential).\n"), run_act,
     LEDGER__API__COLLECTION_ACT__ACT__REMIND},
    {"collection cancel", 1, ACT_OPTIONS,
     ACT_USAGE("cancel", "  Cancels a collection that has not ended; reserved credits are released. Needs\n"
                         "  signature.cancel (sign or launch).\n"),
     run_act, LEDGER__API__COLLECTION_ACT__ACT__CANCEL},
    {"collection retry", 1, "firm document expected-version",
     "ledgerctl collection retry --firm FIRM ID [--document SHA256] [--expected-version N]\n"
     "  Tries again the signatures that failed (collection show: FAILED) of a collection in\n"
     "  progress, once their cause is fixed: every failed document's, or only --document's, which\n"
     "  must be one whose last signing attempt failed. Needs what cancel needs (signature.cancel:\n"
     "  sign or launch; seal.modify for a seal collection).\n" OPT_FIRM
     "  --document SHA256         only this document (64 hex digits, as add-document printed)\n" OPT_EXPECTED
     "  example: ledgerctl --as ec@cab.fr --data DIR collection retry --firm CAB c42 --document \"$sha\"\n",
     run_act, LEDGER__API__COLLECTION_ACT__ACT__RETRY},
    {"collection classify", 1, "firm folder expected-version",
     "ledgerctl collection classify --firm FIRM ID [--folder NAME] [--expected-version N]\n"
     "  Files (archives) an ended collection: `collection list` omits it unless --all.\n" OPT_FIRM
     "  --folder NAME             the folder it is filed in\n" OPT_EXPECTED
     "  example: ledgerctl --as prep@cab.fr --data DIR collection classify --firm CAB c42 --folder 2026\n",
     run_act, LEDGER__API__COLLECTION_ACT__ACT__CLASSIFY},
    {"collection sign", 1, ACT_OPTIONS " documents consent-version",
     "ledgerctl collection sign --firm FIRM ID --documents SHA256,... --consent-version V\n"
     "                          [--comment TEXT] [--expected-version N]\n"
     "  The caller, an internal signer whose turn it is, signs every document (advanced\n"
     "  signature). Needs signature.sign, a complete registration, and an authentication of the\n"
     "  last 15 minutes reported by the platform (`collection report --action authenticated`);\n"
     "  the signature is the signer's consent, over the versions named (docs/collections.md#consent).\n" OPT_FIRM
     "  --documents SHA256,...    the version of each document the signer was shown (as uploaded,\n"
     "                            or as last signed: collection show lists both)\n"
     "  --consent-version V       the version of the consent text shown\n"
     "  --comment TEXT            a comment kept with the act\n" OPT_EXPECTED
     "  example: ledgerctl --as ec@cab.fr --data DIR collection sign --firm CAB c42 --documents 9f86...\n"
     "           --consent-version cgu-signature-v3\n",
     run_act, LEDGER__API__COLLECTION_ACT__ACT__SIGN},
    {"collection seal", 1, ACT_OPTIONS,
     ACT_USAGE("seal", "  Seals every document of a seal collection in the firm's name. Needs seal.seal.\n"), run_act,
     LEDGER__API__COLLECTION_ACT__ACT__SEAL},
    {"collection report", 1,
     "firm signer action method provider-ref masked-destination code-sent-at documents consent-version comment "
     "expected-version",
     "ledgerctl collection report --firm FIRM ID --signer EMAIL --action ACTION [--method sms|email]\n"
     "                            [--provider-ref REF] [--masked-destination TEXT --code-sent-at TIME]\n"
     "                            [--documents SHA256,... --consent-version V] [--comment TEXT]\n"
     "                            [--expected-version N]\n"
     "  The platform (front-end) reports what a signer did. Platform role. An external signer's\n"
     "  consent is taken only after an authentication of the last 15 minutes, and only over the\n"
     "  versions that are to be signed (docs/collections.md#consent).\n" OPT_FIRM
     "  --signer EMAIL            the signer\n"
     "  --action ACTION           invited, authenticated, consented or declined (declined ends the\n"
     "                            collection; a signature is `collection sign`)\n"
     "  --method sms|email        how the one-time code was checked (authenticated)\n"
     "  --provider-ref REF        the provider's reference of the step\n"
     "  --masked-destination TEXT  authenticated: where the code went, masked with '*'\n"
     "                            (\"+33 6** ** ** 78\")\n"
     "  --code-sent-at TIME       authenticated: when it was sent, YYYY-MM-DDTHH:MM:SSZ (UTC)\n"
     "  --documents SHA256,...    consented: the version of each document the signer was shown\n"
     "                            (as uploaded, or as last signed: collection show lists both)\n"
     "  --consent-version V       consented: the version of the consent text shown\n"
     "  --comment TEXT            e.g. the reason of a refusal\n" OPT_EXPECTED
     "  example: ledgerctl --platform --data DIR collection report --firm CAB c42 \\\n"
     "             --signer client@example.fr --action authenticated --method sms --provider-ref otp-981 \\\n"
     "             --masked-destination \"+33 6** ** ** 78\" --code-sent-at 2026-12-04T09:14:02Z\n",
     run_report, 0},
    {NULL, 0, NULL, NULL, NULL, 0},
};
