// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_http2.c - libFuzzer target: include/http.h's count of cleartext
 * HTTP/2 requests against an nghttp2 server session (Debian's
 * libnghttp2) on the same bytes, as the stream a server reads.
 *
 * The input is the stream: either prior knowledge (the connection
 * preface first), or an HTTP/1.1 request that asks for h2c (Upgrade: h2c
 * with HTTP2-Settings; http1_ref.h finds where it ends and counts it),
 * then the preface; any other input is taken for the frames after a
 * preface, which the harness puts before them. The counter must give the
 * same result however the stream is cut into reads (http_feed.h). The
 * frames after the preface are fed to nghttp2 one frame a read, and after
 * every frame the counts must be equal: the counter's, and nghttp2's
 * (on_begin_headers of a request, NGHTTP2_HCAT_REQUEST, plus the HTTP/1.1
 * requests before).
 *
 * Where they differ by design, the comparison covers the stream up to a
 * frame boundary:
 * - The counter counts a request at the 9th byte of its HEADERS frame
 *   header; nghttp2 once it has read into the payload. Counts are
 *   compared between frames only, and a stream that ends inside a frame
 *   is compared up to the last whole frame.
 * - The counter does not check what nghttp2 checks: the preface's
 *   bytes, that SETTINGS comes first, frame sizes, HPACK, stream states,
 *   the fields of a request (pseudo-headers), flow control, trailers
 *   that end the stream. A request nghttp2 refuses is one the server
 *   does not serve (RST_STREAM), and a connection error (GOAWAY) ends
 *   the connection. So the comparison stops before the first frame after
 *   which nghttp2 reports an invalid frame or an error, returns an error,
 *   or sends RST_STREAM or GOAWAY (this server session sends nothing
 *   else of its own: no SETTINGS, no responses).
 * - A client's GOAWAY when no stream is open: nghttp2 wants to read no
 *   more (nghttp2_session_want_read() is 0) and drops what follows, and
 *   a server on it closes the connection; nginx reads on. The counter
 *   does not read GOAWAY and counts on; the comparison stops after it.
 * - The server session allows any number of concurrent streams, so that
 *   no request is refused for lack of room; a real server refusing
 *   streams (REFUSED_STREAM) answers fewer than the counter counts.
 *
 * TG_FUZZ_STATS=1 in the environment prints, at exit, how the inputs
 * fell.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <nghttp2/nghttp2.h>

#include "http_feed.h"
#include "http1_ref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define PREFACE_LEN 24

enum verdict {
	V_NOT_H2,	/* an h2c upgrade not followed by the preface */
	V_WHOLE,	/* every whole frame compared */
	V_REFUSED,	/* compared up to a frame nghttp2 refuses */
	V_DONE,		/* compared up to where nghttp2 reads no more */
	V_LOST,		/* the counter gave up before the end compared */
	V_NR
};

static const char *const verdict_name[V_NR] = {
	"an h2c upgrade without the preface after it",
	"compared to the last whole frame",
	"compared to a frame nghttp2 refuses",
	"compared to where nghttp2 reads no more",
	"lost by the counter",
};

static unsigned long stats[V_NR], upgrades;

static void print_stats(void)
{
	int i;

	for (i = 0; i < V_NR; i++)
		fprintf(stderr, "fuzz_http2: %lu %s\n", stats[i],
			verdict_name[i]);
	fprintf(stderr, "fuzz_http2: %lu of them after an h2c upgrade\n",
		upgrades);
}

struct ref {
	unsigned int calls;
	bool bad;		/* refused, or an error */
};

static int on_begin_headers(nghttp2_session *s, const nghttp2_frame *f,
			    void *user)
{
	if (f->hd.type == NGHTTP2_HEADERS &&
	    f->headers.cat == NGHTTP2_HCAT_REQUEST)
		((struct ref *)user)->calls++;
	return 0;
}

static bool debug;	/* TG_FUZZ_DEBUG: say why nghttp2 refuses */

