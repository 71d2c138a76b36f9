/*
 * signer_revocation_test: credentials kept under their serial and revoked. A kept credential is
 * a file named by its certificate's serial, found again by that serial, never re-issued by a
 * lookup, and gone (not found) once destroyed. A revoked serial is listed in the CA's CRL with
 * its time and RFC 5280 reason, its OCSP answer is "revoked" with the same time and reason while
 * another certificate's stays "good", and it neither opens nor signs again. Bad serials and
 * reasons are refused and change nothing.
 */
#include "signer_util.h"

#include "signer.h"

#include <ctype.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#define NOW_S 1767225600 /* 2026-01-01T00:00:00Z */
#define DAY_S 86400

static const signer_subject alice = {SIGNER_KIND_PERSON, "alice@cabinet.fr", "Alice Martin", "", NULL, NULL, NULL};
static const signer_subject bob = {SIGNER_KIND_PERSON, "bob@cabinet.fr", "Bob Durand", "", NULL, NULL, NULL};

static bool file_exists(const char *dir, const char *serial)
{
	char path[600];
	struct stat st;
	snprintf(path, sizeof path, "%s/%s/%s.pem", dir, SIGNER_CREDENTIALS_DIR, serial);
	return stat(path, &st) == 0 && (st.st_mode & 0777) == 0600;
}

/* The CRL's entry for serial: its reason (-1 if none) and time, or false if not listed. */
static bool crl_lists(X509_CRL *crl, const char *serial, int *reason, int64_t *time_s)
{
	STACK_OF(X509_REVOKED) *list = X509_CRL_get_REVOKED(crl);
	for (int i = 0; i < sk_X509_REVOKED_num(list); i++) {
		X509_REVOKED *r = sk_X509_REVOKED_value(list, i);
		BIGNUM *bn = ASN1_INTEGER_to_BN(X509_REVOKED_get0_serialNumber(r), NULL);
		char *hex = BN_bn2hex(bn);
		bool same = hex && strcmp(hex, serial) == 0;
		OPENSSL_free(hex);
		BN_free(bn);
		if (!same)
			continue;
		ASN1_ENUMERATED *e = X509_REVOKED_get_ext_d2i(r, NID_crl_reason, NULL, NULL);
		*reason = e ? (int)ASN1_ENUMERATED_get(e) : -1;
		ASN1_ENUMERATED_free(e);
		struct tm tm;
		*time_s = ASN1_TIME_to_tm(X509_REVOKED_get0_revocationDate(r), &tm) == 1 ? (int64_t)timegm(&tm) : -1;
		return true;
	}
	return false;
}

static X509_CRL *crl_now(signer_ca *ca, int64_t now_s)
{
	uint8_t *der = NULL;
	size_t bytes = 0;
	if (signer_ca_crl(ca, now_s, &der, &bytes) != SIGNER_OK)
		return NULL;
	const unsigned char *p = der;
	X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)bytes);
	free(der);
	return crl;
}

/* The certificate status the responder gives for credential (V_OCSP_CERTSTATUS_*), -1 on error. */
static int ocsp_status(signer_ca *ca, const signer_credential *c, int *reason, int64_t *time_s)
{
	uint8_t *der = NULL;
	size_t bytes = 0;
	if (signer_ca_ocsp(ca, c, NOW_S + DAY_S, &der, &bytes) != SIGNER_OK)
		return -1;
	const unsigned char *p = der;
	OCSP_RESPONSE *response = d2i_OCSP_RESPONSE(NULL, &p, (long)bytes);
	OCSP_BASICRESP *basic = response ? OCSP_response_get1_basic(response) : NULL;
	OCSP_SINGLERESP *single = basic ? OCSP_resp_get0(basic, 0) : NULL;
	ASN1_GENERALIZEDTIME *revoked_at = NULL, *this_update = NULL, *next_update = NULL;
	int status = single ? OCSP_single_get0_status(single, reason, &revoked_at, &this_update, &next_update) : -1;
	struct tm tm;
	*time_s = revoked_at && ASN1_TIME_to_tm(revoked_at, &tm) == 1 ? (int64_t)timegm(&tm) : -1;
	OCSP_BASICRESP_free(basic);
	OCSP_RESPONSE_free(response);
	free(der);
	return status;
}

