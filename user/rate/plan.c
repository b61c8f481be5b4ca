// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * plan.c - the rate stage's price plans: YAML files, or the built-in ones (the
 * files of deploy/plans/, compiled in), and exact decimal prices.
 *
 * A plan states everything a bill depends on: currency, the time zone of
 * its natural days, the bytes in a GB, the rounding mode, the calls' free
 * allowance, unit and price, a price per GB for every outbound traffic type,
 * and optionally regions with prices of their own. Nothing is free by
 * omission: a plan that leaves out a traffic type is refused.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "ledger/tz.h"
#include "lib/log.h"
#include "lib/util.h"
#include "rate/plan.h"

static const struct {
	const char *name;
	const char *text;
} builtins[] = {
#include "plans.inc"
};

const char *const *plan_builtins(void)
{
	static const char *names[sizeof(builtins) / sizeof(builtins[0]) + 1];
	size_t i;

	for (i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
		names[i] = builtins[i].name;
	return names;
}

static const char *const rounding_names[] = {
	[ROUND_HALF_UP] = "half-up",
	[ROUND_HALF_EVEN] = "half-even",
	[ROUND_UP] = "up",
	[ROUND_DOWN] = "down",
};

const char *rounding_name(enum rounding r)
{
	return (unsigned int)r < 4 ? rounding_names[r] : NULL;
}

/* Parse a rounding mode; see rate.h. "ceil" is another name for "up". */
int rounding_parse(const char *s, enum rounding *out)
{
	unsigned int i;

	for (i = 0; i < 4; i++) {
		if (!strcmp(s, rounding_names[i])) {
			*out = i;
			return 0;
		}
	}
	if (!strcmp(s, "ceil")) {
		*out = ROUND_UP;
		return 0;
	}
	return -EINVAL;
}

/* Parse an exact decimal amount; see rate.h. */
int money_parse(const char *s, __u64 *nano)
{
	__u64 whole = 0, frac = 0;
	int digits = 0, nfrac = 0;
	const char *p = s;

	for (; isdigit((unsigned char)*p); p++, digits++) {
		if (whole > PRICE_MAX / NANO)
			return -ERANGE;
		whole = whole * 10 + (*p - '0');
	}
	if (*p == '.') {
		for (p++; isdigit((unsigned char)*p); p++, nfrac++) {
			if (nfrac == 9)
				return -EINVAL;
			frac = frac * 10 + (*p - '0');
		}
		if (!nfrac)
			return -EINVAL;
	}
	if (*p || !digits)
		return -EINVAL;
	while (nfrac++ < 9)
		frac *= 10;
	if (whole > PRICE_MAX / NANO || whole * NANO + frac > PRICE_MAX)
		return -ERANGE;
	*nano = whole * NANO + frac;
	return 0;
}

/* YAML walking. */

struct walk {
	yaml_document_t *doc;
	const char *file;
	char path[128];		/* the setting, e.g. "regions.cn-north-1" */
};

static int fail(const struct walk *w, const yaml_node_t *n, const char *fmt,
		...) __attribute__((format(printf, 3, 4)));

/* Report "file:line:col: setting: message" and return -EINVAL. */
static int fail(const struct walk *w, const yaml_node_t *n, const char *fmt,
		...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pr_bare("%s:%zu:%zu: %s%s%s", w->file,
		n ? n->start_mark.line + 1 : 0,
		n ? n->start_mark.column + 1 : 0, w->path, *w->path ? ": " : "",
		msg);
	return -EINVAL;
}

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)
							  n->data.scalar.value :
						  NULL;
}

static int get_text(struct walk *w, const yaml_node_t *n, char *dst,
		    size_t size)
{
	const char *s = scalar(n);

	if (!s)
		return fail(w, n, "not a text value");
	if (!*s || strlen(s) != n->data.scalar.length)
		return fail(w, n, "empty or holds a NUL character");
	if (strlen(s) >= size)
		return fail(w, n, "longer than %zu characters", size - 1);
	strcpy(dst, s);
	return 0;
}

