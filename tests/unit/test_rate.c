// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_rate.c - golden bills worked out by hand from the billing rules
 * (JD Cloud, seed 000; Tencent, seed 002), rounding modes at exact
 * midpoints, exact decimal prices, plans and their errors, and `tollgate
 * rate` end to end over ledger files: one free allowance across hosts,
 * the same record in two files counted once.
 *
 * JD Cloud, by hand: calls are free up to 1,000,000 per tenant per month;
 * the rest is billed per 10,000, a partial 10,000 as a whole one, at 0.04;
 * outbound traffic at 0.80 per GB (1 GB = 1024^3 bytes here), settled per
 * natural day (Asia/Shanghai), intranet traffic free.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <json-c/json.h>

#include "rate/rate.h"
#include "tmpdir.h"
#include "ledger/tz.h"
#include "cmd/cmd.h"
#include "rate/bill.h"

#define GiB 1073741824ULL

static struct ledger_usage row(const char *host, const char *tenant,
			       const char *day, const char *type, __u64 bytes,
			       __u64 calls)
{
	struct ledger_usage r = { .bytes = bytes, .calls = calls };

	snprintf(r.k.host, sizeof(r.k.host), "%s", host);
	snprintf(r.k.tenant, sizeof(r.k.tenant), "%s", tenant);
	snprintf(r.k.day, sizeof(r.k.day), "%s", day);
	snprintf(r.k.service, sizeof(r.k.service), "api");
	snprintf(r.k.traffic_type, sizeof(r.k.traffic_type), "%s", type);
	return r;
}

static struct plan load_plan(const char *name)
{
	struct plan p;

	assert_int_equal(plan_load(&p, name), 0);
	return p;
}

static void test_calls_golden(void **state)
{
	static const struct {
		__u64 calls;
		__u64 units;
		__u64 cents;
	} cases[] = {
		/* 0 billed: 0 units: 0.00 */
		{ 0, 0, 0 },
		{ 999999, 0, 0 },
		/* exactly the free allowance: 0.00 */
		{ 1000000, 0, 0 },
		/* 1 billed call is a partial unit, charged whole: 0.04 */
		{ 1000001, 1, 4 },
		/* 10,000 billed: exactly one unit: 0.04 */
		{ 1010000, 1, 4 },
		/* 10,001 billed: one unit and a partial one: 2 x 0.04 */
		{ 1010001, 2, 8 },
		/* 12,000,000: 11,000,000 billed = 1,100 units x 0.04 = 44.00 */
		{ 12000000, 1100, 4400 },
	};
	struct plan p = load_plan("jdcloud");
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ledger_usage r = row("gw1", "acme", "2024-06-10",
					    "outbound_client", 0,
					    cases[i].calls);
		struct bill b;

		assert_int_equal(rate_month(&p, "2024-06", &r, 1, &b), 0);
		assert_int_equal(b.nr_tenants, 1);
		if (b.tenants[0].units != cases[i].units ||
		    b.tenants[0].calls_cents != cases[i].cents)
			fail_msg("%llu calls: %llu units, %llu cents; want "
				 "%llu, %llu",
				 (unsigned long long)cases[i].calls,
				 (unsigned long long)b.tenants[0].units,
				 (unsigned long long)b.tenants[0].calls_cents,
				 (unsigned long long)cases[i].units,
				 (unsigned long long)cases[i].cents);
		assert_int_equal(b.total_cents, cases[i].cents);
		bill_free(&b);
	}
}

static void test_traffic_golden(void **state)
{
	static const struct {
		const char *type;
		__u64 bytes;
		__u64 cents;
	} cases[] = {
		/* 1 GB to clients in one day: 1 x 0.80 */
		{ "outbound_client", GiB, 80 },
		/* intranet backend in the same region: free */
		{ "outbound_backend_intranet", 10 * GiB, 0 },
		/* public backends are billed wherever they are */
		{ "outbound_backend_public_same_region", GiB, 80 },
		{ "outbound_backend_other_region", GiB, 80 },
		{ "outbound_backend_internet", 100 * GiB, 8000 },
		/* inbound is never billed */
		{ "inbound", 100 * GiB, 0 },
		/* half a GB: 0.40 */
		{ "outbound_client", GiB / 2, 40 },
	};
	struct plan p = load_plan("jdcloud");
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ledger_usage r = row("gw1", "acme", "2024-06-10",
					    cases[i].type, cases[i].bytes, 0);
		struct bill b;

		assert_int_equal(rate_month(&p, "2024-06", &r, 1, &b), 0);
		if (b.total_cents != cases[i].cents)
			fail_msg("%s %llu bytes: %llu cents, want %llu",
				 cases[i].type,
				 (unsigned long long)cases[i].bytes,
				 (unsigned long long)b.total_cents,
				 (unsigned long long)cases[i].cents);
		bill_free(&b);
	}
}

/* 12,000,000 calls and 100 GB in a day: 44.00 + 80.00 = 124.00. */
static void test_calls_and_traffic(void **state)
{
	struct ledger_usage r[] = {
		row("gw1", "acme", "2024-06-10", "outbound_client", 60 * GiB,
		    7000000),
		row("gw1", "acme", "2024-06-10", "outbound_backend_internet",
		    40 * GiB, 0),
		row("gw1", "acme", "2024-06-10", "inbound", 5 * GiB, 5000000),
	};
	struct plan p = load_plan("jdcloud");
	struct bill b;

	assert_int_equal(rate_month(&p, "2024-06", r, 3, &b), 0);
	assert_int_equal(b.tenants[0].calls, 12000000);
	assert_int_equal(b.tenants[0].calls_cents, 4400);
	assert_int_equal(b.tenants[0].traffic_cents, 8000);
	assert_int_equal(b.total_cents, 12400);
	bill_free(&b);
}

/*
 * 2024-06-01T15:59:59Z is 23:59:59 in Shanghai, 16:00:00Z is midnight:
 * the bytes land on two days, and each day is settled on its own. With a
 * GB of 10^9 bytes, 6,250,000 bytes x 0.80 = 0.005, rounded half up to
 * 0.01 on each day: 0.02. On one day, 12,500,000 bytes would be 0.01.
 */
