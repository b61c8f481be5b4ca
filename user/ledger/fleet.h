/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * fleet.h - the ledger stage's fleet ledger: every host's day rows in one
 * PostgreSQL table, shipped by the agents from their local ledgers, rated with
 * `tollgate rate --db`.
 *
 * The local SQLite ledger stays the system of record of its host; the
 * fleet ledger is a copy that catches up. After each local commit the
 * agent ships the rows changed since the ledger's shipped mark (ledger.h,
 * struct ledger_ship) as idempotent upserts on the record key: a row is a
 * day's running total, so the upsert replaces the counters and shipping
 * twice never adds. Only after PostgreSQL committed does the mark move;
 * a crash in between ships the same rows again, which changes nothing.
 *
 * Table tollgate_usage_v1 (the version is in the name; a later schema is
 * a new table) is created when missing:
 *
 *   host, day, tenant, service, backend, traffic_type   text, the key
 *   bytes, packets, calls, unexplained_bytes            bigint
 *   time_zone                                           text
 *   shipped_at                                          timestamptz
 *
 * Connections are short-fused so a database that is away never holds up
 * collection for long: connect_timeout 3 s, statement_timeout 5 s,
 * tcp_user_timeout 5 s, unless the connection string says otherwise; a
 * connection attempt that took more than a second and failed (a host that
 * does not answer) is not tried again for FLEET_BACKOFF seconds, while a
 * refused one (a server that is down) is tried after every commit.
 */
#ifndef TOLLGATE_FLEET_H
#define TOLLGATE_FLEET_H

#include <stddef.h>
#include <stdbool.h>

#include "ledger/ledger.h"

#define FLEET_TABLE	"tollgate_usage_v1"
#define FLEET_BATCH	200	/* rows per INSERT statement */
#define FLEET_COLS	11	/* parameters per row */
#define FLEET_BACKOFF	30	/* seconds between slow failed connects */

struct fleet;

/*
 * A fleet ledger at libpq connection string @url (a postgresql:// URI or
 * "key=value ..."). Connects lazily, on the first ship. Returns 0 and sets
 * *@out, -EINVAL (empty, or not a string libpq can read), -ENOMEM.
 */
int fleet_open(struct fleet **out, const char *url);
void fleet_close(struct fleet *f);

/* The environment variable that may hold the connection string. */
#define FLEET_ENV "TOLLGATE_SHIP"

/*
 * fleet_open() on the connection string of, in this order: @arg (run
 * --ship; a password in it is warned about, and the string in @arg, the
 * process's command line, is overwritten with its redacted form), the
 * first line of @file (run --ship-file; a file others may read is warned
 * about), or FLEET_ENV (then wiped from the environment). None of them:
 * 0 and *@out NULL. Same returns, and those of reading @file.
 */
int fleet_open_from(struct fleet **out, char *arg, const char *file);

/*
 * Ship the rows of @l changed since its shipped mark, then move the mark.
 * Logs once when the database goes away and once when it is back, each
 * time with the backlog (unshipped rows). Returns 0, -ECONNREFUSED (not
 * reachable: try again later), -EIO (a statement failed), or -Exxx of the
 * local ledger.
 */
int fleet_ship(struct fleet *f, struct ledger *l);

/*
 * Call @fn for every row of the fleet ledger that @flt lets through (its
 * since, until and tenant), ordered like ledger_scan(). Rows of another
 * time zone than @tz are an error (-EINVAL): days of different zones do
 * not add up. Connects to @url and disconnects. Returns 0, what @fn
 * returned, -ECONNREFUSED, -EIO, -EBADMSG (a row that is not a record).
 */
int fleet_scan(const char *url, const char *tz, const struct ledger_filter *flt,
	       int (*fn)(const struct ledger_usage *row, void *ctx), void *ctx);

/* What fleet_redact() shows of a string libpq cannot read. */
#define FLEET_UNPARSABLE "a connection string libpq cannot parse"

/*
 * @url as libpq reads it (PQconninfoParse(): a postgresql:// URI or
 * key=value pairs, however separated), for messages: the options it
 * sets as key=value, host, hostaddr, port, dbname and user first, every
 * secret (password, sslpassword, whatever libpq marks as one) shown as
 * "***". A string libpq cannot read shows as FLEET_UNPARSABLE, since
 * its reason quotes it. Writes at most @len bytes; returns @out.
 */
const char *fleet_redact(const char *url, char *out, size_t len);

/*
 * @msg (a message of libpq's about @url) with every secret of @url in it
 * replaced by "***". Writes at most @len bytes; returns @out.
 */
const char *fleet_scrub(const char *url, const char *msg, char *out,
			size_t len);

/*
 * The upsert of @nr rows (1..FLEET_BATCH) into FLEET_TABLE, with
 * parameters $1.. FLEET_COLS per row in the order of the table's columns
 * (shipped_at excepted). Pure. Returns the length written, or -ENOSPC when
 * @len is too small, -EINVAL for a bad @nr.
 */
int fleet_upsert_sql(char *buf, size_t len, size_t nr);

#endif /* TOLLGATE_FLEET_H */
