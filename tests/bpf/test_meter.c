// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_meter.c - the real meter programs on crafted packets.
 *
 * Each case loads a fresh, unpinned meter, feeds packets to the ingress or
 * egress program with BPF_PROG_TEST_RUN and checks the return value (always
 * 1: tollgate never drops) and the peer counters against byte counts worked
 * out by hand from the packet layout.
 *
 * The kernel's test run hands the program a throwaway socket: its family and
 * addresses come from the packet, but it has no protocol and no local port.
 * So every socket here faces a backend (port rule: no local port), the peer
 * port is the remote one, and the socket's storage dies with each run. The
 * TCP fast path of real sockets is covered end to end in tests/e2e.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "export/dump.h"
#include "lib/log.h"
#include "load/loader.h"
#include "pkt.h"

struct fixture {
	struct meter *m;
	int ingress, egress;
	struct view v;
};

static int setup(void **state, __u32 max_peers, __u32 backend_peers)
{
	struct fixture *fx;
	int fds[3], err;

	if (geteuid() != 0) {
		print_message("skip: loading BPF programs needs root\n");
		skip();
	}
	fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	err = meter_load(&fx->m, &(struct meter_opts){
					 .max_peers = max_peers,
					 .backend_peers = backend_peers });
	if (err == -EPERM) {
		free(fx);
		print_message("skip: BPF not permitted here\n");
		skip();
	}
	assert_int_equal(err, 0);
	meter_prog_fds(fx->m, fds);
	fx->ingress = fds[0];
	fx->egress = fds[1];
	assert_int_equal(view_from_meter(&fx->v, fx->m), 0);
	*state = fx;
	return 0;
}

static int setup_default(void **state)
{
	return setup(state, 0, 0);
}

/* 8 slots: 4 for clients, 4 for backends. */
static int setup_tiny(void **state)
{
	return setup(state, 8, 4);
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	if (fx) {
		view_close(&fx->v);
		meter_free(fx->m);
		free(fx);
	}
	return 0;
}

static void run(int prog, const struct pkt *p, __u32 repeat)
{
	__u32 retval = 0, ns;
	int err = pkt_test_run(prog, p, repeat, &retval, &ns);

	if (err)
		fail_msg("test run of a %zu-byte packet: %s", p->len,
			 strerror(-err));
	assert_int_equal(retval, 1);	/* never drop */
}

/* --- checking ------------------------------------------------------------ */

static void read_snapshot(struct fixture *fx, struct snapshot *s)
{
	assert_int_equal(snapshot_read(&fx->v, s, false), 0);
}

static void mapped(__u8 out[16], const char *text)
{
	memset(out, 0, 16);
	if (strchr(text, ':')) {
		assert_int_equal(inet_pton(AF_INET6, text, out), 1);
	} else {
		out[10] = out[11] = 0xff;
		assert_int_equal(inet_pton(AF_INET, text, out + 12), 1);
	}
}

static const struct peer_rec *find_peer(const struct snapshot *s,
					const char *addr, __u16 port,
					__u8 proto)
{
	__u8 a[16];
	size_t i;

	mapped(a, addr);
	for (i = 0; i < s->nr_peers; i++) {
		const struct tg_peer_key *k = &s->peers[i].key;

		if (!memcmp(k->addr, a, 16) && k->port == port &&
		    k->proto == proto && k->role == TG_ROLE_BACKEND)
			return &s->peers[i];
	}
	fail_msg("no peer %s port %u proto %u among %zu", addr, port, proto,
		 s->nr_peers);
	return NULL;
}

static void expect(const struct peer_rec *p, __u64 bytes_in, __u64 pkts_in,
		   __u64 bytes_out, __u64 pkts_out)
{
	assert_int_equal(p->c.bytes_in, bytes_in);
	assert_int_equal(p->c.packets_in, pkts_in);
	assert_int_equal(p->c.bytes_out, bytes_out);
	assert_int_equal(p->c.packets_out, pkts_out);
	assert_int_equal(p->key.svc, 0);
}

/* --- cases --------------------------------------------------------------- */

