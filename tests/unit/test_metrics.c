// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_metrics.c - the export stage without BPF or HTTP: label values
 * escaped (backslash, quote, line feed, invalid UTF-8), HELP and TYPE
 * before every family's samples and once each, the series cap folding
 * later label sets into "other" with exact totals, deltas of hand-made
 * snapshots classified per peer (a restart's first read, a reload, a
 * recreated entry, the overflow buckets), the cost gauges rated from a
 * ledger, the listen address parser and the metrics configuration, and
 * the HTTP server on loopback (status codes, Allow, basic authentication)
 * under the sanitizers.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <linux/types.h>
#include <cmocka.h>
#include <crypt.h>

#include "classify/classify.h"
#include "collect/usage.h"
#include "ledger/book.h"
#include "export/metrics.h"
#include "tmpdir.h"
#include "export/serve.h"

static const char yaml[] =
	"region: cn-north-1\n"
	"provider: jdcloud\n"
	"services:\n"
	"  - port: 443\n"
	"    name: shop-api\n"
	"    tenant: acme\n"
	"backends:\n"
	"  - address: 10.1.2.0/24\n"
	"    port: 8080\n"
	"    name: orders\n"
	"    tenant: acme\n"
	"    service: shop-api\n";

/* Port 443 now belongs to another tenant. */
static const char yaml_b[] =
	"region: cn-north-1\n"
	"provider: jdcloud\n"
	"services:\n"
	"  - port: 443\n"
	"    name: partner-api\n"
	"    tenant: globex\n";

static struct tg_config *parse(const char *text)
{
	struct tg_config *cfg = NULL;
	struct tg_err err = {};
	char buf[512];

	if (config_parse(text, strlen(text), "test.yaml", 0, &cfg, &err))
		fail_msg("%s", tg_err_str(&err, buf, sizeof(buf)));
	return cfg;
}

static char *render(const struct metrics *m)
{
	char *page;
	size_t len;

	assert_int_equal(metrics_render(m, &page, &len), 0);
	assert_int_equal(strlen(page), len);
	assert_true(len > 0 && page[len - 1] == '\n');
	return page;
}

