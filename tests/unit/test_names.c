// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_names.c - the names of include/names.h, the very code the kernel
 * meter runs: Host and absolute-form targets of HTTP/1.x, :authority in
 * HTTP/2 header blocks made by libnghttp2's HPACK deflater (Huffman-coded,
 * plain, through the dynamic table), and the SNI of ClientHellos that
 * openssl s_client, curl and h2load sent (tests/data/tls/).
 *
 * Streams are fed the way bpf/calls.bpf.h feeds them (skip what needs no
 * look, skip to the line's end where only that matters, then bytes), in
 * one read, one byte a read, and cut at every position: what a request
 * names must never depend on how the stream was cut.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <linux/types.h>
#include <nghttp2/nghttp2.h>

static __u32 tg_huff_test[16 * 256];
#define TG_HUFF_FSM tg_huff_test
#include "names.h"

#define DATA "tests/data/tls/"
#define NONE_SVC 0xffffffffu	/* a call whose request named nothing */

/* The services the tests know: a name's service is its index + 1. */
static const char *const known[] = {
	"api.tenant-a.example", "api.tenant-b.example", "www.tenant-a.example",
	"a.example", "b.example", "c.example",
};
#define NR_KNOWN (sizeof(known) / sizeof(known[0]))

static __u64 hash_of(const char *s)
{
	struct tg_name n;

	tg_name_start(&n);
	while (*s)
		tg_name_byte(&n, (__u8)*s++);
	tg_name_end(&n);
	return n.hash;
}

/* The name's bytes kept, as a string. */
static const char *name_str(const struct tg_name *n)
{
	static char buf[TG_NAME_BUF + 1];

	memcpy(buf, n->buf, n->nbuf);
	buf[n->nbuf] = 0;
	return buf;
}

static int name_ok(const struct tg_name *n)
{
	return n->len && !(n->st & (TG_NAME_BAD | TG_NAME_BRACKET));
}

/* The service of name @n: a known one's, else 0 (no host matched). */
static __u32 resolve(const struct tg_name *n)
{
	size_t i;

	if (!name_ok(n))
		return 0;
	for (i = 0; i < NR_KNOWN; i++)
		if (hash_of(known[i]) == n->hash)
			return i + 1;
	return 0;
}

#define MAXC 64

struct result {
	unsigned int calls;
	__u32 call_svc[MAXC];	/* per call: the service, or NONE_SVC */
	unsigned int names;
	char name[MAXC][TG_NAME_BUF + 1];
	unsigned int tls, noname;
	int ev;			/* a DESYNC or OTHER event */
};

struct stream {
	struct tg_http h;
	struct tg_req_names p;
};

/* One read, as seg_step() in bpf/calls.bpf.h handles it. */
static void feed(struct stream *st, const __u8 *b, size_t n,
		 struct result *r)
{
	size_t off = 0;

	while (off < n && !r->ev) {
		__u64 k = tg_req_skip(&st->h, &st->p, n - off);
		int ev;

		if (k) {
			off += k;
			continue;
		}
		if (tg_req_in_line(&st->h)) {
			const __u8 *lf = memchr(b + off, '\n', n - off);

			if (!lf)
				return;
			off = lf - b;
		}
		ev = tg_req_byte(&st->h, &st->p, b[off++]);
		if (ev & TG_HTTP_EV_NAME) {
			ev &= ~TG_HTTP_EV_NAME;
			if (r->names < MAXC) {
				memcpy(r->name[r->names], st->p.n.buf,
				       st->p.n.nbuf);
				r->name[r->names][st->p.n.nbuf] = 0;
				r->names++;
			}
			if (st->p.n.len)
				tg_names_set(&st->p, resolve(&st->p.n));
		}
		if (ev == TG_HTTP_EV_CALL) {
			if (r->calls < MAXC)
				r->call_svc[r->calls] =
					st->p.req & TG_REQ_NAMED ?
						st->p.req_svc : NONE_SVC;
			r->calls++;
		} else if (ev == TG_HTTP_EV_TLS) {
			r->tls++;
		} else if (ev == TG_HTTP_EV_NONAME) {
			r->noname++;
		} else if (ev != TG_HTTP_EV_NONE) {
			r->ev = ev;
		}
	}
}

static struct result run(const __u8 *s, size_t n, const size_t *cuts,
			 size_t ncuts)
{
	struct stream st;
	struct result r;
	size_t prev = 0, i;

	memset(&st, 0, sizeof(st));
	memset(&r, 0, sizeof(r));
	st.h.flags = TG_HTTP_F_NAMES;
	for (i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : n;

		feed(&st, s + prev, end - prev, &r);
		prev = end;
	}
	return r;
}

static void same(const struct result *a, const struct result *b,
		 const char *how, size_t at)
{
	unsigned int i;

	if (a->calls != b->calls || a->names != b->names ||
	    a->tls != b->tls || a->noname != b->noname || a->ev != b->ev)
		fail_msg("%s at %zu: %u calls %u names, not %u calls %u names",
			 how, at, b->calls, b->names, a->calls, a->names);
	for (i = 0; i < a->calls && i < MAXC; i++)
		if (a->call_svc[i] != b->call_svc[i])
			fail_msg("%s at %zu: call %u has service %u, not %u",
				 how, at, i, b->call_svc[i], a->call_svc[i]);
	for (i = 0; i < a->names && i < MAXC; i++)
		if (strcmp(a->name[i], b->name[i]))
			fail_msg("%s at %zu: name %u '%s', not '%s'", how, at,
				 i, b->name[i], a->name[i]);
}

/* The result of @s in one read; the same one byte a read and cut
 * anywhere in two, or the test fails. */
static struct result check(const void *data, size_t n)
{
	const __u8 *s = data;
	struct result one = run(s, n, NULL, 0), r;
	size_t cuts[4096], i;

	assert_true(n < 4096);
	for (i = 1; i < n; i++)
		cuts[i - 1] = i;
	r = run(s, n, cuts, n ? n - 1 : 0);
	same(&one, &r, "one byte a read", 0);
	for (i = 1; i < n; i++) {
		cuts[0] = i;
		r = run(s, n, cuts, 1);
		same(&one, &r, "cut", i);
	}
	return one;
}

static void expect_calls(const struct result *r, unsigned int n, ...)
{
	va_list ap;
	unsigned int i;

	assert_int_equal(r->calls, n);
	va_start(ap, n);
	for (i = 0; i < n; i++) {
		__u32 want = va_arg(ap, __u32);

		if (r->call_svc[i] != want)
			fail_msg("call %u: service %u, expected %u", i,
				 r->call_svc[i], want);
	}
	va_end(ap);
	assert_int_equal(r->ev, 0);
}

static int setup(void **state)
{
	(void)state;
	return tg_huff_build(tg_huff_test);
}

/* --- the name itself -------------------------------------------------------- */

static void test_name_normal(void **state)
{
	struct tg_name a, b;
	const char *s;

	/* the FNV constants names.h compares literal field names with */
	s = ":authority";
	__u32 h = TG_FNV32_OFF;
	while (*s)
		h = (h ^ (__u8)*s++) * TG_FNV32_PRIME;
	assert_int_equal(h, TG_HPACK_H_AUTHORITY);
	h = TG_FNV32_OFF;
	for (s = "host"; *s; s++)
		h = (h ^ (__u8)*s) * TG_FNV32_PRIME;
	assert_int_equal(h, TG_HPACK_H_HOST);

	/* case, port, trailing dot, blanks: one name */
	assert_true(hash_of("api.tenant-a.example") ==
		    hash_of("  API.Tenant-A.Example.:8443 "));
	assert_true(hash_of("api.tenant-a.example") ==
		    hash_of("api.tenant-a.example."));
	assert_true(hash_of("api.tenant-a.example") !=
		    hash_of("api.tenant-a.example.com"));

	tg_name_start(&a);
	for (s = "x.Y.tenant-a.EXAMPLE:80"; *s; s++)
		tg_name_byte(&a, *s);
	assert_true(tg_name_end(&a));
	assert_int_equal(a.nlab, 4);
	assert_string_equal(name_str(&a), "x.y.tenant-a.example");
	/* a wildcard's suffix hashes as the name's last labels */
	tg_name_start(&b);
	for (s = "tenant-a.example"; *s; s++)
		tg_name_byte(&b, *s);
	tg_name_end(&b);
	assert_true(tg_name_suffix(&a, 2) == tg_name_suffix(&b, 2));
	assert_true(tg_name_suffix(&a, 3) != tg_name_suffix(&b, 2));

	/* what no host name is */
	const char *bad[] = { "a..b", ".a", "a b", "x_!", "[::1]:80", "*.a",
			      "a.b..", "" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tg_name_start(&a);
		for (s = bad[i]; *s; s++)
			if (tg_name_byte(&a, *s))
				break;
		tg_name_end(&a);
		if (!strcmp(bad[i], "a b"))
			assert_string_equal(name_str(&a), "a");
		else if (name_ok(&a))
			fail_msg("'%s' taken for a host name", bad[i]);
	}
	/* IPv6 literals keep their colons and stop at the port's */
	tg_name_start(&a);
	for (s = "[2001:DB8::1]:443"; *s; s++)
		if (tg_name_byte(&a, *s))
			break;
	tg_name_end(&a);
	assert_int_equal(a.nbuf, 13);
	assert_memory_equal(a.buf, "[2001:db8::1]", 13);
	/* a long name is hashed whole and kept cut */
	char longname[300];
	memset(longname, 'a', 250);
	strcpy(longname + 250, ".example");
	tg_name_start(&a);
	for (s = longname; *s; s++)
		tg_name_byte(&a, *s);
	assert_false(tg_name_end(&a));
	assert_int_equal(a.nbuf, TG_NAME_BUF);
	assert_true(a.st & TG_NAME_LONG);
	(void)state;
}

/* --- HTTP/1.x ---------------------------------------------------------------- */

static void test_http1_host(void **state)
{
	struct result r;
	const char *s;

	s = "GET / HTTP/1.1\r\nUser-Agent: x\r\nhOsT:  API.tenant-a.example:8080 \r\n\r\n";
	r = check(s, strlen(s));
	expect_calls(&r, 1, 1);
	assert_string_equal(r.name[0], "api.tenant-a.example");

	/* keep-alive and pipelined: each request its own name */
	s = "GET /1 HTTP/1.1\r\nHost: a.example\r\n\r\n"
	    "POST /2 HTTP/1.1\r\nContent-Length: 33\r\nHost: b.example\r\n\r\n"
	    "GET / HTTP/1.1\r\nHost: c.example\r\n"	/* a body */
	    "GET /3 HTTP/1.1\r\nhost:c.example.\r\n\r\n"
	    "GET /4 HTTP/1.1\r\nHost: unknown.example\r\n\r\n";
	r = check(s, strlen(s));
	expect_calls(&r, 4, 4, 5, 6, 0);
	assert_int_equal(r.names, 4);

	/* HTTP/1.0 without Host; Host with the header name cut short or
	 * longer; a second Host does not count */
	s = "GET / HTTP/1.0\r\n\r\n"
	    "GET / HTTP/1.1\r\nHos: a.example\r\nHosts: a.example\r\n\r\n"
	    "GET / HTTP/1.1\r\nHost: b.example\r\nHost: a.example\r\n\r\n";
	r = check(s, strlen(s));
	expect_calls(&r, 3, NONE_SVC, NONE_SVC, 5);

	/* an empty Host names nothing */
	s = "GET / HTTP/1.1\r\nHost:\r\n\r\n";
	r = check(s, strlen(s));
	expect_calls(&r, 1, NONE_SVC);

	/* chunked body with Host-like trailers: not a request's name */
	s = "POST / HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "5\r\nHost:\r\n0\r\nHost: b.example\r\n\r\n"
	    "GET / HTTP/1.1\r\nHost: c.example\r\n\r\n";
	r = check(s, strlen(s));
	expect_calls(&r, 2, 4, 6);
	(void)state;
}

static void test_http1_absolute(void **state)
{
	struct result r;
	const char *s;

	/* the target's authority wins over Host */
	s = "GET http://b.example/x?y HTTP/1.1\r\nHost: a.example\r\n\r\n"
	    "GET HTTPS://user:pw@C.Example:443/ HTTP/1.1\r\nHost: a.example\r\n\r\n"
	    "GET http://a.example HTTP/1.1\r\n\r\n"
	    "OPTIONS * HTTP/1.1\r\nHost: b.example\r\n\r\n"
	    "GET /http://c.example HTTP/1.1\r\nHost: a.example\r\n\r\n"
	    "GET htt://c.example/ HTTP/1.1\r\nHost: b.example\r\n\r\n";
	r = check(s, strlen(s));
	expect_calls(&r, 6, 5, 6, 4, 5, 4, 5);
	assert_string_equal(r.name[0], "b.example");
	assert_string_equal(r.name[1], "c.example");
	(void)state;
}

/* --- HTTP/2 ------------------------------------------------------------------ */

struct h2 {
	__u8 b[8192];
	size_t n;
	nghttp2_hd_deflater *def;
	nghttp2_hd_inflater *inf;
	__u32 sid;
};

static void h2_put(struct h2 *h, const void *p, size_t n)
{
	assert_true(h->n + n <= sizeof(h->b));
	memcpy(h->b + h->n, p, n);
	h->n += n;
}

static void h2_frame(struct h2 *h, size_t len, __u8 type, __u8 flags,
		     __u32 sid)
{
	__u8 f[9] = { len >> 16, len >> 8, len, type, flags, sid >> 24,
		      sid >> 16, sid >> 8, sid };

	h2_put(h, f, 9);
}

static void h2_start(struct h2 *h)
{
	memset(h, 0, sizeof(*h));
	assert_int_equal(nghttp2_hd_deflate_new(&h->def, 4096), 0);
	assert_int_equal(nghttp2_hd_inflate_new(&h->inf), 0);
	h2_put(h, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);
	h2_frame(h, 0, 4, 0, 0);	/* SETTINGS */
	h->sid = 1;
}

static void h2_end(struct h2 *h)
{
	nghttp2_hd_deflate_del(h->def);
	nghttp2_hd_inflate_del(h->inf);
}

#define NV(n, v, f) { (uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, \
		       strlen(v), (f) }

