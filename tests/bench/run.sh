#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# run.sh - tollgate's benchmark (`make bench`); writes tests/bench/results.md.
#
# 1. Per-packet cost: the meter's cgroup_skb programs and empty programs of
#    the same type (bpf/bench.bpf.c, the floor) on the same crafted packets
#    through BPF_PROG_TEST_RUN (bench_prog testrun). sock_ops programs cannot
#    be test-run; they are measured under load only.
# 2. Cost under load: the kernel's run-time statistics (run_time_ns and
#    run_cnt per program) while real traffic goes through the metered
#    cgroup, with the empty programs, the meter stopped after each step of
#    its fast path, and the meter attached to it in turn, and back. The
#    statistics are on only during this pass (bench_prog stats holds them
#    on; the kernel turns them off when it exits), never while throughput
#    is measured: they cost time themselves.
# 3. Throughput and request rate with the bytes meter attached (`tollgate
#    run --no-calls`) and without, in alternating runs (ABAB...): iperf3
#    over veth with offloads on, each direction, and wrk through the
#    gateway nginx of the end-to-end tests.
# 4. Call counting: the receive program's run-time statistics under wrk
#    load, per receive and per counted request; then the request rate
#    through the gateway without the agent, with `tollgate run
#    --no-calls` and with `tollgate run`, in alternating runs.
# 5. Calls where they cost most: nginx answering a location itself, in
#    cleartext and over TLS, wrk on its own copy of libssl; without the
#    agent, with --no-calls, with calls, with calls and host names (the
#    ports' services told apart by Host and SNI: what name matching
#    costs a request), and with the floors (empty programs where calls
#    are counted: uprobes per nginx process on SSL_write and on the
#    function the agent hooks for the writes, the receive tracepoint) in
#    the same rounds; in them too, https from a client outside the
#    metered cgroup on the libssl file the agent hooks in the gateway's
#    nginx, to a server outside it, with the agent and without it (the
#    host workload); and the hooks' hits per request,
#    with calls and with names; then cleartext calls and --no-calls side
#    by side, at the same time on one CPU, judged by CPU time per request
#    (pair_pass); and where the receive's time goes, the agent's builds
#    stopped after each step of its receive program attached in turn
#    (recv_steps_pass). Into tests/bench/results-calls.md
#    (BENCH_LOCAL_RESULTS); BENCH_ONLY=local runs this part alone,
#    BENCH_ONLY=pair the side-by-side pass alone, BENCH_ONLY=recv the
#    receive's steps alone and BENCH_ONLY=host the host workload alone
#    (all three to the terminal).
# 5b. The classifier's own benchmark (bench_classify).
# 6. The metrics page with 1,000 and 10,000 series: render and scrape time
#    (bench_metrics; also alone: make bench-metrics).
# 7. Collection time per interval with 10^4, 10^5 and 10^6 peers in the
#    meter's maps, loaded but not attached, and the memory the kernel
#    charges for those maps (bench_collect; also alone: make
#    bench-collect).
#
# The topology, cgroup, servers and cleanup are those of tests/e2e/lib.sh:
# client namespace cl, gateway namespace gw, backend namespace be; the
# gateway's processes (iperf3 server, nginx proxy) run in a cgroup made for
# the run, and only that cgroup is metered. Everything created is removed on
# exit, failure and Ctrl-C alike.
#
# Run as root from anywhere, after `make all .output/tests/bench_prog
# .output/tests/bench_classify .output/tests/bench_metrics
# .output/tests/bench_collect` and the agent's builds .output/recvN/tollgate
# (`make bench` does that). Knobs:
# BENCH_PAIRS (5), BENCH_CALLS_ROUNDS (7), BENCH_SECONDS per throughput
# run (5), BENCH_STATS_SECONDS per statistics run (4), BENCH_REPEAT
# (1000000) and BENCH_ROUNDS (9) for the test runs, BENCH_COLLECT_PEERS
# ("10000 100000 1000000") and BENCH_COLLECT_ROUNDS (20) for the collection,
# BENCH_RESULTS (tests/bench/results.md), BENCH_LOCAL_ROUNDS (5),
# BENCH_LOCAL_SECONDS (5) and BENCH_LOCAL_WORKLOADS ("tls clear": more
# rounds of one workload in the same time) for part 5, BENCH_PAIR_ROUNDS
# (8) and BENCH_PAIR_CPU (0) for its side-by-side pass, BENCH_RECV_ROUNDS
# (3) for the receive's steps.
cd "${0%/*}/../.." || exit 1
# shellcheck source-path=SCRIPTDIR source=../e2e/lib.sh
. tests/e2e/lib.sh || exit 1

