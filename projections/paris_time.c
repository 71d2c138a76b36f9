/*
 * paris_time.c: Paris civil time, computed, never read from the process.
 *
 * Delegation expiry dates, collection deadlines and certificate dates are Paris days, and the
 * statistics are filed under Paris months. The domain used to pin the process time zone
 * (the TZ variable) and call mktime/localtime: a hidden input shared by every thread, which a fold
 * must not have. Here the offset is computed from the rule France follows (the EU rule):
 * UTC+1, and UTC+2 from the last Sunday of March at 01:00 UTC to the last Sunday of October at
 * 01:00 UTC. From 1981 to 1995 summer time ended on the last Sunday of September (same hour).
 * Before 1981 the offset is taken as UTC+1 all year (tzdata has summer time in 1976-1980).
 * docs/paris-time.md says why a rule and not the zoneinfo file, and the limits; the unit test
 * compares every hour from 1981 to 2037 with the system's tz database.
 */
#include "assertion.h"
#include "domain.h"

#include <stdio.h>
#include <string.h>

#define SECONDS_PER_DAY      86400
#define PARIS_WINTER_S       3600 /* UTC+1 */
#define PARIS_SUMMER_S       7200 /* UTC+2 */
#define SUMMER_TIME_RULES_Y0 1981 /* the first year the EU rule (or its September variant) applies */
#define OCTOBER_END_Y0       1996 /* summer time ends in October from this year on */
#define CIVIL_YEAR_MIN       1970
#define CIVIL_YEAR_MAX       9999

/* Floor division, for instants before 1970 and days before the epoch. */
static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static bool leap_year(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return m == 2 && leap_year(y) ? 29 : days[m - 1];
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (the era-of-400-years
 * method: March-based years put the leap day last). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = floor_div(y, 400);
	int64_t year_of_era = y - era * 400;
	int64_t day_of_year = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
	return era * 146097 + day_of_era - 719468;
}

/* The inverse of days_from_civil. */
static void civil_from_days(int64_t days, int64_t *y, int *m, int *d)
{
	days += 719468;
	int64_t era = floor_div(days, 146097);
	int64_t day_of_era = days - era * 146097;
	int64_t year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
	int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
	int64_t mp = (5 * day_of_year + 2) / 153;
	*d = (int)(day_of_year - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = year_of_era + era * 400 + (*m <= 2);
}

/* 0 for Sunday. 1970-01-01 was a Thursday. */
static int weekday_of(int64_t days)
{
	return (int)(days - 7 * floor_div(days + 4, 7) + 4);
}

/* The instant (seconds since the epoch) of 01:00 UTC on the last Sunday of month m of year y. */
static int64_t last_sunday_0100_utc(int64_t y, int m)
{
	int64_t last = days_from_civil(y, m, days_in_month(y, m));
	int64_t sunday = last - weekday_of(last);
	return sunday * SECONDS_PER_DAY + 3600;
}

int32_t proj_paris_offset_s(int64_t utc_s)
{
	int64_t y;
	int m, d;
	civil_from_days(floor_div(utc_s, SECONDS_PER_DAY), &y, &m, &d);
	if (y < SUMMER_TIME_RULES_Y0)
		return PARIS_WINTER_S;
	int64_t starts = last_sunday_0100_utc(y, 3);
	int64_t ends = last_sunday_0100_utc(y, y >= OCTOBER_END_Y0 ? 10 : 9);
	return utc_s >= starts && utc_s < ends ? PARIS_SUMMER_S : PARIS_WINTER_S;
}

/* Parses exactly YYYY-MM-DD (digits only) of a day that exists. */
static bool parse_date(const char *date, int64_t *y, int *m, int *d)
{
	if (strlen(date) != 10 || date[4] != '-' || date[7] != '-')
		return false;
	for (size_t i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (date[i] < '0' || date[i] > '9'))
			return false;
	*y = (date[0] - '0') * 1000 + (date[1] - '0') * 100 + (date[2] - '0') * 10 + (date[3] - '0');
	*m = (date[5] - '0') * 10 + (date[6] - '0');
	*d = (date[8] - '0') * 10 + (date[9] - '0');
	return *y >= CIVIL_YEAR_MIN && *y <= CIVIL_YEAR_MAX && *m >= 1 && *m <= 12 && *d >= 1 &&
	       *d <= days_in_month(*y, *m);
}

bool proj_date_end_us(const char *date, int64_t *end_us)
{
	int64_t y;
	int m, d;
	if (!parse_date(date, &y, &m, &d))
		return false; /* 2027-02-30 and the like */
	/* The day ends at the next day's Paris midnight. The offset changes at 02:00 or 03:00 Paris
	 * time, never at midnight, so midnight has exactly one UTC instant: the one whose offset,
	 * tried as summer time, agrees with itself. */
	int64_t midnight_local_s = (days_from_civil(y, m, d) + 1) * SECONDS_PER_DAY;
	int64_t as_summer_s = midnight_local_s - PARIS_SUMMER_S;
	int64_t utc_s =
	    proj_paris_offset_s(as_summer_s) == PARIS_SUMMER_S ? as_summer_s : midnight_local_s - PARIS_WINTER_S;
	LEDGER_ASSERT_MSG(utc_s + proj_paris_offset_s(utc_s) == midnight_local_s, "%s: midnight at %lld s", date,
	                  (long long)utc_s);
	*end_us = utc_s * 1000000;
	return true;
}

void proj_paris_date(int64_t now_us, int years_ahead, char out[11])
{
	int64_t utc_s = floor_div(now_us, 1000000);
	int64_t y;
	int m, d;
	civil_from_days(floor_div(utc_s + proj_paris_offset_s(utc_s), SECONDS_PER_DAY), &y, &m, &d);
	y += years_ahead;
	if (m == 2 && d == 29 && !leap_year(y))
		d = 28;
	/* Bounded so the compiler can see the 10 characters fit. */
	unsigned yy = (unsigned)(y % 10000), mm = (unsigned)m % 100u, dd = (unsigned)d % 100u;
	snprintf(out, 11, "%04u-%02u-%02u", yy, mm, dd);
}
