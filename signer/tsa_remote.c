/*
 * tsa_remote.c: time-stamp tokens from an external RFC 3161 authority over HTTP (RFC 3161
 * section 3.4: POST application/timestamp-query, reply application/timestamp-reply), through
 * libcurl. The reply is checked with OpenSSL's TS API against the request (imprint, nonce,
 * version), its signature chained to the configured anchors; then its time is compared with the
 * service's clock: a signature is refused rather than dated by a clock nobody agrees with.
 */
#include "internal.h"

#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static STACK_OF(X509) * read_anchors(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	STACK_OF(X509) *all = sk_X509_new_null();
	X509 *x;
	while (all && (x = PEM_read_X509(f, NULL, NULL, NULL)))
		if (!sk_X509_push(all, x))
			X509_free(x);
	fclose(f);
	ERR_clear_error(); /* the end of the file */
	if (all && sk_X509_num(all) == 0) {
		sk_X509_free(all);
		all = NULL;
	}
	return all;
}

signer_err signer_tsa_remote_new(const char *url, const char *anchors, uint32_t tolerance_s, uint32_t timeout_ms,
                                 signer_tsa_remote **out)
{
	if (out)
		*out = NULL;
	if (!url || !anchors || !out)
		return signer_fail(SIGNER_ERR_INVALID, "signer_tsa_remote_new: a NULL argument");
	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
		return signer_fail(SIGNER_ERR_INVALID, "the time-stamping authority's URL \"%.200s\" is not http(s)://",
		                   url);
	if (!signer_text_valid(url, 2048))
		return signer_fail(SIGNER_ERR_INVALID, "the time-stamping authority's URL is not printable UTF-8");
	if (tolerance_s < 1 || tolerance_s > SIGNER_TSA_TOLERANCE_S_MAX)
		return signer_fail(SIGNER_ERR_INVALID, "a clock tolerance of %u s is not 1 to %u", tolerance_s,
		                   SIGNER_TSA_TOLERANCE_S_MAX);
	if (timeout_ms < 1 || timeout_ms > SIGNER_TSA_TIMEOUT_MS_MAX)
		return signer_fail(SIGNER_ERR_INVALID, "a timeout of %u ms is not 1 to %u", timeout_ms,
		                   SIGNER_TSA_TIMEOUT_MS_MAX);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return signer_fail(SIGNER_ERR_TSA, "libcurl cannot start");
	signer_tsa_remote *t = calloc(1, sizeof *t);
	if (!t || !(t->url = strdup(url))) {
		free(t);
		return signer_fail(SIGNER_ERR_NOMEM, "signer_tsa_remote_new: out of memory");
	}
	if (!(t->anchors = read_anchors(anchors))) {
		signer_tsa_remote_free(t);
		return signer_fail(SIGNER_ERR_KEYS, "%.200s: no PEM certificate to trust time-stamps with", anchors);
	}
	t->tolerance_s = tolerance_s;
	t->timeout_ms = timeout_ms;
	*out = t;
	return SIGNER_OK;
}

void signer_tsa_remote_free(signer_tsa_remote *tsa)
{
	if (!tsa)
		return;
	sk_X509_pop_free(tsa->anchors, X509_free);
	free(tsa->url);
	free(tsa);
}

void signer_credential_use_tsa(signer_credential *credential, const signer_tsa_remote *tsa)
{
	if (credential)
		credential->tsa_remote = tsa;
}

X509 *signer_tsa_dss_certificate(const signer_credential *credential, size_t i)
{
	if (credential->tsa_remote)
		return i < (size_t)sk_X509_num(credential->tsa_remote->anchors)
		           ? sk_X509_value(credential->tsa_remote->anchors, (int)i)
		           : NULL;
	if (i == 0)
		return credential->tsa_certificate;
	/* the unit's issuing CA, below the root (which the caller adds as the chain's anchor) */
	X509 *issuer = credential->tsa_ca_certificate;
	bool below_root = issuer && credential->root_certificate && X509_cmp(issuer, credential->root_certificate) != 0;
	return i == 1 && credential->tsa_certificate && below_root ? issuer : NULL;
}

/* ----- one exchange ----- */

typedef struct reply {
	uint8_t bytes[SIGNER_TSA_REPLY_BYTES_MAX];
	size_t n;
	bool too_large;
} reply;

static size_t take(char *data, size_t size, size_t count, void *user)
{
	reply *r = user;
	size_t n = size * count;
	if (n > sizeof r->bytes - r->n) {
		r->too_large = true;
		return 0; /* libcurl stops: CURLE_WRITE_ERROR */
	}
	memcpy(r->bytes + r->n, data, n);
	r->n += n;
	return n;
}

