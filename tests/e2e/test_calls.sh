#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# test_calls.sh - every HTTP request a client sends to the gateway (HTTP/1.x,
# cleartext HTTP/2) is one call, counted exactly.
#
# The truth is nginx's access log in gw: one line per request it read. The
# meter's calls for the client peer must equal its number of lines, after:
# - wrk: keep-alive load on 32 concurrent connections;
# - curl: GETs, and POSTs whose bodies (Content-Length, and chunked with
#   curl's own framing) contain request lines, blank lines and chunk-like
#   text, small and large enough to span many reads;
# - cleartext HTTP/2 (prior knowledge): curl, and 31 streams written by
#   hand in one go, a POST whose body holds a preface and frame headers;
# - raw requests written by hand: chunked bodies with extensions and
#   trailers, three pipelined requests in one write, a request dribbled a
#   few bytes per write, blank lines between requests.
# No connection may be reported as desynced or as not HTTP, and the
# client bytes must still match gw's veth counters. test_calls_restart.sh
# runs all this with the agent killed and started again under load.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh" || exit 1

tg_init nginx curl wrk socat
tg_topology_setup
tg_cgroup_setup
tg_agent_start

tg_check_calls_tracers agent
tg_be_nginx_start
tg_gw_nginx_start
tg_be_file f 1500

gw=$TG_GWC4:$TG_GW_PORT
body=$TG_TMP/body
# A body that looks like requests: the meter must not count them.
{
	printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'
	printf 'POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello'
	printf '\r\n\r\n0\r\n\r\n'
	head -c 200000 /dev/zero | tr '\0' 'G'
	printf 'GET /end HTTP/1.0\r\n\r\n'
} >"$body"
# The same for HTTP/2: a preface and a HEADERS frame header of stream 99.
printf 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x08\x01\x05\x00\x00\x00\x63' >"$TG_TMP/raw0"

access_log=$TG_TMP/gw/logs/access.log
# log_has N: gw's access log has N lines or more.
# shellcheck disable=SC2317 # run by tg_wait_for
log_has()
{
	[ "$(wc -l <"$access_log")" -ge "$1" ]
}

tg_measure_begin

out=$(timeout 30 ip netns exec "$TG_NS_CL" wrk -t2 -c32 -d3s "http://$gw/f") ||
	tg_die "wrk failed: $out"
tg_log "wrk: $(grep -E 'requests in' <<<"$out" | sed 's/^ *//')"

# TG_CALLS_RESTART=1 (test_calls_restart.sh): the agent is killed during a
# keep-alive load and started again. The receive tracer stays attached from
# its pin meanwhile, and the new agent keeps it: no receive is missed.
if [ -n "${TG_CALLS_RESTART:-}" ]; then
	# wrk runs until the new agent has had load too (SIGINT ends it;
	# timeout passes the signal on), however long a loaded machine takes
	# to restart the agent. The kill comes once its requests flow: 100 of
	# them logged (more than the first wrk's 32 connections can leave
	# behind).
	lines=$(wc -l <"$access_log")
	timeout 120 ip netns exec "$TG_NS_CL" wrk -t2 -c8 -d90s "http://$gw/f" \
		>"$TG_TMP/wrk2.out" 2>&1 &
	wrk2=$!
	TG_PIDS+=("$wrk2")
	tg_wait_for 30 "requests of the second wrk in gw's access log" \
		log_has $((lines + 100)) ||
		tg_die "the second wrk's requests do not flow: $(cat "$TG_TMP/wrk2.out")"
	tg_agent_stop KILL
	tg_agent_start
	grep -q 'tg_recv: kept pinned link' "$TG_AGENT_LOG" ||
		tg_fail "the restarted agent did not keep the pinned receive tracer"
	tg_check_calls_tracers "restarted agent"
	lines=$(wc -l <"$access_log")
	tg_wait_for 30 "requests under the restarted agent in gw's access log" \
		log_has $((lines + 100)) ||
		tg_die "no requests under the restarted agent: $(cat "$TG_TMP/wrk2.out")"
	kill -0 "$wrk2" 2>/dev/null ||
		tg_die "premise: the load ended before the agent was back: $(cat "$TG_TMP/wrk2.out")"
	kill -INT "$wrk2"
	wait "$wrk2" || tg_die "wrk across the restart failed: $(cat "$TG_TMP/wrk2.out")"
	tg_log "wrk across a restart: $(grep -E 'requests in' "$TG_TMP/wrk2.out" | sed 's/^ *//')"
