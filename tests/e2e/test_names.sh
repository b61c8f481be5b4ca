#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# test_names.sh - a shared gateway: two tenants on one cleartext port told
# apart by the Host header, and on one TLS port by the SNI of the
# ClientHello.
#
# The gateway's nginx serves acme.example and *.globex.example on port
# NAMES_PORT (HTTP/1.1), NAMES_H2C_PORT (HTTP/2 with prior knowledge) and
# NAMES_TLS_PORT (TLS, HTTP/1.1 and HTTP/2 by ALPN), each server_name with
# its own access log. The configuration gives each host its own service
# and tenant on the cleartext and TLS ports, and on any port (h2c). Each tenant's clients
# come in phases of their own, so that gw-cl's veth counters of a phase are
# that tenant's client bytes:
#  - acme:   curl with Host: acme.example, then "ACME.example:PORT" (upper
#            case, a port), h2c by curl, then TLS by SNI over HTTP/1.1 and
#            HTTP/2;
#  - globex: wrk with Host: eu.globex.example (a wildcard), h2load on h2c
#            (:authority Huffman-coded, then from HPACK's dynamic table),
#            then TLS by SNI (api.globex.example) over HTTP/1.1 and HTTP/2;
#  - each:   a ClientHello split across TLS records and across the
#            gateway's reads (tlssplit), then HTTP/1.1 requests.
# Then a proxy in front pooling both tenants' requests on shared
# connections (calls exact, total bytes exact, each tenant's responses on
# its own side). Then names of neither tenant: an unknown Host, HTTP/1.0 without Host, and
# TLS without SNI: unknown_service's, the ports' default server's access
# log, and the unknown name listed in tg_unmatched.
# Per tenant, dump --by tenant's calls equal the lines of that server's
# access logs, and its client bytes each way equal the sum of its phases'
# veth truth on gw-cl, less the bytes of connections that sent no request
# (the port's service, unknown_service here, as docs/counting.md says; a
# few hundred bytes a phase at most, and no calls).
# The agent runs with --tls-exported-hooks: SSL_write and SSL_write_ex
# hooked at their own entries, as in a libssl whose common callee of the
# two it does not know (test_tls covers the callee).
# shellcheck source=lib.sh
. "${0%/*}/lib.sh" || exit 1

NAMES_PORT=8090
NAMES_TLS_PORT=8453
NAMES_H2C_PORT=8091

tg_init nginx curl wrk h2load openssl jq ldd
tg_topology_setup
tg_cgroup_setup

libssl=$(ldd "$(command -v nginx)" | awk '/libssl\.so/ { print $3 }')
[ -n "$libssl" ] || tg_skip "this nginx does not use a shared libssl"
cfg=$TG_TMP/tollgate.yaml
cat >"$cfg" <<EOF
region: test
provider: test
tls:
  - library: $libssl
services:
  - port: $NAMES_PORT
    host: acme.example
    name: acme-api
    tenant: acme
  - port: $NAMES_PORT
    host: '*.globex.example'
    name: globex-web
    tenant: globex
  - port: $NAMES_TLS_PORT
    host: acme.example
    name: acme-api
    tenant: acme
  - port: $NAMES_TLS_PORT
    host: '*.globex.example'
    name: globex-web
    tenant: globex
  - host: acme.example
    name: acme-api
    tenant: acme
  - host: '*.globex.example'
    name: globex-web
    tenant: globex
backends:
  - address: $TG_BE4
    port: $TG_BE_PORT
    name: origin
EOF
out=$("$TG_BIN" check-config "$cfg" 2>&1) ||
	tg_die "check-config refused the configuration: $out"

tg_agent_start --config "$cfg" --tls-exported-hooks
tg_be_nginx_start

d=$TG_TMP/tls
mkdir -p "$d"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=gw" \
	-keyout "$d/key.pem" -out "$d/cert.pem" >"$d/openssl.log" 2>&1 ||
	tg_die "openssl could not make a certificate: $(tail -n1 "$d/openssl.log")"