/* 20 IP + 20 TCP + 100 payload = 140 IP bytes, each way. */
static void test_ipv4_tcp(void **state)
{
	struct fixture *fx = *state;
	struct pkt p = {};
	struct snapshot s;

	ipv4(&p, "10.1.2.3", "10.9.9.9", PROTO_TCP, 40000, 80, 5, 20, 100);
	run(fx->egress, &p, 1);
	ipv4(&p, "10.9.9.9", "10.1.2.3", PROTO_TCP, 80, 40000, 5, 20, 60);
	run(fx->ingress, &p, 1);

	read_snapshot(fx, &s);
	assert_int_equal(s.nr_peers, 1);
	expect(find_peer(&s, "10.9.9.9", 80, PROTO_TCP), 100, 1, 140, 1);
	assert_int_equal(s.stats[TG_STAT_BAD_HEADER], 0);
	assert_int_equal(s.stats[TG_STAT_GSO], 0);
	snapshot_free(&s);
}

/* 40 IPv6 + 20 TCP + 200 = 260. */
static void test_ipv6_tcp(void **state)
{
	struct fixture *fx = *state;
	struct pkt p = {};
	struct snapshot s;

	ipv6(&p, "2001:db8::1", "2001:db8::2", PROTO_TCP, 50000, 443, 0, 20,
	     200);
	run(fx->egress, &p, 1);
	ipv6(&p, "2001:db8::2", "2001:db8::1", PROTO_TCP, 443, 50000, 0, 20, 0);
	run(fx->ingress, &p, 1);

	read_snapshot(fx, &s);
	assert_int_equal(s.nr_peers, 1);
	expect(find_peer(&s, "2001:db8::2", 443, PROTO_TCP), 60, 1, 260, 1);
	snapshot_free(&s);
}

/* 20 IP + 8 UDP + 50 = 78; the reply of 20 + 8 + 300 = 328. */
static void test_ipv4_udp(void **state)
{
	struct fixture *fx = *state;
	struct pkt p = {};
	struct snapshot s;

	ipv4(&p, "10.1.2.3", "10.9.9.9", PROTO_UDP, 40001, 53, 5, 8, 50);
	run(fx->egress, &p, 1);
	ipv4(&p, "10.9.9.9", "10.1.2.3", PROTO_UDP, 53, 40001, 5, 8, 300);
	run(fx->ingress, &p, 1);

	read_snapshot(fx, &s);
	assert_int_equal(s.nr_peers, 1);
	expect(find_peer(&s, "10.9.9.9", 53, PROTO_UDP), 328, 1, 78, 1);
	snapshot_free(&s);
}

/* An unconnected socket sending to several peers: one row each. */
static void test_udp_peers_change(void **state)
{
	struct fixture *fx = *state;
	struct pkt p = {};
	struct snapshot s;

	ipv4(&p, "10.1.2.3", "10.9.9.1", PROTO_UDP, 40001, 53, 5, 8, 10);
	run(fx->egress, &p, 3);
	ipv6(&p, "2001:db8::1", "2001:db8::53", PROTO_UDP, 40001, 53, 0, 8, 10);
	run(fx->egress, &p, 2);
	ipv4(&p, "10.1.2.3", "10.9.9.1", PROTO_UDP, 40001, 5353, 5, 8, 10);
	run(fx->egress, &p, 1);

	read_snapshot(fx, &s);
	assert_int_equal(s.nr_peers, 3);
	expect(find_peer(&s, "10.9.9.1", 53, PROTO_UDP), 0, 0, 3 * 38, 3);
	expect(find_peer(&s, "2001:db8::53", 53, PROTO_UDP), 0, 0, 2 * 58, 2);
	expect(find_peer(&s, "10.9.9.1", 5353, PROTO_UDP), 0, 0, 38, 1);
	snapshot_free(&s);
}

/* Repeated runs share one socket: its cached slot must keep counting. */
static void test_repeat(void **state)
{
	struct fixture *fx = *state;
	struct pkt p = {};
	struct snapshot s;

	ipv4(&p, "10.1.2.3", "10.9.9.9", PROTO_TCP, 40000, 80, 5, 20, 1460);
	run(fx->egress, &p, 1000);

	read_snapshot(fx, &s);
	assert_int_equal(s.nr_peers, 1);
	expect(find_peer(&s, "10.9.9.9", 80, PROTO_TCP), 0, 0, 1000 * 1500,
	       1000);
	snapshot_free(&s);
}

