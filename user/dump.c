// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * dump.c - print a snapshot per peer or per socket, as a table for people
 * or as JSON or CSV for programs.
 *
 * Every format carries the overflow buckets as rows of their own (peer
 * "*"), whenever they hold anything, so that the rows of any output always
 * add up to everything that was counted.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "tollgate.h"

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

static void json_proto(FILE *f, __u8 proto)
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

static bool counters_zero(const struct tg_counters *c)
{
	return !c->bytes_in && !c->bytes_out && !c->packets_in &&
	       !c->packets_out && !c->calls;
}

static void dump_peers_json(FILE *f, const struct snapshot *s)
{
	char addr[ADDR_LEN];
	bool first = true;
	size_t i;

	fputc('[', f);
	for (i = 0; i < s->nr_peers; i++) {
		const struct peer_rec *p = &s->peers[i];

		fprintf(f, "%s\n{\"role\":\"%s\",\"proto\":", first ? "" : ",",
			role_name(p->key.role));
		json_proto(f, p->key.proto);
		fprintf(f, ",\"peer\":\"%s\",\"port\":%u,",
			fmt_addr(p->key.addr, addr, sizeof(addr)), p->key.port);
		json_counters(f, &p->c);
		fputs(",\"overflow\":false}", f);
		first = false;
	}
	for (i = 0; i < TG_NR_ROLES; i++) {
		if (counters_zero(&s->overflow[i]))
			continue;
		fprintf(f,
			"%s\n{\"role\":\"%s\",\"proto\":\"*\",\"peer\":\"*\","
			"\"port\":0,",
			first ? "" : ",", role_name(i));
		json_counters(f, &s->overflow[i]);
		fputs(",\"overflow\":true}", f);
		first = false;
	}
	fputs("\n]\n", f);
}

static void dump_peers_csv(FILE *f, const struct snapshot *s)
{
	char addr[ADDR_LEN], num[8];
	size_t i;

	fputs("role,proto,peer,port,bytes_out,packets_out,bytes_in,"
	      "packets_in,calls,overflow\n", f);
	for (i = 0; i < s->nr_peers; i++) {
		const struct peer_rec *p = &s->peers[i];

		fprintf(f, "%s,%s,%s,%u,", role_name(p->key.role),
			proto_text(p->key.proto, num, sizeof(num)),
			fmt_addr(p->key.addr, addr, sizeof(addr)), p->key.port);
		csv_counters(f, &p->c);
		fputs(",false\n", f);
	}
	for (i = 0; i < TG_NR_ROLES; i++) {
		if (counters_zero(&s->overflow[i]))
			continue;
		fprintf(f, "%s,*,*,0,", role_name(i));
		csv_counters(f, &s->overflow[i]);
		fputs(",true\n", f);
	}
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

static void table_counters(FILE *f, const struct tg_counters *c, bool raw)
{
	char a[32], b[32], d[32], e[32], g[32];

	fprintf(f, " %12s %10s %12s %10s %10s\n",
		cell(c->bytes_in, true, raw, a, sizeof(a)),
		cell(c->packets_in, false, raw, b, sizeof(b)),
		cell(c->bytes_out, true, raw, d, sizeof(d)),
		cell(c->packets_out, false, raw, e, sizeof(e)),
		cell(c->calls, false, raw, g, sizeof(g)));
}

static void dump_peers_table(FILE *f, const struct snapshot *s, bool raw)
{
	char addr[ADDR_LEN], num[8];
	struct tg_counters total;
	int w = 15;
	size_t i;

	for (i = 0; i < s->nr_peers; i++) {
		int n = strlen(fmt_addr(s->peers[i].key.addr, addr,
					sizeof(addr)));
		if (n > w)
			w = n;
	}
	fprintf(f, "%-8s %-6s %-*s %5s %12s %10s %12s %10s %10s\n", "ROLE",
		"PROTO", w, "PEER", "PORT", "BYTES IN", "PKTS IN", "BYTES OUT",
		"PKTS OUT", "CALLS");
	for (i = 0; i < s->nr_peers; i++) {
		const struct peer_rec *p = &s->peers[i];

		fprintf(f, "%-8s %-6s %-*s %5u", role_name(p->key.role),
			proto_text(p->key.proto, num, sizeof(num)), w,
			fmt_addr(p->key.addr, addr, sizeof(addr)), p->key.port);
		table_counters(f, &p->c, raw);
	}
	for (i = 0; i < TG_NR_ROLES; i++) {
		if (counters_zero(&s->overflow[i]))
			continue;
		fprintf(f, "%-8s %-6s %-*s %5s", role_name(i), "*", w,
			i ? "(overflow)" : "(no socket)", "");
		table_counters(f, &s->overflow[i], raw);
	}
	snapshot_totals(s, &total);
	fprintf(f, "%-8s %-6s %-*s %5s", "TOTAL", "", w, "", "");
	table_counters(f, &total, raw);
	fprintf(f,
		"%zu peers, %u slots (%.1f%% used), %llu failed inserts, "
		"%llu packets without a socket\n",
		s->nr_peers, s->capacity,
		s->capacity ? 100.0 * (s->meta.next_slot < s->capacity ?
				       s->meta.next_slot : s->capacity) /
				      s->capacity :
			      0.0,
		(unsigned long long)s->stats[TG_STAT_PEER_FULL],
		(unsigned long long)s->stats[TG_STAT_NO_SOCK]);
	if (s->stats[TG_STAT_HTTP_DESYNC] || s->stats[TG_STAT_HTTP_OTHER])
		fprintf(f,
			"calls not counted on %llu connections: %llu lost the "
			"HTTP stream, %llu did not speak HTTP in clear\n",
			(unsigned long long)(s->stats[TG_STAT_HTTP_DESYNC] +
					     s->stats[TG_STAT_HTTP_OTHER]),
			(unsigned long long)s->stats[TG_STAT_HTTP_DESYNC],
			(unsigned long long)s->stats[TG_STAT_HTTP_OTHER]);
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
		       enum dump_format fmt, bool raw)
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
			table_counters(f, &k->c, raw);
		}
	}
	if (fmt == FMT_JSON)
		fputs("\n]\n", f);
	else if (fmt == FMT_TABLE)
		fprintf(f, "%zu live sockets%s\n", s->nr_socks,
			s->nr_socks ? " (* role inferred from the local port)" :
				      "");
}

