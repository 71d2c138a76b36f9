/*
 * signer_hierarchy_test: the root CA and its issuing CAs (signer/hierarchy.c, units.c), judged
 * by the openssl command, which shares no code path with the signer beyond libcrypto's parsers.
 *
 * - The shape: the root (CA, keyCertSign and cRLSign only, the platform's organizationIdentifier)
 *   certifies the persons', seals' and time-stamping CAs (pathLenConstraint 0, policies, the
 *   root's CRL and certificate as CDP and caIssuers, no OCSP); a person's certificate comes from
 *   the persons' CA, a seal's from the seals', the TSA's from the time-stamping CA, each with its
 *   CA's CRL, certificate and the responder in its extensions; `openssl verify -CAfile root
 *   -untrusted <issuing CA>` accepts each, the root alone does not; a CA made under an issuing CA
 *   breaks the path length.
 * - Revocation per CA: a revoked person is in the persons' CRL only; the responder answers for
 *   each CA with the certificate that CA gave it, verified with the root alone, and "unknown" for
 *   a certificate asked as if the root had issued it.
 * - The authority keys enumerated for the log (signer_authority_keys_each).
 * - A keys directory made before the hierarchy: its single CA's credential still opens and gets
 *   answers from the root (now the root), the hierarchy is made at its next start, new
 *   certificates come from it, and the TSA's certificate is re-issued from the time-stamping CA.
 * - The TSA's certificate re-issued at start when less than the margin is left, with the clock
 *   injected, and not before.
 * - The edge: with the longest PKI URL in every certificate of both chains, a B-LTA signature
 *   still fits its CMS room, and its /DSS holds both chains, the root's CRL and the signer's CA's,
 *   and two OCSP answers, all verified by dss_check.py against the root alone.
 */
#include "signer_util.h"

#include "signer.h"

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <time.h>
#include <unistd.h>

#define DAY_S        86400
#define PKI_URL      "http://pki.test.example:8079"
#define ORGANIZATION "NTRFR-552100554"
#define OUTPUT_MAX   65536
#define UNIT_DAYS    1825       /* SIGNER_UNIT_VALIDITY_DAYS */
#define NOW_FIXED_S  1767225600 /* 2026-01-01T00:00:00Z, for the renewal */

static const signer_subject alice = {
    SIGNER_KIND_PERSON, "alice@cabinet.fr", "Alice Martin", "Cabinet Martin", NULL, NULL, NULL};
static const signer_subject seal = {SIGNER_KIND_SEAL, "JLM", "Cabinet Martin", NULL, NULL, NULL, NULL};
static char root[512];

static int sh(char *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int sh(char *out, const char *fmt, ...)
{
	char command[3000];
	va_list ap;
	va_start(ap, fmt);
	int n = snprintf(command, sizeof command, "cd '%s' && ", root);
	vsnprintf(command + n, sizeof command - (size_t)n, fmt, ap);
	va_end(ap);
	return run(command, out, OUTPUT_MAX);
}

/* Writes x as PEM to root/name. */
static bool pem_write(X509 *x, const char *name)
{
	char path[600];
	snprintf(path, sizeof path, "%s/%s", root, name);
	FILE *f = fopen(path, "w");
	bool ok = x && f && PEM_write_X509(f, x) == 1;
	if (f)
		ok = fclose(f) == 0 && ok;
	return ok;
}

static X509 *credential_x509(const signer_credential *c)
{
	uint8_t der[SIGNER_CERT_DER_BYTES_MAX];
	size_t bytes = 0;
	const unsigned char *p = der;
	return signer_credential_certificate(c, der, sizeof der, &bytes) == SIGNER_OK ? d2i_X509(NULL, &p, (long)bytes)
	                                                                              : NULL;
}

static bool credential_pem(const signer_credential *c, const char *name)
{
	X509 *x = credential_x509(c);
	bool ok = pem_write(x, name);
	X509_free(x);
	return ok;
}

static X509 *file_x509(const char *dir, const char *name)
{
	char path[700];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "r");
	X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	if (f)
		fclose(f);
	return x;
}

static EVP_PKEY *file_key(const char *dir, const char *name)
{
	char path[700];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "r");
	EVP_PKEY *key = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
	if (f)
		fclose(f);
	return key;
}

static int64_t not_after_of(X509 *x)
{
	struct tm tm;
	return x && ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1 ? (int64_t)timegm(&tm) : -1;
}

/* ----- the shape ----- */

static void test_root(const char *keys)
{
	char out[OUTPUT_MAX];
	int rc = sh(out, "openssl x509 -in '%s/%s' -noout -subject -ext basicConstraints,keyUsage", keys,
	            SIGNER_CA_CERT_FILE);
	CHECK(rc == 0 && strstr(out, "organizationIdentifier = " ORGANIZATION) && strstr(out, "O = JeSignExpert") &&
	          strstr(out, "C = FR") && strstr(out, "CN = " SIGNER_CA_NAME),
	      "the root names the platform with its organizationIdentifier:\n%s", out);
	CHECK(strstr(out, "CA:TRUE") && !strstr(out, "pathlen") && strstr(out, "Certificate Sign, CRL Sign") &&
	          !strstr(out, "Digital Signature"),
	      "the root: a CA, keyCertSign and cRLSign only:\n%s", out);
}

