/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * usage.h - the collect stage's classified usage: what the kernel counted,
 * one row per counter set, classified once.
 *
 * The kernel keeps cumulative counters, by day bank, per peer (a slot of
 * the peer map) and per overflow bucket (what no slot could take: by
 * billing key, or the last resort of a role). Every interval the agent
 * reads them into a snapshot (snapshot.h) and hands it to usage_update(),
 * which makes each counter set a usage row:
 *
 *   - its source: the raw kernel key (the peer's with its slot's
 *     generation, the bucket's billing key, or the last resort's role);
 *   - its classification under the configuration in force, made by
 *     usage_classify(), the one function that turns a kernel key into a
 *     traffic type, tenant, service, backend and flags, overflow buckets
 *     included;
 *   - its counters: cumulative, and what it counted since the previous
 *     update.
 *
 * Downstream stages take these rows and never classify on their own: the
 * ledger books them (ledger/book.h) against the snapshot it last
 * committed, the metrics add up their deltas, dump and the terminal
 * summary print and sum them. A new billing dimension is added here, once.
 *
 * Classification looks at the outbound direction: it is the one that may
 * be billed. Bytes in are always TG_TRAFFIC_INBOUND, never billed, with
 * the same tenant, service, backend and flags (usage_type()).
 */
#ifndef TOLLGATE_USAGE_H
#define TOLLGATE_USAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "classify/classify.h"
#include "collect/snapshot.h"
#include "meter.h"

/* What kind of counter set a row is. */
#define USAGE_PEER	0	/* a peer's slot: its key has an address */
#define USAGE_OVERFLOW	1	/* the overflow bucket of a billing key:
				 * key.port, proto, role and svc */
#define USAGE_LAST	2	/* the last resort of key.role (TG_ROLE_NONE:
				 * packets without a socket) */

/*
 * The kernel's key of a counter set: a peer's key, its slot and the
 * slot's generation (each hand-out of a slot is a source of its own: a
 * slot reclaimed and handed out again, and a peer that comes back in
 * another slot, perhaps while its old one still waits to be freed, start
 * from zero), a billing key in the fields of a peer key without an
 * address, or a role. Zero-filled, so that it compares and hashes as
 * bytes.
 */
struct usage_src {
	__u8 kind;			/* USAGE_* */
	__u8 pad[3];			/* zero */
	__u32 gen;			/* USAGE_PEER: the slot's generation */
	__u32 slot;			/* USAGE_PEER: the slot */
	struct tg_peer_key key;
};

/*
 * A counter set's classification. A client billing key's bucket keeps its
 * frontend's service and tenant (classify_frontend()): client bytes are
 * billed by frontend, whatever the address. Every other bucket (a backend
 * port's, a last resort) has no one to bill by name: billed as
 * unattributed bytes (traffic_unattributed(): never free), with no
 * tenant, and counted as unexplained.
 */
struct usage_class {
	bool known;		/* classified by the peer's address; false
				 * for a bucket, which has none */
	bool unexplained;	/* its bytes out count as unexplained_bytes:
				 * flagged, or a bucket without a frontend */
	struct tg_class c;	/* for bytes out; names "" when unknown, never
				 * NULL, and point into the configuration */
};

struct usage_row {
	struct usage_src src;
	struct usage_class cls;
	struct tg_counters total;	/* since the kernel maps were made */
	struct tg_counters bank[TG_NR_BANKS];	/* the same, by day bank */
	struct tg_counters delta;	/* since the previous usage_update() */
	__u32 id;			/* stable while this source has a row,
					 * small: an index for a consumer's
					 * cache of its own */
	__u64 cls_gen;			/* changes whenever cls is made anew,
					 * never repeats: a consumer's cache
					 * of what cls gave is valid while it
					 * holds */
};

struct usage_list {
	struct usage_row *rows;
	size_t nr;
};

/*
 * Classify counter set @src under @cfg into @out. The one place where a
 * kernel key becomes a traffic type, tenant, service, backend and flags.
 * No allocation, no formatting: fast enough for every peer every
 * interval.
 */
void usage_classify(const struct tg_config *cfg, const struct usage_src *src,
		    struct usage_class *out);

/* The traffic type of @r's bytes out (@out) or in (always inbound). */
enum tg_traffic usage_type(const struct usage_row *r, bool out);

/* The rows' counters added up: everything counted. */
void usage_totals(const struct usage_list *l, struct tg_counters *total);

/* The stage's memory between intervals. */
struct usage;

/* A new stage with no previous snapshot. NULL with errno set. */
struct usage *usage_new(void);
void usage_free(struct usage *u);

/*
 * Make the rows of snapshot @s, classified under @cfg, into *@out (valid
 * until the next call or usage_free()). @cfg_gen must change whenever
 * @cfg does (a reload): every row is classified anew then; otherwise a
 * source keeps the classification it had. Each row's delta is what it
 * counted since the previous call; on the first call, and for a source
 * the previous call did not have, it is the cumulative value, so a new
 * agent starts where the pinned counters are. A counter that went down
 * (its slot was made anew) counts from zero: never negative, never twice.
 * Buckets that counted nothing have no row. Returns 0 or -ENOMEM
 * (the stage is then as it was before the call).
 */
int usage_update(struct usage *u, const struct tg_config *cfg,
		 unsigned int cfg_gen, const struct snapshot *s,
		 const struct usage_list **out);

/*
 * The rows of @s classified under @cfg, once, without a previous snapshot
 * (deltas equal totals), into @out; free with usage_list_free(). For the
 * read commands; @cfg NULL leaves the rows unclassified (cls zero), for
 * the counters alone. Returns 0 or -ENOMEM.
 */
int usage_of(const struct tg_config *cfg, const struct snapshot *s,
	     struct usage_list *out);
void usage_list_free(struct usage_list *l);

#endif /* TOLLGATE_USAGE_H */
