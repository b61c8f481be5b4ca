/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * http.h - the count stage's HTTP request counter, shared by the kernel and
 * the tests: count HTTP requests in the byte stream a server reads.
 *
 * One parser, compiled twice: into the kernel meter (bpf/meter.bpf.c),
 * which feeds it what a frontend socket's reader gets from each recv, and
 * into the unit tests (tests/unit/test_http.c), which feed it crafted
 * streams cut at every byte. Plain C, no library, no loops: the caller
 * drives it one byte at a time (tg_http_byte) and lets it skip message
 * bodies without looking at them (tg_http_skip), so the cost is the bytes
 * of the request heads and chunk-size lines, whatever the body sizes.
 *
 * A request is counted when its head is complete (the empty line after the
 * headers): from then on the server has a request to answer, and it logs
 * one line for it, whatever becomes of the body. Bodies are skipped by
 * Content-Length, or chunk by chunk with Transfer-Encoding: chunked (chunk
 * extensions and trailers included), so a body that contains a request
 * line is never taken for one, and several pipelined requests in one read
 * are counted one by one. Blank lines before a request line are ignored,
 * as servers do. A Transfer-Encoding whose last coding is not chunked
 * leaves the body's length unknown: the server refuses the request and
 * closes the connection (RFC 9112, 6.3), so the request is counted and
 * the rest of the stream is not read.
 *
 * The state lives in struct tg_http (meter.h), zeroed at the start of a
 * connection. Two states absorb everything that follows:
 * - TG_HTTP_DESYNC: the stream stopped being HTTP/1.x where a request or
 *   a chunk was expected (garbage, a bad chunk size, a gap the caller
 *   reports with tg_http_desync()). The parser cannot find the next
 *   request boundary again, so it stops; the caller counts the event.
 * - TG_HTTP_OTHER: the connection did not start as HTTP/1.x or HTTP/2 at
 *   all (TLS, another protocol). Its calls are not counted here either,
 *   and the caller says so.
 *
 * Cleartext HTTP/2 (h2c: prior knowledge, or an HTTP/1.1 Upgrade) is
 * followed frame by frame after its connection preface: every frame
 * header is read, every payload skipped unread, and a HEADERS frame that
 * opens a new client stream (an odd stream id above the last one) is one
 * call; HEADERS on a stream already open (trailers) are not.
 *
 * The same states also follow the other direction, the stream a server
 * writes (tg_resp_byte): TLS frontends are counted there, one call per
 * answer, because hooking what the TLS library encrypts costs one trap
 * per response where hooking what it decrypts costs two per request
 * (bpf/tls.bpf.h). A final response (status 200 and above, and 101) is
 * one call when its head is complete; interim 1xx responses are not.
 * Bodies are skipped as in requests, and as RFC 9112 6.3 frames them:
 * none after 1xx, 204 and 304; Content-Length; chunked; and otherwise to
 * the end of the connection. A response to HEAD carries a Content-Length
 * (or chunked) and no body, and the response stream alone cannot know the
 * request was HEAD; so the first bytes after such a head are looked at
 * (TG_HTTP_PEEK): if they begin a status line ("HTTP/1."), the head had no
 * body. The limit of that rule: a body of 7 bytes or more that begins
 * with "HTTP/1." itself is taken for the next response. HTTP/2 server
 * streams (the connection's first byte is a frame header, not "HTTP/1.")
 * are followed frame by frame; a client stream the server ends (END_STREAM
 * on its HEADERS or DATA frame, once per stream) is one call: interim
 * HEADERS never end a stream, trailers end it once.
 */
#ifndef TOLLGATE_HTTP_H
#define TOLLGATE_HTTP_H

#include "meter.h"

/* tg_http.state; zero is the start of a connection. */
#define TG_HTTP_IDLE		0	/* before a request line */
#define TG_HTTP_LINE		1	/* in the request line */
#define TG_HTTP_HDR		2	/* at the start of a header line */
#define TG_HTTP_HDR_CR		3	/* CR at the start of a header line */
#define TG_HTTP_NAME		4	/* in a header name */
#define TG_HTTP_VALUE		5	/* in a Content-Length or TE value */
#define TG_HTTP_SKIPLINE	6	/* in another header line */
#define TG_HTTP_BODY		7	/* Content-Length body: remain bytes */
#define TG_HTTP_CSIZE		8	/* chunk size (hex) */
#define TG_HTTP_CEXT		9	/* rest of a chunk-size line */
#define TG_HTTP_CDATA		10	/* chunk data: remain bytes */
#define TG_HTTP_CDATA_CR	11	/* CRLF after chunk data */
#define TG_HTTP_CDATA_LF	12
#define TG_HTTP_TRAILER		13	/* at the start of a trailer line */
#define TG_HTTP_TRAILER_CR	14
#define TG_HTTP_TRAILER_LINE	15
#define TG_HTTP_DESYNC		16	/* lost: nothing more is parsed */
#define TG_HTTP_OTHER		17	/* not HTTP: nothing is parsed */
#define TG_HTTP_H2_SKIP		18	/* HTTP/2 preface or frame payload:
					 * remain bytes */
#define TG_HTTP_H2_HDR		19	/* in an HTTP/2 frame header */

#define TG_HTTP_CLOSED		21	/* response: a body to the end of the
					 * connection, or another protocol
					 * after 101: nothing more to count */
#define TG_HTTP_PEEK		22	/* response: the first bytes after a
					 * head with a body length: the body,
					 * or a status line (a HEAD answer) */

#define TG_HTTP_H2_PREFACE_REST	20	/* "* HTTP/2.0\r\n\r\nSM\r\n\r\n" */
#define TG_HTTP_H2_FRAME_HDR	9	/* bytes of a frame header */
#define TG_HTTP_H2_DATA		0	/* frame type */
#define TG_HTTP_H2_HEADERS	1	/* frame type */
#define TG_HTTP_H2_END_STREAM	0x01	/* frame flag of DATA and HEADERS */
#define TG_HTTP_VERSION_LEN	7	/* "HTTP/1." */
#define TG_HTTP_STATUS_END	12	/* "HTTP/1.1 200": then the reason */

/* tg_http.flags */
#define TG_HTTP_F_STARTED	0x01	/* a request line was seen */
#define TG_HTTP_F_CL		0x02	/* this head has a Content-Length */
#define TG_HTTP_F_CHUNKED	0x04	/* its transfer coding ends in chunked */
#define TG_HTTP_F_BAD		0x08	/* its body length cannot be known */
#define TG_HTTP_F_DIGIT		0x10	/* a digit of the number being read */
#define TG_HTTP_F_PEEK		0x20	/* response: no chunk seen yet after a
					 * chunked head (a HEAD answer?) */
#define TG_HTTP_F_TE		0x40	/* this head has a Transfer-Encoding */
#define TG_HTTP_F_NAMES		0x80	/* requests: their names are read too
					 * (include/names.h) */
#define TG_HTTP_F_REQUEST	(TG_HTTP_F_CL | TG_HTTP_F_CHUNKED | \
				 TG_HTTP_F_BAD | TG_HTTP_F_DIGIT | \
				 TG_HTTP_F_PEEK | TG_HTTP_F_TE)

