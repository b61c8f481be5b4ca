#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# test_secrets.sh - the fleet ledger's password never reaches the agent's
# log, its command line or its environment.
#
# - the connection string from TOLLGATE_SHIP, from --ship-file and from
#   --ship: each ships to a PostgreSQL server of the test's own (trust
#   authentication, so any password works) with a password that holds
#   '/' and '?'; the password is in neither the log, nor
#   /proc/PID/cmdline, nor /proc/PID/environ; --ship on the command line
#   and a --ship-file others may read are warned about;
# - strings that do not reach a server, in every form (URI, key=value
#   pairs split by tabs and newlines, sslpassword, a URI libpq refuses
#   and whose reason quotes the password): the log says where the agent
#   ships, never a secret; so does `rate --db`.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh" || exit 1

tg_init python3
tg_cgroup_setup
tg_pg_init
secret='s3cr/t?x'
enc='s3cr%2Ft%3Fx'

# tg_clean WHAT FILE...: none of FILE holds the secret, its URI-encoded
# form or a part of it.
tg_clean()
{
	local what=$1 f

	shift
	for f in "$@"; do
		if grep -aqE 's3cr|%2Ft%3F' "$f"; then
			tg_fail "$what: the password is in $f: $(grep -aE 's3cr|%2Ft%3F' "$f" | tr '\0' ' ' | head -3)"
		fi
	done
}

# tg_proc_clean WHAT: the running agent's command line and environment.
tg_proc_clean()
{
	cp "/proc/$TG_AGENT_PID/cmdline" "$TG_TMP/cmdline"
	cp "/proc/$TG_AGENT_PID/environ" "$TG_TMP/environ"
	tg_clean "$1" "$TG_TMP/cmdline" "$TG_TMP/environ"
}

shipped_rows()
{
	tg_psql "SELECT count(*) FROM tollgate_usage_v1" 2>/dev/null || echo 0
}

url="postgresql://tollgate:$enc@127.0.0.1:$TG_PG_PORT/postgres"

# --- TOLLGATE_SHIP ---------------------------------------------------------
TG_AGENT_WRAP=(env "TOLLGATE_SHIP=$url")
tg_agent_start
TG_AGENT_WRAP=()
tg_wait_log "$TG_AGENT_LOG" "fleet ledger .* connected" ||
	tg_fail "TOLLGATE_SHIP: never connected"
tg_proc_clean TOLLGATE_SHIP
tg_agent_stop
tg_clean TOLLGATE_SHIP "$TG_AGENT_LOG"
grep -q "fleet ledger 'host=127.0.0.1 port=$TG_PG_PORT dbname=postgres user=tollgate password=\*\*\*' connected" "$TG_AGENT_LOG" ||
	tg_fail "TOLLGATE_SHIP: not shown redacted: $(grep 'fleet' "$TG_AGENT_LOG")"
tg_log "TOLLGATE_SHIP: shipped, $(shipped_rows) rows in the fleet table"

# --- --ship-file, readable by others: warned --------------------------------
printf "host=127.0.0.1 port=%s dbname=postgres user=tollgate password='%s'\n" \
	"$TG_PG_PORT" "$secret" >"$TG_TMP/ship"
chmod 644 "$TG_TMP/ship"
tg_agent_start --ship-file "$TG_TMP/ship"
tg_wait_log "$TG_AGENT_LOG" "fleet ledger .* connected" ||
	tg_fail "--ship-file: never connected"
tg_proc_clean --ship-file
tg_agent_stop
tg_clean --ship-file "$TG_AGENT_LOG"
grep -q "ship-file '$TG_TMP/ship': readable by every user" "$TG_AGENT_LOG" ||
	tg_fail "--ship-file: a world-readable file not warned about"
tg_log "--ship-file: shipped, warned about mode 644"

# --- --ship: warned, hidden from the process list ----------------------------
tg_agent_start --ship "$url"
tg_wait_log "$TG_AGENT_LOG" "fleet ledger .* (connected|reachable)" ||
	tg_fail "--ship: never connected"
tg_proc_clean --ship
tr '\0' ' ' <"/proc/$TG_AGENT_PID/cmdline" | grep -q -- "--ship host=127.0.0.1" ||
	tg_fail "--ship: the command line does not show the redacted string: $(tr '\0' ' ' <"/proc/$TG_AGENT_PID/cmdline")"
tg_agent_stop
tg_clean --ship "$TG_AGENT_LOG"
grep -q -- "--ship: a password on the command line" "$TG_AGENT_LOG" ||
	tg_fail "--ship with a password not warned about"
tg_log "--ship: shipped, warned, hidden from /proc/PID/cmdline"

# --- unreachable, every form ------------------------------------------------
i=0
for s in "postgresql://tollgate:$enc@127.0.0.1:1/postgres" \
	"postgresql://tollgate:$secret@127.0.0.1:1/postgres" \
	"$(printf 'host=127.0.0.1\tport=1\npassword=%s\nsslpassword=%s dbname=x' "$secret" "$secret")" \
	"postgresql://127.0.0.1:1/x?password=$enc&sslpassword=$enc" \
	"postgres://tollgate:p%zz$enc@127.0.0.1:1/x"; do
	i=$((i + 1))
	log=$TG_TMP/unreach.$i.log
	timeout 10 "$TG_BIN" run --cgroup "$TG_CG" --pin-dir "$TG_PIN" \
		--interval 1 --no-summary --no-metrics \
		--ledger "$TG_TMP/u$i.db" --ship "$s" >"$log" 2>&1 &
	pid=$!
	for _ in $(seq 50); do
		grep -qE 'fleet ledger.*(unreachable|cannot)' "$log" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	tg_clean "string $i" "$log"
	grep -E 'fleet ledger' "$log" | head -1 | sed "s/^/[string $i] /"
	grep -qE 'fleet ledger' "$log" || tg_fail "string $i: nothing said of the fleet ledger: $(cat "$log")"
	timeout 10 "$TG_BIN" rate --db "$s" --month 2024-06 >"$log" 2>&1
	tg_clean "rate --db, string $i" "$log"
done
tg_result
