/* SPDX-License-Identifier: GPL-2.0 */
/*
 * closed.bpf.h - the count stage, in the kernel: the packets of a metered
 * TCP connection that no metered socket sends or receives, because its
 * socket is gone or has become a timewait socket.
 *
 * The cgroup_skb programs see the packets of full sockets. Once a
 * connection ends, the kernel still handles packets for it without one:
 *
 * - segments that arrive after the socket is gone: the peer's data still in
 *   flight when either side reset the connection, the peer's resets of the
 *   gateway's own data in flight. The kernel drops them as reaching no
 *   socket, and answers each with a reset unless it is one;
 * - segments that reach a timewait socket: the peer's FIN after the
 *   gateway closed first (the socket was orphaned in FIN_WAIT2 and turned
 *   into a timewait socket), a retransmitted FIN, late data. The timewait
 *   socket acknowledges them, resets them, or lets them be;
 * - over IPv6, the resets the kernel answers on behalf of a full socket
 *   (data reaching a socket closed by its owner, a bad ACK to a listener):
 *   tcp_v6_send_response() sends them through the namespace's control
 *   socket with the full socket attached, and the egress hook runs only
 *   when those two are the same socket. Over IPv4, ip_send_unicast_reply()
 *   sends the same resets as the full socket's own, and the egress program
 *   counts them.
 *
 * Those replies come from the control socket, which no metered cgroup
 * holds. So:
 *
 * - sock_ops (closed_sockops()): when a metered TCP socket leaves
 *   ESTABLISHED, SYN_SENT or SYN_RECV, its 4-tuple and network namespace go
 *   into tg_closed with the peer key its packets were counted under. The
 *   state callback (BPF_SOCK_OPS_STATE_CB, which each socket asks for when
 *   it is opened or accepted) runs before the kernel takes the socket out
 *   of its lookup tables or puts a timewait socket in its place, so before
 *   any of its packets can miss it. The inet_sock_set_state tracepoint
 *   fires after: a socket reset, or closed with unread data, goes straight
 *   from ESTABLISHED to CLOSE, and the peer's segments a softirq handles in
 *   between would find neither socket nor entry. A socket opened before
 *   tollgate first attached never asked for the callback: its close is
 *   not remembered.
 * - tg_close_drop (tp_btf/kfree_skb): a TCP segment freed as reaching no
 *   socket (SKB_DROP_REASON_NO_SOCKET), or after a timewait socket handled
 *   it (rx_sk in TIME_WAIT), is counted in when tg_closed knows its
 *   4-tuple. The acknowledgement a timewait socket sends leaves through no
 *   hook at all but a per-packet device tracepoint; it is told from the
 *   segment and what its processing left in the timewait socket
 *   (tg_tw_acked(), include/meter.h), and counted out.
 * - tg_close_reset (tp_btf/tcp_send_reset): a reset the kernel answers a
 *   segment with, for no socket or a timewait socket, is counted out to the
 *   peer tg_closed gives the segment's 4-tuple; for a full metered socket
 *   over IPv6, to that socket and its peer.
 *
 * Never twice: a segment that reaches no socket or a timewait socket never
 * reaches a socket filter, where the ingress program runs; a reply of the
 * control socket carries no socket or a timewait one, which is no full
 * socket, and the egress program does not run, except for the IPv4 resets
 * of a full socket, which egress counts and tg_close_reset leaves alone.
 * Resets a full socket sends itself (closing with unread data, SO_LINGER
 * 0) go through the socket, egress counts them, and the tracepoint fires
 * for them without a segment, which tg_close_reset skips.
 *
 * Only connections the meter counted are counted: a segment whose 4-tuple
 * tg_closed does not hold (a scan of a closed port, another cgroup's
 * connection, a close pushed out of the LRU) is not. A closed connection's
 * packets count into its peer's slot if the peer still has one, else its
 * billing key's overflow bucket (count_key()), in the bank of the day they
 * cross on.
 */
#ifndef TOLLGATE_CLOSED_BPF_H
#define TOLLGATE_CLOSED_BPF_H

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "bytes.bpf.h"
#include "maps.bpf.h"

