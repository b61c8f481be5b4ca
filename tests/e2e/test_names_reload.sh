#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# test_names_reload.sh - services by host name across a SIGHUP reload, and
# their tenants in the ledger and the bill.
#
# The gateway's nginx serves acme.example, old.globex.example and
# new.globex.example on NAMES_PORT, each server_name with its own access
# log (names of neither: other.log), and any name on LEGACY_PORT
# (legacy.log). The configuration gives acme.example to acme-api (acme),
# old.globex.example to globex-web and LEGACY_PORT, without a host, to
# globex-legacy (both globex). Each phase's requests are of one tenant, so
# that gw-cl's veth counters of the phase are that tenant's client bytes:
#  - before the reload: acme.example (acme), old.globex.example (globex),
#    new.globex.example (no entry: unknown_service, no tenant);
#  - SIGHUP with globex-web's host changed to new.globex.example;
#  - after it: new.globex.example (globex now), old.globex.example (no
#    tenant now), LEGACY_PORT (globex), acme.example (acme, unchanged).
# Then, per tenant: the ledger's client rows (which carry the tenant) equal
# the access logs' lines in calls and the phases' veth counters in bytes
# each way, as dump --by tenant does before the reload; and `tollgate rate` under a plan of 10
# free calls per tenant and month, then 0.01 a call, bills each tenant
# the calls of its access logs less 10, across its hosts and ports (the
# usage of no tenant has no free calls), as computed here from the logs.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh" || exit 1

NAMES_PORT=8090
LEGACY_PORT=8092

tg_init nginx curl jq
tg_topology_setup
tg_cgroup_setup

cfg=$TG_TMP/tollgate.yaml
# write_config GLOBEX_HOST: the configuration, globex-web on GLOBEX_HOST.
write_config()
{
	cat >"$cfg" <<EOF
region: cn-north-1
provider: jdcloud
services:
  - port: $NAMES_PORT
    host: acme.example
    name: acme-api
    tenant: acme
  - port: $NAMES_PORT
    host: $1
    name: globex-web
    tenant: globex
  - port: $LEGACY_PORT
    name: globex-legacy
    tenant: globex
backends:
  - address: $TG_BE4
    port: $TG_BE_PORT
    name: origin
EOF
	out=$("$TG_BIN" check-config "$cfg" 2>&1) ||
		tg_die "check-config refused the configuration: $out"
}
write_config old.globex.example

# Booked at the start, at the reload and at the exit, and at most once
# more (an hour's boundary): a reload must book what was counted before
# it under the configuration it was counted under, not leave it to the
# next interval, which books it under the new one.
tg_agent_start --config "$cfg" --interval 3600
tg_be_nginx_start
logs=$TG_TMP/gw/logs
# server PORT NAME LOG [default_server]
server()
{
	cat <<EOF
	server {
		listen $TG_GWC4:$1 ${4:-};
		server_name $2;
		access_log $logs/$3.log tg;
		proxy_http_version 1.1;
		proxy_set_header Connection "";
		location / {
			proxy_pass http://be4;
		}
	}
EOF
}
TG_GW_HTTP_EXTRA="$(server "$NAMES_PORT" _ other default_server)
$(server "$NAMES_PORT" acme.example acme)
$(server "$NAMES_PORT" old.globex.example old)
$(server "$NAMES_PORT" new.globex.example new)
$(server "$LEGACY_PORT" _ legacy default_server)"
tg_gw_nginx_start
tg_be_file f 3000
for l in other acme old new legacy; do
	touch "$logs/$l.log"
done
# lines LOG: the requests LOG's server answered
lines() { grep -c '" 200 ' "$logs/$1.log"; }

declare -A IN OUT CALLS
for t in acme globex none; do
	IN[$t]=0 OUT[$t]=0 CALLS[$t]=0
done
first=1
# phase TENANT LOG PORT HOST N: N requests to PORT with Host: HOST on one
# connection, measured alone; gw-cl's bytes and LOG's new lines are
# TENANT's.
phase()
{
	local tenant=$1 log=$logs/$2.log port=$3 host=$4 n=$5 lines rx tx calls

	if [ "$first" = 1 ]; then
		tg_measure_begin
		first=0
	else
		tg_wait_quiet 1
		tg_snapshot base
	fi
	lines=$(wc -l <"$log")
	tg_curl --fail -o /dev/null -H "Host: $host" \
		"http://$TG_GWC4:$port/f?n=[1-$n]" >"$TG_TMP/phase.log" 2>&1 ||
		tg_die "$tenant: requests for $host:$port failed: $(tail -n3 "$TG_TMP/phase.log")"
	tg_measure_end
	read -r rx _ tx _ <<<"$(tg_dev_ip_counts "$TG_DEV_GWC")"
	calls=$(tail -n +$((lines + 1)) "$log" | grep -c '" 200 ')
	[ "$calls" -eq "$n" ] ||
		tg_die "$tenant: $2.log has $calls of the $n requests for $host:$port"
	IN[$tenant]=$((IN[$tenant] + rx))
	OUT[$tenant]=$((OUT[$tenant] + tx))
	CALLS[$tenant]=$((CALLS[$tenant] + calls))
	tg_log "$tenant: $n requests for $host:$port -> $2.log $calls lines, gw-cl rx $rx, tx $tx IP bytes"
}

