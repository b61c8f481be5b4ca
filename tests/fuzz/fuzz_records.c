// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_records.c - libFuzzer target: arbitrary bytes as a file for
 * `tollgate ledger import` (JSON lines or CSV).
 *
 * 1. Line by line, split as the import splits them: every line through
 *    record_parse_json(), and, the first line being a header
 *    (record_csv_header()), every other line through record_parse_csv().
 *    A record either parser takes must write out (record_write()) as a
 *    JSON line and as a CSV line that read back as the same record.
 * 2. The file through records_import() into a ledger (time zone
 *    Asia/Shanghai), the format told by its first character as `ledger
 *    import` does. When it succeeds, it imported as many records as the
 *    file has lines of them, each of which step 1 took; and the ledger's
 *    export, as JSON lines and as CSV, imports into a new ledger whose
 *    export is the same, byte for byte.
 *
 * Ledgers are files in a scratch directory (/dev/shm, or /tmp), removed
 * at exit; a failed import leaves its ledger as it was, so one serves
 * until an import succeeds.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "ledger/records.h"
#include "lib/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define TZ "Asia/Shanghai"

static char tmpdir[64];
static unsigned long imported;	/* inputs imported, for TG_FUZZ_STATS */

static void print_stats(void)
{
	fprintf(stderr, "fuzz_records: %lu inputs imported\n", imported);
}

static void cleanup(void)
{
	char cmd[sizeof(tmpdir) + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd))
		fprintf(stderr, "fuzz_records: cannot remove %s\n", tmpdir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_level = -1;		/* pr_warn() says nothing */
	/* in memory when there is /dev/shm: ledgers sync every commit */
	snprintf(tmpdir, sizeof(tmpdir), "%s/tg-fuzz-records-XXXXXX",
		 access("/dev/shm", W_OK) ? "/tmp" : "/dev/shm");
	if (!mkdtemp(tmpdir))
		abort();
	atexit(cleanup);
	if (getenv("TG_FUZZ_STATS"))
		atexit(print_stats);
	return 0;
}

static void fail(const char *what, const char *a, const char *b)
{
	fprintf(stderr, "fuzz_records: %s\n  %s\n  %s\n", what, a, b);
	abort();
}

/* @r and @tz, written as @fmt and read back, must be themselves. */
static void round_trip(const struct ledger_usage *r, const char *tz,
		       enum out_format fmt)
{
	char *line = NULL, *head = NULL, err[256], tz2[LEDGER_TZ_SIZE];
	size_t len = 0, hlen = 0;
	struct ledger_usage r2;
	struct record_csv h;
	FILE *f;
	int ret;

	f = open_memstream(&line, &len);
	if (!f)
		abort();
	record_write(f, fmt, r, tz);
	fclose(f);
	if (!len || line[len - 1] != '\n')
		fail("a record written without its line end", line, "");
	line[--len] = '\0';
	if (fmt == FMT_JSON) {
		ret = record_parse_json(line, len, &r2, tz2, err, sizeof(err));
	} else {
		f = open_memstream(&head, &hlen);
		if (!f)
			abort();
		record_csv_head(f);
		fclose(f);
		head[--hlen] = '\0';
		if (record_csv_header(head, &h, err, sizeof(err)))
			fail("the CSV header does not read back", err, "");
		ret = record_parse_csv(line, &h, &r2, tz2, err, sizeof(err));
	}
	if (ret)
		fail("a record written does not read back", line, err);
	if (memcmp(r, &r2, sizeof(r2)) || strcmp(tz, tz2))
		fail("a record reads back changed", line, tz2);
	free(line);
	free(head);
}

/*
 * Step 1 over @data as records of @fmt: the lines of records (the header
 * excluded), and whether every one of them parsed.
 */
