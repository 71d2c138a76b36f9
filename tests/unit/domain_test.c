/*
 * domain_test: the rights matrix of the guide, cell by cell, for the EC and each of the four
 * rights; expiry through the end of the day in Paris across daylight saving; identifiers'
 * validation; tokens. Commands go through proj_execute on a real ledger, as in ledgerd.
 */
#include "../check.h"
#include "../support/scratch.h"
#include "domain.h"
#include "fold.h"
#include "ledger.h"
#include "projections.h"
#include "rights_guide.h"
#include "token.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *const collaborators[] = {"signer@firm.fr", "launcher@firm.fr", "sealer@firm.fr", "preparer@firm.fr"};
static const char *const rights[] = {"sign", "launch", "seal", "prepare"};

/* Runs one command at time now_us; returns the error code (OK when accepted). */
static int run(ledger *l, proj *p, const char *actor, Ledger__Api__Request *req, int64_t now_us)
{
	return domain_run(&(domain){l, p, now_us}, actor, req, NULL);
}

static int add_account(ledger *l, proj *p, const char *email, bool ec, int64_t now)
{
	domain d = {l, p, now};
	fixture_sender to = domain_sender(&d);
	return fixture_account(&to, email, "Name", ec);
}

static int grant(ledger *l, proj *p, const char *firm, const char *who, const char *right, const char *expires,
                 int64_t now)
{
	domain d = {l, p, now};
	fixture_sender to = domain_sender(&d);
	return fixture_grant(&to, "ec@firm.fr", firm, who, proj_right_parse(right), expires);
}

static proj_can_result can(ledger *l, proj *p, const char *firm, const char *who, const char *action, int64_t now,
                           char *reason)
{
	MDB_txn *txn;
	if (ledger_read_begin(l, &txn))
		return PROJ_CAN_ERROR;
	int index = proj_action_find(action);
	proj_can_result r = index < 0 ? PROJ_CAN_ERROR : proj_can(p, txn, firm, who, (size_t)index, now, reason, 256);
	ledger_read_end(l, txn);
	return r;
}

/* 2026-11-29T12:00:00Z */
#define NOW_US (1795953600LL * 1000000)

static void test_matrix(ledger *l, proj *p)
{
	CHECK(proj_action_count() == RIGHTS_GUIDE_ROWS, "the matrix has %zu actions, the guide %zu",
	      proj_action_count(), RIGHTS_GUIDE_ROWS);
	char reason[256];
	for (size_t row = 0; row < RIGHTS_GUIDE_ROWS; row++) {
		const rights_guide_row *c = &rights_guide[row];
		/* signature.sign needs a registration that no one has yet: denied to all for now. */
		bool needs_registration = strcmp(c->action, "signature.sign") == 0;
		proj_can_result ec = can(l, p, "F1", "ec@firm.fr", c->action, NOW_US, reason);
		CHECK(ec == (needs_registration ? PROJ_CAN_DENIED : PROJ_CAN_ALLOWED), "EC %s: %s", c->action, reason);
		for (int col = 0; col < 4; col++) {
			bool expected = c->rights[0] != 'E' && c->rights[col] == 'x' && !needs_registration;
			proj_can_result got = can(l, p, "F1", collaborators[col], c->action, NOW_US, reason);
			CHECK(got == (expected ? PROJ_CAN_ALLOWED : PROJ_CAN_DENIED),
			      "%s with right %s: expected %s, got %s (%s)", c->action, rights[col],
			      expected ? "allowed" : "denied", got == PROJ_CAN_ALLOWED ? "allowed" : "denied", reason);
			/* Firms are isolated: the same collaborator has nothing in F2. */
			CHECK(can(l, p, "F2", collaborators[col], c->action, NOW_US, reason) == PROJ_CAN_DENIED,
			      "F2 isolated");
		}
		CHECK(can(l, p, "F1", "stranger@firm.fr", c->action, NOW_US, reason) == PROJ_CAN_DENIED,
		      "stranger denied");
	}
	CHECK(can(l, p, "NOPE", "ec@firm.fr", "platform.stats", NOW_US, reason) == PROJ_CAN_NO_FIRM, "unknown firm");
	CHECK(proj_action_find("platform.unknown") < 0, "unknown action");
	CHECK(strstr(reason, "NOPE") != NULL, "reason names the firm: %s", reason);
}

