#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# test_midnight.sh - each natural day gets the bytes that crossed the wire
# on it, though the agent is stopped across the midnight between them.
#
# zic makes a time zone of the test's own, Test/Midnight, in a database in
# the temp dir (TZDIR): a fixed offset from UTC, to the second, that puts
# its midnight about 50 s after the zone is made. The agent (interval 1 s)
# books into a new ledger under a copy of the jdcloud plan counting days
# in that zone. wrk drives steady keep-alive load through the gateway
# (each connection waits 1 ms between requests), and a download read at
# 2 MiB/s streams on one connection the while; 15 s before the midnight
# the agent is stopped with SIGSTOP and 15 s after it continued with
# SIGCONT, so no agent reads anything near the midnight.
#
# The truth: inside gw, readat (a real-time task, tests/e2e/readat.c)
# reads the byte and packet counters of gw's two links (sysfs) every
# 250 us of the wall clock from 100 ms before to 100 ms after the
# midnight, each reading with the instants it began and ended; in between
# it sleeps, leaving the CPUs to the traffic. The first reading that began
# at or after the midnight is the wire at the midnight. Once the load has
# ended and the links are quiet, per link (client, backend) and direction
# (in, out):
#
# - both days together hold exactly what crossed the link, bytes (IP
#   bytes) and packets;
# - the old day holds what crossed the link up to the midnight, within
#   what the link carried in the 20 ms (W) either side of it: at least
#   the first reading begun at or after M - W, at most the last reading
#   ended by M + W, and the new day the rest. The kernel tells days apart
#   by its coarse clock (up to a tick, 4 ms at HZ 250, behind) against
#   the boundary the agent mapped from the wall clock onto the monotonic
#   clock before it stopped (off by microseconds: the two clocks are
#   slewed alike, only a step of the wall clock since would move it);
#   20 ms covers both with room, yet is less than a thousandth of the
#   30 s the agent was away. When the wire happened to be quiet around
#   the midnight (a loaded machine stalls the load now and then), the old
#   day must equal it exactly, and the log says the split could not be
#   placed closer than the quiet stretch.
#
# The log shows, per link and direction, the old day's difference from
# the wire at the midnight, in bytes and in milliseconds of traffic at
# the load's mean rate, and the instant at which the wire passed the old
# day's count: where the meter put the midnight.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh" || exit 1

AWAY=15			# seconds the agent is stopped either side
W_MS=20			# the day split may be off by this many ms of traffic
WIN_MS=100		# the truth is read this long either side,
STEP_US=250		# every this many microseconds

tg_init nginx wrk zic
TG_READAT=$(pwd)/.output/tests/readat
[ -x "$TG_READAT" ] || tg_die "no $TG_READAT: run 'make test-build' first"
tg_topology_setup
tg_cgroup_setup

tg_zone_midnight 50
tg_zone_agent_start
tg_be_nginx_start
tg_gw_nginx_start
tg_be_file f 4000
RATE=$((2 << 20))	# the download's bytes a second

tg_measure_begin
sums=$(tg_ledger_sums) || tg_die "cannot export the ledger"
[ "$sums" = "0 0 0 0" ] || tg_die "the ledger holds traffic before the test's: $sums"

# Steady load until AWAY + 5 s after the midnight: 4 keep-alive
# connections, each waiting 1 ms between requests, and a download as long
# as RATE takes for it.
cat >"$TG_TMP/steady.lua" <<'EOF'
function delay()
	return 1
end
EOF
load_start=$EPOCHREALTIME
dur=$((MIDNIGHT + AWAY + 5 - $(date +%s)))
timeout $((dur + 30)) ip netns exec "$TG_NS_CL" wrk -t2 -c4 -d"${dur}s" \
	-s "$TG_TMP/steady.lua" "http://$TG_GWC4:$TG_GW_PORT/f" \
	>"$TG_TMP/wrk.out" 2>&1 &
