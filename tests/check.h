/*
 * check.h: the assertions of the C tests. A failed CHECK prints where and what, counts the
 * failure and carries on, so one run shows every broken case; the test exits 1 if any failed.
 */
#ifndef TESTS_CHECK_H
#define TESTS_CHECK_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
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

/* A decimal argument of a test program in [min, max]; false (and *out unchanged) otherwise. */
static inline bool check_parse_int(const char *s, long min, long max, int *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return false;
	*out = (int)v;
	return true;
}

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
