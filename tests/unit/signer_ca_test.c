/*
 * signer_ca_test: the internal CA and its credentials. The CA is created once with the right
 * modes and never overwritten; a broken keys directory is refused with the right error; issued
 * certificates say what signer.h promises (names, key usage, validity from the injected time)
 * and chain to the CA; credentials are stored under names that name nobody, re-used while they
 * may be, and replaced when stale, renamed, damaged or foreign; bad subjects are refused; and
 * threads asking at once all get valid credentials.
 */
#include "signer_util.h"

#include "signer.h"

#include <dirent.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <sys/stat.h>

#define NOW_S   1767225600 /* 2026-01-01T00:00:00Z: any fixed time will do */
#define DAY_S   86400
#define THREADS 8

static mode_t mode_of(const char *dir, const char *name)
{
	char path[512];
	struct stat st;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	return stat(path, &st) == 0 ? st.st_mode & 0777 : 0;
}

/* The certificate in der, if err says it was written there. */
static X509 *x509_of(signer_err err, const uint8_t *der, size_t bytes)
{
	const unsigned char *p = der;
	return err == SIGNER_OK ? d2i_X509(NULL, &p, (long)bytes) : NULL;
}

static X509 *certificate_of(const signer_credential *c)
{
	uint8_t der[SIGNER_CERT_DER_BYTES_MAX];
	size_t bytes = 0;
	signer_err err = signer_credential_certificate(c, der, sizeof der, &bytes);
	return x509_of(err, der, bytes);
}

static X509 *ca_certificate_of(const signer_ca *ca)
{
	uint8_t der[SIGNER_CERT_DER_BYTES_MAX];
	size_t bytes = 0;
	signer_err err = signer_ca_certificate(ca, der, sizeof der, &bytes);
	return x509_of(err, der, bytes);
}

static bool name_has(X509 *x, int nid, const char *expected)
{
	char value[512];
	return X509_NAME_get_text_by_NID(X509_get_subject_name(x), nid, value, sizeof value) >= 0 &&
	       strcmp(value, expected) == 0;
}

static int64_t time_of(const ASN1_TIME *t)
{
	struct tm tm;
	return ASN1_TIME_to_tm(t, &tm) == 1 ? (int64_t)timegm(&tm) : -1;
}

/* The certificate chains to the CA at time at_s (X509_verify_cert with the CA as the only
 * trust anchor). */
static bool chains(X509 *x, X509 *ca, int64_t at_s)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	bool ok = store && ctx && X509_STORE_add_cert(store, ca) && X509_STORE_CTX_init(ctx, store, x, NULL);
	if (ok) {
		X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), (time_t)at_s);
		ok = X509_verify_cert(ctx) == 1;
	}
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return ok;
}

