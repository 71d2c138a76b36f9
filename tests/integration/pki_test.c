/*
 * pki_test: the CA hierarchy's PKI online, as relying parties reach it. A real ledgerd, its data
 * directory made with --pki-url on a free local port, signs a two-signer document (an internal
 * signer and an external one) and seals one at each PAdES level, B-B, B-T, B-LT and B-LTA;
 * pdfsig, with an NSS database that trusts ONLY the root (the issuing CAs travel in the
 * signatures) and its revocation checking on (no -no-ocsp), says "Signature is Valid." and
 * "Certificate is Trusted." for every signature and seal, and each pdfsig run reaches ledgerd's
 * OCSP responder (its log counts the requests: the test cannot pass without online checking).
 * The persons' and the seal's certificates chain to the root through their issuing CAs
 * (`openssl verify -crl_check_all` with the CRLs fetched over HTTP), `openssl ocsp -url` finds
 * both good, each answer signed by the responder certificate of the right CA; the CRLs served
 * verify against their CA, the certificates served are the files, and requests that are not OCSP
 * requests get a typed HTTP or OCSP error. Then the platform revokes the signer's certificate over RPC
 * (CertificateRevoke) and, with no signature in between, the endpoint answers "revoked" to
 * openssl, lists it in the persons' CA's CRL (not the one cached a moment before) and in no other,
 * `openssl verify -crl_check_all` and pdfsig report the certificate revoked; the same for the
 * firm's seal through the seals' CA. Last, restarted with the test build's clock, ledgerd keeps
 * the TSA's certificate until less than the renewal margin is left, then re-issues it.
 */
#include "../check.h"
#include "../support/scratch.h"
#include "harness.h"
#include "pdf.h"
#include "pki_http.h"
#include "signer.h"

#include <fcntl.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FIRM         "JLM"
#define FIRM_NAME    "Cabinet Martin"
#define EC           "ec@cabinet.fr"
#define SIGNER       "claire@cabinet.fr"
#define SIGNER_NAME  "Claire Dubois"
#define CLIENT       "paul@client.fr"
#define CLIENT_NAME  "Paul Lefebvre"
#define CLIENT_PHONE "+33612345678"

#define PDF_BYTES_MAX 8192u
#define WAIT_MS_MAX   60000
#define POLL_MS       100
#define COMMAND_MAX   2048u
#define OUTPUT_MAX    32768u
#define LOG_BYTES_MAX (4u * 1024u * 1024u)
#define LEVELS        4

typedef Ledger__Api__CollectionView view;

static harness h;
static fixture_sender to_ledgerd;
static char work[64];     /* files for the validators */
static char log_path[96]; /* ledgerd's stderr */

/* ----- helpers ----- */

