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
 * peer hash is only consulted on a socket's first packet, on listeners, on
 * unconnected sockets, and once after user space reclaimed slots (the
 * cached slot is of an older epoch). GSO and GRO super-packets are counted
 * as the segments that cross the wire. A peer without a slot goes to the
 * overflow bucket of its billing key (frontend or backend port, protocol,
 * service), a packet without a socket to the last-resort bucket.
 *
 * Every billing counter is kept by day (include/meter.h, day banks): each
 * packet counts into the bank of the day it crosses on, read from a coarse
 * clock against the day boundaries in tg_clock.
 *
 * meter() is the whole of a per-packet program, sockops_role() the whole of
 * the sock_ops one; the entry programs (meter.bpf.c, the benchmark's
 * bench*.bpf.c) only call them. Every path returns 1: tollgate observes, it
 * never drops.
 */
#ifndef TOLLGATE_BYTES_BPF_H
#define TOLLGATE_BYTES_BPF_H

#define SK_PASS 1
#define AF_INET 2
#define AF_INET6 10

#include "maps.bpf.h"
#include "parse.bpf.h"
#include "slots.bpf.h"
#include "names.bpf.h"

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

/*
 * The storage of @sk, made now if it has none. Two CPUs can make it at the
 * same moment: as a listener's CPU accepts a connection (sock_ops), the
 * client's next packet, on another CPU, already finds the new socket. The
 * kernel links one storage and fails the other maker's call (EEXIST); that
 * one takes the storage the first linked, so that neither the accept's
 * marks nor the packet are lost.
 */
