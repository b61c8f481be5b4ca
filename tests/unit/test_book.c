// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_book.c - booking into the ledger, on hand-made counter snapshots
 * made into usage rows: deltas classified into day rows, intervals cut at midnight and booked on
 * the right day, agent restarts, reboots, new maps and recreated entries
 * (never a negative or repeated delta), overflow buckets on rows of their
 * own so the ledger adds up to the kernel's totals, a configuration reload
 * that re-classifies a peer, and the errors on a bad host name, a second
 * agent and a corrupt ledger.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/types.h>
#include <cmocka.h>

#include "classify/classify.h"
#include "ledger/book.h"
#include "tmpdir.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* 2024-06-01 12:00:00 in Asia/Shanghai (UTC+8) */
#define NOON	1717214400
/* 2024-06-02 00:00:00 in Asia/Shanghai */
#define MIDNIGHT 1717257600

static char path[128];

static const char yaml_a[] =
	"region: cn-north-1\n"
	"provider: jdcloud\n"
	"services:\n"
	"  - port: 443\n"
	"    name: shop-api\n"
	"    tenant: acme\n"
	"backends:\n"
	"  - address: 10.1.2.0/24\n"
	"    port: 8080\n"
	"    name: orders\n"
	"    tenant: acme\n"
	"    service: shop-api\n";

/* The same, but port 443 now belongs to another tenant. */
static const char yaml_b[] =
	"region: cn-north-1\n"
	"provider: jdcloud\n"
	"services:\n"
	"  - port: 443\n"
	"    name: partner-api\n"
	"    tenant: globex\n";

static int setup(void **state)
{
	if (tmpdir_make("collect"))
		return -1;
	snprintf(path, sizeof(path), "%s/ledger.db", tmpdir);
	return 0;
}

static int teardown(void **state)
{
	return tmpdir_remove();
}

static struct tg_config *parse(const char *yaml)
{
	struct tg_config *cfg = NULL;
	struct tg_err err = {};
	char buf[512];

	if (config_parse(yaml, strlen(yaml), "test.yaml", 0, &cfg, &err))
		fail_msg("%s", tg_err_str(&err, buf, sizeof(buf)));
	return cfg;
}

static struct book *open_book(const char *boot_id)
{
	struct book_opts o = { .ledger = path, .host = "gw1",
				  .boot_id = boot_id };
	struct book *c = NULL;

	assert_int_equal(book_open(&c, &o), 0);
	return c;
}

static struct tg_peer_key peer(const char *v4, __u16 port, __u8 role)
{
	struct tg_peer_key k = { .port = port, .proto = IPPROTO_TCP,
				 .role = role };
	__u8 a[4];

	assert_int_equal(inet_pton(AF_INET, v4, a), 1);
	cidr_map_v4(a, k.addr);
	return k;
}

#define CLIENT	0	/* index of the client peer in snap() */
#define BACKEND	1	/* index of the backend peer */

/* A snapshot of two peers, a client on port 443 and backend orders. The
 * client makes a call per 500 bytes in. */
static struct snapshot snap(__u64 created_ns, __u64 cl_in, __u64 cl_out,
			    __u64 be_in, __u64 be_out)
{
	struct snapshot s = { .nr_peers = 2 };

	s.peers = calloc(2, sizeof(*s.peers));
	assert_non_null(s.peers);
	s.peers[CLIENT].key = peer("198.51.100.7", 443, TG_ROLE_CLIENT);
	s.peers[CLIENT].c = (struct tg_counters){ cl_in, cl_in / 100, cl_out,
						  cl_out / 100, cl_in / 500 };
	s.peers[BACKEND].key = peer("10.1.2.9", 8080, TG_ROLE_BACKEND);
	s.peers[BACKEND].c = (struct tg_counters){ be_in, be_in / 100, be_out,
						   be_out / 100, 0 };
	s.meta.created_ns = created_ns;
	return s;
}

struct rows {
	struct ledger_usage r[64];
	size_t n;
};

