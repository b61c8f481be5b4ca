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

/* When a packet or a call happens: the bank of its day, and the reclaim
 * epoch it may trust a cached slot of. */
struct tg_now {
	__u32 bank;
	__u32 epoch;
};

/*
 * Read the clock at @t (CLOCK_MONOTONIC ns): the latest day of tg_clock
 * that has started. Most packets fall before the next midnight, so the
 * first comparison decides.
 */
static __always_inline void now_at(struct tg_now *n, __u64 t)
{
	struct tg_clock *c;
	__u32 zero = 0, i;

	n->bank = 0;
	n->epoch = 0;
	c = bpf_map_lookup_elem(&tg_clock, &zero);
	if (!c)
		return;
	n->epoch = c->epoch;
	i = 0;
#pragma unroll
	for (int d = 1; d < TG_NR_DAYS; d++) {
		if (!c->day_ns[d] || t < c->day_ns[d])
			break;
		i = d;
	}
	n->bank = (c->day0 + i) % TG_NR_BANKS;
}

/*
 * The clock of a packet: the coarse monotonic clock, a few milliseconds
 * of resolution but no more than a read of a cached time, for it is on
 * every packet. The tracing programs may not read the coarse clock; they
 * read the precise one (now_at(n, bpf_ktime_get_ns())), of the same base.
 */
static __always_inline void now_of(struct tg_now *n)
{
	now_at(n, bpf_ktime_get_coarse_ns());
}

/* Bank @bank of @v; a constant index for the verifier. */
static __always_inline struct tg_counters *bank_of(struct tg_banked *v,
						   __u32 bank)
{
	return &v->b[bank & (TG_NR_BANKS - 1)];
}
_Static_assert((TG_NR_BANKS & (TG_NR_BANKS - 1)) == 0,
	       "banks are a power of two");

/* A new bucket's counters. */
static const struct tg_banked zero_banked = {};

/*
 * The overflow bucket of @key's billing key (its frontend or backend port,
 * protocol and service), made on first use; the role's last-resort bucket
 * when tg_overflow has no room. NULL only if the maps are gone.
 */
static __noinline struct tg_banked *bill_bucket(const struct tg_peer_key *key)
{
	struct tg_bill_key k = {
		.port = key->port,
		.proto = key->proto,
		.role = key->role,
		.svc = key->svc,
	};
	struct tg_banked *v;
	__u32 role = key->role;

	v = bpf_map_lookup_elem(&tg_overflow, &k);
	if (v)
		return v;
	/* From global data: 160 bytes on this stack would not fit beside
	 * the callers'. */
	bpf_map_update_elem(&tg_overflow, &k, &zero_banked, BPF_NOEXIST);
	v = bpf_map_lookup_elem(&tg_overflow, &k);
	if (v)
		return v;
	stat_inc(TG_STAT_BILL_FULL);
	return bpf_map_lookup_elem(&tg_ovf_role, &role);
}

/* The last-resort bucket of @role (TG_ROLE_NONE: no full socket). */
static __always_inline void count_role(__u32 role, const struct tg_now *n,
				       bool out, __u64 bytes, __u64 packets)
{
	struct tg_banked *v = bpf_map_lookup_elem(&tg_ovf_role, &role);

	if (v)
		count(bank_of(v, n->bank), out, bytes, packets);
}

/*
 * A slot for a new peer of the backends' range (@backend) or the clients':
 * the range's next one never handed out, else one user space reclaimed
 * into the range's queue. False when the range has none.
 */
static __always_inline bool slot_take(struct tg_meta *meta, bool backend,
				      __u32 *slot)
{
	__u32 cap = backend ? backend_peers : max_peers - backend_peers;
	__u64 *next = backend ? &meta->next_backend : &meta->next_slot;
	__u64 n;

	n = *next < cap ? __sync_fetch_and_add(next, 1) : cap;
	if (n < cap) {
		*slot = (backend ? max_peers - backend_peers : 0) + n;
		return true;
	}
	if (backend)
		return !bpf_map_pop_elem(&tg_free_be, slot);
	return !bpf_map_pop_elem(&tg_free, slot);
}

/* A slot taken and not used goes back to its range's queue. */
static __always_inline void slot_give_back(bool backend, __u32 slot)
{
	if (backend)
		bpf_map_push_elem(&tg_free_be, &slot, 0);
	else
		bpf_map_push_elem(&tg_free, &slot, 0);
}