/* nghttp2's inflater on @blk: the :authority it decodes, into @out. */
static void inflate_authority(struct h2 *h, const __u8 *blk, size_t n,
			      char *out, size_t len)
{
	out[0] = 0;
	while (n) {
		nghttp2_nv nv;
		int fl = 0;
		ssize_t rv = nghttp2_hd_inflate_hd2(h->inf, &nv, &fl, blk, n,
						    1);

		assert_true(rv >= 0);
		blk += rv;
		n -= rv;
		if ((fl & NGHTTP2_HD_INFLATE_EMIT) &&
		    nv.namelen == 10 && !memcmp(nv.name, ":authority", 10))
			snprintf(out, len, "%.*s", (int)nv.valuelen,
				 nv.value);
		if (fl & NGHTTP2_HD_INFLATE_FINAL) {
			nghttp2_hd_inflate_end_headers(h->inf);
			break;
		}
	}
}

/* How a request's header block is framed. */
#define SPLIT	0x1	/* HEADERS, then two CONTINUATIONs */
#define PAD	0x2	/* PADDED, 7 bytes of padding */
#define PRIO	0x4	/* PRIORITY */

/* A GET naming @authority (NULL: none), deflated by nghttp2; @nvflags for
 * :authority (NGHTTP2_NV_FLAG_NO_INDEX: a literal never indexed). */