wrk_pid=$!
TG_PIDS+=("$wrk_pid")
size=$((RATE * dur))
tg_be_file big.bin "$size"
tg_curl --max-time $((dur + 60)) --limit-rate "$RATE" -o /dev/null \
	-w '%{http_code} %{size_download}\n' \
	"http://$TG_GWC4:$TG_GW_PORT/big.bin" >"$TG_TMP/curl.out" 2>&1 &
curl_pid=$!
TG_PIDS+=("$curl_pid")

# The agent reads under load before it stops.
tg_wait_collection "${load_start%.*}" >/dev/null ||
	tg_die "the agent did not collect under load"
# shellcheck disable=SC2317 # run by tg_wait_for
reached() { [ "$(date +%s)" -ge "$1" ]; }
[ "$(date +%s)" -lt $((MIDNIGHT - AWAY)) ] ||
	tg_die "setup took too long: the midnight is less than ${AWAY}s away"
tg_wait_for $((AWAY + 50)) "the instant ${AWAY}s before the midnight" \
	reached $((MIDNIGHT - AWAY)) || tg_die "the clock did not move"
last=$(tg_collected_after 0) || tg_die "no collection on $TG_METRICS_URL"
kill -STOP "$TG_AGENT_PID"
stopped=$(date +%s.%N)
[[ $(ps -o stat= -p "$TG_AGENT_PID") = T* ]] ||
	tg_die "the agent is not stopped: $(ps -o stat= -p "$TG_AGENT_PID")"
tg_log "agent stopped $(awk -v a="$MIDNIGHT" -v b="$stopped" 'BEGIN { printf "%.1f", a - b }')s before the midnight, its last collection $(awk -v a="$MIDNIGHT" -v b="$last" 'BEGIN { printf "%.1f", a - b }')s before it"
kill -0 "$wrk_pid" 2>/dev/null && kill -0 "$curl_pid" 2>/dev/null ||
	tg_die "premise: the load ended early"

# The wire around the midnight: readat in gw (its sysfs shows gw's links).
files=()
for dev in "$TG_DEV_GWC" "$TG_DEV_GWB"; do
	files+=("/sys/class/net/$dev/statistics/"{rx_bytes,rx_packets,tx_bytes,tx_packets})
done
ip netns exec "$TG_NS_GW" "$TG_READAT" \
	$(((MIDNIGHT * 1000 - WIN_MS) * 1000000)) \
	$(((MIDNIGHT * 1000 + WIN_MS) * 1000000)) $((STEP_US * 1000)) \
	"${files[@]}" \
	>"$TG_TMP/samples" 2>"$TG_TMP/readat.err" &
sampler=$!
TG_PIDS+=("$sampler")

tg_wait_for $((2 * AWAY + 10)) "the instant ${AWAY}s after the midnight" \
	reached $((MIDNIGHT + AWAY)) || tg_die "the clock did not move"
[[ $(ps -o stat= -p "$TG_AGENT_PID") = T* ]] ||
	tg_die "the agent ran across the midnight: $(ps -o stat= -p "$TG_AGENT_PID")"
kill -CONT "$TG_AGENT_PID"
tg_log "agent continued $(($(date +%s) - MIDNIGHT))s after the midnight"
wait "$sampler" || tg_die "readat failed: $(cat "$TG_TMP/readat.err")"
[ -s "$TG_TMP/readat.err" ] && tg_log "readat: $(cat "$TG_TMP/readat.err")"
kill -0 "$wrk_pid" 2>/dev/null || tg_die "premise: the load ended early"

wait "$wrk_pid"
tg_log "wrk: $(grep -E 'requests in' "$TG_TMP/wrk.out" | sed 's/^ *//')"
# shellcheck disable=SC2317 # run by tg_wait_for
ended() { ! kill -0 "$1" 2>/dev/null; }
tg_wait_for 60 "end of the download" ended "$curl_pid" ||
	tg_die "the download did not end"