/* The openssl command line reads the responder's answer for c (and the CRL) as revoked. */
static void openssl_says_revoked(signer_ca *ca, const signer_credential *c, const char *dir)
{
	uint8_t *der = NULL, *crl = NULL;
	size_t bytes = 0, crl_bytes = 0;
	char serial[SIGNER_SERIAL_HEX_BYTES], path[600], crl_path[600], cmd[2048], out[8192];
	signer_credential_serial(c, serial);
	snprintf(path, sizeof path, "%s/ocsp.der", dir);
	snprintf(crl_path, sizeof crl_path, "%s/crl.der", dir);
	REQUIRE_VOID(signer_ca_ocsp(ca, c, NOW_S + DAY_S, &der, &bytes) == SIGNER_OK &&
	             signer_ca_crl(ca, NOW_S + DAY_S, &crl, &crl_bytes) == SIGNER_OK);
	FILE *f = fopen(path, "wb"), *g = fopen(crl_path, "wb");
	bool written = f && g && fwrite(der, 1, bytes, f) == bytes && fwrite(crl, 1, crl_bytes, g) == crl_bytes;
	if (f)
		fclose(f);
	if (g)
		fclose(g);
	free(der);
	free(crl);
	REQUIRE_VOID(written);
	snprintf(cmd, sizeof cmd,
	         "openssl ocsp -respin '%s' -CAfile '%s/%s' -resp_text -attime %lld 2>&1; "
	         "openssl crl -inform DER -in '%s' -noout -text 2>&1",
	         path, dir, SIGNER_CA_CERT_FILE, (long long)(NOW_S + DAY_S), crl_path);
	FILE *p = popen(cmd, "r");
	size_t n = p ? fread(out, 1, sizeof out - 1, p) : 0;
	out[n] = '\0';
	if (p)
		pclose(p);
	CHECK(strstr(out, "Response verify OK") && strstr(out, "Cert Status: revoked") &&
	          strstr(out, "Revocation Reason: keyCompromise (0x1)"),
	      "openssl ocsp: verified, revoked, keyCompromise: %s", out);
	char listed[100];
	snprintf(listed, sizeof listed, "Serial Number: %s", serial);
	CHECK(strstr(out, listed) && strstr(out, "Key Compromise"), "openssl crl -text lists it with its reason");
}

typedef struct kept_seen {
	const char *serial;
	size_t count, matching;
} kept_seen;

static bool kept_visit(void *ctx, const char *serial)
{
	kept_seen *k = ctx;
	k->count++;
	k->matching += strcmp(serial, k->serial) == 0;
	return true;
}

