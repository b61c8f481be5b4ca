// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * loader.c - the load stage: load the kernel meter, attach it, pin it,
 * detach it.
 *
 * Maps and links are pinned under one directory (default
 * /sys/fs/bpf/tollgate). The pins, not the agent process, keep the programs
 * attached and the counters alive: an agent that exits, crashes or is
 * killed leaves the kernel counting, and the next one reuses the pinned maps
 * and swaps its programs into the pinned links atomically (bpf_link_update),
 * so no packet goes uncounted and none is counted twice. Only
 * `tollgate detach` takes it all down.
 *
 * Reading the counters is the collect stage's (collect/snapshot.c): it
 * needs no programs, only the maps.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "names.h"
#include "lib/log.h"
#include "load/loader.h"
#include "load/tls.h"
#include "load/tlssite.h"
#include "meter.skel.h"
#include "lib/util.h"

#define NR_LINKS 6
/* The first three; then the calls tracer on the receive; then the tracers
 * of closed connections, in the order of meter_closed_parts(). */
#define NR_CGROUP_LINKS 3
#define LINK_RECV 3
#define LINK_CLOSE 4

/* TLS hooks in one process, in the order of tls_progs(). */
#define NR_TLS_PROGS 6

struct tls_proc {
	long pid;
	unsigned long long start;	/* with pid, names the process */
	bool seen;			/* in the last scan */
	struct bpf_link *links[NR_TLS_PROGS];
};

/* A file named in the configuration (hooked in the processes that map it,
 * whatever its name), or found to have no SSL_write to hook. */
struct tls_file {
	dev_t dev;
	ino_t ino;
	bool named;
	bool seen;			/* mapped by a process of the scan */
};

struct meter {
	struct meter_bpf *skel;
	struct bpf_link *links[NR_LINKS];
	char pin_dir[PATH_MAX / 2];	/* empty: not pinned */
	int resumed;			/* links taken over from the pins */
	bool created;			/* no maps were pinned before */
	bool calls;			/* the calls tracers are loaded */
	unsigned int closed;		/* TG_CLOSED_* tracers loaded */
	char cgroup[PATH_MAX / 2];	/* the metered cgroup */
	struct tls_proc *procs;		/* processes whose TLS is hooked */
	size_t nr_procs;
	struct tls_file *files;		/* named, or without SSL_write */
	size_t nr_files;
	size_t capped;			/* processes left unhooked, last scan */
	size_t max_procs;		/* the most processes hooked */
	bool tls_exported;		/* meter_opts.tls_exported */
};

/* Pin names of the links, in the order of link_progs(). */
static const char *const link_names[NR_LINKS] = {
	TG_LINK_INGRESS,
	TG_LINK_EGRESS,
	TG_LINK_SOCKOPS,
	TG_LINK_RECV,
	TG_LINK_CLOSE_RESET,
	TG_LINK_CLOSE_DROP,
};

/*
 * Syscall-entry tracers that agents before 0.2 pinned with their receive
 * tracer, which read the notes these left. They stay as long as that
 * receive tracer is kept from the pins, and go with it.
 */
static const char *const old_entry_links[] = {
	"link_sysenter",   "link_sys_read",    "link_sys_readv",
	"link_sys_recvfrom", "link_sys_recvmsg",
};
#define NR_OLD_ENTRY_LINKS \
	((int)(sizeof(old_entry_links) / sizeof(old_entry_links[0])))

/* Every map that detach removes: this version's, and the names the
 * versions before it pinned. */
static const char *const map_names[] = {
	TG_MAP_PEER_IDX, TG_MAP_PEER_CNT, TG_MAP_SLOT,	   TG_MAP_FREE,
	TG_MAP_FREE_BE,	 TG_MAP_SOCK,	  TG_MAP_OVERFLOW, TG_MAP_OVF_ROLE,
	TG_MAP_STATS,	 TG_MAP_META,	  TG_MAP_CLOCK,	   TG_MAP_CGROUP,
	TG_MAP_TASK,	 TG_MAP_SSL,	  TG_MAP_TLS_TASK, TG_MAP_TLS_PEND,
	TG_MAP_AGENT,	 TG_MAP_HEARD,	  TG_MAP_NAMES,	   TG_MAP_NAME_CFG,
	TG_MAP_NAME_SK,	 TG_MAP_UNMATCHED, TG_MAP_STASH,   TG_MAP_CLOSED,
	TG_MAP_CLOSED_RST, TG_MAP_RECV_TASK,
};

static void link_progs(struct meter_bpf *skel, struct bpf_program **p)
{
	p[0] = skel->progs.tg_ingress;
	p[1] = skel->progs.tg_egress;
	p[2] = skel->progs.tg_sockops;
	p[3] = skel->progs.tg_recv;
	p[4] = skel->progs.tg_close_reset;
	p[5] = skel->progs.tg_close_drop;
}

/* The raw tracepoints of the closed-connection tracers, and the arguments
 * each program reads of them, in the order of the TG_CLOSED_* bits. */
static const struct {
	const char *tp;
	int args;
	const char *lost;
} closed_tps[] = {
	{ "tcp_send_reset", 2, "the resets the kernel answers for closed "
			       "connections are not" },
	{ "kfree_skb", 4, "the segments that reach closed connections, and "
			  "the TIME_WAIT acknowledgements, are not" },
};

/*
 * How many arguments raw tracepoint @tp passes its programs, from its
 * prototype (btf_trace_<tp>, whose first argument is the context) in the
 * kernel's BTF @btf; 0 when there is no such tracepoint.
 */
int meter_tp_args(const struct btf *btf, const char *tp)
{
	const struct btf_type *t;
	char name[128];
	int id;

	if ((size_t)snprintf(name, sizeof(name), "btf_trace_%s", tp) >=
	    sizeof(name))
		return 0;
	id = btf__find_by_name_kind(btf, name, BTF_KIND_TYPEDEF);
	if (id <= 0)
		return 0;
	t = btf__type_by_id(btf, btf__type_by_id(btf, id)->type);
	if (!t || !btf_is_ptr(t))
		return 0;
	t = btf__type_by_id(btf, t->type);
	if (!t || !btf_is_func_proto(t) || btf_vlen(t) < 1)
		return 0;
	return btf_vlen(t) - 1;
}

