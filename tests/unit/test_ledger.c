// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_ledger.c - the SQLite ledger: commit, reopen and read back the last
 * snapshot; the stale-snapshot guard; overflow; put (replace, maximum);
 * sums; files that are not ledgers, corrupt, truncated, empty or of a
 * newer schema; and a crash test that SIGKILLs a committing child at
 * random instants and checks that the stored totals are exactly the sum of
 * the deltas of the stored snapshots.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "ledger/ledger.h"
#include "tmpdir.h"
#include "ledger/tz.h"

static char path[128];

static int setup(void **state)
{
	if (tmpdir_make("ledger"))
		return -1;
	snprintf(path, sizeof(path), "%s/ledger.db", tmpdir);
	return 0;
}

static int teardown(void **state)
{
	return tmpdir_remove();
}

static struct ledger_usage row(const char *host, const char *day,
			       const char *tenant, const char *type,
			       __u64 bytes, __u64 calls)
{
	struct ledger_usage r = { .bytes = bytes, .packets = bytes ? 1 : 0,
				  .calls = calls };

	snprintf(r.k.host, sizeof(r.k.host), "%s", host);
	snprintf(r.k.day, sizeof(r.k.day), "%s", day);
	snprintf(r.k.tenant, sizeof(r.k.tenant), "%s", tenant);
	snprintf(r.k.service, sizeof(r.k.service), "api");
	snprintf(r.k.traffic_type, sizeof(r.k.traffic_type), "%s", type);
	return r;
}

static struct ledger_counter ctr(const char *key, __u64 bytes)
{
	struct ledger_counter c = { .key_len = strlen(key), .bytes = bytes,
				    .packets = bytes / 100 };

	memcpy(c.key, key, c.key_len);
	return c;
}

struct totals {
	__u64 bytes, calls;
	size_t rows;
};

static int add_row(const struct ledger_usage *r, void *ctx)
{
	struct totals *t = ctx;

	t->bytes += r->bytes;
	t->calls += r->calls;
	t->rows++;
	return 0;
}

static struct totals totals(struct ledger *l)
{
	struct totals t = {};

	assert_int_equal(ledger_scan(l, NULL, add_row, &t), 0);
	return t;
}

static void test_commit_reopen(void **state)
{
	struct ledger_counter c1[] = { ctr("peer-a", 1000), ctr("peer-b", 5) };
	struct ledger_counter c2[] = { ctr("peer-b", 7), ctr("peer-c", 42) };
	struct ledger_snap s1 = { .boot_id = "boot-1", .generation = 9,
				  .seq = 1, .taken_at = 1717171200,
				  .ctrs = c1, .nr = 2 };
	struct ledger_snap s2 = s1, back = {};
	struct ledger_usage rows[] = {
		row("gw1", "2024-06-01", "acme", "outbound_client", 1000, 3),
		row("gw1", "2024-06-01", "acme", "inbound", 5, 0),
	};
	struct ledger *l = NULL;
	struct totals t;

	assert_int_equal(ledger_open(&l, path, LEDGER_RDONLY, NULL), -ENOENT);
	assert_int_equal(ledger_open(&l, path, LEDGER_CREATE, NULL), 0);
	assert_string_equal(ledger_time_zone(l), "Asia/Shanghai");
	assert_int_equal(ledger_last_snapshot(l, &back), 0);
	assert_int_equal(back.seq, 0);
	assert_int_equal(back.nr, 0);
	ledger_snap_free(&back);

	assert_int_equal(ledger_commit(l, rows, 2, &s1), 0);
	/* The same interval again: the ledger holds seq 1 now. */
	assert_int_equal(ledger_commit(l, rows, 2, &s1), -ESTALE);
	s2.seq = 2;
	s2.ctrs = c2;
	s2.taken_at += 10;
	rows[0].bytes = 50;
	assert_int_equal(ledger_commit(l, rows, 1, &s2), 0);
	ledger_close(l);

	assert_int_equal(ledger_open(&l, path, LEDGER_RDONLY, "Asia/Shanghai"),
			 0);
	assert_int_equal(ledger_last_snapshot(l, &back), 0);
	assert_int_equal(back.seq, 2);
	assert_string_equal(back.boot_id, "boot-1");
	assert_int_equal(back.generation, 9);
	assert_int_equal(back.taken_at, 1717171210);
	assert_int_equal(back.nr, 2);
	assert_memory_equal(back.ctrs[0].key, "peer-b", 6);
	assert_int_equal(back.ctrs[0].bytes, 7);
	assert_memory_equal(back.ctrs[1].key, "peer-c", 6);
	assert_int_equal(back.ctrs[1].bytes, 42);
	ledger_snap_free(&back);
	t = totals(l);
	assert_int_equal(t.bytes, 1000 + 5 + 50);
	assert_int_equal(t.calls, 3 + 3);
	assert_int_equal(t.rows, 2);
	ledger_close(l);

	/* Another time zone is refused, not silently mixed. */
	assert_int_equal(ledger_open(&l, path, 0, "UTC"), -EINVAL);
	assert_int_equal(unlink(path), 0);
}

