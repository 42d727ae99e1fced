#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# loss.sh: a 1 % loss link loses 1 % +-20 % of packets per direction, counted over tens of thousands of packets.
. "$(dirname "$0")/lib.sh"
: "${LH_WANEM_BLAST:?LH_WANEM_BLAST must point at lh-wanem-blast}"
lab=wl-loss
lab_up "$lab" --rtt 20 --loss 1 >/dev/null
b=$(status_get "$lab" 'd["sites"][1]["wan_addr"]')
lo=0.8 hi=1.2

# One way, each direction: 50 000 frames counted leaving the sender's WAN
# interface and arriving at the receiver's (kernel counters, so a busy
# receiving application cannot pass its own drops off as link loss).
# Binomial sd ~ 22 frames: the +-20 % band is ~4.5 sd on each side.
for dir in a-b b-a; do
	src=${dir%-*} dst=${dir#*-}
	tx0=$(in_site "$lab" "$src" cat /sys/class/net/wan0/statistics/tx_packets)
	rx0=$(wire_packets "$lab" "$dst")
	in_site "$lab" "$src" timeout 30 "$LH_WANEM_BLAST" --dev wan0 --pps 25000 --seconds 2 --size 1000 >/dev/null
	sleep 0.2 # drain the 10 ms delay line
	tx=$(( $(in_site "$lab" "$src" cat /sys/class/net/wan0/statistics/tx_packets) - tx0 ))
	rx=$(( $(wire_packets "$lab" "$dst") - rx0 ))
	pct=$(calc "100 * ($tx - $rx) / $tx")
	echo "one-way $src->$dst: $((tx - rx)) of $tx frames lost = ${pct}%"
	[ "$tx" -ge 10000 ] || fail "only $tx frames sent"
	within "$pct" "$lo" "$hi" || fail "one-way loss ${pct}% is not within 20 % of 1 %"
done

# Round trip with ping: 20 000 echo requests; a reply needs both directions,
# so per-direction loss = 1 - sqrt(1 - round-trip loss). ping paces itself to
# ~100/s whatever -i says when replies are outstanding; flood mode with 100
# requests in flight gives ~5000/s.
out=$(in_site "$lab" a timeout 60 ping -q -n -f -l 100 -c 20000 -W 1 "$b")
sent=$(echo "$out" | sed -n 's|^\([0-9]*\) packets transmitted.*|\1|p')
recv=$(echo "$out" | sed -n 's|.*transmitted, \([0-9]*\) received.*|\1|p')
rt=$(calc "100 * ($sent - $recv) / $sent")
per_dir=$(calc "100 * (1 - sqrt(1 - ($sent - $recv) / $sent))")
echo "round trip: $((sent - recv)) of $sent pings lost = ${rt}% -> ${per_dir}% per direction"
within "$per_dir" "$lo" "$hi" || fail "per-direction loss ${per_dir}% from ping is not within 20 % of 1 %"
if [ "$(status_get "$lab" 'd["emulator"]')" = userspace ]; then
	echo "emulator counters: $(status_get "$lab" '[(x["name"], x["lost"], x["socket_drops"]) for p in d["emulator_processes"] for x in p["counters"]["directions"]]')"
	[ "$(status_get "$lab" 'sum(x["socket_drops"] for p in d["emulator_processes"] for x in p["counters"]["directions"])')" = 0 ] ||
		fail "the emulator dropped frames at its socket: loss figures include overload"
fi
echo "PASS"
