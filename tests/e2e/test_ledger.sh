#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# test_ledger.sh - the agent books into the ledger exactly what crossed
# the wire, though it is killed with SIGKILL at random instants under load
# and started again, many times; and a file that is not a whole ledger is
# refused by name, never read as zeros.
#
# wrk drives keep-alive load through the nginx gateway and a rate-limited
# download keeps one long connection open, while the agent (interval 1 s,
# its ledger in the test's temp dir) is killed with SIGKILL at a random
# instant 0.1-1.6 s after each start and started again at once, KILLS
# times (default 10, TG_LEDGER_KILLS): before, during and after its
# commits. Half way, the configuration gives the frontend port and the
# backend to another tenant and the running agent reloads it (SIGHUP).
# Then, with the links quiet, the ledger's rows summed per direction (in:
# the inbound rows, out: all others) must equal gw's veth counters in IP
# bytes and packets exactly, and the meter's own totals; both tenants have
# rows, nothing is unattributed, the calls booked equal the requests in
# gw's access log, and a clean stop books nothing more.
#
# Last, copies of the ledger that are garbage, empty or truncated are
# refused by 'ledger export', 'rate' and 'run', each naming the file.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh" || exit 1

KILLS=${TG_LEDGER_KILLS:-10}
BIG=$((40 << 20))

tg_init nginx wrk curl
tg_topology_setup
tg_cgroup_setup

cfg=$TG_TMP/tollgate.yaml
# write_config TENANT: the gateway's port and its backend belong to TENANT.
write_config()
{
	cat >"$cfg" <<EOF
region: region-1
provider: examplecloud
services:
  - port: $TG_GW_PORT
    name: api
    tenant: $1
backends:
  - address: $TG_BE4
    port: $TG_BE_PORT
    name: origin
    tenant: $1
    service: api
EOF
}
write_config acme
tg_agent_start --config "$cfg"
tg_be_nginx_start
tg_gw_nginx_start
tg_be_file f 2000
tg_be_file big.bin "$BIG"

tg_measure_begin
sums=$(tg_ledger_sums) || tg_die "cannot export the ledger"
[ "$sums" = "0 0 0 0" ] ||
	tg_die "the ledger holds traffic before the test's: $sums"

# wrk runs until the kills are done (SIGINT ends it; timeout passes the
# signal on), however long a loaded machine takes to restart the agent.
timeout 150 ip netns exec "$TG_NS_CL" wrk -t2 -c8 -d120s \
	"http://$TG_GWC4:$TG_GW_PORT/f" >"$TG_TMP/wrk.out" 2>&1 &
wrk_pid=$!
TG_PIDS+=("$wrk_pid")
tg_curl --limit-rate 2M -o /dev/null -w '%{http_code} %{size_download}\n' \
	"http://$TG_GWC4:$TG_GW_PORT/big.bin" >"$TG_TMP/curl.out" &
curl_pid=$!
TG_PIDS+=("$curl_pid")

deadline=$((SECONDS + 100))
for ((k = 1; k <= KILLS; k++)); do
	[ "$SECONDS" -lt "$deadline" ] ||
		tg_die "only $((k - 1)) of $KILLS kills within 100s"
	kill -0 "$wrk_pid" 2>/dev/null ||
		tg_die "premise: the load ended after $((k - 1)) kills"
	ms=$((100 + RANDOM % 1500))
	# Not a stand-in: a random instant in the agent's life is the point.
	sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
	tg_agent_stop KILL
	[ "$TG_AGENT_RC" -eq 137 ] ||
		tg_fail "kill $k: the agent ended with status $TG_AGENT_RC, not by SIGKILL"
	tg_log "kill $k: SIGKILL $ms ms after the start; $(tg_ledger_sums | awk '{ printf "ledger in %d B, out %d B", $1, $3 }')"
	tg_agent_start --config "$cfg"
	if [ "$k" -eq $((KILLS / 2)) ]; then
		write_config globex
		kill -HUP "$TG_AGENT_PID"
		tg_wait_log "$TG_AGENT_LOG" "reloaded: configuration $cfg" ||
			tg_fail "the agent did not reload its configuration"
		tg_log "configuration reloaded: the traffic is globex's from now on"
	fi
done

kill -INT "$wrk_pid" 2>/dev/null
wait "$wrk_pid"
tg_log "wrk: $(grep -E 'requests in' "$TG_TMP/wrk.out" | sed 's/^ *//')"
for _ in $(seq 600); do
	kill -0 "$curl_pid" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$curl_pid" 2>/dev/null && tg_die "the download did not end within 60s"
wait "$curl_pid"
read -r code size <"$TG_TMP/curl.out"
[ "$code" = 200 ] && [ "$size" -eq "$BIG" ] ||
	tg_die "download: expected 200 and $BIG bytes, got $code and $size"
tg_measure_end

# The truth: what crossed gw's two links, in IP bytes.
read -r c_rxb c_rxp c_txb c_txp <<<"$(tg_dev_ip_counts "$TG_DEV_GWC")"
read -r b_rxb b_rxp b_txb b_txp <<<"$(tg_dev_ip_counts "$TG_DEV_GWB")"
want="$((c_rxb + b_rxb)) $((c_rxp + b_rxp)) $((c_txb + b_txb)) $((c_txp + b_txp))"

