# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# shellcheck shell=bash
#
# lib.sh - shared helpers of the end-to-end tests.
#
# A test builds three network namespaces joined by two veth pairs,
#
#     cl (client) --- gw (gateway) --- be (backend)
#
# runs an nginx reverse proxy in gw inside a cgroup of its own, meters that
# cgroup with ./tollgate, drives traffic from cl through gw to be, and
# compares what tollgate counted with an independent truth: the packet and
# byte counters of gw's two veth interfaces, read inside gw. Every packet on
# those two links belongs to a socket of the gateway, so per peer and per
# direction the meter must agree with them exactly.
#
# Sourcing this file sets up nothing; a test calls tg_init, then the setup
# helpers it needs. One EXIT trap takes down everything a helper created,
# on success, failure and Ctrl-C alike. Exit codes: 0 pass, 77 skip, any
# other fail.

# Variables set here are read by the tests that source this file.
# shellcheck disable=SC2034

set -u
set -o pipefail

TG_ID=$$
TG_NAME=tollgate-test.$TG_ID
TG_NS_CL=tg$TG_ID-cl
TG_NS_GW=tg$TG_ID-gw
TG_NS_BE=tg$TG_ID-be

# Interfaces live inside the namespaces, so their names need not be unique.
TG_DEV_CL=cl-gw		# in cl, faces gw
TG_DEV_GWC=gw-cl	# in gw, faces cl
TG_DEV_GWB=gw-be	# in gw, faces be
TG_DEV_BE=be-gw		# in be, faces gw

# Fixed MAC addresses, so that static neighbour entries can be written
# before the links exist in both namespaces.
TG_MAC_CL=02:00:00:c0:01:01
TG_MAC_GWC=02:00:00:c0:01:02
TG_MAC_GWB=02:00:00:c0:02:01
TG_MAC_BE=02:00:00:c0:02:02

TG_CL4=10.201.1.1
TG_GWC4=10.201.1.2
TG_GWB4=10.201.2.1
TG_BE4=10.201.2.2
TG_CL6=fd00:201:1::1
TG_GWC6=fd00:201:1::2
TG_GWB6=fd00:201:2::1
TG_BE6=fd00:201:2::2

TG_GW_PORT=8080		# the gateway's listen port (outside ephemeral range)
TG_BE_PORT=8081		# the backend's port
TG_GW_DUAL_PORT=8082	# gateway port on a dual-stack socket, to IPv6 backend
TG_GW_H2_PORT=8083	# gateway port speaking cleartext HTTP/2 (h2c)
TG_GW_TLS_PORT=8443	# gateway port terminating TLS (tg_gw_tls_setup)

# bpffs refuses names with a dot (EPERM): they are kept for its own files.
TG_PIN=/sys/fs/bpf/tollgate-test-$TG_ID
TG_CG=			# set by tg_cgroup_setup
TG_TMP=			# set by tg_init
TG_LEDGER=		# the agent's ledger, in TG_TMP; set by tg_init
TG_AGENT_PID=
TG_TRACEFS=		# tracefs, where the test mounted it (tg_tracefs)
TG_PG_DIR=		# a PostgreSQL cluster of the test's (tg_pg_init)
TG_PG_PORT=
TG_PG_URL=
TG_PIDS=()		# background processes to kill on exit
TG_FAILED=0
TG_T0=$SECONDS
# Backends in namespaces of their own (tg_backend_ns_add), each behind a
# link of its own to gw, so that each link's counters are one backend's.
TG_EXTRA_NS=()		# their namespaces
TG_EXTRA_DEVS=()	# gw's end of each link
TG_EXTRA_PEERS=()	# "NS DEV" of the far end of each link
declare -A TG_DEVSNAP=()	# tg_snapshot of the extra links: [NAME/DEV]
TG_CG_EXTRA=()		# cgroups of a test's own beside TG_CG, not metered
# Extra nginx configuration for the gateway (tg_gw_nginx_start): upstream
# blocks for the http level, locations for the main server.
TG_GW_HTTP_EXTRA=
TG_GW_SERVER_EXTRA=

# Proxy variables must never route a test client anywhere but gw.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy \
	no_proxy NO_PROXY

tg_log()
{
	printf '[%s +%ds] %s\n' "${0##*/}" $((SECONDS - TG_T0)) "$*"
}

# Exit 77 with the reason; the EXIT trap still cleans up.
tg_skip()
{
	tg_log "SKIP: $*"
	exit 77
}

# Record a failed check and go on, so one run shows every difference.
tg_fail()
{
	tg_log "FAIL: $*"
	TG_FAILED=1
}

# tg_expect_eq WHAT WANT WANT_FROM GOT [GOT_FROM]: one count against its
# truth; a failure says both, where each came from, and the difference.
tg_expect_eq()
{
	[ "$4" -eq "$2" ] ||
		tg_fail "$1: expected $2 ($3), got $4${5:+ ($5)}, diff $(($4 - $2))"
}

# A failure after which the test cannot go on.
tg_die()
{
	tg_log "FAIL: $*"
	exit 1
}

# tg_wait_for SECS WHAT COMMAND...: run COMMAND every 0.1 s until it
# succeeds, at most SECS seconds; then say what did not come and return 1
# (the caller fails, dies or skips: a timeout never passes). A test waits
# for the condition it needs, never a fixed time: a loaded machine is
# slow, not wrong.
tg_wait_for()
{
	local secs=$1 what=$2 deadline

	shift 2
	deadline=$((SECONDS + secs))
	until "$@"; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			tg_log "no $what within ${secs}s" >&2
			return 1
		fi
		sleep 0.1
	done
}

tg_require_root()
{
	[ "$(id -u)" -eq 0 ] || tg_skip "needs root (network namespaces, cgroups, BPF)"
}

tg_require_tools()
{
	local t

	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 ||
			tg_skip "missing tool '$t' (apt-get install it)"
	done
}

# The cgroup v2 mount point, from /proc/mounts; never assumed.
tg_cgroup2_mount()
{
	awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts
}

# Common start of every test: checks, temp dir, cleanup trap.
tg_init()
{
	tg_require_root
	tg_require_tools ip tc ethtool jq bpftool ss awk timeout "$@"
	TG_BIN=$(pwd)/tollgate
	[ -x "$TG_BIN" ] ||
		tg_die "no ./tollgate: run the tests from the project root after 'make'"
	[ -n "$(tg_cgroup2_mount)" ] || tg_skip "no cgroup2 hierarchy mounted"

	TG_TMP=$(mktemp -d "/tmp/$TG_NAME.XXXXXX") || tg_die "mktemp failed"
	# nginx workers run as nobody and serve files from here.
	chmod 755 "$TG_TMP"
	# Never the system's ledger: each test books into its own.
	TG_LEDGER=$TG_TMP/ledger.db
	trap tg_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# ---------------------------------------------------------------------------
# Cleanup

tg_kill_pid()
{
	local pid=$1 i

	kill -TERM "$pid" 2>/dev/null || return 0
	# A stopped process (SIGSTOP) acts on TERM once continued.
	kill -CONT "$pid" 2>/dev/null
	for i in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

tg_kill_netns_pids()
{
	local ns=$1 pids i

	for i in 1 2 3 4 5 6 7 8 9 10; do
		pids=$(ip netns pids "$ns" 2>/dev/null)
		[ -n "$pids" ] || return 0
		# shellcheck disable=SC2086
		kill -KILL $pids 2>/dev/null
		sleep 0.2
	done
}

# The test's cgroup and those it listed in TG_CG_EXTRA, and the cgroups
# made inside them (deepest first), with every process in them.
tg_cgroup_teardown()
{
	local i pids cg top

	for top in "$TG_CG" "${TG_CG_EXTRA[@]}"; do
		[ -n "$top" ] && [ -d "$top" ] && find "$top" -depth -type d
	done | while read -r cg; do
		for i in $(seq 25); do
			pids=$(cat "$cg/cgroup.procs" 2>/dev/null)
			[ -n "$pids" ] || break
			if [ -e "$cg/cgroup.kill" ]; then
				echo 1 >"$cg/cgroup.kill" 2>/dev/null
			else
				# shellcheck disable=SC2086
				kill -KILL $pids 2>/dev/null
			fi
			sleep 0.2
		done
		rmdir "$cg" 2>/dev/null ||
			tg_log "warning: cannot remove cgroup $cg"
	done
}

tg_cleanup()
{
	local rc=$? pid ns

	# A subshell signalled before it has reset the inherited traps would
	# run them: only the test's own shell may tear down.
	[ "$BASHPID" = "$$" ] || exit "$rc"
	trap - EXIT INT TERM
	set +e
	for pid in "${TG_PIDS[@]}"; do
		tg_kill_pid "$pid"
	done
	[ -n "$TG_AGENT_PID" ] && tg_kill_pid "$TG_AGENT_PID"
	tg_pg_stop
	[ -n "$TG_TRACEFS" ] && umount "$TG_TRACEFS"
	tg_cgroup_teardown
	for ns in "$TG_NS_CL" "$TG_NS_GW" "$TG_NS_BE" "${TG_EXTRA_NS[@]}"; do
		ip netns list | grep -qw "^$ns" || continue
		tg_kill_netns_pids "$ns"
		ip netns del "$ns"
	done
	if [ -e "$TG_PIN" ]; then
		"$TG_BIN" detach --pin-dir "$TG_PIN" >/dev/null 2>&1
		rm -rf "$TG_PIN"
	fi
	if [ -n "$TG_TMP" ] && [ -d "$TG_TMP" ]; then
		if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && [ -n "${TG_KEEP_LOGS:-}" ]; then
			tg_log "logs kept in $TG_TMP"
		else
			rm -rf "$TG_TMP"
		fi
	fi
	case $rc in
	0) tg_log "PASS" ;;
	77) ;;
	130 | 143) tg_log "INTERRUPTED" ;;
	*) tg_log "FAILED (exit $rc)" ;;
	esac
	exit "$rc"
}