static int on_invalid_frame_recv(nghttp2_session *s, const nghttp2_frame *f,
				 int lib_error_code, void *user)
{
	if (debug)
		fprintf(stderr, "fuzz_http2: invalid frame type %u stream "
			"%d: %s\n", f->hd.type, f->hd.stream_id,
			nghttp2_strerror(lib_error_code));
	((struct ref *)user)->bad = true;
	return 0;
}

static int on_error(nghttp2_session *s, int lib_error_code, const char *msg,
		    size_t len, void *user)
{
	if (debug)
		fprintf(stderr, "fuzz_http2: error: %.*s\n", (int)len, msg);
	((struct ref *)user)->bad = true;
	return 0;
}

static int before_frame_send(nghttp2_session *s, const nghttp2_frame *f,
			     void *user)
{
	if (f->hd.type != NGHTTP2_RST_STREAM && f->hd.type != NGHTTP2_GOAWAY)
		return 0;
	if (debug)
		fprintf(stderr, "fuzz_http2: sends %s on stream %d\n",
			f->hd.type == NGHTTP2_GOAWAY ? "GOAWAY" : "RST_STREAM",
			f->hd.stream_id);
	((struct ref *)user)->bad = true;
	return 0;
}

static nghttp2_session_callbacks *callbacks;
static nghttp2_option *option;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	h1_ref_init();
	if (nghttp2_session_callbacks_new(&callbacks) ||
	    nghttp2_option_new(&option))
		abort();
	nghttp2_session_callbacks_set_on_begin_headers_callback(
		callbacks, on_begin_headers);
	nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(
		callbacks, on_invalid_frame_recv);
	nghttp2_session_callbacks_set_error_callback2(callbacks, on_error);
	nghttp2_session_callbacks_set_before_frame_send_callback(
		callbacks, before_frame_send);
	if (getenv("TG_FUZZ_STATS"))
		atexit(print_stats);
	debug = getenv("TG_FUZZ_DEBUG");
	return 0;
}

/* base64url, padding optional (RFC 7540 3.2.1). Returns the length or
 * -1. */
static long base64url(const char *s, size_t n, uint8_t *out, size_t max)
{
	unsigned int acc = 0, bits = 0;
	size_t i, o = 0;

	while (n && s[n - 1] == '=')
		n--;
	for (i = 0; i < n; i++) {
		char c = s[i];
		int v = c >= 'A' && c <= 'Z' ? c - 'A' :
			c >= 'a' && c <= 'z' ? c - 'a' + 26 :
			c >= '0' && c <= '9' ? c - '0' + 52 :
			c == '-' ? 62 : c == '_' ? 63 : -1;

		if (v < 0)
			return -1;
		acc = acc << 6 | v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o == max)
				return -1;
			out[o++] = acc >> bits;
		}
	}
	return o;
}

/*
 * Start the server session on @s: after the HTTP/1.1 requests up to an
 * h2c upgrade, or none. Returns where the preface starts and, in
 * *@h1calls, the HTTP/1.1 requests before it; -1 when the stream starts
 * neither way.
 */
static long start(nghttp2_session *sess, const uint8_t *s, size_t n,
		  unsigned int *h1calls)
{
	uint8_t settings[H1_VALUE_MAX];
	unsigned int *at;
	struct h1_ref r;
	size_t end = 0;
	long len;

	*h1calls = 0;
	if (n >= PREFACE_LEN && !memcmp(s, PREFACE, PREFACE_LEN))
		return 0;
	at = calloc(n + 1, sizeof(*at));
	if (!at)
		abort();
	if (h1_ref_run(&r, s, n, at, &end) != H1_UPGRADE ||
	    r.p.method == HTTP_CONNECT || r.upgrade_len != 3 ||
	    strncasecmp(r.upgrade, "h2c", 3)) {
		free(at);
		return -1;
	}
	len = base64url(r.settings, r.settings_len, settings,
			sizeof(settings));
	if (len < 0 ||
	    nghttp2_session_upgrade2(sess, settings, len,
				     r.p.method == HTTP_HEAD, NULL)) {
		free(at);
		return -1;
	}
	*h1calls = at[end];
	free(at);
	upgrades++;
	return end;
}

