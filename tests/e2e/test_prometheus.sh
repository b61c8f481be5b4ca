#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# test_prometheus.sh - a real Prometheus scrapes the agent's /metrics while
# traffic flows, and what it stored equals the meter's numbers.
#
# - the agent's page, scraped from a running agent, passes
#   'promtool check metrics' (format and lint) with nothing to say, and
#   the rules and dashboard of deploy/prometheus name only its families;
# - Prometheus (Debian's binary, on loopback, temp storage, 1s scrapes)
#   scrapes it while requests flow through the gateway; once traffic has
#   stopped, PromQL sums over the transmit and receive families (bytes and
#   packets) and the calls, in total and per tenant, equal the dump, the
#   dump equals gw's veth counters and the calls gw's access log;
# - other methods get 405 with Allow, other paths 404, garbage and
#   oversized requests errors, and the endpoint keeps serving;
# - 1,000 connections held open at once, half of them dribbling a request
#   byte by byte, never stall collection: the last-collection timestamp
#   keeps advancing while they are open, and Prometheus keeps scraping;
# - users added by a reload (SIGHUP) need basic authentication (bcrypt),
#   wrong passwords get 401;
# - a restart with TLS serves HTTPS, and no counter went backwards across
#   the restart.
# Conditions are functions that tg_wait_for runs, out of shellcheck's sight:
# shellcheck disable=SC2317
# shellcheck source=lib.sh
. "${0%/*}/lib.sh" || exit 1

tg_init nginx curl prometheus promtool socat python3 openssl
tg_topology_setup
tg_cgroup_setup

cfg=$TG_TMP/tollgate.yaml
# tg_write_config [USERS_YAML] [TLS_YAML]
tg_write_config()
{
	cat >"$cfg" <<EOF2
region: region-1
provider: examplecloud
services:
  - port: $TG_GW_PORT
    name: api
    tenant: acme
backends:
  - address: $TG_BE4
    port: $TG_BE_PORT
    name: origin
    tenant: initech
    service: api
metrics:
  max_series: 100
${1:-}
${2:-}
EOF2
}
tg_write_config

tg_agent_start --config "$cfg"
[ -n "$TG_METRICS_PORT" ] || tg_die "the agent did not say where its metrics are: $(cat "$TG_AGENT_LOG")"
url=http://127.0.0.1:$TG_METRICS_PORT/metrics
tg_log "agent serves $url"
tg_be_nginx_start
tg_gw_nginx_start
tg_be_file f 20000

# Prometheus on a free port of loopback. Another test may bind the port
# first, and then answer in its place: the server is taken for ours only
# when it says it stores into our directory. Each start gets a fresh one.
prom_starts=0
prom_start()
{
	prom_starts=$((prom_starts + 1))
	prom_data=$TG_TMP/prom/data.$prom_starts
	prom_port=$(tg_free_port) || tg_die "no free port for Prometheus"
	mkdir -p "$prom_data"
	cat >"$TG_TMP/prom/prometheus.yml" <<EOF2
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: tollgate
    static_configs:
      - targets: ['127.0.0.1:$TG_METRICS_PORT']
EOF2
	prometheus --config.file="$TG_TMP/prom/prometheus.yml" \
		--storage.tsdb.path="$prom_data" \
		--web.listen-address="127.0.0.1:$prom_port" --log.level=warn \
		>"$TG_TMP/prom/log" 2>&1 </dev/null &
	prom_pid=$!
	TG_PIDS+=("$prom_pid")
	prom=http://127.0.0.1:$prom_port
}

# Ours and ready, or gone.
prom_settled()
{
	kill -0 "$prom_pid" 2>/dev/null || return 0
	curl -sf --max-time 2 "$prom/-/ready" >/dev/null &&
		[ "$(curl -sf --max-time 2 "$prom/api/v1/status/flags" |
			jq -r '.data["storage.tsdb.path"]')" = "$prom_data" ]
}

