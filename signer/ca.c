/*
 * ca.c: the root CA and the credentials issued under it.
 *
 * The root is one ECDSA P-256 key and a self-signed certificate, created once per keys directory.
 * With the hierarchy enabled (hierarchy.c) it certifies only the issuing CAs, which issue the
 * credentials; without it (the unit tests' keys directories, and what the single CA of an older
 * directory issued) it issues them itself. Each signer (a person or a firm's seal) gets its own
 * P-256 key and a certificate, stored with the key in one file named by a hash of who it is for,
 * so that one rename replaces both together and no path names a person. Credentials are re-used
 * while they are valid and still say what the subject is called; otherwise a new one is issued.
 *
 * Where the keys of the CAs and of their units (TSA, OCSP responder) live depends on the keys
 * directory: when it names a PKCS #11 token (SIGNER_TOKEN_CONFIG_FILE, written by ledgerd
 * init), they are generated in the token and never leave it (pkcs11_token.h), and only their
 * certificates are files; otherwise, in a keys directory made before the token existed, they
 * are PEM files, as they always were. The authority_key_* functions below hide which.
 */
#include "authority.h"
#include "keystore.h"
#include "kept_key.h"
#include "pkcs11_token.h"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SECONDS_PER_DAY 86400
#define SERIAL_BYTES    16u
/* Domain separation of the hash that names credential files. */
/* Years 0..9999 fit an ASN1 GeneralizedTime; beyond, refuse. */
#define TIME_S_MAX 253402300799

/* ----- certificates ----- */

int64_t authority_time_s(const ASN1_TIME *t)
{
	struct tm tm;
	if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	return (int64_t)timegm(&tm);
}

static EVP_PKEY *key_new(void)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

/* A new key at k: generated in the token (SIGNER_ERR_EXISTS if the label is taken), or in
 * software, to be written by authority_key_store(). */
signer_err authority_key_generate(const authority_key_place *k, EVP_PKEY **key)
{
	*key = NULL;
	if (!k->token) {
		*key = key_new();
		return *key ? SIGNER_OK : signer_fail_openssl(SIGNER_ERR_CRYPTO, "generating a key");
	}
	signer_err err = token_key_generate(k->token, k->label);
	if (!err && (err = token_key_load(k->token, k->label, key)) != SIGNER_OK)
		token_key_destroy(k->token, k->label); /* a key we cannot use is no use */
	return err;
}

/* Writes a software key to its file, created exclusively; a token's is there already. */
signer_err authority_key_store(const authority_key_place *k, EVP_PKEY *key)
{
	return k->token ? SIGNER_OK : keystore_pem_write(k->dir, k->file, key, NULL, 0600, false);
}

/* Undoes authority_key_generate() and authority_key_store() after a later step failed: the key is useless. */
void authority_key_discard(const authority_key_place *k)
{
	char path[PATH_MAX];
	if (k->token)
		token_key_destroy(k->token, k->label);
	else if (keystore_path(path, sizeof path, k->dir, k->file) == SIGNER_OK)
		unlink(path);
}

/* The key at k. SIGNER_ERR_NOT_FOUND if there is none. */
signer_err authority_key_read(const authority_key_place *k, EVP_PKEY **key)
{
	return k->token ? token_key_load(k->token, k->label, key) : authority_read_pem(k->dir, k->file, key, NULL);
}

/* Whether there is a key at k (usable or not). */
bool authority_key_present(const authority_key_place *k)
{
	char path[PATH_MAX];
	if (!k->token)
		return keystore_path(path, sizeof path, k->dir, k->file) == SIGNER_OK && access(path, F_OK) == 0;
	EVP_PKEY *key = NULL;
	signer_err err = token_key_load(k->token, k->label, &key);
	EVP_PKEY_free(key);
	return err != SIGNER_ERR_NOT_FOUND;
}

