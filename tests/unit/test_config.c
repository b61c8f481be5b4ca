// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_config.c - the YAML configuration loader: a table of broken files
 * (malformed YAML, wrong types, unknown, duplicate and missing settings,
 * bad prefixes, aliases) whose errors must name file, line, column and
 * setting; range-file errors passed through; the sample configurations,
 * the shipped example, the built-in default and the lookup tables.
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
#include <cmocka.h>

#include "classify/config.h"
#include "classify/hosts.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define DATA "tests/data/"
#define HEAD "region: r\nprovider: p\n"	/* lines 1-2 of most cases */

static void test_errors(void **state)
{
	static const struct {
		const char *yaml;
		unsigned int line, col;
		const char *field;
		const char *msg;	/* a part of the message */
	} cases[] = {
		/* malformed YAML */
		{ HEAD "  bad: [\n", 3, 6, "", "malformed YAML: mapping "
		  "values are not allowed" },
		{ "region: [r\nprovider: p\n", 2, 9, "", "malformed YAML: did "
		  "not find expected ',' or ']'" },
		{ "region: r\n\tprovider: p\n", 2, 1, "", "malformed YAML" },
		{ "region: \"r\n", 2, 1, "", "malformed YAML" },
		{ "region: r\xff\n", 1, 10, "", "malformed YAML: invalid "
		  "leading UTF-8 octet" },
		{ HEAD "---\nregion: s\n", 3, 1, "", "more than one YAML "
		  "document" },
		/* the shape of the file */
		{ "", 1, 1, "region", "missing required setting 'region'" },
		{ "# only a comment\n", 1, 1, "region", "missing required" },
		{ "- region\n", 1, 1, "", "must be a mapping of settings, not "
		  "a list" },
		{ "hello\n", 1, 1, "", "must be a mapping of settings, not a "
		  "scalar" },
		{ HEAD "regoin: x\n", 3, 1, "regoin", "unknown setting "
		  "'regoin' (known here: region, provider, networks, ranges, "
		  "services, backends, tls, metrics, known_regions, "
		  "known_providers)" },
		{ HEAD "known_regions: r2\n", 3, 16, "known_regions",
		  "must be a list of names, not a scalar" },
		{ HEAD "known_providers:\n  - [x]\n", 4, 5,
		  "known_providers[0]", "must be a name, not a list" },
		{ HEAD "? [a]\n: b\n", 3, 3, "", "setting names must be" },
		{ HEAD "region: s\n", 3, 1, "region", "set twice (first at "
		  "line 1)" },
		{ "provider: p\n", 1, 1, "region", "missing required setting "
		  "'region'" },
		{ "region: r\n", 1, 1, "provider", "missing required" },
		{ "region: r\nprovider: internet\n", 2, 11, "provider",
		  "names addresses outside every cloud" },
		/* wrong types */
		{ "region: [a]\nprovider: p\n", 1, 9, "region", "must be a "
		  "name, not a list" },
		{ "region:\nprovider: p\n", 1, 8, "region", "must be a name, "
		  "not empty" },
		{ "region: {a: b}\nprovider: p\n", 1, 9, "region", "not a "
		  "mapping" },
		{ "region: \"a\\tb\"\nprovider: p\n", 1, 9, "region",
		  "printable characters" },
		{ "region: \"a\\0b\"\nprovider: p\n", 1, 9, "region",
		  "NUL character" },
		{ "region: ' r'\nprovider: p\n", 1, 9, "region",
		  "without blanks around" },
		{ "region: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		  "xxxxxxxxxxxxxxxxxx\nprovider: p\n", 1, 9, "region",
		  "longer than 127 bytes" },
		{ HEAD "networks: 5\n", 3, 11, "networks", "must be a list, "
		  "not a scalar" },
		{ HEAD "networks: {cidr: 10.0.0.0/8}\n", 3, 11, "networks",
		  "must be a list, not a mapping" },
		{ HEAD "networks:\n  - 10.0.0.0/8\n", 4, 5, "networks[0]",
		  "must be a mapping of settings, not a scalar" },
		{ HEAD "services:\n  - port: \"80\"\n    name: s\n", 4, 11,
		  "services[0].port", "must be a port number 1 to 65535, not "
		  "a string" },
		{ HEAD "services:\n  - port: 0\n    name: s\n", 4, 11,
		  "services[0].port", "not '0'" },
		{ HEAD "services:\n  - port: 65536\n    name: s\n", 4, 11,
		  "services[0].port", "not '65536'" },
		{ HEAD "services:\n  - port: -1\n    name: s\n", 4, 11,
		  "services[0].port", "not '-1'" },
		{ HEAD "services:\n  - port: 0x50\n    name: s\n", 4, 11,
		  "services[0].port", "not '0x50'" },
		{ HEAD "services:\n  - port: [80]\n    name: s\n", 4, 11,
		  "services[0].port", "not a list" },
		{ HEAD "services:\n  - port: 80\n    protocol: icmp\n"
		  "    name: s\n", 5, 15, "services[0].protocol", "must be one "
		  "of tcp, udp, sctp, any, not 'icmp'" },
		{ HEAD "backends:\n  - address: 10.0.0.1\n    name: b\n"
		  "    kind: lambda\n", 6, 11, "backends[0].kind", "must be one "
		  "of http, scf, not 'lambda'" },
		{ HEAD "ranges:\n  - file: a.json\n    format: json\n", 5, 13,
		  "ranges[0].format", "must be one of aws, gcp, azure, csv" },
		{ HEAD "ranges:\n  - file: ''\n    format: csv\n", 4, 11,
		  "ranges[0].file", "must not be empty" },
		{ HEAD "networks:\n  - cidr: 10.0.0.0/8\n    network: lan\n", 5,
		  14, "networks[0].network", "must be one of intranet, "
		  "public, not 'lan'" },
		/* prefixes */
		{ HEAD "networks:\n  - cidr: 10.0.0.1/8\n    network: public\n",
		  4, 11, "networks[0].cidr", "host bits set in '10.0.0.1/8', "
		  "did you mean 10.0.0.0/8" },
		{ HEAD "networks:\n  - cidr: 2001:db8::1/32\n"
		  "    network: public\n", 4, 11, "networks[0].cidr",
		  "did you mean 2001:db8::/32" },
		{ HEAD "networks:\n  - cidr: 10.0.0.0/33\n    network: public\n",
		  4, 11, "networks[0].cidr", "not an address or prefix: "
		  "'10.0.0.0/33'" },
		{ HEAD "backends:\n  - address: backend.local\n    name: b\n",
		  4, 14, "backends[0].address", "not an address or prefix" },
		/* unknown and missing settings inside entries */
		{ HEAD "networks:\n  - cdir: 10.0.0.0/8\n    network: public\n",
		  4, 5, "networks[0].cdir", "unknown setting 'cdir' (known "
		  "here: cidr, network, provider, region)" },
		{ HEAD "networks:\n  - cidr: 10.0.0.0/8\n", 4, 5,
		  "networks[0].network", "missing required setting "
		  "'network'" },
		{ HEAD "ranges:\n  - format: csv\n", 4, 5, "ranges[0].file",
		  "missing required setting 'file'" },
		{ HEAD "ranges:\n  - file: a.json\n    format: gcp\n", 4, 5,
		  "ranges[0].provider", "whose addresses does this gcp file "
		  "list" },
		{ HEAD "services:\n  - name: s\n", 4, 5, "services[0].port",
		  "missing: a services entry needs a port, a host, or both" },
		/* hosts */
		{ HEAD "services:\n  - host: api.example.com:443\n    name: s\n",
		  4, 11, "services[0].host", "'api.example.com:443' is not a "
		  "host name or *.suffix: a port is not part of a host" },
		{ HEAD "services:\n  - host: a..example\n    name: s\n", 4,
		  11, "services[0].host", "an empty label" },
		{ HEAD "services:\n  - host: '*'\n    name: s\n", 4, 11,
		  "services[0].host", "a wildcard is '*.' and a suffix" },
		{ HEAD "services:\n  - host: '*.'\n    name: s\n", 4, 11,
		  "services[0].host", "a wildcard needs a suffix" },
		{ HEAD "services:\n  - host: a*.example\n    name: s\n", 4,
		  11, "services[0].host", "a wildcard is '*.' and a suffix" },
		{ HEAD "services:\n  - host: '*.a.*.example'\n    name: s\n",
		  4, 11, "services[0].host", "a wildcard is '*.' and a suffix" },
		{ HEAD "services:\n  - host: api/v1.example\n    name: s\n",
		  4, 11, "services[0].host", "letters, digits, '-', '_' and "
		  "dots only" },
		{ HEAD "services:\n  - host: '[::1]'\n    name: s\n", 4, 11,
		  "services[0].host", "letters, digits" },
		{ HEAD "services:\n  - host: '*.a.b.c.d.e.f.g.h.i'\n"
		  "    name: s\n", 4, 11, "services[0].host",
		  "at most 8 labels" },
		{ HEAD "services:\n  - host: x.example\n    port: 443\n"
		  "    protocol: udp\n    name: s\n", 6, 15,
		  "services[0].protocol", "protocol must be tcp or any, not "
		  "udp" },
		{ HEAD "services:\n  - host: ''\n    name: s\n", 4, 11,
		  "services[0].host", "printable characters" },
		{ HEAD "services:\n  - port: 80\n", 4, 5, "services[0].name",
		  "missing required setting 'name'" },
		{ HEAD "tls:\n  - path: /x\n", 4, 5, "tls[0].path",
		  "unknown setting" },
		{ HEAD "tls:\n  - library:\n", 4, 13, "tls[0].library",
		  "must be a file name, not empty" },
		{ HEAD "tls: /usr/lib/libssl.so.3\n", 3, 6, "tls",
		  "must be a list" },
		{ HEAD "backends:\n  - name: b\n", 4, 5,
		  "backends[0].address", "missing required setting "
		  "'address'" },
		{ HEAD "backends:\n  - address: 10.0.0.1\n    port: 80\n", 4, 5,
		  "backends[0].name", "missing required setting 'name'" },
		{ HEAD "backends:\n  - address: 10.0.0.1\n    name: a\n"
		  "    name: b\n", 6, 5, "backends[0].name", "set twice" },
		/* duplicates */
		{ HEAD "networks:\n  - cidr: 10.0.0.0/8\n    network: public\n"
		  "  - cidr: ::ffff:10.0.0.0/104\n    network: intranet\n", 6,
		  11, "networks[1].cidr", "10.0.0.0/8 is already in "
		  "networks[0] (line 4)" },
		{ HEAD "services:\n  - port: 80\n    name: a\n  - port: 80\n"
		  "    protocol: any\n    name: b\n", 6, 11, "services[1].port",
		  "port 80 is already in services[0] (line 4)" },
		{ HEAD "services:\n  - port: 80\n    protocol: tcp\n    name: a\n"
		  "  - port: 80\n    name: b\n  - port: 80\n    protocol: tcp\n"
		  "    name: c\n", 9, 11, "services[2].port", "port 80 tcp is "
		  "already in services[0] (line 4)" },
		{ HEAD "services:\n  - port: 80\n    host: A.example\n"
		  "    name: a\n  - port: 80\n    host: a.example.\n"
		  "    name: b\n", 8, 11, "services[1].host", "host 'a.example' "
		  "on port 80 is already in services[0] (line 4)" },
		{ HEAD "services:\n  - host: '*.example'\n    name: a\n"
		  "  - host: '*.EXAMPLE'\n    name: b\n", 6, 11,
		  "services[1].host", "host '*.example' without a port is "
		  "already in services[0] (line 4)" },
		{ HEAD "backends:\n  - address: 10.0.0.0/24\n    port: 80\n"
		  "    name: a\n  - address: 10.0.0.0/24\n    name: b\n"
		  "  - address: 10.0.0.0/24\n    port: 80\n    name: c\n", 9,
		  14, "backends[2].address", "10.0.0.0/24 with this port is "
		  "already in backends[0] (line 4)" },
		/* aliases */
		{ "region: &r x\nprovider: *r\n", 1, 9, "provider", "aliases "
		  "are not supported" },
		{ HEAD "networks: &n\n  - cidr: 10.0.0.0/8\n    network: public\n"
		  "backends: *n\n", 3, 11, "backends", "aliases are not "
		  "supported: write out the value anchored here" },
		{ HEAD "x: &a [1]\n", 3, 1, "x", "unknown setting" },
	};
	char buf[512];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct tg_config *cfg = (void *)1;
		struct tg_err err = {};
		int ret;

		ret = config_parse(cases[i].yaml, strlen(cases[i].yaml),
				   "t.yaml", TG_CONFIG_NO_RANGES, &cfg, &err);
		tg_err_str(&err, buf, sizeof(buf));
		if (ret != -EINVAL)
			fail_msg("case %zu: %d, want -EINVAL (%s)", i, ret, buf);
		assert_null(cfg);
		if (strcmp(err.file, "t.yaml") || err.line != cases[i].line ||
		    err.column != cases[i].col ||
		    strcmp(err.field, cases[i].field) ||
		    !strstr(err.msg, cases[i].msg))
			fail_msg("case %zu: got \"%s\", want t.yaml:%u:%u: %s: "
				 "...%s...", i, buf, cases[i].line,
				 cases[i].col, cases[i].field, cases[i].msg);
	}
}

