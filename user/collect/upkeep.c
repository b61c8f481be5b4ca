// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * upkeep.c - the collect stage's writes back into the kernel maps: the day
 * table and the reclaiming of quiet peer slots (upkeep.h).
 *
 * Why reclaiming neither loses nor misattributes a count. A slot is
 * reclaimed in these steps, each recorded in tg_slot before the next:
 *
 *   1. The slot is marked LIMBO, and its key is removed from tg_peer_idx
 *      (only if the key still points at this slot).
 *   2. A grace period (upkeep_sync()): every program run that could have
 *      found the key in the hash has ended; later runs cannot find it.
 *   3. tg_clock.epoch is raised, then another grace period: every run that
 *      read the old epoch has ended. A socket that cached the slot cached
 *      it with an older epoch (the slot could only be found before step 2,
 *      so before the epoch was raised), and its next packet or call looks
 *      its peer up again and gets another slot, or its overflow bucket.
 *      From here on nothing counts into the slot.
 *   4. A snapshot read after step 3 holds the slot's final counts, under
 *      its key and generation, and the ledger books them.
 *   5. Only then is the slot zeroed, marked FREE and pushed to tg_free.
 *
 * An agent killed between any two steps leaves the slot LIMBO; the next one
 * does step 1's removal of the key, and steps 2 and 3, again at its start
 * (upkeep_open()) and goes on from step 4. Killed between marking the slot
 * and removing its key, an agent leaves a LIMBO slot that its peer's next
 * packets still find, and that would be freed with the key still naming
 * it. A slot is marked FREE before it is pushed, so a kill between the
 * two leaks that one slot rather than ever giving one slot to two peers.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "collect/upkeep.h"
#include "lib/log.h"

/* What the upkeep remembers of a slot between snapshots. */
struct slot_seen {
	__u64 sum;		/* its counters added up, last seen */
	__u64 changed_ns;	/* CLOCK_MONOTONIC when they last moved */
	__u64 synced_ns;	/* LIMBO: when steps 2 and 3 ended; 0: not,
				 * PENDING: not yet */
	__u32 gen;		/* the generation these are of */
};

#define PENDING (~0ULL)

struct upkeep {
	const struct view *v;
	bool pending;		/* slots marked LIMBO wait for steps 2, 3 */
	int sync_outer;		/* an array of maps: a grace period per
				 * update */
	int sync_inner;
	struct slot_seen *seen;	/* by slot */
	__u32 nr_seen;
	struct tg_banked *zero;	/* one slot's counters on every CPU */
};

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int upkeep_sync(struct upkeep *u)
{
	__u32 zero = 0;

	if (bpf_map_update_elem(u->sync_outer, &zero, &u->sync_inner,
				BPF_ANY)) {
		int err = -errno;

		pr_warn("cannot wait for the BPF programs: %s",
			strerror(-err));
		return err;
	}
	return 0;
}

static int read_clock(const struct upkeep *u, struct tg_clock *c)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(u->v->clock, &zero, c) ? -errno : 0;
}

static int write_clock(const struct upkeep *u, const struct tg_clock *c)
{
	__u32 zero = 0;

	return bpf_map_update_elem(u->v->clock, &zero, c, BPF_ANY) ? -errno :
								     0;
}

/* Steps 2 and 3 for every slot now LIMBO: a grace period, the epoch
 * raised, another grace period. */
static int new_epoch(struct upkeep *u)
{
	struct tg_clock c;
	int err;

	err = upkeep_sync(u);
	if (!err)
		err = read_clock(u, &c);
	if (!err) {
		c.epoch++;
		err = write_clock(u, &c);
	}
	if (!err)
		err = upkeep_sync(u);
	if (err)
		pr_warn("cannot start a new slot epoch: %s", strerror(-err));
	return err;
}

