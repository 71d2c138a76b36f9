/*
 * ocsp_responder.c: the CA's OCSP responder answering requests from outside (RFC 6960), what
 * ledgerd serves at <pki-url>/ocsp (api/pki_http.c).
 *
 * signer_ca_ocsp (revocation.c) makes the answer the signer embeds in a /DSS, for a certificate
 * it holds; here the request is a stranger's bytes: it is parsed with its size bounded first,
 * every CertID is matched against this CA by the hashes the request chose, and anything that is
 * not a request this responder can answer gets a signed-off malformedRequest, never a failure
 * of the caller. The revoked set is read under the CA's lock, so a revocation made while a
 * request is answered is either in the answer or not, never half.
 */
#include "internal.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <stdlib.h>
#include <string.h>

/* The DER of response into *der (malloc'd). */
static signer_err response_der(OCSP_RESPONSE *response, uint8_t **der, size_t *der_bytes)
{
	unsigned char *out = NULL;
	int n = response ? i2d_OCSP_RESPONSE(response, &out) : -1;
	return signer_der_take(out, n, "encoding an OCSP response", der, der_bytes);
}

static signer_err malformed(uint8_t **der, size_t *der_bytes, signer_ocsp_answer *answer)
{
	answer->malformed = true;
	OCSP_RESPONSE *response = OCSP_response_create(OCSP_RESPONSE_STATUS_MALFORMEDREQUEST, NULL);
	signer_err err = response_der(response, der, der_bytes);
	OCSP_RESPONSE_free(response);
	return err;
}

/* The revocation of serial, from the CA's set; false if it is not revoked (or not a serial). */
static bool revoked_lookup(signer_ca *ca, const ASN1_INTEGER *serial, signer_revoked *out)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(serial, NULL);
	char *hex = bn && !BN_is_negative(bn) ? BN_bn2hex(bn) : NULL;
	char canonical[SIGNER_SERIAL_HEX_BYTES];
	bool valid = hex && signer_serial_canonical(hex, canonical);
	OPENSSL_free(hex);
	BN_free(bn);
	bool found = false;
	if (!valid)
		return false;
	pthread_mutex_lock(&ca->revoked_lock);
	for (size_t i = 0; !found && i < ca->revoked_count; i++)
		if (strcmp(ca->revoked[i].serial, canonical) == 0) {
			*out = ca->revoked[i];
			found = true;
		}
	pthread_mutex_unlock(&ca->revoked_lock);
	return found;
}

/* Whether cid names a certificate issued by the CA certificate issuer: its name and key hashed as
 * cid says. */
static bool issued_by(X509 *issuer, OCSP_CERTID *cid)
{
	ASN1_OBJECT *md_oid = NULL;
	ASN1_INTEGER *serial = NULL;
	if (OCSP_id_get0_info(NULL, &md_oid, NULL, &serial, cid) != 1)
		return false;
	const EVP_MD *md = EVP_get_digestbyobj(md_oid);
	OCSP_CERTID *ours =
	    md ? OCSP_cert_id_new(md, X509_get_subject_name(issuer), X509_get0_pubkey_bitstr(issuer), serial) : NULL;
	bool same = ours && OCSP_id_issuer_cmp(ours, cid) == 0;
	OCSP_CERTID_free(ours);
	return same;
}

/* The CA certificate cid's issuer hashes name among ca's that have a responder certificate (an
 * issuing CA's, or the root's where it issued end entities), and that certificate; false if none. */
static bool responder_for(const signer_ca *ca, OCSP_CERTID *cid, X509 **issuer, X509 **responder)
{
	for (size_t i = 0; ca->hierarchy && i < SIGNER_ISSUING_CAS; i++)
		if (ca->issuing[i].ocsp_certificate && issued_by(ca->issuing[i].certificate, cid)) {
			*issuer = ca->issuing[i].certificate;
			*responder = ca->issuing[i].ocsp_certificate;
			return true;
		}
	if (ca->ocsp_certificate && (!ca->hierarchy || ca->root_issued_leaves) && issued_by(ca->certificate, cid)) {
		*issuer = ca->certificate;
		*responder = ca->ocsp_certificate;
		return true;
	}
	return false;
}

/* The responder certificate that signs the answer to request: the one certified by the CA of its
 * first CertID this responder knows (*issuer that CA); the persons' CA's (or the root's without
 * a hierarchy) when it knows none, to sign an answer of "unknown" only. */
static X509 *responder_choose(const signer_ca *ca, OCSP_REQUEST *request, X509 **issuer)
{
	X509 *responder = NULL;
	int count = OCSP_request_onereq_count(request);
	for (int i = 0; i < count; i++)
		if (responder_for(ca, OCSP_onereq_get0_id(OCSP_request_onereq_get0(request, i)), issuer, &responder))
			return responder;
	*issuer = NULL;
	return ca->hierarchy ? ca->issuing[SIGNER_ISSUING_PERSONS].ocsp_certificate : ca->ocsp_certificate;
}

