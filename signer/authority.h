/*
 * authority.h: what ca.c, hierarchy.c and units.c share to make the authorities' keys and
 * certificates. Private to signer/.
 */
#ifndef SIGNER_AUTHORITY_H
#define SIGNER_AUTHORITY_H

#include "internal.h"
#include "pkcs11_token.h"

/* Where one key of an authority lives: label in the token, or file in dir without one. */
typedef struct authority_key_place {
	token *token;
	const char *dir;
	const char *file;
	const char *label;
} authority_key_place;

/* What authority_certificate_new() certifies. */
typedef struct authority_request {
	const X509_NAME *subject;
	EVP_PKEY *subject_key;
	X509 *issuer; /* NULL: self-signed with subject_key */
	EVP_PKEY *issuer_key;
	int64_t not_before_s, not_after_s;
	bool ca;
	const char *email;              /* an rfc822Name subjectAltName, or NULL */
	const char *extended_key_usage; /* a unit of the CA: "critical,timeStamping" (RFC 3161 2.3), ... */
	bool ocsp_nocheck;              /* an OCSP responder: id-pkix-ocsp-nocheck (RFC 6960 4.2.2.2.1) */
	const char *pki_url;            /* AIA and CDP under it (signer/profile.c), or NULL */
	bool policies;                  /* with pki_url: the CA's certificatePolicies too */
	/* with pki_url: the name of the issuer in the PKI's paths (<url>/crl/<name>.crl,
	 * <url>/ca/<name>.crt), or NULL for the single CA's old paths (<url>/crl, <url>/ca.crt) */
	const char *issuer_path;
	bool ocsp_access;   /* with pki_url: an id-ad-ocsp access location (<url>/ocsp) */
	bool path_length_0; /* a CA that certifies end entities only: pathLenConstraint 0 */
	uint8_t serial_tag; /* the serial's first byte (SIGNER_SERIAL_TAG_*), or 0: random */
} authority_request;

/* A time of a certificate, in seconds since the epoch; -1 if it cannot be read. */
int64_t authority_time_s(const ASN1_TIME *t);
/* A new key at k: generated in the token (SIGNER_ERR_EXISTS if the label is taken), or in
 * software, to be written by authority_key_store(). */
signer_err authority_key_generate(const authority_key_place *k, EVP_PKEY **key);
/* Writes a software key to its file, created exclusively; a token's is there already. */
signer_err authority_key_store(const authority_key_place *k, EVP_PKEY *key);
/* Undoes authority_key_generate() and authority_key_store() after a later step failed. */
void authority_key_discard(const authority_key_place *k);
/* The key at k. SIGNER_ERR_NOT_FOUND if there is none. */
signer_err authority_key_read(const authority_key_place *k, EVP_PKEY **key);
/* Whether there is a key at k (usable or not). */
bool authority_key_present(const authority_key_place *k);
/* Reads name from dir as a PEM key or certificate. SIGNER_ERR_NOT_FOUND if it is absent. */
signer_err authority_read_pem(const char *dir, const char *name, EVP_PKEY **key, X509 **certificate);
/* The certificate r asks for, signed; NULL if OpenSSL fails. The caller X509_free()s it. */
X509 *authority_certificate_new(const authority_request *r);
/* "C=FR, O=JeSignExpert, [organizationIdentifier=...,] CN=common_name"; NULL if OpenSSL fails. */
X509_NAME *authority_name(const char *common_name, const char *organization_identifier);
/* authority_name with root's organizationIdentifier (the default for a root made without one):
 * the name of an authority or unit of the root's organisation (ETSI EN 319 412-3). */
X509_NAME *authority_name_under(X509 *root, const char *common_name);

#endif