static void h2_request(struct h2 *h, const char *authority, __u8 nvflags,
		       int how, char *decoded, size_t dlen)
{
	nghttp2_nv nv[5] = {
		NV(":method", "GET", 0), NV(":scheme", "https", 0),
		NV(":path", "/x", 0),
		NV("user-agent", "test_names/1 (long enough to index)", 0),
	};
	size_t nnv = 4;
	__u8 blk[1024];
	ssize_t n;

	if (authority) {
		nv[4] = nv[3];
		nv[3] = (nghttp2_nv)NV(":authority", authority, nvflags);
		nnv = 5;
	}
	n = nghttp2_hd_deflate_hd(h->def, blk, sizeof(blk), nv, nnv);
	assert_true(n > 0);
	inflate_authority(h, blk, n, decoded, dlen);
	if (how & SPLIT) {
		size_t a = n / 3, b = 2 * n / 3;

		h2_frame(h, a, 1, 1, h->sid);
		h2_put(h, blk, a);
		h2_frame(h, b - a, 9, 0, h->sid);
		h2_put(h, blk + a, b - a);
		h2_frame(h, n - b, 9, 4, h->sid);
		h2_put(h, blk + b, n - b);
	} else {
		__u8 fl = 1 | 4;
		size_t len = n;

		if (how & PAD) {
			fl |= 8;
			len += 1 + 7;
		}
		if (how & PRIO) {
			fl |= 0x20;
			len += 5;
		}
		h2_frame(h, len, 1, fl, h->sid);
		if (how & PAD)
			h2_put(h, "\x07", 1);
		if (how & PRIO)
			h2_put(h, "\x00\x00\x00\x00\x10", 5);
		h2_put(h, blk, n);
		if (how & PAD)
			h2_put(h, "\0\0\0\0\0\0\0", 7);
	}
	h->sid += 2;
	/* a DATA frame and a WINDOW_UPDATE between requests */
	h2_frame(h, 3, 0, 0, h->sid - 2);
	h2_put(h, "abc", 3);
	h2_frame(h, 4, 8, 0, 0);
	h2_put(h, "\0\0\1\0", 4);
}

