/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * status.h - the export stage's health report of the meter, from what
 * outlives the agent: the pins, the kernel maps behind them, the ledger.
 * See status.c for the checks and their levels.
 */
#ifndef TOLLGATE_STATUS_H
#define TOLLGATE_STATUS_H

#include <stdbool.h>
#include <stdio.h>
#include <linux/types.h>

#include "collect/snapshot.h"
#include "lib/util.h"

enum level { ST_OK, ST_WARN, ST_FAIL };

struct check {
	const char *name;
	enum level level;
	char detail[600];
};

#define NR_CHECKS 7

/*
 * The peer slots and what found none, as the maps say: used, reclaiming,
 * free and unused add up to the capacity.
 */
struct status_slots {
	bool known;		/* the maps were read */
	__u32 capacity;		/* --max-peers */
	__u32 used;		/* a peer holds it */
	__u32 reclaiming;	/* quiet, its last counts not booked yet */
	__u32 free;		/* reclaimed, to be handed out again */
	__u32 unused;		/* never handed out */
	__u64 reclaimed;	/* slots reclaimed, ever */
	__u64 failed_inserts;	/* packets whose peer found no slot */
	__u32 backend_capacity;	/* of capacity, the slots kept for
				 * backends (--backend-peers) */
	__u32 backend_held;	/* of used and reclaiming, backends' */
	struct tg_counters overflow[TG_NR_ROLES][OVF_NR];
};

struct status {
	struct check c[NR_CHECKS];
	int nr;
	bool attached;
	struct status_slots slots;
};

/*
 * Make every check of the meter pinned under @pin_dir and of the ledger
 * at @ledger (NULL: the agent books none), written every @interval
 * seconds by its agent, into @st.
 * Returns whether none failed.
 */
bool status_check(struct status *st, const char *pin_dir, const char *ledger,
		  __u32 interval);

/* The slots and overflow of snapshot @s, into @sl. */
void status_slots_of(const struct snapshot *s, struct status_slots *sl);

/* Print @st (@ok: what status_check() returned) as a table or JSON; the
 * JSON has the slots and the overflow as numbers too. */
void status_print(FILE *f, const struct status *st, bool ok,
		  enum out_format fmt);

#endif /* TOLLGATE_STATUS_H */