static void test_issuing(const char *keys, const char *name, const char *common_name)
{
	char out[OUTPUT_MAX];
	int rc = sh(out,
	            "openssl x509 -in '%s/signer-ca-%s.pem' -noout -subject -ext "
	            "basicConstraints,keyUsage,certificatePolicies,crlDistributionPoints,authorityInfoAccess",
	            keys, name);
	CHECK(rc == 0 && strstr(out, "CA:TRUE, pathlen:0") && strstr(out, "Certificate Sign, CRL Sign"),
	      "the %s CA: a CA with pathLenConstraint 0:\n%s", name, out);
	CHECK(strstr(out, common_name) && strstr(out, "organizationIdentifier = " ORGANIZATION),
	      "the %s CA is %s, with the platform's organizationIdentifier:\n%s", name, common_name, out);
	CHECK(strstr(out, "Policy: " SIGNER_POLICY_OID) && strstr(out, "Policy: " SIGNER_ETSI_NCP_OID),
	      "the %s CA's certificatePolicies:\n%s", name, out);
	CHECK(strstr(out, "URI:" PKI_URL "/crl/root.crl") && strstr(out, "CA Issuers - URI:" PKI_URL "/ca/root.crt") &&
	          !strstr(out, "OCSP"),
	      "the %s CA points to the root's CRL and certificate, not to OCSP:\n%s", name, out);
	rc = sh(out, "openssl verify -CAfile '%s/%s' '%s/signer-ca-%s.pem'", keys, SIGNER_CA_CERT_FILE, keys, name);
	CHECK(rc == 0, "the %s CA verifies against the root:\n%s", name, out);
}

/* leaf (a file of root) is issued by the CA name, and says where that CA's CRL and certificate are. */
static void test_leaf(const char *keys, const char *leaf, const char *name, const char *serial_prefix)
{
	char out[OUTPUT_MAX];
	int rc = sh(out, "openssl verify -CAfile '%s/%s' -untrusted '%s/signer-ca-%s.pem' -purpose any %s", keys,
	            SIGNER_CA_CERT_FILE, keys, name, leaf);
	CHECK(rc == 0 && strstr(out, ": OK"), "%s chains to the root through the %s CA:\n%s", leaf, name, out);
	rc = sh(out, "openssl verify -CAfile '%s/%s' -purpose any %s", keys, SIGNER_CA_CERT_FILE, leaf);
	CHECK(rc != 0, "%s: the root alone did not issue it:\n%s", leaf, out);
	rc = sh(out, "openssl x509 -in %s -noout -serial -ext crlDistributionPoints,authorityInfoAccess", leaf);
	char crl[128], ca[128];
	snprintf(crl, sizeof crl, "URI:" PKI_URL "/crl/%s.crl", name);
	snprintf(ca, sizeof ca, "CA Issuers - URI:" PKI_URL "/ca/%s.crt", name);
	CHECK(rc == 0 && strstr(out, crl) && strstr(out, ca) && strstr(out, "OCSP - URI:" PKI_URL "/ocsp"),
	      "%s points to its CA's CRL and certificate, and the responder:\n%s", leaf, out);
	char serial[64];
	snprintf(serial, sizeof serial, "serial=%s", serial_prefix);
	CHECK(strstr(out, serial) != NULL, "%s: a serial of the %s CA starts with %s:\n%s", leaf, name, serial_prefix,
	      out);
}

/* A CA certified by the persons' CA's key (a file: this keys directory has no token) may not
 * certify anything: pathLenConstraint 0. */
static void test_path_length(const char *keys)
{
	char out[OUTPUT_MAX];
	int rc = sh(out,
	            "printf 'basicConstraints=critical,CA:TRUE\\nkeyUsage=critical,keyCertSign\\n' > sub.ext && "
	            "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout sub.key -subj /CN=sub "
	            "-out sub.csr && openssl x509 -req -in sub.csr -CA '%s/signer-ca-persons.pem' -CAkey "
	            "'%s/signer-ca-persons.key' -CAcreateserial -days 30 -extfile sub.ext -out sub.pem && "
	            "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key -subj "
	            "/CN=leaf -out leaf.csr && openssl x509 -req -in leaf.csr -CA sub.pem -CAkey sub.key "
	            "-CAcreateserial -days 30 -out leaf.pem && cat '%s/signer-ca-persons.pem' sub.pem > inter.pem",
	            keys, keys, keys);
	REQUIRE_VOID(rc == 0);
	rc = sh(out, "openssl verify -CAfile '%s/%s' -untrusted inter.pem leaf.pem", keys, SIGNER_CA_CERT_FILE);
	CHECK(rc != 0 && strstr(out, "path length"), "a CA under an issuing CA breaks its path length:\n%s", out);
}

/* ----- revocation and OCSP per CA ----- */

static void test_revocation(signer_ca *ca, const char *keys, const signer_credential *person, int64_t now_s)
{
	char serial[SIGNER_SERIAL_HEX_BYTES], out[OUTPUT_MAX];
	signer_credential_serial(person, serial);
	REQUIRE_VOID(signer_ca_revoke(ca, serial, now_s - 60, SIGNER_REVOKE_KEY_COMPROMISE) == SIGNER_OK);
	static const char *const names[] = {"persons", "seals", "tsa", "root"};
	for (int i = 0; i < 4; i++) {
		uint8_t *der = NULL;
		size_t bytes = 0;
		signer_err err = i < 3 ? signer_issuing_crl(ca, (signer_issuing)i, now_s, &der, &bytes)
		                       : signer_ca_crl(ca, now_s, &der, &bytes);
		char path[700];
		snprintf(path, sizeof path, "%s/%s.crl", root, names[i]);
		REQUIRE_VOID(err == SIGNER_OK && write_file(path, der, bytes));
		free(der);
		int rc = sh(out,
		            "cat '%s/%s' '%s/signer-ca-%s.pem' > chain.pem 2>/dev/null; openssl crl -inform DER -in "
		            "%s.crl -CAfile %s -noout -text",
		            keys, SIGNER_CA_CERT_FILE, keys, names[i], names[i],
		            i < 3 ? "chain.pem" : "'" SIGNER_CA_CERT_FILE "'");
		if (i == 3)
			rc = sh(out, "openssl crl -inform DER -in root.crl -CAfile '%s/%s' -noout -text", keys,
			        SIGNER_CA_CERT_FILE);
		CHECK(rc == 0 && strstr(out, "verify OK"), "the %s CRL verifies against its CA:\n%s", names[i], out);
		CHECK((strstr(out, serial) != NULL) == (i == 0), "the %s CRL %s the revoked person:\n%s", names[i],
		      i == 0 ? "lists" : "does not list", out);
	}
	CHECK(signer_issuing_crl(ca, (signer_issuing)3, now_s, &(uint8_t *){NULL}, &(size_t){0}) == SIGNER_ERR_INVALID,
	      "no fourth issuing CA");
}

