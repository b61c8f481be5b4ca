// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_names.c - libFuzzer target: include/names.h's name reader on the
 * stream a server reads from a client: HTTP/1.x requests (Host, the
 * authority of an absolute-form target), HTTP/2 (h2c), a TLS ClientHello
 * (SNI). fuzz_hpack compares the :authority of HTTP/2 with nghttp2's.
 *
 * The input is the stream. Checked on every input (names_feed.h):
 * - the same calls, names, events and state however the stream is cut
 *   into reads;
 * - every name reported is what its own bytes say;
 * - names never change how requests are counted: the calls and the event
 *   that ends the reading are those of include/http.h's counter alone
 *   (http_feed.h), on any stream that does not begin as TLS.
 * On a stream that begins as TLS, an independent reader of the
 * ClientHello (below, strict: it takes only a ClientHello that RFC 8446
 * and RFC 6066 allow, whole, in handshake records) must agree: the same
 * SNI (name_ref.h), or none. An input that begins with a 0 byte is made
 * into such a ClientHello (build_hello()), the rest of it the name, cut
 * into records as it says.
 *
 * TG_FUZZ_STATS=1 in the environment prints, at exit, how the inputs
 * fell.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>

static __u32 tg_huff_names[16 * 256];
#define TG_HUFF_FSM tg_huff_names
#include "names_feed.h"
#include "name_ref.h"
#include "http_feed.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

enum verdict {
	V_OTHER,	/* not TLS: consistency and the counter's calls */
	V_SNI,		/* a ClientHello the reference reads, with SNI */
	V_NOSNI,	/* one it reads, without */
	V_MALFORMED,	/* not a whole ClientHello the reference takes */
	V_NR
};

static const char *const verdict_name[V_NR] = {
	"not TLS",
	"ClientHellos with SNI compared",
	"ClientHellos without SNI compared",
	"TLS streams the reference refuses (consistency only)",
};

static unsigned long stats[V_NR];
static struct nf_result *want, *tmp;

static void print_stats(void)
{
	int i;

	for (i = 0; i < V_NR; i++)
		fprintf(stderr, "fuzz_names: %lu %s\n", stats[i],
			verdict_name[i]);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (tg_huff_build(tg_huff_names))
		abort();
	want = malloc(sizeof(*want));
	tmp = malloc(sizeof(*tmp));
	if (!want || !tmp)
		abort();
	if (getenv("TG_FUZZ_STATS"))
		atexit(print_stats);
	return 0;
}

/* --- the reference ClientHello reader ------------------------------------- */

#define HS_MAX 65536

struct rd {
	const uint8_t *p;
	size_t n, off;
	int bad;
};

static uint32_t rd_int(struct rd *r, size_t k)
{
	uint32_t v = 0;

	if (r->n - r->off < k) {
		r->bad = 1;
		return 0;
	}
	while (k--)
		v = v << 8 | r->p[r->off++];
	return v;
}

static const uint8_t *rd_bytes(struct rd *r, size_t k)
{
	const uint8_t *p = r->p + r->off;

	if (r->n - r->off < k) {
		r->bad = 1;
		return NULL;
	}
	r->off += k;
	return p;
}

enum { SNI_MALFORMED = -1, SNI_NONE = 0, SNI_FOUND = 1 };

/*
 * The SNI of the ClientHello at the start of stream @s: SNI_FOUND (the
 * name's bytes at *@name, *@len of them), SNI_NONE, or SNI_MALFORMED for
 * anything but a whole, well-formed ClientHello in handshake records of
 * 1 to 2^14 bytes. The host_name must be the list's first entry (names.h
 * reads that one; a list that begins with another type names nothing).
 */
