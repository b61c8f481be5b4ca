// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_cidr.c - prefix parsing and formatting, and the longest-prefix
 * table: prefix boundaries (first and last address, one past each), /0,
 * /32, /128, IPv4-mapped IPv6, overlaps, and random tables checked
 * against a linear scan, with and without the jump tables.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "classify/cidr.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* An address from text, IPv4 mapped. */
static void addr(const char *s, __u8 out[16])
{
	__u8 v4[4];

	if (inet_pton(AF_INET, s, v4) == 1) {
		cidr_map_v4(v4, out);
		return;
	}
	if (inet_pton(AF_INET6, s, out) != 1)
		fail_msg("bad test address %s", s);
}

static void test_parse(void **state)
{
	static const struct {
		const char *in;
		int err;
		const char *out;	/* cidr_format() of the result */
		unsigned int len;	/* 128-bit space */
	} cases[] = {
		{ "10.0.0.0/8", 0, "10.0.0.0/8", 104 },
		{ "0.0.0.0/0", 0, "0.0.0.0/0", 96 },
		{ "192.0.2.1", 0, "192.0.2.1/32", 128 },
		{ "192.0.2.1/32", 0, "192.0.2.1/32", 128 },
		{ "::/0", 0, "::/0", 0 },
		{ "::1", 0, "::1/128", 128 },
		{ "2001:db8::/32", 0, "2001:db8::/32", 32 },
		{ "2001:db8::1/128", 0, "2001:db8::1/128", 128 },
		/* IPv4-mapped IPv6 is IPv4 */
		{ "::ffff:10.0.0.0/104", 0, "10.0.0.0/8", 104 },
		{ "::ffff:0:0/96", 0, "0.0.0.0/0", 96 },
		{ "::ffff:192.0.2.1", 0, "192.0.2.1/32", 128 },
		/* but a shorter IPv6 prefix around it is not */
		{ "::/80", 0, "::/80", 80 },
		/* host bits: rejected, masked form offered */
		{ "10.0.0.1/8", -EDOM, "10.0.0.0/8", 104 },
		{ "192.168.1.1/16", -EDOM, "192.168.0.0/16", 112 },
		{ "2001:db8::1/32", -EDOM, "2001:db8::/32", 32 },
		{ "1.2.3.4/0", -EDOM, "0.0.0.0/0", 96 },
		/* malformed */
		{ "", -EINVAL, NULL, 0 },
		{ "/8", -EINVAL, NULL, 0 },
		{ "10.0.0.0/", -EINVAL, NULL, 0 },
		{ "10.0.0.0/33", -EINVAL, NULL, 0 },
		{ "10.0.0.0/08", -EINVAL, NULL, 0 },
		{ "10.0.0.0/-1", -EINVAL, NULL, 0 },
		{ "10.0.0.0/+8", -EINVAL, NULL, 0 },
		{ "10.0.0.0/8 ", -EINVAL, NULL, 0 },
		{ " 10.0.0.0/8", -EINVAL, NULL, 0 },
		{ "10.0.0/8", -EINVAL, NULL, 0 },
		{ "10.0.0.256/32", -EINVAL, NULL, 0 },
		{ "010.0.0.0/8", -EINVAL, NULL, 0 },
		{ "2001:db8::/129", -EINVAL, NULL, 0 },
		{ "2001:db8:::/32", -EINVAL, NULL, 0 },
		{ "10.0.0.0/8/8", -EINVAL, NULL, 0 },
		{ "host.example", -EINVAL, NULL, 0 },
		{ "1000000000000000000000000000000000000000000000000000", -EINVAL,
		  NULL, 0 },
	};
	char buf[CIDR_STRLEN];
	struct cidr p;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		int err = cidr_parse(cases[i].in, &p);

		if (err != cases[i].err)
			fail_msg("cidr_parse(\"%s\"): %d, want %d", cases[i].in,
				 err, cases[i].err);
		if (!cases[i].out)
			continue;
		assert_string_equal(cidr_format(&p, buf, sizeof(buf)),
				    cases[i].out);
		assert_int_equal(p.len, cases[i].len);
	}
}

static void test_contains(void **state)
{
	static const struct {
		const char *prefix;
		const char *addr;
		bool in;
	} cases[] = {
		{ "10.0.0.0/8", "10.0.0.0", true },		/* first */
		{ "10.0.0.0/8", "10.255.255.255", true },	/* last */
		{ "10.0.0.0/8", "9.255.255.255", false },	/* one before */
		{ "10.0.0.0/8", "11.0.0.0", false },		/* one after */
		{ "10.0.0.0/8", "::ffff:10.1.2.3", true },	/* mapped */
		{ "10.0.0.0/8", "a00::", false },		/* not mapped */
		{ "0.0.0.0/0", "255.255.255.255", true },
		{ "0.0.0.0/0", "::1", false },			/* v4 only */
		{ "::/0", "1.2.3.4", true },			/* all 128 bits */
		{ "192.0.2.1/32", "192.0.2.1", true },
		{ "192.0.2.1/32", "192.0.2.2", false },
		{ "2001:db8::/32", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
		  true },
		{ "2001:db8::/32", "2001:db9::", false },
		{ "::1/128", "::1", true },
		{ "::1/128", "::2", false },
	};
	struct cidr p;
	__u8 a[16];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		assert_int_equal(cidr_parse(cases[i].prefix, &p), 0);
		addr(cases[i].addr, a);
		if (cidr_contains(&p, a) != cases[i].in)
			fail_msg("%s in %s: want %d", cases[i].addr,
				 cases[i].prefix, cases[i].in);
	}
}

