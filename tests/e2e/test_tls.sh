#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# test_tls.sh - every HTTP request a client sends over TLS to a gateway
# that terminates it is one call, counted exactly from the stream that
# SSL_read decrypts.
#
# nginx in gw terminates TLS with OpenSSL (libssl, found by the agent in
# the maps of the processes in the metered cgroup and hooked with
# uprobes). The truth is nginx's access log: the meter's calls for the
# client must equal its lines, after:
# - wrk over https: keep-alive load on 16 concurrent connections;
# - curl over https: GETs on one connection, POSTs whose bodies
#   (Content-Length, and chunked) contain request lines;
# - HTTP/2 over TLS (ALPN h2): curl GETs and a POST.
# Every TLS connection must have been read through the hooks (none
# "without library hooks"), none desynced, none "not HTTP", no decrypted
# read without its connection; and the client's bytes must still match
# gw's veth counters. The agent is SIGKILLed and restarted before the
# traffic: its pinned hooks must be kept, not doubled. Skips when the
# uprobes cannot attach.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh" || exit 1

tg_init nginx curl wrk openssl ldd
tg_topology_setup
tg_cgroup_setup
# nginx's libssl named in the configuration: hooked before nginx starts.
# The scan of the cgroup's processes then finds the same file (through
# /proc/PID/root) and must not hook it twice.
libssl=$(ldd "$(command -v nginx)" | awk '/libssl\.so/ { print $3 }')
[ -n "$libssl" ] || tg_skip "this nginx does not use a shared libssl"
cat >"$TG_TMP/tollgate.yaml" <<EOF2
region: test
provider: test
tls:
  - library: $libssl
EOF2
tg_agent_start --config "$TG_TMP/tollgate.yaml"
tg_be_nginx_start
tg_gw_tls_setup
tg_gw_nginx_start
tg_be_file f 1500

# The agent finds nginx's libssl at its next scan (every interval).
# shellcheck disable=SC2317 # run by tg_wait_for
hooked_or_not()
{
	grep -qE 'tls: (.*hooked SSL_read|cannot hook SSL_read)' "$TG_AGENT_LOG"
}
tg_wait_for 30 "SSL_read hooked" hooked_or_not
grep -q 'tls: cannot hook SSL_read' "$TG_AGENT_LOG" &&
	tg_skip "uprobes cannot attach here: $(grep 'tls: cannot hook' "$TG_AGENT_LOG" | tail -n1)"
grep -q 'tls: .*hooked SSL_read' "$TG_AGENT_LOG" ||
	tg_skip "no SSL_read hooked in nginx's TLS library: $(grep 'tls:' "$TG_AGENT_LOG" | tail -n1)"
tg_log "$(grep 'tls: .*hooked SSL_read' "$TG_AGENT_LOG" | head -n1)"
[ "$(grep -c 'tls: .*hooked SSL_read' "$TG_AGENT_LOG")" -eq 1 ] ||
	tg_fail "nginx's libssl hooked more than once: $(grep 'tls:' "$TG_AGENT_LOG")"

# A restarted agent keeps the pinned hooks: hooking the library again
# would count every call twice (the counts below would be double).
tg_agent_stop KILL
tg_agent_start --config "$TG_TMP/tollgate.yaml"
# Every collection scans the cgroup's processes for TLS libraries first:
# two of them have seen nginx's.
ts=$(tg_wait_collection) && tg_wait_collection "$ts" >/dev/null ||
	tg_fail "the restarted agent did not collect twice"
grep -q 'tls: .*kept pinned SSL_read hooks' "$TG_AGENT_LOG" ||
	tg_fail "the restarted agent did not keep the pinned SSL_read hooks"
grep -q 'tls: .*hooked SSL_read' "$TG_AGENT_LOG" &&
	tg_fail "the restarted agent hooked SSL_read a second time"

gw=https://$TG_GWC4:$TG_GW_TLS_PORT
body=$TG_TMP/body
{
	printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'
	printf 'POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello'
	printf '\r\n\r\n0\r\n\r\n'
	head -c 200000 /dev/zero | tr '\0' 'G'
	printf 'GET /end HTTP/1.0\r\n\r\n'
} >"$body"

# What the hooks cost, when bench_prog is built ('make bench' builds it):
# BPF run-time statistics (BPF_ENABLE_STATS, held by 'bench_prog stats')
# during the wrk run, per program of this test's pinned links.
stats_bin=${OUTPUT:-.output}/tests/bench_prog
stats_pid=
declare -A stats0=()
tls_prog_ids()
{
	local pin

	for pin in "$TG_PIN"/tls_* "$TG_PIN/link_recv"; do
		[ -e "$pin" ] && bpftool -j link show pinned "$pin" | jq -r .prog_id
	done | sort -u
}
prog_stat()	# ID: "NAME RUN_TIME_NS RUN_CNT"
{
	bpftool -j prog show id "$1" |
		jq -r '"\(.name) \(.run_time_ns // 0) \(.run_cnt // 0)"'
}

