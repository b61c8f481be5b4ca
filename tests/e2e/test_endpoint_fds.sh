#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# test_endpoint_fds.sh - the metrics endpoint leaves the agent its
# descriptors under a low limit.
#
# The agent runs with RLIMIT_NOFILE 1024 (soft and hard, so it cannot
# raise it) while 125 clients (127.0.2.1-125) hold 1,000 slow-loris
# connections, 8 each. The endpoint must cap itself below the limit, so
# that every interval the agent still opens what it opens (the ledger's
# time zone, to rate the month): no "cannot" in its log, no "Too many
# open files", the cost gauges stay on the page, collection goes on, the
# agent holds fewer than 1,024 descriptors, and a scrape from 127.0.0.1
# is answered (a connection waiting for its head makes room).
# shellcheck source=lib.sh
. "${0%/*}/lib.sh" || exit 1

tg_init curl python3 prlimit
tg_cgroup_setup
flood=${0%/*}/flood.py

TG_AGENT_WRAP=(prlimit --nofile=1024:1024 --)
tg_agent_start
[ -n "$TG_METRICS_PORT" ] || tg_die "no metrics port: $(cat "$TG_AGENT_LOG")"
url=http://127.0.0.1:$TG_METRICS_PORT/metrics
ts_metric=tollgate_collection_last_success_timestamp_seconds
last_collection()
{
	curl -s --max-time 5 "$url" | awk -v m="$ts_metric" '$1 == m { printf "%d\n", $2 }'
}
grep 'metrics: at most' "$TG_AGENT_LOG"

python3 "$flood" slow "$TG_METRICS_PORT" 127.0.2.1-127.0.2.125 1000 20 \
	>"$TG_TMP/flood.log" 2>&1 &
fpid=$!
TG_PIDS+=("$fpid")
# Measured once every one of the 1,000 has been opened: the endpoint is
# then at its cap.
tg_wait_log "$TG_TMP/flood.log" '^under way' ||
	tg_fail "the flood did not get going"
c0=$(last_collection)
fds_max=0 answered=0 probes=0
for _ in $(seq 10); do
	fds=$(ls "/proc/$TG_AGENT_PID/fd" | wc -l)
	[ "$fds" -gt "$fds_max" ] && fds_max=$fds
	probes=$((probes + 1))
	page=$(curl -s --max-time 3 "$url") && answered=$((answered + 1))
	sleep 1	# paces the probes over the flood: not a condition
done
c1=$(last_collection)
wait "$fpid"
tg_log "with 1,000 slow connections: $answered of $probes scrapes answered," \
	"at most $fds_max descriptors; last collection $c0 -> $c1;" \
	"flood: $(cat "$TG_TMP/flood.log")"
[ "$answered" = "$probes" ] || tg_fail "only $answered of $probes scrapes answered"
[ "$fds_max" -lt 1000 ] || tg_fail "the agent held $fds_max descriptors"
[ -n "$c0" ] && [ -n "$c1" ] && [ $((c1 - c0)) -ge 5 ] ||
	tg_fail "collection stalled: $c0 -> $c1"
grep -q '^# TYPE tollgate_rated_cost_month gauge' <<<"$page" ||
	tg_fail "the cost gauges are gone from the page"
if grep -E 'cannot|Too many open files' "$TG_AGENT_LOG"; then
	tg_fail "the agent ran short of descriptors"
fi
tg_result
