// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * util.c - shared helpers: number parsing with range checks, address
 * and unit formatting, JSON string escaping, and reading the two kernel
 * facts the loader needs (where cgroup v2 is mounted, which ports are
 * ephemeral).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "meter.h"

/* Parse a decimal number in [min, max] into 64 bits; -EINVAL if not a
 * number, -ERANGE if out of range. */
int parse_u64(const char *s, __u64 min, __u64 max, __u64 *out)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

/* Parse a decimal number in [min, max]; -EINVAL if not a number, -ERANGE if
 * out of range. */
int parse_u32(const char *s, __u32 min, __u32 max, __u32 *out)
{
	__u64 v;
	int err = parse_u64(s, min, max, &v);

	if (!err)
		*out = v;
	return err;
}

static bool is_v4_mapped(const __u8 a[16])
{
	static const __u8 prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					 0xff, 0xff };

	return !memcmp(a, prefix, sizeof(prefix));
}

/* Text of an address; IPv4-mapped IPv6 addresses print as IPv4. */
const char *fmt_addr(const __u8 addr[16], char *buf, size_t len)
{
	if (is_v4_mapped(addr))
		return inet_ntop(AF_INET, addr + 12, buf, len);
	return inet_ntop(AF_INET6, addr, buf, len);
}

static const char *fmt_scaled(__u64 v, unsigned int base,
			      const char *const *units, char *buf, size_t len)
{
	double d = v;
	int i = 0;

	if (v < base) {
		snprintf(buf, len, "%llu%s%s", (unsigned long long)v,
			 *units[0] ? " " : "", units[0]);
		return buf;
	}
	while (d >= base && units[i + 1]) {
		d /= base;
		i++;
	}
	snprintf(buf, len, "%.*f %s", d < 10 ? 2 : d < 100 ? 1 : 0, d,
		 units[i]);
	return buf;
}

/* Bytes in binary units: "512 B", "1.50 KiB", "12.3 MiB". */
const char *fmt_bytes(__u64 v, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB",
					     "PiB", "EiB", NULL };

	return fmt_scaled(v, 1024, units, buf, len);
}

/* Counts in decimal units: "999", "1.00 k", "12.3 M". */
const char *fmt_count(__u64 v, char *buf, size_t len)
{
	static const char *const units[] = { "", "k", "M", "G", "T", "P", "E",
					     NULL };

	return fmt_scaled(v, 1000, units, buf, len);
}

/* The protocols known by name, the one table of proto_name() and
 * proto_parse(). */
static const struct {
	__u8 num;
	const char *name;
} protos[] = {
	{ 6, "tcp" },	  { 17, "udp" },     { 1, "icmp" },
	{ 58, "icmpv6" }, { 136, "udplite" }, { 132, "sctp" },
};

