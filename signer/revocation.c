/*
 * revocation.c: the certificates the CA has revoked, and what says so: its CRL (RFC 5280) and
 * its OCSP responder's answers (RFC 6960).
 *
 * The signer does not store the revoked set: ledgerd folds it from its log (CertificateRevoked)
 * and gives it to the CA after each open and at each revocation (signer_ca_revoke), so that a
 * replay reproduces it and no second record can disagree with the log. The set is the one part
 * of a signer_ca that changes while threads sign with it; it has its own lock.
 */
#include "internal.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SECONDS_PER_DAY 86400

static const struct {
	int code;
	const char *name;
} reasons[] = {
    {SIGNER_REVOKE_UNSPECIFIED, "unspecified"},
    {SIGNER_REVOKE_KEY_COMPROMISE, "keyCompromise"},
    {SIGNER_REVOKE_AFFILIATION_CHANGED, "affiliationChanged"},
    {SIGNER_REVOKE_SUPERSEDED, "superseded"},
    {SIGNER_REVOKE_CESSATION_OF_OPERATION, "cessationOfOperation"},
    {SIGNER_REVOKE_CERTIFICATE_HOLD, "certificateHold"},
    {SIGNER_REVOKE_PRIVILEGE_WITHDRAWN, "privilegeWithdrawn"},
};

const char *signer_revoke_reason_name(int reason)
{
	for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
		if (reasons[i].code == reason)
			return reasons[i].name;
	return NULL;
}

int signer_revoke_reason_parse(const char *name)
{
	for (size_t i = 0; name && i < sizeof reasons / sizeof reasons[0]; i++)
		if (strcmp(reasons[i].name, name) == 0)
			return reasons[i].code;
	return -1;
}

void signer_serial_hex(X509 *x, char out[SIGNER_SERIAL_HEX_BYTES])
{
	out[0] = '\0';
	BIGNUM *bn = x ? ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL) : NULL;
	char *hex = bn ? BN_bn2hex(bn) : NULL;
	if (hex && strlen(hex) < SIGNER_SERIAL_HEX_BYTES)
		memcpy(out, hex, strlen(hex) + 1);
	OPENSSL_free(hex);
	BN_free(bn);
}

/* serial in canonical form (upper case, no leading zero) into out; false if it is not hex. */
static bool serial_normalise(const char *serial, char out[SIGNER_SERIAL_HEX_BYTES])
{
	size_t n = serial ? strlen(serial) : 0;
	if (n == 0 || n >= SIGNER_SERIAL_HEX_BYTES)
		return false;
	size_t j = 0;
	for (size_t i = 0; i < n; i++) {
		char c = serial[i];
		if (c >= 'a' && c <= 'f')
			c = (char)(c - 'a' + 'A');
		if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F')))
			return false;
		if (c == '0' && j == 0 && i + 1 < n)
			continue;
		out[j++] = c;
	}
	out[j] = '\0';
	return true;
}

bool signer_serial_canonical(const char *serial, char out[SIGNER_SERIAL_HEX_BYTES])
{
	return serial_normalise(serial, out);
}

signer_err signer_kept_each(signer_ca *ca, bool (*visit)(void *ctx, const char *serial), void *ctx)
{
	if (!ca || !visit)
		return signer_fail(SIGNER_ERR_INVALID, "signer_kept_each: NULL argument");
	DIR *d = opendir(ca->credentials_dir);
	if (!d && errno == ENOENT)
		return SIGNER_OK;
	if (!d)
		return signer_fail(SIGNER_ERR_IO, "cannot list %s: %s", ca->credentials_dir, strerror(errno));
	bool more = true;
	for (struct dirent *e = readdir(d); e && more; e = readdir(d)) {
		/* <SERIAL>.pem: upper-case hex, as signer_issue_kept names them (not the 64 lower-case hex
		 * digits of signer_credential_get_or_issue's files) */
		char serial[SIGNER_SERIAL_HEX_BYTES], canonical[SIGNER_SERIAL_HEX_BYTES];
		size_t n = strlen(e->d_name);
		if (n <= 4 || n - 4 >= SIGNER_SERIAL_HEX_BYTES || strcmp(e->d_name + n - 4, ".pem") != 0)
			continue;
		memcpy(serial, e->d_name, n - 4);
		serial[n - 4] = '\0';
		if (serial_normalise(serial, canonical) && strcmp(serial, canonical) == 0)
			more = visit(ctx, serial);
	}
	closedir(d);
	return SIGNER_OK;
}

