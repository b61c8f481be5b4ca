// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_dump.c - the dump formats on hand-made snapshots: exact JSON and CSV
 * text, busiest-first order, overflow rows, table totals and alignment;
 * with a configuration, the classification columns and the views that add
 * peers up by backend, service, tenant and traffic type.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "export/dump.h"
#include "classify/config.h"

#define V4(a, b, c, d) { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d }

static struct peer_rec peers[] = {
	{ .key = { .addr = V4(10, 0, 2, 2), .port = 8080, .proto = 6,
		   .role = TG_ROLE_BACKEND },
	  .c = { .bytes_in = 5000, .packets_in = 5, .bytes_out = 700,
		 .packets_out = 7 } },
	{ .key = { .addr = V4(192, 0, 2, 7), .port = 443, .proto = 6,
		   .role = TG_ROLE_CLIENT },
	  .c = { .bytes_in = 1000, .packets_in = 10, .bytes_out = 1073741824,
		 .packets_out = 740000, .calls = 1234 } },
	{ .key = { .addr = { 0x20, 0x01, 0x0d, 0xb8, [15] = 9 }, .port = 53,
		   .proto = 17, .role = TG_ROLE_BACKEND },
	  .c = { .bytes_in = 300, .packets_in = 3, .bytes_out = 200,
		 .packets_out = 2 } },
	{ .key = { .addr = V4(10, 0, 2, 3), .port = 0, .proto = 47,
		   .role = TG_ROLE_BACKEND },
	  .c = { .bytes_in = 0, .packets_in = 0, .bytes_out = 0,
		 .packets_out = 0 } },
};

/* Two last-resort buckets into @s, in the order a read gives them (by
 * role): no socket, then client. */
static void last_resorts(struct snapshot *s, struct tg_counters client,
			 struct tg_counters none)
{
	s->buckets = calloc(2, sizeof(*s->buckets));
	assert_non_null(s->buckets);
	s->buckets[0] = (struct bucket_rec){
		.key = { .role = TG_ROLE_NONE }, .last_resort = true,
		.c = none };
	s->buckets[1] = (struct bucket_rec){
		.key = { .role = TG_ROLE_CLIENT }, .last_resort = true,
		.c = client };
	s->nr_buckets = 2;
}

/* The snapshot's clocks: read at 2025-12-05T06:00:00Z, 10,000 s after
 * boot on the monotonic clock; the maps made a day before. */
#define TAKEN_AT	1764914400
#define TAKEN_NS	10000000000000ULL
#define AGO_NS(sec)	(TAKEN_NS - (sec) * 1000000000ULL)

static struct snapshot make_snapshot(bool overflow)
{
	struct snapshot s = { .capacity = 16, .meta.next_slot = 4,
			      .taken_at = TAKEN_AT, .taken_ns = TAKEN_NS,
			      .meta.created_ns = (TAKEN_AT - 86400) *
						 1000000000ULL };

	s.peers = malloc(sizeof(peers));
	assert_non_null(s.peers);
	memcpy(s.peers, peers, sizeof(peers));
	s.nr_peers = 4;
	/* Slots handed out an hour, two hours ago; one never says when. */
	s.peers[0].since_ns = AGO_NS(3600);	/* 2025-12-05T05:00:00Z */
	s.peers[1].since_ns = AGO_NS(7200);	/* 2025-12-05T04:00:00Z */
	s.peers[3].since_ns = AGO_NS(3600);
	if (overflow) {
		last_resorts(&s, (struct tg_counters){ 11, 1, 22, 2, 5 },
			     (struct tg_counters){ 0, 0, 40, 1, 0 });
		s.stats[TG_STAT_PEER_FULL] = 3;
		s.stats[TG_STAT_NO_SOCK] = 1;
	}
	return s;
}

static char *dump_to_string(struct snapshot *s, enum dump_by by,
			    enum out_format fmt, bool raw)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(dump_print(f, s, by, fmt, raw), 0);
	fclose(f);
	return buf;
}

