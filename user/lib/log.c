// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * log.c - leveled messages on stderr, libbpf's included.
 *
 * Warnings always print; -v adds information, -vv debugging, -vvv libbpf's
 * own debug output (its warnings print at the default level, its
 * information with -vv: one level below ours).
 */
#include <stdarg.h>
#include <stdio.h>
#include <bpf/libbpf.h>

#include "lib/log.h"

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

void pr_log(int level, const char *fmt, ...)
{
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	fputs("tollgate: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}
