// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * usage.c - the collect stage's classified usage: a snapshot of the
 * kernel's cumulative counters in, one classified row per counter set
 * out, with what each counted since the previous interval. See usage.h.
 *
 * Between intervals the stage remembers, per source, the counters it last
 * saw and the classification it made, in an open-addressing table that is
 * rebuilt from each snapshot: a source that left the kernel's maps leaves
 * the table too, so the table is as large as the maps, not as every peer
 * ever seen.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "collect/usage.h"
#include "lib/array.h"
#include "lib/hash.h"

struct entry {
	struct usage_src src;
	struct tg_counters prev;	/* the counters last seen */
	struct usage_class cls;
	__u64 cls_gen;
	unsigned int cfg_gen;		/* configuration cls was made with */
	__u32 id;
	bool used;
	bool kept;			/* carried into the next table */
};

struct usage {
	struct entry *tab;		/* open addressing */
	size_t cap;			/* power of two, or 0 */
	struct entry *spare;		/* the table before, kept for the
					 * next update: no fresh pages to
					 * fault in every interval */
	size_t cap_spare;
	size_t nr;
	__u32 *free_ids;		/* ids of sources that left */
	size_t nr_free, cap_free;
	__u32 next_id;
	__u64 next_gen;
	struct usage_row *rows;
	size_t cap_rows;
	struct usage_list list;
};

/* Current minus previous, or current when any counter went down (the
 * slot was made anew): never negative, never twice. */
static struct tg_counters counters_delta(const struct tg_counters *prev,
					 const struct tg_counters *cur)
{
	struct tg_counters d = *cur;

	if (cur->bytes_in >= prev->bytes_in &&
	    cur->packets_in >= prev->packets_in &&
	    cur->bytes_out >= prev->bytes_out &&
	    cur->packets_out >= prev->packets_out &&
	    cur->calls >= prev->calls) {
		d.bytes_in -= prev->bytes_in;
		d.packets_in -= prev->packets_in;
		d.bytes_out -= prev->bytes_out;
		d.packets_out -= prev->packets_out;
		d.calls -= prev->calls;
	}
	return d;
}

void usage_classify(const struct tg_config *cfg, const struct usage_src *src,
		    struct usage_class *out)
{
	const struct tg_peer_key *k = &src->key;

	memset(out, 0, sizeof(*out));
	if (src->kind == USAGE_PEER &&
	    !classify(cfg, k->role, k->addr, k->port, k->proto, k->svc, true,
		      &out->c)) {
		out->known = true;
		out->unexplained = out->c.flagged;
		return;
	}
	/* A client's bucket: billed by its frontend, as its peers would. */
	if (src->kind == USAGE_OVERFLOW && k->role == TG_ROLE_CLIENT) {
		classify_frontend(cfg, k->port, k->proto, k->svc, &out->c);
		out->unexplained = out->c.flagged;
		return;
	}
	/*
	 * Any other bucket has no address to classify; neither has a peer of
	 * a role classify() does not know (none reaches a peer key; were one
	 * to, its bytes are still counted). Billed, never free by a guess,
	 * noted as unexplained.
	 */
	memset(&out->c, 0, sizeof(out->c));
	out->unexplained = true;
	out->c.type = traffic_unattributed(k->role);
	out->c.billable = traffic_billable(out->c.type);
	out->c.reason = out->c.provider = out->c.region = "";
	out->c.service = out->c.tenant = out->c.backend = "";
	out->c.role = k->role;
	out->c.out_dir = true;
}

enum tg_traffic usage_type(const struct usage_row *r, bool out)
{
	return out ? r->cls.c.type : TG_TRAFFIC_INBOUND;
}

static void counters_add(struct tg_counters *a, const struct tg_counters *b)
{
	a->bytes_in += b->bytes_in;
	a->packets_in += b->packets_in;
	a->bytes_out += b->bytes_out;
	a->packets_out += b->packets_out;
	a->calls += b->calls;
}

void usage_totals(const struct usage_list *l, struct tg_counters *total)
{
	size_t i;

	memset(total, 0, sizeof(*total));
	for (i = 0; i < l->nr; i++)
		counters_add(total, &l->rows[i].total);
}

/* How many sources @s has: every peer, every bucket that counted. */
static size_t nr_sources(const struct snapshot *s)
{
	return s->nr_peers + s->nr_buckets;
}

/*
 * The @i-th source of @s (i < nr_sources(s)) into @src, and its counters
 * by bank (@bank) and in all (returned). Peers first, in the snapshot's
 * order, then the buckets in theirs.
 */
