/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * ranges.h - the classify stage's range files: readers of the IP-range files
 * that clouds publish, which map address prefixes to regions. Four formats:
 *
 *   aws    ip-ranges.json: prefixes[].ip_prefix and ipv6_prefixes[].
 *          ipv6_prefix, each with its region ("GLOBAL" is kept as a region
 *          name like any other)
 *   gcp    cloud.json: prefixes[] with ipv4Prefix or ipv6Prefix, and scope
 *          as the region
 *   azure  Service Tags JSON: values[].properties.addressPrefixes[], with
 *          properties.region as the region (empty: none)
 *   csv    one "cidr,region[,provider[,network]]" a line, '#' starts a
 *          comment, blank lines are skipped, fields are trimmed; an empty
 *          region or provider means none; network is intranet or public
 *
 * A reader checks everything it hands on (prefix syntax and family, host
 * bits, field types, name characters) and stops at the first fault, which
 * it reports with file, line, column and field. A JSON file is checked by
 * json-c in strict mode; the positions of its values come from a small
 * scanner over the same text, since json-c keeps none. A file is all or
 * nothing: a truncated one fails as a whole.
 */
#ifndef TOLLGATE_RANGES_H
#define TOLLGATE_RANGES_H

#include <stdbool.h>
#include <stddef.h>

#include "classify/cidr.h"
#include "lib/tgerr.h"

/* Whether an address is inside a private network or reached over the
 * public internet. Stable names: network_name(). */
enum tg_network {
	TG_NET_PUBLIC = 0,
	TG_NET_INTRANET = 1,
};

enum tg_range_format {
	TG_RANGES_AWS,
	TG_RANGES_GCP,
	TG_RANGES_AZURE,
	TG_RANGES_CSV,
	TG_NR_RANGE_FORMATS
};

/* One prefix of a range file, as handed to the caller's range_add_fn. The
 * strings live only for the duration of the call. */
struct range_entry {
	struct cidr prefix;
	const char *region;	/* NULL: the file names none */
	const char *provider;	/* CSV only; NULL: the caller's default */
	int network;		/* enum tg_network; -1: not given (CSV) */
	unsigned int line;	/* 1-based line of the prefix in the file */
};

/* Called once per entry, in file order. A negative return (-Exxx) stops
 * the reader, which then fails with that code and, as its message, *@why
 * when the callback set it (a string that outlives the call). */
typedef int (*range_add_fn)(void *ctx, const struct range_entry *e,
			    const char **why);

/* Largest range file read, in bytes. */
#define TG_RANGES_MAX_SIZE (256u << 20)

/* "aws", "gcp", "azure", "csv"; NULL when out of range. */
const char *ranges_format_name(enum tg_range_format fmt);

/* Look up a format by its name. Returns 0 or -EINVAL. */
int ranges_format_parse(const char *s, enum tg_range_format *out);

/* "public", "intranet". */
const char *network_name(enum tg_network net);

/* Look up a network by its name. Returns 0 or -EINVAL. */
int network_parse(const char *s, enum tg_network *out);

/*
 * Whether @s may be a name (region, provider, service, tenant, backend):
 * 1 to 127 bytes, no control characters, no leading or trailing blank.
 */
bool ranges_name_ok(const char *s);

/*
 * Read the range file in @buf (@len bytes; need not end in NUL) of format
 * @fmt and hand each entry to @add. @name is the file name used in errors.
 * Returns 0; -EINVAL when the file is malformed, with @err filled; or the
 * first negative value @add returned (@err then names the entry).
 */
int ranges_parse(const char *buf, size_t len, const char *name,
		 enum tg_range_format fmt, range_add_fn add, void *ctx,
		 struct tg_err *err);

/*
 * ranges_parse() on the regular file at @path. Returns 0, -errno when the
 * file cannot be read, -EFBIG past TG_RANGES_MAX_SIZE, or what
 * ranges_parse() returns; @err is filled on every failure.
 */
int ranges_load(const char *path, enum tg_range_format fmt, range_add_fn add,
		void *ctx, struct tg_err *err);

/*
 * Read the whole regular file at @path into a NUL-terminated buffer of at
 * most @max bytes (NUL not counted). Returns 0 with *@buf to free(), or
 * -errno (-EFBIG when larger, -EINVAL when not a regular file).
 */
int ranges_read_file(const char *path, size_t max, char **buf, size_t *len);

#endif /* TOLLGATE_RANGES_H */
