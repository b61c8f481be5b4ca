#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# test_many_clients.sh - a public gateway's clients outnumber the meter's
# peer slots a hundred times over, and still every byte and call is booked
# to the right tenant, to the byte.
#
# The client namespace owns a routed /14 (a local route), so that one
# client program, manyconn, can open each connection from an address of
# its own: TG_MANY_CLIENTS (default 100,000) connections from as many
# distinct addresses, one request each (the client closes once it has the
# answer: a gateway closing first leaves TIME_WAIT sockets, whose late
# packets no cgroup program sees), against an agent with 1,024 peer
# slots that reclaims a slot after 2 s of quiet. Two tenants, one after
# the other:
#   acme   - frontend port TG_GW_PORT, its backend "origin" at TG_BE4;
#   globex - frontend port 8084, its backend "origin6" at TG_BE6.
# Each phase is measured alone (links quiet before and after), so that
# gw-cl's veth counters are that tenant's client traffic and gw-be's that
# tenant's backend traffic. Per tenant, the ledger's client rows and its
# backend rows must equal those counters exactly, in bytes and packets
# both ways; its calls must equal the tenant's lines in gw's access log;
# nothing may be booked to tenant "". The premise is checked too: slots
# ran out (overflow without a slot) and were reclaimed.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh" || exit 1

CLIENTS=${TG_MANY_CLIENTS:-100000}
CONC=${TG_MANY_CONC:-16}
GLOBEX_PORT=8084
NET=10.204.0.0/14

tg_init nginx curl
tg_topology_setup
tg_cgroup_setup
tg_clients_prefix "$NET"

cfg=$TG_TMP/tollgate.yaml
# Beside acme's api: globex's web, on a port of its own, served by the
# IPv6 backend.
web="  - port: $GLOBEX_PORT
    name: web
    tenant: globex"
origin6="  - address: $TG_BE6
    port: $TG_BE_PORT
    name: origin6
    tenant: globex
    service: web"
tg_agent_config "$web" "$origin6" >"$cfg"
# shellcheck disable=SC2086 # the options are words
tg_agent_start --config "$cfg" ${TG_MANY_AGENT_ARGS:---max-peers 1024 --reclaim-after 2}
tg_be_nginx_start
TG_GW_HTTP_EXTRA="
	server {
		listen $TG_GWC4:$GLOBEX_PORT backlog=4096;
		proxy_http_version 1.1;
		proxy_set_header Connection \"\";
		location / {
			proxy_pass http://be6;
		}
	}
"
tg_gw_nginx_start
tg_be_file f 1500

tg_measure_begin
sums=$(tg_ledger_sums) || tg_die "cannot export the ledger"
[ "$sums" = "0 0 0 0" ] || tg_die "the ledger holds traffic already: $sums"

# ledger_of TENANT WHICH: "IN_BYTES IN_PACKETS OUT_BYTES OUT_PACKETS
# CALLS" of TENANT's rows of the ledger, WHICH: client (no backend) or
# backend.
# shellcheck disable=SC2317 # run by booked()
ledger_of()
{
	tg_ledger_export | jq -rs --arg t "$1" --arg w "$2" '
		map(select(.tenant == $t and
			(if $w == "client" then .backend == "" else .backend != "" end))) |
		def s(f; k): map(select(f) | .[k]) | add // 0;
		"\(s(.traffic_type == "inbound"; "bytes")) \(s(.traffic_type == "inbound"; "packets")) \(s(.traffic_type != "inbound"; "bytes")) \(s(.traffic_type != "inbound"; "packets")) \(s(true; "calls"))"'
}

