#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# test_reload.sh - the agent loads its configuration before attaching,
# reloads it on SIGHUP, keeps the old one when the new one is wrong, and
# the meter counts exactly throughout.
#
# - run --config on a missing file, or on a wrong one, exits non-zero with
#   file:line:column: field, and attaches nothing; check-config agrees;
# - a good configuration with a range file loads; while requests flow
#   through the gateway, SIGHUP swaps in a changed file, then a broken
#   range file and a broken YAML file are refused with their location
#   (the agent lives on), then a fixed file loads again;
# - the programs behind the pinned links never change, and the meter's
#   per-peer totals equal gw's veth counters to the byte.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh" || exit 1

tg_init nginx curl
tg_topology_setup
tg_cgroup_setup

cfg=$TG_TMP/etc/tollgate.yaml
mkdir -p "$TG_TMP/etc/ranges"
# tg_write_config REGION: a valid configuration naming REGION.
tg_write_config()
{
	cat >"$cfg" <<EOF2
region: $1
provider: examplecloud
networks:
  - cidr: 10.201.2.0/24
    network: intranet
    provider: examplecloud
    region: $1
ranges:
  - file: ranges/example.csv
    format: csv
    provider: examplecloud
services:
  - port: $TG_GW_PORT
    name: api
    tenant: acme
EOF2
}
printf '# test ranges\n198.51.100.0/24,%s\n203.0.113.0/24,other-1\n' \
	region-1 >"$TG_TMP/etc/ranges/example.csv"

# A wrong file stops the agent before it attaches anything.
out=$("$TG_BIN" run --cgroup "$TG_CG" --pin-dir "$TG_PIN" --no-summary \
	--config "$TG_TMP/etc/missing.yaml" 2>&1) &&
	tg_fail "run with a missing --config file succeeded"
grep -q "missing.yaml: No such file or directory" <<<"$out" ||
	tg_fail "missing config: unexpected message: $out"
printf 'region: r\nprovider: p\nregoin: x\n' >"$TG_TMP/etc/typo.yaml"
out=$("$TG_BIN" run --cgroup "$TG_CG" --pin-dir "$TG_PIN" --no-summary \
	--config "$TG_TMP/etc/typo.yaml" 2>&1) &&
	tg_fail "run with a wrong --config file succeeded"
grep -q "typo.yaml:3:1: regoin: unknown setting 'regoin'" <<<"$out" ||
	tg_fail "wrong config: unexpected message: $out"
# So does a value the file's syntax allows and run cannot use.
printf 'region: r\nprovider: p\nmetrics:\n  plan: jdcluod\n' \
	>"$TG_TMP/etc/plan.yaml"
out=$("$TG_BIN" run --cgroup "$TG_CG" --pin-dir "$TG_PIN" --no-summary \
	--config "$TG_TMP/etc/plan.yaml" 2>&1) &&
	tg_fail "run with an unknown metrics.plan succeeded"
grep -q "plan.yaml:4:9: metrics.plan: no built-in plan 'jdcluod'" <<<"$out" ||
	tg_fail "unknown plan: unexpected message: $out"
[ -e "$TG_PIN" ] && tg_fail "a refused configuration left pins in $TG_PIN"
[ -z "$(tg_cgroup_progs)" ] ||
	tg_fail "a refused configuration attached programs: $(tg_cgroup_progs)"
tg_log "missing and wrong --config files refused before attaching"

# check-config says the same, and names a range file that is not there
# where the configuration names it.
out=$("$TG_BIN" check-config "$TG_TMP/etc/typo.yaml" 2>&1) &&
	tg_fail "check-config accepted a wrong file"
grep -q "typo.yaml:3:1: regoin: unknown setting" <<<"$out" ||
	tg_fail "check-config: unexpected message: $out"
printf 'region: r\nprovider: p\nranges:\n  - file: nope.csv\n    format: csv\n' \
	>"$TG_TMP/etc/norange.yaml"
out=$("$TG_BIN" check-config "$TG_TMP/etc/norange.yaml" 2>&1) &&
	tg_fail "check-config accepted a missing range file"
grep -q "norange.yaml:4:11: ranges\[0\].file: '.*/nope.csv': cannot read" <<<"$out" ||
	tg_fail "check-config: unexpected message: $out"

