/* SPDX-License-Identifier: GPL-2.0 */
/*
 * slots.bpf.h - the count stage, in the kernel: the billing counters every
 * part of the meter counts into. A peer's slot in tg_peer_cnt (found or
 * handed out through tg_peer_idx), the overflow bucket of its billing key
 * when it gets none, the last resort of a role; each kept by day bank,
 * read against tg_clock. bytes.bpf.h counts packets into them, calls.bpf.h
 * and tls.bpf.h calls, names.bpf.h the bytes that waited for a name.
 */
#ifndef TOLLGATE_SLOTS_BPF_H
#define TOLLGATE_SLOTS_BPF_H

#include "maps.bpf.h"

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
 * @now_ns: the caller's clock, for the slot's time (tracing programs may
 * not read the coarse one).
 */
static __always_inline __u32 peer_slot_at(const struct tg_peer_key *key,
					  __u64 now_ns)
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
	s->since_ns = now_ns;
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

static __always_inline __u32 peer_slot(const struct tg_peer_key *key)
{
	return peer_slot_at(key, bpf_ktime_get_coarse_ns());
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

/*
 * Whether slot @slot (plus one), read from a cache, counts @key now: a
 * slot handed out to @key and not being reclaimed. A cache is several
 * fields (a socket's peer, slot and epoch), rewritten without a lock by
 * whichever CPU first meets a new peer (a listener's, an unconnected UDP
 * socket's) or a new epoch, so a reader may take the slot of one write
 * and the key or epoch of another. The slot's own entry settles it: it
 * names one peer from its handing out until a reclaim marks it LIMBO, and
 * the grace periods after that mark wait for the programs that saw it
 * USED (user/collect/upkeep.c).
 */
static __always_inline bool slot_holds(__u32 slot,
				       const struct tg_peer_key *key)
{
	__u32 idx = slot - 1;
	struct tg_slot *s;

	if (!slot || slot == TG_SLOT_OVERFLOW)
		return false;
	s = bpf_map_lookup_elem(&tg_slot, &idx);
	return s && s->state == TG_SLOT_USED && key_eq(&s->key, key);
}

/*
 * Whether a cache of peer @key's slot, @slot (plus one; 0: none) taken in
 * epoch @epoch, counts in epoch @now: taken in it, and either the overflow
 * bucket, which is by billing key (@key's own), or a slot that still
 * holds @key (slot_holds()). For a cache whose key is the peer's own; a
 * socket's, whose key a packet of another peer may not match, is
 * meter_slow()'s test.
 */
static __always_inline bool cache_holds(__u32 slot, __u32 epoch, __u32 now,
					const struct tg_peer_key *key)
{
	return epoch == now &&
	       (slot == TG_SLOT_OVERFLOW || slot_holds(slot, key));
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
 * @epoch: the slot while that cache holds (cache_holds()); else (or with
 * no slot cached: 0) the peer's slot now, made if it has none, or its
 * overflow bucket.
 * Calls are counted where the peer's bytes are, in the bank of the day of
 * @now_ns (CLOCK_MONOTONIC: the receive's, recv_clock()).
 */
static __always_inline void peer_add_calls(const struct tg_peer_key *key,
					   __u32 slot, __u32 epoch,
					   __u64 calls, __u64 now_ns)
{
	struct tg_banked *v;
	struct tg_now n;

	now_at(&n, now_ns);
	if (!cache_holds(slot, epoch, n.epoch, key))
		slot = peer_slot_at(key, now_ns);
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

#endif /* TOLLGATE_SLOTS_BPF_H */
