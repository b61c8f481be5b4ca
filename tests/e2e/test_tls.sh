#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# test_tls.sh - every HTTP request a client sends over TLS to a gateway
# that terminates it and answers is one call, counted exactly from the
# stream that SSL_write encrypts.
#
# nginx in gw terminates TLS with OpenSSL (libssl, found by the agent in
# the maps of the processes in the metered cgroup and hooked with
# uprobes in each of them). The truth is nginx's access log: the meter's
# calls for the client must equal its lines, less those of requests that
# got no answer (499: the client went away first), after:
# - wrk over https: keep-alive load on 16 concurrent connections;
# - curl over https: GETs on one connection, POSTs whose bodies
#   (Content-Length, and chunked) contain request lines, one sent after
#   "100 Continue";
# - answers without a body: HEAD (before and after GETs on the same
#   connection, of a static file and of a chunked answer), 204, 304;
# - chunked answers with trailers, and a body to the end of the
#   connection (HTTP/1.0);
# - HTTP/2 over TLS (ALPN h2): GETs, HEAD, 204, answers with trailers, a
#   POST;
# - requests abandoned before their answer (499), over HTTP/1.1 and
#   HTTP/2: no call;
# - answers larger than the socket holds, to a client that reads slowly:
#   nginx's SSL_write finds the socket full (WANT_WRITE) and is called
#   again with the same bytes. Their body is answers' text, so that bytes
#   parsed twice would be calls no log line has (or a lost stream).
#   bpftrace counts, apart from the agent, the gateway's write(2)s that
#   found the socket full: there must be some.
# Every TLS connection must have been linked by the hooks (none "without
# library hooks"), none desynced, none "not HTTP", no write without its
# connection; and the client's bytes must still match gw's veth counters.
# The agent is SIGKILLed and restarted before the traffic: its pinned
# hooks must be kept, not doubled. In a 3.0 libssl the writes must be
# hooked at the common callee of SSL_write and SSL_write_ex (test_names
# runs with --tls-exported-hooks, on SSL_write and SSL_write_ex). Skips
# when the uprobes cannot attach.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh" || exit 1

tg_init nginx curl wrk openssl ldd python3 readelf bpftrace
tg_topology_setup
tg_cgroup_setup
# nginx's libssl named in the configuration: hooked before nginx starts.
# The scan of the cgroup's processes then finds the same file (through
# /proc/PID/root) and must not hook it twice.
libssl=$(ldd "$(command -v nginx)" | awk '/libssl\.so/ { print $3 }')
[ -n "$libssl" ] || tg_skip "this nginx does not use a shared libssl"
cat >"$TG_TMP/tollgate.yaml" <<EOF2
region: test
provider: test
tls:
  - library: $libssl
EOF2
tg_agent_start --config "$TG_TMP/tollgate.yaml"
tg_be_nginx_start
# A slow backend, for requests abandoned before their answer (499): it
# answers /slow?s=N after N seconds.
cat >"$TG_TMP/slow.py" <<'EOF2'
import http.server, sys, time
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        time.sleep(float(self.path.rpartition("=")[2] or 0))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer((sys.argv[1], 8090), H).serve_forever()
EOF2
tg_ns_spawn "$TG_NS_BE" "$TG_TMP/slow.log" python3 "$TG_TMP/slow.py" "$TG_BE4"
tg_wait_listen "$TG_NS_BE" t 8090 "$TG_TMP/slow.log"
# Answers of every framing: none (204), chunked with trailers (gzip of a
# proxied file), and a slow one the client abandons.
TG_GW_TLS_EXTRA='
		location = /204 {
			return 204;
		}
		location /gz/ {
			gzip on;
			gzip_types *;
			gzip_min_length 0;
			gzip_http_version 1.0;
			add_trailer X-Trailer done always;
			proxy_pass http://be4/;
		}
		location /slow {
			proxy_ignore_client_abort off;
			proxy_pass http://'"$TG_BE4"':8090;
		}
'
tg_gw_tls_setup
tg_gw_nginx_start
tg_be_file f 1500

# The agent hooks each nginx process (master and two workers) at its
# next scan.
# shellcheck disable=SC2317 # run by tg_wait_for
hooked_or_not()
{
	[ "$(grep -c 'tls: process .*: hooked' "$TG_AGENT_LOG")" -ge 3 ] ||
		grep -q 'tls: cannot hook' "$TG_AGENT_LOG"
}
tg_wait_for 30 "nginx's processes hooked" hooked_or_not
grep -q 'tls: cannot hook' "$TG_AGENT_LOG" &&
	tg_skip "uprobes cannot attach here: $(grep 'tls: cannot hook' "$TG_AGENT_LOG" | tail -n1)"