/*
 * TSO: 2 segments of 1448 bytes behind 20 IP + 32 TCP (timestamps) leave
 * as 2 packets of 1500 bytes; the super-packet itself is 2948 bytes. (The
 * kernel's test run takes at most a page per packet.)
 */
static void test_gso_tcp(void **state)
{
	struct fixture *fx = *state;
	struct pkt p = {};
	struct snapshot s;

	ipv4(&p, "10.1.2.3", "10.9.9.9", PROTO_TCP, 40000, 80, 5, 32, 2 * 1448);
	assert_int_equal(p.len - ETH_LEN, 2948);
	p.gso_segs = 2;
	p.gso_size = 1448;
	run(fx->egress, &p, 1);

	/* GRO on the way in: 2 segments, the last one short (500). */
	ipv4(&p, "10.9.9.9", "10.1.2.3", PROTO_TCP, 80, 40000, 5, 32,
	     1448 + 500);
	p.gso_segs = 2;
	p.gso_size = 1448;
	run(fx->ingress, &p, 1);

	read_snapshot(fx, &s);
	expect(find_peer(&s, "10.9.9.9", 80, PROTO_TCP), 1500 + 552, 2,
	       2 * 1500, 2);
	assert_int_equal(s.stats[TG_STAT_GSO], 2);
	snapshot_free(&s);
}

/* gso_size without gso_segs (a packet from an untrusted source): the
 * segment count is worked out from the payload: 3000 / 1448 -> 3. */
static void test_gso_segs_unset(void **state)
{
	struct fixture *fx = *state;
	struct pkt p = {};
	struct snapshot s;

	ipv4(&p, "10.1.2.3", "10.9.9.9", PROTO_TCP, 40000, 80, 5, 32, 3000);
	p.gso_segs = 0;
	p.gso_size = 1448;
	run(fx->egress, &p, 1);

	read_snapshot(fx, &s);
	expect(find_peer(&s, "10.9.9.9", 80, PROTO_TCP), 0, 0,
	       52 + 3000 + 2 * 52, 3);
	snapshot_free(&s);
}

/* IPv6 UDP GSO behind a destination options header: each segment repeats
 * 40 + 8 + 8 = 56 header bytes. */
static void test_gso_ipv6_ext(void **state)
{
	struct fixture *fx = *state;
	struct pkt p = {};
	struct snapshot s;

	ipv6(&p, "2001:db8::1", "2001:db8::2", PROTO_UDP, 40000, 443,
	     60 /* destination options */, 8, 3 * 1000);
	assert_int_equal(p.len - ETH_LEN, 56 + 3 * 1000);
	p.gso_segs = 3;
	p.gso_size = 1000;
	run(fx->egress, &p, 1);

	read_snapshot(fx, &s);
	expect(find_peer(&s, "2001:db8::2", 443, PROTO_UDP), 0, 0,
	       3 * (56 + 1000), 3);
	snapshot_free(&s);
}

/* IPv4 options: a 24-byte header; the ports sit behind it. */
static void test_ipv4_options(void **state)
{
	struct fixture *fx = *state;
	struct pkt p = {};
	struct snapshot s;

	ipv4(&p, "10.1.2.3", "10.9.9.9", PROTO_TCP, 40000, 8080, 6, 20, 10);
	run(fx->egress, &p, 1);

	read_snapshot(fx, &s);
	expect(find_peer(&s, "10.9.9.9", 8080, PROTO_TCP), 0, 0, 54, 1);
	snapshot_free(&s);
}

/* Protocols without ports: one row per (peer, protocol), port 0. */
static void test_icmp(void **state)
{
	struct fixture *fx = *state;
	struct pkt p = {};
	struct snapshot s;

	ipv4(&p, "10.1.2.3", "10.9.9.9", PROTO_ICMP, 0, 0, 5, 0, 64);
	run(fx->egress, &p, 2);
	run(fx->ingress, &p, 1);	/* counted to the source: 10.1.2.3 */

	read_snapshot(fx, &s);
	assert_int_equal(s.nr_peers, 2);
	expect(find_peer(&s, "10.9.9.9", 0, PROTO_ICMP), 0, 0, 2 * 84, 2);
	expect(find_peer(&s, "10.1.2.3", 0, PROTO_ICMP), 84, 1, 0, 0);
	snapshot_free(&s);
}

