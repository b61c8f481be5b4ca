/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bytes.bpf.h - the count stage, in the kernel: IP bytes and packets per
 * socket and per peer, from the cgroup_skb programs, and the side each TCP
 * socket faces, from sock_ops.
 *
 * The cgroup_skb programs see every packet of every full socket in the
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
 * segments that cross the wire. A peer without a slot, or a packet without
 * a socket, goes to the overflow buckets.
 *
 * meter() is the whole of a per-packet program, sockops_role() the whole of
 * the sock_ops one; the entry programs (meter.bpf.c, the benchmark's
 * bench*.bpf.c) only call them. Every path returns 1: tollgate observes, it
 * never drops.
 */
#ifndef TOLLGATE_BYTES_BPF_H
#define TOLLGATE_BYTES_BPF_H

#include "maps.bpf.h"
#include "parse.bpf.h"

#define SK_PASS 1
#define AF_INET 2
#define AF_INET6 10

/*
 * The protocol whose connected sockets never change peer, and so take the
 * fast path: TCP. The benchmark builds these programs a second time with 0,
 * the protocol of the socket BPF_PROG_TEST_RUN makes up for a test run
 * (bpf/benchfast.bpf.c), so that test runs can measure the fast path too.
 * Defined before this header is included.
 */
#ifndef TG_FIXED_PROTO
#define TG_FIXED_PROTO IPPROTO_TCP
#endif

/*
 * Where the benchmark stops the per-packet programs, to tell under real
 * load what each step of the fast path costs (bpf/benchsocket.bpf.c,
 * bpf/benchstorage.bpf.c): 1 once the packet's full socket is known, 2
 * once a connected TCP socket's storage is found and read. 0, the agent's
 * build, never stops early. Defined before this header is included.
 */
#ifndef TG_BENCH_STOP
#define TG_BENCH_STOP 0
#endif

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
 * Wire bytes and packets of @skb, whose headers @pkt holds: a GSO or GRO
 * super-packet counts as the segments that cross the wire, each repeating
 * the IP and transport headers.
 */
static __always_inline __u64 wire(struct __sk_buff *skb,
				  const struct tg_pkt *pkt, __u32 *packets)
{
	__u32 len = skb->len;
	__u32 segs = skb->gso_segs;
	__u32 gso_size = skb->gso_size;

	if (pkt->ok && !segs && gso_size && len > pkt->hdr_len)
		segs = (len - pkt->hdr_len + gso_size - 1) / gso_size;
	if (segs <= 1) {
		*packets = 1;
		return len;
	}
	stat_inc(TG_STAT_GSO);
	*packets = segs;
	return tg_wire_bytes(len, segs, pkt->ok ? pkt->hdr_len : 0);
}

static __always_inline bool is_gso(struct __sk_buff *skb)
{
	return skb->gso_segs > 1 || skb->gso_size;
}

/*
 * The wire count of a super-packet on a path that needs no peer from the
 * headers (the fast path, packets without a socket): the headers are
 * parsed for their length only. A subprogram, to keep the parser's stack
 * out of the fast path.
 */
static __noinline __u64 gso_wire(struct __sk_buff *skb, __u32 *packets)
{
	struct tg_pkt pkt = {};
	__u64 bytes;

	tg_parse(skb, &pkt);
	bytes = wire(skb, &pkt, packets);
	if (!pkt.ok && *packets > 1)
		stat_inc(TG_STAT_BAD_HEADER);
	return bytes;
}

/*
 * A socket without storage (the kernel had no memory for it): counted per
 * packet, the peer from the headers or the socket, nothing remembered.
 * Rare, so kept out of meter_slow and its stack.
 */
static __noinline int meter_bare(struct __sk_buff *skb, struct bpf_sock *sk,
				 bool out)
{
	struct tg_peer_key key = {};
	struct tg_sock none = {};
	struct tg_pkt pkt = {};
	__u32 packets;
	__u64 bytes;

	stat_inc(TG_STAT_NO_STORAGE);
	sock_init(&none, sk, skb);
	tg_parse(skb, &pkt);
	if (!pkt.ok)
		stat_inc(TG_STAT_BAD_HEADER);
	bytes = wire(skb, &pkt, &packets);
	peer_key(&key, &pkt, &none, none.role, out);
	count_slot(peer_slot(&key), none.role, out, bytes, packets);
	return SK_PASS;
}

