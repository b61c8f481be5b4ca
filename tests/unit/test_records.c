// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_records.c - usage records: export and import round trips in JSON
 * lines and CSV, import overwrites (twice changes nothing, a correction
 * replaces), malformed lines named by file and line with nothing
 * imported, and the parsers' messages line by line.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <json-c/json.h>

#include "ledger/records.h"
#include "tmpdir.h"
#include "cmd/cmd.h"


static int setup(void **state)
{
	return tmpdir_make("records");
}

static int teardown(void **state)
{
	return tmpdir_remove();
}

static const char *in_dir(const char *name)
{
	static char paths[8][128];
	static int next;
	char *p = paths[next++ % 8];

	snprintf(p, 128, "%s/%s", tmpdir, name);
	return p;
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* The ledger's export as a string. */
static char *export(const char *path, enum out_format fmt)
{
	struct ledger *l = NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(ledger_open(&l, path, LEDGER_RDONLY, NULL), 0);
	assert_int_equal(records_export(l, NULL, fmt, f), 0);
	ledger_close(l);
	assert_int_equal(fclose(f), 0);
	return buf;
}

/* Import @files of @format (-1: told by their first line) into @path;
 * stderr captured into @msg when not NULL. */
static int import_as(const char *path, const char **files, int nr,
		     int format, char *msg, size_t msglen)
{
	struct ledger *l = NULL;
	FILE *tmp = tmpfile();
	int saved = dup(2), err;
	size_t n;

	assert_non_null(tmp);
	assert_int_equal(ledger_open(&l, path, LEDGER_CREATE, NULL), 0);
	fflush(stderr);
	dup2(fileno(tmp), 2);
	err = records_import(l, (char *const *)files, nr, format, NULL);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	ledger_close(l);
	if (msg) {
		rewind(tmp);
		n = fread(msg, 1, msglen - 1, tmp);
		msg[n] = '\0';
	}
	fclose(tmp);
	return err;
}

static int import(const char *path, const char **files, int nr, char *msg,
		  size_t msglen)
{
	return import_as(path, files, nr, -1, msg, msglen);
}

static const char good[] =
	"{\"host\":\"gw1\",\"day\":\"2024-06-01\",\"tenant\":\"acme\","
	"\"service\":\"api\",\"backend\":\"\",\"traffic_type\":"
	"\"outbound_client\",\"bytes\":1073741824,\"packets\":800000,"
	"\"calls\":1000001}\n"
	"\n"
	"{\"host\":\"gw1\",\"day\":\"2024-06-01\",\"tenant\":\"acme\","
	"\"service\":\"api\",\"backend\":\"db, \\\"main\\\"\",\"traffic_type\":"
	"\"outbound_backend_intranet\",\"bytes\":500,\"packets\":5,"
	"\"calls\":0,\"unexplained_bytes\":100,\"time_zone\":"
	"\"Asia/Shanghai\"}\n"
	"{\"host\":\"gw2\",\"day\":\"2024-05-31\",\"tenant\":\"\","
	"\"service\":\"\",\"backend\":\"fn-\xe5\x8c\x97\xe4\xba\xac\","
	"\"traffic_type\":\"outbound_scf_other_region\","
	"\"bytes\":9223372036854775807,\"packets\":1,\"calls\":0}\n";

static void test_round_trip(void **state)
{
	const char *in = in_dir("good.jsonl"), *a = in_dir("a.db"),
		   *b = in_dir("b.db"), *c = in_dir("c.db");
	const char *csv = in_dir("a.csv"), *jsonl = in_dir("a.jsonl");
	char *ja, *jb, *ca, *jc;

	write_text(in, good);
	assert_int_equal(import(a, &in, 1, NULL, 0), 0);
	ja = export(a, FMT_JSON);
	ca = export(a, FMT_CSV);
	/* oldest day first; every field; amounts as integers */
	assert_string_equal(
		ja,
		"{\"host\":\"gw2\",\"day\":\"2024-05-31\",\"tenant\":\"\","
		"\"service\":\"\",\"backend\":\"fn-\xe5\x8c\x97\xe4\xba\xac\","
		"\"traffic_type\":\"outbound_scf_other_region\","
		"\"bytes\":9223372036854775807,\"packets\":1,\"calls\":0,"
		"\"unexplained_bytes\":0,\"time_zone\":\"Asia/Shanghai\"}\n"
		"{\"host\":\"gw1\",\"day\":\"2024-06-01\",\"tenant\":\"acme\","
		"\"service\":\"api\",\"backend\":\"\",\"traffic_type\":"
		"\"outbound_client\",\"bytes\":1073741824,\"packets\":800000,"
		"\"calls\":1000001,\"unexplained_bytes\":0,\"time_zone\":"
		"\"Asia/Shanghai\"}\n"
		"{\"host\":\"gw1\",\"day\":\"2024-06-01\",\"tenant\":\"acme\","
		"\"service\":\"api\",\"backend\":\"db, \\\"main\\\"\","
		"\"traffic_type\":\"outbound_backend_intranet\",\"bytes\":500,"
		"\"packets\":5,\"calls\":0,\"unexplained_bytes\":100,"
		"\"time_zone\":\"Asia/Shanghai\"}\n");
	assert_string_equal(
		ca,
		"host,day,tenant,service,backend,traffic_type,bytes,packets,"
		"calls,unexplained_bytes,time_zone\n"
		"gw2,2024-05-31,,,fn-\xe5\x8c\x97\xe4\xba\xac,"
		"outbound_scf_other_region,9223372036854775807,1,0,0,"
		"Asia/Shanghai\n"
		"gw1,2024-06-01,acme,api,,outbound_client,1073741824,800000,"
		"1000001,0,Asia/Shanghai\n"
		"gw1,2024-06-01,acme,api,\"db, \"\"main\"\"\","
		"outbound_backend_intranet,500,5,0,100,Asia/Shanghai\n");

	/* CSV into a fresh ledger, JSON into another: the same records */
	write_text(csv, ca);
	write_text(jsonl, ja);
	assert_int_equal(import(b, &csv, 1, NULL, 0), 0);
	assert_int_equal(import(c, &jsonl, 1, NULL, 0), 0);
	jb = export(b, FMT_JSON);
	jc = export(c, FMT_JSON);
	assert_string_equal(jb, ja);
	assert_string_equal(jc, ja);
	free(ja);
	free(jb);
	free(jc);
	free(ca);
}

static void test_overwrite(void **state)
{
	const char *in = in_dir("good.jsonl"), *fix = in_dir("fix.csv"),
		   *l = in_dir("o.db");
	const char *twice[] = { in, in };
	char *once, *again, *fixed;

	write_text(in, good);
	assert_int_equal(import(l, &in, 1, NULL, 0), 0);
	once = export(l, FMT_JSON);
	/* the same records again, twice in one run: nothing changes */
	assert_int_equal(import(l, twice, 2, NULL, 0), 0);
	again = export(l, FMT_JSON);
	assert_string_equal(again, once);

	/* a correction replaces the row; columns in any order */
	write_text(fix, "traffic_type,host,day,tenant,service,backend,bytes,"
			"packets,calls\n"
			"outbound_client,gw1,2024-06-01,acme,api,,1000,1,7\r\n");
	assert_int_equal(import(l, &fix, 1, NULL, 0), 0);
	fixed = export(l, FMT_CSV);
	assert_non_null(strstr(fixed, "gw1,2024-06-01,acme,api,,"
				      "outbound_client,1000,1,7,0,"
				      "Asia/Shanghai\n"));
	assert_null(strstr(fixed, "1073741824"));
	free(once);
	free(again);
	free(fixed);
}

/* A bad line anywhere: every bad line reported, nothing imported. */
static void test_malformed_file(void **state)
{
	const char *in = in_dir("good.jsonl"), *bad = in_dir("bad.jsonl"),
		   *badcsv = in_dir("bad.csv"), *l = in_dir("m.db");
	const char *files[] = { in, bad };
	char msg[2048], want[512], *before, *after;

	write_text(in, good);
	assert_int_equal(import(l, &in, 1, NULL, 0), 0);
	before = export(l, FMT_JSON);

	/* line 1 corrects gw1's bytes: it must not land either */
	write_text(bad,
		   "{\"host\":\"gw1\",\"day\":\"2024-06-01\",\"tenant\":"
		   "\"acme\",\"service\":\"api\",\"backend\":\"\","
		   "\"traffic_type\":\"outbound_client\",\"bytes\":1,"
		   "\"packets\":1,\"calls\":1}\n"
		   "\n"
		   "{\"host\":\"gw1\",\"day\":\"2024-06-01\",\"tenant\":"
		   "\"acme\",\"service\":\"api\",\"backend\":\"\","
		   "\"traffic_type\":\"outbound_client\",\"bytes\":-5,"
		   "\"packets\":1,\"calls\":1}\n"
		   "{\"host\":\"gw1\"\n");
	assert_int_equal(import(l, files, 2, msg, sizeof(msg)), -EINVAL);
	snprintf(want, sizeof(want),
		 "%s:3: bytes: negative\n"
		 "%s:4: record: not JSON: unexpected end of line\n"
		 "tollgate: nothing imported: 2 malformed lines\n",
		 bad, bad);
	assert_string_equal(msg, want);
	after = export(l, FMT_JSON);
	assert_string_equal(after, before);
	free(after);

	write_text(badcsv, "host,day,tenant,service,backend,traffic_type,"
			   "bytes,packets,calls\n"
			   "gw1,2024-06-01,acme,api,,inbound,1,1,1\n"
			   "gw1,2024-06-01,acme,api,,inbound,1,1\n");
	assert_int_equal(import(l, &badcsv, 1, msg, sizeof(msg)), -EINVAL);
	snprintf(want, sizeof(want),
		 "%s:3: record: fewer fields, the header has 9\n", badcsv);
	assert_non_null(strstr(msg, want));
	after = export(l, FMT_JSON);
	assert_string_equal(after, before);
	free(after);
	free(before);
}

/* A UTF-8 byte order mark before the first line is skipped, and the
 * format is told after it. */
static void test_bom(void **state)
{
	const char *jsonl = in_dir("bom.jsonl"), *csv = in_dir("bom.csv"),
		   *in = in_dir("good.jsonl"), *a = in_dir("bom-a.db"),
		   *b = in_dir("bom-b.db"), *c = in_dir("bom-c.db"),
		   *d = in_dir("bom-d.db");
	char text[4096], msg[1024], *want, *got, *ca;

	write_text(in, good);
	assert_int_equal(import(a, &in, 1, NULL, 0), 0);
	want = export(a, FMT_JSON);
	ca = export(a, FMT_CSV);

	snprintf(text, sizeof(text), "\xef\xbb\xbf%s", good);
	write_text(jsonl, text);
	assert_int_equal(import(b, &jsonl, 1, msg, sizeof(msg)), 0);
	got = export(b, FMT_JSON);
	assert_string_equal(got, want);
	free(got);
	assert_int_equal(import_as(c, &jsonl, 1, FMT_JSON, msg, sizeof(msg)),
			 0);
	got = export(c, FMT_JSON);
	assert_string_equal(got, want);
	free(got);

	snprintf(text, sizeof(text), "\xef\xbb\xbf%s", ca);
	write_text(csv, text);
	assert_int_equal(import(d, &csv, 1, msg, sizeof(msg)), 0);
	got = export(d, FMT_JSON);
	assert_string_equal(got, want);
	free(got);

	/* only at the start of the file */
	snprintf(text, sizeof(text), "%s\xef\xbb\xbf%s", good, good);
	write_text(jsonl, text);
	assert_int_equal(import(d, &jsonl, 1, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, ":5: record: not JSON: "));
	free(want);
	free(ca);
}

/* A bad CSV header is one error for its file; the later files are still
 * read and their errors reported; nothing is imported. */
static void test_bad_header(void **state)
{
	const char *hdr = in_dir("hdr.csv"), *bad = in_dir("neg.jsonl"),
		   *in = in_dir("good.jsonl"), *l = in_dir("h.db");
	const char *files[] = { in, hdr, bad };
	char msg[4096], want[512], text[4096], *out;
	size_t n = 0;
	int i;

	n += snprintf(text + n, sizeof(text) - n, "host,day,tenant,colour\n");
	for (i = 0; i < 30; i++)
		n += snprintf(text + n, sizeof(text) - n,
			      "gw1,2024-06-01,acme,red\n");
	write_text(hdr, text);
	write_text(in, good);
	write_text(bad, "{\"host\":\"h\"}\n"
			"{\"host\":\"h\",\"day\":\"2024-06-01\","
			"\"tenant\":\"t\",\"service\":\"s\",\"backend\":\"\","
			"\"traffic_type\":\"inbound\",\"bytes\":-1,"
			"\"packets\":1,\"calls\":0}\n");
	assert_int_equal(import(l, files, 3, msg, sizeof(msg)), -EINVAL);
	snprintf(want, sizeof(want),
		 "%s:1: colour: unknown column\n"
		 "%s:1: day: missing\n"
		 "%s:2: bytes: negative\n"
		 "tollgate: nothing imported: 3 malformed lines\n",
		 hdr, bad, bad);
	assert_string_equal(msg, want);
	/* the good file before them is not imported either */
	assert_int_equal(import(l, files, 0, NULL, 0), 0);
	out = export(l, FMT_JSON);
	assert_string_equal(out, "");
	free(out);
}

/* A CSV file without a header line (blank lines only) says so once, at
 * its end, not at every later read of that end. */
static void test_header_missing_once(void **state)
{
	const char *blank = in_dir("blank.csv"), *l = in_dir("b.db");
	char msg[4096], want[512];

	write_text(blank, "\n\n\n");
	assert_int_equal(import_as(l, &blank, 1, FMT_CSV, msg, sizeof(msg)),
			 -EINVAL);
	snprintf(want, sizeof(want),
		 "%s:3: header: missing\n"
		 "tollgate: nothing imported: 1 malformed line\n", blank);
	assert_string_equal(msg, want);
}

/* Whether @text is one JSON object that json-c reads as valid UTF-8. */
static bool json_utf8(const char *text, size_t len)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *obj;
	bool ok;

	assert_non_null(tok);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
					    JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, text, len);
	ok = obj && json_tokener_get_error(tok) == json_tokener_success;
	json_object_put(obj);
	json_tokener_free(tok);
	return ok;
}