static void test_ca_files(const char *root)
{
	char dir[512], path[600];
	snprintf(dir, sizeof dir, "%s/keys", root);
	signer_ca *ca = NULL;
	CHECK(signer_ca_open(dir, &ca) == SIGNER_ERR_NOT_FOUND && !ca, "open before init: %s", signer_last_error());
	REQUIRE_VOID(signer_ca_init(dir, NOW_S) == SIGNER_OK);
	CHECK(mode_of(root, "keys") == 0700, "keys dir mode %o", mode_of(root, "keys"));
	CHECK(mode_of(dir, SIGNER_CA_KEY_FILE) == 0600, "key mode %o", mode_of(dir, SIGNER_CA_KEY_FILE));
	CHECK(mode_of(dir, SIGNER_CA_CERT_FILE) == 0644, "cert mode %o", mode_of(dir, SIGNER_CA_CERT_FILE));

	size_t key_bytes = 0, again_bytes = 0;
	snprintf(path, sizeof path, "%s/%s", dir, SIGNER_CA_KEY_FILE);
	uint8_t *key = read_file(path, &key_bytes);
	CHECK(signer_ca_init(dir, NOW_S + 10) == SIGNER_ERR_EXISTS, "second init: %s", signer_last_error());
	uint8_t *again = read_file(path, &again_bytes);
	CHECK(key && again && key_bytes == again_bytes && memcmp(key, again, key_bytes) == 0, "the key is untouched");
	free(again);

	/* A key without its certificate: init refuses (it would not overwrite the key), open says
	 * the directory is broken rather than empty. */
	char cert_path[600], moved[600];
	snprintf(cert_path, sizeof cert_path, "%s/%s", dir, SIGNER_CA_CERT_FILE);
	snprintf(moved, sizeof moved, "%s/moved.pem", root);
	REQUIRE_VOID(rename(cert_path, moved) == 0);
	CHECK(signer_ca_init(dir, NOW_S) == SIGNER_ERR_EXISTS, "init over a lone key: %s", signer_last_error());
	CHECK(access(cert_path, F_OK) != 0, "no certificate was made for the old key");
	CHECK(signer_ca_open(dir, &ca) == SIGNER_ERR_KEYS, "open without certificate: %s", signer_last_error());
	REQUIRE_VOID(rename(moved, cert_path) == 0);
	REQUIRE_VOID(rename(path, moved) == 0);
	CHECK(signer_ca_open(dir, &ca) == SIGNER_ERR_KEYS, "open without key: %s", signer_last_error());
	REQUIRE_VOID(rename(moved, path) == 0);

	/* Another CA's key beside this certificate. */
	char other[512];
	snprintf(other, sizeof other, "%s/other", root);
	REQUIRE_VOID(signer_ca_init(other, NOW_S) == SIGNER_OK);
	snprintf(moved, sizeof moved, "%s/%s", other, SIGNER_CA_KEY_FILE);
	size_t other_bytes = 0;
	uint8_t *other_key = read_file(moved, &other_bytes);
	REQUIRE_VOID(other_key && write_file(path, other_key, other_bytes));
	CHECK(signer_ca_open(dir, &ca) == SIGNER_ERR_KEYS, "mismatched key: %s", signer_last_error());
	REQUIRE_VOID(write_file(path, "not a key\n", 10));
	CHECK(signer_ca_open(dir, &ca) == SIGNER_ERR_KEYS, "garbage key: %s", signer_last_error());
	REQUIRE_VOID(write_file(path, key, key_bytes));
	free(other_key);
	free(key);

	REQUIRE_VOID(signer_ca_open(dir, &ca) == SIGNER_OK);
	X509 *x = ca_certificate_of(ca);
	REQUIRE_VOID(x);
	CHECK(name_has(x, NID_commonName, SIGNER_CA_NAME) && name_has(x, NID_countryName, "FR"), "CA name");
	CHECK(X509_check_issued(x, x) == X509_V_OK && X509_check_ca(x) == 1, "a self-signed CA");
	CHECK(time_of(X509_get0_notBefore(x)) == NOW_S - SIGNER_CERT_BACKDATE_S, "CA notBefore from the injected time");
	CHECK(time_of(X509_get0_notAfter(x)) == NOW_S + (int64_t)SIGNER_CA_VALIDITY_DAYS * DAY_S, "CA notAfter");
	EVP_PKEY *pub = X509_get0_pubkey(x);
	CHECK(pub && EVP_PKEY_is_a(pub, "EC") && EVP_PKEY_get_bits(pub) == 256, "a P-256 key");
	X509_free(x);
	uint8_t small[16];
	size_t bytes = 0;
	CHECK(signer_ca_certificate(ca, small, sizeof small, &bytes) == SIGNER_ERR_TOO_LARGE, "small buffer");
	signer_ca_free(ca);
}