/*
 * Which closed-connection tracers can run, given the arguments each
 * tracepoint passes (@args, in the order of closed_tps; 0: absent): each
 * needs its tracepoint with the arguments it reads. Returns TG_CLOSED_*
 * bits.
 */
unsigned int meter_closed_parts(const int args[METER_CLOSED_TPS])
{
	unsigned int parts = 0;
	int i;

	for (i = 0; i < METER_CLOSED_TPS; i++)
		if (args[i] >= closed_tps[i].args)
			parts |= 1u << i;
	return parts;
}

/* Load the closed-connection tracers this kernel can run, saying which
 * it cannot. */
static void closed_select(struct meter *m)
{
	struct bpf_program *progs[NR_LINKS];
	int args[METER_CLOSED_TPS] = {}, i;
	struct btf *btf;

	btf = btf__load_vmlinux_btf();
	if (!btf) {
		pr_warn("cannot read the kernel's BTF: the kernel's resets and "
			"the segments it drops for closed connections are not "
			"counted: %s", strerror(errno));
		m->closed = 0;
		goto out;
	}
	for (i = 0; i < METER_CLOSED_TPS; i++)
		args[i] = meter_tp_args(btf, closed_tps[i].tp);
	btf__free(btf);
	m->closed = meter_closed_parts(args);
	for (i = 0; i < METER_CLOSED_TPS; i++) {
		if (m->closed & (1u << i))
			continue;
		if (!args[i])
			pr_warn("this kernel has no %s tracepoint: %s counted",
				closed_tps[i].tp, closed_tps[i].lost);
		else
			pr_warn("this kernel's %s tracepoint passes %d "
				"arguments, not %d: %s counted",
				closed_tps[i].tp, args[i], closed_tps[i].args,
				closed_tps[i].lost);
	}
out:
	link_progs(m->skel, progs);
	for (i = 0; i < METER_CLOSED_TPS; i++)
		bpf_program__set_autoload(progs[LINK_CLOSE + i],
					  m->closed & (1u << i));
}

