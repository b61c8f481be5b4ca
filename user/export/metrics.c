// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * metrics.c - the export stage: usage rows to bounded Prometheus
 * series, and the page in the text exposition format. See metrics.h for
 * why deltas are classified and how the series cap keeps totals exact.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "classify/classify.h"
#include "export/metrics.h"
#include "lib/array.h"
#include "lib/hash.h"
#include "rate/month.h"
#include "lib/log.h"
#include "lib/util.h"

static const char *const label_names[ML_NR] = {
	[ML_TRAFFIC_TYPE] = "traffic_type",
	[ML_TENANT] = "tenant",
	[ML_SERVICE] = "service",
	[ML_BACKEND] = "backend",
	[ML_PEER_REGION] = "peer_region",
	[ML_NETWORK] = "network",
	[ML_ROLE] = "role",
};

#define NO_SERIES 0xffffffffu

struct series {
	char *labels[ML_NR];
	char *text;		/* the labels as printed: {a="x",...} */
	__u64 bytes;
	__u64 packets;
	__u64 calls;
};

/* One family's label sets: an array, an open-addressing index over it,
 * and the "other" series once something was folded into it. */
struct family {
	struct series *v;
	size_t nr, cap;
	__u32 *idx;		/* index in v, NO_SERIES: empty */
	size_t idx_cap;		/* power of two */
	__u32 other;		/* index of "other", NO_SERIES: none yet */
};

/* What metrics_collected() remembers of a usage row, by its id: the
 * series its class gave, while the class holds. */
struct row_series {
	__u64 cls_gen;		/* 0: none */
	__u32 series[2];	/* per family */
};

struct cost_row {
	char tenant[LEDGER_NAME_SIZE];
	__u64 day_cents;
	__u64 month_cents;
};

struct metrics {
	__u32 max_series;
	struct family fam[2];
	struct row_series *rows;	/* by usage row id */
	size_t cap_rows;
	__u64 folded;			/* label sets folded into "other" */
	struct metrics_health h;
	bool have_cost;
	char currency[8];
	char plan[64];
	struct cost_row *cost;
	size_t nr_cost;
};

/* Unix time with its fraction, for the health timestamps. */
static double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct metrics *metrics_new(__u32 max_series)
{
	struct metrics *m = calloc(1, sizeof(*m));
	int i;

	if (!m)
		return NULL;
	m->max_series = max_series ? max_series : TG_METRICS_MAX_SERIES;
	for (i = 0; i < 2; i++)
		m->fam[i].other = NO_SERIES;
	m->h.reload_ok = true;
	m->h.reload_time = wall_now();
	return m;
}

void metrics_free(struct metrics *m)
{
	size_t i, j;
	int d;

	if (!m)
		return;
	for (d = 0; d < 2; d++) {
		for (i = 0; i < m->fam[d].nr; i++)
			for (j = 0; j < ML_NR; j++)
				free(m->fam[d].v[i].labels[j]);
		for (i = 0; i < m->fam[d].nr; i++)
			free(m->fam[d].v[i].text);
		free(m->fam[d].v);
		free(m->fam[d].idx);
	}
	free(m->rows);
	free(m->cost);
	free(m);
}

void metrics_set_max_series(struct metrics *m, __u32 max_series)
{
	m->max_series = max_series ? max_series : TG_METRICS_MAX_SERIES;
}

void metrics_booking(struct metrics *m)
{
	m->h.ledger = true;
}

void metrics_reloaded(struct metrics *m, bool ok)
{
	m->h.reload_ok = ok;
	if (ok)
		m->h.reload_time = wall_now();
	else
		m->h.reload_failures++;
}

void metrics_committed(struct metrics *m, bool ok)
{
	if (ok)
		m->h.ledger_time = wall_now();
	else
		m->h.ledger_errors++;
}

void metrics_collection_failed(struct metrics *m)
{
	m->h.collection_failures++;
}

void metrics_programs(struct metrics *m, const struct meter_prog_stat *st,
		      int nr)
{
	int i;

	m->h.have_progs = st && nr == METER_NR_PROGS;
	for (i = 0; m->h.have_progs && i < nr; i++)
		m->h.progs[i] = st[i];
}

