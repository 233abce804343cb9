#!/usr/bin/env bash
# Runs every test: C unit tests and BPF program tests (build/tests/test_*),
# libFuzzer smoke runs (build/fuzz/fuzz_*), then the netns end-to-end tests
# (pytest, tests/e2e).  Prints a summary; exits non-zero if anything failed.
# Needs root (BPF, namespaces).  FUZZ_SECONDS overrides the smoke duration
# per target (0: no fuzzing).  SANITIZE=1 (make test SANITIZE=1, BUILD=
# build-san): every sanitizer report of any test, daemon or CLI process
# goes to $BUILD/sanitizer/ and fails the run.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
failed=()
start=$(date +%s)

if [ "${SANITIZE:-0}" = 1 ]; then
	san="$(realpath -m "$BUILD/sanitizer")"
	rm -rf "$san"; mkdir -p "$san"
	export ASAN_OPTIONS="log_path=$san/asan:detect_leaks=1:abort_on_error=0"
	export UBSAN_OPTIONS="log_path=$san/ubsan:print_stacktrace=1:halt_on_error=1"
fi

if [ "$(id -u)" != 0 ]; then
	echo "run.sh: the BPF and netns tests need root: sudo make test" >&2
	exit 2
fi
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	[[ "$t" == *.d ]] && continue
	echo "=== $t"
	if ! "$t"; then failed+=("$t"); fi
done

# Fuzz smoke runs, two at a time (the machine has two cores).
pids=(); names=()
for f in "$BUILD"/fuzz/fuzz_*; do
	[ "$FUZZ_SECONDS" -gt 0 ] 2>/dev/null || break
	[ -x "$f" ] || continue
	[[ "$f" == *.d ]] && continue
	name=$(basename "$f")
	corpus="$BUILD/fuzz/corpus-$name"; mkdir -p "$corpus"
	seeds="tests/fuzz/seeds/$name"; [ -d "$seeds" ] || seeds=""
	echo "=== $f (${FUZZ_SECONDS}s smoke)"
	"$f" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 "$corpus" $seeds \
		> "$BUILD/fuzz/$name.log" 2>&1 &
	pids+=($!); names+=("$f")
	if [ ${#pids[@]} -ge 2 ]; then
		for i in "${!pids[@]}"; do
			wait "${pids[$i]}" || { failed+=("${names[$i]}"); tail -40 "$BUILD/fuzz/$(basename "${names[$i]}").log"; }
		done
		pids=(); names=()
	fi
done
for i in "${!pids[@]}"; do
	wait "${pids[$i]}" || { failed+=("${names[$i]}"); tail -40 "$BUILD/fuzz/$(basename "${names[$i]}").log"; }
done

if ls tests/e2e/test_*.py >/dev/null 2>&1; then
	echo "=== pytest tests/e2e"
	report="$BUILD/e2e-delivery.tsv"
	printf 'test\tcase\tbranch\tframes\tdatagrams_sent\texpected\tdelivered\tduplicates\n' > "$report"
	if ! BUILD="$BUILD" XDPSEC_E2E_REQUIRE=${XDPSEC_E2E_REQUIRE:-1} XDPSEC_E2E_REPORT="$(realpath "$report")" \
		"$PYTHON" -m pytest -q -p no:cacheprovider -rfE tests/e2e; then failed+=("tests/e2e"); fi
	# delivered/sent over every case the e2e tests sent (one line each in $report)
	awk -F'\t' 'NR > 1 { n++; s += $5; e += $6; d += $7; u += $8;
			b[$3] = 1; bs[$3] += $5; be[$3] += $6; bd[$3] += $7 }
		END { printf "e2e delivery: %d cases, %d datagrams sent, %d expected, %d delivered byte-exact, %d duplicates\n", n, s, e, d, u;
		      for (k in b) printf "  %-14s sent %6d  expected %6d  delivered %6d\n", k, bs[k], be[k], bd[k] }' "$report"
	echo "  (per case: $report)"
fi

if [ "${SANITIZE:-0}" = 1 ] && ls "$san"/* >/dev/null 2>&1; then
	echo "=== sanitizer reports ($san)"
	for r in "$san"/*; do echo "--- $r"; head -60 "$r"; done
	failed+=("sanitizer reports: $(ls "$san" | wc -l)")
fi

echo
echo "make test: $(( $(date +%s) - start ))s"
if [ ${#failed[@]} -ne 0 ]; then
	echo "FAILED: ${failed[*]}"
	exit 1
fi
echo "all tests passed"