/* A range file's error is reported at the range file's position; a file
 * that cannot be read, at the `file` setting that names it. */
static void test_range_errors(void **state)
{
	static const struct {
		const char *yaml;
		int ret;
		const char *file;
		unsigned int line, col;
		const char *field;
		const char *msg;
	} cases[] = {
		{ HEAD "ranges:\n  - file: jdcloud.csv\n    format: aws\n"
		  "    provider: aws\n", -EINVAL, DATA "jdcloud.csv", 1, 1, "",
		  "malformed JSON" },
		{ HEAD "ranges:\n  - file: gcp-cloud.json\n    format: aws\n"
		  "    provider: aws\n", -EINVAL, DATA "gcp-cloud.json", 4, 16,
		  "prefixes[0].ip_prefix", "missing field 'ip_prefix'" },
		/* a file that cannot be read: where the configuration
		 * names it */
		{ HEAD "ranges:\n  - file: nope.csv\n    format: csv\n",
		  -ENOENT, DATA "t.yaml", 4, 11, "ranges[0].file",
		  "'tests/data/nope.csv': cannot read: No such file or "
		  "directory" },
		/* a CSV line without provider, and no provider setting */
		{ HEAD "ranges:\n  - file: jdcloud.csv\n    format: csv\n",
		  -EINVAL, DATA "jdcloud.csv", 3, 1, "cidr", "no provider" },
	};
	char buf[512];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct tg_config *cfg = NULL;
		struct tg_err err = {};
		int ret;

		ret = config_parse(cases[i].yaml, strlen(cases[i].yaml),
				   DATA "t.yaml", 0, &cfg, &err);
		tg_err_str(&err, buf, sizeof(buf));
		assert_null(cfg);
		if (ret != cases[i].ret || strcmp(err.file, cases[i].file) ||
		    err.line != cases[i].line || err.column != cases[i].col ||
		    strcmp(err.field, cases[i].field) ||
		    !strstr(err.msg, cases[i].msg))
			fail_msg("case %zu: %d \"%s\", want %d %s:%u:%u: %s: "
				 "...%s...", i, ret, buf, cases[i].ret,
				 cases[i].file, cases[i].line, cases[i].col,
				 cases[i].field, cases[i].msg);
	}
}

