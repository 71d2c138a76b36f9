/*
 * validate.c: the shapes of identifiers, and the reading of expiry dates in Paris time.
 *
 * Dates are read with the C library and the system's tz database (mktime in the process time
 * zone, pinned to Europe/Paris), never with hand-written offsets, so daylight saving and any
 * future rule change come from tzdata.
 */
#include "internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* Checks UTF-8 (no overlongs, no surrogates) and refuses control characters. */
bool proj_text_valid(const char *s, size_t bytes_max)
{
	size_t n = strlen(s);
	if (n > bytes_max)
		return false;
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	while (p < end) {
		unsigned c = *p;
		size_t len = c < 0x80             ? 1
		             : (c & 0xe0) == 0xc0 ? 2
		             : (c & 0xf0) == 0xe0 ? 3
		             : (c & 0xf8) == 0xf0 ? 4
		                                  : 0;
		if (len == 0 || (size_t)(end - p) < len)
			return false;
		unsigned cp = len == 1 ? c : c & (0xff >> (len + 1));
		for (size_t i = 1; i < len; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		static const unsigned min[] = {0, 0, 0x80, 0x800, 0x10000};
		if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp < 0x20 || cp == 0x7f)
			return false;
		p += len;
	}
	return true;
}

bool proj_timezone_init(void)
{
	if (setenv("TZ", "Europe/Paris", 1) != 0)
		return false;
	tzset();
	/* Without tzdata, glibc silently falls back to UTC: check a known winter offset. */
	struct tm tm = {.tm_year = 2024 - 1900, .tm_mon = 0, .tm_mday = 15, .tm_hour = 12, .tm_isdst = -1};
	time_t t = mktime(&tm);
	struct tm utc;
	gmtime_r(&t, &utc);
	return utc.tm_hour == 11;
}

bool proj_date_end_us(const char *date, int64_t *end_us)
{
	int y, m, d;
	char tail;
	if (strlen(date) != 10 || date[4] != '-' || date[7] != '-' ||
	    sscanf(date, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3)
		return false;
	if (y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1 || d > 31)
		return false;
	struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_hour = 12, .tm_isdst = -1};
	struct tm check = tm;
	if (mktime(&check) == (time_t)-1 || check.tm_mday != d || check.tm_mon != m - 1)
		return false; /* 2027-02-30 and the like */
	/* The day ends at the next day's local midnight (mktime normalises day 32 and DST). */
	struct tm next = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d + 1, .tm_isdst = -1};
	time_t t = mktime(&next);
	if (t == (time_t)-1)
		return false;
	*end_us = (int64_t)t * 1000000;
	return true;
}

void proj_paris_date(int64_t now_us, int years_ahead, char out[11])
{
	time_t t = (time_t)(now_us / 1000000);
	struct tm tm;
	localtime_r(&t, &tm);
	int y = tm.tm_year + 1900 + years_ahead, m = tm.tm_mon + 1, d = tm.tm_mday;
	if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		d = 28;
	/* Bounded so the compiler can see the 10 characters fit. */
	unsigned yy = (unsigned)y % 10000u, mm = (unsigned)m % 100u, dd = (unsigned)d % 100u;
	snprintf(out, 11, "%04u-%02u-%02u", yy, mm, dd);
}
