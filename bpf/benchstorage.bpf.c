// SPDX-License-Identifier: GPL-2.0
/*
 * benchstorage.bpf.c - the count stage, in the kernel, for `make bench` only:
 * the meter's per-packet programs stopped once a connected TCP socket's
 * storage is found and read, beside its sock_ops program as it is.
 *
 * Attached in place of the meter under real load, they tell what the fast
 * path costs up to that step (tests/bench/run.sh, "Where the time goes").
 * The programs are meter.bpf.c's, from the same parts (bytes.bpf.h,
 * maps.bpf.h); nothing else differs. Never part of the agent.
 */
#define TG_BENCH_STOP 2

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

SEC("sockops")
int tg_sockops(struct bpf_sock_ops *skops)
{
	return sockops_role(skops);
}

char LICENSE[] SEC("license") = "GPL";
