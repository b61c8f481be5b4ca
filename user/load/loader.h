/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * loader.h - the load stage: the kernel meter's lifecycle.
 *
 * meter_load() opens the BPF object, reuses or creates the pinned maps
 * and loads the programs; meter_attach() attaches them to a cgroup v2
 * directory through links pinned beside the maps, taking over the links
 * of an earlier agent atomically; meter_tls_*() hook SSL_write and the
 * handshake in the TLS library of each metered process; the tracers of
 * closed connections are attached and pinned like the calls tracer, with
 * or without calls; meter_detach() removes it all. The pins, not the
 * agent, keep the kernel counting. Pin names are the ABI's
 * (include/meter.h).
 */
#ifndef TOLLGATE_LOADER_H
#define TOLLGATE_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "meter.h"

#define TG_DEFAULT_PIN_DIR "/sys/fs/bpf/tollgate"
#define TG_MAX_PEERS_LIMIT (1u << 24)

struct meter;

/* Peer slots when none are asked for: as many as 64 MiB of counters hold
 * on this host's CPUs, 1024 to 1048576. */
__u32 meter_default_peers(void);

/* Of @max_peers slots, those kept for backends when none are asked for:
 * an eighth, at least one, leaving clients at least one. */
__u32 meter_default_backend_peers(__u32 max_peers);

struct meter_opts {
	const char *pin_dir;	/* NULL: nothing pinned or reused (tests) */
	__u32 max_peers;	/* 0: the pinned maps' size, else
				 * meter_default_peers() */
	__u32 backend_peers;	/* of those, kept for backends; 0: the
				 * pinned maps', else
				 * meter_default_backend_peers() */
	bool no_calls;		/* count bytes only, not API calls */
	__u32 max_tls_procs;	/* processes whose TLS is hooked at most;
				 * 0: TG_TLS_MAX_PROCS */
	bool tls_exported;	/* hook SSL_write and SSL_write_ex at
				 * their entries, never at their common
				 * callee (load/tlssite.h) */
};

/*
 * Open and load the meter: reuse the maps pinned under @opts->pin_dir
 * (refusing those of another ABI version), or create and pin them. Says
 * why when it fails. Returns 0 and *@out, or -Exxx.
 */
int meter_load(struct meter **out, const struct meter_opts *opts);

/*
 * Attach the programs to cgroup v2 directory @cgroup, taking over the
 * pinned links of an earlier agent without a gap. Returns 0 or -Exxx.
 */
int meter_attach(struct meter *m, const char *cgroup);

/*
 * Put the names table @e (@n entries, classify/hosts.h hosts_table()) and
 * its settings @ncfg into the kernel: entries not in @e are removed, and
 * tg_name_cfg.gen moves on so that no socket trusts a name it looked up
 * in the old table. Returns 0 or -errno.
 */
struct tg_name_key;
struct tg_name_val;
int meter_set_names(struct meter *m, const struct tg_name_key *keys,
		    const struct tg_name_val *vals, size_t n,
		    const struct tg_names_cfg *ncfg);

/* Whether meter_attach() took over pinned links (1) or made them (0). */
int meter_resumed(const struct meter *m);

/* Release the process's handles; pinned links and maps stay. */
void meter_free(struct meter *m);

/* Release, and remove the pins this meter created (a start that failed). */
void meter_abandon(struct meter *m);

/*
 * Remove every pin under @pin_dir, and the directory: the programs are
 * detached and the counters freed. @quiet: no summary line. Returns 0 or
 * -Exxx (what could be removed is).
 */
int meter_detach(const char *pin_dir, bool quiet);

/* How many syscall-entry tracers of an older agent are pinned under
 * @pin_dir. */
int meter_old_tracers(const char *pin_dir);

/* The descriptor of the loaded map @name (TG_MAP_*), or -ENOENT. */
int meter_map_fd(const struct meter *m, const char *name);

/* The kernel's run-time statistics of the byte-counting programs. */
#define METER_NR_PROGS 3	/* ingress, egress, sockops */

struct meter_prog_stat {
	const char *name;	/* "ingress", "egress", "sockops" */
	__u64 run_time_ns;	/* 0 unless kernel.bpf_stats_enabled */
	__u64 run_cnt;
};

/* Program descriptors, in link order (ingress, egress, sockops). */
int meter_prog_fds(const struct meter *m, int fds[METER_NR_PROGS]);

/* Read the programs' statistics into @out. Returns 0 or -errno. */
int meter_prog_stats(const struct meter *m,
		     struct meter_prog_stat out[METER_NR_PROGS]);

/*
 * The tracers of closed connections (bpf/closed.bpf.h), as bits: the
 * reset tracer and the drop tracer. sock_ops remembers the connections
 * they count for.
 */
#define TG_CLOSED_RESET		0x1
#define TG_CLOSED_DROP		0x2
#define METER_CLOSED_TPS	2

struct btf;

/* How many arguments raw tracepoint @tp passes its programs according to
 * the kernel BTF @btf; 0 when it has no such tracepoint. */
int meter_tp_args(const struct btf *btf, const char *tp);

/* The TG_CLOSED_* tracers that can run when their tracepoints
 * (tcp_send_reset, kfree_skb) pass @args arguments (0: no such
 * tracepoint). */
unsigned int meter_closed_parts(const int args[METER_CLOSED_TPS]);

/* The most processes whose TLS is hooked at once by default (6 uprobes
 * each; meter_opts.max_tls_procs), and the most files remembered (named,
 * or without SSL_write). */
#define TG_TLS_MAX_PROCS 256
#define TG_TLS_MAX_FILES 64

/*
 * Name the library or executable at @path (@named: by the configuration,
 * so that a missing file is worth a warning): every metered process that
 * maps it gets its TLS hooked, whatever the file is called. Returns 0 or
 * -errno.
 */
int meter_tls_attach(struct meter *m, const char *path, bool named);

/* Hook the TLS of every process of the metered cgroup that is not hooked
 * yet (SSL_write, SSL_write_ex and SSL_do_handshake in its libssl or
 * executable, for that process only), and unhook those that are gone.
 * Returns 0. */
int meter_tls_scan(struct meter *m);

/* Processes hooked, and processes the cap left unhooked in the last
 * scan. */
void meter_tls_count(const struct meter *m, size_t *hooked, size_t *capped);

#endif /* TOLLGATE_LOADER_H */