/* Snapshots that shrink, grow and change in place, through the cached
 * path and after a reopen: the stored one is always the last one. */
static void test_snapshot_diffs(void **state)
{
	struct ledger *l = NULL;
	__u64 seq;

	assert_int_equal(ledger_open(&l, path, LEDGER_CREATE, "UTC"), 0);
	for (seq = 1; seq <= 40; seq++) {
		struct ledger_counter c[16];
		struct ledger_snap s = { .boot_id = "b", .seq = seq,
					 .ctrs = c }, back = {};
		char key[16];
		size_t i;

		/* keys come and go; values change for some */
		for (i = 0; i < 16; i++) {
			if ((i * 7 + seq) % 5 == 0)
				continue;
			snprintf(key, sizeof(key), "k%02zu", (i * 11) % 16);
			c[s.nr++] = ctr(key, seq * (i % 3));
		}
		assert_int_equal(ledger_commit(l, NULL, 0, &s), 0);
		if (seq % 13 == 0) {
			ledger_close(l);
			assert_int_equal(ledger_open(&l, path, 0, NULL), 0);
		}
		assert_int_equal(ledger_last_snapshot(l, &back), 0);
		assert_int_equal(back.nr, s.nr);
		for (i = 0; i < s.nr; i++) {
			size_t j;

			for (j = 0; j < back.nr; j++)
				if (back.ctrs[j].key_len == c[i].key_len &&
				    !memcmp(back.ctrs[j].key, c[i].key,
					    c[i].key_len))
					break;
			assert_true(j < back.nr);
			assert_int_equal(back.ctrs[j].bytes, c[i].bytes);
		}
		ledger_snap_free(&back);
	}
	ledger_close(l);
	assert_int_equal(unlink(path), 0);
}

/* A total that would pass INT64_MAX fails the whole interval. */
static void test_overflow(void **state)
{
	struct ledger_counter c = ctr("k", 1);
	struct ledger_snap s = { .boot_id = "b", .seq = 1, .ctrs = &c,
				 .nr = 1 };
	struct ledger_usage r[2] = {
		row("gw1", "2024-06-01", "acme", "outbound_client", 10, 0),
		row("gw1", "2024-06-01", "acme", "outbound_client",
		    INT64_MAX - 5, 0),
	};
	struct ledger *l = NULL;
	struct totals t;

	assert_int_equal(ledger_open(&l, path, LEDGER_CREATE, NULL), 0);
	assert_int_equal(ledger_commit(l, r, 1, &s), 0);
	s.seq = 2;
	assert_int_equal(ledger_commit(l, r + 1, 1, &s), -EOVERFLOW);
	r[1].bytes = (__u64)INT64_MAX + 1;
	assert_int_equal(ledger_commit(l, r + 1, 1, &s), -EOVERFLOW);
	r[1].k.traffic_type[0] = 'X';
	r[1].bytes = 1;
	assert_int_equal(ledger_commit(l, r + 1, 1, &s), -EINVAL);
	t = totals(l);
	assert_int_equal(t.bytes, 10);
	/* still at seq 1 */
	assert_int_equal(ledger_commit(l, r, 1, &s), 0);
	ledger_close(l);
	assert_int_equal(unlink(path), 0);
}

