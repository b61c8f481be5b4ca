/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * cidr.h - the classify stage's address prefixes and a longest-prefix-match
 * table over them.
 *
 * Every address is 16 bytes, as in meter.h: IPv6 as is, IPv4 mapped into
 * IPv6 (::ffff:a.b.c.d). A prefix lives in the same 128-bit space, so an
 * IPv4 prefix a.b.c.d/n is stored as ::ffff:a.b.c.d/(96+n). That makes an
 * IPv4-mapped IPv6 address classify exactly like the IPv4 address it
 * carries, and one table serves both families.
 *
 * The table is a path-compressed binary trie whose nodes live in one array
 * and point at each other by index, with jump tables over the first 16
 * bits: loading 100,000 prefixes takes tens of milliseconds, a lookup
 * touches a jump entry and the few nodes below it, never a list of
 * prefixes. It maps each prefix to a 32-bit value chosen by
 * the caller (an index into the caller's own rule array).
 */
#ifndef TOLLGATE_CIDR_H
#define TOLLGATE_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

/* A prefix. Bits past @len are always zero. */
struct cidr {
	__u8 addr[16];		/* network byte order, IPv4 mapped */
	__u8 len;		/* 0..128; an IPv4 /n is 96 + n */
};

/* Longest text cidr_format() writes, NUL included. */
#define CIDR_STRLEN 48

/* Value of "no prefix" in a table. */
#define CIDR_NONE 0xffffffffu

/*
 * Parse "a.b.c.d/n", "x:y::z/n", or an address alone (a host prefix: /32
 * or /128). An IPv6 prefix inside ::ffff:0:0/96 is an IPv4 prefix. Returns
 * 0; -EINVAL when @s is not a prefix; -EDOM when bits past the length are
 * set, with @out then holding the masked prefix so the caller can suggest
 * it. Leading zeros and white space are not accepted.
 */
int cidr_parse(const char *s, struct cidr *out);

/*
 * Write @p as text into @buf, IPv4 prefixes as a.b.c.d/n. Returns @buf.
 * @len of CIDR_STRLEN always suffices.
 */
const char *cidr_format(const struct cidr *p, char *buf, size_t len);

/* Whether @p is an IPv4 prefix (inside ::ffff:0:0/96). */
bool cidr_is_v4(const struct cidr *p);

/* Whether @addr lies inside @p. */
bool cidr_contains(const struct cidr *p, const __u8 addr[16]);

/* Map the IPv4 address @v4 (network byte order) to ::ffff:a.b.c.d. */
void cidr_map_v4(const __u8 v4[4], __u8 out[16]);

struct cidr_table;

/* An empty table, or NULL with errno set. */
struct cidr_table *cidr_table_new(void);

void cidr_table_free(struct cidr_table *t);

/*
 * The value slot of exactly @p, created with CIDR_NONE when @p is not in
 * the table yet, so the caller decides what an equal prefix means. The
 * pointer is valid until the next call that adds to @t. Returns NULL with
 * errno set to ENOMEM when the table cannot grow.
 */
__u32 *cidr_table_slot(struct cidr_table *t, const struct cidr *p);

/*
 * Value of the longest prefix in @t that holds @addr, or CIDR_NONE. When
 * found and @plen is not NULL, the prefix length goes there (128-bit space).
 */
__u32 cidr_table_lookup(const struct cidr_table *t, const __u8 addr[16],
			__u8 *plen);

/*
 * Make lookups in @t fast once it is complete: lays the nodes out depth
 * first and builds 1 MiB of jump tables over the first 16 address bits,
 * which the next cidr_table_slot() drops. Lookups are correct with or
 * without them. Values stay; slot pointers do not. Returns 0 or -ENOMEM.
 */
int cidr_table_optimize(struct cidr_table *t);

/* Number of prefixes with a value in @t. */
size_t cidr_table_count(const struct cidr_table *t);

#endif /* TOLLGATE_CIDR_H */
