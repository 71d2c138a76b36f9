/*
 * random_test: a seeded random walk through the rights model over RPC. Grants (valid, to
 * unknown addresses, by the wrong EC), revokes, clock jumps that make delegations expire
 * (and the expirer write their events), and `can` questions whose answers are checked against
 * an independent model of the rules; collections, credits and alerts mixed in, whose
 * outcomes must be legal and whose credits must balance. After each phase, `ledger-audit verify` and `replay`
 * must find the chain intact and the live projections equal to those rebuilt from event 1.
 *
 *   random_test BIN_DIR [--seed N] [--phases N] [--ops N]
 */
#include "../check.h"
#include "harness.h"
#include "pdf.h"
#include "projections.h"

#include <sodium.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FIRMS  3
#define PEOPLE 12 /* collaborators with an account */
#define GHOSTS 3  /* addresses without one */
#define RIGHTS 4

static harness h;
static uint64_t rng_state;

/* xorshift64*: small, seedable, the same sequence everywhere. */
static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

static unsigned pick(unsigned n)
{
	return (unsigned)(rnd() % n);
}

/* The model: expiry instant of each (firm, person, right), 0 when not held. */
static int64_t model[FIRMS][PEOPLE][RIGHTS];
static int64_t now_s;
static unsigned answered_allowed, answered_denied;

static void ec_of(unsigned firm, char *out)
{
	sprintf(out, "ec%u@firm%u.fr", firm, firm);
}
static void person(unsigned i, char *out)
{
	sprintf(out, "p%u@cabinet.fr", i);
}
static void firm_id(unsigned firm, char *out)
{
	sprintf(out, "F%u", firm);
}

static void set_clock(int64_t t)
{
	char text[32];
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
	harness_set_clock(&h, text);
	now_s = t;
}

static void setup(void)
{
	char email[64], id[16];
	fixture_sender to = harness_sender(&h);
	for (unsigned i = 0; i < FIRMS + PEOPLE; i++) {
		if (i < FIRMS)
			ec_of(i, email);
		else
			person(i - FIRMS, email);
		CHECK(fixture_account(&to, email, "Someone", i < FIRMS) == 0, "account %s", email);
	}
	for (unsigned f = 0; f < FIRMS; f++) {
		firm_id(f, id);
		ec_of(f, email);
		CHECK(fixture_firm(&to, id, "Firm", email) == 0, "firm %s", id);
	}
}

/* The rights a mask names (bit r: right r + 1) into rights; how many. */
static size_t rights_of(unsigned mask, Ledger__Events__Right rights[RIGHTS])
{
	size_t n = 0;
	for (unsigned r = 0; r < RIGHTS; r++)
		if (mask & (1u << r))
			rights[n++] = (Ledger__Events__Right)(r + 1);
	return n;
}

/* A grant of random rights to 1-3 random addresses, usually by the firm's EC. */
static void op_grant(void)
{
	unsigned f = pick(FIRMS), n = 1 + pick(3), mask = 1 + pick(15);
	bool by_ec = pick(10) != 0;
	char ec[64], id[16], emails[3][64], date[11];
	char *to[3];
	unsigned who[3];
	ec_of(by_ec ? f : (f + 1) % FIRMS, ec);
	firm_id(f, id);
	for (unsigned i = 0; i < n; i++) {
		who[i] = pick(PEOPLE + GHOSTS);
		if (who[i] < PEOPLE)
			person(who[i], emails[i]);
		else
			sprintf(emails[i], "ghost%u@cabinet.fr", who[i]);
		to[i] = emails[i];
	}
	proj_paris_date(now_s * 1000000, 0, date);
	int64_t end_us;
	unsigned days = pick(60);
	proj_paris_date((now_s + (int64_t)days * 86400) * 1000000, 0, date);
	proj_date_end_us(date, &end_us);
	Ledger__Events__Right rights[RIGHTS];
	size_t n_rights = rights_of(mask, rights);
	Ledger__Api__DelegationGrant c = LEDGER__API__DELEGATION_GRANT__INIT;
	c.firm_id = id;
	c.collaborators = to;
	c.n_collaborators = n;
	c.rights = rights;
	c.n_rights = n_rights;
	c.expires_on = date;
	int code = harness_send(&h, ec, LEDGER__API__REQUEST__BODY_DELEGATION_GRANT, &c);
	CHECK(code == (by_ec ? 0 : LEDGER__API__ERROR_CODE__PERMISSION_DENIED), "grant by %s in %s: code %d", ec, id,
	      code);
	if (!by_ec)
		return;
	for (unsigned i = 0; i < n; i++)
		for (unsigned r = 0; who[i] < PEOPLE && r < RIGHTS; r++)
			if (mask & (1u << r))
				model[f][who[i]][r] = end_us / 1000000;
}

