/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * hash.h - the one hash function of user space: 64-bit FNV-1a, for the
 * open-addressing tables of every stage (peers, label sets, names).
 * Not for anything an adversary may choose to collide on purpose at
 * scale without a bound on the table's probe length.
 */
#ifndef TOLLGATE_HASH_H
#define TOLLGATE_HASH_H

#include <stddef.h>
#include <string.h>
#include <linux/types.h>

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

/* Fold @n bytes at @p into hash @h (start from FNV_OFFSET). */
static inline __u64 fnv_bytes(__u64 h, const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n--)
		h = (h ^ *b++) * FNV_PRIME;
	return h;
}

/* Fold string @s, its terminating NUL included (so that "a","b" and
 * "ab","" differ), into @h. */
static inline __u64 fnv_str(__u64 h, const char *s)
{
	return fnv_bytes(h, s, strlen(s) + 1);
}

#endif /* TOLLGATE_HASH_H */
