// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * detach.c - `tollgate detach`: take the meter down (load/loader.c removes
 * the pins).
 */
#include <getopt.h>
#include <stdio.h>

#include "cmd/cmd.h"
#include "lib/log.h"
#include "load/loader.h"

static const char detach_usage[] =
	"Usage: tollgate detach [--pin-dir DIR]\n"
	"\n"
	"Detach the meter's programs and remove every pin (maps and links)\n"
	"under the pin directory, then the directory. The kernel counters are\n"
	"gone afterwards.\n"
	"\n"
	"Options:\n"
	"  -p, --pin-dir DIR   pin directory (default " TG_DEFAULT_PIN_DIR ")\n"
	"  -h, --help          this help\n";

int cmd_detach(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pin-dir", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	const char *pin_dir = TG_DEFAULT_PIN_DIR;
	int c;

	while ((c = getopt_long(argc, argv, "p:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			pin_dir = optarg;
			break;
		case 'h':
			fputs(detach_usage, stdout);
			return 0;
		default:
			fputs(detach_usage, stderr);
			return 2;
		}
	}
	if (optind < argc) {
		pr_warn("detach: unexpected argument '%s'", argv[optind]);
		return 2;
	}
	return meter_detach(pin_dir, false) ? 1 : 0;
}