static int sh(char *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int sh(char *out, const char *fmt, ...)
{
	char command[COMMAND_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(command, sizeof command, fmt, ap);
	va_end(ap);
	static char sink[OUTPUT_MAX];
	return harness_run(command, out ? out : sink, OUTPUT_MAX);
}

static size_t count_of(const char *haystack, const char *needle)
{
	size_t n = 0;
	for (const char *p = strstr(haystack, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* How many times ledgerd has logged needle so far. */
static size_t logged(const char *needle)
{
	FILE *f = fopen(log_path, "r");
	char *text = calloc(1, LOG_BYTES_MAX);
	size_t n = f && text ? fread(text, 1, LOG_BYTES_MAX - 1, f) : 0;
	if (f)
		fclose(f);
	size_t count = text && n ? count_of(text, needle) : 0;
	free(text);
	return count;
}

static Ledger__Api__Reply *show(const char *id)
{
	return harness_collection_view(&h, EC, FIRM, id);
}

/* Polls until the collection is COMPLETED (want_signed NULL) or want_signed has signed. */
static bool wait_for(const char *id, const char *want_signed)
{
	for (int waited_ms = 0; waited_ms < WAIT_MS_MAX; waited_ms += POLL_MS) {
		Ledger__Api__Reply *r = show(id);
		bool done = false;
		const view *v = r ? r->collection->collection : NULL;
		if (v && !want_signed)
			done = v->state == LEDGER__EVENTS__COLLECTION_STATE__STATE_COMPLETED;
		for (size_t i = 0; v && want_signed && i < v->n_signers; i++)
			done = done || (strcmp(v->signers[i]->email, want_signed) == 0 && v->signers[i]->signed_);
		harness_code_of(r);
		if (done)
			return true;
		usleep(POLL_MS * 1000);
	}
	return false;
}

/* ----- a two-signer document at a level ----- */

static void setup(void)
{
	CHECK(fixture_account(&to_ledgerd, EC, "Jean Martin", true) == 0, "EC account");
	CHECK(fixture_account(&to_ledgerd, SIGNER, SIGNER_NAME, false) == 0, "signer account");
	CHECK(fixture_firm(&to_ledgerd, FIRM, FIRM_NAME, EC) == 0, "firm");
	CHECK(fixture_credits(&to_ledgerd, EC, FIRM, 100, "PO-2026-201") == 0, "credits");
	CHECK(fixture_grant(&to_ledgerd, EC, FIRM, SIGNER, LEDGER__EVENTS__RIGHT__RIGHT_SIGN, "2027-12-31") == 0,
	      "grant sign");
	for (int step = 1; step <= 5; step++)
		CHECK(fixture_registration_step_named(&to_ledgerd, SIGNER, (Ledger__Events__RegistrationStep)step,
		                                      "Claire", "Dubois") == 0,
		      "registration step %d", step);
}

static int level_set(Ledger__Events__SignatureLevel level)
{
	Ledger__Api__PreferencesUpdate u = LEDGER__API__PREFERENCES_UPDATE__INIT;
	u.firm_id = (char *)FIRM;
	u.signature_level = level;
	return fixture_preferences(&to_ledgerd, EC, &u);
}

/* The collection's final document written to work/name; false if any step failed. */
static bool final_document(const char *id, const char *name)
{
	Ledger__Api__Reply *r = show(id);
	const view *v = r ? r->collection->collection : NULL;
	Ledger__Api__Reply *d = NULL;
	if (v && v->n_documents == 1 && v->documents[0]->current_sha256.len == 32) {
		Ledger__Api__DocumentGet q = LEDGER__API__DOCUMENT_GET__INIT;
		q.firm_id = (char *)FIRM;
		q.sha256 = v->documents[0]->current_sha256;
		d = harness_ask(&h, EC, LEDGER__API__REQUEST__BODY_DOCUMENT_GET, &q);
	}
	char path[160];
	snprintf(path, sizeof path, "%s/%s", work, name);
	bool ok = d && d->document && write_file(path, d->document->content.data, d->document->content.len);
	harness_code_of(d);
	harness_code_of(r);
	return ok;
}

/* CollectionCreate of a collection of kind titled title, as EC: its id into id[32]; false if
 * refused. */
static bool collection_create(Ledger__Events__CollectionKind kind, const char *title, char id[32])
{
	Ledger__Api__CollectionCreate c = LEDGER__API__COLLECTION_CREATE__INIT;
	c.firm_id = (char *)FIRM;
	c.kind = kind;
	c.title = (char *)title;
	Ledger__Api__Reply *r = harness_ask(&h, EC, LEDGER__API__REQUEST__BODY_COLLECTION_CREATE, &c);
	if (r && !r->error && r->collection && r->collection->collection)
		snprintf(id, 32, "%s", r->collection->collection->collection_id);
	harness_code_of(r);
	return id[0] != '\0';
}

/* A collection of one document signed by SIGNER (a field on page 2) then CLIENT, at the firm's
 * level, its final version in work/name. */
static bool two_signers(const char *title, const char *name)
{
	uint8_t pdf[PDF_BYTES_MAX], sha[32];
	const char *texts[2] = {title, "Signatures"};
	size_t n = test_pdf_write(pdf, sizeof pdf, &(test_pdf_spec){.tag = title, .pages = 2, .texts = texts});
	crypto_hash_sha256(sha, pdf, n);
	char id[32] = "";
	REQUIRE(collection_create(LEDGER__EVENTS__COLLECTION_KIND__KIND_SIGNATURE, title, id), "%s: created", title);
	REQUIRE(fixture_document_add(&to_ledgerd, EC, FIRM, id, pdf, n, "lettre.pdf") == 0, "%s: document", title);
	REQUIRE(fixture_signer_add(&to_ledgerd, EC, FIRM, id, SIGNER, NULL, NULL) == 0, "%s: signer", title);
	REQUIRE(fixture_signer_add(&to_ledgerd, EC, FIRM, id, CLIENT, CLIENT_NAME, CLIENT_PHONE) == 0, "%s: client",
	        title);
	Ledger__Api__CollectionModify m = LEDGER__API__COLLECTION_MODIFY__INIT;
	Ledger__Api__CollectionRef ref;
	char *order[2] = {(char *)SIGNER, (char *)CLIENT};
	ref = fixture_ref(FIRM, id);
	m.ref = &ref;
	m.order = LEDGER__EVENTS__SIGNING_ORDER__ORDER_SEQUENTIAL;
	m.signer_order = order;
	m.n_signer_order = 2;
	REQUIRE(harness_send(&h, EC, LEDGER__API__REQUEST__BODY_COLLECTION_MODIFY, &m) == 0, "%s: order", title);
	Ledger__Api__FieldSet f = LEDGER__API__FIELD_SET__INIT;
	f.ref = &ref;
	f.signer = (char *)SIGNER;
	f.document_sha256 = (ProtobufCBinaryData){32, sha};
	f.page = 2;
	f.x0 = 320, f.y0 = 80, f.x1 = 540, f.y1 = 150;
	REQUIRE(harness_send(&h, EC, LEDGER__API__REQUEST__BODY_FIELD_SET, &f) == 0, "%s: field", title);
	REQUIRE(fixture_act(&to_ledgerd, EC, FIRM, id, LEDGER__API__COLLECTION_ACT__ACT__SEND, NULL) == 0, "%s: sent",
	        title);
	REQUIRE(harness_sign(&h, SIGNER, FIRM, id) == 0, "%s: authenticated and signed", title);
	REQUIRE(wait_for(id, SIGNER), "%s: the first signature within %d ms", title, WAIT_MS_MAX);
	REQUIRE(fixture_signer_report(&to_ledgerd, FIRM, id,
	                              &(fixture_report){.signer = CLIENT,
	                                                .action = LEDGER__EVENTS__SIGNER_ACTION__SIGNER_AUTHENTICATED,
	                                                .method = "sms",
	                                                .provider_reference = "OTP-2026-7781",
	                                                .masked_destination = "+33 6** ** ** 78",
	                                                .code_sent_at_us = (int64_t)(h.now_s - 60) * 1000000}) == 0,
	        "%s: the client authenticated", title);
	REQUIRE(harness_consent(&h, FIRM, id, CLIENT) == 0, "%s: the client consented", title);
	REQUIRE(wait_for(id, NULL), "%s: completed within %d ms", title, WAIT_MS_MAX);
	return final_document(id, name);
}

/* A seal collection of one document, sealed by the EC in the firm's name, at the firm's level, its
 * final version in work/name. */
static bool sealed(const char *title, const char *name)
{
	uint8_t pdf[PDF_BYTES_MAX];
	const char *texts[1] = {title};
	size_t n = test_pdf_write(pdf, sizeof pdf, &(test_pdf_spec){.tag = title, .pages = 1, .texts = texts});
	char id[32] = "";
	REQUIRE(collection_create(LEDGER__EVENTS__COLLECTION_KIND__KIND_SEAL, title, id), "%s: created", title);
	REQUIRE(fixture_document_add(&to_ledgerd, EC, FIRM, id, pdf, n, "attestation.pdf") == 0, "%s: document", title);
	REQUIRE(fixture_act(&to_ledgerd, EC, FIRM, id, LEDGER__API__COLLECTION_ACT__ACT__SEAL, NULL) == 0, "%s: sealed",
	        title);
	REQUIRE(wait_for(id, NULL), "%s: completed within %d ms", title, WAIT_MS_MAX);
	return final_document(id, name);
}

/* pdfsig with the NSS database trusting the root and online revocation checking: every one of
 * the signatures valid and trusted, and ledgerd's responder asked about each. */
static void pdfsig_trusted(const char *name, size_t signatures)
{
	char out[OUTPUT_MAX];
	size_t before = logged("ledgerd: pki: OCSP request");
	int rc = sh(out, "pdfsig -nssdir '%s/nss' '%s/%s' 2>&1", work, work, name);
	size_t asked = logged("ledgerd: pki: OCSP request") - before;
	CHECK(rc == 0 && count_of(out, "Signature Validation: Signature is Valid.") == signatures,
	      "%s: pdfsig: %zu signatures valid (exit %d):\n%s", name, signatures, rc, out);
	CHECK(count_of(out, "Certificate Validation: Certificate is Trusted.") == signatures,
	      "%s: pdfsig: %zu certificates trusted through the root alone:\n%s", name, signatures, out);
	if (signatures == 2)
		CHECK(strstr(out, SIGNER_NAME) && strstr(out, CLIENT_NAME), "%s: both signers named:\n%s", name, out);
	else
		CHECK(strstr(out, FIRM_NAME) != NULL, "%s: the firm's seal:\n%s", name, out);
	CHECK(asked >= signatures, "%s: pdfsig asked ledgerd's OCSP responder about each signer (%zu requests)", name,
	      asked);
	CHECK(logged("ledgerd: pki: OCSP request") == logged(", 0 revoked, 0 unknown"),
	      "%s: every answer of the responder so far: none revoked, none unknown", name);
}

/* The control: without revocation checking pdfsig asks nothing, so the count above is its OCSP.
 * (poppler 22.12 with -no-ocsp says "Unknown issue with Certificate" of any certificate: only the
 * signatures are judged here.) */
static void pdfsig_without_ocsp(const char *name)
{
	char out[OUTPUT_MAX];
	size_t before = logged("ledgerd: pki: OCSP request");
	int rc = sh(out, "pdfsig -no-ocsp -nssdir '%s/nss' '%s/%s' 2>&1", work, work, name);
	CHECK(rc == 0 && count_of(out, "Signature is Valid.") == 2, "%s: pdfsig -no-ocsp: valid:\n%s", name, out);
	CHECK(logged("ledgerd: pki: OCSP request") == before, "%s: pdfsig -no-ocsp asks the responder nothing", name);
}

/* ----- the PKI endpoint of the real ledgerd ----- */

/* The certificate (PEM) whose subject holds who out of a signed document, into work/file. */
static bool certificate_of(const char *name, const char *who, const char *file)
{
	char out[OUTPUT_MAX];
	int rc = sh(out,
	            "cd '%s' && rm -rf dump && mkdir dump && cd dump && pdfsig -dump '../%s' >/dev/null 2>&1 && "
	            "for f in *.sig*; do openssl pkcs7 -inform DER -in \"$f\" -print_certs; done > all.pem && "
	            "awk '/subject=.*CN = %s/{p=1} p{print} /^-----END CERTIFICATE-----$/{if(p) exit}' all.pem "
	            /* whole marker lines: a base64 line may hold "END" ("...ABENDTW...") */
	            "| sed -n '/^-----BEGIN CERTIFICATE-----$/,/^-----END CERTIFICATE-----$/p' > ../%s && "
	            "test -s ../%s",
	            work, name, who, file, file);
	return rc == 0;
}

/* The chain of the leaf work/leaf (issued by the CA of keys/signer-ca-<ca>.pem), checked as a
 * relying party would: the CRLs of its CA and of the root fetched over HTTP, each verifying
 * against its issuer, and `openssl verify -crl_check_all` up to the root alone; then OCSP for the
 * leaf, against the running ledgerd, the answer verified with the root alone. */
static void chain_checked(const char *leaf, const char *ca, const char *ca_name)
{
	char out[OUTPUT_MAX];
	int rc = sh(out,
	            "cd '%s' && curl -sf -o root.crl %s/crl/root.crl && curl -sf -o %s.crl %s/crl/%s.crl && "
	            "openssl crl -inform DER -in root.crl -CAfile '%s/keys/signer-ca.pem' -noout 2>&1 && "
	            "cat '%s/keys/signer-ca.pem' '%s/keys/signer-ca-%s.pem' > chain-%s.pem && "
	            "openssl crl -inform DER -in %s.crl -CAfile chain-%s.pem -noout 2>&1",
	            work, h.pki_url, ca, h.pki_url, ca, h.dir, h.dir, h.dir, ca, ca, ca, ca);
	CHECK(rc == 0 && count_of(out, "verify OK") == 2, "%s: the root's and the %s CA's CRLs over HTTP verify:\n%s",
	      leaf, ca, out);
	rc = sh(out,
	        "cd '%s' && openssl crl -inform DER -in root.crl > crls-%s.pem && openssl crl -inform DER -in %s.crl "
	        ">> crls-%s.pem && openssl verify -crl_check_all -CRLfile crls-%s.pem -CAfile '%s/keys/signer-ca.pem' "
	        "-untrusted '%s/keys/signer-ca-%s.pem' %s 2>&1",
	        work, ca, ca, ca, ca, h.dir, h.dir, ca, leaf);
	CHECK(rc == 0 && strstr(out, ": OK"), "%s: openssl verify -crl_check_all up to the root:\n%s", leaf, out);
	rc = sh(out, "cd '%s' && openssl verify -CAfile '%s/keys/signer-ca.pem' %s 2>&1", work, h.dir, leaf);
	CHECK(rc != 0, "%s: without its issuing CA it does not chain to the root (the root did not issue it)", leaf);
	rc = sh(out,
	        "cd '%s' && openssl ocsp -url %s/ocsp -issuer '%s/keys/signer-ca-%s.pem' -cert %s -CAfile "
	        "'%s/keys/signer-ca.pem' -resp_text 2>&1",
	        work, h.pki_url, h.dir, ca, leaf, h.dir);
	CHECK(rc == 0 && strstr(out, "Response verify OK") && strstr(out, ": good") && strstr(out, "OCSP Signing") &&
	          strstr(out, "organizationIdentifier=NTRFR-") && strstr(out, ca_name),
	      "%s: openssl ocsp -url: good, signed by a responder the %s CA certified:\n%s", leaf, ca, out);
}

static void test_endpoint(void)
{
	char out[OUTPUT_MAX];
	const char *ca = "keys/" SIGNER_CA_CERT_FILE, *persons = "keys/signer-ca-persons.pem";
	int rc = sh(out, "openssl ocsp -url %s/ocsp -issuer '%s/%s' -cert '%s/signer.pem' -CAfile '%s/%s' 2>&1",
	            h.pki_url, h.dir, persons, work, h.dir, ca);
	CHECK(rc == 0 && strstr(out, "Response verify OK") && strstr(out, "signer.pem: good"),
	      "openssl ocsp -url (POST, with a nonce): good:\n%s", out);
	rc = sh(out, "openssl ocsp -url %s/ocsp -issuer '%s/%s' -cert '%s/signer.pem' -CAfile '%s/%s' 2>&1", h.pki_url,
	        h.dir, ca, work, h.dir, ca);
	CHECK(strstr(out, "signer.pem: unknown") != NULL, "asked as if the root had issued it: unknown:\n%s", out);
	rc = sh(out,
	        "cd '%s' && curl -sf -o crl.der -w '%%{content_type}' %s/crl && openssl crl -inform DER -in crl.der "
	        "-CAfile '%s/%s' -noout 2>&1",
	        work, h.pki_url, h.dir, ca);
	CHECK(rc == 0 && strstr(out, "application/pkix-crl") && strstr(out, "verify OK"),
	      "GET /crl: a CRL that verifies against the CA:\n%s", out);
	rc = sh(out,
	        "cd '%s' && curl -sf -o ca.der %s/ca.crt && openssl x509 -in '%s/%s' -outform DER -out ca-file.der && "
	        "cmp ca.der ca-file.der 2>&1",
	        work, h.pki_url, h.dir, ca);
	CHECK(rc == 0, "GET /ca.crt: the CA certificate:\n%s", out);
	rc = sh(out,
	        "cd '%s' && for c in persons seals tsa; do curl -sf -o $c.der %s/ca/$c.crt && openssl x509 -in "
	        "'%s/keys/signer-ca-'$c.pem -outform DER | cmp - $c.der || exit 1; done && curl -sf -o root.der "
	        "%s/ca/root.crt && cmp root.der ca-file.der 2>&1",
	        work, h.pki_url, h.dir, h.pki_url);
	CHECK(rc == 0, "GET /ca/<persons|seals|tsa|root>.crt: each CA's certificate:\n%s", out);
	rc = sh(out, "curl -s -o /dev/null -w '%%{http_code}' %s/crl/nobody.crl", h.pki_url);
	CHECK(strcmp(out, "404") == 0, "the CRL of no CA: 404, got %s", out);
	/* RFC 6960 A.1 GET, base64 url-encoded, as NSS sends it */
	rc = sh(out,
	        "cd '%s' && openssl ocsp -no_nonce -issuer '%s/%s' -cert signer.pem -reqout get.der >/dev/null && "
	        "curl -sf -o get-resp.der %s/ocsp/$(base64 -w0 get.der | sed 's/+/%%2B/g;s|/|%%2F|g;s/=/%%3D/g') && "
	        "openssl ocsp -no_nonce -respin get-resp.der -CAfile '%s/%s' -issuer '%s/%s' -cert signer.pem 2>&1",
	        work, h.dir, persons, h.pki_url, h.dir, ca, h.dir, persons);
	CHECK(rc == 0 && strstr(out, "signer.pem: good"), "GET /ocsp/<base64>: good:\n%s", out);
	rc = sh(out,
	        "cd '%s' && curl -sf -o bad.der %s/ocsp/not-base64%%21 && openssl ocsp -respin bad.der -resp_text 2>&1",
	        work, h.pki_url);
	CHECK(strstr(out, "malformedrequest") != NULL, "GET of noise: malformedRequest:\n%s", out);
	rc = sh(out,
	        "cd '%s' && head -c 20000 /dev/zero > big.bin && curl -s -o /dev/null -w '%%{http_code}' -H "
	        "'Content-Type: application/ocsp-request' --data-binary @big.bin %s/ocsp",
	        work, h.pki_url);
	CHECK(strcmp(out, "400") == 0 || strcmp(out, "413") == 0, "a 20000-byte POST is refused: %s", out);
	rc = sh(out, "cd '%s' && curl -s -o /dev/null -w '%%{http_code}' --data-binary @get.der %s/ocsp", work,
	        h.pki_url);
	CHECK(strcmp(out, "415") == 0, "a POST that is not application/ocsp-request: 415, got %s", out);
	rc = sh(out, "curl -s -o /dev/null -w '%%{http_code}' %s/secret", h.pki_url);
	CHECK(strcmp(out, "404") == 0, "anything else: 404, got %s", out);
	(void)rc;
}

/* ----- revoked: through ledgerd, as the platform revokes a certificate ----- */

static void test_revoked(void)
{
	char out[OUTPUT_MAX], serial[SIGNER_SERIAL_HEX_BYTES + 16] = "";
	sh(out, "openssl x509 -in '%s/signer.pem' -noout -serial", work);
	char *eq = strchr(out, '=');
	REQUIRE_VOID(eq && sscanf(eq + 1, "%48[0-9A-Fa-f]", serial) == 1);
	const char *ca_file = "keys/" SIGNER_CA_CERT_FILE, *persons = "keys/signer-ca-persons.pem";
	int rc = sh(out, "openssl ocsp -url %s/ocsp -issuer '%s/%s' -cert '%s/signer.pem' -CAfile '%s/%s' 2>&1",
	            h.pki_url, h.dir, persons, work, h.dir, ca_file);
	CHECK(rc == 0 && strstr(out, "signer.pem: good"), "before the revocation: good:\n%s", out);
	/* a CRL made now is cached for a minute, unless the CA revokes one more certificate */
	rc = sh(out,
	        "cd '%s' && curl -sf -o crl1.der %s/crl/persons.crl && openssl crl -inform DER -in crl1.der -noout "
	        "-text 2>&1",
	        work, h.pki_url);
	CHECK(rc == 0 && strstr(out, "No Revoked Certificates"), "before the revocation: an empty CRL:\n%s", out);
	Ledger__Api__CertificateRevoke q = LEDGER__API__CERTIFICATE_REVOKE__INIT;
	q.subject = (char *)SIGNER;
	q.reason = (char *)"keyCompromise";
	q.comment = (char *)"telephone perdu";
	CHECK(harness_send(&h, "platform", LEDGER__API__REQUEST__BODY_CERTIFICATE_REVOKE, &q) == 0,
	      "the platform revokes %s's certificate", SIGNER);
	/* at once: no signature in between, the committed revocation reaches the CA */
	rc = sh(out, "openssl ocsp -url %s/ocsp -issuer '%s/%s' -cert '%s/signer.pem' -CAfile '%s/%s' 2>&1", h.pki_url,
	        h.dir, persons, work, h.dir, ca_file);
	CHECK(rc == 0 && strstr(out, "Response verify OK") && strstr(out, "signer.pem: revoked") &&
	          strstr(out, "Reason: keyCompromise"),
	      "openssl ocsp -url: revoked, keyCompromise:\n%s", out);
	rc = sh(out,
	        "cd '%s' && curl -sf -o crl2.der %s/crl/persons.crl && cat '%s/%s' '%s/%s' > persons-chain.pem && "
	        "openssl crl -inform DER -in crl2.der -CAfile persons-chain.pem -noout -text 2>&1",
	        work, h.pki_url, h.dir, ca_file, h.dir, persons);
	CHECK(rc == 0 && strstr(out, "verify OK") && strstr(out, serial) && strstr(out, "Key Compromise"),
	      "the persons' CA's CRL served at once, not the cached one, lists %s:\n%s", serial, out);
	rc = sh(out,
	        "cd '%s' && curl -sf -o crl3.der %s/crl/seals.crl && curl -sf -o crl4.der %s/crl/root.crl && "
	        "openssl crl -inform DER -in crl3.der -noout -text && openssl crl -inform DER -in crl4.der -noout "
	        "-text 2>&1",
	        work, h.pki_url, h.pki_url);
	CHECK(rc == 0 && !strstr(out, serial) && count_of(out, "No Revoked Certificates") == 2,
	      "the seals' CA's and the root's CRLs do not list a person's certificate:\n%s", out);
	rc = sh(out,
	        "cd '%s' && openssl crl -inform DER -in crl2.der > crls-revoked.pem && openssl crl -inform DER -in "
	        "crl4.der >> crls-revoked.pem && openssl verify -crl_check_all -CRLfile crls-revoked.pem -CAfile "
	        "'%s/%s' -untrusted '%s/%s' signer.pem 2>&1",
	        work, h.dir, ca_file, h.dir, persons);
	CHECK(rc != 0 && strstr(out, "certificate revoked"), "openssl verify -crl_check_all: revoked:\n%s", out);
	rc = sh(out, "pdfsig -nssdir '%s/nss' '%s/b-b.pdf' 2>&1", work, work);
	CHECK(strstr(out, "Certificate has been Revoked.") != NULL, "pdfsig: the signer's certificate is revoked:\n%s",
	      out);
	/* the firm's seal, revoked by the platform: the seals' CA's CRL and the responder say so */
	Ledger__Api__CertificateRevoke seal = LEDGER__API__CERTIFICATE_REVOKE__INIT;
	seal.firm_id = (char *)FIRM;
	seal.reason = (char *)"superseded";
	CHECK(harness_send(&h, "platform", LEDGER__API__REQUEST__BODY_CERTIFICATE_REVOKE, &seal) == 0,
	      "the platform revokes the firm's seal");
	rc = sh(out,
	        "cd '%s' && openssl ocsp -url %s/ocsp -issuer '%s/keys/signer-ca-seals.pem' -cert seal.pem -CAfile "
	        "'%s/%s' 2>&1",
	        work, h.pki_url, h.dir, h.dir, ca_file);
	CHECK(rc == 0 && strstr(out, "Response verify OK") && strstr(out, "seal.pem: revoked") &&
	          strstr(out, "Reason: superseded"),
	      "openssl ocsp -url: the seal revoked, superseded:\n%s", out);
	rc = sh(out,
	        "cd '%s' && curl -sf -o crl5.der %s/crl/seals.crl && openssl crl -inform DER -in crl5.der -noout -text "
	        "2>&1 && openssl x509 -in seal.pem -noout -serial",
	        work, h.pki_url);
	char *seal_serial = strstr(out, "serial=");
	CHECK(rc == 0 && seal_serial && strstr(out, seal_serial + strlen("serial=")) < seal_serial &&
	          strstr(out, "Superseded"),
	      "the seals' CA's CRL lists the seal, superseded:\n%s", out);
	rc = sh(out, "pdfsig -nssdir '%s/nss' '%s/seal-b-lta.pdf' 2>&1", work, work);
	CHECK(strstr(out, "Certificate has been Revoked.") != NULL, "pdfsig: the seal's certificate is revoked:\n%s",
	      out);
}

/* ----- the TSA's certificate, re-issued near its end, by the service's clock ----- */

/* The end of keys/signer-tsa.pem, in seconds; -1 if it cannot be read. */
static long long tsa_end_s(void)
{
	char out[OUTPUT_MAX];
	int rc =
	    sh(out,
	       "date -d \"$(openssl x509 -in '%s/keys/" SIGNER_TSA_CERT_FILE "' -noout -enddate | cut -d= -f2)\" +%%s",
	       h.dir);
	char *end = NULL;
	long long s = rc == 0 ? strtoll(out, &end, 10) : -1;
	return end && end != out ? s : -1;
}

/* ledgerd restarted at time at_s (the test build's clock file), with extra options. */
static bool restart_at(long long at_s, const char *const *extra)
{
	char now[32];
	time_t t = (time_t)at_s;
	strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	return harness_stop(&h) == 0 && harness_set_clock(&h, now) && harness_start(&h, extra);
}

static void test_tsa_renewal(void)
{
	long long first = tsa_end_s(), margin_s = 365LL * 86400;
	REQUIRE_VOID(first > 0);
	CHECK(restart_at(first - margin_s - 86400, NULL) && tsa_end_s() == first,
	      "a start with a day more than a year left keeps the TSA's certificate");
	static const char *const short_margin[] = {"--tsa-renew-days", "200", NULL};
	CHECK(restart_at(first - margin_s + 86400, short_margin) && tsa_end_s() == first,
	      "--tsa-renew-days 200: still kept with 364 days left");
	long long at = first - margin_s + 2 * 86400;
	CHECK(restart_at(at, NULL), "restarted with 363 days left");
	long long renewed = tsa_end_s();
	CHECK(renewed == at + 1825LL * 86400, "re-issued, five years from that start: %lld, expected %lld", renewed,
	      at + 1825LL * 86400);
	char out[OUTPUT_MAX];
	int rc =
	    sh(out,
	       "openssl verify -attime %lld -CAfile '%s/keys/signer-ca.pem' -untrusted '%s/keys/signer-ca-tsa.pem' "
	       "-purpose any '%s/keys/" SIGNER_TSA_CERT_FILE "' 2>&1",
	       at, h.dir, h.dir, h.dir);
	CHECK(rc == 0, "the renewed certificate is the time-stamping CA's:\n%s", out);
}

int main(int argc, char **argv)
{
	REQUIRE(argc == 2, "usage: pki_test BIN_DIR");
	REQUIRE(sodium_init() >= 0, "sodium");
	snprintf(work, sizeof work, "/tmp/pki-test-XXXXXX");
	REQUIRE(mkdtemp(work) != NULL, "work directory");
	snprintf(log_path, sizeof log_path, "%s/ledgerd.log", work);
	/* the real time: pdfsig and openssl check certificates and OCSP answers against it */
	char now[32];
	time_t t = time(NULL);
	strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	REQUIRE(harness_init(&h, argv[1], now), "init");
	/* ledgerd's stderr into the log that counts the responder's requests */
	int saved = dup(2), fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	REQUIRE(saved >= 0 && fd >= 0 && dup2(fd, 2) == 2, "log");
	bool started = harness_start(&h, NULL);
	dup2(saved, 2);
	close(saved);
	close(fd);
	REQUIRE(started, "start");
	REQUIRE(logged("ledgerd: PKI endpoint http://127.0.0.1:") == 1, "ledgerd serves its PKI endpoint");
	to_ledgerd = harness_sender(&h);
	char out[OUTPUT_MAX];
	REQUIRE(sh(out,
	           "mkdir '%s/nss' && certutil -N -d '%s/nss' --empty-password && certutil -A -d '%s/nss' -n "
	           "jse-ledger-ca -t CT,C,C -a -i '%s/keys/%s' 2>&1",
	           work, work, work, h.dir, SIGNER_CA_CERT_FILE) == 0,
	        "an NSS database trusting the CA: %s", out);
	setup();
	static const struct {
		Ledger__Events__SignatureLevel level;
		const char *title, *file;
		const char *seal_title, *seal_file;
	} levels[LEVELS] = {
	    {LEDGER__EVENTS__SIGNATURE_LEVEL__LEVEL_B_B, "Lettre B-B", "b-b.pdf", "Cachet B-B", "seal-b-b.pdf"},
	    {LEDGER__EVENTS__SIGNATURE_LEVEL__LEVEL_B_T, "Lettre B-T", "b-t.pdf", "Cachet B-T", "seal-b-t.pdf"},
	    {LEDGER__EVENTS__SIGNATURE_LEVEL__LEVEL_B_LT, "Lettre B-LT", "b-lt.pdf", "Cachet B-LT", "seal-b-lt.pdf"},
	    {LEDGER__EVENTS__SIGNATURE_LEVEL__LEVEL_B_LTA, "Lettre B-LTA", "b-lta.pdf", "Cachet B-LTA",
	     "seal-b-lta.pdf"}};
	for (int i = 0; i < LEVELS; i++) {
		REQUIRE(level_set(levels[i].level) == 0, "%s: the level", levels[i].title);
		if (two_signers(levels[i].title, levels[i].file))
			pdfsig_trusted(levels[i].file, 2);
		else
			CHECK(false, "%s: signed by both", levels[i].title);
		if (sealed(levels[i].seal_title, levels[i].seal_file))
			pdfsig_trusted(levels[i].seal_file, 1);
		else
			CHECK(false, "%s: sealed", levels[i].seal_title);
	}
	pdfsig_without_ocsp("b-b.pdf");
	REQUIRE(certificate_of("b-b.pdf", SIGNER_NAME, "signer.pem"), "the signer's certificate out of b-b.pdf");
	REQUIRE(certificate_of("seal-b-lta.pdf", FIRM_NAME, "seal.pem"),
	        "the seal's certificate out of seal-b-lta.pdf");
	chain_checked("signer.pem", "persons", "CN=JeSignExpert Persons CA");
	chain_checked("seal.pem", "seals", "CN=JeSignExpert Seals CA");
	test_endpoint();
	test_revoked();
	test_tsa_renewal();
	CHECK(harness_stop(&h) == 0, "clean stop");
	harness_cleanup(&h);
	int rc = check_report("pki_test");
	if (rc == 0)
		sh(NULL, "rm -rf '%s'", work);
	else
		fprintf(stderr, "kept %s for a look\n", work);
	return rc;
}
