// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * status.c - `tollgate status`: the meter's health as a table or JSON,
 * from what outlives the agent (export/status.c makes the checks).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmd/cmd.h"
#include "export/status.h"
#include "ledger/ledger.h"
#include "lib/log.h"
#include "load/loader.h"

static const char status_usage[] =
	"Usage: tollgate status [--pin-dir DIR] [--ledger FILE]\n"
	"                       [--interval SECS] [--format table|json]\n"
	"\n"
	"Summarise the meter's health, with or without a running agent: the\n"
	"pinned links and the cgroup they attach to, the pins, peer slots used\n"
	"of the capacity, failed inserts and overflow bytes, the last\n"
	"collection (the ledger's last snapshot), and the rows not yet shipped\n"
	"to the fleet ledger. Exits 1 when something is wrong: nothing or not\n"
	"everything attached, no maps, the peer map full, or, while attached,\n"
	"no collection for more than 3 intervals. Warnings (slots 90% used,\n"
	"failed inserts, shipping behind by more than 3 intervals) exit 0.\n"
	"\n"
	"Options:\n"
	"  -p, --pin-dir DIR     pin directory (default " TG_DEFAULT_PIN_DIR ")\n"
	"  -l, --ledger FILE     the agent's ledger (default " TG_DEFAULT_LEDGER ")\n"
	"  -i, --interval SECS   the agent's interval, 1..3600 (default 10)\n"
	"  -f, --format table|json\n"
	"                        output format (default table)\n"
	"  -h, --help            this help\n"
	"\n"
	"Examples:\n"
	"  tollgate status\n"
	"  tollgate status --format json | jq .ok\n";

int cmd_status(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pin-dir", required_argument, NULL, 'p' },
		{ "ledger", required_argument, NULL, 'l' },
		{ "interval", required_argument, NULL, 'i' },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *pin_dir = TG_DEFAULT_PIN_DIR, *ledger = TG_DEFAULT_LEDGER;
	enum out_format fmt = FMT_TABLE;
	struct status st = {};
	__u32 interval = 10;
	bool ok = true;
	int c;

	while ((c = getopt_long(argc, argv, "p:l:i:f:h", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'p':
			pin_dir = optarg;
			break;
		case 'l':
			ledger = optarg;
			break;
		case 'i':
			if (parse_u32(optarg, 1, 3600, &interval)) {
				pr_warn("--interval: '%s' is not a number of "
					"seconds from 1 to 3600", optarg);
				goto usage;
			}
			break;
		case 'f':
			if (format_parse(optarg, &fmt) || fmt == FMT_CSV) {
				pr_warn("--format: '%s' is not one of table, "
					"json", optarg);
				goto usage;
			}
			break;
		case 'h':
			fputs(status_usage, stdout);
			return 0;
		default:
			goto usage;
		}
	}
	if (optind < argc) {
		pr_warn("status: unexpected argument '%s'", argv[optind]);
		goto usage;
	}

	ok = status_check(&st, pin_dir, ledger, interval);
	status_print(stdout, &st, ok, fmt);
	return ok ? 0 : 1;
usage:
	fputs(status_usage, stderr);
	return 2;
}