static int pin_path(char *buf, size_t len, const char *dir, const char *name)
{
	if ((size_t)snprintf(buf, len, "%s/%s", dir, name) >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* How many old syscall-entry tracers (old_entry_links) are pinned under
 * @pin_dir. */
int meter_old_tracers(const char *pin_dir)
{
	char path[PATH_MAX];
	int i, n = 0;

	for (i = 0; i < NR_OLD_ENTRY_LINKS; i++)
		n += !pin_path(path, sizeof(path), pin_dir,
			       old_entry_links[i]) && !access(path, F_OK);
	return n;
}

static bool is_bpffs(const char *path)
{
	struct statfs st;

	return !statfs(path, &st) && st.f_type == BPF_FS_MAGIC;
}

/* Make the pin directory, on a BPF filesystem; mount the usual one if this
 * host has none mounted yet. */
static int ensure_pin_dir(const char *dir)
{
	char parent[PATH_MAX], *slash;
	int err;

	if (is_bpffs(dir))
		return 0;
	snprintf(parent, sizeof(parent), "%s", dir);
	slash = strrchr(parent, '/');
	if (slash && slash != parent)
		*slash = '\0';
	if (!strcmp(parent, "/sys/fs/bpf") && !is_bpffs(parent) &&
	    mount("bpf", parent, "bpf", 0, "mode=0700")) {
		err = -errno;
		pr_warn("cannot mount a BPF filesystem on '%s': %s", parent,
			strerror(-err));
		return err;
	}
	if (!is_bpffs(parent)) {
		pr_warn("'%s' is not on a BPF filesystem (mount -t bpf bpf "
			"/sys/fs/bpf)", dir);
		return -EINVAL;
	}
	if (mkdir(dir, 0700) && errno != EEXIST) {
		err = -errno;
		/* bpffs keeps names with a dot for its own files. */
		pr_warn("cannot create pin directory '%s': %s%s", dir,
			strerror(-err),
			err == -EPERM && strchr(slash ? slash + 1 : dir, '.') ?
				" (the BPF filesystem refuses names with a "
				"dot)" : "");
		return err;
	}
	return 0;
}

/* max_entries of a pinned map; 0 when there is no such pin. */
static int pinned_max_entries(const char *dir, const char *name, __u32 *out)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	char path[PATH_MAX];
	int fd, err;

	*out = 0;
	err = pin_path(path, sizeof(path), dir, name);
	if (err)
		return err;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	err = bpf_obj_get_info_by_fd(fd, &info, &len);
	if (err)
		err = -errno;
	else
		*out = info.max_entries;
	close(fd);
	return err;
}

/*
 * The tg_meta of the maps pinned under @dir into *@out: all zero when none
 * are pinned. Read before loading, so that another version's maps are
 * refused with a word, not with libbpf's mismatch. Returns 0 or -errno.
 */
static int pinned_meta(const char *dir, struct tg_meta *out)
{
	char path[PATH_MAX];
	__u32 zero = 0;
	int fd, err = 0;

	memset(out, 0, sizeof(*out));
	if (pin_path(path, sizeof(path), dir, TG_MAP_META))
		return -ENAMETOOLONG;
	fd = bpf_obj_get(path);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	/* Every version's tg_meta starts with its ABI version, and none is
	 * longer than this one's: the kernel copies what the map holds. */
	if (bpf_map_lookup_elem(fd, &zero, out))
		err = -errno;
	close(fd);
	return err;
}

/*
 * Peer slots by default: as many as 64 MiB of kernel memory holds on this
 * host, between 1024 and 1048576. A slot costs its banked counters on
 * every CPU, plus its entry in tg_slot, the peer hash and tg_free. Besides
 * the counters and tg_slot the kernel charges at most 125 bytes a slot:
 * 8 for the counters' per-CPU pointer, 80 for the hash's element, up to
 * 32 for its buckets (16 bytes each, a power of two of them, so 16 a slot
 * at a power of two and nearly 32 just above one), 4 in tg_free and 0.5
 * in tg_free_be (4 for each of an eighth of the slots). Counting the
 * most keeps the default within the budget.
 */
__u32 meter_default_peers(void)
{
	int ncpus = libbpf_num_possible_cpus();
	__u64 per = (ncpus > 0 ? ncpus : 1) * sizeof(struct tg_banked) +
		    sizeof(struct tg_slot) + 125;
	__u64 n = (64ULL << 20) / per;

	return n < 1024 ? 1024 : n > (1u << 20) ? 1u << 20 : (__u32)n;
}

__u32 meter_default_backend_peers(__u32 max_peers)
{
	__u32 n = max_peers / 8;

	return n ? n : max_peers > 1;
}

static int meta_init(struct meter *m, __u32 max_peers, __u32 backend_peers)
{
	struct tg_meta meta = {};
	struct timespec now;
	__u32 zero = 0;
	int fd = bpf_map__fd(m->skel->maps.tg_meta);

	if (bpf_map_lookup_elem(fd, &zero, &meta))
		return -errno;
	if (meta.abi_version == TG_ABI_VERSION)
		return 0;
	if (meta.abi_version) {
		pr_warn("pinned maps in '%s' have ABI version %u, this tollgate "
			"uses %u: run 'tollgate detach --pin-dir %s' first (it "
			"drops their counters)", m->pin_dir, meta.abi_version,
			TG_ABI_VERSION, m->pin_dir);
		return -EPROTO;
	}
	/* Fresh maps, no program attached yet: nothing races this write. */
	clock_gettime(CLOCK_REALTIME, &now);
	meta.abi_version = TG_ABI_VERSION;
	meta.max_peers = max_peers;
	meta.backend_peers = backend_peers;
	meta.created_ns = now.tv_sec * 1000000000ull + now.tv_nsec;
	if (bpf_map_update_elem(fd, &zero, &meta, BPF_ANY))
		return -errno;
	return 0;
}

/*
 * Open and load the meter. With a pin directory, maps already pinned there
 * are reused (their counters carry on) and new ones are pinned. Returns 0
 * or -errno, with the reason logged.
 */
int meter_load(struct meter **out, const struct meter_opts *opts)
{
	__u32 max_peers = opts->max_peers, pinned = 0;
	__u32 backend_peers = opts->backend_peers;
	struct tg_meta meta = {};
	struct meter *m;
	struct bpf_map *map;
	__u16 lo, hi;
	int err;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;

	if (opts->pin_dir) {
		if (strlen(opts->pin_dir) >= sizeof(m->pin_dir) - 32) {
			err = -ENAMETOOLONG;
			goto fail;
		}
		snprintf(m->pin_dir, sizeof(m->pin_dir), "%s", opts->pin_dir);
		err = ensure_pin_dir(m->pin_dir);
		if (err)
			goto fail;
		err = pinned_meta(m->pin_dir, &meta);
		if (!err && meta.abi_version &&
		    meta.abi_version != TG_ABI_VERSION) {
			pr_warn("the maps pinned in '%s' are of another "
				"tollgate (ABI version %u, this one counts "
				"with %u): stop that agent, which books what it "
				"counted, then 'tollgate detach --pin-dir %s', "
				"then start this one; what crosses the wire "
				"between the two is not counted",
				m->pin_dir, meta.abi_version, TG_ABI_VERSION,
				m->pin_dir);
			err = -EPROTO;
			goto fail;
		}
		err = pinned_max_entries(m->pin_dir, TG_MAP_PEER_IDX, &pinned);
		if (err) {
			pr_warn("cannot read pinned map '%s/%s': %s", m->pin_dir,
				TG_MAP_PEER_IDX, strerror(-err));
			goto fail;
		}
		if (pinned && max_peers && pinned != max_peers) {
			pr_warn("the pinned maps in '%s' hold %u peers, not %u: "
				"drop --max-peers to keep counting in them, or "
				"run 'tollgate detach' first (it drops their "
				"counters)", m->pin_dir, pinned, max_peers);
			err = -EEXIST;
			goto fail;
		}
	}
	if (pinned && backend_peers && backend_peers != meta.backend_peers) {
		pr_warn("the pinned maps in '%s' keep %u peer slots for "
			"backends, not %u: drop --backend-peers to keep "
			"counting in them, or run 'tollgate detach' first (it "
			"drops their counters)", m->pin_dir, meta.backend_peers,
			backend_peers);
		err = -EEXIST;
		goto fail;
	}
	if (!max_peers)
		max_peers = pinned ? pinned : meter_default_peers();
	if (!backend_peers)
		backend_peers = pinned ? meta.backend_peers :
					 meter_default_backend_peers(max_peers);
	if (!backend_peers || backend_peers >= max_peers) {
		pr_warn("--backend-peers %u: must be less than the %u peer "
			"slots in all (--max-peers), clients need one too",
			backend_peers, max_peers);
		err = -EINVAL;
		goto fail;
	}
	m->created = m->pin_dir[0] && !pinned;
	m->tls_exported = opts->tls_exported;
	m->max_procs = opts->max_tls_procs ? opts->max_tls_procs :
					     TG_TLS_MAX_PROCS;

	m->skel = meter_bpf__open();
	if (!m->skel) {
		err = -errno;
		pr_warn("cannot open BPF object: %s", strerror(-err));
		goto fail;
	}
	m->skel->rodata->max_peers = max_peers;
	m->skel->rodata->backend_peers = backend_peers;
	err = ephemeral_ports("/proc/sys/net/ipv4/ip_local_port_range", &lo,
			      &hi);
	if (!err) {
		m->skel->rodata->eph_lo = lo;
		m->skel->rodata->eph_hi = hi;
	} else {
		pr_warn("cannot read the ephemeral port range, assuming "
			"32768-60999: %s", strerror(-err));
	}
	m->skel->rodata->nr_read = SYS_read;
	m->skel->rodata->nr_readv = SYS_readv;
	m->skel->rodata->nr_recvfrom = SYS_recvfrom;
	m->skel->rodata->nr_recvmsg = SYS_recvmsg;
	/* Calls are counted where the kernel announces each receive (the
	 * sock_recv_length tracepoint); without it, bytes still are. */
	if (opts->no_calls) {
		pr_info("API calls are not counted (--no-calls)");
	} else if (libbpf_find_vmlinux_btf_id("sock_recv_length",
					      BPF_TRACE_RAW_TP) > 0) {
		m->calls = true;
	} else {
		pr_warn("this kernel has no sock_recv_length tracepoint: API "
			"calls are not counted, bytes are");
	}
	m->skel->rodata->calls_on = m->calls;
	/* The names of HTTP/2 requests: HPACK's Huffman code, as the
	 * decoder's table. */
	if (tg_huff_build((__u32 *)m->skel->rodata->tg_huff)) {
		err = -EINVAL;
		pr_warn("cannot build the HPACK Huffman decoder's table");
		goto fail;
	}
	bpf_program__set_autoload(m->skel->progs.tg_sweep, m->calls);
	bpf_program__set_autoload(m->skel->progs.tg_recv, m->calls);
	bpf_program__set_autoload(m->skel->progs.tg_ssl_write, m->calls);
	bpf_program__set_autoload(m->skel->progs.tg_ssl_write_ret, m->calls);
	bpf_program__set_autoload(m->skel->progs.tg_ssl_write_ex, m->calls);
	bpf_program__set_autoload(m->skel->progs.tg_ssl_write_ex_ret,
				  m->calls);
	bpf_program__set_autoload(m->skel->progs.tg_ssl_hs, m->calls);
	bpf_program__set_autoload(m->skel->progs.tg_ssl_hs_ret, m->calls);
	/* Byte counting: with or without calls. */
	closed_select(m);
	bpf_map__set_max_entries(m->skel->maps.tg_peer_idx, max_peers);
	bpf_map__set_max_entries(m->skel->maps.tg_peer_cnt, max_peers);
	bpf_map__set_max_entries(m->skel->maps.tg_slot, max_peers);
	bpf_map__set_max_entries(m->skel->maps.tg_free, max_peers);
	bpf_map__set_max_entries(m->skel->maps.tg_free_be, backend_peers);

	if (m->pin_dir[0]) {
		bpf_object__for_each_map(map, m->skel->obj) {
			char path[PATH_MAX];

			if (bpf_map__is_internal(map))
				continue;
			pin_path(path, sizeof(path), m->pin_dir,
				 bpf_map__name(map));
			err = bpf_map__set_pin_path(map, path);
			if (err)
				goto fail;
		}
	}

	err = meter_bpf__load(m->skel);
	if (err) {
		pr_warn("cannot load BPF programs: %s%s", strerror(-err),
			m->pin_dir[0] ? " (if libbpf could not reuse a pinned "
					"map, 'tollgate detach' clears them)" :
					"");
		goto fail;
	}
	err = meta_init(m, max_peers, backend_peers);
	if (err)
		goto fail;
	pr_debug("loaded; peer capacity %u (%u for backends), ephemeral "
		 "ports %u-%u", max_peers, backend_peers,
		 m->skel->rodata->eph_lo, m->skel->rodata->eph_hi);
	*out = m;
	return 0;
fail:
	meter_abandon(m);
	return err;
}

static bool any_link_pinned(const struct meter *m)
{
	char path[PATH_MAX];
	int i;

	if (!m->pin_dir[0])
		return false;
	for (i = 0; i < NR_LINKS; i++)
		if (!pin_path(path, sizeof(path), m->pin_dir, link_names[i]) &&
		    !access(path, F_OK))
			return true;
	return false;
}

static int link_cgroup_id(struct bpf_link *link, __u64 *id)
{
	struct bpf_link_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(bpf_link__fd(link), &info, &len))
		return -errno;
	*id = info.cgroup.cgroup_id;
	return 0;
}