static void op_revoke(void)
{
	unsigned f = pick(FIRMS), p = pick(PEOPLE), mask = pick(16); /* 0: every right */
	char ec[64], id[16], email[64];
	ec_of(f, ec);
	firm_id(f, id);
	person(p, email);
	Ledger__Events__Right rights[RIGHTS];
	size_t n_rights = rights_of(mask, rights);
	bool held = false;
	for (unsigned r = 0; r < RIGHTS; r++)
		held |= (mask == 0 || (mask & (1u << r))) && model[f][p][r];
	Ledger__Api__DelegationRevoke c = LEDGER__API__DELEGATION_REVOKE__INIT;
	c.firm_id = id;
	c.collaborator = email;
	c.rights = rights;
	c.n_rights = n_rights;
	int code = harness_send(&h, ec, LEDGER__API__REQUEST__BODY_DELEGATION_REVOKE, &c);
	/* An expired delegation is still listed, so it can still be revoked. */
	CHECK(code == (held ? 0 : LEDGER__API__ERROR_CODE__NOT_FOUND), "revoke %s in %s: code %d", email, id, code);
	for (unsigned r = 0; r < RIGHTS; r++)
		if (mask == 0 || (mask & (1u << r)))
			model[f][p][r] = 0;
}

/* What the model says of `can`. */
static bool model_allows(unsigned f, int p, size_t action)
{
	if (strcmp(proj_action_name(action), "signature.sign") == 0)
		return false; /* no registration is recorded in this walk */
	if (p < 0)
		return true; /* the EC */
	unsigned rights = proj_action_rights(action);
	for (unsigned r = 0; r < RIGHTS; r++)
		if ((rights & (1u << r)) && model[f][p][r] > now_s)
			return true;
	return false;
}

static void op_can(void)
{
	unsigned f = pick(FIRMS);
	int p = pick(8) == 0 ? -1 : (int)pick(PEOPLE);
	size_t action = pick((unsigned)proj_action_count());
	char who[64], id[16];
	if (p < 0)
		ec_of(f, who);
	else
		person((unsigned)p, who);
	firm_id(f, id);
	char reason[256];
	int allowed = harness_can(&h, who, id, NULL, proj_action_name(action), reason, sizeof reason);
	bool expected = model_allows(f, p, action);
	*(expected ? &answered_allowed : &answered_denied) += 1;
	CHECK(allowed == expected, "can %s %s in %s: expected %s, got %s (%s)", who, proj_action_name(action), id,
	      expected ? "allowed" : "denied",
	      allowed < 0 ? "error"
	      : allowed   ? "allowed"
	                  : "denied",
	      reason);
}

/* ----- collections, credits and alerts: no model of their own, but every outcome must be a
 * legal one, the credits must balance, and replay must rebuild what the service folded. ----- */

#define COLLECTIONS_MAX 512

static struct {
	unsigned firm;
	char id[24];
} cols[COLLECTIONS_MAX];
static size_t n_cols;
static unsigned collection_ok, collection_refused, documents_added;

/* The codes a well-formed collection command may get in a random walk. */
static bool legal_refusal(int code)
{
	return code == LEDGER__API__ERROR_CODE__PERMISSION_DENIED ||
	       code == LEDGER__API__ERROR_CODE__INVALID_TRANSITION ||
	       code == LEDGER__API__ERROR_CODE__FAILED_PRECONDITION ||
	       code == LEDGER__API__ERROR_CODE__INSUFFICIENT_CREDITS ||
	       code == LEDGER__API__ERROR_CODE__ALREADY_EXISTS || code == LEDGER__API__ERROR_CODE__NOT_FOUND;
}

static void count_outcome(const char *what, int code)
{
	CHECK(code == 0 || legal_refusal(code), "%s: unexpected code %d", what, code);
	if (code == 0)
		collection_ok++;
	else
		collection_refused++;
}

static void op_credit(void)
{
	unsigned f = pick(FIRMS);
	char ec[64], id[16];
	ec_of(f, ec);
	firm_id(f, id);
	fixture_sender to = harness_sender(&h);
	CHECK(fixture_credits(&to, ec, id, 1 + pick(6), "random") == 0, "credits add in %s", id);
}

