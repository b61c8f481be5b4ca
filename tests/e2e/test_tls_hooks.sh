#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# test_tls_hooks.sh - the TLS hooks stay with the metered processes: no
# other process takes their traps, and they do not outgrow the processes.
#
# 1. Bounded: ten processes in the metered cgroup, each mapping a copy of
#    libssl of its own, with --max-tls-procs 6: six are hooked (pinned:
#    four uprobes each in a 3.0 libssl, whose SSL_write and SSL_write_ex
#    are hooked at their common callee; six in another), the agent says
#    four are not; when five exit, their hooks and pins go and the rest
#    are hooked; when all exit and their files are deleted, nothing is
#    left hooked.
# 2. Per process: nginx in gw (metered) is hooked; a TLS server and a wrk
#    client in be, outside the metered cgroup, use the very same libssl
#    file. No breakpoint is where the write hooks go in their copy (read
#    from /proc/PID/mem: a uprobe's breakpoint is an int3 written into the
#    process's code; where: tg_libssl_write_site, which finds the callee
#    apart from the agent), where nginx in gw has one; and the hooks'
#    programs do not run for them at all (their run counts, with the
#    kernel's statistics held on by bench_prog). A process without the
#    breakpoint takes no trap: what that is worth in requests per second
#    is measured by `make bench`, not here.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh" || exit 1

tg_init nginx wrk openssl ldd nm od dd readelf objdump
libssl=$(ldd "$(command -v nginx)" | awk '/libssl\.so/ { print $3 }')
[ -n "$libssl" ] || tg_skip "this nginx does not use a shared libssl"
py=/usr/bin/python3
[ -x "$py" ] && ldd "$(dirname "$($py -c 'import _ssl; print(_ssl.__file__)')")/$(basename "$($py -c 'import _ssl; print(_ssl.__file__)')")" 2>/dev/null |
	grep -q 'libssl\.so' || tg_skip "$py's ssl module does not use a shared libssl"
tg_topology_setup
tg_cgroup_setup
tg_agent_start --max-tls-procs 6
# Hooks per process: the handshake's two, and the writes' two at their
# common callee (3.0) or four at SSL_write and SSL_write_ex.
per=6
tg_libssl_30 "$libssl" && per=4

pins()
{
	find "$TG_PIN" -maxdepth 1 -name 'tls_*' | wc -l
}

# tg_wait_for SECONDS CMD...: until CMD succeeds.
wait_for()
{
	local end=$((SECONDS + $1))

	shift
	while [ "$SECONDS" -lt "$end" ]; do
		"$@" && return 0
		sleep 0.2
	done
	"$@"
}

pins_are()
{
	[ "$(pins)" -eq "$1" ]
}

# --- 1. Bounded -------------------------------------------------------------
pids=()
for i in $(seq 10); do
	mkdir -p "$TG_TMP/lib$i"
	cp "$libssl" "$TG_TMP/lib$i/"
	(
		echo "$BASHPID" >"$TG_CG/cgroup.procs" || exit 1
		exec env LD_LIBRARY_PATH="$TG_TMP/lib$i" "$py" -c \
			'import ssl, time; time.sleep(300)'
	) >/dev/null 2>&1 </dev/null &
	pids+=($!)
	TG_PIDS+=($!)
	disown $!	# killed below: no job notices
done
wait_for 10 pins_are $((6 * per)) || tg_fail "expected 6 processes of $per hooks pinned, got $(pins) pins"
tg_wait_log "$TG_AGENT_LOG" 'tls: 6 processes hooked, the most there may be: 4 more' ||
	tg_fail "the agent did not say which processes the cap left unhooked"
own=$(grep -c "$TG_TMP/lib[0-9]*/libssl" "$TG_AGENT_LOG")
tg_log "hooked: $own processes on copies of libssl, $(pins) pins"
[ "$own" -eq 6 ] || tg_fail "expected 6 processes hooked on their own copy of libssl, got $own"

for i in 0 1 2 3 4; do
	kill -KILL "${pids[i]}" 2>/dev/null
done
wait_for 10 pins_are $((5 * per)) || tg_fail "after 5 processes exited: expected 5 processes of $per hooks pinned, got $(pins) pins"
grep -q 'tls: process .*: gone, hooks removed' "$TG_AGENT_LOG" ||
	tg_fail "the agent did not remove the hooks of exited processes"
for i in 5 6 7 8 9; do
	kill -KILL "${pids[i]}" 2>/dev/null
done
rm -rf "$TG_TMP"/lib[0-9]*
wait_for 10 pins_are 0 || tg_fail "after every process exited: expected no hooks, got $(pins) pins"
tg_log "after the processes exited: $(pins) pins"

# --- 2. Per process ----------------------------------------------------------
tg_gw_tls_setup
tg_gw_nginx_start
wait_for 10 pins_are $((3 * per)) || tg_fail "expected nginx's 3 processes hooked, got $(pins) pins"

