/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * traffic.h - the traffic types: the one table that classification, the
 * ledger, price plans, rating and the metrics all index.
 *
 * A traffic type says where bytes went, as the billing rules
 * (shared/seeds) tell them apart: inbound bytes are never billed; bytes
 * from the gateway to a client always are; bytes from the gateway to a
 * backend by where the backend is, seen from the gateway's own cloud and
 * region. Which seed row each type comes from is in the table
 * (traffic.c), beside its name and whether it is billed.
 *
 * The names are stable: they are JSON fields, Prometheus labels, ledger
 * keys and plan keys. Add new types at the end; never rename or reorder
 * one (the enum's values index prices in plans and bills).
 */
#ifndef TOLLGATE_TRAFFIC_H
#define TOLLGATE_TRAFFIC_H

#include <stdbool.h>
#include <linux/types.h>

enum tg_traffic {
	TG_TRAFFIC_INBOUND = 0,
	TG_TRAFFIC_OUTBOUND_CLIENT,
	TG_TRAFFIC_BACKEND_INTRANET,
	TG_TRAFFIC_BACKEND_PUBLIC_SAME_REGION,
	TG_TRAFFIC_BACKEND_OTHER_REGION,
	TG_TRAFFIC_BACKEND_INTERNET,
	TG_TRAFFIC_SCF_SAME_REGION,
	TG_TRAFFIC_SCF_OTHER_REGION,
	TG_NR_TRAFFIC
};

/* One row of the table. */
struct traffic_type {
	const char *name;	/* stable name, e.g. "outbound_client" */
	bool billed;		/* whether its bytes are billed at all */
	const char *seed;	/* the billing rule it comes from */
};

/* Indexed by enum tg_traffic; TG_NR_TRAFFIC rows (checked in traffic.c). */
extern const struct traffic_type traffic_types[TG_NR_TRAFFIC];

/* Stable name of @t; NULL when out of range. */
const char *traffic_name(enum tg_traffic t);

/* The index (enum tg_traffic value) of the type named @s, or -EINVAL. */
int traffic_index(const char *s);

/* Look up a traffic type by name. Returns 0 or -EINVAL. */
int traffic_parse(const char *s, enum tg_traffic *out);

/* Whether bytes of type @t are billed. */
bool traffic_billable(enum tg_traffic t);

/*
 * The outbound traffic type of bytes whose peer is unknown: the overflow
 * buckets of a full peer map (per role), and packets without a socket
 * (TG_ROLE_NONE). Never a free type: backend bytes are taken as going to
 * the internet, the rest as going to clients.
 */
enum tg_traffic traffic_unattributed(__u8 role);

#endif /* TOLLGATE_TRAFFIC_H */