static void test_midnight(void **state)
{
	char d1[LEDGER_DAY_SIZE], d2[LEDGER_DAY_SIZE];
	struct plan p = load_plan("jdcloud");
	struct ledger_usage r[2];
	struct tz *tz;
	struct bill b;

	assert_int_equal(tz_load(&tz, "Asia/Shanghai"), 0);
	assert_int_equal(day_of(1717257599, tz, d1, sizeof(d1)), 0);
	assert_int_equal(day_of(1717257600, tz, d2, sizeof(d2)), 0);
	tz_free(tz);
	assert_string_equal(d1, "2024-06-01");
	assert_string_equal(d2, "2024-06-02");

	p.gb_bytes = 1000000000;
	r[0] = row("gw1", "acme", d1, "outbound_client", 6250000, 0);
	r[1] = row("gw1", "acme", d2, "outbound_client", 6250000, 0);
	assert_int_equal(rate_month(&p, "2024-06", r, 2, &b), 0);
	assert_int_equal(b.tenants[0].nr_days, 2);
	assert_int_equal(b.tenants[0].days[0].cents, 1);
	assert_int_equal(b.tenants[0].days[1].cents, 1);
	assert_int_equal(b.total_cents, 2);
	bill_free(&b);

	strcpy(r[1].k.day, d1);
	assert_int_equal(rate_month(&p, "2024-06", r, 2, &b), 0);
	assert_int_equal(b.tenants[0].nr_days, 1);
	assert_int_equal(b.total_cents, 1);
	bill_free(&b);
}

/*
 * 2024-06-30T15:59:59Z is June 30th in Shanghai, 16:00:00Z July 1st.
 * 800,000 calls on each side: each month stays inside its free
 * allowance (0.00 twice), where one month of 1,600,000 would cost
 * 60 units x 0.04 = 2.40.
 */
static void test_month_boundary(void **state)
{
	char d1[LEDGER_DAY_SIZE], d2[LEDGER_DAY_SIZE];
	struct plan p = load_plan("jdcloud");
	struct ledger_usage r[2];
	struct tz *tz;
	struct bill b;

	assert_int_equal(tz_load(&tz, NULL), 0);
	assert_int_equal(day_of(1719763199, tz, d1, sizeof(d1)), 0);
	assert_int_equal(day_of(1719763200, tz, d2, sizeof(d2)), 0);
	tz_free(tz);
	assert_string_equal(d1, "2024-06-30");
	assert_string_equal(d2, "2024-07-01");
	r[0] = row("gw1", "acme", d1, "outbound_client", 0, 800000);
	r[1] = row("gw1", "acme", d2, "outbound_client", 0, 800000);

	assert_int_equal(rate_month(&p, "2024-06", r, 1, &b), 0);
	assert_int_equal(b.total_cents, 0);
	bill_free(&b);
	assert_int_equal(rate_month(&p, "2024-07", r + 1, 1, &b), 0);
	assert_int_equal(b.total_cents, 0);
	bill_free(&b);
	/* a row of another month is refused, not billed, and named */
	assert_int_equal(rate_month(&p, "2024-06", r, 2, &b), -EINVAL);
	assert_string_equal(b.error,
			    "host gw1: day 2024-07-01 is not in month 2024-06");
	strcpy(r[1].k.traffic_type, "outbound");
	strcpy(r[1].k.day, "2024-06-29");
	assert_int_equal(rate_month(&p, "2024-06", r, 2, &b), -EINVAL);
	assert_string_equal(b.error, "host gw1, day 2024-06-29: 'outbound' "
				     "is not a traffic type");
	strcpy(r[1].k.traffic_type, "outbound_client");
	/* the counter-example: one month */
	strcpy(r[1].k.day, "2024-06-29");
	assert_int_equal(rate_month(&p, "2024-06", r, 2, &b), 0);
	assert_int_equal(b.total_cents, 240);
	bill_free(&b);
}

/*
 * Bills keep cents in 64 bits: 2^64 - 1 cents is the largest amount and
 * prints exactly; one cent more, in a day, in a tenant's calls, in a
 * tenant's total or in the bill's total, is refused with the amount, not
 * cut to 64 bits. A GB of 1 byte: 0.02 per byte to clients, 0.01 to the
 * internet; calls at 0.01 each, none free.
 */
static void test_cents_limit(void **state)
{
	struct plan p = load_plan("jdcloud");
	struct ledger_usage r[3];
	char buf[64];
	struct bill b;

	p.gb_bytes = 1;
	p.traffic[1] = 20000000;
	p.traffic[5] = 10000000;
	p.calls_free = 0;
	p.calls_unit = 1;
	p.call_unit_price = 10000000;
	assert_string_equal(traffic_name(1), "outbound_client");
	assert_string_equal(traffic_name(5), "outbound_backend_internet");

	/* (2^63 - 1) x 2 + 1 = 2^64 - 1 cents in a day */
	r[0] = row("gw1", "acme", "2024-06-10", "outbound_client", INT64_MAX,
		   0);
	r[1] = row("gw1", "acme", "2024-06-10", "outbound_backend_internet", 1,
		   0);
	assert_int_equal(rate_month(&p, "2024-06", r, 2, &b), 0);
	assert_true(b.tenants[0].days[0].cents == UINT64_MAX);
	assert_true(b.total_cents == UINT64_MAX);
	assert_string_equal(fmt_cents(buf, sizeof(buf), b.total_cents),
			    "184467440737095516.15");
	bill_free(&b);

	/* one more byte at 0.01: 2^64 cents in the day */
	r[1].bytes = 2;
	assert_int_equal(rate_month(&p, "2024-06", r, 2, &b), -EOVERFLOW);
	assert_string_equal(b.error,
			    "tenant acme, day 2024-06-10: traffic costs "
			    "184467440737095516.16 CNY, more than a bill holds "
			    "(184467440737095516.15)");
	assert_int_equal(b.nr_tenants, 0);

	/* calls: 2^64 - 1 at 0.01 fit, at 0.02 they do not */
	r[0] = row("gw1", "acme", "2024-06-10", "inbound", 0, UINT64_MAX);
	assert_int_equal(rate_month(&p, "2024-06", r, 1, &b), 0);
	assert_true(b.total_cents == UINT64_MAX);
	bill_free(&b);
	p.call_unit_price = 20000000;
	assert_int_equal(rate_month(&p, "2024-06", r, 1, &b), -EOVERFLOW);
	assert_string_equal(b.error,
			    "tenant acme: calls cost 368934881474191032.30 "
			    "CNY, more than a bill holds "
			    "(184467440737095516.15)");
	p.call_unit_price = 10000000;

	/* calls and traffic that fit each, not together */
	r[1] = row("gw1", "acme", "2024-06-10", "outbound_backend_internet", 1,
		   0);
	assert_int_equal(rate_month(&p, "2024-06", r, 2, &b), -EOVERFLOW);
	assert_string_equal(b.error,
			    "tenant acme: the total is 184467440737095516.16 "
			    "CNY, more than a bill holds "
			    "(184467440737095516.15)");

	/* two days that fit each, not together */
	r[0] = row("gw1", "acme", "2024-06-10", "outbound_client", INT64_MAX,
		   0);
	r[1] = row("gw1", "acme", "2024-06-11", "outbound_backend_internet", 2,
		   0);
	assert_int_equal(rate_month(&p, "2024-06", r, 2, &b), -EOVERFLOW);
	assert_string_equal(b.error,
			    "tenant acme: traffic costs 184467440737095516.16 "
			    "CNY, more than a bill holds "
			    "(184467440737095516.15)");

	/* two tenants that fit each, not together */
	r[1] = row("gw1", "beta", "2024-06-10", "outbound_backend_internet", 2,
		   0);
	assert_int_equal(rate_month(&p, "2024-06", r, 2, &b), -EOVERFLOW);
	assert_string_equal(b.error,
			    "the tenants' total is 184467440737095516.16 CNY, "
			    "more than a bill holds (184467440737095516.15)");
	assert_int_equal(b.nr_tenants, 0);

	/* a tenant and the unattributed usage that fit each, not together */
	r[1] = row("gw1", "", "2024-06-10", "outbound_backend_internet", 2, 0);
	assert_int_equal(rate_month(&p, "2024-06", r, 2, &b), -EOVERFLOW);
	assert_string_equal(b.error,
			    "the bill's total is 184467440737095516.16 CNY, "
			    "more than a bill holds (184467440737095516.15)");
	assert_int_equal(b.nr_tenants, 0);
	assert_false(b.has_unattributed);
}

