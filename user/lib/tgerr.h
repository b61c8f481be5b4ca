/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * tgerr.h - shared helper: where an input file is wrong, and why. The
 * configuration loader and the range-file parsers fill one of these on
 * failure, so that every message an operator sees names the file, line, column
 * and setting at fault: "tollgate.yaml:12:9: networks[2].cidr: host bits set,
 * did you mean 10.0.0.0/8".
 */
#ifndef TOLLGATE_TGERR_H
#define TOLLGATE_TGERR_H

#include <stddef.h>

struct tg_err {
	char file[256];		/* the file at fault; "" when none */
	unsigned int line;	/* 1-based; 0 when the file as a whole */
	unsigned int column;	/* 1-based; 0 when the line as a whole */
	char field[128];	/* setting or field, e.g. "networks[2].cidr" */
	char msg[256];		/* what is wrong: lower case, no period */
};

/*
 * Fill @err (when not NULL) with a location and a printf-style message.
 * @file and @field may be NULL. Returns nothing: the caller returns the
 * error code it chose.
 */
void tg_err_set(struct tg_err *err, const char *file, unsigned int line,
		unsigned int column, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

/*
 * Write @err as one line, "file:line:column: field: message", leaving out
 * the parts it lacks, and escaped as by tg_printable(): file names,
 * settings and messages quote input. Returns @buf.
 */
const char *tg_err_str(const struct tg_err *err, char *buf, size_t len);

/*
 * @in (@n bytes) with every byte that a terminal could take for a control
 * sequence, or that would break the line, written out instead: \t, \n,
 * \r, \xHH for other C0 bytes, DEL and bytes that are not UTF-8, \uHHHH
 * for the C1 controls (U+0080-U+009F) and the Unicode ones that reorder
 * or break lines (bidirectional overrides and isolates, U+2028/9).
 * Printable ASCII and UTF-8 stay as they are. Writes at most @len bytes,
 * always terminated, never a partial escape. Returns @out.
 */
const char *tg_printable(const char *in, size_t n, char *out, size_t len);

#endif /* TOLLGATE_TGERR_H */
