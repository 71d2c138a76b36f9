/*
 * subject_fields_test: the checks of what a certificate's subject takes from the ledger
 * (projections/subject_fields.c). A SIREN is 9 digits whose Luhn key holds: real SIRENs pass;
 * every single-digit change and every swap of two different adjacent digits of one (other than 0
 * and 9, which Luhn cannot tell apart) fails with PROJ_SIREN_CHECKSUM; letters, signs and spaces
 * fail with PROJ_SIREN_NOT_DIGITS, other lengths with PROJ_SIREN_LENGTH. A person's given name and
 * surname: both required, at most 64 characters each and together with a space (the commonName).
 */
#include "../check.h"
#include "domain.h"

#include <string.h>

static void expect_siren(const char *s, proj_siren_status want)
{
	proj_siren_status got = proj_siren_check(s);
	CHECK(got == want, "SIREN \"%s\": %d (%s), want %d", s, (int)got, proj_siren_strerror(got), (int)want);
}

/* Luhn finds every single-digit error and every adjacent transposition but 09 <-> 90. */
static void typos_of(const char *valid)
{
	char s[PROJ_SIREN_DIGITS + 1];
	for (size_t i = 0; i < PROJ_SIREN_DIGITS; i++)
		for (int digit = 0; digit <= 9; digit++) {
			char d = (char)('0' + digit);
			if (d == valid[i])
				continue;
			memcpy(s, valid, sizeof s);
			s[i] = d;
			expect_siren(s, PROJ_SIREN_CHECKSUM);
		}
	for (size_t i = 0; i + 1 < PROJ_SIREN_DIGITS; i++) {
		char a = valid[i], b = valid[i + 1];
		if (a == b || (a == '0' && b == '9') || (a == '9' && b == '0'))
			continue;
		memcpy(s, valid, sizeof s);
		s[i] = b, s[i + 1] = a;
		expect_siren(s, PROJ_SIREN_CHECKSUM);
	}
}

static void test_siren(void)
{
	static const char *const real[] = {"732829320", "356000000", "552032534", "443061841", "542051180"};
	for (size_t i = 0; i < sizeof real / sizeof real[0]; i++) {
		expect_siren(real[i], PROJ_SIREN_OK);
		typos_of(real[i]);
	}
	expect_siren("732829321", PROJ_SIREN_CHECKSUM);
	expect_siren("123456789", PROJ_SIREN_CHECKSUM);
	/* wrong length */
	expect_siren("", PROJ_SIREN_LENGTH);
	expect_siren("73282932", PROJ_SIREN_LENGTH);
	expect_siren("7328293200", PROJ_SIREN_LENGTH);
	expect_siren("73282932000014", PROJ_SIREN_LENGTH); /* a SIRET is not a SIREN */
	/* letters and anything else not a digit, whatever the length */
	expect_siren("73282932O", PROJ_SIREN_NOT_DIGITS);
	expect_siren("ABCDEFGHI", PROJ_SIREN_NOT_DIGITS);
	expect_siren("732 829 320", PROJ_SIREN_NOT_DIGITS);
	expect_siren("-73282932", PROJ_SIREN_NOT_DIGITS);
	expect_siren("７３２８２９３２０", PROJ_SIREN_NOT_DIGITS); /* full-width digits */
	CHECK(strstr(proj_siren_strerror(PROJ_SIREN_CHECKSUM), "Luhn") &&
	          strstr(proj_siren_strerror(PROJ_SIREN_LENGTH), "9 digits") &&
	          strstr(proj_siren_strerror(PROJ_SIREN_NOT_DIGITS), "digits only"),
	      "each refusal says why");
}

static void expect_names(const char *given, const char *surname, const char *want_field)
{
	const char *field = NULL;
	const char *why = proj_person_names_check(given, surname, &field);
	if (!want_field)
		CHECK(!why, "\"%s\" \"%s\": refused: %s %s", given, surname, field, why);
	else
		CHECK(why && strcmp(field, want_field) == 0, "\"%s\" \"%s\": want %s refused, got %s (%s)", given,
		      surname, want_field, why ? field : "accepted", why ? why : "");
}

static void test_names(void)
{
	char n64[65], n63[64], e64[129];
	memset(n64, 'a', 64), n64[64] = '\0';
	memset(n63, 'a', 63), n63[63] = '\0';
	e64[0] = '\0';
	for (int i = 0; i < 64; i++)
		strcat(e64, "é");
	expect_names("Éloïse", "Dupré-Lefèvre", NULL);
	expect_names("Jean-Marie", "Le Pen", NULL);
	expect_names("A", "B", NULL);
	expect_names("", "Dupré", "given_name");
	expect_names("Éloïse", "", "surname");
	expect_names("Élo\nïse", "Dupré", "given_name");
	expect_names("Éloïse", "Du\x01pré", "surname");
	expect_names("\xff", "Dupré", "given_name");
	expect_names(" Éloïse", "Dupré", "given_name");
	expect_names("Éloïse", "Dupré ", "surname");
	expect_names(n64, "B", "given_name"); /* 64 + 1 + 1 characters: over the commonName */
	expect_names("A", n63, "given_name"); /* 1 + 1 + 63 = 65 */
	expect_names("A", n63 + 1, NULL);     /* 1 + 1 + 62 = 64 */
	expect_names(e64, "B", "given_name"); /* 64 + 1 + 1 characters */
	expect_names(e64 + 2 * 2, "B", NULL); /* 62 + 1 + 1 = 64 characters (126 bytes): characters count */
}

int main(void)
{
	test_siren();
	test_names();
	return check_report(__FILE__);
}
