#!/bin/sh
# guest-init.sh - the guest side of run-in-guest.sh.
#
# Stage 1 (no argument): /init of the busybox initramfs.  Loads the modules
# listed in /mods/order, mounts the host's / (9p tag "hostroot", read-only)
# under a tmpfs overlay, moves /proc /sys /dev into it and switches root to
# it, running stage 2 with the host's bash as PID 1.
# Stage 2 ("stage2"): inside the shared root.  Mounts what tests expect
# (bpffs, tmpfs /run, devpts, cgroup2), binds the kernel's own modules at
# /lib/modules/VER, brings lo up, runs the command in the host's working
# folder with its output on ttyS1 (the host's stdout), and writes its exit
# status to the "result" share; then powers off.
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
	for f in init guest.env cmd bin/busybox; do
		cat "/$f" > "/newroot/run/xdpsec-guest/${f#bin/}"
	done
	chmod +x /newroot/run/xdpsec-guest/busybox
	# switch_root, not a chroot child: PID 1 shares its root with the
	# kernel's threads, so the kernel's module autoloading (modprobe of
	# rtnl-link-veth, crypto-rfc4106(gcm(aes)), ...) then runs in the
	# shared root too.
	exec switch_root /newroot /bin/bash /run/xdpsec-guest/init stage2
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
/run/xdpsec-guest/busybox poweroff -f
