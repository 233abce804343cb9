#!/usr/bin/env bash
# matrix.sh - `make test-kernels`: boot each kernel of tests/kernels/kernels.list
# in qemu and run the smoke set (tests/kernels/smoke.sh) inside it against
# the build made on the host, then print a report per kernel: the features
# found (xdpsecd --check), every BPF program's verdict and verifier work,
# the classify fixture table, delivered/sent per branch of the demo, the
# kernel-XFRM TCP test, pass/fail and time.
#
# usage: tests/kernels/matrix.sh [NAME...]      (default: every kernel of the list)
# Env: BUILD (build), SMOKE_STEPS, SMOKE_DEMO_N, SMOKE_DEMO_COMBOS (see smoke.sh),
#      IKE_KERNELS (kernels that run smoke.sh's ike step; default "6.1"), KERNELS_CACHE,
#      KERNELS_REFRESH (see fetch.sh), GUEST_* (see run-in-guest.sh).
# Results: $BUILD/kernels/NAME/ (steps.tsv, one log per step, console.log)
# and the report in $BUILD/kernels/report.txt.  Exit status 1 if any kernel
# failed.  Needs root, qemu-system-x86, busybox-static, cpio, kmod, xz-utils.
set -u
cd "$(dirname "$0")/../.."
HERE=tests/kernels
BUILD=${BUILD:-build}
export BUILD
LIST=${KERNELS_LIST:-$HERE/kernels.list}
OUTROOT=$BUILD/kernels
CACHE=${KERNELS_CACHE:-/var/cache/xdpsec/kernels}

[ "$(id -u)" = 0 ] || { echo "matrix.sh: needs root (qemu with the host's root shared): sudo make test-kernels" >&2; exit 2; }
for t in qemu-system-x86_64 busybox cpio modprobe depmod xz; do
	command -v "$t" >/dev/null || { echo "matrix.sh: $t missing: make deps" >&2; exit 2; }
done
for f in "$BUILD/xdpsecd" "$BUILD/xdpsecctl" "$BUILD/xdpsec.bpf.o" "$BUILD/tests/test_classify"; do
	[ -e "$f" ] || { echo "matrix.sh: $f not built: make" >&2; exit 2; }
done
[ $# -gt 0 ] || set -- $(awk '$1 !~ /^#/ && NF >= 3 { print $1 }' "$LIST")
mkdir -p "$OUTROOT"
REPORT=$OUTROOT/report.txt
start=$(date +%s)
declare -A RESULT SECS PKG

for k in "$@"; do
	out=$OUTROOT/$k
	rm -rf "$out" && mkdir -p "$out"
	echo "=== kernel $k"
	t0=$(date +%s)
	if ! tests/kernels/fetch.sh "$k" > "$out/fetch.log" 2>&1; then
		cat "$out/fetch.log"
		RESULT[$k]=FAIL; SECS[$k]=$(( $(date +%s) - t0 )); PKG[$k]="(fetch failed)"
		continue
	fi
	read -r pkg ver kver _ < <(tr '\n' ' ' < "$CACHE/$k/.complete"; echo)
	PKG[$k]="$pkg $ver"
	echo "  $pkg $ver, booting under qemu TCG"
	# the IKE step (about 3 minutes under TCG) on the kernels of IKE_KERNELS
	SMOKE_IKE=; case " ${IKE_KERNELS-6.1} " in *" $k "*) SMOKE_IKE=1 ;; esac
	export SMOKE_IKE
	GUEST_OUT=$(realpath "$out") GUEST_CONSOLE=$out/console.log \
	GUEST_ENV="BUILD PYTHON CI XDPSEC_E2E_TIME_SCALE SMOKE_STEPS SMOKE_DEMO_N SMOKE_DEMO_COMBOS SMOKE_IKE" \
		"$HERE/run-in-guest.sh" "$k" "tests/kernels/smoke.sh $(realpath "$out")" 2>&1 | tee "$out/guest.log"
	rc=${PIPESTATUS[0]}
	SECS[$k]=$(( $(date +%s) - t0 ))
	if [ "$rc" = 0 ]; then RESULT[$k]=PASS; else RESULT[$k]=FAIL; fi
	echo "  $k: ${RESULT[$k]} in ${SECS[$k]} s"
done

