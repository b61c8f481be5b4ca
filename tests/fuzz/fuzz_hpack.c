// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_hpack.c - libFuzzer target: the :authority include/names.h reads
 * from HTTP/2 header blocks, against nghttp2's HPACK inflater (Debian's
 * libnghttp2) on the same blocks of one connection.
 *
 * The input is a client's header blocks, in order, each a record:
 *
 *   ctl (1 byte), length (2 bytes, big-endian), the block (HPACK)
 *
 * (a length past the input's end takes the rest). The harness frames them
 * into one cleartext HTTP/2 connection as a client sends it: the preface,
 * SETTINGS, then each block in a HEADERS frame on a new client stream,
 * with END_HEADERS; ctl says how it is framed:
 *   0x01  trailers: on the last stream opened, not a new request
 *   0x02  PADDED, with (ctl >> 5) bytes of padding
 *   0x04  PRIORITY
 *   0x08  the block cut in two: HEADERS, CONTINUATION
 *   0x10  the block cut in three: HEADERS, CONTINUATION, CONTINUATION
 * The stream is fed to the name reader cut into reads in many ways, which
 * must all agree (names_feed.h). The blocks are fed to one nghttp2
 * inflater (a decoder's dynamic table of 4096 bytes), one whole block a
 * call. On every block nghttp2 decodes, up to the first it refuses:
 * - each :authority (or host) field names.h reads must give the name
 *   nghttp2 decodes, normalised as name_ref.h says (lower case, port and
 *   trailing dot dropped);
 * - each request's name (the first :authority or host that names one)
 *   must be the one nghttp2 decodes, also through the dynamic table.
 * names.h remembers the last TG_HPACK_MEM :authority entries of the
 * table; a field that refers to an older one is not read (by design: its
 * request names nothing, unless a later field does), and the comparison
 * follows that rule: which entry an index means, and how many :authority
 * entries came after it, the harness tells from the field's first bytes
 * and from nghttp2's decoded fields.
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
#include <linux/types.h>
#include <nghttp2/nghttp2.h>

static __u32 tg_huff_hpack[16 * 256];
#define TG_HUFF_FSM tg_huff_hpack
#include "names_feed.h"
#include "name_ref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define BLOCK_MAX 16000		/* a block fits in a frame, prefix and all */
#define STREAM_MAX (24 + 9 + 4 * 65536)
#define BLOCKS_MAX 4096
#define INS_MAX 16384		/* insertions of a connection */
#define EXP_NAMES 4096

#define C_TRAILERS	0x01
#define C_PADDED	0x02
#define C_PRIORITY	0x04
#define C_SPLIT2	0x08
#define C_SPLIT3	0x10

enum verdict {
	V_WHOLE,	/* every block decoded and compared */
	V_REFUSED,	/* compared up to a block nghttp2 refuses */
	V_NR
};

static const char *const verdict_name[V_NR] = {
	"compared whole",
	"compared up to a block nghttp2 refuses",
};

static unsigned long stats[V_NR], nblocks, nreq, nauth, ndyn, nforgot;
static struct nf_result *want, *tmp;
static uint8_t *stream;

static void print_stats(void)
{
	int i;

	for (i = 0; i < V_NR; i++)
		fprintf(stderr, "fuzz_hpack: %lu %s\n", stats[i],
			verdict_name[i]);
	fprintf(stderr, "fuzz_hpack: %lu blocks decoded, %lu requests, %lu "
		"named by a literal, %lu through the dynamic table, %lu by "
		"an entry names.h no longer remembers\n", nblocks, nreq, nauth,
		ndyn, nforgot);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (tg_huff_build(tg_huff_hpack))
		abort();
	want = malloc(sizeof(*want));
	tmp = malloc(sizeof(*tmp));
	stream = malloc(STREAM_MAX);
	if (!want || !tmp || !stream)
		abort();
	if (getenv("TG_FUZZ_STATS"))
		atexit(print_stats);
	return 0;
}

/* --- the connection ------------------------------------------------------- */

struct block {
	const uint8_t *b;
	size_t len;
	uint8_t ctl;
	bool call;		/* a HEADERS that opens a stream: a request */
};

static size_t put(size_t off, const void *p, size_t n)
{
	memcpy(stream + off, p, n);
	return off + n;
}

static size_t frame(size_t off, size_t len, uint8_t type, uint8_t flags,
		    uint32_t sid)
{
	uint8_t h[9] = { len >> 16, len >> 8, len, type, flags,
			 sid >> 24, sid >> 16, sid >> 8, sid };

	return put(off, h, 9);
}

/* The blocks of the input, framed into the stream. Returns its length. */
static size_t frame_all(const uint8_t *d, size_t n, struct block *bl,
			size_t *nbl)
{
	static const uint8_t prio[5] = { 0, 0, 0, 0, 16 };
	static const uint8_t zero[8];
	size_t off = 0, i = 0, k = 0;
	uint32_t sid = 0;

	off = put(off, PREFACE, 24);
	off = frame(off, 0, 4, 0, 0);		/* SETTINGS */
	while (i < n && k < BLOCKS_MAX) {
		struct block *b = &bl[k++];
		size_t len = 0, cut[3], j, pre = 0, pad = 0;
		uint8_t fl = TG_HTTP_H2_END_HEADERS;

		b->ctl = d[i++];
		if (i < n)
			len = (size_t)d[i++] << 8;
		if (i < n)
			len |= d[i++];
		if (len > n - i)
			len = n - i;
		if (len > BLOCK_MAX)
			len = BLOCK_MAX;
		b->b = d + i;
		b->len = len;
		i += len;
		b->call = !(b->ctl & C_TRAILERS) || !sid;
		if (b->call)
			sid += sid ? 2 : 1;
		/* where the frames end */
		cut[0] = cut[1] = cut[2] = len;
		if (b->ctl & C_SPLIT3) {
			cut[0] = len / 3;
			cut[1] = 2 * len / 3;
		} else if (b->ctl & C_SPLIT2) {
			cut[0] = len / 2;
		}
		if (b->ctl & C_PADDED) {
			fl |= TG_HTTP_H2_PADDED;
			pad = b->ctl >> 5;
			pre++;
		}
		if (b->ctl & C_PRIORITY) {
			fl |= TG_HTTP_H2_PRIORITY;
			pre += 5;
		}
		if (cut[0] < len)
			fl &= ~TG_HTTP_H2_END_HEADERS;
		off = frame(off, pre + cut[0] + pad, TG_HTTP_H2_HEADERS, fl,
			    sid);
		if (b->ctl & C_PADDED)
			stream[off++] = pad;
		if (b->ctl & C_PRIORITY)
			off = put(off, prio, 5);
		off = put(off, b->b, cut[0]);
		off = put(off, zero, pad);
		for (j = 0; j < 2 && cut[j] < len; j++) {
			fl = cut[j + 1] == len ? TG_HTTP_H2_END_HEADERS : 0;
			off = frame(off, cut[j + 1] - cut[j],
				    TG_HTTP_H2_CONTINUATION, fl, sid);
			off = put(off, b->b + cut[j], cut[j + 1] - cut[j]);
		}
	}
	*nbl = k;
	return off;
}

/* --- the reference -------------------------------------------------------- */

/* An insertion into the connection's dynamic table. */
struct ins {
	bool auth;		/* an :authority or host field */
	unsigned int seq;	/* :authority insertions up to this one */
	struct name_ref name;	/* its value's name */
};

struct ref {
	nghttp2_hd_inflater *inf;
	struct ins ins[INS_MAX];
	unsigned int nins, nauth;
	/* what names.h must say: every :authority it reads, and each
	 * request's name (kind NR_EMPTY: none) */
	struct name_ref names[EXP_NAMES];
	unsigned int nnames;
	struct name_ref calls[NF_CALLS];
	unsigned int ncalls;
	int refused;		/* the block nghttp2 refused, or -1 */
};

static struct ref ref;

/* An HPACK integer of @prefix bits at @p (at most @n bytes). */
static uint64_t hp_int(const uint8_t *p, size_t n, uint8_t prefix)
{
	uint64_t mask = (1u << prefix) - 1, v = p[0] & mask;
	size_t i;
	int shift = 0;

	if (v < mask)
		return v;
	for (i = 1; i < n && shift < 56; i++, shift += 7) {
		v += (uint64_t)(p[i] & 0x7f) << shift;
		if (!(p[i] & 0x80))
			break;
	}
	return v;
}

/* Skip an integer of @prefix bits at @p; its length. */
static size_t hp_int_len(const uint8_t *p, size_t n, uint8_t prefix)
{
	uint8_t mask = (1u << prefix) - 1;
	size_t i = 1;

	if ((p[0] & mask) < mask)
		return 1;
	while (i < n && (p[i] & 0x80))
		i++;
	return i + 1;
}

/* The insertion a dynamic index means, or -1. */
static long ins_of(uint64_t idx)
{
	uint64_t back = idx - 62;

	if (idx < 62 || back >= ref.nins)
		return -1;
	return ref.nins - 1 - back;
}

/* Whether names.h still remembers insertion @x as an :authority. */
static bool remembered(long x)
{
	return x >= 0 && ref.ins[x].auth &&
	       ref.nauth - ref.ins[x].seq < TG_HPACK_MEM;
}

static bool is_auth(const nghttp2_nv *nv)
{
	return (nv->namelen == 10 && !memcmp(nv->name, ":authority", 10)) ||
	       (nv->namelen == 4 && !memcmp(nv->name, "host", 4));
}

static void expect_name(struct name_ref n)
{
	if (ref.nnames < EXP_NAMES)
		ref.names[ref.nnames] = n;
	ref.nnames++;
}

/* A value's name as a request's: an empty one is not looked up; an entry
 * of the table names its request all the same, unmatched. */
static struct name_ref as_entry(struct name_ref n)
{
	if (n.kind == NR_EMPTY)
		n.kind = NR_BAD;
	return n;
}

/*
 * One field nghttp2 decoded, whose representation begins at @p (@n bytes
 * to the block's end): what names.h must make of it. *@named is the
 * request's name so far.
 */
static void ref_field(const uint8_t *p, size_t n, const nghttp2_nv *nv,
		      struct name_ref *named, bool *has)
{
	bool auth = is_auth(nv), reads = false, inc = false;
	struct name_ref name = { NR_EMPTY, 0 };
	uint64_t idx;
	long x;

	/* table size updates before the field */
	while (n && (p[0] & 0xe0) == 0x20) {
		size_t k = hp_int_len(p, n, 5);

		p += k;
		n -= k;
	}
	if (!n)
		abort();	/* nghttp2 decoded a field from nothing */
	if (auth)
		name = name_ref(nv->value, nv->valuelen);
	if (p[0] & 0x80) {
		/* indexed: a dynamic :authority entry names the request */
		idx = hp_int(p, n, 7);
		x = ins_of(idx);
		if (auth && x >= 0) {
			if (remembered(x)) {
				ndyn++;
				if (!*has) {
					*named = as_entry(ref.ins[x].name);
					*has = true;
				}
			} else {
				nforgot++;
			}
		}
		return;
	}
	if ((p[0] & 0xc0) == 0x40) {
		inc = true;
		idx = hp_int(p, n, 6);
	} else {
		idx = hp_int(p, n, 4);
	}
	if (auth) {
		if (idx == 0 || idx == TG_HPACK_AUTHORITY ||
		    idx == TG_HPACK_HOST)
			reads = true;
		else
			reads = remembered(ins_of(idx));
		if (!reads)
			nforgot++;
	}
	if (reads) {
		expect_name(name);
		if (name.kind != NR_EMPTY && !*has) {
			nauth++;
			*named = name;
			*has = true;
		}
	}
	if (inc) {
		struct ins *e;

		if (ref.nins == INS_MAX)
			abort();
		e = &ref.ins[ref.nins++];
		/* names.h remembers only the entries whose field it read:
		 * an :authority by a name index it forgot is not one */
		e->auth = reads;
		if (reads)
			ref.nauth++;
		e->seq = ref.nauth;
		e->name = as_entry(name);
	}
}

/* Block @k through nghttp2. Returns false when it refuses it. */
static bool ref_block(const struct block *b)
{
	struct name_ref named = { NR_EMPTY, 0 };
	bool has = false;
	size_t pos = 0;

	for (;;) {
		nghttp2_nv nv;
		int fl = 0;
		ssize_t rv = nghttp2_hd_inflate_hd2(ref.inf, &nv, &fl,
						    (uint8_t *)b->b + pos,
						    b->len - pos, 1);

		if (rv < 0)
			return false;
		if (fl & NGHTTP2_HD_INFLATE_EMIT)
			ref_field(b->b + pos, b->len - pos, &nv, &named, &has);
		pos += rv;
		if (fl & NGHTTP2_HD_INFLATE_FINAL) {
			nghttp2_hd_inflate_end_headers(ref.inf);
			break;
		}
		if (!rv && !(fl & NGHTTP2_HD_INFLATE_EMIT))
			return false;
	}
	nblocks++;
	if (b->call) {
		nreq++;
		if (ref.ncalls < NF_CALLS)
			ref.calls[ref.ncalls] = named;
		ref.ncalls++;
	}
	return true;
}

/* --- the comparison ------------------------------------------------------- */

static void dump_block(const struct block *b, unsigned int k)
{
	size_t i;

	fprintf(stderr, "fuzz_hpack: block %u (%zu bytes, ctl 0x%02x):", k,
		b->len, b->ctl);
	for (i = 0; i < b->len && i < 256; i++)
		fprintf(stderr, " %02x", b->b[i]);
	fputc('\n', stderr);
}

static void fail(const char *what, unsigned int i, struct name_ref w,
		 const struct block *bl, size_t nbl)
{
	size_t k;

	fprintf(stderr, "fuzz_hpack: %s %u: nghttp2 says %s (hash %llx)\n",
		what, i, nr_kind_name[w.kind], (unsigned long long)w.hash);
	for (k = 0; k < nbl; k++)
		dump_block(&bl[k], k);
	abort();
}

/* The calls and names names.h gave, against the reference's. */
static void compare(const struct block *bl, size_t nbl)
{
	unsigned int i;

	if (want->ncalls < ref.ncalls || want->nnames < ref.nnames) {
		fprintf(stderr, "fuzz_hpack: names.h counts %u calls and %u "
			"names; nghttp2 %u and %u\n", want->ncalls,
			want->nnames, ref.ncalls, ref.nnames);
		fail("the counts, at call", ref.ncalls,
		     (struct name_ref){ NR_EMPTY, 0 }, bl, nbl);
	}
	for (i = 0; i < ref.nnames && i < NF_NAMES && i < EXP_NAMES; i++) {
		const struct nf_name *n = &want->name[i];

		if (nr_same(n, ref.names[i]))
			continue;
		fprintf(stderr, "fuzz_hpack: names.h reads %s '%.*s' (hash "
			"%llx)\n", nr_kind_name[nr_kind_of(n)], n->nbuf,
			n->buf, (unsigned long long)n->hash);
		fail(":authority field", i, ref.names[i], bl, nbl);
	}
	for (i = 0; i < ref.ncalls && i < NF_CALLS; i++) {
		__u32 svc = want->call_svc[i];
		struct name_ref w = ref.calls[i];
		bool ok;

		if (w.kind == NR_EMPTY)
			ok = svc == NF_UNNAMED;
		else if (w.kind == NR_BAD)
			ok = svc == 0;
		else
			ok = svc && svc != NF_UNNAMED &&
			     want->svc[svc - 1] == w.hash;
		if (ok)
			continue;
		fprintf(stderr, "fuzz_hpack: names.h: service %d%s\n",
			svc == NF_UNNAMED ? -1 : (int)svc,
			svc == NF_UNNAMED ? " (names nothing)" :
			svc ? "" : " (unmatched)");
		fail("request", i, w, bl, nbl);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct block bl[BLOCKS_MAX];
	size_t nbl, len, k;

	/* run.sh's -max_len: within it, no stream has more distinct
	 * names than names_feed.h keeps (NF_SVCS) */
	if (size > 16384)
		return 0;
	len = frame_all(data, size, bl, &nbl);
	nf_bytes(want, stream, len);
	nf_check_cuts(stream, len, want, tmp);

	ref.nins = ref.nauth = ref.nnames = ref.ncalls = 0;
	ref.refused = -1;
	if (nghttp2_hd_inflate_new(&ref.inf))
		abort();
	for (k = 0; k < nbl; k++) {
		if (!ref_block(&bl[k])) {
			ref.refused = k;
			break;
		}
	}
	nghttp2_hd_inflate_del(ref.inf);
	stats[ref.refused < 0 ? V_WHOLE : V_REFUSED]++;
	compare(bl, ref.refused < 0 ? nbl : (size_t)ref.refused + 1);
	return 0;
}
