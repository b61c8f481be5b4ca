/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * meter.h - the ABI between the count stage (the kernel meter, bpf/) and
 * user space.
 *
 * Everything here is compiled twice, by clang for the BPF target and by the
 * host compiler, and ends up in pinned maps that outlive any one agent
 * process. So: fixed-width types only, one field per line with its unit or
 * byte order, explicit padding, and a size check on every struct. Changing a
 * layout means raising TG_ABI_VERSION; the loader refuses pinned maps of
 * another version rather than misreading them.
 *
 * Addresses are always 16 bytes: IPv6 as is, IPv4 as an IPv4-mapped IPv6
 * address (::ffff:a.b.c.d), so an IPv4 peer reached over a dual-stack IPv6
 * socket and one reached over an IPv4 socket are the same peer.
 */
#ifndef TOLLGATE_METER_H
#define TOLLGATE_METER_H

/* 4: peer slots are reclaimed (tg_slot, tg_free, an epoch in tg_clock),
 * in a range per role (tg_meta.backend_peers, tg_free_be), counters are
 * kept per day (day banks), overflow buckets keep the billing key
 * (tg_overflow is a hash of tg_bill_key, tg_ovf_role the last resort);
 * tg_peer_key.pad became svc. TLS calls are counted from what SSL_write
 * encrypts, not from what SSL_read decrypts: tg_ssl holds a response
 * parser, tg_tls_task the SSL_write and handshake in flight, tg_tls_pend
 * the calls a socket's own row has yet to get; the hooks are pinned per
 * process (tls_<pid>_<start>_<hook>).
 * 3: tg_stats grew to 11 counters (TLS), and the syscall-entry tracer is
 * pinned as one link per syscall. */
#define TG_ABI_VERSION 4

/* Which side a socket faces. 0 means "not decided yet" and never reaches a
 * peer key, except in the overflow bucket of packets without a socket. */
#define TG_ROLE_NONE	0	/* packet without a full socket */
#define TG_ROLE_CLIENT	1	/* accepted by a listener on this host */
#define TG_ROLE_BACKEND	2	/* opened by this host */
#define TG_NR_ROLES	3

/* tg_sock.flags */
#define TG_SOCK_ROLE_INFERRED	0x01	/* role from the port rule, not seen */
#define TG_SOCK_PEER_FIXED	0x02	/* connected TCP: cached slot never changes */
#define TG_SOCK_CALLS		0x04	/* accepted TCP seen from its start:
					 * HTTP requests are counted */
#define TG_SOCK_TLS		0x08	/* its stream began with a TLS
					 * handshake: the raw parser stopped */
#define TG_SOCK_TLS_HOOKED	0x10	/* a hooked handshake read it: calls
					 * come from the stream SSL_write
					 * encrypts */

/* Index of the global counters in the tg_stats per-CPU array. */
#define TG_STAT_PEER_FULL	0	/* peer not inserted: map or slots full */
#define TG_STAT_NO_STORAGE	1	/* no socket storage: counted per packet */
#define TG_STAT_NO_SOCK		2	/* packet without a full socket */
#define TG_STAT_BAD_HEADER	3	/* header unreadable: peer from the socket */
#define TG_STAT_ROLE_INFERRED	4	/* sockets whose role came from the port */
#define TG_STAT_GSO		5	/* GSO/GRO packets, segments accounted */
#define TG_STAT_HTTP_DESYNC	6	/* client sockets whose HTTP stream
					 * was lost: later calls uncounted */
#define TG_STAT_HTTP_OTHER	7	/* client sockets not speaking HTTP in
					 * clear (TLS, ...): calls uncounted */
#define TG_STAT_TLS		8	/* client sockets whose stream began
					 * with a TLS handshake */
#define TG_STAT_TLS_HOOKED	9	/* of those, sockets whose handshake a
					 * hook saw: calls counted as the
					 * gateway's SSL_write encrypts them */
#define TG_STAT_TLS_MISS	10	/* SSL_write returns with bytes but no
					 * known socket: calls uncounted */
#define TG_STAT_BILL_FULL	11	/* overflow of a billing key not
					 * inserted: tg_overflow full, counted
					 * in the role's last-resort bucket */
#define TG_STAT_RECHECK		12	/* cached peer slots looked up again
					 * after slots were reclaimed */
#define TG_STAT_HEARD_TWICE	13	/* second ingress runs of one packet
					 * (TCP's lookup again after a
					 * listener): counted once */
#define TG_NR_STATS		14

/* Bytes are IP bytes: IP header, extension headers and payload, the way
 * they cross the wire, every GSO segment with its own headers. */