# tg_promql EXPR: the value of the instant query EXPR (one series), or
# "none".
tg_promql()
{
	curl -sS --max-time 5 "$prom/api/v1/query" --data-urlencode "query=$1" |
		jq -r '.data.result[0].value[1] // "none"'
}

# promql_is EXPR VALUE: the instant query EXPR gives VALUE.
promql_is()
{
	[ "$(tg_promql "$1")" = "$2" ]
}

# promql_has EXPR: the instant query EXPR gives a value.
promql_has()
{
	! promql_is "$1" none
}

# prom_scraped_since TIME: Prometheus stored a successful scrape of the
# agent (up 1) taken after TIME (Unix time).
prom_scraped_since()
{
	curl -sS --max-time 5 "$prom/api/v1/query" \
		--data-urlencode 'query=up{job="tollgate"}[1m]' |
		jq -e --argjson t "$1" '[.data.result[0].values[]? |
			select(.[0] > $t and .[1] == "1")] | length > 0' >/dev/null
}

mkdir -p "$TG_TMP/prom"
for attempt in 1 2 3; do
	prom_start
	tg_wait_for 60 "Prometheus ready on $prom" prom_settled ||
		tg_die "Prometheus did not start: $(cat "$TG_TMP/prom/log")"
	kill -0 "$prom_pid" 2>/dev/null && break
	[ "$attempt" -lt 3 ] ||
		tg_die "Prometheus did not start: $(cat "$TG_TMP/prom/log")"
	tg_log "Prometheus exited at start (port $prom_port taken?): $(tail -n 2 "$TG_TMP/prom/log")"
done
tg_log "Prometheus on $prom scrapes every second"

# The agent's real page: format and lint. It answers 503 until the
# agent's first collection.
tg_wait_collection >/dev/null || tg_die "no collection on $url"
page=$(curl -sS --max-time 5 "$url") || tg_die "cannot scrape $url"
lint=$(promtool check metrics <<<"$page" 2>&1) ||
	tg_fail "promtool check metrics failed: $lint"
[ -z "$lint" ] || tg_fail "promtool check metrics: $lint"
tg_log "promtool check metrics: clean ($(grep -c '^tollgate_' <<<"$page") samples)"
# The rules and the dashboard name only families of this page.
echo "$page" >"$TG_TMP/page.txt"
out=$(bash "${0%/*}/../deploy/test_monitoring.sh" "$TG_TMP/page.txt") ||
	tg_fail "deploy/prometheus against the real page: $out"
tg_log "$out"

# Prometheus hands a new target to its scrapers up to about 5 s after it
# says it is ready.
tg_wait_for 60 "scrape of the agent by Prometheus" prom_scraped_since 0 ||
	tg_die "Prometheus never scraped $url: up is '$(tg_promql 'up{job="tollgate"}')'"

tg_measure_begin
t_traffic=$(date +%s.%N)
tg_curl --fail --rate 15/s -o /dev/null \
	"http://$TG_GWC4:$TG_GW_PORT/f?n=[1-60]" ||
	tg_fail "requests through the gateway failed"
tg_wait_for 30 "successful scrape since the traffic began" \
	prom_scraped_since "$t_traffic" ||
	tg_fail "Prometheus: up is '$(tg_promql 'up{job="tollgate"}')' while traffic flows"
tg_measure_end

tg_check_peer prometheus "$TG_DUMP" "$TG_CL4" client "$TG_GW_PORT" tcp "$TG_DEV_GWC"
tg_check_peer prometheus "$TG_DUMP" "$TG_BE4" backend "$TG_BE_PORT" tcp "$TG_DEV_GWB"
tg_check_only_peers "$TG_DUMP" "$TG_CL4" "$TG_BE4"

# tg_dump_sum JQ_FILTER FIELD: sum of FIELD over the dump rows selected.
tg_dump_sum()
{
	jq "[.[] | select($1) | .$2] | add // 0" <<<"$TG_DUMP"
}

