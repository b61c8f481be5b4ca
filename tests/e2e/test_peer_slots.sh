#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# test_peer_slots.sh - `tollgate status`, `dump --by peer` and the run
# summary say how full the peer slots are, what overflowed, which peers
# the rows hold and since when, and the numbers are the truth:
#
# An agent with 8 peer slots, 1 of them kept for backends, that never
# reclaims. manyconn opens each
# connection from an address of its own (the client namespace owns a
# routed prefix), one request each, through the gateway nginx to the
# backend.
#   1. 7 clients: with the backend, 8 peers, the slots are full. status
#      says 8 of 8 used, none free, reclaiming or unused, nothing
#      reclaimed, no overflow; dump lists exactly those 7 addresses and
#      the backend, each since a time within the phase, the overflow rows
#      since the maps were made (within the agent's start); the summary
#      says 8 peers with a slot of 8, and the backend's since.
#   2. 10 more clients, measured alone: none finds a slot, so what status
#      says the clients' overflow without a slot grew by equals gw-cl's
#      veth counters, bytes and packets each way; the backend's overflow
#      stays 0; dump still lists the 7; the summary names the bytes
#      without a slot.
#   3. The agent restarted with --reclaim-after 1: every slot is quiet, so
#      all 8 are reclaimed: status says 8 free, 8 reclaimed in all, none
#      used; dump says 0 of 8 slots held and 8 reclaimed.
#   4. An agent killed between the two writes of a reclaim's first step
#      leaves a slot LIMBO whose key still names it in tg_peer_idx: made
#      by hand for one client's slot, the agent stopped (SIGKILL). The
#      next agent (never reclaiming quiet slots) frees that slot, and the
#      hash keeps no key naming a slot that is not USED; the client's next
#      connection gets a slot of its own, whose counts equal gw-cl's veth
#      counters (a key left behind would send them into the freed slot,
#      which no snapshot books).
# shellcheck source=lib.sh
. "${0%/*}/lib.sh" || exit 1

NET=10.204.0.0/16
SLOTS=8

tg_init nginx curl
tg_topology_setup
tg_cgroup_setup
tg_clients_prefix "$NET"

status()
{
	"$TG_BIN" status --pin-dir "$TG_PIN" --ledger "$TG_LEDGER" \
		--interval 1 --format json 2>/dev/null
	# exit 1 only for a failed check: the slots' warnings exit 0
	[ "$?" -le 1 ]
}
# num JSON PATH: a number of status's JSON, or die.
num()
{
	local v

	v=$(jq -er "$2" <<<"$1") || tg_die "status JSON has no $2: $1"
	echo "$v"
}
# clients BASE N: N requests from N addresses from BASE on.
clients()
{
	local out

	out=$(timeout 120 ip netns exec "$TG_NS_CL" "$TG_MANYCONN" -k "$1" "$2" 4 \
		"$TG_GWC4:$TG_GW_PORT" /f) || tg_die "manyconn: ${out:-timed out}"
	tg_log "manyconn $1 $2: $out"
}
# The agent's last summary line, and the busiest backends line after it.
last_summary()
{
	grep ' peers with a slot of ' "$TG_AGENT_LOG" | tail -n1
}
last_busiest()
{
	grep '^  busiest backends with a slot: ' "$TG_AGENT_LOG" | tail -n1
}

started0=$(date +%s)
tg_agent_start --max-peers "$SLOTS" --backend-peers 1 --reclaim-after 0 --summary
started1=$(date +%s)
tg_be_nginx_start
tg_gw_nginx_start
tg_be_file f 1500

# --- 1. the slots fill up ------------------------------------------------
tg_measure_begin
p0=$(date +%s)
clients 10.204.0.0 7
tg_measure_end
p1=$(date +%s)

js=$(status) || tg_fail "status failed: $js"
tg_expect_eq "slots: capacity" "$SLOTS" "--max-peers" "$(num "$js" .slots.capacity)" status
tg_expect_eq "slots: the backends'" 1 "--backend-peers" "$(num "$js" .slots.backend_capacity)" status
tg_expect_eq "slots held by backends" 1 "the one backend" "$(num "$js" .slots.backend_held)" status
tg_expect_eq "slots: used" 8 "7 clients and the backend" \
	"$(num "$js" '.slots.used + .slots.reclaiming')" status
for f in reclaiming free unused reclaimed_total failed_inserts; do
	tg_expect_eq "slots: $f" 0 "a map just filled, never reclaimed" \
		"$(num "$js" ".slots.$f")" status
done
tg_expect_eq "overflow without a slot" 0 "every peer has a slot" \
	"$(num "$js" '[.overflow[].no_slot | .bytes_in + .bytes_out] | add')" status
