#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# test_detach.sh - the meter stays attached after the agent exits, and
# 'tollgate detach' takes it down completely.
#
# 1. A stopped agent (SIGTERM) leaves its three programs attached and its
#    pins in place, and the kernel goes on counting: 100 requests made
#    after the agent stopped are metered exactly.
# 2. 'tollgate detach' removes the pin directory, bpftool lists no program
#    on the cgroup, and the programs are gone from the kernel.
# 3. Detach while an agent still runs: its open descriptors must not keep
#    the programs attached.
# 4. Detach with nothing pinned succeeds and changes nothing.
# 5. A start that fails after loading (a cgroup that is not there) takes
#    back the pins it made; one on top of a pinned meter leaves that be.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh" || exit 1

tg_init nginx curl
tg_topology_setup
tg_cgroup_setup

# expect_attached N: N programs on the test cgroup, named tg_*.
expect_attached()
{
	local progs n

	progs=$(tg_cgroup_progs | paste -sd ',')
	n=$(tg_cgroup_progs | grep -c .)
	[ "$n" -eq "$1" ] || {
		tg_fail "expected $1 programs on $TG_CG, bpftool lists $n: $progs"
		return
	}
	[ "$1" -eq 0 ] || tg_log "attached: $progs"
}

# expect_detached IDS: pin dir gone, cgroup empty, programs freed.
expect_detached()
{
	local id

	[ ! -e "$TG_PIN" ] || tg_fail "pin directory still there: $(ls -A "$TG_PIN")"
	expect_attached 0
	# The kernel frees a link, and then its program, from a work queue
	# once the last reference is gone: allow it a moment.
	for id in $1; do
		tg_wait_for 30 "program $id freed" prog_gone "$id" ||
			tg_fail "program $id still loaded 30s after detach"
	done
}

# prog_gone ID: no program ID in the kernel.
# shellcheck disable=SC2317 # run by tg_wait_for
prog_gone()
{
	! bpftool prog show id "$1" >/dev/null 2>&1
}

# 1. The agent stops, the meter stays.
tg_agent_start
tg_be_nginx_start
tg_gw_nginx_start
tg_be_file f 1000
expect_attached 3
ids=$(tg_link_prog_ids)
tg_agent_stop TERM
[ "$TG_AGENT_RC" -eq 0 ] || tg_fail "agent exited with $TG_AGENT_RC on SIGTERM"
grep -q 'stays attached' "$TG_AGENT_LOG" ||
	tg_fail "agent did not say the meter stays attached: $(cat "$TG_AGENT_LOG")"
expect_attached 3
[ "$(tg_link_prog_ids)" = "$ids" ] || tg_fail "programs changed: $ids -> $(tg_link_prog_ids)"
tg_log "agent stopped; programs $ids stay attached"

tg_measure_begin
tg_curl --fail "http://$TG_GWC4:$TG_GW_PORT/f?n=[1-100]" >/dev/null ||
	tg_die "requests failed"
tg_measure_end
tg_check_peer "no agent" "$TG_DUMP" "$TG_CL4" client "$TG_GW_PORT" tcp "$TG_DEV_GWC"
tg_check_peer "no agent" "$TG_DUMP" "$TG_BE4" backend "$TG_BE_PORT" tcp "$TG_DEV_GWB"
tg_check_only_peers "$TG_DUMP" "$TG_CL4" "$TG_BE4"

# 2. Detach.
out=$("$TG_BIN" detach --pin-dir "$TG_PIN" 2>&1) || tg_fail "detach failed: $out"
tg_log "detach: $out"
expect_detached "$ids"

# 3. Detach under a running agent.
tg_agent_start
expect_attached 3
ids=$(tg_link_prog_ids)
out=$("$TG_BIN" detach --pin-dir "$TG_PIN" 2>&1) || tg_fail "detach failed: $out"
tg_log "detach with the agent running: $out"
expect_attached 0
kill -0 "$TG_AGENT_PID" 2>/dev/null || tg_fail "agent died on detach"
tg_agent_stop TERM
expect_detached "$ids"

# 4. Nothing left to detach.
out=$("$TG_BIN" detach --pin-dir "$TG_PIN" 2>&1) ||
	tg_fail "detach with nothing pinned failed: $out"
tg_log "detach again: $out"
expect_detached ""

# 5. Failed starts.
out=$("$TG_BIN" run --cgroup "$TG_CG/nope" --pin-dir "$TG_PIN" \
	--ledger "$TG_TMP/fail.db" --no-summary 2>&1) &&
	tg_fail "run on a missing cgroup succeeded: $out"
grep -q "cannot open cgroup '$TG_CG/nope'" <<<"$out" ||
	tg_fail "run on a missing cgroup: unexpected message: $out"
expect_detached ""
tg_agent_start
ids=$(tg_link_prog_ids)
tg_agent_stop TERM
out=$("$TG_BIN" run --cgroup "$TG_CG/nope" --pin-dir "$TG_PIN" \
	--ledger "$TG_TMP/fail.db" --no-summary 2>&1) &&
	tg_fail "run on a missing cgroup succeeded: $out"
expect_attached 3
[ "$(tg_link_prog_ids)" = "$ids" ] ||
	tg_fail "a failed start changed the pinned meter: $ids -> $(tg_link_prog_ids)"
out=$("$TG_BIN" detach --pin-dir "$TG_PIN" 2>&1) || tg_fail "detach failed: $out"
expect_detached "$ids"
tg_result