/* The token keys_dir names, logged in, into *out; NULL (and SIGNER_OK) when it names none. */
static signer_err token_of(const char *keys_dir, token **out)
{
	*out = NULL;
	token_config config;
	signer_err err = token_config_read(keys_dir, &config);
	if (err == SIGNER_ERR_NOT_FOUND)
		return SIGNER_OK;
	if (!err)
		err = token_open(&config, out);
	return err;
}

static bool add_extension(X509 *x, X509V3_CTX *v3, int nid, const char *value)
{
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, v3, nid, value);
	bool ok = e && X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	return ok;
}

/* The address is added as data, not through a configuration string it could inject into. */
static bool add_email_alt_name(X509 *x, const char *email)
{
	GENERAL_NAMES *names = GENERAL_NAMES_new();
	GENERAL_NAME *name = GENERAL_NAME_new();
	ASN1_IA5STRING *text = ASN1_IA5STRING_new();
	bool ok = names && name && text && ASN1_STRING_set(text, email, -1);
	if (ok) {
		GENERAL_NAME_set0_value(name, GEN_EMAIL, text);
		text = NULL;
		ok = sk_GENERAL_NAME_push(names, name) > 0;
		name = ok ? NULL : name;
	}
	ok = ok && X509_add1_ext_i2d(x, NID_subject_alt_name, names, 0, X509V3_ADD_DEFAULT) == 1;
	ASN1_IA5STRING_free(text);
	GENERAL_NAME_free(name);
	GENERAL_NAMES_free(names);
	return ok;
}

/* A random positive serial of SERIAL_BYTES; its first byte is tag when tag is not 0, so that the
 * serial names its issuing CA (SIGNER_SERIAL_TAG_*: which CRL lists it once revoked). */
static bool set_serial(X509 *x, uint8_t tag)
{
	unsigned char bytes[SERIAL_BYTES];
	if (RAND_bytes(bytes, sizeof bytes) != 1)
		return false;
	bytes[0] = tag ? tag : (unsigned char)((bytes[0] & 0x7f) | 0x40); /* positive, full length */
	BIGNUM *bn = BN_bin2bn(bytes, sizeof bytes, NULL);
	bool ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	BN_free(bn);
	return ok;
}

X509 *authority_certificate_new(const authority_request *r)
{
	X509 *x = X509_new();
	if (!x)
		return NULL;
	X509 *issuer = r->issuer ? r->issuer : x;
	X509V3_CTX v3;
	bool ok = X509_set_version(x, X509_VERSION_3) && set_serial(x, r->serial_tag) &&
	          ASN1_TIME_set(X509_getm_notBefore(x), (time_t)r->not_before_s) &&
	          ASN1_TIME_set(X509_getm_notAfter(x), (time_t)r->not_after_s) &&
	          X509_set_subject_name(x, r->subject) &&
	          X509_set_issuer_name(x, r->issuer ? X509_get_subject_name(r->issuer) : r->subject) &&
	          X509_set_pubkey(x, r->subject_key);
	if (ok) {
		X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
		ok = add_extension(x, &v3, NID_basic_constraints,
		                   r->ca ? (r->path_length_0 ? "critical,CA:TRUE,pathlen:0" : "critical,CA:TRUE")
		                         : "critical,CA:FALSE") &&
		     add_extension(x, &v3, NID_key_usage,
		                   r->ca ? "critical,keyCertSign,cRLSign"
		                         : "critical,digitalSignature,nonRepudiation") &&
		     add_extension(x, &v3, NID_subject_key_identifier, "hash") &&
		     (!r->issuer || add_extension(x, &v3, NID_authority_key_identifier, "keyid:always")) &&
		     (!r->email || add_email_alt_name(x, r->email)) &&
		     (!r->extended_key_usage || add_extension(x, &v3, NID_ext_key_usage, r->extended_key_usage)) &&
		     (!r->ocsp_nocheck || add_extension(x, &v3, NID_id_pkix_OCSP_noCheck, "ignored")) &&
		     (!r->pki_url ||
		      signer_profile_add(x, &v3, r->pki_url, r->issuer_path, r->ocsp_access, r->policies));
	}
	ok = ok && X509_sign(x, r->issuer_key, EVP_sha256()) > 0;
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

signer_err signer_der_copy(X509 *x, uint8_t *der, size_t der_bytes_max, size_t *der_bytes)
{
	if (!x || !der || !der_bytes)
		return signer_fail(SIGNER_ERR_INVALID, "NULL argument");
	*der_bytes = 0;
	int bytes = i2d_X509(x, NULL);
	if (bytes <= 0)
		return signer_fail_openssl(SIGNER_ERR_CRYPTO, "i2d_X509");
	if ((size_t)bytes > der_bytes_max)
		return signer_fail(SIGNER_ERR_TOO_LARGE, "the certificate takes %d bytes, the buffer %zu", bytes,
		                   der_bytes_max);
	unsigned char *p = der;
	if (i2d_X509(x, &p) != bytes)
		return signer_fail_openssl(SIGNER_ERR_CRYPTO, "i2d_X509");
	*der_bytes = (size_t)bytes;
	return SIGNER_OK;
}

/* ----- the CA ----- */

X509_NAME *authority_name(const char *common_name, const char *organization_identifier)
{
	X509_NAME *name = X509_NAME_new();
	if (name &&
	    X509_NAME_add_entry_by_NID(name, NID_countryName, MBSTRING_ASC, (const unsigned char *)"FR", -1, -1, 0) &&
	    X509_NAME_add_entry_by_NID(name, NID_organizationName, MBSTRING_UTF8, (const unsigned char *)"JeSignExpert",
	                               -1, -1, 0) &&
	    (!organization_identifier ||
	     X509_NAME_add_entry_by_NID(name, NID_organizationIdentifier, MBSTRING_UTF8,
	                                (const unsigned char *)organization_identifier, -1, -1, 0)) &&
	    X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8, (const unsigned char *)common_name, -1, -1,
	                               0))
		return name;
	X509_NAME_free(name);
	return NULL;
}