static int keep_row(const struct ledger_usage *r, void *ctx)
{
	struct rows *v = ctx;

	assert_true(v->n < ARRAY_SIZE(v->r));
	v->r[v->n++] = *r;
	return 0;
}

static struct rows scan(struct book *c)
{
	struct rows v = {};

	assert_int_equal(ledger_scan(book_ledger(c), NULL, keep_row, &v),
			 0);
	return v;
}

/* The row of (day, tenant, backend, type), which must exist. */
static const struct ledger_usage *find(const struct rows *v, const char *day,
				       const char *tenant, const char *backend,
				       const char *type)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		if (!strcmp(v->r[i].k.day, day) &&
		    !strcmp(v->r[i].k.tenant, tenant) &&
		    !strcmp(v->r[i].k.backend, backend) &&
		    !strcmp(v->r[i].k.traffic_type, type))
			return &v->r[i];
	fail_msg("no row %s '%s' '%s' %s", day, tenant, backend, type);
	return NULL;
}

/* Bytes of the rows, in: inbound, out: the rest. */
static void sums(const struct rows *v, __u64 *in, __u64 *out)
{
	size_t i;

	*in = *out = 0;
	for (i = 0; i < v->n; i++) {
		if (!strcmp(v->r[i].k.traffic_type, "inbound"))
			*in += v->r[i].bytes;
		else
			*out += v->r[i].bytes;
	}
}

/*
 * The kernel's day banks, as the tests drive them: what a counter set
 * counted since the last snapshot went to the bank of the day it was
 * counted on, taken here as the day of the second before the snapshot's
 * due time. Keyed by the counter set's bytes; forgotten with new maps.
 */
struct model {
	__u64 generation;
	size_t nr;
	struct {
		__u8 key[48];
		struct tg_counters last;
		struct tg_counters bank[TG_NR_BANKS];
	} v[16];
};

static struct model model;

static void model_add(struct tg_counters *a, const struct tg_counters *b,
		      int sign)
{
	a->bytes_in += sign * b->bytes_in;
	a->packets_in += sign * b->packets_in;
	a->bytes_out += sign * b->bytes_out;
	a->packets_out += sign * b->packets_out;
	a->calls += sign * b->calls;
}

/* Spread @c, cumulative, into @bank for the counter set @key; @k is the
 * bank of now. */
static void model_bank(const void *key, size_t len, const struct tg_counters *c,
		       int k, struct tg_counters bank[TG_NR_BANKS])
{
	struct tg_counters d = *c;
	size_t i;

	assert_true(len <= sizeof(model.v[0].key));
	for (i = 0; i < model.nr; i++)
		if (!memcmp(model.v[i].key, key, len))
			break;
	if (i == model.nr) {
		assert_true(model.nr < ARRAY_SIZE(model.v));
		memset(&model.v[i], 0, sizeof(model.v[i]));
		memcpy(model.v[i].key, key, len);
		model.nr++;
	}
	if (c->bytes_in < model.v[i].last.bytes_in ||
	    c->bytes_out < model.v[i].last.bytes_out ||
	    c->calls < model.v[i].last.calls)
		/* Made anew: all of it is new, as in the kernel. */
		memset(model.v[i].bank, 0, sizeof(model.v[i].bank));
	else
		model_add(&d, &model.v[i].last, -1);
	model_add(&model.v[i].bank[k], &d, 1);
	model.v[i].last = *c;
	memcpy(bank, model.v[i].bank, sizeof(model.v[i].bank));
}

/* Give snapshot @s, read at @due, the banks and the clock the kernel
 * would have given it. */
