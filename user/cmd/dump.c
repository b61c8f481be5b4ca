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
#include "collect/unmatched.h"
#include "export/dump.h"
#include "lib/log.h"
#include "lib/tgerr.h"
#include "lib/util.h"
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
	"      --unmatched       the names clients gave (Host, :authority,\n"
	"                        SNI) that no services host matched, the\n"
	"                        most recent ones, most seen first\n"
	"  -h, --help            this help\n"
	"\n"
	"Examples:\n"
	"  tollgate dump\n"
	"  tollgate dump --wide --config ./tollgate.yaml\n"
	"  tollgate dump --by backend\n"
	"  tollgate dump --by tenant --format csv\n"
	"  tollgate dump --by socket --format csv\n"
	"  tollgate dump --unmatched\n"
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

/* dump --unmatched: the names no host matched, in format @fmt. */
static int dump_unmatched(const char *pin_dir, enum out_format fmt)
{
	struct unmatched_name *l;
	char esc[4 * TG_NAME_BUF + 8];
	const char *cut, *bad;
	size_t n, i;
	int err;

	err = unmatched_read(pin_dir, &l, &n);
	if (err)
		return err;
	if (fmt == FMT_JSON)
		fputc('[', stdout);
	else if (fmt == FMT_CSV)
		puts("name,port,seen,sni,cut,not_a_host");
	else
		printf("%-40s %5s %12s %s\n", "NAME", "PORT", "SEEN", "FLAGS");
	for (i = 0; i < n; i++) {
		const struct unmatched_name *u = &l[i];
		bool sni = u->flags & TG_UNM_SNI;

		cut = u->flags & TG_UNM_LONG ? "true" : "false";
		bad = u->flags & TG_UNM_BAD ? "true" : "false";
		if (fmt == FMT_JSON) {
			fputs(i ? ",\n{\"name\":" : "\n{\"name\":", stdout);
			json_string(stdout, u->name);
			printf(",\"port\":%u,\"seen\":%llu,\"sni\":%s,"
			       "\"cut\":%s,\"not_a_host\":%s}",
			       u->port, (unsigned long long)u->count,
			       sni ? "true" : "false", cut, bad);
			continue;
		}
		tg_printable(u->name, strlen(u->name), esc, sizeof(esc));
		if (fmt == FMT_CSV)
			printf("\"%s\",%u,%llu,%s,%s,%s\n", esc, u->port,
			       (unsigned long long)u->count,
			       sni ? "true" : "false", cut, bad);
		else
			printf("%-40s %5u %12llu %s%s%s\n", esc, u->port,
			       (unsigned long long)u->count,
			       sni ? "sni " : "",
			       u->flags & TG_UNM_LONG ? "cut " : "",
			       u->flags & TG_UNM_BAD ? "not-a-host" : "");
	}
	if (fmt == FMT_JSON)
		fputs(n ? "\n]\n" : "]\n", stdout);
	free(l);
	return 0;
}

int cmd_dump(int argc, char **argv)
{
	const char *pin_dir = TG_DEFAULT_PIN_DIR, *config = NULL;
	struct dump_opts o = { .by = BY_PEER, .fmt = FMT_TABLE };
	bool unmatched = false;
	const struct opt opts[] = {
		OPT("pin-dir", 'p', OPT_STR, &pin_dir, .nonempty = true),
		OPT("config", 0, OPT_STR, &config),
		OPT("by", 'b', OPT_FN, &o.by, .fn = take_by),
		OPT("format", 'f', OPT_FORMAT, &o.fmt),
		OPT("wide", 'w', OPT_FLAG, &o.wide),
		OPT("raw", 'r', OPT_FLAG, &o.raw),
		OPT("unmatched", 0, OPT_FLAG, &unmatched),
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
	if (unmatched)
		return dump_unmatched(pin_dir, o.fmt) ? 1 : 0;
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
