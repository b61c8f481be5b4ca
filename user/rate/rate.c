// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * rate.c - the rate stage's engine: a month of usage rows and a price plan in,
 * a bill per tenant out, in integer arithmetic only.
 *
 * Each settlement (a tenant's month of calls, a tenant's day of traffic)
 * is computed as an exact fraction and rounded once, to 0.01, with the
 * plan's rounding mode; see rate.h for how lines, days and totals relate.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rate/rate.h"
#include "ledger/tz.h"

typedef unsigned __int128 u128;

/* @num / @den rounded with mode @r; see rate.h. */
u128 div_round(u128 num, u128 den, enum rounding r)
{
	u128 q = num / den, rem = num % den;

	switch (r) {
	case ROUND_UP:
		return q + (rem != 0);
	case ROUND_DOWN:
		return q;
	case ROUND_HALF_EVEN:
		/* rem < den, so 2 * rem cannot overflow for den < 2^127 */
		if (rem * 2 > den || (rem * 2 == den && (q & 1)))
			q++;
		return q;
	case ROUND_HALF_UP:
	default:
		return q + (rem * 2 >= den);
	}
}

static char *u128_str(char *end, u128 v)
{
	*--end = '\0';
	do {
		*--end = '0' + (int)(v % 10);
		v /= 10;
	} while (v);
	return end;
}

/* @num / @den in decimal with @decimals digits; see rate.h. */
const char *fmt_fraction(char *buf, size_t len, u128 num, u128 den,
			 int decimals, enum rounding r)
{
	char digits[48], padded[48], *s;
	u128 scale = 1;
	size_t n;
	int i;

	for (i = 0; i < decimals; i++)
		scale *= 10;
	/* Callers keep num * scale below 2^128: costs are below 2^113 and
	 * shown with 4 decimals, bytes below 2^63 with 6. */
	s = u128_str(digits + sizeof(digits), div_round(num * scale, den, r));
	n = strlen(s);
	if (n <= (size_t)decimals) {
		/* at least one digit before the point */
		memset(padded, '0', decimals + 1 - n);
		strcpy(padded + decimals + 1 - n, s);
		s = padded;
		n = decimals + 1;
	}
	if (decimals)
		snprintf(buf, len, "%.*s.%s", (int)(n - decimals), s,
			 s + n - decimals);
	else
		snprintf(buf, len, "%s", s);
	return buf;
}

/* Cents as "12.34"; see rate.h. */
const char *fmt_cents(char *buf, size_t len, __u64 cents)
{
	snprintf(buf, len, "%llu.%02llu", (unsigned long long)(cents / 100),
		 (unsigned long long)(cents % 100));
	return buf;
}

/* The bounds of a month's days; see rate.h. */
int rate_month_days(const char *month, char *since, char *until)
{
	char next[LEDGER_MONTH_SIZE];
	int err;

	if (!month_valid(month))
		return -EINVAL;
	snprintf(since, LEDGER_DAY_SIZE, "%.7s-01", month);
	/* Days are years 0000-9999: nothing follows 9999-12-31. */
	if (!strcmp(month, "9999-12")) {
		*until = '\0';
		return 0;
	}
	err = month_next(month, next);
	if (err)
		return err;
	snprintf(until, LEDGER_DAY_SIZE, "%.7s-01", next);
	return 0;
}

static const char *tenant_label(const char *t)
{
	return *t ? t : "(no tenant)";
}

/* Say in @b why rating failed; returns @err. */
__attribute__((format(printf, 3, 4)))
static int fail(struct bill *b, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b->error, sizeof(b->error), fmt, ap);
	va_end(ap);
	return err;
}

static int cmp_row(const void *pa, const void *pb)
{
	const struct ledger_usage *a = pa, *b = pb;
	int c = strcmp(a->k.tenant, b->k.tenant);

	if (!c)
		c = strcmp(a->k.day, b->k.day);
	if (!c)
		c = traffic_index(a->k.traffic_type) -
		    traffic_index(b->k.traffic_type);
	return c;
}

static int add_u64(__u64 *sum, __u64 v)
{
	return __builtin_add_overflow(*sum, v, sum) ? -EOVERFLOW : 0;
}

/*
 * Amounts are kept in 64-bit cents; one past them (more than
 * 184,467,440,737,095,516.15) is refused, never cut to 64 bits.
 * @cents is the exact amount; returns 0 or -EOVERFLOW with the message.
 */
