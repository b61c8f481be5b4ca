// SPDX-License-Identifier: GPL-2.0
/*
 * meter.bpf.c - count IP bytes and packets per socket and per peer.
 *
 * Two cgroup_skb programs see every packet of every full socket in the
 * attached cgroup, after NAT on the way out and before the socket on the way
 * in, with the IP header in front. Each packet is added to its socket's
 * counters (socket-local storage) and to its peer's counters (a per-CPU
 * array slot), both with atomic adds: egress runs in process context and
 * can be interrupted on the same CPU by softirq traffic to the same peer.
 *
 * The fast path is one socket-storage lookup and one inlined array index:
 * a connected TCP socket caches its peer's slot in its storage, so the
 * peer hash is only consulted on a socket's first packet, on listeners and
 * on unconnected sockets. GSO and GRO super-packets are counted as the
 * segments that cross the wire.
 *
 * A sock_ops program records which side a TCP socket faces as the kernel
 * opens it. Every program returns 1: tollgate observes, it never drops.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "meter.h"
#include "parse.bpf.h"

#define SK_PASS 1
#define AF_INET 2
#define AF_INET6 10

/*
 * The protocol whose connected sockets never change peer, and so take the
 * fast path: TCP. The benchmark builds this file a second time with 0, the
 * protocol of the socket BPF_PROG_TEST_RUN makes up for a test run
 * (bpf/benchfast.bpf.c), so that test runs can measure the fast path too.
 */
#ifndef TG_FIXED_PROTO
#define TG_FIXED_PROTO IPPROTO_TCP
#endif

/* Set by the loader between open and load. */
const volatile __u32 max_peers = 16384;
const volatile __u16 eph_lo = 32768;	/* net.ipv4.ip_local_port_range */
const volatile __u16 eph_hi = 60999;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);	/* resized to max_peers */
	__type(key, struct tg_peer_key);
	__type(value, __u32);		/* slot in tg_peer_cnt */
} tg_peer_idx SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 16384);	/* resized to max_peers */
	__type(key, __u32);
	__type(value, struct tg_counters);
} tg_peer_cnt SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct tg_sock);
} tg_sock SEC(".maps");

/* Traffic whose peer could not get a slot, per role; role 0 holds packets
 * without a full socket. Totals stay exact when detail is lost. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TG_NR_ROLES);
	__type(key, __u32);
	__type(value, struct tg_counters);
} tg_overflow SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TG_NR_STATS);
	__type(key, __u32);
	__type(value, __u64);
} tg_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tg_meta);
} tg_meta SEC(".maps");

static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&tg_stats, &idx);

	if (v)
		__sync_fetch_and_add(v, 1);
}

static __always_inline void count(struct tg_counters *c, bool out,
				  __u64 bytes, __u64 packets)
{
	if (out) {
		__sync_fetch_and_add(&c->bytes_out, bytes);
		__sync_fetch_and_add(&c->packets_out, packets);
	} else {
		__sync_fetch_and_add(&c->bytes_in, bytes);
		__sync_fetch_and_add(&c->packets_in, packets);
	}
}

static __always_inline void count_overflow(__u32 role, bool out, __u64 bytes,
					   __u64 packets)
{
	struct tg_counters *c = bpf_map_lookup_elem(&tg_overflow, &role);

	if (c)
		count(c, out, bytes, packets);
}

/*
 * Slot of @key in tg_peer_cnt plus one, inserting the key if it is new, or
 * TG_SLOT_OVERFLOW when there is no room. Slots are handed out by a counter
 * and never reused, so a new slot's counters are zero. Two CPUs racing to
 * insert the same key both take a slot; the loser's slot stays unused.
 */
static __always_inline __u32 peer_slot(struct tg_peer_key *key)
{
	struct tg_meta *meta;
	__u32 zero = 0, slot, *v;
	__u64 next;
	long err;

	v = bpf_map_lookup_elem(&tg_peer_idx, key);
	if (v)
		return *v + 1;

	meta = bpf_map_lookup_elem(&tg_meta, &zero);
	if (!meta)
		return TG_SLOT_OVERFLOW;
	next = __sync_fetch_and_add(&meta->next_slot, 1);
	if (next >= max_peers)
		goto full;
	slot = next;
	err = bpf_map_update_elem(&tg_peer_idx, key, &slot, BPF_NOEXIST);
	if (!err)
		return slot + 1;
	v = bpf_map_lookup_elem(&tg_peer_idx, key);
	if (v)
		return *v + 1;
full:
	stat_inc(TG_STAT_PEER_FULL);
	return TG_SLOT_OVERFLOW;
}

