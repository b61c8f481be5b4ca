// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tgerr.c - shared helper: filling and printing input-file error
 * locations.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lib/tgerr.h"

void tg_err_set(struct tg_err *err, const char *file, unsigned int line,
		unsigned int column, const char *field, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	snprintf(err->file, sizeof(err->file), "%s", file ? file : "");
	snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
	err->line = line;
	err->column = column;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

const char *tg_err_str(const struct tg_err *err, char *buf, size_t len)
{
	char where[300] = "";
	size_t n = 0;

	if (err->file[0]) {
		n = snprintf(where, sizeof(where), "%s:", err->file);
		if (err->line && n < sizeof(where))
			n += snprintf(where + n, sizeof(where) - n, "%u:",
				      err->line);
		if (err->line && err->column && n < sizeof(where))
			n += snprintf(where + n, sizeof(where) - n, "%u:",
				      err->column);
	}
	snprintf(buf, len, "%s%s%s%s%s", where, n ? " " : "", err->field,
		 err->field[0] ? ": " : "", err->msg);
	return buf;
}
