// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fleet.c - the ledger stage's fleet ledger on PostgreSQL (libpq): ship a
 * local ledger's changed day rows as idempotent upserts, and read a month back
 * for rating. See fleet.h.
 *
 * Shipping runs in the agent's loop right after the local commit, so the
 * interval is booked before the network is touched; its timeouts keep an
 * unreachable database to a few seconds of one pass, and a connection
 * that failed is dropped and made again on the next pass.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <libpq-fe.h>

#include "ledger/fleet.h"
#include "lib/log.h"

struct fleet {
	char *url;
	char shown[512];	/* url without its password */
	PGconn *conn;
	bool schema_ok;		/* the table exists on this connection */
	bool down;		/* the last attempt failed (and was logged) */
	bool tried;		/* an attempt was made */
	double retry_at;	/* CLOCK_MONOTONIC: no attempt before */
	struct ledger_usage *rows;	/* rows of the ship under way */
	size_t nr, cap;
	const char *tz;
};

static const char schema_sql[] =
	"CREATE TABLE IF NOT EXISTS " FLEET_TABLE " ("
	" host text NOT NULL,"
	" day text NOT NULL,"
	" tenant text NOT NULL,"
	" service text NOT NULL,"
	" backend text NOT NULL,"
	" traffic_type text NOT NULL,"
	" bytes bigint NOT NULL CHECK (bytes >= 0),"
	" packets bigint NOT NULL CHECK (packets >= 0),"
	" calls bigint NOT NULL CHECK (calls >= 0),"
	" unexplained_bytes bigint NOT NULL CHECK (unexplained_bytes >= 0),"
	" time_zone text NOT NULL,"
	" shipped_at timestamptz NOT NULL DEFAULT now(),"
	" PRIMARY KEY (host, day, tenant, service, backend, traffic_type))";

/* Whether libpq's option @o holds a secret: what a connect dialog would
 * hide ("*"), and the two it hides today by name, should a libpq ever
 * forget to mark them. */
static bool is_secret(const PQconninfoOption *o)
{
	return (o->dispchar && o->dispchar[0] == '*') ||
	       !strcmp(o->keyword, "password") ||
	       !strcmp(o->keyword, "sslpassword");
}

/* Append to @out (of @len, @o used) as far as it fits. */
static void put(char *out, size_t len, size_t *o, const char *s, size_t n)
{
	for (; n && *o + 1 < len; n--)
		out[(*o)++] = *s++;
}

/* key=value as libpq reads it: quoted when empty or holding blanks,
 * quotes or backslashes. */
static void put_option(char *out, size_t len, size_t *o,
		       const PQconninfoOption *opt)
{
	const char *v = opt->val;
	bool quote = !*v || strpbrk(v, " \t\n\r\f\v'\\");

	if (*o)
		put(out, len, o, " ", 1);
	put(out, len, o, opt->keyword, strlen(opt->keyword));
	put(out, len, o, "=", 1);
	if (is_secret(opt)) {
		put(out, len, o, "***", 3);
		return;
	}
	if (quote)
		put(out, len, o, "'", 1);
	for (; *v; v++) {
		if (quote && (*v == '\'' || *v == '\\'))
			put(out, len, o, "\\", 1);
		put(out, len, o, v, 1);
	}
	if (quote)
		put(out, len, o, "'", 1);
}

/* Redact; see fleet.h. */
const char *fleet_redact(const char *url, char *out, size_t len)
{
	/* Where the string says where to: first, in this order. */
	static const char *const first[] = { "host", "hostaddr", "port",
					     "dbname", "user", NULL };
	PQconninfoOption *opts, *p;
	char *err = NULL;
	size_t o = 0, i;

	if (!len)
		return out;
	opts = PQconninfoParse(url, &err);
	if (!opts) {
		/* libpq's message quotes the token it could not read, which
		 * may be the password: not shown. */
		PQfreemem(err);
		snprintf(out, len, "%s", FLEET_UNPARSABLE);
		return out;
	}
	for (i = 0; first[i]; i++)
		for (p = opts; p->keyword; p++)
			if (p->val && !strcmp(p->keyword, first[i]))
				put_option(out, len, &o, p);
	for (p = opts; p->keyword; p++) {
		for (i = 0; first[i] && strcmp(p->keyword, first[i]); i++)
			;
		if (p->val && !first[i])
			put_option(out, len, &o, p);
	}
	out[o] = '\0';
	PQconninfoFree(opts);
	return out;
}

