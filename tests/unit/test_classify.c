// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_classify.c - traffic types, billing and flags. Every row of the
 * billing rules' tables (seed 000: JD Cloud, seed 002: Tencent Cloud,
 * HTTP and SCF backends) is a case, against the sample configurations in
 * tests/data/; then the flags, prefix boundaries through the whole
 * configuration, the equal-prefix tie-breaks, the built-in default and
 * the explanations.
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
#include <linux/types.h>
#include <cmocka.h>

#include "meter.h"
#include "classify/classify.h"
#include "cmd/cmd.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define DATA "tests/data/"

#define C TG_ROLE_CLIENT
#define B TG_ROLE_BACKEND
#define OUT true
#define IN false

#define UNEXPL TG_FLAG_UNEXPLAINED
#define NOREG TG_FLAG_NO_REGION
#define NOPROV TG_FLAG_NO_PROVIDER
#define UNKBE TG_FLAG_UNKNOWN_BACKEND
#define UNKSVC TG_FLAG_UNKNOWN_SERVICE

struct row {
	const char *what;	/* the rule's words, for failures */
	__u8 role;
	const char *addr;
	__u16 port;
	bool out;
	enum tg_traffic type;
	bool billable;
	__u32 flags;
	const char *name;	/* backend or service name; "" none */
};

static void to_addr(const char *s, __u8 out[16])
{
	__u8 v4[4];

	if (inet_pton(AF_INET, s, v4) == 1)
		cidr_map_v4(v4, out);
	else if (inet_pton(AF_INET6, s, out) != 1)
		fail_msg("bad test address %s", s);
}

static void run_rows(const struct tg_config *cfg, const struct row *rows,
		     size_t n)
{
	char why[512], fl[96];
	struct tg_class res;
	size_t i;

	for (i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		const char *name;
		__u8 a[16];

		to_addr(r->addr, a);
		memset(&res, 0xa5, sizeof(res));
		assert_int_equal(classify(cfg, r->role, a, r->port, IPPROTO_TCP,
					  0, r->out, &res), 0);
		name = r->role == C ? res.service : res.backend;
		if (res.type != r->type || res.billable != r->billable ||
		    res.flags != r->flags || strcmp(name, r->name))
			fail_msg("%s (%s port %u): got %s billable=%d flags=%s "
				 "name='%s'; want %s billable=%d flags=%#x "
				 "name='%s'\n  why: %s", r->what, r->addr,
				 r->port, traffic_name(res.type), res.billable,
				 flags_str(res.flags, fl, sizeof(fl)), name,
				 traffic_name(r->type), r->billable, r->flags,
				 r->name,
				 classify_why(cfg, &res, why, sizeof(why)));
		assert_int_equal(res.flagged, r->flags != 0);
		assert_string_equal(res.reason,
				    r->flags ? flag_name(r->flags & -r->flags)
					     : "");
		assert_int_equal(res.billable, traffic_billable(res.type));
	}
}

static struct tg_config *load(const char *path)
{
	struct tg_config *cfg;
	struct tg_err err = {};
	char buf[512];

	if (config_load(path, &cfg, &err))
		fail_msg("%s", tg_err_str(&err, buf, sizeof(buf)));
	return cfg;
}