static void test_kept(signer_ca *ca, const char *dir)
{
	signer_credential *a = NULL, *again = NULL;
	CHECK(signer_issue_kept(ca, &alice, NOW_S, 1095, &a) == SIGNER_OK, "issue kept: %s", signer_last_error());
	char serial[SIGNER_SERIAL_HEX_BYTES];
	signer_credential_serial(a, serial);
	CHECK(strlen(serial) == 32, "a 128-bit serial in hex: %s", serial);
	CHECK(file_exists(dir, serial), "kept as signers/<serial>.pem, 0600");
	int64_t not_after = 0;
	signer_credential_validity(a, NULL, &not_after);
	CHECK(not_after == NOW_S + 1095LL * DAY_S, "1095 days");
	CHECK(signer_credential_open(ca, serial, NOW_S + DAY_S, &again) == SIGNER_OK, "open: %s", signer_last_error());
	char serial_again[SIGNER_SERIAL_HEX_BYTES];
	signer_credential_serial(again, serial_again);
	CHECK(strcmp(serial, serial_again) == 0, "the same certificate, not a new one");
	signer_credential_free(again);
	again = NULL;
	char lower[SIGNER_SERIAL_HEX_BYTES];
	for (size_t i = 0; i <= strlen(serial); i++)
		lower[i] = (char)tolower((unsigned char)serial[i]);
	CHECK(signer_credential_open(ca, lower, NOW_S, &again) == SIGNER_OK, "lower-case serial");
	signer_credential_free(again);
	again = NULL;
	CHECK(signer_credential_open(ca, serial, not_after, &again) == SIGNER_ERR_EXPIRED, "expired at not_after");
	CHECK(signer_credential_open(ca, serial, NOW_S - 2 * DAY_S, &again) == SIGNER_ERR_EXPIRED, "not yet valid");
	CHECK(signer_credential_open(ca, "0A1B2C", NOW_S, &again) == SIGNER_ERR_NOT_FOUND, "unknown serial");
	CHECK(signer_credential_open(ca, "../x", NOW_S, &again) == SIGNER_ERR_INVALID, "a path is not a serial");
	CHECK(signer_credential_open(ca, "", NOW_S, &again) == SIGNER_ERR_INVALID, "empty serial");
	CHECK(again == NULL, "nothing given on errors");
	signer_credential *named = NULL; /* a credential of signer_issue(): named by a hash, not listed */
	CHECK(signer_issue(ca, &bob, NOW_S, 10, &named) == SIGNER_OK, "issue by name");
	signer_credential_free(named);
	kept_seen seen = {serial, 0, 0};
	CHECK(signer_kept_each(ca, kept_visit, &seen) == SIGNER_OK && seen.count == 1 && seen.matching == 1,
	      "signer_kept_each lists the kept serial only: %zu listed", seen.count);
	CHECK(signer_credential_destroy(ca, serial) == SIGNER_OK, "destroy: %s", signer_last_error());
	CHECK(!file_exists(dir, serial), "the key file is gone");
	CHECK(signer_credential_open(ca, serial, NOW_S, &again) == SIGNER_ERR_NOT_FOUND, "destroyed: not found");
	CHECK(signer_credential_destroy(ca, serial) == SIGNER_ERR_NOT_FOUND, "destroyed twice");
	seen = (kept_seen){serial, 0, 0};
	CHECK(signer_kept_each(ca, kept_visit, &seen) == SIGNER_OK && seen.count == 0, "none listed once destroyed");
	signer_credential_free(a);
}

