// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * rate.c - `tollgate rate`: merge a month of one or more ledgers (and the
 * fleet ledger), rate it under a price plan, print the bill.
 *
 * Ledgers from several hosts are merged row by row. The same key (host,
 * day, tenant, service, backend, traffic type) in two files is the same
 * record, taken once: a day row is a running total, so of two copies the
 * later is never smaller in any counter, and the field-wise maximum is
 * the later copy whatever the order of the files. The free allowance of
 * calls then applies per tenant across every host of every ledger given.
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/cmd.h"
#include "ledger/fleet.h"
#include "ledger/tz.h"
#include "lib/log.h"
#include "rate/bill.h"

/* `tollgate rate` */

static int merge_row(const struct ledger_usage *r, void *ctx)
{
	return ledger_put(ctx, r, LEDGER_MAX);
}

struct rows {
	struct ledger_usage *v;
	size_t nr, cap;
};

static int keep_row(const struct ledger_usage *r, void *ctx)
{
	struct rows *rs = ctx;

	if (rs->nr == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 64;
		struct ledger_usage *v = realloc(rs->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		rs->v = v;
		rs->cap = cap;
	}
	rs->v[rs->nr++] = *r;
	return 0;
}

/*
 * Read month @flt of every ledger in @paths, merged (see the top of this
 * file), summed per tenant, day and traffic type, into @rs.
 */
static int load_month(char **paths, int nr, const char *db,
		      const struct plan *p, const struct ledger_filter *flt,
		      struct rows *rs)
{
	struct ledger *merged = NULL;
	int i, err;

	err = ledger_open_scratch(&merged);
	if (err)
		return err;
	err = ledger_begin(merged);
	/* The fleet ledger's rows go through the same merge and sums. */
	if (!err && db)
		err = fleet_scan(db, p->time_zone, flt, merge_row, merged);
	for (i = 0; i < nr && !err; i++) {
		struct ledger *l = NULL;

		/* The plan's natural days must be the ledger's. */
		err = ledger_open(&l, paths[i], LEDGER_RDONLY, p->time_zone);
		if (err)
			break;
		err = ledger_scan(l, flt, merge_row, merged);
		ledger_close(l);
	}
	if (!err)
		err = ledger_sum(merged, NULL, keep_row, rs);
	if (err == -EOVERFLOW)
		pr_warn("the month's totals pass %lld", (long long)INT64_MAX);
	else if (err == -ENOMEM)
		pr_warn("rate: out of memory");
	ledger_close(merged);
	return err;
}

static const char rate_usage[] =
	"Usage: tollgate rate [--ledger FILE]... [--db URL] [--plan NAME|FILE]\n"
	"                     [--month YYYY-MM] [--tenant T] [--region R]\n"
	"                     [--format table|json|csv] [--rounding MODE]\n"
	"                     [--gb-bytes N] [--trial] [FILE...]\n"
	"\n"
	"Rate a month of usage under a price plan and print the bill, per\n"
	"tenant: calls, free calls, billed units and their cost; per day and\n"
	"traffic type the bytes, GB and cost; and totals. Calls are settled per\n"
	"tenant per month across every host and ledger given, traffic per\n"
	"tenant per natural day, each rounded once to 0.01. Lines per traffic\n"
	"type show 4 decimals and are not rounded into the day: the day is\n"
	"rounded from their exact sum. The same record in two ledgers counts\n"
	"once.\n"
	"\n"
	"Options:\n"
	"  -l, --ledger FILE     a ledger; repeat, or list files after the\n"
	"                        options (default " TG_DEFAULT_LEDGER ")\n"
	"      --db URL          the fleet ledger, a PostgreSQL connection\n"
	"                        string (see 'tollgate run --ship'); no\n"
	"                        local ledger is read unless also given\n"
	"  -p, --plan NAME|FILE  built-in plan (jdcloud, tencent) or a YAML\n"
	"                        file (default jdcloud)\n"
	"  -m, --month YYYY-MM   the month (default: the current one in the\n"
	"                        plan's time zone)\n"
	"  -t, --tenant T        only tenant T\n"
	"  -r, --region R        price for region R of the plan (id or name)\n"
	"  -f, --format table|json|csv\n"
	"                        output format (default table)\n"
	"      --rounding MODE   half-up, half-even, up or down (default: the\n"
	"                        plan's)\n"
	"      --gb-bytes N      bytes in a GB: 1073741824 or 1000000000\n"
	"                        (default: the plan's)\n"
	"      --trial           charge nothing (trial period)\n"
	"  -h, --help            this help\n"
	"\n"
	"Examples:\n"
	"  tollgate rate --month 2024-06\n"
	"  tollgate rate --plan tencent --month 2024-06 --format json gw*.db\n"
	"  tollgate rate --db postgresql://billing@db.internal/billing\n"
	"  tollgate rate --plan ./contract.yaml --region cn-east-2 "
	"--tenant acme\n";

/* `tollgate rate`: see rate_usage. */
int cmd_rate(int argc, char **argv)
{
	enum { OPT_ROUNDING = 256, OPT_GB, OPT_TRIAL, OPT_DB };
	static const struct option longopts[] = {
		{ "ledger", required_argument, NULL, 'l' },
		{ "plan", required_argument, NULL, 'p' },
		{ "month", required_argument, NULL, 'm' },
		{ "tenant", required_argument, NULL, 't' },
		{ "region", required_argument, NULL, 'r' },
		{ "format", required_argument, NULL, 'f' },
		{ "rounding", required_argument, NULL, OPT_ROUNDING },
		{ "gb-bytes", required_argument, NULL, OPT_GB },
		{ "trial", no_argument, NULL, OPT_TRIAL },
		{ "db", required_argument, NULL, OPT_DB },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *plan_name = "jdcloud", *month = NULL, *region = NULL;
	const char *rounding = NULL, *db = NULL;
	char this_month[LEDGER_MONTH_SIZE], since[LEDGER_DAY_SIZE],
		until[LEDGER_DAY_SIZE];
	static char default_ledger[] = TG_DEFAULT_LEDGER;
	enum out_format fmt = FMT_TABLE;
	struct ledger_filter flt = {};
	struct rows rs = {};
	struct plan plan;
	struct bill bill;
	__u64 gb = 0;
	bool trial = false;
	char **paths;
	int c, err, nr = 0;

	paths = calloc(argc + 1, sizeof(*paths));
	if (!paths)
		return 1;
	while ((c = getopt_long(argc, argv, "l:p:m:t:r:f:h", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'l':
			paths[nr++] = optarg;
			break;
		case 'p':
			plan_name = optarg;
			break;
		case 'm':
			if (!month_valid(optarg)) {
				pr_warn("--month: '%s' is not YYYY-MM", optarg);
				goto usage;
			}
			month = optarg;
			break;
		case 't':
			flt.tenant = optarg;
			break;
		case 'r':
			region = optarg;
			break;
		case 'f':
			if (format_parse(optarg, &fmt)) {
				pr_warn("--format: '%s' is not one of table, "
					"json, csv",
					optarg);
				goto usage;
			}
			break;
		case OPT_ROUNDING:
			rounding = optarg;
			break;
		case OPT_GB:
			if (parse_u64(optarg, 1, 1ULL << 50, &gb)) {
				pr_warn("--gb-bytes: '%s' is not a number of "
					"bytes",
					optarg);
				goto usage;
			}
			break;
		case OPT_TRIAL:
			trial = true;
			break;
		case OPT_DB:
			if (!*optarg) {
				pr_warn("--db: empty connection string");
				goto usage;
			}
			db = optarg;
			break;
		case 'h':
			fputs(rate_usage, stdout);
			free(paths);
			return 0;
		default:
			goto usage;
		}
	}
	while (optind < argc)
		paths[nr++] = argv[optind++];
	if (!nr && !db)
		paths[nr++] = default_ledger;

	if (plan_load(&plan, plan_name))
		goto fail;
	if (region && plan_select_region(&plan, region))
		goto fail;
	if (rounding && rounding_parse(rounding, &plan.rounding)) {
		pr_warn("--rounding: '%s' is not one of half-up, half-even, "
			"up, down",
			rounding);
		goto usage;
	}
	if (gb)
		plan.gb_bytes = gb;
	if (trial)
		plan.trial = true;
	if (!month) {
		struct tz *tz;

		if (tz_load(&tz, plan.time_zone))
			goto fail;
		err = day_of(time(NULL), tz, since, sizeof(since));
		tz_free(tz);
		if (err) {
			pr_warn("rate: no current month: %s", strerror(-err));
			goto fail;
		}
		snprintf(this_month, sizeof(this_month), "%.7s", since);
		month = this_month;
	}
	if (rate_month_days(month, since, until)) {
		pr_warn("--month: '%s' is not YYYY-MM", month);
		goto fail;
	}
	flt.since = since;
	flt.until = until;

	err = load_month(paths, nr, db, &plan, &flt, &rs);
	if (!err) {
		err = rate_month(&plan, month, rs.v, rs.nr, &bill);
		if (err)
			pr_warn("rate: %s", bill.error);
	}
	free(rs.v);
	if (err)
		goto fail;
	err = bill_print(stdout, &bill, fmt);
	bill_free(&bill);
	if (!err && fflush(stdout))
		err = -errno;
	if (err) {
		pr_warn("rate: cannot write the bill: %s", strerror(-err));
		goto fail;
	}
	free(paths);
	return 0;
usage:
	free(paths);
	fputs(rate_usage, stderr);
	return 2;
fail:
	free(paths);
	return 1;
}
