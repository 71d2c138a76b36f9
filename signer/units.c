/*
 * units.c: the CA's units: the time-stamping unit (RFC 3161) and the OCSP responder (RFC 6960).
 *
 * Each is one key (in the CA's token, or a file of a keys directory without one) with a
 * certificate. With the hierarchy (hierarchy.c), the TSA's certificate comes from the
 * time-stamping CA and the responder's key gets one certificate from each issuing CA (RFC 6960
 * 4.2.2.2: a delegated responder is certified by the CA whose certificates it answers for), one
 * key for all: the responder is one service, and its answers' trust rests on each CA's
 * certificate for it, which that CA can withhold. Without the hierarchy, the single CA certifies
 * both, as before.
 */
#include "authority.h"
#include "keystore.h"

#include <openssl/err.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define SECONDS_PER_DAY        86400
#define TSA_RENEW_MARGIN_S_MAX (4 * 365 * 86400LL)

typedef struct unit_spec {
	const char *what; /* for messages */
	const char *key_file, *key_label, *cert_file, *common_name;
	const char *extended_key_usage;
	bool ocsp_nocheck;
} unit_spec;

static const unit_spec tsa_unit = {"time-stamping unit",
                                   SIGNER_TSA_KEY_FILE,
                                   SIGNER_TSA_KEY_LABEL,
                                   SIGNER_TSA_CERT_FILE,
                                   SIGNER_TSA_NAME,
                                   "critical,timeStamping",
                                   false};
static const unit_spec ocsp_unit = {"OCSP responder",
                                    SIGNER_OCSP_KEY_FILE,
                                    SIGNER_OCSP_KEY_LABEL,
                                    SIGNER_OCSP_CERT_FILE,
                                    SIGNER_OCSP_NAME,
                                    "critical,OCSPSigning",
                                    true};

/* Who certifies a unit: the root without a hierarchy, else an issuing CA. */
typedef struct unit_issuer {
	X509 *certificate;
	EVP_PKEY *key;
	int64_t not_before_s, not_after_s;
	const char *path; /* its name in the PKI's URLs, or NULL: the single CA's */
	uint8_t serial_tag;
} unit_issuer;

static unit_issuer issuer_of(const signer_ca *ca, signer_issuing which)
{
	const signer_issuing_ca *c = signer_issuing_for(ca, which);
	if (!c)
		return (unit_issuer){ca->certificate, ca->key, ca->not_before_s, ca->not_after_s, NULL, 0};
	return (unit_issuer){c->certificate,
	                     c->key,
	                     c->not_before_s,
	                     c->not_after_s,
	                     signer_issuing_name(which),
	                     (uint8_t)(SIGNER_SERIAL_TAG_BASE + which)};
}

/* A certificate for the unit's key from issuer at now_s, written to cert_file (replacing one). */
static signer_err unit_certify(const signer_ca *ca, const char *keys_dir, int64_t now_s, const unit_spec *u,
                               const unit_issuer *issuer, EVP_PKEY *key, const char *cert_file, bool replace)
{
	int64_t not_after = now_s + SIGNER_UNIT_VALIDITY_DAYS * (int64_t)SECONDS_PER_DAY;
	if (not_after > issuer->not_after_s)
		not_after = issuer->not_after_s;
	if (now_s < issuer->not_before_s || not_after <= now_s)
		return signer_fail(SIGNER_ERR_EXPIRED, "the CA is not valid now: no %s can be issued", u->what);
	X509_NAME *name = authority_name_under(ca->certificate, u->common_name);
	authority_request r = {.subject = name,
	                       .subject_key = key,
	                       .issuer = issuer->certificate,
	                       .issuer_key = issuer->key,
	                       .not_before_s = now_s - SIGNER_CERT_BACKDATE_S,
	                       .not_after_s = not_after,
	                       .extended_key_usage = u->extended_key_usage,
	                       .ocsp_nocheck = u->ocsp_nocheck,
	                       /* the responder's answers are not checked online (RFC 6960 4.2.2.2.1) */
	                       .pki_url = !u->ocsp_nocheck && ca->pki_url[0] ? ca->pki_url : NULL,
	                       .issuer_path = issuer->path,
	                       .ocsp_access = true,
	                       .serial_tag = issuer->serial_tag};
	X509 *certificate = name ? authority_certificate_new(&r) : NULL;
	signer_err err =
	    certificate ? SIGNER_OK : signer_fail_openssl(SIGNER_ERR_CRYPTO, "issuing a unit's certificate");
	if (!err)
		err = keystore_pem_write(keys_dir, cert_file, NULL, certificate, 0644, replace);
	X509_free(certificate);
	X509_NAME_free(name);
	return err;
}