struct tg_counters {
	__u64 bytes_in;		/* IP bytes, peer to host */
	__u64 packets_in;	/* IP packets, peer to host */
	__u64 bytes_out;	/* IP bytes, host to peer */
	__u64 packets_out;	/* IP packets, host to peer */
	__u64 calls;		/* HTTP requests of the peer: read from
				 * it in clear, answered to it over TLS
				 * (client sockets) */
};
_Static_assert(sizeof(struct tg_counters) == 40, "tg_counters is ABI");

/*
 * Day banks. Every billing counter (a peer slot, an overflow bucket) is
 * kept in TG_NR_BANKS banks, one per natural day: the kernel counts into
 * the bank of the day a packet or call happens on, by a coarse clock
 * against the day boundaries user space writes ahead of time (tg_clock).
 * So the day of every byte is settled when it is counted, however late
 * the agent reads: a day's bank is bank (day number % TG_NR_BANKS), and an
 * agent away across up to TG_NR_BANKS - 1 midnights still splits every day
 * exactly. Each bank is cumulative, like every other counter.
 */
#define TG_NR_BANKS	4
#define TG_NR_DAYS	TG_NR_BANKS	/* day boundaries in tg_clock */

struct tg_banked {
	struct tg_counters b[TG_NR_BANKS];	/* by day number % TG_NR_BANKS */
};
_Static_assert(sizeof(struct tg_banked) == 40 * TG_NR_BANKS,
	       "tg_banked is ABI");

/*
 * Where the HTTP request counter (include/http.h) stands in a client
 * socket's incoming stream.
 */
struct tg_http {
	__u64 remain;		/* bytes: body or chunk data still to skip;
				 * the Content-Length or chunk size being read */
	__u8 state;		/* TG_HTTP_* */
	__u8 flags;		/* TG_HTTP_F_* */
	__u8 match;		/* characters of a name or token matched */
	__u8 cand;		/* TG_HTTP_N_*: names still matching */
	__u32 stream;		/* HTTP/2: last client stream id counted */
};
_Static_assert(sizeof(struct tg_http) == 16, "tg_http is ABI");

/*
 * Key of the per-peer aggregate. Client-side traffic is aggregated per
 * (client address, local frontend port, protocol), backend-side per
 * (backend address, backend port, protocol), so the number of keys grows
 * with peers, not with connections.
 */
struct tg_peer_key {
	__u8 addr[16];		/* peer address, IPv4 mapped into IPv6 */
	__u16 port;		/* host order; client: local port, backend:
				 * remote port; 0 for protocols without ports */
	__u8 proto;		/* IPPROTO_* of the packets */
	__u8 role;		/* TG_ROLE_CLIENT or TG_ROLE_BACKEND */
	__u32 svc;		/* service the peer's requests name; 0: by
				 * port alone */
};
_Static_assert(sizeof(struct tg_peer_key) == 24, "tg_peer_key is ABI");

/*
 * What billing needs of a peer, and the key of an overflow bucket: when a
 * peer gets no slot, its traffic still lands on its frontend (client: the
 * local port; backend: the remote port), protocol and service, so every
 * tenant's totals stay exact when the per-peer detail is lost.
 */
struct tg_bill_key {
	__u16 port;		/* host order; as tg_peer_key.port */
	__u8 proto;		/* IPPROTO_* */
	__u8 role;		/* TG_ROLE_* */
	__u32 svc;		/* as tg_peer_key.svc */
};
_Static_assert(sizeof(struct tg_bill_key) == 8, "tg_bill_key is ABI");

/*
 * Per-socket state, kept in socket-local storage for as long as the socket
 * lives. The kernel frees it with the socket, so it is never a billing
 * record: the per-peer counters are, and they are updated on every packet.
 */
struct tg_sock {
	__u64 cookie;		/* socket cookie, unique per boot */
	struct tg_counters c;	/* this socket's traffic */
	__u8 local_addr[16];	/* from the socket; IPv4 mapped */
	__u8 remote_addr[16];	/* from the socket; zero when unconnected */
	__u16 local_port;	/* host order */
	__u16 remote_port;	/* host order; zero when unconnected */
	__u8 proto;		/* socket protocol, IPPROTO_* */
	__u8 role;		/* TG_ROLE_* */
	__u8 flags;		/* TG_SOCK_* */
	__u8 pad0;		/* zero */
	struct tg_peer_key peer;/* key of the last peer counted */
	__u32 peer_slot;	/* slot of that peer in tg_peer_cnt, plus one;
				 * 0: none cached, TG_SLOT_OVERFLOW: overflow */
	__u32 peer_epoch;	/* tg_clock.epoch when peer_slot was found:
				 * a slot of another epoch is looked up again */
	struct tg_http http;	/* request counting, TG_SOCK_CALLS sockets */
};
_Static_assert(sizeof(struct tg_sock) == 136, "tg_sock is ABI");

