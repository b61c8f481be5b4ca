/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * names_feed.h - drive include/names.h's name reader the way
 * bpf/calls.bpf.h does (tg_req_skip(), the jump to the line's end where
 * only that matters, then tg_req_byte(); a name looked up when complete,
 * the stream given up at DESYNC or OTHER, at the end of a ClientHello's
 * reading, after a head that ends the connection), for the fuzz targets
 * of the names: fuzz_names and fuzz_hpack.
 *
 * nf_check_cuts() feeds a stream in one read, one byte a read, cut in
 * two at every position of a short stream (a sample of a longer one), and
 * cut at random, and aborts unless every way gives the same calls, the
 * same names, the same events and the same final state: where the reads
 * fall must never change what a request names.
 *
 * A complete name is "looked up" as the kernel does (bpf/names.bpf.h,
 * names_found()): an empty one is not; one that may match (tg_name_end()
 * said so) gets a service id of its own, by its hash, in the order names
 * first appear; any other (a character no host name has) gets 0, as a
 * name no host matches. nf_name_check() checks every name reported
 * against its own bytes.
 */
#ifndef TOLLGATE_FUZZ_NAMES_FEED_H
#define TOLLGATE_FUZZ_NAMES_FEED_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>

#include "names.h"

#define NF_CALLS	512	/* calls recorded (more are counted) */
#define NF_NAMES	256	/* names recorded (more are counted) */
#define NF_SVCS		8192	/* distinct names of a stream */
#define NF_UNNAMED	0xffffffffu	/* a call whose request named nothing */

struct nf_name {
	__u64 hash;
	__u8 st, len, nbuf;
	__u8 buf[TG_NAME_BUF];
};

struct nf_result {
	struct tg_http h;		/* the state at the end */
	struct tg_req_names p;
	unsigned int ncalls, nnames, tls, noname;
	__u32 call_svc[NF_CALLS];	/* a service id, or NF_UNNAMED */
	struct nf_name name[NF_NAMES];
	int ev;				/* DESYNC or OTHER, or 0 */
	size_t stop_at;			/* the byte after which the reading
					 * stopped; 0: it did not */
	int stopped;
	/* the service ids: svc[i] is the hash of id i + 1 */
	unsigned int nsvc;
	__u64 svc[NF_SVCS];
};

/* The service id of valid name hash @hash. */
static inline __u32 nf_intern(struct nf_result *r, __u64 hash)
{
	unsigned int i;

	for (i = 0; i < r->nsvc; i++)
		if (r->svc[i] == hash)
			return i + 1;
	if (r->nsvc == NF_SVCS) {
		fprintf(stderr, "names_feed: more than %d names\n", NF_SVCS);
		abort();
	}
	r->svc[r->nsvc++] = hash;
	return r->nsvc;
}

static inline int nf_valid(const struct tg_name *n)
{
	return n->len && !(n->st & (TG_NAME_BAD | TG_NAME_BRACKET));
}

static inline __u64 nf_fnv64(const __u8 *s, size_t n)
{
	__u64 h = 0xcbf29ce484222325ULL;

	while (n--)
		h = (h ^ *s++) * 0x100000001b3ULL;
	return h;
}

/*
 * A name as reported must be what its own bytes say: a valid one is lower
 * case host characters and single dots, neither first nor last, and
 * when kept whole, its hash is theirs. Aborts otherwise.
 */
static inline void nf_name_check(const struct tg_name *n)
{
	unsigned int i;

	if (n->nbuf > TG_NAME_BUF || (n->nbuf != n->len &&
				       !(n->st & TG_NAME_LONG))) {
		fprintf(stderr, "names.h: a name of %u bytes keeps %u\n",
			n->len, n->nbuf);
		abort();
	}
	if (!nf_valid(n))
		return;
	for (i = 0; i < n->nbuf; i++) {
		__u8 c = n->buf[i];
		int dot = c == '.';

		if (!dot && !((c >= 'a' && c <= 'z') ||
			      (c >= '0' && c <= '9') || c == '-' || c == '_'))
			goto bad;
		if (dot && (i == 0 || i + 1 == n->len ||
			    n->buf[i - 1] == '.'))
			goto bad;
	}
	if (!(n->st & TG_NAME_LONG) && nf_fnv64(n->buf, n->nbuf) != n->hash)
		goto bad;
	return;
bad:
	fprintf(stderr, "names.h: valid name '%.*s' (%u bytes, hash %llx) "
		"is not what its bytes say\n", n->nbuf, n->buf, n->len,
		(unsigned long long)n->hash);
	abort();
}

/* What the caller does at TG_HTTP_EV_NAME. */
static inline void nf_on_name(struct nf_result *r, struct tg_req_names *p)
{
	struct tg_name *n = &p->n;

	nf_name_check(n);
	if (r->nnames < NF_NAMES) {
		struct nf_name *d = &r->name[r->nnames];

		d->hash = n->hash;
		d->st = n->st;
		d->len = n->len;
		d->nbuf = n->nbuf;
		memcpy(d->buf, n->buf, sizeof(d->buf));
	}
	r->nnames++;
	if (!n->len)
		return;		/* names_found(): nothing to look up */
	tg_names_set(p, nf_valid(n) ? nf_intern(r, n->hash) : 0);
}

/* One read of @n bytes at stream offset @base, as seg_step() in
 * bpf/calls.bpf.h takes it. */