static int64_t utc_us(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = s};
	return (int64_t)timegm(&tm) * 1000000;
}

static void test_expiry(ledger *l, proj *p)
{
	char reason[256];
	/* Winter: the day ends at 23:00 UTC. Summer: 22:00 UTC. DST starts 2027-03-28. */
	const struct {
		const char *date;
		int64_t end;
	} days[] = {
	    {"2027-01-10", utc_us(2027, 1, 10, 23, 0, 0)},
	    {"2027-03-28", utc_us(2027, 3, 28, 22, 0, 0)}, /* the night of the change: ends in summer time */
	    {"2027-03-27", utc_us(2027, 3, 27, 23, 0, 0)},
	    {"2027-07-14", utc_us(2027, 7, 14, 22, 0, 0)},
	    {"2027-10-31", utc_us(2027, 10, 31, 23, 0, 0)}, /* DST ends that morning */
	};
	for (size_t i = 0; i < sizeof days / sizeof days[0]; i++) {
		int64_t end;
		CHECK(proj_date_end_us(days[i].date, &end) && end == days[i].end,
		      "end of %s in Paris: %lld, expected %lld", days[i].date, (long long)end, (long long)days[i].end);
	}
	CHECK(add_account(l, p, "temp@firm.fr", false, NOW_US) == 0, "account");
	CHECK(grant(l, p, "F1", "temp@firm.fr", "launch", "2027-03-28", NOW_US) == 0, "grant until 2027-03-28");
	int64_t last = utc_us(2027, 3, 28, 21, 59, 59), first_out = utc_us(2027, 3, 28, 22, 0, 0);
	CHECK(can(l, p, "F1", "temp@firm.fr", "signature.send", last, reason) == PROJ_CAN_ALLOWED,
	      "valid at 23:59:59 Paris: %s", reason);
	CHECK(can(l, p, "F1", "temp@firm.fr", "signature.send", first_out, reason) == PROJ_CAN_DENIED,
	      "expired at midnight Paris");
	CHECK(strstr(reason, "expired on 2027-03-28") != NULL, "reason says expired: %s", reason);
	/* Renewal: granting again extends it. */
	CHECK(grant(l, p, "F1", "temp@firm.fr", "launch", "2027-12-31", NOW_US) == 0, "renew");
	CHECK(can(l, p, "F1", "temp@firm.fr", "signature.send", first_out, reason) == PROJ_CAN_ALLOWED, "renewed: %s",
	      reason);
	/* Bad expiries are refused with INVALID_ARGUMENT and write nothing. */
	uint64_t before, after;
	ledger_head(l, &before, NULL);
	const char *bad[] = {"2026-11-28", "2027-02-29", "2027-13-01", "2027-1-1", "tomorrow", "2037-12-31"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK(grant(l, p, "F1", "temp@firm.fr", "launch", bad[i], NOW_US) ==
		          LEDGER__API__ERROR_CODE__INVALID_ARGUMENT,
		      "expiry %s refused", bad[i]);
	ledger_head(l, &after, NULL);
	CHECK(before == after, "refusals wrote nothing");
	/* Today is allowed (valid through today's end); the default is a year from today. */
	CHECK(grant(l, p, "F1", "temp@firm.fr", "seal", "2026-11-29", NOW_US) == 0, "today accepted");
	CHECK(grant(l, p, "F1", "temp@firm.fr", "prepare", "", NOW_US) == 0, "default expiry");
	CHECK(can(l, p, "F1", "temp@firm.fr", "platform.dashboard", utc_us(2027, 11, 29, 22, 59, 0), reason) ==
	          PROJ_CAN_ALLOWED,
	      "default: valid through 2027-11-29: %s", reason);
}

/* A firm id no firm can have (empty, or over the store's key limit) is an unknown firm,
 * NOT_FOUND, in the EC's delegation commands: found by request_fuzz, which got INTERNAL
 * ("nothing was written: invalid argument") from the store's refusal of such a key. */
static void test_unstorable_firm_ids(ledger *l, proj *p)
{
	char long_id[600];
	memset(long_id, 'F', sizeof long_id - 1);
	long_id[sizeof long_id - 1] = '\0';
	const char *ids[] = {"", long_id};
	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		CHECK(grant(l, p, ids[i], "temp@firm.fr", "launch", "2027-12-31", NOW_US) ==
		          LEDGER__API__ERROR_CODE__NOT_FOUND,
		      "a grant in firm id of %zu bytes: NOT_FOUND", strlen(ids[i]));
		domain d = {l, p, NOW_US};
		fixture_sender to = domain_sender(&d);
		CHECK(fixture_revoke(&to, "ec@firm.fr", ids[i], "temp@firm.fr") == LEDGER__API__ERROR_CODE__NOT_FOUND,
		      "a revocation in firm id of %zu bytes: NOT_FOUND", strlen(ids[i]));
	}
}

