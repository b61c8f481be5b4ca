#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# test_endpoint_flood.sh - no client can starve the metrics endpoint of
# its scrapes, nor the host of memory, over HTTPS with basic
# authentication.
#
# A real Prometheus scrapes the agent (every 11 s, longer than the server
# keeps an idle connection, so each scrape connects anew; 5 s timeout;
# from 127.0.0.1), and curl too, every second on a new connection, while,
# in turn:
#
# - one client (127.0.0.2) holds 1,100 connections, each sending a header
#   line every 4 s and never ending its request head (slow loris), and
#   opens them again when the server closes them;
# - one client (127.0.0.3) opens 500 connections that each ask for the
#   page 64 times, pipelined, and never read a byte;
# - 200 clients (127.0.1.1-200) hold 1,100 slow-loris connections between
#   them, more than the endpoint takes in total.
#
# Every scrape of each phase must be answered (up is 1, scrape duration
# under its timeout; curl: 200 within 2 s), collection must go on (the last-collection
# timestamp advances), and the bytes queued in the send buffers of the
# endpoint's sockets (ss -m: wmem_queued, which closed sockets keep until
# the kernel gives up on them) may not pass 8 MiB while nobody reads.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh" || exit 1

tg_init curl prometheus python3 openssl
tg_cgroup_setup
flood=${0%/*}/flood.py

openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
	-addext subjectAltName=IP:127.0.0.1 \
	-keyout "$TG_TMP/key.pem" -out "$TG_TMP/cert.pem" >/dev/null 2>&1 ||
	tg_die "openssl cannot make a test certificate"
hash=$(python3 -W ignore -c 'import crypt; print(crypt.crypt("s3cret", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1 << 10)))')
cat >"$TG_TMP/tollgate.yaml" <<EOF
region: region-1
provider: examplecloud
metrics:
  tls:
    cert: $TG_TMP/cert.pem
    key: $TG_TMP/key.pem
  users:
    - name: prom
      password_hash: '$hash'
EOF
tg_agent_start --config "$TG_TMP/tollgate.yaml"
[ -n "$TG_METRICS_PORT" ] || tg_die "no metrics port: $(cat "$TG_AGENT_LOG")"
url=https://127.0.0.1:$TG_METRICS_PORT/metrics
scrape() { curl -s --max-time 5 --cacert "$TG_TMP/cert.pem" -u prom:s3cret "$@" "$url"; }
[ "$(scrape -o /dev/null -w '%{http_code}')" = 200 ] ||
	tg_die "no scrape of $url before the floods"

prom_port=$(tg_free_port) || tg_die "no free port for Prometheus"
prom_every=11
mkdir -p "$TG_TMP/prom/data"
cat >"$TG_TMP/prom/prometheus.yml" <<EOF
global:
  scrape_interval: ${prom_every}s
  scrape_timeout: 5s
scrape_configs:
  - job_name: tollgate
    scheme: https
    tls_config:
      ca_file: $TG_TMP/cert.pem
    basic_auth:
      username: prom
      password: s3cret
    static_configs:
      - targets: ['127.0.0.1:$TG_METRICS_PORT']
EOF
prometheus --config.file="$TG_TMP/prom/prometheus.yml" \
	--storage.tsdb.path="$TG_TMP/prom/data" \
	--web.listen-address="127.0.0.1:$prom_port" --log.level=warn \
	>"$TG_TMP/prom/log" 2>&1 </dev/null &
TG_PIDS+=($!)
prom=http://127.0.0.1:$prom_port
for _ in $(seq 100); do
	curl -sf --max-time 1 "$prom/-/ready" >/dev/null && break
	sleep 0.1
done
curl -sf --max-time 1 "$prom/-/ready" >/dev/null ||
	tg_die "Prometheus did not start: $(cat "$TG_TMP/prom/log")"

# tg_prom_last: the time of Prometheus's last stored scrape of the agent
# and its up value, "TIME UP"; nothing before the first.
tg_prom_last()
{
	curl -sS --max-time 5 "$prom/api/v1/query" \
		--data-urlencode 'query=up{job="tollgate"}[1m]' |
		jq -r '.data.result[0].values[-1] // empty | "\(.[0]) \(.[1])"'
}
# Conditions that tg_wait_for runs, out of shellcheck's sight:
# shellcheck disable=SC2317
prom_scraped() { [ "$(tg_prom_last | cut -d' ' -f2)" = 1 ]; }
# prom_stored_until T: every scrape that began by T (Unix time) is stored:
# the last stored one began less than a scrape interval before T (the
# next one begins an interval after it), or after T.
# shellcheck disable=SC2317
prom_stored_until()
{
	local last

	last=$(tg_prom_last | cut -d' ' -f1)
	[ -n "$last" ] &&
		awk -v l="$last" -v t="$1" -v e="$prom_every" 'BEGIN { exit !(l + e > t) }'
}

# Prometheus hands a new target to its scrapers a few seconds after it
# says it is ready; the floods begin once it has scraped the agent.
tg_wait_for 30 "scrape of the agent by Prometheus" prom_scraped ||
	tg_die "Prometheus did not scrape the agent: last '$(tg_prom_last)'"

ts_metric=tollgate_collection_last_success_timestamp_seconds
last_collection()
{
	scrape | awk -v m="$ts_metric" '$1 == m { printf "%d\n", $2 }'
}

# tg_scrapes FROM TO: Prometheus's scrapes of the agent between the Unix
# times FROM and TO: "answered total slowest_seconds".
tg_scrapes()
{
	local win=$(($2 - $1)) up dur

	up=$(curl -sS --max-time 5 "$prom/api/v1/query" \
		--data-urlencode "query=up{job=\"tollgate\"}[${win}s]" \
		--data-urlencode "time=$2")
	dur=$(curl -sS --max-time 5 "$prom/api/v1/query" \
		--data-urlencode "query=max_over_time(scrape_duration_seconds{job=\"tollgate\"}[${win}s])" \
		--data-urlencode "time=$2")
	printf '%s %s %s\n' \
		"$(jq '[.data.result[0].values[]? | select(.[1] == "1")] | length' <<<"$up")" \
		"$(jq '[.data.result[0].values[]?] | length' <<<"$up")" \
		"$(jq -r '.data.result[0].value[1] // "none"' <<<"$dur")"
}

# Bytes queued for sending on the endpoint's sockets, all states.
tg_queued()
{
	ss -Htnm state all "sport = :$TG_METRICS_PORT" |
		sed -n 's/.*skmem:([^)]*,w\([0-9]*\),.*/\1/p' |
		awk '{ s += $1 } END { print s + 0 }'
}

