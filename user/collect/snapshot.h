/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * snapshot.h - the collect stage's input: the kernel meter's counters,
 * read from its maps.
 *
 * A view holds descriptors of the maps (opened from the pins, or borrowed
 * from a loaded meter); snapshot_read() sums the per-CPU counters of every
 * peer slot, overflow bucket and statistic into a snapshot, and on request
 * lists the live sockets' counters. Nothing here classifies: that is the
 * usage stage's (collect/usage.h).
 */
#ifndef TOLLGATE_SNAPSHOT_H
#define TOLLGATE_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "meter.h"

struct meter;

/* A peer slot that holds a peer (TG_SLOT_USED, or LIMBO while reclaimed). */
struct peer_rec {
	struct tg_peer_key key;
	__u32 slot;		/* its slot number */
	__u32 gen;		/* the slot's tg_slot.gen */
	__u32 state;		/* TG_SLOT_USED or TG_SLOT_LIMBO */
	__u64 since_ns;		/* CLOCK_MONOTONIC when the slot was handed
				 * out */
	struct tg_counters c;	/* every bank added up */
	struct tg_counters bank[TG_NR_BANKS];
};

/* An overflow bucket: of a billing key, or the last resort of a role. */
struct bucket_rec {
	struct tg_bill_key key;	/* last resort: key.role only */
	bool last_resort;	/* tg_ovf_role's bucket of key.role */
	struct tg_counters c;	/* every bank added up */
	struct tg_counters bank[TG_NR_BANKS];
};

struct snapshot {
	struct peer_rec *peers;
	size_t nr_peers;
	struct bucket_rec *buckets;	/* those that counted anything */
	size_t nr_buckets;
	struct tg_sock *socks;
	size_t nr_socks;
	bool have_socks;
	__u64 stats[TG_NR_STATS];
	struct tg_meta meta;
	struct tg_clock clock;
	__u32 capacity;		/* peer slots (max_entries of tg_peer_cnt) */
	__u32 backend_capacity;	/* of those, the backends' range: the last
				 * ones (include/meter.h) */
	__u32 slots_limbo;	/* of nr_peers, being reclaimed */
	__u32 slots_free;	/* handed out once, free now */
	__s64 taken_at;		/* CLOCK_REALTIME seconds of the read */
	__u64 taken_ns;		/* CLOCK_MONOTONIC ns of the read */
};

struct view {
	int peer_idx;
	int peer_cnt;
	int slot;
	int sock;
	int overflow;
	int ovf_role;
	int stats;
	int meta;
	int clock;
	int free;
	int free_be;
	int ncpus;
};

/* Open the maps pinned under @pin_dir; no programs are needed. Says why it
 * fails. Returns 0 or -errno. */
int view_open_pinned(struct view *v, const char *pin_dir);

/* Borrow the maps of a loaded meter (duplicated descriptors). Returns 0
 * or -EMFILE. */
int view_from_meter(struct view *v, const struct meter *m);

void view_close(struct view *v);

/*
 * Read every counter into @s, and with @sockets the live sockets' too.
 * Returns 0 or -errno; @s must be released with snapshot_free() either
 * way.
 */
int snapshot_read(const struct view *v, struct snapshot *s, bool sockets);
void snapshot_free(struct snapshot *s);

/* Everything counted: every peer and every overflow bucket. */
void snapshot_totals(const struct snapshot *s, struct tg_counters *total);

/* Why bytes are in an overflow bucket. */
enum overflow_reason {
	OVF_NO_SOCKET,		/* a packet without a full socket */
	OVF_NO_SLOT,		/* no peer slot free: by billing key */
	OVF_NO_BUCKET,		/* no room for the billing key either: the
				 * role's last resort */
	OVF_NR
};

/* "no_socket", "no_slot", "no_bucket". */
const char *overflow_reason_name(enum overflow_reason r);

/* Why @b holds what it holds. */
enum overflow_reason bucket_reason(const struct bucket_rec *b);

/* What the overflow buckets of @role counted for reason @r, into @c. */
void snapshot_overflow(const struct snapshot *s, __u8 role,
		       enum overflow_reason r, struct tg_counters *c);

/* Peer slots handed out and not free: held or being reclaimed. */
__u32 snapshot_slots_used(const struct snapshot *s);

/* Of those, the slots of peers of @role (TG_ROLE_*). */
__u32 snapshot_slots_held(const struct snapshot *s, __u8 role);

/* The live sockets' counters, into s->socks (collect/socks.c). Returns 0
 * or -errno. */
int socks_read(const struct view *v, struct snapshot *s);

#endif /* TOLLGATE_SNAPSHOT_H */
