#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# test_sockets.sh - 'tollgate dump --by socket' lists live connections with
# the right role, addresses and counters.
#
# Two client connections are kept open through the gateway:
# - a rate-limited 100 MB download (from client port 45678), which also
#   keeps a backend connection busy;
# - a keep-alive connection (from client port 45679) that fetched one small
#   file and then stays idle.
# The socket dump must show gw's side of each with role, local and remote
# address and port as ss(8) sees them inside gw, and counters that are not
# zero. For the idle connection the counters are checked exactly against
# the kernel's own TCP_INFO of the socket (ss -ti), which the meter does not
# touch: segments out and in, and IP bytes = payload bytes + 52 per packet
# (20 IPv4 + 20 TCP + 12 timestamp option; no SACK blocks without loss).
# The checks run on both ways of listing sockets (user/collect/socks.c).
# shellcheck source=lib.sh
. "${0%/*}/lib.sh" || exit 1

SIZE=$((100 << 20))
DL_PORT=45678
IDLE_PORT=45679

tg_init nginx curl socat
tg_topology_setup
tg_cgroup_setup
tg_agent_start
tg_be_nginx_start
tg_gw_nginx_start
tg_be_file big.bin "$SIZE"
tg_be_file small 3000

tg_curl --limit-rate 1M --local-port "$DL_PORT" -o /dev/null \
	"http://$TG_GWC4:$TG_GW_PORT/big.bin" &
TG_PIDS+=($!)
# The whole pipeline runs inside cl, so that cleanup finds every process;
# the idle connection stays open until cleanup ends it, however long the
# checks take.
tg_ns_spawn "$TG_NS_CL" "$TG_TMP/idle.log" sh -c "
	(printf 'GET /small HTTP/1.1\r\nHost: gw\r\n\r\n'; exec sleep infinity) |
	socat - TCP:$TG_GWC4:$TG_GW_PORT,sourceport=$IDLE_PORT >$TG_TMP/idle.out"

# tcp_info NS FILTER...: TCP_INFO of the established sockets FILTER
# selects in NS, one field a line.
tcp_info()
{
	local ns=$1

	shift
	ip netns exec "$ns" ss -Htni state established "$@" | tr ' ' '\n'
}

# shellcheck disable=SC2317 # run by tg_wait_for
responded()
{
	[ "$(stat -c %s "$TG_TMP/idle.out" 2>/dev/null)" -gt 3000 ] 2>/dev/null
}

# Settled: the upstream connection of the idle connection's request is
# closed (the backend ends idle ones after 1 s), so that the download's is
# gw's only one to the backend; the download has carried well over 1 MB
# each way (what check_dump expects of it); and the idle connection has
# nothing unacked at either end (delayed ACKs) and gw's TCP_INFO counters
# of it have not moved for 1 s.
idle_last='' idle_since=0
# shellcheck disable=SC2317 # run by tg_wait_for
settled()
{
	local sent received cur now

	[ "$(ip netns exec "$TG_NS_GW" ss -Htn state established \
		"dst $TG_BE4:$TG_BE_PORT" | wc -l)" -eq 1 ] || return 1
	sent=$(tcp_info "$TG_NS_GW" "src $TG_GWC4:$TG_GW_PORT" \
		"dst $TG_CL4:$DL_PORT" | sed -n 's/^bytes_sent://p')
	received=$(tcp_info "$TG_NS_GW" "dst $TG_BE4:$TG_BE_PORT" |
		sed -n 's/^bytes_received://p')
	[ "${sent:-0}" -gt 1000000 ] && [ "${received:-0}" -gt 1000000 ] ||
		return 1
	tcp_info "$TG_NS_CL" "src $TG_CL4:$IDLE_PORT" | grep -q '^unacked:' &&
		return 1
	cur=$(tcp_info "$TG_NS_GW" "src $TG_GWC4:$TG_GW_PORT" \
		"dst $TG_CL4:$IDLE_PORT" |
		grep -E '^(bytes_sent|bytes_received|segs_out|segs_in|unacked):' |
		tr '\n' ' ')
	[ -n "$cur" ] || return 1
	[[ $cur != *unacked:* ]] || return 1
	now=$(date +%s%N)
	if [ "$cur" != "$idle_last" ]; then
		idle_last=$cur
		idle_since=$now
		return 1
	fi
	[ $((now - idle_since)) -ge 1000000000 ]
}

tg_wait_for 30 "response on the idle connection" responded ||
	tg_die "no response on the idle connection"
tg_wait_for 30 "both connections settled" settled ||
	tg_fail "the connections did not settle: idle $idle_last"

ss_gw=$(ip netns exec "$TG_NS_GW" ss -Htn state established)
tg_log "gw's established sockets (ss -tn):"
while IFS= read -r l; do tg_log "    $l"; done <<<"$ss_gw"

# The backend connection: gw's local port is ephemeral; ss tells which.
be_port=$(ip netns exec "$TG_NS_GW" ss -Htn state established \
	"dst $TG_BE4:$TG_BE_PORT" | awk '{ n = split($3, a, ":"); print a[n]; exit }')