/* tg_http.cand: header names (or the method) still matching */
#define TG_HTTP_N_CL		0x01	/* content-length */
#define TG_HTTP_N_TE		0x02	/* transfer-encoding */
#define TG_HTTP_N_PRI		0x04	/* method PRI: the HTTP/2 preface */
#define TG_HTTP_N_TGT		0x08	/* request line: its target is read
					 * for a name (include/names.h) */
#define TG_HTTP_N_HOST		0x10	/* host (TG_HTTP_F_NAMES only) */
/* In HTTP/2 frame headers, tg_http.cand holds the frame type. */

#define TG_HTTP_TOKEN_FAIL	0xff	/* tg_http.match: token mismatched */

/* Body and chunk sizes above this are not HTTP a gateway serves. */
#define TG_HTTP_MAX_LEN		(1ULL << 56)

/* What tg_http_byte() saw. */
#define TG_HTTP_EV_NONE		0
#define TG_HTTP_EV_CALL		1	/* a request head is complete */
#define TG_HTTP_EV_DESYNC	2	/* just entered TG_HTTP_DESYNC */
#define TG_HTTP_EV_OTHER	3	/* just entered TG_HTTP_OTHER */
#define TG_HTTP_EV_TLS		4	/* the same, on a TLS handshake record */

#define TG_TLS_HANDSHAKE	0x16	/* first byte of a TLS ClientHello */

