// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * log.c - shared helper: leveled messages on stderr, libbpf's included.
 *
 * Warnings always print; -v adds information, -vv debugging, -vvv libbpf's
 * own debug output (its warnings print at the default level, its
 * information with -vv: one level below ours). Around a call whose
 * failure may be no news, libbpf's output is held back and then printed
 * as warnings only if the call failed in earnest (log_libbpf_hold()).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "lib/log.h"

int log_level = LOG_WARN;

/* libbpf's messages held back in this thread: each is our level as one
 * byte, then its text and a NUL. */
static __thread struct {
	bool on;
	size_t len;
	char buf[4096];
} held;

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	int ours = level == LIBBPF_WARN ? LOG_WARN :
		   level == LIBBPF_INFO ? LOG_DEBUG : LOG_LIBBPF;
	size_t room = sizeof(held.buf) - held.len, kept;
	int n;

	if (held.on) {
		/* a level byte, some text and its NUL, or nothing */
		if (room < 3)
			return 0;
		held.buf[held.len] = (char)ours;
		n = vsnprintf(held.buf + held.len + 1, room - 1, fmt, ap);
		if (n < 0)
			return n;
		kept = (size_t)n < room - 2 ? (size_t)n : room - 2;
		held.len += 1 + kept + 1;
		return n;
	}
	if (ours > log_level)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

void log_libbpf_hold(void)
{
	held.on = true;
	held.len = 0;
}

void log_libbpf_release(bool problem)
{
	size_t i = 0;

	held.on = false;
	while (i < held.len) {
		int level = held.buf[i];
		const char *text = held.buf + i + 1;

		/* Not a problem: its warnings are information (-v). */
		if (!problem && level < LOG_INFO)
			level = LOG_INFO;
		if (level <= log_level)
			fputs(text, stderr);
		i += 1 + strlen(text) + 1;
	}
	held.len = 0;
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