static __always_inline bool key_eq(const struct tg_peer_key *a,
				   const struct tg_peer_key *b)
{
	const __u32 *x = (const __u32 *)a, *y = (const __u32 *)b;
	int i;

	for (i = 0; i < sizeof(*a) / 4; i++)
		if (x[i] != y[i])
			return false;
	return true;
}

static __always_inline void count_slot(__u32 slot, __u32 role, bool out,
				       __u64 bytes, __u64 packets)
{
	struct tg_counters *c;
	__u32 idx = slot - 1;

	if (slot == TG_SLOT_OVERFLOW || slot == 0)
		goto overflow;
	c = bpf_map_lookup_elem(&tg_peer_cnt, &idx);
	if (!c)
		goto overflow;
	count(c, out, bytes, packets);
	return;
overflow:
	count_overflow(role, out, bytes, packets);
}

/* A TCP or UDP socket on an ephemeral port was opened by this host. */
static __always_inline __u8 role_from_port(__u32 proto, __u16 local_port)
{
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP &&
	    proto != IPPROTO_UDPLITE)
		return TG_ROLE_BACKEND;
	if (local_port == 0 || (local_port >= eph_lo && local_port <= eph_hi))
		return TG_ROLE_BACKEND;
	return TG_ROLE_CLIENT;
}

/* The verifier allows no pointer into a bpf_sock: read word by word. */
static __always_inline void sk_local_addr(__u8 *dst, struct bpf_sock *sk)
{
	if (sk->family == AF_INET) {
		tg_map_v4(dst, sk->src_ip4);
	} else if (sk->family == AF_INET6) {
		__u32 a[4] = { sk->src_ip6[0], sk->src_ip6[1], sk->src_ip6[2],
			       sk->src_ip6[3] };

		__builtin_memcpy(dst, a, 16);
	}
}

static __always_inline void sk_remote_addr(__u8 *dst, struct bpf_sock *sk)
{
	if (sk->family == AF_INET) {
		tg_map_v4(dst, sk->dst_ip4);
	} else if (sk->family == AF_INET6) {
		__u32 a[4] = { sk->dst_ip6[0], sk->dst_ip6[1], sk->dst_ip6[2],
			       sk->dst_ip6[3] };

		__builtin_memcpy(dst, a, 16);
	}
}

/* First packet of a socket: identity, and the role if sock_ops did not set
 * it (a listener, a socket opened before tollgate, or not TCP). */
static __always_inline void sock_init(struct tg_sock *st, struct bpf_sock *sk,
				      struct __sk_buff *skb)
{
	st->cookie = bpf_get_socket_cookie(skb);
	st->proto = sk->protocol;
	st->local_port = sk->src_port;
	st->remote_port = bpf_ntohs(sk->dst_port);
	sk_local_addr(st->local_addr, sk);
	sk_remote_addr(st->remote_addr, sk);
	if (st->role)
		return;
	if (sk->protocol == IPPROTO_TCP && sk->state == BPF_TCP_LISTEN) {
		st->role = TG_ROLE_CLIENT;
	} else if (sk->protocol == IPPROTO_TCP &&
		   sk->state == BPF_TCP_SYN_SENT) {
		st->role = TG_ROLE_BACKEND;
	} else {
		st->role = role_from_port(sk->protocol, st->local_port);
		st->flags |= TG_SOCK_ROLE_INFERRED;
		stat_inc(TG_STAT_ROLE_INFERRED);
	}
}

/* Peer key of this packet, from its headers, or from the socket when they
 * cannot be read. */
static __always_inline void peer_key(struct tg_peer_key *key,
				     const struct tg_pkt *pkt,
				     const struct tg_sock *st, __u8 role,
				     bool out)
{
	__u16 lport, rport;

	if (pkt->ok) {
		__builtin_memcpy(key->addr, out ? pkt->daddr : pkt->saddr, 16);
		key->proto = pkt->proto;
		lport = out ? pkt->sport : pkt->dport;
		rport = out ? pkt->dport : pkt->sport;
		if (!pkt->has_ports)
			lport = rport = 0;
	} else {
		__builtin_memcpy(key->addr, st->remote_addr, 16);
		key->proto = st->proto;
		lport = st->local_port;
		rport = st->remote_port;
	}
	key->role = role;
	key->port = role == TG_ROLE_CLIENT ? lport : rport;
}

/*
 * GSO/GRO super-packet: the wire bytes and segment count. Every segment
 * repeats the IP and transport headers, so they are parsed here; a
 * subprogram, to keep the parser's stack out of the fast path.
 */
