/*
 * signer_token_test: private keys in a PKCS #11 token (signer/pkcs11_token.c), against a real
 * SoftHSM2 token set up in a scratch directory by signer_token_embedded_create(). Proves that:
 * the embedded token's files have the modes docs/signer.md states and are never overwritten;
 * a key generated in the token signs through OpenSSL, and the signature verifies with the
 * public key alone, in software, from any number of threads at once; the token says the key is
 * sensitive and never extractable, and OpenSSL cannot export it; a destroyed key is gone (a
 * lookup fails, an EVP_PKEY loaded before can no longer sign) and its label can be used again
 * for a new, different key; and the configuration and PIN sources are checked (a PIN file
 * others may read, a wrong PIN, an unknown token, a malformed configuration are refused). Then
 * that the CA of a keys directory naming a token keeps its key, its TSA's and its OCSP
 * responder's there, not in files, and signs with them: certificates, a PAdES B-LT signature
 * with its time-stamp, an OCSP response and a CRL, all verified with the CA certificate alone.
 * And that a credential kept under its serial (a person's, a seal's, a one-shot key) has its
 * key in the token too: it signs, it is sensitive and never extractable, no file under keys/
 * holds a private key, the ledger's key id names its token label; destroyed, its token objects
 * (private and public) are gone, it is not found, and an EVP_PKEY or credential opened before
 * signs nothing (a typed error, not a crash), also while other threads are signing with it; a
 * copy of its file under another serial, destroyed, leaves the real key alone.
 */
#include "signer_util.h"

#include "signer.h"
#include "pkcs11_token.h"

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <ftw.h>
#include <pthread.h>
#include <sys/stat.h>

#define MESSAGE         "Approbation des comptes 2026"
#define THREADS         4
#define SIGNATURES_EACH 16
#define WRONG_PIN_ENV   "SIGNER_TOKEN_TEST_WRONG_PIN"
#define GOOD_PIN_ENV    "SIGNER_TOKEN_TEST_PIN"
#define NOW_S           1767225600 /* 2026-01-01T00:00:00Z: any fixed time will do */

static mode_t mode_of(const char *dir, const char *name)
{
	char path[1024];
	struct stat st;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	return stat(path, &st) == 0 ? st.st_mode & 0777 : 0;
}

/* ECDSA-SHA256 of MESSAGE with key into sig; its length, 0 on failure. */
static size_t sign(EVP_PKEY *key, unsigned char *sig, size_t sig_max)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	size_t bytes = sig_max;
	bool ok = md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
	          EVP_DigestSign(md, sig, &bytes, (const unsigned char *)MESSAGE, strlen(MESSAGE)) == 1;
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return ok ? bytes : 0;
}

/* Whether sig verifies over message with public, a software key. */
static bool verifies(EVP_PKEY *public, const unsigned char *sig, size_t sig_bytes, const char *message)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	bool ok = md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, public) == 1 &&
	          EVP_DigestVerify(md, sig, sig_bytes, (const unsigned char *)message, strlen(message)) == 1;
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return ok;
}

/* The public half of key as a key of OpenSSL's own, through its DER SubjectPublicKeyInfo: what
 * verifies shares nothing with the token. */
static EVP_PKEY *public_of(EVP_PKEY *key)
{
	unsigned char *der = NULL;
	int bytes = i2d_PUBKEY(key, &der);
	const unsigned char *p = der;
	EVP_PKEY *public = bytes > 0 ? d2i_PUBKEY(NULL, &p, bytes) : NULL;
	OPENSSL_free(der);
	return public;
}

/* Whether OpenSSL, asked to write key out as PKCS #8, writes a private key that signs what
 * public verifies. (libp11's key writes out, with a zero scalar in place of the secret.) */
static bool exports_secret(EVP_PKEY *key, EVP_PKEY *public)
{
	BIO *bio = BIO_new(BIO_s_mem());
	EVP_PKEY *exported = NULL;
	if (bio && PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) == 1)
		exported = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	unsigned char sig[128];
	size_t bytes = exported ? sign(exported, sig, sizeof sig) : 0;
	bool secret = bytes > 0 && verifies(public, sig, bytes, MESSAGE);
	EVP_PKEY_free(exported);
	BIO_free(bio);
	ERR_clear_error();
	return secret;
}

