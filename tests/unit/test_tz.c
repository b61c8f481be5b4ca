// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_tz.c - natural days: day_of() around midnight in Asia/Shanghai
 * (UTC+8, no DST), UTC and Europe/Berlin (DST days of 23 and 25 hours),
 * day_next(), calendar checks, and a sweep compared with the C library's
 * localtime_r() as an independent oracle (the only place TZ is set).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "ledger/ledger.h"
#include "lib/util.h"
#include "ledger/tz.h"

static struct tz *load(const char *name)
{
	struct tz *tz = NULL;

	assert_int_equal(tz_load(&tz, name), 0);
	assert_non_null(tz);
	return tz;
}

static void test_day_of(void **state)
{
	static const struct {
		const char *zone;
		time_t t;
		const char *day;
	} cases[] = {
		/* 2024-05-31T15:59:59Z is 23:59:59 in Shanghai, one second
		 * later it is midnight of June 1st. */
		{ "Asia/Shanghai", 1717171199, "2024-05-31" },
		{ "Asia/Shanghai", 1717171200, "2024-06-01" },
		{ "UTC", 1717171199, "2024-05-31" },
		{ "UTC", 1717171200, "2024-05-31" },
		{ "UTC", 1717199999, "2024-05-31" },
		{ "UTC", 1717200000, "2024-06-01" },
		/* Month and year ends in Shanghai: 2023-12-31T16:00:00Z. */
		{ "Asia/Shanghai", 1704038399, "2023-12-31" },
		{ "Asia/Shanghai", 1704038400, "2024-01-01" },
		/* Leap day. */
		{ "Asia/Shanghai", 1709136000, "2024-02-29" },
		{ "Asia/Shanghai", 1709222399, "2024-02-29" },
		{ "Asia/Shanghai", 1709222400, "2024-03-01" },
		{ "UTC", 0, "1970-01-01" },
		{ "UTC", -1, "1969-12-31" },
		/* Berlin, 2024-03-31: 02:00 CET becomes 03:00 CEST, a day of
		 * 23 hours. Midnight before it is 23:00Z of the 30th, the
		 * midnight after it 22:00Z of the 31st. */
		{ "Europe/Berlin", 1711839599, "2024-03-30" },
		{ "Europe/Berlin", 1711839600, "2024-03-31" },
		{ "Europe/Berlin", 1711846799, "2024-03-31" },	/* 01:59:59 */
		{ "Europe/Berlin", 1711846800, "2024-03-31" },	/* 03:00 */
		{ "Europe/Berlin", 1711922399, "2024-03-31" },
		{ "Europe/Berlin", 1711922400, "2024-04-01" },
		/* 2024-10-27: 03:00 CEST becomes 02:00 CET, 25 hours; it
		 * starts at 22:00Z of the 26th and ends at 23:00Z. */
		{ "Europe/Berlin", 1729979999, "2024-10-26" },
		{ "Europe/Berlin", 1729980000, "2024-10-27" },
		{ "Europe/Berlin", 1730069999, "2024-10-27" },
		{ "Europe/Berlin", 1730070000, "2024-10-28" },
		/* 2050, past the file's table: the footer's rule decides.
		 * 2050-03-27 is the last Sunday of March. */
		{ "Europe/Berlin", 2531948399, "2050-03-26" },
		{ "Europe/Berlin", 2531948400, "2050-03-27" },
	};
	char day[LEDGER_DAY_SIZE];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tz *tz = load(cases[i].zone);

		assert_int_equal(day_of(cases[i].t, tz, day, sizeof(day)), 0);
		if (strcmp(day, cases[i].day))
			fail_msg("day_of(%lld, %s) = %s, want %s",
				 (long long)cases[i].t, cases[i].zone, day,
				 cases[i].day);
		tz_free(tz);
	}
}