/*
 * Usage that no rule gave a tenant is nobody's to pay: it gets no free
 * allowance of its own and stays out of the tenants' total. acme: 1,200,000
 * calls, 200,000 billed = 20 units = 0.80. Unattributed: 500,000 calls, none
 * free, 50 units = 2.00, and 1 GB to clients = 0.80: 2.80. Tenants 0.80,
 * all 3.60.
 */
static void test_unattributed(void **state)
{
	struct ledger_usage r[] = {
		row("gw1", "acme", "2024-06-10", "inbound", 0, 1200000),
		row("gw1", "", "2024-06-10", "inbound", 0, 500000),
		row("gw1", "", "2024-06-11", "outbound_client", GiB, 0),
	};
	struct plan p = load_plan("jdcloud");
	struct bill b;

	assert_int_equal(rate_month(&p, "2024-06", r, 3, &b), 0);
	assert_int_equal(b.nr_tenants, 1);
	assert_string_equal(b.tenants[0].tenant, "acme");
	assert_int_equal(b.tenants[0].free_allowance, 1000000);
	assert_int_equal(b.tenants[0].total_cents, 80);
	assert_true(b.has_unattributed);
	assert_int_equal(b.unattributed.free_allowance, 0);
	assert_int_equal(b.unattributed.free_calls, 0);
	assert_int_equal(b.unattributed.units, 50);
	assert_int_equal(b.unattributed.calls_cents, 200);
	assert_int_equal(b.unattributed.total_cents, 280);
	assert_int_equal(b.tenants_cents, 80);
	assert_int_equal(b.total_cents, 360);
	bill_free(&b);

	/* Only unattributed usage: no tenant at all. */
	assert_int_equal(rate_month(&p, "2024-06", r + 1, 2, &b), 0);
	assert_int_equal(b.nr_tenants, 0);
	assert_int_equal(b.tenants_cents, 0);
	assert_int_equal(b.total_cents, 280);
	bill_free(&b);
}

/* A month's days as ledger filter bounds: 9999-12 is the last month, with
 * no first day after it. */
static void test_month_days(void **state)
{
	static const struct {
		const char *month, *since, *until;
	} cases[] = {
		{ "2024-06", "2024-06-01", "2024-07-01" },
		{ "2024-12", "2024-12-01", "2025-01-01" },
		{ "0000-01", "0000-01-01", "0000-02-01" },
		{ "9999-11", "9999-11-01", "9999-12-01" },
		{ "9999-12", "9999-12-01", "" },
	};
	char since[LEDGER_DAY_SIZE], until[LEDGER_DAY_SIZE];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(rate_month_days(cases[i].month, since, until),
				 0);
		assert_string_equal(since, cases[i].since);
		assert_string_equal(until, cases[i].until);
	}
	assert_int_equal(rate_month_days("2024-13", since, until), -EINVAL);
	assert_int_equal(rate_month_days("10000-01", since, until), -EINVAL);
}

/* Two hosts, one tenant: 600,000 + 600,000 calls share the allowance:
 * 200,000 billed = 20 units x 0.04 = 0.80. Another tenant has its own. */
static void test_hosts_share_free_tier(void **state)
{
	struct ledger_usage r[] = {
		row("gw1", "acme", "2024-06-03", "outbound_client", 0, 600000),
		row("gw2", "acme", "2024-06-20", "outbound_client", 0, 600000),
		row("gw2", "zeta", "2024-06-20", "outbound_client", 0, 600000),
	};
	struct plan p = load_plan("jdcloud");
	struct bill b;

	assert_int_equal(rate_month(&p, "2024-06", r, 3, &b), 0);
	assert_int_equal(b.nr_tenants, 2);
	assert_string_equal(b.tenants[0].tenant, "acme");
	assert_int_equal(b.tenants[0].billed_calls, 200000);
	assert_int_equal(b.tenants[0].calls_cents, 80);
	assert_string_equal(b.tenants[1].tenant, "zeta");
	assert_int_equal(b.tenants[1].calls_cents, 0);
	assert_int_equal(b.total_cents, 80);
	bill_free(&b);
}

/*
 * Rounding at and near midpoints. GB = 10^9 bytes, 0.80 per GB:
 * 6,250,000 B = 0.005, 18,750,000 B = 0.015, 31,250,000 B = 0.025,
 * 6,250,001 B = 0.0050000008, 6,249,999 B = 0.0049999992.
 */
