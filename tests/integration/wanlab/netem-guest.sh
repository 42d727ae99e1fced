#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# netem-guest.sh: runs wan-lab inside a QEMU guest whose kernel has sch_netem, proving the netem path is detected and used.
#
# The build machines' own kernel lacks sch_netem, so the netem branch of
# wan-lab is exercised in a TCG guest booting Debian's 6.1 kernel (which
# ships sch_netem.ko) with an initramfs of busybox plus the host's bash,
# iproute2, ethtool, flock and ping. The guest prints its results on the
# serial console; this script checks them.
set -euo pipefail
: "${WAN_LAB:?WAN_LAB must point at netem-scripts/wan-lab}"

kver=$(ls /lib/modules | sort -V | tail -1)
kernel=/boot/vmlinuz-$kver
moddir=/lib/modules/$kver/kernel
if ! command -v qemu-system-x86_64 >/dev/null || [ ! -r "$kernel" ] ||
   [ ! -e "$moddir/net/sched/sch_netem.ko" ] || [ ! -x /bin/busybox ] || [ "$(id -u)" != 0 ]; then
	echo "SKIP: needs root, qemu-system-x86_64, busybox and a kernel with sch_netem.ko"
	exit 77
fi

work=$(mktemp -d /tmp/wanlab-guest.XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"/{bin,usr/bin,lib/modules,proc,sys,dev,run,tmp,etc,lab}

# busybox for the basics, host binaries (and their libraries) where wan-lab
# needs the real thing.
cp /bin/busybox "$root/bin/"
ln -s /bin/busybox "$root/usr/bin/env" # for "#!/usr/bin/env bash"
for applet in $(/bin/busybox --list); do
	[ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
done
for tool in bash ip tc ethtool flock ping; do
	path=$(command -v "$tool")
	cp "$path" "$root/usr/bin/$tool"
	for lib in $(ldd "$path" | grep -o '/[^ ]*'); do
		mkdir -p "$root$(dirname "$lib")"
		cp -n "$lib" "$root$lib"
	done
done
for m in net/llc/llc net/802/stp net/bridge/bridge drivers/net/veth net/sched/sch_netem; do
	cp "$moddir/$m.ko" "$root/lib/modules/"
done
cp "$WAN_LAB" "$root/lab/wan-lab"

cat >"$root/init" <<'INIT'
#!/bin/sh
export PATH=/usr/bin:/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs run /run
for m in llc stp bridge veth sch_netem; do insmod /lib/modules/$m.ko; done
echo "GUEST kernel $(uname -r)"
echo "GUEST probe $(/lab/wan-lab probe)"
/lab/wan-lab up --lab g --rtt 40 --loss 0 --rate 100 2>&1 | sed 's/^/GUEST up: /'
echo "GUEST status $(/lab/wan-lab status --lab g --json)"
# busybox sh runs its own applets first: full paths for the host tools.
echo "GUEST qdisc $(/usr/bin/tc -n g-wan qdisc show dev site-b 2>&1 | head -1)"
/usr/bin/ip netns exec g-a /usr/bin/ping -q -n -c 10 -i 0.2 198.18.2.1 2>&1 | tail -1 | sed 's/^/GUEST ping /'
/lab/wan-lab down --lab g 2>&1 | sed 's/^/GUEST down: /'
echo "GUEST netns left: $(ls /run/netns 2>/dev/null | wc -l)"
echo "GUEST done"
poweroff -f
INIT
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initrd.gz"

timeout 280 qemu-system-x86_64 -machine q35 -accel tcg -m 512 -smp 1 -nographic -no-reboot \
	-kernel "$kernel" -initrd "$work/initrd.gz" -nic none \
	-append "console=ttyS0 panic=-1 quiet" </dev/null >"$work/console.log" 2>&1 || true
grep '^GUEST' "$work/console.log" || { tail -40 "$work/console.log"; echo "FAIL: guest printed nothing"; exit 1; }

fail() { echo "FAIL: $*" >&2; exit 1; }
grep -q '^GUEST done' "$work/console.log" || fail "guest did not finish"
grep -q '^GUEST probe netem' "$work/console.log" || fail "probe did not find netem in a kernel that has it"
grep -q '"emulator": "netem"' "$work/console.log" || fail "status does not report netem"
grep -q '"emulator_processes": \[\]' "$work/console.log" || fail "netem lab started a userspace emulator"
grep '^GUEST qdisc' "$work/console.log" | grep -q 'netem.*limit [0-9]* delay 20ms.*rate 100Mbit' ||
	fail "netem qdisc not configured as delay RTT/2, rate 100Mbit"
min=$(sed -n 's|^GUEST ping .*= \([0-9.]*\)/\([0-9.]*\)/.*|\1|p' "$work/console.log")
avg=$(sed -n 's|^GUEST ping .*= [0-9.]*/\([0-9.]*\)/.*|\1|p' "$work/console.log")
[ -n "$min" ] || fail "no ping RTT through the netem lab"
echo "netem lab in the guest: ping RTT min $min ms, avg $avg ms for 40 ms requested"
# A TCG guest adds its own (large, variable) latency but netem never
# delivers early: the minimum shows the configured delay. The +-5 % proof
# on averages is wanlab_rtt.
awk -v v="$min" 'BEGIN { exit !(v >= 39 && v <= 46) }' || fail "min RTT $min ms through netem is not ~40 ms"
grep -q '^GUEST netns left: 0' "$work/console.log" || fail "down left namespaces in the guest"
echo "PASS"