chmod 644 "$d/key.pem"
logs=$TG_TMP/gw/logs
# server NAME LOG [default_server]: a server of the three ports answering
# NAME.
server()
{
	cat <<EOF
	server {
		listen $TG_GWC4:$NAMES_PORT ${3:-};
		listen $TG_GWC4:$NAMES_TLS_PORT ssl http2 ${3:-};
		listen $TG_GWC4:$NAMES_H2C_PORT http2 ${3:-};
		server_name $1;
		ssl_certificate $d/cert.pem;
		ssl_certificate_key $d/key.pem;
		access_log $logs/$2.log tg;
		proxy_http_version 1.1;
		proxy_set_header Connection "";
		proxy_buffering off;
		location / {
			proxy_pass http://be4;
		}
	}
EOF
}
# The ports' default server answers names of neither tenant, and TLS
# without SNI.
TG_GW_HTTP_EXTRA="$(server _ other default_server)
$(server acme.example acme)
$(server '*.globex.example' globex)"
tg_gw_nginx_start
tg_be_file f 3000

# shellcheck disable=SC2317 # run by tg_wait_for
hooked_or_not()
{
	[ "$(grep -c 'tls: process .*: hooked' "$TG_AGENT_LOG")" -ge 3 ] ||
		grep -q 'tls: cannot hook' "$TG_AGENT_LOG"
}
tg_wait_for 30 "nginx's processes hooked" hooked_or_not
grep -q 'tls: cannot hook' "$TG_AGENT_LOG" &&
	tg_skip "uprobes cannot attach here: $(grep 'tls: cannot hook' "$TG_AGENT_LOG" | tail -n1)"
grep 'tls: process .*: hooked' "$TG_AGENT_LOG" | grep -v -q '(6 uprobes)$' &&
	tg_fail "with --tls-exported-hooks, a process not hooked at SSL_write and SSL_write_ex: $(grep 'tls: process' "$TG_AGENT_LOG" | head -n1)"

# What 'classify --host' says of the names the clients send.
for t in "acme ACME.example:443" "globex eu.globex.example" \
	"globex api.globex.example"; do
	read -r tenant name <<<"$t"
	got=$("$TG_BIN" classify --pin-dir "$TG_PIN" --role client \
		--format json --host "$name" "$TG_CL4:$NAMES_PORT" 2>/dev/null |
		jq -r '.[0].tenant') || tg_fail "classify --host $name failed"
	[ "$got" = "$tenant" ] ||
		tg_fail "classify --host $name: tenant '$got', not $tenant"
done

declare -A IN OUT
IN[acme]=0 OUT[acme]=0 IN[globex]=0 OUT[globex]=0 IN[none]=0 OUT[none]=0
first=1
# phase TENANT COMMAND...: COMMAND run in cl, measured alone; its bytes on
# gw-cl added to TENANT's.
phase()
{
	local tenant=$1 rx tx
	shift
	if [ "$first" = 1 ]; then
		tg_measure_begin
		first=0
	else
		tg_wait_quiet 1
		tg_snapshot base
	fi
	"$@" >"$TG_TMP/phase.log" 2>&1 ||
		tg_die "$tenant: '$*' failed: $(tail -n3 "$TG_TMP/phase.log")"
	tg_measure_end
	read -r rx _ tx _ <<<"$(tg_dev_ip_counts "$TG_DEV_GWC")"
	# A connection that named nothing (a client that connected and sent
	# no request) is the port's, here unknown_service: what it
	# carried in the phase is taken out of the tenant's truth.
	read -r uin uout ucalls <<<"$(jq -r '[.[] | select(.role == "client" and .tenant == "")] |
		"\(map(.bytes_in) | add // 0) \(map(.bytes_out) | add // 0) \(map(.calls) | add // 0)"' <<<"$TG_DUMP")"
	uin_d=$((uin - UIN)) uout_d=$((uout - UOUT))
	if [ "$tenant" != none ]; then
		[ "$ucalls" -eq "$UCALLS" ] ||
			tg_fail "$tenant: $((ucalls - UCALLS)) calls of no tenant"
		[ $((uin_d + uout_d)) -le 1000 ] ||
			tg_fail "$tenant: $uin_d and $uout_d bytes of no tenant in one phase"
	fi
	UIN=$uin UOUT=$uout UCALLS=$ucalls
	if [ "$tenant" = none ]; then
		# names of no tenant: all of it is unknown_service's
		uin_d=$rx uout_d=$tx
	fi
	IN[$tenant]=$((IN[$tenant] + rx - uin_d))
	OUT[$tenant]=$((OUT[$tenant] + tx - uout_d))
	IN[none]=$((IN[none] + uin_d))
	OUT[none]=$((OUT[none] + uout_d))
	tg_log "$tenant: $* -> gw-cl rx $rx, tx $tx IP bytes; unknown_service: $uin_d in, $uout_d out"
}
UIN=0 UOUT=0 UCALLS=0
cl() { ip netns exec "$TG_NS_CL" "$@"; }
url=http://$TG_GWC4:$NAMES_PORT/f
tls=https://acme.example:$NAMES_TLS_PORT/f
gtls=https://api.globex.example:$NAMES_TLS_PORT/f
res_a=(--resolve "acme.example:$NAMES_TLS_PORT:$TG_GWC4")
res_g=(--resolve "api.globex.example:$NAMES_TLS_PORT:$TG_GWC4")