/* Seed 000, JD Cloud: gateway in jdcloud cn-north-1. */
static void test_seed_jdcloud(void **state)
{
	static const struct row rows[] = {
		/* 1. inflow and outflow */
		{ "client to gateway: inflow", C, "198.18.0.1", 443, IN,
		  TG_TRAFFIC_INBOUND, false, 0, "shop-api" },
		{ "gateway to backend: outflow", B, "114.67.10.5", 80, OUT,
		  TG_TRAFFIC_BACKEND_PUBLIC_SAME_REGION, true, 0,
		  "jd-public" },
		{ "backend to gateway: inflow", B, "114.67.10.5", 80, IN,
		  TG_TRAFFIC_INBOUND, false, 0, "jd-public" },
		{ "gateway to client: outflow, always charged", C,
		  "198.18.0.1", 443, OUT, TG_TRAFFIC_OUTBOUND_CLIENT, true, 0,
		  "shop-api" },
		{ "gateway to an intranet client: still charged", C,
		  "10.1.2.3", 443, OUT, TG_TRAFFIC_OUTBOUND_CLIENT, true, 0,
		  "shop-api" },
		/* 3.(2) backend HTTP by location */
		{ "JD Cloud, same region, intranet address: free", B,
		  "10.1.2.3", 8080, OUT, TG_TRAFFIC_BACKEND_INTRANET, false, 0,
		  "orders" },
		{ "JD Cloud, other region, internet address: charged", B,
		  "116.196.1.1", 443, OUT, TG_TRAFFIC_BACKEND_OTHER_REGION,
		  true, 0, "jd-east" },
		{ "JD Cloud, same region, internet address: charged", B,
		  "114.67.10.200", 443, OUT,
		  TG_TRAFFIC_BACKEND_PUBLIC_SAME_REGION, true, 0,
		  "jd-public" },
		{ "not in JD Cloud, internet address: charged", B,
		  "52.95.245.7", 443, OUT, TG_TRAFFIC_BACKEND_INTERNET, true,
		  0, "aws-east" },
		{ "JD Cloud, same region, IPv6 internet address: charged", B,
		  "2402:db40:5100::7", 443, OUT,
		  TG_TRAFFIC_BACKEND_PUBLIC_SAME_REGION, true, 0, "v6-pool" },
	};
	struct tg_config *cfg = load(DATA "jdcloud.yaml");

	run_rows(cfg, rows, ARRAY_SIZE(rows));
	config_free(cfg);
}

/* Seed 002, Tencent Cloud: gateway in tencent ap-guangzhou. */
static void test_seed_tencent(void **state)
{
	static const struct row rows[] = {
		/* inbound and outbound */
		{ "request, client to gateway: inbound", C, "203.0.113.5",
		  80, IN, TG_TRAFFIC_INBOUND, false, 0, "web" },
		{ "request, gateway to backend: outbound", B, "8.8.8.8", 80,
		  OUT, TG_TRAFFIC_BACKEND_INTERNET, true, 0,
		  "http-internet" },
		{ "response, backend to gateway: inbound", B, "8.8.8.8", 80,
		  IN, TG_TRAFFIC_INBOUND, false, 0, "http-internet" },
		{ "response, gateway to client: outbound", C, "203.0.113.5",
		  80, OUT, TG_TRAFFIC_OUTBOUND_CLIENT, true, 0, "web" },
		/* backend HTTP */
		{ "region of the API, private address: free", B,
		  "172.17.0.10", 8080, OUT, TG_TRAFFIC_BACKEND_INTRANET, false,
		  0, "http-private" },
		{ "region of the API, public address: billed", B,
		  "119.28.1.1", 80, OUT,
		  TG_TRAFFIC_BACKEND_PUBLIC_SAME_REGION, true, 0,
		  "http-public-same" },
		{ "not the region of the API, public address: billed", B,
		  "119.29.1.1", 80, OUT, TG_TRAFFIC_BACKEND_OTHER_REGION, true,
		  0, "http-public-other" },
		{ "non-Tencent internet address: billed", B, "8.8.8.8", 443,
		  OUT, TG_TRAFFIC_BACKEND_INTERNET, true, 0,
		  "http-internet" },
		/* backend SCF */
		{ "SCF in the region of the API: free", B, "9.1.1.1", 443,
		  OUT, TG_TRAFFIC_SCF_SAME_REGION, false, 0, "scf-same" },
		{ "SCF not in the region of the API: billed", B, "9.200.1.1",
		  443, OUT, TG_TRAFFIC_SCF_OTHER_REGION, true, 0,
		  "scf-other" },
		{ "SCF response: inbound", B, "9.200.1.1", 443, IN,
		  TG_TRAFFIC_INBOUND, false, 0, "scf-other" },
	};
	struct tg_config *cfg = load(DATA "tencent.yaml");

	run_rows(cfg, rows, ARRAY_SIZE(rows));
	config_free(cfg);
}

