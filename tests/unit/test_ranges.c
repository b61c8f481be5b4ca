// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_ranges.c - the cloud IP-range readers: the sample files of each
 * format in tests/data/, malformed entries of each format with the exact
 * line, column and field of the error, every truncation of the JSON
 * samples, and a callback that refuses an entry.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "classify/ranges.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define DATA "tests/data/"

struct got {
	char prefix[CIDR_STRLEN];
	char region[64];	/* "-" for none */
	char provider[64];	/* "-" for none */
	int network;
	unsigned int line;
};

struct sink {
	struct got e[64];
	size_t n;
	size_t fail_at;		/* refuse the entry with this index + 1 */
};

static int collect(void *ctx, const struct range_entry *e, const char **why)
{
	struct sink *s = ctx;
	struct got *g;

	if (s->fail_at && s->n + 1 == s->fail_at) {
		if (s->fail_at == 2)
			*why = "refused by the test";
		return -ENOSPC;
	}
	if (s->n == ARRAY_SIZE(s->e))
		return 0;
	g = &s->e[s->n++];
	cidr_format(&e->prefix, g->prefix, sizeof(g->prefix));
	snprintf(g->region, sizeof(g->region), "%s",
		 e->region ? e->region : "-");
	snprintf(g->provider, sizeof(g->provider), "%s",
		 e->provider ? e->provider : "-");
	g->network = e->network;
	g->line = e->line;
	return 0;
}

struct want {
	const char *prefix;
	const char *region;
	const char *provider;
	int network;
	unsigned int line;
};

static void check_file(const char *path, enum tg_range_format fmt,
		       const struct want *w, size_t n)
{
	struct sink s = {};
	struct tg_err err = {};
	char buf[512];
	size_t i;
	int ret;

	ret = ranges_load(path, fmt, collect, &s, &err);
	if (ret)
		fail_msg("%s: %d: %s", path, ret,
			 tg_err_str(&err, buf, sizeof(buf)));
	assert_int_equal(s.n, n);
	for (i = 0; i < n; i++) {
		assert_string_equal(s.e[i].prefix, w[i].prefix);
		assert_string_equal(s.e[i].region, w[i].region);
		assert_string_equal(s.e[i].provider, w[i].provider);
		assert_int_equal(s.e[i].network, w[i].network);
		assert_int_equal(s.e[i].line, w[i].line);
	}
}

static void test_aws(void **state)
{
	static const struct want w[] = {
		{ "52.94.76.0/22", "us-west-2", "-", -1, 6 },
		{ "52.94.76.0/22", "us-west-2", "-", -1, 12 },
		{ "52.95.245.0/24", "us-east-1", "-", -1, 18 },
		{ "54.239.0.0/16", "GLOBAL", "-", -1, 24 },
		{ "54.239.96.0/24", "eu-west-1", "-", -1, 30 },
		{ "2600:1f14::/35", "us-west-2", "-", -1, 38 },
		{ "2a05:d018::/36", "eu-west-1", "-", -1, 44 },
	};

	check_file(DATA "aws-ip-ranges.json", TG_RANGES_AWS, w, ARRAY_SIZE(w));
}

static void test_gcp(void **state)
{
	static const struct want w[] = {
		{ "34.80.0.0/15", "asia-east1", "-", -1, 5 },
		{ "35.185.128.0/19", "asia-east1", "-", -1, 9 },
		{ "2600:1900:4030::/44", "asia-east1", "-", -1, 13 },
		{ "34.64.0.0/10", "global", "-", -1, 17 },
	};

	check_file(DATA "gcp-cloud.json", TG_RANGES_GCP, w, ARRAY_SIZE(w));
}

static void test_azure(void **state)
{
	static const struct want w[] = {
		{ "13.66.60.119/32", "-", "-", -1, 15 },
		{ "20.38.80.0/24", "-", "-", -1, 16 },
		{ "20.38.80.0/24", "eastasia", "-", -1, 34 },
		{ "20.187.0.0/18", "eastasia", "-", -1, 35 },
		{ "2603:1040:207::/48", "eastasia", "-", -1, 36 },
		{ "13.64.0.0/16", "westus", "-", -1, 56 },
	};

	check_file(DATA "azure-servicetags.json", TG_RANGES_AZURE, w,
		   ARRAY_SIZE(w));
}