tg_measure_begin

if [ -x "$stats_bin" ]; then
	"$stats_bin" stats >"$TG_TMP/stats.out" 2>&1 &
	stats_pid=$!
	TG_PIDS+=("$stats_pid")
	tg_wait_for 30 "BPF run-time statistics enabled" \
		grep -q enabled "$TG_TMP/stats.out"
	for id in $(tls_prog_ids); do
		stats0[$id]=$(prog_stat "$id")
	done
fi
lines0=$(wc -l <"$TG_TMP/gw/logs/access.log")
out=$(timeout 30 ip netns exec "$TG_NS_CL" wrk -t2 -c16 -d3s "$gw/f") ||
	tg_die "wrk failed: $out"
tg_log "wrk: $(grep -E 'requests in' <<<"$out" | sed 's/^ *//')"
# shellcheck disable=SC2317 # run by tg_wait_for
no_tls_client()
{
	! ip netns exec "$TG_NS_GW" ss -Htan "sport = :$TG_GW_TLS_PORT" |
		awk '$1 != "LISTEN" && $1 != "TIME-WAIT"' | grep -q .
}
if [ -n "$stats_pid" ]; then
	# Every request wrk made is logged once its connection is gone.
	tg_wait_for 30 "wrk's connections closed in gw" no_tls_client
	reqs=$(($(wc -l <"$TG_TMP/gw/logs/access.log") - lines0))
	total=0
	for id in "${!stats0[@]}"; do
		read -r name t0 c0 <<<"${stats0[$id]}"
		read -r name t1 c1 <<<"$(prog_stat "$id")"
		runs=$((c1 - c0))
		ns=$((t1 - t0))
		[ "$runs" -gt 0 ] || continue
		case $name in tg_ssl*) total=$((total + ns)) ;; esac
		tg_log "cost: $name $runs runs, $((ns / runs)) ns a run, $(awk -v r="$runs" -v q="$reqs" 'BEGIN { printf "%.2f", r / q }') runs per request"
	done
	tg_log "cost: SSL_read hooks $((total / reqs)) ns of BPF run time per request ($reqs requests)"
	tg_kill_pid "$stats_pid"
	stats_pid=
fi

tg_curl -k --http1.1 -o /dev/null "$gw/f?n=[1-20]" || tg_die "curl GETs failed"
tg_curl -k --http1.1 -o /dev/null -o /dev/null -o /dev/null \
	--data-binary @"$body" "$gw/post?n=[1-3]" || tg_die "curl POSTs failed"
tg_curl -k --http1.1 -o /dev/null -o /dev/null -H 'Transfer-Encoding: chunked' \
	--data-binary @"$body" "$gw/chunked?n=[1-2]" ||
	tg_die "curl chunked POSTs failed"
tg_curl -k --http1.1 -o /dev/null -H 'Transfer-Encoding: chunked' \
	--data-binary 'x' "$gw/chunked-small" || tg_die "curl small chunked POST failed"
# HTTP/2 by ALPN: several streams on one connection, then a POST.
tg_curl -k --http2 -o /dev/null "$gw/f?h2=[1-5]" || tg_die "curl HTTP/2 GETs failed"
tg_curl -k --http2 -o /dev/null --data-binary @"$body" "$gw/h2post" ||
	tg_die "curl HTTP/2 POST failed"

tg_measure_end

tg_check_calls
log=$TG_CALLS_LOG
tls=$(tg_stat "$TG_STAT_TLS")
hooked=$(tg_stat "$TG_STAT_TLS_HOOKED")
miss=$(tg_stat "$TG_STAT_TLS_MISS")
tg_log "TLS connections $tls, $hooked hooked; $miss decrypted reads without connection"
[ "$tls" -ge 20 ] || tg_fail "expected at least 20 TLS connections, got $tls"
[ "$hooked" -eq "$tls" ] || tg_fail "$((tls - hooked)) TLS connections without library hooks"
[ "$miss" -eq 0 ] || tg_fail "$miss decrypted reads without their connection"
h2lines=$(grep -c 'HTTP/2.0"' "$log")
[ "$h2lines" -eq 6 ] || tg_fail "expected 6 HTTP/2 requests in gw's access log, got $h2lines"
for path in /chunked-small /h2post; do
	grep -q "\"[A-Z]* $path" "$log" || tg_fail "no request $path in gw's access log"
done
"$TG_BIN" dump --pin-dir "$TG_PIN" | tail -n 2 | grep -q 'without library hooks' &&
	tg_fail "dump reports TLS connections without library hooks"

tg_check_peer calls "$TG_DUMP" "$TG_CL4" client "$TG_GW_TLS_PORT" tcp "$TG_DEV_GWC"
tg_check_only_peers "$TG_DUMP" "$TG_CL4" "$TG_BE4"
tg_result