static void model_snap(struct book *c, struct snapshot *s, time_t due)
{
	__s64 day, before;
	size_t i;

	if (model.generation != s->meta.created_ns) {
		memset(&model, 0, sizeof(model));
		model.generation = s->meta.created_ns;
	}
	s->taken_at = due;
	/* A time out of the calendar: the commit is to fail on it. */
	if (day_number(due, book_tz(c), &day) ||
	    day_number(due - 1, book_tz(c), &before))
		return;
	for (i = 0; i < s->nr_peers; i++)
		model_bank(&s->peers[i].key, sizeof(s->peers[i].key),
			   &s->peers[i].c, before % TG_NR_BANKS,
			   s->peers[i].bank);
	for (i = 0; i < s->nr_buckets; i++) {
		struct bucket_rec *b = &s->buckets[i];
		__u8 key[sizeof(b->key) + 1];

		memcpy(key, &b->key, sizeof(b->key));
		key[sizeof(b->key)] = b->last_resort;
		model_bank(key, sizeof(key), &b->c, before % TG_NR_BANKS,
			   b->bank);
	}
	s->clock.day0 = day;
	s->clock.day_ns[0] = 1;
}

/* Book snapshot @s, its rows classified under @cfg, as the agent does. */
static int book_snap(struct book *c, const struct tg_config *cfg,
		     struct snapshot *s, time_t due)
{
	struct usage_list l;
	int err;

	model_snap(c, s, due);
	assert_int_equal(usage_of(cfg, s, &l), 0);
	err = book_commit(c, &l, s, due);
	usage_list_free(&l);
	return err;
}

/* Add the overflow bucket @key (@last_resort: of a role) to @s. */
static void bucket(struct snapshot *s, struct tg_bill_key key,
		   bool last_resort, struct tg_counters c)
{
	s->buckets = reallocarray(s->buckets, s->nr_buckets + 1,
				  sizeof(*s->buckets));
	assert_non_null(s->buckets);
	s->buckets[s->nr_buckets++] = (struct bucket_rec){
		.key = key, .last_resort = last_resort, .c = c };
}

static void commit(struct book *c, const struct tg_config *cfg,
		   struct snapshot s, time_t due)
{
	assert_int_equal(book_snap(c, cfg, &s, due), 0);
	snapshot_free(&s);
}

static void test_classified(void **state)
{
	struct tg_config *cfg = parse(yaml_a);
	struct book *c = open_book("boot-1");
	const struct ledger_usage *r;
	struct rows v;

	commit(c, cfg, snap(7, 1000, 50000, 40000, 2000), NOON);
	commit(c, cfg, snap(7, 1500, 80000, 40000, 2600), NOON + 10);
	/* Nothing moved: nothing is written. */
	commit(c, cfg, snap(7, 1500, 80000, 40000, 2600), NOON + 20);

	v = scan(c);
	assert_int_equal(v.n, 4);
	r = find(&v, "2024-06-01", "acme", "", "outbound_client");
	assert_int_equal(r->bytes, 80000);
	assert_int_equal(r->packets, 800);
	assert_int_equal(r->calls, 0);
	assert_int_equal(r->unexplained_bytes, 0);
	assert_string_equal(r->k.host, "gw1");
	assert_string_equal(r->k.service, "shop-api");
	r = find(&v, "2024-06-01", "acme", "", "inbound");
	assert_int_equal(r->bytes, 1500);
	assert_int_equal(r->calls, 3);	/* the client's requests */
	r = find(&v, "2024-06-01", "acme", "orders",
		 "outbound_backend_intranet");
	assert_int_equal(r->bytes, 2600);
	assert_string_equal(r->k.service, "shop-api");
	r = find(&v, "2024-06-01", "acme", "orders", "inbound");
	assert_int_equal(r->bytes, 40000);
	book_close(c);
	config_free(cfg);
}

/* A client of an unknown port and an unknown backend: rows with no
 * tenant, their outbound bytes unexplained, never free by a guess. */