hooked=$(grep -c 'tls: process .*: hooked' "$TG_AGENT_LOG")
[ "$hooked" -ge 3 ] ||
	tg_skip "nginx's processes not hooked: $(grep 'tls:' "$TG_AGENT_LOG" | tail -n1)"
tg_log "$(grep 'tls: process .*: hooked' "$TG_AGENT_LOG" | head -n1) (and $((hooked - 1)) more)"
[ "$hooked" -eq 3 ] ||
	tg_fail "expected nginx's 3 processes hooked once each: $(grep 'tls:' "$TG_AGENT_LOG")"
if tg_libssl_30 "$libssl"; then
	[ "$(grep -c 'tls: process .*: hooked .*(4 uprobes; SSL_write and SSL_write_ex at their common callee' "$TG_AGENT_LOG")" -eq 3 ] ||
		tg_fail "$libssl is a 3.0 libssl, its writes not hooked at their common callee: $(grep 'tls: process' "$TG_AGENT_LOG" | head -n1)"
fi

# A restarted agent keeps the pinned hooks: hooking the processes again
# would count every call twice (the counts below would be double).
tg_agent_stop KILL
tg_agent_start --config "$TG_TMP/tollgate.yaml"
# Every collection scans the cgroup's processes first: two of them have
# seen nginx's.
ts=$(tg_wait_collection) && tg_wait_collection "$ts" >/dev/null ||
	tg_fail "the restarted agent did not collect twice"
[ "$(grep -c 'tls: process .*: kept pinned hooks' "$TG_AGENT_LOG")" -eq 3 ] ||
	tg_fail "the restarted agent did not keep the pinned hooks of nginx's 3 processes: $(grep 'tls:' "$TG_AGENT_LOG")"
grep -q 'tls: process .*: hooked' "$TG_AGENT_LOG" &&
	tg_fail "the restarted agent hooked a process a second time"

gw=https://$TG_GWC4:$TG_GW_TLS_PORT
body=$TG_TMP/body
{
	printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'
	printf 'POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello'
	printf '\r\n\r\n0\r\n\r\n'
	head -c 200000 /dev/zero | tr '\0' 'G'
	printf 'GET /end HTTP/1.0\r\n\r\n'
} >"$body"

# What the hooks cost, when bench_prog is built ('make bench' builds it):
# BPF run-time statistics (BPF_ENABLE_STATS, held by 'bench_prog stats')
# during the wrk run, per program of this test's pinned links.
stats_bin=${OUTPUT:-.output}/tests/bench_prog
stats_pid=
declare -A stats0=()
tls_prog_ids()
{
	local pin

	for pin in "$TG_PIN"/tls_* "$TG_PIN/link_recv"; do
		[ -e "$pin" ] && bpftool -j link show pinned "$pin" | jq -r .prog_id
	done | sort -u
}
prog_stat()	# ID: "NAME RUN_TIME_NS RUN_CNT"
{
	bpftool -j prog show id "$1" |
		jq -r '"\(.name) \(.run_time_ns // 0) \(.run_cnt // 0)"'
}

tg_measure_begin

if [ -x "$stats_bin" ]; then
	"$stats_bin" stats >"$TG_TMP/stats.out" 2>&1 &
	stats_pid=$!
	TG_PIDS+=("$stats_pid")
	tg_wait_for 30 "BPF run-time statistics enabled" \
		grep -q enabled "$TG_TMP/stats.out"
	for id in $(tls_prog_ids); do
		stats0[$id]=$(prog_stat "$id")
	done
fi
lines0=$(wc -l <"$TG_TMP/gw/logs/access.log")
out=$(timeout 30 ip netns exec "$TG_NS_CL" wrk -t2 -c16 -d3s "$gw/f") ||
	tg_die "wrk failed: $out"