/* What no rule explains is billed and flagged, never free by a guess. */
static void test_flags(void **state)
{
	static const struct row rows[] = {
		{ "intranet address, our cloud, other region", B,
		  "10.20.1.1", 80, OUT, TG_TRAFFIC_BACKEND_OTHER_REGION, true,
		  UNEXPL, "peered" },
		{ "intranet address from a CSV, other region", B,
		  "10.220.0.1", 80, OUT, TG_TRAFFIC_BACKEND_OTHER_REGION, true,
		  UNEXPL | UNKBE, "" },
		{ "intranet address, provider unknown", B, "10.30.1.1", 80,
		  OUT, TG_TRAFFIC_BACKEND_INTERNET, true, NOPROV, "vpn" },
		{ "intranet address, our cloud, region unknown", B,
		  "10.40.1.1", 80, OUT, TG_TRAFFIC_BACKEND_OTHER_REGION, true,
		  NOREG, "noregion" },
		{ "intranet address of another cloud", B, "10.50.1.1", 80,
		  OUT, TG_TRAFFIC_BACKEND_INTERNET, true, UNEXPL, "dx-aws" },
		{ "public address, provider unknown", B, "203.0.113.9", 80,
		  OUT, TG_TRAFFIC_BACKEND_INTERNET, true, NOPROV, "partner" },
		{ "public address, provider internet: explained", B,
		  "198.51.100.1", 80, OUT, TG_TRAFFIC_BACKEND_INTERNET, true,
		  UNKBE, "" },
		{ "no backends entry, intranet of our region: free", B,
		  "10.7.7.7", 80, OUT, TG_TRAFFIC_BACKEND_INTRANET, false,
		  UNKBE, "" },
		{ "no backends entry, internet", B, "8.8.8.8", 80, OUT,
		  TG_TRAFFIC_BACKEND_INTERNET, true, UNKBE, "" },
		{ "no backends entry for this port: address-only entry", B,
		  "10.1.2.3", 9090, OUT, TG_TRAFFIC_BACKEND_INTRANET, false, 0,
		  "orders-pool" },
		{ "no backends entry, inbound: flagged, not billed", B,
		  "8.8.8.8", 80, IN, TG_TRAFFIC_INBOUND, false, UNKBE, "" },
		{ "flagged peer inbound keeps its flags", B, "10.20.1.1", 80,
		  IN, TG_TRAFFIC_INBOUND, false, UNEXPL, "peered" },
		{ "scf in our region", B, "10.9.9.9", 443, OUT,
		  TG_TRAFFIC_SCF_SAME_REGION, false, 0, "fn-local" },
		{ "scf public address, other region", B, "116.196.2.2", 443,
		  OUT, TG_TRAFFIC_SCF_OTHER_REGION, true, 0, "fn-east" },
		{ "scf in another cloud", B, "52.94.76.1", 443, OUT,
		  TG_TRAFFIC_SCF_OTHER_REGION, true, UNEXPL, "fn-aws" },
		{ "scf, region unknown", B, "10.40.2.2", 443, OUT,
		  TG_TRAFFIC_SCF_OTHER_REGION, true, NOREG, "fn-noregion" },
		{ "scf, provider unknown", B, "10.30.2.2", 443, OUT,
		  TG_TRAFFIC_SCF_OTHER_REGION, true, NOPROV, "fn-noprovider" },
		{ "client on a port no services entry names", C, "1.2.3.4",
		  9999, OUT, TG_TRAFFIC_OUTBOUND_CLIENT, true, UNKSVC, "" },
		{ "same, inbound", C, "1.2.3.4", 9999, IN, TG_TRAFFIC_INBOUND,
		  false, UNKSVC, "" },
		{ "client: the address's region does not matter", C,
		  "10.40.1.1", 443, OUT, TG_TRAFFIC_OUTBOUND_CLIENT, true, 0,
		  "shop-api" },
	};
	struct tg_config *cfg = load(DATA "jdcloud.yaml");

	run_rows(cfg, rows, ARRAY_SIZE(rows));
	config_free(cfg);
}

