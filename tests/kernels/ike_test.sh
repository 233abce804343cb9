#!/usr/bin/env bash
# ike_test.sh - `make test-ike`: tests/e2e/test_ike.py (strongSwan's charon
# keys xdpsecd --xfrm; the manual `ip xfrm state` mirror with lifetimes) in
# the Debian 6.1 guest of the kernel matrix, whose kernel has ESP and XFRM
# (this host's has neither, so the test skips here).
#
# usage: tests/kernels/ike_test.sh [KERNEL]        (default 6.1)
# Results in $BUILD/kernels/ike-KERNEL/: pytest.log (the guest's output),
# report.txt (charon configuration, delivered/sent before, during and
# after the rekey, SPD counters of the forged-source case, `ip -s xfrm
# state` against xdpsec's counters, test time), console.log.
# Needs root, the build (make), strongswan-charon and strongswan-swanctl
# (make deps), and what run-in-guest.sh needs.
set -u
cd "$(dirname "$0")/../.."
K=${1:-6.1}
BUILD=${BUILD:-build}
export BUILD
[ "$(id -u)" = 0 ] || { echo "ike_test.sh: needs root: sudo make test-ike" >&2; exit 2; }
for f in /usr/lib/ipsec/charon /usr/sbin/swanctl "$BUILD/xdpsecd" "$BUILD/xdpsecctl"; do
	[ -x "$f" ] || { echo "ike_test.sh: $f missing (make deps; make)" >&2; exit 2; }
done
OUT=$(mkdir -p "$BUILD/kernels/ike-$K" && cd "$BUILD/kernels/ike-$K" && pwd -P)
rm -f "$OUT/report.txt" "$OUT/pytest.log"
t0=$(date +%s)
GUEST_OUT=$OUT GUEST_CONSOLE=$OUT/console.log \
GUEST_ENV="BUILD PYTHON CI XDPSEC_E2E_TIME_SCALE" \
	tests/kernels/run-in-guest.sh "$K" \
	"XDPSEC_E2E_REQUIRE=1 XDPSEC_IKE_REPORT=$OUT/report.txt ${PYTHON:-/usr/bin/python3} \
	 -m pytest -q -p no:cacheprovider -rfEs tests/e2e/test_ike.py" 2>&1 | tee "$OUT/pytest.log"
rc=${PIPESTATUS[0]}
# the tests skip on a kernel without ESP: here, where the kernel has it, a
# skip is a failure
if [ "$rc" = 0 ] && grep -q -i skipped "$OUT/pytest.log"; then
	echo "ike_test.sh: a test skipped in the $K guest: $(grep -m1 SKIPPED "$OUT/pytest.log")"
	rc=1
fi
echo "ike_test.sh: kernel $K: exit $rc in $(( $(date +%s) - t0 )) s (boot + test, qemu TCG)" |
	tee -a "$OUT/report.txt"
[ -f "$OUT/report.txt" ] && echo "report: $OUT/report.txt"
exit "$rc"