# tg_phase NAME SECS MODE SOURCES N [FLAGS]: run flood.py for SECS
# seconds; check the scrapes from the flood's start to its end, collection,
# and the peak of the bytes queued on the endpoint's sockets. Every check
# holds for the whole flood, its first connections included: the window
# does not wait for the flood to build up.
tg_phase()
{
	local name=$1 secs=$2 pid t0 t1 c0 c1 mem peak=0 ok total slow
	local pok ptotal pslow

	shift 2
	t0=$(date +%s)
	c0=$(last_collection)
	: >"$TG_TMP/probe.$name.log"
	python3 "$flood" "$1" "$TG_METRICS_PORT" "$2" "$3" "$secs" --tls \
		"${@:4}" >"$TG_TMP/flood.$name.log" 2>&1 &
	pid=$!
	TG_PIDS+=("$pid")
	while kill -0 "$pid" 2>/dev/null; do
		mem=$(tg_queued)
		[ "$mem" -gt "$peak" ] && peak=$mem
		scrape --max-time 2 -o /dev/null -w '%{http_code} %{time_total}\n' \
			>>"$TG_TMP/probe.$name.log"
		sleep 0.5	# paces the probes: not a condition
	done
	t1=$(date +%s)
	wait "$pid"
	read -r pok ptotal pslow < <(awk '$1 == 200 { ok++ } $2 > m { m = $2 }
		END { print ok + 0, NR, m + 0 }' "$TG_TMP/probe.$name.log")
	tg_log "$name: curl: $pok of $ptotal answered, slowest ${pslow}s"
	[ "$pok" = "$ptotal" ] ||
		tg_fail "$name: curl: only $pok of $ptotal scrapes answered within 2 s"
	c1=$(last_collection)
	# A scrape that began before t1 is stored when it ends.
	tg_wait_for 30 "scrapes up to $t1 stored by Prometheus" \
		prom_stored_until "$t1" ||
		tg_fail "$name: Prometheus's last scrape is '$(tg_prom_last)'"
	read -r ok total slow <<<"$(tg_scrapes "$t0" "$t1")"
	tg_log "$name: $ok of $total scrapes answered, slowest ${slow}s;" \
		"at most $((peak / 1024)) KiB queued to send;" \
		"flood: $(paste -sd ';' "$TG_TMP/flood.$name.log")"
	[ "$total" -ge $(((t1 - t0) / prom_every)) ] ||
		tg_fail "$name: Prometheus made only $total scrapes in $((t1 - t0)) s"
	[ "$ok" = "$total" ] ||
		tg_fail "$name: only $ok of $total scrapes answered"
	[ -n "$c0" ] && [ -n "$c1" ] && [ $((c1 - c0)) -ge $(((t1 - t0) / 2)) ] ||
		tg_fail "$name: collection stalled: last collection $c0 -> $c1 in $((t1 - t0)) s"
	[ "$peak" -le $((8 << 20)) ] ||
		tg_fail "$name: $((peak / 1024)) KiB queued to clients that do not read"
}

tg_phase slow-loris 30 slow 127.0.0.2 1100
tg_phase no-readers 30 noread 127.0.0.3 500 --auth prom:s3cret
tg_phase many-clients 30 slow 127.0.1.1-127.0.1.200 1100
grep -E 'cannot|Too many open files' "$TG_AGENT_LOG" &&
	tg_fail "the agent complained during the floods"
[ "$(scrape -o /dev/null -w '%{http_code}')" = 200 ] ||
	tg_fail "no scrape after the floods"
tg_result