/* The entry of serial (canonical), or NULL. Under the lock. */
static const signer_revoked *find_locked(const signer_ca *ca, const char *serial)
{
	for (size_t i = 0; i < ca->revoked_count; i++)
		if (strcmp(ca->revoked[i].serial, serial) == 0)
			return &ca->revoked[i];
	return NULL;
}

signer_err signer_ca_revoke(signer_ca *ca, const char *serial, int64_t time_s, int reason)
{
	char canonical[SIGNER_SERIAL_HEX_BYTES];
	if (!ca || !serial_normalise(serial, canonical))
		return signer_fail(SIGNER_ERR_INVALID, "signer_ca_revoke: a serial of 1 to %u hex digits",
		                   SIGNER_SERIAL_HEX_BYTES - 1);
	if (!signer_revoke_reason_name(reason) || time_s < 0)
		return signer_fail(SIGNER_ERR_INVALID, "signer_ca_revoke: reason %d or time %lld", reason,
		                   (long long)time_s);
	signer_err err = SIGNER_OK;
	pthread_mutex_lock(&ca->revoked_lock);
	if (find_locked(ca, canonical)) {
		/* revoked already: the first record stands */
	} else if (ca->revoked_count >= SIGNER_REVOKED_MAX) {
		err = signer_fail(SIGNER_ERR_TOO_LARGE, "more than %u revoked certificates", SIGNER_REVOKED_MAX);
	} else {
		if (ca->revoked_count == ca->revoked_capacity) {
			size_t capacity = ca->revoked_capacity ? 2 * ca->revoked_capacity : 16;
			signer_revoked *grown = realloc(ca->revoked, capacity * sizeof *grown);
			if (!grown)
				err = signer_fail(SIGNER_ERR_NOMEM, "signer_ca_revoke");
			else {
				ca->revoked = grown;
				ca->revoked_capacity = capacity;
			}
		}
		if (!err) {
			signer_revoked *r = &ca->revoked[ca->revoked_count++];
			memcpy(r->serial, canonical, sizeof r->serial);
			r->time_s = time_s;
			r->reason = reason;
		}
	}
	pthread_mutex_unlock(&ca->revoked_lock);
	return err;
}

/* The revocation of serial (any form) into *out; false if it is not revoked. */
static bool revoked_get(signer_ca *ca, const char *serial, signer_revoked *out)
{
	char canonical[SIGNER_SERIAL_HEX_BYTES];
	if (!ca || !serial_normalise(serial, canonical))
		return false;
	pthread_mutex_lock(&ca->revoked_lock);
	const signer_revoked *r = find_locked(ca, canonical);
	if (r)
		*out = *r;
	pthread_mutex_unlock(&ca->revoked_lock);
	return r != NULL;
}

bool signer_ca_is_revoked(const signer_ca *ca, const char *serial)
{
	signer_revoked r;
	return revoked_get((signer_ca *)ca, serial, &r); /* only the lock is written */
}

void signer_revoked_free(signer_ca *ca)
{
	free(ca->revoked);
	ca->revoked = NULL;
	ca->revoked_count = ca->revoked_capacity = 0;
}

/* ----- OCSP ----- */

/* The OCSP response, signed by the responder, of certificate's status (issued by one of ca's CAs) at
 * now_s: revoked, with its time and reason, if the CA has it so, good otherwise. */
