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

struct peer_rec {
	struct tg_peer_key key;
	struct tg_counters c;
};

struct snapshot {
	struct peer_rec *peers;
	size_t nr_peers;
	struct tg_sock *socks;
	size_t nr_socks;
	bool have_socks;
	struct tg_counters overflow[TG_NR_ROLES];
	__u64 stats[TG_NR_STATS];
	struct tg_meta meta;
	__u32 capacity;		/* max_entries of the peer maps */
};

struct view {
	int peer_idx;
	int peer_cnt;
	int sock;
	int overflow;
	int stats;
	int meta;
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

/* The live sockets' counters, into s->socks (collect/socks.c). Returns 0
 * or -errno. */
int socks_read(const struct view *v, struct snapshot *s);

#endif /* TOLLGATE_SNAPSHOT_H */