/*
 * Slot of @key in tg_peer_cnt plus one, inserting the key if it is new, or
 * TG_SLOT_OVERFLOW when its role's range has no room (include/meter.h: a
 * range per role). A new slot is zeroed, never handed out before or
 * reclaimed; it is claimed in tg_slot before its key goes into the hash,
 * so that a slot counted into always names its peer. Two CPUs racing to
 * insert the same key both claim a slot; the loser gives its own back.
 */
static __always_inline __u32 peer_slot(struct tg_peer_key *key)
{
	bool backend = key->role == TG_ROLE_BACKEND;
	struct tg_meta *meta;
	struct tg_slot *s;
	__u32 zero = 0, slot, *v;

	v = bpf_map_lookup_elem(&tg_peer_idx, key);
	if (v)
		return *v + 1;

	meta = bpf_map_lookup_elem(&tg_meta, &zero);
	if (!meta || !slot_take(meta, backend, &slot))
		goto full;
	s = bpf_map_lookup_elem(&tg_slot, &slot);
	if (!s)
		goto full;
	s->key = *key;
	s->since_ns = bpf_ktime_get_coarse_ns();
	__sync_fetch_and_add(&s->gen, 1);
	s->state = TG_SLOT_USED;
	if (!bpf_map_update_elem(&tg_peer_idx, key, &slot, BPF_NOEXIST))
		return slot + 1;
	s->state = TG_SLOT_FREE;
	slot_give_back(backend, slot);
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

/* The counters of slot @slot (plus one), or of @key's overflow bucket,
 * in the bank of @n. */
static __always_inline struct tg_banked *peer_counters(__u32 slot,
							const struct tg_peer_key *key)
{
	struct tg_banked *v = NULL;
	__u32 idx = slot - 1;

	if (slot != TG_SLOT_OVERFLOW && slot != 0)
		v = bpf_map_lookup_elem(&tg_peer_cnt, &idx);
	return v ? v : bill_bucket(key);
}

static __always_inline void count_slot(__u32 slot,
				       const struct tg_peer_key *key,
				       const struct tg_now *n, bool out,
				       __u64 bytes, __u64 packets)
{
	struct tg_banked *v = peer_counters(slot, key);

	if (v)
		count(bank_of(v, n->bank), out, bytes, packets);
}

/* The slot (plus one) @key holds now, or TG_SLOT_OVERFLOW. Never makes
 * one. */
static __always_inline __u32 slot_of(const struct tg_peer_key *key)
{
	__u32 *cur = bpf_map_lookup_elem(&tg_peer_idx, key);

	return cur ? *cur + 1 : TG_SLOT_OVERFLOW;
}

/*
 * Add @calls to the peer @key of a socket that cached slot @slot in epoch
 * @epoch: the slot while the epoch holds; else the peer's slot now, or
 * its overflow bucket. Calls are counted where the peer's bytes are, in
 * the bank of the day they are read on.
 */
static __always_inline void peer_add_calls(const struct tg_peer_key *key,
					   __u32 slot, __u32 epoch,
					   __u64 calls)
{
	struct tg_banked *v;
	struct tg_now n;

	now_at(&n, bpf_ktime_get_ns());
	if (epoch != n.epoch)
		slot = slot_of(key);
	v = peer_counters(slot, key);
	if (v)
		__sync_fetch_and_add(&bank_of(v, n.bank)->calls, calls);
}

/*
 * Count a packet of peer @key that no metered socket sends or receives any
 * more (a reset the kernel answers for a socket gone, a segment of a
 * closing or TIME_WAIT connection): into the peer's slot when it has one,
 * else its billing key's bucket, in the bank of @n. Never makes a slot: the
 * socket that would cache it is gone.
 */
static __always_inline void count_key(const struct tg_peer_key *key,
				      const struct tg_now *n, bool out,
				      __u64 bytes, __u64 packets)
{
	count_slot(slot_of(key), key, n, out, bytes, packets);
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

	slot = st->peer_slot;
	if (!slot || st->peer_epoch != n.epoch || !key_eq(&key, &st->peer)) {
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
	 * epoch. */
	st = bpf_sk_storage_get(&tg_sock, sk, 0, 0);
	if (st && (st->flags & TG_SOCK_PEER_FIXED)) {
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
	if (st->role == role)
		return 1;
	st->role = role;
	st->flags &= ~(TG_SOCK_ROLE_INFERRED | TG_SOCK_PEER_FIXED);
	st->peer_slot = 0;
	st->peer_epoch = 0;
	return 1;
}

#endif /* TOLLGATE_BYTES_BPF_H */
