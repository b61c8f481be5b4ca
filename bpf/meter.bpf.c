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
 *
 * API calls (HTTP requests) are counted by tracing programs at the end of
 * this file, off the packet path; see "Calls" below for why there.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "meter.h"
#include "http.h"
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

/*
 * Where the benchmark stops the per-packet programs, to tell under real
 * load what each step of the fast path costs (bpf/benchsocket.bpf.c,
 * bpf/benchstorage.bpf.c): 1 once the packet's full socket is known, 2
 * once a connected TCP socket's storage is found and read. 0, the agent's
 * build, never stops early.
 */
#ifndef TG_BENCH_STOP
#define TG_BENCH_STOP 0
#endif

/* Set by the loader between open and load. */
const volatile __u32 max_peers = 16384;
const volatile __u16 eph_lo = 32768;	/* net.ipv4.ip_local_port_range */
const volatile __u16 eph_hi = 60999;
const volatile __u8 calls_on = 1;	/* 0: tollgate run --no-calls */

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

/*
 * Calls
 *
 * An API call is an HTTP request a client sends to a frontend socket: an
 * HTTP/1.x request, or an HTTP/2 stream in cleartext (h2c).
 * Requests are counted in the stream the server reads, not in packets:
 *
 * - cgroup_skb ingress sees segments before TCP puts them in order:
 *   retransmits, out-of-order and overlapping segments, GRO super-packets.
 *   Counting there means redoing TCP reassembly per connection with
 *   sequence numbers, and one gap (a segment the program misread, a
 *   reordering beyond what it tracks) loses the request boundaries for the
 *   rest of the connection. It would also put a payload scan on the
 *   per-packet path, which must stay one lookup and two adds.
 * - The bytes a socket's reader receives are in order, each exactly once,
 *   whatever happened on the wire. The kernel announces each receive with
 *   the sock_recv_length tracepoint (the socket, the bytes received, the
 *   flags), after the bytes are in the reader's buffer. The receive runs
 *   inside the reader's syscall, whose arguments (descriptor, buffer,
 *   length) the kernel saved with the thread's user registers at entry,
 *   where bpf_task_pt_regs() finds them. The same parser is fed from
 *   SSL_read uprobes for TLS frontends.
 *
 * So: tg_recv, when a socket that sock_ops saw accepted (TG_SOCK_CALLS)
 * receives bytes, takes the current syscall's arguments (read, readv,
 * recvfrom or recvmsg), checks that its descriptor is that very socket,
 * reads the bytes from the user buffer and feeds them to the parser of
 * include/http.h, whose state lives in the socket's storage. Each request
 * is added to the socket's and to its peer's `calls`. MSG_PEEK receives
 * are skipped: the same bytes are read again. Nothing runs at syscall
 * entry: a syscall tracepoint, even one whose program returns at once,
 * sends every syscall of every process on the host through the kernel's
 * traced entry and exit path.
 *
 * Nothing is lost silently. A receive on a counted socket outside such a
 * syscall (io_uring, recvmmsg, a kernel-internal read), a buffer that
 * cannot be read, more iovecs than followed, or a
 * stream that stops making sense puts the socket in TG_HTTP_DESYNC and
 * counts it in TG_STAT_HTTP_DESYNC; its later requests are not counted.
 * Bytes taken from a socket without a receive (splice(2)) are not seen at
 * all: the next receive then starts inside the stream, which the parser
 * mostly, but not always, finds out.
 * Connections that are not HTTP from their first byte (TLS) count in
 * TG_STAT_HTTP_OTHER. Cleartext HTTP/2 is followed frame by frame. Sockets
 * accepted before tollgate attached are not parsed at all: their stream
 * was not seen from its start.
 *
 * A socket's stream is parsed by whoever reads it; HTTP servers read a
 * connection from one thread at a time, as they must to make sense of it.
 */

#define MSG_PEEK	0x2
#define MSG_TRUNC	0x20
#define MSG_ERRQUEUE	0x2000
#define TG_MAX_STEPS	(1 << 18)	/* parser steps per buffer */
#define TG_MAX_IOV	8		/* iovecs followed per read */

/* Syscall numbers of this architecture, set by the loader. */
const volatile __s64 nr_read = -1;
const volatile __s64 nr_readv = -1;
const volatile __s64 nr_recvfrom = -1;
const volatile __s64 nr_recvmsg = -1;

/* The metered cgroup, set by the loader: only its threads' SSL_read
 * calls are followed. */
struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} tg_cgroup SEC(".maps");

/* Per-thread: the read behind a receive and the parser's window. Task storage,
 * so that it goes with the thread; and not the BPF stack, so that the
 * verifier sees the parser loop as one state, not one per byte. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct tg_task);
} tg_task SEC(".maps");

/* What the parser loop works on: the thread's window, the socket's state. */
struct seg {
	struct tg_task *t;
	struct tg_http *h;
};

/* bpf_loop callback: skip a body run, or feed one byte. */
static long seg_step(__u32 i, void *data)
{
	struct seg *g = data;
	struct tg_task *t = g->t;
	__u32 n;
	int ev;

	if (t->off >= t->seg_len)
		return 1;
	n = tg_http_skip(g->h, t->seg_len - t->off);
	if (n) {
		t->off += n;
		return 0;
	}
	if (t->off < t->win_off || t->off - t->win_off >= t->win_len) {
		n = t->seg_len - t->off;
		if (n > TG_WIN)
			n = TG_WIN;
		if (bpf_probe_read_user(t->win, n, (void *)(t->ubuf + t->off))) {
			t->ev = tg_http_desync(g->h);
			return 1;
		}
		t->win_off = t->off;
		t->win_len = n;
	}
	ev = tg_http_byte(g->h, t->win[(t->off - t->win_off) & (TG_WIN - 1)]);
	t->off++;
	if (ev == TG_HTTP_EV_CALL && tg_http_done(g->h)) {
		/* A head the server rejects, and the connection with it
		 * (a bad Content-Length): counted, the rest is lost. */
		t->calls++;
		ev = TG_HTTP_EV_DESYNC;
	}
	if (ev == TG_HTTP_EV_CALL) {
		t->calls++;
	} else if (ev != TG_HTTP_EV_NONE) {
		t->ev = ev;
		return 1;
	}
	return 0;
}

/* Parse @len bytes at user address @ubuf. */
static __noinline void seg_parse(struct seg *g, __u64 ubuf, __u32 len)
{
	struct tg_task *t = g->t;

	t->ubuf = ubuf;
	t->seg_len = len;
	t->off = 0;
	t->win_off = 0;
	t->win_len = 0;
	bpf_loop(TG_MAX_STEPS, seg_step, g, 0);
	if (!t->ev && t->off < t->seg_len)
		t->ev = tg_http_desync(g->h);	/* more than the steps allow */
}

/* Parse the first @left bytes spread over the iovecs at @iovp. */
static __noinline void iov_parse(struct seg *g, __u64 iovp, __u64 cnt,
				 __u32 left)
{
	struct tg_task *t = g->t;
	struct iovec iov;
	__u32 n;
	int i;

	for (i = 0; i < TG_MAX_IOV && i < cnt && left && !t->ev; i++) {
		if (bpf_probe_read_user(&iov, sizeof(iov),
					(void *)(iovp + i * sizeof(iov)))) {
			t->ev = tg_http_desync(g->h);
			return;
		}
		n = iov.iov_len < left ? iov.iov_len : left;
		seg_parse(g, (__u64)iov.iov_base, n);
		left -= n;
	}
	if (left && !t->ev)
		t->ev = tg_http_desync(g->h);
}

static __always_inline void count_calls(const struct tg_sock *st, __u64 calls)
{
	struct tg_counters *c = NULL;
	__u32 idx = st->peer_slot - 1;

	if (st->peer_slot && st->peer_slot != TG_SLOT_OVERFLOW)
		c = bpf_map_lookup_elem(&tg_peer_cnt, &idx);
	if (!c) {
		idx = st->role;
		c = bpf_map_lookup_elem(&tg_overflow, &idx);
	}
	if (c)
		__sync_fetch_and_add(&c->calls, calls);
}