/* The root's organizationIdentifier into out, or the default for a root made without one. */
static void organization_identifier_of(X509 *root, char out[SIGNER_ORGANIZATION_IDENTIFIER_BYTES_MAX + 1])
{
	snprintf(out, SIGNER_ORGANIZATION_IDENTIFIER_BYTES_MAX + 1, "%s", SIGNER_ORGANIZATION_IDENTIFIER_DEFAULT);
	X509_NAME *name = X509_get_subject_name(root);
	int at = X509_NAME_get_index_by_NID(name, NID_organizationIdentifier, -1);
	ASN1_STRING *value = at >= 0 ? X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, at)) : NULL;
	if (value && ASN1_STRING_length(value) > 0 &&
	    (size_t)ASN1_STRING_length(value) <= SIGNER_ORGANIZATION_IDENTIFIER_BYTES_MAX) {
		memcpy(out, ASN1_STRING_get0_data(value), (size_t)ASN1_STRING_length(value));
		out[ASN1_STRING_length(value)] = '\0';
	}
}

void signer_ca_organization_identifier(const signer_ca *ca, char out[SIGNER_ORGANIZATION_IDENTIFIER_BYTES_MAX + 1])
{
	organization_identifier_of(ca->certificate, out);
}

X509_NAME *authority_name_under(X509 *root, const char *common_name)
{
	char organization_identifier[SIGNER_ORGANIZATION_IDENTIFIER_BYTES_MAX + 1];
	organization_identifier_of(root, organization_identifier);
	return authority_name(common_name, organization_identifier);
}

