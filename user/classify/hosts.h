/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * hosts.h - the classify stage's host names: the `host` of a services
 * entry, the service id the kernel counts its traffic under, the table of
 * name hashes the kernel looks the names it reads up in, and the order in
 * which they match.
 *
 * A host is a name ("api.example.com") or a wildcard ("*.example.com":
 * any name under example.com, not example.com itself), compared without
 * regard to case. Each distinct host has a service id: the FNV-1a 32 of
 * its lower-case text, never 0 (0 is "by port alone"), the same in every
 * agent and across reloads, so that the ids in the kernel's keys keep
 * their meaning while the configuration around them changes. Entries that
 * name the same host on different ports share its id; the port in the key
 * tells them apart.
 *
 * A name read on local port P takes, first that matches:
 *   1. an entry with that exact host on port P;
 *   2. an entry with the longest matching wildcard on port P;
 *   3. port P's entry without a host (the name takes service id 0);
 *   4. an entry with that exact host and no port;
 *   5. an entry with the longest matching wildcard and no port.
 * A name that none matches takes id 0 too, and is "unmatched": the port's
 * entry without a host, if any, else unknown_service.
 */
#ifndef TOLLGATE_HOSTS_H
#define TOLLGATE_HOSTS_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "meter.h"

struct tg_config;
struct tg_service;

/* A host as configured, normalized. */
struct host_pattern {
	char text[TG_NAME_MAX + 3];	/* lower case, "*." kept */
	bool wildcard;
	__u8 labels;		/* of the name, or of the wildcard's suffix */
	__u64 hash;		/* the kernel's key: tg_name.hash, or
				 * tg_name_suffix() of the suffix */
	__u32 svc;		/* the service id */
};

/*
 * Read the host @s ("name" or "*.suffix": letters, digits, '-' and '_' in
 * labels of 1 to 63 characters, 253 in all, a trailing dot dropped; a
 * wildcard's suffix of at most TG_NAME_LABELS labels) into @h. Returns 0,
 * or -EINVAL with @why saying what is wrong.
 */
int host_parse(const char *s, struct host_pattern *h, const char **why);

/* One entry of the kernel's names table (tg_names). */
struct host_entry {
	struct tg_name_key key;
	struct tg_name_val val;
};

/*
 * The names table of @cfg for the kernel: every host of every services
 * entry (on its port, or any), and an entry of kind TG_NAME_PORT for each
 * port that has hosts or an entry without one; into *@out (free() it), and
 * the table's settings into @ncfg (gen left 0). Returns the number of
 * entries, or -ENOMEM.
 */
int hosts_table(const struct tg_config *cfg, struct host_entry **out,
		struct tg_names_cfg *ncfg);

/* Whether @cfg has any host, so that names are read at all. */
bool hosts_any(const struct tg_config *cfg);

/* How hosts_resolve() matched. */
enum host_via {
	HOST_NONE = 0,		/* no host matched: unmatched */
	HOST_EXACT_PORT,	/* 1: exact host on the port */
	HOST_WILD_PORT,		/* 2: wildcard on the port */
	HOST_PORT_ALONE,	/* 3: the port's entry without a host */
	HOST_EXACT_ANY,		/* 4: exact host, no port */
	HOST_WILD_ANY,		/* 5: wildcard, no port */
	HOST_BAD,		/* not a host name: unmatched */
};

/*
 * The service id the kernel gives name @name (as a client sent it: any
 * case, a port, a trailing dot) read on local port @port under @cfg, in
 * the order above; 0 for HOST_NONE, HOST_PORT_ALONE and HOST_BAD. @via
 * says how. For `tollgate classify --host`; the kernel does the same
 * lookups in tg_names (bpf/names.bpf.h).
 */
__u32 hosts_resolve(const struct tg_config *cfg, const char *name,
		    __u16 port, enum host_via *via);

/* "exact host on port", ... for explanations. */
const char *host_via_name(enum host_via via);

#endif /* TOLLGATE_HOSTS_H */
