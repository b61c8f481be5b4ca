/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * records.h - the ledger stage's usage records, one ledger day row each, as
 * JSON lines or CSV: the format of `tollgate ledger export` and `import`.
 *
 * Fields, in this order: host, day, tenant, service, backend,
 * traffic_type (UTF-8 text), bytes, packets, calls, unexplained_bytes
 * (integers 0..INT64_MAX), time_zone (text: the zone of the day).
 * unexplained_bytes and time_zone may be left out on import; any other
 * unknown or missing field is an error. A record's counters are that
 * day's running totals: importing it replaces the row with the same key.
 */
#ifndef TOLLGATE_RECORDS_H
#define TOLLGATE_RECORDS_H

#include <stdio.h>

#include "ledger/ledger.h"
#include "lib/util.h"

/* Column order of a CSV input, from its header line. */
struct record_csv {
	int col[16];		/* field of each column */
	int nr_cols;
};

/*
 * Parse one JSON line of @len bytes into @r and the record's time zone
 * into @tz (LEDGER_TZ_SIZE bytes, "" when absent). On error writes
 * "field: message" into @err and returns -EINVAL (or -ENOMEM).
 */
int record_parse_json(const char *line, size_t len, struct ledger_usage *r,
		      char *tz, char *err, size_t errlen);

/* Parse a CSV header line (modified in place) into @h. Returns 0 or
 * -EINVAL with "column: message" in @err. */
int record_csv_header(char *line, struct record_csv *h, char *err,
		      size_t errlen);

/* Parse one CSV line (modified in place) under header @h, as
 * record_parse_json() does. */
int record_parse_csv(char *line, const struct record_csv *h,
		     struct ledger_usage *r, char *tz, char *err,
		     size_t errlen);

/* Write @r, of a ledger in time zone @tz, as one line of @fmt (FMT_JSON
 * or FMT_CSV). */
void record_write(FILE *f, enum out_format fmt, const struct ledger_usage *r,
		  const char *tz);

/* Write the CSV header line. */
void record_csv_head(FILE *f);

/*
 * Write the rows of @l that @flt lets through to @f as records of @fmt (a
 * header line first for CSV). A name that is not UTF-8 (stored before
 * import checked names) is written as U+FFFD in JSON, as stored in CSV,
 * and counted in a warning. Returns 0 or -Exxx.
 */
int records_export(struct ledger *l, const struct ledger_filter *flt,
		   enum out_format fmt, FILE *f);

/*
 * Import the records of the @nr files @inputs ("-": standard input) into
 * @l in one transaction, replacing rows of the same key. @format is
 * FMT_JSON, FMT_CSV, or -1 to tell by each file's first character. Every
 * malformed line is reported (up to 20) as FILE:LINE: field: message, and
 * then nothing is imported. Sets *@imported to the number of records.
 * Returns 0, -EINVAL (malformed input), or -Exxx.
 */
int records_import(struct ledger *l, char *const *inputs, int nr, int format,
		   size_t *imported);

#endif /* TOLLGATE_RECORDS_H */
