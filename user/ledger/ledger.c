// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ledger.c - the ledger stage: the usage ledger on SQLite: day rows of running
 * totals and the last counter snapshot, written together in one transaction.
 *
 * The file is marked as ours (application_id "TGLG", user_version = schema
 * version) and checked on every open, so a wrong, corrupt or truncated
 * file is an error and never reads as an empty ledger. Tables are STRICT:
 * a total that overflowed into a floating-point value is refused rather
 * than stored. WAL mode with synchronous=FULL: readers (export, rate) never
 * block the agent, and a committed interval survives a power cut, which
 * matters because the kernel counters it came from do not.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include "ledger/ledger.h"
#include "lib/log.h"

#define BUSY_TIMEOUT_MS 10000

enum {
	ST_HEAD,
	ST_ADD,
	ST_SNAP_PUT,
	ST_SNAP_DEL,
	ST_SNAP_CLEAR,
	ST_HEAD_PUT,
	ST_REPLACE,
	ST_MAX,
	ST_CHANGE_GET,
	ST_CHANGE_PUT,
	NR_STMTS
};

/*
 * Every write of a usage row stamps it with the number of its transaction
 * (?11, meta change_seq): the rows a fleet ledger has not seen yet are
 * those changed after meta shipped_seq.
 */
#define USAGE_UPSERT                                                           \
	"INSERT INTO usage (host, day, tenant, service, backend, "             \
	"traffic_type, bytes, packets, calls, unexplained_bytes, changed) "    \
	"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) "               \
	"ON CONFLICT DO UPDATE SET changed = excluded.changed, "

static const char *const stmt_sql[NR_STMTS] = {
	[ST_HEAD] = "SELECT seq, boot_id, generation, taken_at, nr "
		    "FROM snapshot_head WHERE id = 1",
	[ST_ADD] = USAGE_UPSERT
		   "bytes = bytes + excluded.bytes, "
		   "packets = packets + excluded.packets, "
		   "calls = calls + excluded.calls, "
		   "unexplained_bytes = unexplained_bytes + "
		   "excluded.unexplained_bytes",
	[ST_SNAP_PUT] = "INSERT OR REPLACE INTO snapshot VALUES (?1, ?2, ?3, "
			"?4)",
	[ST_SNAP_DEL] = "DELETE FROM snapshot WHERE key = ?1",
	[ST_SNAP_CLEAR] = "DELETE FROM snapshot",
	[ST_HEAD_PUT] = "UPDATE snapshot_head SET seq = ?1, boot_id = ?2, "
			"generation = ?3, taken_at = ?4, nr = ?5 WHERE id = 1",
	[ST_REPLACE] = USAGE_UPSERT
		       "bytes = excluded.bytes, packets = excluded.packets, "
		       "calls = excluded.calls, "
		       "unexplained_bytes = excluded.unexplained_bytes",
	[ST_MAX] = USAGE_UPSERT
		   "bytes = max(bytes, excluded.bytes), "
		   "packets = max(packets, excluded.packets), "
		   "calls = max(calls, excluded.calls), "
		   "unexplained_bytes = max(unexplained_bytes, "
		   "excluded.unexplained_bytes)",
	[ST_CHANGE_GET] = "SELECT CAST(value AS INTEGER) FROM meta "
			  "WHERE name = 'change_seq'",
	[ST_CHANGE_PUT] = "UPDATE meta SET value = CAST(?1 AS TEXT) "
			  "WHERE name = 'change_seq'",
};

/* What schema 2 added to schema 1: the change numbers of the rows, the
 * last one given and the last one shipped to the fleet ledger. */
#define SCHEMA_V2_SQL                                                          \
	"CREATE INDEX usage_changed ON usage (changed);"                       \
	"INSERT OR IGNORE INTO meta VALUES ('change_seq', '0'),"               \
	" ('shipped_seq', '0'), ('shipped_at', '0');"

/* The day key leads, so scans by day range read one part of the tree. */
static const char schema_sql[] =
	"CREATE TABLE meta ("
	" name TEXT PRIMARY KEY,"
	" value TEXT NOT NULL"
	") STRICT;"
	"CREATE TABLE usage ("
	" host TEXT NOT NULL,"
	" day TEXT NOT NULL,"
	" tenant TEXT NOT NULL,"
	" service TEXT NOT NULL,"
	" backend TEXT NOT NULL,"
	" traffic_type TEXT NOT NULL,"
	" bytes INTEGER NOT NULL CHECK (bytes >= 0),"
	" packets INTEGER NOT NULL CHECK (packets >= 0),"
	" calls INTEGER NOT NULL CHECK (calls >= 0),"
	" unexplained_bytes INTEGER NOT NULL CHECK (unexplained_bytes >= 0),"
	" changed INTEGER NOT NULL DEFAULT 0,"
	" PRIMARY KEY (day, host, tenant, service, backend, traffic_type)"
	") STRICT, WITHOUT ROWID;"
	/* Counters are unsigned 64-bit, stored as their two's complement. */
	"CREATE TABLE snapshot_head ("
	" id INTEGER PRIMARY KEY CHECK (id = 1),"
	" seq INTEGER NOT NULL,"
	" boot_id TEXT NOT NULL,"
	" generation INTEGER NOT NULL,"
	" taken_at INTEGER NOT NULL,"
	" nr INTEGER NOT NULL CHECK (nr >= 0)"
	") STRICT;"
	"CREATE TABLE snapshot ("
	" key BLOB PRIMARY KEY,"
	" bytes INTEGER NOT NULL,"
	" packets INTEGER NOT NULL,"
	" calls INTEGER NOT NULL"
	") STRICT, WITHOUT ROWID;"
	"INSERT INTO snapshot_head VALUES (1, 0, '', 0, 0, 0);"
	SCHEMA_V2_SQL;

