#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# test_install.sh - make install puts every file where it belongs, never
# over the user's configuration, and make uninstall takes them away again.
#
# Into a DESTDIR under /tmp, with the default prefix and with prefix=/usr:
# the binary runs, the unit starts the installed binary, the example and
# the plans are there, /etc/default/tollgate (it may hold a password) is
# mode 600; a second install over an edited /etc/default/tollgate
# and a tollgate.yaml of the user's leaves both alone; uninstall leaves
# exactly those two. Needs no root. Exit codes: 0 pass, 77 skip, other fail.
set -u
cd "$(dirname "$0")/../.." || exit 1
failed=0

log() { printf '[%s] %s\n' "${0##*/}" "$*"; }
fail() { log "FAIL: $*"; failed=1; }

[ -x ./tollgate ] || { log "FAIL: no ./tollgate: run 'make' first"; exit 1; }
tmp=$(mktemp -d /tmp/tollgate-install.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT

check_prefix()	# prefix unitdir
{
	local prefix=$1 unitdir=$2 d=$tmp/$3 f left

	make -s install DESTDIR="$d" prefix="$prefix" >/dev/null ||
		{ fail "make install prefix=$prefix failed"; return; }
	for f in "$prefix/bin/tollgate" "$prefix/share/man/man8/tollgate.8" \
		"$unitdir/tollgate.service" "$prefix/lib/sysusers.d/tollgate.conf" \
		/etc/tollgate/tollgate.yaml.example /etc/default/tollgate \
		"$prefix/share/tollgate/plans/jdcloud.yaml" \
		"$prefix/share/tollgate/plans/tencent.yaml"; do
		[ -f "$d$f" ] || fail "prefix=$prefix: $f not installed"
	done
	"$d$prefix/bin/tollgate" --version >/dev/null ||
		fail "prefix=$prefix: the installed binary does not run"
	grep -q "^ExecStart=$prefix/bin/tollgate run " "$d$unitdir/tollgate.service" ||
		fail "prefix=$prefix: the unit does not start $prefix/bin/tollgate"
	[ -e "$d/etc/tollgate/tollgate.yaml" ] &&
		fail "prefix=$prefix: install made a tollgate.yaml"
	# It may hold the fleet ledger's password (TOLLGATE_SHIP).
	f=$(stat -c %a "$d/etc/default/tollgate")
	[ "$f" = 600 ] ||
		fail "prefix=$prefix: /etc/default/tollgate is mode $f, not 600"

	# The user's own configuration survives a second install.
	echo 'TOLLGATE_ARGS="--cgroup /sys/fs/cgroup/mine"' >"$d/etc/default/tollgate"
	echo 'region: mine' >"$d/etc/tollgate/tollgate.yaml"
	make -s install DESTDIR="$d" prefix="$prefix" >/dev/null ||
		fail "second make install failed"
	grep -q mine "$d/etc/default/tollgate" ||
		fail "prefix=$prefix: install overwrote /etc/default/tollgate"
	grep -q mine "$d/etc/tollgate/tollgate.yaml" ||
		fail "prefix=$prefix: install overwrote tollgate.yaml"

	make -s uninstall DESTDIR="$d" prefix="$prefix" >/dev/null ||
		fail "make uninstall prefix=$prefix failed"
	left=$(cd "$d" && find . -type f | sort | tr '\n' ' ')
	[ "$left" = "./etc/default/tollgate ./etc/tollgate/tollgate.yaml " ] ||
		fail "prefix=$prefix: after uninstall, expected only the user's configuration, found: $left"
	log "prefix=$prefix: installed, kept the user's configuration, uninstalled"
}

check_prefix /usr/local /usr/local/lib/systemd/system local
check_prefix /usr /usr/lib/systemd/system usr

[ $failed -eq 0 ] && log PASS
exit $failed
