#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# test_monitoring.sh - the monitoring files in deploy/prometheus are valid and speak
# only of metrics the agent exports.
#
#   tests/deploy/test_monitoring.sh [PAGE]
#
# - the scrape configuration passes 'promtool check config' (which checks
#   the rule files it names) and the rules pass 'promtool test rules';
# - the Grafana dashboard is valid JSON with a title, panels and targets;
# - every tollgate_* metric the rules and the dashboard name is one the
#   agent exports: a family of PAGE (a scraped /metrics page, given by the
#   end-to-end test), else one that user/export/metrics.c renders; every name
#   with a colon is a rule's record.
# Exit codes: 0 pass, 77 skip (no promtool or jq), 1 fail.
set -u
cd "$(dirname "$0")/../.." || exit 1
dir=deploy/prometheus
dash=$dir/tollgate-dashboard.json
rules=$dir/tollgate.rules.yml
failed=0

fail() { echo "test_monitoring.sh: FAIL: $*"; failed=1; }

for t in promtool jq; do
	command -v "$t" >/dev/null || { echo "test_monitoring.sh: SKIP: no $t (apt-get install prometheus jq)"; exit 77; }
done

out=$(cd "$dir" && promtool check config prometheus.yml 2>&1) ||
	fail "promtool check config: $out"
out=$(cd "$dir" && promtool test rules tollgate.rules.test.yml 2>&1) ||
	fail "promtool test rules: $out"

jq -e '(.title | length > 0) and (.panels | length > 0) and
	all(.panels[]; (.targets | length > 0) and all(.targets[]; .expr | length > 0))' \
	"$dash" >/dev/null || fail "$dash: not JSON, or a panel without targets"

# The families the agent exports.
if [ $# -gt 0 ]; then
	known=$(sed -n 's/^# TYPE \(tollgate_[a-z_]*\) .*/\1/p' "$1" | sort -u)
	from="the scraped page"
else
	known=$(grep -o '"tollgate_[a-z_]*' user/export/metrics.c | tr -d '"' | sort -u)
	from=user/export/metrics.c
fi
[ -n "$known" ] || fail "no tollgate_ families in $from"
records=$(sed -n 's/^ *- record: *//p' "$rules" | sort -u)

used=$( {
	jq -r '.. | (.expr?, .definition?) // empty | strings' "$dash"
	grep -v 'record:' "$rules" | grep -v '^ *#'
} | grep -oE '[a-zA-Z_:][a-zA-Z0-9_:]*' | grep 'tollgate_' | sort -u)
n=0
for name in $used; do
	n=$((n + 1))
	case $name in
	*:*) grep -qxF "$name" <<<"$records" ||
		fail "'$name' is used but no rule records it" ;;
	*) grep -qxF "$name" <<<"$known" ||
		fail "'$name' is used in $dir but not exported ($from)" ;;
	esac
done
[ "$n" -gt 5 ] || fail "found only $n metric names in the rules and dashboard"
[ "$failed" -eq 0 ] || exit 1
echo "test_monitoring.sh: $n metric names in rules and dashboard, all exported ($from); rules and dashboard valid"