# The unmetered TLS server in be: nginx answering by itself.
d=$TG_TMP/be-tls
mkdir -p "$d/logs"
cat >"$d/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $d/nginx.pid;
error_log $d/logs/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	server {
		listen 127.0.0.1:8443 ssl;
		ssl_certificate $TG_TMP/tls/cert.pem;
		ssl_certificate_key $TG_TMP/tls/key.pem;
		keepalive_requests 1000000;
		location / { return 200 ok; }
	}
}
EOF
tg_ns_spawn "$TG_NS_BE" "$d/logs/stderr.log" nginx -p "$d" -c "$d/nginx.conf" -e "$d/logs/error.log"
tg_wait_listen "$TG_NS_BE" t 8443 "$d/logs/error.log"
for p in $(ip netns pids "$TG_NS_BE"); do
	grep -q "$(basename "$libssl")" "/proc/$p/maps" 2>/dev/null && be_ssl=1
done
[ -n "${be_ssl:-}" ] || tg_fail "the unmetered server maps no libssl"

# ssl_write_byte PID: the first byte where the write hooks go, in process
# PID's mapping of libssl, in hex ("cc": a breakpoint), or nothing when it
# maps none.
ssl_ino=$(stat -Lc %i "$libssl")
ssl_sym=$(tg_libssl_write_site "$libssl")
[ -n "$ssl_sym" ] || tg_fail "no SSL_write in $libssl"
tg_log "the write hooks' site in $libssl: 0x$ssl_sym"
grep -q "common callee, offset 0x$ssl_sym)" "$TG_AGENT_LOG" ||
	[ "$per" -eq 6 ] ||
	tg_fail "the agent did not hook the writes at 0x$ssl_sym: $(grep 'tls: process' "$TG_AGENT_LOG" | tail -n1)"
ssl_write_byte()
{
	local base

	base=$(awk -v ino="$ssl_ino" '$5 == ino && $3 == "00000000" {
		split($1, a, "-"); print a[1]; exit }' "/proc/$1/maps" 2>/dev/null)
	[ -n "$base" ] || return 0
	dd if="/proc/$1/mem" bs=1 count=1 skip=$((16#$base + 16#$ssl_sym)) \
		iflag=skip_bytes 2>/dev/null | od -An -tx1 | tr -d ' \n'
}
n_be=0
for p in $(ip netns pids "$TG_NS_BE"); do
	b=$(ssl_write_byte "$p")
	[ -n "$b" ] || continue
	n_be=$((n_be + 1))
	[ "$b" != cc ] ||
		tg_fail "process $p ($(cat "/proc/$p/comm")) outside the metered cgroup has a breakpoint at 0x$ssl_sym"
done
n_gw=0
for p in $(cat "$TG_CG/cgroup.procs"); do
	[ "$(cat "/proc/$p/comm" 2>/dev/null)" = nginx ] || continue
	b=$(ssl_write_byte "$p")
	n_gw=$((n_gw + 1))
	[ "$b" = cc ] ||
		tg_fail "metered nginx process $p: 0x$ssl_sym holds '$b', not a breakpoint"
done
tg_log "0x$ssl_sym: a breakpoint in each of gw's $n_gw nginx processes, none in be's $n_be processes on the same libssl"
[ "$n_be" -gt 0 ] && [ "$n_gw" -gt 0 ] ||
	tg_fail "expected processes mapping libssl in both gw ($n_gw) and be ($n_be)"

client()	# one wrk run: requests/s
{
	ip netns exec "$TG_NS_BE" wrk -t1 -c4 -d2s https://127.0.0.1:8443/ |
		awk '/^Requests\/sec:/ { printf "%.0f\n", $2 }'
}

stats_bin=${OUTPUT:-.output}/tests/bench_prog
stats_pid=
if [ -x "$stats_bin" ]; then
	"$stats_bin" stats >"$TG_TMP/stats.out" 2>&1 &
	stats_pid=$!
	TG_PIDS+=("$stats_pid")
	for _ in $(seq 50); do
		grep -q enabled "$TG_TMP/stats.out" && break
		sleep 0.1
	done
fi
hook_runs()
{
	local pin id

	for pin in "$TG_PIN"/tls_*; do
		bpftool -j link show pinned "$pin" | jq -r .prog_id
	done | sort -u | while read -r id; do
		bpftool -j prog show id "$id" | jq -r '.run_cnt // 0'
	done | awk '{ n += $1 } END { print n + 0 }'
}
if [ -n "$stats_pid" ]; then
	r0=$(hook_runs)
	rate=$(client)
	r1=$(hook_runs)
	tg_log "unmetered client: $rate requests/s; the hooks' programs ran $((r1 - r0)) times meanwhile"
	[ "$r1" -eq "$r0" ] ||
		tg_fail "the TLS hooks ran $((r1 - r0)) times for a process outside the metered cgroup"
	tg_kill_pid "$stats_pid"
else
	tg_log "no $stats_bin ('make bench' builds it): the hooks' run counts not checked"
fi

tg_result
