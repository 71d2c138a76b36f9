/*
 * platform_test: the guide's platform actions over RPC (docs/platform.md), against a real
 * ledgerd. Credits (EC only, bounds, history), preferences (EC writes, everyone reads, new
 * collections take them), statistics (month x collaborator x kind, month filters), the
 * dashboard of each role (states, mine, waiting for me, expiring soon as the clock moves,
 * credits, delegations), the contacts export (RFC 4180, the sealed phone opened, gone after
 * erasure) and alerts (expiring delegations found by the minute scan, credits low once per
 * fall, a finished collection, subscription rules). Firms are separate where a test needs
 * exact figures: JLM for most, ST for statistics, AL for credit alerts.
 *
 * Dates (months, last_used) assume the real date is not past T0's day: `ledgerd init` stamps
 * the log with the real clock, and the log's time never goes backwards.
 */
#include "../check.h"
#include "harness.h"
#include "pdf.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define JLM "JLM"
#define ST  "ST"
#define AL  "AL"

#define EC_JLM    "ec@jlm.fr"
#define LAUNCHER  "launcher@jlm.fr"
#define SIGNER    "signer@jlm.fr"
#define SEALER    "sealer@jlm.fr"
#define PREPARER  "preparer@jlm.fr"
#define STRANGER  "ec@other.fr"
#define EC_ST     "ec@st.fr"
#define LAUNCH_ST "launcher@st.fr"
#define SEAL_ST   "sealer@st.fr"
#define EC_AL     "ec@al.fr"
#define LAUNCH_AL "launcher@al.fr"

#define T0              "2026-11-29T10:00:00Z"
#define T_DECEMBER      "2026-12-01T12:00:00Z" /* T0 + 2 days 2 hours */
#define PDF_BYTES_MAX   4096u
#define WAIT_MS_MAX     30000
#define ALERT_WAIT_MS   10000 /* how long to wait for an alert at all */
#define ALERT_RAISED_MS 3000  /* "within ~2 s": the scan runs every second; slack for ASan */
#define POLL_MS         100
#define CSV_LINES_MAX   16u
#define CSV_FIELDS_MAX  8u
#define CSV_FIELD_BYTES 160u

#define E(code)        LEDGER__API__ERROR_CODE__##code
#define S(state)       LEDGER__EVENTS__COLLECTION_STATE__STATE_##state
#define KIND_SIGNATURE LEDGER__EVENTS__COLLECTION_KIND__KIND_SIGNATURE
#define KIND_SEAL      LEDGER__EVENTS__COLLECTION_KIND__KIND_SEAL
#define ALERT(kind)    LEDGER__EVENTS__ALERT_KIND__ALERT_##kind
#define ACT(what)      LEDGER__API__COLLECTION_ACT__ACT__##what

typedef Ledger__Api__CollectionSummary summary;

static harness h;
static fixture_sender to_ledgerd;

/* ----- accounts, firms, rights ----- */

static int account(const char *email, bool ec)
{
	return fixture_account(&to_ledgerd, email, "Collaborateur", ec);
}

static void register_fully(const char *who)
{
	for (int step = 1; step <= 5; step++)
		CHECK(fixture_registration_step(&to_ledgerd, who, (Ledger__Events__RegistrationStep)step) == 0,
		      "registration step %d of %s", step, who);
}

/* ----- credits and preferences ----- */

static Ledger__Api__Reply *credits_show(const char *as, const char *firm)
{
	return harness_credits_show(&h, as, firm, 0);
}

static uint64_t credits_available(const char *ec, const char *firm)
{
	Ledger__Api__Reply *r = credits_show(ec, firm);
	uint64_t n = r && r->credits ? r->credits->available : ~0ull;
	harness_code_of(r);
	return n;
}

static int preferences_update(const char *as, const Ledger__Api__PreferencesUpdate *u)
{
	return fixture_preferences(&to_ledgerd, as, u);
}

static Ledger__Api__Reply *preferences_show(const char *as)
{
	Ledger__Api__PreferencesShow q = LEDGER__API__PREFERENCES_SHOW__INIT;
	q.firm_id = (char *)JLM;
	return harness_ask(&h, as, LEDGER__API__REQUEST__BODY_PREFERENCES_SHOW, &q);
}

/* ----- collections ----- */

/* Creates a collection (expiry_days 0 and order unspecified: the firm's preferences). */
static Ledger__Api__Reply *collection_create(const char *as, const char *firm, Ledger__Events__CollectionKind kind,
                                             uint32_t expiry_days, Ledger__Events__SigningOrder order, char id[32])
{
	Ledger__Api__CollectionCreate c = LEDGER__API__COLLECTION_CREATE__INIT;
	c.firm_id = (char *)firm;
	c.kind = kind;
	c.title = (char *)"Dossier";
	c.expiry_days = expiry_days;
	c.order = order;
	Ledger__Api__Reply *r = harness_ask(&h, as, LEDGER__API__REQUEST__BODY_COLLECTION_CREATE, &c);
	bool ok = r && r->collection && r->collection->collection;
	snprintf(id, 32, "%s", ok ? r->collection->collection->collection_id : "");
	CHECK(ok, "%s creates a collection in %s: error %d", as, firm, harness_code(r));
	return r;
}

static bool create(const char *as, const char *firm, Ledger__Events__CollectionKind kind, char id[32])
{
	return harness_code_of(
	           collection_create(as, firm, kind, 0, LEDGER__EVENTS__SIGNING_ORDER__ORDER_UNSPECIFIED, id)) == 0;
}

static int document_add(const char *as, const char *firm, const char *id, const char *title)
{
	uint8_t pdf[PDF_BYTES_MAX];
	size_t n = test_pdf_text(pdf, sizeof pdf, title);
	return fixture_document_add(&to_ledgerd, as, firm, id, pdf, n, "document.pdf");
}

/* An external signer when phone is given, else an internal one. */
static int signer_add(const char *as, const char *firm, const char *id, const char *email, const char *name,
                      const char *phone)
{
	return fixture_signer_add(&to_ledgerd, as, firm, id, email, name, phone);
}

static int act(const char *as, const char *firm, const char *id, Ledger__Api__CollectionAct__Act what,
               const char *comment)
{
	return fixture_act(&to_ledgerd, as, firm, id, what, comment);
}

