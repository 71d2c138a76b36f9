/*
 * signer_expiry_test: a B-LTA signature checked again at a time past its signer certificate's
 * expiry (docs/signer.md, "Past the certificate's expiry"). Shows what a PAdES validator relies
 * on then, with validators that share no code with us:
 *   - the CAdES signature alone no longer validates: `openssl cms -verify -attime` at that time
 *     fails on the signer's certificate ("certificate has expired"), while at the signing time
 *     it verifies: the failure is the clock, not the bytes;
 *   - the signature time-stamp (over the signature value) and the document time-stamp (over the
 *     whole signed file and its /DSS) still verify at that time, `openssl ts -verify -attime`,
 *     their TSA certificate being valid for years more; and each token's genTime lies inside the
 *     signer certificate's validity: the signature existed while its certificate was valid. Past
 *     the TSA certificate's own expiry the document time-stamp fails too: what archive
 *     re-time-stamping is for;
 *   - pdfsig run under a shifted clock (libfaketime): at the signing time "Certificate is
 *     Trusted."; past the expiry "Certificate has Expired", the signature value still "Signature
 *     is Valid.": pdfsig 22 checks the certificate at its own clock and does not use the
 *     time-stamps for it.
 * Times are injected: the CA, the credential (valid VALIDITY_DAYS) and the signature are made at
 * SIGNED_S; openssl is given its time with -attime, pdfsig with faketime.
 */
#include "signer_util.h"

#include "signer.h"

#include <openssl/cms.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/sha.h>
#include <openssl/ts.h>
#include <openssl/x509.h>
#include <time.h>

#define OUTPUT_BYTES  65536
#define SIGNED_S      1767261600 /* 2026-01-01T10:00:00Z: any fixed time will do */
#define VALIDITY_DAYS 2
#define DAY_S         86400

static char *dir;
static char ca_pem[512];

/* One /ByteRange of the document: the DER in its /Contents, and the bytes it covers. */
typedef struct signed_part {
	uint8_t *der, *content;
	size_t der_bytes, content_bytes;
} signed_part;

static bool write_all(const char *name, const uint8_t *data, size_t bytes, char *path, size_t path_bytes)
{
	snprintf(path, path_bytes, "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	bool ok = f && fwrite(data, 1, bytes, f) == bytes;
	return f && fclose(f) == 0 && ok;
}

/* The index-th /ByteRange [0 b c d] of pdf (from 0): its /Contents DER (without the zero
 * padding) and its covered bytes. False if there is none or it does not parse. */
static bool part_find(const uint8_t *pdf, size_t n, int index, signed_part *out)
{
	const uint8_t *p = pdf;
	for (int i = 0; p && i <= index; i++) {
		p = memmem(p, n - (size_t)(p - pdf), "/ByteRange", 10);
		if (p && i < index)
			p += 10;
	}
	size_t range[4];
	char window[96] = ""; /* the dictionary text after /ByteRange, NUL-terminated */
	if (p)
		memcpy(window, p + 10,
		       (size_t)(pdf + n - (p + 10)) < sizeof window - 1 ? (size_t)(pdf + n - (p + 10))
		                                                        : sizeof window - 1);
	const char *text = p ? window : NULL;
	while (text && *text == ' ')
		text++;
	text = text && *text == '[' ? text + 1 : NULL;
	for (int i = 0; text && i < 4; i++) {
		char *end;
		range[i] = (size_t)strtoull(text, &end, 10);
		text = end == text ? NULL : end;
	}
	size_t b = text ? range[1] : 0, c = text ? range[2] : 0, d = text ? range[3] : 0;
	if (!text || range[0] != 0 || b + 1 >= c || c + d > n)
		return false;
	size_t hex = c - b - 2;
	out->der = calloc(1, hex / 2 + 1);
	out->content = malloc(b + d);
	if (!out->der || !out->content)
		return false;
	for (size_t i = 0; i < hex / 2; i++) {
		char pair[3] = {(char)pdf[b + 1 + 2 * i], (char)pdf[b + 2 + 2 * i], '\0'}, *end;
		out->der[i] = (uint8_t)strtoul(pair, &end, 16);
		if (*end)
			return false;
	}
	/* The DER's own length: what follows is the zero padding. */
	size_t length = out->der[1] & 0x80 ? 0 : out->der[1], header = 2;
	for (int k = 0; out->der[1] & 0x80 && k < (out->der[1] & 0x7f); k++)
		length = length << 8 | out->der[2 + k], header++;
	out->der_bytes = header + length;
	memcpy(out->content, pdf, b);
	memcpy(out->content + b, pdf + c, d);
	out->content_bytes = b + d;
	return out->der[0] == 0x30 && out->der_bytes <= hex / 2;
}

/* genTime of an RFC 3161 token (DER ContentInfo), in seconds; -1 if it does not parse. */
static int64_t gen_time_s(const uint8_t *der, size_t bytes)
{
	const unsigned char *p = der;
	PKCS7 *token = d2i_PKCS7(NULL, &p, (long)bytes);
	TS_TST_INFO *info = token ? PKCS7_to_TS_TST_INFO(token) : NULL;
	const ASN1_GENERALIZEDTIME *t = info ? TS_TST_INFO_get_time(info) : NULL;
	struct tm tm;
	int64_t s = t && ASN1_TIME_to_tm(t, &tm) == 1 ? (int64_t)timegm(&tm) : -1;
	TS_TST_INFO_free(info);
	PKCS7_free(token);
	return s;
}

/* The notAfter of the TSA's certificate, in seconds; 0 if it cannot be read. */
static int64_t tsa_not_after_s(void)
{
	char path[600];
	snprintf(path, sizeof path, "%s/keys/%s", dir, SIGNER_TSA_CERT_FILE);
	FILE *f = fopen(path, "r");
	X509 *cert = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	if (f)
		fclose(f);
	struct tm tm;
	int64_t s = cert && ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) == 1 ? (int64_t)timegm(&tm) : 0;
	X509_free(cert);
	return s;
}

