/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * tz.h - the ledger's natural days: time zones read from the system's
 * time-zone database, days and months as text.
 */
#ifndef TOLLGATE_TZ_H
#define TOLLGATE_TZ_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <linux/types.h>

#include "ledger/ledger.h"

struct tz;

/*
 * Load time zone @name (NULL or "": Asia/Shanghai) from the system's
 * time-zone database ($TZDIR, else /usr/share/zoneinfo), whatever the TZ
 * variable of the process says. Returns 0, -ENOENT (no such zone),
 * -EINVAL (a name outside the database, or a damaged file), -ENOMEM.
 */
int tz_load(struct tz **out, const char *name);

/*
 * A time zone called @name from TZif data @buf of @len bytes (a file of
 * the database, read by tz_load()). Pure: says nothing, the caller names
 * the file. Returns 0, -EINVAL (not a valid time-zone file), -ENOMEM.
 */
int tz_parse(struct tz **out, const char *name, const void *buf, size_t len);
void tz_free(struct tz *tz);
const char *tz_name(const struct tz *tz);

/* Offset of local time from UTC at Unix time @t, in seconds east. */
int tz_offset(const struct tz *tz, __s64 t, __s32 *utoff);

/*
 * The natural day of Unix time @t in @tz, as "YYYY-MM-DD", into @day of
 * @len >= LEDGER_DAY_SIZE bytes. Returns 0, or -ERANGE outside years
 * 0..9999.
 */
int day_of(time_t t, const struct tz *tz, char *day, size_t len);

/* The natural day of Unix time @t in @tz as a number: days since
 * 1970-01-01. Returns 0, or -ERANGE outside years 0..9999. */
int day_number(time_t t, const struct tz *tz, __s64 *day);

/* Day number @day as "YYYY-MM-DD" into @buf of @len >= LEDGER_DAY_SIZE
 * bytes. Returns 0, or -ERANGE outside years 0..9999. */
int day_name(__s64 day, char *buf, size_t len);

/*
 * The first Unix time after @t that is on another natural day in @tz: the
 * next midnight (or whatever instant starts the next day where a DST
 * change skips midnight). Returns 0 or -ERANGE.
 */
int day_next(time_t t, const struct tz *tz, time_t *next);

/*
 * The day @now is on, as a day number (*@day0), and the first seconds of
 * it and of the @n - 1 days after it, into @starts. Returns 0 or
 * -ERANGE.
 */
int days_ahead(const struct tz *tz, time_t now, __s64 *day0, time_t *starts,
	       int n);

/* Whether @s is a real calendar day "YYYY-MM-DD" (0000-9999). */
bool day_valid(const char *s);

/* Whether @s is a month "YYYY-MM". */
bool month_valid(const char *s);

/* The month after @month ("2024-12" -> "2025-01") into @out of
 * LEDGER_MONTH_SIZE bytes. Returns 0 or -EINVAL. */
int month_next(const char *month, char *out);

#endif /* TOLLGATE_TZ_H */