static void test_h2_deflater(void **state)
{
	/* a, a, b, a, c, b: Huffman-coded literals with incremental
	 * indexing, then dynamic table hits as the table shifts */
	const char *seq[] = { "a.example", "a.example", "b.example",
			      "A.example", "c.example:443", "b.example" };
	const __u32 svc[] = { 4, 4, 5, 4, 6, 5 };
	char dec[64];
	struct result r;
	struct h2 h;
	size_t i;

	for (int how = 0; how < 8; how++) {
		h2_start(&h);
		for (i = 0; i < 6; i++) {
			h2_request(&h, seq[i], 0, how, dec, sizeof(dec));
			assert_string_equal(dec, seq[i]);
		}
		r = check(h.b, h.n);
		assert_int_equal(r.calls, 6);
		for (i = 0; i < 6; i++)
			assert_int_equal(r.call_svc[i], svc[i]);
		/* decoded from Huffman: only the literals are read */
		assert_string_equal(r.name[0], "a.example");
		h2_end(&h);
	}

	/* never indexed, no :authority, unknown names */
	h2_start(&h);
	h2_request(&h, "b.example", NGHTTP2_NV_FLAG_NO_INDEX, 0, dec,
		   sizeof(dec));
	h2_request(&h, NULL, 0, 0, dec, sizeof(dec));
	h2_request(&h, "b.example", NGHTTP2_NV_FLAG_NO_INDEX, 0, dec,
		   sizeof(dec));
	h2_request(&h, "other.example", 0, 0, dec, sizeof(dec));
	h2_request(&h, "other.example", 0, 0, dec, sizeof(dec));
	r = check(h.b, h.n);
	expect_calls(&r, 5, 5, NONE_SVC, 5, 0, 0);
	h2_end(&h);
	(void)state;
}

