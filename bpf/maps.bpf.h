/* SPDX-License-Identifier: GPL-2.0 */
/*
 * maps.bpf.h - the count stage, in the kernel: every map of the meter and
 * every global the loader sets, defined once for all its parts (bytes.bpf.h,
 * calls.bpf.h, tls.bpf.h, closed.bpf.h) and for each build of it
 * (meter.bpf.c, the benchmark's bench*.bpf.c).
 *
 * The maps are the pinned-map ABI of include/meter.h: their names, types,
 * key and value layouts and sizes are what a running agent's pins hold, and
 * a new agent reuses them only if they match. The loader resizes tg_peer_idx,
 * tg_peer_cnt, tg_slot and tg_free to max_peers, tg_free_be to
 * backend_peers.
 */
#ifndef TOLLGATE_MAPS_BPF_H
#define TOLLGATE_MAPS_BPF_H

#include "meter.h"
#include "sock_storage.bpf.h"

/* Set by the loader between open and load. */
const volatile __u32 max_peers = 16384;
const volatile __u32 backend_peers = 2048;	/* the last slots: backends' */
const volatile __u16 eph_lo = 32768;	/* net.ipv4.ip_local_port_range */
const volatile __u16 eph_hi = 60999;
const volatile __u8 calls_on = 1;	/* 0: tollgate run --no-calls */

/* Names: the HPACK Huffman decoder's table (include/names.h), set by the
 * loader (tg_huff_build()). */
const volatile __u32 tg_huff[TG_HUFF_ENTRIES];
#define TG_HUFF_FSM tg_huff

/* A read the compiler may not merge with an earlier one: a field another
 * CPU changes. */
#define TG_READ_ONCE(x) (*(volatile typeof(x) *)&(x))

/* Syscall numbers of this architecture, set by the loader. */
const volatile __s64 nr_read = -1;
const volatile __s64 nr_readv = -1;
const volatile __s64 nr_recvfrom = -1;
const volatile __s64 nr_recvmsg = -1;

/* Bytes: the peer hash, from a peer's key to its slot in tg_peer_cnt. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);	/* resized to max_peers */
	__type(key, struct tg_peer_key);
	__type(value, __u32);		/* slot in tg_peer_cnt */
} tg_peer_idx SEC(".maps");

/* Bytes and calls: the per-peer counters, by day bank, the billing
 * record. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 16384);	/* resized to max_peers */
	__type(key, __u32);
	__type(value, struct tg_banked);
} tg_peer_cnt SEC(".maps");

/* Bytes: which peer holds each slot (include/meter.h, struct tg_slot). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 16384);	/* resized to max_peers */
	__type(key, __u32);
	__type(value, struct tg_slot);
} tg_slot SEC(".maps");

/* Bytes: client slots user space reclaimed, to hand out again once
 * next_slot has passed the clients' range. */
struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, 16384);	/* resized to max_peers */
	__type(value, __u32);
} tg_free SEC(".maps");

/* Bytes: the same for backend slots, once next_backend has passed
 * backend_peers. */
struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, 2048);	/* resized to backend_peers */
	__type(value, __u32);
} tg_free_be SEC(".maps");

/* Traffic whose peer could not get a slot, by its billing key, by day bank:
 * every tenant's totals stay exact when detail is lost. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct tg_bill_key);
	__type(value, struct tg_banked);
} tg_overflow SEC(".maps");

/* The last resort, per role, by day bank: packets without a full socket
 * (role 0), and billing keys tg_overflow had no room for. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TG_NR_ROLES);
	__type(key, __u32);
	__type(value, struct tg_banked);
} tg_ovf_role SEC(".maps");

/* The reclaim epoch and the day boundaries, from user space. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tg_clock);
} tg_clock SEC(".maps");

/* Bytes, per CPU: the last packet a listener's ingress run counted, so
 * that the kernel's second run of that packet is not counted again
 * (bytes.bpf.h, heard_again()). */
