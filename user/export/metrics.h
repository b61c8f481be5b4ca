/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * metrics.h - the export stage's Prometheus metrics: the interval's
 * classified usage added up into bounded series, the health of the meter
 * and of the agent, and the cost of the month so far.
 *
 * The collection loop owns a struct metrics. After every interval it hands
 * over the usage rows (collect/usage.h: each kernel counter set, classified
 * once, with what it counted since the last interval); each row's delta
 * is added to the series of its label set: traffic_type, tenant, service,
 * backend, peer_region, network, role. Never one series per peer: label
 * sets are admitted up to max_series per family, for as long as the agent
 * runs, and a label set that comes later adds to the series whose labels
 * are all "other", so the families always add up to the kernel's totals.
 * Because deltas are classified, a reload that changes a peer's labels
 * moves its later bytes to the new series and leaves the old one where it
 * was: no series ever goes down while the agent runs.
 *
 * The agent reports what happens to it through calls (a reload, a ledger
 * commit, a failed read, the programs' statistics); metrics_render()
 * writes the page in the Prometheus text format 0.0.4, and the loop hands
 * it to the endpoint (export/serve.h), whose own threads answer scrapes
 * from the last page published and never touch a BPF map.
 */
#ifndef TOLLGATE_METRICS_H
#define TOLLGATE_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>
#include <linux/types.h>

#include "collect/usage.h"
#include "ledger/ledger.h"
#include "load/loader.h"
#include "rate/rate.h"

#define TG_METRICS_LISTEN	"127.0.0.1:9109"
#define TG_METRICS_MAX_SERIES	1000
#define TG_METRICS_OTHER	"other"

/* The labels of a traffic series, in the order they are printed. */
enum {
	ML_TRAFFIC_TYPE,
	ML_TENANT,
	ML_SERVICE,
	ML_BACKEND,
	ML_PEER_REGION,
	ML_NETWORK,
	ML_ROLE,
	ML_NR
};

/* Traffic families: gateway to peer, peer to gateway. */
#define METRICS_TX	0
#define METRICS_RX	1

/* What the agent knows about itself, as the calls below report it. */
struct metrics_health {
	__u64 peers;			/* peer map entries in use */
	__u64 capacity;			/* peer map slots */
	__u64 backend_capacity;		/* of those, the backends' range */
	__u64 backend_peers;		/* of peers, backends */
	__u64 limbo;			/* of peers, slots being reclaimed */
	__u64 free;			/* slots handed out once, free now */
	__u64 reclaimed;		/* slots reclaimed, ever */
	__u64 insert_failures;		/* TG_STAT_PEER_FULL */
	__u64 http_desync;		/* TG_STAT_HTTP_DESYNC */
	__u64 http_other;		/* TG_STAT_HTTP_OTHER */
	__u64 name_unmatched;		/* TG_STAT_NAME_UNMATCHED */
	__u64 name_switch;		/* TG_STAT_NAME_SWITCH */
	__u64 name_lost;		/* TG_STAT_NAME_LOST */
	struct tg_counters overflow[TG_NR_ROLES][OVF_NR];
	bool have_progs;
	struct meter_prog_stat progs[METER_NR_PROGS];
	double collection_seconds;	/* how long the last collection took */
	double collection_time;		/* Unix time of the last success; 0 */
	__u64 collection_failures;
	bool reload_ok;			/* the last (re)load succeeded */
	double reload_time;		/* Unix time of the last successful
					 * (re)load of the configuration */
	__u64 reload_failures;
	bool ledger;			/* the agent books into a ledger */
	__u64 ledger_errors;		/* commits that failed */
	double ledger_time;		/* Unix time of the last commit; 0 */
};

struct metrics;

/* A new exporter state with room for @max_series label sets per family
 * (0: TG_METRICS_MAX_SERIES). NULL with errno set when out of memory. */
struct metrics *metrics_new(__u32 max_series);
void metrics_free(struct metrics *m);

/* Change the cap; label sets already admitted stay. */
void metrics_set_max_series(struct metrics *m, __u32 max_series);

/*
 * Add @bytes, @packets and @calls to family @dir's series of @labels
 * (ML_NR strings, "" when unknown), admitting the label set if there is
 * room, else adding to the "other" series. Returns the series' index
 * (>= 0) or -ENOMEM. metrics_collected() calls it; so do tests.
 */
int metrics_add(struct metrics *m, int dir, const char *const labels[ML_NR],
		__u64 bytes, __u64 packets, __u64 calls);

/*
 * Account one interval: add each usage row's delta (@l) to its series,
 * and take the peer map's figures from snapshot @s, which the rows were
 * made of, and @seconds as the collection's duration. Returns 0 or
 * -ENOMEM (rows before the failing one are added).
 */
int metrics_collected(struct metrics *m, const struct usage_list *l,
		      const struct snapshot *s, double seconds);

/* A collection that could not read the kernel counters. */
void metrics_collection_failed(struct metrics *m);

/* The agent books a ledger: the page carries the ledger's health. */
void metrics_booking(struct metrics *m);

/* A ledger commit succeeded (@ok) or failed. */
void metrics_committed(struct metrics *m, bool ok);

/* The configuration was (re)loaded (@ok), or a reload was refused. */
void metrics_reloaded(struct metrics *m, bool ok);

/* The programs' run-time statistics (load/loader.h); @st NULL: none. */
void metrics_programs(struct metrics *m, const struct meter_prog_stat *st,
		      int nr);

/*
 * Rate the current month of ledger @l under plan @p at Unix time @now and
 * keep each tenant's cost of today and of the month for the next render.
 * A failure (logged) leaves the cost out of the page. Returns 0 or -Exxx.
 */
int metrics_rate(struct metrics *m, struct ledger *l, const struct plan *p,
		 time_t now);

/* Forget the cost: no cost families in the page. */
void metrics_no_cost(struct metrics *m);

/*
 * Render the page in the Prometheus text format into a new buffer
 * (*@out, *@len; free() it). Returns 0 or -ENOMEM.
 */
int metrics_render(const struct metrics *m, char **out, size_t *len);

/* Series in family @dir, "other" included. */
size_t metrics_nr_series(const struct metrics *m, int dir);

/*
 * Write @s into @buf as a label value: backslash, double quote and line
 * feed escaped, invalid UTF-8 replaced by U+FFFD. Returns the length it
 * needs (like snprintf: the output is cut when that is >= @len).
 */
size_t metrics_escape_label(char *buf, size_t len, const char *s);

#endif /* TOLLGATE_METRICS_H */
