// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_util.c - number parsing, address and unit formatting, JSON escaping,
 * /proc parsing (cgroup2 mount, ephemeral ports) and the GSO byte formula.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/util.h"
#include "load/loader.h"

static void test_parse_u32(void **state)
{
	static const struct {
		const char *in;
		__u32 min, max;
		int err;
		__u32 out;
	} cases[] = {
		{ "0", 0, 10, 0, 0 },
		{ "10", 0, 10, 0, 10 },
		{ "11", 0, 10, -ERANGE, 0 },
		{ "0", 1, 10, -ERANGE, 0 },
		{ "16777216", 1, 1u << 24, 0, 1u << 24 },
		{ "4294967295", 0, UINT32_MAX, 0, UINT32_MAX },
		{ "4294967296", 0, UINT32_MAX, -ERANGE, 0 },
		{ "99999999999999999999999", 0, UINT32_MAX, -ERANGE, 0 },
		{ "", 0, 10, -EINVAL, 0 },
		{ "-1", 0, 10, -EINVAL, 0 },
		{ " 1", 0, 10, -EINVAL, 0 },
		{ "1x", 0, 10, -EINVAL, 0 },
		{ "0x10", 0, 100, -EINVAL, 0 },
		{ "+1", 0, 10, -EINVAL, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		__u32 out = 12345;
		int err = parse_u32(cases[i].in, cases[i].min, cases[i].max,
				    &out);

		if (err != cases[i].err)
			fail_msg("parse_u32(\"%s\"): %d, want %d", cases[i].in,
				 err, cases[i].err);
		if (!err)
			assert_int_equal(out, cases[i].out);
		else
			assert_int_equal(out, 12345);	/* untouched */
	}
	assert_int_equal(parse_u32(NULL, 0, 1, NULL), -EINVAL);
}

static void test_parse_endpoint(void **state)
{
	static const struct {
		const char *in;
		int err;
		const char *addr;	/* fmt_addr() of the result */
		__u16 port;
	} cases[] = {
		{ "10.1.2.3", 0, "10.1.2.3", 0 },
		{ "10.1.2.3:8080", 0, "10.1.2.3", 8080 },
		{ "2001:db8::7", 0, "2001:db8::7", 0 },
		{ "[2001:db8::7]:443", 0, "2001:db8::7", 443 },
		{ "[2001:db8::7]", 0, "2001:db8::7", 0 },
		{ "::ffff:10.0.0.1", 0, "10.0.0.1", 0 },
		{ "[::1]:65535", 0, "::1", 65535 },
		{ "10.1.2.3:0", -EINVAL, NULL, 0 },
		{ "10.1.2.3:65536", -EINVAL, NULL, 0 },
		{ "10.1.2.3:", -EINVAL, NULL, 0 },
		{ "10.1.2.3:x", -EINVAL, NULL, 0 },
		{ "[2001:db8::7", -EINVAL, NULL, 0 },
		{ "[2001:db8::7]x", -EINVAL, NULL, 0 },
		{ "[10.1.2.3]:80", -EINVAL, NULL, 0 },
		{ "10.1.2", -EINVAL, NULL, 0 },
		{ "example.com", -EINVAL, NULL, 0 },
		{ "", -EINVAL, NULL, 0 },
		{ "2001:db8::7:80:", -EINVAL, NULL, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *why = NULL;
		__u8 addr[16];
		__u16 port = 1;
		char buf[48];
		int err = parse_endpoint(cases[i].in, addr, &port, &why);

		if (err != cases[i].err)
			fail_msg("parse_endpoint(\"%s\"): %d, want %d",
				 cases[i].in, err, cases[i].err);
		if (err) {
			assert_non_null(why);
			continue;
		}
		assert_string_equal(fmt_addr(addr, buf, sizeof(buf)),
				    cases[i].addr);
		assert_int_equal(port, cases[i].port);
	}
}

static void test_fmt_addr(void **state)
{
	static const struct {
		__u8 addr[16];
		const char *text;
	} cases[] = {
		{ { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1 },
		  "10.0.0.1" },
		{ { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 255, 255, 255,
		    255 },
		  "255.255.255.255" },
		{ { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		    1 },
		  "2001:db8::1" },
		{ { 0 }, "::" },
		/* only ::ffff:0:0/96 is IPv4; the deprecated IPv4-compatible
		 * form stays IPv6 (glibc writes its tail dotted) */
		{ { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4 },
		  "::1.2.3.4" },
		{ { 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xfe, 0, 0,
		    1 },
		  "fe80::ff:fe00:1" },
	};
	char buf[48];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(fmt_addr(cases[i].addr, buf, sizeof(buf)),
				    cases[i].text);
}

static void test_fmt_units(void **state)
{
	static const struct {
		__u64 v;
		const char *bytes, *count;
	} cases[] = {
		{ 0, "0 B", "0" },
		{ 999, "999 B", "999" },
		{ 1000, "1000 B", "1.00 k" },
		{ 1023, "1023 B", "1.02 k" },
		{ 1024, "1.00 KiB", "1.02 k" },
		{ 1536, "1.50 KiB", "1.54 k" },
		{ 10485760, "10.0 MiB", "10.5 M" },
		{ 104857600, "100 MiB", "105 M" },
		{ 1073741824, "1.00 GiB", "1.07 G" },
		{ UINT64_MAX, "16.0 EiB", "18.4 E" },
	};
	char buf[32];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_string_equal(fmt_bytes(cases[i].v, buf, sizeof(buf)),
				    cases[i].bytes);
		assert_string_equal(fmt_count(cases[i].v, buf, sizeof(buf)),
				    cases[i].count);
	}
}

static void test_names(void **state)
{
	assert_string_equal(proto_name(6), "tcp");
	assert_string_equal(proto_name(17), "udp");
	assert_string_equal(proto_name(58), "icmpv6");
	assert_null(proto_name(253));
	{
		static const char *const names[] = { "tcp", "udp", "sctp",
						     "icmp", "icmpv6",
						     "udplite" };
		__u8 p = 0;
		size_t i;

		/* one table both ways */
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			assert_int_equal(proto_parse(names[i], &p), 0);
			assert_string_equal(proto_name(p), names[i]);
		}
		assert_int_equal(proto_parse("47", &p), 0);
		assert_int_equal(p, 47);
		assert_int_equal(proto_parse("256", &p), -EINVAL);
		assert_int_equal(proto_parse("TCP", &p), -EINVAL);
	}
	assert_string_equal(role_name(TG_ROLE_CLIENT), "client");
	assert_string_equal(role_name(TG_ROLE_BACKEND), "backend");
	assert_string_equal(role_name(TG_ROLE_NONE), "none");
	assert_string_equal(role_name(200), "none");
}

