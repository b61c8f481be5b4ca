// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_fleet.c - the fleet ledger's pure parts: passwords kept out of
 * messages in every form of connection string, libpq's own messages
 * included, and the upsert statement
 * (parameter numbering, batch limits, replace-not-add).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "ledger/fleet.h"
#include "tmpdir.h"

static void test_redact(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "postgresql://u:secret@db:5432/billing",
		  "host=db port=5432 dbname=billing user=u password=***" },
		{ "postgres://u:p%40ss@db/x?sslmode=require",
		  "host=db dbname=x user=u password=*** sslmode=require" },
		{ "postgresql://u@db/x", "host=db dbname=x user=u" },
		{ "postgresql://db/x?user=u&password=pw&sslmode=require",
		  "host=db dbname=x user=u password=*** sslmode=require" },
		{ "postgresql://db/x?password=pw", "host=db dbname=x password=***" },
		{ "postgresql://127.0.0.1:5/postgres",
		  "host=127.0.0.1 port=5 dbname=postgres" },
		/* '@' and ':' only count in the authority */
		{ "postgresql://h/db?application_name=a:b@c",
		  "host=h dbname=db application_name=a:b@c" },
		/* '/' and '?' in a password: percent-encoded in a URI */
		{ "postgresql://u:a%2Fb%3Fc@db/x", "host=db dbname=x user=u password=***" },
		{ "postgresql://u:p@db1:1,db2:2/x",
		  "host=db1,db2 port=1,2 dbname=x user=u password=***" },
		{ "postgresql://db/x?sslpassword=keypw&sslkey=/k.pem",
		  "host=db dbname=x sslkey=/k.pem sslpassword=***" },
		{ "host=db user=u password=secret dbname=x",
		  "host=db dbname=x user=u password=***" },
		{ "host=db password = 'a b\\' c' dbname=x",
		  "host=db dbname=x password=***" },
		/* tabs and newlines separate pairs too */
		{ "host=db\tpassword=secret\ndbname=x",
		  "host=db dbname=x password=***" },
		{ "host=db sslpassword=secret", "host=db sslpassword=***" },
		{ "password=pw", "password=***" },
		{ "host=db application_name='a b'",
		  "host=db application_name='a b'" },
		{ "host=db application_name=''", "host=db application_name=''" },
		/* libpq refuses these: not shown at all */
		{ "postgres://u:p%zzss@db/x", FLEET_UNPARSABLE },
		{ "host=db passwordx=1", FLEET_UNPARSABLE },
		{ "host=db password='unterminated", FLEET_UNPARSABLE },
		{ "", "" },
	};
	char out[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fleet_redact(cases[i].in, out, sizeof(out));
		if (strcmp(out, cases[i].out))
			fail_msg("'%s': got '%s', want '%s'", cases[i].in, out,
				 cases[i].out);
	}
	/* Truncated, but terminated. */
	assert_string_equal(fleet_redact("host=db password=pw", out, 8),
			    "host=db");
	assert_string_equal(fleet_redact("password=pw", out, 1), "");
}

static void test_scrub(void **state)
{
	char out[256];

	assert_string_equal(fleet_scrub("postgresql://u:s3cr%2Ft@db/x",
					"bad s3cr/t and s3cr/t", out,
					sizeof(out)),
			    "bad *** and ***");
	assert_string_equal(fleet_scrub("host=db sslpassword=kk password=pp",
					"pp: kk", out, sizeof(out)),
			    "***: ***");
	/* Nothing secret: as it was. */
	assert_string_equal(fleet_scrub("host=db user=u", "user u", out,
					sizeof(out)),
			    "user u");
	assert_string_equal(fleet_scrub("postgres://u:p%zz@db", "msg", out,
					sizeof(out)),
			    "msg");
	/* Truncated: never a byte of the secret. */
	assert_string_equal(fleet_scrub("password=pp", "pp pp", out, 5),
			    "*** ");
	assert_string_equal(fleet_scrub("password=pp", "pp", out, 2), "*");
}

