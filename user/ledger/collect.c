// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * collect.c - the collection stage: the kernel's cumulative counters in,
 * deltas classified into the ledger's day rows out, one transaction per
 * interval. See collect.h for the order of things and why deltas are
 * taken per raw kernel key before anything is classified.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "classify/classify.h"
#include "ledger/collect.h"
#include "ledger/tz.h"
#include "lib/log.h"

#define BOOT_ID_PATH "/proc/sys/kernel/random/boot_id"

struct collect {
	struct ledger *l;
	struct tz *tz;
	int lock;			/* flock()ed fd of the ledger file */
	char host[LEDGER_NAME_SIZE];
	char boot_id[LEDGER_BOOT_ID_SIZE];
	struct ledger_snap prev;	/* the last snapshot committed */
};

static int read_boot_id(char *buf, size_t len)
{
	FILE *f = fopen(BOOT_ID_PATH, "re");
	int err = 0;

	if (!f) {
		err = -errno;
		pr_warn("cannot read %s: %s", BOOT_ID_PATH, strerror(-err));
		return err;
	}
	if (!fgets(buf, len, f)) {
		pr_warn("cannot read %s: empty", BOOT_ID_PATH);
		err = -EIO;
	}
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return err;
}

/*
 * Two agents collecting into one ledger would each take the other's
 * snapshot for their own and book the difference twice. flock() on a
 * descriptor of our own: SQLite's POSIX locks are separate, and the
 * descriptor stays open until after the ledger is closed (closing another
 * descriptor of the file would drop SQLite's locks).
 */
static int lock_ledger(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		pr_warn("ledger '%s': %s", path, strerror(errno));
		return -errno;
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		int err = -errno;

		if (err == -EWOULDBLOCK) {
			pr_warn("ledger '%s': another tollgate agent collects "
				"into it",
				path);
			err = -EBUSY;
		} else {
			pr_warn("ledger '%s': cannot lock: %s", path,
				strerror(-err));
		}
		close(fd);
		return err;
	}
	return fd;
}

/* mkdir -p of the directory @path is in: 0700, the ledger is private. */
static int make_parents(const char *path)
{
	char dir[4096];
	char *p;

	if (strlen(path) >= sizeof(dir)) {
		pr_warn("ledger '%s': path too long", path);
		return -ENAMETOOLONG;
	}
	strcpy(dir, path);
	p = strrchr(dir, '/');
	if (!p || p == dir)
		return 0;
	*p = '\0';
	for (p = dir + 1; ; p++) {
		if (*p && *p != '/')
			continue;
		char c = *p;

		*p = '\0';
		if (mkdir(dir, 0700) && errno != EEXIST) {
			int err = -errno;

			pr_warn("ledger '%s': cannot create directory '%s': %s",
				path, dir, strerror(-err));
			return err;
		}
		*p = c;
		if (!c)
			return 0;
	}
}

/* Open the ledger for collection; see collect.h. */
int collect_open(struct collect **out, const struct collect_opts *o)
{
	struct ledger_key k = {};
	struct collect *c;
	char msg[128];
	int err;

	*out = NULL;
	snprintf(k.day, sizeof(k.day), "2000-01-01");
	snprintf(k.traffic_type, sizeof(k.traffic_type), "inbound");
	if (strlen(o->host) >= sizeof(k.host)) {
		pr_warn("host name '%s' is longer than %zu bytes", o->host,
			sizeof(k.host) - 1);
		return -EINVAL;
	}
	strcpy(k.host, o->host);
	if (ledger_key_check(&k, msg, sizeof(msg))) {
		pr_warn("host name '%s': %s", o->host, msg);
		return -EINVAL;
	}

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->lock = -1;
	strcpy(c->host, o->host);
	if (o->boot_id)
		snprintf(c->boot_id, sizeof(c->boot_id), "%s", o->boot_id);
	else if ((err = read_boot_id(c->boot_id, sizeof(c->boot_id))))
		goto fail;

	err = make_parents(o->ledger);
	if (!err)
		err = ledger_open(&c->l, o->ledger, LEDGER_CREATE,
				  o->time_zone);
	if (err)
		goto fail;
	c->lock = lock_ledger(o->ledger);
	if (c->lock < 0) {
		err = c->lock;
		goto fail;
	}
	err = tz_load(&c->tz, ledger_time_zone(c->l));
	if (err) {
		pr_warn("ledger '%s': cannot load its time zone %s: %s",
			o->ledger, ledger_time_zone(c->l), strerror(-err));
		goto fail;
	}
	err = ledger_last_snapshot(c->l, &c->prev);
	if (err)
		goto fail;
	pr_debug("ledger '%s': time zone %s, last snapshot %llu", o->ledger,
		 tz_name(c->tz), (unsigned long long)c->prev.seq);
	*out = c;
	return 0;
fail:
	collect_close(c);
	return err;
}