static void test_rounding(void **state)
{
	static const struct {
		__u64 bytes;
		__u64 half_up, half_even, up, down;
	} cases[] = {
		{ 6250000, 1, 0, 1, 0 },
		{ 18750000, 2, 2, 2, 1 },
		{ 31250000, 3, 2, 3, 2 },
		{ 6250001, 1, 1, 1, 0 },
		{ 6249999, 0, 0, 1, 0 },
		{ 12500000, 1, 1, 1, 1 },	/* 0.01 exactly */
		{ 0, 0, 0, 0, 0 },
	};
	struct plan p = load_plan("jdcloud");
	size_t i;
	int m;

	p.gb_bytes = 1000000000;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const __u64 want[4] = { cases[i].half_up, cases[i].half_even,
					cases[i].up, cases[i].down };

		for (m = ROUND_HALF_UP; m <= ROUND_DOWN; m++) {
			struct ledger_usage r = row("gw1", "acme",
						    "2024-06-10",
						    "outbound_client",
						    cases[i].bytes, 0);
			struct bill b;

			p.rounding = m;
			assert_int_equal(rate_month(&p, "2024-06", &r, 1, &b),
					 0);
			if (b.total_cents != want[m])
				fail_msg("%llu bytes %s: %llu cents, want %llu",
					 (unsigned long long)cases[i].bytes,
					 rounding_name(m),
					 (unsigned long long)b.total_cents,
					 (unsigned long long)want[m]);
			bill_free(&b);
		}
	}
}

/* Calls at a price of 0.045 a unit: 1 unit = 0.045 (half up 0.05, half
 * even 0.04), 3 units = 0.135 (0.14 both: 13 is odd). */
static void test_rounding_calls(void **state)
{
	static const struct {
		__u64 calls;
		enum rounding mode;
		__u64 cents;
	} cases[] = {
		{ 1000001, ROUND_HALF_UP, 5 },	 { 1000001, ROUND_HALF_EVEN, 4 },
		{ 1000001, ROUND_UP, 5 },	 { 1000001, ROUND_DOWN, 4 },
		{ 1025000, ROUND_HALF_UP, 14 },	 { 1025000, ROUND_HALF_EVEN, 14 },
		{ 1025000, ROUND_DOWN, 13 },
	};
	struct plan p = load_plan("jdcloud");
	size_t i;

	assert_int_equal(money_parse("0.045", &p.call_unit_price), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ledger_usage r = row("gw1", "acme", "2024-06-10",
					    "outbound_client", 0,
					    cases[i].calls);
		struct bill b;

		p.rounding = cases[i].mode;
		assert_int_equal(rate_month(&p, "2024-06", &r, 1, &b), 0);
		if (b.total_cents != cases[i].cents)
			fail_msg("%llu calls %s: %llu cents, want %llu",
				 (unsigned long long)cases[i].calls,
				 rounding_name(cases[i].mode),
				 (unsigned long long)b.total_cents,
				 (unsigned long long)cases[i].cents);
		bill_free(&b);
	}
}

/* Lines are not rounded into the day: two lines of 0.004 (5,000,000 B
 * at 0.80 per 10^9 B) show 0.0040 each, and the day settles the exact
 * 0.008 to 0.01, where rounded lines would have given 0.00. */
static void test_lines_vs_day(void **state)
{
	struct ledger_usage r[] = {
		row("gw1", "acme", "2024-06-10", "outbound_client", 5000000, 0),
		row("gw1", "acme", "2024-06-10", "outbound_backend_internet",
		    5000000, 0),
		/* the same key again (another host, service): adds up */
		row("gw2", "acme", "2024-06-10", "outbound_client", 0, 0),
	};
	struct plan p = load_plan("jdcloud");
	unsigned __int128 den;
	struct bill b;
	char buf[64];

	p.gb_bytes = 1000000000;
	den = (unsigned __int128)p.gb_bytes * NANO;
	assert_int_equal(rate_month(&p, "2024-06", r, 3, &b), 0);
	assert_int_equal(b.tenants[0].days[0].nr_lines, 2);
	assert_string_equal(fmt_fraction(buf, sizeof(buf),
					 b.tenants[0].days[0].lines[0].cost,
					 den, 4, p.rounding),
			    "0.0040");
	assert_int_equal(b.tenants[0].days[0].cents, 1);
	assert_int_equal(b.total_cents, 1);
	bill_free(&b);
}

/* Tencent: scf in the API's region is free, elsewhere billed (placeholder
 * 0.80 per GB); under trial nothing is charged. */
static void test_tencent(void **state)
{
	struct ledger_usage r[] = {
		row("gw1", "acme", "2024-06-10", "outbound_scf_same_region",
		    3 * GiB, 0),
		row("gw1", "acme", "2024-06-10", "outbound_scf_other_region",
		    GiB, 0),
		row("gw1", "acme", "2024-06-10", "outbound_client", 0,
		    5000000),
	};
	struct plan p = load_plan("tencent");
	struct bill b;

	assert_false(p.trial);
	/* same region: 0.00 */
	assert_int_equal(rate_month(&p, "2024-06", r, 1, &b), 0);
	assert_int_equal(b.total_cents, 0);
	bill_free(&b);
	/* other region: 1 GB x 0.80 */
	assert_int_equal(rate_month(&p, "2024-06", r + 1, 1, &b), 0);
	assert_int_equal(b.total_cents, 80);
	bill_free(&b);
	/* all of it: 0.80 + 4,000,000 billed calls = 400 x 0.06 = 24.00 */
	assert_int_equal(rate_month(&p, "2024-06", r, 3, &b), 0);
	assert_int_equal(b.total_cents, 80 + 2400);
	bill_free(&b);

	p.trial = true;
	assert_int_equal(rate_month(&p, "2024-06", r, 3, &b), 0);
	assert_int_equal(b.tenants[0].calls, 5000000);	/* still shown */
	assert_int_equal(b.tenants[0].calls_cents, 0);
	assert_int_equal(b.tenants[0].traffic_cents, 0);
	assert_int_equal(b.total_cents, 0);
	bill_free(&b);
}