static int check_cents(struct bill *b, u128 cents, const char *what)
{
	char a[64], m[64];

	if (cents <= UINT64_MAX)
		return 0;
	return fail(b, -EOVERFLOW,
		    "%s %s %s, more than a bill holds (%s)", what,
		    fmt_fraction(a, sizeof(a), cents, 100, 2, ROUND_DOWN),
		    b->plan.currency,
		    fmt_fraction(m, sizeof(m), UINT64_MAX, 100, 2, ROUND_DOWN));
}

/* Settle the calls of @t: free allowance, whole units, one rounding. */
static int settle_calls(const struct plan *p, struct bill_tenant *t,
			struct bill *b)
{
	char what[LEDGER_NAME_SIZE + 32];
	__u64 billed;
	u128 cents;

	t->free_calls = t->calls < t->free_allowance ? t->calls :
						       t->free_allowance;
	billed = t->calls - t->free_calls;
	t->billed_calls = billed;
	/* A partial unit is charged as a whole one. */
	t->units = billed / p->calls_unit + (billed % p->calls_unit != 0);
	/* < 2^64 units x < 2^50 nano: no overflow */
	cents = p->trial ? 0 :
			   div_round((u128)t->units * p->call_unit_price,
				     NANO_PER_CENT, p->rounding);
	snprintf(what, sizeof(what), "tenant %s: calls cost",
		 tenant_label(t->tenant));
	if (check_cents(b, cents, what))
		return -EOVERFLOW;
	t->calls_cents = cents;
	return 0;
}

/* Settle one day of traffic: the exact sum of the lines, rounded once. */
static int settle_day(const struct plan *p, const struct bill_tenant *t,
		      struct bill_day *d, struct bill *b)
{
	char what[LEDGER_NAME_SIZE + 64];
	u128 cents;
	int i;

	/* < 2^3 lines of < 2^114 each */
	d->cost = 0;
	for (i = 0; i < d->nr_lines; i++)
		d->cost += d->lines[i].cost;
	cents = p->trial ? 0 :
			   div_round(d->cost,
				     (u128)p->gb_bytes * NANO_PER_CENT,
				     p->rounding);
	snprintf(what, sizeof(what), "tenant %s, day %s: traffic costs",
		 tenant_label(t->tenant), d->day);
	if (check_cents(b, cents, what))
		return -EOVERFLOW;
	d->cents = cents;
	return 0;
}

/* Settle a tenant's calls and days and add them up, exactly. */
static int finish_tenant(const struct plan *p, struct bill_tenant *t,
			 struct bill *b)
{
	char what[LEDGER_NAME_SIZE + 32];
	u128 traffic = 0, total;
	size_t i;
	int err;

	err = settle_calls(p, t, b);
	/* Each day below 2^64, fewer than 2^63 days: no overflow. */
	for (i = 0; i < t->nr_days && !err; i++) {
		err = settle_day(p, t, &t->days[i], b);
		traffic += t->days[i].cents;
	}
	if (err)
		return err;
	snprintf(what, sizeof(what), "tenant %s: traffic costs",
		 tenant_label(t->tenant));
	err = check_cents(b, traffic, what);
	if (err)
		return err;
	total = traffic + t->calls_cents;
	snprintf(what, sizeof(what), "tenant %s: the total is",
		 tenant_label(t->tenant));
	err = check_cents(b, total, what);
	if (err)
		return err;
	t->traffic_cents = traffic;
	t->total_cents = total;
	return 0;
}

static void *grow(void *v, size_t nr, size_t *cap, size_t size)
{
	void *n;

	if (nr < *cap)
		return v;
	*cap = *cap ? *cap * 2 : 8;
	n = realloc(v, *cap * size);
	if (n)
		memset((char *)n + nr * size, 0, (*cap - nr) * size);
	return n;
}

