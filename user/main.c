// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * main.c - the tollgate command line: global options, and the table of
 * commands (user/cmd/).
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "cmd/cmd.h"
#include "lib/log.h"

static const char usage[] =
	"Usage: tollgate [-v] COMMAND [OPTIONS]\n"
	"\n"
	"eBPF traffic metering for API-gateway hosts: IP bytes and packets per\n"
	"socket and per peer, both directions, counted in the kernel.\n"
	"\n"
	"Commands:\n"
	"  run       load and attach the meter, run the agent (SIGHUP reloads\n"
	"            the configuration)\n"
	"  dump      print the counters (works with or without the agent)\n"
	"  detach    detach the meter and remove every pin\n"
	"  ledger    export or import the usage ledger's day records\n"
	"  rate      rate a month of the ledger under a price plan\n"
	"  status    is the meter attached, collecting and shipping?\n"
	"  classify  how the bytes to an address are billed, and which rule\n"
	"            decided\n"
	"  check-config\n"
	"            check a configuration and its range files\n"
	"  help      this help, or a command's: tollgate help dump\n"
	"\n"
	"Options:\n"
	"  -v, --verbose   more messages; repeat for more\n"
	"  -V, --version   print the version\n"
	"  -h, --help      this help\n"
	"\n"
	"Examples:\n"
	"  tollgate run --cgroup /sys/fs/cgroup/system.slice/nginx.service\n"
	"  tollgate dump --format json\n"
	"  tollgate dump --by backend\n"
	"  tollgate dump --by socket\n"
	"  tollgate classify 10.1.2.3:8080 '[2001:db8::7]:443'\n"
	"  tollgate check-config /etc/tollgate/tollgate.yaml\n"
	"  tollgate status\n"
	"  tollgate detach\n"
	"  tollgate ledger export --since 2024-06-01 > usage.jsonl\n"
	"  tollgate rate --plan jdcloud --month 2024-06\n";

static const struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{ "run", cmd_run },
	{ "dump", cmd_dump },
	{ "detach", cmd_detach },
	{ "ledger", cmd_ledger },
	{ "rate", cmd_rate },
	{ "status", cmd_status },
	{ "classify", cmd_classify },
	{ "check-config", cmd_check_config },
};

static const struct command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(name, commands[i].name))
			return &commands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const struct command *cmd;
	int c, verbosity = 0;

	/* '+': stop at the command; its options are its own. */
	while ((c = getopt_long(argc, argv, "+vVh", longopts, NULL)) != -1) {
		switch (c) {
		case 'v':
			verbosity++;
			break;
		case 'V':
			printf("tollgate %s (libbpf %s)\n", TOLLGATE_VERSION,
			       libbpf_version_string());
			return 0;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	log_setup(verbosity);
	if (optind >= argc) {
		fputs(usage, stderr);
		return 2;
	}
	if (!strcmp(argv[optind], "help")) {
		char *help[] = { argv[optind + 1], "--help", NULL };

		if (optind + 1 >= argc) {
			fputs(usage, stdout);
			return 0;
		}
		cmd = find_command(argv[optind + 1]);
		if (!cmd) {
			pr_warn("no command '%s'; 'tollgate help' lists them",
				argv[optind + 1]);
			return 2;
		}
		optind = 0;
		return cmd->fn(2, help);
	}
	cmd = find_command(argv[optind]);
	if (!cmd) {
		pr_warn("no command '%s'; 'tollgate help' lists them",
			argv[optind]);
		return 2;
	}
	argc -= optind;
	argv += optind;
	optind = 0;	/* restart getopt for the command's own options */
	return cmd->fn(argc, argv);
}
