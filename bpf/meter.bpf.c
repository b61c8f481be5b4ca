// SPDX-License-Identifier: GPL-2.0
/*
 * meter.bpf.c - the count stage, in the kernel: the meter's programs, as
 * the agent loads them.
 *
 * Each program only combines the parts that do the work: bytes and packets
 * per socket and per peer (bytes.bpf.h: the cgroup_skb programs and
 * sock_ops), API calls in the stream a socket's reader receives
 * (calls.bpf.h: the sock_recv_length tracepoint), API calls of TLS
 * frontends in the stream their TLS library encrypts (tls.bpf.h: uprobes on
 * SSL_write, SSL_write_ex and SSL_do_handshake, and the same receive), and
 * the packets the kernel sends and receives for metered connections whose
 * socket is gone or in TIME_WAIT (closed.bpf.h: sock_ops, and the reset
 * and drop tracepoints). Their maps and the globals the loader sets are in
 * maps.bpf.h; the pinned-map ABI is include/meter.h. The calls are counted
 * off the packet path (calls.bpf.h says why). The packet and sock_ops
 * programs return 1: tollgate observes, it never drops.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "maps.bpf.h"
#include "bytes.bpf.h"
#include "calls.bpf.h"
#include "names.bpf.h"
#include "tls.bpf.h"
#include "closed.bpf.h"

SEC("cgroup_skb/ingress")
int tg_ingress(struct __sk_buff *skb)
{
	return meter(skb, false);
}

SEC("cgroup_skb/egress")
int tg_egress(struct __sk_buff *skb)
{
	return meter(skb, true);
}

/* TCP sockets opened, accepted, changing state: the side each faces, and
 * the closing ones remembered in tg_closed. */
SEC("sockops")
int tg_sockops(struct bpf_sock_ops *skops)
{
	int ret = sockops_role(skops);

	closed_sockops(skops);
	return ret;
}

/*
 * A counted socket whose stream began as cleartext HTTP and still parses:
 * no handshake reads it, and no SSL_write encrypts its responses, so the
 * TLS hooks' link is not looked for (a task storage lookup on each
 * receive). A stream that turns to TLS after all desynchronizes the
 * parser first, and is looked for again from then on.
 */
static __always_inline bool clear_http(const struct tg_sock *st)
{
	return (st->flags & (TG_SOCK_CALLS | TG_SOCK_TLS |
			     TG_SOCK_TLS_HOOKED)) == TG_SOCK_CALLS &&
	       (st->http.flags & TG_HTTP_F_STARTED) && !tg_http_done(&st->http);
}

/*
 * Each receive of a socket's reader: the raw stream's calls and names
 * first (a TLS stream is read only as far as its ClientHello's SNI, and
 * stops there), then the TLS hooks' link, which takes the service the SNI
 * named.
 */
SEC("tp_btf/sock_recv_length")
int BPF_PROG(tg_recv, struct sock *sk, int ret, int flags)
{
	struct tg_sock *st;

	/* Peeked bytes are received again; the error queue is no stream. */
	if (ret <= 0 || (flags & (MSG_PEEK | MSG_ERRQUEUE)))
		return 0;
	/* The host's other sockets mostly have no local storage at all:
	 * one load tells, where the lookup is a helper call. */
	if (!sk->sk_bpf_storage)
		return 0;
	st = bpf_sk_storage_get(&tg_sock, sk, 0, 0);
	if (!st)
		return 0;
	calls_recv(sk, st, ret, flags);
	/* (The benchmark's builds that stop before the parse never learn
	 * the stream is cleartext; they follow the agent's path on one.) */
	if (!clear_http(st) && !TG_RECV_STOP)
		tls_recv(st);
	return 0;
}

/* int SSL_write(SSL *ssl, const void *buf, int num) */
SEC("uprobe")
int BPF_KPROBE(tg_ssl_write, void *ssl, void *buf)
{
	return tls_write_enter((__u64)ssl, (__u64)buf, 0);
}

SEC("uretprobe")
int BPF_KRETPROBE(tg_ssl_write_ret, int ret)
{
	return tls_write_exit(ret > 0, ret > 0 ? ret : 0);
}

/* int SSL_write_ex(SSL *ssl, const void *buf, size_t num, size_t *written):
 * 1 when it wrote *written bytes. */
SEC("uprobe")
int BPF_KPROBE(tg_ssl_write_ex, void *ssl, void *buf, __u64 num,
	       __u64 *written)
{
	return tls_write_enter((__u64)ssl, (__u64)buf,
			       written ? (__u64)written : 0);
}

SEC("uretprobe")
int BPF_KRETPROBE(tg_ssl_write_ex_ret, int ret)
{
	return tls_write_exit(ret == 1, 0);
}

/* int SSL_do_handshake(SSL *ssl), which SSL_accept calls too */
SEC("uprobe")
int BPF_KPROBE(tg_ssl_hs, void *ssl)
{
	return tls_hs_enter((__u64)ssl);
}

SEC("uretprobe")
int BPF_KRETPROBE(tg_ssl_hs_ret)
{
	return tls_hs_exit();
}

/*
 * Handshakes that their connection never took (a SYN flood, a client
 * that gave up): after TG_STASH_AGE_NS without a packet, counted on their
 * port's service. The agent runs it every interval (BPF_PROG_TEST_RUN).
 * Returns how many it counted.
 */
struct sweep {
	__u64 now;
	__u32 n;
};

static long sweep_one(__u32 i, void *data)
{
	struct sweep *sw = data;
	struct tg_peer_key key = {};
	struct tg_stash *s;
	struct tg_pend c;
	__u16 cport;

	s = bpf_map_lookup_elem(&tg_stash, &i);
	if (!s || s->state != TG_STASH_USED || s->last_ns > sw->now ||
	    sw->now - s->last_ns < TG_STASH_AGE_NS)
		return 0;
	__builtin_memcpy(key.addr, s->addr, 16);
	key.port = s->lport;
	key.proto = IPPROTO_TCP;
	key.role = TG_ROLE_CLIENT;
	cport = s->cport;
	if (!stash_take(s, key.addr, cport, key.port, &c))
		return 0;
	pend_count(&key, &c, sw->now);
	sw->n++;
	return 0;
}

SEC("syscall")
int tg_sweep(void *ctx)
{
	struct sweep sw = { .now = bpf_ktime_get_ns() };

	bpf_loop(TG_STASH_SLOTS, sweep_one, &sw, 0);
	return sw.n;
}

/* The kernel answers a segment with a reset. */
SEC("tp_btf/tcp_send_reset")
int BPF_PROG(tg_close_reset, const struct sock *sk, const struct sk_buff *skb)
{
	return closed_reset(sk, skb);
}

/* The kernel frees a segment it dropped, with the socket that had it. */
SEC("tp_btf/kfree_skb")
int BPF_PROG(tg_close_drop, struct sk_buff *skb, void *location,
	     enum skb_drop_reason reason, struct sock *rx_sk)
{
	return closed_drop(skb, reason, rx_sk);
}

char LICENSE[] SEC("license") = "GPL";
