#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# test_call_day.sh - a call is counted on the day the server reads its
# request: the old day's up to the midnight, the new day's after it,
# though the request arrived before the midnight.
#
# The receive program takes a call's day from the clock TCP keeps for
# the socket (recv_clock(), bpf/calls.bpf.h), which the read itself sets.
# A stale clock, the one of the request's arrival or of the gateway's
# acknowledgement of it, would put a request read after the midnight on
# the day before. In a zone of the test's own whose midnight is about
# 25 s away (tg_zone_midnight), a client in cl opens a keep-alive
# connection to a server in gw and sends request A, which the server
# reads and answers at once; 3 s before the midnight the client sends
# request B, which the server reads only after the midnight; then the
# client sends request C. The truth is the two ends' clocks: A read, and
# B sent, at least 2 s before the midnight; B read, and C sent, after
# it. The ledger must book A on the old day, B and C on the new.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh" || exit 1

tg_init python3 zic jq
tg_topology_setup
tg_cgroup_setup

tg_zone_midnight 25
tg_zone_agent_start

# The server: one connection, its requests read and answered one by one;
# the second, once it is in the socket, only from the instant 1 s after
# the midnight. recv() is recvfrom(2), a read the receive program
# follows.
cat >"$TG_TMP/server.py" <<'EOF'
import select, socket, sys, time

addr, port, until = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((addr, port))
ls.listen(1)
c, _ = ls.accept()
buf, n = b"", 0
while n < 3:
    if n == 1 and not buf:
        if not select.select([c], [], [], 60)[0]:
            sys.exit("no second request within 60 s")
        print("queued %.6f" % time.time(), flush=True)
        while time.time() < until:
            time.sleep(until - time.time())
    d = c.recv(4096)
    if not d:
        sys.exit("the client closed after %d requests" % n)
    buf += d
    while b"\r\n\r\n" in buf:
        _, buf = buf.split(b"\r\n\r\n", 1)
        n += 1
        print("read %d %.6f" % (n, time.time()), flush=True)
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
c.close()
print("done", flush=True)
EOF
# The client: request B from the instant it is given on.
cat >"$TG_TMP/client.py" <<'EOF'
import socket, sys, time

s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
at = float(sys.argv[3])
req = b"GET /day HTTP/1.1\r\nHost: api.example\r\n\r\n"
for n in (1, 2, 3):
    while n == 2 and time.time() < at:
        time.sleep(at - time.time())
    print("sent %d %.6f" % (n, time.time()), flush=True)
    s.sendall(req)
    got = b""
    while not got.endswith(b"ok"):
        d = s.recv(4096)
        if not d:
            sys.exit("the server closed before answering request %d" % n)
        got += d
    print("answered %d %.6f" % (n, time.time()), flush=True)
s.close()
EOF
SLOG=$TG_TMP/server.log
CLOG=$TG_TMP/client.log
tg_gw_spawn "$SLOG" python3 "$TG_TMP/server.py" "$TG_GWC4" "$TG_GW_PORT" \
	$((MIDNIGHT + 1))
tg_wait_listen "$TG_NS_GW" t "$TG_GW_PORT" "$SLOG"
[ "$(date +%s)" -le $((MIDNIGHT - 8)) ] ||
	tg_die "setup took too long: the midnight is less than 8 s away"
tg_ns_spawn "$TG_NS_CL" "$CLOG" python3 "$TG_TMP/client.py" "$TG_GWC4" \
	"$TG_GW_PORT" $((MIDNIGHT - 3))
tg_wait_log "$SLOG" '^read 1 ' || tg_die "request A did not reach the server"
tg_wait_for $((MIDNIGHT - $(date +%s) + 40)) "the server's answers" \
	tg_has_line "$SLOG" '^done$' ||
	tg_die "the server did not answer the three requests: $(cat "$SLOG")"
tg_wait_log "$CLOG" '^answered 3 ' || tg_die "the client got no third answer"

# The premises, by the two ends' clocks.
stamp() { awk -v k="$2 $3" '$1 " " $2 == k { print $3 }' "$1"; }
rel() { awk -v m="$MIDNIGHT" -v t="$1" 'BEGIN { printf "%+.3f s", t - m }'; }
read1=$(stamp "$SLOG" read 1)
sent2=$(stamp "$CLOG" sent 2)
read2=$(stamp "$SLOG" read 2)
sent3=$(stamp "$CLOG" sent 3)
tg_log "from the midnight: A read $(rel "$read1"); B sent $(rel "$sent2"), read $(rel "$read2"); C sent $(rel "$sent3")"
awk -v m="$MIDNIGHT" -v r1="$read1" -v s2="$sent2" -v r2="$read2" \
	-v s3="$sent3" 'BEGIN { exit !(r1 <= m - 2 && s2 <= m - 2 &&
		r2 >= m && s3 >= m) }' ||
	tg_die "premise: A read and B sent by 2 s before the midnight, B read and C sent after it"

# The ledger, once it has booked the three calls.
day_calls()
{
	tg_ledger_export | jq -rs --arg d "$1" \
		'map(select(.day == $d) | .calls) | add // 0'
}
# shellcheck disable=SC2317 # run by tg_wait_for
booked() { [ $(($(day_calls "$OLD_DAY") + $(day_calls "$NEW_DAY"))) -ge 3 ]; }
tg_wait_for 30 "the ledger booking three calls" booked ||
	tg_fail "the ledger did not book three calls: $(tg_ledger_export)"
old=$(day_calls "$OLD_DAY")
new=$(day_calls "$NEW_DAY")
tg_log "ledger: $OLD_DAY $old calls, $NEW_DAY $new calls"
[ "$old" -eq 1 ] && [ "$new" -eq 2 ] ||
	tg_fail "expected 1 call on $OLD_DAY (request A) and 2 on $NEW_DAY (requests B and C), got $old and $new"
bad=$(tg_ledger_export | jq -c 'select(.calls > 0 and (.tenant != "acme" or
	.service != "api" or .traffic_type != "inbound"))')
[ -z "$bad" ] || tg_fail "calls outside acme/api's inbound rows: $bad"
tg_result
