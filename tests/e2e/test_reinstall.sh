#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# test_reinstall.sh - a new ledger never books the past twice.
#
# A package purge removes /var/lib/tollgate, the ledger with it, while the
# pins survive and keep counting; a reinstall starts an agent with a new
# ledger on those pins. The maps counted before that ledger existed, and
# an earlier ledger booked it: the new one takes the counters as its
# starting point and says so. Here: the agent runs, traffic flows, the
# agent stops and its ledger's directory is removed; the agent starts
# again on the same pins with a new ledger at the same path, and more
# traffic flows. The new ledger must hold exactly the second period's
# traffic: gw's veth counters over it, byte for byte, and its calls the
# lines the gateway logged in it. Booking what the maps counted before
# is a choice: an agent started with --book-existing on a third ledger
# books everything the meter counted.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh" || exit 1

tg_init nginx curl
tg_topology_setup
tg_cgroup_setup

state=$TG_TMP/var-lib-tollgate
TG_LEDGER=$state/ledger.db
log=$TG_TMP/gw/logs/access.log

tg_agent_start
tg_be_nginx_start
tg_gw_nginx_start
tg_be_file f 3000
tg_be_file g 70000

# The first install's period.
tg_measure_begin
tg_curl --fail "http://$TG_GWC4:$TG_GW_PORT/f?n=[1-20]" >/dev/null ||
	tg_die "requests failed"
tg_wait_gw_idle
tg_wait_quiet 1
tg_agent_stop TERM
[ "$TG_AGENT_RC" -eq 0 ] || tg_fail "the agent ended with status $TG_AGENT_RC"
read -r first _ <<<"$(tg_ledger_sums)"
tg_log "first ledger: $(tg_ledger_sums) (in B, pkts, out B, pkts)"
[ "$first" -gt 0 ] || tg_die "premise: the first ledger booked nothing"

# Purge: the state directory goes, the pins stay.
rm -rf "$state"
[ -e "$TG_PIN/tg_peer_cnt" ] || tg_die "premise: the pins did not survive"

# Reinstall: a new ledger at the same path, on the same pins. The links
# are quiet: what the veth counts from here on is the second period.
tg_snapshot base
lines0=$(wc -l <"$log")
tg_agent_start
tg_wait_log "$TG_AGENT_LOG" "ledger '[^']*': the pinned maps .* counted [0-9]+ bytes, [0-9]+ packets and 20 calls before this ledger saw them \(it holds no snapshot\): taken as its starting point, not booked" ||
	tg_fail "the new ledger did not say it takes the counters as its starting point"

# The second period.
tg_curl --fail "http://$TG_GWC4:$TG_GW_PORT/g?n=[1-7]" \
	"http://$TG_GWC4:$TG_GW_PORT/f?n=[1-5]" >/dev/null ||
	tg_die "requests failed"
tg_wait_gw_idle
tg_wait_quiet 1
tg_snapshot end
tg_agent_stop TERM
[ "$TG_AGENT_RC" -eq 0 ] || tg_fail "the agent ended with status $TG_AGENT_RC"

read -r c_rxb c_rxp c_txb c_txp <<<"$(tg_dev_ip_counts "$TG_DEV_GWC")"
read -r b_rxb b_rxp b_txb b_txp <<<"$(tg_dev_ip_counts "$TG_DEV_GWB")"
want="$((c_rxb + b_rxb)) $((c_rxp + b_rxp)) $((c_txb + b_txb)) $((c_txp + b_txp))"
got=$(tg_ledger_sums) || tg_die "cannot export the new ledger"
read -r lib lip lob lop <<<"$got"
read -r wib wip wob wop <<<"$want"
tg_log "new ledger: in $lib B $lip pkts, out $lob B $lop pkts"
tg_log "veth, second period: in $wib B $wip pkts, out $wob B $wop pkts"
tg_expect_eq "new ledger in bytes" "$wib" "veth rx, second period" "$lib"
tg_expect_eq "new ledger in packets" "$wip" "veth rx, second period" "$lip"
tg_expect_eq "new ledger out bytes" "$wob" "veth tx, second period" "$lob"
tg_expect_eq "new ledger out packets" "$wop" "veth tx, second period" "$lop"
calls=$(tg_ledger_export | jq -s '[.[].calls] | add // 0')
lines=$(($(wc -l <"$log") - lines0))
tg_expect_eq "new ledger calls" "$lines" "gw access log, second period" "$calls"

# Booking the past is a choice: --book-existing on a third ledger books
# everything the meter counted, both periods.
TG_LEDGER=$TG_TMP/third.db
tg_agent_start --book-existing
tg_agent_stop TERM
dump=$(tg_dump) || tg_die "tollgate dump failed"
meter=$(jq -r '"\(map(.bytes_in) | add // 0) \(map(.packets_in) | add // 0) \(map(.bytes_out) | add // 0) \(map(.packets_out) | add // 0)"' <<<"$dump")
got=$(tg_ledger_sums) || tg_die "cannot export the third ledger"
tg_log "--book-existing: ledger $got, meter $meter"
[ "$got" = "$meter" ] ||
	tg_fail "--book-existing: the ledger ($got) is not what the meter counted ($meter)"
grep -q "taken as its starting point" "$TG_AGENT_LOG" &&
	tg_fail "--book-existing: the agent took the counters as its starting point"
tg_result