static void test_day_next(void **state)
{
	static const struct {
		const char *zone;
		time_t t, next;
	} cases[] = {
		{ "Asia/Shanghai", 1717171199, 1717171200 },
		{ "Asia/Shanghai", 1717171200, 1717257600 },
		{ "Asia/Shanghai", 1717100000, 1717171200 },
		{ "UTC", 1717171200, 1717200000 },
		/* 23 and 25 hour days */
		{ "Europe/Berlin", 1711839600, 1711922400 },
		{ "Europe/Berlin", 1729980000, 1730070000 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tz *tz = load(cases[i].zone);
		time_t next = 0;

		assert_int_equal(day_next(cases[i].t, tz, &next), 0);
		if (next != cases[i].next)
			fail_msg("day_next(%lld, %s) = %lld, want %lld",
				 (long long)cases[i].t, cases[i].zone,
				 (long long)next, (long long)cases[i].next);
		tz_free(tz);
	}
}

/* Every 20 minutes or so over years of the table and the rule, against
 * the C library with TZ set to the same zone. */
static void test_against_libc(void **state)
{
	static const char *const zones[] = {
		"Asia/Shanghai", "Europe/Berlin", "America/New_York",
		"Australia/Sydney", "America/Sao_Paulo", "Asia/Kolkata",
		"Pacific/Chatham", "UTC",
	};
	char *old = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
	size_t z;

	for (z = 0; z < sizeof(zones) / sizeof(zones[0]); z++) {
		struct tz *tz = load(zones[z]);
		time_t t;

		setenv("TZ", zones[z], 1);
		tzset();
		/* 1990 to 2060 in steps of 7 hours 13 minutes 7 seconds:
		 * every hour of the day, and both sides of every change. */
		for (t = 631152000; t < 2840140800; t += 25987) {
			char mine[LEDGER_DAY_SIZE], want[LEDGER_DAY_SIZE];
			struct tm tm;

			localtime_r(&t, &tm);
			strftime(want, sizeof(want), "%Y-%m-%d", &tm);
			assert_int_equal(day_of(t, tz, mine, sizeof(mine)), 0);
			if (strcmp(mine, want))
				fail_msg("%s at %lld: %s, libc says %s",
					 zones[z], (long long)t, mine, want);
		}
		tz_free(tz);
	}
	if (old)
		setenv("TZ", old, 1);
	else
		unsetenv("TZ");
	tzset();
	free(old);
}

/* The process's TZ does not matter. */
static void test_tz_ignores_env(void **state)
{
	char day[LEDGER_DAY_SIZE];
	struct tz *tz;

	setenv("TZ", "America/Los_Angeles", 1);
	tzset();
	tz = load(NULL);	/* the default: Asia/Shanghai */
	assert_string_equal(tz_name(tz), "Asia/Shanghai");
	assert_int_equal(day_of(1717171200, tz, day, sizeof(day)), 0);
	assert_string_equal(day, "2024-06-01");
	tz_free(tz);
	unsetenv("TZ");
	tzset();
}

static void test_tz_errors(void **state)
{
	struct tz *tz = NULL;

	assert_int_equal(tz_load(&tz, "Mars/Olympus_Mons"), -ENOENT);
	assert_int_equal(tz_load(&tz, "../../etc/passwd"), -EINVAL);
	assert_int_equal(tz_load(&tz, "/etc/passwd"), -EINVAL);
	assert_int_equal(tz_load(&tz, "Europe"), -EINVAL);	/* a folder */
	assert_int_equal(tz_load(&tz, "zone1970.tab"), -EINVAL);
	assert_null(tz);
}

/* A file that is not TZif, and a TZif file cut short, under $TZDIR. */
static void test_tz_damaged(void **state)
{
	char dir[] = "/tmp/tg-tz-XXXXXX", path[256], cmd[512];
	struct tz *tz = NULL;

	assert_non_null(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd),
		 "mkdir %s/X && echo garbage > %s/X/Garbage && "
		 "head -c 100 /usr/share/zoneinfo/Europe/Berlin > %s/X/Cut && "
		 "cp /usr/share/zoneinfo/Europe/Berlin %s/X/Good",
		 dir, dir, dir, dir);
	assert_int_equal(system(cmd), 0);
	setenv("TZDIR", dir, 1);
	assert_int_equal(tz_load(&tz, "X/Garbage"), -EINVAL);
	assert_int_equal(tz_load(&tz, "X/Cut"), -EINVAL);
	assert_null(tz);
	assert_int_equal(tz_load(&tz, "X/Good"), 0);
	tz_free(tz);
	unsetenv("TZDIR");
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	assert_int_equal(system(path), 0);
}