struct ledger {
	sqlite3 *db;
	sqlite3_stmt *st[NR_STMTS];
	char path[4096];
	char tz[LEDGER_TZ_SIZE];
	bool in_tx;
	int version;		/* schema version of the file */
	__u64 change;		/* change number of the open transaction */
	/* The stored snapshot, sorted by key, when known: commits then
	 * write only the counters that changed. */
	struct ledger_snap cache;
	bool cache_valid;
};

/* -errno for an SQLite result code. */
static int sql_errno(sqlite3 *db, int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return 0;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EBADMSG;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_CANTOPEN:
		return db && sqlite3_system_errno(db) ?
			       -sqlite3_system_errno(db) :
			       -ENOENT;
	case SQLITE_CONSTRAINT:
		/* Non-integer values in an INTEGER column: an overflowed sum.
		 * The keys and values we bind are checked before. */
		return rc == SQLITE_CONSTRAINT_DATATYPE ? -EOVERFLOW : -EINVAL;
	case SQLITE_ERROR:
		/* sum() says so when it overflows */
		if (db && strstr(sqlite3_errmsg(db), "overflow"))
			return -EOVERFLOW;
		return -EIO;
	default:
		return -EIO;
	}
}

/* Report a failed SQLite call on @l and return its -errno. */
static int sql_fail(const struct ledger *l, int rc, const char *what)
{
	int err = sql_errno(l->db, rc);

	if (err == -EBADMSG)
		pr_warn("ledger '%s': %s: the file is corrupt or truncated (%s)",
			l->path, what, sqlite3_errmsg(l->db));
	else
		pr_warn("ledger '%s': %s: %s", l->path, what,
			l->db ? sqlite3_errmsg(l->db) : sqlite3_errstr(rc));
	return err;
}

static int exec(struct ledger *l, const char *sql, const char *what)
{
	int rc = sqlite3_exec(l->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : sql_fail(l, rc, what);
}

static sqlite3_stmt *stmt(struct ledger *l, int i)
{
	sqlite3_stmt *s = l->st[i];

	if (s) {
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
		return s;
	}
	if (sqlite3_prepare_v3(l->db, stmt_sql[i], -1,
			       SQLITE_PREPARE_PERSISTENT, &l->st[i],
			       NULL) != SQLITE_OK) {
		pr_warn("ledger '%s': cannot prepare a statement: %s", l->path,
			sqlite3_errmsg(l->db));
		return NULL;
	}
	return l->st[i];
}

/* Run a statement without result rows; SQLITE_DONE is success. */
static int step_done(struct ledger *l, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : sql_fail(l, rc, what);
}

static int pragma_int(struct ledger *l, const char *sql, sqlite3_int64 *v)
{
	sqlite3_stmt *s;
	int rc;

	rc = sqlite3_prepare_v2(l->db, sql, -1, &s, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW)
			*v = sqlite3_column_int64(s, 0);
	}
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_OK ? SQLITE_CORRUPT : rc;
}

static void ledger_free(struct ledger *l)
{
	int i;

	if (!l)
		return;
	for (i = 0; i < NR_STMTS; i++)
		sqlite3_finalize(l->st[i]);
	if (l->db && l->in_tx)
		sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(l->db);
	ledger_snap_free(&l->cache);
	free(l);
}

/* Close a ledger; see ledger.h. */
void ledger_close(struct ledger *l)
{
	ledger_free(l);
}

const char *ledger_path(const struct ledger *l)
{
	return l->path;
}

const char *ledger_time_zone(const struct ledger *l)
{
	return l->tz;
}

static int write_schema(struct ledger *l, const char *tz)
{
	char sql[256];
	int err;

	snprintf(sql, sizeof(sql),
		 "PRAGMA application_id = %d; PRAGMA user_version = %d;",
		 LEDGER_APPLICATION_ID, LEDGER_SCHEMA_VERSION);
	err = exec(l, "BEGIN", "cannot create the schema");
	if (!err)
		err = exec(l, sql, "cannot create the schema");
	if (!err)
		err = exec(l, schema_sql, "cannot create the schema");
	if (!err) {
		sqlite3_stmt *s;
		int rc;

		rc = sqlite3_prepare_v2(l->db,
					"INSERT INTO meta VALUES "
					"('time_zone', ?1), ('created', ?2)",
					-1, &s, NULL);
		if (rc == SQLITE_OK) {
			sqlite3_bind_text(s, 1, tz, -1, SQLITE_STATIC);
			sqlite3_bind_int64(s, 2, time(NULL));
			rc = sqlite3_step(s);
			rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
		}
		sqlite3_finalize(s);
		if (rc != SQLITE_OK)
			err = sql_fail(l, rc, "cannot create the schema");
	}
	if (!err)
		err = exec(l, "COMMIT", "cannot create the schema");
	else
		sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
	if (!err)
		snprintf(l->tz, sizeof(l->tz), "%s", tz);
	return err;
}

static int fsync_path(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC), err = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd))
		err = -errno;
	close(fd);
	return err;
}

