#!/usr/bin/env bash
# run-in-guest.sh - run one shell command as root inside a Debian kernel
# booted in qemu, with this machine's userspace shared read-only.
#
# usage: tests/kernels/run-in-guest.sh KERNEL 'COMMAND'
#   KERNEL   a name from tests/kernels/kernels.list (fetched into the cache
#            on first use, see fetch.sh) or the folder of a kernel package
#            unpacked with `dpkg-deb -x` (with lib/modules/VER/modules.dep,
#            from `depmod -b`)
#   COMMAND  any shell command; it runs in the guest in the current folder,
#            so relative paths work:
#              tests/kernels/run-in-guest.sh 6.1 'build/tests/test_classify'
#              tests/kernels/run-in-guest.sh 6.1 \
#                '/usr/bin/python3 -m pytest -q tests/e2e/test_pipeline.py -k xfrm'
# The command's output comes out on stdout; its exit status is this
# script's (124: the guest timed out, 125: the guest died before the
# command finished; the kernel's console log is printed then).
#
# How: the guest boots the kernel with a small busybox initramfs of our own
# (tests/kernels/guest-init.sh is its /init) that loads the 9p and overlay
# modules, mounts the host's / read-only over virtio-9p with a tmpfs overlay
# on top (writes in the guest vanish with it), binds the kernel's own
# modules at /lib/modules/VER (so modprobe and module autoloading work:
# xfrm, esp4, rfc4106, veth, ...) and runs COMMAND with bash.  The guest has
# no network beyond the namespaces it makes.  `-accel tcg -cpu max`: /dev/kvm
# here cannot boot a stock kernel (GUEST_ACCEL=kvm where it can).
#
# Env: GUEST_MEM (MiB, 3072), GUEST_CPUS (2), GUEST_TIMEOUT (s, 900),
#      GUEST_OUT  a host folder the guest may write, mounted at the same
#                 path in the guest (default: none; the command sees
#                 $GUEST_OUT, unset when there is none)
#      GUEST_CONSOLE  file for the kernel's console log (default: temporary)
#      GUEST_ENV  names of variables passed into the guest (default:
#                 "BUILD PYTHON CI XDPSEC_E2E_TIME_SCALE"; set ones only;
#                 XDPSEC_E2E_TIME_SCALE defaults to 4 under TCG: the e2e
#                 helpers stretch their waits by it)
#      GUEST_ACCEL (tcg)
# Needs qemu-system-x86, busybox-static, cpio, kmod, xz-utils, zstd for
# .ko.zst kernels.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
[ $# -eq 2 ] || { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
K=$1; CMD=$2

if [ -d "$K" ]; then
	KROOT=$(cd "$K" && pwd -P)
else
	KROOT=$("$HERE/fetch.sh" --path "$K")
fi
KIMG=$(ls "$KROOT"/boot/vmlinuz-* 2>/dev/null | head -1)
[ -n "$KIMG" ] || { echo "run-in-guest: no boot/vmlinuz-* in $KROOT" >&2; exit 2; }
KVER=${KIMG##*/vmlinuz-}
MODDIR=$(readlink -f "$KROOT/lib/modules/$KVER")
[ -f "$MODDIR/modules.dep" ] || depmod -b "$KROOT" "$KVER"
BUSYBOX=$(command -v busybox) || { echo "run-in-guest: needs busybox-static" >&2; exit 2; }

W=$(mktemp -d /tmp/xdpsec-guest.XXXXXX)
cleanup() { rm -rf "$W"; }
trap cleanup EXIT
mkdir -p "$W"/ir/{bin,dev,proc,sys,newroot,lower,upper,mods,out} "$W/out"

# initramfs: busybox, the modules needed to reach the root (in dependency
# order, as modprobe resolves them; built-in ones print "builtin"), init.
cp "$BUSYBOX" "$W/ir/bin/busybox"
for a in sh mount umount insmod mkdir switch_root cat echo chmod poweroff; do
	ln -s busybox "$W/ir/bin/$a"
done
: > "$W/ir/mods/order"
modprobe -d "$KROOT" -S "$KVER" --show-depends -a virtio_pci 9pnet_virtio 9p overlay 2>/dev/null |
	awk '$1 == "insmod" && !seen[$2]++ { print $2 }' |
	while read -r f; do
		m=$(basename "$f"); m=${m%%.ko*}
		case $f in
		*.ko.xz) xz -dc "$f" > "$W/ir/mods/$m.ko" ;;
		*.ko.zst) zstd -qdc "$f" > "$W/ir/mods/$m.ko" ;;
		*.ko.gz) gzip -dc "$f" > "$W/ir/mods/$m.ko" ;;
		*) cp "$f" "$W/ir/mods/$m.ko" ;;
		esac
		echo "$m" >> "$W/ir/mods/order"
	done
