#!/usr/bin/env bash
# smoke.sh - the smoke set of the kernel matrix; runs as root inside a guest
# (matrix.sh: run-in-guest.sh KERNEL 'tests/kernels/smoke.sh OUTDIR'), or on
# any machine.  Each step writes OUTDIR/STEP.log and one line to
# OUTDIR/steps.tsv (step, pass|fail|skip, seconds, summary); the runner reads
# them.  Steps:
#   probe     build/xdpsecd --check: the kernel features the data plane uses
#             (skip when this build has no --check; "warn", not a failure,
#             when it exits non-zero: the other steps say whether it works)
#   load      tests/kernels/bpf_load.py: every program of every BPF object
#             loads, and the verifier's work ("processed N insns")
#   classify  build/tests/test_classify: the BPF fixture table
#   demo      tests/e2e/demo.py --strict: every branch over IPv4 (AES-GCM) and
#             IPv6 (ChaCha20-Poly1305), every datagram delivered.  The
#             other two pairings (SMOKE_DEMO_COMBOS=all) add no kernel code
#             path: ESP crypto runs in userspace, the same on every kernel,
#             and `make test` covers all four; at 40 cases instead of 20 the
#             matrix took 15.7 min on this 2-core machine under load.
#   xfrm      the e2e TCP test whose sender is the kernel's own XFRM ESP
#             (skipped on kernels without ESP; fails if it skips here when
#             the kernel has rfc4106(gcm(aes)))
#   ike       tests/e2e/test_ike.py: strongSwan's charon keys xdpsecd --xfrm
#             (rekey under traffic, forged inner source, the kernel's SA
#             counters against xdpsec's) and the manual `ip xfrm state`
#             mirror with lifetimes; OUTDIR/ike.txt is its report.  About
#             3 minutes under TCG: a default step only with SMOKE_IKE=1
#             (matrix.sh sets it for the kernels of IKE_KERNELS, "6.1")
# SMOKE_STEPS="probe load ..." picks steps; SMOKE_DEMO_N (default 1) is the
# demo's datagrams per case, SMOKE_DEMO_COMBOS its --combos (4:gcm,6:chacha).
set -u
cd "$(dirname "$0")/../.."
OUT=${1:?usage: smoke.sh OUTDIR}
mkdir -p "$OUT"
BUILD=${BUILD:-build}
export BUILD
PY=${PYTHON:-/usr/bin/python3}
STEPS=${SMOKE_STEPS:-probe load classify demo xfrm${SMOKE_IKE:+ ike}}
: > "$OUT/steps.tsv"
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

# step NAME SUMMARY-FUNCTION COMMAND...: runs COMMAND with its output in
# OUTDIR/NAME.log; the summary function prints "STATUS<TAB>SUMMARY" from the
# exit status ($1) and the log ($2).
step() {
	local name=$1 summ=$2 t0 t1 rc res secs
	shift 2
	t0=$(date +%s.%N)
	"$@" > "$OUT/$name.log" 2>&1
	rc=$?
	t1=$(date +%s.%N)
	res=$("$summ" "$rc" "$OUT/$name.log")
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", b - a }')
	printf '%s\t%s\t%s\t%s\n' "$name" "${res%%$'\t'*}" "$secs" "${res#*$'\t'}" >> "$OUT/steps.tsv"
	printf '  %-9s %-5s %4ss  %s\n' "$name" "${res%%$'\t'*}" "$secs" "${res#*$'\t'}"
}

by_rc() { if [ "$1" = 0 ]; then printf 'pass\t'; else printf 'fail\texit %s' "$1"; fi; }

s_probe() {
	if [ "$1" = 77 ]; then printf 'skip\tthis build has no xdpsecd --check'; return; fi
	local n y
	y=$(grep -ciE '(:|[[:space:]])yes\b' "$2"); n=$(grep -ciE '(:|[[:space:]])no\b' "$2")
	# informational: whether the data plane works is for the other steps to say
	if [ "$1" = 0 ]; then printf 'pass\t%s yes, %s no' "$y" "$n"; else printf 'warn\texit %s (%s yes, %s no)' "$1" "$y" "$n"; fi
}
probe() {
	if ! "$BUILD/xdpsecd" --help 2>&1 | grep -q -- '--check'; then
		echo "this build of xdpsecd has no --check"
		return 77
	fi
	"$BUILD/xdpsecd" --check
}