/* More :authority entries than remembered: a reference to the oldest is
 * not followed (the request names nothing; the meter counts it lost). */
static void test_h2_memory(void **state)
{
	char dec[64], name[32];
	struct result r;
	struct h2 h;
	int i;

	h2_start(&h);
	for (i = 0; i <= TG_HPACK_MEM; i++) {
		snprintf(name, sizeof(name), "n%d.example", i);
		h2_request(&h, name, 0, 0, dec, sizeof(dec));
	}
	h2_request(&h, "n0.example", 0, 0, dec, sizeof(dec));
	h2_request(&h, "n8.example", 0, 0, dec, sizeof(dec));
	assert_string_equal(dec, "n8.example");
	r = check(h.b, h.n);
	assert_int_equal(r.calls, TG_HPACK_MEM + 3);
	assert_int_equal(r.call_svc[TG_HPACK_MEM + 1], NONE_SVC);
	assert_int_equal(r.call_svc[TG_HPACK_MEM + 2], 0);
	h2_end(&h);
	(void)state;
}

/* Huffman-encode @s (the canonical code of names.h) into @out. */
static size_t huff_encode(const char *s, __u8 *out)
{
	__u32 code[257];
	__u64 acc = 0;
	int bits = 0;
	size_t n = 0;

	tg_huff_codes(code);
	for (; *s; s++) {
		acc = (acc << tg_huff_len[(__u8)*s]) | code[(__u8)*s];
		bits += tg_huff_len[(__u8)*s];
		while (bits >= 8) {
			out[n++] = acc >> (bits - 8);
			bits -= 8;
		}
	}
	if (bits)
		out[n++] = (acc << (8 - bits)) | ((1 << (8 - bits)) - 1);
	return n;
}

