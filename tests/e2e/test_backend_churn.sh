#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# test_backend_churn.sh - backends that change addresses every few seconds,
# while a flood of client addresses takes every client slot, keep their
# classification: each backend's bytes are billed by its own address, to
# the byte.
#
# Backends need their address to be classified (intranet is free, public
# is billed); clients need only their frontend. The agent keeps the last
# --backend-peers slots for backends, so clients never take them, and
# reclaims the slots of quiet peers. Here:
#   cl     manyconn: requests, one connection each from an address
#          of its own (a routed /14), to gw's frontend, proxied to "origin"
#          on gw-be: every client slot is taken, clients overflow;
#   intra  a namespace owning 10.220.0.0/16 (intranet by the
#          configuration), behind its own link gw-intra;
#   pub    one owning 198.51.100.0/24 (public, our cloud and region),
#          behind gw-pub.
# Meanwhile a client asks gw every ROUND seconds for a backend at an
# address never used before, in intra and in pub by turns (nginx proxies
# to the address the request names), so that the backends outnumber their
# slots and live only by reclaiming. Each backend link's veth counters are
# the truth for its backend's ledger rows: "inner" (intranet, free) on
# gw-intra, "outer" (public, billed) on gw-pub, "origin" on gw-be, bytes
# and packets both ways; nothing may be booked to tenant "" or as
# unexplained.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh" || exit 1

ROUNDS=10
ROUND=2
NET=10.204.0.0/14
INTRA=10.220.0.0/16
PUB=198.51.100.0/24

tg_init nginx curl
tg_topology_setup
tg_backend_ns_add intra 10.221.0.1 10.221.0.2 30
tg_backend_ns_add pub 10.222.0.1 10.222.0.2 30
NS_INTRA=tg$TG_ID-intra NS_PUB=tg$TG_ID-pub
tg_cgroup_setup

# The clients' prefix, local in cl; the backends' prefixes, local in
# their namespaces; gw routes each to its link.
tg_clients_prefix "$NET"
ip -n "$NS_INTRA" route add local "$INTRA" dev lo &&
	ip -n "$TG_NS_GW" route add "$INTRA" via 10.221.0.2 dev gw-intra &&
	ip -n "$NS_PUB" route add local "$PUB" dev lo &&
	ip -n "$TG_NS_GW" route add "$PUB" via 10.222.0.2 dev gw-pub ||
	tg_die "cannot route the backends' prefixes"

cfg=$TG_TMP/tollgate.yaml
cat >"$cfg" <<EOF
region: region-1
provider: examplecloud
networks:
  - cidr: $INTRA
    network: intranet
    provider: examplecloud
    region: region-1
  - cidr: $PUB
    network: public
    provider: examplecloud
    region: region-1
services:
  - port: $TG_GW_PORT
    name: api
    tenant: acme
backends:
  - address: $TG_BE4
    port: $TG_BE_PORT
    name: origin
    tenant: acme
    service: api
  - address: $INTRA
    port: $TG_BE_PORT
    name: inner
    tenant: acme
    service: api
  - address: $PUB
    port: $TG_BE_PORT
    name: outer
    tenant: acme
    service: api
EOF
# 64 slots, 8 of them for backends; quiet ones come back after 1 s.
tg_agent_start --config "$cfg" --max-peers 64 --backend-peers "${TG_CHURN_BACKEND_PEERS:-8}" \
	--reclaim-after 1 --interval 1
tg_be_nginx_start
tg_be_nginx_start "$NS_INTRA" intra 0.0.0.0
tg_be_nginx_start "$NS_PUB" pub 0.0.0.0
# /churn/NAME goes to the backend address the request names.
# shellcheck disable=SC2016 # nginx's variables
TG_GW_SERVER_EXTRA='
		location /churn/ {
			rewrite ^/churn/(.*)$ /$1 break;
			proxy_pass http://$http_x_backend:'$TG_BE_PORT';
		}'
tg_gw_nginx_start
tg_be_file f 1500
tg_be_file g 30000

tg_measure_begin
: >"$TG_TMP/gw/logs/access.log"
# The flood: batches of 10,000 clients, each from 40 /24s of its own, until
# the backends are done (a batch always runs to its end).
(
	i=0
	while [ ! -e "$TG_TMP/flood.stop" ] && [ "$i" -lt 25 ]; do
		k=$((i * 40))
		ip netns exec "$TG_NS_CL" "$TG_MANYCONN" \
			"10.$((204 + k / 256)).$((k % 256)).0" 10000 4 \
			"$TG_GWC4:$TG_GW_PORT" /f || exit 1
		i=$((i + 1))
	done
) >"$TG_TMP/flood.out" 2>&1 &
flood=$!

