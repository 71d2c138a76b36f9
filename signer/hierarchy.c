/*
 * hierarchy.c: the root CA and the issuing CAs under it (docs/signer.md#hierarchy).
 *
 * The CA of a keys directory (ca.c) becomes a root: it certifies one issuing CA per kind of
 * certificate (natural persons, legal persons' seals, time-stamping) and signs its CRL, and
 * nothing else. Each issuing CA has its own key in the token, its own CRL and its own
 * certificate for the OCSP responder's key, so that a relying party checks a person's, a seal's
 * and a time-stamp's certificate each against the CA that made it, and so that one CA's key can be
 * retired without the others.
 *
 * A keys directory made before the hierarchy has a root that issued end entities itself; it
 * gets its issuing CAs at its first start here and keeps answering (CRL, OCSP with its own
 * responder certificate) for what it issued before: the trust anchor validators hold does not
 * change.
 */
#include "authority.h"
#include "keystore.h"

#include <openssl/err.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define SECONDS_PER_DAY           86400
#define ISSUING_VALIDITY_DAYS     3650u /* an issuing CA's life (10 years), within the root's */
#define ORGANIZATION_SCHEME_BYTES 6u    /* "NTRFR-" */
#define AUTHORITY_FILE_BYTES      64u

static const char *const issuing_names[SIGNER_ISSUING_CAS] = {"persons", "seals", "tsa"};
static const char *const issuing_common_names[SIGNER_ISSUING_CAS] = {"JeSignExpert Persons CA", "JeSignExpert Seals CA",
                                                                     "JeSignExpert Time-Stamping CA"};

const char *signer_issuing_name(signer_issuing which)
{
	return (unsigned)which < SIGNER_ISSUING_CAS ? issuing_names[which] : NULL;
}

static bool upper(char c)
{
	return c >= 'A' && c <= 'Z';
}

signer_err signer_organization_identifier_check(const char *s)
{
	size_t n = s ? strnlen(s, SIGNER_ORGANIZATION_IDENTIFIER_BYTES_MAX + 1) : 0;
	bool ok = n > ORGANIZATION_SCHEME_BYTES && n <= SIGNER_ORGANIZATION_IDENTIFIER_BYTES_MAX;
	for (size_t i = 0; ok && i < ORGANIZATION_SCHEME_BYTES - 1; i++)
		ok = upper(s[i]);
	ok = ok && s[ORGANIZATION_SCHEME_BYTES - 1] == '-';
	for (size_t i = ORGANIZATION_SCHEME_BYTES; ok && i < n; i++)
		ok = upper(s[i]) || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9');
	if (!ok)
		return signer_fail(
		    SIGNER_ERR_INVALID,
		    "organizationIdentifier \"%.80s\": three letters of scheme, two of country, '-', then 1 "
		    "to %u letters or digits (ETSI EN 319 412-1), e.g. NTRFR-123456789",
		    s ? s : "", SIGNER_ORGANIZATION_IDENTIFIER_BYTES_MAX - ORGANIZATION_SCHEME_BYTES);
	return SIGNER_OK;
}

const signer_issuing_ca *signer_issuing_for(const signer_ca *ca, signer_issuing which)
{
	return ca->hierarchy && (unsigned)which < SIGNER_ISSUING_CAS ? &ca->issuing[which] : NULL;
}

bool signer_issuer_of(const signer_ca *ca, X509 *x, X509 **certificate, EVP_PKEY **key, X509 **ocsp)
{
	for (size_t i = 0; ca->hierarchy && i < SIGNER_ISSUING_CAS; i++)
		if (X509_check_issued(ca->issuing[i].certificate, x) == X509_V_OK) {
			*certificate = ca->issuing[i].certificate;
			*key = ca->issuing[i].key;
			if (ocsp)
				*ocsp = ca->issuing[i].ocsp_certificate;
			return true;
		}
	if (X509_check_issued(ca->certificate, x) != X509_V_OK)
		return false;
	*certificate = ca->certificate;
	*key = ca->key;
	if (ocsp) /* the root's own responder answers only for what it issued before the hierarchy */
		*ocsp = ca->root_issued_leaves || !ca->hierarchy ? ca->ocsp_certificate : NULL;
	return true;
}

/* The names of issuing CA i's files and token label. */
typedef struct issuing_files {
	char certificate[AUTHORITY_FILE_BYTES], key[AUTHORITY_FILE_BYTES], label[AUTHORITY_FILE_BYTES];
} issuing_files;

static void issuing_files_of(size_t i, issuing_files *f)
{
	snprintf(f->certificate, sizeof f->certificate, SIGNER_ISSUING_CERT_FORMAT, issuing_names[i]);
	snprintf(f->key, sizeof f->key, SIGNER_ISSUING_KEY_FORMAT, issuing_names[i]);
	snprintf(f->label, sizeof f->label, SIGNER_ISSUING_LABEL_FORMAT, issuing_names[i]);
}

