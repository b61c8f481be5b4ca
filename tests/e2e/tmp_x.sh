#!/bin/bash
. "$(dirname "$0")/lib.sh"
tg_init nginx curl
tg_topology_setup
[ -n "${GSO:-}" ] && tg_offloads tso off gso on gro on
tg_cgroup_setup
tg_agent_start
tg_be_nginx_start
tg_gw_nginx_start
tg_be_file big.bin 10000000
tg_curl -o /dev/null "http://$TG_GWC4:$TG_GW_PORT/big.bin"
for i in 0 1 2 3 4 5; do echo "stat $i $(tg_stat $i)"; done