/* Well-formed UTF-8 (Unicode's table 3-7), and where it is not. */
static void test_utf8(void **state)
{
	static const struct {
		const char *s;
		long bad;	/* -1: valid */
	} cases[] = {
		{ "", -1 },
		{ "ascii ~\x7f", -1 },
		{ "caf\xc3\xa9", -1 },			/* U+00E9 */
		{ "\xe5\x8c\x97\xe4\xba\xac", -1 },	/* 北京 */
		{ "\xef\xbf\xbd", -1 },			/* U+FFFD */
		{ "\xf0\x9f\x98\x80", -1 },		/* U+1F600 */
		{ "\xf4\x8f\xbf\xbf", -1 },		/* U+10FFFF */
		{ "\xed\x9f\xbf", -1 },			/* U+D7FF */
		{ "a\xff", 1 },
		{ "ab\x80", 2 },				/* lone continuation */
		{ "\xc0\xaf", 0 },				/* overlong '/' */
		{ "\xc1\xbf", 0 },
		{ "\xe0\x80\xaf", 0 },			/* overlong */
		{ "\xf0\x80\x80\xaf", 0 },		/* overlong */
		{ "x\xed\xa0\x80", 1 },			/* surrogate U+D800 */
		{ "\xf4\x90\x80\x80", 0 },		/* U+110000 */
		{ "\xf5\x80\x80\x80", 0 },
		{ "\xe5\x8c", 0 },				/* cut short */
		{ "\xe5\x8cx", 0 },
		{ "\xc3", 0 },
	};
	size_t i, bad;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool ok = utf8_valid(cases[i].s, strlen(cases[i].s), &bad);

		if (ok != (cases[i].bad < 0) ||
		    (!ok && bad != (size_t)cases[i].bad))
			fail_msg("case %zu: %s at %zu", i, ok ? "valid" : "not",
				 ok ? 0 : bad);
	}
	/* a NUL is ASCII; the length bounds a character */
	assert_true(utf8_valid("a\0b", 3, NULL));
	assert_int_equal(utf8_char_len("\xc3\xa9", 1), 0);
	assert_int_equal(utf8_char_len("\xc3\xa9", 2), 2);
}

static char *json_of(const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	json_string(f, s);
	fclose(f);
	return buf;
}

static void test_json_string(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "", "\"\"" },
		{ "plain", "\"plain\"" },
		{ "a\"b\\c", "\"a\\\"b\\\\c\"" },
		{ "tab\tnl\n", "\"tab\\tnl\\n\"" },
		{ "\x01\x1f", "\"\\u0001\\u001f\"" },
		{ "caf\xc3\xa9", "\"caf\xc3\xa9\"" },
		{ "\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\"" },
		/* not UTF-8: U+FFFD for each bad byte, never the byte */
		{ "caf\xe9", "\"caf\\ufffd\"" },
		{ "a\xff" "b", "\"a\\ufffdb\"" },
		{ "\xe5\x8c", "\"\\ufffd\\ufffd\"" },
		{ "\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"" },
		{ "\xc3", "\"\\ufffd\"" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = json_of(cases[i].in);

		assert_string_equal(got, cases[i].out);
		free(got);
	}
}