static void test_embedded_files(const char *keys)
{
	CHECK(mode_of(keys, SIGNER_TOKEN_PIN_FILE) == 0600, "PIN mode %o", mode_of(keys, SIGNER_TOKEN_PIN_FILE));
	CHECK(mode_of(keys, SIGNER_SOFTHSM2_CONF_FILE) == 0600, "conf mode %o",
	      mode_of(keys, SIGNER_SOFTHSM2_CONF_FILE));
	CHECK(mode_of(keys, SIGNER_SOFTHSM2_TOKEN_DIR) == 0700, "tokens mode %o",
	      mode_of(keys, SIGNER_SOFTHSM2_TOKEN_DIR));
	CHECK(mode_of(keys, SIGNER_TOKEN_CONFIG_FILE) == 0644, "config mode %o",
	      mode_of(keys, SIGNER_TOKEN_CONFIG_FILE));
	CHECK(signer_token_embedded_create(keys) == SIGNER_ERR_EXISTS, "a second token over the first: %s",
	      signer_last_error());
}

typedef struct signing_thread {
	EVP_PKEY *key, *public;
	int verified;
} signing_thread;

static void *sign_many(void *arg)
{
	signing_thread *s = arg;
	for (int i = 0; i < SIGNATURES_EACH; i++) {
		unsigned char sig[128];
		size_t bytes = sign(s->key, sig, sizeof sig);
		s->verified += bytes > 0 && verifies(s->public, sig, bytes, MESSAGE);
	}
	return NULL;
}