/* Drop what the session would send: acks, window updates. */
static void drain(nghttp2_session *sess)
{
	const uint8_t *out;

	while (nghttp2_session_mem_send(sess, &out) > 0)
		;
}

/* Say where the counts part, with the frames up to there, and abort. */
static void mismatch(const uint8_t *s, size_t n, size_t pre, size_t end,
		     unsigned int h1calls, unsigned int h2calls,
		     unsigned int got)
{
	size_t off;

	fprintf(stderr,
		"fuzz_http2: after %zu of %zu bytes: nghttp2 counts %u (and "
		"%u HTTP/1.1 requests before byte %zu), http.h %u\n",
		end, n, h2calls, h1calls, pre, got);
	for (off = pre + PREFACE_LEN; off + 9 <= end;) {
		size_t len = (size_t)s[off] << 16 | s[off + 1] << 8 |
			     s[off + 2];
		unsigned long sid = ((unsigned long)s[off + 5] << 24 |
				     s[off + 6] << 16 | s[off + 7] << 8 |
				     s[off + 8]) & 0x7fffffff;

		fprintf(stderr, "fuzz_http2: at %zu: type %u flags 0x%02x "
			"stream %lu length %zu\n", off, s[off + 3], s[off + 4],
			sid, len);
		off += 9 + len;
	}
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *input, size_t insize)
{
	const uint8_t *data = input;
	size_t size = insize, off, last;
	uint8_t *framed = NULL;
	nghttp2_session *sess;
	struct feed_result got;
	struct ref ref = {};
	unsigned int *at, h1calls;
	enum verdict v = V_WHOLE;
	long pre;

	if (nghttp2_session_server_new2(&sess, callbacks, &ref, option))
		abort();
	pre = start(sess, input, insize, &h1calls);
	if (pre < 0) {
		/* the frames after a preface, which the fuzzer need not
		 * keep intact */
		framed = malloc(PREFACE_LEN + insize);
		if (!framed)
			abort();
		memcpy(framed, PREFACE, PREFACE_LEN);
		memcpy(framed + PREFACE_LEN, input, insize);
		data = framed;
		size = PREFACE_LEN + insize;
		pre = 0;
		nghttp2_session_del(sess);
		if (nghttp2_session_server_new2(&sess, callbacks, &ref, option))
			abort();
	}
	at = calloc(size + 1, sizeof(*at));
	if (!at)
		abort();
	got = feed_trace(data, size, at);
	feed_check_cuts(data, size, &got);

	if (size - pre < PREFACE_LEN ||
	    memcmp(data + pre, PREFACE, PREFACE_LEN)) {
		stats[V_NOT_H2]++;
		goto out;
	}
	if (!(got.ev && got.ev_at < (size_t)pre) && at[pre] != h1calls)
		mismatch(data, size, pre, pre, h1calls, 0, at[pre]);
	/* The preface, then one frame a read; @last is the end of the last
	 * read nghttp2 took. */
	for (off = last = pre; off < size;) {
		size_t len = PREFACE_LEN;

		if (off > (size_t)pre) {
			if (size - off < 9)
				break;
			len = 9 + ((size_t)data[off] << 16 |
				   (size_t)data[off + 1] << 8 | data[off + 2]);
			if (len > size - off)
				break;
		}
		if (nghttp2_session_mem_recv(sess, data + off, len) !=
		    (ssize_t)len)
			ref.bad = true;
		drain(sess);
		if (ref.bad) {
			v = V_REFUSED;
			break;
		}
		off += len;
		last = off;
		if (!(got.ev && got.ev_at < last) &&
		    at[last] != h1calls + ref.calls)
			mismatch(data, size, pre, last, h1calls, ref.calls,
				 at[last]);
		if (!nghttp2_session_want_read(sess)) {
			v = V_DONE;
			break;
		}
	}
	stats[got.ev && got.ev_at < last ? V_LOST : v]++;
out:
	nghttp2_session_del(sess);
	free(framed);
	free(at);
	return 0;
}