# check_dump WHEN TENANT...: dump --by tenant's client rows of each TENANT
# against the access logs and the veth counters so far. dump classifies
# the kernel's counters since the start under the configuration in force,
# so after the reload it is checked on the tenant the reload left alone;
# the ledger, booked at the reload too, is checked on all of them.
check_dump()
{
	local when=$1 tenant row dump

	shift
	dump=$("$TG_BIN" dump --pin-dir "$TG_PIN" --by tenant --format json 2>/dev/null) ||
		tg_fail "dump --by tenant failed"
	tg_log "dump --by tenant $when: $(jq -c '[.rows[] | {role, tenant, bytes_in, bytes_out, calls}]' <<<"$dump")"
	for tenant in "$@"; do
		row=$(jq -c --arg t "${tenant/none/}" '[.rows[] | select(.tenant == $t and .role == "client")] |
			{calls: (map(.calls) | add // 0), in: (map(.bytes_in) | add // 0),
			 out: (map(.bytes_out) | add // 0)}' <<<"$dump")
		tg_expect_eq "dump $when: $tenant's calls" "${CALLS[$tenant]}" \
			"access logs" "$(jq .calls <<<"$row")" dump
		tg_expect_eq "dump $when: $tenant's client bytes in" "${IN[$tenant]}" \
			veth "$(jq .in <<<"$row")" dump
		tg_expect_eq "dump $when: $tenant's client bytes out" "${OUT[$tenant]}" \
			veth "$(jq .out <<<"$row")" dump
	done
}

phase acme acme "$NAMES_PORT" acme.example 6
phase globex old "$NAMES_PORT" old.globex.example 5
phase none new "$NAMES_PORT" new.globex.example 3
check_dump "before the reload" acme globex none

# The reload: globex-web moves from old.globex.example to
# new.globex.example.
write_config new.globex.example
old_at=$(lines old) new_at=$(lines new)
before=$(wc -l <"$TG_AGENT_LOG")
# shellcheck disable=SC2317 # run by tg_wait_for
reloaded()
{
	tail -n +"$((before + 1))" "$TG_AGENT_LOG" |
		grep -qE "reload(ed: configuration| failed)"
}
kill -HUP "$TG_AGENT_PID" || tg_die "cannot signal the agent"
tg_wait_for 30 "the reload in the agent's log" reloaded ||
	tg_fail "no reload: $(tail -n +"$((before + 1))" "$TG_AGENT_LOG")"
tail -n +"$((before + 1))" "$TG_AGENT_LOG" | grep -q "reloaded: configuration" ||
	tg_die "reload failed: $(tail -n +"$((before + 1))" "$TG_AGENT_LOG")"
tg_log "reloaded: globex-web is new.globex.example now"
for t in "globex new.globex.example" " old.globex.example"; do
	read -r tenant name <<<"$t"
	[ -n "$name" ] || { name=$tenant; tenant=; }
	got=$("$TG_BIN" classify --pin-dir "$TG_PIN" --role client \
		--format json --host "$name" "$TG_CL4:$NAMES_PORT" 2>/dev/null |
		jq -r '.[0].tenant') || tg_fail "classify --host $name failed"
	[ "$got" = "$tenant" ] ||
		tg_fail "classify --host $name after the reload: tenant '$got', not '$tenant'"
done

phase globex new "$NAMES_PORT" new.globex.example 7
phase none old "$NAMES_PORT" old.globex.example 2
phase globex legacy "$LEGACY_PORT" legacy.example 4
phase acme acme "$NAMES_PORT" acme.example 3
check_dump "after the reload" acme

# The ledger: its client rows (no backend) carry the tenant. The agent
# books the rest as it exits.
total=$((CALLS[acme] + CALLS[globex] + CALLS[none]))
tg_agent_stop TERM
[ "$TG_AGENT_RC" -eq 0 ] || tg_fail "the agent exited with $TG_AGENT_RC"
rows=$(tg_ledger_export) || tg_fail "ledger export failed"
[ "$(jq -s 'map(.calls) | add // 0' <<<"$rows")" -eq "$total" ] ||
	tg_fail "the ledger has not every call ($total): $rows"
for tenant in acme globex none; do
	sums=$(jq -sc --arg t "${tenant/none/}" 'map(select(.tenant == $t and .backend == "")) |
		{calls: (map(.calls) | add // 0),
		 in: (map(select(.traffic_type == "inbound") | .bytes) | add // 0),
		 out: (map(select(.traffic_type == "outbound_client") | .bytes) | add // 0),
		 services: (map(.service) | unique)}' <<<"$rows")
	tg_log "ledger: $tenant: $sums"
	tg_expect_eq "ledger: $tenant's calls" "${CALLS[$tenant]}" "access logs" \
		"$(jq .calls <<<"$sums")" ledger
	tg_expect_eq "ledger: $tenant's client bytes in" "${IN[$tenant]}" veth \
		"$(jq .in <<<"$sums")" ledger
	tg_expect_eq "ledger: $tenant's client bytes out" "${OUT[$tenant]}" veth \
		"$(jq .out <<<"$sums")" ledger
done
svcs=$(jq -sc '[.[] | select(.tenant == "globex" and .backend == "") | .service] | unique' <<<"$rows")
[ "$svcs" = '["globex-legacy","globex-web"]' ] ||
	tg_fail "ledger: globex's client rows are of services $svcs, not globex-legacy and globex-web"
# Per service: globex-web's calls are old.globex.example's up to the
# reload and new.globex.example's after it.
for t in "globex-web $((old_at + $(lines new) - new_at))" "globex-legacy $(lines legacy)"; do
	read -r svc n <<<"$t"
	tg_expect_eq "ledger: $svc's calls" "$n" "access logs" \
		"$(jq -s --arg s "$svc" 'map(select(.service == $s) | .calls) | add // 0' <<<"$rows")" ledger
done

# The bill: 10 free calls per tenant and month, across its hosts and
# ports, then 0.01 a call; traffic free, so that the bill is the calls'.
plan=$TG_TMP/plan.yaml
cat >"$plan" <<EOF
plan: names-test
currency: CNY
time_zone: Asia/Shanghai
calls:
  free_per_month: 10
  unit: 1
  price_per_unit: 0.01
traffic:
  inbound: 0
  outbound_client: 0
  outbound_backend_intranet: 0
  outbound_backend_public_same_region: 0
  outbound_backend_other_region: 0
  outbound_backend_internet: 0
  outbound_scf_same_region: 0
  outbound_scf_other_region: 0
EOF
month=$(TZ=Asia/Shanghai date +%Y-%m)
bill=$("$TG_BIN" rate --ledger "$TG_LEDGER" --plan "$plan" --month "$month" \
	--format json 2>"$TG_TMP/rate.err") ||
	tg_fail "rate failed: $(cat "$TG_TMP/rate.err")"
# cents N FREE: the cost in cents of N calls with FREE of them free
cents() { local b=$(($1 - $2)); echo $((b > 0 ? b : 0)); }
# By hand, from the access logs' lines per server_name: old.globex.example
# is globex's up to the reload and no tenant's after it, new.globex.example
# the other way round.
acme=$(lines acme)
globex=$((old_at + $(lines new) - new_at + $(lines legacy)))
none=$((new_at + $(lines old) - old_at + $(lines other)))
[ $((acme + globex + none)) -eq "$total" ] ||
	tg_die "the access logs hold $((acme + globex + none)) calls, the phases $total"
for t in "acme $acme 10" "globex $globex 10" "none $none 0"; do
	read -r tenant n free <<<"$t"
	if [ "$tenant" = none ]; then
		obj=$(jq -c '.unattributed' <<<"$bill")
	else
		obj=$(jq -c --arg t "$tenant" '.tenants[] | select(.tenant == $t)' <<<"$bill")
	fi
	c=$(cents "$n" "$free")
	want=$(printf '%d.%02d' $((c / 100)) $((c % 100)))
	tg_expect_eq "bill: $tenant's calls" "$n" "access logs" \
		"$(jq -r .calls <<<"$obj")" bill
	for f in calls_cost total; do
		got=$(jq -r ".$f" <<<"$obj")
		[ "$got" = "$want" ] ||
			tg_fail "bill: $tenant's $f: expected $want (by hand from the access logs), got $got"
	done
done
tg_log "bill: $(jq -c '[.tenants[] | {tenant, calls, free_calls, billed_calls, total}], .unattributed.total, .total' <<<"$bill" | tr '\n' ' ')"
tg_result
