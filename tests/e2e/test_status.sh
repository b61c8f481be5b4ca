#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# test_status.sh - `tollgate status` says healthy while the agent runs and
# collects, names the cgroup the links attach to and counts the peers;
# says the collection stalled once the agent is gone for more than 3
# intervals (the meter still attached); and says nothing is attached after
# 'tollgate detach'. It says whether calls are counted, and warns about an
# older agent's syscall-entry tracers left pinned, which detach removes.
# Its exit status follows: 0 healthy, 1 not.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh" || exit 1

tg_init nginx curl
tg_topology_setup
tg_cgroup_setup

status()
{
	"$TG_BIN" status --pin-dir "$TG_PIN" --ledger "$TG_LEDGER" \
		--interval 1 "$@"
}
level()	# JSON CHECK: the level of CHECK
{
	jq -r --arg c "$2" '.checks[] | select(.check == $c) | .level' <<<"$1"
}

tg_agent_start
tg_be_nginx_start
tg_gw_nginx_start
tg_be_file f 2000
for _ in 1 2 3; do
	tg_curl -o /dev/null "http://$TG_GWC4:$TG_GW_PORT/f" ||
		tg_die "premise: a request through the gateway failed"
done
# The agent has collected after the requests: its ledger books them.
# shellcheck disable=SC2317 # run by tg_wait_for
booked()
{
	local in out

	read -r in _ out _ <<<"$(tg_ledger_sums)" &&
		[ "${in:-0}" -gt 0 ] && [ "${out:-0}" -gt 0 ]
}
tg_wait_for 30 "the requests booked in the ledger" booked ||
	tg_fail "the agent did not book the requests"

out=$(status) || tg_fail "status of a running agent: exit $?"
while IFS= read -r line; do tg_log "    $line"; done <<<"$out"
js=$(status --format json) || tg_fail "status --format json: exit $?"
[ "$(jq -r .ok <<<"$js")" = true ] || tg_fail "not ok while healthy: $js"
for c in attach calls pins peers inserts collection shipping; do
	[ "$(level "$js" "$c")" = ok ] ||
		tg_fail "check $c is $(level "$js" "$c") while healthy: $js"
done
grep -q "cgroup $TG_CG " <<<"$out" ||
	tg_fail "status does not name the cgroup $TG_CG"
grep -q '^calls .* counted: receive tracer pinned' <<<"$out" ||
	tg_fail "status does not say calls are counted: $out"
peers=$(jq -r '.checks[] | select(.check == "peers") | .detail' <<<"$js")
used=${peers%% of *}
[ "$used" -ge 2 ] || tg_fail "peer slots used: $peers (expected >= 2: client and backend)"

# The agent gone, the meter counting on: collection stalls after 3
# intervals. The agent books once more as it exits, so a stall is due no
# sooner than 3 s after it stopped (checked with a margin: 2 s); when it
# comes is a matter of time passing, polled for with a deadline.
# shellcheck disable=SC2317 # run by tg_wait_for
stalled()
{
	js=$(status --format json)
	[ "$(level "$js" collection)" = fail ]
}
tg_agent_stop TERM
t_stop=$(date +%s.%N)
tg_wait_for 30 "stall reported by status" stalled ||
	tg_fail "collection not reported stalled: $js"
after=$(awk -v t="$t_stop" -v n="$(date +%s.%N)" 'BEGIN { printf "%.1f", n - t }')
awk -v a="$after" 'BEGIN { exit !(a >= 2) }' ||
	tg_fail "collection reported stalled ${after}s after the agent stopped: $js"
js=$(status --format json) && tg_fail "status exits 0 with the collection stalled"
[ "$(level "$js" attach)" = ok ] || tg_fail "the meter should still be attached: $js"
tg_log "stalled ${after}s after the agent stopped:" \
	"$(jq -r '.checks[] | select(.check == "collection") | .detail' <<<"$js")"

# An older agent's syscall-entry tracer left pinned beside the receive
# tracer: a warning, and still healthy. Any pinned link stands in for it.
bpftool link pin id "$(bpftool -j link show pinned "$TG_PIN/link_recv" | jq .id)" \
	"$TG_PIN/link_sys_read" || tg_die "cannot pin a stand-in link_sys_read"
js=$(status --format json)
[ "$(level "$js" calls)" = warn ] ||
	tg_fail "an older agent's entry tracer is not reported: $js"
tg_log "older tracers: $(jq -r '.checks[] | select(.check == "calls") | .detail' <<<"$js")"

"$TG_BIN" detach --pin-dir "$TG_PIN" >/dev/null || tg_fail "detach failed"
[ ! -e "$TG_PIN/link_sys_read" ] || tg_fail "detach left link_sys_read pinned"
out=$(status) && tg_fail "status exits 0 after detach: $out"
grep -q "nothing attached" <<<"$out" || tg_fail "status after detach: $out"
tg_log "after detach: $(head -n1 <<<"$out")"
tg_result