/*
 * The link pinned as link_names[@i], when there is one, into m->links[i]
 * and @path (the pin's path, "" when not pinning). Returns 1 when a pinned
 * link was opened, 0 when there is none, or -errno.
 */
static int open_pinned_link(struct meter *m, int i, char *path, size_t len)
{
	path[0] = '\0';
	if (!m->pin_dir[0])
		return 0;
	pin_path(path, len, m->pin_dir, link_names[i]);
	if (access(path, F_OK))
		return 0;
	m->links[i] = bpf_link__open(path);
	if (!m->links[i]) {
		int err = -errno;

		pr_warn("cannot open pinned link '%s': %s", path,
			strerror(-err));
		return err;
	}
	return 1;
}

/* Pin the new link m->links[@i] at @path, unless @path is "". */
static int pin_new_link(struct meter *m, int i, const char *path)
{
	int err;

	if (!path[0])
		return 0;
	err = bpf_link__pin(m->links[i], path);
	if (err)
		pr_warn("cannot pin link '%s': %s", path, strerror(-err));
	return err;
}

/*
 * Attach tracer @i (the calls tracer, a closed-connection tracer), or keep
 * the one a pinned link holds. A tracing link cannot have its program
 * swapped, and detaching it to attach anew would miss events: the pinned
 * one, of the same layout version, counts into the same maps. Returns 1
 * when it kept the pinned link, 0 when it attached, or a negative error.
 */
static int attach_tracer(struct meter *m, int i, struct bpf_program *prog)
{
	const char *what = bpf_program__name(prog);
	char path[PATH_MAX];
	int err;

	err = open_pinned_link(m, i, path, sizeof(path));
	if (err < 0)
		return err;
	if (err) {
		pr_info("%s: kept pinned link %s", what, path);
		m->resumed++;
		return 1;
	}
	m->links[i] = bpf_program__attach(prog);
	if (!m->links[i]) {
		err = -errno;
		pr_warn("cannot attach %s: %s", what, strerror(-err));
		return err;
	}
	err = pin_new_link(m, i, path);
	if (!err)
		pr_info("%s: attached", what);
	return err;
}

/* Remove the pin of calls tracer @name, if any: with no agent holding it,
 * the link ends. */
static void unpin_tracer(struct meter *m, const char *name)
{
	char path[PATH_MAX];

	if (!m->pin_dir[0] ||
	    pin_path(path, sizeof(path), m->pin_dir, name) ||
	    access(path, F_OK))
		return;
	if (unlink(path))
		pr_warn("cannot remove pinned link '%s': %s", path,
			strerror(errno));
	else
		pr_info("removed pinned link %s: this agent does not use it",
			path);
}

/*
 * Cgroup link @i for program @prog on cgroup @cgfd (inode @ino, path
 * @cgroup): take over the pinned one, swapping in @prog atomically, or
 * attach and pin a new one.
 */