int upkeep_days(struct upkeep *u, const struct tz *tz, time_t now)
{
	struct timespec rt, mono;
	time_t starts[TG_NR_DAYS];
	struct tg_clock c;
	__s64 day0, off;
	int i, err;

	err = days_ahead(tz, now, &day0, starts, TG_NR_DAYS);
	if (!err)
		err = read_clock(u, &c);
	if (err) {
		pr_warn("cannot give the kernel its days: %s", strerror(-err));
		return err;
	}
	/* The monotonic clock is the wall clock less @off, now. */
	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	off = ((__s64)rt.tv_sec - mono.tv_sec) * 1000000000LL +
	      (rt.tv_nsec - mono.tv_nsec);
	c.day0 = day0;
	for (i = 0; i < TG_NR_DAYS; i++)
		c.day_ns[i] = (__u64)((__s64)starts[i] * 1000000000LL - off);
	err = write_clock(u, &c);
	if (err)
		pr_warn("cannot give the kernel its days: %s", strerror(-err));
	return err;
}

/* The slot table of the kernel's current capacity, grown as needed. */
static int seen_reserve(struct upkeep *u, __u32 n)
{
	struct slot_seen *p;

	if (n <= u->nr_seen)
		return 0;
	p = reallocarray(u->seen, n, sizeof(*p));
	if (!p)
		return -ENOMEM;
	memset(p + u->nr_seen, 0, (n - u->nr_seen) * sizeof(*p));
	u->seen = p;
	u->nr_seen = n;
	return 0;
}

/* The key of slot @p out of the hash, if it still names that slot. */
static int unhash(const struct upkeep *u, const struct peer_rec *p)
{
	__u32 cur;

	if (bpf_map_lookup_elem(u->v->peer_idx, &p->key, &cur) ||
	    cur != p->slot)
		return 0;
	if (bpf_map_delete_elem(u->v->peer_idx, &p->key) && errno != ENOENT)
		return -errno;
	return 0;
}

int upkeep_open(struct upkeep **out, const struct view *v)
{
	struct upkeep *u;
	struct snapshot s;
	__u64 now;
	size_t i;
	int err;

	*out = NULL;
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->v = v;
	u->sync_outer = u->sync_inner = -1;
	u->zero = calloc(v->ncpus, sizeof(*u->zero));
	u->sync_inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, "tg_sync_in", 4, 4,
				       1, NULL);
	if (u->sync_inner >= 0) {
		LIBBPF_OPTS(bpf_map_create_opts, opts,
			    .inner_map_fd = u->sync_inner);

		u->sync_outer = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS,
					       "tg_sync", 4, 4, 1, &opts);
	}
	if (!u->zero || u->sync_inner < 0 || u->sync_outer < 0) {
		err = u->zero ? -errno : -ENOMEM;
		pr_warn("cannot make the maps that wait for BPF programs: %s",
			strerror(-err));
		goto fail;
	}
	/* Slots an earlier agent was reclaiming: their keys out of the hash
	 * and steps 2 and 3 again, now, so that the next booked snapshot may
	 * free them. */
	err = snapshot_read(v, &s, false);
	if (!err)
		err = seen_reserve(u, s.capacity);
	for (i = 0; !err && s.slots_limbo && i < s.nr_peers; i++)
		if (s.peers[i].state == TG_SLOT_LIMBO)
			err = unhash(u, &s.peers[i]);
	if (!err && s.slots_limbo) {
		err = new_epoch(u);
		now = mono_ns();
		for (i = 0; !err && i < s.nr_peers; i++)
			if (s.peers[i].state == TG_SLOT_LIMBO)
				u->seen[s.peers[i].slot].synced_ns = now;
		if (!err)
			pr_info("slots: %u left being reclaimed, freed after "
				"the next booking", s.slots_limbo);
	}
	snapshot_free(&s);
	if (err)
		goto fail;
	*out = u;
	return 0;
fail:
	upkeep_close(u);
	return err;
}

void upkeep_close(struct upkeep *u)
{
	if (!u)
		return;
	if (u->sync_outer >= 0)
		close(u->sync_outer);
	if (u->sync_inner >= 0)
		close(u->sync_inner);
	free(u->seen);
	free(u->zero);
	free(u);
}

/* Step 5: zero slot @p of snapshot @s, mark it FREE, hand it back to the
 * kernel, in the queue of its range. */