# PromQL against the dump, once the agent has collected after the traffic
# and Prometheus has scraped that: poll until equal, at most 60s.
checks=(
	"sum(tollgate_transmit_bytes_total)|true|bytes_out"
	"sum(tollgate_transmit_packets_total)|true|packets_out"
	"sum(tollgate_receive_bytes_total)|true|bytes_in"
	"sum(tollgate_receive_packets_total)|true|packets_in"
	"sum(tollgate_transmit_bytes_total{tenant=\"acme\",role=\"client\",traffic_type=\"outbound_client\"})|.role == \"client\"|bytes_out"
	"sum(tollgate_transmit_bytes_total{tenant=\"initech\",backend=\"origin\",role=\"backend\"})|.role == \"backend\"|bytes_out"
	"sum(tollgate_receive_bytes_total{tenant=\"initech\",traffic_type=\"inbound\"})|.role == \"backend\"|bytes_in"
	"sum(tollgate_api_calls_total)|true|calls"
	"sum(tollgate_api_calls_total{tenant=\"acme\",role=\"client\",traffic_type=\"inbound\"})|.role == \"client\"|calls"
)
for c in "${checks[@]}"; do
	IFS='|' read -r expr sel field <<<"$c"
	want=$(tg_dump_sum "$sel" "$field")
	if tg_wait_for 60 "PromQL $expr = $want" promql_is "$expr" "$want"; then
		tg_log "PromQL $expr = $want = dump"
	else
		tg_fail "PromQL $expr = $(tg_promql "$expr"), dump says $want"
	fi
done
# Calls against the gateway's access log, an independent truth.
n=$(grep -c '" 200 ' "$TG_TMP/gw/logs/access.log")
expr='sum(tollgate_api_calls_total{tenant="acme"})'
tg_wait_for 60 "PromQL $expr = $n" promql_is "$expr" "$n" ||
	tg_fail "PromQL: acme's calls $(tg_promql "$expr"), gw's access log $n"
tg_log "PromQL: acme's calls $(tg_promql "$expr") = gw's access log"
expr='tollgate_rated_cost_month{tenant="acme"}'
tg_wait_for 60 "$expr" promql_has "$expr" ||
	tg_fail "no tollgate_rated_cost_month for acme"
cost=$(tg_promql "$expr")
tg_log "acme's rated cost this month: $cost CNY"

# --- malformed requests --------------------------------------------------

# tg_status ARGS...: the HTTP status curl gets for ARGS.
tg_status()
{
	curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$@"
}

# The endpoint still answers a plain scrape.
tg_still_serving()
{
	local s

	s=$(tg_status "$url")
	[ "$s" = 200 ] || tg_fail "after $1: GET /metrics got $s"
}

s=$(tg_status -X POST -d x=1 "$url")
[ "$s" = 405 ] || tg_fail "POST /metrics: expected 405, got $s"
allow=$(curl -s --max-time 5 -o /dev/null -D - -X DELETE "$url" |
	tr -d '\r' | sed -n 's/^Allow: //Ip')
[ "$allow" = "GET, HEAD" ] || tg_fail "DELETE /metrics: Allow is '$allow'"
s=$(tg_status "http://127.0.0.1:$TG_METRICS_PORT/nope")
[ "$s" = 404 ] || tg_fail "GET /nope: expected 404, got $s"
s=$(tg_status -I "$url")
[ "$s" = 200 ] || tg_fail "HEAD /metrics: expected 200, got $s"
tg_still_serving "405 and 404"

# tg_raw BYTES...: send raw bytes (printf format), print the status line.
tg_raw()
{
	# shellcheck disable=SC2059
	printf "$@" | timeout 5 socat -t 3 - "TCP:127.0.0.1:$TG_METRICS_PORT" 2>/dev/null |
		head -n1 | tr -d '\r'
}

