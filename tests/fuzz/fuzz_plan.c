// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_plan.c - libFuzzer target: arbitrary bytes as a price plan file
 * (YAML, `tollgate rate --plan FILE`).
 *
 * A plan plan_parse() takes must be one a bill can be computed from:
 * a name, every outbound traffic type priced (inbound never), prices
 * and units in range, a rounding mode, NUL-terminated text; and every
 * region it names must be the one `--region` selects by that id, with
 * prices in range after the selection.
 *
 * Short inputs also go through money_parse() and are checked against a
 * reading of the decimal written here: the digits, at most 9 decimals,
 * at most 1,000,000.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "rate/plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_level = -1;		/* pr_warn() says nothing */
	return 0;
}

static void fail(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_plan: %s: %s\n", what, detail);
	abort();
}

static bool terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

#define NR_TRAFFIC(a) (sizeof(a) / sizeof((a)[0]))

static void check_prices(const struct plan *p, const char *where)
{
	size_t t;

	if (p->traffic[0])
		fail("inbound traffic has a price", where);
	for (t = 0; t < NR_TRAFFIC(p->traffic); t++)
		if (p->traffic[t] > PRICE_MAX)
			fail("a traffic price above the maximum", where);
}

static void check_plan(const struct plan *p)
{
	size_t i, j;

	if (!terminated(p->name, sizeof(p->name)) || !*p->name ||
	    !terminated(p->title, sizeof(p->title)) ||
	    !terminated(p->currency, sizeof(p->currency)) ||
	    !terminated(p->time_zone, sizeof(p->time_zone)))
		fail("a text setting is empty or unterminated", p->name);
	if (!p->gb_bytes || p->gb_bytes > 1ULL << 50 || !p->calls_unit ||
	    p->calls_unit > INT64_MAX || p->calls_free > INT64_MAX ||
	    p->call_unit_price > PRICE_MAX || !rounding_name(p->rounding))
		fail("a number out of range", p->name);
	check_prices(p, "the plan");
	if (p->nr_regions > PLAN_MAX_REGIONS)
		fail("too many regions", p->name);
	for (i = 0; i < p->nr_regions; i++) {
		const struct plan_region *r = &p->regions[i];
		struct plan *q;

		if (!terminated(r->id, sizeof(r->id)) ||
		    !terminated(r->name, sizeof(r->name)))
			fail("a region's text is unterminated", p->name);
		for (j = 0; j < NR_TRAFFIC(r->traffic); j++)
			if (r->has_price[j] && r->traffic[j] > PRICE_MAX)
				fail("a region's price above the maximum",
				     r->id);
		/* --region <id> selects this region, not another */
		q = malloc(sizeof(*q));
		if (!q)
			abort();
		*q = *p;
		if (plan_select_region(q, r->id))
			fail("a region named in the plan is not found", r->id);
		if (strcmp(q->region, r->id))
			fail("--region selects another region of the plan",
			     r->id);
		check_prices(q, r->id);
		free(q);
	}
}

/* Is @s a plain decimal as plan.h describes it? Sets *@over when it is
 * one above PRICE_MAX. */
static bool decimal(const char *s, bool *over)
{
	const char *p = s, *dot;
	size_t whole, frac = 0;

	while (*p >= '0' && *p <= '9')
		p++;
	whole = p - s;
	dot = p;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++)
			frac++;
		if (!frac)
			return false;
	}
	if (*p || !whole || frac > 9)
		return false;
	/* above 1000000: more than 7 digits without leading zeros, or
	 * 1000000 with a fraction that is not all zeros */
	while (whole > 1 && *s == '0') {
		s++;
		whole--;
	}
	*over = whole > 7 ||
		(whole == 7 && (strncmp(s, "1000000", 7) > 0 ||
				(!strncmp(s, "1000000", 7) && frac &&
				 strspn(dot + 1, "0") != frac)));
	return true;
}

static void check_money(const uint8_t *data, size_t size)
{
	char s[64], back[64], want[64];
	bool over = false, ok;
	__u64 nano;
	size_t n, i;
	int err;

	if (size >= sizeof(s) || memchr(data, '\0', size))
		return;
	memcpy(s, data, size);
	s[size] = '\0';
	err = money_parse(s, &nano);
	ok = decimal(s, &over);
	if (!ok) {
		/* -ERANGE too, for a long whole part before the rest */
		if (!err)
			fail("money_parse() takes what is no plain decimal", s);
		return;
	}
	if (over) {
		if (err != -ERANGE)
			fail("money_parse() takes an amount above the maximum",
			     s);
		return;
	}
	if (err)
		fail("money_parse() refuses a plain decimal", s);
	/* the value written back is the text without its leading and
	 * trailing zeros */
	n = snprintf(back, sizeof(back), "%llu.%09llu",
		     (unsigned long long)(nano / NANO),
		     (unsigned long long)(nano % NANO));
	while (back[n - 1] == '0')
		back[--n] = '\0';
	if (back[n - 1] == '.')
		back[--n] = '\0';
	for (i = 0; s[i] == '0' && s[i + 1] >= '0' && s[i + 1] <= '9'; i++)
		;
	snprintf(want, sizeof(want), "%s", s + i);
	n = strlen(want);
	if (strchr(want, '.')) {
		while (want[n - 1] == '0')
			want[--n] = '\0';
		if (want[n - 1] == '.')
			want[--n] = '\0';
	}
	if (strcmp(back, want))
		fail("money_parse() reads another amount", s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct plan *p = malloc(sizeof(*p));

	if (!p)
		abort();
	check_money(data, size);
	if (!plan_parse(p, (const char *)data, size, "fuzz.yaml"))
		check_plan(p);
	free(p);
	return 0;
}