OUT=${OUTPUT:-.output}
BENCH=$(pwd)/$OUT/tests/bench_prog
case $OUT in /*) BENCH=$OUT/tests/bench_prog ;; esac
CLASSIFY=${BENCH%/*}/bench_classify
METRICS=${BENCH%/*}/bench_metrics
COLLECT=${BENCH%/*}/bench_collect
COLLECT_PEERS=${BENCH_COLLECT_PEERS:-10000 100000 1000000}
COLLECT_ROUNDS=${BENCH_COLLECT_ROUNDS:-20}
PAIRS=${BENCH_PAIRS:-5}
CALLS_ROUNDS=${BENCH_CALLS_ROUNDS:-7}
DUR=${BENCH_SECONDS:-5}
STATS_DUR=${BENCH_STATS_SECONDS:-4}
REPEAT=${BENCH_REPEAT:-1000000}
ROUNDS=${BENCH_ROUNDS:-9}
RESULTS=${BENCH_RESULTS:-tests/bench/results.md}
LOCAL_RESULTS=${BENCH_LOCAL_RESULTS:-tests/bench/results-calls.md}
IPERF_PORT=5201
WRK_CONNS=16
HTTP_SIZE=1024
TARGET_NS=25
TARGET_RATIO=0.97
CALLS_TARGET_RATIO=0.98
CALLS_STATES="none nocalls calls"
WORKLOADS="up down http"

declare -A DESC=(
	[up]="iperf3 upload, cl -> gw (gw's ingress carries the data)"
	[down]="iperf3 download, gw -> cl (gw's egress carries the data)"
	[http]="wrk, ${WRK_CONNS} keep-alive connections, ${HTTP_SIZE}-byte responses through the gw nginx proxy from be"
)
declare -A UNIT=([up]="Gbit/s" [down]="Gbit/s" [http]="requests/s")

STAGE_PID=
STATS_PID=

# The words given, last first.
reversed()
{
	tr ' ' '\n' <<<"$*" | tac | xargs
}

median()
{
	tr ' ' '\n' | grep . | sort -g |
		awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2];
			else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# ---------------------------------------------------------------------------
# Workloads: each prints its rate (Gbit/s or requests/s).

# bench_iperf up|down: one iperf3 run of DUR seconds (after one second of
# slow start left out) from cl to the iperf3 server in gw.
bench_iperf()
{
	local rev=() out rate

	[ "$1" = down ] && rev=(-R)
	out=$(timeout $((DUR + 30)) ip netns exec "$TG_NS_CL" iperf3 -c "$TG_GWC4" \
		-p "$IPERF_PORT" -t "$2" -O 1 -J "${rev[@]}") ||
		tg_die "iperf3 $1 failed: $(jq -r '.error // empty' <<<"$out" 2>/dev/null)"
	rate=$(jq -r '.end.sum_received.bits_per_second / 1e9' <<<"$out") ||
		tg_die "cannot read iperf3's result"
	printf '%.3f\n' "$rate"
}

bench_wrk()
{
	local out

	out=$(timeout $(($1 + 30)) ip netns exec "$TG_NS_CL" wrk -t2 \
		-c"$WRK_CONNS" -d"$1s" "http://$TG_GWC4:$TG_GW_PORT/f") ||
		tg_die "wrk failed: $out"
	grep -q ' Non-2xx' <<<"$out" && tg_die "wrk saw errors: $out"
	awk '/^Requests\/sec:/ { printf "%.0f\n", $2 }' <<<"$out"
}

# workload NAME SECONDS
workload()
{
	case $1 in
	up | down) bench_iperf "$1" "$2" ;;
	http) bench_wrk "$2" ;;
	esac
}

# ---------------------------------------------------------------------------
# What is attached to the cgroup

meter_on()
{
	tg_agent_start "$@"
}

meter_off()
{
	tg_agent_stop TERM
	"$TG_BIN" detach --pin-dir "$TG_PIN" >/dev/null ||
		tg_die "tollgate detach failed"
	[ -z "$(tg_cgroup_progs)" ] ||
		tg_die "programs still attached after detach: $(tg_cgroup_progs)"
}

# bench_ready PID OUT PATTERN WHAT: wait up to 30 s until the bench_prog
# process PID, writing to OUT, prints a line matching PATTERN: it holds
# what it was started for. Dies, saying why, when it exits first.
bench_ready()
{
	local deadline=$((SECONDS + 30))

	while [ "$SECONDS" -lt "$deadline" ]; do
		grep -q "$3" "$2" && return 0
		kill -0 "$1" 2>/dev/null || tg_die "$4 failed: $(cat "$2")"
		sleep 0.1
	done
	tg_die "$4 was not ready within 30 s"
}

# Programs held on the cgroup by a bench_prog process: the empty ones
# (floor), or the meter stopped after a step of its fast path (socket,
# storage).
stage_on()	# floor|socket|storage
{
	local stage=$1

	[ "$stage" = floor ] && stage=empty
	"$BENCH" attach "$stage" "$TG_CG" >"$TG_TMP/stage.out" 2>&1 &
	STAGE_PID=$!
	TG_PIDS+=("$STAGE_PID")
	bench_ready "$STAGE_PID" "$TG_TMP/stage.out" '^ids ' "bench_prog attach $stage"
}

stage_off()
{
	tg_kill_pid "$STAGE_PID"
	STAGE_PID=
	[ -z "$(tg_cgroup_progs)" ] ||
		tg_die "programs still attached: $(tg_cgroup_progs)"
}

stage_ids()
{
	awk '/^ids / { print $2, $3, $4 }' "$TG_TMP/stage.out"
}

stats_on()
{
	"$BENCH" stats >"$TG_TMP/stats.out" 2>&1 &
	STATS_PID=$!
	TG_PIDS+=("$STATS_PID")
	bench_ready "$STATS_PID" "$TG_TMP/stats.out" '^enabled' "bench_prog stats"
}

stats_off()
{
	tg_kill_pid "$STATS_PID"
	STATS_PID=
}

# "run_time_ns run_cnt" of each program id given, on one line.
prog_stats()
{
	local id s=""

	for id in "$@"; do
		s+="$(bpftool -j prog show id "$id" |
			jq -r '"\(.run_time_ns // 0) \(.run_cnt // 0)"') "
	done
	echo "${s% }"
}

# ---------------------------------------------------------------------------
# The passes

# Accumulated by stats_run: STAT_NS[mode,workload,prog], STAT_CNT[...].
declare -A STAT_NS STAT_CNT WIRE
PROGS="ingress egress sockops"

# Packets the meter counted so far, "in out", summed over every row: GSO
# and GRO super-packets count as the wire packets they carry.
meter_packets()
{
	tg_dump | jq -r '"\(map(.packets_in) | add // 0) \(map(.packets_out) | add // 0)"'
}

# stats_run MODE IDS...: every workload once, with the statistics of the
# programs IDS (ingress egress sockops) read before and after; with the
# meter, also the wire packets it counted (WIRE[workload,ingress|egress]).
stats_run()
{
	local mode=$1 w b a i p rate
	local -a before after pk0 pk1
	shift
	for w in $WORKLOADS; do
		[ "$mode" = meter ] && read -r -a pk0 <<<"$(meter_packets)"
		read -r -a before <<<"$(prog_stats "$@")"
		rate=$(workload "$w" "$STATS_DUR") || tg_die "$rate"
		read -r -a after <<<"$(prog_stats "$@")"
		if [ "$mode" = meter ]; then
			read -r -a pk1 <<<"$(meter_packets)"
			WIRE[$w,ingress]=$((${WIRE[$w,ingress]:-0} + pk1[0] - pk0[0]))
			WIRE[$w,egress]=$((${WIRE[$w,egress]:-0} + pk1[1] - pk0[1]))
		fi
		i=0
		for p in $PROGS; do
			b=$((2 * i))
			a=$((2 * i + 1))
			STAT_NS[$mode,$w,$p]=$((${STAT_NS[$mode,$w,$p]:-0} + after[b] - before[b]))
			STAT_CNT[$mode,$w,$p]=$((${STAT_CNT[$mode,$w,$p]:-0} + after[a] - before[a]))
			i=$((i + 1))
		done
		tg_log "  $mode $w: $rate ${UNIT[$w]}"
	done
}

# The empty programs, the meter stopped after each step of its fast path,
# and the whole meter, in the order of STAGES and back: a load that drifts
# during the pass falls on all alike.
STAGES="floor socket storage meter"
stats_pass()
{
	local mode

	stats_on
	for mode in $STAGES $(reversed "$STAGES"); do
		if [ "$mode" = meter ]; then
			meter_on --no-calls
			# shellcheck disable=SC2046 # three ids
			stats_run meter $(tg_link_prog_ids)
			meter_off
		else
			stage_on "$mode"
			# shellcheck disable=SC2046
			stats_run "$mode" $(stage_ids)
			stage_off
		fi
	done
	stats_off
}

# Accumulated by throughput_pass: RATE[off|on,workload] = "r1 r2 ...", in
# pair order.
declare -A RATE

# Each workload's two runs of a pair follow each other, so that they see
# nearly the same load from the rest of the machine, and which of them comes
# first alternates from pair to pair (off-on, on-off, ...), so that a load
# that rises or falls during the pass does not favour either.
throughput_pass()
{
	local i state w r order

	for i in $(seq "$PAIRS"); do
		order="off on"
		[ $((i % 2)) -eq 0 ] && order="on off"
		for w in $WORKLOADS; do
			for state in $order; do
				[ "$state" = on ] && meter_on --no-calls
				r=$(workload "$w" "$DUR") || tg_die "$r"
				[ "$state" = on ] && meter_off
				RATE[$state,$w]+="$r "
				tg_log "  pair $i, $w, agent $state: $r ${UNIT[$w]}"
			done
		done
	done
}

# ---------------------------------------------------------------------------
# Call counting

declare -A CDESC=(
	[none]="no agent: nothing attached to the cgroup"
	[nocalls]="\`tollgate run --no-calls\`: bytes and packets only"
	[calls]="\`tollgate run\`: bytes, packets and calls"
)

# calls_on none|nocalls|calls: no agent, or the agent counting
# calls or not.
calls_on()
{
	case $1 in
	none) ;;
	nocalls)
		meter_on --no-calls
		if [ -e "$TG_PIN/link_recv" ]; then
			tg_die "tollgate run --no-calls left calls tracers: $(ls "$TG_PIN")"
		fi
		;;
	calls) meter_on ;;
	esac
}

link_prog_id()	# LINK_PIN_NAME
{
	bpftool -j link show pinned "$TG_PIN/$1" | jq .prog_id
}

# "run_time_ns run_cnt" summed over the program ids given.
sum_stats()
{
	# shellcheck disable=SC2046 # ids
	prog_stats "$@" | awk '{ for (i = 1; i < NF; i += 2) { n += $i; c += $(i + 1) } }
		END { printf "%d %d\n", n, c }'
}

# Accumulated by calls_stats_pass: CST[calls,recv_ns|recv_cnt|calls|
# wall_ns].
declare -A CST

calls_stats_add()	# MODE KEY VALUE
{
	CST[$1,$2]=$((${CST[$1,$2]:-0} + $3))
}

# The receive program's statistics under wrk, in two runs.
calls_stats_pass()
{
	local i recv rate c0 c1 t0 t1
	local -a r0 r1

	stats_on
	for i in 1 2; do
		calls_on calls
		recv=$(link_prog_id link_recv)
		read -r -a r0 <<<"$(sum_stats "$recv")"
		c0=$(tg_calls "$(tg_dump)")
		t0=$(date +%s%N)
		rate=$(bench_wrk "$STATS_DUR") || tg_die "$rate"
		t1=$(date +%s%N)
		read -r -a r1 <<<"$(sum_stats "$recv")"
		c1=$(tg_calls "$(tg_dump)")
		meter_off
		[ "$c1" -gt "$c0" ] || tg_die "run $i: no call counted under wrk"
		calls_stats_add calls recv_ns $((r1[0] - r0[0]))
		calls_stats_add calls recv_cnt $((r1[1] - r0[1]))
		calls_stats_add calls calls $((c1 - c0))
		calls_stats_add calls wall_ns $((t1 - t0))
		tg_log "  run $i: $rate requests/s, $((c1 - c0)) calls, receives $((r1[1] - r0[1]))"
	done
	stats_off
}

# Accumulated by calls_throughput_pass: CRATE[state] = "r1 r2 ...".
declare -A CRATE

# The three agents back to back per round, the order reversed from round
# to round (a drifting load favours none), BPF statistics off.
calls_throughput_pass()
{
	local i state r order

	for i in $(seq "$CALLS_ROUNDS"); do
		order=$CALLS_STATES
		[ $((i % 2)) -eq 0 ] && order=$(reversed "$CALLS_STATES")
		for state in $order; do
			calls_on "$state"
			r=$(bench_wrk "$DUR") || tg_die "$r"
			[ "$state" = none ] || meter_off
			CRATE[$state]+="$r "
			tg_log "  round $i, http, $state: $r requests/s"
		done
	done
}

# calls_ratio STATE [BASE]: "ratio-of-medians median-of-round-ratios"
# against BASE (default nocalls).
calls_ratio()
{
	local a b ref=${2:-nocalls}

	a=$(median <<<"${CRATE[$1]}")
	b=$(median <<<"${CRATE[$ref]}")
	printf '%s ' "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", a / b }')"
	paste -d' ' <(tr ' ' '\n' <<<"${CRATE[$ref]}" | grep .) \
		<(tr ' ' '\n' <<<"${CRATE[$1]}" | grep .) |
		awk '{ printf "%s ", $2 / $1 }' | median | xargs printf '%.3f\n'
}

report_calls_stats()
{
	echo "| program | runs | ns/run | runs per call | ns per call | CPU time per second of load (ms/s) |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: |"
	awk -v rn="${CST[calls,recv_ns]:-0}" -v rc="${CST[calls,recv_cnt]:-0}" \
		-v k="${CST[calls,calls]:-0}" -v w="${CST[calls,wall_ns]:-0}" 'BEGIN {
		per = rpc = npc = "-"
		if (rc)
			per = sprintf("%.1f", rn / rc)
		if (k) {
			rpc = sprintf("%.2f", rc / k)
			npc = sprintf("%.1f", rn / k)
		}
		printf "| receive (tg_recv) | %d | %s | %s | %s | %.2f |\n", rc,
			per, rpc, npc, w ? 1000 * rn / w : 0
	}'
}

report_calls_throughput()
{
	local state r

	echo "| agent | requests/s (median) | ratio to no agent (of medians) | median of round ratios | ratio to --no-calls (of medians) | median of round ratios | each run |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: | --- |"
	for state in $CALLS_STATES; do
		r="1.000 1.000"
		[ "$state" = none ] || r=$(calls_ratio "$state" none)
		n="- -"
		[ "$state" = none ] || n=$(calls_ratio "$state")
		# shellcheck disable=SC2086 # two numbers each
		printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$state" \
			"$(median <<<"${CRATE[$state]}")" $r $n "${CRATE[$state]% }"
	done
}

# ---------------------------------------------------------------------------
# Calls where they cost most: nginx answering a location itself

# The gateway's /local locations, in cleartext and over TLS: tiny answers
# on kept-alive connections, the rate where a per-request cost shows most.
# wrk loads its own copy of libssl, so that it maps no file of the
# gateway's and no hook could trap it. It asks for LOCAL_HOST, which the
# client namespace's own hosts file (bind-mounted for wrk alone) gives
# the gateway's address: every request names it, in Host and in the SNI,
# whatever the state, so that all of them carry the same bytes.
LOCAL_ROUNDS=${BENCH_LOCAL_ROUNDS:-5}
LOCAL_DUR=${BENCH_LOCAL_SECONDS:-5}
LOCAL_WORKLOADS=${BENCH_LOCAL_WORKLOADS:-tls clear}
declare -A LSTATES=(
	[tls]="none nocalls calls names floor-write floor-write-ret floor-site-ret"
	[clear]="none nocalls calls names floor-recv"
)
declare -A LDESC=(
	[none]="no agent"
	[nocalls]="\`tollgate run --no-calls\`"
	[calls]="\`tollgate run\`: calls counted"
	[names]="\`tollgate run\` with host names: both ports' services are two tenants' hosts (two exact names each), the requests' name is one of them"
	[floor-write]="floor: an empty uprobe on SSL_write's entry in each nginx process (bpf/benchtls.bpf.c), no agent"
	[floor-write-ret]="floor: empty uprobes on SSL_write's entry and return in each nginx process, no agent"
	[floor-site-ret]="floor: empty uprobes on the entry and return of the function the agent hooks for the writes (in a 3.0 libssl, the common callee of SSL_write and SSL_write_ex), no agent"
	[floor-recv]="floor: an empty program on the receive tracepoint sock_recv_length, no agent"
)
LOCAL_TARGET_TLS=0.52
LOCAL_TARGET_CLEAR=0.97
# An empty receive program that measures further than this from no
# agent, or --no-calls above it, measured the rates' noise, not a cost:
# the cleartext target, 3 % from 1, cannot be judged on them.
LOCAL_STEADY=0.02
LOCAL_PID=
LOCAL_HOST=api.tenant-a.example

# The configuration of the names state, and the hosts file wrk resolves
# LOCAL_HOST with.
local_names_setup()
{
	local out p h t

	{
		echo "region: bench"
		echo "provider: bench"
		echo "services:"
		for p in "$TG_GW_PORT" "$TG_GW_TLS_PORT"; do
			for h in api www; do
				for t in a b; do
					echo "  - port: $p"
					echo "    host: $h.tenant-$t.example"
					echo "    name: tenant-$t-$h"
					echo "    tenant: tenant-$t"
				done
			done
		done
	} >"$TG_TMP/names.yaml"
	out=$("$TG_BIN" check-config "$TG_TMP/names.yaml" 2>&1) ||
		tg_die "check-config refused the names configuration: $out"
	echo "$TG_GWC4 $LOCAL_HOST" >"$TG_TMP/hosts"
}

# The names state measures what it says only if the requests' name
# matched its host: tenant-a's calls, as dump sees them.
local_names_matched()
{
	local n

	n=$("$TG_BIN" dump --pin-dir "$TG_PIN" --by tenant --format json \
		2>/dev/null | jq '[.rows[] | select(.tenant == "tenant-a" and
			.role == "client") | .calls] | add // 0') ||
		tg_die "dump --by tenant failed"
	[ "$n" -gt 0 ] || tg_die "names: no call of tenant-a's, $LOCAL_HOST matched nothing"
	tg_log "  names: $n calls of tenant-a"
}

local_url()	# tls|clear
{
	case $1 in
	tls) echo "https://$LOCAL_HOST:$TG_GW_TLS_PORT/local" ;;
	clear) echo "http://$LOCAL_HOST:$TG_GW_PORT/local" ;;
	esac
}

bench_local()	# WORKLOAD SECONDS: requests/s
{
	local out
	# ip netns exec gives wrk a mount namespace of its own (a slave of
	# the host's): the hosts file is bound over /etc/hosts there alone.
	# shellcheck disable=SC2016 # expanded by that shell
	out=$(timeout $(($2 + 30)) ip netns exec "$TG_NS_CL" \
		sh -c 'mount --bind "$1" /etc/hosts && shift && exec "$@"' sh \
		"$TG_TMP/hosts" env LD_LIBRARY_PATH="$TG_TMP/clientlib" wrk -t2 \
		-c"$WRK_CONNS" -d"$2s" "$(local_url "$1")") ||
		tg_die "wrk failed: $out"
	grep -q ' Non-2xx' <<<"$out" && tg_die "wrk saw errors: $out"
	awk '/^Requests\/sec:/ { printf "%.0f\n", $2 }' <<<"$out"
}

gw_nginx_pids()
{
	local p

	for p in $(cat "$TG_CG/cgroup.procs"); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = nginx ] && echo "$p"
	done
}

local_on()	# STATE
{
	case $1 in
	none) ;;
	nocalls) meter_on --no-calls ;;
	calls | names)
		if [ "$1" = names ]; then
			meter_on --config "$TG_TMP/names.yaml"
		else
			meter_on
		fi
		# every nginx process hooked (3 processes, 4 pins each with
		# the writes at their common callee, else 6)
		local pins=18
		tg_libssl_30 "$GW_LIBSSL" && pins=12
		for _ in $(seq 50); do
			[ "$(find "$TG_PIN" -name 'tls_*' | wc -l)" -ge "$pins" ] && break
			sleep 0.1
		done
		;;
	floor-*)
		: >"$TG_TMP/floor.out"
		# shellcheck disable=SC2046 # one pid each
		"$BENCH" floor "${1#floor-}" "$GW_LIBSSL" $(gw_nginx_pids) \
			>"$TG_TMP/floor.out" 2>&1 &
		LOCAL_PID=$!
		TG_PIDS+=("$LOCAL_PID")
		bench_ready "$LOCAL_PID" "$TG_TMP/floor.out" '^ids ' "bench_prog floor $1"
		;;
	esac
}

local_off()	# STATE
{
	case $1 in
	none) ;;
	nocalls | calls | names) meter_off ;;
	floor-*)
		tg_kill_pid "$LOCAL_PID"
		LOCAL_PID=
		;;
	esac
}

# Accumulated: LRATE[workload,state] = "r1 r2 ...", in round order.
declare -A LRATE

local_pass()
{
	local i w st order r

	for i in $(seq "$LOCAL_ROUNDS"); do
		for w in $LOCAL_WORKLOADS; do
			order=${LSTATES[$w]}
			[ $((i % 2)) -eq 0 ] && order=$(reversed "$order")
			for st in $order; do
				local_on "$st"
				r=$(bench_local "$w" "$LOCAL_DUR") || tg_die "$r"
				local_off "$st"
				LRATE[$w,$st]+="$r "
				tg_log "  round $i, $w, $st: $r requests/s"
			done
		done
	done
}

# The time every CPU has spent busy since boot, in ns (/proc/stat's
# first line: all but idle and iowait).
cpus_busy()
{
	awk -v hz="$(getconf CLK_TCK)" '/^cpu / {
		b = 0
		for (i = 2; i <= NF; i++)
			if (i != 5 && i != 6)
				b += $i
		printf "%.0f\n", b * 1e9 / hz
		exit
	}' /proc/stat
}

# Hits per request: the programs' run counts with the agent counting
# calls, without names and with them, over the access log's lines; and
# the CPUs' busy time in the same runs (LBUSY[workload,state], ns).
declare -A LHITS LBUSY
local_hits_pass()
{
	local st w l0 l1 b0 b1 pin id name runs ns reqs
	declare -A c0 c1 t0 t1

	stats_on
	for st in calls names; do
		local_on "$st"
		for w in $LOCAL_WORKLOADS; do
			c0=() c1=() t0=() t1=()
			for pin in "$TG_PIN"/tls_* "$TG_PIN/link_recv" \
				"$TG_PIN/link_ingress" "$TG_PIN/link_egress"; do
				bpftool -j link show pinned "$pin" | jq -r .prog_id
			done | sort -u >"$TG_TMP/ids"
			while read -r id; do
				read -r name runs ns < <(bpftool -j prog show id "$id" |
					jq -r '"\(.name) \(.run_cnt // 0) \(.run_time_ns // 0)"')
				c0[$name]=$((${c0[$name]:-0} + runs))
				t0[$name]=$((${t0[$name]:-0} + ns))
			done <"$TG_TMP/ids"
			l0=$(wc -l <"$TG_TMP/gw/logs/access.log")
			b0=$(cpus_busy)
			bench_local "$w" "$STATS_DUR" >/dev/null
			b1=$(cpus_busy)
			sleep 0.5
			l1=$(wc -l <"$TG_TMP/gw/logs/access.log")
			LBUSY[$w,$st]=$((b1 - b0))
			while read -r id; do
				read -r name runs ns < <(bpftool -j prog show id "$id" |
					jq -r '"\(.name) \(.run_cnt // 0) \(.run_time_ns // 0)"')
				c1[$name]=$((${c1[$name]:-0} + runs))
				t1[$name]=$((${t1[$name]:-0} + ns))
			done <"$TG_TMP/ids"
			reqs=$((l1 - l0))
			for name in "${!c1[@]}"; do
				LHITS[$w,$st,$name]="$reqs $((c1[$name] - ${c0[$name]:-0})) $((t1[$name] - ${t0[$name]:-0}))"
			done
			tg_log "  hits, $w, $st: $reqs requests"
		done
		[ "$st" = names ] && local_names_matched
		local_off "$st"
	done
	stats_off
}

# ---------------------------------------------------------------------------
# Servers and CPU time of the side-by-side passes (host_pass, pair_pass)

# The CPU time of cgroup CG (its processes and its descendants') so far,
# in us.
cg_usage()	# CG
{
	awk '$1 == "usage_usec" { print $2 }' "$1/cpu.stat"
}

# A server of the side-by-side passes: nginx in DIR answering /local
# itself, one worker, on CPU PAIR_CPU, in cgroup CG and namespace NS,
# listening on ADDR:PORT, over TLS with TLS "ssl" (the gateway's
# certificate), with the libraries of LIBDIR first ("": the system's);
# returns once it listens.
side_nginx()	# DIR CG NS ADDR PORT ssl|"" LIBDIR
{
	local dir=$1 tls=""

	mkdir -p "$dir/logs" "$dir/tmp" || tg_die "cannot make $dir"
	[ "$6" = ssl ] && tls=" ssl;
		ssl_certificate $TG_TMP/tls/cert.pem;
		ssl_certificate_key $TG_TMP/tls/key.pem"
	{
		tg_gw_nginx_head "$dir" 1
		cat <<CONF
	server {
		listen $4:$5$tls;
		location = /local {
			return 200 "ok";
		}
	}
}
CONF
	} >"$dir/nginx.conf"
	(
		echo "$BASHPID" >"$2/cgroup.procs" || exit 1
		exec taskset -c "$PAIR_CPU" ip netns exec "$3" \
			env LD_LIBRARY_PATH="$7" \
			nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/logs/error.log"
	) >>"$dir/logs/stderr.log" 2>&1 </dev/null &
	TG_PIDS+=($!)
	tg_wait_listen "$3" t "$5" "$dir/logs/error.log"
}

# ---------------------------------------------------------------------------
# A client outside the metered cgroup
#
# The TLS hooks are per process: a process outside the metered cgroup that
# maps the very libssl file whose functions the agent hooks in the
# gateway's nginx has no breakpoint and takes no trap (test_tls_hooks.sh
# reads that from the processes' code). What it keeps of its rate is
# measured here the way the side-by-side pass measures calls, since
# request rates move with the host's speed by more than the 3 % at stake:
# two client and server pairs at once on one CPU, outside the metered
# cgroup, in cgroups of their own; side s on the system's libssl, side c
# on a copy no hook reaches. Each round runs both without the agent and
# with it counting calls, the order alternating; side s's CPU time per
# request against side c's, with the agent over without it, is the rate
# the shared file keeps.
HOST_ROUNDS=${BENCH_HOST_ROUNDS:-8}
HOST_TARGET=0.97
declare -A HOST_PORT=([s]=9443 [c]=9444) HOST_LIB
declare -A HOST_RUN
HOST_CG=

host_setup()
{
	local s p m lib

	[ -n "$HOST_CG" ] && return 0
	HOST_CG=$TG_CG.host
	TG_CG_EXTRA+=("$HOST_CG")
	HOST_LIB=([s]="" [c]="$TG_TMP/clientlib")
	for s in s c; do
		mkdir -p "$HOST_CG/$s" || tg_die "cannot make cgroup $HOST_CG/$s"
		side_nginx "$TG_TMP/host-$s" "$HOST_CG/$s" "$TG_NS_CL" 127.0.0.1 \
			"${HOST_PORT[$s]}" ssl "${HOST_LIB[$s]}"
	done
	# The premise: side s's server maps the hooked file, side c's not
	# (the maps name a file by its path with the links resolved).
	lib=$(readlink -f "$GW_LIBSSL")
	for s in s c; do
		m=
		while read -r p; do
			grep -q " $lib\$" "/proc/$p/maps" 2>/dev/null && m=1
		done <"$HOST_CG/$s/cgroup.procs"
		if [ "$s" = s ] && [ -z "$m" ]; then
			tg_die "host: side s's server maps no $GW_LIBSSL"
		elif [ "$s" = c ] && [ -n "$m" ]; then
			tg_die "host: side c's server maps $GW_LIBSSL, not its copy"
		fi
	done
}

# Both sides' wrk at once for SECONDS; prints, for side s then c,
# "requests/s requests cpu_us".
host_wrk()	# SECONDS
{
	local s out pids=()
	declare -A u0

	for s in s c; do
		u0[$s]=$(cg_usage "$HOST_CG/$s")
	done
	for s in s c; do
		(
			echo "$BASHPID" >"$HOST_CG/$s/cgroup.procs" || exit 1
			exec timeout $(($1 + 30)) taskset -c "$PAIR_CPU" \
				ip netns exec "$TG_NS_CL" \
				env LD_LIBRARY_PATH="${HOST_LIB[$s]}" wrk -t1 \
				-c"$WRK_CONNS" -d"$1s" \
				"https://127.0.0.1:${HOST_PORT[$s]}/local"
		) >"$TG_TMP/host-$s/wrk.out" 2>&1 </dev/null &
		pids+=($!)
	done
	for s in "${pids[@]}"; do
		wait "$s" || tg_die "wrk failed: $(cat "$TG_TMP"/host-*/wrk.out)"
	done
	for s in s c; do
		out=$TG_TMP/host-$s/wrk.out
		grep -q ' Non-2xx' "$out" && tg_die "wrk saw errors: $(cat "$out")"
		printf '%s %s %s ' \
			"$(awk '/^Requests\/sec:/ { printf "%.0f\n", $2 }' "$out")" \
			"$(awk '/ requests in / { print $1 }' "$out")" \
			$(($(cg_usage "$HOST_CG/$s") - u0[$s]))
	done
	echo
}

