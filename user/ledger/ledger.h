/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * ledger.h - the ledger stage: the usage ledger, the system of record that
 * bills are rated from, its natural days, and the deltas the agent feeds it.
 *
 * The ledger is an SQLite file (default /var/lib/tollgate/ledger.db) of
 * day rows keyed by (host, day, tenant, service, backend, traffic_type),
 * each holding integer running totals for that day: bytes, packets, calls
 * and unexplained_bytes. Beside them it keeps the last counter snapshot
 * the agent took (opaque keys with cumulative counters, a boot id, a map
 * generation and a sequence number).
 *
 * The agent's loop, every interval and at every midnight of the billing
 * time zone:
 *
 *	ledger_last_snapshot(l, &prev);		(once, after opening)
 *	read the kernel counters into cur; cur.seq = prev.seq + 1
 *	ledger_delta(&prev, &cur, d);		d[i] belongs to cur.ctrs[i]
 *	turn each d[i] into usage rows (classify, day_of(cur.taken_at))
 *	ledger_commit(l, rows, n, &cur);	rows and snapshot, atomically
 *	prev = cur
 *
 * ledger_commit() adds the rows and replaces the snapshot in one
 * transaction, and only if the stored snapshot is still the one the deltas
 * were computed from (seq - 1). A crash at any instant leaves either the
 * old snapshot with the old totals or the new snapshot with the new totals,
 * so the next delta after a restart neither loses nor repeats an interval.
 *
 * A day row is a running total: exported or imported twice, it overwrites
 * and never adds. Days are natural days of one time zone, recorded in the
 * ledger when it is created (default Asia/Shanghai).
 *
 * Functions return 0 or -Exxx and say what failed (lower case, naming the
 * file) through pr_warn(). A file that is not a tollgate ledger, or that
 * is corrupt or truncated, is an error (-EBADMSG, -EPROTO), never an empty
 * ledger.
 */
#ifndef TOLLGATE_LEDGER_H
#define TOLLGATE_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <linux/types.h>

#include "classify/traffic.h"

#define TG_DEFAULT_LEDGER	"/var/lib/tollgate/ledger.db"
#define TG_DEFAULT_TIME_ZONE	"Asia/Shanghai"

#define LEDGER_SCHEMA_VERSION	2	/* 2: change numbers, ship state */
#define LEDGER_APPLICATION_ID	0x54474c47	/* "TGLG" */

/* Sizes of the key's text fields, the terminating NUL included. */
#define LEDGER_NAME_SIZE	128	/* host, tenant, service, backend */
#define LEDGER_TYPE_SIZE	40	/* traffic_type */
#define LEDGER_DAY_SIZE		11	/* "YYYY-MM-DD" */
#define LEDGER_MONTH_SIZE	8	/* "YYYY-MM" */
#define LEDGER_BOOT_ID_SIZE	40	/* /proc/sys/kernel/random/boot_id */
#define LEDGER_SNAP_KEY_MAX	64	/* bytes of an opaque snapshot key */
#define LEDGER_TZ_SIZE		64

/*
 * The key of a day row. backend is "" on client-side rows; tenant and
 * service may be "" when the agent could not attribute the traffic. No
 * field holds a control character; host and day are never empty.
 */
struct ledger_key {
	char host[LEDGER_NAME_SIZE];
	char day[LEDGER_DAY_SIZE];
	char tenant[LEDGER_NAME_SIZE];
	char service[LEDGER_NAME_SIZE];
	char backend[LEDGER_NAME_SIZE];
	char traffic_type[LEDGER_TYPE_SIZE];
};

/*
 * A day row, or a delta to add to one. Every counter is at most INT64_MAX
 * (SQLite's integers are signed). unexplained_bytes is the part of bytes
 * sent to peers that no configuration rule explained: billed all the same,
 * as traffic_type says, but worth a look.
 */
struct ledger_usage {
	struct ledger_key k;
	__u64 bytes;
	__u64 packets;
	__u64 calls;
	__u64 unexplained_bytes;
};

/*
 * Check the fields of @k: known traffic type, a real calendar day, no
 * control characters, host not empty. On error writes "field: message"
 * into @err and returns -EINVAL.
 */