/* A TZif version 2 file of one type (UTC) whose footer is @rule. */
static size_t tzif_with(const char *rule, unsigned char *buf)
{
	/* isutcnt, isstdcnt, leapcnt, timecnt, typecnt 1, charcnt 4 */
	static const unsigned char counts[24] = { [19] = 1, [23] = 4 };
	static const unsigned char block[] = { 0, 0, 0, 0, 0, 0,
					       'U', 'T', 'C', 0 };
	size_t n = 0, i;

	for (i = 0; i < 2; i++) {
		memcpy(buf + n, "TZif2", 5);
		memset(buf + n + 5, 0, 15);
		memcpy(buf + n + 20, counts, sizeof(counts));
		n += 44;
		memcpy(buf + n, block, sizeof(block));
		n += sizeof(block);
	}
	n += sprintf((char *)buf + n, "\n%s\n", rule);
	return n;
}

/* Footer rules: offsets of POSIX's hours 0 to 24 only (RFC 8536 widens
 * transition times, not offsets); a 51-hour one was taken before. */
static void test_tz_rules(void **state)
{
	unsigned char buf[256];
	struct tz *tz = NULL;
	char day[LEDGER_DAY_SIZE];
	__s32 off;

	assert_int_equal(tz_parse(&tz, "T", buf, tzif_with("CST-8", buf)), 0);
	assert_int_equal(tz_offset(tz, 0, &off), 0);
	assert_int_equal(off, 8 * 3600);
	tz_free(tz);
	assert_int_equal(tz_parse(&tz, "T", buf,
				  tzif_with("<-2459>+24:59:59", buf)), 0);
	assert_int_equal(tz_offset(tz, 0, &off), 0);
	assert_int_equal(off, -(24 * 3600 + 59 * 60 + 59));
	assert_int_equal(day_of(0, tz, day, sizeof(day)), 0);
	assert_string_equal(day, "1969-12-30");
	tz_free(tz);
	tz = NULL;
	assert_int_equal(tz_parse(&tz, "T", buf, tzif_with("RRR+051", buf)),
			 -EINVAL);
	assert_int_equal(tz_parse(&tz, "T", buf, tzif_with("RRR-25", buf)),
			 -EINVAL);
	assert_int_equal(tz_parse(&tz, "T", buf,
				  tzif_with("EST5EDT100,M3.2.0,M11.1.0", buf)),
			 -EINVAL);
	assert_null(tz);
	/* Transition times may pass 24 hours. */
	assert_int_equal(tz_parse(&tz, "T", buf,
				  tzif_with("EST5EDT,M3.2.0/-167,M11.1.0/167",
					    buf)),
			 0);
	tz_free(tz);
}

static void test_calendar(void **state)
{
	static const struct {
		const char *s;
		bool ok;
	} days[] = {
		{ "2024-02-29", true },	 { "2023-02-29", false },
		{ "2000-02-29", true },	 { "1900-02-29", false },
		{ "2024-12-31", true },	 { "2024-13-01", false },
		{ "2024-00-10", false }, { "2024-04-31", false },
		{ "2024-4-01", false },	 { "2024-04-01 ", false },
		{ "", false },		 { "20240401", false },
	};
	char next[LEDGER_MONTH_SIZE];
	size_t i;

	for (i = 0; i < sizeof(days) / sizeof(days[0]); i++)
		if (day_valid(days[i].s) != days[i].ok)
			fail_msg("day_valid(\"%s\") != %d", days[i].s,
				 days[i].ok);
	assert_true(month_valid("2024-05"));
	assert_false(month_valid("2024-13"));
	assert_false(month_valid("2024-5"));
	assert_int_equal(month_next("2024-12", next), 0);
	assert_string_equal(next, "2025-01");
	assert_int_equal(month_next("2024-05", next), 0);
	assert_string_equal(next, "2024-06");
	assert_int_equal(month_next("2024-5", next), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_day_of),
		cmocka_unit_test(test_day_next),
		cmocka_unit_test(test_against_libc),
		cmocka_unit_test(test_tz_ignores_env),
		cmocka_unit_test(test_tz_errors),
		cmocka_unit_test(test_tz_damaged),
		cmocka_unit_test(test_tz_rules),
		cmocka_unit_test(test_calendar),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
