// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * detach.c - `tollgate detach`: take the meter down (load/loader.c removes
 * the pins).
 */
#include <stdio.h>

#include "cmd/cmd.h"
#include "cmd/opts.h"
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
	const char *pin_dir = TG_DEFAULT_PIN_DIR;
	const struct opt opts[] = {
		OPT("pin-dir", 'p', OPT_STR, &pin_dir, .nonempty = true),
		{},
	};
	int first = opts_parse(argc, argv, opts, detach_usage);

	if (first < 0 || opts_none_left(argc, argv, first))
		return 2;
	return meter_detach(pin_dir, false) ? 1 : 0;
}
