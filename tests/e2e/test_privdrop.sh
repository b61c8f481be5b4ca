#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# test_privdrop.sh - the agent gives up root and its capabilities once
# attached, and still counts and collects exactly.
#
# Three ways in, each followed by a 10 MB download compared with the veths:
#
# 1. root with --user nobody (a hand run, or the Kubernetes DaemonSet):
#    after attaching, /proc/PID/status must show uid and gid nobody in all
#    four slots, no supplementary group, no capability left (CAP_BPF only
#    where the agent says this kernel wants it for bpf(2)), nothing
#    ambient or inheritable, a bounding set of CAP_BPF alone and
#    no_new_privs. Its per-interval summary must show the downloaded bytes,
#    and the ledger it books into, opened before the drop, all of them.
#
# 2. what deploy/tollgate.service does: the agent starts as nobody with
#    the ambient capabilities CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON, and
#    sees its pin directory, owned by nobody, through a bind mount in a
#    mount namespace of its own (the unit's TemporaryFileSystem= and
#    BindPaths=, since /sys/fs/bpf is root's alone). Without any one of
#    the three it must fail; with them it attaches, then trims them all.
#    Its ledger is in a directory of its own, as StateDirectory= makes it.
#
# 3. what deploy/kubernetes/tollgate.yaml does: root with only CAP_BPF,
#    CAP_NET_ADMIN, CAP_PERFMON, CAP_SETUID and CAP_SETGID, and --user
#    UID:GID.
#
# In every case where calls are counted, the agent must hold the receive
# tracer tg_recv, pinned as link_recv, and no program at syscall entry:
# neither tg_sys_enter (the raw tracepoint sys_enter runs it on every
# syscall of the host) nor tg_sys_read, _readv, _recvfrom, _recvmsg (the
# per-syscall tracepoints need tracefs, which the unit's agent may not
# read). What counts is the programs it holds (/proc/PID/fdinfo) and
# those its pins run, not its log.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh" || exit 1

SIZE=$((10 << 20))
CAP_BPF_MASK=$((1 << 39))
# The unit's AmbientCapabilities=, in setpriv's words.
UNIT_CAPS=+bpf,+net_admin,+perfmon

tg_init nginx curl setpriv unshare
id nobody >/dev/null 2>&1 || tg_skip "no user 'nobody'"
NOBODY_UID=$(id -u nobody)
NOBODY_GID=$(id -g nobody)
tg_topology_setup
tg_cgroup_setup

# A field of /proc/PID/status.
status_field()
{
	awk -v f="$2:" '$1 == f { $1 = ""; sub(/^ /, ""); print; exit }' \
		"/proc/$1/status"
}

# check_dropped LABEL PID: the agent is nobody and holds no privilege, in
# every thread: credentials and capabilities belong to threads, and the
# metrics server's threads must not keep what the main thread gave up.
# CAP_BPF may stay only where the agent says the kernel wants it.
check_dropped()
{
	local label=$1 pid=$2 t n=0 keep=0

	grep -q 'capabilities: cap_bpf' "$TG_AGENT_LOG" && keep=$CAP_BPF_MASK
	for t in /proc/"$pid"/task/*; do
		check_thread "$label (thread ${t##*/})" "$pid/task/${t##*/}" $keep
		n=$((n + 1))
	done
	[ "$n" -ge 3 ] ||
		tg_fail "$label: $n threads, expected the metrics server's too"
}

