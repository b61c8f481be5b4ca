/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * unmatched.h - the collect stage: the names clients gave that no host of
 * the configuration matched (tg_unmatched), for the operator to add.
 */
#ifndef TOLLGATE_UNMATCHED_H
#define TOLLGATE_UNMATCHED_H

#include <stddef.h>
#include <linux/types.h>

#include "meter.h"

/* The most recent of them are kept: a list, never a billing record. */
struct unmatched_name {
	char name[TG_NAME_BUF + 1];	/* lower case, NUL-terminated */
	__u16 port;			/* local frontend port */
	__u8 flags;			/* TG_UNM_* */
	__u64 count;			/* times seen while listed */
};

/*
 * The unmatched names of the maps pinned under @pin_dir into *@out (free()
 * it), *@n of them, the most seen first. Returns 0 or -errno.
 */
int unmatched_read(const char *pin_dir, struct unmatched_name **out,
		   size_t *n);

#endif /* TOLLGATE_UNMATCHED_H */