/* Decode @n Huffman-coded bytes with the decoder's table, into @out;
 * NULL when the code or its padding is wrong. */
static const __u8 *huff_decode(const __u8 *in, size_t n, __u8 *out)
{
	__u32 st = 0, e = TG_HUFF_ACCEPT;
	size_t o = 0;

	for (size_t i = 0; i < 2 * n; i++) {
		__u8 x = i & 1 ? in[i / 2] & 0xf : in[i / 2] >> 4;

		e = tg_huff_test[st * 16 + x];
		if (e & TG_HUFF_FAIL)
			return NULL;
		if (e & TG_HUFF_SYM)
			out[o++] = e >> 16;
		st = e & 0xff;
	}
	return e & TG_HUFF_ACCEPT ? out : NULL;
}

/* Blocks written by hand: plain strings, a literal ":authority" name
 * (plain and Huffman), "host" by static index, a size update, and the
 * decoder's own Huffman table against nghttp2's inflater. */
static void test_h2_by_hand(void **state)
{
	struct h2 h;
	struct result r;
	__u8 blk[256], hv[64], hn[16];
	size_t n, k;

	h2_start(&h);
	/* 1: :authority (static 1) literal, plain, incremental */
	n = 0;
	blk[n++] = 0x82;			/* :method GET */
	blk[n++] = 0x41;			/* :authority, indexed name */
	blk[n++] = 9;
	memcpy(blk + n, "a.example", 9);
	n += 9;
	h2_frame(&h, n, 1, 5, 1);
	h2_put(&h, blk, n);
	/* 3: a size update, then the dynamic entry (62) */
	n = 0;
	blk[n++] = 0x3f;			/* size update 4096 */
	blk[n++] = 0xe1;
	blk[n++] = 0x1f;
	blk[n++] = 0x82;
	blk[n++] = 0x80 | 62;
	h2_frame(&h, n, 1, 5, 3);
	h2_put(&h, blk, n);
	/* 5: a literal name ":authority", Huffman-coded, value plain,
	 * without indexing */
	n = 0;
	blk[n++] = 0x00;
	k = huff_encode(":authority", hn);
	blk[n++] = 0x80 | k;
	memcpy(blk + n, hn, k);
	n += k;
	blk[n++] = 9;
	memcpy(blk + n, "b.example", 9);
	n += 9;
	h2_frame(&h, n, 1, 5, 5);
	h2_put(&h, blk, n);
	/* 7: "host" by static index 38, Huffman value, never indexed */
	n = 0;
	blk[n++] = 0x10 | 0x0f;
	blk[n++] = 38 - 15;
	k = huff_encode("C.EXAMPLE:80", hv);
	blk[n++] = 0x80 | k;
	memcpy(blk + n, hv, k);
	n += k;
	h2_frame(&h, n, 1, 5, 7);
	h2_put(&h, blk, n);
	/* 9: a literal name "Host" that is not lower case: no name */
	n = 0;
	blk[n++] = 0x00;
	blk[n++] = 4;
	memcpy(blk + n, "Host", 4);
	n += 4;
	blk[n++] = 9;
	memcpy(blk + n, "a.example", 9);
	n += 9;
	h2_frame(&h, n, 1, 5, 9);
	h2_put(&h, blk, n);
	/* 11: a Huffman string with bad padding: the name never matches */
	n = 0;
	blk[n++] = 0x01;
	k = huff_encode("a.example", hv);
	hv[k - 1] &= 0xfe;
	blk[n++] = 0x80 | k;
	memcpy(blk + n, hv, k);
	n += k;
	h2_frame(&h, n, 1, 5, 11);
	h2_put(&h, blk, n);
	/* trailers on stream 11: no call */
	h2_frame(&h, 1, 1, 5, 11);
	h2_put(&h, "\x82", 1);
	r = check(h.b, h.n);
	expect_calls(&r, 6, 4, 4, 5, 6, NONE_SVC, 0);
	assert_string_equal(r.name[2], "c.example");
	h2_end(&h);

	/* the decoder's table against nghttp2's inflater: every byte
	 * value, and strings of them */
	for (int c = 0; c < 256 * 4; c++) {
		char str[8];
		nghttp2_hd_inflater *inf;
		nghttp2_nv nv;
		int fl = 0, len = 1 + c / 256;
		__u8 b[64];

		for (int i = 0; i < len; i++)
			str[i] = (char)((c * (i + 7) + i) & 0xff) ?: 'z';
		str[len] = 0;
		n = 0;
		b[n++] = 0x00;
		b[n++] = 1;
		b[n++] = 'x';
		k = huff_encode(str, b + n + 1);
		b[n++] = 0x80 | k;
		n += k;
		assert_int_equal(nghttp2_hd_inflate_new(&inf), 0);
		assert_true(nghttp2_hd_inflate_hd2(inf, &nv, &fl, b, n, 1) >=
			    0);
		assert_true(fl & NGHTTP2_HD_INFLATE_EMIT);
		assert_int_equal(nv.valuelen, len);
		assert_memory_equal(nv.value, str, len);
		assert_memory_equal(huff_decode(b + 4, k, hv), str, len);
		nghttp2_hd_inflate_del(inf);
	}
	(void)state;
}

