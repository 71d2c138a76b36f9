/*
 * utf8.h: the fuzzers' oracle for "is this UTF-8": well-formed sequences of one to four bytes,
 * nothing more (overlongs and surrogates pass). Written apart from the checks of the code under
 * test on purpose: an oracle that shared their code would share their bugs. Header-only, as
 * the fuzz targets compile their sources one by one.
 */
#ifndef TESTS_SUPPORT_UTF8_H
#define TESTS_SUPPORT_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* How many bytes the sequence that lead starts has: 1 to 4, 0 when lead cannot start one. */
static inline size_t utf8_sequence_bytes(unsigned char lead)
{
	if (lead < 0x80)
		return 1;
	if (lead < 0xc0)
		return 0; /* a continuation byte */
	if (lead < 0xe0)
		return 2;
	if (lead < 0xf0)
		return 3;
	return lead < 0xf8 ? 4 : 0;
}

/* True if the n bytes at text are whole UTF-8 sequences. */
static inline bool utf8_valid(const void *text, size_t n)
{
	const unsigned char *s = text;
	size_t i = 0;
	while (i < n) {
		size_t bytes = utf8_sequence_bytes(s[i]);
		if (bytes == 0 || bytes > n - i)
			return false;
		for (size_t k = i + 1; k < i + bytes; k++)
			if (s[k] < 0x80 || s[k] >= 0xc0)
				return false;
		i += bytes;
	}
	return true;
}

#endif