/* A consent as the platform reports it: after an authentication, over the current versions. */
static int report(const char *firm, const char *id, const char *signer, Ledger__Events__SignerAction action)
{
	if (action == LEDGER__EVENTS__SIGNER_ACTION__SIGNER_CONSENTED)
		return harness_consent(&h, firm, id, signer);
	bool authenticated = action == LEDGER__EVENTS__SIGNER_ACTION__SIGNER_AUTHENTICATED;
	return fixture_signer_report(
	    &to_ledgerd, firm, id,
	    &(fixture_report){.signer = signer,
	                      .action = action,
	                      .method = authenticated ? "sms" : NULL,
	                      .masked_destination = authenticated ? "+33 6** ** ** 01" : NULL,
	                      .code_sent_at_us = authenticated ? (int64_t)(h.now_s - 60) * 1000000 : 0});
}

/* A collection of one document and `externals` external signers (client<k>@<firm>.test), as
 * `as` creates it; sent by `sender` unless NULL. */
static bool collection_ready(const char *as, const char *sender, const char *firm, uint32_t externals, char id[32])
{
	if (!create(as, firm, KIND_SIGNATURE, id))
		return false;
	CHECK(document_add(as, firm, id, "Lettre de mission") == 0, "document in %s", id);
	for (uint32_t k = 1; k <= externals; k++) {
		char email[64], phone[20];
		snprintf(email, sizeof email, "client%u@%s.test", k, firm);
		snprintf(phone, sizeof phone, "+336000000%02u", k);
		CHECK(signer_add(as, firm, id, email, "Client", phone) == 0, "external signer %u of %s", k, id);
	}
	if (!sender)
		return true;
	int rc = act(sender, firm, id, ACT(SEND), "");
	CHECK(rc == 0, "%s sends %s: %d", sender, id, rc);
	return rc == 0;
}

static Ledger__Events__CollectionState state_of(const char *firm, const char *id)
{
	Ledger__Api__Reply *r = harness_collection_show(&h, "platform", firm, id);
	Ledger__Events__CollectionState s =
	    r && r->collection && r->collection->collection ? r->collection->collection->state : S(UNSPECIFIED);
	harness_code_of(r);
	return s;
}

static bool wait_state(const char *firm, const char *id, Ledger__Events__CollectionState s)
{
	for (int waited_ms = 0; waited_ms < WAIT_MS_MAX; waited_ms += POLL_MS) {
		if (state_of(firm, id) == s)
			return true;
		usleep(POLL_MS * 1000);
	}
	return false;
}

/* ----- setup ----- */

static void setup_jlm(void)
{
	const char *people[] = {LAUNCHER, SIGNER, SEALER, PREPARER};
	const Ledger__Events__Right rights[] = {LEDGER__EVENTS__RIGHT__RIGHT_LAUNCH, LEDGER__EVENTS__RIGHT__RIGHT_SIGN,
	                                        LEDGER__EVENTS__RIGHT__RIGHT_SEAL,
	                                        LEDGER__EVENTS__RIGHT__RIGHT_PREPARE};
	CHECK(account(EC_JLM, true) == 0 && account(STRANGER, true) == 0, "ECs");
	CHECK(fixture_firm(&to_ledgerd, JLM, "Cabinet", EC_JLM) == 0 &&
	          fixture_firm(&to_ledgerd, "OTHER", "Cabinet", STRANGER) == 0,
	      "firms");
	for (int i = 0; i < 4; i++) {
		CHECK(account(people[i], false) == 0, "account %s", people[i]);
		CHECK(fixture_grant(&to_ledgerd, EC_JLM, JLM, people[i], rights[i], "2027-12-31") == 0, "grant %s",
		      people[i]);
	}
	register_fully(SIGNER);
}

static void setup_other_firms(void)
{
	CHECK(account(EC_ST, true) == 0 && account(LAUNCH_ST, false) == 0 && account(SEAL_ST, false) == 0,
	      "ST accounts");
	CHECK(account(EC_AL, true) == 0 && account(LAUNCH_AL, false) == 0, "AL accounts");
	CHECK(fixture_firm(&to_ledgerd, ST, "Cabinet", EC_ST) == 0 &&
	          fixture_firm(&to_ledgerd, AL, "Cabinet", EC_AL) == 0,
	      "ST and AL");
	CHECK(fixture_grant(&to_ledgerd, EC_ST, ST, LAUNCH_ST, LEDGER__EVENTS__RIGHT__RIGHT_LAUNCH, "2027-12-31") == 0,
	      "ST launch");
	CHECK(fixture_grant(&to_ledgerd, EC_ST, ST, SEAL_ST, LEDGER__EVENTS__RIGHT__RIGHT_SEAL, "2027-12-31") == 0,
	      "ST seal");
	CHECK(fixture_grant(&to_ledgerd, EC_AL, AL, LAUNCH_AL, LEDGER__EVENTS__RIGHT__RIGHT_LAUNCH, "2027-12-31") == 0,
	      "AL launch");
	CHECK(fixture_credits(&to_ledgerd, EC_ST, ST, 100, "") == 0 &&
	          fixture_credits(&to_ledgerd, EC_AL, AL, 7, "") == 0,
	      "ST and AL credited");
}

/* ----- credits ----- */

static void check_balance(uint64_t available, uint64_t added, size_t history)
{
	Ledger__Api__Reply *r = credits_show(EC_JLM, JLM);
	const Ledger__Api__CreditsReply *c = r ? r->credits : NULL;
	CHECK(c && c->available == available && c->added == added && c->reserved == 0 && c->used == 0 &&
	          c->n_history == history,
	      "balance: available %llu added %llu, %zu history rows; got %llu, %llu, %zu",
	      (unsigned long long)available, (unsigned long long)added, history,
	      c ? (unsigned long long)c->available : 0ull, c ? (unsigned long long)c->added : 0ull,
	      c ? c->n_history : 0);
	harness_code_of(r);
}