cp "$HERE/guest-init.sh" "$W/ir/init"
chmod +x "$W/ir/init"

# what stage 2 (guest-init.sh, after the switch to the shared root) needs
{
	printf 'GUEST_CWD=%q\n' "$PWD"
	printf 'GUEST_MODDIR=%q\n' "$MODDIR"
	printf 'GUEST_KVER=%q\n' "$KVER"
	printf 'GUEST_RESULT=%q\n' "$W/out"
	[ -n "${GUEST_OUT:-}" ] && printf 'GUEST_OUT=%q\n' "$(mkdir -p "$GUEST_OUT" && cd "$GUEST_OUT" && pwd -P)"
	for v in ${GUEST_ENV:-BUILD PYTHON CI XDPSEC_E2E_TIME_SCALE}; do
		[ -n "${!v+x}" ] && printf 'export %s=%q\n' "$v" "${!v}"
	done
	# user code is 10-50x slower under TCG: the e2e helpers stretch their waits
	[ "${GUEST_ACCEL:-tcg}" = tcg ] && [ -z "${XDPSEC_E2E_TIME_SCALE:-}" ] &&
		echo 'export XDPSEC_E2E_TIME_SCALE=4'
	true
} > "$W/ir/guest.env"
printf '%s\n' "$CMD" > "$W/ir/cmd"
(cd "$W/ir" && find . | cpio -o -H newc --quiet | gzip -1 > "$W/initrd.gz")

CONSOLE=${GUEST_CONSOLE:-$W/console.log}
: > "$CONSOLE"
shares=(-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
	-virtfs "local,path=$W/out,mount_tag=result,security_model=none")
if [ -n "${GUEST_OUT:-}" ]; then
	shares+=(-virtfs "local,path=$(cd "$GUEST_OUT" && pwd -P),mount_tag=guestout,security_model=none")
fi
accel=${GUEST_ACCEL:-tcg}
cpu=max; [ "$accel" = kvm ] && cpu=host

set +e
timeout --foreground -k 10 "${GUEST_TIMEOUT:-900}" \
	qemu-system-x86_64 -accel "$accel" -cpu "$cpu" -m "${GUEST_MEM:-3072}" -smp "${GUEST_CPUS:-2}" \
	-nodefaults -no-user-config -display none -no-reboot \
	-chardev "file,id=con,path=$CONSOLE" -serial chardev:con \
	-chardev stdio,id=out,signal=off -serial chardev:out \
	-kernel "$KIMG" -initrd "$W/initrd.gz" \
	-append "console=ttyS0 panic=-1 quiet loglevel=4" \
	"${shares[@]}" < /dev/null
q=$?
set -e
if [ -f "$W/out/rc" ]; then
	exit "$(cat "$W/out/rc")"
fi
if [ $q -eq 124 ] || [ $q -eq 137 ]; then
	echo "run-in-guest: the guest ($KVER) timed out after ${GUEST_TIMEOUT:-900}s" >&2
	rc=124
else
	echo "run-in-guest: the guest ($KVER) stopped before the command finished (qemu exit $q)" >&2
	rc=125
fi
echo "---- kernel console (last 40 lines)" >&2
tail -40 "$CONSOLE" >&2
exit $rc