static void op_collection_create(void)
{
	unsigned f = pick(FIRMS);
	char who[64], id[16];
	if (pick(2))
		ec_of(f, who);
	else
		person(pick(PEOPLE), who);
	firm_id(f, id);
	Ledger__Api__CollectionCreate c = LEDGER__API__COLLECTION_CREATE__INIT;
	c.firm_id = id;
	c.kind = pick(4) ? LEDGER__EVENTS__COLLECTION_KIND__KIND_SIGNATURE : LEDGER__EVENTS__COLLECTION_KIND__KIND_SEAL;
	c.title = (char *)"Random collection";
	c.expiry_days = 1 + pick(5);
	c.reminder_every_days = pick(3);
	Ledger__Api__Reply *r = harness_ask(&h, who, LEDGER__API__REQUEST__BODY_COLLECTION_CREATE, &c);
	int code = r ? harness_code(r) : -1;
	count_outcome("collection create", code);
	if (code == 0 && n_cols < COLLECTIONS_MAX && r->collection && r->collection->collection) {
		cols[n_cols].firm = f;
		snprintf(cols[n_cols].id, sizeof cols[n_cols].id, "%s", r->collection->collection->collection_id);
		n_cols++;
	}
	ledger__api__reply__free_unpacked(r, NULL);
}

/* Fills ref with a random known collection and the firm's EC in who. */
static bool pick_collection(Ledger__Api__CollectionRef *ref, char firm[16], char who[64])
{
	if (n_cols == 0)
		return false;
	size_t i = pick((unsigned)n_cols);
	firm_id(cols[i].firm, firm);
	ec_of(cols[i].firm, who);
	ref->firm_id = firm;
	ref->collection_id = cols[i].id;
	return true;
}

static void op_collection_fill(void)
{
	Ledger__Api__CollectionRef ref = LEDGER__API__COLLECTION_REF__INIT;
	char firm[16], ec[64], text[64], email[64];
	if (!pick_collection(&ref, firm, ec))
		return;
	uint8_t pdf[2048];
	snprintf(text, sizeof text, "document %llu", (unsigned long long)rnd());
	size_t n = test_pdf_text(pdf, sizeof pdf, text);
	fixture_sender to = harness_sender(&h);
	int code = fixture_document_add(&to, ec, firm, ref.collection_id, pdf, n, "random.pdf");
	count_outcome("document add", code);
	documents_added += code == 0;
	snprintf(email, sizeof email, "client%u@clients.fr", pick(20));
	count_outcome("signer add",
	              fixture_signer_add(&to, ec, ref.firm_id, ref.collection_id, email, "Client", "+33612345678"));
}

static void op_collection_act(void)
{
	static const Ledger__Api__CollectionAct__Act acts[] = {
	    LEDGER__API__COLLECTION_ACT__ACT__SEND,    LEDGER__API__COLLECTION_ACT__ACT__REQUEST_APPROVAL,
	    LEDGER__API__COLLECTION_ACT__ACT__APPROVE, LEDGER__API__COLLECTION_ACT__ACT__REJECT,
	    LEDGER__API__COLLECTION_ACT__ACT__CANCEL,  LEDGER__API__COLLECTION_ACT__ACT__REMIND,
	    LEDGER__API__COLLECTION_ACT__ACT__SEAL,    LEDGER__API__COLLECTION_ACT__ACT__CLASSIFY,
	};
	Ledger__Api__CollectionRef ref = LEDGER__API__COLLECTION_REF__INIT;
	char firm[16], ec[64];
	if (!pick_collection(&ref, firm, ec))
		return;
	Ledger__Api__CollectionAct a = LEDGER__API__COLLECTION_ACT__INIT;
	a.ref = &ref;
	a.act = acts[pick(sizeof acts / sizeof acts[0])];
	a.comment = (char *)(a.act == LEDGER__API__COLLECTION_ACT__ACT__CANCEL && pick(2) ? "" : "a comment");
	count_outcome("collection act", harness_send(&h, ec, LEDGER__API__REQUEST__BODY_COLLECTION_ACT, &a));
}

/* The platform reports that a signer whose turn it is consented: the service then signs. */
static void op_consent(void)
{
	Ledger__Api__CollectionRef ref = LEDGER__API__COLLECTION_REF__INIT;
	char firm[16], ec[64];
	if (!pick_collection(&ref, firm, ec))
		return;
	Ledger__Api__Reply *r = harness_collection_show(&h, ec, firm, ref.collection_id);
	const Ledger__Api__CollectionView *c = r && r->collection ? r->collection->collection : NULL;
	for (size_t i = 0; c && i < c->n_signers; i++) {
		if (!c->signers[i]->turn)
			continue;
		fixture_sender to = harness_sender(&h);
		fixture_report report = {.signer = c->signers[i]->email,
		                         .action = pick(5) ? LEDGER__EVENTS__SIGNER_ACTION__SIGNER_CONSENTED
		                                           : LEDGER__EVENTS__SIGNER_ACTION__SIGNER_DECLINED};
		count_outcome("signer report", fixture_signer_report(&to, firm, ref.collection_id, &report));
		break;
	}
	ledger__api__reply__free_unpacked(r, NULL);
}

