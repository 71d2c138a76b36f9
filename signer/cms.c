/*
 * cms.c: the CMS SignedData of a PAdES baseline B-B signature (ETSI EN 319 142-1).
 *
 * PAdES wants, in the signed attributes: contentType, messageDigest and the ESS
 * signing-certificate-v2 (which binds the signer's certificate to the signature), and it forbids
 * signingTime: the claimed time is the signature dictionary's /M. OpenSSL 3.0 builds the first
 * three (CMS_CADES adds the ESS attribute) but adds signingTime to every SignerInfo it signs
 * (CMS_NO_SIGNING_TIME only came with 3.2). So OpenSSL assembles the SignedData without signing
 * it (CMS_PARTIAL), and we sign the DER of the signed attributes ourselves, then have OpenSSL
 * verify that signature before the CMS leaves this file.
 *
 * PAdES B-T adds, once the signature is made, an unsigned attribute id-aa-signatureTimeStampToken
 * (RFC 3161 appendix A, ETSI EN 319 122-1 5.3): a time-stamp token over the SHA-256 of the
 * SignerInfo's signature value, which proves the signature existed at that time.
 */
#include "internal.h"

#include <openssl/asn1t.h>
#include <openssl/cms.h>
#include <openssl/err.h>

/* SignedAttributes as they are signed: a DER SET OF Attribute with the universal SET tag
 * (RFC 5652 section 5.4), the same encoding OpenSSL gives them inside the SignerInfo. */
typedef STACK_OF(X509_ATTRIBUTE) SIGNER_SIGNED_ATTRIBUTES;
DECLARE_ASN1_ITEM(SIGNER_SIGNED_ATTRIBUTES)

/*
 * The DER of si's signed attributes, which are put back into si in DER order: OpenSSL checks a
 * signature (CMS_SignerInfo_verify) over the attributes in the order si holds them, a validator
 * over the order they are encoded in, which DER sorts. *der is the caller's (OPENSSL_free).
 */
static int signed_attributes_der(CMS_SignerInfo *si, unsigned char **der)
{
	*der = NULL;
	STACK_OF(X509_ATTRIBUTE) *attributes = sk_X509_ATTRIBUTE_new_null();
	if (!attributes)
		return -1;
	bool ok = true;
	while (ok && CMS_signed_get_attr_count(si) > 0) {
		X509_ATTRIBUTE *a = CMS_signed_delete_attr(si, 0);
		ok = a && sk_X509_ATTRIBUTE_push(attributes, a) > 0;
		if (!ok)
			X509_ATTRIBUTE_free(a);
	}
	/* ASN1_TFLG_SET_ORDER sorts the stack itself into DER order as it encodes. */
	int bytes = ok ? ASN1_item_i2d((ASN1_VALUE *)attributes, der, ASN1_ITEM_rptr(SIGNER_SIGNED_ATTRIBUTES)) : -1;
	for (int i = 0; i < sk_X509_ATTRIBUTE_num(attributes); i++)
		ok = ok && CMS_signed_add1_attr(si, sk_X509_ATTRIBUTE_value(attributes, i));
	sk_X509_ATTRIBUTE_pop_free(attributes, X509_ATTRIBUTE_free);
	if (!ok || bytes <= 0) {
		OPENSSL_free(*der);
		*der = NULL;
		return -1;
	}
	return bytes;
}

/* Signs si's signed attributes with key (ECDSA over SHA-256) into si's signature field. */
static signer_err sign_attributes(CMS_SignerInfo *si, EVP_PKEY *key)
{
	unsigned char *attributes = NULL, *signature = NULL;
	size_t signature_bytes = 0;
	signer_err err = SIGNER_ERR_CRYPTO;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int attributes_bytes = signed_attributes_der(si, &attributes);
	if (!md || attributes_bytes <= 0 || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(md, NULL, &signature_bytes, attributes, (size_t)attributes_bytes) != 1)
		goto done;
	signature = OPENSSL_malloc(signature_bytes);
	if (!signature || EVP_DigestSign(md, signature, &signature_bytes, attributes, (size_t)attributes_bytes) != 1 ||
	    signature_bytes > INT32_MAX ||
	    !ASN1_STRING_set(CMS_SignerInfo_get0_signature(si), signature, (int)signature_bytes))
		goto done;
	err = SIGNER_OK;
done:
	OPENSSL_free(signature);
	OPENSSL_free(attributes);
	EVP_MD_CTX_free(md);
	return err ? signer_fail_openssl(err, "signing the CMS signed attributes") : SIGNER_OK;
}