#define TG_SLOT_OVERFLOW 0xffffffffu

/*
 * One peer slot, by slot number (tg_slot): which peer holds it. The kernel
 * fills it when it hands the slot out; user space reads it to list the
 * peers without walking the hash, and to reclaim quiet slots.
 *
 * A slot is reclaimed in steps that each survive the agent being killed,
 * since the state lives here: user space marks it LIMBO, removes its key
 * from tg_peer_idx, raises tg_clock.epoch and waits for every BPF program
 * run in flight to end (an RCU grace period). From then on nothing counts
 * into the slot: a socket that cached it finds the epoch changed and looks
 * its peer up again, and the lookup no longer finds the slot. The next
 * collection books the slot's final counters under its key; only then is
 * it zeroed, marked FREE and given to tg_free for reuse.
 *
 * Slots are in two ranges, one per role: clients hold slots [0, max_peers
 * - backend_peers), backends the last backend_peers (tg_meta), each range
 * with its own next slot never handed out and its own queue of reclaimed
 * ones (tg_free, tg_free_be). However many client addresses come and go, a
 * backend, whose address its classification needs, finds a slot free of
 * them; a client's billing needs only its frontend, which its overflow
 * bucket keeps.
 */
#define TG_SLOT_FREE	0	/* in tg_free, or never handed out */
#define TG_SLOT_USED	1	/* holds @key */
#define TG_SLOT_LIMBO	2	/* being reclaimed: @key's final counters
				 * are not booked yet */

struct tg_slot {
	struct tg_peer_key key;	/* the peer, while USED or LIMBO */
	__u32 gen;		/* times the slot was handed out: a snapshot
				 * keys a slot's counters by (key, gen) */
	__u32 state;		/* TG_SLOT_* */
	__u64 since_ns;		/* CLOCK_MONOTONIC when handed out */
};
_Static_assert(sizeof(struct tg_slot) == 40, "tg_slot is ABI");

/*
 * Single entry of tg_clock, written by user space, read by every packet:
 * the reclaim epoch, and the starts of the next natural days on the
 * kernel's coarse monotonic clock. Day day0 + i starts at day_ns[i] and
 * counts into bank (day0 + i) % TG_NR_BANKS; before day_ns[0] (or with no
 * days set) counters go to bank day0 % TG_NR_BANKS, after the last day_ns
 * to the last day's bank.
 */
struct tg_clock {
	__u32 epoch;		/* raised when slots are reclaimed */
	__u32 day0;		/* days since 1970-01-01 of day_ns[0], in
				 * the ledger's time zone */
	__u64 day_ns[TG_NR_DAYS];	/* CLOCK_MONOTONIC ns; 0: unset */
	__u64 reclaimed;	/* slots freed by reclaiming, ever */
};
_Static_assert(sizeof(struct tg_clock) == 16 + 8 * TG_NR_DAYS,
	       "tg_clock is ABI");

/* Single entry of tg_meta: identity and the peer slot allocator. */
struct tg_meta {
	__u32 abi_version;	/* TG_ABI_VERSION of whoever created the maps */
	__u32 max_peers;	/* capacity of tg_peer_idx and tg_peer_cnt */
	__u64 next_slot;	/* next client slot never handed out; past
				 * max_peers - backend_peers, client slots
				 * come from tg_free */
	__u64 cgroup_id;	/* cgroup the programs were first attached to */
	__u64 created_ns;	/* CLOCK_REALTIME when the maps were created */
	__u64 next_backend;	/* next backend slot never handed out, from
				 * the range's start; past backend_peers,
				 * backend slots come from tg_free_be */
	__u32 backend_peers;	/* the last slots, kept for backends */
	__u32 pad;
};
_Static_assert(sizeof(struct tg_meta) == 48, "tg_meta is ABI");

/* Map names: 15 characters at most, they are also pin names. */
#define TG_MAP_PEER_IDX	"tg_peer_idx"
#define TG_MAP_PEER_CNT	"tg_peer_cnt"
#define TG_MAP_SOCK	"tg_sock"
#define TG_MAP_OVERFLOW	"tg_overflow"	/* by billing key */
#define TG_MAP_OVF_ROLE	"tg_ovf_role"	/* by role: the last resort */
#define TG_MAP_SLOT	"tg_slot"
#define TG_MAP_FREE	"tg_free"	/* reclaimed client slots */
#define TG_MAP_FREE_BE	"tg_free_be"	/* reclaimed backend slots */
#define TG_MAP_CLOCK	"tg_clock"
#define TG_MAP_STATS	"tg_stats"
#define TG_MAP_META	"tg_meta"
#define TG_MAP_CGROUP	"tg_cgroup"
#define TG_MAP_TASK	"tg_task"
#define TG_MAP_SSL	"tg_ssl"
#define TG_MAP_TLS_TASK	"tg_tls_task"
#define TG_MAP_TLS_PEND	"tg_tls_pend"
#define TG_MAP_HEARD	"tg_heard"	/* per CPU, the kernel's alone */