# bpftrace finds tracepoints in tracefs, which a machine whose init is not
# systemd may not have mounted: mount it for the test; tg_cleanup
# unmounts it.
tg_tracefs()
{
	grep -q ' /sys/kernel/tracing tracefs ' /proc/mounts && return 0
	mount -t tracefs tracefs /sys/kernel/tracing ||
		tg_die "cannot mount tracefs on /sys/kernel/tracing"
	TG_TRACEFS=/sys/kernel/tracing
}

# ---------------------------------------------------------------------------
# Topology

# IPv6 settings of a fresh namespace, before any link exists there, so that
# new links inherit them: no DAD, no router solicitations, and unsolicited
# MLD reports sent at once instead of spread over a second. Together with
# static neighbour entries this leaves the links silent after setup.
tg_ns_quiet()
{
	local ns=$1 c

	ip -n "$ns" link set lo up
	for c in all default; do
		ip netns exec "$ns" sysctl -qw \
			net.ipv6.conf.$c.accept_dad=0 \
			net.ipv6.conf.$c.dad_transmits=0 \
			net.ipv6.conf.$c.accept_ra=0 \
			net.ipv6.conf.$c.router_solicitations=0 \
			net.ipv6.conf.$c.mldv1_unsolicited_report_interval=1 \
			net.ipv6.conf.$c.mldv2_unsolicited_report_interval=1 \
			>/dev/null
	done
}

# tg_link NS_A DEV_A MAC_A NS_B DEV_B MAC_B
tg_link()
{
	ip -n "$1" link add "$2" address "$3" type veth \
		peer name "$5" address "$6" netns "$4" ||
		tg_die "cannot create veth pair $1/$2 - $4/$5"
}

# tg_addr NS DEV ADDR4 ADDR6
tg_addr()
{
	ip -n "$1" addr add "$3/24" dev "$2" &&
		ip -n "$1" addr add "$4/64" dev "$2" nodad ||
		tg_die "cannot add addresses to $1/$2"
}

# tg_neigh NS DEV ADDR4 ADDR6 MAC: permanent entries, no ARP or NDP ever.
tg_neigh()
{
	ip -n "$1" neigh add "$3" lladdr "$5" dev "$2" nud permanent &&
		ip -n "$1" -6 neigh add "$4" lladdr "$5" dev "$2" nud permanent ||
		tg_die "cannot add neighbours in $1"
}