static void test_json_peers(void **state)
{
	struct snapshot s = make_snapshot(true);
	char *out = dump_to_string(&s, BY_PEER, FMT_JSON, false);

	/* busiest first, a number for an unnamed protocol, IPv6 text,
	 * overflow rows last */
	assert_string_equal(out,
		"[\n"
		"{\"role\":\"client\",\"proto\":\"tcp\",\"peer\":\"192.0.2.7\","
		"\"port\":443,\"bytes_out\":1073741824,\"packets_out\":740000,"
		"\"bytes_in\":1000,\"packets_in\":10,\"calls\":1234,"
		"\"overflow\":false,\"since\":\"2025-12-05T04:00:00Z\"},\n"
		"{\"role\":\"backend\",\"proto\":\"tcp\",\"peer\":\"10.0.2.2\","
		"\"port\":8080,\"bytes_out\":700,\"packets_out\":7,"
		"\"bytes_in\":5000,\"packets_in\":5,\"calls\":0,"
		"\"overflow\":false,\"since\":\"2025-12-05T05:00:00Z\"},\n"
		"{\"role\":\"backend\",\"proto\":\"udp\",\"peer\":\"2001:db8::9\","
		"\"port\":53,\"bytes_out\":200,\"packets_out\":2,"
		"\"bytes_in\":300,\"packets_in\":3,\"calls\":0,"
		"\"overflow\":false,\"since\":null},\n"
		"{\"role\":\"backend\",\"proto\":47,\"peer\":\"10.0.2.3\","
		"\"port\":0,\"bytes_out\":0,\"packets_out\":0,"
		"\"bytes_in\":0,\"packets_in\":0,\"calls\":0,"
		"\"overflow\":false,\"since\":\"2025-12-05T05:00:00Z\"},\n"
		"{\"role\":\"none\",\"proto\":\"*\",\"peer\":\"*\",\"port\":0,"
		"\"bytes_out\":40,\"packets_out\":1,\"bytes_in\":0,"
		"\"packets_in\":0,\"calls\":0,\"overflow\":true,"
		"\"since\":\"2025-12-04T06:00:00Z\"},\n"
		"{\"role\":\"client\",\"proto\":\"*\",\"peer\":\"*\",\"port\":0,"
		"\"bytes_out\":22,\"packets_out\":2,\"bytes_in\":11,"
		"\"packets_in\":1,\"calls\":5,\"overflow\":true,"
		"\"since\":\"2025-12-04T06:00:00Z\"}\n"
		"]\n");
	free(out);
	snapshot_free(&s);
}

static void test_json_empty(void **state)
{
	struct snapshot s = { .capacity = 16 };
	char *out = dump_to_string(&s, BY_PEER, FMT_JSON, false);

	assert_string_equal(out, "[\n]\n");
	free(out);
	out = dump_to_string(&s, BY_SOCKET, FMT_JSON, false);
	assert_string_equal(out, "[\n]\n");
	free(out);
}

static void test_csv_peers(void **state)
{
	struct snapshot s = make_snapshot(false);
	char *out = dump_to_string(&s, BY_PEER, FMT_CSV, false);

	assert_string_equal(out,
		"role,proto,peer,port,bytes_out,packets_out,bytes_in,"
		"packets_in,calls,overflow,since\n"
		"client,tcp,192.0.2.7,443,1073741824,740000,1000,10,1234,false,"
		"2025-12-05T04:00:00Z\n"
		"backend,tcp,10.0.2.2,8080,700,7,5000,5,0,false,"
		"2025-12-05T05:00:00Z\n"
		"backend,udp,2001:db8::9,53,200,2,300,3,0,false,\n"
		"backend,47,10.0.2.3,0,0,0,0,0,0,false,2025-12-05T05:00:00Z\n");
	free(out);
	snapshot_free(&s);
}