/* The unit's key, generated the first time (generated says so). */
static signer_err unit_key(signer_ca *ca, const char *keys_dir, const unit_spec *u, EVP_PKEY **key, bool *generated)
{
	authority_key_place k = {ca->token, keys_dir, u->key_file, u->key_label};
	*generated = false;
	signer_err err = authority_key_read(&k, key);
	if (err != SIGNER_ERR_NOT_FOUND)
		return err;
	if (ca->read_only)
		return signer_fail(SIGNER_ERR_NOT_FOUND, "%s has no %s key: ledgerd serve makes it at its start",
		                   keys_dir, u->what);
	if ((err = authority_key_generate(&k, key)) == SIGNER_OK &&
	    (err = authority_key_store(&k, *key)) != SIGNER_OK) {
		EVP_PKEY_free(*key);
		*key = NULL;
		authority_key_discard(&k);
	}
	*generated = err == SIGNER_OK;
	return err;
}

/* Whether certificate, read for a unit, is to be issued again at now_s: it is not issuer's (a keys
 * directory made before the hierarchy), it is not named subject, or it has less than margin_s
 * left and a new one would end
 * later (a new one ends with its CA at the latest: near the CA's end, issuing again at every start
 * would change nothing but the serial). */
static bool unit_renew_due(X509 *certificate, const X509_NAME *subject, const unit_issuer *issuer, int64_t now_s,
                           int64_t margin_s)
{
	if (margin_s < 0)
		return false;
	if (X509_check_issued(issuer->certificate, certificate) != X509_V_OK)
		return true;
	/* a name from before the organizationIdentifier was in the units' names */
	if (X509_NAME_cmp(X509_get_subject_name(certificate), subject) != 0)
		return true;
	int64_t end_s = authority_time_s(X509_get0_notAfter(certificate));
	int64_t new_end_s = now_s + SIGNER_UNIT_VALIDITY_DAYS * (int64_t)SECONDS_PER_DAY;
	if (new_end_s > issuer->not_after_s)
		new_end_s = issuer->not_after_s;
	return end_s - now_s < margin_s && new_end_s > end_s;
}