static int collect(const struct ledger_usage *r, void *ctx)
{
	struct ledger_usage **p = ctx;

	*(*p)++ = *r;
	return 0;
}

static void test_put_and_sum(void **state)
{
	struct ledger_usage a = row("gw1", "2024-06-01", "acme",
				    "outbound_client", 100, 10);
	struct ledger_usage b = row("gw2", "2024-06-01", "acme",
				    "outbound_client", 50, 5);
	struct ledger_usage got[8], *p = got;
	struct ledger_filter f = { .since = "2024-06-01",
				   .until = "2024-06-02" };
	struct ledger *l = NULL;

	assert_int_equal(ledger_open(&l, path, LEDGER_CREATE, NULL), 0);
	assert_int_equal(ledger_begin(l), 0);
	assert_int_equal(ledger_put(l, &a, LEDGER_REPLACE), 0);
	assert_int_equal(ledger_put(l, &b, LEDGER_REPLACE), 0);
	a.bytes = 80;	/* a correction replaces */
	assert_int_equal(ledger_put(l, &a, LEDGER_REPLACE), 0);
	b.bytes = 40;
	b.calls = 9;	/* the maximum keeps 50 bytes, takes 9 calls */
	assert_int_equal(ledger_put(l, &b, LEDGER_MAX), 0);
	assert_int_equal(ledger_end(l, true), 0);
	/* rolled back */
	assert_int_equal(ledger_begin(l), 0);
	a.bytes = 1;
	assert_int_equal(ledger_put(l, &a, LEDGER_REPLACE), 0);
	assert_int_equal(ledger_end(l, false), 0);

	assert_int_equal(ledger_sum(l, &f, collect, &p), 0);
	assert_int_equal(p - got, 1);
	assert_string_equal(got[0].k.tenant, "acme");
	assert_string_equal(got[0].k.host, "");
	assert_int_equal(got[0].bytes, 80 + 50);
	assert_int_equal(got[0].calls, 10 + 9);
	f.since = "2024-06-02";
	f.until = NULL;
	p = got;
	assert_int_equal(ledger_sum(l, &f, collect, &p), 0);
	assert_int_equal(p - got, 0);
	ledger_close(l);
	assert_int_equal(unlink(path), 0);
}

/* Run @sql on the SQLite file @p, bypassing the ledger. */
static void raw_sql(const char *p, const char *sql)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static void write_file(const char *p, const void *data, size_t len)
{
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* A real ledger with enough rows to fill several pages. */
static void make_ledger(const char *p)
{
	struct ledger *l = NULL;
	int i;

	assert_int_equal(ledger_open(&l, p, LEDGER_CREATE, NULL), 0);
	assert_int_equal(ledger_begin(l), 0);
	for (i = 0; i < 2000; i++) {
		char tenant[32];
		struct ledger_usage r;

		snprintf(tenant, sizeof(tenant), "tenant-%04d", i);
		r = row("gw1", "2024-06-01", tenant, "outbound_client", i, i);
		assert_int_equal(ledger_put(l, &r, LEDGER_REPLACE), 0);
	}
	assert_int_equal(ledger_end(l, true), 0);
	ledger_close(l);	/* checkpoints and removes the WAL */
}

static void test_bad_files(void **state)
{
	static const char garbage[] = "this is not a database, it is a "
				      "grocery list: eggs, milk, bread\n";
	struct ledger *l = NULL;
	char other[160];
	struct stat st;
	size_t i;
	int fd;

	/* garbage */
	write_file(path, garbage, sizeof(garbage));
	assert_int_equal(ledger_open(&l, path, 0, NULL), -EBADMSG);
	assert_int_equal(ledger_open(&l, path, LEDGER_RDONLY, NULL), -EBADMSG);
	/* empty: SQLite would call it an empty database */
	write_file(path, "", 0);
	assert_int_equal(ledger_open(&l, path, LEDGER_CREATE, NULL), -EBADMSG);
	assert_null(l);

	/* another application's SQLite database */
	snprintf(other, sizeof(other), "%s/other.db", tmpdir);
	raw_sql(other, "CREATE TABLE t(x); INSERT INTO t VALUES(1);");
	assert_int_equal(ledger_open(&l, other, 0, NULL), -EPROTO);

	/* a newer schema */
	unlink(path);
	make_ledger(path);
	raw_sql(path, "PRAGMA user_version = 99");
	assert_int_equal(ledger_open(&l, path, LEDGER_RDONLY, NULL), -ENOTSUP);

	/* truncated to half */
	unlink(path);
	make_ledger(path);
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size > 8 * 4096);
	assert_int_equal(truncate(path, st.st_size / 2), 0);
	assert_int_equal(ledger_open(&l, path, LEDGER_RDONLY, NULL), -EBADMSG);
	assert_int_equal(ledger_open(&l, path, 0, NULL), -EBADMSG);
	/* truncated to the first page */
	assert_int_equal(truncate(path, 4096), 0);
	assert_int_equal(ledger_open(&l, path, LEDGER_RDONLY, NULL), -EBADMSG);

	/* a page in the middle overwritten (SQLite has no page checksums:
	 * quick_check finds broken structure, not a changed digit) */
	unlink(path);
	make_ledger(path);
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	for (i = 0; i < 4096; i += sizeof(garbage) - 1)
		assert_int_equal(pwrite(fd, garbage, sizeof(garbage) - 1,
					3 * 4096 + i),
				 sizeof(garbage) - 1);
	close(fd);
	assert_int_equal(ledger_open(&l, path, LEDGER_RDONLY, NULL), -EBADMSG);
	assert_null(l);

	/* a directory */
	assert_int_equal(ledger_open(&l, tmpdir, 0, NULL), -EINVAL);
	unlink(path);
	unlink(other);
}

