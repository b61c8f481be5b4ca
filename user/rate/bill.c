// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bill.c - `tollgate rate`: merge a month of one or more ledgers, rate it
 * under a price plan, print the bill as a table, JSON or CSV.
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

#include "ledger/fleet.h"
#include "rate/rate.h"
#include "cmd/cmd.h"
#include "lib/log.h"
#include "ledger/tz.h"
#include "rate/bill.h"

/* A price: at least two decimals, more only when it has them. */
static const char *fmt_price(char *buf, size_t len, __u64 nano)
{
	size_t n;

	fmt_fraction(buf, len, nano, NANO, 9, ROUND_DOWN);
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == '0' && buf[n - 3] != '.')
		buf[--n] = '\0';
	return buf;
}

static const char *fmt_gb(char *buf, size_t len, const struct plan *p,
			  __u64 bytes)
{
	return fmt_fraction(buf, len, bytes, p->gb_bytes, 6, ROUND_HALF_UP);
}

/* A line's cost to 4 decimals, rounded like the settlement. */
static const char *fmt_line_cost(char *buf, size_t len, const struct plan *p,
				 const struct bill_line *l)
{
	return fmt_fraction(buf, len, p->trial ? 0 : l->cost,
			    (unsigned __int128)p->gb_bytes * NANO, 4,
			    p->rounding);
}

static const char *tenant_label(const char *t)
{
	return *t ? t : "(no tenant)";
}

static void print_table(FILE *f, const struct bill *b)
{
	const struct plan *p = &b->plan;
	char c1[64], c2[64], c3[64];
	size_t i, j;
	int k;

	fprintf(f, "plan %s%s%s\n", p->name, *p->title ? ": " : "", p->title);
	fprintf(f,
		"month %s, natural days in %s, 1 GB = %llu bytes, rounding "
		"%s%s%s, amounts in %s\n",
		b->month, p->time_zone, (unsigned long long)p->gb_bytes,
		rounding_name(p->rounding), *p->region ? ", region " : "",
		p->region, p->currency);
	if (p->trial)
		fprintf(f, "trial: nothing is charged\n");
	if (!b->nr_tenants)
		fprintf(f, "\nno usage in %s\n", b->month);
	for (i = 0; i < b->nr_tenants; i++) {
		const struct bill_tenant *t = &b->tenants[i];

		fprintf(f, "\ntenant %s\n", tenant_label(t->tenant));
		fprintf(f,
			"  calls %llu, free %llu, billed %llu in %llu unit%s "
			"of %llu at %s\n",
			(unsigned long long)t->calls,
			(unsigned long long)t->free_calls,
			(unsigned long long)t->billed_calls,
			(unsigned long long)t->units, t->units == 1 ? "" : "s",
			(unsigned long long)p->calls_unit,
			fmt_price(c1, sizeof(c1), p->call_unit_price));
		fprintf(f, "  %-87s %12s\n", "calls settled",
			fmt_cents(c2, sizeof(c2), t->calls_cents));
		if (t->nr_days)
			fprintf(f, "  %-10s  %-35s %16s %12s %9s %12s\n", "DAY",
				"TRAFFIC TYPE", "BYTES", "GB", "PRICE/GB",
				"COST");
		for (j = 0; j < t->nr_days; j++) {
			const struct bill_day *d = &t->days[j];

			for (k = 0; k < d->nr_lines; k++) {
				const struct bill_line *l = &d->lines[k];

				fprintf(f,
					"  %-10s  %-35s %16llu %12s %9s %12s\n",
					d->day, ledger_traffic[l->type],
					(unsigned long long)l->bytes,
					fmt_gb(c1, sizeof(c1), p, l->bytes),
					l->price ? fmt_price(c2, sizeof(c2),
							     l->price) :
						   "free",
					fmt_line_cost(c3, sizeof(c3), p, l));
			}
			fprintf(f, "  %-10s  %-35s %52s\n", d->day,
				"day settled",
				fmt_cents(c1, sizeof(c1), d->cents));
		}
		fprintf(f, "  %-87s %12s\n", "traffic (sum of the days)",
			fmt_cents(c1, sizeof(c1), t->traffic_cents));
		if (t->unexplained_bytes)
			fprintf(f,
				"  note: %llu bytes went to peers that no "
				"rule explained (billed as their type says)\n",
				(unsigned long long)t->unexplained_bytes);
		fprintf(f, "  %-87s %12s\n", "tenant total",
			fmt_cents(c1, sizeof(c1), t->total_cents));
	}
	fprintf(f, "\n%-89s %12s\n", "TOTAL",
		fmt_cents(c1, sizeof(c1), b->total_cents));
}

static void json_kv(FILE *f, const char *key, const char *val, bool comma)
{
	fprintf(f, "\"%s\":", key);
	json_string(f, val);
	if (comma)
		fputc(',', f);
}

