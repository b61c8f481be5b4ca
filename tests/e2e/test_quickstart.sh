#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# test_quickstart.sh - the README's quick start, step by step, on a real
# nginx gateway in a namespace topology, billing two tenants.
#
# A configuration with two tenants on two frontend ports (acme on
# TG_GW_PORT, globex on 8084, both proxied to the backend "origin"):
# check-config accepts it; classify, told only the agent's pin directory,
# names each frontend's tenant; the agent meters the gateway's cgroup;
# each tenant's clients come in a phase of their own, so that gw-cl's veth
# counters of the phase are that tenant's client bytes. Then, as the quick
# start reads them: dump --by tenant, status, and the month's bill under
# the jdcloud plan. Per tenant, dump's and the bill's calls equal the
# access log's lines for its port, and the bill's outbound_client bytes
# equal what gw sent on gw-cl in its phase.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh" || exit 1

GLOBEX_PORT=8084

tg_init nginx curl
tg_topology_setup
tg_cgroup_setup

cfg=$TG_TMP/tollgate.yaml
cat >"$cfg" <<EOF
region: cn-north-1
provider: jdcloud
services:
  - port: $TG_GW_PORT
    name: api
    tenant: acme
  - port: $GLOBEX_PORT
    name: web
    tenant: globex
backends:
  - address: $TG_BE4
    port: $TG_BE_PORT
    name: origin
EOF
out=$("$TG_BIN" check-config "$cfg" 2>&1) ||
	tg_die "check-config refused the quick start's configuration: $out"
tg_log "check-config: $out"

tg_agent_start --config "$cfg"
tg_be_nginx_start
TG_GW_HTTP_EXTRA="
	server {
		listen $TG_GWC4:$GLOBEX_PORT;
		location / {
			proxy_pass http://be4;
		}
	}
"
tg_gw_nginx_start
tg_be_file f 3000

# classify, told only where the agent's pins are, finds its configuration.
for t in "acme $TG_GW_PORT" "globex $GLOBEX_PORT"; do
	read -r tenant port <<<"$t"
	got=$("$TG_BIN" classify --pin-dir "$TG_PIN" --role client \
		--format json "$TG_CL4:$port" 2>/dev/null | jq -r '.[0].tenant') ||
		tg_fail "classify $TG_CL4:$port failed"
	[ "$got" = "$tenant" ] ||
		tg_fail "classify $TG_CL4:$port: tenant '$got', not $tenant"
done

# phase TENANT PORT N: N requests to PORT and one more that closes, measured
# alone (the first on an empty meter); TENANT's client
# bytes out and calls into SENT[TENANT] and CALLS[TENANT].
declare -A SENT CALLS
phase()
{
	local tenant=$1 port=$2 n=$3

	if [ "$tenant" = acme ]; then
		tg_measure_begin
	else
		tg_wait_quiet 1
		tg_snapshot base
	fi
	: >"$TG_TMP/gw/logs/access.log"
	tg_curl --fail -o /dev/null "http://$TG_GWC4:$port/f?n=[1-$n]" ||
		tg_die "$tenant's requests failed"
	tg_curl --fail -o /dev/null -H 'Connection: close' \
		"http://$TG_GWC4:$port/f?last" || tg_die "$tenant's last request failed"
	tg_measure_end
	read -r _ _ "SENT[$tenant]" _ <<<"$(tg_dev_ip_counts "$TG_DEV_GWC")"
	CALLS[$tenant]=$(grep -c '" 200 ' "$TG_TMP/gw/logs/access.log")
	tg_log "$tenant: gw sent $((SENT[$tenant])) IP bytes on gw-cl, answered ${CALLS[$tenant]} requests"
}
phase acme "$TG_GW_PORT" 7
phase globex "$GLOBEX_PORT" 12

# dump --by tenant, without --config: the agent's configuration.
dump=$("$TG_BIN" dump --pin-dir "$TG_PIN" --by tenant --format json 2>/dev/null) ||
	tg_fail "dump --by tenant failed"
for tenant in acme globex; do
	got=$(jq --arg t "$tenant" '[.rows[] | select(.tenant == $t) | .calls] | add // 0' <<<"$dump")
	tg_expect_eq "dump --by tenant: $tenant's calls" "${CALLS[$tenant]}" \
		"access log" "$got" dump
done

out=$("$TG_BIN" status --pin-dir "$TG_PIN" 2>&1) || tg_fail "status: $out"

# The bill of the month, once the agent has booked every call.
month=$(TZ=Asia/Shanghai date +%Y-%m)
# shellcheck disable=SC2317 # run by tg_wait_for
billed()
{
	bill=$("$TG_BIN" rate --ledger "$TG_LEDGER" --plan jdcloud \
		--month "$month" --format json 2>/dev/null) &&
		[ "$(jq '[.tenants[].calls] | add // 0' <<<"$bill")" -eq \
			$((CALLS[acme] + CALLS[globex])) ]
}
tg_wait_for 30 "every call in the month's bill" billed ||
	tg_fail "the bill: $bill"
for tenant in acme globex; do
	t=$(jq -c --arg t "$tenant" '.tenants[] | select(.tenant == $t)' <<<"$bill")
	tg_expect_eq "bill: $tenant's calls" "${CALLS[$tenant]}" "access log" \
		"$(jq '.calls' <<<"$t")" bill
	tg_expect_eq "bill: $tenant's outbound_client bytes" "${SENT[$tenant]}" \
		"veth" "$(jq '[.days[].lines[] | select(.traffic_type == "outbound_client") | .bytes] | add // 0' <<<"$t")" bill
done
[ "$(jq '.unattributed.calls + .unattributed.unexplained_bytes' <<<"$bill")" -eq 0 ] ||
	tg_fail "the bill has usage of no tenant: $(jq -c '.unattributed' <<<"$bill")"
tg_log "bill: $(jq -c '[.tenants[] | {tenant, calls, total}], .total' <<<"$bill" | tr '\n' ' ')"
tg_result