/* Issuing CA i's key (at k) and its certificate from the root, into keys_dir. */
static signer_err issuing_create(signer_ca *ca, const char *keys_dir, size_t i, const authority_key_place *k,
                                 int64_t now_s)
{
	int64_t not_after_s = now_s + ISSUING_VALIDITY_DAYS * (int64_t)SECONDS_PER_DAY;
	if (not_after_s > ca->not_after_s)
		not_after_s = ca->not_after_s;
	if (now_s < ca->not_before_s || not_after_s <= now_s)
		return signer_fail(SIGNER_ERR_EXPIRED, "the root is not valid at %lld: no issuing CA can be made",
		                   (long long)now_s);
	EVP_PKEY *key = NULL;
	signer_err err = authority_key_generate(k, &key);
	if (err)
		return err;
	X509_NAME *name = authority_name_under(ca->certificate, issuing_common_names[i]);
	authority_request r = {.subject = name,
	                       .subject_key = key,
	                       .issuer = ca->certificate,
	                       .issuer_key = ca->key,
	                       .not_before_s = now_s - SIGNER_CERT_BACKDATE_S,
	                       .not_after_s = not_after_s,
	                       .ca = true,
	                       .path_length_0 = true,
	                       .pki_url = ca->pki_url[0] ? ca->pki_url : NULL,
	                       .policies = true,
	                       .issuer_path = "root"};
	X509 *certificate = name ? authority_certificate_new(&r) : NULL;
	err = certificate ? SIGNER_OK : signer_fail_openssl(SIGNER_ERR_CRYPTO, "issuing an issuing CA's certificate");
	bool stored = false;
	if (!err)
		stored = (err = authority_key_store(k, key)) == SIGNER_OK;
	issuing_files f;
	issuing_files_of(i, &f);
	if (!err)
		err = keystore_pem_write(keys_dir, f.certificate, NULL, certificate, 0644, false);
	if (err && (stored || k->token))
		authority_key_discard(k);
	X509_free(certificate);
	X509_NAME_free(name);
	EVP_PKEY_free(key);
	return err;
}

/* Reads issuing CA i (made the first time when create) into ca->issuing[i], checked against the root. */
static signer_err issuing_open(signer_ca *ca, const char *keys_dir, size_t i, int64_t now_s, bool create)
{
	issuing_files f;
	issuing_files_of(i, &f);
	authority_key_place k = {ca->token, keys_dir, f.key, f.label};
	signer_issuing_ca *c = &ca->issuing[i];
	signer_err err = authority_read_pem(keys_dir, f.certificate, NULL, &c->certificate);
	if (err == SIGNER_ERR_NOT_FOUND && authority_key_present(&k))
		return signer_fail(SIGNER_ERR_KEYS, "%s: the key of the %s CA without %s", keys_dir, issuing_names[i],
		                   f.certificate);
	if (err == SIGNER_ERR_NOT_FOUND && !create)
		return signer_fail(SIGNER_ERR_KEYS, "%s: a hierarchy without %s", keys_dir, f.certificate);
	if (err == SIGNER_ERR_NOT_FOUND && (err = issuing_create(ca, keys_dir, i, &k, now_s)) == SIGNER_OK)
		err = authority_read_pem(keys_dir, f.certificate, NULL, &c->certificate);
	if (!err && (err = authority_key_read(&k, &c->key)) == SIGNER_ERR_NOT_FOUND)
		err = signer_fail(SIGNER_ERR_KEYS, "%s/%s without its key", keys_dir, f.certificate);
	if (!err && X509_check_private_key(c->certificate, c->key) != 1)
		err =
		    signer_fail(SIGNER_ERR_KEYS, "the %s CA's key does not match %s", issuing_names[i], f.certificate);
	if (!err && (X509_check_issued(ca->certificate, c->certificate) != X509_V_OK ||
	             X509_verify(c->certificate, X509_get0_pubkey(ca->certificate)) != 1))
		err = signer_fail(SIGNER_ERR_KEYS, "%s/%s is not issued by the root", keys_dir, f.certificate);
	ERR_clear_error();
	if (!err) {
		c->not_before_s = authority_time_s(X509_get0_notBefore(c->certificate));
		c->not_after_s = authority_time_s(X509_get0_notAfter(c->certificate));
		if (c->not_before_s < 0 || c->not_after_s <= c->not_before_s)
			err =
			    signer_fail(SIGNER_ERR_KEYS, "%s/%s: its validity cannot be read", keys_dir, f.certificate);
	}
	return err;
}