/* Error messages quote requests' bytes and are cut at 511 bytes; the reply's message must
 * still be UTF-8 (proto3 strings), each stray byte shown as '?'. Found by request_fuzz. */
static void test_error_messages_utf8(void)
{
	proj_arena *arena = proj_arena_new();
	REQUIRE_VOID(arena);
	Ledger__Api__Reply reply = LEDGER__API__REPLY__INIT;
	proj_error(&reply, arena, LEDGER__API__ERROR_CODE__NOT_FOUND, "firm_id", "unknown firm %s",
	           "\xff"
	           "A\xc3");
	CHECK(reply.error && strcmp(reply.error->message, "unknown firm ?A?") == 0, "stray bytes as '?': %s",
	      reply.error ? reply.error->message : "(none)");
	proj_error(&reply, arena, LEDGER__API__ERROR_CODE__NOT_FOUND, "", "%s", "caf\xc3\xa9 \xf0\x9f\x93\x84");
	CHECK(strcmp(reply.error->message, "caf\xc3\xa9 \xf0\x9f\x93\x84") == 0, "UTF-8 kept: %s",
	      reply.error->message);
	char cut[600];
	memset(cut, 'a', 510);
	strcpy(cut + 510, "\xc3\xa9"); /* bytes 511 and 512: the limit cuts the character */
	proj_error(&reply, arena, LEDGER__API__ERROR_CODE__NOT_FOUND, "", "%s", cut);
	CHECK(proj_utf8_valid(reply.error->message) && strlen(reply.error->message) == 511 &&
	          reply.error->message[510] == '?',
	      "a character cut by the limit becomes '?'");
	CHECK(!proj_utf8_valid("\xed\xa0\x80") && !proj_utf8_valid("\xc0\xaf") && proj_utf8_valid("a\tb\n"),
	      "surrogates and overlongs are not UTF-8; control characters are");
	proj_arena_free(arena);
}

/* A grant's row for an invalid address shows the address as given, its stray bytes as '?':
 * the reply must be UTF-8. Found by request_fuzz. */
static void test_grant_row_utf8(ledger *l, proj *p)
{
	Ledger__Api__Request req = LEDGER__API__REQUEST__INIT;
	Ledger__Api__DelegationGrant g = LEDGER__API__DELEGATION_GRANT__INIT;
	char *to[1] = {(char *)"a\xff@firm.fr"};
	Ledger__Events__Right right = LEDGER__EVENTS__RIGHT__RIGHT_LAUNCH;
	g.firm_id = (char *)"F1";
	g.collaborators = to;
	g.n_collaborators = 1;
	g.rights = &right;
	g.n_rights = 1;
	g.expires_on = (char *)"2027-12-31";
	req.body_case = LEDGER__API__REQUEST__BODY_DELEGATION_GRANT;
	req.delegation_grant = &g;
	domain_command j;
	REQUIRE_VOID(domain_command_run(&(domain){l, p, NOW_US}, "ec@firm.fr", &req, NULL, &j) == LEDGER_OK);
	const Ledger__Api__GrantResult *row =
	    j.reply.grant && j.reply.grant->n_results == 1 ? j.reply.grant->results[0] : NULL;
	CHECK(row && row->status == LEDGER__API__GRANT_RESULT__STATUS__INVALID_ADDRESS &&
	          strcmp(row->collaborator, "a?@firm.fr") == 0,
	      "the invalid address shown as UTF-8: %s", row ? row->collaborator : "(no row)");
	domain_command_free(&j);
}

