#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# run-all.sh - run tollgate's test suites and print one closing line.
#
#   tests/run-all.sh [unit|bpf|e2e|fuzz|deploy]...   (default: all of them)
#
# unit: cmocka tests of user-space logic, built with ASan and UBSan.
# bpf:  the real BPF programs on crafted packets (BPF_PROG_TEST_RUN; root).
# e2e:  network namespaces, veth pairs and real servers (root).
# fuzz: the configuration, range-file, ledger-import and price-plan parsers
#       under libFuzzer, the HTTP request counter against http-parser and
#       nghttp2 on the same bytes, and the names a client gives (Host,
#       :authority against nghttp2's HPACK inflater, SNI); FUZZ_TIME
#       seconds a target (20).
# deploy: the systemd unit's hardening, the man page, make install, the
#       Debian package, the Kubernetes manifest;
#       the Prometheus rules, scrape configuration and Grafana dashboard
#       (promtool, jq): valid, and naming only metrics the agent exports.
#
# Cases are counted one by one (cmocka's own totals, one per e2e script);
# a suite that cannot run here is reported as skipped with its reason. The
# exit status is non-zero when anything failed.
set -u
cd "$(dirname "$0")/.."
OUT=${OUTPUT:-.output}
passed=0 failed=0 skipped=0
failures=()

note() { printf '%s\n' "$*"; }

run_cmocka() {	# binary
	local bin=$1 log rc n
	log=$(mktemp)
	"$bin" >"$log" 2>&1
	rc=$?
	cat "$log"
	n=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	passed=$((passed + ${n:-0}))
	n=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	skipped=$((skipped + ${n:-0}))
	n=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	if [ -n "$n" ] && [ "$n" -gt 0 ]; then
		failed=$((failed + n))
		failures+=("$bin")
	elif [ $rc -ne 0 ]; then
		# A crash or sanitizer report before cmocka's summary.
		failed=$((failed + 1))
		failures+=("$bin (exit $rc)")
	fi
	rm -f "$log"
}

suite_cmocka() {	# dir
	local src bin
	for src in tests/"$1"/test_*.c; do
		[ -e "$src" ] || continue
		bin=$OUT/tests/$(basename "${src%.c}")
		if [ ! -x "$bin" ]; then
			note "missing $bin: build it with 'make test'"
			failed=$((failed + 1))
			failures+=("$bin (not built)")
			continue
		fi
		note "== $bin"
		run_cmocka "$bin"
	done
}

# A failed script's FAIL lines and its last lines, kept for the end: a
# CI log that shows only its tail still says why.
why=$(mktemp) || exit 2
trap 'rm -f "$why"' EXIT

suite_scripts() {	# dir
	local t rc log tee_pid i out
	for t in tests/"$1"/test_*.sh; do
		[ -e "$t" ] || continue
		note "== $t"
		log=$(mktemp) || exit 2
		# tee in a process substitution: a server a test left behind
		# holding the output cannot hold up the suite. Its copy is
		# whole once tee has seen the end (5 s at most). The test gets
		# it as its output only, not as one more descriptor.
		exec {out}> >(tee "$log")
		tee_pid=$!
		bash "$t" >&"$out" 2>&1 {out}>&-
		rc=$?
		exec {out}>&-
		for ((i = 0; i < 50; i++)); do
			kill -0 "$tee_pid" 2>/dev/null || break
			sleep 0.1
		done
		case $rc in
		0) passed=$((passed + 1)) ;;
		77) skipped=$((skipped + 1)) ;;
		*)
			failed=$((failed + 1)); failures+=("$t (exit $rc)")
			{
				note "--- $t (exit $rc): its failures, then its last lines"
				grep -a 'FAIL' "$log" | head -n 20
				note "..."
				tail -n 12 "$log"
			} >>"$why"
			;;
		esac
		rm -f "$log"
	done
}

suite_fuzz() {
	local rc
	[ -f tests/fuzz/run.sh ] || return 0
	note "== fuzz"
	bash tests/fuzz/run.sh
	rc=$?
	case $rc in
	0) passed=$((passed + 1)) ;;
	77) skipped=$((skipped + 1)) ;;
	*) failed=$((failed + 1)); failures+=("fuzz (exit $rc)") ;;
	esac
}

suites=("$@")
[ ${#suites[@]} -eq 0 ] && suites=(unit bpf fuzz deploy e2e)
for s in "${suites[@]}"; do
	case $s in
	unit | bpf) suite_cmocka "$s" ;;
	e2e | deploy) suite_scripts "$s" ;;
	fuzz) suite_fuzz ;;
	*) note "run-all.sh: no suite '$s' (unit, bpf, e2e, fuzz, deploy)"; exit 2 ;;
	esac
done

if [ ${#failures[@]} -gt 0 ]; then
	cat "$why"
	note "failed:"
	printf '  %s\n' "${failures[@]}"
fi
note "total: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