/* Find the line of @out starting with @prefix. */
static const char *line_of(const char *out, const char *prefix)
{
	const char *p = out;

	while (p && *p) {
		if (!strncmp(p, prefix, strlen(prefix)))
			return p;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	fail_msg("no line starting with '%s' in:\n%s", prefix, out);
	return NULL;
}

static void test_table_totals(void **state)
{
	struct snapshot s = make_snapshot(true);
	char *out = dump_to_string(&s, BY_PEER, FMT_TABLE, true);
	const char *total;

	/* raw: exact integers; the totals include the overflow rows */
	total = line_of(out, "TOTAL");
	assert_non_null(strstr(total, " 6311 "));	/* bytes in */
	assert_non_null(strstr(total, " 19 "));	/* packets in */
	assert_non_null(strstr(total, " 1073742786 "));	/* bytes out */
	assert_non_null(strstr(total, " 740012 "));	/* packets out */
	assert_non_null(strstr(total, " 1239\n"));	/* calls */
	assert_non_null(strstr(line_of(out, "none"), "(no socket)"));
	/* what the rows cover: the peers with a slot, since their slot was
	 * handed out; the overflow, since the maps were made */
	assert_non_null(strstr(out, "peers with a slot: 4 of 16 slots (25.0%), "
				    "0 of them being reclaimed; 0 slots "
				    "reclaimed from quiet peers before"));
	assert_non_null(strstr(out, "3 failed inserts, 1 packets without a "
				    "socket\n"));
	assert_non_null(strstr(out, "overflow rows (peers not listed): 0 "
				    "without a slot, kept by billing key; 33 "
				    "without a billing key's bucket; 40 "
				    "without a socket"));
	assert_non_null(strstr(out, "the overflow rows since the maps were "
				    "made, 2025-12-04T06:00:00Z\n"));
	assert_non_null(strstr(line_of(out, "client   tcp    192.0.2.7"),
			       " 2025-12-05T04:00:00Z\n"));
	assert_non_null(strstr(line_of(out, "backend  udp    2001:db8::9"),
			       " -\n"));
	assert_non_null(strstr(line_of(out, "client   *"),
			       " 2025-12-04T06:00:00Z\n"));
	free(out);

	/* human units, and the counters' columns aligned with the header:
	 * each row's CALLS cell ends where the header's does */
	out = dump_to_string(&s, BY_PEER, FMT_TABLE, false);
	assert_non_null(strstr(line_of(out, "client   tcp    192.0.2.7"),
			       "1.00 GiB"));
	{
		size_t width = strstr(out, "CALLS") + 5 - out;
		const char *row = line_of(out, "client");

		assert_int_equal(strstr(row, " 2025-") - row, width);
		row = line_of(out, "TOTAL");
		assert_int_equal(strchr(row, '\n') - row, width);
	}
	free(out);
	snapshot_free(&s);
}

/* The last line: connections whose calls were not counted, TLS ones
 * without library hooks apart; nothing when there are none. */
static void test_uncounted(void **state)
{
	struct snapshot s = make_snapshot(false);
	char *out;

	(void)state;
	/* every TLS connection hooked: nothing to say */
	s.stats[TG_STAT_TLS] = 5;
	s.stats[TG_STAT_TLS_HOOKED] = 5;
	out = dump_to_string(&s, BY_PEER, FMT_TABLE, true);
	assert_null(strstr(out, "not counted"));
	free(out);

	s.stats[TG_STAT_HTTP_DESYNC] = 1;
	s.stats[TG_STAT_HTTP_OTHER] = 2;
	s.stats[TG_STAT_TLS] = 12;
	s.stats[TG_STAT_TLS_HOOKED] = 5;
	s.stats[TG_STAT_TLS_MISS] = 4;
	out = dump_to_string(&s, BY_PEER, FMT_TABLE, true);
	assert_non_null(strstr(out, "calls not counted on 10 connections: 1 "
				    "lost the HTTP stream, 2 did not speak "
				    "HTTP in clear, 7 TLS without library "
				    "hooks\n"));
	assert_non_null(strstr(out, "calls not counted in 4 decrypted reads "
				    "whose connection was not known\n"));
	free(out);
	snapshot_free(&s);
}

static void test_sockets(void **state)
{
	struct tg_sock socks[2] = {
		{ .cookie = 7, .role = TG_ROLE_BACKEND, .proto = 6,
		  .local_addr = V4(10, 0, 2, 1), .local_port = 40000,
		  .remote_addr = V4(10, 0, 2, 2), .remote_port = 8080,
		  .peer = { .addr = V4(10, 0, 2, 2), .port = 8080, .proto = 6,
			    .role = TG_ROLE_BACKEND },
		  .peer_slot = 1,
		  .flags = TG_SOCK_CALLS,
		  .c = { 100, 2, 50, 1, 3 } },
		{ .cookie = 9, .role = TG_ROLE_CLIENT, .proto = 17,
		  .flags = TG_SOCK_ROLE_INFERRED,
		  .local_addr = { [15] = 0 }, .local_port = 53,
		  .c = { 1000, 2, 0, 0, 0 } },
	};
	struct snapshot s = { .nr_socks = 2, .have_socks = true };
	char *out;

	s.socks = malloc(sizeof(socks));
	assert_non_null(s.socks);
	memcpy(s.socks, socks, sizeof(socks));

	out = dump_to_string(&s, BY_SOCKET, FMT_JSON, false);
	assert_string_equal(out,
		"[\n"
		"{\"cookie\":9,\"role\":\"client\",\"proto\":\"udp\","
		"\"local\":\"::\",\"local_port\":53,\"remote\":\"::\","
		"\"remote_port\":0,\"peer\":\"\",\"port\":0,\"bytes_out\":0,"
		"\"packets_out\":0,\"bytes_in\":1000,\"packets_in\":2,"
		"\"calls\":0,\"role_inferred\":true},\n"
		"{\"cookie\":7,\"role\":\"backend\",\"proto\":\"tcp\","
		"\"local\":\"10.0.2.1\",\"local_port\":40000,"
		"\"remote\":\"10.0.2.2\",\"remote_port\":8080,"
		"\"peer\":\"10.0.2.2\",\"port\":8080,\"bytes_out\":50,"
		"\"packets_out\":1,\"bytes_in\":100,\"packets_in\":2,"
		"\"calls\":3,\"role_inferred\":false}\n"
		"]\n");
	free(out);

	out = dump_to_string(&s, BY_SOCKET, FMT_TABLE, true);
	assert_non_null(strstr(out, "10.0.2.1:40000"));
	assert_non_null(strstr(out, "[::]:53"));
	assert_non_null(strstr(line_of(out, "9 "), "client*"));
	assert_non_null(strstr(out, "2 live sockets"));
	free(out);
	snapshot_free(&s);
}

static void test_totals(void **state)
{
	struct snapshot s = make_snapshot(true);
	struct tg_counters t;

	snapshot_totals(&s, &t);
	assert_int_equal(t.bytes_in, 5000 + 1000 + 300 + 11);
	assert_int_equal(t.packets_in, 5 + 10 + 3 + 1);
	assert_int_equal(t.bytes_out, 700 + 1073741824ull + 200 + 22 + 40);
	assert_int_equal(t.packets_out, 7 + 740000 + 2 + 2 + 1);
	assert_int_equal(t.calls, 1234 + 5);
	snapshot_free(&s);
}

/* --- classified ------------------------------------------------------ */

static const char cls_yaml[] =
	"region: r1\n"
	"provider: p1\n"
	"networks:\n"
	"  - cidr: 198.51.100.0/24\n"
	"    network: public\n"
	"    provider: p1\n"
	"    region: r1\n"
	"  - cidr: 203.0.113.0/24\n"
	"    network: public\n"
	"    provider: p1\n"
	"    region: r2\n"
	"services:\n"
	"  - port: 443\n"
	"    name: api\n"
	"    tenant: acme\n"
	"backends:\n"
	"  - address: 10.0.2.0/24\n"
	"    name: orders\n"
	"    tenant: acme\n"
	"    service: api\n"
	"  - address: 198.51.100.7\n"
	"    name: pub\n"
	"    tenant: globex\n";

#define PEER(r, a, p, bo, bi) \
	{ .key = { .addr = a, .port = p, .proto = 6, .role = r }, \
	  .c = { .bytes_in = bi, .packets_in = 1, .bytes_out = bo, \
		 .packets_out = 2, .calls = (r) == TG_ROLE_CLIENT ? 7 : 0 } }

static struct peer_rec cls_peers[] = {
	PEER(TG_ROLE_BACKEND, V4(10, 0, 2, 2), 8080, 700, 5000),
	PEER(TG_ROLE_BACKEND, V4(10, 0, 2, 9), 80, 50, 60),
	PEER(TG_ROLE_BACKEND, V4(198, 51, 100, 7), 80, 1000, 70),
	PEER(TG_ROLE_BACKEND, V4(203, 0, 113, 5), 80, 300, 80),
	PEER(TG_ROLE_CLIENT, V4(192, 0, 2, 7), 443, 2000, 90),
	PEER(TG_ROLE_CLIENT, V4(192, 0, 2, 8), 8443, 10, 100),
};

struct cls_state {
	struct tg_config *cfg;
	struct snapshot s;
};

static int cls_setup(void **state)
{
	struct cls_state *st = calloc(1, sizeof(*st));
	struct tg_err e = {};

	assert_non_null(st);
	assert_int_equal(config_parse(cls_yaml, strlen(cls_yaml), "t.yaml", 0,
				      &st->cfg, &e), 0);
	st->s.capacity = 16;
	st->s.peers = malloc(sizeof(cls_peers));
	assert_non_null(st->s.peers);
	memcpy(st->s.peers, cls_peers, sizeof(cls_peers));
	st->s.nr_peers = 6;
	last_resorts(&st->s, (struct tg_counters){ 11, 1, 22, 2, 3 },
		     (struct tg_counters){ 0, 0, 40, 1, 0 });
	*state = st;
	return 0;
}

static int cls_teardown(void **state)
{
	struct cls_state *st = *state;

	snapshot_free(&st->s);
	config_free(st->cfg);
	free(st);
	return 0;
}

static const struct dump_group *find_group(const struct dump_group *g,
					   size_t nr, __u8 role, bool overflow,
					   const char *key)
{
	size_t i;

	for (i = 0; i < nr; i++)
		if (g[i].role == role && g[i].overflow == overflow &&
		    (g[i].key == key ||
		     (g[i].key && key && !strcmp(g[i].key, key))))
			return &g[i];
	fail_msg("no group role %u overflow %d key '%s'", role, overflow,
		 key ? key : "(null)");
	return NULL;
}

/* Each group's billable and free bytes, and the totals of all of them. */
static void check_group(const struct dump_group *g, size_t nr, __u8 role,
			bool overflow, const char *key, size_t peers,
			__u64 billable, __u64 free_b)
{
	const struct dump_group *x = find_group(g, nr, role, overflow, key);

	assert_int_equal(x->peers, peers);
	assert_int_equal(x->billable_bytes, billable);
	assert_int_equal(x->free_bytes, free_b);
	assert_int_equal(x->c.bytes_out, billable + free_b);
}

static void check_total(const struct dump_group *g, size_t nr,
			const struct dump_group *total)
{
	__u64 in = 0, out = 0, bill = 0, fr = 0;
	size_t i;

	for (i = 0; i < nr; i++) {
		in += g[i].c.bytes_in;
		out += g[i].c.bytes_out;
		bill += g[i].billable_bytes;
		fr += g[i].free_bytes;
	}
	assert_int_equal(total->c.bytes_in, in);
	assert_int_equal(total->c.bytes_out, out);
	assert_int_equal(total->billable_bytes, bill);
	assert_int_equal(total->free_bytes, fr);
	/* everything in the snapshot: 4122 out, 5411 in */
	assert_int_equal(total->c.bytes_out, 4122);
	assert_int_equal(total->c.bytes_in, 5411);
	assert_int_equal(total->billable_bytes, 3372);
	assert_int_equal(total->free_bytes, 750);
	assert_int_equal(total->peers, 6);
}

/* dump_aggregate() of the fixture's snapshot, through the usage rows. */
static int aggregate(struct cls_state *st, enum dump_by by,
		     struct dump_group **g, size_t *nr,
		     struct dump_group *total)
{
	struct usage_list l;
	int err;

	assert_int_equal(usage_of(st->cfg, &st->s, &l), 0);
	err = dump_aggregate(&l, by, g, nr, total);
	usage_list_free(&l);
	return err;
}

static void test_aggregate_backend(void **state)
{
	struct cls_state *st = *state;
	struct dump_group *g, total;
	size_t nr;

	assert_int_equal(aggregate(st, BY_BACKEND, &g, &nr, &total), 0);
	assert_int_equal(nr, 6);
	check_group(g, nr, TG_ROLE_BACKEND, false, "orders", 2, 0, 750);
	check_group(g, nr, TG_ROLE_BACKEND, false, "pub", 1, 1000, 0);
	check_group(g, nr, TG_ROLE_BACKEND, false, "", 1, 300, 0);
	check_group(g, nr, TG_ROLE_CLIENT, false, "", 2, 2010, 0);
	check_group(g, nr, TG_ROLE_CLIENT, true, NULL, 0, 22, 0);
	check_group(g, nr, TG_ROLE_NONE, true, NULL, 0, 40, 0);
	check_total(g, nr, &total);
	/* busiest first: orders has 5760 bytes in all */
	assert_string_equal(g[0].key, "orders");
	free(g);
}

static void test_aggregate_tenant_service(void **state)
{
	struct cls_state *st = *state;
	struct dump_group *g, total;
	size_t nr;

	assert_int_equal(aggregate(st, BY_TENANT, &g, &nr, &total), 0);
	assert_int_equal(nr, 7);
	check_group(g, nr, TG_ROLE_BACKEND, false, "acme", 2, 0, 750);
	check_group(g, nr, TG_ROLE_BACKEND, false, "globex", 1, 1000, 0);
	check_group(g, nr, TG_ROLE_BACKEND, false, "", 1, 300, 0);
	check_group(g, nr, TG_ROLE_CLIENT, false, "acme", 1, 2000, 0);
	check_group(g, nr, TG_ROLE_CLIENT, false, "", 1, 10, 0);
	check_total(g, nr, &total);
	free(g);

	assert_int_equal(aggregate(st, BY_SERVICE, &g, &nr, &total), 0);
	check_group(g, nr, TG_ROLE_BACKEND, false, "api", 2, 0, 750);
	check_group(g, nr, TG_ROLE_BACKEND, false, "", 2, 1300, 0);
	check_group(g, nr, TG_ROLE_CLIENT, false, "api", 1, 2000, 0);
	check_total(g, nr, &total);
	free(g);
}

static void test_aggregate_traffic(void **state)
{
	struct cls_state *st = *state;
	struct dump_group *g, total;
	size_t nr;

	assert_int_equal(aggregate(st, BY_TRAFFIC, &g, &nr, &total), 0);
	assert_int_equal(nr, 6);
	check_group(g, nr, TG_ROLE_BACKEND, false, "outbound_backend_intranet",
		    2, 0, 750);
	check_group(g, nr, TG_ROLE_BACKEND, false,
		    "outbound_backend_public_same_region", 1, 1000, 0);
	check_group(g, nr, TG_ROLE_BACKEND, false,
		    "outbound_backend_other_region", 1, 300, 0);
	check_group(g, nr, TG_ROLE_CLIENT, false, "outbound_client", 2, 2010,
		    0);
	/* unattributed bytes: billed as the ledger books them */
	check_group(g, nr, TG_ROLE_CLIENT, true, "outbound_client", 0, 22, 0);
	check_group(g, nr, TG_ROLE_NONE, true, "outbound_client", 0, 40, 0);
	check_total(g, nr, &total);
	free(g);

	assert_int_equal(aggregate(st, BY_PEER, &g, &nr, &total), -EINVAL);
}

static char *write_to_string(struct snapshot *s, const struct dump_opts *o)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(dump_write(f, s, o), 0);
	fclose(f);
	return buf;
}