for raw in 'garbage\r\n\r\n' '\x00\x01\x02\xff\xfe\r\n\r\n' \
	'GET /metrics HTTP/9.9\r\n\r\n' 'GET /metrics HTTP/1.1\r\n\r\n' \
	'GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n' \
	'GET /metrics HTTP/1.1\r\nHost\r\n\r\n'; do
	line=$(tg_raw "$raw")
	case $line in
	"HTTP/1.1 4"* | "HTTP/1.1 5"* | "") ;;
	*) tg_fail "raw request '$raw': unexpected answer '$line'" ;;
	esac
	tg_log "raw request '$raw': '${line:-connection closed}'"
	tg_still_serving "raw request '$raw'"
done
line=$(python3 -c 'import sys; sys.stdout.write("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + "a" * 200000 + "\r\n\r\n")' |
	timeout 5 socat -t 3 - "TCP:127.0.0.1:$TG_METRICS_PORT" 2>/dev/null | head -n1 | tr -d '\r')
case $line in
"HTTP/1.1 4"* | "") tg_log "200 KB header: '${line:-connection closed}'" ;;
*) tg_fail "200 KB header: unexpected answer '$line'" ;;
esac
tg_still_serving "a 200 KB header"

# --- 1,000 connections at once --------------------------------------------

ts_metric=tollgate_collection_last_success_timestamp_seconds
tg_last_collection()
{
	curl -s --max-time 5 "$url" | awk -v m="$ts_metric" '$1 == m { printf "%d\n", $2 }'
}

