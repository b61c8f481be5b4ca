/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * upkeep.h - the collect stage's writes back into the kernel maps: what
 * the agent tells the kernel between two reads.
 *
 *   - The day table (tg_clock): the starts of today and the next days in
 *     the ledger's time zone, on the kernel's monotonic clock, so that the
 *     kernel counts every byte into the bank of its natural day however
 *     late the agent reads (include/meter.h, day banks).
 *
 *   - Reclaiming peer slots: a slot whose peer was quiet for a while goes
 *     back to the kernel's free list, in the steps include/meter.h
 *     describes (struct tg_slot), so that a public gateway's clients never
 *     use the slots up for good. A slot is freed only after a snapshot read
 *     after its last possible count was booked: no count is lost, and none
 *     reaches another peer. Each step's state is in the pinned maps, so an
 *     agent killed at any instant leaves nothing the next one cannot
 *     finish.
 */
#ifndef TOLLGATE_UPKEEP_H
#define TOLLGATE_UPKEEP_H

#include <stdbool.h>
#include <time.h>
#include <linux/types.h>

#include "collect/snapshot.h"
#include "ledger/tz.h"

#define TG_DEFAULT_RECLAIM_AFTER 300	/* seconds a peer is quiet */

struct upkeep;

/*
 * Look after the maps of view @v (which it borrows: keep the view open).
 * Slots an earlier agent left being reclaimed are brought to where the
 * next booked snapshot frees them. Returns 0 and *@out, or -errno.
 */
int upkeep_open(struct upkeep **out, const struct view *v);
void upkeep_close(struct upkeep *u);

/*
 * Give the kernel the starts of the day Unix time @now is on in @tz and of
 * the TG_NR_DAYS - 1 days after it. Returns 0 or -errno.
 */
int upkeep_days(struct upkeep *u, const struct tz *tz, time_t now);

/*
 * After snapshot @s was read and, when @booked, booked: free the slots
 * that were being reclaimed and whose final counts @s holds; then start
 * reclaiming the slots whose peers counted nothing for @quiet seconds (0:
 * never). Returns the number of slots freed (>= 0), or -errno.
 */
int upkeep_reclaim(struct upkeep *u, const struct snapshot *s, bool booked,
		   __u32 quiet);

/*
 * Wait until every BPF program run that began before the call has ended
 * (an RCU grace period, which the kernel waits for when a map of maps
 * changes). Returns 0 or -errno.
 */
int upkeep_sync(struct upkeep *u);

#endif /* TOLLGATE_UPKEEP_H */
