#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# test_shared_cache.sh - a socket shared by many peers counts each packet
# into its sender's slot, even when its peer cache was read torn.
#
# A listener, or an unconnected UDP socket, caches the last peer it
# counted: the key, the slot and the epoch, rewritten by any CPU that
# meets another peer, without a lock. A packet counted on one CPU while
# another rewrites the cache may find one peer's key beside the other's
# slot. Two CPUs cannot be made to meet there on demand, so the helper
# sockcache (tests/e2e/sockcache.c) makes that state: a UDP server in gw
# receives a datagram from each of two client addresses, then writes the
# first sender's slot into its socket's cache, which names the second.
# The second sender's next datagram must land in its own slot. The truth
# is the datagrams' sizes: each counts its payload plus 28 bytes of IPv4
# and UDP headers, in its sender's row and no other.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh" || exit 1

PORT=7100
CL4_B=10.201.1.9	# the second sender: another address of cl

tg_init python3
HELPER=$(pwd)/.output/tests/sockcache
[ -x "$HELPER" ] || tg_die "no $HELPER: run 'make test-build' first"
tg_topology_setup
ip -n "$TG_NS_CL" addr add "$CL4_B/24" dev "$TG_DEV_CL" ||
	tg_die "cannot add $CL4_B to $TG_DEV_CL"
tg_cgroup_setup
tg_agent_start

LOG=$TG_TMP/sockcache.log
# In the test cgroup, and in gw by setns(): `ip netns exec` would hide
# the pinned map.
(
	echo "$BASHPID" >"$TG_CG/cgroup.procs" || exit 1
	exec "$HELPER" "$TG_PIN/tg_sock" "/run/netns/$TG_NS_GW" "$TG_GWC4" "$PORT"
) >>"$LOG" 2>&1 </dev/null &
TG_PIDS+=($!)
tg_wait_log "$LOG" '^bound$' || tg_die "sockcache did not bind"

# send FROM BYTES: one datagram of BYTES payload bytes from address FROM.
send()
{
	ip netns exec "$TG_NS_CL" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 0))
s.sendto(b"u" * int(sys.argv[2]), (sys.argv[3], int(sys.argv[4])))
' "$1" "$2" "$TG_GWC4" "$PORT" || tg_die "cannot send from $1"
}

send "$TG_CL4" 100
tg_wait_log "$LOG" "^got 1 $TG_CL4\$" || tg_die "the first datagram did not arrive"
send "$CL4_B" 200
tg_wait_log "$LOG" "^got 2 $CL4_B\$" || tg_die "the second datagram did not arrive"
tg_wait_log "$LOG" '^torn ' || tg_die "sockcache could not tear the cache"
tg_log "cache torn: $(grep '^torn ' "$LOG") (slots of $TG_CL4 and $CL4_B)"
send "$CL4_B" 300
tg_wait_log "$LOG" "^got 3 $CL4_B\$" || tg_die "the third datagram did not arrive"

dump=$(tg_dump) || tg_die "tollgate dump failed"
tg_show_dump "$dump"
# peer_row ADDR: "packets_in bytes_in packets_out bytes_out" of ADDR's rows.
peer_row()
{
	jq -r --arg p "$1" '[.[] | select(.peer == $p)] |
		"\(map(.packets_in) | add // 0) \(map(.bytes_in) | add // 0) \(map(.packets_out) | add // 0) \(map(.bytes_out) | add // 0)"' <<<"$dump"
}
for want in "$TG_CL4 1 128" "$CL4_B 2 556"; do
	read -r addr packets bytes <<<"$want"
	got=$(peer_row "$addr")
	[ "$got" = "$packets $bytes 0 0" ] ||
		tg_fail "$addr: expected $packets datagrams, $bytes bytes in and nothing out; got (packets, bytes in, out) $got"
done
tg_check_only_peers "$dump" "$TG_CL4" "$CL4_B"
tg_result
