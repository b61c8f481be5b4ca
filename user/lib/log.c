// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * log.c - shared helper: leveled messages on stderr, libbpf's included.
 *
 * Warnings always print; -v adds information, -vv debugging, -vvv libbpf's
 * own debug output (its warnings print at the default level, its
 * information with -vv: one level below ours). Around a call whose
 * failure may be no news, libbpf's output is held back and then printed
 * as warnings only if the call failed in earnest (log_libbpf_hold()).
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