/* Scrub; see fleet.h. */
const char *fleet_scrub(const char *url, const char *msg, char *out,
			size_t len)
{
	PQconninfoOption *opts, *p;
	char *err = NULL;
	size_t o = 0;

	if (!len)
		return out;
	opts = PQconninfoParse(url, &err);
	PQfreemem(err);
	while (*msg) {
		size_t n = 0;

		for (p = opts; p && p->keyword; p++)
			if (p->val && *p->val && is_secret(p) &&
			    !strncmp(msg, p->val, strlen(p->val))) {
				n = strlen(p->val);
				break;
			}
		if (n) {
			put(out, len, &o, "***", 3);
			msg += n;
		} else {
			put(out, len, &o, msg++, 1);
		}
	}
	out[o] = '\0';
	PQconninfoFree(opts);
	return out;
}

/* Build the upsert; see fleet.h. */
int fleet_upsert_sql(char *buf, size_t len, size_t nr)
{
	size_t i, o;
	int n;

	if (nr < 1 || nr > FLEET_BATCH)
		return -EINVAL;
	n = snprintf(buf, len,
		     "INSERT INTO " FLEET_TABLE " (host, day, tenant, service,"
		     " backend, traffic_type, bytes, packets, calls,"
		     " unexplained_bytes, time_zone) VALUES ");
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	o = n;
	for (i = 0; i < nr; i++) {
		size_t b = i * FLEET_COLS;

		n = snprintf(buf + o, len - o,
			     "%s($%zu, $%zu, $%zu, $%zu, $%zu, $%zu, $%zu::bigint,"
			     " $%zu::bigint, $%zu::bigint, $%zu::bigint, $%zu)",
			     i ? ", " : "", b + 1, b + 2, b + 3, b + 4, b + 5,
			     b + 6, b + 7, b + 8, b + 9, b + 10, b + 11);
		if (n < 0 || (size_t)n >= len - o)
			return -ENOSPC;
		o += n;
	}
	/* A row is a running total: the newer one replaces, never adds. */
	n = snprintf(buf + o, len - o,
		     " ON CONFLICT (host, day, tenant, service, backend,"
		     " traffic_type) DO UPDATE SET bytes = EXCLUDED.bytes,"
		     " packets = EXCLUDED.packets, calls = EXCLUDED.calls,"
		     " unexplained_bytes = EXCLUDED.unexplained_bytes,"
		     " time_zone = EXCLUDED.time_zone, shipped_at = now()");
	if (n < 0 || (size_t)n >= len - o)
		return -ENOSPC;
	return (int)(o + n);
}

/* The first line of libpq's message, for one-line logs, without the
 * secrets of @url, which libpq may quote. */
static const char *pq_msg(PGconn *c, const char *url, char *buf, size_t len)
{
	const char *m = c ? PQerrorMessage(c) : "out of memory";
	char line[512];

	snprintf(line, sizeof(line), "%.*s", (int)strcspn(m, "\n"), m);
	return fleet_scrub(url, line, buf, len);
}

/* Whether libpq can read @url; says so when not, without quoting it. */
static bool fleet_url_ok(const char *url)
{
	PQconninfoOption *opts;
	char *err = NULL;

	opts = PQconninfoParse(url, &err);
	PQfreemem(err);
	if (!opts) {
		pr_warn("fleet ledger: %s (libpq's reason is not shown: it "
			"quotes the string, which may hold a password; try "
			"it with psql)", FLEET_UNPARSABLE);
		return false;
	}
	PQconninfoFree(opts);
	return true;
}

/* Open a fleet ledger; see fleet.h. */
int fleet_open(struct fleet **out, const char *url)
{
	struct fleet *f;

	if (!url || !*url) {
		pr_warn("fleet ledger: empty connection string");
		return -EINVAL;
	}
	if (!fleet_url_ok(url))
		return -EINVAL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->url = strdup(url);
	if (!f->url) {
		free(f);
		return -ENOMEM;
	}
	fleet_redact(url, f->shown, sizeof(f->shown));
	*out = f;
	return 0;
}