# HOST_RUN[ROUND] = "FIRST" (none or calls, the state run first), then
# without the agent and with it, each side's "requests/s requests cpu_us"
# (s's first).
host_pass()
{
	local i off on st first

	host_setup
	for i in $(seq "$HOST_ROUNDS"); do
		first=none
		[ $((i % 2)) -eq 0 ] && first=calls
		for st in $first $([ "$first" = none ] && echo calls || echo none); do
			local_on "$st"
			# (host_wrk dies in its subshell only: the status says it)
			if [ "$st" = none ]; then
				off=$(host_wrk "$LOCAL_DUR") || tg_die "host: no rates"
			else
				on=$(host_wrk "$LOCAL_DUR") || tg_die "host: no rates"
			fi
			local_off "$st"
		done
		HOST_RUN[$i]="$first $off $on"
		tg_log "  host, round $i: without the agent $off; with it $on"
	done
}

# Per round: "kept own": side c's CPU time per request over side s's with
# the agent, over the same without it; side s's rate with over without.
host_ratios()
{
	local i

	for i in $(seq "$HOST_ROUNDS"); do
		echo "${HOST_RUN[$i]}"
	done | awk '{
		# FIRST, then rate requests cpu of s and c without the agent,
		# then of s and c with it
		os = $4 / $3; oc = $7 / $6; ns = $10 / $9; nc = $13 / $12
		printf "%.4f %.4f\n", (nc / ns) / (oc / os), $8 / $2
	}'
}

