#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# test_messages.sh - input that holds terminal escape sequences is quoted
# escaped in every message, never raw.
#
# Each command gets a file whose field names or values carry ESC, BEL,
# CSI (U+009B) or a bidirectional override, and its stderr may then hold
# no control byte but the line feeds that end its lines, and must show
# the escape written out (\x1b): a configuration (check-config, run),
# import files in JSON lines and CSV (ledger import), a price plan (rate
# --plan), a file name, a host name and a connection string given on the
# command line.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh" || exit 1

tg_init python3

# tg_clean WHAT FILE: FILE holds no control byte but line feeds, no C1
# control or bidirectional override in UTF-8, and shows \x1b (or \u...).
tg_clean()
{
	local what=$1 f=$2

	if python3 - "$f" <<'EOF'; then
import sys
data = open(sys.argv[1], "rb").read()
bad = [b for b in data if (b < 0x20 and b != 0x0a) or b == 0x7f]
text = data.decode("utf-8", "replace")
bad += [c for c in text if 0x80 <= ord(c) <= 0x9f or 0x202a <= ord(c) <= 0x202e]
sys.exit(0 if bad else 1)
EOF
		tg_fail "$what: raw control bytes in the message: $(od -c "$f" | head -5)"
	fi
	grep -qE '\\x1b|\\u009b|\\u202e|\\x07' "$f" ||
		tg_fail "$what: the escape is not shown: $(cat "$f")"
	tg_log "$what: $(head -n1 "$f")"
}

cd "$TG_TMP" || tg_die "no $TG_TMP"

# A configuration: a setting named with ESC (YAML writes it "\e").
printf 'region: r\nprovider: p\n"\\e[31mRED\\e[0m": 1\n' >esc.yaml
"$TG_BIN" check-config esc.yaml 2>check.err && tg_fail "check-config took esc.yaml"
tg_clean "check-config" check.err
"$TG_BIN" run --config esc.yaml --no-ledger --no-metrics 2>run.err &&
	tg_fail "run took esc.yaml"
tg_clean "run --config" run.err

# Import files: a field named with ESC, a column with CSI and ESC.
printf '{"\\u001b[31mRED\\u001b[0m": 1}\n' >esc.jsonl
"$TG_BIN" ledger import --ledger l.db esc.jsonl 2>import.err &&
	tg_fail "ledger import took esc.jsonl"
tg_clean "ledger import (JSON lines)" import.err
printf 'host,\xc2\x9b2J\033[31mday,tenant,service,backend,traffic_type,bytes,packets,calls,unexplained_bytes\ngw,2024-06-01,t,s,,inbound,1,1,0,0\n' >esc.csv
"$TG_BIN" ledger import --ledger l.db esc.csv 2>csv.err &&
	tg_fail "ledger import took esc.csv"
tg_clean "ledger import (CSV)" csv.err

# A price plan with a setting named with ESC.
printf 'plan: p\ncurrency: CNY\n"\\e]0;owned\\a": 1\n' >esc-plan.yaml
"$TG_BIN" rate --plan "$TG_TMP/esc-plan.yaml" --ledger l.db --month 2024-06 \
	2>plan.err && tg_fail "rate took esc-plan.yaml"
tg_clean "rate --plan" plan.err

# The command line: a file name, a host name, a connection string.
"$TG_BIN" ledger export --ledger "$(printf 'no\033[2Jsuch\342\200\256.db')" \
	2>path.err && tg_fail "ledger export of a missing file"
tg_clean "ledger export --ledger" path.err
"$TG_BIN" run --no-metrics --ledger l2.db --host "$(printf 'gw\033[5m')" \
	2>host.err && tg_fail "run took a host name with ESC"
tg_clean "run --host" host.err
tg_result