int ledger_key_check(const struct ledger_key *k, char *err, size_t len);

/* One cumulative counter set of the agent's, under an opaque key (for
 * instance a struct tg_peer_key and a direction byte). */
struct ledger_counter {
	__u8 key[LEDGER_SNAP_KEY_MAX];
	__u32 key_len;		/* 1..LEDGER_SNAP_KEY_MAX */
	__u64 bytes;
	__u64 packets;
	__u64 calls;
};

/*
 * A snapshot of cumulative counters. Counters of one boot_id and
 * generation only grow; a new boot (boot_id) or new kernel maps
 * (generation, e.g. tg_meta.created_ns) start them again from zero. seq
 * numbers the snapshots the ledger has stored, from 1; 0 means none.
 */
struct ledger_snap {
	char boot_id[LEDGER_BOOT_ID_SIZE];
	__u64 generation;
	__u64 seq;
	__s64 taken_at;		/* Unix time, seconds */
	struct ledger_counter *ctrs;
	size_t nr;
};

/* Free what ledger_last_snapshot() allocated in @s and zero it. */
void ledger_snap_free(struct ledger_snap *s);

/*
 * Delta between two snapshots, per key of @cur: out[i] is what
 * cur->ctrs[i] counted since @prev (out[i].key is cur's key). @out has
 * room for cur->nr entries. Pure: no I/O.
 *
 * Without a previous snapshot (@prev NULL or prev->seq 0), after a new
 * boot (boot_id differs) or new maps (generation differs), every counter
 * started from zero, so the delta is the current value. Likewise for a key
 * that @prev lacks (a new peer), and for a key any of whose counters went
 * down (its entry was recreated): the whole key counts from zero. A delta
 * is never negative and nothing is counted twice. A key that vanished
 * from @cur contributes nothing: what it counted was counted before.
 *
 * Returns the number of keys that counted from zero for another reason
 * than being new (>= 0), -EINVAL for a duplicate or empty key in either
 * snapshot, or -ENOMEM.
 */
int ledger_delta(const struct ledger_snap *prev, const struct ledger_snap *cur,
		 struct ledger_counter *out);

/* ledger_open() flags */
#define LEDGER_RDONLY	0x1	/* no writes; the file must exist */
#define LEDGER_CREATE	0x2	/* create the file when it does not exist */

struct ledger;

/*
 * Open the ledger at @path. With LEDGER_CREATE a missing file is created
 * with the current schema and time zone @tz (NULL: Asia/Shanghai): built
 * under a temporary name and renamed into place, so a ledger file is
 * either absent or complete. When @tz is not NULL, an existing ledger must
 * count days in that time zone. Every open checks that the file is a
 * tollgate ledger of a known schema version and passes SQLite's
 * quick_check. Read-write opens use WAL mode with synchronous=FULL, so a
 * committed interval survives a power cut.
 *
 * Returns 0 and sets *@out, or: -ENOENT (no file, no LEDGER_CREATE),
 * -EBADMSG (empty, truncated, corrupt, not an SQLite database), -EPROTO
 * (an SQLite database but not a tollgate ledger), -ENOTSUP (a newer schema
 * version), -EINVAL (another time zone), -ENOMEM, -EIO.
 */
int ledger_open(struct ledger **out, const char *path, unsigned int flags,
		const char *tz);

/*
 * A private scratch ledger in a temporary file that SQLite removes on
 * close: a place to merge rows from several ledgers. Returns 0 or -Exxx.
 */
int ledger_open_scratch(struct ledger **out);

/* Close @l (NULL is fine). An open transaction is rolled back. */
void ledger_close(struct ledger *l);

/* The file name and time zone @l was opened with. */
const char *ledger_path(const struct ledger *l);
const char *ledger_time_zone(const struct ledger *l);

/*
 * Read the last stored snapshot into @s (free it with ledger_snap_free()).
 * A ledger that never stored one gives seq 0 and no counters. Returns 0,
 * -EBADMSG when the stored snapshot does not add up, -ENOMEM.
 */
int ledger_last_snapshot(struct ledger *l, struct ledger_snap *s);

