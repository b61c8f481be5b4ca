#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# test_aborted.sh - connections that end mid-response are metered exactly,
# the packets the kernel handles for them after their socket is gone or in
# TIME_WAIT included.
#
# When a client stops mid-response, or the gateway drops an upstream
# mid-response, the peer's data and resets still in flight reach a socket
# that is gone: the kernel drops them and answers each with a reset of its
# own. When the gateway closes first, the peer's FIN reaches a timewait
# socket, which acknowledges it. No socket of the gateway's cgroup sends
# or receives those packets; the meter counts them to the connection's
# peer (bpf/closed.bpf.h). Each round below is compared on its own: per
# peer, what the meter counted during the round equals what gw's veth
# links carried, bytes and packets, both directions, offloads off.
#
# Data is in flight when a connection ends because gw's link to the client
# and the backend's link to gw are slowed down (tbf, a queue long enough
# never to drop): a reset overtakes nothing, the data queued behind it
# still goes out. gw receives on both links in NAPI threads
# (tg_gw_rx_threaded): packets a queue's timer releases are then received
# in a thread of the link's, not on top of whatever task the timer's
# interrupt found, which a kernel may hide from tracing programs.
#
# Rounds, over IPv4:
# 1. curl gives up on a 100 MB download after a second (--max-time);
# 2. a client reads 1 MB of it, then closes with SO_LINGER 0 (a reset);
# 3. wrk is stopped mid-run, 8 connections mid-download;
#    then the agent is SIGKILLed and started again: the pinned tracers
#    count on;
# 4. the gateway gives up on an upstream mid-response (proxy_read_timeout)
#    and closes it; the backend sends more a second later, to the
#    timewait socket, which resets it, and to no socket;
# 5. the gateway closes first (Connection: close, no lingering close), the
#    client a moment later: its FIN reaches a timewait socket, which
#    acknowledges it;
# and over IPv6:
# 6. a client closes with SO_LINGER 0 mid-download, and wrk is stopped
#    mid-run (the IPv6 resets of a full socket, which egress does not see);
# 7. the gateway closes first, the client later.
# The agent runs with --no-calls: these packets are bytes, counted
# without calls. At the end, detach removes the tracers' pins and
# programs.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh" || exit 1

TG_STAT_CLOSED=18	# packets of closed connections counted
TG_STAT_CLOSED_LOST=19	# closing connections not remembered
SLOW_PORT=8090		# the backend that stalls mid-response

tg_init nginx curl wrk python3 nstat
tg_topology_setup
tg_gw_rx_threaded
tg_cgroup_setup
tg_agent_start --no-calls
for p in tg_close_reset tg_close_drop; do
	tg_has_line "$TG_AGENT_LOG" "$p: attached" ||
		tg_die "the agent did not attach $p: $(grep -E 'tracepoint|tg_close' "$TG_AGENT_LOG")"
done
tg_be_nginx_start

# A backend that answers 1 MB, sends the first 256 KB, stalls for two
# seconds, then tries the rest and closes.
cat >"$TG_TMP/stall.py" <<'EOF2'
import socket, sys, threading, time
def serve(c):
    try:
        req = b""
        while b"\r\n\r\n" not in req:
            b = c.recv(4096)
            if not b:
                return
            req += b
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1048576\r\n\r\n")
        c.sendall(b"x" * 262144)
        time.sleep(2)
        c.sendall(b"x" * 786432)
    except OSError:
        pass
    finally:
        c.close()
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[2], int(sys.argv[1])))
s.listen(16)
while True:
    threading.Thread(target=serve, args=(s.accept()[0],), daemon=True).start()
EOF2
tg_ns_spawn "$TG_NS_BE" "$TG_TMP/stall.log" python3 "$TG_TMP/stall.py" \
	"$SLOW_PORT" "$TG_BE4"
tg_wait_listen "$TG_NS_BE" t "$SLOW_PORT" "$TG_TMP/stall.log"

TG_GW_SERVER_EXTRA="
		location /stall/ {
			proxy_read_timeout 1s;
			proxy_pass http://$TG_BE4:$SLOW_PORT;
		}
		location /close/ {
			lingering_close off;
			proxy_pass http://be4/;
		}
		location /close6/ {
			lingering_close off;
			proxy_pass http://be6/;
		}
"
tg_gw_nginx_start
tg_be_file big.bin $((100 << 20))
tg_be_file f 2000

