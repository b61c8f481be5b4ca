#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# test_classify.sh - billable and free bytes per backend are exact.
#
# The nginx gateway in gw proxies a client's requests to four backends,
# each in a namespace of its own behind a link of its own, and each at an
# address of another kind (the configuration's networks and range file say
# which):
#
#   be     10.201.2.2     intranet, our cloud, our region   free
#   pub    198.51.100.2   public, our cloud, our region     billed
#   other  203.0.113.2    our cloud, another region         billed (range file)
#   inet   2001:db8:4::2  nobody's cloud: internet          billed
#
# Per backend, 'dump --by backend' must show as billable (or free) exactly
# the IP bytes gw sent on that backend's link, and as inbound exactly what
# it received; the client's bytes are billed outbound_client; the peer rows
# carry the right traffic type, names and flags, and 'tollgate classify'
# agrees with them.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh" || exit 1

tg_init nginx curl
tg_topology_setup
tg_backend_ns_add pub 198.51.100.1 198.51.100.2 24
tg_backend_ns_add other 203.0.113.1 203.0.113.2 24
tg_backend_ns_add inet 2001:db8:4::1 2001:db8:4::2 64
PUB=198.51.100.2 OTHER=203.0.113.2 INET=2001:db8:4::2
tg_cgroup_setup

cfg=$TG_TMP/tollgate.yaml
cat >"$cfg" <<YAML
region: region-1
provider: examplecloud
networks:
  - cidr: 10.201.0.0/16
    network: intranet
    provider: examplecloud
    region: region-1
  - cidr: 198.51.100.0/24
    network: public
    provider: examplecloud
    region: region-1
ranges:
  - file: ranges.csv
    format: csv
    provider: examplecloud
services:
  - port: $TG_GW_PORT
    protocol: tcp
    name: api
    tenant: acme
backends:
  - address: $TG_BE4
    port: $TG_BE_PORT
    name: orders
    tenant: acme
    service: api
  - address: $PUB
    port: $TG_BE_PORT
    name: images
    tenant: acme
  - address: $OTHER
    name: reports
    tenant: globex
  - address: 2001:db8:4::/64
    name: partner
    tenant: globex
YAML
printf '# cidr,region\n203.0.113.0/24,region-2\n' >"$TG_TMP/ranges.csv"
"$TG_BIN" check-config "$cfg" >/dev/null || tg_die "check-config refused $cfg"

# tg_classify_is WANT ARGS...: 'tollgate classify ARGS' says WANT, "type
# billable backend+service rule-prefix".
tg_classify_is()
{
	local want=$1 got

	shift
	got=$("$TG_BIN" classify --config "$cfg" --format json "$@" |
		jq -r '.[0] | "\(.traffic_type) \(.billable) \(.backend)\(.service) \(.rule.prefix)"') ||
		tg_die "tollgate classify $* failed"
	tg_log "classify $*: $got"
	[ "$got" = "$want" ] || tg_fail "classify $*: expected '$want', got '$got'"
}
tg_classify_is "outbound_backend_intranet false ordersapi 10.201.0.0/16" \
	"$TG_BE4:$TG_BE_PORT"
tg_classify_is "outbound_backend_public_same_region true images 198.51.100.0/24" \
	"$PUB:$TG_BE_PORT"
tg_classify_is "outbound_backend_other_region true reports 203.0.113.0/24" \
	"$OTHER:$TG_BE_PORT"
tg_classify_is "outbound_backend_internet true partner ::/0" \
	"[$INET]:$TG_BE_PORT"
tg_classify_is "outbound_client true api 10.201.0.0/16" \
	--role client "$TG_CL4:$TG_GW_PORT"

tg_agent_start --config "$cfg"
tg_be_nginx_start
tg_be_nginx_start "tg$TG_ID-pub" pub "$PUB"
tg_be_nginx_start "tg$TG_ID-other" other "$OTHER"
tg_be_nginx_start "tg$TG_ID-inet" inet "$INET"
for name in pub other inet; do
	addr=${name^^}
	addr=${!addr}
	case $addr in *:*) addr="[$addr]" ;; esac
	TG_GW_HTTP_EXTRA+="
	upstream $name {
		server $addr:$TG_BE_PORT;
		keepalive 16;
		keepalive_timeout 120s;
		keepalive_requests 100000;
	}"
	TG_GW_SERVER_EXTRA+="
		location /$name/ {
			proxy_pass http://$name/;
		}"
done
tg_gw_nginx_start
for i in 0 1 2 3 4 5 6 7; do
	tg_be_file "f$i" $((i * i * i * 97 + 13))
done

tg_measure_begin
# Each backend gets its own mix, so no two links carry the same bytes.
gwurl=http://$TG_GWC4:$TG_GW_PORT
tg_curl --fail --parallel --parallel-max 4 \
	"$gwurl/f{0,1,2,3,4,5,6,7}?n=[1-10]" \
	"$gwurl/pub/f{0,2,4,6}?n=[1-15]" \
	"$gwurl/other/f{1,3,5,7}?n=[1-20]" \
	"$gwurl/inet/f{5,6,7}?n=[1-25]" >/dev/null ||
	tg_die "requests failed"
tg_curl --fail -H 'Connection: close' "$gwurl/inet/f1?n=[1-10]" \
	"$gwurl/pub/f7?n=[1-10]" >/dev/null ||
	tg_die "Connection: close requests failed"
tg_measure_end
n=$(grep -c '" 200 ' "$TG_TMP/gw/logs/access.log")
[ "$n" -eq 315 ] || tg_fail "gw access log: expected 315 requests, got $n"