/*
 * Commit one interval: add the @nr deltas in @rows to their day rows and
 * store @snap as the last snapshot, in one transaction. @snap->seq must be
 * one more than the stored snapshot's seq, i.e. the deltas were computed
 * from the snapshot the ledger holds. All or nothing.
 *
 * Returns 0, or -ESTALE (the stored snapshot is another; reread it and
 * compute the deltas again), -EINVAL (a bad key or snapshot), -EOVERFLOW
 * (a total would pass INT64_MAX), -EBUSY (another writer held the ledger
 * for too long), -EROFS (opened LEDGER_RDONLY), -EBADMSG (corruption
 * found), -EIO.
 */
int ledger_commit(struct ledger *l, const struct ledger_usage *rows, size_t nr,
		  const struct ledger_snap *snap);

/* How ledger_put() treats a row that exists. */
enum ledger_put_mode {
	LEDGER_REPLACE,		/* the new record wins (import) */
	LEDGER_MAX,		/* field-wise maximum (merging copies) */
};

/*
 * Write day rows outside the agent's intervals, e.g. records imported from
 * other hosts: ledger_begin(), any number of ledger_put(), ledger_end(l,
 * true) to commit or ledger_end(l, false) to roll back. ledger_put() of an
 * existing key replaces or merges the row; it never adds. Each returns 0
 * or -Exxx; ledger_put() checks the key (-EINVAL).
 */
int ledger_begin(struct ledger *l);
int ledger_put(struct ledger *l, const struct ledger_usage *row,
	       enum ledger_put_mode mode);
int ledger_end(struct ledger *l, bool commit);

/* Which rows ledger_scan() visits. since and until filter when neither
 * NULL nor "", tenant when not NULL ("" is the unattributed tenant). Days
 * compare as text: since <= day < until. */
struct ledger_filter {
	const char *since;	/* first day, "YYYY-MM-DD" */
	const char *until;	/* first day not wanted */
	const char *tenant;
};

/*
 * Call @fn for every day row that @f lets through, ordered by day, host,
 * tenant, service, backend and traffic type. A non-zero return from @fn
 * stops the scan and is returned. Returns 0 or -Exxx.
 */
int ledger_scan(struct ledger *l, const struct ledger_filter *f,
		int (*fn)(const struct ledger_usage *row, void *ctx), void *ctx);

/*
 * Like ledger_scan(), but summed over hosts, services and backends: one
 * call per (tenant, day, traffic_type), in that order, with host, service
 * and backend "". Returns 0, -EOVERFLOW, or -Exxx.
 */
int ledger_sum(struct ledger *l, const struct ledger_filter *f,
	       int (*fn)(const struct ledger_usage *row, void *ctx), void *ctx);

/*
 * The fleet ledger's high-water mark. Every write transaction of day rows
 * (a commit, an import) takes the next change number and stamps the rows
 * it writes with it, in the same transaction; shipped_seq is the change
 * number up to which every row reached the fleet ledger. Both live in the
 * file, so an agent that restarts ships what the last one did not.
 * Schema 1 files are upgraded on a read-write open (every row unshipped).
 */
struct ledger_ship {
	__u64 change_seq;	/* last change number given */
	__u64 shipped_seq;	/* rows changed up to this one are shipped */
	__s64 shipped_at;	/* Unix time of the last ship; 0: never */
	__u64 unshipped;	/* rows changed after shipped_seq */
};

/* Read the mark. Returns 0, -ENOTSUP (a schema 1 file opened read-only),
 * -Exxx. */
int ledger_ship_state(struct ledger *l, struct ledger_ship *s);

/*
 * Call @fn for every day row changed after change number @after, and set
 * *@upto to the last change number given, read in the same transaction:
 * once those rows are shipped, ledger_mark_shipped(l, *upto, ...). Returns
 * 0, what @fn returned, -ENOTSUP, -Exxx.
 */
int ledger_scan_changed(struct ledger *l, __u64 after, __u64 *upto,
			int (*fn)(const struct ledger_usage *row, void *ctx),
			void *ctx);

/* Store that rows changed up to @upto are shipped, at Unix time @at. The
 * mark never goes back. Returns 0 or -Exxx. */
int ledger_mark_shipped(struct ledger *l, __u64 upto, __s64 at);

#endif /* TOLLGATE_LEDGER_H */
