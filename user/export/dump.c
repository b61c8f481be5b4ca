// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * dump.c - the export stage's dumps: a snapshot per peer or per socket, as a
 * table for people or as JSON or CSV for programs.
 *
 * Every format carries the overflow buckets as rows of their own (peer
 * "*"), whenever they hold anything, so that the rows of any output always
 * add up to everything that was counted.
 *
 * The rows are the usage stage's (collect/usage.h): one per peer and per
 * overflow bucket. With a configuration, each row also says what the
 * usage stage made of the peer's outbound bytes (traffic type, billed or
 * free, flags, names), and the aggregate views add the rows up per
 * backend, service, tenant or traffic type, outbound bytes split into
 * billable and free. Overflow buckets hold peers nobody can name any
 * more: their outbound bytes are billable (never free on a guess).
 *
 * The per-peer views say what they cover: the peers that hold a slot now,
 * each counted since its slot was handed out (SINCE, "since"), and the
 * overflow rows, counted since the maps were made; the table's last lines
 * say how many slots there are, how many were reclaimed before (their
 * peers' counts are no longer in the maps) and what the overflow holds.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collect/usage.h"
#include "export/dump.h"
#include "lib/array.h"

#define ADDR_LEN 48

static __u64 total_bytes(const struct tg_counters *c)
{
	return c->bytes_in + c->bytes_out;
}

static int cmp_key(const struct tg_peer_key *a, const struct tg_peer_key *b)
{
	if (a->role != b->role)
		return a->role < b->role ? -1 : 1;
	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	return memcmp(a->addr, b->addr, sizeof(a->addr));
}

static int cmp_peer(const void *pa, const void *pb)
{
	const struct peer_rec *a = pa, *b = pb;
	__u64 x = total_bytes(&a->c), y = total_bytes(&b->c);

	if (x != y)
		return x > y ? -1 : 1;
	return cmp_key(&a->key, &b->key);
}

static int cmp_sock(const void *pa, const void *pb)
{
	const struct tg_sock *a = pa, *b = pb;
	__u64 x = total_bytes(&a->c), y = total_bytes(&b->c);

	if (x != y)
		return x > y ? -1 : 1;
	return a->cookie < b->cookie ? -1 : a->cookie > b->cookie;
}

/* Busiest first; ties in a stable order of role, protocol, port, address. */
void dump_sort_peers(struct snapshot *s)
{
	if (s->nr_peers)
		qsort(s->peers, s->nr_peers, sizeof(*s->peers), cmp_peer);
}

/* When @p's counters start; see dump.h. */
__s64 dump_peer_since(const struct snapshot *s, const struct peer_rec *p)
{
	__u64 age;

	if (!p->since_ns || !s->taken_ns || !s->taken_at)
		return 0;
	age = p->since_ns < s->taken_ns ? s->taken_ns - p->since_ns : 0;
	return s->taken_at - (__s64)(age / 1000000000ULL);
}

/* When the maps were made; see dump.h. */
__s64 dump_maps_since(const struct snapshot *s)
{
	return (__s64)(s->meta.created_ns / 1000000000ULL);
}

/* @t as an ISO 8601 UTC time; see dump.h. */
const char *dump_fmt_time(__s64 t, char *buf, size_t len)
{
	time_t tt = t;
	struct tm tm;

	if (!t || !gmtime_r(&tt, &tm) ||
	    !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "-");
	return buf;
}

/* When row @r's counters start: its slot's hand-out for a peer (the row
 * of s->peers[r->id], as usage_of() makes them), the maps' making for an
 * overflow bucket; 0 when unknown. */
static __s64 row_since(const struct snapshot *s, const struct usage_row *r)
{
	const struct peer_rec *p;

	if (r->src.kind != USAGE_PEER)
		return dump_maps_since(s);
	if (r->id >= s->nr_peers)
		return 0;
	p = &s->peers[r->id];
	if (p->gen != r->src.gen || memcmp(&p->key, &r->src.key,
					   sizeof(p->key)))
		return 0;
	return dump_peer_since(s, p);
}

#define TIME_LEN 24

void json_proto(FILE *f, __u8 proto)
{
	const char *name = proto_name(proto);

	if (name)
		fprintf(f, "\"%s\"", name);
	else
		fprintf(f, "%u", proto);
}

static const char *proto_text(__u8 proto, char *buf, size_t len)
{
	const char *name = proto_name(proto);

	if (name)
		return name;
	snprintf(buf, len, "%u", proto);
	return buf;
}

static void json_counters(FILE *f, const struct tg_counters *c)
{
	fprintf(f,
		"\"bytes_out\":%llu,\"packets_out\":%llu,"
		"\"bytes_in\":%llu,\"packets_in\":%llu,\"calls\":%llu",
		(unsigned long long)c->bytes_out,
		(unsigned long long)c->packets_out,
		(unsigned long long)c->bytes_in,
		(unsigned long long)c->packets_in,
		(unsigned long long)c->calls);
}

static void csv_counters(FILE *f, const struct tg_counters *c)
{
	fprintf(f, "%llu,%llu,%llu,%llu,%llu",
		(unsigned long long)c->bytes_out,
		(unsigned long long)c->packets_out,
		(unsigned long long)c->bytes_in,
		(unsigned long long)c->packets_in,
		(unsigned long long)c->calls);
}

/* A table cell: exact integers with --raw, else human units. */
static const char *cell(__u64 v, bool bytes, bool raw, char *buf,
			size_t len)
{
	if (raw) {
		snprintf(buf, len, "%llu", (unsigned long long)v);
		return buf;
	}
	return bytes ? fmt_bytes(v, buf, len) : fmt_count(v, buf, len);
}

/* The counters' cells, then @tail (NULL: none) as the last cell. */
static void table_counters(FILE *f, const struct tg_counters *c, bool raw,
			   const char *tail)
{
	char a[32], b[32], d[32], e[32], g[32];

	fprintf(f, " %12s %10s %12s %10s %10s%s%s\n",
		cell(c->bytes_in, true, raw, a, sizeof(a)),
		cell(c->packets_in, false, raw, b, sizeof(b)),
		cell(c->bytes_out, true, raw, d, sizeof(d)),
		cell(c->packets_out, false, raw, e, sizeof(e)),
		cell(c->calls, false, raw, g, sizeof(g)), tail ? " " : "",
		tail ? tail : "");
}

/*
 * The line on connections whose calls were not counted: streams lost, not
 * HTTP in clear, TLS connections whose decrypted stream no SSL_read hook
 * saw (TLS less TLS hooked), and decrypted reads that found no connection.
 */
static void dump_uncounted(FILE *f, const struct snapshot *s)
{
	unsigned long long desync = s->stats[TG_STAT_HTTP_DESYNC];
	unsigned long long other = s->stats[TG_STAT_HTTP_OTHER];
	unsigned long long tls = s->stats[TG_STAT_TLS];
	unsigned long long hooked = s->stats[TG_STAT_TLS_HOOKED];
	unsigned long long miss = s->stats[TG_STAT_TLS_MISS];
	unsigned long long unhooked = tls > hooked ? tls - hooked : 0;

	if (desync || other || unhooked)
		fprintf(f, "calls not counted on %llu connections: %llu lost "
			"the HTTP stream, %llu did not speak HTTP in clear, "
			"%llu TLS without library hooks\n",
			desync + other + unhooked, desync, other, unhooked);
	if (miss)
		fprintf(f, "calls not counted in %llu decrypted reads whose "
			"connection was not known\n", miss);
}

/*
 * The table's last lines: which peers the rows hold (those with a slot
 * now, of how many slots; how many slots were reclaimed before), what the
 * overflow rows hold, since when each row counts, and the configuration.
 */
static void table_footer(FILE *f, const struct snapshot *s,
			 const char *config, bool raw)
{
	struct tg_counters no_slot = {}, no_bucket = {}, no_sock = {}, c;
	char a[32], b[32], d[32], when[TIME_LEN];
	int role;

	for (role = 0; role < TG_NR_ROLES; role++) {
		snapshot_overflow(s, role, OVF_NO_SLOT, &c);
		no_slot.bytes_in += c.bytes_in;
		no_slot.bytes_out += c.bytes_out;
		snapshot_overflow(s, role, OVF_NO_BUCKET, &c);
		no_bucket.bytes_in += c.bytes_in;
		no_bucket.bytes_out += c.bytes_out;
		snapshot_overflow(s, role, OVF_NO_SOCKET, &c);
		no_sock.bytes_in += c.bytes_in;
		no_sock.bytes_out += c.bytes_out;
	}
	fprintf(f,
		"peers with a slot: %zu of %u slots (%.1f%%), %u of them being "
		"reclaimed; %llu slots reclaimed from quiet peers before (their "
		"counts are in the ledger, not here); %llu failed inserts, %llu "
		"packets without a socket%s%s\n",
		s->nr_peers, s->capacity,
		s->capacity ? 100.0 * snapshot_slots_used(s) / s->capacity :
			      0.0,
		s->slots_limbo, (unsigned long long)s->clock.reclaimed,
		(unsigned long long)s->stats[TG_STAT_PEER_FULL],
		(unsigned long long)s->stats[TG_STAT_NO_SOCK],
		config ? "; configuration " : "", config ? config : "");
	fprintf(f,
		"overflow rows (peers not listed): %s without a slot, kept by "
		"billing key; %s without a billing key's bucket; %s without a "
		"socket (bytes in and out); counted since: each peer since "
		"SINCE, when its slot was handed out; the overflow rows since "
		"the maps were made, %s\n",
		cell(no_slot.bytes_in + no_slot.bytes_out, true, raw, a,
		     sizeof(a)),
		cell(no_bucket.bytes_in + no_bucket.bytes_out, true, raw, b,
		     sizeof(b)),
		cell(no_sock.bytes_in + no_sock.bytes_out, true, raw, d,
		     sizeof(d)),
		dump_fmt_time(dump_maps_since(s), when, sizeof(when)));
	dump_uncounted(f, s);
}

/* A row's peer as table cells: its address and port, or what a bucket
 * holds. */
static const char *row_peer(const struct usage_row *r, char *buf, size_t len)
{
	if (r->src.kind == USAGE_PEER)
		return fmt_addr(r->src.key.addr, buf, len);
	return r->src.key.role ? "(overflow)" : "(no socket)";
}

/* A bucket of a billing key has its port and protocol; a last resort has
 * neither. */
static const char *row_proto(const struct usage_row *r, char *buf, size_t len)
{
	return r->src.kind != USAGE_LAST ? proto_text(r->src.key.proto, buf,
						      len) :
					   "*";
}

static const char *row_port(const struct usage_row *r, char *buf, size_t len)
{
	if (r->src.kind == USAGE_LAST)
		return "";
	snprintf(buf, len, "%u", r->src.key.port);
	return buf;
}

static void dump_peers_table(FILE *f, const struct snapshot *s,
			     const struct usage_list *l, bool raw)
{
	char addr[ADDR_LEN], num[8], port[8], when[TIME_LEN];
	struct tg_counters total;
	int w = 15;
	size_t i;

	for (i = 0; i < l->nr; i++) {
		int n = strlen(row_peer(&l->rows[i], addr, sizeof(addr)));

		if (n > w)
			w = n;
	}
	fprintf(f, "%-8s %-6s %-*s %5s %12s %10s %12s %10s %10s %-20s\n",
		"ROLE", "PROTO", w, "PEER", "PORT", "BYTES IN", "PKTS IN",
		"BYTES OUT", "PKTS OUT", "CALLS", "SINCE");
	for (i = 0; i < l->nr; i++) {
		const struct usage_row *r = &l->rows[i];

		fprintf(f, "%-8s %-6s %-*s %5s", role_name(r->src.key.role),
			row_proto(r, num, sizeof(num)), w,
			row_peer(r, addr, sizeof(addr)),
			row_port(r, port, sizeof(port)));
		table_counters(f, &r->total, raw,
			       dump_fmt_time(row_since(s, r), when,
					     sizeof(when)));
	}
	usage_totals(l, &total);
	fprintf(f, "%-8s %-6s %-*s %5s", "TOTAL", "", w, "", "");
	table_counters(f, &total, raw, NULL);
	table_footer(f, s, NULL, raw);
}

static void sock_endpoint(const __u8 addr[16], __u16 port, char *buf,
			  size_t len)
{
	char a[ADDR_LEN];

	fmt_addr(addr, a, sizeof(a));
	if (strchr(a, ':'))
		snprintf(buf, len, "[%s]:%u", a, port);
	else
		snprintf(buf, len, "%s:%u", a, port);
}

static void dump_socks(FILE *f, const struct snapshot *s,
		       enum out_format fmt, bool raw)
{
	char local[ADDR_LEN + 8], remote[ADDR_LEN + 8], num[8];
	char la[ADDR_LEN], ra[ADDR_LEN], pa[ADDR_LEN];
	size_t i;

	if (fmt == FMT_JSON)
		fputc('[', f);
	else if (fmt == FMT_CSV)
		fputs("cookie,role,proto,local,local_port,remote,remote_port,"
		      "peer,port,bytes_out,packets_out,bytes_in,packets_in,"
		      "calls,role_inferred\n", f);
	else
		fprintf(f,
			"%-10s %-8s %-6s %-46s %-46s %12s %10s %12s %10s %10s\n",
			"COOKIE", "ROLE", "PROTO", "LOCAL", "REMOTE",
			"BYTES IN", "PKTS IN", "BYTES OUT", "PKTS OUT",
			"CALLS");
	for (i = 0; i < s->nr_socks; i++) {
		const struct tg_sock *k = &s->socks[i];
		bool inferred = k->flags & TG_SOCK_ROLE_INFERRED;

		fmt_addr(k->local_addr, la, sizeof(la));
		fmt_addr(k->remote_addr, ra, sizeof(ra));
		fmt_addr(k->peer.addr, pa, sizeof(pa));
		if (fmt == FMT_JSON) {
			fprintf(f,
				"%s\n{\"cookie\":%llu,\"role\":\"%s\","
				"\"proto\":",
				i ? "," : "", (unsigned long long)k->cookie,
				role_name(k->role));
			json_proto(f, k->proto);
			fprintf(f,
				",\"local\":\"%s\",\"local_port\":%u,"
				"\"remote\":\"%s\",\"remote_port\":%u,"
				"\"peer\":\"%s\",\"port\":%u,",
				la, k->local_port, ra, k->remote_port,
				k->peer_slot ? pa : "", k->peer.port);
			json_counters(f, &k->c);
			fprintf(f, ",\"role_inferred\":%s}",
				inferred ? "true" : "false");
		} else if (fmt == FMT_CSV) {
			fprintf(f, "%llu,%s,%s,%s,%u,%s,%u,%s,%u,",
				(unsigned long long)k->cookie,
				role_name(k->role),
				proto_text(k->proto, num, sizeof(num)), la,
				k->local_port, ra, k->remote_port,
				k->peer_slot ? pa : "", k->peer.port);
			csv_counters(f, &k->c);
			fprintf(f, ",%s\n", inferred ? "true" : "false");
		} else {
			sock_endpoint(k->local_addr, k->local_port, local,
				      sizeof(local));
			sock_endpoint(k->remote_addr, k->remote_port, remote,
				      sizeof(remote));
			char role[16];

			snprintf(role, sizeof(role), "%s%s", role_name(k->role),
				 inferred ? "*" : "");
			fprintf(f, "%-10llu %-8s %-6s %-46s %-46s",
				(unsigned long long)k->cookie, role,
				proto_text(k->proto, num, sizeof(num)), local,
				remote);
			table_counters(f, &k->c, raw, NULL);
		}
	}
	if (fmt == FMT_JSON)
		fputs("\n]\n", f);
	else if (fmt == FMT_TABLE)
		fprintf(f, "%zu live sockets%s\n", s->nr_socks,
			s->nr_socks ? " (* role inferred from the local port)" :
				      "");
}

/* --- classification ---------------------------------------------------- */

static const char *const by_names[] = {
	[BY_PEER] = "peer",
	[BY_SOCKET] = "socket",
	[BY_BACKEND] = "backend",
	[BY_SERVICE] = "service",
	[BY_TENANT] = "tenant",
	[BY_TRAFFIC] = "traffic_type",
};

const char *dump_by_name(enum dump_by by)
{
	return (unsigned int)by < sizeof(by_names) / sizeof(by_names[0]) ?
		       by_names[by] : NULL;
}

/* Parse a --by value. Returns 0 or -EINVAL. */
int dump_by_parse(const char *s, enum dump_by *out)
{
	size_t i;

	for (i = 0; i < sizeof(by_names) / sizeof(by_names[0]); i++) {
		if (!strcmp(s, by_names[i])) {
			*out = i;
			return 0;
		}
	}
	return -EINVAL;
}

/*
 * What the usage stage made of a row: its address's facts (network,
 * provider, region) when it has an address; its names and flags when it
 * has them (a peer, or a client's bucket, billed by its frontend). NULL
 * when it has none.
 */
static const struct tg_class *row_facts(const struct usage_row *r)
{
	return r->cls.known ? &r->cls.c : NULL;
}

static const struct tg_class *row_named(const struct usage_row *r)
{
	return r->cls.known || (r->src.kind == USAGE_OVERFLOW &&
				r->src.key.role == TG_ROLE_CLIENT) ?
		       &r->cls.c : NULL;
}

static const char *group_key(enum dump_by by, const struct usage_row *r)
{
	const struct tg_class *c = row_named(r);

	if (by == BY_TRAFFIC)
		return traffic_name(r->cls.c.type);
	if (!c)
		return NULL;
	switch (by) {
	case BY_BACKEND:
		return c->backend;
	case BY_SERVICE:
		return c->service;
	case BY_TENANT:
		return c->tenant;
	default:
		return NULL;
	}
}

static bool same_key(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static void group_add(struct dump_group *g, const struct tg_counters *c,
		      bool billable)
{
	g->c.bytes_in += c->bytes_in;
	g->c.packets_in += c->packets_in;
	g->c.bytes_out += c->bytes_out;
	g->c.packets_out += c->packets_out;
	g->c.calls += c->calls;
	if (billable)
		g->billable_bytes += c->bytes_out;
	else
		g->free_bytes += c->bytes_out;
}

static int group_cmp(const void *pa, const void *pb)
{
	const struct dump_group *a = pa, *b = pb;
	__u64 x = total_bytes(&a->c), y = total_bytes(&b->c);

	if (x != y)
		return x > y ? -1 : 1;
	if (a->overflow != b->overflow)
		return a->overflow ? 1 : -1;
	if (a->role != b->role)
		return a->role < b->role ? -1 : 1;
	if (!a->key || !b->key)
		return !a->key - !b->key;
	return strcmp(a->key, b->key);
}

/* Find or add the group (@role, @overflow, @key) in *@g. */
static struct dump_group *group_get(struct dump_group **g, size_t *nr,
				    size_t *cap, __u8 role, bool overflow,
				    const char *key)
{
	struct dump_group *n;
	size_t i;

	for (i = 0; i < *nr; i++) {
		n = &(*g)[i];
		if (n->role == role && n->overflow == overflow &&
		    same_key(n->key, key))
			return n;
	}
	if (ARRAY_GROW(*g, *nr + 1, *cap, 16))
		return NULL;
	n = &(*g)[(*nr)++];
	*n = (struct dump_group){ .role = role, .overflow = overflow,
				  .key = key };
	return n;
}

/* Add up usage rows by @by; see dump.h. */
int dump_aggregate(const struct usage_list *l, enum dump_by by,
		   struct dump_group **out, size_t *nr,
		   struct dump_group *total)
{
	struct dump_group *g = NULL, *n;
	size_t cap = 0, i;

	*out = NULL;
	*nr = 0;
	memset(total, 0, sizeof(*total));
	total->key = "";
	if (by != BY_BACKEND && by != BY_SERVICE && by != BY_TENANT &&
	    by != BY_TRAFFIC)
		return -EINVAL;
	for (i = 0; i < l->nr; i++) {
		const struct usage_row *r = &l->rows[i];
		bool bucket = r->src.kind != USAGE_PEER;
		bool billable = r->cls.c.billable;

		n = group_get(&g, nr, &cap, r->src.key.role, bucket,
			      group_key(by, r));
		if (!n)
			goto nomem;
		n->peers += !bucket;
		group_add(n, &r->total, billable);
		total->peers += !bucket;
		group_add(total, &r->total, billable);
	}
	if (*nr)
		qsort(g, *nr, sizeof(*g), group_cmp);
	*out = g;
	return 0;
nomem:
	free(g);
	*nr = 0;
	return -ENOMEM;
}

/* --- tables with columns as wide as their widest cell ------------------- */

#define TAB_MAX_COLS 20

struct tab {
	size_t ncols;
	const char *head[TAB_MAX_COLS];
	bool right[TAB_MAX_COLS];	/* numbers: aligned right */
	char **cells;			/* nrows * ncols */
	size_t nrows, cap;
	bool failed;
};

static void tab_col(struct tab *t, const char *head, bool right)
{
	t->head[t->ncols] = head;
	t->right[t->ncols++] = right;
}

/* Append one row of t->ncols cells, copied. */
static void tab_row(struct tab *t, const char *const *cells)
{
	size_t i;

	if (t->failed)
		return;
	if (t->nrows == t->cap) {
		size_t c = t->cap ? t->cap * 2 : 32;
		char **n = reallocarray(t->cells, c * t->ncols, sizeof(*n));

		if (!n) {
			t->failed = true;
			return;
		}
		t->cells = n;
		t->cap = c;
	}
	for (i = 0; i < t->ncols; i++) {
		char *c = strdup(cells[i] ? cells[i] : "");

		if (!c) {
			while (i--)
				free(t->cells[t->nrows * t->ncols + i]);
			t->failed = true;
			return;
		}
		t->cells[t->nrows * t->ncols + i] = c;
	}
	t->nrows++;
}

/* Print and free @t. Returns 0 or -ENOMEM when a row could not be kept. */
static int tab_print(FILE *f, struct tab *t)
{
	size_t w[TAB_MAX_COLS], r, i, len = 1, n;
	char *line;

	for (i = 0; i < t->ncols; i++) {
		w[i] = strlen(t->head[i]);
		for (r = 0; r < t->nrows; r++) {
			n = strlen(t->cells[r * t->ncols + i]);
			if (n > w[i])
				w[i] = n;
		}
		len += w[i] + 1;
	}
	line = malloc(len);
	if (!line)
		t->failed = true;
	for (r = 0; r <= t->nrows && !t->failed; r++) {
		for (i = 0, n = 0; i < t->ncols; i++) {
			const char *c = r ? t->cells[(r - 1) * t->ncols + i] :
					    t->head[i];

			n += snprintf(line + n, len - n,
				      t->right[i] ? "%s%*s" : "%s%-*s",
				      i ? " " : "", (int)w[i], c);
		}
		/* No blanks at the end of a line. */
		while (n && line[n - 1] == ' ')
			n--;
		fprintf(f, "%.*s\n", (int)n, line);
	}
	free(line);
	for (r = 0; r < t->nrows * t->ncols; r++)
		free(t->cells[r]);
	free(t->cells);
	return t->failed ? -ENOMEM : 0;
}

/* The counters as table cells, in BYTES IN, PKTS IN, BYTES OUT, PKTS OUT,
 * CALLS order; @buf holds NR_COUNTER_CELLS * 32 bytes. */
#define NR_COUNTER_CELLS 5

static void counter_cells(const struct tg_counters *c, bool raw,
			  char buf[][32], const char **cells)
{
	cells[0] = cell(c->bytes_in, true, raw, buf[0], 32);
	cells[1] = cell(c->packets_in, false, raw, buf[1], 32);
	cells[2] = cell(c->bytes_out, true, raw, buf[2], 32);
	cells[3] = cell(c->packets_out, false, raw, buf[3], 32);
	cells[4] = cell(c->calls, false, raw, buf[4], 32);
}

static void counter_cols(struct tab *t)
{
	tab_col(t, "BYTES IN", true);
	tab_col(t, "PKTS IN", true);
	tab_col(t, "BYTES OUT", true);
	tab_col(t, "PKTS OUT", true);
	tab_col(t, "CALLS", true);
}

static const char *dash(const char *s)
{
	return s && *s ? s : "-";
}

/* --- classified peer rows ----------------------------------------------- */

static void json_opt_string(FILE *f, const char *s)
{
	if (s)
		json_string(f, s);
	else
		fputs("null", f);
}

/* @flags (TG_FLAG_*) as a JSON array of their names, most serious first. */
void json_flags(FILE *f, __u32 flags)
{
	int i;

	fputc('[', f);
	for (i = 0; i < TG_NR_FLAGS; i++)
		if (flags & (1u << i))
			fprintf(f, "%s\"%s\"", flags & ((1u << i) - 1) ? "," : "",
				flag_name(1u << i));
	fputc(']', f);
}

/* What the usage stage made of a row, as JSON fields; null where the row
 * has no such fact (row_facts(), row_named()). */
static void json_class(FILE *f, const struct usage_row *r)
{
	const struct tg_class *c = row_facts(r), *k = row_named(r);

	fputs(",\"network\":", f);
	json_opt_string(f, c ? network_name(c->network) : NULL);
	fputs(",\"provider\":", f);
	json_opt_string(f, c ? c->provider : NULL);
	fputs(",\"region\":", f);
	json_opt_string(f, c ? c->region : NULL);
	fputs(",\"traffic_type\":", f);
	json_opt_string(f, traffic_name(r->cls.c.type));
	fprintf(f, ",\"billable\":%s,\"flags\":",
		r->cls.c.billable ? "true" : "false");
	json_flags(f, k ? k->flags : 0);
	fputs(",\"backend\":", f);
	json_opt_string(f, k ? k->backend : NULL);
	fputs(",\"service\":", f);
	json_opt_string(f, k ? k->service : NULL);
	fputs(",\"tenant\":", f);
	json_opt_string(f, k ? k->tenant : NULL);
}

static void csv_class(FILE *f, const struct usage_row *r)
{
	const struct tg_class *c = row_facts(r), *k = row_named(r);
	char fl[128];

	fputc(',', f);
	csv_string(f, c ? network_name(c->network) : "");
	fputc(',', f);
	csv_string(f, c ? c->provider : "");
	fputc(',', f);
	csv_string(f, c ? c->region : "");
	fprintf(f, ",%s,%s,", traffic_name(r->cls.c.type),
		r->cls.c.billable ? "true" : "false");
	csv_string(f, k ? flags_str(k->flags, fl, sizeof(fl)) : "");
	fputc(',', f);
	csv_string(f, k ? k->backend : "");
	fputc(',', f);
	csv_string(f, k ? k->service : "");
	fputc(',', f);
	csv_string(f, k ? k->tenant : "");
}

/* One object per row; @classified: each says what the usage stage made
 * of it. */
static void dump_peers_json(FILE *f, const struct snapshot *s,
			    const struct usage_list *l, bool classified)
{
	char addr[ADDR_LEN], when[TIME_LEN];
	__s64 since;
	size_t i;

	fputc('[', f);
	for (i = 0; i < l->nr; i++) {
		const struct usage_row *r = &l->rows[i];
		bool peer = r->src.kind == USAGE_PEER;

		fprintf(f, "%s\n{\"role\":\"%s\",\"proto\":", i ? "," : "",
			role_name(r->src.key.role));
		if (r->src.kind == USAGE_LAST) {
			fputs("\"*\",\"peer\":\"*\",\"port\":0,", f);
		} else {
			json_proto(f, r->src.key.proto);
			fprintf(f, ",\"peer\":\"%s\",\"port\":%u,",
				peer ? fmt_addr(r->src.key.addr, addr,
						sizeof(addr)) : "*",
				r->src.key.port);
		}
		json_counters(f, &r->total);
		fprintf(f, ",\"overflow\":%s", peer ? "false" : "true");
		if (classified)
			json_class(f, r);
		since = row_since(s, r);
		if (since)
			fprintf(f, ",\"since\":\"%s\"",
				dump_fmt_time(since, when, sizeof(when)));
		else
			fputs(",\"since\":null", f);
		fputc('}', f);
	}
	fputs("\n]\n", f);
}

/* The same as CSV, with a header line. */
static void dump_peers_csv(FILE *f, const struct snapshot *s,
			   const struct usage_list *l, bool classified)
{
	char addr[ADDR_LEN], num[8], when[TIME_LEN];
	__s64 since;
	size_t i;

	fputs("role,proto,peer,port,bytes_out,packets_out,bytes_in,"
	      "packets_in,calls,overflow", f);
	fputs(classified ? ",network,provider,region,traffic_type,billable,"
			   "flags,backend,service,tenant,since\n" :
			   ",since\n", f);
	for (i = 0; i < l->nr; i++) {
		const struct usage_row *r = &l->rows[i];

		if (r->src.kind == USAGE_LAST)
			fprintf(f, "%s,*,*,0,", role_name(r->src.key.role));
		else
			fprintf(f, "%s,%s,%s,%u,", role_name(r->src.key.role),
				proto_text(r->src.key.proto, num, sizeof(num)),
				r->src.kind == USAGE_PEER ?
					fmt_addr(r->src.key.addr, addr,
						 sizeof(addr)) : "*",
				r->src.key.port);
		csv_counters(f, &r->total);
		fputs(r->src.kind == USAGE_PEER ? ",false" : ",true", f);
		if (classified)
			csv_class(f, r);
		since = row_since(s, r);
		fprintf(f, ",%s\n", since ? dump_fmt_time(since, when,
							 sizeof(when)) : "");
	}
}

/* A row's NAME: the backends entry of a backend, the service of a client. */
static const char *row_name(const struct usage_row *r)
{
	const struct tg_class *k = row_named(r);

	if (!k)
		return NULL;
	return k->role == TG_ROLE_BACKEND ? k->backend : k->service;
}

/* One table row of @r; NULL: the TOTAL row of @c, no classification
 * cells. */
static void peer_table_row(struct tab *t, const struct snapshot *s,
			   const struct usage_row *r,
			   const struct tg_counters *c, bool raw, bool wide)
{
	char when[TIME_LEN];
	const struct tg_class *k = r ? row_named(r) : NULL;
	const struct tg_class *f = r ? row_facts(r) : NULL;
	char num[NR_COUNTER_CELLS][32], fl[128], addr[ADDR_LEN], proto[8],
		port[8];
	const char *cells[TAB_MAX_COLS];
	size_t n = 0, i;

	cells[n++] = r ? role_name(r->src.key.role) : "TOTAL";
	cells[n++] = r ? row_proto(r, proto, sizeof(proto)) : "";
	cells[n++] = r ? row_peer(r, addr, sizeof(addr)) : "";
	cells[n++] = r ? row_port(r, port, sizeof(port)) : "";
	if (wide) {
		cells[n++] = dash(k ? k->backend : NULL);
		cells[n++] = dash(k ? k->service : NULL);
		cells[n++] = dash(k ? k->tenant : NULL);
	} else {
		cells[n++] = r ? dash(row_name(r)) : "";
	}
	cells[n++] = r ? dash(traffic_name(r->cls.c.type)) : "";
	cells[n++] = !r ? "" : r->cls.c.billable ? "yes" : "no";
	counter_cells(c, raw, num, cells + n);
	n += NR_COUNTER_CELLS;
	if (wide) {
		cells[n++] = dash(f ? network_name(f->network) : NULL);
		cells[n++] = dash(f ? f->provider : NULL);
		cells[n++] = dash(f ? f->region : NULL);
		cells[n++] = dash(k ? flags_str(k->flags, fl, sizeof(fl)) :
				      NULL);
	} else {
		cells[n++] = k && k->flags ? k->reason : "";
	}
	cells[n++] = r ? dump_fmt_time(row_since(s, r), when, sizeof(when)) :
			 "";
	if (!r)
		for (i = 4; i < n; i++)
			if (!strcmp(cells[i], "-"))
				cells[i] = "";
	tab_row(t, cells);
}

static int dump_peers_table_cls(FILE *f, const struct snapshot *s,
				const struct usage_list *l, const char *config,
				bool raw, bool wide)
{
	char a[32], b[32], c[32];
	struct dump_group *g, total;
	struct tab t = {};
	size_t i, nr;
	int err;

	tab_col(&t, "ROLE", false);
	tab_col(&t, "PROTO", false);
	tab_col(&t, "PEER", false);
	tab_col(&t, "PORT", true);
	if (wide) {
		tab_col(&t, "BACKEND", false);
		tab_col(&t, "SERVICE", false);
		tab_col(&t, "TENANT", false);
	} else {
		tab_col(&t, "NAME", false);
	}
	tab_col(&t, "TRAFFIC TYPE (OUT)", false);
	tab_col(&t, "BILLED", false);
	counter_cols(&t);
	if (wide) {
		tab_col(&t, "NETWORK", false);
		tab_col(&t, "PROVIDER", false);
		tab_col(&t, "REGION", false);
		tab_col(&t, "FLAGS", false);
	} else {
		tab_col(&t, "FLAG", false);
	}
	tab_col(&t, "SINCE", false);
	for (i = 0; i < l->nr; i++)
		peer_table_row(&t, s, &l->rows[i], &l->rows[i].total, raw,
			       wide);
	/* The totals, with the billable and free split from the same sums. */
	err = dump_aggregate(l, BY_TRAFFIC, &g, &nr, &total);
	if (err) {
		tab_print(f, &t);
		return err;
	}
	free(g);
	peer_table_row(&t, s, NULL, &total.c, raw, wide);
	err = tab_print(f, &t);
	fprintf(f, "out: %s billable, %s free; in: %s (inbound, not billed)\n",
		cell(total.billable_bytes, true, raw, a, sizeof(a)),
		cell(total.free_bytes, true, raw, b, sizeof(b)),
		cell(total.c.bytes_in, true, raw, c, sizeof(c)));
	table_footer(f, s, config, raw);
	return err;
}

/* --- aggregate views ---------------------------------------------------- */

static void json_group(FILE *f, const struct dump_group *g)
{
	fprintf(f, "\"peers\":%zu,", g->peers);
	json_counters(f, &g->c);
	fprintf(f, ",\"billable_bytes\":%llu,\"free_bytes\":%llu",
		(unsigned long long)g->billable_bytes,
		(unsigned long long)g->free_bytes);
}

static int dump_groups(FILE *f, const struct usage_list *l,
		       const struct dump_opts *o)
{
	const char *by = dump_by_name(o->by);
	struct dump_group *g, total;
	size_t nr, i;
	int err;

	err = dump_aggregate(l, o->by, &g, &nr, &total);
	if (err)
		return err;
	if (o->fmt == FMT_JSON) {
		fprintf(f, "{\"by\":\"%s\",\"rows\":[", by);
		for (i = 0; i < nr; i++) {
			fprintf(f, "%s\n{\"role\":\"%s\",\"%s\":", i ? "," : "",
				role_name(g[i].role), by);
			json_opt_string(f, g[i].key);
			fprintf(f, ",\"overflow\":%s,",
				g[i].overflow ? "true" : "false");
			json_group(f, &g[i]);
			fputc('}', f);
		}
		fputs("\n],\n\"total\":{", f);
		json_group(f, &total);
		fputs("}}\n", f);
	} else if (o->fmt == FMT_CSV) {
		fprintf(f, "role,%s,overflow,peers,bytes_out,packets_out,"
			"bytes_in,packets_in,calls,billable_bytes,free_bytes,"
			"total\n",
			by);
		for (i = 0; i <= nr; i++) {
			const struct dump_group *r = i < nr ? &g[i] : &total;

			if (i < nr) {
				fprintf(f, "%s,", role_name(r->role));
				csv_string(f, r->key ? r->key : "");
				fprintf(f, ",%s,",
					r->overflow ? "true" : "false");
			} else {
				fputs(",,false,", f);
			}
			fprintf(f, "%zu,", r->peers);
			csv_counters(f, &r->c);
			fprintf(f, ",%llu,%llu,%s\n",
				(unsigned long long)r->billable_bytes,
				(unsigned long long)r->free_bytes,
				i < nr ? "false" : "true");
		}
	} else {
		char head[32], num[NR_COUNTER_CELLS + 2][32], peers[32];
		const char *cells[TAB_MAX_COLS];
		struct tab t = {};

		snprintf(head, sizeof(head), "%s", by);
		for (i = 0; head[i]; i++)
			head[i] = head[i] == '_' ? ' ' : toupper(head[i]);
		tab_col(&t, "ROLE", false);
		tab_col(&t, head, false);
		tab_col(&t, "PEERS", true);
		counter_cols(&t);
		tab_col(&t, "BILLABLE OUT", true);
		tab_col(&t, "FREE OUT", true);
		for (i = 0; i <= nr; i++) {
			const struct dump_group *r = i < nr ? &g[i] : &total;

			cells[0] = i < nr ? role_name(r->role) : "TOTAL";
			cells[1] = i == nr ? "" :
				   r->overflow ? (r->role ? "(overflow)" :
							    "(no socket)") :
				   dash(r->key);
			snprintf(peers, sizeof(peers), "%zu", r->peers);
			cells[2] = r->overflow ? "" : peers;
			counter_cells(&r->c, o->raw, num, cells + 3);
			cells[3 + NR_COUNTER_CELLS] =
				cell(r->billable_bytes, true, o->raw,
				     num[NR_COUNTER_CELLS], 32);
			cells[4 + NR_COUNTER_CELLS] =
				cell(r->free_bytes, true, o->raw,
				     num[NR_COUNTER_CELLS + 1], 32);
			tab_row(&t, cells);
		}
		err = tab_print(f, &t);
		fprintf(f, "by %s, configuration %s; billable and free: "
			"outbound bytes, inbound bytes are never billed\n",
			by, o->cfg->path);
	}
	free(g);
	return err;
}

/*
 * Print @s to @f as @o says. Peers (or sockets, or groups) are sorted
 * busiest first. Returns 0, -EINVAL for an aggregate view without a
 * configuration, -ENOMEM, or -EIO when the stream reports an error.
 */
int dump_write(FILE *f, struct snapshot *s, const struct dump_opts *o)
{
	struct usage_list l = {};
	int err;

	if (o->by == BY_SOCKET) {
		if (s->nr_socks)
			qsort(s->socks, s->nr_socks, sizeof(*s->socks),
			      cmp_sock);
		dump_socks(f, s, o->fmt, o->raw);
		return ferror(f) ? -EIO : 0;
	}
	if (o->by != BY_PEER && !o->cfg)
		return -EINVAL;
	/* Peers busiest first; the usage rows keep the snapshot's order. */
	dump_sort_peers(s);
	err = usage_of(o->cfg, s, &l);
	if (err)
		return err;
	if (o->by != BY_PEER)
		err = dump_groups(f, &l, o);
	else if (o->fmt == FMT_JSON)
		dump_peers_json(f, s, &l, o->cfg);
	else if (o->fmt == FMT_CSV)
		dump_peers_csv(f, s, &l, o->cfg);
	else if (o->cfg)
		err = dump_peers_table_cls(f, s, &l, o->cfg->path, o->raw,
					   o->wide);
	else
		dump_peers_table(f, s, &l, o->raw);
	usage_list_free(&l);
	if (err)
		return err;
	return ferror(f) ? -EIO : 0;
}

/* dump_write() without a configuration: counters only. */
int dump_print(FILE *f, struct snapshot *s, enum dump_by by,
	       enum out_format fmt, bool raw)
{
	struct dump_opts o = { .by = by, .fmt = fmt, .raw = raw };

	return dump_write(f, s, &o);
}