tg_log "wrk: $(grep -E 'requests in' <<<"$out" | sed 's/^ *//')"
# shellcheck disable=SC2317 # run by tg_wait_for
no_tls_client()
{
	! ip netns exec "$TG_NS_GW" ss -Htan "sport = :$TG_GW_TLS_PORT" |
		awk '$1 != "LISTEN" && $1 != "TIME-WAIT"' | grep -q .
}
if [ -n "$stats_pid" ]; then
	# Every request wrk made is logged once its connection is gone.
	tg_wait_for 30 "wrk's connections closed in gw" no_tls_client
	reqs=$(($(wc -l <"$TG_TMP/gw/logs/access.log") - lines0))
	total=0
	for id in "${!stats0[@]}"; do
		read -r name t0 c0 <<<"${stats0[$id]}"
		read -r name t1 c1 <<<"$(prog_stat "$id")"
		runs=$((c1 - c0))
		ns=$((t1 - t0))
		[ "$runs" -gt 0 ] || continue
		case $name in tg_ssl*) total=$((total + ns)) ;; esac
		case $name in tg_ssl_write | tg_ssl_write_ex | tg_ssl_hs) traps=$((${traps:-0} + runs)) ;; esac
		tg_log "cost: $name $runs runs, $((ns / runs)) ns a run, $(awk -v r="$runs" -v q="$reqs" 'BEGIN { printf "%.2f", r / q }') runs per request"
	done
	tg_log "cost: TLS hooks $((total / reqs)) ns of BPF run time per request ($reqs requests), $(awk -v t="${traps:-0}" -v q="$reqs" 'BEGIN { printf "%.2f", t / q }') traps (entry probes) per request"
	tg_kill_pid "$stats_pid"
	stats_pid=
fi

tg_curl -k --http1.1 -o /dev/null "$gw/f?n=[1-20]" || tg_die "curl GETs failed"
tg_curl -k --http1.1 -o /dev/null -o /dev/null -o /dev/null \
	--data-binary @"$body" "$gw/post?n=[1-3]" || tg_die "curl POSTs failed"
tg_curl -k --http1.1 -o /dev/null -o /dev/null -H 'Transfer-Encoding: chunked' \
	--data-binary @"$body" "$gw/chunked?n=[1-2]" ||
	tg_die "curl chunked POSTs failed"
tg_curl -k --http1.1 -o /dev/null -H 'Transfer-Encoding: chunked' \
	--data-binary 'x' "$gw/chunked-small" || tg_die "curl small chunked POST failed"
# 100 Continue before the answer: an interim response, no call.
tg_curl -k --http1.1 -o /dev/null -H 'Expect: 100-continue' \
	--data-binary @"$body" "$gw/continue" || tg_die "curl POST with 100-continue failed"
# Answers without a body, on one connection with answers that have one:
# HEAD of a static file (Content-Length, no body) and of a chunked
# answer, 204, 304 (If-None-Match: * of the backend's file).
tg_curl -k --http1.1 -o /dev/null -I "$gw/f?head=1" \
	--next -k --http1.1 -o /dev/null "$gw/f?get=1" \
	--next -k --http1.1 -o /dev/null -I "$gw/f?head=2" \
	--next -k --http1.1 -o /dev/null -I "$gw/f?head=3" \
	--next -k --http1.1 -o /dev/null --compressed -I "$gw/gz/f?head=4" \
	--next -k --http1.1 -o /dev/null --compressed "$gw/gz/f?get=2" \
	--next -k --http1.1 -o /dev/null "$gw/204" \
	--next -k --http1.1 -o /dev/null -H 'If-None-Match: *' "$gw/f?304" \
	--next -k --http1.1 -o /dev/null "$gw/f?get=3" ||
	tg_die "curl HEAD, 204 and 304 failed"
# A body to the end of the connection: HTTP/1.0, length unknown (gzip).
tg_curl -k --http1.0 -o /dev/null --compressed "$gw/gz/f?http10" ||
	tg_die "curl HTTP/1.0 failed"
# HTTP/2 by ALPN: several streams on one connection, HEAD, 204, answers
# with trailers, then a POST.
tg_curl -k --http2 -o /dev/null "$gw/f?h2=[1-5]" || tg_die "curl HTTP/2 GETs failed"
tg_curl -k --http2 -o /dev/null -I "$gw/f?h2head" \
	--next -k --http2 -o /dev/null "$gw/204?h2" \
	--next -k --http2 -o /dev/null --compressed "$gw/gz/f?h2=[1-3]" ||
	tg_die "curl HTTP/2 HEAD, 204 and trailers failed"
tg_curl -k --http2 -o /dev/null --data-binary @"$body" "$gw/h2post" ||
	tg_die "curl HTTP/2 POST failed"
# Answers larger than the socket holds, read slowly, then a small one on
# the same connection; and the gateway's writes that found the socket
# full meanwhile (EAGAIN), counted by bpftrace once its probes are on.
# (Not at its very start: a body that begins with a status line is taken
# for the answer to a HEAD, docs/counting.md.)
python3 -c 'import sys; sys.stdout.buffer.write(b"x" + b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" * 80000)' \
	>"$TG_TMP/be/www/answers" || tg_die "cannot write the answers file"
