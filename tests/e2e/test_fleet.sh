#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# test_fleet.sh - the agent ships its ledger to a fleet ledger in
# PostgreSQL every interval; the database goes away in the middle of the
# run, the agent is killed and started again while it is away, and when
# the database is back everything catches up: nothing lost, nothing
# counted twice.
#
# A PostgreSQL cluster of the test's own (127.0.0.1, a free port) takes
# the agent's rows (--ship, interval 1 s) while wrk drives keep-alive load
# through the nginx gateway. Half way the server is stopped; the agent
# says once that it is unreachable and goes on booking locally; it is
# SIGKILLed and started again (the shipped mark is in the ledger, not in
# memory); the server starts again and the agent says once that it is
# back. With the links quiet, the fleet ledger's rows must equal the local
# ledger's export exactly, both must equal gw's veth counters per
# direction in IP bytes and packets, and `rate --db` must print the same
# bill as `rate --ledger` for the month, and `status` shows no backlog.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh" || exit 1

tg_init nginx wrk curl runuser
tg_pg_init
tg_topology_setup
tg_cgroup_setup

cfg=$TG_TMP/tollgate.yaml
tg_agent_config >"$cfg"

# The fleet rows, as the export's JSON lines, sorted.
fleet_rows()
{
	tg_psql "SELECT json_build_object('host', host, 'day', day, 'tenant', tenant, 'service', service, 'backend', backend, 'traffic_type', traffic_type, 'bytes', bytes, 'packets', packets, 'calls', calls, 'unexplained_bytes', unexplained_bytes, 'time_zone', time_zone) FROM tollgate_usage_v1" |
		jq -c . | sort
}
ledger_rows()
{
	tg_ledger_export | jq -c . | sort
}
# "IN_BYTES IN_PACKETS OUT_BYTES OUT_PACKETS" of rows on standard input.
sums()
{
	jq -rs 'def s(f; k): map(select(f) | .[k]) | add // 0;
		"\(s(.traffic_type == "inbound"; "bytes")) \(s(.traffic_type == "inbound"; "packets")) \(s(.traffic_type != "inbound"; "bytes")) \(s(.traffic_type != "inbound"; "packets"))"'
}

# status CHECK: the detail of status's CHECK (collection, shipping...).
status_detail()
{
	"$TG_BIN" status --pin-dir "$TG_PIN" --ledger "$TG_LEDGER" \
		--interval 1 --format json |
		jq -r --arg c "$1" '.checks[] | select(.check == $c) | .detail'
}
# The number of the local ledger's last commit.
ledger_seq()
{
	status_detail collection | sed -n 's/.* last snapshot \([0-9]*\) .*/\1/p'
}
# shellcheck disable=SC2317 # run by tg_wait_for
fleet_has_rows()
{
	[ -n "$(fleet_rows)" ]
}
# committed_since SEQ: the local ledger holds two commits after SEQ, each
# followed by an attempt to ship while the fleet ledger is away, and rows
# it has not shipped.
# shellcheck disable=SC2317 # run by tg_wait_for
committed_since()
{
	local seq

	seq=$(ledger_seq)
	[ -n "$seq" ] && [ "$seq" -ge $(($1 + 2)) ] &&
		status_detail shipping | grep -q '^[1-9][0-9]* rows unshipped'
}

tg_agent_start --config "$cfg" --ship "$TG_PG_URL"
tg_wait_log "$TG_AGENT_LOG" "fleet ledger .* connected" ||
	tg_die "the agent did not connect to the fleet ledger"
tg_be_nginx_start
tg_gw_nginx_start
tg_be_file f 2000

tg_measure_begin
# wrk runs until the fleet ledger is back (SIGINT ends it; timeout passes
# the signal on), however long a loaded machine takes to get there.
timeout 150 ip netns exec "$TG_NS_CL" wrk -t2 -c4 -d120s \
	"http://$TG_GWC4:$TG_GW_PORT/f" >"$TG_TMP/wrk.out" 2>&1 &
wrk_pid=$!
TG_PIDS+=("$wrk_pid")

tg_wait_for 30 "rows in the fleet ledger" fleet_has_rows ||
	tg_fail "nothing shipped within 30 s of load"
tg_pg_stop
tg_log "PostgreSQL stopped"
tg_wait_log "$TG_AGENT_LOG" "fleet ledger .* unreachable" ||
	tg_fail "the agent did not say the fleet ledger went away"
# Before the kill the agent books on and tries to ship, more than once, so
# that saying "unreachable" once is a check.
seq=$(ledger_seq)
tg_wait_for 30 "two commits after $seq and a backlog" \
	committed_since "${seq:-0}" ||
	tg_fail "the agent did not go on booking with the fleet ledger away"
tg_agent_stop KILL
tg_agent_start --config "$cfg" --ship "$TG_PG_URL"
tg_wait_log "$TG_AGENT_LOG" "fleet ledger .* unreachable .*[1-9][0-9]* rows unshipped" ||
	tg_fail "the restarted agent did not report its backlog"