/* Made and read by user space alone: how the agent runs (its
 * configuration, ledger, interval), for the read commands
 * (user/load/agentinfo.h). No program uses it. */
#define TG_MAP_AGENT	"tg_agent"

/* Pin names of the links, beside the maps. */
#define TG_LINK_INGRESS	"link_ingress"	/* cgroup_skb/ingress */
#define TG_LINK_EGRESS	"link_egress"	/* cgroup_skb/egress */
#define TG_LINK_SOCKOPS	"link_sockops"	/* sock_ops */
#define TG_LINK_RECV	"link_recv"	/* the calls tracer on the receive */
#define TG_LINK_TLS	"tls_"		/* TLS hooks of one process:
					 * tls_<pid>_<start time>_<hook> */

/*
 * Per-thread state of the calls tracers (task-local storage): the read
 * behind a socket's receive, taken from the syscall's saved registers, and
 * the window through which the parser reads the bytes from user space.
 */
#define TG_READ_BUF	1	/* read(2), recvfrom(2): buf, len */
#define TG_READ_IOV	2	/* readv(2): iov, iovcnt */
#define TG_READ_MSG	3	/* recvmsg(2): msghdr */
#define TG_WIN		256	/* bytes copied from user space at once */

struct tg_task {
	__u64 file;		/* struct file * of the read's descriptor */
	__u64 buf;		/* user address: buffer, iovec or msghdr */
	__u64 len;		/* buffer length or iovec count */
	__u32 kind;		/* TG_READ_* */
	__u32 pad;		/* zero */
	__u64 ubuf;		/* buffer being parsed: user address */
	__u32 seg_len;		/* its bytes */
	__u32 off;		/* bytes of it parsed or skipped */
	__u32 win_off;		/* offset of win[0] in it */
	__u32 win_len;		/* bytes in win */
	__u32 calls;		/* requests completed in this receive */
	__s32 ev;		/* TG_HTTP_EV_DESYNC or _OTHER: stop */
	__u8 win[TG_WIN];	/* bytes of the buffer */
};
_Static_assert(sizeof(struct tg_task) == 64 + TG_WIN, "tg_task is ABI");

/*
 * TLS: the stream a TLS client socket's server writes, through hooks on
 * the TLS library's SSL_write and SSL_write_ex (uprobes, bpf/tls.bpf.h).
 * Uprobes cannot reach socket storage, so a TLS connection's parser state
 * lives in tg_ssl, keyed by the process and its SSL object, and holds the
 * socket's peer slot, filled in by the receive hook when the handshake
 * (SSL_do_handshake) reads the socket.
 */
struct tg_ssl_key {
	__u64 ssl;		/* SSL * in the process */
	__u32 tgid;		/* the process */
	__u32 pad;		/* zero */
};
_Static_assert(sizeof(struct tg_ssl_key) == 16, "tg_ssl_key is ABI");

struct tg_ssl {
	__u64 cookie;		/* socket cookie of the connection */
	__u32 peer_slot;	/* as tg_sock.peer_slot */
	__u32 peer_epoch;	/* as tg_sock.peer_epoch */
	struct tg_peer_key peer;/* as tg_sock.peer */
	struct tg_http http;	/* response counting (tg_resp_byte) */
};
_Static_assert(sizeof(struct tg_ssl) == 56, "tg_ssl is ABI");

/* Per-thread: the SSL_write and the handshake in flight (task-local
 * storage). */
struct tg_tls_task {
	__u64 ssl;		/* SSL * of the write; 0: none in flight */
	__u64 buf;		/* user address of its buffer */
	__u64 written;		/* SSL_write_ex: user address of the count */
	__u64 hs;		/* SSL * of the handshake; 0: none */
};
_Static_assert(sizeof(struct tg_tls_task) == 32, "tg_tls_task is ABI");

/*
 * Wire bytes of a packet that may be a GSO or GRO super-packet: every
 * segment after the first repeats the headers. @len is the IP length of the
 * packet, @segs its segment count (0 or 1 for a plain packet), @hdr_len the
 * IP plus transport header length repeated in each segment.
 */
static inline __u64 tg_wire_bytes(__u32 len, __u32 segs, __u32 hdr_len)
{
	if (segs <= 1)
		return len;
	return (__u64)len + (__u64)(segs - 1) * hdr_len;
}

#endif /* TOLLGATE_METER_H */