# Set offloads on both ends of both measured links, e.g.
# tg_offloads tso off gso off gro off
tg_offloads()
{
	local pair

	for pair in "$TG_NS_CL $TG_DEV_CL" "$TG_NS_GW $TG_DEV_GWC" \
		"$TG_NS_GW $TG_DEV_GWB" "$TG_NS_BE $TG_DEV_BE"; do
		# shellcheck disable=SC2086
		ip netns exec ${pair% *} ethtool -K ${pair#* } "$@" 2>/dev/null ||
			tg_die "ethtool -K ${pair#* } $* failed in ${pair% *}"
	done
}

# A real queue on every veth end. veth has none by default (noqueue), and
# when its peer receives through NAPI (GRO on) and the peer's 256-slot ring
# is full, it drops the packet: after the egress program counted it,
# before the veth counters did. With a queue, veth stops it instead and
# the packet waits. The limit is far above what TCP keeps queued.
tg_qdiscs()
{
	local pair

	for pair in "$TG_NS_CL $TG_DEV_CL" "$TG_NS_GW $TG_DEV_GWC" \
		"$TG_NS_GW $TG_DEV_GWB" "$TG_NS_BE $TG_DEV_BE"; do
		# shellcheck disable=SC2086
		ip netns exec ${pair% *} tc qdisc replace dev ${pair#* } root \
			pfifo limit 100000 ||
			tg_die "cannot add a qdisc to ${pair#* } in ${pair% *}"
	done
}

# gw receives on its two links in NAPI kernel threads: GRO on (veth
# receives through NAPI only then) and the links' NAPI threaded. Without
# it, a packet that a timer sends (a tbf queue releasing it, a
# retransmission) is received in the softirq that runs on top of whatever
# task the CPU was running, and some kernels skip tracing programs for
# some tasks (this test machine's skips them while PID 1 is current: see
# docs/counting.md, closed connections). The cgroup programs see every
# packet either way; only the tracers that count the packets of closed
# connections (bpf/closed.bpf.h) depend on it.
tg_gw_rx_threaded()
{
	local dev on

	for dev in "$TG_DEV_GWC" "$TG_DEV_GWB"; do
		ip netns exec "$TG_NS_GW" ethtool -K "$dev" gro on 2>/dev/null &&
			ip netns exec "$TG_NS_GW" sh -c \
				"echo 1 >/sys/class/net/$dev/threaded" ||
			tg_die "cannot receive on $dev in NAPI threads"
		on=$(ip netns exec "$TG_NS_GW" cat "/sys/class/net/$dev/threaded")
		[ "$on" = 1 ] || tg_die "$dev: NAPI threads did not stay on"
	done
}

# Show the offload settings of gw's links, for the log.
tg_show_offloads()
{
	local dev

	for dev in "$TG_DEV_GWC" "$TG_DEV_GWB"; do
		tg_log "$dev offloads: $(ip netns exec "$TG_NS_GW" ethtool -k "$dev" |
			awk -F': ' '/^(tcp-segmentation-offload|generic-segmentation-offload|generic-receive-offload):/ {
				sub(/-offload/, "", $1); printf "%s=%s ", $1, $2 }')"
	done
}

# Build the three namespaces and two links, offloads off.
tg_topology_setup()
{
	local ns

	for ns in "$TG_NS_CL" "$TG_NS_GW" "$TG_NS_BE" "${TG_EXTRA_NS[@]}"; do
		ip netns add "$ns" || tg_die "cannot create netns $ns"
		tg_ns_quiet "$ns"
	done
	tg_link "$TG_NS_CL" "$TG_DEV_CL" "$TG_MAC_CL" \
		"$TG_NS_GW" "$TG_DEV_GWC" "$TG_MAC_GWC"
	tg_link "$TG_NS_GW" "$TG_DEV_GWB" "$TG_MAC_GWB" \
		"$TG_NS_BE" "$TG_DEV_BE" "$TG_MAC_BE"

	tg_addr "$TG_NS_CL" "$TG_DEV_CL" "$TG_CL4" "$TG_CL6"
	tg_addr "$TG_NS_GW" "$TG_DEV_GWC" "$TG_GWC4" "$TG_GWC6"
	tg_addr "$TG_NS_GW" "$TG_DEV_GWB" "$TG_GWB4" "$TG_GWB6"
	tg_addr "$TG_NS_BE" "$TG_DEV_BE" "$TG_BE4" "$TG_BE6"

	tg_neigh "$TG_NS_CL" "$TG_DEV_CL" "$TG_GWC4" "$TG_GWC6" "$TG_MAC_GWC"
	tg_neigh "$TG_NS_GW" "$TG_DEV_GWC" "$TG_CL4" "$TG_CL6" "$TG_MAC_CL"
	tg_neigh "$TG_NS_GW" "$TG_DEV_GWB" "$TG_BE4" "$TG_BE6" "$TG_MAC_BE"
	tg_neigh "$TG_NS_BE" "$TG_DEV_BE" "$TG_GWB4" "$TG_GWB6" "$TG_MAC_GWB"

	# veth counts what the stack hands it: with TSO on, a 64 KB TCP
	# super-packet crosses the pair as one "packet". Offloads off makes
	# the counters count the segments a wire would carry. Tests that want
	# GSO or GRO turn them on again.
	tg_offloads tso off gso off gro off
	tg_qdiscs

	ip -n "$TG_NS_CL" link set "$TG_DEV_CL" up &&
		ip -n "$TG_NS_GW" link set "$TG_DEV_GWC" up &&
		ip -n "$TG_NS_GW" link set "$TG_DEV_GWB" up &&
		ip -n "$TG_NS_BE" link set "$TG_DEV_BE" up ||
		tg_die "cannot bring the links up"
}

# tg_backend_ns_add NAME GW_ADDR BE_ADDR PREFIXLEN: one more backend
# namespace, tg<pid>-NAME, joined to gw by its own veth pair (gw-NAME in gw,
# NAME-gw in it) with one address on each end (IPv4 or IPv6), static
# neighbours, offloads off and queues, like the links of
# tg_topology_setup. NAME: at most 8 characters. Call after
# tg_topology_setup; tg_snapshot and tg_check_peer know the new link.
tg_backend_ns_add()
{
	local name=$1 gwa=$2 bea=$3 plen=$4 n=${#TG_EXTRA_NS[@]}
	local ns=tg$TG_ID-$name gwdev=gw-$name bedev=$name-gw macg macb
	local nodad="" fam=-4 end

	macg=$(printf '02:00:00:c1:%02x:01' "$n")
	macb=$(printf '02:00:00:c1:%02x:02' "$n")
	case $gwa in *:*) nodad=nodad fam=-6 ;; esac
	ip netns add "$ns" || tg_die "cannot create netns $ns"
	TG_EXTRA_NS+=("$ns")
	tg_ns_quiet "$ns"
	tg_link "$TG_NS_GW" "$gwdev" "$macg" "$ns" "$bedev" "$macb"
	# shellcheck disable=SC2086 # nodad: empty or one word
	ip -n "$TG_NS_GW" addr add "$gwa/$plen" dev "$gwdev" $nodad &&
		ip -n "$ns" addr add "$bea/$plen" dev "$bedev" $nodad &&
		ip -n "$TG_NS_GW" "$fam" neigh add "$bea" lladdr "$macb" \
			dev "$gwdev" nud permanent &&
		ip -n "$ns" "$fam" neigh add "$gwa" lladdr "$macg" \
			dev "$bedev" nud permanent ||
		tg_die "cannot address the link to $ns"
	for end in "$TG_NS_GW $gwdev" "$ns $bedev"; do
		# shellcheck disable=SC2086
		ip netns exec ${end% *} ethtool -K ${end#* } tso off gso off \
			gro off 2>/dev/null &&
			ip netns exec ${end% *} tc qdisc replace dev ${end#* } \
				root pfifo limit 100000 ||
			tg_die "cannot set up ${end#* } in ${end% *}"
	done
	ip -n "$TG_NS_GW" link set "$gwdev" up &&
		ip -n "$ns" link set "$bedev" up ||
		tg_die "cannot bring the link to $ns up"
	TG_EXTRA_DEVS+=("$gwdev")
	TG_EXTRA_PEERS+=("$ns $bedev")
}

# tg_clients_prefix NET: clients at every address of the IPv4 prefix NET,
# for TG_MANYCONN (tests/e2e/manyconn.c: each connection from an address
# of its own). NET is local in cl and routed there from gw; cl has room
# for a TIME_WAIT socket per address, gw's listeners for long queues.
# Call after tg_topology_setup.
tg_clients_prefix()
{
	TG_MANYCONN=$(pwd)/.output/tests/manyconn
	[ -x "$TG_MANYCONN" ] ||
		tg_die "no $TG_MANYCONN: run 'make test-build' first"
	ip -n "$TG_NS_CL" route add local "$1" dev lo &&
		ip -n "$TG_NS_GW" route add "$1" via "$TG_CL4" dev "$TG_DEV_GWC" ||
		tg_die "cannot route $1 to cl"
	ip netns exec "$TG_NS_CL" sysctl -qw net.ipv4.tcp_max_tw_buckets=400000 &&
		ip netns exec "$TG_NS_GW" sysctl -qw net.core.somaxconn=4096 ||
		tg_die "cannot make room for clients at $1"
}

# ---------------------------------------------------------------------------
# cgroup and agent

tg_cgroup_setup()
{
	local cg2

	cg2=$(tg_cgroup2_mount)
	[ -n "$cg2" ] || tg_skip "no cgroup2 hierarchy mounted"
	TG_CG=$cg2/$TG_NAME
	mkdir "$TG_CG" || tg_die "cannot create cgroup $TG_CG"
}

# tg_agent_config [SERVICES [BACKENDS]]: print the agent configuration
# that metering tests share: region-1 of examplecloud, the gateway's
# port TG_GW_PORT as service api of tenant acme, and the IPv4 backend
# (TG_BE4, TG_BE_PORT) as origin, acme's, serving api. SERVICES and
# BACKENDS, YAML list items indented as in the file, are added to the two
# lists; a test appends sections of its own after it.
# shellcheck disable=SC2120 # arguments are optional
tg_agent_config()
{
	cat <<EOF
region: region-1
provider: examplecloud
services:
  - port: $TG_GW_PORT
    name: api
    tenant: acme
EOF
	[ -z "${1:-}" ] || printf '%s\n' "$1"
	cat <<EOF
backends:
  - address: $TG_BE4
    port: $TG_BE_PORT
    name: origin
    tenant: acme
    service: api
EOF
	[ -z "${2:-}" ] || printf '%s\n' "$2"
}

# Start the agent on the test cgroup and wait until its three links are
# pinned; arguments go to 'tollgate run' (e.g. --config FILE). The first
# start creates the pin directory; a later one (after the agent was
# killed) takes over the pinned maps and links. Each start logs to its own
# file, TG_AGENT_LOG, and books into the ledger TG_LEDGER (an argument
# --ledger or --no-ledger overrides it). Skips when the kernel refuses BPF.
#
# Tests start the agent before any server: sockets opened earlier would
# still be metered from the next packet on, but their first packets and
# the sock_ops events that tell an accepted socket from a connecting one
# would be gone, and the comparison would be off by exactly those.
#
# The metrics endpoint listens on a free port of 127.0.0.1 unless the
# arguments say otherwise (--listen, --no-metrics): tests run side by side
# and must not fight over 9109. Its port ends up in TG_METRICS_PORT, its
# address in TG_METRICS_URL.
# TG_AGENT_WRAP (a command that runs the rest of its arguments, e.g. under
# another user), TG_AGENT_PIN (the pin directory as the agent sees it,
# default TG_PIN) and TG_AGENT_VERBOSE (its verbosity, default -v; empty:
# as operators start it) change how it runs.
TG_AGENT_STARTS=0
TG_METRICS_PORT=
TG_METRICS_URL=
TG_AGENT_WRAP=()
TG_AGENT_VERBOSE=(-v)
TG_AGENT_PIN=
# shellcheck disable=SC2120 # arguments are optional
tg_agent_start()
{
	local log deadline metrics_args=(--listen 127.0.0.1:0)

	TG_AGENT_STARTS=$((TG_AGENT_STARTS + 1))
	log=$TG_TMP/agent.$TG_AGENT_STARTS.log
	TG_AGENT_LOG=$log
	case " $* " in
	*" --listen "* | *" --no-metrics "*) metrics_args=() ;;
	esac
	"${TG_AGENT_WRAP[@]}" "$TG_BIN" "${TG_AGENT_VERBOSE[@]}" run --cgroup "$TG_CG" \
		--pin-dir "${TG_AGENT_PIN:-$TG_PIN}" --interval 1 --no-summary \
		--ledger "$TG_LEDGER" "${metrics_args[@]}" "$@" >"$log" 2>&1 &
	TG_AGENT_PID=$!
	deadline=$((SECONDS + 30))
	while [ "$SECONDS" -lt "$deadline" ]; do
		if [ -e "$TG_PIN/link_ingress" ] && [ -e "$TG_PIN/link_egress" ] &&
			[ -e "$TG_PIN/link_sockops" ] &&
			tg_has_line "$log" 'metering cgroup'; then
			TG_METRICS_URL=$(sed -n 's|^tollgate: metrics on \(https*://[^ ]*/metrics\).*|\1|p' "$log")
			TG_METRICS_PORT=$(sed -n 's|^tollgate: metrics on https*://.*:\([0-9]*\)/metrics.*|\1|p' "$log")
			return 0
		fi
		if ! kill -0 "$TG_AGENT_PID" 2>/dev/null; then
			wait "$TG_AGENT_PID"
			TG_AGENT_PID=
			cat "$log" >&2
			grep -qE 'cannot (load BPF programs|attach .* to cgroup).*(Operation not permitted|Permission denied)' "$log" &&
				tg_skip "BPF load or attach not permitted here: $(tail -n1 "$log")"
			tg_die "tollgate run exited before attaching"
		fi
		sleep 0.1
	done
	cat "$log" >&2
	tg_die "tollgate run did not attach within 30s"
}

# Stop the agent with signal SIG (default TERM) and reap it, its exit
# status in TG_AGENT_RC; SIGKILL follows after 10s. (bash reaps its
# children as they exit, so kill -0 fails once the agent is gone.)
tg_agent_stop()
{
	local sig=${1:-TERM}

	[ -n "$TG_AGENT_PID" ] || return 0
	kill "-$sig" "$TG_AGENT_PID" 2>/dev/null
	for _ in $(seq 100); do
		kill -0 "$TG_AGENT_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$TG_AGENT_PID" 2>/dev/null
	wait "$TG_AGENT_PID" 2>/dev/null
	TG_AGENT_RC=$?
	TG_AGENT_PID=
}

# tg_has_line FILE PATTERN: FILE has a line matching the extended regular
# expression PATTERN.
tg_has_line()
{
	grep -qE "$2" "$1" 2>/dev/null
}

# tg_wait_log FILE PATTERN: wait up to 30s for a line matching the
# extended regular expression PATTERN in FILE.
tg_wait_log()
{
	tg_wait_for 30 "line matching '$2' in $1" tg_has_line "$1" "$2" &&
		return 0
	cat "$1" >&2
	return 1
}

# tg_collected_after TIME [CURL_ARGS...]: true once the agent's metrics
# page (TG_METRICS_URL; CURL_ARGS: credentials, a CA file) shows a
# collection that ended after TIME (Unix time; 0: any). Before its first
# collection the agent answers 503. Prints the collection's time.
tg_collected_after()
{
	local after=$1 ts

	shift
	ts=$(curl -sf --max-time 5 "$@" "$TG_METRICS_URL" | awk '
		$1 == "tollgate_collection_last_success_timestamp_seconds" {
			print $2 }')
	[ -n "$ts" ] && awk -v t="$ts" -v a="$after" 'BEGIN { exit !(t > a) }' ||
		return 1
	echo "$ts"
}

# tg_wait_collection [TIME [CURL_ARGS...]]: wait up to 30s for a
# collection of the agent that ended after TIME (default 0: its first);
# print its time.
tg_wait_collection()
{
	local after=${1:-0}

	shift $(($# > 0))
	tg_wait_for 30 "collection after $after on $TG_METRICS_URL" \
		tg_collected_after "$after" "$@" >/dev/null || return 1
	tg_collected_after "$after" "$@"
}

# Programs attached to the test cgroup, one "attach_type name" per line.
tg_cgroup_progs()
{
	bpftool -j cgroup show "$TG_CG" | jq -r '.[] | "\(.attach_type) \(.name)"'
}

# Program ids behind the pinned links: "ingress egress sockops".
tg_link_prog_ids()
{
	local l ids=""

	for l in link_ingress link_egress link_sockops; do
		ids+="$(bpftool -j link show pinned "$TG_PIN/$l" | jq .prog_id) "
	done
	echo "${ids% }"
}

# Run a command inside gw AND inside the test cgroup, in the background;
# its pid (the same process after exec) is appended to TG_PIDS. Only these
# gateway processes are metered: clients and backends stay outside.
tg_gw_spawn()
{
	local log=$1

	shift
	(
		echo "$BASHPID" >"$TG_CG/cgroup.procs" || exit 1
		exec ip netns exec "$TG_NS_GW" "$@"
	) >>"$log" 2>&1 </dev/null &
	TG_PIDS+=($!)
}

# Run a command in a namespace, outside the test cgroup, in the background.
tg_ns_spawn()
{
	local ns=$1 log=$2

	shift 2
	ip netns exec "$ns" "$@" >>"$log" 2>&1 </dev/null &
	TG_PIDS+=($!)
}

# tg_listening NS PROTO PORT: something listens on PORT (t: TCP, u: UDP)
# in NS.
tg_listening()
{
	ip netns exec "$1" ss -Hln"$2" "sport = :$3" | grep -q .
}

# tg_wait_listen NS PROTO PORT [LOG]: wait up to 30s until something
# listens on PORT in NS. Never probes with traffic: that would be metered.
# LOG is shown when it does not come up.
tg_wait_listen()
{
	local ns=$1 proto=$2 port=$3 log=${4:-}

	tg_wait_for 30 "listener on $proto/$port in $ns" \
		tg_listening "$ns" "$proto" "$port" && return 0
	[ -n "$log" ] && [ -f "$log" ] && tail -n 20 "$log" >&2
	tg_die "nothing listens on $proto/$port in $ns after 30s"
}

# ---------------------------------------------------------------------------
# Servers

# tg_gw_nginx_head DIR WORKERS: the start of a gateway nginx's
# configuration, its files under DIR, up to the http block's own
# settings: the access log (DIR/logs/access.log) in the format the tests
# read (client address and port, connection, request, status, bytes
# sent, upstream), keep-alive connections kept 120 s and 100000 requests.
tg_gw_nginx_head()
{
	cat <<EOF
daemon off;
master_process on;
worker_processes $2;
pid $1/nginx.pid;
error_log $1/logs/error.log warn;
events {
	worker_connections 1024;
}
http {
	log_format tg '\$remote_addr \$remote_port \$connection "\$request" '
		'\$status \$bytes_sent \$upstream_addr';
	access_log $1/logs/access.log tg;
	client_body_temp_path $1/tmp/body;
	proxy_temp_path $1/tmp/proxy;
	fastcgi_temp_path $1/tmp/fastcgi;
	uwsgi_temp_path $1/tmp/uwsgi;
	scgi_temp_path $1/tmp/scgi;
	keepalive_timeout 120s;
	keepalive_requests 100000;
EOF
}

# The gateway: nginx as a reverse proxy, every path of its own under the
# temp dir (never the system's /var/log/nginx or /var/lib/nginx). Runs in
# the foreground (daemon off) so that the spawned pid is the master.
#
# How connections end matters for an exact comparison. A socket that the
# gateway closes before its peer has closed goes, once its FIN is acked,
# into a kernel timewait socket; the peer's FIN and the gateway's last ACK
# then belong to no full socket and no cgroup program sees them, though the
# veth counts them. So the test arranges for every gateway socket to get
# its peer's FIN while nginx still holds it:
# - clients close first (curl and wrk do when done); where nginx ends a
#   connection itself (Connection: close, keepalive_requests),
#   'lingering_close always' makes it shut down its side and wait for the
#   client's FIN before closing the socket;
# - upstream connections are kept alive and the backend closes them (its
#   keepalive_timeout is far shorter than the gateway's);
# - a client that drops its connection mid-request (wrk does at the end)
#   does not make nginx drop the upstream connection: closed with the
#   response still arriving, its socket would be gone and the kernel would
#   answer the rest of the response with resets of its own
#   (proxy_ignore_client_abort).
tg_gw_nginx_start()
{
	local d=$TG_TMP/gw

	mkdir -p "$d/logs" "$d/tmp"
	{
		tg_gw_nginx_head "$d" 2
		cat <<EOF
	lingering_close always;
	lingering_timeout 10s;
	proxy_ignore_client_abort on;

	upstream be4 {
		server $TG_BE4:$TG_BE_PORT;
		keepalive 16;
		keepalive_timeout 120s;
		keepalive_requests 100000;
	}
	upstream be6 {
		server [$TG_BE6]:$TG_BE_PORT;
		keepalive 16;
		keepalive_timeout 120s;
		keepalive_requests 100000;
	}
$TG_GW_HTTP_EXTRA
	server {
		listen $TG_GWC4:$TG_GW_PORT;
		listen [$TG_GWC6]:$TG_GW_PORT;
		proxy_http_version 1.1;
		proxy_set_header Connection "";
		# Stream, do not spool big responses to disk.
		proxy_buffering off;
		proxy_buffer_size 64k;
		proxy_buffers 8 64k;
		proxy_busy_buffers_size 128k;
		location / {
			proxy_pass http://be4;
		}
		location /v6/ {
			proxy_pass http://be6/;
		}
$TG_GW_SERVER_EXTRA
	}
	# Cleartext HTTP/2 with prior knowledge (h2c), to the IPv4 backend.
	server {
		listen $TG_GWC4:$TG_GW_H2_PORT http2;
		proxy_http_version 1.1;
		proxy_set_header Connection "";
		location / {
			proxy_pass http://be4;
		}
	}
	# One IPv6 socket for both families: IPv4 clients arrive on it with
	# IPv4-mapped addresses.
	server {
		listen [::]:$TG_GW_DUAL_PORT ipv6only=off;
		proxy_http_version 1.1;
		proxy_set_header Connection "";
		proxy_buffering off;
		proxy_buffer_size 64k;
		proxy_buffers 8 64k;
		proxy_busy_buffers_size 128k;
		location / {
			proxy_pass http://be6;
		}
	}
}
EOF
	} >"$d/nginx.conf"
	tg_gw_spawn "$d/logs/stderr.log" nginx -p "$d" -c "$d/nginx.conf" \
		-e "$d/logs/error.log"
	tg_wait_listen "$TG_NS_GW" t "$TG_GW_PORT" "$d/logs/error.log"
}

# A self-signed certificate in TG_TMP/tls (removed with TG_TMP), and a
# server in the gateway that terminates TLS on TG_GW_TLS_PORT (HTTP/1.1,
# and HTTP/2 by ALPN), proxying to the IPv4 backend; TG_GW_TLS_EXTRA is
# added to that server (locations). Call before tg_gw_nginx_start.
# tg_libssl_30 FILE: whether FILE is an OpenSSL libssl of the 3.0 series
# (the only symbol version it defines is OPENSSL_3.0.0), in which the
# agent hooks SSL_write and SSL_write_ex at their common callee.
tg_libssl_30()
{
	[ "$(readelf -V "$1" 2>/dev/null |
		sed -n '/^Version definition/,/^Version needs/p' |
		awk '/Name: OPENSSL_/ { print $NF }' | sort -u)" = OPENSSL_3.0.0 ]
}

# tg_libssl_write_site FILE: the address (hex, no 0x) in FILE where the
# agent's write hooks go, found apart from the agent: in a 3.0 libssl the
# target of the first call of SSL_write (objdump), else SSL_write.
tg_libssl_write_site()
{
	local sym

	sym=$(nm -D --defined-only "$1" |
		awk '$3 == "SSL_write" || $3 ~ /^SSL_write@/ { print $1; exit }')
	[ -n "$sym" ] || return 1
	if tg_libssl_30 "$1"; then
		objdump -d --no-show-raw-insn --start-address=0x"$sym" \
			--stop-address=$((16#$sym + 64)) "$1" |
			awk '$2 == "call" { print $3; exit }'
	else
		echo "$sym"
	fi
}

tg_gw_tls_setup()
{
	local d=$TG_TMP/tls

	mkdir -p "$d"
	openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=gw" \
		-keyout "$d/key.pem" -out "$d/cert.pem" >"$d/openssl.log" 2>&1 ||
		tg_die "openssl could not make a certificate: $(tail -n1 "$d/openssl.log")"
	chmod 644 "$d/key.pem"
	TG_GW_HTTP_EXTRA+="
	server {
		listen $TG_GWC4:$TG_GW_TLS_PORT ssl http2;
		ssl_certificate $d/cert.pem;
		ssl_certificate_key $d/key.pem;
		proxy_http_version 1.1;
		proxy_set_header Connection \"\";
		proxy_buffering off;
		location / {
			proxy_pass http://be4;
		}
${TG_GW_TLS_EXTRA:-}
	}
"
}

# The backend: a second nginx in be serving static files from $TG_TMP/be/www.
# It closes idle keepalive connections after 1s: see tg_gw_nginx_start.
# tg_be_nginx_start [NS NAME ADDR...]: the same in namespace NS, listening
# on each ADDR, its files under $TG_TMP/NAME (default: be, on TG_BE4 and
# TG_BE6); every backend serves the files of $TG_TMP/be/www.
tg_be_nginx_start()
{
	local ns=${1:-$TG_NS_BE} name=${2:-be} d a listen=""

	d=$TG_TMP/$name
	if [ $# -ge 3 ]; then
		shift 2
	else
		set -- "$TG_BE4" "$TG_BE6"
	fi
	for a in "$@"; do
		case $a in
		*:*) listen+="		listen [$a]:$TG_BE_PORT;"$'\n' ;;
		*) listen+="		listen $a:$TG_BE_PORT;"$'\n' ;;
		esac
	done
	mkdir -p "$d/logs" "$d/tmp" "$TG_TMP/be/www"
	cat >"$d/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 1;
pid $d/nginx.pid;
error_log $d/logs/error.log warn;
events {
	worker_connections 1024;
}
http {
	access_log $d/logs/access.log;
	client_body_temp_path $d/tmp/body;
	proxy_temp_path $d/tmp/proxy;
	fastcgi_temp_path $d/tmp/fastcgi;
	uwsgi_temp_path $d/tmp/uwsgi;
	scgi_temp_path $d/tmp/scgi;
	sendfile on;
	keepalive_timeout 1s;
	keepalive_requests 100000;
	default_type application/octet-stream;
	server {
$listen		root $TG_TMP/be/www;
	}
}
EOF
	tg_ns_spawn "$ns" "$d/logs/stderr.log" nginx -p "$d" \
		-c "$d/nginx.conf" -e "$d/logs/error.log"
	tg_wait_listen "$ns" t "$TG_BE_PORT" "$d/logs/error.log"
}

# tg_be_file NAME SIZE: a file of SIZE bytes (sparse: cheap for 100 MB).
tg_be_file()
{
	mkdir -p "$TG_TMP/be/www"
	truncate -s "$2" "$TG_TMP/be/www/$1" || tg_die "cannot create $1"
}

# curl in cl, never through a proxy, each transfer bounded (120s).
tg_curl()
{
	ip netns exec "$TG_NS_CL" curl --noproxy '*' -sS --no-progress-meter \
		--max-time 120 "$@"
}

# ---------------------------------------------------------------------------
# Truth: veth counters inside gw
#
# Read through netlink inside gw (ip -n), the same numbers as gw's
# /sys/class/net/DEV/statistics: interface names and counters belong to a
# namespace, and gw's own view is the one that matches its sockets.

# Print "rx_bytes rx_packets tx_bytes tx_packets rx_dropped tx_dropped" of
# DEV in gw; tx_dropped includes what its qdisc dropped.
tg_link_stats()
{
	local qdrops

	qdrops=$(ip netns exec "$TG_NS_GW" tc -s -j qdisc show dev "$1" |
		jq '[.[].drops] | add // 0')
	ip -n "$TG_NS_GW" -s -j link show dev "$1" | jq -r --argjson q "$qdrops" \
		'.[0].stats64 | "\(.rx.bytes) \(.rx.packets) \(.tx.bytes) \(.tx.packets) \(.rx.dropped) \(.tx.dropped + $q)"'
}

tg_stats_all()
{
	local dev out

	out="$(tg_link_stats "$TG_DEV_GWC") $(tg_link_stats "$TG_DEV_GWB")"
	for dev in "${TG_EXTRA_DEVS[@]}"; do
		out+=" $(tg_link_stats "$dev")"
	done
	echo "$out"
}

# Wait until gw's counters have not moved for QUIET seconds (default 1),
# at most 30s. Setup leaves a few MLD reports behind; the end of a test
# leaves FINs and ACKs in flight.
tg_wait_quiet()
{
	local quiet=${1:-1} cur last="" since=0 now deadline=$((SECONDS + 30))

	while [ "$SECONDS" -lt "$deadline" ]; do
		cur=$(tg_stats_all)
		now=$(date +%s.%N)
		if [ "$cur" != "$last" ]; then
			last=$cur
			since=$now
		elif awk -v a="$now" -v b="$since" -v q="$quiet" \
			'BEGIN { exit !(a - b >= q) }'; then
			return 0
		fi
		sleep 0.1
	done
	tg_die "gw's links did not go quiet within 30s"
}

# Wait up to 30s until gw holds no TCP connection: only listeners and
# timewait sockets may remain. A timewait socket sends only when the peer
# retransmits its FIN because the last ACK was lost, and a veth loses
# nothing; should it ever happen, the meter (which cannot see timewait
# sockets) and the veth would differ and the test would say so.
tg_wait_gw_idle()
{
	local i n

	for i in $(seq 300); do
		n=$(ip netns exec "$TG_NS_GW" ss -Htan |
			awk '$1 != "LISTEN" && $1 != "TIME-WAIT"' | wc -l)
		[ "$n" -eq 0 ] && return 0
		sleep 0.1
	done
	ip netns exec "$TG_NS_GW" ss -tan >&2
	tg_die "gw still has TCP connections after 30s"
}

# Packets that reached NS/DEV through veth's NAPI path (GRO on, or XDP).
tg_napi_packets()
{
	ip netns exec "$1" ethtool -S "$2" |
		awk '$1 ~ /^rx_queue_[0-9]+_xdp_packets:$/ { n += $2 } END { print n + 0 }'
}

# tg_snapshot NAME: record in TG_SNAP_NAME, for gw-cl then gw-be, the
# TG_NSTAT fields below: tg_link_stats, then how many of the rx and of the
# tx packets took veth's NAPI path (counted on the receiving device: gw's
# own for rx, the peer's in cl or be for tx).
TG_NSTAT=8
tg_snapshot()
{
	local s

	s="$(tg_link_stats "$TG_DEV_GWC") $(tg_napi_packets "$TG_NS_GW" "$TG_DEV_GWC")"
	s+=" $(tg_napi_packets "$TG_NS_CL" "$TG_DEV_CL")"
	s+=" $(tg_link_stats "$TG_DEV_GWB") $(tg_napi_packets "$TG_NS_GW" "$TG_DEV_GWB")"
	s+=" $(tg_napi_packets "$TG_NS_BE" "$TG_DEV_BE")"
	[ "$(wc -w <<<"$s")" -eq $((2 * TG_NSTAT)) ] ||
		tg_die "cannot read gw's counters: $s"
	printf -v "TG_SNAP_$1" '%s' "$s"
	# The extra backends' links, in TG_DEVSNAP[NAME/DEV].
	local i dev peer

	for i in "${!TG_EXTRA_DEVS[@]}"; do
		dev=${TG_EXTRA_DEVS[i]}
		peer=${TG_EXTRA_PEERS[i]}
		s="$(tg_link_stats "$dev") $(tg_napi_packets "$TG_NS_GW" "$dev")"
		s+=" $(tg_napi_packets "${peer% *}" "${peer#* }")"
		[ "$(wc -w <<<"$s")" -eq "$TG_NSTAT" ] ||
			tg_die "cannot read the counters of $dev: $s"
		TG_DEVSNAP[$1/$dev]=$s
	done
}

# ---------------------------------------------------------------------------
# The meter's side

# shellcheck disable=SC2120
tg_dump()
{
	"$TG_BIN" dump --pin-dir "$TG_PIN" --format json "$@"
}

# Value of tg_stats[IDX], summed over CPUs.
tg_stat()
{
	bpftool -j map dump pinned "$TG_PIN/tg_stats" | jq --argjson i "$1" \
		'[.[].formatted | select(.key == $i) | .values[].value] | add // 0'
}

# The keys of tg_peer_idx that do not name a USED slot holding that key
# (include/meter.h, struct tg_slot), one "ADDRESS -> slot N" line each.
# A reclaimed slot's key leaves the hash before the slot is freed, so
# there are none; a key left behind would send its peer's counts into a
# slot that no snapshot books, or that another peer holds.
tg_stale_peer_keys()
{
	jq -rn --slurpfile idx <(bpftool -j map dump pinned "$TG_PIN/tg_peer_idx") \
		--slurpfile slots <(bpftool -j map dump pinned "$TG_PIN/tg_slot") '
		($slots[0] | map({key: (.formatted.key | tostring),
				  value: .formatted.value}) | from_entries) as $s |
		$idx[0][] | .formatted as $e | $s[$e.value | tostring] as $v |
		select($v.state != 1 or $v.key != $e.key) | $e.key.addr as $a |
		"\(if $a[:12] == [0,0,0,0,0,0,0,0,0,0,255,255]
		    then $a[12:] | map(tostring) | join(".")
		    else $a | map(tostring) | join(",") end) -> slot \($e.value)"'
}

# tg_stats indexes of include/meter.h
TG_STAT_HTTP_DESYNC=6	# client connections whose HTTP/1.x stream was lost
TG_STAT_HTTP_OTHER=7	# client connections that did not speak HTTP/1.x
TG_STAT_TLS=8		# client connections that began with a TLS handshake
TG_STAT_TLS_HOOKED=9	# of those, read through a hooked SSL_read
TG_STAT_TLS_MISS=10	# decrypted reads whose connection was not known
TG_STAT_NAME_UNMATCHED=14	# names no host matched
TG_STAT_NAME_SWITCH=17	# requests that moved their connection to another
			# service (a proxy pooling connections)

# tg_calls DUMP_JSON [PEER]: calls in the dump, of PEER or of every row.
tg_calls()
{
	jq --arg p "${2:-}" '[.[] | select($p == "" or .peer == $p) | .calls] |
		add // 0' <<<"$1"
}

# The names of the BPF programs process $1 holds, loaded or attached
# through a link, from its descriptors: neither its log nor its pins.
tg_agent_progs()
{
	local id

	sed -n 's/^prog_id:[[:space:]]*//p' /proc/"$1"/fdinfo/* 2>/dev/null |
		sort -un | while read -r id; do
			bpftool -j prog show id "$id" 2>/dev/null | jq -r .name
		done | sort -u | tr '\n' ' '
}

# The names of the BPF programs pinned in directory $1, or run by the links
# pinned there.
tg_pinned_progs()
{
	local f id

	for f in "$1"/*; do
		id=$(bpftool -j link show pinned "$f" 2>/dev/null |
			jq -r '.prog_id // empty')
		if [ -n "$id" ]; then
			bpftool -j prog show id "$id" 2>/dev/null | jq -r .name
		else
			bpftool -j prog show pinned "$f" 2>/dev/null |
				jq -r '.name // empty'
		fi
	done | sort -u | tr '\n' ' '
}

# tg_check_calls_tracers LABEL: calls are counted by the receive tracer
# alone. The agent holds tg_recv and its pinned link_recv runs it; nothing
# runs at syscall entry, where every syscall of the host would pay for it:
# no such program (tg_sys_enter, tg_sys_read, _readv, _recvfrom,
# _recvmsg) held by the agent or run by a pin, no link_sys* pin.
tg_check_calls_tracers()
{
	local label=$1 held pinned p id name type bad_held='' bad_pinned=''

	held=$(tg_agent_progs "$TG_AGENT_PID")
	pinned=$(tg_pinned_progs "$TG_PIN")
	tg_log "$label: programs held: $held; pinned: $pinned"
	[[ " $held " = *" tg_recv "* ]] ||
		tg_fail "$label: the agent holds no tg_recv, the receive tracer"
	id=$(bpftool -j link show pinned "$TG_PIN/link_recv" 2>/dev/null |
		jq .prog_id)
	read -r name type < <(bpftool -j prog show id "${id:-0}" 2>/dev/null |
		jq -r '"\(.name) \(.type)"')
	[ "${name:-}" = tg_recv ] ||
		tg_fail "$label: link_recv runs '${name:-nothing}' (${type:-}), expected tg_recv"
	for p in tg_sys_enter tg_sys_read tg_sys_readv tg_sys_recvfrom tg_sys_recvmsg; do
		[[ " $held " = *" $p "* ]] && bad_held+=" $p"
		[[ " $pinned " = *" $p "* ]] && bad_pinned+=" $p"
	done
	[ -z "$bad_held" ] ||
		tg_fail "$label: the agent holds programs at syscall entry:$bad_held"
	[ -z "$bad_pinned" ] ||
		tg_fail "$label: programs at syscall entry are pinned in $TG_PIN:$bad_pinned"
	if compgen -G "$TG_PIN/link_sys*" >/dev/null; then
		tg_fail "$label: syscall-entry tracers pinned: $(ls "$TG_PIN")"
	fi
}

# tg_check_calls: after tg_measure_end, the calls counted from the client
# equal the lines of gw's access log, every call is on the client's row,
# and no connection lost its HTTP stream or was taken for another
# protocol. With TG_CALLS_ANSWERED=1 (calls over TLS, counted as answered)
# the lines of requests that got no answer do not count: 499 (the client
# went away first) and 444 (nginx closed without one). Sets TG_CALLS_LOG
# (the log's path) and TG_CALLS_LINES.
tg_check_calls()
{
	local calls all desync other

	TG_CALLS_LOG=$TG_TMP/gw/logs/access.log
	if [ -n "${TG_CALLS_ANSWERED:-}" ]; then
		TG_CALLS_LINES=$(awk -F'"' '{ split($3, f, " ")
			if (f[1] != 499 && f[1] != 444) n++ } END { print n + 0 }' \
			"$TG_CALLS_LOG")
	else
		TG_CALLS_LINES=$(wc -l <"$TG_CALLS_LOG")
	fi
	calls=$(tg_calls "$TG_DUMP" "$TG_CL4")
	all=$(tg_calls "$TG_DUMP")
	desync=$(tg_stat "$TG_STAT_HTTP_DESYNC")
	other=$(tg_stat "$TG_STAT_HTTP_OTHER")
	tg_log "gw access log: $TG_CALLS_LINES lines; meter: $calls calls from $TG_CL4 ($all in all), $desync desynced, $other not HTTP"
	[ "$TG_CALLS_LINES" -gt 1000 ] ||
		tg_fail "expected thousands of requests in gw's access log, got $TG_CALLS_LINES"
	tg_expect_eq calls "$TG_CALLS_LINES" "access log lines" "$calls" meter
	[ "$all" -eq "$calls" ] ||
		tg_fail "calls outside the client's row: $all in all, $calls for $TG_CL4"
	[ "$desync" -eq 0 ] || tg_fail "$desync connections lost their HTTP stream"
	[ "$other" -eq 0 ] || tg_fail "$other connections taken for another protocol"
}

# The dump must hold nothing yet: checked right before traffic starts, so
# that every counted byte belongs to the traffic under test.
tg_check_empty()
{
	local rows

	rows=$(tg_dump | jq length) || tg_die "tollgate dump failed"
	[ "$rows" -eq 0 ] ||
		tg_die "meter already counted $rows rows before the traffic: $(tg_dump)"
}

# IP bytes from veth counters. veth counts Ethernet frames (no FCS), so
# every packet carries 14 bytes of Ethernet header, except on its NAPI path
# (GRO enabled on the receiving end, or XDP): there both ends count the
# packet after eth_type_trans() has pulled that header, the IP bytes alone.
# tg_ip_bytes BYTES PACKETS NAPI_PACKETS
tg_ip_bytes()
{
	echo $(($1 - 14 * ($2 - $3)))
}

# tg_dev_delta DEV: the TG_NSTAT fields of tg_snapshot for gw's link DEV,
# snapshot "end" less snapshot "base", in the array TG_DELTA.
tg_dev_delta()
{
	local dev=$1 idx=0 i
	local -a base end

	case $dev in
	"$TG_DEV_GWC" | "$TG_DEV_GWB")
		[ "$dev" = "$TG_DEV_GWB" ] && idx=$TG_NSTAT
		# shellcheck disable=SC2154 # set by tg_snapshot
		read -r -a base <<<"$TG_SNAP_base"
		# shellcheck disable=SC2154
		read -r -a end <<<"$TG_SNAP_end"
		;;
	*)
		[ -n "${TG_DEVSNAP[base/$dev]:-}" ] ||
			tg_die "unknown device $dev"
		read -r -a base <<<"${TG_DEVSNAP[base/$dev]}"
		read -r -a end <<<"${TG_DEVSNAP[end/$dev]}"
		;;
	esac
	TG_DELTA=()
	for ((i = 0; i < TG_NSTAT; i++)); do
		TG_DELTA[i]=$((end[idx + i] - base[idx + i]))
	done
}

# tg_dev_ip_bytes DEV: "RX TX", the IP bytes gw's link DEV received and
# sent between snapshots "base" and "end".
tg_dev_ip_bytes()
{
	tg_dev_delta "$1"
	echo "$(tg_ip_bytes "${TG_DELTA[0]}" "${TG_DELTA[1]}" "${TG_DELTA[6]}")" \
		"$(tg_ip_bytes "${TG_DELTA[2]}" "${TG_DELTA[3]}" "${TG_DELTA[7]}")"
}

# tg_dev_ip_counts DEV: "RX_BYTES RX_PACKETS TX_BYTES TX_PACKETS" of gw's
# link DEV between snapshots "base" and "end", bytes as IP bytes.
tg_dev_ip_counts()
{
	tg_dev_delta "$1"
	echo "$(tg_ip_bytes "${TG_DELTA[0]}" "${TG_DELTA[1]}" "${TG_DELTA[6]}")" \
		"${TG_DELTA[1]}" \
		"$(tg_ip_bytes "${TG_DELTA[2]}" "${TG_DELTA[3]}" "${TG_DELTA[7]}")" \
		"${TG_DELTA[3]}"
}

# tg_check_peer LABEL DUMP_JSON PEER ROLE PORT PROTO DEV
# (PORT may list several ports, comma-separated: the peer's rows are summed)
# Compare the meter's totals for PEER with the delta of DEV's counters in
# gw between snapshots "base" and "end"; rx of gw is the peer's "in".
tg_check_peer()
{
	local label=$1 dump=$2 peer=$3 role=$4 port=$5 proto=$6 dev=$7
	local got bad rxb rxp txb txp
	local -a d m

	tg_dev_delta "$dev"
	d=("${TG_DELTA[@]}")
	rxp=${d[1]}
	rxb=$(tg_ip_bytes "${d[0]}" "$rxp" "${d[6]}")
	txp=${d[3]}
	txb=$(tg_ip_bytes "${d[2]}" "$txp" "${d[7]}")

	got=$(jq -r --arg p "$peer" '[.[] | select(.peer == $p)] |
		"\(length) \(map(.bytes_in) | add // 0) \(map(.packets_in) | add // 0) \(map(.bytes_out) | add // 0) \(map(.packets_out) | add // 0)"' \
		<<<"$dump") || tg_die "cannot parse the dump"
	read -r -a m <<<"$got"

	tg_log "$label: peer $peer, gw/$dev (veth counted ${d[6]} rx and ${d[7]} tx packets on the NAPI path, dropped ${d[4]} rx and ${d[5]} tx):"
	tg_log "    in  (peer->gw): meter ${m[1]} B ${m[2]} pkts, veth rx ${rxb} B ${rxp} pkts"
	tg_log "    out (gw->peer): meter ${m[3]} B ${m[4]} pkts, veth tx ${txb} B ${txp} pkts"
	[ "${m[0]}" -gt 0 ] || tg_fail "$label: no row for peer $peer in the dump"
	tg_expect_eq "$label $peer in bytes" "$rxb" "veth rx" "${m[1]}" meter
	tg_expect_eq "$label $peer in packets" "$rxp" "veth rx" "${m[2]}" meter
	tg_expect_eq "$label $peer out bytes" "$txb" "veth tx" "${m[3]}" meter
	tg_expect_eq "$label $peer out packets" "$txp" "veth tx" "${m[4]}" meter

	# A drop on gw's side of the link happens after the meter counted the
	# packet and before veth did; it would explain a difference, never
	# excuse it.
	[ "${d[4]}" -eq 0 ] && [ "${d[5]}" -eq 0 ] ||
		tg_log "    note: gw/$dev dropped ${d[4]} received and ${d[5]} outgoing packets during the measurement"

	bad=$(jq -c --arg p "$peer" --arg r "$role" --argjson ports "[$port]" \
		--arg proto "$proto" '[.[] | select(.peer == $p and
			(.role != $r or (.port as $x | $ports | index($x) | not) or
			 .proto != $proto))]' \
		<<<"$dump")
	[ "$bad" = "[]" ] ||
		tg_fail "$label $peer: expected every row role=$role port=$port proto=$proto, got $bad"
}

# Rows for peers other than the expected ones, or overflow rows (peer "*",
# printed whenever an overflow bucket is not zero), mean traffic went where
# it should not.
tg_check_only_peers()
{
	local dump=$1 extra

	shift
	extra=$(jq -c --args '[.[] | select(.peer as $p |
		($ARGS.positional | index($p)) | not)]' "$@" <<<"$dump")
	[ "$extra" = "[]" ] ||
		tg_fail "unexpected rows (other peers or overflow): $extra"
}

tg_show_dump()
{
	local line

	while IFS= read -r line; do
		tg_log "    $line"
	done < <(jq -c '.[]' <<<"$1")
}

tg_result()
{
	[ "$TG_FAILED" -eq 0 ] || exit 1
	exit 0
}

# ---------------------------------------------------------------------------
# The ledger

# tg_zone_midnight SECS: a time zone of the test's own, Test/Midnight, in
# a database in the temp dir (TZDIR, exported), whose local midnight is
# SECS seconds from now, at Unix time MIDNIGHT: a fixed offset from UTC,
# to the second (zic takes offsets to the second). Sets MIDNIGHT, OLD_DAY
# and NEW_DAY (the local dates either side of it) and TG_ZONE_PLAN, a copy
# of the jdcloud plan counting days in that zone.
tg_zone_midnight()
{
	local off sign=+ abs hms

	MIDNIGHT=$(($(date +%s) + $1))
	off=$(((86400 - MIDNIGHT % 86400) % 86400))
	[ "$off" -gt 43200 ] && off=$((off - 86400))
	abs=$off
	[ "$abs" -lt 0 ] && sign=- abs=$((-abs))
	hms=$(printf '%s%d:%02d:%02d' "$sign" $((abs / 3600)) \
		$((abs % 3600 / 60)) $((abs % 60)))
	export TZDIR=$TG_TMP/zoneinfo
	printf 'Zone\tTest/Midnight\t%s\t-\tTST\n' "$hms" \
		>"$TG_TMP/midnight.zic"
	zic -d "$TZDIR" "$TG_TMP/midnight.zic" 2>"$TG_TMP/zic.log" ||
		tg_die "zic failed: $(cat "$TG_TMP/zic.log")"
	OLD_DAY=$(TZ=Test/Midnight date -d "@$((MIDNIGHT - 1))" +%F)
	NEW_DAY=$(TZ=Test/Midnight date -d "@$MIDNIGHT" +%F)
	[ "$(TZ=Test/Midnight date -d "@$MIDNIGHT" +%T)" = 00:00:00 ] &&
		[ "$OLD_DAY" != "$NEW_DAY" ] ||
		tg_die "zone Test/Midnight ($hms) has no midnight at $MIDNIGHT"
	tg_log "zone Test/Midnight, UTC$hms: $OLD_DAY ends at $(date -u -d "@$MIDNIGHT" +%T) UTC"
	TG_ZONE_PLAN=$TG_TMP/plan.yaml
	sed 's/^time_zone: .*/time_zone: Test\/Midnight/' \
		deploy/plans/jdcloud.yaml >"$TG_ZONE_PLAN" ||
		tg_die "cannot copy the jdcloud plan"
}

# tg_zone_agent_start: after tg_zone_midnight, start the agent on the
# test configuration with TG_ZONE_PLAN as its plan, and check that its
# ledger counts days in Test/Midnight.
tg_zone_agent_start()
{
	local cfg=$TG_TMP/tollgate.yaml

	tg_agent_config >"$cfg"
	printf 'metrics:\n  plan: %s\n' "$TG_ZONE_PLAN" >>"$cfg"
	tg_agent_start --config "$cfg"
	tg_has_line "$TG_AGENT_LOG" "ledger '$TG_LEDGER': .*days in Test/Midnight" ||
		tg_die "the ledger does not count days in Test/Midnight: $(cat "$TG_AGENT_LOG")"
}

# tg_ledger_export [LEDGER]: the day rows of LEDGER (default TG_LEDGER) as
# JSON lines.
# shellcheck disable=SC2120
tg_ledger_export()
{
	"$TG_BIN" ledger export --ledger "${1:-$TG_LEDGER}" --format jsonl
}

# tg_ledger_sums [LEDGER]: "IN_BYTES IN_PACKETS OUT_BYTES OUT_PACKETS" of
# the ledger over every row: in is the inbound rows, out all the others.
# shellcheck disable=SC2120
tg_ledger_sums()
{
	local rows

	rows=$(tg_ledger_export "$@") || return 1
	jq -rs 'def s(f; k): map(select(f) | .[k]) | add // 0;
		"\(s(.traffic_type == "inbound"; "bytes")) \(s(.traffic_type == "inbound"; "packets")) \(s(.traffic_type != "inbound"; "bytes")) \(s(.traffic_type != "inbound"; "packets"))"' \
		<<<"$rows"
}

# Start of a measurement: links quiet, baseline taken, meter still empty.
# Only what happens after the baseline is compared: setup traffic (MLD
# reports after address assignment) is in the veth counters but belongs to
# no socket. An empty meter after the baseline also proves that nothing
# slipped in between the two readings.
tg_measure_begin()
{
	tg_wait_quiet 1
	tg_snapshot base
	tg_check_empty
	tg_log "baseline taken, meter empty; traffic starts"
}

# End of a measurement: every gateway connection closed, links quiet again,
# then the counters and the dump (in TG_DUMP).
tg_measure_end()
{
	tg_log "traffic done; waiting for gw's connections to close"
	tg_wait_gw_idle
	tg_wait_quiet 1
	tg_snapshot end
	TG_DUMP=$(tg_dump) || tg_die "tollgate dump failed"
	tg_log "links quiet; end values taken"
}

# ---------------------------------------------------------------------------
# PostgreSQL: a cluster of the test's own, in TG_TMP, run by the postgres
# user (nobody when there is none), listening on 127.0.0.1 on a free port
# and on a socket in its directory only. The cleanup trap stops it.

TG_PG_BIN=${TG_PG_BIN:-/usr/lib/postgresql/15/bin}

tg_pg_user()
{
	if id postgres >/dev/null 2>&1; then echo postgres; else echo nobody; fi
}

# A port of the host nobody listens on, for a server of the test's (tests
# run side by side: never a fixed one). It is taken from below the
# ephemeral range: a port in it may become the local port of anyone's
# outgoing connection between this choice and the server's bind, or
# while a test restarts its server on the same port.
tg_free_port()
{
	local lo p

	read -r lo _ </proc/sys/net/ipv4/ip_local_port_range
	[ "${lo:-0}" -gt 12000 ] || lo=32768
	for _ in $(seq 50); do
		p=$((10000 + RANDOM % (lo - 10000)))
		ss -Hltn "sport = :$p" | grep -q . || { echo "$p"; return 0; }
	done
	return 1
}

# tg_pg_init: initdb in TG_TMP/pg and start the server; TG_PG_URL is its
# connection string. Skips when PostgreSQL is not installed.
tg_pg_init()
{
	local u

	[ -x "$TG_PG_BIN/initdb" ] && [ -x "$TG_PG_BIN/pg_ctl" ] ||
		tg_skip "PostgreSQL server binaries not in $TG_PG_BIN (make deps installs postgresql-15)"
	u=$(tg_pg_user)
	TG_PG_DIR=$TG_TMP/pg
	mkdir -p "$TG_PG_DIR" && chown "$u" "$TG_PG_DIR" && chmod 700 "$TG_PG_DIR" ||
		tg_die "cannot make $TG_PG_DIR"
	runuser -u "$u" -- "$TG_PG_BIN/initdb" -D "$TG_PG_DIR/data" -U tollgate \
		--auth=trust -E UTF8 --no-sync >"$TG_TMP/pg-initdb.log" 2>&1 || {
		cat "$TG_TMP/pg-initdb.log" >&2
		tg_skip "initdb failed (see above)"
	}
	cat >>"$TG_PG_DIR/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$TG_PG_DIR'
fsync = off
EOF
	# Another test may bind the free port first: then another one (the
	# last port line of the file wins).
	for _ in 1 2 3; do
		TG_PG_PORT=$(tg_free_port) || tg_die "no free port for PostgreSQL"
		echo "port = $TG_PG_PORT" >>"$TG_PG_DIR/data/postgresql.conf"
		TG_PG_URL="postgresql://tollgate@127.0.0.1:$TG_PG_PORT/postgres"
		tg_pg_start && return 0
	done
	tg_die "PostgreSQL did not start"
}

# Start the test's server (again) and wait until it answers.
tg_pg_start()
{
	runuser -u "$(tg_pg_user)" -- "$TG_PG_BIN/pg_ctl" -D "$TG_PG_DIR/data" \
		-l "$TG_PG_DIR/server.log" -w -t 30 start >/dev/null 2>&1 || {
		cat "$TG_PG_DIR/server.log" >&2
		return 1
	}
}

# Stop the test's server, if it runs: fast shutdown, then immediate.
tg_pg_stop()
{
	[ -n "$TG_PG_DIR" ] && [ -f "$TG_PG_DIR/data/postmaster.pid" ] || return 0
	runuser -u "$(tg_pg_user)" -- "$TG_PG_BIN/pg_ctl" -D "$TG_PG_DIR/data" \
		-m fast -w -t 20 stop >/dev/null 2>&1 ||
		runuser -u "$(tg_pg_user)" -- "$TG_PG_BIN/pg_ctl" \
			-D "$TG_PG_DIR/data" -m immediate -w stop >/dev/null 2>&1
}

# tg_psql SQL: run SQL on the test's server, unaligned, tuples only.
tg_psql()
{
	runuser -u "$(tg_pg_user)" -- "$TG_PG_BIN/psql" -X -q -At \
		-h "$TG_PG_DIR" -p "$TG_PG_PORT" -U tollgate -d postgres \
		-v ON_ERROR_STOP=1 -c "$1"
}
