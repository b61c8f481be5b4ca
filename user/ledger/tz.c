// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tz.c - the ledger stage's natural days in a named time zone, read from the
 * system's time-zone database (TZif files, RFC 8536) without touching the
 * process's TZ variable or localtime's global state, so that a billing day
 * never depends on how the agent happened to be started.
 *
 * A zone is its transition table plus, for instants past the table, the
 * POSIX TZ rule in the file's footer (e.g. "CET-1CEST,M3.5.0,M10.5.0/3").
 * Leap-second records, which only the "right/" zones carry, are ignored.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ledger/ledger.h"
#include "lib/log.h"
#include "ledger/tz.h"

#define TZ_MAX_FILE (1 << 20)

struct tz_rule_date {
	char kind;		/* 'J' (1..365, no Feb 29), 'n' (0..365), 'M' */
	int n, m, w, d;
	__s32 time;		/* seconds after local midnight, may be < 0 */
};

struct tz {
	char name[LEDGER_TZ_SIZE];
	__s64 *trans;		/* transition instants, ascending */
	__u8 *idx;		/* local time type from each transition on */
	__s32 *utoff;		/* per local time type */
	size_t nr_trans, nr_types;
	/* footer rule */
	bool have_rule;
	bool have_dst;
	__s32 std_off, dst_off;	/* seconds east of UTC */
	struct tz_rule_date start, end;
};

static __u32 be32(const __u8 *p)
{
	return (__u32)p[0] << 24 | (__u32)p[1] << 16 | (__u32)p[2] << 8 | p[3];
}

static __u64 be64(const __u8 *p)
{
	return (__u64)be32(p) << 32 | be32(p + 4);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's
 * days_from_civil). */