/* Answers the request file with ca into the response file. */
static bool respond(signer_ca *ca, const char *request, const char *response, int64_t now_s)
{
	char path[700];
	snprintf(path, sizeof path, "%s/%s", root, request);
	size_t bytes = 0;
	uint8_t *req = read_file(path, &bytes), *der = NULL;
	size_t der_bytes = 0;
	bool ok = req && signer_ocsp_respond(ca, req, bytes, now_s, &der, &der_bytes, NULL) == SIGNER_OK;
	snprintf(path, sizeof path, "%s/%s", root, response);
	ok = ok && write_file(path, der, der_bytes);
	free(der);
	free(req);
	return ok;
}

/* OCSP for leaf, issued by the CA of issuer_file, verified with the root alone: status, and who
 * signed (the responder certificate issued by responder_issuer). */
static void ocsp_check(signer_ca *ca, const char *keys, const char *leaf, const char *issuer_file, const char *status,
                       const char *responder_issuer, int64_t now_s)
{
	char out[OUTPUT_MAX];
	int rc = sh(out, "openssl ocsp -no_nonce -issuer '%s/%s' -cert %s -reqout req-%s.der", keys, issuer_file, leaf,
	            leaf);
	REQUIRE_VOID(rc == 0);
	char request[64], response[64];
	snprintf(request, sizeof request, "req-%s.der", leaf);
	snprintf(response, sizeof response, "resp-%s.der", leaf);
	REQUIRE_VOID(respond(ca, request, response, now_s));
	rc = sh(out, "openssl ocsp -no_nonce -respin %s -CAfile '%s/%s' -issuer '%s/%s' -cert %s -resp_text", response,
	        keys, SIGNER_CA_CERT_FILE, keys, issuer_file, leaf);
	const char *tail = out + (strlen(out) > 600 ? strlen(out) - 600 : 0);
	CHECK(strstr(out, status) != NULL, "%s asked of %s: %s:\n%s", leaf, issuer_file, status, tail);
	if (responder_issuer)
		CHECK(rc == 0 && strstr(out, "Response verify OK") && strstr(out, responder_issuer),
		      "%s: the answer verifies with the root alone, signed by the responder %s certified:\n%s", leaf,
		      responder_issuer, tail);
}

/* ----- the authority keys ----- */

typedef struct seen {
	int count;
	char kinds[8][16];
	char key_ids[8][SIGNER_KEY_ID_BYTES];
	bool serials_match;
} seen;

static bool visit_key(void *ctx, const signer_authority_key *key)
{
	seen *s = ctx;
	const unsigned char *p = key->certificate_der;
	X509 *x = d2i_X509(NULL, &p, (long)key->certificate_der_bytes);
	BIGNUM *bn = x ? ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL) : NULL;
	char *hex = bn ? BN_bn2hex(bn) : NULL;
	s->serials_match = s->serials_match && hex && strcmp(hex, key->serial) == 0;
	OPENSSL_free(hex);
	BN_free(bn);
	X509_free(x);
	if (s->count < 8) {
		snprintf(s->kinds[s->count], sizeof s->kinds[0], "%s", key->kind);
		snprintf(s->key_ids[s->count], sizeof s->key_ids[0], "%s", key->key_id);
	}
	s->count++;
	return true;
}

static void test_authority_keys(const signer_ca *ca)
{
	seen s = {.serials_match = true};
	CHECK(signer_authority_keys_each(ca, visit_key, &s) == SIGNER_OK, "enumerated");
	static const char *const kinds[] = {"ca-root", "ca-persons", "ca-seals", "ca-tsa", "tsa", "ocsp"};
	static const char *const ids[] = {"file:signer-ca.key",       "file:signer-ca-persons.key",
	                                  "file:signer-ca-seals.key", "file:signer-ca-tsa.key",
	                                  "file:signer-tsa.key",      "file:signer-ocsp.key"};
	CHECK(s.count == 6, "six authority keys, got %d", s.count);
	for (int i = 0; i < 6 && i < s.count; i++)
		CHECK(strcmp(s.kinds[i], kinds[i]) == 0 && strcmp(s.key_ids[i], ids[i]) == 0,
		      "key %d: %s %s, got %s %s", i, kinds[i], ids[i], s.kinds[i], s.key_ids[i]);
	CHECK(s.serials_match, "each serial is its certificate's");
	CHECK(signer_authority_keys_each(NULL, visit_key, &s) == SIGNER_ERR_INVALID, "NULL CA refused");
}

/* ----- a keys directory made before the hierarchy ----- */

