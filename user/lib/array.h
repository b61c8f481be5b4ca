/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * array.h - the one growable array of user space.
 *
 *	struct row *v = NULL;
 *	size_t nr = 0, cap = 0;
 *
 *	if (ARRAY_GROW(v, nr + 1, cap, 64))
 *		return -ENOMEM;
 *	v[nr++] = r;
 *
 * Capacity doubles from @first, so appending n elements costs O(n). On
 * failure the array is left as it was.
 */
#ifndef TOLLGATE_ARRAY_H
#define TOLLGATE_ARRAY_H

#include <errno.h>
#include <stdlib.h>

/*
 * Make room for at least @need elements in array @v (an lvalue pointer)
 * of capacity @cap (an lvalue size_t, updated); @first is the capacity of
 * a first allocation. Evaluates to 0 or -ENOMEM.
 */
#define ARRAY_GROW(v, need, cap, first)                                     \
	({                                                                  \
		size_t __need = (need), __cap = (cap);                      \
		int __err = 0;                                              \
		if (__need > __cap) {                                       \
			void *__p;                                          \
			if (!__cap)                                         \
				__cap = (first);                            \
			while (__cap < __need)                              \
				__cap *= 2;                                 \
			__p = reallocarray((v), __cap, sizeof(*(v)));       \
			if (__p) {                                          \
				(v) = __p;                                  \
				(cap) = __cap;                              \
			} else {                                            \
				__err = -ENOMEM;                            \
			}                                                   \
		}                                                           \
		__err;                                                      \
	})

#endif /* TOLLGATE_ARRAY_H */
