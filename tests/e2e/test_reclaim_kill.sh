#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# test_reclaim_kill.sh - peer slots are reclaimed under load while the
# agent is killed with SIGKILL at random instants, and still every byte,
# packet and call is booked, to the byte.
#
# The client namespace owns a routed /14 (a local route), and manyconn
# opens connections from as many distinct addresses, one request each, in
# rounds of 4,064 (16 at a time, TG_RECLAIM_CONC) until the kills are
# done. Each client closes its connection once the answer is read
# (manyconn -k): a connection the gateway closed first would leave its
# socket in TIME-WAIT, and an acknowledgement that a client held up by the
# load sends after its own FIN would reach that socket, where no cgroup
# program sees it, though the veth counts it. The agent has 256 peer
# slots (TG_RECLAIM_MAX_PEERS), reclaims a slot after 1 s of quiet and
# collects every second: far more peers than slots, so slots are marked
# LIMBO, waited on, booked and freed all the time. While the load runs,
# the agent is killed with SIGKILL 1-4 s after each start, 5 to 8 times
# (TG_RECLAIM_KILLS fixes the number), and started again on the same pins
# and ledger: between any two steps of a reclaim, and of a commit. Every
# second kill, after its random instant, also waits until tg_slot shows
# slots LIMBO; how many slots were USED and LIMBO right before each kill
# is logged, and at least one kill must have found some LIMBO. The
# instants and the number of kills come from the seed TG_SEED (default:
# the time), printed first; TG_SEED=N replays them.
#
# One tenant, acme: frontend port TG_GW_PORT, backend "origin" at TG_BE4.
# After the load, with gw idle and the links quiet, the last agent books
# the rest; then the ledger's client rows must equal gw-cl's veth counters
# and its backend rows gw-be's, in IP bytes and packets both ways, its
# calls the lines of gw's access log, and nothing may be booked to tenant
# "". The premise is checked too: slots ran out (overflow without a slot),
# slots were reclaimed, and the load outlasted the kills. Each kill's log
# line says how many keys of tg_peer_idx it left naming a slot not theirs
# (killed between marking a slot LIMBO and removing its key); at the end,
# the agent stopped, there must be none.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh" || exit 1

ROUND=4064		# 16 /24s of 254 addresses
CONC=${TG_RECLAIM_CONC:-16}
MAX_PEERS=${TG_RECLAIM_MAX_PEERS:-256}
NET=10.204.0.0/14
SEED=${TG_SEED:-$(date +%s)}
RANDOM=$SEED
KILLS=${TG_RECLAIM_KILLS:-$((5 + RANDOM % 4))}

tg_init nginx curl
tg_log "seed $SEED (TG_SEED=$SEED replays it): $KILLS kills"
tg_topology_setup
tg_cgroup_setup
tg_clients_prefix "$NET"

cfg=$TG_TMP/tollgate.yaml
tg_agent_config >"$cfg"
AGENT_ARGS=(--config "$cfg" --max-peers "$MAX_PEERS"
	--reclaim-after 1)
tg_agent_start "${AGENT_ARGS[@]}"
tg_be_nginx_start
tg_gw_nginx_start
tg_be_file f 1500

tg_measure_begin
sums=$(tg_ledger_sums) || tg_die "cannot export the ledger"
[ "$sums" = "0 0 0 0" ] || tg_die "the ledger holds traffic already: $sums"

# Slots in state STATE (include/meter.h: 1 USED, 2 LIMBO) in tg_slot now.
slots_in()
{
	bpftool -j map dump pinned "$TG_PIN/tg_slot" 2>/dev/null |
		jq --argjson s "$1" '[.[].formatted.value.state | select(. == $s)] | length'
}

# True when slots are LIMBO now; their number in limbo.
limbo_now()
{
	limbo=$(slots_in 2)
	[ "${limbo:-0}" -gt 0 ]
}