size_t metrics_nr_series(const struct metrics *m, int dir)
{
	return m->fam[dir].nr;
}

/* --- label sets --------------------------------------------------------- */

static __u64 labels_hash(const char *const labels[ML_NR])
{
	__u64 h = FNV_OFFSET;
	int i;

	for (i = 0; i < ML_NR; i++)
		h = fnv_str(h, labels[i]);
	return h;
}

static bool labels_eq(const struct series *s, const char *const labels[ML_NR])
{
	int i;

	for (i = 0; i < ML_NR; i++)
		if (strcmp(s->labels[i], labels[i]))
			return false;
	return true;
}

/* Slot of @labels in the index: its series, or the empty slot to take. */
static __u32 *fam_slot(struct family *f, const char *const labels[ML_NR])
{
	size_t mask = f->idx_cap - 1, i = labels_hash(labels) & mask;

	while (f->idx[i] != NO_SERIES && !labels_eq(&f->v[f->idx[i]], labels))
		i = (i + 1) & mask;
	return &f->idx[i];
}

static int fam_grow_index(struct family *f)
{
	size_t cap = f->idx_cap ? f->idx_cap * 2 : 64, i;
	__u32 *old = f->idx;
	size_t old_cap = f->idx_cap;

	f->idx = malloc(cap * sizeof(*f->idx));
	if (!f->idx) {
		f->idx = old;
		return -ENOMEM;
	}
	memset(f->idx, 0xff, cap * sizeof(*f->idx));
	f->idx_cap = cap;
	for (i = 0; i < old_cap; i++) {
		if (old[i] == NO_SERIES)
			continue;
		*fam_slot(f, (const char *const *)f->v[old[i]].labels) = old[i];
	}
	free(old);
	return 0;
}

static char *labels_text(const char *const labels[ML_NR]);

/* Append a series of @labels to @f; its index or -ENOMEM. */
static int fam_append(struct family *f, const char *const labels[ML_NR])
{
	struct series *s;
	int i;

	if (ARRAY_GROW(f->v, f->nr + 1, f->cap, 64))
		return -ENOMEM;
	s = &f->v[f->nr];
	memset(s, 0, sizeof(*s));
	s->text = labels_text(labels);
	if (!s->text)
		return -ENOMEM;
	for (i = 0; i < ML_NR; i++) {
		s->labels[i] = strdup(labels[i]);
		if (!s->labels[i]) {
			while (i--)
				free(s->labels[i]);
			free(s->text);
			return -ENOMEM;
		}
	}
	return f->nr++;
}

/* The series of @labels in family @dir: found, admitted, or "other". */
static int series_of(struct metrics *m, int dir,
		     const char *const labels[ML_NR])
{
	static const char *const other[ML_NR] = {
		TG_METRICS_OTHER, TG_METRICS_OTHER, TG_METRICS_OTHER,
		TG_METRICS_OTHER, TG_METRICS_OTHER, TG_METRICS_OTHER,
		TG_METRICS_OTHER,
	};
	struct family *f = &m->fam[dir];
	__u32 *slot;
	int i;

	if ((f->nr + 1) * 2 > f->idx_cap && fam_grow_index(f))
		return -ENOMEM;
	slot = fam_slot(f, labels);
	if (*slot != NO_SERIES)
		return *slot;
	if (f->nr - (f->other != NO_SERIES) >= m->max_series) {
		m->folded++;
		if (f->other != NO_SERIES)
			return f->other;
		labels = other;
		slot = fam_slot(f, labels);
		if (*slot != NO_SERIES)	/* a real label set of all "other" */
			return f->other = *slot;
	}
	i = fam_append(f, labels);
	if (i < 0)
		return i;
	*slot = i;
	if (labels == other)
		f->other = i;
	return i;
}

int metrics_add(struct metrics *m, int dir, const char *const labels[ML_NR],
		__u64 bytes, __u64 packets, __u64 calls)
{
	int i = series_of(m, dir, labels);

	if (i < 0)
		return i;
	m->fam[dir].v[i].bytes += bytes;
	m->fam[dir].v[i].packets += packets;
	m->fam[dir].v[i].calls += calls;
	return i;
}