static void test_unknown_peers(void **state)
{
	struct tg_config *cfg = config_default();
	struct book *c = open_book("boot-1");
	const struct ledger_usage *r;
	struct rows v;

	assert_non_null(cfg);
	commit(c, cfg, snap(7, 100, 200, 300, 400), NOON);
	v = scan(c);
	assert_int_equal(v.n, 3);
	r = find(&v, "2024-06-01", "", "", "outbound_client");
	assert_int_equal(r->bytes, 200);
	assert_int_equal(r->unexplained_bytes, 200);
	r = find(&v, "2024-06-01", "", "", "outbound_backend_intranet");
	assert_int_equal(r->bytes, 400);
	assert_int_equal(r->unexplained_bytes, 400);
	r = find(&v, "2024-06-01", "", "", "inbound");
	assert_int_equal(r->bytes, 100 + 300);
	assert_int_equal(r->unexplained_bytes, 0);
	book_close(c);
	config_free(cfg);
}

static void test_midnight(void **state)
{
	struct tg_config *cfg = parse(yaml_a);
	struct book *c = open_book("boot-1");
	struct rows v;

	/* Intervals of 10 s end at midnight, not across it. */
	assert_int_equal(book_next(c, MIDNIGHT - 25, 10), MIDNIGHT - 15);
	assert_int_equal(book_next(c, MIDNIGHT - 5, 10), MIDNIGHT);
	assert_int_equal(book_next(c, MIDNIGHT, 10), MIDNIGHT + 10);
	assert_int_equal(book_next(c, MIDNIGHT - 1, 3600), MIDNIGHT);

	commit(c, cfg, snap(7, 0, 1000, 0, 0), MIDNIGHT - 5);
	commit(c, cfg, snap(7, 0, 1700, 0, 0), MIDNIGHT);
	commit(c, cfg, snap(7, 0, 1900, 0, 0), MIDNIGHT + 10);
	v = scan(c);
	assert_int_equal(v.n, 2);
	assert_int_equal(find(&v, "2024-06-01", "acme", "",
			      "outbound_client")->bytes, 1700);
	assert_int_equal(find(&v, "2024-06-02", "acme", "",
			      "outbound_client")->bytes, 200);
	book_close(c);
	config_free(cfg);
}

/* A new ledger in another billing time zone cuts days at its midnight:
 * MIDNIGHT (Asia/Shanghai) is 18:00 in Europe/Berlin, 6 hours before. */
static void test_time_zone(void **state)
{
	struct book_opts o = { .ledger = path, .host = "gw1",
				  .boot_id = "boot-1",
				  .time_zone = "Europe/Berlin" };
	struct tg_config *cfg = parse(yaml_a);
	struct book *c = NULL;
	const time_t berlin = MIDNIGHT + 6 * 3600;
	struct rows v;

	assert_int_equal(book_open(&c, &o), 0);
	assert_string_equal(ledger_time_zone(book_ledger(c)),
			    "Europe/Berlin");
	assert_int_equal(book_next(c, MIDNIGHT - 5, 10), MIDNIGHT + 5);
	assert_int_equal(book_next(c, berlin - 5, 10), berlin);
	commit(c, cfg, snap(7, 0, 1000, 0, 0), MIDNIGHT + 5);
	commit(c, cfg, snap(7, 0, 1700, 0, 0), berlin);
	commit(c, cfg, snap(7, 0, 1900, 0, 0), berlin + 10);
	v = scan(c);
	assert_int_equal(v.n, 2);
	assert_int_equal(find(&v, "2024-06-01", "acme", "",
			      "outbound_client")->bytes, 1700);
	assert_int_equal(find(&v, "2024-06-02", "acme", "",
			      "outbound_client")->bytes, 200);
	book_close(c);

	/* A ledger in another zone than asked is refused, never mixed. */
	o.time_zone = "America/New_York";
	assert_int_equal(book_open(&c, &o), -EINVAL);
	o.time_zone = NULL;
	assert_int_equal(book_open(&c, &o), 0);
	assert_string_equal(ledger_time_zone(book_ledger(c)),
			    "Europe/Berlin");
	book_close(c);
	config_free(cfg);
}

