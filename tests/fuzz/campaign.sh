#!/usr/bin/env bash
# campaign.sh - long libFuzzer campaigns (`make fuzz-long`), never in CI.
#
#   tests/fuzz/campaign.sh [TARGET...]        every build/fuzz/fuzz_* by default
#   tests/fuzz/campaign.sh --merge [TARGET...]  minimize corpus + seeds into
#                                             tests/fuzz/seeds/TARGET (commit it)
#
# Each target runs at nice 19 until FUZZ_RUNS executions (default 10^8) or
# FUZZ_LONG_SECONDS seconds (default 0: no time limit), FUZZ_JOBS targets at
# a time (default 2), with its corpus build/fuzz/corpus-TARGET (kept between
# campaigns, and between these and the smoke runs of tests/run.sh) plus the
# committed seeds, a 10 s per-input timeout, and artifacts (crash-*, leak-*,
# timeout-*, oom-*) in build/fuzz/artifacts-TARGET/.  libFuzzer stops at the
# first crash; the table then says so.  Logs: build/fuzz/TARGET.long.log.
# The table (also build/fuzz/campaign.tsv): executions, seconds, exec/s,
# edges covered (libFuzzer's "cov"), features ("ft"), corpus size, crashes.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
FUZZ_RUNS=${FUZZ_RUNS:-100000000}
FUZZ_LONG_SECONDS=${FUZZ_LONG_SECONDS:-0}
FUZZ_JOBS=${FUZZ_JOBS:-2}
merge=0
if [ "${1:-}" = "--merge" ]; then merge=1; shift; fi

targets=()
if [ $# -gt 0 ]; then
	for t in "$@"; do targets+=("$BUILD/fuzz/$t"); done
else
	for f in "$BUILD"/fuzz/fuzz_*; do
		[ -x "$f" ] && [[ "$f" != *.d ]] && targets+=("$f")
	done
fi
[ ${#targets[@]} -gt 0 ] || { echo "campaign.sh: no fuzzers in $BUILD/fuzz (make fuzz)" >&2; exit 2; }

if [ $merge = 1 ]; then
	# -merge=1 keeps the smallest set of inputs with the same coverage
	for f in "${targets[@]}"; do
		name=$(basename "$f")
		seeds="tests/fuzz/seeds/$name"
		corpus="$BUILD/fuzz/corpus-$name"
		tmp=$(mktemp -d)
		mkdir -p "$seeds" "$corpus"
		nice -n 19 "$f" -merge=1 "$tmp" "$seeds" "$corpus" > "$BUILD/fuzz/$name.merge.log" 2>&1 ||
			{ echo "$name: merge failed (see $BUILD/fuzz/$name.merge.log)"; rm -rf "$tmp"; continue; }
		rm -f "$seeds"/*
		cp "$tmp"/* "$seeds"/ 2>/dev/null
		rm -rf "$tmp"
		echo "$name: $(ls "$seeds" | wc -l) seeds, $(du -sk "$seeds" | cut -f1) KiB"
	done
	exit 0
fi

run_one() {
	local f=$1 name corpus seeds art log start
	name=$(basename "$f")
	corpus="$BUILD/fuzz/corpus-$name"
	seeds="tests/fuzz/seeds/$name"; [ -d "$seeds" ] || seeds=""
	art="$BUILD/fuzz/artifacts-$name/"
	log="$BUILD/fuzz/$name.long.log"
	mkdir -p "$corpus" "$art"
	start=$(date +%s)
	nice -n 19 "$f" -runs="$FUZZ_RUNS" -max_total_time="$FUZZ_LONG_SECONDS" -timeout=10 \
		-print_final_stats=1 -artifact_prefix="$art" "$corpus" $seeds > "$log" 2>&1
	echo "$(( $(date +%s) - start ))" > "$log.secs"
}

summary() {
	local f=$1 name log execs secs cov ft corp crashes
	name=$(basename "$f")
	log="$BUILD/fuzz/$name.long.log"
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	secs=$(cat "$log.secs" 2>/dev/null || echo 0)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	corp=$(grep -o 'corp: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	crashes=$(ls "$BUILD/fuzz/artifacts-$name/" 2>/dev/null | grep -c -E '^(crash|leak|timeout|oom)-')
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "${execs:-0}" "$secs" \
		"$(( ${execs:-0} / (secs > 0 ? secs : 1) ))" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$crashes"
}

running=0
for f in "${targets[@]}"; do
	if [ $running -ge "$FUZZ_JOBS" ]; then
		wait -n
		running=$((running - 1))
	fi
	run_one "$f" &
	running=$((running + 1))
done
wait

{
	printf 'target\texecs\tseconds\texec/s\tedges\tfeatures\tcorpus\tcrashes\n'
	for f in "${targets[@]}"; do summary "$f"; done
} | tee "$BUILD/fuzz/campaign.tsv" | column -t -s "$(printf '\t')"
! awk -F'\t' 'NR > 1 && $8 > 0 { bad = 1 } END { exit !bad }' "$BUILD/fuzz/campaign.tsv"