static size_t lines(const uint8_t *data, size_t size, enum out_format fmt,
		    bool *all_ok)
{
	char *line = malloc(size + 1), err[256], tz[LEDGER_TZ_SIZE];
	struct record_csv h = { .nr_cols = 0 };
	bool have_header = false;
	struct ledger_usage r;
	size_t off = 0, n, nr = 0, i;
	int ret;

	if (!line)
		abort();
	*all_ok = true;
	while (off < size) {
		const uint8_t *nl = memchr(data + off, '\n', size - off);

		n = nl ? (size_t)(nl - data - off) + 1 : size - off;
		memcpy(line, data + off, n);
		off += n;
		/* as next_record() takes a line */
		while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			n--;
		line[n] = '\0';
		for (i = 0; i < n && (line[i] == ' ' || line[i] == '\t'); i++)
			;
		if (i == n)
			continue;
		if (fmt == FMT_CSV && !have_header) {
			have_header = true;
			if (strlen(line) != n ||
			    record_csv_header(line, &h, err, sizeof(err)))
				*all_ok = false;
			continue;
		}
		nr++;
		if (fmt == FMT_JSON) {
			ret = record_parse_json(line, n, &r, tz, err,
						sizeof(err));
		} else if (!h.nr_cols || strlen(line) != n) {
			ret = -EINVAL;
		} else {
			ret = record_parse_csv(line, &h, &r, tz, err,
					       sizeof(err));
		}
		if (ret) {
			*all_ok = false;
			continue;
		}
		round_trip(&r, tz, FMT_JSON);
		round_trip(&r, tz, FMT_CSV);
	}
	free(line);
	return nr;
}

/* A file of the scratch directory holding @len bytes at @p. */
static const char *file_of(const char *name, const void *p, size_t len)
{
	static char path[2][128];
	static int next;
	char *s = path[next++ % 2];
	FILE *f;

	snprintf(s, 128, "%s/%s", tmpdir, name);
	f = fopen(s, "we");
	if (!f || (len && fwrite(p, 1, len, f) != len) || fclose(f))
		abort();
	return s;
}

static struct ledger *new_ledger(const char *name)
{
	struct ledger *l;
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	unlink(path);
	if (ledger_open(&l, path, LEDGER_CREATE, TZ))
		abort();
	return l;
}

static char *export(struct ledger *l, enum out_format fmt, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	if (!f || records_export(l, NULL, fmt, f))
		abort();
	fclose(f);
	return buf;
}

/* The export of @l as @fmt imports into a new ledger, a record a line,
 * and that ledger exports it the same. */
static void reimport(struct ledger *l, enum out_format fmt)
{
	size_t len, len2, n = 0, rows = 0, i;
	char *a = export(l, fmt, &len), *b;
	char *const files[] = { (char *)file_of("export", a, len) };
	struct ledger *l2 = new_ledger("b.db");

	for (i = 0; i < len; i++)
		rows += a[i] == '\n';
	if (fmt == FMT_CSV)
		rows--;		/* the header */
	if (records_import(l2, files, 1, fmt, &n) || n != rows)
		fail("an export does not import", a, "");
	b = export(l2, fmt, &len2);
	if (len != len2 || memcmp(a, b, len))
		fail("an export imported exports otherwise", a, b);
	ledger_close(l2);
	free(a);
	free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ledger *l;
	char *const files[] = { (char *)file_of("input", data, size) };
	enum out_format fmt;
	size_t nr, n = 0, i;
	bool all_ok;

	/* next_record(): a UTF-8 byte order mark opening the file is no
	 * part of it */
	i = size >= 3 && !memcmp(data, "\xef\xbb\xbf", 3) ? 3 : 0;
	/* sniff(): JSON lines start with '{' */
	for (; i < size && (data[i] == ' ' || data[i] == '\t' ||
				 data[i] == '\r' || data[i] == '\n');
	     i++)
		;
	fmt = i < size && data[i] == '{' ? FMT_JSON : FMT_CSV;
	/* what sniff() read is not read again */
	nr = lines(data + i, size - i, fmt, &all_ok);
	/* the other format's parsers too, for what they take */
	lines(data, size, fmt == FMT_JSON ? FMT_CSV : FMT_JSON, &(bool){ 0 });

	if (!l)
		l = new_ledger("a.db");
	if (records_import(l, files, 1, -1, &n))
		return 0;
	imported++;
	if (n != nr || !all_ok) {
		fprintf(stderr, "fuzz_records: imported %zu records of %zu "
			"lines%s\n", n, nr, all_ok ? "" :
			", though a line did not parse");
		abort();
	}
	reimport(l, FMT_JSON);
	reimport(l, FMT_CSV);
	ledger_close(l);
	l = NULL;
	return 0;
}