static void test_classified_rows(void **state)
{
	struct cls_state *st = *state;
	struct dump_opts o = { .by = BY_PEER, .fmt = FMT_JSON, .cfg = st->cfg };
	char *out = write_to_string(&st->s, &o);

	/* busiest first: the orders backend, then the api client */
	assert_non_null(strstr(out,
		"[\n{\"role\":\"backend\",\"proto\":\"tcp\",\"peer\":\"10.0.2.2\","
		"\"port\":8080,\"bytes_out\":700,\"packets_out\":2,"
		"\"bytes_in\":5000,\"packets_in\":1,\"calls\":0,\"overflow\":false,"
		"\"network\":\"intranet\",\"provider\":\"p1\",\"region\":\"r1\","
		"\"traffic_type\":\"outbound_backend_intranet\","
		"\"billable\":false,\"flags\":[],\"backend\":\"orders\","
		"\"service\":\"api\",\"tenant\":\"acme\",\"since\":null},\n"));
	assert_non_null(strstr(out,
		"{\"role\":\"backend\",\"proto\":\"tcp\",\"peer\":\"203.0.113.5\","
		"\"port\":80,\"bytes_out\":300,\"packets_out\":2,"
		"\"bytes_in\":80,\"packets_in\":1,\"calls\":0,\"overflow\":false,"
		"\"network\":\"public\",\"provider\":\"p1\",\"region\":\"r2\","
		"\"traffic_type\":\"outbound_backend_other_region\","
		"\"billable\":true,\"flags\":[\"unknown_backend\"],"
		"\"backend\":\"\",\"service\":\"\",\"tenant\":\"\",\"since\":null}"));
	assert_non_null(strstr(out,
		"{\"role\":\"none\",\"proto\":\"*\",\"peer\":\"*\",\"port\":0,"
		"\"bytes_out\":40,\"packets_out\":1,\"bytes_in\":0,"
		"\"packets_in\":0,\"calls\":0,\"overflow\":true,\"network\":null,"
		"\"provider\":null,\"region\":null,"
		"\"traffic_type\":\"outbound_client\","
		"\"billable\":true,\"flags\":[],\"backend\":null,"
		"\"service\":null,\"tenant\":null,\"since\":null},\n"));
	free(out);

	o.fmt = FMT_CSV;
	out = write_to_string(&st->s, &o);
	assert_non_null(strstr(out,
		"role,proto,peer,port,bytes_out,packets_out,bytes_in,"
		"packets_in,calls,overflow,network,provider,region,traffic_type,"
		"billable,flags,backend,service,tenant,since\n"
		"backend,tcp,10.0.2.2,8080,700,2,5000,1,0,false,intranet,p1,r1,"
		"outbound_backend_intranet,false,,orders,api,acme,\n"));
	assert_non_null(strstr(out,
		"client,tcp,192.0.2.8,8443,10,2,100,1,7,false,public,internet,,"
		"outbound_client,true,unknown_service,,,,\n"));
	free(out);

	/* the table: a TOTAL row and the billable/free line */
	o.fmt = FMT_TABLE;
	o.raw = true;
	out = write_to_string(&st->s, &o);
	assert_non_null(strstr(line_of(out, "backend tcp   10.0.2.2"), "orders"));
	assert_non_null(strstr(out, "out: 3372 billable, 750 free; in: 5411 "
				    "(inbound, not billed)\n"));
	{
		size_t width = strchr(out, '\n') - out;
		const char *row = line_of(out, "TOTAL");

		assert_true((size_t)(strchr(row, '\n') - row) <= width);
	}
	free(out);
	o.wide = true;
	out = write_to_string(&st->s, &o);
	assert_non_null(strstr(line_of(out, "ROLE"), "TENANT"));
	assert_non_null(strstr(out, "unknown_backend"));
	free(out);
}

