// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_tz.c - libFuzzer target: arbitrary bytes as a time-zone file
 * (TZif, versions 1 to 4, with or without a POSIX-TZ footer rule), the
 * file the ledger's natural days come from. A file that loads must give
 * offsets within a day of UTC, days that read back as calendar days, and
 * next midnights that are later and on another day, at times spread over
 * the years a ledger covers; none may take long.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/tz.h"
#include "lib/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const time_t at[] = {
		0, 946684800, 1700000000, 1711846800, 1729994400, 2000000000,
		4102444800LL, -1, 86399, 253402300799LL,
	};
	char day[LEDGER_DAY_SIZE], next_day[LEDGER_DAY_SIZE];
	struct tz *tz = NULL;
	size_t i;

	if (tz_parse(&tz, "Fuzz/Zone", data, size))
		return 0;
	for (i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		__s32 off;
		time_t next;

		if (tz_offset(tz, at[i], &off) == 0 &&
		    (off < -26 * 3600 || off > 26 * 3600))
			abort();
		if (day_of(at[i], tz, day, sizeof(day)))
			continue;
		if (!day_valid(day))
			abort();
		if (day_next(at[i], tz, &next))
			continue;
		if (next <= at[i] || next - at[i] > 3 * 86400)
			abort();
		if (!day_of(next, tz, next_day, sizeof(next_day)) &&
		    !strcmp(day, next_day))
			abort();
	}
	tz_free(tz);
	return 0;
}
