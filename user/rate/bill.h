/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * bill.h - a rated month as people and programs read it: the bill as a
 * table, JSON or CSV.
 */
#ifndef TOLLGATE_BILL_H
#define TOLLGATE_BILL_H

#include <stdio.h>

#include "lib/util.h"
#include "rate/rate.h"

/* Print @b as a table, JSON or CSV. Returns 0 or -EIO. */
int bill_print(FILE *f, const struct bill *b, enum out_format fmt);

#endif /* TOLLGATE_BILL_H */