/*
 * The crash test. A model of the kernel's counters: 6 keys whose values
 * grow by a pseudo-random amount at every snapshot; a reboot every 23
 * snapshots restarts them from zero; key 5 vanishes at every 4th snapshot
 * and comes back counting from zero. Snapshot s is taken 20 minutes after
 * s - 1, so the rows cross midnights.
 */
#define NKEYS 6
#define T0 1717164000	/* 2024-05-31T14:00:00Z, 22:00 in Shanghai */

static __u64 inc(__u64 s, int i)
{
	return ((s * 2654435761u + i * 40503u) >> 5) % 5000 + 1;
}

static void model(__u64 s, struct ledger_snap *snap,
		  struct ledger_counter *c)
{
	__u64 epoch = (s - 1) / 23, start = epoch * 23 + 1, r;
	int i;

	memset(snap, 0, sizeof(*snap));
	snprintf(snap->boot_id, sizeof(snap->boot_id), "boot-%llu",
		 (unsigned long long)epoch);
	snap->generation = 1;
	snap->seq = s;
	snap->taken_at = T0 + s * 1200;
	snap->ctrs = c;
	for (i = 0; i < NKEYS; i++) {
		__u64 from = start;

		if (i == 5) {
			if (s % 4 == 0)
				continue;
			/* back from a vanish: the entry is new */
			if (s - s % 4 + 1 > from)
				from = s - s % 4 + 1;
		}
		c[snap->nr] = (struct ledger_counter){ .key_len = 4 };
		snprintf((char *)c[snap->nr].key, 5, "key%d", i);
		for (r = from; r <= s; r++) {
			c[snap->nr].bytes += inc(r, i);
			c[snap->nr].packets += 1;
			c[snap->nr].calls += inc(r, i) % 3;
		}
		snap->nr++;
	}
}

/* The usage rows of the deltas from snapshot s - 1 to s. */
static size_t rows_of(__u64 s, const struct tz *tz, struct ledger_usage *u)
{
	struct ledger_counter pc[NKEYS], cc[NKEYS], d[NKEYS];
	struct ledger_snap prev, cur;
	size_t i, n = 0;
	char day[LEDGER_DAY_SIZE];

	model(s, &cur, cc);
	if (s > 1)
		model(s - 1, &prev, pc);
	if (ledger_delta(s > 1 ? &prev : NULL, &cur, d) < 0 ||
	    day_of(cur.taken_at, tz, day, sizeof(day)))
		return 0;
	for (i = 0; i < cur.nr; i++) {
		int k = d[i].key[3] - '0';
		char tenant[8];

		snprintf(tenant, sizeof(tenant), "t%d", k % 3);
		u[n] = row("gw1", day, tenant, traffic_name(k), d[i].bytes,
			   d[i].calls);
		u[n].packets = d[i].packets;
		n++;
	}
	return n;
}