static int get_u64(struct walk *w, const yaml_node_t *n, __u64 min, __u64 max,
		   __u64 *out)
{
	const char *s = scalar(n);
	int err;

	if (!s)
		return fail(w, n, "not a number");
	err = parse_u64(s, min, max, out);
	if (err == -ERANGE)
		return fail(w, n, "'%s' is not in %llu..%llu", s,
			    (unsigned long long)min, (unsigned long long)max);
	if (err)
		return fail(w, n, "'%s' is not a whole number", s);
	return 0;
}

static int get_bool(struct walk *w, const yaml_node_t *n, bool *out)
{
	const char *s = scalar(n);

	if (s && !strcmp(s, "true"))
		*out = true;
	else if (s && !strcmp(s, "false"))
		*out = false;
	else
		return fail(w, n, "not true or false");
	return 0;
}

static int get_price(struct walk *w, const yaml_node_t *n, __u64 *out)
{
	const char *s = scalar(n);
	int err;

	if (!s)
		return fail(w, n, "not an amount");
	err = money_parse(s, out);
	if (err == -ERANGE)
		return fail(w, n, "'%s' is more than 1000000", s);
	if (err)
		return fail(w, n,
			    "'%s' is not a plain decimal amount with at "
			    "most 9 decimals, like 0.80",
			    s);
	return 0;
}

/* Descend into @key of the current path for the duration of a call. */
static size_t push(struct walk *w, const char *key)
{
	size_t len = strlen(w->path);

	snprintf(w->path + len, sizeof(w->path) - len, "%s%s",
		 len ? "." : "", key);
	return len;
}

static void pop(struct walk *w, size_t len)
{
	w->path[len] = '\0';
}

typedef int (*setting_fn)(struct walk *w, const char *key,
			  const yaml_node_t *v, void *ctx);

/* Call @fn for each key of mapping @n, refusing keys that appear twice. */
static int each(struct walk *w, const yaml_node_t *n, setting_fn fn,
		void *ctx)
{
	yaml_node_pair_t *pr, *q;

	if (!n || n->type != YAML_MAPPING_NODE)
		return fail(w, n, "not a mapping of settings");
	for (pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top;
	     pr++) {
		yaml_node_t *k = yaml_document_get_node(w->doc, pr->key);
		yaml_node_t *v = yaml_document_get_node(w->doc, pr->value);
		const char *key = scalar(k);
		size_t len;
		int err;

		if (!key)
			return fail(w, k, "a key is not text");
		for (q = n->data.mapping.pairs.start; q < pr; q++) {
			const char *prev = scalar(
				yaml_document_get_node(w->doc, q->key));

			if (prev && !strcmp(prev, key))
				return fail(w, k, "'%s' appears twice", key);
		}
		len = push(w, key);
		err = fn(w, key, v, ctx);
		pop(w, len);
		if (err)
			return err;
	}
	return 0;
}

struct prices {
	__u64 *price;
	bool *seen;
};

static int traffic_setting(struct walk *w, const char *key,
			   const yaml_node_t *v, void *ctx)
{
	struct prices *pr = ctx;
	int t = traffic_index(key), err;

	if (t < 0)
		return fail(w, v, "not a traffic type (outbound_client, "
				  "outbound_backend_internet, ...)");
	err = get_price(w, v, &pr->price[t]);
	if (err)
		return err;
	if (t == 0 && pr->price[t])
		return fail(w, v, "inbound traffic is never billed");
	pr->seen[t] = true;
	return 0;
}

static int region_setting(struct walk *w, const char *key,
			  const yaml_node_t *v, void *ctx)
{
	struct plan_region *r = ctx;

	if (!strcmp(key, "name"))
		return get_text(w, v, r->name, sizeof(r->name));
	if (!strcmp(key, "traffic")) {
		struct prices pr = { r->traffic, r->has_price };

		return each(w, v, traffic_setting, &pr);
	}
	return fail(w, v, "unknown setting (name, traffic)");
}

/* Does @s name region @q, as plan_select_region() reads a name? */
static bool region_named(const struct plan_region *q, const char *s)
{
	return !strcasecmp(s, q->id) || (*q->name && !strcasecmp(s, q->name));
}

