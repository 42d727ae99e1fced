#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# rtt.sh: ping across the lab's WAN measures the requested RTT within +-5 % at 20, 100 and 200 ms.
. "$(dirname "$0")/lib.sh"
lab=wl-rtt
for rtt in 20 100 200; do
	lab_up "$lab" --rtt "$rtt" >/dev/null
	dst=$(status_get "$lab" 'd["sites"][1]["lan_addr"]')
	# Site a's host to site b's host LAN address: routed over the WAN.
	out=$(in_site "$lab" a timeout 30 ping -q -n -c 40 -i 0.05 -W 2 "$dst")
	avg=$(echo "$out" | sed -n 's|.*= [0-9.]*/\([0-9.]*\)/.*|\1|p')
	loss=$(echo "$out" | sed -n 's|.* \([0-9.]*\)% packet loss.*|\1|p')
	[ -n "$avg" ] || fail "no RTT from ping: $out"
	echo "rtt requested ${rtt} ms: measured avg ${avg} ms over 40 pings (loss ${loss}%), emulator $(status_get "$lab" 'd["emulator"]')"
	within "$avg" "$(calc "$rtt * 0.95")" "$(calc "$rtt * 1.05")" ||
		fail "RTT ${avg} ms is not within 5 % of ${rtt} ms"
done
echo "PASS"
