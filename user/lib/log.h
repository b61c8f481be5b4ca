/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * log.h - leveled messages on stderr (shared helper of every stage).
 *
 * Warnings always print; -v adds information, -vv debugging, -vvv libbpf's
 * own debug output. Messages say what failed and on what, lower case, no
 * trailing period.
 */
#ifndef TOLLGATE_LOG_H
#define TOLLGATE_LOG_H

#include <stdbool.h>

enum {
	LOG_WARN,
	LOG_INFO,
	LOG_DEBUG,
	LOG_LIBBPF,	/* libbpf's own debug output: -vv */
};

extern int log_level;

/* Set the level to LOG_WARN + @verbosity and route libbpf's output here,
 * one level below ours. */
void log_setup(int verbosity);

/*
 * Hold back what libbpf says from here to log_libbpf_release(), in this
 * thread: around a call whose failure may be no news (a uprobe on a file
 * that was only offered, which may have no such function).
 */
void log_libbpf_hold(void);

/*
 * Print what libbpf said since log_libbpf_hold(): at its usual level when
 * @problem (the call failed in a way worth a warning), else one level
 * lower, so that its warnings show with -v only.
 */
void log_libbpf_release(bool problem);

/* "tollgate: " and the message, escaped (tg_printable()), on stderr. */
void pr_log(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* A message that names its place itself ("file:line: ..."), the way
 * compilers print them, for editors and grep: no prefix, always
 * printed, escaped like pr_log()'s. */
void pr_bare(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define pr_warn(...) pr_log(LOG_WARN, __VA_ARGS__)
#define pr_info(...) pr_log(LOG_INFO, __VA_ARGS__)
#define pr_debug(...) pr_log(LOG_DEBUG, __VA_ARGS__)

#endif /* TOLLGATE_LOG_H */