static void test_issue(signer_ca *ca, const char *dir)
{
	signer_subject person = {
	    SIGNER_KIND_PERSON, "salima@cabinet.fr", "Salima Ben Ali", "JLM - Pont-Audemer", NULL, NULL, NULL};
	signer_credential *c = NULL;
	REQUIRE_VOID(signer_issue(ca, &person, NOW_S, 365, &c) == SIGNER_OK);
	X509 *x = certificate_of(c), *root = ca_certificate_of(ca);
	REQUIRE_VOID(x && root);
	CHECK(name_has(x, NID_commonName, "Salima Ben Ali") &&
	          name_has(x, NID_pkcs9_emailAddress, "salima@cabinet.fr") &&
	          name_has(x, NID_organizationName, "JLM - Pont-Audemer") && name_has(x, NID_countryName, "FR"),
	      "person's subject");
	uint32_t usage = X509_get_key_usage(x);
	CHECK(usage == (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION), "key usage %x", usage);
	CHECK(X509_get_extension_flags(x) & EXFLAG_KUSAGE, "key usage present");
	CHECK(X509_check_ca(x) == 0, "not a CA");
	CHECK(X509_check_email(x, "salima@cabinet.fr", 0, 0) == 1, "the email in subjectAltName");
	int64_t not_before = 0, not_after = 0;
	signer_credential_validity(c, &not_before, &not_after);
	CHECK(not_before == NOW_S - SIGNER_CERT_BACKDATE_S && not_after == NOW_S + 365 * DAY_S, "validity %lld..%lld",
	      (long long)not_before, (long long)not_after);
	CHECK(time_of(X509_get0_notAfter(x)) == not_after, "validity as in the certificate");
	CHECK(chains(x, root, NOW_S), "chains to the CA");
	CHECK(!chains(x, root, NOW_S + 366 * DAY_S), "expired a year and a day later");
	X509_free(x);
	signer_credential_free(c);

	signer_subject seal = {SIGNER_KIND_SEAL, "JLM", "JLM - Pont-Audemer", "ignored", NULL, NULL, NULL};
	REQUIRE_VOID(signer_issue(ca, &seal, NOW_S, 30, &c) == SIGNER_OK);
	x = certificate_of(c);
	REQUIRE_VOID(x);
	CHECK(name_has(x, NID_commonName, "JLM - Pont-Audemer") &&
	          name_has(x, NID_organizationName, "JLM - Pont-Audemer") &&
	          name_has(x, NID_organizationIdentifier, "JLM"),
	      "seal's subject");
	CHECK(X509_get_key_usage(x) == (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION), "seal key usage");
	CHECK(chains(x, root, NOW_S + DAY_S), "seal chains to the CA");
	X509_free(x);
	signer_credential_free(c);

	/* ETSI EN 319 412-3: the seal of a firm with a SIREN. */
	signer_subject sealed = {SIGNER_KIND_SEAL, "JLM", "JLM - Pont-Audemer", NULL, NULL, NULL, "NTRFR-732829320"};
	REQUIRE_VOID(signer_issue(ca, &sealed, NOW_S, 30, &c) == SIGNER_OK);
	x = certificate_of(c);
	REQUIRE_VOID(x);
	CHECK(name_has(x, NID_organizationIdentifier, "NTRFR-732829320") &&
	          name_has(x, NID_organizationName, "JLM - Pont-Audemer") && name_has(x, NID_countryName, "FR") &&
	          !name_has(x, NID_organizationIdentifier, "JLM"),
	      "seal's organizationIdentifier is NTRFR-<SIREN>, not the firm id");
	X509_free(x);
	signer_credential_free(c);

	/* ETSI EN 319 412-2: a person's givenName and surname, as UTF8Strings (accents intact). */
	signer_subject named = {
	    SIGNER_KIND_PERSON, "salima@cabinet.fr", "Éloïse Dupré-Lefèvre", NULL, "Éloïse", "Dupré-Lefèvre", NULL};
	REQUIRE_VOID(signer_issue(ca, &named, NOW_S, 30, &c) == SIGNER_OK);
	x = certificate_of(c);
	REQUIRE_VOID(x);
	CHECK(name_has(x, NID_givenName, "Éloïse") && name_has(x, NID_surname, "Dupré-Lefèvre") &&
	          name_has(x, NID_commonName, "Éloïse Dupré-Lefèvre"),
	      "person's givenName, surname and commonName");
	const X509_NAME *dn = X509_get_subject_name(x);
	int at = X509_NAME_get_index_by_NID(dn, NID_givenName, -1);
	CHECK(at >= 0 && ASN1_STRING_type(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(dn, at))) == V_ASN1_UTF8STRING,
	      "givenName is a UTF8String");
	at = X509_NAME_get_index_by_NID(dn, NID_surname, -1);
	CHECK(at >= 0 && ASN1_STRING_type(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(dn, at))) == V_ASN1_UTF8STRING,
	      "surname is a UTF8String");
	X509_free(x);
	signer_credential_free(c);

	/* Near the CA's end, a certificate ends with it. */
	int64_t late = NOW_S + ((int64_t)SIGNER_CA_VALIDITY_DAYS - 10) * DAY_S;
	REQUIRE_VOID(signer_issue(ca, &person, late, 365, &c) == SIGNER_OK);
	signer_credential_validity(c, NULL, &not_after);
	CHECK(not_after == time_of(X509_get0_notAfter(root)), "clamped to the CA's end");
	signer_credential_free(c);
	CHECK(signer_issue(ca, &person, NOW_S - 2 * SIGNER_CERT_BACKDATE_S, 365, &c) == SIGNER_ERR_EXPIRED && !c,
	      "before the CA: %s", signer_last_error());
	CHECK(signer_issue(ca, &person, NOW_S + (int64_t)SIGNER_CA_VALIDITY_DAYS * DAY_S, 1, &c) == SIGNER_ERR_EXPIRED,
	      "after the CA");
	X509_free(root);

	/* Files: one per subject, 0600, named by a hash: no email, no firm id in a name. */
	char signers[600];
	snprintf(signers, sizeof signers, "%s/%s", dir, SIGNER_CREDENTIALS_DIR);
	CHECK(mode_of(dir, SIGNER_CREDENTIALS_DIR) == 0700, "signers dir mode");
	DIR *d = opendir(signers);
	REQUIRE_VOID(d);
	int files = 0;
	for (struct dirent *e; (e = readdir(d)) != NULL;) {
		if (e->d_name[0] == '.')
			continue;
		files++;
		CHECK(strlen(e->d_name) == 64 + 4 && strspn(e->d_name, "0123456789abcdef") == 64 &&
		          strcmp(e->d_name + 64, ".pem") == 0,
		      "file name %s", e->d_name);
		CHECK(mode_of(signers, e->d_name) == 0600, "%s mode %o", e->d_name, mode_of(signers, e->d_name));
	}
	closedir(d);
	CHECK(files == 2, "%d credential files for two subjects (a re-issue replaces)", files);
}