wait "$curl_pid"
load_end=$EPOCHREALTIME
read -r code got <"$TG_TMP/curl.out"
[ "$code" = 200 ] && [ "$got" -eq "$size" ] ||
	tg_die "download: expected 200 and $size bytes, got $(cat "$TG_TMP/curl.out")"
tg_measure_end

# The truth per link and direction, in the order of readat's files: IP
# bytes and packets since the base, at the midnight, at M - W, at M + W
# and at the end.
read -r -a base <<<"$TG_SNAP_base"
read -r -a end <<<"$TG_SNAP_end"
for i in 6 7 14 15; do
	[ "${end[i]}" -eq "${base[i]}" ] ||
		tg_die "packets took veth's NAPI path (GRO): the readings would count them differently"
done
# Every reading as its instants from the midnight (ns; taken apart as
# text: awk's numbers are doubles) and the fields since the base.
awk -v m="$MIDNIGHT" -v b="${base[*]:0:4} ${base[*]:8:4}" '
	function rel(t) { return (substr(t, 1, 10) - m) * 1e9 + substr(t, 11) }
	BEGIN { split(b, z, " ") }
	{ printf "%d %d", rel($1), rel($2)
	  for (i = 0; i < 8; i += 2)
		printf " %d %d", ($(i + 3) - z[i + 1]) - 14 * ($(i + 4) - z[i + 2]),
			$(i + 4) - z[i + 2]
	  print "" }' "$TG_TMP/samples" >"$TG_TMP/wire"
w_ns=$((W_MS * 1000000))
n=$(wc -l <"$TG_TMP/wire")
at=$(awk '$1 >= 0 { print; exit }' "$TG_TMP/wire")
lo=$(awk -v w="$w_ns" '$1 >= -w { print; exit }' "$TG_TMP/wire")
hi=$(awk -v w="$w_ns" '$2 <= w { l = $0 } END { print l }' "$TG_TMP/wire")
prev=$(awk '$2 < 0 { l = $0 } END { print l }' "$TG_TMP/wire")
[ -n "$at" ] && [ -n "$lo" ] && [ -n "$hi" ] && [ -n "$prev" ] ||
	tg_die "no reading of the counters around the midnight ($n readings)"
read -r at_t0 at_t1 _ <<<"$at"
read -r _ prev_t1 _ <<<"$prev"
tg_log "wire read $n times in the ${WIN_MS} ms either side of the midnight, $(awk '
	{ if (NR > 1 && $1 - p > g) g = $1 - p; if ($2 - $1 > d) d = $2 - $1; p = $1 }
	END { printf "at most %.1f us apart, each in at most %.1f us", g / 1000, d / 1000 }' "$TG_TMP/wire"); at the midnight: begun $((at_t0 / 1000)) us after it, in $(((at_t1 - at_t0) / 1000)) us; the reading before ended $((-prev_t1 / 1000)) us before it"
read -r -a t_at <<<"${at#* * }"
read -r -a t_lo <<<"${lo#* * }"
read -r -a t_hi <<<"${hi#* * }"
t_end=()
for i in 0 2 8 10; do
	t_end+=($(((end[i] - base[i]) - 14 * (end[i + 1] - base[i + 1])))
		$((end[i + 1] - base[i + 1])))
done

# The ledger, once it has booked everything.
export_rows()
{
	rows=$(tg_ledger_export) || tg_die "cannot export the ledger"
}
# ledger_day DAY: the day's rows in the fields of the truth: client rows
# (backend "") then backend rows, inbound then the others.
ledger_day()
{
	jq -rs --arg d "$1" '
		def s(f): map(select(.day == $d and f)) |
			"\(map(.bytes) | add // 0) \(map(.packets) | add // 0)";
		[s(.backend == "" and .traffic_type == "inbound"),
		 s(.backend == "" and .traffic_type != "inbound"),
		 s(.backend != "" and .traffic_type == "inbound"),
		 s(.backend != "" and .traffic_type != "inbound")] | join(" ")' \
		<<<"$rows"
}
# shellcheck disable=SC2317 # run by tg_wait_for
booked()
{
	local -a o n
	local i

	export_rows
	read -r -a o <<<"$(ledger_day "$OLD_DAY")"
	read -r -a n <<<"$(ledger_day "$NEW_DAY")"
	for i in 0 1 2 3 4 5 6 7; do
		[ $((o[i] + n[i])) -eq "${t_end[i]}" ] || return 1
	done
}
tg_wait_for 60 "the ledger booking the veth counters" booked ||
	tg_fail "the ledger's two days do not add up to the veth counters"