static void test_credits(void)
{
	check_balance(0, 0, 0);
	CHECK(fixture_credits(&to_ledgerd, EC_JLM, JLM, 50, "PO-2026-001") == 0, "EC adds 50");
	check_balance(50, 50, 1);
	CHECK(fixture_credits(&to_ledgerd, EC_JLM, JLM, 30, "PO-2026-002") == 0, "EC adds 30");
	check_balance(80, 80, 2);
	Ledger__Api__Reply *r = credits_show(EC_JLM, JLM);
	const Ledger__Api__CreditEntry *e =
	    r && r->credits && r->credits->n_history == 2 ? r->credits->history[0] : NULL;
	CHECK(e && strcmp(e->kind, "added") == 0 && e->credits == 30 && strcmp(e->reference, "PO-2026-002") == 0 &&
	          strcmp(e->actor, EC_JLM) == 0 && e->seq > 0 && e->at_us >= h.now_s * 1000000,
	      "history, newest first: added 30, PO-2026-002, by the EC, not before the clock's time; got %s %lld "
	      "\"%s\" %s seq %llu "
	      "at %lld",
	      e ? e->kind : "", e ? (long long)e->credits : 0LL, e ? e->reference : "", e ? e->actor : "",
	      e ? (unsigned long long)e->seq : 0ULL, e ? (long long)e->at_us : 0LL);
	/* (not "equal": the log's time never goes backwards, and `ledgerd init` stamped the real time) */
	CHECK(e && r->credits->history[1]->credits == 50 && r->credits->history[1]->seq < e->seq, "then the 50");
	harness_code_of(r);
	CHECK(harness_code_of(credits_show(LAUNCHER, JLM)) == E(PERMISSION_DENIED),
	      "a collaborator may not see the credits");
	CHECK(fixture_credits(&to_ledgerd, EC_JLM, JLM, 0, "") == E(INVALID_ARGUMENT), "0 credits");
	CHECK(fixture_credits(&to_ledgerd, EC_JLM, JLM, 1000000001ull, "") == E(INVALID_ARGUMENT),
	      "over 1 000 000 000 credits");
	CHECK(fixture_credits(&to_ledgerd, LAUNCHER, JLM, 10, "") == E(PERMISSION_DENIED),
	      "a collaborator may not add credits");
	CHECK(fixture_credits(&to_ledgerd, STRANGER, JLM, 10, "") == E(PERMISSION_DENIED),
	      "another firm's EC may not add credits");
	check_balance(80, 80, 2);
}

/* ----- preferences ----- */

static void check_preferences(const char *as, uint32_t expiry, uint32_t reminders, Ledger__Events__SigningOrder order,
                              uint64_t threshold, const char *sender)
{
	Ledger__Api__Reply *r = preferences_show(as);
	const Ledger__Api__PreferencesReply *p = r ? r->preferences : NULL;
	CHECK(p && p->collection_expiry_days == expiry && p->reminder_every_days == reminders &&
	          p->default_order == order && p->credits_low_threshold == threshold &&
	          strcmp(p->sender_name, sender) == 0,
	      "%s reads the preferences: expected %u days, reminders %u, order %d, threshold %llu, \"%s\"; got %u, %u, "
	      "%d, "
	      "%llu, \"%s\" (error %d)",
	      as, expiry, reminders, (int)order, (unsigned long long)threshold, sender,
	      p ? p->collection_expiry_days : 0, p ? p->reminder_every_days : 0, p ? (int)p->default_order : 0,
	      p ? (unsigned long long)p->credits_low_threshold : 0ull, p ? p->sender_name : "", harness_code(r));
	harness_code_of(r);
}

static void test_preferences(void)
{
	const Ledger__Events__SigningOrder sequential = LEDGER__EVENTS__SIGNING_ORDER__ORDER_SEQUENTIAL;
	const Ledger__Events__SigningOrder parallel = LEDGER__EVENTS__SIGNING_ORDER__ORDER_PARALLEL;
	check_preferences(PREPARER, 15, 0, sequential, 10, "");
	Ledger__Api__PreferencesUpdate u = LEDGER__API__PREFERENCES_UPDATE__INIT;
	u.firm_id = (char *)JLM;
	u.collection_expiry_days = 20, u.reminder_every_days = 4, u.default_order = parallel;
	u.credits_low_threshold = 7, u.sender_name = (char *)"Cabinet JLM, Paris";
	CHECK(preferences_update(EC_JLM, &u) == 0, "EC updates the preferences");
	const char *readers[] = {EC_JLM, LAUNCHER, SIGNER, SEALER, PREPARER};
	for (int i = 0; i < 5; i++)
		check_preferences(readers[i], 20, 4, parallel, 7, "Cabinet JLM, Paris");
	CHECK(harness_code_of(preferences_show(STRANGER)) == E(PERMISSION_DENIED), "a stranger may not read them");
	char id[32];
	Ledger__Api__Reply *r = collection_create(PREPARER, JLM, KIND_SIGNATURE, 0, 0, id);
	const Ledger__Api__CollectionView *v = r && r->collection ? r->collection->collection : NULL;
	CHECK(v && v->expiry_days == 20 && v->order == parallel && v->reminder_every_days == 4,
	      "a new collection takes the preferences: expiry %u, order %d, reminders %u", v ? v->expiry_days : 0,
	      v ? (int)v->order : 0, v ? v->reminder_every_days : 0);
	harness_code_of(r);
	CHECK(preferences_update(LAUNCHER, &u) == E(PERMISSION_DENIED), "a collaborator may not update them");
	u.collection_expiry_days = 366;
	CHECK(preferences_update(EC_JLM, &u) == E(INVALID_ARGUMENT), "an expiry over 365 days");
	Ledger__Api__PreferencesUpdate only = LEDGER__API__PREFERENCES_UPDATE__INIT;
	only.firm_id = (char *)JLM;
	only.sender_name = (char *)"JLM Conseil";
	only.clear_reminders = true;
	CHECK(preferences_update(EC_JLM, &only) == 0, "EC changes the sender name and clears reminders");
	check_preferences(SEALER, 20, 0, parallel, 7, "JLM Conseil");
}

/* ----- contacts ----- */

#define ALICE      "alice@client.fr"
#define ALICE_NAME "Durand, Alice \"AD\""
#define BOB        "bob@client.fr"
/* A name a spreadsheet would run as a formula (CSV injection): the export must neutralise it. */
#define BOB_NAME     "=HYPERLINK(\"https://evil.example/\",\"Bob\")"
#define BOB_NAME_CSV "'" BOB_NAME

typedef struct csv_table {
	size_t lines;
	char field[CSV_LINES_MAX][CSV_FIELDS_MAX][CSV_FIELD_BYTES];
	size_t fields[CSV_LINES_MAX];
} csv_table;

/* Reads one RFC 4180 field at *p (quoted or not) into out; *p moves past its separator. */
static bool csv_field(const char **p, const char *end, char *out, bool *line_end)
{
	size_t n = 0;
	bool quoted = *p < end && **p == '"';
	*p += quoted;
	while (*p < end && n + 1 < CSV_FIELD_BYTES) {
		char c = *(*p)++;
		if (quoted && c == '"' && *p < end && **p == '"')
			out[n++] = *(*p)++;
		else if (quoted && c == '"')
			quoted = false;
		else if (!quoted && (c == ',' || c == '\r'))
			break;
		else
			out[n++] = c;
	}
	out[n] = '\0';
	*line_end = *p >= end || (*p)[-1] == '\r';
	if (*line_end && *p < end && **p == '\n')
		(*p)++;
	return !quoted;
}