#define TG_ETH_P_IP	0x0800
#define TG_ETH_P_IPV6	0x86dd
#define TG_CLOSED_EXT	4	/* IPv6 extension headers followed */

/* A TCP segment of a kernel sk_buff, from its headers. */
struct closed_seg {
	struct tg_conn_key key;	/* seen from this host: the segment's
				 * destination is the local end */
	__u32 ip_len;		/* IP bytes: the IP header's length */
	__u32 hdr_len;		/* IP, extension and TCP header bytes */
	__u32 seq_len;		/* sequence space: payload, SYN, FIN */
	__u8 flags;		/* TG_TCP_* */
	__u8 v6;		/* IPv6 */
};

/*
 * Read the IP and TCP headers of @skb, a segment the kernel received,
 * into @s. Returns 0, or -1 when it is no TCP segment that can be read.
 */
static __noinline int closed_parse(const struct sk_buff *skb,
				   struct closed_seg *s)
{
	unsigned char *head = BPF_CORE_READ(skb, head);
	__u32 nh = BPF_CORE_READ(skb, network_header), off, payload;
	struct net_device *dev;
	__u8 vhl, th[14];

	if (bpf_probe_read_kernel(&vhl, 1, head + nh))
		return -1;
	if (vhl >> 4 == 4) {
		struct iphdr ip;

		if (bpf_probe_read_kernel(&ip, sizeof(ip), head + nh) ||
		    ip.protocol != IPPROTO_TCP)
			return -1;
		off = ip.ihl * 4;
		s->ip_len = bpf_ntohs(ip.tot_len);
		tg_map_v4(s->key.local_addr, ip.daddr);
		tg_map_v4(s->key.remote_addr, ip.saddr);
	} else if (vhl >> 4 == 6) {
		struct ipv6hdr ip6;
		__u8 proto, ext[2];

		if (bpf_probe_read_kernel(&ip6, sizeof(ip6), head + nh))
			return -1;
		proto = ip6.nexthdr;
		off = sizeof(ip6);
		for (int i = 0; i < TG_CLOSED_EXT && proto != IPPROTO_TCP;
		     i++) {
			if (proto != TG_NEXTHDR_HOP &&
			    proto != TG_NEXTHDR_ROUTING &&
			    proto != TG_NEXTHDR_DEST &&
			    proto != TG_NEXTHDR_AUTH)
				return -1;
			if (bpf_probe_read_kernel(ext, 2, head + nh + off))
				return -1;
			off += proto == TG_NEXTHDR_AUTH ? (ext[1] + 2) * 4 :
							  (ext[1] + 1) * 8;
			proto = ext[0];
		}
		if (proto != IPPROTO_TCP)
			return -1;
		s->ip_len = bpf_ntohs(ip6.payload_len) + sizeof(ip6);
		__builtin_memcpy(s->key.local_addr, &ip6.daddr, 16);
		__builtin_memcpy(s->key.remote_addr, &ip6.saddr, 16);
		s->v6 = 1;
	} else {
		return -1;
	}
	if (bpf_probe_read_kernel(th, sizeof(th), head + nh + off))
		return -1;
	s->key.remote_port = (__u16)th[0] << 8 | th[1];
	s->key.local_port = (__u16)th[2] << 8 | th[3];
	s->flags = th[13];
	s->hdr_len = off + (th[12] >> 4) * 4;
	payload = s->ip_len > s->hdr_len ? s->ip_len - s->hdr_len : 0;
	s->seq_len = payload + !!(s->flags & TG_TCP_SYN) +
		     !!(s->flags & TG_TCP_FIN);
	dev = BPF_CORE_READ(skb, dev);
	if (dev)
		s->key.netns = BPF_CORE_READ(dev, nd_net.net, net_cookie);
	return 0;
}

/*
 * Wire bytes and packets of @skb, whose headers @s holds: a GRO
 * super-packet counts as the segments that crossed the wire, each with its
 * own headers (as in bytes.bpf.h).
 */
