/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * rate.h - the rate stage's engine: from a month of ledger rows to a bill
 * per tenant, under a price plan (rate/plan.h).
 *
 * Money is integers only. Prices are nano-units (1e-9 of the currency,
 * rate/plan.h); a cost is kept as an exact
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
 * settlement plus its day settlements; the tenants' total is the sum of
 * their totals.
 *
 * Usage that no rule gave a tenant (tenant "" in the ledger) is nobody's
 * to pay: it is rated apart, as "unattributed", without a free allowance
 * (the allowance is each tenant's), and is not in the tenants' total.
 * The bill's total is the tenants' total plus the unattributed total.
 *
 * Settled amounts are kept in 64-bit cents: an amount that does not fit
 * (more than 184,467,440,737,095,516.15) is refused with -EOVERFLOW,
 * never cut to 64 bits.
 */
#ifndef TOLLGATE_RATE_H
#define TOLLGATE_RATE_H

#include <stdbool.h>
#include <stdio.h>
#include <linux/types.h>

#include "ledger/ledger.h"
#include "rate/plan.h"

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
	int type;			/* index in traffic_types[] */
	__u64 bytes;
	__u64 unexplained_bytes;
	__u64 price;			/* nano per GB; 0: free */
	unsigned __int128 cost;		/* bytes x price: nano x GB bytes */
};

struct bill_day {
	char day[LEDGER_DAY_SIZE];
	struct bill_line lines[TG_NR_TRAFFIC];
	int nr_lines;
	unsigned __int128 cost;		/* exact sum of the lines */
	__u64 cents;			/* settled */
};

struct bill_tenant {
	char tenant[LEDGER_NAME_SIZE];	/* "": the unattributed usage */
	__u64 free_allowance;		/* free calls it may use this month:
					 * the plan's, 0 when unattributed */
	__u64 calls;
	__u64 free_calls;		/* of the allowance, used */
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
	struct bill_tenant *tenants;	/* by name; never the unattributed */
	size_t nr_tenants;
	struct bill_tenant unattributed;	/* usage of no tenant, when
						 * has_unattributed */
	bool has_unattributed;
	__u64 tenants_cents;		/* sum of the tenants' totals */
	__u64 total_cents;		/* tenants_cents plus the
					 * unattributed total */
	char error[256];		/* why rate_month() failed */
};

/*
 * The days of month @month ("YYYY-MM") as the bounds of a ledger_filter:
 * @since its first day, @until the first day of the next month, or ""
 * (no bound) for 9999-12, after which no day exists. Both of
 * LEDGER_DAY_SIZE bytes. Returns 0 or -EINVAL (not a month).
 */
int rate_month_days(const char *month, char *since, char *until);

/*
 * Rate month @month ("YYYY-MM") of usage @rows (any order; rows of the
 * same tenant, day and traffic type add up; host, service and backend are
 * not looked at) under plan @p. Pure: no I/O. Returns 0, -EINVAL (a row
 * of another month, an unknown traffic type), -EOVERFLOW, -ENOMEM; on
 * failure @b->error says what and where, and @b holds nothing else.
 */
int rate_month(const struct plan *p, const char *month,
	       const struct ledger_usage *rows, size_t nr, struct bill *b);

void bill_free(struct bill *b);

#endif /* TOLLGATE_RATE_H */