static bool csv_parse(const ProtobufCBinaryData *csv, csv_table *t)
{
	const char *p = (const char *)csv->data, *end = p + csv->len;
	memset(t, 0, sizeof *t);
	while (p < end && t->lines < CSV_LINES_MAX) {
		bool line_end = false;
		while (!line_end && t->fields[t->lines] < CSV_FIELDS_MAX)
			if (!csv_field(&p, end, t->field[t->lines][t->fields[t->lines]++], &line_end))
				return false;
		t->lines++;
	}
	return p == end;
}

/* The line of the table whose first field is email, or -1. */
static int csv_row(const csv_table *t, const char *email)
{
	for (size_t i = 1; i < t->lines; i++)
		if (strcmp(t->field[i][0], email) == 0)
			return (int)i;
	return -1;
}

static Ledger__Api__Reply *contacts_export(const char *as)
{
	Ledger__Api__ContactsExport q = LEDGER__API__CONTACTS_EXPORT__INIT;
	q.firm_id = (char *)JLM;
	return harness_ask(&h, as, LEDGER__API__REQUEST__BODY_CONTACTS_EXPORT, &q);
}

static void check_contact(const csv_table *t, const char *email, const char *name, const char *phone, const char *count)
{
	int i = csv_row(t, email);
	CHECK(i > 0 && t->fields[i] == 6, "a row of 6 fields for %s", email);
	if (i <= 0)
		return;
	CHECK(strcmp(t->field[i][1], name) == 0, "%s: name \"%s\", got \"%s\"", email, name, t->field[i][1]);
	CHECK(strcmp(t->field[i][2], phone) == 0, "%s: phone \"%s\", got \"%s\"", email, phone, t->field[i][2]);
	CHECK(strcmp(t->field[i][3], count) == 0, "%s: %s collections, got %s", email, count, t->field[i][3]);
	CHECK(strcmp(t->field[i][4], "2026-11-29") == 0, "%s: last used 2026-11-29, got %s", email, t->field[i][4]);
	CHECK(t->field[i][5][0] == '\0', "%s: no signer id while their identity opens, got %s", email, t->field[i][5]);
}

/* The rows of erased signers: no email, "effacé", no phone, and the id events name them by. */
static size_t erased_rows(const csv_table *t)
{
	size_t n = 0;
	for (size_t i = 1; i < t->lines; i++) {
		if (t->fields[i] != 6 || t->field[i][0][0])
			continue;
		CHECK(strcmp(t->field[i][1], "effacé") == 0 && t->field[i][2][0] == '\0' &&
		          strcmp(t->field[i][3], "1") == 0 && strncmp(t->field[i][5], "s-", 2) == 0 &&
		          strlen(t->field[i][5]) == 28,
		      "an erased row: \"\", effacé, no phone, 1 collection, its signer id; got %s,%s,%s,%s,%s",
		      t->field[i][1], t->field[i][2], t->field[i][3], t->field[i][4], t->field[i][5]);
		n++;
	}
	return n;
}

/* The export as the sealer sees it, parsed; checks the documented header and the row count
 * (contacts rows). */
static bool contacts_read(csv_table *t, const char *when, size_t contacts, bool alice_open)
{
	static const char header[] = "email,name,phone,collections,last_used,signer_id\r\n";
	Ledger__Api__Reply *r = contacts_export(SEALER);
	bool ok = r && r->contacts && csv_parse(&r->contacts->csv, t);
	CHECK(ok, "%s: the export parses as RFC 4180 (error %d)", when, harness_code(r));
	if (ok) {
		const ProtobufCBinaryData *csv = &r->contacts->csv;
		CHECK(csv->len >= sizeof header - 1 && memcmp(csv->data, header, sizeof header - 1) == 0,
		      "%s: header line exactly \"email,name,phone,collections,last_used,signer_id\" CRLF "
		      "(docs/platform.md), got: %.*s",
		      when, (int)(csv->len < 80 ? csv->len : 80), (const char *)csv->data);
		CHECK(t->lines == contacts + 1 && r->contacts->contacts == contacts,
		      "%s: %zu contacts, got %zu lines, %u contacts", when, contacts, t->lines, r->contacts->contacts);
		CHECK(t->fields[0] == 6 && strcmp(t->field[0][0], "email") == 0 &&
		          strcmp(t->field[0][4], "last_used") == 0 && strcmp(t->field[0][5], "signer_id") == 0,
		      "%s: the header's fields", when);
		/* The name with a comma and quotes must travel quoted, its quotes doubled; once erased,
		 * neither it nor the email is anywhere in the export. */
		CHECK((memmem(csv->data, csv->len, "\"Durand, Alice \"\"AD\"\"\"", 22) != NULL) == alice_open &&
		          (memmem(csv->data, csv->len, ALICE, strlen(ALICE)) != NULL) == alice_open,
		      "%s: Alice's name (quoted) and email %s", when, alice_open ? "shown" : "gone");
		/* A formula travels quoted and behind a single quote: text, not a live formula. */
		CHECK(memmem(csv->data, csv->len, "\"'=HYPERLINK(", 13) != NULL &&
		          !memmem(csv->data, csv->len, ",=", 2),
		      "%s: the formula neutralised", when);
	}
	harness_code_of(r);
	return ok;
}

static void test_contacts(void)
{
	char c1[32], c2[32];
	REQUIRE_VOID(create(PREPARER, JLM, KIND_SIGNATURE, c1) && create(PREPARER, JLM, KIND_SIGNATURE, c2));
	CHECK(signer_add(PREPARER, JLM, c1, ALICE, ALICE_NAME, "+33 6 11 22 33 44") == 0, "Alice in c1");
	CHECK(signer_add(PREPARER, JLM, c1, BOB, BOB_NAME, "+33622334455") == 0, "Bob in c1");
	CHECK(signer_add(PREPARER, JLM, c1, SIGNER, NULL, NULL) == 0, "an internal signer in c1");
	CHECK(signer_add(PREPARER, JLM, c2, ALICE, ALICE_NAME, "+33611223344") == 0, "Alice in c2");
	csv_table t;
	if (contacts_read(&t, "before erasure", 2, true)) {
		/* Phones begin with +, one of the formula characters: they read '+33... (docs/platform.md). */
		check_contact(&t, ALICE, ALICE_NAME, "'+33611223344", "2");
		check_contact(&t, BOB, BOB_NAME_CSV, "'+33622334455", "1");
		CHECK(csv_row(&t, SIGNER) < 0, "internal signers are not contacts");
	}
	CHECK(harness_code_of(contacts_export(STRANGER)) == E(PERMISSION_DENIED), "a stranger may not export");
	Ledger__Api__SubjectErase e = LEDGER__API__SUBJECT_ERASE__INIT;
	e.subject = (char *)ALICE;
	e.reason = (char *)"RGPD request 2026-204";
	CHECK(harness_send(&h, "platform", LEDGER__API__REQUEST__BODY_SUBJECT_ERASE, &e) == 0, "erase Alice");
	/* Alice's two entries no longer open, so no longer merge: two rows of ids and "effacé". */
	if (contacts_read(&t, "after erasure", 3, false)) {
		CHECK(csv_row(&t, ALICE) < 0, "no row of Alice's email after erasure");
		CHECK(erased_rows(&t) == 2, "Alice's two entries show as erased, by their ids");
		check_contact(&t, BOB, BOB_NAME_CSV, "'+33622334455", "1");
	}
}

