// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * gen_h2.c - write the seed corpus of fuzz_http2: cleartext HTTP/2
 * connections as a client sends them, with header blocks compressed by
 * nghttp2's own HPACK deflater (one per connection, as a client keeps
 * it), so that the seeds are streams an nghttp2 server takes whole.
 *
 *   make fuzz-seeds       (gen_h2 tests/fuzz/corpus/fuzz_http2)
 *
 * Run once; the files are checked in. Each is a connection: prior
 * knowledge (the preface first), an HTTP/1.1 request upgraded to h2c, or
 * the frames after a preface.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <nghttp2/nghttp2.h>

#include "seed_out.h"

#define PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

static void frame(struct seed_out *o, uint8_t type, uint8_t flags, uint32_t sid,
		  const void *payload, size_t len)
{
	uint8_t h[9] = { len >> 16, len >> 8, len, type, flags,
			 sid >> 24, sid >> 16, sid >> 8, sid };

	seed_put(o, h, 9);
	seed_put(o, payload, len);
}

#define NV(n, v) { (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, \
		   sizeof(v) - 1, NGHTTP2_NV_FLAG_NONE }

/* HEADERS of @nv on @sid, with @flags (END_HEADERS is added). */
static void headers(struct seed_out *o, uint32_t sid, uint8_t flags,
		    const nghttp2_nv *nv, size_t nr)
{
	size_t len;
	uint8_t *b = seed_deflate(o, nv, nr, &len);

	frame(o, NGHTTP2_HEADERS, flags | NGHTTP2_FLAG_END_HEADERS, sid, b,
	      len);
	free(b);
}

static const uint8_t settings[] = {
	0x00, 0x03, 0x00, 0x00, 0x00, 0x64,	/* MAX_CONCURRENT_STREAMS */
	0x00, 0x04, 0x00, 0x00, 0xff, 0xff,	/* INITIAL_WINDOW_SIZE */
};
static const uint8_t window_update[] = { 0x00, 0x0f, 0x00, 0x01 };
static const uint8_t ping[8] = "tollgate";

static const nghttp2_nv get_users[] = {
	NV(":method", "GET"), NV(":scheme", "http"),
	NV(":authority", "api.example.com"), NV(":path", "/v1/users?id=7"),
	NV("user-agent", "curl/7.88.1"), NV("accept", "*/*"),
};
static const nghttp2_nv post_orders[] = {
	NV(":method", "POST"), NV(":scheme", "http"),
	NV(":authority", "api.example.com"), NV(":path", "/v1/orders"),
	NV("content-type", "application/json"), NV("te", "trailers"),
};
static const nghttp2_nv trailers[] = { NV("x-checksum", "1f2e") };
static const nghttp2_nv get_health[] = {
	NV(":method", "GET"), NV(":scheme", "http"),
	NV(":authority", "api.example.com"), NV(":path", "/health"),
};

/* Prior knowledge: requests with and without bodies, trailers, and the
 * frames around them (no SETTINGS ack: this server sent no SETTINGS). */
static void prior_knowledge(const char *dir)
{
	static const char body[] = "{\"sku\":\"A-17\",\"quantity\":2}";
	struct seed_out o;

	seed_start(&o, 4096);
	seed_put(&o, PREFACE, 24);
	frame(&o, NGHTTP2_SETTINGS, 0, 0, settings, sizeof(settings));
	frame(&o, NGHTTP2_WINDOW_UPDATE, 0, 0, window_update, 4);
	headers(&o, 1, NGHTTP2_FLAG_END_STREAM, get_users, 6);
	headers(&o, 3, 0, post_orders, 6);
	frame(&o, NGHTTP2_DATA, 0, 3, body, sizeof(body) - 1);
	headers(&o, 3, NGHTTP2_FLAG_END_STREAM, trailers, 1);
	frame(&o, NGHTTP2_PING, 0, 0, ping, 8);
	headers(&o, 5, NGHTTP2_FLAG_END_STREAM, get_health, 4);
	seed_finish(&o, dir, "prior-knowledge");
}

/* The frames alone: fuzz_http2 puts the preface before what is neither
 * prior knowledge nor an upgrade. */
static void frames(const char *dir)
{
	struct seed_out o;

	seed_start(&o, 4096);
	frame(&o, NGHTTP2_SETTINGS, 0, 0, settings, sizeof(settings));
	headers(&o, 1, 0, post_orders, 6);
	frame(&o, NGHTTP2_DATA, NGHTTP2_FLAG_END_STREAM, 1, "{}", 2);
	headers(&o, 3, NGHTTP2_FLAG_END_STREAM, get_users, 6);
	headers(&o, 5, NGHTTP2_FLAG_END_STREAM, get_health, 4);
	seed_finish(&o, dir, "frames");
}

/* A header block cut into HEADERS and CONTINUATION; a padded HEADERS
 * with a priority; PRIORITY and RST_STREAM frames. */
