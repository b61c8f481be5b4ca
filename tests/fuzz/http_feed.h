/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * http_feed.h - drive include/http.h's request counter the way
 * bpf/meter.bpf.c does (skip bodies, then bytes; stop at the first
 * DESYNC or OTHER event), for the differential fuzz targets.
 *
 * feed_trace() feeds a stream one byte a read and records the count after
 * every byte, so a harness can compare it with a reference at any offset.
 * feed_check_cuts() feeds the same stream cut into reads in many ways
 * (one read, every single cut of a short stream, a sample of cuts of a
 * longer one, a random multi-cut) and aborts unless every way ends with the
 * same count, the same events and the same parser state: the counter is
 * incremental over reads, and how the reads fall must never matter.
 */
#ifndef TOLLGATE_FUZZ_HTTP_FEED_H
#define TOLLGATE_FUZZ_HTTP_FEED_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>

#include "http.h"

struct feed_result {
	struct tg_http h;	/* the state at the end */
	unsigned int calls;
	int ev;			/* the DESYNC/OTHER/TLS event, or 0 */
	size_t ev_at;		/* offset of the byte that caused it */
};

/* One read of @n bytes at stream offset @base, as seg_step() does it. */
static inline void feed_read(struct feed_result *r, const uint8_t *p,
			     size_t n, size_t base)
{
	size_t off = 0;

	while (off < n && !r->ev) {
		__u64 k = tg_http_skip(&r->h, n - off);
		int ev;

		if (k) {
			off += k;
			continue;
		}
		ev = tg_http_byte(&r->h, p[off++]);
		if (ev == TG_HTTP_EV_CALL && tg_http_done(&r->h)) {
			/* a head that ends the connection: counted, and
			 * the rest of the stream is lost */
			r->calls++;
			ev = TG_HTTP_EV_DESYNC;
		}
		if (ev == TG_HTTP_EV_CALL) {
			r->calls++;
		} else if (ev != TG_HTTP_EV_NONE) {
			r->ev = ev;
			r->ev_at = base + off - 1;
		}
	}
}

/* The stream @s of @n bytes in reads that end at @cuts (ascending). */
static inline struct feed_result feed_cuts(const uint8_t *s, size_t n,
					   const size_t *cuts, size_t ncuts)
{
	struct feed_result r;
	size_t prev = 0, i;

	memset(&r, 0, sizeof(r));
	for (i = 0; i <= ncuts && !r.ev; i++) {
		size_t end = i < ncuts ? cuts[i] : n;

		feed_read(&r, s + prev, end - prev, prev);
		prev = end;
	}
	return r;
}

/*
 * One byte a read; @at[i] is the count after the first i bytes (n + 1
 * entries). After an event the counts stay where they were.
 */
static inline struct feed_result feed_trace(const uint8_t *s, size_t n,
					    unsigned int *at)
{
	struct feed_result r;
	size_t i;

	memset(&r, 0, sizeof(r));
	at[0] = 0;
	for (i = 0; i < n; i++) {
		feed_read(&r, s + i, 1, i);
		at[i + 1] = r.calls;
	}
	return r;
}

static inline int feed_same(const struct feed_result *a,
			    const struct feed_result *b)
{
	return a->calls == b->calls && a->ev == b->ev &&
	       (!a->ev || a->ev_at == b->ev_at) &&
	       !memcmp(&a->h, &b->h, sizeof(a->h));
}

static inline void feed_fail(const char *how, const struct feed_result *want,
			     const struct feed_result *got)
{
	fprintf(stderr,
		"http.h: %s: %u calls, event %d at %zu, state %u; one byte "
		"a read: %u calls, event %d at %zu, state %u\n",
		how, got->calls, got->ev, got->ev_at, got->h.state,
		want->calls, want->ev, want->ev_at, want->h.state);
	abort();
}

/* xorshift: cut positions from the input itself, so a crash reproduces. */
static inline uint32_t feed_rand(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

/*
 * Feed @s in the ways described at the top; each must end as @want (the
 * byte-a-read result of feed_trace()) does, or the target aborts.
 */
static inline void feed_check_cuts(const uint8_t *s, size_t n,
				   const struct feed_result *want)
{
	struct feed_result r;
	size_t cuts[64], nc, i;
	uint32_t x = 2166136261u;

	r = feed_cuts(s, n, NULL, 0);
	if (!feed_same(want, &r))
		feed_fail("one read", want, &r);
	for (i = 0; i < n; i++)
		x = (x ^ s[i]) * 16777619u;
	x |= 1;
	for (i = 1; i < n; i++) {
		/* every cut of a short stream, about 64 of a longer one */
		if (n > 64 && feed_rand(&x) % n >= 64)
			continue;
		cuts[0] = i;
		r = feed_cuts(s, n, cuts, 1);
		if (!feed_same(want, &r)) {
			fprintf(stderr, "http.h: cut at %zu\n", i);
			feed_fail("two reads", want, &r);
		}
	}
	for (nc = 0; nc < 64; nc++) {
		size_t c = (nc ? cuts[nc - 1] : 0) + 1 + feed_rand(&x) % 64;

		if (c >= n)
			break;
		cuts[nc] = c;
	}
	r = feed_cuts(s, n, cuts, nc);
	if (!feed_same(want, &r))
		feed_fail("random reads", want, &r);
}

#endif /* TOLLGATE_FUZZ_HTTP_FEED_H */
