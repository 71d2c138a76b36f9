/*
 * archive.c: PAdES B-LTA renewal (ETSI EN 319 142-1 5.5). A document time-stamp proves that the
 * document existed, as it is, at its time, for as long as its time-stamping unit's certificate
 * and its algorithms hold. Before they weaken, a new time-stamp over the whole document (the old
 * time-stamp and fresh validation data for it included) carries the proof on: one incremental
 * update, the /DSS additions and the document time-stamp that covers them, and nothing before it
 * changes.
 */
#include "internal.h"

#include <openssl/bn.h>
#include <openssl/pkcs7.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Seconds since the epoch of an ASN1 time; false if it is none. */
static bool seconds_of(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;
	if (!t || !ASN1_TIME_to_tm(t, &tm))
		return false;
	*out = (int64_t)timegm(&tm);
	return true;
}

/* The facts of an RFC 3161 token (DER): its time, the certificate it carries that signed it. */
static signer_err token_facts(const uint8_t *der, size_t der_bytes, signer_timestamp_facts *out)
{
	const unsigned char *p = der;
	PKCS7 *token = d2i_PKCS7(NULL, &p, (long)der_bytes);
	TS_TST_INFO *info = token ? PKCS7_to_TS_TST_INFO(token) : NULL;
	STACK_OF(X509) *signers = info ? PKCS7_get0_signers(token, NULL, 0) : NULL;
	X509 *tsa = signers && sk_X509_num(signers) == 1 ? sk_X509_value(signers, 0) : NULL;
	BIGNUM *serial = tsa ? ASN1_INTEGER_to_BN(X509_get0_serialNumber(tsa), NULL) : NULL;
	char *hex = serial ? BN_bn2hex(serial) : NULL;
	signer_err err = SIGNER_OK;
	if (!hex || !seconds_of(TS_TST_INFO_get_time(info), &out->time_s) ||
	    !seconds_of(X509_get0_notAfter(tsa), &out->tsa_not_after_s))
		err = signer_fail_openssl(
		    SIGNER_ERR_CRYPTO, "the last document time-stamp is not a token carrying its signer's certificate");
	else
		snprintf(out->tsa_serial, sizeof out->tsa_serial, "%s", hex);
	OPENSSL_free(hex);
	BN_free(serial);
	sk_X509_free(signers);
	TS_TST_INFO_free(info);
	PKCS7_free(token);
	return err;
}

/* The last document time-stamp's facts, in an open context. */
static signer_err last_timestamp(signer_fz *fz, const uint8_t *pdf, size_t pdf_bytes, size_t pdf_bytes_max,
                                 signer_pdf_info *info, signer_timestamp_facts *out)
{
	pdf_document *doc = NULL;
	signer_err err = signer_pdf_open_checked(fz, pdf, pdf_bytes, pdf_bytes_max, info, &doc);
	if (err)
		return err;
	uint8_t *token = NULL;
	size_t token_bytes = 0;
	fz_var(token);
	fz_try(fz->ctx)
	{
		pdf_obj *v = signer_dss_last_timestamp(fz->ctx, doc);
		const char *contents =
		    v ? pdf_to_string(fz->ctx, pdf_dict_get(fz->ctx, v, PDF_NAME(Contents)), &token_bytes) : NULL;
		if (contents && token_bytes) {
			token = fz_malloc(fz->ctx, token_bytes);
			memcpy(token, contents, token_bytes);
		}
	}
	fz_catch(fz->ctx) err = signer_fz_caught(fz, SIGNER_ERR_CORRUPT, "reading the document time-stamps");
	pdf_drop_document(fz->ctx, doc);
	if (!err && !token)
		err = signer_fail(SIGNER_ERR_NO_TIMESTAMP,
		                  "the document has no document time-stamp (it is not PAdES B-LTA): nothing to renew");
	if (!err) /* the token's DER is followed by /Contents' zero padding, which d2i ignores */
		err = token_facts(token, token_bytes, out);
	fz_free(fz->ctx, token);
	return err;
}

signer_err signer_pdf_last_timestamp(const uint8_t *pdf, size_t pdf_bytes, size_t pdf_bytes_max,
                                     signer_timestamp_facts *out)
{
	if (!pdf || !out)
		return signer_fail(SIGNER_ERR_INVALID, "signer_pdf_last_timestamp: a NULL argument");
	memset(out, 0, sizeof *out);
	signer_pdf_info *info = malloc(sizeof *info);
	signer_fz fz = {0};
	signer_err err = info ? signer_fz_open(&fz, SIGNER_MUPDF_BYTES_MAX)
	                      : signer_fail(SIGNER_ERR_NOMEM, "signer_pdf_last_timestamp");
	if (!err)
		err = last_timestamp(&fz, pdf, pdf_bytes, pdf_bytes_max, info, out);
	signer_fz_close(&fz);
	free(info);
	return err;
}

/* The validation data of the time-stamping unit's chain as of time_s, into items; the DER
 * buffers it allocates are in owned (free with free() or OPENSSL_free as noted by the kind). */
typedef struct renewal_data {
	signer_dss_item items[SIGNER_DSS_ITEMS_MAX];
	size_t count;
	uint8_t *certificates[SIGNER_DSS_ITEMS_MAX]; /* OPENSSL_free */
	uint8_t *crl, *ocsp;                         /* free */
	signer_tsa_crls tsa_crls;                    /* an external authority's */
} renewal_data;