static void test_group_formats(void **state)
{
	struct cls_state *st = *state;
	struct dump_opts o = { .by = BY_BACKEND, .fmt = FMT_JSON,
			       .cfg = st->cfg };
	char *out = write_to_string(&st->s, &o);

	assert_non_null(strstr(out, "{\"by\":\"backend\",\"rows\":[\n"
		"{\"role\":\"backend\",\"backend\":\"orders\","
		"\"overflow\":false,\"peers\":2,\"bytes_out\":750,"
		"\"packets_out\":4,\"bytes_in\":5060,\"packets_in\":2,"
		"\"calls\":0,\"billable_bytes\":0,\"free_bytes\":750},\n"));
	assert_non_null(strstr(out, "{\"role\":\"none\",\"backend\":null,"
				    "\"overflow\":true,\"peers\":0,"));
	assert_non_null(strstr(out, "\n],\n\"total\":{\"peers\":6,"
		"\"bytes_out\":4122,\"packets_out\":15,\"bytes_in\":5411,"
		"\"packets_in\":7,\"calls\":17,\"billable_bytes\":3372,"
		"\"free_bytes\":750}}\n"));
	free(out);

	o.fmt = FMT_CSV;
	o.by = BY_TRAFFIC;
	out = write_to_string(&st->s, &o);
	assert_non_null(strstr(out, "role,traffic_type,overflow,peers,"
		"bytes_out,packets_out,bytes_in,packets_in,calls,billable_bytes,"
		"free_bytes,total\n"));
	assert_non_null(strstr(out, "client,outbound_client,true,0,22,2,11,1,"
				    "3,22,0,false\n"));
	assert_non_null(strstr(out, ",,false,6,4122,15,5411,7,17,3372,750,"
				    "true\n"));
	free(out);

	o.fmt = FMT_TABLE;
	o.by = BY_TENANT;
	o.raw = true;
	out = write_to_string(&st->s, &o);
	assert_non_null(strstr(line_of(out, "ROLE"), "TENANT"));
	assert_non_null(strstr(line_of(out, "TOTAL"), " 3372 "));
	assert_non_null(strstr(line_of(out, "client  (overflow)"), "22"));
	free(out);

	/* an aggregate view needs a configuration */
	o.cfg = NULL;
	{
		FILE *f = fopen("/dev/null", "w");

		assert_non_null(f);
		assert_int_equal(dump_write(f, &st->s, &o), -EINVAL);
		fclose(f);
	}
}