/* Restarts of the agent, a reboot, new maps and a recreated entry: every
 * delta is what was counted since the last commit, never negative, never
 * counted twice. */
static void test_resets(void **state)
{
	struct tg_config *cfg = parse(yaml_a);
	struct book *c = open_book("boot-1");
	struct rows v;
	__u64 in, out;

	commit(c, cfg, snap(7, 0, 1000, 0, 0), NOON);
	book_close(c);

	/* The agent restarts: the kernel kept counting. */
	c = open_book("boot-1");
	commit(c, cfg, snap(7, 0, 1500, 0, 0), NOON + 10);
	/* The same counters again (a restart right after a commit). */
	book_close(c);
	c = open_book("boot-1");
	commit(c, cfg, snap(7, 0, 1500, 0, 0), NOON + 20);
	v = scan(c);
	sums(&v, &in, &out);
	assert_int_equal(out, 1500);
	book_close(c);

	/* A reboot: pins gone, counters from zero, lower than before. */
	c = open_book("boot-2");
	commit(c, cfg, snap(3, 0, 400, 0, 0), NOON + 30);
	v = scan(c);
	sums(&v, &in, &out);
	assert_int_equal(out, 1500 + 400);

	/* Same boot, maps created anew (detach and run): created_ns
	 * differs, even though the counter went up. */
	commit(c, cfg, snap(9, 0, 600, 0, 0), NOON + 40);
	v = scan(c);
	sums(&v, &in, &out);
	assert_int_equal(out, 1500 + 400 + 600);

	/* Same maps, but the counter went down: its entry was recreated,
	 * all of it is new. */
	commit(c, cfg, snap(9, 0, 100, 0, 0), NOON + 50);
	v = scan(c);
	sums(&v, &in, &out);
	assert_int_equal(out, 1500 + 400 + 600 + 100);
	assert_int_equal(in, 0);
	book_close(c);
	config_free(cfg);
}

static void test_overflow(void **state)
{
	struct tg_config *cfg = parse(yaml_a);
	struct book *c = open_book("boot-1");
	struct snapshot s = snap(7, 10, 20, 30, 40);
	const struct ledger_usage *r;
	struct tg_counters total;
	struct rows v;
	__u64 in, out;

	bucket(&s, (struct tg_bill_key){ .role = TG_ROLE_CLIENT }, true,
	       (struct tg_counters){ 1000, 10, 2000, 20, 0 });
	bucket(&s, (struct tg_bill_key){ .role = TG_ROLE_BACKEND }, true,
	       (struct tg_counters){ 3000, 30, 4000, 40, 0 });
	bucket(&s, (struct tg_bill_key){ .role = TG_ROLE_NONE }, true,
	       (struct tg_counters){ 5, 1, 7, 1, 0 });
	snapshot_totals(&s, &total);
	assert_int_equal(book_snap(c, cfg, &s, NOON), 0);
	snapshot_free(&s);

	v = scan(c);
	sums(&v, &in, &out);
	assert_int_equal(in, total.bytes_in);
	assert_int_equal(out, total.bytes_out);
	r = find(&v, "2024-06-01", "", "", "outbound_client");
	assert_int_equal(r->bytes, 2000 + 7);
	assert_int_equal(r->packets, 20 + 1);
	assert_int_equal(r->unexplained_bytes, 2000 + 7);
	assert_string_equal(r->k.service, "");
	r = find(&v, "2024-06-01", "", "", "outbound_backend_internet");
	assert_int_equal(r->bytes, 4000);
	assert_int_equal(r->unexplained_bytes, 4000);
	r = find(&v, "2024-06-01", "", "", "inbound");
	assert_int_equal(r->bytes, 1000 + 3000 + 5);
	assert_int_equal(r->unexplained_bytes, 0);

	/* The buckets are cumulative like every counter. */
	s = snap(7, 10, 20, 30, 40);
	bucket(&s, (struct tg_bill_key){ .role = TG_ROLE_BACKEND }, true,
	       (struct tg_counters){ 3000, 30, 4500, 45, 0 });
	commit(c, cfg, s, NOON + 10);
	v = scan(c);
	assert_int_equal(find(&v, "2024-06-01", "", "",
			      "outbound_backend_internet")->bytes, 4500);
	/* The client bucket stopped; its bytes stay booked. */
	sums(&v, &in, &out);
	assert_int_equal(out, total.bytes_out + 500);
	book_close(c);
	config_free(cfg);
}

