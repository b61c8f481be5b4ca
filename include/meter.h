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
 * tg_peer_key.pad became svc, the service a client connection names (Host,
 * :authority, SNI: tg_names, tg_name_sk, tg_unmatched, tg_stash), and
 * tg_sock holds the socket's service and the bytes that wait for it.
 * TLS calls are counted from what SSL_write encrypts, not from what
 * SSL_read decrypts: tg_ssl holds a response parser, tg_tls_task the
 * SSL_write and handshake in flight, tg_tls_pend the calls a socket's own
 * row has yet to get; the hooks are pinned per process
 * (tls_<pid>_<start>_<hook>). tg_closed remembers the peers of closed
 * connections, for the packets the kernel handles for them
 * (TG_STAT_CLOSED, TG_STAT_CLOSED_LOST).
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
#define TG_SOCK_NAMES		0x20	/* accepted on a port whose services
					 * have host names: its stream's names
					 * (Host, :authority, SNI) are read */

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
#define TG_STAT_NAME_UNMATCHED	14	/* names (requests, SNI) that no
					 * host of the port's services
					 * matched: the port's service */
#define TG_STAT_NAME_LOST	15	/* HTTP/2 requests whose :authority
					 * could not be followed (HPACK
					 * state lost): the connection's
					 * service */
#define TG_STAT_STASH_FULL	16	/* handshakes counted on the port's
					 * service at once: no room to hold
					 * them for their connection's name */
#define TG_STAT_NAME_SWITCH	17	/* requests that moved their
					 * connection to another service
					 * (a proxy pooling connections) */
#define TG_STAT_CLOSED		18	/* packets of connections whose
					 * socket was gone or in TIME_WAIT,
					 * counted (bpf/closed.bpf.h) */
#define TG_STAT_CLOSED_LOST	19	/* closing connections tg_closed
					 * could not remember: the packets
					 * the kernel handles for them after
					 * their socket is gone go uncounted */
#define TG_NR_STATS		20

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
 * the bank of the day a packet or call happens on (a packet's by a
 * coarse clock, a call's by its read's, recv_clock()) against the day
 * boundaries user space writes ahead of time (tg_clock).
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

/* Bytes and packets held for a connection until its service is known. */
struct tg_pend {
	__u64 bytes_in;		/* IP bytes, peer to host */
	__u64 packets_in;
	__u64 bytes_out;	/* IP bytes, host to peer */
	__u64 packets_out;
};
_Static_assert(sizeof(struct tg_pend) == 32, "tg_pend is ABI");

/*
 * Per-socket state, kept in socket-local storage for as long as the socket
 * lives. The kernel frees it with the socket, so it is never a billing
 * record: the per-peer counters are, and they are updated on every packet.
 *
 * @svc is the service the socket's bytes are counted under (its peer key's
 * svc): the connection's first name, then the name of any later request
 * that names another service. Until the first name is read (@wait), the
 * socket's bytes, and those of its handshake on the listener, are held in
 * @pend, and go to that service's peer slot once it is known, or at the
 * latest when the socket closes (bpf/names.bpf.h).
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
	__u32 svc;		/* service its bytes are counted under; a
				 * cached peer of another svc is keyed anew */
	__u32 wait;		/* nonzero while the first name is awaited:
				 * bytes go to @pend (atomic exchange) */
	struct tg_http http;	/* request counting, TG_SOCK_CALLS sockets */
	struct tg_pend pend;	/* counted while waiting, not in a slot */
};
_Static_assert(sizeof(struct tg_sock) == 176, "tg_sock is ABI");

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
 * into the slot: a socket that cached it finds the epoch changed, or the
 * slot no longer USED (a cache read torn between two writes of it), and
 * looks its peer up again, and the lookup no longer finds the slot. The
 * next collection books the slot's final counters under its key; only then
 * is it zeroed, marked FREE and given to tg_free for reuse.
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
#define TG_MAP_RECV_TASK "tg_recv_task"	/* per CPU: the receive's */
#define TG_MAP_SSL	"tg_ssl"
#define TG_MAP_TLS_TASK	"tg_tls_task"
#define TG_MAP_TLS_PEND	"tg_tls_pend"
#define TG_MAP_HEARD	"tg_heard"	/* per CPU, the kernel's alone */
#define TG_MAP_NAMES	"tg_names"	/* name hash -> service id */
#define TG_MAP_NAME_CFG	"tg_name_cfg"	/* tg_names_cfg */
#define TG_MAP_NAME_SK	"tg_name_sk"	/* per client socket */
#define TG_MAP_UNMATCHED "tg_unmatched"	/* names no host matched */
#define TG_MAP_STASH	"tg_stash"	/* handshakes awaiting a name */
#define TG_MAP_CLOSED	"tg_closed"	/* closed connections' peers */
#define TG_MAP_CLOSED_RST "tg_closed_rst"	/* per CPU: the segment the
						 * kernel just reset */