/* --- TLS --------------------------------------------------------------------- */

static size_t load(const char *file, __u8 *buf, size_t len)
{
	FILE *f = fopen(file, "rb");
	size_t n;

	if (!f)
		fail_msg("cannot open %s: %s", file, strerror(errno));
	n = fread(buf, 1, len, f);
	fclose(f);
	return n;
}

/* The ClientHello of @b (one record) in records of at most @max bytes
 * of body each, into @out. */
static size_t refragment(const __u8 *b, size_t n, size_t max, __u8 *out)
{
	size_t body = ((size_t)b[3] << 8) | b[4], off = 0, o = 0;

	assert_int_equal(body + 5, n);
	while (off < body) {
		size_t k = body - off < max ? body - off : max;

		out[o++] = 0x16;
		out[o++] = b[1];
		out[o++] = b[2];
		out[o++] = k >> 8;
		out[o++] = k;
		memcpy(out + o, b + 5 + off, k);
		o += k;
		off += k;
	}
	return o;
}

static void sni(const char *file, const char *want)
{
	__u8 b[2048], f[4096];
	struct result r;
	size_t n = load(file, b, sizeof(b)), m;

	r = check(b, n);
	assert_int_equal(r.tls, 1);
	assert_int_equal(r.calls, 0);
	if (!want) {
		assert_int_equal(r.noname, 1);
		assert_int_equal(r.names, 0);
		return;
	}
	assert_int_equal(r.noname, 0);
	assert_int_equal(r.names, 1);
	assert_string_equal(r.name[0], want);
	/* the same across records: a split in the handshake header, in the
	 * extensions, in the name */
	for (size_t max = 1; max < 300; max += max < 8 ? 1 : 37) {
		struct result q;

		m = refragment(b, n, max, f);
		q = run(f, m, NULL, 0);
		same(&r, &q, "records", max);
	}
	/* a ClientHello with more after it (a second record) ends at once */
	memcpy(f, b, n);
	memcpy(f + n, b, n);
	r = run(f, 2 * n, NULL, 0);
	assert_int_equal(r.names, 1);
}