static inline __u8 tg_http_lower(__u8 c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* RFC 9110 tchar: what a method is made of. */
static inline int tg_http_tchar(__u8 c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	switch (c) {
	case '!': case '#': case '$': case '%': case '&': case '\'':
	case '*': case '+': case '-': case '.': case '^': case '_':
	case '`': case '|': case '~':
		return 1;
	}
	return 0;
}

static inline int tg_http_hex(__u8 c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tg_http_lower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Character @i of a header name; 0 past its end. Written out as switches
 * rather than string indexing: the BPF program keeps no string tables. */
static inline __u8 tg_http_cl_char(__u8 i)
{
	switch (i) {
	case 0: return 'c';
	case 1: return 'o';
	case 2: return 'n';
	case 3: return 't';
	case 4: return 'e';
	case 5: return 'n';
	case 6: return 't';
	case 7: return '-';
	case 8: return 'l';
	case 9: return 'e';
	case 10: return 'n';
	case 11: return 'g';
	case 12: return 't';
	case 13: return 'h';
	}
	return 0;
}

static inline __u8 tg_http_te_char(__u8 i)
{
	switch (i) {
	case 0: return 't';
	case 1: return 'r';
	case 2: return 'a';
	case 3: return 'n';
	case 4: return 's';
	case 5: return 'f';
	case 6: return 'e';
	case 7: return 'r';
	case 8: return '-';
	case 9: return 'e';
	case 10: return 'n';
	case 11: return 'c';
	case 12: return 'o';
	case 13: return 'd';
	case 14: return 'i';
	case 15: return 'n';
	case 16: return 'g';
	}
	return 0;
}

static inline __u8 tg_http_host_char(__u8 i)
{
	switch (i) {
	case 0: return 'h';
	case 1: return 'o';
	case 2: return 's';
	case 3: return 't';
	}
	return 0;
}

static inline __u8 tg_http_chunked_char(__u8 i)
{
	switch (i) {
	case 0: return 'c';
	case 1: return 'h';
	case 2: return 'u';
	case 3: return 'n';
	case 4: return 'k';
	case 5: return 'e';
	case 6: return 'd';
	}
	return 0;
}

/* Character @i of "HTTP/1.", the start of every HTTP/1.x status line. */
static inline __u8 tg_http_version_char(__u8 i)
{
	switch (i) {
	case 0: return 'H';
	case 1: return 'T';
	case 2: return 'T';
	case 3: return 'P';
	case 4: return '/';
	case 5: return '1';
	case 6: return '.';
	}
	return 0;
}

#define TG_HTTP_CL_LEN 14
#define TG_HTTP_TE_LEN 17
#define TG_HTTP_HOST_LEN 4
#define TG_HTTP_CHUNKED_LEN 7

/* The stream is lost (a read the caller could not see or follow). Returns
 * TG_HTTP_EV_DESYNC the first time, TG_HTTP_EV_NONE after. */
static inline int tg_http_desync(struct tg_http *h)
{
	if (h->state == TG_HTTP_DESYNC || h->state == TG_HTTP_OTHER ||
	    h->state == TG_HTTP_CLOSED)
		return TG_HTTP_EV_NONE;
	h->state = TG_HTTP_DESYNC;
	return TG_HTTP_EV_DESYNC;
}

/* True once nothing more will be parsed on this connection. */
static inline int tg_http_done(const struct tg_http *h)
{
	return h->state == TG_HTTP_DESYNC || h->state == TG_HTTP_OTHER ||
	       h->state == TG_HTTP_CLOSED;
}

/*
 * Of the next @avail bytes of the stream, skip as many as belong to a
 * body or a chunk's data without looking at them. Returns how many.
 */
static inline __u64 tg_http_skip(struct tg_http *h, __u64 avail)
{
	__u64 n;

	if (h->state != TG_HTTP_BODY && h->state != TG_HTTP_CDATA &&
	    h->state != TG_HTTP_H2_SKIP)
		return 0;
	n = h->remain < avail ? h->remain : avail;
	h->remain -= n;
	if (h->remain)
		return n;
	if (h->state == TG_HTTP_BODY) {
		h->state = TG_HTTP_IDLE;
	} else if (h->state == TG_HTTP_CDATA) {
		h->state = TG_HTTP_CDATA_CR;
	} else {
		h->state = TG_HTTP_H2_HDR;
		h->match = 0;
	}
	return n;
}

/* A byte of an HTTP/2 frame header: 24-bit length, type, flags, 31-bit
 * stream id. The length gathers in the low 24 bits of remain, the flags
 * in the next 8, the stream id in the high 32, the type in cand. Returns
 * 1 when the header is complete. */
static inline int tg_http_h2_acc(struct tg_http *h, __u8 c)
{
	if (h->match < 3)
		h->remain = (h->remain << 8) | c;
	else if (h->match == 3)
		h->cand = c;
	else if (h->match == 4)
		h->remain |= (__u64)c << 24;
	else
		h->remain |= (__u64)c << (32 + 8 * (8 - h->match));
	return ++h->match == TG_HTTP_H2_FRAME_HDR;
}

/* A byte of an HTTP/2 frame header. @server: the stream is the server's
 * (a call is a client stream it ends; its id is left in h->stream), else
 * the client's (a call is a client stream it opens). */
static inline int tg_http_h2_byte(struct tg_http *h, __u8 c, int server)
{
	__u64 len;
	__u32 sid;
	__u8 fl;
	int ev = TG_HTTP_EV_NONE;

	if (!tg_http_h2_acc(h, c))
		return ev;
	len = h->remain & 0xffffff;
	fl = (h->remain >> 24) & 0xff;
	sid = (h->remain >> 32) & 0x7fffffff;
	if (!(sid & 1)) {
		/* Connection frames (0), server pushes (even). */
	} else if (server) {
		if ((h->cand == TG_HTTP_H2_HEADERS ||
		     h->cand == TG_HTTP_H2_DATA) &&
		    (fl & TG_HTTP_H2_END_STREAM)) {
			h->stream = sid;
			ev = TG_HTTP_EV_CALL;
		}
	} else if (h->cand == TG_HTTP_H2_HEADERS && sid > h->stream) {
		h->stream = sid;
		ev = TG_HTTP_EV_CALL;
	}
	h->remain = len;
	h->match = 0;
	h->state = len ? TG_HTTP_H2_SKIP : TG_HTTP_H2_HDR;
	return ev;
}

/* The empty line after the headers: one call; what follows depends on
 * how the body is framed. */
static inline int tg_http_head_done(struct tg_http *h)
{
	__u8 f = h->flags;

	h->flags = (f & ~TG_HTTP_F_REQUEST) | TG_HTTP_F_STARTED;
	/* Transfer-Encoding without chunked last (or folded onto a line
	 * of its own, which is not read): no length for the body. */
	if ((f & TG_HTTP_F_TE) && !(f & TG_HTTP_F_CHUNKED))
		f |= TG_HTTP_F_BAD;
	if (f & TG_HTTP_F_BAD) {
		/* The server rejects it and closes; nothing to follow. */
		h->state = TG_HTTP_DESYNC;
		return TG_HTTP_EV_CALL;
	}
	if (f & TG_HTTP_F_CHUNKED) {
		h->remain = 0;
		h->state = TG_HTTP_CSIZE;
	} else if ((f & TG_HTTP_F_CL) && h->remain) {
		h->state = TG_HTTP_BODY;
	} else {
		h->remain = 0;
		h->state = TG_HTTP_IDLE;
	}
	return TG_HTTP_EV_CALL;
}

/* A header name character (before the colon). */
static inline void tg_http_name(struct tg_http *h, __u8 c)
{
	c = tg_http_lower(c);
	if ((h->cand & TG_HTTP_N_CL) &&
	    (h->match >= TG_HTTP_CL_LEN || tg_http_cl_char(h->match) != c))
		h->cand &= ~TG_HTTP_N_CL;
	if ((h->cand & TG_HTTP_N_TE) &&
	    (h->match >= TG_HTTP_TE_LEN || tg_http_te_char(h->match) != c))
		h->cand &= ~TG_HTTP_N_TE;
	if ((h->cand & TG_HTTP_N_HOST) &&
	    (h->match >= TG_HTTP_HOST_LEN ||
	     tg_http_host_char(h->match) != c))
		h->cand &= ~TG_HTTP_N_HOST;
	if (h->match < 0xff)
		h->match++;
	if (!h->cand)
		h->state = TG_HTTP_SKIPLINE;	/* only its end matters */
}

/* The colon after a header name. */
static inline void tg_http_colon(struct tg_http *h)
{
	if ((h->cand & TG_HTTP_N_CL) && h->match == TG_HTTP_CL_LEN) {
		h->cand = TG_HTTP_N_CL;
		h->flags |= TG_HTTP_F_CL;
		h->flags &= ~TG_HTTP_F_DIGIT;
		h->remain = 0;
		h->state = TG_HTTP_VALUE;
	} else if ((h->cand & TG_HTTP_N_TE) && h->match == TG_HTTP_TE_LEN) {
		/* A later Transfer-Encoding line continues the list: only
		 * its last coding decides. */
		h->cand = TG_HTTP_N_TE;
		h->flags &= ~TG_HTTP_F_CHUNKED;
		h->flags |= TG_HTTP_F_TE;
		h->match = 0;
		h->state = TG_HTTP_VALUE;
	} else if ((h->cand & TG_HTTP_N_HOST) &&
		   h->match == TG_HTTP_HOST_LEN) {
		/* Its value is read by include/names.h. */
		h->cand = TG_HTTP_N_HOST;
		h->state = TG_HTTP_VALUE;
	} else {
		h->state = TG_HTTP_SKIPLINE;
	}
}

/* A Content-Length value character (not LF). */
static inline void tg_http_cl_value(struct tg_http *h, __u8 c)
{
	if (c == ' ' || c == '\t' || c == '\r')
		return;
	if (c < '0' || c > '9' || h->remain > TG_HTTP_MAX_LEN) {
		h->flags |= TG_HTTP_F_BAD;
		return;
	}
	h->remain = h->remain * 10 + (c - '0');
	h->flags |= TG_HTTP_F_DIGIT;
}

/* A Transfer-Encoding value character (not LF): is "chunked" the last
 * coding of the list? */
static inline void tg_http_te_value(struct tg_http *h, __u8 c)
{
	if (c == ' ' || c == '\t' || c == '\r')
		return;
	if (c == ',') {
		h->match = 0;
		return;
	}
	h->flags &= ~TG_HTTP_F_CHUNKED;
	c = tg_http_lower(c);
	if (h->match < TG_HTTP_CHUNKED_LEN &&
	    tg_http_chunked_char(h->match) == c) {
		if (++h->match == TG_HTTP_CHUNKED_LEN) {
			h->flags |= TG_HTTP_F_CHUNKED;
			h->match = TG_HTTP_TOKEN_FAIL;
		}
	} else {
		h->match = TG_HTTP_TOKEN_FAIL;
	}
}

/* End of a header line (LF). */
static inline void tg_http_eol(struct tg_http *h)
{
	if (h->state == TG_HTTP_VALUE && h->cand == TG_HTTP_N_CL &&
	    !(h->flags & TG_HTTP_F_DIGIT))
		h->flags |= TG_HTTP_F_BAD;	/* empty Content-Length */
	h->state = TG_HTTP_HDR;
}

/* End of a chunk-size line (LF). */
static inline int tg_http_chunk_line(struct tg_http *h)
{
	if (!(h->flags & TG_HTTP_F_DIGIT))
		return tg_http_desync(h);
	h->flags &= ~TG_HTTP_F_DIGIT;
	h->state = h->remain ? TG_HTTP_CDATA : TG_HTTP_TRAILER;
	return TG_HTTP_EV_NONE;
}

/*
 * A byte of a message head after its first line (header lines, the empty
 * line), the same in requests and responses. Returns 1 when it ends the
 * head, TG_HTTP_EV_DESYNC (negated) when the stream is lost, else 0.
 */
static inline int tg_http_hdr_byte(struct tg_http *h, __u8 c)
{
	switch (h->state) {
	case TG_HTTP_HDR:
		if (c == '\n')
			return 1;
		if (c == '\r') {
			h->state = TG_HTTP_HDR_CR;
			return 0;
		}
		if (c == ' ' || c == '\t') {	/* obsolete line folding */
			h->state = TG_HTTP_SKIPLINE;
			return 0;
		}
		h->state = TG_HTTP_NAME;
		h->cand = TG_HTTP_N_CL | TG_HTTP_N_TE;
		if (h->flags & TG_HTTP_F_NAMES)
			h->cand |= TG_HTTP_N_HOST;
		h->match = 0;
		tg_http_name(h, c);
		return 0;
	case TG_HTTP_HDR_CR:
		if (c == '\n')
			return 1;
		return -tg_http_desync(h);
	case TG_HTTP_NAME:
		if (c == '\n')
			tg_http_eol(h);
		else if (c == ':')
			tg_http_colon(h);
		else
			tg_http_name(h, c);
		return 0;
	case TG_HTTP_VALUE:
		if (c == '\n')
			tg_http_eol(h);
		else if (h->cand == TG_HTTP_N_CL)
			tg_http_cl_value(h, c);
		else
			tg_http_te_value(h, c);
		return 0;
	case TG_HTTP_SKIPLINE:
		if (c == '\n')
			tg_http_eol(h);
		return 0;
	}
	return 0;
}

/* A byte of a chunked body's framing (size lines, the CRLF after data,
 * trailers), the same in requests and responses. Returns an event. */
static inline int tg_http_chunk_byte(struct tg_http *h, __u8 c)
{
	int v;

	switch (h->state) {
	case TG_HTTP_CSIZE:
		v = tg_http_hex(c);
		if (v >= 0) {
			if (h->remain > TG_HTTP_MAX_LEN)
				return tg_http_desync(h);
			h->remain = h->remain * 16 + v;
			h->flags |= TG_HTTP_F_DIGIT;
			return TG_HTTP_EV_NONE;
		}
		if (c == '\n')
			return tg_http_chunk_line(h);
		if ((c == ';' || c == ' ' || c == '\t' || c == '\r') &&
		    (h->flags & TG_HTTP_F_DIGIT)) {
			h->state = TG_HTTP_CEXT;
			return TG_HTTP_EV_NONE;
		}
		return tg_http_desync(h);
	case TG_HTTP_CEXT:
		if (c == '\n')
			return tg_http_chunk_line(h);
		return TG_HTTP_EV_NONE;
	case TG_HTTP_CDATA_CR:
		if (c == '\r') {
			h->state = TG_HTTP_CDATA_LF;
			return TG_HTTP_EV_NONE;
		}
		if (c == '\n') {
			h->state = TG_HTTP_CSIZE;
			return TG_HTTP_EV_NONE;
		}
		return tg_http_desync(h);
	case TG_HTTP_CDATA_LF:
		if (c == '\n') {
			h->state = TG_HTTP_CSIZE;
			return TG_HTTP_EV_NONE;
		}
		return tg_http_desync(h);
	case TG_HTTP_TRAILER:
		if (c == '\n')
			h->state = TG_HTTP_IDLE;
		else if (c == '\r')
			h->state = TG_HTTP_TRAILER_CR;
		else
			h->state = TG_HTTP_TRAILER_LINE;
		return TG_HTTP_EV_NONE;
	case TG_HTTP_TRAILER_CR:
		if (c == '\n') {
			h->state = TG_HTTP_IDLE;
			return TG_HTTP_EV_NONE;
		}
		return tg_http_desync(h);
	case TG_HTTP_TRAILER_LINE:
		if (c == '\n')
			h->state = TG_HTTP_TRAILER;
		return TG_HTTP_EV_NONE;
	}
	return TG_HTTP_EV_NONE;
}

/*
 * Feed one byte of the stream. Returns TG_HTTP_EV_CALL when it completes a
 * request head, TG_HTTP_EV_DESYNC or TG_HTTP_EV_OTHER when the parser
 * gives up on the connection (once), else TG_HTTP_EV_NONE.
 */
static inline int tg_http_byte(struct tg_http *h, __u8 c)
{
	int v;

	switch (h->state) {
	case TG_HTTP_IDLE:
		if (c == '\r' || c == '\n')
			return TG_HTTP_EV_NONE;
		if (!tg_http_tchar(c)) {
			if (h->flags & TG_HTTP_F_STARTED)
				return tg_http_desync(h);
			h->state = TG_HTTP_OTHER;
			return c == TG_TLS_HANDSHAKE ? TG_HTTP_EV_TLS :
						       TG_HTTP_EV_OTHER;
		}
		h->state = TG_HTTP_LINE;
		h->cand = c == 'P' ? TG_HTTP_N_PRI : 0;
		h->match = 1;
		return TG_HTTP_EV_NONE;
	case TG_HTTP_LINE:
		if (c == '\n') {
			h->flags |= TG_HTTP_F_STARTED;
			h->state = TG_HTTP_HDR;
		} else if (h->cand & TG_HTTP_N_PRI) {
			/* "PRI * HTTP/2.0": an HTTP/2 connection. */
			if (h->match == 1 && c == 'R') {
				h->match = 2;
			} else if (h->match == 2 && c == 'I') {
				h->match = 3;
			} else if (h->match == 3 && c == ' ') {
				/* The HTTP/2 preface. After an Upgrade,
				 * stream 1 was the request that asked. */
				if (h->flags & TG_HTTP_F_STARTED)
					h->stream = 1;
				h->flags |= TG_HTTP_F_STARTED;
				h->remain = TG_HTTP_H2_PREFACE_REST;
				h->state = TG_HTTP_H2_SKIP;
			} else {
				h->cand &= ~TG_HTTP_N_PRI;
			}
		}
		return TG_HTTP_EV_NONE;
	case TG_HTTP_HDR:
	case TG_HTTP_HDR_CR:
	case TG_HTTP_NAME:
	case TG_HTTP_VALUE:
	case TG_HTTP_SKIPLINE:
		v = tg_http_hdr_byte(h, c);
		if (v > 0)
			return tg_http_head_done(h);
		return -v;
	case TG_HTTP_BODY:
	case TG_HTTP_CDATA:
	case TG_HTTP_H2_SKIP:
		tg_http_skip(h, 1);
		return TG_HTTP_EV_NONE;
	case TG_HTTP_H2_HDR:
		return tg_http_h2_byte(h, c, 0);
	}
	return tg_http_chunk_byte(h, c);	/* DESYNC, OTHER: absorbing */
}

/*
 * Whether the parser, in its current state, only looks for the end of the
 * line: the caller may skip to the next LF without feeding the bytes
 * before it one by one (the result is the same). @resp: the response
 * direction.
 */
static inline int tg_http_in_line(const struct tg_http *h, int resp)
{
	switch (h->state) {
	case TG_HTTP_SKIPLINE:
	case TG_HTTP_CEXT:
	case TG_HTTP_TRAILER_LINE:
		return 1;
	case TG_HTTP_LINE:
		return resp ? h->match >= TG_HTTP_STATUS_END :
			      !(h->cand & TG_HTTP_N_PRI);
	}
	return 0;
}

/* A response head is complete: one call, unless it is an interim 1xx;
 * what follows depends on the status and the body's framing. */
static inline int tg_resp_head_done(struct tg_http *h)
{
	__u32 status = h->stream;
	__u8 f = h->flags;

	h->flags = (f & ~TG_HTTP_F_REQUEST) | TG_HTTP_F_STARTED;
	h->match = 0;
	if (status < 200) {
		if (status == 101) {	/* another protocol follows */
			h->state = TG_HTTP_CLOSED;
			return TG_HTTP_EV_CALL;
		}
		h->remain = 0;
		h->state = TG_HTTP_IDLE;	/* interim: the answer follows */
		return TG_HTTP_EV_NONE;
	}
	if (status == 204 || status == 304) {
		h->remain = 0;
		h->state = TG_HTTP_IDLE;
	} else if (f & TG_HTTP_F_BAD) {
		/* A length that cannot be followed: counted, then lost. */
		h->state = TG_HTTP_DESYNC;
	} else if (f & TG_HTTP_F_CHUNKED) {
		h->remain = 0;
		h->flags |= TG_HTTP_F_PEEK;
		h->state = TG_HTTP_CSIZE;
	} else if ((f & TG_HTTP_F_CL) && !h->remain) {
		h->state = TG_HTTP_IDLE;
	} else {
		/* Content-Length, or to the end of the connection
		 * (remain 0 here): a body, unless a status line comes. */
		if (!(f & TG_HTTP_F_CL))
			h->remain = 0;
		h->state = TG_HTTP_PEEK;
	}
	return TG_HTTP_EV_CALL;
}

/* A status line begins with its first byte @c (after a response, or a
 * HEAD answer's head): 'H', or the stream is lost. */
static inline int tg_resp_line_start(struct tg_http *h, __u8 c)
{
	if (c != 'H')
		return tg_http_desync(h);
	h->state = TG_HTTP_LINE;
	h->match = 1;
	h->stream = 0;
	return TG_HTTP_EV_NONE;
}

/*
 * TG_HTTP_PEEK: byte @c right after a head with a body length (remain;
 * 0 for a body to the end of the connection). Matching "HTTP/1." means a
 * new status line: the head answered a HEAD request and had no body. A
 * mismatch after k matching bytes means a body, of which k + 1 bytes are
 * gone; or, when the body was exactly those k bytes, that @c follows it.
 */
static inline int tg_resp_peek(struct tg_http *h, __u8 c)
{
	__u64 k = h->match;

	if (k < TG_HTTP_VERSION_LEN && c == tg_http_version_char(k)) {
		if (++h->match == TG_HTTP_VERSION_LEN) {
			h->state = TG_HTTP_LINE;
			h->stream = 0;
		}
		return TG_HTTP_EV_NONE;
	}
	h->match = 0;
	if (!h->remain) {
		h->state = TG_HTTP_CLOSED;	/* to the end of the connection */
		return TG_HTTP_EV_NONE;
	}
	if (k < h->remain) {
		h->remain -= k + 1;
		h->state = h->remain ? TG_HTTP_BODY : TG_HTTP_IDLE;
		return TG_HTTP_EV_NONE;
	}
	if (k == h->remain) {
		h->remain = 0;
		return tg_resp_line_start(h, c);
	}
	return tg_http_desync(h);
}

/*
 * Feed one byte of the stream a server writes. Returns TG_HTTP_EV_CALL
 * when it completes the head of a final response (or ends an HTTP/2
 * client stream), TG_HTTP_EV_DESYNC or TG_HTTP_EV_OTHER when the parser
 * gives up on the connection (once), else TG_HTTP_EV_NONE.
 */
static inline int tg_resp_byte(struct tg_http *h, __u8 c)
{
	__u8 i;
	int v;

	switch (h->state) {
	case TG_HTTP_IDLE:
		if (c == 'H')
			return tg_resp_line_start(h, c);
		if (h->flags & TG_HTTP_F_STARTED)
			return tg_http_desync(h);
		h->flags |= TG_HTTP_F_STARTED;
		if (c == 0) {
			/* HTTP/2: the server's first frame (SETTINGS), whose
			 * length is below 2^16. */
			h->state = TG_HTTP_H2_HDR;
			h->match = 0;
			h->remain = 0;
			return tg_http_h2_byte(h, c, 1);
		}
		h->state = TG_HTTP_OTHER;
		return TG_HTTP_EV_OTHER;
	case TG_HTTP_LINE:
		/* "HTTP/1." digit SP 3DIGIT, then the reason up to LF. */
		i = h->match;
		if (c == '\n') {
			if (i < TG_HTTP_STATUS_END)
				return tg_http_desync(h);
			h->state = TG_HTTP_HDR;
			return TG_HTTP_EV_NONE;
		}
		if (i >= TG_HTTP_STATUS_END)
			return TG_HTTP_EV_NONE;
		if (i < TG_HTTP_VERSION_LEN) {
			if (c != tg_http_version_char(i))
				return tg_http_desync(h);
		} else if (i == TG_HTTP_VERSION_LEN + 1) {
			if (c != ' ')
				return tg_http_desync(h);
		} else if (c < '0' || c > '9') {
			return tg_http_desync(h);
		} else if (i > TG_HTTP_VERSION_LEN + 1) {
			h->stream = h->stream * 10 + (c - '0');
		}
		h->match = i + 1;
		return TG_HTTP_EV_NONE;
	case TG_HTTP_HDR:
	case TG_HTTP_HDR_CR:
	case TG_HTTP_NAME:
	case TG_HTTP_VALUE:
	case TG_HTTP_SKIPLINE:
		v = tg_http_hdr_byte(h, c);
		if (v > 0)
			return tg_resp_head_done(h);
		return -v;
	case TG_HTTP_PEEK:
		return tg_resp_peek(h, c);
	case TG_HTTP_BODY:
	case TG_HTTP_CDATA:
	case TG_HTTP_H2_SKIP:
		tg_http_skip(h, 1);
		return TG_HTTP_EV_NONE;
	case TG_HTTP_H2_HDR:
		return tg_http_h2_byte(h, c, 1);
	case TG_HTTP_CSIZE:
		if (h->flags & TG_HTTP_F_PEEK) {
			/* The first chunk size: a status line instead
			 * means the head answered a HEAD request. */
			h->flags &= ~TG_HTTP_F_PEEK;
			if (c == 'H')
				return tg_resp_line_start(h, c);
		}
		break;
	}
	return tg_http_chunk_byte(h, c);	/* DESYNC, OTHER, CLOSED: absorbing */
}

#endif /* TOLLGATE_HTTP_H */
