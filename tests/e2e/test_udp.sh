#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# test_udp.sh - UDP datagrams through a relay are metered exactly, both ways,
# with roles from the port rule.
#
# A socat relay in gw (in the test cgroup) takes datagrams on port 7000 and
# passes them to an echo server in be on port 7001; the echoes travel back
# the same way. UDP has no accept() or connect() handshake to tell the
# meter which side a socket faces, so the port decides: the relay's
# listening socket has local port 7000, outside the ephemeral range, and is
# the client side; its socket towards be got an ephemeral port and is the
# backend side.
#
# Datagrams of 300 different sizes, all well below the 1500-byte MTU (an IP
# fragment would be counted differently by a veth and by a socket filter).
# The client sends one and waits for its echo before the next: the echo
# server is socat with a pipe, and a pipe holding two datagrams at once
# would merge them.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh" || exit 1

N=300
GW_UDP=7000
BE_UDP=7001

tg_init socat
export LC_ALL=C
tg_topology_setup
tg_cgroup_setup
tg_agent_start
tg_ns_spawn "$TG_NS_BE" "$TG_TMP/echo.log" \
	socat -T 60 "UDP4-LISTEN:$BE_UDP,bind=$TG_BE4" PIPE
tg_wait_listen "$TG_NS_BE" u "$BE_UDP" "$TG_TMP/echo.log"
tg_gw_spawn "$TG_TMP/relay.log" \
	socat -T 60 "UDP4-LISTEN:$GW_UDP,bind=$TG_GWC4" "UDP4:$TG_BE4:$BE_UDP"
tg_wait_listen "$TG_NS_GW" u "$GW_UDP" "$TG_TMP/relay.log"

tg_measure_begin
coproc CLIENT {
	exec ip netns exec "$TG_NS_CL" socat -b 65536 - "UDP4:$TG_GWC4:$GW_UDP" \
		2>>"$TG_TMP/client.log"
}
TG_PIDS+=("$CLIENT_PID")
payload=$(printf '%1500s' '' | tr ' ' u)
sent=0
bytes=0
for i in $(seq "$N"); do
	# 1..1400 bytes of payload, every size different.
	size=$((1 + (i * 467) % 1400))
	printf '%s' "${payload:0:size}" >&"${CLIENT[1]}" ||
		tg_die "cannot write datagram $i"
	echo=
	read -r -N "$size" -t 30 -u "${CLIENT[0]}" echo ||
		tg_die "datagram $i ($size bytes): no echo within 30s"
	[ "${#echo}" -eq "$size" ] ||
		tg_die "datagram $i: sent $size bytes, echo has ${#echo}"
	sent=$((sent + 1))
	bytes=$((bytes + size))
done
tg_log "$sent datagrams ($bytes payload bytes) echoed through gw"
tg_measure_end

tg_check_peer udp "$TG_DUMP" "$TG_CL4" client "$GW_UDP" udp "$TG_DEV_GWC"
tg_check_peer udp "$TG_DUMP" "$TG_BE4" backend "$BE_UDP" udp "$TG_DEV_GWB"
tg_check_only_peers "$TG_DUMP" "$TG_CL4" "$TG_BE4"

# Exactly 2N datagrams crossed each link: IP bytes are payload + 28 each.
read -r -a m <<<"$(jq -r --arg p "$TG_CL4" '[.[] | select(.peer == $p)] |
	"\(map(.packets_in) | add) \(map(.bytes_in) | add)"' <<<"$TG_DUMP")"
[ "${m[0]}" -eq "$N" ] && [ "${m[1]}" -eq $((bytes + 28 * N)) ] ||
	tg_fail "client side: expected $N datagrams, $((bytes + 28 * N)) IP bytes in; got ${m[0]}, ${m[1]}"

# Both relay sockets got their role from the port rule.
socks=$(tg_dump --by socket) || tg_die "tollgate dump --by socket failed"
for want in "client $GW_UDP" "backend $BE_UDP"; do
	read -r role port <<<"$want"
	n=$(jq --arg r "$role" --argjson port "$port" '[.[] | select(.proto == "udp"
		and .role == $r and .port == $port and .role_inferred)] | length' \
		<<<"$socks")
	[ "$n" -eq 1 ] ||
		tg_fail "expected one udp socket with role $role, port $port, role_inferred; got $n in $socks"
done
tg_log "relay sockets: $(jq -c '[.[] | select(.proto == "udp") |
	{role, local, local_port, remote, remote_port, role_inferred}]' <<<"$socks")"
tg_result