static int attach_cgroup_link(struct meter *m, int i, struct bpf_program *prog,
			      int cgfd, __u64 ino, const char *cgroup)
{
	const char *what = bpf_program__name(prog);
	char path[PATH_MAX];
	__u64 id = 0;
	int err;

	err = open_pinned_link(m, i, path, sizeof(path));
	if (err < 0)
		return err;
	if (err) {
		err = link_cgroup_id(m->links[i], &id);
		if (!err && id != ino) {
			pr_warn("'%s' attaches to another cgroup (id %llu), "
				"not '%s': run 'tollgate detach' first", path,
				(unsigned long long)id, cgroup);
			return -EBUSY;
		}
		if (!err)
			err = bpf_link__update_program(m->links[i], prog);
		if (err) {
			pr_warn("cannot update pinned link '%s': %s", path,
				strerror(-err));
			return err;
		}
		pr_info("%s: took over pinned link %s", what, path);
		m->resumed++;
		return 0;
	}
	m->links[i] = bpf_program__attach_cgroup(prog, cgfd);
	if (!m->links[i]) {
		err = -errno;
		pr_warn("cannot attach %s to cgroup '%s': %s", what, cgroup,
			strerror(-err));
		return err;
	}
	err = pin_new_link(m, i, path);
	if (!err)
		pr_info("%s: attached to cgroup %s", what, cgroup);
	return err;
}

/*
 * Record the metered cgroup (@cgfd, inode @ino) in the maps: in tg_meta
 * for status, and in tg_cgroup, where the calls tracers look for the
 * threads whose reads they follow.
 */
static int record_cgroup(struct meter *m, int cgfd, __u64 ino,
			 const char *cgroup)
{
	struct tg_meta meta;
	__u32 zero = 0;
	int err;

	/*
	 * tg_meta only while no program can run on these maps: a user-space
	 * write of the whole value after attaching could undo a concurrent
	 * next_slot increment, and hand a slot out twice.
	 */
	if (!any_link_pinned(m) &&
	    !bpf_map_lookup_elem(bpf_map__fd(m->skel->maps.tg_meta), &zero,
				 &meta) && !meta.cgroup_id) {
		meta.cgroup_id = ino;
		if (bpf_map_update_elem(bpf_map__fd(m->skel->maps.tg_meta),
					&zero, &meta, BPF_ANY))
			pr_debug("cannot record the cgroup: %s",
				 strerror(errno));
	}
	if (m->calls && bpf_map_update_elem(bpf_map__fd(m->skel->maps.tg_cgroup),
					    &zero, &cgfd, BPF_ANY)) {
		err = -errno;
		pr_warn("cannot record cgroup '%s' for the calls tracers: %s",
			cgroup, strerror(-err));
		return err;
	}
	return 0;
}

/*
 * Tracers pinned by an earlier agent that this one does not use: all of
 * them after --no-calls (sock_ops marks no socket for them any more); the
 * syscall-entry tracers of an older agent once its receive tracer is
 * replaced (they would only cost every syscall of the host a detour),
 * kept while it is kept (@kept: it reads their notes).
 */
static void drop_unused_tracers(struct meter *m, bool kept)
{
	int i;

	if (!m->calls)
		unpin_tracer(m, link_names[LINK_RECV]);
	if (kept && m->pin_dir[0] && meter_old_tracers(m->pin_dir))
		pr_info("calls are counted by the tracers an older tollgate "
			"pinned, which run at every syscall of the host; "
			"'tollgate detach' replaces them");
	for (i = 0; !kept && i < NR_OLD_ENTRY_LINKS; i++)
		unpin_tracer(m, old_entry_links[i]);
}

/*
 * Attach the programs to the cgroup v2 directory @cgroup. Where a pinned
 * link exists it must point at that cgroup, and gets the new program
 * swapped in; otherwise a new link is made (and pinned). Returns 0 or
 * -errno, with the reason logged.
 */
int meter_attach(struct meter *m, const char *cgroup)
{
	struct bpf_program *progs[NR_LINKS];
	struct statfs sfs;
	struct stat st;
	bool kept = false;
	int cgfd, err = 0, i;

	snprintf(m->cgroup, sizeof(m->cgroup), "%s", cgroup);
	cgfd = open(cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cgfd < 0) {
		err = -errno;
		pr_warn("cannot open cgroup '%s': %s", cgroup, strerror(-err));
		return err;
	}
	if (fstatfs(cgfd, &sfs) || sfs.f_type != CGROUP2_SUPER_MAGIC ||
	    fstat(cgfd, &st)) {
		pr_warn("'%s' is not a cgroup v2 directory", cgroup);
		err = -EINVAL;
		goto out;
	}
	err = record_cgroup(m, cgfd, st.st_ino, cgroup);
	if (err)
		goto out;
	/* The tracers first: a socket that sock_ops marks for counting
	 * calls must not have a receive they miss. */
	link_progs(m->skel, progs);
	if (m->calls) {
		err = attach_tracer(m, LINK_RECV, progs[LINK_RECV]);
		if (err < 0)
			goto out;
		kept = err;
	}
	for (i = 0; i < METER_CLOSED_TPS; i++) {
		if (!(m->closed & (1u << i)))
			continue;
		err = attach_tracer(m, LINK_CLOSE + i, progs[LINK_CLOSE + i]);
		if (err < 0)
			goto out;
	}
	err = 0;
	for (i = 0; i < NR_CGROUP_LINKS && !err; i++)
		err = attach_cgroup_link(m, i, progs[i], cgfd, st.st_ino,
					 cgroup);
	if (err)
		goto out;
	/* TLS libraries of the processes already there; later ones are
	 * found by the agent's next scans. */
	meter_tls_scan(m);
	drop_unused_tracers(m, kept);
out:
	close(cgfd);
	return err;
}

static void tls_progs(struct meter_bpf *skel, struct bpf_program **p)
{
	/* The returns first: a call whose entry is seen must have its
	 * return seen too, or its note would stay with the thread. */
	p[0] = skel->progs.tg_ssl_write_ret;
	p[1] = skel->progs.tg_ssl_write_ex_ret;
	p[2] = skel->progs.tg_ssl_hs_ret;
	p[3] = skel->progs.tg_ssl_write;
	p[4] = skel->progs.tg_ssl_write_ex;
	p[5] = skel->progs.tg_ssl_hs;
}

static const char *const tls_funcs[NR_TLS_PROGS] = {
	"SSL_write", "SSL_write_ex", "SSL_do_handshake",
	"SSL_write", "SSL_write_ex", "SSL_do_handshake",
};