static void test_threads(EVP_PKEY *key, EVP_PKEY *public)
{
	pthread_t threads[THREADS];
	signing_thread state[THREADS];
	for (int i = 0; i < THREADS; i++) {
		state[i] = (signing_thread){key, public, 0};
		REQUIRE_VOID(pthread_create(&threads[i], NULL, sign_many, &state[i]) == 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(threads[i], NULL);
		CHECK(state[i].verified == SIGNATURES_EACH, "thread %d: %d of %d verified", i, state[i].verified,
		      SIGNATURES_EACH);
	}
}

/* Generate, sign, verify; the key stays in the token. */
static void test_key(token *t)
{
	CHECK(token_key_load(t, "test-key", &(EVP_PKEY *){NULL}) == SIGNER_ERR_NOT_FOUND, "load before: %s",
	      signer_last_error());
	REQUIRE_VOID(token_key_generate(t, "test-key") == SIGNER_OK);
	CHECK(token_key_generate(t, "test-key") == SIGNER_ERR_EXISTS, "same label again: %s", signer_last_error());
	CHECK(token_key_generate(t, "") == SIGNER_ERR_INVALID, "empty label");
	EVP_PKEY *key = NULL;
	REQUIRE_VOID(token_key_load(t, "test-key", &key) == SIGNER_OK);
	CHECK(EVP_PKEY_get_base_id(key) == EVP_PKEY_EC && EVP_PKEY_get_bits(key) == 256, "a P-256 key");
	EVP_PKEY *public = public_of(key);
	REQUIRE_VOID(public);
	unsigned char sig[128];
	size_t bytes = sign(key, sig, sizeof sig);
	CHECK(bytes > 0, "the token signs");
	CHECK(verifies(public, sig, bytes, MESSAGE), "the signature verifies with the public key");
	CHECK(!verifies(public, sig, bytes, MESSAGE " modifié"), "and over nothing else");
	test_threads(key, public);

	bool sensitive = false, extractable = true;
	CHECK(token_key_protection(t, "test-key", &sensitive, &extractable) == SIGNER_OK, "attributes: %s",
	      signer_last_error());
	CHECK(sensitive, "CKA_SENSITIVE and CKA_ALWAYS_SENSITIVE");
	CHECK(!extractable, "CKA_EXTRACTABLE false, CKA_NEVER_EXTRACTABLE true");
	CHECK(!exports_secret(key, public), "what OpenSSL writes out of the key holds no secret");

	CHECK(token_key_destroy(t, "test-key") == SIGNER_OK, "destroy: %s", signer_last_error());
	EVP_PKEY *gone = NULL;
	CHECK(token_key_load(t, "test-key", &gone) == SIGNER_ERR_NOT_FOUND && !gone, "load after destroy: %s",
	      signer_last_error());
	CHECK(token_key_destroy(t, "test-key") == SIGNER_ERR_NOT_FOUND, "destroy twice");
	CHECK(token_key_protection(t, "test-key", &sensitive, &extractable) == SIGNER_ERR_NOT_FOUND,
	      "attributes after destroy");
	CHECK(sign(key, sig, sizeof sig) == 0, "a key loaded before its destruction signs nothing");

	/* The label again: a new key, which libp11's cache does not confuse with the old one. */
	REQUIRE_VOID(token_key_generate(t, "test-key") == SIGNER_OK);
	EVP_PKEY *again = NULL;
	REQUIRE_VOID(token_key_load(t, "test-key", &again) == SIGNER_OK);
	CHECK(EVP_PKEY_eq(again, public) != 1, "a new key under the old label");
	EVP_PKEY *again_public = public_of(again);
	bytes = sign(again, sig, sizeof sig);
	CHECK(bytes > 0 && again_public && verifies(again_public, sig, bytes, MESSAGE), "and it signs");
	CHECK(token_key_destroy(t, "test-key") == SIGNER_OK, "destroyed");
	EVP_PKEY_free(again_public);
	EVP_PKEY_free(again);
	EVP_PKEY_free(public);
	EVP_PKEY_free(key);
}

/* A configuration file with text, in dir (created). */
static void write_config(const char *dir, const char *text)
{
	char path[1024];
	mkdir(dir, 0700);
	snprintf(path, sizeof path, "%s/%s", dir, SIGNER_TOKEN_CONFIG_FILE);
	unlink(path);
	CHECK(write_file(path, text, strlen(text)), "%s", path);
}

static void test_refusals(const char *root, const char *keys)
{
	token_config c;
	REQUIRE_VOID(token_config_read(keys, &c) == SIGNER_OK);
	token *t = NULL;
	char pin_path[1024];
	snprintf(pin_path, sizeof pin_path, "%s/%s", keys, SIGNER_TOKEN_PIN_FILE);
	chmod(pin_path, 0640);
	CHECK(token_open(&c, &t) == SIGNER_ERR_KEYS && !t, "a PIN file the group may read: %s", signer_last_error());
	chmod(pin_path, 0600);
	setenv(WRONG_PIN_ENV, "not-the-pin", 1);
	token_config wrong = c;
	wrong.pin_file[0] = '\0';
	snprintf(wrong.pin_env, sizeof wrong.pin_env, "%s", WRONG_PIN_ENV);
	CHECK(token_open(&wrong, &t) == SIGNER_ERR_KEYS && !t, "a wrong PIN: %s", signer_last_error());
	snprintf(wrong.pin_env, sizeof wrong.pin_env, "%s", "SIGNER_TOKEN_TEST_UNSET");
	CHECK(token_open(&wrong, &t) == SIGNER_ERR_KEYS && !t, "an unset variable: %s", signer_last_error());
	token_config unknown = c;
	snprintf(unknown.token_label, sizeof unknown.token_label, "%s", "no-such-token");
	CHECK(token_open(&unknown, &t) == SIGNER_ERR_NOT_FOUND && !t, "an unknown token: %s", signer_last_error());
	token_config other = c;
	snprintf(other.softhsm2_conf, sizeof other.softhsm2_conf, "%s", "/nonexistent/softhsm2.conf");
	CHECK(token_open(&other, &t) == SIGNER_ERR_KEYS && !t, "a second SoftHSM2 configuration: %s",
	      signer_last_error());

	char dir[512];
	snprintf(dir, sizeof dir, "%s/malformed", root);
	CHECK(token_config_read(dir, &c) == SIGNER_ERR_NOT_FOUND, "no configuration: PEM keys");
	const char *bad[] = {
	    "module = relative/libsofthsm2.so\ntoken = t\npin-env = X\n",
	    "module = /usr/lib/softhsm/libsofthsm2.so\ntoken = t\npin-env = X\ncolour = blue\n",
	    "module = /usr/lib/softhsm/libsofthsm2.so\npin-env = X\n",
	    "module = /usr/lib/softhsm/libsofthsm2.so\ntoken = t\n",
	    "module = /usr/lib/softhsm/libsofthsm2.so\ntoken = t\npin-env = X\npin-file = /p\n",
	    "module /usr/lib/softhsm/libsofthsm2.so\ntoken = t\npin-env = X\n",
	    "module = /usr/lib/softhsm/libsofthsm2.so\ntoken = a label longer than thirty-two bytes\npin-env = X\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		write_config(dir, bad[i]);
		CHECK(token_config_read(dir, &c) == SIGNER_ERR_KEYS, "malformed configuration %zu: %s", i,
		      signer_last_error());
	}
	write_config(dir, "# comment\n\n  module=/m.so  \n token =  t \npin-file = pin\n");
	CHECK(token_config_read(dir, &c) == SIGNER_OK && strcmp(c.module_path, "/m.so") == 0 &&
	          strcmp(c.token_label, "t") == 0 && strncmp(c.pin_file, dir, strlen(dir)) == 0 && !c.pin_env[0],
	      "comments, blanks, a PIN file relative to the keys directory: %s", signer_last_error());
}

/* A real HSM's token, named rather than created: here the embedded one again, by its variable. */
static void test_configure(const char *root, const char *keys)
{
	char pin[128] = {0}, path[1024], dir[512];
	snprintf(path, sizeof path, "%s/%s", keys, SIGNER_TOKEN_PIN_FILE);
	FILE *f = fopen(path, "re");
	REQUIRE_VOID(f && fgets(pin, sizeof pin, f));
	fclose(f);
	pin[strcspn(pin, "\n")] = '\0';
	setenv(GOOD_PIN_ENV, pin, 1);
	snprintf(dir, sizeof dir, "%s/hsm", root);
	signer_token_config hsm = {SIGNER_SOFTHSM2_MODULE, SIGNER_TOKEN_LABEL, NULL, GOOD_PIN_ENV};
	signer_token_config two_pins = {SIGNER_SOFTHSM2_MODULE, SIGNER_TOKEN_LABEL, path, GOOD_PIN_ENV};
	signer_token_config relative = {SIGNER_SOFTHSM2_MODULE, SIGNER_TOKEN_LABEL, "token.pin", NULL};
	signer_token_config missing = {SIGNER_SOFTHSM2_MODULE, "missing", NULL, GOOD_PIN_ENV};
	CHECK(signer_token_configure(dir, &two_pins) == SIGNER_ERR_INVALID, "two PIN sources");
	CHECK(signer_token_configure(dir, &relative) == SIGNER_ERR_INVALID, "a relative PIN file");
	CHECK(signer_token_configure(dir, &missing) == SIGNER_ERR_NOT_FOUND, "no such token: %s", signer_last_error());
	CHECK(signer_token_configure(dir, &hsm) == SIGNER_OK, "configure: %s", signer_last_error());
	CHECK(signer_token_configure(dir, &hsm) == SIGNER_ERR_EXISTS, "configure twice");
	token_config c;
	token *t = NULL;
	CHECK(token_config_read(dir, &c) == SIGNER_OK && strcmp(c.pin_env, GOOD_PIN_ENV) == 0 && !c.pin_file[0] &&
	          !c.softhsm2_conf[0],
	      "read back: %s", signer_last_error());
	CHECK(token_open(&c, &t) == SIGNER_OK, "open by the variable: %s", signer_last_error());
	token_close(t);
	OPENSSL_cleanse(pin, sizeof pin);
	unsetenv(GOOD_PIN_ENV);
}

static X509 *ca_certificate_of(const signer_ca *ca)
{
	uint8_t der[SIGNER_CERT_DER_BYTES_MAX];
	size_t bytes = 0;
	if (signer_ca_certificate(ca, der, sizeof der, &bytes) != SIGNER_OK)
		return NULL;
	const unsigned char *p = der;
	return d2i_X509(NULL, &p, (long)bytes);
}

/* The key labelled label is in t, sensitive and never extractable, and no file is named file. */
static void check_in_token(token *t, const char *keys, const char *label, const char *file)
{
	bool sensitive = false, extractable = true;
	CHECK(token_key_protection(t, label, &sensitive, &extractable) == SIGNER_OK && sensitive && !extractable,
	      "%s: in the token, sensitive, never extractable: %s", label, signer_last_error());
	CHECK(mode_of(keys, file) == 0, "no %s file", file);
}

/* The CRL and an OCSP response of ca verify with the CA certificate. */
static void check_crl_and_ocsp(signer_ca *ca, X509 *ca_certificate, const signer_credential *person)
{
	uint8_t *der = NULL;
	size_t bytes = 0;
	REQUIRE_VOID(signer_ca_crl(ca, NOW_S, &der, &bytes) == SIGNER_OK);
	const unsigned char *p = der;
	X509_CRL *crl = d2i_X509_CRL(NULL, &p, (long)bytes);
	CHECK(crl && X509_CRL_verify(crl, X509_get0_pubkey(ca_certificate)) == 1, "the CRL verifies");
	X509_CRL_free(crl);
	free(der);
	REQUIRE_VOID(signer_ca_ocsp(ca, person, NOW_S, &der, &bytes) == SIGNER_OK);
	p = der;
	OCSP_RESPONSE *response = d2i_OCSP_RESPONSE(NULL, &p, (long)bytes);
	OCSP_BASICRESP *basic = response ? OCSP_response_get1_basic(response) : NULL;
	X509_STORE *store = X509_STORE_new();
	bool ok = basic && store && X509_STORE_add_cert(store, ca_certificate) == 1;
	if (ok) {
		X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(store), (time_t)NOW_S);
		ok = OCSP_basic_verify(basic, NULL, store, 0) == 1;
	}
	CHECK(ok, "the OCSP response verifies");
	X509_STORE_free(store);
	OCSP_BASICRESP_free(basic);
	OCSP_RESPONSE_free(response);
	free(der);
	ERR_clear_error();
}