/* A peer key of a role classify() does not know (the kernel never makes
 * one) is booked unattributed, not a reason to stop booking. */
static void test_unknown_role(void **state)
{
	struct tg_config *cfg = parse(yaml_a);
	struct book *c = open_book("boot-1");
	struct snapshot s = snap(7, 10, 20, 30, 40);
	const struct ledger_usage *r;
	struct rows v;

	s.peers[BACKEND].key.role = TG_ROLE_NONE;
	commit(c, cfg, s, NOON);
	v = scan(c);
	r = find(&v, "2024-06-01", "", "", "outbound_client");
	assert_int_equal(r->bytes, 40);
	assert_int_equal(r->unexplained_bytes, 40);
	assert_int_equal(find(&v, "2024-06-01", "", "", "inbound")->bytes, 30);
	assert_int_equal(find(&v, "2024-06-01", "acme", "",
			      "outbound_client")->bytes, 20);
	book_close(c);
	config_free(cfg);
}

/* A reload moves port 443 to another tenant: the bytes before it stay
 * with the old one, the bytes after it go to the new one, none twice. */
static void test_reload(void **state)
{
	struct tg_config *a = parse(yaml_a), *b = parse(yaml_b);
	struct book *c = open_book("boot-1");
	const struct ledger_usage *r;
	struct rows v;
	__u64 in, out;

	commit(c, a, snap(7, 100, 1000, 0, 0), NOON);
	commit(c, b, snap(7, 150, 1800, 0, 0), NOON + 10);
	commit(c, b, snap(7, 150, 1900, 0, 0), NOON + 20);
	v = scan(c);
	sums(&v, &in, &out);
	assert_int_equal(in, 150);
	assert_int_equal(out, 1900);
	r = find(&v, "2024-06-01", "acme", "", "outbound_client");
	assert_int_equal(r->bytes, 1000);
	assert_string_equal(r->k.service, "shop-api");
	r = find(&v, "2024-06-01", "globex", "", "outbound_client");
	assert_int_equal(r->bytes, 900);
	assert_string_equal(r->k.service, "partner-api");
	assert_int_equal(find(&v, "2024-06-01", "globex", "", "inbound")->bytes,
			 50);
	book_close(c);
	config_free(a);
	config_free(b);
}

/* A failed commit books nothing; the next one covers both intervals. */
static void test_failed_commit_retried(void **state)
{
	struct tg_config *cfg = parse(yaml_a);
	struct book *c = open_book("boot-1");
	struct snapshot s;
	struct rows v;
	__u64 in, out;

	commit(c, cfg, snap(7, 0, 1000, 0, 0), NOON);
	/* A day out of range makes this commit fail before anything. */
	s = snap(7, 0, 1500, 0, 0);
	assert_int_equal(book_snap(c, cfg, &s, (time_t)1 << 40),
			 -ERANGE);
	snapshot_free(&s);
	commit(c, cfg, snap(7, 0, 2100, 0, 0), NOON + 20);
	v = scan(c);
	sums(&v, &in, &out);
	assert_int_equal(out, 2100);
	book_close(c);
	config_free(cfg);
}