/* Fragments after the first carry no transport header: port 0. */
static void test_fragments(void **state)
{
	struct fixture *fx = *state;
	struct pkt p = {};
	struct snapshot s;
	__u8 *ip = p.buf + ETH_LEN;

	ipv4(&p, "10.1.2.3", "10.9.9.9", PROTO_UDP, 40001, 53, 5, 8, 100);
	put16(ip + 6, 0x2000 | 0);	/* first fragment, MF */
	run(fx->egress, &p, 1);
	ipv4(&p, "10.1.2.3", "10.9.9.9", PROTO_UDP, 0, 0, 5, 0, 100);
	put16(ip + 6, 185);		/* offset 1480, last */
	run(fx->egress, &p, 1);

	/* IPv6: fragment header (44), offset 185 * 8, UDP inside */
	ipv6(&p, "2001:db8::1", "2001:db8::2", PROTO_UDP, 0, 0, 44, 0, 100);
	put16(ip + 40 + 2, 185 << 3);
	run(fx->egress, &p, 1);

	read_snapshot(fx, &s);
	assert_int_equal(s.nr_peers, 3);
	expect(find_peer(&s, "10.9.9.9", 53, PROTO_UDP), 0, 0, 128, 1);
	expect(find_peer(&s, "10.9.9.9", 0, PROTO_UDP), 0, 0, 120, 1);
	expect(find_peer(&s, "2001:db8::2", 0, PROTO_UDP), 0, 0, 148, 1);
	assert_int_equal(s.stats[TG_STAT_BAD_HEADER], 0);
	snapshot_free(&s);
}

/*
 * Malformed and truncated headers are counted (to the socket's peer),
 * never dropped, and never fail the program.
 */
static void test_malformed(void **state)
{
	struct fixture *fx = *state;
	struct pkt p = {};
	struct snapshot s, t;
	struct tg_counters total;
	__u8 *ip = p.buf + ETH_LEN;

	/* IHL 15: a 60-byte header in a 40-byte packet; the kernel's test
	 * run refuses IPv4 packets shorter than 20 bytes, so this is the
	 * shortest cut it lets through */
	ipv4(&p, "10.1.2.3", "10.9.9.4", PROTO_TCP, 1, 2, 5, 20, 0);
	ip[0] = 0x4f;
	run(fx->egress, &p, 1);
	/* IHL 3: less than a header; the socket knows the peer */
	ipv4(&p, "10.1.2.3", "10.9.9.8", PROTO_TCP, 1, 2, 3, 20, 0);
	run(fx->egress, &p, 1);
	/* TCP header cut after 8 bytes: no ports, still counted */
	ipv4(&p, "10.1.2.3", "10.9.9.7", PROTO_TCP, 40000, 80, 5, 20, 0);
	p.len = ETH_LEN + 28;
	put16(ip + 2, 28);
	run(fx->egress, &p, 1);
	/* IPv6 behind a chain of 7 extension headers: transport unknown */
	ipv6(&p, "2001:db8::1", "2001:db8::6", PROTO_TCP, 1, 2, 0, 0, 0);
	ip[6] = 60;
	memset(ip + 40, 0, 56);
	for (int i = 0; i < 7; i++)
		ip[40 + 8 * i] = 60;
	p.len = ETH_LEN + 40 + 56;
	run(fx->egress, &p, 1);
	/* version 5: neither IPv4 nor IPv6 */
	ipv4(&p, "10.1.2.3", "10.9.9.5", PROTO_UDP, 1, 2, 5, 8, 0);
	ip[0] = 0x55;
	run(fx->egress, &p, 1);

	read_snapshot(fx, &s);
	snapshot_totals(&s, &total);
	assert_int_equal(total.packets_out, 5);
	assert_int_equal(total.bytes_out, 40 + 40 + 28 + 96 + 28);
	/* unreadable IP headers: IHL 3, version 5 */
	assert_int_equal(s.stats[TG_STAT_BAD_HEADER], 2);
	expect(find_peer(&s, "10.9.9.4", 0, PROTO_TCP), 0, 0, 40, 1);
	expect(find_peer(&s, "10.9.9.8", 0, 0), 0, 0, 40, 1);
	expect(find_peer(&s, "10.9.9.7", 0, PROTO_TCP), 0, 0, 28, 1);
	expect(find_peer(&s, "2001:db8::6", 0, 60), 0, 0, 96, 1);
	snapshot_free(&s);

	/* and the programs still work afterwards */
	ipv4(&p, "10.1.2.3", "10.9.9.9", PROTO_TCP, 40000, 80, 5, 20, 0);
	run(fx->ingress, &p, 1);
	read_snapshot(fx, &t);
	expect(find_peer(&t, "10.1.2.3", 40000, PROTO_TCP), 40, 1, 0, 0);
	snapshot_free(&t);
}