/* The child: commit snapshot after snapshot until killed. */
static void crash_child(void)
{
	struct ledger_counter c[NKEYS];
	struct ledger_usage u[NKEYS];
	struct ledger_snap prev = {}, cur;
	struct ledger *l = NULL;
	struct tz *tz = NULL;

	if (tz_load(&tz, NULL) || ledger_open(&l, path, LEDGER_CREATE, NULL) ||
	    ledger_last_snapshot(l, &prev))
		_exit(2);
	for (;;) {
		__u64 s = prev.seq + 1;
		size_t n = rows_of(s, tz, u);

		model(s, &cur, c);
		if (ledger_commit(l, u, n, &cur))
			_exit(3);
		ledger_snap_free(&prev);
		prev = cur;
		prev.ctrs = malloc(sizeof(c));
		if (!prev.ctrs)
			_exit(4);
		memcpy(prev.ctrs, c, sizeof(c));
	}
}

/*
 * Expected totals per (day, key). Key k always lands on tenant t<k % 3>
 * and traffic type k, so (day, tenant, type) names the key. Shanghai is
 * UTC+8 all year, which gives the day's index without day_of().
 */
struct expect {
	__s64 first_day;
	size_t nr_days;
	struct ledger_usage *rows;	/* [day][key] */
	bool *seen;
};

static size_t day_index(const struct expect *e, __s64 taken_at)
{
	return (taken_at + 8 * 3600) / 86400 - e->first_day;
}

static void expect_add(struct expect *e, __s64 taken_at,
		       const struct ledger_usage *r)
{
	int k = traffic_index(r->k.traffic_type);
	struct ledger_usage *x;

	assert_true(k >= 0 && k < NKEYS);
	assert_true(day_index(e, taken_at) < e->nr_days);
	x = &e->rows[day_index(e, taken_at) * NKEYS + k];
	if (!x->k.host[0])
		x->k = r->k;
	assert_string_equal(x->k.day, r->k.day);
	x->bytes += r->bytes;
	x->packets += r->packets;
	x->calls += r->calls;
}

static int check_row(const struct ledger_usage *r, void *ctx)
{
	struct expect *e = ctx;
	size_t i;

	for (i = 0; i < e->nr_days * NKEYS; i++) {
		const struct ledger_usage *x = &e->rows[i];

		if (strcmp(x->k.day, r->k.day) ||
		    strcmp(x->k.tenant, r->k.tenant) ||
		    strcmp(x->k.traffic_type, r->k.traffic_type))
			continue;
		if (x->bytes != r->bytes || x->packets != r->packets ||
		    x->calls != r->calls)
			fail_msg("%s %s %s: %llu bytes, want %llu", r->k.day,
				 r->k.tenant, r->k.traffic_type,
				 (unsigned long long)r->bytes,
				 (unsigned long long)x->bytes);
		e->seen[i] = true;
		return 0;
	}
	fail_msg("unexpected row %s %s %s", r->k.day, r->k.tenant,
		 r->k.traffic_type);
	return -1;
}

/* The seq of the last snapshot in the ledger at @p; 0 when unreadable. */
static __u64 committed(const char *p)
{
	struct ledger_snap back = {};
	struct ledger *l = NULL;
	__u64 seq = 0;

	if (ledger_open(&l, p, LEDGER_RDONLY, NULL))
		return 0;
	if (!ledger_last_snapshot(l, &back))
		seq = back.seq;
	ledger_snap_free(&back);
	ledger_close(l);
	return seq;
}

/* The fleet ledger's high-water mark: commits and imports stamp the rows
 * they write, a ship moves the mark, only later changes are unshipped,
 * and it all survives a reopen. A schema 1 file is upgraded with every
 * row unshipped. */