static void test_money_parse(void **state)
{
	static const struct {
		const char *s;
		int err;
		__u64 nano;
	} cases[] = {
		{ "0.80", 0, 800000000 },
		{ "0.8", 0, 800000000 },
		{ "0.04", 0, 40000000 },
		{ "12", 0, 12000000000ULL },
		{ "0.000000001", 0, 1 },
		{ "1000000", 0, 1000000 * NANO },
		{ "0.0000000001", -EINVAL, 0 },	/* 10 decimals */
		{ "1000000.000000001", -ERANGE, 0 },
		{ "99999999999999999999", -ERANGE, 0 },
		{ "1.", -EINVAL, 0 },
		{ ".5", -EINVAL, 0 },
		{ "-1", -EINVAL, 0 },
		{ "+1", -EINVAL, 0 },
		{ "1e3", -EINVAL, 0 },
		{ "0,80", -EINVAL, 0 },
		{ "", -EINVAL, 0 },
		{ " 1", -EINVAL, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		__u64 v = 7;
		int err = money_parse(cases[i].s, &v);

		if (err != cases[i].err)
			fail_msg("money_parse(\"%s\"): %d, want %d", cases[i].s,
				 err, cases[i].err);
		assert_int_equal(v, err ? 7 : cases[i].nano);
	}
}

static void test_fmt(void **state)
{
	static const struct {
		unsigned long long num, den;
		int decimals;
		enum rounding r;
		const char *out;
	} cases[] = {
		{ 1, 3, 4, ROUND_HALF_UP, "0.3333" },
		{ 2, 3, 4, ROUND_HALF_UP, "0.6667" },
		{ 2, 3, 4, ROUND_DOWN, "0.6666" },
		{ 5, 1000, 2, ROUND_HALF_EVEN, "0.00" },
		{ 15, 1000, 2, ROUND_HALF_EVEN, "0.02" },
		{ 123456, 100, 2, ROUND_HALF_UP, "1234.56" },
		{ 0, 7, 6, ROUND_HALF_UP, "0.000000" },
		{ 7, 1, 0, ROUND_HALF_UP, "7" },
		{ 1, 100, 2, ROUND_HALF_UP, "0.01" },
		{ 99, 100, 2, ROUND_HALF_UP, "0.99" },
		{ 999, 1000, 2, ROUND_HALF_UP, "1.00" },
	};
	char buf[64];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(fmt_fraction(buf, sizeof(buf),
						 cases[i].num, cases[i].den,
						 cases[i].decimals, cases[i].r),
				    cases[i].out);
	assert_string_equal(fmt_cents(buf, sizeof(buf), 0), "0.00");
	assert_string_equal(fmt_cents(buf, sizeof(buf), 5), "0.05");
	assert_string_equal(fmt_cents(buf, sizeof(buf), 12345), "123.45");
}

/* Run @text through plan_parse(), with stderr captured into @msg. */
static int parse_text(const char *text, char *msg, size_t len)
{
	struct plan p;
	FILE *tmp = tmpfile();
	int saved = dup(2), err;
	size_t n;

	assert_non_null(tmp);
	fflush(stderr);
	dup2(fileno(tmp), 2);
	err = plan_parse(&p, text, strlen(text), "p.yaml");
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	n = fread(msg, 1, len - 1, tmp);
	msg[n] = '\0';
	fclose(tmp);
	return err;
}

#define PLAN_HEAD                                                             \
	"plan: t\n"                                                            \
	"calls:\n"                                                             \
	"  free_per_month: 10\n"                                               \
	"  unit: 10\n"                                                         \
	"  price_per_unit: 0.04\n"
#define PLAN_TRAFFIC                                                          \
	"traffic:\n"                                                           \
	"  outbound_client: 0.80\n"                                            \
	"  outbound_backend_intranet: 0\n"                                     \
	"  outbound_backend_public_same_region: 0.80\n"                        \
	"  outbound_backend_other_region: 0.80\n"                              \
	"  outbound_backend_internet: 0.80\n"                                  \
	"  outbound_scf_same_region: 0\n"                                      \
	"  outbound_scf_other_region: 0.80\n"

static void test_plan_errors(void **state)
{
	static const struct {
		const char *text;
		const char *msg;	/* NULL: valid */
	} cases[] = {
		{ PLAN_HEAD PLAN_TRAFFIC, NULL },
		{ PLAN_HEAD PLAN_TRAFFIC "rounding: half-even\ntrial: true\n"
			  "gb_bytes: 1000000000\ntime_zone: UTC\n",
		  NULL },
		{ PLAN_HEAD "traffic:\n  outbound_client: 0.80\n",
		  "p.yaml:7:3: traffic.outbound_backend_intranet: missing "
		  "(0 if it is free)\n" },
		{ PLAN_HEAD PLAN_TRAFFIC "colour: blue\n",
		  "p.yaml:14:9: colour: unknown setting" },
		{ PLAN_HEAD PLAN_TRAFFIC "  inbound: 0.01\n",
		  "p.yaml:14:12: traffic.inbound: inbound traffic is never "
		  "billed\n" },
		{ PLAN_HEAD PLAN_TRAFFIC "  outbound_sideways: 1\n",
		  "p.yaml:14:22: traffic.outbound_sideways: not a traffic "
		  "type" },
		{ "plan: t\ncalls:\n  price_per_unit: 0.0400000001\n",
		  "p.yaml:3:19: calls.price_per_unit: '0.0400000001' is not a "
		  "plain decimal amount" },
		{ "plan: t\ncalls:\n  unit: 0\n",
		  "p.yaml:3:9: calls.unit: '0' is not in 1.." },
		{ PLAN_HEAD PLAN_TRAFFIC "rounding: nearest\n",
		  "p.yaml:14:11: rounding: not one of half-up" },
		{ PLAN_HEAD PLAN_TRAFFIC "time_zone: Mars/Base\n",
		  "p.yaml:14:12: time_zone: no time zone 'Mars/Base'" },
		{ PLAN_HEAD PLAN_TRAFFIC "trial: yes\n",
		  "p.yaml:14:8: trial: not true or false\n" },
		{ "plan: t\nplan: u\n", "p.yaml:2:1: 'plan' appears twice" },
		{ "plan: [t\n", "p.yaml:" },
		{ "", "p.yaml:0:0: empty: no plan\n" },
		{ PLAN_TRAFFIC, "plan: missing" },
		/* --region ignores case: an id or a name that names two
		 * regions would price by the first (found by
		 * tests/fuzz/fuzz_plan's check) */
		{ PLAN_HEAD PLAN_TRAFFIC "regions:\n  eu:\n    name: EU\n"
			  "  us:\n",
		  NULL },
		{ PLAN_HEAD PLAN_TRAFFIC "regions:\n  eu:\n  EU:\n",
		  "regions.EU: 'EU' already names region eu (--region "
		  "ignores case)\n" },
		{ PLAN_HEAD PLAN_TRAFFIC "regions:\n  eu-central-1:\n"
			  "    name: Frankfurt\n  frankfurt:\n",
		  "regions.frankfurt: 'frankfurt' already names region "
		  "eu-central-1" },
		{ PLAN_HEAD PLAN_TRAFFIC "regions:\n  a:\n  b:\n"
			  "    name: A\n",
		  "regions.b: 'A' already names region a" },
	};
	char msg[512];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int err = parse_text(cases[i].text, msg, sizeof(msg));

		if (!cases[i].msg) {
			if (err)
				fail_msg("case %zu: %s", i, msg);
			continue;
		}
		if (err != -EINVAL || !strstr(msg, cases[i].msg))
			fail_msg("case %zu: %d \"%s\", want \"%s\"", i, err, msg,
				 cases[i].msg);
	}
}