static void test_invalid(signer_ca *ca)
{
	char long_name[80], long_email[200], accents[4 * 64 + 1] = "";
	memset(long_name, 'a', 65);
	long_name[65] = '\0';
	memset(long_email, 'a', 130);
	memcpy(long_email + 120, "@cabinet.fr", 12);
	for (int i = 0; i < 64; i++)
		strcat(accents, "é");
	struct {
		signer_subject subject;
		signer_err expected;
	} cases[] = {
	    {{SIGNER_KIND_PERSON, "a@b.fr", accents, NULL, NULL, NULL, NULL}, SIGNER_OK},
	    {{SIGNER_KIND_PERSON, "a@b.fr", "Ann", "", NULL, NULL, NULL}, SIGNER_OK},
	    {{0, "a@b.fr", "Ann", NULL, NULL, NULL, NULL}, SIGNER_ERR_INVALID},
	    {{SIGNER_KIND_PERSON, NULL, "Ann", NULL, NULL, NULL, NULL}, SIGNER_ERR_INVALID},
	    {{SIGNER_KIND_PERSON, "ab.fr", "Ann", NULL, NULL, NULL, NULL}, SIGNER_ERR_INVALID},
	    {{SIGNER_KIND_PERSON, "a@b@c.fr", "Ann", NULL, NULL, NULL, NULL}, SIGNER_ERR_INVALID},
	    {{SIGNER_KIND_PERSON, "a b@c.fr", "Ann", NULL, NULL, NULL, NULL}, SIGNER_ERR_INVALID},
	    {{SIGNER_KIND_PERSON, "@c.fr", "Ann", NULL, NULL, NULL, NULL}, SIGNER_ERR_INVALID},
	    {{SIGNER_KIND_PERSON, long_email, "Ann", NULL, NULL, NULL, NULL}, SIGNER_ERR_INVALID},
	    {{SIGNER_KIND_PERSON, "a@b.fr", "", NULL, NULL, NULL, NULL}, SIGNER_ERR_INVALID},
	    {{SIGNER_KIND_PERSON, "a@b.fr", NULL, NULL, NULL, NULL, NULL}, SIGNER_ERR_INVALID},
	    {{SIGNER_KIND_PERSON, "a@b.fr", long_name, NULL, NULL, NULL, NULL}, SIGNER_ERR_INVALID},
	    {{SIGNER_KIND_PERSON, "a@b.fr", "Ann\nBob", NULL, NULL, NULL, NULL}, SIGNER_ERR_INVALID},
	    {{SIGNER_KIND_PERSON, "a@b.fr", "\xff\xfe", NULL, NULL, NULL, NULL}, SIGNER_ERR_INVALID},
	    {{SIGNER_KIND_PERSON, "a@b.fr", "Ann", long_name, NULL, NULL, NULL}, SIGNER_ERR_INVALID},
	    {{SIGNER_KIND_SEAL, "", "Firm", NULL, NULL, NULL, NULL}, SIGNER_ERR_INVALID},
	    {{SIGNER_KIND_SEAL, "F\x01", "Firm", NULL, NULL, NULL, NULL}, SIGNER_ERR_INVALID},
	    /* ETSI EN 319 412 fields: both names or neither, of a person; an identifier, of a seal */
	    {{SIGNER_KIND_PERSON, "a@b.fr", "Ann Lee", NULL, "Ann", "Lee", NULL}, SIGNER_OK},
	    {{SIGNER_KIND_PERSON, "a@b.fr", "Ann", NULL, "Ann", NULL, NULL}, SIGNER_ERR_INVALID},
	    {{SIGNER_KIND_PERSON, "a@b.fr", "Lee", NULL, "", "Lee", NULL}, SIGNER_ERR_INVALID},
	    {{SIGNER_KIND_PERSON, "a@b.fr", "Ann Lee", NULL, long_name, "Lee", NULL}, SIGNER_ERR_INVALID},
	    {{SIGNER_KIND_PERSON, "a@b.fr", "Ann Lee", NULL, "Ann", "Le\ne", NULL}, SIGNER_ERR_INVALID},
	    {{SIGNER_KIND_PERSON, "a@b.fr", "Ann", NULL, NULL, NULL, "NTRFR-732829320"}, SIGNER_ERR_INVALID},
	    {{SIGNER_KIND_SEAL, "F", "Firm", NULL, NULL, NULL, "NTRFR-732829320"}, SIGNER_OK},
	    {{SIGNER_KIND_SEAL, "F", "Firm", NULL, "Ann", "Lee", NULL}, SIGNER_ERR_INVALID},
	    {{SIGNER_KIND_SEAL, "F", "Firm", NULL, NULL, NULL, long_name}, SIGNER_ERR_INVALID},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		signer_credential *c = NULL;
		signer_err got = signer_issue(ca, &cases[i].subject, NOW_S, 10, &c);
		CHECK(got == cases[i].expected, "case %zu: %s (%s)", i, signer_strerror(got), signer_last_error());
		CHECK((got == SIGNER_OK) == (c != NULL), "case %zu: a credential only on success", i);
		signer_credential_free(c);
	}
	signer_subject ok = {SIGNER_KIND_PERSON, "a@b.fr", "Ann", NULL, NULL, NULL, NULL};
	signer_credential *c = NULL;
	CHECK(signer_issue(ca, &ok, NOW_S, 0, &c) == SIGNER_ERR_INVALID, "0 days");
	CHECK(signer_issue(ca, &ok, NOW_S, SIGNER_CERT_VALIDITY_DAYS_MAX + 1, &c) == SIGNER_ERR_INVALID, "too long");
	CHECK(signer_issue(NULL, &ok, NOW_S, 1, &c) == SIGNER_ERR_INVALID, "NULL CA");
	CHECK(signer_issue(ca, NULL, NOW_S, 1, &c) == SIGNER_ERR_INVALID, "NULL subject");
}

