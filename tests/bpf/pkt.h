/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * pkt.h - crafted Ethernet frames for BPF_PROG_TEST_RUN: IPv4 (with
 * options), IPv6 (with one extension header), TCP, UDP and other protocols,
 * any payload, GSO metadata. Shared by the BPF tests (test_meter.c) and the
 * per-packet benchmark (tests/bench/bench_prog.c), so both run the
 * programs on the same packets, the same way (pkt_test_run()).
 */
#ifndef TOLLGATE_TESTS_PKT_H
#define TOLLGATE_TESTS_PKT_H

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>
#include <bpf/bpf.h>

#define ETH_LEN 14
#define PROTO_ICMP 1
#define PROTO_TCP 6
#define PROTO_UDP 17

struct pkt {
	const char *name;	/* for reports; may stay NULL */
	__u8 buf[4096];		/* test runs take at most a page */
	size_t len;		/* bytes in buf, Ethernet header included */
	__u32 gso_segs;
	__u32 gso_size;
};

static void put16(__u8 *p, __u16 v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static void eth(struct pkt *p, __u16 type)
{
	memset(p->buf, 0, ETH_LEN);
	p->buf[0] = 0x02;	/* locally administered MACs */
	p->buf[6] = 0x02;
	p->buf[11] = 1;
	put16(p->buf + 12, type);
	p->len = ETH_LEN;
}

/* Transport header at @l4 of @l4_len bytes (TCP: @l4_len is doff * 4). */
static void transport(__u8 *l4, __u8 proto, __u16 sport, __u16 dport,
		      size_t l4_len, size_t payload)
{
	memset(l4, 0, l4_len);
	if (proto == PROTO_TCP && l4_len >= 13) {
		put16(l4, sport);
		put16(l4 + 2, dport);
		l4[12] = (l4_len / 4) << 4;
	} else if (proto == PROTO_UDP && l4_len >= 8) {
		put16(l4, sport);
		put16(l4 + 2, dport);
		put16(l4 + 4, 8 + payload);
	}
}

/* IPv4 packet: @ihl header words, transport header of @l4_len bytes, then
 * @payload bytes. */
static void ipv4(struct pkt *p, const char *src, const char *dst, __u8 proto,
		 __u16 sport, __u16 dport, unsigned int ihl, size_t l4_len,
		 size_t payload)
{
	__u8 *ip = p->buf + ETH_LEN;
	size_t hl = (ihl >= 5 ? ihl : 5) * 4;

	eth(p, 0x0800);
	memset(ip, 0, hl);
	ip[0] = 0x40 | ihl;
	put16(ip + 2, hl + l4_len + payload);
	ip[8] = 64;
	ip[9] = proto;
	if (inet_pton(AF_INET, src, ip + 12) != 1 ||
	    inet_pton(AF_INET, dst, ip + 16) != 1)
		abort();	/* a test's literal, never input */
	transport(ip + hl, proto, sport, dport, l4_len, payload);
	memset(ip + hl + l4_len, 0xab, payload);
	p->len = ETH_LEN + hl + l4_len + payload;
}

/* IPv6 packet, optionally with one 8-byte extension header of type @ext
 * (0: none) in front of the transport header. */
static void ipv6(struct pkt *p, const char *src, const char *dst, __u8 proto,
		 __u16 sport, __u16 dport, __u8 ext, size_t l4_len,
		 size_t payload)
{
	__u8 *ip = p->buf + ETH_LEN, *next = ip + 40;
	size_t ext_len = ext ? 8 : 0;

	eth(p, 0x86dd);
	memset(ip, 0, 40 + ext_len);
	ip[0] = 0x60;
	put16(ip + 4, ext_len + l4_len + payload);
	ip[6] = ext ? ext : proto;
	ip[7] = 64;
	if (inet_pton(AF_INET6, src, ip + 8) != 1 ||
	    inet_pton(AF_INET6, dst, ip + 24) != 1)
		abort();
	if (ext) {
		next[0] = proto;	/* next header; length 0 = 8 bytes */
		next += 8;
	}
	transport(next, proto, sport, dport, l4_len, payload);
	memset(next + l4_len, 0xcd, payload);
	p->len = ETH_LEN + 40 + ext_len + l4_len + payload;
}

/*
 * Run program @prog @repeat times on @p, with its GSO metadata. Returns 0
 * or -errno; on success *@retval is the program's verdict and *@duration
 * the kernel's average time per run, in ns.
 */
static inline int pkt_test_run(int prog, const struct pkt *p, __u32 repeat,
			       __u32 *retval, __u32 *duration)
{
	struct __sk_buff ctx = {
		.gso_segs = p->gso_segs,
		.gso_size = p->gso_size,
	};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = p->buf,
		    .data_size_in = p->len, .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = repeat);
	int err = bpf_prog_test_run_opts(prog, &opts);

	if (err)
		return err;
	*retval = opts.retval;
	*duration = opts.duration;
	return 0;
}

#endif /* TOLLGATE_TESTS_PKT_H */