/* The CA's key and self-signed certificate at k, the certificate into keys_dir. */
static signer_err ca_create(const authority_key_place *k, const char *keys_dir, int64_t now_s,
                            const char *organization_identifier)
{
	EVP_PKEY *key = NULL;
	signer_err err = authority_key_generate(k, &key);
	if (err)
		return err;
	X509_NAME *name = authority_name(SIGNER_CA_NAME, organization_identifier);
	authority_request r = {.subject = name,
	                       .subject_key = key,
	                       .issuer_key = key,
	                       .not_before_s = now_s - SIGNER_CERT_BACKDATE_S,
	                       .not_after_s = now_s + SIGNER_CA_VALIDITY_DAYS * (int64_t)SECONDS_PER_DAY,
	                       .ca = true};
	X509 *certificate = name ? authority_certificate_new(&r) : NULL;
	if (!certificate)
		err = signer_fail_openssl(SIGNER_ERR_CRYPTO, "creating the CA");
	bool stored = false;
	if (!err)
		stored = (err = authority_key_store(k, key)) == SIGNER_OK;
	if (!err)
		err = keystore_pem_write(keys_dir, SIGNER_CA_CERT_FILE, NULL, certificate, 0644, false);
	if (err && (stored || k->token))
		authority_key_discard(k); /* the key we just made, useless without its certificate */
	X509_free(certificate);
	X509_NAME_free(name);
	EVP_PKEY_free(key);
	return err;
}

signer_err signer_ca_init(const char *keys_dir, int64_t now_s)
{
	return signer_ca_init_as(keys_dir, now_s, SIGNER_ORGANIZATION_IDENTIFIER_DEFAULT);
}

signer_err signer_ca_init_as(const char *keys_dir, int64_t now_s, const char *organization_identifier)
{
	signer_err err = signer_organization_identifier_check(organization_identifier);
	if (err)
		return err;
	if (!keys_dir || now_s < SIGNER_CERT_BACKDATE_S || now_s > TIME_S_MAX - SIGNER_CA_VALIDITY_DAYS * 86400LL)
		return signer_fail(SIGNER_ERR_INVALID, "signer_ca_init: NULL directory or time out of range");
	char path[PATH_MAX];
	err = keystore_mkdir(keys_dir);
	if (!err)
		err = keystore_path(path, sizeof path, keys_dir, SIGNER_CA_CERT_FILE);
	if (err)
		return err;
	if (access(path, F_OK) == 0) /* checked before the key is made, so nothing is left behind */
		return signer_fail(SIGNER_ERR_EXISTS, "%s exists already", path);
	authority_key_place k = {NULL, keys_dir, SIGNER_CA_KEY_FILE, SIGNER_CA_KEY_LABEL};
	err = token_of(keys_dir, &k.token);
	if (!err)
		err = ca_create(&k, keys_dir, now_s, organization_identifier);
	token_close(k.token);
	return err;
}

/* Reads name from dir as a PEM key or certificate. */
signer_err authority_read_pem(const char *dir, const char *name, EVP_PKEY **key, X509 **certificate)
{
	uint8_t pem[KEYSTORE_FILE_BYTES_MAX];
	size_t bytes = 0;
	signer_err err = keystore_read(dir, name, pem, sizeof pem, &bytes);
	if (!err)
		err = keystore_pem_parse(pem, bytes, key, certificate);
	OPENSSL_cleanse(pem, sizeof pem);
	return err;
}