static void put(struct cidr_table *t, const char *prefix, __u32 v)
{
	struct cidr p;
	__u32 *slot;

	assert_int_equal(cidr_parse(prefix, &p), 0);
	slot = cidr_table_slot(t, &p);
	assert_non_null(slot);
	*slot = v;
}

/* Boundaries and overlaps on one hand-built table. */
static void test_table(void **state)
{
	static const char *const prefixes[] = {
		"0.0.0.0/0",		/* 0 */
		"::/0",			/* 1 */
		"10.0.0.0/8",		/* 2 */
		"10.1.0.0/16",		/* 3 */
		"10.1.2.0/24",		/* 4 */
		"10.1.2.3/32",		/* 5 */
		"10.1.2.128/25",	/* 6 */
		"2001:db8::/32",	/* 7 */
		"2001:db8:1::/48",	/* 8 */
		"2001:db8:1::1/128",	/* 9 */
		"128.0.0.0/1",		/* 10 */
		"255.255.255.255/32",	/* 11 */
		"::ffff:172.16.0.0/108", /* 12, = 172.16.0.0/12 */
	};
	static const struct {
		const char *addr;
		__u32 want;
		unsigned int len;
	} cases[] = {
		{ "1.1.1.1", 0, 96 },
		{ "9.255.255.255", 0, 96 },
		{ "10.0.0.0", 2, 104 },
		{ "10.255.255.255", 2, 104 },
		{ "11.0.0.0", 0, 96 },
		{ "10.1.0.0", 3, 112 },
		{ "10.1.255.255", 3, 112 },
		{ "10.1.2.0", 4, 120 },
		{ "10.1.2.2", 4, 120 },
		{ "10.1.2.3", 5, 128 },
		{ "10.1.2.4", 4, 120 },
		{ "10.1.2.127", 4, 120 },
		{ "10.1.2.128", 6, 121 },
		{ "10.1.2.255", 6, 121 },
		{ "10.1.3.0", 3, 112 },
		{ "::ffff:10.1.2.3", 5, 128 },
		{ "127.255.255.255", 0, 96 },
		{ "128.0.0.0", 10, 97 },
		{ "255.255.255.254", 10, 97 },
		{ "255.255.255.255", 11, 128 },
		{ "172.16.0.0", 12, 108 },
		{ "172.31.255.255", 12, 108 },
		{ "172.32.0.0", 10, 97 },
		{ "::", 1, 0 },
		{ "::1", 1, 0 },
		{ "::fffe:ffff:ffff", 1, 0 },	/* just below ::ffff:0:0/96 */
		{ "::1:0:0:0", 1, 0 },		/* just above it */
		{ "2001:db8::", 7, 32 },
		{ "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", 7, 32 },
		{ "2001:db9::", 1, 0 },
		{ "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", 1, 0 },
		{ "2001:db8:1::", 8, 48 },
		{ "2001:db8:1::1", 9, 128 },
		{ "2001:db8:1::2", 8, 48 },
		{ "2001:db8:1:ffff:ffff:ffff:ffff:ffff", 8, 48 },
		{ "2001:db8:2::", 7, 32 },
		{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1, 0 },
	};
	struct cidr_table *t = cidr_table_new();
	size_t i;
	__u8 a[16], len;

	assert_non_null(t);
	/* Empty table: nothing matches. */
	addr("10.0.0.1", a);
	assert_int_equal(cidr_table_lookup(t, a, NULL), CIDR_NONE);
	/* Insert longest first, so splits happen above existing nodes. */
	for (i = ARRAY_SIZE(prefixes); i-- > 0;)
		put(t, prefixes[i], i);
	if (*state && *(int *)*state)
		assert_int_equal(cidr_table_optimize(t), 0);
	assert_int_equal(cidr_table_count(t), ARRAY_SIZE(prefixes));
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		__u32 got;

		addr(cases[i].addr, a);
		len = 255;
		got = cidr_table_lookup(t, a, &len);
		if (got != cases[i].want || len != cases[i].len)
			fail_msg("%s: got %u/%u, want %u (%s)/%u",
				 cases[i].addr, got, len, cases[i].want,
				 prefixes[cases[i].want], cases[i].len);
	}
	/* The slot of an existing prefix is the same slot. */
	{
		struct cidr p;
		__u32 *slot;

		assert_int_equal(cidr_parse("10.1.0.0/16", &p), 0);
		slot = cidr_table_slot(t, &p);
		assert_non_null(slot);
		assert_int_equal(*slot, 3);
		/* an insert drops the jump tables; lookups stay right */
		put(t, "10.1.2.0/31", 99);
		addr("10.1.2.1", a);
		assert_int_equal(cidr_table_lookup(t, a, NULL), 99);
		addr("10.1.2.3", a);
		assert_int_equal(cidr_table_lookup(t, a, NULL), 5);
	}
	cidr_table_free(t);
}

