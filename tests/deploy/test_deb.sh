#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# test_deb.sh - the Debian package installs, removes and purges cleanly.
#
# make deb, then on this machine: dpkg -i puts every file in place, the
# binary runs, /etc/default/tollgate (it may hold a password) is root's
# alone, the conffiles are known to dpkg, postinst made the user
# tollgate (with no systemd running, as here); dpkg -r takes the files and
# keeps an edited conffile, and prerm detaches the meter an agent left
# (on a cgroup of the test's own); dpkg -P takes the rest. Everything the test
# made is gone at the end, on failure too, the user included. Skips when
# not root, or when a tollgate package, binary, user or meter pinned in the
# default directory is already here (removal would take it down).
# Exit codes: 0 pass, 77 skip, other fail.
set -u
cd "$(dirname "$0")/../.." || exit 1
failed=0
installed=0
cg=
agent=
PIN=/sys/fs/bpf/tollgate

log() { printf '[%s] %s\n' "${0##*/}" "$*"; }
fail() { log "FAIL: $*"; failed=1; }
skip() { log "SKIP: $*"; exit 77; }

[ "$(id -u)" -eq 0 ] || skip "needs root (dpkg -i)"
for t in dpkg dpkg-deb dpkg-shlibdeps adduser; do
	command -v $t >/dev/null || skip "missing tool '$t' (apt-get install dpkg-dev adduser)"
done
dpkg-query -W -f='${Status}' tollgate 2>/dev/null | grep -q 'installed' &&
	skip "a tollgate package is installed already"
[ -e /usr/bin/tollgate ] && skip "/usr/bin/tollgate exists already"
getent passwd tollgate >/dev/null && skip "a user tollgate exists already"
[ -e /sys/fs/bpf/tollgate ] &&
	skip "a meter is pinned in /sys/fs/bpf/tollgate: removing the package would detach it"

# dpkg waits for no lock: another engineer's apt-get may hold it a while.
dpkg_retry()
{
	local i out

	for i in $(seq 60); do
		out=$(dpkg "$@" 2>&1) && return 0
		grep -qi 'lock' <<<"$out" || { printf '%s\n' "$out" >&2; return 1; }
		[ "$i" -eq 1 ] && log "dpkg is locked; waiting up to 60s"
		sleep 1
	done
	printf '%s\n' "$out" >&2
	return 1
}