/*
 * Create the ledger at @path: build it under a temporary name, flush it,
 * then link it into place, so that a crash leaves no half-made ledger. A
 * ledger that appeared meanwhile is kept (link() does not replace).
 *
 * The file is made 0600 whatever the umask, before SQLite writes a byte
 * to it: it holds every tenant's usage. SQLite gives its -journal, -wal
 * and -shm files the mode of the database file.
 */
static int create_file(const char *path, const char *tz)
{
	struct ledger tmp = {};
	char name[4200], dir[4096];
	int err, rc, fd;

	snprintf(name, sizeof(name), "%s.new-%d", path, (int)getpid());
	snprintf(tmp.path, sizeof(tmp.path), "%s", path);
	unlink(name);
	fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || fchmod(fd, 0600)) {
		err = -errno;
		pr_warn("ledger '%s': cannot create '%s': %s", path, name,
			strerror(-err));
		if (fd >= 0) {
			close(fd);
			unlink(name);
		}
		return err;
	}
	close(fd);
	rc = sqlite3_open_v2(name, &tmp.db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		err = sql_errno(tmp.db, rc);
		pr_warn("ledger '%s': cannot create '%s': %s", path, name,
			tmp.db ? sqlite3_errmsg(tmp.db) : sqlite3_errstr(rc));
		sqlite3_close(tmp.db);
		unlink(name);
		return err;
	}
	err = write_schema(&tmp, tz);
	if (sqlite3_close(tmp.db) != SQLITE_OK && !err)
		err = -EIO;
	if (!err)
		err = fsync_path(name, O_RDONLY);
	if (!err && link(name, path) && errno != EEXIST)
		err = -errno;
	unlink(name);
	if (!err) {
		snprintf(dir, sizeof(dir), "%s", path);
		err = fsync_path(dirname(dir), O_RDONLY | O_DIRECTORY);
	}
	if (err)
		pr_warn("ledger '%s': cannot create it: %s", path,
			strerror(-err));
	return err;
}

