// SPDX-License-Identifier: GPL-2.0
/*
 * benchtls.bpf.c - the count stage, in the kernel, for `make bench` only:
 * empty programs where the calls are counted.
 *
 * An empty uprobe on SSL_write (entry alone, or entry and return) and an
 * empty program on the receive tracepoint, attached the way the agent
 * attaches its own (the uprobes per process): what they cost is the floor
 * of counting calls there, the breakpoint trap and the tracepoint's
 * dispatch, against which the benchmark sets the agent's cost. Never part
 * of the agent.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

SEC("uprobe")
int bench_ssl_write(struct pt_regs *ctx)
{
	return 0;
}

SEC("uretprobe")
int bench_ssl_write_ret(struct pt_regs *ctx)
{
	return 0;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(bench_recv, struct sock *sk, int ret, int flags)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
