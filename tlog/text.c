/*
 * text.c: the text rules of the C2SP formats: UTF-8 without control characters, key names
 * (no Unicode space, no '+'), and strict base64 (RFC 4648 §4, padded, canonical) so that one
 * value has exactly one spelling in a note.
 */
#include "internal.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* Decodes one UTF-8 sequence at s[0, n); 0 if it is not valid (overlong, surrogate, past
 * U+10FFFF, truncated), else its length, with the code point in *cp. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	size_t len;
	uint32_t min, c;
	if ((s[0] & 0xE0) == 0xC0) {
		len = 2, min = 0x80, c = s[0] & 0x1F;
	} else if ((s[0] & 0xF0) == 0xE0) {
		len = 3, min = 0x800, c = s[0] & 0x0F;
	} else if ((s[0] & 0xF8) == 0xF0) {
		len = 4, min = 0x10000, c = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3F);
	}
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	*cp = c;
	return len;
}

/* Unicode's White_Space property (what Go's unicode.IsSpace also answers). */
static bool unicode_space(uint32_t c)
{
	return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
	       (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

bool tlog_text_valid(const char *text, size_t text_bytes, size_t *bad_offset)
{
	const unsigned char *s = (const unsigned char *)text;
	for (size_t i = 0; i < text_bytes;) {
		uint32_t c;
		size_t len = utf8_decode(s + i, text_bytes - i, &c);
		if (len == 0 || (c < 0x20 && c != '\n')) {
			*bad_offset = i;
			return false;
		}
		i += len;
	}
	return true;
}

bool tlog_name_valid(const char *name, size_t name_bytes)
{
	if (name_bytes == 0 || name_bytes > TLOG_NAME_BYTES_MAX)
		return false;
	const unsigned char *s = (const unsigned char *)name;
	for (size_t i = 0; i < name_bytes;) {
		uint32_t c;
		size_t len = utf8_decode(s + i, name_bytes - i, &c);
		if (len == 0 || c < 0x20 || c == 0x7F || c == '+' || unicode_space(c))
			return false;
		i += len;
	}
	return true;
}

tlog_err tlog_base64_encode(const uint8_t *bin, size_t bin_bytes, char *out, size_t cap)
{
	if (!out || (!bin && bin_bytes))
		return tlog_fail(TLOG_ERR_INVALID, "tlog_base64_encode: NULL argument");
	if (bin_bytes > (SIZE_MAX / 4) * 3 - 3 ||
	    cap < sodium_base64_ENCODED_LEN(bin_bytes, sodium_base64_VARIANT_ORIGINAL))
		return tlog_fail(TLOG_ERR_BUFFER_TOO_SMALL, "base64 of %zu bytes does not fit in %zu", bin_bytes, cap);
	sodium_bin2base64(out, cap, bin, bin_bytes, sodium_base64_VARIANT_ORIGINAL);
	return TLOG_OK;
}

/* libsodium's decoder accepts stray bits in the last character; re-encoding and comparing
 * refuses every non-canonical spelling (and any character outside the alphabet). */
tlog_err tlog_base64_decode(const char *text, size_t text_bytes, uint8_t *out, size_t cap, size_t *out_bytes)
{
	if (!text || !out || !out_bytes)
		return tlog_fail(TLOG_ERR_INVALID, "tlog_base64_decode: NULL argument");
	const char *end = NULL;
	size_t decoded = 0;
	if (text_bytes == 0 || text_bytes % 4 != 0 ||
	    sodium_base642bin(out, cap, text, text_bytes, NULL, &decoded, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != text + text_bytes)
		return tlog_fail(TLOG_ERR_MALFORMED, "not padded base64 of at most %zu bytes: \"%.*s\"", cap,
		                 (int)(text_bytes > 80 ? 80 : text_bytes), text);
	char again[sodium_base64_ENCODED_LEN(96, sodium_base64_VARIANT_ORIGINAL)];
	char *check = again;
	char *allocated = NULL;
	size_t check_cap = sodium_base64_ENCODED_LEN(decoded, sodium_base64_VARIANT_ORIGINAL);
	if (check_cap > sizeof again) {
		allocated = malloc(check_cap);
		if (!allocated)
			return tlog_fail(TLOG_ERR_NOMEM, "base64 check of %zu bytes", decoded);
		check = allocated;
	}
	sodium_bin2base64(check, check_cap, out, decoded, sodium_base64_VARIANT_ORIGINAL);
	bool canonical = strlen(check) == text_bytes && memcmp(check, text, text_bytes) == 0;
	if (allocated)
		free(allocated);
	if (!canonical)
		return tlog_fail(TLOG_ERR_MALFORMED, "non-canonical base64: \"%.*s\"",
		                 (int)(text_bytes > 80 ? 80 : text_bytes), text);
	*out_bytes = decoded;
	return TLOG_OK;
}