static int free_slot(struct upkeep *u, const struct snapshot *s,
		     const struct peer_rec *p)
{
	struct tg_slot st = { .gen = p->gen, .state = TG_SLOT_FREE };
	__u32 slot = p->slot;
	int queue = slot >= s->capacity - s->backend_capacity ? u->v->free_be :
								u->v->free;

	if (bpf_map_update_elem(u->v->peer_cnt, &slot, u->zero, BPF_ANY) ||
	    bpf_map_update_elem(u->v->slot, &slot, &st, BPF_ANY) ||
	    bpf_map_update_elem(queue, NULL, &slot, BPF_ANY))
		return -errno;
	u->seen[slot].synced_ns = 0;
	return 0;
}

/* Step 1 for slot @p: LIMBO, and its key out of the hash. */
static int start_reclaim(struct upkeep *u, const struct peer_rec *p)
{
	struct tg_slot st;
	__u32 slot = p->slot;
	int err;

	if (bpf_map_lookup_elem(u->v->slot, &slot, &st))
		return -errno;
	if (st.state != TG_SLOT_USED || st.gen != p->gen)
		return 0;	/* not the slot it was: leave it */
	st.state = TG_SLOT_LIMBO;
	if (bpf_map_update_elem(u->v->slot, &slot, &st, BPF_ANY))
		return -errno;
	err = unhash(u, p);
	return err ? err : 1;
}

static __u64 counters_sum(const struct tg_counters *c)
{
	return c->bytes_in + c->packets_in + c->bytes_out + c->packets_out +
	       c->calls;
}

/* Steps 2 and 3 for the slots marked LIMBO since the last time. */
static int finish_pending(struct upkeep *u)
{
	__u64 now;
	__u32 i;
	int err;

	if (!u->pending)
		return 0;
	err = new_epoch(u);
	if (err)
		return err;
	now = mono_ns();
	for (i = 0; i < u->nr_seen; i++)
		if (u->seen[i].synced_ns == PENDING)
			u->seen[i].synced_ns = now;
	u->pending = false;
	return 0;
}

int upkeep_reclaim(struct upkeep *u, const struct snapshot *s, bool booked,
		   __u32 quiet)
{
	__u64 now = mono_ns(), quiet_ns = (__u64)quiet * 1000000000ULL;
	int freed = 0, started = 0, err = 0, r;
	size_t i;

	err = seen_reserve(u, s->capacity);
	for (i = 0; !err && i < s->nr_peers; i++) {
		const struct peer_rec *p = &s->peers[i];
		struct slot_seen *sn = &u->seen[p->slot];
		__u64 sum = counters_sum(&p->c);

		if (sn->gen != p->gen || sum != sn->sum) {
			sn->gen = p->gen;
			sn->sum = sum;
			sn->changed_ns = now;
		}
		if (p->state == TG_SLOT_LIMBO) {
			/* Steps 4 and 5: @s was read after the grace
			 * periods, so it holds the final counts. */
			if (booked && sn->synced_ns &&
			    sn->synced_ns != PENDING &&
			    sn->synced_ns <= s->taken_ns) {
				err = free_slot(u, s, p);
				freed += !err;
			}
			continue;
		}
		if (quiet && now - sn->changed_ns >= quiet_ns) {
			r = start_reclaim(u, p);
			if (r < 0)
				err = r;
			if (r > 0) {
				sn->synced_ns = PENDING;
				u->pending = true;
				started++;
			}
		}
	}
	/* Marked or not, slots left waiting are brought on. */
	if (!err)
		err = finish_pending(u);
	if (started && !err)
		pr_debug("slots: reclaiming %d quiet ones", started);
	if (!err && freed) {
		struct tg_clock c;

		/* For status: the kernel's maps outlive this agent. */
		err = read_clock(u, &c);
		if (!err) {
			c.reclaimed += freed;
			err = write_clock(u, &c);
		}
	}
	if (err) {
		pr_warn("slots: cannot reclaim: %s", strerror(-err));
		return err;
	}
	return freed;
}
