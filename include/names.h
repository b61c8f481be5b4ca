/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * names.h - the count stage's service names, shared by the kernel and the
 * tests: the host name a client's request (or its TLS handshake) names,
 * read from the byte stream a server reads, hashed as it goes.
 *
 * One reader, compiled twice: into the kernel meter (bpf/calls.bpf.h feeds
 * it through tg_req_byte() what a frontend socket's reader gets), and into
 * the unit tests and fuzz targets, which feed it crafted streams cut at
 * every byte. Plain C, no library, no unbounded loops: the caller drives
 * it one byte at a time and lets it skip what it need not look at
 * (tg_req_skip()), as for include/http.h, whose request counter it wraps.
 *
 * Where a name comes from:
 * - HTTP/1.x: the Host header of each request (any case of the header
 *   name; the value trimmed), or the authority of an absolute-form request
 *   target (GET http://api.example.com/x HTTP/1.1), which wins over Host
 *   as RFC 9112 3.2.2 says.
 * - HTTP/2 (h2c; the SNI names TLS connections): the :authority (or host)
 *   field of each request's header block. HPACK is followed field by
 *   field, the way a decoder would: indexed fields, literals with and
 *   without indexing, Huffman-coded or plain strings (decoded with the
 *   4-bit table tg_huff_build() makes of RFC 7541's code), and the
 *   connection's dynamic table as far as :authority needs it: the table's
 *   entries are numbered as they are inserted, and an index names the
 *   entry inserted (index - 62) entries before the last one, so counting
 *   insertions is enough to tell which entry an index means; the last
 *   TG_HPACK_MEM :authority entries are remembered with their service.
 *   Evictions need no tracking: an encoder never refers to an entry it
 *   evicted.
 * - TLS: the server_name extension of the ClientHello, across records and
 *   reads, before anything is decrypted.
 *
 * A name is read as RFC 9110 compares them: case-insensitively (lower
 * case), leading blanks skipped, ending at a blank, a ':' (the port; an
 * IPv6 literal in brackets keeps its colons), the end of the field; a
 * trailing dot dropped. It is hashed as it goes (tg_name): FNV-1a 64 of the
 * whole name for exact matches, and FNV-1a 32 of each label, the last
 * TG_NAME_LABELS kept, for wildcards ("*.example.com": the name's last two
 * labels). User space hashes the configured names through the very same
 * tg_name_byte(), so the two sides agree by construction. A name with a
 * character no host name has is read (for the list of unmatched names)
 * and never matches.
 *
 * Events, for the caller: TG_HTTP_EV_NAME (a bit, with any other event of
 * the same byte) when a name is complete in p->n: the caller looks it up
 * and calls tg_names_set() with its service; TG_HTTP_EV_CALL when a request
 * is complete (p->req says whether it named a service, p->req_svc which);
 * TG_HTTP_EV_TLS at the first byte of a TLS handshake, whose SNI comes
 * later as TG_HTTP_EV_NAME, or TG_HTTP_EV_NONAME when the ClientHello
 * ends without one.
 */
#ifndef TOLLGATE_NAMES_H
#define TOLLGATE_NAMES_H

#include "http.h"

/* tg_name.st */
#define TG_NAME_DOT	0x01	/* a dot read, not hashed yet: it may be the
				 * trailing one */
#define TG_NAME_STOP	0x02	/* the name ended (a blank, the port):
				 * later bytes are not part of it */
#define TG_NAME_BAD	0x04	/* a character no host name has, or an
				 * empty label: never matches */
#define TG_NAME_LABEL	0x08	/* inside a label */
#define TG_NAME_BRACKET	0x10	/* an IPv6 literal, before its ']' */
#define TG_NAME_LONG	0x20	/* longer than TG_NAME_MAX, or than buf */

#define TG_FNV64_OFF	0xcbf29ce484222325ULL
#define TG_FNV64_PRIME	0x100000001b3ULL
#define TG_FNV32_OFF	0x811c9dc5u
#define TG_FNV32_PRIME	0x01000193u

/* The first event bit that goes with another event. */
#define TG_HTTP_EV_NAME		0x10	/* a name is complete in p->n */
#define TG_HTTP_EV_NONAME	5	/* a ClientHello ended without SNI */

/* tg_http.state of a stream that began with a TLS handshake record, while
 * its ClientHello is read for the SNI. */
#define TG_HTTP_TLS		23
/* An HTTP/2 header block (HEADERS, CONTINUATION payload): HPACK. */
#define TG_HTTP_H2_BLOCK	24

#define TG_HTTP_H2_CONTINUATION	9	/* frame type */
#define TG_HTTP_H2_END_HEADERS	0x04	/* frame flags */
#define TG_HTTP_H2_PADDED	0x08
#define TG_HTTP_H2_PRIORITY	0x20

/* tg_names.req: what the request named */
#define TG_REQ_NAMED	0x01	/* req_svc holds its service */
#define TG_REQ_ABS	0x02	/* by an absolute-form target: Host is not
				 * read */
#define TG_REQ_HOST	0x04	/* a Host header was read */
#define TG_REQ_LOST	0x08	/* HTTP/2: its name is not known (none, or
				 * an entry not remembered) */

/* tg_names.tpos: the request line of HTTP/1.x */
#define TG_TGT_METHOD	0	/* in the method */
#define TG_TGT_START	1	/* the target; START + k: k characters of
				 * "http://" matched */
#define TG_TGT_AUTH	12	/* in the authority */
#define TG_TGT_DONE	13	/* nothing more to read in the line */
#define TG_TGT_S	0x20	/* with START + 4..6: the 's' of https */

/* tg_hpack.st */
#define TG_HP_FIELD	0	/* a field's first byte */
#define TG_HP_INT	1	/* more bytes of an integer */
#define TG_HP_STRLEN	2	/* a string's first byte: H and length */
#define TG_HP_STR	3	/* a string's bytes */
#define TG_HP_BAD	4	/* lost: nothing more is followed */

/* tg_hpack.fl: the field (or integer, or string) being read */
#define TG_HPF_INS	0x01	/* literal with incremental indexing: an
				 * insertion into the dynamic table */
#define TG_HPF_NAME	0x02	/* the string read is the field's name */
#define TG_HPF_AUTH	0x04	/* the field is :authority (or host) */
#define TG_HPF_HUFF	0x08	/* the string is Huffman-coded */
#define TG_HPF_ACC	0x10	/* the Huffman decoder may end here */
#define TG_HPF_MEMO	0x20	/* memory mem_next - 1 awaits its service */
/* what the integer being read (TG_HP_INT) is, in the high bits */
#define TG_HPF_IS_IDX	0x40	/* an indexed field's index */
#define TG_HPF_IS_LEN	0x80	/* a string's length */
/* neither: a literal's name index, or (TG_HPF_INS clear and the size bit
 * in bfl) a table size update */

/* tg_hpack.bfl: the header block */
#define TG_HPB_END	0x01	/* this frame ends the block */
#define TG_HPB_NEW	0x02	/* the block opens a new client stream */
#define TG_HPB_PADLEN	0x04	/* the frame's next byte is its pad length */
#define TG_HPB_SIZE	0x08	/* the integer read is a size update */

#define TG_HPACK_STATIC	61	/* entries of the static table */
#define TG_HPACK_AUTHORITY 1	/* static index of ":authority" */
#define TG_HPACK_HOST	38	/* static index of "host" */
#define TG_HPACK_INT_MAX 28	/* bits an integer may have here */

/* tg_sni.st: the field of the ClientHello being read */
#define TG_SNI_HS	0	/* handshake type (1) and length (3) */
#define TG_SNI_VR	1	/* version and random: skipped */
#define TG_SNI_SID	2	/* session id length */
#define TG_SNI_SIDS	3	/* session id: skipped */
#define TG_SNI_CS	4	/* cipher suites length */
#define TG_SNI_CSS	5	/* cipher suites: skipped */
#define TG_SNI_CM	6	/* compression methods length */
#define TG_SNI_CMS	7	/* compression methods: skipped */
#define TG_SNI_EXTS	8	/* extensions length */
#define TG_SNI_EXT	9	/* an extension's type and length */
#define TG_SNI_EXTD	10	/* an extension's data: skipped */
#define TG_SNI_LIST	11	/* server_name list length */
#define TG_SNI_TYPE	12	/* name type (1) and length (2) */
#define TG_SNI_NAME	13	/* the host name */
#define TG_SNI_REC_HDR	5	/* bytes of a TLS record header */
#define TG_TLS_CLIENT_HELLO 1	/* handshake type */

/* The Huffman decoder's table (tg_huff_build()): TG_HUFF_STATES states
 * of 16 entries, one per 4 bits of input. An entry is the next state, and
 * the symbol those 4 bits completed, if any. */
#define TG_HUFF_SYM	0x100	/* the entry emits symbol (entry >> 16) */
#define TG_HUFF_FAIL	0x200	/* invalid (EOS decoded) */
#define TG_HUFF_ACCEPT	0x400	/* the next state may end the string: the
				 * bits since the last symbol are padding */

/*
 * Where the table is: TG_HUFF_FSM, an array of TG_HUFF_ENTRIES __u32. The
 * kernel meter's is a read-only global the loader fills (bpf/maps.bpf.h
 * defines it before this header); in user space, tg_huff_fsm unless the
 * includer names another, filled by tg_huff_build().
 */
#ifndef TG_HUFF_FSM
#ifdef __bpf__
#error "bpf/maps.bpf.h defines TG_HUFF_FSM, the Huffman decoder's table"
#endif
extern __u32 tg_huff_fsm[TG_HUFF_ENTRIES];
#define TG_HUFF_FSM tg_huff_fsm
#endif

/* --- names --------------------------------------------------------------- */

static inline void tg_name_start(struct tg_name *n)
{
	n->hash = TG_FNV64_OFF;
	n->cur = TG_FNV32_OFF;
	n->len = 0;
	n->nlab = 0;
	n->st = 0;
	n->nbuf = 0;
}

static inline int tg_name_hostchar(__u8 c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '_';
}

/* Hash character @c (lower case) into the name. */
static inline void tg_name_add(struct tg_name *n, __u8 c)
{
	n->hash = (n->hash ^ c) * TG_FNV64_PRIME;
	if (n->len == 0xff || n->len >= TG_NAME_MAX)
		n->st |= TG_NAME_LONG | TG_NAME_BAD;
	else
		n->len++;
	if (n->nbuf < TG_NAME_BUF)
		n->buf[n->nbuf++ & (TG_NAME_BUF - 1)] = c;
	else
		n->st |= TG_NAME_LONG;
}

/* The label being read ends. */
static inline void tg_name_label_end(struct tg_name *n)
{
	n->lab[n->nlab & (TG_NAME_LABELS - 1)] = n->cur;
	if (n->nlab < 0xff)
		n->nlab++;
	n->cur = TG_FNV32_OFF;
	n->st &= ~TG_NAME_LABEL;
}

/*
 * A byte of a name. Returns 1 once the name has ended (a blank after it,
 * its port): the caller may stop feeding it; else 0.
 */
static inline int tg_name_byte(struct tg_name *n, __u8 c)
{
	if (n->st & TG_NAME_STOP)
		return 1;
	if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
		if (!n->len && !(n->st & TG_NAME_DOT))
			return 0;	/* leading blanks */
		n->st |= TG_NAME_STOP;
		return 1;
	}
	if (c == ':' && !(n->st & TG_NAME_BRACKET)) {
		n->st |= TG_NAME_STOP;	/* the port */
		return 1;
	}
	if (c == '.' && !(n->st & TG_NAME_BRACKET)) {
		if (!(n->st & TG_NAME_LABEL))
			n->st |= TG_NAME_BAD;	/* an empty label */
		else
			tg_name_label_end(n);
		if (n->st & TG_NAME_DOT)
			n->st |= TG_NAME_BAD;
		n->st |= TG_NAME_DOT;
		return 0;
	}
	c = tg_http_lower(c);
	if (n->st & TG_NAME_DOT) {
		n->st &= ~TG_NAME_DOT;
		tg_name_add(n, '.');
	}
	if (c == '[' && !n->len)
		n->st |= TG_NAME_BRACKET;
	else if (c == ']' && (n->st & TG_NAME_BRACKET))
		n->st &= ~TG_NAME_BRACKET;
	if (!tg_name_hostchar(c))
		n->st |= TG_NAME_BAD;
	tg_name_add(n, c);
	n->cur = (n->cur ^ c) * TG_FNV32_PRIME;
	n->st |= TG_NAME_LABEL;
	return 0;
}

/* The name is complete (its field ended). Returns 1 when it is a name that
 * may match (not empty, nothing no host name has), else 0. */
static inline int tg_name_end(struct tg_name *n)
{
	if (n->st & TG_NAME_LABEL)
		tg_name_label_end(n);
	n->st |= TG_NAME_STOP;
	n->st &= ~TG_NAME_DOT;	/* a trailing dot: dropped */
	return n->len && !(n->st & (TG_NAME_BAD | TG_NAME_BRACKET));
}

/* One more label (the next one back) of a suffix's chain, and the
 * suffix's hash from its chain and label count. */
static inline __u64 tg_suffix_chain(__u64 h, const struct tg_name *n,
				    __u32 i)
{
	return (h ^ n->lab[(n->nlab - 1 - i) & (TG_NAME_LABELS - 1)]) *
	       TG_FNV64_PRIME;
}

static inline __u64 tg_suffix_hash(__u64 chain, __u32 k)
{
	return (chain ^ k) * TG_FNV64_PRIME;
}

/*
 * The hash of the name's last @k labels (1 <= k <= TG_NAME_LABELS, k <
 * n->nlab for a wildcard to match: "*.example.com" matches names with
 * more labels than "example.com"), as a wildcard's suffix is hashed: its
 * labels' hashes from the last one back, then @k.
 */
static inline __u64 tg_name_suffix(const struct tg_name *n, __u32 k)
{
	__u64 h = TG_FNV64_OFF;
	__u32 i;

	for (i = 0; i < TG_NAME_LABELS; i++) {
		if (i >= k)
			break;
		h = tg_suffix_chain(h, n, i);
	}
	return tg_suffix_hash(h, k);
}

/* --- the request's name ---------------------------------------------------- */

/*
 * The caller found the service of the name just read (an event
 * TG_HTTP_EV_NAME): @svc, 0 for a name no host matched. The first name of
 * a request is its name; an :authority the client inserts into its
 * dynamic table is remembered with it.
 */
static inline void tg_names_set(struct tg_req_names *p, __u32 svc)
{
	if (!(p->req & TG_REQ_NAMED)) {
		p->req |= TG_REQ_NAMED;
		p->req_svc = svc;
	}
	/* Only HPACK sets MEMO; the union's HTTP/1.x and TLS uses leave
	 * those bytes zero. */
	if (p->u.hp.fl & TG_HPF_MEMO) {
		p->u.hp.fl &= ~TG_HPF_MEMO;
		p->u.hp.mem_svc[(p->u.hp.mem_next - 1) & (TG_HPACK_MEM - 1)] =
			svc;
	}
}

/* --- HTTP/1.x: the request line and Host --------------------------------- */

/* Character @i of "http://" (a 's' may follow "http"). */
static inline __u8 tg_scheme_char(__u8 i)
{
	switch (i) {
	case 0: return 'h';
	case 1: return 't';
	case 2: return 't';
	case 3: return 'p';
	case 4: return ':';
	case 5: return '/';
	case 6: return '/';
	}
	return 0;
}

/*
 * A byte of the request line, for its target (the caller feeds the same
 * byte to tg_http_byte() too). An absolute-form target's authority is the
 * request's name. Returns TG_HTTP_EV_NAME when that name is complete.
 */
static inline int tg_req_line(struct tg_http *h, struct tg_req_names *p, __u8 c)
{
	__u8 i = p->tpos, k;

	if (c == '\n' || i == TG_TGT_DONE)
		goto done;
	if (i == TG_TGT_METHOD) {
		if (c == ' ')
			p->tpos = TG_TGT_START;
		return TG_HTTP_EV_NONE;
	}
	if (i == TG_TGT_AUTH) {
		if (c == '@') {		/* userinfo: the host follows */
			tg_name_start(&p->n);
			return TG_HTTP_EV_NONE;
		}
		if (c != '/' && c != '?' && c != '#' && c != ' ' &&
		    c != '\r') {
			tg_name_byte(&p->n, c);
			return TG_HTTP_EV_NONE;
		}
		tg_name_end(&p->n);
		p->req |= TG_REQ_ABS;
		p->tpos = TG_TGT_DONE;
		h->cand &= ~TG_HTTP_N_TGT;
		return TG_HTTP_EV_NAME;
	}
	/* the scheme, case-insensitive */
	c = tg_http_lower(c);
	k = (i & ~TG_TGT_S) - TG_TGT_START;
	if (k == 4 && c == 's' && !(i & TG_TGT_S)) {
		p->tpos = i | TG_TGT_S;
		return TG_HTTP_EV_NONE;
	}
	if (c != tg_scheme_char(k))
		goto done;	/* origin-form, '*', ...: no name here */
	if (++k == 7) {
		p->tpos = TG_TGT_AUTH;
		tg_name_start(&p->n);
	} else {
		p->tpos = (i & TG_TGT_S) | (TG_TGT_START + k);
	}
	return TG_HTTP_EV_NONE;
done:
	p->tpos = TG_TGT_DONE;
	h->cand &= ~TG_HTTP_N_TGT;
	return TG_HTTP_EV_NONE;
}

/* Whether a Host header is the request's name: the first one, unless
 * the target named it. */
static inline int tg_req_host_reads(const struct tg_req_names *p)
{
	return !(p->req & (TG_REQ_ABS | TG_REQ_NAMED | TG_REQ_HOST));
}

/* --- HPACK --------------------------------------------------------------- */

/* FNV-1a 32 of ":authority" and of "host", the names that name a
 * request (tests/unit/test_names.c checks them). */
#define TG_HPACK_H_AUTHORITY	0xbbfa06deu
#define TG_HPACK_H_HOST		0xaffea56fu

/* The insertion number an index >= 62 means, or ~0u when the client
 * inserted no such entry. */
static inline __u32 tg_hpack_ins_of(const struct tg_hpack *hp, __u32 idx)
{
	__u32 back = idx - (TG_HPACK_STATIC + 1);

	if (back >= hp->ins)
		return ~0u;
	return hp->ins - 1 - back;
}

/* The memory that remembers insertion @x as an :authority entry, or -1. */
static inline int tg_hpack_mem(const struct tg_hpack *hp, __u32 x)
{
	int i;

	for (i = 0; i < TG_HPACK_MEM; i++)
		if (hp->mem_ins[i] == x + 1)
			return i;
	return -1;
}

/* A complete index of an indexed field (TG_HPF_IS_IDX). */
static inline void tg_hpack_indexed(struct tg_req_names *p, __u32 idx)
{
	struct tg_hpack *hp = &p->u.hp;
	__u32 x;
	int i;

	hp->st = TG_HP_FIELD;
	hp->fl = 0;
	if (!idx) {
		hp->st = TG_HP_BAD;
		return;
	}
	if (idx <= TG_HPACK_STATIC)
		return;		/* ":authority" "" (1) names nothing */
	x = tg_hpack_ins_of(hp, idx);
	if (x == ~0u) {
		hp->st = TG_HP_BAD;
		return;
	}
	i = tg_hpack_mem(hp, x);
	if (i >= 0 && !(p->req & TG_REQ_NAMED)) {
		p->req |= TG_REQ_NAMED;
		p->req_svc = hp->mem_svc[i & (TG_HPACK_MEM - 1)];
	}
}

/* A complete name index of a literal field; 0: its name follows. */
static inline void tg_hpack_name_index(struct tg_req_names *p, __u32 idx)
{
	struct tg_hpack *hp = &p->u.hp;
	__u32 x;

	hp->st = TG_HP_STRLEN;
	hp->fl &= TG_HPF_INS;
	if (!idx) {
		hp->fl |= TG_HPF_NAME;
		return;
	}
	if (idx == TG_HPACK_AUTHORITY || idx == TG_HPACK_HOST) {
		hp->fl |= TG_HPF_AUTH;
	} else if (idx > TG_HPACK_STATIC) {
		x = tg_hpack_ins_of(hp, idx);
		if (x == ~0u)
			hp->st = TG_HP_BAD;
		else if (tg_hpack_mem(hp, x) >= 0)
			hp->fl |= TG_HPF_AUTH;
	}
}

/* A string of @len bytes begins. */
static inline void tg_hpack_str(struct tg_req_names *p, __u32 len)
{
	struct tg_hpack *hp = &p->u.hp;

	hp->rem = len;
	hp->st = TG_HP_STR;
	hp->huff = 0;
	hp->fl |= TG_HPF_ACC;
	if (hp->fl & TG_HPF_NAME) {
		hp->nhash = TG_FNV32_OFF;
		hp->nlen = 0;
	} else if (hp->fl & TG_HPF_AUTH) {
		tg_name_start(&p->n);
	}
}

/* The field ends. Returns TG_HTTP_EV_NAME when it was an :authority. */
static inline int tg_hpack_field_end(struct tg_req_names *p)
{
	struct tg_hpack *hp = &p->u.hp;
	int ev = TG_HTTP_EV_NONE;
	__u8 fl = hp->fl;

	hp->st = TG_HP_FIELD;
	hp->fl = 0;
	if (fl & TG_HPF_AUTH) {
		if (!(fl & TG_HPF_ACC))
			p->n.st |= TG_NAME_BAD;	/* bad Huffman padding */
		tg_name_end(&p->n);
		ev = TG_HTTP_EV_NAME;
	}
	if (fl & TG_HPF_INS) {
		if (fl & TG_HPF_AUTH) {
			__u8 m = hp->mem_next++ & (TG_HPACK_MEM - 1);

			hp->mem_ins[m] = hp->ins + 1;
			hp->mem_svc[m] = 0;
			hp->fl |= TG_HPF_MEMO;
		}
		hp->ins++;
	}
	return ev;
}

/* The string read was the field's name: is it :authority or host? */
static inline void tg_hpack_name_end(struct tg_hpack *hp)
{
	hp->fl &= ~TG_HPF_NAME;
	if (!(hp->fl & TG_HPF_ACC))
		hp->st = TG_HP_BAD;
	else if ((hp->nlen == 10 && hp->nhash == TG_HPACK_H_AUTHORITY) ||
		 (hp->nlen == 4 && hp->nhash == TG_HPACK_H_HOST))
		hp->fl |= TG_HPF_AUTH;
	if (hp->st != TG_HP_BAD)
		hp->st = TG_HP_STRLEN;
}

/* A decoded character of the string being read. */
static inline void tg_hpack_char(struct tg_req_names *p, __u8 c)
{
	struct tg_hpack *hp = &p->u.hp;

	if (hp->fl & TG_HPF_NAME) {
		hp->nhash = (hp->nhash ^ c) * TG_FNV32_PRIME;
		if (hp->nlen < 0xff)
			hp->nlen++;
	} else {
		tg_name_byte(&p->n, c);
	}
}

/* Four bits of a Huffman-coded string. */
static inline void tg_hpack_huff4(struct tg_req_names *p, __u8 x)
{
	struct tg_hpack *hp = &p->u.hp;
	__u32 e = TG_HUFF_FSM[((__u32)hp->huff * 16 + x) &
			      (TG_HUFF_ENTRIES - 1)];

	if (e & TG_HUFF_FAIL) {
		hp->fl &= ~TG_HPF_ACC;
		if (hp->fl & TG_HPF_NAME)
			hp->nlen = 0xff;	/* matches nothing */
		else
			p->n.st |= TG_NAME_BAD;
		hp->huff = 0;
		return;
	}
	if (e & TG_HUFF_SYM)
		tg_hpack_char(p, (e >> 16) & 0xff);
	hp->huff = e & 0xff;
	if (e & TG_HUFF_ACCEPT)
		hp->fl |= TG_HPF_ACC;
	else
		hp->fl &= ~TG_HPF_ACC;
}

/* Whether the string being read is decoded, or skipped unread. */
static inline int tg_hpack_reads(const struct tg_hpack *hp)
{
	return hp->fl & (TG_HPF_NAME | TG_HPF_AUTH);
}

/*
 * An integer of @prefix bits begins with byte @c: complete at once
 * (returns 1, value in hp->val) or continued in later bytes (TG_HP_INT).
 */
static inline int tg_hpack_int_start(struct tg_hpack *hp, __u8 c, __u8 mask)
{
	hp->val = c & mask;
	if (hp->val < mask)
		return 1;
	hp->shift = 0;
	hp->st = TG_HP_INT;
	return 0;
}

/* The integer just completed: what it was for. Returns an event. */
static inline int tg_hpack_int_done(struct tg_req_names *p)
{
	struct tg_hpack *hp = &p->u.hp;

	if (hp->fl & TG_HPF_IS_IDX) {
		tg_hpack_indexed(p, hp->val);
		return TG_HTTP_EV_NONE;
	}
	if (hp->fl & TG_HPF_IS_LEN) {
		hp->fl &= ~TG_HPF_IS_LEN;
		tg_hpack_str(p, hp->val);
		if (hp->val)
			return TG_HTTP_EV_NONE;
		/* an empty string */
		if (!(hp->fl & TG_HPF_NAME))
			return tg_hpack_field_end(p);
		tg_hpack_name_end(hp);
		return TG_HTTP_EV_NONE;
	}
	if (hp->bfl & TG_HPB_SIZE) {
		hp->bfl &= ~TG_HPB_SIZE;
		hp->st = TG_HP_FIELD;
		return TG_HTTP_EV_NONE;
	}
	tg_hpack_name_index(p, hp->val);
	return TG_HTTP_EV_NONE;
}

/* One byte of a header block (not of a frame's prefix or padding).
 * Returns TG_HTTP_EV_NAME when it ends an :authority field. */
static inline int tg_hpack_byte(struct tg_req_names *p, __u8 c)
{
	struct tg_hpack *hp = &p->u.hp;

	switch (hp->st) {
	case TG_HP_FIELD:
		if (c & 0x80) {			/* indexed */
			hp->fl = TG_HPF_IS_IDX;
			if (tg_hpack_int_start(hp, c, 0x7f))
				return tg_hpack_int_done(p);
		} else if ((c & 0xc0) == 0x40) {	/* incremental */
			hp->fl = TG_HPF_INS;
			if (tg_hpack_int_start(hp, c, 0x3f))
				return tg_hpack_int_done(p);
		} else if ((c & 0xe0) == 0x20) {	/* size update */
			hp->fl = 0;
			hp->bfl |= TG_HPB_SIZE;
			if (tg_hpack_int_start(hp, c, 0x1f))
				return tg_hpack_int_done(p);
		} else {		/* without, never indexed */
			hp->fl = 0;
			if (tg_hpack_int_start(hp, c, 0x0f))
				return tg_hpack_int_done(p);
		}
		return TG_HTTP_EV_NONE;
	case TG_HP_INT:
		if (hp->shift > TG_HPACK_INT_MAX - 7) {
			hp->st = TG_HP_BAD;
			return TG_HTTP_EV_NONE;
		}
		hp->val += (__u32)(c & 0x7f) << hp->shift;
		hp->shift += 7;
		if (c & 0x80)
			return TG_HTTP_EV_NONE;
		return tg_hpack_int_done(p);
	case TG_HP_STRLEN:
		if (c & 0x80)
			hp->fl |= TG_HPF_HUFF;
		else
			hp->fl &= ~TG_HPF_HUFF;
		hp->fl |= TG_HPF_IS_LEN;
		if (tg_hpack_int_start(hp, c, 0x7f))
			return tg_hpack_int_done(p);
		return TG_HTTP_EV_NONE;
	case TG_HP_STR:
		if (tg_hpack_reads(hp)) {
			if (hp->fl & TG_HPF_HUFF) {
				tg_hpack_huff4(p, c >> 4);
				tg_hpack_huff4(p, c & 0xf);
			} else {
				tg_hpack_char(p, c);
			}
		}
		if (--hp->rem)
			return TG_HTTP_EV_NONE;
		if (hp->fl & TG_HPF_NAME) {
			tg_hpack_name_end(hp);
			return TG_HTTP_EV_NONE;
		}
		return tg_hpack_field_end(p);
	}
	return TG_HTTP_EV_NONE;		/* TG_HP_BAD: absorbing */
}

/* --- HTTP/2 frames ------------------------------------------------------- */

/* The header block is complete: a request when it opened a stream. */
static inline int tg_h2_block_end(struct tg_req_names *p)
{
	struct tg_hpack *hp = &p->u.hp;
	__u8 bfl = hp->bfl;

	/* A block must end between fields; one that does not cannot be
	 * decoded by the server either, and the table is lost. */
	if (hp->st != TG_HP_FIELD)
		hp->st = TG_HP_BAD;
	hp->bfl = 0;
	if (!(bfl & TG_HPB_NEW))
		return TG_HTTP_EV_NONE;
	/* A request without :authority, or whose :authority was an entry
	 * of the dynamic table not remembered (or the table was lost). */
	if (!(p->req & TG_REQ_NAMED))
		p->req |= TG_REQ_LOST;
	return TG_HTTP_EV_CALL;
}

/* The frame's header block fragment and prefix are read: what follows is
 * its padding, then the next frame. */
static inline int tg_h2_frame_end(struct tg_http *h, struct tg_req_names *p)
{
	int ev = TG_HTTP_EV_NONE;

	if (p->u.hp.bfl & TG_HPB_END)
		ev = tg_h2_block_end(p);
	h->match = 0;
	if (h->remain) {		/* the padding */
		h->state = TG_HTTP_H2_SKIP;
	} else {
		h->state = TG_HTTP_H2_HDR;
	}
	return ev;
}

/*
 * A frame header is complete (tg_http_h2_byte()'s fields in h->remain and
 * h->cand), on a stream whose names are read: HEADERS and CONTINUATION
 * payloads are read, whatever their stream (every block changes the
 * dynamic table), and a request is counted when the block that opened its
 * stream ends, with its name.
 */
static inline int tg_req_h2_frame(struct tg_http *h, struct tg_req_names *p)
{
	struct tg_hpack *hp = &p->u.hp;
	__u64 len = h->remain & 0xffffff;
	__u8 fl = (h->remain >> 24) & 0xff;
	__u32 sid = (h->remain >> 32) & 0x7fffffff;
	__u8 type = h->cand;

	h->match = 0;
	h->remain = len;
	if (type != TG_HTTP_H2_HEADERS && type != TG_HTTP_H2_CONTINUATION) {
		h->state = len ? TG_HTTP_H2_SKIP : TG_HTTP_H2_HDR;
		return TG_HTTP_EV_NONE;
	}
	if (type == TG_HTTP_H2_HEADERS) {
		/* A new block: a new request's name. */
		hp->bfl = 0;
		if ((sid & 1) && sid > h->stream) {
			h->stream = sid;
			hp->bfl |= TG_HPB_NEW;
		}
		p->req = 0;
		p->req_svc = 0;
		hp->pre = 0;
		if (fl & TG_HTTP_H2_PADDED) {
			hp->pre++;
			hp->bfl |= TG_HPB_PADLEN;
		}
		if (fl & TG_HTTP_H2_PRIORITY)
			hp->pre += 5;
	} else {
		hp->pre = 0;
		hp->bfl &= ~TG_HPB_END;
	}
	hp->pad = 0;
	if (fl & TG_HTTP_H2_END_HEADERS)
		hp->bfl |= TG_HPB_END;
	if (hp->pre > len) {
		hp->st = TG_HP_BAD;	/* the server rejects it too */
		hp->pre = len;
	}
	h->state = TG_HTTP_H2_BLOCK;
	if (!len)
		return tg_h2_frame_end(h, p);
	return TG_HTTP_EV_NONE;
}

/* A byte of a HEADERS or CONTINUATION payload: prefix, block, or the
 * last block byte before the padding. */
static inline int tg_h2_block_byte(struct tg_http *h, struct tg_req_names *p,
				   __u8 c)
{
	struct tg_hpack *hp = &p->u.hp;
	int ev = TG_HTTP_EV_NONE;

	h->remain--;
	if (hp->pre) {
		hp->pre--;
		if (hp->bfl & TG_HPB_PADLEN) {
			hp->bfl &= ~TG_HPB_PADLEN;
			hp->pad = c;
			if (hp->pad > h->remain - hp->pre) {
				hp->st = TG_HP_BAD;
				hp->pad = h->remain - hp->pre;
			}
		}
	} else {
		ev = tg_hpack_byte(p, c);
	}
	if (h->remain == hp->pad && !hp->pre)
		ev |= tg_h2_frame_end(h, p);
	return ev;
}

/* --- TLS: the SNI of a ClientHello --------------------------------------- */

/* The next field of the ClientHello: @need bytes in state @st. */
static inline void tg_sni_field(struct tg_sni *s, __u8 st, __u32 need)
{
	s->st = st;
	s->need = need;
	s->val = 0;
}

/* After field s->st (its value in s->val): the next one. Returns
 * TG_HTTP_EV_NAME after the host name, TG_HTTP_EV_NONAME when there is
 * none to read, else TG_HTTP_EV_NONE. */
static inline int tg_sni_advance(struct tg_req_names *p)
{
	struct tg_sni *s = &p->u.sni;
	__u32 v = s->val;

	switch (s->st) {
	case TG_SNI_HS:
		if ((v >> 24) != TG_TLS_CLIENT_HELLO)
			return TG_HTTP_EV_NONAME;
		s->left = v & 0xffffff;
		tg_sni_field(s, TG_SNI_VR, 34);
		break;
	case TG_SNI_VR:
		tg_sni_field(s, TG_SNI_SID, 1);
		break;
	case TG_SNI_SID:
		tg_sni_field(s, TG_SNI_SIDS, v);
		break;
	case TG_SNI_SIDS:
		tg_sni_field(s, TG_SNI_CS, 2);
		break;
	case TG_SNI_CS:
		tg_sni_field(s, TG_SNI_CSS, v);
		break;
	case TG_SNI_CSS:
		tg_sni_field(s, TG_SNI_CM, 1);
		break;
	case TG_SNI_CM:
		tg_sni_field(s, TG_SNI_CMS, v);
		break;
	case TG_SNI_CMS:
		tg_sni_field(s, TG_SNI_EXTS, 2);
		break;
	case TG_SNI_EXTS:
		if (v < s->left)
			s->left = v;
		tg_sni_field(s, TG_SNI_EXT, 4);
		break;
	case TG_SNI_EXT:
		if ((v >> 16) == 0)	/* server_name */
			tg_sni_field(s, TG_SNI_LIST, 2);
		else
			tg_sni_field(s, TG_SNI_EXTD, v & 0xffff);
		break;
	case TG_SNI_EXTD:
		tg_sni_field(s, TG_SNI_EXT, 4);
		break;
	case TG_SNI_LIST:
		tg_sni_field(s, TG_SNI_TYPE, 3);
		break;
	case TG_SNI_TYPE:
		if ((v >> 16) != 0 || !(v & 0xffff))	/* not host_name */
			return TG_HTTP_EV_NONAME;
		tg_sni_field(s, TG_SNI_NAME, v & 0xffff);
		tg_name_start(&p->n);
		break;
	case TG_SNI_NAME:
		tg_name_end(&p->n);
		return TG_HTTP_EV_NAME;
	}
	/* A field past the ClientHello's end (the end itself, where an
	 * extension or the extensions would begin): no name. */
	if (s->need > s->left)
		return TG_HTTP_EV_NONAME;
	return TG_HTTP_EV_NONE;
}

/* A field just completed: the next one that has bytes. Only skipped
 * fields may be empty, and two never follow each other. */
static inline int tg_sni_next(struct tg_req_names *p)
{
	int ev = tg_sni_advance(p);

	if (ev == TG_HTTP_EV_NONE && !p->u.sni.need)
		ev = tg_sni_advance(p);
	return ev;
}

/* Whether field state @st is skipped unread. */
static inline int tg_sni_skips(__u8 st)
{
	return st == TG_SNI_VR || st == TG_SNI_SIDS || st == TG_SNI_CSS ||
	       st == TG_SNI_CMS || st == TG_SNI_EXTD;
}

/*
 * A byte of a stream that began with a TLS handshake record. Returns
 * TG_HTTP_EV_NAME or TG_HTTP_EV_NONAME when the reading ends (the caller
 * stops: h->state is TG_HTTP_OTHER then), else TG_HTTP_EV_NONE.
 */
static inline int tg_sni_byte(struct tg_http *h, struct tg_req_names *p, __u8 c)
{
	struct tg_sni *s = &p->u.sni;
	int ev = TG_HTTP_EV_NONE;

	if (s->rh < TG_SNI_REC_HDR) {
		/* type 22 (handshake), version, length */
		if (s->rh == 0 && c != TG_TLS_HANDSHAKE)
			ev = TG_HTTP_EV_NONAME;
		else if (s->rh == 3)
			s->rlen = (__u16)c << 8;
		else if (s->rh == 4)
			s->rlen |= c;
		if (++s->rh == TG_SNI_REC_HDR) {
			s->rec = s->rlen;
			if (!s->rec)
				ev = TG_HTTP_EV_NONAME;
		}
	} else {
		if (--s->rec == 0)
			s->rh = 0;	/* the next record's header */
		if (s->st != TG_SNI_HS && s->left)
			s->left--;
		if (!tg_sni_skips(s->st)) {
			if (s->st == TG_SNI_NAME)
				tg_name_byte(&p->n, c);
			s->val = (s->val << 8) | c;
		}
		if (!--s->need)
			ev = tg_sni_next(p);
		else if (!s->left && s->st != TG_SNI_HS)
			ev = TG_HTTP_EV_NONAME;
	}
	if (ev != TG_HTTP_EV_NONE)
		h->state = TG_HTTP_OTHER;
	return ev;
}

/* --- the wrapper --------------------------------------------------------- */

/*
 * Of the next @avail bytes of the stream, skip as many as the parsers need
 * not look at: bodies and frame payloads (tg_http_skip()), HPACK strings
 * that name nothing, the ClientHello's fields before the extensions. The
 * last byte of an HPACK string or TLS field is always fed, so that what
 * ends there is seen by tg_req_byte(). Returns how many.
 */
static inline __u64 tg_req_skip(struct tg_http *h, struct tg_req_names *p,
				__u64 avail)
{
	__u64 n, m;

	if (h->state == TG_HTTP_H2_BLOCK) {
		struct tg_hpack *hp = &p->u.hp;

		if (hp->pre || (hp->st != TG_HP_STR && hp->st != TG_HP_BAD) ||
		    (hp->st == TG_HP_STR && tg_hpack_reads(hp)))
			return 0;
		/* the block's bytes in this frame, less the last */
		m = h->remain - hp->pad;
		if (hp->st == TG_HP_STR && hp->rem < m)
			m = hp->rem;
		n = m - 1;
		if (!m || !n)
			return 0;
		if (n > avail)
			n = avail;
		h->remain -= n;
		if (hp->st == TG_HP_STR)
			hp->rem -= n;
		return n;
	}
	if (h->state == TG_HTTP_TLS) {
		struct tg_sni *s = &p->u.sni;

		if (s->rh < TG_SNI_REC_HDR || !tg_sni_skips(s->st) ||
		    s->need < 2)
			return 0;
		n = s->need - 1;
		if (n > s->rec)
			n = s->rec;
		if (n > s->left)
			n = s->left;
		if (n > avail)
			n = avail;
		if (!n)
			return 0;
		s->need -= n;
		s->rec -= n;
		s->left -= n;
		if (!s->rec)
			s->rh = 0;
		return n;
	}
	return tg_http_skip(h, avail);
}

/* Whether the request parser only looks for the end of the line now:
 * tg_http_in_line(), less the request line while its target is read. */
static inline int tg_req_in_line(const struct tg_http *h)
{
	if (h->state == TG_HTTP_LINE && (h->cand & TG_HTTP_N_TGT))
		return 0;
	return tg_http_in_line(h, 0);
}

/*
 * Feed one byte of a client's stream whose names are read (h->flags has
 * TG_HTTP_F_NAMES; else this is tg_http_byte()). Returns tg_http_byte()'s
 * events, with TG_HTTP_EV_NAME or'ed in when a name is complete in p->n,
 * TG_HTTP_EV_TLS at the first byte of a TLS stream (its reading goes on),
 * TG_HTTP_EV_NONAME when a ClientHello ends without SNI.
 */
static inline int tg_req_byte(struct tg_http *h, struct tg_req_names *p, __u8 c)
{
	int ev;

	if (!(h->flags & TG_HTTP_F_NAMES))
		return tg_http_byte(h, c);
	switch (h->state) {
	case TG_HTTP_IDLE:
		if (c == TG_TLS_HANDSHAKE && !(h->flags & TG_HTTP_F_STARTED)) {
			h->state = TG_HTTP_TLS;
			__builtin_memset(&p->u.sni, 0, sizeof(p->u.sni));
			tg_sni_field(&p->u.sni, TG_SNI_HS, 4);
			p->u.sni.left = 4;
			tg_sni_byte(h, p, c);
			return TG_HTTP_EV_TLS;
		}
		ev = tg_http_byte(h, c);
		if (h->state == TG_HTTP_LINE) {
			/* A request begins: its own name. */
			h->cand |= TG_HTTP_N_TGT;
			p->req = 0;
			p->req_svc = 0;
			p->tpos = TG_TGT_METHOD;
		}
		return ev;
	case TG_HTTP_TLS:
		return tg_sni_byte(h, p, c);
	case TG_HTTP_LINE:
		ev = TG_HTTP_EV_NONE;
		if (h->cand & TG_HTTP_N_TGT)
			ev = tg_req_line(h, p, c);
		ev |= tg_http_byte(h, c);
		if (h->state == TG_HTTP_H2_SKIP) {
			/* The HTTP/2 preface: HPACK from here on. */
			__builtin_memset(&p->u.hp, 0, sizeof(p->u.hp));
		}
		return ev;
	case TG_HTTP_HDR:
	case TG_HTTP_NAME:
		ev = tg_http_byte(h, c);
		if (h->state == TG_HTTP_VALUE && h->cand == TG_HTTP_N_HOST &&
		    tg_req_host_reads(p))
			tg_name_start(&p->n);
		return ev;
	case TG_HTTP_VALUE:
		if (h->cand != TG_HTTP_N_HOST)
			return tg_http_byte(h, c);
		if (!tg_req_host_reads(p)) {
			if (c == '\n')
				tg_http_eol(h);
			return TG_HTTP_EV_NONE;
		}
		if (c != '\n') {
			tg_name_byte(&p->n, c);
			return TG_HTTP_EV_NONE;
		}
		tg_http_eol(h);
		p->req |= TG_REQ_HOST;
		tg_name_end(&p->n);
		return TG_HTTP_EV_NAME;
	case TG_HTTP_H2_HDR:
		if (!tg_http_h2_acc(h, c))
			return TG_HTTP_EV_NONE;
		return tg_req_h2_frame(h, p);
	case TG_HTTP_H2_BLOCK:
		return tg_h2_block_byte(h, p, c);
	}
	return tg_http_byte(h, c);
}

/* --- the Huffman decoder's table (user space builds it) ------------------ */

#ifndef __bpf__
/*
 * The code lengths of RFC 7541 Appendix B, symbols 0 to 256 (EOS). The
 * code is canonical: codes of the same length are consecutive, in symbol
 * order, so the lengths are the whole code.
 */
static const unsigned char tg_huff_len[257] = {
	13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
	28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
	6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
	5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
	13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
	7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
	15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
	6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
	20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
	24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
	22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
	21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
	26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
	19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
	20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
	26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
	30,
};

/* The canonical code of every symbol, from the lengths. */
static inline void tg_huff_codes(__u32 code[257])
{
	__u32 c = 0;
	int len, s;

	for (len = 1; len <= 30; len++) {
		for (s = 0; s < 257; s++)
			if (tg_huff_len[s] == len)
				code[s] = c++;
		c <<= 1;
	}
}

/*
 * Build the decoder's table into @fsm (TG_HUFF_ENTRIES entries): the
 * code's tree, whose 256 inner nodes are the states (0: the root), walked
 * four bits at a time. Returns 0, or -1 if the code is not a full tree.
 */
static inline int tg_huff_build(__u32 *fsm)
{
	/* child[node][bit]: an inner node, or 0x1000 | symbol for a leaf */
	static __u16 child[TG_HUFF_STATES][2];
	__u8 depth[TG_HUFF_STATES], ones[TG_HUFF_STATES];
	__u32 code[257];
	int nodes = 1, s, b, x;

	memset(child, 0, sizeof(child));
	depth[0] = 0;
	ones[0] = 1;
	tg_huff_codes(code);
	for (s = 0; s < 257; s++) {
		int node = 0, len = tg_huff_len[s];

		for (b = len - 1; b >= 0; b--) {
			int bit = (code[s] >> b) & 1;

			if (!b) {
				if (child[node][bit])
					return -1;
				child[node][bit] = 0x1000 | s;
				break;
			}
			if (!child[node][bit]) {
				if (nodes >= TG_HUFF_STATES)
					return -1;
				child[node][bit] = nodes;
				depth[nodes] = depth[node] + 1;
				ones[nodes] = ones[node] && bit;
				nodes++;
			} else if (child[node][bit] & 0x1000) {
				return -1;
			}
			node = child[node][bit];
		}
	}
	if (nodes != TG_HUFF_STATES)
		return -1;
	for (s = 0; s < TG_HUFF_STATES; s++) {
		for (x = 0; x < 16; x++) {
			__u32 e = 0, node = s;

			for (b = 3; b >= 0; b--) {
				__u16 ch = child[node][(x >> b) & 1];

				if (!ch) {
					e |= TG_HUFF_FAIL;
					break;
				}
				if (ch & 0x1000) {
					if ((ch & 0xfff) == 256) {
						e |= TG_HUFF_FAIL;
						break;
					}
					e |= TG_HUFF_SYM |
					     ((__u32)(ch & 0xff) << 16);
					node = 0;
				} else {
					node = ch;
				}
			}
			if (!(e & TG_HUFF_FAIL)) {
				e |= node;
				if (ones[node] && depth[node] < 8)
					e |= TG_HUFF_ACCEPT;
			}
			fsm[s * 16 + x] = e;
		}
	}
	return 0;
}
#endif /* !__bpf__ */

#endif /* TOLLGATE_NAMES_H */
