#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# test_unit.sh - deploy/tollgate.service stays hardened.
#
# systemd-analyze verify must accept every directive, and
# systemd-analyze security, offline (no running systemd needed), must rate
# the unit's exposure at 2.0 or lower, and the score the unit's comment
# states must be the one measured. The capabilities the unit grants must
# be exactly the three the agent needs (tests/e2e/test_privdrop.sh shows
# each one is), in the ambient and the bounding set alike. Exit codes: 0
# pass, 77 skip, other fail.
set -u
cd "$(dirname "$0")/../.." || exit 1
UNIT=deploy/tollgate.service
MAX=2.0
WANT_CAPS="CAP_BPF CAP_NET_ADMIN CAP_PERFMON"
failed=0

log() { printf '[%s] %s\n' "${0##*/}" "$*"; }
fail() { log "FAIL: $*"; failed=1; }

command -v systemd-analyze >/dev/null ||
	{ log "SKIP: no systemd-analyze (apt-get install systemd)"; exit 77; }
out=$(systemd-analyze security --offline=true --no-pager "$UNIT" 2>&1)
rc=$?
score=$(sed -n 's/.*[Oo]verall exposure level for [^:]*: \([0-9.]*\).*/\1/p' <<<"$out")
if [ -z "$score" ]; then
	# systemd before 250 has no --offline.
	grep -q -- "--offline" <<<"$out" &&
		{ log "SKIP: this systemd-analyze cannot analyse a unit offline"; exit 77; }
	log "FAIL: no exposure score from systemd-analyze (exit $rc):"
	printf '%s\n' "$out"
	exit 1
fi
grep -v '✓' <<<"$out" | sed 's/  */ /g'
log "exposure $score (at most $MAX)"
awk -v s="$score" -v m="$MAX" 'BEGIN { exit !(s <= m) }' ||
	fail "exposure $score is above $MAX"
stated=$(sed -n 's/^# Exposure (systemd-analyze security): \([0-9.]*\)\..*/\1/p' "$UNIT")
[ "$stated" = "$score" ] ||
	fail "the unit's comment says exposure ${stated:-nothing}, systemd-analyze says $score"

caps() { sed -n "s/^$1=//p" "$UNIT" | tr ' ' '\n' | sort | tr '\n' ' '; }
want=$(tr ' ' '\n' <<<"$WANT_CAPS" | sort | tr '\n' ' ')
for key in AmbientCapabilities CapabilityBoundingSet; do
	got=$(caps "$key")
	[ "$got" = "$want" ] || fail "$key is '$got', expected '$want'"
done
for key in NoNewPrivileges=yes ProtectSystem=strict StateDirectory=tollgate \
	BindPaths=/sys/fs/bpf/tollgate User=tollgate; do
	grep -qx "$key" "$UNIT" || fail "$UNIT lacks $key"
done

# Every directive must be one systemd knows, with a value it takes. The
# binary need not be installed: a copy of the unit starts /bin/true.
tmp=$(mktemp -d /tmp/tollgate-unit.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT
sed 's|^ExecStart=/usr/bin/tollgate |ExecStart=/bin/true |' "$UNIT" >"$tmp/tollgate.service"
out=$(systemd-analyze verify --man=no "$tmp/tollgate.service" 2>&1) ||
	fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify warns: $out"

[ $failed -eq 0 ] && log PASS
exit $failed