int meter_set_names(struct meter *m, const struct tg_name_key *keys,
		    const struct tg_name_val *vals, size_t n,
		    const struct tg_names_cfg *ncfg)
{
	int fd = bpf_map__fd(m->skel->maps.tg_names);
	int cfd = bpf_map__fd(m->skel->maps.tg_name_cfg);
	struct tg_name_key k, next;
	struct tg_names_cfg c = *ncfg, old = {};
	__u32 zero = 0;
	bool more;
	size_t i;
	int err;

	for (i = 0; i < n; i++)
		if (bpf_map_update_elem(fd, &keys[i], &vals[i], BPF_ANY)) {
			err = -errno;
			pr_warn("cannot set the host names in %s: %s",
				TG_MAP_NAMES, strerror(-err));
			return err;
		}
	/* What the new table no longer has: one key at a time from the
	 * start, as deleting the key a walk stands on ends the walk. */
	more = !bpf_map_get_next_key(fd, NULL, &k);
	while (more) {
		more = !bpf_map_get_next_key(fd, &k, &next);
		for (i = 0; i < n; i++)
			if (!memcmp(&keys[i], &k, sizeof(k)))
				break;
		if (i == n)
			bpf_map_delete_elem(fd, &k);
		k = next;
	}
	bpf_map_lookup_elem(cfd, &zero, &old);
	c.gen = old.gen + 1 ? old.gen + 1 : 1;
	if (bpf_map_update_elem(cfd, &zero, &c, BPF_ANY)) {
		err = -errno;
		pr_warn("cannot set %s: %s", TG_MAP_NAME_CFG, strerror(-err));
		return err;
	}
	return 0;
}

/* SSL_write_ex is OpenSSL 1.1.1 and later: a library may lack it. */
#define TLS_OPTIONAL(k) ((k) == 1 || (k) == 4)
/* SSL_write's hooks, which a library hooked at the common callee of
 * SSL_write and SSL_write_ex does without: SSL_write_ex's programs, whose
 * arguments and return are the callee's, go there. */
#define TLS_WRITE(k) ((k) == 0 || (k) == 3)

static int tls_pin(char *buf, size_t len, const struct meter *m, long pid,
		   unsigned long long start, int k)
{
	char name[64];

	snprintf(name, sizeof(name), TG_LINK_TLS "%ld_%llu_%d", pid, start,
		 k);
	return pin_path(buf, len, m->pin_dir, name);
}

static struct tls_file *tls_file_find(struct meter *m, dev_t dev, ino_t ino)
{
	for (size_t i = 0; i < m->nr_files; i++)
		if (m->files[i].dev == dev && m->files[i].ino == ino)
			return &m->files[i];
	return NULL;
}

static struct tls_file *tls_file_add(struct meter *m, dev_t dev, ino_t ino)
{
	struct tls_file *f = tls_file_find(m, dev, ino);

	if (f)
		return f;
	if (m->nr_files >= TG_TLS_MAX_FILES)
		return NULL;
	f = reallocarray(m->files, m->nr_files + 1, sizeof(*f));
	if (!f)
		return NULL;
	m->files = f;
	f = &m->files[m->nr_files++];
	memset(f, 0, sizeof(*f));
	f->dev = dev;
	f->ino = ino;
	return f;
}

/*
 * Name the file @path in the configuration: every metered process that
 * maps it gets its TLS hooked, whatever the file's name (at the next
 * scan, and at once for those running). Returns 0 or -errno.
 */
int meter_tls_attach(struct meter *m, const char *path, bool named)
{
	struct tls_file *f;
	struct stat st;
	int err;

	if (!m->calls)
		return 0;
	if (stat(path, &st)) {
		err = -errno;
		if (named)
			pr_warn("tls: cannot hook '%s': %s", path,
				strerror(-err));
		return err;
	}
	f = tls_file_add(m, st.st_dev, st.st_ino);
	if (!f)
		return -ENOMEM;
	f->named = true;
	pr_info("tls: %s: hooked in every metered process that maps it",
		path);
	meter_tls_scan(m);
	return 0;
}

static void tls_proc_drop(struct meter *m, struct tls_proc *p)
{
	char pin[PATH_MAX];

	for (int k = 0; k < NR_TLS_PROGS; k++) {
		if (m->pin_dir[0] &&
		    !tls_pin(pin, sizeof(pin), m, p->pid, p->start, k))
			unlink(pin);
		bpf_link__destroy(p->links[k]);
		p->links[k] = NULL;
	}
}

/* Take over the hooks an earlier agent pinned for process @p. Returns
 * true when there were any. */
static bool tls_proc_resume(struct meter *m, struct tls_proc *p)
{
	char pin[PATH_MAX];
	bool any = false;

	if (!m->pin_dir[0])
		return false;
	for (int k = 0; k < NR_TLS_PROGS; k++) {
		if (tls_pin(pin, sizeof(pin), m, p->pid, p->start, k) ||
		    access(pin, F_OK))
			continue;
		p->links[k] = bpf_link__open(pin);
		if (!p->links[k])
			pr_warn("tls: cannot open pinned link '%s': %s", pin,
				strerror(errno));
		any = true;
	}
	return any;
}

/*
 * Hook process @p's TLS in the file @path (through /proc/PID/root): the
 * handshake and the writes, for this process only. The writes at the
 * common callee of SSL_write and SSL_write_ex where the file is a library
 * whose callee is known (load/tlssite.h: one pair of hooks, on an
 * instruction the kernel emulates), else at SSL_write and, where the
 * library has it, SSL_write_ex. Returns 0, -ENOENT when the file lacks
 * what is needed (nothing is left hooked), or -errno.
 */