/* Is this our file, of a schema we know, and sound? */
static int check_file(struct ledger *l)
{
	sqlite3_int64 app = 0, ver = 0;
	sqlite3_stmt *s = NULL;
	int rc;

	rc = pragma_int(l, "PRAGMA application_id", &app);
	if (rc != SQLITE_OK) {
		if ((rc & 0xff) == SQLITE_NOTADB) {
			pr_warn("ledger '%s': not a tollgate ledger: not an "
				"SQLite database (or its header is damaged)",
				l->path);
			return -EBADMSG;
		}
		return sql_fail(l, rc, "cannot open");
	}
	if (app != LEDGER_APPLICATION_ID) {
		pr_warn("ledger '%s': not a tollgate ledger: an SQLite database "
			"with application_id %#llx, not %#x",
			l->path, (unsigned long long)app,
			LEDGER_APPLICATION_ID);
		return -EPROTO;
	}
	rc = pragma_int(l, "PRAGMA user_version", &ver);
	if (rc != SQLITE_OK)
		return sql_fail(l, rc, "cannot read the schema version");
	if (ver > LEDGER_SCHEMA_VERSION) {
		pr_warn("ledger '%s': schema version %lld is newer than this "
			"tollgate's (%d); upgrade tollgate",
			l->path, (long long)ver, LEDGER_SCHEMA_VERSION);
		return -ENOTSUP;
	}
	if (ver < 1) {
		pr_warn("ledger '%s': not a tollgate ledger: no schema version",
			l->path);
		return -EPROTO;
	}
	l->version = (int)ver;

	/* quick_check reads every page: a truncated or scribbled file
	 * fails here, before anyone takes its totals for the truth. */
	rc = sqlite3_prepare_v2(l->db, "PRAGMA quick_check(1)", -1, &s, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW &&
	    strcmp((const char *)sqlite3_column_text(s, 0), "ok")) {
		pr_warn("ledger '%s': the file is corrupt or truncated "
			"(quick_check: %s)",
			l->path, sqlite3_column_text(s, 0));
		sqlite3_finalize(s);
		return -EBADMSG;
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW)
		return sql_fail(l, rc, "cannot check the file");

	rc = sqlite3_prepare_v2(l->db,
				"SELECT value FROM meta WHERE name = "
				"'time_zone'",
				-1, &s, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		snprintf(l->tz, sizeof(l->tz), "%s",
			 (const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	if (rc == SQLITE_DONE) {
		pr_warn("ledger '%s': the file is damaged: no time zone",
			l->path);
		return -EBADMSG;
	}
	if (rc != SQLITE_ROW)
		return sql_fail(l, rc, "cannot read the time zone");
	return 0;
}

/*
 * Schema 1 to 2: every row is stamped change 1 and nothing is shipped, so
 * a fleet ledger configured later receives the whole history.
 */
static int migrate(struct ledger *l)
{
	int err;

	err = exec(l, "BEGIN IMMEDIATE", "cannot upgrade the schema");
	if (err)
		return err;
	err = exec(l,
		   "ALTER TABLE usage ADD COLUMN changed INTEGER NOT NULL "
		   "DEFAULT 1;" SCHEMA_V2_SQL
		   "UPDATE meta SET value = '1' WHERE name = 'change_seq';"
		   "PRAGMA user_version = 2;",
		   "cannot upgrade the schema from version 1");
	if (!err)
		err = exec(l, "COMMIT", "cannot upgrade the schema");
	if (err) {
		sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
		return err;
	}
	pr_info("ledger '%s': schema upgraded from version 1 to 2", l->path);
	l->version = 2;
	return 0;
}

static struct ledger *ledger_alloc(const char *path)
{
	struct ledger *l = calloc(1, sizeof(*l));

	if (l)
		snprintf(l->path, sizeof(l->path), "%s", path);
	return l;
}

/* Open or create a ledger file; see ledger.h. */
int ledger_open(struct ledger **out, const char *path, unsigned int flags,
		const char *tz)
{
	bool rdonly = flags & LEDGER_RDONLY;
	struct ledger *l;
	struct stat st;
	int err, rc;

	if (stat(path, &st)) {
		err = -errno;
		if (err != -ENOENT || rdonly || !(flags & LEDGER_CREATE)) {
			pr_warn("ledger '%s': %s", path, strerror(-err));
			return err;
		}
		err = create_file(path, tz ? tz : TG_DEFAULT_TIME_ZONE);
		if (err)
			return err;
		if (stat(path, &st))
			return -errno;
	}
	if (!S_ISREG(st.st_mode)) {
		pr_warn("ledger '%s': not a regular file", path);
		return -EINVAL;
	}

	if (st.st_size == 0) {
		/* SQLite would take an empty file for an empty database. */
		pr_warn("ledger '%s': not a tollgate ledger: the file is empty",
			path);
		return -EBADMSG;
	}

	l = ledger_alloc(path);
	if (!l)
		return -ENOMEM;
	rc = sqlite3_open_v2(path, &l->db,
			     rdonly ? SQLITE_OPEN_READONLY :
				      SQLITE_OPEN_READWRITE,
			     NULL);
	if (rc != SQLITE_OK) {
		err = sql_fail(l, rc, "cannot open");
		goto fail;
	}
	sqlite3_extended_result_codes(l->db, 1);
	sqlite3_busy_timeout(l->db, BUSY_TIMEOUT_MS);
	err = check_file(l);
	if (err)
		goto fail;
	if (!rdonly) {
		sqlite3_int64 dummy;

		/* The answer to journal_mode is a word, not a number: read
		 * it back through a query that yields one. */
		err = exec(l, "PRAGMA journal_mode = WAL",
			   "cannot use WAL mode");
		if (!err && (rc = pragma_int(l,
					     "SELECT 1 FROM pragma_journal_mode "
					     "WHERE journal_mode = 'wal'",
					     &dummy)) != SQLITE_OK) {
			pr_warn("ledger '%s': cannot use WAL mode", path);
			err = -EIO;
		}
		if (!err)
			err = exec(l, "PRAGMA synchronous = FULL",
				   "cannot set synchronous mode");
		if (!err && l->version < LEDGER_SCHEMA_VERSION)
			err = migrate(l);
		if (err)
			goto fail;
	}
	if (tz && strcmp(tz, l->tz)) {
		pr_warn("ledger '%s': counts days in time zone %s, not %s",
			path, l->tz, tz);
		err = -EINVAL;
		goto fail;
	}
	/* Made 0600 by tollgate; an older one, or one copied, may not be. */
	if (!rdonly && (st.st_mode & S_IROTH))
		pr_warn("ledger '%s': every user may read it (mode %04o), and "
			"with it every tenant's usage: chmod 600 it",
			path, (unsigned int)(st.st_mode & 07777));
	*out = l;
	return 0;
fail:
	ledger_free(l);
	return err;
}

/* A private scratch ledger; see ledger.h. */
int ledger_open_scratch(struct ledger **out)
{
	struct ledger *l = ledger_alloc("(scratch)");
	int err, rc;

	if (!l)
		return -ENOMEM;
	/* "": a temporary file that SQLite deletes on close; large merges
	 * spill to disk instead of memory. */
	rc = sqlite3_open_v2("", &l->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		err = sql_fail(l, rc, "cannot open");
		ledger_free(l);
		return err;
	}
	sqlite3_extended_result_codes(l->db, 1);
	err = write_schema(l, "");
	l->version = LEDGER_SCHEMA_VERSION;
	if (err) {
		ledger_free(l);
		return err;
	}
	*out = l;
	return 0;
}

/* Free a snapshot; see ledger.h. */
void ledger_snap_free(struct ledger_snap *s)
{
	free(s->ctrs);
	memset(s, 0, sizeof(*s));
}

static int cmp_counter(const void *pa, const void *pb)
{
	const struct ledger_counter *a = pa, *b = pb;
	__u32 n = a->key_len < b->key_len ? a->key_len : b->key_len;
	int c = memcmp(a->key, b->key, n);

	if (c)
		return c;
	return a->key_len < b->key_len ? -1 : a->key_len > b->key_len;
}

static bool same_counts(const struct ledger_counter *a,
			const struct ledger_counter *b)
{
	return a->bytes == b->bytes && a->packets == b->packets &&
	       a->calls == b->calls;
}

/* Read the head row: seq, boot id, generation, time, count. */
static int read_head(struct ledger *l, struct ledger_snap *s,
		     sqlite3_int64 *nr)
{
	sqlite3_stmt *st = stmt(l, ST_HEAD);
	const char *boot;
	int rc;

	if (!st)
		return -EIO;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		if (rc == SQLITE_DONE) {
			pr_warn("ledger '%s': the file is damaged: no snapshot "
				"head",
				l->path);
			return -EBADMSG;
		}
		return sql_fail(l, rc, "cannot read the snapshot");
	}
	s->seq = sqlite3_column_int64(st, 0);
	boot = (const char *)sqlite3_column_text(st, 1);
	snprintf(s->boot_id, sizeof(s->boot_id), "%s", boot ? boot : "");
	s->generation = sqlite3_column_int64(st, 2);
	s->taken_at = sqlite3_column_int64(st, 3);
	*nr = sqlite3_column_int64(st, 4);
	sqlite3_reset(st);
	return 0;
}

static int snap_copy(struct ledger_snap *dst, const struct ledger_snap *src)
{
	struct ledger_counter *c = NULL;

	if (src->nr) {
		c = malloc(src->nr * sizeof(*c));
		if (!c)
			return -ENOMEM;
		memcpy(c, src->ctrs, src->nr * sizeof(*c));
	}
	ledger_snap_free(dst);
	*dst = *src;
	dst->ctrs = c;
	return 0;
}

/* Read the last snapshot; see ledger.h. */
int ledger_last_snapshot(struct ledger *l, struct ledger_snap *s)
{
	struct ledger_snap r = {};
	sqlite3_stmt *st = NULL;
	sqlite3_int64 nr;
	size_t n = 0;
	int err, rc;

	/* One read transaction: head and rows of the same commit. */
	err = l->in_tx ? 0 : exec(l, "BEGIN", "cannot read the snapshot");
	if (err)
		return err;
	err = read_head(l, &r, &nr);
	if (err)
		goto out;
	if (nr < 0 || (__u64)nr > SIZE_MAX / sizeof(*r.ctrs)) {
		err = -EBADMSG;
		goto out;
	}
	r.ctrs = calloc(nr ? nr : 1, sizeof(*r.ctrs));
	if (!r.ctrs) {
		err = -ENOMEM;
		goto out;
	}
	rc = sqlite3_prepare_v2(l->db,
				"SELECT key, bytes, packets, calls FROM "
				"snapshot ORDER BY key",
				-1, &st, NULL);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int len = sqlite3_column_bytes(st, 0);
		struct ledger_counter *c = &r.ctrs[n];

		if (n >= (size_t)nr || len < 1 || len > LEDGER_SNAP_KEY_MAX ||
		    sqlite3_column_type(st, 0) != SQLITE_BLOB) {
			rc = SQLITE_CORRUPT;
			break;
		}
		memcpy(c->key, sqlite3_column_blob(st, 0), len);
		c->key_len = len;
		c->bytes = sqlite3_column_int64(st, 1);
		c->packets = sqlite3_column_int64(st, 2);
		c->calls = sqlite3_column_int64(st, 3);
		n++;
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_CORRUPT || (rc == SQLITE_DONE && n != (size_t)nr)) {
		pr_warn("ledger '%s': the stored snapshot does not add up "
			"(%zu counters, the head says %lld)",
			l->path, n, (long long)nr);
		err = -EBADMSG;
	} else if (rc != SQLITE_DONE) {
		err = sql_fail(l, rc, "cannot read the snapshot");
	}
	r.nr = n;
out:
	if (!l->in_tx)
		sqlite3_exec(l->db, "COMMIT", NULL, NULL, NULL);
	if (err) {
		ledger_snap_free(&r);
		return err;
	}
	if (!snap_copy(&l->cache, &r))
		l->cache_valid = true;
	*s = r;
	return 0;
}

static void bind_key(sqlite3_stmt *st, const struct ledger_key *k)
{
	sqlite3_bind_text(st, 1, k->host, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, k->day, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, k->tenant, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, k->service, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, k->backend, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, k->traffic_type, -1, SQLITE_STATIC);
}

/*
 * Number the write transaction just begun: its rows are stamped with it.
 * The counter is in the file, so it only grows, across restarts too.
 */
static int next_change(struct ledger *l)
{
	sqlite3_stmt *st = stmt(l, ST_CHANGE_GET);
	sqlite3_int64 v = -1;
	int rc;

	if (!st)
		return -EIO;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sql_fail(l, rc, "cannot read the change number");
	if (v < 0 || v == INT64_MAX) {
		pr_warn("ledger '%s': the file is damaged: no change number",
			l->path);
		return -EBADMSG;
	}
	l->change = (__u64)v + 1;
	st = stmt(l, ST_CHANGE_PUT);
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)l->change);
	return step_done(l, st, "cannot store the change number");
}

