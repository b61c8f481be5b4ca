/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * http.h - count HTTP requests in the byte stream a server reads.
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

#define TG_HTTP_H2_PREFACE_REST	20	/* "* HTTP/2.0\r\n\r\nSM\r\n\r\n" */
#define TG_HTTP_H2_FRAME_HDR	9	/* bytes of a frame header */
#define TG_HTTP_H2_HEADERS	1	/* frame type */

/* tg_http.flags */
#define TG_HTTP_F_STARTED	0x01	/* a request line was seen */
#define TG_HTTP_F_CL		0x02	/* this head has a Content-Length */
#define TG_HTTP_F_CHUNKED	0x04	/* its transfer coding ends in chunked */
#define TG_HTTP_F_BAD		0x08	/* its body length cannot be known */
#define TG_HTTP_F_DIGIT		0x10	/* a digit of the number being read */
#define TG_HTTP_F_TE		0x20	/* this head has a Transfer-Encoding */
#define TG_HTTP_F_REQUEST	(TG_HTTP_F_CL | TG_HTTP_F_CHUNKED | \
				 TG_HTTP_F_BAD | TG_HTTP_F_DIGIT | \
				 TG_HTTP_F_TE)

/* tg_http.cand: header names (or the method) still matching */
#define TG_HTTP_N_CL		0x01	/* content-length */
#define TG_HTTP_N_TE		0x02	/* transfer-encoding */
#define TG_HTTP_N_PRI		0x04	/* method PRI: the HTTP/2 preface */
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

#define TG_HTTP_CL_LEN 14
#define TG_HTTP_TE_LEN 17
#define TG_HTTP_CHUNKED_LEN 7

/* The stream is lost (a read the caller could not see or follow). Returns
 * TG_HTTP_EV_DESYNC the first time, TG_HTTP_EV_NONE after. */
static inline int tg_http_desync(struct tg_http *h)
{
	if (h->state == TG_HTTP_DESYNC || h->state == TG_HTTP_OTHER)
		return TG_HTTP_EV_NONE;
	h->state = TG_HTTP_DESYNC;
	return TG_HTTP_EV_DESYNC;
}

/* True once nothing more will be parsed on this connection. */
static inline int tg_http_done(const struct tg_http *h)
{
	return h->state == TG_HTTP_DESYNC || h->state == TG_HTTP_OTHER;
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
 * stream id. The length gathers in the low bits of remain, the stream id
 * in the high ones. */
static inline int tg_http_h2_byte(struct tg_http *h, __u8 c)
{
	__u64 len;
	__u32 sid;
	int ev = TG_HTTP_EV_NONE;

	if (h->match < 3)
		h->remain = (h->remain << 8) | c;
	else if (h->match == 3)
		h->cand = c;
	else if (h->match >= 5)
		h->remain |= (__u64)c << (32 + 8 * (8 - h->match));
	if (++h->match < TG_HTTP_H2_FRAME_HDR)
		return ev;
	len = h->remain & 0xffffff;
	sid = (h->remain >> 32) & 0x7fffffff;
	if (h->cand == TG_HTTP_H2_HEADERS && (sid & 1) && sid > h->stream) {
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
	if (h->match < 0xff)
		h->match++;
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
				h->cand = 0;
			}
		}
		return TG_HTTP_EV_NONE;
	case TG_HTTP_HDR:
		if (c == '\n')
			return tg_http_head_done(h);
		if (c == '\r') {
			h->state = TG_HTTP_HDR_CR;
			return TG_HTTP_EV_NONE;
		}
		if (c == ' ' || c == '\t') {	/* obsolete line folding */
			h->state = TG_HTTP_SKIPLINE;
			return TG_HTTP_EV_NONE;
		}
		h->state = TG_HTTP_NAME;
		h->cand = TG_HTTP_N_CL | TG_HTTP_N_TE;
		h->match = 0;
		tg_http_name(h, c);
		return TG_HTTP_EV_NONE;
	case TG_HTTP_HDR_CR:
		if (c == '\n')
			return tg_http_head_done(h);
		return tg_http_desync(h);
	case TG_HTTP_NAME:
		if (c == '\n')
			tg_http_eol(h);
		else if (c == ':')
			tg_http_colon(h);
		else
			tg_http_name(h, c);
		return TG_HTTP_EV_NONE;
	case TG_HTTP_VALUE:
		if (c == '\n')
			tg_http_eol(h);
		else if (h->cand == TG_HTTP_N_CL)
			tg_http_cl_value(h, c);
		else
			tg_http_te_value(h, c);
		return TG_HTTP_EV_NONE;
	case TG_HTTP_SKIPLINE:
		if (c == '\n')
			tg_http_eol(h);
		return TG_HTTP_EV_NONE;
	case TG_HTTP_BODY:
	case TG_HTTP_CDATA:
	case TG_HTTP_H2_SKIP:
		tg_http_skip(h, 1);
		return TG_HTTP_EV_NONE;
	case TG_HTTP_H2_HDR:
		return tg_http_h2_byte(h, c);
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
	return TG_HTTP_EV_NONE;	/* DESYNC, OTHER: absorbing */
}

#endif /* TOLLGATE_HTTP_H */
