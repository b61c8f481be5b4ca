#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# test_bulk.sh - a 100 MB download through the gateway is metered exactly.
#
# curl in cl fetches a 100 MB file from the backend nginx in be through the
# nginx proxy in gw. The meter's totals for the client and for the backend
# must equal, to the byte and the packet, what gw's two veths carried.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh" || exit 1

SIZE=$((100 << 20))

tg_init nginx curl
tg_topology_setup
tg_cgroup_setup
tg_agent_start
tg_be_nginx_start
tg_gw_nginx_start
tg_be_file big.bin "$SIZE"

tg_measure_begin
got=$(tg_curl -o /dev/null -w '%{http_code} %{size_download} %{speed_download}' \
	"http://$TG_GWC4:$TG_GW_PORT/big.bin") || tg_die "curl failed"
read -r code size speed <<<"$got"
[ "$code" = 200 ] && [ "$size" -eq "$SIZE" ] ||
	tg_die "download: expected 200 and $SIZE bytes, got $code and $size"
tg_log "downloaded $size bytes at $((${speed%.*} / 1000000)) MB/s"
tg_measure_end

tg_check_peer bulk "$TG_DUMP" "$TG_CL4" client "$TG_GW_PORT" tcp "$TG_DEV_GWC"
tg_check_peer bulk "$TG_DUMP" "$TG_BE4" backend "$TG_BE_PORT" tcp "$TG_DEV_GWB"
tg_check_only_peers "$TG_DUMP" "$TG_CL4" "$TG_BE4"
tg_result
