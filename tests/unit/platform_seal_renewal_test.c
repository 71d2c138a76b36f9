/*
 * platform_seal_renewal_test: the platform's seal renewed while ledgerd serves (api/keys_on_record.c,
 * docs/signer.md#keys-on-record), on a real store and a CA in a scratch directory (PEM keys: the
 * kept credentials are files), the committer started as ledgerd starts it, the clock injected.
 * A start records a seal that is not due; at its end less 60 days it is due, and
 * api_platform_seal_renew() commits the new one's KeyCreated and the old one's KeyDestroyed, the
 * old credential gone, the log's current seal the new one. A renewal whose batch cannot commit
 * (the committer stopped) keeps the old seal, destroys the new key and waits
 * API_PLATFORM_SEAL_RETRY_S before another try. And near the end of the seals' CA, whose end
 * caps any seal it issues, a renewal is made once, not again every second.
 */
#include "../check.h"
#include "../support/scratch.h"
#include "keys_on_record.h"
#include "ledger.h"
#include "projections.h"
#include "signer.h"

#include <dirent.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define T0_S  1767225600LL /* 2026-01-01T00:00:00Z: the CA's start */
#define DAY_S 86400LL

static char keys[512];
static ledger *l;
static proj *p;
static signer_ca *ca;
static int64_t clock_now_us;

static int64_t test_clock(void *ctx)
{
	(void)ctx;
	return clock_now_us;
}