/* Whether @url holds a secret. */
static bool has_secret(const char *url)
{
	PQconninfoOption *opts, *p;
	char *err = NULL;
	bool found = false;

	opts = PQconninfoParse(url, &err);
	PQfreemem(err);
	for (p = opts; p && p->keyword; p++)
		found |= p->val && *p->val && is_secret(p);
	PQconninfoFree(opts);
	return found;
}

/* The first line of @path, blanks at its ends stripped. */
static int read_url_file(const char *path, char **out)
{
	char buf[8192];
	struct stat st;
	size_t n;
	FILE *f;
	int err;

	f = fopen(path, "re");
	if (!f) {
		err = -errno;
		pr_warn("--ship-file '%s': %s", path, strerror(-err));
		return err;
	}
	if (!fstat(fileno(f), &st) && (st.st_mode & 0077))
		pr_warn("--ship-file '%s': readable by %s (mode %04o): the "
			"connection string's password is not secret there; "
			"chmod 600 it",
			path, st.st_mode & 0007 ? "every user" : "its group",
			(unsigned int)(st.st_mode & 07777));
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		pr_warn("--ship-file '%s': empty", path);
		return -EINVAL;
	}
	fclose(f);
	n = strcspn(buf, "\r\n");
	while (n && isspace((unsigned char)buf[n - 1]))
		n--;
	buf[n] = '\0';
	*out = strdup(buf + strspn(buf, " \t"));
	explicit_bzero(buf, sizeof(buf));
	if (!*out)
		return -ENOMEM;
	if (!**out) {
		pr_warn("--ship-file '%s': empty", path);
		free(*out);
		*out = NULL;
		return -EINVAL;
	}
	return 0;
}

/* Open from the command line, a file or the environment; see fleet.h. */
int fleet_open_from(struct fleet **out, char *arg, const char *file)
{
	char *url = NULL, *env;
	int err = 0;

	*out = NULL;
	if (arg) {
		size_t n = strlen(arg);
		char shown[512];

		url = strdup(arg);
		if (!url)
			return -ENOMEM;
		if (has_secret(url))
			pr_warn("--ship: a password on the command line is seen "
				"by every user in the process list until the "
				"agent hides it, and stays in shell histories; "
				"give it in %s or --ship-file", FLEET_ENV);
		/* What /proc/PID/cmdline shows from now on. */
		fleet_redact(url, shown, sizeof(shown));
		memset(arg, 0, n);
		memcpy(arg, shown, strnlen(shown, n));
	} else if (file) {
		err = read_url_file(file, &url);
	} else if ((env = getenv(FLEET_ENV)) && *env) {
		url = strdup(env);
		/* Out of /proc/PID/environ too. */
		explicit_bzero(env, strlen(env));
		unsetenv(FLEET_ENV);
		if (!url)
			return -ENOMEM;
	}
	if (!err && url)
		err = fleet_open(out, url);
	if (url) {
		explicit_bzero(url, strlen(url));
		free(url);
	}
	return err;
}

void fleet_close(struct fleet *f)
{
	if (!f)
		return;
	PQfinish(f->conn);
	free(f->rows);
	explicit_bzero(f->url, strlen(f->url));
	free(f->url);
	free(f);
}

/*
 * Connect with short timeouts. The connection string comes last: with
 * expand_dbname its settings override the defaults before it.
 */
static PGconn *connect_db(const char *url)
{
	const char *const keys[] = { "connect_timeout", "application_name",
				      "options", "tcp_user_timeout", "dbname",
				      NULL };
	const char *const vals[] = { "3", "tollgate",
				     "-c statement_timeout=5000", "5000", url,
				     NULL };

	return PQconnectdbParams(keys, vals, 1);
}

static bool run_ok(struct fleet *f, PGresult *r, const char *what)
{
	ExecStatusType st = PQresultStatus(r);
	char m[256];

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
		PQclear(r);
		return true;
	}
	if (!f->down)
		pr_warn("fleet ledger '%s': %s: %s", f->shown, what,
			pq_msg(f->conn, f->url, m, sizeof(m)));
	PQclear(r);
	return false;
}