/*
 * TLS
 *
 * A TLS frontend's requests are in the stream its TLS library decrypts,
 * which the loader hooks with uprobes on SSL_read and SSL_read_ex (and
 * their returns) in every library file the metered processes map; a
 * uprobe is on the file, so processes started later are covered too.
 *
 * Uprobes see the SSL object and the buffer but not the socket, and
 * cannot reach socket storage; the receive hook sees the socket. So:
 * tg_ssl_read notes the SSL_read in flight for the thread (tg_tls_task);
 * the read(2) that the library makes inside it reaches tg_recv, which,
 * finding an SSL_read in flight on a counted client socket, marks the
 * socket as TLS (its ciphertext is no stream for the raw parser) and
 * links the SSL object to the socket in tg_ssl: cookie, peer slot, and
 * the parser state of the decrypted stream. At the return, the bytes
 * SSL_read hands the caller are parsed on that state, and their calls
 * added to the socket's peer. An SSL_read served from the library's own
 * buffer makes no syscall and finds the link made by an earlier one.
 *
 * tg_ssl is an LRU hash: a link is not a counter. Losing one is never
 * silent: a return with bytes and no link counts in TG_STAT_TLS_MISS,
 * and a socket that was linked before and finds its link gone has lost
 * its stream (TG_STAT_HTTP_DESYNC). SSL_free drops the link, so a new
 * connection's SSL object at the same address starts afresh.
 *
 * The raw parser still sees the handshake, read outside SSL_read: a
 * stream that begins with a TLS handshake record counts in TG_STAT_TLS
 * rather than as not HTTP; TG_STAT_TLS less TG_STAT_TLS_HOOKED is the
 * TLS connections whose decrypted stream no hook saw.
 *
 * Only the peer's row gets a TLS call at once: the socket's own row
 * (socket storage) gets it at the socket's next receive within SSL_read.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct tg_ssl_key);
	__type(value, struct tg_ssl);
} tg_ssl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct tg_tls_task);
} tg_tls_task SEC(".maps");

/* The raw parser found a TLS handshake at the start of @st's stream. */
static __always_inline void tls_seen(struct tg_sock *st)
{
	if (st->flags & TG_SOCK_TLS)
		return;
	st->flags |= TG_SOCK_TLS;
	stat_inc(TG_STAT_TLS);
}

/*
 * A receive on @st's socket: inside a hooked SSL_read of this thread,
 * link the SSL object to the socket, and on a counted client socket keep
 * the ciphertext from the raw parser. Returns true when the receive is
 * ciphertext of a hooked TLS socket, which the raw parser must not see.
 */
static __noinline bool tls_recv(struct tg_sock *st)
{
	struct tg_ssl_key key = {};
	struct tg_tls_task *tt;
	struct tg_ssl *e, n = {};
	__u64 calls;

	tt = bpf_task_storage_get(&tg_tls_task, bpf_get_current_task_btf(),
				  0, 0);
	if (!tt || !tt->ssl)
		/* Outside SSL_read: a hooked socket's handshake or
		 * shutdown records. */
		return st->flags & TG_SOCK_TLS_HOOKED;

	key.ssl = tt->ssl;
	key.tgid = bpf_get_current_pid_tgid() >> 32;
	e = bpf_map_lookup_elem(&tg_ssl, &key);
	if (!(st->flags & TG_SOCK_CALLS) || st->role != TG_ROLE_CLIENT) {
		/* TLS to a backend, or a client connection whose start was
		 * not seen: known, and not counted, as in clear. */
		if (!e || e->cookie != st->cookie) {
			n.cookie = st->cookie;
			n.role = st->role;
			n.http.state = TG_HTTP_OTHER;
			bpf_map_update_elem(&tg_ssl, &key, &n, BPF_ANY);
		}
		return false;
	}
	if (!e || e->cookie != st->cookie) {
		n.cookie = st->cookie;
		if (st->flags & TG_SOCK_TLS_HOOKED) {
			/* Linked before, the link is gone: the stream
			 * between is lost. */
			if (tg_http_desync(&n.http) == TG_HTTP_EV_DESYNC)
				stat_inc(TG_STAT_HTTP_DESYNC);
		} else {
			tls_seen(st);
			st->flags |= TG_SOCK_TLS_HOOKED;
			st->http.state = TG_HTTP_OTHER;
			stat_inc(TG_STAT_TLS_HOOKED);
		}
		bpf_map_update_elem(&tg_ssl, &key, &n, BPF_ANY);
		e = bpf_map_lookup_elem(&tg_ssl, &key);
		if (!e)
			return true;
	}
	e->peer_slot = st->peer_slot;
	e->role = st->role;
	calls = e->pending;
	if (calls) {
		__sync_fetch_and_sub(&e->pending, calls);
		__sync_fetch_and_add(&st->c.calls, calls);
	}
	return true;
}

