/*
 * subject_fields.c: the fields ETSI EN 319 412 asks a certificate's subject to carry that the
 * ledger records (docs/signer.md#certificates): a firm's SIREN, for the seal's
 * organizationIdentifier "NTRFR-<SIREN>" (EN 319 412-1), and a person's verified given name and
 * surname, for givenName, surname and the commonName "given surname" (EN 319 412-2).
 *
 * Checked when they are recorded (FirmAdd, the identity_verified step), so that issuing the
 * certificate later cannot fail on them.
 */
#include "domain.h"

#include <string.h>

proj_siren_status proj_siren_check(const char *s)
{
	size_t n = strnlen(s, PROJ_SIREN_DIGITS + 1);
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return PROJ_SIREN_NOT_DIGITS;
	if (n != PROJ_SIREN_DIGITS)
		return PROJ_SIREN_LENGTH;
	/* Luhn, as the INSEE computes SIREN keys: from the right, every second digit doubled (its
	 * two digits added), the sum a multiple of 10. With 9 digits those are the even positions
	 * from the left (the 2nd, 4th, 6th, 8th). */
	unsigned sum = 0;
	for (size_t i = 0; i < PROJ_SIREN_DIGITS; i++) {
		unsigned d = (unsigned)(s[i] - '0');
		if (i % 2 == 1)
			d = d * 2 > 9 ? d * 2 - 9 : d * 2;
		sum += d;
	}
	return sum % 10 == 0 ? PROJ_SIREN_OK : PROJ_SIREN_CHECKSUM;
}

const char *proj_siren_strerror(proj_siren_status status)
{
	switch (status) {
	case PROJ_SIREN_OK: return "a valid SIREN";
	case PROJ_SIREN_NOT_DIGITS: return "a SIREN is digits only (no letter, space or sign)";
	case PROJ_SIREN_LENGTH: return "a SIREN is exactly 9 digits";
	case PROJ_SIREN_CHECKSUM: return "not a SIREN: its digits fail the INSEE's Luhn check (a typo?)";
	}
	return "unknown SIREN status";
}

static size_t utf8_chars(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

const char *proj_person_names_check(const char *given_name, const char *surname, const char **field)
{
	const char *names[2] = {given_name, surname}, *fields[2] = {"given_name", "surname"};
	for (size_t i = 0; i < 2; i++) {
		*field = fields[i];
		if (!names[i][0])
			return "is required: the name as on the ID document checked";
		if (!proj_text_valid(names[i], 4 * PROJ_PERSON_NAME_CHARS_MAX) ||
		    utf8_chars(names[i]) > PROJ_PERSON_NAME_CHARS_MAX)
			return "must be 1 to 64 characters of UTF-8 text without control characters";
		if (names[i][0] == ' ' || names[i][strlen(names[i]) - 1] == ' ')
			return "must not begin or end with a space";
	}
	*field = "given_name";
	/* The commonName is "given surname", and a commonName is at most 64 characters (RFC 5280). */
	if (utf8_chars(given_name) + 1 + utf8_chars(surname) > PROJ_PERSON_NAME_CHARS_MAX)
		return "and surname together, with a space, must be at most 64 characters (the certificate's "
		       "commonName)";
	return NULL;
}