/* The signature time-stamp token of the CMS signature (its unsigned attribute) into token, and
 * the hex SHA-256 of the signature value it stamps into hex. */
static bool signature_timestamp(const signed_part *sig, uint8_t **token, size_t *token_bytes, char hex[65])
{
	const unsigned char *p = sig->der;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)sig->der_bytes);
	STACK_OF(CMS_SignerInfo) *infos = cms ? CMS_get0_SignerInfos(cms) : NULL;
	CMS_SignerInfo *si = infos && sk_CMS_SignerInfo_num(infos) == 1 ? sk_CMS_SignerInfo_value(infos, 0) : NULL;
	int at = si ? CMS_unsigned_get_attr_by_NID(si, NID_id_smime_aa_timeStampToken, -1) : -1;
	X509_ATTRIBUTE *attribute = at >= 0 ? CMS_unsigned_get_attr(si, at) : NULL;
	ASN1_TYPE *value = attribute ? X509_ATTRIBUTE_get0_type(attribute, 0) : NULL;
	bool ok = value && value->type == V_ASN1_SEQUENCE;
	if (ok) {
		const ASN1_OCTET_STRING *signature_value = CMS_SignerInfo_get0_signature(si);
		uint8_t digest[SHA256_DIGEST_LENGTH];
		SHA256(ASN1_STRING_get0_data(signature_value), (size_t)ASN1_STRING_length(signature_value), digest);
		for (size_t i = 0; i < sizeof digest; i++)
			snprintf(hex + 2 * i, 3, "%02x", digest[i]);
		*token_bytes = (size_t)value->value.sequence->length;
		*token = malloc(*token_bytes);
		ok = *token != NULL;
		if (ok)
			memcpy(*token, value->value.sequence->data, *token_bytes);
	}
	CMS_ContentInfo_free(cms);
	return ok;
}

/* openssl cms -verify of the signature over its bytes, at time at_s. */
static int cms_verify_at(const char *der, const char *content, int64_t at_s, char *out, size_t out_bytes)
{
	char command[3800];
	snprintf(command, sizeof command,
	         "openssl cms -verify -binary -inform DER -in '%s' -content '%s' -CAfile '%s' -purpose any "
	         "-attime %lld -out /dev/null",
	         der, content, ca_pem, (long long)at_s);
	return run(command, out, out_bytes);
}

/* pdfsig of path with nss (trusting the CA) under a clock set to at_s by faketime. */
static int pdfsig_at(const char *nss, const char *path, int64_t at_s, char *out, size_t out_bytes)
{
	char command[3800];
	snprintf(command, sizeof command, "faketime '@%lld' pdfsig -nssdir '%s' '%s'", (long long)at_s, nss, path);
	return run(command, out, out_bytes);
}