phase acme tg_curl --fail -o /dev/null -H 'Host: acme.example' "$url?n=[1-20]"
phase acme tg_curl --fail -o /dev/null -H 'Host: ACME.example:443' "$url?u=[1-7]"
phase globex cl wrk -t1 -c4 -d2s -H 'Host: eu.globex.example' "$url"
h2c=http://$TG_GWC4:$NAMES_H2C_PORT/f
# curl (7.88) cannot reuse an h2c connection: one request a connection.
h2c_curl()
{
	local i
	for i in $(seq "$1"); do
		tg_curl --fail --http2-prior-knowledge -o /dev/null \
			-H 'Host: acme.example' "$h2c?p=$i" || return 1
	done
}
phase acme h2c_curl 6
phase globex cl h2load -n 300 -c 2 -m 4 -H ':authority: eu.globex.example' "$h2c"
phase acme tg_curl --fail -k --http1.1 -o /dev/null "${res_a[@]}" "$tls?t=[1-9]"
phase acme tg_curl --fail -k --http2 -o /dev/null "${res_a[@]}" "$tls?h=[1-11]"
phase globex tg_curl --fail -k --http1.1 -o /dev/null "${res_g[@]}" "$gtls?t=[1-5]"
phase globex tg_curl --fail -k --http2 -o /dev/null "${res_g[@]}" "$gtls?h=[1-13]"

# A ClientHello in pieces (tests/e2e/tlssplit.c): re-framed into three TLS
# records, the second ending inside the SNI's host name, and sent in three
# pieces, each after nginx has read the one before: the helper's bytes all
# acknowledged, and nginx's socket of that connection with nothing left to
# read.
TLSSPLIT=$(pwd)/.output/tests/tlssplit
[ -x "$TLSSPLIT" ] || tg_die "no $TLSSPLIT: run 'make test-build' first"
cat >"$TG_TMP/gw_read.sh" <<EOF
#!/bin/sh
# true when gw's socket of the connection from port \$TG_SPORT has nothing
# left to read
q=\$(ip netns exec $TG_NS_GW ss -Htn state established dport = :\$TG_SPORT |
	awk 'NF { print \$1 }')
[ "\$q" = 0 ]
EOF
chmod +x "$TG_TMP/gw_read.sh"
phase acme cl "$TLSSPLIT" -s acme.example -w "$TG_TMP/gw_read.sh" \
	"$TG_GWC4" "$NAMES_TLS_PORT" acme.example 8
tg_log "$(cat "$TG_TMP/phase.log")"
phase globex cl "$TLSSPLIT" -s api.globex.example -w "$TG_TMP/gw_read.sh" \
	"$TG_GWC4" "$NAMES_TLS_PORT" api.globex.example 6
tg_log "$(cat "$TG_TMP/phase.log")"