/* A PAdES B-LT signature, time-stamped, by a person certified by the token's CA. */
static void check_signature(signer_ca *ca, X509 *ca_certificate)
{
	signer_subject subject = {
	    SIGNER_KIND_PERSON, "anne@cabinet.fr", "Anne Martin", "Cabinet Martin", NULL, NULL, NULL};
	signer_credential *person = NULL;
	REQUIRE_VOID(signer_issue_kept(ca, &subject, NOW_S, 365, &person) == SIGNER_OK);
	test_page page = {A4_WIDTH_PT, A4_HEIGHT_PT, 0};
	uint8_t *pdf = NULL, *out = NULL, *crl = NULL, *ocsp = NULL;
	size_t bytes = 0, out_bytes = 0, crl_bytes = 0, ocsp_bytes = 0;
	REQUIRE_VOID(make_pdf(&page, 1, &pdf, &bytes));
	CHECK(signer_ca_crl(ca, NOW_S, &crl, &crl_bytes) == SIGNER_OK, "CRL");
	CHECK(signer_ca_ocsp(ca, person, NOW_S, &ocsp, &ocsp_bytes) == SIGNER_OK, "OCSP");
	const uint8_t *ocsps[] = {ocsp};
	signer_sign_options o = {.signing_time_s = NOW_S,
	                         .timestamp = true,
	                         .crl_der = crl,
	                         .crl_der_bytes = crl_bytes,
	                         .ocsp_der = ocsps,
	                         .ocsp_der_bytes = &ocsp_bytes,
	                         .ocsp_count = 1};
	CHECK(signer_pades_sign(pdf, bytes, person, &o, &out, &out_bytes) == SIGNER_OK, "sign: %s",
	      signer_last_error());
	unsigned char *ca_der = NULL;
	int ca_der_bytes = i2d_X509(ca_certificate, &ca_der);
	signer_verified *v = calloc(1, sizeof *v);
	CHECK(v && out && ca_der_bytes > 0 &&
	          signer_pdf_verify(out, out_bytes, ca_der, (size_t)ca_der_bytes, v) == SIGNER_OK &&
	          v->signatures == 1 && v->signature_timestamps == 1,
	      "the signature and its time-stamp verify: %s", signer_last_error());
	check_crl_and_ocsp(ca, ca_certificate, person);
	free(v);
	OPENSSL_free(ca_der);
	free(ocsp);
	free(crl);
	free(out);
	free(pdf);
	signer_credential_free(person);
}