/* Check and bind one row to an INSERT of the usage table. */
static int bind_row(struct ledger *l, sqlite3_stmt *st,
		    const struct ledger_usage *row)
{
	char msg[160];

	if (ledger_key_check(&row->k, msg, sizeof(msg))) {
		pr_warn("ledger '%s': bad row: %s", l->path, msg);
		return -EINVAL;
	}
	if (row->bytes > INT64_MAX || row->packets > INT64_MAX ||
	    row->calls > INT64_MAX || row->unexplained_bytes > INT64_MAX) {
		pr_warn("ledger '%s': a counter of host %s day %s is larger "
			"than %lld",
			l->path, row->k.host, row->k.day, (long long)INT64_MAX);
		return -EOVERFLOW;
	}
	bind_key(st, &row->k);
	sqlite3_bind_int64(st, 7, row->bytes);
	sqlite3_bind_int64(st, 8, row->packets);
	sqlite3_bind_int64(st, 9, row->calls);
	sqlite3_bind_int64(st, 10, row->unexplained_bytes);
	sqlite3_bind_int64(st, 11, (sqlite3_int64)l->change);
	return 0;
}

static int snap_put(struct ledger *l, const struct ledger_counter *c)
{
	sqlite3_stmt *st = stmt(l, ST_SNAP_PUT);

	if (!st)
		return -EIO;
	sqlite3_bind_blob(st, 1, c->key, c->key_len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)c->bytes);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)c->packets);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)c->calls);
	return step_done(l, st, "cannot store the snapshot");
}