static __always_inline __u64 closed_wire(const struct sk_buff *skb,
					 const struct closed_seg *s,
					 __u32 *packets)
{
	struct skb_shared_info *sh;
	__u32 segs, size;

	sh = (void *)(BPF_CORE_READ(skb, head) + BPF_CORE_READ(skb, end));
	segs = BPF_CORE_READ(sh, gso_segs);
	size = BPF_CORE_READ(sh, gso_size);
	if (!segs && size && s->ip_len > s->hdr_len)
		segs = (s->ip_len - s->hdr_len + size - 1) / size;
	*packets = segs > 1 ? segs : 1;
	return tg_wire_bytes(s->ip_len, segs, s->hdr_len);
}

/* Count a packet of the closed connection of peer @peer, and say so in
 * TG_STAT_CLOSED. Tracing programs read the precise clock (bytes.bpf.h). */
static __always_inline void closed_count(const struct tg_peer_key *peer,
					 bool out, __u64 bytes, __u32 packets)
{
	__u32 idx = TG_STAT_CLOSED;
	struct tg_now n;
	__u64 *v;

	now_at(&n, bpf_ktime_get_ns());
	count_key(peer, &n, out, bytes, packets);
	v = bpf_map_lookup_elem(&tg_stats, &idx);
	if (v)
		__sync_fetch_and_add(v, packets);
}

/*
 * sock_ops, after the meter's own part (sockops_role()): ask for the state
 * callback of each TCP socket opened or accepted, and remember a metered
 * socket that leaves ESTABLISHED (or the handshake) for a closing state,
 * under its 4-tuple, with the peer key its packets counted in (the
 * socket's own, when it counted none yet).
 */
static __always_inline void closed_sockops(struct bpf_sock_ops *skops)
{
	struct tg_conn_key key = {};
	struct tg_closed c = {};
	struct bpf_sock *sk;
	struct tg_sock *st;
	__u32 old, new;

	switch (skops->op) {
	case BPF_SOCK_OPS_TCP_CONNECT_CB:
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags |
						 BPF_SOCK_OPS_STATE_CB_FLAG);
		return;
	case BPF_SOCK_OPS_STATE_CB:
		break;
	default:
		return;
	}
	old = skops->args[0];
	new = skops->args[1];
	if (new == BPF_TCP_ESTABLISHED ||
	    (old != BPF_TCP_ESTABLISHED && old != BPF_TCP_SYN_SENT &&
	     old != BPF_TCP_SYN_RECV))
		return;
	sk = skops->sk;
	if (!sk)
		return;
	st = bpf_sk_storage_get(&tg_sock, sk, 0, 0);
	if (!st || !st->role)
		return;
	sk_local_addr(key.local_addr, sk);
	sk_remote_addr(key.remote_addr, sk);
	key.local_port = sk->src_port;
	key.remote_port = bpf_ntohs(sk->dst_port);
	key.netns = bpf_get_netns_cookie(skops);
	if (!key.local_port || !key.remote_port)
		return;
	if (st->peer.role) {
		c.peer = st->peer;
	} else {
		__builtin_memcpy(c.peer.addr, key.remote_addr, 16);
		c.peer.proto = IPPROTO_TCP;
		c.peer.role = st->role;
		c.peer.port = st->role == TG_ROLE_CLIENT ? key.local_port :
							   key.remote_port;
	}
	if (bpf_map_update_elem(&tg_closed, &key, &c, BPF_ANY))
		stat_inc(TG_STAT_CLOSED_LOST);
}

/*
 * An IPv6 reset the kernel answered segment @s with on behalf of the full
 * socket @sk, which the egress program did not see: to the socket's row
 * and its peer, when the socket is metered. The peer is the socket's for a
 * connected socket, else (a listener) the segment's sender.
 */
static __noinline int closed_reset_sock(const struct sock *sk,
					const struct closed_seg *s)
{
	__u32 bytes = tg_reply_bytes(1, 0, 0);
	struct tg_peer_key peer = {};
	struct tg_sock *st;

	st = bpf_sk_storage_get(&tg_sock, (struct sock *)sk, 0, 0);
	if (!st || !st->role)
		return 0;
	if (st->flags & TG_SOCK_PEER_FIXED) {
		peer = st->peer;
	} else {
		__builtin_memcpy(peer.addr, s->key.remote_addr, 16);
		peer.proto = IPPROTO_TCP;
		peer.role = st->role;
		peer.port = st->role == TG_ROLE_CLIENT ? s->key.local_port :
							 s->key.remote_port;
	}
	count(&st->c, true, bytes, 1);
	closed_count(&peer, true, bytes, 1);
	return 0;
}