# The counters themselves, per peer, against each link.
tg_check_peer classify "$TG_DUMP" "$TG_CL4" client "$TG_GW_PORT" tcp "$TG_DEV_GWC"
tg_check_peer classify "$TG_DUMP" "$TG_BE4" backend "$TG_BE_PORT" tcp "$TG_DEV_GWB"
tg_check_peer classify "$TG_DUMP" "$PUB" backend "$TG_BE_PORT" tcp gw-pub
tg_check_peer classify "$TG_DUMP" "$OTHER" backend "$TG_BE_PORT" tcp gw-other
tg_check_peer classify "$TG_DUMP" "$INET" backend "$TG_BE_PORT" tcp gw-inet
tg_check_only_peers "$TG_DUMP" "$TG_CL4" "$TG_BE4" "$PUB" "$OTHER" "$INET"

dump=$(tg_dump --config "$cfg") || tg_die "dump --config failed"
byb=$(tg_dump --config "$cfg" --by backend) || tg_die "dump --by backend failed"
byt=$(tg_dump --config "$cfg" --by traffic_type) ||
	tg_die "dump --by traffic_type failed"
tg_log "dump --by backend:"
tg_show_dump "$(jq '.rows' <<<"$byb")"

# tg_check_billing LABEL ROLE BACKEND DEV TYPE BILLED PEER FLAGS TENANT
# BACKEND's group in --by backend holds exactly DEV's bytes: outbound
# bytes all billable (BILLED true) or all free, inbound bytes as received;
# the peer's row says TYPE, BILLED, FLAGS and TENANT.
tg_check_billing()
{
	local label=$1 role=$2 be=$3 dev=$4 type=$5 billed=$6 peer=$7
	local flags=$8 tenant=$9 rx tx got want bill=0 free=0

	read -r rx tx <<<"$(tg_dev_ip_bytes "$dev")"
	if [ "$billed" = true ]; then bill=$tx; else free=$tx; fi
	got=$(jq -r --arg r "$role" --arg b "$be" '[.rows[] |
		select(.role == $r and .backend == $b and (.overflow | not))] |
		"\(length) \(.[0].billable_bytes) \(.[0].free_bytes) \(.[0].bytes_in)"' <<<"$byb")
	want="1 $bill $free $rx"
	tg_log "$label: billable free in: meter ${got#1 }, veth ${want#1 }"
	[ "$got" = "$want" ] ||
		tg_fail "$label: --by backend group $role '$be': expected (rows billable free in) '$want', got '$got'"
	got=$(jq -r --arg p "$peer" '.[] | select(.peer == $p) |
		"\(.traffic_type) \(.billable) \(.flags | join(",")) \(.tenant)"' <<<"$dump")
	want="$type $billed $flags $tenant"
	[ "$got" = "$want" ] ||
		tg_fail "$label: peer $peer: expected '$want', got '$got'"
}
tg_check_billing intranet backend orders "$TG_DEV_GWB" \
	outbound_backend_intranet false "$TG_BE4" "" acme
tg_check_billing public backend images gw-pub \
	outbound_backend_public_same_region true "$PUB" "" acme
tg_check_billing other-region backend reports gw-other \
	outbound_backend_other_region true "$OTHER" "" globex
tg_check_billing internet backend partner gw-inet \
	outbound_backend_internet true "$INET" "" globex
tg_check_billing client client "" "$TG_DEV_GWC" \
	outbound_client true "$TG_CL4" "" acme

# Totals: everything gw sent is billable but what went to the intranet
# backend, and the traffic-type view says the same.
read -r _ free <<<"$(tg_dev_ip_bytes "$TG_DEV_GWB")"
sent=0
for dev in "$TG_DEV_GWC" "$TG_DEV_GWB" gw-pub gw-other gw-inet; do
	read -r _ tx <<<"$(tg_dev_ip_bytes "$dev")"
	sent=$((sent + tx))
done
for view in "$byb" "$byt"; do
	got=$(jq -r '.total | "\(.bytes_out) \(.billable_bytes) \(.free_bytes)"' <<<"$view")
	want="$sent $((sent - free)) $free"
	[ "$got" = "$want" ] ||
		tg_fail "$(jq -r .by <<<"$view") totals (out billable free): expected '$want', got '$got'"
done
tg_log "totals: $sent B sent, $((sent - free)) B billable, $free B free"
got=$(jq -r '[.rows[] | select(.traffic_type == "outbound_backend_intranet")] |
	"\(length) \(.[0].free_bytes) \(.[0].billable_bytes) \(.[0].peers)"' <<<"$byt")
[ "$got" = "1 $free 0 1" ] ||
	tg_fail "traffic_type view: outbound_backend_intranet row: expected '1 $free 0 1', got '$got'"

# The table and the CSV view carry the same totals.
"$TG_BIN" dump --pin-dir "$TG_PIN" --config "$cfg" --raw --wide \
	>"$TG_TMP/table" || tg_fail "dump --wide failed"
grep -q "^out: $((sent - free)) billable, $free free;" "$TG_TMP/table" ||
	tg_fail "table: no line 'out: $((sent - free)) billable, $free free': $(cat "$TG_TMP/table")"
"$TG_BIN" dump --pin-dir "$TG_PIN" --config "$cfg" --by tenant --format csv \
	>"$TG_TMP/tenant.csv" || tg_fail "dump --by tenant --format csv failed"
got=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
	$col["total"] == "true" { print $col["billable_bytes"] + $col["free_bytes"] }' \
	"$TG_TMP/tenant.csv")
[ "$got" = "$sent" ] || tg_fail "tenant CSV total: expected $sent, got '$got'"
tg_result