/*
 * Print @s to @f. Peers (or sockets) are sorted busiest first. Returns 0,
 * or -EIO when the stream reports an error.
 */
int dump_print(FILE *f, struct snapshot *s, enum dump_by by,
	       enum dump_format fmt, bool raw)
{
	if (by == BY_SOCKET) {
		if (s->nr_socks)
			qsort(s->socks, s->nr_socks, sizeof(*s->socks),
			      cmp_sock);
		dump_socks(f, s, fmt, raw);
	} else {
		dump_sort_peers(s);
		if (fmt == FMT_JSON)
			dump_peers_json(f, s);
		else if (fmt == FMT_CSV)
			dump_peers_csv(f, s);
		else
			dump_peers_table(f, s, raw);
	}
	return ferror(f) ? -EIO : 0;
}

static const char dump_usage[] =
	"Usage: tollgate dump [OPTIONS]\n"
	"\n"
	"Print the counters from the pinned maps, whether or not the agent\n"
	"runs. Bytes are IP bytes (IP header and payload, every GSO segment\n"
	"counted); 'in' is peer to host, 'out' host to peer.\n"
	"\n"
	"Options:\n"
	"  -p, --pin-dir DIR     pin directory (default " TG_DEFAULT_PIN_DIR ")\n"
	"  -b, --by peer|socket  one row per peer (default) or live socket\n"
	"  -f, --format table|json|csv\n"
	"                        output format (default table)\n"
	"  -r, --raw             exact integers in the table, no units\n"
	"  -h, --help            this help\n"
	"\n"
	"Examples:\n"
	"  tollgate dump\n"
	"  tollgate dump --by socket --format csv\n"
	"  tollgate dump --format json | jq '.[] | select(.role==\"backend\")'\n";

int cmd_dump(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pin-dir", required_argument, NULL, 'p' },
		{ "by", required_argument, NULL, 'b' },
		{ "format", required_argument, NULL, 'f' },
		{ "raw", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *pin_dir = TG_DEFAULT_PIN_DIR;
	enum dump_format fmt = FMT_TABLE;
	enum dump_by by = BY_PEER;
	struct snapshot s;
	struct view v;
	bool raw = false;
	int c, err;

	while ((c = getopt_long(argc, argv, "p:b:f:rh", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			pin_dir = optarg;
			break;
		case 'b':
			if (!strcmp(optarg, "peer")) {
				by = BY_PEER;
			} else if (!strcmp(optarg, "socket")) {
				by = BY_SOCKET;
			} else {
				pr_warn("--by: '%s' is not one of peer, socket",
					optarg);
				return 2;
			}
			break;
		case 'f':
			if (format_parse(optarg, &fmt)) {
				pr_warn("--format: '%s' is not one of table, "
					"json, csv", optarg);
				return 2;
			}
			break;
		case 'r':
			raw = true;
			break;
		case 'h':
			fputs(dump_usage, stdout);
			return 0;
		default:
			fputs(dump_usage, stderr);
			return 2;
		}
	}
	if (optind < argc) {
		pr_warn("dump: unexpected argument '%s'", argv[optind]);
		return 2;
	}

	err = view_open_pinned(&v, pin_dir);
	if (err)
		return 1;
	err = snapshot_read(&v, &s, by == BY_SOCKET);
	if (err)
		pr_warn("cannot read the counters in '%s': %s", pin_dir,
			strerror(-err));
	else
		err = dump_print(stdout, &s, by, fmt, raw);
	snapshot_free(&s);
	view_close(&v);
	if (!err && fflush(stdout))
		err = -errno;
	return err ? 1 : 0;
}