/* --- the interval's usage --------------------------------------------- */

static const char *str(const char *s)
{
	return s ? s : "";
}

/* The series of usage row @r in both families, from its class. */
static int row_series(struct metrics *m, const struct usage_row *r,
		      __u32 series[2])
{
	const struct tg_class *c = &r->cls.c;
	const char *labels[ML_NR];
	int dir, i;

	labels[ML_TENANT] = str(c->tenant);
	labels[ML_SERVICE] = str(c->service);
	labels[ML_BACKEND] = r->src.key.role == TG_ROLE_BACKEND ?
				     str(c->backend) : "";
	labels[ML_PEER_REGION] = r->cls.known ? str(c->region) : "";
	labels[ML_NETWORK] = r->cls.known ? str(network_name(c->network)) :
					    "";
	labels[ML_ROLE] = role_name(r->src.key.role);
	for (dir = 0; dir < 2; dir++) {
		labels[ML_TRAFFIC_TYPE] =
			str(traffic_name(usage_type(r, dir == METRICS_TX)));
		i = series_of(m, dir, labels);
		if (i < 0)
			return i;
		series[dir] = i;
	}
	return 0;
}

/* Add what @r counted since the last interval to its series. */
static int account(struct metrics *m, const struct usage_row *r)
{
	const struct tg_counters *d = &r->delta;
	struct row_series *rs = &m->rows[r->id];
	struct series *tx, *rx;
	int err;

	if (!d->bytes_in && !d->packets_in && !d->bytes_out &&
	    !d->packets_out && !d->calls)
		return 0;
	if (rs->cls_gen != r->cls_gen) {
		err = row_series(m, r, rs->series);
		if (err)
			return err;
		rs->cls_gen = r->cls_gen;
	}
	tx = &m->fam[METRICS_TX].v[rs->series[METRICS_TX]];
	rx = &m->fam[METRICS_RX].v[rs->series[METRICS_RX]];
	tx->bytes += d->bytes_out;
	tx->packets += d->packets_out;
	rx->bytes += d->bytes_in;
	rx->packets += d->packets_in;
	/* Requests read from the peer: on the receive side, as the ledger
	 * books them on the inbound rows. */
	rx->calls += d->calls;
	return 0;
}

int metrics_collected(struct metrics *m, const struct usage_list *l,
		      const struct snapshot *s, double seconds)
{
	size_t i, need = 0;
	int err, role, r;

	for (i = 0; i < l->nr; i++)
		if (l->rows[i].id >= need)
			need = l->rows[i].id + 1;
	if (need > m->cap_rows) {
		size_t old = m->cap_rows;

		if (ARRAY_GROW(m->rows, need, m->cap_rows, 256))
			return -ENOMEM;
		memset(m->rows + old, 0, (m->cap_rows - old) * sizeof(*m->rows));
	}
	for (i = 0; i < l->nr; i++) {
		err = account(m, &l->rows[i]);
		if (err)
			return err;
	}
	m->h.peers = s->nr_peers;
	m->h.capacity = s->capacity;
	m->h.backend_capacity = s->backend_capacity;
	m->h.backend_peers = snapshot_slots_held(s, TG_ROLE_BACKEND);
	m->h.insert_failures = s->stats[TG_STAT_PEER_FULL];
	m->h.http_desync = s->stats[TG_STAT_HTTP_DESYNC];
	m->h.http_other = s->stats[TG_STAT_HTTP_OTHER];
	m->h.name_unmatched = s->stats[TG_STAT_NAME_UNMATCHED];
	m->h.name_switch = s->stats[TG_STAT_NAME_SWITCH];
	m->h.name_lost = s->stats[TG_STAT_NAME_LOST];
	m->h.limbo = s->slots_limbo;
	m->h.reclaimed = s->clock.reclaimed;
	m->h.free = s->slots_free;
	for (role = 0; role < TG_NR_ROLES; role++)
		for (r = 0; r < OVF_NR; r++)
			snapshot_overflow(s, role, r, &m->h.overflow[role][r]);
	m->h.collection_seconds = seconds;
	m->h.collection_time = wall_now();
	return 0;
}

/* --- cost --------------------------------------------------------------- */