host_summary()
{
	local k o

	k=$(host_ratios | awk '{ print $1 }' | median)
	o=$(host_ratios | awk '{ print $2 }' | median)
	printf '%.3f %.3f\n' "$k" "$o"
}

report_host()
{
	echo "| round | first | without the agent: requests/s s, c | CPU us per request s, c | with it: requests/s s, c | CPU us per request s, c | the rate side s keeps | side s's own rate, with over without |"
	echo "| ---: | --- | --- | --- | --- | --- | ---: | ---: |"
	paste -d' ' <(for i in $(seq "$HOST_ROUNDS"); do
		echo "$i ${HOST_RUN[$i]}"; done) <(host_ratios) |
		awk '{
			printf "| %d | %s | %d, %d | %.2f, %.2f | %d, %d | %.2f, %.2f | %.3f | %.3f |\n",
				$1, $2 == "none" ? "without" : "with", $3, $6,
				$5 / $4, $8 / $7, $9, $12, $11 / $10, $14 / $13,
				$15, $16
		}'
}

# ---------------------------------------------------------------------------
# Where the receive's time goes
#
# The agent's builds stopped after each step of the receive program
# (TG_RECV_STOP, bpf/calls.bpf.h; `make bench` builds them in
# $OUT/recvN), the agent itself (0) and the empty receive program (floor)
# attached in turn, with BPF statistics on, on side a of the side-by-side
# pass (below): one nginx worker and one wrk thread on one CPU, the
# workload whose cost judges the cleartext target. STATS_DUR s each, the
# order reversed from round to round. Each request is two receives,
# nginx's (parsed) and wrk's (a socket without storage: it returns at
# once), so a step's time over the requests is what it adds to nginx's
# receive.
RECV_STEPS="floor 1 2 3 4 0"
RECV_ROUNDS=${BENCH_RECV_ROUNDS:-3}
declare -A RECV_DESC=(
	[floor]="the empty receive program (bpf/benchtls.bpf.c): the statistics' clock reads and the call"
	[1]="stopped once the counted socket is found (its storage and flags)"
	[2]="stopped once the read behind the receive is found (the CPU's scratch, the syscall's registers, the descriptor's file)"
	[3]="stopped once the read's bytes are copied (one bpf_probe_read_user, as the parser's window takes them)"
	[4]="stopped once the bytes are parsed (the calls not counted)"
	[0]="the agent's receive, whole (the calls counted on the socket and its peer)"
)
# RSTEP[step] = "requests runs ns cpu_us", summed over the rounds.
declare -A RSTEP

recv_bin()	# STEP
{
	local dir=${BENCH%/tests/bench_prog}

	[ "$1" = 0 ] && { echo "$TG_BIN"; return; }
	[ -x "$dir/recv$1/tollgate" ] ||
		tg_die "no $dir/recv$1/tollgate: make bench builds it"
	echo "$dir/recv$1/tollgate"
}

recv_steps_pass()
{
	local i n order id s0 s1 bin out
	local -a a w

	for n in $RECV_STEPS; do
		[ "$n" = floor ] || recv_bin "$n" >/dev/null
	done
	pair_setup
	stats_on
	for i in $(seq "$RECV_ROUNDS"); do
		order=$RECV_STEPS
		[ $((i % 2)) -eq 0 ] && order=$(reversed "$order")
		for n in $order; do
			if [ "$n" = floor ]; then
				local_on floor-recv
				id=$(awk '/^ids / { print $4 }' "$TG_TMP/floor.out")
			else
				bin=$(recv_bin "$n")
				TG_BIN=$bin pair_agent a calls
				id=$(TG_PIN=$(pair_pin a) link_prog_id link_recv)
			fi
			s0=$(prog_stats "$id")
			# (pair_wrk dies in its subshell only: the status says it)
			out=$(pair_wrk "$STATS_DUR" a) || tg_die "receive steps: no rates"
			s1=$(prog_stats "$id")
			if [ "$n" = floor ]; then
				local_off floor-recv
			else
				TG_BIN=$bin pair_agent a off
			fi
			# w: requests/s, requests, CPU us; a: ns and runs
			# before, after, then the sums so far
			read -r -a w <<<"$out"
			read -r -a a <<<"$s0 $s1 ${RSTEP[$n]:-0 0 0 0}"
			RSTEP[$n]="$((a[4] + w[1])) $((a[5] + a[3] - a[1])) $((a[6] + a[2] - a[0])) $((a[7] + w[2]))"
			tg_log "  receive steps, round $i, $n: ${w[1]} requests, $((a[3] - a[1])) runs, $(ns_per_run $((a[2] - a[0])) $((a[3] - a[1]))) ns a run"
		done
	done
	stats_off
}

report_recv_steps()
{
	local n reqs runs ns cpu last=""

	echo "| build | runs per request | ns per run | ns per request | added by the step, per request | share of a request's CPU time | CPU time per request (us) |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
	for n in $RECV_STEPS; do
		read -r reqs runs ns cpu <<<"${RSTEP[$n]:-0 0 0 0}"
		if [ "$reqs" -le 0 ] || [ "$runs" -le 0 ]; then
			continue
		fi
		awk -v n="$n" -v q="$reqs" -v r="$runs" -v t="$ns" -v c="$cpu" \
			-v l="$last" 'BEGIN {
			printf "| %s | %.2f | %.0f | %.0f | %s | %.2f %% | %.1f |\n", n,
				r / q, t / r, t / q,
				l == "" ? "-" : sprintf("%.0f", t / q - l),
				c ? 100 * t / (c * 1000) : 0, c / q }'
		last=$(awk -v q="$reqs" -v t="$ns" 'BEGIN { printf "%.1f", t / q }')
	done
	echo
	for n in $RECV_STEPS; do
		echo "- $n: ${RECV_DESC[$n]}"
	done
}

# ---------------------------------------------------------------------------
# Calls side by side
#
# The cleartext rates of local_pass move with the speed the host lends
# this machine's CPUs from one second to the next, by more than the 3 %
# the cleartext target allows. This pass measures calls and --no-calls at
# the same time instead. Two copies of the /local server, sides a and b,
# each with a wrk of its own, all run on one CPU, so that whatever the
# host gives or takes, it gives or takes from both sides within the same
# milliseconds. Each side's nginx is in a cgroup of its own, metered by an
# agent of its own; its wrk is in a sibling cgroup, and the kernel's CPU
# time of the two (cpu.stat) over the side's access log lines is the CPU
# time a request of that side costs, in user space and kernel alike. At
# the workload's top rate the CPUs are the limit, so that cost's inverse
# is the rate.
#
# Each round runs twice: both agents with --no-calls (the sides' own
# imbalance), then the agent of one side counting calls, a in odd rounds,
# b in even ones. A round's ratio is the other side's CPU time per request
# over the calls side's, divided by the same with both at --no-calls: the
# rate calls would keep of --no-calls. The request rates themselves are
# recorded too, though how the scheduler splits the CPU between the sides
# makes their ratio no measure of it.
#
# The receive tracepoint is global: the calls agent's program also runs
# for the other side's receives, nginx's and wrk's, and returns at once
# (those sockets have no storage in its map). --no-calls alone runs no
# program there, so that time makes the other side's requests dearer and
# the ratio higher. pair_bias_pass measures it as a share of the other
# side's CPU time: the program's own time (BPF statistics on, less what
# their clock reads add to each run: an empty program's time per run on
# the same receives, in the same window) and the tracepoint's dispatch of
# it (bench_prog dispatch: an empty program's cost per receive, times the
# program's runs). The verdict takes the ratio divided by one plus that
# share.
PAIR_ROUNDS=${BENCH_PAIR_ROUNDS:-12}
PAIR_SIDES="a b"
PAIR_CPU=${BENCH_PAIR_CPU:-0}
declare -A PAIR_PORT=([a]=8180 [b]=8181) PAIR_AGENT PAIR_RUN
PAIR_BIAS=
PAIR_READY=