/* Made and read by user space alone: how the agent runs (its
 * configuration, ledger, interval), for the read commands
 * (user/load/agentinfo.h). No program uses it. */
#define TG_MAP_AGENT	"tg_agent"

/* Pin names of the links, beside the maps. */
#define TG_LINK_INGRESS	"link_ingress"	/* cgroup_skb/ingress */
#define TG_LINK_EGRESS	"link_egress"	/* cgroup_skb/egress */
#define TG_LINK_SOCKOPS	"link_sockops"	/* sock_ops */
#define TG_LINK_RECV	"link_recv"	/* the calls tracer on the receive */
#define TG_LINK_CLOSE_RESET "link_close_reset" /* resets the kernel sends */
#define TG_LINK_CLOSE_DROP "link_close_drop"	/* segments it drops */
#define TG_LINK_TLS	"tls_"		/* TLS hooks of one process:
					 * tls_<pid>_<start time>_<hook> */

/*
 * Scratch of the calls tracers for one run (per CPU for the receive
 * program, task-local storage for the TLS hooks): the read behind a
 * socket's receive, taken from the syscall's saved registers, and the
 * window through which the parser reads the bytes from user space.
 */
#define TG_READ_BUF	1	/* read(2), recvfrom(2): buf, len */
#define TG_READ_IOV	2	/* readv(2): iov, iovcnt */
#define TG_READ_MSG	3	/* recvmsg(2): msghdr */
#define TG_WIN		256	/* bytes copied from user space at once */

struct tg_task {
	__u64 now_ns;		/* the receive's time (recv_clock()) */
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
	__u32 run;		/* of them, the last ones not counted yet, */
	__u32 run_svc;		/* all of this service */
	__u32 tflags;		/* TG_TASK_* */
	__u32 pad2;		/* zero */
	__u8 win[TG_WIN];	/* bytes of the buffer */
};
_Static_assert(sizeof(struct tg_task) == 80 + TG_WIN, "tg_task is ABI");

#define TG_TASK_TLS	0x1	/* the stream began with a TLS handshake */

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
 * Names: the service a client connection's requests name. User space gives
 * each host name of the configuration's services (an exact name, or a
 * wildcard's suffix) a service id, and hands the kernel tg_names: from the
 * hash of each name, on a frontend port or on any, to its id. The kernel
 * hashes the names it reads (include/names.h: the Host header and the
 * absolute-form target of HTTP/1.x, :authority in HTTP/2 HPACK, the SNI
 * of a TLS ClientHello) the same way, and looks them up in the order of
 * the configuration's precedence (bpf/names.bpf.h). Service id 0 is "by
 * port alone".
 */
#define TG_NAME_LABELS	8	/* labels of a name kept for wildcards: a
				 * wildcard's suffix has at most this many */
#define TG_NAME_BUF	64	/* bytes of a name kept for the list of
				 * unmatched names */
#define TG_NAME_MAX	253	/* longest host name (RFC 1035) */
/* The HPACK Huffman decoder's table (include/names.h): 256 states of 16
 * entries, a read-only global of the receive program. */
#define TG_HUFF_STATES	256
#define TG_HUFF_ENTRIES	(TG_HUFF_STATES * 16)
/* Slots of tg_stash: TCP handshakes awaiting their connection's name. */
#define TG_STASH_SLOTS	16384
/* A handshake whose connection never came, counted on its port's
 * service after this long (tg_sweep). */