void collect_close(struct collect *c)
{
	if (!c)
		return;
	ledger_snap_free(&c->prev);
	ledger_close(c->l);
	if (c->lock >= 0)
		close(c->lock);
	tz_free(c->tz);
	free(c);
}

struct ledger *collect_ledger(const struct collect *c)
{
	return c->l;
}

/* When the interval from @t ends; see collect.h. */
time_t collect_next(const struct collect *c, time_t t, __u32 interval)
{
	time_t midnight;

	if (day_next(t, c->tz, &midnight) || midnight > t + (time_t)interval)
		return t + interval;
	return midnight;
}

/* The snapshot key of one kernel counter set in one direction. */
static void set_key(struct ledger_counter *k, __u8 kind, __u8 dir,
		    const struct tg_peer_key *pk, __u8 role)
{
	memset(k, 0, sizeof(*k));
	k->key[0] = kind;
	k->key[1] = dir;
	if (kind == COLLECT_KEY_PEER) {
		struct tg_peer_key raw = *pk;

		raw.pad = 0;
		memcpy(&k->key[2], &raw, sizeof(raw));
		k->key_len = 2 + sizeof(raw);
	} else {
		k->key[2] = role;
		k->key_len = 3;
	}
}

/* Add one direction of @tc to @v unless it counted nothing. */
static void add_ctr(struct ledger_counter *v, size_t *n, __u8 kind,
		    const struct tg_peer_key *pk, __u8 role,
		    const struct tg_counters *tc)
{
	/* Calls are the clients' requests: booked with the bytes in. */
	if (tc->bytes_in || tc->packets_in || tc->calls) {
		set_key(&v[*n], kind, COLLECT_IN, pk, role);
		v[*n].bytes = tc->bytes_in;
		v[*n].packets = tc->packets_in;
		v[*n].calls = tc->calls;
		(*n)++;
	}
	if (tc->bytes_out || tc->packets_out) {
		set_key(&v[*n], kind, COLLECT_OUT, pk, role);
		v[*n].bytes = tc->bytes_out;
		v[*n].packets = tc->packets_out;
		(*n)++;
	}
}

/*
 * The counters of @s as a ledger snapshot: each peer and each overflow
 * bucket, each direction, under its raw key. Keys that counted nothing are
 * left out: a key never goes back to zero while its maps live, and new
 * maps change the generation.
 */
static int to_snap(const struct collect *c, const struct snapshot *s,
		   struct ledger_snap *out)
{
	size_t n = 0, i;

	memset(out, 0, sizeof(*out));
	out->ctrs = calloc(2 * (s->nr_peers + TG_NR_ROLES) + 1,
			   sizeof(*out->ctrs));
	if (!out->ctrs)
		return -ENOMEM;
	for (i = 0; i < s->nr_peers; i++)
		add_ctr(out->ctrs, &n, COLLECT_KEY_PEER, &s->peers[i].key, 0,
			&s->peers[i].c);
	for (i = 0; i < TG_NR_ROLES; i++)
		add_ctr(out->ctrs, &n, COLLECT_KEY_OVERFLOW, NULL, i,
			&s->overflow[i]);
	out->nr = n;
	snprintf(out->boot_id, sizeof(out->boot_id), "%s", c->boot_id);
	out->generation = s->meta.created_ns;
	return 0;
}

static void set_name(char *dst, size_t size, const char *s)
{
	snprintf(dst, size, "%s", s ? s : "");
}

/* Bytes nobody can attribute: billed, never free by a guess, noted. */
static void unattributed_row(__u8 role, bool out, struct ledger_usage *r)
{
	const char *type = traffic_name(out ? traffic_unattributed(role) :
					      TG_TRAFFIC_INBOUND);

	set_name(r->k.traffic_type, sizeof(r->k.traffic_type), type);
	r->unexplained_bytes = out ? r->bytes : 0;
}

