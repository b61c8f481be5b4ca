/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * util.h - small pure helpers shared by every stage: numbers parsed with
 * range checks, addresses and units formatted for people, the output
 * formats of the commands, JSON and CSV strings, and the two kernel facts
 * the loader reads (where cgroup v2 is mounted, which ports are
 * ephemeral).
 */
#ifndef TOLLGATE_UTIL_H
#define TOLLGATE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>

/* Parse a decimal number in [@min, @max]. Returns 0, -EINVAL (not a
 * number) or -ERANGE (out of range). */
int parse_u32(const char *s, __u32 min, __u32 max, __u32 *out);
int parse_u64(const char *s, __u64 min, __u64 max, __u64 *out);

/* Parse "a.b.c.d", "a.b.c.d:port", an IPv6 address alone or
 * "[ipv6]:port" into a 16-byte address (IPv4 mapped) and a port (0 when
 * none is given). Returns 0, or -EINVAL with *@why saying what is wrong. */
int parse_endpoint(const char *s, __u8 addr[16], __u16 *port,
		   const char **why);

/* Formatting for people; each returns @buf. */
const char *fmt_addr(const __u8 addr[16], char *buf, size_t len);
const char *fmt_bytes(__u64 v, char *buf, size_t len);
const char *fmt_count(__u64 v, char *buf, size_t len);

/* "tcp", "udp", ... and "client", "backend", ...: stable names. A
 * protocol without a name is written as its number, in every output. */
const char *proto_name(__u8 proto);
const char *role_name(__u8 role);

/* A protocol by name (tcp, udp, sctp, icmp, icmpv6, udplite) or number
 * (0..255). Returns 0 or -EINVAL. */
int proto_parse(const char *s, __u8 *out);

/* The output formats of the commands (--format). */
enum out_format { FMT_TABLE, FMT_JSON, FMT_CSV };

/* Parse "table", "json" (or "jsonl") or "csv". Returns 0 or -EINVAL. */
int format_parse(const char *s, enum out_format *out);

/* The length of the well-formed UTF-8 character at @s, of at most @n
 * bytes (no overlong forms, no surrogates, nothing past U+10FFFF), or 0
 * when none starts there. */
size_t utf8_char_len(const char *s, size_t n);

/* Whether the @n bytes at @s are well-formed UTF-8; if not, the offset of
 * the first byte that is not into *@bad (when not NULL). */
bool utf8_valid(const char *s, size_t n, size_t *bad);

/* @s as a JSON string, quotes included (a byte that is not UTF-8 as
 * \ufffd); as a CSV field, quoted when it must be. */
void json_string(FILE *f, const char *s);
void csv_string(FILE *f, const char *s);

/* Where cgroup v2 is mounted, from a /proc/mounts-format file @mounts:
 * the first cgroup2 mount. Returns 0, -ENOENT (none mounted),
 * -ENAMETOOLONG, -errno. */
int cgroup2_mount(const char *mounts, char *buf, size_t len);

/* The ephemeral port range from @path (ip_local_port_range). Returns 0,
 * -EINVAL (not a range) or -errno. */
int ephemeral_ports(const char *path, __u16 *lo, __u16 *hi);

#endif /* TOLLGATE_UTIL_H */