/* t_s as 2027-03-14T13:07:53Z, for messages ("?" past year 9999). */
static void utc_text(int64_t t_s, char *out, size_t out_bytes)
{
	time_t t = (time_t)t_s;
	struct tm tm;
	if (!gmtime_r(&t, &tm) || !strftime(out, out_bytes, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, out_bytes, "?");
}

/* Reads cert_file for key (certifying it from issuer the first time, or again when
 * unit_renew_due says so), checks it and returns it. */
static signer_err unit_certificate(signer_ca *ca, const char *keys_dir, int64_t now_s, const unit_spec *u,
                                   const unit_issuer *issuer, EVP_PKEY *key, const char *cert_file,
                                   int64_t renew_margin_s, X509 **out)
{
	X509 *certificate = NULL;
	signer_err err = authority_read_pem(keys_dir, cert_file, NULL, &certificate);
	if (err == SIGNER_ERR_NOT_FOUND && ca->read_only)
		return signer_fail(SIGNER_ERR_NOT_FOUND, "%s has no %s: ledgerd serve issues it at its start", keys_dir,
		                   cert_file);
	X509_NAME *subject = err == SIGNER_OK ? authority_name_under(ca->certificate, u->common_name) : NULL;
	if (err == SIGNER_OK && !subject)
		err = signer_fail_openssl(SIGNER_ERR_CRYPTO, "building a unit's name");
	bool renew =
	    err == SIGNER_OK && !ca->read_only && unit_renew_due(certificate, subject, issuer, now_s, renew_margin_s);
	X509_NAME_free(subject);
	if (err == SIGNER_ERR_NOT_FOUND || renew) {
		X509_free(certificate);
		certificate = NULL;
		err = unit_certify(ca, keys_dir, now_s, u, issuer, key, cert_file, renew);
		if (!err)
			err = authority_read_pem(keys_dir, cert_file, NULL, &certificate);
	}
	if (!err && X509_check_private_key(certificate, key) != 1)
		err = signer_fail(SIGNER_ERR_KEYS, "the %s's key does not match %s", u->what, cert_file);
	if (!err && (X509_check_issued(issuer->certificate, certificate) != X509_V_OK ||
	             X509_verify(certificate, X509_get0_pubkey(issuer->certificate)) != 1))
		err = signer_fail(SIGNER_ERR_KEYS, "%s/%s is not issued by its CA", keys_dir, cert_file);
	ERR_clear_error();
	int64_t end_s = err ? 0 : authority_time_s(X509_get0_notAfter(certificate));
	if (!err && end_s <= now_s) {
		char end[sizeof "9999-12-31T23:59:59Z"];
		utc_text(end_s, end, sizeof end);
		err = signer_fail(SIGNER_ERR_EXPIRED, "the %s's certificate %s expired at %s", u->what, cert_file, end);
	}
	if (err)
		X509_free(certificate);
	else
		*out = certificate;
	return err;
}

signer_err signer_tsa_enable(signer_ca *ca, const char *keys_dir, int64_t now_s)
{
	if (!ca || !keys_dir)
		return signer_fail(SIGNER_ERR_INVALID, "enabling the time-stamping unit: NULL argument");
	unit_issuer issuer = issuer_of(ca, SIGNER_ISSUING_TIMESTAMPING);
	EVP_PKEY *key = NULL;
	X509 *certificate = NULL;
	bool generated = false;
	/* A certificate not from its CA (a keys directory made before the hierarchy), or this close
	 * to its end, is replaced: a renewal done near the end would carry that end otherwise. */
	int64_t margin_s = ca->hierarchy ? ca->unit_renew_margin_s : -1;
	signer_err err = unit_key(ca, keys_dir, &tsa_unit, &key, &generated);
	if (!err)
		err = unit_certificate(ca, keys_dir, now_s, &tsa_unit, &issuer, key, SIGNER_TSA_CERT_FILE, margin_s,
		                       &certificate);
	if (err) {
		EVP_PKEY_free(key);
		if (generated) /* useless without its certificate */
			authority_key_discard(
			    &(authority_key_place){ca->token, keys_dir, tsa_unit.key_file, tsa_unit.key_label});
		return err;
	}
	EVP_PKEY_free(ca->tsa_key);
	X509_free(ca->tsa_certificate);
	ca->tsa_key = key;
	ca->tsa_certificate = certificate;
	return SIGNER_OK;
}

void signer_ca_set_read_only(signer_ca *ca)
{
	if (ca)
		ca->read_only = true;
}

signer_err signer_tsa_set_renew_margin(signer_ca *ca, int64_t margin_s)
{
	if (!ca || margin_s < 0 || margin_s > TSA_RENEW_MARGIN_S_MAX)
		return signer_fail(SIGNER_ERR_INVALID, "the TSA's renewal margin: 0 to %lld s",
		                   (long long)TSA_RENEW_MARGIN_S_MAX);
	ca->unit_renew_margin_s = margin_s;
	return SIGNER_OK;
}

/* The responder's certificates: one from each issuing CA, and the root's own (SIGNER_OCSP_CERT_FILE)
 * where the root issued end entities (always without a hierarchy). With the hierarchy each is
 * re-issued for the same key within the units' renewal margin, as the TSA's is: they live five
 * years, and a responder whose certificate has expired answers nothing a validator accepts (and
 * ledgerd would not start). */
signer_err signer_ocsp_enable(signer_ca *ca, const char *keys_dir, int64_t now_s)
{
	if (!ca || !keys_dir)
		return signer_fail(SIGNER_ERR_INVALID, "enabling the OCSP responder: NULL argument");
	EVP_PKEY *key = NULL;
	bool generated = false;
	signer_err err = unit_key(ca, keys_dir, &ocsp_unit, &key, &generated);
	X509 *certificates[SIGNER_ISSUING_CAS + 1] = {NULL};
	for (size_t i = 0; !err && ca->hierarchy && i < SIGNER_ISSUING_CAS; i++) {
		char file[64];
		snprintf(file, sizeof file, SIGNER_ISSUING_OCSP_FORMAT, signer_issuing_name((signer_issuing)i));
		unit_issuer issuer = issuer_of(ca, (signer_issuing)i);
		err = unit_certificate(ca, keys_dir, now_s, &ocsp_unit, &issuer, key, file, ca->unit_renew_margin_s,
		                       &certificates[i]);
	}
	if (!err && (!ca->hierarchy || ca->root_issued_leaves)) {
		unit_issuer root = {ca->certificate, ca->key, ca->not_before_s, ca->not_after_s, NULL, 0};
		err = unit_certificate(ca, keys_dir, now_s, &ocsp_unit, &root, key, SIGNER_OCSP_CERT_FILE,
		                       ca->hierarchy ? ca->unit_renew_margin_s : -1, &certificates[SIGNER_ISSUING_CAS]);
	}
	if (err) {
		for (size_t i = 0; i <= SIGNER_ISSUING_CAS; i++)
			X509_free(certificates[i]);
		EVP_PKEY_free(key);
		if (generated)
			authority_key_discard(
			    &(authority_key_place){ca->token, keys_dir, ocsp_unit.key_file, ocsp_unit.key_label});
		return err;
	}
	for (size_t i = 0; ca->hierarchy && i < SIGNER_ISSUING_CAS; i++) {
		X509_free(ca->issuing[i].ocsp_certificate);
		ca->issuing[i].ocsp_certificate = certificates[i];
	}
	EVP_PKEY_free(ca->ocsp_key);
	X509_free(ca->ocsp_certificate);
	ca->ocsp_key = key;
	ca->ocsp_certificate = certificates[SIGNER_ISSUING_CAS];
	return SIGNER_OK;
}

signer_err signer_ca_tsa_credential(const signer_ca *ca, signer_credential **out)
{
	*out = NULL;
	if (!ca->tsa_key || !ca->tsa_certificate)
		return signer_fail(SIGNER_ERR_KEYS, "no time-stamping unit (signer_tsa_enable)");
	signer_credential *c = calloc(1, sizeof *c);
	if (!c)
		return signer_fail(SIGNER_ERR_NOMEM, "signer_ca_tsa_credential");
	X509 *issuer = ca->certificate;
	EVP_PKEY *issuer_key = NULL;
	(void)signer_issuer_of(ca, ca->tsa_certificate, &issuer, &issuer_key, NULL);
	c->kind = SIGNER_KIND_SEAL;
	c->certificate = ca->tsa_certificate;
	c->ca_certificate = issuer;
	c->root_certificate = ca->certificate;
	c->tsa_ca_certificate = issuer;
	c->tsa_key = ca->tsa_key;
	c->tsa_certificate = ca->tsa_certificate;
	X509_up_ref(ca->tsa_certificate); /* as certificate */
	X509_up_ref(ca->tsa_certificate); /* as tsa_certificate */
	X509_up_ref(issuer);              /* as ca_certificate */
	X509_up_ref(issuer);              /* as tsa_ca_certificate */
	X509_up_ref(ca->certificate);     /* as root_certificate */
	EVP_PKEY_up_ref(ca->tsa_key);
	c->not_before_s = authority_time_s(X509_get0_notBefore(ca->tsa_certificate));
	c->not_after_s = authority_time_s(X509_get0_notAfter(ca->tsa_certificate));
	*out = c;
	return SIGNER_OK;
}