signer_err signer_ca_open(const char *keys_dir, signer_ca **out)
{
	if (!keys_dir || !out)
		return signer_fail(SIGNER_ERR_INVALID, "signer_ca_open: NULL argument");
	*out = NULL;
	signer_ca *ca = calloc(1, sizeof *ca);
	if (!ca)
		return signer_fail(SIGNER_ERR_NOMEM, "signer_ca_open");
	pthread_mutex_init(&ca->revoked_lock, NULL);
	ca->unit_renew_margin_s = SIGNER_TSA_RENEW_MARGIN_S;
	signer_err err =
	    keystore_path(ca->credentials_dir, sizeof ca->credentials_dir, keys_dir, SIGNER_CREDENTIALS_DIR);
	if (!err)
		err = token_of(keys_dir, &ca->token);
	authority_key_place k = {ca->token, keys_dir, SIGNER_CA_KEY_FILE, SIGNER_CA_KEY_LABEL};
	if (!err)
		err = authority_read_pem(keys_dir, SIGNER_CA_CERT_FILE, NULL, &ca->certificate);
	if (err == SIGNER_ERR_NOT_FOUND &&
	    authority_key_present(&k)) /* a key without its certificate is not "no CA" either */
		err = signer_fail(SIGNER_ERR_KEYS, "%s: a CA key without %s", keys_dir, SIGNER_CA_CERT_FILE);
	if (!err) {
		err = authority_key_read(&k, &ca->key);
		if (err == SIGNER_ERR_NOT_FOUND) /* a certificate without its key is not "no CA" */
			err = signer_fail(SIGNER_ERR_KEYS, "%s/%s without its key (%s)", keys_dir, SIGNER_CA_CERT_FILE,
			                  ca->token ? "in the token" : SIGNER_CA_KEY_FILE);
	}
	if (!err && X509_check_private_key(ca->certificate, ca->key) != 1)
		err = signer_fail_openssl(SIGNER_ERR_KEYS, "the CA key does not match the CA certificate");
	if (!err) {
		ca->not_before_s = authority_time_s(X509_get0_notBefore(ca->certificate));
		ca->not_after_s = authority_time_s(X509_get0_notAfter(ca->certificate));
		if (ca->not_before_s < 0 || ca->not_after_s <= ca->not_before_s)
			err = signer_fail(SIGNER_ERR_KEYS, "the CA certificate's validity cannot be read");
	}
	if (!err)
		err = signer_hierarchy_load(ca, keys_dir);
	if (err) {
		signer_ca_free(ca);
		return err;
	}
	*out = ca;
	return SIGNER_OK;
}

void signer_ca_free(signer_ca *ca)
{
	if (!ca)
		return;
	EVP_PKEY_free(ca->key);
	X509_free(ca->certificate);
	EVP_PKEY_free(ca->tsa_key);
	X509_free(ca->tsa_certificate);
	EVP_PKEY_free(ca->ocsp_key);
	X509_free(ca->ocsp_certificate);
	for (size_t i = 0; i < SIGNER_ISSUING_CAS; i++) {
		EVP_PKEY_free(ca->issuing[i].key);
		X509_free(ca->issuing[i].certificate);
		X509_free(ca->issuing[i].ocsp_certificate);
	}
	token_close(ca->token); /* after its keys, though they would outlive it (pkcs11_token.h) */
	signer_revoked_free(ca);
	pthread_mutex_destroy(&ca->revoked_lock);
	free(ca);
}

signer_err signer_ca_certificate(const signer_ca *ca, uint8_t *der, size_t der_bytes_max, size_t *der_bytes)
{
	return signer_der_copy(ca ? ca->certificate : NULL, der, der_bytes_max, der_bytes);
}

/* ----- credentials ----- */

static signer_credential *credential_new(signer_ca *ca, signer_kind kind, EVP_PKEY *key, X509 *certificate)
{
	signer_credential *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->kind = kind;
	c->key = key;
	c->certificate = certificate;
	X509 *issuer = NULL;
	EVP_PKEY *issuer_key = NULL;
	c->ca_certificate = signer_issuer_of(ca, certificate, &issuer, &issuer_key, NULL) ? issuer : ca->certificate;
	c->root_certificate = ca->certificate;
	X509_up_ref(c->ca_certificate);
	X509_up_ref(c->root_certificate);
	if (ca->tsa_key && ca->tsa_certificate) {
		c->tsa_key = ca->tsa_key;
		c->tsa_certificate = ca->tsa_certificate;
		EVP_PKEY_up_ref(ca->tsa_key);
		X509_up_ref(ca->tsa_certificate);
		c->tsa_ca_certificate =
		    signer_issuer_of(ca, ca->tsa_certificate, &issuer, &issuer_key, NULL) ? issuer : ca->certificate;
		X509_up_ref(c->tsa_ca_certificate);
	}
	c->not_before_s = authority_time_s(X509_get0_notBefore(certificate));
	c->not_after_s = authority_time_s(X509_get0_notAfter(certificate));
	return c;
}

/* Issues a credential for subject, kept as file in the credentials directory (replaced if
 * replace), or, file NULL, under its serial, created exclusively. */