#define TG_STASH_AGE_NS	(120ULL * 1000000000ULL)

/* A host name as it is read, one byte at a time: lower case, without the
 * port or a trailing dot (include/names.h, tg_name_byte()). */
struct tg_name {
	__u64 hash;		/* FNV-1a 64 of the name read so far */
	__u32 lab[TG_NAME_LABELS];	/* FNV-1a 32 of its last labels, by
					 * label number % TG_NAME_LABELS */
	__u32 cur;		/* FNV-1a 32 of the label being read */
	__u8 len;		/* characters hashed, up to 255 */
	__u8 nlab;		/* labels ended, up to 255 */
	__u8 st;		/* TG_NAME_* (include/names.h) */
	__u8 nbuf;		/* bytes in buf */
	__u8 buf[TG_NAME_BUF];	/* the name's first bytes, lower case */
};
_Static_assert(sizeof(struct tg_name) == 112, "tg_name is ABI");

#define TG_HPACK_MEM	8	/* :authority entries of a connection's
				 * dynamic table remembered */

/* Where the HPACK decoder of a client's HTTP/2 stream stands: only what
 * following :authority through the dynamic table needs. */
struct tg_hpack {
	__u32 ins;		/* fields the client inserted into its
				 * dynamic table so far */
	__u32 rem;		/* bytes left of the string being read */
	__u32 val;		/* the integer being read */
	__u32 nhash;		/* FNV-1a 32 of a literal field name */
	__u32 mem_ins[TG_HPACK_MEM];	/* insertion number + 1 of an
					 * :authority entry; 0: none */
	__u32 mem_svc[TG_HPACK_MEM];	/* its service */
	__u16 huff;		/* Huffman decoder state */
	__u8 st;		/* TG_HP_* (include/names.h) */
	__u8 fl;		/* TG_HPF_*: the field being read */
	__u8 shift;		/* bits of val read */
	__u8 mem_next;		/* memory written next */
	__u8 pre;		/* bytes of this frame's prefix left: pad
				 * length, priority */
	__u8 pad;		/* padding bytes at the end of this frame */
	__u8 bfl;		/* TG_HPB_*: the header block */
	__u8 nlen;		/* bytes of a literal field name */
	__u8 reserved[6];	/* zero */
};
_Static_assert(sizeof(struct tg_hpack) == 96, "tg_hpack is ABI");

/* Where the SNI reader of a TLS ClientHello stands, across records and
 * reads. */
struct tg_sni {
	__u32 need;		/* bytes of the field being read left */
	__u32 val;		/* its value, big-endian */
	__u32 left;		/* bytes of the ClientHello left */
	__u16 rec;		/* bytes of the record being read left */
	__u16 rlen;		/* a record header's length */
	__u8 st;		/* TG_SNI_* (include/names.h) */
	__u8 rh;		/* record header bytes read; 5: in a record */
	__u8 reserved[2];	/* zero */
};
_Static_assert(sizeof(struct tg_sni) == 20, "tg_sni is ABI");

/* The names in a client's stream of requests: the request's name and the
 * state of the protocol around it. */
struct tg_req_names {
	struct tg_name n;	/* the name being read */
	union {
		struct tg_hpack hp;	/* HTTP/2 */
		struct tg_sni sni;	/* a TLS ClientHello */
	} u;
	__u32 req_svc;		/* service the request named (TG_REQ_NAMED) */
	__u8 req;		/* TG_REQ_* (include/names.h) */
	__u8 tpos;		/* HTTP/1.x request line: TG_TGT_* */
	__u8 reserved[2];	/* zero */
};
_Static_assert(sizeof(struct tg_req_names) == 216, "tg_req_names is ABI");

/* Per client socket of a port with host names (socket-local storage). */
struct tg_name_sk {
	struct tg_req_names p;	/* the stream's names */
	__u64 last_hash;	/* the last name looked up, */
	__u32 last_svc;		/* its service, */
	__u32 last_gen;		/* under tg_names_cfg.gen: keep-alive
				 * requests repeat their name */
	__u32 sni_svc;		/* the SNI's service; 0: none */
	__u32 reserved;		/* zero */
};
_Static_assert(sizeof(struct tg_name_sk) == 240, "tg_name_sk is ABI");

