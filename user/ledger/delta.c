// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * delta.c - the ledger's arithmetic: what the kernel counted between two
 * snapshots of cumulative counters, and the checks of a day row's key.
 *
 * Counters only grow while the same kernel maps live. When they start
 * again (a reboot, maps created anew, an entry recreated), the value read
 * is all that was counted since the restart, so it is the delta: never
 * negative, never the same bytes twice. Pure functions, no I/O.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/ledger.h"
#include "ledger/tz.h"

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

static int check_name(const char *field, const char *s, size_t size,
		      bool empty_ok, char *err, size_t len)
{
	if (!memchr(s, '\0', size)) {
		snprintf(err, len, "%s: longer than %zu bytes", field,
			 size - 1);
		return -EINVAL;
	}
	if (!empty_ok && !*s) {
		snprintf(err, len, "%s: empty", field);
		return -EINVAL;
	}
	if (has_control(s)) {
		snprintf(err, len, "%s: control character in the name", field);
		return -EINVAL;
	}
	return 0;
}

/* Check a day row's key; see ledger.h. */
int ledger_key_check(const struct ledger_key *k, char *err, size_t len)
{
	enum tg_traffic t;

	if (check_name("host", k->host, sizeof(k->host), false, err, len) ||
	    check_name("tenant", k->tenant, sizeof(k->tenant), true, err,
		       len) ||
	    check_name("service", k->service, sizeof(k->service), true, err,
		       len) ||
	    check_name("backend", k->backend, sizeof(k->backend), true, err,
		       len))
		return -EINVAL;
	if (!memchr(k->day, '\0', sizeof(k->day)) || !day_valid(k->day)) {
		snprintf(err, len, "day: not a calendar day YYYY-MM-DD");
		return -EINVAL;
	}
	if (!memchr(k->traffic_type, '\0', sizeof(k->traffic_type)) ||
	    traffic_parse(k->traffic_type, &t)) {
		snprintf(err, len, "traffic_type: not a known traffic type");
		return -EINVAL;
	}
	return 0;
}

static int cmp_ctr(const struct ledger_counter *a,
		   const struct ledger_counter *b)
{
	__u32 n = a->key_len < b->key_len ? a->key_len : b->key_len;
	int c = memcmp(a->key, b->key, n);

	if (c)
		return c;
	return a->key_len < b->key_len ? -1 : a->key_len > b->key_len;
}

static int cmp_ptr(const void *pa, const void *pb)
{
	return cmp_ctr(*(const struct ledger_counter *const *)pa,
		       *(const struct ledger_counter *const *)pb);
}

/* Pointers to @s's counters sorted by key; -EINVAL on a duplicate or bad
 * key. */
static int sorted(const struct ledger_snap *s,
		  const struct ledger_counter ***out)
{
	const struct ledger_counter **v;
	size_t i;

	*out = NULL;
	if (!s->nr)
		return 0;
	v = malloc(s->nr * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < s->nr; i++) {
		if (!s->ctrs[i].key_len ||
		    s->ctrs[i].key_len > LEDGER_SNAP_KEY_MAX) {
			free(v);
			return -EINVAL;
		}
		v[i] = &s->ctrs[i];
	}
	qsort(v, s->nr, sizeof(*v), cmp_ptr);
	for (i = 1; i < s->nr; i++) {
		if (!cmp_ctr(v[i - 1], v[i])) {
			free(v);
			return -EINVAL;
		}
	}
	*out = v;
	return 0;
}

static const struct ledger_counter *
find(const struct ledger_counter **v, size_t n, const struct ledger_counter *k)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp_ctr(v[mid], k);

		if (!c)
			return v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Per-key deltas between two snapshots; see ledger.h. */
int ledger_delta(const struct ledger_snap *prev, const struct ledger_snap *cur,
		 struct ledger_counter *out)
{
	const struct ledger_counter **pv = NULL, **cv = NULL;
	bool restarted;
	int err, resets = 0;
	size_t i;

	restarted = !prev || !prev->seq ||
		    strncmp(prev->boot_id, cur->boot_id,
			    sizeof(cur->boot_id)) ||
		    prev->generation != cur->generation;
	/* Sorting cur finds duplicates in it. */
	err = sorted(cur, &cv);
	if (!err && !restarted)
		err = sorted(prev, &pv);
	free(cv);
	if (err)
		return err;

	for (i = 0; i < cur->nr; i++) {
		const struct ledger_counter *c = &cur->ctrs[i], *p = NULL;

		out[i] = *c;
		if (restarted || !(p = find(pv, prev->nr, c)))
			continue;
		if (c->bytes < p->bytes || c->packets < p->packets ||
		    c->calls < p->calls) {
			/* The entry was recreated: all of it is new. */
			resets++;
			continue;
		}
		out[i].bytes = c->bytes - p->bytes;
		out[i].packets = c->packets - p->packets;
		out[i].calls = c->calls - p->calls;
	}
	free(pv);
	/* A new boot or new maps restart every key. */
	if (restarted && prev && prev->seq)
		resets = cur->nr > INT_MAX ? INT_MAX : (int)cur->nr;
	return resets;
}