static int snap_del(struct ledger *l, const struct ledger_counter *c)
{
	sqlite3_stmt *st = stmt(l, ST_SNAP_DEL);

	if (!st)
		return -EIO;
	sqlite3_bind_blob(st, 1, c->key, c->key_len, SQLITE_STATIC);
	return step_done(l, st, "cannot store the snapshot");
}

/*
 * Replace the stored counters by @n (sorted): when the cache holds the
 * stored ones, write only the differences (most peers are idle in most
 * intervals), else everything.
 */
static int store_counters(struct ledger *l, const struct ledger_counter *n,
			  size_t nr, bool cached)
{
	const struct ledger_counter *o = l->cache.ctrs;
	size_t i = 0, j = 0, nr_old = l->cache.nr;
	sqlite3_stmt *st;
	int err = 0;

	if (!cached) {
		st = stmt(l, ST_SNAP_CLEAR);
		err = st ? step_done(l, st, "cannot store the snapshot") : -EIO;
		for (; !err && i < nr; i++)
			err = snap_put(l, &n[i]);
		return err;
	}
	while (!err && (i < nr || j < nr_old)) {
		int c = i == nr ? 1 : j == nr_old ? -1 :
						    cmp_counter(&n[i], &o[j]);

		if (c < 0) {
			err = snap_put(l, &n[i++]);
		} else if (c > 0) {
			err = snap_del(l, &o[j++]);
		} else {
			if (!same_counts(&n[i], &o[j]))
				err = snap_put(l, &n[i]);
			i++;
			j++;
		}
	}
	return err;
}

static int check_snap(struct ledger *l, const struct ledger_snap *snap,
		      const struct ledger_counter *sorted)
{
	size_t i;

	if (!memchr(snap->boot_id, '\0', sizeof(snap->boot_id)) ||
	    snap->seq == 0 || snap->seq > INT64_MAX) {
		pr_warn("ledger '%s': bad snapshot (boot id or seq)", l->path);
		return -EINVAL;
	}
	for (i = 0; i < snap->nr; i++) {
		if (!sorted[i].key_len ||
		    sorted[i].key_len > LEDGER_SNAP_KEY_MAX ||
		    (i && !cmp_counter(&sorted[i - 1], &sorted[i]))) {
			pr_warn("ledger '%s': bad snapshot: empty, long or "
				"duplicate key",
				l->path);
			return -EINVAL;
		}
	}
	return 0;
}

/* Commit one interval; see ledger.h. */
int ledger_commit(struct ledger *l, const struct ledger_usage *rows, size_t nr,
		  const struct ledger_snap *snap)
{
	struct ledger_snap stored = {}, next = {};
	sqlite3_int64 stored_nr;
	sqlite3_stmt *st;
	bool cached;
	size_t i;
	int err;

	if (l->in_tx)
		return -EBUSY;
	err = snap_copy(&next, snap);
	if (err)
		return err;
	if (next.nr)
		qsort(next.ctrs, next.nr, sizeof(*next.ctrs), cmp_counter);
	err = check_snap(l, &next, next.ctrs);
	if (err)
		goto out;

	/* IMMEDIATE: take the write lock now, so that the seq read below
	 * is still the stored one when we write. */
	err = exec(l, "BEGIN IMMEDIATE", "cannot begin a commit");
	if (err)
		goto out;
	l->in_tx = true;
	err = read_head(l, &stored, &stored_nr);
	if (!err)
		err = next_change(l);
	if (err)
		goto rollback;
	if (stored.seq + 1 != snap->seq) {
		pr_warn("ledger '%s': snapshot %llu is stored, the deltas "
			"were computed from %llu",
			l->path, (unsigned long long)stored.seq,
			(unsigned long long)snap->seq - 1);
		err = -ESTALE;
		goto rollback;
	}

	for (i = 0; i < nr; i++) {
		const struct ledger_usage *r = &rows[i];

		if (!r->bytes && !r->packets && !r->calls &&
		    !r->unexplained_bytes)
			continue;
		st = stmt(l, ST_ADD);
		if (!st) {
			err = -EIO;
			goto rollback;
		}
		err = bind_row(l, st, r);
		if (!err)
			err = step_done(l, st, "cannot add usage");
		if (err == -EOVERFLOW)
			pr_warn("ledger '%s': the total of host %s day %s "
				"tenant '%s' %s would pass %lld",
				l->path, r->k.host, r->k.day, r->k.tenant,
				r->k.traffic_type, (long long)INT64_MAX);
		if (err)
			goto rollback;
	}

	cached = l->cache_valid && l->cache.seq == stored.seq &&
		 l->cache.nr == (size_t)stored_nr;
	err = store_counters(l, next.ctrs, next.nr, cached);
	if (err)
		goto rollback;
	st = stmt(l, ST_HEAD_PUT);
	if (!st) {
		err = -EIO;
		goto rollback;
	}
	sqlite3_bind_int64(st, 1, (sqlite3_int64)snap->seq);
	sqlite3_bind_text(st, 2, snap->boot_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)snap->generation);
	sqlite3_bind_int64(st, 4, snap->taken_at);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)snap->nr);
	err = step_done(l, st, "cannot store the snapshot");
	if (err)
		goto rollback;
	err = exec(l, "COMMIT", "cannot commit");
	if (err)
		goto rollback;
	l->in_tx = false;
	ledger_snap_free(&l->cache);
	l->cache = next;
	l->cache_valid = true;
	return 0;

