// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tgerr.c - shared helper: filling and printing input-file error
 * locations, and making quoted input safe to print.
 */
#include <stdarg.h>
#include <stdbool.h>
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

/* The code point of the UTF-8 sequence at @p (@n bytes left) and its
 * length, or 0 when it is not one (truncated, overlong, a surrogate,
 * beyond U+10FFFF). */
static size_t utf8(const unsigned char *p, size_t n, unsigned int *cp)
{
	size_t len, i;
	unsigned int c;

	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		c = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		c = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		c = p[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
	    (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
		return 0;
	*cp = c;
	return len;
}

/* Code points that drive a terminal or reorder what it shows. */
static bool unsafe(unsigned int c)
{
	return (c >= 0x80 && c <= 0x9f) || c == 0x200e || c == 0x200f ||
	       (c >= 0x2028 && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

const char *tg_printable(const char *in, size_t n, char *out, size_t len)
{
	const unsigned char *p = (const unsigned char *)in, *end = p + n;
	size_t o = 0;

	if (!len)
		return out;
	while (p < end) {
		char esc[16];
		const char *put = esc;
		size_t k = 1, w;
		unsigned int c;

		if (*p >= 0x20 && *p < 0x7f) {
			esc[0] = (char)*p;
			esc[1] = '\0';
		} else if (*p == '\t' || *p == '\n' || *p == '\r') {
			snprintf(esc, sizeof(esc), "\\%c",
				 *p == '\t' ? 't' : *p == '\n' ? 'n' : 'r');
		} else if (*p >= 0x80 && (k = utf8(p, end - p, &c))) {
			if (unsafe(c)) {
				snprintf(esc, sizeof(esc), "\\u%04x", c);
			} else {
				put = (const char *)p;
			}
		} else {
			k = 1;
			snprintf(esc, sizeof(esc), "\\x%02x", *p);
		}
		w = put == esc ? strlen(esc) : k;
		if (o + w >= len)
			break;
		memcpy(out + o, put, w);
		o += w;
		p += k;
	}
	out[o] = '\0';
	return out;
}

const char *tg_err_str(const struct tg_err *err, char *buf, size_t len)
{
	char where[300] = "";
	char raw[sizeof(where) + sizeof(err->field) + sizeof(err->msg) + 8];
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
	/* Escaped, the whole line: every part of it may quote input. */
	snprintf(raw, sizeof(raw), "%s%s%s%s%s", where, n ? " " : "",
		 err->field, err->field[0] ? ": " : "", err->msg);
	return tg_printable(raw, strlen(raw), buf, len);
}