tg_write_config region-1
tg_agent_start --config "$cfg"
log=$TG_AGENT_LOG
tg_wait_log "$log" "loaded: configuration $cfg: region region-1, .*\(2 from 1 range files\)" ||
	tg_fail "the agent did not log the configuration it loaded"
ids=$(tg_link_prog_ids)
tg_be_nginx_start
tg_gw_nginx_start
tg_be_file f 3000

tg_measure_begin
# Requests flow during every reload below.
(
	trap - EXIT INT TERM
	exec ip netns exec "$TG_NS_CL" curl --noproxy '*' -sS --fail \
		--max-time 120 --rate 20/s -o /dev/null \
		"http://$TG_GWC4:$TG_GW_PORT/f?n=[1-100]"
) &
curl_pid=$!
TG_PIDS+=("$curl_pid")

# logged_since LINE PATTERN: the agent's log has a line matching PATTERN
# after its first LINE lines.
# shellcheck disable=SC2317 # run by tg_wait_for
logged_since()
{
	tail -n +"$(($1 + 1))" "$log" | grep -qE "$2"
}

# tg_hup PATTERN WHAT: SIGHUP the agent, wait for PATTERN in its log.
tg_hup()
{
	local before

	before=$(wc -l <"$log")
	kill -HUP "$TG_AGENT_PID" || tg_die "cannot signal the agent"
	tg_wait_for 30 "log line matching '$1'" logged_since "$before" "$1"
	if tail -n +"$((before + 1))" "$log" | grep -qE "$1"; then
		tg_log "$2: $(tail -n +"$((before + 1))" "$log" | grep -E "$1" | head -n1)"
	else
		tg_fail "$2: no log line matching '$1'; log: $(tail -n +"$((before + 1))" "$log")"
	fi
	kill -0 "$TG_AGENT_PID" 2>/dev/null || tg_die "the agent died on SIGHUP"
}

# shellcheck disable=SC2317 # run by tg_wait_for
requests_flow()
{
	[ -s "$TG_TMP/gw/logs/access.log" ]
}
tg_wait_for 30 "requests in gw's access log" requests_flow ||
	tg_fail "requests do not flow through the gateway"
tg_write_config region-2
tg_hup "reloaded: configuration $cfg: region region-2" "changed file"

printf '198.51.100.0/24,region-1\n203.0.113.0/24,other-1\n203.0.113.1/24,x\n' \
	>"$TG_TMP/etc/ranges/example.csv"
tg_write_config region-3
tg_hup "reload failed, keeping the configuration in force: [^ ]*/ranges/example.csv:3:1: cidr: host bits set" \
	"broken range file"

printf '198.51.100.0/24,region-1\n' >"$TG_TMP/etc/ranges/example.csv"
printf 'region: region-4\nprovider: examplecloud\nservices:\n  - port: "80"\n    name: x\n' >"$cfg"
tg_hup "reload failed, keeping the configuration in force: $cfg:4:11: services\[0\]\.port: " \
	"broken YAML file"

printf 'region: region-4\nprovider: examplecloud\nmetrics:\n  listen: 127.0.0.1:195550\n' >"$cfg"
tg_hup "reload failed, keeping the configuration in force: $cfg:4:11: metrics\.listen: '127\.0\.0\.1:195550' is not ADDR:PORT" \
	"metrics.listen run cannot use"

tg_write_config region-5
tg_hup "reloaded: configuration $cfg: region region-5, .*\(1 from 1 range files\)" \
	"fixed file"

wait "$curl_pid" || tg_fail "requests failed during the reloads"
tg_measure_end

[ "$(tg_link_prog_ids)" = "$ids" ] ||
	tg_fail "programs behind the pinned links changed: $ids -> $(tg_link_prog_ids)"
n=$(grep -c '" 200 ' "$TG_TMP/gw/logs/access.log")
[ "$n" -eq 100 ] || tg_fail "gw access log: expected 100 requests, got $n"
tg_check_peer reload "$TG_DUMP" "$TG_CL4" client "$TG_GW_PORT" tcp "$TG_DEV_GWC"
tg_check_peer reload "$TG_DUMP" "$TG_BE4" backend "$TG_BE_PORT" tcp "$TG_DEV_GWB"
tg_check_only_peers "$TG_DUMP" "$TG_CL4" "$TG_BE4"
tg_result