[ "$(jq -r '.checks[] | select(.check == "peers") | .level' <<<"$js")" = warn ] ||
	tg_fail "a full map is not a warning: $js"

# The peer rows are exactly the 7 clients and the backend, each since a
# time of this phase; the overflow rows since the agent's start.
want=$(printf 'client 10.204.0.%s\n' 1 2 3 4 5 6 7; echo "backend $TG_BE4")
got=$(jq -r '.[] | select(.overflow | not) | "\(.role) \(.peer)"' <<<"$TG_DUMP" | sort)
[ "$got" = "$(sort <<<"$want")" ] ||
	tg_fail "dump's peers are not the 7 clients and the backend: $got"
bad=$(jq -c --argjson a "$((p0 - 1))" --argjson b "$((p1 + 1))" '.[] |
	select(.overflow | not) | select(.since == null or
		(.since | fromdateiso8601) < $a or (.since | fromdateiso8601) > $b)' <<<"$TG_DUMP")
[ -z "$bad" ] || tg_fail "peers whose since is not within the phase ($p0..$p1): $bad"
bad=$(jq -c --argjson a "$((started0 - 1))" --argjson b "$((started1 + 1))" '.[] |
	select(.overflow) | select(.since == null or
		(.since | fromdateiso8601) < $a or (.since | fromdateiso8601) > $b)' <<<"$TG_DUMP")
[ -z "$bad" ] || tg_fail "overflow rows whose since is not the maps' making: $bad"
table=$("$TG_BIN" dump --pin-dir "$TG_PIN" --raw 2>/dev/null) || tg_fail "dump (table) failed"
grep -q "^peers with a slot: 8 of 8 slots (100.0%), 0 of them being reclaimed; 0 slots reclaimed" <<<"$table" ||
	tg_fail "dump's table does not say 8 of 8 slots held: $table"

# The summary, once a collection saw the phase.
tg_wait_collection "$p1" >/dev/null || tg_die "no collection after the phase"
# shellcheck disable=SC2317 # run by tg_wait_for
summarised() { last_summary | grep -q ' 8 peers with a slot of 8;'; }
tg_wait_for 10 "a summary of 8 peers with a slot of 8" summarised ||
	tg_fail "summary: $(last_summary)"
# The same time as dump's, in local time, to the second: each turns the
# slot's monotonic clock into wall-clock seconds on its own reading.
be_since=$(date -d "$(jq -r --arg b "$TG_BE4" '.[] | select(.peer == $b) | .since' \
	<<<"$TG_DUMP")" +%s) || tg_die "dump gives the backend no since"
said=$(last_busiest | sed -n "s/.*$TG_BE4:$TG_BE_PORT .* since \([0-9:]*\).*/\1/p")
ok=
for t in $((be_since - 1)) "$be_since" $((be_since + 1)); do
	[ "$said" = "$(date -d "@$t" +%H:%M:%S)" ] && ok=1
done
[ -n "$ok" ] || tg_fail "summary's busiest backends say since '$said', dump" \
	"$(date -d "@$be_since" +%H:%M:%S): $(last_busiest)"
tg_log "summary: $(last_summary)"
tg_log "         $(last_busiest)"

# --- 2. no slot left: overflow, and exactly the clients' traffic ---------
before=$js
tg_wait_quiet 1
tg_snapshot base
clients 10.204.1.0 10
tg_measure_end
js=$(status) || tg_fail "status failed: $js"
read -r rxb rxp txb txp <<<"$(tg_dev_ip_counts "$TG_DEV_GWC")"
for kv in bytes_in:"$rxb" packets_in:"$rxp" bytes_out:"$txb" packets_out:"$txp"; do
	k=${kv%%:*}
	grown=$(($(num "$js" ".overflow.client.no_slot.$k") - $(num "$before" ".overflow.client.no_slot.$k")))
	tg_expect_eq "clients without a slot: $k" "${kv#*:}" "gw-cl veth" "$grown" "status overflow.client.no_slot"
done
tg_expect_eq "backend without a slot" 0 "the backend holds a slot" \
	"$(num "$js" '.overflow.backend.no_slot | .bytes_in + .bytes_out')" status
tg_expect_eq "slots: used" 8 "full before, none reclaimed" \
	"$(num "$js" '.slots.used + .slots.reclaiming')" status
[ "$(num "$js" .slots.failed_inserts)" -gt 0 ] ||
	tg_fail "status counts no failed insert: $js"
grep -q '^inserts .*without a slot, kept by billing key (client [1-9]' <<<"$("$TG_BIN" status \
	--pin-dir "$TG_PIN" --ledger "$TG_LEDGER" --interval 1 2>/dev/null)" ||
	tg_fail "status's table does not name the clients' bytes without a slot"
got=$(jq -r '.[] | select(.overflow | not) | .peer' <<<"$TG_DUMP" | grep -c '^10\.204\.1\.')
tg_expect_eq "dump rows of the clients without a slot" 0 "no slot was free" "$got" dump
tg_wait_collection "$(date +%s)" >/dev/null || tg_die "no collection after phase 2"
# shellcheck disable=SC2317 # run by tg_wait_for
summarised() { last_summary | grep -q 'of peers without a slot (kept by billing key)'; }
tg_wait_for 10 "a summary naming the bytes without a slot" summarised ||
	tg_fail "summary: $(last_summary)"
tg_log "summary: $(last_summary)"

# --- 3. quiet slots reclaimed -------------------------------------------
tg_agent_stop TERM
tg_agent_start --reclaim-after 1
# shellcheck disable=SC2317 # run by tg_wait_for
all_free() { js=$(status) && [ "$(jq -r .slots.free <<<"$js")" = "$SLOTS" ]; }
tg_wait_for 60 "all $SLOTS slots reclaimed" all_free ||
	tg_fail "slots not reclaimed: $(jq -c .slots <<<"$js")"
tg_expect_eq "slots reclaimed in all" "$SLOTS" "every slot handed out, all quiet" \
	"$(num "$js" .slots.reclaimed_total)" status
for f in used reclaiming unused; do
	tg_expect_eq "slots: $f" 0 "all reclaimed" "$(num "$js" ".slots.$f")" status
done
table=$("$TG_BIN" dump --pin-dir "$TG_PIN" --raw 2>/dev/null) || tg_fail "dump (table) failed"
grep -q "^peers with a slot: 0 of 8 slots (0.0%), 0 of them being reclaimed; 8 slots reclaimed" <<<"$table" ||
	tg_fail "dump's table does not say the 8 slots were reclaimed: $table"
tg_log "status: $(jq -c .slots <<<"$js")"

# --- 4. a kill between marking a slot LIMBO and removing its key -------
tg_agent_stop TERM
tg_agent_start --reclaim-after 0
clients 10.204.2.0 1
# Closed, every packet of it counted, before its slot is touched.
tg_wait_gw_idle
# The slot number of client ADDR's USED slot in tg_slot, if any.
slot_of()
{
	bpftool -j map dump pinned "$TG_PIN/tg_slot" | jq -r --arg a "$1" '
		.[] | select(.formatted.value.state == 1 and
			(.formatted.value.key.addr[12:] | map(tostring) |
			 join(".")) == $a) | .formatted.key'
}
slot=$(slot_of 10.204.2.1)
[ -n "$slot" ] || tg_die "client 10.204.2.1 holds no slot"
tg_agent_stop KILL
# The slot's state (a u32 at byte 28 of struct tg_slot) LIMBO, its key
# left in the hash: what the agent leaves killed between the two writes.
key=($((slot & 255)) $((slot >> 8 & 255)) 0 0)
read -r -a value < <(bpftool -j map lookup pinned "$TG_PIN/tg_slot" \
	key "${key[@]}" | jq -r '.value | .[28] = "0x02" | join(" ")')
[ "${#value[@]}" -eq 40 ] || tg_die "cannot read slot $slot of tg_slot"
bpftool map update pinned "$TG_PIN/tg_slot" key "${key[@]}" \
	value "${value[@]}" || tg_die "cannot mark slot $slot LIMBO"
tg_log "slot $slot of 10.204.2.1 marked LIMBO, its key left in tg_peer_idx"
tg_agent_start --reclaim-after 0
# The client's slot and the backend's were taken from the 8 free ones.
# shellcheck disable=SC2317 # run by tg_wait_for
limbo_freed()
{
	js=$(status) && [ "$(jq -r .slots.reclaiming <<<"$js")" = 0 ] &&
		[ "$(jq -r .slots.free <<<"$js")" = $((SLOTS - 1)) ]
}
tg_wait_for 60 "the LIMBO slot freed" limbo_freed ||
	tg_fail "the LIMBO slot was not freed: $(jq -c .slots <<<"$js")"
bad=$(tg_stale_peer_keys) || tg_die "cannot read tg_peer_idx and tg_slot"
[ -z "$bad" ] || tg_fail "tg_peer_idx keys naming a slot not theirs: $bad"
tg_wait_quiet 1
tg_snapshot base
clients 10.204.2.0 1
tg_measure_end
tg_check_peer "client 10.204.2.1 after the freed slot" "$TG_DUMP" 10.204.2.1 \
	client "$TG_GW_PORT" tcp "$TG_DEV_GWC"
tg_result