# check_thread LABEL PID[/task/TID] KEEP: one thread of check_dropped.
check_thread()
{
	local label=$1 pid=$2 keep=$3 f v want

	for f in Uid Gid; do
		v=$(status_field "$pid" $f)
		want=$NOBODY_UID
		[ $f = Gid ] && want=$NOBODY_GID
		[ "$v" = "$want $want $want $want" ] ||
			tg_fail "$label: $f is '$v', expected $want in all four slots"
	done
	v=$(status_field "$pid" Groups)
	[ -z "${v// /}" ] || tg_fail "$label: supplementary groups left: $v"
	for f in CapEff CapPrm; do
		v=$((16#$(status_field "$pid" $f)))
		[ $((v & ~keep)) -eq 0 ] ||
			tg_fail "$label: $f $(printf %016x $v) holds capabilities $(printf %016x $((v & ~keep))) after attaching"
	done
	for f in CapInh CapAmb; do
		v=$((16#$(status_field "$pid" $f)))
		[ "$v" -eq 0 ] ||
			tg_fail "$label: $f $(printf %016x $v) is not empty"
	done
	v=$(status_field "$pid" NoNewPrivs)
	[ "$v" = 1 ] || tg_fail "$label: no_new_privs is '$v'"
	tg_log "$label: $(grep -E '^(Uid|CapEff|CapPrm|CapBnd|CapAmb)' \
		"/proc/$pid/status" | tr -s '\t\n' '  ')"
}

# check_calls LABEL: the calls tracers, where the agent counts calls here.
check_calls()
{
	if grep -q 'calls are not counted' "$TG_AGENT_LOG"; then
		tg_log "$1: the agent counts no calls here: no tracer to check: $(grep 'calls are not counted' "$TG_AGENT_LOG")"
		return 0
	fi
	tg_check_calls_tracers "$1"
}

download()
{
	local got code size

	tg_measure_begin
	got=$(tg_curl -o /dev/null -w '%{http_code} %{size_download}' \
		"http://$TG_GWC4:$TG_GW_PORT/big.bin") || tg_die "curl failed"
	read -r code size <<<"$got"
	[ "$code" = 200 ] && [ "$size" -eq "$SIZE" ] ||
		tg_die "download: expected 200 and $SIZE bytes, got $code and $size"
	tg_measure_end
	tg_check_peer "$1" "$TG_DUMP" "$TG_CL4" client "$TG_GW_PORT" tcp "$TG_DEV_GWC"
	tg_check_peer "$1" "$TG_DUMP" "$TG_BE4" backend "$TG_BE_PORT" tcp "$TG_DEV_GWB"
	tg_check_only_peers "$TG_DUMP" "$TG_CL4" "$TG_BE4"
}

# "12.3 MiB" -> bytes, as a float.
unscale()
{
	awk -v n="$1" -v u="$2" 'BEGIN {
		split("B KiB MiB GiB TiB", units, " ")
		for (i = 1; i <= 5; i++) if (units[i] == u) break
		printf "%.0f\n", n * 1024 ^ (i - 1) }'
}

# summaries N: the agent has printed N summaries or more.
# shellcheck disable=SC2317 # run by tg_wait_for
summaries()
{
	[ "$(grep -c '^[0-9:]* in ' "$TG_AGENT_LOG")" -ge "$1" ]
}

# The agent's summary after the traffic must show the meter's totals, which
# check_peer found equal to the veths, to its printed precision (three
# significant digits).
check_summary()
{
	local label=$1 line want_in want_out n in_n in_u out_n out_u
	local got_in got_out

	want_in=$(jq '[.[].bytes_in] | add' <<<"$TG_DUMP")
	want_out=$(jq '[.[].bytes_out] | add' <<<"$TG_DUMP")
	n=$(grep -c '^[0-9:]* in ' "$TG_AGENT_LOG")
	tg_wait_for 30 "two more summaries" summaries $((n + 2))
	line=$(grep '^[0-9:]* in ' "$TG_AGENT_LOG" | tail -n1)
	[ -n "$line" ] || tg_die "$label: the agent printed no summary after dropping privileges"
	read -r in_n in_u out_n out_u < <(sed -nE \
		's/^[0-9:]+ in ([0-9.]+) ([KMGT]?i?B) \([^)]*\) out ([0-9.]+) ([KMGT]?i?B) .*/\1 \2 \3 \4/p' \
		<<<"$line")
	[ -n "${out_u:-}" ] || tg_die "$label: cannot parse the summary '$line'"
	got_in=$(unscale "$in_n" "$in_u")
	got_out=$(unscale "$out_n" "$out_u")
	tg_log "$label: summary '$line'; meter in $want_in out $want_out"
	awk -v a="$got_in" -v b="$want_in" -v c="$got_out" -v d="$want_out" \
		'BEGIN { exit !(a >= b * 0.995 && a <= b * 1.005 &&
				c >= d * 0.995 && c <= d * 1.005) }' ||
		tg_fail "$label: the summary ($got_in in, $got_out out) is not the meter's total ($want_in in, $want_out out)"
}

# After a clean stop the agent has booked every interval: the ledger's sums
# must be the meter's totals, which check_peer found equal to the veths.
check_ledger()
{
	local label=$1 want got

	want=$(jq -r '"\(map(.bytes_in) | add // 0) \(map(.packets_in) | add // 0) \(map(.bytes_out) | add // 0) \(map(.packets_out) | add // 0)"' \
		<<<"$TG_DUMP")
	got=$(tg_ledger_sums) || { tg_fail "$label: cannot read the ledger"; return; }
	tg_log "$label: ledger in/out bytes and packets $got, meter $want"
	[ "$got" = "$want" ] ||
		tg_fail "$label: the ledger booked '$got', the meter counted '$want'"
	grep -i 'ledger' "$TG_AGENT_LOG" | grep -qiv "host .*, days in" &&
		tg_fail "$label: the agent complained about its ledger: $(grep -i ledger "$TG_AGENT_LOG")"
}

tg_be_nginx_start
tg_be_file big.bin "$SIZE"

# 1. root, then --user nobody.
tg_agent_start --user nobody --summary
check_calls "--user nobody"
check_dropped "--user nobody" "$TG_AGENT_PID"
v=$((16#$(status_field "$TG_AGENT_PID" CapBnd)))
[ $((v & ~CAP_BPF_MASK)) -eq 0 ] ||
	tg_fail "--user nobody: the bounding set $(printf %016x $v) holds more than CAP_BPF"
grep -q "running as user $NOBODY_UID" "$TG_AGENT_LOG" ||
	tg_fail "--user nobody: the agent did not say it dropped: $(cat "$TG_AGENT_LOG")"
tg_gw_nginx_start
download user
check_summary user
tg_agent_stop TERM
[ "$TG_AGENT_RC" -eq 0 ] || tg_fail "--user nobody: the agent exited with $TG_AGENT_RC"
check_ledger user

# 2. the service's way: a fresh pin directory that belongs to nobody, seen
# through a bind mount, and ambient capabilities.
"$TG_BIN" detach --pin-dir "$TG_PIN" >/dev/null || tg_die "cannot detach"
mkdir "$TG_PIN" && chown nobody: "$TG_PIN" || tg_die "cannot make $TG_PIN"
mkdir "$TG_TMP/pin" || tg_die "cannot make $TG_TMP/pin"
# The state directory belongs to the user, as StateDirectory= makes it.
mkdir -m 0700 "$TG_TMP/state" && chown nobody: "$TG_TMP/state" ||
	tg_die "cannot make $TG_TMP/state"
TG_LEDGER=$TG_TMP/state/ledger.db

# service_wrap CAPS: run the rest as nobody with CAPS ambient, the pin
# directory bound at $TG_TMP/pin.
service_wrap()
{
	# shellcheck disable=SC2016 # expanded by the inner sh
	TG_AGENT_WRAP=(unshare -m --propagation private sh -c
		'mount --bind "$1" "$2" && shift 2 && exec "$@"' sh
		"$TG_PIN" "$TG_TMP/pin"
		setpriv --reuid=nobody --regid="$NOBODY_GID" --clear-groups
		--inh-caps="-all,$1" --ambient-caps="$1" --bounding-set="-all,$1")
	TG_AGENT_PIN=$TG_TMP/pin
}

# Each capability is needed: without it the agent stops before attaching.
for missing in bpf net_admin perfmon; do
	caps=${UNIT_CAPS/+$missing,/}
	caps=${caps/,+$missing/}
	service_wrap "$caps"
	TG_AGENT_STARTS=$((TG_AGENT_STARTS + 1))
	log=$TG_TMP/agent.$TG_AGENT_STARTS.log
	timeout 20 "${TG_AGENT_WRAP[@]}" "$TG_BIN" run --cgroup "$TG_CG" \
		--pin-dir "$TG_AGENT_PIN" --no-summary --no-ledger >"$log" 2>&1
	rc=$?
	if [ $rc -eq 124 ] || [ -e "$TG_PIN/link_ingress" ]; then
		tg_fail "without cap_$missing the agent attached: $(cat "$log")"
	elif ! grep -qE 'Operation not permitted|Permission denied' "$log"; then
		tg_fail "without cap_$missing the agent failed for another reason: $(cat "$log")"
	else
		tg_log "without cap_$missing: $(grep -m1 -E 'not permitted|Permission denied' "$log")"
	fi
	[ -z "$(tg_cgroup_progs)" ] ||
		tg_die "without cap_$missing programs were attached: $(tg_cgroup_progs)"
	"$TG_BIN" detach --pin-dir "$TG_PIN" >/dev/null 2>&1
	mkdir -p "$TG_PIN" && chown nobody: "$TG_PIN"
done

service_wrap "$UNIT_CAPS"
tg_agent_start --summary
check_calls service
check_dropped service "$TG_AGENT_PID"
[ "$(stat -c %U "$TG_PIN/link_ingress")" = nobody ] ||
	tg_fail "service: pins do not belong to nobody"
download service
check_summary service
tg_agent_stop TERM
[ "$TG_AGENT_RC" -eq 0 ] || tg_fail "service: the agent exited with $TG_AGENT_RC"
check_ledger service

# 3. the DaemonSet's way: root in a container with only the capabilities
# deploy/kubernetes/tollgate.yaml adds (no CAP_SETPCAP, so the bounding
# set stays), dropping to a numeric user.
"$TG_BIN" detach --pin-dir "$TG_PIN" >/dev/null || tg_die "cannot detach"
bounding=-all,+bpf,+net_admin,+perfmon,+setuid,+setgid
TG_AGENT_WRAP=(setpriv --inh-caps=-all --bounding-set="$bounding")
TG_AGENT_PIN=
TG_LEDGER=$TG_TMP/container/ledger.db
tg_agent_start --user "$NOBODY_UID:$NOBODY_GID" --summary
check_calls container
check_dropped container "$TG_AGENT_PID"
download container
check_summary container
tg_agent_stop TERM
[ "$TG_AGENT_RC" -eq 0 ] || tg_fail "container: the agent exited with $TG_AGENT_RC"
check_ledger container

tg_result
