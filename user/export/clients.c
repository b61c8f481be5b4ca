// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * clients.c - the metrics endpoint's table of clients. See clients.h.
 *
 * Open addressing with linear probing; a deletion shifts back the entries
 * that probed past the freed slot (Knuth's algorithm R), so lookups never
 * meet tombstones. Entries move on deletion: no pointer into the table
 * survives a call that may delete.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <linux/types.h>

#include "export/clients.h"

struct client {
	unsigned char key[CLIENT_KEY_SIZE];
	bool used;
	unsigned int conns;
	double tokens;		/* checks it may start, as of stamp */
	double stamp;
};

struct clients {
	struct client *v;
	size_t size;		/* slots, a power of two */
	size_t used;
	__u64 seed;
	unsigned int burst;
	double refill;
};

void client_key(const struct sockaddr *sa, unsigned char key[CLIENT_KEY_SIZE])
{
	memset(key, 0, CLIENT_KEY_SIZE);
	if (!sa)
		return;
	if (sa->sa_family == AF_INET) {
		/* IPv4-mapped, as a dual-stack socket sees it */
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a =
			&((const struct sockaddr_in6 *)sa)->sin6_addr;

		memcpy(key, a->s6_addr, IN6_IS_ADDR_V4MAPPED(a) ? 16 : 8);
	}
}

const char *client_key_str(const unsigned char key[CLIENT_KEY_SIZE],
			   char *buf, size_t len)
{
	static const unsigned char mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (!len)
		return buf;
	buf[0] = '\0';
	if (!memcmp(key, mapped, sizeof(mapped)))
		inet_ntop(AF_INET, key + 12, buf, len);
	else if (inet_ntop(AF_INET6, key, buf, len) &&
		 strlen(buf) + 4 <= len)
		strcat(buf, "/64");
	return buf;
}

struct clients *clients_new(unsigned int max_conns, unsigned int burst,
			    double refill)
{
	struct clients *t = calloc(1, sizeof(*t));
	size_t size = 256;

	if (!t)
		return NULL;
	/* Clients with connections fill at most half; those only
	 * remembered for their allowance, the rest. */
	while (size < 2 * (size_t)max_conns + 64)
		size *= 2;
	t->v = calloc(size, sizeof(*t->v));
	if (!t->v ||
	    getrandom(&t->seed, sizeof(t->seed), 0) != sizeof(t->seed)) {
		free(t->v);
		free(t);
		return NULL;
	}
	t->size = size;
	t->burst = burst;
	t->refill = refill > 0 ? refill : 1;
	return t;
}

void clients_free(struct clients *t)
{
	if (!t)
		return;
	free(t->v);
	free(t);
}

size_t clients_count(const struct clients *t)
{
	return t->used;
}

/* FNV-1a over the key, seeded. */
static size_t slot_of(const struct clients *t,
		      const unsigned char key[CLIENT_KEY_SIZE])
{
	__u64 h = 0xcbf29ce484222325ull ^ t->seed;
	int i;

	for (i = 0; i < CLIENT_KEY_SIZE; i++)
		h = (h ^ key[i]) * 0x100000001b3ull;
	return (size_t)(h ^ (h >> 29)) & (t->size - 1);
}

static double tokens(const struct clients *t, const struct client *c,
		     double now)
{
	double v = c->tokens + (now - c->stamp) / t->refill;

	return v > t->burst ? t->burst : v;
}

/* Nothing to remember: no connection, a full allowance. */
static bool idle(const struct clients *t, const struct client *c, double now)
{
	return !c->conns && tokens(t, c, now) >= t->burst;
}

static void delete_at(struct clients *t, size_t i)
{
	size_t mask = t->size - 1, j = i, h;

	for (;;) {
		j = (j + 1) & mask;
		if (!t->v[j].used)
			break;
		h = slot_of(t, t->v[j].key);
		/* j may fill the hole at i unless its home lies
		 * cyclically in (i, j]. */
		if (i <= j ? (h <= i || h > j) : (h <= i && h > j)) {
			t->v[i] = t->v[j];
			i = j;
		}
	}
	t->v[i].used = false;
	t->used--;
}

/* Forget what need not be remembered; with @force, every client without
 * a connection (their allowances start afresh). */
static void prune(struct clients *t, double now, bool force)
{
	size_t i = 0;

	while (i < t->size) {
		struct client *c = &t->v[i];

		if (c->used && (idle(t, c, now) || (force && !c->conns)))
			delete_at(t, i);	/* slot i holds another now */
		else
			i++;
	}
}

static bool full(const struct clients *t)
{
	return (t->used + 1) * 4 > t->size * 3;
}

/* @key's entry; with @add, made when missing. NULL: none, or no room. */
static struct client *get(struct clients *t,
			  const unsigned char key[CLIENT_KEY_SIZE], bool add,
			  bool force, double now)
{
	size_t mask = t->size - 1, i;

	for (i = slot_of(t, key); t->v[i].used; i = (i + 1) & mask)
		if (!memcmp(t->v[i].key, key, CLIENT_KEY_SIZE))
			return &t->v[i];
	if (!add)
		return NULL;
	if (full(t)) {
		prune(t, now, false);
		if (full(t) && force)
			prune(t, now, true);
		if (full(t))
			return NULL;
		for (i = slot_of(t, key); t->v[i].used; i = (i + 1) & mask)
			;
	}
	memset(&t->v[i], 0, sizeof(t->v[i]));
	memcpy(t->v[i].key, key, CLIENT_KEY_SIZE);
	t->v[i].used = true;
	t->v[i].tokens = t->burst;
	t->v[i].stamp = now;
	t->used++;
	return &t->v[i];
}

static void put(struct clients *t, struct client *c, double now)
{
	if (idle(t, c, now))
		delete_at(t, c - t->v);
}

unsigned int clients_conns(struct clients *t,
			   const unsigned char key[CLIENT_KEY_SIZE])
{
	struct client *c = get(t, key, false, false, 0);

	return c ? c->conns : 0;
}

int clients_conn_add(struct clients *t, const unsigned char key[CLIENT_KEY_SIZE],
		     double now)
{
	/* A connection may take the place of an allowance. */
	struct client *c = get(t, key, true, true, now);

	if (!c)
		return -ENOSPC;
	c->conns++;
	return 0;
}

void clients_conn_del(struct clients *t, const unsigned char key[CLIENT_KEY_SIZE],
		      double now)
{
	struct client *c = get(t, key, false, false, now);

	if (!c)
		return;
	if (c->conns)
		c->conns--;
	put(t, c, now);
}

int clients_take(struct clients *t, const unsigned char key[CLIENT_KEY_SIZE],
		 double now)
{
	struct client *c = get(t, key, true, false, now);
	double v;

	if (!c)
		return 0;
	v = tokens(t, c, now);
	if (v < 1) {
		double w = (1 - v) * t->refill;
		int s = (int)w;

		return s < w || s < 1 ? s + 1 : s;	/* rounded up */
	}
	c->tokens = v - 1;
	c->stamp = now;
	return 0;
}

void clients_refund(struct clients *t, const unsigned char key[CLIENT_KEY_SIZE],
		    double now)
{
	struct client *c = get(t, key, false, false, now);

	if (!c)
		return;
	c->tokens = tokens(t, c, now) + 1;
	if (c->tokens > t->burst)
		c->tokens = t->burst;
	c->stamp = now;
	put(t, c, now);
}