static signer_err issue(signer_ca *ca, const signer_subject *subject, int64_t now_s, uint32_t validity_days,
                        const char *file, signer_credential **out)
{
	if (!ca || !out)
		return signer_fail(SIGNER_ERR_INVALID, "signer_issue: NULL argument");
	*out = NULL;
	signer_err err = signer_subject_check(subject);
	if (err)
		return err;
	if (validity_days < 1 || validity_days > SIGNER_CERT_VALIDITY_DAYS_MAX)
		return signer_fail(SIGNER_ERR_INVALID, "validity of %u days: 1..%u", validity_days,
		                   SIGNER_CERT_VALIDITY_DAYS_MAX);
	/* with the hierarchy, the issuing CA of the subject's kind; the root alone without one */
	const signer_issuing_ca *issuing =
	    signer_issuing_for(ca, subject->kind == SIGNER_KIND_PERSON ? SIGNER_ISSUING_PERSONS : SIGNER_ISSUING_SEALS);
	X509 *issuer = issuing ? issuing->certificate : ca->certificate;
	EVP_PKEY *issuer_key = issuing ? issuing->key : ca->key;
	int64_t issuer_not_before_s = issuing ? issuing->not_before_s : ca->not_before_s;
	int64_t issuer_not_after_s = issuing ? issuing->not_after_s : ca->not_after_s;
	if (now_s < issuer_not_before_s || now_s >= issuer_not_after_s)
		return signer_fail(SIGNER_ERR_EXPIRED, "the CA is not valid at %lld", (long long)now_s);
	int64_t not_after_s = now_s + (int64_t)validity_days * SECONDS_PER_DAY;
	err = keystore_mkdir(ca->credentials_dir);
	if (err)
		return err;
	char label[KEPT_KEY_LABEL_BYTES] = ""; /* a kept credential's key is in the token, if any */
	EVP_PKEY *key = NULL;
	if (file)
		err = (key = key_new()) ? SIGNER_OK : signer_fail_openssl(SIGNER_ERR_CRYPTO, "generating a key");
	else
		err = kept_key_generate(ca, label, &key);
	if (err)
		return err;
	X509_NAME *name = signer_subject_name(subject);
	signer_issuing which = subject->kind == SIGNER_KIND_PERSON ? SIGNER_ISSUING_PERSONS : SIGNER_ISSUING_SEALS;
	authority_request r = {.subject = name,
	                       .subject_key = key,
	                       .issuer = issuer,
	                       .issuer_key = issuer_key,
	                       .not_before_s = now_s - SIGNER_CERT_BACKDATE_S,
	                       .not_after_s = not_after_s < issuer_not_after_s ? not_after_s : issuer_not_after_s,
	                       .email = subject->kind == SIGNER_KIND_PERSON ? subject->id : NULL,
	                       .pki_url = ca->pki_url[0] ? ca->pki_url : NULL,
	                       .policies = true,
	                       .issuer_path = issuing ? signer_issuing_name(which) : NULL,
	                       .ocsp_access = true,
	                       .serial_tag = issuing ? (uint8_t)(SIGNER_SERIAL_TAG_BASE + which) : 0};
	X509 *certificate = key && name ? authority_certificate_new(&r) : NULL;
	X509_NAME_free(name);
	if (!certificate)
		err = signer_fail_openssl(SIGNER_ERR_CRYPTO, "issuing a certificate");
	char kept[SIGNER_SERIAL_HEX_BYTES + sizeof ".pem"];
	if (!err && !file) {
		char serial[SIGNER_SERIAL_HEX_BYTES];
		signer_serial_hex(certificate, serial);
		snprintf(kept, sizeof kept, "%s.pem", serial);
	}
	if (!err)
		err = file ? keystore_pem_write(ca->credentials_dir, file, key, certificate, 0600, true)
		           : kept_key_store(ca, kept, label, key, certificate);
	else if (label[0])
		token_key_destroy(ca->token, label);
	if (!err && !(*out = credential_new(ca, subject->kind, key, certificate)))
		err = signer_fail(SIGNER_ERR_NOMEM, "signer_issue");
	if (err) {
		X509_free(certificate);
		EVP_PKEY_free(key);
	}
	return err;
}

