/*
 * subject.c: who a certificate is for (signer_subject): the checks of its names and email, its
 * X.509 subject name, and the file a credential of it is stored in.
 */
#include "internal.h"

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <stdio.h>
#include <string.h>

#define CREDENTIAL_NAME_TAG "jse-signer-credential-v1"

static size_t utf8_chars(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static bool name_valid(const char *s)
{
	return s && signer_text_valid(s, 4 * SIGNER_DN_CHARS_MAX) && utf8_chars(s) >= 1 &&
	       utf8_chars(s) <= SIGNER_DN_CHARS_MAX;
}

/* Printable ASCII, one '@' with something on both sides: what the ledger accepted already. */
static bool email_valid(const char *s)
{
	size_t n = s ? strnlen(s, SIGNER_EMAIL_BYTES_MAX + 1) : 0;
	const char *at = n ? strchr(s, '@') : NULL;
	if (n < 3 || n > SIGNER_EMAIL_BYTES_MAX || !at || at == s || at == s + n - 1 || strchr(at + 1, '@'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f)
			return false;
	return true;
}

static bool given(const char *s)
{
	return s && s[0];
}

/* The ETSI EN 319 412 fields: givenName and surname of a person (both or neither), the
 * organizationIdentifier of a seal. */
static signer_err names_check(const signer_subject *s)
{
	bool person = s->kind == SIGNER_KIND_PERSON;
	if (!person && (given(s->given_name) || given(s->surname)))
		return signer_fail(SIGNER_ERR_INVALID, "subject: a seal has no given name or surname");
	if (person && given(s->organization_identifier))
		return signer_fail(SIGNER_ERR_INVALID, "subject: a person has no organizationIdentifier");
	if (given(s->given_name) != given(s->surname))
		return signer_fail(SIGNER_ERR_INVALID, "subject: the given name and the surname go together");
	if (given(s->given_name) && (!name_valid(s->given_name) || !name_valid(s->surname)))
		return signer_fail(SIGNER_ERR_INVALID,
		                   "subject: the given name and surname must be 1..%u characters of text",
		                   SIGNER_DN_CHARS_MAX);
	if (given(s->organization_identifier) && !name_valid(s->organization_identifier))
		return signer_fail(SIGNER_ERR_INVALID,
		                   "subject: the organizationIdentifier must be 1..%u characters of text",
		                   SIGNER_DN_CHARS_MAX);
	return SIGNER_OK;
}

signer_err signer_subject_check(const signer_subject *s)
{
	if (!s || (s->kind != SIGNER_KIND_PERSON && s->kind != SIGNER_KIND_SEAL))
		return signer_fail(SIGNER_ERR_INVALID, "subject: NULL or unknown kind");
	if (s->kind == SIGNER_KIND_PERSON && !email_valid(s->id))
		return signer_fail(SIGNER_ERR_INVALID, "subject: the id of a person must be an email address");
	if (s->kind == SIGNER_KIND_SEAL && (!s->id || !s->id[0] || !signer_text_valid(s->id, SIGNER_FIRM_ID_BYTES_MAX)))
		return signer_fail(SIGNER_ERR_INVALID, "subject: the id of a firm must be 1..%u bytes of text",
		                   SIGNER_FIRM_ID_BYTES_MAX);
	if (!name_valid(s->display_name))
		return signer_fail(SIGNER_ERR_INVALID, "subject: the name must be 1..%u characters of text",
		                   SIGNER_DN_CHARS_MAX);
	if (s->kind == SIGNER_KIND_PERSON && given(s->organisation) && !name_valid(s->organisation))
		return signer_fail(SIGNER_ERR_INVALID, "subject: the organisation must be 1..%u characters of text",
		                   SIGNER_DN_CHARS_MAX);
	return names_check(s);
}

static bool add_entry(X509_NAME *name, int nid, const char *value)
{
	return X509_NAME_add_entry_by_NID(name, nid, MBSTRING_UTF8, (const unsigned char *)value, -1, -1, 0) == 1;
}

/* The subject DN of a checked subject (signer.h, signer_credential). */
X509_NAME *signer_subject_name(const signer_subject *s)
{
	X509_NAME *name = X509_NAME_new();
	bool ok = name && add_entry(name, NID_countryName, "FR");
	if (s->kind == SIGNER_KIND_PERSON) {
		if (ok && given(s->organisation))
			ok = add_entry(name, NID_organizationName, s->organisation);
		if (ok && given(s->given_name))
			ok = add_entry(name, NID_surname, s->surname) && add_entry(name, NID_givenName, s->given_name);
		ok = ok && add_entry(name, NID_commonName, s->display_name) &&
		     X509_NAME_add_entry_by_NID(name, NID_pkcs9_emailAddress, MBSTRING_ASC,
		                                (const unsigned char *)s->id, -1, -1, 0) == 1;
	} else {
		ok = ok && add_entry(name, NID_organizationName, s->display_name) &&
		     add_entry(name, NID_organizationIdentifier,
		               given(s->organization_identifier) ? s->organization_identifier : s->id) &&
		     add_entry(name, NID_commonName, s->display_name);
	}
	if (!ok) {
		X509_NAME_free(name);
		return NULL;
	}
	return name;
}

/* <hex SHA-256(tag, kind, id)>.pem: the file name of a subject's credential. */
signer_err signer_credential_file(const signer_subject *s, char name[SIGNER_CREDENTIAL_FILE_BYTES])
{
	unsigned char kind = (unsigned char)s->kind, hash[SIGNER_SHA256_BYTES];
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	bool ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) &&
	          EVP_DigestUpdate(md, CREDENTIAL_NAME_TAG, sizeof CREDENTIAL_NAME_TAG) &&
	          EVP_DigestUpdate(md, &kind, 1) && EVP_DigestUpdate(md, s->id, strlen(s->id)) &&
	          EVP_DigestFinal_ex(md, hash, NULL);
	EVP_MD_CTX_free(md);
	if (!ok)
		return signer_fail_openssl(SIGNER_ERR_CRYPTO, "hashing the credential's name");
	for (size_t i = 0; i < sizeof hash; i++)
		snprintf(name + 2 * i, 3, "%02x", hash[i]);
	memcpy(name + 2 * sizeof hash, ".pem", sizeof ".pem");
	return SIGNER_OK;
}