/*
 * A ledger of an older version may hold a name that is not UTF-8: its
 * JSON export stays valid JSON (U+FFFD for the bad byte), CSV writes it
 * as stored, and both say so on stderr.
 */
static void test_export_not_utf8(void **state)
{
	const char *path = in_dir("old.db");
	struct ledger_usage r = { .bytes = 7, .packets = 1 };
	struct ledger *l = NULL;
	char msg[512], *out, *line, *next;
	FILE *tmp;
	int saved, n = 0;
	size_t len;

	strcpy(r.k.host, "gw1");
	strcpy(r.k.day, "2024-06-01");
	strcpy(r.k.tenant, "ac\xffme");
	strcpy(r.k.service, "caf\xc3\xa9");
	strcpy(r.k.traffic_type, "outbound_client");
	assert_int_equal(ledger_open(&l, path, LEDGER_CREATE, NULL), 0);
	assert_int_equal(ledger_begin(l), 0);
	assert_int_equal(ledger_put(l, &r, LEDGER_REPLACE), 0);
	strcpy(r.k.tenant, "acme");
	assert_int_equal(ledger_put(l, &r, LEDGER_REPLACE), 0);
	assert_int_equal(ledger_end(l, true), 0);
	ledger_close(l);

	tmp = tmpfile();
	assert_non_null(tmp);
	fflush(stderr);
	saved = dup(2);
	dup2(fileno(tmp), 2);
	out = export(path, FMT_JSON);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	len = fread(msg, 1, sizeof(msg) - 1, tmp);
	msg[len] = '\0';
	fclose(tmp);

	for (line = out; *line; line = next + 1, n++) {
		next = strchr(line, '\n');
		assert_non_null(next);
		if (!json_utf8(line, next - line))
			fail_msg("not valid JSON: %.*s", (int)(next - line),
				 line);
	}
	assert_int_equal(n, 2);
	assert_non_null(strstr(out, "\"tenant\":\"ac\\ufffdme\""));
	assert_non_null(strstr(out, "\"service\":\"caf\xc3\xa9\""));
	assert_non_null(strstr(msg, "old.db': 1 record with a name that is "
				    "not UTF-8: each bad byte is written as "
				    "U+FFFD\n"));
	free(out);
	out = export(path, FMT_CSV);
	assert_non_null(strstr(out, "gw1,2024-06-01,ac\xffme,"));
	free(out);
}