pair_pin()	# SIDE
{
	echo "$TG_PIN/$1"
}


pair_setup()
{
	local s

	[ -n "$PAIR_READY" ] && return 0
	# The sides' pin directories lie in the test's, which tg_cleanup
	# removes; the agent mounts the usual BPF filesystem only for a
	# directory right under it.
	grep -q ' /sys/fs/bpf bpf ' /proc/mounts ||
		mount -t bpf bpf /sys/fs/bpf -o mode=0700 ||
		tg_die "cannot mount a BPF filesystem on /sys/fs/bpf"
	for s in $PAIR_SIDES; do
		mkdir -p "$TG_CG/$s/gw" "$TG_CG/$s/cl" "$(pair_pin "$s")" ||
			tg_die "cannot make cgroups in $TG_CG/$s or $(pair_pin "$s")"
		side_nginx "$TG_TMP/pair-$s" "$TG_CG/$s/gw" "$TG_NS_GW" \
			"$TG_GWC4" "${PAIR_PORT[$s]}" "" ""
	done
	PAIR_READY=1
}

# The side's agent on, counting calls (calls) or not (nocalls), or off
# (off); waits until it meters the side's nginx.
pair_agent()	# SIDE calls|nocalls|off
{
	local s=$1 pin log pid args=() deadline

	pin=$(pair_pin "$s")
	pid=${PAIR_AGENT[$s]:-}
	if [ -n "$pid" ]; then
		# tg_agent_stop, on this side's agent: a local of its own
		# leaves the test's agent variables alone
		local TG_AGENT_PID=$pid TG_AGENT_RC
		tg_agent_stop TERM
		PAIR_AGENT[$s]=
		"$TG_BIN" detach --pin-dir "$pin" >/dev/null ||
			tg_die "tollgate detach --pin-dir $pin failed"
	fi
	[ "$2" = off ] && return 0
	[ "$2" = nocalls ] && args=(--no-calls)
	# Emptied here, not by the agent's redirection: the wait below must
	# not find the last agent's line before the new agent's shell has
	# truncated the file.
	log=$TG_TMP/pair-$s/agent.log
	: >"$log"
	"$TG_BIN" run --cgroup "$TG_CG/$s/gw" --pin-dir "$pin" --interval 1 \
		--no-summary --no-ledger --no-metrics "${args[@]}" >>"$log" 2>&1 &
	pid=$!
	PAIR_AGENT[$s]=$pid
	TG_PIDS+=("$pid")
	deadline=$((SECONDS + 30))
	until tg_has_line "$log" 'metering cgroup'; do
		kill -0 "$pid" 2>/dev/null ||
			tg_die "the agent of side $s exited: $(tail -n3 "$log")"
		[ "$SECONDS" -lt "$deadline" ] ||
			tg_die "the agent of side $s did not attach within 30 s"
		sleep 0.1
	done
	[ "$2" = calls ] && [ ! -e "$pin/link_recv" ] &&
		tg_die "the agent of side $s counts no calls: no $pin/link_recv"
	return 0
}

# The sides' wrk (default both) at once for SECONDS; prints, for each
# side, "requests/s requests cpu_us": wrk's rate, the access log's new
# lines, the side's CPU time over the run.
pair_wrk()	# SECONDS [SIDES]
{
	local s out pids=()
	declare -A l0 u0

	for s in ${2:-$PAIR_SIDES}; do
		l0[$s]=$(wc -l <"$TG_TMP/pair-$s/logs/access.log")
		u0[$s]=$(cg_usage "$TG_CG/$s")
	done
	for s in ${2:-$PAIR_SIDES}; do
		(
			echo "$BASHPID" >"$TG_CG/$s/cl/cgroup.procs" || exit 1
			exec timeout $(($1 + 30)) taskset -c "$PAIR_CPU" \
				ip netns exec "$TG_NS_CL" wrk -t1 -c"$WRK_CONNS" \
				-d"$1s" "http://$TG_GWC4:${PAIR_PORT[$s]}/local"
		) >"$TG_TMP/pair-$s/wrk.out" 2>&1 </dev/null &
		pids+=($!)
	done
	for s in "${pids[@]}"; do
		wait "$s" || tg_die "wrk failed: $(cat "$TG_TMP"/pair-*/wrk.out)"
	done
	for s in ${2:-$PAIR_SIDES}; do
		out=$TG_TMP/pair-$s/wrk.out
		grep -q ' Non-2xx' "$out" && tg_die "wrk saw errors: $(cat "$out")"
		printf '%s %s %s ' \
			"$(awk '/^Requests\/sec:/ { printf "%.0f\n", $2 }' "$out")" \
			$(($(wc -l <"$TG_TMP/pair-$s/logs/access.log") - l0[$s])) \
			$(($(cg_usage "$TG_CG/$s") - u0[$s]))
	done
	echo
}

# PAIR_RUN[ROUND] = "C" and, both at --no-calls and then with side C
# counting calls, each side's "requests/s requests cpu_us" (a's first).
pair_pass()
{
	local i c o same both

	pair_setup
	for i in $(seq "$PAIR_ROUNDS"); do
		c=a o=b
		[ $((i % 2)) -eq 0 ] && c=b o=a
		pair_agent "$c" nocalls
		[ -n "${PAIR_AGENT[$o]:-}" ] || pair_agent "$o" nocalls
		# (pair_wrk dies in its subshell only: the status says it)
		same=$(pair_wrk "$LOCAL_DUR") || tg_die "side by side: no rates"
		pair_agent "$c" calls
		both=$(pair_wrk "$LOCAL_DUR") || tg_die "side by side: no rates"
		PAIR_RUN[$i]="$c $same $both"
		tg_log "  side by side, round $i, calls on $c: both --no-calls $same; calls on $c: $both"
	done
	pair_bias_pass "$c" "$o"
	for c in $PAIR_SIDES; do
		pair_agent "$c" off
		rm -rf "$(pair_pin "$c")"
	done
}

# What the calls agent of side C costs side O, whose sockets it does not
# meter, as a share of O's CPU time: its receive program's run time and
# runs while O alone is loaded, the runs at the dispatch cost bench_prog
# dispatch measures (PAIR_DISPATCH, ns per receive).
# The statistics' clock reads add their own time to each run's: the empty
# receive program of bench_prog floor, attached beside the agent's,
# measures it (PAIR_STATS_NS, ns per run).
PAIR_DISPATCH=
PAIR_STATS_NS=
PAIR_BIAS_PROG=
PAIR_BIAS_DISPATCH=
pair_bias_pass()	# C O
{
	local id fid t0 t1 r0 r1 f0 f1 g0 g1 u out

	out=$(taskset -c "$PAIR_CPU" "$BENCH" dispatch) ||
		tg_die "bench_prog dispatch failed: $out"
	PAIR_DISPATCH=$(awk '{ print $4 }' <<<"$out")
	id=$(bpftool -j link show pinned "$(pair_pin "$1")/link_recv" |
		jq -r .prog_id)
	local_on floor-recv
	fid=$(awk '/^ids / { print $4 }' "$TG_TMP/floor.out")
	stats_on
	read -r t0 r0 f0 g0 <<<"$(prog_stats "$id" "$fid")"
	out=$(pair_wrk "$STATS_DUR" "$2") || tg_die "side by side: no rates"
	read -r _ _ u <<<"$out"
	read -r t1 r1 f1 g1 <<<"$(prog_stats "$id" "$fid")"
	stats_off
	local_off floor-recv
	[ $((g1 - g0)) -gt 0 ] ||
		tg_die "side by side: the empty receive program never ran"
	read -r PAIR_STATS_NS PAIR_BIAS_PROG PAIR_BIAS_DISPATCH PAIR_BIAS < <(awk \
		-v t=$((t1 - t0)) -v r=$((r1 - r0)) -v f=$((f1 - f0)) \
		-v g=$((g1 - g0)) -v u="$u" -v d="$PAIR_DISPATCH" \
		'BEGIN {
			s = f / g
			n = t - r * s
			if (n < 0)
				n = 0
			p = u ? n / (u * 1000) : 0
			q = u ? r * d / (u * 1000) : 0
			printf "%.1f %.4f %.4f %.4f\n", s, p, q, p + q
		}')
	tg_log "  side by side: the calls agent on the other side's receives: $PAIR_BIAS of that side's CPU time ($PAIR_BIAS_PROG the program, net of the statistics' $PAIR_STATS_NS ns a run; $PAIR_BIAS_DISPATCH its dispatch at $PAIR_DISPATCH ns a receive)"
}

# Per round: "C cpu_ratio rate_ratio": the other side's CPU time per
# request over C's, and C's rate over the other's, each over the same with
# both at --no-calls.
pair_ratios()
{
	local i

	for i in $(seq "$PAIR_ROUNDS"); do
		echo "${PAIR_RUN[$i]}"
	done | awk '{
		# C, then rate requests cpu of a and b both --no-calls, then
		# of a and b with C counting calls
		ca = $4 / $3; cb = $7 / $6; xa = $10 / $9; xb = $13 / $12
		if ($1 == "a")
			printf "a %.4f %.4f\n", (xb / xa) / (cb / ca),
				($8 / $11) / ($2 / $5)
		else
			printf "b %.4f %.4f\n", (xa / xb) / (ca / cb),
				($11 / $8) / ($5 / $2)
	}'
}

# The side-by-side verdict's numbers: "cpu_median rate_median corrected".
pair_summary()
{
	local c r

	c=$(pair_ratios | awk '{ print $2 }' | median)
	r=$(pair_ratios | awk '{ print $3 }' | median)
	awk -v c="$c" -v r="$r" -v b="${PAIR_BIAS:-0}" \
		'BEGIN { printf "%.3f %.3f %.3f\n", c, r, c / (1 + b) }'
}

report_pair()
{
	echo "| round | calls on | both --no-calls: requests/s a, b | CPU us per request a, b | calls on one side: requests/s a, b | CPU us per request a, b | the rate calls keep, by CPU time per request | by request rate |"
	echo "| ---: | --- | --- | --- | --- | --- | ---: | ---: |"
	paste -d' ' <(for i in $(seq "$PAIR_ROUNDS"); do
		echo "$i ${PAIR_RUN[$i]}"; done) <(pair_ratios) |
		awk '{
			printf "| %d | %s | %d, %d | %.2f, %.2f | %d, %d | %.2f, %.2f | %.3f | %.3f |\n",
				$1, $2, $3, $6, $5 / $4, $8 / $7, $9, $12,
				$11 / $10, $14 / $13, $16, $17
		}'
}

local_ratio()	# WORKLOAD STATE BASE: median of round ratios
{
	paste -d' ' <(tr ' ' '\n' <<<"${LRATE[$1,$3]}" | grep .) \
		<(tr ' ' '\n' <<<"${LRATE[$1,$2]}" | grep .) |
		awk '{ printf "%s ", $2 / $1 }' | median | xargs printf '%.3f'
}