void metrics_no_cost(struct metrics *m)
{
	m->have_cost = false;
	free(m->cost);
	m->cost = NULL;
	m->nr_cost = 0;
}

int metrics_rate(struct metrics *m, struct ledger *l, const struct plan *p,
		 time_t now)
{
	char day[LEDGER_DAY_SIZE], month[LEDGER_MONTH_SIZE];
	struct cost_row *cost = NULL;
	struct bill b = {};
	size_t i, j;
	int err;

	err = rate_today(p, now, month, day);
	if (!err)
		err = rate_usage(p, month, &(struct rate_source){ .ledger = l },
				 NULL, &b);
	if (!err && !(cost = calloc(b.nr_tenants + 2, sizeof(*cost))))
		err = -ENOMEM;
	if (err) {
		pr_warn("metrics: cannot rate the month of ledger '%s': %s",
			ledger_path(l), strerror(-err));
		bill_free(&b);
		return err;
	}
	/* The unattributed usage is the series of tenant "". */
	for (i = 0; i < b.nr_tenants + b.has_unattributed; i++) {
		const struct bill_tenant *t = i < b.nr_tenants ?
						      &b.tenants[i] :
						      &b.unattributed;

		snprintf(cost[i].tenant, sizeof(cost[i].tenant), "%s",
			 t->tenant);
		cost[i].month_cents = t->total_cents;
		for (j = 0; j < t->nr_days; j++)
			if (!strcmp(t->days[j].day, day))
				cost[i].day_cents = t->days[j].cents;
	}
	free(m->cost);
	m->cost = cost;
	m->nr_cost = b.nr_tenants + b.has_unattributed;
	m->have_cost = true;
	snprintf(m->currency, sizeof(m->currency), "%s", p->currency);
	snprintf(m->plan, sizeof(m->plan), "%s", p->name);
	bill_free(&b);
	return 0;
}

/* --- rendering ---------------------------------------------------------- */

struct buf {
	char *p;
	size_t len, cap;
	bool failed;
};

static bool buf_room(struct buf *b, size_t n)
{
	if (b->failed)
		return false;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;

		while (b->len + n + 1 > cap)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->failed = true;
			return false;
		}
		b->p = p;
		b->cap = cap;
	}
	return true;
}

__attribute__((format(printf, 2, 3)))
static void put(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !buf_room(b, n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, n + 1, fmt, ap);
	va_end(ap);
	b->len += n;
}

/* Length of the valid UTF-8 sequence at @s, 0 if none. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n, i;
	__u32 c;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		c = s[0] & 0x07;
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates, past U+10FFFF. */
	if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) ||
	    (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
		return 0;
	return n;
}

size_t metrics_escape_label(char *buf, size_t len, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0, k, i;
	char e[4];

	while (*p) {
		const char *out = e;

		k = utf8_len(p);
		if (*p == '\\' || *p == '"' || *p == '\n') {
			e[0] = '\\';
			e[1] = *p == '\n' ? 'n' : (char)*p;
			k = 2;
			p++;
		} else if (!k) {
			out = "\xef\xbf\xbd";	/* U+FFFD */
			k = 3;
			p++;
		} else {
			out = (const char *)p;
			p += k;
		}
		for (i = 0; i < k; i++, n++)
			if (n + 1 < len)
				buf[n] = out[i];
	}
	if (len)
		buf[n < len ? n : len - 1] = '\0';
	return n;
}

static void put_label(struct buf *b, const char *name, const char *value,
		      bool first)
{
	size_t n = metrics_escape_label(NULL, 0, value);

	put(b, "%s%s=\"", first ? "" : ",", name);
	if (!buf_room(b, n))
		return;
	metrics_escape_label(b->p + b->len, n + 1, value);
	b->len += n;
	put(b, "\"");
}

/* The label set as printed, escaped once when the series is admitted: a
 * page of 10,000 series prints each five times. */
