#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# pps.sh: lh-wanem forwards >= 83 k full-size (1514 B) frames/s each way at once, i.e. 1 Gbit/s in both directions.
. "$(dirname "$0")/lib.sh"
: "${LH_WANEM_BLAST:?LH_WANEM_BLAST must point at lh-wanem-blast}"
lab=wl-pps
pps=${WANLAB_PPS:-90000}
secs=3
need=83000
# Unlimited rate: the test is about the emulator's own ceiling, with a
# 20 ms delay line so every frame really is queued and timed.
lab_up "$lab" --rtt 20 --rate 0 --emulator userspace >/dev/null
a0=$(wire_packets "$lab" a); b0=$(wire_packets "$lab" b)
in_site "$lab" a "$LH_WANEM_BLAST" --dev wan0 --pps "$pps" --seconds "$secs" >/tmp/wanlab-pps-a.$$ &
pa=$!; BG_PIDS+=($pa)
in_site "$lab" b "$LH_WANEM_BLAST" --dev wan0 --pps "$pps" --seconds "$secs" >/tmp/wanlab-pps-b.$$ &
pb=$!; BG_PIDS+=($pb)
wait "$pa" || fail "blaster a failed"
wait "$pb" || fail "blaster b failed"
sleep 0.3 # the last 20 ms of frames are still on the delay line
a1=$(wire_packets "$lab" a); b1=$(wire_packets "$lab" b)
sent_a=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sent"])' /tmp/wanlab-pps-a.$$)
sent_b=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sent"])' /tmp/wanlab-pps-b.$$)
rm -f /tmp/wanlab-pps-a.$$ /tmp/wanlab-pps-b.$$
got_ab=$((b1 - b0)) got_ba=$((a1 - a0))
rate_ab=$(calc "$got_ab / $secs") rate_ba=$(calc "$got_ba / $secs")
echo "a->b: sent $sent_a, delivered $got_ab = $rate_ab frames/s"
echo "b->a: sent $sent_b, delivered $got_ba = $rate_ba frames/s"
echo "emulator counters: $(status_get "$lab" '[(x["name"], x["rx"], x["tx"], x["socket_drops"], x["limit_drops"]) for p in d["emulator_processes"] for x in p["counters"]["directions"]]')"
within "$rate_ab" "$need" 1e9 || fail "a->b only $rate_ab frames/s"
within "$rate_ba" "$need" 1e9 || fail "b->a only $rate_ba frames/s"
# Frames not delivered beyond 0.1 % would be silent extra loss.
within "$got_ab" "$(calc "$sent_a * 0.999")" 1e12 || fail "a->b lost $((sent_a - got_ab)) frames"
within "$got_ba" "$(calc "$sent_b * 0.999")" 1e12 || fail "b->a lost $((sent_b - got_ba)) frames"
echo "PASS"