/* tg_name_key.kind */
#define TG_NAME_EXACT	1	/* a whole name */
#define TG_NAME_WILD	2	/* a wildcard's suffix: "*.example.com" is
				 * the last @labels labels "example.com" */
#define TG_NAME_PORT	3	/* a port's own entry: hash 0 */

struct tg_name_key {
	__u64 hash;		/* EXACT: tg_name.hash; WILD:
				 * tg_name_suffix(); PORT: 0 */
	__u16 port;		/* local frontend port, host order; 0: any */
	__u8 kind;		/* TG_NAME_* */
	__u8 labels;		/* WILD: labels of the suffix; else 0 */
	__u32 pad;		/* zero */
};
_Static_assert(sizeof(struct tg_name_key) == 16, "tg_name_key is ABI");

/* tg_name_val.flags of a TG_NAME_PORT entry */
#define TG_PORT_HOSTS	0x1	/* services of this port have host names */
#define TG_PORT_ALONE	0x2	/* the port has a services entry without a
				 * host: a name none of the port's hosts
				 * match takes it, not a host of any port */

struct tg_name_val {
	__u32 svc;		/* service id; 0 on TG_NAME_PORT entries */
	__u32 flags;		/* TG_PORT_* */
};
_Static_assert(sizeof(struct tg_name_val) == 8, "tg_name_val is ABI");

/* tg_names_cfg.flags */
#define TG_NAMES_ANY_PORT	0x1	/* some host names are of any port */

/* Single entry of tg_name_cfg, written by user space with tg_names. */
struct tg_names_cfg {
	__u32 flags;		/* TG_NAMES_* */
	__u32 gen;		/* raised whenever tg_names changes */
	__u8 max_wild;		/* labels of the longest wildcard suffix */
	__u8 reserved[7];	/* zero */
};
_Static_assert(sizeof(struct tg_names_cfg) == 16, "tg_names_cfg is ABI");

/* Names that matched no host: the most recent ones, for the operator
 * (tg_unmatched, an LRU hash: a list, never a billing record). */
struct tg_unmatched_key {
	__u64 hash;		/* tg_name.hash */
	__u16 port;		/* local frontend port, host order */
	__u16 pad;		/* zero */
	__u32 pad2;		/* zero */
};
_Static_assert(sizeof(struct tg_unmatched_key) == 16,
	       "tg_unmatched_key is ABI");

#define TG_UNM_LONG	0x1	/* longer than TG_NAME_BUF: cut */
#define TG_UNM_BAD	0x2	/* not a host name (a character none has) */
#define TG_UNM_SNI	0x4	/* seen as a TLS SNI */

struct tg_unmatched {
	__u8 name[TG_NAME_BUF];	/* its first bytes, lower case */
	__u8 len;		/* bytes in name */
	__u8 flags;		/* TG_UNM_* */
	__u16 port;		/* as the key's */
	__u32 pad;		/* zero */
	__u64 count;		/* times seen while listed */
	__u64 last_ns;		/* CLOCK_MONOTONIC when last seen */
};
_Static_assert(sizeof(struct tg_unmatched) == 88, "tg_unmatched is ABI");

/*
 * A TCP handshake's packets, counted on the listener before the connection
 * exists, held until the connection's service is known (tg_stash, an
 * array slot by connection: never freed, so that a packet that counts into
 * a slot as it is taken loses nothing; bpf/names.bpf.h).
 */
#define TG_STASH_FREE	0	/* nobody's */
#define TG_STASH_CLAIM	1	/* being filled in */
#define TG_STASH_USED	2	/* holds a handshake */
#define TG_STASH_TAKE	3	/* being emptied */

struct tg_stash {
	__u8 addr[16];		/* the client, IPv4 mapped */
	__u16 cport;		/* its port, host order */
	__u16 lport;		/* the listener's port, host order */
	__u32 state;		/* TG_STASH_* */
	__u64 last_ns;		/* CLOCK_MONOTONIC of its last packet */
	struct tg_pend c;	/* the handshake's bytes and packets */
};
_Static_assert(sizeof(struct tg_stash) == 64, "tg_stash is ABI");

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

