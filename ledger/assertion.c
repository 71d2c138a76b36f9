/*
 * assertion.c: the one place an assertion failure is reported (ledger/assertion.h).
 */
#include "assertion.h"

#include <stdio.h>
#include <stdlib.h>

void ledger_assert_fail(const char *file, int line, const char *expr, const char *fmt, ...)
{
	fprintf(stderr, "%s:%d: assertion failed: %s", file, line, expr);
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		fputs(" (", stderr);
		vfprintf(stderr, fmt, ap);
		fputc(')', stderr);
		va_end(ap);
	}
	fputc('\n', stderr);
	fflush(stderr);
	abort();
}