static int sni_ref(const uint8_t *s, size_t n, uint8_t *hs,
		   const uint8_t **name, size_t *len)
{
	size_t have = 0, need = 4, off = 0, rl, body, list;
	struct rd r, e, l;
	uint32_t type, elen, t;
	int seen = 0, ret = SNI_NONE;

	/* the handshake message, from its records */
	while (have < need) {
		if (n - off < 5 || s[off] != 0x16 || s[off + 1] != 3)
			return SNI_MALFORMED;
		rl = (size_t)s[off + 3] << 8 | s[off + 4];
		off += 5;
		if (!rl || rl > 16384 || n - off < rl || have + rl > HS_MAX)
			return SNI_MALFORMED;
		memcpy(hs + have, s + off, rl);
		have += rl;
		off += rl;
		if (need == 4 && have >= 4) {
			if (hs[0] != 1)
				return SNI_MALFORMED;
			need = 4 + ((size_t)hs[1] << 16 | hs[2] << 8 | hs[3]);
			if (need > HS_MAX)
				return SNI_MALFORMED;
		}
	}
	r = (struct rd){ hs + 4, need - 4, 0, 0 };
	rd_bytes(&r, 2 + 32);			/* legacy_version, random */
	t = rd_int(&r, 1);			/* legacy_session_id */
	if (t > 32)
		return SNI_MALFORMED;
	rd_bytes(&r, t);
	t = rd_int(&r, 2);			/* cipher_suites */
	if (t < 2 || t % 2)
		return SNI_MALFORMED;
	rd_bytes(&r, t);
	t = rd_int(&r, 1);			/* compression_methods */
	if (t < 1)
		return SNI_MALFORMED;
	rd_bytes(&r, t);
	if (r.bad)
		return SNI_MALFORMED;
	if (r.off == r.n)
		return SNI_NONE;		/* no extensions at all */
	t = rd_int(&r, 2);
	if (r.bad || t != r.n - r.off)
		return SNI_MALFORMED;
	while (r.off < r.n) {
		type = rd_int(&r, 2);
		elen = rd_int(&r, 2);
		e = (struct rd){ rd_bytes(&r, elen), elen, 0, 0 };
		if (r.bad)
			return SNI_MALFORMED;
		if (type != 0)
			continue;
		if (seen++)
			return SNI_MALFORMED;	/* twice */
		list = rd_int(&e, 2);
		if (e.bad || list != elen - 2 || !list)
			return SNI_MALFORMED;
		l = (struct rd){ rd_bytes(&e, list), list, 0, 0 };
		for (body = 0; l.off < l.n; body++) {
			const uint8_t *v;

			t = rd_int(&l, 1);
			elen = rd_int(&l, 2);
			v = rd_bytes(&l, elen);
			if (l.bad || (!t && !elen))
				return SNI_MALFORMED;
			if (body == 0 && t == 0) {
				*name = v;
				*len = elen;
				ret = SNI_FOUND;
			}
		}
	}
	return ret;
}

/* --- the target ----------------------------------------------------------- */

static void check_sni(const uint8_t *data, size_t size)
{
	static uint8_t hs[HS_MAX];
	const uint8_t *v = NULL;
	struct name_ref ref;
	size_t len = 0;
	int r = sni_ref(data, size, hs, &v, &len);

	if (r == SNI_MALFORMED) {
		stats[V_MALFORMED]++;
		return;
	}
	if (want->tls != 1 || want->ncalls || want->ev) {
		fprintf(stderr, "fuzz_names: a ClientHello: %u TLS events, %u "
			"calls, event %d\n", want->tls, want->ncalls, want->ev);
		abort();
	}
	if (r == SNI_NONE) {
		stats[V_NOSNI]++;
		if (want->noname != 1 || want->nnames) {
			fprintf(stderr, "fuzz_names: a ClientHello without "
				"SNI: names.h reads %u names, %u ends without "
				"one\n", want->nnames, want->noname);
			abort();
		}
		return;
	}
	stats[V_SNI]++;
	ref = name_ref(v, len);
	if (want->noname || want->nnames != 1 ||
	    !nr_same(&want->name[0], ref)) {
		nr_print("fuzz_names: the SNI is", v, len);
		fprintf(stderr, "fuzz_names: the reference reads it %s "
			"(hash %llx); names.h: %u names, %u ends without one",
			nr_kind_name[ref.kind], (unsigned long long)ref.hash,
			want->nnames, want->noname);
		if (want->nnames)
			fprintf(stderr, ", the first %s '%.*s' (hash %llx)",
				nr_kind_name[nr_kind_of(&want->name[0])],
				want->name[0].nbuf, want->name[0].buf,
				(unsigned long long)want->name[0].hash);
		fputc('\n', stderr);
		abort();
	}
}

/* Names never change the count: the counter alone on the same stream. */
static void check_calls(const uint8_t *data, size_t size)
{
	struct feed_result c = feed_cuts(data, size, NULL, 0);
	__u8 st = want->h.state;
	int ev = want->ev, h2, same;

	/* a head that ends the connection: http_feed.h says DESYNC */
	if (!ev && want->stopped && st == TG_HTTP_CLOSED)
		ev = TG_HTTP_EV_DESYNC;
	/* HTTP/2: the counter counts a request at its HEADERS frame's
	 * header, names.h once its header block ends, with its name; a
	 * stream that ends (or breaks the protocol) inside a block is
	 * counted by the counter only. fuzz_hpack compares the blocks. */
	h2 = st == TG_HTTP_H2_SKIP || st == TG_HTTP_H2_HDR ||
	     st == TG_HTTP_H2_PREFACE_REST || st == TG_HTTP_H2_BLOCK;
	same = h2 ? c.calls >= want->ncalls : c.calls == want->ncalls;
	if (!same || c.ev != ev || (c.ev && c.ev_at + 1 != want->stop_at)) {
		fprintf(stderr, "fuzz_names: with names %u calls, event %d "
			"(stopped at %zu); the counter alone %u calls, event "
			"%d at %zu\n", want->ncalls, want->ev, want->stop_at,
			c.calls, c.ev, c.ev_at);
		abort();
	}
}

