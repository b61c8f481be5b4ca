/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * classify.h - the classify stage: the traffic type of a peer's bytes,
 * which decides whether they are billed, and the service, tenant and
 * backend they belong to.
 *
 * Inbound bytes (client to gateway, backend to gateway) are never billed.
 * Outbound bytes to a client are always billed. Outbound bytes to a
 * backend are billed by where the backend is, as seen from the gateway's
 * own provider and region:
 *
 *   http backend (or a peer no `backends` entry names):
 *     outbound_backend_intranet             our cloud, our region, intranet
 *                                           address: free
 *     outbound_backend_public_same_region   our cloud, our region, public
 *                                           address: billed
 *     outbound_backend_other_region         our cloud, another region:
 *                                           billed
 *     outbound_backend_internet             not our cloud: billed
 *   scf backend (serverless function):
 *     outbound_scf_same_region              our cloud, our region: free
 *     outbound_scf_other_region             anything else: billed
 *
 * The traffic types and their names are one table, classify/traffic.h.
 *
 * Flags. A peer that the configuration does not fully explain is flagged,
 * and is never free because of a guess: only the two "free" rows above
 * are free, and only when every fact they need is known. Flags describe
 * the peer, not the direction, so both directions of one peer carry the
 * same flags (inbound bytes stay unbilled). The flags, most serious first:
 *
 *   unexplained      the facts are known but no billing rule covers them:
 *                    an intranet address of another region or of another
 *                    cloud, or a scf backend outside our cloud; billed as
 *                    other_region (our cloud) or internet / scf_other_region
 *   no_region        the address's region decides but no rule names one
 *                    (e.g. a `networks` entry without region): billed as
 *                    other_region
 *   no_provider      the address's cloud decides but no rule names one:
 *                    billed as internet (http) or scf_other_region
 *   unknown_backend  a backend-role peer that no `backends` entry names:
 *                    classified as http by its address (so an intranet
 *                    address of our region stays free), no tenant
 *   unknown_service  a client-role peer on a local port that no `services`
 *                    entry names, for the host its connection named (or
 *                    for none): still outbound_client, no tenant
 */
#ifndef TOLLGATE_CLASSIFY_H
#define TOLLGATE_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "classify/config.h"
#include "classify/traffic.h"

/* tg_class.flags, most serious first; stable names: flag_name(). */
#define TG_FLAG_UNEXPLAINED	0x01
#define TG_FLAG_NO_REGION	0x02
#define TG_FLAG_NO_PROVIDER	0x04
#define TG_FLAG_UNKNOWN_BACKEND	0x08
#define TG_FLAG_UNKNOWN_SERVICE	0x10
#define TG_NR_FLAGS		5

/* What classify() found. Strings point into the configuration and live
 * as long as it does; they are "" when unknown, never NULL. */
struct tg_class {
	enum tg_traffic type;
	bool billable;
	bool flagged;			/* flags != 0 */
	__u32 flags;			/* TG_FLAG_* */
	const char *reason;		/* name of the most serious flag; "" */
	enum tg_network network;	/* of the peer's address */
	enum tg_kind kind;		/* backend-role peers; else http */
	const char *provider;		/* of the peer's address */
	const char *region;		/* of the peer's address */
	const char *service;		/* services/backends entry */
	const char *tenant;		/* services/backends entry */
	const char *backend;		/* backends entry name */
	const char *host;		/* the services entry's host; "" */
	/* What decided, for classify_why(); NULL when none. */
	const struct tg_rule *rule;
	const struct tg_backend *be;
	const struct tg_service *svc;
	/* The question asked. */
	__u8 addr[16];
	__u16 port;
	__u8 proto;
	__u8 role;
	bool out_dir;
	__u32 svc_id;			/* the service id the peer's
					 * connection named (tg_peer_key.svc) */
};

/*
 * Classify the bytes of one peer in one direction. @role: TG_ROLE_CLIENT
 * (@port is the local frontend port, looked up in `services` with @proto,
 * 0 for any, and @svc, the service id of the host the connection named, 0
 * for none: config_service_of()) or TG_ROLE_BACKEND (@port is the
 * backend's port, looked up in `backends` by address and port, then by
 * address alone). @addr is 16 bytes, IPv4 mapped. @out_dir: gateway to
 * peer. Fills @res. Returns 0, or -EINVAL for another role. Fast enough to
 * call per peer per scrape: no allocation, no formatting.
 */
int classify(const struct tg_config *cfg, __u8 role, const __u8 addr[16],
	     __u16 port, __u8 proto, __u32 svc, bool out_dir,
	     struct tg_class *res);

/*
 * The bytes out of a client-role billing key whose peers are not known
 * (their overflow bucket): always outbound_client, the service and tenant
 * of frontend @port and @proto for service id @svc, flagged
 * unknown_service when no entry names it. No address, so no network,
 * provider or region. Fills @res.
 */
void classify_frontend(const struct tg_config *cfg, __u16 port, __u8 proto,
		       __u32 svc, struct tg_class *res);

/*
 * One line for a human saying why @res came out as it did: the peer, the
 * services/backends entry, the address rule (prefix, file and line) and
 * the facts that decided. Returns @buf.
 */
const char *classify_why(const struct tg_config *cfg,
			 const struct tg_class *res, char *buf, size_t len);

/* Stable name of the flag @bit (one TG_FLAG_* value); NULL if not one. */
const char *flag_name(__u32 bit);

/* The names of @flags, comma separated ("" for none). Returns @buf. */
const char *flags_str(__u32 flags, char *buf, size_t len);

#endif /* TOLLGATE_CLASSIFY_H */