static char *write_temp(const char *text)
{
	char *path = strdup("/tmp/tollgate-unit.XXXXXX");
	int fd;

	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void test_cgroup2_mount(void **state)
{
	static const struct {
		const char *mounts;
		int err;
		const char *dir;
	} cases[] = {
		/* hybrid: v1 controllers and a v2 "unified" folder */
		{ "tmpfs /sys/fs/cgroup tmpfs rw 0 0\n"
		  "cgroup /sys/fs/cgroup/cpu cgroup rw,cpu 0 0\n"
		  "cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n",
		  0, "/sys/fs/cgroup/unified" },
		/* unified */
		{ "proc /proc proc rw 0 0\n"
		  "cgroup2 /sys/fs/cgroup cgroup2 rw,nsdelegate 0 0\n",
		  0, "/sys/fs/cgroup" },
		/* the first of two wins */
		{ "none /a cgroup2 rw 0 0\nnone /b cgroup2 rw 0 0\n", 0, "/a" },
		/* blanks are escaped in /proc/mounts */
		{ "none /mnt/my\\040cgroup cgroup2 rw 0 0\n", 0,
		  "/mnt/my cgroup" },
		/* v1 only */
		{ "cgroup /sys/fs/cgroup/cpu cgroup rw 0 0\n", -ENOENT, NULL },
		{ "", -ENOENT, NULL },
		{ "garbage\n\n  \n", -ENOENT, NULL },
	};
	char buf[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *path = write_temp(cases[i].mounts);
		int err = cgroup2_mount(path, buf, sizeof(buf));

		assert_int_equal(err, cases[i].err);
		if (!err)
			assert_string_equal(buf, cases[i].dir);
		unlink(path);
		free(path);
	}
	assert_int_equal(cgroup2_mount("/nonexistent/mounts", buf, sizeof(buf)),
			 -ENOENT);
	{
		char *path = write_temp("x /a/long/path cgroup2 rw 0 0\n");

		assert_int_equal(cgroup2_mount(path, buf, 5), -ENAMETOOLONG);
		unlink(path);
		free(path);
	}
}

static void test_ephemeral_ports(void **state)
{
	static const struct {
		const char *text;
		int err;
		__u16 lo, hi;
	} cases[] = {
		{ "32768\t60999\n", 0, 32768, 60999 },
		{ "1024 65535", 0, 1024, 65535 },
		{ "5000\t5000\n", 0, 5000, 5000 },
		{ "60999\t32768\n", -EINVAL, 0, 0 },
		{ "1 70000\n", -EINVAL, 0, 0 },
		{ "abc\n", -EINVAL, 0, 0 },
		{ "", -EINVAL, 0, 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *path = write_temp(cases[i].text);
		__u16 lo = 0, hi = 0;

		assert_int_equal(ephemeral_ports(path, &lo, &hi), cases[i].err);
		if (!cases[i].err) {
			assert_int_equal(lo, cases[i].lo);
			assert_int_equal(hi, cases[i].hi);
		}
		unlink(path);
		free(path);
	}
}

/* The GSO formula shared with the BPF side, against hand-computed wires. */
static void test_wire_bytes(void **state)
{
	/* plain packets: segs 0 (not GSO) and 1 */
	assert_int_equal(tg_wire_bytes(1500, 0, 52), 1500);
	assert_int_equal(tg_wire_bytes(60, 1, 40), 60);
	/* 3 segments of 1448 payload, 20 IP + 32 TCP: 3 * 1500 on the wire */
	assert_int_equal(tg_wire_bytes(52 + 3 * 1448, 3, 52), 3 * 1500);
	/* last segment short: 2 * 1500 + (52 + 100) */
	assert_int_equal(tg_wire_bytes(52 + 2 * 1448 + 100, 3, 52),
			 2 * 1500 + 152);
	/* 64 KiB TSO burst of 45 segments, IPv6 + TCP timestamps (72) */
	assert_int_equal(tg_wire_bytes(72 + 65000, 45, 72), 65072 + 44 * 72);
	/* no overflow at the limits */
	assert_true(tg_wire_bytes(UINT32_MAX, UINT32_MAX, UINT32_MAX) ==
		    (__u64)UINT32_MAX + (__u64)(UINT32_MAX - 1) * UINT32_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_u32),
		cmocka_unit_test(test_fmt_addr),
		cmocka_unit_test(test_fmt_units),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_json_string),
		cmocka_unit_test(test_parse_endpoint),
		cmocka_unit_test(test_cgroup2_mount),
		cmocka_unit_test(test_ephemeral_ports),
		cmocka_unit_test(test_wire_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