static void continuation(const char *dir)
{
	static const uint8_t priority[5] = { 0x00, 0x00, 0x00, 0x01, 0x0f };
	static const uint8_t rst[4] = { 0x00, 0x00, 0x00, 0x08 };
	uint8_t padded[512];
	struct seed_out o;
	size_t len;
	uint8_t *b;

	seed_start(&o, 4096);
	seed_put(&o, PREFACE, 24);
	frame(&o, NGHTTP2_SETTINGS, 0, 0, NULL, 0);
	b = seed_deflate(&o, get_users, 6, &len);
	frame(&o, NGHTTP2_HEADERS, NGHTTP2_FLAG_END_STREAM, 1, b, len / 2);
	frame(&o, NGHTTP2_CONTINUATION, 0, 1, b + len / 2, 1);
	frame(&o, NGHTTP2_CONTINUATION, NGHTTP2_FLAG_END_HEADERS, 1,
	      b + len / 2 + 1, len - len / 2 - 1);
	free(b);
	frame(&o, NGHTTP2_PRIORITY, 0, 5, priority, 5);
	b = seed_deflate(&o, get_health, 4, &len);
	padded[0] = 4;				/* pad length */
	memcpy(padded + 1, priority, 5);	/* depends on stream 1 */
	memcpy(padded + 6, b, len);
	memset(padded + 6 + len, 0, 4);
	frame(&o, NGHTTP2_HEADERS,
	      NGHTTP2_FLAG_END_STREAM | NGHTTP2_FLAG_END_HEADERS |
		      NGHTTP2_FLAG_PADDED | NGHTTP2_FLAG_PRIORITY,
	      3, padded, 6 + len + 4);
	free(b);
	headers(&o, 5, NGHTTP2_FLAG_END_STREAM, get_health, 4);
	frame(&o, NGHTTP2_RST_STREAM, 0, 5, rst, 4);
	headers(&o, 7, 0, post_orders, 6);
	frame(&o, NGHTTP2_DATA, NGHTTP2_FLAG_END_STREAM, 7, "{}", 2);
	seed_finish(&o, dir, "continuation");
}

/* Twenty requests in a row, as a client multiplexes them. */
static void many(const char *dir)
{
	struct seed_out o;
	uint32_t sid;

	seed_start(&o, 4096);
	seed_put(&o, PREFACE, 24);
	frame(&o, NGHTTP2_SETTINGS, 0, 0, settings, sizeof(settings));
	for (sid = 1; sid < 40; sid += 2)
		headers(&o, sid, NGHTTP2_FLAG_END_STREAM, get_users, 6);
	seed_finish(&o, dir, "many");
}

/* base64url of the SETTINGS payload above, for HTTP2-Settings */
#define SETTINGS64 "AAMAAABkAAQAAP__"

/* An HTTP/1.1 request upgraded to h2c: it is stream 1; the client's
 * next request is stream 3. */
static void upgrade(const char *dir)
{
	static const char get[] =
		"GET /v1/users?id=7 HTTP/1.1\r\nHost: api.example.com\r\n"
		"Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
		"HTTP2-Settings: " SETTINGS64 "\r\n\r\n";
	static const char post[] =
		"POST /v1/orders HTTP/1.1\r\nHost: api.example.com\r\n"
		"Content-Length: 27\r\nConnection: Upgrade, HTTP2-Settings\r\n"
		"Upgrade: h2c\r\nHTTP2-Settings: " SETTINGS64 "\r\n\r\n"
		"{\"sku\":\"A-17\",\"quantity\":2}";
	struct seed_out o;

	seed_start(&o, 4096);
	seed_put(&o, get, sizeof(get) - 1);
	seed_put(&o, PREFACE, 24);
	frame(&o, NGHTTP2_SETTINGS, 0, 0, settings, sizeof(settings));
	headers(&o, 3, NGHTTP2_FLAG_END_STREAM, get_health, 4);
	seed_finish(&o, dir, "upgrade");

	seed_start(&o, 4096);
	seed_put(&o, "GET /before HTTP/1.1\r\nHost: api.example.com\r\n\r\n",
		 47);
	seed_put(&o, post, sizeof(post) - 1);
	seed_put(&o, PREFACE, 24);
	frame(&o, NGHTTP2_SETTINGS, 0, 0, NULL, 0);
	headers(&o, 3, NGHTTP2_FLAG_END_STREAM, get_users, 6);
	headers(&o, 5, NGHTTP2_FLAG_END_STREAM, get_health, 4);
	seed_finish(&o, dir, "upgrade-post");
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_h2 DIR\n");
		return 2;
	}
	prior_knowledge(argv[1]);
	frames(argv[1]);
	continuation(argv[1]);
	many(argv[1]);
	upgrade(argv[1]);
	return 0;
}
