/*
 * text.c: what ledger-audit's commands share to read files and to write times and JSON.
 */
#include "audit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void audit_iso_time_us(int64_t us, char out[AUDIT_ISO_TIME_BYTES])
{
	time_t t = (time_t)(us / 1000000);
	struct tm tm;
	gmtime_r(&t, &tm);
	char day[24];
	strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, AUDIT_ISO_TIME_BYTES, "%s.%06lldZ", day, (long long)(us % 1000000));
}

void audit_paris_time(int64_t us, const char *format, const char *before_offset, char out[AUDIT_PARIS_TIME_BYTES])
{
	int64_t s = us / 1000000;
	int32_t offset = proj_paris_offset_s(s);
	time_t local = (time_t)(s + offset);
	struct tm tm;
	gmtime_r(&local, &tm);
	char day[32];
	if (strftime(day, sizeof day, format, &tm) == 0)
		day[0] = '\0';
	snprintf(out, AUDIT_PARIS_TIME_BYTES, "%s%s+%02d:00", day, before_offset, offset / 3600);
}

void audit_json_string(FILE *out, const char *s, size_t n)
{
	fputc('"', out);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", out);
		else if (c < 0x20)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

char *audit_read_text(const char *path, size_t max, size_t *bytes)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		fprintf(stderr, "ledger-audit: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	char *buf = malloc(max + 1);
	size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
	bool too_big = n > max, failed = ferror(f) != 0;
	fclose(f);
	if (!buf || too_big || failed) {
		fprintf(stderr, "ledger-audit: %s: %s\n", path,
		        !buf      ? "out of memory"
		        : too_big ? "too large"
		                  : "cannot be read");
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*bytes = n;
	return buf;
}
