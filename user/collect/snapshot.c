// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * snapshot.c - the collect stage's first step: read the kernel meter's
 * counters into a snapshot.
 *
 * Reading needs no programs: a view opens the pinned maps (or borrows a
 * loaded meter's descriptors) and a snapshot sums the per-CPU counters of
 * every peer slot, overflow bucket and global statistic. The counters only
 * grow while their maps live, so a snapshot taken while traffic flows is a
 * consistent lower bound of the next one.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "collect/snapshot.h"
#include "lib/array.h"
#include "lib/log.h"
#include "load/loader.h"

/* The maps a view holds, in the order of its descriptors. */
static const char *const view_maps[] = {
	TG_MAP_PEER_IDX, TG_MAP_PEER_CNT, TG_MAP_SOCK,
	TG_MAP_OVERFLOW, TG_MAP_STATS,	  TG_MAP_META,
};

static void view_init(struct view *v)
{
	v->peer_idx = v->peer_cnt = v->sock = -1;
	v->overflow = v->stats = v->meta = -1;
	v->ncpus = libbpf_num_possible_cpus();
}

/* Open the maps pinned under @pin_dir; no programs are needed. */
int view_open_pinned(struct view *v, const char *pin_dir)
{
	int *fds[] = { &v->peer_idx, &v->peer_cnt, &v->sock,
		       &v->overflow, &v->stats,	   &v->meta };
	char path[PATH_MAX];
	size_t i;
	int err;

	view_init(v);
	if (v->ncpus < 0)
		return v->ncpus;
	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", pin_dir,
				     view_maps[i]) >= sizeof(path)) {
			err = -ENAMETOOLONG;
			goto fail;
		}
		*fds[i] = bpf_obj_get(path);
		if (*fds[i] < 0) {
			err = -errno;
			pr_warn("cannot open pinned map '%s': %s%s", path,
				strerror(-err),
				err == -ENOENT ? " (is tollgate running? "
						 "'tollgate run' pins its maps "
						 "there)" : "");
			goto fail;
		}
	}
	return 0;
fail:
	view_close(v);
	return err;
}

/* Borrow the maps of a loaded meter (duplicated descriptors). */
int view_from_meter(struct view *v, const struct meter *m)
{
	int *fds[] = { &v->peer_idx, &v->peer_cnt, &v->sock,
		       &v->overflow, &v->stats,	   &v->meta };
	size_t i;

	view_init(v);
	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		*fds[i] = dup(meter_map_fd(m, view_maps[i]));
		if (*fds[i] < 0) {
			view_close(v);
			return -EMFILE;
		}
	}
	return 0;
}

void view_close(struct view *v)
{
	int *fds[] = { &v->peer_idx, &v->peer_cnt, &v->sock,
		       &v->overflow, &v->stats,	   &v->meta };
	size_t i;

	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

/* Sum one element of a per-CPU array of tg_counters. */
static int percpu_counters(const struct view *v, int fd, __u32 idx,
			   struct tg_counters *out, struct tg_counters *buf)
{
	int cpu;

	memset(out, 0, sizeof(*out));
	if (bpf_map_lookup_elem(fd, &idx, buf))
		return -errno;
	for (cpu = 0; cpu < v->ncpus; cpu++) {
		out->bytes_in += buf[cpu].bytes_in;
		out->packets_in += buf[cpu].packets_in;
		out->bytes_out += buf[cpu].bytes_out;
		out->packets_out += buf[cpu].packets_out;
		out->calls += buf[cpu].calls;
	}
	return 0;
}

static int read_peers(const struct view *v, struct snapshot *s,
		      struct tg_counters *buf)
{
	struct tg_peer_key key, next, *prev = NULL;
	size_t cap = 0;
	__u32 slot;
	int err;

	while (!bpf_map_get_next_key(v->peer_idx, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(v->peer_idx, &key, &slot))
			continue;	/* never deleted; cannot happen */
		if (ARRAY_GROW(s->peers, s->nr_peers + 1, cap, 256))
			return -ENOMEM;
		err = percpu_counters(v, v->peer_cnt, slot,
				      &s->peers[s->nr_peers].c, buf);
		if (err)
			return err;
		s->peers[s->nr_peers++].key = key;
	}
	return errno == ENOENT ? 0 : -errno;
}

/*
 * Read every counter into @s. Each counter only grows, so a snapshot taken
 * while traffic flows is a consistent lower bound of the next one. Returns
 * 0 or -errno; @s must be released with snapshot_free() either way.
 */
int snapshot_read(const struct view *v, struct snapshot *s, bool sockets)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), i, zero = 0;
	struct tg_counters *buf;
	__u64 *stat;
	int err, cpu;

	memset(s, 0, sizeof(*s));
	buf = calloc(v->ncpus, sizeof(*buf));
	stat = calloc(v->ncpus, sizeof(*stat));
	if (!buf || !stat) {
		err = -ENOMEM;
		goto out;
	}
	if (bpf_obj_get_info_by_fd(v->peer_idx, &info, &len) ||
	    bpf_map_lookup_elem(v->meta, &zero, &s->meta)) {
		err = -errno;
		goto out;
	}
	s->capacity = info.max_entries;

	err = read_peers(v, s, buf);
	for (i = 0; !err && i < TG_NR_ROLES; i++)
		err = percpu_counters(v, v->overflow, i, &s->overflow[i], buf);
	for (i = 0; !err && i < TG_NR_STATS; i++) {
		if (bpf_map_lookup_elem(v->stats, &i, stat)) {
			err = -errno;
			break;
		}
		for (cpu = 0; cpu < v->ncpus; cpu++)
			s->stats[i] += stat[cpu];
	}
	if (!err && sockets)
		err = socks_read(v, s);
out:
	free(buf);
	free(stat);
	return err;
}

void snapshot_free(struct snapshot *s)
{
	free(s->peers);
	free(s->socks);
	memset(s, 0, sizeof(*s));
}

static void add_counters(struct tg_counters *a, const struct tg_counters *b)
{
	a->bytes_in += b->bytes_in;
	a->packets_in += b->packets_in;
	a->bytes_out += b->bytes_out;
	a->packets_out += b->packets_out;
	a->calls += b->calls;
}

/* Everything counted: every peer and every overflow bucket. */
void snapshot_totals(const struct snapshot *s, struct tg_counters *total)
{
	size_t i;

	memset(total, 0, sizeof(*total));
	for (i = 0; i < s->nr_peers; i++)
		add_counters(total, &s->peers[i].c);
	for (i = 0; i < TG_NR_ROLES; i++)
		add_counters(total, &s->overflow[i]);
}
