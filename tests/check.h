/*
 * check.h: the assertions of the C tests. A failed CHECK prints where and what, counts the
 * failure and carries on, so one run shows every broken case; the test exits 1 if any failed.
 */
#ifndef TESTS_CHECK_H
#define TESTS_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failures;
static int check_count;

#define CHECK(cond, ...)                                                                                               \
	do {                                                                                                           \
		check_count++;                                                                                         \
		if (!(cond)) {                                                                                         \
			check_failures++;                                                                              \
			fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond);                       \
			fprintf(stderr, __VA_ARGS__);                                                                  \
			fputc('\n', stderr);                                                                           \
		}                                                                                                      \
	} while (0)

/* Fatal: the rest of the test cannot run. */
#define REQUIRE(cond, ...)                                                                                             \
	do {                                                                                                           \
		int required_ = !!(cond); /* evaluated once: cond may have effects */                                  \
		CHECK(required_, __VA_ARGS__);                                                                         \
		if (!required_)                                                                                        \
			return check_report(__FILE__);                                                                 \
	} while (0)

/* Fatal inside a void function. */
#define REQUIRE_VOID(cond)                                                                                             \
	do {                                                                                                           \
		int required_ = !!(cond);                                                                              \
		CHECK(required_, "%s", #cond);                                                                         \
		if (!required_)                                                                                        \
			return;                                                                                        \
	} while (0)

static inline int check_report(const char *name)
{
	printf("%s: %d checks, %d failed\n", name, check_count, check_failures);
	return check_failures ? 1 : 0;
}

#endif