static void test_upsert_sql(void **state)
{
	static char buf[FLEET_BATCH * 140 + 512];
	char num[16];
	int n;

	n = fleet_upsert_sql(buf, sizeof(buf), 1);
	assert_true(n > 0);
	assert_int_equal((size_t)n, strlen(buf));
	assert_non_null(strstr(buf, "INSERT INTO " FLEET_TABLE " (host, day, "
				    "tenant, service, backend, traffic_type, "
				    "bytes, packets, calls, unexplained_bytes, "
				    "time_zone) VALUES ($1, $2, $3, $4, $5, "
				    "$6, $7::bigint, $8::bigint, $9::bigint, "
				    "$10::bigint, $11) ON CONFLICT"));
	/* The conflict target is the record key; counters are replaced. */
	assert_non_null(strstr(buf, "ON CONFLICT (host, day, tenant, service, "
				    "backend, traffic_type) DO UPDATE SET "
				    "bytes = EXCLUDED.bytes, packets = "
				    "EXCLUDED.packets, calls = EXCLUDED.calls, "
				    "unexplained_bytes = "
				    "EXCLUDED.unexplained_bytes"));
	assert_null(strstr(buf, "+"));

	n = fleet_upsert_sql(buf, sizeof(buf), FLEET_BATCH);
	assert_true(n > 0);
	snprintf(num, sizeof(num), "$%d)", FLEET_BATCH * FLEET_COLS);
	assert_non_null(strstr(buf, num));
	snprintf(num, sizeof(num), "$%d", FLEET_BATCH * FLEET_COLS + 1);
	assert_null(strstr(buf, num));
	assert_non_null(strstr(buf, "), ($12, $13,"));

	assert_int_equal(fleet_upsert_sql(buf, sizeof(buf), 0), -EINVAL);
	assert_int_equal(fleet_upsert_sql(buf, sizeof(buf), FLEET_BATCH + 1),
			 -EINVAL);
	assert_int_equal(fleet_upsert_sql(buf, 64, 1), -ENOSPC);
	assert_int_equal(fleet_upsert_sql(buf, 400, 3), -ENOSPC);
}

static void test_open(void **state)
{
	struct fleet *f = NULL;

	assert_int_equal(fleet_open(&f, ""), -EINVAL);
	assert_int_equal(fleet_open(&f, NULL), -EINVAL);
	assert_int_equal(fleet_open(&f, "postgres://u:p%zzss@db/x"), -EINVAL);
	assert_int_equal(fleet_open(&f, "host=/nonexistent"), 0);
	fleet_close(f);
	fleet_close(NULL);
}

static void test_open_from(void **state)
{
	char arg[] = "host=/nonexistent password=hunter2", path[128];
	struct fleet *f = NULL;
	FILE *fp;

	/* Nothing given: no fleet ledger. */
	unsetenv(FLEET_ENV);
	assert_int_equal(fleet_open_from(&f, NULL, NULL), 0);
	assert_null(f);

	/* --ship: the command line keeps the redacted string only. */
	assert_int_equal(fleet_open_from(&f, arg, NULL), 0);
	assert_non_null(f);
	fleet_close(f);
	assert_string_equal(arg, "host=/nonexistent password=***");
	assert_null(memmem(arg, sizeof(arg), "hunter2", 7));

	/* --ship-file: the first line, blanks stripped. */
	assert_int_equal(tmpdir_make("fleet"), 0);
	snprintf(path, sizeof(path), "%s/ship", tmpdir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("  host=/nonexistent password=hunter2 \t\r\nsecond line\n", fp);
	fclose(fp);
	chmod(path, 0600);
	assert_int_equal(fleet_open_from(&f, NULL, path), 0);
	assert_non_null(f);
	fleet_close(f);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("\n", fp);
	fclose(fp);
	assert_int_equal(fleet_open_from(&f, NULL, path), -EINVAL);
	assert_null(f);
	unlink(path);
	assert_int_equal(fleet_open_from(&f, NULL, path), -ENOENT);
	assert_int_equal(tmpdir_remove(), 0);

	/* TOLLGATE_SHIP: read, then gone from the environment. */
	setenv(FLEET_ENV, "host=/nonexistent password=hunter2", 1);
	assert_int_equal(fleet_open_from(&f, NULL, NULL), 0);
	assert_non_null(f);
	fleet_close(f);
	assert_null(getenv(FLEET_ENV));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_redact),
		cmocka_unit_test(test_scrub),
		cmocka_unit_test(test_upsert_sql),
		cmocka_unit_test(test_open),
		cmocka_unit_test(test_open_from),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
