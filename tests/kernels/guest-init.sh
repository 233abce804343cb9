#!/bin/sh
# guest-init.sh - the guest side of run-in-guest.sh.
#
# Stage 1 (no argument): /init of the busybox initramfs.  Loads the modules
# listed in /mods/order, mounts the host's / (9p tag "hostroot", read-only)
# under a tmpfs overlay, moves /proc /sys /dev into it, and runs stage 2
# there with the host's bash.  Powers off when stage 2 returns.
# Stage 2 ("stage2"): inside the shared root.  Mounts what tests expect
# (bpffs, tmpfs /run, devpts, cgroup2), binds the kernel's own modules at
# /lib/modules/VER, brings lo up, runs the command in the host's working
# folder with its output on ttyS1 (the host's stdout), and writes its exit
# status to the "result" share.
if [ "${1:-}" != stage2 ]; then
	PATH=/bin
	mount -t proc proc /proc
	mount -t sysfs sys /sys
	mount -t devtmpfs dev /dev
	while read -r m; do
		[ -f "/mods/$m.ko" ] && insmod "/mods/$m.ko"
	done < /mods/order
	if ! mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /lower; then
		echo "guest-init: cannot mount the host root over 9p" > /dev/ttyS1
		poweroff -f
	fi
	mount -t tmpfs -o mode=0755 tmpfs /upper
	mkdir -p /upper/u /upper/w
	if ! mount -t overlay overlay -o lowerdir=/lower,upperdir=/upper/u,workdir=/upper/w /newroot; then
		echo "guest-init: cannot mount the overlay root" > /dev/ttyS1
		poweroff -f
	fi
	mount --move /proc /newroot/proc
	mount --move /sys /newroot/sys
	mount --move /dev /newroot/dev
	mount -t tmpfs -o mode=0755 tmpfs /newroot/run
	mkdir -p /newroot/run/xdpsec-guest
	cp /init /guest.env /cmd /newroot/run/xdpsec-guest/ 2>/dev/null ||
		{ cat /init > /newroot/run/xdpsec-guest/init; cat /guest.env > /newroot/run/xdpsec-guest/guest.env;
		  cat /cmd > /newroot/run/xdpsec-guest/cmd; }
	chroot /newroot /bin/bash /run/xdpsec-guest/init stage2
	sync
	poweroff -f
fi

# ------------------------------------------------------------------ stage 2
. /run/xdpsec-guest/guest.env
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=dumb LANG=C.UTF-8
out=/dev/ttyS1
stty -F "$out" raw -echo 2>/dev/null

mount -t tmpfs tmpfs /tmp
mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts 2>/dev/null
mount -t bpf bpf /sys/fs/bpf 2>/dev/null
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mkdir -p "/lib/modules/$GUEST_KVER" /run/netns
mount --bind "$GUEST_MODDIR" "/lib/modules/$GUEST_KVER"
mkdir -p "$GUEST_RESULT" && mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 result "$GUEST_RESULT"
if [ -n "${GUEST_OUT:-}" ]; then
	mkdir -p "$GUEST_OUT" && mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 guestout "$GUEST_OUT"
	export GUEST_OUT
fi
hostname xdpsec-guest
ip link set lo up
ulimit -l unlimited
cd "$GUEST_CWD" || cd /
bash /run/xdpsec-guest/cmd > "$out" 2>&1 < /dev/null
rc=$?
echo "$rc" > "$GUEST_RESULT/rc"
sync
exit 0
