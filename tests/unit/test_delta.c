// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_delta.c - deltas between counter snapshots: the normal case, a new
 * boot, new maps, a counter that went down, a new key, a vanished key, no
 * previous snapshot, duplicate keys; and the checks of a day row's key.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ledger/ledger.h"

#define MAXC 4

struct ctr {
	const char *key;
	__u64 bytes, packets, calls;
};

static const struct {
	const char *name;
	const char *prev_boot;
	__u64 prev_gen, prev_seq;
	struct ctr prev[MAXC];
	const char *cur_boot;
	__u64 cur_gen;
	struct ctr cur[MAXC];
	struct ctr want[MAXC];	/* in cur's order */
	int ret;
} cases[] = {
	{ "normal", "b1", 7, 3, { { "a", 100, 10, 1 }, { "b", 50, 5, 0 } },
	  "b1", 7, { { "b", 80, 6, 2 }, { "a", 100, 10, 1 } },
	  { { "b", 30, 1, 2 }, { "a", 0, 0, 0 } }, 0 },
	{ "new boot", "b1", 7, 3, { { "a", 100, 10, 1 } },
	  "b2", 7, { { "a", 120, 12, 1 } },
	  { { "a", 120, 12, 1 } }, 1 },
	{ "new maps", "b1", 7, 3, { { "a", 100, 10, 1 } },
	  "b1", 8, { { "a", 5, 1, 0 } },
	  { { "a", 5, 1, 0 } }, 1 },
	/* bytes went down, packets did not: the entry was recreated, all
	 * of its counters are new */
	{ "counter decreased", "b1", 7, 3,
	  { { "a", 100, 10, 1 }, { "b", 50, 5, 0 } },
	  "b1", 7, { { "a", 40, 11, 1 }, { "b", 60, 6, 0 } },
	  { { "a", 40, 11, 1 }, { "b", 10, 1, 0 } }, 1 },
	{ "new key", "b1", 7, 3, { { "a", 100, 10, 1 } },
	  "b1", 7, { { "a", 110, 11, 1 }, { "c", 9, 1, 3 } },
	  { { "a", 10, 1, 0 }, { "c", 9, 1, 3 } }, 0 },
	{ "vanished key", "b1", 7, 3,
	  { { "a", 100, 10, 1 }, { "gone", 500, 50, 5 } },
	  "b1", 7, { { "a", 101, 10, 1 } },
	  { { "a", 1, 0, 0 } }, 0 },
	{ "no previous snapshot", "", 0, 0, {},
	  "b1", 7, { { "a", 100, 10, 1 } },
	  { { "a", 100, 10, 1 } }, 0 },
	/* keys are bytes: "a" and "a\0"-less prefixes differ by length */
	{ "prefix keys", "b1", 7, 3, { { "ab", 10, 1, 0 }, { "a", 5, 1, 0 } },
	  "b1", 7, { { "a", 6, 1, 0 }, { "ab", 12, 2, 0 } },
	  { { "a", 1, 0, 0 }, { "ab", 2, 1, 0 } }, 0 },
	{ "unchanged at 2^64-1", "b1", 7, 3, { { "a", UINT64_MAX, 1, 0 } },
	  "b1", 7, { { "a", UINT64_MAX, 1, 0 } },
	  { { "a", 0, 0, 0 } }, 0 },
	{ "duplicate key in cur", "b1", 7, 3, { { "a", 1, 1, 0 } },
	  "b1", 7, { { "a", 2, 2, 0 }, { "a", 3, 3, 0 } },
	  {}, -EINVAL },
	{ "duplicate key in prev", "b1", 7, 3,
	  { { "a", 1, 1, 0 }, { "a", 1, 1, 0 } },
	  "b1", 7, { { "a", 2, 2, 0 } },
	  {}, -EINVAL },
};

static size_t fill(struct ledger_counter *c, const struct ctr *in)
{
	size_t n;

	for (n = 0; n < MAXC && in[n].key; n++) {
		memset(&c[n], 0, sizeof(c[n]));
		c[n].key_len = strlen(in[n].key);
		memcpy(c[n].key, in[n].key, c[n].key_len);
		c[n].bytes = in[n].bytes;
		c[n].packets = in[n].packets;
		c[n].calls = in[n].calls;
	}
	return n;
}

