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

/* 3: tg_stats grew to 11 counters (TLS), and the syscall-entry tracer is
 * pinned as one link per syscall (link_sys_read, ...), which an agent of
 * version 2 would neither use nor remove. */
#define TG_ABI_VERSION 3

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
#define TG_SOCK_TLS_HOOKED	0x10	/* a hooked SSL_read read it: calls
					 * come from the decrypted stream */

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
#define TG_STAT_TLS_HOOKED	9	/* of those, sockets read by a hooked
					 * SSL_read: calls counted decrypted */
#define TG_STAT_TLS_MISS	10	/* SSL_read returns with bytes but no
					 * known socket: calls uncounted */
#define TG_NR_STATS		11

/* Bytes are IP bytes: IP header, extension headers and payload, the way
 * they cross the wire, every GSO segment with its own headers. */
struct tg_counters {
	__u64 bytes_in;		/* IP bytes, peer to host */
	__u64 packets_in;	/* IP packets, peer to host */
	__u64 bytes_out;	/* IP bytes, host to peer */
	__u64 packets_out;	/* IP packets, host to peer */
	__u64 calls;		/* HTTP requests read from the peer
				 * (client sockets) */
};
_Static_assert(sizeof(struct tg_counters) == 40, "tg_counters is ABI");

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
	__u32 pad;		/* zero */
};
_Static_assert(sizeof(struct tg_peer_key) == 24, "tg_peer_key is ABI");

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
	__u32 pad1;		/* zero */
	struct tg_http http;	/* request counting, TG_SOCK_CALLS sockets */
};
_Static_assert(sizeof(struct tg_sock) == 136, "tg_sock is ABI");

#define TG_SLOT_OVERFLOW 0xffffffffu

/* Single entry of tg_meta: identity and the peer slot allocator. */
struct tg_meta {
	__u32 abi_version;	/* TG_ABI_VERSION of whoever created the maps */
	__u32 max_peers;	/* capacity of tg_peer_idx and tg_peer_cnt */
	__u64 next_slot;	/* next free slot in tg_peer_cnt */
	__u64 cgroup_id;	/* cgroup the programs were first attached to */
	__u64 created_ns;	/* CLOCK_REALTIME when the maps were created */
};
_Static_assert(sizeof(struct tg_meta) == 32, "tg_meta is ABI");

/* Map names: 15 characters at most, they are also pin names. */
#define TG_MAP_PEER_IDX	"tg_peer_idx"
#define TG_MAP_PEER_CNT	"tg_peer_cnt"
#define TG_MAP_SOCK	"tg_sock"
#define TG_MAP_OVERFLOW	"tg_overflow"
#define TG_MAP_STATS	"tg_stats"
#define TG_MAP_META	"tg_meta"
#define TG_MAP_CGROUP	"tg_cgroup"
#define TG_MAP_TASK	"tg_task"
#define TG_MAP_SSL	"tg_ssl"
#define TG_MAP_TLS_TASK	"tg_tls_task"
/* Made and read by user space alone: how the agent runs (its
 * configuration, ledger, interval), for the read commands
 * (user/load/agentinfo.h). No program uses it. */
#define TG_MAP_AGENT	"tg_agent"

/* Pin names of the links, beside the maps. */
#define TG_LINK_INGRESS	"link_ingress"	/* cgroup_skb/ingress */
#define TG_LINK_EGRESS	"link_egress"	/* cgroup_skb/egress */
#define TG_LINK_SOCKOPS	"link_sockops"	/* sock_ops */
#define TG_LINK_RECV	"link_recv"	/* the calls tracer on the receive */
#define TG_LINK_TLS	"tls_"		/* SSL_read hooks of one library file:
					 * tls_<dev hex>_<inode>_<hook> */

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
 * TLS: the decrypted stream of a client socket, read through hooks on the
 * TLS library's SSL_read and SSL_read_ex (uprobes, bpf/meter.bpf.c).
 * Uprobes cannot reach socket storage, so a TLS connection's parser state
 * lives in tg_ssl, keyed by the process and its SSL object, and holds the
 * socket's peer slot, filled in by the receive hook whenever SSL_read
 * reads the socket.
 */
struct tg_ssl_key {
	__u64 ssl;		/* SSL * in the process */
	__u32 tgid;		/* the process */
	__u32 pad;		/* zero */
};
_Static_assert(sizeof(struct tg_ssl_key) == 16, "tg_ssl_key is ABI");

struct tg_ssl {
	__u64 cookie;		/* socket cookie of the connection */
	__u64 pending;		/* calls counted on the peer, not yet added
				 * to the socket's own row */
	__u32 peer_slot;	/* as tg_sock.peer_slot */
	__u8 role;		/* TG_ROLE_* of the socket */
	__u8 pad[3];		/* zero */
	struct tg_http http;	/* request counting, decrypted stream */
};
_Static_assert(sizeof(struct tg_ssl) == 40, "tg_ssl is ABI");

/* Per-thread: the SSL_read in flight (task-local storage). */
struct tg_tls_task {
	__u64 ssl;		/* SSL * of the read; 0: none in flight */
	__u64 buf;		/* user address of its buffer */
	__u64 readbytes;	/* SSL_read_ex: user address of the count */
};
_Static_assert(sizeof(struct tg_tls_task) == 24, "tg_tls_task is ABI");

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