static signer_err ocsp_status(signer_ca *ca, X509 *certificate, int64_t now_s, uint8_t **der, size_t *der_bytes)
{
	X509 *issuer = NULL, *responder = NULL;
	EVP_PKEY *issuer_key = NULL;
	if (!signer_issuer_of(ca, certificate, &issuer, &issuer_key, &responder))
		return signer_fail(SIGNER_ERR_KEYS, "a certificate none of the CAs issued");
	if (!ca->ocsp_key || !responder)
		return signer_fail(SIGNER_ERR_KEYS, "no OCSP responder (signer_ocsp_enable)");
	char serial[SIGNER_SERIAL_HEX_BYTES];
	signer_serial_hex(certificate, serial);
	signer_revoked rev;
	bool revoked = revoked_get(ca, serial, &rev);
	OCSP_BASICRESP *basic = OCSP_BASICRESP_new();
	OCSP_CERTID *id = OCSP_cert_to_id(EVP_sha1(), certificate, issuer);
	ASN1_TIME *this_update = ASN1_TIME_set(NULL, (time_t)now_s);
	ASN1_TIME *next_update =
	    ASN1_TIME_set(NULL, (time_t)(now_s + SIGNER_CRL_VALIDITY_DAYS * (int64_t)SECONDS_PER_DAY));
	ASN1_TIME *revoked_at = revoked ? ASN1_TIME_set(NULL, (time_t)rev.time_s) : NULL;
	STACK_OF(X509) *chain = sk_X509_new_null();
	OCSP_RESPONSE *response = NULL;
	bool ok = basic && id && this_update && next_update && chain && (!revoked || revoked_at) &&
	          sk_X509_push(chain, issuer) && /* the responder's issuer: the chain up to the root */
	          OCSP_basic_add1_status(basic, id, revoked ? V_OCSP_CERTSTATUS_REVOKED : V_OCSP_CERTSTATUS_GOOD,
	                                 revoked ? rev.reason : 0, revoked_at, this_update, next_update) &&
	          OCSP_basic_sign(basic, responder, ca->ocsp_key, EVP_sha256(), chain, 0) == 1 &&
	          (response = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, basic));
	unsigned char *out = NULL;
	int n = ok ? i2d_OCSP_RESPONSE(response, &out) : -1;
	OCSP_RESPONSE_free(response);
	sk_X509_free(chain);
	ASN1_TIME_free(revoked_at);
	ASN1_TIME_free(next_update);
	ASN1_TIME_free(this_update);
	OCSP_CERTID_free(id);
	OCSP_BASICRESP_free(basic);
	return signer_der_take(out, n, "making an OCSP response", der, der_bytes);
}

signer_err signer_ca_ocsp(const signer_ca *ca, const signer_credential *credential, int64_t now_s, uint8_t **der,
                          size_t *der_bytes)
{
	if (!ca || !der || !der_bytes)
		return signer_fail(SIGNER_ERR_INVALID, "signer_ca_ocsp: NULL argument");
	*der = NULL;
	*der_bytes = 0;
	X509 *subject = credential ? credential->certificate : ca->tsa_certificate;
	if (!subject)
		return signer_fail(SIGNER_ERR_KEYS, "no time-stamping unit to answer for");
	/* the lock is the only thing written, and it is not part of what callers share as const */
	return ocsp_status((signer_ca *)ca, subject, now_s, der, der_bytes);
}

/* ----- the CRL ----- */

/* Whether the CRL of the CA whose serials carry tag (0: the root) lists revoked serial r. The
 * root lists every revoked serial where it issued end entities itself (they carry no tag), and
 * none otherwise: no issuing CA is revoked by the ledger. */
static bool crl_lists(const signer_ca *ca, uint8_t tag, const char *serial)
{
	if (!tag)
		return !ca->hierarchy || ca->root_issued_leaves;
	char prefix[3];
	snprintf(prefix, sizeof prefix, "%02X", tag);
	return strlen(serial) == 32 && strncmp(serial, prefix, 2) == 0;
}

/* Adds every revoked certificate of the CA tagged tag to crl. */
static bool crl_add_revoked(signer_ca *ca, uint8_t tag, X509_CRL *crl)
{
	bool ok = true;
	pthread_mutex_lock(&ca->revoked_lock);
	for (size_t i = 0; ok && i < ca->revoked_count; i++) {
		const signer_revoked *r = &ca->revoked[i];
		if (!crl_lists(ca, tag, r->serial))
			continue;
		X509_REVOKED *entry = X509_REVOKED_new();
		BIGNUM *bn = NULL;
		ASN1_INTEGER *serial = NULL;
		ASN1_TIME *at = ASN1_TIME_set(NULL, (time_t)r->time_s);
		ASN1_ENUMERATED *reason = ASN1_ENUMERATED_new();
		ok = entry && at && reason && BN_hex2bn(&bn, r->serial) > 0 &&
		     (serial = BN_to_ASN1_INTEGER(bn, NULL)) && X509_REVOKED_set_serialNumber(entry, serial) &&
		     X509_REVOKED_set_revocationDate(entry, at) && ASN1_ENUMERATED_set(reason, r->reason) &&
		     X509_REVOKED_add1_ext_i2d(entry, NID_crl_reason, reason, 0, 0) == 1 &&
		     X509_CRL_add0_revoked(crl, entry);
		if (ok)
			entry = NULL; /* the CRL's now */
		X509_REVOKED_free(entry);
		ASN1_ENUMERATED_free(reason);
		ASN1_TIME_free(at);
		ASN1_INTEGER_free(serial);
		BN_free(bn);
	}
	pthread_mutex_unlock(&ca->revoked_lock);
	return ok;
}