static int keep(const struct ledger_usage *r, void *ctx)
{
	struct fleet *f = ctx;

	if (f->nr == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 256;
		struct ledger_usage *v = realloc(f->rows, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		f->rows = v;
		f->cap = cap;
	}
	f->rows[f->nr++] = *r;
	return 0;
}

/* Send rows [from, from + nr) in one statement. */
static bool send_batch(struct fleet *f, size_t from, size_t nr)
{
	static char sql[FLEET_BATCH * 140 + 512];
	char num[FLEET_BATCH * 4][24];
	const char *vals[FLEET_BATCH * FLEET_COLS];
	size_t i;

	if (fleet_upsert_sql(sql, sizeof(sql), nr) < 0)
		return false;
	for (i = 0; i < nr; i++) {
		const struct ledger_usage *r = &f->rows[from + i];
		const char **v = &vals[i * FLEET_COLS];
		char (*n)[24] = &num[i * 4];

		v[0] = r->k.host;
		v[1] = r->k.day;
		v[2] = r->k.tenant;
		v[3] = r->k.service;
		v[4] = r->k.backend;
		v[5] = r->k.traffic_type;
		snprintf(n[0], sizeof(n[0]), "%" PRIu64, (uint64_t)r->bytes);
		snprintf(n[1], sizeof(n[1]), "%" PRIu64, (uint64_t)r->packets);
		snprintf(n[2], sizeof(n[2]), "%" PRIu64, (uint64_t)r->calls);
		snprintf(n[3], sizeof(n[3]), "%" PRIu64,
			 (uint64_t)r->unexplained_bytes);
		v[6] = n[0];
		v[7] = n[1];
		v[8] = n[2];
		v[9] = n[3];
		v[10] = f->tz;
	}
	return run_ok(f,
		      PQexecParams(f->conn, sql, (int)(nr * FLEET_COLS), NULL,
				   vals, NULL, NULL, 0),
		      "cannot upsert usage");
}

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The database went away: say so once, with the backlog. */
static void went_down(struct fleet *f, __u64 backlog, const char *why)
{
	PQfinish(f->conn);
	f->conn = NULL;
	f->schema_ok = false;
	if (!f->down)
		pr_warn("fleet ledger '%s' unreachable (%s): shipping waits, "
			"the local ledger keeps everything (%llu rows "
			"unshipped)",
			f->shown, why, (unsigned long long)backlog);
	f->down = true;
	f->tried = true;
}

/* Ship; see fleet.h. */
int fleet_ship(struct fleet *f, struct ledger *l)
{
	struct ledger_ship st;
	__u64 upto = 0;
	char m[256];
	size_t i, n;
	int err;

	err = ledger_ship_state(l, &st);
	if (err)
		return err;
	if (!f->conn || PQstatus(f->conn) != CONNECTION_OK) {
		double t0 = mono();

		/* A refused connection costs nothing and is tried after every
		 * commit; one that timed out would cost the agent's loop
		 * seconds each time, so the next waits FLEET_BACKOFF. */
		if (t0 < f->retry_at)
			return -ECONNREFUSED;
		PQfinish(f->conn);
		f->conn = connect_db(f->url);
		if (!f->conn || PQstatus(f->conn) != CONNECTION_OK) {
			if (mono() - t0 > 1)
				f->retry_at = mono() + FLEET_BACKOFF;
			went_down(f, st.unshipped,
				  pq_msg(f->conn, f->url, m, sizeof(m)));
			return -ECONNREFUSED;
		}
		f->retry_at = 0;
	}
	if (!f->schema_ok) {
		if (!run_ok(f, PQexec(f->conn, schema_sql),
			    "cannot create table " FLEET_TABLE)) {
			went_down(f, st.unshipped, "no table");
			return -EIO;
		}
		f->schema_ok = true;
	}

	f->nr = 0;
	f->tz = ledger_time_zone(l);
	err = ledger_scan_changed(l, st.shipped_seq, &upto, keep, f);
	if (err)
		return err;
	if (f->nr) {
		if (!run_ok(f, PQexec(f->conn, "BEGIN"), "cannot begin"))
			goto fail;
		for (i = 0; i < f->nr; i += n) {
			n = f->nr - i < FLEET_BATCH ? f->nr - i : FLEET_BATCH;
			if (!send_batch(f, i, n))
				goto fail;
		}
		if (!run_ok(f, PQexec(f->conn, "COMMIT"), "cannot commit"))
			goto fail;
	}
	/* Only what PostgreSQL committed moves the mark. */
	err = ledger_mark_shipped(l, upto, time(NULL));
	if (err)
		return err;
	pr_debug("fleet ledger '%s': shipped %zu rows up to change %llu",
		 f->shown, f->nr, (unsigned long long)upto);
	if (f->down || !f->tried)
		pr_warn("fleet ledger '%s' %s: shipped %zu rows of backlog",
			f->shown, f->tried ? "reachable again" : "connected",
			f->nr);
	f->down = false;
	f->tried = true;
	f->nr = 0;
	return 0;
fail:
	went_down(f, st.unshipped, pq_msg(f->conn, f->url, m, sizeof(m)));
	f->nr = 0;
	return -EIO;
}

static bool parse_count(const char *s, __u64 *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 10);
	return !errno && *s >= '0' && *s <= '9' && !*end && *v <= INT64_MAX;
}

