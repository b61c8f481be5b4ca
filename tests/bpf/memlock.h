/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * memlock.h - the memory the kernel charges for a BPF map, as it says in
 * the map's fdinfo (memlock), not as tollgate estimates it. Shared by the
 * slot memory test (test_slot_memory.c) and the collection benchmark
 * (tests/bench/bench_collect.c), so both measure the same way.
 */
#ifndef TOLLGATE_TESTS_MEMLOCK_H
#define TOLLGATE_TESTS_MEMLOCK_H

#include <stdio.h>

/* The memory the kernel charges for map @fd (memlock in its fdinfo), in
 * bytes; 0 when it says none. */
static unsigned long long map_memlock(int fd)
{
	unsigned long long v = 0;
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %llu", &v) == 1)
			break;
	fclose(f);
	return v;
}

#endif
