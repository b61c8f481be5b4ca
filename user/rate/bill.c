// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bill.c - the rate stage's output: a rated month (rate/rate.h) printed
 * as a table, JSON or CSV.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rate/rate.h"
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

/* The table's lines of one tenant, or of the unattributed usage. */
static void table_party(FILE *f, const struct bill *b,
			const struct bill_tenant *t, bool unattributed)
{
	const struct plan *p = &b->plan;
	char c1[64], c2[64], c3[64];
	size_t j;
	int k;

	if (unattributed)
		fprintf(f, "\nunattributed usage (no tenant): no free "
			   "allowance, not in the tenants' total\n");
	else
		fprintf(f, "\ntenant %s\n", t->tenant);
	fprintf(f,
		"  calls %llu, free %llu (allowance %llu), billed %llu in %llu "
		"unit%s of %llu at %s\n",
		(unsigned long long)t->calls,
		(unsigned long long)t->free_calls,
		(unsigned long long)t->free_allowance,
		(unsigned long long)t->billed_calls,
		(unsigned long long)t->units, t->units == 1 ? "" : "s",
		(unsigned long long)p->calls_unit,
		fmt_price(c1, sizeof(c1), p->call_unit_price));
	fprintf(f, "  %-87s %12s\n", "calls settled",
		fmt_cents(c2, sizeof(c2), t->calls_cents));
	if (t->nr_days)
		fprintf(f, "  %-10s  %-35s %16s %12s %9s %12s\n", "DAY",
			"TRAFFIC TYPE", "BYTES", "GB", "PRICE/GB", "COST");
	for (j = 0; j < t->nr_days; j++) {
		const struct bill_day *d = &t->days[j];

		for (k = 0; k < d->nr_lines; k++) {
			const struct bill_line *l = &d->lines[k];

			fprintf(f, "  %-10s  %-35s %16llu %12s %9s %12s\n",
				d->day, traffic_name(l->type),
				(unsigned long long)l->bytes,
				fmt_gb(c1, sizeof(c1), p, l->bytes),
				l->price ? fmt_price(c2, sizeof(c2), l->price) :
					   "free",
				fmt_line_cost(c3, sizeof(c3), p, l));
		}
		fprintf(f, "  %-10s  %-35s %52s\n", d->day, "day settled",
			fmt_cents(c1, sizeof(c1), d->cents));
	}
	fprintf(f, "  %-87s %12s\n", "traffic (sum of the days)",
		fmt_cents(c1, sizeof(c1), t->traffic_cents));
	if (t->unexplained_bytes)
		fprintf(f,
			"  note: %llu bytes went to peers that no rule "
			"explained (billed as their type says)\n",
			(unsigned long long)t->unexplained_bytes);
	fprintf(f, "  %-87s %12s\n",
		unattributed ? "unattributed total" : "tenant total",
		fmt_cents(c1, sizeof(c1), t->total_cents));
}

static void print_table(FILE *f, const struct bill *b)
{
	const struct plan *p = &b->plan;
	char c1[64], what[64];
	size_t i;

	fprintf(f, "plan %s%s%s\n", p->name, *p->title ? ": " : "", p->title);
	fprintf(f,
		"month %s, natural days in %s, 1 GB = %llu bytes, rounding "
		"%s%s%s, amounts in %s\n",
		b->month, p->time_zone, (unsigned long long)p->gb_bytes,
		rounding_name(p->rounding), *p->region ? ", region " : "",
		p->region, p->currency);
	fprintf(f,
		"calls: %llu free per tenant per month, then %s per unit of "
		"%llu calls (a part of a unit is billed as a whole unit)\n",
		(unsigned long long)p->calls_free,
		fmt_price(c1, sizeof(c1), p->call_unit_price),
		(unsigned long long)p->calls_unit);
	if (p->trial)
		fprintf(f, "trial: nothing is charged\n");
	if (!b->nr_tenants && !b->has_unattributed)
		fprintf(f, "\nno usage in %s\n", b->month);
	for (i = 0; i < b->nr_tenants; i++)
		table_party(f, b, &b->tenants[i], false);
	if (b->has_unattributed)
		table_party(f, b, &b->unattributed, true);
	snprintf(what, sizeof(what), "TENANTS (%zu, the sum of their totals)",
		 b->nr_tenants);
	fprintf(f, "\n%-89s %12s\n", what,
		fmt_cents(c1, sizeof(c1), b->tenants_cents));
	fprintf(f, "%-89s %12s\n", "UNATTRIBUTED (usage of no tenant)",
		fmt_cents(c1, sizeof(c1), b->unattributed.total_cents));
	fprintf(f, "%-89s %12s\n", "TOTAL (tenants and unattributed)",
		fmt_cents(c1, sizeof(c1), b->total_cents));
}