static void test_legacy(int64_t now_s)
{
	char keys[600], out[OUTPUT_MAX];
	snprintf(keys, sizeof keys, "%s/legacy", root);
	signer_ca *ca = NULL;
	signer_credential *old = NULL;
	/* as ledgerd made it before: one CA, its units, a person's certificate from it */
	REQUIRE_VOID(signer_ca_init(keys, now_s - 30 * DAY_S) == SIGNER_OK && signer_ca_open(keys, &ca) == SIGNER_OK);
	REQUIRE_VOID(signer_ca_set_pki_url(ca, PKI_URL) == SIGNER_OK &&
	             signer_tsa_enable(ca, keys, now_s - 30 * DAY_S) == SIGNER_OK &&
	             signer_ocsp_enable(ca, keys, now_s - 30 * DAY_S) == SIGNER_OK);
	REQUIRE_VOID(signer_issue_kept(ca, &alice, now_s - 30 * DAY_S, 365, &old) == SIGNER_OK &&
	             credential_pem(old, "old.pem"));
	char serial[SIGNER_SERIAL_HEX_BYTES];
	signer_credential_serial(old, serial);
	signer_credential_free(old);
	X509 *old_tsa = file_x509(keys, SIGNER_TSA_CERT_FILE);
	signer_ca_free(ca);
	/* the next start: the hierarchy is made under the same root */
	REQUIRE_VOID(signer_ca_open(keys, &ca) == SIGNER_OK && signer_ca_set_pki_url(ca, PKI_URL) == SIGNER_OK);
	CHECK(signer_hierarchy_enable(ca, keys, now_s) == SIGNER_OK, "the hierarchy made: %s", signer_last_error());
	CHECK(signer_tsa_enable(ca, keys, now_s) == SIGNER_OK && signer_ocsp_enable(ca, keys, now_s) == SIGNER_OK,
	      "units: %s", signer_last_error());
	signer_credential *c = NULL;
	CHECK(signer_credential_open(ca, serial, now_s, &c) == SIGNER_OK, "the old CA's credential still opens: %s",
	      signer_last_error());
	signer_credential_free(c);
	int rc = sh(out, "openssl verify -CAfile '%s/%s' old.pem", keys, SIGNER_CA_CERT_FILE);
	CHECK(rc == 0, "and chains to the root it always had:\n%s", out);
	ocsp_check(ca, keys, "old.pem", SIGNER_CA_CERT_FILE, "old.pem: good", "CN=" SIGNER_CA_NAME, now_s);
	REQUIRE_VOID(signer_ca_revoke(ca, serial, now_s - 60, SIGNER_REVOKE_SUPERSEDED) == SIGNER_OK);
	ocsp_check(ca, keys, "old.pem", SIGNER_CA_CERT_FILE, "old.pem: revoked", "CN=" SIGNER_CA_NAME, now_s);
	uint8_t *der = NULL;
	size_t bytes = 0;
	char path[700];
	snprintf(path, sizeof path, "%s/legacy-root.crl", root);
	REQUIRE_VOID(signer_ca_crl(ca, now_s, &der, &bytes) == SIGNER_OK && write_file(path, der, bytes));
	free(der);
	rc = sh(out, "openssl crl -inform DER -in legacy-root.crl -CAfile '%s/%s' -noout -text", keys,
	        SIGNER_CA_CERT_FILE);
	CHECK(rc == 0 && strstr(out, "verify OK") && strstr(out, serial), "the root's CRL lists what it issued:\n%s",
	      out);
	signer_credential *fresh = NULL;
	REQUIRE_VOID(signer_issue_kept(ca, &alice, now_s, 30, &fresh) == SIGNER_OK && credential_pem(fresh, "new.pem"));
	signer_credential_free(fresh);
	test_leaf(keys, "new.pem", "persons", "51");
	X509 *tsa = file_x509(keys, SIGNER_TSA_CERT_FILE), *tsa_ca = file_x509(keys, "signer-ca-tsa.pem");
	CHECK(tsa && tsa_ca && X509_check_issued(tsa_ca, tsa) == X509_V_OK && X509_cmp(tsa, old_tsa) != 0,
	      "the TSA's certificate is re-issued by the time-stamping CA");
	X509_free(tsa);
	X509_free(tsa_ca);
	X509_free(old_tsa);
	signer_ca_free(ca);
}

/* ----- the TSA's renewal ----- */

/* Opens keys as ledgerd starts at now_s; the TSA's certificate's end into *not_after_s. */
static bool start_at(const char *keys, int64_t now_s, int64_t margin_s, int64_t *not_after_s)
{
	signer_ca *ca = NULL;
	bool ok = signer_ca_open(keys, &ca) == SIGNER_OK && signer_ca_set_pki_url(ca, PKI_URL) == SIGNER_OK &&
	          signer_hierarchy_enable(ca, keys, now_s) == SIGNER_OK &&
	          (margin_s < 0 || signer_tsa_set_renew_margin(ca, margin_s) == SIGNER_OK) &&
	          signer_tsa_enable(ca, keys, now_s) == SIGNER_OK;
	signer_ca_free(ca);
	X509 *x = file_x509(keys, SIGNER_TSA_CERT_FILE);
	*not_after_s = not_after_of(x);
	X509_free(x);
	return ok;
}

static void test_tsa_renewal(void)
{
	char keys[600];
	snprintf(keys, sizeof keys, "%s/renewal", root);
	REQUIRE_VOID(signer_ca_init(keys, NOW_FIXED_S) == SIGNER_OK);
	int64_t first = 0, end = 0, renewed = 0, again = 0;
	REQUIRE_VOID(start_at(keys, NOW_FIXED_S, -1, &first));
	CHECK(first == NOW_FIXED_S + UNIT_DAYS * (int64_t)DAY_S, "the TSA's certificate: five years");
	int64_t early = first - SIGNER_TSA_RENEW_MARGIN_S - DAY_S;
	CHECK(start_at(keys, early, -1, &end) && end == first, "a day more than a year left: kept");
	int64_t late = first - SIGNER_TSA_RENEW_MARGIN_S + DAY_S;
	CHECK(start_at(keys, late, 0, &end) && end == first, "a margin of 0: kept even then");
	CHECK(start_at(keys, late, -1, &renewed) && renewed == late + UNIT_DAYS * (int64_t)DAY_S,
	      "a day less than a year left: re-issued, five years from the start (%lld, expected %lld)",
	      (long long)renewed, (long long)(late + UNIT_DAYS * (int64_t)DAY_S));
	CHECK(start_at(keys, late + DAY_S, -1, &again) && again == renewed, "the next start keeps the renewed one");
	signer_ca *ca = NULL;
	REQUIRE_VOID(signer_ca_open(keys, &ca) == SIGNER_OK);
	CHECK(signer_tsa_set_renew_margin(ca, -1) == SIGNER_ERR_INVALID &&
	          signer_tsa_set_renew_margin(ca, 5 * 365 * (int64_t)DAY_S) == SIGNER_ERR_INVALID,
	      "a negative margin, or one past four years, refused");
	signer_ca_free(ca);
}