/* The built-in plans are the files of deploy/plans; regions. */
static void test_builtin_plans(void **state)
{
	const char *const *names = plan_builtins();
	struct plan a, b;
	char path[128];
	int n;

	for (n = 0; names[n]; n++) {
		a = load_plan(names[n]);
		assert_string_equal(a.name, names[n]);
		snprintf(path, sizeof(path), "deploy/plans/%s.yaml", names[n]);
		if (access(path, R_OK))
			continue;	/* run outside the source tree */
		b = load_plan(path);
		assert_memory_equal(&a, &b, sizeof(a));
	}
	assert_int_equal(n, 2);

	a = load_plan("jdcloud");
	assert_int_equal(a.gb_bytes, GiB);
	assert_int_equal(a.rounding, ROUND_HALF_UP);
	assert_string_equal(a.time_zone, "Asia/Shanghai");
	assert_int_equal(a.nr_regions, 4);
	assert_int_equal(plan_select_region(&a, "suqian"), 0);
	assert_string_equal(a.region, "cn-east-1");
	assert_int_equal(plan_select_region(&a, "cn-south-1"), 0);
	assert_int_equal(a.traffic[1], 800000000);
	assert_int_equal(plan_select_region(&a, "eu-west-1"), -ENOENT);
	assert_int_equal(plan_load(&a, "nosuchcloud"), -ENOENT);
}

/* A region's own prices replace the plan's. */
static void test_region_prices(void **state)
{
	static const char text[] = PLAN_HEAD PLAN_TRAFFIC
		"regions:\n"
		"  r1:\n"
		"    name: One\n"
		"    traffic:\n"
		"      outbound_client: 1.25\n"
		"  r2:\n";
	struct plan p;

	assert_int_equal(plan_parse(&p, text, strlen(text), "t"), 0);
	assert_int_equal(p.nr_regions, 2);
	assert_int_equal(plan_select_region(&p, "r2"), 0);
	assert_int_equal(p.traffic[1], 800000000);
	assert_int_equal(plan_select_region(&p, "one"), 0);
	assert_int_equal(p.traffic[1], 1250000000);
	assert_int_equal(p.traffic[5], 800000000);
}

/* `tollgate rate` over ledger files, output captured. */

/* The plan's terms that start every CSV row of a jdcloud bill. */
#define JD "jdcloud,,CNY,Asia/Shanghai,1073741824,half-up,false,"

static int setup(void **state)
{
	return tmpdir_make("rate");
}

static int teardown(void **state)
{
	return tmpdir_remove();
}

static void make_ledger(const char *name, const struct ledger_usage *r,
			size_t n)
{
	struct ledger *l = NULL;
	char path[128];
	size_t i;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	assert_int_equal(ledger_open(&l, path, LEDGER_CREATE, NULL), 0);
	assert_int_equal(ledger_begin(l), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(ledger_put(l, &r[i], LEDGER_REPLACE), 0);
	assert_int_equal(ledger_end(l, true), 0);
	ledger_close(l);
}

static char *run_rate(int *rc, ...)
{
	char *argv[32], *out;
	int argc = 0, saved;
	FILE *tmp = tmpfile();
	va_list ap;
	long len;

	argv[argc++] = "rate";
	va_start(ap, rc);
	while ((argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	assert_non_null(tmp);
	fflush(stdout);
	saved = dup(1);
	dup2(fileno(tmp), 1);
	optind = 0;
	*rc = cmd_rate(argc, argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	len = ftell(tmp);
	out = calloc(1, len + 1);
	assert_non_null(out);
	rewind(tmp);
	assert_int_equal(fread(out, 1, len, tmp), (size_t)len);
	fclose(tmp);
	return out;
}

static void test_rate_command(void **state)
{
	/* gw1's ledger: an older copy of gw2's rows is also in it (it was
	 * imported yesterday); gw2's own ledger has today's totals. */
	struct ledger_usage a[] = {
		row("gw1", "acme", "2024-06-03", "outbound_client", GiB,
		    600000),
		row("gw2", "acme", "2024-06-20", "outbound_client", GiB / 2,
		    300000),
	};
	struct ledger_usage b[] = {
		row("gw2", "acme", "2024-06-20", "outbound_client", GiB,
		    600000),
		row("gw2", "acme", "2024-07-01", "outbound_client", GiB,
		    999999),
	};
	char p1[128], p2[128], plan[128], *out;
	FILE *f;
	int rc;

	make_ledger("gw1.db", a, 2);
	make_ledger("gw2.db", b, 2);
	snprintf(p1, sizeof(p1), "%s/gw1.db", tmpdir);
	snprintf(p2, sizeof(p2), "%s/gw2.db", tmpdir);

	/* 600,000 + 600,000 (the later copy) calls: 20 units = 0.80;
	 * two days of 1 GB: 1.60; total 2.40. July is not in June. */
	out = run_rate(&rc, "--plan", "jdcloud", "--month", "2024-06",
		       "--format", "csv", "--ledger", p1, "--ledger", p2,
		       NULL);
	assert_int_equal(rc, 0);
	if (!strstr(out, JD "2024-06,tenant,acme,calls,,,1200000,1000000,"
			 "1000000,200000,10000,20,,,0.04,0.80\n") ||
	    !strstr(out, JD "2024-06,tenant,acme,day,2024-06-20,,,,,,,,,,,"
			 "0.80\n") ||
	    !strstr(out, JD "2024-06,tenants,,total,,,,,,,,,,,,2.40\n") ||
	    !strstr(out, JD "2024-06,all,,total,,,,,,,,,,,,2.40\n"))
		fail_msg("unexpected bill:\n%s", out);
	free(out);

	/* The files in the other order, and one given twice: the same. */
	out = run_rate(&rc, "--month", "2024-06", "--format", "csv", p2, p1,
		       p2, NULL);
	assert_int_equal(rc, 0);
	if (!strstr(out, "2024-06,all,,total,,,,,,,,,,,,2.40\n"))
		fail_msg("unexpected bill:\n%s", out);
	free(out);

	/* JSON amounts are strings; half-even changes nothing here */
	out = run_rate(&rc, "--month", "2024-06", "--format", "json",
		       "--rounding", "half-even", p1, p2, NULL);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "\"calls_cost\":\"0.80\""));
	assert_non_null(strstr(out, "\"total\":\"2.40\"}\n"));
	free(out);

	/* the table ends with the total */
	out = run_rate(&rc, "--month", "2024-06", "--tenant", "acme",
		       "--trial", p1, p2, NULL);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "trial: nothing is charged"));
	assert_non_null(strstr(out, "TOTAL"));
	assert_non_null(strstr(out, " 0.00\n"));
	free(out);

	/* a plan of another time zone does not fit these ledgers */
	snprintf(plan, sizeof(plan), "%s/utc.yaml", tmpdir);
	f = fopen(plan, "w");
	assert_non_null(f);
	fputs(PLAN_HEAD PLAN_TRAFFIC "time_zone: UTC\n", f);
	assert_int_equal(fclose(f), 0);
	out = run_rate(&rc, "--month", "2024-06", "--plan", plan, p1, NULL);
	assert_int_equal(rc, 1);
	assert_string_equal(out, "");
	free(out);
	out = run_rate(&rc, "--month", "2024-06", "--plan",
		       "/nonexistent/plan.yaml", p1, NULL);
	assert_int_equal(rc, 1);
	free(out);
	out = run_rate(&rc, "--month", "2024-6", p1, NULL);
	assert_int_equal(rc, 2);
	free(out);
}

