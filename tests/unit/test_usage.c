// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_usage.c - the classified-usage stage on hand-made snapshots: each
 * counter set classified once into a row, deltas between updates (the
 * first takes the cumulative value, a counter that went down counts from
 * zero), classification kept until the configuration changes, row ids
 * stable while a source stays and given back when it leaves, overflow
 * buckets as rows of unattributed, unexplained bytes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/types.h>
#include <cmocka.h>

#include "collect/usage.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

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

/* Port 443 now belongs to another tenant. */
static const char yaml_b[] =
	"region: cn-north-1\n"
	"provider: jdcloud\n"
	"services:\n"
	"  - port: 443\n"
	"    name: partner-api\n"
	"    tenant: globex\n";

static struct tg_config *parse(const char *yaml)
{
	struct tg_config *cfg = NULL;
	struct tg_err err = {};
	char buf[512];

	if (config_parse(yaml, strlen(yaml), "test.yaml", 0, &cfg, &err))
		fail_msg("%s", tg_err_str(&err, buf, sizeof(buf)));
	return cfg;
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

/* A snapshot of @n peers: client 198.51.100.x on 443 for even i, backend
 * 10.1.2.x:8080 for odd i, each having sent @out bytes and received @in. */
static struct snapshot snap(size_t n, __u64 in, __u64 out)
{
	struct snapshot s = { .nr_peers = n };
	char a[32];
	size_t i;