static void test_ship_mark(void **state)
{
	struct ledger_counter c1[] = { ctr("peer-a", 10) };
	struct ledger_snap s = { .boot_id = "boot-1", .seq = 1,
				 .taken_at = 1717171200, .ctrs = c1, .nr = 1 };
	struct ledger_usage rows[] = {
		row("gw1", "2024-06-01", "acme", "outbound_client", 1000, 3),
		row("gw1", "2024-06-01", "acme", "inbound", 5, 0),
	};
	struct ledger_ship sh;
	struct ledger *l = NULL;
	struct totals t = {};
	__u64 upto = 0;

	assert_int_equal(ledger_open(&l, path, LEDGER_CREATE, NULL), 0);
	assert_int_equal(ledger_ship_state(l, &sh), 0);
	assert_int_equal(sh.change_seq, 0);
	assert_int_equal(sh.unshipped, 0);
	assert_int_equal(sh.shipped_at, 0);
	assert_int_equal(ledger_commit(l, rows, 2, &s), 0);
	assert_int_equal(ledger_ship_state(l, &sh), 0);
	assert_int_equal(sh.change_seq, 1);
	assert_int_equal(sh.shipped_seq, 0);
	assert_int_equal(sh.unshipped, 2);
	assert_int_equal(ledger_scan_changed(l, 0, &upto, add_row, &t), 0);
	assert_int_equal(upto, 1);
	assert_int_equal(t.rows, 2);
	assert_int_equal(ledger_mark_shipped(l, upto, 1717171300), 0);
	assert_int_equal(ledger_ship_state(l, &sh), 0);
	assert_int_equal(sh.unshipped, 0);
	assert_int_equal(sh.shipped_at, 1717171300);

	/* One row changes: only it is unshipped. */
	s.seq = 2;
	rows[1].bytes = 7;
	assert_int_equal(ledger_commit(l, &rows[1], 1, &s), 0);
	/* An empty interval takes a number but stamps nothing. */
	s.seq = 3;
	assert_int_equal(ledger_commit(l, NULL, 0, &s), 0);
	memset(&t, 0, sizeof(t));
	assert_int_equal(ledger_scan_changed(l, 1, &upto, add_row, &t), 0);
	assert_int_equal(upto, 3);
	assert_int_equal(t.rows, 1);
	assert_int_equal(t.bytes, 12);
	/* A mark never goes back. */
	assert_int_equal(ledger_mark_shipped(l, 0, 1717171400), 0);
	assert_int_equal(ledger_ship_state(l, &sh), 0);
	assert_int_equal(sh.shipped_seq, 1);
	ledger_close(l);

	/* An import is a change too; the state survives a reopen. */
	assert_int_equal(ledger_open(&l, path, 0, NULL), 0);
	assert_int_equal(ledger_begin(l), 0);
	rows[0].k.host[2] = '2';
	assert_int_equal(ledger_put(l, &rows[0], LEDGER_REPLACE), 0);
	assert_int_equal(ledger_end(l, true), 0);
	assert_int_equal(ledger_ship_state(l, &sh), 0);
	assert_int_equal(sh.change_seq, 4);
	assert_int_equal(sh.shipped_seq, 1);
	assert_int_equal(sh.unshipped, 2);
	ledger_close(l);

	/* Back to schema 1, as an older tollgate wrote it. */
	raw_sql(path, "DROP INDEX usage_changed;"
		      "ALTER TABLE usage DROP COLUMN changed;"
		      "DELETE FROM meta WHERE name <> 'time_zone' AND "
		      "name <> 'created'; PRAGMA user_version = 1;");
	assert_int_equal(ledger_open(&l, path, LEDGER_RDONLY, NULL), 0);
	assert_int_equal(ledger_ship_state(l, &sh), -ENOTSUP);
	assert_int_equal(totals(l).rows, 3);
	ledger_close(l);
	assert_int_equal(ledger_open(&l, path, 0, NULL), 0);
	assert_int_equal(ledger_ship_state(l, &sh), 0);
	assert_int_equal(sh.change_seq, 1);
	assert_int_equal(sh.shipped_seq, 0);
	assert_int_equal(sh.unshipped, 3);
	ledger_close(l);
	assert_int_equal(unlink(path), 0);
}