static void test_csv(void **state)
{
	static const struct want w[] = {
		{ "114.67.0.0/16", "cn-north-1", "-", -1, 3 },
		{ "116.196.0.0/16", "cn-east-2", "-", -1, 4 },
		{ "116.198.0.0/16", "cn-south-1", "jdcloud", TG_NET_PUBLIC, 5 },
		{ "10.220.0.0/16", "cn-east-2", "jdcloud", TG_NET_INTRANET, 8 },
		{ "2402:db40:5100::/40", "cn-north-1", "-", -1, 9 },
		{ "198.51.100.0/24", "-", "internet", -1, 11 },
	};

	check_file(DATA "jdcloud.csv", TG_RANGES_CSV, w, ARRAY_SIZE(w));
}

/* Malformed input: every error names line, column and field. */
static void test_errors(void **state)
{
	static const struct {
		enum tg_range_format fmt;
		const char *text;
		unsigned int line, col;
		const char *field;
		const char *msg;	/* a part of the message */
	} cases[] = {
		/* aws */
		{ TG_RANGES_AWS,
		  "{\"prefixes\": [{\"ip_prefix\": \"10.0.0.1/8\", "
		  "\"region\": \"x\"}]}",
		  1, 29, "prefixes[0].ip_prefix",
		  "host bits set in '10.0.0.1/8', did you mean 10.0.0.0/8" },
		{ TG_RANGES_AWS,
		  "{\n  \"prefixes\": [\n    {\"region\": \"x\"}\n  ]\n}",
		  3, 5, "prefixes[0].ip_prefix", "missing field 'ip_prefix'" },
		{ TG_RANGES_AWS, "{\"prefixes\": {}}", 1, 14, "prefixes",
		  "must be an array" },
		{ TG_RANGES_AWS, "  {}", 1, 3, "prefixes",
		  "missing field 'prefixes'" },
		{ TG_RANGES_AWS, "\n[1]", 2, 1, "", "must be a JSON object" },
		{ TG_RANGES_AWS, "{\"prefixes\": [1]}", 1, 15, "prefixes[0]",
		  "must be an object" },
		{ TG_RANGES_AWS,
		  "{\"prefixes\": [{\"ip_prefix\": \"2001:db8::/32\", "
		  "\"region\": \"x\"}]}",
		  1, 29, "prefixes[0].ip_prefix", "not an IPv4 prefix" },
		{ TG_RANGES_AWS,
		  "{\"prefixes\": [], \"ipv6_prefixes\": [\n {\"ipv6_prefix\": "
		  "\"10.0.0.0/8\", \"region\": \"x\"}]}",
		  2, 18, "ipv6_prefixes[0].ipv6_prefix",
		  "not an IPv6 prefix" },
		{ TG_RANGES_AWS,
		  "{\"prefixes\": [{\"ip_prefix\": \"10.0.0.0/8\",\n"
		  "                \"region\": 5}]}",
		  2, 27, "prefixes[0].region", "must be a string" },
		{ TG_RANGES_AWS,
		  "{\"prefixes\": [{\"ip_prefix\": \"10.0.0.0/8\", "
		  "\"region\": \"a\\tb\"}]}",
		  1, 53, "prefixes[0].region", "bad region name" },
		{ TG_RANGES_AWS,
		  "{\"prefixes\": [{\"ip_prefix\": \"10.0.0.0/8\", "
		  "\"region\": null}]}",
		  1, 53, "prefixes[0].region", "must be a string" },
		{ TG_RANGES_AWS, "{\"prefixes\": []} x", 1, 18, "",
		  "malformed JSON" },
		{ TG_RANGES_AWS, "{\"prefixes\": [] /* c */}", 1, 17, "",
		  "malformed JSON" },
		{ TG_RANGES_AWS, "{\"prefixes\": [\n", 2, 1, "", "JSON" },
		{ TG_RANGES_AWS, "", 1, 1, "", "JSON" },
		{ TG_RANGES_AWS, "{\"prefixes\": [],\n\"x\": \"\0\"}", 2, 7, "",
		  "NUL byte" },
		/* gcp */
		{ TG_RANGES_GCP,
		  "{\"prefixes\": [{\"ipv4Prefix\": \"1.0.0.0/8\", "
		  "\"ipv6Prefix\": \"2001:db8::/32\", \"scope\": \"x\"}]}",
		  1, 15, "prefixes[0]", "exactly one of ipv4Prefix and "
		  "ipv6Prefix" },
		{ TG_RANGES_GCP, "{\"prefixes\": [{\"scope\": \"x\"}]}", 1, 15,
		  "prefixes[0]", "exactly one" },
		{ TG_RANGES_GCP,
		  "{\"prefixes\": [\n  {\"ipv4Prefix\": \"1.0.0.0/8\"}]}",
		  2, 3, "prefixes[0].scope", "missing field 'scope'" },
		{ TG_RANGES_GCP,
		  "{\"prefixes\": [{\"ipv4Prefix\": \"1.0.0.0/8\", \"scope\": "
		  "\"a\"},\n {\"ipv4Prefix\": \"1.0.0.0/33\", \"scope\": "
		  "\"b\"}]}",
		  2, 17, "prefixes[1].ipv4Prefix", "not an address prefix" },
		{ TG_RANGES_GCP,
		  "{\"prefixes\": [{\"ipv6Prefix\": \"::ffff:1.0.0.0/104\", "
		  "\"scope\": \"a\"}]}",
		  1, 30, "prefixes[0].ipv6Prefix", "not an IPv6 prefix" },
		/* azure */
		{ TG_RANGES_AZURE, "{\"values\": [{\"name\": \"x\"}]}", 1, 13,
		  "values[0].properties", "missing field 'properties'" },
		{ TG_RANGES_AZURE,
		  "{\"values\": [{\"properties\": {\"addressPrefixes\": [5]}}]}",
		  1, 49, "values[0].properties.addressPrefixes[0]",
		  "must be a string" },
		{ TG_RANGES_AZURE,
		  "{\"values\": [\n{\"properties\": {\"region\": \"r\",\n"
		  "  \"addressPrefixes\": [\n    \"1.0.0.0/8\",\n"
		  "    \"1.2.3.4/8\"]}}]}",
		  5, 5, "values[0].properties.addressPrefixes[1]",
		  "host bits set in '1.2.3.4/8', did you mean 1.0.0.0/8" },
		{ TG_RANGES_AZURE,
		  "{\"values\": [{\"properties\": {\"region\": [], "
		  "\"addressPrefixes\": []}}]}",
		  1, 39, "values[0].properties.region", "must be a string" },
		{ TG_RANGES_AZURE, "{\"values\": [{\"properties\": []}]}", 1,
		  28, "values[0].properties", "must be an object" },
		/* csv */
		{ TG_RANGES_CSV, "10.0.0.0/8\n", 1, 1, "region", "missing" },
		{ TG_RANGES_CSV, "# c\n10.0.0.1/8,x\n", 2, 1, "cidr",
		  "host bits set" },
		{ TG_RANGES_CSV, "1.0.0.0/8, x ,aws,intranets\n", 1, 19,
		  "network", "must be intranet or public, not 'intranets'" },
		{ TG_RANGES_CSV, "1.0.0.0/8,a,b,public,extra", 1, 22, "",
		  "more than 4 fields" },
		{ TG_RANGES_CSV, "1.0.0.0/8,bad\x01region", 1, 11, "region",
		  "bad region name" },
		{ TG_RANGES_CSV, "1.0.0.0/8,r,pro\x7fvider", 1, 13, "provider",
		  "bad provider name" },
		{ TG_RANGES_CSV, "\n\r\n  2001:db8::zz/32 , r", 3, 3, "cidr",
		  "not an address prefix: '2001:db8::zz/32'" },
		{ TG_RANGES_CSV, "1.0.0.0/8,a\n\0", 2, 1, "", "NUL byte" },
	};
	char buf[512];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct sink s = {};
		struct tg_err err = {};
		size_t len = strlen(cases[i].text);
		int ret;

		/* Texts with a NUL inside go on to their closing part. */
		if (strstr(cases[i].msg, "NUL"))
			len += 1 + strlen(cases[i].text + len + 1);
		ret = ranges_parse(cases[i].text, len, "r.txt", cases[i].fmt,
				   collect, &s, &err);
		tg_err_str(&err, buf, sizeof(buf));
		if (ret != -EINVAL)
			fail_msg("case %zu: %d, want -EINVAL (%s)", i, ret, buf);
		if (strcmp(err.file, "r.txt") ||
		    err.line != cases[i].line || err.column != cases[i].col ||
		    strcmp(err.field, cases[i].field) ||
		    !strstr(err.msg, cases[i].msg))
			fail_msg("case %zu: got \"%s\", want r.txt:%u:%u: %s: "
				 "...%s...", i, buf, cases[i].line,
				 cases[i].col, cases[i].field, cases[i].msg);
	}
}

