// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_settings.c - `tollgate check-config` checks what `tollgate run`
 * checks (cmd/settings.h): a table of files that the configuration's
 * syntax accepts and run refuses or ignores (a listen address it cannot
 * parse, a plan or plan region that does not exist, a TLS file that is
 * not there, a misspelt region), each reported with file, line, column
 * and setting; and what run only warns of, reported as a warning with
 * exit status 0.
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
#include <cmocka.h>

#include "cmd/cmd.h"
#include "cmd/settings.h"
#include "tmpdir.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static int setup(void **state)
{
	return tmpdir_make("settings");
}

static int teardown(void **state)
{
	return tmpdir_remove();
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* What temporary file @tmp holds, into @buf; closes @tmp. */
static void slurp(FILE *tmp, char *buf, size_t len)
{
	size_t n;

	rewind(tmp);
	n = fread(buf, 1, len - 1, tmp);
	buf[n] = '\0';
	fclose(tmp);
}

/* `tollgate check-config @path`, its output and errors into @out, @err. */
static int check_config(const char *path, char *out, char *err, size_t len)
{
	char *argv[] = { "check-config", (char *)path, NULL };
	FILE *o = tmpfile(), *e = tmpfile();
	int so, se, rc;

	assert_non_null(o);
	assert_non_null(e);
	fflush(stdout);
	fflush(stderr);
	so = dup(1);
	se = dup(2);
	dup2(fileno(o), 1);
	dup2(fileno(e), 2);
	optind = 0;
	rc = cmd_check_config(2, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	slurp(o, out, len);
	slurp(e, err, len);
	return rc;
}

#define HEAD "region: cn-north-1\nprovider: jdcloud\n"

static void test_refused(void **state)
{
	static const struct {
		const char *yaml;
		const char *where;	/* "LINE:COLUMN: FIELD" */
		const char *msg;
	} cases[] = {
		{ HEAD "metrics:\n  listen: 127.0.0.1:195550\n",
		  "4:11: metrics.listen", "'127.0.0.1:195550' is not ADDR:PORT "
		  "or [ADDR6]:PORT with a port from 0 to 65535" },
		{ HEAD "metrics:\n  listen: localhost:9109\n",
		  "4:11: metrics.listen", "is not ADDR:PORT" },
		{ HEAD "metrics:\n  plan: jdcluod\n", "4:9: metrics.plan",
		  "no built-in plan 'jdcluod' (built in: jdcloud, tencent; a "
		  "file is a path or ends in .yaml)" },
		{ HEAD "metrics:\n  plan: nope.yaml\n", "4:9: metrics.plan",
		  "/nope.yaml': No such file or directory" },
		{ HEAD "metrics:\n  plan: bad.yaml\n", "4:9: metrics.plan",
		  "bad.yaml' does not load (above)" },
		{ HEAD "metrics:\n  plan_region: mars\n",
		  "4:16: metrics.plan_region", "plan jdcloud has no region "
		  "'mars' (cn-north-1, cn-east-2, cn-south-1, cn-east-1)" },
		{ HEAD "metrics:\n  plan: tencent\n  plan_region: beijing\n",
		  "5:16: metrics.plan_region", "plan tencent has no region "
		  "'beijing' (it names none)" },
		{ HEAD "metrics:\n  tls:\n    cert: nope.crt\n    key: k\n",
		  "5:11: metrics.tls.cert", "nope.crt': No such file" },
		{ "region: cn-north1\nprovider: jdcloud\nnetworks:\n"
		  "  - cidr: 10.20.0.0/16\n    network: intranet\n"
		  "    provider: jdcloud\n    region: cn-north-1\n",
		  "1:9: region", "'cn-north1' is a region of no networks entry, "
		  "range file or plan jdcloud (cn-north-1, cn-east-2, "
		  "cn-south-1, cn-east-1)" },
		{ HEAD "networks:\n  - cidr: 116.196.0.0/16\n"
		  "    network: public\n    provider: JDCloud\n",
		  "6:15: networks[0].provider", "'JDCloud' is the gateway's "
		  "provider 'jdcloud' written otherwise" },
		/* the regions are the configuration's plan's */
		{ "region: cn-north-1\nprovider: tencent\n"
		  "known_regions: [ap-guangzhou]\nnetworks:\n  - cidr: 10.20.0.0/16\n    network: intranet\n"
		  "    provider: tencent\n    region: ap-guangzhou\n"
		  "metrics:\n  plan: tencent\n", "1:9: region",
		  "plan tencent (no regions)" },
	};
	char path[128], bad[128], out[2048], err[2048], want[512];
	size_t i;

	snprintf(bad, sizeof(bad), "%s/bad.yaml", tmpdir);
	write_file(bad, "plan: bad\n");
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		int rc;

		snprintf(path, sizeof(path), "%s/c%zu.yaml", tmpdir, i);
		write_file(path, cases[i].yaml);
		rc = check_config(path, out, err, sizeof(out));
		snprintf(want, sizeof(want), "%s:%s: ", path, cases[i].where);
		if (rc != 1 || *out || !strstr(err, want) ||
		    !strstr(err, cases[i].msg))
			fail_msg("case %zu: %d \"%s\" \"%s\", want %s...%s...",
				 i, rc, out, err, want, cases[i].msg);
	}
}

/* What run ignores or only warns of is a warning, not an ok in silence. */
static void test_warnings(void **state)
{
	char path[128], out[2048], err[2048], want[512];

	snprintf(path, sizeof(path), "%s/w.yaml", tmpdir);
	write_file(path, HEAD "tls:\n  - library: /nonexistent/libssl.so.3\n"
			 "metrics:\n  enabled: false\n"
			 "  listen: 127.0.0.1:9100\n");
	assert_int_equal(check_config(path, out, err, sizeof(out)), 0);
	snprintf(want, sizeof(want), "%s:4:0: warning: tls[0].library: "
		 "'/nonexistent/libssl.so.3': No such file or directory: run "
		 "starts without hooking it", path);
	if (!strstr(err, want))
		fail_msg("no warning \"%s\" in \"%s\"", want, err);
	snprintf(want, sizeof(want), "%s:7:11: warning: metrics.listen: not "
		 "used: metrics.enabled is false\n", path);
	if (!strstr(err, want))
		fail_msg("no warning \"%s\" in \"%s\"", want, err);
	snprintf(want, sizeof(want), "%s: ok with 2 warnings: region "
		 "cn-north-1, provider jdcloud, plan jdcloud;", path);
	if (strncmp(out, want, strlen(want)))
		fail_msg("got \"%s\", want \"%s...\"", out, want);

	/* A region nothing knows, while nothing compares with it. */
	write_file(path, "region: cn-north1\nprovider: jdcloud\n");
	assert_int_equal(check_config(path, out, err, sizeof(out)), 0);
	snprintf(want, sizeof(want), "%s:1:9: warning: region: 'cn-north1' "
		 "is a region of no networks entry, range file or plan jdcloud "
		 "(cn-north-1, cn-east-2, cn-south-1, cn-east-1); unused "
		 "while no rule of provider jdcloud names a region; list it in "
		 "known_regions if meant\n",
		 path);
	if (!strstr(err, want))
		fail_msg("no warning \"%s\" in \"%s\"", want, err);
}

/* A file right in every respect: ok, no warning. */
static void test_ok(void **state)
{
	char path[128], out[2048], err[2048];

	snprintf(path, sizeof(path), "%s/ok.yaml", tmpdir);
	write_file(path, HEAD "known_regions: [cn-east-9]\nnetworks:\n"
			 "  - cidr: 10.20.0.0/16\n    network: intranet\n"
			 "    provider: jdcloud\n    region: cn-east-9\n"
			 "metrics:\n  listen: '[::1]:0'\n  plan: jdcloud\n"
			 "  plan_region: Shanghai\n");
	assert_int_equal(check_config(path, out, err, sizeof(out)), 0);
	assert_string_equal(err, "");
	assert_non_null(strstr(out, ": ok: region cn-north-1, provider "
				    "jdcloud, plan jdcloud;"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_warnings),
		cmocka_unit_test(test_ok),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
