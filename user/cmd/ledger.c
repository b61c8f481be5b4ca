// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ledger.c - `tollgate ledger export|import`: the ledger's day records as
 * JSON lines or CSV, out and in (ledger/records.c reads and writes them).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/opts.h"
#include "ledger/records.h"
#include "ledger/tz.h"
#include "lib/log.h"

static const char ledger_usage[] =
	"Usage: tollgate ledger export [--ledger FILE] [--format jsonl|csv]\n"
	"                              [--since DAY] [--until DAY] "
	"[--tenant T]\n"
	"       tollgate ledger import [--ledger FILE] [--format jsonl|csv]\n"
	"                              [--time-zone TZ] INPUT...\n"
	"\n"
	"The ledger holds one record per host, natural day, tenant, service,\n"
	"backend and traffic type, with that day's running totals: bytes,\n"
	"packets, calls, unexplained_bytes. A record written twice overwrites,\n"
	"never adds: exports can be re-sent and imports re-run.\n"
	"\n"
	"export  prints the records, oldest day first, as JSON lines (default)\n"
	"        or CSV with a header line\n"
	"import  upserts records from files (or - for standard input) of\n"
	"        other hosts, backfills or corrections, in one transaction:\n"
	"        a malformed line is reported as FILE:LINE: field: message and\n"
	"        nothing is imported. A missing ledger is created. Prints how\n"
	"        many records it imported from how many inputs.\n"
	"\n"
	"Options:\n"
	"  -l, --ledger FILE    the ledger (default " TG_DEFAULT_LEDGER ")\n"
	"  -f, --format jsonl|csv\n"
	"                       export: output format (default jsonl); import:\n"
	"                       input format (default: by the first character)\n"
	"  -s, --since DAY      export: days from DAY on (YYYY-MM-DD)\n"
	"  -u, --until DAY      export: days before DAY\n"
	"  -t, --tenant T       export: only tenant T\n"
	"  -z, --time-zone TZ   import: time zone of a new ledger (default\n"
	"                       " TG_DEFAULT_TIME_ZONE "); an existing one must "
	"match\n"
	"  -h, --help           this help\n"
	"\n"
	"Examples:\n"
	"  tollgate ledger export --since 2024-06-01 > gw1.jsonl\n"
	"  tollgate ledger export --format csv --tenant acme\n"
	"  tollgate ledger import --ledger /srv/fleet.db gw1.jsonl gw2.jsonl\n";

static int take_format(const char *opt, const char *arg, void *dst)
{
	enum out_format fmt;

	if (format_parse(arg, &fmt) || fmt == FMT_TABLE) {
		pr_warn("--format: '%s' is not one of jsonl, csv", arg);
		return -EINVAL;
	}
	*(int *)dst = fmt;
	return 0;
}

static int take_day(const char *opt, const char *arg, void *dst)
{
	if (!day_valid(arg)) {
		pr_warn("--%s: '%s' is not a day YYYY-MM-DD", opt, arg);
		return -EINVAL;
	}
	*(const char **)dst = arg;
	return 0;
}

/* `ledger export`: the records of @path that @flt lets through. */
static int ledger_export(const char *path, const struct ledger_filter *flt,
			 int format)
{
	struct ledger *l = NULL;
	int err;

	err = ledger_open(&l, path, LEDGER_RDONLY, NULL);
	if (err)
		return 1;
	err = records_export(l, flt,
			     format < 0 ? FMT_JSON : (enum out_format)format,
			     stdout);
	ledger_close(l);
	if (!err && fflush(stdout))
		err = -errno;
	if (err == -EIO || err == -EPIPE)
		pr_warn("ledger export: cannot write: %s", strerror(-err));
	return err ? 1 : 0;
}

/* `ledger import`: the @nr files @inputs into @path (made in time zone
 * @tz when new), all or nothing. */
static int ledger_import(const char *path, const char *tz,
			 char *const *inputs, int nr, int format)
{
	struct ledger *l = NULL;
	bool existed;
	int err;

	if (tz) {
		struct tz *z;

		if (tz_load(&z, tz))
			return 2;
		tz_free(z);
	}
	existed = access(path, F_OK) == 0;
	err = ledger_open(&l, path, LEDGER_CREATE, tz);
	if (!err) {
		size_t n = 0;

		err = records_import(l, inputs, nr, format, &n);
		/* Says what it did: a quiet success reads like nothing. */
		if (!err)
			printf("imported %zu record%s from %d input%s into "
			       "'%s'%s\n", n, n == 1 ? "" : "s", nr,
			       nr == 1 ? "" : "s", path,
			       existed ? "" : " (a new ledger)");
		ledger_close(l);
	}
	/* A failed import leaves nothing behind, not even a new ledger. */
	if (err && !existed) {
		char side[4200];

		unlink(path);
		snprintf(side, sizeof(side), "%s-wal", path);
		unlink(side);
		snprintf(side, sizeof(side), "%s-shm", path);
		unlink(side);
	}
	return err ? 1 : 0;
}

/* `tollgate ledger export|import`: see ledger_usage. */
int cmd_ledger(int argc, char **argv)
{
	const char *path = TG_DEFAULT_LEDGER, *tz = NULL;
	struct ledger_filter flt = {};
	int format = -1, first;
	const struct opt opts[] = {
		OPT("ledger", 'l', OPT_STR, &path, .nonempty = true),
		OPT("format", 'f', OPT_FN, &format, .fn = take_format),
		OPT("since", 's', OPT_FN, &flt.since, .fn = take_day),
		OPT("until", 'u', OPT_FN, &flt.until, .fn = take_day),
		OPT("tenant", 't', OPT_STR, &flt.tenant),
		OPT("time-zone", 'z', OPT_STR, &tz, .nonempty = true),
		{},
	};
	bool export;

	if (argc >= 2 && (!strcmp(argv[1], "-h") ||
			  !strcmp(argv[1], "--help"))) {
		fputs(ledger_usage, stdout);
		return 0;
	}
	if (argc < 2 || (strcmp(argv[1], "export") &&
			 strcmp(argv[1], "import"))) {
		if (argc >= 2)
			pr_warn("ledger: no subcommand '%s' (export, import)",
				argv[1]);
		fputs(ledger_usage, stderr);
		return 2;
	}
	export = !strcmp(argv[1], "export");
	argc--;
	argv++;
	first = opts_parse(argc, argv, opts, ledger_usage);
	if (first < 0)
		return 2;
	if (export) {
		if (first < argc) {
			pr_warn("ledger export: unexpected argument '%s'",
				argv[first]);
			return 2;
		}
		return ledger_export(path, &flt, format);
	}
	if (first >= argc) {
		pr_warn("ledger import: no input files (- for standard input)");
		return 2;
	}
	return ledger_import(path, tz, argv + first, argc - first, format);
}