/* The value of the sample line that starts with @prefix, -1 if none. */
static long long sample(const char *page, const char *prefix)
{
	const char *p = page;
	size_t n = strlen(prefix);

	while (p && *p) {
		if (!strncmp(p, prefix, n) && p[n] == ' ')
			return atoll(p + n + 1);
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -1;
}

/* Sum of the samples of family @name. */
static long long family_sum(const char *page, const char *name)
{
	const char *p = page;
	size_t n = strlen(name);
	long long sum = 0;

	while (p && *p) {
		if (!strncmp(p, name, n) && (p[n] == '{' || p[n] == ' ')) {
			const char *sp = strchr(p, '\n');
			const char *v = sp;

			while (v > p && v[-1] != ' ')
				v--;
			sum += atoll(v);
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return sum;
}

static size_t count(const char *page, const char *needle)
{
	size_t n = 0;
	const char *p = page;

	while ((p = strstr(p, needle))) {
		n++;
		p += strlen(needle);
	}
	return n;
}

static void test_escape(void **state)
{
	static const struct {
		const char *in;
		const char *out;
	} cases[] = {
		{ "", "" },
		{ "acme", "acme" },
		{ "a\\b", "a\\\\b" },
		{ "say \"hi\"", "say \\\"hi\\\"" },
		{ "two\nlines", "two\\nlines" },
		{ "caf\xc3\xa9", "caf\xc3\xa9" },		/* valid UTF-8 */
		{ "\xe4\xb8\xad\xe6\x96\x87", "\xe4\xb8\xad\xe6\x96\x87" },
		{ "bad\xff", "bad\xef\xbf\xbd" },		/* invalid byte */
		{ "cut\xc3", "cut\xef\xbf\xbd" },		/* truncated */
		{ "\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd" },	/* overlong */
		{ "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" },
	};
	char buf[64];
	size_t i, n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = metrics_escape_label(buf, sizeof(buf), cases[i].in);
		assert_string_equal(buf, cases[i].out);
		assert_int_equal(n, strlen(cases[i].out));
	}
	/* Cut like snprintf, the length it needs returned. */
	n = metrics_escape_label(buf, 4, "a\"bcdef");
	assert_int_equal(n, 8);
	assert_string_equal(buf, "a\\\"");
}

/* A label value with every special character reaches the page escaped. */
static void test_escape_in_page(void **state)
{
	struct metrics *m = metrics_new(10);
	const char *labels[ML_NR] = { "outbound_client", "ac\"me\\",
				      "line\nfeed", "", "", "public",
				      "client" };
	char *page;

	assert_non_null(m);
	assert_true(metrics_add(m, METRICS_TX, labels, 10, 1, 0) >= 0);
	page = render(m);
	assert_non_null(strstr(page,
		"tollgate_transmit_bytes_total{traffic_type=\"outbound_client\","
		"tenant=\"ac\\\"me\\\\\",service=\"line\\nfeed\",backend=\"\","
		"peer_region=\"\",network=\"public\",role=\"client\"} 10\n"));
	free(page);
	metrics_free(m);
}

/* Every family: one HELP, then one TYPE, before any of its samples, and
 * its samples in one group. */
static void test_help_type(void **state)
{
	struct metrics *m = metrics_new(0);
	const char *labels[ML_NR] = { "inbound", "", "", "", "", "public",
				      "client" };
	char *page, *line, *save, cur[128] = "";
	char seen[64][128];
	size_t nseen = 0, i;

	assert_non_null(m);
	metrics_programs(m, (struct meter_prog_stat[METER_NR_PROGS]){
				    { "ingress", 1, 1 }, { "egress", 1, 1 },
				    { "sockops", 1, 1 } },
			 METER_NR_PROGS);
	metrics_booking(m);
	assert_true(metrics_add(m, METRICS_RX, labels, 5, 1, 0) >= 0);
	page = render(m);
	for (line = strtok_r(page, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char name[128];

		if (!strncmp(line, "# HELP ", 7)) {
			sscanf(line + 7, "%127s", name);
			for (i = 0; i < nseen; i++)
				if (!strcmp(seen[i], name))
					fail_msg("second HELP for %s", name);
			assert_true(nseen < 64);
			strcpy(seen[nseen++], name);
			strcpy(cur, name);
			/* Some help, not just a name. */
			assert_true(strlen(line) > 7 + strlen(name) + 10);
			continue;
		}
		if (!strncmp(line, "# TYPE ", 7)) {
			char type[32];

			assert_int_equal(sscanf(line + 7, "%127s %31s", name,
						type), 2);
			assert_string_equal(name, cur);
			assert_true(!strcmp(type, "counter") ||
				    !strcmp(type, "gauge"));
			/* Counters end in _total, nothing else does. */
			assert_int_equal(!strcmp(type, "counter"),
					 strlen(name) > 6 &&
					 !strcmp(name + strlen(name) - 6,
						 "_total"));
			continue;
		}
		assert_true(line[0] != '#');
		sscanf(line, "%127[^{ ]", name);
		if (strcmp(name, cur))
			fail_msg("sample '%s' outside its family '%s'", line,
				 cur);
		assert_int_equal(strncmp(name, "tollgate_", 9), 0);
	}
	free(page);
	page = render(m);
	assert_true(count(page, "# HELP tollgate_transmit_bytes_total ") == 1);
	assert_true(count(page, "# HELP tollgate_receive_bytes_total ") == 1);
	assert_true(count(page, "# HELP tollgate_transmit_packets_total ") == 1);
	assert_true(count(page, "# HELP tollgate_receive_packets_total ") == 1);
	assert_true(count(page, "# HELP tollgate_api_calls_total ") == 1);
	assert_true(count(page, "# HELP tollgate_peer_map_entries ") == 1);
	assert_true(count(page, "# HELP tollgate_peer_map_capacity ") == 1);
	assert_true(count(page, "# HELP tollgate_peer_insert_failures_total ") == 1);
	assert_true(count(page, "# HELP tollgate_bpf_prog_run_time_seconds_total ") == 1);
	assert_non_null(strstr(page, "bpf_stats_enabled=1"));
	assert_true(count(page, "# HELP tollgate_collection_last_success_timestamp_seconds ") == 1);
	assert_true(count(page, "# HELP tollgate_config_last_reload_successful ") == 1);
	assert_true(count(page, "# HELP tollgate_ledger_write_errors_total ") == 1);
	assert_true(count(page, "tollgate_build_info{version=\"") == 1);
	/* No cost without a ledger rated. */
	assert_null(strstr(page, "tollgate_rated_cost"));
	free(page);
	metrics_free(m);
}

/* Label sets past the cap go to "other"; admitted ones stay; totals are
 * exact. */
static void test_cap(void **state)
{
	struct metrics *m = metrics_new(3);
	const char *labels[ML_NR] = { "outbound_client", "t", "", "", "",
				      "public", "client" };
	char tenant[16], *page;
	long long total = 0;
	int i, idx, first;

	assert_non_null(m);
	for (i = 0; i < 10; i++) {
		snprintf(tenant, sizeof(tenant), "t%d", i);
		labels[ML_TENANT] = tenant;
		idx = metrics_add(m, METRICS_TX, labels, 100 + i, 1, 0);
		assert_true(idx >= 0);
		total += 100 + i;
	}
	/* Three admitted, one "other". */
	assert_int_equal(metrics_nr_series(m, METRICS_TX), 4);
	/* t1 was admitted before the cap: it keeps its own series. */
	labels[ML_TENANT] = "t1";
	first = metrics_add(m, METRICS_TX, labels, 1000, 1, 0);
	total += 1000;
	assert_int_equal(first, 1);
	/* A new one after the cap is "other" again. */
	labels[ML_TENANT] = "t99";
	idx = metrics_add(m, METRICS_TX, labels, 1, 1, 0);
	total += 1;
	assert_int_equal(metrics_nr_series(m, METRICS_TX), 4);

	page = render(m);
	assert_int_equal(family_sum(page, "tollgate_transmit_bytes_total"),
			 total);
	assert_int_equal(sample(page, "tollgate_transmit_bytes_total{"
				"traffic_type=\"other\",tenant=\"other\","
				"service=\"other\",backend=\"other\","
				"peer_region=\"other\",network=\"other\","
				"role=\"other\"}"),
			 103 + 104 + 105 + 106 + 107 + 108 + 109 + 1);
	assert_int_equal(sample(page, "tollgate_transmit_bytes_total{"
				"traffic_type=\"outbound_client\","
				"tenant=\"t1\",service=\"\",backend=\"\","
				"peer_region=\"\",network=\"public\","
				"role=\"client\"}"),
			 1101);
	assert_int_equal(sample(page, "tollgate_metrics_max_series"), 3);
	assert_int_equal(sample(page, "tollgate_metrics_series{family="
				"\"transmit\"}"), 4);
	assert_int_equal(sample(page, "tollgate_metrics_folded_total"), 8);
	/* The receive family is its own: nothing there. */
	assert_int_equal(family_sum(page, "tollgate_receive_bytes_total"), 0);
	free(page);

	/* A larger cap admits new label sets again. */
	metrics_set_max_series(m, 5);
	labels[ML_TENANT] = "t100";
	assert_int_equal(metrics_add(m, METRICS_TX, labels, 1, 1, 0), 4);
	metrics_free(m);
}

/* 10,000 label sets under a cap of 10,000 and a cap of 1,000. */
static void test_many(void **state)
{
	const char *labels[ML_NR] = { "outbound_client", "t", "", "", "",
				      "public", "client" };
	__u32 caps[] = { 10000, 1000 };
	char tenant[16], *page;
	size_t c;
	int i;

	for (c = 0; c < 2; c++) {
		struct metrics *m = metrics_new(caps[c]);

		assert_non_null(m);
		for (i = 0; i < 10000; i++) {
			snprintf(tenant, sizeof(tenant), "t%d", i);
			labels[ML_TENANT] = tenant;
			assert_true(metrics_add(m, METRICS_TX, labels, 1, 1,
						0) >= 0);
		}
		assert_int_equal(metrics_nr_series(m, METRICS_TX),
				 caps[c] == 10000 ? 10000 : 1001);
		page = render(m);
		assert_int_equal(family_sum(page,
					    "tollgate_transmit_bytes_total"),
				 10000);
		free(page);
		metrics_free(m);
	}
}

static struct tg_peer_key peer(const char *v4, __u16 port, __u8 role)
{
	struct tg_peer_key k = { .port = port, .proto = IPPROTO_TCP,
				 .role = role };
	__u8 a[4];

	assert_int_equal(inet_pton(AF_INET, v4, a), 1);
	cidr_map_v4(a, k.addr);
	return k;
}

/* The overflow bucket of backend port 8080, when a test gives it. */
static struct bucket_rec be_bucket = {
	.key = { .port = 8080, .proto = IPPROTO_TCP, .role = TG_ROLE_BACKEND },
};

/* A client on port 443 and backend orders, with these counters. */
static void snap(struct snapshot *s, struct peer_rec *p, __u64 cl_out,
		 __u64 cl_in, __u64 be_out, __u64 be_in)
{
	memset(s, 0, sizeof(*s));
	memset(p, 0, 2 * sizeof(*p));
	s->peers = p;
	s->nr_peers = 2;
	s->capacity = 16384;
	p[0].key = peer("198.51.100.7", 443, TG_ROLE_CLIENT);
	p[0].c = (struct tg_counters){ cl_in, cl_in / 100, cl_out,
				       cl_out / 100, cl_in / 10 };
	p[1].key = peer("10.1.2.9", 8080, TG_ROLE_BACKEND);
	p[1].c = (struct tg_counters){ be_in, be_in / 100, be_out,
				       be_out / 100, 0 };
}

#define ACME_TX \
	"tollgate_transmit_bytes_total{traffic_type=\"outbound_client\"," \
	"tenant=\"acme\",service=\"shop-api\",backend=\"\",peer_region=\"\"," \
	"network=\"public\",role=\"client\"}"
#define GLOBEX_TX \
	"tollgate_transmit_bytes_total{traffic_type=\"outbound_client\"," \
	"tenant=\"globex\",service=\"partner-api\",backend=\"\"," \
	"peer_region=\"\",network=\"public\",role=\"client\"}"
#define ORDERS_TX \
	"tollgate_transmit_bytes_total{traffic_type=" \
	"\"outbound_backend_intranet\",tenant=\"acme\",service=\"shop-api\"," \
	"backend=\"orders\",peer_region=\"cn-north-1\",network=\"intranet\"," \
	"role=\"backend\"}"
#define ACME_CALLS \
	"tollgate_api_calls_total{traffic_type=\"inbound\",tenant=\"acme\"," \
	"service=\"shop-api\",backend=\"\",peer_region=\"\"," \
	"network=\"public\",role=\"client\"}"
#define GLOBEX_CALLS \
	"tollgate_api_calls_total{traffic_type=\"inbound\"," \
	"tenant=\"globex\",service=\"partner-api\",backend=\"\"," \
	"peer_region=\"\",network=\"public\",role=\"client\"}"
#define ORDERS_RX \
	"tollgate_receive_bytes_total{traffic_type=\"inbound\"," \
	"tenant=\"acme\",service=\"shop-api\",backend=\"orders\"," \
	"peer_region=\"cn-north-1\",network=\"intranet\",role=\"backend\"}"

/* One interval: the usage rows of @s under @cfg, into the metrics. */
static int update(struct metrics *m, struct usage *u,
		  const struct tg_config *cfg, unsigned int gen,
		  const struct snapshot *s)
{
	const struct usage_list *l;
	int err = usage_update(u, cfg, gen, s, &l);

	return err ? err : metrics_collected(m, l, s, 0);
}

static void test_update(void **state)
{
	struct tg_config *a = parse(yaml), *b = parse(yaml_b);
	struct metrics *m = metrics_new(0);
	struct usage *u = usage_new();
	struct peer_rec p[2];
	struct snapshot s;
	char *page;

	assert_non_null(m);
	/* The first read takes the pinned cumulative counters whole: a
	 * restarted agent carries on where the kernel is. */
	snap(&s, p, 5000, 700, 300, 9000);
	be_bucket.c = (struct tg_counters){ 40, 1, 60, 2, 0 };
	s.buckets = &be_bucket;
	s.nr_buckets = 1;
	s.stats[TG_STAT_PEER_FULL] = 3;
	assert_int_equal(update(m, u, a, 0, &s), 0);
	page = render(m);
	assert_int_equal(sample(page, ACME_TX), 5000);
	assert_int_equal(sample(page, ORDERS_TX), 300);
	assert_int_equal(sample(page, ORDERS_RX), 9000);
	assert_int_equal(family_sum(page, "tollgate_transmit_bytes_total"),
			 5000 + 300 + 60);
	assert_int_equal(family_sum(page, "tollgate_receive_bytes_total"),
			 700 + 9000 + 40);
	assert_int_equal(sample(page, "tollgate_overflow_transmit_bytes_total"
				"{role=\"backend\",reason=\"no_slot\"}"), 60);
	assert_int_equal(sample(page, "tollgate_peer_insert_failures_total"),
			 3);
	assert_int_equal(sample(page, "tollgate_peer_map_entries"), 2);
	assert_int_equal(sample(page, "tollgate_peer_map_capacity"), 16384);
	/* Calls are the client's requests: on the receive label sets. */
	assert_int_equal(sample(page, ACME_CALLS), 70);
	assert_int_equal(family_sum(page, "tollgate_api_calls_total"), 70);
	/* The overflow bucket is booked like the ledger books it. */
	assert_int_equal(sample(page, "tollgate_transmit_bytes_total{"
				"traffic_type=\"outbound_backend_internet\","
				"tenant=\"\",service=\"\",backend=\"\","
				"peer_region=\"\",network=\"\","
				"role=\"backend\"}"), 60);
	free(page);

	/* A reload gives port 443 to globex: only later bytes move. */
	snap(&s, p, 6000, 800, 300, 9000);
	s.buckets = &be_bucket;
	s.nr_buckets = 1;
	assert_int_equal(update(m, u, b, 1, &s), 0);
	page = render(m);
	assert_int_equal(sample(page, ACME_TX), 5000);
	assert_int_equal(sample(page, GLOBEX_TX), 1000);
	assert_int_equal(sample(page, ACME_CALLS), 70);
	assert_int_equal(sample(page, GLOBEX_CALLS), 10);
	free(page);

	/* An entry recreated (a counter went down) counts from zero. */
	snap(&s, p, 6000, 800, 300, 9000);
	p[1].c = (struct tg_counters){ 10, 1, 20, 1, 0 };
	assert_int_equal(update(m, u, b, 1, &s), 0);
	page = render(m);
	assert_int_equal(family_sum(page, "tollgate_receive_bytes_total"),
			 700 + 9000 + 40 + 100 + 10);
	free(page);
	usage_free(u);
	metrics_free(m);
	config_free(a);
	config_free(b);
}

static void test_cost(void **state)
{
	char path[96], *page;
	struct tg_config *cfg = parse(yaml);
	struct metrics *m = metrics_new(0);
	struct book *c = NULL;
	struct usage_list l;
	struct peer_rec p[2];
	struct snapshot s;
	struct plan plan;
	time_t now = time(NULL);
	__s64 day;

	assert_int_equal(tmpdir_make("metrics"), 0);
	snprintf(path, sizeof(path), "%s/ledger.db", tmpdir);
	assert_int_equal(book_open(&c, &(struct book_opts){
						  .ledger = path,
						  .host = "gw1",
						  .boot_id = "boot" }),
			 0);
	/* 2 GiB to acme's clients today: 1.60 at 0.80/GB. */
	snap(&s, p, 2ULL << 30, 0, 0, 0);
	/* Counted today: in today's bank. */
	assert_int_equal(day_number(now, book_tz(c), &day), 0);
	p[0].bank[day % TG_NR_BANKS] = p[0].c;
	s.taken_at = now;
	s.clock.day0 = day;
	s.clock.day_ns[0] = 1;
	assert_int_equal(usage_of(cfg, &s, &l), 0);
	assert_int_equal(book_commit(c, &l, &s, now), 0);
	usage_list_free(&l);
	assert_int_equal(plan_load(&plan, "jdcloud"), 0);
	assert_int_equal(metrics_rate(m, book_ledger(c), &plan, now), 0);
	page = render(m);
	assert_non_null(strstr(page, "# TYPE tollgate_rated_cost_day gauge\n"));
	assert_non_null(strstr(page, "tollgate_rated_cost_day{tenant=\"acme\","
				     "currency=\"CNY\",plan=\"jdcloud\"} "
				     "1.60\n"));
	assert_non_null(strstr(page, "tollgate_rated_cost_month{tenant="
				     "\"acme\",currency=\"CNY\",plan="
				     "\"jdcloud\"} 1.60\n"));
	free(page);
	metrics_no_cost(m);
	page = render(m);
	assert_null(strstr(page, "tollgate_rated_cost"));
	free(page);
	book_close(c);
	metrics_free(m);
	config_free(cfg);
	assert_int_equal(tmpdir_remove(), 0);
}

static void test_listen(void **state)
{
	struct sockaddr_storage ss;

	assert_int_equal(metrics_parse_listen("127.0.0.1:9109", &ss), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 9109);
	assert_int_equal(metrics_parse_listen("[::1]:0", &ss), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(metrics_parse_listen("0.0.0.0:65535", &ss), 0);
	assert_int_equal(metrics_parse_listen("127.0.0.1", &ss), -EINVAL);
	assert_int_equal(metrics_parse_listen(":9109", &ss), -EINVAL);
	assert_int_equal(metrics_parse_listen("127.0.0.1:65536", &ss), -EINVAL);
	assert_int_equal(metrics_parse_listen("127.0.0.1:-1", &ss), -EINVAL);
	assert_int_equal(metrics_parse_listen("127.0.0.1:x", &ss), -EINVAL);
	assert_int_equal(metrics_parse_listen("::1:9109", &ss), -EINVAL);
	assert_int_equal(metrics_parse_listen("[::1]9109", &ss), -EINVAL);
	assert_int_equal(metrics_parse_listen("localhost:9109", &ss), -EINVAL);
}

static void test_config(void **state)
{
	static const char good[] =
		"region: r\nprovider: p\n"
		"metrics:\n"
		"  listen: 0.0.0.0:9200\n"
		"  max_series: 50\n"
		"  tls:\n"
		"    cert: tls/cert.pem\n"
		"    key: /etc/tls/key.pem\n"
		"  users:\n"
		"    - name: prom\n"
		"      password_hash: $2b$05$abcdefghijklmnopqrstuu5Rz0gEvZB0ZlRf8kM2kZP3nHWMx4pZe\n"
		"  plan: tencent\n"
		"  plan_region: ap-guangzhou\n";
	static const struct {
		const char *text;
		const char *msg;
	} bad[] = {
		{ "metrics:\n  max_series: 0\n",
		  "test.yaml:4:15: metrics.max_series: must be a number 1 to 1000000, not '0'" },
		{ "metrics:\n  enabled: yes\n",
		  "test.yaml:4:12: metrics.enabled: must be true or false, not 'yes'" },
		{ "metrics:\n  anonymous: 1\n",
		  "test.yaml:4:14: metrics.anonymous: must be true or false, not '1'" },
		{ "metrics:\n  users:\n    - name: a\n      password_hash: plain\n",
		  "test.yaml:6:22: metrics.users[0].password_hash: must be a bcrypt hash" },
		{ "metrics:\n  tls:\n    cert: c.pem\n",
		  "test.yaml:5:5: metrics.tls.key: missing required setting 'key'" },
		{ "metrics:\n  listen: a b\n",
		  "test.yaml:4:11: metrics.listen: must be 1 to 255 printable characters without blanks" },
		{ "metrics:\n  lsiten: x\n",
		  "test.yaml:4:3: metrics.lsiten: unknown setting 'lsiten'" },
		{ "metrics:\n  users:\n    - name: a\n      password_hash: $2b$x\n"
		  "    - name: a\n      password_hash: $2b$y\n",
		  "test.yaml:7:13: metrics.users[1].name: user 'a' is already in metrics.users[0] (line 5)" },
	};
	struct tg_config *cfg;
	struct tg_err err = {};
	char text[512], msg[512];
	size_t i;

	cfg = parse(good);
	assert_false(cfg->metrics.disabled);
	assert_string_equal(cfg->metrics.listen, "0.0.0.0:9200");
	assert_int_equal(cfg->metrics.max_series, 50);
	assert_string_equal(cfg->metrics.tls_cert, "tls/cert.pem");
	assert_string_equal(cfg->metrics.tls_key, "/etc/tls/key.pem");
	assert_int_equal(cfg->metrics.nr_users, 1);
	assert_string_equal(cfg->metrics.users[0].name, "prom");
	assert_int_equal(strncmp(cfg->metrics.users[0].hash, "$2b$05$", 7), 0);
	assert_string_equal(cfg->metrics.plan, "tencent");
	assert_string_equal(cfg->metrics.plan_region, "ap-guangzhou");
	assert_false(cfg->metrics.anonymous);
	config_free(cfg);
	cfg = parse("region: r\nprovider: p\nmetrics:\n  anonymous: true\n");
	assert_true(cfg->metrics.anonymous);
	config_free(cfg);

	/* Plan files are relative to the configuration's folder, built-in
	 * names stay names. */
	{
		static const char t[] = "region: r\nprovider: p\nmetrics:\n"
					"  plan: plans/p.yaml\n";
		static const char u[] = "region: r\nprovider: p\nmetrics:\n"
					"  plan: tencent\n";

		assert_int_equal(config_parse(t, strlen(t), "/etc/tg/t.yaml",
					      0, &cfg, &err), 0);
		assert_string_equal(cfg->metrics.plan, "/etc/tg/plans/p.yaml");
		config_free(cfg);
		assert_int_equal(config_parse(u, strlen(u), "/etc/tg/t.yaml",
					      0, &cfg, &err), 0);
		assert_string_equal(cfg->metrics.plan, "tencent");
		config_free(cfg);
	}
	cfg = parse("region: r\nprovider: p\nmetrics:\n  enabled: false\n");
	assert_true(cfg->metrics.disabled);
	assert_null(cfg->metrics.listen);
	config_free(cfg);
	cfg = parse("region: r\nprovider: p\nmetrics:\n");
	assert_false(cfg->metrics.disabled);
	config_free(cfg);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "region: r\nprovider: p\n%s",
			 bad[i].text);
		cfg = NULL;
		assert_int_equal(config_parse(text, strlen(text), "test.yaml",
					      0, &cfg, &err),
				 -EINVAL);
		tg_err_str(&err, msg, sizeof(msg));
		if (strncmp(msg, bad[i].msg, strlen(bad[i].msg)))
			fail_msg("case %zu: got '%s', want '%s'", i, msg,
				 bad[i].msg);
		assert_null(cfg);
	}
}

/* Send @req to the server on @port; the whole answer into @buf. */
static void http(unsigned int port, const char *req, char *buf, size_t len)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port) };
	size_t n = 0;
	ssize_t r;
	int fd;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(write(fd, req, strlen(req)), strlen(req));
	while (n + 1 < len && (r = read(fd, buf + n, len - n - 1)) > 0)
		n += r;
	buf[n] = '\0';
	close(fd);
}