static bool same_certificate(const signer_credential *a, const signer_credential *b)
{
	uint8_t da[SIGNER_CERT_DER_BYTES_MAX], db[SIGNER_CERT_DER_BYTES_MAX];
	size_t na = 0, nb = 0;
	return signer_credential_certificate(a, da, sizeof da, &na) == SIGNER_OK &&
	       signer_credential_certificate(b, db, sizeof db, &nb) == SIGNER_OK && na == nb && memcmp(da, db, na) == 0;
}

static void test_reuse(signer_ca *ca, const char *dir, signer_ca *foreign)
{
	signer_subject s = {SIGNER_KIND_PERSON, "reuse@cabinet.fr", "Re Use", NULL, NULL, NULL, NULL};
	signer_credential *first = NULL, *c = NULL;
	bool issued = false;
	REQUIRE_VOID(signer_credential_get_or_issue(ca, &s, NOW_S, 30, &first, &issued) == SIGNER_OK && issued);
	REQUIRE_VOID(signer_credential_get_or_issue(ca, &s, NOW_S + 10 * DAY_S, 30, &c, &issued) == SIGNER_OK);
	CHECK(!issued && same_certificate(first, c), "re-used while valid");
	signer_credential_free(c);
	/* A day before the end: replaced. */
	REQUIRE_VOID(signer_credential_get_or_issue(ca, &s, NOW_S + 29 * DAY_S + 1, 30, &c, &issued) == SIGNER_OK);
	CHECK(issued && !same_certificate(first, c), "renewed a day before its end");
	signer_credential_free(c);
	signer_credential_free(first);
	REQUIRE_VOID(signer_credential_get_or_issue(ca, &s, NOW_S + 29 * DAY_S + 2, 30, &first, &issued) == SIGNER_OK);
	CHECK(!issued, "the renewed one is re-used");
	/* Renamed: a certificate must say what the subject is called now. */
	signer_subject renamed = {SIGNER_KIND_PERSON, "reuse@cabinet.fr", "Re Use-Née", NULL, NULL, NULL, NULL};
	REQUIRE_VOID(signer_credential_get_or_issue(ca, &renamed, NOW_S + 30 * DAY_S, 30, &c, &issued) == SIGNER_OK);
	CHECK(issued, "a new name, a new certificate");
	signer_credential_free(c);
	/* Same id, other kind: another file, another certificate. */
	signer_subject seal = {SIGNER_KIND_SEAL, "reuse@cabinet.fr", "Re Use", NULL, NULL, NULL, NULL};
	REQUIRE_VOID(signer_credential_get_or_issue(ca, &seal, NOW_S + 30 * DAY_S, 30, &c, &issued) == SIGNER_OK);
	CHECK(issued, "a seal is not a person");
	signer_credential_free(c);
	signer_credential_free(first);

	/* A damaged file is replaced rather than failing every signature. */
	char signers[600], command[2400], output[256];
	snprintf(signers, sizeof signers, "%s/%s", dir, SIGNER_CREDENTIALS_DIR);
	snprintf(command, sizeof command, "for f in '%s'/*.pem; do printf garbage > \"$f\"; done", signers);
	CHECK(run(command, output, sizeof output) == 0, "damaging: %s", output);
	REQUIRE_VOID(signer_credential_get_or_issue(ca, &renamed, NOW_S + 31 * DAY_S, 30, &c, &issued) == SIGNER_OK);
	CHECK(issued, "a damaged file is replaced");
	signer_credential_free(c);
	/* A file from another CA, under the same name: not this CA's, so replaced. */
	char other_signers[600];
	snprintf(other_signers, sizeof other_signers, "%s/../other/%s", dir, SIGNER_CREDENTIALS_DIR);
	snprintf(command, sizeof command, "mkdir -p '%s' && cp '%s'/*.pem '%s'/", other_signers, signers,
	         other_signers);
	CHECK(run(command, output, sizeof output) == 0, "copying: %s", output);
	REQUIRE_VOID(signer_credential_get_or_issue(foreign, &renamed, NOW_S + 31 * DAY_S, 30, &c, &issued) ==
	             SIGNER_OK);
	CHECK(issued, "another CA's certificate is not re-used");
	signer_credential_free(c);
}

