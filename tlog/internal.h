/*
 * internal.h: what the files of tlog/ share and nobody else sees: the error message setter
 * and assertions that stay on in every build (as ledger/assertion.h, which tlog/ does not
 * depend on: it is a library of its own).
 */
#ifndef TLOG_INTERNAL_H
#define TLOG_INTERNAL_H

#include "tlog.h"

/* Records why the current call fails (printf-style) for tlog_last_error(), returns err. */
tlog_err tlog_fail(tlog_err err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints "file:line: assertion failed: expr" to stderr and aborts. Never returns. */
_Noreturn void tlog_assert_fail(const char *file, int line, const char *expr);

/* An invariant of this code (never bad input: input gets a typed error). */
#define TLOG_ASSERT(cond)                                                                                              \
	do {                                                                                                           \
		if (__builtin_expect(!(cond), 0))                                                                      \
			tlog_assert_fail(__FILE__, __LINE__, #cond);                                                   \
	} while (0)

/* Key names and checkpoint origins: non-empty, at most TLOG_NAME_BYTES_MAX bytes of UTF-8,
 * no Unicode space, no '+', no control character. */
bool tlog_name_valid(const char *name, size_t name_bytes);

/* Valid UTF-8 with no control character below U+0020 other than '\n'. On failure *bad_offset
 * is the offset of the first offending byte. */
bool tlog_text_valid(const char *text, size_t text_bytes, size_t *bad_offset);

#endif