# The running agent books the rest within an interval or two.
# shellcheck disable=SC2317 # run by tg_wait_for
booked()
{
	got=$(tg_ledger_sums) || tg_die "cannot export the ledger"
	[ "$got" = "$want" ]
}
tg_wait_for 60 "the ledger booking the veth counters" booked
read -r lib lip lob lop <<<"$got"
read -r wib wip wob wop <<<"$want"
tg_log "after $KILLS kills: ledger in $lib B $lip pkts, out $lob B $lop pkts"
tg_log "                    veth   in $wib B $wip pkts, out $wob B $wop pkts"
tg_expect_eq "ledger in bytes" "$wib" "veth rx" "$lib"
tg_expect_eq "ledger in packets" "$wip" "veth rx" "$lip"
tg_expect_eq "ledger out bytes" "$wob" "veth tx" "$lob"
tg_expect_eq "ledger out packets" "$wop" "veth tx" "$lop"

meter=$(jq -r '"\(map(.bytes_in) | add // 0) \(map(.packets_in) | add // 0) \(map(.bytes_out) | add // 0) \(map(.packets_out) | add // 0)"' \
	<<<"$TG_DUMP")
[ "$meter" = "$got" ] ||
	tg_fail "ledger ($got) and the meter's totals ($meter) differ"
rows=$(tg_ledger_export)
while IFS= read -r line; do
	tg_log "    $line"
done < <(jq -c '[.day, .tenant, .service, .backend, .traffic_type, .bytes, .unexplained_bytes]' <<<"$rows")
for t in acme globex; do
	n=$(jq -s --arg t "$t" '[.[] | select(.tenant == $t and .traffic_type == "outbound_client") | .bytes] | add // 0' <<<"$rows")
	[ "$n" -gt 0 ] || tg_fail "no outbound_client bytes booked for tenant $t"
	n=$(jq -s --arg t "$t" '[.[] | select(.tenant == $t and .backend == "origin" and .traffic_type == "outbound_backend_intranet") | .bytes] | add // 0' <<<"$rows")
	[ "$n" -gt 0 ] || tg_fail "no outbound_backend_intranet bytes booked for tenant $t, backend origin"
done
bad=$(jq -c 'select(.tenant == "" or .service != "api" or .unexplained_bytes != 0 or .host == "")' <<<"$rows")
[ -z "$bad" ] || tg_fail "rows not attributed by the configuration: $bad"
# Every request the gateway logged is one call in the ledger, booked on
# the client's inbound rows, across all the kills.
calls=$(jq -s '[.[].calls] | add // 0' <<<"$rows")
lines=$(wc -l <"$TG_TMP/gw/logs/access.log")
tg_log "calls: ledger $calls, gw's access log $lines lines"
[ "$calls" -eq "$lines" ] ||
	tg_fail "ledger calls: expected $lines (lines of gw's access log), got $calls"
bad=$(jq -c 'select(.calls > 0 and .traffic_type != "inbound")' <<<"$rows")
[ -z "$bad" ] || tg_fail "calls booked on rows other than inbound: $bad"
if grep -h "ledger '" "$TG_TMP"/agent.*.log | grep -v "host .*, days in"; then
	tg_fail "the agent complained about the ledger (above)"
fi

# A clean stop books what the last interval counted: nothing more here.
tg_agent_stop TERM
[ "$TG_AGENT_RC" -eq 0 ] || tg_fail "the agent ended with status $TG_AGENT_RC on SIGTERM"
after=$(tg_ledger_sums)
[ "$after" = "$got" ] || tg_fail "a clean stop changed the ledger: $got -> $after"

# Files that are not a whole ledger: an error naming the file, never an
# empty ledger, from every command that reads one. The agent refuses
# before it attaches anything.
size=$(stat -c %s "$TG_LEDGER")
[ -e "$TG_LEDGER-wal" ] && [ "$(stat -c %s "$TG_LEDGER-wal")" -gt 0 ] &&
	tg_fail "a clean stop left a WAL behind: the copies would not be whole"
head -c $((size / 2)) "$TG_LEDGER" >"$TG_TMP/truncated.db"
head -c 4096 /dev/urandom >"$TG_TMP/garbage.db"
: >"$TG_TMP/empty.db"
month=$(TZ=Asia/Shanghai date +%Y-%m)
for bad in truncated garbage empty; do
	f=$TG_TMP/$bad.db
	out=$("$TG_BIN" ledger export --ledger "$f" 2>&1) &&
		tg_fail "$bad ledger: export succeeded: $out"
	grep -q "ledger '$f'" <<<"$out" ||
		tg_fail "$bad ledger: export's message does not name the file: $out"
	grep -q '"bytes"' <<<"$out" && tg_fail "$bad ledger: export printed rows"
	out=$("$TG_BIN" rate --ledger "$f" --plan jdcloud --month "$month" 2>&1) &&
		tg_fail "$bad ledger: rate succeeded: $out"
	grep -q "ledger '$f'" <<<"$out" ||
		tg_fail "$bad ledger: rate's message does not name the file: $out"
	out=$("$TG_BIN" run --cgroup "$TG_CG" --pin-dir "$TG_PIN-bad" \
		--no-summary --ledger "$f" 2>&1) &&
		tg_fail "$bad ledger: run succeeded: $out"
	grep -q "ledger '$f'" <<<"$out" ||
		tg_fail "$bad ledger: run's message does not name the file: $out"
	if [ -e "$TG_PIN-bad" ]; then
		tg_fail "$bad ledger: run pinned something before refusing"
		"$TG_BIN" detach --pin-dir "$TG_PIN-bad" >/dev/null 2>&1
	fi
	tg_log "$bad ledger refused: $(grep -m1 "ledger '" <<<"$out" | cut -c1-200)"
done
tg_result
