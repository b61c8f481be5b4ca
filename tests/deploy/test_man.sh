#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# test_man.sh - tollgate(8) renders without a warning and stays true.
#
# groff with every warning on (-ww) must print nothing; man -l must render
# it; the page must have its sections; every option it names must be one
# that some `tollgate COMMAND --help` knows, and every command of `tollgate
# --help` must be in it. Exit codes: 0 pass, 77 skip, other fail.
set -u
cd "$(dirname "$0")/../.." || exit 1
PAGE=man/tollgate.8
failed=0

log() { printf '[%s] %s\n' "${0##*/}" "$*"; }
fail() { log "FAIL: $*"; failed=1; }

command -v groff >/dev/null ||
	{ log "SKIP: no groff (apt-get install groff-base)"; exit 77; }
[ -x ./tollgate ] || { log "FAIL: no ./tollgate: run 'make' first"; exit 1; }

warn=$(groff -ww -z -man "$PAGE" 2>&1)
[ -z "$warn" ] || fail "groff warns: $warn"
# Wide lines and no hyphenation, so that no option is broken in two.
text=$(LC_ALL=C groff -man -Tascii -P-cbou -rLL=300n -rHY=0 "$PAGE")
if command -v man >/dev/null; then
	warn=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$PAGE" 2>&1 >/dev/null)
	[ -z "$warn" ] || fail "man -l warns: $warn"
fi
for sec in NAME SYNOPSIS DESCRIPTION COMMANDS PRIVILEGES FILES SIGNALS \
	"EXIT STATUS" EXAMPLES "SEE ALSO"; do
	grep -q "^$sec\$" <<<"$text" || fail "no section $sec"
done

# Commands: those `tollgate --help` lists, in the page.
cmds=$(./tollgate --help | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z-]*\)\( .*\)*$/\1/p' | grep -vx help)
for c in $cmds; do
	grep -qE "^       $c( |$)" <<<"$text" || fail "command '$c' is not described"
done
# Options: each --long option in the page must be one some command has.
help=$(./tollgate --help; for c in $cmds; do ./tollgate "$c" --help 2>&1; done)
while read -r o; do
	grep -q -- "$o" <<<"$help" || fail "the page names option $o, which no command has"
done < <(grep -v systemctl <<<"$text" | grep -oE -- '--[a-z][a-z-]+' | sort -u)

[ $failed -eq 0 ] && log PASS
exit $failed
