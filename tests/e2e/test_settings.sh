#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# test_settings.sh - the read commands use the settings of the agent on
# their pin directory: dump and classify its configuration, status its
# ledger and interval, each saying so on standard error, while an option
# given always wins. The agent runs with a configuration, a ledger and an
# interval none of which is the default: without the agent's record, dump
# would show every tenant as "" (the built-in configuration), classify
# would name no backend, and status would judge another ledger by a
# 10-second interval. 'tollgate detach' removes the record with the pins.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh" || exit 1

tg_init nginx curl
tg_topology_setup
tg_cgroup_setup

mkdir -p "$TG_TMP/etc" "$TG_TMP/state"
cfg=$TG_TMP/etc/agent.yaml
tg_agent_config >"$cfg"
other=$TG_TMP/etc/other.yaml
sed 's/acme/globex/' "$cfg" >"$other"
TG_LEDGER=$TG_TMP/state/agent.db

# A relative --config: the record holds it made absolute, for readers
# that run elsewhere.
cd "$TG_TMP" || tg_die "cannot cd to $TG_TMP"
tg_agent_start --config etc/agent.yaml
cd - >/dev/null || tg_die "cannot cd back"
tg_be_nginx_start
tg_gw_nginx_start
tg_be_file f 2000
for _ in 1 2 3; do
	tg_curl -o /dev/null "http://$TG_GWC4:$TG_GW_PORT/f" ||
		tg_die "premise: a request through the gateway failed"
done
# status below reads the ledger's last snapshot: wait until the agent has
# booked one (a collection is published after its booking).
tg_wait_collection 0 >/dev/null || tg_die "the agent did not collect"

# dump: the agent's configuration, and it says so.
out=$(cd / && "$TG_BIN" dump --pin-dir "$TG_PIN" --by tenant --format json \
	2>"$TG_TMP/err") || tg_fail "dump --by tenant failed: $(cat "$TG_TMP/err")"
tenants=$(jq -r '[.rows[] | select(.overflow | not) | .tenant] | unique | join(",")' <<<"$out")
tg_log "dump --by tenant: tenants '$tenants'; $(cat "$TG_TMP/err")"
[ "$tenants" = acme ] ||
	tg_fail "dump --by tenant without --config: expected tenant acme, got '$tenants'"
grep -q "configuration $cfg (the agent's, recorded in $TG_PIN)" "$TG_TMP/err" ||
	tg_fail "dump does not say it uses the agent's configuration: $(cat "$TG_TMP/err")"

# --config wins, and then nothing is said.
out=$("$TG_BIN" dump --pin-dir "$TG_PIN" --by tenant --format json \
	--config "$other" 2>"$TG_TMP/err") || tg_fail "dump --config failed"
tenants=$(jq -r '[.rows[] | select(.overflow | not) | .tenant] | unique | join(",")' <<<"$out")
[ "$tenants" = globex ] ||
	tg_fail "dump --config $other: expected tenant globex, got '$tenants'"
[ ! -s "$TG_TMP/err" ] || tg_fail "dump --config said: $(cat "$TG_TMP/err")"

# classify: the agent's configuration names the backend.
out=$("$TG_BIN" classify --pin-dir "$TG_PIN" --format json \
	"$TG_BE4:$TG_BE_PORT" 2>"$TG_TMP/err") || tg_fail "classify failed"
got=$(jq -r '.[0] | "\(.backend) \(.tenant)"' <<<"$out")
[ "$got" = "origin acme" ] ||
	tg_fail "classify without --config: expected 'origin acme', got '$got'"
grep -q "configuration $cfg (the agent's, recorded in $TG_PIN)" "$TG_TMP/err" ||
	tg_fail "classify does not say it uses the agent's configuration: $(cat "$TG_TMP/err")"

# status: the agent's ledger and interval.
out=$("$TG_BIN" status --pin-dir "$TG_PIN" --format json 2>"$TG_TMP/err") ||
	tg_fail "status of a running agent: exit $?: $out $(cat "$TG_TMP/err")"
detail=$(jq -r '.checks[] | select(.check == "collection") | .detail' <<<"$out")
tg_log "status: collection: $detail; $(cat "$TG_TMP/err")"
[[ $detail = "ledger $TG_LEDGER: last snapshot "* ]] ||
	tg_fail "status without --ledger: expected the agent's ledger $TG_LEDGER, got '$detail'"
grep -q "ledger $TG_LEDGER (the agent's), interval 1s (the agent's)" "$TG_TMP/err" ||
	tg_fail "status does not say whose settings: $(cat "$TG_TMP/err")"

# The agent stopped for more than 3 of its 1-second intervals: status,
# knowing the interval, says the collection stalled; given --interval 10,
# not. The stall is a matter of time passing: poll for it, within a
# deadline well under the 30 s that --interval 10 allows.
# shellcheck disable=SC2317 # run by tg_wait_for
stalled()
{
	out=$("$TG_BIN" status --pin-dir "$TG_PIN" --format json 2>/dev/null)
	[ "$(jq -r '.checks[] | select(.check == "collection") | .level' <<<"$out")" = fail ]
}
kill -STOP "$TG_AGENT_PID"
tg_wait_for 20 "stall reported by status" stalled ||
	tg_fail "collection not reported stalled: $out"
out=$("$TG_BIN" status --pin-dir "$TG_PIN" --format json 2>/dev/null) &&
	tg_fail "status exits 0 with the agent stopped for more than 3 intervals"
"$TG_BIN" status --pin-dir "$TG_PIN" --interval 10 >/dev/null 2>&1 ||
	tg_fail "status --interval 10: the option did not win"
kill -CONT "$TG_AGENT_PID"

# An agent without a ledger: status says so rather than reading another.
tg_agent_stop TERM
tg_agent_start --config "$cfg" --no-ledger
out=$("$TG_BIN" status --pin-dir "$TG_PIN" --format json 2>"$TG_TMP/err")
detail=$(jq -r '.checks[] | select(.check == "collection") | .detail' <<<"$out")
[[ $detail = "no ledger: the agent runs with --no-ledger"* ]] ||
	tg_fail "status of an agent with --no-ledger: '$detail'"
grep -q "ledger none: --no-ledger (the agent's)" "$TG_TMP/err" ||
	tg_fail "status does not say the agent books no ledger: $(cat "$TG_TMP/err")"
tg_agent_stop TERM

[ -e "$TG_PIN/tg_agent" ] || tg_fail "no tg_agent pinned in $TG_PIN"
"$TG_BIN" detach --pin-dir "$TG_PIN" >/dev/null || tg_fail "detach failed"
[ ! -e "$TG_PIN" ] || tg_fail "detach left $TG_PIN: $(ls "$TG_PIN")"
tg_result