/* The CRL of the CA certificate (key, tag) at now_s. */
static signer_err crl_make(const signer_ca *ca, X509 *certificate, EVP_PKEY *key, uint8_t tag, int64_t now_s,
                           uint8_t **der, size_t *der_bytes)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *this_update = ASN1_TIME_set(NULL, (time_t)now_s);
	ASN1_TIME *next_update =
	    ASN1_TIME_set(NULL, (time_t)(now_s + SIGNER_CRL_VALIDITY_DAYS * (int64_t)SECONDS_PER_DAY));
	ASN1_INTEGER *number = ASN1_INTEGER_new();
	X509V3_CTX v3;
	X509V3_set_ctx(&v3, certificate, NULL, NULL, crl, 0);
	X509_EXTENSION *aki = crl ? X509V3_EXT_conf_nid(NULL, &v3, NID_authority_key_identifier, "keyid:always") : NULL;
	bool ok = crl && this_update && next_update && number && aki && X509_CRL_set_version(crl, X509_CRL_VERSION_2) &&
	          X509_CRL_set_issuer_name(crl, X509_get_subject_name(certificate)) &&
	          X509_CRL_set1_lastUpdate(crl, this_update) && X509_CRL_set1_nextUpdate(crl, next_update) &&
	          crl_add_revoked((signer_ca *)ca, tag, crl) && ASN1_INTEGER_set_int64(number, now_s) &&
	          X509_CRL_add1_ext_i2d(crl, NID_crl_number, number, 0, 0) && X509_CRL_add_ext(crl, aki, -1) &&
	          X509_CRL_sort(crl) && X509_CRL_sign(crl, key, EVP_sha256()) > 0;
	unsigned char *out = NULL;
	int n = ok ? i2d_X509_CRL(crl, &out) : -1;
	X509_EXTENSION_free(aki);
	ASN1_INTEGER_free(number);
	ASN1_TIME_free(next_update);
	ASN1_TIME_free(this_update);
	X509_CRL_free(crl);
	return signer_der_take(out, n, "making a CA's CRL", der, der_bytes);
}

signer_err signer_ca_crl(const signer_ca *ca, int64_t now_s, uint8_t **der, size_t *der_bytes)
{
	if (!ca || !der || !der_bytes)
		return signer_fail(SIGNER_ERR_INVALID, "signer_ca_crl: NULL argument");
	*der = NULL;
	*der_bytes = 0;
	return crl_make(ca, ca->certificate, ca->key, 0, now_s, der, der_bytes);
}

signer_err signer_issuing_crl(const signer_ca *ca, signer_issuing which, int64_t now_s, uint8_t **der,
                              size_t *der_bytes)
{
	if (!ca || !der || !der_bytes || (unsigned)which >= SIGNER_ISSUING_CAS)
		return signer_fail(SIGNER_ERR_INVALID, "signer_issuing_crl: NULL argument or no such CA");
	*der = NULL;
	*der_bytes = 0;
	const signer_issuing_ca *c = signer_issuing_for(ca, which);
	if (!c)
		return signer_fail(SIGNER_ERR_NOT_FOUND, "no hierarchy (signer_hierarchy_enable)");
	return crl_make(ca, c->certificate, c->key, (uint8_t)(SIGNER_SERIAL_TAG_BASE + which), now_s, der, der_bytes);
}

signer_err signer_credential_crl(const signer_ca *ca, const signer_credential *credential, int64_t now_s, uint8_t **der,
                                 size_t *der_bytes)
{
	if (!ca || !der || !der_bytes)
		return signer_fail(SIGNER_ERR_INVALID, "signer_credential_crl: NULL argument");
	*der = NULL;
	*der_bytes = 0;
	X509 *subject = credential ? credential->certificate : ca->tsa_certificate;
	for (size_t i = 0; subject && ca->hierarchy && i < SIGNER_ISSUING_CAS; i++)
		if (X509_check_issued(ca->issuing[i].certificate, subject) == X509_V_OK)
			return signer_issuing_crl(ca, (signer_issuing)i, now_s, der, der_bytes);
	return SIGNER_OK; /* the root's: signer_ca_crl */
}