/* The unattributed usage in each format: apart from the tenants, and the
 * totals say what they add up. */
static void test_rate_unattributed(void **state)
{
	struct ledger_usage r[] = {
		row("gw1", "acme", "2024-06-10", "inbound", 0, 1200000),
		row("gw1", "", "2024-06-10", "inbound", 0, 500000),
		row("gw1", "", "2024-06-11", "outbound_client", GiB, 0),
	};
	char path[128], *out;
	int rc;

	make_ledger("noten.db", r, 3);
	snprintf(path, sizeof(path), "%s/noten.db", tmpdir);
	out = run_rate(&rc, "--month", "2024-06", path, NULL);
	assert_int_equal(rc, 0);
	if (!strstr(out, "\nunattributed usage (no tenant): no free "
			 "allowance, not in the tenants' total\n"
			 "  calls 500000, free 0 (allowance 0)") ||
	    !strstr(out, "unattributed total") ||
	    !strstr(out, "\nTENANTS (1, the sum of their totals)") ||
	    !strstr(out, " 0.80\nUNATTRIBUTED (usage of no tenant)") ||
	    !strstr(out, " 2.80\nTOTAL (tenants and unattributed)") ||
	    !strstr(out, " 3.60\n") || strstr(out, "tenant (no tenant)"))
		fail_msg("unexpected bill:\n%s", out);
	free(out);

	out = run_rate(&rc, "--month", "2024-06", "--format", "json", path,
		       NULL);
	assert_int_equal(rc, 0);
	if (!strstr(out, "\"unattributed\":{\"tenant\":\"\"") ||
	    !strstr(out, "\"tenants_total\":\"0.80\","
			 "\"unattributed_total\":\"2.80\","
			 "\"total\":\"3.60\"}"))
		fail_msg("unexpected bill:\n%s", out);
	free(out);

	out = run_rate(&rc, "--month", "2024-06", "--format", "csv", path,
		       NULL);
	assert_int_equal(rc, 0);
	if (!strstr(out, ",2024-06,unattributed,,calls,,,500000,0,0,500000,"
			 "10000,50,") ||
	    !strstr(out, ",2024-06,unattributed,,total,,,,,,,,,,,,2.80\n") ||
	    !strstr(out, ",2024-06,tenants,,total,,,,,,,,,,,,0.80\n") ||
	    !strstr(out, ",2024-06,all,,total,,,,,,,,,,,,3.60\n"))
		fail_msg("unexpected bill:\n%s", out);
	free(out);
}

/* Every format states the plan's terms: the bill can be checked by
 * hand from itself alone. */
static void test_rate_terms(void **state)
{
	static const char head[] =
		"plan,region,currency,time_zone,gb_bytes,rounding,trial,month,"
		"scope,tenant,kind,day,traffic_type,calls,free_allowance,"
		"free_calls,billed_calls,unit_calls,units,bytes,gb,price,"
		"cost\n";
	struct ledger_usage r = row("gw1", "acme", "2024-06-10", "inbound", 0,
				    1010001);
	char path[128], *out;
	int rc;

	make_ledger("terms.db", &r, 1);
	snprintf(path, sizeof(path), "%s/terms.db", tmpdir);
	out = run_rate(&rc, "--month", "2024-06", "--region", "beijing",
		       path, NULL);
	assert_int_equal(rc, 0);
	if (!strstr(out, "plan jdcloud: ") ||
	    !strstr(out, "1 GB = 1073741824 bytes, rounding half-up, region "
			 "cn-north-1, amounts in CNY\n") ||
	    !strstr(out, "\ncalls: 1000000 free per tenant per month, then "
			 "0.04 per unit of 10000 calls") ||
	    !strstr(out, "  calls 1010001, free 1000000 (allowance 1000000), "
			 "billed 10001 in 2 units of 10000 at 0.04\n"))
		fail_msg("unexpected bill:\n%s", out);
	free(out);

	out = run_rate(&rc, "--month", "2024-06", "--format", "json",
		       "--rounding", "up", path, NULL);
	assert_int_equal(rc, 0);
	if (!strstr(out, "{\"plan\":\"jdcloud\",") ||
	    !strstr(out, "\"currency\":\"CNY\",") ||
	    !strstr(out, "\"gb_bytes\":1073741824,\"rounding\":\"up\",") ||
	    !strstr(out, "\"calls_free_per_month\":1000000,"
			 "\"calls_unit\":10000,"
			 "\"calls_price_per_unit\":\"0.04\",") ||
	    !strstr(out, "{\"tenant\":\"acme\",\"free_allowance\":1000000,"
			 "\"calls\":1010001,\"free_calls\":1000000,"
			 "\"billed_calls\":10001,\"call_units\":2,"))
		fail_msg("unexpected bill:\n%s", out);
	free(out);

	out = run_rate(&rc, "--month", "2024-06", "--format", "csv",
		       "--gb-bytes", "1000000000", "--trial", path, NULL);
	assert_int_equal(rc, 0);
	if (strncmp(out, head, strlen(head)) ||
	    !strstr(out, "\njdcloud,,CNY,Asia/Shanghai,1000000000,half-up,"
			 "true,2024-06,tenant,acme,calls,,,1010001,1000000,"
			 "1000000,10001,10000,2,,,0.04,0.00\n"))
		fail_msg("unexpected bill:\n%s", out);
	free(out);
}