/* Prefix boundaries through the whole configuration. */
static void test_boundaries(void **state)
{
	static const struct row rows[] = {
		{ "first of 10/8", B, "10.0.0.0", 1, OUT,
		  TG_TRAFFIC_BACKEND_INTRANET, false, UNKBE, "" },
		{ "last of 10/8", B, "10.255.255.255", 1, OUT,
		  TG_TRAFFIC_BACKEND_INTRANET, false, UNKBE, "" },
		{ "one before 10/8", B, "9.255.255.255", 1, OUT,
		  TG_TRAFFIC_BACKEND_INTERNET, true, UNKBE, "" },
		{ "one after 10/8", B, "11.0.0.0", 1, OUT,
		  TG_TRAFFIC_BACKEND_INTERNET, true, UNKBE, "" },
		{ "IPv4-mapped IPv6 is IPv4", B, "::ffff:10.1.2.3", 8080, OUT,
		  TG_TRAFFIC_BACKEND_INTRANET, false, 0, "orders" },
		{ "IPv4-compatible is not IPv4", B, "::10.1.2.3", 8080, OUT,
		  TG_TRAFFIC_BACKEND_INTERNET, true, UNKBE, "" },
		{ "last of 100.64/10 (mapped networks entry)", B,
		  "100.127.255.255", 1, OUT, TG_TRAFFIC_BACKEND_INTRANET,
		  false, UNKBE, "" },
		{ "one after 100.64/10", B, "100.128.0.0", 1, OUT,
		  TG_TRAFFIC_BACKEND_INTERNET, true, UNKBE, "" },
		{ "/32 backend, one past it", B, "116.196.1.2", 443, OUT,
		  TG_TRAFFIC_BACKEND_OTHER_REGION, true, UNKBE, "" },
		{ "last of 10.1.2.0/24 backend", B, "10.1.2.255", 1, OUT,
		  TG_TRAFFIC_BACKEND_INTRANET, false, 0, "orders-pool" },
		{ "one past 10.1.2.0/24 backend", B, "10.1.3.0", 1, OUT,
		  TG_TRAFFIC_BACKEND_INTRANET, false, UNKBE, "" },
		{ "::1/128", B, "::1", 1, OUT, TG_TRAFFIC_BACKEND_INTRANET,
		  false, UNKBE, "" },
		{ "one past ::1/128", B, "::2", 1, OUT,
		  TG_TRAFFIC_BACKEND_INTERNET, true, UNKBE, "" },
		{ "first of fc00::/7", B, "fc00::", 1, OUT,
		  TG_TRAFFIC_BACKEND_INTRANET, false, UNKBE, "" },
		{ "last of fc00::/7", B, "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		  1, OUT, TG_TRAFFIC_BACKEND_INTRANET, false, UNKBE, "" },
		{ "one before fc00::/7", B,
		  "fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1, OUT,
		  TG_TRAFFIC_BACKEND_INTERNET, true, UNKBE, "" },
		{ "fe80::/10", B, "febf::1", 1, OUT,
		  TG_TRAFFIC_BACKEND_INTRANET, false, UNKBE, "" },
		{ "one after fe80::/10", B, "fec0::", 1, OUT,
		  TG_TRAFFIC_BACKEND_INTERNET, true, UNKBE, "" },
		{ "v6 /40 from CSV, last address", B,
		  "2402:db40:51ff:ffff:ffff:ffff:ffff:ffff", 1, OUT,
		  TG_TRAFFIC_BACKEND_PUBLIC_SAME_REGION, true, UNKBE, "" },
		{ "0.0.0.0", B, "0.0.0.0", 1, OUT, TG_TRAFFIC_BACKEND_INTERNET,
		  true, UNKBE, "" },
		{ "255.255.255.255", B, "255.255.255.255", 1, OUT,
		  TG_TRAFFIC_BACKEND_INTERNET, true, UNKBE, "" },
		{ "::", B, "::", 1, OUT, TG_TRAFFIC_BACKEND_INTERNET, true,
		  UNKBE, "" },
	};
	struct tg_config *cfg = load(DATA "jdcloud.yaml");

	run_rows(cfg, rows, ARRAY_SIZE(rows));
	config_free(cfg);
}

/* Equal prefixes: networks > built-in > range files in order; within a
 * file a regional entry beats a regionless one, then the first wins. */
static void test_tie_break(void **state)
{
	static const struct {
		const char *addr;
		enum tg_origin origin;
		const char *file;
		unsigned int line;
		const char *provider;	/* NULL: own */
		const char *region;
	} cases[] = {
		/* networks beats built-in 172.16.0.0/12 */
		{ "172.16.0.1", TG_ORIGIN_NETWORKS, DATA "jdcloud.yaml", 24,
		  "jdcloud", "cn-north-1" },
		/* networks beats built-in, written in mapped form */
		{ "100.64.0.1", TG_ORIGIN_NETWORKS, DATA "jdcloud.yaml", 31,
		  "jdcloud", "cn-north-1" },
		/* a longer networks prefix inside a built-in one */
		{ "192.168.100.1", TG_ORIGIN_NETWORKS, DATA "jdcloud.yaml",
		  21, "internet", NULL },
		{ "192.168.99.1", TG_ORIGIN_BUILTIN, TG_BUILTIN, 0, NULL,
		  NULL },
		/* networks beats a range file */
		{ "54.239.96.1", TG_ORIGIN_NETWORKS, DATA "jdcloud.yaml", 28,
		  "internet", NULL },
		/* but not a longer range prefix: longest first */
		{ "54.239.1.1", TG_ORIGIN_RANGES, DATA "aws-ip-ranges.json",
		  24, "aws", "GLOBAL" },
		/* within a file the first of equal prefixes wins */
		{ "52.94.76.1", TG_ORIGIN_RANGES, DATA "aws-ip-ranges.json",
		  6, "aws", "us-west-2" },
		/* a regional entry beats a regionless one (Azure) */
		{ "20.38.80.1", TG_ORIGIN_RANGES, DATA "azure-servicetags.json",
		  34, "azure", "eastasia" },
		{ "13.66.60.119", TG_ORIGIN_RANGES,
		  DATA "azure-servicetags.json", 15, "azure", NULL },
		/* the CSV's provider column beats the setting */
		{ "198.51.100.7", TG_ORIGIN_RANGES, DATA "jdcloud.csv", 11,
		  "internet", NULL },
		/* a range file's longer prefix inside a built-in one */
		{ "10.220.1.1", TG_ORIGIN_RANGES, DATA "jdcloud.csv", 8,
		  "jdcloud", "cn-east-2" },
	};
	struct tg_config *cfg = load(DATA "jdcloud.yaml");
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct tg_rule *r;
		__u8 a[16];

		to_addr(cases[i].addr, a);
		r = config_match(cfg, a);
		if (r->origin != cases[i].origin ||
		    strcmp(r->file, cases[i].file) ||
		    r->line != cases[i].line)
			fail_msg("%s: rule of %s:%u (origin %d), want %s:%u",
				 cases[i].addr, r->file, r->line, r->origin,
				 cases[i].file, cases[i].line);
		if (cases[i].provider)
			assert_string_equal(r->provider, cases[i].provider);
		else if (r->origin == TG_ORIGIN_BUILTIN)
			assert_true(r->own);
		if (cases[i].region)
			assert_string_equal(r->region, cases[i].region);
		else
			assert_null(r->region);
	}
	config_free(cfg);
}