static void test_validation(void)
{
	char out[PROJ_EMAIL_BYTES_MAX + 1];
	const char *why;
	CHECK(proj_email_normalise("  Salima.B@Cabinet-JLM.FR ", out, &why) &&
	          strcmp(out, "salima.b@cabinet-jlm.fr") == 0,
	      "normalised: %s", out);
	const char *bad[] = {"",        "plain",   "a@b",      "@x.fr",   "a@@x.fr", "a@x..fr",
	                     ".a@x.fr", "a.@x.fr", "a b@x.fr", "a@-x.fr", "a@x.fr.", "a\"@x.fr"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK(!proj_email_normalise(bad[i], out, &why) && why, "\"%s\" refused", bad[i]);
	char longest[300];
	memset(longest, 'a', 250);
	memcpy(longest + 60, "@x.fr", 6);
	CHECK(proj_email_normalise(longest, out, &why), "a 65-character address is fine");
	memset(longest, 'a', 70);
	memcpy(longest + 65, "@x.fr", 6);
	CHECK(!proj_email_normalise(longest, out, &why), "a local part of 65 characters is refused");
	CHECK(proj_firm_id_valid("JLM-PA_2.0") && !proj_firm_id_valid("") && !proj_firm_id_valid("a b") &&
	          !proj_firm_id_valid("é"),
	      "firm ids");
	char id65[66];
	memset(id65, 'a', 65);
	id65[65] = 0;
	CHECK(!proj_firm_id_valid(id65) && (id65[64] = 0, proj_firm_id_valid(id65)), "firm id limit 64");
	CHECK(proj_name_valid("Cabinet Légère & Fils — Pont-Audemer"), "UTF-8 name");
	CHECK(!proj_name_valid("bad\x01") && !proj_name_valid("\xc3") && !proj_name_valid("\xc0\xaf") &&
	          !proj_name_valid("\xed\xa0\x80") && !proj_name_valid(""),
	      "control, truncated, overlong, surrogate, empty refused");
}

static void test_tokens(void)
{
	uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES], pk2[crypto_sign_PUBLICKEYBYTES],
	    sk2[crypto_sign_SECRETKEYBYTES];
	crypto_sign_keypair(pk, sk);
	crypto_sign_keypair(pk2, sk2);
	api_claims c = {.iat = 1000, .exp = 2000, .platform = true}, out;
	snprintf(c.sub, sizeof c.sub, "ec@firm.fr");
	snprintf(c.aud, sizeof c.aud, "ledgerd");
	char tok[API_TOKEN_BYTES_MAX];
	const char *why = NULL;
	REQUIRE_VOID(api_token_mint(&c, sk, tok, sizeof tok));
	CHECK(api_token_verify(tok, pk, 1999, &out, &why) && strcmp(out.sub, "ec@firm.fr") == 0 && out.platform,
	      "valid token");
	CHECK(!api_token_verify(tok, pk, 2000, &out, &why) && strcmp(why, "token expired") == 0, "expired: %s", why);
	CHECK(!api_token_verify(tok, pk2, 1500, &out, &why) && strstr(why, "signature"), "other key: %s", why);
	CHECK(!api_token_verify("", pk, 1500, &out, &why) && strcmp(why, "missing token") == 0, "missing");
	CHECK(!api_token_verify("v1.garbage", pk, 1500, &out, &why), "garbage: %s", why);
	char forged[API_TOKEN_BYTES_MAX];
	snprintf(forged, sizeof forged, "%s", tok);
	forged[5] = forged[5] == 'A' ? 'B' : 'A'; /* change the claims, keep the signature */
	CHECK(!api_token_verify(forged, pk, 1500, &out, &why), "forged claims refused: %s", why ? why : "");
	/* Lifetimes: exp - iat overflowed with iat = INT64_MIN, and such a token never expired. */
	api_claims ancient = c;
	ancient.iat = INT64_MIN;
	ancient.exp = INT64_MAX;
	REQUIRE_VOID(api_token_mint(&ancient, sk, tok, sizeof tok));
	CHECK(!api_token_verify(tok, pk, 1500, &out, &why) && strstr(why, "lifetime over 366 days"),
	      "iat INT64_MIN: %s", why);
	ancient.exp = 2000;
	REQUIRE_VOID(api_token_mint(&ancient, sk, tok, sizeof tok));
	CHECK(!api_token_verify(tok, pk, 1500, &out, &why) && strstr(why, "lifetime"), "iat INT64_MIN, exp 2000: %s",
	      why);
	ancient.iat = 1000;
	ancient.exp = 1000 + API_TOKEN_TTL_SECONDS_MAX;
	REQUIRE_VOID(api_token_mint(&ancient, sk, tok, sizeof tok));
	CHECK(api_token_verify(tok, pk, 1500, &out, &why), "a lifetime of exactly 366 days: %s", why);
	ancient.exp++;
	REQUIRE_VOID(api_token_mint(&ancient, sk, tok, sizeof tok));
	CHECK(!api_token_verify(tok, pk, 1500, &out, &why), "one second over 366 days");
	snprintf(c.aud, sizeof c.aud, "another-service");
	REQUIRE_VOID(api_token_mint(&c, sk, tok, sizeof tok));
	CHECK(!api_token_verify(tok, pk, 1500, &out, &why) && strstr(why, "audience"), "audience: %s", why);

	/* The cache answers a reused token, still checks expiry, never admits a forgery. */
	api_token_cache *cache = api_token_cache_new();
	snprintf(c.aud, sizeof c.aud, "ledgerd");
	REQUIRE_VOID(cache && api_token_mint(&c, sk, tok, sizeof tok));
	uint64_t hits, lookups;
	CHECK(api_token_verify_cached(cache, tok, pk, 1500, &out, &why), "first use verified");
	CHECK(api_token_verify_cached(cache, tok, pk, 1600, &out, &why) && strcmp(out.sub, "ec@firm.fr") == 0,
	      "second use");
	api_token_cache_stats(cache, &hits, &lookups);
	CHECK(hits == 1 && lookups == 2, "one hit of two lookups (%llu/%llu)", (unsigned long long)hits,
	      (unsigned long long)lookups);
	CHECK(!api_token_verify_cached(cache, tok, pk, 2000, &out, &why) && strcmp(why, "token expired") == 0,
	      "a cached token expires: %s", why);
	snprintf(forged, sizeof forged, "%s", tok);
	forged[5] = forged[5] == 'A' ? 'B' : 'A';
	CHECK(!api_token_verify_cached(cache, forged, pk, 1500, &out, &why), "a forgery is verified, and refused");
	api_token_cache_free(cache);
}

