/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * book.h - the ledger stage's first step: book each interval's classified
 * usage into the ledger's day rows.
 *
 * Every interval the agent makes the usage rows of its snapshot
 * (collect/usage.h: each kernel counter set, classified once) and hands
 * them to book_commit(), which
 *
 *   1. keys every row's counters by its raw kernel key and a direction:
 *      the struct tg_peer_key of a peer, or the role of an overflow
 *      bucket;
 *   2. takes the delta of each key against the last snapshot the ledger
 *      committed (ledger_delta(): a new boot, new maps or a counter that
 *      went down count from zero, never negative, never twice), which may
 *      span more than one interval after a failed commit or a restart;
 *   3. gives each delta the classification its row has now, under the
 *      configuration in force, so a reload that re-classifies a peer
 *      moves its next bytes to the new day row and neither loses nor
 *      repeats any;
 *   4. sums the deltas per day row (host, day, tenant, service, backend,
 *      traffic type) and commits rows and snapshot in one transaction.
 *
 * Overflow buckets have no address: they are booked with no tenant,
 * service or backend, as the usage stage classifies them, and their
 * outbound bytes are unexplained_bytes. So the ledger's bytes always add
 * up to the kernel's totals.
 *
 * The kernel counts into a bank per natural day, by the day boundaries
 * the agent gives it ahead of time (collect/upkeep.h), so each bank's deltas
 * are booked on the day that bank holds, however late they are read.
 * Intervals still end at each midnight (book_next()), so that the
 * summary and the metrics change days on time.
 */
#ifndef TOLLGATE_BOOK_H
#define TOLLGATE_BOOK_H

#include <stdbool.h>
#include <time.h>
#include <linux/types.h>

#include "collect/usage.h"
#include "ledger/ledger.h"
#include "ledger/tz.h"

/* Snapshot key kinds: the first byte of every key. Keys of another kind,
 * written by an agent of maps before day banks, never match: those maps
 * are another generation, whose counters all start again from zero. */
#define BOOK_KEY_SOURCE		'U'	/* then dir, bank, struct usage_src */

#define BOOK_IN		0	/* peer to host */
#define BOOK_OUT	1	/* host to peer */

struct book;

struct book_opts {
	const char *ledger;	/* path of the ledger, created if missing */
	const char *host;	/* the host's name in the day rows */
	const char *boot_id;	/* NULL: /proc/sys/kernel/random/boot_id */
	const char *time_zone;	/* the ledger's days; NULL: an existing
				 * ledger's, Asia/Shanghai for a new one */
	bool start_unseen;	/* the counts of maps this ledger never saw,
				 * made before it was opened, are its
				 * starting point: not booked (see
				 * book_commit()) */
};

/*
 * Open the ledger at @o->ledger for booking (creating it and its
 * directory, in @o->time_zone when new; an existing ledger in another
 * zone is refused, one of any zone taken when @o->time_zone is NULL),
 * lock it against a second agent and read its last snapshot. Returns 0
 * and sets *@out, or -EINVAL (a bad host name), -EBUSY (another agent
 * books into this ledger), or what ledger_open() returns; says
 * why through pr_warn().
 */
int book_open(struct book **out, const struct book_opts *o);

/* Close the ledger (NULL is fine). */
void book_close(struct book *b);

/* The ledger booking writes to. */
struct ledger *book_ledger(const struct book *b);

/*
 * Book the usage rows @l, made from snapshot @s, as the interval that
 * ended at @due. Each bank's deltas go to the day that bank holds (the
 * kernel chose the bank when it counted), so the day of every byte does
 * not depend on when the agent reads. When the ledger holds another
 * snapshot than the one in memory (another writer), the deltas are
 * computed again from the stored one. Nothing is lost when it fails: the
 * next commit covers this interval too. Returns 0, or -Exxx from
 * ledger_delta(), ledger_commit() or the days' arithmetic.
 *
 * With @o->start_unseen, the first commit on maps that this ledger never
 * saw (it holds no snapshot, or one of other maps or another boot) and
 * that were made before book_open() (their creation time is earlier:
 * another agent's maps, or an earlier install's) stores their counters as
 * the ledger's snapshot and books none of them, and says so: what they
 * counted before is not this ledger's, and booking it would bill it twice
 * when another ledger booked it already. Maps made since, by this agent's
 * start, counted nothing before and are booked whole.
 */
int book_commit(struct book *b, const struct usage_list *l,
		const struct snapshot *s, time_t due);

/* The ledger's time zone, whose natural days the kernel's banks are. */
const struct tz *book_tz(const struct book *b);

/*
 * When the interval that starts at @t should end: @t + @interval seconds,
 * or the next midnight of the ledger's time zone if that comes first.
 */
time_t book_next(const struct book *b, time_t t, __u32 interval);

#endif /* TOLLGATE_BOOK_H */