static void test_revoked(signer_ca *ca, const char *dir)
{
	signer_credential *a = NULL, *b = NULL, *again = NULL;
	REQUIRE_VOID(signer_issue_kept(ca, &alice, NOW_S, 1095, &a) == SIGNER_OK);
	REQUIRE_VOID(signer_issue_kept(ca, &bob, NOW_S, 1095, &b) == SIGNER_OK);
	char serial_a[SIGNER_SERIAL_HEX_BYTES], serial_b[SIGNER_SERIAL_HEX_BYTES];
	signer_credential_serial(a, serial_a);
	signer_credential_serial(b, serial_b);
	int reason = 0;
	int64_t at = 0;
	X509_CRL *crl = crl_now(ca, NOW_S);
	CHECK(crl && !crl_lists(crl, serial_a, &reason, &at), "nothing revoked yet");
	X509_CRL_free(crl);
	CHECK(ocsp_status(ca, a, &reason, &at) == V_OCSP_CERTSTATUS_GOOD, "good before");

	CHECK(signer_ca_revoke(ca, serial_a, NOW_S + 3600, 99) == SIGNER_ERR_INVALID, "reason 99 refused");
	CHECK(signer_ca_revoke(ca, serial_a, NOW_S + 3600, 7) == SIGNER_ERR_INVALID, "reason 7 (unused) refused");
	CHECK(signer_ca_revoke(ca, "xyz", NOW_S + 3600, 1) == SIGNER_ERR_INVALID, "bad serial refused");
	CHECK(!signer_ca_is_revoked(ca, serial_a), "the refusals changed nothing");
	CHECK(signer_ca_revoke(ca, serial_a, NOW_S + 3600, SIGNER_REVOKE_KEY_COMPROMISE) == SIGNER_OK, "revoke: %s",
	      signer_last_error());
	CHECK(signer_ca_revoke(ca, serial_a, NOW_S + 7200, SIGNER_REVOKE_SUPERSEDED) == SIGNER_OK, "again: no-op");
	CHECK(signer_ca_is_revoked(ca, serial_a) && !signer_ca_is_revoked(ca, serial_b), "only a is revoked");

	crl = crl_now(ca, NOW_S + DAY_S);
	CHECK(crl && crl_lists(crl, serial_a, &reason, &at), "the CRL lists a");
	CHECK(reason == SIGNER_REVOKE_KEY_COMPROMISE && at == NOW_S + 3600, "the first time and reason: %d %lld",
	      reason, (long long)at);
	CHECK(crl && !crl_lists(crl, serial_b, &reason, &at), "not b");
	X509_CRL_free(crl);

	CHECK(ocsp_status(ca, a, &reason, &at) == V_OCSP_CERTSTATUS_REVOKED, "OCSP says revoked");
	CHECK(reason == SIGNER_REVOKE_KEY_COMPROMISE && at == NOW_S + 3600, "with its time and reason");
	CHECK(ocsp_status(ca, b, &reason, &at) == V_OCSP_CERTSTATUS_GOOD, "b is still good");
	openssl_says_revoked(ca, a, dir);

	CHECK(signer_credential_open(ca, serial_a, NOW_S + DAY_S, &again) == SIGNER_ERR_REVOKED, "a never opens again");
	uint8_t *pdf = NULL, *out = NULL;
	size_t pdf_bytes = 0, out_bytes = 0;
	test_page page = {A4_WIDTH_PT, A4_HEIGHT_PT, 0};
	REQUIRE_VOID(make_pdf(&page, 1, &pdf, &pdf_bytes));
	signer_sign_options o = {.signing_time_s = NOW_S + DAY_S};
	CHECK(signer_pades_sign_at_level(ca, a, SIGNER_LEVEL_B_B, pdf, pdf_bytes, &o, &out, &out_bytes) ==
	          SIGNER_ERR_REVOKED,
	      "a credential already open does not sign once revoked");
	CHECK(out == NULL, "nothing signed");
	CHECK(signer_pades_sign_at_level(ca, b, SIGNER_LEVEL_B_B, pdf, pdf_bytes, &o, &out, &out_bytes) == SIGNER_OK,
	      "b signs: %s", signer_last_error());
	free(out);
	free(pdf);
	CHECK(strcmp(signer_revoke_reason_name(SIGNER_REVOKE_AFFILIATION_CHANGED), "affiliationChanged") == 0 &&
	          signer_revoke_reason_parse("cessationOfOperation") == SIGNER_REVOKE_CESSATION_OF_OPERATION &&
	          signer_revoke_reason_parse("lostPhone") == -1,
	      "RFC 5280 names");
	signer_credential_free(a);
	signer_credential_free(b);
}

int main(void)
{
	char *root = scratch_dir("signer-revocation");
	REQUIRE(root, "scratch directory");
	char dir[512];
	snprintf(dir, sizeof dir, "%s/keys", root);
	signer_ca *ca = NULL;
	REQUIRE(signer_ca_init(dir, NOW_S - DAY_S) == SIGNER_OK, "init: %s", signer_last_error());
	REQUIRE(signer_ca_open(dir, &ca) == SIGNER_OK, "open: %s", signer_last_error());
	REQUIRE(signer_ocsp_enable(ca, dir, NOW_S - DAY_S) == SIGNER_OK, "ocsp: %s", signer_last_error());
	test_kept(ca, dir);
	test_revoked(ca, dir);
	signer_ca_free(ca);
	remove_dir(root);
	free(root);
	return check_report(__FILE__);
}