rollback:
	sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
	l->in_tx = false;
	l->cache_valid = false;
out:
	ledger_snap_free(&next);
	return err;
}

/* Transactions for ledger_put(); see ledger.h. */
int ledger_begin(struct ledger *l)
{
	int err;

	if (l->in_tx)
		return -EBUSY;
	err = exec(l, "BEGIN IMMEDIATE", "cannot begin a transaction");
	if (err)
		return err;
	err = next_change(l);
	if (err) {
		sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
		return err;
	}
	l->in_tx = true;
	return 0;
}

int ledger_end(struct ledger *l, bool commit)
{
	int err = 0;

	if (!l->in_tx)
		return -EINVAL;
	if (commit)
		err = exec(l, "COMMIT", "cannot commit");
	if (!commit || err)
		sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
	l->in_tx = false;
	return err;
}

/* Write one day row; see ledger.h. */
int ledger_put(struct ledger *l, const struct ledger_usage *row,
	       enum ledger_put_mode mode)
{
	sqlite3_stmt *st = stmt(l, mode == LEDGER_MAX ? ST_MAX : ST_REPLACE);
	int err;

	if (!st)
		return -EIO;
	err = bind_row(l, st, row);
	if (!err)
		err = step_done(l, st, "cannot write usage");
	return err;
}

/* Copy text column @i into @dst of @size bytes; false when it is too long
 * or not text. */
static bool col_text(sqlite3_stmt *st, int i, char *dst, size_t size)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	int len = sqlite3_column_bytes(st, i);

	if (!t || len < 0 || (size_t)len >= size)
		return false;
	memcpy(dst, t, len + 1);
	return true;
}

static int scan(struct ledger *l, const char *sql, bool keyed,
		const struct ledger_filter *f, sqlite3_int64 changed_after,
		int (*fn)(const struct ledger_usage *row, void *ctx), void *ctx)
{
	sqlite3_stmt *st;
	int rc, err = 0;

	rc = sqlite3_prepare_v2(l->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sql_fail(l, rc, "cannot read usage");
	if (f && f->since && *f->since)
		sqlite3_bind_text(st, 1, f->since, -1, SQLITE_STATIC);
	if (f && f->until && *f->until)
		sqlite3_bind_text(st, 2, f->until, -1, SQLITE_STATIC);
	if (f && f->tenant)
		sqlite3_bind_text(st, 3, f->tenant, -1, SQLITE_STATIC);
	if (sqlite3_bind_parameter_count(st) >= 4)
		sqlite3_bind_int64(st, 4, changed_after);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct ledger_usage r = {};
		sqlite3_int64 v[4];
		int i;

		for (i = 0; i < 4; i++) {
			v[i] = sqlite3_column_int64(st, 6 + i);
			if (v[i] < 0 ||
			    sqlite3_column_type(st, 6 + i) != SQLITE_INTEGER)
				break;
		}
		if (i < 4 || !col_text(st, 0, r.k.host, sizeof(r.k.host)) ||
		    !col_text(st, 1, r.k.day, sizeof(r.k.day)) ||
		    !col_text(st, 2, r.k.tenant, sizeof(r.k.tenant)) ||
		    !col_text(st, 3, r.k.service, sizeof(r.k.service)) ||
		    !col_text(st, 4, r.k.backend, sizeof(r.k.backend)) ||
		    !col_text(st, 5, r.k.traffic_type,
			      sizeof(r.k.traffic_type))) {
			pr_warn("ledger '%s': a usage row is damaged (day %s)",
				l->path, sqlite3_column_text(st, 1));
			err = -EBADMSG;
			break;
		}
		if (keyed) {
			char msg[160];

			if (ledger_key_check(&r.k, msg, sizeof(msg))) {
				pr_warn("ledger '%s': a usage row is damaged: "
					"%s",
					l->path, msg);
				err = -EBADMSG;
				break;
			}
		}
		r.bytes = v[0];
		r.packets = v[1];
		r.calls = v[2];
		r.unexplained_bytes = v[3];
		err = fn(&r, ctx);
		if (err)
			break;
	}
	if (!err && rc != SQLITE_DONE)
		err = sql_fail(l, rc, "cannot read usage");
	sqlite3_finalize(st);
	return err;
}

#define FILTER_SQL                                                             \
	" WHERE (?1 IS NULL OR day >= ?1) AND (?2 IS NULL OR day < ?2)"        \
	" AND (?3 IS NULL OR tenant = ?3)"

/* Visit day rows; see ledger.h. */
int ledger_scan(struct ledger *l, const struct ledger_filter *f,
		int (*fn)(const struct ledger_usage *row, void *ctx), void *ctx)
{
	return scan(l,
		    "SELECT host, day, tenant, service, backend, traffic_type,"
		    " bytes, packets, calls, unexplained_bytes FROM usage"
		    FILTER_SQL
		    " ORDER BY day, host, tenant, service, backend,"
		    " traffic_type",
		    true, f, 0, fn, ctx);
}