static char *labels_text(const char *const labels[ML_NR])
{
	struct buf b = {};
	int j;

	put(&b, "{");
	for (j = 0; j < ML_NR; j++)
		put_label(&b, label_names[j], labels[j], !j);
	put(&b, "}");
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

/* HELP and TYPE of a family. The texts are ours: nothing to escape. */
static void family(struct buf *b, const char *name, const char *type,
		   const char *help)
{
	put(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void put_u64(struct buf *b, const char *name, __u64 v)
{
	put(b, "%s %llu\n", name, (unsigned long long)v);
}

enum { V_BYTES, V_PACKETS, V_CALLS };

static void traffic_family(struct buf *b, const struct family *f,
			   const char *name, const char *help, int what)
{
	size_t i;
	int j;

	size_t nl = strlen(name), tl;
	char num[24], *p;
	__u64 v;

	family(b, name, "counter", help);
	for (i = 0; i < f->nr; i++) {
		const struct series *s = &f->v[i];

		v = what == V_BYTES ? s->bytes :
		    what == V_PACKETS ? s->packets : s->calls;
		p = num + sizeof(num);
		*--p = '\n';
		do
			*--p = '0' + v % 10;
		while (v /= 10);
		*--p = ' ';
		tl = strlen(s->text);
		j = num + sizeof(num) - p;
		if (!buf_room(b, nl + tl + j))
			return;
		memcpy(b->p + b->len, name, nl);
		memcpy(b->p + b->len + nl, s->text, tl);
		memcpy(b->p + b->len + nl + tl, p, j);
		b->len += nl + tl + j;
	}
	if (!b->failed)
		b->p[b->len] = '\0';
}

#define RESET_NOTE \
	" Cumulative in the pinned kernel maps: an agent restart carries on, " \
	"a reboot or 'tollgate detach' starts again from zero."

/* What the traffic families cover, and since when: they add up what each
 * usage row counted since the agent started, and a row starts from what
 * its slot or bucket holds. */
#define TRAFFIC_NOTE \
	" Every peer's traffic: peers with a slot by their own labels, peers " \
	"without one by their billing key's (overflow). From the agent's " \
	"start on, starting from what the pinned maps hold: the peers that " \
	"hold a slot (each since its slot was handed out) and the overflow " \
	"buckets (since the maps were made); peers reclaimed before the start " \
	"are in the ledger, not here. A reboot or 'tollgate detach' starts " \
	"from zero."

/* The traffic families: the series of the usage rows. */
static void render_traffic(struct buf *b, const struct metrics *m)
{
	traffic_family(b, &m->fam[METRICS_TX], "tollgate_transmit_bytes_total",
		       "IP bytes the gateway sent to its peers (host to "
		       "peer), by the label set of each peer; label sets past "
		       "the series cap are added up with all labels \"other\"."
		       TRAFFIC_NOTE, V_BYTES);
	traffic_family(b, &m->fam[METRICS_TX],
		       "tollgate_transmit_packets_total",
		       "IP packets the gateway sent to its peers, GSO "
		       "segments counted one by one; labels as "
		       "tollgate_transmit_bytes_total." TRAFFIC_NOTE, V_PACKETS);
	traffic_family(b, &m->fam[METRICS_RX], "tollgate_receive_bytes_total",
		       "IP bytes the gateway received from its peers (peer "
		       "to host), by the label set of each peer; label sets "
		       "past the series cap are added up with all labels "
		       "\"other\"." TRAFFIC_NOTE, V_BYTES);
	traffic_family(b, &m->fam[METRICS_RX],
		       "tollgate_receive_packets_total",
		       "IP packets the gateway received from its peers; "
		       "labels as tollgate_receive_bytes_total." TRAFFIC_NOTE,
		       V_PACKETS);
	traffic_family(b, &m->fam[METRICS_RX], "tollgate_api_calls_total",
		       "API calls: HTTP/1.x requests and HTTP/2 streams the "
		       "gateway read from its clients in cleartext, or "
		       "answered through a hooked TLS library, by the label "
		       "sets of tollgate_receive_bytes_total; calls it could "
		       "not see are in "
		       "tollgate_calls_uncounted_sockets_total." TRAFFIC_NOTE,
		       V_CALLS);
}

/* The cost of today and of the month so far, per tenant. */
static void render_cost(struct buf *b, const struct metrics *m)
{
	size_t i;

	if (m->have_cost) {
		family(b, "tollgate_rated_cost_day", "gauge",
		       "Each tenant's traffic cost of the current natural "
		       "day, rated from the ledger under the configured plan, "
		       "in units of the currency label. Monitoring, not a "
		       "bill: 'tollgate rate' is.");
		for (i = 0; i < m->nr_cost; i++) {
			put(b, "tollgate_rated_cost_day{");
			put_label(b, "tenant", m->cost[i].tenant, true);
			put_label(b, "currency", m->currency, false);
			put_label(b, "plan", m->plan, false);
			put(b, "} %llu.%02llu\n",
			    (unsigned long long)m->cost[i].day_cents / 100,
			    (unsigned long long)m->cost[i].day_cents % 100);
		}
		family(b, "tollgate_rated_cost_month", "gauge",
		       "Each tenant's cost of the current month so far, calls "
		       "and traffic, rated from the ledger under the "
		       "configured plan, in units of the currency label. "
		       "Monitoring, not a bill: 'tollgate rate' is.");
		for (i = 0; i < m->nr_cost; i++) {
			put(b, "tollgate_rated_cost_month{");
			put_label(b, "tenant", m->cost[i].tenant, true);
			put_label(b, "currency", m->currency, false);
			put_label(b, "plan", m->plan, false);
			put(b, "} %llu.%02llu\n",
			    (unsigned long long)m->cost[i].month_cents / 100,
			    (unsigned long long)m->cost[i].month_cents % 100);
		}
	}
}

/* The kernel meter: the peer slots, uncounted calls, overflow. */
static void render_meter(struct buf *b, const struct metrics *m)
{
	const struct metrics_health *h = &m->h;
	int role, r;

	family(b, "tollgate_peer_map_entries", "gauge",
	       "Peers holding a slot of the kernel's peer map, those being "
	       "reclaimed included.");
	put_u64(b, "tollgate_peer_map_entries", h->peers);
	family(b, "tollgate_peer_map_capacity", "gauge",
	       "Slots of the kernel's peer map (--max-peers).");
	put_u64(b, "tollgate_peer_map_capacity", h->capacity);
	family(b, "tollgate_peer_slots", "gauge",
	       "Peer slots by state: \"used\" (a peer holds it), "
	       "\"reclaiming\" (quiet, its last counts not booked yet), "
	       "\"free\" (reclaimed, to be handed out again); slots never "
	       "handed out are the capacity less these.");
	put(b, "tollgate_peer_slots{state=\"used\"} %llu\n",
	    (unsigned long long)(h->peers - h->limbo));
	put(b, "tollgate_peer_slots{state=\"reclaiming\"} %llu\n",
	    (unsigned long long)h->limbo);
	put(b, "tollgate_peer_slots{state=\"free\"} %llu\n",
	    (unsigned long long)h->free);
	family(b, "tollgate_peer_slots_capacity", "gauge",
	       "Peer slots by the role of the peers that may hold them: "
	       "clients never take the backends' (--backend-peers).");
	put(b, "tollgate_peer_slots_capacity{role=\"client\"} %llu\n",
	    (unsigned long long)(h->capacity - h->backend_capacity));
	put(b, "tollgate_peer_slots_capacity{role=\"backend\"} %llu\n",
	    (unsigned long long)h->backend_capacity);
	family(b, "tollgate_peer_slots_held", "gauge",
	       "Peer slots held, those being reclaimed included, by the "
	       "role of their peer.");
	put(b, "tollgate_peer_slots_held{role=\"client\"} %llu\n",
	    (unsigned long long)(h->peers - h->backend_peers));
	put(b, "tollgate_peer_slots_held{role=\"backend\"} %llu\n",
	    (unsigned long long)h->backend_peers);
	family(b, "tollgate_peer_slots_reclaimed_total", "counter",
	       "Peer slots reclaimed from quiet peers, their counts booked "
	       "first." RESET_NOTE);
	put_u64(b, "tollgate_peer_slots_reclaimed_total", h->reclaimed);
	family(b, "tollgate_peer_insert_failures_total", "counter",
	       "Packets whose peer found no free slot in the peer map and "
	       "were counted in the overflow bucket of their billing key "
	       "instead." RESET_NOTE);
	put_u64(b, "tollgate_peer_insert_failures_total", h->insert_failures);
	family(b, "tollgate_calls_uncounted_sockets_total", "counter",
	       "Client sockets whose calls are not counted: reason "
	       "\"not_http\" (TLS or another protocol), \"desync\" (the "
	       "HTTP stream was lost, later calls uncounted)." RESET_NOTE);
	put(b, "tollgate_calls_uncounted_sockets_total{reason=\"not_http\"} "
	       "%llu\n", (unsigned long long)h->http_other);
	put(b, "tollgate_calls_uncounted_sockets_total{reason=\"desync\"} "
	       "%llu\n", (unsigned long long)h->http_desync);
	family(b, "tollgate_names_total", "counter",
	       "Names read on ports with host entries, by outcome: "
	       "\"unmatched\" (no host matched: the port's service; "
	       "'tollgate dump --unmatched' lists them), \"switched\" (a "
	       "request moved its connection to another service), \"lost\" "
	       "(an HTTP/2 request whose :authority could not be followed: "
	       "the connection's service)." RESET_NOTE);
	put(b, "tollgate_names_total{outcome=\"unmatched\"} %llu\n",
	    (unsigned long long)h->name_unmatched);
	put(b, "tollgate_names_total{outcome=\"switched\"} %llu\n",
	    (unsigned long long)h->name_switch);
	put(b, "tollgate_names_total{outcome=\"lost\"} %llu\n",
	    (unsigned long long)h->name_lost);
	family(b, "tollgate_overflow_transmit_bytes_total", "counter",
	       "IP bytes sent that the kernel counted in an overflow bucket, "
	       "by role and reason: \"no_slot\" (no free peer slot: kept by "
	       "billing key, so tenants' totals stay exact), \"no_bucket\" "
	       "(no room for the billing key either), \"no_socket\" (role "
	       "none: no full socket); also in tollgate_transmit_bytes_total."
	       RESET_NOTE);
	for (role = 0; role < TG_NR_ROLES; role++)
		for (r = 0; r < OVF_NR; r++)
			put(b, "tollgate_overflow_transmit_bytes_total{role="
			       "\"%s\",reason=\"%s\"} %llu\n", role_name(role),
			    overflow_reason_name(r),
			    (unsigned long long)h->overflow[role][r].bytes_out);
	family(b, "tollgate_overflow_receive_bytes_total", "counter",
	       "IP bytes received that the kernel counted in an overflow "
	       "bucket, by role and reason as "
	       "tollgate_overflow_transmit_bytes_total; also in "
	       "tollgate_receive_bytes_total." RESET_NOTE);
	for (role = 0; role < TG_NR_ROLES; role++)
		for (r = 0; r < OVF_NR; r++)
			put(b, "tollgate_overflow_receive_bytes_total{role="
			       "\"%s\",reason=\"%s\"} %llu\n", role_name(role),
			    overflow_reason_name(r),
			    (unsigned long long)h->overflow[role][r].bytes_in);
}

/* The programs' run-time statistics, when the kernel gives them. */
static void render_programs(struct buf *b, const struct metrics *m)
{
	const struct metrics_health *h = &m->h;
	size_t i;

	if (h->have_progs) {
		family(b, "tollgate_bpf_prog_run_time_seconds_total",
		       "counter",
		       "Time the kernel spent in each metering program. Zero "
		       "unless kernel.bpf_stats_enabled=1 (sysctl); starts "
		       "from zero when an agent start swaps in new programs.");
		for (i = 0; i < METER_NR_PROGS; i++)
			put(b, "tollgate_bpf_prog_run_time_seconds_total"
				"{program=\"%s\"} %llu.%09llu\n",
			    h->progs[i].name,
			    (unsigned long long)h->progs[i].run_time_ns /
				    1000000000ULL,
			    (unsigned long long)h->progs[i].run_time_ns %
				    1000000000ULL);
		family(b, "tollgate_bpf_prog_runs_total", "counter",
		       "Runs of each metering program. Zero unless "
		       "kernel.bpf_stats_enabled=1 (sysctl); starts from zero "
		       "when an agent start swaps in new programs.");
		for (i = 0; i < METER_NR_PROGS; i++)
			put(b, "tollgate_bpf_prog_runs_total{program=\"%s\"} "
				"%llu\n", h->progs[i].name,
			    (unsigned long long)h->progs[i].run_cnt);
	}
}

/* The agent: collections, reloads, the ledger. */
static void render_agent(struct buf *b, const struct metrics *m)
{
	const struct metrics_health *h = &m->h;

	family(b, "tollgate_collection_duration_seconds", "gauge",
	       "How long the last collection took: reading the kernel maps, "
	       "booking the ledger, rating, updating these metrics.");
	put(b, "tollgate_collection_duration_seconds %.6f\n",
	    h->collection_seconds);
	family(b, "tollgate_collection_last_success_timestamp_seconds",
	       "gauge",
	       "Unix time of the last collection that read the kernel "
	       "counters; the metrics are as of then.");
	put(b, "tollgate_collection_last_success_timestamp_seconds %.3f\n",
	    h->collection_time);
	family(b, "tollgate_collection_failures_total", "counter",
	       "Collections that could not read the kernel counters, since "
	       "the agent started.");
	put_u64(b, "tollgate_collection_failures_total",
		h->collection_failures);

	family(b, "tollgate_config_last_reload_successful", "gauge",
	       "1 if the last load or reload (SIGHUP) of the configuration "
	       "succeeded, 0 if it failed and the previous one stayed in "
	       "force.");
	put(b, "tollgate_config_last_reload_successful %d\n",
	    h->reload_ok ? 1 : 0);
	family(b, "tollgate_config_last_reload_success_timestamp_seconds",
	       "gauge",
	       "Unix time the configuration in force was loaded.");
	put(b, "tollgate_config_last_reload_success_timestamp_seconds %.3f\n",
	    h->reload_time);
	family(b, "tollgate_config_reload_failures_total", "counter",
	       "Reloads refused because the configuration was wrong, since "
	       "the agent started.");
	put_u64(b, "tollgate_config_reload_failures_total",
		h->reload_failures);

	if (h->ledger) {
		family(b, "tollgate_ledger_write_errors_total", "counter",
		       "Ledger commits that failed since the agent started; "
		       "the next commit covers their intervals.");
		put_u64(b, "tollgate_ledger_write_errors_total",
			h->ledger_errors);
		family(b, "tollgate_ledger_last_commit_timestamp_seconds",
		       "gauge",
		       "Unix time of the last interval booked into the "
		       "ledger; 0 before the first.");
		put(b, "tollgate_ledger_last_commit_timestamp_seconds %.3f\n",
		    h->ledger_time);
	}
}

/* The series cap of the traffic families. */
static void render_series(struct buf *b, const struct metrics *m)
{
	family(b, "tollgate_metrics_series", "gauge",
	       "Label sets of each traffic family, the \"other\" series "
	       "included.");
	put(b, "tollgate_metrics_series{family=\"transmit\"} %zu\n",
	    m->fam[METRICS_TX].nr);
	put(b, "tollgate_metrics_series{family=\"receive\"} %zu\n",
	    m->fam[METRICS_RX].nr);
	family(b, "tollgate_metrics_max_series", "gauge",
	       "Label sets each traffic family admits (metrics.max_series); "
	       "later ones go to the series whose labels are all \"other\".");
	put(b, "tollgate_metrics_max_series %u\n", m->max_series);
	family(b, "tollgate_metrics_folded_total", "counter",
	       "Times a peer's label set found the series cap reached and "
	       "was added to the \"other\" series, since the agent started.");
	put_u64(b, "tollgate_metrics_folded_total", m->folded);
}

int metrics_render(const struct metrics *m, char **out, size_t *len)
{
	struct buf b = {};

	family(&b, "tollgate_build_info", "gauge",
	       "The tollgate version that serves these metrics, as a label; "
	       "always 1.");
	put(&b, "tollgate_build_info{version=\"%s\"} 1\n", TOLLGATE_VERSION);
	render_traffic(&b, m);
	render_cost(&b, m);
	render_meter(&b, m);
	render_programs(&b, m);
	render_agent(&b, m);
	render_series(&b, m);
	if (b.failed) {
		free(b.p);
		return -ENOMEM;
	}
	*out = b.p;
	*len = b.len;
	return 0;
}