[ -n "$be_port" ] || tg_die "no backend connection in gw"

# sock_row ROLE LOCAL LPORT REMOTE RPORT PEER PORT: the one matching row.
sock_row()
{
	jq -c --arg role "$1" --arg l "$2" --argjson lp "$3" --arg r "$4" \
		--argjson rp "$5" --arg p "$6" --argjson port "$7" '[.[] |
		select(.proto == "tcp" and .role == $role and .local == $l and
		       .local_port == $lp and .remote == $r and .remote_port == $rp
		       and .peer == $p and .port == $port and
		       .role_inferred == false)]' <<<"$socks"
}

check_live()
{
	local what=$1 rows

	shift
	rows=$(sock_row "$@")
	if [ "$(jq length <<<"$rows")" -ne 1 ]; then
		tg_fail "$what: expected one socket role=$1 local=$2:$3 remote=$4:$5 peer=$6 port=$7, found $rows"
		return 1
	fi
	jq -e '.[0] | .bytes_in > 0 and .packets_in > 0 and .bytes_out > 0 and
		.packets_out > 0' <<<"$rows" >/dev/null ||
		tg_fail "$what: counters should all be non-zero: $rows"
	ROW=$(jq -c '.[0]' <<<"$rows")
}

# check_dump MODE: the three live connections in $socks, as ss sees them.
check_dump()
{
	check_live "$1: download, client side" client "$TG_GWC4" "$TG_GW_PORT" \
		"$TG_CL4" "$DL_PORT" "$TG_CL4" "$TG_GW_PORT" &&
		{ jq -e '.bytes_out > 1000000 and .bytes_out > .bytes_in' <<<"$ROW" >/dev/null ||
			tg_fail "$1: download, client side: expected well over 1 MB out, more out than in: $ROW"; }
	check_live "$1: download, backend side" backend "$TG_GWB4" "$be_port" \
		"$TG_BE4" "$TG_BE_PORT" "$TG_BE4" "$TG_BE_PORT" &&
		{ jq -e '.bytes_in > 1000000 and .bytes_in > .bytes_out' <<<"$ROW" >/dev/null ||
			tg_fail "$1: download, backend side: expected well over 1 MB in, more in than out: $ROW"; }

	if check_live "$1: idle keep-alive, client side" client "$TG_GWC4" "$TG_GW_PORT" \
		"$TG_CL4" "$IDLE_PORT" "$TG_CL4" "$TG_GW_PORT"; then
		info=$(tcp_info "$TG_NS_GW" "src $TG_GWC4:$TG_GW_PORT" \
			"dst $TG_CL4:$IDLE_PORT")
		field() { sed -n "s/^$1://p" <<<"$info"; }
		sent=$(field bytes_sent)
		received=$(field bytes_received)
		segs_out=$(field segs_out)
		segs_in=$(field segs_in)
		[ -n "$sent" ] && [ -n "$received" ] && [ -n "$segs_out" ] && [ -n "$segs_in" ] ||
			tg_die "cannot read TCP_INFO of the idle connection: $info"
		read -r b_out p_out b_in p_in <<<"$(jq -r \
			'"\(.bytes_out) \(.packets_out) \(.bytes_in) \(.packets_in)"' <<<"$ROW")"
		tg_log "$1: idle connection: meter out $b_out B $p_out pkts, in $b_in B $p_in pkts;" \
			"TCP_INFO sent $sent B in $segs_out segs, received $received B in $segs_in segs"
		# The accepted socket's segs_in also counts the SYN and the ACK that
		# completed the handshake; those reach the meter on the listener.
		[ "$p_out" -eq "$segs_out" ] ||
			tg_fail "$1: idle connection packets out: expected $segs_out (segs_out), got $p_out"
		[ "$p_in" -eq $((segs_in - 2)) ] ||
			tg_fail "$1: idle connection packets in: expected $((segs_in - 2)) (segs_in - 2), got $p_in"
		[ "$b_out" -eq $((sent + 52 * p_out)) ] ||
			tg_fail "$1: idle connection bytes out: expected $((sent + 52 * p_out)) (bytes_sent + 52 * packets), got $b_out"
		[ "$b_in" -eq $((received + 52 * p_in)) ] ||
			tg_fail "$1: idle connection bytes in: expected $((received + 52 * p_in)) (bytes_received + 52 * packets), got $b_in"
	fi
}

# Both ways of listing sockets: the default (the socket iterator where the
# kernel loads it, else the /proc walk) and the /proc walk alone.
for mode in default proc; do
	if [ "$mode" = proc ]; then
		socks=$(TOLLGATE_SOCK_LIST=proc tg_dump --by socket) ||
			tg_die "tollgate dump --by socket (/proc walk) failed"
	else
		socks=$(tg_dump --by socket) ||
			tg_die "tollgate dump --by socket failed"
	fi
	tg_log "socket dump ($mode):"
	tg_show_dump "$socks"
	check_dump "$mode"
done
tg_result