/* ----- credentials kept under their serial ----- */

static const char *private_key_file; /* set by private_key_in: the first file holding one */
static char private_key_path[1024];

static int private_key_in(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)ftw;
	if (type != FTW_F || !S_ISREG(st->st_mode))
		return 0;
	size_t bytes = 0;
	uint8_t *data = read_file(path, &bytes);
	bool found = data && memmem(data, bytes, "PRIVATE KEY", strlen("PRIVATE KEY")) != NULL;
	free(data);
	if (found) {
		snprintf(private_key_path, sizeof private_key_path, "%s", path);
		private_key_file = private_key_path;
	}
	return found;
}

typedef struct racer {
	EVP_PKEY *key;
	int signed_ok, failed;
} racer;

static void *sign_until_gone(void *arg)
{
	racer *r = arg;
	unsigned char sig[256];
	for (int i = 0; i < 400; i++)
		*(sign(r->key, sig, sizeof sig) ? &r->signed_ok : &r->failed) += 1;
	return NULL;
}

/* A PAdES signature by person: its status. */
static signer_err pades_by(const signer_credential *person)
{
	test_page page = {A4_WIDTH_PT, A4_HEIGHT_PT, 0};
	uint8_t *pdf = NULL, *out = NULL;
	size_t bytes = 0, out_bytes = 0;
	if (!make_pdf(&page, 1, &pdf, &bytes))
		return SIGNER_ERR_NOMEM;
	signer_sign_options o = {.signing_time_s = NOW_S};
	signer_err err = signer_pades_sign(pdf, bytes, person, &o, &out, &out_bytes);
	free(out);
	free(pdf);
	return err;
}

