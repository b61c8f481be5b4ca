// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * status.c - `tollgate status`: the meter's health as a table or JSON,
 * from what outlives the agent (export/status.c makes the checks).
 */
#include <stdio.h>
#include <stdlib.h>

#include "cmd/cmd.h"
#include "cmd/opts.h"
#include "cmd/settings.h"
#include "export/status.h"
#include "ledger/ledger.h"
#include "lib/log.h"
#include "load/loader.h"

static const char status_usage[] =
	"Usage: tollgate status [--pin-dir DIR] [--ledger FILE]\n"
	"                       [--interval SECS] [--format table|json]\n"
	"\n"
	"Summarise the meter's health, with or without a running agent: the\n"
	"pinned links and the cgroup they attach to, the pins, the peer slots\n"
	"(holding peers of the capacity, being reclaimed, free, never handed\n"
	"out, reclaimed ever), failed inserts and overflow bytes by reason and\n"
	"role, the last collection (the ledger's last snapshot), and the rows\n"
	"not yet shipped to the fleet ledger. JSON has the slots and the\n"
	"overflow as numbers too (\"slots\", \"overflow\"). Exits 1 when\n"
	"something is wrong: nothing or not everything attached, no maps, or,\n"
	"while attached, no collection for more than 3 intervals. Warnings\n"
	"(slots 90% used, bytes without a slot, shipping behind by more than\n"
	"3 intervals) exit 0.\n"
	"\n"
	"Options:\n"
	"  -p, --pin-dir DIR     pin directory (default " TG_DEFAULT_PIN_DIR ")\n"
	"  -l, --ledger FILE     the agent's ledger (default: the one the agent\n"
	"                        on the pin directory runs with, else\n"
	"                        " TG_DEFAULT_LEDGER ")\n"
	"  -i, --interval SECS   the agent's interval, 1..3600 (default: the\n"
	"                        agent's, else 10)\n"
	"  -f, --format table|json\n"
	"                        output format (default table)\n"
	"  -h, --help            this help\n"
	"\n"
	"Examples:\n"
	"  tollgate status\n"
	"  tollgate status --format json | jq .ok\n"
	"  tollgate status --format json | jq .overflow.client.no_slot\n";

/*
 * The ledger and interval to judge collection by: the options', else
 * those the agent on @pin_dir recorded, else the defaults. *@ledger NULL:
 * the agent books none. Says which on standard error, unless both were
 * given.
 */
static void agent_settings(const char *pin_dir, const char **ledger,
			   __u32 *interval)
{
	static struct agent_info ai;
	const char *lfrom = "given", *ifrom = "given", *from;
	bool agent;

	if (*ledger && *interval)
		return;
	agent = settings_agent(pin_dir, &ai);
	from = agent ? "the agent's" : "the default";
	if (!*ledger) {
		*ledger = !agent ? TG_DEFAULT_LEDGER :
			  *ai.ledger ? ai.ledger : NULL;
		lfrom = from;
	}
	if (!*interval) {
		*interval = agent ? ai.interval : 10;
		ifrom = from;
	}
	pr_warn("ledger %s (%s), interval %us (%s); %s %s",
		*ledger ? *ledger : "none: --no-ledger", lfrom, *interval,
		ifrom, agent ? "the agent's settings are recorded in" :
			       "no agent's settings in",
		pin_dir);
}

int cmd_status(int argc, char **argv)
{
	const char *pin_dir = TG_DEFAULT_PIN_DIR, *ledger = NULL;
	enum out_format fmt = FMT_TABLE;
	__u32 interval = 0;
	const struct opt opts[] = {
		OPT("pin-dir", 'p', OPT_STR, &pin_dir, .nonempty = true),
		OPT("ledger", 'l', OPT_STR, &ledger, .nonempty = true),
		OPT("interval", 'i', OPT_U32, &interval,
		    .what = "a number of seconds", .min = 1, .max = 3600),
		OPT("format", 'f', OPT_FORMAT, &fmt,
		    .formats = OPT_TABLE | OPT_JSON),
		{},
	};
	struct status st = {};
	int first = opts_parse(argc, argv, opts, status_usage);
	bool ok;

	if (first < 0 || opts_none_left(argc, argv, first))
		return 2;
	agent_settings(pin_dir, &ledger, &interval);
	ok = status_check(&st, pin_dir, ledger, interval);
	status_print(stdout, &st, ok, fmt);
	return ok ? 0 : 1;
}