/*
 * Closed connections (bpf/closed.bpf.h). When a metered TCP socket leaves
 * ESTABLISHED (sock_ops sees it), tg_closed (an LRU hash of TG_CLOSED_MAX
 * entries) keeps its 4-tuple and the peer key its packets were counted
 * under, so that the packets the kernel still sends and receives for the
 * connection once the socket is gone or in TIME_WAIT (resets, TIME_WAIT
 * acknowledgements, segments that reach no socket) are counted to that
 * peer. An entry holds no counters: losing one loses the packets after a
 * close that would have been found through it, never bytes already
 * counted.
 */
#define TG_CLOSED_MAX	65536

struct tg_conn_key {
	__u8 local_addr[16];	/* this host's address; IPv4 mapped */
	__u8 remote_addr[16];	/* the peer's address; IPv4 mapped */
	__u16 local_port;	/* host order */
	__u16 remote_port;	/* host order */
	__u32 pad;		/* zero */
	__u64 netns;		/* the network namespace's cookie */
};
_Static_assert(sizeof(struct tg_conn_key) == 48, "tg_conn_key is ABI");

struct tg_closed {
	struct tg_peer_key peer;/* the key the socket's packets counted in */
	__u32 oow_ack;		/* the TIME_WAIT socket's time of its last
				 * out-of-window ACK, as last seen
				 * (jiffies, lower 32 bits); 0: none */
	__u32 pad;		/* zero */
};
_Static_assert(sizeof(struct tg_closed) == 32, "tg_closed is ABI");

/* TCP header flags, as in the header's 14th byte. */
#define TG_TCP_FIN	0x01
#define TG_TCP_SYN	0x02
#define TG_TCP_RST	0x04
#define TG_TCP_ACK	0x10

/*
 * IP bytes of a segment the kernel builds without a socket of its own
 * (tcp_v4_send_reset(), tcp_v4_send_ack() and their IPv6 twins): an IP
 * header without options or extension headers, a 20-byte TCP header, and
 * the options the kernel adds: timestamps (@tsecr: the segment echoes a
 * timestamp, 12 bytes aligned) and a TCP-MD5 signature (@md5, 20 bytes
 * aligned). Resets carry no timestamps.
 */
static inline __u32 tg_reply_bytes(int v6, int tsecr, int md5)
{
	return (v6 ? 40 : 20) + 20 + (tsecr ? 12 : 0) + (md5 ? 20 : 0);
}

/*
 * Whether the kernel acknowledged a segment that reached a TIME_WAIT
 * socket (tcp_timewait_state_process() answered TCP_TW_ACK or
 * TCP_TW_ACK_OOW), told from the segment and from what its processing
 * left behind, since no hook sees that acknowledgement leave:
 *
 * - @reset_sent: it was answered with a reset instead (tcp_send_reset
 *   fired for it): no acknowledgement.
 * - @oow_ack_sent: the socket's time of its last out-of-window ACK moved
 *   while the segment was processed. Only a sent acknowledgement moves it:
 *   that is how the kernel rate-limits the acknowledgements of bare and
 *   SYN segments outside the window.
 * - Otherwise a segment that occupies sequence space (data or FIN), has
 *   ACK set and neither SYN nor RST is always acknowledged: the FIN that
 *   ends a half-closed connection (in window), and any retransmitted FIN
 *   or late data (out of window; such segments are never rate-limited).
 *   In window, data other than that FIN is answered with a reset, which
 *   @reset_sent tells.
 *
 * Not told: a SYN that reopens the connection when no listener takes it
 * (acknowledged, taken as not), and two out-of-window acknowledgements of
 * bare segments within one jiffy when net.ipv4.tcp_invalid_ratelimit is 0
 * (the second taken as not).
 */
static inline int tg_tw_acked(__u8 flags, __u32 seq_len, int oow_ack_sent,
			      int reset_sent)
{
	if (reset_sent)
		return 0;
	if (oow_ack_sent)
		return 1;
	return seq_len > 0 && (flags & TG_TCP_ACK) &&
	       !(flags & (TG_TCP_SYN | TG_TCP_RST));
}

#endif /* TOLLGATE_METER_H */