# ---------------------------------------------------------------- report
col() { awk -F'\t' -v s="$2" '$1 == s { print $'"$3"' }' "$1" 2>/dev/null; }

per_kernel() {
	local k=$1 out=$OUTROOT/$1
	echo "=== $k: ${PKG[$k]}: ${RESULT[$k]} in ${SECS[$k]} s (boot + smoke set, qemu TCG)"
	if [ ! -f "$out/steps.tsv" ]; then
		echo "  no smoke results; guest output:"; tail -20 "$out/guest.log" 2>/dev/null | sed 's/^/    /'
		return
	fi
	awk -F'\t' '{ printf "  %-9s %-5s %5ss  %s\n", $1, $2, $3, $4 }' "$out/steps.tsv"
	echo "  features (xdpsecd --check):"
	if [ -f "$out/probe.log" ] && [ "$(col "$out/steps.tsv" probe 2)" != skip ]; then
		sed 's/^/    /' "$out/probe.log"
		if grep -qiE '(:|[[:space:]])no\b' "$out/probe.log"; then
			echo "  fallbacks in use on $k (features missing):"
			grep -iE '(:|[[:space:]])no\b' "$out/probe.log" | sed 's/^/    /'
		fi
	else
		echo "    n/a: $(col "$out/steps.tsv" probe 4 | grep . || echo 'step not run')"
	fi
	if [ -f "$out/load.log" ]; then
		echo "  BPF programs (verifier):"
		sed 's/^/    /' "$out/load.log"
	fi
	if [ -s "$out/demo.tsv" ]; then
		echo "  demo, datagrams delivered/sent per branch:"
		awk -F'\t' 'NR > 1 { c[$1] = 1; b[$3] = 1; s[$3, $1] += $5; d[$3, $1] += $6; ts[$3] += $5; td[$3] += $6 }
			END { n = split("4:gcm 4:chacha 6:gcm 6:chacha", cs, " ")
			      printf "    %-13s", "branch"; for (i = 1; i <= n; i++) if (cs[i] in c) printf " %9s", cs[i]; printf " %9s\n", "all"
			      m = split("plain plain_frag esp frag_before frag_after frag_between", bs, " ")
			      for (j = 1; j <= m; j++) { if (!(bs[j] in b)) continue; printf "    %-13s", bs[j]
				  for (i = 1; i <= n; i++) if (cs[i] in c) printf " %9s", d[bs[j], cs[i]] "/" s[bs[j], cs[i]]
				  printf " %9s\n", td[bs[j]] "/" ts[bs[j]] } }' "$out/demo.tsv"
	fi
	if [ -s "$out/ike.txt" ]; then
		echo "  ike (strongSwan charon -> xdpsecd --xfrm), $out/ike.txt:"
		grep -E '^(before|during|after|forged|packets|spd counters|kernel vs xdpsec|delivered/sent) ' "$out/ike.txt" |
			sed 's/^/    /'
	fi
	if [ "$(col "$out/steps.tsv" xfrm 2)" = fail ] || [ "$(col "$out/steps.tsv" demo 2)" = fail ] ||
	   [ "$(col "$out/steps.tsv" ike 2)" = fail ]; then
		echo "  failing step logs: $out/{demo,xfrm,ike}.log"
	fi
}

{
	echo
	echo "==================== kernel matrix report"
	for k in "$@"; do per_kernel "$k"; echo; done
	echo "kernel  package                                    probe  load   classify  demo   xfrm   ike    time   result"
	for k in "$@"; do
		s=$OUTROOT/$k/steps.tsv
		printf '%-7s %-42s %-6s %-6s %-9s %-6s %-6s %-6s %4ss  %s\n' "$k" "${PKG[$k]}" \
			"$(col "$s" probe 2)" "$(col "$s" load 2)" "$(col "$s" classify 2)" \
			"$(col "$s" demo 2)" "$(col "$s" xfrm 2)" "$(col "$s" ike 2 | grep . || echo -)" \
			"${SECS[$k]}" "${RESULT[$k]}"
	done
	echo "make test-kernels: $(( $(date +%s) - start ))s"
} | tee "$REPORT"

fails=0
for k in "$@"; do [ "${RESULT[$k]}" = PASS ] || fails=$((fails + 1)); done
echo "kernels: $(( $# - fails )) passed, $fails failed"
[ "$fails" = 0 ]