static void addr(const char *s, __u8 out[16])
{
	struct cidr p;

	assert_int_equal(cidr_parse(s, &p), 0);
	memcpy(out, p.addr, 16);
}

static void test_sample(void **state)
{
	static const size_t nr_prefixes[] = { 6, 5, 4, 5 };
	struct tg_config *cfg;
	struct tg_err err = {};
	const struct tg_backend *b;
	const struct tg_service *s;
	char buf[512];
	size_t i;
	__u8 a[16];
	int ret;

	ret = config_load(DATA "jdcloud.yaml", &cfg, &err);
	if (ret)
		fail_msg("%s", tg_err_str(&err, buf, sizeof(buf)));
	assert_string_equal(cfg->path, DATA "jdcloud.yaml");
	assert_string_equal(cfg->region, "cn-north-1");
	assert_string_equal(cfg->provider, "jdcloud");
	assert_int_equal(cfg->nr_ranges, 4);
	/* relative to the configuration's folder */
	assert_string_equal(cfg->ranges[0].file, DATA "jdcloud.csv");
	for (i = 0; i < 4; i++)
		assert_int_equal(cfg->ranges[i].nr_prefixes, nr_prefixes[i]);
	/* 9 networks + 9 built-in (2 replaced by networks) + 20 ranges */
	assert_int_equal(cfg->nr_rules, 38);
	assert_int_equal(cfg->nr_services, 3);
	assert_int_equal(cfg->nr_backends, 16);

	/* services: protocol entry first, then "any" */
	s = config_service(cfg, 443, IPPROTO_TCP);
	assert_non_null(s);
	assert_string_equal(s->name, "shop-api");
	assert_string_equal(s->tenant, "acme");
	assert_int_equal(s->line, 51);
	assert_string_equal(config_service(cfg, 443, 0)->name, "shop-api");
	assert_string_equal(config_service(cfg, 8443, IPPROTO_UDP)->name,
			    "quic-api");
	assert_string_equal(config_service(cfg, 8443, IPPROTO_TCP)->name,
			    "tls-api");
	assert_null(config_service(cfg, 8443, IPPROTO_SCTP));
	assert_null(config_service(cfg, 8443, 0));
	assert_null(config_service(cfg, 80, IPPROTO_TCP));

	/* backends: address and port first, then address alone */
	addr("10.1.2.3", a);
	b = config_backend(cfg, a, 8080);
	assert_string_equal(b->name, "orders");
	assert_string_equal(b->service, "shop-api");
	assert_string_equal(config_backend(cfg, a, 80)->name, "orders-pool");
	assert_string_equal(config_backend(cfg, a, 0)->name, "orders-pool");
	addr("10.1.2.4", a);
	assert_string_equal(config_backend(cfg, a, 8080)->name,
			    "orders-pool");
	addr("10.1.3.1", a);
	assert_null(config_backend(cfg, a, 8080));
	addr("2402:db40:5100:ff::1", a);
	b = config_backend(cfg, a, 443);
	assert_string_equal(b->name, "v6-pool");
	assert_string_equal(b->service, "");
	assert_int_equal(b->kind, TG_KIND_HTTP);
	addr("10.9.9.9", a);
	assert_int_equal(config_backend(cfg, a, 1)->kind, TG_KIND_SCF);
	config_free(cfg);
}