static int tls_proc_hook(struct meter *m, struct tls_proc *p,
			 const char *path)
{
	struct bpf_program *progs[NR_TLS_PROGS];
	unsigned long site = 0;
	char pin[PATH_MAX], how[96] = "";
	int err = 0, n = 0, k;
	bool problem, callee;

	callee = !m->tls_exported && !tls_write_site(path, &site);
	if (callee)
		snprintf(how, sizeof(how), "; SSL_write and SSL_write_ex at "
			 "their common callee, offset 0x%lx", site);
	tls_progs(m->skel, progs);
	for (k = 0; k < NR_TLS_PROGS; k++) {
		LIBBPF_OPTS(bpf_uprobe_opts, opts, .func_name = tls_funcs[k],
			    .retprobe = k < 3);
		unsigned long at = 0;

		if (callee && TLS_WRITE(k))
			continue;
		if (callee && TLS_OPTIONAL(k)) {
			opts.func_name = NULL;
			at = site;
		}
		/* A file without the function is no error: most
		 * executables tried have no SSL_write, libraries before
		 * OpenSSL 1.1.1 no SSL_write_ex. libbpf's "failed to find
		 * symbol" is then news for -v only. */
		log_libbpf_hold();
		p->links[k] = bpf_program__attach_uprobe_opts(progs[k], p->pid,
							      path, at, &opts);
		err = p->links[k] ? 0 : -errno;
		problem = err && err != -ENOENT && err != -ESRCH;
		log_libbpf_release(problem);
		if (err) {
			if (problem)
				pr_warn("tls: cannot hook %s in '%s' for "
					"process %ld: %s", tls_funcs[k], path,
					p->pid, strerror(-err));
			if (!TLS_OPTIONAL(k) || callee)
				break;
			continue;
		}
		n++;
		if (m->pin_dir[0]) {
			tls_pin(pin, sizeof(pin), m, p->pid, p->start, k);
			err = bpf_link__pin(p->links[k], pin);
			if (err)
				pr_warn("tls: cannot pin link '%s': %s", pin,
					strerror(-err));
		}
	}
	if (k < NR_TLS_PROGS) {
		tls_proc_drop(m, p);
		return -ENOENT;
	}
	pr_info("tls: process %ld: hooked %s (%d uprobes%s)", p->pid, path, n,
		how);
	return 0;
}

static bool tls_known(long pid, unsigned long long start, void *arg)
{
	struct meter *m = arg;

	for (size_t i = 0; i < m->nr_procs; i++) {
		if (m->procs[i].pid == pid && m->procs[i].start == start) {
			m->procs[i].seen = true;
			return true;
		}
	}
	return false;
}

/* The file in which process @pid's SSL_write would be: its libssl, a file
 * the configuration names, or its executable; through /proc/PID/root. */
static void tls_file_of(struct meter *m, long pid, const char *maps,
			char *out, size_t len)
{
	char lib[PATH_MAX];

	if (tls_maps_libssl(maps, lib, sizeof(lib))) {
		snprintf(out, len, "/proc/%ld/root%s", pid, lib);
		return;
	}
	for (size_t i = 0; i < m->nr_files; i++) {
		if (m->files[i].named &&
		    tls_maps_file(maps, m->files[i].dev, m->files[i].ino, lib,
				  sizeof(lib))) {
			snprintf(out, len, "/proc/%ld/root%s", pid, lib);
			return;
		}
	}
	snprintf(out, len, "/proc/%ld/exe", pid);
}

static void tls_offer(long pid, unsigned long long start, const char *maps,
		      void *arg)
{
	struct meter *m = arg;
	char path[PATH_MAX + 64];
	struct tls_proc *p, q = { .pid = pid, .start = start, .seen = true };
	struct tls_file *f;
	struct stat st;

	tls_file_of(m, pid, maps, path, sizeof(path));
	if (stat(path, &st))
		return;
	f = tls_file_find(m, st.st_dev, st.st_ino);
	if (f && !f->named) {
		f->seen = true;		/* known to have no SSL_write */
		return;
	}
	if (m->nr_procs >= m->max_procs) {
		m->capped++;
		return;
	}
	if (!tls_proc_resume(m, &q)) {
		if (tls_proc_hook(m, &q, path)) {
			f = tls_file_add(m, st.st_dev, st.st_ino);
			if (f)
				f->seen = true;
			return;
		}
	} else {
		pr_info("tls: process %ld: kept pinned hooks", pid);
	}
	p = reallocarray(m->procs, m->nr_procs + 1, sizeof(*p));
	if (!p) {
		tls_proc_drop(m, &q);
		return;
	}
	m->procs = p;
	m->procs[m->nr_procs++] = q;
}

/* Pins of TLS hooks whose process is not among the hooked ones: left by
 * an agent for a process that has exited since. */
static void tls_drop_stale_pins(struct meter *m)
{
	char path[PATH_MAX];
	unsigned long long start;
	struct dirent *de;
	long pid;
	int k;
	DIR *d;

	if (!m->pin_dir[0] || !(d = opendir(m->pin_dir)))
		return;
	while ((de = readdir(d))) {
		if (sscanf(de->d_name, TG_LINK_TLS "%ld_%llu_%d", &pid, &start,
			   &k) != 3)
			continue;
		bool live = false;

		for (size_t i = 0; i < m->nr_procs && !live; i++)
			live = m->procs[i].pid == pid &&
			       m->procs[i].start == start;
		if (!live && !pin_path(path, sizeof(path), m->pin_dir,
				       de->d_name))
			unlink(path);
	}
	closedir(d);
}

/*
 * Hook the TLS of every process of the metered cgroup that is not hooked
 * yet, and unhook the processes that are gone: the hooks are bounded by
 * the live processes, and by meter_opts.max_tls_procs. Cheap when nothing
 * changed: one read of /proc/PID/stat per process.
 */
int meter_tls_scan(struct meter *m)
{
	const struct tls_scan_ops ops = {
		.known = tls_known, .offer = tls_offer, .arg = m,
	};
	size_t i, j, capped_before = m->capped;

	if (!m->calls || !m->cgroup[0])
		return 0;
	for (i = 0; i < m->nr_procs; i++)
		m->procs[i].seen = false;
	for (i = 0; i < m->nr_files; i++)
		m->files[i].seen = false;
	m->capped = 0;
	tls_scan(m->cgroup, &ops);
	for (i = j = 0; i < m->nr_procs; i++) {
		if (m->procs[i].seen) {
			m->procs[j++] = m->procs[i];
			continue;
		}
		pr_info("tls: process %ld: gone, hooks removed",
			m->procs[i].pid);
		tls_proc_drop(m, &m->procs[i]);
	}
	m->nr_procs = j;
	/* Files without SSL_write are remembered while a process maps
	 * them; the named ones for good. */
	for (i = j = 0; i < m->nr_files; i++)
		if (m->files[i].named || m->files[i].seen)
			m->files[j++] = m->files[i];
	m->nr_files = j;
	tls_drop_stale_pins(m);
	if (m->capped && m->capped != capped_before)
		pr_warn("tls: %zu processes hooked, the most there may be: "
			"%zu more not hooked, their TLS calls not counted",
			m->nr_procs, m->capped);
	return 0;
}

