/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * status.h - the export stage's health report of the meter, from what
 * outlives the agent: the pins, the kernel maps behind them, the ledger.
 * See status.c for the checks and their levels.
 */
#ifndef TOLLGATE_STATUS_H
#define TOLLGATE_STATUS_H

#include <stdbool.h>
#include <stdio.h>
#include <linux/types.h>

#include "lib/util.h"

enum level { ST_OK, ST_WARN, ST_FAIL };

struct check {
	const char *name;
	enum level level;
	char detail[600];
};

#define NR_CHECKS 7

struct status {
	struct check c[NR_CHECKS];
	int nr;
	bool attached;
};

/*
 * Make every check of the meter pinned under @pin_dir and of the ledger
 * at @ledger (NULL: the agent books none), written every @interval
 * seconds by its agent, into @st.
 * Returns whether none failed.
 */
bool status_check(struct status *st, const char *pin_dir, const char *ledger,
		  __u32 interval);

/* Print @st (@ok: what status_check() returned) as a table or JSON. */
void status_print(FILE *f, const struct status *st, bool ok,
		  enum out_format fmt);

#endif /* TOLLGATE_STATUS_H */
