/*
 * verify.c: checks the signatures and document time-stamps of a PDF, for auditors
 * (ledger-audit verify-evidence). mupdf finds the signature fields, their /ByteRange and their
 * /Contents; OpenSSL checks each /Contents over exactly its byte range: a CAdES signature with
 * CMS_verify (and its signature time-stamp, when it has one, with the TS API over its signature
 * value), a document time-stamp (its content is a TSTInfo) with TS_RESP_verify_token. Trust is
 * the CA certificate the caller gives; the signer's certificate of the last signature is handed
 * back, so the caller can compare it with the one the log recorded.
 */
#include "internal.h"

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/pkcs7.h>
#include <openssl/ts.h>
#include <string.h>

typedef struct verify_state {
	X509_STORE *store;
	const uint8_t *pdf;
	size_t pdf_bytes;
	signer_verified *out;
	char why[SIGNER_ERROR_BYTES_MAX];
} verify_state;

/* The bytes a signature covers: its byte ranges, concatenated, in a memory BIO. */
static BIO *covered(const verify_state *v, const fz_range *ranges, int count)
{
	BIO *b = BIO_new(BIO_s_mem());
	for (int i = 0; b && i < count; i++) {
		if (ranges[i].offset < 0 || (uint64_t)ranges[i].offset + (uint64_t)ranges[i].length > v->pdf_bytes ||
		    BIO_write(b, v->pdf + ranges[i].offset, (int)ranges[i].length) != (int)ranges[i].length) {
			BIO_free(b);
			return NULL;
		}
	}
	return b;
}

/* A time-stamp token (DER) over data (a BIO) or over a digest, against the store. */
static bool token_verifies(verify_state *v, const uint8_t *token, size_t n, BIO *data, const uint8_t *digest,
                           size_t digest_bytes)
{
	const unsigned char *p = token;
	PKCS7 *pkcs7 = d2i_PKCS7(NULL, &p, (long)n);
	TS_VERIFY_CTX *ctx = TS_VERIFY_CTX_new();
	bool ok = false;
	if (pkcs7 && ctx) {
		int flags = TS_VFY_VERSION | TS_VFY_SIGNER | TS_VFY_SIGNATURE;
		if (data) {
			flags |= TS_VFY_DATA;
			BIO_up_ref(data);
			TS_VERIFY_CTX_set_data(ctx, data);
		} else {
			flags |= TS_VFY_IMPRINT;
			unsigned char *copy = OPENSSL_memdup(digest, digest_bytes);
			TS_VERIFY_CTX_set_imprint(ctx, copy, (long)digest_bytes);
		}
		TS_VERIFY_CTX_set_flags(ctx, flags);
		X509_STORE_up_ref(v->store);
		TS_VERIFY_CTX_set_store(ctx, v->store);
		ok = TS_RESP_verify_token(ctx, pkcs7) == 1;
	}
	TS_VERIFY_CTX_free(ctx);
	PKCS7_free(pkcs7);
	return ok;
}

/* One signature dictionary's /Contents over its byte range. */
static bool check_one(verify_state *v, const uint8_t *der, size_t der_bytes, BIO *content, int index)
{
	const unsigned char *p = der;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)der_bytes);
	if (!cms) {
		snprintf(v->why, sizeof v->why, "signature %d: /Contents is not a CMS structure", index);
		return false;
	}
	bool ok = false;
	if (OBJ_obj2nid(CMS_get0_eContentType(cms)) == NID_id_smime_ct_TSTInfo) {
		ok = token_verifies(v, der, der_bytes, content, NULL, 0);
		if (ok)
			v->out->timestamps++;
		else
			snprintf(v->why, sizeof v->why, "document time-stamp %d does not verify over its byte range",
			         index);
		CMS_ContentInfo_free(cms);
		return ok;
	}
	ok = CMS_verify(cms, NULL, v->store, content, NULL, CMS_BINARY) == 1;
	STACK_OF(CMS_SignerInfo) *infos = CMS_get0_SignerInfos(cms);
	CMS_SignerInfo *si = ok && sk_CMS_SignerInfo_num(infos) == 1 ? sk_CMS_SignerInfo_value(infos, 0) : NULL;
	if (!si) {
		snprintf(v->why, sizeof v->why, "signature %d does not verify over its byte range against the CA",
		         index);
		CMS_ContentInfo_free(cms);
		return false;
	}
	/* Its signature time-stamp (B-T), if any, over the SHA-256 of the signature value. */
	int at = CMS_unsigned_get_attr_by_NID(si, NID_id_smime_aa_timeStampToken, -1);
	if (at >= 0) {
		ASN1_TYPE *t = X509_ATTRIBUTE_get0_type(CMS_unsigned_get_attr(si, at), 0);
		const ASN1_OCTET_STRING *value = CMS_SignerInfo_get0_signature(si);
		uint8_t imprint[SIGNER_SHA256_BYTES];
		ok = t && t->type == V_ASN1_SEQUENCE &&
		     EVP_Digest(ASN1_STRING_get0_data(value), (size_t)ASN1_STRING_length(value), imprint, NULL,
		                EVP_sha256(), NULL) &&
		     token_verifies(v, t->value.sequence->data, (size_t)t->value.sequence->length, NULL, imprint,
		                    sizeof imprint);
		if (!ok)
			snprintf(v->why, sizeof v->why, "signature %d: its time-stamp does not verify", index);
		else
			v->out->signature_timestamps++;
	}
	X509 *signer = NULL;
	CMS_SignerInfo_get0_algs(si, NULL, &signer, NULL, NULL);
	unsigned char *cert = NULL;
	int cert_bytes = signer ? i2d_X509(signer, &cert) : -1;
	if (ok && cert_bytes > 0 && (size_t)cert_bytes <= sizeof v->out->last_signer_certificate) {
		memcpy(v->out->last_signer_certificate, cert, (size_t)cert_bytes);
		v->out->last_signer_certificate_bytes = (size_t)cert_bytes;
		v->out->signatures++;
	}
	OPENSSL_free(cert);
	CMS_ContentInfo_free(cms);
	return ok;
}

