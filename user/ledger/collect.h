/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * collect.h - the collection stage: from the kernel's cumulative counters
 * to the ledger's day rows.
 *
 * Every interval the agent reads the counters (snapshot_read()) and hands
 * them to collect_commit(), which
 *
 *   1. keys every counter by the raw kernel key and a direction: the
 *      struct tg_peer_key of a peer row, or the role of an overflow bucket;
 *   2. takes the delta of each key against the last snapshot the ledger
 *      committed (ledger_delta(): a new boot, new maps or a counter that
 *      went down count from zero, never negative, never twice);
 *   3. only then classifies each delta with the configuration in force,
 *      so a reload that re-classifies a peer moves its next bytes to the
 *      new row and neither loses nor repeats any;
 *   4. sums the deltas per day row (host, day, tenant, service, backend,
 *      traffic type) and commits rows and snapshot in one transaction.
 *
 * Overflow buckets have no address: they are booked with no tenant,
 * service or backend, as outbound_client (client and no-socket buckets)
 * or outbound_backend_internet (backend bucket) when out, inbound when in,
 * and their outbound bytes are unexplained_bytes. So the ledger's bytes
 * always add up to the kernel's totals.
 *
 * An interval never spans a midnight of the ledger's time zone:
 * collect_next() ends it at the next midnight, and the interval ending at
 * instant T is booked on the day of T - 1 s.
 */
#ifndef TOLLGATE_COLLECT_H
#define TOLLGATE_COLLECT_H

#include <time.h>
#include <linux/types.h>

#include "classify/config.h"
#include "ledger/ledger.h"
#include "collect/snapshot.h"

/* Snapshot key kinds: the first byte of every key. */
#define COLLECT_KEY_PEER	'P'	/* then dir, struct tg_peer_key */
#define COLLECT_KEY_OVERFLOW	'O'	/* then dir, role */

#define COLLECT_IN	0	/* peer to host */
#define COLLECT_OUT	1	/* host to peer */

struct collect;

struct collect_opts {
	const char *ledger;	/* path of the ledger, created if missing */
	const char *host;	/* the host's name in the day rows */
	const char *boot_id;	/* NULL: /proc/sys/kernel/random/boot_id */
	const char *time_zone;	/* the ledger's days; NULL: an existing
				 * ledger's, Asia/Shanghai for a new one */
};

/*
 * Open the ledger at @o->ledger for collection (creating it and its
 * directory, in @o->time_zone when new; an existing ledger in another
 * zone is refused, one of any zone taken when @o->time_zone is NULL), lock it against a second agent and read its last snapshot.
 * Returns 0 and sets *@out, or -EINVAL (a bad host name), -EBUSY (another
 * agent collects into this ledger), or what ledger_open() returns; says
 * why through pr_warn().
 */
int collect_open(struct collect **out, const struct collect_opts *o);

/* Close the ledger (NULL is fine). */
void collect_close(struct collect *c);

/* The ledger collection writes to. */
struct ledger *collect_ledger(const struct collect *c);

/*
 * Commit the counters @s, read by the agent, as the interval that ended at
 * @due (booked on the natural day of @due - 1), classifying with @cfg. When
 * the ledger holds another snapshot than the one in memory (another writer),
 * the deltas are computed again from the stored one. Nothing is lost when
 * it fails: the next commit covers this interval too. Returns 0, or -Exxx
 * from ledger_delta(), ledger_commit() or day_of().
 */
int collect_commit(struct collect *c, const struct tg_config *cfg,
		   const struct snapshot *s, time_t due);

/*
 * When the interval that starts at @t should end: @t + @interval seconds,
 * or the next midnight of the ledger's time zone if that comes first.
 */
time_t collect_next(const struct collect *c, time_t t, __u32 interval);

#endif /* TOLLGATE_COLLECT_H */
