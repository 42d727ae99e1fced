#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# throughput.sh RATE: one bulk TCP flow over a lossless 100 ms lab link shaped to RATE Mbit/s reaches -10 %/+2 % of it.
. "$(dirname "$0")/lib.sh"
rate=${1:?usage: throughput.sh RATE_MBIT}
rtt=${WANLAB_THROUGHPUT_RTT:-100}
secs=10
lab=wl-tput$rate
# BDP-tuned socket buffers (--tcp-buffers bdp), cubic, the default queue limit.
lab_up "$lab" --rtt "$rtt" --rate "$rate" --tcp-buffers bdp >/dev/null
dst=$(status_get "$lab" 'd["sites"][1]["wan_addr"]')
iperf3_server "$lab" b "$dst"
# Slow start is left out (-O); the wire rate is counted over the same window
# from site b's WAN interface.
omit=3
in_site "$lab" a timeout 60 iperf3 -c "$dst" -t "$secs" -O "$omit" -J >/tmp/wanlab-tput.$$.json &
client=$!
BG_PIDS+=($client)
sleep "$omit.2"
b0=$(wire_bytes "$lab" b); t0=$(date +%s.%N)
sleep "$(calc "$secs - 0.5")"
b1=$(wire_bytes "$lab" b); t1=$(date +%s.%N)
wait "$client" || fail "iperf3 client failed: $(cat /tmp/wanlab-tput.$$.json)"
read -r goodput retrans < <(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
e = d["end"]
print(e["sum_received"]["bits_per_second"] / 1e6, e["sum_sent"].get("retransmits", 0))' /tmp/wanlab-tput.$$.json)
rm -f /tmp/wanlab-tput.$$.json
wire=$(calc "($b1 - $b0) * 8 / ($t1 - $t0) / 1e6")
echo "rate ${rate} Mbit/s, rtt ${rtt} ms: TCP goodput ${goodput} Mbit/s ($(calc "100 * $goodput / $rate")%), wire ${wire} Mbit/s ($(calc "100 * $wire / $rate")%), ${retrans} retransmits, emulator $(status_get "$lab" 'd["emulator"]')"
within "$goodput" "$(calc "$rate * 0.90")" "$(calc "$rate * 1.02")" ||
	fail "goodput ${goodput} Mbit/s is not within -10 %/+2 % of ${rate}"
within "$wire" 0 "$(calc "$rate * 1.02")" || fail "wire rate ${wire} Mbit/s exceeds ${rate} by more than 2 %"
echo "PASS"