/* A job that damages the projections as an older build would have left them. */
typedef struct stale_job {
	ledger_job job;
	ledger_err result;
} stale_job;

static ledger_err stale_apply(ledger_job *job, ledger_txn *t)
{
	(void)job;
	MDB_dbi expiries, meta;
	MDB_txn *txn = ledger_txn_mdb(t);
	int rc = mdb_dbi_open(txn, "expiries", 0, &expiries);
	if (!rc)
		rc = mdb_drop(txn, expiries, 0);
	if (!rc)
		rc = mdb_dbi_open(txn, "proj_meta", 0, &meta);
	uint8_t old[4] = {0, 0, 0, 1};
	MDB_val k = {7, "version"}, v = {4, old};
	if (!rc)
		rc = mdb_put(txn, meta, &k, &v, 0);
	return ledger_mdb_err(rc);
}

static void stale_done(ledger_job *job, ledger_err err)
{
	((stale_job *)job)->result = err;
}

/* Projections of an older schema are folded again from the log, to the same bytes. */
static void test_schema_rebuild(ledger *l, proj **p)
{
	uint8_t before[32], damaged[32], after[32];
	domain_projections_digest(l, before);
	stale_job j = {.job = {stale_apply, stale_done, NULL}};
	CHECK(ledger_commit_one(l, &j.job, NOW_US) == LEDGER_OK && j.result == LEDGER_OK, "damage the projections");
	domain_projections_digest(l, damaged);
	CHECK(memcmp(before, damaged, 32) != 0, "the damage shows");
	proj_close(*p);
	CHECK(proj_open(l, 0x5eed, p) == LEDGER_OK, "reopen: rebuild");
	domain_projections_digest(l, after);
	CHECK(memcmp(before, after, 32) == 0, "rebuilt from the log to the same bytes");
}

/* The rebuild of proj_open, as proj_replay runs it over its own log: on one thread, and in
 * memory too small for one event's state, so that it writes and folds on over the store after
 * every event; the same bytes, and the schema version written at the end. */