/* Adds the status of every CertID of request to basic. False if OpenSSL fails. */
static bool add_statuses(signer_ca *ca, X509 *issuer, OCSP_REQUEST *request, OCSP_BASICRESP *basic, int64_t now_s,
                         signer_ocsp_answer *answer)
{
	ASN1_TIME *this_update = ASN1_TIME_set(NULL, (time_t)now_s);
	ASN1_TIME *next_update = ASN1_TIME_set(NULL, (time_t)(now_s + SIGNER_OCSP_RESPONSE_VALIDITY_S));
	bool ok = this_update && next_update;
	int count = OCSP_request_onereq_count(request);
	for (int i = 0; ok && i < count; i++) {
		OCSP_CERTID *cid = OCSP_onereq_get0_id(OCSP_request_onereq_get0(request, i));
		ASN1_INTEGER *serial = NULL;
		ok = cid && OCSP_id_get0_info(NULL, NULL, NULL, &serial, cid) == 1;
		if (!ok)
			break;
		signer_revoked r;
		int status = V_OCSP_CERTSTATUS_UNKNOWN;
		if (issuer && issued_by(issuer, cid)) /* another CA's: its responder certificate would sign it */
			status = revoked_lookup(ca, serial, &r) ? V_OCSP_CERTSTATUS_REVOKED : V_OCSP_CERTSTATUS_GOOD;
		ASN1_TIME *revoked_at =
		    status == V_OCSP_CERTSTATUS_REVOKED ? ASN1_TIME_set(NULL, (time_t)r.time_s) : NULL;
		ok = (status != V_OCSP_CERTSTATUS_REVOKED || revoked_at) &&
		     OCSP_basic_add1_status(basic, cid, status, status == V_OCSP_CERTSTATUS_REVOKED ? r.reason : 0,
		                            revoked_at, this_update, next_update) != NULL;
		ASN1_TIME_free(revoked_at);
		answer->good += status == V_OCSP_CERTSTATUS_GOOD;
		answer->revoked += status == V_OCSP_CERTSTATUS_REVOKED;
		answer->unknown += status == V_OCSP_CERTSTATUS_UNKNOWN;
	}
	ASN1_TIME_free(next_update);
	ASN1_TIME_free(this_update);
	return ok;
}

signer_err signer_ocsp_respond(const signer_ca *ca_const, const uint8_t *request, size_t request_bytes, int64_t now_s,
                               uint8_t **der, size_t *der_bytes, signer_ocsp_answer *answer)
{
	if (!ca_const || (!request && request_bytes) || !der || !der_bytes)
		return signer_fail(SIGNER_ERR_INVALID, "signer_ocsp_respond: NULL argument");
	*der = NULL;
	*der_bytes = 0;
	signer_ocsp_answer ignored;
	answer = answer ? answer : &ignored;
	memset(answer, 0, sizeof *answer);
	signer_ca *ca = (signer_ca *)ca_const; /* only the revoked set's lock is written */
	if (!ca->ocsp_key ||
	    !(ca->hierarchy ? ca->issuing[SIGNER_ISSUING_PERSONS].ocsp_certificate : ca->ocsp_certificate))
		return signer_fail(SIGNER_ERR_KEYS, "no OCSP responder (signer_ocsp_enable)");
	if (request_bytes == 0 || request_bytes > SIGNER_OCSP_REQUEST_BYTES_MAX)
		return malformed(der, der_bytes, answer);
	const unsigned char *p = request;
	OCSP_REQUEST *req = d2i_OCSP_REQUEST(NULL, &p, (long)request_bytes);
	int count = req ? OCSP_request_onereq_count(req) : 0;
	if (!req || p != request + request_bytes || count < 1 || count > (int)SIGNER_OCSP_REQUEST_CERTS_MAX) {
		OCSP_REQUEST_free(req);
		ERR_clear_error();
		return malformed(der, der_bytes, answer);
	}
	X509 *issuer = NULL;
	X509 *responder = responder_choose(ca, req, &issuer);
	OCSP_BASICRESP *basic = OCSP_BASICRESP_new();
	OCSP_RESPONSE *response = NULL;
	STACK_OF(X509) *chain = sk_X509_new_null();
	/* the responder's CA travels with it, so that the root alone verifies the answer */
	bool ok = basic && chain && (!issuer || sk_X509_push(chain, issuer)) &&
	          add_statuses(ca, issuer, req, basic, now_s, answer) && OCSP_copy_nonce(basic, req) > 0 &&
	          OCSP_basic_sign(basic, responder, ca->ocsp_key, EVP_sha256(), chain, 0) == 1 &&
	          (response = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, basic)) != NULL;
	signer_err err = ok ? response_der(response, der, der_bytes)
	                    : signer_fail_openssl(SIGNER_ERR_CRYPTO, "making an OCSP response");
	OCSP_RESPONSE_free(response);
	sk_X509_free(chain);
	OCSP_BASICRESP_free(basic);
	OCSP_REQUEST_free(req);
	return err;
}

size_t signer_ca_revoked_count(const signer_ca *ca_const)
{
	if (!ca_const)
		return 0;
	signer_ca *ca = (signer_ca *)ca_const;
	pthread_mutex_lock(&ca->revoked_lock);
	size_t n = ca->revoked_count;
	pthread_mutex_unlock(&ca->revoked_lock);
	return n;
}
