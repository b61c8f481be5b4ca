/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * rate.h - price plans and the rating engine: from a month of ledger
 * rows to a bill per tenant.
 *
 * Money is integers only. Prices are parsed exactly from their decimal
 * text into nano-units (1e-9 of the currency); a cost is kept as an exact
 * fraction (128-bit numerator over a known denominator) and rounded once,
 * with the plan's rounding mode, when it is settled:
 *
 *   calls    per tenant per month, over every host: the free allowance is
 *            taken off, the rest is billed in whole units (a partial unit
 *            counts as a whole one), units x price rounded to 0.01
 *   traffic  per tenant per natural day: sum over traffic types of
 *            bytes x price-per-GB / GB, rounded once to 0.01
 *
 * A traffic type's line within a day is shown to 4 decimals and is not a
 * settlement: the day total is rounded from the exact sum of the lines,
 * not summed from rounded lines. A tenant's month total is its calls
 * settlement plus its day settlements; the bill's total is the sum of the
 * tenants' totals.
 */
#ifndef TOLLGATE_RATE_H
#define TOLLGATE_RATE_H

#include <stdbool.h>
#include <stdio.h>
#include <linux/types.h>

#include "ledger.h"
#include "tollgate.h"

#define NANO			1000000000ULL	/* nano-units per unit */
#define NANO_PER_CENT		10000000ULL
#define PRICE_MAX		(1000000ULL * NANO)	/* 1,000,000.00 */
#define PLAN_MAX_REGIONS	32

enum rounding {
	ROUND_HALF_UP,		/* 0.005 -> 0.01 (default) */
	ROUND_HALF_EVEN,	/* 0.005 -> 0.00, 0.015 -> 0.02 */
	ROUND_UP,		/* any fraction of a cent is a cent */
	ROUND_DOWN,		/* fractions of a cent are dropped */
};

/* "half-up", ... ; NULL when out of range. */
const char *rounding_name(enum rounding r);

/* Parse a rounding mode by name. Returns 0 or -EINVAL. */
int rounding_parse(const char *s, enum rounding *out);

struct plan_region {
	char id[32];		/* e.g. "cn-north-1" */
	char name[64];		/* e.g. "Beijing"; also accepted by id */
	bool has_price[LEDGER_NR_TRAFFIC];
	__u64 traffic[LEDGER_NR_TRAFFIC];	/* overrides, nano per GB */
};

struct plan {
	char name[64];
	char title[128];
	char currency[8];
	char time_zone[LEDGER_TZ_SIZE];
	__u64 gb_bytes;		/* bytes in a billed GB */
	enum rounding rounding;
	bool trial;		/* nothing is charged */
	__u64 calls_free;	/* per tenant per month */
	__u64 calls_unit;	/* calls in a billed unit */
	__u64 call_unit_price;	/* nano per unit */
	__u64 traffic[LEDGER_NR_TRAFFIC];	/* nano per GB */
	struct plan_region regions[PLAN_MAX_REGIONS];
	size_t nr_regions;
	char region[32];	/* the region selected, "" for none */
};

/*
 * Parse a plan from YAML @text of @len bytes; @file names it in messages,
 * which read "file:line:column: setting: message". Returns 0 or -EINVAL.
 */
int plan_parse(struct plan *p, const char *text, size_t len, const char *file);

/*
 * Load plan @what: a built-in plan by name ("jdcloud", "tencent"), or a
 * YAML file when @what holds a '/' or ends in .yaml or .yml. Returns 0,
 * -ENOENT (no such plan), -EINVAL.
 */
int plan_load(struct plan *p, const char *what);

/* The names of the built-in plans, NULL-terminated. */
const char *const *plan_builtins(void);

/*
 * Price the plan for region @region (an id or a name, case-insensitive):
 * the region's prices replace the plan's. Returns 0 or -ENOENT when the
 * plan has no such region.
 */
int plan_select_region(struct plan *p, const char *region);

/*
 * Parse a non-negative decimal amount ("0.80", "12", "0.000000001") into
 * nano-units, exactly. Returns 0, -EINVAL (not a plain decimal, or more
 * than 9 decimals), -ERANGE (above PRICE_MAX).
 */
int money_parse(const char *s, __u64 *nano);

/* @num / @den rounded to an integer with mode @r. @den > 0. */
unsigned __int128 div_round(unsigned __int128 num, unsigned __int128 den,
			    enum rounding r);

/*
 * Write @num / @den in decimal with @decimals digits after the point
 * (0..18), rounded with @r, into @buf. Returns @buf.
 */
const char *fmt_fraction(char *buf, size_t len, unsigned __int128 num,
			 unsigned __int128 den, int decimals, enum rounding r);

/* Cents as "12.34". Returns @buf. */
const char *fmt_cents(char *buf, size_t len, __u64 cents);

/* A traffic type's line in a tenant's day. */
struct bill_line {
	int type;			/* index in ledger_traffic[] */
	__u64 bytes;
	__u64 unexplained_bytes;
	__u64 price;			/* nano per GB; 0: free */
	unsigned __int128 cost;		/* bytes x price: nano x GB bytes */
};

struct bill_day {
	char day[LEDGER_DAY_SIZE];
	struct bill_line lines[LEDGER_NR_TRAFFIC];
	int nr_lines;
	unsigned __int128 cost;		/* exact sum of the lines */
	__u64 cents;			/* settled */
};

struct bill_tenant {
	char tenant[LEDGER_NAME_SIZE];
	__u64 calls;
	__u64 free_calls;
	__u64 billed_calls;
	__u64 units;
	__u64 calls_cents;		/* settled */
	struct bill_day *days;
	size_t nr_days;
	__u64 traffic_cents;		/* sum of the day settlements */
	__u64 unexplained_bytes;
	__u64 total_cents;
};

struct bill {
	struct plan plan;
	char month[LEDGER_MONTH_SIZE];
	struct bill_tenant *tenants;
	size_t nr_tenants;
	__u64 total_cents;
};

/*
 * Rate month @month ("YYYY-MM") of usage @rows (any order; rows of the
 * same tenant, day and traffic type add up; host, service and backend are
 * not looked at) under plan @p. Pure: no I/O. Returns 0, -EINVAL (a row
 * of another month, an unknown traffic type), -EOVERFLOW, -ENOMEM.
 */
int rate_month(const struct plan *p, const char *month,
	       const struct ledger_usage *rows, size_t nr, struct bill *b);

void bill_free(struct bill *b);

/* Print @b as a table, JSON or CSV. Returns 0 or -EIO. */
int bill_print(FILE *f, const struct bill *b, enum dump_format fmt);

#endif /* TOLLGATE_RATE_H */
