/*
 * signing_crash_test: ledgerd killed (-9) while its signer thread works. A consent is
 * acknowledged, then the process dies at a different moment each round: before any signature,
 * between signing and committing, between two documents. After the restart the signatures
 * still owed must be made, each document signed exactly once by the signer, the credits spent
 * exactly once, the collection completed, and the data directory must verify and replay.
 *
 *   signing_crash_test BIN_DIR [--rounds N]
 */
#include "../check.h"
#include "harness.h"
#include "pdf.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DOCUMENTS 4
#define WAIT_MS   20000

static harness h;

static int call(const char *who, Ledger__Api__Request *req, Ledger__Api__Reply **out)
{
	Ledger__Api__Reply *r = harness_call(&h, who, req);
	int code = r ? harness_code(r) : -1;
	if (out)
		*out = r;
	else if (r)
		ledger__api__reply__free_unpacked(r, NULL);
	return code;
}

static bool setup(void)
{
	fixture_sender to = harness_sender(&h);
	return fixture_account(&to, "ec@crash.fr", "EC", true) == 0 &&
	       fixture_firm(&to, "CR", "Cabinet Crash", "ec@crash.fr") == 0 &&
	       fixture_credits(&to, "ec@crash.fr", "CR", 1000, "") == 0;
}

/* A sent collection of DOCUMENTS documents and one external signer; its id into id. */
static bool prepare(int round, char id[24])
{
	Ledger__Api__Request req = LEDGER__API__REQUEST__INIT;
	Ledger__Api__CollectionCreate c = LEDGER__API__COLLECTION_CREATE__INIT;
	c.firm_id = (char *)"CR", c.kind = LEDGER__EVENTS__COLLECTION_KIND__KIND_SIGNATURE, c.title = (char *)"Crash";
	req.body_case = LEDGER__API__REQUEST__BODY_COLLECTION_CREATE, req.collection_create = &c;
	Ledger__Api__Reply *r;
	if (call("ec@crash.fr", &req, &r) != 0)
		return false;
	snprintf(id, 24, "%s", r->collection->collection->collection_id);
	ledger__api__reply__free_unpacked(r, NULL);
	fixture_sender to = harness_sender(&h);
	for (int d = 0; d < DOCUMENTS; d++) {
		uint8_t pdf[2048];
		char text[64];
		snprintf(text, sizeof text, "round %d document %d", round, d);
		size_t n = test_pdf_text(pdf, sizeof pdf, text);
		if (fixture_document_add(&to, "ec@crash.fr", "CR", id, pdf, n, "d.pdf") != 0)
			return false;
	}
	return fixture_signer_add(&to, "ec@crash.fr", "CR", id, "client@x.fr", "Client", "+33600000000") == 0 &&
	       fixture_act(&to, "ec@crash.fr", "CR", id, LEDGER__API__COLLECTION_ACT__ACT__SEND, NULL) == 0;
}

static int consent(const char *id)
{
	return harness_consent(&h, "CR", id, "client@x.fr");
}

/* Waits for the collection to complete; checks each document holds exactly one signature. */
static void check_completed(int round, const char *id)
{
	Ledger__Api__Reply *r = NULL;
	for (int waited = 0; waited < WAIT_MS; waited += 100) {
		ledger__api__reply__free_unpacked(r, NULL);
		r = harness_collection_show(&h, "ec@crash.fr", "CR", id);
		if (r && harness_code(r) == 0 &&
		    r->collection->collection->state == LEDGER__EVENTS__COLLECTION_STATE__STATE_COMPLETED)
			break;
		usleep(100 * 1000);
	}
	const Ledger__Api__CollectionView *c = r && r->collection ? r->collection->collection : NULL;
	CHECK(c && c->state == LEDGER__EVENTS__COLLECTION_STATE__STATE_COMPLETED,
	      "round %d: %s completed after the restart", round, id);
	for (size_t d = 0; c && d < c->n_documents; d++)
		CHECK(c->documents[d]->n_signed_by == 1, "round %d: document %zu signed %zu times", round, d,
		      c->documents[d]->n_signed_by);
	CHECK(c && c->credits_used == DOCUMENTS && c->credits_reserved == DOCUMENTS,
	      "round %d: credits used %llu of %llu", round, c ? (unsigned long long)c->credits_used : 0ull,
	      c ? (unsigned long long)c->credits_reserved : 0ull);
	ledger__api__reply__free_unpacked(r, NULL);
}

int main(int argc, char **argv)
{
	REQUIRE(argc >= 2, "usage: signing_crash_test BIN_DIR [--rounds N]");
	int rounds = 6;
	if (argc >= 4 && strcmp(argv[2], "--rounds") == 0)
		REQUIRE(check_parse_int(argv[3], 1, 1000, &rounds), "--rounds %s: 1 to 1000", argv[3]);
	REQUIRE(harness_init(&h, argv[1], "2026-11-29T10:00:00Z"), "init");
	REQUIRE(harness_start(&h, NULL), "start");
	REQUIRE(setup(), "accounts, firm, credits");
	for (int round = 0; round < rounds && check_failures == 0; round++) {
		char id[24];
		REQUIRE(prepare(round, id), "round %d: a sent collection", round);
		CHECK(consent(id) == 0, "round %d: consent acknowledged", round);
		usleep((useconds_t)(round * 15 * 1000)); /* 0, 15, 30 ... ms: before, during, between signatures */
		harness_kill9(&h);
		REQUIRE(harness_start(&h, NULL), "round %d: restart after kill -9", round);
		check_completed(round, id);
	}
	CHECK(harness_stop(&h) == 0, "clean stop");
	char out[2048];
	CHECK(harness_audit_all(&h, out, sizeof out) == 0, "verify and replay after the kills: %s", out);
	harness_cleanup(&h);
	return check_report("signing_crash_test");
}
