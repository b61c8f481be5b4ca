#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# run.sh - run every libFuzzer target for a bounded time.
#
#   tests/fuzz/run.sh            (FUZZ_TIME seconds each, default 20)
#
# Each target starts from its seed corpus in tests/fuzz/corpus/<target>/,
# with tests/fuzz/<target>.dict when there is one; what it finds goes to
# a scratch copy under $OUTPUT/fuzz/, never into the source tree, and a
# crash leaves its input there too. A crash is a sanitizer report, a
# broken invariant, or a difference from a reference parser (the HTTP
# targets, and the names: fuzz_hpack against nghttp2's HPACK inflater,
# fuzz_names against a ClientHello reader of its own); the target is
# then run again on that input to show its own
# message. The targets' stderr is closed while they fuzz: the parsers
# report every malformed input there. Exit 0 when every target ran clean,
# 77 when libFuzzer is not available here, 1 on a finding.
set -u
cd "$(dirname "$0")/../.."
OUT=${OUTPUT:-.output}
TIME=${FUZZ_TIME:-20}

if ! make -s fuzz-build OUTPUT="$OUT" >/dev/null 2>"$OUT.fuzz-build.log"; then
	if grep -q 'fuzzer' "$OUT.fuzz-build.log"; then
		echo "fuzz: skipped, clang cannot build libFuzzer targets here:"
		head -5 "$OUT.fuzz-build.log"
		rm -f "$OUT.fuzz-build.log"
		exit 77
	fi
	cat "$OUT.fuzz-build.log"
	rm -f "$OUT.fuzz-build.log"
	exit 1
fi
rm -f "$OUT.fuzz-build.log"

# libFuzzer's own lines, around a target's message when it runs one input
noise='^(INFO|Executed|MS:|NOTE|Running:|    #| +Combine|\*\*\*|$)|Running [0-9]+ input'
rc=0
for src in tests/fuzz/fuzz_*.c; do
	t=$(basename "${src%.c}")
	work=$OUT/fuzz/work/$t
	dict=()
	[ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
	mkdir -p "$work" "$OUT/fuzz/crash"
	rm -f "$OUT/fuzz/crash/$t-"*
	echo "fuzz: $t for ${TIME}s"
	if ! "$OUT/fuzz/$t" -max_total_time="$TIME" -timeout=10 \
		-rss_limit_mb=2048 -max_len=16384 -print_final_stats=1 \
		-close_fd_mask=2 "${dict[@]}" \
		-artifact_prefix="$OUT/fuzz/crash/$t-" \
		"$work" "tests/fuzz/corpus/$t" >"$OUT/fuzz/$t.log" 2>&1; then
		echo "fuzz: $t FAILED, see $OUT/fuzz/$t.log:"
		grep -E 'ERROR|SUMMARY|runtime error|Test unit written' \
			"$OUT/fuzz/$t.log" | head -20
		for a in "$OUT/fuzz/crash/$t-"*; do
			[ -f "$a" ] || continue
			echo "fuzz: $OUT/fuzz/$t $a says:"
			"$OUT/fuzz/$t" "$a" 2>&1 | grep -v -E "$noise" |
				head -20 | sed 's/^/  /'
		done
		rc=1
	else
		grep -E '^stat::number_of_executed_units|^Done' \
			"$OUT/fuzz/$t.log" | sed 's/^/  /'
	fi
done
exit $rc