/*
 * Everything but a connected TCP socket with its peer slot cached: the
 * socket's first packet, listeners, unconnected sockets. Finds the peer
 * from the headers, and the peer's slot: the one the socket cached when
 * the peer is the same as last time, else from the peer hash. @st is the
 * socket's storage, NULL when it has none yet.
 */
static __noinline int meter_slow(struct __sk_buff *skb, struct bpf_sock *sk,
				 struct tg_sock *st, bool out)
{
	struct tg_peer_key key = {};
	__u32 slot, packets;
	struct tg_pkt pkt = {};
	__u64 bytes;

	if (!st) {
		st = bpf_sk_storage_get(&tg_sock, sk, 0,
					BPF_SK_STORAGE_GET_F_CREATE);
		if (!st)
			return meter_bare(skb, sk, out);
	}
	if (!st->cookie)
		sock_init(st, sk, skb);

	tg_parse(skb, &pkt);
	if (!pkt.ok)
		stat_inc(TG_STAT_BAD_HEADER);
	bytes = skb->len;
	packets = 1;
	if (is_gso(skb))
		bytes = wire(skb, &pkt, &packets);
	peer_key(&key, &pkt, st, st->role, out);

	slot = st->peer_slot;
	if (!slot || !key_eq(&key, &st->peer)) {
		slot = peer_slot(&key);
		st->peer = key;
		st->peer_slot = slot;
		/* A connected TCP socket never changes peer. */
		if (st->proto == TG_FIXED_PROTO &&
		    sk->state != BPF_TCP_LISTEN && pkt.ok)
			st->flags |= TG_SOCK_PEER_FIXED;
	}
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

	sk = skb->sk;
	if (sk)
		sk = bpf_sk_fullsock(sk);
	if (!sk) {
		stat_inc(TG_STAT_NO_SOCK);
		if (is_gso(skb))
			bytes = gso_wire(skb, &packets);
		count_overflow(TG_ROLE_NONE, out, bytes, packets);
		return SK_PASS;
	}

	if (TG_BENCH_STOP == 1)
		return SK_PASS;

	/* Fast path: connected TCP socket, peer slot cached. */
	st = bpf_sk_storage_get(&tg_sock, sk, 0, 0);
	if (st && (st->flags & TG_SOCK_PEER_FIXED)) {
		if (TG_BENCH_STOP == 2)
			return SK_PASS;
		if (is_gso(skb))
			bytes = gso_wire(skb, &packets);
		count(&st->c, out, bytes, packets);
		count_slot(st->peer_slot, st->role, out, bytes, packets);
		return SK_PASS;
	}
	return meter_slow(skb, sk, st, out);
}

/*
 * The kernel tells sock_ops which way a TCP connection was opened, before
 * its first packet on the socket: the SYN of an active open is sent after
 * TCP_CONNECT_CB, and an accepted socket's first own packet comes after
 * PASSIVE_ESTABLISHED_CB (the handshake itself is seen on the listener).
 */
static __always_inline int sockops_role(struct bpf_sock_ops *skops)
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
	if (!st)
		return 1;
	/* Accepted now, before the first byte of its stream is read: its
	 * HTTP requests can be counted from the start, if an agent counts
	 * them (an agent run without calls leaves the socket unmarked, so
	 * that a later one does not take up its stream in the middle). */
	if (skops->op == BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB && calls_on)
		st->flags |= TG_SOCK_CALLS;
	if (st->role == role)
		return 1;
	st->role = role;
	st->flags &= ~(TG_SOCK_ROLE_INFERRED | TG_SOCK_PEER_FIXED);
	st->peer_slot = 0;
	return 1;
}

#endif /* TOLLGATE_BYTES_BPF_H */