/* Hosts: their ids, their entries by port and by none, the table the
 * kernel gets, and the order in which a name matches. */
static void test_hosts(void **state)
{
	static const char yaml[] = HEAD
		"services:\n"
		"  - port: 443\n    name: shared\n    tenant: gw\n"
		"  - port: 443\n    host: API.a.example\n    name: a-api\n"
		"    tenant: a\n"
		"  - port: 443\n    host: '*.a.example'\n    name: a-web\n"
		"    tenant: a\n"
		"  - port: 443\n    host: '*.x.a.example'\n    name: a-x\n"
		"    tenant: a\n"
		"  - host: b.example\n    name: b\n    tenant: b\n"
		"  - host: '*.b.example'\n    protocol: tcp\n    name: b-any\n"
		"    tenant: b\n"
		"  - port: 8443\n    host: b.example\n    name: b-8443\n"
		"    tenant: b\n"
		"  - port: 53\n    protocol: udp\n    name: dns\n";
	const struct tg_service *s;
	struct tg_config *cfg;
	struct tg_err err = {};
	struct host_pattern h;
	struct host_entry *e;
	struct tg_names_cfg nc;
	enum host_via via;
	const char *why;
	char buf[512];
	__u32 a_api, b;
	int n;

	if (config_parse(yaml, strlen(yaml), "h.yaml", 0, &cfg, &err))
		fail_msg("%s", tg_err_str(&err, buf, sizeof(buf)));
	assert_int_equal(cfg->nr_services, 8);
	assert_string_equal(cfg->services[1].host, "api.a.example");
	assert_int_equal(host_parse("api.A.example.", &h, &why), 0);
	a_api = h.svc;
	assert_int_equal(a_api, cfg->services[1].svc);
	assert_int_equal(host_parse("b.example", &h, &why), 0);
	b = h.svc;
	assert_int_not_equal(a_api, b);
	assert_int_equal(cfg->services[4].svc, cfg->services[6].svc);

	/* by service id: on the port, else on any port; else the port */
	assert_string_equal(config_service_of(cfg, 443, 6, a_api)->name,
			    "a-api");
	assert_string_equal(config_service_of(cfg, 443, 6, 0)->name,
			    "shared");
	assert_string_equal(config_service_of(cfg, 443, 6, b)->name, "b");
	assert_string_equal(config_service_of(cfg, 8443, 6, b)->name,
			    "b-8443");
	assert_string_equal(config_service_of(cfg, 443, 6, 12345)->name,
			    "shared");
	assert_null(config_service_of(cfg, 8080, 6, 0));
	assert_null(config_service_of(cfg, 8080, 6, a_api));
	assert_string_equal(config_service_of(cfg, 8080, 6, b)->name, "b");
	assert_string_equal(config_service_of(cfg, 53, IPPROTO_UDP, 0)->name,
			    "dns");
	/* the port alone is config_service(): hosts never answer it */
	assert_string_equal(config_service(cfg, 443, 6)->name, "shared");
	assert_null(config_service(cfg, 8443, 6));

	/* the order of precedence */
	assert_int_equal(hosts_resolve(cfg, "API.a.example:443", 443, &via),
			 a_api);
	assert_int_equal(via, HOST_EXACT_PORT);
	assert_int_equal(hosts_resolve(cfg, "www.a.example", 443, &via),
			 cfg->services[2].svc);
	assert_int_equal(via, HOST_WILD_PORT);
	assert_int_equal(hosts_resolve(cfg, "q.x.a.example", 443, &via),
			 cfg->services[3].svc);	/* the longest wildcard */
	assert_int_equal(hosts_resolve(cfg, "a.example", 443, &via), 0);
	assert_int_equal(via, HOST_PORT_ALONE);	/* not *.a.example */
	assert_int_equal(hosts_resolve(cfg, "b.example", 443, &via), 0);
	assert_int_equal(via, HOST_PORT_ALONE);	/* before any port */
	assert_int_equal(hosts_resolve(cfg, "b.example", 8443, &via), b);
	assert_int_equal(via, HOST_EXACT_PORT);
	assert_int_equal(hosts_resolve(cfg, "B.example.", 80, &via), b);
	assert_int_equal(via, HOST_EXACT_ANY);
	assert_int_equal(hosts_resolve(cfg, "m.b.example", 80, &via),
			 cfg->services[5].svc);
	assert_int_equal(via, HOST_WILD_ANY);
	assert_int_equal(hosts_resolve(cfg, "c.example", 80, &via), 0);
	assert_int_equal(via, HOST_NONE);
	assert_int_equal(hosts_resolve(cfg, "b!.example", 80, &via), 0);
	assert_int_equal(via, HOST_BAD);

	/* the kernel's table: 6 hosts, ports 443 (hosts and alone) and
	 * 8443 (hosts); the dns entry is UDP's, with no part in it */
	n = hosts_table(cfg, &e, &nc);
	assert_int_equal(n, 8);
	assert_int_equal(nc.flags, TG_NAMES_ANY_PORT);
	assert_int_equal(nc.max_wild, 3);
	for (int i = 0; i < n; i++) {
		if (e[i].key.kind != TG_NAME_PORT)
			continue;
		if (e[i].key.port == 443)
			assert_int_equal(e[i].val.flags,
					 TG_PORT_ALONE | TG_PORT_HOSTS);
		else
			assert_int_equal(e[i].key.port, 8443);
	}
	free(e);
	s = config_service_of(cfg, 443, 0, cfg->services[5].svc);
	assert_string_equal(s->name, "b-any");
	config_free(cfg);
	(void)state;
}

