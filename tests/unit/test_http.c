// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_http.c - the HTTP request and response counters of include/http.h,
 * the very code the kernel meter runs, on crafted streams.
 *
 * The streams are fed the way bpf/calls.bpf.h feeds them (skip bodies,
 * skip to the line's end where only that matters, then bytes), cut into
 * reads at every byte position, one byte a read, and in one read: the
 * count must never depend on how the stream was cut. Requests are the
 * stream a server reads (cleartext calls), responses the stream it
 * writes (TLS calls, counted where the TLS library encrypts).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <linux/types.h>

#include "http.h"

struct result {
	unsigned int calls;
	int ev;			/* last DESYNC or OTHER event, else 0 */
	unsigned int events;	/* how many DESYNC or OTHER events */
};

/* The direction under test: 0 requests (tg_http_byte), 1 responses
 * (tg_resp_byte). */
static int resp_dir;

/* One read of @n bytes, as seg_step() in bpf/calls.bpf.h handles it. */
static void feed(struct tg_http *h, const char *p, size_t n, struct result *r)
{
	size_t off = 0;

	while (off < n) {
		__u64 k = tg_http_skip(h, n - off);
		int ev;

		if (k) {
			off += k;
			continue;
		}
		if (tg_http_in_line(h, resp_dir)) {
			const char *lf = memchr(p + off, '\n', n - off);

			if (!lf)
				return;
			off = lf - p;
		}
		ev = resp_dir ? tg_resp_byte(h, (__u8)p[off++]) :
				tg_http_byte(h, (__u8)p[off++]);
		if (ev == TG_HTTP_EV_CALL && h->state == TG_HTTP_DESYNC) {
			/* a head that ends the connection: counted, and the
			 * rest of the stream is lost */
			r->calls++;
			ev = TG_HTTP_EV_DESYNC;
		}
		if (ev == TG_HTTP_EV_CALL) {
			r->calls++;
		} else if (ev != TG_HTTP_EV_NONE) {
			r->ev = ev;
			r->events++;
			return;	/* the kernel stops parsing the socket */
		}
	}
}

/* The whole stream in reads cut at @cuts (ascending, inside the stream). */
static struct result run_cuts(const char *s, size_t n, const size_t *cuts,
			      size_t ncuts, struct tg_http *out)
{
	struct tg_http h = {};
	struct result r = {};
	size_t prev = 0, i;

	for (i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : n;

		if (!tg_http_done(&h))
			feed(&h, s + prev, end - prev, &r);
		prev = end;
	}
	if (out)
		*out = h;
	return r;
}

/*
 * Feed @s in one read, in two reads cut at every position, in three reads
 * cut at every pair of positions (short streams), and one byte per read:
 * each way must count @calls requests and end in @state.
 */
static void expect(const char *s, size_t n, unsigned int calls, int state)
{
	struct tg_http h;
	struct result r;
	size_t cuts[2], i, j;

	r = run_cuts(s, n, NULL, 0, &h);
	if (r.calls != calls || h.state != state)
		fail_msg("one read: %u calls, state %u; expected %u, %d",
			 r.calls, h.state, calls, state);
	for (i = 1; i < n; i++) {
		cuts[0] = i;
		r = run_cuts(s, n, cuts, 1, &h);
		if (r.calls != calls || h.state != state)
			fail_msg("cut at %zu: %u calls, state %u; expected "
				 "%u, %d", i, r.calls, h.state, calls, state);
	}
	for (i = 1; n <= 400 && i < n; i++) {
		for (j = i + 1; j < n; j++) {
			cuts[0] = i;
			cuts[1] = j;
			r = run_cuts(s, n, cuts, 2, &h);
			if (r.calls != calls || h.state != state)
				fail_msg("cuts at %zu, %zu: %u calls, state %u; "
					 "expected %u, %d", i, j, r.calls,
					 h.state, calls, state);
		}
	}
	{
		struct tg_http b = {};
		struct result rb = {};

		for (i = 0; i < n && !tg_http_done(&b); i++)
			feed(&b, s + i, 1, &rb);
		if (rb.calls != calls || b.state != state)
			fail_msg("byte by byte: %u calls, state %u; expected "
				 "%u, %d", rb.calls, b.state, calls, state);
	}
}

#define EXPECT(s, calls, state) expect(s, sizeof(s) - 1, calls, state)

static void test_keepalive(void **state)
{
	EXPECT("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
	       "GET /b HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n"
	       "HEAD /c HTTP/1.1\r\nHost: x\r\n\r\n",
	       3, TG_HTTP_IDLE);
	/* HTTP/1.0, bare LF line ends, blank lines between requests */
	EXPECT("GET / HTTP/1.0\n\n\r\n\r\nGET / HTTP/1.0\nA: b\n\n\n", 2,
	       TG_HTTP_IDLE);
	/* an unfinished head is not a call yet */
	EXPECT("GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHo", 1,
	       TG_HTTP_SKIPLINE);
	EXPECT("GET / HTTP/1.1\r\nHost: x\r\n\r", 0, TG_HTTP_HDR_CR);
}

static void test_content_length(void **state)
{
	/* bodies that hold request lines, blank lines and chunk sizes */
	EXPECT("POST /a HTTP/1.1\r\nContent-Length: 18\r\n\r\n"
	       "GET / HTTP/1.1\r\n\r\n"
	       "PUT /b HTTP/1.1\r\ncontent-LENGTH:\t 7 \r\nHost: x\r\n\r\n"
	       "0\r\n\r\n\r\n"
	       "GET /c HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
	       3, TG_HTTP_IDLE);
	/* names that only look like Content-Length */
	EXPECT("POST / HTTP/1.1\r\nX-Content-Length: 5\r\n"
	       "Content-Lengthy: 5\r\nContent-Lengt: 5\r\n\r\n"
	       "GET / HTTP/1.1\r\n\r\n",
	       2, TG_HTTP_IDLE);
	/* in the middle of a body */
	EXPECT("POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\nGET / HTTP/1.1",
	       1, TG_HTTP_BODY);
}

static void test_big_body(void **state)
{
	static const char head[] =
		"POST /up HTTP/1.1\r\nContent-Length: 1000000\r\n\r\n";
	size_t n = sizeof(head) - 1 + 1000000 + 18, i;
	char *s = malloc(n);
	struct tg_http h = {};
	struct result r = {};
	size_t cuts[1];

	assert_non_null(s);
	memcpy(s, head, sizeof(head) - 1);
	for (i = sizeof(head) - 1; i < n - 18; i++)
		s[i] = "GET / HTTP/1.1\r\n\r\n"[i % 18];
	memcpy(s + n - 18, "GET / HTTP/1.1\r\n\r\n", 18);
	r = run_cuts(s, n, NULL, 0, &h);
	assert_int_equal(r.calls, 2);
	assert_int_equal(h.state, TG_HTTP_IDLE);
	/* cut in 16 KB reads, and at a few awkward places */
	for (i = 1; i < 200; i++) {
		cuts[0] = i * 5003;
		r = run_cuts(s, n, cuts, 1, &h);
		assert_int_equal(r.calls, 2);
	}
	free(s);
}

static void test_chunked(void **state)
{
	/* extensions (quoted, with ';'), a chunk holding a request, upper
	 * case hex, trailers, then the next request */
	EXPECT("POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
	       "\r\n"
	       "5;name=value;q=\"a;b\"\r\nhello\r\n"
	       "10\r\nGET / HTTP/1.1\r\n\r\n"
	       "A \r\n0123456789\r\n"
	       "0;last\r\nX-Trailer: GET / HTTP/1.1\r\nY: z\r\n\r\n"
	       "GET /next HTTP/1.1\r\n\r\n",
	       2, TG_HTTP_IDLE);
	/* as curl sends it, no trailers; a coding list ending in chunked;
	 * Content-Length ignored beside chunked */
	EXPECT("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, Chunked\r\n"
	       "Content-Length: 3\r\n\r\n"
	       "3\r\nabc\r\n0\r\n\r\n"
	       "POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n"
	       "1a\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n",
	       2, TG_HTTP_IDLE);
	/* chunked is not the last coding: the body's length is unknown, the
	 * server refuses the request and closes (RFC 9112, 6.3) */
	EXPECT("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"
	       "GET / HTTP/1.1\r\n\r\n",
	       1, TG_HTTP_DESYNC);
	/* a token that only starts like chunked */
	EXPECT("POST / HTTP/1.1\r\nTransfer-Encoding: chunkedx\r\n\r\n"
	       "GET / HTTP/1.1\r\n\r\n",
	       1, TG_HTTP_DESYNC);
	/* a later line continues the list */
	EXPECT("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
	       "Transfer-Encoding: gzip\r\n\r\n0\r\n\r\n",
	       1, TG_HTTP_DESYNC);
	/* codings folded onto a line of their own (obs-fold), as
	 * http-parser reads them and nginx does not: never a request in
	 * what may be the body (found by tests/fuzz/fuzz_http1) */
	EXPECT("POST / HTTP/1.1\r\nTransfer-Encoding: gzip,\r\n chunked\r\n"
	       "\r\n0\r\n\r\n",
	       1, TG_HTTP_DESYNC);
	EXPECT("POST / HTTP/1.1\r\nTransfer-Encoding: \r\n gzip, chunked\r\n"
	       "\r\n3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n",
	       1, TG_HTTP_DESYNC);
	/* in the middle of a chunk */
	EXPECT("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	       "ff\r\nGET / HTTP/1.1\r\n\r\n",
	       1, TG_HTTP_CDATA);
}

static void test_pipelined(void **state)
{
	char s[4096];
	size_t n = 0;
	int i;

	for (i = 0; i < 40; i++)
		n += snprintf(s + n, sizeof(s) - n,
			      "GET /%d HTTP/1.1\r\nHost: x\r\n\r\n", i);
	expect(s, n, 40, TG_HTTP_IDLE);
	EXPECT("POST /1 HTTP/1.1\r\nContent-Length: 4\r\n\r\nabcd"
	       "POST /2 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	       "4\r\nabcd\r\n0\r\n\r\n"
	       "GET /3 HTTP/1.1\r\n\r\n",
	       3, TG_HTTP_IDLE);
}

static void test_garbage(void **state)
{
	static const char tls[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03";
	struct tg_http h;
	struct result r;

	/* not HTTP from the first byte: a TLS handshake, told apart from
	 * other protocols, so that TLS connections without SSL_read hooks
	 * can be reported as such */
	r = run_cuts(tls, sizeof(tls) - 1, NULL, 0, &h);
	assert_int_equal(r.calls, 0);
	assert_int_equal(r.ev, TG_HTTP_EV_TLS);
	assert_int_equal(r.events, 1);
	assert_int_equal(h.state, TG_HTTP_OTHER);
	assert_true(tg_http_done(&h));
	/* other bytes that are no method are just not HTTP */
	r = run_cuts("\x17\x03\x03", 3, NULL, 0, &h);
	assert_int_equal(r.ev, TG_HTTP_EV_OTHER);
	assert_int_equal(h.state, TG_HTTP_OTHER);
	/* a handshake byte inside a stream is lost HTTP, not TLS */
	r = run_cuts("GET / HTTP/1.1\r\n\r\n\x16\x03", 20, NULL, 0, &h);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.ev, TG_HTTP_EV_DESYNC);
	/* "PRIX" and "PR" are methods like any */
	EXPECT("PRIX / HTTP/1.1\r\n\r\nPR / HTTP/1.1\r\n\r\n", 2,
	       TG_HTTP_IDLE);

	/* garbage after a request: lost, reported once, nothing more */
	r = run_cuts("GET / HTTP/1.1\r\n\r\n\x01GET / HTTP/1.1\r\n\r\n", 37,
		     NULL, 0, &h);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.ev, TG_HTTP_EV_DESYNC);
	assert_int_equal(h.state, TG_HTTP_DESYNC);
	EXPECT("GET / HTTP/1.1\r\n\r\n{\"a\":1}\r\nGET / HTTP/1.1\r\n\r\n", 1,
	       TG_HTTP_DESYNC);
	/* a bad chunk size, a chunk without its CRLF, CR without LF */
	EXPECT("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	       "zz\r\nGET / HTTP/1.1\r\n\r\n", 1, TG_HTTP_DESYNC);
	EXPECT("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	       "\r\n", 1, TG_HTTP_DESYNC);
	EXPECT("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	       "2\r\nabX\r\n0\r\n\r\n", 1, TG_HTTP_DESYNC);
	EXPECT("GET / HTTP/1.1\r\n\rX\r\n", 0, TG_HTTP_DESYNC);
	/* a Content-Length the server rejects: the connection ends */
	r = run_cuts("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 39,
		     NULL, 0, &h);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.ev, TG_HTTP_EV_DESYNC);
	assert_int_equal(r.events, 1);
	EXPECT("POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\nGET / HTTP/1.1"
	       "\r\n\r\n", 1, TG_HTTP_DESYNC);
	EXPECT("POST / HTTP/1.1\r\nContent-Length: \r\n\r\n", 1,
	       TG_HTTP_DESYNC);
	EXPECT("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n"
	       "\r\n", 1, TG_HTTP_DESYNC);
	/* a chunk size no gateway would take */
	EXPECT("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	       "fffffffffffffffffff\r\n", 1, TG_HTTP_DESYNC);

	/* a gap the caller reports: once */
	h = (struct tg_http){};
	assert_int_equal(tg_http_desync(&h), TG_HTTP_EV_DESYNC);
	assert_int_equal(tg_http_desync(&h), TG_HTTP_EV_NONE);
	assert_true(tg_http_done(&h));
}

/* Append an HTTP/2 frame header and @len payload bytes to @s at @n. */
static size_t h2_frame(char *s, size_t n, __u32 len, __u8 type, __u8 flags,
		       __u32 sid)
{
	s[n++] = len >> 16;
	s[n++] = len >> 8;
	s[n++] = len;
	s[n++] = type;
	s[n++] = flags;
	s[n++] = sid >> 24;
	s[n++] = sid >> 16;
	s[n++] = sid >> 8;
	s[n++] = sid;
	memset(s + n, 'P', len);	/* "PRI * HTTP/2.0" would not matter */
	return n + len;
}

#define H2_PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

static void test_http2(void **state)
{
	char s[70000];
	size_t n;

	/* prior knowledge: SETTINGS, a request with a body, one with
	 * trailers, WINDOW_UPDATE, an empty SETTINGS ack, a big DATA, a
	 * request that needs CONTINUATION, a PING */
	memcpy(s, H2_PREFACE, 24);
	n = h2_frame(s, 24, 18, 4, 0, 0);		/* SETTINGS */
	n = h2_frame(s, n, 30, 1, 4, 1);		/* HEADERS 1 */
	n = h2_frame(s, n, 5, 0, 1, 1);			/* DATA 1 */
	n = h2_frame(s, n, 20, 1, 4, 3);		/* HEADERS 3 */
	n = h2_frame(s, n, 4, 8, 0, 0);			/* WINDOW_UPDATE */
	n = h2_frame(s, n, 0, 4, 1, 0);			/* SETTINGS ack */
	n = h2_frame(s, n, 65535, 0, 0, 3);		/* DATA 3 */
	n = h2_frame(s, n, 10, 1, 5, 3);		/* trailers on 3 */
	n = h2_frame(s, n, 16, 1, 0, 5);		/* HEADERS 5 ... */
	n = h2_frame(s, n, 16, 9, 4, 5);		/* ... CONTINUATION */
	n = h2_frame(s, n, 8, 6, 0, 0);			/* PING */
	expect(s, n, 3, TG_HTTP_H2_HDR);
	/* the short head: every cut, every pair of cuts */
	n = h2_frame(s, 24, 0, 4, 0, 0);
	n = h2_frame(s, n, 7, 1, 5, 1);
	n = h2_frame(s, n, 7, 1, 5, 7);
	n = h2_frame(s, n, 7, 1, 5, 5);			/* not a new stream */
	expect(s, n, 2, TG_HTTP_H2_HDR);

	/* h2c upgrade: the HTTP/1.1 request is stream 1 and counted once */
	n = snprintf(s, sizeof(s), "GET / HTTP/1.1\r\nHost: x\r\n"
		     "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
		     "HTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n");
	memcpy(s + n, H2_PREFACE, 24);
	n = h2_frame(s, n + 24, 0, 4, 0, 0);
	n = h2_frame(s, n, 9, 1, 5, 1);			/* not from a client */
	n = h2_frame(s, n, 9, 1, 5, 3);
	expect(s, n, 2, TG_HTTP_H2_HDR);
}

/* Random streams of valid requests, cut at random: the count is exact. */
static void test_random(void **state)
{
	static const char *const heads[] = {
		"GET /%u HTTP/1.1\r\nHost: x\r\n\r\n",
		"\r\nGET /%u HTTP/1.0\r\n\r\n",
		"POST /%u HTTP/1.1\r\nContent-Length: 18\r\n\r\n"
		"GET / HTTP/1.1\r\n\r\n",
		"PUT /%u HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
		"3;x=y\r\nGET\r\n11\r\n / HTTP/1.1\r\n\r\n\r\n\r\n0\r\nT: 1\r\n\r\n",
	};
	unsigned int seed = 42, round;

	for (round = 0; round < 200; round++) {
		char s[8192];
		size_t n = 0, cuts[16], nc = 0, i;
		unsigned int want = 0;
		struct tg_http h;
		struct result r;

		while (n < sizeof(s) - 256) {
			n += snprintf(s + n, sizeof(s) - n,
				      heads[rand_r(&seed) % 4], want);
			want++;
		}
		for (i = 0; i < 16; i++) {
			size_t c = (nc ? cuts[nc - 1] : 0) +
				   1 + rand_r(&seed) % 700;

			if (c >= n)
				break;
			cuts[nc++] = c;
		}
		r = run_cuts(s, n, cuts, nc, &h);
		assert_int_equal(r.calls, want);
		assert_int_equal(r.events, 0);
		assert_int_equal(h.state, TG_HTTP_IDLE);
	}
}

/* Responses: one call per final response, bodies skipped by their framing. */
static void test_resp_keepalive(void **state)
{
	resp_dir = 1;
	EXPECT("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
	       "HTTP/1.1 404 Not Found\r\ncontent-length:0\r\n\r\n"
	       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	       "5;x=y\r\nHTTP/\r\n3\r\n1.1\r\n0\r\nT: HTTP/1.1 200\r\n\r\n"
	       "HTTP/1.0 200 OK\r\nContent-Length: 12\r\n\r\nxHTTP/1.1 20",
	       4, TG_HTTP_IDLE);
	/* No reason phrase; an obsolete folded line; a body that holds a
	 * whole response. */
	EXPECT("HTTP/1.1 200\r\nX: a\r\n b\r\nContent-Length: 46\r\n\r\n"
	       "xHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nxxxxxxx"
	       "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
	       2, TG_HTTP_IDLE);
	resp_dir = 0;
}

/* No body after 204 and 304; interim 1xx are no calls; 101 ends HTTP. */
static void test_resp_status(void **state)
{
	resp_dir = 1;
	EXPECT("HTTP/1.1 100 Continue\r\n\r\n"
	       "HTTP/1.1 103 Early Hints\r\nLink: </a>; rel=preload\r\n\r\n"
	       "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	       "HTTP/1.1 204 No Content\r\nContent-Length: 99\r\n\r\n"
	       "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n"
	       "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
	       4, TG_HTTP_IDLE);
	EXPECT("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"
	       "\x81\x05HTTP/1.1 200 OK\r\n\r\n",
	       1, TG_HTTP_CLOSED);
	resp_dir = 0;
}

/* Answers to HEAD: a length, and no body; the next status line says so. */
static void test_resp_head(void **state)
{
	resp_dir = 1;
	EXPECT("HTTP/1.1 200 OK\r\nContent-Length: 1500\r\n\r\n"
	       "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"
	       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
	       "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
	       4, TG_HTTP_IDLE);
	/* Short bodies that begin like a status line are bodies. */
	EXPECT("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nHT"
	       "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nHTTP/1"
	       "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nHTx"
	       "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
	       4, TG_HTTP_IDLE);
	/* A head without a length on a kept-alive connection (HEAD). */
	EXPECT("HTTP/1.1 200 OK\r\nServer: x\r\n\r\n"
	       "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
	       2, TG_HTTP_IDLE);
	resp_dir = 0;
}

/* A body to the end of the connection: nothing after it is counted. */
static void test_resp_close(void **state)
{
	resp_dir = 1;
	EXPECT("HTTP/1.0 200 OK\r\nConnection: close\r\n\r\n"
	       "hello HTTP/1.1 200 OK\r\n\r\n",
	       1, TG_HTTP_CLOSED);
	resp_dir = 0;
}

/* Not HTTP, or lost. */
static void test_resp_garbage(void **state)
{
	struct tg_http h;
	struct result r;

	resp_dir = 1;
	r = run_cuts("\x15\x03\x03\x00\x02", 5, NULL, 0, &h);
	assert_int_equal(r.ev, TG_HTTP_EV_OTHER);
	assert_int_equal(h.state, TG_HTTP_OTHER);
	r = run_cuts("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nXTTP/1.1",
		     47, NULL, 0, &h);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.ev, TG_HTTP_EV_DESYNC);
	r = run_cuts("HTTP/2 200\r\n\r\n", 14, NULL, 0, &h);
	assert_int_equal(r.ev, TG_HTTP_EV_DESYNC);
	r = run_cuts("HTTP/1.1 2x0 OK\r\n\r\n", 19, NULL, 0, &h);
	assert_int_equal(r.ev, TG_HTTP_EV_DESYNC);
	/* A Content-Length that cannot be followed: counted, then lost. */
	r = run_cuts("HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\nab", 41,
		     NULL, 0, &h);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.ev, TG_HTTP_EV_DESYNC);
	resp_dir = 0;
}

/* HTTP/2 from the server: a client stream it ends is one call. */
static void test_resp_http2(void **state)
{
	/* SETTINGS; stream 1: 103 HEADERS, HEADERS, DATA, DATA+END;
	 * stream 3: HEADERS+END; push promise and stream 2 (even) with
	 * END; stream 5: HEADERS, DATA, trailers HEADERS+END; stream 7:
	 * DATA+END with padding-like payload holding frame headers. */
	static const char s[] =
		"\x00\x00\x06\x04\x00\x00\x00\x00\x00" "abcdef"
		"\x00\x00\x02\x01\x04\x00\x00\x00\x01" "\x08\x03"
		"\x00\x00\x01\x01\x04\x00\x00\x00\x01" "\x88"
		"\x00\x00\x03\x00\x00\x00\x00\x00\x01" "abc"
		"\x00\x00\x00\x00\x01\x00\x00\x00\x01"
		"\x00\x00\x01\x01\x05\x00\x00\x00\x03" "\x89"
		"\x00\x00\x04\x05\x04\x00\x00\x00\x03" "\x00\x00\x00\x02"
		"\x00\x00\x01\x01\x05\x00\x00\x00\x02" "\x88"
		"\x00\x00\x01\x01\x04\x00\x00\x00\x05" "\x88"
		"\x00\x00\x02\x00\x00\x00\x00\x00\x05" "ab"
		"\x00\x00\x01\x01\x05\x00\x00\x00\x05" "\x40"
		"\x00\x00\x09\x00\x01\x00\x00\x00\x07"
		"\x00\x00\x00\x01\x05\x00\x00\x00\x09";

	resp_dir = 1;
	expect(s, sizeof(s) - 1, 4, TG_HTTP_H2_HDR);
	resp_dir = 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keepalive),
		cmocka_unit_test(test_content_length),
		cmocka_unit_test(test_big_body),
		cmocka_unit_test(test_chunked),
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_http2),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_resp_keepalive),
		cmocka_unit_test(test_resp_status),
		cmocka_unit_test(test_resp_head),
		cmocka_unit_test(test_resp_close),
		cmocka_unit_test(test_resp_garbage),
		cmocka_unit_test(test_resp_http2),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