s_load() {
	local ok ref
	ok=$(grep -cE '^[^ ]+\.bpf\.o +[^ ]+ +ok ' "$2"); ref=$(grep -c ' REFUSED ' "$2")
	if [ "$1" = 0 ]; then printf 'pass\t%s programs load' "$ok"; else printf 'fail\t%s refused: %s' "$ref" \
		"$(grep -m1 ' REFUSED ' "$2" | awk '{ $3 = ""; print }' | tr -s ' ' | cut -c1-120)"; fi
}

s_classify() {
	local last
	last=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$2" | tail -1)
	if [ "$1" = 0 ]; then printf 'pass\t%s' "$last"; else printf 'fail\t%s' "${last:-exit $1}"; fi
}

s_demo() {
	local r=$OUT/demo.tsv sent del
	sent=$(awk -F'\t' 'NR > 1 { s += $5 } END { print s + 0 }' "$r" 2>/dev/null)
	del=$(awk -F'\t' 'NR > 1 { d += $6 } END { print d + 0 }' "$r" 2>/dev/null)
	if [ "$1" = 0 ]; then printf 'pass\tdelivered %s/%s' "$del" "$sent"
	else printf 'fail\tdelivered %s/%s; %s' "${del:-0}" "${sent:-0}" "$(grep -m1 'FAILED\|cannot' "$2" | cut -c1-160)"; fi
}

s_xfrm() {
	local last
	last=$(grep -E '(passed|failed|skipped|error)' "$2" | tail -1)
	if [ "$1" = 0 ] && grep -q ' 1 passed\|^1 passed' "$2" && ! grep -q skipped "$2"; then
		printf 'pass\t%s' "$last"
	elif [ "$1" = 0 ] && grep -q skipped "$2"; then
		if grep -q 'lacks rfc4106' "$2" && ! kernel_has_esp; then
			printf 'skip\tthe kernel has no ESP: %s' "$last"
		else
			printf 'fail\tskipped on a kernel with ESP: %s' "$(grep -m1 SKIPPED "$2" | cut -c1-160)"
		fi
	else
		printf 'fail\t%s' "${last:-exit $1}"
	fi
}
s_ike() {
	local last r=$OUT/ike.txt
	last=$(grep -E '(passed|failed|skipped|error)' "$2" | tail -1)
	if [ "$1" = 0 ] && grep -q '2 passed' "$2" && ! grep -q skipped "$2"; then
		printf 'pass\trekey %s, forged %s %s' \
			"$(awk '$1 == "during" { print $2 }' "$r" 2>/dev/null)" \
			"$(awk '$1 == "forged" { print $2 }' "$r" 2>/dev/null)" \
			"$(sed -n 's/^spd counters moved by the forged packets: //p' "$r" 2>/dev/null)"
	elif [ "$1" = 0 ] && grep -q skipped "$2" && ! kernel_has_esp; then
		printf 'skip\tthe kernel has no ESP: %s' "$last"
	else
		printf 'fail\t%s' "$(grep -m1 -E 'SKIPPED|^E  ' "$2" | cut -c1-160)${last:+; $last}"
	fi
}
kernel_has_esp() { modprobe -q esp4 2>/dev/null || grep -qw esp4 /proc/modules 2>/dev/null; }

for s in $STEPS; do
	case $s in
	probe)    step probe s_probe probe ;;
	load)     step load s_load "$PY" tests/kernels/bpf_load.py ;;
	classify) step classify s_classify "$BUILD/tests/test_classify" ;;
	demo)     step demo s_demo "$PY" tests/e2e/demo.py -n "${SMOKE_DEMO_N:-1}" \
			--combos "${SMOKE_DEMO_COMBOS:-4:gcm,6:chacha}" --strict \
			--report "$OUT/demo.tsv" ;;
	xfrm)     step xfrm s_xfrm env XDPSEC_E2E_REQUIRE=1 "$PY" -m pytest -q -p no:cacheprovider -rs \
			tests/e2e/test_kernel_xfrm.py ;;
	ike)      rm -f "$OUT/ike.txt"
		  step ike s_ike env XDPSEC_IKE_REPORT="$OUT/ike.txt" "$PY" -m pytest -q \
			-p no:cacheprovider -rs -s tests/e2e/test_ike.py ;;
	*)        echo "smoke.sh: unknown step $s" >&2; exit 2 ;;
	esac
done
! grep -q $'\tfail\t' "$OUT/steps.tsv"
