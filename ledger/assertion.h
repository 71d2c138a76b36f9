/*
 * assertion.h: assertions that stay on in every build.
 *
 * assert() vanishes under NDEBUG, which every Release build defines; these do not. An
 * assertion states an invariant the code relies on (a chain's prev_hash, a legal state
 * transition, an index within its array): when one fails, the process is already wrong, so it
 * aborts at once, naming the file, the line, the condition and the values, rather than go on
 * and write something false to the log. Use them in pairs where it matters: a precondition on
 * entry, a postcondition on exit (TigerStyle). Never for bad input: input gets a typed error.
 *
 *   LEDGER_ASSERT(cond)                  cond must hold
 *   LEDGER_ASSERT_MSG(cond, fmt, ...)    same, and prints the values that explain the failure
 *
 * The condition is evaluated exactly once, in every build: it must have no side effect a
 * reader would miss.
 */
#ifndef LEDGER_ASSERTION_H
#define LEDGER_ASSERTION_H

#include <stdarg.h>

/* Prints "file:line: assertion failed: expr" and, when fmt is not NULL, the formatted
 * values, to stderr; then abort(). Never returns. */
_Noreturn void ledger_assert_fail(const char *file, int line, const char *expr, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define LEDGER_ASSERT(cond)                                                                                            \
	do {                                                                                                           \
		if (__builtin_expect(!(cond), 0))                                                                      \
			ledger_assert_fail(__FILE__, __LINE__, #cond, NULL);                                           \
	} while (0)

#define LEDGER_ASSERT_MSG(cond, ...)                                                                                   \
	do {                                                                                                           \
		if (__builtin_expect(!(cond), 0))                                                                      \
			ledger_assert_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);                                    \
	} while (0)

#endif
