#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# test_quiet.sh - an agent started as operators start it (no -v) prints
# real problems only. Its scans of the metered processes offer each one's
# TLS library, or without one its executable, to be hooked; most
# executables have no SSL_read, and libbpf's "failed to find symbol" for
# them is no problem: it shows with -v, and only there.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh" || exit 1

tg_init sleep tail timeout
tg_cgroup_setup
# Executables without TLS in the metered cgroup.
for cmd in "sleep 600" "timeout 600 tail -f /dev/null"; do
	(
		echo "$BASHPID" >"$TG_CG/cgroup.procs" || exit 1
		# shellcheck disable=SC2086 # the command and its arguments
		exec $cmd
	) </dev/null >/dev/null 2>&1 &
	TG_PIDS+=($!)
done

# The scans at the start and at each collection: two collections after
# the first one have seen the processes.
scanned()
{
	local ts

	ts=$(tg_wait_collection) && ts=$(tg_wait_collection "$ts") &&
		tg_wait_collection "$ts" >/dev/null
}

# As operators start it.
TG_AGENT_VERBOSE=()
tg_agent_start
scanned || tg_fail "the agent did not collect"
tg_agent_stop
quiet=$TG_AGENT_LOG

# With -v: the same scans say what they found, libbpf's words included.
TG_AGENT_VERBOSE=(-v)
tg_agent_start
scanned || tg_fail "the agent did not collect with -v"
tg_agent_stop
grep -q "failed to find symbol 'SSL_" "$TG_AGENT_LOG" ||
	tg_skip "the agent hooks no TLS here: $(grep 'tls' "$TG_AGENT_LOG" | tail -n1)"

tg_log "without -v the agent said:"
while IFS= read -r line; do tg_log "    $line"; done <"$quiet"
grep -q 'failed to find symbol' "$quiet" &&
	tg_fail "libbpf's misses on executables without SSL_read print without -v"
grep -q '^libbpf: ' "$quiet" &&
	tg_fail "libbpf warned without -v: $(grep '^libbpf: ' "$quiet" | head -n3)"
grep -q 'tls: ' "$quiet" &&
	tg_fail "the TLS scan spoke without -v: $(grep 'tls: ' "$quiet" | head -n3)"
tg_result