/* ----- the units' renewal: the OCSP responder's certificates too, and none near the CAs' end ----- */

#define ISSUING_DAYS 3650 /* hierarchy.c's ISSUING_VALIDITY_DAYS */

/* The units' certificates in keys: the TSA's, then the responder's from each issuing CA. */
typedef struct unit_certificates {
	X509 *x[1 + SIGNER_ISSUING_CAS];
} unit_certificates;

static const char *const unit_files[1 + SIGNER_ISSUING_CAS] = {SIGNER_TSA_CERT_FILE, "signer-ocsp-persons.pem",
                                                               "signer-ocsp-seals.pem", "signer-ocsp-tsa.pem"};

/* Opens keys as ledgerd starts at now_s (both units) and reads their certificates into *u. */
static bool start_units_at(const char *keys, int64_t now_s, unit_certificates *u)
{
	signer_ca *ca = NULL;
	bool ok = signer_ca_open(keys, &ca) == SIGNER_OK && signer_ca_set_pki_url(ca, PKI_URL) == SIGNER_OK &&
	          signer_hierarchy_enable(ca, keys, now_s) == SIGNER_OK &&
	          signer_tsa_enable(ca, keys, now_s) == SIGNER_OK && signer_ocsp_enable(ca, keys, now_s) == SIGNER_OK;
	if (!ok)
		fprintf(stderr, "start at %lld: %s\n", (long long)now_s, signer_last_error());
	signer_ca_free(ca);
	for (size_t i = 0; i < 1 + SIGNER_ISSUING_CAS; i++)
		ok = (u->x[i] = file_x509(keys, unit_files[i])) != NULL && ok;
	return ok;
}

static void unit_certificates_free(unit_certificates *u)
{
	for (size_t i = 0; i < 1 + SIGNER_ISSUING_CAS; i++)
		X509_free(u->x[i]);
}

/* Every certificate of after is before's (same = true) or a new one for the same key ending at
 * end_s (same = false). */
static bool units_are(const unit_certificates *before, const unit_certificates *after, bool same, int64_t end_s)
{
	bool ok = true;
	for (size_t i = 0; i < 1 + SIGNER_ISSUING_CAS; i++) {
		bool kept = X509_cmp(before->x[i], after->x[i]) == 0;
		bool same_key = EVP_PKEY_eq(X509_get0_pubkey(before->x[i]), X509_get0_pubkey(after->x[i])) == 1;
		if (same ? !kept : kept || !same_key || not_after_of(after->x[i]) != end_s) {
			fprintf(stderr, "%s: %s (ends %lld, expected %lld)\n", unit_files[i],
			        kept ? "kept" : "re-issued", (long long)not_after_of(after->x[i]), (long long)end_s);
			ok = false;
		}
	}
	return ok;
}

static void test_units_renewal(void)
{
	char keys[600];
	snprintf(keys, sizeof keys, "%s/units-renewal", root);
	REQUIRE_VOID(signer_ca_init(keys, NOW_FIXED_S) == SIGNER_OK);
	unit_certificates first = {0}, kept = {0}, renewed = {0}, capped = {0}, again = {0};
	REQUIRE_VOID(start_units_at(keys, NOW_FIXED_S, &first));
	int64_t five_years = UNIT_DAYS * (int64_t)DAY_S, ca_end = NOW_FIXED_S + ISSUING_DAYS * (int64_t)DAY_S;
	int64_t early = NOW_FIXED_S + five_years - SIGNER_TSA_RENEW_MARGIN_S - DAY_S;
	CHECK(start_units_at(keys, early, &kept) && units_are(&first, &kept, true, 0),
	      "a day more than the margin left: the TSA's and the responder's certificates kept");
	int64_t late = early + 2 * DAY_S;
	CHECK(start_units_at(keys, late, &renewed) && units_are(&first, &renewed, false, late + five_years),
	      "a day less: all four re-issued for the same keys, five years from the start");
	/* the next renewal would end after the issuing CAs: capped at their end, then left alone */
	int64_t near_end = late + five_years - SIGNER_TSA_RENEW_MARGIN_S + DAY_S;
	CHECK(near_end + five_years > ca_end && start_units_at(keys, near_end, &capped) &&
	          units_are(&renewed, &capped, false, ca_end),
	      "the next renewal ends with the issuing CAs");
	CHECK(start_units_at(keys, ca_end - 200 * (int64_t)DAY_S, &again) && units_are(&capped, &again, true, 0),
	      "200 days before the CAs' end: kept, as a new one would end no later");
	unit_certificates_free(&first);
	unit_certificates_free(&kept);
	unit_certificates_free(&renewed);
	unit_certificates_free(&capped);
	unit_certificates_free(&again);
}

/* ----- read-only: what the offline tools open ----- */

/* keys opened read-only at now_s, as ledger-audit opens it: its units' result, the TSA's message in
 * tsa_why. */
static signer_err open_read_only(const char *keys, int64_t now_s, signer_err *ocsp,
                                 char tsa_why[SIGNER_ERROR_BYTES_MAX])
{
	signer_ca *ca = NULL;
	signer_err err = signer_ca_open(keys, &ca);
	if (!err) {
		signer_ca_set_read_only(ca);
		err = signer_tsa_enable(ca, keys, now_s);
		snprintf(tsa_why, SIGNER_ERROR_BYTES_MAX, "%s", err ? signer_last_error() : "");
		*ocsp = signer_ocsp_enable(ca, keys, now_s);
	}
	signer_ca_free(ca);
	return err;
}

/* Within the renewal margin, read-only: the units' certificates are used as they are, nothing
 * re-issued; a keys directory whose units ledgerd has not made yet: not found, nothing made. */