typedef struct race {
	signer_ca *ca;
	int index;
	int failures;
} race;

/* Every thread re-issues the same subject's credential (so renames race), and has its own
 * subject re-used or renewed as time passes. */
static void *race_thread(void *arg)
{
	race *r = arg;
	signer_subject same = {SIGNER_KIND_PERSON, "race@cabinet.fr", "Race", NULL, NULL, NULL, NULL};
	char email[64];
	snprintf(email, sizeof email, "racer%d@cabinet.fr", r->index);
	signer_subject own = {SIGNER_KIND_PERSON, email, "Racer", NULL, NULL, NULL, NULL};
	for (int i = 0; i < 5; i++) {
		signer_credential *c = NULL, *mine = NULL;
		if (signer_issue(r->ca, &same, NOW_S, 30, &c) != SIGNER_OK)
			r->failures++;
		if (signer_credential_get_or_issue(r->ca, &own, NOW_S + i * 3 * DAY_S, 4, &mine, NULL) != SIGNER_OK)
			r->failures++;
		signer_credential_free(c);
		signer_credential_free(mine);
	}
	return NULL;
}

static void test_threads(signer_ca *ca)
{
	race races[THREADS];
	for (int i = 0; i < THREADS; i++)
		races[i] = (race){ca, i, 0};
	REQUIRE_VOID(run_threads(race_thread, races, sizeof races[0], THREADS));
	for (int i = 0; i < THREADS; i++)
		CHECK(races[i].failures == 0, "thread %d: %d failures", i, races[i].failures);
	/* Whoever renamed last, the stored key matches the stored certificate. */
	signer_subject same = {SIGNER_KIND_PERSON, "race@cabinet.fr", "Race", NULL, NULL, NULL, NULL};
	signer_credential *c = NULL;
	bool issued = true;
	CHECK(signer_credential_get_or_issue(ca, &same, NOW_S + DAY_S, 30, &c, &issued) == SIGNER_OK && !issued,
	      "after the race, the stored credential is whole and re-usable");
	signer_credential_free(c);
}

int main(void)
{
	char *root = scratch_dir("signer-ca");
	REQUIRE(root, "scratch directory");
	test_ca_files(root);
	char dir[512], other[512];
	snprintf(dir, sizeof dir, "%s/keys", root);
	snprintf(other, sizeof other, "%s/other", root);
	signer_ca *ca = NULL, *foreign = NULL;
	REQUIRE(signer_ca_open(dir, &ca) == SIGNER_OK, "open: %s", signer_last_error());
	REQUIRE(signer_ca_open(other, &foreign) == SIGNER_OK, "open other: %s", signer_last_error());
	test_issue(ca, dir);
	test_invalid(ca);
	test_reuse(ca, dir, foreign);
	test_threads(ca);
	signer_ca_free(foreign);
	signer_ca_free(ca);
	remove_dir(root);
	free(root);
	return check_report(__FILE__);
}
