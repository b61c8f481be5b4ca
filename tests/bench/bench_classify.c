// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bench_classify.c - how fast the classification core is on one core.
 *
 *   bench_classify [prefixes [seconds]]     (default 100000 and 2)
 *
 * Generates a CSV range file of random nested prefixes (70% IPv4 /8 to
 * /32, 30% IPv6 /16 to /64, 20 regions, 4 providers) plus a configuration
 * with 1,000 backends (10.x.y.0/24) and 100 services, times loading it the way the agent
 * does (config_load: YAML, CSV, table), then times classify() over a
 * million addresses, half inside generated prefixes and half anywhere,
 * alternating client and backend roles. Prints prefixes/s and
 * classifications/s. Nothing is checked: the unit tests do that.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/types.h>

#include "meter.h"
#include "classify/classify.h"

#define NR_ADDRS (1 << 20)

static __u64 rng = 0x2545f4914f6cdd1dULL;

static __u64 rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A random prefix; IPv4 ones cluster so that they nest and overlap. */
static void gen_prefix(struct cidr *p)
{
	__u8 a[16] = {};
	unsigned int len, i;

	if (rnd() % 10 < 7) {
		__u32 v = rnd();
		__u8 v4[4] = { v >> 24, v >> 16, v >> 8, v };

		cidr_map_v4(v4, a);
		len = 96 + 8 + rnd() % 25;
	} else {
		a[0] = 0x20 + rnd() % 4;
		for (i = 1; i < 8; i++)
			a[i] = rnd();
		len = 16 + rnd() % 49;
	}
	for (i = len; i < 128; i++)
		a[i / 8] &= ~(0x80 >> (i % 8));
	memcpy(p->addr, a, 16);
	p->len = len;
}

int main(int argc, char **argv)
{
	static const char *const providers[] = { "aws", "gcp", "azure",
						 "jdcloud" };
	size_t nr = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
	double secs = argc > 2 ? strtod(argv[2], NULL) : 2.0;
	char dir[] = "/tmp/tollgate-bench.XXXXXX", path[64], cfgpath[64];
	char buf[CIDR_STRLEN], ebuf[512];
	struct tg_config *cfg;
	struct tg_err err = {};
	struct cidr *ps, p;
	struct cidr_table *t;
	struct tg_class res;
	__u8 (*addrs)[16];
	double t0, t1;
	size_t i, j, n = 0, billed = 0;
	FILE *f;

	if (!nr || !mkdtemp(dir)) {
		fprintf(stderr, "usage: bench_classify [prefixes [seconds]]\n");
		return 2;
	}
	ps = calloc(nr, sizeof(*ps));
	addrs = calloc(NR_ADDRS, 16);
	if (!ps || !addrs)
		return 1;
	for (i = 0; i < nr; i++)
		gen_prefix(&ps[i]);

	/* The raw table: inserts alone. */
	t0 = now();
	t = cidr_table_new();
	for (i = 0; i < nr; i++) {
		__u32 *slot = cidr_table_slot(t, &ps[i]);

		if (!slot)
			return 1;
		if (*slot == CIDR_NONE)
			*slot = i;
	}
	t1 = now();
	printf("table:    %zu prefixes (%zu distinct) in %.1f ms: "
	       "%.0f prefixes/s\n", nr, cidr_table_count(t),
	       (t1 - t0) * 1e3, nr / (t1 - t0));
	cidr_table_free(t);

	/* The real path: a CSV range file behind a YAML configuration. */
	snprintf(path, sizeof(path), "%s/ranges.csv", dir);
	snprintf(cfgpath, sizeof(cfgpath), "%s/tollgate.yaml", dir);
	f = fopen(path, "w");
	if (!f)
		return 1;
	for (i = 0; i < nr; i++)
		fprintf(f, "%s,region-%llu,%s\n",
			cidr_format(&ps[i], buf, sizeof(buf)),
			(unsigned long long)(rnd() % 20),
			providers[rnd() % 4]);
	fclose(f);
	f = fopen(cfgpath, "w");
	if (!f)
		return 1;
	fprintf(f, "region: region-3\nprovider: jdcloud\nranges:\n"
		"  - file: ranges.csv\n    format: csv\nservices:\n");
	for (i = 0; i < 100; i++)
		fprintf(f, "  - port: %zu\n    name: svc-%zu\n    tenant: t%zu\n",
			8000 + i, i, i % 7);
	fprintf(f, "backends:\n");
	for (i = 0; i < 1000; i++)
		fprintf(f, "  - address: 10.%zu.%zu.0/24\n    name: be-%zu\n"
			"%s%s", i >> 8, i & 255, i,
			i % 3 ? "" : "    kind: scf\n",
			i % 2 ? "    port: 443\n" : "");
	fclose(f);
	t0 = now();
	if (config_load(cfgpath, &cfg, &err)) {
		fprintf(stderr, "%s\n", tg_err_str(&err, ebuf, sizeof(ebuf)));
		return 1;
	}
	t1 = now();
	printf("load:     %zu prefixes via config_load in %.1f ms: "
	       "%.0f prefixes/s (%zu rules)\n", nr, (t1 - t0) * 1e3,
	       nr / (t1 - t0), cfg->nr_rules);
	unlink(path);
	unlink(cfgpath);
	rmdir(dir);

	/* Addresses: half inside a generated prefix, half anywhere. */
	for (i = 0; i < NR_ADDRS; i++) {
		if (i & 1) {
			p = ps[rnd() % nr];
			for (j = p.len; j < 128; j++)
				if (rnd() & 1)
					p.addr[j / 8] |= 0x80 >> (j % 8);
			memcpy(addrs[i], p.addr, 16);
		} else if (i & 2) {
			__u32 v = rnd();
			__u8 v4[4] = { v >> 24, v >> 16, v >> 8, v };

			cidr_map_v4(v4, addrs[i]);
		} else {
			__u64 a = rnd(), b = rnd();

			memcpy(addrs[i], &a, 8);
			memcpy(addrs[i] + 8, &b, 8);
		}
	}

	t0 = now();
	do {
		for (i = 0; i < NR_ADDRS; i++) {
			__u8 role = i & 4 ? TG_ROLE_CLIENT : TG_ROLE_BACKEND;

			classify(cfg, role, addrs[i], role == TG_ROLE_CLIENT ?
				 8000 + i % 128 : 443, 6, 0, true, &res);
			billed += res.billable;
		}
		n += NR_ADDRS;
		t1 = now();
	} while (t1 - t0 < secs);
	printf("classify: %zu in %.2f s on one core: %.0f classifications/s "
	       "(%.0f ns each; %zu billed)\n", n, t1 - t0, n / (t1 - t0),
	       (t1 - t0) / n * 1e9, billed);

	t0 = now();
	n = 0;
	do {
		for (i = 0; i < NR_ADDRS; i++)
			billed += config_match(cfg, addrs[i])->network;
		n += NR_ADDRS;
		t1 = now();
	} while (t1 - t0 < secs);
	printf("lookup:   %zu in %.2f s: %.0f address lookups/s\n", n,
	       t1 - t0, n / (t1 - t0));
	config_free(cfg);
	free(ps);
	free(addrs);
	return 0;
}