static void test_rebuild_variants(ledger *l, proj *p)
{
	uint8_t before[32], after[32];
	domain_projections_digest(l, before);
	const proj_replay_options variants[] = {{.one_thread = true}, {.memory_bytes_max = 1}};
	for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
		stale_job j = {.job = {stale_apply, stale_done, NULL}};
		CHECK(ledger_commit_one(l, &j.job, NOW_US) == LEDGER_OK && j.result == LEDGER_OK,
		      "damage the projections");
		proj_replay_stats st;
		CHECK(proj_replay(p, l, NULL, &variants[i], &st) == LEDGER_OK, "variant %zu: rebuild", i);
		uint64_t head;
		ledger_head(l, &head, NULL);
		CHECK(st.events == head, "variant %zu: %llu of %llu events folded", i, (unsigned long long)st.events,
		      (unsigned long long)head);
		CHECK(variants[i].memory_bytes_max == 0 || st.writes > head / 2, "variant %zu: %llu writes", i,
		      (unsigned long long)st.writes);
		domain_projections_digest(l, after);
		CHECK(memcmp(before, after, 32) == 0, "variant %zu: rebuilt from the log to the same bytes", i);
		MDB_txn *txn;
		MDB_dbi meta;
		MDB_val k = {7, "version"}, v;
		REQUIRE_VOID(ledger_dbi_open(l, "proj_meta", 0, &meta) == LEDGER_OK &&
		             ledger_read_begin(l, &txn) == LEDGER_OK);
		CHECK(mdb_get(txn, meta, &k, &v) == 0 && v.mv_size == 4 &&
		          ((uint8_t *)v.mv_data)[3] == PROJ_SCHEMA_VERSION,
		      "variant %zu: the schema version is written", i);
		ledger_read_end(l, txn);
	}
	proj_replay_stats st;
	MDB_txn *txn;
	REQUIRE_VOID(ledger_read_begin(l, &txn) == LEDGER_OK);
	CHECK(proj_replay(p, l, txn, NULL, &st) == LEDGER_ERR_INVALID,
	      "a read transaction of p's own ledger is refused");
	ledger_read_end(l, txn);
}

/* ----- the collections' transition table: refused by the command, asserted by the fold ----- */

static int collection_act(ledger *l, proj *p, const char *collection_id, Ledger__Api__CollectionAct__Act act)
{
	Ledger__Api__Request req = LEDGER__API__REQUEST__INIT;
	Ledger__Api__CollectionAct a = LEDGER__API__COLLECTION_ACT__INIT;
	Ledger__Api__CollectionRef ref = LEDGER__API__COLLECTION_REF__INIT;
	ref.firm_id = (char *)"F1";
	ref.collection_id = (char *)collection_id;
	a.ref = &ref;
	a.act = act;
	a.comment = (char *)"";
	req.body_case = LEDGER__API__REQUEST__BODY_COLLECTION_ACT;
	req.collection_act = &a;
	return run(l, p, "ec@firm.fr", &req, NOW_US);
}

/* A cancelled collection cannot be cancelled again, nor approved: the table has no such move. */
static void test_transition_refused(ledger *l, proj *p)
{
	Ledger__Api__Request req = LEDGER__API__REQUEST__INIT;
	Ledger__Api__CollectionCreate c = LEDGER__API__COLLECTION_CREATE__INIT;
	c.firm_id = (char *)"F1";
	c.kind = LEDGER__EVENTS__COLLECTION_KIND__KIND_SIGNATURE;
	c.title = (char *)"Table";
	c.deadline_on = (char *)"";
	req.body_case = LEDGER__API__REQUEST__BODY_COLLECTION_CREATE;
	req.collection_create = &c;
	REQUIRE_VOID(run(l, p, "ec@firm.fr", &req, NOW_US) == 0);
	uint64_t head;
	ledger_head(l, &head, NULL);
	char id[32];
	snprintf(id, sizeof id, "c%llu", (unsigned long long)head);
	CHECK(collection_act(l, p, id, LEDGER__API__COLLECTION_ACT__ACT__APPROVE) ==
	          LEDGER__API__ERROR_CODE__INVALID_TRANSITION,
	      "a draft cannot be approved");
	CHECK(collection_act(l, p, id, LEDGER__API__COLLECTION_ACT__ACT__CANCEL) == 0, "a draft can be cancelled");
	CHECK(collection_act(l, p, id, LEDGER__API__COLLECTION_ACT__ACT__CANCEL) ==
	          LEDGER__API__ERROR_CODE__INVALID_TRANSITION,
	      "a cancelled collection cannot be cancelled again");
}

