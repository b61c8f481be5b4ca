#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# test_gso.sh - the 100 MB proxied download with GSO and GRO on is metered
# exactly: super-packets are counted as the segments the wire carries.
#
# Same transfer as test_bulk.sh, but with 'tso off gso on gro on' on both
# ends of both links. Then:
# - gw's sockets hand the egress program TCP super-packets of up to 64 KB,
#   cut into MSS-sized segments in software before the veth (no TSO); the
#   kernel builds TCP super-packets whenever GSO is possible, so this half
#   also happens in test_bulk.sh;
# - the veths receive through NAPI and GRO, so gw's ingress program sees
#   coalesced super-packets, which test_bulk.sh never produces.
# The veth counters still count real segments (GRO runs after veth has
# counted), so the meter must reconstruct the segments' headers exactly.
#
# The premise is checked, not assumed: the meter's GSO statistic
# (tg_stats[TG_STAT_GSO]) must rise, and tcpdump must see packets larger
# than the MTU arrive on gw's backend link (GRO at work). If either fails,
# the kernel did not produce the case under test, and the test skips.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh" || exit 1

SIZE=$((100 << 20))
TG_STAT_GSO=5

tg_init nginx curl tcpdump
tg_topology_setup
tg_offloads tso off gso on gro on
tg_show_offloads
tg_cgroup_setup
tg_agent_start
tg_be_nginx_start
tg_gw_nginx_start
tg_be_file big.bin "$SIZE"

tg_measure_begin
gso0=$(tg_stat "$TG_STAT_GSO")
# Up to 20 coalesced packets, bigger than any 1500-byte frame.
ip netns exec "$TG_NS_GW" timeout 60 tcpdump -i "$TG_DEV_GWB" -Q in -nn -c 20 \
	-w "$TG_TMP/gro.pcap" 'greater 1600' 2>"$TG_TMP/tcpdump.log" &
dump_pid=$!
TG_PIDS+=("$dump_pid")
tg_wait_log "$TG_TMP/tcpdump.log" 'listening on' ||
	tg_die "tcpdump did not start"
got=$(tg_curl -o /dev/null -w '%{http_code} %{size_download}' \
	"http://$TG_GWC4:$TG_GW_PORT/big.bin") || tg_die "curl failed"
read -r code size <<<"$got"
[ "$code" = 200 ] && [ "$size" -eq "$SIZE" ] ||
	tg_die "download: expected 200 and $SIZE bytes, got $code and $size"
tg_measure_end

gso=$(($(tg_stat "$TG_STAT_GSO") - gso0))
tg_kill_pid "$dump_pid"
gro=$(tcpdump -r "$TG_TMP/gro.pcap" -nn 2>/dev/null | wc -l)
largest=$(tcpdump -r "$TG_TMP/gro.pcap" -nn 2>/dev/null |
	awk '{ n = $NF + 0; if (n > m) m = n } END { print m + 0 }')
tg_log "meter saw $gso GSO/GRO super-packets; tcpdump saw $gro coalesced packets on gw/$TG_DEV_GWB (largest payload $largest bytes)"

tg_check_peer gso "$TG_DUMP" "$TG_CL4" client "$TG_GW_PORT" tcp "$TG_DEV_GWC"
tg_check_peer gso "$TG_DUMP" "$TG_BE4" backend "$TG_BE_PORT" tcp "$TG_DEV_GWB"
tg_check_only_peers "$TG_DUMP" "$TG_CL4" "$TG_BE4"

# A pass proves something only if the meter was handed super-packets.
if [ "$TG_FAILED" -eq 0 ]; then
	[ "$gso" -gt 0 ] ||
		tg_skip "premise false on this kernel: the meter saw no GSO/GRO super-packet, so this run only repeated test_bulk.sh"
	[ "$gro" -gt 0 ] ||
		tg_skip "premise false on this kernel: veth did not coalesce received packets (no GRO), so the ingress side only repeated test_bulk.sh"
fi
tg_result