/* ----- statistics ----- */

typedef struct stat_row {
	const char *month, *who;
	Ledger__Events__CollectionKind kind;
	uint64_t created, sent, completed, signatures, seals, credits_used;
} stat_row;

static Ledger__Api__Reply *stats(const char *as, const char *from, const char *to)
{
	Ledger__Api__StatsQuery q = LEDGER__API__STATS_QUERY__INIT;
	q.firm_id = (char *)ST;
	q.from_month = (char *)from;
	q.to_month = (char *)to;
	return harness_ask(&h, as, LEDGER__API__REQUEST__BODY_STATS, &q);
}

/* rows must hold exactly the expected ones, in any order. */
static void check_rows(const char *what, Ledger__Api__StatsRow **rows, size_t n, const stat_row *want, size_t wanted)
{
	CHECK(n == wanted, "%s: %zu rows, got %zu", what, wanted, n);
	for (size_t w = 0; w < wanted; w++) {
		const stat_row *e = &want[w];
		const Ledger__Api__StatsRow *r = NULL;
		for (size_t i = 0; i < n && !r; i++)
			if (strcmp(rows[i]->month, e->month) == 0 && strcmp(rows[i]->collaborator, e->who) == 0 &&
			    rows[i]->kind == e->kind)
				r = rows[i];
		CHECK(r && r->created == e->created && r->sent == e->sent && r->completed == e->completed &&
		          r->signatures == e->signatures && r->seals == e->seals && r->credits_used == e->credits_used,
		      "%s [%s|%s|%d]: expected created %llu sent %llu completed %llu signatures %llu seals %llu "
		      "credits %llu; "
		      "got %llu %llu %llu %llu %llu %llu",
		      what, e->month, e->who, (int)e->kind, (unsigned long long)e->created, (unsigned long long)e->sent,
		      (unsigned long long)e->completed, (unsigned long long)e->signatures, (unsigned long long)e->seals,
		      (unsigned long long)e->credits_used, r ? (unsigned long long)r->created : 0ull,
		      r ? (unsigned long long)r->sent : 0ull, r ? (unsigned long long)r->completed : 0ull,
		      r ? (unsigned long long)r->signatures : 0ull, r ? (unsigned long long)r->seals : 0ull,
		      r ? (unsigned long long)r->credits_used : 0ull);
	}
}

/* November in ST: the launcher creates two, sends one (the EC sends the other); the sealer
 * seals two documents; the EC creates one that its client signs. */
static void stats_november(void)
{
	char a1[32], a2[32], a3[32], s1[32];
	CHECK(collection_ready(LAUNCH_ST, LAUNCH_ST, ST, 1, a1), "a1");
	CHECK(collection_ready(LAUNCH_ST, EC_ST, ST, 1, a3), "a3, sent by the EC");
	REQUIRE_VOID(create(SEAL_ST, ST, KIND_SEAL, s1));
	CHECK(document_add(SEAL_ST, ST, s1, "Attestation 1") == 0 &&
	          document_add(SEAL_ST, ST, s1, "Attestation 2") == 0,
	      "two documents to seal");
	CHECK(act(SEAL_ST, ST, s1, ACT(SEAL), "") == 0, "seal");
	CHECK(collection_ready(EC_ST, EC_ST, ST, 1, a2), "a2");
	CHECK(report(ST, a2, "client1@ST.test", LEDGER__EVENTS__SIGNER_ACTION__SIGNER_AUTHENTICATED) == 0,
	      "authenticated");
	CHECK(report(ST, a2, "client1@ST.test", LEDGER__EVENTS__SIGNER_ACTION__SIGNER_CONSENTED) == 0, "consented");
	CHECK(wait_state(ST, s1, S(COMPLETED)), "the seal collection completes");
	CHECK(wait_state(ST, a2, S(COMPLETED)), "the signed collection completes");
}