/* The CAdES signature alone: valid at the signing time, refused past its certificate's expiry. */
static void test_signature_alone(const signed_part *sig, int64_t expired_s)
{
	char der[512], content[512], out[OUTPUT_BYTES];
	REQUIRE_VOID(write_all("signature.der", sig->der, sig->der_bytes, der, sizeof der) &&
	             write_all("signed.bin", sig->content, sig->content_bytes, content, sizeof content));
	int rc = cms_verify_at(der, content, SIGNED_S + 60, out, sizeof out);
	CHECK(rc == 0, "openssl cms -verify at the signing time: exit %d: %s", rc, out);
	rc = cms_verify_at(der, content, expired_s, out, sizeof out);
	CHECK(rc != 0 && strstr(out, "certificate has expired"),
	      "openssl cms -verify past the certificate's expiry must fail on it: exit %d: %s", rc, out);
}

/* Both time-stamps verify past the expiry, and were made while the certificate was valid. */
static void test_timestamps(const signed_part *sig, const signed_part *stamp, int64_t expired_s, int64_t not_before_s,
                            int64_t not_after_s)
{
	uint8_t *token = NULL;
	size_t token_bytes = 0;
	char hex[65], token_path[512], stamp_path[512], stamped[512], command[3800], out[OUTPUT_BYTES];
	REQUIRE_VOID(signature_timestamp(sig, &token, &token_bytes, hex));
	REQUIRE_VOID(write_all("signature-tst.der", token, token_bytes, token_path, sizeof token_path) &&
	             write_all("document-tst.der", stamp->der, stamp->der_bytes, stamp_path, sizeof stamp_path) &&
	             write_all("stamped.bin", stamp->content, stamp->content_bytes, stamped, sizeof stamped));
	snprintf(command, sizeof command, "openssl ts -verify -digest %s -in '%s' -token_in -CAfile '%s' -attime %lld",
	         hex, token_path, ca_pem, (long long)expired_s);
	int rc = run(command, out, sizeof out);
	CHECK(rc == 0 && strstr(out, "Verification: OK"), "the signature time-stamp past the expiry: %d %s", rc, out);
	snprintf(command, sizeof command, "openssl ts -verify -data '%s' -in '%s' -token_in -CAfile '%s' -attime %lld",
	         stamped, stamp_path, ca_pem, (long long)expired_s);
	rc = run(command, out, sizeof out);
	CHECK(rc == 0 && strstr(out, "Verification: OK"), "the document time-stamp past the expiry: %d %s", rc, out);
	/* What the time-stamps do not give: a life past their own TSA certificate's. */
	snprintf(command, sizeof command, "openssl ts -verify -data '%s' -in '%s' -token_in -CAfile '%s' -attime %lld",
	         stamped, stamp_path, ca_pem, (long long)tsa_not_after_s() + DAY_S);
	rc = run(command, out, sizeof out);
	CHECK(rc != 0 && strstr(out, "certificate has expired"),
	      "the document time-stamp past its TSA certificate's expiry must fail: %d %s", rc, out);
	int64_t signature_time = gen_time_s(token, token_bytes),
	        document_time = gen_time_s(stamp->der, stamp->der_bytes);
	CHECK(signature_time >= not_before_s && signature_time <= not_after_s,
	      "the signature time-stamp's genTime %lld inside the certificate's validity [%lld, %lld]",
	      (long long)signature_time, (long long)not_before_s, (long long)not_after_s);
	CHECK(document_time >= signature_time && document_time <= not_after_s,
	      "the document time-stamp's genTime %lld after the signature's, before the expiry %lld",
	      (long long)document_time, (long long)not_after_s);
	free(token);
}

