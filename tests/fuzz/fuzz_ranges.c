// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_ranges.c - libFuzzer target: arbitrary bytes as a cloud IP-range
 * file. The first byte picks the format (aws, gcp, azure, csv), the rest
 * is the file. Every entry handed on must be a valid prefix; an error
 * must have a position inside the input.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "classify/ranges.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int check(void *ctx, const struct range_entry *e, const char **why)
{
	size_t *n = ctx;
	char buf[CIDR_STRLEN];
	struct cidr p;

	/* What was handed on reads back as itself. */
	if (cidr_parse(cidr_format(&e->prefix, buf, sizeof(buf)), &p) ||
	    memcmp(&p, &e->prefix, sizeof(p)) || !e->line)
		abort();
	if (e->region && !ranges_name_ok(e->region))
		abort();
	return ++*n > 1000 ? -ENOSPC : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tg_err err = {};
	size_t n = 0, lines = 1, i;
	int ret;

	if (!size)
		return 0;
	ret = ranges_parse((const char *)data + 1, size - 1, "fuzz",
			   data[0] % TG_NR_RANGE_FORMATS, check, &n, &err);
	if (!ret)
		return 0;
	for (i = 1; i < size; i++)
		lines += data[i] == '\n';
	if (!err.msg[0] || err.line < 1 || err.line > lines)
		abort();
	return 0;
}