/* `tollgate ledger import` into a new ledger that fails leaves no file. */
static void test_failed_import_leaves_nothing(void **state)
{
	const char *bad = in_dir("bad2.jsonl"), *l = in_dir("new.db");
	char *argv[] = { "ledger", "import", "--ledger", (char *)l,
			 (char *)bad, NULL };
	int saved = dup(2), null = open("/dev/null", O_WRONLY);

	assert_true(null >= 0);
	write_text(bad, "{}\n");
	fflush(stderr);
	dup2(null, 2);
	close(null);
	optind = 0;
	assert_int_equal(cmd_ledger(5, argv), 1);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	assert_int_equal(access(l, F_OK), -1);
}

/* `tollgate ledger import` says what it imported: records, inputs, the
 * ledger, and whether it made it. */
static void test_import_says_what(void **state)
{
	const char *in = in_dir("said.jsonl"), *l = in_dir("said.db");
	char *argv[] = { "ledger", "import", "--ledger", (char *)l,
			 (char *)in, (char *)in, NULL };
	char out[512], want[512];
	FILE *tmp;
	int saved;
	size_t n;

	write_text(in, good);
	for (int round = 0; round < 2; round++) {
		tmp = tmpfile();
		assert_non_null(tmp);
		fflush(stdout);
		saved = dup(1);
		dup2(fileno(tmp), 1);
		optind = 0;
		assert_int_equal(cmd_ledger(round ? 5 : 6, argv), 0);
		fflush(stdout);
		dup2(saved, 1);
		close(saved);
		rewind(tmp);
		n = fread(out, 1, sizeof(out) - 1, tmp);
		out[n] = '\0';
		fclose(tmp);
		snprintf(want, sizeof(want),
			 round ? "imported 3 records from 1 input into '%s'\n" :
				 "imported 6 records from 2 inputs into '%s' "
				 "(a new ledger)\n",
			 l);
		assert_string_equal(out, want);
	}
}

