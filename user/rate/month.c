// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * month.c - the rate stage's month: read a month of usage from ledgers
 * and the fleet ledger, merged, and rate it (month.h).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/fleet.h"
#include "ledger/tz.h"
#include "lib/array.h"
#include "lib/log.h"
#include "rate/month.h"

int rate_today(const struct plan *p, time_t now, char *month, char *day)
{
	struct tz *tz = NULL;
	int err;

	err = tz_load(&tz, p->time_zone);
	if (!err)
		err = day_of(now, tz, day, LEDGER_DAY_SIZE);
	tz_free(tz);
	if (err) {
		pr_warn("no current day in %s: %s", p->time_zone,
			strerror(-err));
		return err;
	}
	snprintf(month, LEDGER_MONTH_SIZE, "%.7s", day);
	return 0;
}

struct rows {
	struct ledger_usage *v;
	size_t nr, cap;
};

static int keep_row(const struct ledger_usage *r, void *ctx)
{
	struct rows *rs = ctx;

	if (ARRAY_GROW(rs->v, rs->nr + 1, rs->cap, 64))
		return -ENOMEM;
	rs->v[rs->nr++] = *r;
	return 0;
}

static int merge_row(const struct ledger_usage *r, void *ctx)
{
	return ledger_put(ctx, r, LEDGER_MAX);
}

/* Every source's rows of @flt, merged into a scratch ledger and summed
 * into @rs. */
static int merged_rows(const struct plan *p, const struct rate_source *src,
		       const struct ledger_filter *flt, struct rows *rs)
{
	struct ledger *merged = NULL;
	int i, err;

	err = ledger_open_scratch(&merged);
	if (err)
		return err;
	err = ledger_begin(merged);
	if (!err && src->ledger)
		err = ledger_scan(src->ledger, flt, merge_row, merged);
	/* The fleet ledger's rows go through the same merge and sums. */
	if (!err && src->db)
		err = fleet_scan(src->db, p->time_zone, flt, merge_row, merged);
	for (i = 0; i < src->nr_paths && !err; i++) {
		struct ledger *l = NULL;

		/* The plan's natural days must be the ledger's. */
		err = ledger_open(&l, src->paths[i], LEDGER_RDONLY,
				  p->time_zone);
		if (err)
			break;
		err = ledger_scan(l, flt, merge_row, merged);
		ledger_close(l);
	}
	if (!err)
		err = ledger_sum(merged, NULL, keep_row, rs);
	ledger_close(merged);
	return err;
}

/* The month's rows of @src that @flt lets through, summed, into @rs. */
static int month_rows(const struct plan *p, const struct rate_source *src,
		      const struct ledger_filter *flt, struct rows *rs)
{
	/* One ledger alone needs no merge: its sums are the month's. */
	if (src->ledger && !src->db && !src->nr_paths)
		return ledger_sum(src->ledger, flt, keep_row, rs);
	return merged_rows(p, src, flt, rs);
}

/*
 * Tenant @tenant has no row in month @month of @src: say so, with the
 * tenants that have (a misspelt name must not print an empty bill).
 * Returns -ENOENT, or what reading the sources returns.
 */
static int no_such_tenant(const struct plan *p, const char *month,
			  const struct rate_source *src,
			  struct ledger_filter flt, const char *tenant)
{
	struct rows all = {};
	char names[512] = "";
	size_t i, n = 0, nr = 0;
	int err;

	flt.tenant = NULL;
	err = month_rows(p, src, &flt, &all);
	for (i = 0; !err && i < all.nr; i++) {
		const char *t = all.v[i].k.tenant;

		/* Rows come ordered by tenant. */
		if (i && !strcmp(t, all.v[i - 1].k.tenant))
			continue;
		nr++;
		if (n < sizeof(names) - 1)
			n += snprintf(names + n, sizeof(names) - n, "%s%s%s%s",
				      n ? ", " : "", *t ? "'" : "",
				      *t ? t : "'' (unattributed)",
				      *t ? "'" : "");
	}
	free(all.v);
	if (err)
		return err;
	if (n >= sizeof(names) - 1)
		snprintf(names + sizeof(names) - 5, 5, "...");
	if (*tenant)
		pr_warn("no usage of tenant '%s' in %s: %s%s", tenant, month,
			nr ? "the month has usage of " : "nothing was used",
			names);
	else
		pr_warn("no unattributed usage in %s: %s%s", month,
			nr ? "the month has usage of " : "nothing was used",
			names);
	return -ENOENT;
}

int rate_usage(const struct plan *p, const char *month,
	       const struct rate_source *src, const char *tenant,
	       struct bill *b)
{
	char since[LEDGER_DAY_SIZE], until[LEDGER_DAY_SIZE];
	struct ledger_filter flt = { .since = since, .until = until,
				     .tenant = tenant };
	struct rows rs = {};
	int err;

	memset(b, 0, sizeof(*b));
	if (rate_month_days(month, since, until)) {
		pr_warn("'%s' is not a month YYYY-MM", month);
		return -EINVAL;
	}
	err = month_rows(p, src, &flt, &rs);
	if (!err && tenant && !rs.nr)
		err = no_such_tenant(p, month, src, flt, tenant);
	if (err == -EOVERFLOW)
		pr_warn("the month's totals pass %lld", (long long)INT64_MAX);
	if (!err) {
		err = rate_month(p, month, rs.v, rs.nr, b);
		if (err)
			pr_warn("%s", b->error);
	}
	free(rs.v);
	return err;
}