static void test_open_errors(void **state)
{
	struct book_opts o = { .ledger = path, .host = "gw1",
				  .boot_id = "boot-1" };
	struct book *c = NULL, *c2 = NULL;
	char longname[200];
	FILE *f;

	o.host = "";
	assert_int_equal(book_open(&c, &o), -EINVAL);
	o.host = "gw\n1";
	assert_int_equal(book_open(&c, &o), -EINVAL);
	memset(longname, 'h', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	o.host = longname;
	assert_int_equal(book_open(&c, &o), -EINVAL);
	assert_null(c);

	/* One agent per ledger. */
	o.host = "gw1";
	assert_int_equal(book_open(&c, &o), 0);
	assert_int_equal(book_open(&c2, &o), -EBUSY);
	assert_null(c2);
	book_close(c);

	/* Not a ledger: an error, never an empty ledger. */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("this is not a ledger\n", f);
	fclose(f);
	assert_int_equal(book_open(&c, &o), -EBADMSG);
	assert_null(c);
}

static struct book *open_unseen(bool start_unseen)
{
	struct book_opts o = { .ledger = path, .host = "gw1",
				  .boot_id = "boot-1",
				  .start_unseen = start_unseen };
	struct book *c = NULL;

	assert_int_equal(book_open(&c, &o), 0);
	return c;
}

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/*
 * A ledger started on maps whose counts it never saw, made before it was
 * opened (another agent's, or an earlier install's whose ledger was
 * purged), takes their counters as its starting point: it books only what
 * they count from then on. Booking them is a choice (start_unseen off,
 * `run --book-existing`); maps made after it was opened, by the agent's
 * own start, are booked whole; maps it saw are booked as ever.
 */
static void test_unseen_maps(void **state)
{
	struct tg_config *cfg = parse(yaml_a);
	struct book *c;
	struct rows v;
	__u64 in, out, later;

	/* A fresh ledger on maps made before it, which counted already. */
	c = open_unseen(true);
	commit(c, cfg, snap(7, 1000, 50000, 40000, 2000), NOON);
	v = scan(c);
	assert_int_equal(v.n, 0);
	commit(c, cfg, snap(7, 1500, 80000, 40000, 2600), NOON + 10);
	v = scan(c);
	sums(&v, &in, &out);
	assert_int_equal(in, 500);
	assert_int_equal(out, 30000 + 600);
	assert_int_equal(find(&v, "2024-06-01", "acme", "", "inbound")->calls,
			 1);
	book_close(c);

	/* Reopened on the maps it saw: booked as ever. */
	c = open_unseen(true);
	commit(c, cfg, snap(7, 2000, 80000, 40000, 2600), NOON + 20);
	v = scan(c);
	sums(&v, &in, &out);
	assert_int_equal(in, 1000);
	book_close(c);

	/* Reopened on other maps, made before it was opened: their counts
	 * are not its own either. */
	c = open_unseen(true);
	commit(c, cfg, snap(8, 100, 100, 100, 100), NOON + 30);
	commit(c, cfg, snap(8, 150, 100, 100, 100), NOON + 40);
	v = scan(c);
	sums(&v, &in, &out);
	assert_int_equal(in, 1000 + 50);
	book_close(c);

	/* Maps made after it was opened, by the agent's start: whole. */
	c = open_unseen(true);
	later = now_ns() + 1000000000ull;
	commit(c, cfg, snap(later, 300, 0, 0, 0), NOON + 50);
	v = scan(c);
	sums(&v, &in, &out);
	assert_int_equal(in, 1000 + 50 + 300);
	book_close(c);
	config_free(cfg);
}

/* --book-existing: a fresh ledger books what the maps counted before. */
static void test_unseen_booked(void **state)
{
	struct tg_config *cfg = parse(yaml_a);
	struct book *c = open_unseen(false);
	struct rows v;
	__u64 in, out;

	commit(c, cfg, snap(7, 1000, 50000, 40000, 2000), NOON);
	v = scan(c);
	sums(&v, &in, &out);
	assert_int_equal(in, 1000 + 40000);
	assert_int_equal(out, 50000 + 2000);
	book_close(c);
	config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_classified, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unknown_peers, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_midnight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_time_zone, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_resets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overflow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_role, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unseen_maps, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unseen_booked, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_failed_commit_retried,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_errors, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