signer_err signer_issue(signer_ca *ca, const signer_subject *subject, int64_t now_s, uint32_t validity_days,
                        signer_credential **out)
{
	char file[SIGNER_CREDENTIAL_FILE_BYTES];
	if (out)
		*out = NULL;
	signer_err err = signer_subject_check(subject); /* before the file name is made of it */
	if (!err)
		err = signer_credential_file(subject, file);
	return err ? err : issue(ca, subject, now_s, validity_days, file, out);
}

signer_err signer_issue_kept(signer_ca *ca, const signer_subject *subject, int64_t now_s, uint32_t validity_days,
                             signer_credential **out)
{
	return issue(ca, subject, now_s, validity_days, NULL, out);
}

/* The kept file name of serial into name. SIGNER_ERR_INVALID if serial is not hex. */
static signer_err kept_file(const char *serial, char name[SIGNER_SERIAL_HEX_BYTES + sizeof ".pem"])
{
	char canonical[SIGNER_SERIAL_HEX_BYTES];
	if (!signer_serial_canonical(serial, canonical))
		return signer_fail(SIGNER_ERR_INVALID, "serial \"%.48s\": 1 to %u hex digits", serial ? serial : "",
		                   SIGNER_SERIAL_HEX_BYTES - 1);
	snprintf(name, SIGNER_SERIAL_HEX_BYTES + sizeof ".pem", "%s.pem", canonical);
	return SIGNER_OK;
}

signer_err signer_credential_open(signer_ca *ca, const char *serial, int64_t now_s, signer_credential **out)
{
	if (!ca || !out)
		return signer_fail(SIGNER_ERR_INVALID, "signer_credential_open: NULL argument");
	*out = NULL;
	char file[SIGNER_SERIAL_HEX_BYTES + sizeof ".pem"];
	signer_err err = kept_file(serial, file);
	if (err)
		return err;
	if (signer_ca_is_revoked(ca, serial))
		return signer_fail(SIGNER_ERR_REVOKED, "certificate %s is revoked", serial);
	EVP_PKEY *key = NULL;
	X509 *certificate = NULL;
	err = kept_key_read(ca, file, &key, &certificate, NULL);
	if (err == SIGNER_ERR_NOT_FOUND)
		err = signer_fail(SIGNER_ERR_NOT_FOUND, "no key kept for certificate %s", serial);
	X509 *issuer = NULL;
	EVP_PKEY *issuer_key = NULL;
	if (!err && (X509_check_private_key(certificate, key) != 1 ||
	             !signer_issuer_of(ca, certificate, &issuer, &issuer_key, NULL) ||
	             X509_verify(certificate, X509_get0_pubkey(issuer)) != 1))
		err =
		    signer_fail(SIGNER_ERR_KEYS, "the key kept for %s does not match a certificate of this CA", serial);
	ERR_clear_error();
	if (!err && (authority_time_s(X509_get0_notBefore(certificate)) > now_s ||
	             authority_time_s(X509_get0_notAfter(certificate)) <= now_s))
		err = signer_fail(SIGNER_ERR_EXPIRED, "certificate %s is not valid at %lld", serial, (long long)now_s);
	X509_NAME *subject = certificate ? X509_get_subject_name(certificate) : NULL;
	int nid = subject && X509_NAME_get_index_by_NID(subject, NID_organizationIdentifier, -1) >= 0
	              ? SIGNER_KIND_SEAL
	              : SIGNER_KIND_PERSON;
	if (!err && !(*out = credential_new(ca, (signer_kind)nid, key, certificate)))
		err = signer_fail(SIGNER_ERR_NOMEM, "signer_credential_open");
	if (err) {
		EVP_PKEY_free(key);
		X509_free(certificate);
	}
	return err;
}