static void test_crash_safety(void **state)
{
	struct ledger_counter want_c[NKEYS];
	struct ledger_snap back = {}, want;
	struct ledger_usage u[NKEYS];
	struct timespec t0, now;
	struct expect e = {};
	struct ledger *l = NULL;
	struct tz *tz = NULL;
	int kills = 0;
	__u64 s;
	size_t i;

	unlink(path);
	srand(time(NULL));
	/* Created here, not by the first child: on a loaded machine every
	 * child may be killed before it has built a new file. */
	assert_int_equal(ledger_open(&l, path, LEDGER_CREATE, NULL), 0);
	ledger_close(l);
	l = NULL;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	now = t0;
	do {
		pid_t pid = fork();
		int status;

		assert_true(pid >= 0);
		if (pid == 0)
			crash_child();
		/* 2 to 40 ms: while opening, checking, committing; past 3 s
		 * (a loaded machine) up to 200 ms, so children get to
		 * commit, still killed at any instant of it. */
		usleep(2000 + rand() % (now.tv_sec - t0.tv_sec < 3 ? 38000 :
								     198000));
		kill(pid, SIGKILL);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (!WIFSIGNALED(status))
			fail_msg("the child exited with status %d",
				 WEXITSTATUS(status));
		kills++;
		clock_gettime(CLOCK_MONOTONIC, &now);
		/* 3 s, and then until more than 10 intervals were committed
		 * (slow children on a loaded machine), at most 60 s. */
		if (now.tv_sec - t0.tv_sec >= 3 && committed(path) > 10)
			break;
	} while (now.tv_sec - t0.tv_sec < 60);

	assert_int_equal(tz_load(&tz, NULL), 0);
	assert_int_equal(ledger_open(&l, path, LEDGER_RDONLY, NULL), 0);
	assert_int_equal(ledger_last_snapshot(l, &back), 0);
	print_message("%d kills, %llu intervals committed\n", kills,
		      (unsigned long long)back.seq);
	assert_true(back.seq > 10);

	/* The stored snapshot is the model's at its seq ... */
	model(back.seq, &want, want_c);
	assert_string_equal(back.boot_id, want.boot_id);
	assert_int_equal(back.taken_at, want.taken_at);
	assert_int_equal(back.nr, want.nr);
	for (i = 0; i < want.nr; i++) {
		assert_memory_equal(back.ctrs[i].key, want_c[i].key, 4);
		assert_int_equal(back.ctrs[i].bytes, want_c[i].bytes);
		assert_int_equal(back.ctrs[i].calls, want_c[i].calls);
	}
	/* ... and the totals are exactly the deltas up to it. */
	e.first_day = (T0 + 8 * 3600) / 86400;
	e.nr_days = day_index(&e, want.taken_at) + 1;
	e.rows = calloc(e.nr_days * NKEYS, sizeof(*e.rows));
	e.seen = calloc(e.nr_days * NKEYS, sizeof(*e.seen));
	assert_non_null(e.rows);
	assert_non_null(e.seen);
	for (s = 1; s <= back.seq; s++) {
		size_t n = rows_of(s, tz, u);
		struct ledger_snap snap;

		model(s, &snap, want_c);
		for (i = 0; i < n; i++)
			expect_add(&e, snap.taken_at, &u[i]);
	}
	assert_int_equal(ledger_scan(l, NULL, check_row, &e), 0);
	for (i = 0; i < e.nr_days * NKEYS; i++)
		if (e.rows[i].bytes && !e.seen[i])
			fail_msg("missing row %s %s %s", e.rows[i].k.day,
				 e.rows[i].k.tenant,
				 e.rows[i].k.traffic_type);
	free(e.rows);
	free(e.seen);
	ledger_snap_free(&back);
	ledger_close(l);
	tz_free(tz);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commit_reopen),
		cmocka_unit_test(test_snapshot_diffs),
		cmocka_unit_test(test_overflow),
		cmocka_unit_test(test_put_and_sum),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_ship_mark),
		cmocka_unit_test(test_crash_safety),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