/* The syscall number in a task's saved user registers. */
static __always_inline long syscall_nr(struct pt_regs *regs)
{
#if defined(bpf_target_x86)
	return BPF_CORE_READ(regs, orig_ax);
#elif defined(bpf_target_arm64)
	return BPF_CORE_READ((struct user_pt_regs *)regs, syscallno);
#else
#error "syscall_nr: add this architecture's syscall number register"
#endif
}

/*
 * The read behind a receive on @sk: the current thread's syscall, when it
 * is one the parser follows (read, readv, recvfrom, recvmsg) on a
 * descriptor of @sk's very file. A receive runs inside the syscall that
 * asked for it, whose arguments the kernel saved on the thread's stack at
 * entry: the buffer is read from there. Fills @t's read fields; false for
 * a receive without such a read (io_uring, recvmmsg, a kernel-internal
 * receive), whose bytes the parser cannot see.
 */
static __noinline bool read_in_flight(struct tg_task *t, struct sock *sk)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct pt_regs *regs;
	struct fdtable *fdt;
	struct file **fds;
	__u64 fd, file;
	long nr;

	regs = (struct pt_regs *)bpf_task_pt_regs(task);
	if (!regs)
		return false;
	nr = syscall_nr(regs);
	if (nr == nr_read || nr == nr_recvfrom)
		t->kind = TG_READ_BUF;
	else if (nr == nr_readv)
		t->kind = TG_READ_IOV;
	else if (nr == nr_recvmsg)
		t->kind = TG_READ_MSG;
	else
		return false;
	fd = (__u32)PT_REGS_PARM1_CORE_SYSCALL(regs);
	fdt = BPF_CORE_READ(task, files, fdt);
	if (!fdt || fd >= BPF_CORE_READ(fdt, max_fds))
		return false;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&file, sizeof(file), fds + fd))
		return false;
	if (!file || file != (__u64)BPF_CORE_READ(sk, sk_socket, file))
		return false;
	t->file = file;
	t->buf = PT_REGS_PARM2_CORE_SYSCALL(regs);
	t->len = PT_REGS_PARM3_CORE_SYSCALL(regs);
	return true;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(tg_recv, struct sock *sk, int ret, int flags)
{
	struct user_msghdr msg;
	struct tg_task *t;
	struct tg_sock *st;
	struct seg g;
	int ev;

	/* Peeked bytes are received again; the error queue is no stream. */
	if (ret <= 0 || (flags & (MSG_PEEK | MSG_ERRQUEUE)))
		return 0;
	st = bpf_sk_storage_get(&tg_sock, sk, 0, 0);
	if (st && tls_recv(st))
		return 0;
	if (!st || !(st->flags & TG_SOCK_CALLS) || tg_http_done(&st->http))
		return 0;
	if (flags & MSG_TRUNC) {
		/* TCP drops the bytes without copying them anywhere. */
		ev = tg_http_desync(&st->http);
		goto stat;
	}

	t = bpf_task_storage_get(&tg_task, bpf_get_current_task_btf(), 0,
				 BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!t || !read_in_flight(t, sk)) {
		/* Bytes of this stream went where we cannot see them. */
		ev = tg_http_desync(&st->http);
		goto stat;
	}
	t->calls = 0;
	t->ev = 0;
	g.t = t;
	g.h = &st->http;
	if (t->kind == TG_READ_BUF) {
		seg_parse(&g, t->buf, ret);
	} else if (t->kind == TG_READ_IOV) {
		iov_parse(&g, t->buf, t->len, ret);
	} else if (bpf_probe_read_user(&msg, sizeof(msg), (void *)t->buf)) {
		t->ev = tg_http_desync(&st->http);
	} else {
		iov_parse(&g, (__u64)msg.msg_iov, msg.msg_iovlen, ret);
	}
	if (t->calls) {
		__sync_fetch_and_add(&st->c.calls, t->calls);
		count_calls(st, t->calls);
	}
	ev = t->ev;
stat:
	if (ev == TG_HTTP_EV_DESYNC)
		stat_inc(TG_STAT_HTTP_DESYNC);
	else if (ev == TG_HTTP_EV_OTHER)
		stat_inc(TG_STAT_HTTP_OTHER);
	else if (ev == TG_HTTP_EV_TLS)
		tls_seen(st);
	return 0;
}

/* The calls of a TLS socket's peer, from its slot in tg_ssl. */
static __always_inline void tls_count(const struct tg_ssl *e, __u64 calls)
{
	struct tg_counters *c = NULL;
	__u32 idx = e->peer_slot - 1;

	if (e->peer_slot && e->peer_slot != TG_SLOT_OVERFLOW)
		c = bpf_map_lookup_elem(&tg_peer_cnt, &idx);
	if (!c) {
		idx = e->role;
		c = bpf_map_lookup_elem(&tg_overflow, &idx);
	}
	if (c)
		__sync_fetch_and_add(&c->calls, calls);
}