# A proxy in front: nginx in cl, one worker with a keep-alive pool to the
# gateway, carries both tenants' requests on shared connections. Calls stay
# per request; the bytes of a connection go, from each request's head on,
# to the service that request names, so each tenant's responses are its
# own: per tenant, the bytes sent are at least the access log's bytes_sent
# of its requests, and the tenants' sum is the veth truth.
ip -n "$TG_NS_CL" link set lo up
pd=$TG_TMP/proxy
mkdir -p "$pd/logs" "$pd/tmp"
cat >"$pd/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $pd/nginx.pid;
error_log $pd/logs/error.log warn;
events { worker_connections 256; }
http {
	access_log off;
	client_body_temp_path $pd/tmp/body;
	proxy_temp_path $pd/tmp/proxy;
	fastcgi_temp_path $pd/tmp/fastcgi;
	uwsgi_temp_path $pd/tmp/uwsgi;
	scgi_temp_path $pd/tmp/scgi;
	upstream gw {
		server $TG_GWC4:$NAMES_PORT;
		keepalive 2;
		keepalive_timeout 120s;
	}
	server {
		listen 127.0.0.1:9000;
		location / {
			proxy_pass http://gw;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_set_header Host \$host;
		}
	}
}
EOF
tg_ns_spawn "$TG_NS_CL" "$pd/logs/stderr.log" nginx -p "$pd" -c "$pd/nginx.conf" \
	-e "$pd/logs/error.log"
