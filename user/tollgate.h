/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * tollgate.h - interfaces between the user-space parts of tollgate.
 *
 * The data path in user space is: meter.c loads, attaches and pins the BPF
 * programs and reads their maps into a snapshot; dump.c prints snapshots;
 * run.c drives the agent. util.c and log.c serve them all.
 */
#ifndef TOLLGATE_H
#define TOLLGATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>

#include "meter.h"

#define TG_DEFAULT_PIN_DIR "/sys/fs/bpf/tollgate"
#define TG_DEFAULT_MAX_PEERS 16384
#define TG_MAX_PEERS_LIMIT (1u << 24)

/* log.c */
enum {
	LOG_WARN,
	LOG_INFO,
	LOG_DEBUG,
	LOG_LIBBPF,	/* libbpf's own debug output: -vv */
};

extern int log_level;

void log_setup(int verbosity);
void pr_log(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define pr_warn(...) pr_log(LOG_WARN, __VA_ARGS__)
#define pr_info(...) pr_log(LOG_INFO, __VA_ARGS__)
#define pr_debug(...) pr_log(LOG_DEBUG, __VA_ARGS__)

/* util.c */
int parse_u32(const char *s, __u32 min, __u32 max, __u32 *out);
int parse_u64(const char *s, __u64 min, __u64 max, __u64 *out);
int parse_endpoint(const char *s, __u8 addr[16], __u16 *port,
		   const char **why);
const char *fmt_addr(const __u8 addr[16], char *buf, size_t len);
const char *fmt_bytes(__u64 v, char *buf, size_t len);
const char *fmt_count(__u64 v, char *buf, size_t len);
const char *proto_name(__u8 proto);
const char *role_name(__u8 role);
void json_string(FILE *f, const char *s);
void csv_string(FILE *f, const char *s);
int cgroup2_mount(const char *mounts, char *buf, size_t len);
int ephemeral_ports(const char *path, __u16 *lo, __u16 *hi);

/* meter.c: the kernel meter's lifecycle */
struct meter;

struct meter_opts {
	const char *pin_dir;	/* NULL: nothing pinned or reused (tests) */
	__u32 max_peers;	/* 0: the pinned maps' size, else default */
	bool no_calls;		/* count bytes only, not API calls */
};

int meter_load(struct meter **out, const struct meter_opts *opts);
int meter_attach(struct meter *m, const char *cgroup);
int meter_resumed(const struct meter *m);
void meter_free(struct meter *m);
void meter_abandon(struct meter *m);
int meter_detach(const char *pin_dir, bool quiet);
int meter_old_tracers(const char *pin_dir);
int meter_prog_fds(const struct meter *m, int fds[3]);
int meter_tls_attach(struct meter *m, const char *path, bool named);
int meter_tls_scan(struct meter *m);

/* tls.c: the TLS libraries of the metered processes */
bool tls_is_libssl(const char *path);
bool tls_maps_libssl(const char *maps, char *out, size_t len);
void tls_scan(const char *cgroup, void (*cb)(const char *path, void *arg),
	      void *arg);

/* meter.c: reading the maps, from a loaded meter or from the pins */
struct peer_rec {
	struct tg_peer_key key;
	struct tg_counters c;
};

struct snapshot {
	struct peer_rec *peers;
	size_t nr_peers;
	struct tg_sock *socks;
	size_t nr_socks;
	bool have_socks;
	struct tg_counters overflow[TG_NR_ROLES];
	__u64 stats[TG_NR_STATS];
	struct tg_meta meta;
	__u32 capacity;		/* max_entries of the peer maps */
};

struct view {
	int peer_idx;
	int peer_cnt;
	int sock;
	int overflow;
	int stats;
	int meta;
	int ncpus;
};

int view_open_pinned(struct view *v, const char *pin_dir);
int view_from_meter(struct view *v, const struct meter *m);
void view_close(struct view *v);
int snapshot_read(const struct view *v, struct snapshot *s, bool sockets);
void snapshot_free(struct snapshot *s);
void snapshot_totals(const struct snapshot *s, struct tg_counters *total);

/* socks.c: the live sockets' counters, into s->socks */
int socks_read(const struct view *v, struct snapshot *s);

/* dump.c */
enum dump_by {
	BY_PEER,
	BY_SOCKET,
	/* Views that add up the peers' rows by their classification. */
	BY_BACKEND,
	BY_SERVICE,
	BY_TENANT,
	BY_TRAFFIC,
};
enum dump_format { FMT_TABLE, FMT_JSON, FMT_CSV };

struct tg_config;

struct dump_opts {
	enum dump_by by;
	enum dump_format fmt;
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

int format_parse(const char *s, enum dump_format *out);
int dump_by_parse(const char *s, enum dump_by *out);
const char *dump_by_name(enum dump_by by);
int dump_print(FILE *f, struct snapshot *s, enum dump_by by,
	       enum dump_format fmt, bool raw);
int dump_write(FILE *f, struct snapshot *s, const struct dump_opts *o);
int dump_aggregate(const struct snapshot *s, const struct tg_config *cfg,
		   enum dump_by by, struct dump_group **out, size_t *nr,
		   struct dump_group *total);
void dump_sort_peers(struct snapshot *s);
void json_flags(FILE *f, __u32 flags);

/* privs.c: what the agent gives up once attached */
struct privs {
	__u32 uid;
	__u32 gid;
	bool set;	/* --user given */
};

int privs_parse_user(const char *spec, struct privs *p);
int privs_drop(const struct privs *p, int probe_fd);

/* commands */
int cmd_run(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_detach(int argc, char **argv);
int cmd_ledger(int argc, char **argv);
int cmd_rate(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_classify(int argc, char **argv);
int cmd_check_config(int argc, char **argv);

#endif /* TOLLGATE_H */
