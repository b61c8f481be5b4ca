/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * dump.h - the export stage's counter dumps: a snapshot as a table, JSON
 * or CSV, per peer, per socket, or added up by backend, service, tenant
 * or traffic type.
 */
#ifndef TOLLGATE_DUMP_H
#define TOLLGATE_DUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>

#include "collect/snapshot.h"
#include "collect/usage.h"
#include "lib/util.h"

struct tg_config;

enum dump_by {
	BY_PEER,
	BY_SOCKET,
	/* Views that add up the peers' rows by their classification. */
	BY_BACKEND,
	BY_SERVICE,
	BY_TENANT,
	BY_TRAFFIC,
};

struct dump_opts {
	enum dump_by by;
	enum out_format fmt;
	bool raw;			/* exact integers in tables */
	bool wide;			/* every classification column */
	const struct tg_config *cfg;	/* NULL: no classification (peer and
					 * socket views only) */
};

/*
 * One row of an aggregate view (BY_BACKEND, BY_SERVICE, BY_TENANT,
 * BY_TRAFFIC): the peers of one role whose classification has the same
 * @key, or an overflow bucket.
 */
struct dump_group {
	__u8 role;		/* TG_ROLE_* */
	bool overflow;		/* an overflow bucket, not peers */
	const char *key;	/* backend, service, tenant or traffic type;
				 * "" when the peers have none; NULL when
				 * unknown (overflow) */
	size_t peers;
	struct tg_counters c;
	__u64 billable_bytes;	/* bytes_out of a billed traffic type */
	__u64 free_bytes;	/* bytes_out of a free traffic type */
};

/* Parse a --by value. Returns 0 or -EINVAL. */
int dump_by_parse(const char *s, enum dump_by *out);

/* The name of @by ("peer", "traffic_type", ...); NULL when out of range. */
const char *dump_by_name(enum dump_by by);

/*
 * Print @s to @f as @o says. Peers (or sockets, or groups) are sorted
 * busiest first. Returns 0, -EINVAL for an aggregate view without a
 * configuration, -ENOMEM, or -EIO when the stream reports an error.
 */
int dump_write(FILE *f, struct snapshot *s, const struct dump_opts *o);

/* dump_write() without a configuration: counters only. */
int dump_print(FILE *f, struct snapshot *s, enum dump_by by,
	       enum out_format fmt, bool raw);

/*
 * Add up usage rows @l (collect/usage.h) by @by (BY_BACKEND, BY_SERVICE,
 * BY_TENANT or BY_TRAFFIC): one group per role and key, one per overflow
 * bucket, busiest first. Keys point into the configuration the rows were
 * classified with. *@total gets the sum of all groups, which is everything
 * counted. Returns 0 with *@out to free(), -EINVAL for another @by, or
 * -ENOMEM.
 */
int dump_aggregate(const struct usage_list *l, enum dump_by by,
		   struct dump_group **out, size_t *nr,
		   struct dump_group *total);

/* Busiest first; ties in a stable order of role, protocol, port,
 * address. */
void dump_sort_peers(struct snapshot *s);

/*
 * When peer @p's counters start: the Unix time its slot was handed out,
 * from the slot's monotonic clock and the snapshot's two clocks; 0 when
 * the slot does not say.
 */
__s64 dump_peer_since(const struct snapshot *s, const struct peer_rec *p);

/* When the maps were made, and the overflow buckets' counters start:
 * Unix time, 0 when unknown. */
__s64 dump_maps_since(const struct snapshot *s);

/* @t (Unix time) as "2026-12-05T06:40:22Z" into @buf; "-" for 0. */
const char *dump_fmt_time(__s64 t, char *buf, size_t len);

/* @flags (TG_FLAG_*) as a JSON array of their names, most serious first. */
void json_flags(FILE *f, __u32 flags);

/* @proto as JSON: its name as a string ("tcp"), or its number when it has
 * none. Every JSON output writes protocols so. */
void json_proto(FILE *f, __u8 proto);

#endif /* TOLLGATE_DUMP_H */
