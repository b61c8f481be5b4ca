#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# test_requests.sh - 1,000 small proxied HTTP requests are metered exactly.
#
# Many short exchanges stress what a bulk transfer hardly exercises:
# handshakes on the listener, connection teardown, new sockets whose first
# packet must find their role and peer. From cl, through the nginx proxy in
# gw, to the backend nginx in be:
# - 500 requests over keep-alive connections, four in parallel;
# - 500 requests each on its own connection (Connection: close).
# Both access logs must show all 1,000, and the meter's totals per peer
# must equal gw's veth counters.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh" || exit 1

tg_init nginx curl
tg_topology_setup
tg_cgroup_setup
tg_agent_start
tg_be_nginx_start
tg_gw_nginx_start
# Ten sizes from a few bytes to a few KB, so that responses take one, two
# or three segments.
for i in 0 1 2 3 4 5 6 7 8 9; do
	tg_be_file "f$i" $((i * i * 47 + 13))
done
url="http://$TG_GWC4:$TG_GW_PORT/f{0,1,2,3,4,5,6,7,8,9}?n=[1-50]"

tg_measure_begin
tg_curl --fail --parallel --parallel-max 4 "$url" >/dev/null ||
	tg_die "keep-alive requests failed"
tg_curl --fail -H 'Connection: close' "$url" >/dev/null ||
	tg_die "Connection: close requests failed"
tg_measure_end

for side in gw be; do
	n=$(grep -c '" 200 ' "$TG_TMP/$side/logs/access.log")
	[ "$n" -eq 1000 ] ||
		tg_fail "$side access log: expected 1000 requests with status 200, got $n"
done
# gw logs the client's port and nginx's connection number per request.
conns=$(awk '{ print $3 }' "$TG_TMP/gw/logs/access.log" | sort -u | wc -l)
tg_log "access logs: 1000 requests answered 200 by gw and by be, on $conns client connections"
[ "$conns" -ge 501 ] && [ "$conns" -le 504 ] ||
	tg_fail "expected 501..504 client connections (4 keep-alive, 500 closed), got $conns"

tg_check_peer requests "$TG_DUMP" "$TG_CL4" client "$TG_GW_PORT" tcp "$TG_DEV_GWC"
tg_check_peer requests "$TG_DUMP" "$TG_BE4" backend "$TG_BE_PORT" tcp "$TG_DEV_GWB"
tg_check_only_peers "$TG_DUMP" "$TG_CL4" "$TG_BE4"
tg_result