/* A tenant with no usage in the month is an error, never a bill of 0.00
 * that a misspelt name would print; in one ledger and across several. */
static void test_rate_unknown_tenant(void **state)
{
	struct ledger_usage r[] = {
		row("gw1", "acme", "2024-06-10", "outbound_client", GiB, 10),
		row("gw1", "globex", "2024-07-01", "outbound_client", GiB, 10),
	};
	char path[128], *out;
	int rc;

	make_ledger("tenants.db", r, 2);
	snprintf(path, sizeof(path), "%s/tenants.db", tmpdir);
	out = run_rate(&rc, "--month", "2024-06", "--tenant", "globx", path,
		       NULL);
	assert_int_equal(rc, 1);
	assert_string_equal(out, "");
	free(out);
	/* globex has usage, but in July */
	out = run_rate(&rc, "--month", "2024-06", "--tenant", "globex", path,
		       path, NULL);
	assert_int_equal(rc, 1);
	assert_string_equal(out, "");
	free(out);
	out = run_rate(&rc, "--month", "2024-06", "--tenant", "", path, NULL);
	assert_int_equal(rc, 1);
	free(out);
	out = run_rate(&rc, "--month", "2024-06", "--tenant", "acme", path,
		       path, NULL);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "\ntenant acme\n"));
	free(out);
}

/* The last month a ledger can hold is rated like any other: a GB on
 * 9999-12-31 costs 0.80, and November does not take December's days. */
static void test_rate_last_month(void **state)
{
	struct ledger_usage r[] = {
		row("gw1", "acme", "9999-12-31", "outbound_client", GiB, 0),
		row("gw1", "acme", "9999-11-30", "outbound_client", 2 * GiB,
		    0),
	};
	char path[128], *out;
	int rc;

	make_ledger("last.db", r, 2);
	snprintf(path, sizeof(path), "%s/last.db", tmpdir);
	out = run_rate(&rc, "--month", "9999-12", "--format", "csv", path,
		       NULL);
	assert_int_equal(rc, 0);
	if (!strstr(out, "9999-12,tenant,acme,day,9999-12-31,,,,,,,,,,,"
			 "0.80\n") ||
	    !strstr(out, "9999-12,all,,total,,,,,,,,,,,,0.80\n") ||
	    strstr(out, "9999-11-30"))
		fail_msg("unexpected bill:\n%s", out);
	free(out);
	out = run_rate(&rc, "--month", "9999-11", "--format", "csv", path,
		       NULL);
	assert_int_equal(rc, 0);
	if (!strstr(out, "9999-11,all,,total,,,,,,,,,,,,1.60\n"))
		fail_msg("unexpected bill:\n%s", out);
	free(out);
}

/* 250,000,000,000,000,000 bytes at 0.80 with a GB of 1 byte cost
 * 200,000,000,000,000,000.00: refused, and no half bill is printed. */
static void test_rate_too_much(void **state)
{
	struct ledger_usage r = row("gw1", "acme", "2024-06-01",
				    "outbound_client", 250000000000000000ULL,
				    0);
	char path[128], *out;
	int rc;

	make_ledger("much.db", &r, 1);
	snprintf(path, sizeof(path), "%s/much.db", tmpdir);
	out = run_rate(&rc, "--month", "2024-06", "--gb-bytes", "1", path,
		       NULL);
	assert_int_equal(rc, 1);
	assert_string_equal(out, "");
	free(out);
	/* a GB of 2 bytes: 100,000,000,000,000,000.00 fits */
	out = run_rate(&rc, "--month", "2024-06", "--gb-bytes", "2",
		       "--format", "csv", path, NULL);
	assert_int_equal(rc, 0);
	if (!strstr(out, "jdcloud,,CNY,Asia/Shanghai,2,half-up,false,2024-06,"
			 "all,,total,,,,,,,,,,,,100000000000000000.00\n"))
		fail_msg("unexpected bill:\n%s", out);
	free(out);
}

/* A tenant name that is not UTF-8 (a ledger of an older version) leaves
 * the JSON bill valid: U+FFFD stands for the bad byte. */
static void test_bill_json_utf8(void **state)
{
	struct ledger_usage r = row("gw1", "ac\xffme", "2024-06-01",
				    "outbound_client", GiB, 0);
	struct json_tokener *tok = json_tokener_new();
	struct json_object *obj;
	char path[128], *out;
	int rc;

	make_ledger("latin1.db", &r, 1);
	snprintf(path, sizeof(path), "%s/latin1.db", tmpdir);
	out = run_rate(&rc, "--month", "2024-06", "--format", "json", path,
		       NULL);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "\"tenant\":\"ac\\ufffdme\""));
	assert_non_null(tok);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
					    JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, out, strlen(out));
	if (!obj || json_tokener_get_error(tok) != json_tokener_success)
		fail_msg("not valid JSON: %s", out);
	json_object_put(obj);
	json_tokener_free(tok);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_calls_golden),
		cmocka_unit_test(test_traffic_golden),
		cmocka_unit_test(test_calls_and_traffic),
		cmocka_unit_test(test_midnight),
		cmocka_unit_test(test_month_boundary),
		cmocka_unit_test(test_unattributed),
		cmocka_unit_test(test_month_days),
		cmocka_unit_test(test_cents_limit),
		cmocka_unit_test(test_hosts_share_free_tier),
		cmocka_unit_test(test_rounding),
		cmocka_unit_test(test_rounding_calls),
		cmocka_unit_test(test_lines_vs_day),
		cmocka_unit_test(test_tencent),
		cmocka_unit_test(test_money_parse),
		cmocka_unit_test(test_fmt),
		cmocka_unit_test(test_plan_errors),
		cmocka_unit_test(test_builtin_plans),
		cmocka_unit_test(test_region_prices),
		cmocka_unit_test(test_rate_command),
		cmocka_unit_test(test_rate_unattributed),
		cmocka_unit_test(test_rate_terms),
		cmocka_unit_test(test_rate_unknown_tenant),
		cmocka_unit_test(test_rate_last_month),
		cmocka_unit_test(test_rate_too_much),
		cmocka_unit_test(test_bill_json_utf8),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