python3 - "$TG_METRICS_PORT" 1000 "$TG_TMP/slow.stop" >"$TG_TMP/slow.log" 2>&1 <<'EOF2' &
# Hold N connections until the file STOP appears (at most 120 s): half
# idle, half sending a request one byte a second (slow loris). They come
# from 127.0.0.2 on, 8 an address, the share the endpoint gives a client.
import os, socket, sys, time
port, n, stop = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
socks = []
for i in range(n):
    src = "127.0.0.%d" % (2 + i // 8)
    s = socket.create_connection(("127.0.0.1", port), timeout=5,
                                 source_address=(src, 0))
    socks.append(s)
print("open", len(socks), flush=True)
req = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100
end = time.time() + 120
k = 0
while time.time() < end and not os.path.exists(stop):
    for s in socks[: n // 2]:
        try:
            s.send(req[k % len(req):k % len(req) + 1])
        except OSError:
            pass
    k += 1
    time.sleep(1)
for s in socks:
    s.close()
print("closed", flush=True)
EOF2
slow_pid=$!
TG_PIDS+=("$slow_pid")
# Open, or failed.
slow_opened()
{
	grep -q '^open' "$TG_TMP/slow.log" || ! kill -0 "$slow_pid" 2>/dev/null
}
tg_wait_for 60 "1000 connections opened" slow_opened
grep -q '^open 1000' "$TG_TMP/slow.log" ||
	tg_fail "could not open 1000 connections: $(cat "$TG_TMP/slow.log")"
t_open=$(date +%s.%N)
# Counted at once: the endpoint closes a connection whose request head
# has not come within 5 s of its accept, which is what the slow ones are.
open=$(ss -Htn state established "dport = :$TG_METRICS_PORT" | wc -l)
t1=$(tg_last_collection)
# Collection advances by 2 s while the connections are open: polled for,
# within 5 s, the time the endpoint gives them to send a request head.
advanced() { t2=$(tg_last_collection) && [ $((t2 - ${t1:-0})) -ge 2 ]; }
t2=
tg_wait_for 5 "collection 2 s after $t1 under 1000 connections" advanced
tg_log "with $open connections open: last collection $t1, then $t2"
[ -n "$t1" ] && [ -n "$t2" ] && [ $((t2 - t1)) -ge 2 ] ||
	tg_fail "collection stalled under 1000 connections: $t1 -> $t2"
[ "$open" -ge 900 ] || tg_fail "only $open of 1000 connections were open during the check"
tg_wait_for 30 "successful scrape with the connections open" \
	prom_scraped_since "$t_open" ||
	tg_fail "Prometheus lost the target under 1000 connections"
touch "$TG_TMP/slow.stop"
wait "$slow_pid"
tg_still_serving "1000 connections"

# --- basic authentication, added by a reload ------------------------------

hash=$(python3 -W ignore -c 'import crypt; print(crypt.crypt("s3cret", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1 << 6)))')
tg_write_config "  users:
    - name: prom
      password_hash: '$hash'"
t_hup=$(date +%s)
kill -HUP "$TG_AGENT_PID"
tg_wait_log "$TG_AGENT_LOG" "reloaded: configuration $cfg" ||
	tg_fail "the reload with users was not logged"
# The agent logs the reload before it hands the users to the server; the
# page it publishes after that shows the reload's time.
reload_served()
{
	curl -sf --max-time 5 -u prom:s3cret "$url" | awk -v t="$t_hup" '
		$1 == "tollgate_config_last_reload_success_timestamp_seconds" &&
		$2 >= t { ok = 1 } END { exit !ok }'
}
tg_wait_for 30 "page published after the reload" reload_served ||
	tg_fail "the reload with users is not in force"
s=$(tg_status "$url")
[ "$s" = 401 ] || tg_fail "no credentials: expected 401, got $s"
curl -s --max-time 5 -o /dev/null -D - "$url" | grep -qi '^WWW-Authenticate: Basic' ||
	tg_fail "401 without a WWW-Authenticate: Basic header"
s=$(tg_status -u prom:wrong "$url")
[ "$s" = 401 ] || tg_fail "wrong password: expected 401, got $s"
s=$(tg_status -u nobody:s3cret "$url")
[ "$s" = 401 ] || tg_fail "unknown user: expected 401, got $s"
for _ in 1 2 3; do
	s=$(tg_status -u prom:s3cret "$url")
	[ "$s" = 200 ] || tg_fail "right password: expected 200, got $s"
done
tg_log "basic authentication: 401 without or with wrong credentials, 200 with them"

# --- a restart with TLS: HTTPS, and no counter went backwards -------------

before=$(curl -s --max-time 5 -u prom:s3cret "$url" |
	awk '/^tollgate_(transmit|receive)_(bytes|packets)_total[{]/ { print $1, $2 }' | sort)
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
	-keyout "$TG_TMP/key.pem" -out "$TG_TMP/cert.pem" >/dev/null 2>&1 ||
	tg_die "openssl cannot make a test certificate"
tg_write_config "" "  tls:
    cert: $TG_TMP/cert.pem
    key: $TG_TMP/key.pem"
tg_agent_stop TERM
tg_agent_start --config "$cfg"
grep -q "metrics on https://127.0.0.1:$TG_METRICS_PORT/metrics" "$TG_AGENT_LOG" ||
	tg_fail "the agent does not say it serves HTTPS: $(cat "$TG_AGENT_LOG")"
surl=https://127.0.0.1:$TG_METRICS_PORT/metrics
tg_wait_collection 0 --cacert "$TG_TMP/cert.pem" >/dev/null ||
	tg_fail "no collection served on $surl"
after=$(curl -s --max-time 5 --cacert "$TG_TMP/cert.pem" "$surl" |
	awk '/^tollgate_(transmit|receive)_(bytes|packets)_total[{]/ { print $1, $2 }' | sort)
[ -n "$after" ] || tg_fail "nothing from $surl"
s=$(tg_status "http://127.0.0.1:$TG_METRICS_PORT/metrics")
[ "$s" = 200 ] && tg_fail "plain HTTP answered 200 on the TLS port"
back=$(join <(echo "$before") <(echo "$after") | awk '$3 < $2')
[ -z "$before" ] && tg_fail "no counters before the restart"
[ -z "$back" ] || tg_fail "counters went backwards across the restart: $back"
tg_log "HTTPS after a restart; $(wc -l <<<"$after") counters, none went backwards"
tg_result