/* No /0 at all: addresses outside every prefix find nothing. */
static void test_table_gaps(void **state)
{
	struct cidr_table *t = cidr_table_new();
	__u8 a[16];

	put(t, "10.1.2.0/24", 1);
	put(t, "10.1.3.0/24", 2);
	addr("10.1.2.9", a);
	assert_int_equal(cidr_table_lookup(t, a, NULL), 1);
	addr("10.1.3.9", a);
	assert_int_equal(cidr_table_lookup(t, a, NULL), 2);
	/* the branch node 10.1.2.0/23 carries no value */
	addr("10.1.4.0", a);
	assert_int_equal(cidr_table_lookup(t, a, NULL), CIDR_NONE);
	addr("10.1.1.255", a);
	assert_int_equal(cidr_table_lookup(t, a, NULL), CIDR_NONE);
	assert_int_equal(cidr_table_count(t), 2);
	cidr_table_free(t);
}

static __u64 rng_state = 0x9e3779b97f4a7c15ULL;

static __u64 rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Random prefix; half IPv4, clustered so that prefixes nest. */
static void rnd_prefix(struct cidr *p)
{
	__u8 a[16] = {};
	unsigned int len, i;
	__u64 r = rnd();

	if (r & 1) {
		__u8 v4[4] = { 10 + (r >> 8) % 4, (r >> 16) % 8, r >> 24,
			       r >> 32 };

		cidr_map_v4(v4, a);
		len = 96 + (r >> 40) % 33;
	} else {
		a[0] = 0x20;
		a[1] = 0x01;
		a[2] = (r >> 8) % 4;
		for (i = 3; i < 16; i++)
			a[i] = rnd();
		len = (r >> 40) % 129;
	}
	for (i = 0; i < 128; i++)
		if (i >= len)
			a[i / 8] &= ~(0x80 >> (i % 8));
	memcpy(p->addr, a, 16);
	p->len = len;
}

/* Random tables against a linear scan over the same prefixes. */
static void test_table_random(void **state)
{
	enum { NP = 3000, NA = 30000 };
	struct cidr *ps = calloc(NP, sizeof(*ps));
	struct cidr_table *t = cidr_table_new();
	size_t i, j, n = 0;

	assert_non_null(ps);
	for (i = 0; i < NP; i++) {
		struct cidr p;
		__u32 *slot;

		rnd_prefix(&p);
		slot = cidr_table_slot(t, &p);
		assert_non_null(slot);
		if (*slot != CIDR_NONE)
			continue;	/* first one wins */
		*slot = n;
		ps[n++] = p;
	}
	assert_int_equal(cidr_table_count(t), n);
	if (*(int *)*state)
		assert_int_equal(cidr_table_optimize(t), 0);
	for (i = 0; i < NA; i++) {
		struct cidr q;
		__u32 want = CIDR_NONE, got;
		int best = -1;
		__u8 len = 0;

		/* an address near a prefix, or anywhere */
		if (i % 3) {
			q = ps[rnd() % n];
			for (j = q.len; j < 128; j++)
				if (rnd() & 1)
					q.addr[j / 8] |= 0x80 >> (j % 8);
		} else {
			rnd_prefix(&q);
			q.addr[15] ^= rnd();
		}
		for (j = 0; j < n; j++) {
			if ((int)ps[j].len > best && cidr_contains(&ps[j], q.addr)) {
				best = ps[j].len;
				want = j;
			}
		}
		got = cidr_table_lookup(t, q.addr, &len);
		if (got != want) {
			char b[CIDR_STRLEN];

			fail_msg("lookup %s: got %d, want %d",
				 cidr_format(&q, b, sizeof(b)), (int)got,
				 (int)want);
		}
		if (want != CIDR_NONE)
			assert_int_equal(len, best);
	}
	cidr_table_free(t);
	free(ps);
}

int main(void)
{
	static int plain = 0, jumps = 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_contains),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_table_gaps),
		cmocka_unit_test_prestate(test_table_random, &plain),
		cmocka_unit_test_prestate(test_table_random, &jumps),
		cmocka_unit_test_prestate(test_table, &jumps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