# phase TENANT PORT BASE: CLIENTS requests to PORT from addresses counted
# from BASE, measured alone; checks TENANT's rows against the links.
phase()
{
	local tenant=$1 port=$2 from=$3 out lines want_c want_b
	local c_rxb c_rxp c_txb c_txp b_rxb b_rxp b_txb b_txp

	: >"$TG_TMP/gw/logs/access.log"
	tg_log "$tenant: $CLIENTS clients from $from on, $CONC at a time, to port $port"
	out=$(timeout 900 ip netns exec "$TG_NS_CL" "$TG_MANYCONN" -k "$from" \
		"$CLIENTS" "$CONC" "$TG_GWC4:$port" /f) ||
		tg_die "$tenant: manyconn: ${out:-timed out}"
	tg_log "$tenant: manyconn: $out"
	tg_measure_end
	tg_dev_delta "$TG_DEV_GWC"
	tg_log "$tenant: gw-cl dropped ${TG_DELTA[4]} rx ${TG_DELTA[5]} tx; gw: $(ip netns exec "$TG_NS_GW" nstat -az TcpRetransSegs TcpExtTCPTimeouts TcpExtTCPLostRetransmit TcpExtListenOverflows TcpExtListenDrops TcpExtTCPReqQFullDrop TcpExtSyncookiesSent 2>/dev/null | awk 'NR>1 {printf "%s=%s ", $1, $2}'); cl: $(ip netns exec "$TG_NS_CL" nstat -az TcpRetransSegs TcpExtTCPTimeouts 2>/dev/null | awk 'NR>1 {printf "%s=%s ", $1, $2}')"
	tg_log "$tenant: meter: $(tg_stat 13) second runs not counted, $(tg_stat 12) slots looked up again, $(tg_stat 2) packets without a socket, $(tg_stat 0) peers without a slot, $(tg_stat 1) sockets without storage, $(tg_stat "$TG_STAT_HTTP_DESYNC") HTTP streams lost, $(tg_stat "$TG_STAT_HTTP_OTHER") not HTTP, $(tg_stat 11) billing keys not inserted"
	read -r c_rxb c_rxp c_txb c_txp <<<"$(tg_dev_ip_counts "$TG_DEV_GWC")"
	read -r b_rxb b_rxp b_txb b_txp <<<"$(tg_dev_ip_counts "$TG_DEV_GWB")"
	lines=$(wc -l <"$TG_TMP/gw/logs/access.log")
	[ "$lines" -eq "$CLIENTS" ] ||
		tg_die "$tenant: gw's access log has $lines lines, $CLIENTS requests were answered"
	want_c="$c_rxb $c_rxp $c_txb $c_txp $lines"
	want_b="$b_rxb $b_rxp $b_txb $b_txp 0"

	# The running agent books the rest within an interval or two.
	# shellcheck disable=SC2317 # run by tg_wait_for
	booked()
	{
		got_c=$(ledger_of "$tenant" client) &&
			got_b=$(ledger_of "$tenant" backend) &&
			[ "$got_c" = "$want_c" ] && [ "$got_b" = "$want_b" ]
	}
	tg_wait_for 60 "ledger rows equal to $tenant's links and access log" booked
	tg_log "$tenant clients:  ledger $got_c"
	tg_log "$tenant           veth   $want_c (calls: access log)"
	tg_log "$tenant backend:  ledger $got_b"
	tg_log "$tenant           veth   $want_b"
	local -a w g
	local i what=(in-bytes in-packets out-bytes out-packets calls)

	read -r -a w <<<"$want_c $want_b"
	read -r -a g <<<"$got_c $got_b"
	for i in "${!w[@]}"; do
		tg_expect_eq "$tenant $([ "$i" -lt 5 ] && echo clients || echo backend) ${what[i % 5]}" \
			"${w[i]}" "veth, access log" "${g[i]:-0}" ledger
	done
}

phase acme "$TG_GW_PORT" 10.204.0.0

# globex's phase starts on quiet links, its own baseline.
tg_wait_quiet 1
tg_snapshot base
phase globex "$GLOBEX_PORT" 10.206.0.0

rows=$(tg_ledger_export)
bad=$(jq -c 'select(.tenant == "" or .unexplained_bytes != 0)' <<<"$rows")
[ -z "$bad" ] || tg_fail "rows booked to nobody or unexplained: $bad"
jq -c '[.tenant, .service, .backend, .traffic_type, .bytes, .packets, .calls]' \
	<<<"$rows" | while IFS= read -r line; do tg_log "    $line"; done

# The premise: the clients did not fit, and slots came back.
page=$(curl -sf --max-time 5 "$TG_METRICS_URL") ||
	tg_die "cannot read the metrics page $TG_METRICS_URL"
no_slot=$(awk '/^tollgate_overflow_(transmit|receive)_bytes_total\{.*reason="no_slot"/ {
	n += $2 } END { print n + 0 }' <<<"$page")
reclaimed=$(awk '$1 == "tollgate_peer_slots_reclaimed_total" { print $2 }' <<<"$page")
tg_log "overflow without a slot: $no_slot bytes; slots reclaimed: ${reclaimed:-none}"
[ "$no_slot" -gt 0 ] ||
	tg_fail "premise: no byte went to overflow for want of a slot"
[ "${reclaimed:-0}" -gt 0 ] || tg_fail "premise: no slot was reclaimed"
tg_result