static __always_inline int tls_enter(__u64 ssl, __u64 buf, __u64 readbytes)
{
	struct tg_tls_task *tt;

	if (bpf_current_task_under_cgroup(&tg_cgroup, 0) != 1)
		return 0;
	tt = bpf_task_storage_get(&tg_tls_task, bpf_get_current_task_btf(),
				  0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!tt)
		return 0;
	tt->ssl = ssl;
	tt->buf = buf;
	tt->readbytes = readbytes;
	return 0;
}

/* SSL_read returns: @ok is whether it read anything, @ret the bytes
 * (SSL_read) or 0 to take them from SSL_read_ex's count. */
static __noinline int tls_exit(bool ok, __u64 ret)
{
	struct tg_ssl_key key = {};
	struct tg_tls_task *tt;
	struct tg_task *t;
	struct tg_ssl *e;
	struct seg g;
	__u64 buf, n = ret;

	tt = bpf_task_storage_get(&tg_tls_task, bpf_get_current_task_btf(),
				  0, 0);
	if (!tt || !tt->ssl)
		return 0;
	key.ssl = tt->ssl;
	key.tgid = bpf_get_current_pid_tgid() >> 32;
	buf = tt->buf;
	tt->ssl = 0;
	if (!ok)
		return 0;
	if (tt->readbytes &&
	    bpf_probe_read_user(&n, sizeof(n), (void *)tt->readbytes))
		n = 0;
	if (!n)
		return 0;
	e = bpf_map_lookup_elem(&tg_ssl, &key);
	if (!e) {
		/* Decrypted bytes of a connection whose socket is not
		 * known: not a counted client, or a link lost. */
		stat_inc(TG_STAT_TLS_MISS);
		return 0;
	}
	if (tg_http_done(&e->http))
		return 0;
	t = bpf_task_storage_get(&tg_task, bpf_get_current_task_btf(), 0,
				 BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!t)
		return 0;
	t->calls = 0;
	t->ev = 0;
	g.t = t;
	g.h = &e->http;
	seg_parse(&g, buf, n > 0x7fffffff ? 0x7fffffff : n);
	if (t->calls) {
		__sync_fetch_and_add(&e->pending, t->calls);
		tls_count(e, t->calls);
	}
	if (t->ev == TG_HTTP_EV_DESYNC)
		stat_inc(TG_STAT_HTTP_DESYNC);
	else if (t->ev == TG_HTTP_EV_OTHER || t->ev == TG_HTTP_EV_TLS)
		stat_inc(TG_STAT_HTTP_OTHER);
	return 0;
}

/* int SSL_read(SSL *ssl, void *buf, int num) */
SEC("uprobe")
int BPF_KPROBE(tg_ssl_read, void *ssl, void *buf)
{
	return tls_enter((__u64)ssl, (__u64)buf, 0);
}

SEC("uretprobe")
int BPF_KRETPROBE(tg_ssl_read_ret, int ret)
{
	return tls_exit(ret > 0, ret > 0 ? ret : 0);
}

/* int SSL_read_ex(SSL *ssl, void *buf, size_t num, size_t *readbytes):
 * 1 when it read *readbytes bytes. */
SEC("uprobe")
int BPF_KPROBE(tg_ssl_read_ex, void *ssl, void *buf, __u64 num,
	       __u64 *readbytes)
{
	return tls_enter((__u64)ssl, (__u64)buf,
			 readbytes ? (__u64)readbytes : 0);
}

SEC("uretprobe")
int BPF_KRETPROBE(tg_ssl_read_ex_ret, int ret)
{
	return tls_exit(ret == 1, 0);
}

/* void SSL_free(SSL *ssl): the object's address may serve a new
 * connection next; its link must not. */
SEC("uprobe")
int BPF_KPROBE(tg_ssl_free, void *ssl)
{
	struct tg_ssl_key key = {};

	if (bpf_current_task_under_cgroup(&tg_cgroup, 0) != 1)
		return 0;
	key.ssl = (__u64)ssl;
	key.tgid = bpf_get_current_pid_tgid() >> 32;
	bpf_map_delete_elem(&tg_ssl, &key);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