/* --region takes an id or a name, in any case: each must name one region
 * only, or a bill would be priced by whichever comes first. */
static int region_unique(struct walk *w, const yaml_node_t *v,
			 const struct plan *p)
{
	const struct plan_region *r = &p->regions[p->nr_regions - 1], *q;
	const char *s;

	for (q = p->regions; q < r; q++) {
		s = region_named(q, r->id) ? r->id :
		    *r->name && region_named(q, r->name) ? r->name : NULL;
		if (s)
			return fail(w, v, "'%s' already names region %s "
					  "(--region ignores case)",
				    s, q->id);
	}
	return 0;
}

static int regions_setting(struct walk *w, const char *key,
			   const yaml_node_t *v, void *ctx)
{
	struct plan *p = ctx;
	struct plan_region *r;
	int err;

	if (p->nr_regions == PLAN_MAX_REGIONS)
		return fail(w, v, "more than %d regions", PLAN_MAX_REGIONS);
	r = &p->regions[p->nr_regions++];
	if (strlen(key) >= sizeof(r->id))
		return fail(w, v, "region id longer than %zu characters",
			    sizeof(r->id) - 1);
	strcpy(r->id, key);
	/* "cn-north-1:" may have nothing under it */
	if (!v || v->type != YAML_SCALAR_NODE || *scalar(v)) {
		err = each(w, v, region_setting, r);
		if (err)
			return err;
	}
	return region_unique(w, v, p);
}

static int calls_setting(struct walk *w, const char *key,
			 const yaml_node_t *v, void *ctx)
{
	struct plan *p = ctx;

	if (!strcmp(key, "free_per_month"))
		return get_u64(w, v, 0, INT64_MAX, &p->calls_free);
	if (!strcmp(key, "unit"))
		return get_u64(w, v, 1, INT64_MAX, &p->calls_unit);
	if (!strcmp(key, "price_per_unit"))
		return get_price(w, v, &p->call_unit_price);
	return fail(w, v,
		    "unknown setting (free_per_month, unit, price_per_unit)");
}

struct top {
	struct plan *p;
	bool traffic_seen[TG_NR_TRAFFIC];
	bool seen_calls, seen_name;
	const yaml_node_t *traffic;	/* where missing types are reported */
};

static int top_setting(struct walk *w, const char *key, const yaml_node_t *v,
		       void *ctx)
{
	struct top *t = ctx;
	struct plan *p = t->p;
	int err;

	if (!strcmp(key, "plan")) {
		t->seen_name = true;
		return get_text(w, v, p->name, sizeof(p->name));
	}
	if (!strcmp(key, "title"))
		return get_text(w, v, p->title, sizeof(p->title));
	if (!strcmp(key, "currency"))
		return get_text(w, v, p->currency, sizeof(p->currency));
	if (!strcmp(key, "time_zone")) {
		struct tz *tz;

		err = get_text(w, v, p->time_zone, sizeof(p->time_zone));
		if (!err && tz_load(&tz, p->time_zone))
			return fail(w, v, "no time zone '%s' in the system's "
					  "time-zone database",
				    p->time_zone);
		if (!err)
			tz_free(tz);
		return err;
	}
	if (!strcmp(key, "gb_bytes"))
		return get_u64(w, v, 1, 1ULL << 50, &p->gb_bytes);
	if (!strcmp(key, "rounding")) {
		const char *s = scalar(v);

		if (!s || rounding_parse(s, &p->rounding))
			return fail(w, v, "not one of half-up, half-even, up, "
					  "down");
		return 0;
	}
	if (!strcmp(key, "trial"))
		return get_bool(w, v, &p->trial);
	if (!strcmp(key, "calls")) {
		t->seen_calls = true;
		return each(w, v, calls_setting, p);
	}
	if (!strcmp(key, "traffic")) {
		struct prices pr = { p->traffic, t->traffic_seen };

		t->traffic = v;
		return each(w, v, traffic_setting, &pr);
	}
	if (!strcmp(key, "regions"))
		return each(w, v, regions_setting, p);
	return fail(w, v,
		    "unknown setting (plan, title, currency, time_zone, "
		    "gb_bytes, rounding, trial, calls, traffic, regions)");
}

