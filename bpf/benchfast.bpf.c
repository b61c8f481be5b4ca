// SPDX-License-Identifier: GPL-2.0
/*
 * benchfast.bpf.c - the count stage, in the kernel, for `make bench` only:
 * the meter's per-packet programs, built again to measure their fast path
 * with BPF_PROG_TEST_RUN.
 *
 * The fast path is taken by connected TCP sockets only, and a test run's
 * skb carries a socket the kernel makes up, with no protocol. Built with
 * TG_FIXED_PROTO 0, the meter treats that socket as the real meter treats a
 * connected TCP socket: the first run finds the peer and caches its slot,
 * every later run of the same call takes the fast path. The programs are
 * meter.bpf.c's, from the same parts (bytes.bpf.h, maps.bpf.h); nothing
 * else differs. Never part of the agent.
 */
#define TG_FIXED_PROTO 0

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "maps.bpf.h"
#include "bytes.bpf.h"

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

char LICENSE[] SEC("license") = "GPL";
