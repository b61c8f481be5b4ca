// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * log.c - leveled messages on stderr, libbpf's included.
 *
 * Warnings always print; -v adds information, -vv debugging, -vvv libbpf's
 * own debug output (its warnings print at the default level, its
 * information with -vv: one level below ours).
 *
 * Our messages quote input (file names, settings, addresses, records,
 * clients' requests), so each is escaped as a whole (tg_printable()):
 * no byte of it reaches the terminal as a control sequence.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "lib/log.h"
#include "lib/tgerr.h"

int log_level = LOG_WARN;

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	int ours = level == LIBBPF_WARN ? LOG_WARN :
		   level == LIBBPF_INFO ? LOG_DEBUG : LOG_LIBBPF;

	if (ours > log_level)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

void log_setup(int verbosity)
{
	log_level = LOG_WARN + verbosity;
	libbpf_set_print(libbpf_print);
}

/* "@prefix@message\n" on stderr, the message escaped. */
static void print_escaped(const char *prefix, const char *fmt, va_list ap)
{
	char raw[4096], *big = NULL, *out;
	const char *msg = raw;
	size_t n, cap;
	va_list again;
	int len;

	va_copy(again, ap);
	len = vsnprintf(raw, sizeof(raw), fmt, ap);
	if (len >= (int)sizeof(raw) && (big = malloc(len + 1))) {
		vsnprintf(big, len + 1, fmt, again);
		msg = big;
	}
	va_end(again);
	if (len < 0)
		return;
	n = strlen(msg);
	/* At worst every byte becomes \xHH. */
	cap = 4 * n + 1;
	out = malloc(cap);
	if (out) {
		tg_printable(msg, n, out, cap);
		fprintf(stderr, "%s%s\n", prefix, out);
	} else {
		fprintf(stderr, "%s(a message that cannot be shown: out of "
			"memory)\n", prefix);
	}
	free(out);
	free(big);
}

void pr_log(int level, const char *fmt, ...)
{
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	print_escaped("tollgate: ", fmt, ap);
	va_end(ap);
}

void pr_bare(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	print_escaped("", fmt, ap);
	va_end(ap);
}