# shellcheck disable=SC2317 # run by the EXIT trap
cleanup()
{
	local rc=$?

	trap - EXIT
	[ -n "$agent" ] && kill -KILL "$agent" 2>/dev/null && wait "$agent" 2>/dev/null
	[ -e "$PIN" ] && [ -x /usr/bin/tollgate ] && /usr/bin/tollgate detach >/dev/null 2>&1
	[ -n "$cg" ] && rmdir "$cg" 2>/dev/null
	[ "$installed" -eq 1 ] && dpkg_retry --purge tollgate >/dev/null
	if getent passwd tollgate >/dev/null; then
		userdel tollgate 2>/dev/null
		getent group tollgate >/dev/null && groupdel tollgate 2>/dev/null
	fi
	rm -rf /var/lib/tollgate
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

make -s deb >/dev/null || { log "FAIL: make deb"; exit 1; }
deb=${OUTPUT:-.output}/tollgate_$(cat VERSION)-1_$(dpkg --print-architecture).deb
[ -f "$deb" ] || { log "FAIL: make deb made no $deb"; exit 1; }
log "built $deb: $(dpkg-deb -f "$deb" Depends)"
dpkg-deb -f "$deb" Depends | grep -q 'libbpf1' ||
	fail "Depends lacks libbpf1: $(dpkg-deb -f "$deb" Depends)"

installed=1
dpkg_retry -i "$deb" >/dev/null || { log "FAIL: dpkg -i $deb"; exit 1; }
files="/usr/bin/tollgate /lib/systemd/system/tollgate.service
/usr/share/man/man8/tollgate.8.gz /usr/lib/sysusers.d/tollgate.conf
/etc/tollgate/tollgate.yaml.example /etc/default/tollgate
/usr/share/tollgate/plans/jdcloud.yaml /usr/share/tollgate/plans/tencent.yaml
/usr/share/doc/tollgate/copyright /usr/share/doc/tollgate/README.md
/usr/share/doc/tollgate/docs/configuration.md"
for f in $files; do
	[ -f "$f" ] || fail "dpkg -i: $f missing"
done
/usr/bin/tollgate --version >/dev/null || fail "the installed tollgate does not run"
# It may hold the fleet ledger's password (TOLLGATE_SHIP).
mode=$(stat -c '%a %U' /etc/default/tollgate)
[ "$mode" = "600 root" ] || fail "/etc/default/tollgate is '$mode', not '600 root'"
conf=$(dpkg-query -W -f='${Conffiles}' tollgate | awk '{ print $1 }' | sort | tr '\n' ' ')
[ "$conf" = "/etc/default/tollgate /etc/tollgate/tollgate.yaml.example " ] ||
	fail "conffiles are '$conf'"
getent passwd tollgate >/dev/null || fail "postinst made no user tollgate"
[ "$(getent passwd tollgate | cut -d: -f7)" != /bin/bash ] ||
	fail "user tollgate has a login shell"
man -w tollgate >/dev/null 2>&1 || log "note: man -w does not find tollgate(8) (no man-db index)"
log "installed: $(dpkg-query -W -f='${Package} ${Version} ${Status}' tollgate)"

# A meter left behind by the agent (in the default pin directory, on a
# cgroup of the test's own), for prerm to take down.
cg2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
if [ -n "$cg2" ] && command -v bpftool >/dev/null && command -v jq >/dev/null; then
	cg=$cg2/tollgate-deb-test.$$
	mkdir "$cg" || fail "cannot make cgroup $cg"
	# Metrics on a free port: 9109 may be taken on a shared machine.
	/usr/bin/tollgate run --cgroup "$cg" --no-summary \
		--listen 127.0.0.1:0 >/dev/null 2>&1 &
	agent=$!
	deadline=$((SECONDS + 30))
	while [ "$SECONDS" -lt "$deadline" ] && [ ! -e $PIN/link_sockops ] &&
		kill -0 "$agent" 2>/dev/null; do
		sleep 0.1
	done
	kill -TERM "$agent"
	wait "$agent"
	agent=
	[ -e $PIN/link_sockops ] || fail "the installed agent left no meter"
else
	log "note: no cgroup2, bpftool or jq: prerm's detach goes untested"
fi

# Remove: the files go, the meter goes, an edited conffile stays.
echo 'TOLLGATE_ARGS="--cgroup /sys/fs/cgroup/edited"' >>/etc/default/tollgate
mkdir -p /var/lib/tollgate && touch /var/lib/tollgate/ledger.db
dpkg_retry -r tollgate >/dev/null || fail "dpkg -r failed"
for f in $files; do
	case $f in
	/etc/*) [ -f "$f" ] || fail "dpkg -r removed the conffile $f" ;;
	*) [ -e "$f" ] && fail "dpkg -r left $f" ;;
	esac
done
dpkg-query -W -f='${Status}' tollgate | grep -q 'config-files' ||
	fail "after dpkg -r the status is $(dpkg-query -W -f='${Status}' tollgate)"
if [ -n "$cg" ]; then
	[ -e $PIN ] && fail "dpkg -r left the meter pinned in $PIN"
	# bpftool prints nothing at all for a cgroup without programs.
	progs=$(bpftool -j cgroup show "$cg" | jq -s 'map(length) | add // 0')
	[ "$progs" = 0 ] || fail "dpkg -r left $progs programs attached to $cg"
	rmdir "$cg" && cg=
fi
log "removed: conffiles kept, meter detached"

dpkg_retry -P tollgate >/dev/null || fail "dpkg -P failed"
installed=0
for f in $files /etc/tollgate /var/lib/tollgate; do
	[ -e "$f" ] && fail "dpkg -P left $f"
done
dpkg-query -W -f='${Status}' tollgate 2>/dev/null | grep -q 'installed' &&
	fail "after dpkg -P the package is still known: $(dpkg-query -W -f='${Status}' tollgate)"
log "purged: nothing left but the user, which Debian keeps (the test removes it)"

[ $failed -eq 0 ] && log PASS
exit $failed