# The same for the restarted agent.
seq=$(ledger_seq)
tg_wait_for 30 "two commits after $seq and a backlog" \
	committed_since "${seq:-0}" ||
	tg_fail "the restarted agent did not go on booking with the fleet ledger away"
tg_pg_start || tg_die "PostgreSQL did not start again"
tg_log "PostgreSQL started again"
tg_wait_log "$TG_AGENT_LOG" "fleet ledger .* reachable again: shipped [1-9][0-9]* rows" ||
	tg_fail "the agent did not say the fleet ledger is back"
kill -0 "$wrk_pid" 2>/dev/null ||
	tg_die "premise: the load ended before the fleet ledger was back"
kill -INT "$wrk_pid"
wait "$wrk_pid"
tg_log "wrk: $(grep -E 'requests in' "$TG_TMP/wrk.out" | sed 's/^ *//')"
tg_measure_end

read -r c_rxb c_rxp c_txb c_txp <<<"$(tg_dev_ip_counts "$TG_DEV_GWC")"
read -r b_rxb b_rxp b_txb b_txp <<<"$(tg_dev_ip_counts "$TG_DEV_GWB")"
want="$((c_rxb + b_rxb)) $((c_rxp + b_rxp)) $((c_txb + b_txb)) $((c_txp + b_txp))"

# Within a few intervals the ledger and then the fleet catch up.
# shellcheck disable=SC2317 # run by tg_wait_for
caught_up()
{
	local_rows=$(ledger_rows)
	remote_rows=$(fleet_rows)
	[ "$(sums <<<"$local_rows")" = "$want" ] &&
		[ "$local_rows" = "$remote_rows" ]
}
tg_wait_for 60 "ledgers caught up with the veth counters" caught_up
got_local=$(sums <<<"$local_rows")
got_remote=$(sums <<<"$remote_rows")
tg_log "veth   in/out: $want"
tg_log "ledger in/out: $got_local"
tg_log "fleet  in/out: $got_remote"
[ "$got_local" = "$want" ] ||
	tg_fail "the local ledger ($got_local) differs from the veth counters ($want)"
[ "$got_remote" = "$want" ] ||
	tg_fail "the fleet ledger ($got_remote) differs from the veth counters ($want)"
if [ "$local_rows" != "$remote_rows" ]; then
	tg_fail "the fleet ledger's rows differ from the local ledger's:"
	diff <(echo "$local_rows") <(echo "$remote_rows") >&2
fi
n=$(wc -l <<<"$remote_rows")
tg_log "$n rows equal in both ledgers"
n=$(grep -c "unreachable" "$TG_TMP"/agent.*.log | awk -F: '{ s += $2 } END { print s }')
[ "$n" -eq 2 ] ||
	tg_fail "the agents said 'unreachable' $n times, not once each"

# The same engine on the same month: the same bill.
month=$(TZ=Asia/Shanghai date +%Y-%m)
b_local=$("$TG_BIN" rate --ledger "$TG_LEDGER" --month "$month" --format json) ||
	tg_fail "rate --ledger failed"
b_fleet=$("$TG_BIN" rate --db "$TG_PG_URL" --month "$month" --format json) ||
	tg_fail "rate --db failed"
[ -n "$b_local" ] && [ "$b_local" = "$b_fleet" ] ||
	tg_fail "rate --db and rate --ledger differ: $b_local / $b_fleet"
tg_log "rate --db = rate --ledger: total $(jq -r '.total // .total_cents // empty' <<<"$b_fleet" 2>/dev/null)"

# status sees the fleet caught up.
# shellcheck disable=SC2317 # run by tg_wait_for
shipped_all()
{
	js=$("$TG_BIN" status --pin-dir "$TG_PIN" --ledger "$TG_LEDGER" \
		--interval 1 --format json) || status_rc=$?
	ship=$(jq -r '.checks[] | select(.check == "shipping") | "\(.level) \(.detail)"' <<<"$js")
	grep -q "^ok 0 rows unshipped; last ship " <<<"$ship"
}
status_rc=0
tg_wait_for 30 "status saying the fleet caught up" shipped_all
[ "$status_rc" -eq 0 ] || tg_fail "status of a healthy shipping agent: exit $status_rc"
tg_log "status: shipping $ship"
grep -q "^ok 0 rows unshipped; last ship " <<<"$ship" ||
	tg_fail "status does not show the fleet caught up: $ship"

# Shipping twice never adds: a clean stop ships again, rows unchanged.
tg_agent_stop TERM
[ "$TG_AGENT_RC" -eq 0 ] || tg_fail "the agent ended with status $TG_AGENT_RC on SIGTERM"
[ "$(fleet_rows)" = "$(ledger_rows)" ] ||
	tg_fail "after a clean stop the fleet and local ledgers differ"
tg_result
