// SPDX-License-Identifier: GPL-2.0
/*
 * bench.bpf.c - the count stage, in the kernel, for `make bench` only:
 * empty programs of the meter's three types.
 *
 * They do nothing but let the packet pass, so what they cost is the floor
 * every program of that type pays: the kernel's dispatch, and in a test run
 * the harness around it. The benchmark runs them side by side with the
 * meter's programs, on the same packets and attached to the same cgroup,
 * and reports the meter's cost above them. Never part of the agent.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("cgroup_skb/ingress")
int bench_ingress(struct __sk_buff *skb)
{
	return 1;
}

SEC("cgroup_skb/egress")
int bench_egress(struct __sk_buff *skb)
{
	return 1;
}

SEC("sockops")
int bench_sockops(struct bpf_sock_ops *skops)
{
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