/* No configuration file: private is free intranet, the rest internet. */
static void test_default(void **state)
{
	static const struct row rows[] = {
		{ "private backend", B, "192.168.1.10", 80, OUT,
		  TG_TRAFFIC_BACKEND_INTRANET, false, UNKBE, "" },
		{ "CGNAT backend", B, "100.100.100.200", 80, OUT,
		  TG_TRAFFIC_BACKEND_INTRANET, false, UNKBE, "" },
		{ "metadata", B, "169.254.169.254", 80, OUT,
		  TG_TRAFFIC_BACKEND_INTRANET, false, UNKBE, "" },
		{ "loopback", B, "127.0.0.1", 80, OUT,
		  TG_TRAFFIC_BACKEND_INTRANET, false, UNKBE, "" },
		{ "ULA", B, "fd12:3456::1", 80, OUT,
		  TG_TRAFFIC_BACKEND_INTRANET, false, UNKBE, "" },
		{ "public backend", B, "1.1.1.1", 80, OUT,
		  TG_TRAFFIC_BACKEND_INTERNET, true, UNKBE, "" },
		{ "public v6 backend", B, "2606:4700::1111", 80, OUT,
		  TG_TRAFFIC_BACKEND_INTERNET, true, UNKBE, "" },
		{ "one past 172.16/12", B, "172.32.0.0", 80, OUT,
		  TG_TRAFFIC_BACKEND_INTERNET, true, UNKBE, "" },
		{ "client", C, "1.1.1.1", 443, OUT,
		  TG_TRAFFIC_OUTBOUND_CLIENT, true, UNKSVC, "" },
		{ "client inbound", C, "1.1.1.1", 443, IN, TG_TRAFFIC_INBOUND,
		  false, UNKSVC, "" },
	};
	struct tg_config *cfg = config_default();

	assert_non_null(cfg);
	run_rows(cfg, rows, ARRAY_SIZE(rows));
	config_free(cfg);
}

