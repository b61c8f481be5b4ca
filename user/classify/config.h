/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * config.h - the classify stage's configuration: where this gateway runs, what
 * the addresses it talks to are (private or public, which cloud, which
 * region), and which frontend ports and backends belong to which service and
 * tenant. classify.c turns this into a traffic type per peer.
 *
 * The file is YAML (default TG_CONFIG_DEFAULT_PATH). Without one, the
 * built-in configuration serves: the private ranges are the gateway's own
 * intranet, everything else is the public internet.
 *
 * Address rules are looked up by longest prefix, IPv4 and IPv6 alike in
 * one 128-bit space (IPv4 mapped, as everywhere in tollgate). For equal
 * prefixes the first of these wins:
 *   1. a `networks` entry (two entries with the same prefix are an error)
 *   2. a built-in private range, or the built-in catch-all rules
 *      0.0.0.0/0 and ::/0: public, provider "internet", no region
 *   3. the `ranges` files, in the order listed; within one file an entry
 *      that names a region beats one that does not, then the first wins
 * Longest prefix comes first, so a `networks` entry does not hide a longer
 * prefix of a range file inside it: to override one, write that prefix.
 *
 * A loaded configuration is read-only and may be shared between threads.
 */
#ifndef TOLLGATE_CONFIG_H
#define TOLLGATE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "classify/cidr.h"
#include "classify/ranges.h"
#include "lib/tgerr.h"

#define TG_CONFIG_DEFAULT_PATH "/etc/tollgate/tollgate.yaml"

/* Largest configuration file read, in bytes. */
#define TG_CONFIG_MAX_SIZE (16u << 20)

/* File name of the rules that come with tollgate, in tg_rule.file. */
#define TG_BUILTIN "built-in"

/* The provider of addresses outside every cloud. */
#define TG_PROVIDER_INTERNET "internet"

/* How the gateway calls a backend. Stable names: kind_name(). */
enum tg_kind {
	TG_KIND_HTTP = 0,	/* "http": an HTTP service */
	TG_KIND_SCF = 1,	/* "scf": a serverless cloud function */
};

/* Where an address rule comes from. */
enum tg_origin {
	TG_ORIGIN_NETWORKS = 0,	/* a `networks` entry */
	TG_ORIGIN_BUILTIN = 1,	/* built-in private range or catch-all */
	TG_ORIGIN_RANGES = 2,	/* an entry of a `ranges` file */
};

/* What a prefix says about the addresses inside it. */
struct tg_rule {
	struct cidr prefix;
	__u8 network;		/* enum tg_network */
	__u8 origin;		/* enum tg_origin */
	bool own;		/* built-in private range: the gateway's own
				 * provider and region, whatever they are */
	const char *provider;	/* NULL: unknown (or own) */
	const char *region;	/* NULL: unknown (or own) */
	const char *file;	/* where it is written; TG_BUILTIN */
	unsigned int line;	/* 1-based; 0 for built-in rules */
	unsigned int source;	/* TG_ORIGIN_RANGES: index in ranges[] */
};

/*
 * A `services` entry: a frontend port this gateway listens on, a host name
 * its clients' requests name (classify/hosts.h), or both.
 */
struct tg_service {
	__u16 port;		/* local port, host order; 0: any (a host's) */
	__u8 proto;		/* IPPROTO_TCP/UDP/SCTP; 0: any */
	const char *name;
	const char *tenant;	/* "" when not set */
	const char *host;	/* lower case, "*.suffix" for a wildcard;
				 * NULL: by port alone */
	__u32 svc;		/* the host's service id (tg_peer_key.svc);
				 * 0 without a host */
	bool wildcard;		/* host is "*.suffix" */
	__u8 labels;		/* labels of the host, or of the suffix */
	__u64 hash;		/* the host's key in the kernel's table */
	unsigned int line;
};

/* A `backends` entry: an address or prefix the gateway calls. */
struct tg_backend {
	struct cidr prefix;
	__u16 port;		/* remote port, host order; 0: any */
	__u8 kind;		/* enum tg_kind */
	const char *name;
	const char *tenant;	/* "" when not set */
	const char *service;	/* "" when not set */
	unsigned int line;
};

/* A `tls` entry: a TLS library whose SSL_read the meter hooks. */
struct tg_tls_lib {
	const char *library;	/* as opened: relative to the config's folder */
	unsigned int line;
};

/* A `ranges` entry: a cloud IP-range file. */
struct tg_range_src {
	const char *file;	/* as opened: relative to the config's folder */
	__u8 format;		/* enum tg_range_format */
	const char *provider;	/* NULL: csv whose lines name their own */
	size_t nr_prefixes;	/* prefixes that made it into the table */
	unsigned int line;
	unsigned int file_line;	/* where its `file` value is written */
	unsigned int file_column;
};

/* Where a setting's value is written: 1-based line and column; line 0
 * when the setting is absent. */
struct tg_pos {
	unsigned int line;
	unsigned int col;
};

/* A list of names, in file order. */
struct tg_names {
	const char **v;
	size_t nr;
};

/* A `metrics.users` entry: who may scrape, with a bcrypt hash. */
struct tg_metrics_user {
	const char *name;
	const char *hash;	/* crypt(3) hash, "$2b$..." or "$2y$..." */
	unsigned int line;
};

/*
 * The `metrics` section: the Prometheus endpoint of `tollgate run`. The
 * listen address and TLS files are read when the agent starts; users,
 * max_series and the plan take effect on a reload too.
 */