#define REQ(m, path, extra) \
	m " " path " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n" extra "\r\n"

static void test_server(void **state)
{
	struct metrics_server *srv;
	struct tg_metrics_user u = { .name = "prom" };
	char buf[8192], salt[64], hash[128];
	unsigned int port;

	assert_int_equal(metrics_server_start(&srv,
		&(struct metrics_server_opts){ .listen = "127.0.0.1:0" }), 0);
	port = metrics_server_port(srv);
	assert_true(port > 0);

	http(port, REQ("GET", "/metrics", ""), buf, sizeof(buf));
	assert_int_equal(strncmp(buf, "HTTP/1.1 503 ", 13), 0);
	metrics_server_publish(srv, strdup("tollgate_x 1\n"), 13);
	http(port, REQ("GET", "/metrics", ""), buf, sizeof(buf));
	assert_int_equal(strncmp(buf, "HTTP/1.1 200 ", 13), 0);
	assert_non_null(strstr(buf, "Content-Type: text/plain; version=0.0.4"));
	assert_non_null(strstr(buf, "\r\n\r\ntollgate_x 1\n"));
	http(port, REQ("HEAD", "/metrics", ""), buf, sizeof(buf));
	assert_int_equal(strncmp(buf, "HTTP/1.1 200 ", 13), 0);
	assert_null(strstr(buf, "tollgate_x"));
	http(port, REQ("POST", "/metrics", "Content-Length: 3\r\n") "abc",
	     buf, sizeof(buf));
	assert_int_equal(strncmp(buf, "HTTP/1.1 405 ", 13), 0);
	assert_non_null(strstr(buf, "Allow: GET, HEAD\r\n"));
	http(port, REQ("GET", "/nope", ""), buf, sizeof(buf));
	assert_int_equal(strncmp(buf, "HTTP/1.1 404 ", 13), 0);
	http(port, "GET /metrics HTTP/1.1\r\n\r\n", buf, sizeof(buf));
	assert_int_equal(strncmp(buf, "HTTP/1.1 400 ", 13), 0);
	http(port, REQ("GET", "/", ""), buf, sizeof(buf));
	assert_non_null(strstr(buf, "href=\"/metrics\""));

	/* Users: a bcrypt hash of "pw", cheapest cost. */
	assert_non_null(crypt_gensalt_rn("$2b$", 4, NULL, 0, salt,
					 sizeof(salt)));
	snprintf(hash, sizeof(hash), "%s", crypt("pw", salt));
	assert_int_equal(strncmp(hash, "$2b$04$", 7), 0);
	u.hash = hash;
	assert_int_equal(metrics_server_set_users(srv, &u, 1), 0);
	http(port, REQ("GET", "/metrics", ""), buf, sizeof(buf));
	assert_int_equal(strncmp(buf, "HTTP/1.1 401 ", 13), 0);
	assert_non_null(strstr(buf, "WWW-Authenticate: Basic realm=\"tollgate\""));
	/* prom:wrong */
	http(port, REQ("GET", "/metrics", "Authorization: Basic cHJvbTp3cm9uZw==\r\n"),
	     buf, sizeof(buf));
	assert_int_equal(strncmp(buf, "HTTP/1.1 401 ", 13), 0);
	/* prom:pw, twice: bcrypt, then the cache */
	http(port, REQ("GET", "/metrics", "Authorization: Basic cHJvbTpwdw==\r\n"),
	     buf, sizeof(buf));
	assert_int_equal(strncmp(buf, "HTTP/1.1 200 ", 13), 0);
	http(port, REQ("GET", "/metrics", "Authorization: Basic cHJvbTpwdw==\r\n"),
	     buf, sizeof(buf));
	assert_int_equal(strncmp(buf, "HTTP/1.1 200 ", 13), 0);
	/* A new hash drops the cached password. */
	snprintf(hash, sizeof(hash), "%s", crypt("other", salt));
	assert_int_equal(metrics_server_set_users(srv, &u, 1), 0);
	http(port, REQ("GET", "/metrics", "Authorization: Basic cHJvbTpwdw==\r\n"),
	     buf, sizeof(buf));
	assert_int_equal(strncmp(buf, "HTTP/1.1 401 ", 13), 0);
	assert_int_equal(metrics_server_set_users(srv, NULL, 0), 0);
	http(port, REQ("GET", "/metrics", ""), buf, sizeof(buf));
	assert_int_equal(strncmp(buf, "HTTP/1.1 200 ", 13), 0);

	/* The port is taken now. */
	{
		struct metrics_server *two;
		char addr[32];

		snprintf(addr, sizeof(addr), "127.0.0.1:%u", port);
		assert_true(metrics_server_start(&two,
			&(struct metrics_server_opts){ .listen = addr }) < 0);
		assert_int_equal(metrics_server_start(&two,
			&(struct metrics_server_opts){ .listen = "nope" }),
			-EINVAL);
	}
	metrics_server_stop(srv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_escape_in_page),
		cmocka_unit_test(test_help_type),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_update),
		cmocka_unit_test(test_cost),
		cmocka_unit_test(test_listen),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_server),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