/* The day row one delta belongs to, less the host and day. */
static void delta_row(const struct tg_config *cfg,
		      const struct ledger_counter *d, struct ledger_usage *r)
{
	bool out = d->key[1] == COLLECT_OUT;
	struct tg_class res;
	struct tg_peer_key pk;

	r->bytes = d->bytes;
	r->packets = d->packets;
	r->calls = d->calls;
	if (d->key[0] == COLLECT_KEY_OVERFLOW) {
		unattributed_row(d->key[2], out, r);
		return;
	}
	memcpy(&pk, &d->key[2], sizeof(pk));
	/* A role classify() does not know never reaches a peer key; were
	 * it to, its bytes are still booked rather than stop the ledger. */
	if (classify(cfg, pk.role, pk.addr, pk.port, pk.proto, out, &res)) {
		unattributed_row(pk.role, out, r);
		return;
	}
	set_name(r->k.traffic_type, sizeof(r->k.traffic_type),
		 traffic_name(res.type));
	set_name(r->k.tenant, sizeof(r->k.tenant), res.tenant);
	set_name(r->k.service, sizeof(r->k.service), res.service);
	if (pk.role == TG_ROLE_BACKEND)
		set_name(r->k.backend, sizeof(r->k.backend), res.backend);
	r->unexplained_bytes = out && res.flagged ? d->bytes : 0;
}

static int cmp_row(const void *pa, const void *pb)
{
	const struct ledger_usage *a = pa, *b = pb;

	return memcmp(&a->k, &b->k, sizeof(a->k));
}

static int add_u64(__u64 *a, __u64 b)
{
	return __builtin_add_overflow(*a, b, a) ? -EOVERFLOW : 0;
}

/*
 * Classify the deltas @d of @cur into day rows of @day, summed per key (the
 * keys are zero-filled, so they compare as bytes). Sets *@rows, *@nr.
 */
static int make_rows(const struct collect *c, const struct tg_config *cfg,
		     const char *day, const struct ledger_counter *d, size_t n,
		     struct ledger_usage **rows, size_t *nr)
{
	struct ledger_usage *v;
	size_t i, j = 0;
	int err = 0;

	*rows = NULL;
	*nr = 0;
	v = calloc(n + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		if (!d[i].bytes && !d[i].packets && !d[i].calls)
			continue;
		set_name(v[j].k.host, sizeof(v[j].k.host), c->host);
		set_name(v[j].k.day, sizeof(v[j].k.day), day);
		delta_row(cfg, &d[i], &v[j]);
		j++;
	}
	if (j)
		qsort(v, j, sizeof(*v), cmp_row);
	for (i = 0, n = j, j = 0; i < n; i++) {
		if (j && !cmp_row(&v[j - 1], &v[i])) {
			if ((err = add_u64(&v[j - 1].bytes, v[i].bytes)) ||
			    (err = add_u64(&v[j - 1].packets, v[i].packets)) ||
			    (err = add_u64(&v[j - 1].calls, v[i].calls)) ||
			    (err = add_u64(&v[j - 1].unexplained_bytes,
					   v[i].unexplained_bytes)))
				goto fail;
			continue;
		}
		v[j++] = v[i];
	}
	*rows = v;
	*nr = j;
	return 0;
fail:
	free(v);
	return err;
}

/* One attempt at committing @cur on top of c->prev. */
static int commit_once(struct collect *c, const struct tg_config *cfg,
		       struct ledger_snap *cur, const char *day)
{
	struct ledger_counter *d;
	struct ledger_usage *rows = NULL;
	size_t nr = 0;
	int err;

	cur->seq = c->prev.seq + 1;
	d = calloc(cur->nr + 1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	err = ledger_delta(&c->prev, cur, d);
	if (err > 0)
		pr_info("ledger: %d counters started again from zero (%s)",
			err,
			!c->prev.seq ? "first snapshot" :
			strcmp(c->prev.boot_id, cur->boot_id) ? "new boot" :
			c->prev.generation != cur->generation ? "new maps" :
								 "entries recreated");
	if (err >= 0)
		err = make_rows(c, cfg, day, d, cur->nr, &rows, &nr);
	free(d);
	if (!err)
		err = ledger_commit(c->l, rows, nr, cur);
	free(rows);
	if (!err)
		pr_debug("ledger: snapshot %llu committed, %zu rows on %s",
			 (unsigned long long)cur->seq, nr, day);
	return err;
}

/* Commit one interval; see collect.h. */
int collect_commit(struct collect *c, const struct tg_config *cfg,
		   const struct snapshot *s, time_t due)
{
	struct ledger_snap cur;
	char day[LEDGER_DAY_SIZE];
	int err;

	err = day_of(due - 1, c->tz, day, sizeof(day));
	if (err)
		return err;
	err = to_snap(c, s, &cur);
	if (err)
		return err;
	cur.taken_at = due;
	err = commit_once(c, cfg, &cur, day);
	if (err == -ESTALE) {
		/* Someone else wrote the ledger: start from what it holds. */
		ledger_snap_free(&c->prev);
		err = ledger_last_snapshot(c->l, &c->prev);
		if (!err)
			err = commit_once(c, cfg, &cur, day);
	}
	if (err) {
		ledger_snap_free(&cur);
		return err;
	}
	ledger_snap_free(&c->prev);
	c->prev = cur;
	return 0;
}