static void test_stats(void)
{
	static const stat_row rows[] = {
	    {"2026-11", EC_ST, KIND_SIGNATURE, 1, 2, 1, 1, 0, 1},
	    {"2026-11", LAUNCH_ST, KIND_SIGNATURE, 2, 1, 0, 0, 0, 0},
	    {"2026-11", SEAL_ST, KIND_SEAL, 1, 0, 1, 0, 2, 2},
	    {"2026-12", LAUNCH_ST, KIND_SIGNATURE, 1, 1, 0, 0, 0, 0},
	};
	static const stat_row by_month[] = {{"2026-11", "", 0, 4, 3, 2, 1, 2, 3}, {"2026-12", "", 0, 1, 1, 0, 0, 0, 0}};
	static const stat_row by_who[] = {
	    {"", EC_ST, 0, 1, 2, 1, 1, 0, 1}, {"", LAUNCH_ST, 0, 3, 2, 0, 0, 0, 0}, {"", SEAL_ST, 0, 1, 0, 1, 0, 2, 2}};
	static const stat_row by_kind[] = {{"", "", KIND_SIGNATURE, 4, 4, 1, 1, 0, 1},
	                                   {"", "", KIND_SEAL, 1, 0, 1, 0, 2, 2}};
	char a4[32];
	CHECK(collection_ready(LAUNCH_ST, LAUNCH_ST, ST, 1, a4), "a4, in December");
	Ledger__Api__Reply *r = stats(EC_ST, "", "");
	REQUIRE_VOID(r && r->stats);
	check_rows("rows", r->stats->rows, r->stats->n_rows, rows, 4);
	check_rows("by month", r->stats->by_month, r->stats->n_by_month, by_month, 2);
	check_rows("by collaborator", r->stats->by_collaborator, r->stats->n_by_collaborator, by_who, 3);
	check_rows("by kind", r->stats->by_kind, r->stats->n_by_kind, by_kind, 2);
	harness_code_of(r);
	r = stats(EC_ST, "2026-12", "");
	CHECK(r && r->stats, "from 2026-12");
	if (r && r->stats)
		check_rows("from 2026-12", r->stats->rows, r->stats->n_rows, rows + 3, 1);
	harness_code_of(r);
	r = stats(EC_ST, "", "2026-11");
	CHECK(r && r->stats, "to 2026-11");
	if (r && r->stats)
		check_rows("to 2026-11", r->stats->rows, r->stats->n_rows, rows, 3);
	harness_code_of(r);
	/* Months are checked, not compared as strings: 9999-99 and reversed ranges were served
	 * (empty) instead of refused. */
	static const char *const bad_months[] = {"9999-99", "2026-00", "2026-13",   "2026-1x",
	                                         "26-11",   "2026/11", "2026-11-01"};
	for (size_t i = 0; i < sizeof bad_months / sizeof bad_months[0]; i++) {
		CHECK(harness_code_of(stats(EC_ST, bad_months[i], "")) == E(INVALID_ARGUMENT), "from_month %s refused",
		      bad_months[i]);
		CHECK(harness_code_of(stats(EC_ST, "", bad_months[i])) == E(INVALID_ARGUMENT), "to_month %s refused",
		      bad_months[i]);
	}
	r = stats(EC_ST, "2026-12", "2026-11");
	CHECK(r && r->error && r->error->code == E(INVALID_ARGUMENT) && strcmp(r->error->field, "to_month") == 0,
	      "a reversed range is refused, naming to_month");
	harness_code_of(r);
	CHECK(harness_code_of(stats(EC_ST, "2026-11", "2026-11")) == 0, "a one-month range is served");
	CHECK(harness_code_of(stats(LAUNCH_ST, "", "")) == E(PERMISSION_DENIED),
	      "a collaborator may not see the statistics");
	CHECK(harness_code_of(stats(EC_JLM, "", "")) == E(PERMISSION_DENIED), "another firm's EC neither");
}

/* ----- dashboard ----- */

static Ledger__Api__Reply *dashboard(const char *as)
{
	Ledger__Api__DashboardQuery q = LEDGER__API__DASHBOARD_QUERY__INIT;
	q.firm_id = (char *)JLM;
	return harness_ask(&h, as, LEDGER__API__REQUEST__BODY_DASHBOARD, &q);
}

/* A list of summaries holds exactly the ids given (NULL-terminated), in any order. */
static bool holds_exactly(summary **rows, size_t n, const char *const *ids)
{
	size_t wanted = 0;
	for (; ids[wanted]; wanted++) {
		bool found = false;
		for (size_t i = 0; i < n; i++)
			found |= strcmp(rows[i]->collection_id, ids[wanted]) == 0;
		if (!found)
			return false;
	}
	return n == wanted;
}

static uint32_t state_count(const Ledger__Api__DashboardReply *d, Ledger__Events__CollectionState s)
{
	for (size_t i = 0; i < d->n_states; i++)
		if (d->states[i]->state == s)
			return d->states[i]->count;
	return 0;
}

typedef struct dash_want {
	const char *who;
	const char *const *mine, *const *waiting, *const *expiring;
	size_t delegations;
} dash_want;

static void check_dashboard(const dash_want *w)
{
	Ledger__Api__Reply *r = dashboard(w->who);
	const Ledger__Api__DashboardReply *d = r ? r->dashboard : NULL;
	CHECK(d != NULL, "%s sees the dashboard (error %d)", w->who, harness_code(r));
	if (d) {
		CHECK(state_count(d, S(DRAFT)) == 3 && state_count(d, S(PENDING_APPROVAL)) == 1 &&
		          state_count(d, S(SENT)) == 2 && d->n_states == 3,
		      "%s: 3 drafts, 1 pending approval, 2 sent; got %u, %u, %u in %zu states", w->who,
		      state_count(d, S(DRAFT)), state_count(d, S(PENDING_APPROVAL)), state_count(d, S(SENT)),
		      d->n_states);
		CHECK(holds_exactly(d->mine, d->n_mine, w->mine), "%s: mine (%zu rows)", w->who, d->n_mine);
		CHECK(holds_exactly(d->waiting_for_me, d->n_waiting_for_me, w->waiting),
		      "%s: waiting for me (%zu rows)", w->who, d->n_waiting_for_me);
		CHECK(holds_exactly(d->expiring_soon, d->n_expiring_soon, w->expiring), "%s: expiring soon (%zu rows)",
		      w->who, d->n_expiring_soon);
		CHECK(d->credits_available == credits_available(EC_JLM, JLM), "%s: the available credits (%llu)",
		      w->who, (unsigned long long)d->credits_available);
		CHECK(d->n_my_delegations == w->delegations, "%s: %zu delegations, got %zu", w->who, w->delegations,
		      d->n_my_delegations);
	}
	harness_code_of(r);
}

/* d1: the signer's turn; d2: waits for the EC's approval; d3: expires in 5 days. */
static void dashboard_collections(char d1[32], char d2[32], char d3[32])
{
	const Ledger__Events__SigningOrder sequential = LEDGER__EVENTS__SIGNING_ORDER__ORDER_SEQUENTIAL;
	harness_code_of(collection_create(LAUNCHER, JLM, KIND_SIGNATURE, 0, sequential, d1));
	CHECK(document_add(LAUNCHER, JLM, d1, "Bilan 2026") == 0, "d1 document");
	CHECK(signer_add(LAUNCHER, JLM, d1, SIGNER, NULL, NULL) == 0, "d1: the internal signer first");
	CHECK(signer_add(LAUNCHER, JLM, d1, "carol@client.fr", "Carol", "+33633445566") == 0, "d1: a client next");
	CHECK(act(LAUNCHER, JLM, d1, ACT(SEND), "") == 0, "d1 sent");
	CHECK(collection_ready(PREPARER, NULL, JLM, 1, d2), "d2");
	CHECK(act(PREPARER, JLM, d2, ACT(REQUEST_APPROVAL), "Merci de valider") == 0, "d2: approval requested");
	harness_code_of(collection_create(LAUNCHER, JLM, KIND_SIGNATURE, 5, 0, d3));
	CHECK(document_add(LAUNCHER, JLM, d3, "Avenant") == 0, "d3 document");
	CHECK(signer_add(LAUNCHER, JLM, d3, "dan@client.fr", "Dan", "+33644556677") == 0, "d3 signer");
	CHECK(act(LAUNCHER, JLM, d3, ACT(SEND), "") == 0, "d3 sent, expiring in 5 days");
}