static __noinline __u64 gso_wire(struct __sk_buff *skb, __u32 *packets)
{
	struct tg_pkt pkt = {};
	__u32 len = skb->len;
	__u32 segs = skb->gso_segs;
	__u32 gso_size = skb->gso_size;

	tg_parse(skb, &pkt);
	if (pkt.ok && !segs && gso_size && len > pkt.hdr_len)
		segs = (len - pkt.hdr_len + gso_size - 1) / gso_size;
	if (segs <= 1) {
		*packets = 1;
		return len;
	}
	stat_inc(TG_STAT_GSO);
	if (!pkt.ok)
		stat_inc(TG_STAT_BAD_HEADER);
	*packets = segs;
	return tg_wire_bytes(len, segs, pkt.ok ? pkt.hdr_len : 0);
}

/*
 * Everything but a connected TCP socket with its peer slot cached: the
 * socket's first packet, listeners, unconnected sockets, sockets without
 * storage. Finds the peer from the headers and the peer's slot.
 */
static __noinline int meter_slow(struct __sk_buff *skb, struct bpf_sock *sk,
				 __u64 bytes, __u32 packets, bool out)
{
	struct tg_peer_key key = {};
	struct tg_sock none = {};
	struct tg_pkt pkt = {};
	struct tg_sock *st;
	__u32 slot;

	st = bpf_sk_storage_get(&tg_sock, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!st) {
		/* No memory for socket storage: still count, per packet. */
		stat_inc(TG_STAT_NO_STORAGE);
		sock_init(&none, sk, skb);
		st = &none;
	} else if (!st->cookie) {
		sock_init(st, sk, skb);
	}

	tg_parse(skb, &pkt);
	if (!pkt.ok)
		stat_inc(TG_STAT_BAD_HEADER);
	peer_key(&key, &pkt, st, st->role, out);

	if (st->peer_slot && key_eq(&key, &st->peer)) {
		slot = st->peer_slot;
	} else {
		slot = peer_slot(&key);
		if (st != &none) {
			st->peer = key;
			st->peer_slot = slot;
			/* A connected TCP socket never changes peer. */
			if (st->proto == TG_FIXED_PROTO &&
			    sk->state != BPF_TCP_LISTEN && pkt.ok)
				st->flags |= TG_SOCK_PEER_FIXED;
		}
	}

	if (st != &none)
		count(&st->c, out, bytes, packets);
	count_slot(slot, st->role, out, bytes, packets);
	return SK_PASS;
}

static __always_inline int meter(struct __sk_buff *skb, bool out)
{
	__u64 bytes = skb->len;
	__u32 packets = 1;
	struct bpf_sock *sk;
	struct tg_sock *st;

	if (skb->gso_segs > 1 || skb->gso_size)
		bytes = gso_wire(skb, &packets);

	sk = skb->sk;
	if (sk)
		sk = bpf_sk_fullsock(sk);
	if (!sk) {
		stat_inc(TG_STAT_NO_SOCK);
		count_overflow(TG_ROLE_NONE, out, bytes, packets);
		return SK_PASS;
	}

	/* Fast path: connected TCP socket, peer slot cached. */
	st = bpf_sk_storage_get(&tg_sock, sk, 0, 0);
	if (st && (st->flags & TG_SOCK_PEER_FIXED)) {
		count(&st->c, out, bytes, packets);
		count_slot(st->peer_slot, st->role, out, bytes, packets);
		return SK_PASS;
	}
	return meter_slow(skb, sk, bytes, packets, out);
}

SEC("cgroup_skb/ingress")
int tg_ingress(struct __sk_buff *skb)
{
	return meter(skb, false);
}

SEC("cgroup_skb/egress")
int tg_egress(struct __sk_buff *skb)
{
	return meter(skb, true);
}

/*
 * The kernel tells sock_ops which way a TCP connection was opened, before
 * its first packet on the socket: the SYN of an active open is sent after
 * TCP_CONNECT_CB, and an accepted socket's first own packet comes after
 * PASSIVE_ESTABLISHED_CB (the handshake itself is seen on the listener).
 */
SEC("sockops")
int tg_sockops(struct bpf_sock_ops *skops)
{
	struct bpf_sock *sk;
	struct tg_sock *st;
	__u8 role;

	switch (skops->op) {
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		role = TG_ROLE_CLIENT;
		break;
	case BPF_SOCK_OPS_TCP_CONNECT_CB:
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
		role = TG_ROLE_BACKEND;
		break;
	default:
		return 1;
	}
	sk = skops->sk;
	if (!sk)
		return 1;
	st = bpf_sk_storage_get(&tg_sock, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!st || st->role == role)
		return 1;
	st->role = role;
	st->flags &= ~(TG_SOCK_ROLE_INFERRED | TG_SOCK_PEER_FIXED);
	st->peer_slot = 0;
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