/* The credential files under keys/signers (one per kept credential, with PEM keys). */
static size_t credentials_count(void)
{
	char path[600];
	snprintf(path, sizeof path, "%s/%s", keys, SIGNER_CREDENTIALS_DIR);
	DIR *d = opendir(path);
	size_t n = 0;
	for (struct dirent *e; d && (e = readdir(d));)
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

/* Whether the credential of serial opens at now_s. */
static bool opens(const char *serial, int64_t now_s)
{
	signer_credential *cred = NULL;
	signer_err err = signer_credential_open(ca, serial, now_s, &cred);
	signer_credential_free(cred);
	return err == SIGNER_OK;
}

/* The platform's seal the projections hold current, into serial ("" if none). */
static void current_seal(char serial[PROJ_SERIAL_BYTES])
{
	MDB_txn *txn;
	char not_after[11];
	serial[0] = '\0';
	if (ledger_read_begin(l, &txn) != LEDGER_OK)
		return;
	if (proj_platform_seal_current(p, txn, serial, not_after) != LEDGER_OK)
		serial[0] = '\0';
	ledger_read_end(l, txn);
}

/* The committer as ledgerd starts it, on the test's clock. */
static bool committer_start(ledger_committer **c)
{
	ledger_committer_options co = {.clock_us = test_clock};
	return ledger_committer_start(l, &co, c) == LEDGER_OK;
}

/* Renewed near its end: the new seal on record, the old one destroyed, not due again. */
static void test_renewed(api_platform_seal *seal)
{
	ledger_committer *c = NULL;
	REQUIRE_VOID(committer_start(&c));
	int64_t now_s = seal->not_after_s - 60 * DAY_S;
	clock_now_us = now_s * 1000000;
	CHECK(!api_platform_seal_due(seal, seal->not_after_s - 91 * DAY_S), "not due with 91 days left");
	CHECK(api_platform_seal_due(seal, now_s), "due with 60 days left");
	api_platform_seal old = *seal;
	CHECK(api_platform_seal_renew(l, p, c, ca, clock_now_us, seal), "renewed");
	CHECK(strcmp(seal->serial, old.serial) != 0 && seal->seq > old.seq, "a new seal %s, recorded at %llu",
	      seal->serial, (unsigned long long)seal->seq);
	CHECK(seal->not_after_s >= now_s + 1000 * DAY_S, "it lasts about three years more");
	CHECK(!api_platform_seal_due(seal, now_s), "and is not due");
	char serial[PROJ_SERIAL_BYTES];
	current_seal(serial);
	CHECK(strcmp(serial, seal->serial) == 0, "the log's current seal is the new one: %s", serial);
	CHECK(opens(seal->serial, now_s) && !opens(old.serial, now_s), "the new one opens, the old one is destroyed");
	ledger_committer_free(c);
}

/* A batch that cannot commit: the old seal kept, the new key destroyed, a try an hour later. */
static void test_failed(api_platform_seal *seal)
{
	ledger_committer *c = NULL;
	REQUIRE_VOID(committer_start(&c));
	ledger_committer_stop(c); /* every job now fails with LEDGER_ERR_STOPPED */
	int64_t now_s = seal->not_after_s - 60 * DAY_S;
	clock_now_us = now_s * 1000000;
	api_platform_seal old = *seal;
	size_t credentials = credentials_count();
	CHECK(!api_platform_seal_renew(l, p, c, ca, clock_now_us, seal), "a renewal that cannot commit fails");
	CHECK(strcmp(seal->serial, old.serial) == 0 && seal->seq == old.seq, "the old seal is kept");
	CHECK(credentials_count() == credentials, "the new key is destroyed: %zu credentials, %zu before",
	      credentials_count(), credentials);
	CHECK(!api_platform_seal_due(seal, now_s + API_PLATFORM_SEAL_RETRY_S - 1) &&
	          api_platform_seal_due(seal, now_s + API_PLATFORM_SEAL_RETRY_S),
	      "tried again API_PLATFORM_SEAL_RETRY_S later, not before");
	ledger_committer_free(c);
}

/* 60 days before the seals' CA ends: the seal issued ends with it, and is not renewed again. */
static void test_issuer_ending(api_platform_seal *seal)
{
	ledger_committer *c = NULL;
	REQUIRE_VOID(committer_start(&c));
	int64_t now_s = T0_S + 3650 * DAY_S - 60 * DAY_S; /* an issuing CA lives 10 years */
	clock_now_us = now_s * 1000000;
	CHECK(api_platform_seal_due(seal, now_s), "due");
	CHECK(api_platform_seal_renew(l, p, c, ca, clock_now_us, seal), "renewed");
	CHECK(seal->not_after_s - now_s < API_PLATFORM_SEAL_RENEW_S, "the new seal ends with its CA, in %lld days",
	      (long long)((seal->not_after_s - now_s) / DAY_S));
	CHECK(!api_platform_seal_due(seal, now_s + 1) && !api_platform_seal_due(seal, now_s + 30 * DAY_S),
	      "it is not renewed again a second later, nor a month later");
	ledger_committer_free(c);
}

int main(void)
{
	char *dir = scratch_dir("platform-seal-renewal");
	REQUIRE(dir, "scratch directory");
	snprintf(keys, sizeof keys, "%s/keys", dir);
	REQUIRE(sodium_init() >= 0 && rmdir(dir) == 0 && ledger_create(dir, NULL) == LEDGER_OK, "store: %s",
	        ledger_last_error());
	REQUIRE(signer_ca_init(keys, T0_S) == SIGNER_OK && signer_ca_open(keys, &ca) == SIGNER_OK &&
	            signer_hierarchy_enable(ca, keys, T0_S) == SIGNER_OK,
	        "CA: %s", signer_last_error());
	REQUIRE(ledger_open(dir, NULL, &l) == LEDGER_OK && proj_open(l, 0x5eed, &p) == LEDGER_OK, "store: %s",
	        ledger_last_error());
	api_platform_seal seal;
	int64_t start_s = T0_S + DAY_S;
	REQUIRE(api_keys_on_record(l, p, ca, start_s * 1000000, &seal), "the start's keys on record");
	CHECK(seal.serial[0] && seal.seq > 0 && seal.retry_at_s == 0, "a seal issued at start: %s, record %llu",
	      seal.serial, (unsigned long long)seal.seq);
	CHECK(!api_platform_seal_due(&seal, start_s), "not due at start");
	test_renewed(&seal);
	test_failed(&seal);
	test_issuer_ending(&seal);
	proj_close(p);
	ledger_close(l);
	signer_ca_free(ca);
	remove_dir(dir);
	free(dir);
	return check_report(__FILE__);
}
