/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * plan.h - the rate stage's price plans: prices per traffic type and per
 * call, free allowances, units, rounding and the time zone of the days a
 * plan settles, read from YAML (built-in plans are the files of
 * deploy/plans, compiled in).
 *
 * Money is integers only: prices are parsed exactly from their decimal
 * text into nano-units (1e-9 of the currency).
 */
#ifndef TOLLGATE_PLAN_H
#define TOLLGATE_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "ledger/ledger.h"

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
	bool has_price[TG_NR_TRAFFIC];
	__u64 traffic[TG_NR_TRAFFIC];	/* overrides, nano per GB */
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
	__u64 traffic[TG_NR_TRAFFIC];	/* nano per GB */
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

#endif /* TOLLGATE_PLAN_H */