static void json_kv(FILE *f, const char *key, const char *val, bool comma)
{
	fprintf(f, "\"%s\":", key);
	json_string(f, val);
	if (comma)
		fputc(',', f);
}

/* One tenant, or the unattributed usage, as a JSON object. */
static void json_party(FILE *f, const struct bill *b,
		       const struct bill_tenant *t)
{
	const struct plan *p = &b->plan;
	char c[64];
	size_t j;
	int k;

	fputc('{', f);
	json_kv(f, "tenant", t->tenant, true);
	fprintf(f, "\"free_allowance\":%llu,",
		(unsigned long long)t->free_allowance);
	fprintf(f,
		"\"calls\":%llu,\"free_calls\":%llu,"
		"\"billed_calls\":%llu,\"call_units\":%llu,",
		(unsigned long long)t->calls,
		(unsigned long long)t->free_calls,
		(unsigned long long)t->billed_calls,
		(unsigned long long)t->units);
	json_kv(f, "calls_cost", fmt_cents(c, sizeof(c), t->calls_cents),
		true);
	fputs("\"days\":[", f);
	for (j = 0; j < t->nr_days; j++) {
		const struct bill_day *d = &t->days[j];

		fprintf(f, "%s{", j ? "," : "");
		json_kv(f, "day", d->day, true);
		fputs("\"lines\":[", f);
		for (k = 0; k < d->nr_lines; k++) {
			const struct bill_line *l = &d->lines[k];

			fprintf(f, "%s{", k ? "," : "");
			json_kv(f, "traffic_type", traffic_name(l->type),
				true);
			fprintf(f,
				"\"bytes\":%llu,\"unexplained_bytes\":%llu,",
				(unsigned long long)l->bytes,
				(unsigned long long)l->unexplained_bytes);
			json_kv(f, "gb", fmt_gb(c, sizeof(c), p, l->bytes),
				true);
			json_kv(f, "price_per_gb",
				fmt_price(c, sizeof(c), l->price), true);
			json_kv(f, "cost", fmt_line_cost(c, sizeof(c), p, l),
				false);
			fputc('}', f);
		}
		fputs("],", f);
		json_kv(f, "cost", fmt_cents(c, sizeof(c), d->cents), false);
		fputc('}', f);
	}
	fputs("],", f);
	json_kv(f, "traffic_cost", fmt_cents(c, sizeof(c), t->traffic_cents),
		true);
	fprintf(f, "\"unexplained_bytes\":%llu,",
		(unsigned long long)t->unexplained_bytes);
	json_kv(f, "total", fmt_cents(c, sizeof(c), t->total_cents), false);
	fputc('}', f);
}

static void print_json(FILE *f, const struct bill *b)
{
	const struct plan *p = &b->plan;
	char c[64];
	size_t i;

	fputc('{', f);
	json_kv(f, "plan", p->name, true);
	json_kv(f, "title", p->title, true);
	json_kv(f, "currency", p->currency, true);
	json_kv(f, "month", b->month, true);
	json_kv(f, "time_zone", p->time_zone, true);
	fprintf(f, "\"gb_bytes\":%llu,", (unsigned long long)p->gb_bytes);
	json_kv(f, "rounding", rounding_name(p->rounding), true);
	json_kv(f, "region", p->region, true);
	fprintf(f, "\"trial\":%s,", p->trial ? "true" : "false");
	fprintf(f, "\"calls_free_per_month\":%llu,\"calls_unit\":%llu,",
		(unsigned long long)p->calls_free,
		(unsigned long long)p->calls_unit);
	json_kv(f, "calls_price_per_unit",
		fmt_price(c, sizeof(c), p->call_unit_price), true);
	fputs("\"tenants\":[", f);
	for (i = 0; i < b->nr_tenants; i++) {
		fputs(i ? ",\n" : "\n", f);
		json_party(f, b, &b->tenants[i]);
	}
	fputs("],\n\"unattributed\":", f);
	if (b->has_unattributed)
		json_party(f, b, &b->unattributed);
	else
		fputs("null", f);
	fputs(",\n", f);
	json_kv(f, "tenants_total", fmt_cents(c, sizeof(c), b->tenants_cents),
		true);
	json_kv(f, "unattributed_total",
		fmt_cents(c, sizeof(c), b->unattributed.total_cents), true);
	json_kv(f, "total", fmt_cents(c, sizeof(c), b->total_cents), false);
	fputs("}\n", f);
}

