/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tls.bpf.h - the count stage, in the kernel: API calls of TLS frontends,
 * counted in the stream their TLS library encrypts.
 *
 * A TLS frontend's calls are in the stream its TLS library encrypts: one
 * answer per call. The loader hooks SSL_write and SSL_write_ex (entry and
 * return) and SSL_do_handshake (entry and return) with uprobes in each
 * metered process (user/load/loader.c: per process, so that no other
 * process mapping the same library takes a trap). In an OpenSSL 3.0
 * libssl, SSL_write_ex's programs go to the function both writers call
 * first instead, whose arguments and return are SSL_write_ex's, and
 * SSL_write's are not used (user/load/tlssite.c: a cheaper trap).
 * Counting answers, not requests, is what makes it cheap: a uprobe's
 * breakpoint trap costs microseconds, and a server calls SSL_write about
 * once per response, where it calls SSL_read twice per request (the
 * second to learn that nothing more is there). A return probe costs far
 * less than the entry's trap, and tells how many bytes the library took:
 * parsing those bytes at the return counts a write the library could not
 * finish (WANT_WRITE) once, when the retry, which passes the same bytes
 * again, succeeds; and a partial write (SSL_MODE_ENABLE_PARTIAL_WRITE)
 * only for what it wrote.
 *
 * Uprobes see the SSL object and the buffer but not the socket, and
 * cannot reach socket storage; the receive hook sees the socket. So:
 * tg_ssl_hs notes the handshake in flight for the thread (tg_tls_task);
 * the read(2) that the library makes inside it (the ClientHello, the
 * client's Finished) reaches tg_recv, which, finding a handshake in
 * flight on a counted client socket, marks the socket as TLS (its
 * ciphertext is no stream for the raw parser) and links the SSL object to
 * the socket in tg_ssl: cookie, peer slot, and the state of the response
 * parser. Every TLS connection begins with a handshake, so an SSL object
 * that a new connection reuses at the same address is linked afresh. At
 * SSL_write's return, the bytes it wrote are parsed on that state
 * (include/http.h, tg_resp_byte), and their calls added to the socket's
 * peer.
 *
 * tg_ssl is an LRU hash: a link is not a counter. Losing one is never
 * silent: a write with bytes and no link counts in TG_STAT_TLS_MISS, and a
 * socket that was linked before and finds its link gone has lost its
 * stream (TG_STAT_HTTP_DESYNC).
 *
 * The raw parser still sees the handshake records: a stream that begins
 * with a TLS handshake record counts in TG_STAT_TLS rather than as not
 * HTTP; TG_STAT_TLS less TG_STAT_TLS_HOOKED is the TLS connections whose
 * handshake no hook saw (a library not hooked, a process hooked after it
 * accepted them).
 *
 * Only the peer's row gets a TLS call at once: the socket's own row
 * (socket storage) gets it at the socket's next receive, from
 * tg_tls_pend.
 *
 * tls_recv() is the receive program's part here, before calls_recv();
 * tls_hs_enter(), tls_hs_exit(), tls_write_enter() and tls_write_exit()
 * are the whole of the handshake and SSL_write hooks.
 */
#ifndef TOLLGATE_TLS_BPF_H
#define TOLLGATE_TLS_BPF_H

#include "calls.bpf.h"
#include "maps.bpf.h"

/* Calls counted on @st's peer since its last receive go to its own row. */
static __always_inline void tls_pending(struct tg_sock *st)
{
	__u64 *p = bpf_map_lookup_elem(&tg_tls_pend, &st->cookie);
	__u64 calls;

	if (!p || !*p)
		return;
	calls = *p;
	__sync_fetch_and_sub(p, calls);
	__sync_fetch_and_add(&st->c.calls, calls);
}

/*
 * A receive on @st's socket: inside a hooked handshake of this thread,
 * link the SSL object to the socket, and on a counted client socket keep
 * the ciphertext from the raw parser. Returns true when the receive is
 * ciphertext of a hooked TLS socket, which the raw parser must not see.
 */
__noinline int tls_recv(struct tg_sock *st)
{
	struct tg_ssl_key key = {};
	struct tg_tls_task *tt;
	struct tg_ssl *e, n = {};

	if (!st)
		return false;

	tt = bpf_task_storage_get(&tg_tls_task, bpf_get_current_task_btf(),
				  0, 0);
	if (!tt || !tt->hs) {
		/* Outside a handshake: a hooked socket's requests (read by
		 * SSL_read, which is not hooked) or shutdown records. */
		if (!(st->flags & TG_SOCK_TLS_HOOKED))
			return false;
		tls_pending(st);
		return true;
	}

	key.ssl = tt->hs;
	key.tgid = bpf_get_current_pid_tgid() >> 32;
	e = bpf_map_lookup_elem(&tg_ssl, &key);
	if (!(st->flags & TG_SOCK_CALLS) || st->role != TG_ROLE_CLIENT) {
		/* TLS to a backend, or a client connection whose start was
		 * not seen: known, and not counted, as in clear. */
		if (!e || e->cookie != st->cookie) {
			n.cookie = st->cookie;
			n.peer = st->peer;
			n.http.state = TG_HTTP_OTHER;
			bpf_map_update_elem(&tg_ssl, &key, &n, BPF_ANY);
		}
		return false;
	}
	if (!e || e->cookie != st->cookie) {
		n.cookie = st->cookie;
		if (st->flags & TG_SOCK_TLS_HOOKED) {
			/* Linked before, the link is gone: the stream
			 * between is lost. */
			if (tg_http_desync(&n.http) == TG_HTTP_EV_DESYNC)
				stat_inc(TG_STAT_HTTP_DESYNC);
		} else {
			tls_seen(st);
			st->flags |= TG_SOCK_TLS_HOOKED;
			/* Its ClientHello may still be read for the SNI,
			 * nothing after it. */
			if (st->http.state != TG_HTTP_TLS)
				st->http.state = TG_HTTP_OTHER;
			stat_inc(TG_STAT_TLS_HOOKED);
		}
		bpf_map_update_elem(&tg_ssl, &key, &n, BPF_ANY);
		e = bpf_map_lookup_elem(&tg_ssl, &key);
		if (!e)
			return true;
	}
	/* The socket's peer under the service it counts under now (its
	 * SNI's, once read): a slot cached for another is looked up. */
	e->peer = st->peer;
	e->peer.svc = st->svc;
	e->peer_slot = st->peer.svc == st->svc ? st->peer_slot : 0;
	e->peer_epoch = st->peer_epoch;
	tls_pending(st);
	return true;
}

/* The calls of a TLS socket's peer, from its slot in tg_ssl (looked up,
 * or made, and cached there when the cache does not hold,
 * cache_holds()); and the same for the socket's own row, at its next
 * receive. */
static __always_inline void tls_count(struct tg_ssl *e, __u64 calls)
{
	__u64 t = bpf_ktime_get_ns(), *p;
	struct tg_banked *v;
	struct tg_now n;

	now_at(&n, t);
	if (!cache_holds(e->peer_slot, e->peer_epoch, n.epoch, &e->peer)) {
		e->peer_slot = peer_slot_at(&e->peer, t);
		e->peer_epoch = n.epoch;
	}
	v = peer_counters(e->peer_slot, &e->peer);
	if (v)
		__sync_fetch_and_add(&bank_of(v, n.bank)->calls, calls);
	p = bpf_map_lookup_elem(&tg_tls_pend, &e->cookie);
	if (p)
		__sync_fetch_and_add(p, calls);
	else if (bpf_map_update_elem(&tg_tls_pend, &e->cookie, &calls,
				     BPF_NOEXIST) &&
		 (p = bpf_map_lookup_elem(&tg_tls_pend, &e->cookie)))
		__sync_fetch_and_add(p, calls);
}

/* The thread's TLS notes, made if @create. */
static __always_inline struct tg_tls_task *tls_task(bool create)
{
	return bpf_task_storage_get(&tg_tls_task, bpf_get_current_task_btf(),
				    0, create ? BPF_LOCAL_STORAGE_GET_F_CREATE :
						0);
}

/* An SSL_do_handshake of a metered thread begins: its reads link @ssl. */
static __always_inline int tls_hs_enter(__u64 ssl)
{
	struct tg_tls_task *tt;

	if (bpf_current_task_under_cgroup(&tg_cgroup, 0) != 1)
		return 0;
	tt = tls_task(true);
	if (tt)
		tt->hs = ssl;
	return 0;
}

/* It returns: later reads of the thread are no handshake's. */
static __always_inline int tls_hs_exit(void)
{
	struct tg_tls_task *tt = tls_task(false);

	if (tt)
		tt->hs = 0;
	return 0;
}

/* An SSL_write or SSL_write_ex of a metered thread begins: note it. */
static __always_inline int tls_write_enter(__u64 ssl, __u64 buf,
					   __u64 written)
{
	struct tg_tls_task *tt;

	if (bpf_current_task_under_cgroup(&tg_cgroup, 0) != 1)
		return 0;
	tt = tls_task(true);
	if (!tt)
		return 0;
	tt->ssl = ssl;
	tt->buf = buf;
	tt->written = written;
	return 0;
}

/* SSL_write returns: @ok is whether it wrote anything, @ret the bytes
 * (SSL_write) or 0 to take them from SSL_write_ex's count. */
static __noinline int tls_write_exit(bool ok, __u64 ret)
{
	struct tg_ssl_key key = {};
	struct tg_tls_task *tt;
	struct tg_task *t;
	struct tg_ssl *e;
	struct seg g;
	__u64 buf, n = ret;

	tt = tls_task(false);
	if (!tt || !tt->ssl)
		return 0;
	key.ssl = tt->ssl;
	key.tgid = bpf_get_current_pid_tgid() >> 32;
	buf = tt->buf;
	tt->ssl = 0;
	if (!ok)
		return 0;	/* a retry passes the same bytes again */
	if (tt->written &&
	    bpf_probe_read_user(&n, sizeof(n), (void *)tt->written))
		n = 0;
	if (!n)
		return 0;
	e = bpf_map_lookup_elem(&tg_ssl, &key);
	if (!e) {
		/* Bytes of a connection whose handshake no hook saw, or
		 * whose link was lost. */
		stat_inc(TG_STAT_TLS_MISS);
		return 0;
	}
	if (tg_http_done(&e->http))
		return 0;
	t = bpf_task_storage_get(&tg_task, bpf_get_current_task_btf(), 0,
				 BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!t)
		return 0;
	t->calls = 0;
	t->ev = 0;
	g.t = t;
	g.h = &e->http;
	g.resp = 1;
	g.st = NULL;
	g.ns = NULL;
	seg_parse(&g, buf, n > 0x7fffffff ? 0x7fffffff : n);
	if (t->calls)
		tls_count(e, t->calls);
	if (t->ev == TG_HTTP_EV_DESYNC)
		stat_inc(TG_STAT_HTTP_DESYNC);
	else if (t->ev == TG_HTTP_EV_OTHER || t->ev == TG_HTTP_EV_TLS)
		stat_inc(TG_STAT_HTTP_OTHER);
	return 0;
}

#endif /* TOLLGATE_TLS_BPF_H */