static void test_example(void **state)
{
	struct tg_config *cfg;
	struct tg_err err = {};
	char buf[512];
	int ret;

	/* The shipped example loads as it is: `tollgate check-config` and an
	 * agent started on it must not trip over it. */
	ret = config_load("deploy/tollgate.yaml", &cfg, &err);
	if (ret)
		fail_msg("%s", tg_err_str(&err, buf, sizeof(buf)));
	assert_string_equal(cfg->region, "cn-north-1");
	assert_int_equal(cfg->nr_ranges, 0);
	config_free(cfg);

	assert_int_equal(config_load(DATA "tencent.yaml", &cfg, &err), 0);
	assert_string_equal(cfg->provider, "tencent");
	config_free(cfg);
}

static void test_minimal(void **state)
{
	static const char yaml[] = "region: r\nprovider: p\nnetworks:\n"
				   "ranges: ~\nservices: null\n";
	struct tg_config *cfg;
	struct tg_err err = {};
	__u8 a[16];

	assert_int_equal(config_parse(yaml, strlen(yaml), "m.yaml", 0, &cfg,
				      &err), 0);
	assert_int_equal(cfg->nr_rules, 11);	/* the built-in ones */
	assert_int_equal(cfg->nr_ranges, 0);
	addr("8.8.8.8", a);
	assert_string_equal(config_match(cfg, a)->provider, "internet");
	assert_null(config_backend(cfg, a, 80));
	assert_null(config_service(cfg, 80, 0));
	config_free(cfg);
}