/* Rate a month of usage; see rate.h. */
int rate_month(const struct plan *p, const char *month,
	       const struct ledger_usage *rows, size_t nr, struct bill *b)
{
	struct ledger_usage *v = NULL;
	size_t i, tcap = 0, dcap = 0;
	struct bill_tenant *t = NULL;
	struct bill_day *d = NULL;
	int err = 0;

	memset(b, 0, sizeof(*b));
	b->plan = *p;
	if (!month_valid(month))
		return fail(b, -EINVAL, "'%s' is not a month YYYY-MM", month);
	if (!p->calls_unit || !p->gb_bytes)
		return fail(b, -EINVAL, "plan %s: %s is 0", p->name,
			    p->calls_unit ? "gb_bytes" : "calls.unit");
	snprintf(b->month, sizeof(b->month), "%s", month);
	if (nr) {
		v = malloc(nr * sizeof(*v));
		if (!v)
			return fail(b, -ENOMEM, "out of memory");
		memcpy(v, rows, nr * sizeof(*v));
	}
	for (i = 0; i < nr; i++) {
		if (strncmp(v[i].k.day, month, 7) || v[i].k.day[7] != '-')
			err = fail(b, -EINVAL,
				   "host %s: day %s is not in month %s",
				   v[i].k.host, v[i].k.day, month);
		else if (traffic_index(v[i].k.traffic_type) < 0)
			err = fail(b, -EINVAL,
				   "host %s, day %s: '%s' is not a traffic "
				   "type",
				   v[i].k.host, v[i].k.day,
				   v[i].k.traffic_type);
		if (err) {
			free(v);
			return err;
		}
	}
	if (nr)
		qsort(v, nr, sizeof(*v), cmp_row);

	for (i = 0; i < nr && !err; i++) {
		const struct ledger_usage *r = &v[i];
		int type = traffic_index(r->k.traffic_type);
		struct bill_line *line;

		if (!t || strcmp(t->tenant, r->k.tenant)) {
			if (t && (err = finish_tenant(p, t, b)))
				break;
			if (!*r->k.tenant) {
				/* Nobody's to pay: apart, no allowance. */
				t = &b->unattributed;
				b->has_unattributed = true;
			} else {
				b->tenants = grow(b->tenants, b->nr_tenants,
						  &tcap, sizeof(*b->tenants));
				if (!b->tenants) {
					err = fail(b, -ENOMEM, "out of memory");
					break;
				}
				t = &b->tenants[b->nr_tenants++];
				t->free_allowance = p->calls_free;
			}
			snprintf(t->tenant, sizeof(t->tenant), "%s",
				 r->k.tenant);
			d = NULL;
			dcap = 0;
		}
		if (add_u64(&t->calls, r->calls)) {
			err = fail(b, -EOVERFLOW,
				   "tenant %s: more than %llu calls",
				   tenant_label(t->tenant),
				   (unsigned long long)UINT64_MAX);
			break;
		}
		/* Inbound traffic is never billed and is not a line. */
		if (type == 0 || (!r->bytes && !r->unexplained_bytes))
			continue;
		if (!d || strcmp(d->day, r->k.day)) {
			t->days = grow(t->days, t->nr_days, &dcap,
				       sizeof(*t->days));
			if (!t->days) {
				err = fail(b, -ENOMEM, "out of memory");
				break;
			}
			d = &t->days[t->nr_days++];
			snprintf(d->day, sizeof(d->day), "%s", r->k.day);
		}
		line = d->nr_lines && d->lines[d->nr_lines - 1].type == type ?
			       &d->lines[d->nr_lines - 1] :
			       &d->lines[d->nr_lines++];
		line->type = type;
		line->price = p->traffic[type];
		if (add_u64(&line->bytes, r->bytes) ||
		    add_u64(&line->unexplained_bytes, r->unexplained_bytes) ||
		    add_u64(&t->unexplained_bytes, r->unexplained_bytes)) {
			err = fail(b, -EOVERFLOW,
				   "tenant %s, day %s, %s: more than %llu "
				   "bytes",
				   tenant_label(t->tenant), d->day,
				   r->k.traffic_type,
				   (unsigned long long)UINT64_MAX);
			break;
		}
		/* < 2^64 bytes x < 2^50 nano: below 2^114 */
		line->cost = (u128)line->bytes * line->price;
	}
	if (!err && t)
		err = finish_tenant(p, t, b);
	if (!err) {
		/* Each below 2^64, fewer than 2^64 of them. */
		u128 total = 0;

		for (i = 0; i < b->nr_tenants; i++)
			total += b->tenants[i].total_cents;
		err = check_cents(b, total, "the tenants' total is");
		if (!err)
			b->tenants_cents = total;
		total += b->unattributed.total_cents;
		if (!err)
			err = check_cents(b, total, "the bill's total is");
		if (!err)
			b->total_cents = total;
	}
	free(v);
	if (err)
		bill_free(b);
	return err;
}

void bill_free(struct bill *b)
{
	size_t i;

	for (i = 0; i < b->nr_tenants; i++)
		free(b->tenants[i].days);
	free(b->tenants);
	free(b->unattributed.days);
	b->tenants = NULL;
	b->nr_tenants = 0;
	memset(&b->unattributed, 0, sizeof(b->unattributed));
	b->has_unattributed = false;
}