tg_tracefs
bpftrace -e 'BEGIN { printf("ready\n"); }
	tracepoint:syscalls:sys_exit_write
	/cgroup == cgroupid("'"$TG_CG"'") && args->ret == -11/ { @eagain = count(); }' \
	>"$TG_TMP/eagain.out" 2>&1 &
bt=$!
TG_PIDS+=("$bt")
tg_wait_for 60 "bpftrace's probes on" grep -q '^ready' "$TG_TMP/eagain.out"
tg_curl -k --http1.1 --limit-rate 2M -o /dev/null "$gw/answers" \
	--next -k --http1.1 -o /dev/null "$gw/f?after-answers" ||
	tg_die "curl of the large answers failed"
# bpftrace (0.17) can miss a SIGINT that comes between two of its polls
# and then poll on without end: the signal goes again until it has left.
# shellcheck disable=SC2317 # run by tg_wait_for
bt_gone()
{
	! kill -INT "$bt" 2>/dev/null
}
tg_wait_for 30 "bpftrace's exit on SIGINT" bt_gone ||
	tg_die "bpftrace did not stop on SIGINT within 30 s"
wait "$bt" 2>/dev/null
eagain=$(awk '/^@eagain:/ { print $2 }' "$TG_TMP/eagain.out")
tg_log "large answers read slowly: the gateway's writes found the socket full ${eagain:-0} times"
[ "${eagain:-0}" -gt 0 ] ||
	tg_fail "the gateway's writes never found the socket full: no retried SSL_write tested ($(tail -n2 "$TG_TMP/eagain.out"))"
# Abandoned before the answer: nginx logs 499 and answers nothing.
for v in --http1.1 --http2; do
	tg_curl -k "$v" -o /dev/null --max-time 1 "$gw/slow?s=3" 2>/dev/null &&
		tg_die "curl $v to /slow was answered within 1 s"
done

# The backend's late answers reach gw, which drops them and closes: the
# end of the measure waits for gw's connections to close.
tg_measure_end

TG_CALLS_ANSWERED=1 tg_check_calls
log=$TG_CALLS_LOG
abandoned=$(awk -F'"' '{ split($3, f, " "); if (f[1] == 499) n++ } END { print n + 0 }' "$log")
[ "$abandoned" -eq 2 ] || tg_fail "expected 2 abandoned requests (499) in gw's access log, got $abandoned"

tls=$(tg_stat "$TG_STAT_TLS")
hooked=$(tg_stat "$TG_STAT_TLS_HOOKED")
miss=$(tg_stat "$TG_STAT_TLS_MISS")
tg_log "TLS connections $tls, $hooked hooked; $miss writes without their connection"
[ "$tls" -ge 20 ] || tg_fail "expected at least 20 TLS connections, got $tls"
[ "$hooked" -eq "$tls" ] || tg_fail "$((tls - hooked)) TLS connections without library hooks"
[ "$miss" -eq 0 ] || tg_fail "$miss writes without their connection"
h2lines=$(grep -c 'HTTP/2.0"' "$log")
[ "$h2lines" -eq 12 ] || tg_fail "expected 12 HTTP/2 requests in gw's access log, got $h2lines"
for s in '"HEAD /f?head=1 HTTP/1.1" 200' '"GET /204 HTTP/1.1" 204' \
	'"GET /f?304 HTTP/1.1" 304' '"GET /gz/f?http10 HTTP/1.0" 200' \
	'"HEAD /gz/f?head=4 HTTP/1.1" 200' '"POST /continue HTTP/1.1"' \
	'"HEAD /f?h2head HTTP/2.0" 200' '"GET /204?h2 HTTP/2.0" 204'; do
	grep -qF "$s" "$log" || tg_fail "no line $s in gw's access log"
done
for path in /chunked-small /h2post; do
	grep -q "\"[A-Z]* $path" "$log" || tg_fail "no request $path in gw's access log"
done
"$TG_BIN" dump --pin-dir "$TG_PIN" | tail -n 2 | grep -q 'without library hooks' &&
	tg_fail "dump reports TLS connections without library hooks"

tg_check_peer calls "$TG_DUMP" "$TG_CL4" client "$TG_GW_TLS_PORT" tcp "$TG_DEV_GWC"
tg_check_only_peers "$TG_DUMP" "$TG_CL4" "$TG_BE4"
tg_result