/*
 * An input that begins with a 0 byte (no stream a client sends) is not a
 * stream but the makings of a ClientHello, so that well-formed ones with
 * any name in any records come often:
 *
 *   0, record size (0: 16384), how (bits below), the host name's bytes
 *
 * The ClientHello is TLS 1.3's shape: a session id of 32 bytes (or none),
 * one cipher suite, no compression, then extensions: ALPN before the
 * server_name (B_BEFORE), the server_name with the name as its list's
 * first entry (or a list that begins with another type, B_OTHER_FIRST;
 * or no server_name at all, B_NO_SNI), an entry of another type after
 * the name (B_MORE), supported_versions after it (B_AFTER).
 */
#define B_NO_SID	0x01
#define B_BEFORE	0x02
#define B_OTHER_FIRST	0x04
#define B_MORE		0x08
#define B_AFTER		0x10
#define B_NO_SNI	0x20

static size_t put16(uint8_t *p, size_t off, size_t v)
{
	p[off] = v >> 8;
	p[off + 1] = v;
	return off + 2;
}

static size_t build_hello(const uint8_t *d, size_t n, uint8_t *out)
{
	static uint8_t ch[2048];
	size_t rs = d[1] ? d[1] : 16384, off = 0, ext, sni, list, i, k;
	uint8_t how = d[2];
	const uint8_t *name = d + 3;
	size_t nlen = n - 3;

	if (nlen > 1024)
		nlen = 1024;
	ch[off++] = 1;				/* ClientHello */
	off += 3;				/* its length, below */
	off = put16(ch, off, 0x0303);
	memset(ch + off, 0x5a, 32);		/* random */
	off += 32;
	ch[off++] = how & B_NO_SID ? 0 : 32;
	if (!(how & B_NO_SID)) {
		memset(ch + off, 0xa5, 32);
		off += 32;
	}
	off = put16(ch, off, 2);
	off = put16(ch, off, 0x1301);
	ch[off++] = 1;
	ch[off++] = 0;
	ext = off;
	off += 2;
	if (how & B_BEFORE) {			/* ALPN: h2 */
		off = put16(ch, off, 16);
		off = put16(ch, off, 5);
		off = put16(ch, off, 3);
		ch[off++] = 2;
		ch[off++] = 'h';
		ch[off++] = '2';
	}
	if (!(how & B_NO_SNI)) {
		off = put16(ch, off, 0);
		sni = off;
		off += 4;			/* extension and list lengths */
		list = off;
		if (how & B_OTHER_FIRST) {
			ch[off++] = 7;
			off = put16(ch, off, 1);
			ch[off++] = 'x';
		}
		ch[off++] = 0;
		off = put16(ch, off, nlen);
		memcpy(ch + off, name, nlen);
		off += nlen;
		if (how & B_MORE) {
			ch[off++] = 9;
			off = put16(ch, off, 2);
			off = put16(ch, off, 0x4142);
		}
		put16(ch, sni, off - sni - 2);
		put16(ch, sni + 2, off - list);
	}
	if (how & B_AFTER) {			/* supported_versions: 1.3 */
		off = put16(ch, off, 43);
		off = put16(ch, off, 3);
		ch[off++] = 2;
		off = put16(ch, off, 0x0304);
	}
	put16(ch, ext, off - ext - 2);
	ch[1] = (off - 4) >> 16;
	ch[2] = (off - 4) >> 8;
	ch[3] = off - 4;
	/* in records of rs bytes */
	for (i = 0, k = 0; i < off; i += rs) {
		size_t m = off - i < rs ? off - i : rs;

		out[k++] = TG_TLS_HANDSHAKE;
		out[k++] = 3;
		out[k++] = 1;
		k = put16(out, k, m);
		memcpy(out + k, ch + i, m);
		k += m;
	}
	return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *input, size_t insize)
{
	static uint8_t built[2048 * 6];
	const uint8_t *data = input;
	size_t size = insize, k;

	/* run.sh's -max_len: within it, no stream has more distinct
	 * names than names_feed.h keeps (NF_SVCS) */
	if (size > 16384)
		return 0;
	if (size >= 3 && data[0] == 0) {
		size = build_hello(input, insize, built);
		data = built;
	}
	nf_bytes(want, data, size);
	nf_check_cuts(data, size, want, tmp);
	/* A TLS stream, after the empty lines a stream may begin with (the
	 * parsers skip them before a request and before a ClientHello
	 * alike) */
	for (k = 0; k < size && (data[k] == '\r' || data[k] == '\n'); k++)
		;
	if (k < size && data[k] == TG_TLS_HANDSHAKE) {
		check_sni(data + k, size - k);
		return 0;
	}
	stats[V_OTHER]++;
	check_calls(data, size);
	return 0;
}