# Slow links, never dropping: gw to the client, the backend to gw.
ip netns exec "$TG_NS_GW" tc qdisc replace dev "$TG_DEV_GWC" root tbf \
	rate 40mbit burst 16kb limit 16mb &&
	ip netns exec "$TG_NS_BE" tc qdisc replace dev "$TG_DEV_BE" root tbf \
		rate 40mbit burst 16kb limit 16mb ||
	tg_die "cannot slow the links down"

# A client that reads N bytes of PATH from ADDR, then resets the
# connection (SO_LINGER 0), or, with N = 0, reads the whole answer to a
# request with Connection: close, waits 0.3 s and closes.
cat >"$TG_TMP/client.py" <<'EOF2'
import socket, struct, sys, time
addr, port, path, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.connect((addr, port))
s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: gw\r\n" +
          (b"Connection: close\r\n" if n == 0 else b"") + b"\r\n")
got = 0
while n == 0 or got < n:
    b = s.recv(65536)
    if not b:
        break
    got += len(b)
if n == 0:
    time.sleep(0.3)
else:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()
print(got)
EOF2

client()
{
	ip netns exec "$TG_NS_CL" python3 "$TG_TMP/client.py" "$@" ||
		tg_die "client.py $* failed"
}

# The kernel's own counts in gw, for the log: resets sent, timewait
# sockets' work, segments that reached a socket closed by its owner.
gw_nstat()
{
	ip netns exec "$TG_NS_GW" nstat -az TcpOutRsts TcpExtTW \
		TcpExtTCPAbortOnData TcpExtTCPAbortOnClose 2>/dev/null |
		awk 'NR > 1 { printf "%s %s ", $1, $2 }'
}

ROUND=0
DUMP0='[]'
DUMP='[]'
CLOSED0=0

# read_both NAME: gw's link counters into TG_SNAP_NAME and the meter's
# dump into DUMP, read with no packet between them. A peer whose
# connection gw has forgotten can still send after the links were quiet
# for a second (a retransmission after its timer backed off): such a
# packet, between the two reads, would be in one truth and not the other.
# So the counters are read again after the dump, until they did not move.
read_both()
{
	local deadline=$((SECONDS + 30)) first="TG_SNAP_$1"

	while :; do
		tg_wait_quiet 1
		tg_snapshot "$1"
		DUMP=$(tg_dump) || tg_die "tollgate dump failed"
		tg_snapshot again
		# shellcheck disable=SC2154 # set by tg_snapshot
		[ "${!first}" = "$TG_SNAP_again" ] &&
			return 0
		[ "$SECONDS" -lt "$deadline" ] ||
			tg_die "gw's links moved during every dump for 30s"
		tg_log "round $ROUND: a packet crossed during the dump: read again"
	done
}

round_begin()
{
	ROUND=$((ROUND + 1))
	read_both base
	DUMP0=$DUMP
	CLOSED0=$(tg_stat "$TG_STAT_CLOSED")
	tg_log "round $ROUND: $1"
}

