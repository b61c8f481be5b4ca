// SPDX-License-Identifier: GPL-2.0
/*
 * sockiter.bpf.c - the count stage, in the kernel: list the live sockets'
 * counters.
 *
 * Socket-local storage cannot be walked with get_next_key from user space,
 * so `tollgate dump --by socket` runs this iterator over the pinned tg_sock
 * map; it writes one struct tg_sock per live socket, as is. It is a separate
 * object so that reading never loads the datapath programs, and it takes
 * only the socket-storage map (sock_storage.bpf.h), not the meter's others.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "sock_storage.bpf.h"

SEC("iter/bpf_sk_storage_map")
int tg_sock_iter(struct bpf_iter__bpf_sk_storage_map *ctx)
{
	struct tg_sock *st = ctx->value;

	if (!ctx->sk || !st)
		return 0;
	bpf_seq_write(ctx->meta->seq, st, sizeof(*st));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