report_local()
{
	local w st base nc

	echo "| workload | state | requests/s (median) | to no agent (median of round ratios) | to --no-calls | each run |"
	echo "| --- | --- | ---: | ---: | ---: | --- |"
	for w in $LOCAL_WORKLOADS; do
		for st in ${LSTATES[$w]}; do
			base="-" nc="-"
			[ "$st" = none ] || base=$(local_ratio "$w" "$st" none)
			[ -n "${LRATE[$w,nocalls]:-}" ] &&
				nc=$(local_ratio "$w" "$st" nocalls)
			printf '| %s | %s | %s | %s | %s | %s |\n' "$w" "$st" \
				"$(median <<<"${LRATE[$w,$st]}")" "$base" "$nc" \
				"${LRATE[$w,$st]% }"
		done
	done
}

report_local_hits()
{
	local k w st name reqs runs ns

	echo "| workload | state | program | requests | runs | runs per request | ns per run | ns per request | share of the CPUs' busy time |"
	echo "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
	for k in $(printf '%s\n' "${!LHITS[@]}" | sort); do
		w=${k%%,*}
		name=${k#*,}
		st=${name%%,*}
		name=${name#*,}
		read -r reqs runs ns <<<"${LHITS[$k]}"
		[ "$runs" -gt 0 ] || continue
		awk -v w="$w" -v s="$st" -v n="$name" -v q="$reqs" -v r="$runs" \
			-v t="$ns" -v b="${LBUSY[$w,$st]:-0}" 'BEGIN {
			printf "| %s | %s | %s | %d | %d | %.2f | %.0f | %.0f | %.2f %% |\n",
				w, s, n, q, r, q ? r / q : 0, r ? t / r : 0,
				q ? t / q : 0, b ? 100 * t / b : 0 }'
	done
}

report_local_summary()
{
	local r f1 f2 f3 c n nc a b v name reqs runs ns traps=0 req=0

	r=$(local_ratio tls calls none)
	f1=$(local_ratio tls floor-write none)
	f2=$(local_ratio tls floor-write-ret none)
	f3=$(local_ratio tls floor-site-ret none)
	echo "- https on a location nginx answers itself, calls counted, at least $LOCAL_TARGET_TLS of no agent (median of round ratios): $r: $(verdict "$r" "$LOCAL_TARGET_TLS"); floors in the same rounds: one empty uprobe on SSL_write's entry $f1, on its entry and return $f2, on the entry and return of the function the agent hooks $f3"
	c=$(local_ratio clear calls nocalls)
	n=$(local_ratio clear floor-recv none)
	nc=$(local_ratio clear nocalls none)
	if awk -v n="$n" -v a="$nc" -v m="$LOCAL_STEADY" 'BEGIN {
		exit !(n > 1 + m || n < 1 - m || a > 1 + m) }'; then
		v="undecided: an empty receive program measured $n of no agent and \`--no-calls\` $nc, so the rates moved more than the margin the target needs; the receive program's share of the CPUs' time, next, does not move with them"
	else
		v="$(verdict "$c" "$LOCAL_TARGET_CLEAR"); floor: an empty receive program, $n of no agent"
	fi
	echo "- cleartext on that location, calls counted, at least $LOCAL_TARGET_CLEAR of \`--no-calls\`: $c: $v"
	read -r c r v <<<"$(pair_summary)"
	echo "- cleartext, side by side (both states at once on one CPU, below), calls counted, at least $LOCAL_TARGET_CLEAR of \`--no-calls\`: $v: $(verdict "$v" "$LOCAL_TARGET_CLEAR"); that is the median over rounds of the rate calls keep by CPU time per request, $c, divided by one plus $PAIR_BIAS, the share of the \`--no-calls\` side's CPU time that the calls agent's receive program took on its receives ($PAIR_BIAS_PROG in the program, net of the $PAIR_STATS_NS ns a run that the statistics' clock reads add, as an empty program beside it took; $PAIR_BIAS_DISPATCH in the tracepoint's dispatch of it, $PAIR_DISPATCH ns a receive); by the request rates, which the scheduler's split also moves, $r"
	read -r reqs runs ns <<<"${LHITS[clear,calls,tg_recv]:-0 0 0}"
	echo "- cleartext, the receive program's time in the hits runs (BPF statistics on): $(awk -v t="$ns" -v q="$reqs" -v b="${LBUSY[clear,calls]:-0}" 'BEGIN { printf "%.0f ns per request, %.2f %% of the CPUs'"'"' busy time in the same runs", q ? t / q : 0, b ? 100 * t / b : 0 }'): both clocks run at the host's speed of the moment, so this share does not move with it as the request rates do"
	a=$(local_ratio clear names calls)
	b=$(local_ratio tls names calls)
	echo "- name matching (each port's services two tenants' hosts, each request naming one) over calls counted without names, median of round ratios (no target): cleartext $a, https $b"
	for name in tg_ssl_write tg_ssl_write_ex tg_ssl_hs; do
		read -r reqs runs ns <<<"${LHITS[tls,calls,$name]:-0 0 0}"
		traps=$((traps + runs))
		[ "$reqs" -gt 0 ] && req=$reqs
	done
	echo "- traps per https request for nginx (entry probes of SSL_write, SSL_write_ex and SSL_do_handshake): $(awk -v t="$traps" -v q="$req" 'BEGIN { printf "%.2f", q ? t / q : 0 }'); the return probes, which take no trap, are in the table"
	if [ -n "${HOST_RUN[1]:-}" ]; then
		read -r r a <<<"$(host_summary)"
		echo "- https from a client outside the metered cgroup on the libssl file the agent hooks in the gateway's nginx, with the agent counting calls, at least $HOST_TARGET of the rate of the same client on a copy of libssl no hook reaches, run beside it (below): $r: $(verdict "$r" "$HOST_TARGET"); the first client's own rate with the agent over without it (each run at the host's speed of the moment): $a"
	fi
}

write_local_results()
{
	local tmp=$LOCAL_RESULTS.tmp

	{
		echo "# tollgate benchmark results: calls where they cost most"
		echo
		echo "Written by \`make bench\` (tests/bench/run.sh; \`BENCH_ONLY=local\` runs this"
		echo "part alone). nginx in gw answers \`/local\` itself (\`return 200\`, keep-alive),"
		echo "in cleartext and over TLS (HTTP/1.1); wrk in cl, $WRK_CONNS connections, loads"
		echo "its own copy of libssl; every request names $LOCAL_HOST (Host,"
		echo "and SNI over TLS) whatever the state. $LOCAL_ROUNDS rounds, $LOCAL_DUR s per run,"
		echo "each round one run per state, the order reversed from round to round; a ratio"
		echo "is the median of the ratios within each round. BPF statistics off,"
		echo "except for the hits table, measured apart ($STATS_DUR s per workload)."
		echo
		echo "- date: $START_DATE"
		echo "- tollgate: $(cat VERSION 2>/dev/null), commit $(git rev-parse --short HEAD 2>/dev/null)"
		echo "- kernel: $(uname -srm); CPU: $CPU_MODEL, $(nproc) CPUs online"
		echo "- load average (1, 5, 15 min) at start: $LOAD_START; at end: $(cut -d' ' -f1-3 /proc/loadavg)"
		echo
		echo "## Targets"
		echo
		report_local_summary
		echo
		echo "## Request rates"
		echo
		for st in none nocalls calls names floor-write floor-write-ret floor-site-ret floor-recv; do
			echo "- $st: ${LDESC[$st]}"
		done
		echo
		report_local
		echo
		echo "## Side by side"
		echo
		echo "Cleartext, $PAIR_ROUNDS rounds, $LOCAL_DUR s per run: two copies of the"
		echo "\`/local\` server (a, b), one nginx worker each, each metered by an agent of"
		echo "its own and loaded by a wrk of its own (one thread, $WRK_CONNS connections),"
		echo "all on CPU $PAIR_CPU at once. In each round both agents run \`--no-calls\`, then one"
		echo "side's agent counts calls. A side's CPU time per request is its nginx's and"
		echo "its wrk's CPU time (their cgroups' cpu.stat) over its access log's lines."
		echo "The rate calls keep is the other side's CPU time per request over the calls"
		echo "side's, divided by the same with both at \`--no-calls\`; by request rate, the"
		echo "calls side's rate over the other's, divided likewise."
		echo
		report_pair
		echo
		if [ -n "${HOST_RUN[1]:-}" ]; then
			echo "## A client outside the metered cgroup"
			echo
			echo "Https on loopback in cl, $HOST_ROUNDS rounds, $LOCAL_DUR s per run: two copies of"
			echo "a server that answers \`/local\` itself (nginx, one worker), each loaded by a"
			echo "wrk of its own (one thread, $WRK_CONNS connections), all outside the metered"
			echo "cgroup and on CPU $PAIR_CPU at once. Side s (shared) maps the system's libssl, the"
			echo "file the agent hooks in the gateway's nginx, server and client; side c"
			echo "(copy) a copy of it, which no hook reaches. In each round both sides run"
			echo "without the agent and with it counting calls, in the order of the table."
			echo "A side's CPU time per request is its cgroup's (cpu.stat) over its wrk's"
			echo "requests. The rate side s keeps is side c's CPU time per request over side"
			echo "s's with the agent, divided by the same without it. The agent's receive"
			echo "program runs for both sides' receives alike (sockets without storage, it"
			echo "returns at once: what it costs every socket on the host is the floor of"
			echo "the cleartext workload above)."
			echo
			report_host
			echo
		fi
		echo "## Where the receive's time goes"
		echo
		echo "Cleartext, BPF statistics on, $RECV_ROUNDS rounds of $STATS_DUR s per build, on side a"
		echo "of the side-by-side setup (above: one nginx worker, one wrk thread, one"
		echo "CPU; side b idle): the empty receive program, the agent's builds stopped"
		echo "after each step of its receive program (TG_RECV_STOP, bpf/calls.bpf.h) and"
		echo "the agent itself, attached in turn, the order reversed from round to"
		echo "round. A request is two"
		echo "receives: nginx's, parsed, and wrk's, on a socket the agent does not"
		echo "meter, which returns at once; so what a step adds per request is what it"
		echo "costs nginx's receive. The statistics' clock reads are in every run (the"
		echo "floor's time is mostly theirs); the tracepoint's dispatch is in none."
		echo
		report_recv_steps
		echo
		echo "## Hits per request"
		echo
		echo "With \`tollgate run\` (calls) and with host names (names): each program's"
		echo "runs over the access log's lines."
		echo "A uprobe's entry program runs once per breakpoint trap; a return"
		echo "program runs once per return, through the kernel's return trampoline."
		echo
		report_local_hits
	} >"$tmp" && mv "$tmp" "$LOCAL_RESULTS"
}

# ---------------------------------------------------------------------------
# Report

ns_per_run()	# ns cnt
{
	awk -v n="$1" -v c="$2" 'BEGIN { if (c > 0) printf "%.1f", n / c; else print "-" }'
}

