// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_dump.c - the dump formats on hand-made snapshots: exact JSON and CSV
 * text, busiest-first order, overflow rows, table totals and alignment.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tollgate.h"

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

static struct snapshot make_snapshot(bool overflow)
{
	struct snapshot s = { .capacity = 16, .meta.next_slot = 4 };

	s.peers = malloc(sizeof(peers));
	assert_non_null(s.peers);
	memcpy(s.peers, peers, sizeof(peers));
	s.nr_peers = 4;
	if (overflow) {
		s.overflow[TG_ROLE_CLIENT] = (struct tg_counters){ 11, 1, 22,
								   2, 5 };
		s.overflow[TG_ROLE_NONE] = (struct tg_counters){ 0, 0, 40, 1,
								 0 };
		s.stats[TG_STAT_PEER_FULL] = 3;
		s.stats[TG_STAT_NO_SOCK] = 1;
	}
	return s;
}

static char *dump_to_string(struct snapshot *s, enum dump_by by,
			    enum dump_format fmt, bool raw)
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
		"\"overflow\":false},\n"
		"{\"role\":\"backend\",\"proto\":\"tcp\",\"peer\":\"10.0.2.2\","
		"\"port\":8080,\"bytes_out\":700,\"packets_out\":7,"
		"\"bytes_in\":5000,\"packets_in\":5,\"calls\":0,"
		"\"overflow\":false},\n"
		"{\"role\":\"backend\",\"proto\":\"udp\",\"peer\":\"2001:db8::9\","
		"\"port\":53,\"bytes_out\":200,\"packets_out\":2,"
		"\"bytes_in\":300,\"packets_in\":3,\"calls\":0,"
		"\"overflow\":false},\n"
		"{\"role\":\"backend\",\"proto\":47,\"peer\":\"10.0.2.3\","
		"\"port\":0,\"bytes_out\":0,\"packets_out\":0,"
		"\"bytes_in\":0,\"packets_in\":0,\"calls\":0,"
		"\"overflow\":false},\n"
		"{\"role\":\"none\",\"proto\":\"*\",\"peer\":\"*\",\"port\":0,"
		"\"bytes_out\":40,\"packets_out\":1,\"bytes_in\":0,"
		"\"packets_in\":0,\"calls\":0,\"overflow\":true},\n"
		"{\"role\":\"client\",\"proto\":\"*\",\"peer\":\"*\",\"port\":0,"
		"\"bytes_out\":22,\"packets_out\":2,\"bytes_in\":11,"
		"\"packets_in\":1,\"calls\":5,\"overflow\":true}\n"
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
		"packets_in,calls,overflow\n"
		"client,tcp,192.0.2.7,443,1073741824,740000,1000,10,1234,false\n"
		"backend,tcp,10.0.2.2,8080,700,7,5000,5,0,false\n"
		"backend,udp,2001:db8::9,53,200,2,300,3,0,false\n"
		"backend,47,10.0.2.3,0,0,0,0,0,0,false\n");
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
	assert_non_null(strstr(out, "4 peers, 16 slots (25.0% used), 3 failed "
				    "inserts, 1 packets without a socket\n"));
	free(out);

	/* human units, and every row as wide as the header */
	out = dump_to_string(&s, BY_PEER, FMT_TABLE, false);
	assert_non_null(strstr(line_of(out, "client   tcp    192.0.2.7"),
			       "1.00 GiB"));
	{
		size_t width = strchr(out, '\n') - out;
		const char *row = line_of(out, "client");

		assert_int_equal(strchr(row, '\n') - row, width);
		row = line_of(out, "TOTAL");
		assert_int_equal(strchr(row, '\n') - row, width);
	}
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_peers),
		cmocka_unit_test(test_json_empty),
		cmocka_unit_test(test_csv_peers),
		cmocka_unit_test(test_table_totals),
		cmocka_unit_test(test_sockets),
		cmocka_unit_test(test_totals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
