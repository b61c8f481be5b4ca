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
 * Each receive of a socket's reader: the TLS hooks' link first (the
 * ciphertext of a hooked TLS socket is no stream for the raw parser), then
 * the raw stream's calls.
 */
SEC("tp_btf/sock_recv_length")
int BPF_PROG(tg_recv, struct sock *sk, int ret, int flags)
{
	struct tg_sock *st;

	/* Peeked bytes are received again; the error queue is no stream. */
	if (ret <= 0 || (flags & (MSG_PEEK | MSG_ERRQUEUE)))
		return 0;
	st = bpf_sk_storage_get(&tg_sock, sk, 0, 0);
	if (!st || tls_recv(st))
		return 0;
	calls_recv(sk, st, ret, flags);
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
