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
#include <bpf/libbpf.h>

#include "lib/log.h"
#include "load/loader.h"
#include "load/tls.h"
#include "meter.skel.h"
#include "lib/util.h"

#define NR_LINKS 4
/* The first three; then the calls tracer on the receive. */
#define NR_CGROUP_LINKS 3
#define LINK_RECV 3

/* SSL_read hooks in one library file, in the order of tls_progs(). */
#define NR_TLS_PROGS 5

struct tls_lib {
	dev_t dev;
	ino_t ino;
	bool none;			/* no SSL_read in it */
	struct bpf_link *links[NR_TLS_PROGS];
};

struct meter {
	struct meter_bpf *skel;
	struct bpf_link *links[NR_LINKS];
	char pin_dir[PATH_MAX / 2];	/* empty: not pinned */
	int resumed;			/* links taken over from the pins */
	bool created;			/* no maps were pinned before */
	bool calls;			/* the calls tracers are loaded */
	char cgroup[PATH_MAX / 2];	/* the metered cgroup */
	struct tls_lib *tls;		/* files whose SSL_read is hooked */
	size_t nr_tls;
};

/* Pin names of the links, in the order of link_progs(). */
static const char *const link_names[NR_LINKS] = {
	TG_LINK_INGRESS,
	TG_LINK_EGRESS,
	TG_LINK_SOCKOPS,
	TG_LINK_RECV,
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

static const char *const map_names[] = {
	TG_MAP_PEER_IDX, TG_MAP_PEER_CNT, TG_MAP_SOCK,
	TG_MAP_OVERFLOW, TG_MAP_STATS,	  TG_MAP_META,
	TG_MAP_CGROUP,	 TG_MAP_TASK,	  TG_MAP_SSL,
	TG_MAP_TLS_TASK, TG_MAP_AGENT,
};

static void link_progs(struct meter_bpf *skel, struct bpf_program **p)
{
	p[0] = skel->progs.tg_ingress;
	p[1] = skel->progs.tg_egress;
	p[2] = skel->progs.tg_sockops;
	p[3] = skel->progs.tg_recv;
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

static int meta_init(struct meter *m, __u32 max_peers)
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
	if (!max_peers)
		max_peers = pinned ? pinned : TG_DEFAULT_MAX_PEERS;
	m->created = m->pin_dir[0] && !pinned;

	m->skel = meter_bpf__open();
	if (!m->skel) {
		err = -errno;
		pr_warn("cannot open BPF object: %s", strerror(-err));
		goto fail;
	}
	m->skel->rodata->max_peers = max_peers;
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
	bpf_program__set_autoload(m->skel->progs.tg_recv, m->calls);
	bpf_program__set_autoload(m->skel->progs.tg_ssl_read, m->calls);
	bpf_program__set_autoload(m->skel->progs.tg_ssl_read_ret, m->calls);
	bpf_program__set_autoload(m->skel->progs.tg_ssl_read_ex, m->calls);
	bpf_program__set_autoload(m->skel->progs.tg_ssl_read_ex_ret, m->calls);
	bpf_program__set_autoload(m->skel->progs.tg_ssl_free, m->calls);
	bpf_map__set_max_entries(m->skel->maps.tg_peer_idx, max_peers);
	bpf_map__set_max_entries(m->skel->maps.tg_peer_cnt, max_peers);

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
	err = meta_init(m, max_peers);
	if (err)
		goto fail;
	pr_debug("loaded; peer capacity %u, ephemeral ports %u-%u", max_peers,
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
 * Attach calls tracer @i, or keep the one a pinned link holds. A tracing
 * link cannot have its program swapped, and detaching it to attach anew
 * would miss receives: the pinned one, of the same layout version, counts
 * into the same maps.
 */
static int attach_tracer(struct meter *m, int i, struct bpf_program *prog,
			 bool *kept)
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
		*kept = true;
		return 0;
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
		err = attach_tracer(m, LINK_RECV, progs[LINK_RECV], &kept);
		if (err)
			goto out;
	}
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
	/* The returns first: an SSL_read whose entry is seen must have its
	 * return seen too, or its note would stay with the thread. */
	p[0] = skel->progs.tg_ssl_read_ret;
	p[1] = skel->progs.tg_ssl_read_ex_ret;
	p[2] = skel->progs.tg_ssl_read;
	p[3] = skel->progs.tg_ssl_read_ex;
	p[4] = skel->progs.tg_ssl_free;
}

static const char *const tls_funcs[NR_TLS_PROGS] = {
	"SSL_read", "SSL_read_ex", "SSL_read", "SSL_read_ex", "SSL_free",
};

static int tls_pin(char *buf, size_t len, const struct meter *m,
		   const struct tls_lib *l, int i)
{
	char name[64];

	snprintf(name, sizeof(name), TG_LINK_TLS "%llx_%llu_%d",
		 (unsigned long long)l->dev, (unsigned long long)l->ino, i);
	return pin_path(buf, len, m->pin_dir, name);
}

/*
 * Hook SSL_read and SSL_read_ex (entry and return) and SSL_free in the
 * file @path, unless that file (device and inode) is hooked already, or
 * known to have no SSL_read. Links pinned by an earlier agent for the same
 * file are kept, not attached twice: two hooks would count every call
 * twice. @named: the file was named by the configuration, so a file
 * without SSL_read is worth a warning. Returns 0 or -errno.
 */
int meter_tls_attach(struct meter *m, const char *path, bool named)
{
	struct bpf_program *progs[NR_TLS_PROGS];
	char pin[PATH_MAX];
	bool speculative, problem;
	struct tls_lib *l;
	struct stat st;
	size_t i;
	int err = 0, n = 0, k;

	if (!m->calls)
		return 0;
	if (stat(path, &st)) {
		err = -errno;
		if (named)
			pr_warn("tls: cannot hook '%s': %s", path,
				strerror(-err));
		return err;
	}
	for (i = 0; i < m->nr_tls; i++)
		if (m->tls[i].dev == st.st_dev && m->tls[i].ino == st.st_ino)
			return 0;
	l = reallocarray(m->tls, m->nr_tls + 1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	m->tls = l;
	l = &m->tls[m->nr_tls++];
	memset(l, 0, sizeof(*l));
	l->dev = st.st_dev;
	l->ino = st.st_ino;

	if (m->pin_dir[0]) {
		tls_pin(pin, sizeof(pin), m, l, 2);
		if (!access(pin, F_OK)) {
			for (k = 0; k < NR_TLS_PROGS; k++) {
				tls_pin(pin, sizeof(pin), m, l, k);
				if (access(pin, F_OK))
					continue;
				l->links[k] = bpf_link__open(pin);
				if (!l->links[k])
					pr_warn("tls: cannot open pinned link "
						"'%s': %s", pin,
						strerror(errno));
			}
			pr_info("tls: %s: kept pinned SSL_read hooks", path);
			return 0;
		}
	}

	tls_progs(m->skel, progs);
	for (k = 0; k < NR_TLS_PROGS; k++) {
		LIBBPF_OPTS(bpf_uprobe_opts, opts, .func_name = tls_funcs[k],
			    .retprobe = k < 2);

		/* Without SSL_read there is nothing to hook; SSL_read_ex
		 * is OpenSSL 1.1.1 and later. */
		if (k == 2 && !l->links[0])
			break;
		if (k == 3 && !l->links[1])
			continue;
		/* A file without the function is no error: most
		 * executables offered have no SSL_read, libraries before
		 * OpenSSL 1.1.1 no SSL_read_ex. libbpf's "failed to find
		 * symbol" is then news for -v only. */
		speculative = !named || k == 1 || k == 3;
		if (speculative)
			log_libbpf_hold();
		l->links[k] = bpf_program__attach_uprobe_opts(progs[k], -1,
							      path, 0, &opts);
		err = l->links[k] ? 0 : -errno;
		problem = err && (err != -ENOENT || k == 4);
		if (speculative)
			log_libbpf_release(problem);
		if (err) {
			if (problem)
				pr_warn("tls: cannot hook %s in '%s': %s",
					tls_funcs[k], path, strerror(-err));
			continue;
		}
		n++;
		if (m->pin_dir[0]) {
			tls_pin(pin, sizeof(pin), m, l, k);
			err = bpf_link__pin(l->links[k], pin);
			if (err)
				pr_warn("tls: cannot pin link '%s': %s", pin,
					strerror(-err));
		}
	}
	if (!l->links[2]) {
		for (k = 0; k < NR_TLS_PROGS; k++) {
			if (l->links[k] && m->pin_dir[0]) {
				tls_pin(pin, sizeof(pin), m, l, k);
				unlink(pin);
			}
			bpf_link__destroy(l->links[k]);
			l->links[k] = NULL;
		}
		l->none = true;
		if (named)
			pr_warn("tls: '%s' has no SSL_read to hook", path);
		else
			pr_debug("tls: '%s' has no SSL_read", path);
		return -ENOENT;
	}
	pr_info("tls: %s: hooked SSL_read%s and SSL_free (%d uprobes)", path,
		l->links[3] ? ", SSL_read_ex" : "", n);
	return 0;
}

static void tls_offer(const char *path, void *arg)
{
	meter_tls_attach(arg, path, false);
}

/*
 * Hook the TLS library of every process in the metered cgroup that is not
 * hooked yet. Cheap when nothing changed: one stat per process.
 */
int meter_tls_scan(struct meter *m)
{
	if (!m->calls || !m->cgroup[0])
		return 0;
	tls_scan(m->cgroup, tls_offer, m);
	return 0;
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
	for (size_t j = 0; j < m->nr_tls; j++)
		for (i = 0; i < NR_TLS_PROGS; i++)
			bpf_link__destroy(m->tls[j].links[i]);
	free(m->tls);
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

/* Remove the pinned SSL_read hooks (tls_*) under @pin_dir. */
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
