#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# test_dualstack.sh - an IPv4 client of a dual-stack socket is the same
# IPv4 peer, and is metered exactly.
#
# nginx in gw listens on [::]:8082 with ipv6only=off and proxies to the
# backend over IPv6. The client comes over IPv4, so gw's accepted sockets
# are IPv6 sockets with IPv4-mapped addresses (::ffff:10.201.1.1) while the
# packets on the wire are IPv4. The meter keys every address as IPv6 with
# IPv4 mapped into it, so the client must appear as plain 10.201.1.1, with
# 20-byte IPv4 headers counted, exactly as gw's veth saw them; the backend
# side is native IPv6.
. "${0%/*}/lib.sh" || exit 1

tg_init nginx curl
tg_topology_setup
tg_cgroup_setup
tg_agent_start
tg_be_nginx_start
tg_gw_nginx_start
tg_wait_listen "$TG_NS_GW" t "$TG_GW_DUAL_PORT"
tg_be_file big.bin $((10 << 20))
for i in 0 1 2 3; do
	tg_be_file "f$i" $((i * 1000 + 10))
done
url="http://$TG_GWC4:$TG_GW_DUAL_PORT"

tg_measure_begin
tg_curl --fail -o /dev/null "$url/big.bin" || tg_die "download failed"
tg_curl --fail "$url/f{0,1,2,3}?n=[1-25]" >/dev/null ||
	tg_die "keep-alive requests failed"
tg_curl --fail -H 'Connection: close' "$url/f{0,1,2,3}?n=[1-25]" \
	>/dev/null || tg_die "Connection: close requests failed"
tg_measure_end

# nginx itself sees the client as an IPv4-mapped address.
n=$(grep -c "^::ffff:$TG_CL4 .* 200 .*\[$TG_BE6\]:$TG_BE_PORT\$" \
	"$TG_TMP/gw/logs/access.log")
[ "$n" -eq 201 ] ||
	tg_fail "gw access log: expected 201 requests from ::ffff:$TG_CL4 proxied to [$TG_BE6], got $n"

tg_check_peer dualstack "$TG_DUMP" "$TG_CL4" client "$TG_GW_DUAL_PORT" tcp "$TG_DEV_GWC"
tg_check_peer dualstack "$TG_DUMP" "$TG_BE6" backend "$TG_BE_PORT" tcp "$TG_DEV_GWB"
tg_check_only_peers "$TG_DUMP" "$TG_CL4" "$TG_BE6"
tg_result