static void print_json(FILE *f, const struct bill *b)
{
	const struct plan *p = &b->plan;
	char c[64];
	size_t i, j;
	int k;

	fputc('{', f);
	json_kv(f, "plan", p->name, true);
	json_kv(f, "title", p->title, true);
	json_kv(f, "currency", p->currency, true);
	json_kv(f, "month", b->month, true);
	json_kv(f, "time_zone", p->time_zone, true);
	fprintf(f, "\"gb_bytes\":%llu,", (unsigned long long)p->gb_bytes);
	json_kv(f, "rounding", rounding_name(p->rounding), true);
	json_kv(f, "region", p->region, true);
	fprintf(f, "\"trial\":%s,\"tenants\":[", p->trial ? "true" : "false");
	for (i = 0; i < b->nr_tenants; i++) {
		const struct bill_tenant *t = &b->tenants[i];

		fprintf(f, "%s\n{", i ? "," : "");
		json_kv(f, "tenant", t->tenant, true);
		fprintf(f,
			"\"calls\":%llu,\"free_calls\":%llu,"
			"\"billed_calls\":%llu,\"call_units\":%llu,",
			(unsigned long long)t->calls,
			(unsigned long long)t->free_calls,
			(unsigned long long)t->billed_calls,
			(unsigned long long)t->units);
		json_kv(f, "calls_cost",
			fmt_cents(c, sizeof(c), t->calls_cents), true);
		fputs("\"days\":[", f);
		for (j = 0; j < t->nr_days; j++) {
			const struct bill_day *d = &t->days[j];

			fprintf(f, "%s{", j ? "," : "");
			json_kv(f, "day", d->day, true);
			fputs("\"lines\":[", f);
			for (k = 0; k < d->nr_lines; k++) {
				const struct bill_line *l = &d->lines[k];

				fprintf(f, "%s{", k ? "," : "");
				json_kv(f, "traffic_type",
					ledger_traffic[l->type], true);
				fprintf(f,
					"\"bytes\":%llu,"
					"\"unexplained_bytes\":%llu,",
					(unsigned long long)l->bytes,
					(unsigned long long)l->unexplained_bytes);
				json_kv(f, "gb",
					fmt_gb(c, sizeof(c), p, l->bytes),
					true);
				json_kv(f, "price_per_gb",
					fmt_price(c, sizeof(c), l->price),
					true);
				json_kv(f, "cost",
					fmt_line_cost(c, sizeof(c), p, l),
					false);
				fputc('}', f);
			}
			fputs("],", f);
			json_kv(f, "cost", fmt_cents(c, sizeof(c), d->cents),
				false);
			fputc('}', f);
		}
		fputs("],", f);
		json_kv(f, "traffic_cost",
			fmt_cents(c, sizeof(c), t->traffic_cents), true);
		fprintf(f, "\"unexplained_bytes\":%llu,",
			(unsigned long long)t->unexplained_bytes);
		json_kv(f, "total", fmt_cents(c, sizeof(c), t->total_cents),
			false);
		fputc('}', f);
	}
	fputs("],\n", f);
	json_kv(f, "total", fmt_cents(c, sizeof(c), b->total_cents), false);
	fputs("}\n", f);
}

/* "month,tenant," */
static void csv_head(FILE *f, const struct bill *b,
		     const struct bill_tenant *t)
{
	fprintf(f, "%s,", b->month);
	csv_string(f, t->tenant);
	fputc(',', f);
}

/* kind: calls (settled), traffic (a line, 4 decimals), day (settled),
 * tenant (total), total (the bill's). */
static void print_csv(FILE *f, const struct bill *b)
{
	const struct plan *p = &b->plan;
	char c1[64], c2[64], c3[64];
	size_t i, j;
	int k;

	fputs("month,tenant,kind,day,traffic_type,calls,free_calls,units,"
	      "bytes,gb,price,cost\n",
	      f);
	for (i = 0; i < b->nr_tenants; i++) {
		const struct bill_tenant *t = &b->tenants[i];

		csv_head(f, b, t);
		fprintf(f, "calls,,,%llu,%llu,%llu,,,%s,%s\n",
			(unsigned long long)t->calls,
			(unsigned long long)t->free_calls,
			(unsigned long long)t->units,
			fmt_price(c1, sizeof(c1), p->call_unit_price),
			fmt_cents(c2, sizeof(c2), t->calls_cents));
		for (j = 0; j < t->nr_days; j++) {
			const struct bill_day *d = &t->days[j];

			for (k = 0; k < d->nr_lines; k++) {
				const struct bill_line *l = &d->lines[k];

				csv_head(f, b, t);
				fprintf(f, "traffic,%s,%s,,,,%llu,%s,%s,%s\n",
					d->day, ledger_traffic[l->type],
					(unsigned long long)l->bytes,
					fmt_gb(c1, sizeof(c1), p, l->bytes),
					fmt_price(c2, sizeof(c2), l->price),
					fmt_line_cost(c3, sizeof(c3), p, l));
			}
			csv_head(f, b, t);
			fprintf(f, "day,%s,,,,,,,,%s\n", d->day,
				fmt_cents(c1, sizeof(c1), d->cents));
		}
		csv_head(f, b, t);
		fprintf(f, "tenant,,,,,,,,,%s\n",
			fmt_cents(c1, sizeof(c1), t->total_cents));
	}
	fprintf(f, "%s,,total,,,,,,,,,%s\n", b->month,
		fmt_cents(c1, sizeof(c1), b->total_cents));
}

/* Print a bill; see rate.h. */
int bill_print(FILE *f, const struct bill *b, enum out_format fmt)
{
	if (fmt == FMT_JSON)
		print_json(f, b);
	else if (fmt == FMT_CSV)
		print_csv(f, b);
	else
		print_table(f, b);
	return ferror(f) ? -EIO : 0;
}

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
		until[LEDGER_DAY_SIZE], next[LEDGER_MONTH_SIZE];
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
		if (err)
			goto fail;
		snprintf(this_month, sizeof(this_month), "%.7s", since);
		month = this_month;
	}
	month_next(month, next);
	snprintf(since, sizeof(since), "%s-01", month);
	snprintf(until, sizeof(until), "%s-01", next);
	flt.since = since;
	flt.until = until;

	err = load_month(paths, nr, db, &plan, &flt, &rs);
	if (!err)
		err = rate_month(&plan, month, rs.v, rs.nr, &bill);
	free(rs.v);
	if (err) {
		if (err == -EOVERFLOW)
			pr_warn("rate: an amount overflows");
		goto fail;
	}
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