/* Every cut of a JSON sample short of its end fails cleanly. */
static void test_truncated(void **state)
{
	static const struct {
		const char *file;
		enum tg_range_format fmt;
	} files[] = {
		{ DATA "aws-ip-ranges.json", TG_RANGES_AWS },
		{ DATA "gcp-cloud.json", TG_RANGES_GCP },
		{ DATA "azure-servicetags.json", TG_RANGES_AZURE },
		{ DATA "jdcloud.csv", TG_RANGES_CSV },
	};
	size_t f, cut, len, end;
	char *text;

	for (f = 0; f < ARRAY_SIZE(files); f++) {
		assert_int_equal(ranges_read_file(files[f].file, 1 << 20, &text,
						  &len), 0);
		end = strrchr(text, '}') ? (size_t)(strrchr(text, '}') - text)
					 : len;
		for (cut = 0; cut < len; cut++) {
			struct sink s = {};
			struct tg_err err = {};
			int ret;

			ret = ranges_parse(text, cut, files[f].file,
					   files[f].fmt, collect, &s, &err);
			if (files[f].fmt == TG_RANGES_CSV) {
				/* a cut line may still be valid */
				assert_true(ret == 0 || (ret == -EINVAL &&
							 err.line >= 1));
				continue;
			}
			if (cut > end)
				continue;
			if (ret != -EINVAL || err.line < 1 || err.column < 1 ||
			    strcmp(err.file, files[f].file))
				fail_msg("%s cut at %zu: %d, %u:%u",
					 files[f].file, cut, ret, err.line,
					 err.column);
		}
		free(text);
	}
}