/* POSTs request (DER) and fills r with the reply. */
static signer_err post(const signer_tsa_remote *t, const uint8_t *request, size_t request_bytes, reply *r)
{
	CURL *curl = curl_easy_init();
	struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/timestamp-query");
	struct curl_slist *more = headers ? curl_slist_append(headers, "Accept: application/timestamp-reply") : NULL;
	if (!curl || !more) {
		curl_slist_free_all(more ? more : headers);
		curl_easy_cleanup(curl);
		return signer_fail(SIGNER_ERR_NOMEM, "cannot set up an HTTP request");
	}
	headers = more;
	char error[CURL_ERROR_SIZE] = "";
	long status = 0;
	char *type = NULL;
	CURLcode rc = CURLE_OK;
	/* Only http(s), no redirects, no signals (ledgerd's threads), bounded in time and size. */
	if ((rc = curl_easy_setopt(curl, CURLOPT_URL, t->url)) == CURLE_OK &&
	    (rc = curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https")) == CURLE_OK &&
	    (rc = curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L)) == CURLE_OK &&
	    (rc = curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L)) == CURLE_OK &&
	    (rc = curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)t->timeout_ms)) == CURLE_OK &&
	    (rc = curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers)) == CURLE_OK &&
	    (rc = curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request)) == CURLE_OK &&
	    (rc = curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)request_bytes)) == CURLE_OK &&
	    (rc = curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, take)) == CURLE_OK &&
	    (rc = curl_easy_setopt(curl, CURLOPT_WRITEDATA, r)) == CURLE_OK &&
	    (rc = curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error)) == CURLE_OK)
		rc = curl_easy_perform(curl);
	if (rc == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	if (rc == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &type);
	signer_err err = SIGNER_OK;
	if (r->too_large)
		err = signer_fail(SIGNER_ERR_TSA, "%.200s: the reply is over %u bytes", t->url,
		                  SIGNER_TSA_REPLY_BYTES_MAX);
	else if (rc != CURLE_OK)
		err = signer_fail(SIGNER_ERR_TSA, "%.200s: %s", t->url, error[0] ? error : curl_easy_strerror(rc));
	else if (status != 200)
		err = signer_fail(SIGNER_ERR_TSA, "%.200s: HTTP status %ld", t->url, status);
	else if (!type || strncmp(type, "application/timestamp-reply", 27) != 0)
		err = signer_fail(SIGNER_ERR_TSA, "%.200s: a reply of type %.60s, not application/timestamp-reply",
		                  t->url, type ? type : "(none)");
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);
	return err;
}

/* Seconds since the epoch of a GeneralizedTime; false if it is not one. */
static bool seconds_of(const ASN1_GENERALIZEDTIME *t, int64_t *out)
{
	struct tm tm;
	if (!t || !ASN1_TIME_to_tm(t, &tm))
		return false;
	*out = (int64_t)timegm(&tm);
	return true;
}

/* Checks reply r against req: granted, signed by a certificate chaining to the anchors, with
 * req's imprint and nonce. On success *resp is the parsed reply. */
static signer_err check(const signer_tsa_remote *t, TS_REQ *req, const reply *r, TS_RESP **resp)
{
	const unsigned char *p = r->bytes;
	*resp = d2i_TS_RESP(NULL, &p, (long)r->n);
	if (!*resp || p != r->bytes + r->n)
		return signer_fail_openssl(SIGNER_ERR_TSA, "the reply is not a TimeStampResp");
	TS_VERIFY_CTX *ctx = TS_REQ_to_TS_VERIFY_CTX(req, NULL);
	X509_STORE *store = X509_STORE_new();
	bool ok = ctx && store;
	for (int i = 0; ok && i < sk_X509_num(t->anchors); i++)
		ok = X509_STORE_add_cert(store, sk_X509_value(t->anchors, i)) == 1;
	signer_err err = SIGNER_OK;
	if (!ok) {
		X509_STORE_free(store);
		err = signer_fail_openssl(SIGNER_ERR_NOMEM, "setting up the time-stamp check");
	} else {
		TS_VERIFY_CTX_set_store(ctx, store); /* the context owns it now */
		/* the signature chains to the anchors (with the certificates the token carries),
		 * the signer's certificate is the one the token's ESS attribute names */
		TS_VERIFY_CTX_add_flags(ctx, TS_VFY_SIGNATURE | TS_VFY_SIGNER);
		if (TS_RESP_verify_response(ctx, *resp) != 1)
			err = signer_fail_openssl(SIGNER_ERR_TSA, "the authority's token does not verify");
	}
	TS_VERIFY_CTX_free(ctx);
	return err;
}

signer_err signer_tsa_remote_token(const signer_tsa_remote *tsa, const uint8_t digest[SIGNER_SHA256_BYTES],
                                   int64_t time_s, uint8_t **der, size_t *der_bytes)
{
	*der = NULL;
	*der_bytes = 0;
	TS_REQ *req = signer_tsa_request(digest);
	unsigned char *request = NULL;
	int request_bytes = req ? i2d_TS_REQ(req, &request) : -1;
	reply *r = calloc(1, sizeof *r);
	TS_RESP *resp = NULL;
	signer_err err = SIGNER_OK;
	if (!req || request_bytes <= 0 || !r)
		err = signer_fail_openssl(SIGNER_ERR_CRYPTO, "making the time-stamp request");
	if (!err)
		err = post(tsa, request, (size_t)request_bytes, r);
	if (!err)
		err = check(tsa, req, r, &resp);
	int64_t at_s = 0;
	if (!err && !seconds_of(TS_TST_INFO_get_time(TS_RESP_get_tst_info(resp)), &at_s))
		err = signer_fail(SIGNER_ERR_TSA, "the token's time is not a GeneralizedTime");
	if (!err && (at_s - time_s > (int64_t)tsa->tolerance_s || time_s - at_s > (int64_t)tsa->tolerance_s))
		err = signer_fail(SIGNER_ERR_CLOCK,
		                  "the time-stamping authority says %lld, the service's clock %lld: %lld s apart, over "
		                  "the tolerance of %u s; nothing is signed",
		                  (long long)at_s, (long long)time_s, (long long)(at_s - time_s), tsa->tolerance_s);
	if (!err) {
		unsigned char *out = NULL;
		int bytes = i2d_PKCS7(TS_RESP_get_token(resp), &out);
		if (bytes <= 0)
			err = signer_fail_openssl(SIGNER_ERR_CRYPTO, "encoding the time-stamp token");
		else {
			*der = out;
			*der_bytes = (size_t)bytes;
		}
	}
	TS_RESP_free(resp);
	free(r);
	OPENSSL_free(request);
	TS_REQ_free(req);
	ERR_clear_error();
	return err;
}
