/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tls.bpf.h - the count stage, in the kernel: API calls of TLS frontends,
 * counted in the stream their TLS library decrypts.
 *
 * A TLS frontend's requests are in the stream its TLS library decrypts,
 * which the loader hooks with uprobes on SSL_read and SSL_read_ex (and
 * their returns) in every library file the metered processes map; a
 * uprobe is on the file, so processes started later are covered too.
 *
 * Uprobes see the SSL object and the buffer but not the socket, and
 * cannot reach socket storage; the receive hook sees the socket. So:
 * tg_ssl_read notes the SSL_read in flight for the thread (tg_tls_task);
 * the read(2) that the library makes inside it reaches tg_recv, which,
 * finding an SSL_read in flight on a counted client socket, marks the
 * socket as TLS (its ciphertext is no stream for the raw parser) and
 * links the SSL object to the socket in tg_ssl: cookie, peer slot, and
 * the parser state of the decrypted stream. At the return, the bytes
 * SSL_read hands the caller are parsed on that state, and their calls
 * added to the socket's peer. An SSL_read served from the library's own
 * buffer makes no syscall and finds the link made by an earlier one.
 *
 * tg_ssl is an LRU hash: a link is not a counter. Losing one is never
 * silent: a return with bytes and no link counts in TG_STAT_TLS_MISS,
 * and a socket that was linked before and finds its link gone has lost
 * its stream (TG_STAT_HTTP_DESYNC). SSL_free drops the link, so a new
 * connection's SSL object at the same address starts afresh.
 *
 * The raw parser still sees the handshake, read outside SSL_read: a
 * stream that begins with a TLS handshake record counts in TG_STAT_TLS
 * rather than as not HTTP; TG_STAT_TLS less TG_STAT_TLS_HOOKED is the
 * TLS connections whose decrypted stream no hook saw.
 *
 * Only the peer's row gets a TLS call at once: the socket's own row
 * (socket storage) gets it at the socket's next receive within SSL_read.
 *
 * tls_recv() is the receive program's part here, before calls_recv();
 * tls_enter(), tls_exit() and tls_free() are the whole of the SSL_read,
 * SSL_read_ex and SSL_free hooks.
 */
#ifndef TOLLGATE_TLS_BPF_H
#define TOLLGATE_TLS_BPF_H

#include "calls.bpf.h"
#include "maps.bpf.h"

/*
 * A receive on @st's socket: inside a hooked SSL_read of this thread,
 * link the SSL object to the socket, and on a counted client socket keep
 * the ciphertext from the raw parser. Returns true when the receive is
 * ciphertext of a hooked TLS socket, which the raw parser must not see.
 */
static __noinline bool tls_recv(struct tg_sock *st)
{
	struct tg_ssl_key key = {};
	struct tg_tls_task *tt;
	struct tg_ssl *e, n = {};
	__u64 calls;

	tt = bpf_task_storage_get(&tg_tls_task, bpf_get_current_task_btf(),
				  0, 0);
	if (!tt || !tt->ssl)
		/* Outside SSL_read: a hooked socket's handshake or
		 * shutdown records. */
		return st->flags & TG_SOCK_TLS_HOOKED;

	key.ssl = tt->ssl;
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
			st->http.state = TG_HTTP_OTHER;
			stat_inc(TG_STAT_TLS_HOOKED);
		}
		bpf_map_update_elem(&tg_ssl, &key, &n, BPF_ANY);
		e = bpf_map_lookup_elem(&tg_ssl, &key);
		if (!e)
			return true;
	}
	e->peer_slot = st->peer_slot;
	e->peer_epoch = st->peer_epoch;
	e->peer = st->peer;
	calls = e->pending;
	if (calls) {
		__sync_fetch_and_sub(&e->pending, calls);
		__sync_fetch_and_add(&st->c.calls, calls);
	}
	return true;
}

/* The calls of a TLS socket's peer, from its slot in tg_ssl. */
static __always_inline void tls_count(const struct tg_ssl *e, __u64 calls)
{
	peer_add_calls(&e->peer, e->peer_slot, e->peer_epoch, calls);
}

/* An SSL_read or SSL_read_ex of a metered thread begins: note it. */
static __always_inline int tls_enter(__u64 ssl, __u64 buf, __u64 readbytes)
{
	struct tg_tls_task *tt;

	if (bpf_current_task_under_cgroup(&tg_cgroup, 0) != 1)
		return 0;
	tt = bpf_task_storage_get(&tg_tls_task, bpf_get_current_task_btf(),
				  0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!tt)
		return 0;
	tt->ssl = ssl;
	tt->buf = buf;
	tt->readbytes = readbytes;
	return 0;
}

/* SSL_read returns: @ok is whether it read anything, @ret the bytes
 * (SSL_read) or 0 to take them from SSL_read_ex's count. */
static __noinline int tls_exit(bool ok, __u64 ret)
{
	struct tg_ssl_key key = {};
	struct tg_tls_task *tt;
	struct tg_task *t;
	struct tg_ssl *e;
	struct seg g;
	__u64 buf, n = ret;

	tt = bpf_task_storage_get(&tg_tls_task, bpf_get_current_task_btf(),
				  0, 0);
	if (!tt || !tt->ssl)
		return 0;
	key.ssl = tt->ssl;
	key.tgid = bpf_get_current_pid_tgid() >> 32;
	buf = tt->buf;
	tt->ssl = 0;
	if (!ok)
		return 0;
	if (tt->readbytes &&
	    bpf_probe_read_user(&n, sizeof(n), (void *)tt->readbytes))
		n = 0;
	if (!n)
		return 0;
	e = bpf_map_lookup_elem(&tg_ssl, &key);
	if (!e) {
		/* Decrypted bytes of a connection whose socket is not
		 * known: not a counted client, or a link lost. */
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
	seg_parse(&g, buf, n > 0x7fffffff ? 0x7fffffff : n);
	if (t->calls) {
		__sync_fetch_and_add(&e->pending, t->calls);
		tls_count(e, t->calls);
	}
	if (t->ev == TG_HTTP_EV_DESYNC)
		stat_inc(TG_STAT_HTTP_DESYNC);
	else if (t->ev == TG_HTTP_EV_OTHER || t->ev == TG_HTTP_EV_TLS)
		stat_inc(TG_STAT_HTTP_OTHER);
	return 0;
}

/* SSL_free(@ssl): the object's address may serve a new connection next;
 * its link must not. */
static __always_inline int tls_free(__u64 ssl)
{
	struct tg_ssl_key key = {};

	if (bpf_current_task_under_cgroup(&tg_cgroup, 0) != 1)
		return 0;
	key.ssl = ssl;
	key.tgid = bpf_get_current_pid_tgid() >> 32;
	bpf_map_delete_elem(&tg_ssl, &key);
	return 0;
}

#endif /* TOLLGATE_TLS_BPF_H */
