#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# test_restart.sh - killing the agent mid-transfer and starting it again
# loses no byte and counts none twice.
#
# The programs stay attached through their pinned links when the agent
# dies, and a new agent reuses the pinned maps and swaps its programs into
# the links. A 100 MB download runs, its client reading 12 MiB/s until
# the test lets it go; the agent is killed with SIGKILL a few MB into it,
# and started again once the meter has counted another MB without it,
# while the transfer goes on. The test checks that the premise held (the
# transfer was running across both events, the programs behind the links
# changed, the kernel kept counting without an agent) and that the totals
# are exact at the end.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh" || exit 1

SIZE=$((100 << 20))
RATE=$((12 << 20))

tg_init nginx curl python3
tg_topology_setup
tg_cgroup_setup
tg_agent_start
tg_be_nginx_start
tg_gw_nginx_start
tg_be_file big.bin "$SIZE"

# Bytes gw has sent to the client so far, from the veth counter.
gw_tx()
{
	tg_link_stats "$TG_DEV_GWC" | awk '{ print $3 }'
}

# Client bytes_out the meter has counted so far (no agent needed).
meter_out()
{
	tg_dump | jq --arg p "$TG_CL4" '[.[] | select(.peer == $p) | .bytes_out] | add // 0'
}

# sent_since TX0 BYTES: gw has sent BYTES to the client since TX0.
# shellcheck disable=SC2317 # run by tg_wait_for
sent_since()
{
	[ $(($(gw_tx) - $1)) -ge "$2" ]
}

# counted_since M0 BYTES: the meter has counted BYTES to the client since
# M0.
# shellcheck disable=SC2317 # run by tg_wait_for
counted_since()
{
	[ $(($(meter_out) - $1)) -ge "$2" ]
}

# Reads standard input at RATE bytes a second until the file RELEASE
# appears, then at full speed: the transfer outlasts the agent's death and
# restart, however long a loaded machine takes for them.
throttle='
import os, sys, time
rate, release = int(sys.argv[1]), sys.argv[2]
t0, n = time.monotonic(), 0
while True:
    b = os.read(0, 65536)
    if not b:
        break
    n += len(b)
    ahead = n / rate - (time.monotonic() - t0)
    if ahead > 0 and not os.path.exists(release):
        time.sleep(ahead)
'

tg_measure_begin
ids_before=$(tg_link_prog_ids)
tx0=$(gw_tx)
(
	trap - EXIT INT TERM
	tg_curl -o - -w '%{stderr}%{http_code} %{size_download}\n' \
		"http://$TG_GWC4:$TG_GW_PORT/big.bin" 2>"$TG_TMP/curl.out" |
		python3 -c "$throttle" "$RATE" "$TG_TMP/release"
) &
curl_pid=$!
TG_PIDS+=("$curl_pid")

tg_wait_for 30 "8 MB of the transfer" sent_since "$tx0" $((8 << 20)) ||
	tg_die "premise: the transfer does not flow"
kill -0 "$curl_pid" 2>/dev/null ||
	tg_die "premise: the transfer ended before the agent was killed"
tg_agent_stop KILL
[ "$TG_AGENT_RC" -eq 137 ] || tg_die "agent did not die of SIGKILL (status $TG_AGENT_RC)"
tg_log "agent killed with SIGKILL after $((($(gw_tx) - tx0) >> 20)) MB"
[ "$(tg_cgroup_progs | wc -l)" -eq 3 ] ||
	tg_fail "programs left the cgroup with the agent: $(tg_cgroup_progs)"
m1=$(meter_out)
tg_wait_for 30 "a MB counted without the agent" counted_since "$m1" $((1 << 20))
m2=$(meter_out)
tg_log "no agent: the meter counted $(((m2 - m1) >> 10)) KB to the client"
[ "$m2" -gt "$m1" ] || tg_fail "the kernel stopped counting without the agent ($m1 -> $m2)"

kill -0 "$curl_pid" 2>/dev/null || tg_die "premise: the transfer ended before the restart"
tg_agent_start
ids_after=$(tg_link_prog_ids)
grep -q 'took over pinned link' "$TG_AGENT_LOG" ||
	tg_fail "restarted agent did not take over the pinned links: $(cat "$TG_AGENT_LOG")"
[ "$ids_before" != "$ids_after" ] ||
	tg_fail "programs behind the links did not change ($ids_before)"
tg_log "agent restarted after $((($(gw_tx) - tx0) >> 20)) MB; program ids $ids_before -> $ids_after"
kill -0 "$curl_pid" 2>/dev/null || tg_die "premise: the transfer ended during the restart"
touch "$TG_TMP/release"

for _ in $(seq 600); do
	kill -0 "$curl_pid" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$curl_pid" 2>/dev/null && tg_die "the transfer did not end within 60s"
wait "$curl_pid"
read -r code size <"$TG_TMP/curl.out"
[ "$code" = 200 ] && [ "$size" -eq "$SIZE" ] ||
	tg_die "download: expected 200 and $SIZE bytes, got $code and $size"
tg_measure_end

tg_check_peer restart "$TG_DUMP" "$TG_CL4" client "$TG_GW_PORT" tcp "$TG_DEV_GWC"
tg_check_peer restart "$TG_DUMP" "$TG_BE4" backend "$TG_BE_PORT" tcp "$TG_DEV_GWB"
tg_check_only_peers "$TG_DUMP" "$TG_CL4" "$TG_BE4"
tg_result
