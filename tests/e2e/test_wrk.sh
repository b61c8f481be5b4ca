#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# test_wrk.sh - concurrent keep-alive load through the gateway is metered
# exactly.
#
# wrk in cl runs 2 threads with 8 connections for 3 seconds (tens of
# thousands of requests) against the nginx proxy in gw, which has two
# workers and keeps up to 16 upstream connections per worker. Both CPUs
# then update the same peer's per-CPU counters at once, from process
# context (egress) and from softirq (ingress). At the end wrk drops its
# connections with requests still in flight, so teardown includes resets.
# The meter's totals per peer must equal gw's veth counters.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh" || exit 1

tg_init nginx wrk
tg_topology_setup
tg_cgroup_setup
tg_agent_start
tg_be_nginx_start
tg_gw_nginx_start
tg_be_file f 2000

tg_measure_begin
out=$(timeout 30 ip netns exec "$TG_NS_CL" wrk -t2 -c8 -d3s \
	"http://$TG_GWC4:$TG_GW_PORT/f") || tg_die "wrk failed: $out"
tg_log "wrk: $(grep -E 'requests in' <<<"$out" | sed 's/^ *//')"
tg_measure_end

n=$(grep -c '" 200 ' "$TG_TMP/gw/logs/access.log")
[ "$n" -gt 1000 ] || tg_fail "expected thousands of requests in gw's access log, got $n"
tg_log "gw answered $n requests with 200"
tg_check_peer wrk "$TG_DUMP" "$TG_CL4" client "$TG_GW_PORT" tcp "$TG_DEV_GWC"
tg_check_peer wrk "$TG_DUMP" "$TG_BE4" backend "$TG_BE_PORT" tcp "$TG_DEV_GWB"
tg_check_only_peers "$TG_DUMP" "$TG_CL4" "$TG_BE4"
tg_result
