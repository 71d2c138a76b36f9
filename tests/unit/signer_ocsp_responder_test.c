/*
 * signer_ocsp_responder_test: the CA's OCSP responder answering requests from outside
 * (signer_ocsp_respond), judged by `openssl ocsp`, which shares no code path with it beyond
 * libcrypto's parser: requests are made by `openssl ocsp -reqout`, answers checked by `openssl
 * ocsp -respin -CAfile` (signature chaining to the CA, status, reason, times). A certificate of
 * this CA is good, then revoked with its time and reason; one of another CA is unknown; a
 * request's nonce comes back; SHA-256 CertIDs are matched as SHA-1 ones are; anything that is
 * not a request (noise, empty, truncated, trailing bytes, too large, too many certificates) gets
 * malformedRequest. And what the CA issues once it knows its PKI URL points there (AIA, CDP,
 * policies), except the responder's own certificate.
 */
#include "signer_util.h"

#include "signer.h"

#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <time.h>

#define DAY_S      86400
#define PKI_URL    "http://pki.test.example:8079/ledger"
#define OUTPUT_MAX 8192

static const signer_subject alice = {
    SIGNER_KIND_PERSON, "alice@cabinet.fr", "Alice Martin", "Cabinet Martin", NULL, NULL, NULL};
static const signer_subject seal = {SIGNER_KIND_SEAL, "JLM", "Cabinet Martin", NULL, NULL, NULL, NULL};
static char root[512];
static int64_t now_s;

/* Writes credential's certificate as PEM to root/name. */
static bool certificate_pem(const signer_credential *c, const char *name)
{
	uint8_t der[SIGNER_CERT_DER_BYTES_MAX];
	size_t bytes = 0;
	if (signer_credential_certificate(c, der, sizeof der, &bytes) != SIGNER_OK)
		return false;
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)bytes);
	char path[600];
	snprintf(path, sizeof path, "%s/%s", root, name);
	FILE *f = fopen(path, "w");
	bool ok = x && f && PEM_write_X509(f, x) == 1;
	if (f)
		ok = fclose(f) == 0 && ok;
	X509_free(x);
	return ok;
}

/* Answers root/request (a file) with ca into root/response; the answer's counts in *answer. */
static signer_err respond_file(signer_ca *ca, const char *request, const char *response, signer_ocsp_answer *answer)
{
	char path[600];
	snprintf(path, sizeof path, "%s/%s", root, request);
	size_t bytes = 0;
	uint8_t *req = read_file(path, &bytes);
	uint8_t *der = NULL;
	size_t der_bytes = 0;
	signer_err err = req ? signer_ocsp_respond(ca, req, bytes, now_s, &der, &der_bytes, answer) : SIGNER_ERR_IO;
	snprintf(path, sizeof path, "%s/%s", root, response);
	if (!err && !write_file(path, der, der_bytes))
		err = SIGNER_ERR_IO;
	free(der);
	free(req);
	return err;
}

/* `openssl ocsp` in root with args; its output in out. */
static int ocsp_cli(const char *args, char *out)
{
	char command[2048];
	snprintf(command, sizeof command, "cd '%s' && openssl ocsp %s", root, args);
	return run(command, out, OUTPUT_MAX);
}

/* The response status of a DER OCSPResponse, -1 if it does not parse. */
static int response_status(const uint8_t *der, size_t bytes)
{
	const unsigned char *p = der;
	OCSP_RESPONSE *r = d2i_OCSP_RESPONSE(NULL, &p, (long)bytes);
	int status = r ? OCSP_response_status(r) : -1;
	OCSP_RESPONSE_free(r);
	return status;
}

static bool has_extension_text(const char *file, const char *needle)
{
	char command[1024], out[OUTPUT_MAX];
	snprintf(command, sizeof command, "cd '%s' && openssl x509 -in '%s' -noout -text", root, file);
	return run(command, out, sizeof out) == 0 && strstr(out, needle) != NULL;
}

