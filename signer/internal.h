/*
 * internal.h: what the files of signer/ share. Not part of the API (signer.h is).
 */
#ifndef SIGNER_INTERNAL_H
#define SIGNER_INTERNAL_H

#include "signer.h"

#include <mupdf/fitz.h>
#include <mupdf/pdf.h>
#include <openssl/evp.h>
#include <openssl/ts.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define SIGNER_SHA256_BYTES 32u

/* Records the detail of a failure for signer_last_error() and returns err. */
signer_err signer_fail(signer_err err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Same, with OpenSSL's first queued reason appended; empties OpenSSL's error queue. */
signer_err signer_fail_openssl(signer_err err, const char *what);
/* Takes the n bytes OpenSSL's i2d_* wrote at out (n <= 0: it failed, naming what): copies them to
 * *der (malloc'd, *der_bytes long) and frees out, whatever happens. */
signer_err signer_der_take(unsigned char *out, int n, const char *what, uint8_t **der, size_t *der_bytes);
/* x's DER into der (der_bytes_max long), *der_bytes its length: SIGNER_ERR_TOO_LARGE when it does
 * not fit, SIGNER_ERR_INVALID for a NULL argument (ca.c). */
signer_err signer_der_copy(X509 *x, uint8_t *der, size_t der_bytes_max, size_t *der_bytes);

/* ----- mupdf contexts (signer/context.c) ----- */

/*
 * One mupdf context, for one call on one thread. Its allocator counts the bytes mupdf holds and
 * refuses past bytes_max; its error and warning callbacks keep the last message here instead
 * of printing it. Lives on the caller's stack: the callbacks point at it.
 */
typedef struct signer_fz {
	fz_context *ctx;
	size_t bytes_used;
	size_t bytes_max;
	bool over_memory;  /* an allocation was refused because of bytes_max */
	bool over_limit;   /* one of our own limits was hit inside a fz_try (see signer_fz_limit) */
	bool write_failed; /* set by pades.c while mupdf writes: failures map to SIGNER_ERR_PDF_WRITE */
	char message[SIGNER_ERROR_BYTES_MAX]; /* mupdf's last error or warning */
} signer_fz;

/* Creates fz->ctx with a cap of bytes_max. SIGNER_ERR_NOMEM if mupdf cannot start. */
signer_err signer_fz_open(signer_fz *fz, size_t bytes_max);
/* Drops the context and everything still in its store. */
void signer_fz_close(signer_fz *fz);
/* Throws from inside a fz_try after noting that a limit of ours (not mupdf) was passed. */
void signer_fz_limit(signer_fz *fz, const char *what) __attribute__((noreturn));
/* In a fz_catch: the caught error as a signer_err (TOO_LARGE after a refused allocation or a
 * limit, otherwise `otherwise`), with its message recorded for signer_last_error(). */
signer_err signer_fz_caught(signer_fz *fz, signer_err otherwise, const char *doing);

/* ----- documents (signer/inspect.c) ----- */

/*
 * Opens pdf from memory (not copied: pdf must outlive *doc) and runs every check of
 * signer_pdf_inspect() on it, filling info. On success *doc is open in fz (pdf_drop_document it);
 * on an error it is NULL.
 */
signer_err signer_pdf_open_checked(signer_fz *fz, const uint8_t *pdf, size_t pdf_bytes, size_t pdf_bytes_max,
                                   signer_pdf_info *info, pdf_document **doc);

/* True if s is valid UTF-8 without control characters, at most bytes_max bytes long. */
bool signer_text_valid(const char *s, size_t bytes_max);

/* ----- subjects (signer/subject.c) ----- */

/* SIGNER_ERR_INVALID, with the reason, unless s is a subject a certificate may name. */
signer_err signer_subject_check(const signer_subject *s);
/* Its X.509 subject name (signer.h says what it holds); NULL if OpenSSL fails. The caller frees it. */
X509_NAME *signer_subject_name(const signer_subject *s);
/* The file name a credential of s is kept in: the hex SHA-256 of a tag, the kind and the id, and
 * .pem, so that file names name nobody. */
#define SIGNER_CREDENTIAL_FILE_BYTES (2u * SIGNER_SHA256_BYTES + sizeof ".pem")
signer_err signer_credential_file(const signer_subject *s, char name[SIGNER_CREDENTIAL_FILE_BYTES]);

/* ----- the CA (signer/ca.c) and its revocations (signer/revocation.c) ----- */

#include <limits.h>
#include <pthread.h>

/* One revoked certificate, as the CRL and the responder state it. */
typedef struct signer_revoked {
	char serial[SIGNER_SERIAL_HEX_BYTES];
	int64_t time_s;
	int reason; /* RFC 5280 CRLReason */
} signer_revoked;

struct token;
/* An issuing CA of the hierarchy (signer/hierarchy.c): certified by the root, it issues one kind of
 * certificate; the OCSP responder's key is certified by each (signer_ocsp_enable). */
typedef struct signer_issuing_ca {
	EVP_PKEY *key;
	X509 *certificate;
	X509 *ocsp_certificate; /* the responder's certificate from this CA, or NULL */
	int64_t not_before_s, not_after_s;
} signer_issuing_ca;

/* The first byte of the serials an issuing CA gives (SIGNER_SERIAL_TAG_BASE + its index), so
 * that a revoked serial names the CA whose CRL lists it. Serials the root gave before the
 * hierarchy existed have any first byte from 0x40 to 0x7f. */
#define SIGNER_SERIAL_TAG_BASE 0x51u

struct signer_ca {
	EVP_PKEY *key;
	X509 *certificate;
	int64_t not_before_s;
	int64_t not_after_s;
	char credentials_dir[PATH_MAX];
	EVP_PKEY *tsa_key; /* the time-stamping unit (signer_tsa_enable), or NULL */
	X509 *tsa_certificate;
	EVP_PKEY *ocsp_key; /* the OCSP responder (signer_ocsp_enable), or NULL */
	X509 *ocsp_certificate;
	struct token *token; /* the token of the keys above, or NULL: they are PEM files */
	/* The revoked certificates (signer_ca_revoke): the one thing of a CA that changes once open,
	 * under its own lock, so that a signer_ca stays shareable by threads. */
	pthread_mutex_t revoked_lock;
	signer_revoked *revoked;
	size_t revoked_count, revoked_capacity;
	char
	    pki_url[SIGNER_PKI_URL_BYTES_MAX + 1]; /* signer_ca_set_pki_url, or "": issued certificates point nowhere */
	/* The hierarchy (signer_hierarchy_enable): when enabled, the CA above is the root, which
	 * certifies the issuing CAs and nothing else; without it, the CA issues everything, as the
	 * single CA of a keys directory made before the hierarchy did. */
	bool hierarchy;
	signer_issuing_ca issuing[SIGNER_ISSUING_CAS];
	/* The root issued end entities itself before the hierarchy existed (its own responder
	 * certificate, SIGNER_OCSP_CERT_FILE, is there): its CRL and responder keep answering for them. */
	bool root_issued_leaves;
	int64_t unit_renew_margin_s; /* signer_tsa_enable and signer_ocsp_enable re-issue the units' certificates this
	                                close to their end */
	bool read_only;              /* signer_ca_set_read_only: the units are opened, never made or renewed */
};

/* Opens the hierarchy of keys_dir when all its issuing CAs' certificates are there
 * (signer_ca_open), creating nothing: a keys directory opened by a tool (ledger-audit) issues as
 * ledgerd would. SIGNER_ERR_KEYS for a CA whose key is missing or does not match. */
signer_err signer_hierarchy_load(signer_ca *ca, const char *keys_dir);
/* The issuing CA that issues kind in ca's hierarchy, or NULL without one. */
const signer_issuing_ca *signer_issuing_for(const signer_ca *ca, signer_issuing which);
/* The issuer of x among ca's certificates: an issuing CA's or the root's, into *certificate and
 * *key (borrowed), and its responder certificate into *ocsp (NULL if none). False if none. */
bool signer_issuer_of(const signer_ca *ca, X509 *x, X509 **certificate, EVP_PKEY **key, X509 **ocsp);

/* The upper-case hex serial of x into out ("" if it does not fit). */
void signer_serial_hex(X509 *x, char out[SIGNER_SERIAL_HEX_BYTES]);
/* serial (hex, any case) in canonical form: upper case, no leading zero. False if not hex. */
bool signer_serial_canonical(const char *serial, char out[SIGNER_SERIAL_HEX_BYTES]);
/* The CRL of the issuing CA of credential's certificate (NULL: the TSA's) at now_s, as
 * signer_issuing_crl(); *der NULL (and SIGNER_OK) when the root issued it: its CRL is
 * signer_ca_crl's. */
signer_err signer_credential_crl(const signer_ca *ca, const signer_credential *credential, int64_t now_s, uint8_t **der,
                                 size_t *der_bytes);
/* Frees what the revoked set holds (signer_ca_free). */
void signer_revoked_free(struct signer_ca *ca);

/* ----- what issued certificates point to (signer/profile.c) ----- */

/* Adds to x (being built in v3) authorityInfoAccess (caIssuers, and OCSP when ocsp) and
 * cRLDistributionPoints under pki_url (checked by signer_ca_set_pki_url) for its issuer named
 * issuer_path (<url>/ca/<name>.crt, <url>/crl/<name>.crl; NULL: the single CA's <url>/ca.crt and
 * <url>/crl), and with policies the CA's certificatePolicies. False if OpenSSL fails. */
bool signer_profile_add(X509 *x, X509V3_CTX *v3, const char *pki_url, const char *issuer_path, bool ocsp,
                        bool policies);

/* ----- credentials (signer/ca.c) ----- */

struct signer_credential {
	signer_kind kind;
	EVP_PKEY *key;
	X509 *certificate;
	X509 *ca_certificate;     /* its certificate's issuer: an issuing CA, or the root without a hierarchy */
	X509 *root_certificate;   /* the root (the same as ca_certificate without a hierarchy) */
	X509 *tsa_ca_certificate; /* the TSA certificate's issuer, when there is a TSA */
	EVP_PKEY *tsa_key;        /* the CA's time-stamping unit, when enabled: PAdES B-T */
	X509 *tsa_certificate;
	const signer_tsa_remote *tsa_remote; /* an external TSA instead (signer_credential_use_tsa), borrowed */
	int64_t not_before_s;
	int64_t not_after_s;
};

/* A credential that signs nothing, for document time-stamps alone (archive renewal): its
 * certificate and its TSA are the CA's time-stamping unit's. SIGNER_ERR_KEYS without one,
 * SIGNER_ERR_NOMEM. *out is the caller's (signer_credential_free). */
signer_err signer_ca_tsa_credential(const signer_ca *ca, signer_credential **out);

/* ----- CMS (signer/cms.c) ----- */

/*
 * Builds the detached CMS SignedData of PAdES B-B for a document whose /ByteRange hashes (SHA-256)
 * to digest, signed by credential; with timestamp_s >= 0, B-T: the signature value time-stamped
 * at timestamp_s by the credential's TSA, in the unsigned attribute id-aa-signatureTimeStampToken.
 * *der is the caller's (OPENSSL_free). SIGNER_ERR_CRYPTO, SIGNER_ERR_KEYS (no TSA).
 */
signer_err signer_cms_sign(const signer_credential *credential, const uint8_t digest[SIGNER_SHA256_BYTES],
                           int64_t timestamp_s, uint8_t **der, size_t *der_bytes);

/* ----- time-stamps (signer/tsa.c) ----- */

/*
 * An RFC 3161 TimeStampToken (a CMS ContentInfo, DER) over the SHA-256 digest, by the
 * credential's TSA, dated time_s: what PAdES B-T puts in the signature-time-stamp attribute.
 * *der is the caller's (OPENSSL_free). SIGNER_ERR_CRYPTO.
 */
signer_err signer_tsa_token(const signer_credential *credential, const uint8_t digest[SIGNER_SHA256_BYTES],
                            int64_t time_s, uint8_t **der, size_t *der_bytes);

/* A TimeStampReq (version 1) for digest (SHA-256), asking for the certificates, with a random
 * 64-bit nonce; NULL if OpenSSL fails. The caller TS_REQ_free()s it. */
TS_REQ *signer_tsa_request(const uint8_t digest[SIGNER_SHA256_BYTES]);

/* ----- an external time-stamping authority (signer/tsa_remote.c) ----- */

/* An authority's URL, and a CRL distribution point's, with its NUL. */
#define SIGNER_TSA_URL_BYTES_MAX 2048u

struct signer_tsa_remote {
	char *url;
	STACK_OF(X509) * anchors;
	uint32_t tolerance_s;
	uint32_t timeout_ms;
};

/*
 * A token for digest from the external TSA: the request signer_tsa_request() makes, sent over
 * HTTP (RFC 3161 section 3.4), the reply checked (granted, the token's signature chains to the
 * configured anchors, its imprint and nonce are the request's) and its time compared with
 * time_s, the service's clock: SIGNER_ERR_CLOCK beyond the tolerance. SIGNER_ERR_TSA when the
 * authority cannot be reached or answers anything else.
 */
signer_err signer_tsa_remote_token(const signer_tsa_remote *tsa, const uint8_t digest[SIGNER_SHA256_BYTES],
                                   int64_t time_s, uint8_t **der, size_t *der_bytes);

/* The i-th certificate of the time-stamping authority's chain that a /DSS holds (the CA's TSA
 * unit, or the external authority's anchors); NULL past the last. */
X509 *signer_tsa_dss_certificate(const signer_credential *credential, size_t i);

/* ----- the document being signed (signer/update.c) ----- */

/*
 * A signing call's document: one malloc'd buffer that every incremental update of the call is
 * appended to in place (it never moves: a pdf_document opened on it stays valid). Bytes before
 * sealed_bytes are never written again: what earlier signatures cover. hash is the SHA-256 of
 * data[0, hashed_bytes), carried along the file from one signature to the next.
 */
typedef struct signer_document {
	uint8_t *data;
	size_t bytes;
	size_t capacity; /* the input's size + SIGNER_SIGNATURE_GROWTH_BYTES_MAX, for all updates */
	size_t sealed_bytes;
	EVP_MD_CTX *hash;
	size_t hashed_bytes;
	const uint8_t *original; /* the input (borrowed) until the first update has copied it */
} signer_document;

/* A new d for pdf, sealed; pdf (borrowed) is copied in by the first signer_document_append,
 * whose doc reads pdf. SIGNER_ERR_NOMEM, SIGNER_ERR_TOO_LARGE (2 GiB with the room
 * for updates). On an error d is empty (signer_document_free is harmless). */
signer_err signer_document_init(signer_document *d, const uint8_t *pdf, size_t pdf_bytes);
void signer_document_free(signer_document *d);
/* Hands d's bytes to the caller (*out, free()) and empties d. */
void signer_document_take(signer_document *d, uint8_t **out, size_t *out_bytes);
/* Opens d as it is now, without signer_pdf_open_checked's checks: for a document this call has
 * checked, or written, already. SIGNER_ERR_PDF_WRITE. */
signer_err signer_document_open(signer_fz *fz, const signer_document *d, pdf_document **doc);
/* Appends doc's changes (doc opened on d, or on the bytes d was made from) as an incremental
 * update; *update_start is where it starts. Everything before it is sealed first.
 * SIGNER_ERR_PDF_WRITE, SIGNER_ERR_TOO_LARGE past SIGNER_SIGNATURE_GROWTH_BYTES_MAX in all. */
signer_err signer_document_append(signer_fz *fz, signer_document *d, pdf_document *doc, size_t *update_start);

/* Makes a signature's /Contents (a CMS, or a time-stamp token) for digest, the SHA-256 of its
 * byte range: *der is the caller's to OPENSSL_free. */
typedef signer_err (*signer_contents_fn)(void *state, const uint8_t digest[SIGNER_SHA256_BYTES], uint8_t **der,
                                         size_t *der_bytes);
/* The dictionary entries a signature value starts with, in this order, before the update is
 * written: /ByteRange (a placeholder) then the caller's /Contents of SIGNER_CMS_BYTES_MAX zero
 * bytes. Throws. */
void signer_document_placeholder(fz_context *ctx, pdf_obj *value);
/* After signer_document_append: finds signature value object value_num in the update at
 * update_start, writes its /ByteRange, hashes the range and writes contents' answer into
 * /Contents. SIGNER_ERR_PDF_WRITE if the dictionary is not found as written, SIGNER_ERR_CRYPTO,
 * SIGNER_ERR_TOO_LARGE if the answer is over SIGNER_CMS_BYTES_MAX, or contents' error. */
signer_err signer_document_sign(signer_document *d, size_t update_start, int value_num, signer_contents_fn contents,
                                void *state);

/* ----- the document security store (signer/dss.c) ----- */

/* What goes in a /DSS update: DER certificates, CRLs and OCSP responses. for_timestamps marks
 * what validates the document time-stamps' chain (the TSA's certificates, the CRL and OCSP
 * answers about them), which the /VRI entries of document time-stamps reference. */
typedef enum { SIGNER_DSS_CERT, SIGNER_DSS_CRL, SIGNER_DSS_OCSP } signer_dss_kind;
typedef struct signer_dss_item {
	signer_dss_kind kind;
	const uint8_t *der;
	size_t der_bytes;
	bool for_timestamps;
} signer_dss_item;

/* Most items one update holds: the signer's, the TSA's chain and the CA's certificates, the
 * CRLs and the OCSP responses. */
#define SIGNER_DSS_ITEMS_MAX 24u

/* The upper-case hex SHA-1 naming a signature in /VRI, and its NUL. */
#define SIGNER_VRI_KEY_BYTES (2u * 20u + 1u)

/* A CAdES signature this call has just made: its value's object number and its /VRI key (the
 * upper-case hex SHA-1 of its CMS, the /Contents without the zero padding), known from the CMS
 * itself, so the /DSS update need not read back the dictionary and its 16 KiB of hex. */
typedef struct signer_new_signature {
	int value_num;
	char vri_key[SIGNER_VRI_KEY_BYTES];
} signer_new_signature;

/* The /VRI key of the signature whose CMS is cms. */
void signer_vri_key(const uint8_t *cms, size_t cms_bytes, char key[SIGNER_VRI_KEY_BYTES]);

/*
 * What one update adds to the catalog's /DSS (created if absent; certificates already there are
 * not added twice): items, and /VRI entries dated time_s (/TU) for signature when given (every
 * item) and for every document time-stamp that has none yet (the items for_timestamps).
 */
typedef struct signer_dss_update {
	const signer_dss_item *items;
	size_t item_count;
	const signer_new_signature *signature; /* NULL: none (an archive renewal) */
	int64_t time_s;
} signer_dss_update;

/* Makes u's changes to doc, for the update being prepared. Throws. */
void signer_dss_apply(fz_context *ctx, pdf_document *doc, const signer_dss_update *u);

/* B-LT: appends to d an update making u's changes. SIGNER_ERR_PDF_WRITE, SIGNER_ERR_TOO_LARGE,
 * SIGNER_ERR_NOMEM. */
signer_err signer_dss_add(signer_fz *fz, const signer_dss_update *u, signer_document *d);

/* The items of a B-LT update after a signature by credential: its certificate, the TSA's chain
 * and the CA's, o's CRLs and OCSP responses (the second, when there are two, is the TSA's). */
typedef struct signer_dss_items {
	signer_dss_item items[SIGNER_DSS_ITEMS_MAX];
	uint8_t *certificates[SIGNER_DSS_ITEMS_MAX]; /* the DER the items point to, OPENSSL_free */
	size_t count;
} signer_dss_items;
signer_err signer_dss_items_for_signature(const signer_credential *credential, const signer_sign_options *o,
                                          signer_dss_items *out);
void signer_dss_items_free(signer_dss_items *items);

/*
 * B-LTA: appends to d an update holding a document time-stamp by credential's time-stamping
 * unit at o->signing_time_s over everything before it, and dss's changes when given: the
 * validation data go in the same update as the time-stamp that covers them, which saves a
 * reopening and a rewrite of the file (signer/pades.c).
 */
signer_err signer_pades_add_document_timestamp(signer_fz *fz, const signer_credential *credential,
                                               const signer_sign_options *o, const signer_dss_update *dss,
                                               signer_document *d);

/* The signature dictionary (/V) of doc's last document time-stamp (the one whose byte range
 * ends last), borrowed; NULL if it has none. Throws. */
pdf_obj *signer_dss_last_timestamp(fz_context *ctx, pdf_document *doc);

#endif