typedef struct forged_job {
	ledger_job job;
	proj *p;
	Ledger__Events__CollectionState from, to;
	ledger_err result;
} forged_job;

static ledger_err fold_packed(proj *p, ledger_txn *t, uint64_t seq, Ledger__Events__Event *ev)
{
	uint8_t buf[512];
	size_t n = ledger__events__event__pack(ev, buf);
	return proj_apply(p, ledger_txn_mdb(t), seq, buf, n);
}

/* Folds, without any command, CollectionCreated then CollectionTransitioned from -> to. */
static ledger_err forged_apply(ledger_job *job, ledger_txn *t)
{
	forged_job *j = (forged_job *)job;
	Ledger__Events__Event ev = LEDGER__EVENTS__EVENT__INIT;
	Ledger__Events__CollectionCreated created = LEDGER__EVENTS__COLLECTION_CREATED__INIT;
	ev.actor = (char *)"ec@firm.fr";
	ev.firm_id = (char *)"F1";
	ev.request_id = (char *)"forged";
	created.collection_id = (char *)"c1";
	created.title = (char *)"Forged";
	ev.payload_case = LEDGER__EVENTS__EVENT__PAYLOAD_COLLECTION_CREATED;
	ev.collection_created = &created;
	ledger_err err = fold_packed(j->p, t, 1, &ev);
	Ledger__Events__CollectionTransitioned moved = LEDGER__EVENTS__COLLECTION_TRANSITIONED__INIT;
	moved.collection_id = (char *)"c1";
	moved.from = j->from;
	moved.to = j->to;
	moved.comment = (char *)"";
	ev.payload_case = LEDGER__EVENTS__EVENT__PAYLOAD_COLLECTION_TRANSITIONED;
	ev.collection_transitioned = &moved;
	return err ? err : fold_packed(j->p, t, 2, &ev);
}

static void forged_done(ledger_job *job, ledger_err err)
{
	((forged_job *)job)->result = err;
}

/* In a child, on a store of its own: folds a forged move; returns how the child ended. */
static int fold_forged_move(Ledger__Events__CollectionState from, Ledger__Events__CollectionState to)
{
	char dir[] = "/tmp/domain-forged-XXXXXX";
	if (!mkdtemp(dir) || rmdir(dir) != 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		ledger *l;
		proj *p;
		if (ledger_create(dir, NULL) != LEDGER_OK || ledger_open(dir, NULL, &l) != LEDGER_OK ||
		    proj_open(l, 1, &p) != LEDGER_OK)
			_exit(2);
		forged_job j = {.job = {forged_apply, forged_done, NULL}, .p = p, .from = from, .to = to};
		ledger_err err = ledger_commit_one(l, &j.job, NOW_US);
		_exit(err || j.result ? 4 : 0);
	}
	int status = 0;
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		status = -1;
	char cmd[64]; /* the child may have aborted: its store is removed here */
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return status;
}

static void test_transition_asserted(void)
{
	int status = fold_forged_move(LEDGER__EVENTS__COLLECTION_STATE__STATE_DRAFT,
	                              LEDGER__EVENTS__COLLECTION_STATE__STATE_CANCELLED);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "a legal move folds (status %d)", status);
	status = fold_forged_move(LEDGER__EVENTS__COLLECTION_STATE__STATE_DRAFT,
	                          LEDGER__EVENTS__COLLECTION_STATE__STATE_COMPLETED);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "draft -> completed aborts the fold (status %d)",
	      status);
	status = fold_forged_move(LEDGER__EVENTS__COLLECTION_STATE__STATE_SENT,
	                          LEDGER__EVENTS__COLLECTION_STATE__STATE_IN_PROGRESS);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
	      "a legal move from a state the collection is not in aborts the fold (status %d)", status);
}

/* ----- replay --as-of: a list cut short is an error, not a shorter answer ----- */

static bool count_visit(void *ctx, const char *firm_id, const char *ec_email, const char *who,
                        Ledger__Events__Right right, const char *expires_on)
{
	(void)firm_id, (void)ec_email, (void)who, (void)right, (void)expires_on;
	++*(size_t *)ctx;
	return true;
}