/*
 * The columns every CSV row starts with: the plan's terms, then the
 * month, the scope and the tenant.
 */
static void csv_head(FILE *f, const struct bill *b, const char *scope,
		     const char *tenant)
{
	const struct plan *p = &b->plan;

	csv_string(f, p->name);
	fputc(',', f);
	csv_string(f, p->region);
	fputc(',', f);
	csv_string(f, p->currency);
	fprintf(f, ",%s,%llu,%s,%s,%s,%s,", p->time_zone,
		(unsigned long long)p->gb_bytes, rounding_name(p->rounding),
		p->trial ? "true" : "false", b->month, scope);
	csv_string(f, tenant);
	fputc(',', f);
}

static void csv_party_head(FILE *f, const struct bill *b,
			   const struct bill_tenant *t)
{
	csv_head(f, b, *t->tenant ? "tenant" : "unattributed", t->tenant);
}

/* The CSV rows of one tenant, or of the unattributed usage. kind: calls
 * (settled), traffic (a line, 4 decimals), day (settled), total. */
static void csv_party(FILE *f, const struct bill *b,
		      const struct bill_tenant *t)
{
	const struct plan *p = &b->plan;
	char c1[64], c2[64], c3[64];
	size_t j;
	int k;

	csv_party_head(f, b, t);
	fprintf(f, "calls,,,%llu,%llu,%llu,%llu,%llu,%llu,,,%s,%s\n",
		(unsigned long long)t->calls,
		(unsigned long long)t->free_allowance,
		(unsigned long long)t->free_calls,
		(unsigned long long)t->billed_calls,
		(unsigned long long)p->calls_unit,
		(unsigned long long)t->units,
		fmt_price(c1, sizeof(c1), p->call_unit_price),
		fmt_cents(c2, sizeof(c2), t->calls_cents));
	for (j = 0; j < t->nr_days; j++) {
		const struct bill_day *d = &t->days[j];

		for (k = 0; k < d->nr_lines; k++) {
			const struct bill_line *l = &d->lines[k];

			csv_party_head(f, b, t);
			fprintf(f, "traffic,%s,%s,,,,,,,%llu,%s,%s,%s\n",
				d->day, traffic_name(l->type),
				(unsigned long long)l->bytes,
				fmt_gb(c1, sizeof(c1), p, l->bytes),
				fmt_price(c2, sizeof(c2), l->price),
				fmt_line_cost(c3, sizeof(c3), p, l));
		}
		csv_party_head(f, b, t);
		fprintf(f, "day,%s,,,,,,,,,,,%s\n", d->day,
			fmt_cents(c1, sizeof(c1), d->cents));
	}
	csv_party_head(f, b, t);
	fprintf(f, "total,,,,,,,,,,,,%s\n",
		fmt_cents(c1, sizeof(c1), t->total_cents));
}

/*
 * Every row carries the plan's terms. scope: tenant (the tenant column
 * names it), unattributed (usage of no tenant), tenants (the sum of the
 * tenants' totals), all (tenants and unattributed).
 */
static void print_csv(FILE *f, const struct bill *b)
{
	char c[64];
	size_t i;

	fputs("plan,region,currency,time_zone,gb_bytes,rounding,trial,month,"
	      "scope,tenant,kind,day,traffic_type,calls,free_allowance,"
	      "free_calls,billed_calls,unit_calls,units,bytes,gb,price,cost\n",
	      f);
	for (i = 0; i < b->nr_tenants; i++)
		csv_party(f, b, &b->tenants[i]);
	if (b->has_unattributed)
		csv_party(f, b, &b->unattributed);
	csv_head(f, b, "tenants", "");
	fprintf(f, "total,,,,,,,,,,,,%s\n",
		fmt_cents(c, sizeof(c), b->tenants_cents));
	csv_head(f, b, "all", "");
	fprintf(f, "total,,,,,,,,,,,,%s\n",
		fmt_cents(c, sizeof(c), b->total_cents));
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