/* JLM holds by now: a draft from the preferences test and two from the contacts test. */
static void test_dashboard(void)
{
	char d1[32], d2[32], d3[32];
	Ledger__Api__Reply *list = NULL;
	dashboard_collections(d1, d2, d3);
	const char *none[] = {NULL}, *d1_only[] = {d1, NULL}, *d2_only[] = {d2, NULL}, *d3_only[] = {d3, NULL};
	const char *launcher_mine[] = {d1, d3, NULL};
	/* The preparer's own: every draft of JLM and d2 (drafts are listed to find their ids). */
	Ledger__Api__CollectionList q = LEDGER__API__COLLECTION_LIST__INIT;
	q.firm_id = (char *)JLM;
	q.state = S(DRAFT);
	list = harness_ask(&h, EC_JLM, LEDGER__API__REQUEST__BODY_COLLECTION_LIST, &q);
	REQUIRE_VOID(list && list->collections && list->collections->n_rows == 3);
	const char *preparer_mine[] = {list->collections->rows[0]->collection_id,
	                               list->collections->rows[1]->collection_id,
	                               list->collections->rows[2]->collection_id, d2, NULL};
	const dash_want at_t0[] = {
	    {EC_JLM, none, d2_only, none, 0},         {LAUNCHER, launcher_mine, none, none, 1},
	    {SIGNER, none, d1_only, none, 1},         {SEALER, none, none, none, 1},
	    {PREPARER, preparer_mine, none, none, 1},
	};
	for (size_t i = 0; i < sizeof at_t0 / sizeof at_t0[0]; i++)
		check_dashboard(&at_t0[i]);
	CHECK(harness_code_of(dashboard(STRANGER)) == E(PERMISSION_DENIED), "a stranger may not see JLM's dashboard");
	CHECK(harness_set_clock(&h, T_DECEMBER), "clock +2 days 2 hours");
	const dash_want later[] = {{EC_JLM, none, d2_only, d3_only, 0}, {LAUNCHER, launcher_mine, none, d3_only, 1}};
	for (size_t i = 0; i < 2; i++)
		check_dashboard(&later[i]);
	harness_code_of(list);
}

/* ----- alerts ----- */

static int alert_subscribe(const char *as, const char *firm, Ledger__Events__AlertKind kind, uint32_t days,
                           uint64_t credits)
{
	Ledger__Api__AlertSubscribe c = LEDGER__API__ALERT_SUBSCRIBE__INIT;
	c.firm_id = (char *)firm;
	c.kind = kind;
	c.days = days;
	c.credits = credits;
	return harness_send(&h, as, LEDGER__API__REQUEST__BODY_ALERT_SUBSCRIBE, &c);
}

static int alert_unsubscribe(const char *as, const char *firm, Ledger__Events__AlertKind kind)
{
	Ledger__Api__AlertUnsubscribe c = LEDGER__API__ALERT_UNSUBSCRIBE__INIT;
	c.firm_id = (char *)firm;
	c.kind = kind;
	return harness_send(&h, as, LEDGER__API__REQUEST__BODY_ALERT_UNSUBSCRIBE, &c);
}

static Ledger__Api__Reply *alerts_list(const char *as, const char *firm)
{
	Ledger__Api__AlertsList q = LEDGER__API__ALERTS_LIST__INIT;
	q.firm_id = (char *)firm;
	return harness_ask(&h, as, LEDGER__API__REQUEST__BODY_ALERTS_LIST, &q);
}

/* How many alerts of kind `as` has in firm; the occasion of the newest in occasion. */
static size_t alerts_of(const char *as, const char *firm, Ledger__Events__AlertKind kind, char occasion[128])
{
	Ledger__Api__Reply *r = alerts_list(as, firm);
	size_t n = 0;
	occasion[0] = '\0';
	for (size_t i = 0; r && r->alerts && i < r->alerts->n_alerts; i++) {
		if (r->alerts->alerts[i]->kind != kind)
			continue;
		if (n++ == 0)
			snprintf(occasion, 128, "%s", r->alerts->alerts[i]->occasion);
	}
	harness_code_of(r);
	return n;
}

/* Polls until `as` has at least `count` alerts of kind; returns how many, and the time taken. */
static size_t wait_alerts(const char *as, const char *firm, Ledger__Events__AlertKind kind, size_t count,
                          int *waited_ms, char occasion[128])
{
	size_t n = 0;
	for (*waited_ms = 0; *waited_ms < ALERT_WAIT_MS; *waited_ms += POLL_MS) {
		if ((n = alerts_of(as, firm, kind, occasion)) >= count)
			break;
		usleep(POLL_MS * 1000);
	}
	return n;
}

static void test_delegation_expiring(void)
{
	char occasion[128];
	int waited_ms;
	CHECK(alert_subscribe(PREPARER, JLM, ALERT(DELEGATION_EXPIRING), 10, 0) == 0, "subscribe, 10 days");
	CHECK(fixture_grant(&to_ledgerd, EC_JLM, JLM, PREPARER, LEDGER__EVENTS__RIGHT__RIGHT_SEAL, "2026-12-06") == 0,
	      "seal, for 5 days");
	CHECK(harness_set_clock(&h, "2026-12-01T12:02:00Z"), "clock +2 minutes");
	size_t n = wait_alerts(PREPARER, JLM, ALERT(DELEGATION_EXPIRING), 1, &waited_ms, occasion);
	CHECK(n == 1, "one DELEGATION_EXPIRING alert, got %zu after %d ms", n, waited_ms);
	CHECK(waited_ms <= ALERT_RAISED_MS, "raised within ~2 s of the clock's minute: %d ms", waited_ms);
	CHECK(strstr(occasion, "delegation:") && strstr(occasion, "2026-12-06"),
	      "its occasion names the right's end: %s", occasion);
	CHECK(harness_set_clock(&h, "2026-12-01T12:05:00Z"), "clock +3 more minutes");
	usleep(2500 * 1000); /* at least two scans of the service */
	n = alerts_of(PREPARER, JLM, ALERT(DELEGATION_EXPIRING), occasion);
	CHECK(n == 1, "not raised twice: %zu alerts", n);
	Ledger__Api__Reply *r = dashboard(PREPARER);
	CHECK(r && r->dashboard && r->dashboard->n_alerts == 1, "the dashboard shows it too");
	harness_code_of(r);
}