export_rows
read -r -a old <<<"$(ledger_day "$OLD_DAY")"
read -r -a new <<<"$(ledger_day "$NEW_DAY")"
days=$(jq -rs '[.[].day] | unique | join(" ")' <<<"$rows")
[ "$days" = "$OLD_DAY $NEW_DAY" ] ||
	tg_fail "expected the days $OLD_DAY $NEW_DAY in the ledger, got '$days'"
bad=$(jq -c 'select(.tenant != "acme" or .service != "api" or
	.time_zone != "Test/Midnight")' <<<"$rows")
[ -z "$bad" ] || tg_fail "rows not attributed by the configuration: $bad"

secs=$(awk -v a="$load_start" -v b="$load_end" 'BEGIN { print b - a }')
names=("client in" "client out" "backend in" "backend out")
for k in 0 1 2 3; do
	b=$((2 * k))
	p=$((b + 1))
	name=${names[k]}
	# Where the wire passed the old day's bytes, from the midnight.
	split=$(awk -v c=$((b + 3)) -v want="${old[b]}" '
		$c >= want { printf "%+.3f ms", $1 / 1e6; f = 1; exit }
		END { if (!f) print "after the readings" }' "$TG_TMP/wire")
	rate=$(awk -v n="${t_end[b]}" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')
	diff=$((old[b] - t_at[b]))
	tg_log "$name: $OLD_DAY: ledger ${old[b]} B ${old[p]} pkts, wire at the midnight ${t_at[b]} B ${t_at[p]} pkts; diff $diff B ($(awk -v d="$diff" -v r="$rate" 'BEGIN { printf "%.2f", r ? 1000 * d / r : 0 }') ms at the mean $rate B/s), $((old[p] - t_at[p])) pkts; the wire passed the day's bytes at the midnight $split"
	tg_log "$name: $NEW_DAY: ledger ${new[b]} B ${new[p]} pkts, wire after the midnight $((t_end[b] - t_at[b])) B $((t_end[p] - t_at[p])) pkts; $OLD_DAY may hold ${t_lo[b]}..${t_hi[b]} B (the wire ${W_MS} ms either side: $((t_hi[b] - t_lo[b])) B; ${W_MS} ms at the mean rate: $((rate * W_MS / 1000)) B)"
	[ "${t_at[b]}" -gt 0 ] && [ $((t_end[b] - t_at[b])) -gt 0 ] ||
		tg_fail "premise: $name: no traffic on one of the days"
	[ "${t_at[b]}" -gt "${t_lo[b]}" ] && [ "${t_hi[b]}" -gt "${t_at[b]}" ] ||
		tg_log "$name: note: the wire was quiet in the ${W_MS} ms before or after the midnight: the split is placed no closer than that quiet stretch"
	for i in "$b" "$p"; do
		what=bytes
		[ "$i" = "$p" ] && what=packets
		[ "${old[i]}" -ge "${t_lo[i]}" ] && [ "${old[i]}" -le "${t_hi[i]}" ] ||
			tg_fail "$name: $OLD_DAY holds ${old[i]} $what, the wire at the midnight ${t_at[i]}: outside ${t_lo[i]}..${t_hi[i]} (${W_MS} ms either side)"
		[ $((old[i] + new[i])) -eq "${t_end[i]}" ] ||
			tg_fail "$name: the two days hold $((old[i] + new[i])) $what, the wire ${t_end[i]}"
	done
done
tg_result