/* Day rows summed per tenant, day and traffic type; see ledger.h. */
int ledger_sum(struct ledger *l, const struct ledger_filter *f,
	       int (*fn)(const struct ledger_usage *row, void *ctx), void *ctx)
{
	return scan(l,
		    "SELECT '', day, tenant, '', '', traffic_type,"
		    " sum(bytes), sum(packets), sum(calls),"
		    " sum(unexplained_bytes) FROM usage" FILTER_SQL
		    " GROUP BY tenant, day, traffic_type"
		    " ORDER BY tenant, day, traffic_type",
		    false, f, 0, fn, ctx);
}

static int meta_int(struct ledger *l, const char *name, sqlite3_int64 *v)
{
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(l->db,
				"SELECT CAST(value AS INTEGER) FROM meta "
				"WHERE name = ?1",
				-1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			*v = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE) {
		pr_warn("ledger '%s': the file is damaged: no %s", l->path,
			name);
		return -EBADMSG;
	}
	return rc == SQLITE_ROW ? 0 : sql_fail(l, rc, "cannot read meta");
}

static int need_v2(struct ledger *l)
{
	if (l->version >= 2)
		return 0;
	pr_warn("ledger '%s': schema version %d keeps no shipping state; "
		"open it read-write once (the agent does) to upgrade it",
		l->path, l->version);
	return -ENOTSUP;
}

/* The fleet ledger's high-water mark; see ledger.h. */
int ledger_ship_state(struct ledger *l, struct ledger_ship *s)
{
	sqlite3_int64 change = 0, shipped = 0, at = 0, n = 0;
	sqlite3_stmt *st;
	int err, rc;

	err = need_v2(l);
	if (err)
		return err;
	err = l->in_tx ? 0 : exec(l, "BEGIN", "cannot read the ship state");
	if (err)
		return err;
	err = meta_int(l, "change_seq", &change);
	if (!err)
		err = meta_int(l, "shipped_seq", &shipped);
	if (!err)
		err = meta_int(l, "shipped_at", &at);
	if (!err) {
		rc = sqlite3_prepare_v2(l->db,
					"SELECT count(*) FROM usage WHERE "
					"changed > ?1",
					-1, &st, NULL);
		if (rc == SQLITE_OK) {
			sqlite3_bind_int64(st, 1, shipped);
			rc = sqlite3_step(st);
			if (rc == SQLITE_ROW)
				n = sqlite3_column_int64(st, 0);
		}
		sqlite3_finalize(st);
		if (rc != SQLITE_ROW)
			err = sql_fail(l, rc, "cannot count unshipped rows");
	}
	if (!l->in_tx)
		sqlite3_exec(l->db, "COMMIT", NULL, NULL, NULL);
	if (err)
		return err;
	s->change_seq = change;
	s->shipped_seq = shipped;
	s->shipped_at = at;
	s->unshipped = n;
	return 0;
}

/* Rows changed after a change number; see ledger.h. */
int ledger_scan_changed(struct ledger *l, __u64 after, __u64 *upto,
			int (*fn)(const struct ledger_usage *row, void *ctx),
			void *ctx)
{
	sqlite3_int64 change = 0;
	int err;

	err = need_v2(l);
	if (err)
		return err;
	if (after > INT64_MAX)
		return -EINVAL;
	/* One read transaction: the rows and the number they go up to. */
	err = l->in_tx ? 0 : exec(l, "BEGIN", "cannot read usage");
	if (err)
		return err;
	err = meta_int(l, "change_seq", &change);
	if (!err)
		err = scan(l,
			   "SELECT host, day, tenant, service, backend,"
			   " traffic_type, bytes, packets, calls,"
			   " unexplained_bytes FROM usage WHERE changed > ?4"
			   " ORDER BY changed, day, host, tenant, service,"
			   " backend, traffic_type",
			   true, NULL, (sqlite3_int64)after, fn, ctx);
	if (!l->in_tx)
		sqlite3_exec(l->db, "COMMIT", NULL, NULL, NULL);
	if (!err)
		*upto = change;
	return err;
}

/* Move the high-water mark; see ledger.h. */
int ledger_mark_shipped(struct ledger *l, __u64 upto, __s64 at)
{
	sqlite3_stmt *st;
	int err, rc;

	err = need_v2(l);
	if (err)
		return err;
	if (l->in_tx)
		return -EBUSY;
	if (upto > INT64_MAX)
		return -EINVAL;
	err = exec(l, "BEGIN IMMEDIATE", "cannot store the ship state");
	if (err)
		return err;
	/* Never backwards: a mark only grows. */
	rc = sqlite3_prepare_v2(l->db,
				"UPDATE meta SET value = CASE name"
				" WHEN 'shipped_seq' THEN CAST(max(CAST(value AS"
				" INTEGER), ?1) AS TEXT)"
				" ELSE CAST(?2 AS TEXT) END"
				" WHERE name IN ('shipped_seq', 'shipped_at')",
				-1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, (sqlite3_int64)upto);
		sqlite3_bind_int64(st, 2, at);
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		err = sql_fail(l, rc, "cannot store the ship state");
		sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
		return err;
	}
	return exec(l, "COMMIT", "cannot store the ship state");
}