# round_end WANT_CLOSED PEER ROLE PORT DEV...: after the round, per PEER,
# the meter's counts since round_begin equal DEV's. WANT_CLOSED=1: the
# round must have had packets of closed connections (the meter says how
# many; the comparison says whether they were right).
round_end()
{
	local want=$1 dump delta closed

	shift
	tg_wait_gw_idle
	read_both end
	dump=$DUMP
	delta=$(jq -n --argjson a "$DUMP0" --argjson b "$dump" '
		def k: "\(.role) \(.proto) \(.peer) \(.port)";
		($a | map({key: k, value: .}) | from_entries) as $old |
		[$b[] | . as $r | ($old[$r | k] // {}) as $o |
		 $r + {bytes_in: (.bytes_in - ($o.bytes_in // 0)),
		       packets_in: (.packets_in - ($o.packets_in // 0)),
		       bytes_out: (.bytes_out - ($o.bytes_out // 0)),
		       packets_out: (.packets_out - ($o.packets_out // 0))}]')
	closed=$(($(tg_stat "$TG_STAT_CLOSED") - CLOSED0))
	tg_log "round $ROUND: $closed packets of closed connections counted; gw: $(gw_nstat)"
	while [ $# -ge 4 ]; do
		tg_check_peer "round $ROUND" "$delta" "$1" "$2" "$3" tcp "$4"
		shift 4
	done
	[ "$want" -eq 0 ] || [ "$closed" -gt 0 ] ||
		tg_fail "round $ROUND: premise: no packet of a closed connection"
}

# rounds_end WANT_CLOSED CLIENT BACKEND BACKEND_PORTS: round_end for the
# client at CLIENT, on gw's link to it, and the backend at BACKEND, on
# gw's link to the backends.
rounds_end()
{
	round_end "$1" "$2" client "$TG_GW_PORT" "$TG_DEV_GWC" \
		"$3" backend "$4" "$TG_DEV_GWB"
}

GW4=$TG_GWC4:$TG_GW_PORT
GW6="[$TG_GWC6]:$TG_GW_PORT"

round_begin "curl gives up mid-download"
tg_curl --max-time 1 -o /dev/null "http://$GW4/big.bin" 2>/dev/null
[ $? -eq 28 ] || tg_fail "round 1: premise: curl did not time out mid-download"
rounds_end 0 "$TG_CL4" "$TG_BE4" "$TG_BE_PORT"

round_begin "a client resets the connection mid-download"
client "$TG_GWC4" "$TG_GW_PORT" /big.bin $((1 << 20)) >/dev/null
rounds_end 1 "$TG_CL4" "$TG_BE4" "$TG_BE_PORT"

round_begin "wrk stopped mid-run"
out=$(timeout 30 ip netns exec "$TG_NS_CL" wrk -t2 -c8 -d2s \
	"http://$GW4/big.bin" 2>&1) || tg_die "wrk failed: $out"
rounds_end 1 "$TG_CL4" "$TG_BE4" "$TG_BE_PORT"

# A new agent keeps the pinned tracers: the rounds after it count on.
tg_agent_stop KILL
tg_agent_start --no-calls
for p in tg_close_reset tg_close_drop; do
	tg_has_line "$TG_AGENT_LOG" "$p: kept pinned link" ||
		tg_fail "the restarted agent did not keep $p's pinned link"
done

round_begin "the gateway gives up on an upstream mid-response"
! tg_curl -o /dev/null "http://$GW4/stall/x" 2>/dev/null ||
	tg_fail "round 4: premise: the answer came whole"
rounds_end 1 "$TG_CL4" "$TG_BE4" "$TG_BE_PORT,$SLOW_PORT"

round_begin "the gateway closes first, the client later"
for _ in 1 2 3; do
	client "$TG_GWC4" "$TG_GW_PORT" /close/f 0 >/dev/null
done
rounds_end 1 "$TG_CL4" "$TG_BE4" "$TG_BE_PORT,$SLOW_PORT"

round_begin "IPv6: a client resets mid-download, wrk stopped mid-run"
client "$TG_GWC6" "$TG_GW_PORT" /v6/big.bin $((1 << 20)) >/dev/null
out=$(timeout 30 ip netns exec "$TG_NS_CL" wrk -t2 -c8 -d2s \
	"http://$GW6/v6/big.bin" 2>&1) || tg_die "wrk failed: $out"
rounds_end 1 "$TG_CL6" "$TG_BE6" "$TG_BE_PORT"

round_begin "IPv6: the gateway closes first, the client later"
for _ in 1 2 3; do
	client "$TG_GWC6" "$TG_GW_PORT" /close6/f 0 >/dev/null
done
rounds_end 1 "$TG_CL6" "$TG_BE6" "$TG_BE_PORT"

tg_check_only_peers "$(tg_dump)" "$TG_CL4" "$TG_BE4" "$TG_CL6" "$TG_BE6"
lost=$(tg_stat "$TG_STAT_CLOSED_LOST")
[ "$lost" -eq 0 ] || tg_fail "$lost closing connections not remembered"

# detach removes the tracers: their pins, and the programs behind them.
ids=$(for p in link_close_reset link_close_drop; do
	bpftool -j link show pinned "$TG_PIN/$p" | jq .prog_id
done)
[ "$(wc -w <<<"$ids")" -eq 2 ] || tg_fail "expected 2 pinned tracers, got: $ids"
tg_agent_stop
"$TG_BIN" detach --pin-dir "$TG_PIN" >/dev/null || tg_fail "detach failed"
# The kernel frees a program after its last link, not at once.
# shellcheck disable=SC2317 # run by tg_wait_for
progs_gone()
{
	local id

	for id in $ids; do
		! bpftool prog show id "$id" >/dev/null 2>&1 || return 1
	done
}
tg_wait_for 10 "tracer programs unloaded after detach" progs_gone ||
	tg_fail "the tracers' programs ($ids) are still loaded after detach"
[ ! -e "$TG_PIN" ] || tg_fail "pins left after detach: $(ls "$TG_PIN")"
tg_result
