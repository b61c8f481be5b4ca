// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * dump.c - `tollgate dump`: print the kernel meter's counters, from the
 * pins, with or without a running agent (export/dump.c formats them).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "classify/config.h"
#include "cmd/cmd.h"
#include "cmd/opts.h"
#include "cmd/settings.h"
#include "export/dump.h"
#include "lib/log.h"
#include "load/loader.h"

static const char dump_usage[] =
	"Usage: tollgate dump [OPTIONS]\n"
	"\n"
	"Print the counters from the pinned maps, whether or not the agent\n"
	"runs. Bytes are IP bytes (IP header and payload, every GSO segment\n"
	"counted); 'in' is peer to host, 'out' host to peer.\n"
	"\n"
	"Each peer row says what the configuration makes of it: the traffic\n"
	"type of its outbound bytes and whether they are billed, flags, the\n"
	"backend, service and tenant names, and (--wide, JSON, CSV) the\n"
	"network, provider and region of its address. Inbound bytes are\n"
	"always of type 'inbound', never billed. --by backend, service, tenant\n"
	"or traffic_type adds the peers up, outbound bytes split into\n"
	"billable and free.\n"
	"\n"
	"The peer rows are the peers that hold a peer slot now, each counted\n"
	"since its slot was handed out (SINCE; \"since\" in JSON and CSV,\n"
	"UTC), and the overflow rows ((overflow) and (no socket) in the\n"
	"table, peer \"*\" in JSON and CSV): peers that found no slot, kept by\n"
	"billing key, and packets without a socket, counted since the maps\n"
	"were made. Peers whose quiet slot was reclaimed are not here:\n"
	"the ledger has their counts. The table's last lines say how many\n"
	"slots there are, how many were reclaimed, and what overflowed.\n"
	"\n"
	"Options:\n"
	"  -p, --pin-dir DIR     pin directory (default " TG_DEFAULT_PIN_DIR ")\n"
	"      --config FILE     configuration (default: the one the agent on\n"
	"                        the pin directory runs with, else\n"
	"                        " TG_CONFIG_DEFAULT_PATH ", else the built-in\n"
	"                        configuration; standard error says which)\n"
	"  -b, --by VIEW         peer (default): one row per peer;\n"
	"                        socket: one row per live socket;\n"
	"                        backend, service, tenant, traffic_type: the\n"
	"                        peers added up, with totals\n"
	"  -f, --format table|json|csv\n"
	"                        output format (default table)\n"
	"  -w, --wide            every classification column in the table\n"
	"  -r, --raw             exact integers in the table, no units\n"
	"  -h, --help            this help\n"
	"\n"
	"Examples:\n"
	"  tollgate dump\n"
	"  tollgate dump --wide --config ./tollgate.yaml\n"
	"  tollgate dump --by backend\n"
	"  tollgate dump --by tenant --format csv\n"
	"  tollgate dump --by socket --format csv\n"
	"  tollgate dump --format json | jq '.[] | select(.billable)'\n";

static int take_by(const char *opt, const char *arg, void *dst)
{
	if (dump_by_parse(arg, dst)) {
		pr_warn("--by: '%s' is not one of peer, socket, backend, "
			"service, tenant, traffic_type", arg);
		return -EINVAL;
	}
	return 0;
}

int cmd_dump(int argc, char **argv)
{
	const char *pin_dir = TG_DEFAULT_PIN_DIR, *config = NULL;
	struct dump_opts o = { .by = BY_PEER, .fmt = FMT_TABLE };
	const struct opt opts[] = {
		OPT("pin-dir", 'p', OPT_STR, &pin_dir, .nonempty = true),
		OPT("config", 0, OPT_STR, &config),
		OPT("by", 'b', OPT_FN, &o.by, .fn = take_by),
		OPT("format", 'f', OPT_FORMAT, &o.fmt),
		OPT("wide", 'w', OPT_FLAG, &o.wide),
		OPT("raw", 'r', OPT_FLAG, &o.raw),
		{},
	};
	int first = opts_parse(argc, argv, opts, dump_usage), err;
	struct tg_config *cfg = NULL;
	struct tg_err e = {};
	char msg[sizeof(e) + 16];
	struct snapshot s;
	struct view v;

	if (first < 0 || opts_none_left(argc, argv, first))
		return 2;
	if (o.by != BY_SOCKET) {
		err = settings_read_config(pin_dir, config, &cfg, &e);
		if (err) {
			pr_warn("cannot load the configuration: %s",
				tg_err_str(&e, msg, sizeof(msg)));
			return 1;
		}
		o.cfg = cfg;
	}

	err = view_open_pinned(&v, pin_dir);
	if (err) {
		config_free(cfg);
		return 1;
	}
	err = snapshot_read(&v, &s, o.by == BY_SOCKET);
	if (err)
		pr_warn("cannot read the counters in '%s': %s", pin_dir,
			strerror(-err));
	else
		err = dump_write(stdout, &s, &o);
	snapshot_free(&s);
	view_close(&v);
	config_free(cfg);
	if (!err && fflush(stdout))
		err = -errno;
	return err ? 1 : 0;
}
