/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * month.h - the rate stage's month: a month of usage read from where it
 * is kept and rated, the one way for `tollgate rate` and the metrics'
 * cost of the month so far.
 *
 * Usage may come from ledger files of several hosts, from the agent's
 * open ledger and from the fleet ledger (PostgreSQL). They are merged row
 * by row: the same key (host, day, tenant, service, backend, traffic
 * type) in two sources is the same record, taken once. A day row is a
 * running total, so of two copies the later is never smaller in any
 * counter, and the field-wise maximum is the later copy whatever the
 * order. The free allowance of calls then applies per tenant across every
 * host of every source.
 */
#ifndef TOLLGATE_MONTH_H
#define TOLLGATE_MONTH_H

#include <time.h>

#include "ledger/ledger.h"
#include "rate/plan.h"
#include "rate/rate.h"

/* Where a month's usage is read from; any of them, at least one. */
struct rate_source {
	char *const *paths;	/* ledger files, opened read-only */
	int nr_paths;
	struct ledger *ledger;	/* an open ledger (the agent's own) */
	const char *db;		/* the fleet ledger's connection string */
};

/*
 * The month ("YYYY-MM") and the day ("YYYY-MM-DD") of Unix time @now in
 * plan @p's time zone, into @month (LEDGER_MONTH_SIZE bytes) and @day
 * (LEDGER_DAY_SIZE). Returns 0 or -Exxx after saying why.
 */
int rate_today(const struct plan *p, time_t now, char *month, char *day);

/*
 * Rate month @month ("YYYY-MM") of the usage in @src under plan @p, of
 * tenant @tenant only when not NULL: the month's rows of every source,
 * merged, summed per tenant, day and traffic type, rated into @b (free it
 * with bill_free()). Each ledger file must count days in the plan's time
 * zone. Says why it fails. Returns 0, -ENOENT (@tenant has no row in the
 * month: a misspelt name is never an empty bill), -EINVAL (not a month, a
 * row the plan cannot rate), -EOVERFLOW, or what reading a source
 * returns.
 */
int rate_usage(const struct plan *p, const char *month,
	       const struct rate_source *src, const char *tenant,
	       struct bill *b);

#endif /* TOLLGATE_MONTH_H */
