// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_http.c - libFuzzer target: arbitrary bytes as what a gateway's
 * client sends, through the HTTP request counter of include/http.h (the
 * kernel meter's own code). The first two bytes pick where the stream is
 * cut into reads; the rest is the stream. It is fed the way the meter
 * feeds it (skip bodies, then bytes), in one read, cut where the first
 * bytes say and one byte a read: the counts, the event and the final
 * state must not depend on the cuts, a skip never passes the bytes there
 * are, and no call is counted on fewer bytes than the shortest head.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <linux/types.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct result {
	size_t calls, events;
	int ev;
};

/* One read of @n bytes, as seg_step() in bpf/meter.bpf.c handles it. */
static void feed(struct tg_http *h, const uint8_t *p, size_t n,
		 struct result *r)
{
	size_t off = 0;

	while (off < n) {
		__u64 k = tg_http_skip(h, n - off);
		int ev;

		if (k) {
			if (k > n - off)
				abort();	/* skipped what is not there */
			off += k;
			continue;
		}
		ev = tg_http_byte(h, p[off++]);
		if (ev == TG_HTTP_EV_CALL && tg_http_done(h)) {
			r->calls++;
			ev = TG_HTTP_EV_DESYNC;
		}
		if (ev == TG_HTTP_EV_CALL) {
			r->calls++;
		} else if (ev != TG_HTTP_EV_NONE) {
			r->ev = ev;
			r->events++;
			return;
		}
	}
}

static struct result run(const uint8_t *s, size_t n, size_t step,
			 size_t first, struct tg_http *out)
{
	struct tg_http h = {};
	struct result r = {};
	size_t off = 0, len;

	while (off < n && !tg_http_done(&h)) {
		len = off ? step : first;
		if (!len || len > n - off)
			len = n - off;
		feed(&h, s + off, len, &r);
		off += len;
	}
	*out = h;
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tg_http a, b, c;
	struct result ra, rb, rc;
	const uint8_t *s;
	size_t n;

	if (size < 2)
		return 0;
	s = data + 2;
	n = size - 2;
	ra = run(s, n, 0, 0, &a);
	rb = run(s, n, 1 + data[0] % 64, 1 + data[1] % 64, &b);
	rc = run(s, n, 1, 1, &c);
	if (ra.calls != rb.calls || ra.calls != rc.calls ||
	    a.state != b.state || a.state != c.state || ra.ev != rb.ev ||
	    ra.ev != rc.ev || ra.events > 1)
		abort();
	/* The shortest head the counter takes ("x\n\n", as a server logs a
	 * 400 for it) is 3 bytes, an HTTP/2 frame header 9. */
	if (ra.calls > n / 3)
		abort();
	return 0;
}
