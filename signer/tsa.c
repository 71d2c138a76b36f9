/*
 * tsa.c: RFC 3161 time-stamp tokens by the CA's own time-stamping unit, made in process with
 * OpenSSL's TS API (the request it would receive, answered by TS_RESP_create_response), so the
 * token is exactly what an RFC 3161 server returns and `openssl ts -verify` checks it.
 *
 * The time is the caller's (the service's clock, which a production ledgerd takes from the
 * system only); the serial number is random (128 bits); the policy is SIGNER_TSA_POLICY_OID;
 * the token carries the TSA's and the CA's certificates and an ESS signing-certificate-v2
 * (SHA-256) binding the TSA's certificate.
 */
#include "internal.h"

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ts.h>

static int tsa_time(TS_RESP_CTX *ctx, void *data, long *sec, long *usec)
{
	(void)ctx;
	*sec = (long)*(const int64_t *)data;
	*usec = 0;
	return 1;
}

static ASN1_INTEGER *tsa_serial(TS_RESP_CTX *ctx, void *data)
{
	(void)data;
	unsigned char bytes[16];
	ASN1_INTEGER *serial = NULL;
	BIGNUM *bn = NULL;
	if (RAND_bytes(bytes, sizeof bytes) == 1) {
		bytes[0] &= 0x7f; /* positive */
		bn = BN_bin2bn(bytes, sizeof bytes, NULL);
		serial = bn ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
	}
	BN_free(bn);
	if (!serial) {
		TS_RESP_CTX_set_status_info(ctx, TS_STATUS_REJECTION, "no serial number");
		TS_RESP_CTX_add_failure_info(ctx, TS_INFO_ADD_INFO_NOT_AVAILABLE);
	}
	return serial;
}

TS_REQ *signer_tsa_request(const uint8_t digest[SIGNER_SHA256_BYTES])
{
	TS_REQ *req = TS_REQ_new();
	TS_MSG_IMPRINT *imprint = TS_MSG_IMPRINT_new();
	X509_ALGOR *algorithm = X509_ALGOR_new();
	ASN1_INTEGER *nonce = NULL;
	BIGNUM *bn = NULL;
	unsigned char random[8];
	bool ok = req && imprint && algorithm && RAND_bytes(random, sizeof random) == 1 &&
	          (bn = BN_bin2bn(random, sizeof random, NULL)) && (nonce = BN_to_ASN1_INTEGER(bn, NULL)) &&
	          X509_ALGOR_set0(algorithm, OBJ_nid2obj(NID_sha256), V_ASN1_NULL, NULL) &&
	          TS_MSG_IMPRINT_set_algo(imprint, algorithm) &&
	          TS_MSG_IMPRINT_set_msg(imprint, (unsigned char *)digest, SIGNER_SHA256_BYTES) &&
	          TS_REQ_set_version(req, 1) && TS_REQ_set_msg_imprint(req, imprint) && TS_REQ_set_nonce(req, nonce) &&
	          TS_REQ_set_cert_req(req, 1);
	if (!ok) {
		TS_REQ_free(req);
		req = NULL;
	}
	BN_free(bn);
	ASN1_INTEGER_free(nonce);
	X509_ALGOR_free(algorithm);
	TS_MSG_IMPRINT_free(imprint);
	return req;
}

/* The request's DER in a memory BIO, as the time-stamping unit reads it. */
static BIO *request(const uint8_t digest[SIGNER_SHA256_BYTES])
{
	TS_REQ *req = signer_tsa_request(digest);
	BIO *out = req ? BIO_new(BIO_s_mem()) : NULL;
	if (out && !i2d_TS_REQ_bio(out, req)) {
		BIO_free(out);
		out = NULL;
	}
	TS_REQ_free(req);
	return out;
}

signer_err signer_tsa_token(const signer_credential *credential, const uint8_t digest[SIGNER_SHA256_BYTES],
                            int64_t time_s, uint8_t **der, size_t *der_bytes)
{
	*der = NULL;
	*der_bytes = 0;
	if (credential->tsa_remote) /* an external authority, configured (signer/tsa_remote.c) */
		return signer_tsa_remote_token(credential->tsa_remote, digest, time_s, der, der_bytes);
	if (!credential->tsa_key || !credential->tsa_certificate)
		return signer_fail(SIGNER_ERR_KEYS, "no time-stamping unit (signer_tsa_enable)");
	signer_err err = SIGNER_ERR_CRYPTO;
	TS_RESP_CTX *ctx = TS_RESP_CTX_new();
	STACK_OF(X509) *chain = sk_X509_new_null();
	ASN1_OBJECT *policy = OBJ_txt2obj(SIGNER_TSA_POLICY_OID, 1);
	BIO *req = request(digest);
	TS_RESP *resp = NULL;
	if (!ctx || !chain || !policy || !req ||
	    !sk_X509_push(chain, credential->tsa_ca_certificate ? credential->tsa_ca_certificate
	                                                        : credential->ca_certificate) ||
	    !TS_RESP_CTX_set_signer_cert(ctx, credential->tsa_certificate) ||
	    !TS_RESP_CTX_set_signer_key(ctx, credential->tsa_key) || !TS_RESP_CTX_set_certs(ctx, chain) ||
	    !TS_RESP_CTX_set_def_policy(ctx, policy) || !TS_RESP_CTX_add_md(ctx, EVP_sha256()) ||
	    !TS_RESP_CTX_set_signer_digest(ctx, EVP_sha256()) ||
	    !TS_RESP_CTX_set_ess_cert_id_digest(ctx, EVP_sha256())) {
		signer_fail_openssl(err, "setting up the time-stamping unit");
		goto done;
	}
	TS_RESP_CTX_set_time_cb(ctx, tsa_time, &time_s);
	TS_RESP_CTX_set_serial_cb(ctx, tsa_serial, NULL);
	resp = TS_RESP_create_response(ctx, req);
	PKCS7 *token = resp ? TS_RESP_get_token(resp) : NULL;
	if (!resp || ASN1_INTEGER_get(TS_STATUS_INFO_get0_status(TS_RESP_get_status_info(resp))) != TS_STATUS_GRANTED ||
	    !token) {
		signer_fail_openssl(err, "the time-stamping unit refused the request");
		goto done;
	}
	unsigned char *out = NULL;
	int bytes = i2d_PKCS7(token, &out);
	if (bytes <= 0) {
		signer_fail_openssl(err, "encoding the time-stamp token");
		goto done;
	}
	*der = out;
	*der_bytes = (size_t)bytes;
	err = SIGNER_OK;
done:
	TS_RESP_free(resp);
	BIO_free(req);
	ASN1_OBJECT_free(policy);
	sk_X509_free(chain);
	TS_RESP_CTX_free(ctx);
	ERR_clear_error();
	return err;
}