# The load: rounds of ROUND clients, each round from the next ROUND
# addresses of the /14 (16 /24s; after 64 rounds the first come again),
# until the file stop appears; one "ok N failed F bytes B" line a round.
# It ends at the first round not answered in full.
load()
{
	local r=0 base out

	while [ ! -e "$TG_TMP/stop" ]; do
		base=10.$((204 + r / 16 % 4)).$((r % 16 * 16)).0
		out=$(timeout 120 ip netns exec "$TG_NS_CL" "$TG_MANYCONN" -k \
			"$base" "$ROUND" "$CONC" "$TG_GWC4:$TG_GW_PORT" /f) || {
			echo "round $r from $base: ${out:-timed out}"
			return 1
		}
		echo "$out"
		r=$((r + 1))
	done
}
tg_log "rounds of $ROUND clients, $CONC at a time, to port $TG_GW_PORT, until the kills are done"
load >"$TG_TMP/manyconn.out" 2>&1 &
load_pid=$!
TG_PIDS+=("$load_pid")

limbo_kills=0
for ((k = 1; k <= KILLS; k++)); do
	kill -0 "$load_pid" 2>/dev/null ||
		tg_die "the load ended after $((k - 1)) kills: $(tail -n1 "$TG_TMP/manyconn.out")"
	ms=$((1000 + RANDOM % 3000))
	# Not a stand-in: a random instant in the agent's life is the point.
	sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
	used=$(slots_in 1)
	when="$ms ms after the start"
	if ((k % 2 == 0)); then
		# Every second kill also waits for slots being reclaimed, so
		# that some kills surely come between the steps.
		tg_wait_for 10 "LIMBO slots in tg_slot" limbo_now &&
			when+=", then as soon as slots were LIMBO" ||
			when+=", no slot LIMBO within 10 s"
	else
		limbo_now
	fi
	tg_agent_stop KILL
	[ "$TG_AGENT_RC" -eq 137 ] ||
		tg_fail "kill $k: the agent ended with status $TG_AGENT_RC, not by SIGKILL"
	[ "${limbo:-0}" -gt 0 ] && limbo_kills=$((limbo_kills + 1))
	stale=$(tg_stale_peer_keys | wc -l)
	tg_log "kill $k: SIGKILL $when; slots just before: ${used:-?} used, ${limbo:-?} LIMBO; $stale keys left naming no slot of theirs; $(tg_ledger_sums | awk '{ printf "ledger in %d B, out %d B", $1, $3 }')"
	tg_agent_start "${AGENT_ARGS[@]}"
	line=$(grep -m1 'slots: .* left being reclaimed' "$TG_AGENT_LOG")
	[ -z "$line" ] || tg_log "    restarted: ${line#*: }"
done
tg_log "$limbo_kills of $KILLS kills with slots LIMBO just before"
[ "$limbo_kills" -gt 0 ] ||
	tg_fail "premise: no kill found slots being reclaimed (LIMBO)"

touch "$TG_TMP/stop"
wait "$load_pid" ||
	tg_die "the load failed: $(tail -n1 "$TG_TMP/manyconn.out")"