/* `tls`: libraries named by the operator, relative to the file's folder. */
static void test_tls(void **state)
{
	static const char yaml[] = HEAD "tls:\n"
				   "  - library: /opt/ssl/lib/libssl.so.3\n"
				   "  - library: lib/libssl.so.1.1\n";
	struct tg_config *cfg;
	struct tg_err err = {};

	(void)state;
	assert_int_equal(config_parse(yaml, strlen(yaml), "/etc/tg/t.yaml", 0,
				      &cfg, &err), 0);
	assert_int_equal(cfg->nr_tls, 2);
	assert_string_equal(cfg->tls[0].library, "/opt/ssl/lib/libssl.so.3");
	assert_int_equal(cfg->tls[0].line, 4);
	assert_string_equal(cfg->tls[1].library, "/etc/tg/lib/libssl.so.1.1");
	config_free(cfg);
}

static void test_default(void **state)
{
	struct tg_config *cfg = config_default();
	const struct tg_rule *r;
	struct tg_err err = {};
	__u8 a[16];
	int ret;

	assert_non_null(cfg);
	assert_string_equal(cfg->path, TG_BUILTIN);
	assert_string_equal(cfg->region, "");
	assert_string_equal(cfg->provider, "");
	assert_int_equal(cfg->nr_rules, 11);
	addr("192.168.1.1", a);
	r = config_match(cfg, a);
	assert_true(r->own);
	assert_int_equal(r->network, TG_NET_INTRANET);
	assert_int_equal(r->origin, TG_ORIGIN_BUILTIN);
	addr("2001:db8::1", a);
	r = config_match(cfg, a);
	assert_false(r->own);
	assert_int_equal(r->network, TG_NET_PUBLIC);
	assert_string_equal(r->provider, "internet");
	assert_null(r->region);
	config_free(cfg);

	/* --config given: it must exist */
	ret = config_load_or_default(DATA "absent.yaml", &cfg, &err);
	assert_int_equal(ret, -ENOENT);
	assert_null(cfg);
	assert_string_equal(err.file, DATA "absent.yaml");
	assert_string_equal(err.msg, "No such file or directory");
	/* not given: the default path, else built-in */
	if (access(TG_CONFIG_DEFAULT_PATH, F_OK)) {
		assert_int_equal(config_load_or_default(NULL, &cfg, &err), 0);
		assert_string_equal(cfg->path, TG_BUILTIN);
		config_free(cfg);
	}
	assert_int_equal(config_load(DATA, &cfg, &err), -EINVAL);
	assert_string_equal(err.msg, "not a regular file");
	assert_string_equal(kind_name(TG_KIND_SCF), "scf");
}