static void test_profile(const char *keys)
{
	CHECK(has_extension_text("alice.pem", "OCSP - URI:" PKI_URL "/ocsp"), "alice: AIA OCSP");
	CHECK(has_extension_text("alice.pem", "CA Issuers - URI:" PKI_URL "/ca.crt"), "alice: AIA caIssuers");
	CHECK(has_extension_text("alice.pem", "URI:" PKI_URL "/crl"), "alice: CRL distribution point");
	CHECK(has_extension_text("alice.pem", "Policy: " SIGNER_POLICY_OID), "alice: our policy");
	CHECK(has_extension_text("alice.pem", "Policy: " SIGNER_ETSI_NCP_OID), "alice: ETSI NCP");
	CHECK(has_extension_text("seal.pem", "Policy: " SIGNER_ETSI_NCP_OID), "the seal: ETSI NCP");
	CHECK(has_extension_text("seal.pem", "organizationIdentifier = JLM"), "the seal: organizationIdentifier");
	char tsa[700], ocsp[700], out[OUTPUT_MAX];
	snprintf(tsa, sizeof tsa, "%s/%s", keys, SIGNER_TSA_CERT_FILE);
	snprintf(ocsp, sizeof ocsp, "%s/%s", keys, SIGNER_OCSP_CERT_FILE);
	CHECK(has_extension_text(tsa, "OCSP - URI:" PKI_URL "/ocsp"), "the TSA: AIA OCSP");
	CHECK(has_extension_text(tsa, "Time Stamping"), "the TSA: its EKU");
	char command[1400];
	snprintf(command, sizeof command, "openssl x509 -in '%s' -noout -text", ocsp);
	CHECK(run(command, out, sizeof out) == 0 && strstr(out, "OCSP No Check") &&
	          !strstr(out, "Authority Information") && !strstr(out, "CRL Distribution"),
	      "the responder: nocheck, no AIA, no CDP:\n%s", out);
	signer_ca *plain = NULL;
	CHECK(signer_ca_set_pki_url(plain, PKI_URL) == SIGNER_ERR_INVALID, "NULL CA refused");
	const char *bad[] = {"https://pki.example", "http://",      "http://a,b",
	                     "http://a;b",          "http://a b",   "http://host:0",
	                     "http://host:65536",   "http://host/", "http://host/a,OCSP;URI:x",
	                     "ftp://host",          "http://-host"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK(signer_pki_url_check(bad[i]) == SIGNER_ERR_INVALID, "%s refused", bad[i]);
	CHECK(signer_pki_url_check("http://127.0.0.1:8079") == SIGNER_OK && signer_pki_url_check(PKI_URL) == SIGNER_OK,
	      "good URLs pass");
}

static void test_good_then_revoked(signer_ca *ca, const char *alice_serial)
{
	char out[OUTPUT_MAX];
	signer_ocsp_answer a;
	/* a nonce, by default */
	REQUIRE_VOID(ocsp_cli("-issuer ca.pem -cert alice.pem -cert seal.pem -reqout req.der", out) == 0);
	CHECK(respond_file(ca, "req.der", "resp.der", &a) == SIGNER_OK && a.good == 2 && !a.malformed, "two good: %s",
	      signer_last_error());
	int rc =
	    ocsp_cli("-no_nonce -respin resp.der -CAfile ca.pem -issuer ca.pem -cert alice.pem -cert seal.pem", out);
	CHECK(rc == 0 && strstr(out, "Response verify OK") && count_of(out, ": good") == 2, "openssl: both good:\n%s",
	      out);
	/* the nonce: openssl ocsp checks it only when it sent the request itself; here by hand */
	size_t req_bytes = 0, resp_bytes = 0;
	char path[600];
	snprintf(path, sizeof path, "%s/req.der", root);
	uint8_t *req_der = read_file(path, &req_bytes);
	snprintf(path, sizeof path, "%s/resp.der", root);
	uint8_t *resp_der = read_file(path, &resp_bytes);
	const unsigned char *p = req_der, *q = resp_der;
	OCSP_REQUEST *req = req_der ? d2i_OCSP_REQUEST(NULL, &p, (long)req_bytes) : NULL;
	OCSP_RESPONSE *resp = resp_der ? d2i_OCSP_RESPONSE(NULL, &q, (long)resp_bytes) : NULL;
	OCSP_BASICRESP *basic = resp ? OCSP_response_get1_basic(resp) : NULL;
	CHECK(req && basic && OCSP_check_nonce(req, basic) == 1, "the request's nonce is echoed");
	OCSP_BASICRESP_free(basic);
	OCSP_RESPONSE_free(resp);
	OCSP_REQUEST_free(req);
	free(req_der);
	free(resp_der);

	REQUIRE_VOID(signer_ca_revoke(ca, alice_serial, now_s - 600, SIGNER_REVOKE_KEY_COMPROMISE) == SIGNER_OK);
	CHECK(respond_file(ca, "req.der", "resp.der", &a) == SIGNER_OK && a.good == 1 && a.revoked == 1, "one revoked");
	rc = ocsp_cli("-no_nonce -respin resp.der -CAfile ca.pem -issuer ca.pem -cert alice.pem -cert seal.pem", out);
	CHECK(rc == 0 && strstr(out, "Response verify OK") && strstr(out, "alice.pem: revoked") &&
	          strstr(out, "Reason: keyCompromise") && strstr(out, "seal.pem: good"),
	      "openssl: alice revoked for keyCompromise, the seal good:\n%s", out);
	char when[64];
	time_t at = (time_t)(now_s - 600);
	strftime(when, sizeof when, "Revocation Time: %b %e %H:%M:%S %Y GMT", gmtime(&at));
	CHECK(strstr(out, when) != NULL, "openssl: the revocation time (%s):\n%s", when, out);

	/* SHA-256 CertIDs, without a nonce */
	REQUIRE_VOID(ocsp_cli("-no_nonce -sha256 -issuer ca.pem -cert alice.pem -reqout req256.der", out) == 0);
	CHECK(respond_file(ca, "req256.der", "resp256.der", &a) == SIGNER_OK && a.revoked == 1, "SHA-256 CertID");
	rc = ocsp_cli("-no_nonce -respin resp256.der -CAfile ca.pem -sha256 -issuer ca.pem -cert alice.pem", out);
	CHECK(rc == 0 && strstr(out, "alice.pem: revoked"), "openssl: SHA-256 CertID revoked:\n%s", out);
}

/* A certificate of another CA: unknown, and still signed by this responder. */
static void test_unknown_issuer(signer_ca *ca)
{
	char other[600], out[OUTPUT_MAX];
	snprintf(other, sizeof other, "%s/other", root);
	signer_ca *o = NULL;
	signer_credential *c = NULL;
	REQUIRE_VOID(signer_ca_init(other, now_s - DAY_S) == SIGNER_OK && signer_ca_open(other, &o) == SIGNER_OK);
	REQUIRE_VOID(signer_issue(o, &alice, now_s, 30, &c) == SIGNER_OK && certificate_pem(c, "other-alice.pem"));
	REQUIRE_VOID(ocsp_cli("-issuer other/" SIGNER_CA_CERT_FILE " -cert other-alice.pem -reqout other.der", out) ==
	             0);
	signer_ocsp_answer a;
	CHECK(respond_file(ca, "other.der", "other-resp.der", &a) == SIGNER_OK && a.unknown == 1 && a.good == 0,
	      "another CA's certificate: unknown");
	/* the responder is not the other CA's delegate: openssl is told to trust it by name (-VAfile) */
	int rc = ocsp_cli("-no_nonce -respin other-resp.der -VAfile keys/" SIGNER_OCSP_CERT_FILE
	                  " -issuer other/" SIGNER_CA_CERT_FILE " -cert other-alice.pem",
	                  out);
	CHECK(rc == 0 && strstr(out, "Response verify OK") && strstr(out, "other-alice.pem: unknown"),
	      "openssl: unknown:\n%s", out);
	signer_credential_free(c);
	signer_ca_free(o);
}

/* Not a request: malformedRequest, signed by nobody, and never a failure of the call. */
static void test_malformed(signer_ca *ca)
{
	char path[600], out[OUTPUT_MAX];
	snprintf(path, sizeof path, "%s/req.der", root);
	size_t bytes = 0;
	uint8_t *good = read_file(path, &bytes);
	REQUIRE_VOID(good && bytes > 8);
	uint8_t noise[64], *big = calloc(1, SIGNER_OCSP_REQUEST_BYTES_MAX + 1), *trailing = malloc(bytes + 1);
	REQUIRE_VOID(big && trailing);
	for (size_t i = 0; i < sizeof noise; i++)
		noise[i] = (uint8_t)(i * 37 + 11);
	memcpy(trailing, good, bytes);
	trailing[bytes] = 0;
	struct {
		const char *what;
		const uint8_t *data;
		size_t bytes;
	} cases[] = {{"noise", noise, sizeof noise},
	             {"nothing", noise, 0},
	             {"truncated", good, bytes - 5},
	             {"a trailing byte", trailing, bytes + 1},
	             {"over the limit", big, SIGNER_OCSP_REQUEST_BYTES_MAX + 1}};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint8_t *der = NULL;
		size_t der_bytes = 0;
		signer_ocsp_answer a;
		signer_err err = signer_ocsp_respond(ca, cases[i].data, cases[i].bytes, now_s, &der, &der_bytes, &a);
		CHECK(err == SIGNER_OK && a.malformed &&
		          response_status(der, der_bytes) == OCSP_RESPONSE_STATUS_MALFORMEDREQUEST,
		      "%s: malformedRequest (%s)", cases[i].what, signer_strerror(err));
		if (i == 0 && der) {
			snprintf(path, sizeof path, "%s/malformed.der", root);
			CHECK(write_file(path, der, der_bytes) &&
			          ocsp_cli("-respin malformed.der -resp_text", out) >= 0 &&
			          strstr(out, "malformedrequest"),
			      "openssl reads malformedRequest:\n%s", out);
		}
		free(der);
	}
	/* SIGNER_OCSP_REQUEST_CERTS_MAX + 1 certificates in one request */
	char args[2048] = "-no_nonce -issuer ca.pem";
	for (unsigned i = 0; i <= SIGNER_OCSP_REQUEST_CERTS_MAX; i++)
		strcat(args, " -cert alice.pem");
	strcat(args, " -reqout many.der");
	REQUIRE_VOID(ocsp_cli(args, out) == 0);
	signer_ocsp_answer a;
	CHECK(respond_file(ca, "many.der", "many-resp.der", &a) == SIGNER_OK && a.malformed,
	      "more than %u certificates: malformedRequest", SIGNER_OCSP_REQUEST_CERTS_MAX);
	CHECK(signer_ocsp_respond(ca, NULL, 0, now_s, NULL, NULL, NULL) == SIGNER_ERR_INVALID, "NULL outputs refused");
	free(big);
	free(trailing);
	free(good);
}