static void test_by_parse(void **state)
{
	enum dump_by by;

	assert_int_equal(dump_by_parse("traffic_type", &by), 0);
	assert_int_equal(by, BY_TRAFFIC);
	assert_int_equal(dump_by_parse("tenant", &by), 0);
	assert_int_equal(by, BY_TENANT);
	assert_int_equal(dump_by_parse("Tenant", &by), -EINVAL);
	assert_int_equal(dump_by_parse("", &by), -EINVAL);
	assert_string_equal(dump_by_name(BY_BACKEND), "backend");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_peers),
		cmocka_unit_test(test_json_empty),
		cmocka_unit_test(test_csv_peers),
		cmocka_unit_test(test_table_totals),
		cmocka_unit_test(test_uncounted),
		cmocka_unit_test(test_sockets),
		cmocka_unit_test(test_totals),
		cmocka_unit_test(test_by_parse),
		cmocka_unit_test_setup_teardown(test_aggregate_backend,
						cls_setup, cls_teardown),
		cmocka_unit_test_setup_teardown(test_aggregate_tenant_service,
						cls_setup, cls_teardown),
		cmocka_unit_test_setup_teardown(test_aggregate_traffic,
						cls_setup, cls_teardown),
		cmocka_unit_test_setup_teardown(test_classified_rows,
						cls_setup, cls_teardown),
		cmocka_unit_test_setup_teardown(test_group_formats,
						cls_setup, cls_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
