/*
 * text.c: the encoding of text lists (.csv, .txt): UTF-8, or Windows-1252 converted with iconv.
 */
#include "internal.h"

#include <csv.h>
#include <errno.h>
#include <fcntl.h>
#include <freexl.h>
#include <iconv.h>
#include <libxml/xmlreader.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zip.h>

/* ----- text: encoding (.csv and .txt) ----- */

/* Converts in[0..n) from charset `from` to a NUL-terminated UTF-8 copy. On a byte that is not
 * of that charset returns EILSEQ with its offset in *bad_at. */
static int iconv_to_utf8(const char *from, const uint8_t *in, size_t n, char **out, size_t *out_n, size_t *bad_at)
{
	iconv_t cd = iconv_open("UTF-8", from);
	if (cd == (iconv_t)-1)
		return errno ? errno : EINVAL;
	size_t capacity = 3 * n + 1; /* Windows-1252 -> 3 bytes at most; UTF-16 -> 1.5x */
	char *buf = malloc(capacity);
	if (!buf) {
		iconv_close(cd);
		return ENOMEM;
	}
	char *ip = (char *)in, *op = buf;
	size_t il = n, ol = capacity - 1;
	int rc = 0;
	if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1 || iconv(cd, NULL, NULL, &op, &ol) == (size_t)-1)
		rc = errno == E2BIG ? ENOMEM : EILSEQ;
	iconv_close(cd);
	if (rc) {
		*bad_at = (size_t)(ip - (char *)in);
		free(buf);
		return rc;
	}
	*op = '\0';
	*out = buf;
	*out_n = (size_t)(op - buf);
	return 0;
}

/* Refuses NUL and control bytes other than tab, CR and LF: the mark of a binary file. */
static import_err text_check_controls(parse *p, const char *s, size_t n)
{
	size_t line = 1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\n')
			line++;
		if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f)
			return import_fail(p, IMPORT_ERR_TYPE, "line %zu: control byte 0x%02x: not a text file", line,
			                   c);
	}
	return IMPORT_OK;
}

/*
 * The text of a .csv or .txt as UTF-8 (*out, to free). The encoding is the BOM's if there is
 * one (UTF-8, or UTF-16 as Excel's "Unicode text"), else UTF-8 if the bytes are valid UTF-8,
 * else Windows-1252 (what French Excel writes as "CSV (separator: semicolon)"). glibc's iconv
 * does the decoding and rejects overlong forms, surrogates and undefined bytes.
 */
import_err import_text_decode(parse *p, const uint8_t *bytes, size_t n, char **out, size_t *out_n)
{
	const char *from = "UTF-8";
	bool bom = true;
	if (n >= 3 && memcmp(bytes, "\xef\xbb\xbf", 3) == 0)
		bytes += 3, n -= 3;
	else if (n >= 2 && memcmp(bytes, "\xff\xfe", 2) == 0)
		from = "UTF-16LE", bytes += 2, n -= 2;
	else if (n >= 2 && memcmp(bytes, "\xfe\xff", 2) == 0)
		from = "UTF-16BE", bytes += 2, n -= 2;
	else
		bom = false;
	size_t bad_at = 0;
	int rc = iconv_to_utf8(from, bytes, n, out, out_n, &bad_at);
	if (rc == EILSEQ && !bom)
		rc = iconv_to_utf8(from = "WINDOWS-1252", bytes, n, out, out_n, &bad_at);
	if (rc == ENOMEM)
		return import_fail(p, IMPORT_ERR_NOMEM, "out of memory decoding the text");
	if (rc)
		return import_fail(p, IMPORT_ERR_TYPE, "byte %zu (0x%02x) is %s: not a text file", bad_at,
		                   bad_at < n ? bytes[bad_at] : 0,
		                   bom ? "not of the encoding its BOM says" : "neither UTF-8 nor Windows-1252");
	if (text_check_controls(p, *out, *out_n)) {
		free(*out);
		*out = NULL;
		return p->err;
	}
	return IMPORT_OK;
}
