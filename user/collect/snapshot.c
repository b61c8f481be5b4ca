// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * snapshot.c - the collect stage's first step: read the kernel meter's
 * counters into a snapshot.
 *
 * Reading needs no programs: a view opens the pinned maps (or borrows a
 * loaded meter's descriptors) and a snapshot sums the per-CPU counters of
 * every peer slot, overflow bucket and global statistic, bank by bank.
 * Peers are listed by slot (tg_slot), in batches, not by walking the peer
 * hash a key at a time. The counters only grow while their maps live, so a
 * snapshot taken while traffic flows is a consistent lower bound of the
 * next one.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "collect/snapshot.h"
#include "lib/array.h"
#include "lib/log.h"
#include "load/loader.h"

/* The maps a view holds, in the order of view_fds(). */
static const char *const view_maps[] = {
	TG_MAP_PEER_IDX, TG_MAP_PEER_CNT, TG_MAP_SLOT,	TG_MAP_SOCK,
	TG_MAP_OVERFLOW, TG_MAP_OVF_ROLE, TG_MAP_STATS, TG_MAP_META,
	TG_MAP_CLOCK,	 TG_MAP_FREE,	  TG_MAP_FREE_BE,
};
#define NR_VIEW_MAPS (sizeof(view_maps) / sizeof(view_maps[0]))

/* The view's descriptors, in the order of view_maps[]. */
static void view_fds(struct view *v, int *fds[NR_VIEW_MAPS])
{
	int *all[] = { &v->peer_idx, &v->peer_cnt, &v->slot,	 &v->sock,
		       &v->overflow, &v->ovf_role, &v->stats, &v->meta,
		       &v->clock,    &v->free,	   &v->free_be };

	_Static_assert(sizeof(all) / sizeof(all[0]) == NR_VIEW_MAPS,
		       "one descriptor per map");
	memcpy(fds, all, sizeof(all));
}

static void view_init(struct view *v)
{
	int *fds[NR_VIEW_MAPS];
	size_t i;

	view_fds(v, fds);
	for (i = 0; i < NR_VIEW_MAPS; i++)
		*fds[i] = -1;
	v->ncpus = libbpf_num_possible_cpus();
}

/* Open the maps pinned under @pin_dir; no programs are needed. */
int view_open_pinned(struct view *v, const char *pin_dir)
{
	int *fds[NR_VIEW_MAPS];
	char path[PATH_MAX];
	size_t i;
	int err;

	view_init(v);
	if (v->ncpus < 0)
		return v->ncpus;
	view_fds(v, fds);
	for (i = 0; i < NR_VIEW_MAPS; i++) {
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
	int *fds[NR_VIEW_MAPS];
	size_t i;

	view_init(v);
	view_fds(v, fds);
	for (i = 0; i < NR_VIEW_MAPS; i++) {
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
	int *fds[NR_VIEW_MAPS];
	size_t i;

	view_fds(v, fds);
	for (i = 0; i < NR_VIEW_MAPS; i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

static void add_counters(struct tg_counters *a, const struct tg_counters *b)
{
	a->bytes_in += b->bytes_in;
	a->packets_in += b->packets_in;
	a->bytes_out += b->bytes_out;
	a->packets_out += b->packets_out;
	a->calls += b->calls;
}

/* The per-CPU banked counters @pc (@ncpus of them) added up, bank by
 * bank, into @bank and in all into @c. */
static void sum_banked(const struct tg_banked *pc, int ncpus,
		       struct tg_counters bank[TG_NR_BANKS],
		       struct tg_counters *c)
{
	int cpu, b;

	memset(bank, 0, sizeof(struct tg_counters) * TG_NR_BANKS);
	memset(c, 0, sizeof(*c));
	for (cpu = 0; cpu < ncpus; cpu++)
		for (b = 0; b < TG_NR_BANKS; b++)
			add_counters(&bank[b], &pc[cpu].b[b]);
	for (b = 0; b < TG_NR_BANKS; b++)
		add_counters(c, &bank[b]);
}

static bool counters_zero(const struct tg_counters *c)
{
	return !c->bytes_in && !c->packets_in && !c->bytes_out &&
	       !c->packets_out && !c->calls;
}

/* Slots read at once: a batch's per-CPU values stay under 8 MiB. */
static __u32 batch_size(int ncpus)
{
	__u32 n = (8u << 20) / (sizeof(struct tg_banked) * (__u32)ncpus);

	return n < 64 ? 64 : n > 16384 ? 16384 : n;
}

/*
 * Read elements [@first, @first + *@n) of array map @fd into @keys and
 * @vals, in one batch where the kernel can, else one by one. Sets *@n to
 * the number read. Returns 0 or -errno.
 */
static int array_read(int fd, __u32 first, __u32 *n, __u32 *keys, void *vals,
		      size_t val_size)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 count = *n, in, out, i;
	int err;

	/* The batch starts after the key it is given. */
	in = first - 1;
	err = bpf_map_lookup_batch(fd, first ? &in : NULL, &out, keys, vals,
				   &count, &opts);
	if (!err || (errno == ENOENT && count)) {
		*n = count;
		return 0;
	}
	if (errno != EINVAL && errno != ENOTSUP && errno != ENOENT)
		return -errno;
	/* One by one: kernels without batches for this map type. */
	for (i = 0; i < *n; i++) {
		keys[i] = first + i;
		if (bpf_map_lookup_elem(fd, &keys[i],
					(char *)vals + i * val_size))
			return -errno;
	}
	return 0;
}

/* Buffers for reading slots a chunk at a time. */
struct slot_bufs {
	__u32 chunk;
	struct tg_slot *slots;
	struct tg_banked *cnt;
	__u32 *keys, *keys2;
};

/* Slots [@from, @from + @n) into s->peers: those not free, bank by bank. */
static int read_range(const struct view *v, struct snapshot *s,
		      struct slot_bufs *b, __u32 from, __u32 n)
{
	__u32 first, got, i;
	int err = 0;

	for (first = from; first < from + n && !err; first += got) {
		__u32 left = from + n - first;
		__u32 want = left < b->chunk ? left : b->chunk, m = want;

		got = want;
		err = array_read(v->slot, first, &got, b->keys, b->slots,
				 sizeof(*b->slots));
		if (!err)
			err = array_read(v->peer_cnt, first, &m, b->keys2,
					 b->cnt, sizeof(*b->cnt) * v->ncpus);
		if (!err && (got != want || m != want))
			err = -EIO;
		for (i = 0; !err && i < got; i++) {
			struct peer_rec *p = &s->peers[s->nr_peers];

			if (b->slots[i].state == TG_SLOT_FREE) {
				s->slots_free++;
				continue;
			}
			p->key = b->slots[i].key;
			p->slot = first + i;
			p->gen = b->slots[i].gen;
			p->state = b->slots[i].state;
			p->since_ns = b->slots[i].since_ns;
			sum_banked(&b->cnt[(size_t)i * v->ncpus], v->ncpus,
				   p->bank, &p->c);
			s->slots_limbo += p->state == TG_SLOT_LIMBO;
			s->nr_peers++;
		}
	}
	return err;
}

/* The clients' range of slots and the backends' (include/meter.h): how
 * many each holds, and how many of those were handed out so far. */
static void slot_ranges(const struct snapshot *s, __u32 *clients,
			__u32 *clients_out, __u32 *backends,
			__u32 *backends_out)
{
	__u32 be = s->meta.backend_peers < s->capacity ?
			   s->meta.backend_peers : 0;

	*clients = s->capacity - be;
	*backends = be;
	*clients_out = s->meta.next_slot < *clients ? s->meta.next_slot :
						      *clients;
	*backends_out = s->meta.next_backend < be ? s->meta.next_backend : be;
}

/* Every slot handed out so far, in both ranges: the peers they hold,
 * bank by bank. */
static int read_peers(const struct view *v, struct snapshot *s)
{
	struct slot_bufs b = { .chunk = batch_size(v->ncpus) };
	__u32 clients, clients_out, backends, backends_out;
	int err;

	slot_ranges(s, &clients, &clients_out, &backends, &backends_out);
	s->backend_capacity = backends;
	s->peers = calloc((size_t)clients_out + backends_out + 1,
			  sizeof(*s->peers));
	b.slots = calloc(b.chunk, sizeof(*b.slots));
	b.cnt = calloc((size_t)b.chunk * v->ncpus, sizeof(*b.cnt));
	b.keys = calloc(b.chunk, sizeof(*b.keys));
	b.keys2 = calloc(b.chunk, sizeof(*b.keys2));
	if (!s->peers || !b.slots || !b.cnt || !b.keys || !b.keys2)
		err = -ENOMEM;
	else
		err = read_range(v, s, &b, 0, clients_out);
	if (!err)
		err = read_range(v, s, &b, clients, backends_out);
	free(b.slots);
	free(b.cnt);
	free(b.keys);
	free(b.keys2);
	return err;
}

/* Add one bucket to s->buckets unless it counted nothing. */
static int add_bucket(struct snapshot *s, size_t *cap,
		      const struct tg_bill_key *key, bool last_resort,
		      const struct tg_banked *pc, int ncpus)
{
	struct bucket_rec r = { .key = *key, .last_resort = last_resort };

	sum_banked(pc, ncpus, r.bank, &r.c);
	if (counters_zero(&r.c))
		return 0;
	if (ARRAY_GROW(s->buckets, s->nr_buckets + 1, *cap, 16))
		return -ENOMEM;
	s->buckets[s->nr_buckets++] = r;
	return 0;
}

/* The overflow buckets: of every billing key, then the last resorts. */
static int read_buckets(const struct view *v, struct snapshot *s)
{
	struct tg_bill_key key, next, *prev = NULL;
	struct tg_banked *pc;
	size_t cap = 0;
	__u32 role;
	int err = 0;

	pc = calloc(v->ncpus, sizeof(*pc));
	if (!pc)
		return -ENOMEM;
	while (!err && !bpf_map_get_next_key(v->overflow, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(v->overflow, &key, pc))
			continue;	/* never deleted; cannot happen */
		err = add_bucket(s, &cap, &key, false, pc, v->ncpus);
	}
	if (!err && errno != ENOENT)
		err = -errno;
	for (role = 0; !err && role < TG_NR_ROLES; role++) {
		struct tg_bill_key k = { .role = role };

		if (bpf_map_lookup_elem(v->ovf_role, &role, pc))
			err = -errno;
		else
			err = add_bucket(s, &cap, &k, true, pc, v->ncpus);
	}
	free(pc);
	return err;
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
	struct timespec rt, mono;
	__u64 *stat;
	int err, cpu;

	memset(s, 0, sizeof(*s));
	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	s->taken_at = rt.tv_sec;
	s->taken_ns = mono.tv_sec * 1000000000ULL + mono.tv_nsec;
	stat = calloc(v->ncpus, sizeof(*stat));
	if (!stat)
		return -ENOMEM;
	if (bpf_obj_get_info_by_fd(v->peer_cnt, &info, &len) ||
	    bpf_map_lookup_elem(v->meta, &zero, &s->meta) ||
	    bpf_map_lookup_elem(v->clock, &zero, &s->clock)) {
		err = -errno;
		goto out;
	}
	s->capacity = info.max_entries;

	err = read_peers(v, s);
	if (!err)
		err = read_buckets(v, s);
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
	free(stat);
	return err;
}

void snapshot_free(struct snapshot *s)
{
	free(s->peers);
	free(s->buckets);
	free(s->socks);
	memset(s, 0, sizeof(*s));
}

/* Everything counted: every peer and every overflow bucket. */
void snapshot_totals(const struct snapshot *s, struct tg_counters *total)
{
	size_t i;

	memset(total, 0, sizeof(*total));
	for (i = 0; i < s->nr_peers; i++)
		add_counters(total, &s->peers[i].c);
	for (i = 0; i < s->nr_buckets; i++)
		add_counters(total, &s->buckets[i].c);
}

const char *overflow_reason_name(enum overflow_reason r)
{
	static const char *const names[OVF_NR] = { "no_socket", "no_slot",
						   "no_bucket" };

	return (unsigned int)r < OVF_NR ? names[r] : NULL;
}

enum overflow_reason bucket_reason(const struct bucket_rec *b)
{
	if (!b->last_resort)
		return OVF_NO_SLOT;
	return b->key.role == TG_ROLE_NONE ? OVF_NO_SOCKET : OVF_NO_BUCKET;
}

void snapshot_overflow(const struct snapshot *s, __u8 role,
		       enum overflow_reason r, struct tg_counters *c)
{
	size_t i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < s->nr_buckets; i++)
		if (s->buckets[i].key.role == role &&
		    bucket_reason(&s->buckets[i]) == r)
			add_counters(c, &s->buckets[i].c);
}

__u32 snapshot_slots_used(const struct snapshot *s)
{
	return s->nr_peers;
}

__u32 snapshot_slots_held(const struct snapshot *s, __u8 role)
{
	__u32 n = 0;
	size_t i;

	for (i = 0; i < s->nr_peers; i++)
		n += s->peers[i].key.role == role;
	return n;
}