static void test_kept(signer_ca *ca, const char *keys, token *t)
{
	signer_subject subject = {
	    SIGNER_KIND_PERSON, "paul@cabinet.fr", "Paul Durand", "Cabinet Martin", NULL, NULL, NULL};
	signer_credential *issued = NULL, *opened = NULL;
	REQUIRE_VOID(signer_issue_kept(ca, &subject, NOW_S, 365, &issued) == SIGNER_OK);
	char serial[SIGNER_SERIAL_HEX_BYTES], key_id[SIGNER_KEY_ID_BYTES];
	signer_credential_serial(issued, serial);
	CHECK(signer_kept_key_id(ca, serial, key_id) == SIGNER_OK && strncmp(key_id, "token:cred-", 11) == 0,
	      "the kept key's id names its token label: %s", key_id);
	const char *label = key_id + strlen("token:");
	check_in_token(t, keys, label, "signers/unused");
	size_t objects = 0;
	CHECK(token_objects_count(t, label, &objects) == SIGNER_OK && objects == 2, "its private and public keys: %zu",
	      objects);
	private_key_file = NULL;
	CHECK(nftw(keys, private_key_in, 8, FTW_PHYS) == 0 && !private_key_file,
	      "no private key in a file under keys/: %s", private_key_file ? private_key_file : "");
	char kept[1100];
	snprintf(kept, sizeof kept, "%s/signers/%s.pem", keys, serial);
	size_t bytes = 0;
	uint8_t *file = read_file(kept, &bytes);
	CHECK(file && memmem(file, bytes, "BEGIN CERTIFICATE", 17) && memmem(file, bytes, label, strlen(label)),
	      "the kept file holds the certificate and the key's label");
	free(file);

	/* Opened again by serial: the token's key, which signs what the certificate verifies. */
	REQUIRE_VOID(signer_credential_open(ca, serial, NOW_S, &opened) == SIGNER_OK);
	unsigned char sig[256];
	size_t sig_bytes = sign(opened->key, sig, sizeof sig);
	CHECK(sig_bytes > 0 && verifies(X509_get0_pubkey(opened->certificate), sig, sig_bytes, MESSAGE),
	      "the opened credential signs with the token's key");
	CHECK(pades_by(opened) == SIGNER_OK, "and makes a PAdES signature: %s", signer_last_error());

	/* A copy of the file under another serial, destroyed: the real key stays. */
	char copy[1100];
	snprintf(copy, sizeof copy, "%s/signers/4123456789ABCDEF.pem", keys);
	file = read_file(kept, &bytes);
	FILE *f = file ? fopen(copy, "wb") : NULL;
	REQUIRE_VOID(f && fwrite(file, 1, bytes, f) == bytes && fclose(f) == 0);
	free(file);
	CHECK(signer_credential_destroy(ca, "4123456789ABCDEF") == SIGNER_OK &&
	          mode_of(keys, "signers/4123456789ABCDEF.pem") == 0,
	      "the copy is destroyed: %s", signer_last_error());
	CHECK(token_objects_count(t, label, &objects) == SIGNER_OK && objects == 2, "the real key stays: %zu objects",
	      objects);

	/* Destroyed while threads sign with it: they fail cleanly afterwards. */
	racer racers[THREADS];
	pthread_t threads[THREADS];
	for (int i = 0; i < THREADS; i++) {
		racers[i] = (racer){opened->key, 0, 0};
		REQUIRE_VOID(pthread_create(&threads[i], NULL, sign_until_gone, &racers[i]) == 0);
	}
	CHECK(signer_credential_destroy(ca, serial) == SIGNER_OK, "destroyed: %s", signer_last_error());
	for (int i = 0; i < THREADS; i++)
		pthread_join(threads[i], NULL);
	CHECK(sign(opened->key, sig, sizeof sig) == 0 && sign(issued->key, sig, sizeof sig) == 0,
	      "keys loaded before the destruction sign nothing after it");
	signer_err err = pades_by(opened);
	CHECK(err == SIGNER_ERR_CRYPTO || err == SIGNER_ERR_KEYS, "a PAdES signature by it fails, typed: %d %s", err,
	      signer_last_error());
	CHECK(token_objects_count(t, label, &objects) == SIGNER_OK && objects == 0, "no token object left: %zu",
	      objects);
	CHECK(mode_of(keys, kept + strlen(keys) + 1) == 0, "the kept file is gone");
	signer_credential *again = NULL;
	CHECK(signer_credential_open(ca, serial, NOW_S, &again) == SIGNER_ERR_NOT_FOUND && !again,
	      "a destroyed credential is not found");
	CHECK(signer_credential_destroy(ca, serial) == SIGNER_ERR_NOT_FOUND, "nor destroyed twice");
	signer_credential_free(opened);
	signer_credential_free(issued);

	/* A kept file naming a key the token no longer has (destroyed before a crash that left the
	 * file): not found when opened, and its destruction finishes. */
	REQUIRE_VOID(signer_issue_kept(ca, &subject, NOW_S, 365, &issued) == SIGNER_OK);
	signer_credential_serial(issued, serial);
	REQUIRE_VOID(signer_kept_key_id(ca, serial, key_id) == SIGNER_OK);
	signer_credential_free(issued);
	CHECK(token_key_destroy(t, key_id + strlen("token:")) == SIGNER_OK, "its key destroyed behind its back");
	CHECK(signer_credential_open(ca, serial, NOW_S, &again) == SIGNER_ERR_NOT_FOUND && !again,
	      "a kept file whose key is gone: not found: %s", signer_last_error());
	CHECK(signer_credential_destroy(ca, serial) == SIGNER_OK, "and its file is still destroyed: %s",
	      signer_last_error());
}

