/*
 * paris_time_test.c: Paris time as projections/paris_time.c computes it, without the process
 * time zone. Two properties: the instants around each summer-time change are the ones the law
 * gives (last Sunday of March and of October, 01:00 UTC), and the computed offset agrees with
 * the system's tz database (Europe/Paris, read here through TZ, which only the test sets) at
 * every hour from 1981, when the EU rule began, to 2037.
 */
#include "../check.h"
#include "projections.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t utc_s(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = s};
	return (int64_t)timegm(&tm);
}

/* The offset flips exactly at 01:00 UTC on the change's Sunday, not a second earlier. */
static void test_changes(void)
{
	const struct {
		int y, mo, d;
		int32_t before, after;
	} changes[] = {
	    {2026, 3, 29, 3600, 7200},  {2026, 10, 25, 7200, 3600}, {2027, 3, 28, 3600, 7200},
	    {2027, 10, 31, 7200, 3600}, {2024, 3, 31, 3600, 7200},  {2024, 10, 27, 7200, 3600},
	    {1995, 9, 24, 7200, 3600}, /* before 1996, summer time ended in September */
	};
	for (size_t i = 0; i < sizeof changes / sizeof changes[0]; i++) {
		int64_t at = utc_s(changes[i].y, changes[i].mo, changes[i].d, 1, 0, 0);
		CHECK(proj_paris_offset_s(at - 1) == changes[i].before, "%d-%02d-%02d 00:59:59Z: %d", changes[i].y,
		      changes[i].mo, changes[i].d, proj_paris_offset_s(at - 1));
		CHECK(proj_paris_offset_s(at) == changes[i].after, "%d-%02d-%02d 01:00:00Z: %d", changes[i].y,
		      changes[i].mo, changes[i].d, proj_paris_offset_s(at));
	}
}

/* Days and their ends around the changes: a day ends at the next Paris midnight. */
static void test_day_ends(void)
{
	const struct {
		const char *date;
		int64_t end_s;
	} days[] = {
	    {"2026-03-28", utc_s(2026, 3, 28, 23, 0, 0)}, /* the next midnight is still winter time */
	    {"2026-03-29", utc_s(2026, 3, 29, 22, 0, 0)}, /* a 23-hour day */
	    {"2026-10-24", utc_s(2026, 10, 24, 22, 0, 0)},
	    {"2026-10-25", utc_s(2026, 10, 25, 23, 0, 0)}, /* a 25-hour day */
	    {"2028-02-29", utc_s(2028, 2, 29, 23, 0, 0)},
	    {"2026-12-31", utc_s(2026, 12, 31, 23, 0, 0)},
	};
	for (size_t i = 0; i < sizeof days / sizeof days[0]; i++) {
		int64_t end_us = 0;
		CHECK(proj_date_end_us(days[i].date, &end_us) && end_us == days[i].end_s * 1000000,
		      "end of %s: %lld, expected %lld", days[i].date, (long long)end_us,
		      (long long)days[i].end_s * 1000000);
	}
	const char *bad[] = {"2027-02-29", "2026-04-31", "2026-13-01", "2026-00-10", "1969-12-31",
	                     "2026-1-01",  "2026-01-1x", "+026-01-01", " 2026-01-1", ""};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int64_t end_us = 42;
		CHECK(!proj_date_end_us(bad[i], &end_us) && end_us == 42, "\"%s\" refused, nothing written", bad[i]);
	}
}

/* The Paris date of instants on either side of midnight and of the changes. */
static void test_dates(void)
{
	const struct {
		int64_t at_s;
		int years_ahead;
		const char *date;
	} cases[] = {
	    {utc_s(2026, 3, 28, 22, 59, 59), 0, "2026-03-28"},  {utc_s(2026, 3, 28, 23, 0, 0), 0, "2026-03-29"},
	    {utc_s(2026, 3, 29, 21, 59, 59), 0, "2026-03-29"},  {utc_s(2026, 3, 29, 22, 0, 0), 0, "2026-03-30"},
	    {utc_s(2026, 10, 24, 21, 59, 59), 0, "2026-10-24"}, {utc_s(2026, 10, 24, 22, 0, 0), 0, "2026-10-25"},
	    {utc_s(2026, 10, 25, 22, 59, 59), 0, "2026-10-25"}, {utc_s(2026, 10, 25, 23, 0, 0), 0, "2026-10-26"},
	    {utc_s(2028, 2, 29, 12, 0, 0), 1, "2029-02-28"}, /* Feb 29 -> Feb 28 */
	    {utc_s(2028, 2, 29, 12, 0, 0), 4, "2032-02-29"},    {utc_s(2026, 12, 31, 23, 0, 0), 10, "2037-01-01"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char date[11];
		proj_paris_date(cases[i].at_s * 1000000, cases[i].years_ahead, date);
		CHECK(strcmp(date, cases[i].date) == 0, "case %zu: %s, expected %s", i, date, cases[i].date);
	}
}

/* Every hour from 1981 to 2037 against the system's tz database: the rule is tzdata's. */
static void test_against_tzdata(void)
{
	REQUIRE_VOID(setenv("TZ", "Europe/Paris", 1) == 0);
	tzset();
	struct tm probe;
	time_t winter = (time_t)utc_s(2024, 1, 15, 12, 0, 0);
	localtime_r(&winter, &probe);
	CHECK(probe.tm_gmtoff == 3600, "the tz database has no Europe/Paris (install tzdata)");
	if (probe.tm_gmtoff != 3600)
		return;
	size_t disagreements = 0;
	for (int64_t t = utc_s(1981, 1, 1, 0, 0, 0); t < utc_s(2038, 1, 1, 0, 0, 0); t += 3600) {
		time_t tt = (time_t)t;
		struct tm local;
		localtime_r(&tt, &local);
		if (local.tm_gmtoff != proj_paris_offset_s(t) && disagreements++ < 5)
			CHECK(false, "at %lld: tzdata %ld, computed %d", (long long)t, local.tm_gmtoff,
			      proj_paris_offset_s(t));
		char expected[11], computed[11];
		if (local.tm_hour == 0 || local.tm_hour == 23) { /* the dates around midnight */
			strftime(expected, sizeof expected, "%Y-%m-%d", &local);
			proj_paris_date(t * 1000000, 0, computed);
			if (strcmp(expected, computed) != 0 && disagreements++ < 5)
				CHECK(false, "at %lld: tzdata's date %s, computed %s", (long long)t, expected,
				      computed);
		}
	}
	CHECK(disagreements == 0, "%zu hours where tzdata and the rule disagree", disagreements);
}

int main(void)
{
	test_changes();
	test_day_ends();
	test_dates();
	test_against_tzdata(); /* last: it sets TZ, which nothing before may depend on */
	return check_report(__FILE__);
}