fi

# 20 GETs on one keep-alive connection, then POSTs. Statuses do not
# matter (the static backend answers POST with 405): lines do.
tg_curl -o /dev/null "http://$gw/f?n=[1-20]" || tg_die "curl GETs failed"
tg_curl -o /dev/null -o /dev/null -o /dev/null --data-binary @"$body" \
	"http://$gw/post?n=[1-3]" || tg_die "curl POSTs failed"
tg_curl -o /dev/null -o /dev/null -H 'Transfer-Encoding: chunked' \
	--data-binary @"$body" "http://$gw/chunked?n=[1-2]" ||
	tg_die "curl chunked POSTs failed"
tg_curl -o /dev/null -H 'Transfer-Encoding: chunked' --data-binary 'x' \
	"http://$gw/chunked-small" || tg_die "curl small chunked POST failed"

# Cleartext HTTP/2 with prior knowledge. curl (7.88) cannot reuse an h2c
# connection, so it sends one request per connection: a GET and a POST.
h2=$TG_GWC4:$TG_GW_H2_PORT
tg_curl --http2-prior-knowledge -o /dev/null "http://$h2/f?h2=1" ||
	tg_die "curl HTTP/2 GET failed"
tg_curl --http2-prior-knowledge -o /dev/null --data-binary @"$TG_TMP/raw0" \
	"http://$h2/h2post" || tg_die "curl HTTP/2 POST failed"

# By hand: socat writes FILE, which holds N requests, in one go. It keeps
# its side open until nginx has logged them, or has closed first (socat
# then ends a second later: a request that says Connection: close is
# logged when its connection ends): a client that shuts down its side
# early has its requests cut short (499). Should the lines never come,
# the checks of the access log below say so.
raw()	# FILE N [ADDR:PORT]
{
	local want=$(($(wc -l <"$access_log") + $2))

	{
		cat "$1"
		tg_wait_for 30 "$2 requests of ${1##*/} in gw's access log" \
			log_has "$want" || true
	} | ip netns exec "$TG_NS_CL" timeout 60 socat -t 1 - "TCP:${3:-$gw}" >/dev/null ||
		tg_die "socat to ${3:-$gw} failed"
}
# Chunked with extensions, a chunk holding a request line, trailers; then
# blank lines and three requests pipelined in the same write.
{
	printf 'POST /c1 HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: Chunked\r\n\r\n'
	printf '5;name=value;q="a;b"\r\nhello\r\n'
	printf '10\r\nGET / HTTP/1.1\r\n\r\n'
	printf '0;last\r\nX-Trailer: GET / HTTP/1.1\r\nY: z\r\n\r\n'
	printf '\r\n\r\nGET /p1 HTTP/1.1\r\nHost: gw\r\n\r\n'
	printf 'GET /p2 HTTP/1.1\r\nHost: gw\r\ncontent-length: 14\r\n\r\nGET / HTTP/1.1'
	printf 'GET /p3 HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n'
} >"$TG_TMP/raw1"
raw "$TG_TMP/raw1" 4

# HTTP/2 by hand, all in one write: the preface, SETTINGS, 30 GETs on
# streams 1..59 and a POST on stream 61 whose DATA holds a preface and
# frame-like bytes. HPACK from the static table: GET or POST, http, /, and
# a literal :authority.
h2_frame()	# LENGTH TYPE FLAGS STREAM
{
	printf '%b' "$(printf '\\x%02x' $(($1 >> 16 & 255)) $(($1 >> 8 & 255)) \
		$(($1 & 255)) "$2" "$3" $(($4 >> 24 & 255)) $(($4 >> 16 & 255)) \
		$(($4 >> 8 & 255)) $(($4 & 255)))"
}
{
	printf 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'
	h2_frame 0 4 0 0
	for ((sid = 1; sid <= 59; sid += 2)); do
		h2_frame 7 1 5 "$sid"
		printf '\x82\x86\x84\x41\x02gw'
	done
	h2_frame 7 1 4 61
	printf '\x83\x86\x84\x41\x02gw'
	h2_frame 40 0 1 61
	printf 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x08\x01\x05\x00\x00\x00\x63abcdefg'
} >"$TG_TMP/raw4"
raw "$TG_TMP/raw4" 31 "$h2"