	s.peers = calloc(n + 1, sizeof(*s.peers));
	assert_non_null(s.peers);
	for (i = 0; i < n; i++) {
		snprintf(a, sizeof(a), "%s.%zu",
			 i % 2 ? "10.1.2" : "198.51.100", i + 1);
		s.peers[i].key = i % 2 ? peer(a, 8080, TG_ROLE_BACKEND) :
					 peer(a, 443, TG_ROLE_CLIENT);
		s.peers[i].c = (struct tg_counters){ in, 1, out, 1, in / 100 };
	}
	return s;
}

/* The row of peer @k in @l, which must be there. */
static const struct usage_row *row_of(const struct usage_list *l,
				      const struct tg_peer_key *k)
{
	size_t i;

	for (i = 0; i < l->nr; i++)
		if (l->rows[i].src.kind == USAGE_PEER &&
		    !memcmp(&l->rows[i].src.key, k, sizeof(*k)))
			return &l->rows[i];
	fail_msg("no row for the peer");
	return NULL;
}

static void test_classified_once(void **state)
{
	struct tg_config *cfg = parse(yaml_a);
	struct snapshot s = snap(2, 700, 5000);
	struct usage *u = usage_new();
	const struct usage_list *l;
	const struct usage_row *cl, *be;

	assert_non_null(u);
	assert_int_equal(usage_update(u, cfg, 0, &s, &l), 0);
	assert_int_equal(l->nr, 2);
	cl = row_of(l, &s.peers[0].key);
	be = row_of(l, &s.peers[1].key);
	assert_true(cl->cls.known);
	assert_int_equal(cl->cls.c.type, TG_TRAFFIC_OUTBOUND_CLIENT);
	assert_true(cl->cls.c.billable);
	assert_string_equal(cl->cls.c.tenant, "acme");
	assert_string_equal(cl->cls.c.service, "shop-api");
	assert_int_equal(be->cls.c.type, TG_TRAFFIC_BACKEND_INTRANET);
	assert_false(be->cls.c.billable);
	assert_false(be->cls.unexplained);
	assert_string_equal(be->cls.c.backend, "orders");
	/* Bytes in are inbound, whatever the row's type out. */
	assert_int_equal(usage_type(be, false), TG_TRAFFIC_INBOUND);
	assert_int_equal(usage_type(be, true), TG_TRAFFIC_BACKEND_INTRANET);
	/* The first update's delta is the cumulative value. */
	assert_int_equal(cl->delta.bytes_out, 5000);
	assert_int_equal(cl->total.bytes_out, 5000);
	assert_int_equal(cl->delta.calls, 7);
	usage_free(u);
	snapshot_free(&s);
	config_free(cfg);
}

static void test_deltas(void **state)
{
	struct tg_config *cfg = parse(yaml_a);
	struct snapshot s = snap(2, 700, 5000);
	struct usage *u = usage_new();
	const struct usage_list *l;
	const struct usage_row *r;

	assert_int_equal(usage_update(u, cfg, 0, &s, &l), 0);
	s.peers[0].c.bytes_out = 8000;
	s.peers[0].c.calls = 9;
	assert_int_equal(usage_update(u, cfg, 0, &s, &l), 0);
	r = row_of(l, &s.peers[0].key);
	assert_int_equal(r->delta.bytes_out, 3000);
	assert_int_equal(r->delta.bytes_in, 0);
	assert_int_equal(r->delta.calls, 2);
	assert_int_equal(r->total.bytes_out, 8000);
	/* A counter that went down: the slot was made anew, all of it is
	 * new, never negative. */
	s.peers[0].c = (struct tg_counters){ 10, 1, 20, 1, 0 };
	assert_int_equal(usage_update(u, cfg, 0, &s, &l), 0);
	r = row_of(l, &s.peers[0].key);
	assert_int_equal(r->delta.bytes_in, 10);
	assert_int_equal(r->delta.bytes_out, 20);
	usage_free(u);
	snapshot_free(&s);
	config_free(cfg);
}

/*
 * A peer that comes back while its old slot is still being reclaimed gets
 * another slot, whose generation may equal the old one's: two sources,
 * each counted from its own start, never one taken from the other.
 */
static void test_peer_in_two_slots(void **state)
{
	struct tg_config *cfg = parse(yaml_a);
	struct snapshot s = snap(2, 700, 5000);
	struct usage *u = usage_new();
	const struct usage_list *l;
	struct tg_counters total;

	(void)state;
	/* the new slot first, then the old one */
	s.peers[1] = s.peers[0];
	s.peers[1].slot = 3;
	s.peers[1].gen = 2;
	s.peers[1].state = TG_SLOT_LIMBO;
	s.peers[0] = s.peers[1];
	s.peers[0].slot = 7;
	s.peers[0].state = TG_SLOT_USED;
	s.peers[0].c = (struct tg_counters){ 40, 1, 60, 1, 1 };
	assert_int_equal(usage_update(u, cfg, 0, &s, &l), 0);
	assert_int_equal(l->nr, 2);
	usage_totals(l, &total);
	assert_int_equal(total.bytes_out, 5000 + 60);
	/* The old slot freed, the new one counting on: only its growth. */
	s.nr_peers = 1;
	s.peers[0].c.bytes_out = 100;
	assert_int_equal(usage_update(u, cfg, 0, &s, &l), 0);
	assert_int_equal(l->nr, 1);
	assert_int_equal(l->rows[0].delta.bytes_out, 40);
	assert_int_equal(l->rows[0].total.bytes_out, 100);
	usage_free(u);
	snapshot_free(&s);
	config_free(cfg);
}

static void test_reclassified_on_reload(void **state)
{
	struct tg_config *a = parse(yaml_a), *b = parse(yaml_b);
	struct snapshot s = snap(2, 700, 5000);
	struct usage *u = usage_new();
	const struct usage_list *l;
	const struct usage_row *r;
	__u64 gen;

	assert_int_equal(usage_update(u, a, 0, &s, &l), 0);
	gen = row_of(l, &s.peers[0].key)->cls_gen;
	/* The same configuration: the class and its generation stay. */
	assert_int_equal(usage_update(u, a, 0, &s, &l), 0);
	assert_int_equal(row_of(l, &s.peers[0].key)->cls_gen, gen);
	/* A reload: every row is classified anew. */
	assert_int_equal(usage_update(u, b, 1, &s, &l), 0);
	r = row_of(l, &s.peers[0].key);
	assert_int_not_equal(r->cls_gen, gen);
	assert_string_equal(r->cls.c.tenant, "globex");
	/* The backend is no backends entry of b's. */
	r = row_of(l, &s.peers[1].key);
	assert_true(r->cls.c.flags & TG_FLAG_UNKNOWN_BACKEND);
	assert_string_equal(r->cls.c.backend, "");
	usage_free(u);
	snapshot_free(&s);
	config_free(a);
	config_free(b);
}

static void test_ids(void **state)
{
	struct tg_config *cfg = parse(yaml_a);
	struct snapshot s = snap(4, 700, 5000), t;
	struct usage *u = usage_new();
	const struct usage_list *l;
	__u32 ids[4];
	__u64 gens[4];
	size_t i;

	assert_int_equal(usage_update(u, cfg, 0, &s, &l), 0);
	for (i = 0; i < 4; i++) {
		ids[i] = row_of(l, &s.peers[i].key)->id;
		gens[i] = row_of(l, &s.peers[i].key)->cls_gen;
		assert_true(ids[i] < 4);
	}
	/* Order does not matter: a source keeps its id. */
	t = snap(4, 700, 5000);
	t.peers[0] = s.peers[3];
	t.peers[3] = s.peers[0];
	assert_int_equal(usage_update(u, cfg, 0, &t, &l), 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(row_of(l, &s.peers[i].key)->id, ids[i]);
	snapshot_free(&t);
	/* Peer 2 leaves (its slot reclaimed), another comes: a new id, and
	 * a classification generation never seen before, so that a cache by
	 * id cannot serve it stale. */
	t = snap(4, 700, 5000);
	t.peers[2].key = peer("203.0.113.9", 443, TG_ROLE_CLIENT);
	assert_int_equal(usage_update(u, cfg, 0, &t, &l), 0);
	for (i = 0; i < 4; i++) {
		const struct usage_row *r = row_of(l, &t.peers[i].key);

		if (i != 2) {
			assert_int_equal(r->id, ids[i]);
			continue;
		}
		assert_int_equal(r->id, 4);
		assert_true(r->cls_gen > gens[0] && r->cls_gen > gens[1] &&
			    r->cls_gen > gens[2] && r->cls_gen > gens[3]);
		/* New to the stage: the whole value is its delta. */
		assert_int_equal(r->delta.bytes_out, 5000);
	}
	/* The id peer 2 gave back serves the next newcomer: ids stay as
	 * few as the sources. */
	t.peers[2].key = peer("203.0.113.10", 443, TG_ROLE_CLIENT);
	assert_int_equal(usage_update(u, cfg, 0, &t, &l), 0);
	assert_int_equal(row_of(l, &t.peers[2].key)->id, ids[2]);
	usage_free(u);
	snapshot_free(&s);
	snapshot_free(&t);
	config_free(cfg);
}

static void test_buckets(void **state)
{
	struct tg_config *cfg = parse(yaml_a);
	struct snapshot s = snap(0, 0, 0);
	struct bucket_rec b[] = {
		/* No slot for clients of port 443: billed by frontend. */
		{ .key = { .port = 443, .proto = IPPROTO_TCP,
			   .role = TG_ROLE_CLIENT },
		  .c = { 90, 3, 900, 9, 2 } },
		/* ... nor for some of backend port 8080. */
		{ .key = { .port = 8080, .proto = IPPROTO_TCP,
			   .role = TG_ROLE_BACKEND },
		  .c = { 40, 1, 60, 2, 0 } },
		/* No socket. */
		{ .key = { .role = TG_ROLE_NONE }, .last_resort = true,
		  .c = { 5, 1, 7, 1, 0 } },
	};
	struct tg_counters total;
	struct usage_list l;
	size_t i;

	s.buckets = b;
	s.nr_buckets = ARRAY_SIZE(b);
	assert_int_equal(usage_of(cfg, &s, &l), 0);
	assert_int_equal(l.nr, 3);
	for (i = 0; i < l.nr; i++) {
		const struct usage_row *r = &l.rows[i];

		assert_int_not_equal(r->src.kind, USAGE_PEER);
		assert_false(r->cls.known);
		assert_true(r->cls.c.billable);
		if (r->src.key.role == TG_ROLE_CLIENT) {
			/* The frontend's tenant, not nobody. */
			assert_int_equal(r->src.kind, USAGE_OVERFLOW);
			assert_string_equal(r->cls.c.tenant, "acme");
			assert_string_equal(r->cls.c.service, "shop-api");
			assert_int_equal(r->cls.c.type,
					 TG_TRAFFIC_OUTBOUND_CLIENT);
			assert_false(r->cls.unexplained);
			continue;
		}
		assert_true(r->cls.unexplained);
		assert_string_equal(r->cls.c.tenant, "");
		assert_int_equal(r->cls.c.type,
				 r->src.key.role == TG_ROLE_BACKEND ?
					 TG_TRAFFIC_BACKEND_INTERNET :
					 TG_TRAFFIC_OUTBOUND_CLIENT);
		assert_int_equal(r->src.kind, r->src.key.role == TG_ROLE_NONE ?
						      USAGE_LAST :
						      USAGE_OVERFLOW);
	}
	usage_totals(&l, &total);
	assert_int_equal(total.bytes_out, 967);
	assert_int_equal(total.bytes_in, 135);
	usage_list_free(&l);
	/* Without a configuration the rows carry counters only. */
	assert_int_equal(usage_of(NULL, &s, &l), 0);
	assert_int_equal(l.nr, 3);
	assert_false(l.rows[0].cls.known);
	assert_null(l.rows[0].cls.c.tenant);
	usage_list_free(&l);
	s.buckets = NULL;
	s.nr_buckets = 0;
	snapshot_free(&s);
	config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classified_once),
		cmocka_unit_test(test_deltas),
		cmocka_unit_test(test_peer_in_two_slots),
		cmocka_unit_test(test_reclassified_on_reload),
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_buckets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