/* Parse a plan from YAML text; see rate.h. */
int plan_parse(struct plan *p, const char *text, size_t len, const char *file)
{
	struct walk w = { .file = file };
	struct top t = { .p = p };
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	int err, i;

	memset(p, 0, sizeof(*p));
	snprintf(p->currency, sizeof(p->currency), "CNY");
	snprintf(p->time_zone, sizeof(p->time_zone), "%s",
		 TG_DEFAULT_TIME_ZONE);
	p->gb_bytes = 1ULL << 30;
	p->rounding = ROUND_HALF_UP;
	p->calls_unit = 1;

	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		pr_bare("%s:%zu:%zu: %s", file, parser.problem_mark.line + 1,
			parser.problem_mark.column + 1,
			parser.problem ? parser.problem : "not YAML");
		yaml_parser_delete(&parser);
		return -EINVAL;
	}
	w.doc = &doc;
	root = yaml_document_get_root_node(&doc);
	if (!root)
		err = fail(&w, NULL, "empty: no plan");
	else
		err = each(&w, root, top_setting, &t);
	if (!err && !t.seen_name)
		err = fail(&w, root, "plan: missing (the plan's name)");
	if (!err && !t.seen_calls)
		err = fail(&w, root, "calls: missing");
	if (!err && !t.traffic)
		err = fail(&w, root, "traffic: missing");
	for (i = 1; !err && i < TG_NR_TRAFFIC; i++)
		if (!t.traffic_seen[i])
			err = fail(&w, t.traffic,
				   "traffic.%s: missing (0 if it is free)",
				   traffic_name(i));
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return err;
}

static bool is_file(const char *what)
{
	size_t n = strlen(what);

	return strchr(what, '/') || (n > 5 && !strcmp(what + n - 5, ".yaml")) ||
	       (n > 4 && !strcmp(what + n - 4, ".yml"));
}

/* Load a built-in plan or a plan file; see rate.h. */
int plan_load(struct plan *p, const char *what)
{
	char *text = NULL;
	size_t i, len = 0;
	FILE *f;
	int err;

	if (!is_file(what)) {
		for (i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
			if (!strcmp(what, builtins[i].name))
				return plan_parse(p, builtins[i].text,
						  strlen(builtins[i].text),
						  what);
		pr_warn("no built-in plan '%s' (give a file: ./%s.yaml)", what,
			what);
		return -ENOENT;
	}
	f = fopen(what, "re");
	if (!f) {
		err = -errno;
		pr_warn("plan '%s': %s", what, strerror(-err));
		return err;
	}
	text = malloc(1 << 20);
	if (text)
		len = fread(text, 1, 1 << 20, f);
	err = !text ? -ENOMEM : ferror(f) ? -EIO : len == 1 << 20 ? -EFBIG : 0;
	fclose(f);
	if (err)
		pr_warn("plan '%s': cannot read: %s", what, strerror(-err));
	else
		err = plan_parse(p, text, len, what);
	free(text);
	return err;
}

/* Select a region's prices; see rate.h. */
int plan_select_region(struct plan *p, const char *region)
{
	size_t i;
	int t;

	for (i = 0; i < p->nr_regions; i++) {
		struct plan_region *r = &p->regions[i];

		if (strcasecmp(region, r->id) &&
		    (!*r->name || strcasecmp(region, r->name)))
			continue;
		for (t = 0; t < TG_NR_TRAFFIC; t++)
			if (r->has_price[t])
				p->traffic[t] = r->traffic[t];
		snprintf(p->region, sizeof(p->region), "%s", r->id);
		return 0;
	}
	pr_warn("plan %s: no region '%s'%s", p->name, region,
		p->nr_regions ? "" : " (the plan names no regions)");
	for (i = 0; i < p->nr_regions; i++)
		pr_warn("  %s%s%s%s", p->regions[i].id,
			*p->regions[i].name ? " (" : "", p->regions[i].name,
			*p->regions[i].name ? ")" : "");
	return -ENOENT;
}