/*
 * 4 slots for backends (of 8) and 10 backends of traffic: 4 get rows, the
 * other 6 go to the backend overflow bucket, the failed inserts are
 * counted, and the totals are exact.
 */
static void test_overflow(void **state)
{
	struct fixture *fx = *state;
	struct tg_counters total;
	struct pkt p = {};
	struct snapshot s;
	char dst[32];
	int i;

	for (i = 1; i <= 10; i++) {
		snprintf(dst, sizeof(dst), "10.0.0.%d", i);
		ipv4(&p, "10.1.2.3", dst, PROTO_TCP, 40000, 80, 5, 20, 60 + i);
		run(fx->egress, &p, 2);
	}

	read_snapshot(fx, &s);
	assert_int_equal(s.capacity, 8);
	assert_int_equal(s.backend_capacity, 4);
	assert_int_equal(s.nr_peers, 4);
	snapshot_totals(&s, &total);
	assert_int_equal(total.packets_out, 20);
	assert_int_equal(total.bytes_out, 2 * (10 * 100 + 55));
	/* the first four peers own the slots: the backends', the last four
	 * (test runs give the program a socket of no port: a backend's) */
	for (i = 1; i <= 4; i++) {
		const struct peer_rec *r;

		snprintf(dst, sizeof(dst), "10.0.0.%d", i);
		r = find_peer(&s, dst, 80, PROTO_TCP);
		expect(r, 0, 0, 2 * (100 + i), 2);
		assert_true(r->slot >= 4 && r->slot < 8);
	}
	/* the other six in their billing key's bucket: backend port 80 */
	assert_int_equal(s.nr_buckets, 1);
	assert_false(s.buckets[0].last_resort);
	assert_int_equal(s.buckets[0].key.role, TG_ROLE_BACKEND);
	assert_int_equal(s.buckets[0].key.port, 80);
	assert_int_equal(s.buckets[0].key.proto, PROTO_TCP);
	assert_int_equal(s.buckets[0].c.packets_out, 12);
	assert_int_equal(s.buckets[0].c.bytes_out,
			 2 * (6 * 100 + 5 + 6 + 7 + 8 + 9 + 10));
	/* each of the 6 sockets tried once, then remembered the overflow;
	 * the repeat run of the same socket did not retry */
	assert_int_equal(s.stats[TG_STAT_PEER_FULL], 6);
	snapshot_free(&s);

	/* a known peer still counts in its row when the map is full */
	ipv4(&p, "10.1.2.3", "10.0.0.2", PROTO_TCP, 40000, 80, 5, 20, 0);
	run(fx->egress, &p, 1);
	read_snapshot(fx, &s);
	expect(find_peer(&s, "10.0.0.2", 80, PROTO_TCP), 0, 0, 2 * 102 + 40,
	       3);
	snapshot_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup_default, teardown)
		T(test_ipv4_tcp),
		T(test_ipv6_tcp),
		T(test_ipv4_udp),
		T(test_udp_peers_change),
		T(test_repeat),
		T(test_gso_tcp),
		T(test_gso_segs_unset),
		T(test_gso_ipv6_ext),
		T(test_ipv4_options),
		T(test_icmp),
		T(test_fragments),
		T(test_malformed),
		cmocka_unit_test_setup_teardown(test_overflow, setup_tiny,
						teardown),
#undef T
	};

	log_setup(0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