static __always_inline struct tg_sock *sock_storage(struct bpf_sock *sk)
{
	struct tg_sock *st;

	st = bpf_sk_storage_get(&tg_sock, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	return st ? st : bpf_sk_storage_get(&tg_sock, sk, 0, 0);
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
	/* A client connection's bytes go to the service it named. */
	key->svc = role == TG_ROLE_CLIENT ? st->svc : 0;
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
 * One packet, two ingress runs. TCP runs the ingress program of the socket
 * a packet is for, and a packet of a connection still in its handshake is
 * for the listener. In two cases tcp_v4_rcv() and tcp_v6_rcv() run a
 * program a second time for the same packet, right after the first, in the
 * same softirq:
 *  - another CPU made the connection's socket from its request socket
 *    first ("req_stolen"): TCP looks the packet up again and runs the
 *    program of the socket it then finds, the new connection's;
 *  - the packet acknowledges what the handshake never sent: TCP hands it
 *    back to the listener, whose program runs again.
 * The wire carried the packet once. So a listener's run notes, on its CPU,
 * the packet it counted when it acknowledges something (a SYN alone is
 * never run twice): its length and first bytes, IP header on. The next
 * ingress run on that CPU takes the note, and does not count a packet of
 * that length and those bytes noted less than TG_HEARD_NS ago: bottom
 * halves are off from one run to the other, so no other packet's run comes
 * between them on that CPU. When the listener's run makes the connection
 * on its CPU, sock_ops (PASSIVE_ESTABLISHED) runs before the next packet
 * and drops the note: a copy of the handshake's last ACK that the network
 * duplicated is counted. The one case left is a copy the network made of
 * a packet that made no connection on its CPU, arriving next on that CPU
 * within TG_HEARD_NS: counted once, where the wire carried two.
 */
#define TG_HEARD_NS	10000000ULL	/* a second run follows well within */
#define TG_HEARD_SHORT	40		/* the shortest IPv4 TCP packet */

static __always_inline struct tg_heard *heard_slot(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&tg_heard, &zero);
}

/* A listener's ingress run counted @skb, whose headers @pkt holds. */
static __always_inline void heard_note(struct __sk_buff *skb,
				       const struct tg_pkt *pkt)
{
	struct tg_heard *h;
	__u32 len = skb->len;

	if (pkt->proto != IPPROTO_TCP || !(pkt->tcp_flags & TG_TCP_ACK))
		return;
	h = heard_slot();
	if (!h)
		return;
	h->ns = 0;
	h->len = len;
	if (len >= sizeof(h->head)) {
		h->n = sizeof(h->head);
		if (bpf_skb_load_bytes(skb, 0, h->head, sizeof(h->head)))
			return;
	} else if (len >= TG_HEARD_SHORT) {
		h->n = TG_HEARD_SHORT;
		if (bpf_skb_load_bytes(skb, 0, h->head, TG_HEARD_SHORT))
			return;
	} else {
		return;
	}
	h->ns = bpf_ktime_get_ns();
}

/* Takes the note @h: is @skb the packet noted, run again? */
static __noinline bool heard_check(struct __sk_buff *skb, struct tg_heard *h)
{
	__u32 head[sizeof(h->head) / 4];
	__u64 ns = h->ns;
	int i;

	h->ns = 0;
	if (skb->len != h->len || bpf_ktime_get_ns() - ns > TG_HEARD_NS)
		return false;
	if (h->n == sizeof(h->head)) {
		if (bpf_skb_load_bytes(skb, 0, head, sizeof(head)))
			return false;
	} else if (bpf_skb_load_bytes(skb, 0, head, TG_HEARD_SHORT)) {
		return false;
	}
	for (i = 0; i < sizeof(head) / 4; i++) {
		if (i * 4 >= h->n)
			break;
		if (head[i] != h->head[i])
			return false;
	}
	stat_inc(TG_STAT_HEARD_TWICE);
	return true;
}

/* The kernel's second ingress run of a packet a listener counted. */
static __always_inline bool heard_again(struct __sk_buff *skb)
{
	struct tg_heard *h = heard_slot();

	return h && h->ns && heard_check(skb, h);
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
	struct tg_now n;
	__u32 packets;
	__u64 bytes;

	now_of(&n);
	stat_inc(TG_STAT_NO_STORAGE);
	sock_init(&none, sk, skb);
	tg_parse(skb, &pkt);
	if (!pkt.ok)
		stat_inc(TG_STAT_BAD_HEADER);
	bytes = wire(skb, &pkt, &packets);
	peer_key(&key, &pkt, &none, none.role, out);
	count_slot(peer_slot(&key), &key, &n, out, bytes, packets);
	if (!out && sk->state == BPF_TCP_LISTEN)
		heard_note(skb, &pkt);
	return SK_PASS;
}

/*
 * Everything but a connected TCP socket with its peer slot cached in this
 * epoch: the socket's first packet, listeners, unconnected sockets, and a
 * cached slot of an older epoch. Finds the peer from the headers, and the
 * peer's slot: the one the socket cached when the peer is the same as
 * last time and the epoch has not changed, else from the peer hash. @st is
 * the socket's storage.
 */
static __noinline int meter_slow(struct __sk_buff *skb, struct bpf_sock *sk,
				 struct tg_sock *st, bool out)
{
	struct tg_peer_key key = {};
	__u32 slot, packets;
	struct tg_pkt pkt = {};
	struct tg_now n;
	__u64 bytes;

	/* The epoch before the lookup: a slot found now is cached with an
	 * epoch no newer than the hash it came from. */
	now_of(&n);
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

	/* A connection whose service is not known yet holds its bytes;
	 * the listener, its handshakes' (names.bpf.h). */
	if (names_wait_packet(st, out, bytes, packets))
		return SK_PASS;
	if (st->role == TG_ROLE_CLIENT && sk->state == BPF_TCP_LISTEN &&
	    calls_on && pkt.ok && pkt.has_ports &&
	    pkt.proto == IPPROTO_TCP && names_on_port(key.port) &&
	    stash_add(&key, out ? pkt.dport : pkt.sport, out, bytes,
		      packets)) {
		count(&st->c, out, bytes, packets);
		if (!out)
			heard_note(skb, &pkt);
		return SK_PASS;
	}

	/* The cache holds when its slot is this peer's (slot_holds()), or
	 * when it holds the overflow bucket, which is by billing key, for
	 * this very peer. */
	slot = st->peer_slot;
	if (st->peer_epoch != n.epoch ||
	    !(slot_holds(slot, &key) ||
	      (slot == TG_SLOT_OVERFLOW && key_eq(&key, &st->peer)))) {
		if (slot && st->peer_epoch != n.epoch)
			stat_inc(TG_STAT_RECHECK);
		slot = peer_slot(&key);
		st->peer = key;
		st->peer_slot = slot;
		st->peer_epoch = n.epoch;
		/* A connected TCP socket never changes peer. */
		if (st->proto == TG_FIXED_PROTO &&
		    sk->state != BPF_TCP_LISTEN && pkt.ok)
			st->flags |= TG_SOCK_PEER_FIXED;
	}
	count(&st->c, out, bytes, packets);
	count_slot(slot, &key, &n, out, bytes, packets);
	if (!out && sk->state == BPF_TCP_LISTEN)
		heard_note(skb, &pkt);
	return SK_PASS;
}

static __always_inline int meter(struct __sk_buff *skb, bool out)
{
	__u64 bytes = skb->len;
	__u32 packets = 1;
	struct bpf_sock *sk;
	struct tg_sock *st;
	struct tg_now n;

	if (!out && heard_again(skb))
		return SK_PASS;
	sk = skb->sk;
	if (sk)
		sk = bpf_sk_fullsock(sk);
	if (!sk) {
		stat_inc(TG_STAT_NO_SOCK);
		if (is_gso(skb))
			bytes = gso_wire(skb, &packets);
		now_of(&n);
		count_role(TG_ROLE_NONE, &n, out, bytes, packets);
		return SK_PASS;
	}

	if (TG_BENCH_STOP == 1)
		return SK_PASS;

	/* Fast path: connected TCP socket, peer slot cached in this
	 * epoch, for the service the socket counts under (a request may
	 * have moved it to another). */
	st = bpf_sk_storage_get(&tg_sock, sk, 0, 0);
	if (st && (st->flags & TG_SOCK_PEER_FIXED) &&
	    st->peer.svc == st->svc) {
		if (TG_BENCH_STOP == 2)
			return SK_PASS;
		now_of(&n);
		if (st->peer_epoch == n.epoch) {
			if (is_gso(skb))
				bytes = gso_wire(skb, &packets);
			count(&st->c, out, bytes, packets);
			count_slot(st->peer_slot, &st->peer, &n, out, bytes,
				   packets);
			return SK_PASS;
		}
	}
	/* Not from meter_slow(): the two subprograms' stacks would add up. */
	if (!st)
		st = sock_storage(sk);
	if (!st)
		return meter_bare(skb, sk, out);
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
	struct tg_heard *heard;
	struct bpf_sock *sk;
	struct tg_sock *st;
	__u8 role;

	switch (skops->op) {
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		role = TG_ROLE_CLIENT;
		/* The packet a listener noted made this connection: no
		 * second run of it follows (heard_note()). */
		heard = heard_slot();
		if (heard)
			heard->ns = 0;
		break;
	case BPF_SOCK_OPS_STATE_CB:
		names_close(skops);
		return 1;
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
	st = sock_storage(sk);
	if (!st)
		return 1;
	/* Accepted now, before the first byte of its stream is read: its
	 * HTTP requests can be counted from the start, if an agent counts
	 * them (an agent run without calls leaves the socket unmarked, so
	 * that a later one does not take up its stream in the middle). */
	if (skops->op == BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB && calls_on)
		st->flags |= TG_SOCK_CALLS;
	if (st->role != role) {
		st->role = role;
		st->flags &= ~(TG_SOCK_ROLE_INFERRED | TG_SOCK_PEER_FIXED);
		st->peer_slot = 0;
		st->peer_epoch = 0;
	}
	/* Its service, when the port's services have hosts: from the
	 * first name its stream carries. */
	if (skops->op == BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB && calls_on)
		names_accept(skops, st);
	return 1;
}

#endif /* TOLLGATE_BYTES_BPF_H */
