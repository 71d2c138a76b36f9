/*
 * validate.c: the shapes of identifiers (emails, firm ids, names, free text). Paris dates are
 * paris_time.c's.
 */
#include "domain.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool local_char_ok(unsigned char c)
{
	return isalnum(c) || strchr("!#$%&'*+/=?^_`{|}~.-", c) != NULL;
}

bool proj_email_normalise(const char *in, char *out, const char **why)
{
	while (*in == ' ' || *in == '\t')
		in++;
	size_t n = strlen(in);
	while (n > 0 && (in[n - 1] == ' ' || in[n - 1] == '\t' || in[n - 1] == '\r' || in[n - 1] == '\n'))
		n--;
	*why = NULL;
	if (n == 0)
		return *why = "empty address", false;
	if (n > PROJ_EMAIL_BYTES_MAX)
		return *why = "longer than 254 characters", false;
	const char *at = memchr(in, '@', n);
	if (!at || memchr(at + 1, '@', n - (size_t)(at - in) - 1))
		return *why = "an address has exactly one @", false;
	size_t local = (size_t)(at - in), domain = n - local - 1;
	if (local == 0 || local > 64)
		return *why = "the part before @ must have 1 to 64 characters", false;
	if (domain < 3)
		return *why = "the domain after @ is too short", false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		bool ok = i < local ? local_char_ok(c) : i == local || isalnum(c) || c == '.' || c == '-';
		if (!ok)
			return *why = "a character not allowed in an address", false;
		out[i] = (char)tolower(c);
	}
	out[n] = '\0';
	const char *d = out + local + 1;
	if (out[0] == '.' || out[local - 1] == '.' || strstr(out, "..") || d[0] == '.' || d[0] == '-' ||
	    out[n - 1] == '.' || out[n - 1] == '-' || !strchr(d, '.'))
		return *why = "the domain needs a dot and no empty label", false;
	return true;
}

bool proj_firm_id_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > PROJ_FIRM_ID_BYTES_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i]))
			return false;
	return true;
}

bool proj_name_valid(const char *s)
{
	size_t n = strlen(s);
	return n > 0 && n <= PROJ_NAME_BYTES_MAX && proj_text_valid(s, PROJ_NAME_BYTES_MAX);
}

/* The length of the UTF-8 sequence at p (no overlong, no surrogate), its code point in *cp;
 * 0 if the bytes from p are not one. */
static size_t utf8_sequence(const unsigned char *p, const unsigned char *end, unsigned *cp)
{
	unsigned c = *p;
	size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
	if (len == 0 || (size_t)(end - p) < len)
		return 0;
	unsigned v = len == 1 ? c : c & (0xff >> (len + 1));
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (p[i] & 0x3f);
	}
	static const unsigned min[] = {0, 0, 0x80, 0x800, 0x10000};
	if (v < min[len] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

/* Checks UTF-8 (no overlongs, no surrogates) and refuses control characters. */
bool proj_text_valid(const char *s, size_t bytes_max)
{
	size_t n = strlen(s);
	if (n > bytes_max)
		return false;
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	while (p < end) {
		unsigned cp;
		size_t len = utf8_sequence(p, end, &cp);
		if (len == 0 || cp < 0x20 || cp == 0x7f)
			return false;
		p += len;
	}
	return true;
}

bool proj_utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + strlen(s);
	unsigned cp;
	for (size_t len; p < end; p += len)
		if ((len = utf8_sequence(p, end, &cp)) == 0)
			return false;
	return true;
}

void proj_utf8_repair(char *s)
{
	unsigned char *p = (unsigned char *)s, *end = p + strlen(s);
	unsigned cp;
	while (p < end) {
		size_t len = utf8_sequence(p, end, &cp);
		if (len == 0) {
			*p = '?';
			len = 1;
		}
		p += len;
	}
}