/* The signature-time-stamp of si's signature value, as an unsigned attribute (B-T). */
static signer_err add_timestamp(CMS_SignerInfo *si, const signer_credential *credential, int64_t time_s)
{
	const ASN1_OCTET_STRING *value = CMS_SignerInfo_get0_signature(si);
	uint8_t imprint[SIGNER_SHA256_BYTES];
	uint8_t *token = NULL;
	size_t token_bytes = 0;
	if (!value || !EVP_Digest(ASN1_STRING_get0_data(value), (size_t)ASN1_STRING_length(value), imprint, NULL,
	                          EVP_sha256(), NULL))
		return signer_fail_openssl(SIGNER_ERR_CRYPTO, "hashing the signature value");
	signer_err err = signer_tsa_token(credential, imprint, time_s, &token, &token_bytes);
	if (!err &&
	    (token_bytes > INT32_MAX || !CMS_unsigned_add1_attr_by_NID(si, NID_id_smime_aa_timeStampToken,
	                                                               V_ASN1_SEQUENCE, token, (int)token_bytes)))
		err = signer_fail_openssl(SIGNER_ERR_CRYPTO, "adding the signature time-stamp");
	OPENSSL_free(token);
	return err;
}

signer_err signer_cms_sign(const signer_credential *credential, const uint8_t digest[SIGNER_SHA256_BYTES],
                           int64_t timestamp_s, uint8_t **der, size_t *der_bytes)
{
	*der = NULL;
	*der_bytes = 0;
	const unsigned flags = CMS_DETACHED | CMS_BINARY | CMS_PARTIAL | CMS_NOSMIMECAP;
	CMS_ContentInfo *cms = CMS_sign(NULL, NULL, NULL, NULL, flags);
	if (!cms)
		return signer_fail_openssl(SIGNER_ERR_CRYPTO, "CMS_sign");
	signer_err err = SIGNER_ERR_CRYPTO;
	unsigned char *out = NULL;
	CMS_SignerInfo *si =
	    CMS_add1_signer(cms, credential->certificate, credential->key, EVP_sha256(), flags | CMS_CADES);
	if (!si || !CMS_add1_cert(cms, credential->ca_certificate) ||
	    !CMS_signed_add1_attr_by_NID(si, NID_pkcs9_contentType, V_ASN1_OBJECT, OBJ_nid2obj(NID_pkcs7_data), -1) ||
	    !CMS_signed_add1_attr_by_NID(si, NID_pkcs9_messageDigest, V_ASN1_OCTET_STRING, digest,
	                                 SIGNER_SHA256_BYTES)) {
		err = signer_fail_openssl(SIGNER_ERR_CRYPTO, "building the CMS SignedData");
		goto done;
	}
	err = sign_attributes(si, credential->key);
	if (err)
		goto done;
	/* The signature we made must verify the way a validator will check it. */
	if (CMS_SignerInfo_verify(si) != 1) {
		err = signer_fail_openssl(SIGNER_ERR_CRYPTO, "the CMS signature does not verify");
		goto done;
	}
	if (timestamp_s >= 0 && (err = add_timestamp(si, credential, timestamp_s)))
		goto done;
	int bytes = i2d_CMS_ContentInfo(cms, &out);
	if (bytes <= 0) {
		err = signer_fail_openssl(SIGNER_ERR_CRYPTO, "encoding the CMS SignedData");
		goto done;
	}
	*der = out;
	*der_bytes = (size_t)bytes;
	err = SIGNER_OK;
done:
	CMS_ContentInfo_free(cms);
	ERR_clear_error();
	return err;
}

/* The item declared at the top. OpenSSL's template macros are not statements clang-format
 * can follow, so this stays at the end of the file. */
// clang-format off
ASN1_ITEM_TEMPLATE(SIGNER_SIGNED_ATTRIBUTES) =
	ASN1_EX_TEMPLATE_TYPE(ASN1_TFLG_SET_ORDER, 0, SIGNER_SIGNED_ATTRIBUTES, X509_ATTRIBUTE)
ASN1_ITEM_TEMPLATE_END(SIGNER_SIGNED_ATTRIBUTES)
