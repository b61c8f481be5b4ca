// SPDX-License-Identifier: GPL-2.0
/*
 * benchsocket.bpf.c - the meter, stopped once the packet's full socket is known,
 * for `make bench`: attached in place of the meter under real load, it
 * tells what the fast path costs up to that step (tests/bench/run.sh,
 * "Where the time goes"). Nothing else differs. Never part of the agent.
 */
#define TG_BENCH_STOP 1
#include "meter.bpf.c"