static inline void nf_read(struct nf_result *r, const __u8 *b, size_t n,
			   size_t base)
{
	size_t off = 0;

	while (off < n && !r->stopped) {
		__u64 k = tg_req_skip(&r->h, &r->p, n - off);
		int ev;

		if (k) {
			if (k > n - off) {
				fprintf(stderr, "names.h: skips %llu of %zu "
					"bytes\n", (unsigned long long)k,
					n - off);
				abort();
			}
			off += k;
			continue;
		}
		if (tg_req_in_line(&r->h)) {
			const __u8 *lf = memchr(b + off, '\n', n - off);

			if (!lf)
				return;
			off = lf - b;
		}
		ev = tg_req_byte(&r->h, &r->p, b[off++]);
		if (ev & TG_HTTP_EV_NAME) {
			ev &= ~TG_HTTP_EV_NAME;
			nf_on_name(r, &r->p);
		}
		if (ev == TG_HTTP_EV_CALL) {
			if (r->ncalls < NF_CALLS)
				r->call_svc[r->ncalls] =
					r->p.req & TG_REQ_NAMED ?
						r->p.req_svc : NF_UNNAMED;
			r->ncalls++;
			if (r->h.state == TG_HTTP_DESYNC)
				ev = TG_HTTP_EV_DESYNC;
			else
				ev = TG_HTTP_EV_NONE;
		}
		if (ev == TG_HTTP_EV_TLS) {
			r->tls++;
			ev = TG_HTTP_EV_NONE;
		} else if (ev == TG_HTTP_EV_NONAME) {
			r->noname++;
		} else if (ev != TG_HTTP_EV_NONE) {
			r->ev = ev;
		}
		if (ev != TG_HTTP_EV_NONE || tg_http_done(&r->h)) {
			r->stopped = 1;
			r->stop_at = base + off;
		}
	}
}

/* The stream @s of @n bytes in reads that end at @cuts (ascending), into
 * @r. */
static inline void nf_cuts(struct nf_result *r, const __u8 *s, size_t n,
			   const size_t *cuts, size_t ncuts)
{
	size_t prev = 0, i;

	memset(r, 0, offsetof(struct nf_result, svc));
	r->h.flags = TG_HTTP_F_NAMES;
	for (i = 0; i <= ncuts && !r->stopped; i++) {
		size_t end = i < ncuts ? cuts[i] : n;

		nf_read(r, s + prev, end - prev, prev);
		prev = end;
	}
}

/* One byte a read. */
static inline void nf_bytes(struct nf_result *r, const __u8 *s, size_t n)
{
	size_t i;

	memset(r, 0, offsetof(struct nf_result, svc));
	r->h.flags = TG_HTTP_F_NAMES;
	for (i = 0; i < n && !r->stopped; i++)
		nf_read(r, s + i, 1, i);
}

static inline void nf_fail(const char *how, size_t at, const char *what,
			   const struct nf_result *want,
			   const struct nf_result *got)
{
	fprintf(stderr,
		"names.h: %s (%zu): %s differs: %u calls, %u names, %u TLS, "
		"%u without SNI, event %d, stopped at %zu; one byte a read: "
		"%u calls, %u names, %u TLS, %u without SNI, event %d, "
		"stopped at %zu\n", how, at, what, got->ncalls, got->nnames,
		got->tls, got->noname, got->ev, got->stop_at, want->ncalls,
		want->nnames, want->tls, want->noname, want->ev,
		want->stop_at);
	abort();
}

static inline void nf_same(const struct nf_result *a,
			   const struct nf_result *b, const char *how,
			   size_t at)
{
	unsigned int i;

	if (a->ncalls != b->ncalls || a->nnames != b->nnames ||
	    a->tls != b->tls || a->noname != b->noname || a->ev != b->ev ||
	    a->stopped != b->stopped || a->stop_at != b->stop_at)
		nf_fail(how, at, "the count", a, b);
	for (i = 0; i < a->ncalls && i < NF_CALLS; i++)
		if (a->call_svc[i] != b->call_svc[i])
			nf_fail(how, at, "a call's service", a, b);
	for (i = 0; i < a->nnames && i < NF_NAMES; i++)
		if (memcmp(&a->name[i], &b->name[i], sizeof(a->name[i])))
			nf_fail(how, at, "a name", a, b);
	if (memcmp(&a->h, &b->h, sizeof(a->h)))
		nf_fail(how, at, "the parser's state", a, b);
	if (memcmp(&a->p, &b->p, sizeof(a->p)))
		nf_fail(how, at, "the names' state", a, b);
}

/* xorshift: cut positions from the input itself, so a crash reproduces. */
static inline uint32_t nf_rand(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

/*
 * Feed @s in the ways described at the top; each must end as @want (one
 * byte a read, nf_bytes()) does, or the target aborts. @tmp is scratch.
 */
static inline void nf_check_cuts(const __u8 *s, size_t n,
				 const struct nf_result *want,
				 struct nf_result *tmp)
{
	size_t cuts[64], nc, i;
	uint32_t x = 2166136261u;

	nf_cuts(tmp, s, n, NULL, 0);
	nf_same(want, tmp, "one read", 0);
	for (i = 0; i < n; i++)
		x = (x ^ s[i]) * 16777619u;
	x |= 1;
	for (i = 1; i < n; i++) {
		/* every cut of a short stream, about 64 of a longer one */
		if (n > 64 && nf_rand(&x) % n >= 64)
			continue;
		cuts[0] = i;
		nf_cuts(tmp, s, n, cuts, 1);
		nf_same(want, tmp, "two reads, cut at", i);
	}
	for (nc = 0; nc < 64; nc++) {
		size_t c = (nc ? cuts[nc - 1] : 0) + 1 + nf_rand(&x) % 64;

		if (c >= n)
			break;
		cuts[nc] = c;
	}
	nf_cuts(tmp, s, n, cuts, nc);
	nf_same(want, tmp, "random reads", nc);
}

#endif /* TOLLGATE_FUZZ_NAMES_FEED_H */
