#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# run.sh - run end-to-end tests one after the other and summarise.
#
#   tests/e2e/run.sh                      # every tests/e2e/test_*.sh
#   tests/e2e/run.sh tests/e2e/test_udp.sh
#
# Run from the project root after 'make'. Each test gets at most
# TG_TEST_TIMEOUT seconds (default 300); on timeout it receives SIGTERM, so
# that its own cleanup runs (SIGINT may be ignored by a background job). Exit status: 0 if nothing failed (skips are
# not failures), 1 otherwise.
set -u

dir=${0%/*}
timeout_s=${TG_TEST_TIMEOUT:-300}
[ $# -gt 0 ] || set -- "$dir"/test_*.sh

pass=0 skip=0 fail=0 failed=""
for t in "$@"; do
	start=$SECONDS
	timeout -s TERM -k 30 "$timeout_s" "$t"
	rc=$?
	took=$((SECONDS - start))
	case $rc in
	0) pass=$((pass + 1)); what=PASS ;;
	77) skip=$((skip + 1)); what=SKIP ;;
	*) fail=$((fail + 1)); what="FAIL ($rc)"; failed+=" ${t##*/}" ;;
	esac
	printf '=== %-22s %s in %ds\n' "${t##*/}" "$what" "$took"
done
printf '=== %d passed, %d skipped, %d failed%s\n' "$pass" "$skip" "$fail" \
	"${failed:+:$failed}"
[ "$fail" -eq 0 ]