static void test_read_only(void)
{
	char keys[600], bare[600], path[700];
	snprintf(keys, sizeof keys, "%s/read-only", root);
	REQUIRE_VOID(signer_ca_init(keys, NOW_FIXED_S) == SIGNER_OK);
	unit_certificates first = {0}, after = {0};
	REQUIRE_VOID(start_units_at(keys, NOW_FIXED_S, &first));
	int64_t late = NOW_FIXED_S + UNIT_DAYS * (int64_t)DAY_S - SIGNER_TSA_RENEW_MARGIN_S + DAY_S;
	signer_err ocsp = SIGNER_ERR_INVALID;
	char why[SIGNER_ERROR_BYTES_MAX];
	CHECK(open_read_only(keys, late, &ocsp, why) == SIGNER_OK && ocsp == SIGNER_OK,
	      "read-only within the margin: both units open (%s)", signer_last_error());
	for (size_t i = 0; i < 1 + SIGNER_ISSUING_CAS; i++)
		after.x[i] = file_x509(keys, unit_files[i]);
	CHECK(units_are(&first, &after, true, 0), "and their certificates are the same: none re-issued");
	int64_t past = NOW_FIXED_S + UNIT_DAYS * (int64_t)DAY_S + DAY_S;
	CHECK(open_read_only(keys, past, &ocsp, why) == SIGNER_ERR_EXPIRED,
	      "past the TSA's certificate's end: expired, not renewed (%s)", why);
	/* NOW_FIXED_S and 1825 days (2028 has a 29 February): the end the message names */
	CHECK(strstr(why, "signer-tsa.pem expired at 2030-12-31T00:00:00Z") != NULL,
	      "and the message names the certificate and its end: %s", why);
	unit_certificates_free(&first);
	unit_certificates_free(&after);
	snprintf(bare, sizeof bare, "%s/read-only-bare", root);
	REQUIRE_VOID(signer_ca_init(bare, NOW_FIXED_S) == SIGNER_OK);
	CHECK(open_read_only(bare, NOW_FIXED_S, &ocsp, why) == SIGNER_ERR_NOT_FOUND && ocsp == SIGNER_ERR_NOT_FOUND,
	      "units ledgerd has not made: not found (%s)", why);
	CHECK(strstr(why, "ledgerd serve makes it at its start") != NULL, "and says who makes them: %s", why);
	snprintf(path, sizeof path, "%s/%s", bare, SIGNER_TSA_KEY_FILE);
	bool no_key = access(path, F_OK) != 0;
	snprintf(path, sizeof path, "%s/%s", bare, SIGNER_TSA_CERT_FILE);
	CHECK(no_key && access(path, F_OK) != 0, "and no key or certificate made for them");
}

/* ----- the units' names ----- */

/* x's subject, one line (RFC 2253 order: CN first). */
static void subject_of(X509 *x, char *out, size_t out_bytes)
{
	out[0] = '\0';
	BIO *b = BIO_new(BIO_s_mem());
	if (b && x && X509_NAME_print_ex(b, X509_get_subject_name(x), 0, XN_FLAG_RFC2253) >= 0) {
		int n = BIO_read(b, out, (int)out_bytes - 1);
		out[n > 0 ? n : 0] = '\0';
	}
	BIO_free(b);
}

/* Replaces keys/file with a certificate as units had before they carried the organizationIdentifier:
 * the same, named C=FR, O=JeSignExpert, CN only, signed again by its issuing CA's key file. */
static bool old_style(const char *keys, const char *file, const char *issuer_key_file)
{
	X509 *x = file_x509(keys, file);
	EVP_PKEY *key = file_key(keys, issuer_key_file);
	X509_NAME *name = X509_NAME_new();
	int cn = x ? X509_NAME_get_index_by_NID(X509_get_subject_name(x), NID_commonName, -1) : -1;
	bool ok =
	    x && key && name && cn >= 0 &&
	    X509_NAME_add_entry_by_NID(name, NID_countryName, MBSTRING_ASC, (const unsigned char *)"FR", -1, -1, 0) &&
	    X509_NAME_add_entry_by_NID(name, NID_organizationName, MBSTRING_ASC, (const unsigned char *)"JeSignExpert",
	                               -1, -1, 0) &&
	    X509_NAME_add_entry(name, X509_NAME_get_entry(X509_get_subject_name(x), cn), -1, 0) &&
	    X509_set_subject_name(x, name) && X509_sign(x, key, EVP_sha256()) > 0;
	char path[700];
	snprintf(path, sizeof path, "%s/%s", keys, file);
	FILE *f = ok ? fopen(path, "w") : NULL;
	ok = f && PEM_write_X509(f, x) == 1;
	if (f)
		fclose(f);
	X509_NAME_free(name);
	EVP_PKEY_free(key);
	X509_free(x);
	return ok;
}

/* The TSA's and the responder's subjects carry the root's organizationIdentifier (ETSI EN 319
 * 412-3, as the CAs'); units named before that are re-issued, for the same key, at the next start. */
