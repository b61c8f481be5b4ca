#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# test_endpoint_auth.sh - wrong passwords cost the endpoint little and
# tell nothing, with a bcrypt hash of cost 12 (about 0.2 s a check).
#
# - an unknown user and a known user with a wrong password are answered
#   in the same time, within noise (medians of 12 requests each, in turn,
#   from addresses of their own so that no allowance runs out);
# - 40 clients at 40 addresses send wrong passwords as fast as they are
#   answered while a good scraper, whose password passed once, scrapes
#   every 0.2 s: every good scrape is answered, in under 0.5 s, and the
#   agent uses at most about one core for it all;
# - 8 clients at one address sending wrong passwords are soon told to
#   come back later (429 with Retry-After), at once;
# - the right password still passes after all that;
# - listening on 0.0.0.0 without users stops the agent before it attaches
#   anything; with metrics.anonymous it serves, warning.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh" || exit 1

tg_init curl python3
tg_cgroup_setup
flood=${0%/*}/flood.py

hash=$(python3 -W ignore -c 'import crypt; print(crypt.crypt("s3cret", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1 << 12)))')
cat >"$TG_TMP/tollgate.yaml" <<EOF
region: region-1
provider: examplecloud
metrics:
  users:
    - name: prom
      password_hash: '$hash'
EOF
tg_agent_start --config "$TG_TMP/tollgate.yaml"
[ -n "$TG_METRICS_PORT" ] || tg_die "no metrics port: $(cat "$TG_AGENT_LOG")"
port=$TG_METRICS_PORT
url=http://127.0.0.1:$port/metrics
s=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' -u prom:s3cret "$url")
[ "$s" = 200 ] || tg_die "the right password: got $s"

# --- the same time for unknown and known users ----------------------------

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# One request of each, in turn, so that a busier moment of the machine
# weighs on both alike.
for i in $(seq 12); do
	python3 "$flood" time "$port" 127.0.2.$i 1 --auth nosuchuser:wrong \
		>>"$TG_TMP/unknown.log"
	python3 "$flood" time "$port" 127.0.3.$i 1 --auth prom:wrong \
		>>"$TG_TMP/known.log"
done
grep -qv ' 401$' "$TG_TMP/unknown.log" "$TG_TMP/known.log" &&
	tg_fail "wrong passwords not all answered 401: $(cat "$TG_TMP/unknown.log" "$TG_TMP/known.log")"
mu=$(awk '{ print $1 }' "$TG_TMP/unknown.log" | median)
mk=$(awk '{ print $1 }' "$TG_TMP/known.log" | median)
tg_log "wrong password: unknown user ${mu} ms, known user ${mk} ms (medians of 12)"
# Within noise: a bcrypt skipped for unknown users would make theirs a
# few milliseconds against some 200.
awk -v a="$mu" -v b="$mk" 'BEGIN {
	d = a > b ? a - b : b - a; m = a > b ? a : b
	exit !(d <= 40 || d <= 0.35 * m) }' ||
	tg_fail "an unknown user is answered in ${mu} ms, a known one in ${mk} ms"

# --- 40 clients with wrong passwords, one good scraper ---------------------

cpu() { awk '{ print $14 + $15 }' "/proc/$TG_AGENT_PID/stat"; }
python3 "$flood" auth "$port" 127.0.4.1-127.0.4.40 40 15 --auth prom:wrong \
	>"$TG_TMP/flood40.log" 2>&1 &
fpid=$!
TG_PIDS+=("$fpid")
# Measured from when all 40 have a request in, not from the start of
# python.
tg_wait_log "$TG_TMP/flood40.log" '^under way' ||
	tg_fail "the 40 clients did not get going"
c0=$(cpu)
t0=$(date +%s.%N)
: >"$TG_TMP/good.log"
while kill -0 "$fpid" 2>/dev/null; do
	curl -s --max-time 5 -o /dev/null -w '%{http_code} %{time_total}\n' \
		-u prom:s3cret "$url" >>"$TG_TMP/good.log"
	sleep 0.2	# the good scraper's pace: not a condition
done
c1=$(cpu)
t1=$(date +%s.%N)
wait "$fpid"
cores=$(awk -v c="$((c1 - c0))" -v hz="$(getconf CLK_TCK)" -v t0="$t0" -v t1="$t1" \
	'BEGIN { printf "%.2f", c / hz / (t1 - t0) }')
read -r ok total slowest < <(awk '$1 == 200 { ok++ } $2 > m { m = $2 }
	END { print ok + 0, NR, m + 0 }' "$TG_TMP/good.log")
tg_log "40 wrong-password clients ($(tail -n1 "$TG_TMP/flood40.log")):" \
	"good scrapes $ok of $total answered, slowest ${slowest}s; agent used $cores cores"
[ "$total" -ge 20 ] || tg_fail "only $total good scrapes made"
[ "$ok" = "$total" ] || tg_fail "only $ok of $total good scrapes answered"
awk -v m="$slowest" 'BEGIN { exit !(m < 0.5) }' ||
	tg_fail "a good scrape took ${slowest}s under the flood"
awk -v c="$cores" 'BEGIN { exit !(c <= 1.3) }' ||
	tg_fail "the agent used $cores cores checking wrong passwords"

# --- one address, 8 clients: told to come back later ---------------------

python3 "$flood" auth "$port" 127.0.0.2 8 5 --auth prom:wrong >"$TG_TMP/flood8.log" 2>&1
tg_log "8 wrong-password clients at one address: $(tail -n1 "$TG_TMP/flood8.log")"
n429=$(sed -n 's/.*status_429 \([0-9]*\).*/\1/p' "$TG_TMP/flood8.log")
n401=$(sed -n 's/.*status_401 \([0-9]*\).*/\1/p' "$TG_TMP/flood8.log")
[ "${n429:-0}" -gt 0 ] || tg_fail "no 429 for one address's wrong passwords"
[ "${n401:-0}" -le 10 ] ||
	tg_fail "one address had ${n401} passwords checked in 5 s"
# A fresh address: the allowance (a burst of 5, and one more every 5 s
# the requests take: a check costs 0.2 s or more), then 429 with a delay.
t0=$(date +%s%N)
for i in $(seq 7); do
	curl -s --max-time 5 -o /dev/null -D - -w '%{http_code}\n' \
		--interface 127.0.0.5 -u prom:wrong "$url" | tr -d '\r' >"$TG_TMP/h.$i"
done
took_ms=$((($(date +%s%N) - t0) / 1000000))
allowed=$((5 + took_ms / 5000))
[ "$allowed" -lt 7 ] ||
	tg_die "7 wrong passwords took ${took_ms} ms: too slow to reach the limit"
codes=$(for i in $(seq 7); do tail -n1 "$TG_TMP/h.$i"; done | tr '\n' ' ')
[[ "$codes" =~ ^(401\ ){5,$allowed}(429\ )+$ ]] ||
	tg_fail "7 wrong passwords from a fresh address in ${took_ms} ms: $codes, expected 5 to $allowed x 401, then 429"
h=$(sed -n 's/^Retry-After: //Ip' "$TG_TMP/h.7")
[ -n "$h" ] && [ "$h" -ge 1 ] && [ "$h" -le 5 ] ||
	tg_fail "429 with Retry-After '$h'"
tg_log "a fresh address: $codes(Retry-After: $h)"

s=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' -u prom:s3cret "$url")
[ "$s" = 200 ] || tg_fail "the right password after the floods: got $s"

# --- beyond loopback without users: refused before attaching -------------

printf 'region: r\nprovider: p\n' >"$TG_TMP/open.yaml"
printf 'region: r\nprovider: p\nmetrics:\n  anonymous: true\n' >"$TG_TMP/anon.yaml"
pin=$TG_PIN-open
timeout 10 "$TG_BIN" run --config "$TG_TMP/open.yaml" --cgroup "$TG_CG" \
	--pin-dir "$pin" --no-ledger --no-summary --listen 0.0.0.0:0 \
	>"$TG_TMP/open.log" 2>&1
rc=$?
if [ -e "$pin" ]; then
	"$TG_BIN" detach --pin-dir "$pin" >/dev/null 2>&1
	rm -rf "$pin"
fi
[ "$rc" = 1 ] && grep -q "refusing to serve 0.0.0.0:0 without authentication" "$TG_TMP/open.log" ||
	tg_fail "0.0.0.0 without users: exit $rc, $(cat "$TG_TMP/open.log")"
[ -e "$pin" ] && tg_fail "0.0.0.0 without users: something was pinned"
tg_log "0.0.0.0 without users: refused, nothing attached"
timeout 5 "$TG_BIN" run --config "$TG_TMP/anon.yaml" --cgroup "$TG_CG" \
	--pin-dir "$pin" --no-ledger --no-summary --listen 0.0.0.0:0 \
	>"$TG_TMP/anon.log" 2>&1
"$TG_BIN" detach --pin-dir "$pin" >/dev/null 2>&1
rm -rf "$pin"
grep -q 'WARNING: serving 0.0.0.0:0 to anyone' "$TG_TMP/anon.log" &&
	grep -q 'metrics on http://0.0.0.0:' "$TG_TMP/anon.log" ||
	tg_fail "0.0.0.0 with metrics.anonymous: $(cat "$TG_TMP/anon.log")"
tg_result