static __s64 days_from_civil(__s64 y, unsigned int m, unsigned int d)
{
	__s64 era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(__s64 z, __s64 *y, unsigned int *m,
			    unsigned int *d)
{
	__s64 era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yoe + era * 400 + (*m <= 2);
}

static bool is_leap(__s64 y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned int days_in_month(__s64 y, unsigned int m)
{
	static const unsigned char dim[12] = { 31, 28, 31, 30, 31, 30,
					       31, 31, 30, 31, 30, 31 };

	return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

static __s64 floor_div(__s64 a, __s64 b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* POSIX TZ strings. */

static const char *rule_name(const char *p)
{
	const char *s = p;

	if (*p == '<') {
		p = strchr(p, '>');
		return p && p - s > 1 ? p + 1 : NULL;
	}
	while (isalpha((unsigned char)*p))
		p++;
	return p - s >= 3 ? p : NULL;
}

/* [+-]hh[:mm[:ss]], hours up to 167 (RFC 8536 extension). */
static const char *rule_time(const char *p, __s32 *secs)
{
	int sign = 1, h = 0, m = 0, s = 0, n = 0;

	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	if (!isdigit((unsigned char)*p))
		return NULL;
	while (isdigit((unsigned char)*p) && n++ < 3)
		h = h * 10 + (*p++ - '0');
	if (h > 167)
		return NULL;
	if (*p == ':') {
		if (!isdigit((unsigned char)p[1]) ||
		    !isdigit((unsigned char)p[2]))
			return NULL;
		m = (p[1] - '0') * 10 + (p[2] - '0');
		p += 3;
		if (*p == ':') {
			if (!isdigit((unsigned char)p[1]) ||
			    !isdigit((unsigned char)p[2]))
				return NULL;
			s = (p[1] - '0') * 10 + (p[2] - '0');
			p += 3;
		}
	}
	if (m > 59 || s > 59)
		return NULL;
	*secs = sign * (h * 3600 + m * 60 + s);
	return p;
}

static const char *rule_num(const char *p, int *out)
{
	int v = 0, n = 0;

	while (isdigit((unsigned char)*p) && n++ < 4)
		v = v * 10 + (*p++ - '0');
	if (!n)
		return NULL;
	*out = v;
	return p;
}

static const char *rule_date(const char *p, struct tz_rule_date *r)
{
	r->time = 7200;
	if (*p == 'J') {
		r->kind = 'J';
		p = rule_num(p + 1, &r->n);
		if (!p || r->n < 1 || r->n > 365)
			return NULL;
	} else if (*p == 'M') {
		r->kind = 'M';
		p = rule_num(p + 1, &r->m);
		if (!p || *p != '.' || r->m < 1 || r->m > 12)
			return NULL;
		p = rule_num(p + 1, &r->w);
		if (!p || *p != '.' || r->w < 1 || r->w > 5)
			return NULL;
		p = rule_num(p + 1, &r->d);
		if (!p || r->d > 6)
			return NULL;
	} else {
		r->kind = 'n';
		p = rule_num(p, &r->n);
		if (!p || r->n > 365)
			return NULL;
	}
	if (*p == '/')
		p = rule_time(p + 1, &r->time);
	return p;
}

/* An offset of a rule: POSIX allows hours 0 to 24 only (RFC 8536 widens
 * the hours of transition times, not of offsets). */
static bool rule_off_ok(__s32 off)
{
	return off >= -(24 * 3600 + 3599) && off <= 24 * 3600 + 3599;
}

static int parse_rule(struct tz *tz, const char *p)
{
	__s32 off;

	if (!*p)
		return 0;	/* no footer: the table is all there is */
	p = rule_name(p);
	if (!p || !(p = rule_time(p, &off)) || !rule_off_ok(off))
		return -EINVAL;
	tz->std_off = -off;	/* POSIX offsets count west */
	tz->have_rule = true;
	if (!*p)
		return 0;
	p = rule_name(p);
	if (!p)
		return -EINVAL;
	tz->have_dst = true;
	tz->dst_off = tz->std_off + 3600;
	if (*p && *p != ',') {
		if (!(p = rule_time(p, &off)) || !rule_off_ok(off))
			return -EINVAL;
		tz->dst_off = -off;
	}
	if (!*p) {
		/* No rule: the US one, as glibc assumes. */
		tz->start = (struct tz_rule_date){ 'M', 0, 3, 2, 0, 7200 };
		tz->end = (struct tz_rule_date){ 'M', 0, 11, 1, 0, 7200 };
		return 0;
	}
	if (*p != ',' || !(p = rule_date(p + 1, &tz->start)) || *p != ',' ||
	    !(p = rule_date(p + 1, &tz->end)) || *p)
		return -EINVAL;
	return 0;
}

/* Local day number (since 1970-01-01) in year @y that @r names. */
static __s64 rule_day(const struct tz_rule_date *r, __s64 y)
{
	__s64 jan1 = days_from_civil(y, 1, 1), first;
	int wd, day;

	switch (r->kind) {
	case 'J':
		return jan1 + r->n - 1 + (is_leap(y) && r->n >= 60);
	case 'n':
		return jan1 + r->n;
	default:
		first = days_from_civil(y, r->m, 1);
		wd = (int)((first % 7 + 7 + 4) % 7);	/* 1970-01-01: Thu */
		day = 1 + (r->d - wd + 7) % 7 + (r->w - 1) * 7;
		while (day > (int)days_in_month(y, r->m))
			day -= 7;
		return first + day - 1;
	}
}

static __s32 rule_offset(const struct tz *tz, __s64 t)
{
	__s64 y, start, end;
	unsigned int m, d;

	if (!tz->have_dst)
		return tz->std_off;
	civil_from_days(floor_div(t + tz->std_off, 86400), &y, &m, &d);
	/* The start is given in standard time, the end in DST. */
	start = rule_day(&tz->start, y) * 86400 + tz->start.time - tz->std_off;
	end = rule_day(&tz->end, y) * 86400 + tz->end.time - tz->dst_off;
	if (start < end)
		return t >= start && t < end ? tz->dst_off : tz->std_off;
	/* Southern hemisphere: DST spans the new year. */
	return t >= end && t < start ? tz->std_off : tz->dst_off;
}

/* TZif files. */

struct tzif_hdr {
	__u32 isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

static int tzif_header(const __u8 *p, size_t len, struct tzif_hdr *h)
{
	if (len < 44 || memcmp(p, "TZif", 4))
		return -EINVAL;
	h->isutcnt = be32(p + 20);
	h->isstdcnt = be32(p + 24);
	h->leapcnt = be32(p + 28);
	h->timecnt = be32(p + 32);
	h->typecnt = be32(p + 36);
	h->charcnt = be32(p + 40);
	if (h->typecnt == 0 || h->typecnt > 256 || h->timecnt > 100000 ||
	    h->leapcnt > 10000 || h->charcnt > 10000 ||
	    h->isutcnt > h->typecnt || h->isstdcnt > h->typecnt)
		return -EINVAL;
	return 0;
}

static size_t tzif_block(const struct tzif_hdr *h, size_t tsize)
{
	return (size_t)h->timecnt * (tsize + 1) + h->typecnt * 6 + h->charcnt +
	       h->leapcnt * (tsize + 4) + h->isstdcnt + h->isutcnt;
}

static int tzif_parse(struct tz *tz, const __u8 *buf, size_t len)
{
	const __u8 *p = buf, *end = buf + len;
	struct tzif_hdr h;
	size_t tsize = 4, i;
	char footer[256];
	int err;

	err = tzif_header(p, end - p, &h);
	if (err)
		return err;
	if (buf[4] >= '2') {
		/* Skip the 32-bit data; the 64-bit block follows. */
		p += 44 + tzif_block(&h, 4);
		if (p > end || (err = tzif_header(p, end - p, &h)))
			return -EINVAL;
		tsize = 8;
	}
	p += 44;
	if ((size_t)(end - p) < tzif_block(&h, tsize))
		return -EINVAL;

	tz->nr_trans = h.timecnt;
	tz->nr_types = h.typecnt;
	tz->trans = calloc(h.timecnt + 1, sizeof(*tz->trans));
	tz->idx = calloc(h.timecnt + 1, 1);
	tz->utoff = calloc(h.typecnt, sizeof(*tz->utoff));
	if (!tz->trans || !tz->idx || !tz->utoff)
		return -ENOMEM;
	for (i = 0; i < h.timecnt; i++, p += tsize) {
		tz->trans[i] = tsize == 8 ? (__s64)be64(p) : (__s32)be32(p);
		if (i && tz->trans[i] <= tz->trans[i - 1])
			return -EINVAL;
	}
	for (i = 0; i < h.timecnt; i++, p++) {
		if (*p >= h.typecnt)
			return -EINVAL;
		tz->idx[i] = *p;
	}
	for (i = 0; i < h.typecnt; i++, p += 6) {
		tz->utoff[i] = (__s32)be32(p);
		if (tz->utoff[i] < -89999 || tz->utoff[i] > 93599)
			return -EINVAL;
	}
	p += h.charcnt + h.leapcnt * (tsize + 4) + h.isstdcnt + h.isutcnt;

	if (tsize == 8 && p < end && *p == '\n') {
		const __u8 *nl = memchr(p + 1, '\n', end - p - 1);

		if (!nl || (size_t)(nl - p - 1) >= sizeof(footer))
			return -EINVAL;
		memcpy(footer, p + 1, nl - p - 1);
		footer[nl - p - 1] = '\0';
		return parse_rule(tz, footer);
	}
	return 0;
}

static bool tz_name_ok(const char *name)
{
	const char *p;

	if (!*name || *name == '/' || strlen(name) >= LEDGER_TZ_SIZE)
		return false;
	for (p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("/_-+", *p))
			return false;
	return !strstr(name, "..") && !strstr(name, "//");
}

/* A time zone from TZif data; see tz.h. */
int tz_parse(struct tz **out, const char *name, const void *buf, size_t len)
{
	struct tz *tz = calloc(1, sizeof(*tz));
	int err;

	if (!tz)
		return -ENOMEM;
	snprintf(tz->name, sizeof(tz->name), "%s", name ? name : "");
	err = tzif_parse(tz, buf, len);
	if (err) {
		tz_free(tz);
		return err == -ENOMEM ? err : -EINVAL;
	}
	*out = tz;
	return 0;
}

/* Load time zone @name; see ledger.h. */
int tz_load(struct tz **out, const char *name)
{
	const char *dir = getenv("TZDIR");
	char path[4096];
	__u8 *buf = NULL;
	struct stat st;
	struct tz *tz;
	size_t len;
	FILE *f;
	int err;

	if (!name || !*name)
		name = TG_DEFAULT_TIME_ZONE;
	if (!tz_name_ok(name)) {
		pr_warn("time zone '%s': not a name in the time-zone database",
			name);
		return -EINVAL;
	}
	if (!dir || !*dir)
		dir = "/usr/share/zoneinfo";
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "re");
	if (!f) {
		err = -errno;
		pr_warn("time zone '%s': cannot read '%s': %s", name, path,
			strerror(-err));
		return err == -EISDIR ? -EINVAL : err;
	}
	if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode)) {
		pr_warn("time zone '%s': '%s' is not a time-zone file", name,
			path);
		fclose(f);
		return -EINVAL;
	}
	buf = malloc(TZ_MAX_FILE);
	if (!buf) {
		fclose(f);
		return -ENOMEM;
	}
	len = fread(buf, 1, TZ_MAX_FILE, f);
	err = ferror(f) ? -EIO : 0;
	fclose(f);
	if (!err)
		err = tz_parse(&tz, name, buf, len);
	free(buf);
	if (err == -EINVAL)
		pr_warn("time zone '%s': '%s' is not a valid time-zone file",
			name, path);
	if (err)
		return err;
	*out = tz;
	return 0;
}

void tz_free(struct tz *tz)
{
	if (!tz)
		return;
	free(tz->trans);
	free(tz->idx);
	free(tz->utoff);
	free(tz);
}

const char *tz_name(const struct tz *tz)
{
	return tz->name;
}

/* Offset of local time from UTC at @t; see ledger.h. */
int tz_offset(const struct tz *tz, __s64 t, __s32 *utoff)
{
	size_t lo = 0, hi = tz->nr_trans;

	if (!tz->nr_trans || t < tz->trans[0]) {
		/* Before the first transition: type 0 (RFC 8536 3.2). */
		*utoff = tz->nr_trans || !tz->have_rule ? tz->utoff[0] :
							  rule_offset(tz, t);
		return 0;
	}
	if (t >= tz->trans[tz->nr_trans - 1] && tz->have_rule) {
		*utoff = rule_offset(tz, t);
		return 0;
	}
	/* Last transition at or before t. */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (tz->trans[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	*utoff = tz->utoff[tz->idx[lo]];
	return 0;
}

/* Local day number of @t, or -ERANGE outside years 0..9999. */
static int local_day(const struct tz *tz, __s64 t, __s64 *day)
{
	/* 0000-01-01 and 10000-01-01, padded by the largest offset. */
	const __s64 lo = -62167219200LL + 90000, hi = 253402300800LL - 90000;
	__s32 off;

	if (t < lo || t >= hi)
		return -ERANGE;
	tz_offset(tz, t, &off);
	*day = floor_div(t + off, 86400);
	return 0;
}

/* The natural day of @t in @tz; see ledger.h. */
int day_number(time_t t, const struct tz *tz, __s64 *day)
{
	return local_day(tz, t, day);
}

int day_name(__s64 day, char *buf, size_t len)
{
	unsigned int m, d;
	__s64 y;

	if (len < LEDGER_DAY_SIZE)
		return -ENOSPC;
	civil_from_days(day, &y, &m, &d);
	if (y < 0 || y > 9999)
		return -ERANGE;
	snprintf(buf, len, "%04d-%02u-%02u", (int)y, m, d);
	return 0;
}

int days_ahead(const struct tz *tz, time_t now, __s64 *day0, time_t *starts,
	       int n)
{
	time_t s, next;
	int err, i;

	err = local_day(tz, now, day0);
	/* No day lasts 30 hours: today began between then and now. */
	if (!err)
		err = day_next(now - 30 * 3600, tz, &s);
	while (!err && !(err = day_next(s, tz, &next)) && next <= now)
		s = next;
	for (i = 0; !err && i < n; i++) {
		starts[i] = s;
		if (i + 1 < n)
			err = day_next(s, tz, &s);
	}
	return err;
}

int day_of(time_t t, const struct tz *tz, char *day, size_t len)
{
	unsigned int m, d;
	__s64 n, y;
	int err;

	if (len < LEDGER_DAY_SIZE)
		return -ENOSPC;
	err = local_day(tz, t, &n);
	if (err)
		return err;
	civil_from_days(n, &y, &m, &d);
	snprintf(day, len, "%04d-%02u-%02u", (int)y, m, d);
	return 0;
}

/* First instant after @t on another day; see ledger.h. */
int day_next(time_t t, const struct tz *tz, time_t *next)
{
	__s64 lo = t, hi, d0, d;
	int err;

	err = local_day(tz, t, &d0);
	if (err)
		return err;
	/* A day lasts 22 to 26 hours or so; three days is always past it.
	 * Search for the first second whose day differs. */
	hi = t + 3 * 86400;
	err = local_day(tz, hi, &d);
	if (err)
		return err;
	while (hi - lo > 1) {
		__s64 mid = lo + (hi - lo) / 2;

		local_day(tz, mid, &d);
		if (d == d0)
			lo = mid;
		else
			hi = mid;
	}
	*next = hi;
	return 0;
}

static bool digits(const char *s, size_t n)
{
	while (n--)
		if (!isdigit((unsigned char)*s++))
			return false;
	return true;
}

/* Whether @s is a real "YYYY-MM-DD"; see ledger.h. */
bool day_valid(const char *s)
{
	unsigned int y, m, d;

	if (!s || strlen(s) != 10 || !digits(s, 4) || s[4] != '-' ||
	    !digits(s + 5, 2) || s[7] != '-' || !digits(s + 8, 2))
		return false;
	y = atoi(s);
	m = atoi(s + 5);
	d = atoi(s + 8);
	return m >= 1 && m <= 12 && d >= 1 && d <= days_in_month(y, m);
}

/* Whether @s is "YYYY-MM"; see ledger.h. */
bool month_valid(const char *s)
{
	unsigned int m;

	if (!s || strlen(s) != 7 || !digits(s, 4) || s[4] != '-' ||
	    !digits(s + 5, 2))
		return false;
	m = atoi(s + 5);
	return m >= 1 && m <= 12;
}

/* The month after @month; see ledger.h. */
int month_next(const char *month, char *out)
{
	unsigned int y, m;

	if (!month_valid(month))
		return -EINVAL;
	y = atoi(month);
	m = atoi(month + 5) + 1;
	if (m > 12) {
		m = 1;
		y++;
	}
	if (y > 9999)
		return -EINVAL;
	snprintf(out, LEDGER_MONTH_SIZE, "%04u-%02u", y % 10000, m % 100);
	return 0;
}