static ledger_err rights_at(ledger *l, proj *p, const char *firm_id, size_t *visits)
{
	MDB_txn *txn;
	*visits = 0;
	ledger_err err = ledger_read_begin(l, &txn);
	if (!err)
		err = proj_rights_at(p, txn, firm_id, NOW_US, count_visit, visits);
	ledger_read_end(l, txn);
	return err;
}

typedef struct damage_job {
	ledger_job job;
	proj *p;
	ledger_err result;
} damage_job;

/* Overwrites firm F1's first delegation with bytes that do not unpack. */
static ledger_err damage_apply(ledger_job *job, ledger_txn *t)
{
	damage_job *j = (damage_job *)job;
	MDB_cursor *cur;
	MDB_val k = {3, "F1"}, v;
	static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff};
	if (mdb_cursor_open(ledger_txn_mdb(t), j->p->delegations, &cur))
		return LEDGER_ERR_INVALID;
	int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	MDB_val bad = {sizeof junk, (void *)junk};
	if (rc == 0)
		rc = mdb_cursor_put(cur, &k, &bad, MDB_CURRENT);
	mdb_cursor_close(cur);
	return rc ? LEDGER_ERR_INVALID : LEDGER_OK;
}

static void damage_done(ledger_job *job, ledger_err err)
{
	((damage_job *)job)->result = err;
}

/* Runs last: it damages the projections. */
static void test_rights_at_damaged(ledger *l, proj *p)
{
	size_t visits;
	CHECK(rights_at(l, p, "F1", &visits) == LEDGER_OK && visits >= 5, "F1: its EC and at least 4 rights (%zu)",
	      visits);
	damage_job j = {.job = {damage_apply, damage_done, NULL}, .p = p};
	REQUIRE_VOID(ledger_commit_one(l, &j.job, 0) == LEDGER_OK && j.result == LEDGER_OK);
	CHECK(rights_at(l, p, "F1", &visits) == LEDGER_ERR_CORRUPT, "a delegation that does not unpack: CORRUPT");
	CHECK(rights_at(l, p, NULL, &visits) == LEDGER_ERR_CORRUPT, "every firm: CORRUPT too");
}

int main(void)
{
	REQUIRE(sodium_init() >= 0, "sodium");
	char *dir = scratch_dir("domain-test");
	REQUIRE(dir && rmdir(dir) == 0, "scratch dir");
	REQUIRE(ledger_create(dir, NULL) == LEDGER_OK, "create");
	ledger *l;
	proj *p;
	REQUIRE(ledger_open(dir, NULL, &l) == LEDGER_OK && proj_open(l, 0x5eed, &p) == LEDGER_OK, "open");
	REQUIRE(add_account(l, p, "ec@firm.fr", true, NOW_US) == 0, "EC account");
	REQUIRE(add_account(l, p, "ec2@firm.fr", true, NOW_US) == 0, "EC2 account");
	for (int i = 0; i < 4; i++)
		REQUIRE(add_account(l, p, collaborators[i], false, NOW_US) == 0, "collaborator account");
	domain d = {l, p, NOW_US};
	fixture_sender to = domain_sender(&d);
	for (const char *firm = "F1"; firm; firm = strcmp(firm, "F1") == 0 ? "F2" : NULL)
		REQUIRE(fixture_firm(&to, firm, "Firm", strcmp(firm, "F1") == 0 ? "ec@firm.fr" : "ec2@firm.fr") == 0,
		        "firm %s", firm);
	for (int i = 0; i < 4; i++)
		REQUIRE(grant(l, p, "F1", collaborators[i], rights[i], "2027-06-30", NOW_US) == 0, "grant %s",
		        rights[i]);
	test_matrix(l, p);
	test_expiry(l, p);
	test_unstorable_firm_ids(l, p);
	test_error_messages_utf8();
	test_grant_row_utf8(l, p);
	test_transition_refused(l, p);
	test_transition_asserted();
	test_schema_rebuild(l, &p);
	test_rebuild_variants(l, p);
	test_validation();
	test_tokens();
	test_rights_at_damaged(l, p);
	proj_close(p);
	ledger_close(l);
	remove_dir(dir);
	free(dir);
	return check_report("domain_test");
}