struct tg_metrics_conf {
	bool disabled;			/* enabled: false */
	const char *listen;		/* "ADDR:PORT"; NULL: the default */
	__u32 max_series;		/* 0: the default */
	const char *tls_cert;		/* PEM files; both or neither */
	const char *tls_key;
	struct tg_metrics_user *users;	/* none: no authentication */
	size_t nr_users;
	bool anonymous;			/* no users beyond loopback, on
					 * purpose */
	const char *plan;		/* price plan of the cost gauges;
					 * NULL: the default plan */
	const char *plan_region;	/* NULL: the plan's own prices */
	/* where each value is written, for the checks that need more than
	 * the file (cmd/settings.h) */
	struct tg_pos enabled_at, listen_at, plan_at, plan_region_at,
		tls_cert_at, tls_key_at, users_at;
};

struct tg_config_priv;

struct tg_config {
	const char *path;		/* file loaded, or TG_BUILTIN */
	const char *region;		/* where this gateway runs; "" unset */
	const char *provider;		/* cloud this gateway runs in; "" unset */
	struct tg_pos region_at, provider_at;
	/* `known_regions`, `known_providers`: names the file means though
	 * no price plan or range file knows them (config_check_names()) */
	struct tg_names known_regions;
	struct tg_names known_providers;
	struct tg_rule *rules;		/* networks, built-in, then ranges */
	size_t nr_rules;
	struct tg_service *services;	/* sorted by port, then protocol */
	size_t nr_services;
	struct tg_backend *backends;	/* in file order */
	size_t nr_backends;
	struct tg_range_src *ranges;	/* in file order */
	size_t nr_ranges;
	struct tg_tls_lib *tls;		/* in file order */
	size_t nr_tls;
	struct tg_metrics_conf metrics;
	struct tg_config_priv *priv;	/* lookup tables and strings */
};

/* config_parse() flags */
#define TG_CONFIG_NO_RANGES 0x1	/* check `ranges` but read none of them */

/*
 * Load the YAML configuration at @path. Returns 0 with *@out to release
 * with config_free(); -ENOENT or another -errno when @path cannot be read;
 * -EINVAL when the file, or a range file it names, is wrong; -ENOMEM.
 * On failure @err says where and why.
 */
int config_load(const char *path, struct tg_config **out, struct tg_err *err);

/*
 * config_load() on @len bytes of YAML at @buf (no NUL needed). @name is the
 * file name for errors and the folder that relative range paths start
 * from. @flags: TG_CONFIG_*. Same returns as config_load().
 */
int config_parse(const char *buf, size_t len, const char *name,
		 unsigned int flags, struct tg_config **out,
		 struct tg_err *err);

/*
 * The built-in configuration: private ranges intranet in the gateway's own
 * region, everything else public internet; no region, provider, services
 * or backends. Returns NULL with errno set when out of memory.
 */
struct tg_config *config_default(void);

/*
 * What the agent's --config option does: @path NULL means the default path
 * if that file exists, else the built-in configuration; a @path given must
 * exist. Same returns as config_load().
 */
int config_load_or_default(const char *path, struct tg_config **out,
			   struct tg_err *err);

void config_free(struct tg_config *cfg);

/* The rule that decides for @addr: never NULL, the catch-alls see to it. */
const struct tg_rule *config_match(const struct tg_config *cfg,
				   const __u8 addr[16]);

/*
 * The backend entry for @addr and remote @port: the longest prefix among
 * entries with that port, else the longest among entries without a port.
 * NULL when none.
 */
const struct tg_backend *config_backend(const struct tg_config *cfg,
					const __u8 addr[16], __u16 port);

/* The services entry without a host for local @port and @proto (an
 * entry with that protocol, else one without): the port alone. NULL when
 * none. */
const struct tg_service *config_service(const struct tg_config *cfg,
					__u16 port, __u8 proto);

/*
 * The services entry of a client on local @port and @proto whose
 * connection named service @svc (a host's service id, tg_peer_key.svc):
 * the entry of that host on @port, else the one of that host on any port;
 * for @svc 0 (no host named, or matched), or an id no entry has (a host
 * the configuration no longer names), the port alone (config_service()).
 * NULL when none.
 */
const struct tg_service *config_service_of(const struct tg_config *cfg,
					   __u16 port, __u8 proto, __u32 svc);

/*
 * Check the names that decide a bill and that a typo changes without a
 * word: the regions and providers of the file, against what the plan
 * (@plan, its region ids @plan_regions and names @plan_names, @nr of
 * each; a name may be "") and the range files know.
 *
 * - The gateway's `region` must be a region of the plan, of a range file
 *   or of a `networks` entry, or be listed in `known_regions`: otherwise
 *   no address can be in it, and its intranet traffic is billed as
 *   another region's. While no rule of the gateway's provider names a
 *   region at all, nothing compares with it: that is a warning.
 * - A `networks` entry of the gateway's own provider must name the
 *   gateway's region, one of the plan's or of a range file, or one in
 *   `known_regions`.
 * - A `networks` provider must be the gateway's, `internet`, one of a
 *   `ranges` entry or range file, or be listed in `known_providers`:
 *   otherwise its addresses are another cloud's, billed as internet.
 * - A provider or region that differs from the gateway's only in case is
 *   an error wherever it is written, range files included: names are
 *   compared exactly.
 *
 * The built-in configuration has nothing to check. Returns 0; -EINVAL
 * with @err naming the file, line, column and setting of the first fault;
 * or 1 with a warning in @err, when that is all there is.
 */
int config_check_names(const struct tg_config *cfg, const char *plan,
		       const char *const *plan_regions,
		       const char *const *plan_names, size_t nr,
		       struct tg_err *err);

/* "http", "scf"; "?" when out of range. */
const char *kind_name(enum tg_kind kind);

#endif /* TOLLGATE_CONFIG_H */