tg_wait_listen "$TG_NS_CL" t 9000 "$pd/logs/error.log"
tg_be_file g 30000
# tenant_sums DUMP: "ACME_IN ACME_OUT GLOBEX_IN GLOBEX_OUT NONE_IN NONE_OUT"
tenant_sums()
{
	jq -r '[.[] | select(.role == "client")] as $r |
		[("acme", "globex", "") as $t |
		 ($r | map(select(.tenant == $t)) | (map(.bytes_in) | add // 0),
		  (map(.bytes_out) | add // 0))] | map(tostring) | join(" ")' <<<"$1"
}
# alternate N: N rounds of an acme and a globex request through the proxy.
alternate()
{
	local i
	for i in $(seq "$1"); do
		tg_curl --fail -o /dev/null -H 'Host: acme.example' \
			"http://127.0.0.1:9000/f?r=$i" &&
			tg_curl --fail -o /dev/null -H 'Host: eu.globex.example' \
				"http://127.0.0.1:9000/g?r=$i" || return 1
	done
}
read -r a_in0 a_out0 g_in0 g_out0 n_in0 n_out0 <<<"$(tenant_sums "$TG_DUMP")"
a_lines=$(wc -l <"$logs/acme.log") g_lines=$(wc -l <"$logs/globex.log")
tg_wait_quiet 1
tg_snapshot base
alternate 15 || tg_die "requests through the proxy failed"
# The proxy's pooled connections close with it.
tg_kill_pid "$(cat "$pd/nginx.pid")"
tg_measure_end
read -r rx _ tx _ <<<"$(tg_dev_ip_counts "$TG_DEV_GWC")"
read -r a_in a_out g_in g_out n_in n_out <<<"$(tenant_sums "$TG_DUMP")"
a_in=$((a_in - a_in0)) a_out=$((a_out - a_out0))
g_in=$((g_in - g_in0)) g_out=$((g_out - g_out0))
n_in=$((n_in - n_in0)) n_out=$((n_out - n_out0))
# $bytes_sent is the log line's last field but one
sent() { tail -n +$(($2 + 1)) "$1" | awk '{ s += $(NF - 1) } END { print s + 0 }'; }
a_sent=$(sent "$logs/acme.log" "$a_lines")
g_sent=$(sent "$logs/globex.log" "$g_lines")
tg_log "proxy: gw-cl rx $rx, tx $tx; acme $a_in in, $a_out out (its responses $a_sent); globex $g_in in, $g_out out (its responses $g_sent); unknown_service $n_in in, $n_out out"
tg_expect_eq "proxy: client bytes in, all tenants" "$rx" veth $((a_in + g_in + n_in)) dump
tg_expect_eq "proxy: client bytes out, all tenants" "$tx" veth $((a_out + g_out + n_out)) dump
[ "$a_out" -ge "$a_sent" ] ||
	tg_fail "proxy: acme was sent $a_out bytes, less than its responses' $a_sent"
[ "$g_out" -ge "$g_sent" ] ||
	tg_fail "proxy: globex was sent $g_out bytes, less than its responses' $g_sent"
[ "$a_out" -lt $((a_sent * 2)) ] ||
	tg_fail "proxy: acme was sent $a_out bytes, twice its responses' $a_sent"
# Shared connections indeed: requests moved a connection between tenants.
switched=$(tg_stat "$TG_STAT_NAME_SWITCH")
[ "$switched" -ge 1 ] ||
	tg_fail "proxy: no request moved a connection to the other tenant"
tg_log "proxy: $switched requests moved their connection to the other tenant"
# The checks below take the proxy's bytes as the meter split them.
IN[acme]=$((IN[acme] + a_in)) OUT[acme]=$((OUT[acme] + a_out))
IN[globex]=$((IN[globex] + g_in)) OUT[globex]=$((OUT[globex] + g_out))
IN[none]=$((IN[none] + n_in)) OUT[none]=$((OUT[none] + n_out))
UIN=$((UIN + n_in)) UOUT=$((UOUT + n_out))

# Names of neither tenant: the port's, here unknown_service, and listed.
phase none tg_curl --fail -o /dev/null -H 'Host: nobody.example' "$url?x=[1-3]"
phase none tg_curl --fail --http1.0 -H 'Host:' -o /dev/null "$url?no-host"
phase none tg_curl --fail -k --http1.1 -o /dev/null "https://$TG_GWC4:$NAMES_TLS_PORT/f?no-sni=[1-4]"
unm=$("$TG_BIN" dump --pin-dir "$TG_PIN" --unmatched --format json) ||
	tg_fail "dump --unmatched failed"
[ "$(jq --argjson p "$NAMES_PORT" '[.[] | select(.name == "nobody.example" and .port == $p) | .seen] | add // 0' <<<"$unm")" -eq 3 ] ||
	tg_fail "dump --unmatched: nobody.example not seen 3 times on $NAMES_PORT: $unm"
tg_log "dump --unmatched: $(jq -c . <<<"$unm")"
# The metrics count them, and the proxy's switches, at the next collection.
# shellcheck disable=SC2317 # run by tg_wait_for
names_metrics()
{
	local m
	m=$(curl -sf --max-time 5 "$TG_METRICS_URL") || return 1
	grep -qx "tollgate_names_total{outcome=\"unmatched\"} 3" <<<"$m" &&
		grep -qx "tollgate_names_total{outcome=\"switched\"} $switched" <<<"$m"
}
tg_wait_for 30 "tollgate_names_total: 3 unmatched, $switched switched" \
	names_metrics || tg_fail "metrics: $(curl -sf --max-time 5 "$TG_METRICS_URL" | grep names_total)"

dump=$("$TG_BIN" dump --pin-dir "$TG_PIN" --by tenant --format json 2>/dev/null) ||
	tg_fail "dump --by tenant failed"
tg_log "dump --by tenant: $(jq -c '[.rows[] | {role, tenant, bytes_in, bytes_out, calls}]' <<<"$dump")"
for tenant in acme globex none; do
	calls=$(grep -c '" 200 ' "$logs/${tenant/none/other}.log")
	t=${tenant/none/}
	row=$(jq -c --arg t "$t" '[.rows[] | select(.tenant == $t and .role == "client")] |
		{calls: (map(.calls) | add // 0), in: (map(.bytes_in) | add // 0),
		 out: (map(.bytes_out) | add // 0)}' <<<"$dump")
	tg_expect_eq "$tenant's calls" "$calls" "access log" "$(jq .calls <<<"$row")" dump
	tg_expect_eq "$tenant's client bytes in" "${IN[$tenant]}" "veth" \
		"$(jq .in <<<"$row")" dump
	tg_expect_eq "$tenant's client bytes out" "${OUT[$tenant]}" "veth" \
		"$(jq .out <<<"$row")" dump
done
un=$(jq '[.rows[] | select(.role == "client" and .tenant != "acme" and .tenant != "globex" and .tenant != "") | .bytes_in + .bytes_out + .calls] | add // 0' <<<"$dump")
[ "$un" -eq 0 ] || tg_fail "client usage of another tenant: $(jq -c '.rows' <<<"$dump")"
tg_result