static void test_result(void **state)
{
	struct tg_config *cfg = load(DATA "jdcloud.yaml");
	struct tg_class res;
	__u8 a[16];

	to_addr("10.1.2.3", a);
	assert_int_equal(classify(cfg, B, a, 8080, IPPROTO_TCP, 0, true, &res),
			 0);
	assert_int_equal(res.network, TG_NET_INTRANET);
	assert_string_equal(res.provider, "jdcloud");	/* own: gateway's */
	assert_string_equal(res.region, "cn-north-1");
	assert_string_equal(res.backend, "orders");
	assert_string_equal(res.service, "shop-api");
	assert_string_equal(res.tenant, "acme");
	assert_int_equal(res.kind, TG_KIND_HTTP);
	assert_non_null(res.be);
	assert_null(res.svc);

	to_addr("8.8.4.4", a);
	assert_int_equal(classify(cfg, C, a, 8443, IPPROTO_UDP, 0, true, &res),
			 0);
	assert_string_equal(res.service, "quic-api");
	assert_string_equal(res.tenant, "acme");
	assert_string_equal(res.backend, "");
	assert_string_equal(res.provider, "internet");
	assert_string_equal(res.region, "");
	assert_int_equal(res.network, TG_NET_PUBLIC);
	assert_int_equal(classify(cfg, C, a, 8443, IPPROTO_TCP, 0, true, &res),
			 0);
	assert_string_equal(res.tenant, "globex");

	assert_int_equal(classify(cfg, TG_ROLE_NONE, a, 1, 6, 0, true, &res),
			 -EINVAL);
	assert_int_equal(classify(cfg, 3, a, 1, 6, 0, true, &res), -EINVAL);
	config_free(cfg);
}

static void test_why(void **state)
{
	static const struct {
		__u8 role;
		const char *addr;
		__u16 port;
		bool out;
		const char *want;
	} cases[] = {
		{ B, "10.1.2.3", 8080, OUT, "backend 10.1.2.3:8080: 'orders' "
		  "http (" DATA "jdcloud.yaml:64); 10.0.0.0/8 (built-in) "
		  "intranet, the gateway's own cloud and region: "
		  "outbound_backend_intranet, free" },
		{ B, "54.239.1.1", 80, OUT, "backend 54.239.1.1:80: no "
		  "backends entry, taken as http; 54.239.0.0/16 (" DATA
		  "aws-ip-ranges.json:24) public, provider aws, region "
		  "GLOBAL; gateway jdcloud cn-north-1: "
		  "outbound_backend_internet, billed; flagged "
		  "unknown_backend" },
		{ B, "10.20.1.1", 80, IN, "backend 10.20.1.1:80: 'peered' http "
		  "(" DATA "jdcloud.yaml:81); 10.20.0.0/16 (networks, " DATA
		  "jdcloud.yaml:6) intranet, provider jdcloud, region "
		  "cn-east-2; gateway jdcloud cn-north-1: inbound, not "
		  "billed; flagged unexplained" },
		{ C, "2001:db8::1", 9999, OUT, "client 2001:db8::1 on port "
		  "9999: no services entry; ::/0 (built-in) public, provider "
		  "internet, region unknown: outbound_client, billed; "
		  "flagged unknown_service" },
		{ B, "10.40.2.2", 443, OUT, "backend 10.40.2.2:443: "
		  "'fn-noregion' scf (" DATA "jdcloud.yaml:102); "
		  "10.40.0.0/16 (networks, " DATA "jdcloud.yaml:12) intranet, "
		  "provider jdcloud, region unknown; gateway jdcloud "
		  "cn-north-1: outbound_scf_other_region, billed; flagged "
		  "no_region" },
	};
	struct tg_config *cfg = load(DATA "jdcloud.yaml");
	struct tg_class res;
	char buf[512], small[16];
	size_t i;
	__u8 a[16];

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		to_addr(cases[i].addr, a);
		assert_int_equal(classify(cfg, cases[i].role, a, cases[i].port,
					  0, 0, cases[i].out, &res), 0);
		classify_why(cfg, &res, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].want);
	}
	/* a short buffer is cut, not overrun */
	classify_why(cfg, &res, small, sizeof(small));
	assert_int_equal(strlen(small), sizeof(small) - 1);
	config_free(cfg);
}