struct tg_heard {
	__u64 ns;		/* when; 0: nothing to compare with */
	__u32 len;		/* its skb->len */
	__u32 n;		/* bytes of head held: 40 or 60 */
	__u32 head[15];		/* its first n bytes, from the IP header */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tg_heard);
} tg_heard SEC(".maps");

/* The meter's own counters, TG_STAT_*. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TG_NR_STATS);
	__type(key, __u32);
	__type(value, __u64);
} tg_stats SEC(".maps");

/* Identity of the maps and the peer slot allocator. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tg_meta);
} tg_meta SEC(".maps");

/* TLS: the metered cgroup, set by the loader: only its threads' SSL_read
 * calls are followed. */
struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} tg_cgroup SEC(".maps");

/* Calls, per thread: the SSL_write being parsed and the parser's window.
 * Task storage, for the hooks of SSL_write may be preempted and another
 * thread's run on the same CPU must not take the window; and not the BPF
 * stack, so that the verifier sees the parser loop as one state, not one
 * per byte. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct tg_task);
} tg_task SEC(".maps");

/* Calls, per CPU: the same for the receive program. A tracepoint's
 * programs run with preemption off (and the kernel does not run one
 * program again on a CPU where it is running), so a run has the CPU's
 * copy to itself from start to end; a per-CPU array's lookup is a few
 * instructions, where task storage's is a helper call. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tg_task);
} tg_recv_task SEC(".maps");

/* TLS: an SSL object's link to its socket, and the state of the response
 * parser of the stream it encrypts. An LRU hash: a link is not a counter (tls.bpf.h says how a lost
 * one is counted). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct tg_ssl_key);
	__type(value, struct tg_ssl);
} tg_ssl SEC(".maps");

/* TLS, per thread: the SSL_write and the handshake in flight. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct tg_tls_task);
} tg_tls_task SEC(".maps");

/* TLS: calls counted on a socket's peer that its own row (socket storage,
 * which uprobes cannot reach) gets at the socket's next receive, by
 * socket cookie. Socket rows are no billing record: an LRU hash. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u64);
} tg_tls_pend SEC(".maps");

/* Names: the hash of every configured host (and each port's own entry)
 * to its service id, from user space (classify/hosts.h). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct tg_name_key);
	__type(value, struct tg_name_val);
} tg_names SEC(".maps");

/* Names: tg_names' settings, from user space. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tg_names_cfg);
} tg_name_cfg SEC(".maps");

/* Names: where the names of a client socket's stream stand (socket
 * storage, made at the first receive of a socket whose names are read). */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct tg_name_sk);
} tg_name_sk SEC(".maps");

/* Names that matched no host, the most recent: a list for the operator
 * (dump, metrics), an LRU hash since it is no billing record. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 256);
	__type(key, struct tg_unmatched_key);
	__type(value, struct tg_unmatched);
} tg_unmatched SEC(".maps");

/* Names: the TCP handshakes counted on a listener, held for their
 * connection's first name (names.bpf.h). An array: a slot is never freed,
 * so a packet that counts into one as it is taken loses nothing. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TG_STASH_SLOTS);
	__type(key, __u32);
	__type(value, struct tg_stash);
} tg_stash SEC(".maps");

/* Add one to the meter's counter @idx (TG_STAT_*). */
static __always_inline void stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&tg_stats, &idx);

	if (v)
		__sync_fetch_and_add(v, 1);
}

/* Closed connections: a metered TCP connection's 4-tuple to the peer key
 * its packets counted in, kept from when its socket leaves ESTABLISHED
 * (closed.bpf.h). An LRU hash: an entry is no counter, and the oldest
 * closes are the first forgotten. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, TG_CLOSED_MAX);
	__type(key, struct tg_conn_key);
	__type(value, struct tg_closed);
} tg_closed SEC(".maps");

/* Closed connections, per CPU: the segment the kernel just answered with a
 * reset on behalf of a TIME_WAIT socket, so that freeing it does not take
 * it for one that was acknowledged. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} tg_closed_rst SEC(".maps");

#endif /* TOLLGATE_MAPS_BPF_H */