const char *proto_name(__u8 proto)
{
	size_t i;

	for (i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		if (protos[i].num == proto)
			return protos[i].name;
	return NULL;
}

int proto_parse(const char *s, __u8 *out)
{
	size_t i;
	__u32 v;

	for (i = 0; i < sizeof(protos) / sizeof(protos[0]); i++) {
		if (!strcmp(s, protos[i].name)) {
			*out = protos[i].num;
			return 0;
		}
	}
	if (parse_u32(s, 0, 255, &v))
		return -EINVAL;
	*out = v;
	return 0;
}

const char *role_name(__u8 role)
{
	switch (role) {
	case TG_ROLE_CLIENT:
		return "client";
	case TG_ROLE_BACKEND:
		return "backend";
	default:
		return "none";
	}
}

/* The length of the UTF-8 character at @s; see util.h. */
size_t utf8_char_len(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (!n)
		return 0;
	if (u[0] < 0x80)
		return 1;
	/* Unicode's table of well-formed byte sequences (3-7): the second
	 * byte's range is what rules out overlong forms, surrogates and
	 * code points past U+10FFFF. */
	if (u[0] >= 0xc2 && u[0] <= 0xdf)
		len = 2;
	else if (u[0] >= 0xe0 && u[0] <= 0xef)
		len = 3;
	else if (u[0] >= 0xf0 && u[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (u[0] == 0xe0)
		lo = 0xa0;
	else if (u[0] == 0xed)
		hi = 0x9f;
	else if (u[0] == 0xf0)
		lo = 0x90;
	else if (u[0] == 0xf4)
		hi = 0x8f;
	if (n < len || u[1] < lo || u[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (u[i] < 0x80 || u[i] > 0xbf)
			return 0;
	return len;
}

/* Whether @s is well-formed UTF-8; see util.h. */
bool utf8_valid(const char *s, size_t n, size_t *bad)
{
	size_t i = 0, len;

	while (i < n) {
		len = utf8_char_len(s + i, n - i);
		if (!len) {
			if (bad)
				*bad = i;
			return false;
		}
		i += len;
	}
	return true;
}

/*
 * Write @s as a JSON string, quotes included. JSON is UTF-8: a byte that
 * is not part of a well-formed character (a name stored before names
 * were checked) is written as U+FFFD, never as itself.
 */
void json_string(FILE *f, const char *s)
{
	size_t n;

	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\') {
			fprintf(f, "\\%c", c);
		} else if (c == '\n') {
			fputs("\\n", f);
		} else if (c == '\t') {
			fputs("\\t", f);
		} else if (c < 0x20) {
			fprintf(f, "\\u%04x", c);
		} else if (c < 0x80) {
			fputc(c, f);
		} else if ((n = utf8_char_len(s, 4))) {
			/* 4 is safe: the check stops at the NUL */
			fwrite(s, 1, n, f);
			s += n - 1;
		} else {
			fputs("\\ufffd", f);
		}
	}
	fputc('"', f);
}

/* Write @s as a CSV field (RFC 4180): quoted when it holds a comma or a
 * quote, or starts or ends with a blank. */
void csv_string(FILE *f, const char *s)
{
	size_t n = strlen(s);

	if (!strpbrk(s, ",\"") && (!n || (s[0] != ' ' && s[n - 1] != ' '))) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

/*
 * Parse "a.b.c.d", "a.b.c.d:port", an IPv6 address alone, or
 * "[ipv6]:port" into @addr (16 bytes, IPv4 mapped) and @port (0 when none
 * is given; 1..65535 otherwise). Returns 0, or -EINVAL with *@why saying
 * what is wrong.
 */
int parse_endpoint(const char *s, __u8 addr[16], __u16 *port, const char **why)
{
	char host[INET6_ADDRSTRLEN];
	const char *p = NULL, *end;
	bool v6 = false;
	__u32 v;
	__u8 v4[4];
	size_t n;

	if (s[0] == '[') {
		end = strchr(s, ']');
		if (!end || (end[1] && end[1] != ':')) {
			*why = "an IPv6 address with a port is written "
			       "[ADDR]:PORT";
			return -EINVAL;
		}
		s++;
		n = end - s;
		if (end[1])
			p = end + 2;
		v6 = true;
	} else {
		end = strchr(s, ':');
		/* One colon: IPv4 with a port; more: IPv6 without one. */
		if (end && !strchr(end + 1, ':')) {
			n = end - s;
			p = end + 1;
		} else {
			n = strlen(s);
			v6 = end != NULL;
		}
	}
	if (n >= sizeof(host)) {
		*why = "not an IPv4 or IPv6 address";
		return -EINVAL;
	}
	memcpy(host, s, n);
	host[n] = '\0';
	if (!v6 && inet_pton(AF_INET, host, v4) == 1) {
		memset(addr, 0, 10);
		addr[10] = addr[11] = 0xff;
		memcpy(addr + 12, v4, 4);
	} else if (!v6 || inet_pton(AF_INET6, host, addr) != 1) {
		*why = v6 ? "not an IPv6 address" :
			    "not an IPv4 or IPv6 address";
		return -EINVAL;
	}
	*port = 0;
	if (p) {
		if (parse_u32(p, 1, 65535, &v)) {
			*why = "the port is not a number from 1 to 65535";
			return -EINVAL;
		}
		*port = v;
	}
	return 0;
}

/* Parse an output format: table, json (or jsonl, JSON lines), csv.
 * Returns 0 or -EINVAL. */
int format_parse(const char *s, enum out_format *out)
{
	if (!strcmp(s, "table"))
		*out = FMT_TABLE;
	else if (!strcmp(s, "json") || !strcmp(s, "jsonl"))
		*out = FMT_JSON;
	else if (!strcmp(s, "csv"))
		*out = FMT_CSV;
	else
		return -EINVAL;
	return 0;
}

/*
 * Find where cgroup v2 is mounted, from a mounts file in /proc/mounts
 * format. The first cgroup2 mount wins: /sys/fs/cgroup on a unified
 * system, /sys/fs/cgroup/unified on a hybrid one. Returns 0, -ENOENT when
 * there is none, or -errno when the file cannot be read.
 */
int cgroup2_mount(const char *mounts, char *buf, size_t len)
{
	char line[8192], dev[256], dir[4096], type[64];
	int err = -ENOENT;
	FILE *f;

	f = fopen(mounts, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%255s %4095s %63s", dev, dir, type) != 3)
			continue;
		if (strcmp(type, "cgroup2"))
			continue;
		if (strlen(dir) >= len) {
			err = -ENAMETOOLONG;
			break;
		}
		/* /proc/mounts escapes blanks as octal: \040 */
		snprintf(buf, len, "%s", dir);
		for (char *r = buf, *w = buf;; r++, w++) {
			if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' &&
			    r[2] >= '0' && r[2] <= '7' && r[3] >= '0' &&
			    r[3] <= '7') {
				*w = (r[1] - '0') * 64 + (r[2] - '0') * 8 +
				     (r[3] - '0');
				r += 3;
			} else {
				*w = *r;
			}
			if (!*r)
				break;
		}
		err = 0;
		break;
	}
	fclose(f);
	return err;
}

/* Read net.ipv4.ip_local_port_range ("lo<TAB>hi"). */
int ephemeral_ports(const char *path, __u16 *lo, __u16 *hi)
{
	unsigned int a, b;
	FILE *f;
	int n;

	f = fopen(path, "re");
	if (!f)
		return -errno;
	n = fscanf(f, "%u %u", &a, &b);
	fclose(f);
	if (n != 2 || a > 65535 || b > 65535 || a > b)
		return -EINVAL;
	*lo = a;
	*hi = b;
	return 0;
}
