/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * http1_ref.h - the HTTP/1.x reference of the differential fuzz targets:
 * http-parser (Debian's libhttp-parser) fed one byte a read, its request
 * count after every byte, and where it stops being comparable with
 * include/http.h's counter.
 *
 * A request is counted on http-parser's on_headers_complete, which fires
 * on the same LF that makes tg_http_byte() return TG_HTTP_EV_CALL. The
 * reference covers the longest prefix of the stream it takes without an
 * error: the whole stream, or the bytes before the one it refuses (a
 * prefix it accepts entirely, as a connection cut there would be), or the
 * bytes before one of these stops, where the two differ by design:
 * - An Upgrade (Upgrade plus Connection: upgrade) or CONNECT request:
 *   http-parser hands the rest of the stream to another protocol. The
 *   counter cannot see whether the server agreed (101) and goes on
 *   reading HTTP/1.x, or HTTP/2 after a "PRI" preface.
 * - Where a strict http-parser would stop. Debian builds it without
 *   HTTP_PARSER_STRICT, and then it takes any byte for the LF after a CR
 *   (end of a head, of an empty header value, of a chunk-size line), any
 *   two bytes for the CRLF after chunk data, any letters for "HTTP/" in a
 *   request line (an LF among them), and a space in a header name
 *   ("Content-Length : 5" is a length). Servers do none of that, nor does
 *   the counter. The strict build's conditions are checked on each byte
 *   before it is fed, with the parser states found by probing the
 *   library at start-up (h1_ref_init()).
 * - After a request that ends the connection (Connection: close, or
 *   HTTP/1.0 without keep-alive): the strict build refuses anything but
 *   line ends after it, and servers close the connection after the
 *   response. The counter does not read Connection headers and counts
 *   what a client pipelines after such a request, though no server
 *   answers it.
 * - A bare LF in a chunk extension: http-parser takes it for extension
 *   text, strict or not, and reads on to a CR; nginx, and the counter,
 *   end the chunk-size line there.
 */
#ifndef TOLLGATE_FUZZ_HTTP1_REF_H
#define TOLLGATE_FUZZ_HTTP1_REF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <http_parser.h>

/* Where the reference's comparable prefix ends. */
enum h1_verdict {
	H1_ERROR,	/* accepted up to an error */
	H1_WHOLE,	/* accepted to the end */
	H1_UPGRADE,	/* accepted up to the end of an upgrade request */
	H1_STRICT,	/* accepted up to a byte the strict build refuses */
	H1_CLOSE,	/* accepted up to a request after a closing one */
	H1_CHUNK_LF,	/* accepted up to a bare LF in a chunk extension */
	H1_NR
};

static const char *const h1_verdict_name[H1_NR] = {
	"compared to an http-parser error",
	"compared whole",
	"compared to an upgrade",
	"compared to a strict http-parser error",
	"compared to a request after one that closes",
	"compared to a bare LF in a chunk extension",
};

/* Header values the HTTP/2 target needs from an upgrade request. */
#define H1_VALUE_MAX 256
enum { H1_HDR_OTHER, H1_HDR_UPGRADE, H1_HDR_SETTINGS };

struct h1_ref {
	http_parser p;
	unsigned int calls;
	bool closed;		/* a message that ends the connection
				 * ended */
	bool upgraded;		/* an upgrade request ended: p.upgrade is
				 * set from its head on, but the parser
				 * reads its body first */
	/* the last head's Upgrade and HTTP2-Settings values */
	char name[16];
	size_t name_len;	/* bytes of the header name being read */
	int hdr;		/* H1_HDR_* of the value being read */
	char upgrade[H1_VALUE_MAX];
	char settings[H1_VALUE_MAX];
	size_t upgrade_len, settings_len;
};

static int h1_on_message_begin(http_parser *p)
{
	struct h1_ref *r = p->data;

	r->upgrade_len = r->settings_len = 0;
	r->name_len = 0;
	r->hdr = H1_HDR_OTHER;
	return 0;
}

static int h1_on_header_field(http_parser *p, const char *at, size_t len)
{
	struct h1_ref *r = p->data;

	if (r->hdr >= 0)		/* a new name after a value */
		r->name_len = 0;
	r->hdr = -1;
	for (; len; len--, at++)
		if (r->name_len < sizeof(r->name))
			r->name[r->name_len++] = *at;
		else
			r->name_len = sizeof(r->name) + 1;	/* too long */
	return 0;
}

static int h1_on_header_value(http_parser *p, const char *at, size_t len)
{
	struct h1_ref *r = p->data;
	char *v;
	size_t *vl;

	if (r->hdr < 0) {
		r->hdr = H1_HDR_OTHER;
		if (r->name_len == 7 && !strncasecmp(r->name, "upgrade", 7)) {
			r->hdr = H1_HDR_UPGRADE;
			r->upgrade_len = 0;
		} else if (r->name_len == 14 &&
			   !strncasecmp(r->name, "http2-settings", 14)) {
			r->hdr = H1_HDR_SETTINGS;
			r->settings_len = 0;
		}
	}
	if (r->hdr == H1_HDR_OTHER)
		return 0;
	v = r->hdr == H1_HDR_UPGRADE ? r->upgrade : r->settings;
	vl = r->hdr == H1_HDR_UPGRADE ? &r->upgrade_len : &r->settings_len;
	for (; len; len--, at++)
		if (*vl < H1_VALUE_MAX)
			v[(*vl)++] = *at;
	return 0;
}

static int h1_on_headers_complete(http_parser *p)
{
	((struct h1_ref *)p->data)->calls++;
	return 0;
}

static int h1_on_message_complete(http_parser *p)
{
	struct h1_ref *r = p->data;

	if (p->upgrade)
		r->upgraded = true;
	/* what the strict build's NEW_MESSAGE() decides */
	if (!http_should_keep_alive(p))
		r->closed = true;
	return 0;
}

static const http_parser_settings h1_settings = {
	.on_message_begin = h1_on_message_begin,
	.on_header_field = h1_on_header_field,
	.on_header_value = h1_on_header_value,
	.on_headers_complete = h1_on_headers_complete,
	.on_message_complete = h1_on_message_complete,
};

/*
 * The parser states where the strict build checks the next byte, and the
 * byte it wants there ('\0': anything but a space). http_parser.c keeps
 * its states to itself; a probe finds each as the state a fresh parser is
 * in after a string.
 */
#define H1_CHUNKED "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
static struct {
	const char *probe;
	char want;
	unsigned int state;
} h1_strict[] = {
	{ "GET / H", 'T', 0 },
	{ "GET / HT", 'T', 0 },
	{ "GET / HTT", 'P', 0 },
	{ "GET / HTTP", '/', 0 },
	{ "SOURCE / I", 'C', 0 },
	{ "SOURCE / IC", 'E', 0 },
	{ "GET / HTTP/1.1\r\nA:\r", '\n', 0 },
	{ "GET / HTTP/1.1\r\n\r", '\n', 0 },
	{ H1_CHUNKED "5\r", '\n', 0 },
	{ H1_CHUNKED "5\r\nhello", '\r', 0 },
	{ H1_CHUNKED "5\r\nhello\r", '\n', 0 },
	{ "GET / HTTP/1.1\r\n", '\0', 0 },	/* a header name's start */
	{ "GET / HTTP/1.1\r\nA", '\0', 0 },	/* in a header name */
};
#define H1_NR_STRICT (sizeof(h1_strict) / sizeof(h1_strict[0]))
static unsigned int h1_chunk_ext_state;

static void h1_ref_start(struct h1_ref *r)
{
	memset(r, 0, sizeof(*r));
	http_parser_init(&r->p, HTTP_REQUEST);
	r->p.data = r;
}

static unsigned int h1_probe(const char *s)
{
	struct h1_ref r;

	h1_ref_start(&r);
	if (http_parser_execute(&r.p, &h1_settings, s, strlen(s)) !=
		    strlen(s) ||
	    HTTP_PARSER_ERRNO(&r.p) != HPE_OK) {
		fprintf(stderr, "http1_ref: http-parser refuses '%s'\n", s);
		abort();
	}
	return r.p.state;
}

/* Find the parser states of the strict checks; once, before any input. */
static void h1_ref_init(void)
{
	size_t i;

	for (i = 0; i < H1_NR_STRICT; i++)
		h1_strict[i].state = h1_probe(h1_strict[i].probe);
	h1_chunk_ext_state = h1_probe(H1_CHUNKED "5;a");
}

static bool h1_strict_refuses(unsigned int state, uint8_t c)
{
	size_t i;

	for (i = 0; i < H1_NR_STRICT; i++)
		if (state == h1_strict[i].state)
			return h1_strict[i].want ? c != h1_strict[i].want :
						   c == ' ';
	return false;
}

/*
 * Feed @s of @n bytes to @r one byte a read, recording the count after
 * every byte in @at (@n + 1 entries). Returns the verdict and in *@end how
 * many bytes the comparison covers.
 */
static enum h1_verdict h1_ref_run(struct h1_ref *r, const uint8_t *s,
				  size_t n, unsigned int *at, size_t *end)
{
	size_t i;

	h1_ref_start(r);
	at[0] = 0;
	for (i = 0; i < n; i++) {
		*end = i;
		if (h1_strict_refuses(r->p.state, s[i]))
			return H1_STRICT;
		if (r->closed && s[i] != '\r' && s[i] != '\n')
			return H1_CLOSE;
		if (r->p.state == h1_chunk_ext_state && s[i] == '\n')
			return H1_CHUNK_LF;
		http_parser_execute(&r->p, &h1_settings, (const char *)s + i,
				    1);
		if (HTTP_PARSER_ERRNO(&r->p) != HPE_OK)
			return H1_ERROR;
		at[i + 1] = r->calls;
		if (r->upgraded) {
			*end = i + 1;
			return H1_UPGRADE;
		}
	}
	*end = n;
	return H1_WHOLE;
}

#endif /* TOLLGATE_FUZZ_HTTP1_REF_H */
