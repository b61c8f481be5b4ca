/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sock_storage.bpf.h - the count stage, in the kernel: tg_sock, each
 * socket's counters and state (struct tg_sock) in socket-local storage.
 *
 * The one definition of the map: the meter counts into it (maps.bpf.h
 * includes it with the rest of the meter's maps), and the socket iterator
 * (sockiter.bpf.c) reads the meter's instance through it, without bringing
 * along the meter's other maps.
 */
#ifndef TOLLGATE_SOCK_STORAGE_BPF_H
#define TOLLGATE_SOCK_STORAGE_BPF_H

#include "meter.h"

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct tg_sock);
} tg_sock SEC(".maps");

#endif /* TOLLGATE_SOCK_STORAGE_BPF_H */
