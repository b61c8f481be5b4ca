// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * gen_hpack.c - write the seed corpus of fuzz_hpack: a client's header
 * blocks on one connection, compressed by nghttp2's own HPACK deflater
 * (one per connection, as a client keeps it), in fuzz_hpack's records
 * (ctl, 2-byte length, block; fuzz_hpack.c says what ctl means).
 *
 *   make fuzz-seeds       (gen_hpack tests/fuzz/corpus/fuzz_hpack)
 *
 * Run once; the files are checked in. Between them: :authority
 * Huffman-coded and plain, with incremental indexing, without, never
 * indexed; requests that name theirs through the dynamic table, more
 * names than names.h remembers, a small table that evicts, a table size
 * update; "host" instead of :authority; names with a port, a trailing
 * dot, in upper case, an IPv6 literal, too long; and each way of framing
 * a block.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <nghttp2/nghttp2.h>

#include "seed_out.h"

/* A record of block @b (@n bytes), framed as @ctl says. */
static void record(struct seed_out *o, uint8_t ctl, const uint8_t *b, size_t n)
{
	uint8_t h[3] = { ctl, n >> 8, n };

	seed_put(o, h, 3);
	seed_put(o, b, n);
}

#define NV(n, v, f) { (uint8_t *)(n), (uint8_t *)(v), strlen(n), \
		      strlen(v), (f) }

/* A request naming @authority under field name @field (NULL: none),
 * @flags for it, deflated into a record. */
static void request(struct seed_out *o, uint8_t ctl, const char *field,
		    const char *authority, uint8_t flags)
{
	nghttp2_nv nv[5] = {
		NV(":method", "GET", 0), NV(":scheme", "https", 0),
		NV(":path", "/v1/users?id=7", 0),
		NV("user-agent", "curl/7.88.1", 0),
	};
	size_t nnv = 4, n;
	uint8_t *b;

	if (authority) {
		nv[4] = nv[3];
		nv[3] = (nghttp2_nv)NV(field, authority, flags);
		nnv = 5;
	}
	b = seed_deflate(o, nv, nnv, &n);
	record(o, ctl, b, n);
	free(b);
}

/* a, a, b, A, c:443, b: literals, then dynamic table hits as the table
 * shifts; once for each way of framing the blocks. */
static void shifts(const char *dir)
{
	static const char *const seq[] = {
		"a.example", "a.example", "b.example", "A.example",
		"c.example:443", "b.example",
	};
	static const uint8_t ctls[] = {
		0x00, 0x08, 0x10, 0x02 | 0x40, 0x04, 0x02 | 0x04 | 0xe0,
	};
	char name[32];
	struct seed_out o;
	size_t i, c;

	for (c = 0; c < sizeof(ctls); c++) {
		seed_start(&o, 4096);
		for (i = 0; i < 6; i++)
			request(&o, ctls[c], ":authority", seq[i], 0);
		snprintf(name, sizeof(name), "shifts-%02x", ctls[c]);
		seed_finish(&o, dir, name);
	}
}

/* Never indexed, no :authority, "host", names of every shape, a trailers
 * block between requests. */
static void shapes(const char *dir)
{
	struct seed_out o;

	seed_start(&o, 4096);
	request(&o, 0, ":authority", "api.tenant-a.example",
		NGHTTP2_NV_FLAG_NO_INDEX);
	request(&o, 0, NULL, NULL, 0);
	request(&o, 0, "host", "API.Tenant-B.Example.:8443", 0);
	request(&o, 1, ":authority", "trailer.example", 0);
	request(&o, 0, ":authority", "[2001:db8::1]:443", 0);
	request(&o, 0, ":authority", "  www.tenant-a.example  ", 0);
	request(&o, 0, ":authority", "", 0);
	request(&o, 0, ":authority", "a..example", 0);
	request(&o, 0, ":authority", "ZZ9.PLURAL.Z.ALPHA", 0);
	request(&o, 0, "host", "API.Tenant-B.Example.:8443", 0);
	request(&o, 0, ":authority",
		"a-very-long-label-that-goes-on-and-on-past-what-is-kept."
		"tenant-a.example", 0);
	seed_finish(&o, dir, "shapes");
}

/* More :authority entries than names.h remembers, then each of them
 * again, newest first: a reference at every depth of the memory, and
 * past it. */
static void memory(const char *dir)
{
	char name[32];
	struct seed_out o;
	int i;

	seed_start(&o, 4096);
	for (i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "n%d.example", i);
		request(&o, 0, ":authority", name, 0);
	}
	/* n9 is the newest entry, n2 the oldest remembered */
	for (i = 9; i >= 0; i--) {
		snprintf(name, sizeof(name), "n%d.example", i);
		request(&o, 0, ":authority", name, 0);
	}
	seed_finish(&o, dir, "memory");
}

/* A table of 256 bytes, which evicts; then a size update. */
static void small(const char *dir)
{
	char name[40];
	struct seed_out o;
	int i;

	seed_start(&o, 256);
	for (i = 0; i < 6; i++) {
		snprintf(name, sizeof(name), "tenant-%d.example", i % 3);
		request(&o, 0, ":authority", name, 0);
	}
	if (nghttp2_hd_deflate_change_table_size(o.hd, 64))
		exit(1);
	request(&o, 0, ":authority", "tenant-0.example", 0);
	request(&o, 0, ":authority", "tenant-0.example", 0);
	seed_finish(&o, dir, "small-table");
}

/* Blocks by hand: plain strings, a literal ":authority" name, "host" by
 * static index, the dynamic entry, a size update first. */
static void by_hand(const char *dir)
{
	static const uint8_t b1[] = {
		0x82, 0x41, 9, 'a', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e',
	};
	static const uint8_t b2[] = { 0x3f, 0xe1, 0x1f, 0x82, 0x80 | 62 };
	static const uint8_t b3[] = {
		0x00, 10, ':', 'a', 'u', 't', 'h', 'o', 'r', 'i', 't', 'y',
		9, 'b', '.', 'e', 'x', 'a', 'm', 'p', 'l', 'e',
	};
	static const uint8_t b4[] = {
		0x1f, 38 - 15, 12, 'C', '.', 'E', 'X', 'A', 'M', 'P', 'L', 'E',
		':', '8', '0',
	};
	static const uint8_t b5[] = {
		0x40, 4, 'h', 'o', 's', 't', 9, 'd', '.', 'e', 'x', 'a', 'm',
		'p', 'l', 'e', 0x82, 0x80 | 62,
	};
	static const uint8_t b6[] = { 0x80 | 62, 0x80 | 63 };
	struct seed_out o;

	seed_start(&o, 4096);
	record(&o, 0, b1, sizeof(b1));
	record(&o, 0, b2, sizeof(b2));
	record(&o, 0, b3, sizeof(b3));
	record(&o, 0, b4, sizeof(b4));
	record(&o, 0, b5, sizeof(b5));
	record(&o, 0, b6, sizeof(b6));
	seed_finish(&o, dir, "by-hand");
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_hpack DIR\n");
		return 2;
	}
	shifts(argv[1]);
	shapes(argv[1]);
	memory(argv[1]);
	small(argv[1]);
	by_hand(argv[1]);
	return 0;
}