/* In AL (7 credits): sends of 2, 1, 1; 3 added; a send of 2. Threshold 5. */
static void test_credits_low(void)
{
	char id[32], occasion[128];
	struct step {
		uint32_t cost, credits_added;
		uint64_t available;
		size_t alerts;
	} steps[] = {{2, 0, 5, 0}, {1, 0, 4, 1}, {1, 0, 3, 1}, {0, 3, 6, 1}, {2, 0, 4, 2}};
	CHECK(alert_subscribe(LAUNCH_AL, AL, ALERT(CREDITS_LOW), 0, 5) == 0, "subscribe, below 5 credits");
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		if (steps[i].cost)
			CHECK(collection_ready(LAUNCH_AL, LAUNCH_AL, AL, steps[i].cost, id), "step %zu: a send of %u",
			      i + 1, steps[i].cost);
		else
			CHECK(fixture_credits(&to_ledgerd, EC_AL, AL, steps[i].credits_added, "") == 0,
			      "step %zu: credits added", i + 1);
		uint64_t available = credits_available(EC_AL, AL);
		size_t n = alerts_of(LAUNCH_AL, AL, ALERT(CREDITS_LOW), occasion);
		CHECK(available == steps[i].available && n == steps[i].alerts,
		      "step %zu: available %llu with %zu CREDITS_LOW alerts, got %llu and %zu", i + 1,
		      (unsigned long long)steps[i].available, steps[i].alerts, (unsigned long long)available, n);
	}
}

static void test_collection_finished(void)
{
	char id[32], occasion[128];
	CHECK(alert_subscribe(LAUNCHER, JLM, ALERT(COLLECTION_FINISHED), 0, 0) == 0, "the creator subscribes");
	CHECK(alert_subscribe(SEALER, JLM, ALERT(COLLECTION_FINISHED), 0, 0) == 0, "someone else too");
	REQUIRE_VOID(collection_ready(LAUNCHER, LAUNCHER, JLM, 1, id));
	CHECK(alerts_of(LAUNCHER, JLM, ALERT(COLLECTION_FINISHED), occasion) == 0, "nothing while it runs");
	/* The reply names the command's last event: the alert it raised after the transition and the
	 * release, not the release (it did before). */
	Ledger__Api__CollectionAct c = LEDGER__API__COLLECTION_ACT__INIT;
	Ledger__Api__CollectionRef ref;
	ref = fixture_ref(JLM, id);
	c.ref = &ref;
	c.act = ACT(CANCEL);
	c.comment = (char *)"Le client a change de cabinet";
	Ledger__Api__Reply *r = harness_ask(&h, LAUNCHER, LEDGER__API__REQUEST__BODY_COLLECTION_ACT, &c);
	uint64_t head = harness_head(&h);
	CHECK(r && !r->error && r->seq == head, "cancelled; the reply names the last event, seq %llu (head %llu)",
	      (unsigned long long)(r ? r->seq : 0), (unsigned long long)head);
	ledger__api__reply__free_unpacked(r, NULL);
	CHECK(alerts_of(LAUNCHER, JLM, ALERT(COLLECTION_FINISHED), occasion) == 1 && strstr(occasion, id) &&
	          strcasestr(occasion, "cancelled"),
	      "the creator's COLLECTION_FINISHED alert: %s", occasion);
	CHECK(alerts_of(SEALER, JLM, ALERT(COLLECTION_FINISHED), occasion) == 0,
	      "not the other subscriber's collection");
}

static void test_subscriptions(void)
{
	Ledger__Api__Reply *r = alerts_list(LAUNCH_AL, AL);
	const Ledger__Api__AlertsReply *a = r ? r->alerts : NULL;
	CHECK(a && a->n_subscriptions == 1 && a->subscriptions[0]->kind == ALERT(CREDITS_LOW) &&
	          a->subscriptions[0]->credits == 5,
	      "the subscription is listed");
	harness_code_of(r);
	CHECK(alert_unsubscribe(LAUNCH_AL, AL, ALERT(CREDITS_LOW)) == 0, "unsubscribe");
	CHECK(alert_unsubscribe(LAUNCH_AL, AL, ALERT(CREDITS_LOW)) == E(NOT_FOUND), "unsubscribe twice: NOT_FOUND");
	r = alerts_list(LAUNCH_AL, AL);
	CHECK(r && r->alerts && r->alerts->n_subscriptions == 0 && r->alerts->n_alerts == 2,
	      "no subscription left; the raised alerts stay");
	CHECK(r && r->alerts && r->alerts->n_alerts == 2 && r->alerts->alerts[0]->seq > r->alerts->alerts[1]->seq,
	      "alerts newest first");
	harness_code_of(r);
	CHECK(alert_subscribe(PREPARER, JLM, ALERT(DELEGATION_EXPIRING), 0, 0) == E(INVALID_ARGUMENT), "days 0");
	CHECK(alert_subscribe(PREPARER, JLM, ALERT(COLLECTION_EXPIRING), 0, 0) == E(INVALID_ARGUMENT),
	      "days 0 (collections)");
	CHECK(alert_subscribe(PREPARER, JLM, ALERT(DELEGATION_EXPIRING), 366, 0) == E(INVALID_ARGUMENT), "days 366");
	CHECK(alert_subscribe(PREPARER, JLM, ALERT(COLLECTION_FINISHED), 3, 0) == E(INVALID_ARGUMENT),
	      "days on a finished");
	CHECK(alert_subscribe(STRANGER, JLM, ALERT(COLLECTION_FINISHED), 0, 0) == E(PERMISSION_DENIED), "a stranger");
}

int main(int argc, char **argv)
{
	REQUIRE(argc == 2, "usage: platform_test BIN_DIR");
	REQUIRE(sodium_init() >= 0, "sodium");
	REQUIRE(harness_init(&h, argv[1], T0), "init");
	REQUIRE(harness_start(&h, NULL), "start");
	to_ledgerd = harness_sender(&h);
	setup_jlm();
	setup_other_firms();
	test_credits();
	test_preferences();
	test_contacts();
	stats_november();
	test_dashboard(); /* moves the clock into December */
	test_stats();
	test_delegation_expiring();
	test_credits_low();
	test_collection_finished();
	test_subscriptions();
	CHECK(harness_stop(&h) == 0, "clean stop");
	/* Statistics, contacts, credits and alerts are folds: they must replay to the same state. */
	char out[4096];
	CHECK(harness_audit_all(&h, out, sizeof out) == 0, "the chain verifies and the projections replay: %s", out);
	harness_cleanup(&h);
	return check_report("platform_test");
}
