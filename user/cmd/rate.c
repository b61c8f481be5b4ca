// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * rate.c - `tollgate rate`: rate a month of one or more ledgers (and the
 * fleet ledger) under a price plan, and print the bill. Reading and
 * merging the month is the rate stage's (rate/month.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/cmd.h"
#include "cmd/opts.h"
#include "ledger/tz.h"
#include "lib/log.h"
#include "rate/bill.h"
#include "rate/month.h"

static const char rate_help[] =
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
	"  -t, --tenant T        only tenant T ('': the usage of no tenant);\n"
	"                        a tenant without usage in the month is an\n"
	"                        error\n"
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

static int take_month(const char *opt, const char *arg, void *dst)
{
	if (!month_valid(arg)) {
		pr_warn("--month: '%s' is not YYYY-MM", arg);
		return -EINVAL;
	}
	*(const char **)dst = arg;
	return 0;
}

static int take_rounding(const char *opt, const char *arg, void *dst)
{
	if (rounding_parse(arg, dst)) {
		pr_warn("--rounding: '%s' is not one of half-up, half-even, "
			"up, down", arg);
		return -EINVAL;
	}
	return 0;
}

/* The plan @name as the options change it. Returns 0 or -Exxx. */
static int rate_plan(struct plan *p, const char *name, const char *region,
		     int rounding, __u64 gb, bool trial)
{
	if (plan_load(p, name) || (region && plan_select_region(p, region)))
		return -EINVAL;
	if (rounding >= 0)
		p->rounding = rounding;
	if (gb)
		p->gb_bytes = gb;
	if (trial)
		p->trial = true;
	return 0;
}

/* `tollgate rate`: see rate_help. */
int cmd_rate(int argc, char **argv)
{
	const char *plan_name = "jdcloud", *month = NULL, *region = NULL;
	const char *tenant = NULL, *db = NULL;
	static char default_ledger[] = TG_DEFAULT_LEDGER;
	char this_month[LEDGER_MONTH_SIZE], today[LEDGER_DAY_SIZE];
	enum out_format fmt = FMT_TABLE;
	int rounding = -1, first, i, err;
	const char **paths;
	struct plan plan;
	struct bill bill;
	bool trial = false;
	__u64 gb = 0;

	paths = calloc(argc + 2, sizeof(*paths));
	if (!paths)
		return 1;
	const struct opt opts[] = {
		OPT("ledger", 'l', OPT_STR_LIST, paths, .nonempty = true),
		OPT("plan", 'p', OPT_STR, &plan_name, .nonempty = true),
		OPT("month", 'm', OPT_FN, &month, .fn = take_month),
		OPT("tenant", 't', OPT_STR, &tenant),
		OPT("region", 'r', OPT_STR, &region, .nonempty = true),
		OPT("format", 'f', OPT_FORMAT, &fmt),
		OPT("rounding", 0, OPT_FN, &rounding, .fn = take_rounding),
		OPT("gb-bytes", 0, OPT_U64, &gb, .what = "a number of bytes",
		    .min = 1, .max = 1ULL << 50),
		OPT("trial", 0, OPT_FLAG, &trial),
		OPT("db", 0, OPT_STR, &db, .nonempty = true),
		{},
	};

	first = opts_parse(argc, argv, opts, rate_help);
	if (first < 0) {
		free(paths);
		return 2;
	}
	for (i = 0; paths[i]; i++)
		;
	while (first < argc)
		paths[i++] = argv[first++];
	if (!i && !db)
		paths[i++] = default_ledger;

	err = rate_plan(&plan, plan_name, region, rounding, gb, trial);
	if (!err && !month && !(err = rate_today(&plan, time(NULL),
						 this_month, today)))
		month = this_month;
	if (!err)
		err = rate_usage(&plan, month,
				 &(struct rate_source){
					 .paths = (char *const *)paths,
					 .nr_paths = i,
					 .db = db },
				 tenant, &bill);
	free(paths);
	if (err)
		return 1;
	err = bill_print(stdout, &bill, fmt);
	bill_free(&bill);
	if (!err && fflush(stdout))
		err = -errno;
	if (err) {
		pr_warn("rate: cannot write the bill: %s", strerror(-err));
		return 1;
	}
	return 0;
}