static void test_names(void **state)
{
	/* These strings are ledger keys and labels: they never change. */
	static const char *const names[TG_NR_TRAFFIC] = {
		"inbound",
		"outbound_client",
		"outbound_backend_intranet",
		"outbound_backend_public_same_region",
		"outbound_backend_other_region",
		"outbound_backend_internet",
		"outbound_scf_same_region",
		"outbound_scf_other_region",
	};
	static const bool billed[TG_NR_TRAFFIC] = {
		false, true, false, true, true, true, false, true,
	};
	enum tg_traffic t;
	char buf[128];
	int i;

	for (i = 0; i < TG_NR_TRAFFIC; i++) {
		assert_string_equal(traffic_name(i), names[i]);
		assert_int_equal(traffic_parse(names[i], &t), 0);
		assert_int_equal(t, i);
		assert_int_equal(traffic_billable(i), billed[i]);
	}
	assert_null(traffic_name(TG_NR_TRAFFIC));
	assert_int_equal(traffic_parse("outbound", &t), -EINVAL);
	assert_string_equal(flag_name(TG_FLAG_UNEXPLAINED), "unexplained");
	assert_string_equal(flag_name(TG_FLAG_UNKNOWN_SERVICE),
			    "unknown_service");
	assert_null(flag_name(0));
	assert_null(flag_name(TG_FLAG_NO_REGION | TG_FLAG_NO_PROVIDER));
	assert_null(flag_name(1u << TG_NR_FLAGS));
	assert_string_equal(flags_str(0, buf, sizeof(buf)), "");
	assert_string_equal(flags_str(0x1f, buf, sizeof(buf)),
			    "unexplained,no_region,no_provider,"
			    "unknown_backend,unknown_service");
}

/* Run `tollgate classify ARGS...` with its standard output into a string
 * (to free). */
static char *run_classify(int *rc, ...)
{
	char *argv[16], *out;
	int argc = 0, saved;
	FILE *tmp = tmpfile();
	va_list ap;
	long len;

	argv[argc++] = "classify";
	va_start(ap, rc);
	while ((argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	assert_non_null(tmp);
	fflush(stdout);
	saved = dup(1);
	dup2(fileno(tmp), 1);
	optind = 0;
	*rc = cmd_classify(argc, argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	len = ftell(tmp);
	out = calloc(1, len + 1);
	assert_non_null(out);
	rewind(tmp);
	assert_int_equal(fread(out, 1, len, tmp), (size_t)len);
	fclose(tmp);
	return out;
}

/* Protocols have one representation: classify's JSON names them as dump's
 * does ("tcp"), and gives the number of one without a name. */
static void test_command_proto(void **state)
{
	char *out;
	int rc;

	out = run_classify(&rc, "--config", DATA "jdcloud.yaml", "--format",
			   "json", "10.1.2.5:8080", NULL);
	assert_int_equal(rc, 0);
	if (!strstr(out, "\"role\":\"backend\",\"proto\":\"tcp\","))
		fail_msg("unexpected output: %s", out);
	free(out);
	out = run_classify(&rc, "--config", DATA "jdcloud.yaml", "--format",
			   "json", "--proto", "47", "10.1.2.5", NULL);
	assert_int_equal(rc, 0);
	if (!strstr(out, "\"proto\":47,"))
		fail_msg("unexpected output: %s", out);
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seed_jdcloud),
		cmocka_unit_test(test_seed_tencent),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_boundaries),
		cmocka_unit_test(test_tie_break),
		cmocka_unit_test(test_default),
		cmocka_unit_test(test_result),
		cmocka_unit_test(test_why),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_command_proto),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