signer_err signer_pdf_verify(const uint8_t *pdf, size_t pdf_bytes, const uint8_t *ca_der, size_t ca_der_bytes,
                             signer_verified *out)
{
	if (!pdf || !ca_der || !out)
		return signer_fail(SIGNER_ERR_INVALID, "signer_pdf_verify: NULL argument");
	memset(out, 0, sizeof *out);
	const unsigned char *p = ca_der;
	X509 *ca = d2i_X509(NULL, &p, (long)ca_der_bytes);
	verify_state v = {.store = X509_STORE_new(), .pdf = pdf, .pdf_bytes = pdf_bytes, .out = out};
	if (!ca || !v.store || !X509_STORE_add_cert(v.store, ca)) {
		X509_free(ca);
		X509_STORE_free(v.store);
		return signer_fail_openssl(SIGNER_ERR_KEYS, "the CA certificate");
	}
	X509_free(ca);
	/* The signatures' time is the time-stamps', not now: a certificate expired since stays valid. */
	X509_VERIFY_PARAM_set_flags(X509_STORE_get0_param(v.store), X509_V_FLAG_NO_CHECK_TIME);
	X509_STORE_set_purpose(v.store, X509_PURPOSE_ANY);
	signer_fz fz = {0};
	signer_err err = signer_fz_open(&fz, SIGNER_MUPDF_BYTES_MAX);
	if (err) {
		X509_STORE_free(v.store);
		return err;
	}
	fz_context *ctx = fz.ctx;
	fz_stream *stm = NULL;
	pdf_document *doc = NULL;
	char *contents = NULL;
	bool bad = false;
	int index = 0;
	fz_var(stm);
	fz_var(doc);
	fz_var(contents);
	fz_var(bad);
	fz_var(index);
	fz_try(ctx)
	{
		stm = fz_open_memory(ctx, pdf, pdf_bytes);
		doc = pdf_open_document_with_stream(ctx, stm);
		pdf_obj *fields = pdf_dict_getp(ctx, pdf_trailer(ctx, doc), "Root/AcroForm/Fields");
		int n = pdf_array_len(ctx, fields);
		for (int i = 0; i < n && !bad; i++) {
			pdf_obj *field = pdf_array_get(ctx, fields, i);
			/* A signature field with a value: mupdf's pdf_signature_is_signed takes only /Type
			 * /Sig values, and would skip the document time-stamps (/Type /DocTimeStamp). */
			pdf_obj *value = pdf_dict_get(ctx, field, PDF_NAME(V));
			if (!pdf_name_eq(ctx, pdf_dict_get(ctx, field, PDF_NAME(FT)), PDF_NAME(Sig)) ||
			    !pdf_is_dict(ctx, value) || !pdf_dict_get(ctx, value, PDF_NAME(Contents)))
				continue;
			index++;
			fz_range ranges[4];
			int count = pdf_signature_byte_range(ctx, doc, field, ranges);
			size_t bytes = pdf_signature_contents(ctx, doc, field, &contents);
			BIO *content = count > 0 && count <= 4 ? covered(&v, ranges, count) : NULL;
			bad = !content || !check_one(&v, (const uint8_t *)contents, bytes, content, index);
			if (!content)
				snprintf(v.why, sizeof v.why, "signature %d: its byte range is not in the file", index);
			BIO_free(content);
			fz_free(ctx, contents);
			contents = NULL;
		}
	}
	fz_always(ctx)
	{
		fz_free(ctx, contents);
		pdf_drop_document(ctx, doc);
		fz_drop_stream(ctx, stm);
	}
	fz_catch(ctx)
	{
		err = signer_fz_caught(&fz, SIGNER_ERR_CORRUPT, "reading the signatures");
	}
	signer_fz_close(&fz);
	X509_STORE_free(v.store);
	ERR_clear_error();
	if (!err && bad)
		err = signer_fail(SIGNER_ERR_CRYPTO, "%s", v.why);
	return err;
}