static void test_unit_names(void)
{
	char keys[600], subject[512];
	snprintf(keys, sizeof keys, "%s/unit-names", root);
	REQUIRE_VOID(signer_ca_init_as(keys, NOW_FIXED_S, ORGANIZATION) == SIGNER_OK);
	unit_certificates first = {0}, old = {0}, renamed = {0};
	REQUIRE_VOID(start_units_at(keys, NOW_FIXED_S, &first));
	static const char *const names[1 + SIGNER_ISSUING_CAS] = {"JeSignExpert Horodatage", "JeSignExpert OCSP",
	                                                          "JeSignExpert OCSP", "JeSignExpert OCSP"};
	for (size_t i = 0; i < 1 + SIGNER_ISSUING_CAS; i++) {
		char want[256];
		snprintf(want, sizeof want, "CN=%s,organizationIdentifier=" ORGANIZATION ",O=JeSignExpert,C=FR",
		         names[i]);
		subject_of(first.x[i], subject, sizeof subject);
		CHECK(strcmp(subject, want) == 0, "%s: %s (expected %s)", unit_files[i], subject, want);
	}
	REQUIRE_VOID(old_style(keys, SIGNER_TSA_CERT_FILE, "signer-ca-tsa.key") &&
	             old_style(keys, "signer-ocsp-persons.pem", "signer-ca-persons.key"));
	for (size_t i = 0; i < 1 + SIGNER_ISSUING_CAS; i++)
		old.x[i] = file_x509(keys, unit_files[i]);
	subject_of(old.x[0], subject, sizeof subject);
	REQUIRE_VOID(strcmp(subject, "CN=JeSignExpert Horodatage,O=JeSignExpert,C=FR") == 0);
	CHECK(start_units_at(keys, NOW_FIXED_S + DAY_S, &renamed), "a start with units named the old way: %s",
	      signer_last_error());
	for (size_t i = 0; i < 2; i++) {
		subject_of(renamed.x[i], subject, sizeof subject);
		CHECK(X509_cmp(old.x[i], renamed.x[i]) != 0 &&
		          strstr(subject, "organizationIdentifier=" ORGANIZATION) &&
		          EVP_PKEY_eq(X509_get0_pubkey(old.x[i]), X509_get0_pubkey(renamed.x[i])) == 1,
		      "%s re-issued with the organizationIdentifier, for the same key: %s", unit_files[i], subject);
	}
	CHECK(X509_cmp(old.x[2], renamed.x[2]) == 0 && X509_cmp(old.x[3], renamed.x[3]) == 0,
	      "the responder's certificates already named so: kept");
	unit_certificates_free(&first);
	unit_certificates_free(&old);
	unit_certificates_free(&renamed);
}

/* A start that stopped between making two issuing CAs: the next open works with the root alone
 * and the next enable makes what is missing; a key left without its certificate is refused. */
static void test_interrupted(void)
{
	char keys[600], path[700], out[OUTPUT_MAX];
	snprintf(keys, sizeof keys, "%s/interrupted", root);
	signer_ca *ca = NULL;
	REQUIRE_VOID(signer_ca_init(keys, NOW_FIXED_S) == SIGNER_OK && signer_ca_open(keys, &ca) == SIGNER_OK &&
	             signer_hierarchy_enable(ca, keys, NOW_FIXED_S) == SIGNER_OK);
	signer_ca_free(ca);
	REQUIRE_VOID(sh(out,
	                "rm '%s/signer-ca-seals.pem' '%s/signer-ca-seals.key' '%s/signer-ca-tsa.pem' "
	                "'%s/signer-ca-tsa.key'",
	                keys, keys, keys, keys) == 0);
	CHECK(signer_ca_open(keys, &ca) == SIGNER_OK, "two issuing CAs missing: the root opens: %s",
	      signer_last_error());
	uint8_t der[SIGNER_CERT_DER_BYTES_MAX];
	size_t bytes = 0;
	CHECK(signer_issuing_certificate(ca, SIGNER_ISSUING_PERSONS, der, sizeof der, &bytes) == SIGNER_ERR_NOT_FOUND,
	      "without its hierarchy until it is enabled");
	CHECK(signer_hierarchy_enable(ca, keys, NOW_FIXED_S + DAY_S) == SIGNER_OK &&
	          signer_issuing_certificate(ca, SIGNER_ISSUING_SEALS, der, sizeof der, &bytes) == SIGNER_OK,
	      "the next enable makes the missing ones: %s", signer_last_error());
	signer_ca_free(ca);
	snprintf(path, sizeof path, "%s/signer-ca-tsa.pem", keys);
	REQUIRE_VOID(remove(path) == 0);
	REQUIRE_VOID(signer_ca_open(keys, &ca) == SIGNER_OK);
	CHECK(signer_hierarchy_enable(ca, keys, NOW_FIXED_S + DAY_S) == SIGNER_ERR_KEYS,
	      "a CA key without its certificate is refused, not replaced: %s", signer_last_error());
	signer_ca_free(ca);
}

static void test_longest_url(void)
{
	char keys[600], url[SIGNER_PKI_URL_BYTES_MAX + 1];
	snprintf(keys, sizeof keys, "%s/long", root);
	int n = snprintf(url, sizeof url, "http://pki.%s.example:65535/", "x");
	for (; n < (int)SIGNER_PKI_URL_BYTES_MAX; n++)
		url[n] = n % 24 ? 'p' : '/';
	url[n] = '\0';
	url[n - 1] = 'z'; /* no trailing '/' */
	int64_t now_s = (int64_t)time(NULL);
	signer_ca *ca = NULL;
	signer_credential *c = NULL;
	REQUIRE_VOID(signer_ca_init(keys, now_s - DAY_S) == SIGNER_OK && signer_ca_open(keys, &ca) == SIGNER_OK);
	REQUIRE_VOID(signer_ca_set_pki_url(ca, url) == SIGNER_OK && strlen(url) == SIGNER_PKI_URL_BYTES_MAX);
	REQUIRE_VOID(signer_hierarchy_enable(ca, keys, now_s) == SIGNER_OK &&
	             signer_tsa_enable(ca, keys, now_s) == SIGNER_OK &&
	             signer_ocsp_enable(ca, keys, now_s) == SIGNER_OK);
	REQUIRE_VOID(signer_issue_kept(ca, &alice, now_s, 30, &c) == SIGNER_OK);
	test_page page = {A4_WIDTH_PT, A4_HEIGHT_PT, 0};
	uint8_t *pdf = NULL, *signed_pdf = NULL;
	size_t bytes = 0, signed_bytes = 0;
	REQUIRE_VOID(make_pdf(&page, 1, &pdf, &bytes));
	signer_sign_options o = {.signing_time_s = now_s, .reason = "Limite"};
	CHECK(signer_pades_sign_at_level(ca, c, SIGNER_LEVEL_B_LTA, pdf, bytes, &o, &signed_pdf, &signed_bytes) ==
	          SIGNER_OK,
	      "B-LTA with %u-byte URLs in every certificate: %s", SIGNER_PKI_URL_BYTES_MAX, signer_last_error());
	char path[700], out[OUTPUT_MAX];
	snprintf(path, sizeof path, "%s/long.pdf", root);
	if (signed_pdf && write_file(path, signed_pdf, signed_bytes)) {
		int rc = sh(out, "/usr/bin/python3 '%s/../integration/dss_check.py' long.pdf '%s/%s' --ocsp 2 --vri 1",
		            TESTS_UNIT_DIR, keys, SIGNER_CA_CERT_FILE);
		CHECK(rc == 0 && strstr(out, "certs=5 crls=2 ocsps=2"),
		      "its /DSS: the signer, the persons' CA, the TSA, the time-stamping CA, the root; two CRLs; two "
		      "OCSP answers:\n%s",
		      out);
	}
	free(pdf);
	free(signed_pdf);
	signer_credential_free(c);
	signer_ca_free(ca);
}