/*
 * The names that decide a bill: a region or provider that nothing but the
 * file itself names is refused where it is written, unless known_regions or
 * known_providers lists it; one that differs from the gateway's only in
 * case is refused wherever it is written. The plan here knows regions r1
 * (named One) and r2; the range file tests/data/jdcloud.csv names
 * cn-north-1, cn-east-2 and cn-south-1, and providers jdcloud and
 * internet.
 */
static void test_names(void **state)
{
#define NET(prov, reg)                                                        \
	"networks:\n  - cidr: 10.20.0.0/16\n    network: intranet\n"         \
	"    provider: " prov "\n    region: " reg "\n"
#define CSV "ranges:\n  - file: jdcloud.csv\n    format: csv\n"           \
	    "    provider: jdcloud\n"
	static const struct {
		const char *yaml;
		const char *file;	/* NULL: no fault */
		unsigned int line, col;
		const char *field;
		const char *msg;
		int ret;	/* 0: -EINVAL when file is set */
	} cases[] = {
		/* the gateway's region: the plan's, a range file's, a
		 * networks entry's, or listed */
		{ "region: r1\nprovider: p\n", NULL, 0, 0, NULL, NULL, 0 },
		{ "region: cn-east-2\nprovider: jdcloud\n" CSV, NULL, 0, 0,
		  NULL, NULL, 0 },
		{ "region: mine\nprovider: p\n" NET("p", "mine"), NULL, 0, 0,
		  NULL, NULL, 0 },
		{ "region: mine\nprovider: p\nknown_regions: [x, mine]\n",
		  NULL, 0, 0, NULL, NULL, 0 },
		{ "region: r3\nprovider: p\n" NET("p", "r2"), "t.yaml", 1, 9,
		  "region", "'r3' is a region of no networks entry, range file "
		  "or plan t (r1, r2): no address is in it; list it in "
		  "known_regions", 0 },
		{ "region: R1\nprovider: p\n" NET("p", "r2"), "t.yaml", 1, 9,
		  "region", "(did you mean 'r1'?)", 0 },
		{ "region: one\nprovider: p\n" NET("p", "r2"), "t.yaml", 1, 9,
		  "region", "(the plan's name of 'r1': rules compare ids)", 0 },
		/* no rule of our cloud names a region: nothing compares with
		 * the gateway's, a warning */
		{ "region: r3\nprovider: p\n" NET("q", "r2")
		  "known_providers: [q]\n", "t.yaml", 1, 9, "region",
		  "'r3' is a region of no networks entry, range file or plan "
		  "t (r1, r2); unused while no rule of provider p names a "
		  "region", 1 },
		/* a networks region of our own cloud */
		{ "region: r1\nprovider: p\n" NET("p", "r2"), NULL, 0, 0, NULL,
		  NULL, 0 },
		{ "region: r1\nprovider: p\n" NET("p", "r9"), "t.yaml", 7, 13,
		  "networks[0].region", "'r9' is not the gateway's region "
		  "'r1', nor one of a range file or of plan t (r1, r2)", 0 },
		{ "region: r1\nprovider: p\nknown_regions: [r9]\n"
		  NET("p", "r9"), NULL, 0, 0, NULL, NULL, 0 },
		/* another cloud's region never makes traffic free */
		{ "region: r1\nprovider: p\nknown_providers: [aws]\n"
		  NET("aws", "us-east-1"), NULL, 0, 0, NULL, NULL, 0 },
		{ "region: r1\nprovider: p\n" NET("p", "R1"), "t.yaml", 7, 13,
		  "networks[0].region", "'R1' is the gateway's region 'r1' "
		  "written otherwise", 0 },
		/* providers */
		{ "region: r1\nprovider: p\n" NET("internet", "x"), NULL, 0,
		  0, NULL, NULL, 0 },
		{ "region: r1\nprovider: p\n" NET("P", "r1"), "t.yaml", 6, 15,
		  "networks[0].provider", "'P' is the gateway's provider 'p' "
		  "written otherwise: names are compared exactly", 0 },
		{ "region: r1\nprovider: p\n" NET("Internet", "r1"), "t.yaml",
		  6, 15, "networks[0].provider", "write 'internet'", 0 },
		{ "region: r1\nprovider: p\n" NET("q", "r1"), "t.yaml", 6, 15,
		  "networks[0].provider", "'q' is not the gateway's provider "
		  "'p', internet, nor one of the ranges: its addresses are "
		  "another cloud's, billed; list it in known_providers", 0 },
		{ "region: r1\nprovider: p\nknown_providers: [q]\n"
		  NET("q", "r1"), NULL, 0, 0, NULL, NULL, 0 },
		{ "region: r1\nprovider: p\n" CSV NET("jdcloud", "r1"), NULL, 0,
		  0, NULL, NULL, 0 },
		/* range files: their names are theirs, but not in another
		 * case than the gateway's */
		{ "region: cn-north-1\nprovider: jdcloud\nranges:\n  - file: "
		  "jdcloud-case.csv\n    format: csv\n    provider: jdcloud\n",
		  "tests/data/jdcloud-case.csv", 2, 0, "provider",
		  "'JDCloud' is the gateway's provider 'jdcloud' written "
		  "otherwise", 0 },
		{ "region: CN-East-2\nprovider: jdcloud\n"
		  "known_regions: [CN-East-2]\n" CSV,
		  "tests/data/jdcloud.csv", 4, 0, "region",
		  "'cn-east-2' is the gateway's region 'CN-East-2' written "
		  "otherwise", 0 },
		{ "region: r1\nprovider: JDCloud\nranges:\n  - file: "
		  "jdcloud.csv\n    format: csv\n    provider: jdcloud\n",
		  "t.yaml", 4, 0, "ranges[0].provider", "'jdcloud' is the "
		  "gateway's provider 'JDCloud' written otherwise", 0 },
	};
	static const char *const ids[] = { "r1", "r2" };
	static const char *const names[] = { "One", "" };
	char buf[512], path[64];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct tg_config *cfg = NULL;
		struct tg_err err = {};
		int ret;

		snprintf(path, sizeof(path), "%s",
			 strstr(cases[i].yaml, "ranges:") ?
				 DATA "t.yaml" : "t.yaml");
		ret = config_parse(cases[i].yaml, strlen(cases[i].yaml), path,
				   0, &cfg, &err);
		tg_err_str(&err, buf, sizeof(buf));
		if (ret)
			fail_msg("case %zu: does not load: %s", i, buf);
		ret = config_check_names(cfg, "t", ids, names, 2, &err);
		tg_err_str(&err, buf, sizeof(buf));
		config_free(cfg);
		if (!cases[i].file) {
			if (ret)
				fail_msg("case %zu: %s", i, buf);
			continue;
		}
		if (ret != (cases[i].ret ? cases[i].ret : -EINVAL) ||
		    strcmp(err.file, !strcmp(cases[i].file, "t.yaml") ?
					     path : cases[i].file) ||
		    err.line != cases[i].line || err.column != cases[i].col ||
		    strcmp(err.field, cases[i].field) ||
		    !strstr(err.msg, cases[i].msg))
			fail_msg("case %zu: %d \"%s\", want %s:%u:%u: %s: "
				 "...%s...", i, ret, buf, cases[i].file,
				 cases[i].line, cases[i].col, cases[i].field,
				 cases[i].msg);
	}
#undef NET
#undef CSV
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_range_errors),
		cmocka_unit_test(test_sample),
		cmocka_unit_test(test_hosts),
		cmocka_unit_test(test_example),
		cmocka_unit_test(test_minimal),
		cmocka_unit_test(test_tls),
		cmocka_unit_test(test_default),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