static signer_err hierarchy_open(signer_ca *ca, const char *keys_dir, int64_t now_s, bool create)
{
	if (ca->hierarchy)
		return SIGNER_OK;
	signer_err err = SIGNER_OK;
	for (size_t i = 0; !err && i < SIGNER_ISSUING_CAS; i++)
		err = issuing_open(ca, keys_dir, i, now_s, create);
	if (err) {
		for (size_t i = 0; i < SIGNER_ISSUING_CAS; i++) {
			EVP_PKEY_free(ca->issuing[i].key);
			X509_free(ca->issuing[i].certificate);
			memset(&ca->issuing[i], 0, sizeof ca->issuing[i]);
		}
		return err;
	}
	char path[PATH_MAX];
	ca->root_issued_leaves =
	    keystore_path(path, sizeof path, keys_dir, SIGNER_OCSP_CERT_FILE) == SIGNER_OK && access(path, F_OK) == 0;
	ca->hierarchy = true;
	return SIGNER_OK;
}

signer_err signer_hierarchy_enable(signer_ca *ca, const char *keys_dir, int64_t now_s)
{
	if (!ca || !keys_dir)
		return signer_fail(SIGNER_ERR_INVALID, "signer_hierarchy_enable: NULL argument");
	return hierarchy_open(ca, keys_dir, now_s, true);
}

signer_err signer_hierarchy_load(signer_ca *ca, const char *keys_dir)
{
	/* Not all there: none made yet, or a start stopped between two of them, which the next
	 * signer_hierarchy_enable completes. The root alone until then. */
	for (size_t i = 0; i < SIGNER_ISSUING_CAS; i++) {
		issuing_files f;
		issuing_files_of(i, &f);
		char path[PATH_MAX];
		signer_err err = keystore_path(path, sizeof path, keys_dir, f.certificate);
		if (err || access(path, F_OK) != 0)
			return err;
	}
	return hierarchy_open(ca, keys_dir, 0, false);
}

signer_err signer_issuing_certificate(const signer_ca *ca, signer_issuing which, uint8_t *der, size_t der_bytes_max,
                                      size_t *der_bytes)
{
	if (!ca || !der || !der_bytes || (unsigned)which >= SIGNER_ISSUING_CAS)
		return signer_fail(SIGNER_ERR_INVALID, "signer_issuing_certificate: NULL argument or no such CA");
	*der_bytes = 0;
	if (!ca->hierarchy)
		return signer_fail(SIGNER_ERR_NOT_FOUND, "no hierarchy (signer_hierarchy_enable)");
	return signer_der_copy(ca->issuing[which].certificate, der, der_bytes_max, der_bytes);
}

/* ----- the authorities' keys, for the log's KeyCreated ----- */

/* Visits one key: its kind, where it is, the certificate x certifying it. */
static signer_err visit_key(const signer_ca *ca, const char *kind, const char *label, const char *file, X509 *x,
                            bool (*visit)(void *ctx, const signer_authority_key *key), void *ctx, bool *more)
{
	signer_authority_key k = {.kind = kind};
	snprintf(k.key_id, sizeof k.key_id, "%s:%s", ca->token ? "token" : "file", ca->token ? label : file);
	signer_serial_hex(x, k.serial);
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);
	if (n <= 0)
		return signer_fail_openssl(SIGNER_ERR_CRYPTO, "encoding an authority's certificate");
	k.certificate_der = der;
	k.certificate_der_bytes = (size_t)n;
	*more = visit(ctx, &k);
	OPENSSL_free(der);
	return SIGNER_OK;
}

signer_err signer_authority_keys_each(const signer_ca *ca, bool (*visit)(void *ctx, const signer_authority_key *key),
                                      void *ctx)
{
	if (!ca || !visit)
		return signer_fail(SIGNER_ERR_INVALID, "signer_authority_keys_each: NULL argument");
	static const char *const kinds[SIGNER_ISSUING_CAS] = {"ca-persons", "ca-seals", "ca-tsa"};
	bool more = true;
	signer_err err =
	    visit_key(ca, "ca-root", SIGNER_CA_KEY_LABEL, SIGNER_CA_KEY_FILE, ca->certificate, visit, ctx, &more);
	for (size_t i = 0; !err && more && ca->hierarchy && i < SIGNER_ISSUING_CAS; i++) {
		issuing_files f;
		issuing_files_of(i, &f);
		err = visit_key(ca, kinds[i], f.label, f.key, ca->issuing[i].certificate, visit, ctx, &more);
	}
	if (!err && more && ca->tsa_certificate)
		err = visit_key(ca, "tsa", SIGNER_TSA_KEY_LABEL, SIGNER_TSA_KEY_FILE, ca->tsa_certificate, visit, ctx,
		                &more);
	X509 *responder = ca->hierarchy ? ca->issuing[SIGNER_ISSUING_PERSONS].ocsp_certificate : ca->ocsp_certificate;
	if (!err && more && ca->ocsp_key && responder)
		err = visit_key(ca, "ocsp", SIGNER_OCSP_KEY_LABEL, SIGNER_OCSP_KEY_FILE, responder, visit, ctx, &more);
	return err;
}