static const struct tg_counters *source_at(const struct snapshot *s, size_t i,
					   struct usage_src *src,
					   const struct tg_counters **bank)
{
	const struct bucket_rec *b;

	memset(src, 0, sizeof(*src));
	if (i < s->nr_peers) {
		src->kind = USAGE_PEER;
		src->gen = s->peers[i].gen;
		src->slot = s->peers[i].slot;
		src->key = s->peers[i].key;
		*bank = s->peers[i].bank;
		return &s->peers[i].c;
	}
	b = &s->buckets[i - s->nr_peers];
	src->kind = b->last_resort ? USAGE_LAST : USAGE_OVERFLOW;
	src->key.role = b->key.role;
	if (!b->last_resort) {
		src->key.port = b->key.port;
		src->key.proto = b->key.proto;
		src->key.svc = b->key.svc;
	}
	*bank = b->bank;
	return &b->c;
}

static struct entry *find(struct entry *tab, size_t cap,
			  const struct usage_src *src)
{
	size_t mask = cap - 1;
	size_t i = fnv_bytes(FNV_OFFSET, src, sizeof(*src)) & mask;

	while (tab[i].used && memcmp(&tab[i].src, src, sizeof(*src)))
		i = (i + 1) & mask;
	return &tab[i];
}

struct usage *usage_new(void)
{
	return calloc(1, sizeof(struct usage));
}

void usage_free(struct usage *u)
{
	if (!u)
		return;
	free(u->tab);
	free(u->spare);
	free(u->free_ids);
	free(u->rows);
	free(u);
}

int usage_update(struct usage *u, const struct tg_config *cfg,
		 unsigned int cfg_gen, const struct snapshot *s,
		 const struct usage_list **out)
{
	size_t n = nr_sources(s), cap = 64, i;
	struct entry *tab;

	while (cap < 2 * n)
		cap *= 2;
	/* Every allocation first: from here on nothing fails. */
	if (u->spare && u->cap_spare == cap) {
		tab = u->spare;
		memset(tab, 0, cap * sizeof(*tab));
	} else {
		tab = calloc(cap, sizeof(*tab));
	}
	if (!tab || ARRAY_GROW(u->rows, n, u->cap_rows, 64) ||
	    ARRAY_GROW(u->free_ids, u->nr_free + u->nr, u->cap_free, 64)) {
		if (tab != u->spare)
			free(tab);
		return -ENOMEM;
	}
	if (tab == u->spare)
		u->spare = NULL;
	for (i = 0; i < n; i++) {
		struct usage_row *r = &u->rows[i];
		const struct tg_counters *bank;
		const struct tg_counters *cur = source_at(s, i, &r->src, &bank);
		struct entry *e = find(tab, cap, &r->src), *old = NULL;

		if (u->cap)
			old = find(u->tab, u->cap, &r->src);
		if (old && old->used) {
			*e = *old;
			old->kept = true;
			e->kept = false;
		} else {
			memset(e, 0, sizeof(*e));
			e->used = true;
			e->src = r->src;
			e->id = u->nr_free ? u->free_ids[--u->nr_free] :
					     u->next_id++;
			e->cls_gen = 0;
		}
		if (!e->cls_gen || e->cfg_gen != cfg_gen) {
			usage_classify(cfg, &e->src, &e->cls);
			e->cls_gen = ++u->next_gen;
			e->cfg_gen = cfg_gen;
		}
		r->cls = e->cls;
		r->total = *cur;
		memcpy(r->bank, bank, sizeof(r->bank));
		r->delta = counters_delta(&e->prev, cur);
		r->id = e->id;
		r->cls_gen = e->cls_gen;
		e->prev = *cur;
	}
	/* Sources that left the maps give their ids back. */
	for (i = 0; i < u->cap; i++)
		if (u->tab[i].used && !u->tab[i].kept)
			u->free_ids[u->nr_free++] = u->tab[i].id;
	free(u->spare);
	u->spare = u->tab;
	u->cap_spare = u->cap;
	u->tab = tab;
	u->cap = cap;
	u->nr = n;
	u->list.rows = u->rows;
	u->list.nr = n;
	*out = &u->list;
	return 0;
}

int usage_of(const struct tg_config *cfg, const struct snapshot *s,
	     struct usage_list *out)
{
	size_t n = nr_sources(s), i;

	out->nr = 0;
	out->rows = calloc(n + 1, sizeof(*out->rows));
	if (!out->rows)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		struct usage_row *r = &out->rows[i];
		const struct tg_counters *bank;

		r->total = r->delta = *source_at(s, i, &r->src, &bank);
		memcpy(r->bank, bank, sizeof(r->bank));
		if (cfg)
			usage_classify(cfg, &r->src, &r->cls);
		r->id = i;
		r->cls_gen = i + 1;
	}
	out->nr = n;
	return 0;
}

void usage_list_free(struct usage_list *l)
{
	free(l->rows);
	l->rows = NULL;
	l->nr = 0;
}
