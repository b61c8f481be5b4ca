// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ledger.c - `tollgate ledger export|import`: the ledger's day records as
 * JSON lines or CSV, out and in (ledger/records.c reads and writes them).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
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
	"        nothing is imported. A missing ledger is created.\n"
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

/* `tollgate ledger export|import`: see ledger_usage. */
int cmd_ledger(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "ledger", required_argument, NULL, 'l' },
		{ "format", required_argument, NULL, 'f' },
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ "tenant", required_argument, NULL, 't' },
		{ "time-zone", required_argument, NULL, 'z' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *path = TG_DEFAULT_LEDGER, *tz = NULL, *sub;
	struct ledger_filter flt = {};
	struct ledger *l = NULL;
	int c, err, format = -1;
	bool existed;

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
	sub = argv[1];
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, "l:f:s:u:t:z:h", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'l':
			path = optarg;
			break;
		case 'f': {
			enum out_format fmt;

			if (format_parse(optarg, &fmt) || fmt == FMT_TABLE) {
				pr_warn("--format: '%s' is not one of jsonl, "
					"csv",
					optarg);
				return 2;
			}
			format = fmt;
			break;
		}
		case 's':
		case 'u':
			if (!day_valid(optarg)) {
				pr_warn("--%s: '%s' is not a day YYYY-MM-DD",
					c == 's' ? "since" : "until", optarg);
				return 2;
			}
			*(c == 's' ? &flt.since : &flt.until) = optarg;
			break;
		case 't':
			flt.tenant = optarg;
			break;
		case 'z':
			tz = optarg;
			break;
		case 'h':
			fputs(ledger_usage, stdout);
			return 0;
		default:
			fputs(ledger_usage, stderr);
			return 2;
		}
	}

	if (!strcmp(sub, "export")) {
		if (optind < argc) {
			pr_warn("ledger export: unexpected argument '%s'",
				argv[optind]);
			return 2;
		}
		err = ledger_open(&l, path, LEDGER_RDONLY, NULL);
		if (err)
			return 1;
		err = records_export(l, &flt,
				     format < 0 ? FMT_JSON : (enum out_format)format,
				     stdout);
		ledger_close(l);
		if (!err && fflush(stdout))
			err = -errno;
		if (err == -EIO || err == -EPIPE)
			pr_warn("ledger export: cannot write: %s",
				strerror(-err));
		return err ? 1 : 0;
	}

	if (optind >= argc) {
		pr_warn("ledger import: no input files (- for standard input)");
		return 2;
	}
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

		err = records_import(l, argv + optind, argc - optind, format,
				     &n);
		if (!err)
			pr_info("imported %zu records into '%s'", n, path);
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
