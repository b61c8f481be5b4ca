/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * seed_out.h - one seed file as the seed generators write it (gen_h2:
 * fuzz_http2's connections, gen_hpack: fuzz_hpack's header blocks): the
 * bytes of one connection, gathered in memory and written out whole, and
 * the nghttp2 HPACK deflater that compresses the connection's header
 * blocks, one per connection as a client keeps it.
 *
 * seed_start() begins a seed with a fresh deflater, seed_put() adds
 * bytes, seed_deflate() compresses a header block with the seed's
 * deflater, seed_finish() writes the seed to DIR/NAME and frees the
 * deflater. Any failure ends the generator with a message: a seed is
 * written whole or the run fails.
 */
#ifndef TOLLGATE_FUZZ_SEED_OUT_H
#define TOLLGATE_FUZZ_SEED_OUT_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <nghttp2/nghttp2.h>

struct seed_out {
	uint8_t buf[65536];
	size_t len;
	nghttp2_hd_deflater *hd;
};

/* Ends the generator: "gen_h2: WHAT". */
static inline void seed_fail(const char *what)
{
	fprintf(stderr, "%s: %s\n", program_invocation_short_name, what);
	exit(1);
}

static inline void seed_put(struct seed_out *o, const void *p, size_t n)
{
	if (o->len + n > sizeof(o->buf)) {
		fprintf(stderr, "%s: a seed longer than %zu bytes\n",
			program_invocation_short_name, sizeof(o->buf));
		exit(1);
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
}

/* A header block of @nv, malloc()ed; its length in *@len. */
static inline uint8_t *seed_deflate(struct seed_out *o, const nghttp2_nv *nv,
				    size_t nr, size_t *len)
{
	size_t max = nghttp2_hd_deflate_bound(o->hd, nv, nr);
	uint8_t *b = malloc(max);
	ssize_t n;

	if (!b)
		seed_fail("out of memory for a header block");
	n = nghttp2_hd_deflate_hd(o->hd, b, max, nv, nr);
	if (n < 0)
		seed_fail(nghttp2_strerror((int)n));
	*len = n;
	return b;
}

/* An empty seed, with a deflater whose dynamic table holds @table bytes. */
static inline void seed_start(struct seed_out *o, size_t table)
{
	int err = nghttp2_hd_deflate_new(&o->hd, table);

	o->len = 0;
	if (err)
		seed_fail(nghttp2_strerror(err));
}

static inline void seed_finish(struct seed_out *o, const char *dir,
			       const char *name)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(o->buf, 1, o->len, f) != o->len || fclose(f)) {
		perror(path);
		exit(1);
	}
	nghttp2_hd_deflate_del(o->hd);
}

#endif /* TOLLGATE_FUZZ_SEED_OUT_H */