# A new backend address every ROUND seconds: the pacing of the load, not a
# wait for a condition. Intranet and public by turns.
used=()
for round in $(seq 1 "$ROUNDS"); do
	if ((round % 2)); then
		addr=10.220.$round.7
	else
		addr=198.51.100.$round
	fi
	used+=("$addr")
	tg_curl --fail -H "X-Backend: $addr" \
		"http://$TG_GWC4:$TG_GW_PORT/churn/{f,g}?n=[1-5]" >/dev/null ||
		tg_die "requests to backend $addr failed"
	sleep "$ROUND"
done
touch "$TG_TMP/flood.stop"
wait "$flood"
rc=$?
tg_log "flood: $(grep -c '^ok' "$TG_TMP/flood.out") batches of 10,000 clients; backends at ${used[*]}"
[ "$rc" -eq 0 ] || tg_die "the flood's requests failed: $(cat "$TG_TMP/flood.out")"
tg_measure_end

# Every backend request answered, to the address it named.
for addr in "${used[@]}"; do
	n=$(grep -c " 200 [0-9]* $addr:$TG_BE_PORT\$" "$TG_TMP/gw/logs/access.log")
	[ "$n" -eq 10 ] || tg_fail "backend $addr: $n requests answered, 10 sent"
done

# ledger_backend NAME: "IN_BYTES IN_PACKETS OUT_BYTES OUT_PACKETS TYPES"
# of backend NAME's rows, TYPES its outbound traffic types.
# shellcheck disable=SC2317 # run by booked()
ledger_backend()
{
	tg_ledger_export | jq -rs --arg b "$1" '
		map(select(.backend == $b)) |
		def s(f; k): map(select(f) | .[k]) | add // 0;
		"\(s(.traffic_type == "inbound"; "bytes")) \(s(.traffic_type == "inbound"; "packets")) \(s(.traffic_type != "inbound"; "bytes")) \(s(.traffic_type != "inbound"; "packets")) \(map(select(.traffic_type != "inbound") | .traffic_type) | unique | join(","))"'
}

declare -A want
read -r a b c d <<<"$(tg_dev_ip_counts "$TG_DEV_GWB")"
want[origin]="$a $b $c $d outbound_backend_intranet"
read -r a b c d <<<"$(tg_dev_ip_counts gw-intra)"
want[inner]="$a $b $c $d outbound_backend_intranet"
read -r a b c d <<<"$(tg_dev_ip_counts gw-pub)"
want[outer]="$a $b $c $d outbound_backend_public_same_region"

# shellcheck disable=SC2317 # run by tg_wait_for
booked()
{
	local name

	for name in origin inner outer; do
		got[$name]=$(ledger_backend "$name") || return 1
		[ "${got[$name]}" = "${want[$name]}" ] || return 1
	done
}
declare -A got=([origin]="" [inner]="" [outer]="")
tg_wait_for 60 "backend rows equal to their links" booked
for name in origin inner outer; do
	tg_log "$name: ledger ${got[$name]}"
	tg_log "$name: veth   ${want[$name]}"
	[ "${got[$name]}" = "${want[$name]}" ] ||
		tg_fail "backend $name: the ledger is not its link's truth"
done

rows=$(tg_ledger_export)
bad=$(jq -c 'select(.tenant == "" or .unexplained_bytes != 0)' <<<"$rows")
[ -z "$bad" ] || tg_fail "rows booked to nobody or unexplained: $bad"

# The premise: clients overflowed, slots were reclaimed, backends never
# lacked one.
page=$(curl -sf --max-time 5 "$TG_METRICS_URL") ||
	tg_die "cannot read the metrics page $TG_METRICS_URL"
no_slot()
{
	awk -v role="$1" '/^tollgate_overflow_(transmit|receive)_bytes_total\{/ &&
		index($0, "role=\"" role "\"") && /reason="no_slot"/ { n += $2 }
		END { print n + 0 }' <<<"$page"
}
reclaimed=$(awk '$1 == "tollgate_peer_slots_reclaimed_total" { print $2 }' <<<"$page")
tg_log "without a slot: clients $(no_slot client) bytes, backends $(no_slot backend) bytes; slots reclaimed: ${reclaimed:-none}"
[ "$(no_slot client)" -gt 0 ] ||
	tg_fail "premise: no client went without a slot"
[ "${reclaimed:-0}" -gt 0 ] || tg_fail "premise: no slot was reclaimed"
tg_result
