// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_http1.c - libFuzzer target: include/http.h's HTTP/1.x request
 * count against http-parser's (Debian's libhttp-parser) on the same
 * bytes, as the stream a server reads from a client.
 *
 * The input is the stream. The counter must give the same result however
 * the stream is cut into reads (http_feed.h). Then, on the prefix of the
 * stream that http-parser accepts and that is comparable (http1_ref.h:
 * up to its first error, an upgrade, or a stop where the two differ by
 * design), and where the counter did not give up (DESYNC, OTHER), the two
 * counts must be equal after every byte.
 *
 * TG_FUZZ_STATS=1 in the environment prints, at exit, how the inputs fell
 * (compared whole, up to an error of the reference, up to each kind of
 * stop; lost by the counter).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_feed.h"
#include "http1_ref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* the reference's verdicts, then: */
#define V_LOST H1_NR		/* the counter gave up before the end */
static unsigned long stats[H1_NR + 1];

static void print_stats(void)
{
	int i;

	for (i = 0; i < H1_NR; i++)
		fprintf(stderr, "fuzz_http1: %lu %s\n", stats[i],
			h1_verdict_name[i]);
	fprintf(stderr, "fuzz_http1: %lu lost by the counter\n",
		stats[V_LOST]);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	h1_ref_init();
	if (getenv("TG_FUZZ_STATS"))
		atexit(print_stats);
	return 0;
}

static void mismatch(const uint8_t *s, size_t n, const unsigned int *want,
		     const unsigned int *got, size_t end, enum h1_verdict v)
{
	size_t i, from;

	for (i = 0; i <= end && want[i] == got[i]; i++)
		;
	fprintf(stderr,
		"fuzz_http1: after %zu of %zu bytes (%s, at %zu): "
		"http-parser counts %u, http.h %u; at %zu, %u and %u\n",
		i, n, h1_verdict_name[v], end, want[i], got[i], end,
		want[end], got[end]);
	from = i > 80 ? i - 80 : 0;
	fprintf(stderr, "fuzz_http1: the bytes before: ");
	for (; from < i && from < n; from++)
		fprintf(stderr, s[from] >= 0x20 && s[from] < 0x7f ? "%c" :
				"\\x%02x", s[from]);
	fputc('\n', stderr);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct feed_result got;
	unsigned int *want, *at;
	enum h1_verdict v;
	struct h1_ref ref;
	size_t end = 0;

	want = calloc(size + 1, sizeof(*want));
	at = calloc(size + 1, sizeof(*at));
	if (!want || !at)
		abort();
	got = feed_trace(data, size, at);
	feed_check_cuts(data, size, &got);

	v = h1_ref_run(&ref, data, size, want, &end);
	if (got.ev && got.ev_at < end) {
		stats[V_LOST]++;
	} else {
		stats[v]++;
		if (memcmp(want, at, (end + 1) * sizeof(*at)))
			mismatch(data, size, want, at, end, v);
	}
	free(want);
	free(at);
	return 0;
}