report_testrun()
{
	echo "| program | packet | wire packets | floor (ns) | meter, general path (ns) | above floor (ns) | meter, fast path (ns) | above floor (ns) | above floor per wire packet, general / fast (ns) | target <= $TARGET_NS ns above floor per packet |"
	echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
	awk -F'\t' -v t="$TARGET_NS" '$1 != "path" {
		g = ($4 - $3) / $6
		f = ($5 - $3) / $6
		v = "missed on both paths"
		if (g <= t)
			v = "met on both paths"
		else if (f <= t)
			v = "met on the fast path only"
		printf "| %s | %s | %d | %d | %d | %d | %d | %d | %.1f / %.1f | %s |\n", $1, $2, $6, $3, $4, $4 - $3, $5, $5 - $3, g, f, v
	}' "$TG_TMP/testrun.tsv"
}

report_path()
{
	local meter fast

	meter=$(awk -F'\t' '$1 == "path" && $2 == "meter"' "$TG_TMP/testrun.tsv" | cut -f3- | tr '\t' ' ')
	fast=$(awk -F'\t' '$1 == "path" && $2 == "fast"' "$TG_TMP/testrun.tsv" | cut -f3- | tr '\t' ' ')
	echo "The meters' statistics after the test runs: \`$meter\` (as loaded by the"
	echo "agent), \`$fast\` (fast-path build)."
	echo
	if grep -q 'no_sock=0' <<<"$meter"; then
		cat <<'EOF'
A test run's skb does carry a socket: one the kernel makes up for the run,
with the packet's family and addresses but no protocol and no port. So the
meter found a socket and its storage on every run (`no_sock=0`: this is not
the no-socket path), but never a connected TCP socket, and every run of the
meter as the agent loads it took the **general path**: socket storage,
header parse, peer key built and compared with the one the socket cached,
counters. Real connected TCP sockets take the **fast path** from their
second packet on: socket storage, the cached peer slot, counters, and a
header parse only for GSO/GRO super-packets. To measure that path, the
benchmark builds the meter a second time (bpf/benchfast.bpf.c) with one
difference: the made-up socket's protocol counts as TCP's, so every run
after the first takes the fast path.
EOF
	else
		cat <<'EOF'
The test runs had no socket on the skb, so they measured the meter's
no-socket path (the `none` overflow bucket); real traffic takes the socket
paths, measured in the next section.
EOF
	fi
}

report_stats()
{
	local w p f m runs wire

	echo "| workload | program | empty (ns/run) | meter (ns/run) | meter - empty (ns/run) | meter runs | wire packets per run | meter - empty (ns/wire packet) |"
	echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
	for w in $WORKLOADS; do
		for p in $PROGS; do
			f=$(ns_per_run "${STAT_NS[floor,$w,$p]:-0}" "${STAT_CNT[floor,$w,$p]:-0}")
			m=$(ns_per_run "${STAT_NS[meter,$w,$p]:-0}" "${STAT_CNT[meter,$w,$p]:-0}")
			runs=${STAT_CNT[meter,$w,$p]:-0}
			wire=${WIRE[$w,$p]:-}
			awk -v w="$w" -v p="$p" -v f="$f" -v m="$m" -v r="$runs" \
				-v k="$wire" 'BEGIN {
				d = (f == "-" || m == "-") ? "-" : sprintf("%.1f", m - f)
				ppr = (k == "" || r == 0) ? "-" : sprintf("%.2f", k / r)
				dpp = "-"
				if (d != "-" && ppr != "-" && k > 0)
					dpp = sprintf("%.1f", d * r / k)
				printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n",
					w, p, f, m, d, r, ppr, dpp
			}'
		done
	done
}

# The fast path step by step: each stage's time per run and what each
# step adds to the one before.
report_steps()
{
	local w p f so st m

	echo "| workload | program | empty (ns/run) | socket found (ns/run) | storage found (ns/run) | meter (ns/run) | finding the socket (ns) | finding its storage (ns) | counting (ns) |"
	echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	for w in $WORKLOADS; do
		for p in ingress egress; do
			f=$(ns_per_run "${STAT_NS[floor,$w,$p]:-0}" "${STAT_CNT[floor,$w,$p]:-0}")
			so=$(ns_per_run "${STAT_NS[socket,$w,$p]:-0}" "${STAT_CNT[socket,$w,$p]:-0}")
			st=$(ns_per_run "${STAT_NS[storage,$w,$p]:-0}" "${STAT_CNT[storage,$w,$p]:-0}")
			m=$(ns_per_run "${STAT_NS[meter,$w,$p]:-0}" "${STAT_CNT[meter,$w,$p]:-0}")
			awk -v w="$w" -v p="$p" -v f="$f" -v so="$so" -v st="$st" \
				-v m="$m" 'function d(a, b) {
					return (a == "-" || b == "-") ? "-" : sprintf("%.1f", a - b)
				}
				BEGIN {
				printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
					w, p, f, so, st, m, d(so, f), d(st, so), d(m, st)
			}'
		done
	done
}

# Medians and ratios per workload: MED_OFF, MED_ON, RATIO (of medians),
# PAIR_RATIO (median of the ratios of each pair's two runs), SPREAD (of the
# runs without the agent: (max - min) / median, in percent).
declare -A MED_OFF MED_ON RATIO PAIR_RATIO SPREAD

compute_ratios()
{
	local w

	for w in $WORKLOADS; do
		MED_OFF[$w]=$(median <<<"${RATE[off,$w]}")
		MED_ON[$w]=$(median <<<"${RATE[on,$w]}")
		RATIO[$w]=$(awk -v a="${MED_ON[$w]}" -v b="${MED_OFF[$w]}" \
			'BEGIN { printf "%.3f", a / b }')
		PAIR_RATIO[$w]=$(paste -d' ' \
			<(tr ' ' '\n' <<<"${RATE[off,$w]}" | grep .) \
			<(tr ' ' '\n' <<<"${RATE[on,$w]}" | grep .) |
			awk '{ printf "%s ", $2 / $1 }' | median |
			xargs printf '%.3f')
		SPREAD[$w]=$(tr ' ' '\n' <<<"${RATE[off,$w]}" | grep . |
			awk -v m="${MED_OFF[$w]}" 'NR == 1 { lo = hi = $1 }
				{ if ($1 < lo) lo = $1; if ($1 > hi) hi = $1 }
				END { printf "%.0f", 100 * (hi - lo) / m }')
	done
}

verdict()	# value target: "met" when value >= target
{
	awk -v r="$1" -v t="$2" 'BEGIN { print (r >= t ? "met" : "missed") }'
}

report_throughput()
{
	local w

	echo "| workload | unit | without agent (median) | with agent (median) | ratio of medians | median of pair ratios | target >= $TARGET_RATIO (pair ratios) | without, each run | with, each run | spread without agent |"
	echo "| --- | --- | ---: | ---: | ---: | ---: | --- | --- | --- | ---: |"
	for w in $WORKLOADS; do
		printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s%% |\n' "$w" \
			"${UNIT[$w]}" "${MED_OFF[$w]}" "${MED_ON[$w]}" \
			"${RATIO[$w]}" "${PAIR_RATIO[$w]}" \
			"$(verdict "${PAIR_RATIO[$w]}" "$TARGET_RATIO")" \
			"${RATE[off,$w]% }" "${RATE[on,$w]% }" "${SPREAD[$w]}"
	done
}

# The targets, one line each.
report_summary()
{
	local w cr cpr

	awk -F'\t' -v t="$TARGET_NS" '$1 != "path" {
		if (($4 - $3) / $6 > g) g = ($4 - $3) / $6
		if (($5 - $3) / $6 > f) f = ($5 - $3) / $6
		if ($6 == 1 && $4 - $3 > g1) g1 = $4 - $3
	} END {
		printf "- per packet, at most %d ns above the empty program (per wire packet: a GSO super-packet of n segments is n packets): fast path (connected TCP sockets) at most %.1f ns above: %s; general path (first packets, listeners, UDP and other sockets) at most %.1f ns above: %s (at most %d ns on plain packets)\n",
			t, f, f <= t ? "met" : "missed", g, g <= t ? "met" : "missed", g1
	}' "$TG_TMP/testrun.tsv"
	for w in $WORKLOADS; do
		echo "- $w, at least $TARGET_RATIO of the rate without the agent: median of pair ratios ${PAIR_RATIO[$w]} (ratio of medians ${RATIO[$w]}; the runs without the agent alone spread over ${SPREAD[$w]}% of their median): $(verdict "${PAIR_RATIO[$w]}" "$TARGET_RATIO")"
	done
	read -r cr cpr <<<"$(calls_ratio calls)"
	echo "- http with calls counted, at least $CALLS_TARGET_RATIO of the rate with \`--no-calls\`: median of round ratios $cpr (ratio of medians $cr): $(verdict "$cpr" "$CALLS_TARGET_RATIO")"
	read -r cr cpr <<<"$(calls_ratio calls none)"
	echo "- http through the whole agent (bytes and calls), no target of its own (the two above compose to about $(awk -v a="$TARGET_RATIO" -v b="$CALLS_TARGET_RATIO" 'BEGIN { printf "%.2f", a * b }')): median of round ratios to no agent $cpr (ratio of medians $cr), in the rounds of the call-counting section"
	echo
	echo "A target is judged on the median of the ratios within each pair (or"
	echo "round): the two runs of a pair follow each other, so a load that"
	echo "drifts during the pass, which moves every run, cancels out of their"
	echo "ratio but not out of the ratio of the two medians. A ratio tells the"
	echo "agent's cost only where it differs from 1 by more than the runs"
	echo "differ among themselves: the spread of the runs without the agent"
	echo "says how far that is."
}