signer_err signer_credential_destroy(signer_ca *ca, const char *serial)
{
	if (!ca)
		return signer_fail(SIGNER_ERR_INVALID, "signer_credential_destroy: NULL argument");
	char file[SIGNER_SERIAL_HEX_BYTES + sizeof ".pem"];
	signer_err err = kept_file(serial, file);
	return err ? err : kept_key_destroy(ca, file);
}

void signer_credential_serial(const signer_credential *credential, char out[SIGNER_SERIAL_HEX_BYTES])
{
	signer_serial_hex(credential ? credential->certificate : NULL, out);
}

/* Whether a stored key and certificate may sign for subject at now_s (signer.h). */
static bool reusable(const signer_ca *ca, const signer_subject *subject, EVP_PKEY *key, X509 *certificate,
                     int64_t now_s)
{
	X509_NAME *expected = signer_subject_name(subject);
	X509 *issuer = NULL;
	EVP_PKEY *issuer_key = NULL;
	int64_t not_before_s = authority_time_s(X509_get0_notBefore(certificate));
	int64_t not_after_s = authority_time_s(X509_get0_notAfter(certificate));
	bool ok = expected && X509_NAME_cmp(expected, X509_get_subject_name(certificate)) == 0 &&
	          X509_check_private_key(certificate, key) == 1 &&
	          signer_issuer_of(ca, certificate, &issuer, &issuer_key, NULL) &&
	          X509_verify(certificate, X509_get0_pubkey(issuer)) == 1 && not_before_s >= 0 &&
	          not_before_s <= now_s && not_after_s - now_s >= SIGNER_CERT_RENEW_BEFORE_S;
	X509_NAME_free(expected);
	ERR_clear_error();
	return ok;
}

signer_err signer_credential_get_or_issue(signer_ca *ca, const signer_subject *subject, int64_t now_s,
                                          uint32_t validity_days, signer_credential **out, bool *issued)
{
	if (!ca || !out)
		return signer_fail(SIGNER_ERR_INVALID, "signer_credential_get_or_issue: NULL argument");
	*out = NULL;
	if (issued)
		*issued = false;
	signer_err err = signer_subject_check(subject);
	char file[SIGNER_CREDENTIAL_FILE_BYTES];
	if (!err)
		err = signer_credential_file(subject, file);
	if (err)
		return err;
	EVP_PKEY *key = NULL;
	X509 *certificate = NULL;
	/* Any failure to read or re-use (absent, damaged, stale) ends in a new credential. */
	if (authority_read_pem(ca->credentials_dir, file, &key, &certificate) == SIGNER_OK &&
	    reusable(ca, subject, key, certificate, now_s)) {
		if (!(*out = credential_new(ca, subject->kind, key, certificate))) {
			EVP_PKEY_free(key);
			X509_free(certificate);
			return signer_fail(SIGNER_ERR_NOMEM, "signer_credential_get_or_issue");
		}
		return SIGNER_OK;
	}
	EVP_PKEY_free(key);
	X509_free(certificate);
	err = signer_issue(ca, subject, now_s, validity_days, out);
	if (!err && issued)
		*issued = true;
	return err;
}

void signer_credential_free(signer_credential *credential)
{
	if (!credential)
		return;
	EVP_PKEY_free(credential->key);
	X509_free(credential->certificate);
	X509_free(credential->ca_certificate);
	X509_free(credential->root_certificate);
	X509_free(credential->tsa_ca_certificate);
	EVP_PKEY_free(credential->tsa_key);
	X509_free(credential->tsa_certificate);
	free(credential);
}

signer_err signer_credential_certificate(const signer_credential *credential, uint8_t *der, size_t der_bytes_max,
                                         size_t *der_bytes)
{
	return signer_der_copy(credential ? credential->certificate : NULL, der, der_bytes_max, der_bytes);
}

void signer_credential_validity(const signer_credential *credential, int64_t *not_before_s, int64_t *not_after_s)
{
	if (not_before_s)
		*not_before_s = credential ? credential->not_before_s : 0;
	if (not_after_s)
		*not_after_s = credential ? credential->not_after_s : 0;
}