read -r rounds clients < <(awk '$1 == "ok" { r++; n += $2 }
	END { print r + 0, n + 0 }' "$TG_TMP/manyconn.out")
tg_log "load: $rounds rounds, $clients clients answered"
tg_measure_end
tg_log "meter: $(tg_stat 13) second runs not counted, $(tg_stat 12) slots looked up again, $(tg_stat 2) packets without a socket, $(tg_stat 0) peers without a slot, $(tg_stat 1) sockets without storage, $(tg_stat "$TG_STAT_HTTP_DESYNC") HTTP streams lost, $(tg_stat "$TG_STAT_HTTP_OTHER") not HTTP, $(tg_stat 11) billing keys not inserted"

read -r c_rxb c_rxp c_txb c_txp <<<"$(tg_dev_ip_counts "$TG_DEV_GWC")"
read -r b_rxb b_rxp b_txb b_txp <<<"$(tg_dev_ip_counts "$TG_DEV_GWB")"
lines=$(wc -l <"$TG_TMP/gw/logs/access.log")
[ "$lines" -eq "$clients" ] ||
	tg_fail "gw's access log has $lines lines, $clients requests were answered"
want_c="$c_rxb $c_rxp $c_txb $c_txp $lines"
want_b="$b_rxb $b_rxp $b_txb $b_txp 0"

# ledger_of WHICH: "IN_BYTES IN_PACKETS OUT_BYTES OUT_PACKETS CALLS" of
# acme's rows of the ledger, WHICH: client (no backend) or backend.
# shellcheck disable=SC2317 # run by booked()
ledger_of()
{
	tg_ledger_export | jq -rs --arg w "$1" '
		map(select(.tenant == "acme" and
			(if $w == "client" then .backend == "" else .backend != "" end))) |
		def s(f; k): map(select(f) | .[k]) | add // 0;
		"\(s(.traffic_type == "inbound"; "bytes")) \(s(.traffic_type == "inbound"; "packets")) \(s(.traffic_type != "inbound"; "bytes")) \(s(.traffic_type != "inbound"; "packets")) \(s(true; "calls"))"'
}

# The last agent books the rest within an interval or two.
# shellcheck disable=SC2317 # run by tg_wait_for
booked()
{
	got_c=$(ledger_of client) && got_b=$(ledger_of backend) &&
		[ "$got_c" = "$want_c" ] && [ "$got_b" = "$want_b" ]
}
tg_wait_for 60 "ledger rows equal to the links and the access log" booked
tg_log "clients:  ledger $got_c"
tg_log "          veth   $want_c (calls: access log)"
tg_log "backend:  ledger $got_b"
tg_log "          veth   $want_b"
what=(in-bytes in-packets out-bytes out-packets calls)
read -r -a w <<<"$want_c $want_b"
read -r -a g <<<"$got_c $got_b"
for i in "${!w[@]}"; do
	tg_expect_eq "$([ "$i" -lt 5 ] && echo clients || echo backend) ${what[i % 5]}" \
		"${w[i]}" "veth, access log" "${g[i]:-0}" ledger
done

rows=$(tg_ledger_export)
bad=$(jq -c 'select(.tenant != "acme" or .unexplained_bytes != 0)' <<<"$rows")
[ -z "$bad" ] || tg_fail "rows not booked to acme, or unexplained: $bad"
jq -c '[.tenant, .service, .backend, .traffic_type, .bytes, .packets, .calls]' \
	<<<"$rows" | while IFS= read -r line; do tg_log "    $line"; done
if grep -h "ledger '" "$TG_TMP"/agent.*.log | grep -v "host .*, days in"; then
	tg_fail "an agent complained about the ledger (above)"
fi

# The premise: the clients did not fit, and slots came back.
page=$(curl -sf --max-time 5 "$TG_METRICS_URL") ||
	tg_die "cannot read the metrics page $TG_METRICS_URL"
no_slot=$(awk '/^tollgate_overflow_(transmit|receive)_bytes_total\{.*reason="no_slot"/ {
	n += $2 } END { print n + 0 }' <<<"$page")
reclaimed=$(awk '$1 == "tollgate_peer_slots_reclaimed_total" { print $2 }' <<<"$page")
tg_log "overflow without a slot: $no_slot bytes; slots reclaimed: ${reclaimed:-none}"
[ "$no_slot" -gt 0 ] ||
	tg_fail "premise: no byte went to overflow for want of a slot"
[ "${reclaimed:-0}" -gt "$MAX_PEERS" ] ||
	tg_fail "premise: ${reclaimed:-no} slots reclaimed, not even the $MAX_PEERS there are once over"

# What the kills left mid-reclaim was finished: with the agent stopped,
# no key of the hash names a slot other than its own USED one.
tg_agent_stop TERM
bad=$(tg_stale_peer_keys) || tg_die "cannot read tg_peer_idx and tg_slot"
[ -z "$bad" ] || tg_fail "tg_peer_idx keys naming a slot not theirs: ${bad//$'\n'/, }"
tg_result