/*
 * The kernel answers segment @skb with a reset, on behalf of @sk: none,
 * a timewait socket, or a full socket. @skb is NULL for the resets a full
 * socket sends itself, which egress counts.
 */
static __always_inline int closed_reset(const struct sock *sk,
					const struct sk_buff *skb)
{
	struct closed_seg s = {};
	struct tg_closed *c;
	__u32 zero = 0;
	__u64 *rst;
	int state;

	if (!skb || closed_parse(skb, &s))
		return 0;
	if (sk) {
		state = BPF_CORE_READ(sk, __sk_common.skc_state);
		if (state == TCP_TIME_WAIT) {
			/* Not acknowledged, then: closed_drop() frees it
			 * next, on this CPU. */
			rst = bpf_map_lookup_elem(&tg_closed_rst, &zero);
			if (rst)
				*rst = (__u64)skb;
		} else if (state != TCP_NEW_SYN_RECV) {
			return s.v6 ? closed_reset_sock(sk, &s) : 0;
		}
	}
	c = bpf_map_lookup_elem(&tg_closed, &s.key);
	if (c)
		closed_count(&c->peer, true, tg_reply_bytes(s.v6, 0, 0), 1);
	return 0;
}

/* Whether timewait socket @tw signs its segments with TCP-MD5. */
static __always_inline int closed_tw_md5(const struct tcp_timewait_sock *tw)
{
	if (!bpf_core_field_exists(tw->tw_md5_key))
		return 0;
	return BPF_CORE_READ(tw, tw_md5_key) != NULL;
}

/*
 * The kernel frees segment @skb it dropped for @reason; @rx_sk is the
 * socket that received it, if any. Counted in when it reached no socket
 * or a timewait socket and belongs to a closed metered connection; the
 * timewait socket's acknowledgement of it, if it sent one, counted out.
 */
static __always_inline int closed_drop(const struct sk_buff *skb,
				       int reason, const struct sock *rx_sk)
{
	const struct tcp_timewait_sock *tw = NULL;
	struct closed_seg s = {};
	struct tg_closed *c;
	__u32 packets, oow, zero = 0;
	int reset = 0, moved;
	__u64 bytes, *rst;
	__u16 proto;

	if (rx_sk) {
		if (BPF_CORE_READ(rx_sk, __sk_common.skc_state) !=
		    TCP_TIME_WAIT)
			return 0;
		tw = (const void *)rx_sk;
	} else if (reason != bpf_core_enum_value(enum skb_drop_reason,
						 SKB_DROP_REASON_NO_SOCKET)) {
		return 0;
	}
	proto = bpf_ntohs(BPF_CORE_READ(skb, protocol));
	if (proto != TG_ETH_P_IP && proto != TG_ETH_P_IPV6)
		return 0;
	if (tw) {
		rst = bpf_map_lookup_elem(&tg_closed_rst, &zero);
		if (rst) {
			reset = *rst == (__u64)skb;
			*rst = 0;
		}
	}
	if (closed_parse(skb, &s))
		return 0;
	c = bpf_map_lookup_elem(&tg_closed, &s.key);
	if (!c)
		return 0;
	bytes = closed_wire(skb, &s, &packets);
	closed_count(&c->peer, false, bytes, packets);
	if (!tw)
		return 0;
	/* Only a sent out-of-window ACK moves it; several CPUs may handle
	 * one timewait socket's segments, and this is no lock, but its
	 * segments come seconds apart. */
	oow = BPF_CORE_READ(tw, tw_last_oow_ack_time);
	moved = oow != c->oow_ack;
	if (moved)
		c->oow_ack = oow;
	if (tg_tw_acked(s.flags, s.seq_len, moved, reset))
		closed_count(&c->peer, true,
			     tg_reply_bytes(s.v6,
					    BPF_CORE_READ(tw, tw_ts_recent) != 0,
					    closed_tw_md5(tw)),
			     1);
	return 0;
}

#endif /* TOLLGATE_CLOSED_BPF_H */