static void test_json_lines(void **state)
{
#define NAMED(service)                                                        \
	"{\"host\":\"h\",\"day\":\"2024-06-01\",\"tenant\":\"t\","             \
	"\"service\":\"" service "\",\"backend\":\"\",\"traffic_type\":"      \
	"\"inbound\",\"bytes\":1,\"packets\":1,\"calls\":0}"
#define REC(extra)                                                            \
	"{\"host\":\"h\",\"day\":\"2024-06-01\",\"tenant\":\"t\","             \
	"\"service\":\"s\",\"backend\":\"\",\"traffic_type\":\"inbound\","     \
	"\"packets\":1,\"calls\":0" extra "}"
	static const struct {
		const char *line;
		const char *err;	/* NULL: valid */
	} cases[] = {
		{ REC(",\"bytes\":1"), NULL },
		{ REC(",\"bytes\":9223372036854775807"), NULL },
		{ REC(",\"bytes\":9223372036854775808"),
		  "bytes: larger than 9223372036854775807" },
		{ REC(",\"bytes\":-1"), "bytes: negative" },
		{ REC(",\"bytes\":1.5"), "bytes: not an integer" },
		{ REC(",\"bytes\":\"1\""), "bytes: not an integer" },
		{ REC(""), "bytes: missing" },
		{ REC(",\"bytes\":1,\"byte\":2"), "byte: unknown field" },
		{ REC(",\"bytes\":1,\"time_zone\":3"),
		  "time_zone: not a string" },
		{ REC(",\"bytes\":1") " x",
		  "record: not JSON: unexpected character" },
		{ "[1,2]", "record: not a JSON object" },
		{ "{\"host\":", "record: not JSON: unexpected end of line" },
		{ "{\"host\":\"h\",\"day\":\"2024-02-30\",\"tenant\":\"t\","
		  "\"service\":\"s\",\"backend\":\"\",\"traffic_type\":"
		  "\"inbound\",\"bytes\":1,\"packets\":1,\"calls\":0}",
		  "day: not a calendar day YYYY-MM-DD" },
		{ "{\"host\":\"h\",\"day\":\"2024-06-01\",\"tenant\":\"t\\u0001\","
		  "\"service\":\"s\",\"backend\":\"\",\"traffic_type\":"
		  "\"inbound\",\"bytes\":1,\"packets\":1,\"calls\":0}",
		  "tenant: control character in the name" },
		{ "{\"host\":\"h\",\"day\":\"2024-06-01\",\"tenant\":\"t\\u0000\","
		  "\"service\":\"s\",\"backend\":\"\",\"traffic_type\":"
		  "\"inbound\",\"bytes\":1,\"packets\":1,\"calls\":0}",
		  "tenant: control character in the name" },
		{ "{\"host\":\"\",\"day\":\"2024-06-01\",\"tenant\":\"t\","
		  "\"service\":\"s\",\"backend\":\"\",\"traffic_type\":"
		  "\"outbound\",\"bytes\":1,\"packets\":1,\"calls\":0}",
		  "host: empty" },
		/* names are UTF-8: 北京 is; a cut one, Latin-1, an overlong
		 * '/' and a surrogate are not */
		{ NAMED("\xe5\x8c\x97\xe4\xba\xac"), NULL },
		{ NAMED("\xe5\x8c\x97\xe4\xba"),
		  "service: not valid UTF-8 at byte 4" },
		{ NAMED("caf\xe9" "s"), "service: not valid UTF-8 at byte 4" },
		{ NAMED("a\xc0\xaf" "b"), "service: not valid UTF-8 at byte 2" },
		{ NAMED("\xed\xa0\x80"), "service: not valid UTF-8 at byte 1" },
		/* a field given twice, however its name is spelled, is
		 * ambiguous; json-c alone would keep the last */
		/* unexplained bytes are a part of the bytes */
		{ REC(",\"bytes\":5,\"unexplained_bytes\":5"), NULL },
		{ REC(",\"bytes\":5,\"unexplained_bytes\":6"),
		  "unexplained_bytes: 6, more than the 5 bytes" },
		{ REC(",\"bytes\":1,\"bytes\":2"), "bytes: field appears twice" },
		{ REC(",\"bytes\":1,\"byte\\u0073\":2"),
		  "bytes: field appears twice" },
		{ "{\"host\":\"a\",\"host\":\"h\",\"day\":\"2024-06-01\","
		  "\"tenant\":\"t\",\"service\":\"s\",\"backend\":\"\","
		  "\"traffic_type\":\"inbound\",\"bytes\":1,\"packets\":1,"
		  "\"calls\":0}",
		  "host: field appears twice" },
		{ REC(",\"bytes\":1,\"x\":1,\"x\":2"), "x: unknown field" },
		/* json-c cuts a key at \u0000: "bytes\u0000x" would be bytes */
		{ REC(",\"bytes\\u0000x\":1"),
		  "record: a field name holds \\u0000" },
		/* a nested "bytes" is no second bytes */
		{ REC(",\"bytes\":{\"bytes\":1}"), "bytes: not an integer" },
		/* quotes and commas inside a name are no structure */
		{ NAMED("a\\\",\\\"bytes\\\":"), NULL },
		/* escapes: a pair is a character, half of one is not */
		{ NAMED("\\ud83d\\ude00"), NULL },
		{ NAMED("x\\ud800y"),
		  "service: not valid UTF-8: a lone surrogate escape" },
		{ NAMED("\\uDC00"),
		  "service: not valid UTF-8: a lone surrogate escape" },
		{ NAMED("\\ud800\\ud800"),
		  "service: not valid UTF-8: a lone surrogate escape" },
	};
	struct ledger_usage r;
	char err[256], tz[LEDGER_TZ_SIZE];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ret = record_parse_json(cases[i].line,
					    strlen(cases[i].line), &r, tz, err,
					    sizeof(err));

		if (!cases[i].err) {
			if (ret)
				fail_msg("case %zu: %s", i, err);
			continue;
		}
		if (ret != -EINVAL || strcmp(err, cases[i].err))
			fail_msg("case %zu: %d \"%s\", want \"%s\"", i, ret,
				 ret ? err : "", cases[i].err);
	}