static bool copy_field(char *dst, size_t size, const char *s)
{
	size_t n = strlen(s);

	if (n >= size)
		return false;
	memcpy(dst, s, n + 1);
	return true;
}

/* Read rows back; see fleet.h. */
int fleet_scan(const char *url, const char *tz, const struct ledger_filter *flt,
	       int (*fn)(const struct ledger_usage *row, void *ctx), void *ctx)
{
	const char *vals[3] = {
		flt && flt->since && *flt->since ? flt->since : NULL,
		flt && flt->until && *flt->until ? flt->until : NULL,
		flt ? flt->tenant : NULL,
	};
	char shown[512], m[256], msg[160];
	PGresult *r = NULL;
	PGconn *c;
	int err = 0, i, nr;

	if (!fleet_url_ok(url))
		return -EINVAL;
	fleet_redact(url, shown, sizeof(shown));
	c = connect_db(url);
	if (!c || PQstatus(c) != CONNECTION_OK) {
		pr_warn("fleet ledger '%s': cannot connect: %s", shown,
			pq_msg(c, url, m, sizeof(m)));
		PQfinish(c);
		return -ECONNREFUSED;
	}
	r = PQexecParams(c,
			 "SELECT host, day, tenant, service, backend,"
			 " traffic_type, bytes, packets, calls,"
			 " unexplained_bytes, time_zone FROM " FLEET_TABLE
			 " WHERE ($1::text IS NULL OR day >= $1)"
			 " AND ($2::text IS NULL OR day < $2)"
			 " AND ($3::text IS NULL OR tenant = $3)"
			 " ORDER BY day, host, tenant, service, backend,"
			 " traffic_type",
			 3, NULL, vals, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		pr_warn("fleet ledger '%s': cannot read usage: %s", shown,
			pq_msg(c, url, m, sizeof(m)));
		err = -EIO;
		goto out;
	}
	nr = PQntuples(r);
	for (i = 0; i < nr && !err; i++) {
		struct ledger_usage u = {};
		bool ok;

		ok = copy_field(u.k.host, sizeof(u.k.host), PQgetvalue(r, i, 0)) &&
		     copy_field(u.k.day, sizeof(u.k.day), PQgetvalue(r, i, 1)) &&
		     copy_field(u.k.tenant, sizeof(u.k.tenant),
				PQgetvalue(r, i, 2)) &&
		     copy_field(u.k.service, sizeof(u.k.service),
				PQgetvalue(r, i, 3)) &&
		     copy_field(u.k.backend, sizeof(u.k.backend),
				PQgetvalue(r, i, 4)) &&
		     copy_field(u.k.traffic_type, sizeof(u.k.traffic_type),
				PQgetvalue(r, i, 5)) &&
		     parse_count(PQgetvalue(r, i, 6), &u.bytes) &&
		     parse_count(PQgetvalue(r, i, 7), &u.packets) &&
		     parse_count(PQgetvalue(r, i, 8), &u.calls) &&
		     parse_count(PQgetvalue(r, i, 9), &u.unexplained_bytes);
		if (!ok || ledger_key_check(&u.k, msg, sizeof(msg))) {
			pr_warn("fleet ledger '%s': a row of host '%.64s' day "
				"'%.16s' is not a record%s%s",
				shown, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
				ok ? ": " : "", ok ? msg : "");
			err = -EBADMSG;
			break;
		}
		if (tz && strcmp(PQgetvalue(r, i, 10), tz)) {
			pr_warn("fleet ledger '%s': host %s counts days in %s, "
				"not %s",
				shown, u.k.host, PQgetvalue(r, i, 10), tz);
			err = -EINVAL;
			break;
		}
		err = fn(&u, ctx);
	}
out:
	PQclear(r);
	PQfinish(c);
	return err;
}