static void test_sni(void **state)
{
	sni(DATA "clienthello-openssl.bin", "api.tenant-a.example");
	sni(DATA "clienthello-curl.bin", "api.tenant-b.example");
	sni(DATA "clienthello-h2load.bin", "www.tenant-a.example");
	sni(DATA "clienthello-openssl-nosni.bin", NULL);
	sni(DATA "clienthello-curl-ip.bin", NULL);
	(void)state;
}

static void test_sni_garbage(void **state)
{
	__u8 b[2048];
	size_t n = load(DATA "clienthello-curl.bin", b, sizeof(b)), i;
	struct result r;

	/* truncations: no name, or the name, never more */
	for (i = 1; i < n; i += 5) {
		r = check(b, i);
		assert_true(r.names <= 1);
		assert_int_equal(r.calls, 0);
	}
	/* a record that is not a handshake, a lying length */
	b[5] = 2;	/* ServerHello */
	r = check(b, n);
	assert_int_equal(r.noname, 1);
	b[5] = 1;
	b[4] = 0;
	b[3] = 0;
	r = check(b, n);
	assert_int_equal(r.noname, 1);
	(void)state;
}

/* Names never change how requests are counted: the same calls as the
 * request counter alone, on HTTP/1.x and HTTP/2 streams. */
static void test_same_calls(void **state)
{
	const char *s = "GET / HTTP/1.1\r\nHost: a.example\r\n\r\n"
			"POST / HTTP/1.1\r\nHost: b\r\nContent-Length: 3\r\n\r\nabc"
			"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
			"3\r\nabc\r\n0\r\n\r\n";
	struct tg_http h = {};
	struct result r = check(s, strlen(s));
	unsigned int calls = 0;

	for (const char *c = s; *c; c++) {
		if (tg_http_skip(&h, 1))
			continue;
		calls += tg_http_byte(&h, *c) == TG_HTTP_EV_CALL;
	}
	assert_int_equal(r.calls, calls);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_normal),
		cmocka_unit_test(test_http1_host),
		cmocka_unit_test(test_http1_absolute),
		cmocka_unit_test(test_h2_deflater),
		cmocka_unit_test(test_h2_memory),
		cmocka_unit_test(test_h2_by_hand),
		cmocka_unit_test(test_sni),
		cmocka_unit_test(test_sni_garbage),
		cmocka_unit_test(test_same_calls),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