/* pdfsig at the signing time and past the expiry, its clock shifted by faketime. */
static void test_pdfsig(const char *path, int64_t expired_s)
{
	char nss[512], command[3800], out[OUTPUT_BYTES];
	snprintf(nss, sizeof nss, "%s/nss", dir);
	snprintf(command, sizeof command,
	         "mkdir '%s' && certutil -N -d '%s' --empty-password && certutil -A -d '%s' -n jse-ledger-ca "
	         "-t CT,C,C -a -i '%s'",
	         nss, nss, nss, ca_pem);
	REQUIRE_VOID(run(command, out, sizeof out) == 0);
	REQUIRE_VOID(run("faketime '@1767261600' date -u +%s", out, sizeof out) == 0 &&
	             strtoll(out, NULL, 10) == SIGNED_S);
	pdfsig_at(nss, path, SIGNED_S + 3600, out, sizeof out);
	CHECK(strstr(out, "Signature #1:") && strstr(out, "Signature is Valid.") &&
	          strstr(out, "Certificate Validation: Certificate is Trusted."),
	      "pdfsig at the signing time:\n%s", out);
	pdfsig_at(nss, path, expired_s, out, sizeof out);
	char *first = strstr(out, "Signature #1:"), *second = first ? strstr(first, "Signature #2:") : NULL;
	if (second)
		*second = '\0';
	CHECK(first && strstr(first, "Signature Validation: Signature is Valid.") &&
	          strstr(first, "Certificate Validation: Certificate has Expired"),
	      "pdfsig past the expiry: the signature value valid, the certificate expired:\n%s", out);
}

int main(void)
{
	dir = scratch_dir("signer-expiry");
	REQUIRE(dir, "scratch directory");
	char keys[400], path[512];
	snprintf(keys, sizeof keys, "%s/keys", dir);
	snprintf(ca_pem, sizeof ca_pem, "%s/%s", keys, SIGNER_CA_CERT_FILE);
	signer_ca *ca = NULL;
	signer_credential *cred = NULL;
	signer_subject who = {.kind = SIGNER_KIND_PERSON, .id = "salima@cabinet.fr", .display_name = "Salima Ben Ali"};
	REQUIRE(signer_ca_init(keys, SIGNED_S) == SIGNER_OK && signer_ca_open(keys, &ca) == SIGNER_OK &&
	            signer_tsa_enable(ca, keys, SIGNED_S) == SIGNER_OK &&
	            signer_ocsp_enable(ca, keys, SIGNED_S) == SIGNER_OK &&
	            signer_credential_get_or_issue(ca, &who, SIGNED_S, VALIDITY_DAYS, &cred, NULL) == SIGNER_OK,
	        "the CA and a credential: %s", signer_last_error());
	int64_t not_before_s = 0, not_after_s = 0;
	signer_credential_validity(cred, &not_before_s, &not_after_s);
	REQUIRE(not_after_s > SIGNED_S && not_after_s <= SIGNED_S + VALIDITY_DAYS * DAY_S, "validity %lld",
	        (long long)not_after_s);
	int64_t expired_s = not_after_s + 30 * DAY_S;

	uint8_t *pdf = NULL, *signed_pdf = NULL;
	size_t pdf_bytes = 0, signed_bytes = 0;
	test_page page = {A4_WIDTH_PT, A4_HEIGHT_PT, 0};
	REQUIRE(make_pdf(&page, 1, &pdf, &pdf_bytes), "a PDF");
	signer_sign_options o = {.signing_time_s = SIGNED_S, .reason = "Approbation des comptes"};
	REQUIRE(signer_pades_sign_at_level(ca, cred, SIGNER_LEVEL_B_LTA, pdf, pdf_bytes, &o, &signed_pdf,
	                                   &signed_bytes) == SIGNER_OK,
	        "B-LTA: %s", signer_last_error());
	REQUIRE(write_all("signed.pdf", signed_pdf, signed_bytes, path, sizeof path), "write");
	signed_part sig = {0}, stamp = {0};
	REQUIRE(part_find(signed_pdf, signed_bytes, 0, &sig) && part_find(signed_pdf, signed_bytes, 1, &stamp) &&
	            !part_find(signed_pdf, signed_bytes, 2, &(signed_part){0}),
	        "a signature then a document time-stamp");

	test_signature_alone(&sig, expired_s);
	test_timestamps(&sig, &stamp, expired_s, not_before_s, not_after_s);
	test_pdfsig(path, expired_s);

	free(sig.der);
	free(sig.content);
	free(stamp.der);
	free(stamp.content);
	free(pdf);
	free(signed_pdf);
	signer_credential_free(cred);
	signer_ca_free(ca);
	remove_dir(dir);
	free(dir);
	return check_report(__FILE__);
}