static void renewal_data_free(renewal_data *d)
{
	for (size_t i = 0; i < SIGNER_DSS_ITEMS_MAX; i++)
		OPENSSL_free(d->certificates[i]);
	free(d->crl);
	free(d->ocsp);
	signer_tsa_crls_free(&d->tsa_crls);
}

/* Appends x's DER to d, for the time-stamps' chain. */
static signer_err push_certificate(renewal_data *d, X509 *x)
{
	if (d->count >= SIGNER_DSS_ITEMS_MAX - 2) /* room left for the CRL and the OCSP answer */
		return signer_fail(SIGNER_ERR_TOO_LARGE, "the time-stamping unit's chain is over %u certificates",
		                   SIGNER_DSS_ITEMS_MAX - 2);
	int n = i2d_X509(x, &d->certificates[d->count]);
	if (n <= 0)
		return signer_fail_openssl(SIGNER_ERR_CRYPTO, "encoding a certificate");
	d->items[d->count] = (signer_dss_item){SIGNER_DSS_CERT, d->certificates[d->count], (size_t)n, true};
	d->count++;
	return SIGNER_OK;
}

static signer_err renewal_data_make(const signer_ca *ca, const signer_credential *credential, int64_t time_s,
                                    renewal_data *d)
{
	bool own = !credential->tsa_remote;
	signer_err err = SIGNER_OK;
	X509 *x;
	for (size_t i = 0; !err && (x = signer_tsa_dss_certificate(credential, i)) != NULL; i++)
		err = push_certificate(d, x);
	if (!err && own) /* the CA's own unit: the root above its chain */
		err = push_certificate(d, credential->root_certificate);
	if (err)
		return err;
	if (!own) { /* an external authority's CRLs, when its certificates name them */
		(void)signer_tsa_remote_crls(credential->tsa_remote, &d->tsa_crls);
		for (size_t i = 0; i < d->tsa_crls.count && d->count < SIGNER_DSS_ITEMS_MAX; i++)
			d->items[d->count++] =
			    (signer_dss_item){SIGNER_DSS_CRL, d->tsa_crls.der[i], d->tsa_crls.der_bytes[i], true};
		return SIGNER_OK;
	}
	size_t crl_bytes = 0, ocsp_bytes = 0;
	err = signer_ca_crl(ca, time_s, &d->crl, &crl_bytes);
	if (!err)
		err = signer_ca_ocsp(ca, NULL, time_s, &d->ocsp, &ocsp_bytes);
	if (err)
		return err;
	d->items[d->count++] = (signer_dss_item){SIGNER_DSS_CRL, d->crl, crl_bytes, true};
	d->items[d->count++] = (signer_dss_item){SIGNER_DSS_OCSP, d->ocsp, ocsp_bytes, true};
	return SIGNER_OK;
}

signer_err signer_pades_renew_timestamp(const signer_ca *ca, const signer_tsa_remote *tsa, const uint8_t *pdf,
                                        size_t pdf_bytes, size_t pdf_bytes_max, int64_t time_s, uint8_t **out,
                                        size_t *out_bytes, signer_timestamp_facts *renewed)
{
	if (out)
		*out = NULL;
	if (out_bytes)
		*out_bytes = 0;
	if (!ca || !pdf || !out || !out_bytes)
		return signer_fail(SIGNER_ERR_INVALID, "signer_pades_renew_timestamp: a NULL argument");
	signer_credential *credential = NULL;
	signer_err err = signer_ca_tsa_credential(ca, &credential);
	if (err)
		return err;
	signer_credential_use_tsa(credential, tsa);
	signer_pdf_info *info = malloc(sizeof *info);
	signer_timestamp_facts before;
	renewal_data data = {0};
	signer_document document = {0};
	signer_fz fz = {0};
	err = info ? signer_fz_open(&fz, SIGNER_MUPDF_BYTES_MAX) : signer_fail(SIGNER_ERR_NOMEM, "the renewal");
	if (!err)
		err = last_timestamp(&fz, pdf, pdf_bytes, pdf_bytes_max ? pdf_bytes_max : SIGNER_PDF_BYTES_MAX, info,
		                     &before);
	if (!err)
		err = renewal_data_make(ca, credential, time_s, &data);
	/* The promise to every earlier signature, that its bytes are a prefix of ours, is kept by
	 * document: pdf is copied once and never written again (update.c). */
	if (!err)
		err = signer_document_init(&document, pdf, pdf_bytes);
	/* the last time-stamp's validation data, and the new time-stamp over them, in one update */
	signer_dss_update dss = {data.items, data.count, NULL, time_s};
	signer_sign_options o = {.signing_time_s = time_s};
	if (!err)
		err = signer_pades_add_document_timestamp(&fz, credential, &o, &dss, &document);
	signer_fz_close(&fz);
	renewal_data_free(&data);
	free(info);
	signer_credential_free(credential);
	signer_timestamp_facts after;
	if (!err)
		err = signer_pdf_last_timestamp(document.data, document.bytes, document.bytes, &after);
	if (err) {
		signer_document_free(&document);
		return err;
	}
	if (renewed)
		*renewed = after;
	signer_document_take(&document, out, out_bytes);
	return SIGNER_OK;
}
