/*
 * tsa_revocation.c: an external time-stamping authority's revocation data, for the /DSS. The
 * CA's own unit has its CRL and OCSP answers made in process (ca.c); an external authority's
 * come from where its certificates say: the http:// URIs of their CRL distribution points
 * (RFC 5280 4.2.1.13), fetched through libcurl with the bounds of the time-stamp requests.
 *
 * A CRL is kept only if it parses and its signature verifies with the key of the anchor it
 * names as issuer: the /DSS vouches for what it carries. OCSP (an AIA responder) is not asked:
 * RFC 6960 requests name one certificate each, and a CRL covers the whole chain in one fetch.
 */
#include "internal.h"

#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

typedef struct download {
	uint8_t *bytes;
	size_t n;
	bool too_large;
} download;

static size_t take(char *data, size_t size, size_t count, void *user)
{
	download *d = user;
	size_t n = size * count;
	if (n > SIGNER_TSA_CRL_BYTES_MAX - d->n) {
		d->too_large = true;
		return 0; /* libcurl stops: CURLE_WRITE_ERROR */
	}
	uint8_t *grown = realloc(d->bytes, d->n + n);
	if (!grown)
		return 0;
	memcpy(grown + d->n, data, n);
	d->bytes = grown;
	d->n += n;
	return n;
}

/* GETs url into d (the caller frees d->bytes). */
static signer_err fetch(const signer_tsa_remote *t, const char *url, download *d)
{
	CURL *curl = curl_easy_init();
	if (!curl)
		return signer_fail(SIGNER_ERR_NOMEM, "cannot set up an HTTP request");
	char error[CURL_ERROR_SIZE] = "";
	long status = 0;
	CURLcode rc;
	/* Only http (a CRL is signed: TLS adds nothing to it), no redirects, no signals, bounded. */
	if ((rc = curl_easy_setopt(curl, CURLOPT_URL, url)) == CURLE_OK &&
	    (rc = curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http")) == CURLE_OK &&
	    (rc = curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L)) == CURLE_OK &&
	    (rc = curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L)) == CURLE_OK &&
	    (rc = curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)t->timeout_ms)) == CURLE_OK &&
	    (rc = curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, take)) == CURLE_OK &&
	    (rc = curl_easy_setopt(curl, CURLOPT_WRITEDATA, d)) == CURLE_OK &&
	    (rc = curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error)) == CURLE_OK)
		rc = curl_easy_perform(curl);
	if (rc == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(curl);
	if (d->too_large)
		return signer_fail(SIGNER_ERR_TSA, "%.200s: over %u bytes", url, SIGNER_TSA_CRL_BYTES_MAX);
	if (rc != CURLE_OK)
		return signer_fail(SIGNER_ERR_TSA, "%.200s: %s", url, error[0] ? error : curl_easy_strerror(rc));
	if (status != 200)
		return signer_fail(SIGNER_ERR_TSA, "%.200s: HTTP status %ld", url, status);
	return SIGNER_OK;
}

/* The CRL in d (DER, or PEM), checked against the anchors; its DER into *der (malloc'd). */
static signer_err crl_check(const signer_tsa_remote *t, const char *url, const download *d, uint8_t **der,
                            size_t *der_bytes)
{
	const unsigned char *p = d->bytes;
	X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)d->n);
	if (!crl) {
		BIO *bio = BIO_new_mem_buf(d->bytes, (int)d->n);
		crl = bio ? PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL) : NULL;
		BIO_free(bio);
	}
	X509 *issuer = NULL;
	for (int i = 0; crl && !issuer && i < sk_X509_num(t->anchors); i++)
		if (X509_NAME_cmp(X509_get_subject_name(sk_X509_value(t->anchors, i)), X509_CRL_get_issuer(crl)) == 0)
			issuer = sk_X509_value(t->anchors, i);
	signer_err err = SIGNER_OK;
	if (!crl)
		err = signer_fail_openssl(SIGNER_ERR_TSA, "not a CRL");
	else if (!issuer || X509_CRL_verify(crl, X509_get0_pubkey(issuer)) != 1)
		err = signer_fail_openssl(SIGNER_ERR_TSA, "a CRL not signed by an anchor of --tsa-ca");
	if (!err) {
		unsigned char *out = NULL;
		int n = i2d_X509_CRL(crl, &out);
		err = signer_der_take(out, n, "encoding a CRL", der, der_bytes);
	}
	X509_CRL_free(crl);
	if (err) /* say which */
		signer_fail(err, "%.200s: %s", url, signer_last_error());
	return err;
}