static void test_organization_identifier(void)
{
	static const char *const bad[] = {"",
	                                  "NTRFR",
	                                  "NTRFR-",
	                                  "ntrFR-123",
	                                  "NTRF-123456789",
	                                  "NTRFR-12 34",
	                                  "NTRFR-123456789012345678901234567890123456789012345678901234567890"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK(signer_organization_identifier_check(bad[i]) == SIGNER_ERR_INVALID, "refused: \"%s\"", bad[i]);
	CHECK(signer_organization_identifier_check(NULL) == SIGNER_ERR_INVALID, "NULL refused");
	CHECK(signer_organization_identifier_check("NTRFR-552100554") == SIGNER_OK &&
	          signer_organization_identifier_check("VATFR-12552100554") == SIGNER_OK,
	      "NTRFR-<SIREN> and VATFR-<number> accepted");
	char keys[600];
	snprintf(keys, sizeof keys, "%s/bad-org", root);
	CHECK(signer_ca_init_as(keys, NOW_FIXED_S, "FR 552 100 554") == SIGNER_ERR_INVALID, "init refuses it");
}

int main(void)
{
	char *dir = scratch_dir("signer-hierarchy");
	REQUIRE(dir, "scratch directory");
	snprintf(root, sizeof root, "%s", dir);
	free(dir);
	int64_t now_s = (int64_t)time(NULL); /* openssl checks times against its own clock */
	char keys[540];
	snprintf(keys, sizeof keys, "%s/keys", root);
	signer_ca *ca = NULL;
	REQUIRE(signer_ca_init_as(keys, now_s - DAY_S, ORGANIZATION) == SIGNER_OK &&
	            signer_ca_open(keys, &ca) == SIGNER_OK,
	        "root: %s", signer_last_error());
	REQUIRE(signer_ca_set_pki_url(ca, PKI_URL) == SIGNER_OK, "PKI URL");
	REQUIRE(signer_hierarchy_enable(ca, keys, now_s) == SIGNER_OK, "hierarchy: %s", signer_last_error());
	REQUIRE(signer_tsa_enable(ca, keys, now_s) == SIGNER_OK && signer_ocsp_enable(ca, keys, now_s) == SIGNER_OK,
	        "units: %s", signer_last_error());
	signer_credential *a = NULL, *s = NULL;
	REQUIRE(signer_issue_kept(ca, &alice, now_s, 30, &a) == SIGNER_OK && credential_pem(a, "alice.pem"), "alice");
	REQUIRE(signer_issue_kept(ca, &seal, now_s, 30, &s) == SIGNER_OK && credential_pem(s, "seal.pem"), "seal");
	char out[OUTPUT_MAX];
	REQUIRE(sh(out, "cp '%s/%s' tsa.pem", keys, SIGNER_TSA_CERT_FILE) == 0, "tsa.pem");
	test_root(keys);
	test_issuing(keys, "persons", "CN = JeSignExpert Persons CA");
	test_issuing(keys, "seals", "CN = JeSignExpert Seals CA");
	test_issuing(keys, "tsa", "CN = JeSignExpert Time-Stamping CA");
	test_leaf(keys, "alice.pem", "persons", "51");
	test_leaf(keys, "seal.pem", "seals", "52");
	test_leaf(keys, "tsa.pem", "tsa", "53");
	test_path_length(keys);
	ocsp_check(ca, keys, "alice.pem", "signer-ca-persons.pem", "alice.pem: good", "CN=JeSignExpert Persons CA",
	           now_s);
	ocsp_check(ca, keys, "seal.pem", "signer-ca-seals.pem", "seal.pem: good", "CN=JeSignExpert Seals CA", now_s);
	ocsp_check(ca, keys, "tsa.pem", "signer-ca-tsa.pem", "tsa.pem: good", "CN=JeSignExpert Time-Stamping CA",
	           now_s);
	ocsp_check(ca, keys, "alice.pem", SIGNER_CA_CERT_FILE, "alice.pem: unknown", NULL, now_s);
	test_revocation(ca, keys, a, now_s);
	ocsp_check(ca, keys, "alice.pem", "signer-ca-persons.pem", "alice.pem: revoked", "CN=JeSignExpert Persons CA",
	           now_s);
	test_authority_keys(ca);
	signer_credential_free(a);
	signer_credential_free(s);
	signer_ca_free(ca);
	signer_ca *reopened = NULL;
	CHECK(signer_ca_open(keys, &reopened) == SIGNER_OK, "reopened with its hierarchy: %s", signer_last_error());
	signer_ca_free(reopened);
	test_legacy(now_s);
	test_tsa_renewal();
	test_units_renewal();
	test_read_only();
	test_unit_names();
	test_interrupted();
	test_longest_url();
	test_organization_identifier();
	if (!getenv("SIGNER_TEST_KEEP"))
		remove_dir(root);
	return check_report(__FILE__);
}