static void test_delta_table(void **state)
{
	size_t i, j;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ledger_counter pc[MAXC], cc[MAXC], out[MAXC], want[MAXC];
		struct ledger_snap prev = { .generation = cases[i].prev_gen,
					    .seq = cases[i].prev_seq,
					    .ctrs = pc };
		struct ledger_snap cur = { .generation = cases[i].cur_gen,
					   .seq = cases[i].prev_seq + 1,
					   .ctrs = cc };
		size_t nw;
		int ret;

		strcpy(prev.boot_id, cases[i].prev_boot);
		strcpy(cur.boot_id, cases[i].cur_boot);
		prev.nr = fill(pc, cases[i].prev);
		cur.nr = fill(cc, cases[i].cur);
		nw = fill(want, cases[i].want);
		ret = ledger_delta(&prev, &cur, out);
		if (ret != cases[i].ret)
			fail_msg("%s: returned %d, want %d", cases[i].name, ret,
				 cases[i].ret);
		if (ret < 0)
			continue;
		assert_int_equal(nw, cur.nr);
		for (j = 0; j < nw; j++) {
			if (out[j].key_len != want[j].key_len ||
			    memcmp(out[j].key, want[j].key, want[j].key_len) ||
			    out[j].bytes != want[j].bytes ||
			    out[j].packets != want[j].packets ||
			    out[j].calls != want[j].calls)
				fail_msg("%s: delta %zu is %.*s %llu/%llu/%llu, "
					 "want %s %llu/%llu/%llu",
					 cases[i].name, j, (int)out[j].key_len,
					 out[j].key,
					 (unsigned long long)out[j].bytes,
					 (unsigned long long)out[j].packets,
					 (unsigned long long)out[j].calls,
					 cases[i].want[j].key,
					 (unsigned long long)want[j].bytes,
					 (unsigned long long)want[j].packets,
					 (unsigned long long)want[j].calls);
		}
	}
}

/* A NULL previous snapshot is the same as none; an empty key is refused. */
static void test_delta_edges(void **state)
{
	struct ledger_counter c = { .key = "k", .key_len = 1, .bytes = 9 };
	struct ledger_snap cur = { .boot_id = "b", .seq = 1, .ctrs = &c,
				   .nr = 1 };
	struct ledger_counter out;

	assert_int_equal(ledger_delta(NULL, &cur, &out), 0);
	assert_int_equal(out.bytes, 9);
	c.key_len = 0;
	assert_int_equal(ledger_delta(NULL, &cur, &out), -EINVAL);
	c.key_len = LEDGER_SNAP_KEY_MAX + 1;
	assert_int_equal(ledger_delta(NULL, &cur, &out), -EINVAL);
	cur.nr = 0;
	assert_int_equal(ledger_delta(NULL, &cur, NULL), 0);
}

static void test_key_check(void **state)
{
	static const struct {
		struct ledger_key k;
		const char *err;	/* NULL: valid */
	} cases[] = {
		{ { "gw1", "2024-05-01", "acme", "api", "", "outbound_client" },
		  NULL },
		{ { "gw1", "2024-05-01", "", "", "", "inbound" }, NULL },
		{ { "", "2024-05-01", "a", "s", "", "inbound" }, "host: empty" },
		{ { "gw1", "2024-02-30", "a", "s", "", "inbound" },
		  "day: not a calendar day YYYY-MM-DD" },
		{ { "gw1", "2024-05-01", "a", "s", "", "outbound" },
		  "traffic_type: not a known traffic type" },
		{ { "gw1", "2024-05-01", "a\tb", "s", "", "inbound" },
		  "tenant: control character in the name" },
		{ { "gw1", "2024-05-01", "a", "s", "b\n", "inbound" },
		  "backend: control character in the name" },
	};
	char err[160];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ret = ledger_key_check(&cases[i].k, err, sizeof(err));

		if (!cases[i].err) {
			if (ret)
				fail_msg("case %zu: %s", i, err);
			continue;
		}
		assert_int_equal(ret, -EINVAL);
		assert_string_equal(err, cases[i].err);
	}
	for (i = 0; i < TG_NR_TRAFFIC; i++)
		assert_int_equal(traffic_index(traffic_name(i)), i);
	assert_int_equal(traffic_index("outbound_scf"), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_delta_table),
		cmocka_unit_test(test_delta_edges),
		cmocka_unit_test(test_key_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
