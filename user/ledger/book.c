// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * book.c - the ledger stage's first step: the interval's classified usage
 * in, the day rows it adds up to out, one transaction per interval. See
 * book.h for the order of things and why deltas are taken per raw kernel
 * key against the snapshot the ledger last committed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "ledger/book.h"
#include "ledger/tz.h"
#include "lib/hash.h"
#include "lib/log.h"

#define BOOT_ID_PATH "/proc/sys/kernel/random/boot_id"

struct book {
	struct ledger *l;
	struct tz *tz;
	int lock;			/* flock()ed fd of the ledger file */
	char host[LEDGER_NAME_SIZE];
	char boot_id[LEDGER_BOOT_ID_SIZE];
	struct ledger_snap prev;	/* the last snapshot committed */
	bool start_unseen;		/* book_opts; until the first commit */
	__u64 opened_ns;		/* CLOCK_REALTIME of book_open(), the
					 * clock of tg_meta.created_ns */
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

/* Open the ledger for collection; see book.h. */
int book_open(struct book **out, const struct book_opts *o)
{
	struct timespec now;
	struct ledger_key k = {};
	struct book *b;
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

	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->lock = -1;
	strcpy(b->host, o->host);
	b->start_unseen = o->start_unseen;
	clock_gettime(CLOCK_REALTIME, &now);
	b->opened_ns = now.tv_sec * 1000000000ull + now.tv_nsec;
	if (o->boot_id)
		snprintf(b->boot_id, sizeof(b->boot_id), "%s", o->boot_id);
	else if ((err = read_boot_id(b->boot_id, sizeof(b->boot_id))))
		goto fail;

	err = make_parents(o->ledger);
	if (!err)
		err = ledger_open(&b->l, o->ledger, LEDGER_CREATE,
				  o->time_zone);
	if (err)
		goto fail;
	b->lock = lock_ledger(o->ledger);
	if (b->lock < 0) {
		err = b->lock;
		goto fail;
	}
	err = tz_load(&b->tz, ledger_time_zone(b->l));
	if (err) {
		pr_warn("ledger '%s': cannot load its time zone %s: %s",
			o->ledger, ledger_time_zone(b->l), strerror(-err));
		goto fail;
	}
	err = ledger_last_snapshot(b->l, &b->prev);
	if (err)
		goto fail;
	pr_debug("ledger '%s': time zone %s, last snapshot %llu", o->ledger,
		 tz_name(b->tz), (unsigned long long)b->prev.seq);
	*out = b;
	return 0;
fail:
	book_close(b);
	return err;
}

void book_close(struct book *b)
{
	if (!b)
		return;
	ledger_snap_free(&b->prev);
	ledger_close(b->l);
	if (b->lock >= 0)
		close(b->lock);
	tz_free(b->tz);
	free(b);
}

struct ledger *book_ledger(const struct book *b)
{
	return b->l;
}

/* When the interval from @t ends; see book.h. */
time_t book_next(const struct book *b, time_t t, __u32 interval)
{
	time_t midnight;

	if (day_next(t, b->tz, &midnight) || midnight > t + (time_t)interval)
		return t + interval;
	return midnight;
}

/* The snapshot key of one counter set's bank @bank in one direction: the
 * usage source, whole. */
static void set_key(struct ledger_counter *k, const struct usage_src *src,
		    __u8 dir, __u8 bank)
{
	memset(k, 0, sizeof(*k));
	k->key[0] = BOOK_KEY_SOURCE;
	k->key[1] = dir;
	k->key[2] = bank;
	memcpy(&k->key[3], src, sizeof(*src));
	k->key_len = 3 + sizeof(*src);
}

/*
 * The counters of @l as a ledger snapshot: each row, each bank, each
 * direction, under its raw kernel key, with (*@of)[i] the row of counter
 * i. A direction that counted nothing is left out: a key never goes back
 * to zero while its maps live, and new maps change the generation.
 */
static int to_snap(const struct book *b, const struct usage_list *l,
		   __u64 generation, struct ledger_snap *out,
		   const struct usage_row ***of)
{
	size_t n = 0, i;
	int k;

	memset(out, 0, sizeof(*out));
	out->ctrs = calloc(2 * TG_NR_BANKS * l->nr + 1, sizeof(*out->ctrs));
	*of = calloc(2 * TG_NR_BANKS * l->nr + 1, sizeof(**of));
	if (!out->ctrs || !*of) {
		free(out->ctrs);
		free(*of);
		return -ENOMEM;
	}
	for (i = 0; i < l->nr; i++) {
		const struct usage_row *r = &l->rows[i];

		for (k = 0; k < TG_NR_BANKS; k++) {
			const struct tg_counters *tc = &r->bank[k];

			/* Calls are the clients' requests: booked with the
			 * bytes in. */
			if (tc->bytes_in || tc->packets_in || tc->calls) {
				set_key(&out->ctrs[n], &r->src, BOOK_IN, k);
				out->ctrs[n].bytes = tc->bytes_in;
				out->ctrs[n].packets = tc->packets_in;
				out->ctrs[n].calls = tc->calls;
				(*of)[n++] = r;
			}
			if (tc->bytes_out || tc->packets_out) {
				set_key(&out->ctrs[n], &r->src, BOOK_OUT, k);
				out->ctrs[n].bytes = tc->bytes_out;
				out->ctrs[n].packets = tc->packets_out;
				(*of)[n++] = r;
			}
		}
	}
	out->nr = n;
	snprintf(out->boot_id, sizeof(out->boot_id), "%s", b->boot_id);
	out->generation = generation;
	return 0;
}

static void set_name(char *dst, size_t size, const char *s)
{
	snprintf(dst, size, "%s", s ? s : "");
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

static int add_usage(struct ledger_usage *a, const struct ledger_usage *b)
{
	int err;

	if ((err = add_u64(&a->bytes, b->bytes)) ||
	    (err = add_u64(&a->packets, b->packets)) ||
	    (err = add_u64(&a->calls, b->calls)))
		return err;
	return add_u64(&a->unexplained_bytes, b->unexplained_bytes);
}

/*
 * What a day row of one interval depends on, as the usage stage made it.
 * The names point into one configuration, whose equal names are one
 * string, so equal pointers are equal names; different pointers may still
 * be equal names (a built-in ""), which the final sort merges.
 */
struct group {
	const char *tenant, *service, *backend;
	enum tg_traffic type;
	int bank;			/* the day's bank */
	struct ledger_usage sum;	/* counters only, key unset */
	bool used;
};

struct groups {
	struct group *v;
	size_t nr, cap;		/* cap: power of two */
};

static bool same_group(const struct group *g, const struct group *k)
{
	return g->tenant == k->tenant && g->service == k->service &&
	       g->backend == k->backend && g->type == k->type &&
	       g->bank == k->bank;
}

static struct group *group_slot(struct group *v, size_t cap,
				const struct group *k)
{
	__u64 h = fnv_bytes(FNV_OFFSET, &k->tenant, sizeof(k->tenant));
	size_t i;

	h = fnv_bytes(h, &k->service, sizeof(k->service));
	h = fnv_bytes(h, &k->backend, sizeof(k->backend));
	h = fnv_bytes(h, &k->type, sizeof(k->type));
	h = fnv_bytes(h, &k->bank, sizeof(k->bank));
	for (i = h & (cap - 1); v[i].used && !same_group(&v[i], k);
	     i = (i + 1) & (cap - 1))
		;
	return &v[i];
}

/* The group of @k, made when new. NULL when out of memory. */
static struct group *group_get(struct groups *g, const struct group *k)
{
	struct group *slot;

	if ((g->nr + 1) * 2 > g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 64, i;
		struct group *v = calloc(cap, sizeof(*v));

		if (!v)
			return NULL;
		for (i = 0; i < g->cap; i++)
			if (g->v[i].used)
				*group_slot(v, cap, &g->v[i]) = g->v[i];
		free(g->v);
		g->v = v;
		g->cap = cap;
	}
	slot = group_slot(g->v, g->cap, k);
	if (!slot->used) {
		*slot = *k;
		slot->used = true;
		g->nr++;
	}
	return slot;
}

/*
 * The deltas @d of counters whose rows are @of, as day rows, each on the
 * day of its bank (@days[bank]), summed per key. The deltas are first
 * added up per group of the names the usage stage gave and the bank (a
 * handful for thousands of peers), and only the groups are made into day
 * rows. Sets *@rows, *@nr.
 */
static int make_rows(const struct book *b, const struct usage_row *const *of,
		     char days[TG_NR_BANKS][LEDGER_DAY_SIZE],
		     const struct ledger_counter *d, size_t n,
		     struct ledger_usage **rows, size_t *nr)
{
	struct groups g = {};
	struct ledger_usage *v = NULL, u;
	size_t i, j = 0;
	int err = 0;

	*rows = NULL;
	*nr = 0;
	for (i = 0; i < n && !err; i++) {
		const struct usage_row *r = of[i];
		const struct tg_class *c = &r->cls.c;
		bool out = d[i].key[1] == BOOK_OUT;
		struct group k = {
			.tenant = c->tenant,
			.service = c->service,
			.backend = r->src.key.role == TG_ROLE_BACKEND ?
					   c->backend : "",
			.type = usage_type(r, out),
			.bank = d[i].key[2] % TG_NR_BANKS,
		}, *grp;

		if (!d[i].bytes && !d[i].packets && !d[i].calls)
			continue;
		grp = group_get(&g, &k);
		if (!grp) {
			err = -ENOMEM;
			break;
		}
		u.bytes = d[i].bytes;
		u.packets = d[i].packets;
		u.calls = d[i].calls;
		/* Bytes out that no rule explains are billed all the same,
		 * and counted apart. */
		u.unexplained_bytes = out && r->cls.unexplained ? d[i].bytes :
								   0;
		err = add_usage(&grp->sum, &u);
	}
	if (!err && !(v = calloc(g.nr + 1, sizeof(*v))))
		err = -ENOMEM;
	for (i = 0; !err && i < g.cap; i++) {
		const struct group *grp = &g.v[i];

		if (!grp->used)
			continue;
		v[j] = grp->sum;
		memset(&v[j].k, 0, sizeof(v[j].k));
		set_name(v[j].k.host, sizeof(v[j].k.host), b->host);
		set_name(v[j].k.day, sizeof(v[j].k.day), days[grp->bank]);
		set_name(v[j].k.tenant, sizeof(v[j].k.tenant), grp->tenant);
		set_name(v[j].k.service, sizeof(v[j].k.service), grp->service);
		set_name(v[j].k.backend, sizeof(v[j].k.backend), grp->backend);
		set_name(v[j].k.traffic_type, sizeof(v[j].k.traffic_type),
			 traffic_name(grp->type));
		j++;
	}
	free(g.v);
	if (j)
		qsort(v, j, sizeof(*v), cmp_row);
	for (i = 0, n = j, j = 0; !err && i < n; i++) {
		if (j && !cmp_row(&v[j - 1], &v[i]))
			err = add_usage(&v[j - 1], &v[i]);
		else
			v[j++] = v[i];
	}
	if (err) {
		free(v);
		return err;
	}
	*rows = v;
	*nr = j;
	return 0;
}

/* One attempt at committing @cur (rows @of) on top of b->prev. */
static int commit_once(struct book *b, const struct usage_row *const *of,
		       struct ledger_snap *cur,
		       char days[TG_NR_BANKS][LEDGER_DAY_SIZE])
{
	struct ledger_counter *d;
	struct ledger_usage *rows = NULL;
	size_t nr = 0;
	int err;

	cur->seq = b->prev.seq + 1;
	d = calloc(cur->nr + 1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	err = ledger_delta(&b->prev, cur, d);
	if (err > 0)
		pr_info("ledger: %d counters started again from zero (%s)",
			err,
			!b->prev.seq ? "first snapshot" :
			strcmp(b->prev.boot_id, cur->boot_id) ? "new boot" :
			b->prev.generation != cur->generation ? "new maps" :
								 "entries recreated");
	if (err >= 0)
		err = make_rows(b, of, days, d, cur->nr, &rows, &nr);
	free(d);
	if (!err)
		err = ledger_commit(b->l, rows, nr, cur);
	free(rows);
	if (!err)
		pr_debug("ledger: snapshot %llu committed, %zu rows",
			 (unsigned long long)cur->seq, nr);
	return err;
}

/*
 * The first commit with o->start_unseen: when @cur is of maps the ledger
 * never saw, made before it was opened, commit it as the ledger's
 * starting point, booking nothing, and say so. Returns 1 when it did, 0
 * when the counts are to be booked as usual, or -Exxx.
 */
static int commit_unseen(struct book *b, struct ledger_snap *cur)
{
	struct ledger_counter sum = {};
	time_t made = cur->generation / 1000000000ull;
	char when[32];
	struct tm tm;
	size_t i;
	int err, tries;

	for (tries = 0; tries < 2; tries++) {
		const struct ledger_snap *p = &b->prev;
		bool seen = p->seq && !strcmp(p->boot_id, cur->boot_id) &&
			    p->generation == cur->generation;

		memset(&sum, 0, sizeof(sum));
		for (i = 0; i < cur->nr; i++) {
			sum.bytes += cur->ctrs[i].bytes;
			sum.packets += cur->ctrs[i].packets;
			sum.calls += cur->ctrs[i].calls;
		}
		/* Maps the ledger saw, maps made since it was opened (by this
		 * agent's start), or nothing counted: book as usual. */
		if (seen || cur->generation >= b->opened_ns ||
		    (!sum.bytes && !sum.packets && !sum.calls)) {
			b->start_unseen = false;
			return 0;
		}
		cur->seq = p->seq + 1;
		err = ledger_commit(b->l, NULL, 0, cur);
		if (err != -ESTALE)
			break;
		/* Someone else wrote the ledger: judge by what it holds. */
		ledger_snap_free(&b->prev);
		err = ledger_last_snapshot(b->l, &b->prev);
		if (err)
			return err;
	}
	if (err)
		return err;
	b->start_unseen = false;
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ",
		 gmtime_r(&made, &tm));
	pr_warn("ledger '%s': the pinned maps (made %s) counted %llu bytes, "
		"%llu packets and %llu calls before this ledger saw them (%s): "
		"taken as its starting point, not booked; 'tollgate run "
		"--book-existing' books them",
		ledger_path(b->l), when, (unsigned long long)sum.bytes,
		(unsigned long long)sum.packets, (unsigned long long)sum.calls,
		!b->prev.seq ? "it holds no snapshot" :
		strcmp(b->prev.boot_id, cur->boot_id) ?
			       "its last snapshot is of another boot" :
			       "its last snapshot is of other maps");
	return 1;
}

/*
 * The day each bank of snapshot @s holds, as "YYYY-MM-DD": bank k holds
 * the latest day D' <= D with D' % TG_NR_BANKS == k, where D is the day of
 * the read, or the last day the kernel's table knew if that is earlier
 * (an agent away for longer: the kernel kept counting into that day).
 */
static int bank_days(const struct book *b, const struct snapshot *s,
		     char days[TG_NR_BANKS][LEDGER_DAY_SIZE])
{
	const struct tg_clock *c = &s->clock;
	__s64 d, last;
	int k, err;

	err = day_number(s->taken_at, b->tz, &d);
	if (err)
		return err;
	last = (__s64)c->day0 + TG_NR_DAYS - 1;
	if (c->day_ns[0] && d > last) {
		char from[LEDGER_DAY_SIZE];

		day_name(last, from, sizeof(from));
		pr_warn("ledger: no agent set the days after %s: what was "
			"counted since is booked on %s", from, from);
		d = last;
	}
	for (k = 0; k < TG_NR_BANKS; k++) {
		__s64 back = ((d - k) % TG_NR_BANKS + TG_NR_BANKS) %
			     TG_NR_BANKS;

		err = day_name(d - back, days[k], LEDGER_DAY_SIZE);
		if (err)
			return err;
	}
	return 0;
}

/* Book one interval; see book.h. */
int book_commit(struct book *b, const struct usage_list *l,
		const struct snapshot *s, time_t due)
{
	char days[TG_NR_BANKS][LEDGER_DAY_SIZE];
	const struct usage_row **of;
	struct ledger_snap cur;
	int err;

	err = bank_days(b, s, days);
	if (err)
		return err;
	err = to_snap(b, l, s->meta.created_ns, &cur, &of);
	if (err)
		return err;
	cur.taken_at = due;
	if (b->start_unseen)
		err = commit_unseen(b, &cur);
	if (!err)
		err = commit_once(b, of, &cur, days);
	if (err == -ESTALE) {
		/* Someone else wrote the ledger: start from what it holds. */
		ledger_snap_free(&b->prev);
		err = ledger_last_snapshot(b->l, &b->prev);
		if (!err)
			err = commit_once(b, of, &cur, days);
	}
	free(of);
	if (err > 0)
		err = 0;	/* the starting point, committed */
	if (err) {
		ledger_snap_free(&cur);
		return err;
	}
	ledger_snap_free(&b->prev);
	b->prev = cur;
	return 0;
}

/* The ledger's time zone. */
const struct tz *book_tz(const struct book *b)
{
	return b->tz;
}