# Per socket: three pipelined requests on a connection kept open, whose
# socket row must say 3 while it lives: the connection is held until the
# dump is taken, once nginx has logged the three.
printf 'GET /s%d HTTP/1.1\r\nHost: gw\r\n\r\n' 1 2 3 >"$TG_TMP/raw3"
# shellcheck disable=SC2317 # run by tg_wait_for
released()
{
	[ -e "$TG_TMP/release" ] || [ ! -d "$TG_TMP" ]
}
want=$(($(wc -l <"$access_log") + 3))
{
	cat "$TG_TMP/raw3"
	tg_wait_for 90 "the end of the socket check" released
} | ip netns exec "$TG_NS_CL" timeout 120 socat -t 1 - "TCP:$gw" >/dev/null &
held=$!
tg_wait_for 30 "the held connection's 3 requests in gw's access log" \
	log_has "$want" ||
	tg_fail "the held connection's requests are not in gw's access log"
socks=$("$TG_BIN" dump --pin-dir "$TG_PIN" --by socket --format json) ||
	tg_die "tollgate dump --by socket failed"
got=$(jq -c '[.[] | select(.role == "client" and .calls > 0) |
	{remote, local_port, calls}]' <<<"$socks")
tg_log "live client sockets with calls: $got"
[ "$(jq -c 'map(.calls)' <<<"$got")" = "[3]" ] ||
	tg_fail "expected one live client socket with 3 calls, got $got"
touch "$TG_TMP/release"
wait "$held" || tg_die "the held connection failed"

# A request dribbled into many writes: 3 bytes every 20 ms (the sleep
# below is the dribble, not a wait).
printf 'POST /slow HTTP/1.1\r\nHost: gw\r\nContent-Length: 20\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\n\r\n\r\n' >"$TG_TMP/raw2"
# shellcheck disable=SC2016 # expanded by the inner shell
ip netns exec "$TG_NS_CL" timeout 30 bash -c '
	exec 3<>"/dev/tcp/${1%:*}/${1#*:}" || exit 1
	f=$2
	n=$(stat -c %s "$f")
	for ((i = 0; i < n; i += 3)); do
		dd if="$f" bs=1 skip=$i count=3 status=none >&3 || exit 1
		sleep 0.02
	done
	cat <&3 >/dev/null' _ "$gw" "$TG_TMP/raw2" ||
	tg_die "dribbled request failed"

tg_measure_end

tg_check_calls
log=$TG_CALLS_LOG
h2lines=$(grep -c 'HTTP/2.0"' "$log")
[ "$h2lines" -eq 33 ] || tg_fail "expected 33 HTTP/2 requests in gw's access log, got $h2lines"
for path in /c1 /p1 /p2 /p3 /s1 /s2 /s3 /slow /chunked-small /h2post; do
	grep -q "\"[A-Z]* $path " "$log" || tg_fail "no request $path in gw's access log"
done

# Bytes of the client side only: with 32 client connections nginx opens
# more upstream connections than its keepalive cache (16 per worker) holds
# and closes the extra ones itself, whose last packets then belong to a
# timewait socket that no program sees (see tg_gw_nginx_start).
tg_check_peer calls "$TG_DUMP" "$TG_CL4" client "$TG_GW_PORT,$TG_GW_H2_PORT" tcp "$TG_DEV_GWC"
tg_check_only_peers "$TG_DUMP" "$TG_CL4" "$TG_BE4"
h2calls=$(jq --argjson port "$TG_GW_H2_PORT" '[.[] | select(.port == $port) | .calls] | add // 0' <<<"$TG_DUMP")
[ "$h2calls" -eq 33 ] || tg_fail "expected 33 calls on the HTTP/2 port $TG_GW_H2_PORT, got $h2calls"
tg_result