static void test_ca(const char *keys, token *t)
{
	REQUIRE_VOID(signer_ca_init(keys, NOW_S) == SIGNER_OK);
	CHECK(mode_of(keys, SIGNER_CA_CERT_FILE) == 0644, "CA certificate mode %o", mode_of(keys, SIGNER_CA_CERT_FILE));
	signer_ca *ca = NULL;
	REQUIRE_VOID(signer_ca_open(keys, &ca) == SIGNER_OK);
	CHECK(signer_tsa_enable(ca, keys, NOW_S) == SIGNER_OK, "TSA: %s", signer_last_error());
	CHECK(signer_ocsp_enable(ca, keys, NOW_S) == SIGNER_OK, "OCSP: %s", signer_last_error());
	check_in_token(t, keys, SIGNER_CA_KEY_LABEL, SIGNER_CA_KEY_FILE);
	check_in_token(t, keys, SIGNER_TSA_KEY_LABEL, SIGNER_TSA_KEY_FILE);
	check_in_token(t, keys, SIGNER_OCSP_KEY_LABEL, SIGNER_OCSP_KEY_FILE);
	X509 *ca_certificate = ca_certificate_of(ca);
	REQUIRE_VOID(ca_certificate);
	check_signature(ca, ca_certificate);
	signer_ca_free(ca);
	/* Opened again: the keys are found in the token, not made again. */
	REQUIRE_VOID(signer_ca_open(keys, &ca) == SIGNER_OK);
	CHECK(signer_tsa_enable(ca, keys, NOW_S + 60) == SIGNER_OK &&
	          signer_ocsp_enable(ca, keys, NOW_S + 60) == SIGNER_OK,
	      "units read back: %s", signer_last_error());
	check_signature(ca, ca_certificate);
	test_kept(ca, keys, t);
	signer_ca_free(ca);
	CHECK(signer_ca_init(keys, NOW_S) == SIGNER_ERR_EXISTS, "a second CA");
	/* A CA key in the token without its certificate is neither "no CA" nor replaced. */
	char path[1024], moved[1100];
	snprintf(path, sizeof path, "%s/%s", keys, SIGNER_CA_CERT_FILE);
	snprintf(moved, sizeof moved, "%s.moved", path);
	REQUIRE_VOID(rename(path, moved) == 0);
	CHECK(signer_ca_open(keys, &ca) == SIGNER_ERR_KEYS && !ca, "a key without its certificate: %s",
	      signer_last_error());
	CHECK(signer_ca_init(keys, NOW_S) == SIGNER_ERR_EXISTS, "not replaced: %s", signer_last_error());
	REQUIRE_VOID(rename(moved, path) == 0);
	/* A certificate without its key in the token. */
	CHECK(token_key_destroy(t, SIGNER_CA_KEY_LABEL) == SIGNER_OK, "CA key destroyed: %s", signer_last_error());
	CHECK(signer_ca_open(keys, &ca) == SIGNER_ERR_KEYS && !ca, "a certificate without its key: %s",
	      signer_last_error());
	X509_free(ca_certificate);
}

int main(void)
{
	char *root = scratch_dir("signer-token");
	REQUIRE(root, "scratch directory");
	char keys[512];
	snprintf(keys, sizeof keys, "%s/keys", root);
	REQUIRE(signer_token_embedded_create(keys) == SIGNER_OK, "embedded token: %s", signer_last_error());
	test_embedded_files(keys);
	token_config c;
	REQUIRE(token_config_read(keys, &c) == SIGNER_OK, "config: %s", signer_last_error());
	token *t = NULL;
	REQUIRE(token_open(&c, &t) == SIGNER_OK, "open: %s", signer_last_error());
	test_key(t);
	test_ca(keys, t);
	token_config wrong = c;
	wrong.pin_file[0] = '\0';
	snprintf(wrong.pin_env, sizeof wrong.pin_env, "%s", WRONG_PIN_ENV);
	setenv(WRONG_PIN_ENV, "not-the-pin", 1);
	token *shared = NULL;
	CHECK(token_open(&wrong, &shared) == SIGNER_ERR_KEYS && !shared, "a wrong PIN, the token open already: %s",
	      signer_last_error());
	token_close(t);
	test_refusals(root, keys);
	test_configure(root, keys);
	remove_dir(root);
	free(root);
	return check_report(__FILE__);
}