write_results()
{
	local tmp=$RESULTS.tmp commit

	commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
	git status --porcelain --untracked-files=no 2>/dev/null |
		grep -qv "${RESULTS#./}" && commit+=" (with local changes)"
	{
		echo "# tollgate benchmark results"
		echo
		echo "Written by \`make bench\` (tests/bench/run.sh); docs/development.md says what is"
		echo "measured and how. Numbers from one run on a shared machine: read the"
		echo "per-run columns for the noise."
		echo
		echo "- date: $START_DATE, $((SECONDS - TG_T0)) s"
		echo "- tollgate: $(cat VERSION 2>/dev/null), commit $commit"
		echo "- kernel: $(uname -srm)"
		echo "- CPU: $CPU_MODEL, $(nproc) CPUs online"
		echo "- load average (1, 5, 15 min) at start: $LOAD_START; at end: $(cut -d' ' -f1-3 /proc/loadavg)"
		echo "- tools: $(iperf3 --version | head -n1 | cut -d' ' -f1-2), $(nginx -v 2>&1 | sed 's/.*: //'), wrk"
		echo "- topology: network namespaces cl - gw - be joined by veth pairs (pfifo qdisc, MTU 1500), offloads on (tso, gso, gro); only gw's processes are in the metered cgroup"
		echo
		echo "## Targets"
		echo
		report_summary
		echo
		echo "## Per-packet cost (BPF_PROG_TEST_RUN)"
		echo
		echo "Each program ran $REPEAT times per call on the same packet, the three"
		echo "programs in turn for $ROUNDS rounds; the kernel's average time per run,"
		echo "median of the rounds. Packets: IPv4 TCP with 100 bytes of payload, an"
		echo "IPv4 TCP GSO super-packet of two 1448-byte segments, IPv6 TCP with 100"
		echo "bytes, IPv4 UDP with 100 bytes. The floor is an empty program of the"
		echo "same type (bpf/bench.bpf.c): what any program costs in the harness."
		echo "The general and fast paths are explained below the table."
		echo "\`sock_ops\` programs cannot be test-run (BPF_PROG_TEST_RUN does not"
		echo "support the type): see the next section for their cost under load."
		echo
		report_testrun
		echo
		report_path
		echo
		echo "## Cost under load (kernel run-time statistics)"
		echo
		echo "BPF run-time statistics on (BPF_ENABLE_STATS, the switch behind"
		echo "\`kernel.bpf_stats_enabled\`, held by \`bench_prog stats\` for this pass"
		echo "only; the sysctl itself is left alone), each workload run for"
		echo "$STATS_DUR s with each of these attached to the gateway's cgroup in"
		echo "turn: the empty programs, the meter stopped after two steps of its"
		echo "fast path (next section), the meter (\`--no-calls\`, as the stopped"
		echo "builds count no calls either); then the same in reverse order,"
		echo "so that a drifting load favours none of them. Per program,"
		echo "run_time_ns / run_cnt: the time inside the program per run, as the"
		echo "kernel clocks it (sched_clock around each run, so the empty program's"
		echo "figure is mostly that clock's own cost). Every packet here belongs to"
		echo "a real socket, so the meter takes the paths real traffic takes. A run"
		echo "is one skb; with GSO and GRO on, one skb may carry many wire packets,"
		echo "so the last two columns give the wire packets the meter counted per"
		echo "run and the meter's time above the empty program per wire packet."
		echo "These figures include whatever else the two CPUs were doing (cache"
		echo "misses, interrupts, a vCPU descheduled mid-run): see the load average"
		echo "above."
		echo
		report_stats
		echo
		echo "### Where the time goes"
		echo
		echo "The same runs, with two more builds of the meter attached in its"
		echo "place: stopped once the packet's full socket is known"
		echo "(bpf/benchsocket.bpf.c: \`skb->sk\`, \`bpf_sk_fullsock\`), and stopped"
		echo "once a connected TCP socket's storage is found and its flags read"
		echo "(bpf/benchstorage.bpf.c: \`bpf_sk_storage_get\`). The last three"
		echo "columns are what each step adds: finding the socket, finding its"
		echo "storage, and counting (the socket's counters and the peer's per-CPU"
		echo "slot, atomic adds). The test runs above do the same work on data"
		echo "that stays in the CPU's cache; under load, each socket's storage and"
		echo "its peer's slot have left the cache by the socket's next packet, and"
		echo "a socket's counters are written from both CPUs (the receiving"
		echo "softirq and the sending process), so these steps cost what fetching"
		echo "those cache lines costs."
		echo
		report_steps
		echo
		echo "## Throughput and request rate, with and without the agent"
		echo
		echo "$PAIRS pairs of runs of each workload, $DUR s each (iperf3 leaves out one"
		echo "more second of slow start): without the agent (nothing attached to the"
		echo "cgroup) and with \`tollgate run --no-calls\` attached to it: the bytes"
		echo "and packets meter, which these targets are for (what counting calls"
		echo "adds, and the whole agent, are in the call-counting section). The two"
		echo "runs of a pair one right after the other, without first in odd pairs"
		echo "and with first in even ones, so that a load that drifts during the"
		echo "pass favours neither. BPF statistics off. \"Each run\" columns are in"
		echo "pair order."
		echo
		for w in $WORKLOADS; do
			echo "- $w: ${DESC[$w]}"
		done
		echo
		report_throughput
		echo
		echo "## Call counting"
		echo
		echo "Cost under load: BPF run-time statistics on, wrk as above for"
		echo "$STATS_DUR s per run, two runs, summed: the receive program's runs, time"
		echo "per run, runs and time per counted call, and time per second of"
		echo "wall-clock load. It runs on every socket receive of the host (wrk's,"
		echo "the backend's and the gateway's) and returns at once for sockets it"
		echo "does not parse; nothing runs at syscall entry. The time includes the"
		echo "kernel's clock reads around each run."
		echo
		report_calls_stats
		echo
		echo "Request rate through the gateway: $CALLS_ROUNDS rounds of wrk as above, $DUR s per"
		echo "run, BPF statistics off, each round one run per agent back to back,"
		echo "the order reversed from round to round:"
		echo
		for w in $CALLS_STATES; do
			echo "- $w: ${CDESC[$w]}"
		done
		echo
		report_calls_throughput
		echo
		echo "## Classifier (bench_classify)"
		echo
		echo '```'
		cat "$TG_TMP/classify.out"
		echo '```'
		echo
		echo "## Metrics page (bench_metrics)"
		echo
		echo "Rendering /metrics in the collection loop and scraping it from the"
		echo "agent's HTTP server over loopback, one connection per scrape."
		echo
		echo '```'
		cat "$TG_TMP/metrics.out"
		echo '```'
		echo
		echo "## Collection time per interval (bench_collect)"
		echo
		echo "One collection of the agent's loop with N peers in the meter's"
		echo "maps (loaded, not attached; half clients, half backends, IPv4 and"
		echo "IPv6, spread over tests/data/jdcloud.yaml), every peer's counters"
		echo "raised before each round: read the maps (snapshot_read), classify"
		echo "(usage_update), book the ledger (book_commit, SQLite under"
		echo "\$TMPDIR), update the metrics, rate the month, render the page, and"
		echo "the summary's aggregate (only with --summary). Median and 90th"
		echo "percentile over the rounds; \"first\" is the collection before"
		echo "them, when every peer is new to the ledger and the metrics. Map"
		echo "memory: memlock of each map in /proc/self/fdinfo, as the kernel"
		echo "charges it; the four maps --max-peers sizes, and every map."
		echo
		echo '```'
		cat "$TG_TMP/collect.out"
		echo '```'
	} >"$tmp" && mv "$tmp" "$RESULTS"
}

# ---------------------------------------------------------------------------

tg_init iperf3 nginx wrk
if [ -n "${BENCH_ONLY:-}" ]; then
	[ -x "$BENCH" ] || tg_die "no $BENCH: run 'make bench'"
elif [ ! -x "$BENCH" ] || [ ! -x "$CLASSIFY" ] || [ ! -x "$METRICS" ] ||
	[ ! -x "$COLLECT" ]; then
	tg_die "no $BENCH, $CLASSIFY, $METRICS or $COLLECT: run 'make bench'"
fi
START_DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
CPU_MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
tg_log "load average: $LOAD_START"

setup_gateway()
{
	tg_topology_setup
	tg_offloads tso on gso on gro on
	tg_show_offloads
	tg_cgroup_setup
	tg_gw_spawn "$TG_TMP/iperf3.log" iperf3 -s -B "$TG_GWC4" -p "$IPERF_PORT"
	tg_wait_listen "$TG_NS_GW" t "$IPERF_PORT" "$TG_TMP/iperf3.log"
	tg_be_nginx_start
	TG_GW_SERVER_EXTRA='
		location = /local {
			return 200 "ok";
		}
'
	TG_GW_TLS_EXTRA=$TG_GW_SERVER_EXTRA
	tg_gw_tls_setup
	tg_gw_nginx_start
	tg_be_file f "$HTTP_SIZE"
	GW_LIBSSL=$(ldd "$(command -v nginx)" | awk '/libssl\.so/ { print $3 }')
	[ -n "$GW_LIBSSL" ] || tg_die "this nginx uses no shared libssl"
	mkdir -p "$TG_TMP/clientlib"
	cp "$GW_LIBSSL" "$TG_TMP/clientlib/"
	local_names_setup
}

run_local()
{
	tg_log "calls where they cost most: $LOCAL_ROUNDS rounds, $LOCAL_DUR s per run"
	local_pass
	tg_log "calls where they cost most: a client outside the metered cgroup, $HOST_ROUNDS rounds"
	host_pass
	tg_log "calls where they cost most: hits per request"
	local_hits_pass
	tg_log "calls where they cost most: where the receive's time goes, $RECV_ROUNDS rounds"
	recv_steps_pass
	tg_log "calls where they cost most: side by side, $PAIR_ROUNDS rounds"
	pair_pass
	write_local_results
	cat "$LOCAL_RESULTS"
	tg_log "results written to $LOCAL_RESULTS"
}

if [ "${BENCH_ONLY:-}" = local ]; then
	setup_gateway
	run_local
	exit 0
fi
if [ "${BENCH_ONLY:-}" = recv ]; then
	setup_gateway
	recv_steps_pass
	report_recv_steps
	exit 0
fi
if [ "${BENCH_ONLY:-}" = host ]; then
	setup_gateway
	host_pass
	report_host
	echo "the rate side s keeps beside side c, median; side s's own rate with the agent over without, median: $(host_summary)"
	exit 0
fi
if [ "${BENCH_ONLY:-}" = pair ]; then
	setup_gateway
	pair_pass
	report_pair
	echo "the rate calls keep, median by CPU time, by rate, by CPU time over the bias: $(pair_summary)"
	exit 0
fi

tg_log "classifier benchmark"
"$CLASSIFY" >"$TG_TMP/classify.out" || tg_die "bench_classify failed"
cat "$TG_TMP/classify.out"

tg_log "metrics page benchmark"
"$METRICS" >"$TG_TMP/metrics.out" || tg_die "bench_metrics failed"
cat "$TG_TMP/metrics.out"

tg_log "collection time per interval: $COLLECT_PEERS peers, $COLLECT_ROUNDS rounds"
# shellcheck disable=SC2086 # one argument per number of peers
"$COLLECT" -r "$COLLECT_ROUNDS" $COLLECT_PEERS >"$TG_TMP/collect.out" ||
	tg_die "bench_collect failed"
cat "$TG_TMP/collect.out"

tg_log "per-packet cost: $REPEAT runs per call, $ROUNDS rounds"
"$BENCH" testrun "$REPEAT" "$ROUNDS" >"$TG_TMP/testrun.tsv" ||
	tg_die "bench_prog testrun failed"
cat "$TG_TMP/testrun.tsv"

setup_gateway

tg_log "cost under load: run-time statistics, empty programs vs meter"
stats_pass
tg_log "throughput: $PAIRS pairs, $DUR s per workload"
throughput_pass
tg_log "calls: run-time statistics of the receive program"
calls_stats_pass
tg_log "calls: request rate, $CALLS_ROUNDS rounds of ${CALLS_STATES// /, }"
calls_throughput_pass
run_local

compute_ratios
write_results
cat "$RESULTS"
tg_log "results written to $RESULTS"
