/*
 * error.c: the names of tlog_err and the thread's last error message.
 */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static _Thread_local char last_error[256];

const char *tlog_strerror(tlog_err err)
{
	switch (err) {
	case TLOG_OK: return "ok";
	case TLOG_ERR_INVALID: return "invalid argument";
	case TLOG_ERR_RANGE: return "index or size out of range";
	case TLOG_ERR_NOT_FOUND: return "subtree hash not in the store";
	case TLOG_ERR_STORE: return "subtree store failed";
	case TLOG_ERR_NOMEM: return "out of memory";
	case TLOG_ERR_BUFFER_TOO_SMALL: return "output buffer too small";
	case TLOG_ERR_TOO_LARGE: return "input over its size limit";
	case TLOG_ERR_PROOF: return "proof does not verify";
	case TLOG_ERR_MALFORMED: return "malformed text";
	case TLOG_ERR_BAD_SIGNATURE: return "signature by a known key does not verify";
	case TLOG_ERR_NO_SIGNATURE: return "no signature by a required key";
	case TLOG_ERR_DUPLICATE_SIGNATURE: return "one key signed twice";
	}
	return "unknown tlog error";
}

const char *tlog_last_error(void)
{
	return last_error;
}

tlog_err tlog_fail(tlog_err err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(last_error, sizeof last_error, fmt, ap);
	va_end(ap);
	return err;
}

void tlog_assert_fail(const char *file, int line, const char *expr)
{
	fprintf(stderr, "%s:%d: assertion failed: %s\n", file, line, expr);
	fflush(stderr);
	abort();
}
