// SPDX-License-Identifier: GPL-2.0
/*
 * benchfast.bpf.c - the meter, built again for `make bench` to measure its
 * fast path with BPF_PROG_TEST_RUN.
 *
 * The fast path is taken by connected TCP sockets only, and a test run's
 * skb carries a socket the kernel makes up, with no protocol. Built with
 * TG_FIXED_PROTO 0, the meter treats that socket as the real meter treats a
 * connected TCP socket: the first run finds the peer and caches its slot,
 * every later run of the same call takes the fast path. Nothing else
 * differs. Never part of the agent.
 */
#define TG_FIXED_PROTO 0
#include "meter.bpf.c"
