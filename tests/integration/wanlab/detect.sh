#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# detect.sh: the lab uses kernel netem where it exists and lh-wanem where it does not, and says which in status.
. "$(dirname "$0")/lib.sh"
lab=wl-detect

# Our own probe, independent of wan-lab's: can a netem qdisc be added?
ns=wl-detect-probe-$$
ip netns add "$ns"
if ip -n "$ns" link add p0 type veth peer name p1 && tc -n "$ns" qdisc add dev p0 root netem delay 1ms 2>/dev/null; then
	expect=netem
else
	expect=userspace
fi
ip netns del "$ns"
echo "kernel netem probe: $expect; wan-lab probe: $("$WAN_LAB" probe)"
[ "$("$WAN_LAB" probe)" = "$expect" ] || fail "wan-lab probe disagrees"

lab_up "$lab" --rtt 40 --loss 0.5 --rate 200 >/dev/null
got=$(status_get "$lab" 'd["emulator"]')
echo "status says emulator=$got"
[ "$got" = "$expect" ] || fail "status reports $got, expected $expect"
if [ "$expect" = netem ]; then
	qd=$(ip netns exec "$lab-wan" tc qdisc show dev site-b)
	echo "$qd"
	echo "$qd" | grep -q 'netem' || fail "no netem qdisc on the WAN port"
	echo "$qd" | grep -q 'delay 20ms' || fail "netem delay is not RTT/2"
	[ -z "$(status_get "$lab" 'd["emulator_processes"]' | tr -d '[]')" ] || fail "netem lab started lh-wanem"
else
	[ "$(status_get "$lab" 'all(p["alive"] for p in d["emulator_processes"]) and len(d["emulator_processes"]) == 1')" = True ] ||
		fail "userspace lab without a live emulator process"
	# Asking for netem where there is none fails, and leaves nothing behind.
	if "$WAN_LAB" up --lab wl-detect2 --emulator netem 2>/dev/null; then
		LABS+=(wl-detect2)
		fail "--emulator netem succeeded without sch_netem"
	fi
	[ ! -e /run/netns/wl-detect2-wan ] && [ ! -e /run/longhaul-lab/wl-detect2 ] ||
		fail "failed up left namespaces or state behind"
	echo "--emulator netem refused cleanly on this kernel"
fi
# Forcing the userspace emulator works everywhere.
lab_up "$lab" --rtt 40 --emulator userspace >/dev/null
[ "$(status_get "$lab" 'd["emulator"]')" = userspace ] || fail "--emulator userspace not honoured"
echo "PASS"