static void op_alert(void)
{
	unsigned f = pick(FIRMS);
	char who[64], id[16];
	person(pick(PEOPLE), who);
	firm_id(f, id);
	Ledger__Api__AlertSubscribe a = LEDGER__API__ALERT_SUBSCRIBE__INIT;
	a.firm_id = id;
	a.kind = (Ledger__Events__AlertKind)(1 + pick(4));
	a.days = a.kind == LEDGER__EVENTS__ALERT_KIND__ALERT_DELEGATION_EXPIRING ||
	                 a.kind == LEDGER__EVENTS__ALERT_KIND__ALERT_COLLECTION_EXPIRING
	             ? 1 + pick(20)
	             : 0;
	a.credits = a.kind == LEDGER__EVENTS__ALERT_KIND__ALERT_CREDITS_LOW ? pick(10) : 0;
	count_outcome("alert subscribe", harness_send(&h, who, LEDGER__API__REQUEST__BODY_ALERT_SUBSCRIBE, &a));
}

/* added = available + reserved + used, in every firm, whatever happened. */
static void check_credits(int phase)
{
	for (unsigned f = 0; f < FIRMS; f++) {
		char ec[64], id[16];
		ec_of(f, ec);
		firm_id(f, id);
		Ledger__Api__Reply *r = harness_credits_show(&h, ec, id, 0);
		const Ledger__Api__CreditsReply *c = r ? r->credits : NULL;
		CHECK(c && c->added == c->available + c->reserved + c->used, "phase %d: credits of %s do not balance",
		      phase, id);
		ledger__api__reply__free_unpacked(r, NULL);
	}
}

static void audit(int phase)
{
	char out[2048];
	int rc = harness_audit_all(&h, out, sizeof out);
	CHECK(rc == 0, "phase %d: verify and replay: %s", phase, out);
	printf("phase %d: %s", phase, strstr(out, "identical") ? strstr(out, "identical") : out);
	/* The same replay with memory for a few events only: it writes to its scratch store and
	 * folds on over it, dozens of times; the projections must come out the same. */
	rc = harness_audit(&h, "replay", "--memory-bytes-max 65536", out, sizeof out);
	CHECK(rc == 0 && strstr(out, "identical"), "phase %d: replay in 64 KiB of memory: %s", phase, out);
}

int main(int argc, char **argv)
{
	REQUIRE(argc >= 2, "usage: random_test BIN_DIR [--seed N] [--phases N] [--ops N]");
	uint64_t seed = 20261129;
	int phases = 5, ops = 400;
	for (int i = 2; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--seed") == 0)
			seed = strtoull(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--phases") == 0)
			REQUIRE(check_parse_int(argv[i + 1], 1, 1000, &phases), "--phases %s: 1 to 1000", argv[i + 1]);
		else if (strcmp(argv[i], "--ops") == 0)
			REQUIRE(check_parse_int(argv[i + 1], 1, 1000000, &ops), "--ops %s: 1 to 1000000", argv[i + 1]);
	}
	printf("random_test: seed %llu, %d phases of %d operations\n", (unsigned long long)seed, phases, ops);
	rng_state = seed ? seed : 1;
	REQUIRE(sodium_init() >= 0, "sodium");
	REQUIRE(harness_init(&h, argv[1], "2026-11-29T10:00:00Z"), "init");
	now_s = h.now_s;
	REQUIRE(harness_start(&h, NULL), "start");
	setup();
	for (int phase = 1; phase <= phases && check_failures == 0; phase++) {
		for (int i = 0; i < ops; i++) {
			unsigned dice = pick(100);
			if (dice < 35)
				op_grant();
			else if (dice < 50)
				op_revoke();
			else if (dice < 55)
				set_clock(now_s + (int64_t)pick(10 * 86400)); /* up to ten days on */
			else if (dice < 58)
				op_credit();
			else if (dice < 62)
				op_collection_create();
			else if (dice < 67)
				op_collection_fill();
			else if (dice < 73)
				op_collection_act();
			else if (dice < 76)
				op_consent();
			else if (dice < 77)
				op_alert();
			else
				op_can();
		}
		usleep(2500 * 1000); /* let the expirer and the signer catch up */
		check_credits(phase);
		audit(phase);
	}
	printf("can answered: %u allowed, %u denied\n", answered_allowed, answered_denied);
	printf("collections: %zu created, %u documents, %u commands done, %u refused\n", n_cols, documents_added,
	       collection_ok, collection_refused);
	CHECK(n_cols > 10 && documents_added > 10 && collection_ok > 50 && collection_refused > 20,
	      "collections exercised");
	/* A walk that never allows (or never denies) would check little. */
	CHECK(answered_allowed > 50 && answered_denied > 50, "both answers exercised");
	CHECK(harness_stop(&h) == 0, "clean stop");
	harness_cleanup(&h);
	if (check_failures)
		printf("random_test failed: rerun with --seed %llu\n", (unsigned long long)seed);
	return check_report("random_test");
}