int main(void)
{
	char *dir = scratch_dir("signer-ocsp-responder");
	REQUIRE(dir, "scratch directory");
	snprintf(root, sizeof root, "%s", dir);
	free(dir);
	now_s = (int64_t)time(NULL); /* openssl ocsp checks the answer's times against its own clock */
	char keys[540], command[1400], out[OUTPUT_MAX];
	snprintf(keys, sizeof keys, "%s/keys", root);
	signer_ca *ca = NULL;
	REQUIRE(signer_ca_init(keys, now_s - DAY_S) == SIGNER_OK && signer_ca_open(keys, &ca) == SIGNER_OK, "CA: %s",
	        signer_last_error());
	uint8_t request[16] = {0}, *response = NULL;
	size_t response_bytes = 0;
	CHECK(signer_ocsp_respond(ca, request, sizeof request, now_s, &response, &response_bytes, NULL) ==
	          SIGNER_ERR_KEYS,
	      "no responder enabled: SIGNER_ERR_KEYS");
	REQUIRE(signer_ca_set_pki_url(ca, PKI_URL) == SIGNER_OK, "PKI URL");
	REQUIRE(signer_tsa_enable(ca, keys, now_s) == SIGNER_OK && signer_ocsp_enable(ca, keys, now_s) == SIGNER_OK,
	        "units: %s", signer_last_error());
	snprintf(command, sizeof command, "cp '%s/%s' '%s/ca.pem'", keys, SIGNER_CA_CERT_FILE, root);
	REQUIRE(run(command, out, sizeof out) == 0, "ca.pem");
	signer_credential *a = NULL, *s = NULL;
	REQUIRE(signer_issue_kept(ca, &alice, now_s, 30, &a) == SIGNER_OK && certificate_pem(a, "alice.pem"),
	        "alice: %s", signer_last_error());
	REQUIRE(signer_issue(ca, &seal, now_s, 30, &s) == SIGNER_OK && certificate_pem(s, "seal.pem"), "seal");
	char serial[SIGNER_SERIAL_HEX_BYTES];
	signer_credential_serial(a, serial);
	test_profile(keys);
	test_good_then_revoked(ca, serial);
	test_unknown_issuer(ca);
	test_malformed(ca);
	signer_credential_free(a);
	signer_credential_free(s);
	signer_ca_free(ca);
	remove_dir(root);
	return check_report(__FILE__);
}