#undef REC
#undef NAMED
}

static void test_csv_lines(void **state)
{
	static const struct {
		const char *line;
		const char *err;
	} cases[] = {
		{ "h,2024-06-01,t,s,,inbound,1,1,0", NULL },
		{ "h,2024-06-01,\"t,1\",\"s \"\"x\"\"\",,inbound,1,1,0", NULL },
		{ "h,2024-06-01,t,s,,inbound,-1,1,0",
		  "bytes: not a non-negative integer" },
		{ "h,2024-06-01,t,s,,inbound,1.0,1,0",
		  "bytes: not a non-negative integer" },
		{ "h,2024-06-01,t,s,,inbound,99999999999999999999,1,0",
		  "bytes: larger than 9223372036854775807" },
		{ "h,2024-06-01,t,s,,inbound,1,1",
		  "record: fewer fields, the header has 9" },
		{ "h,2024-06-01,t,s,,inbound,1,1,0,0",
		  "record: more fields, the header has 9" },
		{ "h,2024-06-01,\"t,s,,inbound,1,1,0",
		  "record: bad quoting" },
		{ "h,2024-06-01,t\"x,s,,inbound,1,1,0",
		  "record: bad quoting" },
		{ "h,2024-06-01,t,s,,inbound_ish,1,1,0",
		  "traffic_type: not a known traffic type" },
		{ "h,2024-06-01,t,\xe5\x8c\x97,,inbound,1,1,0", NULL },
		{ "h\xff,2024-06-01,t,s,,inbound,1,1,0",
		  "host: not valid UTF-8 at byte 2" },
		{ "h,2024-06-01,\"t \xe5\x8c\",s,,inbound,1,1,0",
		  "tenant: not valid UTF-8 at byte 3" },
	};
	char head[] = "host,day,tenant,service,backend,traffic_type,bytes,"
		      "packets,calls";
	char bad_head[] = "host,day,tenant,colour";
	char short_head[] = "host,day";
	struct record_csv h;
	struct ledger_usage r;
	char err[256], tz[LEDGER_TZ_SIZE], line[256];
	size_t i;

	assert_int_equal(record_csv_header(bad_head, &h, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "colour: unknown column");
	assert_int_equal(record_csv_header(short_head, &h, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "tenant: no such column");
	assert_int_equal(record_csv_header(head, &h, err, sizeof(err)), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ret;

		snprintf(line, sizeof(line), "%s", cases[i].line);
		ret = record_parse_csv(line, &h, &r, tz, err, sizeof(err));
		if (!cases[i].err) {
			if (ret)
				fail_msg("case %zu: %s", i, err);
			continue;
		}
		if (ret != -EINVAL || strcmp(err, cases[i].err))
			fail_msg("case %zu: %d \"%s\", want \"%s\"", i, ret,
				 ret ? err : "", cases[i].err);
	}
	snprintf(line, sizeof(line), "%s", cases[1].line);
	assert_int_equal(record_parse_csv(line, &h, &r, tz, err, sizeof(err)),
			 0);
	assert_string_equal(r.k.tenant, "t,1");
	assert_string_equal(r.k.service, "s \"x\"");

	/* unexplained bytes are a part of the bytes */
	snprintf(line, sizeof(line), "unexplained_bytes,host,day,tenant,"
		 "service,backend,traffic_type,bytes,packets,calls");
	assert_int_equal(record_csv_header(line, &h, err, sizeof(err)), 0);
	snprintf(line, sizeof(line), "1,h,2024-06-01,t,s,,inbound,1,1,0");
	assert_int_equal(record_parse_csv(line, &h, &r, tz, err, sizeof(err)),
			 0);
	snprintf(line, sizeof(line), "2,h,2024-06-01,t,s,,inbound,1,1,0");
	assert_int_equal(record_parse_csv(line, &h, &r, tz, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "unexplained_bytes: 2, more than the 1 bytes");
}

/* A record of another time zone does not go into this ledger. */
static void test_time_zone_mismatch(void **state)
{
	const char *in = in_dir("utc.jsonl"), *l = in_dir("tz.db");
	char msg[512];

	write_text(in, "{\"host\":\"h\",\"day\":\"2024-06-01\",\"tenant\":"
		       "\"t\",\"service\":\"s\",\"backend\":\"\","
		       "\"traffic_type\":\"inbound\",\"bytes\":1,"
		       "\"packets\":1,\"calls\":0,\"time_zone\":\"UTC\"}\n");
	assert_int_equal(import(l, &in, 1, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, ":1: time_zone: the record's day is in "
				    "UTC, the ledger's in Asia/Shanghai\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_overwrite),
		cmocka_unit_test(test_malformed_file),
		cmocka_unit_test(test_bad_header),
		cmocka_unit_test(test_header_missing_once),
		cmocka_unit_test(test_bom),
		cmocka_unit_test(test_export_not_utf8),
		cmocka_unit_test(test_failed_import_leaves_nothing),
		cmocka_unit_test(test_import_says_what),
		cmocka_unit_test(test_json_lines),
		cmocka_unit_test(test_csv_lines),
		cmocka_unit_test(test_time_zone_mismatch),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
