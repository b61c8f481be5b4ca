#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# test_man_options.sh - tollgate(8) describes every command and every
# option the binary's help prints.
#
# For each command of `tollgate --help` (but help itself) the page must
# have an entry in COMMANDS, and every option of `tollgate COMMAND --help`,
# long and short, must be named in that entry (up to the next command's);
# the options of `tollgate --help` must be in the page. test_man.sh checks
# the other way round: every option the page names exists.
# Exit codes: 0 pass, 77 skip, other fail.
set -u
cd "$(dirname "$0")/../.." || exit 1
PAGE=man/tollgate.8
failed=0

log() { printf '[%s] %s\n' "${0##*/}" "$*"; }
fail() { log "FAIL: $*"; failed=1; }

command -v groff >/dev/null ||
	{ log "SKIP: no groff (apt-get install groff-base)"; exit 77; }
[ -x ./tollgate ] || { log "FAIL: no ./tollgate: run 'make' first"; exit 1; }

# As test_man.sh renders it: wide lines, no hyphenation, no overstrike.
text=$(LC_ALL=C groff -man -Tascii -P-cbou -rLL=300n -rHY=0 "$PAGE")
commands=$(sed -n '/^COMMANDS$/,/^[A-Z]/p' <<<"$text")

# The options an --help text lists: "-l, --ledger FILE" gives -l and
# --ledger, "--no-ledger" gives --no-ledger.
options_of() {
	sed -n '/^Options:/,/^$/p' |
		grep -oE -- '^ +(-[A-Za-z], )?--[a-z][a-z-]*' |
		tr -d ' ' | tr ',' '\n'
}

# A word of the page: an option is not part of a longer one.
has_option() {	# text option
	grep -qE -- "(^|[^a-z-])$2([^a-z-]|\$)" <<<"$1"
}

cmds=$(./tollgate --help | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z-]*\)\( .*\)*$/\1/p' | grep -vx help)
[ -n "$cmds" ] || fail "no commands in 'tollgate --help'"
n=0
for o in $(./tollgate --help | options_of); do
	has_option "$text" "$o" || fail "'tollgate --help' option $o is not in the page"
	n=$((n + 1))
done
for c in $cmds; do
	# The command's entry: from its line in COMMANDS to the next command's.
	entry=$(awk -v c="$c" -v all="$cmds" '
		BEGIN { split(all, l, /[ \n]+/); for (i in l) cmd[l[i]] = 1 }
		/^       [a-z][a-z-]*( |$)/ {
			w = $1; if (w in cmd) on = (w == c)
		}
		on' <<<"$commands")
	if [ -z "$entry" ]; then
		fail "command '$c' has no entry in COMMANDS"
		continue
	fi
	for o in $(./tollgate "$c" --help 2>&1 | options_of); do
		case $o in -h | --help) continue ;; esac
		n=$((n + 1))
		has_option "$entry" "$o" ||
			fail "option $o of 'tollgate $c' is not in the page's entry for $c"
	done
done
log "$n options of $(wc -w <<<"$cmds") commands checked"
[ $failed -eq 0 ] && log PASS
exit $failed
