// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_slot_memory.c - what the kernel charges for the peer slots (memlock
 * in the maps' fdinfo) of the maps --max-peers sizes against what the
 * documentation says: 160 bytes per CPU and 149 to 165 more per slot,
 * and the default --max-peers within its 64 MiB budget, not above it. The
 * meter is loaded with the default size, nothing attached or pinned.
 * Needs root.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>
#include <cmocka.h>
#include <bpf/libbpf.h>

#include "lib/log.h"
#include "load/loader.h"
#include "memlock.h"

static void test_default(void **state)
{
	static const char *const maps[] = { TG_MAP_PEER_IDX, TG_MAP_PEER_CNT,
					    TG_MAP_SLOT, TG_MAP_FREE,
					    TG_MAP_FREE_BE };
	int ncpus = libbpf_num_possible_cpus();
	unsigned long long total = 0, m, budget = 64ULL << 20;
	double per, lo, hi;
	struct meter *mt;
	__u32 n = meter_default_peers();
	size_t i;
	int err;

	if (geteuid() != 0) {
		print_message("skip: loading BPF programs needs root\n");
		skip();
	}
	err = meter_load(&mt, &(struct meter_opts){ .no_calls = true });
	if (err == -EPERM) {
		print_message("skip: BPF not permitted here\n");
		skip();
	}
	assert_int_equal(err, 0);
	for (i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		m = map_memlock(meter_map_fd(mt, maps[i]));
		assert_true(m > 0);
		total += m;
	}
	meter_free(mt);
	per = (double)total / n;
	lo = 160.0 * ncpus + 149;
	hi = 160.0 * ncpus + 165;
	print_message("%d CPUs: %u slots by default, %.1f MiB, %.1f bytes per "
		      "slot (docs/counting.md: %.0f to %.0f)\n", ncpus, n,
		      total / 1048576.0, per, lo, hi);
	/* 160 x CPUs + 149 to 165, as many slots share the hash's buckets;
	 * a byte more either side for what each map charges once. */
	assert_true(per >= lo - 1 && per <= hi + 1);
	/* The budget: never above it, and not far under, unless the
	 * minimum of 1,024 slots is what it is. */
	if (n > 1024)
		assert_true(total <= budget && total >= budget * 0.95);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default),
	};

	log_setup(0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
