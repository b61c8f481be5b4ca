#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# test_ledger_modes.sh - a ledger holds every tenant's usage: outside
# systemd too (umask 022, no StateDirectoryMode=), no other user may read
# it, whoever made it.
#
# - the agent run as root makes the ledger and its missing directories:
#   directories 0700, ledger.db, -wal and -shm 0600;
# - `tollgate ledger import` as root makes one in a directory every user
#   may enter: 0600, and user nobody can neither read it nor export it;
# - the agent started as root with --user nobody: its new ledger 0600,
#   another user cannot read it, and the agent, no longer root, keeps
#   committing into it;
# - `tollgate ledger import` run as user nobody, in a directory of
#   nobody's: nobody's file, 0600, and another user cannot read it.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh" || exit 1

tg_init setpriv curl
id nobody >/dev/null 2>&1 || tg_skip "no user 'nobody'"
getent passwd 65533 >/dev/null && tg_skip "uid 65533 is taken here"
tg_cgroup_setup
umask 022
NOBODY_GID=$(id -g nobody)
OTHER=(setpriv --reuid=65533 --regid=65533 --clear-groups)
AS_NOBODY=(setpriv --reuid=nobody --regid="$NOBODY_GID" --clear-groups)

# tg_modes WHAT FILE WANT...: FILE and what SQLite makes beside it have
# mode WANT ("600"), and their directory is as given.
tg_mode()
{
	local got

	got=$(stat -c %a "$2" 2>&1)
	[ "$got" = "$3" ] || tg_fail "$1: $2 is mode $got, not $3"
}

# tg_unreadable WHAT FILE WRAP...: the user WRAP runs as cannot read FILE
# nor export it.
tg_unreadable()
{
	local what=$1 f=$2

	shift 2
	if "$@" cat "$f" >/dev/null 2>&1; then
		tg_fail "$what: $* read $f"
	fi
	if "$@" "$TG_BIN" ledger export --ledger "$f" >"$TG_TMP/export.out" 2>&1; then
		tg_fail "$what: $* exported $f: $(head -c 200 "$TG_TMP/export.out")"
	fi
}

record='{"host":"gw9","day":"2024-06-01","tenant":"acme","service":"api","backend":"","traffic_type":"outbound_client","bytes":1000,"packets":2,"calls":1,"unexplained_bytes":0}'
echo "$record" >"$TG_TMP/rec.jsonl"
chmod 644 "$TG_TMP/rec.jsonl"

# --- the agent as root, directories made on the way -------------------------
TG_LEDGER=$TG_TMP/state/tollgate/ledger.db
tg_agent_start
# Every file the ledger has is there once the agent has booked into it.
tg_wait_collection 0 >/dev/null || tg_fail "agent as root: no collection"
tg_mode "agent as root" "$TG_TMP/state" 700
tg_mode "agent as root" "$TG_TMP/state/tollgate" 700
for f in ledger.db ledger.db-wal ledger.db-shm; do
	tg_mode "agent as root" "$TG_TMP/state/tollgate/$f" 600
done
tg_agent_stop
tg_log "agent as root: directories 700, ledger.db, -wal, -shm 600"

# --- ledger import as root, in a directory anyone may enter -------------------
"$TG_BIN" ledger import --ledger "$TG_TMP/imported.db" "$TG_TMP/rec.jsonl" ||
	tg_fail "ledger import as root failed"
tg_mode "import as root" "$TG_TMP/imported.db" 600
tg_unreadable "import as root" "$TG_TMP/imported.db" "${AS_NOBODY[@]}"
tg_log "import as root: 600, nobody can neither read nor export it"

# --- --user nobody --------------------------------------------------------
TG_LEDGER=$TG_TMP/dropped.db
tg_agent_start --user nobody
for f in dropped.db dropped.db-wal dropped.db-shm; do
	tg_mode "--user nobody" "$TG_TMP/$f" 600
done
tg_unreadable "--user nobody" "$TG_TMP/dropped.db" "${OTHER[@]}"
url=http://127.0.0.1:$TG_METRICS_PORT/metrics
commit() { curl -s --max-time 5 "$url" | awk '$1 == "tollgate_ledger_last_commit_timestamp_seconds" { printf "%d\n", $2 }'; }
# commit_after T: the agent has committed after T (Unix time; 0: ever).
# shellcheck disable=SC2317 # run by tg_wait_for
commit_after() { c=$(commit) && [ -n "$c" ] && [ "$c" -gt "$1" ]; }
tg_wait_for 30 "first commit as nobody" commit_after 0
c0=$(commit)
tg_wait_for 30 "commit after $c0 as nobody" commit_after "${c0:-0}"
c1=$(commit)
errors=$(curl -s --max-time 5 "$url" | awk '$1 == "tollgate_ledger_write_errors_total" { print $2 }')
[ -n "$c0" ] && [ -n "$c1" ] && [ "$c1" -gt "$c0" ] && [ "$errors" = 0 ] ||
	tg_fail "--user nobody: commits $c0 -> $c1, $errors write errors"
tg_agent_stop
tg_log "--user nobody: ledger 600, unreadable to others, commits went on ($c0 -> $c1)"

# --- ledger import as nobody ---------------------------------------------
mkdir "$TG_TMP/mine" && chown nobody: "$TG_TMP/mine" && chmod 755 "$TG_TMP/mine" ||
	tg_die "cannot make $TG_TMP/mine"
"${AS_NOBODY[@]}" sh -c 'umask 022 && exec "$@"' sh \
	"$TG_BIN" ledger import --ledger "$TG_TMP/mine/ledger.db" "$TG_TMP/rec.jsonl" ||
	tg_fail "ledger import as nobody failed"
[ "$(stat -c %U "$TG_TMP/mine/ledger.db")" = nobody ] ||
	tg_fail "import as nobody: the ledger is not nobody's"
tg_mode "import as nobody" "$TG_TMP/mine/ledger.db" 600
tg_unreadable "import as nobody" "$TG_TMP/mine/ledger.db" "${OTHER[@]}"
"${AS_NOBODY[@]}" "$TG_BIN" ledger export --ledger "$TG_TMP/mine/ledger.db" |
	grep -q '"tenant":"acme"' || tg_fail "import as nobody: nobody cannot read its own ledger"
tg_log "import as nobody: nobody's, 600, unreadable to another user"
tg_result
