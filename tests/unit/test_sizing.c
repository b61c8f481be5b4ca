// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_sizing.c - the default --max-peers follows its 64 MiB budget on
 * any number of CPUs: the table of defaults in docs/counting.md, and for every CPU
 * count from 1 to 4096 the largest number of slots whose counters, slot
 * records, hash entries and free queues (160 bytes of counters per CPU,
 * 40 of slot, 125 of the rest at most) fit in 64 MiB, never under 1,024
 * nor over 1,048,576. What the kernel charges for them is
 * tests/bpf/test_slot_memory.c's to check.
 * The CPU count is libbpf's, replaced here by a wrapper.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "load/loader.h"

static int cpus;

int __wrap_libbpf_num_possible_cpus(void);
int __wrap_libbpf_num_possible_cpus(void)
{
	return cpus;
}

#define BUDGET		(64ULL << 20)
#define PER_SLOT(c)	(160ULL * (c) + 40 + 125)

/* docs/counting.md's table ("Peer slots: sizing and pressure"). */
static void test_readme_table(void **state)
{
	static const struct { int cpus; __u32 slots; } t[] = {
		{ 1, 206488 }, { 2, 138368 }, { 4, 83365 }, { 8, 46442 },
		{ 16, 24627 }, { 64, 6449 }, { 512, 1024 }, { 4096, 1024 },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		cpus = t[i].cpus;
		assert_int_equal(meter_default_peers(), t[i].slots);
	}
}

/* The largest count that fits, clamped. */
static void test_budget(void **state)
{
	__u32 n;

	for (cpus = 1; cpus <= 4096; cpus++) {
		n = meter_default_peers();
		assert_true(n >= 1024 && n <= (1u << 20));
		if (n > 1024)
			assert_true(n * PER_SLOT(cpus) <= BUDGET);
		if (n < (1u << 20))
			assert_true((n + 1) * PER_SLOT(cpus) > BUDGET);
	}
}

/* libbpf cannot tell: one CPU's worth, never zero or a division by it. */
static void test_cpus_unknown(void **state)
{
	cpus = -2;
	assert_int_equal(meter_default_peers(), 206488);
	cpus = 0;
	assert_int_equal(meter_default_peers(), 206488);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_readme_table),
		cmocka_unit_test(test_budget),
		cmocka_unit_test(test_cpus_unknown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