/* The http:// URIs of x's CRL distribution points, appended to urls (up to max). */
static void distribution_points(X509 *x, char urls[][SIGNER_TSA_URL_BYTES_MAX], size_t max, size_t *count)
{
	STACK_OF(DIST_POINT) *points = X509_get_ext_d2i(x, NID_crl_distribution_points, NULL, NULL);
	for (int i = 0; i < sk_DIST_POINT_num(points); i++) {
		DIST_POINT_NAME *name = sk_DIST_POINT_value(points, i)->distpoint;
		for (int k = 0; name && name->type == 0 && k < sk_GENERAL_NAME_num(name->name.fullname); k++) {
			GENERAL_NAME *g = sk_GENERAL_NAME_value(name->name.fullname, k);
			const ASN1_IA5STRING *uri = g->type == GEN_URI ? g->d.uniformResourceIdentifier : NULL;
			size_t n = uri ? (size_t)ASN1_STRING_length(uri) : 0;
			if (*count < max && n > 7 && n < SIGNER_TSA_URL_BYTES_MAX &&
			    strncmp((const char *)ASN1_STRING_get0_data(uri), "http://", 7) == 0 &&
			    !memchr(ASN1_STRING_get0_data(uri), '\0', n)) {
				memcpy(urls[*count], ASN1_STRING_get0_data(uri), n);
				urls[(*count)++][n] = '\0';
			}
		}
	}
	sk_DIST_POINT_pop_free(points, DIST_POINT_free);
}

signer_err signer_tsa_remote_crls(const signer_tsa_remote *tsa, signer_tsa_crls *out)
{
	if (!out)
		return signer_fail(SIGNER_ERR_INVALID, "signer_tsa_remote_crls: a NULL argument");
	memset(out, 0, sizeof *out);
	if (!tsa)
		return signer_fail(SIGNER_ERR_INVALID, "signer_tsa_remote_crls: a NULL argument");
	char urls[SIGNER_TSA_CRLS_MAX][SIGNER_TSA_URL_BYTES_MAX];
	size_t count = 0;
	for (int i = 0; i < sk_X509_num(tsa->anchors); i++)
		distribution_points(sk_X509_value(tsa->anchors, i), urls, SIGNER_TSA_CRLS_MAX, &count);
	ERR_clear_error();
	if (count == 0)
		return signer_fail(SIGNER_ERR_NOT_FOUND,
		                   "no certificate of --tsa-ca names an http:// CRL distribution point");
	signer_err first = SIGNER_OK;
	char why[SIGNER_ERROR_BYTES_MAX] = "";
	for (size_t i = 0; i < count; i++) {
		download d = {0};
		signer_err err = fetch(tsa, urls[i], &d);
		if (!err)
			err = crl_check(tsa, urls[i], &d, &out->der[out->count], &out->der_bytes[out->count]);
		free(d.bytes);
		if (!err)
			out->count++;
		else if (!first) {
			first = err;
			snprintf(why, sizeof why, "%s", signer_last_error());
		}
	}
	if (out->count == 0)
		return signer_fail(first, "%s", why);
	return SIGNER_OK;
}

void signer_tsa_crls_free(signer_tsa_crls *crls)
{
	if (!crls)
		return;
	for (size_t i = 0; i < crls->count; i++)
		free(crls->der[i]);
	memset(crls, 0, sizeof *crls);
}
