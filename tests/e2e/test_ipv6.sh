#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# test_ipv6.sh - HTTP over IPv6 through the gateway is metered exactly.
#
# The client reaches nginx in gw on its IPv6 address, and nginx proxies to
# the backend's IPv6 address: a 20 MB download and 200 small requests (half
# on keep-alive, half one connection each). IPv6 headers are 40 bytes, not
# 20, and peers are native IPv6 addresses, not IPv4-mapped ones; the
# meter's totals must still equal gw's veth counters exactly.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh" || exit 1

SIZE=$((20 << 20))

tg_init nginx curl
tg_topology_setup
tg_cgroup_setup
tg_agent_start
tg_be_nginx_start
tg_gw_nginx_start
tg_be_file big.bin "$SIZE"
for i in 0 1 2 3; do
	tg_be_file "f$i" $((i * 1500 + 100))
done
url6="http://[$TG_GWC6]:$TG_GW_PORT/v6"

tg_measure_begin
got=$(tg_curl -g -o /dev/null -w '%{http_code} %{size_download} %{remote_ip}' \
	"$url6/big.bin") || tg_die "curl failed"
read -r code size ip <<<"$got"
[ "$code" = 200 ] && [ "$size" -eq "$SIZE" ] && [ "$ip" = "$TG_GWC6" ] ||
	tg_die "download: expected 200, $SIZE bytes from $TG_GWC6; got $code, $size from $ip"
tg_curl --fail "$url6/f{0,1,2,3}?n=[1-25]" >/dev/null ||
	tg_die "keep-alive requests failed"
tg_curl --fail -H 'Connection: close' "$url6/f{0,1,2,3}?n=[1-25]" \
	>/dev/null || tg_die "Connection: close requests failed"
tg_measure_end

n=$(grep -c "^$TG_CL6 .* 200 .*\[$TG_BE6\]:$TG_BE_PORT\$" "$TG_TMP/gw/logs/access.log")
[ "$n" -eq 201 ] ||
	tg_fail "gw access log: expected 201 requests from $TG_CL6 proxied to [$TG_BE6], got $n"

tg_check_peer ipv6 "$TG_DUMP" "$TG_CL6" client "$TG_GW_PORT" tcp "$TG_DEV_GWC"
tg_check_peer ipv6 "$TG_DUMP" "$TG_BE6" backend "$TG_BE_PORT" tcp "$TG_DEV_GWB"
tg_check_only_peers "$TG_DUMP" "$TG_CL6" "$TG_BE6"
tg_result