/* Processes whose TLS is hooked, and processes left unhooked by the cap in
 * the last scan. */
void meter_tls_count(const struct meter *m, size_t *hooked, size_t *capped)
{
	*hooked = m->nr_procs;
	*capped = m->capped;
}

/*
 * Free @m after a failed start. Pins that this start made, in a pin
 * directory that held no maps before, are removed with the links and the
 * directory: a failed start leaves nothing behind. Pins that were there
 * stay, and keep counting.
 */
void meter_abandon(struct meter *m)
{
	char dir[sizeof(m->pin_dir)];
	bool created;

	if (!m)
		return;
	created = m->created;
	snprintf(dir, sizeof(dir), "%s", m->pin_dir);
	meter_free(m);
	if (created)
		meter_detach(dir, true);
}

/* Number of pinned links meter_attach() took over rather than created. */
int meter_resumed(const struct meter *m)
{
	return m->resumed;
}

/* Free the user-space handles. Pinned links stay attached. */
void meter_free(struct meter *m)
{
	int i;

	if (!m)
		return;
	for (i = 0; i < NR_LINKS; i++)
		bpf_link__destroy(m->links[i]);
	for (size_t j = 0; j < m->nr_procs; j++)
		for (i = 0; i < NR_TLS_PROGS; i++)
			bpf_link__destroy(m->procs[j].links[i]);
	free(m->procs);
	free(m->files);
	meter_bpf__destroy(m->skel);
	free(m);
}

/* The descriptor of the loaded map @name, or -ENOENT. */
int meter_map_fd(const struct meter *m, const char *name)
{
	int fd = bpf_object__find_map_fd_by_name(m->skel->obj, name);

	return fd < 0 ? -ENOENT : fd;
}

/* Program fds, in link order (ingress, egress, sockops), for statistics. */
int meter_prog_fds(const struct meter *m, int fds[METER_NR_PROGS])
{
	struct bpf_program *progs[NR_LINKS];
	int i;

	link_progs(m->skel, progs);
	for (i = 0; i < NR_CGROUP_LINKS; i++)
		fds[i] = bpf_program__fd(progs[i]);
	return 0;
}

/* The programs' run-time statistics; see loader.h. */
int meter_prog_stats(const struct meter *m,
		     struct meter_prog_stat out[METER_NR_PROGS])
{
	static const char *const names[METER_NR_PROGS] = {
		"ingress", "egress", "sockops",
	};
	int fds[METER_NR_PROGS], i;

	meter_prog_fds(m, fds);
	for (i = 0; i < METER_NR_PROGS; i++) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);

		if (bpf_obj_get_info_by_fd(fds[i], &info, &len))
			return -errno;
		out[i].name = names[i];
		out[i].run_time_ns = info.run_time_ns;
		out[i].run_cnt = info.run_cnt;
	}
	return 0;
}

/* Remove the pinned TLS hooks (tls_*) under @pin_dir. */
static int detach_tls(const char *pin_dir, int *err)
{
	char path[PATH_MAX];
	struct dirent *de;
	int removed = 0;
	DIR *d = opendir(pin_dir);

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, TG_LINK_TLS, strlen(TG_LINK_TLS)) ||
		    pin_path(path, sizeof(path), pin_dir, de->d_name))
			continue;
		if (unlink(path)) {
			*err = -errno;
			pr_warn("cannot remove '%s': %s", path,
				strerror(errno));
			continue;
		}
		removed++;
	}
	closedir(d);
	return removed;
}

/*
 * Detach every program and remove every pin under @pin_dir, then the
 * directory. Links are detached explicitly, so a still running agent's
 * references do not keep the programs attached. Returns 0 or -errno.
 */
int meter_detach(const char *pin_dir, bool quiet)
{
	char path[PATH_MAX];
	int removed = 0, err = 0, i;

	for (i = 0; i < NR_LINKS; i++) {
		int fd;

		if (pin_path(path, sizeof(path), pin_dir, link_names[i]))
			return -ENAMETOOLONG;
		fd = bpf_obj_get(path);
		if (fd < 0) {
			if (errno != ENOENT) {
				err = -errno;
				pr_warn("cannot open pinned link '%s': %s",
					path, strerror(-err));
			}
			continue;
		}
		/* Tracing links cannot be detached (EOPNOTSUPP): removing
		 * the pin ends them once no agent holds them. */
		if (bpf_link_detach(fd) && errno != EINVAL &&
		    errno != EOPNOTSUPP)
			pr_warn("cannot detach link '%s': %s", path,
				strerror(errno));
		close(fd);
		if (unlink(path)) {
			err = -errno;
			pr_warn("cannot remove '%s': %s", path, strerror(-err));
			continue;
		}
		removed++;
	}
	for (i = 0; i < NR_OLD_ENTRY_LINKS; i++) {
		if (pin_path(path, sizeof(path), pin_dir, old_entry_links[i]))
			return -ENAMETOOLONG;
		if (!unlink(path)) {
			removed++;
		} else if (errno != ENOENT) {
			err = -errno;
			pr_warn("cannot remove '%s': %s", path, strerror(-err));
		}
	}
	removed += detach_tls(pin_dir, &err);
	for (i = 0; i < (int)(sizeof(map_names) / sizeof(map_names[0]));
	     i++) {
		pin_path(path, sizeof(path), pin_dir, map_names[i]);
		if (unlink(path)) {
			if (errno != ENOENT) {
				err = -errno;
				pr_warn("cannot remove '%s': %s", path,
					strerror(-err));
			}
			continue;
		}
		removed++;
	}
	if (rmdir(pin_dir) && errno != ENOENT) {
		err = err ? err : -errno;
		pr_warn("cannot remove '%s': %s", pin_dir, strerror(errno));
	}
	if (!quiet)
		printf("%s: removed %d pins%s\n", pin_dir, removed,
		       removed ? ", programs detached" : " (nothing pinned)");
	return err;
}