/* A callback error stops the reader and names the entry. */
static void test_callback_error(void **state)
{
	static const char text[] = "1.0.0.0/8,a\n2.0.0.0/8,b\n3.0.0.0/8,c\n";
	struct tg_err err = {};
	struct sink s = { .fail_at = 2 };
	int ret;

	ret = ranges_parse(text, strlen(text), "c.csv", TG_RANGES_CSV,
			   collect, &s, &err);
	assert_int_equal(ret, -ENOSPC);
	assert_int_equal(s.n, 1);
	assert_int_equal(err.line, 2);
	assert_int_equal(err.column, 1);
	assert_string_equal(err.field, "cidr");
	assert_string_equal(err.msg, "refused by the test");
	memset(&s, 0, sizeof(s));
	s.fail_at = 3;
	ret = ranges_parse(text, strlen(text), "c.csv", TG_RANGES_CSV,
			   collect, &s, &err);
	assert_int_equal(ret, -ENOSPC);
	assert_int_equal(err.line, 3);
	assert_non_null(strstr(err.msg, "No space left on device"));
}

static void test_files(void **state)
{
	struct tg_err err = {};
	struct sink s = {};

	assert_int_equal(ranges_load(DATA "missing.json", TG_RANGES_AWS,
				     collect, &s, &err), -ENOENT);
	assert_string_equal(err.file, DATA "missing.json");
	assert_int_equal(err.line, 0);
	assert_non_null(strstr(err.msg, "cannot read"));
	assert_int_equal(ranges_load(DATA, TG_RANGES_CSV, collect, &s, &err),
			 -EINVAL);
	assert_string_equal(err.msg, "not a regular file");
}

static void test_names(void **state)
{
	enum tg_range_format f;
	enum tg_network n;

	assert_int_equal(ranges_format_parse("azure", &f), 0);
	assert_int_equal(f, TG_RANGES_AZURE);
	assert_int_equal(ranges_format_parse("AWS", &f), -EINVAL);
	assert_string_equal(ranges_format_name(TG_RANGES_CSV), "csv");
	assert_null(ranges_format_name(TG_NR_RANGE_FORMATS));
	assert_int_equal(network_parse("intranet", &n), 0);
	assert_int_equal(n, TG_NET_INTRANET);
	assert_int_equal(network_parse("private", &n), -EINVAL);
	assert_string_equal(network_name(TG_NET_PUBLIC), "public");
	assert_true(ranges_name_ok("cn-north-1"));
	assert_true(ranges_name_ok("Shop API"));
	assert_false(ranges_name_ok(""));
	assert_false(ranges_name_ok(" x"));
	assert_false(ranges_name_ok("x "));
	assert_false(ranges_name_ok("a\nb"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aws),
		cmocka_unit_test(test_gcp),
		cmocka_unit_test(test_azure),
		cmocka_unit_test(test_csv),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_callback_error),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
